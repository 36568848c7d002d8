/* wk_pack_gguf.c — split, merge and metadata edits of GGUF files (see
 * wk_pack_gguf.h). */
#include "wk_pack_gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wk_buf.h"
#include "wk_gguf_llama.h"
#include "wk_gguf_split.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_utf8.h"

#define TEMPLATE_MAX (1u << 20)

/* ---- parsing edits ----------------------------------------------------------------- */

/* The edit for key (replacing an earlier one of the same key), zeroed but for key. */
static wk_pack_edit *edit_for(wk_pack_edits *es, const char *key, size_t klen, wk_err *err)
{
    for (size_t i = 0; i < es->n; i++)
        if (strlen(es->e[i].key) == klen && memcmp(es->e[i].key, key, klen) == 0) {
            wk_pack_edit *e = &es->e[i];
            free(e->str);
            free(e->arr);
            char *k = e->key;
            memset(e, 0, sizeof *e);
            e->key = k;
            return e;
        }
    wk_pack_edit *n = realloc(es->e, (es->n + 1) * sizeof *n);
    if (!n) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    es->e = n;
    wk_pack_edit *e = &es->e[es->n];
    memset(e, 0, sizeof *e);
    if (!(e->key = strndup(key, klen))) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    es->n++;
    return e;
}

/* One scalar of type t from s (the whole string) into *bits. */
static int parse_scalar(wk_gguf_type t, const char *s, uint64_t *bits)
{
    char *end = NULL;
    errno = 0;
    if (!*s) return -1;
    if (t == WK_GGUF_BOOL) {
        if (!strcmp(s, "true") || !strcmp(s, "1")) *bits = 1;
        else if (!strcmp(s, "false") || !strcmp(s, "0")) *bits = 0;
        else return -1;
        return 0;
    }
    if (t == WK_GGUF_FLOAT32 || t == WK_GGUF_FLOAT64) {
        double d = strtod(s, &end);
        if (*end || errno == ERANGE || isnan(d) || isinf(d)) return -1;
        if (t == WK_GGUF_FLOAT64) {
            memcpy(bits, &d, 8);
        } else {
            if (fabs(d) > 3.4028234663852886e38) return -1;
            float f = (float)d;
            uint32_t u;
            memcpy(&u, &f, 4);
            *bits = u;
        }
        return 0;
    }
    int is_signed = t == WK_GGUF_INT8 || t == WK_GGUF_INT16 || t == WK_GGUF_INT32 || t == WK_GGUF_INT64;
    size_t sz = wk_gguf_type_size(t);
    if (is_signed) {
        long long v = strtoll(s, &end, 0);
        int64_t lim = sz == 8 ? INT64_MAX : (int64_t)((1ull << (8 * sz - 1)) - 1);
        if (*end || errno == ERANGE || v > lim || v < -lim - 1) return -1;
        *bits = sz == 8 ? (uint64_t)v : (uint64_t)v & ((1ull << (8 * sz)) - 1);
    } else {
        if (s[0] == '-') return -1;
        unsigned long long v = strtoull(s, &end, 0);
        if (*end || errno == ERANGE || (sz < 8 && v >= (1ull << (8 * sz)))) return -1;
        *bits = v;
    }
    return 0;
}

/* Comma-separated values of type t into e->arr / e->n. */
static int parse_array(wk_pack_edit *e, wk_gguf_type t, const char *s)
{
    size_t sz = wk_gguf_type_size(t), cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    if (!*s) cap = 0;
    if (!(e->arr = malloc(cap * sz + 1))) return -1;
    e->n = 0;
    while (cap && e->n < cap) {
        const char *c = strchr(s, ',');
        size_t l = c ? (size_t)(c - s) : strlen(s);
        char one[128];
        uint64_t bits;
        if (l >= sizeof one) return -1;
        memcpy(one, s, l);
        one[l] = 0;
        if (parse_scalar(t, one, &bits)) return -1;
        for (size_t b = 0; b < sz; b++) e->arr[e->n * sz + b] = (uint8_t)(bits >> (8 * b));
        e->n++;
        s = c ? c + 1 : s + l;
    }
    e->arr_type = t;
    e->type = WK_GGUF_ARRAY;
    return 0;
}

/* "u8".."f64", "bool", "str"/"string"; -1 otherwise (arrays not here). */
static int value_type(const char *name, size_t n)
{
    char b[16];
    if (n >= sizeof b) return -1;
    memcpy(b, name, n);
    b[n] = 0;
    if (!strcmp(b, "str")) return WK_GGUF_STRING;
    int t = wk_gguf_type_from_name(b);
    return t == WK_GGUF_ARRAY ? -1 : t;
}

int wk_pack_edit_set(wk_pack_edits *es, const char *arg, wk_err *err)
{
    const char *eq = strchr(arg, '='), *colon = eq ? strchr(eq + 1, ':') : NULL;
    WK_FAIL_IF(!eq || eq == arg || !colon, err, WK_E_USAGE, "--set %s: expected KEY=TYPE:VALUE "
               "(TYPE: u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str arr[T])", arg);
    const char *tn = eq + 1, *val = colon + 1;
    size_t tl = (size_t)(colon - tn);
    int arr = tl > 5 && !memcmp(tn, "arr[", 4) && tn[tl - 1] == ']';
    int t = arr ? value_type(tn + 4, tl - 5) : value_type(tn, tl);
    WK_FAIL_IF(t < 0 || (arr && t == WK_GGUF_STRING), err, WK_E_USAGE, "--set %s: unknown type \"%.*s\" "
               "(u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str, or arr[T] of those but str)", arg, (int)tl, tn);
    WK_FAIL_IF(wk_utf8_check(arg, (size_t)(eq - arg)) != WK_UTF8_OK, err, WK_E_USAGE, "--set: key is not UTF-8");
    wk_pack_edit *e = edit_for(es, arg, (size_t)(eq - arg), err);
    if (!e) return -1;
    int bad;
    if (arr) {
        bad = parse_array(e, (wk_gguf_type)t, val);
    } else if (t == WK_GGUF_STRING) {
        e->type = WK_GGUF_STRING;
        e->len = strlen(val);
        bad = !(e->str = strdup(val)) || wk_utf8_check(val, e->len) != WK_UTF8_OK;
    } else {
        e->type = (wk_gguf_type)t;
        bad = parse_scalar(e->type, val, &e->bits);
    }
    WK_FAIL_IF(bad, err, WK_E_USAGE, "--set %s: \"%s\" is not a valid %.*s value%s", arg, val, (int)tl, tn,
               t == WK_GGUF_STRING ? " (UTF-8)" : " (or out of range)");
    return 0;
}

int wk_pack_edit_remove(wk_pack_edits *es, const char *key, wk_err *err)
{
    wk_pack_edit *e = edit_for(es, key, strlen(key), err);
    if (!e) return -1;
    e->remove = 1;
    return 0;
}

int wk_pack_edit_chat_template(wk_pack_edits *es, const char *spec, wk_err *err)
{
    wk_map m = {0};
    const char *text;
    size_t len;
    if (!strcmp(spec, "metharme")) {
        text = wk_gl_chat_template_metharme();
        len = strlen(text);
    } else {
        WK_TRY(wk_map_open(&m, spec, err));
        text = m.data ? (const char *)m.data : "";
        len = m.size;
    }
    int rc = -1;
    WK_FAIL_GOTO(len > TEMPLATE_MAX, done, err, WK_E_LIMIT, "%s: a chat template larger than 1 MiB", spec);
    WK_FAIL_GOTO(wk_utf8_check(text, len) != WK_UTF8_OK, done, err, WK_E_FORMAT, "%s: the chat template is "
                 "not UTF-8", spec);
    wk_pack_edit *e = edit_for(es, "tokenizer.chat_template", 23, err);
    if (!e) goto done;
    e->type = WK_GGUF_STRING;
    e->len = len;
    WK_FAIL_GOTO(!(e->str = malloc(len + 1)), done, err, WK_E_NOMEM, "out of memory");
    memcpy(e->str, text, len);
    e->str[len] = 0;
    rc = 0;
done:
    wk_map_close(&m);
    return rc;
}

static const char *const k_special[] = {"bos", "eos", "eot", "eom", "unk", "sep", "pad", "cls", "mask",
                                        "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"};

int wk_pack_edit_special(wk_pack_edits *es, const char *arg, wk_err *err)
{
    const char *eq = strchr(arg, '=');
    size_t nl = eq ? (size_t)(eq - arg) : 0, which = sizeof k_special / sizeof *k_special;
    for (size_t i = 0; eq && i < sizeof k_special / sizeof *k_special; i++)
        if (strlen(k_special[i]) == nl && !memcmp(arg, k_special[i], nl)) which = i;
    WK_FAIL_IF(which == sizeof k_special / sizeof *k_special, err, WK_E_USAGE, "--special-token %s: expected "
               "NAME=ID with NAME one of bos eos eot eom unk sep pad cls mask fim_pre fim_suf fim_mid "
               "fim_pad fim_rep fim_sep", arg);
    /* llama.cpp's key names (sic: "seperator", "unknown", "padding") */
    const char *key = which == 4 ? "unknown" : which == 5 ? "seperator" : which == 6 ? "padding" : k_special[which];
    char full[64];
    snprintf(full, sizeof full, "tokenizer.ggml.%s_token_id", key);
    uint64_t id;
    WK_FAIL_IF(parse_scalar(WK_GGUF_UINT32, eq + 1, &id), err, WK_E_USAGE, "--special-token %s: \"%s\" is "
               "not a token id (0 .. 2^32-1)", arg, eq + 1);
    wk_pack_edit *e = edit_for(es, full, strlen(full), err);
    if (!e) return -1;
    e->type = WK_GGUF_UINT32;
    e->bits = id;
    e->token_id = 1;
    return 0;
}

void wk_pack_edits_free(wk_pack_edits *es)
{
    for (size_t i = 0; i < es->n; i++) {
        free(es->e[i].key);
        free(es->e[i].str);
        free(es->e[i].arr);
    }
    free(es->e);
    es->e = NULL;
    es->n = 0;
}

/* ---- applying edits ----------------------------------------------------------------- */

static const wk_pack_edit *find_edit(const wk_pack_edits *es, const char *key)
{
    for (size_t i = 0; es && i < es->n; i++)
        if (!strcmp(es->e[i].key, key)) return &es->e[i];
    return NULL;
}

/* "u32", "arr[u32]" into b (32 bytes), as --set spells types. */
static const char *type_desc(char *b, wk_gguf_type t, wk_gguf_type at)
{
    if (t == WK_GGUF_ARRAY) snprintf(b, 32, "arr[%s]", at == WK_GGUF_STRING ? "str" : wk_gguf_type_name(at));
    else snprintf(b, 32, "%s", t == WK_GGUF_STRING ? "str" : wk_gguf_type_name(t));
    return b;
}

/* Every edit against g before anything is written: --remove of a key g lacks,
 * keys that define the layout, a type change without es->retype, token ids
 * past the vocabulary. */
static int check_edits(const wk_gguf *g, const wk_pack_edits *es, wk_err *err)
{
    const char *p = wk_gguf_path(g);
    for (size_t i = 0; es && i < es->n; i++) {
        const wk_pack_edit *e = &es->e[i];
        long k = wk_gguf_find_key(g, e->key);
        WK_FAIL_IF(wk_gguf_is_split_key(e->key) || !strcmp(e->key, "general.alignment"), err, WK_E_USAGE,
                   "%s: key \"%s\" describes the file layout and cannot be edited (split with "
                   "--split-max-*, align with --alignment when packing)", p, e->key);
        WK_FAIL_IF(e->remove && k < 0, err, WK_E_USAGE, "%s: --remove %s: no such key", p, e->key);
        if (e->remove || k < 0) continue;
        const wk_gguf_kv *kv = wk_gguf_kv_at(g, (size_t)k);
        char had[32], want[32];
        int same = kv->type == e->type && (kv->type != WK_GGUF_ARRAY || kv->arr_type == e->arr_type);
        WK_FAIL_IF(!same && !es->retype, err, WK_E_USAGE, "%s: key \"%s\" has type %s, not %s (change its "
                   "type with --allow-type-change)", p, e->key, type_desc(had, kv->type, kv->arr_type),
                   type_desc(want, e->type, e->arr_type));
    }
    for (size_t i = 0; es && i < es->n; i++) {
        const wk_pack_edit *e = &es->e[i];
        if (!e->token_id) continue;
        long k = wk_gguf_find_key(g, "tokenizer.ggml.tokens");
        const wk_gguf_kv *kv = k < 0 ? NULL : wk_gguf_kv_at(g, (size_t)k);
        WK_FAIL_IF(!kv || kv->type != WK_GGUF_ARRAY, err, WK_E_FORMAT, "%s: no tokenizer.ggml.tokens array to "
                   "check %s against", p, e->key);
        WK_FAIL_IF(e->bits >= kv->n, err, WK_E_USAGE, "%s: %s = %llu is past the vocabulary (%llu tokens)", p,
                   e->key, (unsigned long long)e->bits, (unsigned long long)kv->n);
    }
    return 0;
}

static int add_edit(wk_ggufw *w, const wk_pack_edit *e, wk_err *err)
{
    if (e->type == WK_GGUF_STRING) return wk_ggufw_kv_str(w, e->key, e->str, e->len, err);
    if (e->type == WK_GGUF_ARRAY) return wk_ggufw_kv_arr(w, e->key, e->arr_type, e->arr, e->n, err);
    return wk_ggufw_kv_scalar(w, e->key, e->type, e->bits, err);
}

/* g's KVs with es applied into w: edited keys stay where they were, new ones
 * come last in the order given; split keys are dropped unless keep_split. */
static int put_kvs(wk_ggufw *w, const wk_gguf *g, const wk_pack_edits *es, int keep_split, wk_err *err)
{
    for (size_t i = 0; i < wk_gguf_kv_count(g); i++) {
        const wk_gguf_kv *kv = wk_gguf_kv_at(g, i);
        const wk_pack_edit *e = find_edit(es, kv->key);
        if (!keep_split && wk_gguf_is_split_key(kv->key)) continue;
        if (e && e->remove) continue;
        WK_TRY(e ? add_edit(w, e, err) : wk_ggufw_kv_copy(w, g, i, err));
    }
    for (size_t i = 0; es && i < es->n; i++)
        if (!es->e[i].remove && wk_gguf_find_key(g, es->e[i].key) < 0) WK_TRY(add_edit(w, &es->e[i], err));
    return 0;
}

/* ---- planning the parts ---------------------------------------------------------------- */

static uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* --keep-split: the part of ref holding tensor i of src. */
static int part_in(const wk_source *ref, const wk_source *src, size_t i, size_t *part, wk_err *err)
{
    const char *name = wk_source_tensor_at(src, i)->name;
    long j = wk_source_find(ref, name);
    WK_FAIL_IF(j < 0, err, WK_E_UNSUPPORTED, "%s: --keep-split: tensor \"%s\" is not in %s", wk_source_path(src),
               name, wk_source_path(ref));
    *part = wk_source_tensor_at(ref, (size_t)j)->file;
    return 0;
}

/* starts[k] = first tensor of part k; *np parts (starts has n + 1 slots). */
static int layout(const wk_pack_gguf_opts *o, const wk_source *src, uint32_t align, size_t *starts, size_t *np,
                  wk_err *err)
{
    size_t n = wk_source_count(src), k = 0, prev = 0, pk = 0;
    const wk_source *ref = o->layout_src ? o->layout_src : src;
    uint64_t cur = 0;
    starts[k++] = 0;
    for (size_t i = 0; i < n; i++) {
        const wk_source_tensor *t = wk_source_tensor_at(src, i);
        uint64_t b = pad_to(t->nbytes, align);
        int cut = 0;
        if (o->keep_split) {
            WK_TRY(part_in(ref, src, i, &pk, err));
            WK_FAIL_IF(pk < prev, err, WK_E_UNSUPPORTED, "%s: --keep-split: tensor \"%s\" comes after tensors "
                       "of a later part of %s", wk_source_path(src), t->name, wk_source_path(ref));
            cut = i > 0 && pk != prev;
            prev = pk;
        }
        else if (o->split_max_tensors) cut = i > 0 && i % o->split_max_tensors == 0;
        else if (o->split_max_size) cut = i > 0 && cur + b > o->split_max_size;   /* llama.cpp: data bytes only */
        if (cut) {
            starts[k++] = i;
            cur = 0;
        }
        cur += b;
    }
    *np = k;
    starts[k] = n;
    WK_FAIL_IF(k > WK_GGUF_SPLIT_MAX_PARTS, err, WK_E_LIMIT, "%s: %zu parts; at most %d can be written at "
               "once (raise --split-max-size / --split-max-tensors)", o->output, k, WK_GGUF_SPLIT_MAX_PARTS);
    WK_FAIL_IF(n > INT32_MAX, err, WK_E_LIMIT, "%s: %zu tensors (split.tensors.count is an i32)", o->output, n);
    return 0;
}

/* weightkit.split.set of the set written from src (wk_gguf_split.h). */
static int set_id(const wk_source *src, char hex[17], wk_err *err)
{
    wk_hash *h = wk_hash_create(WK_HASH_XXH3_64, err);
    if (!h) return -1;
    for (size_t i = 0; i < wk_source_count(src); i++) {
        const wk_source_tensor *t = wk_source_tensor_at(src, i);
        int64_t v[2 + WK_MAX_DIMS] = {t->ggml_type, t->ndim};
        for (int d = 0; d < t->ndim; d++) v[2 + d] = t->shape[d];
        wk_hash_update(h, t->name, strlen(t->name) + 1, NULL);
        wk_hash_update(h, v, sizeof v, NULL);
    }
    const wk_gguf *g = wk_source_gguf(src);
    long k = wk_gguf_find_key(g, WK_GGUF_KEY_DIGESTS);
    if (k >= 0) wk_hash_update(h, wk_gguf_kv_at(g, (size_t)k)->value, wk_gguf_kv_at(g, (size_t)k)->value_len, NULL);
    uint8_t d[WK_HASH_MAX_DIGEST];
    int rc = wk_hash_digest(h, d, err);
    wk_hash_free(h);
    if (!rc) wk_hex(d, 8, hex);
    return rc;
}

/* The header plan of part k of np (tensors t0..t1). */
static wk_ggufw *plan_part(const wk_source *src, const wk_pack_edits *es, size_t k, size_t np, size_t t0,
                           size_t t1, const char *id, wk_err *err)
{
    const wk_gguf *g = wk_source_gguf(src);
    wk_ggufw *w = wk_ggufw_new(wk_gguf_alignment(g), err);
    if (!w) return NULL;
    int rc = -1;
    if (k == 0) WK_TRY_GOTO(put_kvs(w, g, es, 0, err), done);
    if (np > 1) {
        WK_TRY_GOTO(wk_ggufw_kv_scalar(w, WK_GGUF_KEY_SPLIT_NO, WK_GGUF_UINT16, k, err), done);
        WK_TRY_GOTO(wk_ggufw_kv_scalar(w, WK_GGUF_KEY_SPLIT_COUNT, WK_GGUF_UINT16, np, err), done);
        WK_TRY_GOTO(wk_ggufw_kv_i32(w, WK_GGUF_KEY_SPLIT_TENSORS, (int32_t)wk_source_count(src), err), done);
        WK_TRY_GOTO(wk_ggufw_kv_str(w, WK_GGUF_KEY_SPLIT_SET, id, 16, err), done);
    }
    long al = wk_gguf_find_key(g, "general.alignment");
    if (k > 0 && al >= 0) WK_TRY_GOTO(wk_ggufw_kv_copy(w, g, (size_t)al, err), done);
    for (size_t i = t0; i < t1; i++) {
        const wk_source_tensor *t = wk_source_tensor_at(src, i);
        int64_t ne[WK_GGUF_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) ne[d] = t->shape[t->ndim - 1 - d];
        if (wk_ggufw_add_tensor(w, t->name, t->ggml_type, t->ndim, ne, err) < 0) goto done;
    }
    rc = 0;
done:
    if (rc) {
        wk_ggufw_free(w);
        return NULL;
    }
    return w;
}

/* ---- writing ------------------------------------------------------------------------- */

typedef struct {
    char *path;
    wk_ggufw *w;
    wk_out *out;
} part;

/* Write part p's header and tensors t0..t1 of src through a kernel-copying sink. */
static int write_part(part *p, const wk_source *src, size_t t0, size_t t1, const wk_pack_gguf_opts *o,
                      uint64_t *done, uint64_t total, wk_err *err)
{
    wk_source_out *c = wk_source_out_new(src, p->out, err);
    if (!c) return -1;
    int rc = -1;
    uint8_t *scratch = NULL;
    size_t cap = 0;
    WK_TRY_GOTO(wk_ggufw_begin(p->w, wk_source_out_sink(c), err), out);
    for (size_t i = t0; i < t1; i++) {
        const wk_source_tensor *t = wk_source_tensor_at(src, i);
        const uint8_t *b = wk_source_get(src, i, &scratch, &cap, err);
        if (!b) goto out;
        WK_TRY_GOTO(wk_ggufw_write(p->w, b, (size_t)t->nbytes, err), out);
        wk_map_release(b, t->nbytes);   /* a view: its pages leave the resident set (docs/pack.md) */
        *done += t->nbytes;
        if (o->progress) o->progress(o->progress_ctx, *done, total);
    }
    WK_TRY_GOTO(wk_ggufw_finish(p->w, err), out);
    rc = 0;
out:
    free(scratch);
    wk_source_out_free(c);
    return rc;
}

/* Rename every part into place, in order; if one fails, the ones already
 * renamed are removed again. */
static int commit_all(part *ps, size_t np, wk_err *err)
{
    for (size_t k = 0; k < np; k++) {
        int rc = wk_out_commit(ps[k].out, err);
        ps[k].out = NULL;
        if (rc) {
            for (size_t j = 0; j < k; j++) unlink(ps[j].path);
            if (k) wk_err_prefix(err, "the %zu part(s) renamed before were removed again", k);
            return -1;
        }
    }
    return 0;
}

static char *part_path(const char *output, size_t k, size_t np)
{
    if (np == 1) return strdup(output);
    size_t l = strlen(output);
    char *prefix = strndup(output, l > 5 && !strcmp(output + l - 5, ".gguf") ? l - 5 : l);
    char *p = prefix ? wk_gguf_split_path(prefix, (unsigned)k, (unsigned)np) : NULL;
    free(prefix);
    return p;
}

int wk_pack_gguf_run(const wk_pack_gguf_opts *o, const wk_source *src, wk_pack_gguf_result *r, wk_err *err)
{
    memset(r, 0, sizeof *r);
    const wk_gguf *g = wk_source_gguf(src);
    WK_FAIL_IF(!g, err, WK_E_USAGE, "%s: not a GGUF input", wk_source_path(src));
    WK_TRY(check_edits(g, o->edits, err));
    size_t n = wk_source_count(src), np = 0, *starts = malloc((n + 2) * sizeof *starts);
    WK_FAIL_IF(!starts, err, WK_E_NOMEM, "out of memory");
    part *ps = NULL;
    int rc = -1;
    WK_TRY_GOTO(layout(o, src, wk_gguf_alignment(g), starts, &np, err), done);
    WK_FAIL_GOTO(!(ps = calloc(np, sizeof *ps)), done, err, WK_E_NOMEM, "out of memory");
    uint64_t total = 0, written = 0;
    char id[17] = "";
    if (np > 1) WK_TRY_GOTO(set_id(src, id, err), done);
    for (size_t i = 0; i < n; i++) total += wk_source_tensor_at(src, i)->nbytes;
    for (size_t k = 0; k < np; k++) {
        WK_FAIL_GOTO(!(ps[k].path = part_path(o->output, k, np)), done, err, WK_E_NOMEM, "out of memory");
        if (!(ps[k].w = plan_part(src, o->edits, k, np, starts[k], starts[k + 1], id, err))) goto done;
        r->bytes += wk_ggufw_total_size(ps[k].w);
    }
    for (size_t k = 0; k < np; k++) {
        /* a part's temporary left by a killed run (wk-pack sweeps OUTPUT's own) */
        WK_TRY_GOTO(wk_io_sweep_stale(ps[k].path, NULL, NULL, err), done);
        if (!(ps[k].out = wk_out_open(ps[k].path, wk_source_inputs(src), err))) goto done;
        WK_TRY_GOTO(write_part(&ps[k], src, starts[k], starts[k + 1], o, &written, total, err), done);
    }
    WK_TRY_GOTO(commit_all(ps, np, err), done);
    r->parts = np;
    r->tensors = n;
    rc = 0;
done:
    for (size_t k = 0; ps && k < np; k++) {
        wk_out_abort(ps[k].out);
        wk_ggufw_free(ps[k].w);
        free(ps[k].path);
    }
    free(ps);
    free(starts);
    return rc;
}

/* ---- in place ------------------------------------------------------------------------- */

/* The new header of g (its KVs edited, its own tensors) in *h. */
static int new_header(const wk_gguf *g, const wk_pack_edits *es, wk_buf *h, wk_err *err)
{
    wk_ggufw *w = wk_ggufw_new(wk_gguf_alignment(g), err);
    if (!w) return -1;
    int rc = -1;
    WK_TRY_GOTO(put_kvs(w, g, es, 1, err), done);
    for (size_t i = 0; i < wk_gguf_tensor_count(g); i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        if (wk_ggufw_add_tensor(w, t->name, t->type, (int)t->n_dims, t->ne, err) < 0) goto done;
    }
    uint64_t hs = wk_ggufw_header_size(w), old = wk_gguf_data_offset(g), a = wk_gguf_alignment(g);
    WK_FAIL_GOTO(hs != old, done, err, WK_E_UNSUPPORTED, "%s: --in-place: the new header needs %llu bytes "
                 "(with padding to %llu), the old one has %llu: it does not fit the old header's padding; "
                 "write a new file instead (drop --in-place)", wk_gguf_path(g),
                 (unsigned long long)hs, (unsigned long long)a, (unsigned long long)old);
    WK_TRY_GOTO(wk_ggufw_begin(w, wk_sink_buf(h), err), done);
    WK_TRY_GOTO(wk_buf_check(h, err), done);
    WK_FAIL_GOTO(h->len != old, done, err, WK_E_INTERNAL, "%s: header %zu bytes, planned %llu", wk_gguf_path(g),
                 h->len, (unsigned long long)old);
    rc = 0;
done:
    wk_ggufw_free(w);
    return rc;
}

/* One pwrite of h at offset 0 of path (the same file as st), then fsync. */
static int write_header(const char *path, const struct stat *st, const wk_buf *h, wk_err *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    WK_FAIL_IF(fd < 0, err, WK_E_IO, "open %s for writing: %s", path, strerror(errno));
    struct stat now;
    int rc = -1;
    WK_FAIL_GOTO(fstat(fd, &now) || now.st_dev != st->st_dev || now.st_ino != st->st_ino ||
                 now.st_size != st->st_size || now.st_mtime != st->st_mtime, done, err, WK_E_IO,
                 "%s: changed while being edited; nothing written", path);
    ssize_t w = pwrite(fd, h->data, h->len, 0);
    WK_FAIL_GOTO(w != (ssize_t)h->len, done, err, WK_E_IO, "%s: writing the header: %s (the file may now be "
                 "damaged)", path, w < 0 ? strerror(errno) : "short write");
    WK_FAIL_GOTO(fsync(fd), done, err, WK_E_IO, "%s: fsync: %s", path, strerror(errno));
    rc = 0;
done:
    close(fd);
    return rc;
}

int wk_pack_gguf_in_place(const char *path, const wk_pack_edits *es, char **first, wk_err *err)
{
    wk_gguf **parts;
    size_t np;
    *first = NULL;
    WK_TRY(wk_gguf_split_open(path, &parts, &np, err));
    wk_buf h;
    wk_buf_init(&h);
    struct stat st;
    int rc = -1;
    const char *p0 = wk_gguf_path(parts[0]);
    WK_FAIL_GOTO(!(*first = strdup(p0)), done, err, WK_E_NOMEM, "out of memory");
    WK_FAIL_GOTO(lstat(p0, &st) || !S_ISREG(st.st_mode), done, err, WK_E_UNSAFE, "%s: --in-place edits only "
                 "a regular file (not a symbolic link)", p0);
    WK_TRY_GOTO(check_edits(parts[0], es, err), done);
    WK_TRY_GOTO(new_header(parts[0], es, &h, err), done);
    for (size_t k = 0; k < np; k++) wk_gguf_close(parts[k]);
    np = 0;
    rc = write_header(*first, &st, &h, err);
done:
    for (size_t k = 0; k < np; k++) wk_gguf_close(parts[k]);
    free(parts);
    wk_buf_free(&h);
    return rc;
}
