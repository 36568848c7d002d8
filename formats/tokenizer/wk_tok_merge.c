/* wk_tok_merge.c — the symbol merge loop of the two encoders (wk_tok_spm.c,
 * wk_tok_bpe.c; docs/tokenize.md sections 2 and 3): a binary heap of adjacent
 * pairs ordered by a key the encoder gives (merge rank, or negated score), ties to
 * the leftmost pair, as llama.cpp's llm_bigram_spm / llm_bigram_bpe queues. */
#include <stdlib.h>

#include "wk_tok_impl.h"

/* a pops before b: lower key, then smaller left. */
static int before(const wk_tok_bigram *a, const wk_tok_bigram *b)
{
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static int heap_push(wk_tok_heap *q, wk_tok_bigram b, wk_err *err)
{
    if (q->n == q->cap) {
        size_t nc = q->cap ? 2 * q->cap : 64;
        wk_tok_bigram *p = realloc(q->h, nc * sizeof *p);
        WK_FAIL_IF(!p, err, WK_E_NOMEM, "out of memory (%s)", q->what);
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

static wk_tok_bigram heap_pop(wk_tok_heap *q)
{
    wk_tok_bigram top = q->h[0], last = q->h[--q->n];
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

/* Queue the pair (left, right) if it has a key. */
static int try_pair(const struct wk_tok *t, const char *w, const wk_tok_sym *s, int32_t left, int32_t right,
                    wk_tok_heap *q, wk_tok_pair_key key, wk_err *err)
{
    if (left < 0 || right < 0) return 0;
    uint32_t size = s[left].n + s[right].n;
    double k;
    if (!key(t, w + s[left].off, size, s[left].n, &k)) return 0;
    return heap_push(q, (wk_tok_bigram){k, left, right, size}, err);
}

int32_t wk_tok_split_chars(const char *w, size_t wl, wk_tok_sym *sy)
{
    int32_t ns = 0;
    for (size_t o = 0; o < wl; ns++) {   /* valid UTF-8: lengths from the lead byte */
        uint8_t c = (uint8_t)w[o];
        uint32_t cl = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        sy[ns] = (wk_tok_sym){ns - 1, o + cl == wl ? -1 : ns + 1, (uint32_t)o, cl};
        o += cl;
    }
    return ns;
}

int wk_tok_merge(const struct wk_tok *t, const char *w, wk_tok_sym *s, int32_t ns, wk_tok_heap *q,
                 wk_tok_pair_key key, wk_err *err)
{
    q->n = 0;
    for (int32_t i = 1; i < ns; i++) WK_TRY(try_pair(t, w, s, i - 1, i, q, key, err));
    while (q->n) {
        wk_tok_bigram b = heap_pop(q);
        wk_tok_sym *l = &s[b.left], *r = &s[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;   /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s[r->next].prev = b.left;
        WK_TRY(try_pair(t, w, s, l->prev, b.left, q, key, err));
        WK_TRY(try_pair(t, w, s, b.left, l->next, q, key, err));
    }
    return 0;
}
