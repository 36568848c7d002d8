/* test_qmix — llama-quantize's per-tensor type policy (formats/quant/wk_qmix.c):
 * a few decisions of each preset, as wk-quantize makes them. */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "wk_gguf.h"
#include "wk_qmix.h"
#include "wk_test.h"

/* A 32-layer LLaMA-like state: 32 attn_v, 32 ffn_down, output.weight present. */
static wk_qmix_state llama32(void)
{
    wk_qmix_state ms = { .n_attn_v = 32, .n_ffn_down = 32, .n_layer = 32, .tied = 0 };
    return ms;
}

/* Type of a 2-D F16 tensor `name` with ne0 columns, as preset `p` chooses it
 * with the state *ms (whose counters move). */
static int pick(const wk_qmix_opts *o, wk_qmix_state *ms, const char *name, int64_t ne0)
{
    wk_gguf_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.n_dims = 2;
    t.ne[0] = ne0;
    t.ne[1] = 64;
    t.type = WK_GGML_F16;
    return wk_qmix_choose(o, ms, &t);
}

static wk_qmix_opts opts(const char *preset)
{
    wk_qmix_opts o = { .p = wk_qmix_find_preset(preset), .output_type = -1, .embd_type = -1 };
    CHECK_MSG(o.p != NULL, "preset %s", preset);
    return o;
}

static void test_presets(void)
{
    size_t n;
    const wk_qmix_preset *p = wk_qmix_presets(&n);
    CHECK_EQ_U64(n, 20);
    CHECK_EQ_STR(p[0].name, "q4_0");
    CHECK_EQ_U64(wk_qmix_find_preset("Q4_K_M")->ftype, 15);
    CHECK_EQ_U64(wk_qmix_find_preset("q4_k")->ftype, 15);
    CHECK_EQ_U64(wk_qmix_find_preset("q5_k")->ftype, 17);
    CHECK_EQ_U64(wk_qmix_find_preset("q8_0")->ftype, 7);
    CHECK_EQ_U64(wk_qmix_find_preset("q6_k")->ftype, 18);
    CHECK_EQ_U64(wk_qmix_find_preset("q3_k_m")->ftype, 12);
    CHECK_EQ_U64(wk_qmix_find_preset("Q3_K")->ftype, 12);
    CHECK_EQ_U64(wk_qmix_find_preset("q2_k")->ftype, 10);
    CHECK_EQ_U64(wk_qmix_find_preset("q2_k_s")->ftype, 21);
    CHECK_EQ_U64(wk_qmix_find_preset("iq4_nl")->ftype, 25);
    CHECK_EQ_U64(wk_qmix_find_preset("iq4_xs")->ftype, 30);
    CHECK(wk_qmix_find_preset("iq2_xs") == NULL && wk_qmix_find_preset("q3_k_xl") == NULL);
    CHECK(wk_qmix_find_preset("q4_k_m_and_much_longer") == NULL);
    CHECK_EQ_U64(wk_qmix_blck(WK_GGML_Q4_K), 256);
    CHECK_EQ_U64(wk_qmix_blck(WK_GGML_Q4_0), 32);
    CHECK_EQ_U64(wk_qmix_blck(WK_GGML_F16), 1);
}

/* Legacy presets: every eligible tensor gets the type, output.weight Q6_K
 * (Q8_0 keeps Q8_0), 1-D and norm tensors keep theirs. */
static void test_legacy(void)
{
    static const struct { const char *name; int type; } L[] = {
        { "q4_0", WK_GGML_Q4_0 }, { "q4_1", WK_GGML_Q4_1 }, { "q5_0", WK_GGML_Q5_0 },
        { "q5_1", WK_GGML_Q5_1 }, { "q8_0", WK_GGML_Q8_0 } };
    for (size_t k = 0; k < sizeof L / sizeof L[0]; k++) {
        wk_qmix_opts o = opts(L[k].name);
        wk_qmix_state ms = llama32();
        CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_v.weight", 4096), L[k].type);
        CHECK_EQ_U64(pick(&o, &ms, "blk.0.ffn_down.weight", 11008), L[k].type);
        CHECK_EQ_U64(pick(&o, &ms, "token_embd.weight", 4096), L[k].type);
        CHECK_EQ_U64(pick(&o, &ms, "output.weight", 4096),
                     L[k].type == WK_GGML_Q8_0 ? WK_GGML_Q8_0 : WK_GGML_Q6_K);
        CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_norm.weight", 4096), WK_GGML_F16);
        CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_q.bias", 4096), WK_GGML_F16);
        /* a row that is not whole blocks of 32 falls back to F16 */
        CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_q.weight", 4100), WK_GGML_F16);
    }
}

static void test_q4_k_s(void)
{
    wk_qmix_opts o = opts("q4_k_s");
    wk_qmix_state ms = llama32();
    for (int i = 0; i < 4; i++) CHECK_EQ_U64(pick(&o, &ms, "blk.attn_v.weight", 4096), WK_GGML_Q5_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.4.attn_v.weight", 4096), WK_GGML_Q4_K);
    for (int i = 0; i < 4; i++) CHECK_EQ_U64(pick(&o, &ms, "blk.ffn_down.weight", 11008), WK_GGML_Q5_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.4.ffn_down.weight", 11008), WK_GGML_Q4_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.4.attn_q.weight", 4096), WK_GGML_Q4_K);
    CHECK_EQ_U64(pick(&o, &ms, "output.weight", 4096), WK_GGML_Q6_K);
    /* LLaMA 70B (80 layers): attn_v at least Q5_K */
    wk_qmix_state m80 = { .n_attn_v = 80, .n_ffn_down = 80, .n_layer = 80, .i_attn_v = 10, .is_70b = 1 };
    CHECK_EQ_U64(pick(&o, &m80, "blk.10.attn_v.weight", 8192), WK_GGML_Q5_K);
    /* LLaMA-1 65B (80 layers, no GQA): llama.cpp's model type is 65B, no bump */
    wk_qmix_state m65 = { .n_attn_v = 80, .n_ffn_down = 80, .n_layer = 80, .i_attn_v = 10, .is_70b = 0 };
    CHECK_EQ_U64(pick(&o, &m65, "blk.10.attn_v.weight", 8192), WK_GGML_Q4_K);
    /* fallback: Q4_K on a row that is not whole 256-blocks -> Q5_0 */
    CHECK_EQ_U64(pick(&o, &ms, "blk.5.attn_q.weight", 4000), WK_GGML_Q5_0);
}

/* use_more_bits over 32 layers: 0..3, 28..31, and 4 + 3k + 2 (6, 9, ...). */
static void test_q4_k_m(void)
{
    wk_qmix_opts o = opts("q4_k_m");
    wk_qmix_state ms = llama32();
    static const int more[32] = { 1,1,1,1, 0,0,1,0,0,1,0,0,1,0,0,1,0,0,1,0,0,1,0,0,1,0,0,1, 1,1,1,1 };
    for (int i = 0; i < 32; i++) {
        CHECK_EQ_U64(pick(&o, &ms, "blk.attn_v.weight", 4096), more[i] ? WK_GGML_Q6_K : WK_GGML_Q4_K);
        CHECK_EQ_U64(pick(&o, &ms, "blk.ffn_down.weight", 11008), more[i] ? WK_GGML_Q6_K : WK_GGML_Q4_K);
        CHECK_EQ_U64(pick(&o, &ms, "blk.ffn_up.weight", 4096), WK_GGML_Q4_K);
    }
    CHECK_EQ_U64(ms.i_attn_v, 32);
    CHECK_EQ_U64(ms.i_ffn_down, 32);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_qkv.weight", 4096), WK_GGML_Q5_K);
    CHECK_EQ_U64(pick(&o, &ms, "output.weight", 4096), WK_GGML_Q6_K);
    /* output.weight whose rows are not whole 256-blocks: Q8_0 */
    CHECK_EQ_U64(pick(&o, &ms, "output.weight", 4000), WK_GGML_Q8_0);
    /* --pure: no mix, no Q6_K output */
    wk_qmix_opts pure = o;
    pure.pure = 1;
    wk_qmix_state ps = llama32();
    CHECK_EQ_U64(pick(&pure, &ps, "blk.0.attn_v.weight", 4096), WK_GGML_Q4_K);
    CHECK_EQ_U64(pick(&pure, &ps, "output.weight", 4096), WK_GGML_Q4_K);
    /* --leave-output-tensor, --output-tensor-type, --token-embedding-type */
    wk_qmix_opts ov = o;
    ov.leave_output = 1;
    ov.embd_type = WK_GGML_Q8_0;
    CHECK_EQ_U64(pick(&ov, &ps, "output.weight", 4096), WK_GGML_F16);
    CHECK_EQ_U64(pick(&ov, &ps, "token_embd.weight", 4096), WK_GGML_Q8_0);
    ov.leave_output = 0;
    ov.output_type = WK_GGML_Q5_0;
    CHECK_EQ_U64(pick(&ov, &ps, "output.weight", 4096), WK_GGML_Q5_0);
    /* tied embeddings: token_embd.weight is the output */
    wk_qmix_state tied = llama32();
    tied.tied = 1;
    CHECK_EQ_U64(pick(&o, &tied, "token_embd.weight", 4096), WK_GGML_Q6_K);
    wk_qmix_opts ot = o;
    ot.output_type = WK_GGML_Q8_0;
    CHECK_EQ_U64(pick(&ot, &tied, "token_embd.weight", 4096), WK_GGML_Q8_0);
}

/* The 2-4-bit presets (llama_tensor_get_type_impl for LLaMA). */
static void test_lowbit(void)
{
    /* q2_k: attn_v Q3_K (Q4_K with GQA >= 4), ffn_down and attn_output Q3_K */
    wk_qmix_opts o = opts("q2_k");
    wk_qmix_state ms = llama32();
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_v.weight", 4096), WK_GGML_Q3_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.ffn_down.weight", 11008), WK_GGML_Q3_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_output.weight", 4096), WK_GGML_Q3_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_q.weight", 4096), WK_GGML_Q2_K);
    CHECK_EQ_U64(pick(&o, &ms, "token_embd.weight", 4096), WK_GGML_Q2_K);
    CHECK_EQ_U64(pick(&o, &ms, "output.weight", 4096), WK_GGML_Q6_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_q.weight", 4100), WK_GGML_F16);   /* Q4_0 fallback, not /32 */
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_q.weight", 4064), WK_GGML_Q4_0);  /* Q2_K fallback */
    wk_qmix_state gqa = llama32();
    gqa.n_gqa = 4;
    CHECK_EQ_U64(pick(&o, &gqa, "blk.0.attn_v.weight", 4096), WK_GGML_Q4_K);
    /* q3_k_m: attn_v Q5_K for the first 2, then Q4_K; ffn_down Q5_K for i < n/16, then Q4_K */
    o = opts("q3_k_m");
    ms = llama32();
    for (int i = 0; i < 4; i++)
        CHECK_EQ_U64(pick(&o, &ms, "blk.attn_v.weight", 4096), i < 2 ? WK_GGML_Q5_K : WK_GGML_Q4_K);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_U64(pick(&o, &ms, "blk.ffn_down.weight", 11008), i < 2 ? WK_GGML_Q5_K : WK_GGML_Q4_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_output.weight", 4096), WK_GGML_Q4_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.ffn_up.weight", 4096), WK_GGML_Q3_K);
    /* 70B: an attn_v that would be Q3_K or Q4_K becomes Q5_K */
    wk_qmix_state m80 = { .n_attn_v = 80, .n_ffn_down = 80, .n_layer = 80, .i_attn_v = 10,
                          .arch = "llama", .is_70b = 1 };
    CHECK_EQ_U64(pick(&o, &m80, "blk.10.attn_v.weight", 8192), WK_GGML_Q5_K);
    /* q3_k_l / q3_k_s */
    o = opts("q3_k_l");
    ms = llama32();
    CHECK_EQ_U64(pick(&o, &ms, "blk.9.attn_v.weight", 4096), WK_GGML_Q5_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.9.ffn_down.weight", 11008), WK_GGML_Q5_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.9.attn_output.weight", 4096), WK_GGML_Q5_K);
    o = opts("q3_k_s");
    ms = llama32();
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_v.weight", 4096), WK_GGML_Q3_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.ffn_down.weight", 11008), WK_GGML_Q3_K);
    /* iq4_xs: ffn_down of the first n/8 layers Q5_K, without an imatrix only; IQ4_NL fallback */
    o = opts("iq4_xs");
    ms = llama32();
    for (int i = 0; i < 5; i++)
        CHECK_EQ_U64(pick(&o, &ms, "blk.ffn_down.weight", 11008), i < 4 ? WK_GGML_Q5_K : WK_GGML_IQ4_XS);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_v.weight", 4096), WK_GGML_IQ4_XS);
    CHECK_EQ_U64(pick(&o, &gqa, "blk.1.attn_v.weight", 4096), WK_GGML_Q5_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_q.weight", 4064), WK_GGML_IQ4_NL);
    o.has_imatrix = 1;
    ms = llama32();
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.ffn_down.weight", 11008), WK_GGML_IQ4_XS);
    /* q4_0 / q5_0 with an imatrix: ffn_down of the first n/8 layers Q4_1 / Q5_1 */
    o = opts("q4_0");
    o.has_imatrix = 1;
    ms = llama32();
    for (int i = 0; i < 5; i++)
        CHECK_EQ_U64(pick(&o, &ms, "blk.ffn_down.weight", 11008), i < 4 ? WK_GGML_Q4_1 : WK_GGML_Q4_0);
    o = opts("q5_0");
    o.has_imatrix = 1;
    ms = llama32();
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.ffn_down.weight", 11008), WK_GGML_Q5_1);
    CHECK(opts("q2_k_s").p->needs_imatrix && !opts("q2_k").p->needs_imatrix);
}

static void test_q5_k(void)
{
    wk_qmix_opts s = opts("q5_k_s"), m = opts("q5_k_m");
    wk_qmix_state ms = llama32(), mm = llama32();
    CHECK_EQ_U64(pick(&s, &ms, "blk.0.attn_v.weight", 4096), WK_GGML_Q5_K);
    CHECK_EQ_U64(pick(&s, &ms, "blk.0.ffn_down.weight", 11008), WK_GGML_Q5_K);
    CHECK_EQ_U64(pick(&s, &ms, "blk.0.attn_qkv.weight", 4096), WK_GGML_Q5_K);
    CHECK_EQ_U64(pick(&m, &mm, "blk.0.attn_v.weight", 4096), WK_GGML_Q6_K);
    CHECK_EQ_U64(pick(&m, &mm, "blk.0.ffn_down.weight", 11008), WK_GGML_Q6_K);
    CHECK_EQ_U64(pick(&m, &mm, "blk.0.attn_qkv.weight", 4096), WK_GGML_Q6_K);
    CHECK_EQ_U64(pick(&m, &mm, "blk.0.attn_k.weight", 4096), WK_GGML_Q5_K);
    /* fallback: Q5_K on a row that is not whole 256-blocks -> Q5_1 */
    CHECK_EQ_U64(pick(&m, &mm, "blk.0.attn_k.weight", 4000), WK_GGML_Q5_1);
    CHECK_EQ_U64(pick(&m, &mm, "output.weight", 4096), WK_GGML_Q6_K);
}

static void test_q6_k(void)
{
    wk_qmix_opts o = opts("q6_k");
    wk_qmix_state ms = llama32();
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_v.weight", 4096), WK_GGML_Q6_K);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.ffn_down.weight", 11008), WK_GGML_Q6_K);
    CHECK_EQ_U64(pick(&o, &ms, "output.weight", 4096), WK_GGML_Q6_K);
    /* fallback: Q6_K -> Q8_0; 4000 is whole 32-blocks */
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_q.weight", 4000), WK_GGML_Q8_0);
    CHECK_EQ_U64(pick(&o, &ms, "blk.0.attn_q.weight", 4001), WK_GGML_F16);
}

int main(void)
{
    WK_RUN(test_presets);
    WK_RUN(test_legacy);
    WK_RUN(test_q4_k_s);
    WK_RUN(test_lowbit);
    WK_RUN(test_q4_k_m);
    WK_RUN(test_q5_k);
    WK_RUN(test_q6_k);
    return wk_test_summary();
}
