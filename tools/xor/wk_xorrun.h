/* wk_xorrun.h — the commands of wk-xor as runs of the xor engine: decode and
 * encode of a payload directory (with manifest discovery, --base-manifest,
 * the post-decode tensor check), decode against a base produced on the fly
 * from Meta's checkpoint (--base-meta), verify and hash; and the JSON report
 * of a decode/encode.
 *
 *   wk_xorrun r;
 *   if (wk_xorrun_open(&r, &opts, err)) ...;      // plan, manifest, base check
 *   (report r.m / notes; make a progress bar for r.total bytes)
 *   int rc = wk_xorrun_exec(&r, progress_cb, bar, err);
 *   (report every r.p.items[i] with r.ck[i], ok = rc == 0)
 *   wk_xorrun_close(&r);
 *
 * Nothing here prints; the caller reports from the structs (see
 * wk_xorrun_item_status for the outcome word of an item). */
#ifndef WK_XORRUN_H
#define WK_XORRUN_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_json.h"
#include "wk_manifest.h"
#include "wk_progress.h"
#include "wk_xor.h"
#include "wk_xorcheck.h"
#include "wk_xormeta.h"

typedef struct {
    int encode;               /* 1 encode, 0 decode */
    const char *dst, *src;    /* DST, PAYLOAD_DIR / FINETUNED_DIR */
    const char *base;         /* BASE_DIR; NULL with base_meta */
    const char *manifest;     /* --manifest, or NULL: discover one (see wk_xorrun_pick_manifest) */
    const char *const *manifest_dirs; /* where to discover it (NULL entries skipped; the */
    size_t n_manifest_dirs;           /* tool decides the layout: tools/wk_xor_dirs.c) */
    int no_manifest;          /* --no-manifest */
    const char *base_manifest;
    const char *manifest_out; /* encode --manifest-out */
    int keep_bad;
    int gzip;                 /* encode: 1 gzip, 0 raw */
    wk_payload_kind kind;     /* decode: payload kind */
    int level;
    int pipeline;
    wk_inflate_engine engine;
    int check;                /* tensor check: 0 none, 1 files without an expected digest, 2 all */
    int strict;               /* a suspect file fails and is removed */
    const char *base_meta;    /* decode --base-meta LLAMA_DIR */
    const char *tokenizer;    /* --tokenizer (with --base-meta) */
    const char *base_profile; /* --base-profile NAME (with --base-meta): the only candidate */
    int threads;
    uint64_t max_output;      /* decode --max-output: per-file cap (0 = default, see wk_xor.h) */
    /* --base-manifest found bad base files: called once before failing, with
     * the manifest and each entry's result (may be NULL). */
    void (*base_bad)(void *ctx, const wk_manifest *m, const wk_check_result *res);
    void *ctx;
} wk_xorrun_opts;

/* One plan item's check outcome. */
typedef struct {
    int ran;             /* the check ran on this item */
    int strict_failed;   /* --strict turned a suspect result into a failure */
    wk_xorcheck c;
    int meta;            /* --base-meta: xm below is filled */
    wk_xm_file xm;
    char profile[200];   /* the matched profile(s), described */
    wk_xorcheck_stream *stream; /* fed while the file is decoded; NULL = re-read it */
    int not_run;         /* the tensor check could not run (why_not): unchecked */
    char why_not[WK_ERR_MSG_MAX];
    int json_ran;        /* a *.json output without a digest was parsed */
    int json_bad;        /* ... and does not parse (json_why): suspect */
    char json_why[WK_ERR_MSG_MAX];
} wk_xorrun_check;

typedef struct {
    const wk_xorrun_opts *o;
    wk_xor_plan p;
    wk_manifest m;            /* empty when there is none */
    wk_xorrun_check *ck;      /* p.n entries; NULL for encode */
    wk_xormeta *xm;           /* --base-meta */
    uint64_t total;           /* bytes of the sources (progress total) */
    /* --base-meta, after wk_xorrun_exec: */
    size_t bad;               /* items that failed */
    size_t nomatch;           /* weights that matched no converter profile */
    const char *overall;      /* the profiles every decoded file agrees on, or NULL */
    char overall_buf[200];
} wk_xorrun;

/* Plan o->dst from o->src (and o->base), load or discover the manifest and
 * set the expected digests, check the base against o->base_manifest, open
 * the --base-meta checkpoint.  *r is usable for wk_xorrun_close either way. */
int wk_xorrun_open(wk_xorrun *r, const wk_xorrun_opts *o, wk_err *err);

/* Run the plan (progress: bytes of the sources, may be NULL).  0 when every
 * item succeeded; each item's outcome is in r->p.items[i] and r->ck[i]. */
int wk_xorrun_exec(wk_xorrun *r, wk_progress_fn progress, void *progress_ctx, wk_err *err);

/* Encode: write the committed targets' hashes to o->manifest_out. */
int wk_xorrun_write_manifest(const wk_xorrun *r, wk_err *err);

void wk_xorrun_close(wk_xorrun *r);

/* Outcome word of an item ("ok", "skipped", "mismatch", ...); ck may be NULL. */
const char *wk_xorrun_item_status(const wk_xor_item *it, const wk_xorrun_check *ck);

/* The JSON report of a run: command, manifest, ok, base profile, files. */
wk_json *wk_xorrun_json(const wk_xorrun *r, int ok, wk_err *err);

/* Load o->manifest, or discover one for names in o->manifest_dirs (the best
 * fit of every *.sha256 there); *m stays empty when there is none.  -1 on a load
 * error or an ambiguous discovery. */
int wk_xorrun_pick_manifest(const wk_xorrun_opts *o, char *const *names, size_t n, wk_manifest *m,
                            wk_err *err);

/* verify: the manifest for dir (o->manifest, or discovered from dir's files),
 * every name checked safe, and *res with m->n slots.  WK_E_USAGE when there
 * is no manifest or it lists nothing. */
int wk_xorrun_verify_open(const wk_xorrun_opts *o, const char *dir, wk_manifest *m,
                          wk_check_result **res, wk_err *err);

/* hash: SHA-256 of each file ("-": standard input, hashed first on this
 * thread), up to `threads` files at once (<= 0: all cores). */
typedef struct {
    int status;                       /* 0 ok, -1 err set */
    uint8_t digest[WK_MANIFEST_DIGEST];
    wk_err err;
} wk_xorrun_digest;
void wk_xorrun_hash(char *const *files, int n, int threads, wk_xorrun_digest *out);

#endif
