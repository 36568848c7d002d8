/* wk_tokjson.c — tokenizer.json writer for SentencePiece BPE; see wk_tokjson.h. */
#include "wk_tokjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_io.h"
#include "wk_strmap.h"

/* The names LlamaConverter.vocab gives ids 0, 1, 2 whatever the model calls them. */
static const char *const k_special[3] = {"<unk>", "<s>", "</s>"};

/* Text of id i in the converted vocab (ids 0-2 renamed). */
static const char *tok_name(const wk_spm *m, size_t i)
{
    return i < 3 ? k_special[i] : m->pieces[i].text;
}

/* ---- checks ---------------------------------------------------------------------- */

/* Map every piece text (as the model names it) to its id: SentencePieceExtractor's
 * `vocab`.  A duplicate text is refused (the dict would drop an id). */
static int piece_map(const wk_spm *m, const char *label, wk_strmap *map, wk_err *err)
{
    for (size_t i = 0; i < m->n_pieces; i++) {
        long prev;
        if (wk_strmap_add(map, m->pieces[i].text, i, &prev, err)) return -1;
        WK_FAIL_IF(prev >= 0, err, WK_E_FORMAT, "%s: pieces %ld and %zu have the same text",
                   label, prev, i);
    }
    return 0;
}

int wk_tokjson_check(const wk_spm *m, const char *label, wk_err *err)
{
    WK_FAIL_IF(!m->has_trainer, err, WK_E_UNSUPPORTED,
               "%s: no trainer_spec, so the model type is protobuf's default, unigram "
               "(a truncated file?): tokenizer.json is written for BPE models only", label);
    WK_FAIL_IF(m->model_type != WK_SPM_BPE, err, WK_E_UNSUPPORTED,
               "%s: SentencePiece model type %s: tokenizer.json is written for BPE models only "
               "(LlamaConverter: \"Llama is supposed to be a BPE model!\")",
               label, wk_spm_model_type_name(m->model_type));
    WK_FAIL_IF(m->n_pieces < 3, err, WK_E_FORMAT,
               "%s: %zu pieces: the converter needs at least <unk>, <s>, </s> (ids 0-2)",
               label, m->n_pieces);
    WK_FAIL_IF(m->n_pieces > UINT32_MAX, err, WK_E_LIMIT, "%s: too many pieces", label);
    for (size_t i = 0; i < m->n_pieces; i++) {
        const wk_spm_piece *p = &m->pieces[i];
        WK_FAIL_IF(!isfinite(p->score), err, WK_E_FORMAT,
                   "%s: piece %zu has a score that is not a finite number", label, i);
        WK_FAIL_IF(strlen(p->text) != p->len, err, WK_E_FORMAT,
                   "%s: piece %zu contains a NUL byte", label, i);
        for (int s = 0; s < 3 && i >= 3; s++)
            WK_FAIL_IF(strcmp(p->text, k_special[s]) == 0, err, WK_E_FORMAT,
                       "%s: piece %zu is named %s, the name the converter gives id %d",
                       label, i, k_special[s], s);
    }
    return 0;
}

/* ---- merges ---------------------------------------------------------------------- */

typedef struct {
    float score;
    uint32_t left, right;
} merge_rec;

/* Score descending, then the double loop's order (left id, right id) ascending:
 * Python's stable sorted(..., reverse=True) over that loop. */
static int merge_cmp(const void *a, const void *b)
{
    const merge_rec *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (x->left != y->left) return x->left < y->left ? -1 : 1;
    return (x->right > y->right) - (x->right < y->right);
}

/* Append (score, l, r) to *v (growing it); 0 or WK_E_NOMEM. */
static int push_merge(merge_rec **v, size_t *n, size_t *cap, merge_rec r, wk_err *err)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 4096;
        merge_rec *nv = realloc(*v, nc * sizeof *nv);
        WK_FAIL_IF(!nv, err, WK_E_NOMEM, "out of memory collecting merges");
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = r;
    return 0;
}

/* Every split of piece id into two pieces of map, appended to *v.  scratch holds
 * the piece's text + NUL.  A part that is one of ids 0-2 must carry the converted
 * name (else the BPE model would reference a token missing from its vocab). */
static int split_piece(const wk_spm *m, const wk_strmap *map, size_t id, char *scratch,
                       merge_rec **v, size_t *n, size_t *cap, const char *label, wk_err *err)
{
    const wk_spm_piece *p = &m->pieces[id];
    for (size_t k = 1; k < p->len; k++) {
        memcpy(scratch, p->text, k);
        scratch[k] = 0;
        long l = wk_strmap_get(map, scratch);
        if (l < 0) continue;
        long r = wk_strmap_get(map, p->text + k);
        if (r < 0) continue;
        WK_FAIL_IF((l < 3 && strcmp(m->pieces[l].text, k_special[l]) != 0) ||
                   (r < 3 && strcmp(m->pieces[r].text, k_special[r]) != 0),
                   err, WK_E_UNSUPPORTED,
                   "%s: piece %zu splits into a special piece (id 0-2) not named <unk>, <s>, "
                   "</s>: the converter cannot build that BPE model", label, id);
        merge_rec rec = {p->score, (uint32_t)l, (uint32_t)r};
        WK_TRY(push_merge(v, n, cap, rec, err));
    }
    return 0;
}

int wk_tokjson_merges(const wk_spm *m, const char *label, wk_tokjson_merge **out, size_t *n,
                      wk_err *err)
{
    int rc = -1;
    wk_strmap map = WK_STRMAP_INIT;
    merge_rec *v = NULL;
    size_t nv = 0, cap = 0, maxlen = 0;
    char *scratch = NULL;
    *out = NULL;
    *n = 0;
    WK_TRY_GOTO(wk_tokjson_check(m, label, err), done);
    WK_TRY_GOTO(piece_map(m, label, &map, err), done);
    for (size_t i = 0; i < m->n_pieces; i++)
        if (m->pieces[i].len > maxlen) maxlen = m->pieces[i].len;
    scratch = malloc(maxlen + 1);
    WK_FAIL_GOTO(!scratch, done, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 3; i < m->n_pieces; i++) {
        if (m->pieces[i].score == 0.0f) continue; /* `if piece_score:` */
        WK_TRY_GOTO(split_piece(m, &map, i, scratch, &v, &nv, &cap, label, err), done);
    }
    if (nv) qsort(v, nv, sizeof *v, merge_cmp);
    if (nv) {
        *out = malloc(nv * sizeof **out);
        WK_FAIL_GOTO(!*out, done, err, WK_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nv; i++) {
        (*out)[i].left = v[i].left;
        (*out)[i].right = v[i].right;
    }
    *n = nv;
    rc = 0;
done:
    free(v);
    free(scratch);
    wk_strmap_free(&map);
    return rc;
}

/* ---- serde_json's PrettyFormatter -------------------------------------------------- */

#define PW_BUF (64u * 1024u)
#define PW_DEPTH 16

/* A pretty writer: serde_json's PrettyFormatter with indent "  ", buffered into a sink. */
typedef struct {
    wk_sink *out;
    size_t n, depth;
    int has[PW_DEPTH]; /* an element was written at that depth */
    unsigned char buf[PW_BUF];
} pw;

static void pw_flush(pw *w)
{
    if (w->n) wk_sink_write(w->out, w->buf, w->n, NULL);
    w->n = 0;
}

static void pw_put(pw *w, const void *p, size_t n)
{
    const unsigned char *s = p;
    while (n) {
        if (w->n == PW_BUF) pw_flush(w);
        size_t k = PW_BUF - w->n < n ? PW_BUF - w->n : n;
        memcpy(w->buf + w->n, s, k);
        w->n += k;
        s += k;
        n -= k;
    }
}

static void pw_puts(pw *w, const char *s) { pw_put(w, s, strlen(s)); }

/* A JSON string as serde_json escapes it: '"' '\\' and the C0 controls (\b \t \n \f \r,
 * others \u00xx in lowercase hex); everything else (DEL, non-ASCII) raw. */
static void pw_str_body(pw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        pw_put(w, run, (size_t)(s - run));
        run = s + 1;
        char e[7] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\t': e[1] = 't'; break;
        case '\n': e[1] = 'n'; break;
        case '\f': e[1] = 'f'; break;
        case '\r': e[1] = 'r'; break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            k = 6;
        }
        pw_put(w, e, k);
    }
    pw_put(w, run, (size_t)(s - run));
}

static void pw_str(pw *w, const char *s)
{
    pw_put(w, "\"", 1);
    pw_str_body(w, s);
    pw_put(w, "\"", 1);
}

static void pw_indent(pw *w)
{
    for (size_t i = 0; i < w->depth; i++) pw_put(w, "  ", 2);
}

/* Open an object ('{') or array ('['). */
static void pw_open(pw *w, char c)
{
    pw_put(w, &c, 1);
    w->depth++;
    if (w->depth < PW_DEPTH) w->has[w->depth] = 0;
}

/* Close it: a newline and the outer indent before the bracket if it had elements. */
static void pw_close(pw *w, char c)
{
    int had = w->has[w->depth];
    w->depth--;
    if (had) {
        pw_put(w, "\n", 1);
        pw_indent(w);
    }
    pw_put(w, &c, 1);
}

/* Start an array element. */
static void pw_item(pw *w)
{
    pw_puts(w, w->has[w->depth] ? ",\n" : "\n");
    w->has[w->depth] = 1;
    pw_indent(w);
}

/* Start an object member: "key": */
static void pw_key(pw *w, const char *k)
{
    pw_item(w);
    pw_str(w, k);
    pw_put(w, ": ", 2);
}

static void pw_kstr(pw *w, const char *k, const char *v) { pw_key(w, k); pw_str(w, v); }
static void pw_kraw(pw *w, const char *k, const char *v) { pw_key(w, k); pw_puts(w, v); }
static void pw_kuint(pw *w, const char *k, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    pw_kraw(w, k, b);
}

/* ---- the graph --------------------------------------------------------------------- */

/* {"id": i, "content": s, ..., "special": true} of the added_tokens list. */
static void write_added(pw *w)
{
    pw_key(w, "added_tokens");
    pw_open(w, '[');
    for (unsigned i = 0; i < 3; i++) {
        pw_item(w);
        pw_open(w, '{');
        pw_kuint(w, "id", i);
        pw_kstr(w, "content", k_special[i]);
        pw_kraw(w, "single_word", "false");
        pw_kraw(w, "lstrip", "false");
        pw_kraw(w, "rstrip", "false");
        pw_kraw(w, "normalized", "true");
        pw_kraw(w, "special", "true");
        pw_close(w, '}');
    }
    pw_close(w, ']');
}

/* {"type": "Replace", "pattern": {"String": pat}, "content": to} */
static void write_replace(pw *w, const char *pat, const char *to)
{
    pw_open(w, '{');
    pw_kstr(w, "type", "Replace");
    pw_key(w, "pattern");
    pw_open(w, '{');
    pw_kstr(w, "String", pat);
    pw_close(w, '}');
    pw_kstr(w, "content", to);
    pw_close(w, '}');
}

static void write_normalizer(pw *w)
{
    pw_key(w, "normalizer");
    pw_open(w, '{');
    pw_kstr(w, "type", "Sequence");
    pw_key(w, "normalizers");
    pw_open(w, '[');
    pw_item(w);
    pw_open(w, '{');
    pw_kstr(w, "type", "Prepend");
    pw_kstr(w, "prepend", "\xE2\x96\x81");
    pw_close(w, '}');
    pw_item(w);
    write_replace(w, " ", "\xE2\x96\x81");
    pw_close(w, ']');
    pw_close(w, '}');
}

/* One template piece: {"SpecialToken"|"Sequence": {"id": id, "type_id": t}} */
static void write_piece(pw *w, const char *kind, const char *id, unsigned type_id)
{
    pw_item(w);
    pw_open(w, '{');
    pw_key(w, kind);
    pw_open(w, '{');
    pw_kstr(w, "id", id);
    pw_kuint(w, "type_id", type_id);
    pw_close(w, '}');
    pw_close(w, '}');
}

static void write_post(pw *w, wk_tokjson_post post, uint64_t bos_id)
{
    pw_key(w, "post_processor");
    pw_open(w, '{');
    pw_kstr(w, "type", "TemplateProcessing");
    pw_key(w, "single");
    pw_open(w, '[');
    write_piece(w, "SpecialToken", "<s>", 0);
    write_piece(w, "Sequence", "A", 0);
    pw_close(w, ']');
    pw_key(w, "pair");
    pw_open(w, '[');
    write_piece(w, "SpecialToken", "<s>", 0);
    write_piece(w, "Sequence", "A", 0);
    if (post == WK_TOKJSON_POST_UPDATE) write_piece(w, "SpecialToken", "<s>", 1);
    write_piece(w, "Sequence", "B", post == WK_TOKJSON_POST_UPDATE ? 1 : 0);
    pw_close(w, ']');
    pw_key(w, "special_tokens");
    pw_open(w, '{');
    pw_key(w, "<s>");
    pw_open(w, '{');
    pw_kstr(w, "id", "<s>");
    pw_key(w, "ids");
    pw_open(w, '[');
    pw_item(w);
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)bos_id);
    pw_puts(w, b);
    pw_close(w, ']');
    pw_key(w, "tokens");
    pw_open(w, '[');
    pw_item(w);
    pw_str(w, "<s>");
    pw_close(w, ']');
    pw_close(w, '}');
    pw_close(w, '}');
    pw_close(w, '}');
}

/* A decoder with only a type: {"type": t} */
static void write_typed(pw *w, const char *t)
{
    pw_item(w);
    pw_open(w, '{');
    pw_kstr(w, "type", t);
    pw_close(w, '}');
}

static void write_decoder(pw *w)
{
    pw_key(w, "decoder");
    pw_open(w, '{');
    pw_kstr(w, "type", "Sequence");
    pw_key(w, "decoders");
    pw_open(w, '[');
    pw_item(w);
    write_replace(w, "\xE2\x96\x81", " ");
    write_typed(w, "ByteFallback");
    write_typed(w, "Fuse");
    pw_item(w);
    pw_open(w, '{');
    pw_kstr(w, "type", "Strip");
    pw_kstr(w, "content", " ");
    pw_kuint(w, "start", 1);
    pw_kuint(w, "stop", 0);
    pw_close(w, '}');
    pw_close(w, ']');
    pw_close(w, '}');
}

/* "model": the BPE with its vocab (id order) and merges ("left right"). */
static void write_model(pw *w, const wk_spm *m, const wk_tokjson_merge *mg, size_t nmg)
{
    pw_key(w, "model");
    pw_open(w, '{');
    pw_kstr(w, "type", "BPE");
    pw_kraw(w, "dropout", "null");
    pw_kstr(w, "unk_token", m->unk_piece ? m->unk_piece : "<unk>");
    pw_kraw(w, "continuing_subword_prefix", "null");
    pw_kraw(w, "end_of_word_suffix", "null");
    pw_kraw(w, "fuse_unk", "true");
    pw_kraw(w, "byte_fallback", "true");
    pw_key(w, "vocab");
    pw_open(w, '{');
    for (size_t i = 0; i < m->n_pieces; i++) pw_kuint(w, tok_name(m, i), i);
    pw_close(w, '}');
    pw_key(w, "merges");
    pw_open(w, '[');
    for (size_t i = 0; i < nmg; i++) {
        pw_item(w);
        pw_put(w, "\"", 1);
        /* "l r" as one string: escape each part, the space needs none */
        pw_str_body(w, tok_name(m, mg[i].left));
        pw_put(w, " ", 1);
        pw_str_body(w, tok_name(m, mg[i].right));
        pw_put(w, "\"", 1);
    }
    pw_close(w, ']');
    pw_close(w, '}');
}

/* The post-processor's id of "<s>": the slow tokenizer's convert_tokens_to_ids,
 * i.e. the piece named "<s>" or else the unknown id. */
static uint64_t bos_id_of(const wk_spm *m)
{
    for (size_t i = 0; i < m->n_pieces; i++)
        if (strcmp(m->pieces[i].text, "<s>") == 0) return i;
    return m->unk_id >= 0 ? (uint64_t)m->unk_id : 0;
}

int wk_tokjson_write(const wk_spm *m, wk_tokjson_post post, const char *label, wk_sink *out,
                     wk_err *err)
{
    wk_tokjson_merge *mg = NULL;
    size_t nmg = 0;
    WK_TRY(wk_tokjson_merges(m, label, &mg, &nmg, err));
    pw *w = malloc(sizeof *w);
    if (!w) {
        free(mg);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    w->out = out;
    w->n = 0;
    w->depth = 0;
    pw_open(w, '{');
    pw_kstr(w, "version", "1.0");
    pw_kraw(w, "truncation", "null");
    pw_kraw(w, "padding", "null");
    write_added(w);
    write_normalizer(w);
    pw_kraw(w, "pre_tokenizer", "null");
    write_post(w, post, bos_id_of(m));
    write_decoder(w);
    write_model(w, m, mg, nmg);
    pw_close(w, '}');
    pw_flush(w);
    free(w);
    free(mg);
    return wk_sink_status(out, err);
}

int wk_tokjson_is_tiktoken(const void *data, size_t len)
{
    const unsigned char *s = data;
    size_t i = 0, b64 = 0, digits = 0;
    for (; i < len && s[i] != ' '; i++, b64++)
        if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= 'a' && s[i] <= 'z') &&
            !(s[i] >= '0' && s[i] <= '9') && s[i] != '+' && s[i] != '/' && s[i] != '=')
            return 0;
    if (i == len || b64 == 0) return 0;
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) digits++;
    return digits > 0 && (i == len || s[i] == '\n' || s[i] == '\r');
}

int wk_tokjson_load_spm(wk_spm *m, const char *path, wk_err *err)
{
    wk_map map;
    memset(m, 0, sizeof *m);
    WK_TRY(wk_map_open(&map, path, err));
    int rc = -1;
    WK_FAIL_GOTO(wk_tokjson_is_tiktoken(map.data, map.size), done, err, WK_E_UNSUPPORTED,
                 "%s: a tiktoken BPE file (lines \"<base64 token> <rank>\", as Llama 3 ships), "
                 "not a SentencePiece model: the LLaMA tokenizer.json converter needs a "
                 "SentencePiece BPE tokenizer.model", path);
    WK_TRY_GOTO(wk_spm_parse(m, map.data, map.size, path, err), done);
    if (wk_tokjson_check(m, path, err)) {
        wk_spm_free(m);
        memset(m, 0, sizeof *m);
        goto done;
    }
    rc = 0;
done:
    wk_map_close(&map);
    return rc;
}
