/* ggml_quant_peer.c — weightkit's quantizers against the real ggml.
 *
 * Built by tests/peer/ggml_quant.sh against libggml-base.so from the npm
 * package @node-llama-cpp/linux-x64 and the ggml.h of the exact llama.cpp
 * source it was built from.  For every type in wk_quant's traits table, rows
 * from a seeded generator (random and adversarial families, below) are
 * quantized by ggml_quantize_chunk (no imatrix) and by ours: the reference
 * kernel, the SIMD kernel (when the CPU has it) and the OpenMP driver with 1
 * to 4 threads; all must give the same bytes.  Our dequantizer must give
 * the same floats, bit for bit, as ggml's to_float on ggml's blocks and on
 * blocks of random bytes.  fp16 conversions are compared too.  Then the same
 * rows with importance matrices of 7 kinds (ggml_quantize_chunk(..., imatrix)
 * against our weighted kernels and the driver with 1..4 threads).
 *
 * usage: ggml_quant_peer [rows_per_family] [n_per_row]      exit 0 = all equal */
#include "ggml.h"
#include "wk_half.h"
#include "wk_quant.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nfail = 0;   /* failed checks */

/* ---- seeded generator (xorshift64*) ---------------------------------------------- */
static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint32_t rnd32(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}
static float unif(void) { return (rnd32() >> 8) * (1.0f / 16777216.0f); }   /* [0,1) */
static float gauss(void)
{
    float u = unif() + 1e-7f, v = unif();
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* A random finite float from random bits. */
static float rnd_finite(void)
{
    for (;;) {
        float f = bitsf(rnd32());
        if (isfinite(f)) return f;
    }
}

static const char *FAMILY[] = {
    "gaussian", "gaussian-scaled", "uniform", "zeros", "signed-zeros", "constant",
    "flt-max", "denormals", "huge", "outlier", "alternating", "random-bits",
    "ties", "sparse", "block-magnitudes", "fp16-overflow-edge", "fp16-subnormal-scale",
    "small-integers", "weights-like", "with-inf", "with-nan",
};
#define FAM_NAN 20   /* the SIMD kernels promise ref's bytes for NaN-free rows only */
#define NFAMILY ((int)(sizeof FAMILY / sizeof FAMILY[0]))

/* Fill one row of family f. */
static void gen_row(int f, float *x, int n)
{
    float s = powf(10.0f, unif() * 12.0f - 6.0f), c = gauss() * s;
    switch (f) {
    case 0: for (int i = 0; i < n; i++) x[i] = gauss(); break;
    case 1: for (int i = 0; i < n; i++) x[i] = gauss() * s; break;
    case 2: for (int i = 0; i < n; i++) x[i] = (unif() * 2 - 1) * s; break;
    case 3: memset(x, 0, sizeof(float) * (size_t)n); break;
    case 4: for (int i = 0; i < n; i++) x[i] = (rnd32() & 1) ? -0.0f : 0.0f; break;
    case 5: for (int i = 0; i < n; i++) x[i] = c; break;
    case 6: for (int i = 0; i < n; i++) {
                uint32_t r = rnd32() % 4;
                x[i] = r == 0 ? FLT_MAX : r == 1 ? -FLT_MAX : gauss() * powf(10.f, 30 + unif() * 8);
            } break;
    case 7: for (int i = 0; i < n; i++) x[i] = bitsf((rnd32() & 0x807fffffu) >> (rnd32() % 20)); break;
    case 8: for (int i = 0; i < n; i++) x[i] = gauss() * powf(10.0f, 20 + unif() * 18); break;
    case 9: for (int i = 0; i < n; i++) x[i] = gauss() * 0.01f;
            x[rnd32() % n] = (rnd32() & 1 ? 1 : -1) * s * 1000; break;
    case 10: for (int i = 0; i < n; i++) x[i] = (i & 1) ? -c : c; break;
    case 11: for (int i = 0; i < n; i++) x[i] = rnd_finite(); break;
    case 12: { /* multiples of quarter steps of a power-of-two scale: rounding ties */
            float p = ldexpf(1.0f, (int)(rnd32() % 40) - 20);
            for (int i = 0; i < n; i++) x[i] = ((int)(rnd32() % 129) - 64) * 0.25f * p;
        } break;
    case 13: for (int i = 0; i < n; i++) x[i] = (rnd32() % 16 == 0) ? gauss() * s : 0.0f; break;
    case 14: for (int i = 0; i < n; i += 32) {
                float m = powf(10.0f, unif() * 60 - 30);
                for (int j = i; j < i + 32 && j < n; j++) x[j] = gauss() * m;
            } break;
    case 15: for (int i = 0; i < n; i++) x[i] = gauss() * 65504.0f * (4 + unif() * 200); break;
    case 16: for (int i = 0; i < n; i++) x[i] = gauss() * powf(10.0f, -4 - unif() * 6); break;
    case 17: for (int i = 0; i < n; i++) x[i] = (float)((int)(rnd32() % 33) - 16); break;
    case 18: for (int i = 0; i < n; i++) x[i] = gauss() * 0.02f * (1 + (i % 64 == 0) * 20); break;
    case 19: for (int i = 0; i < n; i++)
                x[i] = rnd32() % 8 ? gauss() * s : (rnd32() & 1 ? INFINITY : -INFINITY);
            break;
    default: for (int i = 0; i < n; i++) {
                uint32_t r = rnd32() % 8;
                x[i] = r ? gauss() * s : bitsf(0x7f800001u | rnd32() | ((r & 1) << 31));
            } break;
    }
}


/* ---- the integer-only generator of tests/unit/test_quant.c (a copy: keep them
 * equal).  ggml's output on golden_input() is hashed into test_quant's GOLDEN. */
static uint64_t grng;
static uint32_t g32(void)
{
    grng ^= grng >> 12;
    grng ^= grng << 25;
    grng ^= grng >> 27;
    return (uint32_t)((grng * 0x2545f4914f6cdd1dULL) >> 32);
}
static float gnormalish(int e)
{
    int32_t s = 0;
    for (int i = 0; i < 4; i++) s += (int32_t)(g32() >> 16) - 32768;
    return ldexpf((float)s, e - 16);
}
static float grnd_exp(unsigned lo, unsigned hi)
{
    uint32_t e = lo + g32() % (hi - lo + 1);
    return bitsf((g32() & 0x807fffffu) | (e << 23));
}
enum { GNFAM = 16 };
static void gold_row(int f, float *x, int n)
{
    int e = (int)(g32() % 40) - 20;
    float c = gnormalish(e);
    for (int i = 0; i < n; i++) {
        switch (f) {
        case 0: x[i] = gnormalish(-6); break;
        case 1: x[i] = gnormalish(e * 5); break;
        case 2: x[i] = 0.0f; break;
        case 3: x[i] = (g32() & 1) ? -0.0f : 0.0f; break;
        case 4: x[i] = c; break;
        case 5: x[i] = (g32() & 1) ? ((g32() & 1) ? FLT_MAX : -FLT_MAX) : gnormalish(100); break;
        case 6: x[i] = bitsf(g32() & 0x807fffffu); break;
        case 7: x[i] = i == 37 ? ldexpf(c, 12) : gnormalish(e); break;
        case 8: x[i] = (i & 1) ? -c : c; break;
        case 9: x[i] = grnd_exp(0, 254); break;
        case 10: x[i] = ldexpf((float)((int)(g32() % 129) - 64), e - 2); break;
        case 11: x[i] = g32() % 16 ? 0.0f : gnormalish(e); break;
        case 12: x[i] = gnormalish(((i / 32) * 7) % 80 - 40); break;
        case 13: x[i] = (float)((int)(g32() % 33) - 16); break;
        case 14: x[i] = g32() % 8 ? gnormalish(e) : (g32() & 1 ? INFINITY : -INFINITY); break;
        default: x[i] = grnd_exp(100, 150); break;
        }
    }
}

/* The quant types, in ggml id order (as test_quant.c's GOLDEN table). */
static const int QTYPES[] = {
    WK_GGML_Q4_0, WK_GGML_Q4_1, WK_GGML_Q5_0, WK_GGML_Q5_1, WK_GGML_Q8_0,
    WK_GGML_Q2_K, WK_GGML_Q3_K, WK_GGML_Q4_K, WK_GGML_Q5_K, WK_GGML_Q6_K,
    WK_GGML_IQ4_NL, WK_GGML_IQ4_XS,
};
enum { NQT = sizeof QTYPES / sizeof QTYPES[0] };

/* Prints ggml's hashes for test_quant.c's GOLDEN table and checks ours. */
static void golden_hashes(void)
{
    enum { N = 512, ROWS = 64 };
    static float x[N * ROWS];
    static uint8_t g[N * ROWS * 2], o[N * ROWS * 2];
    grng = 0x5eed5eed5eedULL;
    for (int r = 0; r < ROWS; r++) gold_row(r % GNFAM, x + (size_t)r * N, N);
    printf("golden (tests/unit/test_quant.c GOLDEN):");
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const wk_qtraits *qt = wk_qtraits_get(type);
        size_t sz = wk_ggml_row_size(type, N) * ROWS;
        ggml_quantize_chunk((enum ggml_type)type, x, g, 0, ROWS, N, NULL);
        for (int r = 0; r < ROWS; r++)
            qt->quantize_ref(x + r * N, o + r * wk_ggml_row_size(type, N), N);
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < sz; i++) h = (h ^ g[i]) * 0x100000001b3ULL;
        printf("%s 0x%016llxULL,", t % 3 ? "" : "\n   ", (unsigned long long)h);
        if (memcmp(g, o, sz)) { printf(" (ours DIFFERS)"); nfail++; }
    }
    printf("\n");
}

/* ---- comparisons --------------------------------------------------------------------- */

static void report_diff(const char *what, int type, int64_t row, int fam,
                        const uint8_t *a, const uint8_t *b, size_t row_size)
{
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    size_t off = 0;
    while (off < row_size && a[off] == b[off]) off++;
    if (nfail++ < 20)
        fprintf(stderr, "MISMATCH %s %s: row %" PRId64 " (%s), block %zu byte %zu: "
                "ours 0x%02x ggml 0x%02x\n", ti->lname, what, row, FAMILY[fam],
                off / ti->size, off % ti->size, a[off], b[off]);
}

/* Rows of `ours` equal to `ref`; reports the rows that differ. */
static int64_t count_equal(const char *what, int type, const uint8_t *ours,
                           const uint8_t *ref, int64_t nrows, size_t row_size, int per_fam)
{
    int64_t eq = 0;
    for (int64_t r = 0; r < nrows; r++) {
        if (!memcmp(ours + r * row_size, ref + r * row_size, row_size)) eq++;
        else report_diff(what, type, r, (int)(r / per_fam), ours + r * row_size,
                         ref + r * row_size, row_size);
    }
    return eq;
}

static int64_t count_equal_floats(const float *a, const float *b, int64_t n)
{
    int64_t eq = 0;
    for (int64_t i = 0; i < n; i++) eq += fbits(a[i]) == fbits(b[i]);
    return eq;
}

static int test_type(int type, const float *src, int64_t nrows, int64_t n, int per_fam)
{
    const wk_qtraits *qt = wk_qtraits_get(type);
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    const struct ggml_type_traits *gt = ggml_get_type_traits((enum ggml_type)type);
    size_t row_size = wk_ggml_row_size(type, n);
    if (gt->blck_size != ti->blck || gt->type_size != ti->size
        || ggml_row_size((enum ggml_type)type, n) != row_size) {
        fprintf(stderr, "MISMATCH %s: ggml says block %" PRId64 " x %zu bytes\n", ti->lname,
                gt->blck_size, gt->type_size);
        nfail++;
        return 1;
    }
    size_t total = row_size * (size_t)nrows;
    uint8_t *g = malloc(total), *o = malloc(total);
    float *fg = malloc(sizeof(float) * (size_t)(nrows * n));
    float *fo = malloc(sizeof(float) * (size_t)(nrows * n));
    if (!g || !o || !fg || !fo) { fprintf(stderr, "out of memory\n"); exit(1); }
    int before = nfail;
    const int64_t nan_rows = (int64_t)FAM_NAN * per_fam;   /* rows before the NaN family */

    size_t wrote = ggml_quantize_chunk((enum ggml_type)type, src, g, 0, nrows, n, NULL);
    if (wrote != total) { fprintf(stderr, "ggml wrote %zu bytes, expected %zu\n", wrote, total); nfail++; }

    for (int64_t r = 0; r < nrows; r++) qt->quantize_ref(src + r * n, o + r * row_size, n);
    int64_t eq_ref = count_equal("ref", type, o, g, nrows, row_size, per_fam);

    int64_t eq_simd = -1;
    if (qt->quantize_simd && wk_quant_have_simd()) {
        memset(o, 0xAA, total);
        for (int64_t r = 0; r < nrows; r++) qt->quantize_simd(src + r * n, o + r * row_size, n);
        /* NaN rows last: compare the rows before them */
        eq_simd = count_equal("simd", type, o, g, nan_rows, row_size, per_fam);
    }

    /* The fused legacy kernels (quantize_fused: the driver's AUTO path), on row
     * prefixes 0..7 blocks short of n (every tail of their groups of 8 blocks),
     * with and without statistics, against the first blocks of ggml's row. */
    int64_t eq_fused = -1;
    if (qt->quantize_fused && wk_quant_have_simd()) {
        eq_fused = 0;
        for (int64_t r = 0; r < nan_rows; r++) {
            const int64_t m = n - (int64_t)ti->blck * (r % 8);
            const size_t ms = wk_ggml_row_size(type, m);
            double st[2];
            memset(o, 0xAA, ms);
            (void)qt->quantize_fused(src + r * n, o, m, r & 1 ? st : NULL);
            if (!memcmp(o, g + r * row_size, ms)) eq_fused++;
            else report_diff("fused", type, r, (int)(r / per_fam), o, g + r * row_size, ms);
        }
    }

    /* The driver refuses NaN/Inf input and overflowing scales: find the rows it
     * accepts, then run it over all of them at once with 1..4 threads (2 and 4
     * with the scalar reference kernel, 1 and 3 with AUTO). */
    int64_t eq_drv[4] = { 0, 0, 0, 0 }, accepted = 0;
    float *acc_src = malloc(sizeof(float) * (size_t)(nrows * n));
    uint8_t *acc_g = malloc(total);
    if (!acc_src || !acc_g) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (int64_t r = 0; r < nrows; r++) {
        wk_err err;
        if (wk_quantize_rows(type, src + r * n, o, 1, n, NULL, &err) != 0) continue;
        memcpy(acc_src + accepted * n, src + r * n, sizeof(float) * (size_t)n);
        memcpy(acc_g + accepted * row_size, g + r * row_size, row_size);
        accepted++;
    }
    for (int t = 0; t < 4; t++) {
        wk_qopts opts = { .nthreads = t + 1, .kernel = t & 1 ? WK_QK_REF : WK_QK_AUTO, .name = "peer" };
        wk_err err;
        memset(o, 0x55, total);
        if (wk_quantize_rows(type, acc_src, o, accepted, n, &opts, &err) != 0) {
            fprintf(stderr, "driver failed: %s\n", err.msg);
            nfail++;
            continue;
        }
        for (int64_t r = 0; r < accepted; r++)
            eq_drv[t] += !memcmp(o + r * row_size, acc_g + r * row_size, row_size);
    }
    free(acc_src);
    free(acc_g);

    /* dequantize ggml's own blocks */
    gt->to_float(g, fg, nrows * n);
    for (int64_t r = 0; r < nrows; r++) qt->dequantize(g + r * row_size, fo + r * n, n);
    int64_t eq_deq = count_equal_floats(fo, fg, nrows * n);
    /* and blocks of random bytes (any fp16 scale, NaN and Inf included) */
    for (size_t i = 0; i < total; i++) o[i] = (uint8_t)rnd32();
    gt->to_float(o, fg, nrows * n);
    qt->dequantize(o, fo, nrows * n);
    int64_t eq_deq_rand = count_equal_floats(fo, fg, nrows * n);
    if (eq_deq != nrows * n || eq_deq_rand != nrows * n) nfail++;

    char simd[96] = "n/a";
    if (eq_simd >= 0) snprintf(simd, sizeof simd, "%" PRId64 "/%" PRId64, eq_simd, nan_rows);
    if (eq_fused >= 0)
        snprintf(simd + strlen(simd), sizeof simd - strlen(simd), " fused(tails)==ggml %" PRId64
                 "/%" PRId64, eq_fused, nan_rows);
    printf("%-5s rows %-6" PRId64 " ref==ggml %" PRId64 "/%" PRId64 "  simd==ggml %s"
           "  driver(accepted %" PRId64 ") 1t/2t/3t/4t==ggml %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64
           "  dequant==ggml %" PRId64 "/%" PRId64 " values, random blocks %" PRId64 "/%" PRId64 "\n",
           ti->lname, nrows, eq_ref, nrows, simd, accepted, eq_drv[0], eq_drv[1], eq_drv[2], eq_drv[3],
           eq_deq, nrows * n, eq_deq_rand, nrows * n);
    if (eq_ref != nrows || (eq_simd >= 0 && eq_simd != nan_rows) || (eq_fused >= 0 && eq_fused != nan_rows)
        || eq_drv[0] != accepted
        || eq_drv[1] != accepted || eq_drv[2] != accepted || eq_drv[3] != accepted)
        nfail += nfail == before;
    free(g); free(o); free(fg); free(fo);
    return nfail != before;
}

/* ---- importance matrices ------------------------------------------------------- */

static const char *IMAT[] = {
    "lognormal", "ones", "mostly-zeros", "one-huge", "denormal", "all-zeros", "real-like",
};
enum { NIMAT = sizeof IMAT / sizeof IMAT[0] };

/* Importance weights of kind f for rows of n columns (finite, >= 0, as
 * llama-quantize accepts them). */
static void gen_imatrix(int f, float *w, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        switch (f) {
        case 0: w[i] = expf(2 * gauss()); break;
        case 1: w[i] = 1.0f; break;
        case 2: w[i] = rnd32() % 8 ? 0.0f : expf(gauss()); break;
        case 3: w[i] = i == 77 % n ? 1e30f : unif(); break;
        case 4: w[i] = bitsf(rnd32() & 0x007fffffu); break;
        case 5: w[i] = 0.0f; break;
        default: /* mean squares of activations: a few columns dominate */
            w[i] = 1e-3f * expf(gauss()) * (rnd32() % 64 == 0 ? 1e4f : 1.0f); break;
        }
    }
}

/* ggml_quantize_chunk(type, ..., imatrix) against our weighted kernel (every
 * NaN-free row, Inf ones too) and the driver with 1..4 threads, AUTO and REF
 * kernels (the rows it accepts), for every kind of importance matrix. */
static void test_type_imat(int type, const float *src, int64_t nrows, int64_t n, int per_fam)
{
    const wk_qtraits *qt = wk_qtraits_get(type);
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    const size_t row_size = wk_ggml_row_size(type, n), total = row_size * (size_t)nrows;
    uint8_t *g = malloc(total), *o = malloc(total), *acc_g = malloc(total);
    float *w = malloc(sizeof(float) * (size_t)n), *acc = malloc(sizeof(float) * (size_t)(nrows * n));
    if (!g || !o || !w || !acc || !acc_g) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (int f = 0; f < NIMAT; f++) {
        int before = nfail;
        gen_imatrix(f, w, n);
        ggml_quantize_chunk((enum ggml_type)type, src, g, 0, nrows, n, w);
        /* NaN rows last: for them the sign of a NaN scale depends on the
         * compiler (the driver refuses NaN input), compare the rows before */
        const int64_t nan_rows = (int64_t)FAM_NAN * per_fam;
        for (int64_t r = 0; r < nrows; r++) qt->quantize_imat(src + r * n, o + r * row_size, n, w);
        int64_t eq_k = count_equal("imat", type, o, g, nan_rows, row_size, per_fam);
        int64_t eq_s = -1;   /* the AVX2 twin, on the same rows (-1: none on this CPU) */
        if (qt->quantize_imat_simd && wk_quant_have_simd()) {
            for (int64_t r = 0; r < nan_rows; r++)
                qt->quantize_imat_simd(src + r * n, o + r * row_size, n, w);
            eq_s = count_equal("imat simd", type, o, g, nan_rows, row_size, per_fam);
        }
        int64_t accepted = 0, eq_drv[4] = { 0, 0, 0, 0 };
        for (int64_t r = 0; r < nrows; r++) {
            wk_err err;
            wk_qopts one = { .nthreads = 1, .imatrix = w };
            if (wk_quantize_rows(type, src + r * n, o, 1, n, &one, &err) != 0) continue;
            memcpy(acc + accepted * n, src + r * n, sizeof(float) * (size_t)n);
            memcpy(acc_g + accepted * row_size, g + r * row_size, row_size);
            accepted++;
        }
        for (int t = 0; t < 4; t++) {
            wk_qopts opts = { .nthreads = t + 1, .kernel = t & 1 ? WK_QK_REF : WK_QK_AUTO,
                              .name = "peer", .imatrix = w };
            wk_err err;
            memset(o, 0x55, total);
            if (wk_quantize_rows(type, acc, o, accepted, n, &opts, &err) != 0) {
                fprintf(stderr, "driver failed: %s\n", err.msg);
                nfail++;
                continue;
            }
            for (int64_t r = 0; r < accepted; r++)
                eq_drv[t] += !memcmp(o + r * row_size, acc_g + r * row_size, row_size);
        }
        printf("%-5s imatrix %-12s kernel==ggml %" PRId64 "/%" PRId64 " simd==ggml %" PRId64
               "  driver(accepted %" PRId64 ") 1t/2t/3t/4t==ggml %" PRId64 "/%" PRId64 "/%" PRId64
               "/%" PRId64 "\n", ti->lname, IMAT[f], eq_k, nan_rows, eq_s, accepted, eq_drv[0],
               eq_drv[1], eq_drv[2], eq_drv[3]);
        int bad = eq_k != nan_rows || (eq_s >= 0 && eq_s != nan_rows);
        for (int t = 0; t < 4; t++) bad |= eq_drv[t] != accepted;
        if (bad) nfail += nfail == before;
    }
    free(g); free(o); free(acc_g); free(w); free(acc);
}

/* fp16 both ways: ggml's exported converters against wk_half. */
static void test_fp16(void)
{
    int64_t bad = 0, n = 0;
    for (uint32_t h = 0; h < 0x10000; h++, n++)
        bad += fbits(ggml_fp16_to_fp32((ggml_fp16_t)h)) != fbits(wk_f16_to_f32((uint16_t)h));
    for (uint64_t u = 0; u < 0x100000000ull; u += 61, n++) {   /* every 61st bit pattern */
        float f = bitsf((uint32_t)u);
        bad += ggml_fp32_to_fp16(f) != wk_f32_to_f16(f);
    }
    printf("fp16  %" PRId64 " conversions compared (all 65536 fp16->fp32, every 61st fp32 "
           "bit pattern ->fp16): %" PRId64 " differ\n", n, bad);
    if (bad) nfail++;
}

int main(int argc, char **argv)
{
    int per_fam = argc > 1 ? atoi(argv[1]) : 200;
    int64_t n = argc > 2 ? atoll(argv[2]) : 512;
    if (per_fam <= 0 || n <= 0 || n % WK_QK_K) {
        fprintf(stderr, "usage: ggml_quant_peer [rows_per_family>0] [n_per_row, multiple of 256]\n");
        return 2;
    }
    int64_t nrows = (int64_t)per_fam * NFAMILY;
    float *src = malloc(sizeof(float) * (size_t)(nrows * n));
    if (!src) { fprintf(stderr, "out of memory\n"); return 1; }
    for (int64_t r = 0; r < nrows; r++) gen_row((int)(r / per_fam), src + r * n, (int)n);
    printf("ggml_quant_peer: %d families x %d rows x %" PRId64 " values; SIMD kernels %s\n",
           NFAMILY, per_fam, n, wk_quant_have_simd() ? "in use" : "unavailable on this CPU");

    test_fp16();
    golden_hashes();
    for (int t = 0; t < NQT; t++) test_type(QTYPES[t], src, nrows, n, per_fam);
    for (int t = 0; t < NQT; t++) test_type_imat(QTYPES[t], src, nrows, n, per_fam);

    /* Inf / NaN: the driver must refuse, naming the row and column. */
    {
        float row[512];
        uint8_t out[512];
        wk_err err;
        for (int i = 0; i < 512; i++) row[i] = gauss();
        row[77] = NAN;
        int rc = wk_quantize_rows(WK_GGML_Q4_0, row, out, 1, 512, NULL, &err);
        printf("nan   driver refuses NaN: %s (%s)\n", rc ? "yes" : "NO", rc ? err.msg : "-");
        if (!rc) nfail++;
    }
    printf("%s\n", nfail ? "FAIL" : "all equal");
    free(src);
    return nfail ? 1 : 0;
}
