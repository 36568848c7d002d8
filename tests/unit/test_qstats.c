/* test_qstats.c — the quantization error statistics (wk_qstats.h): the AVX2
 * kernels against their scalar references bit for bit, rule 1.3 (float
 * groups, with its fallback to the exact rule 1.2) and rule 1.2 against
 * independent spellings of them, adversarial rows (NaN, Inf, 1e20, 1e-30,
 * zeros, denormals, lengths not a multiple of 256), the legacy AVX2
 * dequantizers against wk_dequantize_row_*, and the row driver's statistics
 * (wk_quantize_rows_stats): same bytes and same errors as wk_quantize_rows,
 * the same statistics for every thread count. */
#include "wk_test.h"
#include "wk_qstats.h"
#include "wk_quant.h"
#include "wk_half.h"

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

/* The exact rule (1.2) spelled out independently: 16 lanes, fixed tree. */
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

/* Exact-rule sums over random lengths, split into random pieces: dispatched == reference == rule. */
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
            CHECK(same_bits(wk_qstats_exact_sq(x, n), by_rule(x, NULL, n)));
            CHECK_EQ_U64(a.n, (uint64_t)n);
        }
    }
    /* non-finite values: the sum is not finite (the driver's scan relies on it) */
    for (int i = 0; i < 64; i++) x[i] = 1.0f;
    const float bad[3] = { NAN, INFINITY, -INFINITY };
    for (int k = 0; k < 3; k++)
        for (int at = 0; at < 64; at += 9) {
            x[at] = bad[k];
            CHECK(!isfinite(wk_qstats_exact_sq(x, 64)));
            x[at] = 1.0f;
        }
    x[5] = 3.4028235e38f;   /* the largest float: finite */
    CHECK(isfinite(wk_qstats_exact_sq(x, 64)));
}

/* Rule 1.3 spelled out independently: float terms, groups of 256 with 32
 * float lanes, 8 double lanes, fixed tree; y NULL: X only.  No fallback. */
static double by_rule13(const float *x, const float *y, int64_t n)
{
    double L[8] = { 0 };
    for (int64_t g0 = 0; g0 < n; g0 += 256) {
        volatile float f[32] = { 0 };   /* volatile: every operation rounded to float, in order */
        for (int64_t k = 0; k < 256 && g0 + k < n; k++) {
            volatile float d = y ? x[g0 + k] - y[g0 + k] : x[g0 + k];
            volatile float t = d * d;
            f[k % 32] = f[k % 32] + t;
        }
        for (int j = 0; j < 8; j++) {
            volatile float a = f[j] + f[j + 16], b = f[j + 8] + f[j + 24], g = a + b;
            L[j] = L[j] + (double)g;
        }
    }
    double t0 = L[0] + L[4], t1 = L[1] + L[5], t2 = L[2] + L[6], t3 = L[3] + L[7];
    return (t0 + t2) + (t1 + t3);
}

/* The complete rule 1.3 of a row: the float sums, or the exact ones when
 * E or X is not finite or X < 2^-60. */
static void by_rule13_row(const float *x, const float *y, int64_t n, double st[2])
{
    st[0] = by_rule13(x, y, n);
    st[1] = by_rule13(x, NULL, n);
    if (!isfinite(st[0]) || !isfinite(st[1]) || st[1] < ldexp(1.0, -60)) {
        st[0] = by_rule(x, y, n);
        st[1] = by_rule(x, NULL, n);
    }
}

static int same_st(const double a[2], const double b[2])
{
    return same_bits(a[0], b[0]) && same_bits(a[1], b[1]);
}

/* A row of family f for the rule-1.3 tests: the families of value(), plus
 * adversarial ones (f >= 8): NaN, +-Inf, 1e20 (its float square overflows),
 * 1e-30 (tiny: the fallback), all zeros, denormals, mixed magnitudes. */
static void adv_row(int f, float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        x[i] = value(f < 8 ? f : 0);
        y[i] = f & 4 ? x[i] + value(0) * 0.01f : value(f + 1);
    }
    if (f < 8 || n == 0) return;
    const int64_t at = (int64_t)(rnd() % (uint32_t)n);
    switch (f) {
    case 8: x[at] = NAN; break;
    case 9: x[at] = rnd() & 1 ? INFINITY : -INFINITY; break;
    case 10: x[at] = 1e20f; y[at] = 1.00001e20f; break;
    case 11: for (int64_t i = 0; i < n; i++) x[i] *= 1e-30f, y[i] = x[i] * 0.999f; break;
    case 12: for (int64_t i = 0; i < n; i++) x[i] = y[i] = 0.0f; break;
    case 13: for (int64_t i = 0; i < n; i++) x[i] = ldexpf((float)(rnd() % 64) - 32.0f, -140), y[i] = 0.0f; break;
    case 14: for (int64_t i = 0; i < n; i++) x[i] = ldexpf(x[i], (int)(rnd() % 120) - 60); break;
    case 15: y[at] = NAN; break;           /* a NaN dequantized value: E not finite */
    case 16: x[at] = 3e19f; y[at] = -3e19f; break;   /* float d = 6e19: d * d overflows */
    case 17:   /* raw bits, |x| in [2^-70, 2^50): rounding in every lane, no overflow, denormal terms */
        for (int64_t i = 0; i < n; i++) {
            uint32_t u = (rnd() << 16 ^ rnd()) & 0x807fffffu;
            u |= (uint32_t)(127 - 70 + rnd() % 120) << 23;
            memcpy(&x[i], &u, sizeof u);
            y[i] = rnd() % 4 ? x[i] * (1.0f + ldexpf((float)(rnd() % 64), -12)) : 0.0f;
        }
        break;
    default: break;
    }
}

/* Rule 1.3: dispatched (AVX2) == scalar reference == the independent spelling,
 * for every family and length, fallback cases included. */
static void test_rule13(void)
{
    enum { N = 5000, NF = 18 };
    static float x[N], y[N];
    static const int64_t lens[] = { 0, 1, 7, 31, 32, 33, 255, 256, 257, 288, 511, 512, 1000, 4160, 4096, 5000 };
    int64_t fallbacks = 0, rows = 0;
    for (int f = 0; f < NF; f++) {
        for (int rep = 0; rep < 40; rep++, rows++) {
            const int64_t n = rep < 16 ? lens[rep] : (int64_t)(rnd() % N);
            adv_row(f, x, y, n);
            double a[2], b[2], c[2];
            wk_qstats_row(x, y, n, a);
            wk_qstats_row_ref(x, y, n, b);
            by_rule13_row(x, y, n, c);
            CHECK_MSG(same_st(a, b), "family %d n %d: %.17g %.17g vs reference %.17g %.17g", f, (int)n,
                      a[0], a[1], b[0], b[1]);
            CHECK_MSG(same_st(b, c), "family %d n %d: reference %.17g %.17g vs rule %.17g %.17g", f, (int)n,
                      b[0], b[1], c[0], c[1]);
            CHECK(same_bits(wk_qstats_fast_sq(x, n), by_rule13(x, NULL, n)));
            CHECK(same_bits(wk_qstats_fast_sq_ref(x, n), by_rule13(x, NULL, n)));
            CHECK(same_bits(wk_qstats_fast_sq_diff(x, y, n), by_rule13(x, y, n)));
            CHECK(same_bits(wk_qstats_fast_sq_diff_ref(x, y, n), by_rule13(x, y, n)));
            const int fb = wk_qstats_need_exact(by_rule13(x, y, n), by_rule13(x, NULL, n));
            fallbacks += fb;
            /* what the fallback guarantees */
            if (f == 8 || f == 9) CHECK_MSG(!isfinite(b[1]) || n == 0, "family %d: X finite with NaN/Inf", f);
            if (f == 10 || f == 16) {
                CHECK_MSG(n == 0 || (fb && isfinite(b[0]) && isfinite(b[1])), "family %d n %d: %g %g", f,
                          (int)n, b[0], b[1]);
            }
            if (f == 11 || f == 12 || f == 13)
                CHECK_MSG(fb && same_bits(b[1], by_rule(x, NULL, n)), "family %d: tiny row not exact", f);
            if (f == 12) CHECK(b[0] == 0 && b[1] == 0 && !signbit(b[1]));
            if (f < 8 && n > 0) {   /* within ~1e-6 of the exact sums */
                double ex = by_rule(x, NULL, n), ee = by_rule(x, y, n);
                CHECK_MSG(fabs(b[1] - ex) <= 2e-6 * ex || f == 2, "family %d: X %.17g vs exact %.17g", f, b[1], ex);
                CHECK_MSG(fabs(b[0] - ee) <= 2e-6 * ee || f == 2 || fb, "family %d: E %.17g vs exact %.17g", f, b[0], ee);
            }
        }
    }
    printf("  rule 1.3: %lld rows, %lld by the exact fallback\n", (long long)rows, (long long)fallbacks);
    CHECK(fallbacks > 0 && fallbacks < rows);
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

/* Row statistics from blocks: dispatched == reference == rule 1.3 on the
 * dequantized floats; E close to wk_quant_sq_error (sequential double sum). */
static void test_row_q(void)
{
    enum { N = 1024 };
    static float x[N], y[N];
    static uint8_t q[N * 2];
    for (size_t t = 0; t < NQT; t++) {
        for (int f = 0; f < 6; f++) {   /* f 3: magnitudes 2^-12..2^12; 4: tiny (fallback); 5: zeros */
            for (int i = 0; i < N; i++)
                x[i] = f == 1 ? value(2) : value(0) * (f == 2 ? 1e3f : f == 3 ? ldexpf(1, (int)(rnd() % 25) - 12)
                                                                     : f == 4 ? 1e-25f : f == 5 ? 0.0f : 1);
            wk_quant_kernel_auto(QT[t])(x, q, N);
            wk_qtraits_get(QT[t])->dequantize(q, y, N);
            double a[2], b[2], c[2];
            wk_qstats_row_q(QT[t], x, q, N, a);
            wk_qstats_row_q_ref(QT[t], x, q, N, b);
            by_rule13_row(x, y, N, c);
            const double s = wk_quant_sq_error(QT[t], x, q, N, NULL);
            CHECK_MSG(same_st(a, b), "%s family %d: %.17g vs reference %.17g", wk_ggml_type_get(QT[t])->lname, f,
                      a[0], b[0]);
            CHECK_MSG(same_st(b, c), "%s family %d: %.17g vs rule %.17g", wk_ggml_type_get(QT[t])->lname, f, b[0], c[0]);
            CHECK_MSG(isfinite(b[0]) && fabs(b[0] - s) <= 2e-6 * fabs(s), "%s: %.17g vs sequential %.17g",
                      wk_ggml_type_get(QT[t])->lname, b[0], s);
            CHECK(same_bits(wk_qstats_exact_err(QT[t], x, q, N), wk_qstats_exact_err_ref(QT[t], x, q, N)));
            CHECK(same_bits(wk_qstats_exact_err_ref(QT[t], x, q, N), by_rule(x, y, N)));
        }
    }
    /* F16 / BF16 outputs: the halves as q */
    static uint16_t h[N];
    for (int bf = 0; bf < 2; bf++)
        for (int f = 0; f < 4; f++) {
            const int64_t n = f == 0 ? N : f == 1 ? 288 : f == 2 ? 33 : 1000;
            for (int64_t i = 0; i < n; i++) x[i] = value(f == 3 ? 1 : 0);
            if (f == 3) x[5] = 1e20f;   /* fits BF16: X's float square overflows, the fallback */
            if (bf) wk_f32_to_bf16_row(x, h, (size_t)n), wk_bf16_to_f32_row(h, y, (size_t)n);
            else wk_f32_to_f16_row(x, h, (size_t)n), wk_f16_to_f32_row(h, y, (size_t)n);
            double a[2], b[2], c[2];
            const int type = bf ? WK_GGML_BF16 : WK_GGML_F16;
            wk_qstats_row_q(type, x, h, n, a);
            wk_qstats_row_q_ref(type, x, h, n, b);
            by_rule13_row(x, y, n, c);
            CHECK_MSG(same_st(a, b) && same_st(b, c), "%s f %d: %.17g %.17g / %.17g %.17g / %.17g %.17g",
                      bf ? "bf16" : "f16", f, a[0], a[1], b[0], b[1], c[0], c[1]);
            if (f == 3 && bf) CHECK(isfinite(b[0]) && isfinite(b[1]));
        }
    double st[2];
    wk_qstats_row_q(WK_GGML_F32, x, q, 32, st);
    CHECK(isnan(st[0]) && isnan(st[1]));
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
                    double want[2];
                    wk_qstats_row_q_ref(QT[t], x + r * N, o1 + r * rs, N, want);
                    CHECK(same_st(st1 + 2 * r, want));
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
    WK_RUN(test_rule13);
    WK_RUN(test_dequant);
    WK_RUN(test_row_q);
    WK_RUN(test_driver);
    return wk_test_summary();
}
