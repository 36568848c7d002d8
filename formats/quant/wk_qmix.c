/* wk_qmix.c — llama-quantize's presets and per-tensor type policy (LLaMA). */
#include "wk_qmix.h"

#include <stdio.h>
#include <string.h>

/* ---- presets: llama-quantize's names and llama_ftype numbers ------------------ */
static const wk_qmix_preset PRESETS[] = {
    { "q4_0", 2, WK_GGML_Q4_0, WK_QMIX_NONE, "4.5 bpw, legacy" },
    { "q4_1", 3, WK_GGML_Q4_1, WK_QMIX_NONE, "5.0 bpw, legacy" },
    { "q5_0", 8, WK_GGML_Q5_0, WK_QMIX_NONE, "5.5 bpw, legacy" },
    { "q5_1", 9, WK_GGML_Q5_1, WK_QMIX_NONE, "6.0 bpw, legacy" },
    { "q8_0", 7, WK_GGML_Q8_0, WK_QMIX_NONE, "8.5 bpw" },
    { "q4_k_s", 14, WK_GGML_Q4_K, WK_QMIX_K_S, "Q4_K, a few tensors Q5_K" },
    { "q4_k_m", 15, WK_GGML_Q4_K, WK_QMIX_K_M, "Q4_K, half of attn_v/ffn_down Q6_K" },
    { "q4_k", 15, WK_GGML_Q4_K, WK_QMIX_K_M, "alias of q4_k_m (as llama-quantize)" },
    { "q5_k_s", 16, WK_GGML_Q5_K, WK_QMIX_K_S, "Q5_K" },
    { "q5_k_m", 17, WK_GGML_Q5_K, WK_QMIX_K_M, "Q5_K, half of attn_v/ffn_down Q6_K" },
    { "q5_k", 17, WK_GGML_Q5_K, WK_QMIX_K_M, "alias of q5_k_m (as llama-quantize)" },
    { "q6_k", 18, WK_GGML_Q6_K, WK_QMIX_NONE, "6.56 bpw" },
};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

const wk_qmix_preset *wk_qmix_presets(size_t *n)
{
    *n = NPRESETS;
    return PRESETS;
}

const wk_qmix_preset *wk_qmix_find_preset(const char *s)
{
    char low[16];
    size_t n = strlen(s);
    if (n >= sizeof low) return NULL;
    for (size_t i = 0; i <= n; i++) low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    for (size_t i = 0; i < NPRESETS; i++)
        if (!strcmp(low, PRESETS[i].name)) return &PRESETS[i];
    return NULL;
}

/* ---- per-tensor type policy (llama-quantize's llama_tensor_get_type, LLaMA) ---- */

/* The architectures whose llama.cpp mixes are reproduced, and when llama.cpp
 * takes a model for a "70B" (llama_model's model type, which bumps attn_v):
 * "llama" with 80 layers and grouped-query attention (80 layers without it
 * is LLaMA-1 65B), "qwen2" with 80 layers. */
static const struct {
    const char *arch;
    int layers_70b;
    int needs_gqa;
} ARCHS[] = {
    { .arch = "llama", .layers_70b = 80, .needs_gqa = 1 },
    { .arch = "qwen2", .layers_70b = 80, .needs_gqa = 0 },
};

/* "<arch>.<key>" of g as u32, 0 if absent. */
static uint32_t arch_u32(const wk_gguf *g, const char *arch, const char *key)
{
    char k[96];
    uint32_t v = 0;
    wk_err e;
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return wk_gguf_get_u32(g, k, &v, &e) ? 0 : v;
}

void wk_qmix_state_init(wk_qmix_state *ms, const wk_gguf *g)
{
    const size_t nt = wk_gguf_tensor_count(g);
    memset(ms, 0, sizeof *ms);
    ms->tied = wk_gguf_find_tensor(g, "output.weight") < 0;
    const char *arch = NULL;
    size_t al = 0;
    wk_err e2;
    if (wk_gguf_get_str(g, "general.architecture", &arch, &al, &e2)) arch = NULL;
    for (size_t a = 0; arch && a < sizeof ARCHS / sizeof *ARCHS; a++) {
        if (strlen(ARCHS[a].arch) != al || memcmp(ARCHS[a].arch, arch, al)) continue;
        ms->arch = ARCHS[a].arch;
        ms->n_layer = (int)arch_u32(g, ms->arch, "block_count");
        uint32_t nh = arch_u32(g, ms->arch, "attention.head_count");
        uint32_t nkv = arch_u32(g, ms->arch, "attention.head_count_kv");
        ms->is_70b = ms->n_layer == ARCHS[a].layers_70b && (!ARCHS[a].needs_gqa || (nkv && nkv != nh));
    }
    for (size_t i = 0; i < nt; i++) {
        const char *n = wk_gguf_tensor_at(g, i)->name;
        ms->n_attn_v += strstr(n, "attn_v.weight") != NULL;
        ms->n_ffn_down += strstr(n, "ffn_down") != NULL;
    }
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* tensor_allows_quantization: >= 2 dims, "*weight", not a norm or a router. */
static int eligible(const wk_gguf_tensor *t)
{
    if (t->n_dims < 2) return 0;
    const char *n = t->name;
    return ends_with(n, "weight") && !strstr(n, "_norm.weight") && !strstr(n, "ffn_gate_inp.weight")
        && !strstr(n, "altup") && !strstr(n, "laurel") && !strstr(n, "per_layer_model_proj");
}

static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static int blck_of(int ggml) { return wk_qtraits_get(ggml) ? (int)wk_ggml_type_get(ggml)->blck : 1; }

int wk_qmix_blck(int ggml) { return blck_of(ggml); }

int wk_qmix_choose(const wk_qmix_opts *o, wk_qmix_state *ms, const wk_gguf_tensor *t)
{
    if (!eligible(t)) return t->type;
    const char *n = t->name;
    if (o->leave_output && !strcmp(n, "output.weight")) return t->type;
    if (o->embd_type >= 0 && !strcmp(n, "token_embd.weight")) return o->embd_type;
    if (o->output_type >= 0 && !strcmp(n, "output.weight")) return o->output_type;
    int type = o->p->type;
    const int is_output = !strcmp(n, "output.weight") || (ms->tied && !strcmp(n, "token_embd.weight"));
    if (!o->pure) {
        if (is_output) {
            if (o->output_type >= 0) type = o->output_type;   /* tied token_embd */
            else if (t->ne[0] % blck_of(type)) type = WK_GGML_Q8_0;
            else if (type != WK_GGML_Q8_0) type = WK_GGML_Q6_K;
        } else if (strstr(n, "attn_v.weight")) {
            if (o->p->mix == WK_QMIX_K_M && use_more_bits(ms->i_attn_v, ms->n_attn_v)) type = WK_GGML_Q6_K;
            else if (o->p->mix == WK_QMIX_K_S && o->p->type == WK_GGML_Q4_K && ms->i_attn_v < 4) type = WK_GGML_Q5_K;
            if (ms->is_70b && type == WK_GGML_Q4_K) type = WK_GGML_Q5_K;   /* 70B: 8 q heads per v */
            ms->i_attn_v++;
        } else if (strstr(n, "ffn_down")) {
            int i = ms->i_ffn_down++, nl = ms->n_ffn_down;
            if (o->p->mix == WK_QMIX_K_M && use_more_bits(i, nl)) type = WK_GGML_Q6_K;
            else if (o->p->mix == WK_QMIX_K_S && o->p->type == WK_GGML_Q4_K && i < nl / 8) type = WK_GGML_Q5_K;
        } else if (strstr(n, "attn_qkv.weight") && o->p->mix == WK_QMIX_K_M) {
            type = o->p->type == WK_GGML_Q4_K ? WK_GGML_Q5_K : WK_GGML_Q6_K;
        }
    }
    /* tensor_type_fallback: a row that is not whole blocks */
    if (t->ne[0] % blck_of(type)) {
        type = type == WK_GGML_Q4_K ? WK_GGML_Q5_0 : type == WK_GGML_Q5_K ? WK_GGML_Q5_1
             : type == WK_GGML_Q6_K ? WK_GGML_Q8_0 : WK_GGML_F16;
        if (t->ne[0] % blck_of(type)) type = WK_GGML_F16;
    }
    return type;
}
