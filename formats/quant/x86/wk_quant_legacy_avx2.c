/* wk_quant_legacy_avx2.c — the AVX2/F16C quantizers of the legacy types
 * (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0), eight blocks at a time, with the row driver's
 * per-row work fused into the same pass (issue #23): the NaN/Inf check, the
 * fp16 scale check, and optionally the error statistics (wk_qstats.h).
 *
 * Same bytes as the scalar references (wk_quant_ref.c, = ggml's
 * quantize_row_*_ref) for every NaN-free input:
 *  - a group of 8 blocks is read once for its statistics: per block the
 *    lane-wise min and max of its 4 vectors, then an 8x8 transposing
 *    reduction leaves block b's min / max in lane b.  min and max are exact
 *    for NaN-free input; which of +0 / -0 they return is not the scalar
 *    scan's, so the blocks where that matters are redone by the scalar scan
 *    (Q4_1/Q5_1: min == 0; Q4_0/Q5_0: max == -min, where the sign of the
 *    value with the largest |x| depends on which comes first);
 *  - d, id = d ? 1/d : 0 and the fp16 conversions of d and min are the
 *    scalar code's IEEE operations, lane b for block b (vdivps is correctly
 *    rounded like divss; vcvtps2ph with round-to-nearest-even equals
 *    wk_f32_to_f16 for every non-NaN float, NaN lanes are patched to
 *    sign | 0x7E00 as wk_f32_to_f16 gives);
 *  - the per-value steps are the reference's lane by lane (mul, then add:
 *    no FMA, the target is WK_TARGET_AVX2; cvttps2dq gives INT32_MIN for
 *    NaN/out-of-range lanes, what wk_q_trunc_i32 emulates).
 * Statistics: the dequantized value is formed in registers from the integer
 * lanes exactly as the dequantizer forms it from the stored bytes (the same
 * nibble / bit extraction, int -> float, * d (+ m) with d and m the fp16
 * fields converted back by F16C), and the float terms go to the 32 float
 * lanes of rule 1.3 (wk_qstats.h): a group of 8 blocks is one group of 256
 * values, vector i of a block holds lanes 8i..8i+7 (4 vectors per sum),
 * flushed to the row's 8 double lanes after each group.  A row whose float
 * sums need the fallback (wk_qstats_need_exact) is summed again by the exact
 * rule from x and the stored blocks.
 * Built for the baseline ISA with `target` attributes; callers check
 * wk_quant_have_simd() first. */
#include "wk_quant.h"
#include "wk_quant_impl.h"
#include "wk_qstats.h"
#include "wk_qstats_avx2.h"
#include "wk_cpu.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define WK_AVX2 WK_TARGET_AVX2
#define WK_INL WK_TARGET_AVX2 __attribute__((always_inline)) static inline

/* Small fixed loops over the 4 vectors of a block: unrolled, so that the
 * vectors stay in registers (GCC -O2 otherwise copies them through the stack). */
#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL _Pragma("GCC unroll 8")
#else
#define UNROLL
#endif

enum { MODE_PLAIN, MODE_CHECK, MODE_STATS };   /* what a row call does besides quantizing */

/* ---- the 8-block statistics ---------------------------------------------------- */

/* Lane b of the result = op over the 8 lanes of v[b] (op min or max). */
#define REDUCE8(OP, v, out)                                                                  \
    do {                                                                                     \
        __m256 r_[4], s_[2];                                                                 \
        for (int p_ = 0; p_ < 4; p_++)                                                       \
            r_[p_] = OP(_mm256_unpacklo_ps(v[2 * p_], v[2 * p_ + 1]),                        \
                        _mm256_unpackhi_ps(v[2 * p_], v[2 * p_ + 1]));                       \
        for (int p_ = 0; p_ < 2; p_++)                                                       \
            s_[p_] = OP(_mm256_shuffle_ps(r_[2 * p_], r_[2 * p_ + 1], 0x44),                 \
                        _mm256_shuffle_ps(r_[2 * p_], r_[2 * p_ + 1], 0xEE));                \
        (out) = OP(_mm256_permute2f128_ps(s_[0], s_[1], 0x20),                               \
                   _mm256_permute2f128_ps(s_[0], s_[1], 0x31));                              \
    } while (0)

/* f32 -> f16 bits, 8 lanes, = wk_f32_to_f16 lane by lane (NaN: sign | 0x7E00). */
WK_INL __m128i f16x8(__m256 x)
{
    __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT);
    __m256i sign = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(x), 16),
                                    _mm256_set1_epi32(0x8000));
    __m256i qn = _mm256_or_si256(sign, _mm256_set1_epi32(0x7e00));
    __m128i qnan = _mm_packus_epi32(_mm256_castsi256_si128(qn), _mm256_extracti128_si256(qn, 1));
    __m256i isnan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    __m128i mask = _mm_packs_epi32(_mm256_castsi256_si128(isnan), _mm256_extracti128_si256(isnan, 1));
    return _mm_blendv_epi8(h, qnan, mask);
}

/* Lanes whose fp16 value is Inf or NaN, as a bit mask (ggml_validate_row_data). */
WK_INL unsigned bad_f16(__m128i h)
{
    __m128i e = _mm_and_si128(h, _mm_set1_epi16(0x7c00));
    __m128i m = _mm_cmpeq_epi16(e, _mm_set1_epi16(0x7c00));
    return (unsigned)_mm_movemask_epi8(_mm_packs_epi16(m, _mm_setzero_si128())) & 0xffu;
}

/* The per-block values phase 2 needs, lane b for block b. */
typedef struct {
    float id[8], min[8];        /* 1/d (0 if d == 0); the min (Q4_1/Q5_1) */
    float dd[8], dm[8];         /* d and m as the dequantizer reads them back */
    uint16_t d16[8], m16[8];
} group;

/* The scalar scans for the blocks where the sign of a zero decides. */
WK_AVX2 static void minmax_scalar(const float *x, float *mn, float *mx)
{
    float min = 3.402823466e+38f, max = -3.402823466e+38f;
    for (int j = 0; j < WK_QK; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    *mn = min;
    *mx = max;
}

WK_AVX2 static float absmax_signed_scalar(const float *x)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < WK_QK; j++)
        if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
    return max;
}

/* Phase 1: nb (1..8) blocks at x -> g; returns the mask of blocks whose fp16
 * scale (d, and m for Q4_1/Q5_1) is Inf/NaN.  MODE_CHECK: *nf gets OR-ed
 * with x - x (+0 bits for finite x, NaN otherwise). */
WK_INL unsigned group_scales(int type, int mode, const float *x, int nb, group *g, __m256 *nf)
{
    __m256 mn[8], mx[8];
    UNROLL
    for (int b = 0; b < 8; b++) {
        if (b >= nb) { mn[b] = mx[b] = _mm256_setzero_ps(); continue; }
        const float *p = x + WK_QK * b;
        __m256 v0 = _mm256_loadu_ps(p), v1 = _mm256_loadu_ps(p + 8);
        __m256 v2 = _mm256_loadu_ps(p + 16), v3 = _mm256_loadu_ps(p + 24);
        mn[b] = _mm256_min_ps(_mm256_min_ps(v0, v1), _mm256_min_ps(v2, v3));
        mx[b] = _mm256_max_ps(_mm256_max_ps(v0, v1), _mm256_max_ps(v2, v3));
        if (mode == MODE_CHECK)
            *nf = _mm256_or_ps(*nf, _mm256_or_ps(_mm256_or_ps(_mm256_sub_ps(v0, v0), _mm256_sub_ps(v1, v1)),
                                                 _mm256_or_ps(_mm256_sub_ps(v2, v2), _mm256_sub_ps(v3, v3))));
    }
    __m256 MN, MX;
    REDUCE8(_mm256_min_ps, mn, MN);
    REDUCE8(_mm256_max_ps, mx, MX);
    const unsigned live = (1u << nb) - 1;
    const __m256 zero = _mm256_setzero_ps();
    const int asym = type == WK_GGML_Q4_1 || type == WK_GGML_Q5_1;
    __m256 d;
    if (asym) {
        unsigned fix = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(MN, zero, _CMP_EQ_OQ)) & live;
        if (fix) {                      /* min is a zero: its sign is the scan's */
            float a[8], b8[8];
            _mm256_storeu_ps(a, MN);
            _mm256_storeu_ps(b8, MX);
            for (int b = 0; b < nb; b++)
                if (fix >> b & 1) minmax_scalar(x + WK_QK * b, &a[b], &b8[b]);
            MN = _mm256_loadu_ps(a);
            MX = _mm256_loadu_ps(b8);
        }
        d = _mm256_div_ps(_mm256_sub_ps(MX, MN), _mm256_set1_ps(type == WK_GGML_Q4_1 ? 15.0f : 31.0f));
        _mm256_storeu_ps(g->min, MN);
    } else if (type == WK_GGML_Q8_0) {
        /* max |x| = max(max, -min); the abs makes an all-zero block +0 as the scan */
        __m256 amax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f),
                                       _mm256_max_ps(MX, _mm256_xor_ps(MN, _mm256_set1_ps(-0.0f))));
        d = _mm256_div_ps(amax, _mm256_set1_ps(127.0f));
    } else {
        /* the value with the largest |x|: max, or min when -min > max; a tie
         * (max == -min, zeros included) is resolved by the scan */
        __m256 nmn = _mm256_xor_ps(MN, _mm256_set1_ps(-0.0f));
        __m256 m = _mm256_blendv_ps(MX, MN, _mm256_cmp_ps(nmn, MX, _CMP_GT_OQ));
        unsigned fix = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(MX, nmn, _CMP_EQ_OQ)) & live;
        if (fix) {
            float a[8];
            _mm256_storeu_ps(a, m);
            for (int b = 0; b < nb; b++)
                if (fix >> b & 1) a[b] = absmax_signed_scalar(x + WK_QK * b);
            m = _mm256_loadu_ps(a);
        }
        d = _mm256_div_ps(m, _mm256_set1_ps(type == WK_GGML_Q4_0 ? -8.0f : -16.0f));
    }
    /* id = d ? 1/d : 0 (NaN counts as true) */
    __m256 id = _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), d), _mm256_cmp_ps(d, zero, _CMP_NEQ_UQ));
    _mm256_storeu_ps(g->id, id);
    __m128i d16 = f16x8(d);
    _mm_storeu_si128((__m128i *)g->d16, d16);
    _mm256_storeu_ps(g->dd, _mm256_cvtph_ps(d16));
    unsigned bad = bad_f16(d16);
    if (asym) {
        __m128i m16 = f16x8(_mm256_loadu_ps(g->min));
        _mm_storeu_si128((__m128i *)g->m16, m16);
        _mm256_storeu_ps(g->dm, _mm256_cvtph_ps(m16));
        bad |= bad_f16(m16);
    }
    return bad & live;
}

/* ---- phase 2: one block --------------------------------------------------------- */

/* (int8_t) truncation as x86 (low byte of cvttps2dq), sign-extended to 32 bits. */
WK_INL __m256i trunc_i8(__m256 v)
{
    return _mm256_srai_epi32(_mm256_slli_epi32(_mm256_cvttps_epi32(v), 24), 24);
}

/* (uint8_t)MIN(m, (int8_t)v) in 32-bit lanes. */
WK_INL __m256i trunc_min_u8(__m256 v, int m)
{
    return _mm256_and_si256(_mm256_min_epi32(trunc_i8(v), _mm256_set1_epi32(m)), _mm256_set1_epi32(0xff));
}

/* Sixteen 32-bit lanes holding 0..255 (lo: bytes 0..7, hi: 8..15) -> 16 bytes. */
WK_INL __m128i pack16_u8(__m256i lo, __m256i hi)
{
    __m256i w = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xD8);
    return _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
}

/* Q4: byte j = q[j] | q[j+16] << 4 (q[0..1]: values 0..15, q[2..3]: 16..31). */
WK_INL __m128i pack_nibbles(const __m256i q[4])
{
    __m256i ff = _mm256_set1_epi32(0xff);
    __m256i lo = _mm256_and_si256(_mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4)), ff);
    __m256i hi = _mm256_and_si256(_mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4)), ff);
    return pack16_u8(lo, hi);
}

/* Q5: low nibbles into qs as above, bit 4 of each value into the qh word. */
WK_INL __m128i pack_q5(const __m256i q[4], uint32_t *qh)
{
    __m256i f = _mm256_set1_epi32(0x0f), n[4];
    uint32_t h = 0;
    UNROLL
    for (int i = 0; i < 4; i++) {
        n[i] = _mm256_and_si256(q[i], f);
        h |= (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(q[i], 27))) << (8 * i);
    }
    *qh = h;
    return pack_nibbles(n);
}

/* C roundf (halves away from zero), as wk_quant_avx2.c's Q8_0 had it. */
WK_INL __m256 roundf8(__m256 v)
{
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
    __m256 step = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), _mm256_set1_ps(1.0f));
    __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    return _mm256_add_ps(t, _mm256_or_ps(step, sign));
}

/* The integer each value's stored bits decode to (before "- offset"): from
 * the lanes q exactly as the dequantizer extracts it from the bytes. */
WK_INL void stored_ints(int type, const __m256i q[4], __m256i s[4])
{
    const __m256i f = _mm256_set1_epi32(0x0f);
    switch (type) {
    case WK_GGML_Q4_0:
    case WK_GGML_Q4_1:          /* byte j = (q[j] | q[j+16] << 4) & 0xff */
        s[0] = _mm256_and_si256(q[0], f);
        s[1] = _mm256_and_si256(q[1], f);
        s[2] = _mm256_and_si256(_mm256_or_si256(_mm256_srli_epi32(q[0], 4), q[2]), f);
        s[3] = _mm256_and_si256(_mm256_or_si256(_mm256_srli_epi32(q[1], 4), q[3]), f);
        return;
    case WK_GGML_Q5_0:
    case WK_GGML_Q5_1:          /* low nibble and bit 4 of each value */
        UNROLL
        for (int i = 0; i < 4; i++) s[i] = _mm256_and_si256(q[i], _mm256_set1_epi32(0x1f));
        return;
    default:                    /* Q8_0: the int8 byte */
        UNROLL
        for (int i = 0; i < 4; i++) s[i] = _mm256_srai_epi32(_mm256_slli_epi32(q[i], 24), 24);
        return;
    }
}

/* Add the float terms (x - y)^2 to *e and x^2 to *s (8 lanes: x the values). */
WK_INL void stats8(__m256 x, __m256 y, __m256 *e, __m256 *s)
{
    const __m256 d = _mm256_sub_ps(x, y);
    *e = _mm256_add_ps(*e, _mm256_mul_ps(d, d));
    *s = _mm256_add_ps(*s, _mm256_mul_ps(x, x));
}

/* Block b of group g: quantize x[0..32) into out; MODE_STATS: the terms into
 * the float lanes e[4] (error) and s[4] (x^2), value 8i + l to lane l of e[i], s[i]. */
WK_INL void block_put(int type, int mode, const float *x, const group *g, int b, uint8_t *out,
                      __m256 e[4], __m256 s[4])
{
    __m256 v[4];
    __m256i q[4];
    UNROLL
    for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(x + 8 * i);
    const __m256 vid = _mm256_set1_ps(g->id[b]);
    switch (type) {
    case WK_GGML_Q4_0:
    case WK_GGML_Q5_0: {
        const __m256 off = _mm256_set1_ps(type == WK_GGML_Q4_0 ? 8.5f : 16.5f);
        UNROLL
        for (int i = 0; i < 4; i++)
            q[i] = trunc_min_u8(_mm256_add_ps(_mm256_mul_ps(v[i], vid), off), type == WK_GGML_Q4_0 ? 15 : 31);
        break;
    }
    case WK_GGML_Q4_1:
    case WK_GGML_Q5_1: {
        const __m256 vmin = _mm256_set1_ps(g->min[b]), half = _mm256_set1_ps(0.5f);
        UNROLL
        for (int i = 0; i < 4; i++) {
            __m256 t = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(v[i], vmin), vid), half);
            q[i] = type == WK_GGML_Q4_1 ? trunc_min_u8(t, 15)   /* Q5_1: no clamp, the low byte */
                                        : _mm256_and_si256(_mm256_cvttps_epi32(t), _mm256_set1_epi32(0xff));
        }
        break;
    }
    default:
        UNROLL
        for (int i = 0; i < 4; i++)
            q[i] = _mm256_and_si256(_mm256_cvttps_epi32(roundf8(_mm256_mul_ps(v[i], vid))),
                                    _mm256_set1_epi32(0xff));
        break;
    }
    /* the block */
    switch (type) {
    case WK_GGML_Q4_0:
        memcpy(out, &g->d16[b], 2);
        _mm_storeu_si128((__m128i *)(void *)(out + 2), pack_nibbles(q));
        break;
    case WK_GGML_Q4_1:
        memcpy(out, &g->d16[b], 2);
        memcpy(out + 2, &g->m16[b], 2);
        _mm_storeu_si128((__m128i *)(void *)(out + 4), pack_nibbles(q));
        break;
    case WK_GGML_Q5_0:
    case WK_GGML_Q5_1: {
        const size_t o = type == WK_GGML_Q5_0 ? 2 : 4;
        uint32_t qh;
        __m128i qs = pack_q5(q, &qh);
        memcpy(out, &g->d16[b], 2);
        if (o == 4) memcpy(out + 2, &g->m16[b], 2);
        memcpy(out + o, &qh, 4);
        _mm_storeu_si128((__m128i *)(void *)(out + o + 4), qs);
        break;
    }
    default: {
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        __m256i w = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
        memcpy(out, &g->d16[b], 2);
        _mm256_storeu_si256((__m256i *)(void *)(out + 2), _mm256_permutevar8x32_epi32(w, order));
        break;
    }
    }
    if (mode != MODE_STATS) return;
    __m256i si[4];
    stored_ints(type, q, si);
    const int asym = type == WK_GGML_Q4_1 || type == WK_GGML_Q5_1;
    const __m256 dd = _mm256_set1_ps(g->dd[b]), dm = asym ? _mm256_set1_ps(g->dm[b]) : dd;
    const int sub = type == WK_GGML_Q4_0 ? 8 : type == WK_GGML_Q5_0 ? 16 : 0;
    UNROLL
    for (int i = 0; i < 4; i++) {
        __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(si[i], _mm256_set1_epi32(sub))), dd);
        if (asym) y = _mm256_add_ps(y, dm);
        stats8(v[i], y, &e[i], &s[i]);
    }
}

/* ---- rows ------------------------------------------------------------------------ */

/* MODE_STATS, the row's end: the float sums (e, s) into st, or, when they
 * need the fallback, the exact ones from x and the stored blocks y; -2 if a
 * value is not finite (the exact X is not), else bad. */
WK_AVX2 static int64_t row_stats(int type, const float *x, const void *y, int64_t k, const __m256d Le[2],
                                 const __m256d Lx[2], double *st, int64_t bad)
{
    st[0] = wk_qstats_tree_avx2(Le);
    st[1] = wk_qstats_tree_avx2(Lx);
    if (!wk_qstats_need_exact(st[0], st[1])) return bad;
    st[1] = wk_qstats_exact_sq(x, k);
    if (!isfinite(st[1])) return -2;
    st[0] = wk_qstats_exact_err(type, x, y, k);
    return bad;
}

/* One row of k values (a multiple of 32).  Returns -1, the first block whose
 * scale is Inf/NaN, or (MODE_CHECK, MODE_STATS) -2 when a value is not
 * finite (that takes precedence).  MODE_STATS: st[0] = E, st[1] = X of the
 * row by rule 1.3 (wk_qstats_row_q, same bits). */
WK_INL int64_t legacy_row(int type, int mode, const float *x, void *vy, int64_t k, double *st)
{
    const size_t bs = wk_ggml_type_get(type)->size;
    const int64_t nblk = k / WK_QK;
    uint8_t *y = vy;
    __m256 nf = _mm256_setzero_ps();
    __m256 e[4], s[4];
    __m256d Le[2] = { _mm256_setzero_pd(), _mm256_setzero_pd() }, Lx[2] = { Le[0], Le[1] };
    UNROLL
    for (int i = 0; i < 4; i++) e[i] = s[i] = _mm256_setzero_ps();
    int64_t bad = -1;
    for (int64_t g0 = 0; g0 < nblk; g0 += 8) {   /* a group of 8 blocks: 256 values */
        const int nb = nblk - g0 < 8 ? (int)(nblk - g0) : 8;
        const float *xg = x + g0 * WK_QK;
        group g;
        unsigned badm = group_scales(type, mode, xg, nb, &g, &nf);
        if (badm && bad < 0) bad = g0 + __builtin_ctz(badm);
        for (int b = 0; b < nb; b++)
            block_put(type, mode, xg + WK_QK * b, &g, b, y + (size_t)(g0 + b) * bs, e, s);
        if (mode == MODE_STATS) {
            wk_qstats_flush_avx2(e, Le);
            wk_qstats_flush_avx2(s, Lx);
        }
    }
    if (mode == MODE_STATS) return row_stats(type, x, vy, k, Le, Lx, st, bad);
    if (mode == MODE_CHECK && !_mm256_testz_si256(_mm256_castps_si256(nf), _mm256_castps_si256(nf)))
        return -2;
    return bad;
}

#define LEGACY(T, ID)                                                                           \
    WK_AVX2 void wk_quantize_row_##T##_avx2(const float *x, void *y, int64_t k)                 \
    {                                                                                           \
        (void)legacy_row(ID, MODE_PLAIN, x, y, k, NULL);                                        \
    }                                                                                           \
    WK_AVX2 int64_t wk_quantize_row_##T##_fused_avx2(const float *x, void *y, int64_t k,        \
                                                     double *st)                                \
    {                                                                                           \
        return st ? legacy_row(ID, MODE_STATS, x, y, k, st) : legacy_row(ID, MODE_CHECK, x, y, k, NULL); \
    }
LEGACY(q4_0, WK_GGML_Q4_0)
LEGACY(q4_1, WK_GGML_Q4_1)
LEGACY(q5_0, WK_GGML_Q5_0)
LEGACY(q5_1, WK_GGML_Q5_1)
LEGACY(q8_0, WK_GGML_Q8_0)

#endif /* x86 */
