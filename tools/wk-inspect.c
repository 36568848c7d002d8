/* wk-inspect — list the tensors of checkpoint files (name, dtype, shape,
 * bytes, data offset, contiguity, totals), as text or JSON; optionally the
 * data.pkl opcode listing (--pickle), GGUF / safetensors metadata (--meta),
 * per-tensor value statistics with a noise check (--stats, --strict), or a
 * check of the per-tensor digests wk-pack stores (--verify).  A thin main:
 * arguments here, the text output in wk_inspect_print.c, the readers, stats,
 * JSON and digest check in the engine tools/inspect/wk_insp.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_cli.h"
#include "wk_insp.h"
#include "wk_inspect_print.h"
#include "wk_io.h"
#include "wk_json.h"

#define PROG "wk-inspect"

typedef struct {
    wk_cli_std_opts std;
    int pickle;        /* --pickle */
    int meta;          /* --meta */
    int stats;         /* --stats */
    int strict;        /* --strict (implies --stats) */
    int verify;        /* --verify */
    char **files;
    int nfiles;
} insp_opts;

/* ---- --verify ------------------------------------------------------------------ */

/* Verify one file (or safetensors directory); the summary line / JSON
 * object is produced here, the error (if any) is returned in err. */
static int verify_file(const char *path, const insp_opts *o, wk_json *jfiles, wk_err *err)
{
    wk_insp_verify_result v;
    int quiet = o->std.quiet;
    if (!o->std.json && !quiet) printf("%s: verifying per-tensor xxh3-64 digests\n", path);
    int rc = wk_insp_verify(path, o->std.json, insp_print_verify_line, &quiet, &v, err);
    if (o->std.json) {
        wk_json *f = wk_insp_verify_json(path, &v, rc, err);
        if (f) wk_json_array_push(jfiles, f, NULL);
    } else if (!quiet && v.ok + v.failed + v.missing > 0) {
        printf("%s: %zu tensors: %zu OK, %zu FAILED, %zu without digest%s\n", path, v.n, v.ok,
               v.failed, v.missing, rc ? "" : " -- verified");
    }
    wk_json_free(v.tensors);
    return rc;
}

/* ---- main ---------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, insp_opts *o, int *exit_now, wk_err *err)
{
    wk_cli_std_init(&o->std, PROG);
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->files) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    int help = 0, version = 0, only_files = 0;
    for (int i = 1; i < argc; i++) {
        if (!only_files && argv[i][0] == '-' && argv[i][1]) {
            int r = wk_cli_std(&o->std, argc, argv, &i, &help, &version, err);
            if (r < 0) return -1;
            if (r > 0) continue;
            if (!strcmp(argv[i], "--pickle")) o->pickle = 1;
            else if (!strcmp(argv[i], "--meta")) o->meta = 1;
            else if (!strcmp(argv[i], "--stats")) o->stats = 1;
            else if (!strcmp(argv[i], "--strict")) o->strict = o->stats = 1;
            else if (!strcmp(argv[i], "--verify")) o->verify = 1;
            else if (!strcmp(argv[i], "--")) only_files = 1;
            else return wk_err_set(err, WK_E_USAGE, "unknown option '%s' (see --help)", argv[i]);
        } else {
            o->files[o->nfiles++] = argv[i];
        }
    }
    if (help) { insp_print_usage(); *exit_now = 1; return 0; }
    if (version) { wk_cli_print_version(PROG); *exit_now = 1; return 0; }
    if (o->nfiles == 0) return wk_err_set(err, WK_E_USAGE, "no input files (see --help)");
    if (o->verify && (o->pickle || o->meta || o->stats))
        return wk_err_set(err, WK_E_USAGE, "--verify cannot be combined with --pickle, --meta or --stats");
    return 0;
}

/* Report err for path: one line on stderr, and an entry of the JSON errors. */
static void report_error(const char *path, wk_err *err, wk_json *errors, int *status)
{
    fflush(stdout);
    int st = wk_cli_fail(PROG, err);
    if (!*status) *status = st;
    if (errors) {
        wk_err e2;
        wk_json *e = wk_json_new_object();
        if (wk_json_object_append(e, "path", wk_json_new_string(path), &e2) ||
            wk_json_object_append(e, "error", wk_json_new_string(err->msg), &e2) ||
            wk_json_array_push(errors, e, &e2))
            *status = *status ? *status : 1;
    }
}

static void inspect_file(const char *path, const insp_opts *o, wk_json *files, wk_json *errors,
                         wk_insp_totals *tot, int *status)
{
    wk_insp_opts io = { .pickle = o->pickle, .threads = o->std.threads };
    wk_insp_file f;
    wk_err err;
    wk_err_clear(&err);
    if (wk_insp_open(path, &io, &f, &err)) {
        if (f.listing && !o->std.json && !o->std.quiet) fputs(f.listing, stdout);
        report_error(path, &err, errors, status);
        wk_insp_close(&f);
        return;
    }
    wk_insp_stats st = {0}, *stp = NULL;
    if (o->stats) {
        if (wk_insp_stats_compute(&f, &st, &err)) {
            report_error(path, &err, errors, status);
            wk_insp_close(&f);
            return;
        }
        stp = &st;
    }
    if (o->std.json) {
        wk_json *jf = wk_insp_json_file(path, &f, stp, o->meta, tot, &err);
        if (!jf || wk_json_array_push(files, jf, &err)) report_error(path, &err, NULL, status);
    } else if (!o->std.quiet) {
        insp_print_text(path, &f, stp, o->meta, tot);
    }
    if (o->strict && wk_insp_strict_check(path, &f, &st, &err)) report_error(path, &err, errors, status);
    wk_insp_stats_free(&st);
    wk_insp_close(&f);
}

int main(int argc, char **argv)
{
    insp_opts o = {0};
    wk_err err;
    wk_err_clear(&err);
    int exit_now = 0;
    if (parse_args(argc, argv, &o, &exit_now, &err)) {
        free(o.files);
        return wk_cli_fail(PROG, &err);
    }
    if (exit_now) {
        free(o.files);
        return 0;
    }
    wk_io_install_signal_cleanup(); /* a mapped input truncated under us: named, not a crash */
    int status = 0;
    wk_insp_totals tot = {0};
    wk_json *root = NULL, *files = NULL, *errors = NULL;
    if (o.std.json) {
        root = wk_json_new_object();
        files = wk_json_new_array();
        errors = wk_json_new_array();
        if (!root || !files || !errors) {
            wk_err_set(&err, WK_E_NOMEM, "out of memory");
            return wk_cli_fail(PROG, &err);
        }
    }
    for (int i = 0; i < o.nfiles; i++) {
        if (o.verify) {
            wk_err_clear(&err);
            if (verify_file(o.files[i], &o, files, &err)) report_error(o.files[i], &err, errors, &status);
        } else {
            inspect_file(o.files[i], &o, files, errors, &tot, &status);
        }
    }
    if (!o.verify && !o.std.json && !o.std.quiet && tot.files > 1)
        printf("all files: %" PRIu64 " tensors, %" PRIu64 " parameters, %" PRIu64 " bytes\n",
               tot.tensors, tot.params, tot.bytes);
    if (root) {
        wk_buf out = {0};
        wk_json_dump_opts jo = wk_json_opts_python();
        jo.indent = 2;
        /* each append takes ownership of its value, even when it fails */
        int bad = wk_json_object_append(root, o.verify ? "verify" : "files", files, &err);
        if (!o.verify)
            bad |= wk_json_object_append(root, "totals", wk_insp_json_totals(tot.tensors, tot.params, tot.bytes, &err), &err);
        bad |= wk_json_object_append(root, "errors", errors, &err);
        if (bad || wk_json_dump(root, &jo, &out, &err)) {
            int st = wk_cli_fail(PROG, &err);
            if (!status) status = st;
        } else {
            fwrite(out.data, 1, out.len, stdout);
            putchar('\n');
        }
        wk_buf_free(&out);
        wk_json_free(root);
    }
    free(o.files);
    if (fflush(stdout) != 0 && !status) {
        wk_err_set(&err, WK_E_IO, "writing standard output failed");
        status = wk_cli_fail(PROG, &err);
    }
    return status;
}
