/* wk_kld.h — the statistics of llama-perplexity --kl-divergence, as pure
 * functions over logits (no model): the base model's log-probabilities
 * compressed to uint16 rows, the per-token KL divergence, Δp and top-1
 * agreement, and the summary (mean ± uncertainty, median, percentiles, PPL of
 * both models and their ratio).
 *
 * Precision is llama.cpp's (docs/formats/kld-base.md, "Computation"): float
 * logits, float exp, the softmax denominator summed in double and its log
 * rounded to float, per-token KLD summed in double over float products, sums
 * of the statistics in double.  Results equal llama.cpp's up to the order of
 * float operations a compiler may not change (no FMA contraction: C11 mode).
 *
 * One row of the base file (wk_kld_row_u16() uint16 values): two floats
 * (scale, min_log_prob) in the first 4 uint16 slots, then n_vocab quantized
 * log-probabilities  logp_i ~= scale * q_i + min_log_prob,  then one zero pad
 * slot when n_vocab is odd.  The library never prints or exits. */
#ifndef WK_KLD_H
#define WK_KLD_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

/* uint16 slots of one row: 2*((n_vocab + 1)/2) + 4. */
size_t wk_kld_row_u16(int64_t n_vocab);

/* Compress the logits of one position into row (wk_kld_row_u16 slots, the
 * pad slot zeroed) and return the negative log-likelihood of tok as
 * llama-perplexity computes it while saving the base (float precision).
 * Needs n_vocab >= 1, 0 <= tok < n_vocab. */
double wk_kld_compress(const float *logits, int64_t n_vocab, int32_t tok, uint16_t *row);

/* The scale and offset stored in a row (for range checks). */
void wk_kld_row_header(const uint16_t *row, float *scale, float *min_log_prob);

/* One scored position: the model's logits against the base's row. */
typedef struct {
    float nll;        /* -log p(tok) under the model (float, as llama.cpp) */
    float nll_base;   /* -log p(tok) under the base, from the row */
    double kld;       /* KL(base || model), base terms with log p > -16 only */
    float p_diff;     /* p(tok) - p_base(tok) */
    int same_top;     /* argmax of the model == argmax of the base row (first wins) */
} wk_kld_tok;

/* Compute the statistics of one position.  Needs n_vocab >= 1,
 * 0 <= tok < n_vocab; row from wk_kld_compress (or a file). */
void wk_kld_token(const float *logits, int64_t n_vocab, const uint16_t *row, int32_t tok,
                  wk_kld_tok *out);

/* Running sums, added to in token order (deterministic for any -j). */
typedef struct {
    double sum_nll, sum_nll2, sum_nll_base, sum_nll_base2, sum_nll_nll_base;
    double sum_kld, sum_kld2, sum_p_diff, sum_p_diff2, sum_p_diff4;
    float max_p_diff;
    uint64_t n_same_top, count;
} wk_kld_acc;

void wk_kld_acc_init(wk_kld_acc *a);
void wk_kld_acc_add(wk_kld_acc *a, const wk_kld_tok *t);

/* llama.cpp's mean and uncertainty of a sum: mean = sum/count; unc =
 * sqrt(var/(count-1)) when var > 0 and count > 10, else 0. */
void wk_kld_mean_unc(double sum, double sum2, uint64_t count, double *mean, double *unc);

/* Percentile of ascending-sorted values (n >= 1) as llama.cpp: linear
 * interpolation at fraction*(n-1) in float; fraction <= 0 the first, >= 1
 * the last.  Median: the middle value, or the float mean of the two. */
float wk_kld_percentile(const float *sorted, size_t n, float fraction);
float wk_kld_median(const float *sorted, size_t n);

/* The percentiles llama-perplexity prints, in its order. */
#define WK_KLD_NPCT 11
extern const float wk_kld_kld_pct[WK_KLD_NPCT];   /* 1 .999 .99 .95 .9 median .1 .05 .01 .001 0 */
#define WK_KLD_NDP 13
extern const float wk_kld_dp_pct[WK_KLD_NDP];     /* 1 .999 .99 .95 .9 .75 median .25 .1 .05 .01 .001 0 */

typedef struct {
    uint64_t n;                          /* scored tokens */
    double ppl, ppl_unc;                 /* PPL(Q) */
    double ppl_base, ppl_base_unc;       /* PPL(base) */
    double cor;                          /* Cor(ln PPL(Q), ln PPL(base)); 0 if undefined */
    double ln_ratio, ln_ratio_unc;       /* ln(PPL(Q)/PPL(base)) */
    double ratio, ratio_unc;             /* PPL(Q)/PPL(base) */
    double diff, diff_unc;               /* PPL(Q)-PPL(base) */
    double kld_mean, kld_unc;
    float kld[WK_KLD_NPCT];              /* at wk_kld_kld_pct (index 0 = max, 5 = median) */
    double dp_mean, dp_unc;              /* Δp mean, fractions (llama.cpp prints 100x) */
    float dp[WK_KLD_NDP];                /* at wk_kld_dp_pct (index 6 = median) */
    double dp_rms, dp_rms_unc;           /* unc 0 if rms is 0 */
    double same_top, same_top_unc;       /* unc 0 if n < 2 */
} wk_kld_stats;

/* The summary from the sums and the per-token KLD and Δp values (n each,
 * n == a->count >= 1), sorted here in place.  WK_E_USAGE if n is 0 or not
 * a->count. */
int wk_kld_summary(const wk_kld_acc *a, float *kld_values, float *p_diff_values, size_t n,
                   wk_kld_stats *st, wk_err *err);

#endif
