/* wk-xor — decode and encode XOR-diff model releases (the xor_codec.py scheme),
 * verifying every output's SHA-256 as it is written.  A thin main: argument
 * parsing here, the reports in wk_xor_print.c, the runs in the xor engine
 * (tools/xor/wk_xorrun.c over wk_xor.c, wk_xormeta.c) and wk_manifest.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_cli.h"
#include "wk_hfcfg.h"
#include "wk_io.h"
#include "wk_manifest.h"
#include "wk_progress.h"
#include "wk_xor.h"
#include "wk_xor_dirs.h"
#include "wk_xor_print.h"
#include "wk_xorrun.h"

typedef enum { CMD_DECODE, CMD_ENCODE, CMD_VERIFY, CMD_HASH } xor_cmd;

typedef struct {
    wk_cli_std_opts std;
    xor_cmd cmd;
    const char *pos[3];       /* DST SRC BASE, or DIR for verify */
    int npos;
    char **files;             /* hash: the FILE arguments */
    int nfiles;
    int legacy;               /* positional xor_codec.py form */
    wk_xorrun_opts r;         /* the run's options (manifests, payload kind, check, --base-meta) */
} xor_opts;

/* ---- argument parsing --------------------------------------------------- */

/* Take the value of option argv[*i]; NULL (err set) if there is none. */
static const char *opt_value(int argc, char **argv, int *i, wk_err *err)
{
    if (*i + 1 >= argc) {
        wk_err_set(err, WK_E_USAGE, "option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

/* Options specific to wk-xor; 1 consumed, 0 not ours, -1 error. */
static int parse_own(xor_opts *o, int argc, char **argv, int *i, wk_err *err)
{
    const char *a = argv[*i];
    const char **slot = !strcmp(a, "--manifest") ? &o->r.manifest
                      : !strcmp(a, "--base-meta") ? &o->r.base_meta
                      : !strcmp(a, "--tokenizer") ? &o->r.tokenizer
                      : !strcmp(a, "--base-profile") ? &o->r.base_profile
                      : !strcmp(a, "--base-manifest") ? &o->r.base_manifest
                      : !strcmp(a, "--manifest-out") ? &o->r.manifest_out : NULL;
    if (slot) return (*slot = opt_value(argc, argv, i, err)) ? 1 : -1;
    if (!strcmp(a, "--level")) {
        const char *v = opt_value(argc, argv, i, err);
        if (!v) return -1;
        if (strlen(v) != 1 || v[0] < '1' || v[0] > '9')
            return wk_err_set(err, WK_E_USAGE, "--level must be 1..9, not '%s'", v);
        o->r.level = v[0] - '0';
        return 1;
    }
    if (!strcmp(a, "--inflate")) {
        const char *v = opt_value(argc, argv, i, err);
        if (!v) return -1;
        if (!strcmp(v, "zlib")) o->r.engine = WK_INFLATE_ZLIB;
        else if (!strcmp(v, "isal") || !strcmp(v, "isa-l")) o->r.engine = WK_INFLATE_ISAL;
        else if (!strcmp(v, "auto")) o->r.engine = WK_INFLATE_AUTO;
        else return wk_err_set(err, WK_E_USAGE, "--inflate must be auto, zlib or isal, not '%s'", v);
        return 1;
    }
    if (!strcmp(a, "--max-output")) {
        const char *v = opt_value(argc, argv, i, err);
        if (!v) return -1;
        if (!strcmp(v, "none")) o->r.max_output = UINT64_MAX;
        else WK_TRY(wk_hfcfg_parse_size(v, &o->r.max_output, err));
        return 1;
    }
    if (!strcmp(a, "--keep-bad")) o->r.keep_bad = 1;
    else if (!strcmp(a, "--no-manifest")) o->r.no_manifest = 1;
    else if (!strcmp(a, "--raw")) { o->r.kind = WK_PAYLOAD_RAW; o->r.gzip = 0; }
    else if (!strcmp(a, "--gzip")) { o->r.kind = WK_PAYLOAD_GZIP; o->r.gzip = 1; }
    else if (!strcmp(a, "--no-pipeline")) o->r.pipeline = 0;
    else if (!strcmp(a, "--check")) o->r.check = 2;
    else if (!strcmp(a, "--no-check")) o->r.check = 0;
    else if (!strcmp(a, "--strict")) o->r.strict = 1;
    else if (!strcmp(a, "--decode") && o->legacy) o->cmd = CMD_DECODE;
    else if (!strcmp(a, "--encode") && o->legacy) o->cmd = CMD_ENCODE;
    else if (!strcmp(a, "--compress") && o->legacy) { o->r.gzip = 1; o->r.kind = WK_PAYLOAD_GZIP; }
    else return 0;
    return 1;
}

/* Which subcommand argv[1] names; -1 for the positional xor_codec.py form. */
static int subcommand(const char *s)
{
    static const char *const names[] = {"decode", "encode", "verify", "hash"};
    for (int k = 0; k < 4; k++)
        if (!strcmp(s, names[k])) return k;
    return -1;
}

/* Check the positional count for the command. */
static int check_positionals(const xor_opts *o, wk_err *err)
{
    int want = o->cmd == CMD_VERIFY ? 1 : o->r.base_meta ? 2 : 3;
    if (o->r.base_profile && !o->r.base_meta)
        return wk_err_set(err, WK_E_USAGE, "--base-profile needs --base-meta");
    if (o->r.base_meta && o->cmd != CMD_DECODE)
        return wk_err_set(err, WK_E_USAGE, "--base-meta is a decode option");
    if (o->r.base_meta && (o->r.keep_bad || o->r.base_manifest))
        return wk_err_set(err, WK_E_USAGE, "%s is not supported with --base-meta",
                          o->r.keep_bad ? "--keep-bad" : "--base-manifest");
    if (o->r.base_meta && o->npos == 3)
        return wk_err_set(err, WK_E_USAGE, "give either BASE_DIR or --base-meta, not both");
    if (o->cmd == CMD_HASH || o->npos == want) return 0;
    if (o->r.base_meta)
        return wk_err_set(err, WK_E_USAGE, "expected: wk-xor decode DST PAYLOAD_DIR --base-meta "
                          "LLAMA_DIR (see --help)");
    static const char *const forms[] = {"decode DST PAYLOAD_DIR BASE_DIR",
                                        "encode DST FINETUNED_DIR BASE_DIR", "verify DIR", ""};
    return wk_err_set(err, WK_E_USAGE, "expected: wk-xor %s (see --help)", forms[o->cmd]);
}

/* 1 = run, 0 = help/version printed, -1 = error. */
static int parse_args(xor_opts *o, int argc, char **argv, wk_err *err)
{
    memset(o, 0, sizeof *o);
    wk_cli_std_init(&o->std, "wk-xor");
    o->r.pipeline = 1;
    o->r.check = 1;
    o->r.kind = WK_PAYLOAD_AUTO;
    int first = 1;
    if (argc > 1 && subcommand(argv[1]) >= 0) {
        o->cmd = (xor_cmd)subcommand(argv[1]);
        o->r.gzip = o->cmd == CMD_ENCODE;
        first = 2;
    } else {
        o->legacy = 1;  /* xor_codec.py: decode, uncompressed unless --compress */
    }
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->files) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    int only_files = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!only_files && a[0] == '-' && a[1] != '\0') {
            if (!strcmp(a, "--")) { only_files = 1; continue; }
            if (!strcmp(a, "--list-manifests")) return xor_print_manifest_dirs(stdout, 1);
            int help = 0, version = 0;
            int r = wk_cli_std(&o->std, argc, argv, &i, &help, &version, err);
            if (r < 0) return -1;
            if (help) { xor_print_usage(); return 0; }
            if (version) {
                wk_cli_print_version(o->std.prog);
                printf("inflate: %s\n", wk_inflate_engines());
                xor_print_manifest_dirs(stdout, 0);
                return 0;
            }
            if (r == 0) r = parse_own(o, argc, argv, &i, err);
            if (r < 0) return -1;
            if (r == 0) return wk_err_set(err, WK_E_USAGE, "unknown option %s (see --help)", a);
        } else if (o->cmd == CMD_HASH) {
            o->files[o->nfiles++] = argv[i];
        } else if (o->npos < 3) {
            o->pos[o->npos++] = a;
        } else {
            return wk_err_set(err, WK_E_USAGE, "unexpected argument '%s' (see --help)", a);
        }
    }
    if (argc < 2) return wk_err_set(err, WK_E_USAGE, "missing arguments (see --help)");
    WK_TRY(check_positionals(o, err));
    return 1;
}

/* ---- decode / encode ---------------------------------------------------- */

/* --base-manifest: the base files that do not match. */
static void base_bad(void *ctx, const wk_manifest *m, const wk_check_result *res)
{
    const xor_opts *o = ctx;
    xor_print_base_bad(o->std.prog, o->pos[2], o->r.base_manifest, m, res);
}

static void run_opts(const xor_opts *o, wk_xorrun_opts *ro)
{
    static const char *dirs[XOR_MANIFEST_DIRS_MAX];
    *ro = o->r;
    ro->manifest_dirs = dirs;
    ro->n_manifest_dirs = xor_manifest_dirs(dirs, NULL);
    ro->encode = o->cmd == CMD_ENCODE;
    ro->dst = o->pos[0];
    ro->src = o->pos[1];
    ro->base = o->r.base_meta ? NULL : o->pos[2];
    ro->threads = o->std.threads;
    ro->base_bad = base_bad;
    ro->ctx = (void *)o;
}

/* decode, encode, decode --base-meta. */
static int cmd_xor(const xor_opts *o)
{
    wk_err err;
    wk_err_clear(&err);
    wk_xorrun_opts ro;
    run_opts(o, &ro);
    wk_xorrun r;
    if (wk_xorrun_open(&r, &ro, &err)) {
        wk_xorrun_close(&r);
        return wk_cli_fail(o->std.prog, &err);
    }
    xor_print_notes(&r, &o->std);
    for (size_t i = 0; i < r.p.n; i++) wk_cli_sweep_stale(&o->std, r.p.items[i].out);
    const char *label = o->cmd == CMD_ENCODE ? "encode" : "decode";
    wk_progress *bar = wk_progress_new(label, r.total, wk_cli_want_progress(&o->std));
    int rc = wk_xorrun_exec(&r, wk_progress_cb, bar, &err);
    wk_progress_finish(bar);
    xor_print_report(&r, &o->std, rc == 0);
    if (o->r.base_meta) xor_print_meta(&r, &o->std);
    wk_err werr;
    if (rc == 0 && o->cmd == CMD_ENCODE && o->r.manifest_out && wk_xorrun_write_manifest(&r, &werr)) {
        rc = -1;
        err = werr;
    }
    wk_xorrun_close(&r);
    return rc ? wk_cli_fail(o->std.prog, &err) : 0;
}

/* ---- verify ------------------------------------------------------------- */

static int cmd_verify(const xor_opts *o)
{
    wk_err err;
    wk_err_clear(&err);
    wk_manifest m;
    wk_check_result *res;
    const char *dir = o->pos[0];
    wk_xorrun_opts ro;
    run_opts(o, &ro);
    if (wk_xorrun_verify_open(&ro, dir, &m, &res, &err)) {
        wk_manifest_free(&m);
        return wk_cli_fail(o->std.prog, &err);
    }
    uint64_t total = 0;
    wk_progress *bar = wk_progress_new("verify", total, wk_cli_want_progress(&o->std));
    int rc = wk_manifest_check_dir(&m, dir, o->std.threads, wk_progress_cb, bar, res, &err);
    wk_progress_finish(bar);
    xor_print_verify(&m, res, &o->std);
    free(res);
    wk_manifest_free(&m);
    return rc ? wk_err_exit_status(err.code) : 0;
}

/* ---- hash --------------------------------------------------------------- */

static int cmd_hash(xor_opts *o)
{
    static char dash[] = "-";
    char *stdin_only[] = {dash};
    char **files = o->nfiles ? o->files : stdin_only;
    int n = o->nfiles ? o->nfiles : 1;
    wk_xorrun_digest *d = calloc((size_t)n, sizeof *d);
    if (!d) {
        wk_err e;
        wk_err_set(&e, WK_E_NOMEM, "out of memory");
        return wk_cli_fail(o->std.prog, &e);
    }
    wk_xorrun_hash(files, n, o->std.threads, d);
    int bad = xor_print_hashes(files, n, d, o->std.prog);
    free(d);
    return bad;
}

int main(int argc, char **argv)
{
    xor_opts o;
    wk_err err;
    wk_err_clear(&err);
    int r = parse_args(&o, argc, argv, &err);
    if (r <= 0) {
        free(o.files);
        return r == 0 ? 0 : wk_cli_fail("wk-xor", &err);
    }
    wk_io_install_signal_cleanup();
    int rc;
    switch (o.cmd) {
    case CMD_HASH: rc = cmd_hash(&o); break;
    case CMD_VERIFY: rc = cmd_verify(&o); break;
    default: rc = cmd_xor(&o); break;
    }
    free(o.files);
    return rc;
}
