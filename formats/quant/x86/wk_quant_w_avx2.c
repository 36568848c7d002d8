/* wk_quant_w_avx2.c — AVX2 twins of the Q2_K / Q3_K quantizers
 * (wk_quant_lowbit.c) and of the importance-weighted quantizers of every
 * type but IQ4_NL/IQ4_XS (wk_quant_imat.c, wk_quant_lowbit.c; those two are
 * in wk_quant_iq4_avx2.c): the same bytes as the scalar references.
 *
 * Only the per-sub-block searches change: 8 sub-blocks (k-quants) or 8
 * blocks of 32 (legacy types) run as the 8 lanes of wk_quant_lanes.h, each
 * lane the scalar search step for step.  What is sequential across a
 * super-block or a row (the mean square behind sigma2, the searches over the
 * sub-block scales, requantization, packing) is the references' own scalar
 * code (the wk_q*_finish* / wk_q_legacy_put functions of wk_quant_impl.h).
 * Per-value weights qw * sqrt(sigma2 + x^2) are lane-wise IEEE operations
 * (sqrt correctly rounded, as sqrtf), and each sub-block's weight sum is
 * accumulated in the scalar order within its lane.  A row's last blocks of
 * 32 that do not fill 8 lanes repeat the last block in the spare lanes and
 * drop their results.  tests/unit/test_quant.c checks the bytes. */
#include "wk_quant.h"
#include "wk_quant_impl.h"
#include "wk_cpu.h"
#include "wk_half.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "wk_quant_lanes.h"

#define WK_AVX2 WK_TARGET_AVX2   /* wk_cpu.h: avx2 + f16c, no fma */

/* W[i] = Q[i] * sqrt(sigma2 + X[i]^2) with Q gathered from qw at off, and
 * the sums of W over i < n per lane (in i order, from 0) into *sw. */
WK_AVX2 static inline void weights8(const float *qw, __m256i off, int n, float sigma2,
                                    const __m256 *X, __m256 *W, __m256 *sw)
{
    const __m256 s2 = _mm256_set1_ps(sigma2);
    __m256 sum = _mm256_setzero_ps();
    for (int i = 0; i < n; i++) {
        __m256 q = _mm256_i32gather_ps(qw + i, off, 4);
        W[i] = _mm256_mul_ps(q, _mm256_sqrt_ps(_mm256_add_ps(s2, _mm256_mul_ps(X[i], X[i]))));
        sum = _mm256_add_ps(sum, W[i]);
    }
    *sw = sum;
}

/* ---- Q2_K, Q3_K without weights ------------------------------------------------ */

WK_AVX2 void wk_quantize_row_q2_K_avx2(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    const __m256i off = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    __m256 X[16], W[16], sc, mn;
    __m256i Lv[16];
    uint8_t L[WK_QK_K];
    float scales[16], mins[16];
    for (int64_t b = 0; b < k / WK_QK_K; b++, x += WK_QK_K) {
        for (int g = 0; g < 2; g++) {            /* sub-blocks 8g .. 8g+7 */
            wk_l_gather(x + 128 * g, off, 16, X);
            for (int i = 0; i < 16; i++) W[i] = wk_l_abs(X[i]);
            wk_l_make_qkx(16, 3, X, W, Lv, &sc, &mn, -0.5f, 0.1f, 15, 1);
            _mm256_storeu_ps(scales + 8 * g, sc);
            _mm256_storeu_ps(mins + 8 * g, mn);
            wk_l_scatter_u8(Lv, 16, 16, L + 128 * g);
        }
        wk_q2_K_finish(x, scales, mins, L, y + b * sizeof(wk_block_q2_K));
    }
}

/* make_q3_quants(16, nmax, x, L, do_rmse = true) for the 16 sub-blocks of a
 * super-block, two vectors of 8 (X[g][i]: value i of sub-block 8g + lane),
 * interleaved step by step so that the two dependency chains overlap: the
 * weighted fit (weights x^2) and up to 5 rounds of coordinate descent.  A
 * lane whose round changed nothing would change nothing in later rounds
 * either (its state is the same), so rounds run while any lane changes, as
 * the scalar loop runs while its one sub-block does.  L gets l + nmax; the
 * scales go to scales[16]. */
WK_AVX2 static void make_q3_x16(int nmax, const __m256 X[2][16], __m256i L[2][16], float *scales)
{
    const __m256 zero = _mm256_setzero_ps();
    __m256 W[2][16], WX[2][16], fL[2][16], sumlx[2], suml2[2], tiny[2];
    for (int g = 0; g < 2; g++) {
        __m256 max, amax;
        wk_l_absmax(16, X[g], &amax, &max);
        tiny[g] = _mm256_cmp_ps(amax, _mm256_set1_ps(1e-15f), _CMP_LT_OQ);
        const __m256 iscale = _mm256_div_ps(_mm256_set1_ps((float)-nmax), max);
        sumlx[g] = suml2[g] = zero;
        for (int i = 0; i < 16; i++) {
            L[g][i] = wk_l_clamp(wk_l_nearest_int(_mm256_mul_ps(iscale, X[g][i])), -nmax, nmax - 1);
            fL[g][i] = _mm256_cvtepi32_ps(L[g][i]);
            W[g][i] = _mm256_mul_ps(X[g][i], X[g][i]);
            WX[g][i] = _mm256_mul_ps(W[g][i], X[g][i]);
            sumlx[g] = _mm256_add_ps(sumlx[g], _mm256_mul_ps(WX[g][i], fL[g][i]));
            suml2[g] = _mm256_add_ps(suml2[g], _mm256_mul_ps(_mm256_mul_ps(W[g][i], fL[g][i]), fL[g][i]));
        }
    }
    for (int itry = 0; itry < 5; ++itry) {
        __m256 changed = zero;
        for (int i = 0; i < 16; i++) {
            for (int g = 0; g < 2; g++) {
                __m256 slx = _mm256_sub_ps(sumlx[g], _mm256_mul_ps(WX[g][i], fL[g][i]));
                __m256 go = _mm256_cmp_ps(slx, zero, _CMP_GT_OQ);
                __m256 sl2 = _mm256_sub_ps(suml2[g], _mm256_mul_ps(_mm256_mul_ps(W[g][i], fL[g][i]), fL[g][i]));
                __m256i nl = wk_l_clamp(wk_l_nearest_int(_mm256_div_ps(_mm256_mul_ps(X[g][i], sl2), slx)),
                                        -nmax, nmax - 1);
                go = _mm256_andnot_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(nl, L[g][i])), go);
                __m256 fn = _mm256_cvtepi32_ps(nl);
                slx = _mm256_add_ps(slx, _mm256_mul_ps(WX[g][i], fn));
                sl2 = _mm256_add_ps(sl2, _mm256_mul_ps(_mm256_mul_ps(W[g][i], fn), fn));
                __m256 better = _mm256_cmp_ps(_mm256_mul_ps(_mm256_mul_ps(slx, slx), suml2[g]),
                                              _mm256_mul_ps(_mm256_mul_ps(sumlx[g], sumlx[g]), sl2),
                                              _CMP_GT_OQ);
                go = _mm256_and_ps(go, _mm256_and_ps(_mm256_cmp_ps(sl2, zero, _CMP_GT_OQ), better));
                L[g][i] = wk_l_seli(L[g][i], nl, go);
                fL[g][i] = wk_l_sel(fL[g][i], fn, go);
                sumlx[g] = wk_l_sel(sumlx[g], slx, go);
                suml2[g] = wk_l_sel(suml2[g], sl2, go);
                changed = _mm256_or_ps(changed, go);
            }
        }
        if (_mm256_movemask_ps(changed) == 0) break;
    }
    const __m256i vn = _mm256_set1_epi32(nmax);
    for (int g = 0; g < 2; g++) {
        for (int i = 0; i < 16; i++)   /* tiny: L = 0 without the offset, as the scalar exit */
            L[g][i] = wk_l_seli(_mm256_add_epi32(L[g][i], vn), _mm256_setzero_si256(), tiny[g]);
        __m256 scale = wk_l_sel(zero, _mm256_div_ps(sumlx[g], suml2[g]),
                                _mm256_cmp_ps(suml2[g], zero, _CMP_GT_OQ));
        _mm256_storeu_ps(scales + 8 * g, wk_l_sel(scale, zero, tiny[g]));
    }
}

/* The Q3_K tail (wk_quant_lowbit.c's q3_finish) with vectors: each sub-block
 * of effective scale d = fp16(b->d) * sc != 0 is requantized as
 * clamp(nearest_int(x / d), -4, 3) + 4 in two vectors of 8 (the same IEEE
 * division and rounding), the others keep their L; then the high bits go to
 * hmask (bit j/32 of byte j%32, set where L > 3) and the low 2 bits are packed
 * 4 per byte, 32 apart, as ggml does. */
WK_AVX2 static void q3_tail_avx2(const float *x, wk_block_q3_K *b, int8_t *L)
{
    int sc[16];
    wk_q3_K_scales(b->scales, sc);
    const float dall = wk_f16_to_f32(b->d);
    for (int j = 0; j < WK_QK_K / 16; ++j) {
        const float d = dall * sc[j];
        if (!d) continue;
        const __m256 vd = _mm256_set1_ps(d);
        for (int h = 0; h < 2; h++) {
            __m256i l = wk_l_clamp(wk_l_nearest_int(_mm256_div_ps(_mm256_loadu_ps(x + 16 * j + 8 * h), vd)),
                                   -4, 3);
            l = _mm256_add_epi32(l, _mm256_set1_epi32(4));
            __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(l), _mm256_extracti128_si256(l, 1));
            _mm_storel_epi64((__m128i *)(L + 16 * j + 8 * h), _mm_packs_epi16(w, w));
        }
    }
    __m256i hm = _mm256_setzero_si256(), q[8];
    const __m256i three = _mm256_set1_epi8(3);
    for (int k = 0; k < 8; k++) {
        q[k] = _mm256_loadu_si256((const __m256i *)(L + 32 * k));
        __m256i hi = _mm256_cmpgt_epi8(q[k], three);
        hm = _mm256_or_si256(hm, _mm256_and_si256(hi, _mm256_set1_epi8((char)(1 << k))));
        q[k] = _mm256_and_si256(q[k], three);
    }
    _mm256_storeu_si256((__m256i *)b->hmask, hm);
    for (int c = 0; c < 2; c++) {             /* 128 values -> 32 bytes */
        __m256i v = _mm256_or_si256(_mm256_or_si256(q[4 * c], _mm256_slli_epi16(q[4 * c + 1], 2)),
                                    _mm256_or_si256(_mm256_slli_epi16(q[4 * c + 2], 4),
                                                    _mm256_slli_epi16(q[4 * c + 3], 6)));
        _mm256_storeu_si256((__m256i *)(b->qs + 32 * c), v);
    }
}

WK_AVX2 void wk_quantize_row_q3_K_avx2(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    const __m256i off = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    __m256 X[2][16];
    __m256i Lv[2][16];
    int8_t L[WK_QK_K];
    float scales[16];
    for (int64_t b = 0; b < k / WK_QK_K; b++, x += WK_QK_K) {
        for (int g = 0; g < 2; g++) wk_l_gather(x + 128 * g, off, 16, X[g]);
        make_q3_x16(4, X, Lv, scales);
        for (int g = 0; g < 2; g++) wk_l_scatter_u8(Lv[g], 16, 16, (uint8_t *)L + 128 * g);
        wk_q3_K_finish(x, scales, L, y + b * sizeof(wk_block_q3_K), q3_tail_avx2);
    }
}

/* ---- k-quants with weights --------------------------------------------------------- */

WK_AVX2 void wk_quantize_row_q2_K_imat_avx2(const float *x, void *vy, int64_t n, const float *qw)
{
    uint8_t *y = vy;
    const __m256i off = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    __m256 X[16], W[16], sc, mn, s;
    __m256i Lv[16];
    uint8_t L[WK_QK_K];
    float scales[16], mins[16], sw[16];
    for (int64_t b = 0; b < n / WK_QK_K; b++, x += WK_QK_K, qw += WK_QK_K) {
        const float sigma2 = wk_q_sum_sq(x, WK_QK_K) / WK_QK_K;
        for (int g = 0; g < 2; g++) {
            wk_l_gather(x + 128 * g, off, 16, X);
            weights8(qw + 128 * g, off, 16, sigma2, X, W, &s);
            _mm256_storeu_ps(sw + 8 * g, s);
            wk_l_make_qkx(16, 3, X, W, Lv, &sc, &mn, -0.9f, 0.05f, 36, 0);
            _mm256_storeu_ps(scales + 8 * g, sc);
            _mm256_storeu_ps(mins + 8 * g, mn);
            wk_l_scatter_u8(Lv, 16, 16, L + 128 * g);
        }
        wk_q2_K_finish_w(x, scales, mins, sw, L, y + b * sizeof(wk_block_q2_K));
    }
}

WK_AVX2 void wk_quantize_row_q3_K_imat_avx2(const float *x, void *vy, int64_t n, const float *qw)
{
    uint8_t *y = vy;
    const __m256i off = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    __m256 X[16], W[16], s;
    __m256i Lv[16];
    int8_t L[WK_QK_K];
    float scales[16], sw[16];
    for (int64_t b = 0; b < n / WK_QK_K; b++, x += WK_QK_K, qw += WK_QK_K) {
        const float sigma2 = 2 * wk_q_sum_sq(x, WK_QK_K) / WK_QK_K;
        for (int g = 0; g < 2; g++) {
            wk_l_gather(x + 128 * g, off, 16, X);
            weights8(qw + 128 * g, off, 16, sigma2, X, W, &s);
            _mm256_storeu_ps(sw + 8 * g, s);
            _mm256_storeu_ps(scales + 8 * g, wk_l_make_qx(16, 4, X, W, Lv));
            wk_l_scatter_u8(Lv, 16, 16, (uint8_t *)L + 128 * g);
        }
        wk_q3_K_finish_w(x, scales, sw, L, y + b * sizeof(wk_block_q3_K), q3_tail_avx2);
    }
}

/* Q4_K (nmax 15) / Q5_K (nmax 31): one lane per sub-block of 32. */
WK_AVX2 static void quantize_k_w_avx2(const float *x, uint8_t *y, int64_t n, const float *qw,
                                      int nmax, size_t bsize)
{
    const __m256i off = _mm256_setr_epi32(0, 32, 64, 96, 128, 160, 192, 224);
    __m256 X[32], W[32], sc, mn, s;
    __m256i Lv[32];
    uint8_t L[WK_QK_K];
    float scales[8], mins[8], sw[8];
    for (int64_t b = 0; b < n / WK_QK_K; b++, x += WK_QK_K, qw += WK_QK_K) {
        const float sigma2 = 2 * wk_q_sum_sq(x, WK_QK_K) / WK_QK_K;
        wk_l_gather(x, off, 32, X);
        weights8(qw, off, 32, sigma2, X, W, &s);
        _mm256_storeu_ps(sw, s);
        wk_l_make_qkx(32, nmax, X, W, Lv, &sc, &mn, -0.9f, 0.05f, 36, 0);
        _mm256_storeu_ps(scales, sc);
        _mm256_storeu_ps(mins, mn);
        wk_l_scatter_u8(Lv, 32, 32, L);
        wk_q_k_finish_w(x, nmax, scales, mins, sw, L, y + b * bsize);
    }
}

WK_AVX2 void wk_quantize_row_q4_K_imat_avx2(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_k_w_avx2(x, y, n, qw, 15, sizeof(wk_block_q4_K));
}

WK_AVX2 void wk_quantize_row_q5_K_imat_avx2(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_k_w_avx2(x, y, n, qw, 31, sizeof(wk_block_q5_K));
}

/* Q6_K: make_qx_quants weighted by the raw importance (no sigma2 term). */
WK_AVX2 void wk_quantize_row_q6_K_imat_avx2(const float *x, void *vy, int64_t n, const float *qw)
{
    uint8_t *y = vy;
    const __m256i off = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    __m256 X[16], W[16];
    __m256i Lv[16];
    int8_t L[WK_QK_K];
    float scales[16];
    for (int64_t b = 0; b < n / WK_QK_K; b++, x += WK_QK_K, qw += WK_QK_K) {
        for (int g = 0; g < 2; g++) {
            wk_l_gather(x + 128 * g, off, 16, X);
            wk_l_gather(qw + 128 * g, off, 16, W);
            _mm256_storeu_ps(scales + 8 * g, wk_l_make_qx(16, 32, X, W, Lv));
            wk_l_scatter_u8(Lv, 16, 16, (uint8_t *)L + 128 * g);
        }
        wk_q6_K_finish(x, scales, L, y + b * sizeof(wk_block_q6_K));
    }
}

/* ---- legacy blocks of 32 with weights ---------------------------------------------- */

/* Q4_0 (nmax 8), Q5_0 (16): make_qx_quants; Q4_1 (15), Q5_1 (31):
 * make_qkx3_quants; blocks 8g .. 8g+7 in the lanes, sigma2 the row's mean
 * square.  bs: bytes per block. */
WK_AVX2 static void quantize_legacy_w_avx2(const float *x, uint8_t *y, int64_t n, const float *qw,
                                           int nmax, size_t bs)
{
    const float sigma2 = wk_q_sum_sq(x, n) / n;
    const int64_t nb = n / WK_QK;
    __m256 X[32], W[32], d, mn, s;
    __m256i Lv[32];
    uint8_t L[8 * WK_QK];
    float dv[8], mv[8];
    for (int64_t b0 = 0; b0 < nb; b0 += 8) {
        const int64_t left = nb - b0;
        const int nl = left < 8 ? (int)left : 8;
        int32_t o[8];
        for (int j = 0; j < 8; j++) o[j] = WK_QK * (j < nl ? j : nl - 1);   /* spare lanes: the last block */
        const __m256i off = _mm256_loadu_si256((const __m256i *)o);
        const float *xb = x + WK_QK * b0, *qb = qw + WK_QK * b0;
        wk_l_gather(xb, off, WK_QK, X);
        weights8(qb, off, WK_QK, sigma2, X, W, &s);
        if (nmax == 8 || nmax == 16) {
            d = wk_l_make_qx(WK_QK, nmax, X, W, Lv);
            mn = _mm256_setzero_ps();
        } else {
            wk_l_make_qkx(WK_QK, nmax, X, W, Lv, &d, &mn, -0.9f, 0.05f, 36, 0);
        }
        _mm256_storeu_ps(dv, d);
        _mm256_storeu_ps(mv, mn);
        wk_l_scatter_u8(Lv, WK_QK, WK_QK, L);
        for (int j = 0; j < nl; j++) wk_q_legacy_put(nmax, dv[j], mv[j], L + WK_QK * j, y + (b0 + j) * bs);
    }
}

WK_AVX2 void wk_quantize_row_q4_0_imat_avx2(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_legacy_w_avx2(x, y, n, qw, 8, sizeof(wk_block_q4_0));
}

WK_AVX2 void wk_quantize_row_q5_0_imat_avx2(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_legacy_w_avx2(x, y, n, qw, 16, sizeof(wk_block_q5_0));
}

WK_AVX2 void wk_quantize_row_q4_1_imat_avx2(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_legacy_w_avx2(x, y, n, qw, 15, sizeof(wk_block_q4_1));
}

WK_AVX2 void wk_quantize_row_q5_1_imat_avx2(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_legacy_w_avx2(x, y, n, qw, 31, sizeof(wk_block_q5_1));
}

/* Q8_0: ggml ignores the weights, so its weighted path is the AVX2 kernel. */
WK_AVX2 void wk_quantize_row_q8_0_imat_avx2(const float *x, void *y, int64_t n, const float *qw)
{
    (void)qw;
    wk_quantize_row_q8_0_avx2(x, y, n);
}

#endif
