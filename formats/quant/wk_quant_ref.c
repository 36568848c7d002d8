/* wk_quant_ref.c — scalar reference quantizers, bit-exact with ggml's
 * quantize_row_*_ref (ggml/src/ggml-quants.c, as shipped in llama.cpp's
 * libggml-base).  Written from the algorithm; every rounding step is kept in
 * ggml's order: float32 throughout, left-to-right evaluation, sequential
 * sums, no FMA contraction (C11 ISO mode under GCC; the pragma below for
 * clang), fp16 by wk_f32_to_f16 (== GGML_FP32_TO_FP16 for all 2^32 inputs).
 * Float -> int8 casts that C leaves undefined follow x86 (wk_q_trunc_i8).
 * The algorithms are described in docs/formats/quant-blocks.md. */
#include "wk_quant.h"
#include "wk_quant_impl.h"
#include "wk_half.h"

#include <float.h>
#include <math.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define GROUP_MAX_EPS 1e-15f

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* int -> int8_t / uint8_t as GCC converts (modulo 2^8), written portably. */
static inline int8_t wrap_i8(int v)
{
    int b = (int)((unsigned)v & 0xffu);
    return (int8_t)(b >= 128 ? b - 256 : b);
}

/* (uint8_t)MIN(m, (int8_t)v): ggml's clamp of the truncated legacy quant. */
static inline uint8_t trunc_min_u8(float v, int m)
{
    return (uint8_t)(imin(m, wk_q_trunc_i8(v)) & 0xff);
}

/* The signed value with the largest magnitude (first one on ties); 0.0f when
 * every |x| is 0.  *amax_out gets its magnitude. */
static float signed_absmax(const float *x, int n, float *amax_out)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    *amax_out = amax;
    return max;
}

/* Min and max as ggml's legacy loops find them (start FLT_MAX / -FLT_MAX). */
static void block_minmax(const float *x, int n, float *mn, float *mx)
{
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    *mn = min;
    *mx = max;
}

/* ---- legacy blocks of 32 ------------------------------------------------------ */

void wk_quantize_row_q4_0_ref(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        float amax;
        const float max = signed_absmax(x, WK_QK, &amax);
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        wk_block_q4_0 b;
        b.d = wk_f32_to_f16(d);
        for (int j = 0; j < WK_QK / 2; j++) {
            uint8_t q0 = trunc_min_u8(x[j] * id + 8.5f, 15);
            uint8_t q1 = trunc_min_u8(x[j + 16] * id + 8.5f, 15);
            b.qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

void wk_quantize_row_q4_1_ref(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        float min, max;
        block_minmax(x, WK_QK, &min, &max);
        const float d = (max - min) / 15;
        const float id = d ? 1.0f / d : 0.0f;
        wk_block_q4_1 b;
        b.d = wk_f32_to_f16(d);
        b.m = wk_f32_to_f16(min);
        for (int j = 0; j < WK_QK / 2; j++) {
            uint8_t q0 = trunc_min_u8((x[j] - min) * id + 0.5f, 15);
            uint8_t q1 = trunc_min_u8((x[j + 16] - min) * id + 0.5f, 15);
            b.qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

/* Low nibbles of q0/q1 into qs[j]; bit 4 of each into the 32-bit qh word
 * (bit j for element j, bit j+16 for element j+16). */
static inline void pack_q5(uint8_t *qs, uint32_t *qh, int j, uint8_t q0, uint8_t q1)
{
    qs[j] = (uint8_t)((q0 & 0x0f) | ((q1 & 0x0f) << 4));
    *qh |= ((uint32_t)(q0 & 0x10u) >> 4) << j;
    *qh |= ((uint32_t)(q1 & 0x10u) >> 4) << (j + 16);
}

void wk_quantize_row_q5_0_ref(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        float amax;
        const float max = signed_absmax(x, WK_QK, &amax);
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        wk_block_q5_0 b;
        uint32_t qh = 0;
        b.d = wk_f32_to_f16(d);
        for (int j = 0; j < WK_QK / 2; j++) {
            uint8_t q0 = trunc_min_u8(x[j] * id + 16.5f, 31);
            uint8_t q1 = trunc_min_u8(x[j + 16] * id + 16.5f, 31);
            pack_q5(b.qs, &qh, j, q0, q1);
        }
        memcpy(b.qh, &qh, sizeof qh);
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

void wk_quantize_row_q5_1_ref(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        float min, max;
        block_minmax(x, WK_QK, &min, &max);
        const float d = (max - min) / 31;
        const float id = d ? 1.0f / d : 0.0f;
        wk_block_q5_1 b;
        uint32_t qh = 0;
        b.d = wk_f32_to_f16(d);
        b.m = wk_f32_to_f16(min);
        for (int j = 0; j < WK_QK / 2; j++) {
            /* (uint8_t)(v + 0.5f), no clamp: the low byte of the truncation */
            uint8_t q0 = (uint8_t)(wk_q_trunc_i32((x[j] - min) * id + 0.5f) & 0xff);
            uint8_t q1 = (uint8_t)(wk_q_trunc_i32((x[j + 16] - min) * id + 0.5f) & 0xff);
            pack_q5(b.qs, &qh, j, q0, q1);
        }
        memcpy(b.qh, &qh, sizeof qh);
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

void wk_quantize_row_q8_0_ref(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    for (int64_t i = 0; i < k / WK_QK; i++, x += WK_QK) {
        float amax = 0.0f;
        for (int j = 0; j < WK_QK; j++)
            amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);   /* MAX(amax, |x|) */
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        wk_block_q8_0 b;
        b.d = wk_f32_to_f16(d);
        for (int j = 0; j < WK_QK; j++)   /* roundf: halves away from zero */
            b.qs[j] = (int8_t)wk_q_trunc_i8(roundf(x[j] * id));
        memcpy(y + i * sizeof b, &b, sizeof b);
    }
}

/* ---- k-quant helpers ----------------------------------------------------------- */

/* ggml's make_qx_quants: symmetric quantization of n values to L in
 * [0, 2*nmax) (L = l + nmax), searching 19 scales around nmax/max for the
 * best weighted fit.  Weights: qw if given, else x^2 (rmse_type 1), 1 (2),
 * |x| (3), sqrt|x| (4); rmse_type 0 = no search.  Returns the scale (may be
 * negative); 0 and L = 0 when max|x| < GROUP_MAX_EPS. */
float wk_q_make_qx_quants(int n, int nmax, const float *x, int8_t *L, int rmse_type,
                          const float *qw)
{
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    if (rmse_type == 0) {
        for (int i = 0; i < n; ++i) {
            int l = wk_q_nearest_int(iscale * x[i]);
            L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, l)));
        }
        return 1 / iscale;
    }
    int return_early = 0;
    if (rmse_type < 0) {
        rmse_type = -rmse_type;
        return_early = 1;
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = wk_q_nearest_int(iscale * x[i]);
        l = imax(-nmax, imin(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        float w = qw ? qw[i] : rmse_type == 1 ? x[i] * x[i] : rmse_type == 2 ? 1
                : rmse_type == 3 ? fabsf(x[i]) : sqrtf(fabsf(x[i]));
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = wk_q_nearest_int(iscale * x[i]);
            l = imax(-nmax, imin(nmax - 1, l));
            float w = qw ? qw[i] : rmse_type == 1 ? x[i] * x[i] : rmse_type == 2 ? 1
                    : rmse_type == 3 ? fabsf(x[i]) : sqrtf(fabsf(x[i]));
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                int l = wk_q_nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* ggml's make_qkx2_quants: asymmetric quantization of n values to L in
 * [0, nmax] with value = scale*L - the_min, trying nstep+1 scales
 * (rmin + rdelta*is + nmax)/(max - min) and a weighted least-squares fit of
 * (scale, min) for each; keeps the lowest weighted squared (or absolute,
 * use_mad) error.  Laux is scratch of n bytes. */
float wk_q_make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
                            uint8_t *L, float *the_min, uint8_t *Laux,
                            float rmin, float rdelta, int nstep, int use_mad)
{
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        int l = wk_q_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)imax(0, imin(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            int l = wk_q_nearest_int(iscale * (x[i] - min));
            l = imax(0, imin(nmax, l));
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* The part of Q4_K/Q5_K after the sub-block search, given each sub-block's
 * scale and min (make_qkx2_quants) and its L (0..nmax): the 8 scales and
 * mins as 6-bit multiples of d = max_scale/63 and dmin = max_min/63, then
 * requantization with the fp16-rounded d and dmin (a sub-block whose
 * effective scale is 0 keeps its L), then packing.  nmax 15 writes a
 * wk_block_q4_K, 31 a wk_block_q5_K, to `block` (any alignment). */
void wk_q_k_finish(const float *x, int nmax, const float *scales, const float *mins,
                   uint8_t *L, void *block)
{
    uint8_t sc12[WK_K_SCALE_SIZE];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < WK_QK_K / 32; ++j) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < WK_QK_K / 32; ++j) {
        uint8_t ls = (uint8_t)wk_q_nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)wk_q_nearest_int(inv_min * mins[j]);
        wk_q_put_scale_min_k4(j, sc12, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
    }
    wk_q_k_pack(x, nmax, sc12, wk_f32_to_f16(max_scale / 63.f), wk_f32_to_f16(max_min / 63.f),
                L, block);
}

/* Requantization with the fp16 d16/dmin16 and the 6-bit scales in sc12 (a
 * sub-block whose effective scale is 0 keeps its L), then packing; nmax 15
 * writes a wk_block_q4_K, 31 a wk_block_q5_K, to `block` (any alignment). */
void wk_q_k_pack(const float *x, int nmax, const uint8_t *sc12, uint16_t d16, uint16_t dmin16,
                 uint8_t *L, void *block)
{
    for (int j = 0; j < WK_QK_K / 32; ++j) {
        uint8_t sc, m;
        wk_q_get_scale_min_k4(j, sc12, &sc, &m);
        const float d = wk_f16_to_f32(d16) * sc;
        if (!d) continue;
        const float dm = wk_f16_to_f32(dmin16) * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = wk_q_nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)imax(0, imin(nmax, l));
        }
    }
    if (nmax == 15) {
        wk_block_q4_K b;
        b.d = d16;
        b.dmin = dmin16;
        memcpy(b.scales, sc12, WK_K_SCALE_SIZE);
        for (int c = 0; c < 4; c++)          /* 64 values -> 32 bytes, low then high */
            for (int l = 0; l < 32; ++l)
                b.qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
        memcpy(block, &b, sizeof b);
        return;
    }
    wk_block_q5_K b;
    b.d = d16;
    b.dmin = dmin16;
    memcpy(b.scales, sc12, WK_K_SCALE_SIZE);
    memset(b.qh, 0, sizeof b.qh);
    for (int c = 0; c < 4; c++) {            /* bit 4 of chunk c -> qh bits 2c, 2c+1 */
        for (int j = 0; j < 32; ++j) {
            int l1 = L[64 * c + j], l2 = L[64 * c + j + 32];
            if (l1 > 15) { l1 -= 16; b.qh[j] |= (uint8_t)(1u << (2 * c)); }
            if (l2 > 15) { l2 -= 16; b.qh[j] |= (uint8_t)(2u << (2 * c)); }
            b.qs[32 * c + j] = (uint8_t)(l1 | (l2 << 4));
        }
    }
    memcpy(block, &b, sizeof b);
}

/* Q4_K / Q5_K reference: per sub-block of 32, weights av_x + |x| (av_x the
 * sub-block's RMS) and make_qkx2_quants; then wk_q_k_finish. */
static void quantize_row_k_ref(const float *x, uint8_t *y, int64_t k, int nmax, float rmin,
                               int nstep, size_t bsize)
{
    uint8_t L[WK_QK_K], Laux[32];
    float mins[WK_QK_K / 32], scales[WK_QK_K / 32], weights[32];
    for (int64_t i = 0; i < k / WK_QK_K; i++, x += WK_QK_K) {
        for (int j = 0; j < WK_QK_K / 32; ++j) {
            const float *xs = x + 32 * j;
            float sum_x2 = 0;
            for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
            float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; ++l) weights[l] = av_x + fabsf(xs[l]);
            scales[j] = wk_q_make_qkx2_quants(32, nmax, xs, weights, L + 32 * j, &mins[j], Laux,
                                         rmin, 0.1f, nstep, 0);
        }
        wk_q_k_finish(x, nmax, scales, mins, L, y + i * bsize);
    }
}

void wk_quantize_row_q4_K_ref(const float *x, void *y, int64_t k)
{
    quantize_row_k_ref(x, y, k, 15, -1.f, 20, sizeof(wk_block_q4_K));
}

void wk_quantize_row_q5_K_ref(const float *x, void *y, int64_t k)
{
    quantize_row_k_ref(x, y, k, 31, -0.5f, 15, sizeof(wk_block_q5_K));
}

/* The part of Q6_K after the 16 make_qx_quants searches (scales[ib], L in
 * 0..63): an all-zero block if every |scale| < GROUP_MAX_EPS; else int8
 * scales as multiples of d = max_scale/-128 (signed max), requantization
 * with the fp16 d (a sub-block with scale 0 keeps its L), and packing. */
void wk_q6_K_finish(const float *x, const float *scales, int8_t *L, void *block)
{
    wk_block_q6_K b;
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < WK_QK_K / 16; ++ib) {
        if (fabsf(scales[ib]) > max_abs_scale) {
            max_abs_scale = fabsf(scales[ib]);
            max_scale = scales[ib];
        }
    }
    if (max_abs_scale < GROUP_MAX_EPS) {   /* all (near) zero: an all-zero block */
        memset(&b, 0, sizeof b);
        b.d = wk_f32_to_f16(0.f);
        memcpy(block, &b, sizeof b);
        return;
    }
    float iscale = -128.f / max_scale;
    b.d = wk_f32_to_f16(1 / iscale);
    for (int ib = 0; ib < WK_QK_K / 16; ++ib)
        b.scales[ib] = wrap_i8(imin(127, wk_q_nearest_int(iscale * scales[ib])));
    for (int j = 0; j < WK_QK_K / 16; ++j) {
        float d = wk_f16_to_f32(b.d) * b.scales[j];
        if (!d) continue;
        for (int ii = 0; ii < 16; ++ii) {
            int l = wk_q_nearest_int(x[16 * j + ii] / d);
            L[16 * j + ii] = (int8_t)(imax(-32, imin(31, l)) + 32);
        }
    }
    for (int h = 0; h < 2; h++) {             /* two halves of 128 values */
        const int8_t *Lh = L + 128 * h;
        uint8_t *ql = b.ql + 64 * h, *qh = b.qh + 32 * h;
        for (int l = 0; l < 32; ++l) {
            ql[l] = (uint8_t)((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
            ql[l + 32] = (uint8_t)((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
            qh[l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2)
                              | ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
        }
    }
    memcpy(block, &b, sizeof b);
}

void wk_quantize_row_q6_K_ref(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    int8_t L[WK_QK_K];
    float scales[WK_QK_K / 16];
    for (int64_t i = 0; i < k / WK_QK_K; i++, x += WK_QK_K) {
        for (int ib = 0; ib < WK_QK_K / 16; ++ib)
            scales[ib] = wk_q_make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1, NULL);
        wk_q6_K_finish(x, scales, L, y + i * sizeof(wk_block_q6_K));
    }
}
