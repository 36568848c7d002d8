/* wk_model.h — a reference forward pass of the LLaMA family in C, for
 * wk-eval (perplexity, KL divergence, importance matrices).
 *
 * CONTRACT (fixed before the implementation; wk_model.c, wk_forward*.c own it):
 *   - wk_model_open reads weights through wk_source (GGUF of any type weightkit
 *     quantizes, F32/F16/BF16 GGUF, safetensors, HF and Meta directories), mapped,
 *     never copied whole.  Hyper-parameters come from the GGUF KVs, config.json or
 *     params.json and are cross-checked against the tensor shapes; anything the
 *     forward does not implement (an architecture, a rope scaling type, a
 *     parameter that changes the computation) is refused by name.
 *   - Rotary: Meta checkpoints use the interleaved convention (pairs 2i, 2i+1),
 *     HF checkpoints the half-split one (i, i + d/2); GGUF llama q/k are stored in
 *     Meta's order (wk-pack un-permutes), Qwen2 GGUF is NEOX (half-split).
 *   - Matmuls: quantized weights are dotted with activations quantized to Q8_0 /
 *     Q8_K by the integer dot kernels (wk_dot.h), as ggml's CPU backend does;
 *     F16/BF16/F32 weights in float with float accumulation.  Batched: a chunk of
 *     tokens at a time (a GEMM: each weight row is read once per chunk).
 *   - Deterministic: the same logits bit for bit for any thread count.
 *   - Memory: weights mapped; the KV cache for n_ctx positions; scratch for one
 *     chunk.  The engine never prints or exits. */
#ifndef WK_MODEL_H
#define WK_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_source.h"

typedef struct wk_model wk_model;

typedef struct {
    int threads;        /* <= 0: default (wk_threads) */
    int64_t n_ctx;      /* positions the KV cache holds (> 0) */
    int64_t n_batch;    /* tokens per forward chunk (<= 0: 512, capped at n_ctx) */
} wk_model_opts;

void wk_model_opts_init(wk_model_opts *o);

/* Open path (file or directory, as wk_source_open).  NULL with *err. */
wk_model *wk_model_open(const char *path, const wk_model_opts *o, wk_err *err);
void wk_model_close(wk_model *m);   /* safe on NULL */

int64_t wk_model_n_vocab(const wk_model *m);
int64_t wk_model_n_embd(const wk_model *m);
int64_t wk_model_n_layer(const wk_model *m);
int64_t wk_model_n_ctx_train(const wk_model *m);
/* Weights' bits per weight over all matmul tensors (for the KLD-vs-bpw plot). */
double wk_model_bpw(const wk_model *m);
/* The architecture name as in GGUF general.architecture ("llama", "qwen2"). */
const char *wk_model_arch(const wk_model *m);

/* Called for every matmul input (the rows x cols activations about to be
 * multiplied by the weight tensor `weight`, named as in GGUF, e.g.
 * "blk.0.attn_q.weight"), in float, before quantization: what llama-imatrix's
 * eval callback collects.  Called from the calling thread, in a fixed order. */
typedef int (*wk_model_act_fn)(void *ctx, const char *weight, const float *x, int64_t rows,
                               int64_t cols, wk_err *err);

/* Evaluate tokens[0..n) at positions pos0..pos0+n-1, after the positions
 * [0, pos0) evaluated before (KV cache; pos0 = 0 starts a new sequence).
 * pos0 + n <= n_ctx.  logits: n * n_vocab floats (row per token), or NULL
 * when only act is wanted.  act may be NULL.  Token ids are range-checked
 * (WK_E_USAGE naming the index). */
int wk_model_eval(wk_model *m, const int32_t *tokens, int64_t n, int64_t pos0, float *logits,
                  wk_model_act_fn act, void *act_ctx, wk_err *err);

/* The same, with logits only for rows [out0, n) (logits: (n - out0) * n_vocab
 * floats): what llama-perplexity asks of llama_decode (the first half of each
 * window is not scored, so its lm_head rows are not computed).  0 <= out0 <= n. */
int wk_model_eval_out(wk_model *m, const int32_t *tokens, int64_t n, int64_t pos0, int64_t out0,
                      float *logits, wk_model_act_fn act, void *act_ctx, wk_err *err);

/* The BOS id (-1 if none) and whether the vocabulary adds it (*add_bos):
 * GGUF tokenizer.ggml.bos_token_id / add_bos_token (absent: added for
 * SentencePiece "llama" vocabularies, as llama.cpp); HF config.json
 * bos_token_id and tokenizer_config.json add_bos_token (absent: added, but
 * not for Qwen2); Meta: 1, added (LLaMA's SentencePiece <s>). */
int32_t wk_model_bos(const wk_model *m, int *add_bos);

/* The tensor source the model reads (its GGUF for the tokenizer, its inputs
 * for an output that must not overwrite them).  Owned by m. */
const wk_source *wk_model_source(const wk_model *m);

#endif
