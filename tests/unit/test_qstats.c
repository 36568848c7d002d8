/* test_qstats.c — the quantization error statistics (wk_qstats.h): the AVX2
 * kernels against their scalar references bit for bit, the summation rule
 * against an independent spelling of it, the legacy AVX2 dequantizers
 * against wk_dequantize_row_*, and the row driver's statistics
 * (wk_quantize_rows_stats): same bytes and same errors as wk_quantize_rows,
 * the same statistics for every thread count, the NaN/Inf scan riding on
 * the sum of squares. */
#include "wk_test.h"
#include "wk_qstats.h"
#include "wk_quant.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

static uint64_t rng_state = 1;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* A value of family f: weight-like, wide exponents, denormals and exact zeros, raw bits (finite). */
static float value(int f)
{
    switch (f % 4) {
    case 0: return ((float)rnd() * (1.0f / 4294967296.0f) - 0.5f) * 0.05f;   /* full mantissas */
    case 1: return ldexpf((float)(rnd() % 1000) - 500.0f, (int)(rnd() % 200) - 100);
    case 2: return rnd() % 3 ? 0.0f : ldexpf((float)(rnd() % 7) - 3.0f, -140);
    default: {
        float v;
        uint32_t u = rnd() << 16 ^ rnd();
        if ((u & 0x7f800000u) == 0x7f800000u) u &= ~0x00800000u;   /* keep it finite */
        memcpy(&v, &u, sizeof v);
        return v;
    }
    }
}

static int same_bits(double a, double b)
{
    if (isnan(a) && isnan(b)) return 1;
    return !memcmp(&a, &b, sizeof a);
}

/* The rule of wk_qstats.h spelled out independently: 16 lanes, fixed tree. */
static double by_rule(const float *x, const float *y, int64_t n)
{
    double l[16] = { 0 };
    for (int64_t i = 0; i < n; i++) {
        double d = y ? (double)x[i] - (double)y[i] : (double)x[i];
        double t = d * d;
        l[i % 16] = l[i % 16] + t;
    }
    double t0 = (l[0] + l[4]) + (l[8] + l[12]), t1 = (l[1] + l[5]) + (l[9] + l[13]);
    double t2 = (l[2] + l[6]) + (l[10] + l[14]), t3 = (l[3] + l[7]) + (l[11] + l[15]);
    return (t0 + t1) + (t2 + t3);
}

/* Sums over random lengths, split into random pieces: dispatched == reference == rule. */
static void test_sums(void)
{
    enum { N = 1000 };
    static float x[N], y[N];
    for (int f = 0; f < 8; f++) {
        for (int i = 0; i < N; i++) { x[i] = value(f); y[i] = f & 4 ? x[i] + value(0) : value(f + 1); }
        for (int rep = 0; rep < 40; rep++) {
            const int64_t n = rep < 20 ? rep : (int64_t)(rnd() % N);
            wk_qstats_acc a, b, c, d;
            wk_qstats_acc_init(&a), wk_qstats_acc_init(&b), wk_qstats_acc_init(&c), wk_qstats_acc_init(&d);
            for (int64_t i = 0, m; i < n; i += m) {   /* pieces of 1..37 values */
                m = 1 + (int64_t)(rnd() % 37);
                if (m > n - i) m = n - i;
                wk_qstats_acc_sq(&a, x + i, m);
                wk_qstats_acc_sq_diff(&c, x + i, y + i, m);
            }
            wk_qstats_acc_sq_ref(&b, x, n);
            wk_qstats_acc_sq_diff_ref(&d, x, y, n);
            CHECK_MSG(same_bits(wk_qstats_acc_sum(&a), wk_qstats_acc_sum(&b)), "sq family %d n %d", f, (int)n);
            CHECK_MSG(same_bits(wk_qstats_acc_sum(&c), wk_qstats_acc_sum(&d)), "diff family %d n %d", f, (int)n);
            CHECK_MSG(same_bits(wk_qstats_acc_sum(&b), by_rule(x, NULL, n)), "sq rule family %d", f);
            CHECK_MSG(same_bits(wk_qstats_acc_sum(&d), by_rule(x, y, n)), "diff rule family %d", f);
            CHECK(same_bits(wk_qstats_sum_sq(x, n), by_rule(x, NULL, n)));
            CHECK_EQ_U64(a.n, (uint64_t)n);
        }
    }
    /* non-finite values: the sum is not finite (the driver's scan relies on it) */
    for (int i = 0; i < 64; i++) x[i] = 1.0f;
    const float bad[3] = { NAN, INFINITY, -INFINITY };
    for (int k = 0; k < 3; k++)
        for (int at = 0; at < 64; at += 9) {
            x[at] = bad[k];
            CHECK(!isfinite(wk_qstats_sum_sq(x, 64)));
            x[at] = 1.0f;
        }
    x[5] = 3.4028235e38f;   /* the largest float: finite */
    CHECK(isfinite(wk_qstats_sum_sq(x, 64)));
}

/* The legacy AVX2 dequantizers give wk_dequantize_row_*'s floats on random blocks. */
static void test_dequant(void)
{
    const int types[] = { WK_GGML_Q4_0, WK_GGML_Q4_1, WK_GGML_Q5_0, WK_GGML_Q5_1, WK_GGML_Q8_0, WK_GGML_Q6_K };
    enum { NB = 64 };
    static uint8_t q[NB * 256];
    static float a[NB * 256], b[NB * 256];
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const wk_ggml_type_info *ti = wk_ggml_type_get(types[t]);
        for (int rep = 0; rep < 50; rep++) {
            for (size_t i = 0; i < sizeof q; i++) q[i] = (uint8_t)rnd();
            const int64_t nb = NB * 32 / ti->blck, n = nb * ti->blck;
            for (int64_t k = 0; k < nb; k++) {   /* scales: random non-NaN halves (Inf included) */
                const size_t o0 = types[t] == WK_GGML_Q6_K ? offsetof(wk_block_q6_K, d) : 0;
                for (size_t o = o0; o < o0 + (types[t] == WK_GGML_Q4_1 || types[t] == WK_GGML_Q5_1 ? 4u : 2u); o += 2) {
                    uint8_t *h = q + k * ti->size + o;
                    if ((h[1] & 0x7c) == 0x7c && (h[0] | (h[1] & 3))) h[1] &= 0x83;   /* NaN -> finite */
                }
            }
            if (!wk_qstats_dequant_simd(types[t], q, a, nb)) return;   /* no AVX2 here */
            wk_qtraits_get(types[t])->dequantize(q, b, n);
            int same = 1;
            for (int64_t i = 0; i < n; i++)
                same &= (isnan(a[i]) && isnan(b[i])) || !memcmp(a + i, b + i, sizeof(float));
            CHECK_MSG(same, "%s: AVX2 dequantizer differs", ti->lname);
        }
    }
}

static const int QT[] = { WK_GGML_Q4_0, WK_GGML_Q4_1, WK_GGML_Q5_0, WK_GGML_Q5_1, WK_GGML_Q8_0,
                          WK_GGML_Q2_K, WK_GGML_Q3_K, WK_GGML_Q4_K, WK_GGML_Q5_K, WK_GGML_Q6_K,
                          WK_GGML_IQ4_NL, WK_GGML_IQ4_XS };
#define NQT (sizeof QT / sizeof QT[0])

/* Row errors: dispatched == reference; close to wk_quant_sq_error (sequential sum). */
static void test_row_error(void)
{
    enum { N = 1024 };
    static float x[N];
    static uint8_t q[N * 2];
    for (size_t t = 0; t < NQT; t++) {
        for (int f = 0; f < 4; f++) {   /* f 3: magnitudes 2^-12..2^12 (rounding in every lane) */
            for (int i = 0; i < N; i++)
                x[i] = f == 1 ? value(2) : value(0) * (f == 2 ? 1e3f : f == 3 ? ldexpf(1, (int)(rnd() % 25) - 12) : 1);
            wk_quant_kernel_auto(QT[t])(x, q, N);
            double e = wk_qstats_row_sq_error(QT[t], x, q, N), r = wk_qstats_row_sq_error_ref(QT[t], x, q, N);
            double s = wk_quant_sq_error(QT[t], x, q, N, NULL);
            CHECK_MSG(same_bits(e, r), "%s family %d: %.17g vs reference %.17g",
                      wk_ggml_type_get(QT[t])->lname, f, e, r);
            CHECK_MSG(isfinite(e) && fabs(e - s) <= 1e-12 * fabs(s), "%s: %.17g vs sequential %.17g",
                      wk_ggml_type_get(QT[t])->lname, e, s);
        }
    }
    CHECK(isnan(wk_qstats_row_sq_error(WK_GGML_F32, x, q, 32)));
}

/* The driver: same bytes as wk_quantize_rows, stats = the row functions, any thread count. */
static void test_driver(void)
{
    enum { N = 512, ROWS = 37 };
    float *x = malloc(sizeof(float) * N * ROWS);
    uint8_t *o1 = malloc(N * ROWS * 2), *o2 = malloc(N * ROWS * 2);
    double st[2 * ROWS], st1[2 * ROWS];
    if (!x || !o1 || !o2) { CHECK(0); free(x); free(o1); free(o2); return; }
    for (int i = 0; i < N * ROWS; i++) x[i] = value(0);
    for (size_t t = 0; t < NQT; t++) {
        const size_t rs = wk_ggml_row_size(QT[t], N), sz = rs * ROWS;
        wk_err err;
        CHECK_OK(wk_quantize_rows(QT[t], x, o1, ROWS, N, NULL, &err), &err);
        for (int nt = 1; nt <= 3; nt++) {
            wk_qopts o = { .nthreads = nt };
            memset(o2, 0x55, sz);
            CHECK_OK(wk_quantize_rows_stats(QT[t], x, o2, ROWS, N, &o, nt == 1 ? st1 : st, &err), &err);
            CHECK_MSG(!memcmp(o1, o2, sz), "%s: bytes differ with statistics", wk_ggml_type_get(QT[t])->lname);
            if (nt == 1) {
                for (int r = 0; r < ROWS; r++) {
                    CHECK(same_bits(st1[2 * r], wk_qstats_row_sq_error(QT[t], x + r * N, o1 + r * rs, N)));
                    CHECK(same_bits(st1[2 * r + 1], wk_qstats_sum_sq(x + r * N, N)));
                }
            } else {
                CHECK_MSG(!memcmp(st, st1, sizeof st), "%s: statistics differ with %d threads",
                          wk_ggml_type_get(QT[t])->lname, nt);
            }
        }
    }
    /* the NaN/Inf scan: the same error as without statistics, lowest row first */
    x[20 * N + 300] = INFINITY;
    x[11 * N + 7] = NAN;
    for (int nt = 1; nt <= 3; nt++) {
        wk_qopts o = { .nthreads = nt, .name = "t" };
        wk_err e1, e2;
        CHECK(wk_quantize_rows(WK_GGML_Q4_0, x, o1, ROWS, N, &o, &e1) == -1);
        CHECK(wk_quantize_rows_stats(WK_GGML_Q4_0, x, o2, ROWS, N, &o, st, &e2) == -1);
        CHECK(e1.code == e2.code && e2.code == WK_E_FORMAT);
        CHECK_EQ_STR(e2.msg, e1.msg);
        CHECK_MSG(strstr(e2.msg, "row 11, column 7 is NaN") != NULL, "got: %s", e2.msg);
    }
    x[11 * N + 7] = 0.5f;
    wk_err e;
    CHECK(wk_quantize_rows_stats(WK_GGML_Q8_0, x, o2, ROWS, N, NULL, st, &e) == -1);
    CHECK_MSG(strstr(e.msg, "row 20, column 300 is +Inf") != NULL, "got: %s", e.msg);
    x[20 * N + 300] = 1e7f;   /* finite, too large for Q4_0's fp16 scale */
    CHECK(wk_quantize_rows_stats(WK_GGML_Q4_0, x, o2, ROWS, N, NULL, st, &e) == -1 && e.code == WK_E_LIMIT);
    free(x); free(o1); free(o2);
}

int main(void)
{
    WK_RUN(test_sums);
    WK_RUN(test_dequant);
    WK_RUN(test_row_error);
    WK_RUN(test_driver);
    return wk_test_summary();
}
