/* wk_model.c — opening a model for the forward pass: hyper-parameters (GGUF
 * KVs, or config.json / params.json through wk_gl_model_hparams), range
 * checks, every tensor bound by its GGUF name and cross-checked against them,
 * the KV cache and chunk scratch (wk_model.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_dot.h"
#include "wk_ggml.h"
#include "wk_gguf_llama.h"
#include "wk_half.h"
#include "wk_model_int.h"
#include "wk_quant.h"

#define MAX_EMBD ((int64_t)1 << 20)
#define MAX_FF ((int64_t)1 << 22)
#define MAX_VOCAB ((int64_t)1 << 24)
#define MAX_LAYER 4096
#define MAX_HEAD 4096
#define MAX_CTX ((int64_t)1 << 24)

void wk_model_opts_init(wk_model_opts *o)
{
    o->threads = 0;
    o->n_ctx = 512;
    o->n_batch = 512;
}

/* ---- hyper-parameters: GGUF ------------------------------------------------------- */

/* The {arch}.* keys the forward pass reads or that cannot change it; any
 * other key under the prefix may (experts, sliding window, soft-capping...)
 * and is refused by name. */
static const char *const k_arch_keys[] = {
    "context_length", "embedding_length", "block_count", "feed_forward_length",
    "attention.head_count", "attention.head_count_kv", "attention.layer_norm_rms_epsilon",
    "rope.freq_base", "rope.dimension_count", "rope.scaling.type", "rope.scaling.factor",
    "rope.scaling.original_context_length", "rope.scaling.finetuned", "attention.key_length",
    "attention.value_length", "vocab_size", NULL};

static int g_u32(const wk_gguf *g, const char *arch, const char *key, int required, int64_t lo,
                 int64_t hi, int64_t *out, wk_err *err)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    if (wk_gguf_find_key(g, k) < 0) {
        if (!required) return 0;
        return wk_err_set(err, WK_E_FORMAT, "%s: missing key \"%s\"", wk_gguf_path(g), k);
    }
    uint32_t v;
    WK_TRY(wk_gguf_get_u32(g, k, &v, err));
    if ((int64_t)v < lo || (int64_t)v > hi)
        return wk_err_set(err, WK_E_FORMAT, "%s: \"%s\" is %u: must be in [%lld, %lld]", wk_gguf_path(g), k,
                          v, (long long)lo, (long long)hi);
    *out = v;
    return 1;
}

static int g_f32(const wk_gguf *g, const char *arch, const char *key, double lo, double hi, double *out,
                 wk_err *err)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    if (wk_gguf_find_key(g, k) < 0) return 0;
    float v;
    WK_TRY(wk_gguf_get_f32(g, k, &v, err));
    if (!(v > lo && v <= hi))
        return wk_err_set(err, WK_E_FORMAT, "%s: \"%s\" is %g: must be > %g and <= %g", wk_gguf_path(g), k,
                          (double)v, lo, hi);
    *out = v;
    return 1;
}

static int gguf_check_keys(const wk_gguf *g, const char *arch, wk_err *err)
{
    size_t al = strlen(arch);
    for (size_t i = 0; i < wk_gguf_kv_count(g); i++) {
        const char *k = wk_gguf_kv_at(g, i)->key;
        if (strncmp(k, arch, al) != 0 || k[al] != '.') continue;
        int known = 0;
        for (const char *const *p = k_arch_keys; *p && !known; p++) known = !strcmp(k + al + 1, *p);
        if (!known)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: key \"%s\" is not implemented by wk-eval's "
                              "forward pass (it may change the computation)", wk_gguf_path(g), k);
    }
    return 0;
}

static int gguf_rope_scaling(wk_model *m, const wk_gguf *g, wk_err *err)
{
    char k[128];
    m->freq_scale = 1.0;
    snprintf(k, sizeof k, "%s.rope.scaling.type", m->arch);
    if (wk_gguf_find_key(g, k) < 0) return 0;
    const char *s;
    size_t n;
    WK_TRY(wk_gguf_get_str(g, k, &s, &n, err));
    if (n == 4 && !memcmp(s, "none", 4)) return 0;
    if (!(n == 6 && !memcmp(s, "linear", 6)))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"%s\" is \"%.*s\": only none and linear rope "
                          "scaling are implemented", wk_gguf_path(g), k, (int)(n > 64 ? 64 : n), s);
    double f = 0;
    int r = g_f32(g, m->arch, "rope.scaling.factor", 0.0, 1024.0, &f, err);
    if (r < 0) return -1;
    if (r == 0 || f < 1.0)
        return wk_err_set(err, WK_E_FORMAT, "%s: linear rope scaling needs \"%s.rope.scaling.factor\" in "
                          "[1, 1024]", wk_gguf_path(g), m->arch);
    m->freq_scale = 1.0 / f;
    return 0;
}

static int hparams_gguf(wk_model *m, const wk_gguf *g, wk_err *err)
{
    const char *f = wk_gguf_path(g), *s;
    size_t n;
    if (wk_gguf_get_str(g, "general.architecture", &s, &n, err)) return -1;
    if (!((n == 5 && !memcmp(s, "llama", 5)) || (n == 5 && !memcmp(s, "qwen2", 5))))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: general.architecture \"%.*s\" is not implemented "
                          "(llama and qwen2 are)", f, (int)(n > 64 ? 64 : n), s);
    memcpy(m->arch, s, n);
    m->arch[n] = 0;
    m->rope_neox = !strcmp(m->arch, "qwen2");
    WK_TRY(gguf_check_keys(g, m->arch, err));
    if (g_u32(g, m->arch, "embedding_length", 1, 1, MAX_EMBD, &m->n_embd, err) < 0) return -1;
    if (g_u32(g, m->arch, "block_count", 1, 1, MAX_LAYER, &m->n_layer, err) < 0) return -1;
    if (g_u32(g, m->arch, "feed_forward_length", 1, 1, MAX_FF, &m->n_ff, err) < 0) return -1;
    if (g_u32(g, m->arch, "attention.head_count", 1, 1, MAX_HEAD, &m->n_head, err) < 0) return -1;
    m->n_head_kv = m->n_head;
    if (g_u32(g, m->arch, "attention.head_count_kv", 0, 1, MAX_HEAD, &m->n_head_kv, err) < 0) return -1;
    m->n_ctx_train = 0;
    if (g_u32(g, m->arch, "context_length", 0, 1, MAX_CTX, &m->n_ctx_train, err) < 0) return -1;
    m->head_dim = m->n_embd % m->n_head ? 0 : m->n_embd / m->n_head;
    int64_t kl = 0, vl = 0, rot = 0, nv = 0;
    if (g_u32(g, m->arch, "attention.key_length", 0, 2, MAX_EMBD, &kl, err) < 0) return -1;
    if (g_u32(g, m->arch, "attention.value_length", 0, 2, MAX_EMBD, &vl, err) < 0) return -1;
    if (kl) m->head_dim = kl;
    if ((vl && vl != m->head_dim) || m->head_dim == 0)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: head size %lld (key) / %lld (value) with %lld heads "
                          "of width %lld: not implemented", f, (long long)m->head_dim, (long long)vl,
                          (long long)m->n_head, (long long)m->n_embd);
    if (g_u32(g, m->arch, "rope.dimension_count", 0, 2, MAX_EMBD, &rot, err) < 0) return -1;
    if (rot && rot != m->head_dim)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: %s.rope.dimension_count %lld differs from the head "
                          "size %lld: partial rotary is not implemented", f, m->arch, (long long)rot,
                          (long long)m->head_dim);
    if (g_u32(g, m->arch, "vocab_size", 0, 1, MAX_VOCAB, &nv, err) < 0) return -1;
    m->n_vocab = nv;   /* 0: from token_embd */
    m->eps = 0;
    int r = g_f32(g, m->arch, "attention.layer_norm_rms_epsilon", 0.0, 0.999999, &m->eps, err);
    if (r < 0) return -1;
    if (r == 0) return wk_err_set(err, WK_E_FORMAT, "%s: missing key \"%s.attention.layer_norm_rms_epsilon\"", f, m->arch);
    m->theta = 10000.0;
    if (g_f32(g, m->arch, "rope.freq_base", 1.0, 1e10, &m->theta, err) < 0) return -1;
    WK_TRY(gguf_rope_scaling(m, g, err));
    /* BOS: llama.cpp's defaults (SentencePiece vocabularies add it) */
    m->bos = -1;
    m->add_bos = 0;
    if (wk_gguf_find_key(g, "tokenizer.ggml.model") >= 0 &&
        !wk_gguf_get_str(g, "tokenizer.ggml.model", &s, &n, NULL))
        m->add_bos = n == 5 && !memcmp(s, "llama", 5);
    uint32_t b;
    if (wk_gguf_find_key(g, "tokenizer.ggml.bos_token_id") >= 0) {
        WK_TRY(wk_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &b, err));
        m->bos = (int32_t)(b > INT32_MAX ? -1 : (int64_t)b);
    }
    if (wk_gguf_find_key(g, "tokenizer.ggml.add_bos_token") >= 0)
        WK_TRY(wk_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &m->add_bos, err));
    if (m->bos < 0) m->add_bos = 0;
    return 0;
}

/* ---- hyper-parameters: HF / Meta ----------------------------------------------------- */

/* HF: config.json bos_token_id; add_bos from tokenizer_config.json's
 * add_bos_token (absent: 1, as LlamaTokenizer; Qwen2: 0).  Meta: the
 * SentencePiece LLaMA tokenizer's <s> = 1, added. */
static int bos_hf(wk_model *m, int qwen, wk_err *err)
{
    wk_json *j;
    m->bos = -1;
    m->add_bos = !qwen;
    WK_TRY(wk_gl_load_json(m->src, "config.json", &j, NULL, err));
    int64_t v;
    const wk_json *x = j ? wk_json_get(j, "bos_token_id") : NULL;
    if (x && wk_json_as_int(x, &v, NULL) == 0 && v >= 0 && v < MAX_VOCAB) m->bos = (int32_t)v;
    wk_json_free(j);
    WK_TRY(wk_gl_load_json(m->src, "tokenizer_config.json", &j, NULL, err));
    x = j ? wk_json_get(j, "add_bos_token") : NULL;
    int b;
    if (x && wk_json_as_bool(x, &b, NULL) == 0) m->add_bos = b;
    wk_json_free(j);
    if (m->bos < 0) m->add_bos = 0;
    return 0;
}

static int hparams_other(wk_model *m, wk_err *err)
{
    wk_gl_model_hp h;
    WK_TRY(wk_gl_model_hparams(m->src, (uint32_t)m->o.n_ctx, &h, err));
    snprintf(m->arch, sizeof m->arch, "%s", h.arch->gguf_arch);
    m->rope_neox = h.hf;   /* HF checkpoints: half-split rotary (q/k rows as HF stores them) */
    m->n_embd = h.hp.n_embd;
    m->n_layer = h.hp.n_layer;
    m->n_ff = h.hp.n_ff;
    m->n_head = h.hp.n_head;
    m->n_head_kv = h.hp.n_head_kv;
    m->head_dim = h.hp.n_rot;
    m->n_vocab = h.hp.n_vocab;
    m->n_ctx_train = h.hp.n_ctx;
    m->eps = h.hp.norm_eps;
    m->theta = h.theta;
    m->freq_scale = h.hp.has_rope_scaling ? 1.0 / h.hp.rope_scaling_factor : 1.0;
    m->rope_freqs = h.rope_freqs;
    if (h.hf) return bos_hf(m, !strcmp(m->arch, "qwen2"), err);
    m->bos = 1;
    m->add_bos = 1;
    return 0;
}

static int hparams_check(const wk_model *m, wk_err *err)
{
    const char *f = wk_source_path(m->src);
    if (m->n_embd < 1 || m->n_embd > MAX_EMBD || m->n_layer < 1 || m->n_layer > MAX_LAYER ||
        m->n_ff < 1 || m->n_ff > MAX_FF || m->n_head < 1 || m->n_head > MAX_HEAD ||
        m->n_head_kv < 1 || m->n_head % m->n_head_kv || m->head_dim < 2 || m->head_dim % 2 ||
        m->head_dim > MAX_EMBD)
        return wk_err_set(err, WK_E_FORMAT, "%s: hyper-parameters out of range: width %lld, %lld layers, "
                          "FFN %lld, %lld heads, %lld kv heads, head size %lld", f, (long long)m->n_embd,
                          (long long)m->n_layer, (long long)m->n_ff, (long long)m->n_head,
                          (long long)m->n_head_kv, (long long)m->head_dim);
    if (!(m->eps > 0 && m->eps < 1) || !(m->theta > 1 && m->theta <= 1e10) ||
        !(m->freq_scale > 0 && m->freq_scale <= 1))
        return wk_err_set(err, WK_E_FORMAT, "%s: rms eps %g / rope base %g / frequency scale %g out of "
                          "range", f, m->eps, m->theta, m->freq_scale);
    return 0;
}

/* ---- tensors ------------------------------------------------------------------------ */

static long find(const wk_model *m, const char *gname)
{
    for (size_t i = 0; i < m->n_names; i++)
        if (m->names[i] && !strcmp(m->names[i], gname)) return (long)i;
    return -1;
}

/* Every source tensor's GGUF name (NULL: a rotary buffer the forward pass
 * does not use); an unknown name is an error. */
static int map_names(wk_model *m, int gguf, int hf, wk_err *err)
{
    m->n_names = wk_source_count(m->src);
    if (!(m->names = calloc(m->n_names ? m->n_names : 1, sizeof *m->names)))
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < m->n_names; i++) {
        const char *name = wk_source_tensor_at(m->src, i)->name;
        char buf[128];
        int perm, r = 0;
        if (gguf) snprintf(buf, sizeof buf, "%s", name);
        else r = wk_gl_map_name(name, hf, buf, sizeof buf, &perm);
        if (r < 0)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" is not a tensor of the LLaMA family",
                              wk_source_path(m->src), name);
        if (r == 1) continue;
        if (!(m->names[i] = strdup(buf))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    return 0;
}

static int type_ok(int t)
{
    if (t == WK_GGML_F32 || t == WK_GGML_F16 || t == WK_GGML_BF16) return 1;
    const wk_qtraits *q = wk_qtraits_get(t);
    return q && q->dequantize && t != WK_GGML_Q8_K && wk_dot_act_type(t) >= 0;
}

/* The bytes of source tensor i (mapped, or copied once when not contiguous). */
static const uint8_t *tensor_bytes(wk_model *m, size_t i, uint8_t **owned, wk_err *err)
{
    const uint8_t *p = wk_source_view(m->src, i);
    if (p) return p;
    const wk_source_tensor *t = wk_source_tensor_at(m->src, i);
    if (!(*owned = malloc(t->nbytes ? t->nbytes : 1))) {
        wk_err_set(err, WK_E_NOMEM, "out of memory (tensor \"%s\")", t->name);
        return NULL;
    }
    if (wk_source_read(m->src, i, *owned, t->nbytes, err)) return NULL;
    return *owned;
}

/* Bind the matrix gname of shape [rows, cols]; optional: absent is not an error
 * (w->data stays NULL). */
static int bind_mat(wk_model *m, const char *gname, int64_t rows, int64_t cols, int optional, wk_mw *w,
                    char *used, wk_err *err)
{
    long i = find(m, gname);
    const char *f = wk_source_path(m->src);
    if (i < 0) {
        if (optional) return 0;
        return wk_err_set(err, WK_E_FORMAT, "%s: missing tensor \"%s\"", f, gname);
    }
    const wk_source_tensor *t = wk_source_tensor_at(m->src, (size_t)i);
    int type = t->ggml_type >= 0 ? t->ggml_type : wk_ggml_type_from_dtype(t->dtype);
    if (type < 0 || !type_ok(type))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: tensor \"%s\": type %s is not implemented by the "
                          "forward pass", f, t->name, type >= 0 ? wk_ggml_type_get(type)->name : "?");
    if (t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" is not [%lld, %lld] as the hyper-parameters "
                          "say", f, t->name, (long long)rows, (long long)cols);
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    if (cols % ti->blck)
        return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": %lld columns are not whole %s blocks", f,
                          t->name, (long long)cols, ti->name);
    w->name = m->names[i];
    w->type = type;
    w->rows = rows;
    w->cols = cols;
    w->row_bytes = wk_ggml_row_size(type, cols);
    if ((uint64_t)w->row_bytes * (uint64_t)rows != t->nbytes)
        return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": %llu bytes, expected %llu", f, t->name,
                          (unsigned long long)t->nbytes, (unsigned long long)w->row_bytes * (uint64_t)rows);
    if (!(w->data = tensor_bytes(m, (size_t)i, &w->owned, err))) return -1;
    used[i] = 1;
    return 0;
}

/* A 1-D float tensor of n values as a malloc'd float array (*out; NULL when
 * optional and absent). */
static int bind_vec(wk_model *m, const char *gname, int64_t n, int optional, float **out, char *used,
                    wk_err *err)
{
    wk_mw w = {0};
    long i = find(m, gname);
    *out = NULL;
    if (i < 0) {
        if (optional) return 0;
        return wk_err_set(err, WK_E_FORMAT, "%s: missing tensor \"%s\"", wk_source_path(m->src), gname);
    }
    const wk_source_tensor *t = wk_source_tensor_at(m->src, (size_t)i);
    int type = t->ggml_type >= 0 ? t->ggml_type : wk_ggml_type_from_dtype(t->dtype);
    if (t->ndim != 1 || t->shape[0] != n || (type != WK_GGML_F32 && type != WK_GGML_F16 && type != WK_GGML_BF16))
        return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" must be a float vector of %lld values",
                          wk_source_path(m->src), t->name, (long long)n);
    w.type = type;
    w.cols = n;
    w.row_bytes = wk_ggml_row_size(type, n);
    WK_FAIL_IF(!(*out = malloc((size_t)n * sizeof **out)), err, WK_E_NOMEM, "out of memory");
    if (!(w.data = tensor_bytes(m, (size_t)i, &w.owned, err))) {
        free(w.owned);
        return -1;
    }
    wk_mw_row(&w, 0, *out);
    free(w.owned);
    used[i] = 1;
    return 0;
}

static int bind_layer(wk_model *m, int64_t l, char *used, wk_err *err)
{
    wk_mlayer *L = &m->layers[l];
    int64_t E = m->n_embd, Q = m->n_head * m->head_dim, KV = m->n_head_kv * m->head_dim;
    int qwen = !strcmp(m->arch, "qwen2");
    char n[96];
#define NM(s) (snprintf(n, sizeof n, "blk.%lld." s, (long long)l), n)
    WK_TRY(bind_vec(m, NM("attn_norm.weight"), E, 0, &L->attn_norm, used, err));
    WK_TRY(bind_vec(m, NM("ffn_norm.weight"), E, 0, &L->ffn_norm, used, err));
    WK_TRY(bind_mat(m, NM("attn_q.weight"), Q, E, 0, &L->wq, used, err));
    WK_TRY(bind_mat(m, NM("attn_k.weight"), KV, E, 0, &L->wk, used, err));
    WK_TRY(bind_mat(m, NM("attn_v.weight"), KV, E, 0, &L->wv, used, err));
    WK_TRY(bind_mat(m, NM("attn_output.weight"), E, Q, 0, &L->wo, used, err));
    WK_TRY(bind_mat(m, NM("ffn_gate.weight"), m->n_ff, E, 0, &L->gate, used, err));
    WK_TRY(bind_mat(m, NM("ffn_up.weight"), m->n_ff, E, 0, &L->up, used, err));
    WK_TRY(bind_mat(m, NM("ffn_down.weight"), E, m->n_ff, 0, &L->down, used, err));
    if (qwen) {   /* required: the architecture has them */
        WK_TRY(bind_vec(m, NM("attn_q.bias"), Q, 0, &L->bq, used, err));
        WK_TRY(bind_vec(m, NM("attn_k.bias"), KV, 0, &L->bk, used, err));
        WK_TRY(bind_vec(m, NM("attn_v.bias"), KV, 0, &L->bv, used, err));
    }
#undef NM
    return 0;
}

static double bits_of(const wk_mw *w, double *n)
{
    *n += (double)w->rows * (double)w->cols;
    return (double)w->row_bytes * (double)w->rows * 8.0;
}

static int bind_all(wk_model *m, int gguf, wk_err *err)
{
    char *used = calloc(m->n_names ? m->n_names : 1, 1);
    if (!used) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    int rc = -1;
    if (!m->n_vocab) {
        long e = find(m, "token_embd.weight");
        const wk_source_tensor *t = e >= 0 ? wk_source_tensor_at(m->src, (size_t)e) : NULL;
        m->n_vocab = t && t->ndim == 2 ? t->shape[0] : 0;
        WK_FAIL_GOTO(m->n_vocab < 1 || m->n_vocab > MAX_VOCAB, done, err, WK_E_FORMAT,
                     "%s: token_embd.weight missing or its vocabulary out of range", wk_source_path(m->src));
    }
    WK_TRY_GOTO(bind_mat(m, "token_embd.weight", m->n_vocab, m->n_embd, 0, &m->tok_embd, used, err), done);
    WK_TRY_GOTO(bind_vec(m, "output_norm.weight", m->n_embd, 0, &m->out_norm, used, err), done);
    WK_TRY_GOTO(bind_mat(m, "output.weight", m->n_vocab, m->n_embd, 1, &m->output, used, err), done);
    if (!m->output.data) {   /* tied embeddings */
        m->output = m->tok_embd;
        m->output.owned = NULL;
    }
    if (gguf && find(m, "rope_freqs.weight") >= 0)
        WK_TRY_GOTO(bind_vec(m, "rope_freqs.weight", m->head_dim / 2, 0, &m->rope_freqs, used, err), done);
    WK_FAIL_GOTO(!(m->layers = calloc((size_t)m->n_layer, sizeof *m->layers)), done, err, WK_E_NOMEM,
                 "out of memory");
    for (int64_t l = 0; l < m->n_layer; l++) WK_TRY_GOTO(bind_layer(m, l, used, err), done);
    for (size_t i = 0; i < m->n_names; i++)
        WK_FAIL_GOTO(m->names[i] && !used[i], done, err, WK_E_UNSUPPORTED, "%s: tensor \"%s\" is not used "
                     "by wk-eval's forward pass (not implemented, or beyond the %lld layers of the "
                     "hyper-parameters)", wk_source_path(m->src), wk_source_tensor_at(m->src, i)->name,
                     (long long)m->n_layer);
    double bits = 0, n = 0;
    for (int64_t l = 0; l < m->n_layer; l++) {
        const wk_mlayer *L = &m->layers[l];
        const wk_mw *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
        for (int j = 0; j < 7; j++) bits += bits_of(w[j], &n);
    }
    bits += bits_of(&m->tok_embd, &n);
    if (m->output.data != m->tok_embd.data) bits += bits_of(&m->output, &n);
    m->bpw = bits / n;
    rc = 0;
done:
    free(used);
    return rc;
}

/* ---- buffers ------------------------------------------------------------------------- */

static int alloc_buffers(wk_model *m, wk_err *err)
{
    int64_t KV = m->n_head_kv * m->head_dim, Q = m->n_head * m->head_dim, B = m->o.n_batch;
    double kvb = 2.0 * (double)m->n_layer * (double)m->o.n_ctx * (double)KV * sizeof(float);
    WK_FAIL_IF(kvb > (double)((size_t)1 << 40), err, WK_E_LIMIT, "%s: a KV cache of %.0f MiB for a context "
               "of %lld is beyond the limit (give a smaller --ctx)", wk_source_path(m->src), kvb / 1048576.0,
               (long long)m->o.n_ctx);
    size_t kvn = (size_t)m->n_layer * (size_t)m->o.n_ctx * (size_t)KV;
    m->kc = calloc(kvn, sizeof *m->kc);
    m->vc = calloc(kvn, sizeof *m->vc);
    int64_t wide = Q > m->n_embd ? Q : m->n_embd;
    m->x = malloc((size_t)B * (size_t)m->n_embd * sizeof(float));
    m->xn = malloc((size_t)B * (size_t)wide * sizeof(float));
    m->q = malloc((size_t)B * (size_t)Q * sizeof(float));
    m->k = malloc((size_t)B * (size_t)KV * sizeof(float));
    m->v = malloc((size_t)B * (size_t)KV * sizeof(float));
    m->att = malloc((size_t)B * (size_t)Q * sizeof(float));
    m->g = malloc((size_t)B * (size_t)m->n_ff * sizeof(float));
    m->u = malloc((size_t)B * (size_t)m->n_ff * sizeof(float));
    WK_FAIL_IF(!m->kc || !m->vc || !m->x || !m->xn || !m->q || !m->k || !m->v || !m->att || !m->g || !m->u,
               err, WK_E_NOMEM, "out of memory (KV cache for %lld positions and scratch for %lld tokens)",
               (long long)m->o.n_ctx, (long long)B);
    return 0;
}

wk_model *wk_model_open(const char *path, const wk_model_opts *o, wk_err *err)
{
    wk_model *m = calloc(1, sizeof *m);
    if (!m) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    if (o) m->o = *o;
    else wk_model_opts_init(&m->o);
    WK_FAIL_GOTO(m->o.n_ctx < 1 || m->o.n_ctx > MAX_CTX, fail, err, WK_E_USAGE, "context %lld out of range "
                 "[1, %lld]", (long long)m->o.n_ctx, (long long)MAX_CTX);
    if (m->o.n_batch <= 0) m->o.n_batch = 512;
    if (m->o.n_batch > m->o.n_ctx) m->o.n_batch = m->o.n_ctx;
    if (!(m->src = wk_source_open(path, m->o.threads, err))) goto fail;
    const wk_gguf *g = wk_source_gguf(m->src);
    if (g) WK_TRY_GOTO(hparams_gguf(m, g, err), fail);
    else WK_TRY_GOTO(hparams_other(m, err), fail);
    WK_TRY_GOTO(hparams_check(m, err), fail);
    int hf = !g && wk_source_find(m->src, "model.embed_tokens.weight") >= 0;
    WK_TRY_GOTO(map_names(m, g != NULL, hf, err), fail);
    WK_TRY_GOTO(bind_all(m, g != NULL, err), fail);
    WK_FAIL_GOTO(m->bos >= m->n_vocab, fail, err, WK_E_FORMAT, "%s: BOS id %d is beyond the vocabulary of "
                 "%lld", path, m->bos, (long long)m->n_vocab);
    WK_TRY_GOTO(alloc_buffers(m, err), fail);
    return m;
fail:
    wk_model_close(m);
    return NULL;
}

static void free_mw(wk_mw *w) { free(w->owned); }

void wk_model_close(wk_model *m)
{
    if (!m) return;
    for (int64_t l = 0; m->layers && l < m->n_layer; l++) {
        wk_mlayer *L = &m->layers[l];
        free(L->attn_norm);
        free(L->ffn_norm);
        free(L->bq);
        free(L->bk);
        free(L->bv);
        wk_mw *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
        for (int j = 0; j < 7; j++) free_mw(w[j]);
    }
    free(m->layers);
    free_mw(&m->tok_embd);
    free_mw(&m->output);
    free(m->out_norm);
    free(m->rope_freqs);
    for (size_t i = 0; i < m->n_names; i++) free(m->names[i]);
    free(m->names);
    float *bufs[] = {m->kc, m->vc, m->x, m->xn, m->q, m->k, m->v, m->att, m->g, m->u};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    wk_source_close(m->src);
    free(m);
}

int64_t wk_model_n_vocab(const wk_model *m) { return m->n_vocab; }
int64_t wk_model_n_embd(const wk_model *m) { return m->n_embd; }
int64_t wk_model_n_layer(const wk_model *m) { return m->n_layer; }
int64_t wk_model_n_ctx_train(const wk_model *m) { return m->n_ctx_train; }
double wk_model_bpw(const wk_model *m) { return m->bpw; }
const char *wk_model_arch(const wk_model *m) { return m->arch; }

int32_t wk_model_bos(const wk_model *m, int *add_bos)
{
    if (add_bos) *add_bos = m->add_bos;
    return m->bos;
}

const wk_source *wk_model_source(const wk_model *m) { return m->src; }
