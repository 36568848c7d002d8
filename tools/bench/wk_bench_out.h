/* wk_bench_out.h — wk-bench's results: collected while the engine runs, then
 * rendered as a table (stdout), JSON and a self-contained SVG plot.
 *
 * Records are keyed by (input, format): input is a synthetic distribution
 * name ("gauss", "student-t", "outlier") or "model"; with a model the
 * tensors' sums are pooled (and also kept per tensor for the JSON).  Every
 * number except those of the speed and machine parts is a deterministic
 * function of the inputs, so JSON written with different -j differs only in
 * "threads", "machine", "speed" and "scaling". */
#ifndef WK_BENCH_OUT_H
#define WK_BENCH_OUT_H

#include <stdio.h>
#include "wk_bench.h"

typedef struct wk_bench_report wk_bench_report;

/* A new empty report; model/acts may be NULL (kept as pointers: they must
 * outlive the report).  NULL with WK_E_NOMEM. */
wk_bench_report *wk_bench_report_new(const uint64_t *seed, const char *model, const char *acts,
                                     int threads, wk_err *err);
void wk_bench_report_free(wk_bench_report *r);   /* safe on NULL */

/* Pool fid into the record (input, f); tensor is NULL for synthetic inputs
 * (else a per-tensor entry is kept too).  acts_file: the activations came
 * from --activations.  WK_E_NOMEM. */
int wk_bench_report_add(wk_bench_report *r, const char *input, const wk_bench_fmt *f,
                        const char *tensor, int64_t rows, int64_t cols, int64_t batch,
                        int acts_file, const wk_bench_fid *fid, wk_err *err);
/* Count a tensor skipped for f (its rows are not whole blocks).  Never fails
 * (a record that cannot be allocated is simply not counted). */
void wk_bench_report_skip(wk_bench_report *r, const char *input, const wk_bench_fmt *f,
                          const char *tensor);
/* Machine figures measured in this run. */
void wk_bench_report_machine(wk_bench_report *r, int threads, double read_gbs, double copy_gbs,
                             double fma_gflops, int have_fma, int have_avx2_dot);
/* Speed of f (the f32 baseline included); ignored when the table is full. */
void wk_bench_report_speed(wk_bench_report *r, const wk_bench_fmt *f, int64_t rows, int64_t cols,
                           int64_t gemm_batch, const wk_bench_speed *gemv,
                           const wk_bench_speed *gemm);
/* GEMV speed of f with `threads` threads (for --scaling). */
void wk_bench_report_scaling(wk_bench_report *r, const wk_bench_fmt *f, int threads,
                             const wk_bench_speed *gemv);

/* The table. */
void wk_bench_report_print(const wk_bench_report *r, FILE *out);
/* The JSON report to json_path and the SVG to svg_path (either may be NULL),
 * both or neither: both are written to temporaries first, then committed; if
 * the second commit fails the first file is removed again.  Never written over
 * the report's --model or --activations file (WK_E_UNSAFE).  WK_E_IO,
 * WK_E_NOMEM. */
int wk_bench_report_files(const wk_bench_report *r, const char *json_path, const char *svg_path, wk_err *err);

#endif
