/* wk_gguf_bpe.h — the GGUF vocabulary (tokenizer.ggml.*, tokenizer.chat_template) of a
 * byte-level BPE tokenizer.json, as llama.cpp's convert_hf_to_gguf.py writes it for its
 * "gpt2" vocabulary type (get_vocab_base + gguf.SpecialVocab): model "gpt2", the
 * pre-tokenizer name (identified from the patterns, formats/tokenizer/wk_bpejson.h),
 * tokens in id order padded with "[PADi]" (UNUSED) to the embedding's rows, token types
 * (NORMAL; added tokens CONTROL if special or looking special, else USER_DEFINED with
 * U+2581 as a space), merges, special ids from tokenizer.json's post-processor,
 * tokenizer_config.json, config.json and generation_config.json, add_bos/add_eos, and
 * the chat template (a string, or a list of {name, template}).  The rules and where
 * they differ from the converter: docs/formats/tokenizer-json-bpe.md. */
#ifndef WK_GGUF_BPE_H
#define WK_GGUF_BPE_H

#include <stdint.h>
#include "wk_err.h"
#include "wk_gguf.h"
#include "wk_source.h"

typedef struct {
    const char *path;     /* the tokenizer.json (recorded in src's inputs by the caller) */
    const char *pre;      /* --pre NAME, or NULL: identified from the patterns */
    uint32_t n_vocab;     /* the embedding's rows: the vocabulary is padded to it */
    int template_kv;      /* write tokenizer_config.json's chat template (0: the caller
                             writes --chat-template's) */
} wk_gl_bpe_opts;

/* Add the vocabulary KVs of o->path to w; the JSON files beside it are read from
 * src's directory and recorded in its inputs.  Errors name the file and field:
 * wk_bpej_read's, more tokens than o->n_vocab (WK_E_FORMAT), a malformed
 * tokenizer_config.json / generation_config.json field we read (WK_E_FORMAT). */
int wk_gl_bpe_vocab(wk_ggufw *w, const wk_source *src, const wk_gl_bpe_opts *o, wk_err *err);

#endif
