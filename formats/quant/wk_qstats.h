/* wk_qstats.h — the error statistics of a quantization run, cheap enough to be
 * always on: per row, E = sum (x - q)^2 (q the dequantized floats) and
 * X = sum x^2, vectorized, with a scalar reference beside each AVX2 kernel
 * giving the same bits (tests/unit/test_qstats.c).
 *
 * The summation rule, version 1.3 (docs/formats/quant-blocks.md, "Error
 * statistics"), per row of n values:
 *  - terms in float, each a separate IEEE single operation (round to
 *    nearest, no fused multiply-add): E adds d * d with d = x - q, X adds x * x;
 *  - the row is cut into groups of WK_QSTATS_GROUP (256) consecutive values
 *    (the last may be shorter); per group 32 float lanes f[0..31], all +0.0f;
 *    the k-th value of the group adds its term to f[k % 32];
 *  - at the end of a group g[j] = (f[j] + f[j+16]) + (f[j+8] + f[j+24]) for
 *    j = 0..7 (float), then L[j] += (double)g[j] (8 double lanes, all +0.0
 *    at the row's start);
 *  - the row's sum: t[j] = L[j] + L[j+4] for j = 0..3, then
 *    (t[0] + t[2]) + (t[1] + t[3]) (double);
 *  - fallback: if the row's E or X so summed is not finite, or X < 2^-60
 *    (wk_qstats_need_exact), both are replaced by the exact rule (version
 *    1.2, the wk_qstats_acc functions below: terms exact in double, 16
 *    double lanes).
 * The result depends only on the values and their order, never on the CPU's
 * kernels or the thread count.  A row's X is finite exactly when every value
 * of the row is (by the fallback: a finite float's square is below 1.2e77 in
 * double), which is how the row driver's NaN/Inf detection rides along with
 * the statistics (wk_quant.h, wk_quantize_rows_stats). */
#ifndef WK_QSTATS_H
#define WK_QSTATS_H

#include <stdint.h>

#define WK_QSTATS_GROUP 256     /* values per group of the float rule */
#define WK_QSTATS_FLANES 32     /* float lanes per group */
#define WK_QSTATS_DLANES 8      /* double lanes per row */

/* ---- rule 1.3: the statistics of one row --------------------------------------- */

/* st[0] = E, st[1] = X of the row x[0..n) against y[0..n) (the dequantized or
 * converted floats) by the complete rule, fallback included.  AVX2 when the
 * CPU has it; _ref: scalar only (same bits for every input). */
void wk_qstats_row(const float *x, const float *y, int64_t n, double st[2]);
void wk_qstats_row_ref(const float *x, const float *y, int64_t n, double st[2]);

/* The same with y = the dequantized values of q, n / blck blocks of quant
 * type `type` (a ggml id with kernels; n a multiple of its block size), or
 * n halves (2-byte aligned) for type F16 / BF16 (wk_f16_to_f32 / wk_bf16_to_f32),
 * dequantized 256 values at a time into a stack buffer (with AVX2: the AVX2
 * dequantizer of wk_qstats_dequant_simd where there is one, the same floats).
 * Nothing is allocated.  st = { NaN, NaN } for a type without kernels. */
void wk_qstats_row_q(int type, const float *x, const void *q, int64_t n, double st[2]);
void wk_qstats_row_q_ref(int type, const float *x, const void *q, int64_t n, double st[2]);

/* The float part of the rule alone (no fallback): X, or E against y, of one
 * row.  Not finite when a value is not finite, nor when a float square or
 * sum overflows (|x| above ~1.8e19).  _ref: the scalar references. */
double wk_qstats_fast_sq(const float *x, int64_t n);
double wk_qstats_fast_sq_diff(const float *x, const float *y, int64_t n);
double wk_qstats_fast_sq_ref(const float *x, int64_t n);
double wk_qstats_fast_sq_diff_ref(const float *x, const float *y, int64_t n);

/* 1 when a row's float-rule sums e (E) and s (X) are replaced by the exact
 * ones: e or s not finite, or s < 2^-60. */
int wk_qstats_need_exact(double e, double s);

/* The row sum of 8 double lanes: t[j] = l[j] + l[j+4], (t[0] + t[2]) + (t[1] + t[3]). */
double wk_qstats_lanes_sum(const double l[WK_QSTATS_DLANES]);

/* ---- the exact rule (version 1.2): the fallback ----------------------------------
 * An accumulator has WK_QSTATS_LANES (16) double lanes; the k-th value added
 * to it (counting from wk_qstats_acc_init, over every call) adds its term to
 * lane k % 16, in order; the sum is
 *     t[j] = (lane[j] + lane[j+4]) + (lane[j+8] + lane[j+12])   for j = 0..3
 *     sum  = (t[0] + t[1]) + (t[2] + t[3]).
 * Terms are (double)x * (double)x, or d * d with d = (double)x - (double)y,
 * each a separate IEEE double operation (no FMA contraction). */
#define WK_QSTATS_LANES 16

typedef struct {
    double lane[WK_QSTATS_LANES];
    uint64_t n;                 /* values added so far: the next goes to lane n % 16 */
} wk_qstats_acc;

/* Empty accumulator (all lanes +0.0). */
void wk_qstats_acc_init(wk_qstats_acc *a);
/* The sum of a's lanes by the exact rule. */
double wk_qstats_acc_sum(const wk_qstats_acc *a);

/* Add x[i]^2 for i < n (any n >= 0, any values).  AVX2 when the CPU has it. */
void wk_qstats_acc_sq(wk_qstats_acc *a, const float *x, int64_t n);
/* Add (x[i] - y[i])^2 for i < n. */
void wk_qstats_acc_sq_diff(wk_qstats_acc *a, const float *x, const float *y, int64_t n);
/* The scalar references (same bits as the above for every input). */
void wk_qstats_acc_sq_ref(wk_qstats_acc *a, const float *x, int64_t n);
void wk_qstats_acc_sq_diff_ref(wk_qstats_acc *a, const float *x, const float *y, int64_t n);

/* X of one row by the exact rule (a fresh accumulator). */
double wk_qstats_exact_sq(const float *x, int64_t n);
/* E of one row by the exact rule, q as for wk_qstats_row_q; NaN for a type
 * without kernels.  _ref: scalar kernels only. */
double wk_qstats_exact_err(int type, const float *x, const void *q, int64_t n);
double wk_qstats_exact_err_ref(int type, const float *x, const void *q, int64_t n);

/* Dequantize nb blocks of type `type` into y with the AVX2 twins of the
 * dequantizers of Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q6_K (same floats; a NaN scale
 * gives NaN values, not necessarily the same NaN): 1 done, 0 no AVX2 kernel
 * for the type or the CPU (y untouched). */
int wk_qstats_dequant_simd(int type, const void *q, float *y, int64_t nb);

#endif
