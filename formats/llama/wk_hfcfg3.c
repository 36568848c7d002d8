/* wk_hfcfg3.c — Llama 3.x HF JSON files; see wk_hfcfg3.h. */
#include "wk_hfcfg3.h"

#include <stdio.h>
#include <string.h>

#include "wk_chat3_templates.h"
#include "wk_json.h"

#define BOS_ID 128000
#define EOS_ID 128001
#define VOCAB 128256

/* Meta-Llama-3-8B-Instruct's chat template (what the script takes for "3"). */
static const char k_chat3[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

static const struct {
    const char *name;
    int64_t context;
    double factor;
    wk_tiktoken_specials specials;
    int tied;
    const char *chat; /* the instruct chat_template */
} k_versions[] = {
    [WK_L3_3] = {"3", 8192, 0.0, WK_TIKTOKEN_SPECIALS_3, 0, k_chat3},
    [WK_L3_31] = {"3.1", 131072, 8.0, WK_TIKTOKEN_SPECIALS_31, 0, WK_CHAT3_TMPL_31},
    [WK_L3_32] = {"3.2", 131072, 32.0, WK_TIKTOKEN_SPECIALS_31, 1, WK_CHAT3_TMPL_32},
    [WK_L3_33] = {"3.3", 131072, 8.0, WK_TIKTOKEN_SPECIALS_31, 0, WK_CHAT3_TMPL_33},
};

int wk_hfcfg3_version_parse(const char *s, wk_llama3_version *v, wk_err *err)
{
    for (int i = WK_L3_3; i <= WK_L3_33; i++)
        if (strcmp(s, k_versions[i].name) == 0) {
            *v = (wk_llama3_version)i;
            return 0;
        }
    if (!strcmp(s, "1") || !strcmp(s, "2"))
        return wk_err_set(err, WK_E_USAGE, "--llama_version %s: LLaMA 1 / 2 are converted "
                          "without --llama_version (the profile is --transformers-version)", s);
    return wk_err_set(err, WK_E_USAGE, "--llama_version \"%s\": expected 3, 3.1, 3.2 or 3.3 "
                      "(Guard-3 and the vision models are not supported)", s);
}

const char *wk_hfcfg3_version_name(wk_llama3_version v) { return k_versions[v].name; }
int64_t wk_hfcfg3_context(wk_llama3_version v) { return k_versions[v].context; }
double wk_hfcfg3_rope_factor(wk_llama3_version v) { return k_versions[v].factor; }
wk_tiktoken_specials wk_hfcfg3_specials(wk_llama3_version v) { return k_versions[v].specials; }
int wk_hfcfg3_tied(wk_llama3_version v) { return k_versions[v].tied; }
const char *wk_hfcfg3_chat_template(wk_llama3_version v) { return k_versions[v].chat; }

/* obj[key] = v (v taken, freed on failure). */
static int put(wk_json *obj, const char *key, wk_json *v, wk_err *err)
{
    if (!v) return wk_err_set(err, WK_E_NOMEM, "out of memory building JSON");
    return wk_json_object_append(obj, key, v, err);
}

/* The eos id: 128001, or the instruct list. */
static wk_json *eos_json(int instruct, wk_err *err)
{
    if (!instruct) return wk_json_new_int(EOS_ID);
    static const int64_t ids[] = {128001, 128008, 128009};
    wk_json *a = wk_json_new_array();
    for (size_t i = 0; a && i < 3; i++)
        if (wk_json_array_push(a, wk_json_new_int(ids[i]), err)) {
            wk_json_free(a);
            return NULL;
        }
    return a;
}

static wk_json *rope_scaling(wk_llama3_version v, wk_err *err)
{
    if (k_versions[v].factor == 0.0) return wk_json_new_null();
    wk_json *o = wk_json_new_object();
    if (!o || put(o, "factor", wk_json_new_double(k_versions[v].factor), err) ||
        put(o, "high_freq_factor", wk_json_new_double(4.0), err) ||
        put(o, "low_freq_factor", wk_json_new_double(1.0), err) ||
        put(o, "original_max_position_embeddings", wk_json_new_int(8192), err) ||
        put(o, "rope_type", wk_json_new_string("llama3"), err)) {
        wk_json_free(o);
        return NULL;
    }
    return o;
}

int wk_hfcfg3_config_json(wk_llama3_version v, int instruct, const wk_hf_llama_config *c,
                          const char *tf_version, wk_buf *out, wk_err *err)
{
    WK_FAIL_IF(c->vocab_size != VOCAB, err, WK_E_UNSUPPORTED,
               "the embedding has %lld rows: a Llama 3 conversion (bos 128000, eos 128001) needs "
               "the 128000-token tiktoken vocabulary + 256 special tokens = 128256",
               (long long)c->vocab_size);
    int rc = -1;
    wk_json *o = wk_json_new_object(), *arch = wk_json_new_array();
    WK_FAIL_GOTO(!o || !arch, done, err, WK_E_NOMEM, "out of memory building config.json");
    WK_TRY_GOTO(wk_json_array_push(arch, wk_json_new_string("LlamaForCausalLM"), err), done);
    WK_TRY_GOTO(put(o, "architectures", wk_json_take(&arch), err), done);
    WK_TRY_GOTO(put(o, "attention_bias", wk_json_new_bool(0), err), done);
    WK_TRY_GOTO(put(o, "attention_dropout", wk_json_new_double(0.0), err), done);
    WK_TRY_GOTO(put(o, "bos_token_id", wk_json_new_int(BOS_ID), err), done);
    WK_TRY_GOTO(put(o, "eos_token_id", eos_json(instruct, err), err), done);
    WK_TRY_GOTO(put(o, "head_dim", wk_json_new_int(c->hidden_size / c->num_attention_heads),
                    err), done);
    WK_TRY_GOTO(put(o, "hidden_act", wk_json_new_string("silu"), err), done);
    WK_TRY_GOTO(put(o, "hidden_size", wk_json_new_int(c->hidden_size), err), done);
    WK_TRY_GOTO(put(o, "initializer_range", wk_json_new_double(0.02), err), done);
    WK_TRY_GOTO(put(o, "intermediate_size", wk_json_new_int(c->intermediate_size), err), done);
    WK_TRY_GOTO(put(o, "max_position_embeddings", wk_json_new_int(k_versions[v].context), err),
                done);
    WK_TRY_GOTO(put(o, "mlp_bias", wk_json_new_bool(0), err), done);
    WK_TRY_GOTO(put(o, "model_type", wk_json_new_string("llama"), err), done);
    WK_TRY_GOTO(put(o, "num_attention_heads", wk_json_new_int(c->num_attention_heads), err), done);
    WK_TRY_GOTO(put(o, "num_hidden_layers", wk_json_new_int(c->num_hidden_layers), err), done);
    WK_TRY_GOTO(put(o, "num_key_value_heads", wk_json_new_int(c->num_key_value_heads), err), done);
    WK_TRY_GOTO(put(o, "pretraining_tp", wk_json_new_int(1), err), done);
    WK_TRY_GOTO(put(o, "rms_norm_eps", wk_json_new_double(c->rms_norm_eps), err), done);
    WK_TRY_GOTO(put(o, "rope_scaling", rope_scaling(v, err), err), done);
    WK_TRY_GOTO(put(o, "rope_theta", wk_json_new_double(c->rope_theta), err), done);
    WK_TRY_GOTO(put(o, "tie_word_embeddings", wk_json_new_bool(k_versions[v].tied), err), done);
    /* the script sets config.torch_dtype = float16, but save_pretrained overwrites it
     * with the parameters' dtype */
    WK_TRY_GOTO(put(o, "torch_dtype", wk_json_new_string("bfloat16"), err), done);
    WK_TRY_GOTO(put(o, "transformers_version", wk_json_new_string(tf_version ? tf_version : WK_HF3_VERSION), err), done);
    WK_TRY_GOTO(put(o, "use_cache", wk_json_new_bool(1), err), done);
    WK_TRY_GOTO(put(o, "vocab_size", wk_json_new_int(c->vocab_size), err), done);
    WK_TRY_GOTO(wk_hfcfg_dump(wk_json_take(&o), 1, out, err), done);
    rc = 0;
done:
    wk_json_free(arch);
    wk_json_free(o);
    return rc;
}

int wk_hfcfg3_generation_config_json(wk_llama3_version v, int instruct, const char *tf_version,
                                     wk_buf *out, wk_err *err)
{
    (void)v;
    int rc = -1;
    wk_json *o = wk_json_new_object();
    WK_FAIL_GOTO(!o, done, err, WK_E_NOMEM, "out of memory building JSON");
    if (!instruct) WK_TRY_GOTO(put(o, "_from_model_config", wk_json_new_bool(1), err), done);
    WK_TRY_GOTO(put(o, "bos_token_id", wk_json_new_int(BOS_ID), err), done);
    if (instruct) WK_TRY_GOTO(put(o, "do_sample", wk_json_new_bool(1), err), done);
    WK_TRY_GOTO(put(o, "eos_token_id", eos_json(instruct, err), err), done);
    if (instruct) {
        WK_TRY_GOTO(put(o, "temperature", wk_json_new_double(0.6), err), done);
        WK_TRY_GOTO(put(o, "top_p", wk_json_new_double(0.9), err), done);
    }
    WK_TRY_GOTO(put(o, "transformers_version", wk_json_new_string(tf_version ? tf_version : WK_HF3_VERSION), err), done);
    WK_TRY_GOTO(wk_hfcfg_dump(wk_json_take(&o), 1, out, err), done);
    rc = 0;
done:
    wk_json_free(o);
    return rc;
}

/* {"content": s, "lstrip": false, "normalized": false, "rstrip": false,
 *  "single_word": false[, "special": true]} */
static wk_json *added_token(const char *content, int with_special, wk_err *err)
{
    wk_json *t = wk_json_new_object();
    if (!t || put(t, "content", wk_json_new_string(content), err) ||
        put(t, "lstrip", wk_json_new_bool(0), err) ||
        put(t, "normalized", wk_json_new_bool(0), err) ||
        put(t, "rstrip", wk_json_new_bool(0), err) ||
        put(t, "single_word", wk_json_new_bool(0), err) ||
        (with_special && put(t, "special", wk_json_new_bool(1), err))) {
        wk_json_free(t);
        return NULL;
    }
    return t;
}

static wk_json *added_decoder(wk_llama3_version v, const wk_tiktoken *t, wk_err *err)
{
    wk_json *d = wk_json_new_object();
    char buf[48], id[24];
    for (unsigned i = 0; d && i < WK_TIKTOKEN_N_SPECIAL; i++) {
        const char *name = wk_tiktoken_special_name(k_versions[v].specials, i, buf, sizeof buf);
        snprintf(id, sizeof id, "%llu", (unsigned long long)wk_tiktoken_special_id(t, i));
        if (put(d, id, added_token(name, 1, err), err)) {
            wk_json_free(d);
            return NULL;
        }
    }
    return d;
}

int wk_hfcfg3_tokenizer_config_json(wk_llama3_version v, int instruct, const wk_tiktoken *t,
                                    wk_buf *out, wk_err *err)
{
    int rc = -1;
    wk_json *o = wk_json_new_object(), *names = wk_json_new_array();
    WK_FAIL_GOTO(!o || !names, done, err, WK_E_NOMEM, "out of memory building JSON");
    WK_TRY_GOTO(put(o, "added_tokens_decoder", added_decoder(v, t, err), err), done);
    WK_TRY_GOTO(put(o, "bos_token", wk_json_new_string("<|begin_of_text|>"), err), done);
    if (instruct) WK_TRY_GOTO(put(o, "chat_template", wk_json_new_string(k_versions[v].chat), err), done);
    WK_TRY_GOTO(put(o, "clean_up_tokenization_spaces", wk_json_new_bool(1), err), done);
    WK_TRY_GOTO(put(o, "eos_token", wk_json_new_string(instruct ? "<|eot_id|>"
                                                                : "<|end_of_text|>"), err), done);
    WK_TRY_GOTO(wk_json_array_push(names, wk_json_new_string("input_ids"), err), done);
    WK_TRY_GOTO(wk_json_array_push(names, wk_json_new_string("attention_mask"), err), done);
    WK_TRY_GOTO(put(o, "model_input_names", wk_json_take(&names), err), done);
    WK_TRY_GOTO(put(o, "model_max_length", wk_json_new_int(k_versions[v].context), err), done);
    WK_TRY_GOTO(put(o, "tokenizer_class", wk_json_new_string("PreTrainedTokenizerFast"), err),
                done);
    WK_TRY_GOTO(wk_hfcfg_dump(wk_json_take(&o), 0, out, err), done);
    rc = 0;
done:
    wk_json_free(names);
    wk_json_free(o);
    return rc;
}

int wk_hfcfg3_special_tokens_map_json(int instruct, wk_buf *out, wk_err *err)
{
    int rc = -1;
    wk_json *o = wk_json_new_object();
    WK_FAIL_GOTO(!o, done, err, WK_E_NOMEM, "out of memory building JSON");
    WK_TRY_GOTO(put(o, "bos_token", added_token("<|begin_of_text|>", 0, err), err), done);
    WK_TRY_GOTO(put(o, "eos_token", added_token(instruct ? "<|eot_id|>" : "<|end_of_text|>", 0,
                                                err), err), done);
    WK_TRY_GOTO(wk_hfcfg_dump(wk_json_take(&o), 0, out, err), done);
    rc = 0;
done:
    wk_json_free(o);
    return rc;
}
