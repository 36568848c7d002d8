/* wk_quant_iq4_avx2.c — the AVX2 twin of the IQ4_NL / IQ4_XS scale search
 * (wk_quant_lowbit.c: iq4_block_scale with ntry 7), the hot part of both
 * quantizers, and the row quantizers that use it.
 *
 * How exactness is kept: the scalar search runs 16 fits of one sub-block of
 * 32 values — the first with id = 1/d, then 15 with id = (itry - 127)/max,
 * itry = -7..7 — and each fit is a sequential float sum over the 32 values.
 * Here the 16 fits are the 16 lanes of two vectors: each lane performs the
 * fit's own operations in the scalar order (id*x, then w*q, (w*q)*x and
 * (w*q)*q added in j order; no FMA), so every lane's sums are the scalar
 * ones bit for bit, and the choice among the fits is then made in scalar in
 * the reference's order.  best_index_int8 (a binary search with ties to the
 * lower level) becomes: ml = #{k in 1..14 : !(v < level[k])} — the index
 * the binary search ends on, also for NaN (ml 14) — then the same
 * (v - level[ml]) < (level[ml+1] - v) test, and the two edge tests
 * v <= level[0], v >= level[15] applied last (for NaN both are false, as in
 * the scalar code).  The rest of the quantizer (weights, the super-block
 * scale, the final indices) is the scalar reference's code
 * (wk_iq4_quantize).  tests/unit/test_quant.c checks the bytes. */
#include "wk_quant.h"
#include "wk_quant_impl.h"
#include "wk_cpu.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define WK_AVX2 WK_TARGET_AVX2   /* wk_cpu.h: avx2 + f16c, no fma */
#define WK_INLINE WK_TARGET_AVX2 __attribute__((always_inline)) static inline

/* best_index_int8 of the 8 lanes of v: the index (int32 lanes) in *idx and
 * the level as a float in the result.  lo8/hi8: the levels 0..7 and 8..15. */
WK_INLINE __m256 level8(__m256 v, __m256 lo8, __m256 hi8, __m256i *idx)
{
    const int8_t *val = wk_kvalues_iq4nl;
    __m256i ml = _mm256_setzero_si256();
    for (int k = 1; k < 15; k++) {   /* mask lanes are -1 where !(v < val[k]) */
        __m256 m = _mm256_cmp_ps(v, _mm256_set1_ps((float)val[k]), _CMP_NLT_UQ);
        ml = _mm256_sub_epi32(ml, _mm256_castps_si256(m));
    }
    __m256i mu = _mm256_add_epi32(ml, _mm256_set1_epi32(1));
    const __m256i seven = _mm256_set1_epi32(7);
    __m256 lo = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo8, ml), _mm256_permutevar8x32_ps(hi8, ml),
                                 _mm256_castsi256_ps(_mm256_cmpgt_epi32(ml, seven)));
    __m256 hi = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo8, mu), _mm256_permutevar8x32_ps(hi8, mu),
                                 _mm256_castsi256_ps(_mm256_cmpgt_epi32(mu, seven)));
    __m256 first = _mm256_cmp_ps(_mm256_sub_ps(v, lo), _mm256_sub_ps(hi, v), _CMP_LT_OQ);
    __m256i i = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(mu), _mm256_castsi256_ps(ml), first));
    __m256 q = _mm256_blendv_ps(hi, lo, first);
    __m256 top = _mm256_cmp_ps(v, _mm256_set1_ps((float)val[15]), _CMP_GE_OQ);
    __m256 bot = _mm256_cmp_ps(v, _mm256_set1_ps((float)val[0]), _CMP_LE_OQ);
    i = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(i),
                                             _mm256_castsi256_ps(_mm256_set1_epi32(15)), top));
    q = _mm256_blendv_ps(q, _mm256_set1_ps((float)val[15]), top);
    i = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(i), _mm256_setzero_ps(), bot));
    *idx = i;
    return _mm256_blendv_ps(q, _mm256_set1_ps((float)val[0]), bot);
}

/* One fit step of 8 lanes: value x with weight w at the lanes' inverse scales id. */
WK_INLINE __m256i fit8(__m256 id, __m256 x, __m256 w, __m256 lo8, __m256 hi8, __m256 *sqx,
                       __m256 *sq2)
{
    __m256i idx;
    __m256 q = level8(_mm256_mul_ps(id, x), lo8, hi8, &idx);
    __m256 wq = _mm256_mul_ps(w, q);
    *sqx = _mm256_add_ps(*sqx, _mm256_mul_ps(wq, x));
    *sq2 = _mm256_add_ps(*sq2, _mm256_mul_ps(wq, q));
    return idx;
}

WK_AVX2 float wk_iq4_search_avx2(const float *xb, const float *weight, uint8_t *Lb)
{
    const int8_t *values = wk_kvalues_iq4nl;
    const int ntry = 7;
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j) {
        float ax = fabsf(xb[j]);
        if (ax > amax) { amax = ax; max = xb[j]; }
    }
    if (amax < 1e-15f) return 0;   /* GROUP_MAX_EPS */
    float d = -max / values[0];
    float ids[16];                  /* lane 0: the first fit; lane 8 + t: itry = t */
    ids[0] = 1 / d;
    for (int itry = -ntry; itry <= ntry; ++itry) ids[8 + itry] = (itry + values[0]) / max;
    float lv[16];
    for (int k = 0; k < 16; k++) lv[k] = values[k];
    const __m256 lo8 = _mm256_loadu_ps(lv), hi8 = _mm256_loadu_ps(lv + 8);
    const __m256 ida = _mm256_loadu_ps(ids), idb = _mm256_loadu_ps(ids + 8);
    __m256 sqxa = _mm256_setzero_ps(), sq2a = sqxa, sqxb = sqxa, sq2b = sqxa;
    for (int j = 0; j < 32; ++j) {
        const __m256 x = _mm256_set1_ps(xb[j]), w = _mm256_set1_ps(weight[j]);
        __m256i ia = fit8(ida, x, w, lo8, hi8, &sqxa, &sq2a);
        Lb[j] = (uint8_t)_mm256_cvtsi256_si32(ia);
        (void)fit8(idb, x, w, lo8, hi8, &sqxb, &sq2b);
    }
    float sqx[16], sq2[16];
    _mm256_storeu_ps(sqx, sqxa);
    _mm256_storeu_ps(sqx + 8, sqxb);
    _mm256_storeu_ps(sq2, sq2a);
    _mm256_storeu_ps(sq2 + 8, sq2b);
    d = sq2[0] > 0 ? sqx[0] / sq2[0] : 0.f;
    float best = d * sqx[0];
    for (int itry = -ntry; itry <= ntry; ++itry) {
        const float sumqx = sqx[8 + itry], sumq2 = sq2[8 + itry];
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

WK_AVX2 void wk_quantize_row_iq4_nl_avx2(const float *x, void *y, int64_t k)
{
    wk_iq4_quantize(WK_QK, x, y, k, NULL, wk_iq4_search_avx2);
}

WK_AVX2 void wk_quantize_row_iq4_xs_avx2(const float *x, void *y, int64_t k)
{
    wk_iq4_quantize(WK_QK_K, x, y, k, NULL, wk_iq4_search_avx2);
}

WK_AVX2 void wk_quantize_row_iq4_nl_imat_avx2(const float *x, void *y, int64_t n, const float *qw)
{
    wk_iq4_quantize(WK_QK, x, y, n, qw, wk_iq4_search_avx2);
}

WK_AVX2 void wk_quantize_row_iq4_xs_imat_avx2(const float *x, void *y, int64_t n, const float *qw)
{
    wk_iq4_quantize(WK_QK_K, x, y, n, qw, wk_iq4_search_avx2);
}

#endif
