/* test_bench.c — wk-bench's fidelity engine (wk_bench.h, wk_npy.h).
 *
 *   - Fixed-seed fidelity numbers equal the committed EXPECTED table within a
 *     relative 1e-6 (the only platform dependence is libm's log/cos/sqrt in
 *     the generator); regenerate with WK_BENCH_PRINT=1 ./test_bench.
 *   - Every sum is bit-identical for 1, 2 and 3 threads.
 *   - NMSE ordering on Gaussian data: q8_0 < q6_k < q5_* < q4_*, and each
 *     value inside the bounds documented in docs/bench.md.
 *   - The f32 float path is the float64 reference up to fp32 rounding (NMSE
 *     below 1e-12); the runtime path of quant types equals wk_dot's scalar
 *     reference (it is computed by it: tests/unit/test_dot.c checks AVX2).
 *   - Generators: deterministic for any thread count, the distributions
 *     have the documented variance and tails.
 *   - .npy activations: read back exactly; malformed files are refused. */
#include "wk_test.h"
#include "wk_bench.h"
#include "wk_npy.h"

#include <math.h>
#include <stdlib.h>

enum { ROWS = 128, COLS = 512, BATCH = 4 };

typedef struct {
    const char *type;
    double nmse, nmse_int, weight_nmse;
} expected;

/* gauss, seed 1, 128 x 512, batch 4 (WK_BENCH_PRINT=1 prints this table). */
static const expected EXPECTED[] = {
#include "test_bench_expected.inc"
};

static float *W, *X;
static double *YREF;

static void setup(int nthreads)
{
    W = malloc(sizeof(float) * ROWS * COLS);
    X = malloc(sizeof(float) * BATCH * COLS);
    YREF = malloc(sizeof(double) * ROWS * BATCH);
    wk_bench_generate(WK_GEN_GAUSS, 1, 0, 0.02f, ROWS, COLS, W, nthreads);
    wk_bench_generate(WK_GEN_GAUSS, 1, 1, 1.0f, BATCH, COLS, X, nthreads);
    wk_bench_ref_gemm(W, ROWS, COLS, X, BATCH, YREF, nthreads);
}

static void teardown(void)
{
    free(W); free(X); free(YREF);
}

static int run(const char *type, int nthreads, wk_bench_fid *fid)
{
    wk_bench_fmt f;
    wk_err err;
    memset(fid, 0, sizeof *fid);
    if (wk_bench_fmt_parse(type, &f, &err)) return -1;
    return wk_bench_fidelity(&f, W, ROWS, COLS, X, BATCH, YREF, type, nthreads, fid, &err);
}

static int close_rel(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fabs(b) || (a == 0 && b == 0);
}

static void test_expected(void)
{
    int print = getenv("WK_BENCH_PRINT") != NULL;
    setup(2);
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++) {
        const expected *e = &EXPECTED[i];
        wk_bench_fid fid;
        CHECK(run(e->type, 2, &fid) == 0);
        double n = wk_bench_finish(&fid.fpath).nmse, ni = wk_bench_finish(&fid.rpath).nmse;
        double nw = wk_bench_finish(&fid.weight).nmse;
        if (print) printf("    { \"%s\", %.9e, %.9e, %.9e },\n", e->type, n, ni, nw);
        CHECK_MSG(close_rel(n, e->nmse, 1e-6), "%s nmse %.9e, expected %.9e", e->type, n, e->nmse);
        CHECK_MSG(close_rel(ni, e->nmse_int, 1e-6), "%s nmse_int %.9e, expected %.9e", e->type,
                  ni, e->nmse_int);
        CHECK_MSG(close_rel(nw, e->weight_nmse, 1e-6), "%s weight nmse %.9e, expected %.9e",
                  e->type, nw, e->weight_nmse);
    }
    teardown();
}

static void test_threads_identical(void)
{
    const char *types[] = { "q4_0", "q5_1", "q4_k", "q6_k", "bf16", "q4_0-search" };
    wk_bench_fid a, b;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        setup(1);
        CHECK(run(types[t], 1, &a) == 0);
        teardown();
        for (int j = 2; j <= 3; j++) {
            setup(j);
            CHECK(run(types[t], j, &b) == 0);
            CHECK_MSG(!memcmp(&a, &b, sizeof a), "%s: sums differ between 1 and %d threads",
                      types[t], j);
            teardown();
        }
    }
}

/* The bounds documented in docs/bench.md ("Expected ranges"). */
static void test_ordering(void)
{
    static const struct { const char *type; double lo, hi; } B[] = {
        { "q8_0", 1e-5, 5e-5 }, { "q6_k", 1e-4, 6e-4 }, { "q5_1", 8e-4, 2e-3 },
        { "q5_0", 8e-4, 2e-3 }, { "q5_k", 5e-4, 1.5e-3 }, { "q4_1", 3e-3, 8e-3 },
        { "q4_0", 4e-3, 1e-2 }, { "q4_k", 2e-3, 6e-3 }, { "f16", 1e-8, 1e-7 },
        { "bf16", 1e-6, 1e-5 },
    };
    double v[sizeof B / sizeof B[0]];
    setup(2);
    for (size_t i = 0; i < sizeof B / sizeof B[0]; i++) {
        wk_bench_fid fid;
        CHECK(run(B[i].type, 2, &fid) == 0);
        v[i] = wk_bench_finish(&fid.fpath).nmse;
        CHECK_MSG(v[i] >= B[i].lo && v[i] <= B[i].hi, "%s: NMSE %.3e outside [%.1e, %.1e]",
                  B[i].type, v[i], B[i].lo, B[i].hi);
    }
    teardown();
    /* q8_0 < q6_k < q5_* < q4_* */
    CHECK(v[0] < v[1]);
    for (int i = 2; i <= 4; i++) CHECK(v[1] < v[i]);
    for (int i = 2; i <= 4; i++)
        for (int j = 5; j <= 7; j++) CHECK_MSG(v[i] < v[j], "%s !< %s", B[i].type, B[j].type);
}

static void test_f32_float_path(void)
{
    wk_bench_fid fid;
    setup(1);
    CHECK(run("f32", 1, &fid) == 0);
    wk_bench_metrics m = wk_bench_finish(&fid.fpath);
    CHECK_MSG(m.nmse < 1e-12, "f32 float path NMSE %.3e", m.nmse);
    CHECK(wk_bench_finish(&fid.weight).nmse == 0);
    CHECK(m.cosine > 0.999999999);
    teardown();
}

static void test_generators(void)
{
    enum { R = 64, C = 4096 };
    float *a = malloc(sizeof(float) * R * C), *b = malloc(sizeof(float) * R * C);
    for (int g = 0; g < WK_GEN_COUNT; g++) {
        wk_bench_generate((wk_bench_gen)g, 7, 0, 1.0f, R, C, a, 1);
        wk_bench_generate((wk_bench_gen)g, 7, 0, 1.0f, R, C, b, 3);
        CHECK(!memcmp(a, b, sizeof(float) * R * C));
        double s2 = 0, s4 = 0;
        for (int i = 0; i < R * C; i++) { s2 += (double)a[i] * a[i]; s4 += pow(a[i], 4); }
        double var = s2 / (R * C), kurt = s4 / (R * C) / (var * var);
        if (g == WK_GEN_GAUSS) CHECK_MSG(fabs(var - 1) < 0.02 && fabs(kurt - 3) < 0.1, "gauss %g %g", var, kurt);
        if (g == WK_GEN_STUDENT) CHECK_MSG(fabs(var - 1) < 0.3 && kurt > 6, "student %g %g", var, kurt);
        if (g == WK_GEN_OUTLIER) CHECK_MSG(var > 1.5 && kurt > 10, "outlier %g %g", var, kurt);
        CHECK(!strcmp(wk_bench_gen_name((wk_bench_gen)g), wk_bench_gen_name(
            (wk_bench_gen)wk_bench_gen_by_name(wk_bench_gen_name((wk_bench_gen)g)))));
    }
    wk_bench_generate(WK_GEN_GAUSS, 8, 0, 1.0f, R, C, b, 1);
    CHECK(memcmp(a, b, sizeof(float) * R * C) != 0);   /* the seed matters */
    free(a);
    free(b);
}

static void test_formats(void)
{
    wk_bench_fmt f;
    wk_err err;
    CHECK(wk_bench_fmt_parse("Q4_K-search", &f, &err) == 0 && f.search && !strcmp(f.name, "q4_k-search"));
    CHECK(wk_bench_fmt_bpw(&f) == 4.5);
    CHECK(wk_bench_fmt_parse("f16-search", &f, &err) == -1 && err.code == WK_E_USAGE);
    CHECK(wk_bench_fmt_parse("iq2_xs", &f, &err) == -1 && err.code == WK_E_USAGE);
    CHECK(wk_bench_fmt_parse("q3_k", &f, &err) == 0 && fabs(wk_bench_fmt_bpw(&f) - 3.4375) < 1e-12);
    CHECK(wk_bench_fmt_parse("iq4_xs", &f, &err) == 0 && wk_bench_fmt_bpw(&f) == 4.25);
    CHECK(wk_bench_fmt_parse("q2_k-search", &f, &err) == -1 && err.code == WK_E_UNSUPPORTED);
    CHECK(wk_bench_fmt_parse("bf16", &f, &err) == 0 && wk_bench_fmt_bpw(&f) == 16);
    CHECK(wk_bench_fmt_parse("q6_k", &f, &err) == 0 && fabs(wk_bench_fmt_bpw(&f) - 6.5625) < 1e-12);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(p, 1, n, fp) == n);
    if (fp) fclose(fp);
}

/* A version-1 .npy with the given header dict and data. */
static size_t npy(uint8_t *buf, const char *dict, const void *data, size_t n)
{
    size_t hl = strlen(dict), pad = 64 - (10 + hl + 1) % 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)((hl + pad + 1) & 0xff);
    buf[9] = (uint8_t)((hl + pad + 1) >> 8);
    memcpy(buf + 10, dict, hl);
    memset(buf + 10 + hl, ' ', pad);
    buf[10 + hl + pad] = '\n';
    memcpy(buf + 11 + hl + pad, data, n);
    return 11 + hl + pad + n;
}

static void test_npy(void)
{
    char path[1024];
    uint8_t buf[4096];
    float v[6] = { 1, -2, 3.5f, 0, 1e-3f, 7 };
    double d[3] = { 0.5, -1, 2 };
    wk_npy_f32 a;
    wk_err err;
    snprintf(path, sizeof path, "%s/a.npy", wk_test_tmpdir());
    write_file(path, buf, npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof v));
    CHECK_OK(wk_npy_read(path, &a, &err), &err);
    CHECK(a.batch == 2 && a.cols == 3 && a.x && !memcmp(a.x, v, sizeof v));
    wk_npy_free(&a);
    write_file(path, buf, npy(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", d, sizeof d));
    CHECK_OK(wk_npy_read(path, &a, &err), &err);
    CHECK(a.batch == 1 && a.cols == 3 && a.x[0] == 0.5f && a.x[1] == -1 && a.x[2] == 2);
    wk_npy_free(&a);
    /* refused: wrong size, dtype, order, magic */
    write_file(path, buf, npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", v, sizeof v));
    CHECK(wk_npy_read(path, &a, &err) == -1 && err.code == WK_E_FORMAT && !a.x);
    write_file(path, buf, npy(buf, "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", v, sizeof v));
    CHECK(wk_npy_read(path, &a, &err) == -1 && err.code == WK_E_UNSUPPORTED);
    write_file(path, buf, npy(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", v, sizeof v));
    CHECK(wk_npy_read(path, &a, &err) == -1 && err.code == WK_E_UNSUPPORTED);
    write_file(path, "\x93NUMPX\x01\x00", 8);
    CHECK(wk_npy_read(path, &a, &err) == -1 && err.code == WK_E_FORMAT);
    write_file(path, "\x93NUMPY\x01\x00\xff\x00{", 11);
    CHECK(wk_npy_read(path, &a, &err) == -1 && err.code == WK_E_FORMAT);
}

int main(void)
{
    WK_RUN(test_formats);
    WK_RUN(test_generators);
    WK_RUN(test_expected);
    WK_RUN(test_threads_identical);
    WK_RUN(test_ordering);
    WK_RUN(test_f32_float_path);
    WK_RUN(test_npy);
    return wk_test_summary();
}
