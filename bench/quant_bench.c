/* quant_bench.c — quantization throughput: weightkit vs ggml_quantize_chunk,
 * in the same process, on the same input, 1 thread and N threads.
 *
 * Built and run by bench/quant_bench.sh (links libggml-base.so of the npm
 * package and libweightkit.a).  Input: ROWS x COLS float32 N(0, 0.02)-like
 * weights with a few outliers, as real projection matrices.  For each type
 * and thread count, the median of RUNS timings of:
 *   wk      wk_quantize_rows (AUTO kernel = SIMD where available; includes its
 *           NaN/Inf scan and scale check)
 *   wk-ref  wk_quantize_rows with the scalar reference kernel
 *   ggml    ggml_quantize_chunk over the same fixed chunks of rows, the chunks
 *           spread over the threads by OpenMP (ggml itself is single-threaded
 *           per call; llama-quantize splits rows across threads the same way).
 * Every timed output is checked byte-identical to ggml's before timing counts.
 * Prints a Markdown table: rows/s and GB/s of float32 input (wall clock), the
 * speed ratios, and the ratio of process CPU time (robust on a shared machine:
 * time spent descheduled does not count), then a best-of-RUNS table.
 *
 * usage: quant_bench ROWS COLS RUNS THREADS
 *        quant_bench --search-eval CHECKPOINT.pth
 *   The second form reports, per 2-D tensor and overall, the RMSE of ggml's
 *   reference quantizer and of weightkit's error-minimising search
 *   (WK_QK_SEARCH, no imatrix) for every type, and the reduction. */
#include "ggml.h"
#include "bench_load.h"
#include "wk_pth.h"
#include "wk_quant.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 88172645463325252ULL;
static float gauss(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    float u = ((rng >> 40) + 0.5f) / 16777216.0f;
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    float v = (rng >> 40) / 16777216.0f;
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

/* The quant types, in ggml id order. */
static const int QTYPES[] = {
    WK_GGML_Q4_0, WK_GGML_Q4_1, WK_GGML_Q5_0, WK_GGML_Q5_1, WK_GGML_Q8_0,
    WK_GGML_Q2_K, WK_GGML_Q3_K, WK_GGML_Q4_K, WK_GGML_Q5_K, WK_GGML_Q6_K,
    WK_GGML_IQ4_NL, WK_GGML_IQ4_XS,
};
enum { NQT = sizeof QTYPES / sizeof QTYPES[0] };
/* QB_IMATRIX=1: importance weights (log-normal per column) for both sides;
 * QB_TYPES=q3_k,iq4_xs,...: only these types. */
static const float *g_imatrix;
static int type_wanted(int type)
{
    const char *l = getenv("QB_TYPES");
    if (!l || !*l) return 1;
    const char *n = wk_ggml_type_get(type)->lname;
    size_t len = strlen(n);
    for (const char *p = strstr(l, n); p; p = strstr(p + 1, n))
        if ((p == l || p[-1] == ',') && (p[len] == 0 || p[len] == ',')) return 1;
    return 0;
}
static const char *qname(int t) { return wk_ggml_type_get(QTYPES[t])->lname; }

enum { IMPL_WK, IMPL_WK_REF, IMPL_GGML, NIMPL };
static const char *IMPL[NIMPL] = { "wk", "wk-ref", "ggml" };

/* One timed run of implementation `impl`; returns wall seconds (or -1 on
 * error) and sets *cpu to the process CPU seconds it took (all threads). */
static double run(int impl, int type, const float *x, uint8_t *y, int64_t rows,
                  int64_t cols, int threads, double *cpu)
{
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = now();
    if (impl == IMPL_GGML) {
        const int64_t chunk = WK_QUANT_CHUNK_ROWS;
        const int64_t nchunks = (rows + chunk - 1) / chunk;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t r0 = c * chunk, nr = rows - r0 < chunk ? rows - r0 : chunk;
            ggml_quantize_chunk((enum ggml_type)type, x, y, r0 * cols, nr, cols, g_imatrix);
        }
    } else {
        wk_qopts o = { .nthreads = threads, .kernel = impl == IMPL_WK ? WK_QK_AUTO : WK_QK_REF,
                       .imatrix = g_imatrix };
        wk_err err;
        if (wk_quantize_rows(type, x, y, rows, cols, &o, &err) != 0) {
            fprintf(stderr, "quant_bench: %s\n", err.msg);
            return -1;
        }
    }
    double t = now() - t0;
    *cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    return t;
}

static int search_eval(const char *path)
{
    wk_err err;
    wk_pth *p = wk_pth_open(path, 0, &err);
    if (!p) { fprintf(stderr, "quant_bench: %s\n", err.msg); return 1; }
    double se[NQT][2] = { { 0 } }, n_all = 0;
    printf("RMSE of ggml's reference quantizer vs weightkit --search (no imatrix) on %s\n\n", path);
    printf("| tensor | values |");
    for (int t = 0; t < NQT; t++) printf(" %s |", qname(t));
    printf("\n|---|---|");
    for (int t = 0; t < NQT; t++) printf("---|");
    printf("\n");
    for (size_t i = 0; i < wk_pth_count(p); i++) {
        const wk_tensor_info *ti = wk_pth_tensor(p, i);
        int64_t rows, cols;
        float *x = bench_tensor_floats(ti, WK_QK_K, &rows, &cols);
        if (!x) continue;
        uint8_t *q = malloc((size_t)(rows * cols) * 2);
        if (!q) { free(x); continue; }
        printf("| %s | %lld |", ti->name, (long long)(rows * cols));
        for (int t = 0; t < NQT; t++) {
            const int type = QTYPES[t];
            double e[2];
            for (int k = 0; k < 2; k++) {
                wk_qopts o = { .kernel = k ? WK_QK_SEARCH : WK_QK_AUTO };
                if (wk_quantize_rows(type, x, q, rows, cols, &o, &err) != 0) {
                    fprintf(stderr, "quant_bench: %s: %s\n", ti->name, err.msg);
                    return 1;
                }
                e[k] = wk_quant_sq_error(type, x, q, rows * cols, NULL);
                se[t][k] += e[k];
            }
            printf(" %.2f%% |", 100.0 * (1 - sqrt(e[1] / e[0])));
        }
        printf("\n");
        n_all += (double)(rows * cols);
        free(x);
        free(q);
    }
    printf("\nOverall (all tensors above): RMSE reference -> search, reduction\n\n");
    printf("| type | RMSE ref | RMSE search | reduction |\n|---|---|---|---|\n");
    for (int t = 0; t < NQT; t++) {
        double a = sqrt(se[t][0] / n_all), b = sqrt(se[t][1] / n_all);
        printf("| %s | %.4e | %.4e | %.1f%% |\n", qname(t), a, b,
               100.0 * (1 - b / a));
    }
    wk_pth_close(p);
    return 0;
}

/* --search (WK_QK_SEARCH) throughput on the first `rows` rows, 1 and maxt
 * threads, median of `runs`; the output must be the same for every thread
 * count.  Returns 1 if it is not. */
static int search_speed(const float *x, int64_t rows, int64_t cols, int runs, int maxt)
{
    const double gb = (double)rows * cols * sizeof(float) / 1e9;
    uint8_t *y1 = malloc((size_t)(rows * cols) * 2), *y = malloc((size_t)(rows * cols) * 2);
    if (!y1 || !y) { free(y1); free(y); return 1; }
    int bad = 0;
    printf("\n--search on the first %lld rows (%lld values), median of %d runs; output compared "
           "across thread counts:\n\n", (long long)rows, (long long)(rows * cols), runs);
    printf("| type | threads | M values/s | GB/s | GB per CPU-s | same bytes as 1 thread |\n|---|---|---|---|---|---|\n");
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const char *name = qname(t);
        const size_t bytes = wk_ggml_row_size(type, cols) * (size_t)rows;
        if (!wk_quant_search_supported(type) || !type_wanted(type)) continue;
        for (int th = 1; th <= maxt; th = th < maxt && th * 2 > maxt ? maxt : th * 2) {
            double s[99], c[99];
            int same = 1;
            for (int r = 0; r < runs; r++) {
                wk_qopts o = { .nthreads = th, .kernel = WK_QK_SEARCH };
                wk_err err;
                double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = now();
                int rc = wk_quantize_rows(type, x, th == 1 ? y1 : y, rows, cols, &o, &err);
                s[r] = now() - t0;
                c[r] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
                if (rc) { fprintf(stderr, "quant_bench: search %s: %s\n", name, err.msg); bad = 1; }
                if (th > 1 && memcmp(y, y1, bytes)) same = 0;
            }
            qsort(s, (size_t)runs, sizeof s[0], cmp_double);
            qsort(c, (size_t)runs, sizeof c[0], cmp_double);
            printf("| %s | %d | %.2f | %.4f | %.4f | %s |\n", name, th, rows * cols / s[runs / 2] / 1e6,
                   gb / s[runs / 2], gb / c[runs / 2], th == 1 ? "-" : same ? "yes" : "**no**");
            fflush(stdout);
            bad |= !same;
            if (th == maxt) break;
        }
    }
    free(y1);
    free(y);
    return bad;
}

/* Times every wanted type with and without g_imatrix (whatever it is now):
 * one table row per type and thread count; best-of lines appended to best. */
static int bench_types(const float *x, uint8_t *ref, uint8_t *y, int64_t rows, int64_t cols,
                       int runs, int maxt, char (*best)[160], int *nbest, int maxbest)
{
    const double gb = (double)rows * cols * sizeof(float) / 1e9;
    const char *im = g_imatrix ? "yes" : "no";
    int bad = 0;
    for (int t = 0; t < NQT; t++) {
        const int type = QTYPES[t];
        const char *name = qname(t);
        size_t bytes = wk_ggml_row_size(type, cols) * (size_t)rows;
        double cpu_unused;
        if (!type_wanted(type)) continue;
        run(IMPL_GGML, type, x, ref, rows, cols, maxt, &cpu_unused);
        for (int th = 1; th <= maxt; th = th < maxt && th * 2 > maxt ? maxt : th * 2) {
            double med[NIMPL], min[NIMPL], cpu[NIMPL];
            for (int impl = 0; impl < NIMPL; impl++) {
                double s[99], c[99];
                for (int r = 0; r < runs; r++) {
                    memset(y, 0, bytes);
                    s[r] = run(impl, type, x, y, rows, cols, th, &c[r]);
                    if (s[r] < 0 || memcmp(y, ref, bytes)) {
                        fprintf(stderr, "quant_bench: %s %s (imatrix %s) output differs from ggml\n",
                                IMPL[impl], name, im);
                        bad = 1;
                    }
                }
                qsort(s, (size_t)runs, sizeof s[0], cmp_double);
                med[impl] = s[runs / 2];
                min[impl] = s[0];
                qsort(c, (size_t)runs, sizeof c[0], cmp_double);
                cpu[impl] = c[runs / 2];
            }
            printf("| %s | %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.2fx | %.2fx | %.2fx |\n",
                   name, im, th, gb / med[IMPL_WK], rows / med[IMPL_WK] / 1e6, gb / cpu[IMPL_WK],
                   gb / med[IMPL_WK_REF], gb / med[IMPL_GGML], med[IMPL_GGML] / med[IMPL_WK],
                   med[IMPL_WK_REF] / med[IMPL_WK], cpu[IMPL_GGML] / cpu[IMPL_WK]);
            fflush(stdout);
            if (*nbest < maxbest)
                snprintf(best[(*nbest)++], 160, "| %s | %s | %d | %.3f | %.3f | %.3f | %.2fx |",
                         name, im, th, gb / min[IMPL_WK], gb / min[IMPL_WK_REF],
                         gb / min[IMPL_GGML], min[IMPL_GGML] / min[IMPL_WK]);
            if (th == maxt) break;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--search-eval")) return search_eval(argv[2]);
    if (argc != 5) {
        fprintf(stderr, "usage: quant_bench ROWS COLS RUNS THREADS\n");
        return 2;
    }
    const int64_t rows = atoll(argv[1]), cols = atoll(argv[2]);
    const int runs = atoi(argv[3]), maxt = atoi(argv[4]);
    const int64_t search_rows = getenv("QB_SEARCH_ROWS") ? atoll(getenv("QB_SEARCH_ROWS")) : 64;
    if (rows <= 0 || cols <= 0 || cols % WK_QK_K || runs <= 0 || runs > 99 || maxt <= 0) {
        fprintf(stderr, "quant_bench: bad arguments\n");
        return 2;
    }
    float *x = malloc(sizeof(float) * (size_t)(rows * cols));
    /* quantized rows are at most 34/32 bytes per value (Q8_0) */
    uint8_t *ref = malloc((size_t)(rows * cols) * 2), *y = malloc((size_t)(rows * cols) * 2);
    float *imat = malloc(sizeof(float) * (size_t)cols);
    if (!x || !ref || !y || !imat) { fprintf(stderr, "quant_bench: out of memory\n"); return 1; }
    for (int64_t i = 0; i < rows * cols; i++) x[i] = gauss() * 0.02f * (i % 997 == 0 ? 8 : 1);
    for (int64_t i = 0; i < cols; i++) imat[i] = expf(gauss());
    const double gb = (double)rows * cols * sizeof(float) / 1e9;
    /* QB_IMATRIX: 0 (default) without, 1 with, 2 both in this run (without first) */
    const int qi = getenv("QB_IMATRIX") ? atoi(getenv("QB_IMATRIX")) : 0;

    printf("Input: %lld x %lld float32 (%.0f MB), median of %d runs; SIMD kernels: %s.\n",
           (long long)rows, (long long)cols, gb * 1e3, runs,
           wk_quant_have_simd() ? "AVX2/F16C" : "none (reference only)");
    if (qi) printf("imatrix yes: log-normal weights per column, the same on both sides.\n");
    printf("\n| type | imatrix | threads | wk GB/s | wk Mrows/s | wk GB per CPU-s | wk-ref GB/s | ggml GB/s | wk / ggml | wk / wk-ref | wk / ggml (CPU time) |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    int bad = 0;
    static char best[NQT * 8][160];   /* best-of-RUNS lines, printed after the medians */
    int nbest = 0;
    for (int m = qi == 1 ? 1 : 0; m <= (qi ? 1 : 0); m++) {
        g_imatrix = m ? imat : NULL;
        bad |= bench_types(x, ref, y, rows, cols, runs, maxt, best, &nbest, NQT * 8);
    }
    printf("\nBest of %d runs (the least disturbed run of each; GB/s):\n\n", runs);
    printf("| type | imatrix | threads | wk | wk-ref | ggml | wk / ggml |\n|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < nbest; i++) printf("%s\n", best[i]);
    g_imatrix = NULL;
    if (qi != 1 && search_rows > 0) bad |= search_speed(x, rows < search_rows ? rows : search_rows, cols, runs, maxt);
    free(x); free(ref); free(y); free(imat);
    return bad;
}
