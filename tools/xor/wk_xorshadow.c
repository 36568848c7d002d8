/* wk_xorshadow.c — candidate bases hashed beside one decode pass (see the
 * header). */
#include "wk_xorshadow.h"

#include "wk_hash.h"
#include "wk_io.h"
#include "wk_manifest.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t off, len;   /* output range; its bytes at data + (sum of earlier lens) */
} xs_range;

typedef struct {
    wk_xorbase *b;       /* the candidate's base; NULL once dropped */
    uint8_t *bk, *xk;    /* chunk buffers: its base bytes, its output bytes ... */
    size_t buf_cap;      /* ... of this size (grown to the largest chunk seen) */
    wk_hash *h;          /* its output's hash, from its first difference on; NULL before */
    xs_range *r;
    size_t nr, r_cap;
    uint8_t *data;
    uint64_t data_len, data_cap;
    int dropped;
    int verdict;         /* -1 not judged, 0 differs, 1 matches */
} xs_cand;

struct wk_xs {
    xs_cand c[WK_XS_MAX];
    size_t n;
    uint8_t expect[WK_MANIFEST_DIGEST];
    uint64_t cap;
    int winner;
    wk_xor_shadow hook;
};

/* Drop candidate k: stop its producer, free what it holds. */
static void cand_drop(xs_cand *k)
{
    wk_xorbase_close(k->b);
    k->b = NULL;
    wk_hash_free(k->h);
    k->h = NULL;
    free(k->r);
    k->r = NULL;
    k->nr = k->r_cap = 0;
    free(k->data);
    k->data = NULL;
    k->data_len = k->data_cap = 0;
    k->dropped = 1;
}

/* Append output range [off, off+len) with its bytes p to k's patch
 * (extending the last range when adjacent); 0, or -1 when the patch would
 * pass cap or memory runs out (the caller drops k). */
static int patch_add(xs_cand *k, uint64_t cap, uint64_t off, const uint8_t *p, size_t len)
{
    int extend = k->nr && k->r[k->nr - 1].off + k->r[k->nr - 1].len == off;
    uint64_t need = k->data_len + len + (uint64_t)(k->nr + !extend) * sizeof(xs_range);
    if (need > cap) return -1;
    if (!extend && k->nr == k->r_cap) {
        size_t nc = k->r_cap ? 2 * k->r_cap : 16;
        if ((uint64_t)nc * sizeof(xs_range) > cap + sizeof(xs_range))   /* never past the cap */
            nc = (size_t)(cap / sizeof(xs_range)) + 1;
        xs_range *r = realloc(k->r, nc * sizeof *r);
        if (!r) return -1;
        k->r = r;
        k->r_cap = nc;
    }
    if (k->data_len + len > k->data_cap) {
        uint64_t nc = k->data_cap ? 2 * k->data_cap : 4096;
        while (nc < k->data_len + len) nc *= 2;
        if (nc > cap) nc = cap;   /* >= data_len + len: need <= cap above */
        uint8_t *d = realloc(k->data, (size_t)nc);
        if (!d) return -1;
        k->data = d;
        k->data_cap = nc;
    }
    memcpy(k->data + k->data_len, p, len);
    k->data_len += len;
    if (extend) k->r[k->nr - 1].len += len;
    else k->r[k->nr++] = (xs_range){off, len};
    return 0;
}

/* Base 0's byte i of the chunk (zero past its m bytes). */
static inline uint8_t b0_at(const uint8_t *b0, size_t m, size_t i) { return i < m ? b0[i] : 0; }

/* First index >= i where b0 (m bytes, zero-extended) and bk differ; n if none. */
static size_t next_diff(const uint8_t *b0, size_t m, const uint8_t *bk, size_t i, size_t n)
{
    while (i + 64 <= m && memcmp(b0 + i, bk + i, 64) == 0) i += 64;
    while (i < n && b0_at(b0, m, i) == bk[i]) i++;
    return i;
}

/* First index >= i where they agree again; n if none. */
static size_t next_same(const uint8_t *b0, size_t m, const uint8_t *bk, size_t i, size_t n)
{
    while (i < n && b0_at(b0, m, i) != bk[i]) i++;
    return i;
}

/* One chunk for candidate k; -1 means drop it (not an error of the pass). */
static int cand_chunk(xs_cand *k, uint64_t cap, const uint8_t *pl, const uint8_t *b0, size_t m,
                      size_t n, uint64_t pos, const wk_hash *h0)
{
    wk_err e;
    size_t mk = 0;
    if (n > k->buf_cap) {  /* a small file needs small buffers */
        uint8_t *bk = realloc(k->bk, n), *xk = bk ? realloc(k->xk, n) : NULL;
        if (bk) k->bk = bk;
        if (!xk) return -1;
        k->xk = xk;
        k->buf_cap = n;
    }
    if (wk_xorbase_read(k->b, k->bk, n, &mk, &e)) return -1;
    memset(k->bk + mk, 0, n - mk);   /* a shorter base is zero-extended */
    size_t i = next_diff(b0, m, k->bk, 0, n);
    if (i == n && !k->h) return 0;   /* the same output so far: nothing to keep */
    wk_xor_apply(k->xk, pl, n, k->bk, n, 0);
    if (!k->h && !(k->h = wk_hash_clone(h0, &e))) return -1;
    if (wk_hash_update(k->h, k->xk, n, &e)) return -1;
    while (i < n) {
        size_t j = next_same(b0, m, k->bk, i, n);
        if (patch_add(k, cap, pos + i, k->xk + i, j - i)) return -1;
        i = next_diff(b0, m, k->bk, j, n);
    }
    return 0;
}

static int xs_chunk(void *ctx, const uint8_t *pl, const uint8_t *base, size_t m, size_t n,
                    uint64_t pos, const wk_hash *h, wk_err *err)
{
    (void)err;
    wk_xs *s = ctx;
    for (size_t k = 0; k < s->n; k++)
        if (!s->c[k].dropped && cand_chunk(&s->c[k], s->cap, pl, base, m, n, pos, h))
            cand_drop(&s->c[k]);
    return 0;
}

/* Candidate k's digest: its own hash, or the output's when it never differed. */
static int cand_digest(xs_cand *k, const uint8_t *sha0, uint8_t *out, wk_err *err)
{
    if (!k->h) {
        memcpy(out, sha0, WK_MANIFEST_DIGEST);
        return 0;
    }
    uint8_t d[WK_HASH_MAX_DIGEST];
    WK_TRY(wk_hash_digest(k->h, d, err));
    memcpy(out, d, WK_MANIFEST_DIGEST);
    return 0;
}

static int xs_finish(void *ctx, wk_out *o, uint8_t *sha, wk_err *err)
{
    wk_xs *s = ctx;
    int zero_ok = memcmp(sha, s->expect, WK_MANIFEST_DIGEST) == 0;
    for (size_t i = 0; i < s->n; i++) {
        xs_cand *k = &s->c[i];
        if (k->dropped) continue;
        uint8_t d[WK_MANIFEST_DIGEST];
        WK_TRY(cand_digest(k, sha, d, err));
        k->verdict = memcmp(d, s->expect, WK_MANIFEST_DIGEST) == 0;
        if (!k->verdict || zero_ok || s->winner >= 0) continue;
        uint64_t at = 0;
        for (size_t r = 0; r < k->nr; r++) {
            WK_TRY(wk_out_pwrite(o, k->r[r].off, k->data + at, (size_t)k->r[r].len, err));
            at += k->r[r].len;
        }
        s->winner = (int)i;
    }
    if (s->winner >= 0) memcpy(sha, s->expect, WK_MANIFEST_DIGEST);
    return 0;
}

wk_xs *wk_xs_new(const wk_xs_cand *c, size_t n, const uint8_t *expect, uint64_t cap, wk_err *err)
{
    wk_xs *s = n && n <= WK_XS_MAX ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    s->n = n;
    s->winner = -1;
    memcpy(s->expect, expect, WK_MANIFEST_DIGEST);
    s->cap = cap ? cap : (WK_XS_BUDGET / n < WK_XS_CAP ? WK_XS_BUDGET / n : WK_XS_CAP);
    s->hook = (wk_xor_shadow){xs_chunk, xs_finish, s};
    for (size_t k = 0; k < n; k++) {
        xs_cand *q = &s->c[k];
        q->verdict = -1;
        size_t ring = c[k].size && c[k].size < WK_XS_RING ? (size_t)c[k].size : WK_XS_RING;
        if (!(q->b = wk_xorbase_start_ring(c[k].fn, c[k].ctx, c[k].label, ring, err))) {
            s->n = k + 1;
            wk_xs_free(s);
            return NULL;
        }
    }
    return s;
}

const wk_xor_shadow *wk_xs_shadow(wk_xs *s) { return &s->hook; }
int wk_xs_winner(const wk_xs *s) { return s->winner; }
int wk_xs_dropped(const wk_xs *s, size_t k) { return s->c[k].dropped; }
int wk_xs_verdict(const wk_xs *s, size_t k) { return s->c[k].verdict; }

void wk_xs_free(wk_xs *s)
{
    if (!s) return;
    for (size_t k = 0; k < s->n; k++) {
        cand_drop(&s->c[k]);
        free(s->c[k].bk);
        free(s->c[k].xk);
    }
    free(s);
}
