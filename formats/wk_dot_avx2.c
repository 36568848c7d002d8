/* wk_dot_avx2.c — AVX2 stage 1 (exact integer sums) of the integer dot
 * products of wk_dot.h.  Each weight block is unpacked to unsigned codes in
 * byte lanes, multiplied with the int8 activations by vpmaddubsw (no
 * saturation: codes <= 63 or |q8_0 code| <= 128, activations in [-127, 127]),
 * widened by vpmaddwd (with the sub-block scales for the k-quants) and summed
 * horizontally once per block.  Offsets (q4_0: 8, q5_0: 16, q6_k: 32) are
 * removed afterwards with the activation sums, so the result is the same
 * integer as the scalar reference's.  Built with `target` attributes; only
 * called when wk_dot_have_simd() is 1. */
#include "wk_dot.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define WK_AVX2 __attribute__((target("avx2")))
/* One attribute with both features: clang keeps only the last of several
 * target attributes. */
#define WK_AVX2_F16C __attribute__((target("avx2,f16c")))

WK_AVX2 static inline int32_t hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* 32 unsigned codes (bytes) . 32 int8 activations, as 8 int32 lanes. */
WK_AVX2 static inline __m256i dot_u8_s8(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* Sum of 32 int8 activations. */
WK_AVX2 static inline int32_t sum_s8(__m256i s)
{
    return hsum_i32(dot_u8_s8(_mm256_set1_epi8(1), s));
}

/* Legacy 4-bit codes: low nibbles are values 0..15, high nibbles 16..31. */
WK_AVX2 static inline __m256i nibbles32(const uint8_t *qs)
{
    __m128i x = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

/* 32 bits of qh to bytes of 0x10 (bit i set) or 0. */
WK_AVX2 static inline __m256i bits32_0x10(const uint8_t *qh)
{
    uint32_t h;
    memcpy(&h, qh, sizeof h);
    __m256i v = _mm256_set1_epi32((int32_t)h);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                                           0x0101010101010101LL, 0x0000000000000000LL);
    v = _mm256_shuffle_epi8(v, shuf);               /* byte i = byte i/8 of h */
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

#define LEGACY_AVX2(T, UNPACK, OFF, HASMIN) \
    WK_AVX2 void wk_isum_##T##_avx2(const void *w, const void *a, int64_t nb, int32_t *isum, \
                                    int32_t *msum) \
    { \
        const wk_block_##T *x = w; \
        const wk_block_q8_0 *y = a; \
        for (int64_t b = 0; b < nb; b++) { \
            const wk_block_##T *blk = x + b; \
            __m256i s = _mm256_loadu_si256((const __m256i *)y[b].qs); \
            __m256i u = UNPACK; \
            int32_t ssum = ((OFF) || (HASMIN)) ? sum_s8(s) : 0; \
            isum[b] = hsum_i32(dot_u8_s8(u, s)) - (OFF) * ssum; \
            msum[b] = (HASMIN) ? ssum : 0; \
        } \
    }
LEGACY_AVX2(q4_0, nibbles32(blk->qs), 8, 0)
LEGACY_AVX2(q4_1, nibbles32(blk->qs), 0, 1)
LEGACY_AVX2(q5_0, _mm256_or_si256(nibbles32(blk->qs), bits32_0x10(blk->qh)), 16, 0)
LEGACY_AVX2(q5_1, _mm256_or_si256(nibbles32(blk->qs), bits32_0x10(blk->qh)), 0, 1)

/* Q8_0 weights are signed: |w| . sign(w)*a (|w| <= 128 fits a byte). */
WK_AVX2 void wk_isum_q8_0_avx2(const void *w, const void *a, int64_t nb, int32_t *isum,
                               int32_t *msum)
{
    const wk_block_q8_0 *x = w;
    const wk_block_q8_0 *y = a;
    for (int64_t b = 0; b < nb; b++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)x[b].qs);
        __m256i s = _mm256_loadu_si256((const __m256i *)y[b].qs);
        isum[b] = hsum_i32(dot_u8_s8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(s, q)));
        msum[b] = 0;
    }
}

/* Sub-block scales (sc[0..7], as int16) and the min term sum_j m_j * (bsum_2j +
 * bsum_2j+1) of a Q4_K/Q5_K block: get_scale_min_k4 for all 8 sub-blocks at
 * once with 32-bit masks (as ggml's kernels do), the mins against the paired
 * Q8_K partial sums with one vpmaddwd. */
WK_AVX2 static inline int32_t k4_scales_mins(const uint8_t *q, const int16_t *bsums, int16_t *sc)
{
    uint32_t u[4];
    memcpy(u, q, 12);
    u[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    uint32_t t = u[1] & 0x3f3f3f3fu;
    u[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    u[2] = t;
    u[0] &= 0x3f3f3f3fu;
    __m128i v = _mm_loadu_si128((const __m128i *)u);      /* 8 scales, then 8 mins */
    _mm_storeu_si128((__m128i *)sc, _mm_cvtepu8_epi16(v));
    __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(v, 8));
    __m128i b0 = _mm_loadu_si128((const __m128i *)bsums);
    __m128i b1 = _mm_loadu_si128((const __m128i *)(bsums + 8));
    __m128i p = _mm_madd_epi16(mins, _mm_hadd_epi16(b0, b1));
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0x4e));
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0xb1));
    return _mm_cvtsi128_si32(p);
}

WK_AVX2 static void k45_avx2(const void *w, size_t wsize, int five, const void *a, int64_t nb,
                             int32_t *isum, int32_t *msum)
{
    const uint8_t *x = w;
    const wk_block_q8_K *y = a;
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    for (int64_t b = 0; b < nb; b++, x += wsize) {
        int16_t sc[8];
        msum[b] = k4_scales_mins(x + 4, y[b].bsums, sc);
        const uint8_t *qs = x + 16 + (five ? 32 : 0);
        __m256i hb = five ? _mm256_loadu_si256((const __m256i *)(x + 16)) : _mm256_setzero_si256();
        __m256i acc = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
            __m256i lo = _mm256_and_si256(q, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (five) {
                __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * c), one);
                __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * c + 1), one);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(h0, 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(h1, 4));
            }
            __m256i a0 = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * c));
            __m256i a1 = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * c + 32));
            __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, a0), _mm256_set1_epi16(sc[2 * c]));
            __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, a1),
                                           _mm256_set1_epi16(sc[2 * c + 1]));
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(p0, p1));
        }
        isum[b] = hsum_i32(acc);
    }
}

WK_AVX2 void wk_isum_q4_K_avx2(const void *w, const void *a, int64_t nb, int32_t *isum,
                               int32_t *msum)
{
    k45_avx2(w, sizeof(wk_block_q4_K), 0, a, nb, isum, msum);
}

WK_AVX2 void wk_isum_q5_K_avx2(const void *w, const void *a, int64_t nb, int32_t *isum,
                               int32_t *msum)
{
    k45_avx2(w, sizeof(wk_block_q5_K), 1, a, nb, isum, msum);
}

/* Q6_K: unsigned codes 0..63 against the activations, each half-vector of 16
 * with its own int8 scale; then minus 32 * sum_j sc_j * bsum_j. */
WK_AVX2 void wk_isum_q6_K_avx2(const void *w, const void *a, int64_t nb, int32_t *isum,
                               int32_t *msum)
{
    const wk_block_q6_K *x = w;
    const wk_block_q8_K *y = a;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *ql = x[b].ql, *qh = x[b].qh;
        const int8_t *sc = x[b].scales;
        __m256i acc = _mm256_setzero_si256();
        /* off = sum_j sc_j * bsum_j (16 int8 scales against 16 int16 sums) */
        __m256i o = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc)),
                                      _mm256_loadu_si256((const __m256i *)y[b].bsums));
        int32_t off = hsum_i32(o);
        for (int n = 0; n < 2; n++, ql += 64, qh += 32) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(h, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m3), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m3), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m3), 4));
            for (int c = 0; c < 4; c++) {
                int s = 8 * n + 2 * c;   /* scales of the two halves of this 32 */
                __m256i av = _mm256_loadu_si256((const __m256i *)(y[b].qs + 128 * n + 32 * c));
                __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sc[s + 1]), _mm_set1_epi16(sc[s]));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q[c], av), scv));
            }
        }
        isum[b] = hsum_i32(acc) - 32 * off;
        msum[b] = 0;
    }
}

/* ---- legacy types fused: 8 blocks at a time, all in registers -------------------- */

/* Horizontal sums of 8 vectors of 8 int32 lanes: lane j = sum of v[j]. */
WK_AVX2 static inline __m256i reduce8(const __m256i v[8])
{
    __m256i t0 = _mm256_hadd_epi32(v[0], v[1]), t1 = _mm256_hadd_epi32(v[2], v[3]);
    __m256i t2 = _mm256_hadd_epi32(v[4], v[5]), t3 = _mm256_hadd_epi32(v[6], v[7]);
    __m256i u0 = _mm256_hadd_epi32(t0, t1), u1 = _mm256_hadd_epi32(t2, t3);
    return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20),
                            _mm256_permute2x128_si256(u0, u1, 0x31));
}

/* Signed codes . activations (|q| <= 128, |a| <= 127). */
WK_AVX2 static inline __m256i dot_s8_s8(__m256i q, __m256i a)
{
    return dot_u8_s8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q));
}

/* One legacy type: CODES(blk) gives the 32 codes (signed when !HASMIN), and
 * the per-group float work is wk_dot_accumulate's, lane by lane. */
#define LEGACY_ROW(T, CODES, HASMIN) \
    WK_AVX2_F16C static float row_##T(const void *w, const void *a, \
                                                                  int64_t nb) \
    { \
        const wk_block_##T *x = w; \
        const wk_block_q8_0 *y = a; \
        __m256 acc = _mm256_setzero_ps(); \
        int64_t b = 0; \
        for (; b + 8 <= nb; b += 8) { \
            __m256i v[8], sv[8]; \
            uint16_t hw[8], hm[8], ha[8]; \
            for (int j = 0; j < 8; j++) { \
                const wk_block_##T *blk = x + b + j; \
                __m256i s = _mm256_loadu_si256((const __m256i *)y[b + j].qs); \
                __m256i q = CODES; \
                memcpy(&hw[j], &blk->d, 2); \
                memcpy(&ha[j], &y[b + j].d, 2); \
                if (HASMIN) { \
                    memcpy(&hm[j], (const uint8_t *)blk + 2, 2); \
                    v[j] = dot_u8_s8(q, s); \
                    sv[j] = dot_u8_s8(_mm256_set1_epi8(1), s); \
                } else { \
                    v[j] = dot_s8_s8(q, s); \
                } \
            } \
            __m256 da = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)ha)); \
            __m256 sw = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)hw)), da); \
            __m256 t = _mm256_mul_ps(sw, _mm256_cvtepi32_ps(reduce8(v))); \
            __m256 u = _mm256_setzero_ps(); \
            if (HASMIN) { \
                __m256 sm = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)hm)), da); \
                u = _mm256_mul_ps(sm, _mm256_cvtepi32_ps(reduce8(sv))); \
            } else { \
                u = _mm256_mul_ps(u, _mm256_cvtepi32_ps(_mm256_setzero_si256())); \
            } \
            acc = _mm256_add_ps(acc, _mm256_add_ps(t, u)); \
        } \
        float accs[8]; \
        _mm256_storeu_ps(accs, acc); \
        if (b < nb) { \
            int32_t is[8], ms[8]; \
            float sw[8], sm[8]; \
            const wk_qtraits *qt = wk_qtraits_get(WK_QT_##T##_ID); \
            wk_isum_##T##_avx2(x + b, y + b, nb - b, is, ms); \
            wk_dot_scales(qt, x + b, y + b, nb - b, sw, sm); \
            wk_dot_accumulate(accs, 0, nb - b, is, ms, sw, sm); \
        } \
        return wk_dot_reduce(accs); \
    }
#define WK_QT_q4_0_ID WK_QT_Q4_0
#define WK_QT_q4_1_ID WK_QT_Q4_1
#define WK_QT_q5_0_ID WK_QT_Q5_0
#define WK_QT_q5_1_ID WK_QT_Q5_1
#define WK_QT_q8_0_ID WK_QT_Q8_0
LEGACY_ROW(q4_0, _mm256_sub_epi8(nibbles32(blk->qs), _mm256_set1_epi8(8)), 0)
LEGACY_ROW(q4_1, nibbles32(blk->qs), 1)
LEGACY_ROW(q5_0, _mm256_sub_epi8(_mm256_or_si256(nibbles32(blk->qs), bits32_0x10(blk->qh)),
                                 _mm256_set1_epi8(16)), 0)
LEGACY_ROW(q5_1, _mm256_or_si256(nibbles32(blk->qs), bits32_0x10(blk->qh)), 1)
LEGACY_ROW(q8_0, _mm256_loadu_si256((const __m256i *)blk->qs), 0)

/* ---- the whole dot: stage 1 per tile, then stage 2 in vectors ---------------------- */

/* fp16 at p (any alignment) for 8 blocks of `stride` bytes -> 8 floats (F16C
 * gives wk_f16_to_f32's values for every input). */
WK_AVX2_F16C static inline __m256 halves8(const uint8_t *p, size_t stride)
{
    uint16_t h[8];
    for (int i = 0; i < 8; i++) memcpy(&h[i], p + i * stride, 2);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}

WK_AVX2 static inline __m256 floats8(const uint8_t *p, size_t stride)
{
    float f[8];
    for (int i = 0; i < 8; i++) memcpy(&f[i], p + i * stride, 4);
    return _mm256_loadu_ps(f);
}

#define TILE 64

/* wk_dot_row's AVX2 path: the same operations as wk_dot_accumulate, lane by
 * lane (multiply, multiply, add, add: no FMA), 8 blocks at a time; a tail of
 * fewer than 8 blocks goes through wk_dot_accumulate itself. */
WK_AVX2_F16C float wk_dot_row_avx2(const wk_qtraits *qt, const void *w,
                                                               const void *a, int64_t k)
{
    int kq = qt->blck == WK_QK_K;
    size_t ws = qt->type_size, as = kq ? sizeof(wk_block_q8_K) : sizeof(wk_block_q8_0);
    size_t doff = qt->type == WK_QT_Q6_K ? offsetof(wk_block_q6_K, d) : 0;
    int hasmin = qt->type == WK_QT_Q4_1 || qt->type == WK_QT_Q5_1 || qt->type == WK_QT_Q4_K ||
                 qt->type == WK_QT_Q5_K;
    int64_t nb = k / qt->blck;
    switch (qt->type) {
    case WK_QT_Q4_0: return row_q4_0(w, a, nb);
    case WK_QT_Q4_1: return row_q4_1(w, a, nb);
    case WK_QT_Q5_0: return row_q5_0(w, a, nb);
    case WK_QT_Q5_1: return row_q5_1(w, a, nb);
    case WK_QT_Q8_0: return row_q8_0(w, a, nb);
    default: break;
    }
    int32_t is[TILE], ms[TILE];
    float accs[8];
    __m256 acc = _mm256_setzero_ps();
    const uint8_t *x = w, *y = a;
    int64_t b0 = 0;
    for (; b0 + 8 <= nb; ) {
        int64_t n = nb - b0 < TILE ? nb - b0 : TILE;
        n &= ~(int64_t)7;
        wk_dot_isums(qt, 1, x, y, n, is, ms);
        for (int64_t i = 0; i < n; i += 8) {
            const uint8_t *xb = x + (size_t)i * ws, *yb = y + (size_t)i * as;
            __m256 da = kq ? floats8(yb, as) : halves8(yb, as);
            __m256 sw = _mm256_mul_ps(halves8(xb + doff, ws), da);
            __m256 t = _mm256_mul_ps(sw, _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(is + i))));
            __m256 sm = _mm256_setzero_ps();
            if (hasmin) {
                sm = _mm256_mul_ps(halves8(xb + 2, ws), da);
                if (kq) sm = _mm256_xor_ps(sm, _mm256_set1_ps(-0.0f));   /* mw = -dmin */
            }
            __m256 u = _mm256_mul_ps(sm, _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(ms + i))));
            acc = _mm256_add_ps(acc, _mm256_add_ps(t, u));
        }
        x += (size_t)n * ws;
        y += (size_t)n * as;
        b0 += n;
    }
    _mm256_storeu_ps(accs, acc);
    if (b0 < nb) {   /* the last nb % 8 blocks: lanes 0.. (b0 is a multiple of 8) */
        float sw[8], sm[8];
        int64_t n = nb - b0;
        wk_dot_isums(qt, 1, x, y, n, is, ms);
        wk_dot_scales(qt, x, y, n, sw, sm);
        wk_dot_accumulate(accs, 0, n, is, ms, sw, sm);
    }
    return wk_dot_reduce(accs);
}

#endif
