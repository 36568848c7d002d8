/* wk_convert_print.h — wk-convert's output (beside its main, tool layer). */
#ifndef WK_CONVERT_PRINT_H
#define WK_CONVERT_PRINT_H

#include "wk_convert.h"
#include "wk_err.h"

/* --dry-run: the geometry, the profiles and every planned file with its size
 * (out: the output directory, or NULL). */
void conv_print_plan(const wk_convert *c, const char *out);

/* The JSON report on stdout: input, output, profiles, geometry, files (with
 * sha256 when digests), total bytes, and seconds unless dry_run. */
int conv_print_json(const wk_convert *c, const char *output, int dry_run, const char *model_dir,
                    char (*digests)[65], double secs, wk_err *err);

/* After writing: the files' sha256sum lines (digests may be NULL) on stdout,
 * the summary on stderr unless quiet. */
void conv_print_written(const wk_convert *c, const char *output, int quiet, char (*digests)[65], double secs);

/* --help. */
void conv_print_usage(void);

#endif
