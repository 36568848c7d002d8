/* wk_model_int.h — the inside of wk_model (tools/eval only): the weights as
 * bound to the forward pass, the hyper-parameters, the KV cache and the
 * matmul kernels (wk_mm.c).  Not a contract for other engines. */
#ifndef WK_MODEL_INT_H
#define WK_MODEL_INT_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_model.h"
#include "wk_source.h"

/* One weight tensor, row-major [rows, cols], stored as ggml type `type`
 * (F32, F16, BF16 or a quant type with integer dot kernels). */
typedef struct {
    const char *name;        /* GGUF name (owned by the model) */
    const uint8_t *data;     /* mapped bytes, or `owned` */
    uint8_t *owned;          /* a copy when the source is not contiguous (merged Meta ranks) */
    int type;
    int64_t rows, cols;
    size_t row_bytes;
} wk_mw;

typedef struct {
    float *attn_norm, *ffn_norm;   /* [n_embd] */
    float *bq, *bk, *bv;           /* Qwen2 biases, else NULL */
    wk_mw wq, wk, wv, wo, gate, up, down;
} wk_mlayer;

struct wk_model {
    wk_source *src;
    char arch[16];
    int64_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train;
    double eps, theta, freq_scale;
    int rope_neox;                 /* 1: half-split pairs (i, i+d/2); 0: interleaved (2i, 2i+1) */
    float *rope_freqs;             /* llama3 divisors [head_dim/2], or NULL */
    float *out_norm;
    wk_mw tok_embd, output;        /* output = tok_embd when tied */
    wk_mlayer *layers;
    int32_t bos;
    int add_bos;
    double bpw;
    wk_model_opts o;
    float *kc, *vc;                /* [n_layer][n_ctx][n_head_kv * head_dim] */
    /* chunk scratch (n_batch rows) */
    float *x, *xn, *q, *k, *v, *att, *g, *u;
    char **names;                  /* owned GGUF-style names */
    size_t n_names;
};

/* ---- matmuls (wk_mm.c) ------------------------------------------------------------ */

/* y[t][r] = sum_c W[r][c] x[t][c] for t < n, r < rows (y: n x rows).  Float
 * weights in float (8-lane FMA order, wk_fdot); quantized weights by the
 * integer dot kernels on x quantized once per row (Q8_0 / Q8_K, cached in
 * *qa for a second weight of the same activation type over the same x: pass
 * the same cache and set qa->x = NULL to invalidate).  OpenMP over blocks of
 * output rows; the same bits for any thread count.  WK_E_NOMEM only. */
typedef struct {
    const float *x;      /* the x the buffers below were made from */
    int64_t n;
    uint8_t *buf[2];     /* [0] Q8_0 rows, [1] Q8_K rows */
    size_t cap[2];
    float *s;            /* per Q8_0 block: fp16(d * sum q), ggml's Q8_1 "s" (q4_1, q5_1) */
    size_t s_cap;
    int valid[2];
} wk_mm_act;
int wk_mm(const wk_mw *w, const float *x, int64_t n, float *y, wk_mm_act *qa, wk_err *err);
/* Q4_0 / Q8_0 weight row w times one Q8_0 activation row a of k values, in
 * the float order of llama.cpp's x86 matmul for those types (wk_mm_q0.c),
 * which wk_mm uses for them.  simd selects wk_dot_isums's AVX2 integer stage
 * (only if wk_dot_have_simd()); the float result does not depend on it. */
float wk_mm_dot_q4_0(int simd, const uint8_t *w, const uint8_t *a, int64_t k);
float wk_mm_dot_q8_0(const uint8_t *w, const uint8_t *a, int64_t k);
void wk_mm_act_free(wk_mm_act *qa);

/* Row r of w as k = w->cols floats (the embedding lookup). */
void wk_mw_row(const wk_mw *w, int64_t r, float *out);

/* Float dot of n values: 8 lanes, lane l accumulates i = l (mod 8) with a
 * fused multiply-add, then a fixed pairwise sum, then the tail (n % 8)
 * added in order.  _ref is the scalar definition; wk_fdot picks the AVX2
 * kernel when the CPU has AVX2+FMA — the same bits. */
float wk_fdot_ref(const float *a, const float *b, int64_t n);
float wk_fdot(const float *a, const float *b, int64_t n);
/* Four dots of one b with rows a0..a3 (each as wk_fdot). */
void wk_fdot4(const float *a0, const float *a1, const float *a2, const float *a3, const float *b,
              int64_t n, float out[4]);
int wk_fdot_simd(void);

#endif
