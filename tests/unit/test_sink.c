/* test_sink.c — the byte stream (common/wk_sink.h): sticky first error, the
 * hashing tee, the byte count, and the sinks over a buffer and a file. */
#include "wk_buf.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_sink.h"
#include "wk_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A callback that accepts `budget` bytes in all, then fails with a message
 * naming the call; counts its calls. */
typedef struct {
    size_t budget;
    int calls;
} flaky;

static int flaky_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    flaky *f = ctx;
    (void)p;
    f->calls++;
    if (n > f->budget) return wk_err_set(err, WK_E_IO, "flaky: call %d failed", f->calls);
    f->budget -= n;
    return 0;
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* The first error is kept; later writes do not call the callback, fail with
 * that same error, and change neither the count nor the tee. */
static void test_sticky_error(void)
{
    flaky f = {10, 0};
    wk_sink s;
    wk_sink_init(&s, flaky_write, &f);
    wk_err err;
    CHECK_OK(wk_sink_write(&s, "abcdef", 6, &err), &err);
    CHECK_OK(wk_sink_status(&s, &err), &err);
    CHECK(wk_sink_write(&s, "ghijkl", 6, &err) == -1);
    CHECK(err.code == WK_E_IO && strcmp(err.msg, "flaky: call 2 failed") == 0);
    CHECK_EQ_U64(wk_sink_count(&s), 6);
    f.budget = 1000; /* the callback would accept now: it is not called again */
    wk_err_clear(&err);
    CHECK(wk_sink_write(&s, "x", 1, &err) == -1);
    CHECK_EQ_STR(err.msg, "flaky: call 2 failed");
    CHECK(wk_sink_write(&s, "y", 1, NULL) == -1); /* err may be NULL */
    CHECK(f.calls == 2);
    CHECK_EQ_U64(wk_sink_count(&s), 6);
    /* wk_sink_fail after the fact keeps the first error */
    wk_err other;
    wk_err_set(&other, WK_E_NOMEM, "second");
    CHECK(wk_sink_fail(&s, &other) == -1);
    wk_err_clear(&err);
    CHECK(wk_sink_status(&s, &err) == -1 && err.code == WK_E_IO);
    CHECK_EQ_STR(err.msg, "flaky: call 2 failed");
    /* a run of unchecked writes reports the first failure once, at the end */
    flaky g = {3, 0};
    wk_sink_init(&s, flaky_write, &g);
    for (int i = 0; i < 10; i++) wk_sink_write(&s, "ab", 2, NULL);
    CHECK(g.calls == 2);
    CHECK(wk_sink_status(&s, &err) == -1);
    CHECK_EQ_STR(err.msg, "flaky: call 2 failed");
    /* a failure recorded from outside (a producer's own error) is the first */
    wk_sink_null(&s);
    wk_err_set(&other, WK_E_FORMAT, "producer said no");
    CHECK(wk_sink_fail(&s, &other) == -1);
    CHECK(wk_sink_write(&s, "z", 1, &err) == -1 && err.code == WK_E_FORMAT);
    CHECK_EQ_STR(err.msg, "producer said no");
    /* a sink without a callback */
    wk_sink z = {0};
    CHECK(wk_sink_write(&z, "a", 1, &err) == -1 && err.code == WK_E_INTERNAL);
    CHECK_EQ_U64(wk_sink_count(&z), 0);
}

/* The tee hashes exactly the accepted bytes, in order; the count adds up. */
static void test_tee_and_count(void)
{
    size_t n = (3u << 20) + 777;
    uint8_t *data = malloc(n);
    CHECK(data != NULL);
    if (!data) return;
    fill_pattern(data, n, 7);
    static const size_t steps[] = {0, 1, 4095, 65536, 1u << 20, 13};
    wk_err err;
    for (int a = WK_HASH_SHA256; a <= WK_HASH_XXH3_128; a++) {
        wk_hash *h = wk_hash_create((wk_hash_alg)a, &err);
        CHECK(h != NULL);
        if (!h) continue;
        wk_sink s;
        wk_sink_null(&s);
        wk_sink_tee(&s, h);
        for (size_t off = 0, k = 0; off < n; k++) {
            size_t m = steps[k % 6] < n - off ? steps[k % 6] : n - off;
            CHECK_OK(wk_sink_write(&s, data + off, m, &err), &err);
            off += m;
        }
        CHECK_EQ_U64(wk_sink_count(&s), n);
        uint8_t d1[WK_HASH_MAX_DIGEST], d2[WK_HASH_MAX_DIGEST];
        CHECK_OK(wk_hash_digest(h, d1, &err), &err);
        CHECK_OK(wk_hash_oneshot((wk_hash_alg)a, data, n, d2, &err), &err);
        CHECK_MSG(memcmp(d1, d2, wk_hash_size((wk_hash_alg)a)) == 0, "%s: tee digest differs",
                  wk_hash_name((wk_hash_alg)a));
        wk_hash_free(h);
    }
    /* a failing write is not hashed: the tee holds what was accepted */
    flaky f = {5, 0};
    wk_hash *h = wk_hash_create(WK_HASH_SHA256, &err);
    wk_sink s;
    wk_sink_init(&s, flaky_write, &f);
    wk_sink_tee(&s, h);
    CHECK_OK(wk_sink_write(&s, "abc", 3, &err), &err);
    CHECK(wk_sink_write(&s, "defg", 4, &err) == -1);
    uint8_t d1[WK_HASH_MAX_DIGEST], d2[WK_HASH_MAX_DIGEST];
    CHECK_OK(wk_hash_digest(h, d1, &err), &err);
    CHECK_OK(wk_hash_oneshot(WK_HASH_SHA256, "abc", 3, d2, &err), &err);
    CHECK(memcmp(d1, d2, 32) == 0);
    wk_hash_free(h);
    free(data);
}

/* wk_sink_buf: writes append; the buffer's appends and the sink share one
 * sticky error. */
static void test_buf_sink(void)
{
    wk_buf b;
    wk_buf_init(&b);
    wk_err err;
    wk_buf_puts(&b, "ab");
    wk_sink *s = wk_sink_buf(&b);
    CHECK_OK(wk_sink_write(s, "cd", 2, &err), &err);
    wk_buf_putc(&b, 'e');
    CHECK_OK(wk_sink_write(wk_sink_buf(&b), "f", 1, &err), &err);
    CHECK(b.len == 6 && memcmp(b.data, "abcdef", 6) == 0);
    CHECK_EQ_U64(wk_sink_count(s), 3);
    CHECK(!wk_buf_failed(&b));
    CHECK_OK(wk_buf_check(&b, &err), &err);
    /* an append too large to allocate fails the buffer and its sink */
    wk_buf_put(&b, "x", SIZE_MAX / 2);
    CHECK(wk_buf_failed(&b));
    CHECK(wk_buf_check(&b, &err) == -1 && err.code == WK_E_NOMEM);
    CHECK_EQ_STR(err.msg, "out of memory building a buffer");
    wk_err_clear(&err);
    CHECK(wk_sink_write(s, "g", 1, &err) == -1 && err.code == WK_E_NOMEM);
    wk_buf_putc(&b, 'h');
    CHECK(b.len == 6);
    wk_buf_free(&b);  /* a freed buffer is empty and usable again */
    CHECK(!wk_buf_failed(&b));
    CHECK_OK(wk_sink_write(wk_sink_buf(&b), "ok", 2, &err), &err);
    CHECK(b.len == 2 && memcmp(b.data, "ok", 2) == 0);
    wk_buf_free(&b);
}

/* wk_sink_out with a tee: the digest is the one of the committed file. */
static void test_out_sink(void)
{
    char dir[] = "/tmp/wk-test-sink.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    wk_err err;
    wk_out *o = wk_out_open(path, NULL, &err);
    CHECK_MSG(o != NULL, "open: %s", err.msg);
    if (!o) return;
    size_t n = (2u << 20) + 5;
    uint8_t *data = malloc(n);
    fill_pattern(data, n, 3);
    wk_hash *h = wk_hash_create(WK_HASH_SHA256, &err);
    wk_sink s;
    wk_sink_tee(wk_sink_out(&s, o), h);
    CHECK_OK(wk_sink_write(&s, data, 10, &err), &err);
    CHECK_OK(wk_sink_write(&s, data + 10, n - 10, &err), &err);
    CHECK_EQ_U64(wk_sink_count(&s), n);
    CHECK_EQ_U64(wk_out_tell(o), n);
    CHECK_OK(wk_out_commit(o, &err), &err);
    uint8_t d1[WK_HASH_MAX_DIGEST], d2[WK_HASH_MAX_DIGEST];
    CHECK_OK(wk_hash_digest(h, d1, &err), &err);
    FILE *f = fopen(path, "rb");
    uint8_t *back = malloc(n + 1);
    size_t got = f && back ? fread(back, 1, n + 1, f) : 0;
    if (f) fclose(f);
    CHECK(got == n);
    CHECK_OK(wk_hash_oneshot(WK_HASH_SHA256, back, got, d2, &err), &err);
    CHECK(memcmp(d1, d2, 32) == 0);
    unlink(path);
    rmdir(dir);
    free(back);
    free(data);
    wk_hash_free(h);
}

int main(void)
{
    WK_RUN(test_sticky_error);
    WK_RUN(test_tee_and_count);
    WK_RUN(test_buf_sink);
    WK_RUN(test_out_sink);
    return wk_test_summary();
}
