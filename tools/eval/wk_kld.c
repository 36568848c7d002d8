/* wk_kld.c — llama-perplexity's KL-divergence statistics (wk_kld.h;
 * docs/formats/kld-base.md has the formulas this follows). */
#include "wk_kld.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const float wk_kld_kld_pct[WK_KLD_NPCT] = { 1.0f, 0.999f, 0.990f, 0.950f, 0.900f, 0.5f,
                                            0.100f, 0.050f, 0.010f, 0.001f, 0.0f };
const float wk_kld_dp_pct[WK_KLD_NDP] = { 1.0f, 0.999f, 0.990f, 0.950f, 0.900f, 0.750f, 0.5f,
                                          0.250f, 0.100f, 0.050f, 0.010f, 0.001f, 0.0f };

size_t wk_kld_row_u16(int64_t n_vocab)
{
    return 2 * (((size_t)n_vocab + 1) / 2) + 4;
}

/* ggml's round-to-nearest via the 1.5*2^23 trick (ties to even), valid for
 * |x| < 2^22: the quantized values are in [0, 65535]. */
static int nearest_int(float x)
{
    float v = x + 12582912.f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

void wk_kld_row_header(const uint16_t *row, float *scale, float *min_log_prob)
{
    memcpy(scale, row, sizeof *scale);
    memcpy(min_log_prob, row + 2, sizeof *min_log_prob);
}

double wk_kld_compress(const float *logits, int64_t n_vocab, int32_t tok, uint16_t *row)
{
    float max_logit = logits[0], min_logit = logits[0];
    for (int64_t i = 1; i < n_vocab; i++) {
        max_logit = max_logit < logits[i] ? logits[i] : max_logit;   /* std::max */
        min_logit = logits[i] < min_logit ? logits[i] : min_logit;   /* std::min */
    }
    min_logit = min_logit < max_logit - 16 ? max_logit - 16 : min_logit;
    double sum_exp = 0.0;
    for (int64_t i = 0; i < n_vocab; i++) sum_exp += expf(logits[i] - max_logit);
    const float log_sum_exp = (float)log(sum_exp);
    const float min_log_prob = min_logit - max_logit - log_sum_exp;
    const float scale = (max_logit - min_logit) / 65535.f;
    memcpy(row, &scale, sizeof scale);
    memcpy(row + 2, &min_log_prob, sizeof min_log_prob);
    uint16_t *q = row + 4;
    if (scale != 0.0f) {
        const float inv_scale = 1 / scale;
        for (int64_t i = 0; i < n_vocab; i++)
            q[i] = logits[i] > min_logit ? (uint16_t)nearest_int(inv_scale * (logits[i] - min_logit)) : 0;
    } else {
        memset(q, 0, (size_t)n_vocab * sizeof *q);
    }
    if (n_vocab % 2) q[n_vocab] = 0;
    const float nll = max_logit + log_sum_exp - logits[tok];
    return nll;
}

void wk_kld_token(const float *logits, int64_t n_vocab, const uint16_t *row, int32_t tok,
                  wk_kld_tok *out)
{
    float max_logit = logits[0];
    int64_t imax = 0;
    for (int64_t i = 1; i < n_vocab; i++)
        if (logits[i] > max_logit) { max_logit = logits[i]; imax = i; }
    double sum_exp = 0.0;
    for (int64_t i = 0; i < n_vocab; i++) sum_exp += expf(logits[i] - max_logit);
    const float log_sum_exp = (float)log(sum_exp);
    float scale, min_log_prob;
    wk_kld_row_header(row, &scale, &min_log_prob);
    const uint16_t *q = row + 4;

    const float nll = max_logit + log_sum_exp - logits[tok];
    const float nll_base = -(scale * q[tok] + min_log_prob);
    max_logit += log_sum_exp;
    double sum = 0;
    int64_t imax_base = -1;
    float p_log_base_max = 0;
    for (int64_t i = 0; i < n_vocab; i++) {
        const float p_log_base = scale * q[i] + min_log_prob;
        if (i == 0 || p_log_base > p_log_base_max) {
            p_log_base_max = p_log_base;
            imax_base = i;
        }
        if (p_log_base > -16.f) {
            const float p_base = expf(p_log_base);
            const float term = p_base * (p_log_base - logits[i] + max_logit);
            sum += term;
        }
    }
    const float p_base = expf(-nll_base);
    const float p = expf(-nll);
    out->nll = nll;
    out->nll_base = nll_base;
    out->kld = sum;
    out->p_diff = p - p_base;
    out->same_top = imax == imax_base;
}

void wk_kld_acc_init(wk_kld_acc *a)
{
    memset(a, 0, sizeof *a);
}

void wk_kld_acc_add(wk_kld_acc *a, const wk_kld_tok *t)
{
    const float nll = t->nll, nll_base = t->nll_base, p_diff = t->p_diff;
    a->sum_nll += nll;
    a->sum_nll2 += (float)(nll * nll);
    a->sum_nll_base += nll_base;
    a->sum_nll_base2 += (float)(nll_base * nll_base);
    a->sum_nll_nll_base += (float)(nll * nll_base);
    a->sum_kld += t->kld;
    a->sum_kld2 += t->kld * t->kld;
    a->count++;
    a->n_same_top += t->same_top != 0;
    a->sum_p_diff += p_diff;
    const double p_diff2 = (float)(p_diff * p_diff);
    a->sum_p_diff2 += p_diff2;
    a->sum_p_diff4 += p_diff2 * p_diff2;
    a->max_p_diff = fmaxf(a->max_p_diff, fabsf(p_diff));
}

void wk_kld_mean_unc(double sum, double sum2, uint64_t count, double *mean, double *unc)
{
    if (count < 1) {
        *mean = *unc = 0;
        return;
    }
    const double f = sum / (double)count;
    double df = sum2 / (double)count - f * f;
    df = df > 0 && count > 10 ? sqrt(df / (double)(count - 1)) : 0.;
    *mean = f;
    *unc = df;
}

static double covariance(double suma, double sumb, double sumab, uint64_t count)
{
    if (count < 10) return 0.0;
    const double n = (double)count;
    return (sumab / n - (suma / n) * (sumb / n)) / (n - 1);
}

float wk_kld_percentile(const float *v, size_t n, float fraction)
{
    if (fraction <= 0) return v[0];
    if (fraction >= 1) return v[n - 1];
    float p = fraction * (float)(n - 1);
    const size_t ip = (size_t)p;
    p -= (float)ip;
    return (1 - p) * v[ip] + p * v[ip + 1 < n ? ip + 1 : n - 1];
}

float wk_kld_median(const float *v, size_t n)
{
    return n % 2 == 0 ? 0.5f * (v[n / 2] + v[n / 2 - 1]) : v[n / 2];
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void ppl_stats(const wk_kld_acc *a, wk_kld_stats *st)
{
    double lp, lp_unc, lb, lb_unc;
    wk_kld_mean_unc(a->sum_nll, a->sum_nll2, a->count, &lp, &lp_unc);
    wk_kld_mean_unc(a->sum_nll_base, a->sum_nll_base2, a->count, &lb, &lb_unc);
    st->ppl = exp(lp);
    st->ppl_unc = st->ppl * lp_unc;
    st->ppl_base = exp(lb);
    st->ppl_base_unc = st->ppl_base * lb_unc;
    const double cov = covariance(a->sum_nll, a->sum_nll_base, a->sum_nll_nll_base, a->count);
    st->cor = lp_unc > 0 && lb_unc > 0 ? cov / (lp_unc * lb_unc) : 0;
    st->ln_ratio = lp - lb;
    const double v = lp_unc * lp_unc + lb_unc * lb_unc - 2.0 * cov;
    st->ln_ratio_unc = v > 0 ? sqrt(v) : 0;
    st->ratio = exp(st->ln_ratio);
    st->ratio_unc = st->ratio * st->ln_ratio_unc;
    const double pcov = st->ppl * st->ppl_base * cov;
    st->diff = st->ppl - st->ppl_base;
    const double dv = st->ppl_unc * st->ppl_unc + st->ppl_base_unc * st->ppl_base_unc - 2.0 * pcov;
    st->diff_unc = dv > 0 ? sqrt(dv) : 0;
}

int wk_kld_summary(const wk_kld_acc *a, float *kld_values, float *p_diff_values, size_t n,
                   wk_kld_stats *st, wk_err *err)
{
    WK_FAIL_IF(n == 0 || n != a->count, err, WK_E_USAGE,
               "KL divergence: %zu values for %llu scored tokens (need at least one)", n,
               (unsigned long long)a->count);
    memset(st, 0, sizeof *st);
    st->n = n;
    ppl_stats(a, st);
    wk_kld_mean_unc(a->sum_kld, a->sum_kld2, a->count, &st->kld_mean, &st->kld_unc);
    qsort(kld_values, n, sizeof *kld_values, cmp_float);
    qsort(p_diff_values, n, sizeof *p_diff_values, cmp_float);
    for (int i = 0; i < WK_KLD_NPCT; i++)
        st->kld[i] = i == 5 ? wk_kld_median(kld_values, n)
                            : wk_kld_percentile(kld_values, n, wk_kld_kld_pct[i]);
    wk_kld_mean_unc(a->sum_p_diff, a->sum_p_diff2, a->count, &st->dp_mean, &st->dp_unc);
    for (int i = 0; i < WK_KLD_NDP; i++)
        st->dp[i] = i == 6 ? wk_kld_median(p_diff_values, n)
                           : wk_kld_percentile(p_diff_values, n, wk_kld_dp_pct[i]);
    double mse, mse_unc;
    wk_kld_mean_unc(a->sum_p_diff2, a->sum_p_diff4, a->count, &mse, &mse_unc);
    st->dp_rms = sqrt(mse);
    st->dp_rms_unc = st->dp_rms > 0 ? 0.5 / st->dp_rms * mse_unc : 0;
    st->same_top = (double)a->n_same_top / (double)a->count;
    st->same_top_unc = a->count > 1 ? sqrt(st->same_top * (1.0 - st->same_top) / (double)(a->count - 1)) : 0;
    return 0;
}
