/* wk_cli.h — what every wk-* tool's main shares: the standard options,
 * error printing, and exit codes.  Tools only; the library never prints.
 *
 * Standard options, recognised by wk_cli_std():
 *   -h/--help, -V/--version, -j N/--threads N (also -jN, --threads=N;
 *   N as wk_threads_parse), -q/--quiet, --json, --progress/--no-progress. */
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

/* Defaults: threads 0, quiet 0, json 0, progress -1; prog is kept (not copied). */
void wk_cli_std_init(wk_cli_std_opts *o, const char *prog);

/* Try to consume argv[*i] (and its value) as a standard option.
 * Returns 1 if consumed, 0 if not a standard option (*i unchanged), -1 on a
 * missing or bad value (message in err, WK_E_USAGE; settings unchanged).
 * When an option takes its value from the next argument ("-j 4"), *i is moved
 * onto that value, so a `for (i = 1; i < argc; i++)` loop continues after it.
 * "-json" reads as "-j" with the value "son" (as getopt would): -1.
 * --help and --version are reported back via *want_help / *want_version
 * (set to 1; never cleared). */
int wk_cli_std(wk_cli_std_opts *o, int argc, char **argv, int *i,
               int *want_help, int *want_version, wk_err *err);

/* wk_cli_std() for a tool whose --help prints usage() and whose --version is
 * wk_cli_print_version(): both are printed here and set *exit_now to 1 (the
 * tool then exits 0).  Returns 1 if argv[*i] was consumed, 0 if it is not a
 * standard option, -1 on a bad value (as wk_cli_std). */
int wk_cli_std_or_exit(wk_cli_std_opts *o, int argc, char **argv, int *i, void (*usage)(void),
                       int *exit_now, wk_err *err);

/* Print "<prog> (weightkit) <version>" and, on a second line, the zlib,
 * OpenSSL, libzip and xxhash versions in use, to stdout. */
void wk_cli_print_version(const char *prog);
/* Print "<prog>: error: <msg>" to stderr once; returns
 * wk_err_exit_status(err->code) (never 0; an unset err counts as internal). */
int wk_cli_fail(const char *prog, const wk_err *err);
/* Whether a progress bar should be drawn: progress 1/0 as given (an explicit
 * --progress wins over --quiet); -1 -> stderr is a TTY and not quiet. */
int wk_cli_want_progress(const wk_cli_std_opts *o);
/* Before writing `output` (a file or directory; NULL: nothing): remove the
 * temporaries of it left by runs that died (wk_io_sweep_stale) and, unless
 * quiet, say so on stderr, one line each ("<prog>: removed stale temporary
 * ..." or "<prog>: warning: stale temporary ... left: ..."). */
void wk_cli_sweep_stale(const wk_cli_std_opts *o, const char *output);

#endif
