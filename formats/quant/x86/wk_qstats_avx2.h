/* wk_qstats_avx2.h — the AVX2 statistics kernels of wk_qstats.c (private to
 * formats/quant; defined on x86 only, callable only when wk_quant_have_simd()). */
#ifndef WK_QSTATS_AVX2_H
#define WK_QSTATS_AVX2_H

#include <stdint.h>
#include "wk_qstats.h"

/* = wk_qstats_acc_sq_ref / wk_qstats_acc_sq_diff_ref, bit for bit
 * (NaN scales: NaN values, not necessarily the same NaN). */
void wk_qstats_acc_sq_avx2(wk_qstats_acc *a, const float *x, int64_t n);
void wk_qstats_acc_sq_diff_avx2(wk_qstats_acc *a, const float *x, const float *y, int64_t n);
/* = wk_dequantize_row_<type> on nb blocks of 32 (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0), bit for bit. */
void wk_qstats_dequant_q4_0_avx2(const void *q, float *y, int64_t nb);
void wk_qstats_dequant_q4_1_avx2(const void *q, float *y, int64_t nb);
void wk_qstats_dequant_q5_0_avx2(const void *q, float *y, int64_t nb);
void wk_qstats_dequant_q5_1_avx2(const void *q, float *y, int64_t nb);
void wk_qstats_dequant_q8_0_avx2(const void *q, float *y, int64_t nb);
/* = wk_dequantize_row_q6_K on nb blocks of 256, bit for bit (same NaN caveat). */
void wk_qstats_dequant_q6_K_avx2(const void *q, float *y, int64_t nb);
/* The row error of nb blocks of a legacy type (wk_qstats_row_sq_error's
 * value, same bits) into *e: 1, or 0 for any other type (*e untouched). */
int wk_qstats_row_err_avx2(int type, const float *x, const void *q, int64_t nb, double *e);

#endif
