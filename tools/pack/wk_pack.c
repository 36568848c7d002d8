/* wk_pack.c — the packing engine (see wk_pack.h): plan, output files with
 * optional SHA-256 sidecars, GGUF or (sharded) safetensors. */
#include "wk_pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
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

typedef struct {
    wk_out *out;
    wk_hash *sha;
} out_file;

static int open_out(out_file *f, const char *path, const wk_inputs *inputs, int sha, wk_err *err)
{
    f->sha = NULL;
    if (!(f->out = wk_out_open(path, inputs, err))) return -1;
    if (sha) {
        if (!(f->sha = wk_hash_create(WK_HASH_SHA256, err))) {
            wk_out_abort(f->out);
            return -1;
        }
    }
    return 0;
}

/* A small file written at once, atomically (inputs: as wk_out_open). */
static int write_small(const char *path, const wk_inputs *inputs, const void *data, size_t len, wk_err *err)
{
    wk_out *o = wk_out_open(path, inputs, err);
    if (!o) return -1;
    if (wk_out_write(o, data, len, err)) {
        wk_out_abort(o);
        return -1;
    }
    return wk_out_commit(o, err);
}

/* A small file `name` in the output directory d. */
static int write_in(wk_outdir *d, const wk_inputs *inputs, const char *name, const void *data, size_t len,
                    wk_err *err)
{
    char *path = wk_path_join(wk_outdir_path(d), name);
    WK_FAIL_IF(!path, err, WK_E_NOMEM, "out of memory");
    int rc = write_small(path, inputs, data, len, err);
    free(path);
    return rc;
}

/* Open "<path>.sha256" and write into it the sha256sum line of digest d for
 * path's base name (not committed yet: the caller commits it together with
 * the file it describes). */
static wk_out *open_sidecar(const char *path, const wk_inputs *inputs, const uint8_t *d, wk_err *err)
{
    const char *base = strrchr(path, '/');
    wk_buf line;
    wk_buf_init(&line);
    wk_manifest_format_line(&line, d, base ? base + 1 : path);
    size_t pl = strlen(path) + 8;
    char *sp = malloc(pl);
    wk_out *o = NULL;
    if (!sp || wk_buf_check(&line, err)) {
        if (!sp) wk_err_set(err, WK_E_NOMEM, "out of memory");
    } else {
        snprintf(sp, pl, "%s.sha256", path);
        if ((o = wk_out_open(sp, inputs, err)) && wk_out_write(o, line.data, line.len, err)) {
            wk_out_abort(o);
            o = NULL;
        }
    }
    free(sp);
    wk_buf_free(&line);
    return o;
}

/* Commit f and, with --sha256, append its sha256sum line to sums (if not
 * NULL) or write "<path>.sha256".  Both files or neither: the sidecar is
 * written before the output is committed, and if its own commit fails the
 * just committed output is removed again (exit 0 iff both are in place). */
static int close_out(out_file *f, const char *path, const wk_inputs *inputs, wk_buf *sums, wk_err *err)
{
    int rc = -1;
    uint8_t d[WK_HASH_MAX_DIGEST];
    wk_out *side = NULL;
    if ((f->sha && wk_hash_digest(f->sha, d, err)) ||
        (f->sha && !sums && !(side = open_sidecar(path, inputs, d, err)))) {
        wk_out_abort(f->out);
        goto done;
    }
    if (wk_out_commit(f->out, err)) {
        wk_out_abort(side);
        goto done;
    }
    if (side && wk_out_commit(side, err)) {
        unlink(path);
        wk_err_prefix(err, "%s removed again (its .sha256 could not be written)", path);
        goto done;
    }
    if (f->sha && sums) {
        const char *base = strrchr(path, '/');
        wk_manifest_format_line(sums, d, base ? base + 1 : path);
        WK_TRY_GOTO(wk_buf_check(sums, err), done);
    }
    rc = 0;
done:
    wk_hash_free(f->sha);
    return rc;
}

/* Write through f's output: the plan of the GGUF (p) or shard k of the
 * safetensors plan (sp), unchanged tensors by in-kernel copy; then close f
 * (with sums as close_out).  On failure f is aborted. */
static int write_out(out_file *f, const char *path, const wk_source *src, wk_gl *p, wk_source_stplan *sp,
                     size_t k, wk_buf *sums, const wk_pack_opts *o, wk_err *err)
{
    wk_source_out *c = wk_source_out_new(src, f->out, err);
    if (c) wk_sink_tee(wk_source_out_sink(c), f->sha);   /* --sha256: hashed while written */
    int rc = !c ? -1
             : p ? wk_gl_write(p, wk_source_out_sink(c), o->progress, o->progress_ctx, err)
                 : wk_source_st_write(sp, k, wk_source_out_sink(c), o->progress, o->progress_ctx, err);
    const uint8_t *h;
    size_t hn;
    if (!rc && p && !wk_gl_final_header(p, &h, &hn))   /* late digests: the header again, complete */
        rc = wk_out_pwrite(f->out, 0, h, hn, err);
    wk_source_out_free(c);
    if (rc) {
        wk_out_abort(f->out);
        wk_hash_free(f->sha);
        return -1;
    }
    return close_out(f, path, wk_source_inputs(src), sums, err);
}

static int pack_gguf(const wk_pack_opts *o, const wk_source *src, uint64_t *size, wk_err *err)
{
    /* digests hashed while the bytes are written (one read of the input), the
     * header written again at the end; --sha256 hashes the whole stream as it
     * goes out, so it needs the header complete first: a digest pass */
    wk_gl_opts go = o->gl;
    go.late_digests = go.digests && !o->sha256;
    stage(o, go.digests && !go.late_digests ? "digests" : "writing");
    wk_gl *p = wk_gl_plan_new(src, &go, o->progress, o->progress_ctx, err);
    if (!p) return -1;
    int rc = -1;
    out_file f;
    WK_TRY_GOTO(open_out(&f, o->output, wk_source_inputs(src), o->sha256, err), done);
    stage(o, "writing");
    rc = write_out(&f, o->output, src, p, NULL, 0, NULL, o, err);
    if (!rc && o->nonfinite) wk_gl_nonfinite(p, &o->nonfinite[0], &o->nonfinite[1]);
done:
    *size = wk_gl_total_size(p);
    wk_gl_free(p);
    return rc;
}

static int write_shard(wk_source_stplan *p, const wk_source *src, size_t k, const char *path,
                       int sha, wk_buf *sums, const wk_pack_opts *o, wk_err *err)
{
    out_file f;
    WK_TRY(open_out(&f, path, wk_source_inputs(src), sha, err));
    return write_out(&f, path, src, NULL, p, k, sums, o, err);
}

/* Shards of p into the directory o->output (written atomically), with
 * model.safetensors.index.json when there are several, and SHA256SUMS with
 * --sha256; *size gets the shards' bytes. */
static int write_shards(const wk_pack_opts *o, const wk_source *src, wk_source_stplan *p,
                        uint64_t *size, wk_err *err)
{
    int rc = -1;
    wk_buf sums, b;
    wk_buf_init(&sums);
    wk_buf_init(&b);
    const wk_inputs *inputs = wk_source_inputs(src);
    wk_outdir *d = wk_outdir_open(o->output, inputs, err);
    if (!d) goto done;
    for (size_t k = 0; k < wk_source_st_shard_count(p); k++) {
        char *path = wk_path_join(wk_outdir_path(d), wk_source_st_shard_name(p, k));
        int wr = path ? write_shard(p, src, k, path, o->sha256, &sums, o, err)
                      : wk_err_set(err, WK_E_NOMEM, "out of memory");
        *size += wk_source_st_shard_size(p, k);
        free(path);
        WK_TRY_GOTO(wr, done);
    }
    if (wk_source_st_shard_count(p) > 1) {
        WK_TRY_GOTO(wk_source_st_index(p, &b, err), done);
        WK_TRY_GOTO(write_in(d, inputs, "model.safetensors.index.json", b.data, b.len, err), done);
    }
    if (o->sha256)   /* one SHA256SUMS for the shards (sha256sum -c SHA256SUMS) */
        WK_TRY_GOTO(write_in(d, inputs, "SHA256SUMS", sums.data, sums.len, err), done);
    rc = 0;
done:
    wk_buf_free(&b);
    wk_buf_free(&sums);
    if (d && rc) wk_outdir_abort(d);
    else if (d) rc = wk_outdir_commit(d, err);
    return rc;
}

static int pack_st(const wk_pack_opts *o, const wk_source *src, uint64_t *size, wk_err *err)
{
    wk_source_st_opts so;
    wk_source_st_opts_init(&so);
    so.out_dtype = o->gl.outtype == WK_OUTTYPE_AUTO ? -1
                 : o->gl.outtype == WK_OUTTYPE_F32 ? WK_DT_F32
                 : o->gl.outtype == WK_OUTTYPE_F16 ? WK_DT_F16 : WK_DT_BF16;
    so.digests = o->gl.digests;
    so.threads = o->threads;
    so.shard_size = o->shard_size;
    so.allow_nonfinite = o->gl.allow_nonfinite;
    stage(o, so.digests ? "digests" : "writing");
    wk_source_stplan *p = wk_source_st_plan(src, &so, o->progress, o->progress_ctx, err);
    if (!p) return -1;
    int rc = -1;
    stage(o, "writing");
    *size = 0;
    if (!o->shard_size) {
        rc = write_shard(p, src, 0, o->output, o->sha256, NULL, o, err);
        *size = wk_source_st_shard_size(p, 0);
    } else {
        rc = write_shards(o, src, p, size, err);
    }
    if (!rc && o->nonfinite) wk_source_st_nonfinite(p, &o->nonfinite[0], &o->nonfinite[1]);
    wk_source_st_free(p);
    return rc;
}

int wk_pack_run(const wk_pack_opts *o, const wk_source *src, uint64_t *size, wk_err *err)
{
    *size = 0;
    return o->format == WK_PACK_GGUF ? pack_gguf(o, src, size, err) : pack_st(o, src, size, err);
}
