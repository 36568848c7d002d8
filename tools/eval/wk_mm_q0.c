/* wk_mm_q0.c — Q4_0 and Q8_0 weight dots in the float order of llama.cpp's
 * x86 CPU backend for those two types (wk_model_int.h), not wk_dot.h's
 * 8-lane order: ggml's matmul does not use its vec_dot kernels for them.
 *   Q4_0 (repacked q4_0_8x8, gemm and gemv alike): per block the exact
 *     int32 sum, then one accumulator acc = fma((float)isum, dw*da, acc)
 *     block after block.
 *   Q8_0 (llamafile tinyBLAS_Q0_AVX for a batch; vec_dot_q8_0_q8_0 for one
 *     row, the same arithmetic): per block 8 int32 lanes, lane j the sum of
 *     the products of bytes 4j..4j+3, each lane fma'd into its own float
 *     accumulator with dw*da, then a fixed pairwise sum of the 8 lanes. */
#include <math.h>
#include <string.h>

#include "wk_dot.h"
#include "wk_ggml.h"
#include "wk_half.h"
#include "wk_model_int.h"
#include "wk_quant.h"

float wk_mm_dot_q4_0(int simd, const uint8_t *w, const uint8_t *a, int64_t k)
{
    enum { CH = 1024 };
    int64_t nb = k / WK_QK;
    int32_t isum[CH], msum[CH];
    float sw[CH], sm[CH], acc = 0.0f;
    if (nb > CH) simd = 0;   /* the AVX2 kernel needs the whole row in one call */
    for (int64_t b0 = 0; b0 < nb; b0 += CH) {
        int64_t c = nb - b0 < CH ? nb - b0 : CH;
        const uint8_t *wb = w + (size_t)b0 * sizeof(wk_block_q4_0), *ab = a + (size_t)b0 * sizeof(wk_block_q8_0);
        wk_dot_isums(WK_GGML_Q4_0, simd, wb, ab, c, isum, msum);
        wk_dot_scales(WK_GGML_Q4_0, wb, ab, c, sw, sm);
        for (int64_t i = 0; i < c; i++) acc = fmaf((float)isum[i], sw[i], acc);
    }
    return acc;
}

float wk_mm_dot_q8_0(const uint8_t *w, const uint8_t *a, int64_t k)
{
    int64_t nb = k / WK_QK;
    const wk_block_q8_0 *x = (const wk_block_q8_0 *)(const void *)w, *y = (const wk_block_q8_0 *)(const void *)a;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t b = 0; b < nb; b++) {
        float d = wk_f16_to_f32(x[b].d) * wk_f16_to_f32(y[b].d);
        for (int j = 0; j < 8; j++) {
            int32_t s = 0;
            for (int i = 4 * j; i < 4 * j + 4; i++) s += (int32_t)x[b].qs[i] * y[b].qs[i];
            acc[j] = fmaf(d, (float)s, acc[j]);
        }
    }
    return wk_dot_reduce(acc);
}
