/* wk_qstats_avx2.h — the AVX2 statistics kernels of wk_qstats.c (private to
 * formats/quant; defined on x86 only, callable only when wk_quant_have_simd()),
 * and the inline pieces of rule 1.3 the fused legacy quantizers share
 * (x86/wk_quant_legacy_avx2.c). */
#ifndef WK_QSTATS_AVX2_H
#define WK_QSTATS_AVX2_H

#include <stdint.h>
#include "wk_qstats.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "wk_cpu.h"

/* Rule 1.3 in registers: a group's 32 float lanes are 4 vectors F[0..3]
 * (f[8i..8i+7] in F[i]), the row's 8 double lanes 2 vectors L[0..1]
 * (L[0..3], L[4..7]).  The end of a group: g = (F0 + F2) + (F1 + F3) lane by
 * lane (= (f[j] + f[j+16]) + (f[j+8] + f[j+24])), L += (double)g; F reset. */
WK_TARGET_AVX2 static inline void wk_qstats_flush_avx2(__m256 F[4], __m256d L[2])
{
    const __m256 g = _mm256_add_ps(_mm256_add_ps(F[0], F[2]), _mm256_add_ps(F[1], F[3]));
    L[0] = _mm256_add_pd(L[0], _mm256_cvtps_pd(_mm256_castps256_ps128(g)));
    L[1] = _mm256_add_pd(L[1], _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1)));
    F[0] = F[1] = F[2] = F[3] = _mm256_setzero_ps();
}

/* The row's sum of L: t = L[0..3] + L[4..7], (t0 + t2) + (t1 + t3)
 * (= wk_qstats_lanes_sum). */
WK_TARGET_AVX2 static inline double wk_qstats_tree_avx2(const __m256d L[2])
{
    const __m256d t = _mm256_add_pd(L[0], L[1]);
    const __m128d u = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
    return _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
}
#endif

/* = wk_qstats.c's groups_ref, bit for bit: add the rule-1.3 groups of x[0..n)
 * (x[0] starts a group) to the 8 double lanes le (E against y) and lx (X);
 * a NULL lane array: that sum is not formed (y unused without le). */
void wk_qstats_groups_avx2(const float *x, const float *y, int64_t n, double *le, double *lx);
/* = wk_qstats_acc_sq_ref / wk_qstats_acc_sq_diff_ref, bit for bit. */
void wk_qstats_acc_sq_avx2(wk_qstats_acc *a, const float *x, int64_t n);
void wk_qstats_acc_sq_diff_avx2(wk_qstats_acc *a, const float *x, const float *y, int64_t n);
/* = wk_dequantize_row_<type> on nb blocks of 32 (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0), bit for bit
 * (NaN scales: NaN values, not necessarily the same NaN). */
void wk_qstats_dequant_q4_0_avx2(const void *q, float *y, int64_t nb);
void wk_qstats_dequant_q4_1_avx2(const void *q, float *y, int64_t nb);
void wk_qstats_dequant_q5_0_avx2(const void *q, float *y, int64_t nb);
void wk_qstats_dequant_q5_1_avx2(const void *q, float *y, int64_t nb);
void wk_qstats_dequant_q8_0_avx2(const void *q, float *y, int64_t nb);
/* = wk_dequantize_row_q6_K on nb blocks of 256, bit for bit (same NaN caveat). */
void wk_qstats_dequant_q6_K_avx2(const void *q, float *y, int64_t nb);

#endif
