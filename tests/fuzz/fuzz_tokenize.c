/* fuzz_tokenize.c — libFuzzer target for the text encoders (formats/tokenizer/wk_tokenize.h).
 *
 * Input: byte 0 picks the vocabulary — a small SentencePiece one (every byte has its <0xXX>
 * token) or a small byte-level BPE one (all 256 byte characters, a few merges) under each
 * implemented pre-tokenizer —, the rest is the text.  Checks: invalid UTF-8 is refused with
 * WK_E_FORMAT and valid text is encoded; every id is inside the vocabulary; and decoding the
 * ids gives the text back (SPM: U+2581 -> space, <0xXX> -> the byte, minus the dummy-prefix
 * space; BPE: the byte-level alphabet back to bytes), i.e. no byte is lost or invented. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_buf.h"
#include "wk_gguf.h"
#include "wk_tokenize.h"
#include "wk_utf8.h"

static const char *const k_pre[] = {"llama-bpe", "smaug-bpe", "qwen2", "qwen35", "gpt-2", "starcoder",
                                    "tekken", "gpt-4o", "deepseek-llm", "deepseek-coder"};
#define N_PRE (sizeof k_pre / sizeof *k_pre)
#define N_VOCAB (1 + N_PRE)

static wk_tok *g_tok[N_VOCAB];
static char g_text[N_VOCAB][300][16];   /* token texts */
static size_t g_n[N_VOCAB];

/* GPT-2's byte -> code point. */
static uint32_t byte_cp(unsigned b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) return b;
    return b <= 0x20 ? 256 + b : b <= 0xA0 ? 256 + 33 + (b - 0x7F) : 256 + 67;
}

static wk_tok *build(int v)
{
    static const char *const spm_extra[] = {"\xe2\x96\x81", "\xe2\x96\x81t", "he", "\xe2\x96\x81the", "in",
                                            "aa", "\xe2\x96\x81\xe2\x96\x81", "\xe6\x97\xa5"};
    static const char *const bpe_merges[] = {"\xc4\xa0 t", "h e", "\xc4\xa0t he", "i n", "a a", "aa aa"};
    static const char *const bpe_extra[] = {"\xc4\xa0t", "he", "\xc4\xa0the", "in", "aa", "aaaa"};
    const char *txt[300];
    size_t len[300], n = 0, ml[6];
    float sc[300];
    int32_t ty[300];
    if (v == 0) {
        for (unsigned b = 0; b < 256; b++, n++) snprintf(g_text[v][n], 16, "<0x%02X>", b), ty[n] = 6, sc[n] = 0;
        for (size_t k = 0; k < sizeof spm_extra / sizeof *spm_extra; k++, n++)
            snprintf(g_text[v][n], 16, "%s", spm_extra[k]), ty[n] = 1, sc[n] = -(float)(k % 3);
    } else {
        for (unsigned b = 0; b < 256; b++, n++) {
            uint8_t u[4];
            size_t l = wk_utf8_encode(byte_cp(b), u);
            memcpy(g_text[v][n], u, l);
            g_text[v][n][l] = 0;
            ty[n] = 1, sc[n] = 0;
        }
        for (size_t k = 0; k < 6; k++, n++) snprintf(g_text[v][n], 16, "%s", bpe_extra[k]), ty[n] = 1, sc[n] = 0;
        for (size_t k = 0; k < 6; k++) ml[k] = strlen(bpe_merges[k]);
    }
    for (size_t i = 0; i < n; i++) txt[i] = g_text[v][i], len[i] = strlen(txt[i]);
    g_n[v] = n;
    wk_err err;
    wk_buf *b = calloc(1, sizeof *b);   /* kept: the GGUF reader borrows it (not freed) */
    wk_buf_init(b);
    wk_ggufw *w = wk_ggufw_new(0, &err);
    const char *model = v ? "gpt2" : "llama";
    if (wk_ggufw_kv_str(w, "tokenizer.ggml.model", model, strlen(model), &err) ||
        wk_ggufw_kv_arr_str(w, "tokenizer.ggml.tokens", txt, len, n, &err) ||
        wk_ggufw_kv_arr(w, "tokenizer.ggml.scores", WK_GGUF_FLOAT32, sc, n, &err) ||
        wk_ggufw_kv_arr(w, "tokenizer.ggml.token_type", WK_GGUF_INT32, ty, n, &err) ||
        (v && wk_ggufw_kv_str(w, "tokenizer.ggml.pre", k_pre[v - 1], strlen(k_pre[v - 1]), &err)) ||
        (v && wk_ggufw_kv_arr_str(w, "tokenizer.ggml.merges", bpe_merges, ml, 6, &err)) ||
        wk_ggufw_begin(w, wk_sink_buf(b), &err) || wk_ggufw_finish(w, &err))
        abort();
    wk_ggufw_free(w);
    wk_gguf *g = wk_gguf_open_buffer(b->data, b->len, "fuzz.gguf", &err);
    wk_tok *t = g ? wk_tok_open_gguf(g, &err) : NULL;
    if (!t) {
        fprintf(stderr, "fuzz_tokenize: vocabulary %d: %s\n", v, err.msg);
        abort();
    }
    wk_gguf_close(g);   /* the tokenizer keeps copies */
    wk_buf_free(b);
    free(b);
    return t;
}

/* Decode ids to bytes into out (cap >= 4 * n * 16); returns the length. */
static size_t decode(int v, const int32_t *ids, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = g_text[v][ids[i]];
        size_t l = strlen(s);
        if (v == 0) {
            unsigned x;
            if (l == 6 && sscanf(s, "<0x%02X>", &x) == 1) {
                out[o++] = (uint8_t)x;
                continue;
            }
            for (size_t k = 0; k < l;)
                if (!memcmp(s + k, "\xe2\x96\x81", 3)) out[o++] = ' ', k += 3;
                else out[o++] = (uint8_t)s[k++];
        } else {
            for (size_t k = 0; k < l;) {
                uint32_t cp = 0;
                size_t cl = wk_utf8_decode(s + k, l - k, &cp);
                if (!cl) abort();
                unsigned b = 0;
                while (b < 256 && byte_cp(b) != cp) b++;
                if (b == 256) abort();
                out[o++] = (uint8_t)b;
                k += cl;
            }
        }
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    int v = data[0] % N_VOCAB;
    if (!g_tok[v]) g_tok[v] = build(v);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int32_t *ids = NULL;
    size_t n = 0;
    wk_err err;
    int rc = wk_tok_encode(g_tok[v], text, len, 0, &ids, &n, &err);
    int valid = wk_utf8_valid(text, len);
    if (!valid) {
        if (rc == 0 || err.code != WK_E_FORMAT) abort();
        return 0;
    }
    if (rc) {
        fprintf(stderr, "fuzz_tokenize: valid text refused: %s\n", err.msg);
        abort();
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= g_n[v]) abort();
    uint8_t *out = malloc(n * 16 + 1);
    size_t ol = decode(v, ids, n, out);
    /* SPM: the dummy prefix adds one space before non-empty text, and a U+2581 in the
     * text is a space to SentencePiece (it decodes as one) */
    uint8_t *want = malloc(len + 1);
    size_t wl = 0;
    if (v == 0 && len > 0) want[wl++] = ' ';
    for (size_t k = 0; k < len;)
        if (v == 0 && k + 3 <= len && !memcmp(text + k, "\xe2\x96\x81", 3)) want[wl++] = ' ', k += 3;
        else want[wl++] = (uint8_t)text[k++];
    if (ol != wl || memcmp(out, want, wl) != 0) abort();
    free(want);
    free(out);
    free(ids);
    return 0;
}
