/* wk_gguf_llama.h — a LLaMA-family model (HF or Meta layout, or a GGUF / a
 * safetensors file made from one) as a GGUF file llama.cpp loads.  HF
 * directories: the config.json architectures of wk_arch.h (Llama 1/2/3.x,
 * Mistral -> "llama", Qwen2 -> "qwen2"; docs/formats/llama-layouts.md §4).
 *
 * What it decides (docs/pack.md, docs/formats/gguf.md):
 *   - tensor names: HF (model.layers.N.self_attn.q_proj.weight ...) and Meta
 *     (layers.N.attention.wq.weight ...) to llama.cpp's (blk.N.attn_q.weight
 *     ...); rotary buffers (rope.freqs, rotary_emb.inv_freq) are dropped, any
 *     other unknown name is an error;
 *   - shapes in ggml order (ne = reversed torch shape);
 *   - HF q/k rows un-permuted back to Meta's interleaved rotary layout (a Meta
 *     input already has it);
 *   - types: --outtype f32|f16|bf16 for 2-D weights, 1-D tensors (norms) always
 *     F32, as llama.cpp's converter does; "auto" keeps the stored type;
 *   - metadata: general.*, every llama.* hyperparameter with the exact GGUF
 *     type llama.cpp insists on, the SentencePiece vocabulary (tokens, scores,
 *     token types, special ids, add_bos/add_eos) with HF added tokens
 *     (added_tokens.json, added_tokens_decoder), an optional chat template,
 *     and per-tensor XXH3-64 digests (weightkit.digest.*);
 *   - tensor order: llama.cpp's (non-block tensors first, then by block
 *     number, then by name), so the same tensors always give the same file.
 * A GGUF input keeps its metadata and names (only types may change); a
 * safetensors input carrying weightkit.gguf.kv (written by wk-pack from a
 * GGUF) gives back that GGUF byte for byte.
 *
 * Use: wk_gl_plan_new() (reads config / tokenizer, maps tensors, computes
 * the digests: one read pass over the weights), then wk_gl_write() (the
 * second pass, strictly forward to a sink), wk_gl_free(). */
#ifndef WK_GGUF_LLAMA_H
#define WK_GGUF_LLAMA_H

#include <stddef.h>
#include <stdint.h>
#include "wk_arch.h"
#include "wk_err.h"
#include "wk_gguf.h"
#include "wk_json.h"
#include "wk_progress.h"
#include "wk_sink.h"
#include "wk_source.h"
#include "wk_spm.h"

typedef enum { WK_OUTTYPE_AUTO = 0, WK_OUTTYPE_F32, WK_OUTTYPE_F16, WK_OUTTYPE_BF16 } wk_outtype;

/* "auto", "f32", "f16", "bf16" <-> enum; -1 if unknown. */
int wk_outtype_parse(const char *s);
const char *wk_outtype_name(wk_outtype t);

/* The Metharme (Pygmalion) chat template, a Jinja string for
 * tokenizer.chat_template: system messages first, then user / model turns,
 * "<|system|>", "<|user|>", "<|model|>" prefixes, no separators. */
const char *wk_gl_chat_template_metharme(void);

typedef struct {
    wk_outtype outtype;
    uint32_t alignment;         /* 0 = 32 (general.alignment written only if != 32) */
    const char *vocab;          /* tokenizer.model, or NULL: the source dir, then its parent */
    const char *pre;            /* byte-level BPE: tokenizer.ggml.pre (--pre), NULL: identified */
    const char *name;           /* general.name, or NULL: the source directory's name */
    uint32_t ctx;               /* llama.context_length, 0 = from config (see docs/pack.md) */
    const char *chat_template;  /* NULL, "metharme", or a file holding a template */
    int digests;                /* store weightkit.digest.* (default 1) */
    int threads;                /* digest pass threads (<= 0 = default) */
    int allow_nonfinite;        /* 0: NaN/Inf in a float tensor, or a value that becomes inf
                                   in the output type, is an error (wk_source_nonfinite_check);
                                   1: passed on and counted (wk_gl_nonfinite) */
} wk_gl_opts;

void wk_gl_opts_init(wk_gl_opts *o);

/* LLaMA hyperparameters as written. */
typedef struct {
    uint32_t n_vocab, n_ctx, n_embd, n_layer, n_ff, n_head, n_head_kv, n_rot;
    float norm_eps, rope_theta;
    int has_rope_scaling;
    float rope_scaling_factor;  /* linear scaling */
} wk_gl_hparams;

/* llama.cpp name for an HF or Meta tensor name into out (>= 64 bytes).
 * Returns 0 (mapped; *permute = 1 for HF attn_q, 2 for HF attn_k, else 0),
 * 1 (a tensor llama.cpp does not use: rotary buffers), -1 (unknown). */
int wk_gl_map_name(const char *name, int hf, char *out, size_t cap, int *permute);

/* llama.cpp's tensor order (llama_model_loader's weight_name_comparer):
 * negative if a sorts before b. */
int wk_gl_name_cmp(const char *a, const char *b);

typedef struct wk_gl wk_gl;

/* Plan the GGUF for src.  Errors name the file / key / tensor: an
 * architecture, config key, rope_scaling type or sliding window wk_arch.h
 * refuses (WK_E_UNSUPPORTED), tie_word_embeddings against lm_head, missing
 * or unexpected attention biases, missing config.json or params.json, tokenizer.model not found or malformed,
 * unknown tensor, missing tensor, shape inconsistent with the config,
 * vocabulary larger than the embedding, config.json vocab_size or the output
 * matrix disagreeing with the embedding, a malformed added_tokens.json /
 * added_tokens_decoder, unsupported dtype conversion.  The vocabulary has
 * exactly one entry per embedding row: tokenizer.model's pieces, then HF added
 * tokens (docs/formats/gguf.md, as llama.cpp's converter), then [PAD<i>]. */
wk_gl *wk_gl_plan_new(const wk_source *src, const wk_gl_opts *o, wk_progress_fn progress,
                      void *pctx, wk_err *err);
void wk_gl_free(wk_gl *p);

uint64_t wk_gl_total_size(const wk_gl *p);
const wk_gl_hparams *wk_gl_hparams_of(const wk_gl *p);   /* NULL for GGUF/carried inputs */
size_t wk_gl_tensor_count(const wk_gl *p);
/* Output name, ggml type and source tensor index of output tensor i. */
const char *wk_gl_tensor_name(const wk_gl *p, size_t i, int *type, size_t *src);
/* NaN/Inf values written (read as such, and made by the conversion): known
 * after wk_gl_plan_new with digests, else after wk_gl_write. */
void wk_gl_nonfinite(const wk_gl *p, uint64_t *in_bad, uint64_t *overflow);
/* llama_ftype written as general.file_type. */
uint32_t wk_gl_file_type(const wk_gl *p);

/* The JSON file `name` in src's directory, parsed (*root NULL and 0 if absent), recorded
 * in src's inputs; *path (if not NULL) gets its malloc'd path.  Errors name the file. */
int wk_gl_load_json(const wk_source *src, const char *name, wk_json **root, char **path, wk_err *err);

/* llama.cpp's converter's does_token_look_special: "<pad>", "<mask>", "<|...|>", ... */
int wk_gl_token_looks_special(const char *t, size_t n);

/* ---- hyper-parameters for a reader (wk-eval's forward pass) ---------------------- */

/* What an HF or Meta source (not GGUF) says about the model, read and
 * checked exactly as wk_gl_plan_new does (config.json / params.json, the
 * architecture table, unknown keys, rope_scaling, sliding window against ctx,
 * tensor shapes against the hyper-parameters, stored rotary buffers). */
typedef struct {
    const wk_arch *arch;
    int hf;                 /* 1: HF tensor names (half-split rotary); 0: Meta names */
    wk_gl_hparams hp;       /* n_vocab, n_ff, n_rot confirmed by the tensors */
    double theta;           /* rope_theta as read */
    float *rope_freqs;      /* rope_scaling llama3: n_rot/2 divisors (malloc'd: the caller
                               frees), else NULL */
    int tie;                /* tie_word_embeddings (HF) */
} wk_gl_model_hp;

/* Fill out for src (an HF or Meta source; ctx: the context that will be
 * evaluated, 0 = the config's).  The errors of wk_gl_plan_new's model mode. */
int wk_gl_model_hparams(const wk_source *src, uint32_t ctx, wk_gl_model_hp *out, wk_err *err);

/* Write the whole file to sink.  progress (may be NULL) gets output bytes. */
int wk_gl_write(wk_gl *p, wk_sink *sink, wk_progress_fn progress, void *pctx, wk_err *err);

#endif
