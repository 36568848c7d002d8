/* wk_xor_print.c — wk-xor's output: --help, the text lines of a decode/encode run,
 * its JSON report on stdout, the --base-meta summary (tool layer: prints). */
#include "wk_xor_print.h"

#include <stdio.h>
#include <string.h>

#include "wk_hash.h"

typedef wk_xorrun_check item_check;

/* Start a status line with name as sha256sum -c does (escaped when it holds
 * a newline or CR: no name can forge a line; wk_manifest_format_status_name). */
static void put_name(const char *name)
{
    wk_buf b;
    wk_buf_init(&b);
    wk_manifest_format_status_name(&b, name);
    if (!wk_buf_failed(&b)) fwrite(b.data, 1, b.len, stdout);
    wk_buf_free(&b);
}

/* "<prog>: error: <msg>" on stderr, newlines and CRs in msg (file names from
 * a payload directory or a manifest) shown as \n and \r: one line each. */
static void put_error(const char *prog, const char *msg)
{
    fprintf(stderr, "%s: error: ", prog);
    for (const char *s = msg; *s; s++) {
        if (*s == '\n') fputs("\\n", stderr);
        else if (*s == '\r') fputs("\\r", stderr);
        else fputc(*s, stderr);
    }
    fputc('\n', stderr);
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
        fputs("    ", stdout);
        put_name(c->listed[k].name);  /* tensor names come from the decoded file */
        printf(": %s (nan %llu, inf %llu, min %.4g, max %.4g, mean %.4g, std %.4g)\n",
               wk_stats_flags_str(st->flags, fl, sizeof fl),
               (unsigned long long)st->n_nan, (unsigned long long)st->n_inf, st->min, st->max,
               st->mean, st->std);
    }
    if (c->flagged > c->n_listed)
        printf("    ... and %llu more\n", (unsigned long long)(c->flagged - c->n_listed));
}

/* The text lines of one item (errors on stderr). */
static void print_item(const wk_cli_std_opts *std, const wk_xorrun_opts *o, const wk_xor_item *it,
                       const item_check *ck)
{
    const char *st = wk_xorrun_item_status(it, ck);
    if (o->encode && it->status == 0 && it->action != WK_XOR_DO_SKIP) {
        wk_buf b;  /* a sha256sum line: the name escaped as sha256sum does */
        wk_buf_init(&b);
        wk_manifest_format_line(&b, it->res.sha256, it->name);
        if (!wk_buf_failed(&b)) fwrite(b.data, 1, b.len, stdout);
        wk_buf_free(&b);
        return;
    }
    put_name(it->name);
    if (it->status != 0) {
        printf(": FAILED\n");
        put_error(std->prog, it->err.msg);
    } else if (!strcmp(st, "skipped")) {
        printf(": skipped (not a payload: documentation or directory)\n");
    } else if (it->action == WK_XOR_DO_COPY) {
        printf(": %s (no base file: taken as is, as xor_codec.py does)\n",
               it->res.verified == 1 ? "OK" : "copied, not verified");
    } else {
        printf(": %s\n", it->res.verified == 1 ? "OK" : "decoded, not verified (no manifest entry)");
    }
    if (ck && ck->meta && ck->xm.chosen >= 0)
    {
        char al[64] = "";
        if (ck->xm.alongside)
            snprintf(al, sizeof al, "; %zu other candidate%s hashed in the same pass",
                     ck->xm.alongside, ck->xm.alongside == 1 ? "" : "s");
        printf("  base: %s, %s (%zu full pass%s%s)\n", ck->profile,
               ck->xm.verified ? "verified by hash" : "chosen by structure, unverified",
               ck->xm.passes, ck->xm.passes == 1 ? "" : "es", al);
    }
    if (ck && ck->ran) print_check(ck);
    if (ck && ck->not_run)
        printf("  tensor check: NOT RUN (%s)%s\n", ck->why_not,
               it->status ? "" : "; the file is unchecked");
    if (ck && ck->json_bad)
        printf("  JSON check: SUSPECT, does not parse as JSON: %s\n"
               "  (typical of a decode against the wrong base)\n", ck->json_why);
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

/* Dump the run's JSON report on stdout. */
static int print_json(const wk_xorrun *r, int ok, wk_err *err)
{
    wk_json *root = wk_xorrun_json(r, ok, err);
    if (!root) return -1;
    wk_buf b;
    wk_buf_init(&b);
    wk_json_dump_opts jo = wk_json_opts_python();
    jo.indent = 2;
    int rc = wk_json_dump(root, &jo, &b, err);
    if (rc == 0) printf("%.*s\n", (int)b.len, (const char *)b.data);
    wk_buf_free(&b);
    wk_json_free(root);
    return rc;
}

int xor_print_report(const wk_xorrun *r, const wk_cli_std_opts *std, int ok)
{
    const wk_xorrun_opts *o = r->o;
    const wk_xor_plan *p = &r->p;
    const item_check *ck = r->ck;
    int mismatch = 0, suspect = 0, unchecked = 0;
    for (size_t i = 0; i < p->n; i++) {
        const item_check *c = ck ? &ck[i] : NULL;
        if (c && c->not_run && !p->items[i].status) unchecked = 1;
        if (c && ((c->ran && wk_xorcheck_suspect(&c->c)) || c->json_bad)) suspect = 1;
        else if (c && c->meta) continue;  /* its own report (cmd_xor_meta) */
        else if (p->items[i].status && p->items[i].err.code == WK_E_MISMATCH &&
                 p->items[i].action != WK_XOR_DO_MISSING) mismatch = 1;
    }
    if (std->json) {
        wk_err e;
        if (print_json(r, ok, &e)) wk_cli_fail(std->prog, &e);
    } else {
        for (size_t i = 0; i < p->n; i++)
            if (!std->quiet || p->items[i].status ||
                (ck && ((ck[i].ran && wk_xorcheck_suspect(&ck[i].c)) || ck[i].json_bad ||
                        ck[i].not_run)))
                print_item(std, o, &p->items[i], ck ? &ck[i] : NULL);
    }
    if (mismatch && !o->base_meta) print_mismatch_hint(std->prog);
    if (suspect)
        fprintf(stderr, "%s: warning: decoded files look like noise (tensors flagged, or JSON "
                "that does not parse): the base is probably not the one the payload was made "
                "against (another model, size or conversion)%s\n",
                std->prog, o->strict ? "" : "; --strict makes this an error");
    if (unchecked)
        fprintf(stderr, "%s: warning: the tensor check could not run on some files (see above); "
                "they were written unchecked (--strict refuses such files)\n", std->prog);
    return mismatch;
}

void xor_print_meta(const wk_xorrun *r, const wk_cli_std_opts *std)
{
    const char *overall = r->overall;
    const size_t bad = r->bad, nomatch = r->nomatch;
    if (!std->json && !std->quiet && overall)
        printf("base profile: %s%s\n", overall, r->m.n && !bad ? " (verified)" : r->m.n ? "" : " (unverified)");
    if (nomatch)
        fprintf(stderr,
                "%s: %zu file%s matched no converter profile.  The payload was probably made\n"
                "  against another base: a different model size, a base not converted from Meta's\n"
                "  original weights (an already fine-tuned or re-saved model), other shard sizes\n"
                "  (--max-shard-size), or a converter profile weightkit does not reproduce yet.\n"
                "  The per-profile results are in the errors above (size, structure score, outcome).\n",
                std->prog, nomatch, nomatch == 1 ? "" : "s");
}

void xor_print_notes(const wk_xorrun *r, const wk_cli_std_opts *std)
{
    const wk_xorrun_opts *o = r->o;
    if (std->quiet || std->json || o->encode) return;
    if (o->base_meta && o->base_profile)
        fprintf(stderr, "%s: base: %s, produced on the fly under the converter profile '%s' "
                "(--base-profile); %s\n", std->prog, o->base_meta, o->base_profile,
                r->m.n ? "verifying against the manifest" : "no manifest: the outputs are NOT "
                "verified");
    else if (o->base_meta)
        fprintf(stderr, "%s: base: %s, produced on the fly under %zu converter profiles; %s\n",
                std->prog, o->base_meta, wk_xormeta_profile_count(r->xm),
                r->m.n ? "verifying against the manifest" : "no manifest: profiles are chosen by "
                "structure and the outputs are NOT verified");
    else if (!r->m.n)
        fprintf(stderr, "%s: note: no manifest %s; outputs are not verified (use --manifest)\n",
                std->prog, o->no_manifest ? "used" : "in checksums/ matches these file names");
    else
        fprintf(stderr, "%s: verifying against %s\n", std->prog, r->m.label);
}

void xor_print_base_bad(const char *prog, const char *base_dir, const char *base_manifest,
                        const wk_manifest *m, const wk_check_result *res)
{
    for (size_t i = 0; i < m->n; i++) {
        char msg[WK_ERR_MSG_MAX + 16];   /* room for "base: " + a whole message */
        if (res[i].status == WK_CHECK_FAILED)
            snprintf(msg, sizeof msg, "base %s/%s does not match %s", base_dir,
                     m->entries[i].name, base_manifest);
        else if (res[i].status != WK_CHECK_OK)
            snprintf(msg, sizeof msg, "base: %s", res[i].err.msg);
        if (res[i].status != WK_CHECK_OK) put_error(prog, msg);
    }
}

void xor_print_verify(const wk_manifest *m, const wk_check_result *res, const wk_cli_std_opts *std)
{
    size_t failed = 0, unread = 0;
    for (size_t i = 0; i < m->n; i++) {
        int ok = res[i].status == WK_CHECK_OK;
        failed += res[i].status == WK_CHECK_FAILED;
        unread += res[i].status == WK_CHECK_MISSING || res[i].status == WK_CHECK_ERROR;
        if (!ok && res[i].status != WK_CHECK_FAILED) put_error(std->prog, res[i].err.msg);
        if (std->quiet && ok) continue;
        put_name(m->entries[i].name);
        printf(": %s\n", ok ? "OK" : res[i].status == WK_CHECK_FAILED ? "FAILED"
                                                                     : "FAILED open or read");
    }
    if (unread)
        fprintf(stderr, "%s: WARNING: %zu listed file%s could not be read\n", std->prog, unread,
                unread == 1 ? "" : "s");
    if (failed)
        fprintf(stderr, "%s: WARNING: %zu computed checksum%s did NOT match\n", std->prog,
                failed, failed == 1 ? "" : "s");
}

int xor_print_hashes(char *const *files, int n, const wk_xorrun_digest *d, const char *prog)
{
    int bad = 0;
    wk_buf b;
    wk_buf_init(&b);
    for (int i = 0; i < n; i++) {
        if (d[i].status) {
            put_error(prog, d[i].err.msg);
            bad = 1;
            continue;
        }
        b.len = 0;
        wk_manifest_format_line(&b, d[i].digest, files[i]);
        if (!wk_buf_failed(&b)) fwrite(b.data, 1, b.len, stdout);
    }
    wk_buf_free(&b);
    return bad;
}

void xor_print_usage(void)
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
"  --base-profile NAME   with --base-meta: use only this converter profile, named\n"
"                        exactly as the report prints it (e.g. 'transformers\n"
"                        4.31.0, torch-2.1'); an unknown name is refused with the\n"
"                        list of valid ones.  Skips the detection: one pass per file\n"
"  --tokenizer PATH      with --base-meta: tokenizer.model (default: DIR or its parent)\n"
"  --keep-bad            keep outputs whose hash does not match\n"
"  --max-output SIZE     refuse a payload that decodes to more than SIZE bytes\n"
"                        (5GB, 500MiB, bytes; default: 2 x its base file + 64 MiB;\n"
"                        'none': no limit); the output is removed, exit 1\n"
"  --raw | --gzip        payload kind (default: gzip if it starts with 1f 8b)\n"
"  --inflate ENGINE      auto (default: isal when built in, else zlib), zlib or\n"
"                        isal (ISA-L, about 2x faster inflate)\n"
"  --no-pipeline         inflate, XOR, hash and write on one thread per file\n"
"                        (diagnostics)\n"
"  --check | --no-check  tensor check of decoded .bin/.safetensors files: open\n"
"                        them and flag tensors that look like noise (NaN/Inf,\n"
"                        |x| > 1e4, std > 100: the sign of a wrong base), and\n"
"                        check that decoded *.json files parse.  Default:\n"
"                        files with no expected digest; --check: every file\n"
"  --strict              a file whose check flags a tensor (or that does not\n"
"                        open as a checkpoint, or a *.json that does not parse)\n"
"                        fails and is not written: an earlier file of that\n"
"                        name stays (exit 3; written with --keep-bad)\n"
"encode options:\n"
"  --raw                 uncompressed payloads (default: gzip)\n"
"  --level N             gzip level 1..9 (default 6)\n"
"  --manifest-out FILE   also write the targets' hashes to FILE\n"
"verify: hash DIR/<name> for every manifest entry, as sha256sum -c does.\n"
"hash:   print sha256sum lines for FILEs ('-' or none: standard input).\n"
"\n"
"common options:\n"
"  -j, --threads N       decode/verify/hash: files at once; encode: compression\n"
"                        threads (default: all cores; decode: cores + 1 files,\n"
"                        each inflating on one thread and hashing on another)\n"
"  -q, --quiet           print errors only\n"
"  --json                print a JSON report on stdout instead of text\n"
"  --progress, --no-progress\n"
"  -h, --help            show this help\n"
"  -V, --version         show version\n"
"\n"
"  --list-manifests      show where default manifests are searched, and exit\n"
"\n"
"Default manifests are searched in $WK_CHECKSUMS_DIR and in the shipped\n"
"checksums/: the source tree's when run from a build tree, else\n"
"<exe dir>/../share/weightkit/checksums, else <prefix>/share/weightkit/checksums\n"
"(see --list-manifests).  Exit status: 0 ok, 1 error, 2 usage, 3 hash mismatch.\n");
}
