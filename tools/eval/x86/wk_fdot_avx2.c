/* wk_fdot_avx2.c — the AVX2+FMA twin of wk_fdot_ref (wk_model_int.h): the
 * same eight lanes, the same fused multiply-adds, the same pairwise sum, so
 * the same float bit for bit (tests/unit/test_eval_fdot.c). */
#include <math.h>
#include "wk_cpu.h"
#include "wk_fdot_avx2.h"

#if WK_CPU_X86
#include <immintrin.h>

/* ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), as wk_fdot_ref. */
WK_TARGET_AVX2_FMA static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

WK_TARGET_AVX2_FMA float wk_fdot_avx2(const float *a, const float *b, int64_t n)
{
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s = hsum(acc);
    for (; i < n; i++) s = fmaf(a[i], b[i], s);
    return s;
}

WK_TARGET_AVX2_FMA void wk_fdot4_avx2(const float *a0, const float *a1, const float *a2,
                                      const float *a3, const float *b, int64_t n, float out[4])
{
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(b + i);
        c0 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + i), x, c0);
        c1 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + i), x, c1);
        c2 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + i), x, c2);
        c3 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + i), x, c3);
    }
    float s[4] = {hsum(c0), hsum(c1), hsum(c2), hsum(c3)};
    const float *a[4] = {a0, a1, a2, a3};
    for (int r = 0; r < 4; r++) {
        for (int64_t j = i; j < n; j++) s[r] = fmaf(a[r][j], b[j], s[r]);
        out[r] = s[r];
    }
}
#endif
