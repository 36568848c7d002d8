/* test_kld.c — wk-eval's KL-divergence statistics (tools/eval/wk_kld.h) and
 * the base-logits file (wk_kldbase.h) on hand-computed cases. */
#include "wk_test.h"
#include "wk_kld.h"
#include "wk_kldbase.h"
#include "wk_eval_svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int near(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* Base [0, 0] (p = 1/2, 1/2), model [ln 3, 0] (p = 3/4, 1/4):
 * KL = 1/2 ln(1/2 / 3/4) + 1/2 ln(1/2 / 1/4) = 1/2 ln(4/3). */
static void test_two_tokens(void)
{
    const float base[2] = { 0, 0 }, model[2] = { logf(3), 0 };
    uint16_t row[8];
    CHECK_EQ_U64(wk_kld_row_u16(2), 6);
    const double nll_b = wk_kld_compress(base, 2, 0, row);
    CHECK(near(nll_b, log(2), 1e-6));
    float scale, off;
    wk_kld_row_header(row, &scale, &off);
    CHECK(scale == 0 && near(off, -log(2), 1e-6) && row[4] == 0 && row[5] == 0);
    wk_kld_tok t;
    wk_kld_token(model, 2, row, 0, &t);
    CHECK_MSG(near(t.kld, 0.5 * log(4.0 / 3), 1e-6), "kld %.9f", t.kld);
    CHECK(near(t.nll, -log(0.75), 1e-6) && near(t.nll_base, log(2), 1e-6));
    CHECK(near(t.p_diff, 0.25, 1e-6) && t.same_top);
    wk_kld_token(model, 2, row, 1, &t);   /* the token does not change the KLD */
    CHECK(near(t.kld, 0.5 * log(4.0 / 3), 1e-6) && near(t.p_diff, -0.25, 1e-6));
    /* the other way round: the base's top (first of equals: 0) differs from the model's */
    const float model2[2] = { 0, logf(3) };
    wk_kld_token(model2, 2, row, 0, &t);
    CHECK(!t.same_top && near(t.kld, 0.5 * log(4.0 / 3), 1e-6));
}

/* Compression: logits [0, -1, -2, -20]: max 0, min clipped to -16,
 * scale 16/65535, q = round((l + 16) / scale), 0 at or below -16. */
static void test_compress(void)
{
    const float l[4] = { 0, -1, -2, -20 };
    uint16_t row[8];
    memset(row, 0xff, sizeof row);
    wk_kld_compress(l, 4, 1, row);
    float scale, off;
    wk_kld_row_header(row, &scale, &off);
    const double lse = log(1 + exp(-1) + exp(-2) + exp(-20));
    CHECK(near(scale, 16.0 / 65535, 1e-9));
    CHECK(near(off, -16 - lse, 1e-5));
    CHECK(row[4] == 65535 && row[5] == 61439 && row[6] == 57343 && row[7] == 0);
    for (int i = 0; i < 3; i++)   /* reconstruction within half a step */
        CHECK(near(scale * row[4 + i] + off, l[i] - lse, scale / 2 + 1e-5));
    /* odd vocabulary: the pad slot is zero */
    uint16_t r3[8];
    memset(r3, 0xff, sizeof r3);
    wk_kld_compress(l, 3, 0, r3);
    CHECK_EQ_U64(wk_kld_row_u16(3), 8);
    CHECK(r3[7] == 0);
    /* identical logits: KLD at the compression's noise, same top, Δp ~ 0 */
    wk_kld_tok t;
    wk_kld_token(l, 4, row, 1, &t);
    CHECK_MSG(fabs(t.kld) < 2e-5 && t.same_top && fabs(t.p_diff) < 1e-4, "kld %g dp %g", t.kld, t.p_diff);
}

static void test_percentiles(void)
{
    const float v5[5] = { 1, 2, 3, 4, 5 }, v4[4] = { 1, 2, 3, 4 };
    CHECK(near(wk_kld_percentile(v5, 5, 0.9f), 4.6, 1e-6));
    CHECK(wk_kld_percentile(v5, 5, 1.0f) == 5 && wk_kld_percentile(v5, 5, 0.0f) == 1);
    CHECK(near(wk_kld_percentile(v5, 5, 0.999f), 4.996, 1e-5));
    CHECK(wk_kld_median(v5, 5) == 3 && wk_kld_median(v4, 4) == 2.5f);
    double m, u;
    wk_kld_mean_unc(55, 385, 11, &m, &u);   /* 0..10: mean 5, var 10, unc sqrt(10/10) */
    CHECK(m == 5 && near(u, 1, 1e-12));
    wk_kld_mean_unc(45, 285, 10, &m, &u);   /* 10 values or fewer: no uncertainty */
    CHECK(m == 4.5 && u == 0);
}

/* Summary over 20 tokens: half KLD 0.1, half 0.3; top-1 agrees on 15. */
static void test_summary(void)
{
    wk_kld_acc a;
    wk_kld_acc_init(&a);
    float kv[20], dv[20];
    for (int i = 0; i < 20; i++) {
        wk_kld_tok t = { .nll = 2.0f, .nll_base = 1.0f, .kld = i < 10 ? 0.1 : 0.3,
                         .p_diff = i % 2 ? 0.1f : -0.1f, .same_top = i < 15 };
        wk_kld_acc_add(&a, &t);
        kv[i] = (float)t.kld;
        dv[i] = t.p_diff;
    }
    wk_kld_stats st;
    wk_err err;
    CHECK(wk_kld_summary(&a, kv, dv, 19, &st, &err) == -1 && err.code == WK_E_USAGE);
    CHECK_OK(wk_kld_summary(&a, kv, dv, 20, &st, &err), &err);
    CHECK(st.n == 20);
    CHECK(near(st.ppl, exp(2), 1e-5) && near(st.ppl_base, exp(1), 1e-5) && st.ppl_unc == 0);
    CHECK(near(st.ln_ratio, 1, 1e-6) && near(st.ratio, exp(1), 1e-5));
    CHECK(near(st.kld_mean, 0.2, 1e-9));
    /* var = 0.05 - 0.04 = 0.01: unc = sqrt(0.01 / 19) */
    CHECK(near(st.kld_unc, sqrt(0.01 / 19), 1e-9));
    CHECK(near(st.kld[5], 0.2f, 1e-7) && st.kld[0] == 0.3f && st.kld[10] == 0.1f);   /* median, max, min */
    CHECK(near(st.kld[2], 0.3, 1e-7));   /* 99 %: 0.99 * 19 = 18.81 -> between two 0.3s */
    CHECK(near(st.kld[6], 0.1, 1e-7));
    CHECK(near(st.dp_mean, 0, 1e-9) && near(st.dp_rms, 0.1, 1e-7));
    CHECK(near(st.same_top, 0.75, 1e-12) && near(st.same_top_unc, sqrt(0.75 * 0.25 / 19), 1e-12));
    CHECK(near(a.max_p_diff, 0.1f, 1e-7));
}

static void test_base_file(void)
{
    const char *dir = wk_test_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/base.logits", dir);
    const int64_t n_ctx = 6, n_vocab = 3, n_chunk = 2, rows = wk_kldbase_rows(n_ctx);
    CHECK(rows == 2);
    int32_t tok[12];
    for (int i = 0; i < 12; i++) tok[i] = i % 3;
    wk_err err;
    CHECK(wk_kldbase_create(path, NULL, 2, 3, 1, tok, &err) == NULL && err.code == WK_E_USAGE);
    tok[5] = 3;
    CHECK(wk_kldbase_create(path, NULL, n_ctx, n_vocab, n_chunk, tok, &err) == NULL && strstr(err.msg, "token 5"));
    tok[5] = 2;
    wk_kldbase_w *w = wk_kldbase_create(path, NULL, n_ctx, n_vocab, n_chunk, tok, &err);
    CHECK_OK(w == NULL, &err);
    if (!w) return;
    uint16_t r[4 * 8];
    const float l[4][3] = { { 0, 1, 2 }, { 3, -1, 0 }, { 0, 0, 0 }, { -5, 5, 1 } };
    for (int i = 0; i < 4; i++) wk_kld_compress(l[i], 3, 0, r + 8 * i);
    CHECK_OK(wk_kldbase_put(w, r, 3, &err), &err);
    CHECK(wk_kldbase_put(w, r, 2, &err) == -1);
    CHECK_OK(wk_kldbase_put(w, r + 24, 1, &err), &err);
    CHECK_OK(wk_kldbase_commit(w, &err), &err);
    FILE *f = fopen(path, "rb");
    uint8_t buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK_EQ_U64(n, 20 + 12 * 4 + 4 * 8 * 2);
    CHECK(!memcmp(buf, "_logits_\x06\0\0\0\x03\0\0\0\x02\0\0\0", 20));
    wk_kldbase *b = wk_kldbase_open(path, &err);
    CHECK_OK(b == NULL, &err);
    if (b) {
        CHECK(wk_kldbase_n_ctx(b) == 6 && wk_kldbase_n_vocab(b) == 3 && wk_kldbase_n_chunk(b) == 2);
        CHECK(!memcmp(wk_kldbase_tokens(b), tok, sizeof tok));
        uint16_t got[8];
        CHECK_OK(wk_kldbase_row(b, 1, 1, got, &err), &err);
        CHECK(!memcmp(got, r + 24, sizeof got));
        CHECK(wk_kldbase_row(b, 2, 0, got, &err) == -1 && err.code == WK_E_USAGE);
        wk_kldbase_close(b);
    }
    /* truncated: names the byte offset and the row */
    b = wk_kldbase_open_buffer(buf, n - 3, "t.logits", &err);
    CHECK(!b && err.code == WK_E_FORMAT && strstr(err.msg, "truncated at byte 129") &&
          strstr(err.msg, "row 1 of chunk 1"));
    b = wk_kldbase_open_buffer(buf, 40, "t.logits", &err);
    CHECK(!b && strstr(err.msg, "tokens end at byte 68"));
    b = wk_kldbase_open_buffer(buf, 10, "t.logits", &err);
    CHECK(!b && strstr(err.msg, "truncated header"));
    uint8_t big[300];
    memcpy(big, buf, n);
    big[n] = 0;
    b = wk_kldbase_open_buffer(big, n + 1, "t.logits", &err);
    CHECK(!b && strstr(err.msg, "1 bytes after the last row"));
    big[20 + 4 * 7] = 3;   /* token 7 = n_vocab */
    b = wk_kldbase_open_buffer(big, n, "t.logits", &err);
    CHECK(!b && strstr(err.msg, "token 7 (byte 48) is 3"));
    memcpy(big, buf, n);
    big[15] = 0x80;   /* n_vocab < 0 as int32 */
    b = wk_kldbase_open_buffer(big, n, "t.logits", &err);
    CHECK(!b && strstr(err.msg, "n_vocab"));
    memcpy(big, buf, n);
    big[8] = 2;   /* n_ctx 2 scores nothing */
    b = wk_kldbase_open_buffer(big, n, "t.logits", &err);
    CHECK(!b && strstr(err.msg, "n_ctx 2"));
    memcpy(big, buf, n);
    big[0] = 'X';
    b = wk_kldbase_open_buffer(big, n, "t.logits", &err);
    CHECK(!b && strstr(err.msg, "not a base-logits file"));
    memcpy(big, buf, n);
    const float nan = NAN;
    memcpy(big + 68 + 16, &nan, 4);   /* scale of row 1 of chunk 0 */
    b = wk_kldbase_open_buffer(big, n, "t.logits", &err);
    CHECK_OK(b == NULL, &err);
    if (b) {
        uint16_t got[8];
        CHECK(wk_kldbase_row(b, 0, 1, got, &err) == -1 && strstr(err.msg, "byte 84"));
        wk_kldbase_close(b);
    }
}

static void test_svg(void)
{
    const wk_eval_point p[3] = { { "q4_0", 4.5, 0.05, 0.4, 1.08 }, { "q8_0", 8.5, 1e-4, 1e-3, 1.001 },
                                 { "a<b&c", 5.5, 0, NAN, 1.02 } };
    wk_buf b;
    wk_buf_init(&b);
    wk_err err;
    CHECK(wk_eval_svg_render(&b, p, 0, NULL, &err) == -1 && err.code == WK_E_USAGE);
    CHECK_OK(wk_eval_svg_render(&b, p, 3, "tiny", &err), &err);
    wk_buf_putc(&b, 0);
    const char *s = (const char *)b.data;
    CHECK(strstr(s, "<svg") && strstr(s, "</svg>") && strstr(s, "a&lt;b&amp;c") && !strstr(s, "a<b"));
    int circles = 0;
    for (const char *q = s; (q = strstr(q, "<circle")); q++) circles++;
    CHECK_MSG(circles == 7, "%d circles (2 + 2 KLD, 3 ratio; none for KLD 0 / NaN)", circles);
    CHECK(strstr(s, ">1e-4<") && strstr(s, ">1e0<"));   /* decades from 1e-4 to 1e0 */
    wk_buf_free(&b);
}

int main(void)
{
    WK_RUN(test_svg);
    WK_RUN(test_two_tokens);
    WK_RUN(test_compress);
    WK_RUN(test_percentiles);
    WK_RUN(test_summary);
    WK_RUN(test_base_file);
    return wk_test_summary();
}
