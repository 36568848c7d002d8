/* wk_tokjson_read.c — tokenizer.json (SentencePiece-style BPE) to a wk_spm; see wk_tokjson.h. */
#include "wk_tokjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_io.h"
#include "wk_json.h"
#include "wk_strmap.h"

#define TJ_MAX_BYTES (256u << 20)

/* The model object, checked to be a BPE with byte_fallback; errors name path and field. */
static int bpe_model(const wk_json *root, const char *path, const wk_json **model, wk_err *err)
{
    const char *t;
    int bf = 0;
    WK_FAIL_IF(wk_json_type_of(root) != WK_JSON_OBJECT, err, WK_E_FORMAT,
               "%s: not a JSON object", path);
    *model = wk_json_get(root, "model");
    WK_FAIL_IF(wk_json_type_of(*model) != WK_JSON_OBJECT, err, WK_E_FORMAT,
               "%s: field \"model\": missing or not an object", path);
    WK_FAIL_IF(wk_json_get_string(*model, "type", &t, NULL, NULL), err, WK_E_FORMAT,
               "%s: field \"model.type\": missing or not a string", path);
    WK_FAIL_IF(strcmp(t, "BPE") != 0, err, WK_E_UNSUPPORTED,
               "%s: field \"model.type\" is \"%.40s\": only a SentencePiece-style BPE model "
               "(\"BPE\" with byte_fallback) is read", path, t);
    WK_FAIL_IF(wk_json_get(*model, "byte_fallback") &&
               wk_json_get_bool(*model, "byte_fallback", &bf, NULL), err, WK_E_FORMAT,
               "%s: field \"model.byte_fallback\": not a boolean", path);
    WK_FAIL_IF(!bf, err, WK_E_UNSUPPORTED,
               "%s: field \"model.byte_fallback\" is not true: a byte-level BPE (GPT-2 / Llama 3 "
               "style) is not a SentencePiece vocabulary", path);
    return 0;
}

/* Pieces from model.vocab: ids must be exactly 0..n-1 (texts copied, scores 0). */
static int read_vocab(const wk_json *model, const char *path, wk_spm *m, wk_err *err)
{
    const wk_json *v = wk_json_get(model, "vocab");
    WK_FAIL_IF(wk_json_type_of(v) != WK_JSON_OBJECT, err, WK_E_FORMAT,
               "%s: field \"model.vocab\": missing or not an object", path);
    size_t n = wk_json_len(v);
    WK_FAIL_IF(n < 3 || n > (1u << 24), err, WK_E_LIMIT,
               "%s: field \"model.vocab\": %zu entries (3 .. 16777216 read)", path, n);
    size_t bytes = 0;   /* the texts go into one arena (m->text_arena owns them) */
    for (size_t i = 0; i < n; i++) {
        size_t kl;
        wk_json_key_at(v, i, &kl);
        bytes += kl + 1;
    }
    m->pieces = calloc(n, sizeof *m->pieces);
    m->text_arena = malloc(bytes);
    WK_FAIL_IF(!m->pieces || !m->text_arena, err, WK_E_NOMEM, "out of memory");
    m->n_pieces = n;
    char *at = m->text_arena;
    for (size_t i = 0; i < n; i++) {
        size_t kl;
        const char *k = wk_json_key_at(v, i, &kl);
        int64_t id;
        WK_FAIL_IF(wk_json_as_int(wk_json_value_at(v, i), &id, NULL) || id < 0 || (uint64_t)id >= n,
                   err, WK_E_FORMAT, "%s: field \"model.vocab\": \"%.40s\" has no id in 0..%zu",
                   path, k, n - 1);
        wk_spm_piece *p = &m->pieces[id];
        WK_FAIL_IF(p->text, err, WK_E_FORMAT, "%s: field \"model.vocab\": id %lld given twice",
                   path, (long long)id);
        WK_FAIL_IF(strlen(k) != kl, err, WK_E_FORMAT,
                   "%s: field \"model.vocab\": a piece contains U+0000", path);
        p->text = memcpy(at, k, kl + 1);
        at += kl + 1;
        p->len = kl;
        p->type = WK_SPM_NORMAL;
    }
    return 0;
}

/* One merge as its two parts: "left right" (tokenizers < 0.20) or ["left", "right"]. */
static int merge_parts(const wk_json *e, char *buf, size_t cap, const char **l, const char **r)
{
    const char *s;
    size_t n;
    if (wk_json_type_of(e) == WK_JSON_ARRAY && wk_json_len(e) == 2) {
        const char *a, *b;
        size_t an, bn;
        if (wk_json_as_string(wk_json_at(e, 0), &a, &an, NULL) ||
            wk_json_as_string(wk_json_at(e, 1), &b, &bn, NULL) || an + bn + 2 > cap)
            return -1;
        memcpy(buf, a, an + 1);
        memcpy(buf + an + 1, b, bn + 1);
        *l = buf;
        *r = buf + an + 1;
        return 0;
    }
    if (wk_json_as_string(e, &s, &n, NULL) || n + 1 > cap) return -1;
    const char *sp = strchr(s, ' ');
    if (!sp || strchr(sp + 1, ' ')) return -1;
    memcpy(buf, s, n + 1);
    buf[sp - s] = 0;
    *l = buf;
    *r = buf + (sp - s) + 1;
    return 0;
}

/* Scores from the merges: the k-th distinct piece a merge produces (in merge order)
 * gets -(k + 1), so that the pieces keep the order SentencePiece's scores gave
 * them; pieces no merge produces get lower scores in id order, specials and byte
 * pieces 0 (what tokenizer.model gives them).  Every merge part must be a piece. */
static int merge_scores(const wk_json *model, const char *path, wk_spm *m, wk_err *err)
{
    const wk_json *mg = wk_json_get(model, "merges");
    WK_FAIL_IF(wk_json_type_of(mg) != WK_JSON_ARRAY, err, WK_E_FORMAT,
               "%s: field \"model.merges\": missing or not an array", path);
    int rc = -1;
    wk_strmap map = WK_STRMAP_INIT;
    size_t maxlen = 0, k = 0, n = wk_json_len(mg);
    char *buf = NULL, *cat = NULL;
    unsigned char *scored = calloc(m->n_pieces, 1);
    WK_FAIL_GOTO(!scored, done, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < m->n_pieces; i++) {
        long prev;
        WK_TRY_GOTO(wk_strmap_add(&map, m->pieces[i].text, i, &prev, err), done);
        if (m->pieces[i].len > maxlen) maxlen = m->pieces[i].len;
    }
    buf = malloc(2 * maxlen + 4);
    cat = malloc(2 * maxlen + 4);
    WK_FAIL_GOTO(!buf || !cat, done, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *l, *r;
        long li = -1, ri = -1;
        if (merge_parts(wk_json_at(mg, i), buf, 2 * maxlen + 4, &l, &r) == 0) {
            li = wk_strmap_get(&map, l);
            ri = wk_strmap_get(&map, r);
        }
        WK_FAIL_GOTO(li < 0 || ri < 0, done, err, WK_E_FORMAT, "%s: field \"model.merges\": "
                     "entry %zu is not two pieces of the vocab", path, i);
        size_t ll = m->pieces[li].len, rl = m->pieces[ri].len;
        memcpy(cat, l, ll);
        memcpy(cat + ll, r, rl + 1);
        long p = wk_strmap_get(&map, cat);
        if (p >= 0 && !scored[p]) {
            scored[p] = 1;
            m->pieces[p].score = -(float)(++k);
        }
    }
    for (size_t i = 0; i < m->n_pieces; i++)
        if (!scored[i] && m->pieces[i].type == WK_SPM_NORMAL) m->pieces[i].score = -(float)(++k);
    rc = 0;
done:
    free(scored);
    free(buf);
    free(cat);
    wk_strmap_free(&map);
    return rc;
}

/* 1 if text is a byte piece "<0xXX>" (llama.cpp's rule, hex digits in either case). */
static int is_byte_piece(const char *t)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    return strlen(t) == 6 && !strncmp(t, "<0x", 3) && t[5] == '>' && t[3] && t[4] &&
           strchr(hex, t[3]) && strchr(hex, t[4]);
}

/* Types: byte pieces BYTE; added tokens marked special CONTROL (UNKNOWN for the
 * model's unk_token); added tokens past the vocab appended (CONTROL or USER_DEFINED,
 * score -1000 as llama.cpp's converter scores added tokens), ids contiguous. */
static int read_added(const wk_json *root, const char *path, const char *unk, wk_spm *m,
                      wk_err *err)
{
    for (size_t i = 0; i < m->n_pieces; i++)
        if (is_byte_piece(m->pieces[i].text)) m->pieces[i].type = WK_SPM_BYTE;
    const wk_json *a = wk_json_get(root, "added_tokens");
    if (!a || wk_json_type_of(a) == WK_JSON_NULL) return 0;
    WK_FAIL_IF(wk_json_type_of(a) != WK_JSON_ARRAY, err, WK_E_FORMAT,
               "%s: field \"added_tokens\": not an array", path);
    for (size_t i = 0; i < wk_json_len(a); i++) {
        const wk_json *e = wk_json_at(a, i);
        int64_t id;
        const char *c;
        size_t cl;
        int special = 0;
        WK_FAIL_IF(wk_json_get_int(e, "id", &id, NULL) || id < 0 ||
                   wk_json_get_string(e, "content", &c, &cl, NULL) || strlen(c) != cl ||
                   (wk_json_get(e, "special") && wk_json_get_bool(e, "special", &special, NULL)),
                   err, WK_E_FORMAT, "%s: field \"added_tokens[%zu]\": needs an \"id\" >= 0, a "
                   "\"content\" string and a boolean \"special\"", path, i);
        if ((uint64_t)id == m->n_pieces && m->n_pieces < (1u << 24)) {
            wk_spm_piece *np = realloc(m->pieces, (m->n_pieces + 1) * sizeof *np);
            WK_FAIL_IF(!np, err, WK_E_NOMEM, "out of memory");
            m->pieces = np;
            memset(&np[m->n_pieces], 0, sizeof *np);
            WK_FAIL_IF(!(np[m->n_pieces].text = strdup(c)), err, WK_E_NOMEM, "out of memory");
            np[m->n_pieces].len = cl;
            np[m->n_pieces].score = -1000.0f;
            np[m->n_pieces++].type = special ? WK_SPM_CONTROL : WK_SPM_USER_DEFINED;
            continue;
        }
        WK_FAIL_IF((uint64_t)id > m->n_pieces, err, WK_E_FORMAT, "%s: field \"added_tokens[%zu]\": "
                   "id %lld leaves a gap after the vocab's %zu ids", path, i, (long long)id,
                   m->n_pieces);
        wk_spm_piece *p = &m->pieces[id];
        WK_FAIL_IF(strcmp(p->text, c) != 0, err, WK_E_FORMAT, "%s: field \"added_tokens[%zu]\": "
                   "id %lld is \"%.40s\" in the vocab", path, i, (long long)id, p->text);
        if (special) {
            p->type = unk && !strcmp(c, unk) ? WK_SPM_UNKNOWN : WK_SPM_CONTROL;
            p->score = 0.0f;
        }
    }
    return 0;
}

/* The normalizer and pre-tokenizer a SentencePiece-style BPE may have (what LlamaConverter and
 * the later legacy=false conversions write): normalizer none, Prepend("\u2581"), Replace(" " ->
 * "\u2581") or a Sequence of those; pre_tokenizer none or Metaspace("\u2581") without split.
 * Anything else changes the result and is refused by name. */
static int spm_pipeline(const wk_json *root, const char *path, wk_err *err)
{
    const wk_json *n = wk_json_get(root, "normalizer");
    const char *t = NULL, *s;
    if (n && wk_json_type_of(n) != WK_JSON_NULL) {
        int seq = !wk_json_get_string(n, "type", &t, NULL, NULL) && !strcmp(t, "Sequence");
        const wk_json *list = seq ? wk_json_get(n, "normalizers") : NULL;
        size_t cnt = seq ? wk_json_len(list) : 1;
        for (size_t i = 0; i < cnt; i++) {
            const wk_json *e = seq ? wk_json_at(list, i) : n;
            t = NULL;
            int okp = !wk_json_get_string(e, "type", &t, NULL, NULL) && !strcmp(t, "Prepend") &&
                      !wk_json_get_string(e, "prepend", &s, NULL, NULL) && !strcmp(s, "\xE2\x96\x81");
            int okr = t && !strcmp(t, "Replace") &&
                      !wk_json_get_string(wk_json_get(e, "pattern"), "String", &s, NULL, NULL) && !strcmp(s, " ") &&
                      !wk_json_get_string(e, "content", &s, NULL, NULL) && !strcmp(s, "\xE2\x96\x81");
            WK_FAIL_IF(!okp && !okr, err, WK_E_UNSUPPORTED, "%s: field \"normalizer\": \"%.40s\" is not "
                       "implemented for a SentencePiece-style BPE (Prepend / Replace of U+2581 are read)",
                       path, t ? t : "?");
        }
    }
    const wk_json *pt = wk_json_get(root, "pre_tokenizer");
    int split = 0;
    if (!pt || wk_json_type_of(pt) == WK_JSON_NULL) return 0;
    t = NULL;
    WK_FAIL_IF(wk_json_get_string(pt, "type", &t, NULL, NULL) || strcmp(t, "Metaspace") ||
               wk_json_get_string(pt, "replacement", &s, NULL, NULL) || strcmp(s, "\xE2\x96\x81") ||
               (wk_json_get(pt, "split") && (wk_json_get_bool(pt, "split", &split, NULL) || split)),
               err, WK_E_UNSUPPORTED, "%s: field \"pre_tokenizer\": \"%.40s\" is not implemented for a "
               "SentencePiece-style BPE (Metaspace U+2581 without split is read)", path, t ? t : "?");
    return 0;
}

/* SentencePiece's add_dummy_prefix: a normalizer that prepends "▁" (LlamaConverter), or a
 * Metaspace pre-tokenizer that adds a prefix space. */
static int dummy_prefix(const wk_json *root)
{
    const wk_json *n = wk_json_get(root, "normalizer"), *list = wk_json_get(n, "normalizers");
    size_t cnt = list ? wk_json_len(list) : (n ? 1 : 0);
    for (size_t i = 0; i < cnt; i++) {
        const wk_json *e = list ? wk_json_at(list, i) : n;
        const char *t, *pp;
        if (!wk_json_get_string(e, "type", &t, NULL, NULL) && !strcmp(t, "Prepend") &&
            !wk_json_get_string(e, "prepend", &pp, NULL, NULL) && !strcmp(pp, "\xE2\x96\x81"))
            return 1;
    }
    const wk_json *pt = wk_json_get(root, "pre_tokenizer");
    const char *t, *scheme;
    int add = 0;
    if (wk_json_get_string(pt, "type", &t, NULL, NULL) || strcmp(t, "Metaspace")) return 0;
    if (!wk_json_get_string(pt, "prepend_scheme", &scheme, NULL, NULL))
        return strcmp(scheme, "never") != 0;
    return !wk_json_get_bool(pt, "add_prefix_space", &add, NULL) && add;
}

/* The special ids: unk from model.unk_token, bos/eos from "<s>" / "</s>" (-1 if absent). */
static void special_ids(wk_spm *m, const char *unk)
{
    m->unk_id = m->bos_id = m->eos_id = m->pad_id = -1;
    for (size_t i = 0; i < m->n_pieces && i < INT32_MAX; i++) {
        const char *t = m->pieces[i].text;
        if (unk && !strcmp(t, unk) && m->unk_id < 0) m->unk_id = (int32_t)i;
        if (!strcmp(t, "<s>") && m->bos_id < 0) m->bos_id = (int32_t)i;
        if (!strcmp(t, "</s>") && m->eos_id < 0) m->eos_id = (int32_t)i;
    }
}

int wk_tokjson_read_spm(wk_spm *m, const char *path, wk_err *err)
{
    memset(m, 0, sizeof *m);
    wk_map map;
    WK_TRY(wk_map_open(&map, path, err));
    int rc = -1;
    wk_json *root = NULL;
    const wk_json *model = NULL;
    const char *unk = NULL;
    WK_FAIL_GOTO(map.size > TJ_MAX_BYTES, done, err, WK_E_LIMIT, "%s: larger than %u MiB", path,
                 TJ_MAX_BYTES >> 20);
    if (!(root = wk_json_parse(map.data, map.size, NULL, err))) {
        wk_err_prefix(err, "%s: does not parse", path);
        goto done;
    }
    WK_TRY_GOTO(bpe_model(root, path, &model, err), done);
    WK_TRY_GOTO(spm_pipeline(root, path, err), done);
    if (wk_json_get(model, "unk_token") && wk_json_type_of(wk_json_get(model, "unk_token")) != WK_JSON_NULL)
        WK_FAIL_GOTO(wk_json_get_string(model, "unk_token", &unk, NULL, NULL), done, err,
                     WK_E_FORMAT, "%s: field \"model.unk_token\": not a string", path);
    WK_TRY_GOTO(read_vocab(model, path, m, err), done);
    WK_TRY_GOTO(read_added(root, path, unk, m, err), done);
    WK_TRY_GOTO(merge_scores(model, path, m, err), done);
    special_ids(m, unk);
    m->has_trainer = 1;
    m->model_type = WK_SPM_BPE;
    m->byte_fallback = 1;
    m->add_dummy_prefix = dummy_prefix(root);
    rc = 0;
done:
    wk_json_free(root);
    wk_map_close(&map);
    if (rc) {
        wk_spm_free(m);
        memset(m, 0, sizeof *m);
    }
    return rc;
}
