/* wk_dot.h — integer dot products of quantized weights with quantized
 * activations: the path real runtimes (ggml's vec_dot) take.
 *
 * Activations are quantized per block to 8 bits: to Q8_0 (ggml's block_q8_0,
 * fp16 scale + 32 int8) for the legacy weight types (blocks of 32), and to
 * Q8_K (float scale + 256 int8 + 16 int16 partial sums, ggml's block_q8_K)
 * for the k-quants.  Activation quants must lie in [-127, 127], which both
 * quantizers guarantee (the AVX2 kernels rely on it).  A legacy activation
 * row of nb blocks is the nb Q8_0 blocks followed by nb int16 (host order)
 * block sums sum_i q_a[i] — the exact integer behind the s = d*sum of ggml's
 * Q8_1; wk_dot_quantize_act writes them.  The scalar reference never reads
 * them; the AVX2 kernels use them for msum and to remove the code offsets of
 * q4_0/q5_0, so their `a` must be a whole row as wk_dot_quantize_act wrote it.
 * Likewise a k-quant activation row of nb blocks is the nb Q8_K blocks
 * followed by nb floats, a copy of each block's d (host order): the AVX2 row
 * kernels load 8 of them with one instruction instead of assembling them from
 * 8 blocks 292 bytes apart (issue #23).  wk_dot_act_finish rewrites both
 * trailers from the blocks (after a caller edits blocks in place).
 *
 * Each dot is computed in two stages, and that split is the contract:
 *   1. the integer stage: per weight block b, two exact int32 sums
 *        isum[b] = sum_i q_w[i] * q_a[i]   (k-quants: sum over sub-blocks j of
 *                                           sc_j * sum_{i in j} q_w[i] * q_a[i])
 *        msum[b] = sum_i q_a[i]            (q4_1/q5_1; k-quants: sum_j m_j * bsum_j;
 *                                           0 for q4_0/q5_0/q8_0/q6_k)
 *      where q_w are the block's integer codes (q4_0: q-8, q5_0: q-16,
 *      q6_k: q-32, q3_k: q-4 where its hmask bit is clear, iq4_nl/iq4_xs:
 *      the grid level kvalues_iq4nl[q], others unsigned); q2_k, q3_k,
 *      iq4_xs have per-sub-block scales as the other k-quants (q3_k, iq4_xs:
 *      sc-32), q2_k a per-sub-block min;
 *   2. the float stage (wk_dot_accumulate defines it):
 *        acc[b % 8] += (dw*da) * (float)isum[b] + (mw*da) * (float)msum[b]
 *      with dw, mw the block's scale and min (q4_k/q5_k: mw = -dmin), da the
 *      activation block's scale, then a fixed pairwise sum of the 8 lanes.
 * The scalar reference (_ref) and the AVX2 kernels (_avx2) compute stage 1
 * exactly (integers); the AVX2 path does stage 2 with the same IEEE
 * operations lane by lane (8 blocks per vector: multiply, multiply, add, add,
 * no FMA); a tail of < 8 blocks goes to wk_dot_accumulate (legacy types) or
 * through the same step on 4 lanes (1-4 blocks) or 8 lanes (5-7) with the
 * missing lanes blended out (k-quants),
 * so the two results are identical bit for bit — tested by
 * tests/unit/test_dot.c on rows with and without such tails.  (Cost: the
 * vector float stage is paid per group of 8 blocks, so a tail pays a whole
 * group's; docs/benchmarks.md, issue #23, measures it.)  Against ggml's own vec_dot the
 * integer sums are the same (for q2_k, q3_k, iq4_nl, iq4_xs checked bit for
 * bit with all scales 1, where ggml's float lanes hold the integers exactly);
 * the float stage differs in rounding order (ggml's AVX2 kernels fold each
 * block into 8 float lanes with FMA, in an order set by their unrolling, and
 * its Q8_1 rounds d*sum to fp16 for q4_1/q5_1), so with real scales the
 * comparison uses a tolerance (tests/peer/bench_ggml.sh). */
#ifndef WK_DOT_H
#define WK_DOT_H

#include <stddef.h>
#include <stdint.h>
#include "wk_quant.h"

/* ggml's block_q8_K: activations of one super-block of 256 values. */
typedef struct {
    float d;                      /* scale: value = d * qs[i] */
    int8_t qs[WK_QK_K];
    int16_t bsums[WK_QK_K / 16];  /* sums of qs over groups of 16 */
} wk_block_q8_K;
_Static_assert(sizeof(wk_block_q8_K) == 292, "block_q8_K is 292 bytes");

/* Quantize k floats (k a multiple of 256) to Q8_K exactly as ggml's
 * quantize_row_q8_K_ref (qs in [-127, 127]). */
void wk_quantize_row_q8_K_ref(const float *x, void *y, int64_t k);
/* Dequantize k/256 Q8_K blocks into k floats (d * qs). */
void wk_dequantize_row_q8_K(const void *x, float *y, int64_t k);

/* The ggml type of the activations quant type `type` is dotted with:
 * WK_GGML_Q8_0 for the legacy types (blck 32), WK_GGML_Q8_K for the k-quants
 * (Q8_K is not a weight type of the kernel table). */
int wk_dot_act_type(int type);
/* Bytes of k activation values quantized for weight type `type` (legacy
 * types: the Q8_0 blocks and their int16 sums). */
size_t wk_dot_act_row_size(int type, int64_t k);
/* Quantize k activations (k a multiple of the block size) for weight type
 * `type` into a (wk_dot_act_row_size bytes).  Q8_0 uses the table's AUTO
 * quantizer (SIMD when available, same bytes as the reference), then appends
 * the block sums. */
void wk_dot_quantize_act(int type, const float *x, void *a, int64_t k);
/* Rewrite the trailer of an activation row a of k values from its blocks:
 * the int16 block sums (legacy types) or the copies of d (k-quants). */
void wk_dot_act_finish(int type, void *a, int64_t k);
/* Dequantize them again (k floats). */
void wk_dot_dequantize_act(int type, const void *a, float *x, int64_t k);

/* Stage 1 of weight type `type` over nb blocks (k-quants: super-blocks): w holds
 * nb weight blocks, a the matching activation row (for simd 1 and a legacy
 * type a whole row of nb blocks as wk_dot_quantize_act wrote it: the kernel
 * reads the block sums after the blocks; the reference also accepts any run
 * of blocks); writes isum[0..nb) and msum[0..nb).  simd 1 selects the AVX2
 * kernel: only when wk_dot_have_simd() is 1.  Never fails. */
void wk_dot_isums(int type, int simd, const void *w, const void *a, int64_t nb,
                  int32_t *isum, int32_t *msum);

/* The full dot of k values (k a multiple of the block size; a the whole
 * activation row of wk_dot_quantize_act) by the scalar reference (simd 0) or
 * the AVX2 kernel (simd 1, only if wk_dot_have_simd()); both give the same
 * float. */
float wk_dot_row(int type, int simd, const void *w, const void *a, int64_t k);

/* 1 if the AVX2 dot kernels can run on this CPU. */
int wk_dot_have_simd(void);

/* Stage 2: add n blocks' (isum, msum) with their scale products
 * sw = dw*da, sm = mw*da into acc[8] (block i goes to lane (lane0 + i) % 8). */
void wk_dot_accumulate(float acc[8], int lane0, int64_t n, const int32_t *isum,
                       const int32_t *msum, const float *sw, const float *sm);
/* The fixed pairwise sum of the 8 lanes. */
float wk_dot_reduce(const float acc[8]);
/* sw[i] = dw*da, sm[i] = mw*da of blocks [0, n) of w and a (scalar). */
void wk_dot_scales(int type, const void *w, const void *a, int64_t n, float *sw,
                   float *sm);
/* wk_dot_row(type, 1, ...): stage 1 by AVX2, stage 2 by the same lane-wise
 * float operations in vectors (wk_dot_avx2.c). */
float wk_dot_row_avx2(int type, const void *w, const void *a, int64_t k);

/* The per-type kernels (k a multiple of the block size). */
#define WK_DOT_DECL(T) \
    float wk_vec_dot_##T(const void *w, const void *a, int64_t k); \
    void wk_isum_##T##_ref(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum); \
    void wk_isum_##T##_avx2(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum);
WK_DOT_DECL(q4_0)
WK_DOT_DECL(q4_1)
WK_DOT_DECL(q5_0)
WK_DOT_DECL(q5_1)
WK_DOT_DECL(q8_0)
WK_DOT_DECL(q4_K)
WK_DOT_DECL(q5_K)
WK_DOT_DECL(q6_K)
WK_DOT_DECL(q2_K)
WK_DOT_DECL(q3_K)
WK_DOT_DECL(iq4_nl)
WK_DOT_DECL(iq4_xs)
#undef WK_DOT_DECL

#endif
