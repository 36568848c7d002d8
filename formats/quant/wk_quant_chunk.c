/* wk_quant_chunk.c — the kernel table (the one place that maps a ggml type id
 * to its kernels), CPU dispatch, and the OpenMP row driver.
 *
 * Dispatch: the table holds both quantizers of a type; the AUTO one is chosen
 * by wk_quant_kernel_auto() from wk_cpu's cached probe once per call of the
 * row driver (or of wk_dot_quantize_act), never per row.
 *
 * Parallelism: rows are split into fixed work items of WK_QUANT_CHUNK_ROWS
 * rows, handed out dynamically; every row is quantized by the same kernel
 * whatever thread runs it, so the output never depends on the thread count.
 * Each row is scanned for NaN/Inf just before it is quantized (while it is in
 * cache) and its fp16 scales checked just after; the error reported is the
 * one of the lowest row, so it too is independent of the thread count.  With
 * statistics (wk_quantize_rows_stats) the row's E and X are summed right
 * after its scale check, in one pass (wk_qstats_row_q).  The legacy types'
 * AVX2 kernels do all of it in one pass over the row, the statistics' X
 * being the NaN/Inf scan (quantize_fused, x86/wk_quant_legacy_avx2.c). */
#include "wk_quant.h"
#include "wk_dot.h"
#include "wk_qstats.h"
#include "wk_cpu.h"
#include "wk_ggml.h"

#include <inttypes.h>
#include <math.h>
#include <omp.h>

#if defined(__x86_64__) || defined(__i386__)
#define WK_QUANT_X86 1
#else
#define WK_QUANT_X86 0
#endif

int wk_quant_have_simd(void)
{
    return WK_QUANT_X86 && wk_cpu_has(WK_CPU_SIMD);
}

/* ---- per-type scale checks (ggml_validate_row_data's fp16 part) ---------------- */

static int f16_bad(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return (h & 0x7c00u) == 0x7c00u;   /* Inf or NaN */
}

/* First of nb blocks of `size` bytes whose half at off0 (or off1 if >= 0) is bad. */
static int64_t check_halves(const void *x, int64_t nb, size_t size, int off0, int off1)
{
    const uint8_t *p = x;
    for (int64_t i = 0; i < nb; i++, p += size)
        if (f16_bad(p + off0) || (off1 >= 0 && f16_bad(p + off1))) return i;
    return -1;
}

#define CHECK_FN(T, OFF0, OFF1) \
    static int64_t check_##T(const void *x, int64_t nb) \
    { return check_halves(x, nb, sizeof(wk_block_##T), (OFF0), (OFF1)); }
CHECK_FN(q4_0, 0, -1)
CHECK_FN(q4_1, 0, 2)
CHECK_FN(q5_0, 0, -1)
CHECK_FN(q5_1, 0, 2)
CHECK_FN(q8_0, 0, -1)
CHECK_FN(q4_K, 0, 2)
CHECK_FN(q5_K, 0, 2)
CHECK_FN(q6_K, (int)offsetof(wk_block_q6_K, d), -1)
CHECK_FN(q2_K, (int)offsetof(wk_block_q2_K, d), (int)offsetof(wk_block_q2_K, dmin))
CHECK_FN(q3_K, (int)offsetof(wk_block_q3_K, d), -1)
CHECK_FN(iq4_nl, 0, -1)
CHECK_FN(iq4_xs, 0, -1)

/* ---- dequantize-and-dot (for benchmarks) --------------------------------------- */

#define DOT_FN(T, BLCK) \
    static float dot_##T(const void *x, const float *y, int64_t k) \
    { \
        float tmp[BLCK], sum = 0; \
        const uint8_t *p = x; \
        for (int64_t i = 0; i < k / (BLCK); i++, p += sizeof(wk_block_##T), y += (BLCK)) { \
            wk_dequantize_row_##T(p, tmp, (BLCK)); \
            for (int j = 0; j < (BLCK); j++) sum += tmp[j] * y[j]; \
        } \
        return sum; \
    }
DOT_FN(q4_0, WK_QK)
DOT_FN(q4_1, WK_QK)
DOT_FN(q5_0, WK_QK)
DOT_FN(q5_1, WK_QK)
DOT_FN(q8_0, WK_QK)
DOT_FN(q4_K, WK_QK_K)
DOT_FN(q5_K, WK_QK_K)
DOT_FN(q6_K, WK_QK_K)
DOT_FN(q2_K, WK_QK_K)
DOT_FN(q3_K, WK_QK_K)
DOT_FN(iq4_nl, WK_QK)
DOT_FN(iq4_xs, WK_QK_K)

/* ---- the table ----------------------------------------------------------------------- */

#if WK_QUANT_X86
#define SIMD_OR_NULL(T) wk_quantize_row_##T##_avx2
#define SIMD_IMAT_OR_NULL(T) wk_quantize_row_##T##_imat_avx2
#define FUSED_OR_NULL(T) wk_quantize_row_##T##_fused_avx2
#else
#define FUSED_OR_NULL(T) NULL
#define SIMD_OR_NULL(T) NULL
#define SIMD_IMAT_OR_NULL(T) NULL
#endif

/* Keyed by ggml id (wk_ggml.h), which holds each type's name, block size and
 * bytes per block; tests/unit/test_quant.c checks the block structs against
 * it.  Rows of ids without kernels stay zero (wk_qtraits_get: NULL). */
static const wk_qtraits TRAITS[WK_GGML_TYPE_COUNT] = {
    [WK_GGML_Q4_0] = { .quantize_ref = wk_quantize_row_q4_0_ref,
                       .quantize_simd = SIMD_OR_NULL(q4_0),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q4_0),
                       .quantize_imat = wk_quantize_row_q4_0_imat, .dequantize = wk_dequantize_row_q4_0,
                       .vec_dot = dot_q4_0, .check = check_q4_0, .idot = wk_vec_dot_q4_0,
                       .quantize_fused = FUSED_OR_NULL(q4_0) },
    [WK_GGML_Q4_1] = { .quantize_ref = wk_quantize_row_q4_1_ref,
                       .quantize_simd = SIMD_OR_NULL(q4_1),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q4_1),
                       .quantize_imat = wk_quantize_row_q4_1_imat, .dequantize = wk_dequantize_row_q4_1,
                       .vec_dot = dot_q4_1, .check = check_q4_1, .idot = wk_vec_dot_q4_1,
                       .quantize_fused = FUSED_OR_NULL(q4_1) },
    [WK_GGML_Q5_0] = { .quantize_ref = wk_quantize_row_q5_0_ref,
                       .quantize_simd = SIMD_OR_NULL(q5_0),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q5_0),
                       .quantize_imat = wk_quantize_row_q5_0_imat, .dequantize = wk_dequantize_row_q5_0,
                       .vec_dot = dot_q5_0, .check = check_q5_0, .idot = wk_vec_dot_q5_0,
                       .quantize_fused = FUSED_OR_NULL(q5_0) },
    [WK_GGML_Q5_1] = { .quantize_ref = wk_quantize_row_q5_1_ref,
                       .quantize_simd = SIMD_OR_NULL(q5_1),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q5_1),
                       .quantize_imat = wk_quantize_row_q5_1_imat, .dequantize = wk_dequantize_row_q5_1,
                       .vec_dot = dot_q5_1, .check = check_q5_1, .idot = wk_vec_dot_q5_1,
                       .quantize_fused = FUSED_OR_NULL(q5_1) },
    [WK_GGML_Q8_0] = { .quantize_ref = wk_quantize_row_q8_0_ref,
                       .quantize_simd = SIMD_OR_NULL(q8_0),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q8_0),
                       .quantize_imat = wk_quantize_row_q8_0_imat, .dequantize = wk_dequantize_row_q8_0,
                       .vec_dot = dot_q8_0, .check = check_q8_0, .idot = wk_vec_dot_q8_0,
                       .quantize_fused = FUSED_OR_NULL(q8_0) },
    [WK_GGML_Q4_K] = { .quantize_ref = wk_quantize_row_q4_K_ref,
                       .quantize_simd = SIMD_OR_NULL(q4_K),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q4_K),
                       .quantize_imat = wk_quantize_row_q4_K_imat, .dequantize = wk_dequantize_row_q4_K,
                       .vec_dot = dot_q4_K, .check = check_q4_K, .idot = wk_vec_dot_q4_K },
    [WK_GGML_Q5_K] = { .quantize_ref = wk_quantize_row_q5_K_ref,
                       .quantize_simd = SIMD_OR_NULL(q5_K),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q5_K),
                       .quantize_imat = wk_quantize_row_q5_K_imat, .dequantize = wk_dequantize_row_q5_K,
                       .vec_dot = dot_q5_K, .check = check_q5_K, .idot = wk_vec_dot_q5_K },
    [WK_GGML_Q6_K] = { .quantize_ref = wk_quantize_row_q6_K_ref,
                       .quantize_simd = SIMD_OR_NULL(q6_K),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q6_K),
                       .quantize_imat = wk_quantize_row_q6_K_imat, .dequantize = wk_dequantize_row_q6_K,
                       .vec_dot = dot_q6_K, .check = check_q6_K, .idot = wk_vec_dot_q6_K },
    [WK_GGML_Q2_K] = { .quantize_ref = wk_quantize_row_q2_K_ref,
                       .quantize_simd = SIMD_OR_NULL(q2_K),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q2_K),
                       .quantize_imat = wk_quantize_row_q2_K_imat, .dequantize = wk_dequantize_row_q2_K,
                       .vec_dot = dot_q2_K, .check = check_q2_K, .idot = wk_vec_dot_q2_K },
    [WK_GGML_Q3_K] = { .quantize_ref = wk_quantize_row_q3_K_ref,
                       .quantize_simd = SIMD_OR_NULL(q3_K),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(q3_K),
                       .quantize_imat = wk_quantize_row_q3_K_imat, .dequantize = wk_dequantize_row_q3_K,
                       .vec_dot = dot_q3_K, .check = check_q3_K, .idot = wk_vec_dot_q3_K },
    [WK_GGML_IQ4_NL] = { .quantize_ref = wk_quantize_row_iq4_nl_ref,
                       .quantize_simd = SIMD_OR_NULL(iq4_nl),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(iq4_nl),
                       .quantize_imat = wk_quantize_row_iq4_nl_imat, .dequantize = wk_dequantize_row_iq4_nl,
                       .vec_dot = dot_iq4_nl, .check = check_iq4_nl, .idot = wk_vec_dot_iq4_nl },
    [WK_GGML_IQ4_XS] = { .quantize_ref = wk_quantize_row_iq4_xs_ref,
                       .quantize_simd = SIMD_OR_NULL(iq4_xs),
                       .quantize_imat_simd = SIMD_IMAT_OR_NULL(iq4_xs),
                       .quantize_imat = wk_quantize_row_iq4_xs_imat, .dequantize = wk_dequantize_row_iq4_xs,
                       .vec_dot = dot_iq4_xs, .check = check_iq4_xs, .idot = wk_vec_dot_iq4_xs },
};

const wk_qtraits *wk_qtraits_get(int type)
{
    if (type < 0 || type >= WK_GGML_TYPE_COUNT || !TRAITS[type].quantize_ref) return NULL;
    return &TRAITS[type];
}

int wk_quant_type_from_name(const char *name)
{
    int type = name ? wk_ggml_type_from_name(name) : -1;
    return wk_qtraits_get(type) ? type : -1;
}

wk_qrow_fn wk_quant_kernel_auto(int type)
{
    const wk_qtraits *qt = wk_qtraits_get(type);
    if (!qt) return NULL;
    return qt->quantize_simd && wk_quant_have_simd() ? qt->quantize_simd : qt->quantize_ref;
}

/* ---- the row driver -------------------------------------------------------------- */

typedef int64_t (*find_fn)(const float *x, int64_t n);

static int64_t find_nonfinite_ref(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        if ((u & 0x7f800000u) == 0x7f800000u) return i;
    }
    return -1;
}

/* The NaN/Inf scan for this CPU (resolved once per row driver call). */
static find_fn pick_find(void)
{
#if WK_QUANT_X86
    if (wk_quant_have_simd()) return wk_quant_find_nonfinite_avx2;
#endif
    return find_nonfinite_ref;
}

int64_t wk_quant_find_nonfinite(const float *x, int64_t n)
{
    return pick_find()(x, n);
}

/* The kernel for opts->kernel, or NULL with *err set. */
static wk_qrow_fn pick_kernel(int type, const wk_qtraits *qt, wk_qkernel k, wk_err *err)
{
    switch (k) {
    case WK_QK_AUTO: return wk_quant_kernel_auto(type);
    case WK_QK_REF: return qt->quantize_ref;
    case WK_QK_SIMD:
        if (qt->quantize_simd && wk_quant_have_simd()) return qt->quantize_simd;
        wk_err_set(err, WK_E_UNSUPPORTED, "%s: no SIMD kernel on this CPU",
                   wk_ggml_type_get(type)->lname);
        return NULL;
    case WK_QK_SEARCH: return NULL;   /* handled by the caller */
    }
    wk_err_set(err, WK_E_USAGE, "unknown quantization kernel %d", (int)k);
    return NULL;
}

/* What went wrong in one row: 0 fine, 1 non-finite input at col, 2 bad scale in block col. */
typedef struct { int kind; int64_t col; } row_status;

/* The kernels of one wk_quantize_rows call, resolved before the loop. */
typedef struct {
    int type;
    const wk_qtraits *qt;
    int64_t blck;
    wk_qrow_fn fn;       /* NULL: the search (WK_QK_SEARCH) or the weighted kernel */
    wk_qrow_w_fn fn_w;   /* the weighted kernel (AUTO/REF with an imatrix), or NULL */
    wk_qrow_fused_fn fused; /* fn with the checks and statistics fused, or NULL */
    find_fn find;
    const float *imatrix;
} row_kernels;

/* One row: the NaN/Inf scan, the kernel, the scale check, the row's statistics. */
static row_status quantize_one_row(const row_kernels *K, const float *x, uint8_t *y, int64_t n,
                                   double *stats)
{
    row_status st = { 0, -1 };
    int64_t bad = -1;
    if (K->fused) {     /* one pass: the scan, the kernel, the scale check, the sums */
        bad = K->fused(x, y, n, stats);
        if (bad == -2) { st.kind = 1; st.col = K->find(x, n); }
        else if (bad >= 0) { st.kind = 2; st.col = bad; }
        return st;
    }
    bad = K->find(x, n);
    if (bad >= 0) { st.kind = 1; st.col = bad; return st; }
    if (K->fn) K->fn(x, y, n);
    else if (K->fn_w) K->fn_w(x, y, n, K->imatrix);
    else wk_quantize_row_search(K->type, x, y, n, K->imatrix);
    bad = K->qt->check(y, n / K->blck);
    if (bad >= 0) { st.kind = 2; st.col = bad; return st; }
    if (stats) wk_qstats_row_q(K->type, x, y, n, stats);
    return st;
}

static int row_error(int type, const char *name, const float *src, int64_t n_per_row,
                     int64_t row, row_status st, wk_err *err)
{
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    const int64_t blck = ti->blck;
    if (st.kind == 1) {
        float v = src[row * n_per_row + st.col];
        return wk_err_set(err, WK_E_FORMAT,
                          "%s: row %" PRId64 ", column %" PRId64 " is %s; refusing to "
                          "quantize non-finite values to %s", name, row, st.col,
                          v != v ? "NaN" : v > 0 ? "+Inf" : "-Inf", ti->lname);
    }
    return wk_err_set(err, WK_E_LIMIT,
                      "%s: row %" PRId64 ", block %" PRId64 " (columns %" PRId64 "..%" PRId64
                      "): values too large for %s, its fp16 scale overflows", name, row,
                      st.col, st.col * blck, st.col * blck + blck - 1, ti->lname);
}

/* Checks the arguments of wk_quantize_rows and resolves its kernels into *K. */
static int resolve_rows(int type, int64_t nrows, int64_t n_per_row, const wk_qopts *o,
                        const char *name, row_kernels *K, wk_err *err)
{
    const wk_qtraits *qt = wk_qtraits_get(type);
    WK_FAIL_IF(!qt, err, WK_E_USAGE, "%s: no quantization type", name);
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    WK_FAIL_IF(n_per_row <= 0 || n_per_row % ti->blck != 0 || nrows < 0, err, WK_E_USAGE,
               "%s: row length %" PRId64 " is not a positive multiple of %d (the %s block)",
               name, n_per_row, (int)ti->blck, ti->lname);
    K->type = type;
    K->qt = qt;
    K->blck = ti->blck;
    K->fn_w = NULL;
    if (o->kernel == WK_QK_SEARCH && !wk_quant_search_supported(type))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: --search is not implemented for %s (it "
                          "has Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K Q5_K Q6_K)", name, ti->lname);
    const int wsimd = qt->quantize_imat_simd && wk_quant_have_simd();
    if (o->imatrix && o->kernel == WK_QK_SIMD && !wsimd)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: no SIMD kernel for %s with an importance "
                          "matrix on this CPU (no AVX2)", name, ti->lname);
    if (o->imatrix && o->kernel != WK_QK_SEARCH) {
        K->fn = NULL;   /* AUTO/SIMD: the AVX2 twin where there is one (same bytes) */
        K->fn_w = o->kernel != WK_QK_REF && wsimd ? qt->quantize_imat_simd : qt->quantize_imat;
    } else {
        K->fn = pick_kernel(type, qt, o->kernel, err);
        if (!K->fn && o->kernel != WK_QK_SEARCH) return -1;
    }
    K->fused = K->fn && K->fn == qt->quantize_simd ? qt->quantize_fused : NULL;
    K->find = pick_find();
    K->imatrix = o->imatrix;
    return 0;
}

int wk_quantize_rows(int type, const float *src, void *dst, int64_t nrows,
                     int64_t n_per_row, const wk_qopts *opts, wk_err *err)
{
    return wk_quantize_rows_stats(type, src, dst, nrows, n_per_row, opts, NULL, err);
}

int wk_quantize_rows_stats(int type, const float *src, void *dst, int64_t nrows,
                           int64_t n_per_row, const wk_qopts *opts, double *row_stats, wk_err *err)
{
    wk_qopts o = { 0 };
    if (opts) o = *opts;
    const char *name = o.name ? o.name : "tensor";
    row_kernels K;
    WK_TRY(resolve_rows(type, nrows, n_per_row, &o, name, &K, err));

    const size_t row_size = wk_ggml_row_size(type, n_per_row);
    const int64_t nchunks = (nrows + WK_QUANT_CHUNK_ROWS - 1) / WK_QUANT_CHUNK_ROWS;
    const int nthreads = o.nthreads > 0 ? o.nthreads : omp_get_max_threads();
    int64_t bad_row = INT64_MAX;
    row_status bad_st = { 0, -1 };

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t end = (c + 1) * WK_QUANT_CHUNK_ROWS;
        if (end > nrows) end = nrows;
        for (int64_t r = c * WK_QUANT_CHUNK_ROWS; r < end; r++) {
            row_status st = quantize_one_row(&K, src + r * n_per_row,
                                             (uint8_t *)dst + (size_t)r * row_size, n_per_row,
                                             row_stats ? row_stats + 2 * r : NULL);
            if (!st.kind) continue;
#pragma omp critical(wk_quant_err)
            if (r < bad_row) { bad_row = r; bad_st = st; }
            break;   /* later rows of this chunk cannot be the lowest bad row */
        }
    }
    if (bad_row != INT64_MAX) return row_error(type, name, src, n_per_row, bad_row, bad_st, err);
    return 0;
}
