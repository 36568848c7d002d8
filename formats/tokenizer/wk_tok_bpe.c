/* wk_tok_bpe.c — the byte-level BPE encoder of one text fragment, as llama.cpp's
 * llm_tokenizer_bpe_session (docs/tokenize.md, section 3): the pre-tokenizer's
 * regexes (llama.cpp's list for the tokenizer.ggml.pre name, run by PCRE2 in UTF +
 * UCP mode) split the text into words, each regex splitting the pieces the one
 * before left (matches and the text between them both become pieces); each word's
 * bytes are mapped to the GPT-2 byte-level alphabet; with ignore_merges a word that
 * is a token is that token; else one symbol per character and the adjacent pair of
 * lowest merge rank (ties: the leftmost) is merged until none is left. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_tok_impl.h"
#include "wk_tokenize.h"

#define MAX_RE 8

struct wk_tok_re {
    size_t n;
    pcre2_code *code[MAX_RE];
};

/* llama.cpp's regex lists (src/llama-vocab.cpp, llm_tokenizer_bpe; the forms it
 * runs, i.e. its "adapted" case-insensitive contractions and, for tekken and
 * gpt-4o, its lookahead forms of the upper/lower-case classes). */
#define RE_CONTR "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_LLAMA3 RE_CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2 RE_CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN35 RE_CONTR "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_UP "((?=[\\p{L}])([^a-z]))"
#define RE_LO "((?=[\\p{L}])([^A-Z]))"
#define RE_TEKKEN "[^\\r\\n\\p{L}\\p{N}]?" RE_UP "*" RE_LO "+|[^\\r\\n\\p{L}\\p{N}]?" RE_UP "+" RE_LO "*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_GPT4O "[^\\r\\n\\p{L}\\p{N}]?" RE_UP "*" RE_LO "+" RE_CONTR "?|[^\\r\\n\\p{L}\\p{N}]?" RE_UP "+" RE_LO "*" RE_CONTR "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

typedef struct {
    const char *name;
    size_t n;
    const char *re[MAX_RE];
} pre_list;

static const pre_list k_pre[] = {
    {.name = "llama-bpe", .n = 1, .re = {RE_LLAMA3}},
    {.name = "smaug-bpe", .n = 1, .re = {RE_LLAMA3}},
    {.name = "qwen2", .n = 1, .re = {RE_QWEN2}},
    {.name = "qwen35", .n = 1, .re = {RE_QWEN35}},
    {.name = "gpt-2", .n = 1, .re = {RE_GPT2}},
    {.name = "starcoder", .n = 2, .re = {"\\p{N}", RE_GPT2}},
    {.name = "tekken", .n = 1, .re = {RE_TEKKEN}},
    {.name = "gpt-4o", .n = 1, .re = {RE_GPT4O}},
    {.name = "deepseek-llm", .n = 6,
     .re = {"[\r\n]", wk_bpej_re_dsl_latin, wk_bpej_re_dsl_punct, "\\s+$", wk_bpej_re_dsc_cjk, "\\p{N}+"}},
    {.name = "deepseek-coder", .n = 5, .re = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", wk_bpej_re_dsc_cjk, "\\p{N}"}},
};
#define N_PRE (sizeof k_pre / sizeof *k_pre)

/* llama.cpp sets ignore_merges for these names (llama_vocab::load). */
static int pre_ignores_merges(const char *name)
{
    return !strcmp(name, "llama-bpe") || !strcmp(name, "tekken");
}

void wk_tok_re_free(wk_tok_re *re)
{
    if (!re) return;
    for (size_t i = 0; i < re->n; i++) pcre2_code_free(re->code[i]);
    free(re);
}

int wk_tok_re_open(struct wk_tok *t, const char *pre, wk_err *err)
{
    const pre_list *p = NULL;
    for (size_t i = 0; i < N_PRE; i++)
        if (!strcmp(k_pre[i].name, pre)) p = &k_pre[i];
    if (!p) {
        char names[256] = "";
        for (size_t i = 0, at = 0; i < N_PRE && at < sizeof names; i++)
            at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", i ? ", " : "", k_pre[i].name);
        if (!*pre)   /* llama.cpp falls back to its "default" list with a warning */
            return wk_err_set(err, WK_E_UNSUPPORTED, "no pre-tokenizer name (llama.cpp's \"default\" fallback): "
                              "not implemented (implemented: %s)", names);
        return wk_err_set(err, WK_E_UNSUPPORTED, "pre-tokenizer \"%s\": not implemented (implemented: %s)", pre,
                          names);
    }
    wk_tok_re *re = calloc(1, sizeof *re);
    WK_FAIL_IF(!re, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < p->n; i++) {
        int ec;
        PCRE2_SIZE eo;
        re->code[i] = pcre2_compile((PCRE2_SPTR)p->re[i], PCRE2_ZERO_TERMINATED,
                                    PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
        if (!re->code[i]) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(ec, msg, sizeof msg);
            wk_tok_re_free(re);
            return wk_err_set(err, WK_E_INTERNAL, "pre-tokenizer \"%s\": regex %zu: PCRE2: %s at %zu", pre, i,
                              (const char *)msg, (size_t)eo);
        }
        re->n = i + 1;
        pcre2_jit_compile(re->code[i], PCRE2_JIT_COMPLETE);   /* the interpreter if it fails */
    }
    t->re = re;
    t->ignore_merges = pre_ignores_merges(pre);
    return 0;
}

/* ---- splitting ------------------------------------------------------------------- */

typedef struct {
    size_t *len;   /* word lengths in bytes, in order */
    size_t n, cap;
} words;

static int words_add(words *w, size_t len, wk_err *err)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 64;
        size_t *p = realloc(w->len, nc * sizeof *p);
        WK_FAIL_IF(!p, err, WK_E_NOMEM, "out of memory (pre-tokenizer)");
        w->len = p;
        w->cap = nc;
    }
    w->len[w->n++] = len;
    return 0;
}

/* One regex over every piece of in: matches and the gaps between them. */
static int split_one(const pcre2_code *re, pcre2_match_data *md, const char *s, const words *in, words *out,
                     wk_err *err)
{
    size_t base = 0;
    for (size_t i = 0; i < in->n; base += in->len[i++]) {
        PCRE2_SPTR subj = (PCRE2_SPTR)(s + base);
        size_t n = in->len[i], pos = 0, at = 0;
        while (at < n) {
            int rc = pcre2_match(re, subj, n, at, PCRE2_NO_UTF_CHECK | PCRE2_NOTEMPTY, md, NULL);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            WK_FAIL_IF(rc < 0, err, WK_E_LIMIT, "text: byte %zu: the pre-tokenizer regex failed (PCRE2 error %d)",
                       base + at, rc);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (ov[0] > pos) WK_TRY(words_add(out, ov[0] - pos, err));
            WK_TRY(words_add(out, ov[1] - ov[0], err));
            pos = at = ov[1];
        }
        if (pos < n) WK_TRY(words_add(out, n - pos, err));
    }
    return 0;
}

/* PCRE2's \s (UCP) also matches U+180E MONGOLIAN VOWEL SEPARATOR (its \h list), which
 * is no longer White_Space (Unicode 6.3: Cf) and which llama.cpp does not count as space.
 * The regexes run on a copy with each U+180E replaced by U+200B, another Cf of the same
 * UTF-8 length that PCRE2 does not take for space; the words are cut from the original.
 * *shadow is NULL when the text has no U+180E (then s is matched). */
static int shadow_text(const char *s, size_t len, char **shadow, wk_err *err)
{
    *shadow = NULL;
    const char *p = memmem(s, len, "\xe1\xa0\x8e", 3);
    if (!p) return 0;
    char *c = malloc(len);
    WK_FAIL_IF(!c, err, WK_E_NOMEM, "out of memory (%zu bytes of text)", len);
    memcpy(c, s, len);
    for (; p; p = memmem(p + 3, len - (size_t)(p + 3 - s), "\xe1\xa0\x8e", 3))
        memcpy(c + (p - s), "\xe2\x80\x8b", 3);
    *shadow = c;
    return 0;
}

static int split_all(const wk_tok_re *re, const char *text, size_t len, words *w, wk_err *err)
{
    words a = {0}, b = {0};
    int rc = -1;
    pcre2_match_data *md = NULL;
    char *shadow;
    WK_TRY(shadow_text(text, len, &shadow, err));
    const char *s = shadow ? shadow : text;
    WK_TRY_GOTO(words_add(&a, len, err), done);
    for (size_t r = 0; r < re->n; r++) {
        pcre2_match_data_free(md);
        md = pcre2_match_data_create_from_pattern(re->code[r], NULL);
        WK_FAIL_GOTO(!md, done, err, WK_E_NOMEM, "out of memory (PCRE2 match data)");
        b.n = 0;
        WK_TRY_GOTO(split_one(re->code[r], md, s, &a, &b, err), done);
        words tmp = a;
        a = b;
        b = tmp;
    }
    *w = a;
    a.len = NULL;
    rc = 0;
done:
    free(shadow);
    pcre2_match_data_free(md);
    free(a.len);
    free(b.len);
    return rc;
}

/* ---- one word --------------------------------------------------------------------- */

/* The GPT-2 byte-level alphabet: byte b -> code point, as UTF-8 into o (1-2 bytes). */
static size_t byte_char(uint8_t b, char *o)
{
    uint32_t cp = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE ? b
                  : b <= 0x20                                                  ? 256u + b
                  : b <= 0xA0                                                  ? 256u + 33 + (b - 0x7Fu)
                                                                               : 256u + 67;
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* The merge rank of the pair, the merge queue's key (lowest first). */
static int pair_rank(const struct wk_tok *t, const char *text, uint32_t size, uint32_t split, double *key)
{
    int32_t rank = wk_tokmap_get(&t->ranks, text, size, split);
    *key = rank;
    return rank >= 0;
}

/* A final symbol: its token, else (as llama.cpp) each of its bytes that is a
 * one-byte token; the other bytes are dropped. */
static int emit_sym(const struct wk_tok *t, const char *w, uint32_t off, uint32_t n, int32_t **out,
                    size_t *no, size_t *cap, wk_err *err)
{
    int32_t id = wk_tokmap_get(&t->ids, w + off, n, 0);
    if (id >= 0) return wk_tok_push(out, no, cap, id, err);
    for (uint32_t k = 0; k < n; k++)
        if ((id = wk_tokmap_get(&t->ids, w + off + k, 1, 0)) >= 0) WK_TRY(wk_tok_push(out, no, cap, id, err));
    return 0;
}

/* Encode the byte-level word w (wl bytes); sy and q are scratch (sy >= wl entries). */
static int word(const struct wk_tok *t, const char *w, uint32_t wl, wk_tok_sym *sy, wk_tok_heap *q,
                int32_t **out, size_t *no, size_t *cap, wk_err *err)
{
    if (t->ignore_merges && wk_tokmap_get(&t->ids, w, wl, 0) >= 0) return emit_sym(t, w, 0, wl, out, no, cap, err);
    int32_t ns = wk_tok_split_chars(w, wl, sy);
    WK_TRY(wk_tok_merge(t, w, sy, ns, q, pair_rank, err));
    for (int32_t i = 0; ns && i != -1; i = sy[i].next) WK_TRY(emit_sym(t, w, sy[i].off, sy[i].n, out, no, cap, err));
    return 0;
}

int wk_tok_bpe_fragment(const struct wk_tok *t, const char *s, size_t len, int32_t **out, size_t *no,
                        size_t *cap, wk_err *err)
{
    words w = {0};
    char *enc = malloc(2 * len + 1);
    wk_tok_sym *sy = malloc((2 * len + 1) * sizeof *sy);
    wk_tok_heap q = {.what = "BPE merge queue"};
    int rc = -1;
    WK_FAIL_GOTO(!enc || !sy, done, err, WK_E_NOMEM, "out of memory (%zu bytes of text)", len);
    WK_TRY_GOTO(split_all(t->re, s, len, &w, err), done);
    size_t at = 0;
    for (size_t i = 0; i < w.n; at += w.len[i++]) {
        uint32_t el = 0;
        for (size_t k = 0; k < w.len[i]; k++) el += (uint32_t)byte_char((uint8_t)s[at + k], enc + el);
        if (el) WK_TRY_GOTO(word(t, enc, el, sy, &q, out, no, cap, err), done);
    }
    rc = 0;
done:
    free(q.h);
    free(sy);
    free(enc);
    free(w.len);
    return rc;
}
