/* wk_pack.c — the packing engine (see wk_pack.h): plan, output files with
 * optional SHA-256 sidecars, GGUF or (sharded) safetensors. */
#include "wk_pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_hash.h"
#include "wk_io.h"
#include "wk_manifest.h"
#include "wk_sink.h"

void wk_pack_opts_init(wk_pack_opts *o)
{
    memset(o, 0, sizeof *o);
    wk_gl_opts_init(&o->gl);
}

/* Tell the caller what the progress now counts ("digests", "writing"). */
static void stage(const wk_pack_opts *o, const char *label)
{
    if (o->stage) o->stage(o->progress_ctx, label);
}

/* ---- output ------------------------------------------------------------------ */

/* Inputs that must not be overwritten (NULL-terminated, malloc'd array). */
static const char **input_list(const wk_source *s)
{
    size_t n = wk_source_file_count(s);
    const char **l = calloc(n + 1, sizeof *l);
    for (size_t i = 0; l && i < n; i++) l[i] = wk_source_file(s, i);
    return l;
}

typedef struct {
    wk_out *out;
    wk_hash *sha;
} out_file;

static int open_out(out_file *f, const char *path, const char **inputs, int sha, wk_err *err)
{
    f->sha = NULL;
    if (!(f->out = wk_out_open(path, inputs, err))) return -1;
    if (sha) {
        if (!(f->sha = wk_hash_create(WK_HASH_SHA256, err))) {
            wk_out_abort(f->out);
            return -1;
        }
        wk_out_set_hook(f->out, wk_hash_hook, f->sha);
    }
    return 0;
}

/* Commit f and, with --sha256, append its sha256sum line to sums (if not
 * NULL) or write "<path>.sha256". */
static int close_out(out_file *f, const char *path, wk_buf *sums, wk_err *err)
{
    uint8_t d[WK_HASH_MAX_DIGEST];
    int rc = f->sha ? wk_hash_digest(f->sha, d, err) : 0;
    if (rc) wk_out_abort(f->out);
    else rc = wk_out_commit(f->out, err);
    if (!rc && f->sha && sums) {
        const char *base = strrchr(path, '/');
        wk_manifest_format_line(sums, d, base ? base + 1 : path);
        rc = wk_buf_check(sums, err);
    } else if (!rc && f->sha) {
        const char *base = strrchr(path, '/');
        wk_buf line;
        wk_buf_init(&line);
        wk_manifest_format_line(&line, d, base ? base + 1 : path);
        size_t pl = strlen(path) + 8;
        char *sp = malloc(pl);
        rc = sp ? 0 : wk_err_set(err, WK_E_NOMEM, "out of memory");
        if (!rc) {
            snprintf(sp, pl, "%s.sha256", path);
            wk_out *o = wk_out_open(sp, NULL, err);
            rc = o ? wk_out_write(o, line.data, line.len, err) : -1;
            if (o) rc = rc ? (wk_out_abort(o), -1) : wk_out_commit(o, err);
        }
        free(sp);
        wk_buf_free(&line);
    }
    wk_hash_free(f->sha);
    return rc;
}

static int pack_gguf(const wk_pack_opts *o, const wk_source *src, uint64_t *size, wk_err *err)
{
    stage(o, o->gl.digests ? "digests" : "writing");
    wk_gl *p = wk_gl_plan_new(src, &o->gl, o->progress, o->progress_ctx, err);
    if (!p) return -1;
    const char **inputs = input_list(src);
    out_file f;
    int rc = inputs ? open_out(&f, o->output, inputs, o->sha256, err) : wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (!rc) {
        stage(o, "writing");
        wk_src_out *c = wk_src_out_new(src, f.out, err);   /* unchanged tensors: in-kernel copy */
        rc = c ? wk_gl_write(p, wk_src_out_sink(c), o->progress, o->progress_ctx, err) : -1;
        wk_src_out_free(c);
        if (rc) {
            wk_out_abort(f.out);
            wk_hash_free(f.sha);
        } else {
            rc = close_out(&f, o->output, NULL, err);
        }
    }
    *size = wk_gl_total_size(p);
    free(inputs);
    wk_gl_free(p);
    return rc;
}

static int write_shard(wk_src_stplan *p, const wk_source *src, size_t k, const char *path,
                       const char **inputs, int sha, wk_buf *sums, const wk_pack_opts *o, wk_err *err)
{
    out_file f;
    WK_TRY(open_out(&f, path, inputs, sha, err));
    wk_src_out *c = wk_src_out_new(src, f.out, err);   /* unchanged tensors: in-kernel copy */
    int rc = c ? wk_src_st_write(p, k, wk_src_out_sink(c), o->progress, o->progress_ctx, err) : -1;
    wk_src_out_free(c);
    if (rc) {
        wk_out_abort(f.out);
        wk_hash_free(f.sha);
        return -1;
    }
    return close_out(&f, path, sums, err);
}

static int pack_st(const wk_pack_opts *o, const wk_source *src, uint64_t *size, wk_err *err)
{
    wk_src_st_opts so;
    wk_src_st_opts_init(&so);
    so.out_dtype = o->gl.outtype == WK_OUTTYPE_AUTO ? -1
                 : o->gl.outtype == WK_OUTTYPE_F32 ? WK_DT_F32
                 : o->gl.outtype == WK_OUTTYPE_F16 ? WK_DT_F16 : WK_DT_BF16;
    so.digests = o->gl.digests;
    so.threads = o->threads;
    so.shard_size = o->shard_size;
    stage(o, so.digests ? "digests" : "writing");
    wk_src_stplan *p = wk_src_st_plan(src, &so, o->progress, o->progress_ctx, err);
    if (!p) return -1;
    const char **inputs = input_list(src);
    int rc = inputs ? 0 : wk_err_set(err, WK_E_NOMEM, "out of memory");
    stage(o, "writing");
    *size = 0;
    if (!rc && !o->shard_size) {
        rc = write_shard(p, src, 0, o->output, inputs, o->sha256, NULL, o, err);
        *size = wk_src_st_shard_size(p, 0);
    } else if (!rc) {
        wk_outdir *d = wk_outdir_open(o->output, err);
        wk_buf sums;
        wk_buf_init(&sums);
        rc = d ? 0 : -1;
        for (size_t k = 0; !rc && k < wk_src_st_shard_count(p); k++) {
            char *path = wk_path_join(wk_outdir_path(d), wk_src_st_shard_name(p, k));
            rc = path ? write_shard(p, src, k, path, inputs, o->sha256, &sums, o, err)
                      : wk_err_set(err, WK_E_NOMEM, "out of memory");
            *size += wk_src_st_shard_size(p, k);
            free(path);
        }
        if (!rc && wk_src_st_shard_count(p) > 1) {
            wk_buf b;
            wk_buf_init(&b);
            char *path = wk_path_join(wk_outdir_path(d), "model.safetensors.index.json");
            rc = path ? wk_src_st_index(p, &b, err) : wk_err_set(err, WK_E_NOMEM, "out of memory");
            wk_out *io = rc ? NULL : wk_out_open(path, NULL, err);
            if (!rc) rc = io ? wk_out_write(io, b.data, b.len, err) : -1;
            if (io) rc = rc ? (wk_out_abort(io), -1) : wk_out_commit(io, err);
            free(path);
            wk_buf_free(&b);
        }
        if (!rc && o->sha256) {   /* one SHA256SUMS for the shards (sha256sum -c SHA256SUMS) */
            char *path = wk_path_join(wk_outdir_path(d), "SHA256SUMS");
            wk_out *so = path ? wk_out_open(path, NULL, err) : NULL;
            rc = so ? wk_out_write(so, sums.data, sums.len, err) : path ? -1 : wk_err_set(err, WK_E_NOMEM, "out of memory");
            if (so) rc = rc ? (wk_out_abort(so), -1) : wk_out_commit(so, err);
            free(path);
        }
        wk_buf_free(&sums);
        if (d) rc = rc ? (wk_outdir_abort(d), -1) : wk_outdir_commit(d, err);
    }
    free(inputs);
    wk_src_st_free(p);
    return rc;
}

int wk_pack_run(const wk_pack_opts *o, const wk_source *src, uint64_t *size, wk_err *err)
{
    *size = 0;
    return o->format == WK_PACK_GGUF ? pack_gguf(o, src, size, err) : pack_st(o, src, size, err);
}
