/* wk_cli.h — what every wk-* tool's main shares: the standard options,
 * error printing, and exit codes.  Tools only; the library never prints.
 *
 * Standard options, recognised by wk_cli_std():
 *   -h/--help, -V/--version, -j N/--threads N (also -jN, --threads=N),
 *   -q/--quiet, --json, --progress/--no-progress. */
#ifndef WK_CLI_H
#define WK_CLI_H

#include <stdio.h>
#include "wk_err.h"

#ifndef WK_VERSION_STRING
#define WK_VERSION_STRING "0.0.0"
#endif

typedef struct {
    const char *prog;  /* e.g. "wk-convert" */
    int threads;       /* 0 = default (all cores) */
    int quiet;
    int json;
    int progress;      /* -1 auto (TTY and not quiet), 0 off, 1 on */
} wk_cli_std_opts;

void wk_cli_std_init(wk_cli_std_opts *o, const char *prog);

/* Try to consume argv[*i] (and its value) as a standard option.
 * Returns 1 if consumed (*i advanced past any value), 0 if not a standard
 * option, -1 on a bad value (message in err, WK_E_USAGE).
 * --help and --version are reported back via *want_help / *want_version. */
int wk_cli_std(wk_cli_std_opts *o, int argc, char **argv, int *i,
               int *want_help, int *want_version, wk_err *err);

/* Print "<prog> (weightkit) <version>" and library versions to stdout. */
void wk_cli_print_version(const char *prog);
/* Print "<prog>: <code name>: <msg>" to stderr once; returns the exit status. */
int wk_cli_fail(const char *prog, const wk_err *err);
/* Whether a progress bar should be drawn for these options. */
int wk_cli_want_progress(const wk_cli_std_opts *o);

#endif
