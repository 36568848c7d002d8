/* wk_eval_svg.h — wk-eval kld's plot: KL divergence and the perplexity ratio
 * of several models against their bits per weight, as one SVG (two panels:
 * mean KLD, filled, and its 99th percentile, open, on a log axis; PPL(Q) /
 * PPL(base) on a linear axis).  The library never prints or exits. */
#ifndef WK_EVAL_SVG_H
#define WK_EVAL_SVG_H

#include <stddef.h>
#include "wk_buf.h"
#include "wk_err.h"
#include "wk_inputs.h"

typedef struct {
    const char *label;      /* shown beside the point (e.g. "q4_k_m"); XML-escaped */
    double bpw;             /* bits per weight of the matmul tensors */
    double kld_mean, kld_p99;
    double ppl_ratio;       /* PPL(Q) / PPL(base) */
} wk_eval_point;

/* Render n >= 1 points into b; title (may be NULL) above the panels.
 * Non-finite or non-positive KLDs are left out of the log panel.
 * WK_E_USAGE if n is 0, WK_E_NOMEM. */
int wk_eval_svg_render(wk_buf *b, const wk_eval_point *p, size_t n, const char *title, wk_err *err);

/* The same into path, atomically (never over one of inputs, may be NULL). */
int wk_eval_svg_write(const char *path, const wk_eval_point *p, size_t n, const char *title,
                      const wk_inputs *inputs, wk_err *err);

#endif
