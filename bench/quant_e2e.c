/* quant_e2e.c — wk-quantize's whole process against what it cannot avoid:
 * ggml's compute for the same tensors and the I/O floor, same run,
 * interleaved, medians (issue #23).
 *
 * Built and run by bench/quant_bench.sh when QB_E2E is set (links
 * libggml-base.so of the npm package and libweightkit.a).  For each TYPE:
 * one untimed `wk-quantize INPUT OUT TYPE -j 1 --quiet` gives the output's
 * tensor types (the type mix, e.g. q6_K for output.weight in a q4_0 file) and
 * warms the page cache; then RUNS rounds of, in this order:
 *   floor   read INPUT through read() from the page cache (1 MiB at a time),
 *           write as many bytes as OUT has to a new file beside OUT, fsync,
 *           close, unlink: the I/O any quantizer of this file must do;
 *   ggml    ggml_quantize_chunk, 1 thread, over every tensor whose type
 *           changes, into the same types, from float32 copies made before the
 *           clock starts (compute only; F16/BF16 outputs included);
 *   wk      `wk-quantize INPUT OUT TYPE -j 1 --quiet` as a child process:
 *           wall clock (spawn to exit) and its CPU time (user + system);
 *   stats   in process, 1 thread, the same tensors through
 *           wk_quantize_rows_stats and through wk_quantize_rows (its NaN/Inf
 *           scan, no statistics): the difference is what the statistics cost
 *           beyond the scan that is needed anyway.
 * The "kernel" column: ggml's compute / wk_quantize_rows's (both 1 thread,
 * thread CPU time) on the tensors of the file's main type only (the type with
 * the most output bytes, e.g. Q4_1 in a q4_1 file, without its Q6_K output
 * tensor): the per-thread quantizer ratio of that type.
 * Prints one Markdown row per type (medians of RUNS): the goals are
 * wk CPU <= ggml compute + floor CPU, statistics <= 10 % of wk CPU, kernel
 * ratio >= 2x.
 *
 * usage: quant_e2e WK_QUANTIZE INPUT.gguf OUT.gguf RUNS TYPE... */
#include "ggml.h"
#include "wk_gguf.h"
#include "wk_quant.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Runs wk-quantize; wall seconds into *wall, child CPU seconds into *cpu; 0 on exit status 0. */
static int run_wk(const char *wkq, const char *in, const char *out, const char *type, double *wall, double *cpu)
{
    char *argv[] = { (char *)wkq, (char *)in, (char *)out, (char *)type, "-j", "1", "--quiet", NULL };
    pid_t pid;
    double t0 = now();
    if (posix_spawn(&pid, wkq, NULL, NULL, argv, environ)) return -1;
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid) return -1;
    *wall = now() - t0;
    *cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

/* The I/O floor: read `in` from the page cache, write out_bytes to a new file,
 * fsync; wall seconds, its CPU seconds into *cpu. */
static double io_floor(const char *in, const char *tmp, uint64_t out_bytes, double *cpu)
{
    enum { BUF = 1 << 20 };
    static char buf[BUF];
    const double c0 = self_cpu(), t0 = now();
    int fd = open(in, O_RDONLY);
    if (fd < 0) return -1;
    while (read(fd, buf, BUF) > 0) {}
    close(fd);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    for (uint64_t o = 0; o < out_bytes;) {
        size_t n = out_bytes - o < BUF ? (size_t)(out_bytes - o) : BUF;
        if (write(fd, buf, n) != (ssize_t)n) return -1;
        o += n;
    }
    if (fsync(fd) || close(fd)) return -1;
    double t = now() - t0;
    *cpu = self_cpu() - c0;
    unlink(tmp);
    return t;
}

typedef struct {
    float *x;            /* the tensor as float32 (input must be F32) */
    int64_t ne0, nrows;
    int type;            /* output type */
    void *dst;
    double *stats;
} job;

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: quant_e2e WK_QUANTIZE INPUT.gguf OUT.gguf RUNS TYPE...\n");
        return 2;
    }
    const char *wkq = argv[1], *in = argv[2], *out = argv[3];
    const int runs = atoi(argv[4]);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.floor", out);
    wk_err err;
    wk_gguf *gi = wk_gguf_open(in, &err);
    if (!gi) { fprintf(stderr, "quant_e2e: %s\n", err.msg); return 1; }
    const size_t nt = wk_gguf_tensor_count(gi);
    uint64_t n_in = 0;
    for (size_t i = 0; i < nt; i++) n_in += wk_gguf_tensor_at(gi, i)->nbytes;
    printf("Input %s: %zu tensors, %.1f MB of tensor data; RUNS=%d; load average before:", in, nt, n_in / 1e6, runs);
    fflush(stdout);
    system("cut -d' ' -f1-3 /proc/loadavg");
    printf("\n| type | wk wall s | wk CPU s | ggml compute s | I/O floor wall s (CPU s) | wk wall / (ggml + floor wall) "
           "| wk CPU / (ggml + floor CPU) | stats beyond the scan s (%% of wk CPU) | ggml compute / wk CPU "
           "| kernel wk / ggml per thread (main type) | output MB |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int a = 5; a < argc; a++) {
        double w, c;
        if (run_wk(wkq, in, out, argv[a], &w, &c)) { fprintf(stderr, "quant_e2e: wk-quantize %s failed\n", argv[a]); return 1; }
        wk_gguf *go = wk_gguf_open(out, &err);
        if (!go || wk_gguf_tensor_count(go) != nt) { fprintf(stderr, "quant_e2e: %s: bad output\n", out); return 1; }
        FILE *f = fopen(out, "rb");
        fseek(f, 0, SEEK_END);
        const uint64_t out_bytes = (uint64_t)ftell(f);
        fclose(f);
        job *jobs = calloc(nt, sizeof *jobs);
        size_t nj = 0;
        for (size_t i = 0; i < nt; i++) {
            const wk_gguf_tensor *ti = wk_gguf_tensor_at(gi, i), *to = wk_gguf_tensor_at(go, i);
            if (strcmp(ti->name, to->name) || ti->type != WK_GGML_F32) { fprintf(stderr, "quant_e2e: %s: not F32 or order differs\n", ti->name); return 1; }
            if (to->type == ti->type) continue;
            job *j = &jobs[nj++];
            j->ne0 = ti->ne[0];
            j->nrows = (int64_t)(ti->nbytes / 4) / j->ne0;
            j->type = to->type;
            j->x = malloc(ti->nbytes);
            j->dst = malloc(to->nbytes);
            j->stats = malloc(sizeof(double) * 2 * (size_t)j->nrows);
            memcpy(j->x, ti->data, ti->nbytes);
            ggml_quantize_init((enum ggml_type)j->type);
        }
        /* the main type: most output bytes */
        int main_type = -1;
        {
            double best = -1;
            for (size_t k = 0; k < nj; k++) {
                double b = 0;
                for (size_t q = 0; q < nj; q++)
                    if (jobs[q].type == jobs[k].type) b += (double)(jobs[q].nrows * jobs[q].ne0);
                if (b > best) { best = b; main_type = jobs[k].type; }
            }
        }
        enum { NT = 9 };
        double *T = calloc((size_t)runs * NT, sizeof *T);   /* floor, ggml, wk wall, wk cpu, stats, plain, floor cpu,
                                                              * ggml main type, plain main type */
        for (int r = 0; r < runs; r++) {
            T[0 * runs + r] = io_floor(in, tmp, out_bytes, &T[6 * runs + r]);
            double t0, tg = 0, tgm = 0;
            for (size_t k = 0; k < nj; k++) {
                t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
                ggml_quantize_chunk((enum ggml_type)jobs[k].type, jobs[k].x, jobs[k].dst, 0, jobs[k].nrows, jobs[k].ne0, NULL);
                const double dt = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
                tg += dt;
                if (jobs[k].type == main_type) tgm += dt;
            }
            T[1 * runs + r] = tg;
            T[7 * runs + r] = tgm;
            if (run_wk(wkq, in, out, argv[a], &T[2 * runs + r], &T[3 * runs + r])) return 1;
            /* two separate passes over all tensors (478 MB, beyond any cache), so
             * that neither finds the other's input in cache; alternating order */
            wk_qopts o = { .nthreads = 1 };
            double ts = 0, tp = 0, tpm = 0;
            for (int pass = 0; pass < 2; pass++) {
                const int with_stats = (pass + r) % 2 == 0;
                for (size_t k = 0; k < nj; k++) {
                    if (!wk_qtraits_get(jobs[k].type)) continue;   /* F16/BF16 outputs: no driver */
                    t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
                    if (with_stats ? wk_quantize_rows_stats(jobs[k].type, jobs[k].x, jobs[k].dst, jobs[k].nrows,
                                                            jobs[k].ne0, &o, jobs[k].stats, &err)
                                   : wk_quantize_rows(jobs[k].type, jobs[k].x, jobs[k].dst, jobs[k].nrows, jobs[k].ne0,
                                                      &o, &err))
                        return 1;
                    const double dt = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
                    if (with_stats) ts += dt;
                    else {
                        tp += dt;
                        if (jobs[k].type == main_type) tpm += dt;
                    }
                }
            }
            T[4 * runs + r] = ts;
            T[5 * runs + r] = tp;
            T[8 * runs + r] = tpm;
        }
        double m[NT];
        for (int k = 0; k < NT; k++) m[k] = median(T + k * runs, runs);
        const double extra = m[4] - m[5];
        char kern[64] = "-";
        if (wk_qtraits_get(main_type) && m[8] > 0)
            snprintf(kern, sizeof kern, "%.2fx (%s)", m[7] / m[8], wk_ggml_type_get(main_type)->lname);
        printf("| %s | %.3f | %.3f | %.3f | %.3f (%.3f) | %.2f | %.2f | %.3f (%.1f %%) | %.2fx | %s | %.1f |\n", argv[a], m[2],
               m[3], m[1], m[0], m[6], m[2] / (m[1] + m[0]), m[3] / (m[1] + m[6]), extra, 100.0 * extra / m[3],
               m[1] / m[3], kern, out_bytes / 1e6);
        fflush(stdout);
        for (size_t k = 0; k < nj; k++) { free(jobs[k].x); free(jobs[k].dst); free(jobs[k].stats); }
        free(jobs);
        free(T);
        wk_gguf_close(go);
    }
    printf("\nload average after: ");
    fflush(stdout);
    system("cut -d' ' -f1-3 /proc/loadavg");
    wk_gguf_close(gi);
    return 0;
}
