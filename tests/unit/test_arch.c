/* test_arch.c — the architecture table (formats/llama/wk_arch): which config.json
 * names which row, key vetting, rope_scaling parsing, and llama3's rope_freqs
 * factors bit for bit against known answers (tests/unit/arch_golden.h, written by
 * `tests/peer/hf_arch_ref.py golden` from a numpy float32 reimplementation of
 * llama.cpp's converter; tests/peer/pack_arch.sh also checks them against the
 * converter's own code). */
#include "wk_test.h"

#include <string.h>

#include "wk_arch.h"
#include "wk_json.h"

#include "arch_golden.h"

static wk_json *js(const char *s)
{
    wk_err e;
    return wk_json_parse(s, strlen(s), NULL, &e);
}

static void test_llama3_golden(void)
{
    for (size_t g = 0; g < sizeof k_golden / sizeof *k_golden; g++) {
        wk_rope_scaling rs = {.kind = WK_ROPE_LLAMA3, .factor = k_golden[g].factor,
                              .low_freq_factor = k_golden[g].lff, .high_freq_factor = k_golden[g].hff,
                              .orig_ctx = k_golden[g].octx};
        float out[128];
        wk_arch_llama3_factors(k_golden[g].base, k_golden[g].dim, &rs, out);
        CHECK(k_golden[g].n == k_golden[g].dim / 2);
        for (unsigned i = 0; i < k_golden[g].n; i++) {
            uint32_t b;
            memcpy(&b, &out[i], 4);
            CHECK_MSG(b == k_golden[g].bits[i], "case %zu (base %g dim %u) factor %u: got 0x%08x, "
                      "expected 0x%08x (regenerate: tests/peer/hf_arch_ref.py golden)", g,
                      k_golden[g].base, k_golden[g].dim, i, b, k_golden[g].bits[i]);
        }
    }
}

static void test_table(void)
{
    CHECK_EQ_STR(wk_arch_get(WK_ARCH_MISTRAL)->gguf_arch, "llama");
    CHECK_EQ_STR(wk_arch_get(WK_ARCH_QWEN2)->gguf_arch, "qwen2");
    CHECK(wk_arch_get(WK_ARCH_LLAMA)->unpermute_qk && !wk_arch_get(WK_ARCH_QWEN2)->unpermute_qk);
    CHECK(wk_arch_get(WK_ARCH_QWEN2)->qkv_bias && !wk_arch_get(WK_ARCH_LLAMA)->qkv_bias);
    static const struct { const char *cfg; int id; const char *msg; } cases[] = {
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\"}", WK_ARCH_LLAMA, NULL},
        {"{\"model_type\": \"mistral\"}", WK_ARCH_MISTRAL, NULL},
        {"{\"architectures\": [\"LLaMAForCausalLM\"], \"model_type\": \"llama\"}", WK_ARCH_LLAMA, NULL},
        {"{\"architectures\": [\"Qwen2ForCausalLM\"]}", WK_ARCH_QWEN2, NULL},
        {"{\"architectures\": [\"Qwen2MoeForCausalLM\"]}", -1, "Qwen2MoeForCausalLM is not supported"},
        {"{\"architectures\": [\"MixtralForCausalLM\"]}", -1, "MixtralForCausalLM is not supported"},
        {"{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"qwen2\"}", -1, "\"model_type\" is \"qwen2\""},
        {"{\"architectures\": [\"A\", \"B\"]}", -1, "a list of one string"},
        {"{\"model_type\": \"gemma\"}", -1, "model_type \"gemma\" is not supported"},
        {"{}", -1, "neither"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wk_json *c = js(cases[i].cfg);
        wk_arch_id id = WK_ARCH_COUNT;
        wk_err e;
        int rc = wk_arch_from_config(c, "c.json", &id, &e);
        if (cases[i].id >= 0) CHECK_MSG(rc == 0 && (int)id == cases[i].id, "case %zu", i);
        else CHECK_MSG(rc != 0 && strstr(e.msg, cases[i].msg) && !strncmp(e.msg, "c.json: ", 8),
                       "case %zu: %s", i, rc ? e.msg : "accepted");
        wk_json_free(c);
    }
}

static void test_keys(void)
{
    wk_err e;
    wk_json *c = js("{\"hidden_size\": 1, \"use_sliding_window\": false, \"max_window_layers\": 2}");
    CHECK(wk_arch_check_keys(wk_arch_get(WK_ARCH_QWEN2), c, "c.json", &e) == 0);
    CHECK(wk_arch_check_keys(wk_arch_get(WK_ARCH_LLAMA), c, "c.json", &e) != 0 &&
          strstr(e.msg, "c.json: key \"use_sliding_window\" is not known for LlamaForCausalLM"));
    wk_json_free(c);
    c = js("{\"quantization_config\": {}}");
    CHECK(wk_arch_check_keys(wk_arch_get(WK_ARCH_MISTRAL), c, "c.json", &e) != 0 &&
          strstr(e.msg, "\"quantization_config\""));
    wk_json_free(c);
}

static void test_rope(void)
{
    static const struct { int arch; const char *cfg; int kind; const char *msg; } cases[] = {
        {WK_ARCH_LLAMA, "{\"rope_scaling\": null}", WK_ROPE_NONE, NULL},
        {WK_ARCH_LLAMA, "{\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}}", WK_ROPE_LINEAR, NULL},
        {WK_ARCH_LLAMA, "{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1, "
                        "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}}", WK_ROPE_LLAMA3, NULL},
        {WK_ARCH_LLAMA, "{\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 500000.0}}", WK_ROPE_NONE, NULL},
        {WK_ARCH_QWEN2, "{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1, "
                        "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}}", -1,
         "type \"llama3\" is not implemented for Qwen2ForCausalLM"},
        {WK_ARCH_QWEN2, "{\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4}}", -1, "type \"yarn\""},
        {WK_ARCH_LLAMA, "{\"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 4}}", -1, "type \"dynamic\""},
        {WK_ARCH_LLAMA, "{\"rope_scaling\": {\"rope_type\": \"longrope\"}}", -1, "type \"longrope\""},
        {WK_ARCH_LLAMA, "{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1, "
                        "\"high_freq_factor\": 4}}", -1, "\"original_max_position_embeddings\""},
        {WK_ARCH_LLAMA, "{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4, "
                        "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}}", -1,
         "must be greater than low_freq_factor"},
        {WK_ARCH_LLAMA, "{\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2, \"attention_factor\": 1}}", -1,
         "key \"attention_factor\" is not known"},
        {WK_ARCH_LLAMA, "{\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}, \"rope_parameters\": {}}", -1,
         "ambiguous"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wk_json *c = js(cases[i].cfg);
        wk_rope_scaling rs;
        double theta = 10000.0;
        wk_err e;
        int rc = wk_arch_rope_scaling(wk_arch_get(cases[i].arch), c, "c.json", &rs, &theta, &e);
        if (cases[i].kind >= 0) CHECK_MSG(rc == 0 && (int)rs.kind == cases[i].kind, "case %zu: %s", i, rc ? e.msg : "");
        else CHECK_MSG(rc != 0 && strstr(e.msg, cases[i].msg), "case %zu: %s", i, rc ? e.msg : "accepted");
        if (i == 3) CHECK(theta == 500000.0);
        wk_json_free(c);
    }
}

int main(void)
{
    WK_RUN(test_llama3_golden);
    WK_RUN(test_table);
    WK_RUN(test_keys);
    WK_RUN(test_rope);
    return wk_test_summary();
}
