/* wk_hfcfg.h — the small files of a HuggingFace LLaMA checkpoint, byte for
 * byte as transformers' save_pretrained writes them, per transformers release.
 *
 * Files: config.json, generation_config.json, pytorch_model.bin.index.json,
 * tokenizer_config.json and special_tokens_map.json (slow LlamaTokenizer).
 * Also HF's size-string rule (convert_file_size_to_int) and shard file names.
 * Everything follows docs/convert.md and docs/formats/llama-layouts.md
 * §2.9–§2.14; what was verified against the real Python code is marked there
 * and by WK_HF_VERIFIED below.  Nothing here reads files or prints. */
#ifndef WK_HFCFG_H
#define WK_HFCFG_H

#include <stddef.h>
#include <stdint.h>
#include "wk_buf.h"
#include "wk_err.h"
#include "wk_json.h"

/* ---- transformers profiles ------------------------------------------------ */

/* Profile flags: what differs between the transformers releases we imitate. */
#define WK_HF_INV_FREQ    1u  /* state dict keeps rotary_emb.inv_freq (4.28 .. 4.31) */
#define WK_HF_GQA_CONFIG  2u  /* config.json has num_key_value_heads, pretraining_tp,
                                 rope_scaling (4.31+) */
#define WK_HF_PAD_TOKEN   4u  /* config/generation config carry pad_token_id 0 (.. 4.31) */
#define WK_HF_GQA_SCRIPT  8u  /* that release's converter accepts n_kv_heads (4.31+) */
#define WK_HF_EMPTY_FIRST 16u /* shard rule may open an empty first shard (E1 quirk) */
#define WK_HF_VERIFIED    32u /* JSON bytes verified against that release (4.28.0.dev0) */

typedef struct {
    char version[40]; /* written verbatim as "transformers_version" */
    int minor;        /* the 4.<minor> release line */
    unsigned flags;   /* WK_HF_* */
} wk_hf_profile;

/* Lowest and highest supported release lines (4.28 .. 4.32). */
#define WK_HF_MINOR_MIN 28
#define WK_HF_MINOR_MAX 32
/* The default: the version string of the spec's E8 experiment. */
#define WK_HF_DEFAULT_VERSION "4.28.0.dev0"

/* Profile for a version string "4.M.P" with an optional suffix made of
 * [0-9A-Za-z.+-] (".dev0", "rc1"), 28 <= M <= 32.  WK_E_USAGE naming the string
 * if it does not parse, WK_E_UNSUPPORTED if the release line is outside the
 * supported range (the message says why). */
int wk_hf_profile_parse(const char *version, wk_hf_profile *out, wk_err *err);
/* The profile of WK_HF_DEFAULT_VERSION. */
wk_hf_profile wk_hf_profile_default(void);

/* ---- config.json ------------------------------------------------------------ */

/* What config.json says about the model (values come from the tensors). */
typedef struct {
    int64_t hidden_size;
    int64_t intermediate_size;
    int64_t num_attention_heads;
    int64_t num_key_value_heads;
    int64_t num_hidden_layers;
    int64_t vocab_size;
    double rms_norm_eps;
    int rms_norm_eps_is_int;  /* params.json spelled it as an integer: written as one */
    double rope_theta;        /* written as "rope_theta" only when != 10000.0 (extension) */
    const char *torch_dtype;  /* "float16" */
} wk_hf_llama_config;

/* Append config.json (json.dumps(indent=2, sort_keys=True) + "\n") to out.
 * Fails with WK_E_UNSUPPORTED if the model needs grouped-query attention
 * and the profile's config cannot say so; WK_E_NOMEM. */
int wk_hfcfg_config_json(const wk_hf_profile *p, const wk_hf_llama_config *c, wk_buf *out,
                         wk_err *err);
/* Append generation_config.json.  WK_E_NOMEM only. */
int wk_hfcfg_generation_config_json(const wk_hf_profile *p, wk_buf *out, wk_err *err);

/* ---- pytorch_model.bin.index.json --------------------------------------------- */

/* Append the index: {"metadata": {"total_size": total}, "weight_map": {key: file}}
 * with keys[i] stored in files[i] (n pairs, keys distinct), sorted and indented
 * as save_pretrained does.  WK_E_NOMEM; WK_E_FORMAT for invalid UTF-8. */
int wk_hfcfg_index_json(uint64_t total_size, const char *const *keys, const char *const *files,
                        size_t n, wk_buf *out, wk_err *err);

/* ---- tokenizer files (slow LlamaTokenizer, docs/formats/llama-layouts.md §3) ------------------------ */

/* Append tokenizer_config.json (727 bytes) / special_tokens_map.json (411 bytes).
 * These are the 4.28.0.dev0 bytes for every profile (see docs/convert.md).
 * WK_E_NOMEM only. */
int wk_hfcfg_tokenizer_config_json(const wk_hf_profile *p, wk_buf *out, wk_err *err);
int wk_hfcfg_special_tokens_map_json(const wk_hf_profile *p, wk_buf *out, wk_err *err);
/* tokenizer_config.json as saved by LlamaTokenizerFast (the converter with
 * `tokenizers` installed): the slow file with "model_max_length": 2048 (700
 * bytes, sha256 380608719f…, the published April-2023 file).  WK_E_NOMEM only. */
int wk_hfcfg_fast_tokenizer_config_json(const wk_hf_profile *p, wk_buf *out, wk_err *err);

/* ---- sizes and names ----------------------------------------------------------- */

/* transformers' convert_file_size_to_int for a string: "<float>GiB|MiB|KiB"
 * (binary) and "<float>GB|MB|KB" (decimal; if the string ends in a lowercase
 * 'b', e.g. "10Gb" or "10gb", the value is in bits and divided by 8), units
 * case-insensitive, value = int(float(x) * unit).  A plain decimal integer is
 * taken as bytes (HF accepts an int).  WK_E_USAGE naming the string if it has
 * no valid unit or number, or the result is <= 0 or beyond 2^63. */
int wk_hfcfg_parse_size(const char *s, uint64_t *out, wk_err *err);

/* json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=ensure_ascii) + "\n"
 * appended to out, as transformers writes its JSON files; frees obj in every case
 * (NULL: WK_E_NOMEM).  Shared with wk_hfcfg3.c. */
int wk_hfcfg_dump(wk_json *obj, int ensure_ascii, wk_buf *out, wk_err *err);

/* "pytorch_model.bin" for n == 1, else "pytorch_model-%05d-of-%05d.bin" (k from
 * 1); with safetensors "model.safetensors" / "model-%05d-of-%05d.safetensors".
 * Into buf (at least WK_HF_SHARD_NAME_MAX bytes). */
#define WK_HF_SHARD_NAME_MAX 64
void wk_hfcfg_shard_name(size_t k, size_t n, int safetensors, char *buf);

#define WK_HF_INDEX_NAME "pytorch_model.bin.index.json"
#define WK_HF_ST_INDEX_NAME "model.safetensors.index.json"

#endif
