/* Unit tests: wk_quant — the kernel table (against the core ggml table), SIMD == reference bytes over
 * random and adversarial rows, known-answer checksums of ggml's own output
 * (so exactness is checked even where the peer test cannot run), the OpenMP
 * driver (1..4 threads identical, error policy), and round-trip error within
 * named per-type tolerances.  The real-ggml comparison is
 * tests/peer/ggml_quant.sh. */
#include "wk_quant.h"
#include "wk_qstats.h"
#include "wk_gguf.h"
#include "wk_half.h"
#include "wk_test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* ---- generators (integer-only, so identical on every platform and libm) ---------- */
static uint64_t rng_state;
static uint32_t rnd32(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Roughly normal: sum of four uniforms, scaled by 2^e (exact). */
static float normalish(int e)
{
    int32_t s = 0;
    for (int i = 0; i < 4; i++) s += (int32_t)(rnd32() >> 16) - 32768;
    return ldexpf((float)s, e - 16);
}

/* A finite float with a random exponent in [lo, hi] (biased) and random sign/mantissa. */
static float rnd_exp(unsigned lo, unsigned hi)
{
    uint32_t e = lo + rnd32() % (hi - lo + 1);
    return bitsf((rnd32() & 0x807fffffu) | (e << 23));
}

enum { NFAM = 16 };
static const char *FAM[NFAM] = {
    "normal", "normal-tiny-huge", "zeros", "signed-zeros", "constant", "flt-max",
    "denormals", "single-outlier", "alternating", "random-finite-bits", "ties",
    "sparse", "block-magnitudes", "small-integers", "with-inf", "fp16-edge",
};

static void gen_row(int f, float *x, int n)
{
    int e = (int)(rnd32() % 40) - 20;
    float c = normalish(e);
    for (int i = 0; i < n; i++) {
        switch (f) {
        case 0: x[i] = normalish(-6); break;
        case 1: x[i] = normalish(e * 5); break;
        case 2: x[i] = 0.0f; break;
        case 3: x[i] = (rnd32() & 1) ? -0.0f : 0.0f; break;
        case 4: x[i] = c; break;
        case 5: x[i] = (rnd32() & 1) ? ((rnd32() & 1) ? FLT_MAX : -FLT_MAX) : normalish(100); break;
        case 6: x[i] = bitsf(rnd32() & 0x807fffffu); break;
        case 7: x[i] = i == 37 ? ldexpf(c, 12) : normalish(e); break;
        case 8: x[i] = (i & 1) ? -c : c; break;
        case 9: x[i] = rnd_exp(0, 254); break;
        case 10: x[i] = ldexpf((float)((int)(rnd32() % 129) - 64), e - 2); break;
        case 11: x[i] = rnd32() % 16 ? 0.0f : normalish(e); break;
        case 12: x[i] = normalish(((i / 32) * 7) % 80 - 40); break;
        case 13: x[i] = (float)((int)(rnd32() % 33) - 16); break;
        case 14: x[i] = rnd32() % 8 ? normalish(e) : (rnd32() & 1 ? INFINITY : -INFINITY); break;
        default: x[i] = rnd_exp(100, 150); break;   /* d near fp16 subnormal / overflow */
        }
    }
}

static uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* ---- the kernel table against the core ggml table ------------------------------------ */

/* The quant types, in ggml id order (seeds below use the index). */
static const int QTYPES[] = {
    WK_GGML_Q4_0, WK_GGML_Q4_1, WK_GGML_Q5_0, WK_GGML_Q5_1, WK_GGML_Q8_0,
    WK_GGML_Q2_K, WK_GGML_Q3_K, WK_GGML_Q4_K, WK_GGML_Q5_K, WK_GGML_Q6_K,
    WK_GGML_IQ4_NL, WK_GGML_IQ4_XS,
};
enum { NQT = sizeof QTYPES / sizeof QTYPES[0] };

static void test_traits(void)
{
    /* the block structs (the kernels' layouts) against the core table */
    static const struct { const char *lname; int id; size_t blck, size; } want[NQT] = {
        { "q4_0", 2, WK_QK, sizeof(wk_block_q4_0) }, { "q4_1", 3, WK_QK, sizeof(wk_block_q4_1) },
        { "q5_0", 6, WK_QK, sizeof(wk_block_q5_0) }, { "q5_1", 7, WK_QK, sizeof(wk_block_q5_1) },
        { "q8_0", 8, WK_QK, sizeof(wk_block_q8_0) }, { "q2_k", 10, WK_QK_K, sizeof(wk_block_q2_K) },
        { "q3_k", 11, WK_QK_K, sizeof(wk_block_q3_K) }, { "q4_k", 12, WK_QK_K, sizeof(wk_block_q4_K) },
        { "q5_k", 13, WK_QK_K, sizeof(wk_block_q5_K) }, { "q6_k", 14, WK_QK_K, sizeof(wk_block_q6_K) },
        { "iq4_nl", 20, WK_QK, sizeof(wk_block_iq4_nl) },
        { "iq4_xs", 23, WK_QK_K, sizeof(wk_block_iq4_xs) },
    };
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const wk_qtraits *qt = wk_qtraits_get(type);
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        CHECK_EQ_U64(type, want[t].id);
        CHECK_MSG(qt && ti, "%s: ggml type %d has no kernels or no core row", want[t].lname, type);
        if (!qt || !ti) continue;
        CHECK_EQ_STR(ti->lname, want[t].lname);
        CHECK_EQ_U64(ti->blck, want[t].blck);
        CHECK_EQ_U64(ti->size, want[t].size);
        CHECK(qt->quantize_ref && qt->quantize_simd == wk_qtraits_get(type)->quantize_simd &&
              qt->quantize_imat && qt->dequantize && qt->vec_dot && qt->check && qt->idot);
        CHECK(wk_quant_kernel_auto(type) ==
              (wk_quant_have_simd() && qt->quantize_simd ? qt->quantize_simd : qt->quantize_ref));
        CHECK_EQ_U64(wk_quant_type_from_name(want[t].lname), type);
        CHECK_EQ_U64(wk_ggml_type_from_name(want[t].lname), type);
        CHECK_EQ_U64(wk_ggml_row_size(type, 4096), 4096 / want[t].blck * want[t].size);
    }
    /* every other id has no kernels */
    int nk = 0;
    for (int id = -1; id <= WK_GGML_TYPE_COUNT; id++) nk += wk_qtraits_get(id) != NULL;
    CHECK_EQ_U64(nk, NQT);
    CHECK_EQ_U64(wk_quant_type_from_name("Q4_K"), WK_GGML_Q4_K);
    CHECK_EQ_U64(wk_quant_type_from_name("q4_K"), WK_GGML_Q4_K);
    CHECK(wk_quant_type_from_name("q4") < 0 && wk_quant_type_from_name("q4_0x") < 0 &&
          wk_quant_type_from_name(NULL) < 0 && wk_quant_type_from_name("f16") < 0 &&
          wk_quant_type_from_name("iq2_xs") < 0 && wk_quant_type_from_name("q8_k") < 0);
    CHECK(!wk_qtraits_get(WK_GGML_F32) && !wk_qtraits_get(WK_GGML_Q8_1) && !wk_quant_kernel_auto(9));
}

/* ---- SIMD == reference ------------------------------------------------------------------ */
static void test_simd_equals_ref(void)
{
    if (!wk_quant_have_simd()) {
        printf("  (no AVX2/F16C on this CPU: SIMD kernels not tested)\n");
        return;
    }
    enum { N = 1024, ROWS = 120 };
    static float x[N];
    static uint8_t a[N * 2], b[N * 2];
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const wk_qtraits *qt = wk_qtraits_get(type);
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        if (!qt->quantize_simd) continue;
        int64_t rows = 0, equal = 0;
        rng_state = 0x1234567 + (uint64_t)t;
        for (int f = 0; f < NFAM; f++) {
            for (int r = 0; r < ROWS; r++, rows++) {
                gen_row(f, x, N);
                size_t sz = wk_ggml_row_size(type, N);
                memset(a, 0x11, sz);
                memset(b, 0x22, sz);
                qt->quantize_ref(x, a, N);
                qt->quantize_simd(x, b, N);
                if (qt->quantize_imat_simd && !memcmp(a, b, sz)) {   /* and weighted */
                    static float w[N];
                    for (int i = 0; i < N; i++)   /* positive, some zero, some huge */
                        w[i] = i % 37 == 0 ? 0.0f : i % 101 == 0 ? 1e30f
                             : (float)(1 + (unsigned)(r * 131 + i * 7919) % 997) / 97.0f;
                    qt->quantize_imat(x, a, N, w);
                    qt->quantize_imat_simd(x, b, N, w);
                }
                if (!memcmp(a, b, sz)) { equal++; continue; }
                size_t off = 0;
                while (a[off] == b[off]) off++;
                CHECK_MSG(0, "%s family %s row %d: block %zu byte %zu: simd 0x%02x ref 0x%02x",
                          ti->lname, FAM[f], r, off / ti->size, off % ti->size,
                          b[off], a[off]);
                if (wk_test_failures > 10) return;
            }
        }
        printf("  %s: simd == ref%s on %lld/%lld rows of %d\n", ti->lname,
               qt->quantize_imat_simd ? " (unweighted and weighted)" : "", (long long)equal,
               (long long)rows, N);
    }
}

/* ---- the fused legacy kernels (quantize_fused) == reference + checks + statistics ------ */

/* Rows aimed at the fused kernels' special cases, block by block: the value
 * with the largest |x| present as both +a and -a (Q4_0/Q5_0 take the first),
 * a zero minimum of either sign (Q4_1/Q5_1 store its sign), both at once. */
static void gen_tie_row(int f, float *x, int n)
{
    for (int b = 0; b < n / WK_QK; b++) {
        float *p = x + WK_QK * b;
        const float a = ldexpf(1.0f, (int)(rnd32() % 60) - 30);
        for (int j = 0; j < WK_QK; j++) p[j] = normalish(-8) * a * 0.01f;
        const int i = (int)(rnd32() % WK_QK), k = (int)(rnd32() % WK_QK);
        switch (f) {
        case 0: p[i] = a; p[k] = -a; break;                       /* +a / -a, either first */
        case 1:                                                   /* min is +0 or -0 */
            for (int j = 0; j < WK_QK; j++) p[j] = fabsf(p[j]);
            p[i] = (rnd32() & 1) ? -0.0f : 0.0f;
            p[k] = (rnd32() & 1) ? -0.0f : 0.0f;
            break;
        case 2:                                                   /* all zeros, mixed signs */
            for (int j = 0; j < WK_QK; j++) p[j] = (rnd32() & 1) ? -0.0f : 0.0f;
            break;
        default:                                                  /* max is a zero, min < 0 */
            for (int j = 0; j < WK_QK; j++) p[j] = -fabsf(p[j]);
            p[i] = (rnd32() & 1) ? -0.0f : 0.0f;
            break;
        }
    }
}

static void test_fused_equals_ref(void)
{
    if (!wk_quant_have_simd()) {
        printf("  (no AVX2/F16C on this CPU: fused kernels not tested)\n");
        return;
    }
    enum { NMAX = 17 * WK_QK, ROWS = 40 };
    static float x[NMAX];
    static uint8_t a[NMAX * 2], b[NMAX * 2], c[NMAX * 2];
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const wk_qtraits *qt = wk_qtraits_get(type);
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        if (!qt->quantize_fused) continue;
        int64_t rows = 0, equal = 0, nonfinite = 0, badscale = 0, floatpath = 0;
        rng_state = 0xF05ED + (uint64_t)t;
        for (int f = 0; f < NFAM + 5; f++) {
            for (int r = 0; r < ROWS; r++, rows++) {
                const int n = WK_QK * (1 + (r % 17));     /* 1..17 blocks: every tail of a group of 8 */
                if (f < NFAM) gen_row(f, x, n);
                else if (f < NFAM + 4) gen_tie_row(f - NFAM, x, n);
                else { gen_row(0, x, n); x[rnd32() % (uint32_t)n] = NAN; }   /* a NaN */
                const size_t sz = wk_ggml_row_size(type, n);
                memset(a, 0x11, sz);
                memset(b, 0x22, sz);
                memset(c, 0x33, sz);
                qt->quantize_ref(x, a, n);
                const int64_t want = wk_quant_find_nonfinite(x, n) >= 0 ? -2 : qt->check(a, n / WK_QK);
                double st[2] = { -1, -1 };
                const int64_t got = qt->quantize_fused(x, b, n, st);
                const int64_t got0 = qt->quantize_fused(x, c, n, NULL);
                CHECK_MSG(got == want && got0 == want, "%s family %d row %d (%d values): fused returns "
                          "%lld / %lld (with / without statistics), want %lld", ti->lname, f, r, n,
                          (long long)got, (long long)got0, (long long)want);
                nonfinite += want == -2;
                badscale += want >= 0;
                if (f == NFAM + 4) continue;                  /* NaN input: bytes unspecified */
                int same = !memcmp(a, b, sz) && !memcmp(a, c, sz);
                qt->quantize_simd(x, c, n);
                same &= !memcmp(a, c, sz);
                if (same && want == -1) {                     /* the statistics, bit for bit */
                    double rs[2];
                    wk_qstats_row_q_ref(type, x, a, n, rs);
                    const double e = rs[0], s2 = rs[1];
                    const double fx = wk_qstats_fast_sq_ref(x, n);
                    floatpath += isfinite(fx) && fx >= 0x1p-60;
                    CHECK_MSG(!memcmp(&st[0], &e, sizeof e) && !memcmp(&st[1], &s2, sizeof s2),
                              "%s family %d row %d: statistics %.17g %.17g, reference %.17g %.17g",
                              ti->lname, f, r, st[0], st[1], e, s2);
                } else if (want == -2) {
                    CHECK_MSG(!isfinite(st[1]), "%s family %d row %d: -2 with a finite sum of squares",
                              ti->lname, f, r);
                }
                if (same) { equal++; continue; }
                CHECK_MSG(0, "%s family %d row %d (%d values): fused/simd bytes differ from the reference",
                          ti->lname, f, r, n);
                if (wk_test_failures > 10) return;
            }
        }
        printf("  %s: fused == simd == ref on %lld/%lld NaN-free rows (%lld with Inf, %lld with a "
               "bad scale; statistics by the float rule in %lld rows), NaN rows refused\n", ti->lname,
               (long long)equal, (long long)(rows - ROWS), (long long)nonfinite - ROWS, (long long)badscale,
               (long long)floatpath);
        CHECK(floatpath > 100);
    }
}

/* The weighted AVX2 kernels against the weighted references on every row
 * family, row lengths that leave 1..7 legacy blocks for the spare lanes, and
 * six kinds of weights (ones, uneven, with zeros, all zero, huge, denormal). */
static void test_simd_weighted_equals_ref(void)
{
    if (!wk_quant_have_simd()) {
        printf("  (no AVX2/F16C on this CPU: weighted SIMD kernels not tested)\n");
        return;
    }
    enum { NMAX = 13 * 32 * 2, ROWS = 12, NW = 6 };
    static float x[NMAX], w[NMAX];
    static uint8_t a[NMAX * 2], b[NMAX * 2];
    static const int NLEG[] = { 32, 96, 224, 256, 288, 416, 832 }, NK[] = { 256, 768 };
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const wk_qtraits *qt = wk_qtraits_get(type);
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        CHECK_MSG(qt->quantize_imat_simd != NULL, "%s: no weighted SIMD kernel", ti->lname);
        if (!qt->quantize_imat_simd) continue;
        const int *lens = ti->blck == WK_QK ? NLEG : NK;
        const int nlen = ti->blck == WK_QK ? 7 : 2;
        int64_t rows = 0, equal = 0;
        rng_state = 0xabcdef + (uint64_t)t;
        for (int li = 0; li < nlen; li++) {
            const int n = lens[li];
            const size_t sz = wk_ggml_row_size(type, n);
            for (int f = 0; f < NFAM; f++) {
                if (f == 14) continue;   /* +-Inf: refused before any kernel runs */
                for (int r = 0; r < ROWS; r++, rows++) {
                    gen_row(f, x, n);
                    const int kind = r % NW;
                    for (int i = 0; i < n; i++)
                        w[i] = kind == 0 ? 1.0f
                             : kind == 1 ? (float)(1 + rnd32() % 997) / 97.0f
                             : kind == 2 ? (rnd32() % 3 ? (float)(rnd32() % 50) : 0.0f)
                             : kind == 3 ? 0.0f
                             : kind == 4 ? (i % 17 ? 1e30f : 1.0f)
                             : bitsf(1 + rnd32() % 0x7fffffu);
                    memset(a, 0x11, sz);
                    memset(b, 0x22, sz);
                    qt->quantize_imat(x, a, n, w);
                    qt->quantize_imat_simd(x, b, n, w);
                    if (!memcmp(a, b, sz)) { equal++; continue; }
                    size_t off = 0;
                    while (a[off] == b[off]) off++;
                    CHECK_MSG(0, "%s weighted, n %d family %s row %d weights %d: block %zu byte %zu: "
                              "simd 0x%02x ref 0x%02x", ti->lname, n, FAM[f], r, kind,
                              off / ti->size, off % ti->size, b[off], a[off]);
                    if (wk_test_failures > 10) return;
                }
            }
        }
        printf("  %s: weighted simd == ref on %lld/%lld rows\n", ti->lname, (long long)equal,
               (long long)rows);
    }
}

/* ---- known answers: FNV-1a of ggml's output --------------------------------------------- */

/* ggml_quantize_chunk(type, rows of golden_input(), ..., NULL) hashed with
 * FNV-1a 64.  Computed with libggml-base of @node-llama-cpp/linux-x64@3.22.1
 * by tests/peer/ggml_quant_peer.c, which prints them ("golden" line). */
static void golden_input(float *x, int rows, int n)
{
    rng_state = 0x5eed5eed5eedULL;
    for (int r = 0; r < rows; r++) gen_row(r % NFAM, x + (size_t)r * n, n);
}

static const uint64_t GOLDEN[NQT] = {
    0x078b876adbefdb44ULL, 0x729672ed0f569444ULL, 0x3336884196c56396ULL,
    0x97c73863ffe29273ULL, 0x2b50781f60015c5dULL, 0xa71ee8a3ad8327c3ULL,
    0xc55612ec80b7a8d8ULL, 0xd1fffbd05c7cdd07ULL, 0xefeb6baf6d6b4500ULL,
    0x00616851ec8e923cULL, 0x15083118156a0d11ULL, 0xe732ea23d48478f2ULL,
};

static void test_golden(void)
{
    enum { N = 512, ROWS = 64 };
    static float x[N * ROWS];
    static uint8_t out[ROWS * N * 2];
    golden_input(x, ROWS, N);
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const wk_qtraits *qt = wk_qtraits_get(type);
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        size_t sz = wk_ggml_row_size(type, N);
        for (int r = 0; r < ROWS; r++) qt->quantize_ref(x + r * N, out + r * sz, N);
        uint64_t h = fnv1a(out, sz * ROWS, 0xcbf29ce484222325ULL);
        CHECK_MSG(h == GOLDEN[t], "%s: ref output hash 0x%016llx, ggml's is 0x%016llx",
                  ti->lname, (unsigned long long)h, (unsigned long long)GOLDEN[t]);
    }
}

/* ---- the driver --------------------------------------------------------------------------- */
static void test_threads_identical(void)
{
    enum { N = 2048, ROWS = 150 };
    float *x = malloc(sizeof(float) * N * ROWS);
    uint8_t *o1 = malloc(N * ROWS * 2), *o2 = malloc(N * ROWS * 2);
    CHECK(x && o1 && o2);
    if (!x || !o1 || !o2) return;
    rng_state = 99;
    for (int r = 0; r < ROWS; r++)
        for (int i = 0; i < N; i++) x[r * N + i] = normalish(-5 - r % 7);
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        size_t sz = wk_ggml_row_size(type, N) * ROWS;
        wk_err err;
        wk_qopts o = { .nthreads = 1, .kernel = WK_QK_REF };
        CHECK_OK(wk_quantize_rows(type, x, o1, ROWS, N, &o, &err), &err);
        for (int nt = 1; nt <= 4; nt++) {
            wk_qopts p = { .nthreads = nt, .kernel = WK_QK_AUTO };
            memset(o2, 0x77, sz);
            CHECK_OK(wk_quantize_rows(type, x, o2, ROWS, N, &p, &err), &err);
            CHECK_MSG(!memcmp(o1, o2, sz), "%s: %d threads differ from 1-thread reference",
                      ti->lname, nt);
        }
        /* with importance weights: the weighted kernel row by row, any thread count */
        static float w[N];
        for (int i = 0; i < N; i++) w[i] = (float)(1 + (i * 7919) % 97) / 13.0f;
        for (int r = 0; r < ROWS; r++)
            wk_qtraits_get(type)->quantize_imat(x + (size_t)r * N, o1 + (size_t)r * (sz / ROWS), N, w);
        for (int nt = 1; nt <= 4; nt++) {
            wk_qopts p = { .nthreads = nt, .kernel = nt & 1 ? WK_QK_AUTO : WK_QK_REF, .imatrix = w };
            memset(o2, 0x77, sz);
            CHECK_OK(wk_quantize_rows(type, x, o2, ROWS, N, &p, &err), &err);
            CHECK_MSG(!memcmp(o1, o2, sz), "%s imatrix: %d threads differ from the weighted kernel",
                      ti->lname, nt);
        }
        wk_qopts ps = { .nthreads = 1, .kernel = WK_QK_SIMD, .imatrix = w };
        if (wk_qtraits_get(type)->quantize_imat_simd && wk_quant_have_simd()) {
            memset(o2, 0x77, sz);
            CHECK_OK(wk_quantize_rows(type, x, o2, ROWS, N, &ps, &err), &err);
            CHECK_MSG(!memcmp(o1, o2, sz), "%s imatrix: SIMD differs from the weighted kernel",
                      ti->lname);
        } else {
            CHECK(wk_quantize_rows(type, x, o2, ROWS, N, &ps, &err) != 0 && err.code == WK_E_UNSUPPORTED);
        }
    }
    free(x); free(o1); free(o2);
}

static void test_driver_errors(void)
{
    enum { N = 256, ROWS = 40 };
    static float x[N * ROWS];
    static uint8_t out[N * ROWS * 2];
    const int q4 = WK_GGML_Q4_0;
    wk_err err;
    rng_state = 7;
    for (int i = 0; i < N * ROWS; i++) x[i] = normalish(-4);

    /* several bad rows: the lowest is reported, whatever the thread count */
    x[33 * N + 200] = INFINITY;
    x[17 * N + 5] = NAN;
    x[38 * N + 0] = -INFINITY;
    for (int nt = 1; nt <= 3; nt++) {
        wk_qopts o = { .nthreads = nt, .name = "blk.0.attn_q.weight" };
        CHECK(wk_quantize_rows(q4, x, out, ROWS, N, &o, &err) == -1);
        CHECK(err.code == WK_E_FORMAT);
        CHECK_MSG(strstr(err.msg, "blk.0.attn_q.weight: row 17, column 5 is NaN") != NULL,
                  "got: %s", err.msg);
    }
    x[17 * N + 5] = 0.5f;
    CHECK(wk_quantize_rows(q4, x, out, ROWS, N, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "row 33, column 200 is +Inf") != NULL, "got: %s", err.msg);
    x[33 * N + 200] = 0.5f;
    x[38 * N] = 0.5f;

    /* finite but too large: fp16 d overflows (max/8 > 65504) */
    x[3 * N + 70] = 1e7f;
    CHECK(wk_quantize_rows(q4, x, out, ROWS, N, NULL, &err) == -1);
    CHECK(err.code == WK_E_LIMIT);
    CHECK_MSG(strstr(err.msg, "row 3, block 2 (columns 64..95)") != NULL, "got: %s", err.msg);
    /* Q8_0 takes 5e6 (5e6/127 < 65504), Q4_0 does not (5e6/8 > 65504) */
    x[3 * N + 70] = 5e6f;
    CHECK(wk_quantize_rows(q4, x, out, ROWS, N, NULL, &err) == -1 && err.code == WK_E_LIMIT);
    CHECK_OK(wk_quantize_rows(WK_GGML_Q8_0, x, out, ROWS, N, NULL, &err), &err);
    x[3 * N + 70] = 0.5f;

    CHECK_OK(wk_quantize_rows(q4, x, out, ROWS, N, NULL, &err), &err);
    CHECK(wk_quantize_rows(q4, x, out, ROWS, 48, NULL, &err) == -1 && err.code == WK_E_USAGE);
    CHECK(wk_quantize_rows(WK_GGML_Q4_K, x, out, 1, 128, NULL, &err) == -1);
    CHECK(wk_quantize_rows(q4, x, out, 0, N, NULL, &err) == 0);   /* no rows: nothing to do */
    wk_qopts simd = { .kernel = WK_QK_SIMD };   /* every type has a SIMD kernel on x86 */
    if (wk_quant_have_simd())
        CHECK_OK(wk_quantize_rows(WK_GGML_Q6_K, x, out, 1, N, &simd, &err), &err);
    else
        CHECK(wk_quantize_rows(WK_GGML_Q6_K, x, out, 1, N, &simd, &err) == -1
              && err.code == WK_E_UNSUPPORTED);
    wk_qopts bad = { .kernel = (wk_qkernel)42 };
    CHECK(wk_quantize_rows(q4, x, out, 1, N, &bad, &err) == -1 && err.code == WK_E_USAGE);

    CHECK(wk_quant_find_nonfinite(x, N * ROWS) == -1);
    for (int at = 0; at < 70; at++) {       /* every position of the SIMD scan and its tail */
        float y[70];
        for (int i = 0; i < 70; i++) y[i] = (float)i;
        y[at] = -INFINITY;
        CHECK(wk_quant_find_nonfinite(y, 70) == at);
        y[at] = bitsf(0x7fc00001u);
        CHECK(wk_quant_find_nonfinite(y, 70) == at);
    }
}

/* ---- round trip: dequant(quant(x)) error within named tolerances --------------------- */

/* On normal-like data: nmse = sum (x - y)^2 / sum x^2 (limit about 1.2x what
 * ggml's reference gives), and max_rel = the largest |x - y| / max|x| of its
 * block.  Legacy bounds from the algorithm, plus ~2% for the fp16 scale:
 * Q4_0/Q5_0 one step (1/8, 1/16: the value opposite the max is clipped),
 * Q8_0 half a step (0.5/127), Q4_1/Q5_1 half a step of a range <= 2 max
 * (1/15, 1/31).  K-quants: 1.2x measured (scales are per super-block). */
static const struct { int t; double max_nmse, max_rel; } TOL[] = {
    { WK_GGML_Q4_0, 8.0e-3, 0.1275 }, { WK_GGML_Q4_1, 6.9e-3, 0.068 },
    { WK_GGML_Q5_0, 2.0e-3, 0.064 },  { WK_GGML_Q5_1, 1.6e-3, 0.033 },
    { WK_GGML_Q8_0, 3.1e-5, 0.0045 }, { WK_GGML_Q4_K, 5.7e-3, 0.107 },
    { WK_GGML_Q5_K, 1.5e-3, 0.060 },  { WK_GGML_Q6_K, 3.5e-4, 0.020 },
};

static void test_roundtrip_error(void)
{
    enum { N = 4096, ROWS = 64 };
    float *x = malloc(sizeof(float) * N * ROWS), *y = malloc(sizeof(float) * N * ROWS);
    uint8_t *q = malloc(N * ROWS * 2);
    CHECK(x && y && q);
    if (!x || !y || !q) return;
    rng_state = 2024;
    for (int i = 0; i < N * ROWS; i++) x[i] = normalish(0) * 0.5f;
    for (size_t k = 0; k < sizeof TOL / sizeof TOL[0]; k++) {
        const int type = TOL[k].t;
        const wk_qtraits *qt = wk_qtraits_get(type);
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        wk_err err;
        CHECK_OK(wk_quantize_rows(type, x, q, ROWS, N, NULL, &err), &err);
        for (int r = 0; r < ROWS; r++)
            qt->dequantize(q + r * wk_ggml_row_size(type, N), y + r * N, N);
        double se = 0, sx = 0, rel = 0;
        for (int b = 0; b < N * ROWS; b += (int)ti->blck) {
            float amax = 0, emax = 0;
            for (int i = b; i < b + (int)ti->blck; i++) {
                se += (double)(x[i] - y[i]) * (x[i] - y[i]);
                sx += (double)x[i] * x[i];
                amax = fmaxf(amax, fabsf(x[i]));
                emax = fmaxf(emax, fabsf(x[i] - y[i]));
            }
            if (emax / amax > rel) rel = emax / amax;
        }
        double nmse = se / sx;
        printf("  %s: nmse %.3e (limit %.1e), max |err|/block max %.4f (limit %.4f)\n",
               ti->lname, nmse, TOL[k].max_nmse, rel, TOL[k].max_rel);
        CHECK_MSG(nmse <= TOL[k].max_nmse, "%s: nmse %.3e above %.1e", ti->lname, nmse,
                  TOL[k].max_nmse);
        CHECK_MSG(rel <= TOL[k].max_rel, "%s: max relative error %.4f above %.4f", ti->lname,
                  rel, TOL[k].max_rel);
        /* vec_dot equals the dot of the dequantized row (same order of sums) */
        float dot = qt->vec_dot(q, x, N), ref = 0;
        for (int i = 0; i < N; i++) ref += y[i] * x[i];
        CHECK_MSG(fbits(dot) == fbits(ref), "%s: vec_dot %g, expected %g", ti->lname, dot, ref);
    }
    free(x); free(y); free(q);
}

/* --search: per block, never a larger (weighted) error than the reference; lower overall. */
static void test_search_never_worse(void)
{
    enum { N = 512, ROWS = 24 };
    static float x[N], w[N];
    static uint8_t a[N * 2], b[N * 2];
    rng_state = 4242;
    for (int i = 0; i < N; i++) w[i] = (float)(1 + rnd32() % 50);
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const wk_qtraits *qt = wk_qtraits_get(type);
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        if (!wk_quant_search_supported(type)) continue;
        double tot_ref = 0, tot_s = 0;
        for (int r = 0; r < ROWS; r++) {
            /* odd rows normal (they make the totals), even rows every other finite family */
            int fam = r % 2 ? 0 : (r / 2) % (NFAM - 2);
            if (fam >= 14) fam++;             /* not "with-inf" */
            gen_row(fam, x, N);
            const float *imat = r % 3 == 0 ? w : NULL;
            qt->quantize_ref(x, a, N);
            wk_quantize_row_search(type, x, b, N, imat);
            for (int k = 0; k < N / (int)ti->blck; k++) {
                const float *xb = x + k * (int)ti->blck, *wb = imat ? imat + k * (int)ti->blck : NULL;
                double er = wk_quant_sq_error(type, xb, a + k * ti->size, (int)ti->blck, wb);
                double es = wk_quant_sq_error(type, xb, b + k * ti->size, (int)ti->blck, wb);
                if (!(es <= er) && isfinite(er))
                    CHECK_MSG(0, "%s row %d block %d: search error %g > reference %g", ti->lname,
                              r, k, es, er);
                if (r % 2) { tot_ref += er; tot_s += es; }
            }
        }
        CHECK_MSG(tot_s < tot_ref, "%s: search total %g not below reference %g", ti->lname, tot_s, tot_ref);
    }
}

/* Brute force: min over d = 0 and every nonzero finite fp16 d (both signs) of
 * sum w min_{q in [lo, hi]} (x - q d)^2 -- the best Q4_0 / Q5_0 block there is. */
static double brute_sym_optimum(const float *x, const float *w, int lo, int hi)
{
    double best = 0;
    for (int i = 0; i < 32; i++) best += (w ? w[i] : 1.0) * (double)x[i] * x[i];
    for (unsigned h = 1; h <= 0x7BFF; h++)
        for (int s = -1; s <= 1; s += 2) {
            const double d = s * (double)wk_f16_to_f32((uint16_t)h);
            double e = 0;
            for (int i = 0; i < 32 && e < best; i++) {
                double f = floor(x[i] / d), qa = fmin(fmax(f, lo), hi), qb = fmin(fmax(f + 1, lo), hi);
                double ea = (x[i] - qa * d) * (x[i] - qa * d), eb = (x[i] - qb * d) * (x[i] - qb * d);
                e += (w ? w[i] : 1.0) * fmin(ea, eb);
            }
            if (e < best) best = e;
        }
    return best;
}

/* --search for Q4_0 / Q5_0 is the exact optimum over every finite fp16 scale
 * (bench/quant_optimum.sh measures it on the fixture models; this checks odd
 * blocks: constants, ties, outliers, sparse, fp16-edge magnitudes, weights
 * with zeros), and keeps an overflowing reference block (refused later). */
static void test_search_exact(void)
{
    static const int fams[] = { 0, 1, 4, 7, 8, 10, 11, 13, 15 };
    float x[64], w[32];
    uint8_t b[64], r[64];
    int compared = 0;
    rng_state = 777;
    for (int i = 0; i < 32; i++) w[i] = i % 5 == 0 ? 0.0f : (float)(1 + rnd32() % 9);
    for (int k = 0; k < 2; k++) {
        const int type = k ? WK_GGML_Q5_0 : WK_GGML_Q4_0;
        const wk_qtraits *qt = wk_qtraits_get(type);
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        const int lo = k ? -16 : -8, hi = k ? 15 : 7;
        for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++)
            for (int weighted = 0; weighted < 2; weighted++) {
                gen_row(fams[f], x, 64);
                const float *wv = weighted ? w : NULL;
                qt->quantize_ref(x, r, 32);
                wk_quantize_row_search(type, x, b, 32, wv);
                if (qt->check(r, 1) >= 0) {            /* reference scale overflows: kept */
                    CHECK_MSG(!memcmp(b, r, ti->size), "%s %s: overflowing block not kept",
                              ti->lname, FAM[fams[f]]);
                    continue;
                }
                double es = wk_quant_sq_error(type, x, b, 32, wv), eo = brute_sym_optimum(x, wv, lo, hi);
                compared++;
                CHECK_MSG(es <= eo * (1 + 1e-9) && es >= eo * (1 - 1e-9), "%s %s%s: search error %.17g, "
                          "optimum %.17g", ti->lname, FAM[fams[f]], weighted ? " weighted" : "", es, eo);
            }
    }
    CHECK_MSG(compared >= 30, "only %d of 36 blocks compared", compared);
}

/* --search: the same bytes for 1, 2 and 3 threads, with and without an imatrix. */
static void test_search_threads_identical(void)
{
    enum { N = 512, ROWS = 40 };
    static float x[N * ROWS], w[N];
    static uint8_t o1[N * ROWS * 2], o2[N * ROWS * 2];
    rng_state = 31337;
    for (int i = 0; i < N * ROWS; i++) x[i] = normalish(-6 - (i / N) % 5);
    for (int i = 0; i < N; i++) w[i] = (float)(rnd32() % 100) / 7.0f;
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const wk_ggml_type_info *ti = wk_ggml_type_get(type);
        const size_t sz = wk_ggml_row_size(type, N) * ROWS;
        if (!wk_quant_search_supported(type)) {   /* refused by name, not run */
            wk_err err;
            wk_qopts o = { .nthreads = 1, .kernel = WK_QK_SEARCH };
            CHECK(wk_quantize_rows(type, x, o1, ROWS, N, &o, &err) != 0 &&
                  err.code == WK_E_UNSUPPORTED && strstr(err.msg, "--search is not implemented"));
            continue;
        }
        for (int im = 0; im < 2; im++) {
            wk_err err;
            wk_qopts o = { .nthreads = 1, .kernel = WK_QK_SEARCH, .imatrix = im ? w : NULL };
            CHECK_OK(wk_quantize_rows(type, x, o1, ROWS, N, &o, &err), &err);
            for (int nt = 2; nt <= 3; nt++) {
                o.nthreads = nt;
                memset(o2, 0x55, sz);
                CHECK_OK(wk_quantize_rows(type, x, o2, ROWS, N, &o, &err), &err);
                CHECK_MSG(!memcmp(o1, o2, sz), "%s search%s: %d threads differ from 1", ti->lname,
                          im ? " (imatrix)" : "", nt);
            }
        }
    }
}

/* Hand-checked blocks: the layouts and rounding rules of docs/formats/quant-blocks.md. */
static void test_known_blocks(void)
{
    float x[256];
    uint8_t b[256];
    for (int i = 0; i < 32; i++) x[i] = (float)(i - 16);      /* -16 .. 15 */
    wk_quantize_row_q4_0_ref(x, b, 32);
    /* max |x| is -16 -> d = 2; q = (int)(x/2 + 8.5) clipped to 15 */
    CHECK_EQ_U64(b[0] | b[1] << 8, wk_f32_to_f16(2.0f));
    CHECK_EQ_U64(b[2], 0x80);          /* x[0] = -16 -> 0, x[16] = 0 -> 8 */
    CHECK_EQ_U64(b[2 + 15], 0xF8);     /* x[15] = -1 -> (int)8.0 = 8, x[31] = 15 -> 15 (clip) */
    wk_quantize_row_q8_0_ref(x, b, 32);
    CHECK_EQ_U64(b[0] | b[1] << 8, wk_f32_to_f16(16.0f / 127));
    CHECK_EQ_U64((int8_t)b[2], -127);
    CHECK_EQ_U64((int8_t)b[2 + 31], 119);   /* 15 * 127/16 = 119.06 */
    wk_quantize_row_q5_0_ref(x, b, 32);
    /* d = 1: q = x + 16 (0..31); qh bit i = bit 4 of q[i] */
    CHECK_EQ_U64(b[0] | b[1] << 8, wk_f32_to_f16(1.0f));
    uint32_t qh = (uint32_t)b[2] | (uint32_t)b[3] << 8 | (uint32_t)b[4] << 16 | (uint32_t)b[5] << 24;
    CHECK_EQ_U64(qh, 0xFFFF0000u);
    CHECK_EQ_U64(b[6], 0x00);          /* q[0] = 0, q[16] = 16 -> nibble 0 */
    /* all-zero k-quant super-blocks are all-zero bytes */
    memset(x, 0, sizeof x);
    memset(b, 0xAA, sizeof b);
    wk_quantize_row_q6_K_ref(x, b, 256);
    int zeros = 1;
    for (int i = 0; i < 210; i++) zeros &= b[i] == 0;
    CHECK(zeros);
}

int main(void)
{
    WK_RUN(test_traits);
    WK_RUN(test_known_blocks);
    WK_RUN(test_simd_equals_ref);
    WK_RUN(test_fused_equals_ref);
    WK_RUN(test_simd_weighted_equals_ref);
    WK_RUN(test_golden);
    WK_RUN(test_threads_identical);
    WK_RUN(test_driver_errors);
    WK_RUN(test_roundtrip_error);
    WK_RUN(test_search_never_worse);
    WK_RUN(test_search_exact);
    WK_RUN(test_search_threads_identical);
    return wk_test_summary();
}
