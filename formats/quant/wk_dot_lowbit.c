/* wk_dot_lowbit.c — stage 1 (exact integer sums, wk_dot.h) of the integer
 * dot products of Q2_K, Q3_K, IQ4_NL and IQ4_XS weights with Q8_K (Q8_0 for
 * IQ4_NL) activations: the scalar reference of the AVX2 kernels in
 * x86/wk_dot_avx2.c.  The integer sums are those of ggml's
 * ggml_vec_dot_*_q8_K / _q8_0 (tests/peer/bench_ggml.sh checks them against
 * ggml's haswell vec_dot bit for bit with unit scales). */
#include "wk_dot.h"
#include "wk_quant_impl.h"

#include <string.h>

/* sum_i q[i] * a[i] over n values. */
static int32_t idot(const int *q, const int8_t *a, int n)
{
    int32_t s = 0;
    for (int i = 0; i < n; i++) s += q[i] * a[i];
    return s;
}

/* 256 2-bit codes of qs in value order (ggml's q2/q3 layout). */
static void codes_2bit(const uint8_t *qs, int *q)
{
    for (int n = 0; n < 2; n++, qs += 32)
        for (int shift = 0, j = 0; j < 4; j++, shift += 2)
            for (int l = 0; l < 32; l++) q[128 * n + 32 * j + l] = (qs[l] >> shift) & 3;
}

void wk_isum_q2_K_ref(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum)
{
    const wk_block_q2_K *x = w;
    const wk_block_q8_K *y = a;
    for (int64_t b = 0; b < nb; b++) {
        wk_block_q2_K blk;
        wk_block_q8_K ab;
        int q[WK_QK_K];
        memcpy(&blk, x + b, sizeof blk);
        memcpy(&ab, y + b, sizeof ab);
        codes_2bit(blk.qs, q);
        int32_t s = 0, m = 0;
        for (int j = 0; j < 16; j++) {
            s += (blk.scales[j] & 0xF) * idot(q + 16 * j, ab.qs + 16 * j, 16);
            m += (blk.scales[j] >> 4) * ab.bsums[j];
        }
        isum[b] = s;
        msum[b] = m;
    }
}

void wk_isum_q3_K_ref(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum)
{
    const wk_block_q3_K *x = w;
    const wk_block_q8_K *y = a;
    for (int64_t b = 0; b < nb; b++) {
        wk_block_q3_K blk;
        wk_block_q8_K ab;
        int q[WK_QK_K], sc[16];
        memcpy(&blk, x + b, sizeof blk);
        memcpy(&ab, y + b, sizeof ab);
        codes_2bit(blk.qs, q);
        for (int i = 0; i < WK_QK_K; i++)   /* bit i/32 of hmask[i%32] set: no -4 */
            q[i] -= (blk.hmask[i % 32] >> (i / 32)) & 1 ? 0 : 4;
        wk_q3_K_scales(blk.scales, sc);
        int32_t s = 0;
        for (int j = 0; j < 16; j++) s += sc[j] * idot(q + 16 * j, ab.qs + 16 * j, 16);
        isum[b] = s;
        msum[b] = 0;
    }
}

void wk_isum_iq4_nl_ref(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum)
{
    const wk_block_iq4_nl *x = w;
    const wk_block_q8_0 *y = a;
    for (int64_t b = 0; b < nb; b++) {
        wk_block_iq4_nl blk;
        int q[WK_QK];
        memcpy(&blk, x + b, sizeof blk);
        for (int j = 0; j < 16; j++) {
            q[j] = wk_kvalues_iq4nl[blk.qs[j] & 0xf];
            q[j + 16] = wk_kvalues_iq4nl[blk.qs[j] >> 4];
        }
        isum[b] = idot(q, y[b].qs, WK_QK);
        msum[b] = 0;
    }
}

void wk_isum_iq4_xs_ref(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum)
{
    const wk_block_iq4_xs *x = w;
    const wk_block_q8_K *y = a;
    for (int64_t b = 0; b < nb; b++) {
        wk_block_iq4_xs blk;
        wk_block_q8_K ab;
        int q[32];
        memcpy(&blk, x + b, sizeof blk);
        memcpy(&ab, y + b, sizeof ab);
        int32_t s = 0;
        for (int ib = 0; ib < 8; ib++) {
            const uint8_t *qs = blk.qs + 16 * ib;
            for (int j = 0; j < 16; j++) {
                q[j] = wk_kvalues_iq4nl[qs[j] & 0xf];
                q[j + 16] = wk_kvalues_iq4nl[qs[j] >> 4];
            }
            s += (wk_iq4_xs_scale(blk.scales_h, blk.scales_l, ib) - 32) * idot(q, ab.qs + 32 * ib, 32);
        }
        isum[b] = s;
        msum[b] = 0;
    }
}
