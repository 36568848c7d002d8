/* wk_inspect_print.h — wk-inspect's text output (beside its main, tool layer). */
#ifndef WK_INSPECT_PRINT_H
#define WK_INSPECT_PRINT_H

#include "wk_insp.h"

/* The text report of an opened file on stdout: --pickle listing, header,
 * metadata with meta, the tensor table and totals, stats when st; adds the
 * file to *tot. */
void insp_print_text(const char *path, const wk_insp_file *f, const wk_insp_stats *st, int meta,
                     wk_insp_totals *tot);

/* --verify: the line of one tensor (a wk_insp_verify_fn; ctx is an int *quiet:
 * then only failures, on stderr). */
void insp_print_verify_line(void *ctx, const char *tensor, int status, const char *got, const char *want);

/* --help. */
void insp_print_usage(void);

#endif
