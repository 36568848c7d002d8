/* wk_quantize_opts.h — wk-quantize's repeatable and llama-quantize-compatible
 * options (tool layer): --include-weights / --exclude-weights, --tensor-type,
 * --override-kv, --dry-run, and the type names it accepts. */
#ifndef WK_QUANTIZE_OPTS_H
#define WK_QUANTIZE_OPTS_H

#include <stddef.h>
#include "wk_err.h"
#include "wk_qmix_tt.h"
#include "wk_qrun.h"

typedef struct {
    const char **include_w, **exclude_w;   /* argv strings */
    size_t n_include, n_exclude;
    wk_qmix_tt *tt;                        /* --tensor-type, in order */
    size_t n_tt;
    wk_qrun_kv *kv;                        /* --override-kv, in order */
    size_t n_kv;
    int dry_run;
} wk_quantize_xopts;

/* ggml id of a type name as llama-quantize's parse_ggml_type takes it
 * (case-insensitive), among those wk-quantize writes (f32 f16 bf16 and the
 * quant types); -1 if not. */
int wk_quantize_type_id(const char *s);
/* If argv[*i] is one of these options, consume it (and its value: *i moves)
 * and return 1; 0 if it is not one; -1 on a bad value (WK_E_USAGE). */
int wk_quantize_xopt(wk_quantize_xopts *x, int argc, char **argv, int *i, wk_err *err);
void wk_quantize_xopts_free(wk_quantize_xopts *x);

#endif
