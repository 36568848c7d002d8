/* wk_eval_text.h — wk-eval's helpers shared by the subcommands kld and
 * imatrix: a model's tokenizer (GGUF tokenizer.ggml.* or a directory's
 * tokenizer files), the text's tokens, and the BOS rule.  Tool layer. */
#ifndef WK_EVAL_TEXT_H
#define WK_EVAL_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

typedef struct {
    int32_t *ids;        /* malloc'd */
    size_t n;
    int32_t bos;         /* the BOS every window starts with; -1 when the vocabulary adds none */
    int64_t n_vocab;     /* the tokenizer's */
} wk_eval_tokens;

/* Tokenize the UTF-8 file text_path with model_path's tokenizer (BOS first
 * when it adds one), or, with text_path NULL, only fill bos and n_vocab. */
int wk_eval_tokenize(const char *model_path, const char *text_path, wk_eval_tokens *t, wk_err *err);
void wk_eval_tokens_free(wk_eval_tokens *t);

/* The last path component of path (for labels); not a copy. */
const char *wk_eval_basename(const char *path);

#endif
