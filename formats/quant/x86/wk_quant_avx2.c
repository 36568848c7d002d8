/* wk_quant_avx2.c — AVX2/F16C quantizers giving the same bytes as the
 * scalar references in wk_quant_ref.c for every NaN-free input.
 *
 * How exactness is kept: each block's statistics (max |x|, min, max) come
 * from vector reductions, which are exact for NaN-free input; the per-block
 * scale d and 1/d are then computed in scalar float exactly as the reference
 * does, and the per-value steps are the same IEEE operations lane by lane
 * (mul, then add: no FMA; `fma` is deliberately not in the target list).
 * cvttps2dq gives INT32_MIN for NaN/out-of-range lanes, exactly what
 * wk_q_trunc_i32 emulates.  Cases where the order of a sequential scan
 * matters (the sign of a zero min, the first of tied max-|x| values) are
 * resolved explicitly or handed to the reference for that block.
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

/* ---- lane helpers ------------------------------------------------------------- */

WK_AVX2 static inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

WK_AVX2 static inline float hmin8(__m256 v)
{
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

WK_AVX2 static inline __m256 abs8(__m256 v)
{
    return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

/* Load one block of 32 into four vectors. */
WK_AVX2 static inline void load32(const float *x, __m256 v[4])
{
    for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(x + 8 * i);
}

/* max |x| over 32 values (exact for NaN-free input). */
WK_AVX2 static inline float absmax32(const __m256 v[4])
{
    __m256 a = _mm256_max_ps(_mm256_max_ps(abs8(v[0]), abs8(v[1])),
                             _mm256_max_ps(abs8(v[2]), abs8(v[3])));
    return hmax8(a);
}

/* The signed value with the largest |x|, the first on ties (as the scalar
 * scan picks it); 0.0f when amax == 0 (the scan's initial value). */
WK_AVX2 static inline float signed_absmax32(const float *x, const __m256 v[4], float amax)
{
    if (amax == 0.0f) return 0.0f;
    __m256 a = _mm256_set1_ps(amax);
    uint32_t m = 0;
    for (int i = 0; i < 4; i++)
        m |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(abs8(v[i]), a, _CMP_EQ_OQ)) << (8 * i);
    if (m) return x[__builtin_ctz(m)];
    float sa = 0.0f, s = 0.0f;          /* NaN input (unsupported): any defined pick */
    for (int j = 0; j < WK_QK; j++)
        if (sa < fabsf(x[j])) { sa = fabsf(x[j]); s = x[j]; }
    return s;
}

/* (int8_t) truncation as x86 (low byte of cvttps2dq), sign-extended to 32 bits. */
WK_AVX2 static inline __m256i trunc_i8(__m256 v)
{
    return _mm256_srai_epi32(_mm256_slli_epi32(_mm256_cvttps_epi32(v), 24), 24);
}

/* (uint8_t)MIN(m, (int8_t)v) in 32-bit lanes. */
WK_AVX2 static inline __m256i trunc_min_u8(__m256 v, int m)
{
    __m256i q = _mm256_min_epi32(trunc_i8(v), _mm256_set1_epi32(m));
    return _mm256_and_si256(q, _mm256_set1_epi32(0xff));
}

/* Sixteen 32-bit lanes holding 0..255 (lo: bytes 0..7, hi: 8..15) -> 16 bytes. */
WK_AVX2 static inline __m128i pack16_u8(__m256i lo, __m256i hi)
{
    __m256i w = _mm256_packus_epi32(lo, hi);          /* lo0-3 hi0-3 | lo4-7 hi4-7 */
    w = _mm256_permute4x64_epi64(w, 0xD8);             /* lo0-7 | hi0-7 */
    return _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
}

/* Nibble pairs of Q4_0/Q4_1: qs[j] = q[j] | q[j+16] << 4 (as a byte). */
WK_AVX2 static inline __m128i pack_nibbles(const __m256i q[4])
{
    __m256i ff = _mm256_set1_epi32(0xff);
    __m256i lo = _mm256_and_si256(_mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4)), ff);
    __m256i hi = _mm256_and_si256(_mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4)), ff);
    return pack16_u8(lo, hi);
}

/* Q5: low nibbles into qs as above, bit 4 of each value into the qh word. */
WK_AVX2 static inline __m128i pack_q5(const __m256i q[4], uint32_t *qh)
{
    __m256i f = _mm256_set1_epi32(0x0f);
    __m256i n[4];
    uint32_t h = 0;
    for (int i = 0; i < 4; i++) {
        n[i] = _mm256_and_si256(q[i], f);
        __m256 bit4 = _mm256_castsi256_ps(_mm256_slli_epi32(q[i], 27));
        h |= (uint32_t)_mm256_movemask_ps(bit4) << (8 * i);
    }
    *qh = h;
    return pack_nibbles(n);
}

/* ---- legacy quantizers -------------------------------------------------------- */

/* Q4_0 and Q5_0: d = max / -(half range), q = MIN(top, (int8)(x*id + off)). */
WK_AVX2 static inline void sym_quants(const float *x, const __m256 v[4], float div, float off,
                                      int top, uint16_t *d16, __m256i q[4])
{
    const float max = signed_absmax32(x, v, absmax32(v));
    const float d = max / div;
    const float id = d ? 1.0f / d : 0.0f;
    *d16 = wk_f32_to_f16(d);
    __m256 vid = _mm256_set1_ps(id), voff = _mm256_set1_ps(off);
    for (int i = 0; i < 4; i++)
        q[i] = trunc_min_u8(_mm256_add_ps(_mm256_mul_ps(v[i], vid), voff), top);
}

WK_AVX2 void wk_quantize_row_q4_0_avx2(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        __m256 v[4];
        __m256i q[4];
        wk_block_q4_0 b;
        load32(x, v);
        sym_quants(x, v, -8, 8.5f, 15, &b.d, q);
        _mm_storeu_si128((__m128i *)b.qs, pack_nibbles(q));
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

WK_AVX2 void wk_quantize_row_q5_0_avx2(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        __m256 v[4];
        __m256i q[4];
        wk_block_q5_0 b;
        uint32_t qh;
        load32(x, v);
        sym_quants(x, v, -16, 16.5f, 31, &b.d, q);
        _mm_storeu_si128((__m128i *)b.qs, pack_q5(q, &qh));
        memcpy(b.qh, &qh, sizeof qh);
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

/* Q4_1 and Q5_1: min/max of the block.  Returns 0 when min is a zero, whose
 * sign (stored in m) depends on scan order: the caller uses the reference
 * for that block.  Else fills d, m, and the lanes (x - min)*id + 0.5f. */
WK_AVX2 static inline int asym_prep(const __m256 v[4], float levels, uint16_t *d16,
                                    uint16_t *m16, __m256 t[4])
{
    __m256 mn = _mm256_min_ps(_mm256_min_ps(v[0], v[1]), _mm256_min_ps(v[2], v[3]));
    __m256 mx = _mm256_max_ps(_mm256_max_ps(v[0], v[1]), _mm256_max_ps(v[2], v[3]));
    const float min = hmin8(mn), max = hmax8(mx);
    if (min == 0.0f) return 0;
    const float d = (max - min) / levels;
    const float id = d ? 1.0f / d : 0.0f;
    *d16 = wk_f32_to_f16(d);
    *m16 = wk_f32_to_f16(min);
    __m256 vmin = _mm256_set1_ps(min), vid = _mm256_set1_ps(id), half = _mm256_set1_ps(0.5f);
    for (int i = 0; i < 4; i++)
        t[i] = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(v[i], vmin), vid), half);
    return 1;
}

WK_AVX2 void wk_quantize_row_q4_1_avx2(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        __m256 v[4], t[4];
        __m256i q[4];
        wk_block_q4_1 b;
        load32(x, v);
        if (!asym_prep(v, 15, &b.d, &b.m, t)) {
            wk_quantize_row_q4_1_ref(x, y + i * sizeof b, WK_QK);
            continue;
        }
        for (int j = 0; j < 4; j++) q[j] = trunc_min_u8(t[j], 15);
        _mm_storeu_si128((__m128i *)b.qs, pack_nibbles(q));
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

WK_AVX2 void wk_quantize_row_q5_1_avx2(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    __m256i ff = _mm256_set1_epi32(0xff);
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        __m256 v[4], t[4];
        __m256i q[4];
        wk_block_q5_1 b;
        uint32_t qh;
        load32(x, v);
        if (!asym_prep(v, 31, &b.d, &b.m, t)) {
            wk_quantize_row_q5_1_ref(x, y + i * sizeof b, WK_QK);
            continue;
        }
        for (int j = 0; j < 4; j++) q[j] = _mm256_and_si256(_mm256_cvttps_epi32(t[j]), ff);
        _mm_storeu_si128((__m128i *)b.qs, pack_q5(q, &qh));
        memcpy(b.qh, &qh, sizeof qh);
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

/* C roundf (halves away from zero): truncate, then step away from zero when
 * the dropped fraction is >= 0.5.  v - trunc(v) is exact; for |v| >= 2^23
 * it is 0, for Inf it is NaN (no step), as roundf leaves those unchanged. */
WK_AVX2 static inline __m256 roundf8(__m256 v)
{
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = abs8(_mm256_sub_ps(v, t));
    __m256 step = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ),
                                _mm256_set1_ps(1.0f));
    __m256 sign = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u)));
    return _mm256_add_ps(t, _mm256_or_ps(step, sign));
}

WK_AVX2 void wk_quantize_row_q8_0_avx2(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    const __m256i ff = _mm256_set1_epi32(0xff);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        __m256 v[4];
        __m256i q[4];
        wk_block_q8_0 b;
        load32(x, v);
        const float d = absmax32(v) / 127;
        const float id = d ? 1.0f / d : 0.0f;
        b.d = wk_f32_to_f16(d);
        __m256 vid = _mm256_set1_ps(id);
        for (int j = 0; j < 4; j++)
            q[j] = _mm256_and_si256(_mm256_cvttps_epi32(roundf8(_mm256_mul_ps(v[j], vid))), ff);
        /* 4 x 8 lanes -> 32 bytes; packs work per 128-bit lane, hence the permute */
        __m256i w = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]),
                                        _mm256_packus_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *)b.qs, _mm256_permutevar8x32_epi32(w, order));
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

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
