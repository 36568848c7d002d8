/* wk_quant_avx2.c — AVX2/F16C quantizers of Q4_K Q5_K Q6_K (unweighted) and
 * the NaN/Inf scan, giving the same bytes as the scalar references in
 * wk_quant_ref.c for every NaN-free input: the sub-block searches run one
 * sub-block per lane, step for step (wk_quant_lanes.h); the legacy types are
 * in wk_quant_legacy_avx2.c.
 *
 * Built for the baseline ISA with `target` attributes; callers check
 * wk_quant_have_simd() first (wk_quant_chunk.c dispatches). */
#include "wk_quant.h"
#include "wk_quant_impl.h"
#include "wk_cpu.h"
#include "wk_half.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "wk_quant_lanes.h"

#define WK_AVX2 WK_TARGET_AVX2   /* wk_cpu.h: avx2 + f16c, no fma */

/* The legacy quantizers (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0) are in
 * wk_quant_legacy_avx2.c: eight blocks at a time, with the row checks and
 * the statistics fused. */

/* ---- k-quants: one sub-block per lane (wk_quant_lanes.h) ---------------------- */
/* The per-super-block remainder is the shared scalar code (wk_q_k_finish,
 * wk_q6_K_finish). */

WK_AVX2 static void quantize_row_k_avx2(const float *x, uint8_t *y, int64_t k, int nmax,
                                        float rmin, int nstep, size_t bsize)
{
    const __m256i idx = _mm256_setr_epi32(0, 32, 64, 96, 128, 160, 192, 224);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 X[32], W[32];
    __m256i Lv[32];
    uint8_t L[WK_QK_K];
    float scales[8], mins[8];
    for (int64_t b = 0; b < k / WK_QK_K; b++, x += WK_QK_K) {
        __m256 sum_x2 = _mm256_setzero_ps();
        for (int l = 0; l < 32; l++) {
            X[l] = _mm256_i32gather_ps(x + l, idx, 4);
            sum_x2 = _mm256_add_ps(sum_x2, _mm256_mul_ps(X[l], X[l]));
        }
        __m256 av_x = _mm256_sqrt_ps(_mm256_div_ps(sum_x2, _mm256_set1_ps(32.0f)));
        for (int l = 0; l < 32; l++) W[l] = _mm256_add_ps(av_x, _mm256_andnot_ps(sign, X[l]));
        __m256 sc, mn;
        wk_l_make_qkx(32, nmax, X, W, Lv, &sc, &mn, rmin, 0.1f, nstep, 0);
        _mm256_storeu_ps(scales, sc);
        _mm256_storeu_ps(mins, mn);
        wk_l_scatter_u8(Lv, 32, 32, L);
        wk_q_k_finish(x, nmax, scales, mins, L, y + b * bsize);
    }
}

WK_AVX2 void wk_quantize_row_q4_K_avx2(const float *x, void *y, int64_t k)
{
    quantize_row_k_avx2(x, y, k, 15, -1.f, 20, sizeof(wk_block_q4_K));
}

WK_AVX2 void wk_quantize_row_q5_K_avx2(const float *x, void *y, int64_t k)
{
    quantize_row_k_avx2(x, y, k, 31, -0.5f, 15, sizeof(wk_block_q5_K));
}

WK_AVX2 void wk_quantize_row_q6_K_avx2(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    const __m256i idx = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    __m256 X[16], W[16];
    __m256i Lv[16];
    int8_t L[WK_QK_K];
    float scales[WK_QK_K / 16];
    for (int64_t b = 0; b < k / WK_QK_K; b++, x += WK_QK_K) {
        for (int g = 0; g < 2; g++) {          /* sub-blocks 8g .. 8g+7 */
            for (int i = 0; i < 16; i++) {
                X[i] = _mm256_i32gather_ps(x + 128 * g + i, idx, 4);
                W[i] = _mm256_mul_ps(X[i], X[i]);
            }
            _mm256_storeu_ps(scales + 8 * g, wk_l_make_qx(16, 32, X, W, Lv));
            wk_l_scatter_u8(Lv, 16, 16, (uint8_t *)L + 128 * g);
        }
        wk_q6_K_finish(x, scales, L, y + b * sizeof(wk_block_q6_K));
    }
}

/* ---- input scan ---------------------------------------------------------------- */

WK_AVX2 int64_t wk_quant_find_nonfinite_avx2(const float *x, int64_t n)
{
    const __m256i e = _mm256_set1_epi32(0x7f800000);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i u = _mm256_loadu_si256((const __m256i *)(x + i + 8 * j));
            acc = _mm256_or_si256(acc, _mm256_cmpeq_epi32(_mm256_and_si256(u, e), e));
        }
        if (!_mm256_testz_si256(acc, acc)) break;   /* find the exact index below */
    }
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        if ((u & 0x7f800000u) == 0x7f800000u) return i;
    }
    return -1;
}

#endif /* x86 */
