/* wk_kld_run.c — the window loops of wk-eval kld / imatrix (wk_kld_run.h). */
#include "wk_kld_run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int wk_eval_chunks(int64_t n_tokens, int64_t n_ctx, int64_t max_chunks, const char *what,
                   int64_t *n_chunk, wk_err *err)
{
    WK_FAIL_IF(n_ctx < 3, err, WK_E_USAGE, "--ctx %lld: must be at least 3 (the second half of a "
               "window is scored)", (long long)n_ctx);
    WK_FAIL_IF(n_tokens < 2 * n_ctx, err, WK_E_USAGE,
               "%s: %lld tokens, at least %lld needed for a context of %lld (2 x --ctx; as llama.cpp)", what,
               (long long)n_tokens, (long long)(2 * n_ctx), (long long)n_ctx);
    const int64_t n = n_tokens / n_ctx;
    *n_chunk = max_chunks < 0 || max_chunks > n ? n : max_chunks;
    WK_FAIL_IF(*n_chunk < 1, err, WK_E_USAGE, "%s: --chunks 0 evaluates nothing", what);
    return 0;
}

/* Window c of tokens into buf (BOS first if o->bos >= 0). */
static void window(const int32_t *tokens, int64_t n_ctx, int64_t c, const wk_eval_run_opts *o,
                   int32_t *buf)
{
    memcpy(buf, tokens + c * n_ctx, (size_t)n_ctx * sizeof *buf);
    if (o->bos >= 0) buf[0] = o->bos;
}

/* Evaluate the window buf with logits for positions first..n_ctx-1 only
 * (the first half without: nothing there is scored). */
static int eval_window(wk_model *m, const int32_t *buf, int64_t n_ctx, float *logits, wk_err *err)
{
    const int64_t first = n_ctx / 2;
    WK_TRY(wk_model_eval(m, buf, first, 0, NULL, NULL, NULL, err));
    return wk_model_eval(m, buf + first, n_ctx - first, first, logits, NULL, NULL, err);
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
        window(tokens, n_ctx, c, o, buf);
        WK_TRY_GOTO(eval_window(m, buf, n_ctx, logits, err), done);
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
        window(tokens, n_ctx, c, o, buf);
        WK_TRY_GOTO(eval_window(m, buf, n_ctx, logits, err), done);
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
                const wk_eval_run_opts *o, wk_imat *c, int process_output, wk_err *err)
{
    int rc = -1;
    int32_t *buf = malloc((size_t)n_ctx * sizeof *buf);
    float *logits = process_output ? malloc((size_t)n_ctx * (size_t)wk_model_n_vocab(m) * sizeof *logits) : NULL;
    WK_FAIL_GOTO(!buf || (process_output && !logits), done, err, WK_E_NOMEM,
                 "out of memory for a window of %lld", (long long)n_ctx);
    for (int64_t k = 0; k < n_chunk; k++) {
        window(tokens, n_ctx, k, o, buf);
        WK_TRY_GOTO(wk_model_eval(m, buf, n_ctx, 0, logits, wk_imat_collect, c, err), done);
        if (o->progress) o->progress(o->progress_ctx, (uint64_t)k + 1, (uint64_t)n_chunk);
    }
    rc = 0;
done:
    free(buf);
    free(logits);
    return rc;
}
