/* wk_tokjson.h — tokenizer.json (HF `tokenizers`) for a SentencePiece BPE model.
 *
 * Writer: the graph transformers' LlamaConverter builds from a tokenizer.model
 * (normalizer Prepend "▁" + Replace " "->"▁", no pre-tokenizer, a
 * TemplateProcessing post-processor, decoder Replace/ByteFallback/Fuse/Strip,
 * a BPE model with byte_fallback), serialized byte for byte as the Rust crate
 * tokenizers 0.13.3 writes it with save(pretty=true): serde_json's pretty form
 * (two-space indent, one element a line, no final newline), its string
 * escaping, the vocab in id order, the merges in SentencePieceExtractor's order.
 * The bytes are streamed to a wk_sink; memory is O(pieces + merges).
 * Format notes and what verifies them: docs/formats/tokenizer-json.md. */
#ifndef WK_TOKJSON_H
#define WK_TOKJSON_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_sink.h"
#include "wk_spm.h"

/* The post-processor templates. */
typedef enum {
    WK_TOKJSON_POST_2023 = 0,   /* LlamaConverter of April 2023: pair "<s> $A $B" */
    WK_TOKJSON_POST_UPDATE = 1  /* LlamaTokenizerFast.update_post_processor (4.31+):
                                   pair "<s>:0 $A:0 <s>:1 $B:1" */
} wk_tokjson_post;

/* 0 if m can be converted (a BPE model with at least the three special ids,
 * no duplicate piece texts, finite scores), else WK_E_UNSUPPORTED /
 * WK_E_FORMAT naming label and what is wrong (e.g. "model type unigram"). */
int wk_tokjson_check(const wk_spm *m, const char *label, wk_err *err);

/* A merge: two token ids (left, right). */
typedef struct {
    uint32_t left, right;
} wk_tokjson_merge;

/* SentencePieceExtractor's merges for m: for every piece id >= 3 whose score
 * is not 0.0, every split of its text into two pieces of the vocab, ordered by
 * the piece's score (highest first), ties by (left id, right id) ascending.
 * *out is malloc'ed (free it), *n its length.  Checks m (wk_tokjson_check). */
int wk_tokjson_merges(const wk_spm *m, const char *label, wk_tokjson_merge **out, size_t *n,
                      wk_err *err);

/* Stream the tokenizer.json of m to out.  label names the model in messages.
 * WK_E_UNSUPPORTED / WK_E_FORMAT as wk_tokjson_check (nothing written then),
 * WK_E_NOMEM, or the sink's error. */
int wk_tokjson_write(const wk_spm *m, wk_tokjson_post post, const char *label, wk_sink *out,
                     wk_err *err);

/* Read the tokenizer.model at path for conversion: a tiktoken file (Llama 3) is
 * refused naming the file (WK_E_UNSUPPORTED), then wk_spm_load's errors, then
 * wk_tokjson_check's (e.g. a unigram model).  On failure *m is empty. */
int wk_tokjson_load_spm(wk_spm *m, const char *path, wk_err *err);

/* Reader: a tokenizer.json holding a SentencePiece-style BPE (model.type "BPE" with
 * byte_fallback true: what LlamaConverter writes) as a wk_spm, for a GGUF vocabulary
 * when no tokenizer.model is at hand.  Pieces in id order from model.vocab (ids exactly
 * 0..n-1), then added_tokens past the vocab (contiguous ids; CONTROL if special, else
 * USER_DEFINED; score -1000).  Types: "<0xXX>" BYTE, an added token marked special
 * CONTROL (UNKNOWN for model.unk_token), else NORMAL.  Scores, which tokenizer.json does
 * not keep: the k-th distinct piece the merges produce (in merge order) gets -(k+1),
 * which keeps SentencePiece's merge priority; other normal pieces get lower scores in
 * id order; specials and byte pieces 0.  Ids: unk from model.unk_token, bos "<s>",
 * eos "</s>", pad none.  add_dummy_prefix from a Prepend("▁") normalizer or a Metaspace
 * pre-tokenizer.  Errors name the file and the field: WK_E_FORMAT (does not parse, a
 * field missing or of the wrong type, a merge not made of two pieces, bad ids),
 * WK_E_UNSUPPORTED (model.type other than BPE, byte_fallback not true), WK_E_LIMIT,
 * WK_E_NOMEM.  On failure *m is empty. */
int wk_tokjson_read_spm(wk_spm *m, const char *path, wk_err *err);

/* 1 if the bytes look like a tiktoken BPE file (lines "<base64> <rank>", as
 * Llama 3 ships as tokenizer.model), else 0.  Only the first line is looked at. */
int wk_tokjson_is_tiktoken(const void *data, size_t len);

#endif
