/* wk_qstats.c — error statistics of a quantization run (wk_qstats.h): the
 * scalar references, CPU dispatch, and the per-row error. */
#include "wk_qstats.h"
#include "wk_quant.h"
#include "wk_qstats_avx2.h"

#include <math.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__x86_64__) || defined(__i386__)
#define WK_QSTATS_X86 1
#else
#define WK_QSTATS_X86 0
#endif

void wk_qstats_acc_init(wk_qstats_acc *a)
{
    memset(a, 0, sizeof *a);
}

double wk_qstats_acc_sum(const wk_qstats_acc *a)
{
    const double *l = a->lane;
    double t[4];
    for (int j = 0; j < 4; j++) t[j] = (l[j] + l[j + 4]) + (l[j + 8] + l[j + 12]);
    return (t[0] + t[1]) + (t[2] + t[3]);
}

void wk_qstats_acc_sq_ref(wk_qstats_acc *a, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const double v = (double)x[i];
        a->lane[a->n++ % WK_QSTATS_LANES] += v * v;
    }
}

void wk_qstats_acc_sq_diff_ref(wk_qstats_acc *a, const float *x, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const double d = (double)x[i] - (double)y[i];
        a->lane[a->n++ % WK_QSTATS_LANES] += d * d;
    }
}

void wk_qstats_acc_sq(wk_qstats_acc *a, const float *x, int64_t n)
{
#if WK_QSTATS_X86
    if (wk_quant_have_simd()) { wk_qstats_acc_sq_avx2(a, x, n); return; }
#endif
    wk_qstats_acc_sq_ref(a, x, n);
}

void wk_qstats_acc_sq_diff(wk_qstats_acc *a, const float *x, const float *y, int64_t n)
{
#if WK_QSTATS_X86
    if (wk_quant_have_simd()) { wk_qstats_acc_sq_diff_avx2(a, x, y, n); return; }
#endif
    wk_qstats_acc_sq_diff_ref(a, x, y, n);
}

double wk_qstats_sum_sq(const float *x, int64_t n)
{
    wk_qstats_acc a;
    wk_qstats_acc_init(&a);
    wk_qstats_acc_sq(&a, x, n);
    return wk_qstats_acc_sum(&a);
}

int wk_qstats_dequant_simd(int type, const void *q, float *y, int64_t nb)
{
#if WK_QSTATS_X86
    if (!wk_quant_have_simd()) return 0;
    switch (type) {
    case WK_GGML_Q4_0: wk_qstats_dequant_q4_0_avx2(q, y, nb); return 1;
    case WK_GGML_Q4_1: wk_qstats_dequant_q4_1_avx2(q, y, nb); return 1;
    case WK_GGML_Q5_0: wk_qstats_dequant_q5_0_avx2(q, y, nb); return 1;
    case WK_GGML_Q5_1: wk_qstats_dequant_q5_1_avx2(q, y, nb); return 1;
    case WK_GGML_Q8_0: wk_qstats_dequant_q8_0_avx2(q, y, nb); return 1;
    case WK_GGML_Q6_K: wk_qstats_dequant_q6_K_avx2(q, y, nb); return 1;
    default: return 0;
    }
#else
    (void)type, (void)q, (void)y, (void)nb;
    return 0;
#endif
}

/* The row error, 256 values at a time; simd 0: scalar kernels only. */
static double row_sq_error(int type, const float *x, const void *q, int64_t n, int simd)
{
    const wk_qtraits *qt = wk_qtraits_get(type);
    if (!qt) return NAN;
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
#if WK_QSTATS_X86
    double e;
    if (simd && wk_quant_have_simd() && wk_qstats_row_err_avx2(type, x, q, n / ti->blck, &e)) return e;
#endif
    const int64_t per = WK_QK_K / ti->blck;          /* blocks per 256 values */
    const uint8_t *p = q;
    float y[WK_QK_K];
    wk_qstats_acc a;
    wk_qstats_acc_init(&a);
    for (int64_t i = 0; i < n; i += WK_QK_K) {
        const int64_t m = n - i < WK_QK_K ? n - i : WK_QK_K;
        const int64_t nb = m / ti->blck;
        if (!simd || !wk_qstats_dequant_simd(type, p, y, nb)) qt->dequantize(p, y, m);
        if (simd) wk_qstats_acc_sq_diff(&a, x + i, y, m);
        else wk_qstats_acc_sq_diff_ref(&a, x + i, y, m);
        p += (size_t)per * ti->size;
    }
    return wk_qstats_acc_sum(&a);
}

double wk_qstats_row_sq_error(int type, const float *x, const void *q, int64_t n)
{
    return row_sq_error(type, x, q, n, 1);
}

double wk_qstats_row_sq_error_ref(int type, const float *x, const void *q, int64_t n)
{
    return row_sq_error(type, x, q, n, 0);
}
