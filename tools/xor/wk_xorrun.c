/* wk_xorrun.c — the commands of wk-xor as runs of the xor engine (see
 * wk_xorrun.h): plan and manifest, decode/encode with the tensor check,
 * --base-meta decoding in phases, the JSON report, verify and hash. */
#include "wk_xorrun.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wk_hash.h"
#include "wk_io.h"
#include "wk_threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif

typedef wk_xorrun_check item_check;

/* ---- manifests ---------------------------------------------------------- */

/* The default manifest for this set of names among o->manifest_dirs, or
 * NULL (*err set on error). */
static char *default_manifest(const wk_xorrun_opts *o, char *const *names, size_t n, wk_err *err)
{
    char *path = NULL;
    wk_err_clear(err);
    wk_xor_find_manifest(o->manifest_dirs, o->n_manifest_dirs, names, n, &path, err);
    return path;
}

int wk_xorrun_pick_manifest(const wk_xorrun_opts *o, char *const *names, size_t n, wk_manifest *m,
                            wk_err *err)
{
    wk_manifest_init(m);
    if (o->manifest) return wk_manifest_load(m, o->manifest, err);
    if (o->no_manifest) return 0;
    char *path = default_manifest(o, names, n, err);
    if (!path) return err->code == WK_OK ? 0 : -1;
    int rc = wk_manifest_load(m, path, err);
    free(path);
    return rc;
}

/* ---- post-decode tensor check ------------------------------------------ */

typedef struct {
    const wk_xorrun_opts *o;
    const wk_xor_plan *p;
    item_check *res;     /* p->n entries */
} check_ctx;

/* 1 if the decoded item gets the tensor check (see --check). */
static int check_wanted(const wk_xorrun_opts *o, const wk_xor_item *it)
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

/* 1 if the decoded item is a JSON file that gets the parse check: *.json
 * with no expected digest (a digest judges the file better), unless
 * --no-check. */
static int json_wanted(const wk_xorrun_opts *o, const wk_xor_item *it)
{
    size_t n = strlen(it->name);
    return o->check && !it->has_expect && n > 5 && !strcmp(it->name + n - 5, ".json");
}

/* Replace the first occurrence of the temporary's path in msg by the final
 * path (readers name the file they opened: the user knows the final name). */
static void name_final(char *msg, size_t cap, const char *tmp, const char *out)
{
    char *at = strstr(msg, tmp);
    if (!at) return;
    char rest[WK_ERR_MSG_MAX];
    snprintf(rest, sizeof rest, "%s", at + strlen(tmp));
    snprintf(at, cap - (size_t)(at - msg), "%s%s", out, rest);
}

/* What --strict does with a file that failed its check: not committed
 * (committed anyway with --keep-bad); the phrase for the message. */
static const char *strict_fate(const wk_xorrun_opts *o, int *keep)
{
    *keep = o->keep_bad;
    return o->keep_bad ? "kept because of --keep-bad"
                       : "not written (an earlier file of that name is left as it was)";
}

/* A decoded JSON file (see json_wanted) must parse: otherwise it is
 * suspect (a decode against the wrong base), an error under --strict. */
static int check_json(check_ctx *c, wk_xor_item *it, item_check *r, const char *tmp, int *keep,
                      wk_err *err)
{
    wk_map mp;
    WK_TRY(wk_map_open(&mp, tmp, err));
    wk_err e;
    wk_json_read_opts ro = wk_json_read_defaults();
    ro.allow_nan = 1;  /* Python's json writes NaN (trainer_state.json) */
    wk_json *j = wk_json_parse(mp.data, mp.size, &ro, &e);
    wk_map_close(&mp);
    r->json_ran = 1;
    if (j) {
        wk_json_free(j);
        return 0;
    }
    if (e.code == WK_E_NOMEM) return (*err = e, -1);
    r->json_bad = 1;
    snprintf(r->json_why, sizeof r->json_why, "%s", e.msg);
    name_final(r->json_why, sizeof r->json_why, tmp, it->out);
    if (!c->o->strict) return 0;
    r->strict_failed = 1;
    return wk_err_set(err, WK_E_MISMATCH, "%s: the decoded bytes do not parse as JSON (%s); "
                      "--strict: %s", it->out, r->json_why, strict_fate(c->o, keep));
}

/* The tensor check could not run (out of memory, an I/O error): reported
 * as such.  Without --strict the file is committed, unchecked; with
 * --strict it is not (nothing vouches for it). */
static int check_not_run(check_ctx *c, wk_xor_item *it, item_check *r, const char *tmp,
                         const wk_err *e, int *keep, wk_err *err)
{
    r->not_run = 1;
    snprintf(r->why_not, sizeof r->why_not, "%s", e->msg);
    name_final(r->why_not, sizeof r->why_not, tmp, it->out);
    if (!c->o->strict) return 0;
    return wk_err_set(err, e->code, "%s: the tensor check could not run (%s); --strict: %s "
                      "(give the check more memory, e.g. a higher ulimit -v, or decode without "
                      "--strict)", it->out, r->why_not, strict_fate(c->o, keep));
}

/* The wk_xor_run done hook, run on the complete temporary tmp before it
 * replaces it->out: the tensor check or the JSON parse check when asked (see
 * --check); under --strict a suspect file fails and is not committed (unless
 * --keep-bad), so it never costs the file that was there before.  Runs on
 * worker threads, each on its own item. */
static int check_done(void *ctx, wk_xor_item *it, const char *tmp, int *keep, wk_err *err)
{
    check_ctx *c = ctx;
    item_check *r = &c->res[it - c->p->items];
    if (json_wanted(c->o, it)) return check_json(c, it, r, tmp, keep, err);
    if (!check_wanted(c->o, it)) return 0;
    wk_err ce;
    wk_err_clear(&ce);
    int rc = wk_xorcheck_file_stream(tmp, r->stream, &r->c, &ce);
    wk_xorcheck_stream_free(r->stream);
    r->stream = NULL;
    if (rc) return check_not_run(c, it, r, tmp, &ce, keep, err);
    r->ran = 1;
    name_final(r->c.why, sizeof r->c.why, tmp, it->out);
    if (!c->o->strict || !wk_xorcheck_suspect(&r->c)) return 0;
    r->strict_failed = 1;
    if (r->c.unreadable)
        return wk_err_set(err, WK_E_MISMATCH, "%s does not open as a checkpoint (%s); --strict: %s",
                          it->out, r->c.why, strict_fate(c->o, keep));
    return wk_err_set(err, WK_E_MISMATCH, "%s: %llu of %llu tensors look like noise (NaN/Inf or "
                      "absurd magnitudes); --strict: %s", it->out,
                      (unsigned long long)r->c.flagged, (unsigned long long)r->c.tensors,
                      strict_fate(c->o, keep));
}

/* ---- decode / encode ---------------------------------------------------- */

/* Check the base directory against --base-manifest (before decoding); the
 * base_bad hook hears of the entries that failed. */
static int check_base(const wk_xorrun_opts *o, const char *base_dir, wk_err *err)
{
    int rc = -1;
    wk_manifest m;
    wk_manifest_init(&m);
    wk_check_result *res = NULL;
    WK_TRY_GOTO(wk_manifest_load(&m, o->base_manifest, err), done);
    res = calloc(m.n ? m.n : 1, sizeof *res);
    WK_FAIL_GOTO(!res, done, err, WK_E_NOMEM, "out of memory");
    if (wk_manifest_check_dir(&m, base_dir, o->threads, NULL, NULL, res, err)) {
        if (o->base_bad) o->base_bad(o->ctx, &m, res);
        wk_err_prefix(err, "base check failed, nothing decoded");
        goto done;
    }
    rc = 0;
done:
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

int wk_xorrun_write_manifest(const wk_xorrun *r, wk_err *err)
{
    const wk_xorrun_opts *o = r->o;
    const wk_xor_plan *p = &r->p;
    wk_manifest m;
    wk_manifest_init(&m);
    int rc = -1;
    for (size_t i = 0; i < p->n; i++) {
        const wk_xor_item *it = &p->items[i];
        if (it->status == 0 && it->res.committed)
            WK_TRY_GOTO(wk_manifest_add(&m, it->name, it->res.sha256, err), done);
    }
    WK_TRY_GOTO(wk_manifest_write(&m, o->manifest_out, err), done);
    rc = 0;
done:
    wk_manifest_free(&m);
    return rc;
}

/* Decode (not --base-meta): the manifest for the plan's names, expected
 * digests, the --base-manifest check. */
static int open_decode(wk_xorrun *r, wk_err *err)
{
    const wk_xorrun_opts *o = r->o;
    size_t nn;
    char **names = plan_names(&r->p, &nn);
    int rc = names ? wk_xorrun_pick_manifest(o, names, nn, &r->m, err)
                   : wk_err_set(err, WK_E_NOMEM, "out of memory");
    free(names);
    WK_TRY(rc);
    if (r->m.n) WK_TRY(wk_xor_plan_expect(&r->p, &r->m, err));
    if (o->base_manifest) WK_TRY(check_base(o, o->base, err));
    return 0;
}

static int is_shard(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && !strcmp(name + n - 4, ".bin")) || (n > 12 && !strcmp(name + n - 12, ".safetensors"));
}

static void meta_plan_fix(wk_xor_plan *p, wk_xormeta *xm);

/* Decode --base-meta: the manifest, expected digests, the Meta checkpoint
 * (safetensors when the payload's shards are), the items fixed for it. */
static int open_meta(wk_xorrun *r, wk_err *err)
{
    const wk_xorrun_opts *o = r->o;
    size_t nn;
    int safetensors = 0;
    char **names = plan_names(&r->p, &nn);
    for (size_t i = 0; names && i < nn; i++)
        if (is_shard(names[i]) && strstr(names[i], ".safetensors")) safetensors = 1;
    int rc = names ? wk_xorrun_pick_manifest(o, names, nn, &r->m, err)
                   : wk_err_set(err, WK_E_NOMEM, "out of memory");
    free(names);
    WK_TRY(rc);
    if (r->m.n) WK_TRY(wk_xor_plan_expect(&r->p, &r->m, err));
    r->xm = wk_xormeta_open_profile(o->base_meta, o->tokenizer, safetensors, o->threads,
                                    o->base_profile, err);
    if (!r->xm) return -1;
    meta_plan_fix(&r->p, r->xm);
    return 0;
}

/* Decode: a payload file without a base file of its name stops the run
 * before anything is decoded, naming the first such file, the option of
 * wk-convert that makes it, and how many others lack one. */
static int check_bases(const wk_xor_plan *p, const wk_xorrun_opts *o, wk_err *err)
{
    const wk_xor_item *first = NULL;
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].base_missing && n++ == 0) first = &p->items[i];
    if (!first) return 0;
    char more[64] = "";
    if (n > 1) snprintf(more, sizeof more, " (and %zu more payload files without one)", n - 1);
    wk_buf nb;   /* the name as sha256sum -c shows it: a newline cannot forge a line */
    wk_buf_init(&nb);
    wk_manifest_format_status_name(&nb, first->name);
    wk_buf_putc(&nb, 0);
    const char *name = wk_buf_failed(&nb) ? "?" : (const char *)nb.data;
    if (o->base_meta)
        wk_err_set(err, WK_E_IO, "--base-meta %s: no converter profile produces %s, which the "
                   "payload has%s: %s; nothing was decoded", o->base_meta, name, more,
                   wk_convert_option_for(first->name));
    else
        wk_err_set(err, WK_E_IO, "base file missing: %s/%s (the payload has %s)%s: %s; nothing "
                   "was decoded", o->base, name, name, more, wk_convert_option_for(first->name));
    wk_buf_free(&nb);
    return -1;
}

int wk_xorrun_open(wk_xorrun *r, const wk_xorrun_opts *o, wk_err *err)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    wk_manifest_init(&r->m);
    WK_TRY(wk_xor_plan_make(&r->p, o->dst, o->src, o->base_meta ? o->src : o->base, o->encode, err));
    if (!o->encode) WK_TRY(o->base_meta ? open_meta(r, err) : open_decode(r, err));
    if (!o->encode) WK_TRY(check_bases(&r->p, o, err));
    for (size_t i = 0; i < r->p.n; i++) r->total += r->p.items[i].src_bytes;
    if (!o->encode) r->ck = calloc(r->p.n ? r->p.n : 1, sizeof *r->ck);
    WK_FAIL_IF(o->base_meta && !r->ck, err, WK_E_NOMEM, "out of memory");
    return 0;
}

static int exec_meta(wk_xorrun *r, wk_progress_fn progress, void *progress_ctx, wk_err *err);

int wk_xorrun_exec(wk_xorrun *r, wk_progress_fn progress, void *progress_ctx, wk_err *err)
{
    const wk_xorrun_opts *o = r->o;
    if (o->base_meta) return exec_meta(r, progress, progress_ctx, err);
    item_check *ck = r->ck;
    check_ctx cc = {o, &r->p, ck};
    wk_xor_run_opts ro = {o->kind, o->gzip, o->level, o->threads, o->keep_bad, o->pipeline,
                          progress, progress_ctx, ck ? check_done : NULL, &cc, o->engine,
                          ck ? check_tap : NULL, o->max_output};
    return wk_xor_run(&r->p, o->dst, &ro, err);
}

void wk_xorrun_close(wk_xorrun *r)
{
    for (size_t i = 0; r->ck && i < r->p.n; i++) wk_xorcheck_stream_free(r->ck[i].stream); /* failed decodes */
    free(r->ck);
    wk_xormeta_close(r->xm);
    wk_xor_plan_free(&r->p);
    wk_manifest_free(&r->m);
    r->ck = NULL;
    r->xm = NULL;
}

/* ---- decode --base-meta ------------------------------------------------- */

/* Everything a --base-meta worker needs. */
typedef struct {
    const wk_xorrun_opts *o;
    wk_xormeta *xm;
    wk_xor_plan *p;
    item_check *ck;
    wk_progress_multi *mp;  /* all files (a file decoded again under another profile starts over) */
    check_ctx *cc;
    uint64_t prefer;
} meta_run;

/* check_done as the judge of a --base-meta pass of one item. */
typedef struct {
    check_ctx *cc;
    wk_xor_item *it;
} item_judge;

static int meta_judge(void *ctx, const char *tmp, const wk_xor_result *res, int *keep, wk_err *err)
{
    const item_judge *ij = ctx;
    (void)res;
    return check_done(ij->cc, ij->it, tmp, keep, err);
}

/* Decode item i (a shard in phase 1, anything else in phase 2). */
static void meta_item(meta_run *r, size_t i)
{
    wk_xor_item *it = &r->p->items[i];
    item_check *ck = &r->ck[i];
    wk_progress_hook ph = wk_progress_multi_item(r->mp, i);
    if (it->action == WK_XOR_DO_COPY) {
        wk_xor_decode_args a = {it->src, NULL, it->out, WK_PAYLOAD_AUTO,
                                it->has_expect ? it->expect : NULL, r->o->keep_bad, 0,
                                ph.fn, ph.ctx, r->o->engine, NULL, NULL, NULL, 0, r->o->max_output, NULL};
        it->status = wk_xor_decode_file(&a, &it->res, &it->err);
        return;
    }
    /* a file verified by digest may still get the tensor check (--check):
     * on the pass's temporary, before it replaces anything */
    wk_xm_opts xo = {r->o->kind, r->o->pipeline, r->o->engine, r->o->check != 0, r->prefer,
                     ph.fn, ph.ctx, r->o->max_output, {NULL, NULL}};
    item_judge ij = {r->cc, it};
    if (it->has_expect) xo.judge = (wk_xor_judge){meta_judge, &ij};
    ck->meta = 1;
    it->status = wk_xormeta_decode(r->xm, it, &xo, &ck->xm, &it->err);
    if (it->status == 0 && ck->xm.checked) {  /* the selection already ran the check */
        ck->ran = 1;
        ck->c = ck->xm.check;
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
    int nth = r->o->threads > 0 ? r->o->threads : wk_threads_ncores();
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
        else if (!known) it->base_missing = 1;
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

/* After phase 1 (the weights): the profiles they pin are preferred for the
 * rest (phases 2 and 3, each narrowed to the profiles consistent with every
 * file so far); when no weights matched any profile, nothing else is decoded. */
static void meta_rest(meta_run *r)
{
    const wk_xor_plan *p = r->p;
    item_check *ck = r->ck;
    /* the weights pin torch layout and inv_freq; prefer those for the rest */
    size_t shards = 0, matched = 0;
    uint64_t pref = ~0ull;
    for (size_t i = 0; i < p->n; i++) {
        if (!ck[i].meta) continue;
        shards++;
        if (ck[i].xm.chosen >= 0) {
            matched++;
            pref &= ck[i].xm.matched;
        }
    }
    r->prefer = matched ? pref : 0;
    if (shards && !matched) {  /* wrong base model: decode nothing else */
        for (size_t i = 0; i < p->n; i++) {
            wk_xor_item *it = &p->items[i];
            if (it->status || ck[i].meta || (it->action != WK_XOR_DO_XOR && it->action != WK_XOR_DO_COPY))
                continue;
            it->status = -1;
            wk_err_set(&it->err, WK_E_MISMATCH, "%s: not decoded: the weights matched no "
                       "converter profile of this base", it->name);
        }
    } else {
        for (int ph = 2; ph <= 3; ph++) {
            uint64_t all = ~0ull;
            for (size_t i = 0; i < p->n; i++)
                if (ck[i].meta && ck[i].xm.chosen >= 0) all &= ck[i].xm.matched;
            r->prefer = all;  /* profiles consistent with every file so far */
            meta_phase(r, ph);
        }
    }
}

/* After the phases: r->bad, r->nomatch, r->overall, each file's profile
 * description (narrowed to the overall ones), and the run's error: the
 * failed files' code, WK_E_MISMATCH when weights matched no profile. */
static int meta_finish(wk_xorrun *r, int rc, wk_err *err)
{
    const wk_xor_plan *p = &r->p;
    item_check *ck = r->ck;
    wk_xormeta *xm = r->xm;
    size_t bad = 0, nomatch = 0;
    for (size_t i = 0; i < p->n; i++) {
        bad += p->items[i].status != 0;
        nomatch += ck[i].meta && ck[i].xm.chosen < 0 && ck[i].xm.n_groups > 0 && p->items[i].status;
    }
    r->bad = bad;
    r->nomatch = nomatch;
    r->overall = meta_overall(xm, p, ck, r->overall_buf, sizeof r->overall_buf);
    uint64_t all = ~0ull;
    for (size_t i = 0; i < p->n; i++)
        if (ck[i].meta && ck[i].xm.chosen >= 0) all &= ck[i].xm.matched;
    for (size_t i = 0; i < p->n; i++)  /* per file: its profiles, narrowed to the overall ones */
        if (ck[i].meta && ck[i].xm.chosen >= 0)
            wk_xormeta_describe(xm, (ck[i].xm.matched & all) ? ck[i].xm.matched & all
                                                               : ck[i].xm.matched,
                                ck[i].profile, sizeof ck[i].profile);
    if (rc == 0 && bad)
        rc = wk_err_set(err, nomatch ? WK_E_MISMATCH : p->items[0].err.code, "%zu of %zu files failed", bad, p->n);
    if (rc && err->code == WK_OK) err->code = WK_E_MISMATCH;
    for (size_t i = 0; rc && nomatch == 0 && i < p->n; i++)
        if (p->items[i].status) { err->code = p->items[i].err.code; break; }
    return rc;
}

/* Decode against the base made from the Meta checkpoint: the weights
 * first (phase 1), then config.json, then the rest, -j files at once. */
static int exec_meta(wk_xorrun *r, wk_progress_fn progress, void *progress_ctx, wk_err *err)
{
    wk_progress_multi *mp = wk_progress_multi_new(progress, progress_ctx, r->p.n, r->total);
    WK_FAIL_IF(!mp, err, WK_E_NOMEM, "out of memory");
    check_ctx cc = {r->o, &r->p, r->ck};
    meta_run mr = {r->o, r->xm, &r->p, r->ck, mp, &cc, 0};
    int rc = wk_xor_make_dirs(r->o->dst, err);
    if (rc == 0) {
        meta_phase(&mr, 1);
        meta_rest(&mr);
    }
    wk_progress_multi_free(mp);
    return meta_finish(r, rc, err);
}

/* ---- the JSON report ---------------------------------------------------- */

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
    WK_TRY_GOTO(wk_json_object_set(j, "suspect", wk_json_new_bool(wk_xorcheck_suspect(c)), err), fail);
    WK_TRY_GOTO(wk_json_object_set(j, "verified", wk_json_new_bool(0), err), fail);
    WK_TRY_GOTO(wk_json_object_set(j, "readable", wk_json_new_bool(!c->unreadable), err), fail);
    WK_TRY_GOTO(wk_json_object_set(j, "error", c->unreadable ? wk_json_new_string(c->why) : wk_json_new_null(), err), fail);
    WK_TRY_GOTO(wk_json_object_set(j, "tensors", wk_json_new_int((int64_t)c->tensors), err), fail);
    WK_TRY_GOTO(wk_json_object_set(j, "not_floating", wk_json_new_int((int64_t)c->skipped), err), fail);
    WK_TRY_GOTO(wk_json_object_set(j, "flagged", wk_json_new_int((int64_t)c->flagged), err), fail);
    WK_TRY_GOTO(wk_json_object_set(j, "problems", arr, err), fail);
    for (size_t k = 0; k < c->n_listed; k++) {
        const wk_tensor_stats *st = &c->listed[k].stats;
        char fl[64];
        wk_json *t = wk_json_new_object();
        WK_TRY_GOTO(wk_json_array_push(arr, t, err), fail);
        WK_TRY_GOTO(wk_json_object_set(t, "name", wk_json_new_string(c->listed[k].name), err), fail);
        WK_TRY_GOTO(wk_json_object_set(t, "flags", wk_json_new_string(wk_stats_flags_str(st->flags, fl, sizeof fl)), err), fail);
        WK_TRY_GOTO(wk_json_object_set(t, "nan", wk_json_new_int((int64_t)st->n_nan), err), fail);
        WK_TRY_GOTO(wk_json_object_set(t, "inf", wk_json_new_int((int64_t)st->n_inf), err), fail);
        WK_TRY_GOTO(wk_json_object_set(t, "min", json_num(st->min), err), fail);
        WK_TRY_GOTO(wk_json_object_set(t, "max", json_num(st->max), err), fail);
        WK_TRY_GOTO(wk_json_object_set(t, "mean", json_num(st->mean), err), fail);
        WK_TRY_GOTO(wk_json_object_set(t, "std", json_num(st->std), err), fail);
    }
    return j;
fail:
    wk_json_free(j);
    return NULL;
}

static const char *action_name(wk_xor_action a)
{
    static const char *const names[] = {"xor", "copy", "skip", "missing"};
    return names[a];
}

const char *wk_xorrun_item_status(const wk_xor_item *it, const item_check *ck)
{
    if (it->action == WK_XOR_DO_SKIP && it->status == 0) return "skipped";
    if (ck && ck->strict_failed) return it->res.committed ? "suspect-kept" : "suspect";
    if (it->status != 0) return it->err.code == WK_E_MISMATCH && it->res.committed ? "mismatch-kept"
                              : it->err.code == WK_E_MISMATCH ? "mismatch" : "failed";
    if (it->res.verified == 1) return "ok";
    if (ck && ((ck->ran && wk_xorcheck_suspect(&ck->c)) || ck->json_bad))
        return "unverified-suspect";
    if (ck && ck->not_run) return "unverified-unchecked";
    return "unverified";
}

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
    WK_TRY(wk_json_array_push(arr, j, err));
    WK_TRY(wk_json_object_set(j, "name", wk_json_new_string(it->name), err));
    WK_TRY(wk_json_object_set(j, "action", wk_json_new_string(action_name(it->action)), err));
    WK_TRY(wk_json_object_set(j, "status", wk_json_new_string(wk_xorrun_item_status(it, ck)), err));
    WK_TRY(wk_json_object_set(j, "sha256", ran ? json_hex(it->res.sha256) : wk_json_new_null(), err));
    WK_TRY(wk_json_object_set(j, "expected", it->has_expect ? json_hex(it->expect) : wk_json_new_null(), err));
    WK_TRY(wk_json_object_set(j, "bytes_in", wk_json_new_int((int64_t)it->res.in_bytes), err));
    WK_TRY(wk_json_object_set(j, "bytes_out", wk_json_new_int((int64_t)it->res.out_bytes), err));
    WK_TRY(wk_json_object_set(j, "gzip", wk_json_new_bool(it->res.gzip), err));
    WK_TRY(wk_json_object_set(j, "gzip_members", wk_json_new_int(it->res.members), err));
    WK_TRY(wk_json_object_set(j, "error", it->status ? wk_json_new_string(it->err.msg) : wk_json_new_null(), err));
    wk_json *cj = json_check(ck, err);
    if (!cj) return -1;
    WK_TRY(wk_json_object_set(j, "check", cj, err));
    if (ck && ck->not_run)  /* the tensor check could not run: why */
        WK_TRY(wk_json_object_set(j, "check_not_run", wk_json_new_string(ck->why_not), err));
    if (ck && ck->json_ran) {  /* a *.json output without a digest: does it parse? */
        wk_json *pj = wk_json_new_object();
        WK_TRY(wk_json_object_set(j, "json_check", pj, err));
        WK_TRY(wk_json_object_set(pj, "parses", wk_json_new_bool(!ck->json_bad), err));
        WK_TRY(wk_json_object_set(pj, "error", ck->json_bad ? wk_json_new_string(ck->json_why)
                                                            : wk_json_new_null(), err));
    }
    if (ck && ck->meta) {
        wk_json *pj = wk_json_new_object();
        WK_TRY(wk_json_object_set(j, "base_profile", pj, err));
        WK_TRY(wk_json_object_set(pj, "profile", ck->xm.chosen >= 0 ? wk_json_new_string(ck->profile) : wk_json_new_null(), err));
        WK_TRY(wk_json_object_set(pj, "verified", wk_json_new_bool(ck->xm.verified), err));
        WK_TRY(wk_json_object_set(pj, "candidates", wk_json_new_int((int64_t)ck->xm.n_groups), err));
        WK_TRY(wk_json_object_set(pj, "full_passes", wk_json_new_int((int64_t)ck->xm.passes), err));
        WK_TRY(wk_json_object_set(pj, "hashed_alongside", wk_json_new_int((int64_t)ck->xm.alongside), err));
    }
    return 0;
}

wk_json *wk_xorrun_json(const wk_xorrun *r, int ok, wk_err *err)
{
    const wk_xorrun_opts *o = r->o;
    const wk_xor_plan *p = &r->p;
    const item_check *ck = r->ck;
    const char *manifest = r->m.n ? r->m.label : NULL, *profile = r->overall;
    wk_json *root = wk_json_new_object(), *files = wk_json_new_array();
    WK_TRY_GOTO(wk_json_object_set(root, "command",
                                   wk_json_new_string(o->encode ? "encode" : "decode"), err), fail);
    WK_TRY_GOTO(wk_json_object_set(root, "manifest", manifest ? wk_json_new_string(manifest) : wk_json_new_null(), err), fail);
    WK_TRY_GOTO(wk_json_object_set(root, "ok", wk_json_new_bool(ok), err), fail);
    if (o->base_meta) {
        WK_TRY_GOTO(wk_json_object_set(root, "base_meta", wk_json_new_string(o->base_meta), err), fail);
        WK_TRY_GOTO(wk_json_object_set(root, "base_profile", profile ? wk_json_new_string(profile) : wk_json_new_null(), err), fail);
    }
    WK_TRY_GOTO(wk_json_object_set(root, "files", files, err), fail);
    for (size_t i = 0; i < p->n; i++) WK_TRY_GOTO(json_item(files, &p->items[i], ck ? &ck[i] : NULL, err), fail);
    return root;
fail:
    wk_json_free(root);
    return NULL;
}

/* ---- verify ------------------------------------------------------------- */

int wk_xorrun_verify_open(const wk_xorrun_opts *o, const char *dir, wk_manifest *m,
                          wk_check_result **res, wk_err *err)
{
    wk_manifest_init(m);
    *res = NULL;
    char **names = NULL;
    size_t nn = 0;
    if (!o->manifest) WK_TRY(wk_xor_list_dir(dir, &names, &nn, err));
    int rc = wk_xorrun_pick_manifest(o, names, nn, m, err);
    wk_xor_free_names(names, nn);
    WK_TRY(rc);
    WK_FAIL_IF(!m->n && o->manifest, err, WK_E_USAGE, "%s lists no files", o->manifest);
    WK_FAIL_IF(!m->n, err, WK_E_USAGE, "no manifest given and none in checksums/ matches the "
               "files of %s (use --manifest FILE)", dir);
    for (size_t i = 0; i < m->n; i++)
        WK_FAIL_IF(!wk_manifest_name_safe(m->entries[i].name), err, WK_E_UNSAFE,
                   "%s:%zu: file name \"%s\" is not a safe relative "
                   "path (absolute, or with a '.' or '..' component); nothing outside %s "
                   "is read", m->label ? m->label : "manifest", m->entries[i].line,
                   m->entries[i].name, dir);
    *res = calloc(m->n, sizeof **res);
    WK_FAIL_IF(!*res, err, WK_E_NOMEM, "out of memory");
    return 0;
}

/* ---- hash --------------------------------------------------------------- */

/* Hash one FILE argument.  A FIFO named on the command line (a shell's <(...))
 * is read as sha256sum reads it, blocking until its writer is done: the user
 * asked for that pipe.  Anything else goes through wk_input_open (regular
 * files only: a device is refused, never read forever). */
static int hash_arg(const char *path, uint8_t *digest, wk_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISFIFO(st.st_mode))
        return wk_manifest_hash_file(path, digest, NULL, NULL, err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return wk_err_errno(err, errno, "open %s", path);
    int rc = wk_manifest_hash_fd(fd, path, digest, NULL, NULL, 0, err);
    close(fd);
    return rc;
}

void wk_xorrun_hash(char *const *files, int n, int threads, wk_xorrun_digest *out)
{
    for (int i = 0; i < n; i++)  /* standard input first, on this thread */
        if (!strcmp(files[i], "-"))
            out[i].status = wk_manifest_hash_fd(0, "-", out[i].digest, NULL, NULL, 0, &out[i].err);
    int nth = threads > 0 ? threads : wk_threads_ncores();
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
#endif
    for (int i = 0; i < n; i++)
        if (strcmp(files[i], "-"))
            out[i].status = hash_arg(files[i], out[i].digest, &out[i].err);
    (void)nth;
}
