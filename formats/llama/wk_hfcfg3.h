/* wk_hfcfg3.h — the small HF files of a Llama 3 / 3.1 / 3.2 / 3.3 conversion, as
 * transformers' convert_llama_weights_to_hf.py of the 4.45 line writes them
 * (--llama_version 3 | 3.1 | 3.2, Llama3Converter; 3.3 as 3.1, see docs/convert.md):
 * config.json, generation_config.json, tokenizer_config.json,
 * special_tokens_map.json.  json.dumps(indent=2, sort_keys=True) + "\n" as
 * save_pretrained writes them.  What is verified against published files and
 * what is read from the script's source only: docs/convert.md "Llama 3". */
#ifndef WK_HFCFG3_H
#define WK_HFCFG3_H

#include <stdint.h>
#include "wk_buf.h"
#include "wk_err.h"
#include "wk_hfcfg.h"
#include "wk_tiktoken.h"

/* The transformers release whose Llama 3 output is reproduced, as Meta's published 3.2
 * files spell it (the default "transformers_version"; --transformers-version 4.45.x
 * writes another 4.45 string into config.json and generation_config.json). */
#define WK_HF3_VERSION "4.45.0.dev0"

typedef enum {
    WK_L3_NONE = 0, /* not a Llama 3 conversion (LLaMA 1 / 2 profiles) */
    WK_L3_3,        /* "3": 8192 context, no rope scaling */
    WK_L3_31,       /* "3.1": 131072 context, llama3 rope scaling factor 8 */
    WK_L3_32,       /* "3.2": as 3.1 with factor 32 and tied embeddings */
    WK_L3_33        /* "3.3": as 3.1 */
} wk_llama3_version;

/* "3", "3.1", "3.2", "3.3" -> *v; WK_E_USAGE naming s otherwise ("1", "2" and
 * "Guard-3" are named as not handled here). */
int wk_hfcfg3_version_parse(const char *s, wk_llama3_version *v, wk_err *err);
/* The script's spelling of v ("3", "3.1", ...). */
const char *wk_hfcfg3_version_name(wk_llama3_version v);
/* CONTEXT_LENGTH_FOR_VERSION: 8192 for 3, else 131072. */
int64_t wk_hfcfg3_context(wk_llama3_version v);
/* rope_scaling factor: 0 for 3 (none), 32 for 3.2, else 8. */
double wk_hfcfg3_rope_factor(wk_llama3_version v);
/* The special-token names of that version (3: Llama 3's; others: 3.1's). */
wk_tiktoken_specials wk_hfcfg3_specials(wk_llama3_version v);
/* 1 when config.json says tie_word_embeddings (3.2). */
int wk_hfcfg3_tied(wk_llama3_version v);
/* The chat_template an --instruct conversion writes: 3 Meta-Llama-3-8B-Instruct's, 3.1
 * Llama-3.1-8B-Instruct's, 3.2 Llama-3.2-3B-Instruct's, 3.3 Llama-3.3-70B-Instruct's
 * (wk_chat3_templates.h; which are verified how: docs/convert.md "Llama 3"). */
const char *wk_hfcfg3_chat_template(wk_llama3_version v);

/* config.json of the model described by c (vocab_size, sizes) for version v;
 * tf_version is written as "transformers_version" (NULL: WK_HF3_VERSION).
 * bos 128000, eos 128001 or (instruct) [128001, 128008, 128009].  The special ids
 * are those of a 128000-token tiktoken vocabulary: WK_E_UNSUPPORTED if
 * c->vocab_size is not 128256.  WK_E_NOMEM. */
int wk_hfcfg3_config_json(wk_llama3_version v, int instruct, const wk_hf_llama_config *c,
                          const char *tf_version, wk_buf *out, wk_err *err);
/* generation_config.json: base {_from_model_config, bos, eos}; instruct {bos,
 * do_sample true, eos list, temperature 0.6, top_p 0.9}. */
int wk_hfcfg3_generation_config_json(wk_llama3_version v, int instruct, const char *tf_version,
                                     wk_buf *out, wk_err *err);
/* tokenizer_config.json of PreTrainedTokenizerFast for tokenizer t: added_tokens_decoder
 * (the 256 special tokens), bos/eos, chat_template (instruct:
 * wk_hfcfg3_chat_template(v)), clean_up_tokenization_spaces true, model_input_names,
 * model_max_length (the context), tokenizer_class.  WK_E_NOMEM. */
int wk_hfcfg3_tokenizer_config_json(wk_llama3_version v, int instruct, const wk_tiktoken *t,
                                    wk_buf *out, wk_err *err);
/* special_tokens_map.json: bos <|begin_of_text|>, eos <|end_of_text|> or
 * (instruct) <|eot_id|>, as AddedToken objects (normalized false). */
int wk_hfcfg3_special_tokens_map_json(int instruct, wk_buf *out, wk_err *err);

#endif
