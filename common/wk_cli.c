/* wk_cli.c — the standard options, version banner and error printing shared
 * by every wk-* tool (tools only: this is the one module that prints). */
#include "wk_cli.h"
#include "wk_io.h"

#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <xxhash.h>
#include <zip.h>
#include <zlib.h>

#include "wk_threads.h"

void wk_cli_std_init(wk_cli_std_opts *o, const char *prog)
{
    o->prog = prog;
    o->threads = 0;
    o->quiet = 0;
    o->json = 0;
    o->progress = -1;
}

/* Options without a value; 1 if arg was one of them. */
static int std_flag(wk_cli_std_opts *o, const char *arg, int *want_help, int *want_version)
{
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) *want_help = 1;
    else if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) *want_version = 1;
    else if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) o->quiet = 1;
    else if (!strcmp(arg, "--json")) o->json = 1;
    else if (!strcmp(arg, "--progress")) o->progress = 1;
    else if (!strcmp(arg, "--no-progress")) o->progress = 0;
    else return 0;
    return 1;
}

/* The value of -j/--threads in argv[*i] ("-jN", "--threads=N") or in the
 * next argument (then *i moves onto it).  NULL if arg is not that option;
 * *missing set if the value is absent. */
static const char *threads_value(int argc, char **argv, int *i, int *missing)
{
    const char *arg = argv[*i];
    *missing = 0;
    if (!strncmp(arg, "--threads=", 10)) return arg + 10;
    if (!strncmp(arg, "-j", 2) && arg[2]) return arg + 2;
    if (strcmp(arg, "-j") && strcmp(arg, "--threads")) return NULL;
    if (*i + 1 >= argc) { *missing = 1; return arg; }
    return argv[++*i];
}

int wk_cli_std(wk_cli_std_opts *o, int argc, char **argv, int *i,
               int *want_help, int *want_version, wk_err *err)
{
    const char *arg = argv[*i];
    if (std_flag(o, arg, want_help, want_version)) return 1;
    int missing;
    const char *val = threads_value(argc, argv, i, &missing);
    if (!val) return 0;
    if (missing) return wk_err_set(err, WK_E_USAGE, "option %s needs a value", arg);
    WK_TRY(wk_threads_parse(val, &o->threads, err));
    return 1;
}

void wk_cli_print_version(const char *prog)
{
    unsigned xxh = XXH_versionNumber();
    printf("%s (weightkit) %s\n", prog, WK_VERSION_STRING);
    printf("zlib %s, %s, libzip %s, xxhash %u.%u.%u\n", zlibVersion(),
           OpenSSL_version(OPENSSL_VERSION), zip_libzip_version(),
           xxh / 10000, xxh / 100 % 100, xxh % 100);
}

int wk_cli_fail(const char *prog, const wk_err *err)
{
    wk_code code = err && err->code != WK_OK ? err->code : WK_E_INTERNAL;
    const char *msg = err && err->msg[0] ? err->msg : wk_err_code_name(code);
    fprintf(stderr, "%s: error: %s\n", prog, msg);
    return wk_err_exit_status(code);
}

int wk_cli_want_progress(const wk_cli_std_opts *o)
{
    if (o->progress >= 0) return o->progress;
    return !o->quiet && isatty(STDERR_FILENO);
}

int wk_cli_std_or_exit(wk_cli_std_opts *o, int argc, char **argv, int *i, void (*usage)(void),
                       int *exit_now, wk_err *err)
{
    int help = 0, version = 0;
    int r = wk_cli_std(o, argc, argv, i, &help, &version, err);
    if (r <= 0) return r;
    if (help) usage();
    else if (version) wk_cli_print_version(o->prog);
    if (help || version) *exit_now = 1;
    return 1;
}

/* wk_io_stale_fn for wk_cli_sweep_stale: one line on stderr. */
static void stale_line(void *ctx, const char *path, uint64_t bytes, int removed, const char *why)
{
    const wk_cli_std_opts *o = ctx;
    if (o->quiet) return;
    if (removed)
        fprintf(stderr, "%s: removed stale temporary %s (%llu bytes): %s\n", o->prog, path,
                (unsigned long long)bytes, why);
    else
        fprintf(stderr, "%s: warning: stale temporary %s (%llu bytes) left: %s\n", o->prog, path,
                (unsigned long long)bytes, why);
}

void wk_cli_sweep_stale(const wk_cli_std_opts *o, const char *output)
{
    if (output) wk_io_sweep_stale(output, stale_line, (void *)o, NULL);
}
