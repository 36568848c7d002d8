/* wk_ppl.c — perplexity over fixed windows (wk_ppl.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wk_ppl.h"

double wk_ppl_nll(const float *logits, int64_t n_vocab, int32_t tok)
{
    float mx = logits[0];
    for (int64_t i = 1; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n_vocab; i++) sum += expf(logits[i] - mx);
    return -((double)(logits[tok] - mx) - log(sum));
}

int wk_ppl_plan(size_t n_tokens, int64_t n_ctx, int64_t want_chunks, int64_t *n_chunks, wk_err *err)
{
    WK_FAIL_IF(n_ctx < 4, err, WK_E_USAGE, "context %lld is too small (at least 4)", (long long)n_ctx);
    WK_FAIL_IF(n_tokens < (size_t)(2 * n_ctx), err, WK_E_USAGE, "the text gives %zu tokens: at least "
               "2 x %lld = %lld are needed for perplexity with a context of %lld (give more text or a "
               "smaller --ctx)", n_tokens, (long long)n_ctx, (long long)(2 * n_ctx), (long long)n_ctx);
    int64_t max = (int64_t)(n_tokens / (size_t)n_ctx);
    *n_chunks = want_chunks > 0 && want_chunks < max ? want_chunks : max;
    return 0;
}

void wk_ppl_finish(wk_ppl_result *r)
{
    double c = (double)r->n_scored, mean = r->nll / c, var = r->nll2 / c - mean * mean;
    r->ppl = exp(mean);
    r->ppl_stderr = var > 0 && c > 1 ? sqrt(var / (c - 1)) * r->ppl : 0.0;
}

int wk_ppl_run(wk_model *m, int64_t n_ctx, const int32_t *tokens, size_t n, const wk_ppl_opts *o,
               wk_ppl_chunk_fn cb, void *cbctx, wk_ppl_result *r, wk_err *err)
{
    memset(r, 0, sizeof *r);
    int64_t nch, nv = wk_model_n_vocab(m), first = n_ctx / 2;
    WK_TRY(wk_ppl_plan(n, n_ctx, o ? o->n_chunks : 0, &nch, err));
    int add_bos;
    int32_t bos = wk_model_bos(m, &add_bos);
    int32_t *win = malloc((size_t)n_ctx * sizeof *win);
    float *lg = malloc((size_t)(n_ctx - first) * (size_t)nv * sizeof *lg);
    int rc = -1;
    WK_FAIL_GOTO(!win || !lg, done, err, WK_E_NOMEM, "out of memory (logits of %lld positions)",
                 (long long)(n_ctx - first));
    r->n_ctx = n_ctx;
    r->n_chunks = nch;
    r->n_tokens = (int64_t)n;
    for (int64_t c = 0; c < nch; c++) {
        memcpy(win, tokens + c * n_ctx, (size_t)n_ctx * sizeof *win);
        if (add_bos) win[0] = bos;
        if (wk_model_eval_out(m, win, n_ctx, 0, first, lg, NULL, NULL, err)) {
            wk_err_prefix(err, "chunk %lld", (long long)(c + 1));
            goto done;
        }
        for (int64_t i = 0; i < n_ctx - 1 - first; i++) {
            double v = wk_ppl_nll(lg + i * nv, nv, tokens[c * n_ctx + first + i + 1]);
            r->nll += v;
            r->nll2 += v * v;
        }
        r->n_scored += n_ctx - 1 - first;
        if (cb) cb(cbctx, c + 1, nch, exp(r->nll / (double)r->n_scored));
    }
    wk_ppl_finish(r);
    rc = 0;
done:
    free(win);
    free(lg);
    return rc;
}
