/* wk_bench_speed.c — timings of wk-bench: the runtime-path GEMV / small GEMM,
 * a STREAM-style copy and an FMA peak.  Medians of repeated runs; nothing
 * here affects the fidelity numbers. */
#include "wk_bench.h"
#include "wk_bench_simd.h"
#include "wk_dot.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <time.h>

double wk_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The fastest of n runs: the machine's limits (bandwidth, FMA peak) are
 * taken as STREAM does, from the best run; a run the scheduler interrupted is
 * slower, never faster. */
static double fastest(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++) if (v[i] < m) m = v[i];
    return m;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One product: activations prepared, then rows split statically. */
static void gemm_once(const wk_bench_fmt *f, const uint8_t *q, size_t rs, int64_t rows,
                      int64_t cols, const float *x, uint8_t *act, size_t as, int64_t batch,
                      float *y, int nthreads, int simd)
{
    for (int64_t b = 0; b < batch; b++) wk_bench_prep_act(f, x + b * cols, act + b * as, cols);
    if (f->kind == WK_BF_QUANT) {   /* wk_bench_dot's dispatch decided once, not per row */
        const int qsimd = simd && wk_dot_have_simd();
        #pragma omp parallel for schedule(static) num_threads(nthreads)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t b = 0; b < batch; b++)
                y[r * batch + b] = wk_dot_row(f->qtype, qsimd, q + (size_t)r * rs, act + b * as, cols);
        return;
    }
    #pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < batch; b++)
            y[r * batch + b] = wk_bench_dot(f, simd, q + (size_t)r * rs, act + b * as, cols);
}

/* The SIMD kernels against the scalar references on the first rows: equal for
 * quant types, within 1e-4 (relative to the RMS of the outputs) otherwise. */
static int check_simd(const wk_bench_fmt *f, const float *y, const uint8_t *q, size_t rs,
                      int64_t rows, int64_t cols, const uint8_t *act, size_t as, int64_t batch,
                      wk_err *err)
{
    int64_t n = rows < 64 ? rows : 64;
    double ss = 0;
    for (int64_t i = 0; i < n * batch; i++) ss += (double)y[i] * y[i];
    double tol = 1e-4 * sqrt(ss / (double)(n * batch)) + 1e-30;
    for (int64_t r = 0; r < n; r++)
        for (int64_t b = 0; b < batch; b++) {
            float ref = wk_bench_dot(f, 0, q + (size_t)r * rs, act + b * as, cols);
            float got = y[r * batch + b];
            int ok = f->kind == WK_BF_QUANT ? !memcmp(&ref, &got, sizeof ref)
                                            : fabs((double)got - ref) <= tol;
            if (!ok)
                return wk_err_set(err, WK_E_INTERNAL,
                                  "%s: SIMD dot of row %lld differs from the reference "
                                  "(%.9g vs %.9g); not timing it", f->name, (long long)r,
                                  got, ref);
        }
    return 0;
}

#define MAX_SAMPLES 65536   /* products timed per run at most */

int wk_bench_time_gemm(const wk_bench_fmt *f, const void *q, int64_t rows, int64_t cols,
                       const float *x, int64_t batch, int nthreads, int reps, double min_seconds,
                       wk_bench_speed *out, wk_err *err)
{
    size_t rs = wk_bench_fmt_row_size(f, cols), as = wk_bench_act_row_size(f, cols);
    uint8_t *act = malloc(as * (size_t)batch);
    float *y = malloc(sizeof(float) * (size_t)(rows * batch));
    double *t = malloc(sizeof(double) * (size_t)(reps > 0 ? reps : 1));
    double *one = malloc(sizeof(double) * MAX_SAMPLES);
    int rc = -1;
    if (nthreads <= 0) nthreads = 1;
    if (reps <= 0) reps = 1;
    if (!act || !y || !t || !one) {
        wk_err_set(err, WK_E_NOMEM, "out of memory timing %s", f->name);
        goto done;
    }
    gemm_once(f, q, rs, rows, cols, x, act, as, batch, y, nthreads, 1);   /* warm-up */
    if (check_simd(f, y, q, rs, rows, cols, act, as, batch, err)) goto done;
    /* Each product is timed on its own and a run's figure is the median of its
     * products: a mean over the run's wall time also counts the time the
     * process spent descheduled, which on a shared machine was most of it
     * (docs/benchmarks.md, "wk-bench's GEMV vs the bare kernel"). */
    for (int k = 0; k < reps; k++) {
        int n = 0;
        double t0 = wk_bench_now(), t1 = t0;
        do {
            gemm_once(f, q, rs, rows, cols, x, act, as, batch, y, nthreads, 1);
            double t2 = wk_bench_now();
            one[n++] = t2 - t1;
            t1 = t2;
        } while (t1 - t0 < min_seconds && n < MAX_SAMPLES);
        t[k] = median(one, n);
    }
    out->seconds = median(t, reps);
    out->gflops = 2.0 * (double)rows * (double)cols * (double)batch / out->seconds * 1e-9;
    out->gbs = (double)rs * (double)rows / out->seconds * 1e-9;
    rc = 0;
done:
    free(act);
    free(y);
    free(t);
    free(one);
    return rc;
}

int wk_bench_copy_bw(size_t bytes, int nthreads, int reps, double *gbs, wk_err *err)
{
    size_t n = bytes / sizeof(double);
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    double *t = malloc(sizeof(double) * (size_t)(reps > 0 ? reps : 1));
    if (nthreads <= 0) nthreads = 1;
    if (reps <= 0) reps = 1;
    if (!a || !b || !t) {
        free(a); free(b); free(t);
        return wk_err_set(err, WK_E_NOMEM, "out of memory for the copy benchmark");
    }
    #pragma omp parallel for schedule(static) num_threads(nthreads)
    for (size_t i = 0; i < n; i++) { a[i] = (double)i; b[i] = 0; }   /* first touch */
    for (int k = 0; k <= reps; k++) {
        double t0 = wk_bench_now();
        #pragma omp parallel for schedule(static) num_threads(nthreads)
        for (size_t i = 0; i < n; i++) b[i] = a[i];
        double el = wk_bench_now() - t0;
        if (k > 0) t[k - 1] = el;   /* the first run is a warm-up */
    }
    *gbs = 2.0 * (double)(n * sizeof(double)) / fastest(t, reps) * 1e-9;
    free(a); free(b); free(t);
    return 0;
}

int wk_bench_read_bw(size_t bytes, int nthreads, int reps, double *gbs, wk_err *err)
{
    size_t n = bytes / sizeof(uint64_t);
    uint64_t *a = malloc(n * sizeof *a);
    double *t = malloc(sizeof(double) * (size_t)(reps > 0 ? reps : 1));
    volatile uint64_t sink = 0;
    if (nthreads <= 0) nthreads = 1;
    if (reps <= 0) reps = 1;
    if (!a || !t) {
        free(a); free(t);
        return wk_err_set(err, WK_E_NOMEM, "out of memory for the read benchmark");
    }
    #pragma omp parallel for schedule(static) num_threads(nthreads)
    for (size_t i = 0; i < n; i++) a[i] = i;   /* first touch */
    for (int k = 0; k <= reps; k++) {
        uint64_t s = 0;
        double t0 = wk_bench_now();
        #pragma omp parallel num_threads(nthreads) reduction(+ : s)
        {   /* one contiguous slice per thread */
            size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
            size_t lo = n / nt * id, hi = id + 1 == nt ? n : n / nt * (id + 1);
            if (wk_cpu_has(WK_CPU_SIMD_FMA)) s += wk_bench_read_sum(a + lo, hi - lo);
            else for (size_t i = lo; i < hi; i++) s += a[i];
        }
        double el = wk_bench_now() - t0;
        sink += s;
        if (k > 0) t[k - 1] = el;
    }
    (void)sink;
    *gbs = (double)(n * sizeof(uint64_t)) / fastest(t, reps) * 1e-9;
    free(a); free(t);
    return 0;
}

double wk_bench_fma_peak(int nthreads, int reps)
{
    const int64_t iters = 4000000;
    double t[32];
    volatile float sink = 0;
    if (nthreads <= 0) nthreads = 1;
    if (reps <= 0) reps = 1;
    if (reps > 32) reps = 32;
    for (int k = 0; k < reps; k++) {
        double t0 = wk_bench_now();
        #pragma omp parallel num_threads(nthreads)
        {
            float s;
            if (wk_cpu_has(WK_CPU_SIMD_FMA)) {
                s = wk_bench_fma_loop(iters, (float)omp_get_thread_num());
            } else {   /* scalar multiply-add chains */
                float v[8];
                for (int j = 0; j < 8; j++) v[j] = (float)j;
                for (int64_t i = 0; i < iters * 10; i++)
                    for (int j = 0; j < 8; j++) v[j] = v[j] * 0.999999f + 1e-7f;
                s = v[0] + v[7];
            }
            #pragma omp atomic
            sink += s;
        }
        t[k] = wk_bench_now() - t0;
    }
    (void)sink;
    return (double)nthreads * (double)iters * 10 * 8 * 2 / fastest(t, reps) * 1e-9;
}
