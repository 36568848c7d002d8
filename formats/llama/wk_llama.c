/* wk_llama.c — Meta LLaMA checkpoints: params, validation, geometry, HF plan.
 * See wk_llama.h and docs/convert.md. */
#include "wk_llama.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wk_half.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_pth.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- the kind table: the one place that knows the Meta and HF names ------- */

typedef struct {
    const char *meta;  /* Meta key, "%lld" for the layer */
    const char *hf;    /* HF key */
    wk_ll_split split;
    int ndim;
} kind_row;

static const kind_row k_kinds[WK_LL_KIND_COUNT] = {
    [WK_LL_TOK_EMB] = {"tok_embeddings.weight", "model.embed_tokens.weight", WK_LL_SPLIT_COLS, 2},
    [WK_LL_NORM] = {"norm.weight", "model.norm.weight", WK_LL_REPLICATED, 1},
    [WK_LL_OUTPUT] = {"output.weight", "lm_head.weight", WK_LL_SPLIT_ROWS, 2},
    [WK_LL_WQ] = {"layers.%lld.attention.wq.weight", "model.layers.%lld.self_attn.q_proj.weight",
                  WK_LL_SPLIT_ROWS, 2},
    [WK_LL_WK] = {"layers.%lld.attention.wk.weight", "model.layers.%lld.self_attn.k_proj.weight",
                  WK_LL_SPLIT_ROWS, 2},
    [WK_LL_WV] = {"layers.%lld.attention.wv.weight", "model.layers.%lld.self_attn.v_proj.weight",
                  WK_LL_SPLIT_ROWS, 2},
    [WK_LL_WO] = {"layers.%lld.attention.wo.weight", "model.layers.%lld.self_attn.o_proj.weight",
                  WK_LL_SPLIT_COLS, 2},
    [WK_LL_W1] = {"layers.%lld.feed_forward.w1.weight", "model.layers.%lld.mlp.gate_proj.weight",
                  WK_LL_SPLIT_ROWS, 2},
    [WK_LL_W2] = {"layers.%lld.feed_forward.w2.weight", "model.layers.%lld.mlp.down_proj.weight",
                  WK_LL_SPLIT_COLS, 2},
    [WK_LL_W3] = {"layers.%lld.feed_forward.w3.weight", "model.layers.%lld.mlp.up_proj.weight",
                  WK_LL_SPLIT_ROWS, 2},
    [WK_LL_ATTN_NORM] = {"layers.%lld.attention_norm.weight",
                         "model.layers.%lld.input_layernorm.weight", WK_LL_REPLICATED, 1},
    [WK_LL_FFN_NORM] = {"layers.%lld.ffn_norm.weight",
                        "model.layers.%lld.post_attention_layernorm.weight", WK_LL_REPLICATED, 1},
};
static const char k_inv_freq_name[] = "model.layers.%lld.self_attn.rotary_emb.inv_freq";

wk_ll_split wk_llama_kind_split(wk_ll_kind k) { return k_kinds[k].split; }

void wk_llama_meta_key(wk_ll_kind k, int64_t layer, char *buf, size_t cap)
{
    snprintf(buf, cap, k_kinds[k].meta, (long long)layer);
}

int wk_llama_kind_shape(const wk_llama_geom *g, wk_ll_kind k, int64_t shape[2])
{
    int64_t kv = g->n_kv_heads * g->head_dim;
    switch (k) {
    case WK_LL_TOK_EMB: case WK_LL_OUTPUT: shape[0] = g->vocab; shape[1] = g->dim; return 2;
    case WK_LL_WQ: case WK_LL_WO: shape[0] = g->dim; shape[1] = g->dim; return 2;
    case WK_LL_WK: case WK_LL_WV: shape[0] = kv; shape[1] = g->dim; return 2;
    case WK_LL_W1: case WK_LL_W3: shape[0] = g->ffn; shape[1] = g->dim; return 2;
    case WK_LL_W2: shape[0] = g->dim; shape[1] = g->ffn; return 2;
    default: shape[0] = g->dim; shape[1] = 0; return 1;
    }
}

/* ---- numbers from JSON ------------------------------------------------------------ */

/* The literal of a JSON number as read (or its type name) into buf. */
static const char *num_text(const wk_json *v, char *buf, size_t cap)
{
    int64_t i;
    double d;
    switch (wk_json_type_of(v)) {
    case WK_JSON_INT: wk_json_as_int(v, &i, NULL); snprintf(buf, cap, "%lld", (long long)i); break;
    case WK_JSON_BIGINT: snprintf(buf, cap, "%.40s%s", wk_json_bigint_text(v),
                                  strlen(wk_json_bigint_text(v)) > 40 ? "..." : ""); break;
    case WK_JSON_DOUBLE: {
        char r[WK_JSON_REPR_MAX];
        wk_json_as_double(v, &d, NULL);
        wk_json_repr_double(d, r);
        snprintf(buf, cap, "%s", r);
        break;
    }
    default: snprintf(buf, cap, "a JSON %s", wk_json_type_name(wk_json_type_of(v))); break;
    }
    return buf;
}

int wk_llama_json_real(const wk_json *v, const char *path, const char *key, const wk_llama_range *r,
                       double *out, wk_err *err)
{
    wk_json_type t = wk_json_type_of(v);
    double d = 0;
    int ok = (t == WK_JSON_INT || t == WK_JSON_DOUBLE || t == WK_JSON_BIGINT) &&
             wk_json_as_double(v, &d, NULL) == 0 && isfinite(d) &&
             (r->lo_open ? d > r->lo : d >= r->lo) && (r->hi_open ? d < r->hi : d <= r->hi);
    if (!ok) {
        char got[64];
        return wk_err_set(err, WK_E_FORMAT, "%s: \"%s\" is %s: must be a number %s %g and %s %g",
                          path, key, num_text(v, got, sizeof got), r->lo_open ? ">" : ">=", r->lo,
                          r->hi_open ? "<" : "<=", r->hi);
    }
    *out = d;
    return 0;
}

int wk_llama_json_int(const wk_json *v, const char *path, const char *key, int64_t lo, int64_t hi,
                      int64_t *out, wk_err *err)
{
    int64_t i = 0;
    if (wk_json_type_of(v) != WK_JSON_INT || wk_json_as_int(v, &i, NULL) != 0 || i < lo || i > hi) {
        char got[64];
        return wk_err_set(err, WK_E_FORMAT, "%s: \"%s\" must be %s integer in [%lld, %lld] "
                          "(got %s)", path, key, lo == 1 ? "a positive" : "an", (long long)lo,
                          (long long)hi, num_text(v, got, sizeof got));
    }
    *out = i;
    return 0;
}

const wk_llama_range wk_llama_norm_eps_range = {0.0, 1.0, 1, 1};
const wk_llama_range wk_llama_rope_theta_range = {1.0, WK_LL_ROPE_THETA_MAX, 1, 0};
const wk_llama_range wk_llama_rope_factor_range = {1.0, WK_LL_ROPE_FACTOR_MAX, 0, 0};
static const wk_llama_range k_ffn_mult_range = {WK_LL_FFN_MULT_MIN, WK_LL_FFN_MULT_MAX, 0, 0};

/* ---- params.json --------------------------------------------------------------- */

/* obj[key] as an integer in [1, 2^40] (the message keeps "must be a positive
 * integer"). */
static int get_pos_int(const wk_json *o, const char *key, const char *path, int64_t *out,
                       wk_err *err)
{
    const wk_json *v = wk_json_get(o, key);
    if (!v) return wk_err_set(err, WK_E_FORMAT, "%s: missing key \"%s\"", path, key);
    return wk_llama_json_int(v, path, key, 1, WK_LL_MAX_SIZE, out, err);
}

/* The keys of Meta's ModelArgs that a params.json may carry.  Others change
 * the computation in ways not implemented (mixture of experts, sliding
 * windows, Llama 3.1's scaled rope) or are unknown: refused by name. */
static const char *const k_params_keys[] = {
    "dim", "n_layers", "n_heads", "n_kv_heads", "norm_eps", "multiple_of", "ffn_dim_multiplier",
    "vocab_size", "rope_theta", "max_seq_len", "max_batch_size", "use_scaled_rope", "rope_scaling",
};

static int check_params_keys(const wk_json *o, const char *path, unsigned flags,
                             wk_llama_params *out, wk_err *err)
{
    for (size_t i = 0; i < wk_json_len(o); i++) {
        const char *k = wk_json_key_at(o, i, NULL);
        const wk_json *v = wk_json_value_at(o, i);
        size_t j = 0;
        while (j < sizeof k_params_keys / sizeof *k_params_keys && strcmp(k, k_params_keys[j])) j++;
        if (j == sizeof k_params_keys / sizeof *k_params_keys)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: unknown key \"%.100s\": it may change the "
                              "model's computation (mixture of experts, sliding windows, ...), which "
                              "weightkit does not implement; known keys: dim, n_layers, n_heads, "
                              "n_kv_heads, norm_eps, multiple_of, ffn_dim_multiplier, vocab_size, "
                              "rope_theta, max_seq_len, max_batch_size", path, k);
        int b = 0;
        if (strcmp(k, "use_scaled_rope") == 0 && wk_json_as_bool(v, &b, NULL) != 0)
            return wk_err_set(err, WK_E_FORMAT, "%s: \"use_scaled_rope\" must be true or false",
                              path);
        if (strcmp(k, "use_scaled_rope") == 0) out->use_scaled_rope = b;
        if (strcmp(k, "use_scaled_rope") == 0 && b && !(flags & WK_LL_OPEN_SCALED_ROPE))
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"use_scaled_rope\" (Llama 3.1's rope "
                              "frequency scaling) is implemented by wk-convert for Llama 3.1+ only "
                              "(--llama_version 3.1, 3.2 or 3.3); here only false is accepted",
                              path);
        if (strcmp(k, "rope_scaling") == 0 && wk_json_type_of(v) != WK_JSON_NULL)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: \"rope_scaling\" in params.json is not "
                              "implemented; only null is accepted", path);
    }
    return 0;
}

/* The optional keys (n_kv_heads, multiple_of, ffn_dim_multiplier, vocab_size,
 * rope_theta) into out, each range-checked before any conversion. */
static int params_optional(const wk_json *o, const char *path, wk_llama_params *out, wk_err *err)
{
    const wk_json *v = wk_json_get(o, "n_kv_heads");
    out->n_kv_heads = out->n_heads;
    if (v && wk_json_type_of(v) != WK_JSON_NULL) {
        WK_TRY(get_pos_int(o, "n_kv_heads", path, &out->n_kv_heads, err));
        out->has_n_kv_heads = 1;
    }
    if (wk_json_get(o, "multiple_of")) WK_TRY(get_pos_int(o, "multiple_of", path, &out->multiple_of, err));
    out->ffn_dim_multiplier = 1.0;
    v = wk_json_get(o, "ffn_dim_multiplier");
    if (v && wk_json_type_of(v) != WK_JSON_NULL) {
        WK_TRY(wk_llama_json_real(v, path, "ffn_dim_multiplier", &k_ffn_mult_range,
                                  &out->ffn_dim_multiplier, err));
        out->has_ffn_dim_multiplier = 1;
    }
    out->vocab_size = -1;
    v = wk_json_get(o, "vocab_size");
    if (v && (wk_json_type_of(v) != WK_JSON_INT || wk_json_as_int(v, &out->vocab_size, NULL) != 0 ||
              (out->vocab_size <= 0 && out->vocab_size != -1) || out->vocab_size > WK_LL_MAX_SIZE))
        return wk_err_set(err, WK_E_FORMAT, "%s: \"vocab_size\" must be -1 or a positive integer "
                          "<= %lld", path, (long long)WK_LL_MAX_SIZE);
    out->rope_theta = 10000.0;
    v = wk_json_get(o, "rope_theta");
    if (v && wk_json_type_of(v) != WK_JSON_NULL) {
        WK_TRY(wk_llama_json_real(v, path, "rope_theta", &wk_llama_rope_theta_range,
                                  &out->rope_theta, err));
        out->has_rope_theta = 1;
    }
    return 0;
}

int wk_llama_params_parse(const void *json, size_t len, const char *path, wk_llama_params *out,
                          wk_err *err)
{
    return wk_llama_params_parse_flags(json, len, path, 0, out, err);
}

int wk_llama_params_parse_flags(const void *json, size_t len, const char *path, unsigned flags,
                                wk_llama_params *out, wk_err *err)
{
    wk_json *root = wk_json_parse(json, len, NULL, err);
    if (!root) return wk_err_prefix(err, "%s", path);
    const wk_json *o = root;
    if (wk_json_type_of(wk_json_get(o, "model")) == WK_JSON_OBJECT) o = wk_json_get(o, "model");
    int rc = -1;
    memset(out, 0, sizeof *out);
    WK_FAIL_GOTO(wk_json_type_of(o) != WK_JSON_OBJECT, done, err, WK_E_FORMAT,
                 "%s: not a JSON object", path);
    WK_TRY_GOTO(get_pos_int(o, "dim", path, &out->dim, err), done);
    WK_TRY_GOTO(get_pos_int(o, "n_layers", path, &out->n_layers, err), done);
    WK_TRY_GOTO(get_pos_int(o, "n_heads", path, &out->n_heads, err), done);
    const wk_json *v = wk_json_get(o, "norm_eps");
    WK_FAIL_GOTO(!v, done, err, WK_E_FORMAT, "%s: missing key \"norm_eps\"", path);
    WK_TRY_GOTO(wk_llama_json_real(v, path, "norm_eps", &wk_llama_norm_eps_range, &out->norm_eps,
                                   err), done);
    out->norm_eps_is_int = wk_json_type_of(v) == WK_JSON_INT;
    WK_TRY_GOTO(params_optional(o, path, out, err), done);
    WK_TRY_GOTO(check_params_keys(o, path, flags, out, err), done);
    rc = 0;
done:
    wk_json_free(root);
    return rc;
}

int64_t wk_llama_ffn_from_params(const wk_llama_params *p)
{
    /* Ranges (wk_llama_params_parse): dim, multiple_of <= 2^40 and
     * ffn_dim_multiplier in [WK_LL_FFN_MULT_MIN, WK_LL_FFN_MULT_MAX], so every
     * product below is < 2^50 and each conversion to int64 is exact in range.
     * Values set by hand are checked here again: -1 for anything outside. */
    if (p->multiple_of <= 0 || p->multiple_of > WK_LL_MAX_SIZE || p->dim <= 0 ||
        p->dim > WK_LL_MAX_SIZE)
        return -1;
    int64_t hidden = (int64_t)((double)(2 * (4 * p->dim)) / 3.0); /* int(2 * 4dim / 3) */
    if (p->has_ffn_dim_multiplier) {
        double m = p->ffn_dim_multiplier;
        if (!(m >= WK_LL_FFN_MULT_MIN && m <= WK_LL_FFN_MULT_MAX)) return -1;
        hidden = (int64_t)(m * (double)hidden);
    }
    if (hidden <= 0) return -1;
    return p->multiple_of * ((hidden + p->multiple_of - 1) / p->multiple_of);
}

/* ---- geometry ------------------------------------------------------------------- */

int wk_llama_geom_check(const wk_llama_geom *g, wk_err *err)
{
    if (g->dim <= 0 || g->n_layers <= 0 || g->n_heads <= 0 || g->n_kv_heads <= 0 || g->ffn <= 0 ||
        g->vocab <= 0)
        return wk_err_set(err, WK_E_FORMAT, "model sizes must be positive (dim %lld, layers %lld, "
                          "heads %lld, kv heads %lld, ffn %lld, vocab %lld)", (long long)g->dim,
                          (long long)g->n_layers, (long long)g->n_heads, (long long)g->n_kv_heads,
                          (long long)g->ffn, (long long)g->vocab);
    if (g->dim % g->n_heads != 0 || g->head_dim != g->dim / g->n_heads || g->head_dim % 2 != 0)
        return wk_err_set(err, WK_E_FORMAT, "dim %lld is not n_heads %lld times an even head size",
                          (long long)g->dim, (long long)g->n_heads);
    if (g->n_heads % g->n_kv_heads != 0)
        return wk_err_set(err, WK_E_FORMAT, "n_kv_heads %lld does not divide n_heads %lld",
                          (long long)g->n_kv_heads, (long long)g->n_heads);
    int64_t r = g->n_ranks;
    if (r < 1 || r > WK_LL_MAX_RANKS)
        return wk_err_set(err, WK_E_FORMAT, "%d model-parallel ranks: supported 1 .. %d",
                          g->n_ranks, WK_LL_MAX_RANKS);
    if (g->n_heads % r || g->n_kv_heads % r || g->ffn % r || g->vocab % r)
        return wk_err_set(err, WK_E_FORMAT, "%d ranks do not evenly split heads %lld, kv heads "
                          "%lld, ffn %lld and vocab %lld", g->n_ranks, (long long)g->n_heads,
                          (long long)g->n_kv_heads, (long long)g->ffn, (long long)g->vocab);
    return 0;
}

int wk_llama_geom_from_params(const wk_llama_params *p, int64_t vocab, int n_ranks,
                              wk_llama_geom *g, wk_err *err)
{
    memset(g, 0, sizeof *g);
    g->dim = p->dim;
    g->n_layers = p->n_layers;
    g->n_heads = p->n_heads;
    g->n_kv_heads = p->n_kv_heads;
    g->head_dim = p->n_heads > 0 ? p->dim / p->n_heads : 0;
    g->ffn = wk_llama_ffn_from_params(p);
    if (g->ffn <= 0)
        return wk_err_set(err, WK_E_USAGE, "params: the FFN size needs \"multiple_of\"");
    g->vocab = vocab > 0 ? vocab : p->vocab_size;
    if (g->vocab <= 0)
        return wk_err_set(err, WK_E_USAGE, "params: vocab_size is -1 and no vocabulary size given");
    g->n_ranks = n_ranks;
    g->norm_eps = p->norm_eps;
    g->norm_eps_is_int = p->norm_eps_is_int;
    g->rope_theta = p->rope_theta;
    return wk_llama_geom_check(g, err);
}

/* ---- key parsing ------------------------------------------------------------------ */

enum { KEY_UNKNOWN = -1, KEY_ROPE = -2 };

/* Kind of a Meta key (and its layer), KEY_ROPE for the ignored rope.freqs
 * buffers, KEY_UNKNOWN otherwise. */
static int parse_key(const char *name, int64_t *layer)
{
    *layer = -1;
    if (strcmp(name, "rope.freqs") == 0) return KEY_ROPE;
    for (int k = 0; k < WK_LL_GLOBAL_KINDS; k++)
        if (strcmp(name, k_kinds[k].meta) == 0) return k;
    if (strncmp(name, "layers.", 7) != 0) return KEY_UNKNOWN;
    const char *p = name + 7;
    int64_t v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 9) v = v * 10 + (*p++ - '0'), digits++;
    if (!digits || *p != '.' || (digits > 1 && name[7] == '0')) return KEY_UNKNOWN;
    p++;
    if (strcmp(p, "attention.inner_attention.rope.freqs") == 0) {
        *layer = v;
        return KEY_ROPE;
    }
    for (int k = WK_LL_GLOBAL_KINDS; k < WK_LL_KIND_COUNT; k++) {
        const char *suffix = strchr(strchr(k_kinds[k].meta, '.') + 1, '.') + 1; /* after "%lld." */
        if (strcmp(p, suffix) == 0) {
            *layer = v;
            return k;
        }
    }
    return KEY_UNKNOWN;
}

/* ---- opened checkpoint --------------------------------------------------------------- */

struct wk_llama_ckpt {
    char *dir;
    char *params_path;
    wk_llama_params params;
    wk_llama_geom geom;
    int n_ranks;
    char *rank_path[WK_LL_MAX_RANKS];
    wk_pth *rank[WK_LL_MAX_RANKS];
    size_t slots;                        /* 3 + 9 * n_layers */
    const wk_tensor_info **table;        /* [rank * slots + slot] */
    uint64_t input_bytes;
    wk_ll_split emb_split;               /* tok_embeddings: columns (LLaMA 1/2) or rows (Llama 3) */
};

static size_t slot_of(wk_ll_kind k, int64_t layer)
{
    if (k < WK_LL_GLOBAL_KINDS) return (size_t)k;
    return WK_LL_GLOBAL_KINDS + (size_t)layer * (WK_LL_KIND_COUNT - WK_LL_GLOBAL_KINDS) +
           (size_t)(k - WK_LL_GLOBAL_KINDS);
}

void wk_llama_close(wk_llama_ckpt *ck)
{
    if (!ck) return;
    for (int r = 0; r < WK_LL_MAX_RANKS; r++) {
        wk_pth_close(ck->rank[r]);
        free(ck->rank_path[r]);
    }
    free(ck->table);
    free(ck->params_path);
    free(ck->dir);
    free(ck);
}

/* Read and parse dir/params.json. */
static int load_params(wk_llama_ckpt *ck, unsigned flags, wk_err *err)
{
    ck->params_path = wk_path_join(ck->dir, "params.json");
    if (!ck->params_path) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    wk_map m;
    if (wk_map_open(&m, ck->params_path, err) != 0) return -1;
    int rc = wk_llama_params_parse_flags(m.data ? (const void *)m.data : "", m.size,
                                         ck->params_path, flags, &ck->params, err);
    wk_map_close(&m);
    return rc;
}

/* Rank number of "consolidated.NN.pth", -1 for another name, -2 for a
 * consolidated.*.pth name that is not two (or more, for >= 100) digits. */
static int rank_of_name(const char *name)
{
    size_t n = strlen(name);
    if (strncmp(name, "consolidated.", 13) != 0 || n < 18 || strcmp(name + n - 4, ".pth") != 0)
        return -1;
    size_t digits = n - 17;
    int v = 0;
    for (size_t i = 0; i < digits; i++) {
        char c = name[13 + i];
        if (c < '0' || c > '9' || v > 100000) return -2;
        v = v * 10 + (c - '0');
    }
    char canon[32];
    snprintf(canon, sizeof canon, "%02d", v);
    if (strlen(canon) != digits) return -2; /* "consolidated.1.pth", "consolidated.001.pth" */
    return v;
}

/* Find consolidated.NN.pth files: ranks 0 .. N-1, all present. */
static int find_ranks(wk_llama_ckpt *ck, wk_err *err)
{
    DIR *d = opendir(ck->dir);
    if (!d) return wk_err_errno(err, errno, "%s: cannot open model directory", ck->dir);
    unsigned char seen[WK_LL_MAX_RANKS] = {0};
    int max_rank = -1, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && rc == 0) {
        int r = rank_of_name(e->d_name);
        if (r == -1) continue;
        if (r == -2)
            rc = wk_err_set(err, WK_E_FORMAT, "%s/%s: rank files must be named consolidated.NN.pth "
                            "with two digits (00, 01, ...)", ck->dir, e->d_name);
        else if (r >= WK_LL_MAX_RANKS)
            rc = wk_err_set(err, WK_E_LIMIT, "%s/%s: more than %d model-parallel ranks", ck->dir,
                            e->d_name, WK_LL_MAX_RANKS);
        else {
            seen[r] = 1;
            if (r > max_rank) max_rank = r;
        }
    }
    closedir(d);
    if (rc != 0) return rc;
    if (max_rank < 0)
        return wk_err_set(err, WK_E_FORMAT, "%s: no consolidated.NN.pth files (not a Meta model "
                          "directory?)", ck->dir);
    for (int r = 0; r <= max_rank; r++)
        if (!seen[r])
            return wk_err_set(err, WK_E_FORMAT, "%s: consolidated.%02d.pth is missing (found ranks "
                              "up to consolidated.%02d.pth)", ck->dir, r, max_rank);
    ck->n_ranks = max_rank + 1;
    for (int r = 0; r < ck->n_ranks; r++) {
        char name[32];
        snprintf(name, sizeof name, "consolidated.%02d.pth", r);
        ck->rank_path[r] = wk_path_join(ck->dir, name);
        if (!ck->rank_path[r]) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    return 0;
}

/* Open every rank with wk_pth, in parallel; the first failing rank's error. */
static int open_ranks(wk_llama_ckpt *ck, int threads, wk_err *err)
{
    wk_err errs[WK_LL_MAX_RANKS];
    int n = ck->n_ranks;
    int nt = threads > 0 ? threads : 1;
#ifdef _OPENMP
    if (threads <= 0) nt = omp_get_max_threads();
#endif
    if (nt > n) nt = n;
    (void)nt;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int r = 0; r < n; r++) {
        wk_err_clear(&errs[r]);
        ck->rank[r] = wk_pth_open(ck->rank_path[r], 0, &errs[r]);
    }
    for (int r = 0; r < n; r++) {
        if (!ck->rank[r]) {
            *err = errs[r];
            return -1;
        }
        struct stat st;
        if (stat(ck->rank_path[r], &st) == 0) ck->input_bytes += (uint64_t)st.st_size;
    }
    return 0;
}

static void shape_str(const wk_tensor_info *t, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < t->ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "",
                                 (long long)t->shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

/* Fill rank r's table from its tensors: every key known, no duplicates,
 * layer within n_layers, supported dtype. */
static int index_rank(wk_llama_ckpt *ck, int r, wk_err *err)
{
    const wk_tensor_info **tab = ck->table + (size_t)r * ck->slots;
    const char *path = ck->rank_path[r];
    for (size_t i = 0; i < wk_pth_count(ck->rank[r]); i++) {
        const wk_tensor_info *t = wk_pth_tensor(ck->rank[r], i);
        int64_t layer;
        int k = parse_key(t->name, &layer);
        if (k == KEY_ROPE) continue;
        if (k == KEY_UNKNOWN)
            return wk_err_set(err, WK_E_FORMAT, "%s: unknown tensor \"%s\" (not a LLaMA weight)",
                              path, t->name);
        if (k >= WK_LL_GLOBAL_KINDS && layer >= ck->params.n_layers)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" but params.json says n_layers "
                              "= %lld", path, t->name, (long long)ck->params.n_layers);
        if (t->dtype != WK_DT_F16 && t->dtype != WK_DT_BF16 && t->dtype != WK_DT_F32)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: tensor \"%s\" has dtype %s (expected "
                              "float16, bfloat16 or float32)", path, t->name,
                              wk_dtype_get(t->dtype)->torch_name);
        if (t->ndim != k_kinds[k].ndim) {
            char s[96];
            shape_str(t, s, sizeof s);
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" has shape %s, expected %d "
                              "dimensions", path, t->name, s, k_kinds[k].ndim);
        }
        tab[slot_of((wk_ll_kind)k, layer)] = t;
    }
    for (size_t s = 0; s < ck->slots; s++) {
        if (tab[s]) continue;
        wk_ll_kind k = s < WK_LL_GLOBAL_KINDS ? (wk_ll_kind)s
            : (wk_ll_kind)(WK_LL_GLOBAL_KINDS + (s - WK_LL_GLOBAL_KINDS) % (WK_LL_KIND_COUNT - WK_LL_GLOBAL_KINDS));
        int64_t layer = s < WK_LL_GLOBAL_KINDS ? 0
            : (int64_t)((s - WK_LL_GLOBAL_KINDS) / (WK_LL_KIND_COUNT - WK_LL_GLOBAL_KINDS));
        char key[96];
        wk_llama_meta_key(k, layer, key, sizeof key);
        return wk_err_set(err, WK_E_FORMAT, "%s: missing tensor \"%s\"", path, key);
    }
    return 0;
}

/* Every key has the same shape in every rank, and every layer the same as layer 0. */
static int check_shapes(const wk_llama_ckpt *ck, wk_err *err)
{
    for (int r = 0; r < ck->n_ranks; r++)
        for (size_t s = 0; s < ck->slots; s++) {
            const wk_tensor_info *t = ck->table[(size_t)r * ck->slots + s];
            size_t ref_slot = s < WK_LL_GLOBAL_KINDS ? s
                : WK_LL_GLOBAL_KINDS + (s - WK_LL_GLOBAL_KINDS) % (WK_LL_KIND_COUNT - WK_LL_GLOBAL_KINDS);
            const wk_tensor_info *ref = ck->table[ref_slot]; /* rank 0, layer 0 */
            if (memcmp(t->shape, ref->shape, sizeof(int64_t) * (size_t)t->ndim) == 0) continue;
            char a[96], b[96];
            shape_str(t, a, sizeof a);
            shape_str(ref, b, sizeof b);
            return wk_err_set(err, WK_E_FORMAT, "shape disagreement: \"%s\" is %s in %s but \"%s\" "
                              "is %s in %s", t->name, a, ck->rank_path[r], ref->name, b,
                              ck->rank_path[0]);
        }
    return 0;
}

wk_ll_split wk_llama_ckpt_split(const wk_llama_ckpt *ck, wk_ll_kind k)
{
    return k == WK_LL_TOK_EMB ? ck->emb_split : k_kinds[k].split;
}

/* rows (or columns) of a rank slice times the rank count. */
static int64_t merged(const wk_llama_ckpt *ck, wk_ll_kind k, int dim)
{
    return ck->table[k < WK_LL_GLOBAL_KINDS ? (size_t)k : slot_of(k, 0)]->shape[dim] *
           (wk_llama_ckpt_split(ck, k) == (dim == 0 ? WK_LL_SPLIT_ROWS : WK_LL_SPLIT_COLS)
                ? ck->n_ranks : 1);
}

/* How the ranks split tok_embeddings: LLaMA 1/2's ParallelEmbedding by columns;
 * Llama 3's VocabParallelEmbedding by rows, recognised when a rank holds all dim
 * columns (params.json's dim) and there are several ranks. */
static void find_emb_split(wk_llama_ckpt *ck)
{
    const wk_tensor_info *e = ck->table[WK_LL_TOK_EMB];
    ck->emb_split = WK_LL_SPLIT_COLS;
    if (ck->n_ranks > 1 && e->ndim == 2 && e->shape[1] == ck->params.dim)
        ck->emb_split = WK_LL_SPLIT_ROWS;
}

/* The rank count: tok_embeddings' columns and wq's rows, merged over the
 * ranks, must add up to dim (g->dim set). */
static int check_rank_count(const wk_llama_ckpt *ck, wk_err *err)
{
    const wk_llama_geom *g = &ck->geom;
    static const wk_ll_kind by_dim[] = {WK_LL_TOK_EMB, WK_LL_WQ};
    for (int i = 0; i < 2; i++) {
        wk_ll_kind k = by_dim[i];
        int d = k == WK_LL_TOK_EMB ? 1 : 0;
        int64_t got = merged(ck, k, d);
        if (got == g->dim) continue;
        char key[96];
        wk_llama_meta_key(k, 0, key, sizeof key);
        return wk_err_set(err, WK_E_FORMAT, "%s: \"%s\" has %lld %s per rank; %d rank file%s "
                          "(consolidated.00..%02d.pth) give %lld, but dim is %lld: a missing or "
                          "extra rank file?", ck->dir, key,
                          (long long)ck->table[k < WK_LL_GLOBAL_KINDS ? (size_t)k : slot_of(k, 0)]->shape[d],
                          d ? "columns" : "rows", ck->n_ranks, ck->n_ranks == 1 ? "" : "s",
                          ck->n_ranks - 1, (long long)got, (long long)g->dim);
    }
    return 0;
}

/* g->n_kv_heads from wk's merged rows (g->head_dim set), checked against
 * params.json's n_kv_heads (or n_heads). */
static int infer_kv_heads(wk_llama_ckpt *ck, wk_err *err)
{
    const wk_llama_params *p = &ck->params;
    wk_llama_geom *g = &ck->geom;
    const char *pp = ck->params_path;
    int64_t kv_rows = merged(ck, WK_LL_WK, 0);
    if (kv_rows % g->head_dim != 0)
        return wk_err_set(err, WK_E_FORMAT, "layers.0.attention.wk.weight: %lld merged rows are not "
                          "a multiple of the head size %lld (%d ranks)", (long long)kv_rows,
                          (long long)g->head_dim, ck->n_ranks);
    g->n_kv_heads = kv_rows / g->head_dim;
    if (g->n_kv_heads != p->n_kv_heads)
        return wk_err_set(err, WK_E_FORMAT, "%s: %s %lld contradicts the tensors: "
                          "layers.0.attention.wk.weight holds %lld key/value heads (%d rank%s x "
                          "%lld rows / head size %lld)", pp,
                          p->has_n_kv_heads ? "n_kv_heads" : "n_heads (no n_kv_heads)",
                          (long long)p->n_kv_heads, (long long)g->n_kv_heads, ck->n_ranks,
                          ck->n_ranks == 1 ? "" : "s",
                          (long long)ck->table[slot_of(WK_LL_WK, 0)]->shape[0],
                          (long long)g->head_dim);
    return 0;
}

/* Every 2-D weight's merged shape must follow from dim, vocab, ffn, kv heads. */
static int check_kind_shapes(const wk_llama_ckpt *ck, wk_err *err)
{
    const wk_llama_geom *g = &ck->geom;
    const char *r0 = ck->rank_path[0];
    for (int k = 0; k < WK_LL_KIND_COUNT; k++) {
        int64_t want[2];
        int nd = wk_llama_kind_shape(g, (wk_ll_kind)k, want);
        for (int d = 0; d < nd; d++) {
            int64_t got = merged(ck, (wk_ll_kind)k, d);
            if (got == want[d]) continue;
            char key[96];
            wk_llama_meta_key((wk_ll_kind)k, 0, key, sizeof key);
            return wk_err_set(err, WK_E_FORMAT, "\"%s\": merged size %lld along dimension %d "
                              "(%d rank%s of %s) does not match dim %lld / vocab %lld / ffn %lld / "
                              "%lld kv heads: a missing or extra rank file, or a rank from another "
                              "model?", key, (long long)got, d, ck->n_ranks,
                              ck->n_ranks == 1 ? "" : "s", r0, (long long)g->dim,
                              (long long)g->vocab, (long long)g->ffn, (long long)g->n_kv_heads);
        }
    }
    return 0;
}

/* ---- rotary buffers ------------------------------------------------------------------ */

/* Relative tolerance of a stored frequency: its dtype's rounding (bf16 keeps
 * 8 significant bits, fp16 11; HF's fp32 inv_freq holds fp16-rounded values)
 * with a margin for float32 pow. */
static double rope_tol(wk_dtype dt) { return dt == WK_DT_BF16 ? 1.0 / 128 : 1.0 / 1024; }

int wk_llama_check_rope(const wk_llama_rope_check *c, const float *v, int64_t n, wk_err *err)
{
    if (n * 2 != c->head_dim)
        return wk_err_set(err, WK_E_FORMAT, "%s: %s %lld contradicts the checkpoint: tensor \"%s\" "
                          "in %s holds %lld rotary frequencies, i.e. a head size of %lld (%lld "
                          "heads of width %lld), not %lld", c->cfg_path, c->heads_key,
                          (long long)c->n_heads, c->name, c->file, (long long)n, (long long)(2 * n),
                          (long long)(n > 0 ? c->dim / (2 * n) : 0), (long long)(2 * n),
                          (long long)c->head_dim);
    double tol = rope_tol(c->dtype);
    for (int64_t j = 0; j < n; j++) {
        double want = pow(c->theta, -(double)(2 * j) / (double)c->head_dim);
        double got = v[j];
        if (isfinite(got) && fabs(got - want) <= tol * want + 1e-7) continue;
        /* the theta the stored values imply, from the second frequency */
        double implied = n > 1 && v[1] > 0 && v[1] < 1 ? pow((double)v[1], -(double)c->head_dim / 2.0) : 0;
        return wk_err_set(err, WK_E_FORMAT, "%s: %s %g contradicts the checkpoint: tensor \"%s\" in "
                          "%s holds value %g at index %lld where theta %g gives %g (the stored "
                          "frequencies imply theta ~ %.3g)", c->cfg_path, c->theta_key, c->theta,
                          c->name, c->file, got, (long long)j, c->theta, want, implied);
    }
    return 0;
}

/* A 1-D tensor of a Meta rank as floats (n values, malloc'd into *out). */
static int rope_values(const wk_tensor_info *t, float **out, wk_err *err)
{
    int64_t n = t->ndim == 1 ? t->shape[0] : -1;
    size_t es = wk_dtype_get(t->dtype)->size;
    if (n < 0 || n > 65536 || (t->dtype != WK_DT_F16 && t->dtype != WK_DT_BF16 && t->dtype != WK_DT_F32))
        return wk_err_set(err, WK_E_FORMAT, "tensor \"%s\": a rotary buffer must be a 1-D float "
                          "tensor of at most 65536 values", t->name);
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *e = t->storage + (size_t)(t->storage_offset + i * t->stride[0]) * es;
        uint16_t h;
        if (t->dtype == WK_DT_F32) memcpy(&v[i], e, 4);
        else {
            memcpy(&h, e, 2);
            v[i] = t->dtype == WK_DT_F16 ? wk_f16_to_f32(h) : wk_bf16_to_f32(h);
        }
    }
    *out = v;
    return 0;
}

/* Every rope.freqs buffer of rank 0 against n_heads (its length is head_dim /
 * 2) and rope_theta (its values). */
static int check_ropes(const wk_llama_ckpt *ck, wk_err *err)
{
    const wk_llama_params *p = &ck->params;
    for (size_t i = 0; i < wk_pth_count(ck->rank[0]); i++) {
        const wk_tensor_info *t = wk_pth_tensor(ck->rank[0], i);
        int64_t layer;
        if (parse_key(t->name, &layer) != KEY_ROPE) continue;
        float *v = NULL;
        if (rope_values(t, &v, err)) return wk_err_prefix(err, "%s", ck->rank_path[0]);
        wk_llama_rope_check c = {ck->rank_path[0], t->name, t->dtype, ck->params_path, "n_heads",
                                 p->n_heads, p->dim, p->dim / p->n_heads,
                                 p->has_rope_theta ? "rope_theta" : "rope_theta (absent: 10000)",
                                 p->rope_theta};
        int rc = wk_llama_check_rope(&c, v, t->shape[0], err);
        free(v);
        WK_TRY(rc);
    }
    return 0;
}

/* Infer the geometry from the tensors and compare it with params.json. */
static int infer_geometry(wk_llama_ckpt *ck, wk_err *err)
{
    const wk_llama_params *p = &ck->params;
    wk_llama_geom *g = &ck->geom;
    const char *pp = ck->params_path, *r0 = ck->rank_path[0];
    g->n_ranks = ck->n_ranks;
    g->dim = merged(ck, WK_LL_NORM, 0);
    g->vocab = merged(ck, WK_LL_TOK_EMB, 0);
    g->n_layers = p->n_layers;
    g->n_heads = p->n_heads;
    g->ffn = merged(ck, WK_LL_W1, 0);
    g->norm_eps = p->norm_eps;
    g->norm_eps_is_int = p->norm_eps_is_int;
    g->rope_theta = p->rope_theta;
    if (g->dim != p->dim)
        return wk_err_set(err, WK_E_FORMAT, "%s: dim %lld contradicts the tensors: norm.weight has "
                          "%lld elements in %s", pp, (long long)p->dim, (long long)g->dim, r0);
    if (p->dim % p->n_heads != 0 || (p->dim / p->n_heads) % 2 != 0)
        return wk_err_set(err, WK_E_FORMAT, "%s: dim %lld is not n_heads %lld times an even head "
                          "size", pp, (long long)p->dim, (long long)p->n_heads);
    g->head_dim = g->dim / g->n_heads;
    WK_TRY(check_ropes(ck, err));
    WK_TRY(check_rank_count(ck, err));
    WK_TRY(infer_kv_heads(ck, err));
    WK_TRY(check_kind_shapes(ck, err));
    if (p->vocab_size != -1 && p->vocab_size != g->vocab)
        return wk_err_set(err, WK_E_FORMAT, "%s: vocab_size %lld contradicts the tensors: "
                          "tok_embeddings.weight has %lld rows", pp, (long long)p->vocab_size,
                          (long long)g->vocab);
    int64_t ffn_p = wk_llama_ffn_from_params(p);
    if (ffn_p > 0 && ffn_p != g->ffn)
        return wk_err_set(err, WK_E_FORMAT, "%s: multiple_of %lld%s gives an FFN size of %lld but "
                          "layers.0.feed_forward.w1.weight has %lld rows (%d ranks)", pp,
                          (long long)p->multiple_of,
                          p->has_ffn_dim_multiplier ? " with ffn_dim_multiplier" : "",
                          (long long)ffn_p, (long long)g->ffn, ck->n_ranks);
    if (wk_llama_geom_check(g, err) != 0) return wk_err_prefix(err, "%s", ck->dir);
    return 0;
}

wk_llama_ckpt *wk_llama_open(const char *model_dir, int threads, wk_err *err)
{
    return wk_llama_open_flags(model_dir, threads, 0, err);
}

wk_llama_ckpt *wk_llama_open_flags(const char *model_dir, int threads, unsigned flags, wk_err *err)
{
    wk_llama_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->dir = strdup(model_dir))) {
        free(ck);
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    if (load_params(ck, flags, err) || find_ranks(ck, err) || open_ranks(ck, threads, err)) goto fail;
    /* n_layers sizes the table below; every layer has tensors in rank 0, so a
     * larger value is false (and must not drive a huge allocation). */
    if ((uint64_t)ck->params.n_layers > wk_pth_count(ck->rank[0])) {
        wk_err_set(err, WK_E_FORMAT, "%s: n_layers %lld, but %s holds only %zu tensors",
                   ck->params_path, (long long)ck->params.n_layers, ck->rank_path[0],
                   wk_pth_count(ck->rank[0]));
        goto fail;
    }
    ck->slots = WK_LL_GLOBAL_KINDS + (size_t)ck->params.n_layers * (WK_LL_KIND_COUNT - WK_LL_GLOBAL_KINDS);
    ck->table = calloc(ck->slots * (size_t)ck->n_ranks, sizeof *ck->table);
    if (!ck->table) {
        wk_err_set(err, WK_E_NOMEM, "out of memory (tensor table)");
        goto fail;
    }
    for (int r = 0; r < ck->n_ranks; r++)
        if (index_rank(ck, r, err)) goto fail;
    find_emb_split(ck);
    if (check_shapes(ck, err) || infer_geometry(ck, err)) goto fail;
    return ck;
fail:
    wk_llama_close(ck);
    return NULL;
}

const wk_llama_params *wk_llama_ckpt_params(const wk_llama_ckpt *ck) { return &ck->params; }
const wk_llama_geom *wk_llama_ckpt_geom(const wk_llama_ckpt *ck) { return &ck->geom; }
const char *wk_llama_ckpt_dir(const wk_llama_ckpt *ck) { return ck->dir; }
const char *wk_llama_ckpt_rank_path(const wk_llama_ckpt *ck, int rank) { return ck->rank_path[rank]; }

int wk_llama_ckpt_add_inputs(const wk_llama_ckpt *ck, wk_inputs *in, wk_err *err)
{
    WK_TRY(wk_inputs_add(in, ck->params_path, err));
    for (int r = 0; r < ck->geom.n_ranks; r++) WK_TRY(wk_inputs_add(in, ck->rank_path[r], err));
    return 0;
}
wk_dtype wk_llama_ckpt_dtype(const wk_llama_ckpt *ck) { return ck->table[WK_LL_TOK_EMB]->dtype; }
uint64_t wk_llama_ckpt_input_bytes(const wk_llama_ckpt *ck) { return ck->input_bytes; }

const wk_tensor_info *wk_llama_ckpt_tensor(const wk_llama_ckpt *ck, int rank, wk_ll_kind kind,
                                           int64_t layer)
{
    return ck->table[(size_t)rank * ck->slots + slot_of(kind, layer)];
}

/* Present and not a directory: a FIFO or device is found too, so that opening
 * it says what it is (wk_input_open) instead of "no tokenizer.model". */
static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

char *wk_llama_find_tokenizer(const char *model_dir)
{
    char *p = wk_path_join(model_dir, "tokenizer.model");
    if (p && is_regular(p)) return p;
    free(p);
    char *parent = wk_path_join(model_dir, "..");
    p = parent ? wk_path_join(parent, "tokenizer.model") : NULL;
    free(parent);
    if (p && is_regular(p)) return p;
    free(p);
    return NULL;
}

/* ---- --model_size ----------------------------------------------------------------- */

static const wk_llama_size k_sizes[] = {
    {"7B", 1, 4096, 32},   {"7Bf", 1, 4096, 32},  {"13B", 2, 5120, 40}, {"13Bf", 2, 5120, 40},
    {"30B", 4, 6656, 60},  {"34B", 4, 8192, 48},  {"65B", 8, 8192, 80}, {"70B", 8, 8192, 80},
    {"70Bf", 8, 8192, 80},
};

const wk_llama_size *wk_llama_size_get(const char *name)
{
    for (size_t i = 0; i < sizeof k_sizes / sizeof k_sizes[0]; i++)
        if (strcmp(name, k_sizes[i].name) == 0) return &k_sizes[i];
    return NULL;
}

int wk_llama_size_check(const wk_llama_size *s, const wk_llama_geom *g, wk_err *err)
{
    if (s->num_shards == g->n_ranks && s->dim == g->dim && s->n_layers == g->n_layers) return 0;
    return wk_err_set(err, WK_E_USAGE, "--model_size %s means %d rank file(s), dim %lld, %lld "
                      "layers; the checkpoint has %d, dim %lld, %lld layers", s->name,
                      s->num_shards, (long long)s->dim, (long long)s->n_layers, g->n_ranks,
                      (long long)g->dim, (long long)g->n_layers);
}

/* ---- the HF state dict --------------------------------------------------------------- */

static void hf_entry(wk_llama_hf_tensor *t, const wk_llama_geom *g, wk_ll_kind k, int64_t layer)
{
    memset(t, 0, sizeof *t);
    t->kind = k;
    t->layer = layer;
    if (k == WK_LL_INV_FREQ) {
        snprintf(t->name, sizeof t->name, k_inv_freq_name, (long long)layer);
        t->dtype = WK_DT_F32;
        t->ndim = 1;
        t->shape[0] = g->head_dim / 2;
        return;
    }
    snprintf(t->name, sizeof t->name, k_kinds[k].hf, (long long)layer);
    t->dtype = WK_DT_F16;
    t->ndim = wk_llama_kind_shape(g, k, t->shape);
    if (k == WK_LL_WQ) t->permute_heads = g->n_heads;
    if (k == WK_LL_WK) t->permute_heads = g->n_kv_heads;
}

int wk_llama_hf_plan(const wk_llama_geom *g, int with_inv_freq, wk_llama_hf_tensor **out,
                     size_t *n, wk_err *err)
{
    static const wk_ll_kind layer_order[] = {WK_LL_WQ, WK_LL_WK, WK_LL_WV, WK_LL_WO,
                                             WK_LL_INV_FREQ, WK_LL_W1, WK_LL_W2, WK_LL_W3,
                                             WK_LL_ATTN_NORM, WK_LL_FFN_NORM};
    WK_TRY(wk_llama_geom_check(g, err));
    size_t per = with_inv_freq ? 10 : 9;
    size_t total = 3 + per * (size_t)g->n_layers;
    wk_llama_hf_tensor *t = calloc(total, sizeof *t);
    if (!t) return wk_err_set(err, WK_E_NOMEM, "out of memory (%zu tensors)", total);
    size_t i = 0;
    hf_entry(&t[i++], g, WK_LL_TOK_EMB, -1);
    for (int64_t l = 0; l < g->n_layers; l++)
        for (size_t j = 0; j < sizeof layer_order / sizeof layer_order[0]; j++)
            if (layer_order[j] != WK_LL_INV_FREQ || with_inv_freq)
                hf_entry(&t[i++], g, layer_order[j], l);
    hf_entry(&t[i++], g, WK_LL_NORM, -1);
    hf_entry(&t[i++], g, WK_LL_OUTPUT, -1);
    *out = t;
    *n = i;
    return 0;
}

void wk_llama_inv_freq(int64_t head_dim, double theta, float *out)
{
    for (int64_t j = 0; j < head_dim / 2; j++) {
        float x = (float)(2 * j) / (float)head_dim;
        float v = 1.0f / powf((float)theta, x);
        out[j] = wk_f16_to_f32(wk_f32_to_f16(v));
    }
}
