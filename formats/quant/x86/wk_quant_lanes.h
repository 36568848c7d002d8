/* wk_quant_lanes.h — private to formats/quant/x86/: the sub-block searches
 * of ggml's quantizers with one sub-block (or block) per AVX2 lane, shared by
 * wk_quant_avx2.c (unweighted Q4_K/Q5_K/Q6_K) and wk_quant_w_avx2.c (Q2_K,
 * Q3_K and every weighted path).
 *
 * How exactness is kept: the searches (make_qkx2/qkx3_quants, make_qx_quants,
 * make_q3_quants; wk_quant_ref.c, wk_quant_imat.c, wk_quant_lowbit.c) are
 * sequential within a sub-block but independent across sub-blocks, so lane j
 * runs sub-block j's scalar algorithm step for step: the same IEEE operations
 * in the same order (mul, then add: no FMA — the target is WK_TARGET_AVX2,
 * avx2 + f16c without fma; div and sqrt are correctly rounded like the scalar
 * ones), each comparison with the scalar one's NaN behaviour (ordered `>`/`<`
 * are _OQ, a float used as a truth value is NEQ_UQ), per-lane branches as
 * blends.  X[i] / W[i] hold value i / weight i of the 8 sub-blocks.  Only
 * included by files compiled for x86 (the includer checks). */
#ifndef WK_QUANT_LANES_H
#define WK_QUANT_LANES_H

#include <immintrin.h>
#include <stdint.h>
#include "wk_cpu.h"

#define WK_LANE WK_TARGET_AVX2 __attribute__((always_inline)) static inline

/* ggml's nearest_int, lane-wise (same float add, same bit extraction). */
WK_LANE __m256i wk_l_nearest_int(__m256 f)
{
    __m256i i = _mm256_castps_si256(_mm256_add_ps(f, _mm256_set1_ps(12582912.f)));
    return _mm256_sub_epi32(_mm256_and_si256(i, _mm256_set1_epi32(0x007fffff)),
                            _mm256_set1_epi32(0x00400000));
}

/* max(lo, min(hi, v)) on int32 lanes (ggml's MAX(lo, MIN(hi, l))). */
WK_LANE __m256i wk_l_clamp(__m256i v, int lo, int hi)
{
    return _mm256_max_epi32(_mm256_set1_epi32(lo), _mm256_min_epi32(_mm256_set1_epi32(hi), v));
}

/* c ? b : a, lane-wise on floats / ints. */
WK_LANE __m256 wk_l_sel(__m256 a, __m256 b, __m256 c) { return _mm256_blendv_ps(a, b, c); }
WK_LANE __m256i wk_l_seli(__m256i a, __m256i b, __m256 c)
{
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), c));
}

WK_LANE __m256 wk_l_abs(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* Lane j of V[i] -> out[stride*j + i] (i < n, j < 8), as bytes. */
WK_LANE void wk_l_scatter_u8(const __m256i *V, int n, int stride, uint8_t *out)
{
    for (int i = 0; i < n; i++) {
        int32_t t[8];
        _mm256_storeu_si256((__m256i *)t, V[i]);
        for (int j = 0; j < 8; j++) out[stride * j + i] = (uint8_t)t[j];
    }
}

/* X[i] = x[off[j] + i] in lane j, for i < n (a transposing load of 8 sub-blocks). */
WK_LANE void wk_l_gather(const float *x, __m256i off, int n, __m256 *X)
{
    for (int i = 0; i < n; i++) X[i] = _mm256_i32gather_ps(x + i, off, 4);
}

/* Sum over i < n of W[i] * err(scale*L[i] + min - X[i]), err = |d| (use_mad) or d*d. */
WK_LANE __m256 wk_l_qkx_error(int n, const __m256 *X, const __m256 *W, const __m256i *L,
                              __m256 scale, __m256 min, int use_mad)
{
    __m256 err = _mm256_setzero_ps();
    for (int i = 0; i < n; i++) {
        __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(scale, _mm256_cvtepi32_ps(L[i])),
                                                  min), X[i]);
        diff = use_mad ? wk_l_abs(diff) : _mm256_mul_ps(diff, diff);
        err = _mm256_add_ps(err, _mm256_mul_ps(W[i], diff));
    }
    return err;
}

/* make_qkx2_quants(n, nmax, x, w, L, &the_min, Laux, rmin, rdelta, nstep,
 * use_mad) for 8 sub-blocks of n <= 32 values, nstep >= 1; also
 * make_qkx3_quants with non-NULL weights (the same computation: its
 * `max <= min` exit is `max == min` once min <= 0).  L gets 0..nmax; the
 * scales go to *scale_out, -min to *the_min. */
WK_LANE void wk_l_make_qkx(int n, int nmax, const __m256 *X, const __m256 *W, __m256i *L,
                           __m256 *scale_out, __m256 *the_min, float rmin, float rdelta,
                           int nstep, int use_mad)
{
    const __m256 zero = _mm256_setzero_ps();
    __m256 min = X[0], max = X[0], sum_w = W[0], sum_x = _mm256_mul_ps(W[0], X[0]);
    for (int i = 1; i < n; i++) {
        min = _mm256_min_ps(X[i], min);            /* x < min ? x : min */
        max = _mm256_max_ps(X[i], max);            /* x > max ? x : max */
        sum_w = _mm256_add_ps(sum_w, W[i]);
        sum_x = _mm256_add_ps(sum_x, _mm256_mul_ps(W[i], X[i]));
    }
    min = wk_l_sel(min, zero, _mm256_cmp_ps(min, zero, _CMP_GT_OQ));   /* if (min > 0) min = 0 */
    const __m256 flat = _mm256_cmp_ps(max, min, _CMP_EQ_OQ);
    __m256 iscale = _mm256_div_ps(_mm256_set1_ps((float)nmax), _mm256_sub_ps(max, min));
    __m256 scale = _mm256_div_ps(_mm256_set1_ps(1.0f), iscale);
    for (int i = 0; i < n; i++)
        L[i] = wk_l_clamp(wk_l_nearest_int(_mm256_mul_ps(iscale, _mm256_sub_ps(X[i], min))), 0, nmax);
    __m256 best = wk_l_qkx_error(n, X, W, L, scale, min, use_mad);
    __m256i Laux[32];
    for (int is = 0; is <= nstep; ++is) {
        /* min moves when a candidate wins, and the next candidates use it */
        iscale = _mm256_div_ps(_mm256_set1_ps(rmin + rdelta * is + nmax), _mm256_sub_ps(max, min));
        __m256 sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (int i = 0; i < n; i++) {
            Laux[i] = wk_l_clamp(wk_l_nearest_int(_mm256_mul_ps(iscale, _mm256_sub_ps(X[i], min))),
                                 0, nmax);
            __m256 fl = _mm256_cvtepi32_ps(Laux[i]);
            __m256 wl = _mm256_mul_ps(W[i], fl);
            sum_l = _mm256_add_ps(sum_l, wl);
            sum_l2 = _mm256_add_ps(sum_l2, _mm256_mul_ps(wl, fl));
            sum_xl = _mm256_add_ps(sum_xl, _mm256_mul_ps(wl, X[i]));
        }
        __m256 D = _mm256_sub_ps(_mm256_mul_ps(sum_w, sum_l2), _mm256_mul_ps(sum_l, sum_l));
        __m256 dpos = _mm256_cmp_ps(D, zero, _CMP_GT_OQ);
        if (_mm256_movemask_ps(dpos) == 0) continue;
        __m256 this_scale = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_w, sum_xl),
                                                        _mm256_mul_ps(sum_x, sum_l)), D);
        __m256 this_min = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_l2, sum_x),
                                                      _mm256_mul_ps(sum_l, sum_xl)), D);
        __m256 mpos = _mm256_cmp_ps(this_min, zero, _CMP_GT_OQ);
        this_min = wk_l_sel(this_min, zero, mpos);
        this_scale = wk_l_sel(this_scale, _mm256_div_ps(sum_xl, sum_l2), mpos);
        __m256 cur = wk_l_qkx_error(n, X, W, Laux, this_scale, this_min, use_mad);
        __m256 upd = _mm256_and_ps(dpos, _mm256_cmp_ps(cur, best, _CMP_LT_OQ));
        if (_mm256_movemask_ps(upd) == 0) continue;
        for (int i = 0; i < n; i++) L[i] = wk_l_seli(L[i], Laux[i], upd);
        best = wk_l_sel(best, cur, upd);
        scale = wk_l_sel(scale, this_scale, upd);
        min = wk_l_sel(min, this_min, upd);
    }
    for (int i = 0; i < n; i++) L[i] = wk_l_seli(L[i], _mm256_setzero_si256(), flat);
    *scale_out = wk_l_sel(scale, zero, flat);
    *the_min = _mm256_xor_ps(min, _mm256_set1_ps(-0.0f));            /* -min */
}

/* max|x| and the signed value with it (the first on ties: strict >, as the
 * scalar scan), over i < n. */
WK_LANE void wk_l_absmax(int n, const __m256 *X, __m256 *amax_out, __m256 *max_out)
{
    __m256 max = _mm256_setzero_ps(), amax = max;
    for (int i = 0; i < n; i++) {
        __m256 ax = wk_l_abs(X[i]);
        __m256 gt = _mm256_cmp_ps(ax, amax, _CMP_GT_OQ);
        amax = wk_l_sel(amax, ax, gt);
        max = wk_l_sel(max, X[i], gt);
    }
    *amax_out = amax;
    *max_out = max;
}

/* make_qx_quants(n, nmax, x, L, rmse_type = 1, weights W) for 8 sub-blocks of
 * n <= 32 values (W[i] = X[i]^2 is the unweighted rmse_type 1); L gets
 * l + nmax.  Returns the scales. */
WK_LANE __m256 wk_l_make_qx(int n, int nmax, const __m256 *X, const __m256 *W, __m256i *L)
{
    const __m256 zero = _mm256_setzero_ps();
    __m256 max, amax;
    wk_l_absmax(n, X, &amax, &max);
    const __m256 tiny = _mm256_cmp_ps(amax, _mm256_set1_ps(1e-15f), _CMP_LT_OQ);
    const __m256i vn = _mm256_set1_epi32(nmax);
    __m256 iscale = _mm256_div_ps(_mm256_set1_ps((float)-nmax), max);
    __m256 sumlx = zero, suml2 = zero;
    for (int i = 0; i < n; i++) {
        __m256i l = wk_l_clamp(wk_l_nearest_int(_mm256_mul_ps(iscale, X[i])), -nmax, nmax - 1);
        L[i] = _mm256_add_epi32(l, vn);
        __m256 fl = _mm256_cvtepi32_ps(l);
        sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(_mm256_mul_ps(W[i], X[i]), fl));
        suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(W[i], fl), fl));
    }
    /* suml2 ? sumlx/suml2 : 0 (NaN counts as true) */
    __m256 scale = wk_l_sel(zero, _mm256_div_ps(sumlx, suml2), _mm256_cmp_ps(suml2, zero, _CMP_NEQ_UQ));
    __m256 best = _mm256_mul_ps(scale, sumlx);
    __m256i Lc[32];
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = _mm256_div_ps(_mm256_set1_ps(-(nmax + 0.1f * is)), max);
        sumlx = suml2 = zero;
        for (int i = 0; i < n; i++) {
            Lc[i] = wk_l_clamp(wk_l_nearest_int(_mm256_mul_ps(iscale, X[i])), -nmax, nmax - 1);
            __m256 fl = _mm256_cvtepi32_ps(Lc[i]);
            sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(_mm256_mul_ps(W[i], X[i]), fl));
            suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(W[i], fl), fl));
        }
        __m256 upd = _mm256_and_ps(_mm256_cmp_ps(suml2, zero, _CMP_GT_OQ),
                                   _mm256_cmp_ps(_mm256_mul_ps(sumlx, sumlx),
                                                 _mm256_mul_ps(best, suml2), _CMP_GT_OQ));
        if (_mm256_movemask_ps(upd) == 0) continue;
        for (int i = 0; i < n; i++) L[i] = wk_l_seli(L[i], _mm256_add_epi32(Lc[i], vn), upd);
        __m256 s = _mm256_div_ps(sumlx, suml2);
        scale = wk_l_sel(scale, s, upd);
        best = wk_l_sel(best, _mm256_mul_ps(s, sumlx), upd);
    }
    for (int i = 0; i < n; i++) L[i] = wk_l_seli(L[i], _mm256_setzero_si256(), tiny);
    return wk_l_sel(scale, zero, tiny);
}

#endif
