/* wk_bpejson.c — byte-level BPE tokenizer.json reader; see wk_bpejson.h and
 * docs/formats/tokenizer-json-bpe.md. */
#include "wk_bpejson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_io.h"
#include "wk_json.h"
#include "wk_strmap.h"
#include "wk_utf8.h"

#define BJ_MAX_BYTES (256u << 20)
#define BJ_MAX_TOKENS (1u << 24)

/* Parse len bytes (label names them in messages); NULL with *err on failure. */
static wk_json *parse(const void *data, size_t len, const char *label, wk_err *err)
{
    if (len > BJ_MAX_BYTES) {
        wk_err_set(err, WK_E_LIMIT, "%s: larger than %u MiB", label, BJ_MAX_BYTES >> 20);
        return NULL;
    }
    wk_json_read_opts o = wk_json_read_defaults();
    o.max_values = 64u << 20;   /* a 150k-token vocabulary with 150k merge pairs */
    wk_json *root = wk_json_parse(data, len, &o, err);
    if (!root) wk_err_prefix(err, "%s: does not parse", label);
    return root;
}

/* Map and parse path; *root NULL on failure (then the map is closed). */
static int load(const char *path, wk_map *map, wk_json **root, wk_err *err)
{
    WK_TRY(wk_map_open(map, path, err));
    if (!(*root = parse(map->data, map->size, path, err))) {
        wk_map_close(map);
        return -1;
    }
    return 0;
}

/* The type string of an object (NULL if it has none). */
static const char *type_of(const wk_json *o)
{
    const char *t;
    return wk_json_type_of(o) == WK_JSON_OBJECT && !wk_json_get_string(o, "type", &t, NULL, NULL) ? t : NULL;
}

/* 1 if the pre_tokenizer is, or is a Sequence holding, a ByteLevel. */
static int has_bytelevel(const wk_json *pt)
{
    const char *t = type_of(pt);
    if (t && !strcmp(t, "ByteLevel")) return 1;
    const wk_json *l = t && !strcmp(t, "Sequence") ? wk_json_get(pt, "pretokenizers") : NULL;
    for (size_t i = 0; i < wk_json_len(l); i++)
        if ((t = type_of(wk_json_at(l, i))) && !strcmp(t, "ByteLevel")) return 1;
    return 0;
}

/* The model object and its type, checked to be "BPE". */
static int bpe_model(const wk_json *root, const char *path, const wk_json **model, wk_err *err)
{
    const char *t;
    WK_FAIL_IF(wk_json_type_of(root) != WK_JSON_OBJECT, err, WK_E_FORMAT, "%s: not a JSON object", path);
    *model = wk_json_get(root, "model");
    WK_FAIL_IF(wk_json_type_of(*model) != WK_JSON_OBJECT, err, WK_E_FORMAT,
               "%s: field \"model\": missing or not an object", path);
    WK_FAIL_IF(wk_json_get_string(*model, "type", &t, NULL, NULL), err, WK_E_FORMAT,
               "%s: field \"model.type\": missing or not a string", path);
    WK_FAIL_IF(strcmp(t, "BPE") != 0, err, WK_E_UNSUPPORTED, "%s: field \"model.type\" is \"%.40s\": "
               "only BPE models are read (a SentencePiece-style BPE with byte_fallback, or a "
               "byte-level BPE)", path, t);
    return 0;
}

/* o[key] as a boolean: absent or null gives def; another type is an error. */
static int opt_bool(const wk_json *o, const char *key, int def, int *v, const char *path,
                    const char *field, wk_err *err)
{
    const wk_json *j = wk_json_get(o, key);
    *v = def;
    if (!j || wk_json_type_of(j) == WK_JSON_NULL) return 0;
    WK_FAIL_IF(wk_json_as_bool(j, v, NULL), err, WK_E_FORMAT, "%s: field \"%s\": not a boolean",
               path, field);
    return 0;
}

int wk_bpej_probe(const char *path, wk_bpej_kind *kind, wk_err *err)
{
    wk_map map;
    wk_json *root;
    WK_TRY(load(path, &map, &root, err));
    const wk_json *model;
    int bf = 0, rc = -1;
    WK_TRY_GOTO(bpe_model(root, path, &model, err), done);
    WK_TRY_GOTO(opt_bool(model, "byte_fallback", 0, &bf, path, "model.byte_fallback", err), done);
    if (bf) *kind = WK_BPEJ_SPM;
    else if (has_bytelevel(wk_json_get(root, "pre_tokenizer"))) *kind = WK_BPEJ_BYTELEVEL;
    else WK_FAIL_GOTO(1, done, err, WK_E_UNSUPPORTED, "%s: field \"model.byte_fallback\" is not true "
                      "and \"pre_tokenizer\" has no ByteLevel step: neither a SentencePiece-style "
                      "nor a byte-level BPE", path);
    rc = 0;
done:
    wk_json_free(root);
    wk_map_close(&map);
    return rc;
}

/* ---- the parts that change the result ---------------------------------------- */

/* model: no dropout, no subword prefix / suffix; ignore_merges read. */
static int check_model(const wk_json *model, const char *path, int *ignore_merges, wk_err *err)
{
    static const char *const str_null[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    const wk_json *d = wk_json_get(model, "dropout");
    WK_FAIL_IF(d && wk_json_type_of(d) != WK_JSON_NULL, err, WK_E_UNSUPPORTED,
               "%s: field \"model.dropout\" is set: BPE dropout is not implemented", path);
    for (size_t i = 0; i < 2; i++) {
        const wk_json *j = wk_json_get(model, str_null[i]);
        const char *s;
        size_t n;
        WK_FAIL_IF(j && wk_json_type_of(j) != WK_JSON_NULL &&
                   (wk_json_as_string(j, &s, &n, NULL) || n != 0), err, WK_E_UNSUPPORTED,
                   "%s: field \"model.%s\" is set: not implemented (llama.cpp has no such option)",
                   path, str_null[i]);
    }
    int bf;
    WK_TRY(opt_bool(model, "byte_fallback", 0, &bf, path, "model.byte_fallback", err));
    WK_FAIL_IF(bf, err, WK_E_INTERNAL, "%s: byte_fallback in the byte-level reader", path);
    return opt_bool(model, "ignore_merges", 0, ignore_merges, path, "model.ignore_merges", err);
}

/* normalizer: none, NFC (which llama.cpp does not apply: the same ids on NFC text), or a
 * Sequence of those; anything else refused by name. */
static int check_normalizer(const wk_json *root, const char *path, wk_err *err)
{
    const wk_json *n = wk_json_get(root, "normalizer");
    if (!n || wk_json_type_of(n) == WK_JSON_NULL) return 0;
    const char *t = type_of(n);
    const wk_json *list = t && !strcmp(t, "Sequence") ? wk_json_get(n, "normalizers") : NULL;
    size_t cnt = list ? wk_json_len(list) : 1;
    for (size_t i = 0; i < cnt; i++) {
        const char *e = type_of(list ? wk_json_at(list, i) : n);
        WK_FAIL_IF(!e || strcmp(e, "NFC") != 0, err, WK_E_UNSUPPORTED, "%s: field \"normalizer\": "
                   "%s%.40s%s is not implemented for a byte-level BPE (none or NFC is read)", path,
                   e ? "\"" : "", e ? e : "an entry without a type", e ? "\"" : "");
    }
    return 0;
}

/* One pre-tokenizer step into s; *byte_level set by a ByteLevel (which must be last). */
static int pre_step(const wk_json *e, const char *path, size_t idx, wk_bpej_steps *s, int *byte_level,
                    wk_err *err)
{
    const char *t = type_of(e), *pat = NULL, *beh = NULL;
    int flag = 0;
    WK_FAIL_IF(!t, err, WK_E_FORMAT, "%s: field \"pre_tokenizer\": step %zu has no \"type\"", path, idx);
    WK_FAIL_IF(*byte_level, err, WK_E_UNSUPPORTED, "%s: field \"pre_tokenizer\": step %zu (\"%.40s\") "
               "comes after ByteLevel: not implemented (ByteLevel must be the last step)", path, idx, t);
    WK_FAIL_IF(s->n == WK_BPEJ_MAX_STEPS, err, WK_E_UNSUPPORTED, "%s: field \"pre_tokenizer\": more "
               "than %d steps", path, WK_BPEJ_MAX_STEPS);
    if (!strcmp(t, "Split")) {
        const wk_json *p = wk_json_get(e, "pattern");
        WK_FAIL_IF(wk_json_get_string(p, "Regex", &pat, NULL, NULL), err, WK_E_UNSUPPORTED,
                   "%s: field \"pre_tokenizer\": Split step %zu has no \"pattern\": {\"Regex\": ...} "
                   "(a String pattern is not implemented)", path, idx);
        WK_FAIL_IF(wk_json_get_string(e, "behavior", &beh, NULL, NULL) || strcmp(beh, "Isolated") ||
                   (wk_json_get(e, "invert") && (wk_json_get_bool(e, "invert", &flag, NULL) || flag)),
                   err, WK_E_UNSUPPORTED, "%s: field \"pre_tokenizer\": Split step %zu is not "
                   "behavior \"Isolated\" with invert false: not implemented", path, idx);
        s->step[s->n++] = pat;
    } else if (!strcmp(t, "Digits")) {
        WK_TRY(opt_bool(e, "individual_digits", 0, &flag, path, "pre_tokenizer.individual_digits", err));
        s->step[s->n++] = flag ? "\\p{N}" : "\\p{N}+";
    } else if (!strcmp(t, "ByteLevel")) {
        WK_TRY(opt_bool(e, "add_prefix_space", 1, &flag, path, "pre_tokenizer.add_prefix_space", err));
        WK_FAIL_IF(flag, err, WK_E_UNSUPPORTED, "%s: field \"pre_tokenizer\": ByteLevel "
                   "add_prefix_space is true: llama.cpp adds no prefix space to a BPE text", path);
        WK_TRY(opt_bool(e, "use_regex", 1, &flag, path, "pre_tokenizer.use_regex", err));
        if (flag) s->step[s->n++] = wk_bpej_gpt2_regex;
        *byte_level = 1;
    } else {
        WK_FAIL_IF(1, err, WK_E_UNSUPPORTED, "%s: field \"pre_tokenizer\": step %zu is \"%.40s\": "
                   "not implemented (Split, Digits and ByteLevel are read)", path, idx, t);
    }
    return 0;
}

/* Append s's steps to msg for an error message (each pattern quoted, one per line). */
static void steps_text(const wk_bpej_steps *s, char *msg, size_t cap)
{
    size_t at = 0;
    msg[0] = 0;
    for (size_t i = 0; i < s->n && at < cap; i++) {
        int k = snprintf(msg + at, cap - at, "\n  step %zu: %.300s", i + 1, s->step[i]);
        if (k < 0) break;
        at += (size_t)k;
    }
}

/* The pre_tokenizer's steps, then its llama.cpp name (or the override). */
static int identify_pre(const wk_json *root, const char *path, const char *over, int ignore_merges,
                        const char **name, wk_err *err)
{
    const wk_json *pt = wk_json_get(root, "pre_tokenizer");
    const char *t = type_of(pt);
    const wk_json *list = t && !strcmp(t, "Sequence") ? wk_json_get(pt, "pretokenizers") : NULL;
    WK_FAIL_IF(t && !strcmp(t, "Sequence") && wk_json_type_of(list) != WK_JSON_ARRAY, err,
               WK_E_FORMAT, "%s: field \"pre_tokenizer.pretokenizers\": not an array", path);
    size_t cnt = list ? wk_json_len(list) : 1;
    wk_bpej_steps s = {0};
    int bl = 0;
    for (size_t i = 0; i < cnt; i++)
        WK_TRY(pre_step(list ? wk_json_at(list, i) : pt, path, i, &s, &bl, err));
    WK_FAIL_IF(!bl, err, WK_E_UNSUPPORTED, "%s: field \"pre_tokenizer\": no ByteLevel step", path);
    char names[512], steps[2048];
    wk_bpej_pre_names(names, sizeof names);
    if (over) {
        WK_FAIL_IF(!wk_bpej_pre_known(over), err, WK_E_USAGE, "--pre %.60s: not a known pre-tokenizer "
                   "(known: %s)", over, names);
        *name = over;
        return 0;
    }
    *name = wk_bpej_pre_lookup(&s, ignore_merges);
    steps_text(&s, steps, sizeof steps);
    WK_FAIL_IF(!*name, err, WK_E_UNSUPPORTED, "%s: field \"pre_tokenizer\": these splits (with "
               "model.ignore_merges %s) are not those of any llama.cpp pre-tokenizer we know:%s\n"
               "known: %s (docs/formats/tokenizer-json-bpe.md); if you know better, name one with --pre",
               path, ignore_merges ? "true" : "false", steps, names);
    return 0;
}

/* decoder: ByteLevel, alone or as the only kind of step of a Sequence. */
static int check_decoder(const wk_json *root, const char *path, wk_err *err)
{
    const wk_json *d = wk_json_get(root, "decoder");
    const char *t = type_of(d);
    const wk_json *list = t && !strcmp(t, "Sequence") ? wk_json_get(d, "decoders") : NULL;
    size_t cnt = list ? wk_json_len(list) : 1;
    for (size_t i = 0; i < cnt; i++) {
        const char *e = type_of(list ? wk_json_at(list, i) : d);
        WK_FAIL_IF(!e || strcmp(e, "ByteLevel"), err, WK_E_UNSUPPORTED, "%s: field \"decoder\": "
                   "%s%.40s%s: a byte-level BPE is decoded by ByteLevel (nothing else is read)", path,
                   e ? "\"" : "", e ? e : "missing or without a type", e ? "\"" : "");
    }
    return 0;
}

/* ---- vocabulary ------------------------------------------------------------------ */

/* 1 if the UTF-8 text is made of byte-level alphabet characters only (GPT-2's
 * bytes_to_unicode: U+0021-007E, U+00A1-00AC, U+00AE-00FF, U+0100-0143). */
static int in_alphabet(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = wk_utf8_decode(s + i, n - i, &cp);
        if (!k || !((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0x143)))
            return 0;
        i += k;
    }
    return n > 0;
}

static int grow(wk_bpej *t, size_t n, wk_err *err)
{
    char **tok = realloc(t->tok, n * sizeof *tok);
    if (tok) t->tok = tok;
    size_t *len = realloc(t->len, n * sizeof *len);
    if (len) t->len = len;
    uint8_t *a = realloc(t->added, n), *sp = a ? (t->added = a, realloc(t->special, n)) : NULL;
    if (sp) t->special = sp;
    WK_FAIL_IF(!tok || !len || !a || !sp, err, WK_E_NOMEM, "out of memory");
    for (size_t i = t->n; i < n; i++) {
        t->tok[i] = NULL;
        t->len[i] = 0;
        t->added[i] = t->special[i] = 0;
    }
    t->n = n;
    return 0;
}

/* model.vocab: ids exactly 0..n-1, byte-level texts. */
static int read_vocab(const wk_json *model, const char *path, wk_bpej *t, wk_err *err)
{
    const wk_json *v = wk_json_get(model, "vocab");
    WK_FAIL_IF(wk_json_type_of(v) != WK_JSON_OBJECT, err, WK_E_FORMAT,
               "%s: field \"model.vocab\": missing or not an object", path);
    size_t n = wk_json_len(v);
    WK_FAIL_IF(n < 1 || n > BJ_MAX_TOKENS, err, WK_E_LIMIT,
               "%s: field \"model.vocab\": %zu entries (1 .. %u read)", path, n, BJ_MAX_TOKENS);
    WK_TRY(grow(t, n, err));
    t->n_model = n;
    for (size_t i = 0; i < n; i++) {
        size_t kl;
        const char *k = wk_json_key_at(v, i, &kl);
        int64_t id;
        WK_FAIL_IF(wk_json_as_int(wk_json_value_at(v, i), &id, NULL) || id < 0 || (uint64_t)id >= n,
                   err, WK_E_FORMAT, "%s: field \"model.vocab\": \"%.40s\" has no id in 0..%zu (the "
                   "ids must be exactly 0..n-1)", path, k, n - 1);
        WK_FAIL_IF(t->tok[id], err, WK_E_FORMAT, "%s: field \"model.vocab\": id %lld given twice "
                   "(\"%.40s\" and \"%.40s\")", path, (long long)id, t->tok[id], k);
        WK_FAIL_IF(!in_alphabet(k, kl), err, WK_E_FORMAT, "%s: field \"model.vocab\": token %lld "
                   "\"%.40s\" has characters outside the byte-level alphabet", path, (long long)id, k);
        WK_FAIL_IF(!(t->tok[id] = malloc(kl + 1)), err, WK_E_NOMEM, "out of memory");
        memcpy(t->tok[id], k, kl + 1);
        t->len[id] = kl;
    }
    return 0;
}

/* One added token's fields; options that change matching and that llama.cpp does not
 * have are refused. */
static int added_fields(const wk_json *e, const char *path, size_t i, int64_t *id, const char **c,
                        size_t *cl, int *special, wk_err *err)
{
    static const char *const opts[] = {"single_word", "lstrip", "rstrip"};
    WK_FAIL_IF(wk_json_get_int(e, "id", id, NULL) || *id < 0 ||
               wk_json_get_string(e, "content", c, cl, NULL) || strlen(*c) != *cl || !*cl,
               err, WK_E_FORMAT, "%s: field \"added_tokens[%zu]\": needs an \"id\" >= 0 and a "
               "non-empty \"content\" string without U+0000", path, i);
    WK_TRY(opt_bool(e, "special", 0, special, path, "added_tokens[].special", err));
    for (size_t k = 0; k < 3; k++) {
        int v;
        WK_TRY(opt_bool(e, opts[k], 0, &v, path, "added_tokens[].options", err));
        WK_FAIL_IF(v, err, WK_E_UNSUPPORTED, "%s: field \"added_tokens[%zu].%s\" is true "
                   "(\"%.40s\"): not implemented (llama.cpp matches added tokens exactly)", path, i,
                   opts[k], *c);
    }
    return 0;
}

/* added_tokens: inside the vocab with the same text, or after it (contiguous ids). */
static int read_added(const wk_json *root, const char *path, wk_bpej *t, wk_err *err)
{
    const wk_json *a = wk_json_get(root, "added_tokens");
    if (!a || wk_json_type_of(a) == WK_JSON_NULL) return 0;
    WK_FAIL_IF(wk_json_type_of(a) != WK_JSON_ARRAY, err, WK_E_FORMAT,
               "%s: field \"added_tokens\": not an array", path);
    size_t na = wk_json_len(a), end = t->n_model;
    WK_FAIL_IF(na > BJ_MAX_TOKENS, err, WK_E_LIMIT, "%s: field \"added_tokens\": %zu entries", path, na);
    for (size_t i = 0; i < na; i++) {   /* the highest id sets the size */
        int64_t id;
        if (!wk_json_get_int(wk_json_at(a, i), "id", &id, NULL) && id >= 0 && (uint64_t)id >= end &&
            id < BJ_MAX_TOKENS)
            end = (size_t)id + 1;
    }
    /* ids past the vocabulary must be contiguous: at most one per entry (checked before
     * anything is allocated for them) */
    WK_FAIL_IF(end - t->n_model > na, err, WK_E_FORMAT, "%s: field \"added_tokens\": ids up to %zu "
               "leave a gap after model.vocab's %zu ids (%zu entries)", path, end - 1, t->n_model, na);
    WK_TRY(grow(t, end, err));
    WK_FAIL_IF(na && !(t->added_id = malloc(na * sizeof *t->added_id)), err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < na; i++) {
        int64_t id;
        const char *c;
        size_t cl;
        int special;
        WK_TRY(added_fields(wk_json_at(a, i), path, i, &id, &c, &cl, &special, err));
        WK_FAIL_IF((uint64_t)id >= end, err, WK_E_LIMIT, "%s: field \"added_tokens[%zu]\": id %lld "
                   "beyond %u", path, i, (long long)id, BJ_MAX_TOKENS);
        WK_FAIL_IF(t->added[id], err, WK_E_FORMAT, "%s: field \"added_tokens[%zu]\": id %lld listed "
                   "twice", path, i, (long long)id);
        if ((size_t)id < t->n_model) {
            WK_FAIL_IF(strcmp(t->tok[id], c) != 0, err, WK_E_FORMAT, "%s: field \"added_tokens[%zu]\": "
                       "id %lld is \"%.40s\" in model.vocab, not \"%.40s\"", path, i, (long long)id,
                       t->tok[id], c);
        } else {
            WK_FAIL_IF(!(t->tok[id] = strdup(c)), err, WK_E_NOMEM, "out of memory");
            t->len[id] = cl;
        }
        t->added[id] = 1;
        t->special[id] = (uint8_t)special;
        t->added_id[t->n_added++] = (size_t)id;
    }
    for (size_t i = t->n_model; i < t->n; i++)
        WK_FAIL_IF(!t->tok[i], err, WK_E_FORMAT, "%s: field \"added_tokens\": no token has id %zu "
                   "(ids after model.vocab's %zu must be contiguous up to %zu)", path, i, t->n_model,
                   t->n - 1);
    return 0;
}

/* Every token text once (a GGUF vocabulary maps text -> id). */
static int check_unique(const wk_bpej *t, const char *path, wk_strmap *map, wk_err *err)
{
    for (size_t i = 0; i < t->n; i++) {
        long prev;
        WK_TRY(wk_strmap_add(map, t->tok[i], i, &prev, err));
        WK_FAIL_IF(prev >= 0, err, WK_E_FORMAT, "%s: fields \"model.vocab\" / \"added_tokens\": token "
                   "\"%.40s\" appears twice (ids %ld and %zu)", path, t->tok[i], prev, i);
    }
    return 0;
}

/* One merge's parts: ["a", "b"] or "a b" (exactly one space), copied into buf. */
static int merge_parts(const wk_json *e, char *buf, size_t cap, const char **l, const char **r)
{
    const char *a, *b;
    size_t an, bn;
    if (wk_json_type_of(e) == WK_JSON_ARRAY) {
        if (wk_json_len(e) != 2 || wk_json_as_string(wk_json_at(e, 0), &a, &an, NULL) ||
            wk_json_as_string(wk_json_at(e, 1), &b, &bn, NULL))
            return -1;
    } else {
        const char *s, *sp;
        size_t n;
        if (wk_json_as_string(e, &s, &n, NULL) || !(sp = memchr(s, ' ', n)) || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - s)))
            return -1;
        a = s;
        an = (size_t)(sp - s);
        b = sp + 1;
        bn = n - an - 1;
    }
    if (an + bn + 2 > cap) return -1;
    memcpy(buf, a, an);
    buf[an] = 0;
    memcpy(buf + an + 1, b, bn);
    buf[an + 1 + bn] = 0;
    *l = buf;
    *r = buf + an + 1;
    return 0;
}

/* model.merges: two vocab tokens each, their concatenation a vocab token; kept as "a b". */
static int read_merges(const wk_json *model, const char *path, wk_bpej *t, const wk_strmap *map,
                       wk_err *err)
{
    const wk_json *mg = wk_json_get(model, "merges");
    WK_FAIL_IF(wk_json_type_of(mg) != WK_JSON_ARRAY, err, WK_E_FORMAT,
               "%s: field \"model.merges\": missing or not an array", path);
    size_t n = wk_json_len(mg), maxlen = 0;
    for (size_t i = 0; i < t->n_model; i++)
        if (t->len[i] > maxlen) maxlen = t->len[i];
    size_t cap = 2 * maxlen + 4;
    t->merges = calloc(n ? n : 1, sizeof *t->merges);
    t->merge_len = calloc(n ? n : 1, sizeof *t->merge_len);
    char *buf = malloc(cap), *cat = malloc(cap);
    int rc = -1;
    WK_FAIL_GOTO(!t->merges || !t->merge_len || !buf || !cat, done, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *l, *r;
        long li = -1, ri = -1;
        if (!merge_parts(wk_json_at(mg, i), buf, cap, &l, &r)) {
            li = wk_strmap_get(map, l);
            ri = wk_strmap_get(map, r);
        }
        WK_FAIL_GOTO(li < 0 || ri < 0 || (size_t)li >= t->n_model || (size_t)ri >= t->n_model, done,
                     err, WK_E_FORMAT, "%s: field \"model.merges\": entry %zu is not two tokens of "
                     "model.vocab", path, i);
        size_t ll = t->len[li], rl = t->len[ri];
        memcpy(cat, l, ll);
        memcpy(cat + ll, r, rl + 1);
        long m = wk_strmap_get(map, cat);
        WK_FAIL_GOTO(m < 0 || (size_t)m >= t->n_model, done, err, WK_E_FORMAT, "%s: field "
                     "\"model.merges\": entry %zu (\"%.40s\" + \"%.40s\"): the merged token is not in "
                     "model.vocab", path, i, l, r);
        cat[ll] = ' ';
        memcpy(cat + ll + 1, r, rl + 1);
        WK_FAIL_GOTO(!(t->merges[i] = strdup(cat)), done, err, WK_E_NOMEM, "out of memory");
        t->merge_len[i] = ll + 1 + rl;
        t->n_merges = i + 1;
    }
    rc = 0;
done:
    free(buf);
    free(cat);
    return rc;
}

/* ---- post-processor ---------------------------------------------------------------- */

/* The single id of TemplateProcessing special token `name` (special_tokens[name].ids). */
static long tpl_special(const wk_json *tp, const char *name, const char *path, wk_err *err)
{
    const wk_json *st = wk_json_get(wk_json_get(tp, "special_tokens"), name), *ids = wk_json_get(st, "ids");
    int64_t id;
    if (wk_json_type_of(ids) != WK_JSON_ARRAY || wk_json_len(ids) != 1 ||
        wk_json_as_int(wk_json_at(ids, 0), &id, NULL) || id < 0 || id >= BJ_MAX_TOKENS) {
        wk_err_set(err, WK_E_UNSUPPORTED, "%s: field \"post_processor\": special token \"%.40s\" "
                   "is not one id in special_tokens (not implemented)", path, name);
        return -1;
    }
    return (long)id;
}

/* TemplateProcessing: single = [SpecialToken]? Sequence A [SpecialToken]?. */
static int template_proc(const wk_json *tp, const char *path, wk_bpej *t, wk_err *err)
{
    const wk_json *s = wk_json_get(tp, "single");
    size_t n = wk_json_len(s), a = n;
    WK_FAIL_IF(wk_json_type_of(s) != WK_JSON_ARRAY, err, WK_E_FORMAT,
               "%s: field \"post_processor.single\": not an array", path);
    for (size_t i = 0; i < n; i++)
        if (wk_json_get(wk_json_at(s, i), "Sequence")) a = a == n ? i : n + 1;
    WK_FAIL_IF(a > 1 || n > a + 2 || (a == 0 && n > 2), err, WK_E_UNSUPPORTED, "%s: field "
               "\"post_processor.single\": only [special] $A [special] templates are read", path);
    t->has_template = 1;
    for (size_t i = 0; i < n; i++) {
        if (i == a) continue;
        const char *name;
        WK_FAIL_IF(wk_json_get_string(wk_json_get(wk_json_at(s, i), "SpecialToken"), "id", &name,
                   NULL, NULL), err, WK_E_FORMAT, "%s: field \"post_processor.single[%zu]\": "
                   "neither Sequence nor SpecialToken", path, i);
        long id = tpl_special(tp, name, path, err);
        if (id < 0) return -1;
        if (i < a) t->tpl_first = id;
        else t->tpl_last = id;
    }
    return 0;
}

/* post_processor: none, ByteLevel, TemplateProcessing, or a Sequence of them. */
static int post_proc(const wk_json *root, const char *path, wk_bpej *t, wk_err *err)
{
    const wk_json *p = wk_json_get(root, "post_processor");
    if (!p || wk_json_type_of(p) == WK_JSON_NULL) return 0;
    const char *ty = type_of(p);
    const wk_json *list = ty && !strcmp(ty, "Sequence") ? wk_json_get(p, "processors") : NULL;
    size_t cnt = list ? wk_json_len(list) : 1;
    for (size_t i = 0; i < cnt; i++) {
        const wk_json *e = list ? wk_json_at(list, i) : p;
        const char *et = type_of(e);
        if (et && !strcmp(et, "ByteLevel")) continue;
        if (et && !strcmp(et, "TemplateProcessing") && !t->has_template) {
            WK_TRY(template_proc(e, path, t, err));
            continue;
        }
        WK_FAIL_IF(1, err, WK_E_UNSUPPORTED, "%s: field \"post_processor\": %s%.40s%s is not "
                   "implemented (ByteLevel and one TemplateProcessing are read)", path, et ? "\"" : "",
                   et ? et : "an entry without a type", et ? "\"" : "");
    }
    return 0;
}

/* ---- entry points ------------------------------------------------------------------- */

static int read_all(const wk_json *root, const char *path, const char *over, wk_bpej *t, wk_err *err)
{
    const wk_json *model;
    wk_strmap map = WK_STRMAP_INIT;
    int rc = -1;
    WK_TRY(bpe_model(root, path, &model, err));
    WK_TRY(check_model(model, path, &t->ignore_merges, err));
    WK_TRY(check_normalizer(root, path, err));
    WK_TRY(identify_pre(root, path, over, t->ignore_merges, &t->pre, err));
    WK_TRY(check_decoder(root, path, err));
    WK_TRY(post_proc(root, path, t, err));
    WK_TRY(read_vocab(model, path, t, err));
    WK_TRY(read_added(root, path, t, err));
    WK_TRY_GOTO(check_unique(t, path, &map, err), done);
    WK_TRY_GOTO(read_merges(model, path, t, &map, err), done);
    WK_FAIL_GOTO((t->tpl_first >= 0 && (size_t)t->tpl_first >= t->n) ||
                 (t->tpl_last >= 0 && (size_t)t->tpl_last >= t->n), done, err, WK_E_FORMAT,
                 "%s: field \"post_processor\": a special token id is not in the vocabulary", path);
    rc = 0;
done:
    wk_strmap_free(&map);
    return rc;
}

int wk_bpej_parse(wk_bpej *t, const void *data, size_t len, const char *label, const char *pre_override,
                  wk_err *err)
{
    memset(t, 0, sizeof *t);
    t->tpl_first = t->tpl_last = -1;
    wk_json *root = parse(data, len, label, err);
    if (!root) return -1;
    int rc = read_all(root, label, pre_override, t, err);
    wk_json_free(root);
    if (rc) wk_bpej_free(t);
    return rc;
}

int wk_bpej_read(wk_bpej *t, const char *path, const char *pre_override, wk_err *err)
{
    wk_map map;
    memset(t, 0, sizeof *t);
    t->tpl_first = t->tpl_last = -1;
    WK_TRY(wk_map_open(&map, path, err));
    int rc = wk_bpej_parse(t, map.data, map.size, path, pre_override, err);
    wk_map_close(&map);
    return rc;
}

void wk_bpej_free(wk_bpej *t)
{
    for (size_t i = 0; t->tok && i < t->n; i++) free(t->tok[i]);
    for (size_t i = 0; t->merges && i < t->n_merges; i++) free(t->merges[i]);
    free(t->tok);
    free(t->len);
    free(t->added);
    free(t->special);
    free(t->added_id);
    free(t->merges);
    free(t->merge_len);
    memset(t, 0, sizeof *t);
    t->tpl_first = t->tpl_last = -1;
}

long wk_bpej_added_find(const wk_bpej *t, const char *s)
{
    for (size_t i = 0; i < t->n_added; i++)
        if (!strcmp(t->tok[t->added_id[i]], s)) return (long)t->added_id[i];
    return -1;
}
