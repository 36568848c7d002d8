/* wk_quant_chunk.c — the traits table (the one place that maps a quant type
 * to its layout and kernels), CPU dispatch, and the OpenMP row driver.
 *
 * Parallelism: rows are split into fixed work items of WK_QUANT_CHUNK_ROWS
 * rows, handed out dynamically; every row is quantized by the same kernel
 * whatever thread runs it, so the output never depends on the thread count.
 * Each row is scanned for NaN/Inf just before it is quantized (while it is in
 * cache) and its fp16 scales checked just after; the error reported is the
 * one of the lowest row, so it too is independent of the thread count. */
#include "wk_quant.h"
#include "wk_dot.h"
#include "wk_gguf.h"
#include "wk_half.h"

#include <ctype.h>
#include <inttypes.h>
#include <omp.h>

#if defined(__x86_64__) || defined(__i386__)
#define WK_QUANT_X86 1
#else
#define WK_QUANT_X86 0
#endif

/* AVX2 + F16C, checked by wk_half's run-time probe (no state kept here). */
int wk_quant_have_simd(void)
{
    return wk_half_have_f16c();
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

/* ---- dispatching quantizers ------------------------------------------------------ */

#if WK_QUANT_X86
#define SIMD_OR_NULL(T) wk_quantize_row_##T##_avx2
#define AUTO_FN(T) \
    static void auto_##T(const float *x, void *y, int64_t k) \
    { \
        if (wk_quant_have_simd()) wk_quantize_row_##T##_avx2(x, y, k); \
        else wk_quantize_row_##T##_ref(x, y, k); \
    }
#else
#define SIMD_OR_NULL(T) NULL
#define AUTO_FN(T) \
    static void auto_##T(const float *x, void *y, int64_t k) { wk_quantize_row_##T##_ref(x, y, k); }
#endif
AUTO_FN(q4_0)
AUTO_FN(q4_1)
AUTO_FN(q5_0)
AUTO_FN(q5_1)
AUTO_FN(q8_0)
AUTO_FN(q4_K)
AUTO_FN(q5_K)
AUTO_FN(q6_K)

/* ---- the table ----------------------------------------------------------------------- */

/* Ids are ggml's (wk_gguf.h); blck and type_size come from the block structs
 * above.  The GGUF table (wk_ggml_type_get) holds the same id, block size and
 * bytes per block for every type, and is the one place for its ggml name;
 * tests/unit/test_quant.c checks that the two agree. */
static const wk_qtraits TRAITS[WK_QT_COUNT] = {
    { WK_QT_Q4_0, "q4_0", WK_GGML_Q4_0, WK_QK, sizeof(wk_block_q4_0),
      wk_quantize_row_q4_0_ref, SIMD_OR_NULL(q4_0), auto_q4_0,
      wk_dequantize_row_q4_0, dot_q4_0, check_q4_0, wk_vec_dot_q4_0 },
    { WK_QT_Q4_1, "q4_1", WK_GGML_Q4_1, WK_QK, sizeof(wk_block_q4_1),
      wk_quantize_row_q4_1_ref, SIMD_OR_NULL(q4_1), auto_q4_1,
      wk_dequantize_row_q4_1, dot_q4_1, check_q4_1, wk_vec_dot_q4_1 },
    { WK_QT_Q5_0, "q5_0", WK_GGML_Q5_0, WK_QK, sizeof(wk_block_q5_0),
      wk_quantize_row_q5_0_ref, SIMD_OR_NULL(q5_0), auto_q5_0,
      wk_dequantize_row_q5_0, dot_q5_0, check_q5_0, wk_vec_dot_q5_0 },
    { WK_QT_Q5_1, "q5_1", WK_GGML_Q5_1, WK_QK, sizeof(wk_block_q5_1),
      wk_quantize_row_q5_1_ref, SIMD_OR_NULL(q5_1), auto_q5_1,
      wk_dequantize_row_q5_1, dot_q5_1, check_q5_1, wk_vec_dot_q5_1 },
    { WK_QT_Q8_0, "q8_0", WK_GGML_Q8_0, WK_QK, sizeof(wk_block_q8_0),
      wk_quantize_row_q8_0_ref, SIMD_OR_NULL(q8_0), auto_q8_0,
      wk_dequantize_row_q8_0, dot_q8_0, check_q8_0, wk_vec_dot_q8_0 },
    { WK_QT_Q4_K, "q4_k", WK_GGML_Q4_K, WK_QK_K, sizeof(wk_block_q4_K),
      wk_quantize_row_q4_K_ref, SIMD_OR_NULL(q4_K), auto_q4_K,
      wk_dequantize_row_q4_K, dot_q4_K, check_q4_K, wk_vec_dot_q4_K },
    { WK_QT_Q5_K, "q5_k", WK_GGML_Q5_K, WK_QK_K, sizeof(wk_block_q5_K),
      wk_quantize_row_q5_K_ref, SIMD_OR_NULL(q5_K), auto_q5_K,
      wk_dequantize_row_q5_K, dot_q5_K, check_q5_K, wk_vec_dot_q5_K },
    { WK_QT_Q6_K, "q6_k", WK_GGML_Q6_K, WK_QK_K, sizeof(wk_block_q6_K),
      wk_quantize_row_q6_K_ref, SIMD_OR_NULL(q6_K), auto_q6_K,
      wk_dequantize_row_q6_K, dot_q6_K, check_q6_K, wk_vec_dot_q6_K },
};

const wk_qtraits *wk_qtraits_get(wk_qtype t)
{
    return (unsigned)t < WK_QT_COUNT ? &TRAITS[t] : NULL;
}

const wk_qtraits *wk_qtraits_by_name(const char *name)
{
    for (int t = 0; name && t < WK_QT_COUNT; t++) {
        const char *a = TRAITS[t].name, *b = name;
        while (*a && tolower((unsigned char)*b) == *a) a++, b++;
        if (!*a && !*b) return &TRAITS[t];
    }
    return NULL;
}

const wk_qtraits *wk_qtraits_by_ggml(int ggml_type)
{
    for (int t = 0; t < WK_QT_COUNT; t++)
        if (TRAITS[t].ggml_type == ggml_type) return &TRAITS[t];
    return NULL;
}

size_t wk_quant_row_size(const wk_qtraits *qt, int64_t n)
{
    return (size_t)(n / qt->blck) * qt->type_size;
}

/* ---- the row driver -------------------------------------------------------------- */

int64_t wk_quant_find_nonfinite(const float *x, int64_t n)
{
#if WK_QUANT_X86
    if (wk_quant_have_simd()) return wk_quant_find_nonfinite_avx2(x, n);
#endif
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        if ((u & 0x7f800000u) == 0x7f800000u) return i;
    }
    return -1;
}

/* The kernel for opts->kernel, or NULL with *err set. */
static wk_qrow_fn pick_kernel(const wk_qtraits *qt, wk_qkernel k, wk_err *err)
{
    switch (k) {
    case WK_QK_AUTO: return qt->quantize;
    case WK_QK_REF: return qt->quantize_ref;
    case WK_QK_SIMD:
        if (qt->quantize_simd && wk_quant_have_simd()) return qt->quantize_simd;
        wk_err_set(err, WK_E_UNSUPPORTED, "%s: no SIMD kernel on this CPU", qt->name);
        return NULL;
    case WK_QK_SEARCH: return NULL;   /* handled by the caller */
    }
    wk_err_set(err, WK_E_USAGE, "unknown quantization kernel %d", (int)k);
    return NULL;
}

/* What went wrong in one row: 0 fine, 1 non-finite input at col, 2 bad scale in block col. */
typedef struct { int kind; int64_t col; } row_status;

static row_status quantize_one_row(const wk_qtraits *qt, wk_qrow_fn fn, const wk_qopts *o,
                                   const float *x, uint8_t *y, int64_t n)
{
    row_status st = { 0, -1 };
    int64_t bad = wk_quant_find_nonfinite(x, n);
    if (bad >= 0) { st.kind = 1; st.col = bad; return st; }
    if (fn) fn(x, y, n);
    else wk_quantize_row_search(qt, x, y, n, o->imatrix);
    bad = qt->check(y, n / qt->blck);
    if (bad >= 0) { st.kind = 2; st.col = bad; }
    return st;
}

static int row_error(const wk_qtraits *qt, const char *name, const float *src,
                     int64_t n_per_row, int64_t row, row_status st, wk_err *err)
{
    if (st.kind == 1) {
        float v = src[row * n_per_row + st.col];
        return wk_err_set(err, WK_E_FORMAT,
                          "%s: row %" PRId64 ", column %" PRId64 " is %s; refusing to "
                          "quantize non-finite values to %s", name, row, st.col,
                          v != v ? "NaN" : v > 0 ? "+Inf" : "-Inf", qt->name);
    }
    return wk_err_set(err, WK_E_LIMIT,
                      "%s: row %" PRId64 ", block %" PRId64 " (columns %" PRId64 "..%" PRId64
                      "): values too large for %s, its fp16 scale overflows", name, row,
                      st.col, st.col * qt->blck, st.col * qt->blck + qt->blck - 1, qt->name);
}

int wk_quantize_rows(const wk_qtraits *qt, const float *src, void *dst, int64_t nrows,
                     int64_t n_per_row, const wk_qopts *opts, wk_err *err)
{
    wk_qopts o = { 0 };
    if (opts) o = *opts;
    const char *name = o.name ? o.name : "tensor";
    WK_FAIL_IF(!qt, err, WK_E_USAGE, "%s: no quantization type", name);
    WK_FAIL_IF(n_per_row <= 0 || n_per_row % qt->blck != 0 || nrows < 0, err, WK_E_USAGE,
               "%s: row length %" PRId64 " is not a positive multiple of %d (the %s block)",
               name, n_per_row, qt->blck, qt->name);
    wk_qrow_fn fn = pick_kernel(qt, o.kernel, err);
    if (!fn && o.kernel != WK_QK_SEARCH) return -1;

    const size_t row_size = wk_quant_row_size(qt, n_per_row);
    const int64_t nchunks = (nrows + WK_QUANT_CHUNK_ROWS - 1) / WK_QUANT_CHUNK_ROWS;
    const int nthreads = o.nthreads > 0 ? o.nthreads : omp_get_max_threads();
    int64_t bad_row = INT64_MAX;
    row_status bad_st = { 0, -1 };

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t end = (c + 1) * WK_QUANT_CHUNK_ROWS;
        if (end > nrows) end = nrows;
        for (int64_t r = c * WK_QUANT_CHUNK_ROWS; r < end; r++) {
            row_status st = quantize_one_row(qt, fn, &o, src + r * n_per_row,
                                             (uint8_t *)dst + (size_t)r * row_size, n_per_row);
            if (!st.kind) continue;
#pragma omp critical(wk_quant_err)
            if (r < bad_row) { bad_row = r; bad_st = st; }
            break;   /* later rows of this chunk cannot be the lowest bad row */
        }
    }
    if (bad_row != INT64_MAX) return row_error(qt, name, src, n_per_row, bad_row, bad_st, err);
    return 0;
}
