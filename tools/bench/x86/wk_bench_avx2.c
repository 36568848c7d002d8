/* wk_bench_avx2.c — AVX2+FMA baselines for wk-bench's timings (see
 * wk_bench_simd.h).  Built with `target` attributes; callers check
 * wk_cpu_has(WK_CPU_SIMD_FMA) first. */
#include "wk_bench.h"
#include "wk_bench_simd.h"
#include "wk_cpu.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define WK_FMA WK_TARGET_AVX2_FMA   /* wk_cpu.h */

WK_FMA static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

WK_FMA float wk_bench_dot_f32_fma(const float *a, const float *b, int64_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

WK_FMA static inline __m256 load16(int bf, const uint16_t *p)
{
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (!bf) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

WK_FMA static inline float wide16(int bf, uint16_t h)
{
    if (bf) {
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    return _cvtsh_ss(h);
}

WK_FMA float wk_bench_dot_16_fma(int bf, const uint16_t *a, const uint16_t *b, int64_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(load16(bf, a + i), load16(bf, b + i), s0);
        s1 = _mm256_fmadd_ps(load16(bf, a + i + 8), load16(bf, b + i + 8), s1);
    }
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += wide16(bf, a[i]) * wide16(bf, b[i]);
    return s;
}

WK_FMA uint64_t wk_bench_read_sum(const uint64_t *a, size_t n)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_epi64(s0, _mm256_loadu_si256((const __m256i *)(a + i)));
        s1 = _mm256_add_epi64(s1, _mm256_loadu_si256((const __m256i *)(a + i + 4)));
        s2 = _mm256_add_epi64(s2, _mm256_loadu_si256((const __m256i *)(a + i + 8)));
        s3 = _mm256_add_epi64(s3, _mm256_loadu_si256((const __m256i *)(a + i + 12)));
    }
    uint64_t v[4], s = 0;
    _mm256_storeu_si256((__m256i *)v, _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3)));
    for (int j = 0; j < 4; j++) s += v[j];
    for (; i < n; i++) s += a[i];
    return s;
}

WK_FMA float wk_bench_fma_loop(int64_t iters, float seed)
{
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 v[10];
    for (int j = 0; j < 10; j++) v[j] = _mm256_set1_ps(seed + (float)j);
    for (int64_t i = 0; i < iters; i++) {
        v[0] = _mm256_fmadd_ps(v[0], m, c); v[1] = _mm256_fmadd_ps(v[1], m, c);
        v[2] = _mm256_fmadd_ps(v[2], m, c); v[3] = _mm256_fmadd_ps(v[3], m, c);
        v[4] = _mm256_fmadd_ps(v[4], m, c); v[5] = _mm256_fmadd_ps(v[5], m, c);
        v[6] = _mm256_fmadd_ps(v[6], m, c); v[7] = _mm256_fmadd_ps(v[7], m, c);
        v[8] = _mm256_fmadd_ps(v[8], m, c); v[9] = _mm256_fmadd_ps(v[9], m, c);
    }
    __m256 s = v[0];
    for (int j = 1; j < 10; j++) s = _mm256_add_ps(s, v[j]);
    return hsum8(s);
}

#else
float wk_bench_dot_f32_fma(const float *a, const float *b, int64_t n)
{ (void)a; (void)b; (void)n; return 0; }
float wk_bench_dot_16_fma(int bf, const uint16_t *a, const uint16_t *b, int64_t n)
{ (void)bf; (void)a; (void)b; (void)n; return 0; }
float wk_bench_fma_loop(int64_t iters, float seed) { (void)iters; return seed; }
uint64_t wk_bench_read_sum(const uint64_t *a, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += a[i];
    return s;
}
#endif
