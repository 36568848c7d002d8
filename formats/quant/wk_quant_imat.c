/* wk_quant_imat.c — the importance-weighted quantizers: bit-exact with ggml's
 * quantize_row_*_impl(x, y, n_per_row, quant_weights) with non-NULL weights
 * (what ggml_quantize_chunk runs when given an importance matrix).  Same rules
 * as wk_quant_ref.c: float32 in ggml's source order, no FMA contraction,
 * fp16 by wk_f32_to_f16, ggml's integer wrap-arounds kept.
 *
 * The weights of one row are n_per_row floats (the imatrix of the tensor's
 * input column); every kernel here reads the whole row because ggml's
 * weighted paths scale them by the row's (legacy types) or the super-block's
 * (k-quants) mean square.  Q8_0 has no weighted path in ggml (its
 * quantize_q8_0 ignores quant_weights): its column is the reference kernel. */
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

/* ggml's make_qkx3_quants: make_qkx2_quants with weights x^2 when weights is
 * NULL, an early exit on max <= min, and ggml's own step grid. */
float wk_q_make_qkx3_quants(int n, int nmax, const float *x, const float *weights,
                            uint8_t *L, float *the_min, uint8_t *Laux,
                            float rmin, float rdelta, int nstep, int use_mad)
{
    float min = x[0], max = x[0];
    float sum_w = weights ? weights[0] : x[0] * x[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights ? weights[i] : x[i] * x[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max <= min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_mad = 0;
    for (int i = 0; i < n; ++i) {
        int l = wk_q_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)imax(0, imin(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        float w = weights ? weights[i] : x[i] * x[i];
        best_mad += w * diff;
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
            float w = weights ? weights[i] : x[i] * x[i];
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
            float mad = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                float w = weights ? weights[i] : x[i] * x[i];
                mad += w * diff;
            }
            if (mad < best_mad) {
                memcpy(L, Laux, (size_t)n);
                best_mad = mad;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* ggml's make_qp_quants: n non-negative values (scales or mins) to L in
 * [0, nmax] with one positive scale, weighted by qw, with 8 trial scales and
 * up to 5 rounds of coordinate descent.  L is uint8_t as in ggml: a negative
 * input wraps, and ggml's later comparisons see the wrapped value. */
float wk_q_make_qp_quants(int n, int nmax, const float *x, uint8_t *L, const float *qw)
{
    float max = 0;
    for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];   /* MAX(max, x) */
    if (max < GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = nmax / max;
    for (int i = 0; i < n; ++i) L[i] = (uint8_t)wk_q_nearest_int(iscale * x[i]);
    float scale = 1 / iscale;
    float best_mse = 0;
    for (int i = 0; i < n; ++i) {
        float diff = x[i] - scale * L[i];
        best_mse += qw[i] * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        float iscale_is = (0.1f * is + nmax) / max;
        float scale_is = 1 / iscale_is;
        float mse = 0;
        for (int i = 0; i < n; ++i) {
            int l = imin(nmax, wk_q_nearest_int(iscale_is * x[i]));
            float diff = x[i] - scale_is * l;
            mse += qw[i] * diff * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = imin(nmax, wk_q_nearest_int(iscale * x[i]));
        L[i] = (uint8_t)l;
        float w = qw[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            float w = qw[i];
            float slx = sumlx - w * x[i] * L[i];
            float sl2 = suml2 - w * L[i] * L[i];
            if (slx > 0 && sl2 > 0) {
                int new_l = imin(nmax, wk_q_nearest_int(x[i] * sl2 / slx));
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (uint8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

float wk_q_sum_sq(const float *x, int64_t n)
{
    float s = 0;
    for (int64_t j = 0; j < n; ++j) s += x[j] * x[j];
    return s;
}

/* The legacy types' weights: qw[j] * sqrt(sigma2 + x[j]^2). */
static void legacy_weights(const float *xb, const float *qw, float sigma2, float *w)
{
    for (int j = 0; j < WK_QK; ++j) w[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
}

/* ---- legacy blocks of 32 ------------------------------------------------------ */

void wk_q_legacy_put(int nmax, float d, float min, const uint8_t *L, void *block)
{
    uint32_t qh = 0;
    uint8_t qs[WK_QK / 2];
    for (int j = 0; j < 16; ++j) {
        const uint8_t xi0 = L[j], xi1 = L[j + 16];
        qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
        qh |= ((xi0 & 0x10u) >> 4) << j;
        qh |= ((xi1 & 0x10u) >> 4) << (j + 16);
    }
    if (nmax == 8) {          /* L in 0..15: qs is L | L << 4 */
        wk_block_q4_0 b;
        b.d = wk_f32_to_f16(d);
        memcpy(b.qs, qs, sizeof b.qs);
        memcpy(block, &b, sizeof b);
    } else if (nmax == 16) {
        wk_block_q5_0 b;
        b.d = wk_f32_to_f16(d);
        memcpy(b.qh, &qh, sizeof qh);
        memcpy(b.qs, qs, sizeof b.qs);
        memcpy(block, &b, sizeof b);
    } else if (nmax == 15) {
        wk_block_q4_1 b;
        b.d = wk_f32_to_f16(d);
        b.m = wk_f32_to_f16(-min);
        memcpy(b.qs, qs, sizeof b.qs);
        memcpy(block, &b, sizeof b);
    } else {
        wk_block_q5_1 b;
        b.d = wk_f32_to_f16(d);
        b.m = wk_f32_to_f16(-min);
        memcpy(b.qh, &qh, sizeof qh);
        memcpy(b.qs, qs, sizeof b.qs);
        memcpy(block, &b, sizeof b);
    }
}

/* Q4_0 (nmax 8) and Q5_0 (nmax 16): make_qx_quants with the weights. */
static void quantize_x_0_w(const float *x, uint8_t *y, int64_t n, const float *qw, int nmax)
{
    const float sigma2 = wk_q_sum_sq(x, n) / n;
    const size_t bs = nmax == 8 ? sizeof(wk_block_q4_0) : sizeof(wk_block_q5_0);
    float w[WK_QK];
    int8_t L[WK_QK];
    for (int64_t ib = 0; ib < n / WK_QK; ++ib) {
        const float *xb = x + WK_QK * ib;
        legacy_weights(xb, qw + WK_QK * ib, sigma2, w);
        const float d = wk_q_make_qx_quants(WK_QK, nmax, xb, L, 1, w);
        wk_q_legacy_put(nmax, d, 0.f, (const uint8_t *)L, y + ib * bs);
    }
}

/* Q4_1 (nmax 15) and Q5_1 (nmax 31): make_qkx3_quants with the weights. */
static void quantize_x_1_w(const float *x, uint8_t *y, int64_t n, const float *qw, int nmax)
{
    const float sigma2 = wk_q_sum_sq(x, n) / n;
    const size_t bs = nmax == 15 ? sizeof(wk_block_q4_1) : sizeof(wk_block_q5_1);
    float w[WK_QK];
    uint8_t L[WK_QK], Laux[WK_QK];
    for (int64_t ib = 0; ib < n / WK_QK; ++ib) {
        const float *xb = x + WK_QK * ib;
        legacy_weights(xb, qw + WK_QK * ib, sigma2, w);
        float min;
        const float d = wk_q_make_qkx3_quants(WK_QK, nmax, xb, w, L, &min, Laux, -0.9f, 0.05f, 36, 0);
        wk_q_legacy_put(nmax, d, min, L, y + ib * bs);
    }
}

void wk_quantize_row_q4_0_imat(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_x_0_w(x, y, n, qw, 8);
}

void wk_quantize_row_q5_0_imat(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_x_0_w(x, y, n, qw, 16);
}

void wk_quantize_row_q4_1_imat(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_x_1_w(x, y, n, qw, 15);
}

void wk_quantize_row_q5_1_imat(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_x_1_w(x, y, n, qw, 31);
}

void wk_quantize_row_q8_0_imat(const float *x, void *y, int64_t n, const float *qw)
{
    (void)qw;   /* ggml's quantize_q8_0 ignores the weights */
    wk_quantize_row_q8_0_ref(x, y, n);
}

/* ---- k-quants ------------------------------------------------------------------ */

/* Q4_K (nmax 15) / Q5_K (nmax 31) with weights: per sub-block of 32, weights
 * qw * sqrt(sigma2 + x^2) (sigma2 = 2 * mean square of the super-block),
 * make_qkx3_quants; scales and mins to 6 bits by make_qp_quants weighted by
 * the sub-blocks' weight sums (Q5_K clamps them to 63, Q4_K does not). */
void wk_q_k_finish_w(const float *x, int nmax, const float *scales, const float *mins,
                     const float *sw, uint8_t *L, void *block)
{
    uint8_t Ls[WK_QK_K / 32], Lm[WK_QK_K / 32], sc12[WK_K_SCALE_SIZE];
    const float d_block = wk_q_make_qp_quants(WK_QK_K / 32, 63, scales, Ls, sw);
    const float m_block = wk_q_make_qp_quants(WK_QK_K / 32, 63, mins, Lm, sw);
    for (int j = 0; j < WK_QK_K / 32; ++j) {
        uint8_t ls = Ls[j], lm = Lm[j];
        if (nmax == 31) {
            ls = ls < 63 ? ls : 63;
            lm = lm < 63 ? lm : 63;
        }
        wk_q_put_scale_min_k4(j, sc12, ls, lm);
    }
    wk_q_k_pack(x, nmax, sc12, wk_f32_to_f16(d_block), wk_f32_to_f16(m_block), L, block);
}

static void quantize_k_w(const float *x, uint8_t *y, int64_t n, const float *qw, int nmax,
                         size_t bsize)
{
    uint8_t L[WK_QK_K], Laux[32];
    float weights[32], sw[WK_QK_K / 32], mins[WK_QK_K / 32], scales[WK_QK_K / 32];
    for (int64_t i = 0; i < n / WK_QK_K; i++, x += WK_QK_K) {
        const float sigma2 = 2 * wk_q_sum_sq(x, WK_QK_K) / WK_QK_K;
        for (int j = 0; j < WK_QK_K / 32; ++j) {
            const float *q = qw + WK_QK_K * i + 32 * j;
            for (int l = 0; l < 32; ++l)
                weights[l] = q[l] * sqrtf(sigma2 + x[32 * j + l] * x[32 * j + l]);
            float sumw = 0;
            for (int l = 0; l < 32; ++l) sumw += weights[l];
            sw[j] = sumw;
            scales[j] = wk_q_make_qkx3_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                         -0.9f, 0.05f, 36, 0);
        }
        wk_q_k_finish_w(x, nmax, scales, mins, sw, L, y + i * bsize);
    }
}

void wk_quantize_row_q4_K_imat(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_k_w(x, y, n, qw, 15, sizeof(wk_block_q4_K));
}

void wk_quantize_row_q5_K_imat(const float *x, void *y, int64_t n, const float *qw)
{
    quantize_k_w(x, y, n, qw, 31, sizeof(wk_block_q5_K));
}

/* Q6_K with weights: make_qx_quants weighted by the raw importance (ggml's
 * sigma2 scaling is commented out there), then the usual Q6_K finish. */
void wk_quantize_row_q6_K_imat(const float *x, void *vy, int64_t n, const float *qw)
{
    uint8_t *y = vy;
    int8_t L[WK_QK_K];
    float scales[WK_QK_K / 16];
    for (int64_t i = 0; i < n / WK_QK_K; i++, x += WK_QK_K) {
        for (int ib = 0; ib < WK_QK_K / 16; ++ib)
            scales[ib] = wk_q_make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1,
                                             qw + WK_QK_K * i + 16 * ib);
        wk_q6_K_finish(x, scales, L, y + i * sizeof(wk_block_q6_K));
    }
}
