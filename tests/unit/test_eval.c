/* test_eval.c — wk-eval's engine pieces: the float dot's AVX2+FMA kernel
 * equals its scalar definition bit for bit (all lengths 0..100 and a long
 * row, four-row form too); perplexity arithmetic on hand-computed cases
 * (log-softmax, the chunk plan and its refusal, the uncertainty formula);
 * the Q4_0 / Q8_0 dots in llama.cpp's float order (wk_mm_q0.c): the same bits
 * with the AVX2 or the scalar integer stage, and equal to their definitions
 * written out (one FMA accumulator per block; 8 lanes of 4 bytes). */
#include <math.h>
#include <stdlib.h>

#include "wk_dot.h"
#include "wk_ggml.h"
#include "wk_half.h"
#include "wk_model_int.h"
#include "wk_quant.h"
#include "wk_ppl.h"
#include "wk_test.h"

static float rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static void test_fdot_simd_equals_ref(void)
{
    enum { N = 4100 };
    float *a = malloc(4 * N * sizeof *a), *b = malloc(N * sizeof *b);
    unsigned s = 1;
    for (int i = 0; i < 4 * N; i++) a[i] = rnd(&s) * 3.0f;
    for (int i = 0; i < N; i++) b[i] = rnd(&s);
    if (!wk_fdot_simd()) fprintf(stderr, "test_eval: no AVX2+FMA here: the scalar path is compared with itself\n");
    for (int n = 0; n <= N; n = n < 100 ? n + 1 : n == N ? N + 1 : N) {
        float r = wk_fdot_ref(a, b, n), v = wk_fdot(a, b, n), o[4];
        CHECK_MSG(memcmp(&r, &v, sizeof r) == 0, "n=%d: ref %.9g simd %.9g", n, (double)r, (double)v);
        wk_fdot4(a, a + N, a + 2 * N, a + 3 * N, b, n, o);
        for (int k = 0; k < 4; k++) {
            float rk = wk_fdot_ref(a + k * N, b, n);
            CHECK_MSG(memcmp(&rk, &o[k], sizeof rk) == 0, "n=%d row %d: ref %.9g dot4 %.9g", n, k,
                      (double)rk, (double)o[k]);
        }
    }
    free(a);
    free(b);
}

static void test_mm_q0(void)
{
    enum { K = 32 * 40 };
    float *w = malloc(K * sizeof *w), *x = malloc(K * sizeof *x);
    uint8_t *wq4 = malloc(K), *wq8 = malloc(K * 2), *a = malloc(wk_dot_act_row_size(WK_GGML_Q4_0, K));
    unsigned s = 7;
    for (int i = 0; i < K; i++) w[i] = rnd(&s) * (1 + (i % 97)), x[i] = rnd(&s) * (1 + (i % 13));
    wk_quantize_row_q4_0_ref(w, wq4, K);
    wk_quantize_row_q8_0_ref(w, wq8, K);
    wk_dot_quantize_act(WK_GGML_Q4_0, x, a, K);
    const wk_block_q4_0 *b4 = (const wk_block_q4_0 *)(const void *)wq4;
    const wk_block_q8_0 *b8 = (const wk_block_q8_0 *)(const void *)wq8, *ya = (const wk_block_q8_0 *)(const void *)a;
    float acc4 = 0.0f, lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int b = 0; b < K / 32; b++) {
        int isum = 0;
        for (int i = 0; i < 16; i++)
            isum += ((b4[b].qs[i] & 15) - 8) * ya[b].qs[i] + ((b4[b].qs[i] >> 4) - 8) * ya[b].qs[i + 16];
        acc4 = fmaf((float)isum, wk_f16_to_f32(b4[b].d) * wk_f16_to_f32(ya[b].d), acc4);
        float d = wk_f16_to_f32(b8[b].d) * wk_f16_to_f32(ya[b].d);
        for (int j = 0; j < 8; j++) {
            int l = 0;
            for (int i = 4 * j; i < 4 * j + 4; i++) l += b8[b].qs[i] * ya[b].qs[i];
            lane[j] = fmaf(d, (float)l, lane[j]);
        }
    }
    float want8 = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
    float r4 = wk_mm_dot_q4_0(0, wq4, a, K), r8 = wk_mm_dot_q8_0(wq8, a, K);
    CHECK_MSG(memcmp(&r4, &acc4, sizeof r4) == 0, "q4_0: %.9g, defined %.9g", (double)r4, (double)acc4);
    CHECK_MSG(memcmp(&r8, &want8, sizeof r8) == 0, "q8_0: %.9g, defined %.9g", (double)r8, (double)want8);
    if (wk_dot_have_simd()) {
        float v4 = wk_mm_dot_q4_0(1, wq4, a, K);
        CHECK_MSG(memcmp(&r4, &v4, sizeof r4) == 0, "q4_0: scalar %.9g, AVX2 %.9g", (double)r4, (double)v4);
    }
    free(w);
    free(x);
    free(wq4);
    free(wq8);
    free(a);
}

static void test_nll(void)
{
    float l[3] = {1.0f, 2.0f, 3.0f};
    double want = -(1.0 - 3.0 - log(exp(-2.0) + exp(-1.0) + 1.0));
    CHECK(fabs(wk_ppl_nll(l, 3, 0) - want) < 1e-6);
    float u[4] = {0, 0, 0, 0};
    CHECK(fabs(wk_ppl_nll(u, 4, 2) - log(4.0)) < 1e-12);
}

static void test_plan(void)
{
    wk_err err;
    int64_t k;
    CHECK_OK(wk_ppl_plan(1000, 100, 0, &k, &err), &err);
    CHECK_EQ_U64(k, 10);
    CHECK_OK(wk_ppl_plan(1000, 100, 3, &k, &err), &err);
    CHECK_EQ_U64(k, 3);
    CHECK_OK(wk_ppl_plan(200, 100, 0, &k, &err), &err);
    CHECK_EQ_U64(k, 2);
    CHECK(wk_ppl_plan(199, 100, 0, &k, &err) == -1 && err.code == WK_E_USAGE);
    CHECK(strstr(err.msg, "at least 2 x 100 = 200") != NULL);
}

static void test_finish(void)
{
    /* nll values 1, 2, 3: mean 2, E[v^2] = 14/3, var = 2/3, stderr = ppl * sqrt((2/3) / 2) */
    wk_ppl_result r = {.nll = 6, .nll2 = 14, .n_scored = 3};
    wk_ppl_finish(&r);
    CHECK(fabs(r.ppl - exp(2.0)) < 1e-12);
    CHECK(fabs(r.ppl_stderr - exp(2.0) * sqrt(1.0 / 3.0)) < 1e-9);
}

int main(void)
{
    WK_RUN(test_fdot_simd_equals_ref);
    WK_RUN(test_mm_q0);
    WK_RUN(test_nll);
    WK_RUN(test_plan);
    WK_RUN(test_finish);
    return wk_test_summary();
}
