/* bench_gemv.c — wk-bench's GEMV timing against the bare kernel, same process.
 *
 * For each quant type: a ROWS x COLS Gaussian matrix quantized as wk-bench
 * does, then, alternately (who goes first alternating too), 8 x REPS times:
 *   wk-bench  wk_bench_time_gemm (1 run of >= 10 ms; activation quantization,
 *             the OpenMP region and wk_bench_dot's dispatch per row included;
 *             the median of its single products),
 *   bare      the activations quantized once, then rows x wk_dot_row(AVX2)
 *             timed product by product for >= 10 ms, the median,
 * (runs of 10 ms, not 50: on a shared machine the load changes between two
 * long runs, and the earlier 50 ms alternation measured that, not wk-bench),
 *   wall mean the same bare products over the same 10 ms as wall time / count
 *             (the method wk-bench used before: it also counts the time the
 *             process is descheduled), with the thread's CPU time / wall time.
 * Prints the medians over the REPS rounds and wk-bench / bare.
 *
 *   bench_gemv ROWS COLS REPS TYPE[,TYPE...] */
#define _GNU_SOURCE
#include "wk_bench.h"
#include "wk_dot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double med(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return v[n / 2];
}

static uint64_t rng = 0x1234567887654321ULL;
static float gauss(void)
{
    double u, v;
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    u = ((rng * 0x2545f4914f6cdd1dULL) >> 11) * (1.0 / 9007199254740992.0) + 1e-12;
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    v = ((rng * 0x2545f4914f6cdd1dULL) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

#define MAXS 65536
#define MAXREPS 64
#define SUB 8   /* alternations per REPS */

/* One type: prints a table row; 0 or -1. */
static int one(const char *name, const float *w, const float *x, int64_t rows, int64_t cols, int reps)
{
    wk_err err = { 0 };
    wk_bench_fmt f;
    if (wk_bench_fmt_parse(name, &f, &err) || f.kind != WK_BF_QUANT) {
        fprintf(stderr, "%s: not a quant type\n", name);
        return -1;
    }
    size_t rs = wk_bench_fmt_row_size(&f, cols), as = wk_dot_act_row_size(f.qtype, cols);
    uint8_t *q = malloc(rs * (size_t)rows), *a = malloc(as);
    float *y = malloc(sizeof(float) * (size_t)rows);
    static double s[MAXS];
    static double tb[MAXREPS * SUB], tw[MAXREPS * SUB], tm[MAXREPS * SUB], cf[MAXREPS * SUB];
    if (!q || !a || !y || wk_bench_quantize(&f, w, rows, cols, q, name, 1, &err)) return -1;
    wk_dot_quantize_act(f.qtype, x, a, cols);
    for (int k = 0; k < reps * SUB; k++) {
        wk_bench_speed sp;
        if (!(k & 1) && wk_bench_time_gemm(&f, q, rows, cols, x, 1, 1, 1, 0.01, &sp, &err)) return -1;
        int n = 0;
        double t0 = wk_bench_now(), c0 = cpu_now(), t1 = t0;
        do {
            for (int64_t r = 0; r < rows; r++) y[r] = wk_dot_row(f.qtype, 1, q + rs * (size_t)r, a, cols);
            double t2 = wk_bench_now();
            s[n++] = t2 - t1;
            t1 = t2;
        } while (t1 - t0 < 0.01 && n < MAXS);
        cf[k] = (cpu_now() - c0) / (t1 - t0);
        tm[k] = (t1 - t0) / n;
        tb[k] = med(s, n);
        if ((k & 1) && wk_bench_time_gemm(&f, q, rows, cols, x, 1, 1, 1, 0.01, &sp, &err)) return -1;
        tw[k] = sp.seconds;
    }
    double b = med(tb, reps * SUB), wb = med(tw, reps * SUB), m = med(tm, reps * SUB);
    double c = med(cf, reps * SUB);
    printf("| %s | %lld x %lld | %.3f | %.3f | %.2f | %.3f | %.2f |\n", name, (long long)rows,
           (long long)cols, wb * 1e3, b * 1e3, wb / b, m * 1e3, c);
    free(q); free(a); free(y);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_gemv ROWS COLS REPS TYPE[,TYPE...]\n");
        return 2;
    }
    int64_t rows = atoll(argv[1]), cols = atoll(argv[2]);
    int reps = atoi(argv[3]);
    if (rows <= 0 || cols <= 0 || cols % 256 || reps <= 0 || reps > MAXREPS || !wk_dot_have_simd()) {
        fprintf(stderr, "bad arguments (COLS a multiple of 256, 1 <= REPS <= 64) or no AVX2\n");
        return 2;
    }
    float *w = malloc(sizeof(float) * (size_t)(rows * cols)), *x = malloc(sizeof(float) * (size_t)cols);
    if (!w || !x) return 1;
    for (int64_t i = 0; i < rows * cols; i++) w[i] = gauss() * 0.02f;
    for (int64_t i = 0; i < cols; i++) x[i] = gauss();
    printf("| type | matrix | wk-bench GEMV ms | bare kernel ms | wk-bench / bare | old method (wall mean) ms | CPU / wall |\n"
           "|---|---|---|---|---|---|---|\n");
    char *list = strdup(argv[4]);
    for (char *t = strtok(list, ","); t; t = strtok(NULL, ","))
        if (one(t, w, x, rows, cols, reps)) return 1;
    free(list); free(w); free(x);
    return 0;
}
