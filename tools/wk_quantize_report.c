/* wk_quantize_report.c — see wk_quantize_report.h. */
#include "wk_quantize_report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "wk_buf.h"
#include "wk_quant.h"

void wk_quantize_on_packing(void *ctx, const char *input, const char *kind)
{
    const q_report *r = ctx;
    if (!r->quiet) fprintf(stderr, "wk-quantize: packing %s (%s) first\n", input, kind);
}

void wk_quantize_on_begin(void *ctx)
{
    const q_report *r = ctx;
    if (r->table)
        printf("%-32s %-6s %-6s %12s %12s %10s\n", "tensor", "from", "to", "bytes in", "bytes out", "rel. RMSE");
}

/* One --json "tensors" entry. */
static int json_row(wk_json *jt, const wk_qrun_row *t, wk_err *err)
{
    wk_json *e = wk_json_new_object();
    WK_FAIL_IF(!e, err, WK_E_NOMEM, "out of memory");
    WK_TRY_GOTO(wk_json_object_append(e, "name", wk_json_new_string(t->name), err), fail);
    WK_TRY_GOTO(wk_json_object_append(e, "from", wk_json_new_string(t->from), err), fail);
    WK_TRY_GOTO(wk_json_object_append(e, "to", wk_json_new_string(t->to), err), fail);
    WK_TRY_GOTO(wk_json_object_append(e, "bytes_in", wk_json_new_int((int64_t)t->bytes_in), err), fail);
    WK_TRY_GOTO(wk_json_object_append(e, "bytes_out", wk_json_new_int((int64_t)t->bytes_out), err), fail);
    WK_TRY_GOTO(wk_json_object_append(e, "rel_rmse", t->has_rel ? wk_json_new_double(t->rel_rmse)
                                      : wk_json_new_null(), err), fail);
    WK_TRY_GOTO(wk_json_object_append(e, "imatrix", wk_json_new_bool(t->imatrix), err), fail);
    return wk_json_array_push(jt, e, err);
fail:
    wk_json_free(e);
    return -1;
}

int wk_quantize_on_tensor(void *ctx, const wk_qrun_row *t, wk_err *err)
{
    q_report *r = ctx;
    if (!r->warned && strcmp(t->from, t->to) && wk_quant_type_from_name(t->from) >= 0) {
        r->warned = 1;   /* llama-quantize's --allow-requantize warning, once */
        fprintf(stderr, "wk-quantize: WARNING: requantizing %s (and maybe more) from %s: this can "
                "severely reduce quality compared to quantizing from 16bit or 32bit!\n", t->name, t->from);
    }
    if (r->jt) WK_TRY(json_row(r->jt, t, err));
    if (r->table) {
        char rel[32] = "-";
        if (t->has_rel) snprintf(rel, sizeof rel, "%.3e", t->rel_rmse);
        printf("%-32s %-6s %-6s %12" PRIu64 " %12" PRIu64 " %10s%s\n", t->name, t->from, t->to,
               t->bytes_in, t->bytes_out, rel, t->imatrix ? "  (imatrix)" : "");
    }
    return 0;
}

/* The --json report's "tensors" (taken from r), "total" and "seconds", printed. */
int wk_quantize_json_tail(wk_json *rep, q_report *r, const wk_qrun_total *t, double secs, wk_err *err)
{
    int rc = -1;
    wk_buf b;
    wk_buf_init(&b);
    wk_json *tot = NULL, *jt = r->jt;
    r->jt = NULL;   /* the appends own their value, even when they fail */
    WK_TRY_GOTO(wk_json_object_append(rep, "tensors", jt, err), done);
    tot = wk_json_new_object();
    WK_FAIL_GOTO(!tot, done, err, WK_E_NOMEM, "out of memory");
    WK_TRY_GOTO(wk_json_object_append(tot, "tensors", wk_json_new_int((int64_t)t->tensors), err), done);
    WK_TRY_GOTO(wk_json_object_append(tot, "bytes_in", wk_json_new_int((int64_t)t->bytes_in), err), done);
    WK_TRY_GOTO(wk_json_object_append(tot, "bytes_out", wk_json_new_int((int64_t)t->bytes_out), err), done);
    WK_TRY_GOTO(wk_json_object_append(tot, "bits_per_weight", wk_json_new_double(t->bits_per_weight), err), done);
    WK_TRY_GOTO(wk_json_object_append(tot, "rel_rmse", wk_json_new_double(t->rel_rmse), err), done);
    WK_TRY_GOTO(wk_json_object_append(tot, "file_size", wk_json_new_int((int64_t)t->file_size), err), done);
    jt = tot;
    tot = NULL;
    WK_TRY_GOTO(wk_json_object_append(rep, "total", jt, err), done);
    WK_TRY_GOTO(wk_json_object_append(rep, "seconds", wk_json_new_double(secs), err), done);
    wk_json_dump_opts d = wk_json_opts_hf();
    d.sort_keys = 0;
    WK_TRY_GOTO(wk_json_dump(rep, &d, &b, err), done);
    printf("%.*s\n", (int)b.len, (const char *)b.data);
    rc = 0;
done:
    wk_json_free(tot);
    wk_buf_free(&b);
    return rc;
}
