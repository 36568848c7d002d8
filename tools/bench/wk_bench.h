/* wk_bench.h — the engine of wk-bench: numerical fidelity of each weight
 * format in a matrix product, and the speed of its kernels.
 *
 * Fidelity.  For a weight matrix W (rows x cols, float32) and a batch of
 * activation vectors X (batch x cols), the reference Y = W X^T is computed in
 * float64 on the original weights.  A format then gives two products:
 *   - the float path: W quantized, dequantized to fp32, and multiplied with X
 *     in fp32 (8 accumulator lanes, fixed order);
 *   - the runtime path: for quant types the integer dot of wk_dot.h
 *     (activations quantized to Q8_0 / Q8_K); for f16 / bf16 the activations
 *     rounded to the same 16-bit type (ggml's vec_dot_type), product in fp32.
 * Errors are accumulated as sums (wk_bench_acc) so that several tensors can
 * be pooled, and finished into NMSE = sum (y - yref)^2 / sum yref^2, the
 * relative Frobenius error sqrt(NMSE), the max |y - yref| and the cosine.
 * Every row is computed by one thread in a fixed order and the sums are
 * reduced in row order, so all numbers are identical for any thread count.
 *
 * Speed.  GEMV / small-batch GEMM time of the runtime path (activation
 * quantization included), the fp32 baseline (AVX2+FMA when available), a
 * STREAM-style copy bandwidth and an FMA peak: medians of repeated runs.
 *
 * The library never prints; wk-bench formats the results. */
#ifndef WK_BENCH_H
#define WK_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_cpu.h"     /* wk_cpu_has(WK_CPU_SIMD_FMA): the fp32/f16/bf16 timing
                          * kernels and the FMA peak use AVX2+FMA+F16C */
#include "wk_quant.h"

/* ---- formats --------------------------------------------------------------------- */

typedef enum { WK_BF_F32 = 0, WK_BF_F16, WK_BF_BF16, WK_BF_QUANT } wk_bench_kind;

typedef struct {
    wk_bench_kind kind;
    int qtype;              /* WK_BF_QUANT only: the ggml type id */
    int search;             /* 1: wk-quantize --search's quantizer */
    char name[24];          /* "f16", "q4_0", "q4_0-search" */
} wk_bench_fmt;

/* Parse one format name: f32, f16, bf16, a quant type of the kernel table
 * (q4_0 ... q6_k), or a quant type followed by "-search".  WK_E_USAGE
 * naming the input if unknown. */
int wk_bench_fmt_parse(const char *name, wk_bench_fmt *f, wk_err *err);
/* Values per block (1 for f32/f16/bf16). */
int wk_bench_fmt_blck(const wk_bench_fmt *f);
/* Storage bits per weight (type_size * 8 / blck; 32, 16, 16). */
double wk_bench_fmt_bpw(const wk_bench_fmt *f);
/* Bytes of one stored row of n values. */
size_t wk_bench_fmt_row_size(const wk_bench_fmt *f, int64_t n);

/* ---- synthetic inputs -------------------------------------------------------------- */

typedef enum { WK_GEN_GAUSS = 0, WK_GEN_STUDENT, WK_GEN_OUTLIER, WK_GEN_COUNT } wk_bench_gen;

/* "gauss", "student-t", "outlier". */
const char *wk_bench_gen_name(wk_bench_gen g);
/* By name; -1 if unknown. */
int wk_bench_gen_by_name(const char *name);

/* Fill m (rows x cols) from distribution g with standard deviation sigma:
 * Gaussian; Student-t with 3 degrees of freedom scaled to the same variance;
 * Gaussian with outlier columns (every column c whose hash with the seed
 * falls in the lowest 1% is multiplied by 10).  stream separates weights (0)
 * from activations (1).  Each value depends only on (g, seed, stream, row,
 * column), so the result is the same for any thread count. */
void wk_bench_generate(wk_bench_gen g, uint64_t seed, int stream, float sigma, int64_t rows,
                       int64_t cols, float *m, int nthreads);

/* ---- fidelity ------------------------------------------------------------------------- */

/* Sums over output elements, poolable across tensors (start zeroed). */
typedef struct {
    double sse;      /* sum (y - yref)^2 */
    double ref2;     /* sum yref^2 */
    double y2;       /* sum y^2 */
    double dot;      /* sum y * yref */
    double max_abs;  /* max |y - yref| */
    double n;        /* elements */
} wk_bench_acc;

typedef struct {
    double nmse, rel_fro, max_abs_err, cosine;
} wk_bench_metrics;

/* Metrics from sums (NMSE 0 and cosine 1 when everything is 0). */
wk_bench_metrics wk_bench_finish(const wk_bench_acc *a);
/* *into += *a (max for max_abs). */
void wk_bench_acc_add(wk_bench_acc *into, const wk_bench_acc *a);

typedef struct {
    wk_bench_acc fpath;   /* float path vs the float64 reference */
    wk_bench_acc rpath;   /* runtime path vs the float64 reference */
    wk_bench_acc diff;    /* runtime path vs float path (yref = float path) */
    wk_bench_acc weight;  /* dequantized weights vs the original weights */
} wk_bench_fid;

/* yref[r * batch + b] = sum_c (double)w[r*cols + c] * x[b*cols + c]. */
void wk_bench_ref_gemm(const float *w, int64_t rows, int64_t cols, const float *x, int64_t batch,
                       double *yref, int nthreads);

/* Quantize w into f's layout (rows back to back, wk_bench_fmt_row_size each)
 * into q (for f32: a copy).  Fails like wk_quantize_rows (NaN/Inf, fp16
 * overflow, cols not a multiple of the block: WK_E_USAGE); name is used in
 * messages. */
int wk_bench_quantize(const wk_bench_fmt *f, const float *w, int64_t rows, int64_t cols,
                      void *q, const char *name, int nthreads, wk_err *err);

/* Measure format f on w (rows x cols), x (batch x cols) against yref (from
 * wk_bench_ref_gemm) and add the sums to *out.  Allocates rows*cols floats of
 * scratch.  Fails with the quantizer's errors or WK_E_NOMEM. */
int wk_bench_fidelity(const wk_bench_fmt *f, const float *w, int64_t rows, int64_t cols,
                      const float *x, int64_t batch, const double *yref, const char *name,
                      int nthreads, wk_bench_fid *out, wk_err *err);

/* ---- kernels of the runtime path ----------------------------------------------------- */

/* Activation bytes of one vector of cols values for f (f32: 4*cols). */
size_t wk_bench_act_row_size(const wk_bench_fmt *f, int64_t cols);
/* Prepare activations for f's runtime dot: Q8_0/Q8_K for quant types, fp16 /
 * bf16 bits for f16/bf16, a copy for f32. */
void wk_bench_prep_act(const wk_bench_fmt *f, const float *x, void *a, int64_t cols);
/* One runtime-path dot of a stored row with prepared activations (quant:
 * wk_dot's integer dot; f16/bf16: products of the 16-bit values in fp32;
 * f32: fp32).  simd 0 forces the scalar reference. */
float wk_bench_dot(const wk_bench_fmt *f, int simd, const void *row, const void *act, int64_t cols);

/* ---- speed ------------------------------------------------------------------------------ */

typedef struct {
    double seconds;   /* median time of one product (activation preparation included) */
    double gflops;    /* 2 * rows * cols * batch / seconds / 1e9 */
    double gbs;       /* stored weight bytes / seconds / 1e9 */
} wk_bench_speed;

/* Time y = W x^T for batch vectors with the runtime path of f (AVX2 when
 * available) on nthreads threads: q holds the stored rows, x the float
 * activations.  reps runs of at least min_seconds each (at most 65536
 * products); every product is timed on its own, a run's figure is the median
 * of its products and the result the median of the runs' figures.
 * Fails only with WK_E_NOMEM. */
int wk_bench_time_gemm(const wk_bench_fmt *f, const void *q, int64_t rows, int64_t cols,
                       const float *x, int64_t batch, int nthreads, int reps, double min_seconds,
                       wk_bench_speed *out, wk_err *err);

/* STREAM-style copy of two arrays of `bytes` each on nthreads threads:
 * median GB/s counting bytes read + written.  WK_E_NOMEM. */
int wk_bench_copy_bw(size_t bytes, int nthreads, int reps, double *gbs, wk_err *err);
/* Read bandwidth: a sum over one array of `bytes` (64-bit integers, so the
 * loop vectorises) on nthreads threads; median GB/s of bytes read.  The
 * roofline of a GEMV, which only reads its weights.  WK_E_NOMEM. */
int wk_bench_read_bw(size_t bytes, int nthreads, int reps, double *gbs, wk_err *err);
/* FMA peak in GFLOP/s on nthreads threads (AVX2+FMA if the CPU has it, else
 * scalar multiply-add), median of reps. */
double wk_bench_fma_peak(int nthreads, int reps);

/* Monotonic seconds. */
double wk_bench_now(void);

#endif
