/* wk_xorshadow: other candidate bases hashed beside one decode pass, the
 * matching one's differing bytes patched into the output (issue #23).
 * Bases of 5 MiB + a bit, so differences fall inside, at the end of and
 * across the decoder's 1 MiB chunks; a candidate shorter than the payload
 * (zero extension); the patch cap and a failing producer (drop-outs). */
#include "wk_test.h"

#include "wk_hash.h"
#include "wk_io.h"
#include "wk_xor.h"
#include "wk_xorshadow.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const uint8_t *mem;
    size_t n;
    size_t fail_at;    /* fail once this many bytes were pushed (SIZE_MAX: never) */
} src_mem;

/* Push the bytes in uneven steps (so ring writes and chunk reads never align). */
static int src_produce(void *ctx, wk_sink *sink, wk_err *err)
{
    src_mem *m = ctx;
    static const size_t steps[] = {3, 65537, (1u << 20) + 5, 999, 2u << 20};
    size_t off = 0, k = 0;
    while (off < m->n) {
        size_t step = steps[k++ % 5];
        if (step > m->n - off) step = m->n - off;
        if (off + step > m->fail_at)
            return wk_err_set(err, WK_E_IO, "producer failed at %zu", m->fail_at);
        WK_TRY(wk_sink_write(sink, m->mem + off, step, err));
        off += step;
    }
    return 0;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
}

static int file_equals(const char *path, const uint8_t *want, size_t n)
{
    wk_map m;
    wk_err err;
    if (wk_map_open(&m, path, &err)) return 0;
    int same = m.size == n && memcmp(m.data, want, n) == 0;
    wk_map_close(&m);
    return same;
}

#define NB (5u * (1u << 20) + 123)
#define NCAND 4   /* candidate 0 (written) + 3 beside it */

typedef struct {
    uint8_t *base[NCAND];
    size_t len[NCAND];
    uint8_t *target, *pay;
    uint8_t sha[32];
    char *pay_path, *out;
} fixture;

static void fixture_make(fixture *f)
{
    for (int k = 0; k < NCAND; k++) {
        f->base[k] = malloc(NB);
        f->len[k] = NB;
    }
    f->target = malloc(NB);
    f->pay = malloc(NB);
    fill(f->base[0], NB, 1);
    fill(f->target, NB, 2);
    for (int k = 1; k < NCAND; k++) memcpy(f->base[k], f->base[0], NB);
    /* 1: a byte early, a range across the first chunk boundary, the last byte */
    f->base[1][100] ^= 0x5a;
    for (size_t i = (1u << 20) - 10; i < (1u << 20) + 10; i++) f->base[1][i] ^= 0xff;
    f->base[1][NB - 1] ^= 1;
    /* 2: one byte deep inside */
    f->base[2][3u << 20] ^= 0x80;
    /* 3: shorter than the payload: zero-extended, so its last 1000 bytes differ */
    f->len[3] = NB - 1000;
    f->pay_path = wk_path_join(wk_test_tmpdir(), "shadow.xor");
    f->out = wk_path_join(wk_test_tmpdir(), "shadow.out");
    wk_err err;
    CHECK_OK(wk_hash_oneshot(WK_HASH_SHA256, f->target, NB, f->sha, &err), &err);
}

static void fixture_free(fixture *f)
{
    for (int k = 0; k < NCAND; k++) free(f->base[k]);
    free(f->target);
    free(f->pay);
    free(f->pay_path);
    free(f->out);
}

/* The payload made against candidate w's base (its length rule). */
static void payload_for(fixture *f, int w)
{
    for (size_t i = 0; i < NB; i++) f->pay[i] = f->target[i] ^ (i < f->len[w] ? f->base[w][i] : 0);
    FILE *fp = fopen(f->pay_path, "wb");
    CHECK(fp && fwrite(f->pay, 1, NB, fp) == NB);
    if (fp) fclose(fp);
}

/* Decode against candidate 0 with candidates 1..3 beside it. */
static int decode(fixture *f, int pipeline, uint64_t cap, size_t fail_at, wk_xs **xs_out,
                  wk_xor_result *res, wk_err *err)
{
    src_mem src[NCAND];
    wk_xs_cand c[NCAND - 1];
    for (int k = 0; k < NCAND; k++) src[k] = (src_mem){f->base[k], f->len[k], SIZE_MAX};
    src[2].fail_at = fail_at;
    for (int k = 1; k < NCAND; k++)  /* candidate 3 without a size: the default ring */
        c[k - 1] = (wk_xs_cand){src_produce, &src[k], "cand", k == 3 ? 0 : f->len[k]};
    wk_xs *xs = wk_xs_new(c, NCAND - 1, f->sha, cap, err);
    if (!xs) return -1;
    wk_xor_decode_args a = {f->pay_path, NULL, f->out, WK_PAYLOAD_RAW, f->sha, 0, pipeline,
                            NULL, NULL, WK_INFLATE_AUTO, src_produce, &src[0], "cand 0", NB, 0,
                            NULL};
    int rc = wk_xor_decode_file_shadowed(&a, NULL, NULL, wk_xs_shadow(xs), res, err);
    *xs_out = xs;
    return rc;
}

static void test_winner_each(void)
{
    fixture f;
    fixture_make(&f);
    for (int pipeline = 0; pipeline <= 1; pipeline++)
        for (int w = 0; w < NCAND; w++) {
            payload_for(&f, w);
            unlink(f.out);
            wk_err err;
            wk_xor_result res;
            wk_xs *xs = NULL;
            int rc = decode(&f, pipeline, 0, SIZE_MAX, &xs, &res, &err);
            CHECK_MSG(rc == 0, "pipeline %d, winner %d: %s", pipeline, w, err.msg);
            CHECK_MSG(file_equals(f.out, f.target, NB), "pipeline %d, winner %d: bytes", pipeline, w);
            CHECK(res.verified == 1 && memcmp(res.sha256, f.sha, 32) == 0);
            if (xs) {
                CHECK_MSG(wk_xs_winner(xs) == w - 1, "winner %d, got %d", w, wk_xs_winner(xs));
                for (int k = 1; k < NCAND; k++) {
                    CHECK(!wk_xs_dropped(xs, (size_t)k - 1));
                    CHECK_MSG(wk_xs_verdict(xs, (size_t)k - 1) == (k == w), "w %d k %d verdict %d",
                              w, k, wk_xs_verdict(xs, (size_t)k - 1));
                }
            }
            wk_xs_free(xs);
        }
    fixture_free(&f);
}

/* A patch over its cap drops its candidate: the pass then matches nothing
 * (candidate 1 was the right one) and leaves no output; a candidate whose
 * producer fails drops out without failing a pass that candidate 0 wins. */
static void test_dropouts(void)
{
    fixture f;
    fixture_make(&f);
    payload_for(&f, 1);
    unlink(f.out);
    wk_err err;
    wk_xor_result res;
    wk_xs *xs = NULL;
    int rc = decode(&f, 1, 8, SIZE_MAX, &xs, &res, &err);  /* 8 bytes: less than one range */
    CHECK(rc == -1 && err.code == WK_E_MISMATCH);
    CHECK(access(f.out, F_OK) != 0);
    if (xs) {
        CHECK(wk_xs_dropped(xs, 0) && wk_xs_winner(xs) == -1);
        CHECK(wk_xs_verdict(xs, 0) == -1);
    }
    wk_xs_free(xs);
    /* the patch of candidate 1 holds 22 bytes in 3 ranges (+ 16 bytes each): 70 fits */
    xs = NULL;
    rc = decode(&f, 1, 70, SIZE_MAX, &xs, &res, &err);
    CHECK_MSG(rc == 0 && file_equals(f.out, f.target, NB), "cap 70: %s", err.msg);
    wk_xs_free(xs);
    /* candidate 2's producer fails half-way: dropped; candidate 0 still wins */
    payload_for(&f, 0);
    unlink(f.out);
    xs = NULL;
    rc = decode(&f, 1, 0, 2u << 20, &xs, &res, &err);
    CHECK_MSG(rc == 0 && file_equals(f.out, f.target, NB), "failing producer: %s", err.msg);
    if (xs) CHECK(wk_xs_dropped(xs, 1) && !wk_xs_dropped(xs, 0) && wk_xs_winner(xs) == -1);
    wk_xs_free(xs);
    unlink(f.out);
    unlink(f.pay_path);
    fixture_free(&f);
}

int main(void)
{
    WK_RUN(test_winner_each);
    WK_RUN(test_dropouts);
    return wk_test_summary();
}
