/* wk_bench_run.h — a wk-bench run over the bench engine (wk_bench.h): the
 * fidelity of every format against the float64 reference GEMM, on seeded
 * synthetic matrices (one per distribution) or on the 2-D tensors of a
 * model, with seeded or given activations; then the machine's bandwidth and
 * each format's GEMV / GEMM speed (and thread scaling).  Results go into a
 * wk_bench_report (wk_bench_out.h).  Nothing here prints. */
#ifndef WK_BENCH_RUN_H
#define WK_BENCH_RUN_H

#include <stdint.h>
#include "wk_bench.h"
#include "wk_bench_out.h"
#include "wk_err.h"
#include "wk_npy.h"
#include "wk_progress.h"

typedef struct {
    int64_t rows, cols, batch, gemm_batch;   /* synthetic / speed matrices, activations */
    uint64_t seed;
    const char *model;            /* a model wk_source reads, or NULL: synthetic matrices */
    const wk_npy_f32 *acts;       /* activations (rows of matching width), or NULL */
    int dists[WK_GEN_COUNT], ndists;   /* synthetic weight distributions */
    int fidelity, speed, scaling; /* which parts run */
    int reps, max_tensors;        /* max_tensors 0: all of the model's */
    double min_seconds;           /* per speed measurement */
    int threads;
    wk_progress_fn progress;      /* fidelity: values x formats done of wk_bench_run_total; may be NULL */
    void (*stage)(void *progress_ctx, const char *label);   /* a format, "machine"; may be NULL */
    void *progress_ctx;
} wk_bench_run_opts;

/* Total work for the progress (values x formats; 0 = unknown with a model). */
uint64_t wk_bench_run_total(const wk_bench_run_opts *o, int nfmt);

/* Run the fidelity and/or speed parts for the nfmt formats into rep. */
int wk_bench_run(const wk_bench_run_opts *o, const wk_bench_fmt *fmts, int nfmt, wk_bench_report *rep,
                 wk_err *err);

#endif
