/* test_convert.c — wk_hfcfg, wk_llama and wk_convert: profiles, JSON bytes,
 * planned sizes of the real LLaMA models without data (docs/formats/llama-layouts.md §2.10), and a
 * synthetic Meta checkpoint written with wk_pth_write, converted, read back
 * and checked value by value (merge, q/k permutation, casts, inv_freq). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wk_convert.h"
#include "wk_half.h"
#include "wk_hash.h"
#include "wk_hfcfg.h"
#include "wk_io.h"
#include "wk_llama.h"
#include "wk_pth.h"
#include "wk_pth_write.h"
#include "wk_test.h"

/* ---- profiles and sizes -------------------------------------------------------- */

static void test_profiles(void)
{
    wk_err err;
    wk_hf_profile p;
    CHECK_OK(wk_hf_profile_parse("4.28.0.dev0", &p, &err), &err);
    CHECK(p.minor == 28 && (p.flags & WK_HF_INV_FREQ) && (p.flags & WK_HF_PAD_TOKEN) &&
          !(p.flags & WK_HF_GQA_CONFIG));
    CHECK_OK(wk_hf_profile_parse("4.31.0", &p, &err), &err);
    CHECK((p.flags & WK_HF_INV_FREQ) && (p.flags & WK_HF_GQA_CONFIG) && (p.flags & WK_HF_PAD_TOKEN));
    CHECK_OK(wk_hf_profile_parse("4.32.1", &p, &err), &err);
    CHECK(!(p.flags & WK_HF_INV_FREQ) && !(p.flags & WK_HF_PAD_TOKEN) && (p.flags & WK_HF_GQA_CONFIG));
    CHECK(wk_hf_profile_parse("4.33.0", &p, &err) == -1 && err.code == WK_E_UNSUPPORTED);
    CHECK(wk_hf_profile_parse("4.27.4", &p, &err) == -1 && err.code == WK_E_UNSUPPORTED);
    CHECK(wk_hf_profile_parse("4.28", &p, &err) == -1 && err.code == WK_E_USAGE);
    CHECK(wk_hf_profile_parse("4.28.0 x", &p, &err) == -1 && err.code == WK_E_USAGE);
    CHECK_EQ_STR(wk_hf_profile_default().version, "4.28.0.dev0");
}

static void test_parse_size(void)
{
    static const struct { const char *s; uint64_t v; } ok[] = {
        {"10GB", 10000000000ull}, {"5GiB", 5368709120ull}, {"10Gb", 1250000000ull},
        {"10gb", 1250000000ull}, {"1.5MB", 1500000ull}, {"2MiB", 2097152ull}, {"3KB", 3000},
        {"3kib", 3072}, {"100", 100}, {" 10 GB", 10000000000ull}, {"0.5kb", 62}, {"1e3KB", 1000000}};
    static const char *const bad[] = {"", "GB", "10", "abc", "0GB", "-1GB", "10TB", "0x10GB",
                                      "nanGB", "infGB", "1e30GB"};
    wk_err err;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 0;
        if (!strcmp(ok[i].s, "10")) continue;
        CHECK_OK(wk_hfcfg_parse_size(ok[i].s, &v, &err), &err);
        CHECK_MSG(v == ok[i].v, "%s: got %llu", ok[i].s, (unsigned long long)v);
    }
    uint64_t v;
    CHECK_OK(wk_hfcfg_parse_size("10", &v, &err), &err); /* bytes */
    CHECK(v == 10);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (!strcmp(bad[i], "10")) continue;
        CHECK_MSG(wk_hfcfg_parse_size(bad[i], &v, &err) == -1 && err.code == WK_E_USAGE, "%s", bad[i]);
    }
    char name[WK_HF_SHARD_NAME_MAX];
    wk_hfcfg_shard_name(1, 1, 0, name);
    CHECK_EQ_STR(name, "pytorch_model.bin");
    wk_hfcfg_shard_name(2, 14, 0, name);
    CHECK_EQ_STR(name, "pytorch_model-00002-of-00014.bin");
    wk_hfcfg_shard_name(1, 2, 1, name);
    CHECK_EQ_STR(name, "model-00001-of-00002.safetensors");
}

/* ---- JSON files: the spec's literal bytes (E8) ------------------------------------ */

static const char k_config_7b[] =
    "{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n  \"bos_token_id\": 1,\n"
    "  \"eos_token_id\": 2,\n  \"hidden_act\": \"silu\",\n  \"hidden_size\": 4096,\n"
    "  \"initializer_range\": 0.02,\n  \"intermediate_size\": 11008,\n"
    "  \"max_position_embeddings\": 2048,\n  \"model_type\": \"llama\",\n"
    "  \"num_attention_heads\": 32,\n  \"num_hidden_layers\": 32,\n  \"pad_token_id\": 0,\n"
    "  \"rms_norm_eps\": 1e-06,\n  \"tie_word_embeddings\": false,\n"
    "  \"torch_dtype\": \"float16\",\n  \"transformers_version\": \"4.28.0.dev0\",\n"
    "  \"use_cache\": true,\n  \"vocab_size\": 32000\n}\n";
static const char k_gen_config[] =
    "{\n  \"_from_model_config\": true,\n  \"bos_token_id\": 1,\n  \"eos_token_id\": 2,\n"
    "  \"pad_token_id\": 0,\n  \"transformers_version\": \"4.28.0.dev0\"\n}\n";

#define TOK(name, type) \
    "  \"" name "\": {\n" type "    \"content\": \"%s\",\n    \"lstrip\": false,\n" \
    "    \"normalized\": true,\n    \"rstrip\": false,\n    \"single_word\": false\n  }"

static wk_llama_geom geom_7b(void)
{
    wk_llama_params p = {.dim = 4096, .n_layers = 32, .n_heads = 32, .n_kv_heads = 32,
                         .multiple_of = 256, .ffn_dim_multiplier = 1.0, .norm_eps = 1e-6,
                         .vocab_size = -1, .rope_theta = 10000.0};
    wk_llama_geom g;
    wk_err err;
    CHECK_OK(wk_llama_geom_from_params(&p, 32000, 1, &g, &err), &err);
    return g;
}

static void test_json_files(void)
{
    wk_err err;
    wk_buf b;
    wk_hf_profile p = wk_hf_profile_default();
    wk_llama_geom g = geom_7b();
    wk_hf_llama_config c = {g.dim, g.ffn, g.n_heads, g.n_kv_heads, g.n_layers, g.vocab,
                            1e-6, 0, 10000.0, "float16"};
    wk_buf_init(&b);
    CHECK_OK(wk_hfcfg_config_json(&p, &c, &b, &err), &err);
    CHECK(b.len == 507 && b.len == strlen(k_config_7b) && !memcmp(b.data, k_config_7b, b.len));
    b.len = 0;
    CHECK_OK(wk_hfcfg_generation_config_json(&p, &b, &err), &err);
    CHECK(b.len == 137 && !memcmp(b.data, k_gen_config, b.len));
    char want[2048];
    b.len = 0;
    CHECK_OK(wk_hfcfg_tokenizer_config_json(&p, &b, &err), &err);
    snprintf(want, sizeof want,
             "{\n  \"add_bos_token\": true,\n  \"add_eos_token\": false,\n"
             TOK("bos_token", "    \"__type\": \"AddedToken\",\n") ",\n"
             "  \"clean_up_tokenization_spaces\": false,\n"
             TOK("eos_token", "    \"__type\": \"AddedToken\",\n") ",\n"
             "  \"model_max_length\": 1000000000000000019884624838656,\n  \"pad_token\": null,\n"
             "  \"sp_model_kwargs\": {},\n  \"tokenizer_class\": \"LlamaTokenizer\",\n"
             TOK("unk_token", "    \"__type\": \"AddedToken\",\n") "\n}\n", "<s>", "</s>", "<unk>");
    CHECK(b.len == 727 && b.len == strlen(want) && !memcmp(b.data, want, b.len));
    b.len = 0;
    CHECK_OK(wk_hfcfg_special_tokens_map_json(&p, &b, &err), &err);
    snprintf(want, sizeof want, "{\n" TOK("bos_token", "") ",\n" TOK("eos_token", "") ",\n"
             TOK("unk_token", "") "\n}\n", "<s>", "</s>", "<unk>");
    CHECK(b.len == 411 && b.len == strlen(want) && !memcmp(b.data, want, b.len));

    /* 4.31: GQA keys, pad kept; 4.32: pad gone; GQA refused before 4.31 */
    wk_hf_profile p31, p32;
    wk_hfcfg_shard_name(1, 1, 0, want);
    CHECK_OK(wk_hf_profile_parse("4.31.0", &p31, &err), &err);
    CHECK_OK(wk_hf_profile_parse("4.32.0", &p32, &err), &err);
    c.num_key_value_heads = 8;
    b.len = 0;
    CHECK(wk_hfcfg_config_json(&p, &c, &b, &err) == -1 && err.code == WK_E_UNSUPPORTED);
    b.len = 0;
    CHECK_OK(wk_hfcfg_config_json(&p31, &c, &b, &err), &err);
    wk_buf_putc(&b, 0);
    CHECK(strstr((char *)b.data, "\"num_key_value_heads\": 8,\n  \"pad_token_id\": 0,\n"
                                  "  \"pretraining_tp\": 1,\n") != NULL);
    CHECK(strstr((char *)b.data, "\"rope_scaling\": null,\n") != NULL);
    c.rope_theta = 1000000.0;
    b.len = 0;
    CHECK_OK(wk_hfcfg_config_json(&p32, &c, &b, &err), &err);
    wk_buf_putc(&b, 0);
    CHECK(strstr((char *)b.data, "pad_token_id") == NULL);
    CHECK(strstr((char *)b.data, "\"rope_theta\": 1000000.0,\n") != NULL);
    b.len = 0;
    CHECK_OK(wk_hfcfg_generation_config_json(&p32, &b, &err), &err);
    wk_buf_putc(&b, 0);
    CHECK(strstr((char *)b.data, "pad_token_id") == NULL);
    wk_buf_free(&b);
}

/* ---- planned sizes of the real models (no data) ------------------------------------ */

static wk_convert *plan_real(int64_t dim, int64_t layers, int64_t heads, double eps, int ranks)
{
    wk_llama_params p = {.dim = dim, .n_layers = layers, .n_heads = heads, .n_kv_heads = heads,
                         .multiple_of = 256, .ffn_dim_multiplier = 1.0, .norm_eps = eps,
                         .vocab_size = -1, .rope_theta = 10000.0};
    wk_llama_geom g;
    wk_err err;
    CHECK_OK(wk_llama_geom_from_params(&p, 32000, ranks, &g, &err), &err);
    wk_convert_opts o;
    wk_convert_opts_init(&o);
    o.tokenizer = "tokenizer.model"; /* not read: sizes only */
    o.fast_tokenizer = 0;
    wk_convert *c = wk_convert_new_geom(&g, &o, 499723, &err);
    CHECK_MSG(c != NULL, "plan: %s", err.msg);
    return c;
}

static void check_shards(wk_convert *c, const uint64_t *sizes, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < wk_convert_file_count(c); i++) {
        const wk_convert_file *f = wk_convert_file_get(c, i);
        if (f->kind != WK_CONV_SHARD) continue;
        CHECK_MSG(k < n && f->size == sizes[k], "%s: %llu, expected %llu", f->name,
                  (unsigned long long)f->size, (unsigned long long)(k < n ? sizes[k] : 0));
        k++;
    }
    CHECK_EQ_U64(k, n);
}

static void test_plan_llama1_sizes(void)
{
    wk_err err;
    wk_convert *c = plan_real(4096, 32, 32, 1e-6, 1);
    if (!c) return;
    static const uint64_t s7[] = {9976634558ull, 3500315539ull};
    check_shards(c, s7, 2);
    CHECK_EQ_U64(wk_convert_tensor_count(c), 323);
    CHECK_EQ_U64(wk_convert_tensor_bytes(c), 13476839424ull);
    CHECK_EQ_U64(wk_convert_file_get(c, 2)->n_tensors, 241);
    CHECK_EQ_STR(wk_convert_tensor(c, 240)->name, "model.layers.23.post_attention_layernorm.weight");
    long ix = wk_convert_find_file(c, "pytorch_model.bin.index.json");
    CHECK(ix >= 0);
    if (ix >= 0) {
        CHECK_EQ_U64(wk_convert_file_get(c, (size_t)ix)->size, 26788);
        wk_buf b;
        wk_buf_init(&b);
        CHECK_OK(wk_convert_stream_file(c, (size_t)ix, wk_sink_buf(&b), &err), &err);
        uint8_t d[WK_HASH_MAX_DIGEST];
        char hex[65];
        wk_hash_oneshot(WK_HASH_SHA256, b.data, b.len, d, &err);
        wk_hex(d, 32, hex);
        CHECK_EQ_STR(hex, "aca3c1facc89d12311a667c32e85ac86e625990992ea8a189e3b036ba371b931");
        wk_buf_free(&b);
    }
    CHECK_EQ_U64(wk_convert_file_get(c, 0)->size, 507);   /* config.json */
    CHECK_EQ_U64(wk_convert_file_get(c, 1)->size, 137);   /* generation_config.json */
    /* a shard of a data-less plan cannot be streamed, but its header can */
    wk_buf b;
    wk_buf_init(&b);
    CHECK(wk_convert_stream_file(c, 2, wk_sink_buf(&b), &err) == -1 && err.code == WK_E_USAGE);
    b.len = 0;
    CHECK_OK(wk_convert_stream_prefix(c, 2, 4096, wk_sink_buf(&b), &err), &err);
    CHECK(b.len == 4096 && !memcmp(b.data, "PK\3\4", 4) &&
          !memcmp(b.data + 30, "pytorch_model-00001-of-00002/data.pkl", 37));
    wk_buf_free(&b);
    wk_convert_free(c);

    static const uint64_t s13[] = {9948728430ull, 9904165024ull, 6178983625ull};
    if ((c = plan_real(5120, 40, 40, 1e-6, 2))) check_shards(c, s13, 3), wk_convert_free(c);
    static const uint64_t s30[] = {9818324627ull, 9958102743ull, 9896734715ull, 9869470481ull,
                                   9869470445ull, 9958102743ull, 5687903281ull};
    if ((c = plan_real(6656, 60, 52, 1e-6, 4))) {
        check_shards(c, s30, 7);
        CHECK_EQ_U64(wk_convert_tensor_bytes(c), 65057902592ull);
        wk_convert_free(c);
    }
    uint64_t s65[14];
    s65[0] = 9877771127ull;
    s65[1] = 9714226703ull;
    for (int i = 2; i < 13; i++) s65[i] = 9714226767ull;
    s65[13] = 4123124433ull;
    if ((c = plan_real(8192, 80, 64, 1e-5, 8))) {
        check_shards(c, s65, 14);
        CHECK_EQ_U64(wk_convert_tensor_bytes(c), 130571341824ull);
        wk_convert_free(c);
    }
}

static void test_plan_profiles(void)
{
    wk_err err;
    wk_llama_geom g = geom_7b();
    wk_convert_opts o;
    wk_convert_opts_init(&o);
    CHECK_OK(wk_hf_profile_parse("4.32.0", &o.hf, &err), &err);
    wk_convert *c = wk_convert_new_geom(&g, &o, 0, &err);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_U64(wk_convert_tensor_count(c), 9 * 32 + 3);
        CHECK_EQ_U64(wk_convert_file_count(c), 5); /* no tokenizer files */
        CHECK_EQ_U64(wk_convert_tensor_bytes(c), 13476839424ull - 32 * 64 * 4);
        wk_convert_free(c);
    }
    /* GQA needs a 4.31+ converter */
    g.n_kv_heads = 8;
    wk_convert_opts_init(&o);
    CHECK(wk_convert_new_geom(&g, &o, 0, &err) == NULL && err.code == WK_E_UNSUPPORTED);
    /* the E1 quirk: a first tensor above the limit leaves an empty first shard */
    g = geom_7b();
    o.max_shard_size = 1000;
    c = wk_convert_new_geom(&g, &o, 0, &err);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_STR(wk_convert_file_get(c, 2)->name, "pytorch_model-00001-of-00324.bin");
        CHECK_EQ_U64(wk_convert_file_get(c, 2)->n_tensors, 0);
        wk_convert_free(c);
    }
    CHECK_OK(wk_hf_profile_parse("4.28.1", &o.hf, &err), &err);
    o.safetensors = 1;
    o.max_shard_size = WK_CONVERT_DEFAULT_SHARD;
    c = wk_convert_new_geom(&g, &o, 0, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (c) {
        CHECK_EQ_STR(wk_convert_file_get(c, 2)->name, "model-00001-of-00002.safetensors");
        CHECK(wk_convert_find_file(c, "model.safetensors.index.json") >= 0);
        wk_convert_free(c);
    }
}

/* ---- params.json ---------------------------------------------------------------------- */

static void test_params(void)
{
    wk_err err;
    wk_llama_params p;
    const char *j70 = "{\"dim\": 8192, \"multiple_of\": 4096, \"ffn_dim_multiplier\": 1.3, "
                      "\"n_heads\": 64, \"n_kv_heads\": 8, \"n_layers\": 80, \"norm_eps\": 1e-05, "
                      "\"vocab_size\": -1}";
    CHECK_OK(wk_llama_params_parse(j70, strlen(j70), "params.json", &p, &err), &err);
    CHECK(p.n_kv_heads == 8 && p.has_n_kv_heads && p.vocab_size == -1 && p.rope_theta == 10000.0);
    CHECK_EQ_U64(wk_llama_ffn_from_params(&p), 28672);
    const char *j7 = "{\"dim\": 4096, \"multiple_of\": 256, \"n_heads\": 32, \"n_layers\": 32, "
                     "\"norm_eps\": 1e-06, \"vocab_size\": -1}";
    CHECK_OK(wk_llama_params_parse(j7, strlen(j7), "params.json", &p, &err), &err);
    CHECK_EQ_U64(wk_llama_ffn_from_params(&p), 11008);
    p.dim = 6656;
    CHECK_EQ_U64(wk_llama_ffn_from_params(&p), 17920);
    /* (norm_eps was the integer 1 here: issue #24 item 6 makes norm_eps (0, 1)) */
    const char *nested = "{\"model\": {\"dim\": 16, \"n_heads\": 2, \"n_layers\": 1, "
                         "\"norm_eps\": 0.5, \"max_seq_len\": 2048, \"use_scaled_rope\": false}}";
    CHECK_OK(wk_llama_params_parse(nested, strlen(nested), "p", &p, &err), &err);
    CHECK(p.dim == 16 && !p.norm_eps_is_int && wk_llama_ffn_from_params(&p) == -1);
    /* issue #24 items 1 and 6: out-of-range numbers and unknown keys, refused
     * before any conversion, naming the file, the key and the range */
    static const struct { const char *json, *msg; } range[] = {
        {"\"norm_eps\": 9223372036854775807", "\"norm_eps\" is 9223372036854775807: must be a number > 0 and < 1"},
        {"\"norm_eps\": 99999999999999999999999", "\"norm_eps\" is 99999999999999999999999: must be a number > 0"},
        {"\"norm_eps\": 0", "\"norm_eps\" is 0: must be"},
        {"\"norm_eps\": -1e-5", "\"norm_eps\" is -1e-05: must be"},
        {"\"norm_eps\": 1e300", "\"norm_eps\" is 1e+300"},
        {"\"norm_eps\": 1e-6, \"ffn_dim_multiplier\": 1e300", "\"ffn_dim_multiplier\" is 1e+300: must be a number >= 0.01 and <= 16"},
        {"\"norm_eps\": 1e-6, \"ffn_dim_multiplier\": 1e17", "\"ffn_dim_multiplier\" is 1e+17"},
        {"\"norm_eps\": 1e-6, \"ffn_dim_multiplier\": 3e16", "\"ffn_dim_multiplier\" is 3e+16"},
        {"\"norm_eps\": 1e-6, \"ffn_dim_multiplier\": 1e-300", "\"ffn_dim_multiplier\" is 1e-300"},
        {"\"norm_eps\": 1e-6, \"rope_theta\": 1e300", "\"rope_theta\" is 1e+300: must be a number > 1 and <= 1e+10"},
        {"\"norm_eps\": 1e-6, \"rope_theta\": -1e300", "\"rope_theta\" is -1e+300"},
        {"\"norm_eps\": 1e-6, \"n_kv_heads\": 1e300", "\"n_kv_heads\" must be a positive integer in [1, 1099511627776] (got 1e+300)"},
        {"\"norm_eps\": 1e-6, \"moe\": {\"num_experts\": 8}", "unknown key \"moe\""},
        {"\"norm_eps\": 1e-6, \"use_scaled_rope\": true", "\"use_scaled_rope\" (Llama 3.1"},
        {"\"norm_eps\": 1e-6, \"rope_scaling\": {\"factor\": 8}", "\"rope_scaling\" in params.json"},
    };
    for (size_t i = 0; i < sizeof range / sizeof range[0]; i++) {
        char j[512];
        snprintf(j, sizeof j, "{\"dim\": 16, \"n_heads\": 2, \"n_layers\": 1, \"multiple_of\": 8, %s}",
                 range[i].json);
        CHECK_MSG(wk_llama_params_parse(j, strlen(j), "x/params.json", &p, &err) == -1, "%s", j);
        CHECK_MSG(strstr(err.msg, "x/params.json: ") && strstr(err.msg, range[i].msg), "%s -> %s",
                  j, err.msg);
    }
    /* values set by hand outside the parser's ranges: no conversion, -1 */
    CHECK_OK(wk_llama_params_parse(j7, strlen(j7), "params.json", &p, &err), &err);
    p.has_ffn_dim_multiplier = 1;
    p.ffn_dim_multiplier = 1e300;
    CHECK(wk_llama_ffn_from_params(&p) == -1);
    p.ffn_dim_multiplier = 1e-300;
    CHECK(wk_llama_ffn_from_params(&p) == -1);
    const char *bad[] = {"{\"dim\": 16}", "[1]", "{\"dim\": \"16\", \"n_heads\": 2, \"n_layers\": 1, "
                         "\"norm_eps\": 1e-6}", "{\"dim\": 16, \"n_heads\": 2, \"n_layers\": 1, "
                         "\"norm_eps\": 1e-6, \"vocab_size\": 0}", "{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(wk_llama_params_parse(bad[i], strlen(bad[i]), "x/params.json", &p, &err) == -1,
                  "%s", bad[i]);
        CHECK(strstr(err.msg, "x/params.json") != NULL);
    }
}

/* ---- a synthetic Meta checkpoint ------------------------------------------------------ */

enum { S_DIM = 16, S_HEADS = 4, S_VOCAB = 12, S_FFN = 48, S_LAYERS = 2 };

/* The merged value of (kind, layer, row, col): exact in fp16 and bf16. */
static float val(int kind, int layer, int64_t row, int64_t col)
{
    return (float)((kind * 7 + layer * 13 + row * 31 + col * 17) % 251 - 125) / 64.0f;
}

typedef struct {
    int ranks, kv_heads;
    wk_dtype dtype;
    const char *drop;          /* a key to leave out of rank 0 */
    const char *extra;         /* an extra key in rank 0 */
    int bad_rank1_wq;          /* rank 1's wq gets one row less */
    int colmajor;              /* wo and wk stored transposed (non-contiguous views) */
} synth;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Write params.json and consolidated.NN.pth for s into dir. */
static int make_ckpt(const char *dir, const synth *s)
{
    wk_err err;
    mkdir(dir, 0777);
    char params[256], path[4096];
    if (s->kv_heads != S_HEADS)
        snprintf(params, sizeof params, "{\"dim\": %d, \"multiple_of\": 16, \"n_heads\": %d, "
                 "\"n_kv_heads\": %d, \"n_layers\": %d, \"norm_eps\": 1e-05, \"vocab_size\": -1}",
                 S_DIM, S_HEADS, s->kv_heads, S_LAYERS);
    else
        snprintf(params, sizeof params, "{\"dim\": %d, \"multiple_of\": 16, \"n_heads\": %d, "
                 "\"n_layers\": %d, \"norm_eps\": 1e-06, \"vocab_size\": -1}", S_DIM, S_HEADS,
                 S_LAYERS);
    snprintf(path, sizeof path, "%s/params.json", dir);
    write_file(path, params);
    wk_llama_geom g = {S_DIM, S_LAYERS, S_HEADS, s->kv_heads, S_DIM / S_HEADS, S_FFN, S_VOCAB,
                       s->ranks, 1e-5, 0, 10000.0};
    size_t es = wk_dtype_get(s->dtype)->size;
    for (int r = 0; r < s->ranks; r++) {
        wk_tensor_info t[64];
        void *bufs[64];
        char *names[64];
        int n = 0;
        for (int k = 0; k < WK_LL_KIND_COUNT; k++)
            for (int layer = 0; layer < (k < WK_LL_GLOBAL_KINDS ? 1 : S_LAYERS); layer++) {
                int64_t full[2];
                int nd = wk_llama_kind_shape(&g, (wk_ll_kind)k, full);
                int64_t rows = nd == 2 ? full[0] : 1, cols = nd == 2 ? full[1] : full[0];
                int64_t r0 = 0, c0 = 0, nr = rows, nc = cols;
                wk_ll_split sp = wk_llama_kind_split((wk_ll_kind)k);
                if (sp == WK_LL_SPLIT_ROWS) nr = rows / s->ranks, r0 = r * nr;
                if (sp == WK_LL_SPLIT_COLS) nc = cols / s->ranks, c0 = r * nc;
                if (s->bad_rank1_wq && r == 1 && k == WK_LL_WQ) nr--;
                uint8_t *b = malloc((size_t)(nr * nc) * es);
                for (int64_t i = 0; i < nr; i++)
                    for (int64_t j = 0; j < nc; j++) {
                        float v = val(k, layer, r0 + i, c0 + j);
                        int cm = s->colmajor && (k == WK_LL_WO || k == WK_LL_WK);
                        uint8_t *e = b + (size_t)(cm ? j * nr + i : i * nc + j) * es;
                        uint16_t h = s->dtype == WK_DT_BF16 ? wk_f32_to_bf16(v) : wk_f32_to_f16(v);
                        if (s->dtype == WK_DT_F32) memcpy(e, &v, 4);
                        else memcpy(e, &h, 2);
                    }
                char key[96];
                wk_llama_meta_key((wk_ll_kind)k, layer, key, sizeof key);
                if (r == 0 && s->drop && !strcmp(key, s->drop)) {
                    free(b);
                    continue;
                }
                memset(&t[n], 0, sizeof t[n]);
                names[n] = strdup(key);
                t[n].name = names[n];
                t[n].dtype = s->dtype;
                t[n].ndim = nd;
                t[n].shape[0] = nd == 2 ? nr : nc;
                t[n].shape[1] = nc;
                t[n].stride[0] = nd == 2 ? nc : 1;
                t[n].stride[1] = 1;
                if (s->colmajor && (k == WK_LL_WO || k == WK_LL_WK)) {
                    t[n].stride[0] = 1;
                    t[n].stride[1] = nr;
                }
                t[n].storage = b;
                t[n].storage_nbytes = (uint64_t)(nr * nc) * es;
                bufs[n++] = b;
            }
        if (r == 0 && s->extra) { /* a tiny 1-D extra tensor */
            uint8_t *b = calloc(1, 8);
            if (strstr(s->extra, "rope.freqs")) { /* a valid one: 10000^(-2j/4), head size 4 */
                float f[2] = {1.0f, 0.01f};
                memcpy(b, f, 8);
            }
            memset(&t[n], 0, sizeof t[n]);
            names[n] = strdup(s->extra);
            t[n].name = names[n];
            t[n].dtype = WK_DT_F32;
            t[n].ndim = 1;
            t[n].shape[0] = 2;
            t[n].stride[0] = 1;
            t[n].storage = b;
            t[n].storage_nbytes = 8;
            bufs[n++] = b;
        }
        snprintf(path, sizeof path, "%s/consolidated.%02d.pth", dir, r);
        int rc = wk_pthw_save_file(path, t, (size_t)n, WK_PTH_TORCH_1_13, &err);
        for (int i = 0; i < n; i++) free(bufs[i]), free(names[i]);
        if (rc) {
            fprintf(stderr, "make_ckpt: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

static char *subdir(const char *name)
{
    return wk_path_join(wk_test_tmpdir(), name);
}

static void rm_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "rm_tree %s failed\n", dir);
}

/* Convert dir into memory (file `name`) and return the bytes. */
static int convert_file(const wk_llama_ckpt *ck, const wk_convert_opts *o, const char *name,
                        wk_buf *out)
{
    wk_err err;
    wk_convert *c = wk_convert_new(ck, o, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (!c) return -1;
    long i = wk_convert_find_file(c, name);
    CHECK(i >= 0);
    int rc = i >= 0 ? wk_convert_stream_file(c, (size_t)i, wk_sink_buf(out), &err) : -1;
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0) CHECK_EQ_U64(out->len, wk_convert_file_get(c, (size_t)i)->size);
    wk_convert_free(c);
    return rc;
}

/* Check every tensor of the converted shard against val(). */
static void check_values(const wk_buf *b, int kv_heads, int with_inv_freq)
{
    wk_err err;
    wk_pth *p = wk_pth_open_buffer(b->data, b->len, "converted", 0, &err);
    CHECK_MSG(p != NULL, "%s", err.msg);
    if (!p) return;
    wk_llama_geom g = {S_DIM, S_LAYERS, S_HEADS, kv_heads, S_DIM / S_HEADS, S_FFN, S_VOCAB, 1,
                       1e-5, 0, 10000.0};
    wk_llama_hf_tensor *plan;
    size_t n;
    CHECK_OK(wk_llama_hf_plan(&g, with_inv_freq, &plan, &n, &err), &err);
    CHECK_EQ_U64(wk_pth_count(p), n);
    for (size_t i = 0; i < n && i < wk_pth_count(p); i++) {
        const wk_tensor_info *t = wk_pth_tensor(p, i);
        const wk_llama_hf_tensor *h = &plan[i];
        CHECK_EQ_STR(t->name, h->name);
        CHECK(t->dtype == h->dtype && t->ndim == h->ndim && t->shape[0] == h->shape[0]);
        uint64_t nb;
        const uint8_t *d = wk_pth_tensor_view(t, &nb);
        if (!d) continue;
        if (h->kind == WK_LL_INV_FREQ) {
            float v[S_DIM / S_HEADS / 2];
            wk_llama_inv_freq(S_DIM / S_HEADS, 10000.0, v);
            CHECK(nb == sizeof v && !memcmp(d, v, sizeof v));
            CHECK(v[0] == 1.0f && v[1] == wk_f16_to_f32(wk_f32_to_f16(1.0f / powf(10000.f, 0.5f))));
            continue;
        }
        int64_t rows = h->ndim == 2 ? h->shape[0] : 1, cols = h->ndim == 2 ? h->shape[1] : h->shape[0];
        int bad = 0;
        for (int64_t r = 0; r < rows && !bad; r++) {
            int64_t m = r;
            if (h->permute_heads) {
                int64_t hd = rows / h->permute_heads, o = r % hd;
                m = r / hd * hd + 2 * (o % (hd / 2)) + o / (hd / 2);
            }
            for (int64_t c = 0; c < cols && !bad; c++) {
                uint16_t x;
                memcpy(&x, d + (size_t)(r * cols + c) * 2, 2);
                bad = wk_f16_to_f32(x) != val(h->kind, h->layer < 0 ? 0 : (int)h->layer, m, c);
                if (bad) wk_test_fail(__FILE__, __LINE__, "%s[%lld][%lld]", h->name, (long long)r, (long long)c);
            }
        }
    }
    free(plan);
    wk_pth_close(p);
}

static void test_synthetic_convert(void)
{
    static const synth cases[] = {
        {1, S_HEADS, WK_DT_F16, NULL, NULL, 0, 0}, {2, S_HEADS, WK_DT_F16, NULL, NULL, 0, 0},
        {2, 2, WK_DT_BF16, NULL, NULL, 0, 0},      {1, 1, WK_DT_F32, NULL, NULL, 0, 0},
        {2, S_HEADS, WK_DT_F16, NULL, NULL, 0, 1}, {1, 2, WK_DT_BF16, NULL, NULL, 0, 1},
    };
    wk_err err;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const synth *s = &cases[ci];
        char name[32];
        snprintf(name, sizeof name, "synth%zu", ci);
        char *dir = subdir(name);
        if (make_ckpt(dir, s) != 0) {
            CHECK(0);
            free(dir);
            continue;
        }
        wk_llama_ckpt *ck = wk_llama_open(dir, 2, &err);
        CHECK_MSG(ck != NULL, "%s", err.msg);
        if (ck) {
            const wk_llama_geom *g = wk_llama_ckpt_geom(ck);
            CHECK(g->dim == S_DIM && g->ffn == S_FFN && g->vocab == S_VOCAB && g->n_kv_heads == s->kv_heads &&
                  g->n_ranks == s->ranks);
            wk_convert_opts o;
            wk_convert_opts_init(&o);
            if (s->kv_heads != S_HEADS) CHECK_OK(wk_hf_profile_parse("4.31.0", &o.hf, &err), &err);
            wk_buf a, b, pre;
            wk_buf_init(&a);
            wk_buf_init(&b);
            wk_buf_init(&pre);
            o.threads = 1;
            convert_file(ck, &o, "pytorch_model.bin", &a);
            o.threads = 2;
            convert_file(ck, &o, "pytorch_model.bin", &b);
            CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len)); /* same bytes for any -j */
            check_values(&a, s->kv_heads, 1);
            /* a prefix is the start of the full stream */
            wk_convert *c = wk_convert_new(ck, &o, &err);
            if (c) {
                long i = wk_convert_find_file(c, "pytorch_model.bin");
                CHECK_OK(wk_convert_stream_prefix(c, (size_t)i, 1000, wk_sink_buf(&pre), &err), &err);
                CHECK(pre.len == 1000 && !memcmp(pre.data, a.data, 1000));
                wk_convert_free(c);
            }
            wk_buf_free(&a);
            wk_buf_free(&b);
            wk_buf_free(&pre);
            /* 4.32: no inv_freq */
            CHECK_OK(wk_hf_profile_parse("4.32.0", &o.hf, &err), &err);
            wk_buf_init(&a);
            convert_file(ck, &o, "pytorch_model.bin", &a);
            check_values(&a, s->kv_heads, 0);
            wk_buf_free(&a);
        }
        wk_llama_close(ck);
        rm_tree(dir);
        free(dir);
    }
}

/* wk_llama_open must refuse each broken checkpoint, naming file and tensor. */
static void test_bad_checkpoints(void)
{
    static const struct { synth s; const char *params; const char *want1, *want2; } cases[] = {
        {{1, S_HEADS, WK_DT_F16, "layers.1.attention.wk.weight", NULL, 0, 0}, NULL,
         "consolidated.00.pth", "missing tensor \"layers.1.attention.wk.weight\""},
        {{1, S_HEADS, WK_DT_F16, NULL, "layers.0.attention.wx.weight", 0, 0}, NULL,
         "consolidated.00.pth", "unknown tensor \"layers.0.attention.wx.weight\""},
        {{1, S_HEADS, WK_DT_F16, NULL, "rope.freqs", 0, 0}, NULL, NULL, NULL}, /* accepted */
        {{1, S_HEADS, WK_DT_F16, NULL, "layers.1.attention.inner_attention.rope.freqs", 0, 0}, NULL,
         NULL, NULL},
        {{2, S_HEADS, WK_DT_F16, NULL, NULL, 1, 0}, NULL, "shape disagreement",
         "layers.0.attention.wq.weight"},
        {{1, S_HEADS, WK_DT_F16, NULL, NULL, 0, 0},
         "{\"dim\": 32, \"multiple_of\": 16, \"n_heads\": 4, \"n_layers\": 2, \"norm_eps\": 1e-06}",
         "params.json", "dim 32 contradicts"},
        {{1, S_HEADS, WK_DT_F16, NULL, NULL, 0, 0},
         "{\"dim\": 16, \"multiple_of\": 16, \"n_heads\": 4, \"n_layers\": 1, \"norm_eps\": 1e-06}",
         "consolidated.00.pth", "params.json says n_layers = 1"},
        {{1, S_HEADS, WK_DT_F16, NULL, NULL, 0, 0},
         "{\"dim\": 16, \"multiple_of\": 32, \"n_heads\": 4, \"n_layers\": 2, \"norm_eps\": 1e-06}",
         "params.json", "FFN size of 64"},
        {{1, 2, WK_DT_F16, NULL, NULL, 0, 0},
         "{\"dim\": 16, \"multiple_of\": 16, \"n_heads\": 4, \"n_layers\": 2, \"norm_eps\": 1e-06}",
         "params.json", "key/value heads"},
        {{1, S_HEADS, WK_DT_F16, NULL, NULL, 0, 0},
         "{\"dim\": 16, \"multiple_of\": 16, \"n_heads\": 4, \"n_layers\": 2, \"norm_eps\": 1e-06, "
         "\"vocab_size\": 32000}", "params.json", "vocab_size 32000"},
    };
    wk_err err;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        char *dir = subdir("bad");
        if (make_ckpt(dir, &cases[ci].s) != 0) {
            CHECK(0);
            free(dir);
            continue;
        }
        if (cases[ci].params) {
            char *p = wk_path_join(dir, "params.json");
            write_file(p, cases[ci].params);
            free(p);
        }
        wk_llama_ckpt *ck = wk_llama_open(dir, 1, &err);
        if (!cases[ci].want1) CHECK_MSG(ck != NULL, "case %zu: %s", ci, err.msg);
        else {
            CHECK_MSG(ck == NULL, "case %zu accepted", ci);
            CHECK_MSG(strstr(err.msg, cases[ci].want1) && strstr(err.msg, cases[ci].want2),
                      "case %zu: %s", ci, err.msg);
        }
        wk_llama_close(ck);
        rm_tree(dir);
        free(dir);
    }
    /* rank files: a gap, a badly named rank, an extra rank, no rank at all */
    char *dir = subdir("ranks");
    synth s2 = {2, S_HEADS, WK_DT_F16, NULL, NULL, 0, 0};
    if (make_ckpt(dir, &s2) == 0) {
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s/consolidated.01.pth", dir);
        snprintf(b, sizeof b, "%s/consolidated.02.pth", dir);
        CHECK(link(a, b) == 0); /* extra rank: 3 ranks, merged sizes wrong */
        wk_llama_ckpt *ck = wk_llama_open(dir, 1, &err);
        CHECK(ck == NULL && strstr(err.msg, "extra rank"));
        wk_llama_close(ck);
        CHECK(unlink(a) == 0); /* gap: 00, 02 */
        ck = wk_llama_open(dir, 1, &err);
        CHECK(ck == NULL && strstr(err.msg, "consolidated.01.pth is missing"));
        wk_llama_close(ck);
        snprintf(a, sizeof a, "%s/consolidated.1.pth", dir);
        CHECK(rename(b, a) == 0);
        ck = wk_llama_open(dir, 1, &err);
        CHECK(ck == NULL && strstr(err.msg, "consolidated.1.pth"));
        wk_llama_close(ck);
        unlink(a);
        snprintf(a, sizeof a, "%s/consolidated.00.pth", dir);
        unlink(a);
        ck = wk_llama_open(dir, 1, &err);
        CHECK(ck == NULL && strstr(err.msg, "no consolidated.NN.pth"));
        wk_llama_close(ck);
    }
    rm_tree(dir);
    free(dir);
}

int main(void)
{
    WK_RUN(test_profiles);
    WK_RUN(test_parse_size);
    WK_RUN(test_json_files);
    WK_RUN(test_plan_llama1_sizes);
    WK_RUN(test_plan_profiles);
    WK_RUN(test_params);
    WK_RUN(test_synthetic_convert);
    WK_RUN(test_bad_checkpoints);
    rm_tree(wk_test_tmpdir());
    return wk_test_summary();
}
