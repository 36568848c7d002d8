/* wk_arch.h — the HF architectures wk-pack turns into GGUF, one table row
 * each (docs/pack.md "Architectures", docs/formats/llama-layouts.md §4):
 *
 *   LlamaForCausalLM   -> general.architecture "llama"  (Llama 1/2/3.x)
 *   MistralForCausalLM -> "llama" (as llama.cpp's converter writes it)
 *   Qwen2ForCausalLM   -> "qwen2" (q/k/v biases, NEOX rotary: no q/k permutation)
 *
 * Besides the table: which config.json keys each architecture accepts (an
 * unknown key may change the computation, so it is refused by name), the
 * rope_scaling variants (none, linear, llama3) and llama3's rope_freqs
 * factors, computed as llama.cpp's converter computes them.  Nothing here
 * reads files or prints. */
#ifndef WK_ARCH_H
#define WK_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_json.h"

typedef enum { WK_ARCH_LLAMA = 0, WK_ARCH_MISTRAL, WK_ARCH_QWEN2, WK_ARCH_COUNT } wk_arch_id;

/* How an architecture's config says "sliding-window attention". */
typedef enum {
    WK_SWA_NONE = 0,  /* no such attention: sliding_window must be absent or null */
    WK_SWA_WINDOW,    /* sliding_window W (null = off; absent = swa_default): llama.cpp's
                         llama arch has no window, so W must cover the context written */
    WK_SWA_FLAG       /* use_sliding_window must be false (sliding_window then unused) */
} wk_swa_rule;

typedef struct {
    const char *hf_class;      /* config.json "architectures"[0] */
    const char *hf_alias;      /* another spelling of it (early 2023 conversions), or NULL */
    const char *model_type;    /* config.json "model_type" */
    const char *gguf_arch;     /* general.architecture and the hyperparameter key prefix */
    int unpermute_qk;          /* 1: llama rope (adjacent pairs): HF's q/k rows un-permuted;
                                  0: NEOX rope (half split): rows kept as stored */
    int qkv_bias;              /* 1: q/k/v biases required (and no o_proj bias); 0: no bias */
    int rope_llama3;           /* rope_scaling "llama3" representable (rope_freqs tensor) */
    int free_head_dim;         /* head_dim may differ from hidden_size / heads (q_proj then
                                  has heads * head_dim rows; GGUF attention.key_length) */
    wk_swa_rule swa;
    int64_t swa_default;       /* WK_SWA_WINDOW: the config class's sliding_window default */
    const char *const *keys;   /* config keys of this architecture beyond the common ones
                                  (NULL-terminated) */
} wk_arch;

/* The row of id (id < WK_ARCH_COUNT). */
const wk_arch *wk_arch_get(wk_arch_id id);

/* The architecture config.json names: "architectures" (a list of one
 * string) if present, else "model_type"; the two must agree.  WK_E_UNSUPPORTED
 * naming the file, key and value and listing the supported classes;
 * WK_E_FORMAT for a missing or malformed key. */
int wk_arch_from_config(const wk_json *cfg, const char *path, wk_arch_id *id, wk_err *err);

/* Every top-level key of cfg must be a common key or one of a->keys;
 * WK_E_UNSUPPORTED "PATH: key "K" is not known for CLASS ..." otherwise.
 * Values are checked elsewhere (hparams, wk_arch_rope_scaling, swa). */
int wk_arch_check_keys(const wk_arch *a, const wk_json *cfg, const char *path, wk_err *err);

/* ---- rope_scaling ------------------------------------------------------------- */

typedef enum { WK_ROPE_NONE = 0, WK_ROPE_LINEAR, WK_ROPE_LLAMA3 } wk_rope_kind;

typedef struct {
    wk_rope_kind kind;
    double factor;              /* linear, llama3 */
    double low_freq_factor;     /* llama3 */
    double high_freq_factor;    /* llama3 */
    int64_t orig_ctx;           /* llama3: original_max_position_embeddings */
} wk_rope_scaling;

/* cfg's "rope_scaling" (or transformers 5's "rope_parameters", which may also
 * carry rope_theta: then *theta is set from it).  null / absent / type
 * "default" -> WK_ROPE_NONE.  "linear": factor in [1, 1024].  "llama3" (only
 * where a->rope_llama3): factor [1, 1024], low_freq_factor > 0,
 * high_freq_factor > low_freq_factor (both <= 1024),
 * original_max_position_embeddings in [1, 2^31) — all required.  Any other
 * type, or an unknown key inside the object, is WK_E_UNSUPPORTED by name;
 * malformed values WK_E_FORMAT naming file and key. */
int wk_arch_rope_scaling(const wk_arch *a, const wk_json *cfg, const char *path, wk_rope_scaling *rs,
                         double *theta, wk_err *err);

/* llama3's per-frequency divisors (rope_freqs.weight, dim/2 float32 values)
 * for head dimension dim (even, >= 2) and base theta, computed in float32 as
 * llama.cpp's converter does (LlamaModel.generate_extra_tensors), operation
 * by operation: see docs/formats/llama-layouts.md §4.3.  out holds dim/2. */
void wk_arch_llama3_factors(double theta, uint32_t dim, const wk_rope_scaling *rs, float *out);

#endif
