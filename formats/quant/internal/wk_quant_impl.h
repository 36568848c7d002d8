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
