/* wk_llama.h — Meta's original LLaMA checkpoint layout and its HF mapping.
 *
 * A Meta model directory holds params.json and consolidated.NN.pth, one file
 * per model-parallel rank (00 .. N-1), each a torch.save'd dict of that rank's
 * slice of every weight (fairscale layout, docs/formats/llama-layouts.md §1.3).  This module
 *   - parses params.json (wk_llama_params),
 *   - opens all ranks (wk_pth, mmap), validates them against each other and
 *     against params.json, and infers the model geometry from the tensors
 *     (wk_llama_ckpt, wk_llama_geom),
 *   - describes the HF state dict the transformers converter produces: key
 *     order, shapes, dtypes, and for each key which Meta tensor it comes from
 *     and how ranks are merged and rows permuted (wk_llama_hf_plan).
 * The byte-producing side is wk_convert.h.  Nothing here prints. */
#ifndef WK_LLAMA_H
#define WK_LLAMA_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_json.h"
#include "wk_inputs.h"
#include "wk_tensor.h"

#define WK_LL_MAX_RANKS 64

/* ---- numbers from JSON -------------------------------------------------------- */

/* Every number read from params.json / config.json is range-checked as a
 * double (or int64) before it is converted to anything narrower, so no
 * conversion can be out of range (docs/security.md, issue #24 item 1). */
#define WK_LL_MAX_SIZE ((int64_t)1 << 40)  /* dim, layers, heads, multiple_of, vocab */
#define WK_LL_ROPE_THETA_MAX 1e10          /* real models: 1e4 .. 1e6 (Llama 3: 5e5) */
#define WK_LL_ROPE_FACTOR_MAX 1024.0       /* linear rope scaling factor */
#define WK_LL_FFN_MULT_MIN 0.01            /* ffn_dim_multiplier (real: 0.75 .. 1.5) */
#define WK_LL_FFN_MULT_MAX 16.0

/* An interval of allowed values; *_open: the bound itself is excluded. */
typedef struct {
    double lo, hi;
    int lo_open, hi_open;
} wk_llama_range;

/* norm_eps / rms_norm_eps: (0, 1).  0 divides by zero for an all-zero row,
 * a negative value can take the square root of a negative number, and >= 1
 * would swamp the mean square of real activations; real models use 1e-6 or
 * 1e-5, so the open interval refuses only impossible values. */
extern const wk_llama_range wk_llama_norm_eps_range;
/* rope_theta: (1, WK_LL_ROPE_THETA_MAX]; linear rope factor: [1, WK_LL_ROPE_FACTOR_MAX]. */
extern const wk_llama_range wk_llama_rope_theta_range;
extern const wk_llama_range wk_llama_rope_factor_range;

/* JSON value v (key `key` of file `path`) as a finite double inside r: an
 * int, a float or a big int, compared as a double before any conversion.
 * WK_E_FORMAT "PATH: "KEY" is VALUE: must be a number > LO and < HI" for a
 * missing value (NULL), another type, or a value outside r. */
int wk_llama_json_real(const wk_json *v, const char *path, const char *key, const wk_llama_range *r,
                       double *out, wk_err *err);
/* v as an integer in [lo, hi] (a JSON int only: no float, no big int).
 * WK_E_FORMAT "PATH: "KEY" must be a positive integer in [LO, HI] (got V)"
 * ("an integer" when lo != 1). */
int wk_llama_json_int(const wk_json *v, const char *path, const char *key, int64_t lo, int64_t hi,
                      int64_t *out, wk_err *err);

/* ---- params.json ------------------------------------------------------------ */

typedef struct {
    int64_t dim, n_layers, n_heads;
    int64_t n_kv_heads;          /* = n_heads when absent */
    int has_n_kv_heads;
    int64_t multiple_of;         /* 0 when absent */
    double ffn_dim_multiplier;   /* 1.0 when absent */
    int has_ffn_dim_multiplier;
    double norm_eps;
    int norm_eps_is_int;         /* spelled as an integer in the file */
    int64_t vocab_size;          /* -1: "from the tokenizer" */
    double rope_theta;           /* 10000.0 when absent */
    int has_rope_theta;
    int use_scaled_rope;         /* "use_scaled_rope": true (only with WK_LL_OPEN_SCALED_ROPE) */
} wk_llama_params;

/* Parse flag: accept "use_scaled_rope": true (Llama 3.1+'s rope frequency
 * scaling), for a caller that implements it (wk-convert --llama_version 3.1+). */
#define WK_LL_OPEN_SCALED_ROPE 1u

/* Parse params.json bytes (`path` names the file in messages).  Required:
 * dim, n_layers, n_heads (integers in [1, 2^40]), norm_eps (in
 * wk_llama_norm_eps_range); optional: n_kv_heads, multiple_of (integers in
 * [1, 2^40]), ffn_dim_multiplier (in [WK_LL_FFN_MULT_MIN, WK_LL_FFN_MULT_MAX]),
 * vocab_size (-1 or [1, 2^40]), rope_theta (wk_llama_rope_theta_range);
 * max_seq_len and max_batch_size are ignored (they do not change the
 * weights); use_scaled_rope must be false/absent and rope_scaling null/absent
 * (not implemented).  Any other key is refused by name (WK_E_UNSUPPORTED): it
 * may change the computation (e.g. "moe", "sliding_window").  Files that nest
 * everything under "model" are accepted.  WK_E_FORMAT naming the file and key
 * (and the allowed range) for malformed JSON, a missing key, a wrong type or
 * an out-of-range value. */
int wk_llama_params_parse(const void *json, size_t len, const char *path, wk_llama_params *out,
                          wk_err *err);
/* The same with flags (WK_LL_OPEN_SCALED_ROPE); wk_llama_params_parse = flags 0. */
int wk_llama_params_parse_flags(const void *json, size_t len, const char *path, unsigned flags,
                                wk_llama_params *out, wk_err *err);

/* Meta's FeedForward hidden size from params: multiple_of * ceil(int(mult *
 * int(8 dim / 3)) / multiple_of); -1 if multiple_of is absent or a value is
 * outside the ranges wk_llama_params_parse enforces. */
int64_t wk_llama_ffn_from_params(const wk_llama_params *p);

/* ---- geometry ----------------------------------------------------------------- */

typedef struct {
    int64_t dim, n_layers, n_heads, n_kv_heads, head_dim;
    int64_t ffn;    /* FFN hidden size (rows of w1) */
    int64_t vocab;  /* rows of tok_embeddings */
    int n_ranks;    /* model-parallel ranks of the input */
    double norm_eps;
    int norm_eps_is_int;
    double rope_theta;
} wk_llama_geom;

/* Geometry implied by params alone (no tensors): ffn by Meta's formula
 * (multiple_of required), vocab as given (params' vocab_size when vocab <= 0;
 * then it must be positive).  For planning without data (--dry-run of a
 * described model, tests).  WK_E_USAGE/WK_E_FORMAT when something is missing
 * or inconsistent (see wk_llama_geom_check). */
int wk_llama_geom_from_params(const wk_llama_params *p, int64_t vocab, int n_ranks,
                              wk_llama_geom *g, wk_err *err);

/* Check internal consistency: sizes positive; dim = n_heads * head_dim;
 * head_dim even; n_kv_heads divides n_heads; n_ranks in 1..WK_LL_MAX_RANKS
 * dividing n_heads, n_kv_heads, dim, ffn and vocab (as fairscale requires).
 * WK_E_FORMAT naming the offending values. */
int wk_llama_geom_check(const wk_llama_geom *g, wk_err *err);

/* ---- rotary buffers ------------------------------------------------------------ */

/* What a stored rotary buffer (Meta rope.freqs, HF rotary_emb.inv_freq) must
 * agree with: it holds head_dim / 2 values theta^(-2j / head_dim), rounded to
 * its dtype (docs/formats/llama-layouts.md). */
typedef struct {
    const char *file, *name;   /* the tensor's file and name (messages) */
    wk_dtype dtype;            /* stored dtype: sets the tolerance */
    const char *cfg_path;      /* params.json / config.json (messages) */
    const char *heads_key;     /* "n_heads" / "num_attention_heads" */
    int64_t n_heads, dim, head_dim;
    const char *theta_key;     /* "rope_theta" */
    double theta;
} wk_llama_rope_check;

/* Check n stored values v: n must be head_dim / 2 (else WK_E_FORMAT: the
 * config's head count contradicts the checkpoint), and each value within
 * the dtype's rounding (relative 1/1024 for fp16/fp32, 1/128 for bf16, plus
 * 1e-7 for fp16 subnormals) of theta^(-2j / head_dim) computed in double
 * (else WK_E_FORMAT naming the theta the values imply). */
int wk_llama_check_rope(const wk_llama_rope_check *c, const float *v, int64_t n, wk_err *err);

/* ---- Meta tensor kinds ------------------------------------------------------------ */

typedef enum {
    WK_LL_TOK_EMB = 0, /* tok_embeddings.weight  [vocab, dim]    split by columns */
    WK_LL_NORM,        /* norm.weight            [dim]           replicated */
    WK_LL_OUTPUT,      /* output.weight          [vocab, dim]    split by rows */
    WK_LL_WQ,          /* layers.i.attention.wq.weight  [dim, dim]        rows */
    WK_LL_WK,          /* layers.i.attention.wk.weight  [kv*hd, dim]      rows */
    WK_LL_WV,          /* layers.i.attention.wv.weight  [kv*hd, dim]      rows */
    WK_LL_WO,          /* layers.i.attention.wo.weight  [dim, dim]        columns */
    WK_LL_W1,          /* layers.i.feed_forward.w1.weight [ffn, dim]      rows */
    WK_LL_W2,          /* layers.i.feed_forward.w2.weight [dim, ffn]      columns */
    WK_LL_W3,          /* layers.i.feed_forward.w3.weight [ffn, dim]      rows */
    WK_LL_ATTN_NORM,   /* layers.i.attention_norm.weight [dim]            replicated */
    WK_LL_FFN_NORM,    /* layers.i.ffn_norm.weight       [dim]            replicated */
    WK_LL_KIND_COUNT,
    WK_LL_INV_FREQ = WK_LL_KIND_COUNT /* HF-only: rotary_emb.inv_freq (computed) */
} wk_ll_kind;

#define WK_LL_GLOBAL_KINDS 3 /* kinds before WK_LL_WQ have no layer index */

typedef enum { WK_LL_SPLIT_ROWS, WK_LL_SPLIT_COLS, WK_LL_REPLICATED } wk_ll_split;

/* How kind k is split across ranks. */
wk_ll_split wk_llama_kind_split(wk_ll_kind k);
/* Meta key of (kind, layer) into buf (at least 64 bytes); layer ignored for
 * global kinds. */
void wk_llama_meta_key(wk_ll_kind k, int64_t layer, char *buf, size_t cap);
/* Full (merged) shape of kind k for geometry g: ndim 1 or 2. */
int wk_llama_kind_shape(const wk_llama_geom *g, wk_ll_kind k, int64_t shape[2]);

/* ---- opened checkpoint ------------------------------------------------------------ */

typedef struct wk_llama_ckpt wk_llama_ckpt;

/* Open a Meta model directory: params.json and every consolidated.NN.pth in it
 * (ranks must be 00 .. N-1 with no gaps, named with two digits as Meta and the
 * converter do).  Each rank is opened and validated by wk_pth (ranks in
 * parallel with up to `threads` threads, <= 0 = OpenMP default); then:
 * every expected key present in every rank; no unknown key (rope.freqs and
 * layers.i.attention.inner_attention.rope.freqs are accepted and ignored);
 * dtypes F16, BF16 or F32; every key has the same shape in every rank and in
 * every layer; the merged shapes give one geometry, which must agree with
 * params.json (dim, n_layers, n_heads divides dim, n_kv_heads, vocab_size
 * unless -1, FFN size by Meta's formula when multiple_of is given).
 * Errors (WK_E_FORMAT, or those of wk_pth/wk_map) name the file and tensor. */
wk_llama_ckpt *wk_llama_open(const char *model_dir, int threads, wk_err *err);
/* The same with params.json parse flags (WK_LL_OPEN_SCALED_ROPE). */
wk_llama_ckpt *wk_llama_open_flags(const char *model_dir, int threads, unsigned flags, wk_err *err);
void wk_llama_close(wk_llama_ckpt *ck); /* safe on NULL */

const wk_llama_params *wk_llama_ckpt_params(const wk_llama_ckpt *ck);
/* How this checkpoint's ranks split kind k: wk_llama_kind_split, except
 * tok_embeddings, split by rows in Llama 3's multi-rank checkpoints. */
wk_ll_split wk_llama_ckpt_split(const wk_llama_ckpt *ck, wk_ll_kind k);
const wk_llama_geom *wk_llama_ckpt_geom(const wk_llama_ckpt *ck);
const char *wk_llama_ckpt_dir(const wk_llama_ckpt *ck);
const char *wk_llama_ckpt_rank_path(const wk_llama_ckpt *ck, int rank);
/* Add params.json and every rank file of ck to in (wk_inputs_add). */
int wk_llama_ckpt_add_inputs(const wk_llama_ckpt *ck, wk_inputs *in, wk_err *err);
/* Dtype of tok_embeddings (the checkpoint's dtype, for reports). */
wk_dtype wk_llama_ckpt_dtype(const wk_llama_ckpt *ck);
/* Sum of the sizes of the rank files, bytes. */
uint64_t wk_llama_ckpt_input_bytes(const wk_llama_ckpt *ck);
/* Rank `rank`'s slice of (kind, layer), storage resolved into the map
 * (kind < WK_LL_KIND_COUNT; layer ignored for global kinds).  Never NULL for
 * valid arguments of an opened checkpoint; valid until wk_llama_close. */
const wk_tensor_info *wk_llama_ckpt_tensor(const wk_llama_ckpt *ck, int rank, wk_ll_kind kind,
                                           int64_t layer);

/* Path of tokenizer.model in model_dir or, failing that, in its parent
 * directory (malloc'd), or NULL if neither has a regular file of that name. */
char *wk_llama_find_tokenizer(const char *model_dir);

/* ---- the Python script's --model_size names ------------------------------------ */

typedef struct {
    const char *name;   /* "7B", "13B", ... */
    int num_shards;     /* NUM_SHARDS[name] */
    int64_t dim, n_layers;
} wk_llama_size;

/* Row for a --model_size name (7B, 7Bf, 13B, 13Bf, 30B, 34B, 65B, 70B, 70Bf),
 * or NULL. */
const wk_llama_size *wk_llama_size_get(const char *name);
/* WK_E_USAGE if geometry g does not match size s (ranks, dim, layers). */
int wk_llama_size_check(const wk_llama_size *s, const wk_llama_geom *g, wk_err *err);

/* ---- the HF state dict ------------------------------------------------------------- */

typedef struct {
    char name[80];           /* HF key, e.g. "model.layers.3.self_attn.q_proj.weight" */
    wk_ll_kind kind;         /* source Meta kind, or WK_LL_INV_FREQ */
    int64_t layer;           /* -1 for global tensors */
    wk_dtype dtype;          /* F16 for weights, F32 for inv_freq */
    int ndim;                /* 1 or 2 */
    int64_t shape[2];
    int64_t permute_heads;   /* > 0: rows permuted per head (q: n_heads, k: n_kv_heads) */
} wk_llama_hf_tensor;

/* LlamaForCausalLM.state_dict() order for geometry g (docs/formats/llama-layouts.md §2.8): embed,
 * per layer q k v o [inv_freq] gate down up input_norm post_norm, norm,
 * lm_head; with_inv_freq selects the 4.28–4.31 persistent buffer.  *out is a
 * malloc'd array of *n entries.  WK_E_NOMEM, or WK_E_FORMAT if g is not
 * consistent. */
int wk_llama_hf_plan(const wk_llama_geom *g, int with_inv_freq, wk_llama_hf_tensor **out,
                     size_t *n, wk_err *err);

/* The inv_freq values of the 4.28–4.31 converter as saved: fp32(fp16(1 /
 * theta^(2j/hd))), j < hd/2, computed in float32 like torch (verified equal to
 * torch 1.13 for every even hd <= 512 and theta 1e4, 5e5, 1e6). */
void wk_llama_inv_freq(int64_t head_dim, double theta, float *out);

#endif
