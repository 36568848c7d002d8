/* wk_gguf_bpe.c — byte-level BPE vocabularies as GGUF KVs; see wk_gguf_bpe.h. */
#include "wk_gguf_bpe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wk_bpejson.h"
#include "wk_gguf_llama.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_spm.h"
#include "wk_utf8.h"

/* The special-token kinds gguf.SpecialVocab reads (its special_token_types, plus eot and
 * eom, which it fills when the eos changes), with their GGUF keys. */
enum { SP_BOS, SP_EOS, SP_UNK, SP_SEP, SP_PAD, SP_CLS, SP_MASK, SP_EOT, SP_EOM, SP_N };
static const struct {
    const char *name, *key;
} k_sp[SP_N] = {
    [SP_BOS] = {"bos", "tokenizer.ggml.bos_token_id"},
    [SP_EOS] = {"eos", "tokenizer.ggml.eos_token_id"},
    [SP_UNK] = {"unk", "tokenizer.ggml.unknown_token_id"},
    [SP_SEP] = {"sep", "tokenizer.ggml.seperator_token_id"},
    [SP_PAD] = {"pad", "tokenizer.ggml.padding_token_id"},
    [SP_CLS] = {"cls", "tokenizer.ggml.cls_token_id"},
    [SP_MASK] = {"mask", "tokenizer.ggml.mask_token_id"},
    [SP_EOT] = {"eot", "tokenizer.ggml.eot_token_id"},
    [SP_EOM] = {"eom", "tokenizer.ggml.eom_token_id"},
};

/* Token texts llama.cpp's loader makes end-of-generation by themselves
 * (llama_vocab::impl::load, "maintain a list of tokens that cause end-of-generation"). */
static const char *const k_eog_text[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    ("<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"), "[e~[",
};

typedef struct {
    long id[SP_N];
    int add_bos, add_eos;   /* -1 unknown */
} specials;

/* The content of tokenizer_config.json's "<kind>_token" (a string or {"content": ...}), or NULL. */
static const char *tc_content(const wk_json *tc, const char *kind)
{
    char key[32];
    snprintf(key, sizeof key, "%s_token", kind);
    const wk_json *e = wk_json_get(tc, key);
    const char *s;
    if (!wk_json_as_string(e, &s, NULL, NULL)) return s;
    if (wk_json_type_of(e) == WK_JSON_OBJECT && !wk_json_get_string(e, "content", &s, NULL, NULL)) return s;
    return NULL;
}

/* The post-processor's template and tokenizer_config.json, as SpecialVocab's
 * _try_load_from_tokenizer_json (ids instead of contents). */
static void from_template_and_tc(const wk_bpej *t, const wk_json *tc, specials *sp)
{
    long tc_id[SP_N];
    for (int k = 0; k < SP_N; k++) {
        const char *c = tc ? tc_content(tc, k_sp[k].name) : NULL;
        tc_id[k] = c ? wk_bpej_added_find(t, c) : -1;
    }
    if (tc_id[SP_BOS] < 0) tc_id[SP_BOS] = tc_id[SP_CLS];
    if (tc_id[SP_EOS] < 0) tc_id[SP_EOS] = tc_id[SP_SEP];
    if (t->tpl_first >= 0) {
        if (tc && tc_id[SP_BOS] < 0 && t->tpl_first != tc_id[SP_CLS]) tc_id[SP_BOS] = t->tpl_first;
        sp->add_bos = t->tpl_first == tc_id[SP_BOS] || t->tpl_first == tc_id[SP_CLS];
    }
    if (t->tpl_last >= 0) {
        if (tc && t->tpl_last != tc_id[SP_EOS]) {
            if (tc_id[SP_EOT] < 0) tc_id[SP_EOT] = tc_id[SP_EOS];
            else if (tc_id[SP_EOM] < 0) tc_id[SP_EOM] = tc_id[SP_EOS];
            tc_id[SP_EOS] = t->tpl_last;
        }
        sp->add_eos = 1;
    } else if (t->has_template) {
        sp->add_eos = 0;
    }
    if (t->has_template && t->tpl_first < 0) sp->add_bos = 0;
    if (!tc) return;
    int b;
    if (!wk_json_get_bool(tc, "add_bos_token", &b, NULL)) sp->add_bos = b;
    if (!wk_json_get_bool(tc, "add_eos_token", &b, NULL)) sp->add_eos = b;
    for (int k = 0; k < SP_N; k++)
        if (sp->id[k] < 0) sp->id[k] = tc_id[k];
}

/* "<kind>_token_id" of a config file: an integer sets the kind if unset, else is ignored
 * (SpecialVocab._set_special_token); a list (eos in Llama 3.x / Qwen2 configs) sets it to its
 * first element if unset and adds its other elements to eog[]. */
static int ids_from_config(const wk_json *cfg, const char *path, specials *sp, long *eog, size_t *n_eog,
                           wk_err *err)
{
    for (int k = 0; k < SP_EOT; k++) {
        char key[40];
        snprintf(key, sizeof key, "%s_token_id", k_sp[k].name);
        const wk_json *v = wk_json_get(cfg, key);
        int isarr = wk_json_type_of(v) == WK_JSON_ARRAY;
        size_t n = isarr ? wk_json_len(v) : 1;
        if (!v || wk_json_type_of(v) == WK_JSON_NULL) continue;
        for (size_t i = 0; i < n && i < 16; i++) {
            int64_t id;
            WK_FAIL_IF(wk_json_as_int(isarr ? wk_json_at(v, i) : v, &id, NULL) || id < -1 ||
                       id > INT32_MAX, err, WK_E_FORMAT, "%s: field \"%s\": not a token id (or a "
                       "list of them)", path, key);
            if (id < 0) continue;   /* -1: "none" in some configs */
            if (i == 0 && sp->id[k] < 0) sp->id[k] = (long)id;
            else if (k == SP_EOS && isarr && *n_eog < 16) eog[(*n_eog)++] = (long)id;
        }
    }
    return 0;
}

/* Ids of the eos list that llama.cpp would not stop on (their text is not one of its
 * end-of-generation texts): eot, then eom, as SpecialVocab falls back. */
static void eog_fallback(const wk_bpej *t, specials *sp, const long *eog, size_t n_eog)
{
    for (size_t i = 0; i < n_eog; i++) {
        long id = eog[i];
        int known = id == sp->id[SP_EOS] || id == sp->id[SP_EOT] || id == sp->id[SP_EOM] ||
                    id < 0 || (size_t)id >= t->n;
        for (size_t k = 0; !known && k < sizeof k_eog_text / sizeof *k_eog_text; k++)
            known = !strcmp(t->tok[id], k_eog_text[k]);
        if (known) continue;
        if (sp->id[SP_EOT] < 0) sp->id[SP_EOT] = id;
        else if (sp->id[SP_EOM] < 0) sp->id[SP_EOM] = id;
    }
}

static int special_ids(const wk_bpej *t, const wk_source *src, specials *sp, wk_err *err)
{
    static const char *const cfgs[] = {"config.json", "generation_config.json"};
    wk_json *tc = NULL;
    char *path = NULL;
    long eog[32];
    size_t n_eog = 0;
    for (int k = 0; k < SP_N; k++) sp->id[k] = -1;
    sp->add_bos = sp->add_eos = -1;
    WK_TRY(wk_gl_load_json(src, "tokenizer_config.json", &tc, &path, err));
    /* transformers rebuilds the ByteLevel pre-tokenizer with this flag (GPT2TokenizerFast,
     * Qwen2TokenizerFast): a space before every text, which llama.cpp's gpt2 vocabulary never adds */
    int aps = 0;
    int bad = tc && !wk_json_get_bool(tc, "add_prefix_space", &aps, NULL) && aps;
    if (!bad) from_template_and_tc(t, tc, sp);
    wk_json_free(tc);
    WK_FAIL_GOTO(bad, fail, err, WK_E_UNSUPPORTED, "%s: field \"add_prefix_space\" is true: transformers "
                 "then puts a space before every text, which llama.cpp's BPE vocabulary cannot do: not "
                 "converted", path);
    free(path);
    for (size_t c = 0; c < 2; c++) {
        wk_json *j;
        char *cpath = NULL;
        WK_TRY(wk_gl_load_json(src, cfgs[c], &j, &cpath, err));
        int rc = j ? ids_from_config(j, cpath, sp, eog, &n_eog, err) : 0;
        wk_json_free(j);
        free(cpath);
        WK_TRY(rc);
    }
    eog_fallback(t, sp, eog, n_eog);
    return 0;
fail:
    free(path);
    return -1;
}

/* ---- the arrays --------------------------------------------------------------------- */

/* s with every U+2581 turned into a space (malloc'd); NULL on OOM. */
static char *unmark(const char *s, size_t n, size_t *out_n)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; o && i < n; i++) {
        if (i + 2 < n && !memcmp(s + i, "\xe2\x96\x81", 3)) {
            o[k++] = ' ';
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    if (o) o[k] = 0;
    *out_n = k;
    return o;
}

/* Token i's text and type as get_vocab_base gives them (owned: *own to free). */
static int token_at(const wk_bpej *t, uint32_t i, const char **s, size_t *n, int32_t *type, char **own)
{
    *own = NULL;
    if (i >= t->n) {
        char pad[32];
        snprintf(pad, sizeof pad, "[PAD%u]", i);
        if (!(*own = strdup(pad))) return -1;
        *s = *own;
        *n = strlen(pad);
        *type = WK_SPM_UNUSED;
    } else if (!t->added[i]) {
        *s = t->tok[i];
        *n = t->len[i];
        *type = WK_SPM_NORMAL;
    } else if (t->special[i] || wk_gl_token_looks_special(t->tok[i], t->len[i])) {
        *s = t->tok[i];
        *n = t->len[i];
        *type = WK_SPM_CONTROL;
    } else {
        if (!(*own = unmark(t->tok[i], t->len[i], n))) return -1;
        *s = *own;
        *type = WK_SPM_USER_DEFINED;
    }
    return 0;
}

static int token_kvs(wk_ggufw *w, const wk_bpej *t, uint32_t nv, wk_err *err)
{
    const char **s = calloc(nv, sizeof *s);
    size_t *n = calloc(nv, sizeof *n);
    int32_t *type = calloc(nv, sizeof *type);
    char **own = calloc(nv, sizeof *own);
    int rc = -1;
    WK_FAIL_GOTO(!s || !n || !type || !own, done, err, WK_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < nv; i++)
        WK_FAIL_GOTO(token_at(t, i, &s[i], &n[i], &type[i], &own[i]), done, err, WK_E_NOMEM,
                     "out of memory");
    WK_TRY_GOTO(wk_ggufw_kv_str(w, "tokenizer.ggml.model", "gpt2", 4, err), done);
    WK_TRY_GOTO(wk_ggufw_kv_str(w, "tokenizer.ggml.pre", t->pre, strlen(t->pre), err), done);
    WK_TRY_GOTO(wk_ggufw_kv_arr_str(w, "tokenizer.ggml.tokens", s, n, nv, err), done);
    WK_TRY_GOTO(wk_ggufw_kv_arr(w, "tokenizer.ggml.token_type", WK_GGUF_INT32, type, nv, err), done);
    WK_TRY_GOTO(wk_ggufw_kv_arr_str(w, "tokenizer.ggml.merges", (const char *const *)t->merges,
                                    t->merge_len, t->n_merges, err), done);
    rc = 0;
done:
    for (uint32_t i = 0; own && i < nv; i++) free(own[i]);
    free(own);
    free(s);
    free(n);
    free(type);
    return rc;
}

/* ---- chat template -------------------------------------------------------------------- */

/* A list of {name, template}: "default" -> tokenizer.chat_template, the others ->
 * tokenizer.chat_template.<name> (name with non-alphanumerics as '_') and their names in
 * tokenizer.chat_templates, in file order (gguf_writer.add_chat_template). */
static int template_list(wk_ggufw *w, const wk_json *l, const char *path, wk_err *err)
{
    size_t n = wk_json_len(l), k = 0;
    char **names = calloc(n ? n : 1, sizeof *names);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    int rc = -1;
    WK_FAIL_GOTO(!names || !lens, done, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wk_json *e = wk_json_at(l, i);
        const char *name, *tmpl;
        size_t nl, tl;
        WK_FAIL_GOTO(wk_json_get_string(e, "name", &name, &nl, NULL) ||
                     wk_json_get_string(e, "template", &tmpl, &tl, NULL) || nl == 0 || nl > 200,
                     done, err, WK_E_FORMAT, "%s: field \"chat_template[%zu]\": needs a \"name\" "
                     "(1..200 bytes) and a \"template\" string", path, i);
        if (!strcmp(name, "default")) {
            WK_TRY_GOTO(wk_ggufw_kv_str(w, "tokenizer.chat_template", tmpl, tl, err), done);
            continue;
        }
        char key[256];
        WK_FAIL_GOTO(!(names[k] = strdup(name)), done, err, WK_E_NOMEM, "out of memory");
        for (char *c = names[k]; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))) *c = '_';
        lens[k] = strlen(names[k]);
        snprintf(key, sizeof key, "tokenizer.chat_template.%s", names[k]);
        WK_TRY_GOTO(wk_ggufw_kv_str(w, key, tmpl, tl, err), done);
        k++;
    }
    if (k) WK_TRY_GOTO(wk_ggufw_kv_arr_str(w, "tokenizer.chat_templates", (const char *const *)names,
                                           lens, k, err), done);
    rc = 0;
done:
    for (size_t i = 0; names && i < k; i++) free(names[i]);
    free(names);
    free(lens);
    return rc;
}

/* chat_template.jinja beside the model (what transformers >= 4.50 saves instead of a
 * tokenizer_config.json entry; SpecialVocab reads it then): its bytes, if present. */
static int jinja_template(wk_ggufw *w, const wk_source *src, wk_err *err)
{
    char *path = wk_path_join(wk_source_dir(src), "chat_template.jinja");
    WK_FAIL_IF(!path, err, WK_E_NOMEM, "out of memory");
    struct stat st;
    int rc = 0;
    if (stat(path, &st) == 0) {
        wk_map m;
        rc = wk_inputs_add(wk_source_inputs(src), path, err) || wk_map_open(&m, path, err) ? -1 : 0;
        if (!rc) {
            rc = m.size > (16u << 20) ? wk_err_set(err, WK_E_LIMIT, "%s: larger than 16 MiB", path)
                 : !wk_utf8_valid(m.data, m.size) ? wk_err_set(err, WK_E_FORMAT, "%s: not UTF-8", path)
                 : wk_ggufw_kv_str(w, "tokenizer.chat_template", (const char *)m.data, m.size, err);
            wk_map_close(&m);
        }
    }
    free(path);
    return rc;
}

/* tokenizer_config.json's chat_template: a string or a list; absent: chat_template.jinja, or none. */
static int template_kvs(wk_ggufw *w, const wk_source *src, wk_err *err)
{
    wk_json *tc;
    char *path = NULL;
    WK_TRY(wk_gl_load_json(src, "tokenizer_config.json", &tc, &path, err));
    const wk_json *c = wk_json_get(tc, "chat_template");
    const char *s;
    size_t n;
    int rc = 0;
    if (!c || wk_json_type_of(c) == WK_JSON_NULL) rc = jinja_template(w, src, err);
    else if (!wk_json_as_string(c, &s, &n, NULL)) rc = wk_ggufw_kv_str(w, "tokenizer.chat_template", s, n, err);
    else if (wk_json_type_of(c) == WK_JSON_ARRAY) rc = template_list(w, c, path, err);
    else rc = wk_err_set(err, WK_E_FORMAT, "%s: field \"chat_template\": neither a string nor a list", path);
    wk_json_free(tc);
    free(path);
    return rc;
}

int wk_gl_bpe_vocab(wk_ggufw *w, const wk_source *src, const wk_gl_bpe_opts *o, wk_err *err)
{
    wk_bpej t;
    WK_TRY(wk_bpej_read(&t, o->path, o->pre, err));
    specials sp;
    int rc = -1;
    WK_FAIL_GOTO(t.n > o->n_vocab, done, err, WK_E_FORMAT, "%s: %zu tokens, but the embedding has "
                 "only %u rows (config.json vocab_size / model.embed_tokens.weight)", o->path, t.n,
                 o->n_vocab);
    WK_TRY_GOTO(token_kvs(w, &t, o->n_vocab, err), done);
    WK_TRY_GOTO(special_ids(&t, src, &sp, err), done);
    for (int k = 0; k < SP_N; k++)
        if (sp.id[k] >= 0 && (uint64_t)sp.id[k] < o->n_vocab)
            WK_TRY_GOTO(wk_ggufw_kv_u32(w, k_sp[k].key, (uint32_t)sp.id[k], err), done);
    WK_TRY_GOTO(wk_ggufw_kv_bool(w, "tokenizer.ggml.add_bos_token", sp.add_bos == 1, err), done);
    WK_TRY_GOTO(wk_ggufw_kv_bool(w, "tokenizer.ggml.add_eos_token", sp.add_eos == 1, err), done);
    if (o->template_kv) WK_TRY_GOTO(template_kvs(w, src, err), done);
    rc = 0;
done:
    wk_bpej_free(&t);
    return rc;
}
