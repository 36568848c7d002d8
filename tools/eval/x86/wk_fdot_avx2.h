/* wk_fdot_avx2.h — private to tools/eval: the AVX2+FMA float dots behind
 * wk_fdot / wk_fdot4 (wk_model_int.h).  Call only when
 * wk_cpu_has(WK_CPU_SIMD_FMA). */
#ifndef WK_FDOT_AVX2_H
#define WK_FDOT_AVX2_H
#include <stdint.h>
float wk_fdot_avx2(const float *a, const float *b, int64_t n);
void wk_fdot4_avx2(const float *a0, const float *a1, const float *a2, const float *a3,
                   const float *b, int64_t n, float out[4]);
#endif
