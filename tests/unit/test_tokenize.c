/* test_tokenize.c — wk_tokenize's two encoders on tiny crafted vocabularies (in-memory
 * GGUFs): the SentencePiece rules (dummy prefix, U+2581, score order, leftmost tie, byte
 * fallback, user-defined tokens), the byte-level BPE rules (byte alphabet, rank order,
 * pre-tokenizer split, ignore_merges), refusals by name and invalid UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "wk_buf.h"
#include "wk_gguf.h"
#include "wk_test.h"
#include "wk_tokenize.h"

typedef struct {
    const char *text;
    float score;
    int type;
} vtok;

/* A GGUF holding only tokenizer KVs: model, tokens/scores/types, merges (BPE), pre. */
static wk_gguf *make(wk_buf *b, const char *model, const char *pre, const vtok *v, size_t n,
                     const char *const *merges, size_t nm, int add_space_prefix)
{
    wk_err err;
    wk_buf_init(b);
    wk_ggufw *w = wk_ggufw_new(0, &err);
    const char **txt = calloc(n, sizeof *txt);
    size_t *len = calloc(n, sizeof *len), *ml = calloc(nm + 1, sizeof *ml);
    float *sc = calloc(n, sizeof *sc);
    int32_t *ty = calloc(n, sizeof *ty);
    for (size_t i = 0; i < n; i++) {
        txt[i] = v[i].text;
        len[i] = strlen(v[i].text);
        sc[i] = v[i].score;
        ty[i] = v[i].type ? v[i].type : 1;
    }
    for (size_t i = 0; i < nm; i++) ml[i] = strlen(merges[i]);
    int rc = wk_ggufw_kv_str(w, "tokenizer.ggml.model", model, strlen(model), &err) ||
             wk_ggufw_kv_arr_str(w, "tokenizer.ggml.tokens", txt, len, n, &err) ||
             wk_ggufw_kv_arr(w, "tokenizer.ggml.scores", WK_GGUF_FLOAT32, sc, n, &err) ||
             wk_ggufw_kv_arr(w, "tokenizer.ggml.token_type", WK_GGUF_INT32, ty, n, &err) ||
             (pre && wk_ggufw_kv_str(w, "tokenizer.ggml.pre", pre, strlen(pre), &err)) ||
             (nm && wk_ggufw_kv_arr_str(w, "tokenizer.ggml.merges", merges, ml, nm, &err)) ||
             (!add_space_prefix && wk_ggufw_kv_bool(w, "tokenizer.ggml.add_space_prefix", 0, &err)) ||
             wk_ggufw_begin(w, wk_sink_buf(b), &err) || wk_ggufw_finish(w, &err);
    CHECK_MSG(!rc, "gguf: %s", err.msg);
    wk_ggufw_free(w);
    free(txt);
    free(len);
    free(ml);
    free(sc);
    free(ty);
    wk_gguf *g = wk_gguf_open_buffer(b->data, b->len, "t.gguf", &err);
    CHECK_MSG(g, "open: %s", err.msg);
    return g;
}

/* "1 2 3" of encode(text) (or "ERR <code>"), in a static buffer. */
static const char *enc(const wk_tok *t, const char *text, int bos)
{
    static char out[2048];
    int32_t *ids;
    size_t n, at = 0;
    wk_err err;
    if (wk_tok_encode(t, text, strlen(text), bos, &ids, &n, &err)) {
        snprintf(out, sizeof out, "ERR %d %s", (int)err.code, err.msg);
        return out;
    }
    out[0] = 0;
    for (size_t i = 0; i < n && at < sizeof out - 16; i++) at += (size_t)sprintf(out + at, i ? " %d" : "%d", ids[i]);
    free(ids);
    return out;
}

#define U "\xe2\x96\x81"   /* U+2581 */

/* 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then: */
enum { A = 259, B, C, SP, SPA, AB, BC, AA, X };
static vtok *spm_vocab(size_t *n)
{
    static char hex[256][8];
    static vtok v[270];
    v[0] = (vtok){"<unk>", 0, 2};
    v[1] = (vtok){"<s>", 0, 3};
    v[2] = (vtok){"</s>", 0, 3};
    for (int i = 0; i < 256; i++) {
        snprintf(hex[i], sizeof hex[i], "<0x%02X>", i);
        v[3 + i] = (vtok){hex[i], 0, 6};
    }
    v[A] = (vtok){"a", -1, 1};
    v[B] = (vtok){"b", -1, 1};
    v[C] = (vtok){"c", -1, 1};
    v[SP] = (vtok){U, -1, 1};
    v[SPA] = (vtok){U "a", -2, 1};
    v[AB] = (vtok){"ab", -3, 1};
    v[BC] = (vtok){"bc", -2.5f, 1};
    v[AA] = (vtok){"aa", -2, 1};
    v[X] = (vtok){"<x>", 0, 4};   /* user-defined */
    *n = X + 1;
    return v;
}

static void test_spm_rules(void)
{
    size_t n;
    vtok *v = spm_vocab(&n);
    wk_buf b;
    wk_err err;
    wk_gguf *g = make(&b, "llama", "default", v, n, NULL, 0, 1);
    wk_tok *t = wk_tok_open_gguf(g, &err);
    CHECK_MSG(t, "%s", err.msg);
    if (!t) goto out;
    CHECK_EQ_STR(wk_tok_kind(t), "spm");
    CHECK_EQ_U64(wk_tok_bos(t), 1);
    CHECK_EQ_U64(wk_tok_add_bos(t), 1);
    char want[64];
    /* the dummy prefix: "▁a" merges first (score -2), then nothing; spaces -> ▁ */
    snprintf(want, sizeof want, "1 %d %d %d", SPA, SP, B);
    CHECK_EQ_STR(enc(t, "a b", 1), want);
    /* bc (-2.5) before ab (-3): "▁abc" -> ▁a bc? no: ▁a (-2) first, then bc */
    snprintf(want, sizeof want, "%d %d", SPA, BC);
    CHECK_EQ_STR(enc(t, "abc", 0), want);
    /* byte fallback for é (C3 A9), after ▁ */
    snprintf(want, sizeof want, "%d %d %d", SP, 3 + 0xC3, 3 + 0xA9);
    CHECK_EQ_STR(enc(t, "\xc3\xa9", 0), want);
    /* empty text: nothing (BOS only when asked) */
    CHECK_EQ_STR(enc(t, "", 0), "");
    CHECK_EQ_STR(enc(t, "", 1), "1");
    /* a user-defined token is cut out; the text after it gets the prefix again */
    snprintf(want, sizeof want, "%d %d %d", SPA, X, SPA);
    CHECK_EQ_STR(enc(t, "a<x>a", 0), want);
    /* control tokens are text (parse_special = false): "<s>" is spelled out */
    CHECK(strstr(enc(t, "<s>", 0), " ") != NULL);
    /* invalid UTF-8: the byte offset */
    const char *e = enc(t, "ab\xc3(", 0);
    CHECK_MSG(strstr(e, "ERR 3") && strstr(e, "byte 2"), "%s", e);
    e = enc(t, "\xed\xa0\x80", 0);   /* a surrogate */
    CHECK_MSG(strstr(e, "ERR 3") && strstr(e, "byte 0"), "%s", e);
out:
    wk_tok_close(t);
    wk_gguf_close(g);
    wk_buf_free(&b);
}

static void test_spm_tie_no_prefix(void)
{
    size_t n;
    vtok *v = spm_vocab(&n);
    wk_buf b;
    wk_err err;
    wk_gguf *g = make(&b, "llama", NULL, v, n, NULL, 0, 0);
    wk_tok *t = wk_tok_open_gguf(g, &err);
    CHECK_MSG(t, "%s", err.msg);
    if (t) {
        char want[64];
        /* "aaa": the two "aa" pairs tie; the leftmost merges */
        snprintf(want, sizeof want, "%d %d", AA, A);
        CHECK_EQ_STR(enc(t, "aaa", 0), want);
        /* no dummy prefix: a leading space is ▁ itself */
        snprintf(want, sizeof want, "%d %d", SPA, A);
        CHECK_EQ_STR(enc(t, " aa", 0), want);
    }
    wk_tok_close(t);
    wk_gguf_close(g);
    wk_buf_free(&b);
}

static void test_refusals(void)
{
    size_t n;
    vtok *v = spm_vocab(&n);
    wk_buf b;
    wk_err err;
    wk_gguf *g = make(&b, "bert", NULL, v, n, NULL, 0, 1);
    wk_tok *t = wk_tok_open_gguf(g, &err);
    CHECK(!t && err.code == WK_E_UNSUPPORTED && strstr(err.msg, "\"bert\""));
    wk_gguf_close(g);
    wk_buf_free(&b);
    static const char *const m[] = {"a b"};
    g = make(&b, "gpt2", "falcon", v, n, m, 1, 1);
    t = wk_tok_open_gguf(g, &err);
    CHECK_MSG(!t && err.code == WK_E_UNSUPPORTED && strstr(err.msg, "\"falcon\"") && strstr(err.msg, "llama-bpe"),
              "%s", err.msg);
    wk_gguf_close(g);
    wk_buf_free(&b);
}

/* byte-level: 'a' 'b' 'c' 's' '\'' are themselves, ' ' is Ġ (U+0120), '\n' Ċ (U+010A) */
#define G "\xc4\xa0"
static void test_bpe_rules(void)
{
    static const vtok v[] = {{"a", 0, 1},  {"b", 0, 1},  {"c", 0, 1},   {G, 0, 1},       {"\xc4\x8a", 0, 1},
                             {"ab", 0, 1}, {"bc", 0, 1}, {G "a", 0, 1}, {"abc", 0, 1}, {"'", 0, 1},
                             {"s", 0, 1},  {"'s", 0, 1}};
    static const char *const m[] = {"a b", "b c", G " a", "' s"};
    const char *pres[] = {"gpt-2", "llama-bpe"};
    for (int k = 0; k < 2; k++) {
        wk_buf b;
        wk_err err;
        wk_gguf *g = make(&b, "gpt2", pres[k], v, sizeof v / sizeof *v, m, 4, 1);
        wk_tok *t = wk_tok_open_gguf(g, &err);
        CHECK_MSG(t, "%s", err.msg);
        if (t) {
            CHECK_EQ_U64(wk_tok_bos(t), 11);   /* llama.cpp's default for gpt2 */
            CHECK_EQ_U64(wk_tok_add_bos(t), k);   /* no add_bos_token key: true for llama-bpe only */
            CHECK_EQ_STR(wk_tok_kind(t), k ? "bpe:llama-bpe" : "bpe:gpt-2");
            /* rank order: ab (0) before bc (1); "abc" is a token but no merge makes it,
             * except with llama-bpe's ignore_merges (the whole word is a token) */
            CHECK_EQ_STR(enc(t, "abc", 0), k ? "8" : "5 2");
            /* pre-tokenizer: " abc" is one word; Ġa (2) loses to ab (0) */
            CHECK_EQ_STR(enc(t, "bc abc", 0), k ? "6 3 5 2" : "6 3 5 2");
            /* contractions split off; newline is Ċ */
            CHECK_EQ_STR(enc(t, "a's\n", 0), k ? "0 11 4" : "0 11 4");
        }
        wk_tok_close(t);
        wk_gguf_close(g);
        wk_buf_free(&b);
    }
}

int main(void)
{
    WK_RUN(test_spm_rules);
    WK_RUN(test_spm_tie_no_prefix);
    WK_RUN(test_refusals);
    WK_RUN(test_bpe_rules);
    return wk_test_summary();
}
