/* wk_quant_lowbit.c — scalar reference quantizers and dequantizers of the
 * 2-4-bit types: Q2_K, Q3_K (k-quants) and IQ4_NL, IQ4_XS (non-linear 4-bit
 * grid), with and without importance weights, bit-exact with
 * ggml_quantize_chunk (ggml-quants.c: quantize_q2_K / quantize_row_q2_K_ref /
 * quantize_row_q2_K_impl, quantize_q3_K / quantize_row_q3_K_ref /
 * quantize_row_q3_K_impl, quantize_iq4_nl / quantize_iq4_xs through
 * quantize_row_iq4_nl_impl).  Same rules as wk_quant_ref.c: float32 in
 * ggml's source order, no FMA contraction, fp16 by wk_f32_to_f16, ggml's
 * integer wrap-arounds (int -> int8/uint8 as GCC converts) kept.
 *
 * Note: ggml_quantize_chunk runs quantize_iq4_nl/xs with ntry = 7 also
 * without weights (weights x^2); ggml's quantize_row_iq4_nl_ref (ntry -1) is
 * only the CPU backend's activation path.  The _ref kernels here are the
 * former: what llama-quantize writes. */
#include "wk_quant.h"
#include "wk_quant_impl.h"
#include "wk_half.h"

#include <math.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define GROUP_MAX_EPS 1e-15f

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* int -> int8_t as GCC converts (modulo 2^8). */
static inline int wrap_i8(int v)
{
    int b = (int)((unsigned)v & 0xffu);
    return b >= 128 ? b - 256 : b;
}

/* ggml's kvalues_iq4nl: the 16 levels of IQ4_NL / IQ4_XS. */
const int8_t wk_kvalues_iq4nl[16] = { -127, -104, -83, -65, -49, -35, -22, -10,
                                      1, 13, 25, 38, 53, 69, 89, 113 };

/* ---- Q2_K ---------------------------------------------------------------------------- */

/* L[256] in 0..3 into the 64 bytes of qs (4 codes per byte, 32 apart). */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
    for (int j = 0; j < WK_QK_K; j += 128)
        for (int l = 0; l < 32; ++l)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4)
                                      | (L[j + l + 96] << 6));
}

/* Requantize the 16 sub-blocks with d * (sc & 15) and m * (sc >> 4) (a
 * sub-block whose effective scale is 0 keeps its L). */
static void q2_requant(const float *x, const uint8_t *sc, float dd, float mm, uint8_t *L)
{
    for (int j = 0; j < WK_QK_K / 16; ++j) {
        const float d = dd * (sc[j] & 0xF);
        if (!d) continue;
        const float m = mm * (sc[j] >> 4);
        for (int ii = 0; ii < 16; ++ii) {
            int l = wk_q_nearest_int((x[16 * j + ii] + m) / d);
            L[16 * j + ii] = (uint8_t)imax(0, imin(3, l));
        }
    }
}

void wk_q2_K_finish(const float *x, const float *scales, const float *mins, uint8_t *L,
                    void *block)
{
    const float q4scale = 15.f;
    wk_block_q2_K b;
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < WK_QK_K / 16; ++j) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
        float iscale = q4scale / max_scale;
        for (int j = 0; j < WK_QK_K / 16; ++j)
            b.scales[j] = (uint8_t)wk_q_nearest_int(iscale * scales[j]);
        b.d = wk_f32_to_f16(max_scale / q4scale);
    } else {
        memset(b.scales, 0, sizeof b.scales);
        b.d = wk_f32_to_f16(0.f);
    }
    if (max_min > 0) {
        float iscale = q4scale / max_min;
        for (int j = 0; j < WK_QK_K / 16; ++j)
            /* ggml: scales |= (l << 4) on an int (x86: the low bits, also for l < 0) */
            b.scales[j] = (uint8_t)(b.scales[j] | ((unsigned)wk_q_nearest_int(iscale * mins[j]) << 4));
        b.dmin = wk_f32_to_f16(max_min / q4scale);
    } else {
        b.dmin = wk_f32_to_f16(0.f);
    }
    q2_requant(x, b.scales, wk_f16_to_f32(b.d), wk_f16_to_f32(b.dmin), L);
    pack_2bit(L, b.qs);
    memcpy(block, &b, sizeof b);
}

void wk_quantize_row_q2_K_ref(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    uint8_t L[WK_QK_K], Laux[16];
    float weights[16], mins[WK_QK_K / 16], scales[WK_QK_K / 16];
    for (int64_t i = 0; i < k / WK_QK_K; i++, x += WK_QK_K) {
        for (int j = 0; j < WK_QK_K / 16; ++j) {
            for (int l = 0; l < 16; ++l) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = wk_q_make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j],
                                              Laux, -0.5f, 0.1f, 15, 1);
        }
        wk_q2_K_finish(x, scales, mins, L, y + i * sizeof(wk_block_q2_K));
    }
}

void wk_q2_K_finish_w(const float *x, const float *scales, const float *mins, const float *sw,
                      uint8_t *L, void *block)
{
    wk_block_q2_K b;
    uint8_t Ls[WK_QK_K / 16], Lm[WK_QK_K / 16];
    const float dm = wk_q_make_qp_quants(WK_QK_K / 16, 15, scales, Ls, sw);
    const float mm = wk_q_make_qp_quants(WK_QK_K / 16, 15, mins, Lm, sw);
    b.d = wk_f32_to_f16(dm);
    b.dmin = wk_f32_to_f16(mm);
    for (int j = 0; j < WK_QK_K / 16; ++j) b.scales[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
    q2_requant(x, b.scales, wk_f16_to_f32(b.d), wk_f16_to_f32(b.dmin), L);
    pack_2bit(L, b.qs);
    memcpy(block, &b, sizeof b);
}

void wk_quantize_row_q2_K_imat(const float *x, void *vy, int64_t n, const float *qw)
{
    uint8_t *y = vy;
    uint8_t L[WK_QK_K], Laux[16];
    float mins[WK_QK_K / 16], scales[WK_QK_K / 16], sw[WK_QK_K / 16], weight[16];
    for (int64_t i = 0; i < n / WK_QK_K; i++, x += WK_QK_K) {
        float sumx2 = 0;
        for (int j = 0; j < WK_QK_K; ++j) sumx2 += x[j] * x[j];
        const float sigma2 = sumx2 / WK_QK_K;
        for (int j = 0; j < WK_QK_K / 16; ++j) {
            const float *q = qw + WK_QK_K * i + 16 * j;
            for (int l = 0; l < 16; ++l) weight[l] = q[l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
            sw[j] = 0;
            for (int l = 0; l < 16; ++l) sw[j] += weight[l];
            scales[j] = wk_q_make_qkx3_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux,
                                              -0.9f, 0.05f, 36, 0);
        }
        wk_q2_K_finish_w(x, scales, mins, sw, L, y + i * sizeof(wk_block_q2_K));
    }
}

void wk_dequantize_row_q2_K(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK_K; i++) {
        wk_block_q2_K b;
        memcpy(&b, x + i * sizeof b, sizeof b);
        const float d = wk_f16_to_f32(b.d), min = wk_f16_to_f32(b.dmin);
        const uint8_t *q = b.qs;
        int is = 0;
        for (int n = 0; n < WK_QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int h = 0; h < 2; h++) {
                    const uint8_t sc = b.scales[is++];
                    const float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * h] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/* ---- Q3_K ------------------------------------------------------------------------------ */

/* ggml's make_q3_quants(n, nmax, x, L, do_rmse = true): L in [0, 2*nmax). */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L)
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
    const float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = imax(-nmax, imin(nmax - 1, wk_q_nearest_int(iscale * x[i])));
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * L[i] * L[i];
                int new_l = wk_q_nearest_int(x[i] * sl2 / slx);
                new_l = imax(-nmax, imin(nmax - 1, new_l));
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* 6-bit scale l (0..63) of sub-block j into the 12-byte Q3_K field (zeroed first). */
static void q3_put_scale(uint8_t *s, int j, int l)
{
    if (j < 8) s[j] = (uint8_t)(l & 0xF);
    else s[j - 8] = (uint8_t)(s[j - 8] | ((l & 0xF) << 4));
    l >>= 4;
    s[j % 4 + 8] = (uint8_t)(s[j % 4 + 8] | (l << (2 * (j / 4))));
}

/* The Q3_K block after the scales: requantization with fp16 d and the
 * 6-bit scales (sub-blocks of effective scale 0 keep their L), hmask, qs. */
static void q3_finish(const float *x, wk_block_q3_K *b, int8_t *L)
{
    for (int j = 0; j < WK_QK_K / 16; ++j) {
        int sc = j < 8 ? b->scales[j] & 0xF : b->scales[j - 8] >> 4;
        sc = (sc | (((b->scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
        float d = wk_f16_to_f32(b->d) * sc;
        if (!d) continue;
        for (int ii = 0; ii < 16; ++ii) {
            int l = wk_q_nearest_int(x[16 * j + ii] / d);
            L[16 * j + ii] = (int8_t)(imax(-4, imin(3, l)) + 4);
        }
    }
    memset(b->hmask, 0, sizeof b->hmask);
    int m = 0;
    uint8_t hm = 1;
    for (int j = 0; j < WK_QK_K; ++j) {
        if (L[j] > 3) {
            b->hmask[m] |= hm;
            L[j] = (int8_t)(L[j] - 4);
        }
        if (++m == WK_QK_K / 8) {
            m = 0;
            hm = (uint8_t)(hm << 1);
        }
    }
    pack_2bit((const uint8_t *)L, b->qs);
}

void wk_q3_K_finish(const float *x, const float *scales, int8_t *L, void *block, wk_q3_tail_fn tail)
{
    wk_block_q3_K b;
    float max_scale = 0, amax = 0;
    for (int j = 0; j < WK_QK_K / 16; ++j) {
        float scale = fabsf(scales[j]);
        if (scale > amax) { amax = scale; max_scale = scales[j]; }
    }
    memset(b.scales, 0, sizeof b.scales);
    if (max_scale) {
        const float iscale = -32.f / max_scale;
        for (int j = 0; j < WK_QK_K / 16; ++j) {
            int l = wrap_i8(wk_q_nearest_int(iscale * scales[j]));   /* int8_t l = ... */
            q3_put_scale(b.scales, j, imax(-32, imin(31, l)) + 32);
        }
        b.d = wk_f32_to_f16(1 / iscale);
    } else {
        b.d = wk_f32_to_f16(0.f);
    }
    (tail ? tail : q3_finish)(x, &b, L);
    memcpy(block, &b, sizeof b);
}

void wk_quantize_row_q3_K_ref(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    int8_t L[WK_QK_K];
    float scales[WK_QK_K / 16];
    for (int64_t i = 0; i < k / WK_QK_K; i++, x += WK_QK_K) {
        for (int j = 0; j < WK_QK_K / 16; ++j) scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
        wk_q3_K_finish(x, scales, L, y + i * sizeof(wk_block_q3_K), NULL);
    }
}

void wk_q3_K_finish_w(const float *x, const float *scales, const float *sw, int8_t *L, void *block,
                      wk_q3_tail_fn tail)
{
    wk_block_q3_K b;
    int8_t Ls[WK_QK_K / 16];
    memset(b.scales, 0, sizeof b.scales);
    const float d_block = wk_q_make_qx_quants(WK_QK_K / 16, 32, scales, Ls, 1, sw);
    for (int j = 0; j < WK_QK_K / 16; ++j) q3_put_scale(b.scales, j, Ls[j]);
    b.d = wk_f32_to_f16(d_block);
    (tail ? tail : q3_finish)(x, &b, L);
    memcpy(block, &b, sizeof b);
}

void wk_quantize_row_q3_K_imat(const float *x, void *vy, int64_t n, const float *qw)
{
    uint8_t *y = vy;
    int8_t L[WK_QK_K];
    float scales[WK_QK_K / 16], weight[16], sw[WK_QK_K / 16];
    for (int64_t i = 0; i < n / WK_QK_K; i++, x += WK_QK_K) {
        float sumx2 = 0;
        for (int j = 0; j < WK_QK_K; ++j) sumx2 += x[j] * x[j];
        const float sigma2 = 2 * sumx2 / WK_QK_K;
        for (int j = 0; j < WK_QK_K / 16; ++j) {
            const float *q = qw + WK_QK_K * i + 16 * j;
            for (int l = 0; l < 16; ++l) weight[l] = q[l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
            float sumw = 0;
            for (int l = 0; l < 16; ++l) sumw += weight[l];
            sw[j] = sumw;
            scales[j] = wk_q_make_qx_quants(16, 4, x + 16 * j, L + 16 * j, 1, weight);
        }
        wk_q3_K_finish_w(x, scales, sw, L, y + i * sizeof(wk_block_q3_K), NULL);
    }
}

/* The 16 signed 6-bit scales of a Q3_K block (ggml's kmask unpacking). */
void wk_q3_K_scales(const uint8_t *s12, int *sc)
{
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? s12[j] & 0xF : s12[j - 8] >> 4;
        sc[j] = (lo | (((s12[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
    }
}

void wk_dequantize_row_q3_K(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK_K; i++) {
        wk_block_q3_K b;
        int sc[16];
        memcpy(&b, x + i * sizeof b, sizeof b);
        wk_q3_K_scales(b.scales, sc);
        const float d_all = wk_f16_to_f32(b.d);
        const uint8_t *q = b.qs;
        int is = 0;
        uint8_t m = 1;
        for (int n = 0; n < WK_QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m = (uint8_t)(m << 1)) {
                for (int h = 0; h < 2; h++) {
                    const float dl = d_all * sc[is++];
                    for (int l = 0; l < 16; ++l)
                        *y++ = dl * (((q[l + 16 * h] >> shift) & 3) - ((b.hmask[l + 16 * h] & m) ? 0 : 4));
                }
            }
        }
    }
}

/* ---- IQ4_NL / IQ4_XS -------------------------------------------------------------------- */

/* ggml's best_index_int8: the index of the level nearest to x (ties to the lower). */
static int best_index_int8(int n, const int8_t *val, float x)
{
    if (x <= val[0]) return 0;
    if (x >= val[n - 1]) return n - 1;
    int ml = 0, mu = n - 1;
    while (mu - ml > 1) {
        int mav = (ml + mu) / 2;
        if (x < val[mav]) mu = mav;
        else ml = mav;
    }
    return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
}

/* One sub-block of block_size values: the weighted search for its scale
 * (ntry steps each side), L of the first fit into Lb.  0 if all (near) zero. */
static float iq4_block_scale(const float *xb, const float *weight, int block_size, uint8_t *Lb,
                             int ntry)
{
    const int8_t *values = wk_kvalues_iq4nl;
    float amax = 0, max = 0;
    for (int j = 0; j < block_size; ++j) {
        float ax = fabsf(xb[j]);
        if (ax > amax) { amax = ax; max = xb[j]; }
    }
    if (amax < GROUP_MAX_EPS) return 0;
    float d = ntry > 0 ? -max / values[0] : max / values[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < block_size; ++j) {
        int l = best_index_int8(16, values, id * xb[j]);
        Lb[j] = (uint8_t)l;
        float q = values[l], w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -ntry; itry <= ntry; ++itry) {
        id = (itry + values[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < block_size; ++j) {
            float q = values[best_index_int8(16, values, id * xb[j])], w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

/* The scalar search of one sub-block of 32 (wk_iq4_search_fn). */
static float iq4_search_ref(const float *xb, const float *weight, uint8_t *Lb)
{
    return iq4_block_scale(xb, weight, 32, Lb, 7);
}

/* ggml's quantize_row_iq4_nl_impl(super_block_size, 32, ..., ntry 7): sbs 32
 * writes a wk_block_iq4_nl, 256 a wk_block_iq4_xs, to `block`.  qw: the
 * super-block's importance weights or NULL (weights x^2); search: the
 * per-sub-block scale search (iq4_search_ref or its AVX2 twin). */
static void iq4_impl(int sbs, const float *x, const float *qw, void *block, wk_iq4_search_fn search)
{
    const int block_size = 32, nsub = sbs / block_size;
    uint8_t L[WK_QK_K], q4[WK_QK_K / 2];
    float scales[WK_QK_K / 32] = { 0 }, weight[32];
    uint16_t dh, scales_h = 0;
    uint8_t scales_l[WK_QK_K / 64] = { 0 };
    float sigma2 = 0;
    for (int j = 0; j < sbs; ++j) sigma2 += x[j] * x[j];
    sigma2 *= 2.f / sbs;
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < nsub; ++ib) {
        const float *xb = x + ib * block_size;
        for (int j = 0; j < block_size; ++j)
            weight[j] = qw ? qw[ib * block_size + j] * sqrtf(sigma2 + xb[j] * xb[j]) : xb[j] * xb[j];
        scales[ib] = search(xb, weight, L + ib * block_size);
        if (fabsf(scales[ib]) > amax_scale) {
            amax_scale = fabsf(scales[ib]);
            max_scale = scales[ib];
        }
    }
    if (nsub > 1) {
        const float d = -max_scale / 32;
        dh = wk_f32_to_f16(d);
        const float id = d ? 1 / d : 0.f;
        for (int ib = 0; ib < nsub; ++ib) {
            int l = imax(-32, imin(31, wk_q_nearest_int(id * scales[ib])));
            const float dl = d * l, idl = dl ? 1 / dl : 0.f;
            for (int j = 0; j < block_size; ++j)
                L[ib * block_size + j] = (uint8_t)best_index_int8(16, wk_kvalues_iq4nl, idl * x[ib * block_size + j]);
            l += 32;
            const uint8_t l_l = (uint8_t)(l & 0xf), l_h = (uint8_t)(l >> 4);
            if (ib % 2 == 0) scales_l[ib / 2] = l_l;
            else scales_l[ib / 2] = (uint8_t)(scales_l[ib / 2] | (l_l << 4));
            scales_h = (uint16_t)(scales_h | (l_h << 2 * (ib % 8)));
        }
    } else {
        dh = wk_f32_to_f16(scales[0]);
        const float id = scales[0] ? 1 / scales[0] : 0;
        for (int j = 0; j < sbs; ++j) L[j] = (uint8_t)best_index_int8(16, wk_kvalues_iq4nl, id * x[j]);
    }
    for (int i = 0; i < sbs / 32; ++i)
        for (int j = 0; j < 16; ++j) q4[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
    if (nsub == 1) {
        wk_block_iq4_nl b;
        b.d = dh;
        memcpy(b.qs, q4, sizeof b.qs);
        memcpy(block, &b, sizeof b);
    } else {
        wk_block_iq4_xs b;
        b.d = dh;
        b.scales_h = scales_h;
        memcpy(b.scales_l, scales_l, sizeof b.scales_l);
        memcpy(b.qs, q4, sizeof b.qs);
        memcpy(block, &b, sizeof b);
    }
}

void wk_iq4_quantize(int sbs, const float *x, void *y, int64_t k, const float *qw,
                     wk_iq4_search_fn search)
{
    const size_t bs = sbs == WK_QK ? sizeof(wk_block_iq4_nl) : sizeof(wk_block_iq4_xs);
    for (int64_t i = 0; i < k / sbs; i++)
        iq4_impl(sbs, x + sbs * i, qw ? qw + sbs * i : NULL, (uint8_t *)y + i * bs, search);
}

void wk_quantize_row_iq4_nl_ref(const float *x, void *y, int64_t k)
{
    wk_iq4_quantize(WK_QK, x, y, k, NULL, iq4_search_ref);
}

void wk_quantize_row_iq4_nl_imat(const float *x, void *y, int64_t n, const float *qw)
{
    wk_iq4_quantize(WK_QK, x, y, n, qw, iq4_search_ref);
}

void wk_quantize_row_iq4_xs_ref(const float *x, void *y, int64_t k)
{
    wk_iq4_quantize(WK_QK_K, x, y, k, NULL, iq4_search_ref);
}

void wk_quantize_row_iq4_xs_imat(const float *x, void *y, int64_t n, const float *qw)
{
    wk_iq4_quantize(WK_QK_K, x, y, n, qw, iq4_search_ref);
}

void wk_dequantize_row_iq4_nl(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK; i++, y += WK_QK) {
        wk_block_iq4_nl b;
        memcpy(&b, x + i * sizeof b, sizeof b);
        const float d = wk_f16_to_f32(b.d);
        for (int j = 0; j < WK_QK / 2; ++j) {
            y[j] = d * wk_kvalues_iq4nl[b.qs[j] & 0xf];
            y[j + WK_QK / 2] = d * wk_kvalues_iq4nl[b.qs[j] >> 4];
        }
    }
}

/* The 6-bit scale (0..63, value = ls - 32) of sub-block ib of an IQ4_XS block. */
int wk_iq4_xs_scale(uint16_t scales_h, const uint8_t *scales_l, int ib)
{
    return ((scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((scales_h >> 2 * ib) & 3) << 4);
}

void wk_dequantize_row_iq4_xs(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK_K; i++) {
        wk_block_iq4_xs b;
        memcpy(&b, x + i * sizeof b, sizeof b);
        const float d = wk_f16_to_f32(b.d);
        const uint8_t *qs = b.qs;
        for (int ib = 0; ib < WK_QK_K / 32; ++ib, y += 32, qs += 16) {
            const float dl = d * (wk_iq4_xs_scale(b.scales_h, b.scales_l, ib) - 32);
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * wk_kvalues_iq4nl[qs[j] & 0xf];
                y[j + 16] = dl * wk_kvalues_iq4nl[qs[j] >> 4];
            }
        }
    }
}
