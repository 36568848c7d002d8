/* wk_quantize_report.h — wk-quantize's reporting (tool layer, prints): the
 * per-tensor table on stdout or the --json report, through wk_qrun's hooks. */
#ifndef WK_QUANTIZE_REPORT_H
#define WK_QUANTIZE_REPORT_H

#include "wk_err.h"
#include "wk_json.h"
#include "wk_qrun.h"

typedef struct {
    int table;          /* per-tensor table and totals on stdout */
    int quiet;
    int warned;         /* the requantize warning was printed */
    wk_json *jt;        /* --json: the "tensors" array, or NULL */
} q_report;

/* wk_qrun hooks (ctx: a q_report). */
void wk_quantize_on_packing(void *ctx, const char *input, const char *kind);
void wk_quantize_on_begin(void *ctx);
int wk_quantize_on_tensor(void *ctx, const wk_qrun_row *t, wk_err *err);
/* The --json report's "tensors" (taken from r), "total" and "seconds", printed. */
int wk_quantize_json_tail(wk_json *rep, q_report *r, const wk_qrun_total *t, double secs, wk_err *err);

#endif
