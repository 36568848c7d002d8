/* wk-xor — decode and encode XOR-diff model releases (the xor_codec.py scheme),
 * verifying every output's SHA-256 as it is written.  A thin main: argument
 * parsing and reporting here, the work in formats/wk_xor.c and wk_manifest.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_cli.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_manifest.h"
#include "wk_progress.h"
#include "wk_threads.h"
#include "wk_xor.h"

#ifdef _OPENMP
#include <omp.h>
#endif

typedef enum { CMD_DECODE, CMD_ENCODE, CMD_VERIFY, CMD_HASH } xor_cmd;

typedef struct {
    wk_cli_std_opts std;
    xor_cmd cmd;
    const char *pos[3];       /* DST SRC BASE, or DIR for verify */
    int npos;
    char **files;             /* hash: the FILE arguments */
    int nfiles;
    const char *manifest;     /* --manifest */
    int no_manifest;          /* --no-manifest */
    const char *base_manifest;
    const char *manifest_out; /* encode --manifest-out */
    int keep_bad;
    int gzip;                 /* encode: 1 gzip (default), 0 --raw */
    wk_payload_kind kind;     /* decode: auto, --raw, --gzip/--compress */
    int level;
    int pipeline;
    int legacy;               /* positional xor_codec.py form */
    wk_inflate_engine engine; /* --inflate */
} xor_opts;

static void usage(void)
{
    printf(
"usage: wk-xor decode DST PAYLOAD_DIR BASE_DIR [options]\n"
"       wk-xor encode DST FINETUNED_DIR BASE_DIR [--raw] [options]\n"
"       wk-xor verify DIR [--manifest FILE]\n"
"       wk-xor hash FILE...\n"
"       wk-xor DST PAYLOAD_DIR BASE_DIR [--decode|--encode] [--compress]   (xor_codec.py form)\n"
"\n"
"  XOR-diff releases: every file of the fine-tuned model XOR'd with the same-named\n"
"  file of the base model (a shorter base is zero-extended, a longer one cut),\n"
"  usually gzip-compressed.  decode restores the fine-tuned files, checking each\n"
"  one's SHA-256 against a manifest as it is written; a file that does not match\n"
"  is removed.  encode makes such payloads (gzip by default, identical bytes for\n"
"  any -j) and prints the target files' sha256sum lines.\n"
"\n"
"decode options:\n"
"  --manifest FILE       expected hashes (sha256sum / rhash format); default: the\n"
"                        manifest in checksums/ whose file names match the payloads\n"
"  --no-manifest         do not look for a default manifest\n"
"  --base-manifest FILE  check the base files against FILE before decoding\n"
"  --keep-bad            keep outputs whose hash does not match\n"
"  --raw | --gzip        payload kind (default: gzip if it starts with 1f 8b)\n"
"  --inflate ENGINE      zlib (default; = auto, strict header checks) or isal\n"
"                        (ISA-L, about 2x faster inflate, when built in)\n"
"  --no-pipeline         inflate and hash on one thread (diagnostics)\n"
"encode options:\n"
"  --raw                 uncompressed payloads (default: gzip)\n"
"  --level N             gzip level 1..9 (default 6)\n"
"  --manifest-out FILE   also write the targets' hashes to FILE\n"
"verify: hash DIR/<name> for every manifest entry, as sha256sum -c does.\n"
"hash:   print sha256sum lines for FILEs ('-' or none: standard input).\n"
"\n"
"common options:\n"
"  -j, --threads N       decode/verify/hash: files at once; encode: compression\n"
"                        threads (default: all cores)\n"
"  -q, --quiet           print errors only\n"
"  --json                print a JSON report on stdout instead of text\n"
"  --progress, --no-progress\n"
"  -h, --help            show this help\n"
"  -V, --version         show version\n"
"\n"
"Manifests are searched in $WK_CHECKSUMS_DIR, <exe dir>/../../checksums and\n"
"<exe dir>/../share/weightkit/checksums.  Exit status: 0 ok, 1 error, 2 usage,\n"
"3 hash mismatch.\n");
}

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
    const char **slot = !strcmp(a, "--manifest") ? &o->manifest
                      : !strcmp(a, "--base-manifest") ? &o->base_manifest
                      : !strcmp(a, "--manifest-out") ? &o->manifest_out : NULL;
    if (slot) return (*slot = opt_value(argc, argv, i, err)) ? 1 : -1;
    if (!strcmp(a, "--level")) {
        const char *v = opt_value(argc, argv, i, err);
        if (!v) return -1;
        if (strlen(v) != 1 || v[0] < '1' || v[0] > '9')
            return wk_err_set(err, WK_E_USAGE, "--level must be 1..9, not '%s'", v);
        o->level = v[0] - '0';
        return 1;
    }
    if (!strcmp(a, "--inflate")) {
        const char *v = opt_value(argc, argv, i, err);
        if (!v) return -1;
        if (!strcmp(v, "zlib")) o->engine = WK_INFLATE_ZLIB;
        else if (!strcmp(v, "isal") || !strcmp(v, "isa-l")) o->engine = WK_INFLATE_ISAL;
        else if (!strcmp(v, "auto")) o->engine = WK_INFLATE_AUTO;
        else return wk_err_set(err, WK_E_USAGE, "--inflate must be auto, zlib or isal, not '%s'", v);
        return 1;
    }
    if (!strcmp(a, "--keep-bad")) o->keep_bad = 1;
    else if (!strcmp(a, "--no-manifest")) o->no_manifest = 1;
    else if (!strcmp(a, "--raw")) { o->kind = WK_PAYLOAD_RAW; o->gzip = 0; }
    else if (!strcmp(a, "--gzip")) { o->kind = WK_PAYLOAD_GZIP; o->gzip = 1; }
    else if (!strcmp(a, "--no-pipeline")) o->pipeline = 0;
    else if (!strcmp(a, "--decode") && o->legacy) o->cmd = CMD_DECODE;
    else if (!strcmp(a, "--encode") && o->legacy) o->cmd = CMD_ENCODE;
    else if (!strcmp(a, "--compress") && o->legacy) { o->gzip = 1; o->kind = WK_PAYLOAD_GZIP; }
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
    int want = o->cmd == CMD_VERIFY ? 1 : 3;
    if (o->cmd == CMD_HASH || o->npos == want) return 0;
    static const char *const forms[] = {"decode DST PAYLOAD_DIR BASE_DIR",
                                        "encode DST FINETUNED_DIR BASE_DIR", "verify DIR", ""};
    return wk_err_set(err, WK_E_USAGE, "expected: wk-xor %s (see --help)", forms[o->cmd]);
}

/* 1 = run, 0 = help/version printed, -1 = error. */
static int parse_args(xor_opts *o, int argc, char **argv, wk_err *err)
{
    memset(o, 0, sizeof *o);
    wk_cli_std_init(&o->std, "wk-xor");
    o->pipeline = 1;
    o->kind = WK_PAYLOAD_AUTO;
    int first = 1;
    if (argc > 1 && subcommand(argv[1]) >= 0) {
        o->cmd = (xor_cmd)subcommand(argv[1]);
        o->gzip = o->cmd == CMD_ENCODE;
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
            int help = 0, version = 0;
            int r = wk_cli_std(&o->std, argc, argv, &i, &help, &version, err);
            if (r < 0) return -1;
            if (help) { usage(); return 0; }
            if (version) {
                wk_cli_print_version(o->std.prog);
                printf("inflate: %s\n", wk_inflate_engines());
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

/* ---- manifests ---------------------------------------------------------- */

/* Directory holding the running executable (malloc'd), or NULL. */
static char *exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash) return NULL;
    *slash = '\0';
    return strdup(buf);
}

/* The default manifest for this set of names, or NULL (*err set on error). */
static char *default_manifest(char *const *names, size_t n, wk_err *err)
{
    char *dir = exe_dir();
    char *d1 = dir ? wk_path_join(dir, "../../checksums") : NULL;
    char *d2 = dir ? wk_path_join(dir, "../share/weightkit/checksums") : NULL;
    const char *dirs[3] = {getenv("WK_CHECKSUMS_DIR"), d1, d2};
    char *path = NULL;
    wk_err_clear(err);
    wk_xor_find_manifest(dirs, 3, names, n, &path, err);
    free(dir);
    free(d1);
    free(d2);
    return path;
}

/* Load --manifest, or discover one for names; *m stays empty when there is
 * none.  Returns -1 on a load error or an ambiguous discovery. */
static int pick_manifest(const xor_opts *o, char *const *names, size_t n, wk_manifest *m,
                         wk_err *err)
{
    wk_manifest_init(m);
    if (o->manifest) return wk_manifest_load(m, o->manifest, err);
    if (o->no_manifest) return 0;
    char *path = default_manifest(names, n, err);
    if (!path) return err->code == WK_OK ? 0 : -1;
    int rc = wk_manifest_load(m, path, err);
    free(path);
    return rc;
}

/* ---- reporting ---------------------------------------------------------- */

static const char *action_name(wk_xor_action a)
{
    static const char *const names[] = {"xor", "copy", "skip", "missing"};
    return names[a];
}

/* Outcome word of an item, used by text and JSON reports. */
static const char *item_status(const wk_xor_item *it)
{
    if (it->action == WK_XOR_DO_SKIP && it->status == 0) return "skipped";
    if (it->status != 0) return it->err.code == WK_E_MISMATCH && it->res.committed ? "mismatch-kept"
                              : it->err.code == WK_E_MISMATCH ? "mismatch" : "failed";
    if (it->res.verified == 1) return "ok";
    return "unverified";
}

static void print_item(const xor_opts *o, const wk_xor_item *it)
{
    const char *st = item_status(it);
    if (it->status != 0) {
        printf("%s: FAILED\n", it->name);
        fprintf(stderr, "%s: error: %s\n", o->std.prog, it->err.msg);
    } else if (o->cmd == CMD_ENCODE && it->action != WK_XOR_DO_SKIP) {
        char hex[65];
        wk_hex(it->res.sha256, WK_MANIFEST_DIGEST, hex);
        printf("%s  %s\n", hex, it->name);
    } else if (!strcmp(st, "skipped")) {
        printf("%s: skipped (not a payload: documentation or directory)\n", it->name);
    } else if (it->action == WK_XOR_DO_COPY) {
        printf("%s: %s (no base file: taken as is, as xor_codec.py does)\n", it->name,
               it->res.verified == 1 ? "OK" : "copied, not verified");
    } else {
        printf("%s: %s\n", it->name, it->res.verified == 1 ? "OK"
                                     : "decoded, not verified (no manifest entry)");
    }
}

/* The advice printed once when any digest differs. */
static void print_mismatch_hint(const char *prog)
{
    fprintf(stderr,
            "%s: hint: a wrong hash with a correct payload usually means the base model was\n"
            "  converted differently from the one the publisher used (another transformers or\n"
            "  torch version writes different bytes).  Re-create the base with wk-convert and try\n"
            "  its converter options, e.g. --transformers-version or --torch-version (see\n"
            "  wk-convert --help); check a base against published hashes with --base-manifest.\n",
            prog);
}

/* JSON helpers: the report is built as a tree and dumped once. */
static wk_json *json_hex(const uint8_t *d)
{
    char hex[65];
    wk_hex(d, WK_MANIFEST_DIGEST, hex);
    return wk_json_new_string(hex);
}

static int json_item(wk_json *arr, const wk_xor_item *it, wk_err *err)
{
    wk_json *j = wk_json_new_object();
    int ran = it->res.out_bytes || it->res.committed || it->res.verified != -1;
    int rc = wk_json_array_push(arr, j, err);
    rc = rc ? rc : wk_json_object_set(j, "name", wk_json_new_string(it->name), err);
    rc = rc ? rc : wk_json_object_set(j, "action", wk_json_new_string(action_name(it->action)), err);
    rc = rc ? rc : wk_json_object_set(j, "status", wk_json_new_string(item_status(it)), err);
    rc = rc ? rc : wk_json_object_set(j, "sha256", ran ? json_hex(it->res.sha256) : wk_json_new_null(), err);
    rc = rc ? rc : wk_json_object_set(j, "expected", it->has_expect ? json_hex(it->expect) : wk_json_new_null(), err);
    rc = rc ? rc : wk_json_object_set(j, "bytes_in", wk_json_new_int((int64_t)it->res.in_bytes), err);
    rc = rc ? rc : wk_json_object_set(j, "bytes_out", wk_json_new_int((int64_t)it->res.out_bytes), err);
    rc = rc ? rc : wk_json_object_set(j, "gzip", wk_json_new_bool(it->res.gzip), err);
    rc = rc ? rc : wk_json_object_set(j, "gzip_members", wk_json_new_int(it->res.members), err);
    rc = rc ? rc : wk_json_object_set(j, "error", it->status ? wk_json_new_string(it->err.msg) : wk_json_new_null(), err);
    return rc;
}

/* Print the whole JSON report for a plan run. */
static int print_json(const xor_opts *o, const wk_xor_plan *p, const char *manifest, int ok,
                      wk_err *err)
{
    wk_json *root = wk_json_new_object(), *files = wk_json_new_array();
    int rc = wk_json_object_set(root, "command",
                                wk_json_new_string(o->cmd == CMD_ENCODE ? "encode" : "decode"), err);
    rc = rc ? rc : wk_json_object_set(root, "manifest", manifest ? wk_json_new_string(manifest) : wk_json_new_null(), err);
    rc = rc ? rc : wk_json_object_set(root, "ok", wk_json_new_bool(ok), err);
    rc = rc ? rc : wk_json_object_set(root, "files", files, err);
    for (size_t i = 0; rc == 0 && i < p->n; i++) rc = json_item(files, &p->items[i], err);
    wk_buf b;
    wk_buf_init(&b);
    wk_json_dump_opts jo = wk_json_opts_python();
    jo.indent = 2;
    if (rc == 0) rc = wk_json_dump(root, &jo, &b, err);
    if (rc == 0) printf("%.*s\n", (int)b.len, (const char *)b.data);
    wk_buf_free(&b);
    wk_json_free(root);
    return rc;
}

/* ---- decode / encode ---------------------------------------------------- */

/* Check the base directory against --base-manifest (before decoding). */
static int check_base(const xor_opts *o, const char *base_dir, wk_err *err)
{
    wk_manifest m;
    wk_manifest_init(&m);
    int rc = wk_manifest_load(&m, o->base_manifest, err);
    wk_check_result *res = rc ? NULL : calloc(m.n ? m.n : 1, sizeof *res);
    if (rc == 0 && !res) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (rc == 0 && wk_manifest_check_dir(&m, base_dir, o->std.threads, NULL, NULL, res, err)) {
        for (size_t i = 0; i < m.n; i++) {
            if (res[i].status == WK_CHECK_FAILED)
                fprintf(stderr, "%s: base %s/%s does not match %s\n", o->std.prog, base_dir,
                        m.entries[i].name, o->base_manifest);
            else if (res[i].status != WK_CHECK_OK)
                fprintf(stderr, "%s: base: %s\n", o->std.prog, res[i].err.msg);
        }
        wk_err_prefix(err, "base check failed, nothing decoded");
        rc = -1;
    }
    free(res);
    wk_manifest_free(&m);
    return rc;
}

/* The names of the XOR and COPY items (what a manifest should cover). */
static char **plan_names(const wk_xor_plan *p, size_t *n)
{
    char **v = calloc(p->n ? p->n : 1, sizeof *v);
    *n = 0;
    for (size_t i = 0; v && i < p->n; i++)
        if (p->items[i].action == WK_XOR_DO_XOR || p->items[i].action == WK_XOR_DO_COPY)
            v[(*n)++] = p->items[i].name;
    return v;
}

/* Print the per-file report and the hint; returns whether a digest differed. */
static int report_plan(const xor_opts *o, const wk_xor_plan *p, const char *manifest, int ok)
{
    int mismatch = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].status && p->items[i].err.code == WK_E_MISMATCH &&
            p->items[i].action != WK_XOR_DO_MISSING) mismatch = 1;
    if (o->std.json) {
        wk_err e;
        if (print_json(o, p, manifest, ok, &e)) wk_cli_fail(o->std.prog, &e);
    } else {
        for (size_t i = 0; i < p->n; i++)
            if (!o->std.quiet || p->items[i].status) print_item(o, &p->items[i]);
    }
    if (mismatch) print_mismatch_hint(o->std.prog);
    return mismatch;
}

/* Write the targets' hashes after an encode. */
static int write_manifest_out(const xor_opts *o, const wk_xor_plan *p, wk_err *err)
{
    wk_manifest m;
    wk_manifest_init(&m);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        const wk_xor_item *it = &p->items[i];
        if (it->status == 0 && it->res.committed)
            rc = wk_manifest_add(&m, it->name, it->res.sha256, err);
    }
    if (rc == 0) rc = wk_manifest_write(&m, o->manifest_out, err);
    wk_manifest_free(&m);
    return rc;
}

static int cmd_xor(const xor_opts *o)
{
    wk_err err;
    wk_err_clear(&err);
    wk_xor_plan p;
    wk_manifest m;
    wk_manifest_init(&m);
    const char *dst = o->pos[0], *src = o->pos[1], *base = o->pos[2];
    int encode = o->cmd == CMD_ENCODE;
    if (wk_xor_plan_make(&p, dst, src, base, encode, &err)) return wk_cli_fail(o->std.prog, &err);
    int rc = 0;
    if (!encode) {
        size_t nn;
        char **names = plan_names(&p, &nn);
        rc = names ? pick_manifest(o, names, nn, &m, &err) : wk_err_set(&err, WK_E_NOMEM, "out of memory");
        free(names);
        if (rc == 0 && m.n) rc = wk_xor_plan_expect(&p, &m, &err);
        if (rc == 0 && o->base_manifest) rc = check_base(o, base, &err);
        if (rc == 0 && !m.n && !o->std.quiet && !o->std.json)
            fprintf(stderr, "%s: note: no manifest %s; outputs are not verified (use --manifest)\n",
                    o->std.prog, o->no_manifest ? "used" : "in checksums/ matches these file names");
        else if (rc == 0 && m.n && !o->std.quiet && !o->std.json)
            fprintf(stderr, "%s: verifying against %s\n", o->std.prog, m.label);
    }
    if (rc) {
        wk_xor_plan_free(&p);
        wk_manifest_free(&m);
        return wk_cli_fail(o->std.prog, &err);
    }
    uint64_t total = 0;
    for (size_t i = 0; i < p.n; i++) total += p.items[i].src_bytes;
    wk_progress *bar = wk_progress_new(encode ? "encode" : "decode", total,
                                       wk_cli_want_progress(&o->std));
    wk_xor_run_opts ro = {o->kind, o->gzip, o->level, o->std.threads, o->keep_bad, o->pipeline,
                          wk_progress_cb, bar, NULL, NULL, o->engine};
    rc = wk_xor_run(&p, dst, &ro, &err);
    wk_progress_finish(bar);
    report_plan(o, &p, m.n ? m.label : NULL, rc == 0);
    wk_err werr;
    if (rc == 0 && encode && o->manifest_out && write_manifest_out(o, &p, &werr)) {
        rc = -1;
        err = werr;
    }
    wk_xor_plan_free(&p);
    wk_manifest_free(&m);
    return rc ? wk_cli_fail(o->std.prog, &err) : 0;
}

/* ---- verify ------------------------------------------------------------- */

/* A name as sha256sum -c (coreutils 9) prints it: escaped, with a leading
 * backslash, only when it holds a newline; then '\\' and '\n' are escaped. */
static void print_check_name(const char *name)
{
    if (!strchr(name, '\n')) {
        fputs(name, stdout);
        return;
    }
    putchar('\\');
    for (const char *s = name; *s; s++) {
        if (*s == '\\') fputs("\\\\", stdout);
        else if (*s == '\n') fputs("\\n", stdout);
        else putchar(*s);
    }
}

static int cmd_verify(const xor_opts *o)
{
    wk_err err;
    wk_err_clear(&err);
    wk_manifest m;
    wk_manifest_init(&m);
    const char *dir = o->pos[0];
    char **names = NULL;
    size_t nn = 0;
    int rc = o->manifest ? 0 : wk_xor_list_dir(dir, &names, &nn, &err);
    if (rc == 0) rc = pick_manifest(o, names, nn, &m, &err);
    wk_xor_free_names(names, nn);
    if (rc == 0 && !m.n && o->manifest)
        rc = wk_err_set(&err, WK_E_USAGE, "%s lists no files", o->manifest);
    else if (rc == 0 && !m.n)
        rc = wk_err_set(&err, WK_E_USAGE, "no manifest given and none in checksums/ matches the "
                        "files of %s (use --manifest FILE)", dir);
    for (size_t i = 0; rc == 0 && i < m.n; i++)
        if (!wk_manifest_name_safe(m.entries[i].name))
            rc = wk_err_set(&err, WK_E_UNSAFE, "%s:%zu: file name \"%s\" is not a safe relative "
                            "path (absolute, or with a '.' or '..' component); nothing outside %s "
                            "is read", m.label ? m.label : "manifest", m.entries[i].line,
                            m.entries[i].name, dir);
    wk_check_result *res = rc ? NULL : calloc(m.n, sizeof *res);
    if (rc == 0 && !res) rc = wk_err_set(&err, WK_E_NOMEM, "out of memory");
    if (rc) {
        wk_manifest_free(&m);
        return wk_cli_fail(o->std.prog, &err);
    }
    uint64_t total = 0;
    wk_progress *bar = wk_progress_new("verify", total, wk_cli_want_progress(&o->std));
    rc = wk_manifest_check_dir(&m, dir, o->std.threads, wk_progress_cb, bar, res, &err);
    wk_progress_finish(bar);
    size_t failed = 0, unread = 0;
    for (size_t i = 0; i < m.n; i++) {
        int ok = res[i].status == WK_CHECK_OK;
        failed += res[i].status == WK_CHECK_FAILED;
        unread += res[i].status == WK_CHECK_MISSING || res[i].status == WK_CHECK_ERROR;
        if (!ok && res[i].status != WK_CHECK_FAILED)
            fprintf(stderr, "%s: error: %s\n", o->std.prog, res[i].err.msg);
        if (o->std.quiet && ok) continue;
        print_check_name(m.entries[i].name);
        printf(": %s\n", ok ? "OK" : res[i].status == WK_CHECK_FAILED ? "FAILED"
                                                                     : "FAILED open or read");
    }
    if (unread)
        fprintf(stderr, "%s: WARNING: %zu listed file%s could not be read\n", o->std.prog, unread,
                unread == 1 ? "" : "s");
    if (failed)
        fprintf(stderr, "%s: WARNING: %zu computed checksum%s did NOT match\n", o->std.prog,
                failed, failed == 1 ? "" : "s");
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
    uint8_t (*dig)[WK_MANIFEST_DIGEST] = calloc((size_t)n, sizeof *dig);
    wk_err *errs = calloc((size_t)n, sizeof *errs);
    int *st = calloc((size_t)n, sizeof *st);
    if (!dig || !errs || !st) {
        free(dig); free(errs); free(st);
        wk_err e;
        wk_err_set(&e, WK_E_NOMEM, "out of memory");
        return wk_cli_fail(o->std.prog, &e);
    }
    for (int i = 0; i < n; i++)  /* standard input first, on this thread */
        if (!strcmp(files[i], "-"))
            st[i] = wk_manifest_hash_fd(0, "-", dig[i], NULL, NULL, 0, &errs[i]);
    int nth = o->std.threads > 0 ? o->std.threads : wk_threads_ncores();
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
#endif
    for (int i = 0; i < n; i++)
        if (strcmp(files[i], "-"))
            st[i] = wk_manifest_hash_file(files[i], dig[i], NULL, NULL, &errs[i]);
    (void)nth;
    int bad = 0;
    wk_buf b;
    wk_buf_init(&b);
    for (int i = 0; i < n; i++) {
        if (st[i]) {
            fprintf(stderr, "%s: error: %s\n", o->std.prog, errs[i].msg);
            bad = 1;
            continue;
        }
        b.len = 0;
        wk_manifest_format_line(&b, dig[i], files[i]);
        if (!b.failed) fwrite(b.data, 1, b.len, stdout);
    }
    wk_buf_free(&b);
    free(dig); free(errs); free(st);
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
