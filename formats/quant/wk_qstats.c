/* wk_qstats.c — error statistics of a quantization run (wk_qstats.h): the
 * scalar references of rule 1.3 (float groups) and of the exact rule 1.2
 * (the fallback), CPU dispatch, and the per-row statistics. */
#include "wk_qstats.h"
#include "wk_quant.h"
#include "wk_half.h"
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

static int use_simd(void)
{
    return WK_QSTATS_X86 && wk_quant_have_simd();
}

/* ---- rule 1.3: float groups ------------------------------------------------------ */

double wk_qstats_lanes_sum(const double l[WK_QSTATS_DLANES])
{
    double t[4];
    for (int j = 0; j < 4; j++) t[j] = l[j] + l[j + 4];
    return (t[0] + t[2]) + (t[1] + t[3]);
}

int wk_qstats_need_exact(double e, double s)
{
    return !isfinite(e) || !isfinite(s) || s < 0x1p-60;
}

/* The end of a group: its 32 float lanes f into the 8 double lanes L. */
static void flush_ref(const float f[WK_QSTATS_FLANES], double L[WK_QSTATS_DLANES])
{
    for (int j = 0; j < WK_QSTATS_DLANES; j++) {
        const float g = (f[j] + f[j + 16]) + (f[j + 8] + f[j + 24]);
        L[j] += (double)g;
    }
}

/* Add the groups of x[0..n) (x[0] starts a group) to the lanes le (E against
 * y) and lx (X); a NULL lane array: that sum is not formed (y unused without le). */
static void groups_ref(const float *x, const float *y, int64_t n, double *le, double *lx)
{
    for (int64_t i0 = 0; i0 < n; i0 += WK_QSTATS_GROUP) {
        const int64_t m = n - i0 < WK_QSTATS_GROUP ? n - i0 : WK_QSTATS_GROUP;
        float fe[WK_QSTATS_FLANES] = { 0 }, fx[WK_QSTATS_FLANES] = { 0 };
        for (int64_t k = 0; k < m; k++) {
            const float v = x[i0 + k];
            if (le) {
                const float d = v - y[i0 + k];
                const float t = d * d;
                fe[k % WK_QSTATS_FLANES] += t;
            }
            if (lx) {
                const float t = v * v;
                fx[k % WK_QSTATS_FLANES] += t;
            }
        }
        if (le) flush_ref(fe, le);
        if (lx) flush_ref(fx, lx);
    }
}

static void groups(const float *x, const float *y, int64_t n, double *le, double *lx, int simd)
{
#if WK_QSTATS_X86
    if (simd && use_simd()) { wk_qstats_groups_avx2(x, y, n, le, lx); return; }
#endif
    (void)simd;
    groups_ref(x, y, n, le, lx);
}

static double fast_sum(const float *x, const float *y, int64_t n, int simd)
{
    double l[WK_QSTATS_DLANES] = { 0 };
    if (y) groups(x, y, n, l, NULL, simd);
    else groups(x, NULL, n, NULL, l, simd);
    return wk_qstats_lanes_sum(l);
}

double wk_qstats_fast_sq(const float *x, int64_t n) { return fast_sum(x, NULL, n, 1); }
double wk_qstats_fast_sq_ref(const float *x, int64_t n) { return fast_sum(x, NULL, n, 0); }
double wk_qstats_fast_sq_diff(const float *x, const float *y, int64_t n) { return fast_sum(x, y, n, 1); }
double wk_qstats_fast_sq_diff_ref(const float *x, const float *y, int64_t n)
{
    return fast_sum(x, y, n, 0);
}

/* ---- rule 1.2: exact double lanes (the fallback) ------------------------------- */

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
    if (use_simd()) { wk_qstats_acc_sq_avx2(a, x, n); return; }
#endif
    wk_qstats_acc_sq_ref(a, x, n);
}

void wk_qstats_acc_sq_diff(wk_qstats_acc *a, const float *x, const float *y, int64_t n)
{
#if WK_QSTATS_X86
    if (use_simd()) { wk_qstats_acc_sq_diff_avx2(a, x, y, n); return; }
#endif
    wk_qstats_acc_sq_diff_ref(a, x, y, n);
}

static double exact_sq(const float *x, int64_t n, int simd)
{
    wk_qstats_acc a;
    wk_qstats_acc_init(&a);
    if (simd) wk_qstats_acc_sq(&a, x, n);
    else wk_qstats_acc_sq_ref(&a, x, n);
    return wk_qstats_acc_sum(&a);
}

double wk_qstats_exact_sq(const float *x, int64_t n)
{
    return exact_sq(x, n, 1);
}

int wk_qstats_dequant_simd(int type, const void *q, float *y, int64_t nb)
{
#if WK_QSTATS_X86
    if (!use_simd()) return 0;
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

/* ---- rows ------------------------------------------------------------------------ */

/* Block size of `type` for the row functions (F16 / BF16: 1), or 0 without kernels. */
static int64_t row_blck(int type)
{
    if (type == WK_GGML_F16 || type == WK_GGML_BF16) return 1;
    return wk_qtraits_get(type) ? wk_ggml_type_get(type)->blck : 0;
}

/* Values i..i+m of the row held by q (blocks of `type`, or halves) into y. */
static void dequant_part(int type, const void *q, int64_t i, float *y, int64_t m, int simd)
{
    if (type == WK_GGML_F16 || type == WK_GGML_BF16) {
        const uint16_t *h = (const uint16_t *)q + i;
        if (type == WK_GGML_F16) simd ? wk_f16_to_f32_row(h, y, (size_t)m) : wk_f16_to_f32_row_ref(h, y, (size_t)m);
        else simd ? wk_bf16_to_f32_row(h, y, (size_t)m) : wk_bf16_to_f32_row_ref(h, y, (size_t)m);
        return;
    }
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    const uint8_t *p = (const uint8_t *)q + (size_t)(i / ti->blck) * ti->size;
    if (!simd || !wk_qstats_dequant_simd(type, p, y, m / ti->blck)) wk_qtraits_get(type)->dequantize(p, y, m);
}

/* The exact rule's E, 256 values at a time; simd 0: scalar kernels only. */
static double exact_err(int type, const float *x, const void *q, int64_t n, int simd)
{
    if (!row_blck(type)) return NAN;
    float y[WK_QSTATS_GROUP];
    wk_qstats_acc a;
    wk_qstats_acc_init(&a);
    for (int64_t i = 0; i < n; i += WK_QSTATS_GROUP) {
        const int64_t m = n - i < WK_QSTATS_GROUP ? n - i : WK_QSTATS_GROUP;
        dequant_part(type, q, i, y, m, simd);
        if (simd) wk_qstats_acc_sq_diff(&a, x + i, y, m);
        else wk_qstats_acc_sq_diff_ref(&a, x + i, y, m);
    }
    return wk_qstats_acc_sum(&a);
}

double wk_qstats_exact_err(int type, const float *x, const void *q, int64_t n)
{
    return exact_err(type, x, q, n, 1);
}

double wk_qstats_exact_err_ref(int type, const float *x, const void *q, int64_t n)
{
    return exact_err(type, x, q, n, 0);
}

static void row(const float *x, const float *y, int64_t n, double st[2], int simd)
{
    double le[WK_QSTATS_DLANES] = { 0 }, lx[WK_QSTATS_DLANES] = { 0 };
    groups(x, y, n, le, lx, simd);
    st[0] = wk_qstats_lanes_sum(le);
    st[1] = wk_qstats_lanes_sum(lx);
    if (!wk_qstats_need_exact(st[0], st[1])) return;
    wk_qstats_acc a;
    wk_qstats_acc_init(&a);
    if (simd) wk_qstats_acc_sq_diff(&a, x, y, n);
    else wk_qstats_acc_sq_diff_ref(&a, x, y, n);
    st[0] = wk_qstats_acc_sum(&a);
    st[1] = exact_sq(x, n, simd);
}

void wk_qstats_row(const float *x, const float *y, int64_t n, double st[2]) { row(x, y, n, st, 1); }
void wk_qstats_row_ref(const float *x, const float *y, int64_t n, double st[2]) { row(x, y, n, st, 0); }

/* Each group of 256 values is dequantized into a buffer and summed with its x. */
static void row_q(int type, const float *x, const void *q, int64_t n, double st[2], int simd)
{
    if (!row_blck(type)) { st[0] = st[1] = NAN; return; }
    double le[WK_QSTATS_DLANES] = { 0 }, lx[WK_QSTATS_DLANES] = { 0 };
    float y[WK_QSTATS_GROUP];
    for (int64_t i = 0; i < n; i += WK_QSTATS_GROUP) {
        const int64_t m = n - i < WK_QSTATS_GROUP ? n - i : WK_QSTATS_GROUP;
        dequant_part(type, q, i, y, m, simd);
        groups(x + i, y, m, le, lx, simd);
    }
    st[0] = wk_qstats_lanes_sum(le);
    st[1] = wk_qstats_lanes_sum(lx);
    if (!wk_qstats_need_exact(st[0], st[1])) return;
    st[0] = exact_err(type, x, q, n, simd);
    st[1] = exact_sq(x, n, simd);
}

void wk_qstats_row_q(int type, const float *x, const void *q, int64_t n, double st[2])
{
    row_q(type, x, q, n, st, 1);
}

void wk_qstats_row_q_ref(int type, const float *x, const void *q, int64_t n, double st[2])
{
    row_q(type, x, q, n, st, 0);
}
