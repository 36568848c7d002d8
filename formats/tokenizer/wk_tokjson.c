/* wk_tokjson.c — tokenizer.json writer for SentencePiece BPE; see wk_tokjson.h. */
#include "wk_tokjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_io.h"
#include "wk_strmap.h"
#include "wk_tokpw.h"

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

/* ---- the graph --------------------------------------------------------------------- */

/* {"id": i, "content": s, ..., "special": true} of the added_tokens list. */
static void write_added(wk_tokpw *w)
{
    wk_tokpw_key(w, "added_tokens");
    wk_tokpw_open(w, '[');
    for (unsigned i = 0; i < 3; i++) {
        wk_tokpw_item(w);
        wk_tokpw_open(w, '{');
        wk_tokpw_kuint(w, "id", i);
        wk_tokpw_kstr(w, "content", k_special[i]);
        wk_tokpw_kraw(w, "single_word", "false");
        wk_tokpw_kraw(w, "lstrip", "false");
        wk_tokpw_kraw(w, "rstrip", "false");
        wk_tokpw_kraw(w, "normalized", "true");
        wk_tokpw_kraw(w, "special", "true");
        wk_tokpw_close(w, '}');
    }
    wk_tokpw_close(w, ']');
}

/* {"type": "Replace", "pattern": {"String": pat}, "content": to} */
static void write_replace(wk_tokpw *w, const char *pat, const char *to)
{
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", "Replace");
    wk_tokpw_key(w, "pattern");
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "String", pat);
    wk_tokpw_close(w, '}');
    wk_tokpw_kstr(w, "content", to);
    wk_tokpw_close(w, '}');
}

static void write_normalizer(wk_tokpw *w)
{
    wk_tokpw_key(w, "normalizer");
    wk_tokpw_seq_open(w, "normalizers");
    wk_tokpw_item(w);
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", "Prepend");
    wk_tokpw_kstr(w, "prepend", "\xE2\x96\x81");
    wk_tokpw_close(w, '}');
    wk_tokpw_item(w);
    write_replace(w, " ", "\xE2\x96\x81");
    wk_tokpw_seq_close(w);
}

static void write_post(wk_tokpw *w, wk_tokjson_post post, uint64_t bos_id)
{
    wk_tokpw_key(w, "post_processor");
    wk_tokpw_template(w, "<s>", bos_id, post == WK_TOKJSON_POST_UPDATE);
}

/* A decoder with only a type: {"type": t} */
static void write_typed(wk_tokpw *w, const char *t)
{
    wk_tokpw_item(w);
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", t);
    wk_tokpw_close(w, '}');
}

static void write_decoder(wk_tokpw *w)
{
    wk_tokpw_key(w, "decoder");
    wk_tokpw_seq_open(w, "decoders");
    wk_tokpw_item(w);
    write_replace(w, "\xE2\x96\x81", " ");
    write_typed(w, "ByteFallback");
    write_typed(w, "Fuse");
    wk_tokpw_item(w);
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", "Strip");
    wk_tokpw_kstr(w, "content", " ");
    wk_tokpw_kuint(w, "start", 1);
    wk_tokpw_kuint(w, "stop", 0);
    wk_tokpw_close(w, '}');
    wk_tokpw_seq_close(w);
}

/* "model": the BPE with its vocab (id order) and merges ("left right"). */
static void write_model(wk_tokpw *w, const wk_spm *m, const wk_tokjson_merge *mg, size_t nmg)
{
    wk_tokpw_key(w, "model");
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", "BPE");
    wk_tokpw_kraw(w, "dropout", "null");
    wk_tokpw_kstr(w, "unk_token", m->unk_piece ? m->unk_piece : "<unk>");
    wk_tokpw_kraw(w, "continuing_subword_prefix", "null");
    wk_tokpw_kraw(w, "end_of_word_suffix", "null");
    wk_tokpw_kraw(w, "fuse_unk", "true");
    wk_tokpw_kraw(w, "byte_fallback", "true");
    wk_tokpw_key(w, "vocab");
    wk_tokpw_open(w, '{');
    for (size_t i = 0; i < m->n_pieces; i++) wk_tokpw_kuint(w, tok_name(m, i), i);
    wk_tokpw_close(w, '}');
    wk_tokpw_key(w, "merges");
    wk_tokpw_open(w, '[');
    for (size_t i = 0; i < nmg; i++) wk_tokpw_merge(w, tok_name(m, mg[i].left), tok_name(m, mg[i].right));
    wk_tokpw_close(w, ']');
    wk_tokpw_close(w, '}');
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
    wk_tokpw *w = wk_tokpw_new(out);
    if (!w) {
        free(mg);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "version", "1.0");
    wk_tokpw_kraw(w, "truncation", "null");
    wk_tokpw_kraw(w, "padding", "null");
    write_added(w);
    write_normalizer(w);
    wk_tokpw_kraw(w, "pre_tokenizer", "null");
    write_post(w, post, bos_id_of(m));
    write_decoder(w);
    write_model(w, m, mg, nmg);
    wk_tokpw_close(w, '}');
    wk_tokpw_free(w);
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
