/* wk_forward.c — the LLaMA-family forward pass over a chunk of tokens
 * (wk_model.h): embedding, per layer RMSNorm -> q/k/v (+ biases) -> rotary ->
 * causal grouped-query attention over the KV cache -> output projection ->
 * RMSNorm -> SwiGLU FFN, each with its residual; output norm; lm_head.
 * Every elementwise step follows ggml's CPU operations (docs/eval.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wk_model_int.h"
#include "wk_threads.h"

/* y = x * (1/sqrt(mean(x^2) + eps)) * w, the sum of squares in double (ggml's rms_norm). */
static void rms_norm(const float *x, const float *w, int64_t n, double eps, float *y)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    float mean = (float)(sum / (double)n);
    float scale = 1.0f / sqrtf(mean + (float)eps);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

static void norm_rows(const float *x, const float *w, int64_t n, int64_t e, double eps, float *y)
{
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < n; t++) rms_norm(x + t * e, w, e, eps, y + t * e);
}

/* cos/sin of position p for the head_dim/2 frequencies: angle p * scale *
 * theta^(-2i/d) / factor_i, computed in double, rounded to float. */
static void rope_table(const wk_model *m, int64_t p, float *c, float *s)
{
    int64_t h = m->head_dim / 2;
    for (int64_t i = 0; i < h; i++) {
        double f = m->freq_scale * pow(m->theta, -2.0 * (double)i / (double)m->head_dim);
        if (m->rope_freqs) f /= (double)m->rope_freqs[i];
        double a = (double)p * f;
        c[i] = (float)cos(a);
        s[i] = (float)sin(a);
    }
}

/* Rotate nh heads of v (one token) by the table: interleaved pairs (2i, 2i+1)
 * or, NEOX / HF, half-split pairs (i, i + d/2). */
static void rope_apply(const wk_model *m, float *v, int64_t nh, const float *c, const float *s)
{
    int64_t d = m->head_dim, h = d / 2;
    for (int64_t k = 0; k < nh; k++) {
        float *x = v + k * d;
        for (int64_t i = 0; i < h; i++) {
            int64_t a = m->rope_neox ? i : 2 * i, b = m->rope_neox ? i + h : 2 * i + 1;
            float x0 = x[a], x1 = x[b];
            x[a] = x0 * c[i] - x1 * s[i];
            x[b] = x0 * s[i] + x1 * c[i];
        }
    }
}

static void add_bias(float *y, const float *b, int64_t n, int64_t cols)
{
    if (!b) return;
    for (int64_t t = 0; t < n; t++)
        for (int64_t i = 0; i < cols; i++) y[t * cols + i] += b[i];
}

/* One query row of head h at position p against cache positions [0, p]. */
static void attend(const wk_model *m, const float *kc, const float *vc, const float *q, int64_t h,
                   int64_t p, float *sc, float *out)
{
    int64_t d = m->head_dim, kvw = m->n_head_kv * d, kvh = h / (m->n_head / m->n_head_kv);
    float scale = 1.0f / sqrtf((float)d), mx = -INFINITY;
    for (int64_t j = 0; j <= p; j++) {
        sc[j] = wk_fdot(q, kc + j * kvw + kvh * d, d) * scale;
        if (sc[j] > mx) mx = sc[j];
    }
    double sum = 0;
    for (int64_t j = 0; j <= p; j++) {
        sc[j] = expf(sc[j] - mx);
        sum += sc[j];
    }
    float inv = (float)(1.0 / sum);
    memset(out, 0, (size_t)d * sizeof *out);
    for (int64_t j = 0; j <= p; j++) {
        float w = sc[j] * inv;
        const float *v = vc + j * kvw + kvh * d;
        for (int64_t i = 0; i < d; i++) out[i] += w * v[i];
    }
}

static int attention(wk_model *m, int64_t l, int64_t n, int64_t pos0, wk_err *err)
{
    size_t lay = (size_t)l * (size_t)m->o.n_ctx * (size_t)(m->n_head_kv * m->head_dim);
    const float *kc = m->kc + lay, *vc = m->vc + lay;
    int64_t Q = m->n_head * m->head_dim, pairs = n * m->n_head;
    int fail = 0;
#pragma omp parallel
    {
        float *sc = malloc((size_t)(pos0 + n) * sizeof *sc);
        if (!sc) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 4)
        for (int64_t k = 0; k < pairs; k++) {
            if (!sc) continue;
            int64_t t = k / m->n_head, h = k % m->n_head;
            attend(m, kc, vc, m->q + t * Q + h * m->head_dim, h, pos0 + t, sc,
                   m->att + t * Q + h * m->head_dim);
        }
        free(sc);
    }
    if (fail) return wk_err_set(err, WK_E_NOMEM, "out of memory (attention scores)");
    return 0;
}

/* act callback, then the matmul. */
static int mm(const wk_mw *w, const float *x, int64_t n, float *y, wk_mm_act *qa, wk_model_act_fn act,
              void *actx, wk_err *err)
{
    if (act) WK_TRY(act(actx, w->name, x, n, w->cols, err));
    if (!y) return 0;
    return wk_mm(w, x, n, y, qa, err);
}

static int attn_block(wk_model *m, int64_t l, int64_t n, int64_t pos0, const float *cs, wk_mm_act *qa,
                      wk_model_act_fn act, void *actx, wk_err *err)
{
    const wk_mlayer *L = &m->layers[l];
    int64_t E = m->n_embd, Q = m->n_head * m->head_dim, KV = m->n_head_kv * m->head_dim, h = m->head_dim / 2;
    norm_rows(m->x, L->attn_norm, n, E, m->eps, m->xn);
    qa->x = NULL;
    WK_TRY(mm(&L->wq, m->xn, n, m->q, qa, act, actx, err));
    WK_TRY(mm(&L->wk, m->xn, n, m->k, qa, act, actx, err));
    WK_TRY(mm(&L->wv, m->xn, n, m->v, qa, act, actx, err));
    add_bias(m->q, L->bq, n, Q);
    add_bias(m->k, L->bk, n, KV);
    add_bias(m->v, L->bv, n, KV);
    size_t lay = (size_t)l * (size_t)m->o.n_ctx * (size_t)KV;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < n; t++) {
        rope_apply(m, m->q + t * Q, m->n_head, cs + t * 2 * h, cs + t * 2 * h + h);
        rope_apply(m, m->k + t * KV, m->n_head_kv, cs + t * 2 * h, cs + t * 2 * h + h);
        memcpy(m->kc + lay + (size_t)(pos0 + t) * (size_t)KV, m->k + t * KV, (size_t)KV * sizeof(float));
        memcpy(m->vc + lay + (size_t)(pos0 + t) * (size_t)KV, m->v + t * KV, (size_t)KV * sizeof(float));
    }
    WK_TRY(attention(m, l, n, pos0, err));
    qa->x = NULL;
    WK_TRY(mm(&L->wo, m->att, n, m->xn, qa, act, actx, err));
    for (int64_t i = 0; i < n * E; i++) m->x[i] += m->xn[i];
    return 0;
}

static int ffn_block(wk_model *m, int64_t l, int64_t n, wk_mm_act *qa, wk_model_act_fn act, void *actx,
                     wk_err *err)
{
    const wk_mlayer *L = &m->layers[l];
    int64_t E = m->n_embd, F = m->n_ff;
    norm_rows(m->x, L->ffn_norm, n, E, m->eps, m->xn);
    qa->x = NULL;
    WK_TRY(mm(&L->gate, m->xn, n, m->g, qa, act, actx, err));
    WK_TRY(mm(&L->up, m->xn, n, m->u, qa, act, actx, err));
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n * F; i++) {
        float g = m->g[i];
        m->g[i] = g / (1.0f + expf(-g)) * m->u[i];
    }
    qa->x = NULL;
    WK_TRY(mm(&L->down, m->g, n, m->xn, qa, act, actx, err));
    for (int64_t i = 0; i < n * E; i++) m->x[i] += m->xn[i];
    return 0;
}

/* One chunk of n <= n_batch tokens; logits of rows [out0, n) into logits. */
static int eval_chunk(wk_model *m, const int32_t *tok, int64_t n, int64_t pos0, int64_t out0, float *logits,
                      wk_model_act_fn act, void *actx, wk_err *err)
{
    int64_t E = m->n_embd, h = m->head_dim / 2;
    float *cs = malloc((size_t)n * 2 * (size_t)h * sizeof *cs);
    if (!cs) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (int64_t t = 0; t < n; t++) {
        wk_mw_row(&m->tok_embd, tok[t], m->x + t * E);
        rope_table(m, pos0 + t, cs + t * 2 * h, cs + t * 2 * h + h);
    }
    wk_mm_act qa = {0};
    int rc = -1;
    for (int64_t l = 0; l < m->n_layer; l++) {
        WK_TRY_GOTO(attn_block(m, l, n, pos0, cs, &qa, act, actx, err), done);
        WK_TRY_GOTO(ffn_block(m, l, n, &qa, act, actx, err), done);
    }
    if (out0 < n && (logits || act)) {
        norm_rows(m->x + out0 * E, m->out_norm, n - out0, E, m->eps, m->xn);
        qa.x = NULL;
        WK_TRY_GOTO(mm(&m->output, m->xn, n - out0, logits, &qa, act, actx, err), done);
    }
    rc = 0;
done:
    wk_mm_act_free(&qa);
    free(cs);
    return rc;
}

int wk_model_eval_out(wk_model *m, const int32_t *tokens, int64_t n, int64_t pos0, int64_t out0,
                      float *logits, wk_model_act_fn act, void *act_ctx, wk_err *err)
{
    WK_FAIL_IF(n < 1 || pos0 < 0 || pos0 > m->o.n_ctx - n, err, WK_E_USAGE, "positions %lld..%lld are "
               "outside the context of %lld", (long long)pos0, (long long)(pos0 + n - 1), (long long)m->o.n_ctx);
    WK_FAIL_IF(out0 < 0 || out0 > n, err, WK_E_USAGE, "first output row %lld outside [0, %lld]",
               (long long)out0, (long long)n);
    for (int64_t i = 0; i < n; i++)
        WK_FAIL_IF(tokens[i] < 0 || tokens[i] >= m->n_vocab, err, WK_E_USAGE, "token %lld: id %d is outside "
                   "the vocabulary [0, %lld)", (long long)i, tokens[i], (long long)m->n_vocab);
    if (m->o.threads > 0) wk_threads_apply(m->o.threads);
    for (int64_t s = 0; s < n; s += m->o.n_batch) {
        int64_t nb = n - s < m->o.n_batch ? n - s : m->o.n_batch;
        int64_t o0 = out0 > s ? (out0 - s < nb ? out0 - s : nb) : 0;
        float *lg = logits && o0 < nb ? logits + (s + o0 - out0) * m->n_vocab : NULL;
        WK_TRY(eval_chunk(m, tokens + s, nb, pos0 + s, o0, lg, act, act_ctx, err));
    }
    return 0;
}

int wk_model_eval(wk_model *m, const int32_t *tokens, int64_t n, int64_t pos0, float *logits,
                  wk_model_act_fn act, void *act_ctx, wk_err *err)
{
    return wk_model_eval_out(m, tokens, n, pos0, 0, logits, act, act_ctx, err);
}
