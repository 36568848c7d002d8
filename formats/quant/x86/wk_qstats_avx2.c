/* wk_qstats_avx2.c — AVX2 twins of wk_qstats.c's scalar kernels, same bits
 * (a separate mul then add per term: `fma` is not in the target list, so
 * nothing is contracted):
 *  - rule 1.3's float groups: the 32 float lanes of a group in four vectors
 *    (lanes 0-7, 8-15, 16-23, 24-31), a group's tail (fewer than 32 values)
 *    by masked loads, whose zero lanes add +0 terms, which leave a lane
 *    (+0 or more, or NaN) unchanged;
 *  - the exact rule's 16 double lanes (lanes 0-3, 4-7, 8-11, 12-15 in four
 *    vector accumulators);
 *  - the dequantizers do the scalar code's int -> float conversion,
 *    multiply (and add) lane by lane (the fp16 scale by F16C: the same float
 *    for every non-NaN half; a NaN scale gives NaN values either way). */
#include "wk_qstats_avx2.h"
#include "wk_quant.h"
#include "wk_cpu.h"

#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define WK_AVX2 WK_TARGET_AVX2
#define WK_INL WK_TARGET_AVX2 __attribute__((always_inline)) static inline
#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL _Pragma("GCC unroll 4")
#else
#define UNROLL
#endif

/* ---- rule 1.3: float groups ---------------------------------------------------- */

/* 8 values at x (and y) into E[i] / X[i]; mask: lanes loaded (the rest +0). */
WK_INL void terms8(const float *x, const float *y, __m256i mask, int full, int de, int dx,
                   __m256 *E, __m256 *X)
{
    const __m256 v = full ? _mm256_loadu_ps(x) : _mm256_maskload_ps(x, mask);
    if (de) {
        const __m256 d = _mm256_sub_ps(v, full ? _mm256_loadu_ps(y) : _mm256_maskload_ps(y, mask));
        *E = _mm256_add_ps(*E, _mm256_mul_ps(d, d));
    }
    if (dx) *X = _mm256_add_ps(*X, _mm256_mul_ps(v, v));
}

/* groups_avx2 for constant de (E formed) and dx (X formed). */
WK_INL void groups_body(const float *x, const float *y, int64_t n, double *le, double *lx, int de, int dx)
{
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), all = _mm256_set1_epi32(-1);
    __m256d Le[2] = { _mm256_setzero_pd(), _mm256_setzero_pd() }, Lx[2] = { Le[0], Le[1] };
    if (de) Le[0] = _mm256_loadu_pd(le), Le[1] = _mm256_loadu_pd(le + 4);
    if (dx) Lx[0] = _mm256_loadu_pd(lx), Lx[1] = _mm256_loadu_pd(lx + 4);
    for (int64_t i0 = 0; i0 < n; i0 += WK_QSTATS_GROUP) {
        const int64_t m = n - i0 < WK_QSTATS_GROUP ? n - i0 : WK_QSTATS_GROUP;
        const float *xg = x + i0, *yg = de ? y + i0 : NULL;
        __m256 E[4], X[4];
        UNROLL
        for (int i = 0; i < 4; i++) E[i] = X[i] = _mm256_setzero_ps();
        int64_t k = 0;
        for (; k + 32 <= m; k += 32)
            UNROLL
            for (int i = 0; i < 4; i++)
                terms8(xg + k + 8 * i, de ? yg + k + 8 * i : NULL, all, 1, de, dx, &E[i], &X[i]);
        if (k < m) {   /* the tail: 1..31 values */
            UNROLL
            for (int i = 0; i < 4; i++) {
                const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(m - k - 8 * i)), iota);
                terms8(xg + k + 8 * i, de ? yg + k + 8 * i : NULL, mask, 0, de, dx, &E[i], &X[i]);
            }
        }
        if (de) wk_qstats_flush_avx2(E, Le);
        if (dx) wk_qstats_flush_avx2(X, Lx);
    }
    if (de) _mm256_storeu_pd(le, Le[0]), _mm256_storeu_pd(le + 4, Le[1]);
    if (dx) _mm256_storeu_pd(lx, Lx[0]), _mm256_storeu_pd(lx + 4, Lx[1]);
}

WK_AVX2 void wk_qstats_groups_avx2(const float *x, const float *y, int64_t n, double *le, double *lx)
{
    if (le && lx) groups_body(x, y, n, le, lx, 1, 1);
    else if (le) groups_body(x, y, n, le, NULL, 1, 0);
    else if (lx) groups_body(x, NULL, n, NULL, lx, 0, 1);
}

/* ---- rule 1.2: exact double lanes ------------------------------------------------ */

/* Scalar head (until the next value goes to lane 0) or tail. */
static void sq_scalar(wk_qstats_acc *a, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const double v = (double)x[i];
        a->lane[a->n++ % WK_QSTATS_LANES] += v * v;
    }
}

static void sq_diff_scalar(wk_qstats_acc *a, const float *x, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const double d = (double)x[i] - (double)y[i];
        a->lane[a->n++ % WK_QSTATS_LANES] += d * d;
    }
}

/* Values before lane 0 comes round again (at most n). */
static int64_t head_of(const wk_qstats_acc *a, int64_t n)
{
    const int64_t h = (int64_t)((WK_QSTATS_LANES - a->n % WK_QSTATS_LANES) % WK_QSTATS_LANES);
    return h < n ? h : n;
}

WK_AVX2 void wk_qstats_acc_sq_avx2(wk_qstats_acc *a, const float *x, int64_t n)
{
    int64_t i = head_of(a, n);
    sq_scalar(a, x, i);
    __m256d s0 = _mm256_loadu_pd(a->lane), s1 = _mm256_loadu_pd(a->lane + 4);
    __m256d s2 = _mm256_loadu_pd(a->lane + 8), s3 = _mm256_loadu_pd(a->lane + 12);
    const int64_t body = i + (n - i) / 16 * 16;
    for (; i < body; i += 16) {
        __m256d v0 = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), v1 = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        __m256d v2 = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 8)), v3 = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 12));
        s0 = _mm256_add_pd(s0, _mm256_mul_pd(v0, v0));
        s1 = _mm256_add_pd(s1, _mm256_mul_pd(v1, v1));
        s2 = _mm256_add_pd(s2, _mm256_mul_pd(v2, v2));
        s3 = _mm256_add_pd(s3, _mm256_mul_pd(v3, v3));
        a->n += 16;
    }
    _mm256_storeu_pd(a->lane, s0);
    _mm256_storeu_pd(a->lane + 4, s1);
    _mm256_storeu_pd(a->lane + 8, s2);
    _mm256_storeu_pd(a->lane + 12, s3);
    sq_scalar(a, x + i, n - i);
}

/* (double)x[0..4) - (double)y[0..4), squared. */
WK_AVX2 static inline __m256d dsq4(const float *x, const float *y)
{
    __m256d d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x)), _mm256_cvtps_pd(_mm_loadu_ps(y)));
    return _mm256_mul_pd(d, d);
}

WK_AVX2 void wk_qstats_acc_sq_diff_avx2(wk_qstats_acc *a, const float *x, const float *y, int64_t n)
{
    int64_t i = head_of(a, n);
    sq_diff_scalar(a, x, y, i);
    __m256d s0 = _mm256_loadu_pd(a->lane), s1 = _mm256_loadu_pd(a->lane + 4);
    __m256d s2 = _mm256_loadu_pd(a->lane + 8), s3 = _mm256_loadu_pd(a->lane + 12);
    const int64_t body = i + (n - i) / 16 * 16;
    for (; i < body; i += 16) {
        s0 = _mm256_add_pd(s0, dsq4(x + i, y + i));
        s1 = _mm256_add_pd(s1, dsq4(x + i + 4, y + i + 4));
        s2 = _mm256_add_pd(s2, dsq4(x + i + 8, y + i + 8));
        s3 = _mm256_add_pd(s3, dsq4(x + i + 12, y + i + 12));
        a->n += 16;
    }
    _mm256_storeu_pd(a->lane, s0);
    _mm256_storeu_pd(a->lane + 4, s1);
    _mm256_storeu_pd(a->lane + 8, s2);
    _mm256_storeu_pd(a->lane + 12, s3);
    sq_diff_scalar(a, x + i, y + i, n - i);
}

/* ---- legacy blocks: 32 values each -------------------------------------------- */

/* fp16 bits -> float (F16C: the same value as wk_f16_to_f32 for every non-NaN half). */
WK_AVX2 static inline float half(uint16_t h)
{
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

/* 8 small ints (low 8 bytes of v, unsigned) -> float, minus `off`, times d, plus m (if add). */
WK_AVX2 static inline __m256 deq8(__m128i v, int off, __m256 d, __m256 m, int add)
{
    __m256i q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(v), _mm256_set1_epi32(off));
    __m256 r = _mm256_mul_ps(_mm256_cvtepi32_ps(q), d);
    return add ? _mm256_add_ps(r, m) : r;
}

/* The 32 values of a 4/5-bit block into Y[0..3]: nibbles of qs (16 bytes),
 * high bits from qh (bit j for value j) when hb, minus off, times d, plus m
 * when add. */
WK_AVX2 static inline void deq_nibbles(const uint8_t *qs, uint32_t qh, int hb, int off, float d,
                                       float m, int add, __m256 Y[4])
{
    const __m128i raw = _mm_loadu_si128((const __m128i *)(const void *)qs), f = _mm_set1_epi8(0x0F);
    __m128i lo = _mm_and_si128(raw, f), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), f);
    if (hb) {   /* byte j of lo gets bit j of qh as 0x10, byte j of hi bit j + 16 */
        const __m128i sel = _mm_set1_epi64x((long long)0x8040201008040201ULL);
        const __m128i sh = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        __m128i bl = _mm_shuffle_epi8(_mm_cvtsi32_si128((int)qh), sh);
        __m128i bh = _mm_shuffle_epi8(_mm_cvtsi32_si128((int)(qh >> 16)), sh);
        bl = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(bl, sel), sel), _mm_set1_epi8(0x10));
        bh = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(bh, sel), sel), _mm_set1_epi8(0x10));
        lo = _mm_or_si128(lo, bl);
        hi = _mm_or_si128(hi, bh);
    }
    const __m256 vd = _mm256_set1_ps(d), vm = _mm256_set1_ps(m);
    Y[0] = deq8(lo, off, vd, vm, add);
    Y[1] = deq8(_mm_srli_si128(lo, 8), off, vd, vm, add);
    Y[2] = deq8(hi, off, vd, vm, add);
    Y[3] = deq8(_mm_srli_si128(hi, 8), off, vd, vm, add);
}

/* Field bytes of a block at p (read in place: copying the block out first
 * costs a store-forwarding stall per block). */
static inline uint16_t u16_at(const uint8_t *p, size_t off)
{
    uint16_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

static inline uint32_t u32_at(const uint8_t *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

/* One block at p into Y[0..3] (= the scalar dequantizer's 32 floats). */
WK_AVX2 static inline void block_q4_0(const uint8_t *p, __m256 Y[4])
{
    deq_nibbles(p + offsetof(wk_block_q4_0, qs), 0, 0, 8, half(u16_at(p, offsetof(wk_block_q4_0, d))),
                0.0f, 0, Y);
}

WK_AVX2 static inline void block_q4_1(const uint8_t *p, __m256 Y[4])
{
    deq_nibbles(p + offsetof(wk_block_q4_1, qs), 0, 0, 0, half(u16_at(p, offsetof(wk_block_q4_1, d))),
                half(u16_at(p, offsetof(wk_block_q4_1, m))), 1, Y);
}

WK_AVX2 static inline void block_q5_0(const uint8_t *p, __m256 Y[4])
{
    deq_nibbles(p + offsetof(wk_block_q5_0, qs), u32_at(p, offsetof(wk_block_q5_0, qh)), 1, 16,
                half(u16_at(p, offsetof(wk_block_q5_0, d))), 0.0f, 0, Y);
}

WK_AVX2 static inline void block_q5_1(const uint8_t *p, __m256 Y[4])
{
    deq_nibbles(p + offsetof(wk_block_q5_1, qs), u32_at(p, offsetof(wk_block_q5_1, qh)), 1, 0,
                half(u16_at(p, offsetof(wk_block_q5_1, d))), half(u16_at(p, offsetof(wk_block_q5_1, m))),
                1, Y);
}

WK_AVX2 static inline void block_q8_0(const uint8_t *p, __m256 Y[4])
{
    const __m256 d = _mm256_set1_ps(half(u16_at(p, offsetof(wk_block_q8_0, d))));
    const uint8_t *qs = p + offsetof(wk_block_q8_0, qs);
    for (int j = 0; j < 4; j++) {
        __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)(qs + 8 * j));
        Y[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)), d);
    }
}

/* For each legacy type: the dequantizer (nb blocks into y). */
#define LEGACY(T)                                                                        \
    WK_AVX2 void wk_qstats_dequant_##T##_avx2(const void *q, float *y, int64_t nb)      \
    {                                                                                    \
        const uint8_t *p = q;                                                            \
        for (int64_t i = 0; i < nb; i++, p += sizeof(wk_block_##T), y += WK_QK) {        \
            __m256 Y[4];                                                                 \
            block_##T(p, Y);                                                             \
            for (int j = 0; j < 4; j++) _mm256_storeu_ps(y + 8 * j, Y[j]);               \
        }                                                                                \
    }
LEGACY(q4_0)
LEGACY(q4_1)
LEGACY(q5_0)
LEGACY(q5_1)
LEGACY(q8_0)

/* ---- Q6_K: 256 values per block ------------------------------------------------ */

/* 8 values: ((lo | hi2 << 4) - 32) as float, times ds. */
WK_AVX2 static inline __m256 q6_8(__m256i lo, __m256i hi2, float ds)
{
    __m256i q = _mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hi2, 4)), _mm256_set1_epi32(32));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(q), _mm256_set1_ps(ds));
}

WK_AVX2 void wk_qstats_dequant_q6_K_avx2(const void *q, float *y, int64_t nb)
{
    const uint8_t *p = q;
    const __m256i m4 = _mm256_set1_epi32(0xF), m2 = _mm256_set1_epi32(3);
    for (int64_t i = 0; i < nb; i++, p += sizeof(wk_block_q6_K)) {
        const float d = half(u16_at(p, offsetof(wk_block_q6_K, d)));
        const int8_t *scales = (const int8_t *)(p + offsetof(wk_block_q6_K, scales));
        for (int h = 0; h < 2; h++, y += 128) {
            const uint8_t *ql = p + offsetof(wk_block_q6_K, ql) + 64 * h;
            const uint8_t *qh = p + offsetof(wk_block_q6_K, qh) + 32 * h;
            const int8_t *sc = scales + 8 * h;
            for (int l = 0; l < 32; l += 8) {
                const int is = l / 16;
                __m256i a = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(ql + l)));
                __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(ql + l + 32)));
                __m256i c = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(qh + l)));
                /* d * sc[is] first, in float, as the scalar code */
                _mm256_storeu_ps(y + l, q6_8(_mm256_and_si256(a, m4), _mm256_and_si256(c, m2), d * sc[is]));
                _mm256_storeu_ps(y + l + 32, q6_8(_mm256_and_si256(b, m4),
                                 _mm256_and_si256(_mm256_srli_epi32(c, 2), m2), d * sc[is + 2]));
                _mm256_storeu_ps(y + l + 64, q6_8(_mm256_srli_epi32(a, 4),
                                 _mm256_and_si256(_mm256_srli_epi32(c, 4), m2), d * sc[is + 4]));
                _mm256_storeu_ps(y + l + 96, q6_8(_mm256_srli_epi32(b, 4),
                                 _mm256_and_si256(_mm256_srli_epi32(c, 6), m2), d * sc[is + 6]));
            }
        }
    }
}

#endif /* x86 */
