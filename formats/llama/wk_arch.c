/* wk_arch.c — the architecture table, config.json key vetting, rope scaling (see wk_arch.h). */
#include "wk_arch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wk_llama.h"

/* ---- the table ------------------------------------------------------------------ */

/* Keys of one architecture beyond the common ones (their values are checked
 * by the hyperparameter reader). */
static const char *const k_llama_keys[] = {"attention_bias", "mlp_bias", NULL};
static const char *const k_mistral_keys[] = {NULL};
static const char *const k_qwen2_keys[] = {"use_sliding_window", "max_window_layers", "layer_types",
                                           "use_mrope", NULL};

static const wk_arch k_arch[WK_ARCH_COUNT] = {
    [WK_ARCH_LLAMA] = {.hf_class = "LlamaForCausalLM", .hf_alias = "LLaMAForCausalLM", .model_type = "llama", .gguf_arch = "llama",
                       .unpermute_qk = 1, .qkv_bias = 0, .rope_llama3 = 1, .free_head_dim = 1, .swa = WK_SWA_NONE,
                       .keys = k_llama_keys},
    [WK_ARCH_MISTRAL] = {.hf_class = "MistralForCausalLM", .model_type = "mistral", .gguf_arch = "llama",
                         .unpermute_qk = 1, .qkv_bias = 0, .rope_llama3 = 1, .free_head_dim = 1,
                         .swa = WK_SWA_WINDOW,
                         .swa_default = 4096, .keys = k_mistral_keys},
    [WK_ARCH_QWEN2] = {.hf_class = "Qwen2ForCausalLM", .model_type = "qwen2", .gguf_arch = "qwen2",
                       .unpermute_qk = 0, .qkv_bias = 1, .rope_llama3 = 0, .swa = WK_SWA_FLAG,
                       .keys = k_qwen2_keys},
};

/* Keys every architecture may carry: read by the hyperparameter reader, or
 * without effect on the forward pass (metadata, training-only settings,
 * pretraining_tp: a sliced matmul with the same result). */
static const char *const k_common_keys[] = {
    "architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta",
    "rope_scaling", "rope_parameters", "vocab_size", "max_position_embeddings",
    "max_sequence_length", "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id", "hidden_act",
    "sliding_window", "num_local_experts", "num_experts", "n_routed_experts", "moe",
    "_name_or_path", "torch_dtype", "dtype", "transformers_version", "use_cache",
    "initializer_range", "attention_dropout", "pretraining_tp", "return_dict",
    "output_attentions", "output_hidden_states", "torchscript", "tokenizer_class", "id2label",
    "label2id", "problem_type", NULL};

const wk_arch *wk_arch_get(wk_arch_id id) { return &k_arch[id]; }

/* "A, B, C": the supported classes, into buf. */
static const char *class_list(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < WK_ARCH_COUNT && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", k_arch[i].hf_class);
    return buf;
}

int wk_arch_from_config(const wk_json *cfg, const char *path, wk_arch_id *id, wk_err *err)
{
    char list[128];
    const char *cls = NULL, *mt = NULL;
    const wk_json *a = wk_json_get(cfg, "architectures");
    if (a && wk_json_type_of(a) != WK_JSON_NULL) {
        if (wk_json_type_of(a) != WK_JSON_ARRAY || wk_json_len(a) != 1 ||
            wk_json_as_string(wk_json_at(a, 0), &cls, NULL, NULL))
            return wk_err_set(err, WK_E_FORMAT, "%s: \"architectures\" must be a list of one string", path);
    }
    if (wk_json_get(cfg, "model_type") && wk_json_get_string(cfg, "model_type", &mt, NULL, NULL))
        return wk_err_set(err, WK_E_FORMAT, "%s: \"model_type\" must be a string", path);
    if (!cls && !mt)
        return wk_err_set(err, WK_E_FORMAT, "%s: neither \"architectures\" nor \"model_type\": "
                          "which model this is cannot be told", path);
    for (int i = 0; i < WK_ARCH_COUNT; i++) {
        const wk_arch *r = &k_arch[i];
        int named = cls ? !strcmp(cls, r->hf_class) || (r->hf_alias && !strcmp(cls, r->hf_alias))
                        : !strcmp(mt, r->model_type);
        if (!named) continue;
        if (mt && strcmp(mt, r->model_type) != 0)
            return wk_err_set(err, WK_E_FORMAT, "%s: \"architectures\" is %s but \"model_type\" is "
                              "\"%s\" (expected \"%s\")", path, cls, mt, r->model_type);
        *id = (wk_arch_id)i;
        return 0;
    }
    if (cls)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"architectures\": %s is not supported "
                          "(supported: %s)", path, cls, class_list(list, sizeof list));
    return wk_err_set(err, WK_E_UNSUPPORTED, "%s: model_type \"%s\" is not supported (supported: %s)",
                      path, mt, class_list(list, sizeof list));
}

static int in_list(const char *const *l, const char *k, size_t kl)
{
    for (; l && *l; l++)
        if (strlen(*l) == kl && memcmp(*l, k, kl) == 0) return 1;
    return 0;
}

int wk_arch_check_keys(const wk_arch *a, const wk_json *cfg, const char *path, wk_err *err)
{
    for (size_t i = 0; i < wk_json_len(cfg); i++) {
        size_t kl;
        const char *k = wk_json_key_at(cfg, i, &kl);
        if (in_list(k_common_keys, k, kl) || in_list(a->keys, k, kl)) continue;
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: key \"%.*s\" is not known for %s: it may change "
                          "the computation, so the model is refused (docs/pack.md lists the keys "
                          "read)", path, (int)(kl > 80 ? 80 : kl), k, a->hf_class);
    }
    return 0;
}

/* ---- rope_scaling ---------------------------------------------------------------- */

static const wk_llama_range k_llama3_ff_range = {0.0, WK_LL_ROPE_FACTOR_MAX, 1, 0};

/* obj[key] as a real in r (required). */
static int need_real(const wk_json *obj, const char *key, const char *path, const char *what,
                     const wk_llama_range *r, double *out, wk_err *err)
{
    const wk_json *v = wk_json_get(obj, key);
    if (!v) return wk_err_set(err, WK_E_FORMAT, "%s: %s: missing key \"%s\"", path, what, key);
    char full[64];
    snprintf(full, sizeof full, "%s.%s", what, key);
    return wk_llama_json_real(v, path, full, r, out, err);
}

/* The keys a rope object of kind k may hold. */
static int rope_key_known(wk_rope_kind k, const char *key, size_t kl)
{
    static const char *const common[] = {"type", "rope_type", "rope_theta", NULL};
    static const char *const linear[] = {"factor", NULL};
    static const char *const llama3[] = {"factor", "low_freq_factor", "high_freq_factor",
                                         "original_max_position_embeddings", NULL};
    return in_list(common, key, kl) || (k == WK_ROPE_LINEAR && in_list(linear, key, kl)) ||
           (k == WK_ROPE_LLAMA3 && in_list(llama3, key, kl));
}

static int llama3_params(const wk_json *o, const char *path, const char *what, wk_rope_scaling *rs,
                         wk_err *err)
{
    WK_TRY(need_real(o, "factor", path, what, &wk_llama_rope_factor_range, &rs->factor, err));
    WK_TRY(need_real(o, "low_freq_factor", path, what, &k_llama3_ff_range, &rs->low_freq_factor, err));
    WK_TRY(need_real(o, "high_freq_factor", path, what, &k_llama3_ff_range, &rs->high_freq_factor, err));
    if (!(rs->high_freq_factor > rs->low_freq_factor))
        return wk_err_set(err, WK_E_FORMAT, "%s: %s: high_freq_factor %g must be greater than "
                          "low_freq_factor %g", path, what, rs->high_freq_factor, rs->low_freq_factor);
    const wk_json *v = wk_json_get(o, "original_max_position_embeddings");
    if (!v)
        return wk_err_set(err, WK_E_FORMAT, "%s: %s: missing key \"original_max_position_embeddings\"",
                          path, what);
    return wk_llama_json_int(v, path, "original_max_position_embeddings", 1, INT32_MAX, &rs->orig_ctx, err);
}

int wk_arch_rope_scaling(const wk_arch *a, const wk_json *cfg, const char *path, wk_rope_scaling *rs,
                         double *theta, wk_err *err)
{
    memset(rs, 0, sizeof *rs);
    const wk_json *rp = wk_json_get(cfg, "rope_parameters"), *sc = wk_json_get(cfg, "rope_scaling");
    const char *what = rp ? "rope_parameters" : "rope_scaling";
    if (rp && wk_json_type_of(sc) != WK_JSON_NULL)
        return wk_err_set(err, WK_E_FORMAT, "%s: both \"rope_parameters\" and \"rope_scaling\": which one "
                          "applies is ambiguous", path);
    const wk_json *o = rp ? rp : sc;
    if (wk_json_type_of(o) == WK_JSON_NULL) return 0;
    if (wk_json_type_of(o) != WK_JSON_OBJECT)
        return wk_err_set(err, WK_E_FORMAT, "%s: %s must be null or an object", path, what);
    const char *type = NULL;
    if (wk_json_get_string(o, "rope_type", &type, NULL, NULL) && wk_json_get_string(o, "type", &type, NULL, NULL))
        return wk_err_set(err, WK_E_FORMAT, "%s: %s without a type", path, what);
    if (!strcmp(type, "default")) rs->kind = WK_ROPE_NONE;
    else if (!strcmp(type, "linear")) rs->kind = WK_ROPE_LINEAR;
    else if (!strcmp(type, "llama3") && a->rope_llama3) rs->kind = WK_ROPE_LLAMA3;
    else
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: %s type \"%s\" is not implemented for %s (only "
                          "linear%s)", path, what, type, a->hf_class, a->rope_llama3 ? " and llama3" : "");
    for (size_t i = 0; i < wk_json_len(o); i++) {
        size_t kl;
        const char *k = wk_json_key_at(o, i, &kl);
        if (!rope_key_known(rs->kind, k, kl))
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: %s: key \"%.*s\" is not known for type \"%s\"",
                              path, what, (int)(kl > 80 ? 80 : kl), k, type);
    }
    const wk_json *t = wk_json_get(o, "rope_theta");
    if (t) WK_TRY(wk_llama_json_real(t, path, "rope_theta", &wk_llama_rope_theta_range, theta, err));
    if (rs->kind == WK_ROPE_LINEAR)
        return need_real(o, "factor", path, what, &wk_llama_rope_factor_range, &rs->factor, err);
    if (rs->kind == WK_ROPE_LLAMA3) return llama3_params(o, path, what, rs, err);
    return 0;
}

/* The converter's loop, one Python/torch operation per statement, each
 * rounded to float32 (docs/formats/llama-layouts.md §4.3): torch divides a
 * Python number by a float32 tensor as reciprocal-then-multiply, divides a
 * tensor by a Python number exactly, and casts Python numbers to float32
 * before comparing or combining them with a float32 tensor. */
void wk_arch_llama3_factors(double theta, uint32_t dim, const wk_rope_scaling *rs, float *out)
{
    const float base = (float)theta, two_pi = (float)(2.0 * M_PI);
    const float hi_wavelen = (float)((double)rs->orig_ctx / rs->high_freq_factor);
    const float lo_wavelen = (float)((double)rs->orig_ctx / rs->low_freq_factor);
    const float span = (float)(rs->high_freq_factor - rs->low_freq_factor);
    for (uint32_t i = 0; i < dim / 2; i++) {
        volatile float e = (float)(2 * i) / (float)dim;     /* arange(0, dim, 2) / dim */
        volatile float freq = 1.0f / powf(base, e);         /* 1.0 / (base ** e) */
        volatile float wavelen = (1.0f / freq) * two_pi;    /* 2 * math.pi / freq */
        if (wavelen < hi_wavelen) {
            out[i] = 1.0f;
        } else if (wavelen > lo_wavelen) {
            out[i] = (float)rs->factor;
        } else {
            volatile float s = (1.0f / wavelen) * (float)rs->orig_ctx;   /* old_context_len / wavelen */
            s = s - (float)rs->low_freq_factor;
            s = s / span;                                                  /* smooth */
            volatile float d = 1.0f - s;
            d = d / (float)rs->factor;
            d = d + s;
            out[i] = 1.0f / d;
        }
    }
}
