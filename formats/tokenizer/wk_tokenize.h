/* wk_tokenize.h — text to token ids, in C: the SentencePiece BPE encoder
 * (LLaMA 1/2, Mistral: score-driven merges, byte fallback, the leading-space
 * rule) and the byte-level BPE encoder (Llama 3, Qwen2, ...: pre-tokenizer
 * regexes by PCRE2, rank-driven merges).
 *
 * CONTRACT (fixed before the implementation; wk_tokenize*.c own it):
 *   - The ids are those llama.cpp's llama_tokenize gives for the same vocabulary
 *     (parse_special = false) and, for the published files, those sentencepiece /
 *     HF tokenizers give.  A vocabulary type or pre-tokenizer not implemented is
 *     refused by name (WK_E_UNSUPPORTED), never approximated.
 *   - Input text must be UTF-8 (WK_E_FORMAT naming the byte offset otherwise).
 *   - The library never prints or exits. */
#ifndef WK_TOKENIZE_H
#define WK_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_gguf.h"

typedef struct wk_tok wk_tok;

/* From a GGUF's tokenizer.ggml.* keys (model "llama" = SentencePiece BPE,
 * "gpt2" = byte-level BPE with tokenizer.ggml.pre). */
wk_tok *wk_tok_open_gguf(const wk_gguf *g, wk_err *err);
/* From a model directory: tokenizer.model (SentencePiece) or tokenizer.json
 * (byte-level BPE), plus tokenizer_config.json / config.json for BOS/EOS. */
wk_tok *wk_tok_open_dir(const char *dir, wk_err *err);
void wk_tok_close(wk_tok *t);   /* safe on NULL */

int64_t wk_tok_n_vocab(const wk_tok *t);
int32_t wk_tok_bos(const wk_tok *t);        /* -1 if none */
int wk_tok_add_bos(const wk_tok *t);        /* the vocabulary's add_bos default */
/* "spm" or "bpe:<pre>" (e.g. "bpe:llama-bpe"). */
const char *wk_tok_kind(const wk_tok *t);

/* Encode len bytes of text; prepend BOS when add_bos.  *ids (malloc'd, the
 * caller frees) gets *n ids.  Errors: WK_E_FORMAT (invalid UTF-8, naming the
 * byte offset), WK_E_NOMEM, WK_E_LIMIT (more than INT32_MAX ids). */
int wk_tok_encode(const wk_tok *t, const char *text, size_t len, int add_bos, int32_t **ids,
                  size_t *n, wk_err *err);

#endif
