/* wk_quant_impl.h — private to formats/quant/: helpers shared by the kernel
 * files (reference, search, SIMD, dot).  Not on any other layer's include
 * path; nothing outside formats/quant/ may rely on it. */
#ifndef WK_QUANT_IMPL_H
#define WK_QUANT_IMPL_H

#include <stdint.h>
#include <string.h>
#include "wk_quant.h"


/* Q4_K (nmax 15) / Q5_K (nmax 31) after the per-sub-block search: given the 8
 * sub-block scales, mins and L[256] (0..nmax), quantize the scales to 6 bits,
 * requantize x with the fp16 d/dmin and write the block (wk_quant_ref.c). */
void wk_q_k_finish(const float *x, int nmax, const float *scales, const float *mins,
                   uint8_t *L, void *block);
/* Q6_K after the 16 sub-block searches (scales[16], L[256] in 0..63). */
void wk_q6_K_finish(const float *x, const float *scales, int8_t *L, void *block);
/* Q4_K / Q5_K requantization with fp16 d16/dmin16 and the packed 6-bit scales
 * sc12, then packing (the second half of wk_q_k_finish). */
void wk_q_k_pack(const float *x, int nmax, const uint8_t *sc12, uint16_t d16, uint16_t dmin16,
                 uint8_t *L, void *block);

/* ggml's make_qx_quants (wk_quant_ref.c): n values to L = l + nmax in
 * [0, 2*nmax), weights qw or (qw NULL) by rmse_type 1..4; rmse_type < 0 is
 * ggml's "return early" variant of -rmse_type; 0 no search.  Returns the scale. */
float wk_q_make_qx_quants(int n, int nmax, const float *x, int8_t *L, int rmse_type,
                          const float *qw);
/* ggml's make_qkx2_quants (wk_quant_ref.c): asymmetric, L in [0, nmax],
 * value = scale*L - *the_min; Laux is scratch of n bytes. */
float wk_q_make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
                            uint8_t *L, float *the_min, uint8_t *Laux,
                            float rmin, float rdelta, int nstep, int use_mad);

/* ggml's make_qkx3_quants (wk_quant_imat.c): make_qkx2 with weights x^2
 * when weights is NULL and ggml's own early exit. */
float wk_q_make_qkx3_quants(int n, int nmax, const float *x, const float *weights,
                            uint8_t *L, float *the_min, uint8_t *Laux,
                            float rmin, float rdelta, int nstep, int use_mad);
/* ggml's make_qp_quants (wk_quant_imat.c): n non-negative values to L in
 * [0, nmax] with one scale, weighted by qw. */
float wk_q_make_qp_quants(int n, int nmax, const float *x, uint8_t *L, const float *qw);
/* ggml's kvalues_iq4nl (wk_quant_lowbit.c). */
extern const int8_t wk_kvalues_iq4nl[16];
/* IQ4_NL / IQ4_XS: the search for the scale of one sub-block of 32 values
 * xb with weights `weight` (ggml's quantize_row_iq4_nl_impl inner loop,
 * ntry 7): returns the scale (0 for an all-zero sub-block) and writes the
 * grid indices of the first fit to Lb[32]. */
typedef float (*wk_iq4_search_fn)(const float *xb, const float *weight, uint8_t *Lb);
/* k values (a multiple of sbs: 32 IQ4_NL, 256 IQ4_XS) into blocks at y, with
 * importance weights qw (NULL: none) and the given search
 * (wk_quant_lowbit.c; the reference passes its scalar search). */
void wk_iq4_quantize(int sbs, const float *x, void *y, int64_t k, const float *qw,
                     wk_iq4_search_fn search);
/* The AVX2 search (x86/wk_quant_iq4_avx2.c), same results as the scalar one. */
float wk_iq4_search_avx2(const float *xb, const float *weight, uint8_t *Lb);

/* The per-block (per-super-block) second halves of the 2-6-bit quantizers,
 * shared by the scalar references and their AVX2 twins (which replace only
 * the per-sub-block searches; x86/wk_quant_w_avx2.c):
 *   wk_q_legacy_put  Q4_0 (nmax 8), Q5_0 (16), Q4_1 (15), Q5_1 (31): the block
 *                    of scale d (and min, the _1 types' -m) and L[32] (wk_quant_imat.c);
 *   wk_q_k_finish_w  Q4_K/Q5_K with weights: make_qp_quants of the 8 scales and
 *                    mins weighted by sw[8], then wk_q_k_pack (wk_quant_imat.c);
 *   wk_q2_K_finish   Q2_K from 16 scales/mins and L[256] (0..3), unweighted /
 *   wk_q2_K_finish_w with weights (sw[16]: the sub-blocks' weight sums);
 *   wk_q3_K_finish   Q3_K from 16 scales and L[256] (0..7), unweighted /
 *   wk_q3_K_finish_w with weights (wk_quant_lowbit.c); `tail` (NULL: the
 *                    scalar one) does the rest once b's scales and d are set:
 *                    requantization with them, hmask, 2-bit packing.
 * L is rewritten (requantization); the block goes to `block`, any alignment. */
/* Sum of x[j]^2 over n values, sequential in float (ggml's sum_x2 loops). */
float wk_q_sum_sq(const float *x, int64_t n);
void wk_q_legacy_put(int nmax, float d, float min, const uint8_t *L, void *block);
void wk_q_k_finish_w(const float *x, int nmax, const float *scales, const float *mins,
                     const float *sw, uint8_t *L, void *block);
void wk_q2_K_finish(const float *x, const float *scales, const float *mins, uint8_t *L,
                    void *block);
void wk_q2_K_finish_w(const float *x, const float *scales, const float *mins, const float *sw,
                      uint8_t *L, void *block);
typedef void (*wk_q3_tail_fn)(const float *x, wk_block_q3_K *b, int8_t *L);
void wk_q3_K_finish(const float *x, const float *scales, int8_t *L, void *block, wk_q3_tail_fn tail);
void wk_q3_K_finish_w(const float *x, const float *scales, const float *sw, int8_t *L, void *block,
                      wk_q3_tail_fn tail);

/* The 16 signed scales (-32..31) of a Q3_K block's 12-byte field. */
void wk_q3_K_scales(const uint8_t *s12, int *sc);
/* The 6-bit scale (0..63) of sub-block ib of an IQ4_XS block. */
int wk_iq4_xs_scale(uint16_t scales_h, const uint8_t *scales_l, int ib);

/* 6-bit scale ls and min lm of sub-block j (0..7) into the 12-byte k-quant
 * field, as ggml writes it (values above 63 keep ggml's overlapping bits).
 * Bytes 0..7 must be written (j < 4) before their top bits are (j >= 4). */
static inline void wk_q_put_scale_min_k4(int j, uint8_t *q, uint8_t ls, uint8_t lm)
{
    if (j < 4) {
        q[j] = ls;
        q[j + 4] = lm;
    } else {
        q[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
        q[j - 4] |= (uint8_t)((ls >> 4) << 6);
        q[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

/* ggml's get_scale_min_k4 (the inverse of wk_q_put_scale_min_k4). */
static inline void wk_q_get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}


/* ggml's nearest_int: round to nearest, ties to even, by adding 1.5*2^23 and
 * reading the mantissa; for |f| > 2^22 (or NaN/Inf) it returns ggml's
 * deterministic garbage, bit for bit. */
static inline int wk_q_nearest_int(float f)
{
    float v = f + 12582912.f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* float -> int32 truncation as x86's cvttss2si / cvttps2dq: NaN and values
 * outside [-2^31, 2^31) give INT32_MIN (C leaves them undefined). */
static inline int32_t wk_q_trunc_i32(float v)
{
    if (v >= -2147483648.0f && v < 2147483648.0f) return (int32_t)v;
    return INT32_MIN;
}

/* (int8_t)v as ggml's x86 build computes it: the low byte of the truncation. */
static inline int wk_q_trunc_i8(float v)
{
    int b = (int)((uint32_t)wk_q_trunc_i32(v) & 0xffu);
    return b >= 128 ? b - 256 : b;
}

#endif
