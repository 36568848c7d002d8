/* wk_gguf_llama.c — LLaMA checkpoints as llama.cpp GGUF files (see wk_gguf_llama.h). */
#include "wk_gguf_llama.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wk_arch.h"
#include "wk_bpejson.h"
#include "wk_gguf_bpe.h"
#include "wk_gguf_split.h"
#include "wk_half.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_llama.h"
#include "wk_safetensors.h"
#include "wk_tokjson.h"

#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_max_threads(void) { return 1; }
#endif

/* ---- small tables ---------------------------------------------------------- */

int wk_outtype_parse(const char *s)
{
    static const char *const n[] = {"auto", "f32", "f16", "bf16"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, n[i]) == 0) return i;
    return -1;
}

const char *wk_outtype_name(wk_outtype t)
{
    static const char *const n[] = {"auto", "f32", "f16", "bf16"};
    return (unsigned)t < 4 ? n[t] : "?";
}

static wk_dtype outtype_dtype(wk_outtype t)
{
    return t == WK_OUTTYPE_F32 ? WK_DT_F32 : t == WK_OUTTYPE_F16 ? WK_DT_F16 : WK_DT_BF16;
}

/* llama_ftype for "mostly <dtype>" (ALL_F32 0, MOSTLY_F16 1, MOSTLY_BF16 32). */
static uint32_t ftype_of(wk_dtype d)
{
    return d == WK_DT_F16 ? 1 : d == WK_DT_BF16 ? 32 : 0;
}

const char *wk_gl_chat_template_metharme(void)
{
    /* Pygmalion/Metharme prompt format: roles are marked by <|system|>, <|user|>
     * and <|model|>; the system prompt comes first whatever its position in
     * the message list; the generation prompt is <|model|>. */
    return "{% for message in messages %}"
           "{% if message['role'] == 'system' %}{{ '<|system|>' + message['content'] }}{% endif %}"
           "{% endfor %}"
           "{% for message in messages %}"
           "{% if message['role'] == 'user' %}{{ '<|user|>' + message['content'] }}"
           "{% elif message['role'] == 'assistant' %}{{ '<|model|>' + message['content'] }}"
           "{% endif %}"
           "{% endfor %}"
           "{% if add_generation_prompt %}{{ '<|model|>' }}{% endif %}";
}

void wk_gl_opts_init(wk_gl_opts *o)
{
    memset(o, 0, sizeof *o);
    o->outtype = WK_OUTTYPE_AUTO;
    o->digests = 1;
}

/* ---- names ------------------------------------------------------------------ */

typedef struct {
    const char *from, *to;
    int permute;
} name_pair;

static const name_pair k_hf_layer[] = {
    {"self_attn.q_proj.weight", "attn_q.weight", 1},   {"self_attn.k_proj.weight", "attn_k.weight", 2},
    {"self_attn.v_proj.weight", "attn_v.weight", 0},   {"self_attn.o_proj.weight", "attn_output.weight", 0},
    {"self_attn.q_proj.bias", "attn_q.bias", 1},       {"self_attn.k_proj.bias", "attn_k.bias", 2},
    {"self_attn.v_proj.bias", "attn_v.bias", 0},       {"self_attn.o_proj.bias", "attn_output.bias", 0},
    {"mlp.gate_proj.weight", "ffn_gate.weight", 0},    {"mlp.up_proj.weight", "ffn_up.weight", 0},
    {"mlp.down_proj.weight", "ffn_down.weight", 0},    {"input_layernorm.weight", "attn_norm.weight", 0},
    {"post_attention_layernorm.weight", "ffn_norm.weight", 0},
};
static const name_pair k_meta_layer[] = {
    {"attention.wq.weight", "attn_q.weight", 0},       {"attention.wk.weight", "attn_k.weight", 0},
    {"attention.wv.weight", "attn_v.weight", 0},       {"attention.wo.weight", "attn_output.weight", 0},
    {"feed_forward.w1.weight", "ffn_gate.weight", 0},  {"feed_forward.w3.weight", "ffn_up.weight", 0},
    {"feed_forward.w2.weight", "ffn_down.weight", 0},  {"attention_norm.weight", "attn_norm.weight", 0},
    {"ffn_norm.weight", "ffn_norm.weight", 0},
};
static const name_pair k_hf_global[] = {
    {"model.embed_tokens.weight", "token_embd.weight", 0}, {"model.norm.weight", "output_norm.weight", 0},
    {"lm_head.weight", "output.weight", 0},
};
static const name_pair k_meta_global[] = {
    {"tok_embeddings.weight", "token_embd.weight", 0}, {"norm.weight", "output_norm.weight", 0},
    {"output.weight", "output.weight", 0},
};

/* "<prefix><N>.<rest>" -> N and rest; -1 if name does not have that form. */
static long layer_of(const char *name, const char *prefix, const char **rest)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0) return -1;
    const char *p = name + pl;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] != '.')) return -1;
    long n = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > 100000000) return -1;
        n = n * 10 + (*p - '0');
    }
    if (*p != '.') return -1;
    *rest = p + 1;
    return n;
}

int wk_gl_map_name(const char *name, int hf, char *out, size_t cap, int *permute)
{
    *permute = 0;
    const name_pair *g = hf ? k_hf_global : k_meta_global;
    for (int i = 0; i < 3; i++)
        if (strcmp(name, g[i].from) == 0) {
            snprintf(out, cap, "%s", g[i].to);
            return 0;
        }
    if (!hf && strcmp(name, "rope.freqs") == 0) return 1;
    const char *rest;
    long n = layer_of(name, hf ? "model.layers." : "layers.", &rest);
    if (n < 0) return -1;
    if (hf && strcmp(rest, "self_attn.rotary_emb.inv_freq") == 0) return 1;
    if (!hf && strcmp(rest, "attention.inner_attention.rope.freqs") == 0) return 1;
    const name_pair *l = hf ? k_hf_layer : k_meta_layer;
    size_t nl = hf ? sizeof k_hf_layer / sizeof *k_hf_layer : sizeof k_meta_layer / sizeof *k_meta_layer;
    for (size_t i = 0; i < nl; i++)
        if (strcmp(rest, l[i].from) == 0) {
            snprintf(out, cap, "blk.%ld.%s", n, l[i].to);
            *permute = l[i].permute;
            return 0;
        }
    return -1;
}

static long blk_of(const char *name)
{
    const char *rest;
    return layer_of(name, "blk.", &rest);
}

int wk_gl_name_cmp(const char *a, const char *b)
{
    long ba = blk_of(a), bb = blk_of(b);
    if (ba != bb) return ba < bb ? -1 : 1;
    return strcmp(a, b);
}

/* ---- the plan -------------------------------------------------------------- */

typedef struct {
    char name[64];
    size_t src;               /* source tensor, or GL_GENERATED */
    const float *gen;         /* GL_GENERATED: the F32 values written (owned by the plan) */
    int type;                 /* ggml type written */
    wk_source_xform x;
    uint64_t nbytes;
    char digest[17];
    wk_source_nonfinite nf;   /* filled by the first pass over the bytes */
} gl_tensor;

#define GL_GENERATED ((size_t)-1)

struct wk_gl {
    const wk_source *src;
    const wk_arch *arch;    /* the model's row of the architecture table (model mode) */
    wk_rope_scaling rs;     /* config.json rope_scaling */
    float *rope_freqs;      /* llama3 rope scaling: the rope_freqs.weight values */
    int64_t swa;            /* sliding_window in effect (WK_SWA_WINDOW archs), 0 none */
    uint32_t head_dim;      /* config.json head_dim (= n_rot), 0 when absent */
    wk_gl_opts o;
    wk_ggufw *w;
    gl_tensor *t;
    size_t n_t;
    int have_hparams;
    wk_gl_hparams hp;
    uint32_t file_type;
    int threads;
    int64_t cfg_vocab;      /* config.json vocab_size (HF), -1 if absent */
    double theta;           /* rope_theta as read (the check against stored frequencies) */
    int tie;                /* config.json tie_word_embeddings */
    char *cfg_path;         /* config.json / params.json (messages), NULL if none */
    const char *heads_key;  /* "num_attention_heads" / "n_heads" */
    int nf_checked;         /* the digest pass counted the non-finite values */
    int set_file_type;      /* GGUF input: general.file_type rewritten (all-float output) */
    uint64_t nf_in, nf_over;
};

/* Account tensor i's non-finite values; an error unless allowed. */
static int nonfinite_done(wk_gl *p, size_t i, wk_err *err)
{
    gl_tensor *t = &p->t[i];
    p->nf_in += t->nf.in_bad;
    p->nf_over += t->nf.overflow;
    t->x.nf = NULL;
    if (t->src == GL_GENERATED) return 0;   /* finite by construction */
    return wk_source_nonfinite_check(p->src, t->src, &t->nf, t->x.out_dtype, p->o.allow_nonfinite, err);
}

static int cmp_tensors(const void *a, const void *b)
{
    return wk_gl_name_cmp(((const gl_tensor *)a)->name, ((const gl_tensor *)b)->name);
}

/* Map a small auxiliary file, recorded in the run's inputs `in`. */
static int read_small(wk_inputs *in, const char *path, wk_map *m, wk_err *err)
{
    if (wk_inputs_add(in, path, err) || wk_map_open(m, path, err)) return -1;
    if (m->size > (64u << 20)) {
        wk_map_close(m);
        return wk_err_set(err, WK_E_LIMIT, "%s: larger than 64 MiB", path);
    }
    return 0;
}

/* Parse the JSON file `name` from src's directory (NULL if absent: *root
 * NULL, returns 0), recorded in src's inputs when present. */
static int load_json(const wk_source *src, const char *name, wk_json **root, char **path_out, wk_err *err)
{
    *root = NULL;
    wk_inputs *in = wk_source_inputs(src);
    char *path = wk_path_join(wk_source_dir(src), name);
    if (!path) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    wk_map m;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {  /* absent: fine; anything else must open */
        free(path);
        return 0;
    }
    int rc = -1;
    if (wk_map_open(&m, path, err)) {  /* a FIFO or device is named as such (wk_input_open) */
        free(path);
        return -1;
    }
    WK_TRY_GOTO(wk_inputs_add(in, path, err), done);
    WK_FAIL_GOTO(m.size > (64u << 20), done, err, WK_E_LIMIT, "%s: larger than 64 MiB", path);
    if (!(*root = wk_json_parse(m.data, m.size, NULL, err))) {
        wk_err_prefix(err, "%s", path);
        goto done;
    }
    rc = 0;
done:
    wk_map_close(&m);
    if (path_out && !rc) *path_out = path;
    else free(path);
    return rc;
}

/* ---- hyperparameters ------------------------------------------------------------ */

/* o[key] (absent or null: 0) as an integer in [1, UINT32_MAX] (1), checked
 * before any conversion; -1 with the file, key and range. */
static int opt_u32(const wk_json *o, const char *key, uint32_t *v, const char *path, wk_err *err)
{
    const wk_json *x = wk_json_get(o, key);
    if (!x || wk_json_type_of(x) == WK_JSON_NULL) return 0;
    int64_t i;
    WK_TRY(wk_llama_json_int(x, path, key, 1, UINT32_MAX, &i, err));
    *v = (uint32_t)i;
    return 1;
}

static int u32_of(int64_t v, uint32_t *out, const char *what, const char *path, wk_err *err)
{
    if (v <= 0 || v > UINT32_MAX)
        return wk_err_set(err, WK_E_FORMAT, "%s: %s = %lld is out of range", path, what, (long long)v);
    *out = (uint32_t)v;
    return 0;
}

/* config.json keys that change the computation and are not implemented:
 * refused by name unless they hold the value that means "off". */
static int hf_unsupported(const wk_json *cfg, const char *path, wk_err *err)
{
    const char *s;
    if (wk_json_get(cfg, "hidden_act") &&
        (wk_json_get_string(cfg, "hidden_act", &s, NULL, NULL) || strcmp(s, "silu") != 0))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"hidden_act\" must be \"silu\" (LLaMA's "
                          "SwiGLU); another activation is not implemented", path);
    static const char *const experts[] = {"num_local_experts", "num_experts", "n_routed_experts", "moe"};
    for (size_t i = 0; i < sizeof experts / sizeof *experts; i++) {
        const wk_json *x = wk_json_get(cfg, experts[i]);
        int64_t n;
        if (!x || wk_json_type_of(x) == WK_JSON_NULL ||
            (wk_json_as_int(x, &n, NULL) == 0 && (n == 0 || n == 1)))
            continue;
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"%s\": mixture-of-experts models are not "
                          "implemented", path, experts[i]);
    }
    static const char *const biases[] = {"mlp_bias", "attention_bias"};
    for (size_t i = 0; i < sizeof biases / sizeof *biases; i++) {
        int b = 0;
        const wk_json *x = wk_json_get(cfg, biases[i]);
        if (x && (wk_json_as_bool(x, &b, NULL) != 0 || b))
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"%s\" is not false: %s biases are not "
                              "implemented for this architecture", path, biases[i],
                              i ? "attention" : "MLP");
    }
    return 0;
}

/* 1 if cfg[key] is absent, null or false. */
static int off(const wk_json *cfg, const char *key)
{
    const wk_json *x = wk_json_get(cfg, key);
    int b = 1;
    return !x || wk_json_type_of(x) == WK_JSON_NULL || (wk_json_as_bool(x, &b, NULL) == 0 && !b);
}

/* Sliding-window attention under the architecture's rule (wk_arch.h): p->swa
 * gets the window a WK_SWA_WINDOW model uses (checked against the context
 * length written once that is known); Qwen2's flag and per-layer kinds must
 * say "full attention everywhere". */
static int hf_swa(wk_gl *p, const wk_json *cfg, const char *path, wk_err *err)
{
    const wk_json *w = wk_json_get(cfg, "sliding_window");
    if (p->arch->swa == WK_SWA_NONE && wk_json_type_of(w) != WK_JSON_NULL)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"sliding_window\" is set: sliding-window "
                          "attention is not implemented for %s (only null is accepted)", path,
                          p->arch->hf_class);
    if (p->arch->swa == WK_SWA_WINDOW) {
        p->swa = w ? 0 : p->arch->swa_default;   /* absent: the config class's default */
        if (w && wk_json_type_of(w) != WK_JSON_NULL)
            WK_TRY(wk_llama_json_int(w, path, "sliding_window", 1, INT32_MAX, &p->swa, err));
    }
    if (p->arch->swa != WK_SWA_FLAG) return 0;
    if (!off(cfg, "use_sliding_window"))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"use_sliding_window\" is not false: "
                          "sliding-window attention is not implemented", path);
    if (!off(cfg, "use_mrope"))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"use_mrope\" is not false: multimodal "
                          "rotary embedding is not implemented", path);
    const wk_json *lt = wk_json_get(cfg, "layer_types");
    for (size_t i = 0; lt && wk_json_type_of(lt) != WK_JSON_NULL && i <= wk_json_len(lt); i++) {
        const char *k = "full_attention";
        if (wk_json_type_of(lt) != WK_JSON_ARRAY ||
            (i < wk_json_len(lt) && wk_json_as_string(wk_json_at(lt, i), &k, NULL, NULL)) ||
            strcmp(k, "full_attention") != 0)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"layer_types\": only \"full_attention\" "
                              "layers are implemented (entry %zu)", path, i);
    }
    return 0;
}

/* config.json's rope_scaling (wk_arch_rope_scaling): linear -> the
 * rope.scaling.* keys; llama3 -> the rope_freqs.weight tensor (n_rot known). */
static int hf_rope_scaling(wk_gl *p, const wk_json *cfg, const char *path, wk_err *err)
{
    WK_TRY(wk_arch_rope_scaling(p->arch, cfg, path, &p->rs, &p->theta, err));
    p->hp.rope_theta = (float)p->theta;
    if (p->rs.kind == WK_ROPE_LINEAR) {
        p->hp.has_rope_scaling = 1;
        p->hp.rope_scaling_factor = (float)p->rs.factor;
    }
    return 0;
}

/* From an HF config.json: every number range-checked before conversion. */
static int hparams_hf(wk_gl *p, const wk_json *cfg, const char *path, wk_err *err)
{
    double d;
    wk_arch_id id;
    WK_TRY(wk_arch_from_config(cfg, path, &id, err));
    p->arch = wk_arch_get(id);
    WK_TRY(wk_arch_check_keys(p->arch, cfg, path, err));
    WK_TRY(hf_unsupported(cfg, path, err));
    WK_TRY(hf_swa(p, cfg, path, err));
    static const char *const req[] = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                      "intermediate_size"};
    uint32_t *dst[] = {&p->hp.n_embd, &p->hp.n_layer, &p->hp.n_head, &p->hp.n_ff};
    for (int i = 0; i < 4; i++) {
        int r = opt_u32(cfg, req[i], dst[i], path, err);
        if (r < 0) return -1;
        if (r == 0) return wk_err_set(err, WK_E_FORMAT, "%s: missing key \"%s\"", path, req[i]);
    }
    p->hp.n_head_kv = p->hp.n_head;
    if (opt_u32(cfg, "num_key_value_heads", &p->hp.n_head_kv, path, err) < 0) return -1;
    uint32_t hd = 0;
    if (opt_u32(cfg, "head_dim", &hd, path, err) < 0) return -1;
    if (hd && (uint64_t)hd * p->hp.n_head != p->hp.n_embd && !p->arch->free_head_dim)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: head_dim %u is not hidden_size %u / "
                          "num_attention_heads %u: not implemented for %s", path, hd, p->hp.n_embd,
                          p->hp.n_head, p->arch->hf_class);
    if (hd > 65536 || (hd & 1))
        return wk_err_set(err, WK_E_FORMAT, "%s: head_dim %u: must be even and at most 65536", path, hd);
    p->head_dim = hd;
    const wk_json *x = wk_json_get(cfg, "rms_norm_eps");
    if (!x) return wk_err_set(err, WK_E_FORMAT, "%s: missing key \"rms_norm_eps\"", path);
    WK_TRY(wk_llama_json_real(x, path, "rms_norm_eps", &wk_llama_norm_eps_range, &d, err));
    p->hp.norm_eps = (float)d;
    p->theta = 10000.0;
    x = wk_json_get(cfg, "rope_theta");
    if (x && wk_json_type_of(x) != WK_JSON_NULL)
        WK_TRY(wk_llama_json_real(x, path, "rope_theta", &wk_llama_rope_theta_range, &p->theta, err));
    p->hp.rope_theta = (float)p->theta;
    uint32_t nv = 0;
    int r = opt_u32(cfg, "vocab_size", &nv, path, err);
    if (r < 0) return -1;
    p->cfg_vocab = r ? (int64_t)nv : -1;
    if (opt_u32(cfg, "max_position_embeddings", &p->hp.n_ctx, path, err) < 0) return -1;
    if (!p->hp.n_ctx && opt_u32(cfg, "max_sequence_length", &p->hp.n_ctx, path, err) < 0)
        return -1;   /* early 2023 conversions' name (llama.cpp's converter reads it too) */
    int tie = 0;
    if (wk_json_get(cfg, "tie_word_embeddings") &&
        wk_json_get_bool(cfg, "tie_word_embeddings", &tie, err))
        return wk_err_prefix(err, "%s", path);
    p->tie = tie;
    return hf_rope_scaling(p, cfg, path, err);
}

/* From Meta params.json values (range-checked by wk_llama_params_parse:
 * sizes <= 2^40, so each must also fit the GGUF's uint32). */
static int hparams_meta(wk_gl *p, const wk_llama_params *mp, const char *path, wk_err *err)
{
    WK_TRY(u32_of(mp->dim, &p->hp.n_embd, "dim", path, err));
    WK_TRY(u32_of(mp->n_layers, &p->hp.n_layer, "n_layers", path, err));
    WK_TRY(u32_of(mp->n_heads, &p->hp.n_head, "n_heads", path, err));
    WK_TRY(u32_of(mp->n_kv_heads, &p->hp.n_head_kv, "n_kv_heads", path, err));
    p->theta = mp->rope_theta;
    p->arch = wk_arch_get(WK_ARCH_LLAMA);
    p->heads_key = "n_heads";
    p->hp.norm_eps = (float)mp->norm_eps;
    p->hp.rope_theta = (float)mp->rope_theta;
    /* Meta's files do not say; llama.cpp's original converter guessed from
     * the generation: LLaMA-1 (eps 1e-6) 2048, LLaMA-2 (eps 1e-5) 4096, Code
     * Llama (theta 1e6) 16384. */
    p->hp.n_ctx = mp->rope_theta == 1000000.0 ? 16384 : mp->norm_eps >= 1e-5 ? 4096 : 2048;
    return 0;
}

static int load_hparams(wk_gl *p, int hf, wk_err *err)
{
    const wk_source *src = p->src;
    const char *dir = wk_source_dir(src);
    if (hf) {
        wk_json *cfg;
        WK_TRY(load_json(p->src, "config.json", &cfg, &p->cfg_path, err));
        if (!cfg) return wk_err_set(err, WK_E_USAGE, "%s: no config.json (needed for an HF model)", dir);
        p->heads_key = "num_attention_heads";
        int rc = hparams_hf(p, cfg, p->cfg_path, err);
        int swa_key = wk_json_get(cfg, "sliding_window") != NULL;
        wk_json_free(cfg);
        uint32_t ctx = p->o.ctx ? p->o.ctx : p->hp.n_ctx;
        if (!rc && p->swa > 0 && (ctx == 0 || ctx > p->swa))
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: sliding_window %lld%s is smaller than the "
                              "context length %u: llama.cpp's %s architecture has no sliding-window "
                              "attention, so positions beyond the window would be computed "
                              "differently; give --ctx %lld (or less) to write a context the window "
                              "covers", p->cfg_path, (long long)p->swa,
                              swa_key ? "" : " (the default: no key)", ctx,
                              p->arch->gguf_arch, (long long)p->swa);
        return rc;
    }
    if (!(p->cfg_path = wk_path_join(dir, "params.json"))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (wk_source_meta(src))
        return hparams_meta(p, wk_llama_ckpt_params(wk_source_meta(src)), p->cfg_path, err);
    wk_map m;
    if (read_small(wk_source_inputs(src), p->cfg_path, &m, err))
        return wk_err_prefix(err, "Meta-layout tensors need params.json");
    wk_llama_params mp;   /* plain values: usable after the map is closed */
    int rc = wk_llama_params_parse(m.data, m.size, p->cfg_path, &mp, err);
    wk_map_close(&m);
    WK_TRY(rc);
    return hparams_meta(p, &mp, p->cfg_path, err);
}

/* ---- tensor mapping (model mode) --------------------------------------------------- */

static const wk_source_tensor *need(const wk_source *src, const char *name, int ndim, wk_err *err)
{
    long i = wk_source_find(src, name);
    if (i < 0) {
        wk_err_set(err, WK_E_FORMAT, "%s: missing tensor \"%s\"", wk_source_path(src), name);
        return NULL;
    }
    const wk_source_tensor *t = wk_source_tensor_at(src, (size_t)i);
    if (t->ndim != ndim) {
        wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" has %d dims, expected %d", wk_source_path(src), name,
                   t->ndim, ndim);
        return NULL;
    }
    return t;
}

/* Every rotary buffer of the source (rope.freqs, rotary_emb.inv_freq: dropped
 * from the output) against the head count and rope_theta (hp.n_rot set). */
static int check_ropes(wk_gl *p, int hf, wk_err *err)
{
    const wk_source *src = p->src;
    float *v = NULL;
    uint8_t *raw = NULL;
    int rc = -1;
    for (size_t i = 0; i < wk_source_count(src); i++) {
        const wk_source_tensor *st = wk_source_tensor_at(src, i);
        char name[64];
        int perm;
        if (wk_gl_map_name(st->name, hf, name, sizeof name, &perm) != 1) continue;
        int64_t n = st->ndim == 1 ? st->shape[0] : -1;
        WK_FAIL_GOTO(n < 0 || n > 65536 || (st->dtype != WK_DT_F32 && st->dtype != WK_DT_F16 &&
                     st->dtype != WK_DT_BF16), done, err, WK_E_FORMAT, "%s: tensor \"%s\": a "
                     "rotary buffer must be a 1-D float tensor of at most 65536 values",
                     wk_source_path(src), st->name);
        free(v);
        free(raw);
        v = malloc((size_t)(n ? n : 1) * sizeof *v);
        raw = malloc((size_t)(n ? n : 1) * 4);
        WK_FAIL_GOTO(!v || !raw, done, err, WK_E_NOMEM, "out of memory");
        WK_TRY_GOTO(wk_source_read(src, i, raw, (size_t)n * 4, err), done);
        for (int64_t j = 0; j < n; j++) {
            uint16_t h;
            if (st->dtype == WK_DT_F32) memcpy(&v[j], raw + 4 * j, 4);
            else {
                memcpy(&h, raw + 2 * j, 2);
                v[j] = st->dtype == WK_DT_F16 ? wk_f16_to_f32(h) : wk_bf16_to_f32(h);
            }
        }
        wk_llama_rope_check c = {wk_source_path(src), st->name, st->dtype, p->cfg_path, p->heads_key,
                                 p->hp.n_head, p->hp.n_embd, p->hp.n_rot, "rope_theta", p->theta};
        WK_TRY_GOTO(wk_llama_check_rope(&c, v, n, err), done);
    }
    rc = 0;
done:
    free(v);
    free(raw);
    return rc;
}

/* The q/k/v biases of layer l (architectures with qkv_bias): present, 1-D,
 * as long as their matrix has rows. */
static int check_biases(wk_gl *p, uint32_t l, wk_err *err)
{
    static const char *const proj[] = {"q", "k", "v"};
    for (int j = 0; j < 3; j++) {
        char name[96];
        snprintf(name, sizeof name, "model.layers.%u.self_attn.%s_proj.bias", l, proj[j]);
        const wk_source_tensor *b = need(p->src, name, 1, err);
        if (!b) return wk_err_prefix(err, "%s needs q/k/v biases", p->arch->hf_class);
        int64_t rows = (int64_t)(j == 0 ? p->hp.n_head : p->hp.n_head_kv) * p->hp.n_rot;
        if (b->shape[0] != rows)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" has %lld values, expected %lld",
                              wk_source_path(p->src), name, (long long)b->shape[0], (long long)rows);
    }
    return 0;
}

/* Check tensor shapes against the hyperparameters; fill n_vocab / n_ff. */
static int check_shapes(wk_gl *p, int hf, wk_err *err)
{
    const wk_source *src = p->src;
    const char *f = wk_source_path(src);
    const wk_source_tensor *emb = need(src, hf ? "model.embed_tokens.weight" : "tok_embeddings.weight", 2, err);
    if (!emb) return -1;
    if (emb->shape[1] != p->hp.n_embd)
        return wk_err_set(err, WK_E_FORMAT, "%s: embedding width %lld, config says %u", f,
                          (long long)emb->shape[1], p->hp.n_embd);
    WK_TRY(u32_of(emb->shape[0], &p->hp.n_vocab, "vocabulary size", f, err));
    if (hf && p->cfg_vocab >= 0 && p->cfg_vocab != emb->shape[0])
        return wk_err_set(err, WK_E_FORMAT, "%s/config.json: vocab_size %lld, but the embedding has %lld rows",
                          wk_source_dir(src), (long long)p->cfg_vocab, (long long)emb->shape[0]);
    long oi = wk_source_find(src, hf ? "lm_head.weight" : "output.weight");
    const wk_source_tensor *out = oi >= 0 ? wk_source_tensor_at(src, (size_t)oi) : NULL;
    if (out && (out->ndim != 2 || out->shape[0] != emb->shape[0] || out->shape[1] != emb->shape[1]))
        return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" is not [%lld, %lld] like the embedding", f,
                          out->name, (long long)emb->shape[0], (long long)emb->shape[1]);
    char name[96];
    snprintf(name, sizeof name, hf ? "model.layers.0.mlp.gate_proj.weight" : "layers.0.feed_forward.w1.weight");
    const wk_source_tensor *ffn = need(src, name, 2, err);
    if (!ffn) return -1;
    if (p->hp.n_ff && p->hp.n_ff != ffn->shape[0])
        return wk_err_set(err, WK_E_FORMAT, "%s: FFN size %lld, config says %u", f, (long long)ffn->shape[0], p->hp.n_ff);
    p->hp.n_ff = (uint32_t)ffn->shape[0];
    if (!p->hp.n_head || (!p->head_dim && p->hp.n_embd % p->hp.n_head) || !p->hp.n_head_kv ||
        p->hp.n_head % p->hp.n_head_kv)
        return wk_err_set(err, WK_E_FORMAT, "%s: %u heads / %u kv heads do not fit width %u", f,
                          p->hp.n_head, p->hp.n_head_kv, p->hp.n_embd);
    p->hp.n_rot = p->head_dim ? p->head_dim : p->hp.n_embd / p->hp.n_head;
    if (hf && p->head_dim && (uint64_t)p->head_dim * p->hp.n_head != p->hp.n_embd) {
        const wk_source_tensor *q = need(src, "model.layers.0.self_attn.q_proj.weight", 2, err);
        if (!q) return -1;
        if (q->shape[0] != (int64_t)p->hp.n_head * p->head_dim)
            return wk_err_set(err, WK_E_FORMAT, "%s: head_dim %u is not hidden_size %u / "
                              "num_attention_heads %u, and the checkpoint's \"%s\" has %lld rows, not "
                              "%u x %u: the config contradicts the checkpoint", p->cfg_path, p->head_dim,
                              p->hp.n_embd, p->hp.n_head, q->name, (long long)q->shape[0],
                              p->hp.n_head, p->head_dim);
    }
    WK_TRY(check_ropes(p, hf, err));
    if (p->tie && out)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: tie_word_embeddings is true but the checkpoint "
                          "has its own \"%s\": which one the model uses is ambiguous; set it to "
                          "false or remove the tensor", p->cfg_path, out->name);
    if (hf && !p->tie && !out)
        return wk_err_set(err, WK_E_FORMAT, "%s: tie_word_embeddings is false (absent: false) but the "
                          "checkpoint has no \"lm_head.weight\": the output matrix is missing (set "
                          "tie_word_embeddings to true if the model shares the embedding)", p->cfg_path);
    if (p->rs.kind == WK_ROPE_LLAMA3) {
        if (!(p->rope_freqs = malloc(p->hp.n_rot / 2 * sizeof *p->rope_freqs)))
            return wk_err_set(err, WK_E_NOMEM, "out of memory");
        wk_arch_llama3_factors(p->theta, p->hp.n_rot, &p->rs, p->rope_freqs);
    }
    /* layer count: blocks present must be exactly 0 .. n_layer-1 */
    for (uint32_t l = 0; l <= p->hp.n_layer; l++) {
        snprintf(name, sizeof name, hf ? "model.layers.%u.self_attn.q_proj.weight" : "layers.%u.attention.wq.weight", l);
        long i = wk_source_find(src, name);
        if (l < p->hp.n_layer && i < 0)
            return wk_err_set(err, WK_E_FORMAT, "%s: missing tensor \"%s\" (%u layers expected)", f, name, p->hp.n_layer);
        if (l == p->hp.n_layer && i >= 0)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" beyond the %u layers of the config", f, name, p->hp.n_layer);
        if (i < 0) continue;
        const wk_source_tensor *q = wk_source_tensor_at(src, (size_t)i);
        if (q->ndim != 2 || q->shape[0] != (int64_t)p->hp.n_head * p->hp.n_rot || q->shape[1] != p->hp.n_embd)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": shape does not match width %u (%u "
                              "heads x %u)", wk_source_file(src, q->file), name, p->hp.n_embd,
                              p->hp.n_head, p->hp.n_rot);
        snprintf(name, sizeof name, hf ? "model.layers.%u.self_attn.k_proj.weight" : "layers.%u.attention.wk.weight", l);
        const wk_source_tensor *k = need(src, name, 2, err);
        if (!k) return -1;
        if (k->shape[0] != (int64_t)p->hp.n_head_kv * p->hp.n_rot)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" has %lld rows, expected %u kv heads x %u",
                              f, name, (long long)k->shape[0], p->hp.n_head_kv, p->hp.n_rot);
        if (hf && p->arch->qkv_bias) WK_TRY(check_biases(p, l, err));
    }
    return 0;
}

static int map_tensors(wk_gl *p, int hf, wk_err *err)
{
    const wk_source *src = p->src;
    size_t n = wk_source_count(src);
    p->t = calloc(n + 1, sizeof *p->t);   /* + a generated rope_freqs */
    if (!p->t) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    wk_dtype main_dt = WK_DT_F32;
    for (size_t i = 0; i < n; i++) {
        const wk_source_tensor *st = wk_source_tensor_at(src, i);
        gl_tensor *t = &p->t[p->n_t];
        int perm;
        int r = wk_gl_map_name(st->name, hf, t->name, sizeof t->name, &perm);
        if (r == 1) continue;
        if (r < 0)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" has no llama.cpp name", wk_source_path(src), st->name);
        size_t nl = strlen(t->name);
        if (nl > 5 && !strcmp(t->name + nl - 5, ".bias") &&
            (!p->arch->qkv_bias || strstr(t->name, "attn_output")))
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: tensor \"%s\": %s has no such bias (not "
                              "implemented)", wk_source_file(src, st->file), st->name, p->arch->hf_class);
        if (!p->arch->unpermute_qk) perm = 0;   /* NEOX rotary: rows stay as stored */
        if (st->dtype != WK_DT_F32 && st->dtype != WK_DT_F16 && st->dtype != WK_DT_BF16)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: tensor \"%s\": dtype %s (F32, F16 or BF16 expected)",
                              wk_source_path(src), st->name,
                              st->dtype < WK_DT_COUNT ? wk_dtype_get(st->dtype)->torch_name : "?");
        if (st->ndim < 1 || st->ndim > WK_GGUF_MAX_DIMS)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" has %d dims", wk_source_path(src), st->name, st->ndim);
        t->src = i;
        wk_dtype out = st->ndim == 1 ? WK_DT_F32
                       : p->o.outtype == WK_OUTTYPE_AUTO ? st->dtype : outtype_dtype(p->o.outtype);
        t->x.out_dtype = out;
        t->x.unpermute = perm == 1 ? p->hp.n_head : perm == 2 ? p->hp.n_head_kv : 0;
        t->type = wk_ggml_type_from_dtype(out);
        if (strcmp(t->name, "token_embd.weight") == 0) main_dt = out;
        p->n_t++;
    }
    p->file_type = ftype_of(main_dt);
    if (p->rope_freqs) {   /* llama3 rope scaling: one generated F32 tensor */
        gl_tensor *t = &p->t[p->n_t++];
        snprintf(t->name, sizeof t->name, "rope_freqs.weight");
        t->src = GL_GENERATED;
        t->gen = p->rope_freqs;
        t->type = wk_ggml_type_from_dtype(WK_DT_F32);
        t->x.out_dtype = WK_DT_F32;
    }
    return 0;
}

/* ---- vocabulary ------------------------------------------------------------------ */

/* added_tokens.json ({"<text>": id}) into the vocabulary arrays, as llama.cpp's
 * converter: USER_DEFINED, score -1000, text as is; ids beyond the embedding
 * ignored.  WK_E_FORMAT naming the file and token for a non-integer id. */
static int added_tokens(wk_gl *p, char **tok, size_t *len, float *score, int32_t *type, wk_err *err)
{
    wk_json *j;
    char *path = NULL;
    WK_TRY(load_json(p->src, "added_tokens.json", &j, &path, err));
    if (!j) return 0;
    int rc = -1;
    for (size_t i = 0; i < wk_json_len(j); i++) {
        size_t kl;
        const char *k = wk_json_key_at(j, i, &kl);
        int64_t id;
        if (wk_json_as_int(wk_json_value_at(j, i), &id, err)) {
            wk_err_prefix(err, "%s: \"%s\"", path, k);
            goto done;
        }
        if (id < 0 || id >= p->hp.n_vocab) continue;   /* as the converter: ignored */
        free(tok[id]);
        tok[id] = strndup(k, kl);
        WK_FAIL_GOTO(!tok[id], done, err, WK_E_NOMEM, "out of memory");
        len[id] = kl;
        score[id] = -1000.0f;
        type[id] = WK_SPM_USER_DEFINED;
    }
    rc = 0;
done:
    wk_json_free(j);
    free(path);
    return rc;
}

/* llama.cpp's converter (does_token_look_special): added tokens that ought to
 * be control tokens although a model marks them not special. */
static int looks_special(const char *t, size_t n)
{
    static const char *const names[] = {"<pad>", "<mask>", "<2mass>", "[@BOS@]"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (n == strlen(names[i]) && memcmp(t, names[i], n) == 0) return 1;
    static const char *const pre[][2] = {{"<|", "|>"}, {"<\xef\xbd\x9c", "\xef\xbd\x9c>"}, {"<unused", ">"}};
    for (size_t i = 0; i < sizeof pre / sizeof *pre; i++) {
        size_t a = strlen(pre[i][0]), b = strlen(pre[i][1]);
        if (n >= a && n >= b && memcmp(t, pre[i][0], a) == 0 && memcmp(t + n - b, pre[i][1], b) == 0) return 1;
    }
    return 0;
}

/* s[0..n) with every U+2581 (SentencePiece's space mark) replaced by a space
 * (malloc'd, NUL-terminated; *out_n its length).  NULL on OOM. */
static char *spaces_unmarked(const char *s, size_t n, size_t *out_n)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; o && i < n; i++) {
        if (i + 2 < n && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
            o[k++] = ' ';
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    if (o) o[k] = '\0';
    *out_n = k;
    return o;
}

/* tokenizer_config.json "added_tokens_decoder": {"<id>": {"content": ...,
 * "special": bool, ...}}, applied after added_tokens.json as llama.cpp's
 * converter does: score -1000; CONTROL if special or it looks special, else
 * USER_DEFINED with U+2581 turned into spaces; ids beyond the embedding are
 * ignored (the converter warns and skips them). */
static int added_tokens_decoder(wk_gl *p, char **tok, size_t *len, float *score, int32_t *type, wk_err *err)
{
    wk_json *tc;
    char *path = NULL;
    WK_TRY(load_json(p->src, "tokenizer_config.json", &tc, &path, err));
    if (!tc) return 0;
    const wk_json *d = wk_json_get(tc, "added_tokens_decoder");
    int rc = -1;
    WK_FAIL_GOTO(d && wk_json_type_of(d) != WK_JSON_OBJECT, done, err, WK_E_FORMAT,
                 "%s: \"added_tokens_decoder\" is not an object", path);
    for (size_t i = 0; i < wk_json_len(d); i++) {
        size_t kl, cl;
        const char *k = wk_json_key_at(d, i, &kl), *c;
        const wk_json *v = wk_json_value_at(d, i);
        char *end;
        errno = 0;
        unsigned long long id = kl && k[0] >= '0' && k[0] <= '9' ? strtoull(k, &end, 10) : 0;
        WK_FAIL_GOTO(!kl || k[0] < '0' || k[0] > '9' || end != k + kl || errno, done, err, WK_E_FORMAT,
                     "%s: added_tokens_decoder: key \"%.*s\" is not a token id", path,
                     (int)(kl > 64 ? 64 : kl), k);
        WK_FAIL_GOTO(wk_json_type_of(v) != WK_JSON_OBJECT || wk_json_get_string(v, "content", &c, &cl, NULL),
                     done, err, WK_E_FORMAT, "%s: added_tokens_decoder[\"%.20s\"]: no \"content\" string",
                     path, k);
        if (id >= p->hp.n_vocab) continue;
        int special = 0;
        if (wk_json_get(v, "special") && wk_json_get_bool(v, "special", &special, err)) {
            wk_err_prefix(err, "%s: added_tokens_decoder[\"%.20s\"]", path, k);
            goto done;
        }
        int control = special || looks_special(c, cl);
        size_t n = cl;
        char *t = control ? strndup(c, cl) : spaces_unmarked(c, cl, &n);
        WK_FAIL_GOTO(!t, done, err, WK_E_NOMEM, "out of memory");
        free(tok[id]);
        tok[id] = t;
        len[id] = n;
        score[id] = -1000.0f;
        type[id] = control ? WK_SPM_CONTROL : WK_SPM_USER_DEFINED;
    }
    rc = 0;
done:
    wk_json_free(tc);
    free(path);
    return rc;
}

/* tokenizer_config.json: add_bos/add_eos/chat_template; config.json: special ids. */
typedef struct {
    int add_bos, add_eos;
    char *chat_template;
    int64_t bos, eos, unk, pad;
    int prefix_space;   /* tokenizer_config.json add_prefix_space: 0 absent, 1 false, 2 true */
} special_info;

static int hf_specials(wk_gl *p, special_info *sp, wk_err *err)
{
    wk_json *tc, *cfg;
    WK_TRY(load_json(p->src, "tokenizer_config.json", &tc, NULL, err));
    if (tc) {
        int b;
        const char *s;
        size_t n;
        if (!wk_json_get_bool(tc, "add_bos_token", &b, NULL)) sp->add_bos = b;
        if (!wk_json_get_bool(tc, "add_eos_token", &b, NULL)) sp->add_eos = b;
        if (!wk_json_get_bool(tc, "add_prefix_space", &b, NULL)) sp->prefix_space = 1 + !!b;
        if (!wk_json_get_string(tc, "chat_template", &s, &n, NULL)) sp->chat_template = strndup(s, n);
        wk_json_free(tc);
    }
    WK_TRY(load_json(p->src, "config.json", &cfg, NULL, err));
    if (cfg) {
        int64_t v;
        if (!wk_json_get_int(cfg, "bos_token_id", &v, NULL) && v >= 0) sp->bos = v;
        if (!wk_json_get_int(cfg, "eos_token_id", &v, NULL) && v >= 0) sp->eos = v;
        if (!wk_json_get_int(cfg, "pad_token_id", &v, NULL) && v >= 0) sp->pad = v;
        wk_json_free(cfg);
    }
    return 0;
}

static int read_template(wk_inputs *in, const char *path, char **out, wk_err *err)
{
    wk_map m;
    WK_TRY(read_small(in, path, &m, err));
    *out = strndup((const char *)m.data ? (const char *)m.data : "", m.size);
    wk_map_close(&m);
    return *out ? 0 : wk_err_set(err, WK_E_NOMEM, "out of memory");
}

/* The vocabulary from the sentencepiece model m (types mapped as llama.cpp's
 * converter does), padded to nv entries with "[PAD<i>]" (UNUSED, score
 * -10000).  The arrays hold nv entries. */
static int vocab_from_spm(const wk_spm *m, uint32_t nv, char **tok, size_t *len, float *score,
                          int32_t *type, wk_err *err)
{
    for (uint32_t i = 0; i < nv; i++) {
        char pad[32];
        if (i < m->n_pieces) {
            const wk_spm_piece *pc = &m->pieces[i];
            tok[i] = strndup(pc->text, pc->len);
            len[i] = pc->len;
            score[i] = pc->score;
            /* the converter's mapping: USER_DEFINED pieces become NORMAL */
            type[i] = pc->type == WK_SPM_UNKNOWN || pc->type == WK_SPM_CONTROL || pc->type == WK_SPM_UNUSED ||
                              pc->type == WK_SPM_BYTE ? pc->type : WK_SPM_NORMAL;
        } else {
            snprintf(pad, sizeof pad, "[PAD%u]", i);
            tok[i] = strdup(pad);
            len[i] = strlen(pad);
            score[i] = -10000.0f;
            type[i] = WK_SPM_UNUSED;
        }
        WK_FAIL_IF(!tok[i], err, WK_E_NOMEM, "out of memory");
    }
    return 0;
}

/* The tokenizer.ggml.* KVs: model, tokens (nv), scores, types, the special
 * ids that fall inside the vocabulary, add_bos/add_eos, and add_space_prefix
 * false when the model has no dummy prefix. */
static int vocab_kvs(wk_ggufw *w, char *const *tok, const size_t *len, const float *score,
                     const int32_t *type, uint32_t nv, const special_info *sp, int add_dummy_prefix,
                     wk_err *err)
{
    WK_TRY(wk_ggufw_kv_str(w, "tokenizer.ggml.model", "llama", 5, err));
    WK_TRY(wk_ggufw_kv_str(w, "tokenizer.ggml.pre", "default", 7, err));
    WK_TRY(wk_ggufw_kv_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok, len, nv, err));
    WK_TRY(wk_ggufw_kv_arr(w, "tokenizer.ggml.scores", WK_GGUF_FLOAT32, score, nv, err));
    WK_TRY(wk_ggufw_kv_arr(w, "tokenizer.ggml.token_type", WK_GGUF_INT32, type, nv, err));
    static const char *const ids[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                      "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"};
    int64_t idv[] = {sp->bos, sp->eos, sp->unk, sp->pad};
    for (int k = 0; k < 4; k++)
        if (idv[k] >= 0 && idv[k] < nv) WK_TRY(wk_ggufw_kv_u32(w, ids[k], (uint32_t)idv[k], err));
    WK_TRY(wk_ggufw_kv_bool(w, "tokenizer.ggml.add_bos_token", sp->add_bos, err));
    WK_TRY(wk_ggufw_kv_bool(w, "tokenizer.ggml.add_eos_token", sp->add_eos, err));
    if (!add_dummy_prefix) WK_TRY(wk_ggufw_kv_bool(w, "tokenizer.ggml.add_space_prefix", 0, err));
    return 0;
}

/* tokenizer.chat_template: from --chat-template (a file, or "metharme"), else
 * tokenizer_config.json's (taken from sp), else none. */
static int chat_template_kv(wk_gl *p, special_info *sp, wk_err *err)
{
    char *tmpl = NULL;
    if (p->o.chat_template) {
        if (strcmp(p->o.chat_template, "metharme") == 0) tmpl = strdup(wk_gl_chat_template_metharme());
        else WK_TRY(read_template(wk_source_inputs(p->src), p->o.chat_template, &tmpl, err));
        WK_FAIL_IF(!tmpl, err, WK_E_NOMEM, "out of memory");
    } else {
        tmpl = sp->chat_template;
        sp->chat_template = NULL;
    }
    int rc = tmpl ? wk_ggufw_kv_str(p->w, "tokenizer.chat_template", tmpl, strlen(tmpl), err) : 0;
    free(tmpl);
    return rc;
}

/* 1 if path names a file ending in ".json". */
static int is_json_name(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcmp(path + n - 5, ".json") == 0;
}

/* The vocabulary's file: --vocab; else tokenizer.model in the source directory;
 * else (HF directory) its tokenizer.json; else tokenizer.model in the parent.
 * NULL when there is none (or out of memory). */
static char *find_vocab(wk_gl *p, int hf)
{
    if (p->o.vocab) return strdup(p->o.vocab);
    const char *dir = wk_source_dir(p->src);
    char *t = wk_path_join(dir, "tokenizer.model");
    wk_map m;
    wk_err e;
    if (t && !wk_map_open(&m, t, &e)) {
        wk_map_close(&m);
        return t;
    }
    free(t);
    if (hf && (t = wk_path_join(dir, "tokenizer.json")) && !wk_map_open(&m, t, &e)) {
        wk_map_close(&m);
        return t;
    }
    if (hf) free(t);
    return wk_llama_find_tokenizer(dir);
}

/* The tokenizer KVs: tokenizer.model (--vocab, or found next to the input; an HF
 * directory's tokenizer.json when it has no tokenizer.model), with an HF
 * directory's added tokens and special-token settings (hf). */
static int add_vocab(wk_gl *p, int hf, wk_err *err)
{
    char *vpath = find_vocab(p, hf);
    if (!vpath)
        return wk_err_set(err, WK_E_USAGE, "%s: no tokenizer.model%s here or in the parent "
                          "directory (give one with --vocab FILE)", wk_source_dir(p->src),
                          hf ? " or tokenizer.json" : "");
    wk_spm m;
    wk_bpej_kind kind = WK_BPEJ_SPM;
    if (wk_inputs_add(wk_source_inputs(p->src), vpath, err) ||
        (is_json_name(vpath) && wk_bpej_probe(vpath, &kind, err))) {
        free(vpath);
        return -1;
    }
    if (kind == WK_BPEJ_BYTELEVEL) {   /* GPT-2 style: formats/llama/wk_gguf_bpe.c */
        wk_gl_bpe_opts bo = {vpath, p->o.pre, p->hp.n_vocab, !p->o.chat_template};
        special_info none = {0, 0, NULL, -1, -1, -1, -1, 0};
        int rc = wk_gl_bpe_vocab(p->w, p->src, &bo, err) ? -1 : chat_template_kv(p, &none, err);
        free(vpath);
        return rc;
    }
    WK_FAIL_IF(p->o.pre, err, WK_E_USAGE, "--pre: %s is a SentencePiece vocabulary (no pre-tokenizer)",
               vpath);
    /* pieces beyond the embedding's rows are refused before anything is allocated */
    if (is_json_name(vpath) ? wk_tokjson_read_spm(&m, vpath, err)
                            : wk_spm_load_max(&m, vpath, p->hp.n_vocab ? p->hp.n_vocab : 1, err)) {
        free(vpath);
        return -1;
    }
    int rc = -1;
    uint32_t nv = p->hp.n_vocab;
    char **tok = NULL;
    size_t *len = NULL;
    float *score = NULL;
    int32_t *type = NULL;
    special_info sp = {1, 0, NULL, m.bos_id, m.eos_id, m.unk_id, m.pad_id, 0};
    WK_FAIL_GOTO(m.n_pieces > nv, done, err, WK_E_FORMAT,
                 "%s: %zu pieces, but the embedding has only %u rows", vpath, m.n_pieces, nv);
    tok = calloc(nv, sizeof *tok);
    len = calloc(nv, sizeof *len);
    score = calloc(nv, sizeof *score);
    type = calloc(nv, sizeof *type);
    WK_FAIL_GOTO(!tok || !len || !score || !type, done, err, WK_E_NOMEM, "out of memory");
    WK_TRY_GOTO(vocab_from_spm(&m, nv, tok, len, score, type, err), done);
    if (hf) {
        WK_TRY_GOTO(added_tokens(p, tok, len, score, type, err), done);
        WK_TRY_GOTO(added_tokens_decoder(p, tok, len, score, type, err), done);
        WK_TRY_GOTO(hf_specials(p, &sp, err), done);
        /* transformers' Llama tokenizers rebuild the tokenizer with this flag; llama.cpp follows
         * the model's own dummy prefix (tokenizer.ggml.add_space_prefix) */
        WK_FAIL_GOTO(sp.prefix_space && sp.prefix_space - 1 != !!m.add_dummy_prefix, done, err,
                     WK_E_UNSUPPORTED, "%s/tokenizer_config.json: field \"add_prefix_space\" is %s, "
                     "but %s %s a space before the text (llama.cpp follows it): not converted",
                     wk_source_dir(p->src), sp.prefix_space == 2 ? "true" : "false", vpath,
                     m.add_dummy_prefix ? "adds" : "does not add");
    }
    WK_TRY_GOTO(vocab_kvs(p->w, tok, len, score, type, nv, &sp, m.add_dummy_prefix, err), done);
    WK_TRY_GOTO(chat_template_kv(p, &sp, err), done);
    rc = 0;
done:
    free(sp.chat_template);
    for (uint32_t i = 0; tok && i < nv; i++) free(tok[i]);
    free(tok);
    free(len);
    free(score);
    free(type);
    wk_spm_free(&m);
    free(vpath);
    return rc;
}

/* ---- metadata (model mode) ---------------------------------------------------------- */

static const char *base_name(const char *path, char *buf, size_t cap)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t s = n;
    while (s > 0 && path[s - 1] != '/') s--;
    snprintf(buf, cap, "%.*s", (int)(n - s), path + s);
    return buf;
}

/* "<arch>.<key>" into buf (>= 96 bytes). */
static const char *akey(const wk_gl *p, const char *key, char *buf)
{
    snprintf(buf, 96, "%s.%s", p->arch->gguf_arch, key);
    return buf;
}

/* The hyperparameter KVs under the architecture's prefix, the ones llama.cpp's
 * converter writes for it: vocab_size and rope.dimension_count for "llama"
 * (LlamaModel), not for "qwen2" (llama.cpp derives both from the tensors). */
static int add_arch_kvs(wk_gl *p, wk_err *err)
{
    wk_ggufw *w = p->w;
    const wk_gl_hparams *h = &p->hp;
    char k[96];
    int is_llama = !strcmp(p->arch->gguf_arch, "llama");
    WK_TRY(wk_ggufw_kv_u32(w, akey(p, "block_count", k), h->n_layer, err));
    WK_TRY(wk_ggufw_kv_u32(w, akey(p, "context_length", k), p->o.ctx ? p->o.ctx : h->n_ctx, err));
    WK_TRY(wk_ggufw_kv_u32(w, akey(p, "embedding_length", k), h->n_embd, err));
    WK_TRY(wk_ggufw_kv_u32(w, akey(p, "feed_forward_length", k), h->n_ff, err));
    WK_TRY(wk_ggufw_kv_u32(w, akey(p, "attention.head_count", k), h->n_head, err));
    WK_TRY(wk_ggufw_kv_u32(w, akey(p, "attention.head_count_kv", k), h->n_head_kv, err));
    WK_TRY(wk_ggufw_kv_f32(w, akey(p, "rope.freq_base", k), h->rope_theta, err));
    WK_TRY(wk_ggufw_kv_f32(w, akey(p, "attention.layer_norm_rms_epsilon", k), h->norm_eps, err));
    if (h->has_rope_scaling) {
        WK_TRY(wk_ggufw_kv_str(w, akey(p, "rope.scaling.type", k), "linear", 6, err));
        WK_TRY(wk_ggufw_kv_f32(w, akey(p, "rope.scaling.factor", k), h->rope_scaling_factor, err));
    }
    if (p->head_dim) {   /* the converter writes config.json's head_dim (Llama 3.2 has one) */
        WK_TRY(wk_ggufw_kv_u32(w, akey(p, "attention.key_length", k), p->head_dim, err));
        WK_TRY(wk_ggufw_kv_u32(w, akey(p, "attention.value_length", k), p->head_dim, err));
    }
    WK_TRY(wk_ggufw_kv_u32(w, "general.file_type", p->file_type, err));
    if (is_llama) {
        WK_TRY(wk_ggufw_kv_u32(w, akey(p, "vocab_size", k), h->n_vocab, err));
        WK_TRY(wk_ggufw_kv_u32(w, akey(p, "rope.dimension_count", k), h->n_rot, err));
    }
    return 0;
}

static int add_model_kvs(wk_gl *p, int hf, wk_err *err)
{
    wk_ggufw *w = p->w;
    char nbuf[256];
    const char *name = p->o.name;
    if (!name) {
        char real[4096];
        const char *dir = wk_source_dir(p->src);
        name = base_name(realpath(dir, real) ? real : dir, nbuf, sizeof nbuf);
    }
    const char *arch = p->arch->gguf_arch;
    WK_TRY(wk_ggufw_kv_str(w, "general.architecture", arch, strlen(arch), err));
    WK_TRY(wk_ggufw_kv_str(w, "general.type", "model", 5, err));
    WK_TRY(wk_ggufw_kv_str(w, "general.name", name, strlen(name), err));
    if (p->o.alignment && p->o.alignment != WK_GGUF_DEFAULT_ALIGNMENT)
        WK_TRY(wk_ggufw_kv_u32(w, "general.alignment", p->o.alignment, err));
    WK_TRY(add_arch_kvs(p, err));
    WK_TRY(wk_ggufw_kv_u32(w, "general.quantization_version", 2, err));
    return add_vocab(p, hf, err);
}

/* ---- GGUF and carried inputs ---------------------------------------------------------- */

/* Types for a tensor stored as ggml type `type` with n dims under outtype. */
static void repack_type(const wk_gl *p, gl_tensor *t, const wk_source_tensor *st)
{
    t->type = st->ggml_type >= 0 ? st->ggml_type : wk_ggml_type_from_dtype(st->dtype);
    t->x.out_dtype = st->dtype;
    int is_float = st->dtype == WK_DT_F32 || st->dtype == WK_DT_F16 || st->dtype == WK_DT_BF16;
    if (p->o.outtype != WK_OUTTYPE_AUTO && is_float && st->ndim >= 2) {
        t->x.out_dtype = outtype_dtype(p->o.outtype);
        t->type = wk_ggml_type_from_dtype(t->x.out_dtype);
    }
}

static int map_repack(wk_gl *p, wk_err *err)
{
    const wk_source *src = p->src;
    size_t n = wk_source_count(src);
    p->t = calloc(n ? n : 1, sizeof *p->t);
    if (!p->t) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wk_source_tensor *st = wk_source_tensor_at(src, i);
        gl_tensor *t = &p->t[p->n_t++];
        if (strlen(st->name) > WK_GGUF_MAX_NAME)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor name \"%s\" is too long for GGUF", wk_source_path(src), st->name);
        if (st->ndim < 1 || st->ndim > WK_GGUF_MAX_DIMS)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" has %d dims (GGUF: 1..4)", wk_source_path(src), st->name, st->ndim);
        snprintf(t->name, sizeof t->name, "%s", st->name);
        t->src = i;
        repack_type(p, t, st);
        if (t->type < 0)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: tensor \"%s\": dtype %s has no GGUF type",
                              wk_source_path(src), st->name, wk_dtype_get(st->dtype)->torch_name);
    }
    /* general.file_type names the type of the bulk of the weights (llama.cpp's
     * convention: llama-quantize writes the type it quantized to, and the
     * loader, lacking the key, guesses the most common tensor type).  Quantized
     * tensors stay as they are under --outtype, so while any is left the
     * input's own file_type still describes them and is kept; only an all-float
     * file becomes "mostly <outtype>". */
    int quantized = 0;
    for (size_t i = 0; i < p->n_t; i++)
        quantized |= wk_source_tensor_at(src, p->t[i].src)->dtype == WK_DT_COUNT;
    if (p->o.outtype != WK_OUTTYPE_AUTO && !quantized) {
        p->file_type = ftype_of(outtype_dtype(p->o.outtype));
        p->set_file_type = 1;
    } else if (wk_source_gguf(src)) {
        uint32_t ft;
        if (wk_gguf_get_u32(wk_source_gguf(src), "general.file_type", &ft, NULL) == 0) p->file_type = ft;
    }
    return 0;
}

static int copy_gguf_kvs(wk_gl *p, const wk_gguf *g, wk_err *err)
{
    for (size_t k = 0; k < wk_gguf_kv_count(g); k++) {
        const wk_gguf_kv *kv = wk_gguf_kv_at(g, k);
        if (strncmp(kv->key, "weightkit.digest.", 17) == 0 || wk_gguf_is_split_key(kv->key)) continue;
        if (strcmp(kv->key, "general.file_type") == 0 && p->set_file_type) {
            WK_TRY(wk_ggufw_kv_u32(p->w, kv->key, p->file_type, err));
            continue;
        }
        if (strcmp(kv->key, "general.alignment") == 0) {
            WK_TRY(wk_ggufw_kv_u32(p->w, kv->key, p->o.alignment, err));
            continue;
        }
        WK_TRY(wk_ggufw_kv_copy(p->w, g, k, err));
    }
    /* a non-default alignment must be declared, or readers assume 32 */
    if (p->o.alignment != WK_GGUF_DEFAULT_ALIGNMENT && !wk_ggufw_has_key(p->w, "general.alignment"))
        WK_TRY(wk_ggufw_kv_u32(p->w, "general.alignment", p->o.alignment, err));
    return 0;
}

/* The carried KV JSON of a safetensors source (NULL if none). */
static const char *carried_kv(const wk_source *src, size_t *len)
{
    if (wk_source_kind_of(src) != WK_SOURCE_SAFETENSORS) return NULL;
    const wk_st *st = wk_source_st(src, 0);
    return st ? wk_st_meta_get(st, WK_ST_GGUF_KV, len) : NULL;
}

/* general.alignment stored in carried KVs (0 if absent). */
static uint32_t carried_alignment(const char *json, size_t len)
{
    wk_json_read_opts o = wk_json_read_defaults();
    o.allow_nan = 1;
    o.max_input = WK_ST_MAX_HEADER;
    o.max_string = WK_ST_MAX_HEADER;
    wk_json *a = wk_json_parse(json, len, &o, NULL);
    uint32_t r = 0;
    for (size_t i = 0; i < wk_json_len(a); i++) {
        const wk_json *e = wk_json_at(a, i);
        const char *k;
        int64_t v;
        if (!wk_json_as_string(wk_json_at(e, 0), &k, NULL, NULL) && strcmp(k, "general.alignment") == 0 &&
            !wk_json_as_int(wk_json_at(e, 2), &v, NULL) && v > 0 && v <= UINT32_MAX)
            r = (uint32_t)v;
    }
    wk_json_free(a);
    return r;
}

/* ---- digests ------------------------------------------------------------------------- */

/* The digest of a generated tensor (its bytes as written); 0 for others. */
static int gen_digest(gl_tensor *t, wk_err *err)
{
    if (t->src != GL_GENERATED) return 0;
    uint8_t d[WK_HASH_MAX_DIGEST];
    WK_TRY(wk_hash_oneshot(WK_HASH_XXH3_64, t->gen, t->nbytes, d, err));
    wk_hex(d, 8, t->digest);
    return 0;
}

static int compute_digests(wk_gl *p, wk_progress_fn progress, void *pctx, wk_err *err)
{
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < p->n_t; i++) total += p->t[i].nbytes;
    long failed = -1;
    wk_err first;
    wk_err_clear(&first);
    for (size_t i = 0; i < p->n_t; i++) p->t[i].x.nf = &p->t[i].nf;
#pragma omp parallel num_threads(p->threads > 0 ? p->threads : omp_get_max_threads())
    {
        wk_source_bufs bufs = {0};
        wk_err e;
#pragma omp for schedule(dynamic, 1)
        for (long i = 0; i < (long)p->n_t; i++) {
            long f;
#pragma omp atomic read
            f = failed;
            if (f >= 0) continue;
            if (gen_digest(&p->t[i], &e) ||
                (p->t[i].src != GL_GENERATED &&
                 wk_source_digest(p->src, p->t[i].src, &p->t[i].x, &bufs, p->t[i].digest, &e))) {
#pragma omp critical(wk_gl_err)
                if (failed < 0) {
                    first = e;
#pragma omp atomic write
                    failed = i;
                }
            }
#pragma omp critical(wk_gl_progress)
            {
                done += p->t[i].nbytes;
                if (progress) progress(pctx, done, total);
            }
        }
        wk_source_bufs_free(&bufs);
    }
    if (failed >= 0) {
        if (err) *err = first;
        return -1;
    }
    for (size_t i = 0; i < p->n_t; i++) WK_TRY(nonfinite_done(p, i, err));   /* tensor order */
    p->nf_checked = 1;
    const char **s = malloc((p->n_t ? p->n_t : 1) * sizeof *s);
    size_t *l = malloc((p->n_t ? p->n_t : 1) * sizeof *l);
    int rc = -1;
    WK_FAIL_GOTO(!s || !l, done, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < p->n_t; i++) {
        s[i] = p->t[i].digest;
        l[i] = 16;
    }
    WK_TRY_GOTO(wk_ggufw_kv_str(p->w, WK_GGUF_KEY_DIGEST_ALG, "xxh3-64", 7, err), done);
    WK_TRY_GOTO(wk_ggufw_kv_arr_str(p->w, WK_GGUF_KEY_DIGESTS, s, l, p->n_t, err), done);
    rc = 0;
done:
    free(s);
    free(l);
    return rc;
}

/* ---- plan ------------------------------------------------------------------------------ */

static int add_tensor_infos(wk_gl *p, wk_err *err)
{
    qsort(p->t, p->n_t, sizeof *p->t, cmp_tensors);
    for (size_t i = 0; i < p->n_t; i++) {
        gl_tensor *t = &p->t[i];
        int64_t ne[WK_GGUF_MAX_DIMS];
        if (t->src == GL_GENERATED) {   /* rope_freqs: n_rot / 2 F32 values */
            ne[0] = p->hp.n_rot / 2;
            if (wk_ggufw_add_tensor(p->w, t->name, t->type, 1, ne, err) < 0) return -1;
            t->nbytes = wk_ggufw_tensor_nbytes(p->w, i);
            continue;
        }
        const wk_source_tensor *st = wk_source_tensor_at(p->src, t->src);
        for (int d = 0; d < st->ndim; d++) ne[d] = st->shape[st->ndim - 1 - d];
        if (wk_ggufw_add_tensor(p->w, t->name, t->type, st->ndim, ne, err) < 0)
            return wk_err_prefix(err, "%s", wk_source_path(p->src));
        t->nbytes = wk_ggufw_tensor_nbytes(p->w, i);
        uint64_t nb;
        WK_TRY(wk_source_out_nbytes(p->src, t->src, &t->x, &nb, err));
        if (nb != t->nbytes)
            return wk_err_set(err, WK_E_INTERNAL, "tensor \"%s\": %llu bytes out, %llu planned", t->name,
                              (unsigned long long)nb, (unsigned long long)t->nbytes);
    }
    return 0;
}

static int plan(wk_gl *p, wk_progress_fn progress, void *pctx, wk_err *err)
{
    const wk_source *src = p->src;
    const wk_gguf *g = wk_source_gguf(src);
    size_t clen = 0;
    const char *carried = carried_kv(src, &clen);
    if (g || carried) {
        if (!p->o.alignment) p->o.alignment = g ? wk_gguf_alignment(g) : carried_alignment(carried, clen);
        if (!p->o.alignment) p->o.alignment = WK_GGUF_DEFAULT_ALIGNMENT;
        if (!(p->w = wk_ggufw_new(p->o.alignment, err))) return -1;
        WK_TRY(map_repack(p, err));
        if (g) {
            WK_TRY(copy_gguf_kvs(p, g, err));
        } else {
            /* the safetensors file may have been converted since: its file type is
             * that of token_embd (all its tensors are plain F32 / F16 / BF16) */
            long e = wk_source_find(src, "token_embd.weight");
            if (p->o.outtype == WK_OUTTYPE_AUTO && e >= 0)
                p->file_type = ftype_of(wk_source_tensor_at(src, (size_t)e)->dtype);
            int override = p->o.outtype != WK_OUTTYPE_AUTO || e >= 0;
            if (wk_st_gguf_kv_apply(carried, clen, p->w, override ? &p->file_type : NULL, err))
                return wk_err_prefix(err, "%s", wk_source_path(src));
        }
    } else {
        int hf;
        if (wk_source_find(src, "model.embed_tokens.weight") >= 0) hf = 1;
        else if (wk_source_find(src, "tok_embeddings.weight") >= 0) hf = 0;
        else
            return wk_err_set(err, WK_E_FORMAT, "%s: not a LLaMA model (no model.embed_tokens.weight or "
                              "tok_embeddings.weight)", wk_source_path(src));
        if (!(p->w = wk_ggufw_new(p->o.alignment, err))) return -1;
        p->have_hparams = 1;
        WK_TRY(load_hparams(p, hf, err));
        WK_TRY(check_shapes(p, hf, err));
        WK_TRY(map_tensors(p, hf, err));
        WK_TRY(add_model_kvs(p, hf, err));
    }
    WK_TRY(add_tensor_infos(p, err));
    if (p->o.digests) WK_TRY(compute_digests(p, progress, pctx, err));
    return 0;
}

wk_gl *wk_gl_plan_new(const wk_source *src, const wk_gl_opts *o, wk_progress_fn progress, void *pctx,
                      wk_err *err)
{
    wk_gl *p = calloc(1, sizeof *p);
    if (!p) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    p->src = src;
    if (o) p->o = *o;
    else wk_gl_opts_init(&p->o);
    p->threads = p->o.threads;
    if (plan(p, progress, pctx, err)) {
        wk_gl_free(p);
        return NULL;
    }
    return p;
}

void wk_gl_free(wk_gl *p)
{
    if (!p) return;
    wk_ggufw_free(p->w);
    free(p->t);
    free(p->rope_freqs);
    free(p->cfg_path);
    free(p);
}

uint64_t wk_gl_total_size(const wk_gl *p) { return wk_ggufw_total_size(p->w); }
const wk_gl_hparams *wk_gl_hparams_of(const wk_gl *p) { return p->have_hparams ? &p->hp : NULL; }
size_t wk_gl_tensor_count(const wk_gl *p) { return p->n_t; }
uint32_t wk_gl_file_type(const wk_gl *p) { return p->file_type; }

void wk_gl_nonfinite(const wk_gl *p, uint64_t *in_bad, uint64_t *overflow)
{
    *in_bad = p->nf_in;
    *overflow = p->nf_over;
}

const char *wk_gl_tensor_name(const wk_gl *p, size_t i, int *type, size_t *src)
{
    if (i >= p->n_t) return NULL;
    if (type) *type = p->t[i].type;
    if (src) *src = p->t[i].src;
    return p->t[i].name;
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct {
    wk_ggufw *w;
    wk_progress_fn progress;
    void *pctx;
    uint64_t done, total;
} write_ctx;

static int writer_sink(void *ctx, const void *p, size_t n, wk_err *err)
{
    write_ctx *c = ctx;
    WK_TRY(wk_ggufw_write(c->w, p, n, err));
    c->done += n;
    if (c->progress) c->progress(c->pctx, c->done, c->total);
    return 0;
}

int wk_gl_write(wk_gl *p, wk_sink *sink, wk_progress_fn progress, void *pctx, wk_err *err)
{
    WK_TRY(wk_ggufw_begin(p->w, sink, err));
    write_ctx c = {p->w, progress, pctx, 0, 0};
    for (size_t i = 0; i < p->n_t; i++) c.total += p->t[i].nbytes;
    wk_sink ws;
    wk_sink_init(&ws, writer_sink, &c);
    wk_source_bufs bufs = {0};
    int rc = -1;
    for (size_t i = 0; i < p->n_t; i++) {
        if (!p->nf_checked) p->t[i].x.nf = &p->t[i].nf;   /* no digest pass: check here */
        if (p->t[i].src == GL_GENERATED) WK_TRY_GOTO(wk_sink_write(&ws, p->t[i].gen, p->t[i].nbytes, err), done);
        else WK_TRY_GOTO(wk_source_emit(p->src, p->t[i].src, &p->t[i].x, &ws, &bufs, err), done);
        if (!p->nf_checked) WK_TRY_GOTO(nonfinite_done(p, i, err), done);
    }
    p->nf_checked = 1;
    WK_TRY_GOTO(wk_ggufw_finish(p->w, err), done);
    rc = 0;
done:
    wk_source_bufs_free(&bufs);
    return rc;
}

/* ---- shared with wk_gguf_bpe.c ------------------------------------------------------ */

int wk_gl_load_json(const wk_source *src, const char *name, wk_json **root, char **path, wk_err *err)
{
    return load_json(src, name, root, path, err);
}

int wk_gl_token_looks_special(const char *t, size_t n) { return looks_special(t, n); }

int wk_gl_model_hparams(const wk_source *src, uint32_t ctx, wk_gl_model_hp *out, wk_err *err)
{
    memset(out, 0, sizeof *out);
    int hf;
    if (wk_source_find(src, "model.embed_tokens.weight") >= 0) hf = 1;
    else if (wk_source_find(src, "tok_embeddings.weight") >= 0) hf = 0;
    else
        return wk_err_set(err, WK_E_FORMAT, "%s: not a LLaMA model (no model.embed_tokens.weight or "
                          "tok_embeddings.weight)", wk_source_path(src));
    wk_gl *p = calloc(1, sizeof *p);
    if (!p) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    p->src = src;
    wk_gl_opts_init(&p->o);
    p->o.ctx = ctx;
    p->o.digests = 0;
    int rc = load_hparams(p, hf, err);
    if (!rc) rc = check_shapes(p, hf, err);
    if (!rc) {
        out->arch = p->arch;
        out->hf = hf;
        out->hp = p->hp;
        out->theta = p->theta;
        out->rope_freqs = p->rope_freqs;
        out->tie = p->tie || !hf;   /* Meta: output.weight present or the embedding */
        p->rope_freqs = NULL;
    }
    wk_gl_free(p);
    return rc;
}
