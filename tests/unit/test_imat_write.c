/* test_imat_write.c — the importance-matrix collector (tools/eval/wk_imat.h)
 * and writer (formats/imatrix/wk_imatrix_write.h), read back by our reader
 * (wk_imatrix.h) in both formats. */
#include "wk_test.h"
#include "wk_imat.h"
#include "wk_imatrix.h"
#include "wk_imatrix_write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_collect(void)
{
    wk_err err;
    wk_imat *c = wk_imat_new(0, &err);
    float x[32 * 3];
    for (int r = 0; r < 32; r++)
        for (int j = 0; j < 3; j++) x[r * 3 + j] = (float)(j + 1) * (r % 2 ? 1.0f : -0.5f);
    CHECK_OK(wk_imat_collect(c, "blk.0.attn_q.weight", x, 32, 3, &err), &err);
    CHECK_OK(wk_imat_collect(c, "blk.0.attn_q.weight", x, 16, 3, &err), &err);
    CHECK_OK(wk_imat_collect(c, "blk.0.attn_q.weight", x, 15, 3, &err), &err);   /* < 16: ignored */
    CHECK_OK(wk_imat_collect(c, "output.weight", x, 32, 3, &err), &err);         /* not without process_output */
    CHECK_OK(wk_imat_collect(c, "token_embd.weight", x, 32, 3, &err), &err);
    CHECK_EQ_U64(wk_imat_count(c), 1);
    CHECK_EQ_STR(wk_imat_name(c, 0), "blk.0.attn_q.weight");
    CHECK_EQ_U64(wk_imat_tokens(c, 0), 48);
    /* column j: 24 rows of (j+1)^2 and 24 of (j+1)^2/4 */
    for (int j = 0; j < 3; j++)
        CHECK(fabsf(wk_imat_sums(c, 0)[j] - 30.0f * (float)((j + 1) * (j + 1))) < 1e-4f);
    CHECK(wk_imat_collect(c, "blk.0.attn_q.weight", x, 16, 2, &err) == -1 && strstr(err.msg, "2 input columns"));
    x[5] = INFINITY;
    CHECK(wk_imat_collect(c, "blk.1.ffn_down.weight", x, 16, 3, &err) == -1 && strstr(err.msg, "non-finite"));
    wk_imat_free(c);
    c = wk_imat_new(1, &err);
    x[5] = 1;
    CHECK_OK(wk_imat_collect(c, "output.weight", x, 16, 3, &err), &err);
    CHECK_EQ_U64(wk_imat_count(c), 1);
    wk_imatrix_data d;
    CHECK_OK(wk_imat_data(c, 8, NULL, 0, &d, &err), &err);
    CHECK(d.chunk_count == 2 && d.chunk_size == 8 && d.n_entries == 1);
    wk_imat_free(c);
}

static void roundtrip(int legacy)
{
    const float s0[4] = { 1, 4, 9, 16 }, s1[6] = { 2, 2, 2, 0, 0, 0 };
    const int64_t c0[1] = { 512 }, c1[2] = { 300, 0 };   /* c1: a 2-expert entry, expert 1 unseen */
    const float s2[2] = { 5, 5 };
    const int64_t c2[1] = { 0 };                         /* no data at all */
    const wk_imatrix_entry e[3] = {
        { .name = "blk.1.ffn_down.weight", .sums = s1, .counts = c1, .ne0 = 3, .nmat = 2 },
        { .name = "blk.0.attn_q.weight", .sums = s0, .counts = c0, .ne0 = 4, .nmat = 1 },
        { .name = "blk.0.attn_k.weight", .sums = s2, .counts = c2, .ne0 = 2, .nmat = 1 },
    };
    const char *ds[2] = { "old.txt", "wiki.test.raw" };
    const wk_imatrix_data d = { .entries = e, .n_entries = 3, .datasets = ds, .n_datasets = 2,
                                .chunk_count = 2, .chunk_size = 256 };
    char path[1024];
    snprintf(path, sizeof path, "%s/im.%s", wk_test_tmpdir(), legacy ? "dat" : "gguf");
    wk_err err;
    CHECK_OK(wk_imatrix_write(path, &d, legacy, NULL, &err), &err);
    wk_imatrix *im = wk_imatrix_open(path, &err);
    CHECK_OK(im == NULL, &err);
    if (!im) return;
    CHECK(wk_imatrix_is_legacy(im) == legacy);
    CHECK(wk_imatrix_chunk_count(im) == 2);
    CHECK(wk_imatrix_chunk_size(im) == (legacy ? 0u : 256u));
    size_t len;
    if (legacy) {
        CHECK(wk_imatrix_dataset_count(im) == 1 && !strcmp(wk_imatrix_dataset_at(im, 0, &len), "wiki.test.raw"));
    } else {
        const char *d1 = wk_imatrix_dataset_at(im, 1, &len);
        CHECK_MSG(wk_imatrix_dataset_count(im) == 2 && d1 && len == 13 && !memcmp(d1, "wiki.test.raw", 13),
                  "%zu datasets, [1] %.*s", wk_imatrix_dataset_count(im), (int)len, d1 ? d1 : "");
    }
    CHECK_EQ_U64(wk_imatrix_count(im), legacy ? 2 : 3);   /* legacy leaves the empty entry out */
    long k = wk_imatrix_find(im, "blk.0.attn_q.weight");
    float w[6];
    CHECK(k >= 0);
    if (k >= 0) {
        CHECK_OK(wk_imatrix_weights(im, (size_t)k, w, &err), &err);
        for (int j = 0; j < 4; j++) CHECK_MSG(fabsf(w[j] - s0[j] / 512) < 1e-7f, "w[%d] %g", j, w[j]);
    }
    k = wk_imatrix_find(im, "blk.1.ffn_down.weight");
    CHECK(k >= 0 && wk_imatrix_experts_at(im, (size_t)k) == (legacy ? 1 : 2) && wk_imatrix_size_at(im, (size_t)k) == 6);
    if (k >= 0) {
        CHECK_OK(wk_imatrix_weights(im, (size_t)k, w, &err), &err);
        CHECK(fabsf(w[0] - 2.0f / 300) < 1e-8f && w[3] == 1 && w[5] == 1);   /* unseen expert: 1 */
    }
    wk_imatrix_close(im);
}

static void test_gguf(void) { roundtrip(0); }
static void test_legacy(void) { roundtrip(1); }

static void test_refused(void)
{
    const float s[2] = { 1, 1 };
    const int64_t cnt[1] = { 1 }, neg[1] = { -1 };
    wk_imatrix_entry e[2] = { { .name = "a", .sums = s, .counts = cnt, .ne0 = 2, .nmat = 1 },
                              { .name = "a", .sums = s, .counts = cnt, .ne0 = 2, .nmat = 1 } };
    wk_imatrix_data d = { .entries = e, .n_entries = 2, .chunk_size = 1 };
    wk_sink sk;
    wk_err err;
    wk_sink_null(&sk);
    CHECK(wk_imatrix_write_sink(&sk, &d, 0, &err) == -1 && strstr(err.msg, "twice"));
    d.n_entries = 1;
    e[0].counts = neg;
    CHECK(wk_imatrix_write_sink(&sk, &d, 0, &err) == -1 && strstr(err.msg, "negative"));
    e[0].counts = cnt;
    d.chunk_size = 0;
    CHECK(wk_imatrix_write_sink(&sk, &d, 1, &err) == -1 && strstr(err.msg, "chunk size"));
    d.chunk_size = 1;
    e[0].name = "blk.0.a.very.long.tensor.name.that.does.not.fit.in.gguf.wei";
    CHECK(wk_imatrix_write_sink(&sk, &d, 0, &err) == -1 && strstr(err.msg, "too long"));
    CHECK_OK(wk_imatrix_write_sink(&sk, &d, 1, &err), &err);   /* legacy has no such limit */
}

int main(void)
{
    WK_RUN(test_collect);
    WK_RUN(test_gguf);
    WK_RUN(test_legacy);
    WK_RUN(test_refused);
    return wk_test_summary();
}
