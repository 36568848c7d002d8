/* wk_kld_run.h — the evaluation loops of wk-eval kld and imatrix over a
 * wk_model, with llama-perplexity's / llama-imatrix's chunk rules
 * (docs/eval.md, as wk_ppl.h): the text's tokens (BOS first) cut into n_chunk
 * windows of n_ctx tokens (wk_ppl_plan); each window evaluated from position 0 with its
 * first token replaced by BOS (when the vocabulary adds one); KLD and PPL
 * score the positions n_ctx/2 .. n_ctx-2 (predicting the next token).
 * Engines never print or exit; progress goes to a wk_progress_fn (units:
 * windows done of all windows). */
#ifndef WK_KLD_RUN_H
#define WK_KLD_RUN_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_imat.h"
#include "wk_kld.h"
#include "wk_kldbase.h"
#include "wk_model.h"
#include "wk_progress.h"

/* (The number of windows: wk_ppl_plan, wk_ppl.h.  The BOS put first in every
 * window: the model's, wk_model_bos, when its vocabulary adds one.) */

typedef struct {
    wk_progress_fn progress;
    void *progress_ctx;
} wk_eval_run_opts;

/* The base pass: evaluate the windows of tokens (n_chunk * n_ctx) with m and
 * append the compressed rows to w (created with the same counts).  *ppl and
 * *ppl_unc: the base's perplexity over the scored tokens (as
 * llama-perplexity prints it while saving; may be NULL). */
int wk_kld_run_base(wk_model *m, const int32_t *tokens, int64_t n_ctx, int64_t n_chunk,
                    const wk_eval_run_opts *o, wk_kldbase_w *w, double *ppl, double *ppl_unc,
                    wk_err *err);

/* Evaluate m on the base file's windows and compute the statistics against
 * its rows.  WK_E_MISMATCH if m's vocabulary size is not the file's;
 * WK_E_FORMAT for a bad row or non-finite logits (naming window and position). */
int wk_kld_run_model(wk_model *m, const wk_kldbase *b, const wk_eval_run_opts *o, wk_kld_stats *st,
                     wk_err *err);

/* The imatrix pass: evaluate the windows with the collector c on every
 * matmul input (output.weight's too: c decides what it keeps); no logits. */
int wk_imat_run(wk_model *m, const int32_t *tokens, int64_t n_ctx, int64_t n_chunk,
                const wk_eval_run_opts *o, wk_imat *c, wk_err *err);

#endif
