/* test_imatrix — the importance-matrix reader (formats/imatrix/wk_imatrix.c):
 * both containers built in memory, llama-quantize's weight rules (GGUF counts
 * rounded with lround, count 0 -> weights 1, legacy ncall <= 0 -> raw values,
 * one row of weights per expert), lookups and a few refusals.  (Bit-exactness
 * against llama.cpp's own loader: tests/peer/quantize_imatrix.sh.) */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_imatrix.h"
#include "wk_test.h"

typedef struct { uint8_t b[4096]; size_t n; } buf;

static void put(buf *b, const void *p, size_t n) { memcpy(b->b + b->n, p, n); b->n += n; }
static void i32(buf *b, int32_t v) { put(b, &v, 4); }
static void u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void f32(buf *b, float v) { put(b, &v, 4); }
static void gstr(buf *b, const char *s) { u64(b, strlen(s)); put(b, s, strlen(s)); }
static void pad32(buf *b) { while (b->n % 32) b->b[b->n++] = 0; }

/* legacy: "b.weight" ncall 4 (values 1..4), "a.weight" ncall 0 (values 8, 9); trailer */
static void legacy(buf *b)
{
    b->n = 0;
    i32(b, 2);
    i32(b, 8); put(b, "b.weight", 8); i32(b, 4); i32(b, 4);
    for (int i = 1; i <= 4; i++) f32(b, (float)i);
    i32(b, 8); put(b, "a.weight", 8); i32(b, 0); i32(b, 2);
    f32(b, 8); f32(b, 9);
    i32(b, 12); i32(b, 4); put(b, "wiki", 4);
}

/* GGUF: t.weight with 2 experts x 3 columns, counts {2.5, 0}; the three metadata KVs */
static void gguf(buf *b, int with_meta)
{
    b->n = 0;
    put(b, "GGUF", 4);
    u32(b, 3);
    u64(b, 2);
    u64(b, with_meta ? 3 : 0);
    if (with_meta) {
        gstr(b, "imatrix.datasets"); u32(b, 9); u32(b, 8); u64(b, 1); gstr(b, "calib.txt");
        gstr(b, "imatrix.chunk_count"); u32(b, 4); u32(b, 5);
        gstr(b, "imatrix.chunk_size"); u32(b, 4); u32(b, 512);
    }
    gstr(b, "t.weight.in_sum2"); u32(b, 2); u64(b, 3); u64(b, 2); u32(b, 0); u64(b, 0);
    gstr(b, "t.weight.counts"); u32(b, 2); u64(b, 1); u64(b, 2); u32(b, 0); u64(b, 32);
    pad32(b);
    for (int i = 0; i < 6; i++) f32(b, (float)(i + 1) * 3);
    pad32(b);
    f32(b, 2.5f); f32(b, 0.0f);
}

static void test_legacy(void)
{
    buf b;
    wk_err err;
    legacy(&b);
    wk_imatrix *im = wk_imatrix_open_buffer(b.b, b.n, "t.dat", &err);
    CHECK_OK(im ? 0 : -1, &err);
    if (!im) return;
    CHECK(wk_imatrix_is_legacy(im));
    CHECK_EQ_U64(wk_imatrix_count(im), 2);
    CHECK_EQ_STR(wk_imatrix_name_at(im, 0), "a.weight");   /* sorted */
    CHECK_EQ_U64(wk_imatrix_find(im, "b.weight"), 1);
    CHECK(wk_imatrix_find(im, "c.weight") < 0);
    CHECK_EQ_U64(wk_imatrix_chunk_count(im), 12);
    size_t len = 0;
    const char *ds = wk_imatrix_dataset_at(im, 0, &len);
    CHECK(ds && len == 4 && !memcmp(ds, "wiki", 4));
    float w[4];
    CHECK_OK(wk_imatrix_weights(im, 1, w, &err), &err);
    for (int i = 0; i < 4; i++) CHECK(w[i] == (float)(i + 1) / 4.0f);   /* values / ncall */
    CHECK_OK(wk_imatrix_weights(im, 0, w, &err), &err);
    CHECK(w[0] == 8 && w[1] == 9);                                        /* ncall 0: raw */
    wk_imatrix_close(im);
    /* truncated anywhere: refused, never read past the end */
    for (size_t n = 0; n < b.n; n++) {
        if (n == 68 || n == 72) continue;   /* after the last entry or the chunk count: valid */
        im = wk_imatrix_open_buffer(b.b, n, "t.dat", &err);
        CHECK_MSG(!im, "legacy imatrix cut at %zu bytes accepted", n);
        wk_imatrix_close(im);
    }
}

static void test_gguf(void)
{
    buf b;
    wk_err err;
    gguf(&b, 1);
    wk_imatrix *im = wk_imatrix_open_buffer(b.b, b.n, "t.gguf", &err);
    CHECK_OK(im ? 0 : -1, &err);
    if (!im) return;
    CHECK(!wk_imatrix_is_legacy(im));
    CHECK_EQ_U64(wk_imatrix_count(im), 1);
    CHECK_EQ_STR(wk_imatrix_name_at(im, 0), "t.weight");
    CHECK_EQ_U64(wk_imatrix_size_at(im, 0), 6);
    CHECK_EQ_U64(wk_imatrix_experts_at(im, 0), 2);
    CHECK_EQ_U64(wk_imatrix_chunk_count(im), 5);
    CHECK_EQ_U64(wk_imatrix_chunk_size(im), 512);
    CHECK_EQ_U64(wk_imatrix_dataset_count(im), 1);
    float w[6];
    CHECK_OK(wk_imatrix_weights(im, 0, w, &err), &err);
    for (int i = 0; i < 3; i++) CHECK(w[i] == (float)(i + 1) * 3 / 3.0f);   /* lround(2.5) = 3 */
    for (int i = 3; i < 6; i++) CHECK(w[i] == 1.0f);                        /* count 0: 1 */
    wk_imatrix_close(im);
    gguf(&b, 0);
    im = wk_imatrix_open_buffer(b.b, b.n, "t.gguf", &err);
    CHECK(!im && strstr(err.msg, "missing imatrix metadata"));
    wk_imatrix_close(im);
    im = wk_imatrix_open_buffer(b.b, 3, "t.gguf", &err);
    CHECK(!im && strstr(err.msg, "neither a GGUF imatrix nor a legacy"));
    wk_imatrix_close(im);
}

int main(void)
{
    WK_RUN(test_legacy);
    WK_RUN(test_gguf);
    return wk_test_summary();
}
