/* wk_qmix.h — the per-tensor type policy of a quantization run: llama-quantize's
 * presets (names, llama_ftype numbers) and its llama_tensor_get_type for LLaMA
 * (K-mixes, Q6_K output, fallbacks for rows that are not whole blocks).
 *
 *   const wk_qmix_preset *p = wk_qmix_find_preset("q4_k_m");
 *   wk_qmix_opts o = { .p = p, .output_type = -1, .embd_type = -1 };
 *   wk_qmix_state ms;
 *   wk_qmix_state_init(&ms, g);                 // counts attn_v / ffn_down, tied?
 *   for each tensor t of g, in order: type = wk_qmix_choose(&o, &ms, t);
 *
 * Types are ggml ids (WK_GGML_*).  wk_qmix_choose() must see the tensors in
 * file order: the K-mixes depend on the index of each attn_v / ffn_down. */
#ifndef WK_QMIX_H
#define WK_QMIX_H

#include <stddef.h>
#include <stdint.h>
#include "wk_gguf.h"
#include "wk_quant.h"
#include "wk_qmix_tt.h"

/* One per-tensor rule of a preset (llama_tensor_get_type_impl): when `cond`
 * holds for the tensor's index i among its kind (attn_v / ffn_down, file
 * order) of n, the tensor gets `type`, otherwise `else_type` (-1: the
 * preset's type).  cond WK_QC_NONE (0): the rule is absent. */
typedef enum {
    WK_QC_NONE = 0,
    WK_QC_ALWAYS,
    WK_QC_MORE_BITS,      /* use_more_bits(i, n) */
    WK_QC_I_LT,           /* i < arg */
    WK_QC_I_LT_N_DIV,     /* i < n / arg */
    WK_QC_GQA_GE,         /* n_head / n_head_kv >= arg */
    WK_QC_I_LT_N_DIV_NOIM,/* i < n / arg, without an importance matrix */
    WK_QC_I_LT_N_DIV_IM,  /* i < n / arg, with an importance matrix */
} wk_qmix_cond;

typedef struct {
    wk_qmix_cond cond;
    int arg;
    int type, else_type;
} wk_qmix_rule;

typedef struct {
    const char *name;
    uint32_t ftype;     /* general.file_type (llama_ftype) */
    int type;           /* default type of eligible tensors */
    wk_qmix_rule attn_v, ffn_down, attn_output;
    int attn_qkv;       /* type of a fused attn_qkv, -1: the preset's */
    int needs_imatrix;  /* 1: llama.cpp refuses it without an importance matrix */
    const char *desc;
} wk_qmix_preset;

/* The presets, in --help order; *n gets their count. */
const wk_qmix_preset *wk_qmix_presets(size_t *n);
/* The preset named s (case-insensitive), or NULL. */
const wk_qmix_preset *wk_qmix_find_preset(const char *s);

typedef struct {
    const wk_qmix_preset *p;
    int pure;                     /* every eligible tensor gets p->type */
    int leave_output;             /* keep output.weight's type */
    int output_type, embd_type;   /* ggml ids of --output-tensor-type / --token-embedding-type, -1 unset */
    int has_imatrix;              /* an importance matrix is used (some rules depend on it) */
    const wk_qmix_tt *tt;         /* --tensor-type overrides, first match wins */
    size_t n_tt;
} wk_qmix_opts;

typedef struct {
    int n_attn_v, n_ffn_down, i_attn_v, i_ffn_down, n_layer, tied;
    int n_gqa;          /* head_count / head_count_kv (0 if unknown) */
    const char *arch;   /* general.architecture when it is one whose mixes are reproduced
                           ("llama", "qwen2"), else NULL */
    int is_70b;         /* llama.cpp's model type is 70B (attn_v gets at least Q5_K) */
} wk_qmix_state;

/* Counters for g's tensors: attn_v / ffn_down counts, <arch>.block_count,
 * the GQA ratio, tied (no output.weight), arch and is_70b from
 * general.architecture and the head counts; indices at 0. */
void wk_qmix_state_init(wk_qmix_state *ms, const wk_gguf *g);

/* Values per block of a ggml type (1 for the float types). */
int wk_qmix_blck(int ggml);

/* Output type for tensor t (a ggml id), updating the mix counters.  The
 * order is llama-quantize's (llama_tensor_get_type): --leave-output-tensor
 * (output.weight only), then the explicit --token-embedding-type and
 * --output-tensor-type (taken as given, no fallback), then --tensor-type
 * (no rules, the counters do not move, fallback applies), then the mix. */
int wk_qmix_choose(const wk_qmix_opts *o, wk_qmix_state *ms, const wk_gguf_tensor *t);

#endif
