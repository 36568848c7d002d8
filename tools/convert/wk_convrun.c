/* wk_convrun.c — a wk-convert run (see wk_convrun.h): locate the model and
 * tokenizer, open and check the checkpoint, pick the profiles, plan, and
 * write every planned file into a directory atomically. */
#include "wk_convrun.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wk_hash.h"
#include "wk_io.h"
#include "wk_spm.h"
#include "wk_tokjson.h"

/* ---- progress / counting sink ------------------------------------------------ */

typedef struct {
    wk_sink *inner;
    const wk_convrun_report *rep;
    uint64_t total;
    uint64_t done;
} count_sink;

static int count_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    count_sink *c = ctx;
    WK_TRY(wk_sink_write(c->inner, p, n, err));
    c->done += n;
    if (c->rep->progress) c->rep->progress(c->rep->ctx, c->done, c->total);
    return 0;
}

/* ---- the conversion ------------------------------------------------------------- */

/* Write planned file i of c into the directory d (its SHA-256 into
 * digests[i] when h is not NULL), through the counting sink cs. */
static int write_file(wk_convert *c, size_t i, wk_outdir *d, const wk_inputs *in, wk_hash *h, count_sink *cs,
                      char (*digests)[65], wk_err *err)
{
    const wk_convrun_report *rep = cs->rep;
    const wk_convert_file *f = wk_convert_file_get(c, i);
    char *path = wk_path_join(wk_outdir_path(d), f->name);
    WK_FAIL_IF(!path, err, WK_E_NOMEM, "out of memory");
    wk_out *out = wk_out_open(path, in, err);
    free(path);
    if (!out) return -1;
    if (h) wk_hash_reset(h, err);
    if (rep->stage) rep->stage(rep->ctx, f->name);
    wk_sink os, cw;
    cs->inner = wk_sink_out(&os, out);
    wk_sink_tee(&os, h);                  /* --sha256: hashed while written */
    wk_sink_init(&cw, count_write, cs);
    int rc = wk_convert_stream_file(c, i, &cw, err);
    if (rc == 0 && wk_out_tell(out) != f->size)
        rc = wk_err_set(err, WK_E_INTERNAL, "%s: wrote %llu bytes, planned %llu", f->name,
                        (unsigned long long)wk_out_tell(out), (unsigned long long)f->size);
    if (rc != 0) {
        wk_out_abort(out);
        return -1;
    }
    WK_TRY(wk_out_commit(out, err));
    if (h) {
        uint8_t dg[WK_HASH_MAX_DIGEST];
        WK_TRY(wk_hash_digest(h, dg, err));
        wk_hex(dg, 32, digests[i]);
    }
    return 0;
}

/* Write every planned file into a temporary directory, then rename it. */
static int write_all(wk_convert *c, const wk_convrun_opts *o, const wk_inputs *in, char (*digests)[65],
                     const wk_convrun_report *rep, wk_err *err)
{
    wk_outdir *d = wk_outdir_open(o->output, in, err);
    if (!d) return -1;
    int rc = -1;
    count_sink cs = {NULL, rep, wk_convert_total_bytes(c), 0};
    wk_hash *h = NULL;
    if (o->sha256 && !(h = wk_hash_create(WK_HASH_SHA256, err))) goto done;
    for (size_t i = 0; i < wk_convert_file_count(c); i++)
        WK_TRY_GOTO(write_file(c, i, d, in, h, &cs, digests, err), done);
    rc = 0;
done:
    wk_hash_free(h);
    if (rc != 0) {
        wk_outdir_abort(d);
        return -1;
    }
    return wk_outdir_commit(d, err);
}

/* Model directory and tokenizer path from the options (script layout or plain). */
static int locate(const wk_convrun_opts *o, char **model_dir, char **tokenizer, wk_err *err)
{
    *model_dir = NULL;
    *tokenizer = NULL;
    int tok_only = o->model_size && !strcmp(o->model_size, "tokenizer_only");
    struct stat st;
    if (o->model_size && !tok_only) { /* the script's layout: INPUT/SIZE/, if it exists */
        *model_dir = wk_path_join(o->input, o->model_size);
        if (*model_dir && (stat(*model_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
            free(*model_dir);
            *model_dir = strdup(o->input);
        }
    } else {
        *model_dir = strdup(o->input);
    }
    if (!*model_dir) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (o->no_tokenizer) return 0;
    if (o->tokenizer) *tokenizer = strdup(o->tokenizer);
    else *tokenizer = wk_llama_find_tokenizer(*model_dir);
    if (!*tokenizer)
        return wk_err_set(err, WK_E_IO, "tokenizer.model not found in %s or its parent directory "
                          "(use --tokenizer PATH or --no-tokenizer)", *model_dir);
    return 0;
}

/* Profile options into co; auto-select 4.31.0 for GQA when no version was given
 * (*gqa_auto = 1). */
static int profiles(const wk_convrun_opts *o, const wk_llama_geom *g, wk_convert_opts *co, int *gqa_auto,
                    wk_err *err)
{
    if (o->tf_version) WK_TRY(wk_hf_profile_parse(o->tf_version, &co->hf, err));
    else if (g && g->n_kv_heads != g->n_heads) {
        WK_TRY(wk_hf_profile_parse("4.31.0", &co->hf, err));
        *gqa_auto = 1;
    }
    if (o->torch_version) {
        int p = wk_pth_profile_from_name(o->torch_version);
        if (p < 0)
            return wk_err_set(err, WK_E_USAGE, "--torch-version %s: supported 1.13, 2.0, 2.1 .. 2.5",
                              o->torch_version);
        co->torch = (wk_pth_profile)p;
    }
    if (co->llama3) co->max_shard_size = 5000000000ull; /* save_pretrained's "5GB" (4.45) */
    if (o->max_shard) WK_TRY(wk_hfcfg_parse_size(o->max_shard, &co->max_shard_size, err));
    return 0;
}

/* 1 if the file at path starts like a tiktoken file (0 when unreadable: the
 * later open says why). */
static int is_tiktoken_file(const char *path)
{
    wk_map m;
    if (!path || wk_map_open(&m, path, NULL) != 0) return 0;
    int t = wk_tokjson_is_tiktoken(m.data, m.size);
    wk_map_close(&m);
    return t;
}

/* "use_scaled_rope": true in dir/params.json (1), false/absent (0), -1 unreadable. */
static int scaled_rope_of(const char *dir)
{
    char *p = wk_path_join(dir, "params.json");
    wk_map m;
    int r = -1;
    if (p && wk_map_open(&m, p, NULL) == 0) {
        wk_llama_params lp;
        wk_err e = {0};
        if (wk_llama_params_parse_flags(m.data ? (const void *)m.data : "", m.size, p,
                                        WK_LL_OPEN_SCALED_ROPE, &lp, &e) == 0)
            r = lp.use_scaled_rope;
        wk_map_close(&m);
    }
    free(p);
    return r;
}

/* Tied embeddings (3.2): save_pretrained keeps only embed_tokens, so output.weight must
 * hold the same values, rank by rank (compared with pread in 1 MiB pieces). */
static int check_tied(const wk_llama_ckpt *ck, wk_err *err)
{
    enum { PIECE = 1 << 20 };
    uint8_t *a = malloc(PIECE), *b = malloc(PIECE);
    int rc = a && b ? 0 : wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (int r = 0; r < wk_llama_ckpt_geom(ck)->n_ranks && rc == 0; r++) {
        const wk_tensor_info *e = wk_llama_ckpt_tensor(ck, r, WK_LL_TOK_EMB, -1);
        const wk_tensor_info *o = wk_llama_ckpt_tensor(ck, r, WK_LL_OUTPUT, -1);
        const char *path = wk_llama_ckpt_rank_path(ck, r);
        if (!wk_tensor_is_contiguous(e) || !wk_tensor_is_contiguous(o) || e->dtype != o->dtype ||
            e->shape[0] != o->shape[0] || e->shape[1] != o->shape[1]) {
            rc = wk_err_set(err, WK_E_UNSUPPORTED, "%s: --llama_version 3.2 ties the embeddings, "
                            "but output.weight and tok_embeddings.weight differ in layout or "
                            "dtype: not a tied checkpoint", path);
            break;
        }
        size_t es = wk_dtype_get(e->dtype)->size;
        uint64_t n = (uint64_t)e->shape[0] * (uint64_t)e->shape[1] * es;
        uint64_t oe = e->file_offset + (uint64_t)e->storage_offset * es;
        uint64_t oo = o->file_offset + (uint64_t)o->storage_offset * es;
        int fd = wk_input_open(path, 0, NULL, err);
        if (fd < 0) { rc = -1; break; }
        for (uint64_t at = 0; at < n && rc == 0; at += PIECE) {
            size_t k = n - at < PIECE ? (size_t)(n - at) : PIECE;
            if (pread(fd, a, k, (off_t)(oe + at)) != (ssize_t)k ||
                pread(fd, b, k, (off_t)(oo + at)) != (ssize_t)k)
                rc = wk_err_set(err, WK_E_IO, "%s: short read comparing the embeddings", path);
            else if (memcmp(a, b, k) != 0)
                rc = wk_err_set(err, WK_E_UNSUPPORTED, "%s: --llama_version 3.2 ties the "
                                "embeddings (save_pretrained keeps embed_tokens only), but "
                                "output.weight differs from tok_embeddings.weight (first "
                                "difference in bytes %llu..%llu): converting would change the "
                                "model; is it a 3.2 1B/3B checkpoint?", path,
                                (unsigned long long)at, (unsigned long long)(at + k));
        }
        close(fd);
    }
    free(a);
    free(b);
    return rc;
}

/* The Llama 3 options: --llama_version, else detection (wk_convrun.h). */
static int llama3_opts(const wk_convrun_opts *o, const char *tok, const char *model_dir,
                       wk_convert_opts *co, wk_err *err)
{
    int tik = is_tiktoken_file(tok);
    if (o->llama_version) WK_TRY(wk_hfcfg3_version_parse(o->llama_version, &co->llama3, err));
    else if (tik) {
        int sr = model_dir ? scaled_rope_of(model_dir) : 0;
        WK_FAIL_IF(sr > 0, err, WK_E_USAGE, "%s: a Llama 3 tiktoken tokenizer and "
                   "\"use_scaled_rope\": true in params.json: Llama 3.1, 3.2 and 3.3 look alike "
                   "here; say which with --llama_version 3.1, 3.2 or 3.3", tok);
        co->llama3 = WK_L3_3;
    }
    if (!co->llama3) {
        WK_FAIL_IF(o->instruct, err, WK_E_USAGE, "--instruct is for Llama 3 conversions "
                   "(--llama_version)");
        WK_FAIL_IF(o->post_processor, err, WK_E_USAGE, "--post-processor is for Llama 3 "
                   "conversions (--llama_version)");
        return 0;
    }
    WK_FAIL_IF(tok && !tik, err, WK_E_UNSUPPORTED, "%s: not a tiktoken file: --llama_version %s "
               "needs Meta's Llama 3 tokenizer.model (lines \"<base64> <rank>\")", tok,
               wk_hfcfg3_version_name(co->llama3));
    int tf_ok = o->tf_version && strncmp(o->tf_version, "4.45.", 5) == 0; /* the profile itself */
    WK_FAIL_IF(o->slow_tokenizer || (o->tf_version && !tf_ok) || o->torch_version, err, WK_E_USAGE,
               "%s: a Llama 3 (%s) conversion%s: --slow-tokenizer, --transformers-version and "
               "--torch-version are LLaMA 1/2 profiles; a Llama 3 conversion is transformers "
               "%s's (PreTrainedTokenizerFast, safetensors, bf16)", tok ? tok : "params.json",
               wk_hfcfg3_version_name(co->llama3), tik ? " with a tiktoken tokenizer" : "",
               WK_HF3_VERSION);
    co->instruct = o->instruct;
    co->safetensors = 1;
    if (tf_ok) {
        size_t n = strlen(o->tf_version);
        WK_FAIL_IF(n >= 40 || strspn(o->tf_version, "0123456789abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ.+-") != n, err, WK_E_USAGE,
                   "--transformers-version \"%.60s\": expected 4.45.PATCH[suffix]",
                   o->tf_version);
        co->tf3_version = o->tf_version;
    }
    if (o->post_processor && !strcmp(o->post_processor, "bytelevel"))
        co->tik_post = WK_TIKTOKEN_POST_BYTELEVEL;
    else WK_FAIL_IF(o->post_processor && strcmp(o->post_processor, "template"), err, WK_E_USAGE,
                    "--post-processor %s: expected template or bytelevel", o->post_processor);
    return 0;
}

/* The converter of a tokenizer-only run: a dummy geometry, the tokenizer's size. */
static wk_convert *tokenizer_only(const char *tok, const wk_convert_opts *co, wk_err *err)
{
    wk_llama_geom g = {.dim = 2, .n_layers = 1, .n_heads = 1, .n_kv_heads = 1, .head_dim = 2,
                       .ffn = 1, .vocab = 1, .n_ranks = 1, .rope_theta = 10000.0};
    struct stat st;
    if (!tok || stat(tok, &st) != 0) {
        wk_err_errno(err, errno, "%s", tok ? tok : "tokenizer.model");
        return NULL;
    }
    return wk_convert_new_geom(&g, co, (uint64_t)st.st_size, err);
}

int wk_convrun_open(wk_convrun *r, const wk_convrun_opts *o, wk_err *err)
{
    memset(r, 0, sizeof *r);
    if (o->model_size && strcmp(o->model_size, "tokenizer_only") && !wk_llama_size_get(o->model_size))
        return wk_err_set(err, WK_E_USAGE, "--model_size %s: expected 7B, 7Bf, 13B, 13Bf, 30B, 34B, "
                          "65B, 70B, 70Bf or tokenizer_only", o->model_size);
    int model = !(o->model_size && !strcmp(o->model_size, "tokenizer_only"));
    wk_convert_opts co;
    wk_convert_opts_init(&co);
    co.threads = o->threads;
    co.model = model;
    co.safetensors = o->safetensors;
    co.allow_nonfinite = o->allow_nonfinite;
    co.fast_tokenizer = !o->slow_tokenizer;
    WK_TRY(locate(o, &r->model_dir, &r->tokenizer, err));
    WK_TRY(llama3_opts(o, r->tokenizer, model ? r->model_dir : NULL, &co, err));
    /* not Llama 3: tiktoken, JSON refused by name */
    if (r->tokenizer && !co.llama3) WK_TRY(wk_spm_check_file(r->tokenizer, err));
    co.tokenizer = r->tokenizer;
    if (!(r->inputs = wk_inputs_new(err))) return -1;
    if (r->tokenizer) WK_TRY(wk_inputs_add(r->inputs, r->tokenizer, err));
    if (model) {
        unsigned fl = co.llama3 > WK_L3_3 ? WK_LL_OPEN_SCALED_ROPE : 0;
        if (!(r->ck = wk_llama_open_flags(r->model_dir, o->threads, fl, err))) return -1;
        if (co.llama3 > WK_L3_3 && !wk_llama_ckpt_params(r->ck)->use_scaled_rope)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s/params.json: no \"use_scaled_rope\": "
                              "true, but --llama_version %s converts with llama3 rope scaling "
                              "(use --llama_version 3 for a Llama 3.0 model)", r->model_dir,
                              wk_hfcfg3_version_name(co.llama3));
        if (co.llama3 && wk_hfcfg3_tied(co.llama3)) WK_TRY(check_tied(r->ck, err));
        const wk_llama_geom *g = wk_llama_ckpt_geom(r->ck);
        if (co.llama3 && g->vocab != 128256)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: a %s Llama %s conversion, but %s has a "
                              "%lld-row embedding, not 128256 (Meta's 128000 tiktoken tokens + "
                              "256 special tokens, ids 128000-128255): not a Llama 3 checkpoint",
                              r->tokenizer ? r->tokenizer : r->model_dir,
                              r->tokenizer && is_tiktoken_file(r->tokenizer)
                                  ? "tiktoken BPE vocabulary (Llama 3 style) selects a" : "",
                              wk_hfcfg3_version_name(co.llama3), r->model_dir, (long long)g->vocab);
        if (!co.llama3 && (g->vocab == 128256 ||
                           wk_llama_ckpt_split(r->ck, WK_LL_TOK_EMB) == WK_LL_SPLIT_ROWS))
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: looks like Llama 3 (%s), but no "
                              "tiktoken tokenizer.model says so: converting it as LLaMA 1/2 would "
                              "write wrong special-token ids and rope settings; pass "
                              "--llama_version 3, 3.1, 3.2 or 3.3", r->model_dir,
                              g->vocab == 128256 ? "a 128256-row embedding"
                                                 : "tok_embeddings split by rows across ranks");
        WK_TRY(wk_llama_ckpt_add_inputs(r->ck, r->inputs, err));
        const wk_llama_size *sz = o->model_size ? wk_llama_size_get(o->model_size) : NULL;
        if (sz && wk_llama_size_check(sz, wk_llama_ckpt_geom(r->ck), err)) return -1;
    }
    if (co.llama3) { /* transformers 4.45 is the only Llama 3 profile (llama3_opts) */
        wk_convrun_opts o3 = *o;
        o3.tf_version = NULL;
        WK_TRY(profiles(&o3, NULL, &co, &r->gqa_auto, err));
    }
    else WK_TRY(profiles(o, r->ck ? wk_llama_ckpt_geom(r->ck) : NULL, &co, &r->gqa_auto, err));
    r->c = r->ck ? wk_convert_new(r->ck, &co, err) : tokenizer_only(r->tokenizer, &co, err);
    return r->c ? 0 : -1;
}

int wk_convrun_write(wk_convrun *r, const wk_convrun_opts *o, const wk_convrun_report *rep, wk_err *err)
{
    static const wk_convrun_report none = {0};
    if (o->sha256 && !(r->digests = calloc(wk_convert_file_count(r->c), sizeof *r->digests)))
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    return write_all(r->c, o, r->inputs, r->digests, rep ? rep : &none, err);
}

void wk_convrun_close(wk_convrun *r)
{
    free(r->digests);
    wk_convert_free(r->c);
    wk_llama_close(r->ck);
    wk_inputs_free(r->inputs);
    free(r->model_dir);
    free(r->tokenizer);
    memset(r, 0, sizeof *r);
}
