/* test_convert_llama3.c — wk-convert's Llama 3.x plans without data (issue 18):
 * the published Llama-3.1-8B shard sizes and index, and for 8B, 70B, 405B and the 3.2
 * 1B/3B the planned sizes checked arithmetically: tensor bytes = 2 x the parameter count
 * of the geometry, each shard = 8 + its header + its tensors, no shard over 5 GB and each
 * shard closed only when the next tensor would pass 5 GB (huggingface_hub's rule), lm_head
 * absent when tied; wk_hfcfg3's version table and JSON files. */
#include <stdlib.h>
#include <string.h>

#include "wk_chat3_templates.h"
#include "wk_convert.h"
#include "wk_hash.h"
#include "wk_hfcfg3.h"
#include "wk_test.h"

#define SHARD 5000000000ull

/* Plan a Llama 3.x geometry (dim, layers, heads, kv heads, ffn) for version v. */
static wk_convert *plan3(int64_t dim, int64_t layers, int64_t heads, int64_t kv, int64_t ffn,
                         wk_llama3_version v)
{
    wk_err err;
    wk_llama_geom g = {.dim = dim, .n_layers = layers, .n_heads = heads, .n_kv_heads = kv,
                       .head_dim = dim / heads, .ffn = ffn, .vocab = 128256, .n_ranks = 1,
                       .norm_eps = 1e-5, .rope_theta = 500000.0};
    wk_convert_opts o;
    wk_convert_opts_init(&o);
    o.llama3 = v;
    o.safetensors = 1;
    o.max_shard_size = SHARD;
    wk_convert *c = wk_convert_new_geom(&g, &o, 0, &err);
    CHECK_MSG(c != NULL, "plan %lld/%lld: %s", (long long)dim, (long long)layers, err.msg);
    return c;
}

/* sha256 hex of file i's bytes (a JSON file). */
static void file_sha(wk_convert *c, size_t i, char hex[65])
{
    wk_err err;
    wk_buf b;
    wk_buf_init(&b);
    CHECK_OK(wk_convert_stream_file(c, i, wk_sink_buf(&b), &err), &err);
    uint8_t d[WK_HASH_MAX_DIGEST];
    wk_hash_oneshot(WK_HASH_SHA256, b.data, b.len, d, &err);
    wk_hex(d, 32, hex);
    wk_buf_free(&b);
}

/* The arithmetic checks of the file comment; returns the shard count. */
static size_t check_arith(wk_convert *c, int64_t dim, int64_t layers, int64_t heads, int64_t kv,
                          int64_t ffn, int tied)
{
    uint64_t V = 128256, d = (uint64_t)dim, hd = d / (uint64_t)heads, f = (uint64_t)ffn;
    uint64_t per_layer = 2 * d * d + 2 * (uint64_t)kv * hd * d + 3 * f * d + 2 * d;
    uint64_t params = V * d * (tied ? 1 : 2) + (uint64_t)layers * per_layer + d;
    CHECK_EQ_U64(wk_convert_tensor_bytes(c), 2 * params);
    CHECK_EQ_U64(wk_convert_tensor_count(c), (uint64_t)layers * 9 + (tied ? 2 : 3));
    int lm_head = 0;
    for (size_t t = 0; t < wk_convert_tensor_count(c); t++) {
        CHECK(wk_convert_tensor(c, t)->dtype == WK_DT_BF16);
        lm_head += strcmp(wk_convert_tensor(c, t)->name, "lm_head.weight") == 0;
    }
    CHECK(lm_head == !tied);
    /* gate, up, down: LlamaMLP's attribute order */
    CHECK_EQ_STR(wk_convert_tensor(c, 5)->name, "model.layers.0.mlp.gate_proj.weight");
    CHECK_EQ_STR(wk_convert_tensor(c, 6)->name, "model.layers.0.mlp.up_proj.weight");
    CHECK_EQ_STR(wk_convert_tensor(c, 7)->name, "model.layers.0.mlp.down_proj.weight");
    size_t shards = 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < wk_convert_file_count(c); i++) {
        const wk_convert_file *fl = wk_convert_file_get(c, i);
        if (fl->kind != WK_CONV_SAFETENSORS) continue;
        shards++;
        uint64_t tb = 0;
        for (size_t t = fl->first_tensor; t < fl->first_tensor + fl->n_tensors; t++) {
            const wk_llama_hf_tensor *x = wk_convert_tensor(c, t);
            tb += 2 * (uint64_t)x->shape[0] * (uint64_t)(x->ndim == 2 ? x->shape[1] : 1);
        }
        CHECK(tb <= SHARD);
        size_t next = fl->first_tensor + fl->n_tensors;
        if (next < wk_convert_tensor_count(c)) {
            const wk_llama_hf_tensor *x = wk_convert_tensor(c, next);
            uint64_t nb = 2 * (uint64_t)x->shape[0] * (uint64_t)(x->ndim == 2 ? x->shape[1] : 1);
            CHECK_MSG(tb + nb > SHARD, "%s: closed early", fl->name);
        }
        /* 8-byte length + header (a multiple of 8 by the writer's padding) + data */
        CHECK(fl->size > tb + 8 && (fl->size - tb - 8) % 8 == 0 && fl->size - tb - 8 < 65536);
        sum += tb;
    }
    CHECK_EQ_U64(sum, 2 * params);
    return shards;
}

/* Cut the first occurrence of what out of the NUL-terminated b; 1 if found. */
static int cut(char *b, const char *what)
{
    char *p = strstr(b, what);
    if (!p) return 0;
    memmove(p, p + strlen(what), strlen(p + strlen(what)) + 1);
    return 1;
}

/* The published Llama-3.1-8B config.json (826 bytes, sha256 54acfad3...) was written by
 * transformers 4.43.0.dev0 (no head_dim), its rope_scaling keys not in sort_keys order
 * (factor, low, high, original, type): not save_pretrained's bytes as they are.  Ours, 4.45's, with exactly those three edits
 * must be that file: every value is the published one. */
static void check_published_config(wk_convert *c)
{
    wk_err err;
    wk_buf b;
    wk_buf_init(&b);
    long i = wk_convert_find_file(c, "config.json");
    CHECK(i >= 0);
    if (i < 0) return;
    CHECK_OK(wk_convert_stream_file(c, (size_t)i, wk_sink_buf(&b), &err), &err);
    wk_buf_putc(&b, 0);
    char *t = (char *)b.data;
    static const char lo[] = "    \"low_freq_factor\": 1.0,\n";
    CHECK(cut(t, "  \"head_dim\": 128,\n") && cut(t, lo));
    char *hi = strstr(t, "    \"high_freq_factor\"");
    char *ver = strstr(t, "\"" WK_HF3_VERSION "\"");
    CHECK(hi && ver);
    if (!hi || !ver) return;
    char out[1024];
    int n = snprintf(out, sizeof out, "%.*s%s%.*s\"4.43.0.dev0\"%s", (int)(hi - t), t, lo,
                     (int)(ver - hi), hi, ver + strlen("\"" WK_HF3_VERSION "\""));
    CHECK_EQ_U64(n, 826);
    uint8_t d[WK_HASH_MAX_DIGEST];
    char hex[65];
    wk_hash_oneshot(WK_HASH_SHA256, out, (size_t)n, d, &err);
    wk_hex(d, 32, hex);
    CHECK_EQ_STR(hex, "54acfad3cffe057640904ca8a1e83525e6551c70c7a04c641f5a9eda0bbf64bd");
    wk_buf_free(&b);
}

static void test_llama31_8b_published(void)
{
    wk_convert *c = plan3(4096, 32, 32, 8, 14336, WK_L3_31);
    if (!c) return;
    /* the published meta-llama/Llama-3.1-8B files (docs/convert.md "Llama 3") */
    static const uint64_t sizes[] = {4976698672ull, 4999802720ull, 4915916176ull, 1168138808ull};
    for (int k = 0; k < 4; k++) {
        char name[64];
        snprintf(name, sizeof name, "model-%05d-of-00004.safetensors", k + 1);
        long i = wk_convert_find_file(c, name);
        CHECK(i >= 0);
        if (i >= 0) CHECK_EQ_U64(wk_convert_file_get(c, (size_t)i)->size, sizes[k]);
    }
    long ix = wk_convert_find_file(c, "model.safetensors.index.json");
    CHECK(ix >= 0);
    if (ix >= 0) {
        char hex[65];
        CHECK_EQ_U64(wk_convert_file_get(c, (size_t)ix)->size, 23950);
        file_sha(c, (size_t)ix, hex);
        CHECK_EQ_STR(hex, "146776fce3f6db1103aa6f249e65ee5544c5923ce6f971b092eee79aa6e5d37b");
    }
    CHECK_EQ_U64(check_arith(c, 4096, 32, 32, 8, 14336, 0), 4);
    CHECK_EQ_U64(wk_convert_tensor_bytes(c), 16060522496ull); /* its index's total_size */
    check_published_config(c);
    wk_convert_free(c);
}

static void test_big_shapes(void)
{
    wk_convert *c;
    /* Llama 3 / 3.1 / 3.3 70B: 30 shards; 3.1 405B: 191 (the published repositories' names) */
    if ((c = plan3(8192, 80, 64, 8, 28672, WK_L3_31))) {
        CHECK_EQ_U64(check_arith(c, 8192, 80, 64, 8, 28672, 0), 30);
        CHECK_EQ_U64(wk_convert_tensor_bytes(c), 141107412992ull);
        wk_convert_free(c);
    }
    if ((c = plan3(16384, 126, 128, 8, 53248, WK_L3_31))) {
        CHECK_EQ_U64(check_arith(c, 16384, 126, 128, 8, 53248, 0), 191);
        CHECK_EQ_U64(wk_convert_tensor_bytes(c), 811706777600ull);
        wk_convert_free(c);
    }
    /* 3.2 1B (one file, tied) and 3B (two files, tied) */
    if ((c = plan3(2048, 16, 32, 8, 8192, WK_L3_32))) {
        CHECK_EQ_U64(check_arith(c, 2048, 16, 32, 8, 8192, 1), 1);
        CHECK(wk_convert_find_file(c, "model.safetensors") >= 0 &&
              wk_convert_find_file(c, "model.safetensors.index.json") < 0);
        wk_convert_free(c);
    }
    /* a published copy of meta-llama/Llama-3.2-1B-Instruct lists config.json 877 bytes,
     * generation_config.json 189, model.safetensors 2,471,645,608, special_tokens_map.json
     * 296 (sizes only: docs/convert.md) */
    wk_err err;
    wk_llama_geom g = {.dim = 2048, .n_layers = 16, .n_heads = 32, .n_kv_heads = 8,
                       .head_dim = 64, .ffn = 8192, .vocab = 128256, .n_ranks = 1,
                       .norm_eps = 1e-5, .rope_theta = 500000.0};
    wk_convert_opts o;
    wk_convert_opts_init(&o);
    o.llama3 = WK_L3_32;
    o.instruct = 1;
    o.safetensors = 1;
    o.max_shard_size = SHARD;
    if ((c = wk_convert_new_geom(&g, &o, 0, &err))) {
        static const struct { const char *name; uint64_t size; } pub[] = {
            {"config.json", 877}, {"generation_config.json", 189},
            {"model.safetensors", 2471645608ull}};
        for (int k = 0; k < 3; k++) {
            long i = wk_convert_find_file(c, pub[k].name);
            CHECK(i >= 0);
            if (i >= 0) CHECK_EQ_U64(wk_convert_file_get(c, (size_t)i)->size, pub[k].size);
        }
        wk_convert_free(c);
    } else {
        CHECK_MSG(0, "3.2 1B instruct plan: %s", err.msg);
    }
    wk_buf b;
    wk_buf_init(&b);
    CHECK_OK(wk_hfcfg3_special_tokens_map_json(1, &b, &err), &err);
    CHECK_EQ_U64(b.len, 296);
    wk_buf_free(&b);
    if ((c = plan3(3072, 28, 24, 8, 8192, WK_L3_32))) {
        CHECK_EQ_U64(check_arith(c, 3072, 28, 24, 8, 8192, 1), 2);
        wk_convert_free(c);
    }
}

static void test_versions(void)
{
    wk_err err;
    wk_llama3_version v;
    CHECK_OK(wk_hfcfg3_version_parse("3.2", &v, &err), &err);
    CHECK(v == WK_L3_32 && wk_hfcfg3_tied(v) && wk_hfcfg3_rope_factor(v) == 32.0 &&
          wk_hfcfg3_context(v) == 131072 && wk_hfcfg3_specials(v) == WK_TIKTOKEN_SPECIALS_31);
    CHECK_OK(wk_hfcfg3_version_parse("3", &v, &err), &err);
    CHECK(v == WK_L3_3 && !wk_hfcfg3_tied(v) && wk_hfcfg3_rope_factor(v) == 0.0 &&
          wk_hfcfg3_context(v) == 8192 && wk_hfcfg3_specials(v) == WK_TIKTOKEN_SPECIALS_3);
    CHECK_OK(wk_hfcfg3_version_parse("3.3", &v, &err), &err);
    CHECK(v == WK_L3_33 && wk_hfcfg3_rope_factor(v) == 8.0);
    CHECK(wk_hfcfg3_version_parse("2", &v, &err) == -1 && err.code == WK_E_USAGE);
    CHECK(wk_hfcfg3_version_parse("Guard-3", &v, &err) == -1 && err.code == WK_E_USAGE);
    /* config.json needs the 128256-token vocabulary */
    wk_hf_llama_config cfg = {.hidden_size = 64, .intermediate_size = 96, .num_attention_heads = 4,
                              .num_key_value_heads = 2, .num_hidden_layers = 1, .vocab_size = 1000,
                              .rms_norm_eps = 1e-5, .rope_theta = 500000.0};
    wk_buf b;
    wk_buf_init(&b);
    CHECK(wk_hfcfg3_config_json(WK_L3_31, 0, &cfg, NULL, &b, &err) == -1 &&
          err.code == WK_E_UNSUPPORTED && strstr(err.msg, "128256"));
    b.len = 0;
    CHECK_OK(wk_hfcfg3_generation_config_json(WK_L3_3, 1, "4.45.2", &b, &err), &err);
    wk_buf_putc(&b, 0);
    CHECK_EQ_STR((const char *)b.data,
                 "{\n  \"bos_token_id\": 128000,\n  \"do_sample\": true,\n  \"eos_token_id\": [\n"
                 "    128001,\n    128008,\n    128009\n  ],\n  \"temperature\": 0.6,\n"
                 "  \"top_p\": 0.9,\n  \"transformers_version\": \"4.45.2\"\n}\n");
    wk_buf_free(&b);
}

/* The --instruct chat templates: each generated literal hashes to the SHA-256 recorded beside
 * it (tests/peer/llama3_chat_templates.sh checks those against llama.cpp's .jinja copies), and
 * each version writes its own. */
static void test_chat_templates(void)
{
    static const struct { wk_llama3_version v; const char *text; size_t len; const char *sha; } t[] = {
        {WK_L3_31, WK_CHAT3_TMPL_31, WK_CHAT3_TMPL_31_LEN, WK_CHAT3_TMPL_31_SHA256},
        {WK_L3_32, WK_CHAT3_TMPL_32, WK_CHAT3_TMPL_32_LEN, WK_CHAT3_TMPL_32_SHA256},
        {WK_L3_33, WK_CHAT3_TMPL_33, WK_CHAT3_TMPL_33_LEN, WK_CHAT3_TMPL_33_SHA256},
    };
    wk_err err;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *c = wk_hfcfg3_chat_template(t[i].v);
        CHECK(c != NULL && strcmp(c, t[i].text) == 0);
        CHECK_EQ_U64(strlen(t[i].text), t[i].len);
        CHECK_EQ_U64(sizeof(WK_CHAT3_TMPL_31) - 1, WK_CHAT3_TMPL_31_LEN); /* no embedded NUL */
        uint8_t d[WK_HASH_MAX_DIGEST];
        char hex[65];
        CHECK_OK(wk_hash_oneshot(WK_HASH_SHA256, t[i].text, t[i].len, d, &err), &err);
        wk_hex(d, 32, hex);
        CHECK_EQ_STR(hex, t[i].sha);
    }
    /* Meta's 3.3 template is 3.1's; 3.2's differs (strftime_now date, no builtin_tools) */
    CHECK(strcmp(WK_CHAT3_TMPL_31, WK_CHAT3_TMPL_33) == 0);
    CHECK(strcmp(WK_CHAT3_TMPL_31, WK_CHAT3_TMPL_32) != 0);
    CHECK(strncmp(wk_hfcfg3_chat_template(WK_L3_3), "{% set loop_messages = messages %}", 34) == 0);
}

int main(void)
{
    WK_RUN(test_llama31_8b_published);
    WK_RUN(test_big_shapes);
    WK_RUN(test_versions);
    WK_RUN(test_chat_templates);
    return wk_test_summary();
}
