/* wk_qmix.c — llama-quantize's presets and per-tensor type policy (LLaMA). */
#include "wk_qmix.h"

#include <stdio.h>
#include <string.h>

/* ---- presets: llama-quantize's names, llama_ftype numbers and type rules ---------- */
#define Q(t) WK_GGML_##t
#define RULE(c, a, t, e) { .cond = WK_QC_##c, .arg = (a), .type = Q(t), .else_type = (e) }
#define KEEP (-1)
/* llama_tensor_get_type_impl's branches for LLaMA (dense, not Falcon), per ftype */
#define KM_AV RULE(MORE_BITS, 0, Q6_K, KEEP)
#define KM_FD RULE(MORE_BITS, 0, Q6_K, KEEP)
static const wk_qmix_preset PRESETS[] = {
    { .name = "q4_0", .ftype = 2, .type = Q(Q4_0), .attn_qkv = KEEP,
      .ffn_down = RULE(I_LT_N_DIV_IM, 8, Q4_1, KEEP), .desc = "4.5 bpw, legacy" },
    { .name = "q4_1", .ftype = 3, .type = Q(Q4_1), .attn_qkv = KEEP, .desc = "5.0 bpw, legacy" },
    { .name = "q5_0", .ftype = 8, .type = Q(Q5_0), .attn_qkv = KEEP,
      .ffn_down = RULE(I_LT_N_DIV_IM, 8, Q5_1, KEEP), .desc = "5.5 bpw, legacy" },
    { .name = "q5_1", .ftype = 9, .type = Q(Q5_1), .attn_qkv = KEEP, .desc = "6.0 bpw, legacy" },
    { .name = "q8_0", .ftype = 7, .type = Q(Q8_0), .attn_qkv = KEEP, .desc = "8.5 bpw" },
    { .name = "q2_k", .ftype = 10, .type = Q(Q2_K), .attn_qkv = KEEP,
      .attn_v = RULE(GQA_GE, 4, Q4_K, Q(Q3_K)), .ffn_down = RULE(ALWAYS, 0, Q3_K, KEEP),
      .attn_output = RULE(ALWAYS, 0, Q3_K, KEEP), .desc = "Q2_K; attn_v, ffn_down, attn_output Q3_K" },
    { .name = "q2_k_s", .ftype = 21, .type = Q(Q2_K), .attn_qkv = KEEP, .needs_imatrix = 1,
      .attn_v = RULE(GQA_GE, 4, Q4_K, KEEP), .ffn_down = RULE(I_LT_N_DIV, 8, Q4_K, KEEP),
      .desc = "Q2_K, needs an importance matrix" },
    { .name = "q3_k_s", .ftype = 11, .type = Q(Q3_K), .attn_qkv = KEEP, .desc = "Q3_K" },
    { .name = "q3_k_m", .ftype = 12, .type = Q(Q3_K), .attn_qkv = Q(Q4_K),
      .attn_v = RULE(I_LT, 2, Q5_K, Q(Q4_K)), .ffn_down = RULE(I_LT_N_DIV, 16, Q5_K, Q(Q4_K)),
      .attn_output = RULE(ALWAYS, 0, Q4_K, KEEP), .desc = "Q3_K; attn_v, ffn_down Q4_K/Q5_K, attn_output Q4_K" },
    { .name = "q3_k", .ftype = 12, .type = Q(Q3_K), .attn_qkv = Q(Q4_K),
      .attn_v = RULE(I_LT, 2, Q5_K, Q(Q4_K)), .ffn_down = RULE(I_LT_N_DIV, 16, Q5_K, Q(Q4_K)),
      .attn_output = RULE(ALWAYS, 0, Q4_K, KEEP), .desc = "alias of q3_k_m (as llama-quantize)" },
    { .name = "q3_k_l", .ftype = 13, .type = Q(Q3_K), .attn_qkv = Q(Q4_K),
      .attn_v = RULE(ALWAYS, 0, Q5_K, KEEP), .ffn_down = RULE(ALWAYS, 0, Q5_K, KEEP),
      .attn_output = RULE(ALWAYS, 0, Q5_K, KEEP), .desc = "Q3_K; attn_v, ffn_down, attn_output Q5_K" },
    { .name = "iq4_nl", .ftype = 25, .type = Q(IQ4_NL), .attn_qkv = KEEP,
      .attn_v = RULE(GQA_GE, 4, Q5_K, KEEP), .ffn_down = RULE(I_LT_N_DIV_NOIM, 8, Q5_K, KEEP),
      .desc = "4.5 bpw, non-linear" },
    { .name = "iq4_xs", .ftype = 30, .type = Q(IQ4_XS), .attn_qkv = KEEP,
      .attn_v = RULE(GQA_GE, 4, Q5_K, KEEP), .ffn_down = RULE(I_LT_N_DIV_NOIM, 8, Q5_K, KEEP),
      .desc = "4.25 bpw, non-linear" },
    { .name = "q4_k_s", .ftype = 14, .type = Q(Q4_K), .attn_qkv = KEEP,
      .attn_v = RULE(I_LT, 4, Q5_K, KEEP), .ffn_down = RULE(I_LT_N_DIV, 8, Q5_K, KEEP),
      .desc = "Q4_K, a few tensors Q5_K" },
    { .name = "q4_k_m", .ftype = 15, .type = Q(Q4_K), .attn_qkv = Q(Q5_K), .attn_v = KM_AV,
      .ffn_down = KM_FD, .desc = "Q4_K, half of attn_v/ffn_down Q6_K" },
    { .name = "q4_k", .ftype = 15, .type = Q(Q4_K), .attn_qkv = Q(Q5_K), .attn_v = KM_AV,
      .ffn_down = KM_FD, .desc = "alias of q4_k_m (as llama-quantize)" },
    { .name = "q5_k_s", .ftype = 16, .type = Q(Q5_K), .attn_qkv = KEEP, .desc = "Q5_K" },
    { .name = "q5_k_m", .ftype = 17, .type = Q(Q5_K), .attn_qkv = Q(Q6_K), .attn_v = KM_AV,
      .ffn_down = KM_FD, .desc = "Q5_K, half of attn_v/ffn_down Q6_K" },
    { .name = "q5_k", .ftype = 17, .type = Q(Q5_K), .attn_qkv = Q(Q6_K), .attn_v = KM_AV,
      .ffn_down = KM_FD, .desc = "alias of q5_k_m (as llama-quantize)" },
    { .name = "q6_k", .ftype = 18, .type = Q(Q6_K), .attn_qkv = KEEP, .desc = "6.56 bpw" },
};
#undef KM_AV
#undef KM_FD
#undef KEEP
#undef RULE
#undef Q
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
        /* llama_hparams::n_gqa(): n_head / n_head_kv (n_head_kv defaults to n_head) */
        ms->n_gqa = nh ? (int)(nh / (nkv ? nkv : nh)) : 0;
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

/* Whether rule r's condition holds for index i of n. */
static int rule_holds(const wk_qmix_rule *r, const wk_qmix_opts *o, const wk_qmix_state *ms, int i,
                      int n)
{
    switch (r->cond) {
    case WK_QC_NONE: return 0;
    case WK_QC_ALWAYS: return 1;
    case WK_QC_MORE_BITS: return use_more_bits(i, n);
    case WK_QC_I_LT: return i < r->arg;
    case WK_QC_I_LT_N_DIV: return i < n / r->arg;
    case WK_QC_GQA_GE: return ms->n_gqa >= r->arg;
    case WK_QC_I_LT_N_DIV_NOIM: return !o->has_imatrix && i < n / r->arg;
    case WK_QC_I_LT_N_DIV_IM: return o->has_imatrix && i < n / r->arg;
    }
    return 0;
}

/* The type rule r gives (type: the preset's), or type if r is absent. */
static int apply_rule(const wk_qmix_rule *r, const wk_qmix_opts *o, const wk_qmix_state *ms, int i,
                      int n, int type)
{
    if (r->cond == WK_QC_NONE) return type;
    if (rule_holds(r, o, ms, i, n)) return r->type;
    return r->else_type >= 0 ? r->else_type : type;
}

/* tensor_type_fallback: a row that is not whole blocks of `type`. */
static int fallback(const wk_gguf_tensor *t, int type)
{
    if (t->ne[0] % blck_of(type) == 0) return type;
    switch (type) {
    case WK_GGML_IQ4_XS: type = WK_GGML_IQ4_NL; break;
    case WK_GGML_Q2_K: case WK_GGML_Q3_K: type = WK_GGML_Q4_0; break;
    case WK_GGML_Q4_K: type = WK_GGML_Q5_0; break;
    case WK_GGML_Q5_K: type = WK_GGML_Q5_1; break;
    case WK_GGML_Q6_K: type = WK_GGML_Q8_0; break;
    default: break;   /* a 32-block type: F16 below */
    }
    return t->ne[0] % blck_of(type) ? WK_GGML_F16 : type;
}

int wk_qmix_choose(const wk_qmix_opts *o, wk_qmix_state *ms, const wk_gguf_tensor *t)
{
    if (!eligible(t)) return t->type;
    const char *n = t->name;
    const wk_qmix_preset *p = o->p;
    if (o->leave_output && !strcmp(n, "output.weight")) return t->type;
    if (o->embd_type >= 0 && !strcmp(n, "token_embd.weight")) return o->embd_type;
    if (o->output_type >= 0 && !strcmp(n, "output.weight")) return o->output_type;
    const int manual = wk_qmix_tt_match(o->tt, o->n_tt, n);
    if (manual >= 0) return fallback(t, manual);
    int type = p->type;
    const int is_output = !strcmp(n, "output.weight") || (ms->tied && !strcmp(n, "token_embd.weight"));
    if (!o->pure) {
        if (is_output) {
            if (o->output_type >= 0) type = o->output_type;   /* tied token_embd */
            else if (t->ne[0] % blck_of(type)) type = WK_GGML_Q8_0;
            else if (type != WK_GGML_Q8_0) type = WK_GGML_Q6_K;
        } else if (strstr(n, "attn_v.weight")) {
            type = apply_rule(&p->attn_v, o, ms, ms->i_attn_v, ms->n_attn_v, type);
            /* 70B: 8 q heads per v, so more bits for attn_v are cheap */
            if (ms->is_70b && (type == WK_GGML_Q3_K || type == WK_GGML_Q4_K)) type = WK_GGML_Q5_K;
            ms->i_attn_v++;
        } else if (strstr(n, "ffn_down")) {
            type = apply_rule(&p->ffn_down, o, ms, ms->i_ffn_down, ms->n_ffn_down, type);
            ms->i_ffn_down++;
        } else if (strstr(n, "attn_output.weight")) {
            type = apply_rule(&p->attn_output, o, ms, 0, 0, type);
        } else if (strstr(n, "attn_qkv.weight") && p->attn_qkv >= 0) {
            type = p->attn_qkv;
        }
    }
    return fallback(t, type);
}
