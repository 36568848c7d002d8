/* wk_xor_print.h — wk-xor's reports (beside its main, tool layer). */
#ifndef WK_XOR_PRINT_H
#define WK_XOR_PRINT_H

#include "wk_cli.h"
#include "wk_xorrun.h"

/* The per-file report of a decode/encode run (text on stdout, errors on
 * stderr, or the JSON report with --json), the hint when a digest differed,
 * the warning when decoded tensors look like noise.  ok: the run succeeded.
 * Returns whether a digest differed. */
int xor_print_report(const wk_xorrun *r, const wk_cli_std_opts *std, int ok);

/* After a --base-meta run's report: the overall base profile, and the advice
 * when weights matched no converter profile. */
void xor_print_meta(const wk_xorrun *r, const wk_cli_std_opts *std);

/* The notes on stderr before a decode: what the outputs are checked against
 * (nothing with -q, --json, or for an encode). */
void xor_print_notes(const wk_xorrun *r, const wk_cli_std_opts *std);

/* --base-manifest: a line on stderr for each base file that does not match. */
void xor_print_base_bad(const char *prog, const char *base_dir, const char *base_manifest,
                        const wk_manifest *m, const wk_check_result *res);

/* verify: a line per entry as sha256sum -c prints it (only failures with -q),
 * errors and the summary warnings on stderr. */
void xor_print_verify(const wk_manifest *m, const wk_check_result *res, const wk_cli_std_opts *std);

/* hash: sha256sum lines on stdout, errors on stderr; 1 if any file failed. */
int xor_print_hashes(char *const *files, int n, const wk_xorrun_digest *d, const char *prog);

/* --help. */
void xor_print_usage(void);

#endif
