/* dot_ab.c — our AVX2 dot kernels at two revisions, A/B in one process.
 *
 * bench/dot_ab.sh compiles formats/quant/x86/wk_dot_avx2.c of an older
 * revision with its external symbols renamed (wk_dot_row_avx2 ->
 * old_dot_row_avx2, wk_isum_*_avx2 -> old_isum_*_avx2) and links it beside
 * the library built from the work tree ("new").  For each type and width: a
 * ROWS x COLS Gaussian matrix quantized by the scalar reference (ROWS =
 * 4096 * 4096 / COLS rounded down to a multiple of 64, as bench_ggml.sh), one
 * activation row; every row's dot is compared between old and new (the count
 * of differing rows is printed: 0 unless the float-stage order changed), then
 * PAIRS single GEMVs of each, strictly alternating (who goes first alternates
 * too), timed by the thread's CPU clock.  Prints the median times and the
 * median, 25th and 75th percentile of the per-pair ratios old / new (> 1 =
 * new faster).
 *
 *   dot_ab TYPE[,TYPE...] COLS[,COLS...] PAIRS */
#define _GNU_SOURCE   /* clock_gettime, CLOCK_THREAD_CPUTIME_ID under -std=c11 */
#include "wk_dot.h"
#include "wk_ggml.h"
#include "wk_quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

float old_dot_row_avx2(int type, const void *w, const void *a, int64_t k);

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static double unif(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545f4914f6cdd1dULL) >> 11) * (1.0 / 9007199254740992.0);
}
static float gauss(void)
{
    double u = unif() + 1e-12, v = unif();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int type_by_name(const char *name, size_t len)
{
    for (int t = 0; t < WK_GGML_TYPE_COUNT; t++) {
        const char *n = wk_qtraits_get(t) ? wk_ggml_type_get(t)->lname : NULL;
        if (n && strlen(n) == len && !strncmp(n, name, len)) return t;
    }
    return -1;
}

/* One GEMV of rows rows by the old (which 0) or new (1) kernel: CPU seconds. */
static double gemv(int which, int type, const uint8_t *w, size_t rs, const void *a, int64_t rows,
                   int64_t cols, float *y)
{
    double t0 = cpu_now();
    for (int64_t r = 0; r < rows; r++)
        y[r] = which ? wk_dot_row_avx2(type, w + rs * (size_t)r, a, cols)
                     : old_dot_row_avx2(type, w + rs * (size_t)r, a, cols);
    return cpu_now() - t0;
}

static int run(int type, int64_t cols, int pairs)
{
    const wk_qtraits *qt = wk_qtraits_get(type);
    int64_t rows = (4096 * 4096 / cols) / 64 * 64;
    size_t rs = wk_ggml_row_size(type, cols);
    uint8_t *w = malloc(rs * (size_t)rows);
    float *x = malloc(sizeof(float) * (size_t)cols), *y = malloc(sizeof(float) * (size_t)rows);
    void *a = malloc(wk_dot_act_row_size(type, cols));
    double *to = malloc(sizeof(double) * (size_t)pairs), *tn = malloc(sizeof(double) * (size_t)pairs);
    double *ra = malloc(sizeof(double) * (size_t)pairs);
    if (!w || !x || !y || !a || !to || !tn || !ra) { fprintf(stderr, "dot_ab: out of memory\n"); return 1; }
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < cols; i++) x[i] = gauss() * 0.02f;
        qt->quantize_ref(x, w + rs * (size_t)r, cols);
    }
    for (int64_t i = 0; i < cols; i++) x[i] = gauss();
    wk_dot_quantize_act(type, x, a, cols);
    int64_t differ = 0;
    for (int64_t r = 0; r < rows; r++) {
        float f0 = old_dot_row_avx2(type, w + rs * (size_t)r, a, cols);
        float f1 = wk_dot_row_avx2(type, w + rs * (size_t)r, a, cols);
        differ += memcmp(&f0, &f1, sizeof f0) != 0;
    }
    gemv(0, type, w, rs, a, rows, cols, y);   /* warm-up pair */
    gemv(1, type, w, rs, a, rows, cols, y);
    for (int p = 0; p < pairs; p++) {
        double t[2];
        for (int k = 0; k < 2; k++) {
            int which = (p & 1) ^ k;
            t[which] = gemv(which, type, w, rs, a, rows, cols, y);
        }
        to[p] = t[0];
        tn[p] = t[1];
        ra[p] = t[0] / t[1];
    }
    qsort(to, (size_t)pairs, sizeof to[0], cmpd);
    qsort(tn, (size_t)pairs, sizeof tn[0], cmpd);
    qsort(ra, (size_t)pairs, sizeof ra[0], cmpd);
    printf("| %s | %lld | %lld | %.3f | %.3f | %.3f | %.3f | %.3f | %lld |\n",
           wk_ggml_type_get(type)->lname, (long long)cols, (long long)rows, to[pairs / 2] * 1e3,
           tn[pairs / 2] * 1e3, ra[pairs / 2], ra[pairs / 4], ra[3 * pairs / 4], (long long)differ);
    free(w); free(x); free(y); free(a); free(to); free(tn); free(ra);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4 || atoi(argv[3]) < 4) {
        fprintf(stderr, "usage: dot_ab TYPE[,TYPE...] COLS[,COLS...] PAIRS (>= 4)\n");
        return 2;
    }
    if (!wk_dot_have_simd()) { fprintf(stderr, "dot_ab: no AVX2 on this CPU\n"); return 1; }
    int pairs = atoi(argv[3]);
    printf("| type | cols | rows | old ms | new ms | old/new | p25 | p75 | rows differing |\n"
           "|---|---|---|---|---|---|---|---|---|\n");
    for (const char *t = argv[1]; *t;) {
        size_t n = strcspn(t, ",");
        int type = type_by_name(t, n);
        if (type < 0) { fprintf(stderr, "dot_ab: unknown type %.*s\n", (int)n, t); return 2; }
        for (const char *c = argv[2]; *c;) {
            int64_t cols = atoll(c);
            if (cols <= 0 || cols % 256) { fprintf(stderr, "dot_ab: COLS must be multiples of 256\n"); return 2; }
            if (run(type, cols, pairs)) return 1;
            c += strcspn(c, ",");
            if (*c) c++;
        }
        t += n;
        if (*t) t++;
    }
    return 0;
}
