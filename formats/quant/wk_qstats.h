/* wk_qstats.h — the error statistics of a quantization run, cheap enough to be
 * always on: sums of squares in double, vectorized, with a scalar reference
 * beside each AVX2 kernel giving the same bits (tests/unit/test_qstats.c).
 *
 * The summation rule (docs/formats/quant-blocks.md, "Error statistics").  An
 * accumulator has WK_QSTATS_LANES (16) double lanes; the k-th value added to
 * it (counting from wk_qstats_acc_init, over every call) adds its term to
 * lane k % 16, in order; the sum is
 *     t[j] = (lane[j] + lane[j+4]) + (lane[j+8] + lane[j+12])   for j = 0..3
 *     sum  = (t[0] + t[1]) + (t[2] + t[3]).
 * Terms are (double)x * (double)x, or d * d with d = (double)x - (double)y,
 * each a separate IEEE double operation (no FMA contraction).  The result
 * depends only on the values and their order, never on the CPU's kernels or
 * the thread count.  NaN / Inf values make the sum NaN / Inf: a row's sum of
 * squares is finite exactly when every value of the row is (a finite float's
 * square is below 1.2e77), which is how the row driver's NaN/Inf scan rides
 * along with the statistics (wk_quant.h, wk_quantize_rows_stats). */
#ifndef WK_QSTATS_H
#define WK_QSTATS_H

#include <stdint.h>

#define WK_QSTATS_LANES 16

typedef struct {
    double lane[WK_QSTATS_LANES];
    uint64_t n;                 /* values added so far: the next goes to lane n % 16 */
} wk_qstats_acc;

/* Empty accumulator (all lanes +0.0). */
void wk_qstats_acc_init(wk_qstats_acc *a);
/* The sum of a's lanes by the rule above. */
double wk_qstats_acc_sum(const wk_qstats_acc *a);

/* Add x[i]^2 for i < n (any n >= 0, any values).  AVX2 when the CPU has it. */
void wk_qstats_acc_sq(wk_qstats_acc *a, const float *x, int64_t n);
/* Add (x[i] - y[i])^2 for i < n. */
void wk_qstats_acc_sq_diff(wk_qstats_acc *a, const float *x, const float *y, int64_t n);
/* The scalar references (same bits as the above for every input). */
void wk_qstats_acc_sq_ref(wk_qstats_acc *a, const float *x, int64_t n);
void wk_qstats_acc_sq_diff_ref(wk_qstats_acc *a, const float *x, const float *y, int64_t n);

/* Sum of x[i]^2 over one row (a fresh accumulator). */
double wk_qstats_sum_sq(const float *x, int64_t n);

/* The quantization error of one row: sum (x[i] - dequant(q)[i])^2 over n
 * values (a fresh accumulator), q holding n / blck blocks of quant type
 * `type` (a ggml id with kernels; n a multiple of its block size).  With
 * AVX2, Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 blocks are dequantized in registers (the
 * dequantizer's floats exactly); other types 256 values at a time into a
 * stack buffer by their dequantizer (Q6_K's AVX2 twin with AVX2).  Nothing is allocated.  Returns NaN for
 * a type without kernels. */
double wk_qstats_row_sq_error(int type, const float *x, const void *q, int64_t n);
/* The same with scalar kernels only (the reference for the tests). */
double wk_qstats_row_sq_error_ref(int type, const float *x, const void *q, int64_t n);

/* Dequantize nb blocks of type `type` into y with the AVX2 twins of the
 * dequantizers of Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q6_K (same floats; a NaN scale
 * gives NaN values, not necessarily the same NaN): 1 done, 0 no AVX2 kernel
 * for the type or the CPU (y untouched). */
int wk_qstats_dequant_simd(int type, const void *q, float *y, int64_t nb);

#endif
