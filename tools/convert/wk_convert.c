/* wk_convert.c — Meta → HF conversion engine; see wk_convert.h and docs/convert.md.
 *
 * Planning: the HF state dict (wk_llama_hf_plan) is split into shards with
 * save_pretrained's rule, each shard is laid out by wk_pthw_plan (which gives
 * its exact size), and the JSON files are built in memory.
 * Producing a shard: wk_pthw_begin, then for each storage in torch's record
 * order the tensor's rows are produced into a chunk buffer (merge ranks,
 * permute q/k rows, cast to fp16) or written straight from the map, then
 * wk_pthw_finish. */
#include "wk_convert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wk_half.h"
#include "wk_io.h"
#include "wk_tiktoken.h"
#include "wk_tokjson.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "wk_convert assumes a little-endian host (tensor bytes are copied as they are)"
#endif

struct wk_convert {
    const wk_llama_ckpt *ck;     /* NULL: planned from a geometry, no data */
    wk_llama_geom geom;
    wk_convert_opts opts;
    char *tokenizer;             /* owned copy of opts.tokenizer */
    uint64_t tokenizer_size;
    wk_spm spm;                  /* the parsed tokenizer (fast_tokenizer only), unless ... */
    const wk_spm *tok_spm;       /* ... borrowed (opts.tokenizer_spm); points to the one used */
    wk_tiktoken tik;             /* Llama 3: the parsed tiktoken tokenizer */
    wk_llama_hf_tensor *tensors; /* state-dict order */
    size_t n_tensors;
    size_t *tensor_file;         /* file index of each tensor */
    wk_convert_file *files;
    size_t n_files;
    wk_buf *json;                /* per file: the bytes of a JSON file */
    uint64_t tensor_bytes, total_bytes;
    uint64_t nonfinite;          /* NaN/Inf written (atomic: shards may stream concurrently) */
};

void wk_convert_opts_init(wk_convert_opts *o)
{
    memset(o, 0, sizeof *o);
    o->hf = wk_hf_profile_default();
    o->torch = WK_PTH_TORCH_1_13;
    o->max_shard_size = WK_CONVERT_DEFAULT_SHARD;
    o->model = 1;
    o->fast_tokenizer = 1;
    o->tik_post = WK_TIKTOKEN_POST_BOS;
}


static uint64_t tensor_nbytes(const wk_llama_hf_tensor *t)
{
    uint64_t n = wk_dtype_get(t->dtype)->size;
    for (int d = 0; d < t->ndim; d++) n *= (uint64_t)t->shape[d];
    return n;
}

/* ---- planning ---------------------------------------------------------------- */

void wk_convert_free(wk_convert *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_files; i++) {
        free((char *)c->files[i].name);
        wk_buf_free(&c->json[i]);
    }
    free(c->files);
    free(c->json);
    free(c->tensor_file);
    free(c->tensors);
    free(c->tokenizer);
    wk_spm_free(&c->spm);
    wk_tiktoken_free(&c->tik);
    free(c);
}

/* Append a file entry (name copied); its JSON buffer starts empty. */
static wk_convert_file *add_file(wk_convert *c, const char *name, wk_conv_kind kind, wk_err *err)
{
    wk_convert_file *f = &c->files[c->n_files];
    memset(f, 0, sizeof *f);
    wk_buf_init(&c->json[c->n_files]);
    if (!(f->name = strdup(name))) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    f->kind = kind;
    c->n_files++;
    return f;
}

/* Describe shard file f to the torch writer (one storage per tensor, as
 * torch.save of a dict of fresh tensors) and plan it.  NULL on failure. */
static wk_pthw *plan_pth(const wk_convert *c, const wk_convert_file *f, wk_err *err)
{
    size_t n = f->n_tensors;
    wk_pthw_storage *st = calloc(n ? n : 1, sizeof *st);
    wk_pthw_tensor *tt = calloc(n ? n : 1, sizeof *tt);
    wk_pthw *w = NULL;
    if (!st || !tt) {
        wk_err_set(err, WK_E_NOMEM, "out of memory planning %s", f->name);
    } else {
        for (size_t i = 0; i < n; i++) {
            const wk_llama_hf_tensor *t = &c->tensors[f->first_tensor + i];
            st[i].dtype = t->dtype;
            st[i].nbytes = tensor_nbytes(t);
            wk_pthw_tensor_contiguous(&tt[i], t->name, i, t->ndim, t->shape);
        }
        w = wk_pthw_plan(f->name, st, n, tt, n, c->opts.torch, err);
        if (!w) wk_err_prefix(err, "%s", f->name);
    }
    free(st);
    free(tt);
    return w;
}

/* The same for a safetensors shard (safe_save_file(shard, path,
 * metadata={"format": "pt"})). */
static wk_stw *plan_st(const wk_convert *c, const wk_convert_file *f, wk_err *err)
{
    static const char *const meta[] = {"format", "pt"};
    size_t n = f->n_tensors;
    wk_stw_tensor *tt = calloc(n ? n : 1, sizeof *tt);
    if (!tt) {
        wk_err_set(err, WK_E_NOMEM, "out of memory planning %s", f->name);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const wk_llama_hf_tensor *t = &c->tensors[f->first_tensor + i];
        tt[i].name = t->name;
        tt[i].dtype = t->dtype;
        tt[i].ndim = t->ndim;
        memcpy(tt[i].shape, t->shape, sizeof t->shape);
    }
    wk_stw *w = wk_stw_plan(tt, n, meta, 1, err);
    if (!w) wk_err_prefix(err, "%s", f->name);
    free(tt);
    return w;
}

/* Exact size of shard file f. */
static int shard_size(const wk_convert *c, wk_convert_file *f, wk_err *err)
{
    if (f->kind == WK_CONV_SAFETENSORS) {
        wk_stw *w = plan_st(c, f, err);
        if (!w) return -1;
        f->size = wk_stw_total_size(w);
        wk_stw_free(w);
        return 0;
    }
    wk_pthw *w = plan_pth(c, f, err);
    if (!w) return -1;
    f->size = wk_pthw_total_size(w);
    wk_pthw_free(w);
    return 0;
}

/* save_pretrained's shard rule (docs/formats/llama-layouts.md §2.9): blocks of consecutive tensors;
 * a new block starts when the next tensor would push the current one past
 * max_shard_size (even when the current block is empty, with the E1 quirk). */
static int plan_shards(wk_convert *c, wk_err *err)
{
    size_t nblocks = 1, *first = calloc(c->n_tensors + 2, sizeof *first);
    if (!first) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    uint64_t cur = 0;
    size_t in_cur = 0;
    int quirk = !c->opts.llama3 && (c->opts.hf.flags & WK_HF_EMPTY_FIRST) != 0;
    first[0] = 0;
    for (size_t i = 0; i < c->n_tensors; i++) {
        uint64_t sz = tensor_nbytes(&c->tensors[i]);
        if (c->opts.llama3 && sz > c->opts.max_shard_size && in_cur > 0) {
            free(first);
            return wk_err_set(err, WK_E_UNSUPPORTED, "tensor \"%s\" (%llu bytes) is larger than "
                              "the max shard size: huggingface_hub would put it in a shard of its "
                              "own ahead of the open one (out of order); not reproduced, use a "
                              "larger --max-shard-size", c->tensors[i].name,
                              (unsigned long long)sz);
        }
        if (cur + sz > c->opts.max_shard_size && (in_cur > 0 || quirk)) {
            first[nblocks++] = i;
            cur = 0;
            in_cur = 0;
        }
        cur += sz;
        in_cur++;
        c->tensor_bytes += sz;
    }
    first[nblocks] = c->n_tensors;
    int rc = 0;
    for (size_t b = 0; b < nblocks && rc == 0; b++) {
        char name[WK_HF_SHARD_NAME_MAX];
        wk_hfcfg_shard_name(b + 1, nblocks, c->opts.safetensors, name);
        wk_convert_file *f = add_file(c, name, c->opts.safetensors ? WK_CONV_SAFETENSORS
                                                                   : WK_CONV_SHARD, err);
        if (!f) rc = -1;
        else {
            f->first_tensor = first[b];
            f->n_tensors = first[b + 1] - first[b];
            for (size_t i = first[b]; i < first[b + 1]; i++) c->tensor_file[i] = c->n_files - 1;
            rc = shard_size(c, f, err);
        }
    }
    if (rc == 0 && nblocks > 1) { /* the index */
        const char **keys = malloc(c->n_tensors * sizeof *keys);
        const char **files = malloc(c->n_tensors * sizeof *files);
        const char *ix = c->opts.safetensors ? WK_HF_ST_INDEX_NAME : WK_HF_INDEX_NAME;
        wk_convert_file *f = keys && files ? add_file(c, ix, WK_CONV_JSON, err) : NULL;
        if (!keys || !files) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
        else if (!f) rc = -1;
        else {
            for (size_t i = 0; i < c->n_tensors; i++) {
                keys[i] = c->tensors[i].name;
                files[i] = c->files[c->tensor_file[i]].name;
            }
            rc = wk_hfcfg_index_json(c->tensor_bytes, keys, files, c->n_tensors,
                                     &c->json[c->n_files - 1], err);
        }
        free(keys);
        free(files);
    }
    free(first);
    return rc;
}

/* Add a JSON file produced by fn. */
static int add_json(wk_convert *c, const char *name,
                    int (*fn)(const wk_hf_profile *, wk_buf *, wk_err *), wk_err *err)
{
    if (!add_file(c, name, WK_CONV_JSON, err)) return -1;
    return fn(&c->opts.hf, &c->json[c->n_files - 1], err);
}

static int plan_config(wk_convert *c, wk_err *err)
{
    const wk_llama_geom *g = &c->geom;
    wk_hf_llama_config cfg = {
        .hidden_size = g->dim, .intermediate_size = g->ffn, .num_attention_heads = g->n_heads,
        .num_key_value_heads = g->n_kv_heads, .num_hidden_layers = g->n_layers,
        .vocab_size = g->vocab, .rms_norm_eps = g->norm_eps,
        .rms_norm_eps_is_int = g->norm_eps_is_int, .rope_theta = g->rope_theta,
        .torch_dtype = "float16"};
    if (c->opts.llama3) {
        if (!add_file(c, "config.json", WK_CONV_JSON, err)) return -1;
        WK_TRY(wk_hfcfg3_config_json(c->opts.llama3, c->opts.instruct, &cfg,
                                     c->opts.tf3_version, &c->json[c->n_files - 1], err));
        if (!add_file(c, "generation_config.json", WK_CONV_JSON, err)) return -1;
        return wk_hfcfg3_generation_config_json(c->opts.llama3, c->opts.instruct,
                                                c->opts.tf3_version, &c->json[c->n_files - 1],
                                                err);
    }
    if (!add_file(c, "config.json", WK_CONV_JSON, err)) return -1;
    WK_TRY(wk_hfcfg_config_json(&c->opts.hf, &cfg, &c->json[c->n_files - 1], err));
    return add_json(c, "generation_config.json", wk_hfcfg_generation_config_json, err);
}

/* The post-processor template of the profile's LlamaTokenizerFast: 4.31 added
 * update_post_processor (pair "<s> $A <s>:1 $B:1"). */
static wk_tokjson_post post_of(const wk_hf_profile *p)
{
    return p->minor >= 31 ? WK_TOKJSON_POST_UPDATE : WK_TOKJSON_POST_2023;
}

/* tokenizer.json: parse and check the tokenizer now (nothing is written for a
 * model that cannot be converted), size it by streaming it to a counting sink. */
static int plan_tokjson(wk_convert *c, wk_err *err)
{
    if (c->opts.tokenizer_spm) {
        c->tok_spm = c->opts.tokenizer_spm;
        WK_TRY(wk_tokjson_check(c->tok_spm, c->tokenizer, err));
    } else if (wk_tokjson_load_spm(&c->spm, c->tokenizer, err)) {
        if (err && err->code == WK_E_UNSUPPORTED) {
            char msg[WK_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            wk_err_set(err, WK_E_UNSUPPORTED, "%.900s (--slow-tokenizer writes the slow "
                       "tokenizer files, without tokenizer.json)", msg);
        }
        return -1;
    } else {
        c->tok_spm = &c->spm;
    }
    wk_sink count;
    wk_sink_null(&count);
    WK_TRY(wk_tokjson_write(c->tok_spm, post_of(&c->opts.hf), c->tokenizer, &count, err));
    wk_convert_file *f = add_file(c, "tokenizer.json", WK_CONV_TOKJSON, err);
    if (!f) return -1;
    f->size = wk_sink_count(&count);
    return 0;
}

/* Llama 3: tokenizer_config.json, special_tokens_map.json (PreTrainedTokenizerFast)
 * and tokenizer.json from the tiktoken file (parsed now, sized by a counting sink). */
static int plan_tokenizer3(wk_convert *c, wk_err *err)
{
    WK_TRY(wk_tiktoken_load(&c->tik, c->tokenizer, err));
    if (!add_file(c, "tokenizer_config.json", WK_CONV_JSON, err)) return -1;
    WK_TRY(wk_hfcfg3_tokenizer_config_json(c->opts.llama3, c->opts.instruct, &c->tik,
                                           &c->json[c->n_files - 1], err));
    if (!add_file(c, "special_tokens_map.json", WK_CONV_JSON, err)) return -1;
    WK_TRY(wk_hfcfg3_special_tokens_map_json(c->opts.instruct, &c->json[c->n_files - 1], err));
    wk_sink count;
    wk_sink_null(&count);
    if (wk_tiktoken_write_json(&c->tik, wk_hfcfg3_specials(c->opts.llama3), c->opts.tik_post,
                               &count, err))
        return wk_err_prefix(err, "%s", c->tokenizer);
    wk_convert_file *f = add_file(c, "tokenizer.json", WK_CONV_TOKJSON, err);
    if (!f) return -1;
    f->size = wk_sink_count(&count);
    return 0;
}

static int plan_tokenizer(wk_convert *c, wk_err *err)
{
    if (c->opts.llama3) return plan_tokenizer3(c, err);
    int fast = c->opts.fast_tokenizer;
    WK_TRY(add_json(c, "tokenizer_config.json",
                    fast ? wk_hfcfg_fast_tokenizer_config_json : wk_hfcfg_tokenizer_config_json,
                    err));
    WK_TRY(add_json(c, "special_tokens_map.json", wk_hfcfg_special_tokens_map_json, err));
    wk_convert_file *f = add_file(c, "tokenizer.model", WK_CONV_COPY, err);
    if (!f) return -1;
    f->size = c->tokenizer_size;
    return fast ? plan_tokjson(c, err) : 0;
}

/* The 4.45 state dict of a Llama 3 model: bf16 weights, LlamaMLP's gate/up/down
 * order (w1, w3, w2), no lm_head when the embeddings are tied (save_pretrained
 * drops the shared tensor). */
static void llama3_layout(wk_convert *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n_tensors; i++) {
        wk_llama_hf_tensor t = c->tensors[i];
        if (t.kind == WK_LL_OUTPUT && wk_hfcfg3_tied(c->opts.llama3)) continue;
        if (t.kind == WK_LL_W2) { /* down after up: swap with the next (w3) */
            c->tensors[k] = c->tensors[i + 1];
            c->tensors[k++].dtype = WK_DT_BF16;
            t.dtype = WK_DT_BF16;
            c->tensors[k++] = t;
            i++;
            continue;
        }
        t.dtype = WK_DT_BF16;
        c->tensors[k++] = t;
    }
    c->n_tensors = k;
}

static wk_convert *plan(const wk_llama_ckpt *ck, const wk_llama_geom *g, const wk_convert_opts *o,
                        uint64_t tokenizer_size, wk_err *err)
{
    wk_convert *c = calloc(1, sizeof *c);
    if (!c) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    c->ck = ck;
    c->geom = *g;
    c->opts = *o;
    c->tokenizer_size = tokenizer_size;
    if (o->max_shard_size == 0) {
        wk_err_set(err, WK_E_USAGE, "max shard size must be positive");
        goto fail;
    }
    if (o->tokenizer && !(c->tokenizer = strdup(o->tokenizer))) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        goto fail;
    }
    c->opts.tokenizer = c->tokenizer;
    if (o->model) {
        if (!o->llama3 && g->n_kv_heads != g->n_heads && !(o->hf.flags & WK_HF_GQA_SCRIPT)) {
            wk_err_set(err, WK_E_UNSUPPORTED, "the model uses grouped-query attention (%lld "
                       "key/value heads for %lld query heads), which the transformers %s "
                       "converter cannot convert: use --transformers-version 4.31.0 or later",
                       (long long)g->n_kv_heads, (long long)g->n_heads, o->hf.version);
            goto fail;
        }
        int inv = !o->llama3 && (o->hf.flags & WK_HF_INV_FREQ) != 0;
        if (wk_llama_hf_plan(g, inv, &c->tensors, &c->n_tensors, err)) goto fail;
        if (o->llama3) llama3_layout(c);
    }
    size_t max_files = 2 + c->n_tensors + 2 + 4;
    c->files = calloc(max_files, sizeof *c->files);
    c->json = calloc(max_files, sizeof *c->json);
    c->tensor_file = calloc(c->n_tensors + 1, sizeof *c->tensor_file);
    if (!c->files || !c->json || !c->tensor_file) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        goto fail;
    }
    if (o->model && (plan_config(c, err) || plan_shards(c, err))) goto fail;
    if (c->tokenizer && plan_tokenizer(c, err)) goto fail;
    for (size_t i = 0; i < c->n_files; i++) {
        if (c->files[i].kind == WK_CONV_JSON) c->files[i].size = c->json[i].len;
        c->total_bytes += c->files[i].size;
    }
    return c;
fail:
    wk_convert_free(c);
    return NULL;
}

wk_convert *wk_convert_new(const wk_llama_ckpt *ck, const wk_convert_opts *o, wk_err *err)
{
    uint64_t tok_size = 0;
    if (o->tokenizer) {
        struct stat st;
        if (stat(o->tokenizer, &st) != 0) {
            wk_err_errno(err, errno, "%s", o->tokenizer);
            return NULL;
        }
        tok_size = (uint64_t)st.st_size;
    }
    return plan(ck, wk_llama_ckpt_geom(ck), o, tok_size, err);
}

wk_convert *wk_convert_new_geom(const wk_llama_geom *g, const wk_convert_opts *o,
                                uint64_t tokenizer_size, wk_err *err)
{
    if (wk_llama_geom_check(g, err) != 0) return NULL;
    return plan(NULL, g, o, tokenizer_size, err);
}

/* 1 if name ends with suffix. */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && strcmp(name + n - k, suffix) == 0;
}

const char *wk_convert_option_for(const char *name)
{
    if (!strcmp(name, "tokenizer.json"))
        return "wk-convert writes tokenizer.json by default (what the converter wrote with "
               "`tokenizers` installed); a base made with --slow-tokenizer, or by a converter "
               "without `tokenizers`, lacks it: re-create the base with wk-convert without "
               "--slow-tokenizer (or decode with --base-meta META_DIR)";
    if (!strcmp(name, "tokenizer.model") || !strcmp(name, "tokenizer_config.json") ||
        !strcmp(name, "special_tokens_map.json"))
        return "wk-convert writes the tokenizer files unless --no-tokenizer (--tokenizer PATH "
               "when tokenizer.model is not beside the checkpoint)";
    if (ends_with(name, ".safetensors") || !strcmp(name, WK_HF_ST_INDEX_NAME))
        return "wk-convert writes safetensors shards with --safetensors; their names depend on "
               "--max-shard-size";
    if (!strncmp(name, "pytorch_model", 13))
        return "wk-convert writes pytorch_model*.bin without --safetensors; the shard names "
               "depend on --max-shard-size";
    if (!strcmp(name, "config.json") || !strcmp(name, "generation_config.json"))
        return "wk-convert writes it for every model conversion (not with --model_size "
               "tokenizer_only)";
    return "no wk-convert option produces a file of that name (is the base the right model, "
           "converted to the same file layout?)";
}

size_t wk_convert_file_count(const wk_convert *c) { return c->n_files; }
const wk_convert_file *wk_convert_file_get(const wk_convert *c, size_t i) { return &c->files[i]; }
uint64_t wk_convert_total_bytes(const wk_convert *c) { return c->total_bytes; }
uint64_t wk_convert_tensor_bytes(const wk_convert *c) { return c->tensor_bytes; }
size_t wk_convert_tensor_count(const wk_convert *c) { return c->n_tensors; }
const wk_llama_hf_tensor *wk_convert_tensor(const wk_convert *c, size_t t) { return &c->tensors[t]; }
size_t wk_convert_tensor_file(const wk_convert *c, size_t t) { return c->tensor_file[t]; }
const wk_llama_geom *wk_convert_geom(const wk_convert *c) { return &c->geom; }
const wk_convert_opts *wk_convert_opts_of(const wk_convert *c) { return &c->opts; }

long wk_convert_find_file(const wk_convert *c, const char *name)
{
    for (size_t i = 0; i < c->n_files; i++)
        if (strcmp(c->files[i].name, name) == 0) return (long)i;
    return -1;
}

/* ---- a sink that passes on at most `left` bytes ------------------------------------ */

typedef struct {
    wk_sink *inner;
    uint64_t left;
    int full; /* the limit was reached: the producer may stop */
} limit_sink;

static int limit_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    limit_sink *l = ctx;
    size_t k = n < l->left ? n : (size_t)l->left;
    if (k && wk_sink_write(l->inner, p, k, err) != 0) return -1;
    l->left -= k;
    if (l->left == 0) l->full = 1;
    return 0;
}

/* ---- producing one tensor ------------------------------------------------------------ */

/* Where the rows of one output tensor come from.  Source rows are read with
 * pread into a staging buffer (cheaper than faulting the map in and giving
 * it back, and it keeps the resident set small by itself); a source with
 * unusual strides is read from the map instead. */
typedef struct {
    const wk_tensor_info *src[WK_LL_MAX_RANKS];
    int n_src;             /* ranks read (1 for a replicated tensor) */
    wk_ll_split split;
    int64_t rows, cols;    /* output shape (1-D: 1 x n) */
    int64_t src_rows, src_cols; /* shape of each rank's slice (1-D: 1 x n) */
    int64_t perm_hd;       /* > 0: head size of the q/k row permutation */
    wk_dtype od;           /* output dtype: F16, or BF16 (Llama 3) */
    int staged;            /* sources are read into stage[] (else: from the map) */
    const uint8_t *stage[WK_LL_MAX_RANKS]; /* staged rows of each source ... */
    int64_t stage_row0[WK_LL_MAX_RANKS];   /* ... starting at this local row */
} prod;

static size_t es_of(const wk_tensor_info *t) { return wk_dtype_get(t->dtype)->size; }

/* Source k's local row r, and its element stride. */
static const uint8_t *src_row(const prod *p, int k, int64_t r, int64_t *col_stride)
{
    const wk_tensor_info *t = p->src[k];
    size_t es = es_of(t);
    if (p->staged) {
        *col_stride = 1;
        return p->stage[k] + (size_t)((r - p->stage_row0[k]) * p->src_cols) * es;
    }
    int64_t off = t->storage_offset;
    if (t->ndim == 2) {
        off += r * t->stride[0];
        *col_stride = t->stride[1];
    } else {
        *col_stride = t->stride[0];
    }
    return t->storage + (size_t)off * es;
}

/* Byte extent [lo, hi) of t's elements inside its storage (in the map). */
static void src_extent(const wk_tensor_info *t, const uint8_t **lo, const uint8_t **hi)
{
    int64_t last = t->storage_offset;
    for (int d = 0; d < t->ndim; d++) last += (t->shape[d] - 1) * t->stride[d];
    *lo = t->storage + (size_t)t->storage_offset * es_of(t);
    *hi = t->storage + (size_t)(last + 1) * es_of(t);
}

/* Give the mapped pages of the sources back (fallback path only). */
static void release_map(const prod *p)
{
    long ps = sysconf(_SC_PAGESIZE);
    uintptr_t mask = (uintptr_t)(ps > 0 ? ps : 4096) - 1;
    for (int r = 0; r < p->n_src; r++) {
        const uint8_t *lo, *hi;
        src_extent(p->src[r], &lo, &hi);
        uintptr_t a = (uintptr_t)lo & ~mask, b = ((uintptr_t)hi + mask) & ~mask;
        if (b > a) (void)madvise((void *)a, b - a, MADV_DONTNEED);
    }
}

static void prod_init(prod *p, const wk_llama_ckpt *ck, const wk_llama_hf_tensor *t)
{
    memset(p, 0, sizeof *p);
    p->od = t->dtype;
    const wk_llama_geom *g = wk_llama_ckpt_geom(ck);
    p->split = wk_llama_ckpt_split(ck, t->kind);
    p->n_src = p->split == WK_LL_REPLICATED ? 1 : g->n_ranks;
    for (int r = 0; r < p->n_src; r++) p->src[r] = wk_llama_ckpt_tensor(ck, r, t->kind, t->layer);
    const wk_tensor_info *s = p->src[0];
    p->rows = t->ndim == 2 ? t->shape[0] : 1;
    p->cols = t->ndim == 2 ? t->shape[1] : t->shape[0];
    p->src_rows = s->ndim == 2 ? s->shape[0] : 1;
    p->src_cols = s->ndim == 2 ? s->shape[1] : s->shape[0];
    if (t->permute_heads > 0) p->perm_hd = p->rows / t->permute_heads;
    p->staged = 1;
    for (int r = 0; r < p->n_src; r++) p->staged &= wk_tensor_is_contiguous(p->src[r]);
}

/* Rows read from the sources at once: about WK_CONVERT_CHUNK bytes, but
 * whole heads when the rows are permuted (a head's output rows come from the
 * same head's source rows).  Output is then produced WK_CONVERT_CHUNK at a
 * time (sub_rows), so the buffers stay in the CPU cache between read, cast,
 * CRC and write. */
static int64_t sub_rows(int64_t rows, int64_t cols)
{
    int64_t per = (int64_t)(WK_CONVERT_CHUNK / ((uint64_t)cols * 2));
    if (per < 1) per = 1;
    return per < rows ? per : rows;
}

static int64_t chunk_rows(int64_t rows, int64_t cols, int64_t perm_hd)
{
    int64_t per = sub_rows(rows, cols);
    if (perm_hd > 0) per = per < perm_hd ? perm_hd : per / perm_hd * perm_hd;
    return per < rows ? per : rows;
}

/* Ask the kernel to read tensor t's sources ahead (fds: the rank files). */
static void prefetch(const prod *p, const int *fds)
{
    for (int r = 0; r < p->n_src; r++) {
        const wk_tensor_info *t = p->src[r];
        const uint8_t *lo, *hi;
        src_extent(t, &lo, &hi);
        (void)posix_fadvise(fds[r], (off_t)(t->file_offset + (uint64_t)(lo - t->storage)),
                            (off_t)(hi - lo), POSIX_FADV_WILLNEED);
    }
}

/* Read exactly n bytes at off of file fd (path for messages). */
static int pread_all(int fd, void *buf, size_t n, uint64_t off, const char *path, wk_err *err)
{
    uint8_t *b = buf;
    while (n > 0) {
        ssize_t got = pread(fd, b, n, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return wk_err_errno(err, errno, "%s: read at byte %llu", path, (unsigned long long)off);
        if (got == 0)
            return wk_err_set(err, WK_E_IO, "%s: file shrank (end of file at byte %llu)", path,
                              (unsigned long long)off);
        b += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return 0;
}

/* Stage merged source rows [m0, m1) of every rank involved into st. */
static int stage_rows(prod *p, int64_t m0, int64_t m1, uint8_t *st, const int *fds,
                      const wk_llama_ckpt *ck, wk_err *err)
{
    size_t used = 0;
    for (int k = 0; k < p->n_src; k++) {
        int64_t a = m0, b = m1; /* local rows of source k */
        if (p->split == WK_LL_SPLIT_ROWS) {
            a = m0 - k * p->src_rows;
            b = m1 - k * p->src_rows;
            if (a < 0) a = 0;
            if (b > p->src_rows) b = p->src_rows;
        }
        p->stage[k] = st + used;
        p->stage_row0[k] = a;
        if (b <= a) continue;
        const wk_tensor_info *t = p->src[k];
        size_t row = (size_t)p->src_cols * es_of(t), n = (size_t)(b - a) * row;
        uint64_t off = t->file_offset + ((uint64_t)t->storage_offset + (uint64_t)a * (uint64_t)p->src_cols) * es_of(t);
        WK_TRY(pread_all(fds[k], st + used, n, off, wk_llama_ckpt_rank_path(ck, k), err));
        used += n;
    }
    return 0;
}

/* n elements from src (dtype dt, element stride cs) as bf16 at dst (RNE, as torch's
 * .to(bfloat16)). */
static void cast_seg_bf16(const uint8_t *src, wk_dtype dt, int64_t cs, int64_t n, uint16_t *dst)
{
    size_t es = wk_dtype_get(dt)->size;
    if (cs == 1 && dt == WK_DT_BF16) {
        memcpy(dst, src, (size_t)n * 2);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *e = src + (size_t)(i * cs) * es;
        uint16_t h;
        float f;
        if (dt == WK_DT_BF16) memcpy(&dst[i], e, 2);
        else if (dt == WK_DT_F16) {
            memcpy(&h, e, 2);
            dst[i] = wk_f32_to_bf16(wk_f16_to_f32(h));
        } else {
            memcpy(&f, e, 4);
            dst[i] = wk_f32_to_bf16(f);
        }
    }
}

/* n elements from src (dtype dt, element stride cs) as fp16 at dst. */
static void cast_seg(const uint8_t *src, wk_dtype dt, int64_t cs, int64_t n, uint16_t *dst)
{
    if (cs == 1) {
        if (dt == WK_DT_F16) memcpy(dst, src, (size_t)n * 2);
        else if (dt == WK_DT_BF16) wk_bf16_to_f16_row((const uint16_t *)src, dst, (size_t)n);
        else wk_f32_to_f16_row((const float *)src, dst, (size_t)n);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *e = src + (size_t)(i * cs) * wk_dtype_get(dt)->size;
        uint16_t h;
        float f;
        if (dt == WK_DT_F16) memcpy(&h, e, 2);
        else if (dt == WK_DT_BF16) {
            memcpy(&h, e, 2);
            h = wk_f32_to_f16(wk_bf16_to_f32(h));
        } else {
            memcpy(&f, e, 4);
            h = wk_f32_to_f16(f);
        }
        dst[i] = h;
    }
}

/* Output row r (fp16) into dst. */
static void fill_row(const prod *p, int64_t r, uint16_t *dst)
{
    int64_t m = r, cs;
    if (p->perm_hd) { /* new row p*(hd/2)+i of a head <- merged row 2i+p */
        int64_t hd = p->perm_hd, h = r / hd, o = r % hd, half = hd / 2;
        m = h * hd + 2 * (o % half) + o / half;
    }
    if (p->split == WK_LL_SPLIT_COLS) {
        for (int k = 0; k < p->n_src; k++) {
            const uint8_t *s = src_row(p, k, m, &cs);
            (p->od == WK_DT_BF16 ? cast_seg_bf16 : cast_seg)(s, p->src[k]->dtype, cs,
                                                             p->src_cols, dst + k * p->src_cols);
        }
        return;
    }
    int k = 0;
    if (p->split == WK_LL_SPLIT_ROWS) { /* merged row m lives in rank m / src_rows */
        k = (int)(m / p->src_rows);
        m -= (int64_t)k * p->src_rows;
    }
    const uint8_t *s = src_row(p, k, m, &cs);
    (p->od == WK_DT_BF16 ? cast_seg_bf16 : cast_seg)(s, p->src[k]->dtype, cs, p->src_cols, dst);
}

/* 1 if some source needs a dtype conversion (not just a copy). */
static int needs_cast(const prod *p)
{
    for (int r = 0; r < p->n_src; r++)
        if (p->src[r]->dtype != p->od) return 1;
    return 0;
}

/* Rows [r0, r1) into buf.  Deliberately one thread: the rows are produced
 * ~128 KiB at a time so that they are still in the cache when they are
 * CRC'd and written, and a parallel region per chunk costs more than it saves
 * (measured: with OpenMP over rows a bf16 conversion took 8x longer on a
 * loaded 2-core machine, the workers spin-waiting between chunks). */
static void fill_rows(const prod *p, int64_t r0, int64_t r1, uint8_t *buf)
{
    size_t row_bytes = (size_t)p->cols * 2;
    for (int64_t r = r0; r < r1; r++) fill_row(p, r, (uint16_t *)(buf + (size_t)(r - r0) * row_bytes));
}

/* 1 if the staged source bytes, in rank order, are the output bytes. */
static int is_passthrough(const prod *p)
{
    return p->staged && !p->perm_hd && !needs_cast(p) &&
           (p->split != WK_LL_SPLIT_COLS || p->n_src == 1);
}

/* One shard being written: either writer, buffers, rank files, the limit. */
typedef struct {
    wk_convert *c;
    const wk_convert_file *f;
    wk_pthw *pw;     /* torch.save layout, or */
    wk_stw *sw;      /* safetensors */
    limit_sink *lim;
    uint8_t *buf;    /* output rows */
    uint8_t *stage;  /* source rows read from the rank files */
    size_t cap, stage_cap;
    int fds[WK_LL_MAX_RANKS];
} stream_state;

/* Append n bytes of the current tensor to whichever writer is in use. */
static int put(stream_state *s, const void *p, size_t n, wk_err *err)
{
    return s->pw ? wk_pthw_write(s->pw, p, n, err) : wk_stw_write(s->sw, p, n, err);
}

/* The inv_freq buffer (fp32 little-endian). */
static int write_inv_freq(stream_state *s, const wk_llama_hf_tensor *t, wk_err *err)
{
    int64_t n = t->shape[0];
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    wk_llama_inv_freq(s->c->geom.head_dim, s->c->geom.rope_theta, v);
    int rc = put(s, v, (size_t)n * sizeof *v, err);
    free(v);
    return rc;
}

uint64_t wk_convert_nonfinite(const wk_convert *c)
{
    return __atomic_load_n(&c->nonfinite, __ATOMIC_RELAXED);
}

/* Count the NaN/Inf among rows starting at r0 of a tensor as float16 about
 * to be written (n values, still in cache) into *count / *first. */
static void count_f16(wk_dtype od, const void *f16, size_t n, int64_t r0, int64_t cols,
                      uint64_t *count, uint64_t *first)
{
    size_t f;
    uint64_t k = od == WK_DT_BF16 ? wk_bf16_nonfinite(f16, n, &f) : wk_f16_nonfinite(f16, n, &f);
    if (k && !*count) *first = (uint64_t)r0 * (uint64_t)cols + f;
    *count += k;
}

/* After tensor t: its NaN/Inf count is an error unless allowed. */
static int nonfinite_done(stream_state *s, const wk_llama_hf_tensor *t, uint64_t count,
                          uint64_t first, wk_err *err)
{
    if (!count) return 0;
    if (s->c->opts.allow_nonfinite) {
        __atomic_fetch_add(&s->c->nonfinite, count, __ATOMIC_RELAXED);
        return 0;
    }
    return wk_err_set(err, WK_E_UNSAFE, "%s: tensor \"%s\": %llu NaN/Inf value%s in the float16 "
                      "output (first at element %llu): NaN/Inf in the checkpoint, or values beyond "
                      "+-65504; --allow-nonfinite writes them", wk_llama_ckpt_dir(s->c->ck), t->name,
                      (unsigned long long)count, count == 1 ? "" : "s", (unsigned long long)first);
}

/* Write the data of state-dict tensor `ti`; prefetch tensor `next` (SIZE_MAX: none). */
static int write_tensor(stream_state *s, size_t ti, size_t next, wk_err *err)
{
    const wk_llama_hf_tensor *t = &s->c->tensors[ti];
    if (next != SIZE_MAX && s->c->tensors[next].kind != WK_LL_INV_FREQ) {
        prod pn;
        prod_init(&pn, s->c->ck, &s->c->tensors[next]);
        prefetch(&pn, s->fds);
    }
    if (t->kind == WK_LL_INV_FREQ) return write_inv_freq(s, t, err);
    prod p;
    prod_init(&p, s->c->ck, t);
    size_t row_bytes = (size_t)p.cols * 2;
    int64_t per = chunk_rows(p.rows, p.cols, p.perm_hd), sub = sub_rows(p.rows, p.cols);
    uint64_t bad = 0, first = 0;
    for (int64_t r0 = 0; r0 < p.rows && !s->lim->full; r0 += per) {
        int64_t r1 = r0 + per < p.rows ? r0 + per : p.rows;
        if (p.staged) WK_TRY(stage_rows(&p, r0, r1, s->stage, s->fds, s->c->ck, err));
        if (is_passthrough(&p)) {
            count_f16(p.od, s->stage, (size_t)((r1 - r0) * p.cols), r0, p.cols, &bad, &first);
            WK_TRY(put(s, s->stage, (size_t)(r1 - r0) * row_bytes, err));
            continue;
        }
        for (int64_t a = r0; a < r1 && !s->lim->full; a += sub) {
            int64_t b = a + sub < r1 ? a + sub : r1;
            fill_rows(&p, a, b, s->buf);
            count_f16(p.od, s->buf, (size_t)((b - a) * p.cols), a, p.cols, &bad, &first);
            WK_TRY(put(s, s->buf, (size_t)(b - a) * row_bytes, err));
        }
    }
    if (!p.staged) release_map(&p);
    return nonfinite_done(s, t, bad, first, err);
}

/* Buffer sizes for shard f: the largest chunk of output rows, and of source
 * rows (up to 4 bytes per element for fp32 input). */
static void chunk_caps(const wk_convert *c, const wk_convert_file *f, size_t *out, size_t *stage)
{
    *out = *stage = 1;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const wk_llama_hf_tensor *t = &c->tensors[f->first_tensor + i];
        if (t->kind == WK_LL_INV_FREQ) continue;
        int64_t rows = t->ndim == 2 ? t->shape[0] : 1, cols = t->ndim == 2 ? t->shape[1] : t->shape[0];
        int64_t hd = t->permute_heads > 0 ? rows / t->permute_heads : 0;
        size_t n = (size_t)chunk_rows(rows, cols, hd) * (size_t)cols;
        size_t nout = (size_t)sub_rows(rows, cols) * (size_t)cols;
        size_t es = 2;
        for (int r = 0; r < c->geom.n_ranks; r++) {
            wk_ll_split sp = wk_llama_ckpt_split(c->ck, t->kind);
            if (sp == WK_LL_REPLICATED && r > 0) break;
            size_t e = es_of(wk_llama_ckpt_tensor(c->ck, r, t->kind, t->layer));
            if (e > es) es = e;
        }
        if (nout * 2 > *out) *out = nout * 2;
        if (n * es > *stage) *stage = n * es;
    }
}

/* Writer-side bookkeeping around the tensors: begin, per-tensor records in
 * the writer's order, finish.  Tensor data comes from write_tensor. */
static int stream_tensors(stream_state *s, wk_sink *sink, wk_err *err)
{
    const wk_convert_file *f = s->f;
    size_t n = s->pw ? wk_pthw_storage_count(s->pw) : f->n_tensors;
    WK_TRY(s->pw ? wk_pthw_begin(s->pw, sink, err) : wk_stw_begin(s->sw, sink, err));
    if (s->lim->full || n == 0) goto finish;
    if (!s->c->ck)
        return wk_err_set(err, WK_E_USAGE, "the conversion was planned without tensor data");
    chunk_caps(s->c, f, &s->cap, &s->stage_cap);
    if (!(s->buf = malloc(s->cap)) || !(s->stage = malloc(s->stage_cap)))
        return wk_err_set(err, WK_E_NOMEM, "out of memory (%zu + %zu-byte buffers)", s->cap,
                          s->stage_cap);
    for (int r = 0; r < s->c->geom.n_ranks; r++) {
        const char *path = wk_llama_ckpt_rank_path(s->c->ck, r);
        if ((s->fds[r] = wk_input_open(path, 0, NULL, err)) < 0) return -1;
    }
    for (size_t k = 0; k < n && !s->lim->full; k++) {
        size_t i = s->pw ? wk_pthw_record_storage(s->pw, k) : wk_stw_order(s->sw, k);
        size_t next = SIZE_MAX;
        if (k + 1 < n)
            next = f->first_tensor + (s->pw ? wk_pthw_record_storage(s->pw, k + 1)
                                            : wk_stw_order(s->sw, k + 1));
        if (s->pw) WK_TRY(wk_pthw_storage_begin(s->pw, i, err));
        WK_TRY(write_tensor(s, f->first_tensor + i, next, err));
        if (s->pw && !s->lim->full) WK_TRY(wk_pthw_storage_end(s->pw, err));
    }
finish:
    if (s->lim->full) return 0;
    return s->pw ? wk_pthw_finish(s->pw, err) : wk_stw_finish(s->sw, err);
}

static int stream_shard(wk_convert *c, const wk_convert_file *f, limit_sink *lim, wk_err *err)
{
    wk_sink sink;
    wk_sink_init(&sink, limit_write, lim);
    stream_state s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.f = f;
    s.lim = lim;
    for (int r = 0; r < WK_LL_MAX_RANKS; r++) s.fds[r] = -1;
    int rc = -1;
    if (f->kind == WK_CONV_SAFETENSORS) s.sw = plan_st(c, f, err);
    else s.pw = plan_pth(c, f, err);
    if (!s.pw && !s.sw) return -1;
    uint64_t size = s.pw ? wk_pthw_total_size(s.pw) : wk_stw_total_size(s.sw);
    if (size != f->size) wk_err_set(err, WK_E_INTERNAL, "size changed since planning");
    else rc = stream_tensors(&s, &sink, err);
    if (rc != 0) wk_err_prefix(err, "%s", f->name);
    for (int r = 0; r < WK_LL_MAX_RANKS; r++)
        if (s.fds[r] >= 0) close(s.fds[r]);
    free(s.buf);
    free(s.stage);
    wk_pthw_free(s.pw);
    wk_stw_free(s.sw);
    return rc;
}

static int stream_copy(const wk_convert *c, const wk_convert_file *f, limit_sink *lim, wk_err *err)
{
    wk_map m;
    WK_TRY(wk_map_open(&m, c->tokenizer, err));
    int rc = 0;
    if (m.size != f->size)
        rc = wk_err_set(err, WK_E_MISMATCH, "%s: size changed since planning (%zu, was %llu)",
                        c->tokenizer, m.size, (unsigned long long)f->size);
    else if (m.size)
        rc = limit_write(lim, m.data, m.size, err);
    wk_map_close(&m);
    return rc;
}

/* tokenizer.json from the tokenizer parsed at planning (the bytes depend on it alone). */
static int stream_tokjson(const wk_convert *c, const wk_convert_file *f, limit_sink *lim,
                          wk_err *err)
{
    wk_sink sink;
    wk_sink_init(&sink, limit_write, lim);
    if (c->opts.llama3)
        WK_TRY(wk_tiktoken_write_json(&c->tik, wk_hfcfg3_specials(c->opts.llama3),
                                      c->opts.tik_post, &sink, err));
    else
        WK_TRY(wk_tokjson_write(c->tok_spm, post_of(&c->opts.hf), c->tokenizer, &sink, err));
    WK_FAIL_IF(wk_sink_count(&sink) != f->size, err, WK_E_INTERNAL,
               "%s: %llu bytes, planned %llu", f->name, (unsigned long long)wk_sink_count(&sink),
               (unsigned long long)f->size);
    return 0;
}

int wk_convert_stream_prefix(wk_convert *c, size_t i, uint64_t limit, wk_sink *sink, wk_err *err)
{
    if (i >= c->n_files) return wk_err_set(err, WK_E_USAGE, "no output file %zu", i);
    const wk_convert_file *f = &c->files[i];
    limit_sink lim = {sink, limit, limit == 0};
    if (lim.full) return 0;
    switch (f->kind) {
    case WK_CONV_JSON: return limit_write(&lim, c->json[i].data, c->json[i].len, err);
    case WK_CONV_COPY: return stream_copy(c, f, &lim, err);
    case WK_CONV_TOKJSON: return stream_tokjson(c, f, &lim, err);
    default: return stream_shard(c, f, &lim, err);
    }
}

int wk_convert_stream_file(wk_convert *c, size_t i, wk_sink *sink, wk_err *err)
{
    return wk_convert_stream_prefix(c, i, UINT64_MAX, sink, err);
}
