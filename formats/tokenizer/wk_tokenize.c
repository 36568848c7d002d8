/* wk_tokenize.c — the vocabulary behind wk_tokenize.h: loaded from a GGUF's
 * tokenizer.ggml.* keys or from a model directory (tokenizer.model /
 * tokenizer.json), the user-defined-token partition, and the dispatch to the
 * SentencePiece (wk_tok_spm.c) and byte-level BPE (wk_tok_bpe.c) encoders.
 * The rules, and where they come from: docs/tokenize.md. */
#include "wk_tokenize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_tok_impl.h"
#include "wk_bpejson.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_spm.h"
#include "wk_utf8.h"

/* ---- byte-slice map ------------------------------------------------------------ */

static uint64_t tm_hash(const char *k, uint32_t len, uint32_t split)
{
    uint64_t h = 0xcbf29ce484222325ull ^ split;
    for (uint32_t i = 0; i < len; i++) h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

int wk_tokmap_init(wk_tokmap *m, size_t n, wk_err *err)
{
    size_t cap = 16;
    while (cap < 2 * n + 16) cap *= 2;
    m->slot = calloc(cap, sizeof *m->slot);
    WK_FAIL_IF(!m->slot, err, WK_E_NOMEM, "out of memory (token map of %zu entries)", n);
    m->cap = cap;
    m->n = 0;
    return 0;
}

static wk_tokmap_slot *tm_find(const wk_tokmap *m, const char *k, uint32_t len, uint32_t split)
{
    size_t i = (size_t)tm_hash(k, len, split) & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        wk_tokmap_slot *s = &m->slot[i];
        if (!s->used) return s;
        if (s->len == len && s->split == split && memcmp(s->k, k, len) == 0) return s;
    }
}

void wk_tokmap_put(wk_tokmap *m, const char *k, uint32_t len, uint32_t split, int32_t val, int replace)
{
    wk_tokmap_slot *s = tm_find(m, k, len, split);
    if (s->used) {
        if (replace) s->val = val;
        return;
    }
    if (2 * (m->n + 1) > m->cap) return;   /* cannot happen: sized by wk_tokmap_init */
    *s = (wk_tokmap_slot){.k = k, .len = len, .split = split, .val = val, .used = 1};
    m->n++;
}

int32_t wk_tokmap_get(const wk_tokmap *m, const char *k, uint32_t len, uint32_t split)
{
    if (!m->cap) return -1;
    const wk_tokmap_slot *s = tm_find(m, k, len, split);
    return s->used ? s->val : -1;
}

void wk_tokmap_free(wk_tokmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}

int wk_tok_push(int32_t **out, size_t *n, size_t *cap, int32_t id, wk_err *err)
{
    if (*n == *cap) {
        WK_FAIL_IF(*cap >= (size_t)INT32_MAX, err, WK_E_LIMIT, "more than %d token ids", INT32_MAX);
        size_t nc = *cap ? *cap * 2 : 64;
        int32_t *p = realloc(*out, nc * sizeof *p);
        WK_FAIL_IF(!p, err, WK_E_NOMEM, "out of memory (%zu token ids)", nc);
        *out = p;
        *cap = nc;
    }
    (*out)[(*n)++] = id;
    return 0;
}

/* ---- building a vocabulary ------------------------------------------------------- */

void wk_tok_close(wk_tok *t)
{
    if (!t) return;
    free(t->arena);
    free(t->text);
    free(t->len);
    free(t->score);
    free(t->type);
    free(t->udef);
    free(t->merge_arena);
    wk_tokmap_free(&t->ids);
    wk_tokmap_free(&t->ranks);
    wk_tok_re_free(t->re);
    free(t);
}

/* A vocabulary of n tokens whose texts total `bytes` bytes (arena sized for them
 * and for llama.cpp's "[EMPTY_<i>]" names of empty tokens). */
static wk_tok *tok_new(int kind, size_t n, size_t bytes, const char *label, wk_err *err)
{
    if (n == 0 || n > (size_t)INT32_MAX) {
        wk_err_set(err, WK_E_FORMAT, "%s: %zu tokens (want 1..%d)", label, n, INT32_MAX);
        return NULL;
    }
    wk_tok *t = calloc(1, sizeof *t);
    size_t arena = bytes + n * 20;
    if (t) {
        t->kind = kind;
        t->bos = t->eos = t->unk = -1;
        t->n = n;
        t->arena = malloc(arena);
        t->text = calloc(n, sizeof *t->text);
        t->len = calloc(n, sizeof *t->len);
        t->score = calloc(n, sizeof *t->score);
        t->type = malloc(n * sizeof *t->type);
    }
    if (!t || !t->arena || !t->text || !t->len || !t->score || !t->type) {
        wk_tok_close(t);
        wk_err_set(err, WK_E_NOMEM, "%s: out of memory (%zu tokens)", label, n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) t->type[i] = WK_TOKT_NORMAL;
    return t;
}

/* Copy token i's text into the arena at *at (llama.cpp renames an empty token
 * "[EMPTY_<i>]"). */
static void tok_set(wk_tok *t, size_t i, const char *s, size_t len, size_t *at)
{
    char *d = t->arena + *at;
    if (len == 0) len = (size_t)sprintf(d, "[EMPTY_%zu]", i);
    else memmove(d, s, len);   /* s may be d itself (bpej_token) */
    d[len] = 0;
    t->text[i] = d;
    t->len[i] = (uint32_t)len;
    *at += len + 1;
}

static int udef_cmp(const void *a, const void *b, void *ctx)
{
    const wk_tok *t = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (t->len[x] != t->len[y]) return t->len[x] > t->len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The text map (last id wins, as llama.cpp's token_to_id), the byte-fallback
 * table and the user-defined tokens, once every text/type is set. */
static int tok_finish(wk_tok *t, const char *label, wk_err *err)
{
    WK_TRY(wk_tokmap_init(&t->ids, t->n, err));
    for (size_t i = 0; i < t->n; i++) wk_tokmap_put(&t->ids, t->text[i], t->len[i], 0, (int32_t)i, 1);
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        char one = (char)b;
        int32_t id = wk_tokmap_get(&t->ids, hex, 6, 0);
        t->byte_tok[b] = id >= 0 ? id : wk_tokmap_get(&t->ids, &one, 1, 0);
    }
    size_t nu = 0;
    for (size_t i = 0; i < t->n; i++) nu += t->type[i] == WK_TOKT_USER;
    if (nu) {
        t->udef = malloc(nu * sizeof *t->udef);
        WK_FAIL_IF(!t->udef, err, WK_E_NOMEM, "%s: out of memory", label);
        for (size_t i = 0; i < t->n; i++)
            if (t->type[i] == WK_TOKT_USER) t->udef[t->n_udef++] = (int32_t)i;
        qsort_r(t->udef, nu, sizeof *t->udef, udef_cmp, t);
    }
    return 0;
}

/* The BPE merges "left right" (split at the first space after the first byte, as
 * llama.cpp; a merge without one is never used) -> rank, the first rank kept. */
static int tok_merges(wk_tok *t, size_t n, const char *(*get)(void *, size_t, size_t *), void *ctx,
                      size_t bytes, const char *label, wk_err *err)
{
    t->merge_arena = malloc(bytes + 1);
    WK_FAIL_IF(!t->merge_arena, err, WK_E_NOMEM, "%s: out of memory (%zu merges)", label, n);
    WK_TRY(wk_tokmap_init(&t->ranks, n, err));
    size_t at = 0;
    for (size_t i = 0; i < n && i < (size_t)INT32_MAX; i++) {
        size_t len;
        const char *s = get(ctx, i, &len);
        const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        if (!sp || len > UINT32_MAX) continue;
        size_t l = (size_t)(sp - s), r = len - l - 1;
        char *d = t->merge_arena + at;
        memcpy(d, s, l);
        memcpy(d + l, sp + 1, r);
        at += l + r;
        wk_tokmap_put(&t->ranks, d, (uint32_t)(l + r), (uint32_t)l, (int32_t)i, 0);
    }
    return 0;
}

/* ---- from a GGUF --------------------------------------------------------------- */

typedef struct {
    const wk_gguf *g;
    long kv;
} gguf_arr;

static const char *gguf_arr_get(void *ctx, size_t i, size_t *len)
{
    gguf_arr *a = ctx;
    return wk_gguf_arr_str(a->g, (size_t)a->kv, i, len);
}

/* A string-array key: its index and count (-1 with *kv = -1 when absent and
 * optional; WK_E_FORMAT for the wrong type). */
static int gguf_str_array(const wk_gguf *g, const char *key, int required, long *kv, uint64_t *n,
                          wk_err *err)
{
    *kv = wk_gguf_find_key(g, key);
    *n = 0;
    if (*kv < 0) {
        WK_FAIL_IF(required, err, WK_E_FORMAT, "%s: no %s", wk_gguf_path(g), key);
        return 0;
    }
    const wk_gguf_kv *k = wk_gguf_kv_at(g, (size_t)*kv);
    WK_FAIL_IF(k->type != WK_GGUF_ARRAY || k->arr_type != WK_GGUF_STRING, err, WK_E_FORMAT,
               "%s: %s is not an array of strings", wk_gguf_path(g), key);
    *n = k->n;
    return 0;
}

/* An optional numeric array of at least n elements of one of the two types. */
static long gguf_num_array(const wk_gguf *g, const char *key, uint64_t n, wk_gguf_type a,
                           wk_gguf_type b, wk_err *err)
{
    long kv = wk_gguf_find_key(g, key);
    if (kv < 0) return -1;
    const wk_gguf_kv *k = wk_gguf_kv_at(g, (size_t)kv);
    if (k->type != WK_GGUF_ARRAY || (k->arr_type != a && k->arr_type != b) || k->n < n) {
        wk_err_set(err, WK_E_FORMAT, "%s: %s is not an array of %s of at least %llu elements",
                   wk_gguf_path(g), key, wk_gguf_type_name(a), (unsigned long long)n);
        return -2;
    }
    return kv;
}

/* An optional token id key: in range (< n), else ignored as llama.cpp does. */
static void gguf_id(const wk_gguf *g, const char *key, size_t n, int32_t *id)
{
    long kv = wk_gguf_find_key(g, key);
    int64_t v;
    double d;
    if (kv >= 0 && wk_gguf_kv_at(g, (size_t)kv)->type != WK_GGUF_ARRAY &&
        wk_gguf_kv_num(g, (size_t)kv, 0, &d, &v) == 0 && v >= 0 && (uint64_t)v < n)
        *id = (int32_t)v;
}

static void gguf_flag(const wk_gguf *g, const char *key, int *flag)
{
    long kv = wk_gguf_find_key(g, key);
    int64_t v;
    double d;
    if (kv >= 0 && wk_gguf_kv_at(g, (size_t)kv)->type == WK_GGUF_BOOL &&
        wk_gguf_kv_num(g, (size_t)kv, 0, &d, &v) == 0)
        *flag = v != 0;
}

/* Texts, scores and types of tokenizer.ggml.tokens / scores / token_type. */
static wk_tok *gguf_tokens(const wk_gguf *g, int kind, wk_err *err)
{
    const char *path = wk_gguf_path(g);
    long kv, ks, kt;
    uint64_t n;
    if (gguf_str_array(g, "tokenizer.ggml.tokens", 1, &kv, &n, err)) return NULL;
    if (n > (uint64_t)INT32_MAX) {
        wk_err_set(err, WK_E_LIMIT, "%s: %llu tokens", path, (unsigned long long)n);
        return NULL;
    }
    if ((ks = gguf_num_array(g, "tokenizer.ggml.scores", n, WK_GGUF_FLOAT32, WK_GGUF_INT32, err)) == -2 ||
        (kt = gguf_num_array(g, "tokenizer.ggml.token_type", n, WK_GGUF_INT32, WK_GGUF_INT32, err)) == -2)
        return NULL;
    size_t bytes = 0, len;
    for (uint64_t i = 0; i < n; i++) {
        wk_gguf_arr_str(g, (size_t)kv, i, &len);
        bytes += len;
    }
    wk_tok *t = tok_new(kind, (size_t)n, bytes, path, err);
    size_t at = 0;
    for (uint64_t i = 0; t && i < n; i++) {
        const char *s = wk_gguf_arr_str(g, (size_t)kv, i, &len);
        tok_set(t, (size_t)i, s, len, &at);
        double d;
        int64_t v;
        if (ks >= 0 && wk_gguf_kv_num(g, (size_t)ks, i, &d, &v) == 0) t->score[i] = (float)d;
        if (kt >= 0 && wk_gguf_kv_num(g, (size_t)kt, i, &d, &v) == 0) t->type[i] = (int32_t)v;
    }
    return t;
}

/* The model name and pre-tokenizer strings (NUL-terminated copies into buf). */
static int gguf_string(const wk_gguf *g, const char *key, char *buf, size_t cap, wk_err *err)
{
    const char *s;
    size_t n;
    buf[0] = 0;
    if (wk_gguf_find_key(g, key) < 0) return 0;
    WK_TRY(wk_gguf_get_str(g, key, &s, &n, err));
    WK_FAIL_IF(n >= cap || memchr(s, 0, n), err, WK_E_UNSUPPORTED, "%s: %s \"%.*s\" is not supported",
               wk_gguf_path(g), key, (int)(n < 64 ? n : 64), s);
    memcpy(buf, s, n);
    buf[n] = 0;
    return 0;
}

wk_tok *wk_tok_open_gguf(const wk_gguf *g, wk_err *err)
{
    const char *path = wk_gguf_path(g);
    char model[32], pre[48];
    if (gguf_string(g, "tokenizer.ggml.model", model, sizeof model, err) ||
        gguf_string(g, "tokenizer.ggml.pre", pre, sizeof pre, err))
        return NULL;
    int kind = !strcmp(model, "llama") ? WK_TOK_SPM : !strcmp(model, "gpt2") ? WK_TOK_BPE : 0;
    if (!kind) {
        wk_err_set(err, WK_E_UNSUPPORTED, "%s: tokenizer.ggml.model \"%s\": not supported (implemented: "
                   "\"llama\" SentencePiece BPE, \"gpt2\" byte-level BPE)", path, model);
        return NULL;
    }
    wk_tok *t = gguf_tokens(g, kind, err);
    if (!t) return NULL;
    if (kind == WK_TOK_SPM) {   /* llama.cpp's defaults for "llama" */
        t->bos = 1 < t->n ? 1 : -1;
        t->eos = 2 < t->n ? 2 : -1;
        t->unk = 0;
        t->add_bos = 1;
        t->add_space_prefix = 1;
        snprintf(t->kind_name, sizeof t->kind_name, "spm");
    } else {
        t->bos = t->eos = 11 < t->n ? 11 : -1;
        snprintf(t->kind_name, sizeof t->kind_name, "bpe:%s", pre);
        t->add_bos = !strcmp(pre, "llama-bpe") || !strcmp(pre, "tekken");   /* llama.cpp's defaults */
        long kv;
        uint64_t nm;
        size_t bytes = 0, len;
        if (gguf_str_array(g, "tokenizer.ggml.merges", 1, &kv, &nm, err)) goto fail;
        for (uint64_t i = 0; i < nm; i++) {
            wk_gguf_arr_str(g, (size_t)kv, i, &len);
            bytes += len;
        }
        gguf_arr a = {g, kv};
        if (tok_merges(t, (size_t)nm, gguf_arr_get, &a, bytes, path, err)) goto fail;
        if (wk_tok_re_open(t, pre, err)) {
            wk_err_prefix(err, "%s: tokenizer.ggml.pre", path);
            goto fail;
        }
    }
    gguf_id(g, "tokenizer.ggml.bos_token_id", t->n, &t->bos);
    gguf_id(g, "tokenizer.ggml.eos_token_id", t->n, &t->eos);
    gguf_id(g, "tokenizer.ggml.unknown_token_id", t->n, &t->unk);
    gguf_flag(g, "tokenizer.ggml.add_bos_token", &t->add_bos);
    if (kind == WK_TOK_SPM) gguf_flag(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix);
    if (tok_finish(t, path, err)) goto fail;
    return t;
fail:
    wk_tok_close(t);
    return NULL;
}

/* ---- from a model directory ------------------------------------------------------- */

/* tokenizer_config.json beside the tokenizer (NULL if absent or unreadable JSON). */
static wk_json *dir_json(const char *dir, const char *name)
{
    char *p = wk_path_join(dir, name);
    wk_map m;
    wk_err e;
    wk_json *j = NULL;
    if (p && !wk_map_open(&m, p, &e)) {
        wk_json_read_opts o = wk_json_read_defaults();
        j = wk_json_parse(m.data, m.size, &o, NULL);
        wk_map_close(&m);
    }
    free(p);
    return j;
}

/* A special token named by tokenizer_config.json key (a string or {"content": s}). */
static const char *json_token(const wk_json *tc, const char *key, size_t *n)
{
    const wk_json *v = tc ? wk_json_get(tc, key) : NULL;
    const char *s;
    if (v && wk_json_type_of(v) == WK_JSON_OBJECT && !wk_json_get_string(v, "content", &s, n, NULL)) return s;
    if (tc && !wk_json_get_string(tc, key, &s, n, NULL)) return s;
    return NULL;
}

static wk_tok *dir_spm(const char *path, wk_err *err)
{
    wk_spm m;
    if (wk_spm_load(&m, path, err)) return NULL;
    wk_tok *t = NULL;
    if (m.model_type != WK_SPM_BPE) {
        wk_err_set(err, WK_E_UNSUPPORTED, "%s: a SentencePiece %s model: only BPE is implemented", path,
                   wk_spm_model_type_name(m.model_type));
        goto done;
    }
    size_t bytes = 0, at = 0;
    for (size_t i = 0; i < m.n_pieces; i++) bytes += m.pieces[i].len;
    if (!(t = tok_new(WK_TOK_SPM, m.n_pieces, bytes, path, err))) goto done;
    for (size_t i = 0; i < m.n_pieces; i++) {
        const wk_spm_piece *pc = &m.pieces[i];
        tok_set(t, i, pc->text, pc->len, &at);
        t->score[i] = pc->score;
        /* as llama.cpp's converter (and wk-pack): USER_DEFINED pieces become NORMAL */
        t->type[i] = pc->type == WK_SPM_USER_DEFINED ? WK_TOKT_NORMAL : pc->type;
    }
    t->bos = m.bos_id >= 0 && (size_t)m.bos_id < t->n ? m.bos_id : -1;
    t->eos = m.eos_id >= 0 && (size_t)m.eos_id < t->n ? m.eos_id : -1;
    t->unk = m.unk_id >= 0 && (size_t)m.unk_id < t->n ? m.unk_id : -1;
    t->add_bos = 1;
    t->add_space_prefix = m.add_dummy_prefix;
    snprintf(t->kind_name, sizeof t->kind_name, "spm");
done:
    wk_spm_free(&m);
    return t;
}

static const char *bpej_merge(void *ctx, size_t i, size_t *len)
{
    const wk_bpej *b = ctx;
    *len = b->merge_len[i];
    return b->merges[i];
}

/* Token types as wk-pack writes them (docs/formats/tokenizer-json-bpe.md): added
 * tokens CONTROL if special or "<|...|>", else USER_DEFINED with U+2581 as a space. */
static void bpej_token(wk_tok *t, const wk_bpej *b, size_t i, size_t *at)
{
    const char *s = b->tok[i];
    size_t n = b->len[i];
    int ctl = b->added[i] && (b->special[i] || (n >= 4 && !memcmp(s, "<|", 2) && !memcmp(s + n - 2, "|>", 2)));
    if (b->added[i] && !ctl) {
        char *d = t->arena + *at;
        size_t o = 0;
        for (size_t k = 0; k < n;)
            if (k + 3 <= n && !memcmp(s + k, "\xe2\x96\x81", 3)) d[o++] = ' ', k += 3;
            else d[o++] = s[k++];
        tok_set(t, i, d, o, at);   /* o <= n: copying onto itself front to back is safe */
        t->type[i] = WK_TOKT_USER;
        return;
    }
    tok_set(t, i, s, n, at);
    t->type[i] = ctl ? WK_TOKT_CONTROL : WK_TOKT_NORMAL;
}

static wk_tok *dir_bpe(const char *dir, const char *path, wk_err *err)
{
    wk_bpej b;
    if (wk_bpej_read(&b, path, NULL, err)) return NULL;
    wk_tok *t = NULL;
    wk_json *tc = dir_json(dir, "tokenizer_config.json");
    size_t bytes = 0, at = 0, n;
    for (size_t i = 0; i < b.n; i++) bytes += b.len[i];
    if (!(t = tok_new(WK_TOK_BPE, b.n, bytes, path, err))) goto done;
    for (size_t i = 0; i < b.n; i++) bpej_token(t, &b, i, &at);
    bytes = 0;
    for (size_t i = 0; i < b.n_merges; i++) bytes += b.merge_len[i];
    if (tok_merges(t, b.n_merges, bpej_merge, &b, bytes, path, err) || wk_tok_re_open(t, b.pre, err)) {
        wk_tok_close(t);
        t = NULL;
        goto done;
    }
    snprintf(t->kind_name, sizeof t->kind_name, "bpe:%s", b.pre);
    const char *s = json_token(tc, "bos_token", &n);
    char *z = s ? strndup(s, n) : NULL;
    long id = z ? wk_bpej_added_find(&b, z) : -1;
    free(z);
    t->bos = id >= 0 ? (int32_t)id : (int32_t)b.tpl_first;
    t->add_bos = b.tpl_first >= 0 && b.tpl_first == t->bos;
    int v;
    if (tc && !wk_json_get_bool(tc, "add_bos_token", &v, NULL)) t->add_bos = v;
done:
    wk_json_free(tc);
    wk_bpej_free(&b);
    return t;
}

wk_tok *wk_tok_open_dir(const char *dir, wk_err *err)
{
    char *spm = wk_path_join(dir, "tokenizer.model"), *tj = wk_path_join(dir, "tokenizer.json");
    wk_tok *t = NULL;
    wk_map m;
    wk_err e;
    if (!spm || !tj) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
    } else if (!wk_map_open(&m, spm, &e)) {
        wk_map_close(&m);
        t = dir_spm(spm, err);
    } else if (!wk_map_open(&m, tj, &e)) {
        wk_map_close(&m);
        wk_bpej_kind kind;
        if (!wk_bpej_probe(tj, &kind, err)) {
            if (kind == WK_BPEJ_BYTELEVEL) t = dir_bpe(dir, tj, err);
            else wk_err_set(err, WK_E_UNSUPPORTED, "%s: a SentencePiece-style tokenizer.json without "
                            "tokenizer.model: not supported (pack it with wk-pack first)", tj);
        }
    } else {
        wk_err_set(err, WK_E_USAGE, "%s: no tokenizer.model or tokenizer.json", dir);
    }
    if (t && tok_finish(t, dir, err)) {
        wk_tok_close(t);
        t = NULL;
    }
    free(spm);
    free(tj);
    return t;
}

/* ---- queries and encoding ---------------------------------------------------------- */

int64_t wk_tok_n_vocab(const wk_tok *t) { return (int64_t)t->n; }
int32_t wk_tok_bos(const wk_tok *t) { return t->bos; }
int wk_tok_add_bos(const wk_tok *t) { return t->add_bos; }
const char *wk_tok_kind(const wk_tok *t) { return t->kind_name; }

/* A piece of the text: raw (to encode) or a user-defined token. */
typedef struct {
    size_t off, len;
    int32_t id;   /* -1: raw text */
} frag;

/* llama.cpp's tokenizer_st_partition for the user-defined tokens (longest first):
 * every occurrence in a raw fragment, left to right, becomes that token. */
static int partition(const wk_tok *t, const char *s, size_t len, frag **fr, size_t *nf, wk_err *err)
{
    size_t cap = 8, n = 0;
    frag *f = malloc(cap * sizeof *f);
    WK_FAIL_IF(!f, err, WK_E_NOMEM, "out of memory");
    f[n++] = (frag){0, len, -1};
    for (size_t u = 0; u < t->n_udef; u++) {
        int32_t id = t->udef[u];
        const char *tx = t->text[id];
        size_t tl = t->len[id];
        for (size_t i = 0; i < n; i++) {
            if (f[i].id >= 0) continue;
            const char *p = memmem(s + f[i].off, f[i].len, tx, tl);
            if (!p) continue;
            if (n + 2 > cap) {
                frag *g = realloc(f, 2 * cap * sizeof *f);
                if (!g) {
                    free(f);
                    return wk_err_set(err, WK_E_NOMEM, "out of memory");
                }
                f = g;
                cap *= 2;
            }
            size_t at = (size_t)(p - s), end = f[i].off + f[i].len;
            frag left = {f[i].off, at - f[i].off, -1}, right = {at + tl, end - at - tl, -1};
            size_t add = (left.len > 0) + (right.len > 0);
            memmove(f + i + 1 + add, f + i + 1, (n - i - 1) * sizeof *f);
            size_t k = i;
            if (left.len) f[k++] = left;
            f[k++] = (frag){at, tl, id};
            if (right.len) f[k] = right;
            n += add;
            i = k - 1;   /* the loop's i++ moves to the right part */
        }
    }
    *fr = f;
    *nf = n;
    return 0;
}

int wk_tok_encode(const wk_tok *t, const char *text, size_t len, int add_bos, int32_t **ids, size_t *n,
                  wk_err *err)
{
    *ids = NULL;
    *n = 0;
    size_t bad = wk_utf8_check(text, len), cap = 0, nf = 0;
    WK_FAIL_IF(bad != WK_UTF8_OK, err, WK_E_FORMAT, "text: byte %zu: invalid UTF-8", bad);
    WK_FAIL_IF(len > (size_t)INT32_MAX / 4, err, WK_E_LIMIT, "text: %zu bytes (at most %d at a time)", len,
               INT32_MAX / 4);
    int32_t *out = NULL;
    frag *f = NULL;
    int rc = -1;
    if (add_bos) {
        WK_FAIL_GOTO(t->bos < 0, done, err, WK_E_USAGE, "the vocabulary has no BOS token");
        WK_TRY_GOTO(wk_tok_push(&out, n, &cap, t->bos, err), done);
    }
    if (len) WK_TRY_GOTO(partition(t, text, len, &f, &nf, err), done);
    int prev_special = 1;   /* SPM: a space before the first text and after a token */
    for (size_t i = 0; i < nf; i++) {
        if (f[i].id >= 0) {
            WK_TRY_GOTO(wk_tok_push(&out, n, &cap, f[i].id, err), done);
            prev_special = 1;
        } else if (t->kind == WK_TOK_SPM) {
            WK_TRY_GOTO(wk_tok_spm_fragment(t, text + f[i].off, f[i].len, t->add_space_prefix && prev_special,
                                            &out, n, &cap, err), done);
            prev_special = 0;
        } else {
            WK_TRY_GOTO(wk_tok_bpe_fragment(t, text + f[i].off, f[i].len, &out, n, &cap, err), done);
        }
    }
    rc = 0;
done:
    free(f);
    if (rc) {
        free(out);
        *n = 0;
    } else {
        *ids = out;
    }
    return rc;
}
