/* wk_tok_spm.c — the SentencePiece BPE encoder of one text fragment, as llama.cpp's
 * llm_tokenizer_spm_session (docs/tokenize.md, section 2): spaces -> U+2581 (with
 * one before the text when the dummy prefix applies), one symbol per UTF-8
 * character, then repeatedly merge the adjacent pair whose concatenation is a token
 * of highest score (ties: the leftmost pair), and finally each symbol is its token
 * or, when it is none, its bytes as <0xXX> tokens (byte fallback). */
#include <stdlib.h>
#include <string.h>

#include "wk_tok_impl.h"
#include "wk_tokenize.h"

/* The negated score of the token the pair makes, the merge queue's key (highest
 * score first). */
static int pair_score(const struct wk_tok *t, const char *text, uint32_t size, uint32_t split, double *key)
{
    (void)split;
    int32_t id = wk_tokmap_get(&t->ids, text, size, 0);
    if (id < 0) return 0;
    *key = -(double)t->score[id];
    return 1;
}

/* The ids of the final symbols: the token, or its bytes (llama.cpp's byte_to_token:
 * <0xXX>, else the one-byte text). */
static int emit(const struct wk_tok *t, const char *w, const wk_tok_sym *s, int32_t **out, size_t *n, size_t *cap,
                wk_err *err)
{
    for (int32_t i = 0; i != -1; i = s[i].next) {
        int32_t id = wk_tokmap_get(&t->ids, w + s[i].off, s[i].n, 0);
        if (id >= 0) {
            WK_TRY(wk_tok_push(out, n, cap, id, err));
            continue;
        }
        for (uint32_t k = 0; k < s[i].n; k++) {
            uint8_t b = (uint8_t)w[s[i].off + k];
            WK_FAIL_IF(t->byte_tok[b] < 0, err, WK_E_UNSUPPORTED,
                       "text: no token for byte 0x%02X (no <0x%02X> in the vocabulary for the byte "
                       "fallback; llama.cpp fails here too)", b, b);
            WK_TRY(wk_tok_push(out, n, cap, t->byte_tok[b], err));
        }
    }
    return 0;
}

int wk_tok_spm_fragment(const struct wk_tok *t, const char *s, size_t len, int prefix, int32_t **out,
                        size_t *n, size_t *cap, wk_err *err)
{
    size_t wl = 0;
    char *w = malloc(3 * len + 3);
    wk_tok_sym *sy = malloc((len + 1) * sizeof *sy);
    wk_tok_heap q = {.what = "SentencePiece merge queue"};
    int rc = -1;
    WK_FAIL_GOTO(!w || !sy, done, err, WK_E_NOMEM, "out of memory (%zu bytes of text)", len);
    if (prefix) memcpy(w, "\xe2\x96\x81", 3), wl = 3;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ' ') memcpy(w + wl, "\xe2\x96\x81", 3), wl += 3;
        else w[wl++] = s[i];
    int32_t ns = wk_tok_split_chars(w, wl, sy);
    if (ns == 0) {
        rc = 0;
        goto done;
    }
    WK_TRY_GOTO(wk_tok_merge(t, w, sy, ns, &q, pair_score, err), done);
    WK_TRY_GOTO(emit(t, w, sy, out, n, cap, err), done);
    rc = 0;
done:
    free(q.h);
    free(sy);
    free(w);
    return rc;
}
