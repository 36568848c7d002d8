/* wk_tok_spm.c — the SentencePiece BPE encoder of one text fragment, as llama.cpp's
 * llm_tokenizer_spm_session (docs/tokenize.md, section 2): spaces -> U+2581 (with
 * one before the text when the dummy prefix applies), one symbol per UTF-8
 * character, then repeatedly merge the adjacent pair whose concatenation is a token
 * of highest score (ties: the leftmost pair), and finally each symbol is its token
 * or, when it is none, its bytes as <0xXX> tokens (byte fallback). */
#include <stdlib.h>
#include <string.h>

#include "internal/wk_tok_impl.h"
#include "wk_tokenize.h"

typedef struct {
    int32_t prev, next;
    uint32_t off, n;   /* bytes of the working text */
} sym;

typedef struct {
    float score;
    int32_t left, right;
    uint32_t size;
} bigram;

/* a pops before b: higher score, then smaller left (llama.cpp's comparator). */
static int before(const bigram *a, const bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

typedef struct {
    bigram *h;
    size_t n, cap;
} heap;

static int heap_push(heap *q, bigram b, wk_err *err)
{
    if (q->n == q->cap) {
        size_t nc = q->cap ? 2 * q->cap : 64;
        bigram *p = realloc(q->h, nc * sizeof *p);
        WK_FAIL_IF(!p, err, WK_E_NOMEM, "out of memory (SentencePiece merge queue)");
        q->h = p;
        q->cap = nc;
    }
    size_t i = q->n++;
    while (i > 0 && before(&b, &q->h[(i - 1) / 2])) {
        q->h[i] = q->h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->h[i] = b;
    return 0;
}

static bigram heap_pop(heap *q)
{
    bigram top = q->h[0], last = q->h[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n) break;
        if (c + 1 < q->n && before(&q->h[c + 1], &q->h[c])) c++;
        if (!before(&q->h[c], &last)) break;
        q->h[i] = q->h[c];
        i = c;
    }
    if (q->n) q->h[i] = last;
    return top;
}

/* Queue the pair (left, right) if their text together is a token. */
static int try_pair(const struct wk_tok *t, const char *w, const sym *s, int32_t left, int32_t right, heap *q,
                    wk_err *err)
{
    if (left < 0 || right < 0) return 0;
    uint32_t size = s[left].n + s[right].n;
    int32_t id = wk_tokmap_get(&t->ids, w + s[left].off, size, 0);
    if (id < 0) return 0;
    return heap_push(q, (bigram){t->score[id], left, right, size}, err);
}

/* The ids of the final symbols: the token, or its bytes (llama.cpp's byte_to_token:
 * <0xXX>, else the one-byte text). */
static int emit(const struct wk_tok *t, const char *w, const sym *s, int32_t **out, size_t *n, size_t *cap,
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

static int merge_all(const struct wk_tok *t, const char *w, sym *s, int32_t ns, heap *q, wk_err *err)
{
    for (int32_t i = 1; i < ns; i++) WK_TRY(try_pair(t, w, s, i - 1, i, q, err));
    while (q->n) {
        bigram b = heap_pop(q);
        sym *l = &s[b.left], *r = &s[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;   /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s[r->next].prev = b.left;
        WK_TRY(try_pair(t, w, s, l->prev, b.left, q, err));
        WK_TRY(try_pair(t, w, s, b.left, l->next, q, err));
    }
    return 0;
}

int wk_tok_spm_fragment(const struct wk_tok *t, const char *s, size_t len, int prefix, int32_t **out,
                        size_t *n, size_t *cap, wk_err *err)
{
    size_t wl = 0;
    char *w = malloc(3 * len + 3);
    sym *sy = malloc((len + 1) * sizeof *sy);
    heap q = {0};
    int rc = -1;
    WK_FAIL_GOTO(!w || !sy, done, err, WK_E_NOMEM, "out of memory (%zu bytes of text)", len);
    if (prefix) memcpy(w, "\xe2\x96\x81", 3), wl = 3;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ' ') memcpy(w + wl, "\xe2\x96\x81", 3), wl += 3;
        else w[wl++] = s[i];
    int32_t ns = 0;
    for (size_t o = 0; o < wl; ns++) {   /* the text is valid UTF-8: lengths from the lead byte */
        uint8_t c = (uint8_t)w[o];
        uint32_t cl = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        sy[ns] = (sym){ns - 1, o + cl == wl ? -1 : ns + 1, (uint32_t)o, cl};
        o += cl;
    }
    if (ns == 0) {
        rc = 0;
        goto done;
    }
    WK_TRY_GOTO(merge_all(t, w, sy, ns, &q, err), done);
    WK_TRY_GOTO(emit(t, w, sy, out, n, cap, err), done);
    rc = 0;
done:
    free(q.h);
    free(sy);
    free(w);
    return rc;
}
