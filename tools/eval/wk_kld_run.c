/* wk_kld_run.c — the window loops of wk-eval kld / imatrix (wk_kld_run.h). */
#include "wk_kld_run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Window c of tokens into buf, the model's BOS first when it adds one. */
static void window(const wk_model *m, const int32_t *tokens, int64_t n_ctx, int64_t c, int32_t *buf)
{
    int add_bos;
    const int32_t bos = wk_model_bos(m, &add_bos);
    memcpy(buf, tokens + c * n_ctx, (size_t)n_ctx * sizeof *buf);
    if (add_bos) buf[0] = bos;
}

/* Evaluate the window buf with logits for positions first..n_ctx-1 only
 * (nothing in the first half is scored), as wk_ppl_run. */
static int eval_window(wk_model *m, const int32_t *buf, int64_t n_ctx, int64_t c, float *logits, wk_err *err)
{
    if (wk_model_eval_out(m, buf, n_ctx, 0, n_ctx / 2, logits, NULL, NULL, err))
        return wk_err_prefix(err, "window %lld", (long long)(c + 1));
    return 0;
}

static int check_finite(const float *l, int64_t n, int64_t c, int64_t pos, wk_err *err)
{
    for (int64_t i = 0; i < n; i++)
        WK_FAIL_IF(!isfinite(l[i]), err, WK_E_FORMAT,
                   "window %lld, position %lld: logit %lld is not finite (the model's weights?)",
                   (long long)c, (long long)pos, (long long)i);
    return 0;
}

int wk_kld_run_base(wk_model *m, const int32_t *tokens, int64_t n_ctx, int64_t n_chunk,
                    const wk_eval_run_opts *o, wk_kldbase_w *w, double *ppl, double *ppl_unc,
                    wk_err *err)
{
    const int64_t nv = wk_model_n_vocab(m), first = n_ctx / 2, rows = wk_kldbase_rows(n_ctx);
    const size_t ru = wk_kld_row_u16(nv);
    int rc = -1;
    int32_t *buf = malloc((size_t)n_ctx * sizeof *buf);
    float *logits = malloc((size_t)(n_ctx - first) * (size_t)nv * sizeof *logits);
    uint16_t *row = malloc((size_t)rows * ru * sizeof *row);
    double *nll = malloc((size_t)rows * sizeof *nll), sum = 0, sum2 = 0;
    WK_FAIL_GOTO(!buf || !logits || !row || !nll, done, err, WK_E_NOMEM,
                 "out of memory for the logits of a window of %lld", (long long)n_ctx);
    for (int64_t c = 0; c < n_chunk; c++) {
        window(m, tokens, n_ctx, c, buf);
        WK_TRY_GOTO(eval_window(m, buf, n_ctx, c, logits, err), done);
        for (int64_t i = 0; i < rows; i++)
            WK_TRY_GOTO(check_finite(logits + i * nv, nv, c, first + i, err), done);
        const int32_t *next = tokens + c * n_ctx + first + 1;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < rows; i++)
            nll[i] = wk_kld_compress(logits + i * nv, nv, next[i], row + (size_t)i * ru);
        for (int64_t i = 0; i < rows; i++) {
            sum += nll[i];
            sum2 += nll[i] * nll[i];
        }
        WK_TRY_GOTO(wk_kldbase_put(w, row, (size_t)rows, err), done);
        if (o->progress) o->progress(o->progress_ctx, (uint64_t)c + 1, (uint64_t)n_chunk);
    }
    const double count = (double)(rows * n_chunk), mean = sum / count, var = sum2 / count - mean * mean;
    if (ppl) *ppl = exp(mean);
    if (ppl_unc) *ppl_unc = var > 0 ? sqrt(var / (count - 1)) * exp(mean) : 0;
    rc = 0;
done:
    free(buf);
    free(logits);
    free(row);
    free(nll);
    return rc;
}

int wk_kld_run_model(wk_model *m, const wk_kldbase *b, const wk_eval_run_opts *o, wk_kld_stats *st,
                     wk_err *err)
{
    const int64_t nv = wk_kldbase_n_vocab(b), n_ctx = wk_kldbase_n_ctx(b), n_chunk = wk_kldbase_n_chunk(b);
    const int64_t first = n_ctx / 2, rows = wk_kldbase_rows(n_ctx);
    WK_FAIL_IF(wk_model_n_vocab(m) != nv, err, WK_E_MISMATCH,
               "the model has %lld tokens in its vocabulary, the base %lld: not the same vocabulary",
               (long long)wk_model_n_vocab(m), (long long)nv);
    const size_t ru = wk_kld_row_u16(nv), total = (size_t)(rows * n_chunk);
    int rc = -1;
    int32_t *buf = malloc((size_t)n_ctx * sizeof *buf);
    float *logits = malloc((size_t)(n_ctx - first) * (size_t)nv * sizeof *logits);
    uint16_t *row = malloc((size_t)rows * ru * sizeof *row);
    wk_kld_tok *t = malloc((size_t)rows * sizeof *t);
    float *kv = malloc(total * sizeof *kv), *dv = malloc(total * sizeof *dv);
    WK_FAIL_GOTO(!buf || !logits || !row || !t || !kv || !dv, done, err, WK_E_NOMEM,
                 "out of memory for %zu scored tokens", total);
    wk_kld_acc a;
    wk_kld_acc_init(&a);
    const int32_t *tokens = wk_kldbase_tokens(b);
    for (int64_t c = 0; c < n_chunk; c++) {
        window(m, tokens, n_ctx, c, buf);
        WK_TRY_GOTO(eval_window(m, buf, n_ctx, c, logits, err), done);
        for (int64_t i = 0; i < rows; i++) {
            WK_TRY_GOTO(check_finite(logits + i * nv, nv, c, first + i, err), done);
            WK_TRY_GOTO(wk_kldbase_row(b, c, i, row + (size_t)i * ru, err), done);
        }
        const int32_t *next = tokens + c * n_ctx + first + 1;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < rows; i++)
            wk_kld_token(logits + i * nv, nv, row + (size_t)i * ru, next[i], &t[i]);
        for (int64_t i = 0; i < rows; i++) {
            wk_kld_acc_add(&a, &t[i]);
            kv[c * rows + i] = (float)t[i].kld;
            dv[c * rows + i] = t[i].p_diff;
        }
        if (o->progress) o->progress(o->progress_ctx, (uint64_t)c + 1, (uint64_t)n_chunk);
    }
    rc = wk_kld_summary(&a, kv, dv, total, st, err);
done:
    free(buf);
    free(logits);
    free(row);
    free(t);
    free(kv);
    free(dv);
    return rc;
}

int wk_imat_run(wk_model *m, const int32_t *tokens, int64_t n_ctx, int64_t n_chunk,
                const wk_eval_run_opts *o, wk_imat *c, wk_err *err)
{
    int32_t *buf = malloc((size_t)n_ctx * sizeof *buf);
    WK_FAIL_IF(!buf, err, WK_E_NOMEM, "out of memory for a window of %lld", (long long)n_ctx);
    for (int64_t k = 0; k < n_chunk; k++) {
        window(m, tokens, n_ctx, k, buf);
        if (wk_model_eval(m, buf, n_ctx, 0, NULL, wk_imat_collect, c, err)) {
            free(buf);
            return wk_err_prefix(err, "window %lld", (long long)(k + 1));
        }
        if (o->progress) o->progress(o->progress_ctx, (uint64_t)k + 1, (uint64_t)n_chunk);
    }
    free(buf);
    return 0;
}
