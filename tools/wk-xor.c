/* wk-xor — decode and encode XOR-diff model releases (the xor_codec.py scheme),
 * verifying every output's SHA-256 as it is written.  A thin main: argument
 * parsing and reporting here, the work in tools/xor/wk_xor.c and wk_manifest.c. */
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
#include "wk_xorcheck.h"
#include "wk_xormeta.h"

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
    int check;                /* decode: tensor check: 0 --no-check, 1 default
                                 (files without an expected digest), 2 --check (all) */
    int strict;               /* --strict: a suspect file fails and is removed */
    const char *base_meta;    /* decode --base-meta LLAMA_DIR */
    const char *tokenizer;    /* --tokenizer (with --base-meta) */
} xor_opts;

static void usage(void)
{
    printf(
"usage: wk-xor decode DST PAYLOAD_DIR BASE_DIR [options]\n"
"       wk-xor decode DST PAYLOAD_DIR --base-meta LLAMA_DIR [options]\n"
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
"  --base-meta DIR       no BASE_DIR: the HF base files are produced on the fly\n"
"                        from Meta's original checkpoint in DIR (params.json,\n"
"                        consolidated.*.pth) by the wk-convert engine, never\n"
"                        written to disk; every known converter profile\n"
"                        (transformers 4.28-4.32 version strings x torch 1.13/2.1)\n"
"                        is tried, cheapest first, and the one whose output\n"
"                        matches the manifest is reported (see docs/xor.md)\n"
"  --tokenizer PATH      with --base-meta: tokenizer.model (default: DIR or its parent)\n"
"  --keep-bad            keep outputs whose hash does not match\n"
"  --raw | --gzip        payload kind (default: gzip if it starts with 1f 8b)\n"
"  --inflate ENGINE      zlib (default; = auto, strict header checks) or isal\n"
"                        (ISA-L, about 2x faster inflate, when built in)\n"
"  --no-pipeline         inflate and hash on one thread (diagnostics)\n"
"  --check | --no-check  tensor check of decoded .bin/.safetensors files: open\n"
"                        them and flag tensors that look like noise (NaN/Inf,\n"
"                        |x| > 1e4, std > 100: the sign of a wrong base).  Default:\n"
"                        files with no expected digest; --check: every file\n"
"  --strict              a file whose check flags a tensor (or that does not\n"
"                        open as a checkpoint) fails and is removed (exit 3;\n"
"                        kept with --keep-bad)\n"
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
                      : !strcmp(a, "--base-meta") ? &o->base_meta
                      : !strcmp(a, "--tokenizer") ? &o->tokenizer
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
    else if (!strcmp(a, "--check")) o->check = 2;
    else if (!strcmp(a, "--no-check")) o->check = 0;
    else if (!strcmp(a, "--strict")) o->strict = 1;
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
    int want = o->cmd == CMD_VERIFY ? 1 : o->base_meta ? 2 : 3;
    if (o->base_meta && o->cmd != CMD_DECODE)
        return wk_err_set(err, WK_E_USAGE, "--base-meta is a decode option");
    if (o->base_meta && (o->keep_bad || o->base_manifest))
        return wk_err_set(err, WK_E_USAGE, "%s is not supported with --base-meta",
                          o->keep_bad ? "--keep-bad" : "--base-manifest");
    if (o->base_meta && o->npos == 3)
        return wk_err_set(err, WK_E_USAGE, "give either BASE_DIR or --base-meta, not both");
    if (o->cmd == CMD_HASH || o->npos == want) return 0;
    if (o->base_meta)
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
    o->pipeline = 1;
    o->check = 1;
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

/* ---- post-decode tensor check ------------------------------------------ */

/* One plan item's check outcome. */
typedef struct {
    int ran;             /* the check ran on this item */
    int strict_failed;   /* --strict turned a suspect result into a failure */
    wk_xorcheck c;
    int meta;            /* --base-meta: xm below is filled */
    wk_xm_file xm;
    char profile[200];   /* the matched profile(s), described */
    wk_xorcheck_stream *stream; /* fed while the file is decoded; NULL = re-read it */
} item_check;

typedef struct {
    const xor_opts *o;
    const wk_xor_plan *p;
    item_check *res;     /* p->n entries */
} check_ctx;

/* 1 if the decoded item gets the tensor check (see --check). */
static int check_wanted(const xor_opts *o, const wk_xor_item *it)
{
    if (!o->check || !wk_xorcheck_wants(it->name)) return 0;
    return !(o->check == 1 && it->has_expect);  /* a matching digest verifies it */
}

/* The wk_xor_run tap: a file that will be checked gets a streaming consumer,
 * so check_done need not read it again (without memory for one, it does). */
static wk_sink_fn check_tap(void *ctx, wk_xor_item *it, void **hook_ctx)
{
    check_ctx *c = ctx;
    item_check *r = &c->res[it - c->p->items];
    if (!check_wanted(c->o, it) || !(r->stream = wk_xorcheck_stream_new())) return NULL;
    *hook_ctx = r->stream;
    return wk_xorcheck_stream_feed;
}

/* The wk_xor_run done hook: check the committed output it->out when asked
 * (see --check); under --strict a suspect file fails and is removed (unless
 * --keep-bad).  Runs on worker threads, each on its own item. */
static int check_done(void *ctx, wk_xor_item *it, wk_err *err)
{
    check_ctx *c = ctx;
    item_check *r = &c->res[it - c->p->items];
    if (!check_wanted(c->o, it)) return 0;
    int rc = wk_xorcheck_file_stream(it->out, r->stream, &r->c, err);
    wk_xorcheck_stream_free(r->stream);
    r->stream = NULL;
    WK_TRY(rc);
    r->ran = 1;
    if (!c->o->strict || !wk_xorcheck_suspect(&r->c)) return 0;
    r->strict_failed = 1;
    if (!c->o->keep_bad && unlink(it->out) == 0) it->res.committed = 0;
    if (r->c.unreadable)
        return wk_err_set(err, WK_E_MISMATCH, "%s does not open as a checkpoint (%s); --strict: %s",
                          it->out, r->c.why, c->o->keep_bad ? "kept because of --keep-bad"
                                                            : "output removed");
    return wk_err_set(err, WK_E_MISMATCH, "%s: %llu of %llu tensors look like noise (NaN/Inf or "
                      "absurd magnitudes); --strict: %s", it->out,
                      (unsigned long long)r->c.flagged, (unsigned long long)r->c.tensors,
                      c->o->keep_bad ? "kept because of --keep-bad" : "output removed");
}

/* Text lines for a check result (after the item's own line). */
static void print_check(const item_check *r)
{
    const wk_xorcheck *c = &r->c;
    if (c->unreadable) {
        printf("  tensor check: SUSPECT, does not open as a checkpoint: %s\n"
               "  (typical of a decode against the wrong base)\n", c->why);
        return;
    }
    if (!c->flagged) {
        printf("  tensor check: %llu tensors look like trained weights (no NaN/Inf, |x| <= 1e4, "
               "std <= 100); plausible, still unverified\n", (unsigned long long)c->tensors);
        return;
    }
    printf("  tensor check: SUSPECT, %llu of %llu tensors look like noise (decoded against the "
           "wrong base?); unverified\n", (unsigned long long)c->flagged,
           (unsigned long long)c->tensors);
    for (size_t k = 0; k < c->n_listed; k++) {
        const wk_tensor_stats *st = &c->listed[k].stats;
        char fl[64];
        printf("    %s: %s (nan %llu, inf %llu, min %.4g, max %.4g, mean %.4g, std %.4g)\n",
               c->listed[k].name, wk_stats_flags_str(st->flags, fl, sizeof fl),
               (unsigned long long)st->n_nan, (unsigned long long)st->n_inf, st->min, st->max,
               st->mean, st->std);
    }
    if (c->flagged > c->n_listed)
        printf("    ... and %llu more\n", (unsigned long long)(c->flagged - c->n_listed));
}

/* JSON number, or null for NaN/Inf (JSON has neither). */
static wk_json *json_num(double v)
{
    return v == v && v - v == 0 ? wk_json_new_double(v) : wk_json_new_null();
}

/* The "check" member of a JSON item. */
static wk_json *json_check(const item_check *r, wk_err *err)
{
    if (!r || !r->ran) return wk_json_new_null();
    const wk_xorcheck *c = &r->c;
    wk_json *j = wk_json_new_object(), *arr = wk_json_new_array();
    int rc = wk_json_object_set(j, "suspect", wk_json_new_bool(wk_xorcheck_suspect(c)), err);
    rc = rc ? rc : wk_json_object_set(j, "verified", wk_json_new_bool(0), err);
    rc = rc ? rc : wk_json_object_set(j, "readable", wk_json_new_bool(!c->unreadable), err);
    rc = rc ? rc : wk_json_object_set(j, "error", c->unreadable ? wk_json_new_string(c->why) : wk_json_new_null(), err);
    rc = rc ? rc : wk_json_object_set(j, "tensors", wk_json_new_int((int64_t)c->tensors), err);
    rc = rc ? rc : wk_json_object_set(j, "not_floating", wk_json_new_int((int64_t)c->skipped), err);
    rc = rc ? rc : wk_json_object_set(j, "flagged", wk_json_new_int((int64_t)c->flagged), err);
    rc = rc ? rc : wk_json_object_set(j, "problems", arr, err);
    for (size_t k = 0; rc == 0 && k < c->n_listed; k++) {
        const wk_tensor_stats *st = &c->listed[k].stats;
        char fl[64];
        wk_json *t = wk_json_new_object();
        rc = wk_json_array_push(arr, t, err);
        rc = rc ? rc : wk_json_object_set(t, "name", wk_json_new_string(c->listed[k].name), err);
        rc = rc ? rc : wk_json_object_set(t, "flags", wk_json_new_string(wk_stats_flags_str(st->flags, fl, sizeof fl)), err);
        rc = rc ? rc : wk_json_object_set(t, "nan", wk_json_new_int((int64_t)st->n_nan), err);
        rc = rc ? rc : wk_json_object_set(t, "inf", wk_json_new_int((int64_t)st->n_inf), err);
        rc = rc ? rc : wk_json_object_set(t, "min", json_num(st->min), err);
        rc = rc ? rc : wk_json_object_set(t, "max", json_num(st->max), err);
        rc = rc ? rc : wk_json_object_set(t, "mean", json_num(st->mean), err);
        rc = rc ? rc : wk_json_object_set(t, "std", json_num(st->std), err);
    }
    if (rc) {
        wk_json_free(j);
        return NULL;
    }
    return j;
}

/* ---- reporting ---------------------------------------------------------- */

static const char *action_name(wk_xor_action a)
{
    static const char *const names[] = {"xor", "copy", "skip", "missing"};
    return names[a];
}

/* Outcome word of an item, used by text and JSON reports. */
static const char *item_status(const wk_xor_item *it, const item_check *ck)
{
    if (it->action == WK_XOR_DO_SKIP && it->status == 0) return "skipped";
    if (ck && ck->strict_failed) return it->res.committed ? "suspect-kept" : "suspect";
    if (it->status != 0) return it->err.code == WK_E_MISMATCH && it->res.committed ? "mismatch-kept"
                              : it->err.code == WK_E_MISMATCH ? "mismatch" : "failed";
    if (it->res.verified == 1) return "ok";
    if (ck && ck->ran && wk_xorcheck_suspect(&ck->c)) return "unverified-suspect";
    return "unverified";
}

static void print_item(const xor_opts *o, const wk_xor_item *it, const item_check *ck)
{
    const char *st = item_status(it, ck);
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
    if (ck && ck->meta && ck->xm.chosen >= 0)
        printf("  base: %s, %s (%zu full pass%s)\n", ck->profile,
               ck->xm.verified ? "verified by hash" : "chosen by structure, unverified",
               ck->xm.passes, ck->xm.passes == 1 ? "" : "es");
    if (ck && ck->ran) print_check(ck);
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

static int json_item(wk_json *arr, const wk_xor_item *it, const item_check *ck, wk_err *err)
{
    wk_json *j = wk_json_new_object();
    int ran = it->res.out_bytes || it->res.committed || it->res.verified != -1;
    int rc = wk_json_array_push(arr, j, err);
    rc = rc ? rc : wk_json_object_set(j, "name", wk_json_new_string(it->name), err);
    rc = rc ? rc : wk_json_object_set(j, "action", wk_json_new_string(action_name(it->action)), err);
    rc = rc ? rc : wk_json_object_set(j, "status", wk_json_new_string(item_status(it, ck)), err);
    rc = rc ? rc : wk_json_object_set(j, "sha256", ran ? json_hex(it->res.sha256) : wk_json_new_null(), err);
    rc = rc ? rc : wk_json_object_set(j, "expected", it->has_expect ? json_hex(it->expect) : wk_json_new_null(), err);
    rc = rc ? rc : wk_json_object_set(j, "bytes_in", wk_json_new_int((int64_t)it->res.in_bytes), err);
    rc = rc ? rc : wk_json_object_set(j, "bytes_out", wk_json_new_int((int64_t)it->res.out_bytes), err);
    rc = rc ? rc : wk_json_object_set(j, "gzip", wk_json_new_bool(it->res.gzip), err);
    rc = rc ? rc : wk_json_object_set(j, "gzip_members", wk_json_new_int(it->res.members), err);
    rc = rc ? rc : wk_json_object_set(j, "error", it->status ? wk_json_new_string(it->err.msg) : wk_json_new_null(), err);
    wk_json *cj = rc ? NULL : json_check(ck, err);
    if (rc == 0 && !cj) rc = -1;
    rc = rc ? rc : wk_json_object_set(j, "check", cj, err);
    if (rc == 0 && ck && ck->meta) {
        wk_json *pj = wk_json_new_object();
        rc = wk_json_object_set(j, "base_profile", pj, err);
        rc = rc ? rc : wk_json_object_set(pj, "profile", ck->xm.chosen >= 0 ? wk_json_new_string(ck->profile) : wk_json_new_null(), err);
        rc = rc ? rc : wk_json_object_set(pj, "verified", wk_json_new_bool(ck->xm.verified), err);
        rc = rc ? rc : wk_json_object_set(pj, "candidates", wk_json_new_int((int64_t)ck->xm.n_groups), err);
        rc = rc ? rc : wk_json_object_set(pj, "full_passes", wk_json_new_int((int64_t)ck->xm.passes), err);
    }
    return rc;
}

/* Print the whole JSON report for a plan run. */
static int print_json(const xor_opts *o, const wk_xor_plan *p, const item_check *ck,
                      const char *manifest, const char *profile, int ok, wk_err *err)
{
    wk_json *root = wk_json_new_object(), *files = wk_json_new_array();
    int rc = wk_json_object_set(root, "command",
                                wk_json_new_string(o->cmd == CMD_ENCODE ? "encode" : "decode"), err);
    rc = rc ? rc : wk_json_object_set(root, "manifest", manifest ? wk_json_new_string(manifest) : wk_json_new_null(), err);
    rc = rc ? rc : wk_json_object_set(root, "ok", wk_json_new_bool(ok), err);
    if (o->base_meta) {
        rc = rc ? rc : wk_json_object_set(root, "base_meta", wk_json_new_string(o->base_meta), err);
        rc = rc ? rc : wk_json_object_set(root, "base_profile", profile ? wk_json_new_string(profile) : wk_json_new_null(), err);
    }
    rc = rc ? rc : wk_json_object_set(root, "files", files, err);
    for (size_t i = 0; rc == 0 && i < p->n; i++) rc = json_item(files, &p->items[i], ck ? &ck[i] : NULL, err);
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
static int report_plan(const xor_opts *o, const wk_xor_plan *p, const item_check *ck,
                       const char *manifest, const char *profile, int ok)
{
    int mismatch = 0, suspect = 0;
    for (size_t i = 0; i < p->n; i++) {
        const item_check *c = ck ? &ck[i] : NULL;
        if (c && c->ran && wk_xorcheck_suspect(&c->c)) suspect = 1;
        else if (c && c->meta) continue;  /* its own report (cmd_xor_meta) */
        else if (p->items[i].status && p->items[i].err.code == WK_E_MISMATCH &&
                 p->items[i].action != WK_XOR_DO_MISSING) mismatch = 1;
    }
    if (o->std.json) {
        wk_err e;
        if (print_json(o, p, ck, manifest, profile, ok, &e)) wk_cli_fail(o->std.prog, &e);
    } else {
        for (size_t i = 0; i < p->n; i++)
            if (!o->std.quiet || p->items[i].status ||
                (ck && ck[i].ran && wk_xorcheck_suspect(&ck[i].c)))
                print_item(o, &p->items[i], ck ? &ck[i] : NULL);
    }
    if (mismatch && !o->base_meta) print_mismatch_hint(o->std.prog);
    if (suspect)
        fprintf(stderr, "%s: warning: decoded tensors look like noise: the base is probably not "
                "the one the payload was made against (another model, size or conversion)%s\n",
                o->std.prog, o->strict ? "" : "; --strict makes this an error");
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
    item_check *ck = encode ? NULL : calloc(p.n ? p.n : 1, sizeof *ck);
    check_ctx cc = {o, &p, ck};
    wk_xor_run_opts ro = {o->kind, o->gzip, o->level, o->std.threads, o->keep_bad, o->pipeline,
                          wk_progress_cb, bar, ck ? check_done : NULL, &cc, o->engine,
                          ck ? check_tap : NULL};
    rc = wk_xor_run(&p, dst, &ro, &err);
    wk_progress_finish(bar);
    report_plan(o, &p, ck, m.n ? m.label : NULL, NULL, rc == 0);
    for (size_t i = 0; ck && i < p.n; i++) wk_xorcheck_stream_free(ck[i].stream); /* failed decodes */
    free(ck);
    wk_err werr;
    if (rc == 0 && encode && o->manifest_out && write_manifest_out(o, &p, &werr)) {
        rc = -1;
        err = werr;
    }
    wk_xor_plan_free(&p);
    wk_manifest_free(&m);
    return rc ? wk_cli_fail(o->std.prog, &err) : 0;
}

/* ---- decode --base-meta ------------------------------------------------- */

static int is_shard(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && !strcmp(name + n - 4, ".bin")) || (n > 12 && !strcmp(name + n - 12, ".safetensors"));
}

/* Everything a --base-meta worker needs. */
typedef struct {
    const xor_opts *o;
    wk_xormeta *xm;
    wk_xor_plan *p;
    item_check *ck;
    wk_progress_multi *mp;  /* all files (a file decoded again under another profile starts over) */
    check_ctx *cc;
    uint64_t prefer;
} meta_run;

/* Decode item i (a shard in phase 1, anything else in phase 2). */
static void meta_item(meta_run *r, size_t i)
{
    wk_xor_item *it = &r->p->items[i];
    item_check *ck = &r->ck[i];
    wk_progress_hook ph = wk_progress_multi_item(r->mp, i);
    if (it->action == WK_XOR_DO_COPY) {
        wk_xor_decode_args a = {it->src, NULL, it->out, WK_PAYLOAD_AUTO,
                                it->has_expect ? it->expect : NULL, r->o->keep_bad, 0,
                                ph.fn, ph.ctx, r->o->engine, NULL, NULL, NULL};
        it->status = wk_xor_decode_file(&a, &it->res, &it->err);
        return;
    }
    wk_xm_opts xo = {r->o->kind, r->o->pipeline, r->o->engine, r->o->check != 0, r->prefer,
                     ph.fn, ph.ctx};
    ck->meta = 1;
    it->status = wk_xormeta_decode(r->xm, it, &xo, &ck->xm, &it->err);
    if (it->status == 0 && ck->xm.checked) {  /* the selection already ran the check */
        ck->ran = 1;
        ck->c = ck->xm.check;
    } else if (it->status == 0) {
        it->status = check_done(r->cc, it, &it->err);
    }
}

/* Phase of a file: 1 weights (they pin the torch layout and inv_freq), 2
 * config.json (pins the version string), 3 the rest. */
static int meta_phase_of(const char *name)
{
    return is_shard(name) ? 1 : !strcmp(name, "config.json") ? 2 : 3;
}

/* Run the items of one phase, -j at once. */
static void meta_phase(meta_run *r, int phase)
{
    long n = (long)r->p->n;
    int nth = r->o->std.threads > 0 ? r->o->std.threads : wk_threads_ncores();
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth) if (nth > 1)
#endif
    for (long i = 0; i < n; i++) {
        wk_xor_item *it = &r->p->items[i];
        if (it->status != 0 || (it->action != WK_XOR_DO_XOR && it->action != WK_XOR_DO_COPY))
            continue;
        if (meta_phase_of(it->name) != phase) continue;
        meta_item(r, (size_t)i);
    }
    (void)nth;
}

/* Items: every payload file is XOR'd with the same-named generated file;
 * added_tokens.json is copied when no profile makes it. */
static void meta_plan_fix(wk_xor_plan *p, wk_xormeta *xm)
{
    for (size_t i = 0; i < p->n; i++) {
        wk_xor_item *it = &p->items[i];
        if (it->action != WK_XOR_DO_XOR) continue;
        free(it->base);
        it->base = NULL;
        int known = 0;
        for (size_t k = 0; k < wk_xormeta_profile_count(xm) && !known; k++)
            known = wk_convert_find_file(wk_xormeta_engine(xm, k), it->name) >= 0;
        if (!known && !strcmp(it->name, "added_tokens.json")) it->action = WK_XOR_DO_COPY;
    }
}

/* The profiles every decoded file agrees on, described into buf; NULL if none. */
static const char *meta_overall(const wk_xormeta *xm, const wk_xor_plan *p, const item_check *ck,
                                char *buf, size_t cap)
{
    uint64_t all = ~0ull;
    int any = 0;
    for (size_t i = 0; i < p->n; i++)
        if (ck[i].meta && ck[i].xm.chosen >= 0) {
            all &= ck[i].xm.matched;
            any = 1;
        }
    if (!any || !all) return NULL;
    return wk_xormeta_describe(xm, all, buf, cap);
}

static int cmd_xor_meta(const xor_opts *o)
{
    wk_err err;
    wk_err_clear(&err);
    wk_xor_plan p;
    wk_manifest m;
    wk_manifest_init(&m);
    const char *dst = o->pos[0], *src = o->pos[1];
    if (wk_xor_plan_make(&p, dst, src, src, 0, &err)) return wk_cli_fail(o->std.prog, &err);
    size_t nn;
    int safetensors = 0;
    char **names = plan_names(&p, &nn);
    for (size_t i = 0; names && i < nn; i++)
        if (is_shard(names[i]) && strstr(names[i], ".safetensors")) safetensors = 1;
    int rc = names ? pick_manifest(o, names, nn, &m, &err) : wk_err_set(&err, WK_E_NOMEM, "out of memory");
    free(names);
    if (rc == 0 && m.n) rc = wk_xor_plan_expect(&p, &m, &err);
    wk_xormeta *xm = rc ? NULL : wk_xormeta_open(o->base_meta, o->tokenizer, safetensors,
                                                 o->std.threads, &err);
    item_check *ck = xm ? calloc(p.n ? p.n : 1, sizeof *ck) : NULL;
    uint64_t total = 0;
    for (size_t i = 0; i < p.n; i++) total += p.items[i].src_bytes;
    wk_progress *bar = ck ? wk_progress_new("decode", total, wk_cli_want_progress(&o->std)) : NULL;
    wk_progress_multi *mp = ck ? wk_progress_multi_new(wk_progress_cb, bar, p.n, total) : NULL;
    if (xm && !mp) rc = wk_err_set(&err, WK_E_NOMEM, "out of memory");
    if (!xm || rc) {
        wk_progress_multi_free(mp);
        wk_progress_finish(bar);
        wk_xormeta_close(xm);
        free(ck);
        wk_xor_plan_free(&p);
        wk_manifest_free(&m);
        return wk_cli_fail(o->std.prog, &err);
    }
    meta_plan_fix(&p, xm);
    if (!o->std.quiet && !o->std.json)
        fprintf(stderr, "%s: base: %s, produced on the fly under %zu converter profiles; %s\n",
                o->std.prog, o->base_meta, wk_xormeta_profile_count(xm),
                m.n ? "verifying against the manifest" : "no manifest: profiles are chosen by "
                "structure and the outputs are NOT verified");
    check_ctx cc = {o, &p, ck};
    meta_run r = {o, xm, &p, ck, mp, &cc, 0};
    if ((rc = wk_xor_make_dirs(dst, &err)) == 0) {
        meta_phase(&r, 1);
        /* the weights pin torch layout and inv_freq; prefer those for the rest */
        size_t shards = 0, matched = 0;
        uint64_t pref = ~0ull;
        for (size_t i = 0; i < p.n; i++) {
            if (!ck[i].meta) continue;
            shards++;
            if (ck[i].xm.chosen >= 0) {
                matched++;
                pref &= ck[i].xm.matched;
            }
        }
        r.prefer = matched ? pref : 0;
        if (shards && !matched) {  /* wrong base model: decode nothing else */
            for (size_t i = 0; i < p.n; i++) {
                wk_xor_item *it = &p.items[i];
                if (it->status || ck[i].meta || (it->action != WK_XOR_DO_XOR && it->action != WK_XOR_DO_COPY))
                    continue;
                it->status = -1;
                wk_err_set(&it->err, WK_E_MISMATCH, "%s: not decoded: the weights matched no "
                           "converter profile of this base", it->name);
            }
        } else {
            for (int ph = 2; ph <= 3; ph++) {
                uint64_t all = ~0ull;
                for (size_t i = 0; i < p.n; i++)
                    if (ck[i].meta && ck[i].xm.chosen >= 0) all &= ck[i].xm.matched;
                r.prefer = all;  /* profiles consistent with every file so far */
                meta_phase(&r, ph);
            }
        }
    }
    wk_progress_multi_free(mp);
    wk_progress_finish(bar);
    size_t bad = 0, nomatch = 0;
    for (size_t i = 0; i < p.n; i++) {
        bad += p.items[i].status != 0;
        nomatch += ck[i].meta && ck[i].xm.chosen < 0 && ck[i].xm.n_groups > 0 && p.items[i].status;
    }
    char pbuf[200];
    const char *overall = meta_overall(xm, &p, ck, pbuf, sizeof pbuf);
    uint64_t all = ~0ull;
    for (size_t i = 0; i < p.n; i++)
        if (ck[i].meta && ck[i].xm.chosen >= 0) all &= ck[i].xm.matched;
    for (size_t i = 0; i < p.n; i++)  /* per file: its profiles, narrowed to the overall ones */
        if (ck[i].meta && ck[i].xm.chosen >= 0)
            wk_xormeta_describe(xm, (ck[i].xm.matched & all) ? ck[i].xm.matched & all
                                                               : ck[i].xm.matched,
                                ck[i].profile, sizeof ck[i].profile);
    report_plan(o, &p, ck, m.n ? m.label : NULL, overall, rc == 0 && bad == 0);
    if (!o->std.json && !o->std.quiet && overall)
        printf("base profile: %s%s\n", overall, m.n && !bad ? " (verified)" : m.n ? "" : " (unverified)");
    if (nomatch)
        fprintf(stderr,
                "%s: %zu file%s matched no converter profile.  The payload was probably made\n"
                "  against another base: a different model size, a base not converted from Meta's\n"
                "  original weights (an already fine-tuned or re-saved model), other shard sizes\n"
                "  (--max-shard-size), or a converter profile weightkit does not reproduce yet.\n"
                "  The per-profile results are in the errors above (size, structure score, outcome).\n",
                o->std.prog, nomatch, nomatch == 1 ? "" : "s");
    if (rc == 0 && bad)
        rc = wk_err_set(&err, nomatch ? WK_E_MISMATCH : p.items[0].err.code, "%zu of %zu files failed", bad, p.n);
    if (rc && err.code == WK_OK) err.code = WK_E_MISMATCH;
    for (size_t i = 0; rc && nomatch == 0 && i < p.n; i++)
        if (p.items[i].status) { err.code = p.items[i].err.code; break; }
    free(ck);
    wk_xormeta_close(xm);
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
        if (!wk_buf_failed(&b)) fwrite(b.data, 1, b.len, stdout);
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
    default: rc = o.base_meta ? cmd_xor_meta(&o) : cmd_xor(&o); break;
    }
    free(o.files);
    return rc;
}
