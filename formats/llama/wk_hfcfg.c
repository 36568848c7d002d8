/* wk_hfcfg.c — HF JSON files and size rules; see wk_hfcfg.h. */
#include "wk_hfcfg.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_json.h"

/* ---- profiles ------------------------------------------------------------- */

/* Flags of each supported release line (index minor - WK_HF_MINOR_MIN). */
static const unsigned k_line_flags[WK_HF_MINOR_MAX - WK_HF_MINOR_MIN + 1] = {
    /* 4.28 */ WK_HF_INV_FREQ | WK_HF_PAD_TOKEN | WK_HF_EMPTY_FIRST | WK_HF_VERIFIED,
    /* 4.29 */ WK_HF_INV_FREQ | WK_HF_PAD_TOKEN | WK_HF_EMPTY_FIRST | WK_HF_VERIFIED,
    /* 4.30 */ WK_HF_INV_FREQ | WK_HF_PAD_TOKEN | WK_HF_EMPTY_FIRST | WK_HF_VERIFIED,
    /* 4.31 */ WK_HF_INV_FREQ | WK_HF_GQA_CONFIG | WK_HF_PAD_TOKEN | WK_HF_GQA_SCRIPT |
               WK_HF_EMPTY_FIRST,
    /* 4.32 */ WK_HF_GQA_CONFIG | WK_HF_GQA_SCRIPT | WK_HF_EMPTY_FIRST,
};

/* Read a run of decimal digits as a small int; -1 if none or too long. */
static int read_small_uint(const char **s)
{
    int v = 0, n = 0;
    while (isdigit((unsigned char)**s)) {
        if (++n > 4) return -1;
        v = v * 10 + (**s - '0');
        (*s)++;
    }
    return n ? v : -1;
}

int wk_hf_profile_parse(const char *version, wk_hf_profile *out, wk_err *err)
{
    const char *s = version;
    if (!s || strlen(s) >= sizeof out->version || strncmp(s, "4.", 2) != 0)
        return wk_err_set(err, WK_E_USAGE,
                          "transformers version \"%s\": expected 4.MINOR.PATCH, e.g. 4.28.1",
                          version ? version : "(null)");
    s += 2;
    int minor = read_small_uint(&s);
    if (minor < 0 || *s != '.')
        return wk_err_set(err, WK_E_USAGE, "transformers version \"%s\": expected 4.MINOR.PATCH",
                          version);
    s++;
    if (read_small_uint(&s) < 0)
        return wk_err_set(err, WK_E_USAGE, "transformers version \"%s\": expected 4.MINOR.PATCH",
                          version);
    for (const char *t = s; *t; t++)
        if (!isalnum((unsigned char)*t) && *t != '.' && *t != '+' && *t != '-')
            return wk_err_set(err, WK_E_USAGE, "transformers version \"%s\": bad suffix", version);
    if (minor < WK_HF_MINOR_MIN)
        return wk_err_set(err, WK_E_UNSUPPORTED,
                          "transformers version %s: releases before 4.28 used a different "
                          "converter (LLaMATokenizer era); supported: 4.28 .. 4.32", version);
    if (minor > WK_HF_MINOR_MAX)
        return wk_err_set(err, WK_E_UNSUPPORTED,
                          "transformers version %s: 4.33+ converters write bfloat16 weights and "
                          "rope_theta-dependent configs, not reproduced; supported: 4.28 .. 4.32",
                          version);
    memset(out, 0, sizeof *out);
    snprintf(out->version, sizeof out->version, "%s", version);
    out->minor = minor;
    out->flags = k_line_flags[minor - WK_HF_MINOR_MIN];
    return 0;
}

wk_hf_profile wk_hf_profile_default(void)
{
    wk_hf_profile p;
    wk_hf_profile_parse(WK_HF_DEFAULT_VERSION, &p, NULL);
    return p;
}

/* ---- JSON helpers ------------------------------------------------------------ */

int wk_hfcfg_dump(wk_json *obj, int ensure_ascii, wk_buf *out, wk_err *err)
{
    if (!obj) return wk_err_set(err, WK_E_NOMEM, "out of memory building JSON");
    wk_json_dump_opts o = wk_json_opts_hf();
    o.ensure_ascii = ensure_ascii;
    int rc = wk_json_dump(obj, &o, out, err);
    wk_json_free(obj);
    if (rc != 0) return -1;
    wk_buf_putc(out, '\n');
    return wk_buf_check(out, err);
}

/* ---- config.json -------------------------------------------------------------- */

int wk_hfcfg_config_json(const wk_hf_profile *p, const wk_hf_llama_config *c, wk_buf *out,
                         wk_err *err)
{
    if (c->num_key_value_heads != c->num_attention_heads && !(p->flags & WK_HF_GQA_CONFIG))
        return wk_err_set(err, WK_E_UNSUPPORTED,
                          "the model uses grouped-query attention (%lld key/value heads, %lld "
                          "query heads); transformers %s cannot express that in config.json: "
                          "use --transformers-version 4.31.0 or later",
                          (long long)c->num_key_value_heads, (long long)c->num_attention_heads,
                          p->version);
    int rc = -1;
    wk_json *o = wk_json_new_object(), *arch = wk_json_new_array();
    WK_FAIL_GOTO(!o || !arch, done, err, WK_E_NOMEM, "out of memory building config.json");
    WK_TRY_GOTO(wk_json_array_push(arch, wk_json_new_string("LlamaForCausalLM"), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "architectures", wk_json_take(&arch), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "bos_token_id", wk_json_new_int(1), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "eos_token_id", wk_json_new_int(2), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "hidden_act", wk_json_new_string("silu"), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "hidden_size",
                                      wk_json_new_int(c->hidden_size), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "initializer_range", wk_json_new_double(0.02), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "intermediate_size",
                                      wk_json_new_int(c->intermediate_size), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "max_position_embeddings",
                                      wk_json_new_int(2048), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "model_type", wk_json_new_string("llama"), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "num_attention_heads",
                                      wk_json_new_int(c->num_attention_heads), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "num_hidden_layers",
                                      wk_json_new_int(c->num_hidden_layers), err), done);
    if (p->flags & WK_HF_GQA_CONFIG) {
        WK_TRY_GOTO(wk_json_object_append(o, "num_key_value_heads",
                                          wk_json_new_int(c->num_key_value_heads), err), done);
        WK_TRY_GOTO(wk_json_object_append(o, "pretraining_tp", wk_json_new_int(1), err), done);
        WK_TRY_GOTO(wk_json_object_append(o, "rope_scaling", wk_json_new_null(), err), done);
    }
    if (p->flags & WK_HF_PAD_TOKEN)
        WK_TRY_GOTO(wk_json_object_append(o, "pad_token_id", wk_json_new_int(0), err), done);
    /* an integer only when it is one that int64 holds exactly (params.json's
     * range check refuses every integer today; this keeps the cast defined) */
    int eps_int = c->rms_norm_eps_is_int && c->rms_norm_eps >= -9.2e18 && c->rms_norm_eps <= 9.2e18 &&
                  c->rms_norm_eps == floor(c->rms_norm_eps);
    wk_json *eps = eps_int ? wk_json_new_int((int64_t)c->rms_norm_eps)
                           : wk_json_new_double(c->rms_norm_eps);
    WK_TRY_GOTO(wk_json_object_append(o, "rms_norm_eps", eps, err), done);
    if (c->rope_theta != 10000.0)
        WK_TRY_GOTO(wk_json_object_append(o, "rope_theta",
                                          wk_json_new_double(c->rope_theta), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "tie_word_embeddings", wk_json_new_bool(0), err), done);
    const char *dtype = c->torch_dtype ? c->torch_dtype : "float16";
    WK_TRY_GOTO(wk_json_object_append(o, "torch_dtype", wk_json_new_string(dtype), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "transformers_version",
                                      wk_json_new_string(p->version), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "use_cache", wk_json_new_bool(1), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "vocab_size", wk_json_new_int(c->vocab_size), err), done);
    WK_TRY_GOTO(wk_hfcfg_dump(wk_json_take(&o), 1, out, err), done);
    rc = 0;
done:
    wk_json_free(arch);
    wk_json_free(o);
    return rc;
}

int wk_hfcfg_generation_config_json(const wk_hf_profile *p, wk_buf *out, wk_err *err)
{
    int rc = -1;
    wk_json *o = wk_json_new_object();
    WK_FAIL_GOTO(!o, done, err, WK_E_NOMEM, "out of memory building JSON");
    WK_TRY_GOTO(wk_json_object_append(o, "_from_model_config", wk_json_new_bool(1), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "bos_token_id", wk_json_new_int(1), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "eos_token_id", wk_json_new_int(2), err), done);
    if (p->flags & WK_HF_PAD_TOKEN)
        WK_TRY_GOTO(wk_json_object_append(o, "pad_token_id",
                                          wk_json_new_int(0), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "transformers_version",
                                      wk_json_new_string(p->version), err), done);
    WK_TRY_GOTO(wk_hfcfg_dump(wk_json_take(&o), 1, out, err), done);
    rc = 0;
done:
    wk_json_free(o);
    return rc;
}

/* ---- index -------------------------------------------------------------------- */

int wk_hfcfg_index_json(uint64_t total_size, const char *const *keys, const char *const *files,
                        size_t n, wk_buf *out, wk_err *err)
{
    if (total_size > INT64_MAX) return wk_err_set(err, WK_E_LIMIT, "index total_size too large");
    int rc = -1;
    wk_json *o = wk_json_new_object(), *meta = wk_json_new_object(), *map = wk_json_new_object();
    WK_FAIL_GOTO(!o || !meta || !map, done, err, WK_E_NOMEM, "out of memory building index");
    WK_TRY_GOTO(wk_json_object_append(meta, "total_size",
                                      wk_json_new_int((int64_t)total_size), err), done);
    for (size_t i = 0; i < n; i++)
        WK_TRY_GOTO(wk_json_object_append(map, keys[i], wk_json_new_string(files[i]), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "metadata", wk_json_take(&meta), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "weight_map", wk_json_take(&map), err), done);
    WK_TRY_GOTO(wk_hfcfg_dump(wk_json_take(&o), 1, out, err), done);
    rc = 0;
done:
    wk_json_free(meta);
    wk_json_free(map);
    wk_json_free(o);
    return rc;
}

/* ---- tokenizer files ------------------------------------------------------------ */

/* obj[key] = {"__type": "AddedToken", "content": s, ...flags} (with_type) or
 * the same without __type. */
static int put_added_token(wk_json *obj, const char *key, const char *content, int with_type,
                           wk_err *err)
{
    int rc = -1;
    wk_json *t = wk_json_new_object();
    if (with_type)
        WK_TRY_GOTO(wk_json_object_append(t, "__type",
                                          wk_json_new_string("AddedToken"), err), done);
    WK_TRY_GOTO(wk_json_object_append(t, "content", wk_json_new_string(content), err), done);
    WK_TRY_GOTO(wk_json_object_append(t, "lstrip", wk_json_new_bool(0), err), done);
    WK_TRY_GOTO(wk_json_object_append(t, "normalized", wk_json_new_bool(1), err), done);
    WK_TRY_GOTO(wk_json_object_append(t, "rstrip", wk_json_new_bool(0), err), done);
    WK_TRY_GOTO(wk_json_object_append(t, "single_word", wk_json_new_bool(0), err), done);
    WK_TRY_GOTO(wk_json_object_append(obj, key, wk_json_take(&t), err), done);
    rc = 0;
done:
    wk_json_free(t);
    return rc;
}

/* tokenizer_config.json with model_max_length given as a decimal literal. */
static int tokenizer_config(const char *max_len, wk_buf *out, wk_err *err)
{
    int rc = -1;
    wk_json *o = wk_json_new_object(), *big = NULL;
    WK_FAIL_GOTO(!o, done, err, WK_E_NOMEM, "out of memory building JSON");
    WK_TRY_GOTO(wk_json_object_append(o, "add_bos_token", wk_json_new_bool(1), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "add_eos_token", wk_json_new_bool(0), err), done);
    WK_TRY_GOTO(put_added_token(o, "bos_token", "<s>", 1, err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "clean_up_tokenization_spaces",
                                      wk_json_new_bool(0), err), done);
    WK_TRY_GOTO(put_added_token(o, "eos_token", "</s>", 1, err), done);
    if (!(big = wk_json_new_raw_number(max_len, err))) goto done;
    WK_TRY_GOTO(wk_json_object_append(o, "model_max_length", wk_json_take(&big), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "pad_token", wk_json_new_null(), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "sp_model_kwargs", wk_json_new_object(), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "tokenizer_class",
                                      wk_json_new_string("LlamaTokenizer"), err), done);
    WK_TRY_GOTO(put_added_token(o, "unk_token", "<unk>", 1, err), done);
    WK_TRY_GOTO(wk_hfcfg_dump(wk_json_take(&o), 0, out, err), done);
    rc = 0;
done:
    wk_json_free(o);
    return rc;
}

int wk_hfcfg_tokenizer_config_json(const wk_hf_profile *p, wk_buf *out, wk_err *err)
{
    (void)p; /* the same bytes for every supported profile (see docs/convert.md) */
    return tokenizer_config("1000000000000000019884624838656", out, err);
}

int wk_hfcfg_fast_tokenizer_config_json(const wk_hf_profile *p, wk_buf *out, wk_err *err)
{
    (void)p; /* the published 4.28-era bytes for every profile (docs/formats/tokenizer-json.md) */
    return tokenizer_config("2048", out, err);
}

int wk_hfcfg_special_tokens_map_json(const wk_hf_profile *p, wk_buf *out, wk_err *err)
{
    (void)p;
    int rc = -1;
    wk_json *o = wk_json_new_object();
    WK_FAIL_GOTO(!o, done, err, WK_E_NOMEM, "out of memory building JSON");
    WK_TRY_GOTO(put_added_token(o, "bos_token", "<s>", 0, err), done);
    WK_TRY_GOTO(put_added_token(o, "eos_token", "</s>", 0, err), done);
    WK_TRY_GOTO(put_added_token(o, "unk_token", "<unk>", 0, err), done);
    WK_TRY_GOTO(wk_hfcfg_dump(wk_json_take(&o), 0, out, err), done);
    rc = 0;
done:
    wk_json_free(o);
    return rc;
}

/* ---- sizes and names ---------------------------------------------------------------- */

/* 1 if s[0..n) ends with suffix, ignoring ASCII case. */
static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    if (n < k) return 0;
    for (size_t i = 0; i < k; i++)
        if (toupper((unsigned char)s[n - k + i]) != suffix[i]) return 0;
    return 1;
}

/* Python float() of s[0..n): surrounding whitespace allowed; no hex, nan or inf. */
static int py_float(const char *s, size_t n, double *out)
{
    char tmp[64];
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)tmp[i]) && !strchr("+-.eE", tmp[i])) return -1;
    char *end;
    double v = strtod(tmp, &end);
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int wk_hfcfg_parse_size(const char *s, uint64_t *out, wk_err *err)
{
    static const struct { const char *suffix; double unit; int bits_rule; } units[] = {
        {"GIB", 1073741824.0, 0}, {"MIB", 1048576.0, 0}, {"KIB", 1024.0, 0},
        {"GB", 1e9, 1},           {"MB", 1e6, 1},        {"KB", 1e3, 1},
    };
    size_t n = s ? strlen(s) : 0;
    int all_digits = n > 0 && n < 20;
    for (size_t i = 0; i < n && all_digits; i++) all_digits = isdigit((unsigned char)s[i]);
    if (all_digits) {
        *out = strtoull(s, NULL, 10);
        if (*out == 0) return wk_err_set(err, WK_E_USAGE, "size \"%s\" must be positive", s);
        return 0;
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t k = strlen(units[u].suffix);
        if (!ends_with_ci(s, n, units[u].suffix)) continue;
        double v;
        if (py_float(s, n - k, &v) != 0) break;
        double bytes = v * units[u].unit; /* float * int, as Python computes it */
        if (!(bytes < 9.2e18)) break;
        int64_t iv = (int64_t)bytes;      /* int() truncates toward zero */
        if (units[u].bits_rule && s[n - 1] == 'b') iv /= 8;
        if (iv <= 0) break;
        *out = (uint64_t)iv;
        return 0;
    }
    return wk_err_set(err, WK_E_USAGE,
                      "size \"%s\" is not in a valid format: use a number of bytes or a number "
                      "with a unit, like 10GB (10^9 bytes) or 2GiB (2^30 bytes)",
                      s ? s : "");
}

void wk_hfcfg_shard_name(size_t k, size_t n, int safetensors, char *buf)
{
    const char *stem = safetensors ? "model" : "pytorch_model";
    const char *ext = safetensors ? "safetensors" : "bin";
    if (n <= 1) snprintf(buf, WK_HF_SHARD_NAME_MAX, "%s.%s", stem, ext);
    else snprintf(buf, WK_HF_SHARD_NAME_MAX, "%s-%05zu-of-%05zu.%s", stem, k, n, ext);
}
