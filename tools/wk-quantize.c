/* wk-quantize — quantize a model to ggml block types (Q4_0 … Q8_0, Q4_K, Q5_K,
 * Q6_K and the K-mixes q4_k_m / q5_k_m …), bit-compatible with llama-quantize.
 * A thin main: the per-tensor type policy (llama-quantize's, for LLaMA),
 * reading, reporting; the kernels are formats/quant/wk_quant*.c, the GGUF reader and
 * writer formats/gguf/wk_gguf.c, packing of non-GGUF inputs formats/llama/wk_gguf_llama.c.
 * See docs/quantize.md. */
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "wk_cli.h"
#include "wk_gguf.h"
#include "wk_gguf_llama.h"
#include "wk_half.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_progress.h"
#include "wk_quant.h"
#include "wk_sink.h"
#include "wk_source.h"
#include "wk_threads.h"

#define GGML_QNT_VERSION 2

/* ---- presets: llama-quantize's names and llama_ftype numbers ------------------ */
typedef enum { MIX_NONE, MIX_K_S, MIX_K_M } mix_kind;

typedef struct {
    const char *name;
    uint32_t ftype;     /* general.file_type (llama_ftype) */
    wk_qtype type;      /* default type of eligible tensors */
    mix_kind mix;
    const char *desc;
} preset;

static const preset PRESETS[] = {
    { "q4_0", 2, WK_QT_Q4_0, MIX_NONE, "4.5 bpw, legacy" },
    { "q4_1", 3, WK_QT_Q4_1, MIX_NONE, "5.0 bpw, legacy" },
    { "q5_0", 8, WK_QT_Q5_0, MIX_NONE, "5.5 bpw, legacy" },
    { "q5_1", 9, WK_QT_Q5_1, MIX_NONE, "6.0 bpw, legacy" },
    { "q8_0", 7, WK_QT_Q8_0, MIX_NONE, "8.5 bpw" },
    { "q4_k_s", 14, WK_QT_Q4_K, MIX_K_S, "Q4_K, a few tensors Q5_K" },
    { "q4_k_m", 15, WK_QT_Q4_K, MIX_K_M, "Q4_K, half of attn_v/ffn_down Q6_K" },
    { "q4_k", 15, WK_QT_Q4_K, MIX_K_M, "alias of q4_k_m (as llama-quantize)" },
    { "q5_k_s", 16, WK_QT_Q5_K, MIX_K_S, "Q5_K" },
    { "q5_k_m", 17, WK_QT_Q5_K, MIX_K_M, "Q5_K, half of attn_v/ffn_down Q6_K" },
    { "q5_k", 17, WK_QT_Q5_K, MIX_K_M, "alias of q5_k_m (as llama-quantize)" },
    { "q6_k", 18, WK_QT_Q6_K, MIX_NONE, "6.56 bpw" },
};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

static const preset *find_preset(const char *s)
{
    char low[16];
    size_t n = strlen(s);
    if (n >= sizeof low) return NULL;
    for (size_t i = 0; i <= n; i++) low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    for (size_t i = 0; i < NPRESETS; i++)
        if (!strcmp(low, PRESETS[i].name)) return &PRESETS[i];
    return NULL;
}

typedef struct {
    wk_cli_std_opts std;
    const char *input, *output, *imatrix;
    const preset *p;
    int search, pure, allow_requantize, leave_output;
    int output_type, embd_type;   /* ggml ids of --output-tensor-type / --token-embedding-type, -1 unset */
} q_opts;

static void usage(void)
{
    printf(
"usage: wk-quantize INPUT OUTPUT TYPE [options]\n"
"\n"
"  Quantize a model to ggml block types, writing a GGUF that llama.cpp loads.\n"
"  By default the bytes are exactly those of llama-quantize (ggml's reference\n"
"  quantizers, llama-quantize's per-tensor types).  INPUT is a GGUF file (F32,\n"
"  F16 or BF16 weights), or anything wk-pack reads (HF or Meta directory, .pth,\n"
"  .safetensors), which is packed first into a temporary GGUF next to OUTPUT.\n"
"  OUTPUT is written atomically (temporary file, fsync, rename).\n"
"\n"
"TYPE:\n");
    for (size_t i = 0; i < NPRESETS; i++)
        printf("  %-7s llama_ftype %2u  %s\n", PRESETS[i].name, (unsigned)PRESETS[i].ftype,
               PRESETS[i].desc);
    printf(
"\n"
"options:\n"
"  --search             choose each block's scales (and mins) to minimise its squared\n"
"                       error (same layouts; not byte-identical to llama-quantize)\n"
"  --imatrix FILE       with --search: weight the error by llama.cpp's importance\n"
"                       matrix (GGUF imatrix file from llama-imatrix)\n"
"  --pure               every eligible tensor gets TYPE (no K-mix, no Q6_K output)\n"
"  --output-tensor-type T    type of output.weight (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1\n"
"                       q8_0 q4_k q5_k q6_k); also of token_embd.weight when tied\n"
"  --token-embedding-type T  type of token_embd.weight (same types)\n"
"  --leave-output-tensor  keep output.weight's type\n"
"  --allow-requantize   accept inputs whose weights are already quantized\n"
"  -j, --threads N      threads (default: all cores); output is the same for any N\n"
"  -q, --quiet          no per-tensor table and summary\n"
"  --json               print a JSON report on stdout instead of the table\n"
"  --progress, --no-progress   progress bar on stderr (default: if a TTY)\n"
"  -h, --help, -V, --version\n");
}

/* ggml id of a tensor type name as llama-quantize's parse_ggml_type takes it
 * (case-insensitive ggml_type_name), among those wk-quantize writes; -1 if not. */
static int parse_tensor_type(const char *s)
{
    static const struct { const char *name; int id; } FLOATS[] = {
        { "f32", WK_GGML_F32 }, { "f16", WK_GGML_F16 }, { "bf16", WK_GGML_BF16 } };
    for (size_t i = 0; i < sizeof FLOATS / sizeof FLOATS[0]; i++)
        if (!strcasecmp(s, FLOATS[i].name)) return FLOATS[i].id;
    const wk_qtraits *q = wk_qtraits_by_name(s);
    return q ? q->ggml_type : -1;
}

static int parse_args(q_opts *o, int argc, char **argv, int *exit_now, wk_err *err)
{
    const char *pos[3];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        int help = 0, version = 0;
        int r = wk_cli_std(&o->std, argc, argv, &i, &help, &version, err);
        if (r < 0) return -1;
        if (help || version) {
            if (help) usage();
            else wk_cli_print_version(o->std.prog);
            *exit_now = 1;
            return 0;
        }
        if (r) continue;
        const char *a = argv[i];
        if (!strcmp(a, "--search")) o->search = 1;
        else if (!strcmp(a, "--pure")) o->pure = 1;
        else if (!strcmp(a, "--leave-output-tensor")) o->leave_output = 1;
        else if (!strcmp(a, "--allow-requantize")) o->allow_requantize = 1;
        else if (!strcmp(a, "--output-tensor-type") || !strcmp(a, "--token-embedding-type")) {
            if (i + 1 >= argc) return wk_err_set(err, WK_E_USAGE, "%s needs a type", a);
            int t = parse_tensor_type(argv[++i]);
            if (t < 0)
                return wk_err_set(err, WK_E_USAGE, "%s: unknown or unsupported type \"%s\" (wk-quantize "
                                  "writes f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q5_k q6_k)", a, argv[i]);
            *(a[2] == 'o' ? &o->output_type : &o->embd_type) = t;
        } else if (!strcmp(a, "--imatrix")) {
            if (i + 1 >= argc) return wk_err_set(err, WK_E_USAGE, "--imatrix needs a file");
            o->imatrix = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return wk_err_set(err, WK_E_USAGE, "unknown option %s (see --help)", a);
        } else {
            if (npos == 3) return wk_err_set(err, WK_E_USAGE, "too many arguments (INPUT OUTPUT TYPE expected)");
            pos[npos++] = a;
        }
    }
    if (npos != 3) return wk_err_set(err, WK_E_USAGE, "INPUT OUTPUT TYPE expected (see --help)");
    o->input = pos[0];
    o->output = pos[1];
    if (!(o->p = find_preset(pos[2])))
        return wk_err_set(err, WK_E_USAGE, "unknown TYPE \"%s\" (see --help for the list)", pos[2]);
    if (o->imatrix && !o->search)
        return wk_err_set(err, WK_E_USAGE, "--imatrix is used by --search only (the default mode is "
                          "ggml's reference quantizer, which has no importance weights)");
    return 0;
}

/* ---- per-tensor type policy (llama-quantize's llama_tensor_get_type, LLaMA) ---- */

typedef struct {
    int n_attn_v, n_ffn_down, i_attn_v, i_ffn_down, n_layer, tied;
} mix_state;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* tensor_allows_quantization: >= 2 dims, "*weight", not a norm or a router. */
static int eligible(const wk_gguf_tensor *t)
{
    if (t->n_dims < 2) return 0;
    const char *n = t->name;
    return ends_with(n, "weight") && !strstr(n, "_norm.weight") && !strstr(n, "ffn_gate_inp.weight")
        && !strstr(n, "altup") && !strstr(n, "laurel") && !strstr(n, "per_layer_model_proj");
}

static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static int blck_of(int ggml) { const wk_qtraits *q = wk_qtraits_by_ggml(ggml); return q ? q->blck : 1; }

/* Output type for tensor t (a ggml id), updating the mix counters.  The
 * order is llama-quantize's (llama_tensor_get_type): --leave-output-tensor
 * (output.weight only), then the explicit --token-embedding-type and
 * --output-tensor-type (taken as given, no fallback), then the mix. */
static int choose_type(const q_opts *o, mix_state *ms, const wk_gguf_tensor *t)
{
    if (!eligible(t)) return t->type;
    const char *n = t->name;
    if (o->leave_output && !strcmp(n, "output.weight")) return t->type;
    if (o->embd_type >= 0 && !strcmp(n, "token_embd.weight")) return o->embd_type;
    if (o->output_type >= 0 && !strcmp(n, "output.weight")) return o->output_type;
    int type = wk_qtraits_get(o->p->type)->ggml_type;
    const int is_output = !strcmp(n, "output.weight") || (ms->tied && !strcmp(n, "token_embd.weight"));
    if (!o->pure) {
        if (is_output) {
            if (o->output_type >= 0) type = o->output_type;   /* tied token_embd */
            else if (t->ne[0] % blck_of(type)) type = WK_GGML_Q8_0;
            else if (type != WK_GGML_Q8_0) type = WK_GGML_Q6_K;
        } else if (strstr(n, "attn_v.weight")) {
            if (o->p->mix == MIX_K_M && use_more_bits(ms->i_attn_v, ms->n_attn_v)) type = WK_GGML_Q6_K;
            else if (o->p->mix == MIX_K_S && o->p->type == WK_QT_Q4_K && ms->i_attn_v < 4) type = WK_GGML_Q5_K;
            if (ms->n_layer == 80 && type == WK_GGML_Q4_K) type = WK_GGML_Q5_K;   /* LLaMA 70B */
            ms->i_attn_v++;
        } else if (strstr(n, "ffn_down")) {
            int i = ms->i_ffn_down++, nl = ms->n_ffn_down;
            if (o->p->mix == MIX_K_M && use_more_bits(i, nl)) type = WK_GGML_Q6_K;
            else if (o->p->mix == MIX_K_S && o->p->type == WK_QT_Q4_K && i < nl / 8) type = WK_GGML_Q5_K;
        } else if (strstr(n, "attn_qkv.weight") && o->p->mix == MIX_K_M) {
            type = o->p->type == WK_QT_Q4_K ? WK_GGML_Q5_K : WK_GGML_Q6_K;
        }
    }
    /* tensor_type_fallback: a row that is not whole blocks */
    if (t->ne[0] % blck_of(type)) {
        type = type == WK_GGML_Q4_K ? WK_GGML_Q5_0 : type == WK_GGML_Q5_K ? WK_GGML_Q5_1
             : type == WK_GGML_Q6_K ? WK_GGML_Q8_0 : WK_GGML_F16;
        if (t->ne[0] % blck_of(type)) type = WK_GGML_F16;
    }
    return type;
}

/* ---- importance matrix (GGUF imatrix: <tensor>.in_sum2 / <tensor>.counts) ------ */

/* imatrix for tensor `name` with ne0 columns into w (ne0 floats): in_sum2 / counts
 * (counts 0 -> 1, as llama-quantize).  1 if found, 0 if the file has none for it,
 * -1 on a malformed entry. */
static int imatrix_for(const wk_gguf *im, const char *name, int64_t ne0, float *w, wk_err *err)
{
    char key[160];
    snprintf(key, sizeof key, "%s.in_sum2", name);
    long si = wk_gguf_find_tensor(im, key);
    snprintf(key, sizeof key, "%s.counts", name);
    long ci = wk_gguf_find_tensor(im, key);
    if (si < 0 || ci < 0) return 0;
    const wk_gguf_tensor *s = wk_gguf_tensor_at(im, (size_t)si), *c = wk_gguf_tensor_at(im, (size_t)ci);
    if (s->type != WK_GGML_F32 || c->type != WK_GGML_F32 || c->nbytes < 4 || s->nbytes < (uint64_t)ne0 * 4)
        return wk_err_set(err, WK_E_FORMAT, "%s: imatrix entry for %s is not F32 of %" PRId64 " values",
                          wk_gguf_path(im), name, ne0);
    float count;
    memcpy(&count, c->data, 4);
    for (int64_t i = 0; i < ne0; i++) {
        float v;
        memcpy(&v, s->data + 4 * i, 4);
        w[i] = count > 0 ? v / count : 1.0f;
        if (!(w[i] >= 0) || !isfinite(w[i]))
            return wk_err_set(err, WK_E_FORMAT, "%s: imatrix entry for %s: column %" PRId64 " has weight %g "
                              "(must be finite and >= 0)", wk_gguf_path(im), name, i, (double)w[i]);
    }
    return 1;
}

/* ---- conversion of one tensor ------------------------------------------------- */

typedef struct {
    double sq_err, sq_x;    /* sums over the tensor */
} t_stats;

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

/* Rows r0..r0+n of a source tensor as float32 into x. */
static int rows_to_f32(const wk_gguf_tensor *t, int64_t ne0, int64_t r0, int64_t n, float *x,
                       int allow_requantize, wk_err *err)
{
    const size_t cnt = (size_t)(n * ne0), first = (size_t)(r0 * ne0);
    switch (t->type) {
    case WK_GGML_F32: memcpy(x, t->data + first * 4, cnt * 4); return 0;
    case WK_GGML_F16: return halves_to_f32(t->data + first * 2, cnt, x, 0, err);
    case WK_GGML_BF16: return halves_to_f32(t->data + first * 2, cnt, x, 1, err);
    default: break;
    }
    const wk_qtraits *q = wk_qtraits_by_ggml(t->type);
    if (!q || !allow_requantize)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: stored as %s; %s", t->name,
                          wk_ggml_type_get(t->type) ? wk_ggml_type_get(t->type)->name : "?",
                          q ? "requantizing loses quality: pass --allow-requantize to do it anyway"
                            : "wk-quantize reads F32, F16, BF16 (and, to requantize, its own types)");
    size_t rs = wk_quant_row_size(q, ne0);
    for (int64_t r = 0; r < n; r++) q->dequantize(t->data + (size_t)(r0 + r) * rs, x + r * ne0, ne0);
    return 0;
}

/* Quantize (or convert to F16/F32) tensor t to type `out` and write it. */
static int write_tensor(const q_opts *o, wk_ggufw *w, const wk_gguf_tensor *t, int out,
                        const float *imat, t_stats *st, wk_progress *bar, uint64_t *done, wk_err *err)
{
    st->sq_err = st->sq_x = 0;
    if (out == t->type) {                         /* kept as is */
        WK_TRY(wk_ggufw_write(w, t->data, t->nbytes, err));
        *done += t->nbytes;
        wk_progress_update(bar, *done);
        return 0;
    }
    const int64_t ne0 = t->ne[0];
    int64_t nel = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) nel *= t->ne[d];
    const int64_t nrows = nel / ne0;
    const wk_qtraits *q = wk_qtraits_by_ggml(out);
    const size_t out_row = q ? wk_quant_row_size(q, ne0) : (size_t)ne0 * (out == WK_GGML_F32 ? 4 : 2);
    /* slabs of whole 16-row chunks, about 8 M values */
    int64_t slab = (8 << 20) / ne0;
    slab = slab < WK_QUANT_CHUNK_ROWS ? WK_QUANT_CHUNK_ROWS : slab / WK_QUANT_CHUNK_ROWS * WK_QUANT_CHUNK_ROWS;
    if (slab > nrows) slab = nrows;
    float *x = malloc(sizeof(float) * (size_t)(slab * ne0));
    uint8_t *y = malloc(out_row * (size_t)slab);
    double *row_err = malloc(sizeof(double) * 2 * (size_t)slab);
    int rc = x && y && row_err ? 0 : wk_err_set(err, WK_E_NOMEM, "%s: out of memory", t->name);
    const uint64_t in_row = t->nbytes / (uint64_t)nrows;
    for (int64_t r0 = 0; !rc && r0 < nrows; r0 += slab) {
        const int64_t n = nrows - r0 < slab ? nrows - r0 : slab;
        rc = rows_to_f32(t, ne0, r0, n, x, o->allow_requantize, err);
        if (rc) break;
        if (q) {
            wk_qopts qo = { .nthreads = o->std.threads, .name = t->name,
                            .kernel = o->search ? WK_QK_SEARCH : WK_QK_AUTO, .imatrix = imat };
            rc = wk_quantize_rows(q, x, y, n, ne0, &qo, err);
            if (rc) break;
            /* errors per row, summed in row order: the same for any thread count */
#pragma omp parallel for schedule(static) num_threads(o->std.threads > 0 ? o->std.threads : omp_get_max_threads())
            for (int64_t r = 0; r < n; r++) {
                const float *xr = x + r * ne0;
                double sx = 0;
                for (int64_t i = 0; i < ne0; i++) sx += (double)xr[i] * xr[i];
                row_err[2 * r] = wk_quant_sq_error(q, xr, y + (size_t)r * out_row, ne0, NULL);
                row_err[2 * r + 1] = sx;
            }
            for (int64_t r = 0; r < n; r++) { st->sq_err += row_err[2 * r]; st->sq_x += row_err[2 * r + 1]; }
        } else if (out == WK_GGML_F16 || out == WK_GGML_BF16) {
            uint16_t *h = (uint16_t *)(void *)y;
            if (out == WK_GGML_F16) wk_f32_to_f16_row(x, h, (size_t)(n * ne0));
            else wk_f32_to_bf16_row(x, h, (size_t)(n * ne0));
            for (int64_t i = 0; i < n * ne0; i++) {
                double d = (double)x[i] - (out == WK_GGML_F16 ? wk_f16_to_f32(h[i]) : wk_bf16_to_f32(h[i]));
                st->sq_err += d * d;
                st->sq_x += (double)x[i] * x[i];
            }
        } else {
            memcpy(y, x, sizeof(float) * (size_t)(n * ne0));
        }
        rc = wk_ggufw_write(w, y, out_row * (size_t)n, err);
        *done += in_row * (uint64_t)n;
        wk_progress_update(bar, *done);
    }
    free(x);
    free(y);
    free(row_err);
    return rc;
}

/* ---- the file ------------------------------------------------------------------- */

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

/* Append to the --json report: SET(obj, key, value) while rc is 0. */
#define SET(obj, k, v) do { if (rc == 0) rc = wk_json_object_append((obj), (k), (v), jerr); } while (0)

/* Quantize g into o->output.  The table and summary go to stdout unless -q or
 * --json; with rep (--json) "tensors" and "total" are appended to it instead. */
static int quantize_gguf(const q_opts *o, const wk_gguf *g, const char **inputs, wk_json *rep, wk_err *err)
{
    wk_err *jerr = err;
    const size_t nt = wk_gguf_tensor_count(g);
    mix_state ms = { 0 };
    ms.tied = wk_gguf_find_tensor(g, "output.weight") < 0;
    uint32_t nl = 0;
    wk_err e2;
    if (!wk_gguf_get_u32(g, "llama.block_count", &nl, &e2)) ms.n_layer = (int)nl;
    for (size_t i = 0; i < nt; i++) {
        const char *n = wk_gguf_tensor_at(g, i)->name;
        ms.n_attn_v += strstr(n, "attn_v.weight") != NULL;
        ms.n_ffn_down += strstr(n, "ffn_down") != NULL;
    }
    wk_gguf *im = NULL;
    if (o->imatrix && !(im = wk_gguf_open(o->imatrix, err)))
        return wk_err_prefix(err, "--imatrix (a GGUF imatrix file is needed)");

    int *types = calloc(nt ? nt : 1, sizeof *types);
    wk_ggufw *w = types ? wk_ggufw_new(wk_gguf_alignment(g), err) : NULL;
    int rc = w ? 0 : types ? -1 : wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < wk_gguf_kv_count(g); i++)
        if (!skip_kv(wk_gguf_kv_at(g, i)->key)) rc = wk_ggufw_kv_copy(w, g, i, err);
    if (!rc) rc = wk_ggufw_kv_u32(w, "general.quantization_version", GGML_QNT_VERSION, err);
    if (!rc) rc = wk_ggufw_kv_u32(w, "general.file_type", o->p->ftype, err);
    for (size_t i = 0; !rc && i < nt; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        types[i] = choose_type(o, &ms, t);
        if (t->ne[0] % blck_of(types[i]))   /* only an explicit type can get here */
            rc = wk_err_set(err, WK_E_USAGE, "%s: %" PRId64 " columns are not whole %s blocks of %d; "
                            "choose another --output-tensor-type / --token-embedding-type", t->name,
                            t->ne[0], type_name(types[i]), blck_of(types[i]));
        if (rc) break;
        rc = wk_ggufw_add_tensor(w, t->name, types[i], (int)t->n_dims, t->ne, err) < 0 ? -1 : 0;
    }
    wk_out *out = rc ? NULL : wk_out_open(o->output, inputs, err);
    if (!rc && !out) rc = -1;
    wk_sink os;   /* outlives w's writes below */
    if (!rc) rc = wk_ggufw_begin(w, wk_sink_out(&os, out), err);

    wk_progress *bar = wk_cli_want_progress(&o->std) ? wk_progress_new("quantize", 0, 1) : NULL;
    uint64_t total_in = 0, done = 0, params = 0, bytes_out = 0;
    for (size_t i = 0; i < nt; i++) total_in += wk_gguf_tensor_at(g, i)->nbytes;
    wk_progress_cb(bar, 0, total_in);
    const int table = !o->std.quiet && !rep;
    wk_json *jt = rep ? wk_json_new_array() : NULL;
    if (rep && !jt) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (!rc && table)
        printf("%-32s %-6s %-6s %12s %12s %10s\n", "tensor", "from", "to", "bytes in", "bytes out", "rel. RMSE");
    double all_err = 0, all_x = 0;
    float *imat = NULL;
    for (size_t i = 0; !rc && i < nt; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        const float *wv = NULL;
        if (im && wk_qtraits_by_ggml(types[i])) {
            float *nw = realloc(imat, sizeof(float) * (size_t)t->ne[0]);
            if (!nw) { rc = wk_err_set(err, WK_E_NOMEM, "out of memory"); break; }
            imat = nw;
            int f = imatrix_for(im, t->name, t->ne[0], imat, err);
            if (f < 0) { rc = -1; break; }
            wv = f ? imat : NULL;
        }
        t_stats st;
        rc = write_tensor(o, w, t, types[i], wv, &st, bar, &done, err);
        if (rc) break;
        uint64_t ob = wk_ggufw_tensor_nbytes(w, i);
        int64_t nel = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) nel *= t->ne[d];
        params += (uint64_t)nel;
        bytes_out += ob;
        all_err += st.sq_err;
        all_x += st.sq_x;
        const int has_rel = st.sq_x > 0 && types[i] != t->type;
        if (jt) {
            wk_json *e = wk_json_new_object();
            if (!e) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
            SET(e, "name", wk_json_new_string(t->name));
            SET(e, "from", wk_json_new_string(type_name(t->type)));
            SET(e, "to", wk_json_new_string(type_name(types[i])));
            SET(e, "bytes_in", wk_json_new_int((int64_t)t->nbytes));
            SET(e, "bytes_out", wk_json_new_int((int64_t)ob));
            SET(e, "rel_rmse", has_rel ? wk_json_new_double(sqrt(st.sq_err / st.sq_x)) : wk_json_new_null());
            SET(e, "imatrix", wk_json_new_bool(wv != NULL));
            if (rc == 0) rc = wk_json_array_push(jt, e, err);
            else wk_json_free(e);
        }
        if (table) {
            char rel[32] = "-";
            if (has_rel) snprintf(rel, sizeof rel, "%.3e", sqrt(st.sq_err / st.sq_x));
            printf("%-32s %-6s %-6s %12" PRIu64 " %12" PRIu64 " %10s%s\n", t->name, type_name(t->type),
                   type_name(types[i]), t->nbytes, ob, rel, wv ? "  (imatrix)" : "");
        }
    }
    wk_progress_finish(bar);
    free(imat);
    if (!rc) rc = wk_ggufw_finish(w, err);
    if (out) rc = rc ? (wk_out_abort(out), -1) : wk_out_commit(out, err);
    if (!rc && rep) {
        wk_json *tot = wk_json_new_object();
        if (!tot) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
        SET(rep, "tensors", jt);
        jt = NULL;
        SET(tot, "tensors", wk_json_new_int((int64_t)nt));
        SET(tot, "bytes_in", wk_json_new_int((int64_t)total_in));
        SET(tot, "bytes_out", wk_json_new_int((int64_t)bytes_out));
        SET(tot, "bits_per_weight", wk_json_new_double(params ? 8.0 * (double)bytes_out / (double)params : 0.0));
        SET(tot, "rel_rmse", wk_json_new_double(all_x > 0 ? sqrt(all_err / all_x) : 0.0));
        SET(tot, "file_size", wk_json_new_int((int64_t)wk_ggufw_total_size(w)));
        SET(rep, "total", tot);
    }
    wk_json_free(jt);
    if (!rc && table)
        printf("total: %zu tensors, %" PRIu64 " -> %" PRIu64 " bytes of weights (%.3f bits per weight), "
               "relative RMSE of the quantized tensors %.3e, file %" PRIu64 " bytes\n", nt, total_in,
               bytes_out, params ? 8.0 * (double)bytes_out / (double)params : 0.0,
               all_x > 0 ? sqrt(all_err / all_x) : 0.0, wk_ggufw_total_size(w));
    free(types);
    wk_ggufw_free(w);
    wk_gguf_close(im);
    return rc;
}

/* A non-GGUF input: pack it (as wk-pack, types kept) into "<OUTPUT>.wk-pack.gguf",
 * map that, and unlink it at once (the mapping keeps the data). */
static wk_gguf *pack_first(const q_opts *o, wk_source *src, char **tmp_path, wk_err *err)
{
    size_t n = strlen(o->output) + 16;
    char *path = malloc(n);
    if (!path) { wk_err_set(err, WK_E_NOMEM, "out of memory"); return NULL; }
    snprintf(path, n, "%s.wk-pack.gguf", o->output);
    *tmp_path = path;
    wk_gl_opts go;
    wk_gl_opts_init(&go);
    go.threads = o->std.threads;
    go.digests = 0;
    wk_gl *p = wk_gl_plan_new(src, &go, NULL, NULL, err);
    if (!p) return NULL;
    wk_out *out = wk_out_open(path, NULL, err);
    wk_sink os;
    int rc = out ? wk_gl_write(p, wk_sink_out(&os, out), NULL, NULL, err) : -1;
    if (out) rc = rc ? (wk_out_abort(out), -1) : wk_out_commit(out, err);
    wk_gl_free(p);
    if (rc) return NULL;
    wk_gguf *g = wk_gguf_open(path, err);
    unlink(path);
    return g;
}

int main(int argc, char **argv)
{
    q_opts o;
    wk_err err;
    wk_err_clear(&err);
    memset(&o, 0, sizeof o);
    o.output_type = o.embd_type = -1;
    wk_cli_std_init(&o.std, "wk-quantize");
    int exit_now = 0;
    if (parse_args(&o, argc, argv, &exit_now, &err)) return wk_cli_fail(o.std.prog, &err);
    if (exit_now) return 0;
    wk_threads_apply(o.std.threads);
    wk_io_install_signal_cleanup();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    wk_source *src = wk_source_open(o.input, o.std.threads, &err);
    if (!src) return wk_cli_fail(o.std.prog, &err);
    const char *inputs[2] = { NULL, NULL };
    char *tmp = NULL;
    wk_gguf *g;
    if (wk_source_kind(src) == WK_SRC_GGUF) {
        inputs[0] = wk_source_file(src, 0);
        g = wk_gguf_open(inputs[0], &err);
    } else {
        if (!o.std.quiet) fprintf(stderr, "wk-quantize: packing %s (%s) first\n", o.input,
                                  wk_src_kind_name(wk_source_kind(src)));
        g = pack_first(&o, src, &tmp, &err);
    }
    wk_json *rep = o.std.json ? wk_json_new_object() : NULL;
    int rc = o.std.json && !rep ? wk_err_set(&err, WK_E_NOMEM, "out of memory") : 0;
    wk_err *jerr = &err;
    if (rep) {
        SET(rep, "input", wk_json_new_string(o.input));
        SET(rep, "output", wk_json_new_string(o.output));
        SET(rep, "type", wk_json_new_string(o.p->name));
        SET(rep, "ftype", wk_json_new_int(o.p->ftype));
        SET(rep, "search", wk_json_new_bool(o.search));
        SET(rep, "imatrix", o.imatrix ? wk_json_new_string(o.imatrix) : wk_json_new_null());
    }
    if (!rc) rc = g ? quantize_gguf(&o, g, inputs, rep, &err) : -1;
    wk_gguf_close(g);
    wk_source_close(src);
    free(tmp);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (!rc && rep) {
        SET(rep, "seconds", wk_json_new_double(secs));
        wk_buf b;
        wk_buf_init(&b);
        wk_json_dump_opts d = wk_json_opts_hf();
        d.sort_keys = 0;
        if (rc == 0) rc = wk_json_dump(rep, &d, &b, &err);
        if (rc == 0) printf("%.*s\n", (int)b.len, (const char *)b.data);
        wk_buf_free(&b);
    }
    wk_json_free(rep);
    if (!rc && !o.std.quiet && !o.std.json)
        printf("wrote %s (%s, llama_ftype %u%s) in %.2f s\n", o.output, o.p->name, (unsigned)o.p->ftype,
               o.search ? ", --search" : "", secs);
    return rc ? wk_cli_fail(o.std.prog, &err) : 0;
}
