/* wk_ppl.h — perplexity by llama-perplexity's rules (docs/eval.md):
 *   - the token sequence (BOS first when the vocabulary adds it) is cut into
 *     n_chunks = min(requested, n_tokens / n_ctx) windows of n_ctx tokens;
 *     fewer than 2 * n_ctx tokens are refused;
 *   - each window is evaluated from position 0 (KV cache cleared), its first
 *     token replaced by BOS when the vocabulary adds BOS, in forwards of
 *     n_batch tokens;
 *   - only the second half is scored: the logits of positions
 *     first = n_ctx/2 .. n_ctx-2 predict tokens first+1 .. n_ctx-1;
 *   - nll = -log_softmax (max subtracted, sum of expf in double), summed in
 *     double over every scored token; PPL = exp(mean nll); its uncertainty
 *     PPL * sqrt((mean(nll^2) - mean(nll)^2) / (count - 1)).
 * The engine never prints; progress goes to a callback after each chunk. */
#ifndef WK_PPL_H
#define WK_PPL_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_model.h"

typedef struct {
    int64_t n_chunks;   /* <= 0: all */
} wk_ppl_opts;

typedef struct {
    double ppl, ppl_stderr;
    double nll, nll2;      /* sums over the scored tokens */
    int64_t n_scored, n_ctx, n_chunks, n_tokens;
} wk_ppl_result;

/* After each chunk: chunk index (from 1), chunk count, the running PPL. */
typedef void (*wk_ppl_chunk_fn)(void *ctx, int64_t done, int64_t total, double ppl);

/* -log softmax(logits)[tok] as llama-perplexity computes it. */
double wk_ppl_nll(const float *logits, int64_t n_vocab, int32_t tok);

/* How many tokens / chunks a run would use: WK_E_USAGE "the text gives N
 * tokens: at least 2 x n_ctx = M are needed ..." when n < 2 * n_ctx. */
int wk_ppl_plan(size_t n_tokens, int64_t n_ctx, int64_t want_chunks, int64_t *n_chunks, wk_err *err);

/* Run over tokens[0..n) with the model's context (opened with n_ctx = the
 * window).  Token ids are checked by wk_model_eval.  Fills *r. */
int wk_ppl_run(wk_model *m, int64_t n_ctx, const int32_t *tokens, size_t n, const wk_ppl_opts *o,
               wk_ppl_chunk_fn cb, void *cbctx, wk_ppl_result *r, wk_err *err);

/* PPL and its uncertainty from the sums (count > 1). */
void wk_ppl_finish(wk_ppl_result *r);

#endif
