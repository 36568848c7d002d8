/* wk_dot_avx2.c — AVX2 kernels of the integer dot products of wk_dot.h.
 *
 * Stage 1 (exact integer sums).  Each weight block is unpacked to codes in
 * byte lanes and multiplied with the int8 activations by vpmaddubsw (never
 * saturating: unsigned codes <= 63, or q8_0's signed codes |q| <= 128 through
 * the vpsignb trick, against activations in [-127, 127]), widened by
 * vpmaddwd (with the sub-block scales for the k-quants).  A block kernel
 * (blk_*) returns its block's sum as 8 int32 partial lanes; nothing is summed
 * horizontally per block.  The legacy types use unsigned codes: q4_0/q5_0's
 * offsets (8, 16) come out as offset * (activation block sum), and that sum is
 * also q4_1/q5_1's msum — read from the int16 sums wk_dot_quantize_act stores
 * after the Q8_0 blocks (wk_dot.h), as ggml reads Q8_1's s.  q6_k's 32 is
 * removed with the Q8_K partial sums, q3_k's 4 likewise (codes 0..7 with the
 * hmask bit at bit 2); q2_k, q3_k take q6_k's 16-value scale layout (q2_k
 * with every product times 4, shifted out after the reduction); iq4_nl
 * and iq4_xs look the grid levels up by vpshufb and go through the vpsignb
 * trick (|level| <= 127).  Integer addition is exact modulo 2^32
 * and every true sum fits int32, so the sums equal the scalar reference's.
 *
 * Stage 2.  The row kernels (row_*) take 8 blocks at a time: their 8 partial
 * vectors are reduced to one vector of 8 block sums (lane j = block b + j,
 * which is exactly wk_dot_accumulate's lane (b + j) % 8), the 8 weight and
 * activation scales are assembled in general registers and converted by F16C
 * (exact, like wk_f16_to_f32), and the lane-wise float operations are
 * wk_dot_accumulate's: multiply, multiply, add, add, no FMA.  A tail of fewer
 * than 8 blocks goes, for the legacy types, through the scalar reference and
 * wk_dot_accumulate, for the k-quants through the same vector step on
 * zero-padded lanes (KQUANT_TAIL: 4 lanes for 1-4 blocks; KQUANT_TAIL8: 8
 * lanes for 5-7), and the 8 lanes are reduced in
 * wk_dot_reduce's order.  So the result is the
 * scalar reference's bit for bit (tests/unit/test_dot.c).
 *
 * Built with one `target` attribute per function (clang keeps only the last
 * of several); only called when wk_dot_have_simd() is 1. */
#include "wk_dot.h"
#include "wk_cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define WK_AVX2 WK_TARGET_AVX2   /* wk_cpu.h: avx2 + f16c, no fma */
/* Helpers: always inlined, so that constant arguments become immediates. */
#define WK_INLINE WK_TARGET_AVX2 __attribute__((always_inline)) static inline
/* The row and tail kernels: never inlined, and aligned to 64 bytes, so that
 * their loops sit at the same offsets in the op cache's 64-byte windows
 * whatever the code before them (with 16-byte alignment, a change elsewhere in
 * this file moved q3_k's unchanged kernels and made them 3-5 % slower). */
#define WK_KERNEL WK_TARGET_AVX2 __attribute__((noinline, aligned(64)))

/* ---- integer helpers ----------------------------------------------------------------- */

WK_INLINE int32_t hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* Horizontal sums within 128 bits by unpacks and adds (no vphaddd: 3 µops at
 * one per 2 cycles on Zen 3). */
WK_INLINE __m256i sum_pair32(__m256i a, __m256i b)   /* per 128 bits: a0+a2 b0+b2 a1+a3 b1+b3 */
{
    return _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
}

WK_INLINE __m256i sum_quad32(__m256i v0, __m256i v1, __m256i v2, __m256i v3)   /* per 128 bits */
{
    __m256i s01 = sum_pair32(v0, v1), s23 = sum_pair32(v2, v3);
    return _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
}

/* Per 128 bits: lane j = the sum of vj's lanes there; by unpacks (unpk 1) or vphaddd. */
WK_INLINE __m256i sum_quad(int unpk, __m256i v0, __m256i v1, __m256i v2, __m256i v3)
{
    if (unpk) return sum_quad32(v0, v1, v2, v3);
    return _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
}

/* Horizontal sums of 8 vectors: lane j of the result = sum of the lanes of vj.
 * unpk: by unpacks and adds (measured: q2_k 2.5 % faster at 6656 columns, where
 * q3_k and iq4_xs were ~1 % slower than with vphaddd: bench/dot_ab.sh). */
WK_INLINE __m256i reduce8(int unpk, __m256i v0, __m256i v1, __m256i v2, __m256i v3, __m256i v4,
                          __m256i v5, __m256i v6, __m256i v7)
{
    __m256i u0, u1;
    if (unpk) {
        u0 = sum_quad32(v0, v1, v2, v3);
        u1 = sum_quad32(v4, v5, v6, v7);
    } else {
        __m256i t0 = _mm256_hadd_epi32(v0, v1), t1 = _mm256_hadd_epi32(v2, v3);
        __m256i t2 = _mm256_hadd_epi32(v4, v5), t3 = _mm256_hadd_epi32(v6, v7);
        u0 = _mm256_hadd_epi32(t0, t1);
        u1 = _mm256_hadd_epi32(t2, t3);
    }
    return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20),
                            _mm256_permute2x128_si256(u0, u1, 0x31));
}

/* 32 unsigned codes (bytes) . 32 int8 activations, as 8 int32 lanes. */
WK_INLINE __m256i dot_u8_s8(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* Signed codes (|q| <= 128) . activations (|a| <= 127). */
WK_INLINE __m256i dot_s8_s8(__m256i q, __m256i a)
{
    return dot_u8_s8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q));
}

WK_INLINE __m256i load256(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Legacy 4-bit codes: low nibbles are values 0..15, high nibbles 16..31. */
WK_INLINE __m256i nibbles32(const uint8_t *qs)
{
    __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    v = _mm256_srlv_epi64(v, _mm256_set_epi64x(4, 4, 0, 0));
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

/* 32 bits of qh to bytes of 0xff (bit i set) or 0. */
WK_INLINE __m256i bits32(const uint8_t *qh)
{
    uint32_t h;
    memcpy(&h, qh, sizeof h);
    __m256i v = _mm256_set1_epi32((int32_t)h);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                                           0x0101010101010101LL, 0x0000000000000000LL);
    v = _mm256_shuffle_epi8(v, shuf);               /* byte i = byte i/8 of h */
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/* ---- legacy block kernels: 8 partial lanes of sum_i u_i * a_i ---------------------- */

/* The legacy weights as unsigned codes u (q4_*: 0..15, q5_*: 0..31); the
 * offset of q4_0 / q5_0 (q = u - 8, u - 16) is taken out afterwards with the
 * activation block sums that wk_dot_quantize_act stores after the blocks. */
WK_INLINE __m256i blk_q4_0(const wk_block_q4_0 *x, const wk_block_q8_0 *y)
{
    return dot_u8_s8(nibbles32(x->qs), load256(y->qs));
}

WK_INLINE __m256i blk_q4_1(const wk_block_q4_1 *x, const wk_block_q8_0 *y)
{
    return dot_u8_s8(nibbles32(x->qs), load256(y->qs));
}

WK_INLINE __m256i codes_q5(const uint8_t *qh, const uint8_t *qs)
{
    return _mm256_or_si256(nibbles32(qs), _mm256_and_si256(bits32(qh), _mm256_set1_epi8(0x10)));
}

WK_INLINE __m256i blk_q5_0(const wk_block_q5_0 *x, const wk_block_q8_0 *y)
{
    return dot_u8_s8(codes_q5(x->qh, x->qs), load256(y->qs));
}

WK_INLINE __m256i blk_q5_1(const wk_block_q5_1 *x, const wk_block_q8_0 *y)
{
    return dot_u8_s8(codes_q5(x->qh, x->qs), load256(y->qs));
}

/* Q8_0 weights are signed: |w| . sign(w)*a. */
WK_INLINE __m256i blk_q8_0(const wk_block_q8_0 *x, const wk_block_q8_0 *y)
{
    return dot_s8_s8(load256(x->qs), load256(y->qs));
}

/* The block sums of a legacy activation row of nb blocks (wk_dot.h). */
WK_INLINE const int16_t *act_sums(const void *a, int64_t nb)
{
    return (const int16_t *)(const void *)((const uint8_t *)a + (size_t)nb * sizeof(wk_block_q8_0));
}

#define LEGACY_ISUM(T, OFF, HASMIN) \
    WK_AVX2 void wk_isum_##T##_avx2(const void *w, const void *a, int64_t nb, int32_t *isum, \
                                    int32_t *msum) \
    { \
        const wk_block_##T *x = w; \
        const wk_block_q8_0 *y = a; \
        const int16_t *sums = act_sums(a, nb); \
        for (int64_t b = 0; b < nb; b++) { \
            int16_t sa = 0; \
            if ((OFF) || (HASMIN)) memcpy(&sa, sums + b, sizeof sa); \
            isum[b] = hsum_i32(blk_##T(x + b, y + b)) - (OFF) * sa; \
            msum[b] = (HASMIN) ? sa : 0; \
        } \
    }
LEGACY_ISUM(q4_0, 8, 0)
LEGACY_ISUM(q4_1, 0, 1)
LEGACY_ISUM(q5_0, 16, 0)
LEGACY_ISUM(q5_1, 0, 1)
LEGACY_ISUM(q8_0, 0, 0)

/* ---- k-quant block kernels ------------------------------------------------------------ */

/* Q4_K/Q5_K sub-block scales: get_scale_min_k4 for all 8 sub-blocks at once
 * with 32-bit masks; returns the 8 scales as int16 (in both 128-bit lanes)
 * and sets *mpart to 8 partial lanes of msum = sum_j m_j * (bsum_2j +
 * bsum_2j+1): each min twice against the 16 Q8_K sums, one vpmaddwd. */
WK_INLINE __m256i k4_scales_mins(const uint8_t *q, const int16_t *bsums, __m256i *mpart)
{
    uint32_t u0, u1, u2;
    memcpy(&u0, q, 4);
    memcpy(&u1, q + 4, 4);
    memcpy(&u2, q + 8, 4);
    uint64_t sc = (u0 & 0x3f3f3f3fu) |                                        /* scales 0-3 */
                  (uint64_t)((u2 & 0x0f0f0f0fu) | ((u0 >> 6) & 0x03030303u) << 4) << 32;
    uint64_t mn = (u1 & 0x3f3f3f3fu) |                                        /* mins 0-3 */
                  (uint64_t)(((u2 >> 4) & 0x0f0f0f0fu) | ((u1 >> 6) & 0x03030303u) << 4) << 32;
    __m128i v = _mm_set_epi64x((long long)mn, (long long)sc);
    __m256i m2 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(v, v));   /* m0 m0 m1 m1 .. m7 m7 */
    *mpart = _mm256_madd_epi16(m2, _mm256_loadu_si256((const __m256i *)bsums));
    return _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(v));
}

/* Bit k of every byte of h moved to bit 4, others cleared (16-bit shifts by
 * at most 4 left or 3 right keep each byte's bit within the byte). */
WK_INLINE __m256i bit_to_0x10(__m256i h, int k)
{
    __m256i v = k <= 4 ? _mm256_slli_epi16(h, 4 - k) : _mm256_srli_epi16(h, k - 4);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* One 64-value chunk c of a Q4_K/Q5_K block: low nibbles (sub-block 2c)
 * and high nibbles (2c+1), with the fifth bits from hb. */
WK_INLINE __m256i k45_chunk(__m256i acc, const uint8_t *qs, __m256i hb, int five, int c,
                            __m256i sc, const int8_t *a)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256i q = load256(qs + 32 * c);
    __m256i lo = _mm256_and_si256(q, m4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    if (five) {
        lo = _mm256_or_si256(lo, bit_to_0x10(hb, 2 * c));
        hi = _mm256_or_si256(hi, bit_to_0x10(hb, 2 * c + 1));
    }
    /* int16 scale 2c (bytes 4c, 4c+1 of sc) and 2c+1 in every int16 lane */
    __m256i s0 = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 * (4 * c + 1) + 4 * c)));
    __m256i s1 = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 * (4 * c + 3) + 4 * c + 2)));
    __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(a + 64 * c)), s0);
    __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(a + 64 * c + 32)), s1);
    return _mm256_add_epi32(acc, _mm256_add_epi32(p0, p1));
}

/* Q4_K (five 0) / Q5_K (five 1) block at x: 8 partial lanes of isum. */
WK_INLINE __m256i blk_k45(const uint8_t *x, int five, const wk_block_q8_K *y, __m256i *mpart)
{
    __m256i sc = k4_scales_mins(x + 4, y->bsums, mpart);
    const uint8_t *qs = x + 16 + (five ? 32 : 0);
    __m256i hb = five ? load256(x + 16) : _mm256_setzero_si256();
    __m256i acc = k45_chunk(_mm256_setzero_si256(), qs, hb, five, 0, sc, y->qs);
    acc = k45_chunk(acc, qs, hb, five, 1, sc, y->qs);
    acc = k45_chunk(acc, qs, hb, five, 2, sc, y->qs);
    return k45_chunk(acc, qs, hb, five, 3, sc, y->qs);
}

/* Q6_K, chunk c (32 values) of a half: scale 2c for the first 16 values,
 * 2c+1 for the others; sc holds the half's 8 scales (int16) in both 128-bit
 * lanes. */
WK_INLINE __m256i q6_chunk(__m256i acc, __m256i q, __m256i sc, int c, const int8_t *a)
{
    const long long lo = 0x0101010101010101LL * (4 * c) + 0x0100010001000100LL;
    const long long hi = 0x0101010101010101LL * (4 * c + 2) + 0x0100010001000100LL;
    __m256i s = _mm256_shuffle_epi8(sc, _mm256_set_epi64x(hi, hi, lo, lo));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a)), s));
}

WK_INLINE __m256i q6_half(__m256i acc, const uint8_t *ql, const uint8_t *qh, __m256i sc,
                          const int8_t *a)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    __m256i l0 = load256(ql), l1 = load256(ql + 32), h = load256(qh);
    /* bit pairs 0-1, 2-3, 4-5, 6-7 of h to bits 4-5 (16-bit shifts by 4 or 2
     * move them within their byte) */
    __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                 _mm256_and_si256(_mm256_slli_epi16(h, 4), m30));
    __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                 _mm256_and_si256(_mm256_slli_epi16(h, 2), m30));
    __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                 _mm256_and_si256(h, m30));
    __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                 _mm256_and_si256(_mm256_srli_epi16(h, 2), m30));
    acc = q6_chunk(acc, q0, sc, 0, a);
    acc = q6_chunk(acc, q1, sc, 1, a + 32);
    acc = q6_chunk(acc, q2, sc, 2, a + 64);
    return q6_chunk(acc, q3, sc, 3, a + 96);
}

/* Q6_K: unsigned codes 0..63 against the activations, each half-vector of 16
 * with its own int8 scale, minus 32 * sc_j * bsum_j: 8 partial lanes. */
WK_INLINE __m256i blk_q6_K(const wk_block_q6_K *x, const wk_block_q8_K *y)
{
    __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales));
    __m256i acc = _mm256_sub_epi32(_mm256_setzero_si256(),
                                   _mm256_slli_epi32(_mm256_madd_epi16(sc, load256(y->bsums)), 5));
    acc = q6_half(acc, x->ql, x->qh, _mm256_permute4x64_epi64(sc, 0x44), y->qs);
    return q6_half(acc, x->ql + 64, x->qh + 32, _mm256_permute4x64_epi64(sc, 0xee), y->qs + 128);
}

/* Q4_K (q5 = 0) / Q5_K (q5 = 1) integer sums of nb blocks of bsize bytes. */
WK_INLINE void isum_k45(const uint8_t *x, size_t bsize, int q5, const wk_block_q8_K *y, int64_t nb,
                        int32_t *isum, int32_t *msum)
{
    for (int64_t b = 0; b < nb; b++) {
        __m256i m;
        isum[b] = hsum_i32(blk_k45(x + (size_t)b * bsize, q5, y + b, &m));
        msum[b] = hsum_i32(m);
    }
}

WK_AVX2 void wk_isum_q4_K_avx2(const void *w, const void *a, int64_t nb, int32_t *isum,
                               int32_t *msum)
{
    isum_k45(w, sizeof(wk_block_q4_K), 0, a, nb, isum, msum);
}

WK_AVX2 void wk_isum_q5_K_avx2(const void *w, const void *a, int64_t nb, int32_t *isum,
                               int32_t *msum)
{
    isum_k45(w, sizeof(wk_block_q5_K), 1, a, nb, isum, msum);
}

WK_AVX2 void wk_isum_q6_K_avx2(const void *w, const void *a, int64_t nb, int32_t *isum,
                               int32_t *msum)
{
    const wk_block_q6_K *x = w;
    const wk_block_q8_K *y = a;
    for (int64_t b = 0; b < nb; b++) {
        isum[b] = hsum_i32(blk_q6_K(x + b, y + b));
        msum[b] = 0;
    }
}

/* ---- Q2_K, Q3_K, IQ4_NL, IQ4_XS block kernels ------------------------------------- */

/* Q2_K: the 2-bit codes of value 128n + 32j + l are bits 2j..2j+1 of
 * qs[32n + l], and sub-block (16 values) 8n + 2j + (l >= 16) has the 4-bit
 * scale of scales[] (low nibble; the min is the high nibble), so chunk j of
 * half n has scale 8n+2j in its low 128 bits, 8n+2j+1 in its high.  To save
 * shifts, chunks 1 and 3 keep their codes in bits 2..3 (code * 4: one 16-bit
 * shift by 4 per half instead of three) and chunks 0 and 2 take their scales
 * times 4 instead, so every product, and every partial lane, is 4 times the
 * true one (|4 * isum| < 2^23; vpmaddubsw sees codes <= 12: no saturation):
 * the row kernels shift the reduced sums right by 2 (Q2K_SHIFT), exactly.
 * The scales are picked as int16 straight from the 16 scale bytes by vpshufb
 * (index 0x80 zeroes the high byte).  msum = sum_j min_j * bsum_j: one
 * vpmaddwd of the 16 mins against the 16 Q8_K sums. */
#define Q2K_SHIFT 2

/* vpshufb index: int16 byte i in the low 128 bits, byte i+1 in the high. */
#define Q2K_PICK(i) \
    _mm256_set_epi64x(0x8000800080008000LL + 0x0001000100010001LL * ((i) + 1), \
                      0x8000800080008000LL + 0x0001000100010001LL * ((i) + 1), \
                      0x8000800080008000LL + 0x0001000100010001LL * (i), \
                      0x8000800080008000LL + 0x0001000100010001LL * (i))

/* One half n (128 values) of a Q2_K block: s1 the 16 scale bytes (in both
 * 128-bit lanes), s4 the same times 4. */
WK_INLINE __m256i q2_half(__m256i acc, const uint8_t *qs, __m256i s1, __m256i s4, int n,
                          const int8_t *a)
{
    const __m256i m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(12);
    __m256i q = load256(qs), t = _mm256_srli_epi16(q, 4);
    __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(q, m3), load256(a)),
                                   _mm256_shuffle_epi8(s4, Q2K_PICK(8 * n)));
    __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(q, m12), load256(a + 32)),
                                   _mm256_shuffle_epi8(s1, Q2K_PICK(8 * n + 2)));
    __m256i p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(t, m3), load256(a + 64)),
                                   _mm256_shuffle_epi8(s4, Q2K_PICK(8 * n + 4)));
    __m256i p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(t, m12), load256(a + 96)),
                                   _mm256_shuffle_epi8(s1, Q2K_PICK(8 * n + 6)));
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)));
}

/* 4 times the block's partial sums (see above); *mpart the min partial sums (true). */
WK_INLINE __m256i blk_q2_K(const wk_block_q2_K *x, const wk_block_q8_K *y, __m256i *mpart)
{
    const __m128i m4 = _mm_set1_epi8(0x0f);
    __m128i raw = _mm_loadu_si128((const __m128i *)x->scales);
    *mpart = _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4)),
                               load256(y->bsums));
    __m256i s1 = _mm256_and_si256(_mm256_broadcastsi128_si256(raw), _mm256_set1_epi8(0x0f));
    __m256i s4 = _mm256_slli_epi16(s1, 2);
    __m256i acc = q2_half(_mm256_setzero_si256(), x->qs, s1, s4, 0, y->qs);
    return q2_half(acc, x->qs + 32, s1, s4, 1, y->qs + 128);
}

/* Bit k of every byte of h moved to bit 2, others cleared (as bit_to_0x10). */
WK_INLINE __m256i bit_to_0x04(__m256i h, int k)
{
    __m256i v = k <= 2 ? _mm256_slli_epi16(h, 2 - k) : _mm256_srli_epi16(h, k - 2);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x04));
}

/* The 16 signed 6-bit scales of a Q3_K block as int16 (wk_q3_K_scales with
 * 32-bit masks: bytes j of the four words are scales j, 4+j, 8+j, 12+j). */
WK_INLINE __m256i q3_scales(const uint8_t *s12)
{
    uint32_t a0, a1, t;
    memcpy(&a0, s12, 4);
    memcpy(&a1, s12 + 4, 4);
    memcpy(&t, s12 + 8, 4);
    const uint32_t k1 = 0x03030303u, k2 = 0x0f0f0f0fu;
    uint32_t s0 = (a0 & k2) | ((t >> 0) & k1) << 4, s1 = (a1 & k2) | ((t >> 2) & k1) << 4;
    uint32_t s2 = ((a0 >> 4) & k2) | ((t >> 4) & k1) << 4, s3 = ((a1 >> 4) & k2) | ((t >> 6) & k1) << 4;
    __m128i v = _mm_setr_epi32((int)s0, (int)s1, (int)s2, (int)s3);
    return _mm256_sub_epi16(_mm256_cvtepu8_epi16(v), _mm256_set1_epi16(32));
}

/* Chunk j of a Q3_K half: 2-bit codes at bits 2j of q, the high bit k of h at bit 2. */
WK_INLINE __m256i q3_chunk(__m256i acc, __m256i q, __m256i h, int j, int k, __m256i s,
                           const int8_t *a)
{
    __m256i u = _mm256_and_si256(j ? _mm256_srli_epi16(q, 2 * j) : q, _mm256_set1_epi8(3));
    return q6_chunk(acc, _mm256_or_si256(u, bit_to_0x04(h, k)), s, j, a + 32 * j);
}

/* One half of a Q3_K block: k0 the hmask bit of its first chunk (0 or 4). */
WK_INLINE __m256i q3_half(__m256i acc, const uint8_t *qs, __m256i h, int k0, __m256i s,
                          const int8_t *a)
{
    __m256i q = load256(qs);
    acc = q3_chunk(acc, q, h, 0, k0, s, a);
    acc = q3_chunk(acc, q, h, 1, k0 + 1, s, a);
    acc = q3_chunk(acc, q, h, 2, k0 + 2, s, a);
    return q3_chunk(acc, q, h, 3, k0 + 3, s, a);
}

/* Q3_K: code q = u - 4 with u = 2-bit code | 4 * (hmask bit) in 0..7 (the
 * bit of value 128n + 32j + l is bit 4n + j of hmask[l]); sum_j sc_j * (u . a)
 * in q6_chunk's shape, minus 4 * sum_j sc_j * bsum_j. */
WK_INLINE __m256i blk_q3_K(const wk_block_q3_K *x, const wk_block_q8_K *y)
{
    __m256i sc = q3_scales(x->scales);
    __m256i acc = _mm256_sub_epi32(_mm256_setzero_si256(),
                                   _mm256_slli_epi32(_mm256_madd_epi16(sc, load256(y->bsums)), 2));
    __m256i h = load256(x->hmask);
    acc = q3_half(acc, x->qs, h, 0, _mm256_permute4x64_epi64(sc, 0x44), y->qs);
    return q3_half(acc, x->qs + 32, h, 4, _mm256_permute4x64_epi64(sc, 0xee), y->qs + 128);
}

/* The 16 levels of kvalues_iq4nl in both 128-bit lanes (pshufb table). */
WK_INLINE __m256i iq4nl_table(void)
{
    return _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
                            -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
}

/* IQ4_NL: the grid levels (|q| <= 127) of the 32 nibbles against the activations. */
WK_INLINE __m256i blk_iq4_nl(const wk_block_iq4_nl *x, const wk_block_q8_0 *y)
{
    return dot_s8_s8(_mm256_shuffle_epi8(iq4nl_table(), nibbles32(x->qs)), load256(y->qs));
}

/* IQ4_XS: per sub-block of 32 the grid levels against the activations, the
 * int16 pair sums (|.| <= 2 * 127 * 127) times the sub-block's scale - 32. */
WK_INLINE __m256i blk_iq4_xs(const wk_block_iq4_xs *x, const wk_block_q8_K *y)
{
    const __m256i tab = iq4nl_table();
    __m256i acc1 = _mm256_setzero_si256(), acc2 = _mm256_setzero_si256();
    uint32_t sh = x->scales_h;
    _Pragma("GCC unroll 4")
    for (int ib = 0; ib < 8; ib += 2, sh >>= 4) {   /* two sub-blocks, two accumulators */
        const int sl = x->scales_l[ib / 2];
        const int ls1 = ((sl & 0xf) | (int)((sh << 4) & 0x30)) - 32;
        const int ls2 = ((sl >> 4) | (int)((sh << 2) & 0x30)) - 32;
        __m256i q1 = _mm256_shuffle_epi8(tab, nibbles32(x->qs + 16 * ib));
        __m256i q2 = _mm256_shuffle_epi8(tab, nibbles32(x->qs + 16 * ib + 16));
        __m256i a1 = load256(y->qs + 32 * ib), a2 = load256(y->qs + 32 * ib + 32);
        __m256i p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(q1, q1), _mm256_sign_epi8(a1, q1));
        __m256i p2 = _mm256_maddubs_epi16(_mm256_sign_epi8(q2, q2), _mm256_sign_epi8(a2, q2));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p1, _mm256_set1_epi16((short)ls1)));
        acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(p2, _mm256_set1_epi16((short)ls2)));
    }
    return _mm256_add_epi32(acc1, acc2);
}

WK_AVX2 void wk_isum_q2_K_avx2(const void *w, const void *a, int64_t nb, int32_t *isum,
                               int32_t *msum)
{
    const wk_block_q2_K *x = w;
    const wk_block_q8_K *y = a;
    for (int64_t b = 0; b < nb; b++) {
        __m256i m;
        isum[b] = hsum_i32(blk_q2_K(x + b, y + b, &m)) / (1 << Q2K_SHIFT);   /* exact */
        msum[b] = hsum_i32(m);
    }
}

#define NOMIN_ISUM(T, ACT) \
    WK_AVX2 void wk_isum_##T##_avx2(const void *w, const void *a, int64_t nb, int32_t *isum, \
                                    int32_t *msum) \
    { \
        const wk_block_##T *x = w; \
        const ACT *y = a; \
        for (int64_t b = 0; b < nb; b++) { \
            isum[b] = hsum_i32(blk_##T(x + b, y + b)); \
            msum[b] = 0; \
        } \
    }
NOMIN_ISUM(q3_K, wk_block_q8_K)
NOMIN_ISUM(iq4_nl, wk_block_q8_0)
NOMIN_ISUM(iq4_xs, wk_block_q8_K)

/* ---- scales of 8 blocks -------------------------------------------------------------- */

WK_INLINE int u16at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return h;
}

/* The fp16 at p + i*stride, i = 0..7, as 8 floats (F16C: wk_f16_to_f32's
 * values).  Assembled in general registers: the vector ports are the busy ones. */
/* An empty asm that "changes" v: keeps the compiler from moving the
 * assembly of scale words below into vector registers (the point is to use
 * the otherwise idle scalar ports; a vpinsrw/gather sequence was slower). */
#define OPQ(v) __asm__("" : "+r"(v))

/* The fp16 at p + i*stride, i = 0..7, as 8 floats (F16C gives
 * wk_f16_to_f32's value for every input). */
WK_INLINE __m256 halves8(const uint8_t *p, int stride)
{
    uint64_t a0 = u16at(p), a1 = u16at(p + stride), a2 = u16at(p + 2 * stride), a3 = u16at(p + 3 * stride);
    uint64_t a4 = u16at(p + 4 * stride), a5 = u16at(p + 5 * stride), a6 = u16at(p + 6 * stride), a7 = u16at(p + 7 * stride);
    OPQ(a0); OPQ(a1); OPQ(a2); OPQ(a3); OPQ(a4); OPQ(a5); OPQ(a6); OPQ(a7);
    uint64_t lo = a0 | a1 << 16 | a2 << 32 | a3 << 48, hi = a4 | a5 << 16 | a6 << 32 | a7 << 48;
    OPQ(lo); OPQ(hi);
    return _mm256_cvtph_ps(_mm_set_epi64x((long long)hi, (long long)lo));
}
WK_INLINE uint64_t u32at(const uint8_t *p)
{
    uint32_t h;
    memcpy(&h, p, sizeof h);
    return h;
}

/* The (d, m) fp16 pairs at p + i*stride, i = 0..7, as 8 floats each. */
WK_INLINE void dm8(const uint8_t *p, int stride, __m256 *d, __m256 *m)
{
    uint64_t a0 = u32at(p), a1 = u32at(p + stride), a2 = u32at(p + 2 * stride), a3 = u32at(p + 3 * stride);
    uint64_t a4 = u32at(p + 4 * stride), a5 = u32at(p + 5 * stride), a6 = u32at(p + 6 * stride), a7 = u32at(p + 7 * stride);
    OPQ(a0); OPQ(a1); OPQ(a2); OPQ(a3); OPQ(a4); OPQ(a5); OPQ(a6); OPQ(a7);
    uint64_t q0 = a0 | a1 << 32, q1 = a2 | a3 << 32, q2 = a4 | a5 << 32, q3 = a6 | a7 << 32;
    OPQ(q0); OPQ(q1); OPQ(q2); OPQ(q3);
    __m256i v = _mm256_set_epi64x((long long)q3, (long long)q2, (long long)q1, (long long)q0);
    /* per 128 bits: d d d d m m m m, then qwords 0 2 1 3 */
    const __m256i pick = _mm256_set_epi64x(0x0f0e0b0a07060302LL, 0x0d0c090805040100LL,
                                           0x0f0e0b0a07060302LL, 0x0d0c090805040100LL);
    v = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, pick), 0xd8);
    *d = _mm256_cvtph_ps(_mm256_castsi256_si128(v));
    *m = _mm256_cvtph_ps(_mm256_extracti128_si256(v, 1));
}

/* The copies of the Q8_K scales after the nb blocks of a k-quant activation
 * row (wk_dot.h). */
WK_INLINE const float *q8K_dcopy(const void *a, int64_t nb)
{
    return (const float *)(const void *)((const uint8_t *)a + (size_t)nb * sizeof(wk_block_q8_K));
}

/* ---- rows ---------------------------------------------------------------------------- */

/* acc (lane j) += sw * (float)is + sm * (float)ms, as wk_dot_accumulate. */
WK_INLINE __m256 accumulate8(__m256 acc, __m256 sw, __m256i is, __m256 sm, __m256i ms,
                                         int hasmin)
{
    __m256 t = _mm256_mul_ps(sw, _mm256_cvtepi32_ps(is));
    /* Without a min u = 0 * 0 = +0, and acc + (t + +0) == acc + t: they differ
     * only if acc is -0, and acc starts at +0 and x + y is -0 only when both are. */
    if (!hasmin) return _mm256_add_ps(acc, t);
    __m256 u = _mm256_mul_ps(sm, _mm256_cvtepi32_ps(ms));
    return _mm256_add_ps(acc, _mm256_add_ps(t, u));
}

/* wk_dot_reduce in registers: ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)). */
WK_INLINE float reduce_lanes(__m256 acc)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* The last n (< 8) blocks in lanes 0.. by the scalar stage 2, then the
 * fixed reduction of the lanes. */
WK_KERNEL static float
tail(int type, __m256 acc, const uint8_t *x, const uint8_t *y, int64_t n)
{
    float accs[8];
    int32_t is[8], ms[8];
    float sw[8], sm[8];
    _mm256_storeu_ps(accs, acc);
    /* Legacy types only (the k-quants have KQUANT_TAIL): the reference (their
     * AVX2 kernels need the block sums stored after a whole row; a tail is at
     * most 7 x 32 values). */
    wk_dot_isums(type, 0, x, y, n, is, ms);
    wk_dot_scales(type, x, y, n, sw, sm);
    wk_dot_accumulate(accs, 0, n, is, ms, sw, sm);
    return wk_dot_reduce(accs);
}

WK_INLINE float finish(int type, __m256 acc, const uint8_t *x, const uint8_t *y, int64_t n)
{
    return n > 0 ? tail(type, acc, x, y, n) : reduce_lanes(acc);
}


/* is = the 8 block sums of blocks x[0..7] by block kernel F (lane j = block
 * j), reduced pairwise as they come (few live registers). */
#define BLK8(is, F, x, y) \
    do { \
        __m256i v0_ = F(x + 0, y + 0), v1_ = F(x + 1, y + 1); \
        __m256i t0_ = sum_pair32(v0_, v1_); \
        v0_ = F(x + 2, y + 2), v1_ = F(x + 3, y + 3); \
        __m256i t1_ = sum_pair32(v0_, v1_); \
        __m256i u0_ = _mm256_add_epi32(_mm256_unpacklo_epi64(t0_, t1_), _mm256_unpackhi_epi64(t0_, t1_)); \
        v0_ = F(x + 4, y + 4), v1_ = F(x + 5, y + 5); \
        t0_ = sum_pair32(v0_, v1_); \
        v0_ = F(x + 6, y + 6), v1_ = F(x + 7, y + 7); \
        t1_ = sum_pair32(v0_, v1_); \
        __m256i u1_ = _mm256_add_epi32(_mm256_unpacklo_epi64(t0_, t1_), _mm256_unpackhi_epi64(t0_, t1_)); \
        is = _mm256_add_epi32(_mm256_permute2x128_si256(u0_, u1_, 0x20), \
                              _mm256_permute2x128_si256(u0_, u1_, 0x31)); \
    } while (0)

/* Per-block float scales of 8 blocks at xb (stride bytes apart) times the
 * activation scales da: sw = d_w * d_a, and with a min (hasmin) sm = m_w * d_a,
 * else sm = 0.  For the legacy row kernels. */
WK_INLINE void scales8(const uint8_t *xb, int stride, __m256 da, int hasmin, __m256 *sw, __m256 *sm)
{
    if (hasmin) {
        __m256 dw, mw;
        dm8(xb, stride, &dw, &mw);
        *sw = _mm256_mul_ps(dw, da);
        *sm = _mm256_mul_ps(mw, da);
    } else {
        *sw = _mm256_mul_ps(halves8(xb, stride), da);
        *sm = _mm256_setzero_ps();
    }
}
/* One legacy type: OFF the code offset (removed as OFF * block sum), HASMIN
 * whether msum is the block sum. */
#define LEGACY_ROW(T, QT, OFF, HASMIN) \
    WK_KERNEL static float \
    row_##T(const void *w, const void *a, int64_t nb) \
    { \
        const wk_block_##T *x = w; \
        const wk_block_q8_0 *y = a; \
        const int16_t *sums = act_sums(a, nb); \
        __m256 acc = _mm256_setzero_ps(); \
        int64_t b = 0; \
        for (; b + 8 <= nb; b += 8) { \
            __m256i is, ms = _mm256_setzero_si256(); \
            BLK8(is, blk_##T, x + b, y + b); \
            if ((OFF) || (HASMIN)) \
                ms = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(sums + b))); \
            if (OFF) is = _mm256_sub_epi32(is, _mm256_slli_epi32(ms, (OFF) == 8 ? 3 : 4)); \
            const uint8_t *xb = (const uint8_t *)(x + b); \
            __m256 da = halves8((const uint8_t *)(y + b), (int)sizeof *y); \
            __m256 sw, sm; \
            scales8(xb, (int)sizeof *x, da, HASMIN, &sw, &sm); \
            acc = accumulate8(acc, sw, is, sm, ms, HASMIN); \
        } \
        return finish(QT, acc, (const uint8_t *)(x + b), (const uint8_t *)(y + b), \
                      nb - b); \
    }
LEGACY_ROW(q4_0, WK_GGML_Q4_0, 8, 0)
LEGACY_ROW(q4_1, WK_GGML_Q4_1, 0, 1)
LEGACY_ROW(q5_0, WK_GGML_Q5_0, 16, 0)
LEGACY_ROW(q5_1, WK_GGML_Q5_1, 0, 1)
LEGACY_ROW(q8_0, WK_GGML_Q8_0, 0, 0)
LEGACY_ROW(iq4_nl, WK_GGML_IQ4_NL, 0, 0)

/* k-quant block kernels in the BLK8 shape (msum as an int32 out-parameter). */
WK_INLINE __m256i blk_q4_K(const wk_block_q4_K *x, const wk_block_q8_K *y, __m256i *m)
{
    return blk_k45((const uint8_t *)x, 0, y, m);
}

WK_INLINE __m256i blk_q5_K(const wk_block_q5_K *x, const wk_block_q8_K *y, __m256i *m)
{
    return blk_k45((const uint8_t *)x, 1, y, m);
}

WK_INLINE __m256i blk_q6_Km(const wk_block_q6_K *x, const wk_block_q8_K *y, __m256i *m)
{
    (void)m;
    return blk_q6_K(x, y);
}

/* Horizontal sums of 4 vectors: lane j of the result = sum of the lanes of vj. */
WK_INLINE __m128i reduce4(int unpk, __m256i v0, __m256i v1, __m256i v2, __m256i v3)
{
    __m256i u = sum_quad(unpk, v0, v1, v2, v3);
    return _mm_add_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
}

/* A tail of 1..4 blocks of a k-quant row, on 4 lanes: the m super-blocks
 * at x, y (activation scale copies at da) go to lanes 0..m-1 of acc
 * (block b + j of a row whose b is a multiple of 8 is wk_dot_accumulate's
 * lane j): the same integer and float operations, lane by lane, as the
 * 8-block step, on 128-bit vectors whose missing blocks have zero sums and
 * scales; lanes >= m keep acc unchanged (a blend, not an add: acc + +0 would
 * turn a -0 lane into +0).  Half of the 8-block step's reduction and scale
 * assembly, no arrays: a tail of 2-4 blocks (5120, 6656, 11008 columns) no
 * longer pays a whole group's float stage (for 5..7 blocks two 4-lane steps
 * measured slower than ktail8's one 8-lane step). */
#define KQUANT_TAIL(T, BLK, HASMIN, DOFF, ISH, UNPK) \
    WK_KERNEL static __m256 \
    ktail_##T(__m256 acc, const wk_block_##T *x, const wk_block_q8_K *y, const float *da, int m) \
    { \
        const __m256i z = _mm256_setzero_si256(); \
        __m256i v1 = z, v2 = z, v3 = z, m0 = z, m1 = z, m2 = z, m3 = z; \
        const uint8_t *xb = (const uint8_t *)x + (DOFF); \
        uint64_t dh = (uint64_t)u16at(xb), mh = HASMIN ? (uint64_t)u16at(xb + 2) : 0; \
        __m256i v0 = BLK(x, y, &m0); \
        if (m > 1) { \
            v1 = BLK(x + 1, y + 1, &m1); \
            dh |= (uint64_t)u16at(xb + sizeof *x) << 16; \
            if (HASMIN) mh |= (uint64_t)u16at(xb + sizeof *x + 2) << 16; \
        } \
        if (m > 2) { \
            v2 = BLK(x + 2, y + 2, &m2); \
            dh |= (uint64_t)u16at(xb + 2 * sizeof *x) << 32; \
            if (HASMIN) mh |= (uint64_t)u16at(xb + 2 * sizeof *x + 2) << 32; \
        } \
        if (m > 3) { \
            v3 = BLK(x + 3, y + 3, &m3); \
            dh |= (uint64_t)u16at(xb + 3 * sizeof *x) << 48; \
            if (HASMIN) mh |= (uint64_t)u16at(xb + 3 * sizeof *x + 2) << 48; \
        } \
        const __m128i in = _mm_cmpgt_epi32(_mm_set1_epi32(m), _mm_setr_epi32(0, 1, 2, 3)); \
        __m128 vda = _mm_maskload_ps(da, in);   /* missing lanes 0, never read */ \
        __m128 part = _mm256_castps256_ps128(acc); \
        __m128 t = _mm_mul_ps(_mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128((long long)dh)), vda), \
                              _mm_cvtepi32_ps(_mm_srai_epi32(reduce4(UNPK, v0, v1, v2, v3), ISH))); \
        if (HASMIN) { \
            __m128 sm = _mm_xor_ps(_mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128((long long)mh)), vda), \
                                   _mm_set1_ps(-0.0f)); \
            t = _mm_add_ps(t, _mm_mul_ps(sm, _mm_cvtepi32_ps(reduce4(UNPK, m0, m1, m2, m3)))); \
        } \
        part = _mm_blendv_ps(part, _mm_add_ps(part, t), _mm_castsi128_ps(in)); \
        return _mm256_insertf128_ps(acc, part, 0); \
    }

/* A tail of 5..7 blocks: the 8-block step on 8 lanes whose missing blocks
 * have zero sums and scales (measured faster than two 4-lane steps). */
#define KQUANT_TAIL8(T, BLK, HASMIN, DOFF, ISH, UNPK) \
    WK_KERNEL static __m256 \
    ktail8_##T(__m256 acc, const wk_block_##T *x, const wk_block_q8_K *y, const float *da, int n) \
    { \
        const __m256i z = _mm256_setzero_si256(); \
        __m256i m[8] = { z, z, z, z, z, z, z, z }, v[8] = { z, z, z, z, z, z, z, z }; \
        uint16_t dh[8] = { 0 }, mh[8] = { 0 }; \
        for (int j = 0; j < n; j++) { \
            v[j] = BLK(x + j, y + j, &m[j]); \
            memcpy(&dh[j], (const uint8_t *)(x + j) + (DOFF), sizeof dh[j]); \
            if (HASMIN) memcpy(&mh[j], (const uint8_t *)(x + j) + (DOFF) + 2, sizeof mh[j]); \
        } \
        const __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), \
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); \
        __m256i is = _mm256_srai_epi32(reduce8(UNPK, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]), ISH); \
        __m256 vda = _mm256_maskload_ps(da, in);   /* missing lanes 0, never read */ \
        __m256 sw = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)dh)), vda); \
        __m256 sm = _mm256_setzero_ps(); \
        __m256i ms = z; \
        if (HASMIN) { \
            __m256 mw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)mh)); \
            sm = _mm256_xor_ps(_mm256_mul_ps(mw, vda), _mm256_set1_ps(-0.0f)); \
            ms = reduce8(UNPK, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]); \
        } \
        return _mm256_blendv_ps(acc, accumulate8(acc, sw, is, sm, ms, HASMIN), _mm256_castsi256_ps(in)); \
    }

/* DOFF: offset of d in the block (dmin follows it); ISH: the reduced block sums are shifted
 * right by ISH (q2_k: Q2K_SHIFT); UNPK: reductions by unpacks (reduce8). */
#define KQUANT_ROW(T, QT, BLK, HASMIN, DOFF, ISH, UNPK) \
    KQUANT_TAIL(T, BLK, HASMIN, DOFF, ISH, UNPK) \
    KQUANT_TAIL8(T, BLK, HASMIN, DOFF, ISH, UNPK) \
    WK_KERNEL static float \
    row_##T(const void *w, const void *a, int64_t nb) \
    { \
        const wk_block_##T *x = w; \
        const wk_block_q8_K *y = a; \
        const float *dcopy = q8K_dcopy(a, nb); \
        __m256 acc = _mm256_setzero_ps(); \
        int64_t b = 0; \
        for (; b + 8 <= nb; b += 8) { \
            __m256i m[8]; \
            __m256i v[8]; \
            for (int j = 0; j < 8; j++) v[j] = BLK(x + b + j, y + b + j, &m[j]); \
            __m256i is = _mm256_srai_epi32(reduce8(UNPK, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]), ISH); \
            const uint8_t *xb = (const uint8_t *)(x + b) + (DOFF); \
            __m256 da = _mm256_loadu_ps(dcopy + b); \
            __m256 sw, sm = _mm256_setzero_ps(); \
            __m256i ms = _mm256_setzero_si256(); \
            /* written out, not scales8(): q4_k measured ~14 % slower with it (gcc 12) */ \
            if (HASMIN) { \
                __m256 dw, mw; \
                dm8(xb, (int)sizeof *x, &dw, &mw); \
                sw = _mm256_mul_ps(dw, da); \
                sm = _mm256_xor_ps(_mm256_mul_ps(mw, da), _mm256_set1_ps(-0.0f)); \
                ms = reduce8(UNPK, m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]); \
            } else { \
                sw = _mm256_mul_ps(halves8(xb, (int)sizeof *x), da); \
            } \
            acc = accumulate8(acc, sw, is, sm, ms, HASMIN); \
        } \
        (void)(QT); \
        if (b < nb) { \
            const int n = (int)(nb - b); \
            if (n <= 4) acc = ktail_##T(acc, x + b, y + b, dcopy + b, n); \
            else acc = ktail8_##T(acc, x + b, y + b, dcopy + b, n); \
        } \
        return reduce_lanes(acc); \
    }
KQUANT_ROW(q4_K, WK_GGML_Q4_K, blk_q4_K, 1, 0, 0, 0)
KQUANT_ROW(q5_K, WK_GGML_Q5_K, blk_q5_K, 1, 0, 0, 0)
KQUANT_ROW(q6_K, WK_GGML_Q6_K, blk_q6_Km, 0, offsetof(wk_block_q6_K, d), 0, 0)

WK_INLINE __m256i blk_q3_Km(const wk_block_q3_K *x, const wk_block_q8_K *y, __m256i *m)
{
    (void)m;
    return blk_q3_K(x, y);
}

WK_INLINE __m256i blk_iq4_xsm(const wk_block_iq4_xs *x, const wk_block_q8_K *y, __m256i *m)
{
    (void)m;
    return blk_iq4_xs(x, y);
}

KQUANT_ROW(q2_K, WK_GGML_Q2_K, blk_q2_K, 1, offsetof(wk_block_q2_K, d), Q2K_SHIFT, 1)
KQUANT_ROW(q3_K, WK_GGML_Q3_K, blk_q3_Km, 0, offsetof(wk_block_q3_K, d), 0, 0)
KQUANT_ROW(iq4_xs, WK_GGML_IQ4_XS, blk_iq4_xsm, 0, 0, 0, 0)

/* wk_dot_row's AVX2 path. */
WK_AVX2 float wk_dot_row_avx2(int type, const void *w, const void *a, int64_t k)
{
    switch (type) {   /* block sizes are the core table's (checked by test_quant) */
    case WK_GGML_Q4_0: return row_q4_0(w, a, k / WK_QK);
    case WK_GGML_Q4_1: return row_q4_1(w, a, k / WK_QK);
    case WK_GGML_Q5_0: return row_q5_0(w, a, k / WK_QK);
    case WK_GGML_Q5_1: return row_q5_1(w, a, k / WK_QK);
    case WK_GGML_Q8_0: return row_q8_0(w, a, k / WK_QK);
    case WK_GGML_Q4_K: return row_q4_K(w, a, k / WK_QK_K);
    case WK_GGML_Q5_K: return row_q5_K(w, a, k / WK_QK_K);
    case WK_GGML_Q6_K: return row_q6_K(w, a, k / WK_QK_K);
    case WK_GGML_Q2_K: return row_q2_K(w, a, k / WK_QK_K);
    case WK_GGML_Q3_K: return row_q3_K(w, a, k / WK_QK_K);
    case WK_GGML_IQ4_NL: return row_iq4_nl(w, a, k / WK_QK);
    case WK_GGML_IQ4_XS: return row_iq4_xs(w, a, k / WK_QK_K);
    default: return wk_dot_row(type, 0, w, a, k);
    }
}

#endif
