/* wk_qrun.c — the quantization run: type plan, importance matrix, conversion
 * of each tensor, the output file (see wk_qrun.h).  The kernels are
 * formats/quant/wk_quant*.c, the GGUF reader and writer formats/gguf/wk_gguf.c,
 * packing of non-GGUF inputs formats/llama/wk_gguf_llama.c. */
#include "wk_qrun.h"

#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_gguf.h"
#include "wk_pack_gguf.h"
#include "wk_gguf_llama.h"
#include "wk_half.h"
#include "wk_imatrix.h"
#include "wk_io.h"
#include "wk_quant.h"
#include "wk_qstats.h"
#include "wk_sink.h"
#include "wk_source.h"

void wk_qrun_opts_init(wk_qrun_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mix.output_type = o->mix.embd_type = -1;
}

#define blck_of wk_qmix_blck

/* ---- importance matrix (wk_imatrix: llama.cpp's GGUF or legacy .dat) ----------- */

/* llama-quantize's token-embedding names: an imatrix of the wrong size for
 * them is ignored, for any other tensor it is an error. */
static int is_token_embd(const char *name)
{
    return !strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight");
}

/* 1 if the imatrix entry `name` is used under --include-weights /
 * --exclude-weights (llama-quantize's prepare_imatrix: substring matches). */
static int weights_selected(const wk_qrun_opts *o, const char *name)
{
    for (size_t i = 0; i < o->n_exclude; i++)
        if (strstr(name, o->exclude_weights[i])) return 0;
    if (!o->n_include) return 1;
    for (size_t i = 0; i < o->n_include; i++)
        if (strstr(name, o->include_weights[i])) return 1;
    return 0;
}

/* Importance weights for tensor t (ne0 * experts floats) into w: 1 if found,
 * 0 if the file has none for it (or it is not selected, or it is a token
 * embedding of the wrong size), -1 on a size mismatch or a bad value. */
static int imatrix_for(const wk_qrun_opts *o, const wk_imatrix *im, const wk_gguf_tensor *t,
                       float *w, wk_err *err)
{
    const long i = wk_imatrix_find(im, t->name);
    if (i < 0 || !weights_selected(o, t->name)) return 0;
    WK_FAIL_IF(t->n_dims > 3 && t->ne[3] > 1, err, WK_E_UNSUPPORTED, "%s: importance weights for a "
               "4-D tensor (ne[3] = %" PRId64 ") are not supported", t->name, t->ne[3]);
    const int64_t want = t->ne[0] * (t->n_dims > 2 ? t->ne[2] : 1);
    if (wk_imatrix_size_at(im, (size_t)i) != want) {
        if (is_token_embd(t->name)) return 0;
        return wk_err_set(err, WK_E_MISMATCH, "%s: imatrix size %" PRId64 " is different from "
                          "tensor size %" PRId64 " for %s", wk_imatrix_path(im),
                          wk_imatrix_size_at(im, (size_t)i), want, t->name);
    }
    WK_TRY(wk_imatrix_weights(im, (size_t)i, w, err));
    return 1;
}

/* Entries of im that --include-weights / --exclude-weights leave (0 without im). */
static size_t imatrix_selected(const wk_qrun_opts *o, const wk_imatrix *im)
{
    size_t n = 0;
    for (size_t i = 0; im && i < wk_imatrix_count(im); i++) n += weights_selected(o, wk_imatrix_name_at(im, i));
    return n;
}

/* The KVs llama-quantize records about the imatrix (its kv_overrides). */
static const char *const IMATRIX_KVS[] = { "quantize.imatrix.file", "quantize.imatrix.dataset",
                                           "quantize.imatrix.entries_count",
                                           "quantize.imatrix.chunks_count" };

static int is_imatrix_kv(const char *key)
{
    for (size_t i = 0; i < sizeof IMATRIX_KVS / sizeof IMATRIX_KVS[0]; i++)
        if (!strcmp(key, IMATRIX_KVS[i])) return 1;
    return 0;
}

/* Append them as llama-quantize does: the file name as given and the first
 * dataset (each cut to 127 bytes), the entries used, the chunk count if > 0. */
static int imatrix_kvs(wk_ggufw *w, const char *f, const wk_imatrix *im, size_t n_im, wk_err *err)
{
    WK_TRY(wk_ggufw_kv_str(w, IMATRIX_KVS[0], f, strlen(f) < 127 ? strlen(f) : 127, err));
    size_t len = 0;
    const char *ds = wk_imatrix_dataset_count(im) ? wk_imatrix_dataset_at(im, 0, &len) : NULL;
    if (ds) {
        const char *nul = memchr(ds, 0, len);   /* strncpy stops at a NUL */
        if (nul) len = (size_t)(nul - ds);
        WK_TRY(wk_ggufw_kv_str(w, IMATRIX_KVS[1], ds, len < 127 ? len : 127, err));
    }
    WK_TRY(wk_ggufw_kv_u32(w, IMATRIX_KVS[2], (uint32_t)n_im, err));
    const uint32_t chunks = wk_imatrix_chunk_count(im);
    if (chunks > 0 && chunks <= INT32_MAX) WK_TRY(wk_ggufw_kv_u32(w, IMATRIX_KVS[3], chunks, err));
    return 0;
}

/* llama.cpp's tensor_requires_imatrix for the presets weightkit has (Q2_K in
 * a Q2_K_S file): refused without an importance matrix, as llama-quantize. */
static int check_needs_imatrix(const wk_qmix_opts *mix, const wk_gguf_tensor *t, int type, wk_err *err)
{
    if (!mix->p->needs_imatrix || mix->has_imatrix || type != WK_GGML_Q2_K || type == t->type) return 0;
    if (is_token_embd(t->name) || !strcmp(t->name, "output.weight")) return 0;
    return wk_err_set(err, WK_E_USAGE, "%s: this quantization requires an importance matrix! "
                      "(target type q2_K in a %s file; give one with --imatrix)", t->name,
                      mix->p->name);
}

/* ---- conversion of one tensor ------------------------------------------------- */

typedef struct {
    double sq_err, sq_x;    /* sums over the tensor */
} t_stats;

/* The state of one run over a mapped GGUF g. */
typedef struct {
    const wk_qrun_opts *o;
    const wk_gguf *g;
    wk_imatrix *im;         /* importance matrix, or NULL */
    wk_ggufw *w;
    wk_sink os;             /* w's sink: the output file (outlives w's writes) */
    int *types;             /* output ggml type of each tensor */
    float *imat;            /* importance weights of a tensor (ne0 per expert) */
    int needs_imatrix;      /* dry run: a tensor would need an importance matrix */
    float *x;               /* a slab of input rows as float32 (when not read in place) */
    uint8_t *y;             /* a slab of output rows */
    double *row_err;        /* the slab's per-row statistics (wk_quantize_rows_stats) */
    size_t x_cap, y_cap, row_err_cap;   /* their sizes in bytes */
    uint64_t total_in, done;
} qrun;

/* 16-bit values at p (any alignment) -> float32, through an aligned bounce
 * buffer when p is odd (a GGUF with general.alignment 1 can do that). */
static int halves_to_f32(const uint8_t *p, size_t cnt, float *x, int bf16, wk_err *err)
{
    const uint16_t *h = (const uint16_t *)(const void *)p;
    uint16_t *bounce = NULL;
    if ((uintptr_t)p & 1) {
        if (!(bounce = malloc(cnt * 2))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
        memcpy(bounce, p, cnt * 2);
        h = bounce;
    }
    if (bf16) wk_bf16_to_f32_row(h, x, cnt);
    else wk_f16_to_f32_row(h, x, cnt);
    free(bounce);
    return 0;
}

/* Rows r0..r0+n of a source tensor as float32: *xp points into the map
 * itself for aligned F32 data (no copy), else into buf (converted or
 * dequantized there, or copied when the F32 data is misaligned). */
static int rows_to_f32(const wk_gguf_tensor *t, int64_t ne0, int64_t r0, int64_t n, float *buf,
                       const float **xp, int allow_requantize, wk_err *err)
{
    const size_t cnt = (size_t)(n * ne0), first = (size_t)(r0 * ne0);
    *xp = buf;
    switch (t->type) {
    case WK_GGML_F32:
        if ((uintptr_t)(t->data + first * 4) % sizeof(float) == 0)
            *xp = (const float *)(const void *)(t->data + first * 4);
        else
            memcpy(buf, t->data + first * 4, cnt * 4);
        return 0;
    case WK_GGML_F16: return halves_to_f32(t->data + first * 2, cnt, buf, 0, err);
    case WK_GGML_BF16: return halves_to_f32(t->data + first * 2, cnt, buf, 1, err);
    default: break;
    }
    const wk_qtraits *q = wk_qtraits_get(t->type);
    if (!q || !allow_requantize)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: stored as %s; %s", t->name,
                          wk_ggml_type_get(t->type) ? wk_ggml_type_get(t->type)->name : "?",
                          q ? "requantizing loses quality: pass --allow-requantize to do it anyway"
                            : "wk-quantize reads F32, F16, BF16 (and, to requantize, its own types)");
    size_t rs = wk_ggml_row_size(t->type, ne0);
    for (int64_t r = 0; r < n; r++) q->dequantize(t->data + (size_t)(r0 + r) * rs, buf + r * ne0, ne0);
    return 0;
}

/* Quantize n rows of x (ne0 columns) to type qtype into y, adding the squared error
 * and squared values to st: the row driver sums each row while it is in cache
 * (wk_quantize_rows_stats, wk_qstats.h); rows are added in row order, so the sums
 * are the same for any thread count.  row_err holds 2 * n doubles. */
static int quantize_slab(const wk_qrun_opts *o, int qtype, const wk_gguf_tensor *t,
                         const float *x, uint8_t *y, double *row_err, int64_t n, int64_t ne0,
                         const float *imat, t_stats *st, wk_err *err)
{
    wk_qopts qo = { .nthreads = o->threads, .name = t->name,
                    .kernel = o->search ? WK_QK_SEARCH : WK_QK_AUTO, .imatrix = imat };
    WK_TRY(wk_quantize_rows_stats(qtype, x, y, n, ne0, &qo, row_err, err));
    for (int64_t r = 0; r < n; r++) { st->sq_err += row_err[2 * r]; st->sq_x += row_err[2 * r + 1]; }
    return 0;
}

/* n rows of x (ne0 columns) to F16 / BF16 (out) into y, adding the squared
 * error and squared values to st, row by row by the rule of wk_qstats.h. */
static void convert_slab(int out, const float *x, uint8_t *y, int64_t n, int64_t ne0, t_stats *st)
{
    uint16_t *h = (uint16_t *)(void *)y;
    if (out == WK_GGML_F16) wk_f32_to_f16_row(x, h, (size_t)(n * ne0));
    else wk_f32_to_bf16_row(x, h, (size_t)(n * ne0));
    for (int64_t r = 0; r < n; r++) {
        double rs[2];
        wk_qstats_row_q(out, x + r * ne0, h + r * ne0, ne0, rs);
        st->sq_err += rs[0];
        st->sq_x += rs[1];
    }
}

static void progress(qrun *r)
{
    if (r->o->progress) r->o->progress(r->o->progress_ctx, r->done, r->total_in);
}

/* *p holds at least need bytes (grown, contents not kept), or -1 (WK_E_NOMEM). */
static int reserve(void **p, size_t *cap, size_t need, const char *name, wk_err *err)
{
    if (need <= *cap) return 0;
    free(*p);
    *p = malloc(need);
    *cap = *p ? need : 0;
    WK_FAIL_IF(!*p, err, WK_E_NOMEM, "%s: out of memory", name);
    return 0;
}

/* Quantize (or convert to F16/F32) tensor t to type `out` and write it,
 * slab by slab through the run's buffers (kept from tensor to tensor). */
static int write_tensor(qrun *qr, const wk_gguf_tensor *t, int out, const float *imat, t_stats *st,
                        wk_err *err)
{
    const wk_qrun_opts *o = qr->o;
    st->sq_err = st->sq_x = 0;
    if (out == t->type) {                         /* kept as is */
        WK_TRY(wk_ggufw_write(qr->w, t->data, t->nbytes, err));
        qr->done += t->nbytes;
        progress(qr);
        return 0;
    }
    const int64_t ne0 = t->ne[0];
    int64_t nel = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) nel *= t->ne[d];
    const int64_t nrows = nel / ne0;
    const wk_qtraits *q = wk_qtraits_get(out);
    const size_t out_row = q ? wk_ggml_row_size(out, ne0) : (size_t)ne0 * (out == WK_GGML_F32 ? 4 : 2);
    /* slabs of whole 16-row chunks, about 8 M values */
    int64_t slab = (8 << 20) / ne0;
    slab = slab < WK_QUANT_CHUNK_ROWS ? WK_QUANT_CHUNK_ROWS : slab / WK_QUANT_CHUNK_ROWS * WK_QUANT_CHUNK_ROWS;
    if (slab > nrows) slab = nrows;
    WK_TRY(reserve((void **)&qr->x, &qr->x_cap, sizeof(float) * (size_t)(slab * ne0), t->name, err));
    WK_TRY(reserve((void **)&qr->y, &qr->y_cap, out_row * (size_t)slab, t->name, err));
    WK_TRY(reserve((void **)&qr->row_err, &qr->row_err_cap, sizeof(double) * 2 * (size_t)slab, t->name, err));
    const uint64_t in_row = t->nbytes / (uint64_t)nrows;
    /* rows of one expert (3-D tensors): each has its own importance weights */
    const int64_t per_expert = t->n_dims > 2 ? t->ne[1] : nrows;
    for (int64_t r0 = 0, n; r0 < nrows; r0 += n) {
        n = nrows - r0 < slab ? nrows - r0 : slab;
        if (imat && n > per_expert - r0 % per_expert) n = per_expert - r0 % per_expert;
        const float *w = imat ? imat + (r0 / per_expert) * ne0 : NULL, *x;
        WK_TRY(rows_to_f32(t, ne0, r0, n, qr->x, &x, o->allow_requantize, err));
        const void *res = qr->y;
        if (q) WK_TRY(quantize_slab(o, out, t, x, qr->y, qr->row_err, n, ne0, w, st, err));
        else if (out != WK_GGML_F32) convert_slab(out, x, qr->y, n, ne0, st);
        else res = x;                             /* F16/BF16 -> F32: the values as read */
        int wr = wk_ggufw_write(qr->w, res, out_row * (size_t)n, err);
        /* these input rows are done with: their pages leave the resident set
         * (docs/pack.md "Memory"); after the write, as res may point into the map */
        wk_map_release(t->data + (size_t)r0 * (size_t)in_row, (uint64_t)n * in_row);
        qr->done += in_row * (uint64_t)n;
        progress(qr);
        WK_TRY(wr);
    }
    return 0;
}

/* ---- the file ------------------------------------------------------------------- */

int wk_qrun_kv_parse(const char *arg, wk_qrun_kv *kv, wk_err *err)
{
    memset(kv, 0, sizeof *kv);
    const char *sep = strchr(arg, '=');
    WK_FAIL_IF(!sep || sep == arg || sep - arg >= 128, err, WK_E_USAGE,
               "--override-kv '%s': malformed (KEY=TYPE:VALUE, KEY 1..127 bytes)", arg);
    memcpy(kv->key, arg, (size_t)(sep - arg));
    const char *v = sep + 1;
    char *end = NULL;
    if (!strncmp(v, "int:", 4)) {
        kv->tag = WK_QRUN_KV_INT;
        kv->i = strtoll(v + 4, &end, 10);
        WK_FAIL_IF(!v[4] || *end || kv->i > (int64_t)UINT32_MAX || kv->i < -(int64_t)UINT32_MAX, err,
                   WK_E_USAGE, "--override-kv '%s': not an integer of at most 32 bits", arg);
    } else if (!strncmp(v, "float:", 6)) {
        kv->tag = WK_QRUN_KV_FLOAT;
        kv->f = strtod(v + 6, &end);
        WK_FAIL_IF(!v[6] || *end || !isfinite(kv->f), err, WK_E_USAGE,
                   "--override-kv '%s': not a finite number", arg);
    } else if (!strncmp(v, "bool:", 5)) {
        kv->tag = WK_QRUN_KV_BOOL;
        WK_FAIL_IF(strcmp(v + 5, "true") && strcmp(v + 5, "false"), err, WK_E_USAGE,
                   "--override-kv '%s': invalid boolean value (true or false)", arg);
        kv->b = !strcmp(v + 5, "true");
    } else if (!strncmp(v, "str:", 4)) {
        kv->tag = WK_QRUN_KV_STR;
        WK_FAIL_IF(strlen(v + 4) > 127, err, WK_E_USAGE,
                   "--override-kv '%s': value cannot exceed 127 chars", arg);
        memcpy(kv->str, v + 4, strlen(v + 4));
    } else {
        return wk_err_set(err, WK_E_USAGE, "--override-kv '%s': invalid type (int, float, bool, str)",
                          arg);
    }
    return 0;
}

/* 1 if --override-kv sets key (so the input's or our own value goes). */
static int overridden(const wk_qrun_opts *o, const char *key)
{
    for (size_t i = 0; i < o->n_kv_overrides; i++)
        if (!strcmp(o->kv_overrides[i].key, key)) return 1;
    return 0;
}

/* Append the overrides as llama_model_quantize does (gguf_set_val_*: a key
 * set again moves to the end): each at the place of its last setting, the
 * imatrix KVs (n_im > 0) after the user's. */
static int write_overrides(wk_ggufw *w, const wk_qrun_opts *o, size_t n_im, wk_err *err)
{
    for (size_t i = 0; i < o->n_kv_overrides; i++) {
        const wk_qrun_kv *kv = &o->kv_overrides[i];
        int later = n_im && is_imatrix_kv(kv->key);
        for (size_t j = i + 1; j < o->n_kv_overrides && !later; j++)
            later = !strcmp(o->kv_overrides[j].key, kv->key);
        if (later) continue;
        switch (kv->tag) {
        case WK_QRUN_KV_INT:
            WK_TRY(wk_ggufw_kv_u32(w, kv->key, (uint32_t)(kv->i < 0 ? -kv->i : kv->i), err));
            break;
        case WK_QRUN_KV_FLOAT: WK_TRY(wk_ggufw_kv_f32(w, kv->key, (float)kv->f, err)); break;
        case WK_QRUN_KV_BOOL: WK_TRY(wk_ggufw_kv_bool(w, kv->key, kv->b, err)); break;
        case WK_QRUN_KV_STR: WK_TRY(wk_ggufw_kv_str(w, kv->key, kv->str, strlen(kv->str), err)); break;
        }
    }
    return 0;
}

/* KVs that the output must not copy: recomputed (file type, quantization
 * version), wrong after quantization (weightkit digests), or split keys. */
static int skip_kv(const char *key)
{
    return !strcmp(key, "general.file_type") || !strcmp(key, "general.quantization_version")
        || !strncmp(key, "weightkit.digest.", 17) || !strncmp(key, "split.", 6);
}

static const char *type_name(int ggml)
{
    const wk_ggml_type_info *ti = wk_ggml_type_get(ggml);
    return ti ? ti->name : "?";
}

/* The output's KVs and tensor directory: g's KVs (but skip_kv's), the file
 * type, and each tensor with the type the mix chooses (into qr->types). */
static int plan_file(qrun *qr, wk_err *err)
{
    const wk_qrun_opts *o = qr->o;
    const wk_gguf *g = qr->g;
    const size_t nt = wk_gguf_tensor_count(g);
    wk_qmix_state ms;
    wk_qmix_state_init(&ms, g);
    /* llama.cpp's mixes differ per architecture (Falcon, expert models, model sizes):
     * only the ones reproduced are mixed (a pure run has no mix) */
    if (!ms.arch && !o->mix.pure) {
        const char *a = NULL;
        size_t al = 0;
        wk_err e;
        if (wk_gguf_get_str(g, "general.architecture", &a, &al, &e)) a = "", al = 0;
        WK_FAIL_IF(1, err, WK_E_UNSUPPORTED, "%s: general.architecture \"%.*s\": llama.cpp's type mix for "
                   "it is not reproduced (llama, qwen2); use --pure for one type everywhere",
                   o->input, (int)(al > 64 ? 64 : al), a);
    }
    const size_t n_im = imatrix_selected(o, qr->im);
    wk_qmix_opts mix = o->mix;
    mix.has_imatrix = n_im > 0;   /* llama-quantize passes no imatrix when none is left */
    for (size_t i = 0; i < wk_gguf_kv_count(g); i++) {
        const char *key = wk_gguf_kv_at(g, i)->key;
        if (!skip_kv(key) && !(n_im && is_imatrix_kv(key)) && !overridden(o, key))
            WK_TRY(wk_ggufw_kv_copy(qr->w, g, i, err));
    }
    if (!overridden(o, "general.quantization_version"))
        WK_TRY(wk_ggufw_kv_u32(qr->w, "general.quantization_version", WK_QRUN_QNT_VERSION, err));
    if (!overridden(o, "general.file_type"))
        WK_TRY(wk_ggufw_kv_u32(qr->w, "general.file_type", o->mix.p->ftype, err));
    WK_TRY(write_overrides(qr->w, o, n_im, err));
    if (n_im) WK_TRY(imatrix_kvs(qr->w, o->imatrix, qr->im, n_im, err));
    for (size_t i = 0; i < nt; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        qr->types[i] = wk_qmix_choose(&mix, &ms, t);
        if (check_needs_imatrix(&mix, t, qr->types[i], err)) {
            if (!o->dry_run) return -1;
            qr->needs_imatrix = 1;   /* llama-quantize --dry-run: a warning */
        }
        /* only an explicit type can get here */
        WK_FAIL_IF(t->ne[0] % blck_of(qr->types[i]), err, WK_E_USAGE,
                   "%s: %" PRId64 " columns are not whole %s blocks of %d; "
                   "choose another --output-tensor-type / --token-embedding-type", t->name,
                   t->ne[0], type_name(qr->types[i]), blck_of(qr->types[i]));
        if (wk_ggufw_add_tensor(qr->w, t->name, qr->types[i], (int)t->n_dims, t->ne, err) < 0) return -1;
    }
    return 0;
}

/* Tensor i: importance weights (if any), conversion, the tensor hook; adds
 * it to tot and to the squared sums all[0] (error), all[1] (values). */
static int do_tensor(qrun *qr, size_t i, wk_qrun_total *tot, double all[2], wk_err *err)
{
    const wk_gguf_tensor *t = wk_gguf_tensor_at(qr->g, i);
    const float *wv = NULL;
    if (qr->im && wk_qtraits_get(qr->types[i])) {
        const int64_t nw_vals = t->ne[0] * (t->n_dims > 2 ? t->ne[2] : 1);
        float *nw = realloc(qr->imat, sizeof(float) * (size_t)nw_vals);
        WK_FAIL_IF(!nw, err, WK_E_NOMEM, "out of memory");
        qr->imat = nw;
        int f = imatrix_for(qr->o, qr->im, t, qr->imat, err);
        if (f < 0) return -1;
        wv = f ? qr->imat : NULL;
    }
    t_stats st;
    WK_TRY(write_tensor(qr, t, qr->types[i], wv, &st, err));
    wk_map_release(t->data, t->nbytes);   /* done with the input's pages (docs/pack.md "Memory") */
    uint64_t ob = wk_ggufw_tensor_nbytes(qr->w, i);
    int64_t nel = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) nel *= t->ne[d];
    tot->params += (uint64_t)nel;
    tot->bytes_out += ob;
    all[0] += st.sq_err;
    all[1] += st.sq_x;
    const int has_rel = st.sq_x > 0 && qr->types[i] != t->type;
    wk_qrun_row row = { .name = t->name, .from = type_name(t->type), .to = type_name(qr->types[i]),
                        .bytes_in = t->nbytes, .bytes_out = ob, .has_rel = has_rel,
                        .rel_rmse = has_rel ? sqrt(st.sq_err / st.sq_x) : 0.0, .imatrix = wv != NULL };
    return qr->o->tensor ? qr->o->tensor(qr->o->ctx, &row, err) : 0;
}

/* Set up the output: *out opened on o->output (inputs: the files it must
 * not overwrite — checked before the imatrix is parsed), the importance
 * matrix, qr->types, qr->w with the plan, begun. */
static int open_file(qrun *qr, const wk_inputs *inputs, wk_out **out, wk_err *err)
{
    const size_t nt = wk_gguf_tensor_count(qr->g);
    qr->types = calloc(nt ? nt : 1, sizeof *qr->types);
    WK_FAIL_IF(!qr->types, err, WK_E_NOMEM, "out of memory");
    if (!qr->o->dry_run && !(*out = wk_out_open(qr->o->output, inputs, err))) return -1;
    if (qr->o->imatrix && !(qr->im = wk_imatrix_open(qr->o->imatrix, err)))
        return wk_err_prefix(err, "--imatrix");
    if (!(qr->w = wk_ggufw_new(wk_gguf_alignment(qr->g), err))) return -1;
    WK_TRY(plan_file(qr, err));
    if (qr->o->dry_run) return 0;
    return wk_ggufw_begin(qr->w, wk_sink_out(&qr->os, *out), err);
}

/* --dry-run: every tensor's plan through the hook, the totals. */
static int dry_run(qrun *qr, wk_qrun_total *tot, wk_err *err)
{
    const size_t nt = wk_gguf_tensor_count(qr->g);
    if (qr->o->begin) qr->o->begin(qr->o->ctx);
    for (size_t i = 0; i < nt; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(qr->g, i);
        int64_t nel = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) nel *= t->ne[d];
        const uint64_t ob = wk_ggufw_tensor_nbytes(qr->w, i);
        tot->params += (uint64_t)nel;
        tot->bytes_out += ob;
        const int im = qr->im && wk_qtraits_get(qr->types[i]) && wk_imatrix_find(qr->im, t->name) >= 0
                       && weights_selected(qr->o, t->name);
        wk_qrun_row row = { .name = t->name, .from = type_name(t->type), .to = type_name(qr->types[i]),
                            .bytes_in = t->nbytes, .bytes_out = ob, .imatrix = im };
        if (qr->o->tensor) WK_TRY(qr->o->tensor(qr->o->ctx, &row, err));
    }
    tot->tensors = nt;
    tot->bytes_in = qr->total_in;
    tot->bits_per_weight = tot->params ? 8.0 * (double)tot->bytes_out / (double)tot->params : 0.0;
    tot->file_size = wk_ggufw_total_size(qr->w);
    tot->needs_imatrix = qr->needs_imatrix;
    return 0;
}

/* Write every tensor through qr->w (begun); *tot on success. */
static int write_file(qrun *qr, wk_qrun_total *tot, wk_err *err)
{
    const size_t nt = wk_gguf_tensor_count(qr->g);
    double all[2] = { 0, 0 };
    if (qr->o->begin) qr->o->begin(qr->o->ctx);
    for (size_t i = 0; i < nt; i++) WK_TRY(do_tensor(qr, i, tot, all, err));
    WK_TRY(wk_ggufw_finish(qr->w, err));
    tot->tensors = nt;
    tot->bytes_in = qr->total_in;
    tot->bits_per_weight = tot->params ? 8.0 * (double)tot->bytes_out / (double)tot->params : 0.0;
    tot->rel_rmse = all[1] > 0 ? sqrt(all[0] / all[1]) : 0.0;
    tot->file_size = wk_ggufw_total_size(qr->w);
    return 0;
}

/* Quantize g into o->output; inputs are the files read (the output must not
 * be one of them; they must not change before the commit), the imatrix is
 * added.  Progress starts at 0 of the total once the importance matrix is
 * open, even if the setup fails. */
/* --keep-split: the staged single file out (not committed) re-written as a
 * set with the parts of the input set src, then out removed. */
static int commit_split(const wk_qrun_opts *o, wk_out *out, const wk_source *src, wk_qrun_total *tot, wk_err *err)
{
    const char *staged = wk_out_staged(out, err);
    wk_source *q = staged ? wk_source_open(staged, o->threads, err) : NULL;
    wk_pack_gguf_opts po = {.output = o->output, .keep_split = 1, .layout_src = src};
    wk_pack_gguf_result r;
    int rc = q ? wk_pack_gguf_run(&po, q, &r, err) : -1;
    if (!rc) tot->file_size = r.bytes;
    wk_source_close(q);
    wk_out_abort(out);
    return rc;
}

static int quantize_gguf(const wk_qrun_opts *o, const wk_gguf *g, const wk_source *src, wk_qrun_total *tot,
                         wk_err *err)
{
    wk_inputs *inputs = wk_source_inputs(src);
    const size_t nt = wk_gguf_tensor_count(g);
    qrun qr = { .o = o, .g = g };
    wk_out *out = NULL;
    int rc = -1;
    if (o->imatrix && wk_inputs_add(inputs, o->imatrix, err)) return wk_err_prefix(err, "--imatrix");
    const int setup = open_file(&qr, inputs, &out, err);
    for (size_t i = 0; i < nt; i++) qr.total_in += wk_gguf_tensor_at(g, i)->nbytes;
    if (!o->dry_run) progress(&qr);
    WK_TRY_GOTO(setup, done);
    if (o->dry_run) {
        rc = dry_run(&qr, tot, err);
        goto done;
    }
    WK_TRY_GOTO(write_file(&qr, tot, err), done);
    rc = o->keep_split && wk_source_file_count(src) > 1 ? commit_split(o, out, src, tot, err)
                                                        : wk_out_commit(out, err);
    out = NULL;
done:
    if (out) wk_out_abort(out);
    free(qr.imat);
    free(qr.x);
    free(qr.y);
    free(qr.row_err);
    free(qr.types);
    wk_ggufw_free(qr.w);
    wk_imatrix_close(qr.im);
    return rc;
}

/* A non-GGUF input: pack it (as wk-pack, types kept) into a temporary of the
 * output (*stage: unique, owned by this run, removed by wk_out_abort, by the
 * signal cleanup, or found stale by a later run) and map that. */
static wk_gguf *pack_first(const wk_qrun_opts *o, wk_source *src, wk_out **stage, wk_err *err)
{
    wk_gl_opts go;
    wk_gl_opts_init(&go);
    go.threads = o->threads;
    go.digests = 0;
    go.allow_nonfinite = 1;   /* the quantizer refuses NaN/Inf itself, naming the block */
    wk_gl *p = wk_gl_plan_new(src, &go, NULL, NULL, err);
    if (!p) return NULL;
    wk_sink os;
    const char *path = NULL;
    *stage = wk_out_open(o->output, wk_source_inputs(src), err);
    int rc = *stage ? wk_gl_write(p, wk_sink_out(&os, *stage), NULL, NULL, err) : -1;
    if (rc == 0 && !(path = wk_out_staged(*stage, err))) rc = -1;
    wk_gl_free(p);
    return rc ? NULL : wk_gguf_open(path, err);
}

int wk_qrun_run(const wk_qrun_opts *o, wk_qrun_total *tot, wk_err *err)
{
    memset(tot, 0, sizeof *tot);
    wk_source *src = wk_source_open(o->input, o->threads, err);
    if (!src) return -1;
    wk_out *stage = NULL;
    wk_gguf *g;
    if (wk_source_kind_of(src) == WK_SOURCE_GGUF && wk_source_file_count(src) == 1) {
        g = wk_gguf_open(wk_source_file(src, 0), err);
    } else if (o->dry_run) {
        g = NULL;
        wk_err_set(err, WK_E_UNSUPPORTED, "%s: --dry-run needs a GGUF input (this is %s; pack it "
                   "with wk-pack first)", o->input, wk_source_kind_name(wk_source_kind_of(src)));
    } else {
        if (o->packing) o->packing(o->ctx, o->input, wk_source_kind_name(wk_source_kind_of(src)));
        g = pack_first(o, src, &stage, err);
    }
    int rc = g ? quantize_gguf(o, g, src, tot, err) : -1;
    wk_gguf_close(g);
    wk_out_abort(stage);
    wk_source_close(src);
    return rc;
}
