/* wk_quant_dequant.c — block -> float, giving exactly the floats of ggml's
 * dequantize_row_* (same operations in the same order, float32, no FMA
 * contraction), plus the per-type scale checks and a dequantize-and-dot.
 * Blocks are copied out with memcpy, so input needs no alignment. */
#include "wk_quant.h"
#include "wk_half.h"

#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- legacy blocks -------------------------------------------------------------- */

void wk_dequantize_row_q4_0(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK; i++, y += WK_QK) {
        wk_block_q4_0 b;
        memcpy(&b, x + i * sizeof b, sizeof b);
        const float d = wk_f16_to_f32(b.d);
        for (int j = 0; j < WK_QK / 2; j++) {
            y[j] = ((b.qs[j] & 0x0F) - 8) * d;
            y[j + 16] = ((b.qs[j] >> 4) - 8) * d;
        }
    }
}

void wk_dequantize_row_q4_1(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK; i++, y += WK_QK) {
        wk_block_q4_1 b;
        memcpy(&b, x + i * sizeof b, sizeof b);
        const float d = wk_f16_to_f32(b.d), m = wk_f16_to_f32(b.m);
        for (int j = 0; j < WK_QK / 2; j++) {
            y[j] = (b.qs[j] & 0x0F) * d + m;
            y[j + 16] = (b.qs[j] >> 4) * d + m;
        }
    }
}

/* 5-bit value j (and j+16) from qs nibbles and the 32-bit qh word. */
static inline int q5_lo(const uint8_t *qs, uint32_t qh, int j)
{
    return (qs[j] & 0x0F) | (int)(((qh >> j) << 4) & 0x10);
}

static inline int q5_hi(const uint8_t *qs, uint32_t qh, int j)
{
    return (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
}

void wk_dequantize_row_q5_0(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK; i++, y += WK_QK) {
        wk_block_q5_0 b;
        uint32_t qh;
        memcpy(&b, x + i * sizeof b, sizeof b);
        memcpy(&qh, b.qh, sizeof qh);
        const float d = wk_f16_to_f32(b.d);
        for (int j = 0; j < WK_QK / 2; j++) {
            y[j] = (q5_lo(b.qs, qh, j) - 16) * d;
            y[j + 16] = (q5_hi(b.qs, qh, j) - 16) * d;
        }
    }
}

void wk_dequantize_row_q5_1(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK; i++, y += WK_QK) {
        wk_block_q5_1 b;
        uint32_t qh;
        memcpy(&b, x + i * sizeof b, sizeof b);
        memcpy(&qh, b.qh, sizeof qh);
        const float d = wk_f16_to_f32(b.d), m = wk_f16_to_f32(b.m);
        for (int j = 0; j < WK_QK / 2; j++) {
            y[j] = q5_lo(b.qs, qh, j) * d + m;
            y[j + 16] = q5_hi(b.qs, qh, j) * d + m;
        }
    }
}

void wk_dequantize_row_q8_0(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK; i++, y += WK_QK) {
        wk_block_q8_0 b;
        memcpy(&b, x + i * sizeof b, sizeof b);
        const float d = wk_f16_to_f32(b.d);
        for (int j = 0; j < WK_QK; j++) y[j] = b.qs[j] * d;
    }
}

/* ---- k-quants ------------------------------------------------------------------- */

/* Scale and min of sub-block j from the 12-byte field (get_scale_min_k4). */
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void wk_dequantize_row_q4_K(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK_K; i++) {
        wk_block_q4_K b;
        memcpy(&b, x + i * sizeof b, sizeof b);
        const float d = wk_f16_to_f32(b.d), min = wk_f16_to_f32(b.dmin);
        const uint8_t *q = b.qs;
        for (int is = 0; is < 8; is += 2, q += 32) {
            uint8_t sc, m;
            scale_min_k4(is, b.scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            scale_min_k4(is + 1, b.scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void wk_dequantize_row_q5_K(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK_K; i++) {
        wk_block_q5_K b;
        memcpy(&b, x + i * sizeof b, sizeof b);
        const float d = wk_f16_to_f32(b.d), min = wk_f16_to_f32(b.dmin);
        const uint8_t *ql = b.qs;
        unsigned u1 = 1, u2 = 2;
        for (int is = 0; is < 8; is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            scale_min_k4(is, b.scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            scale_min_k4(is + 1, b.scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * ((ql[l] & 0xF) + (b.qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * ((ql[l] >> 4) + (b.qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

void wk_dequantize_row_q6_K(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t i = 0; i < k / WK_QK_K; i++) {
        wk_block_q6_K b;
        memcpy(&b, x + i * sizeof b, sizeof b);
        const float d = wk_f16_to_f32(b.d);
        for (int h = 0; h < 2; h++, y += 128) {
            const uint8_t *ql = b.ql + 64 * h, *qh = b.qh + 32 * h;
            const int8_t *sc = b.scales + 8 * h;
            for (int l = 0; l < 32; ++l) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

/* ---- error measure ------------------------------------------------------------------ */

double wk_quant_sq_error(int type, const float *x, const void *q, int64_t n, const float *w)
{
    const wk_qtraits *qt = wk_qtraits_get(type);
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    const int blck = (int)ti->blck;
    float y[WK_QK_K];
    const uint8_t *p = q;
    double e = 0;
    for (int64_t b = 0; b < n / blck; b++, p += ti->size) {
        qt->dequantize(p, y, blck);
        for (int i = 0; i < blck; i++) {
            double r = (double)x[b * blck + i] - y[i];
            e += (w ? w[b * blck + i] : 1.0) * r * r;
        }
    }
    return e;
}
