/* wk-pack — a model in any supported layout -> one flat, aligned, mmap-able
 * GGUF or safetensors file (or a sharded safetensors directory).  A thin main:
 * argument parsing and reporting here; the work is in formats/llama/wk_source.c,
 * wk_gguf_llama.c, wk_gguf.c and wk_safetensors.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_cli.h"
#include "wk_gguf_llama.h"
#include "wk_hash.h"
#include "wk_hfcfg.h"
#include "wk_io.h"
#include "wk_manifest.h"
#include "wk_progress.h"
#include "wk_sink.h"
#include "wk_source.h"
#include "wk_threads.h"

typedef enum { FMT_AUTO, FMT_GGUF, FMT_ST } out_format;

typedef struct {
    wk_cli_std_opts std;
    const char *input, *output;
    out_format format;
    wk_gl_opts gl;
    uint64_t shard_size;
    int sha256;
    int list;        /* --list: print the input's tensors and exit */
} pack_opts;

static void usage(void)
{
    printf(
"usage: wk-pack INPUT OUTPUT [options]\n"
"       wk-pack --list INPUT\n"
"\n"
"  Pack a model into one flat, aligned, mmap-able file: GGUF for llama.cpp, or\n"
"  safetensors for the HF world.  INPUT is a directory (HF: model*.safetensors or\n"
"  pytorch_model*.bin, with or without an index; Meta: params.json +\n"
"  consolidated.NN.pth, ranks merged) or a single .pth/.bin/.safetensors/.gguf\n"
"  file.  The output format follows OUTPUT's extension (.gguf, .safetensors) or\n"
"  --format.  Output is written atomically (temporary file, fsync, rename).\n"
"\n"
"options:\n"
"  --format gguf|safetensors   output format (default: from OUTPUT's extension)\n"
"  --outtype auto|f32|f16|bf16 tensor type (default auto: keep the stored type).\n"
"                              GGUF: 2-D weights only, 1-D tensors stay F32;\n"
"                              safetensors: every float tensor\n"
"  --vocab FILE                tokenizer.model (default: INPUT dir, then its parent)\n"
"  --name NAME                 general.name (default: the input directory's name)\n"
"  --ctx N                     llama.context_length (default: config.json, or a\n"
"                              guess for Meta: 2048 / 4096 / 16384)\n"
"  --alignment N               GGUF data alignment (power of two, default 32)\n"
"  --chat-template metharme|FILE  write tokenizer.chat_template\n"
"  --no-digest                 do not store per-tensor XXH3-64 digests\n"
"  --sha256                    also write OUTPUT.sha256 (sha256sum format; sharded:\n"
"                              OUTPUT/SHA256SUMS for the shards)\n"
"  --shard-size SIZE           safetensors: split into model-0000k-of-0000n.safetensors\n"
"                              + model.safetensors.index.json in directory OUTPUT\n"
"                              (SIZE as transformers: 5GB, 500MiB, bytes)\n"
"  --list                      list INPUT's tensors (name, dtype, shape) and exit\n"
"  -j, --threads N             threads for the digest pass (default: all cores)\n"
"  -q, --quiet                 no summary line\n"
"  --progress, --no-progress   progress bar on stderr (default: if a TTY)\n"
"  -h, --help, -V, --version\n");
}

static int need_value(int argc, char **argv, int *i, const char **out, wk_err *err)
{
    if (*i + 1 >= argc) return wk_err_set(err, WK_E_USAGE, "%s needs a value", argv[*i]);
    *out = argv[++*i];
    return 0;
}

static int parse_u32(const char *opt, const char *s, uint32_t *out, wk_err *err)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v == 0 || v > UINT32_MAX || s[0] == '-')
        return wk_err_set(err, WK_E_USAGE, "%s: \"%s\" is not a positive 32-bit integer", opt, s);
    *out = (uint32_t)v;
    return 0;
}

static int parse_args(pack_opts *o, int argc, char **argv, int *exit_now, wk_err *err)
{
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        int help = 0, version = 0;
        int r = wk_cli_std(&o->std, argc, argv, &i, &help, &version, err);
        if (r < 0) return -1;
        if (help || version) {
            if (help) usage();
            else wk_cli_print_version(o->std.prog);
            *exit_now = 1;
            return 0;
        }
        if (r) continue;
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--format")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            if (!strcmp(v, "gguf")) o->format = FMT_GGUF;
            else if (!strcmp(v, "safetensors")) o->format = FMT_ST;
            else return wk_err_set(err, WK_E_USAGE, "--format: \"%s\" (gguf or safetensors)", v);
        } else if (!strcmp(a, "--outtype")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            int t = wk_outtype_parse(v);
            if (t < 0) return wk_err_set(err, WK_E_USAGE, "--outtype: \"%s\" (auto, f32, f16 or bf16)", v);
            o->gl.outtype = (wk_outtype)t;
        } else if (!strcmp(a, "--vocab")) {
            WK_TRY(need_value(argc, argv, &i, &o->gl.vocab, err));
        } else if (!strcmp(a, "--name")) {
            WK_TRY(need_value(argc, argv, &i, &o->gl.name, err));
        } else if (!strcmp(a, "--ctx")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            WK_TRY(parse_u32(a, v, &o->gl.ctx, err));
        } else if (!strcmp(a, "--alignment")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            WK_TRY(parse_u32(a, v, &o->gl.alignment, err));
            if (o->gl.alignment < 8 || o->gl.alignment > (1u << 20) || (o->gl.alignment & (o->gl.alignment - 1)))
                return wk_err_set(err, WK_E_USAGE, "--alignment: %s is not a power of two in 8..1048576", v);
        } else if (!strcmp(a, "--chat-template")) {
            WK_TRY(need_value(argc, argv, &i, &o->gl.chat_template, err));
        } else if (!strcmp(a, "--no-digest")) {
            o->gl.digests = 0;
        } else if (!strcmp(a, "--sha256")) {
            o->sha256 = 1;
        } else if (!strcmp(a, "--shard-size")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            WK_TRY(wk_hfcfg_parse_size(v, &o->shard_size, err));
        } else if (!strcmp(a, "--list")) {
            o->list = 1;
        } else if (a[0] == '-' && a[1]) {
            return wk_err_set(err, WK_E_USAGE, "unknown option %s (see --help)", a);
        } else {
            if (npos == 2) return wk_err_set(err, WK_E_USAGE, "too many arguments (INPUT OUTPUT expected)");
            pos[npos++] = a;
        }
    }
    if (npos < (o->list ? 1 : 2))
        return wk_err_set(err, WK_E_USAGE, "%s expected (see --help)", o->list ? "INPUT" : "INPUT and OUTPUT");
    if (o->list && npos != 1) return wk_err_set(err, WK_E_USAGE, "--list takes only INPUT");
    o->input = pos[0];
    o->output = npos > 1 ? pos[1] : NULL;
    if (o->list) return 0;
    if (o->format == FMT_AUTO) {
        size_t n = strlen(o->output);
        if (n > 5 && !strcmp(o->output + n - 5, ".gguf")) o->format = FMT_GGUF;
        else if ((n > 12 && !strcmp(o->output + n - 12, ".safetensors")) || o->shard_size) o->format = FMT_ST;
        else return wk_err_set(err, WK_E_USAGE, "%s: cannot tell the format from the name; use --format", o->output);
    }
    if (o->shard_size && o->format != FMT_ST)
        return wk_err_set(err, WK_E_USAGE, "--shard-size applies to safetensors output only");
    if (o->format == FMT_ST && (o->gl.vocab || o->gl.name || o->gl.ctx || o->gl.alignment || o->gl.chat_template))
        return wk_err_set(err, WK_E_USAGE, "--vocab, --name, --ctx, --alignment and --chat-template apply to "
                          "GGUF output only");
    return 0;
}

/* ---- listing ---------------------------------------------------------------- */

/* A name from a file, control characters and backslashes escaped as \xNN. */
static void print_name(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '\\') printf("\\x%02x", c);
        else putchar(c);
    }
}

static void list_tensors(const wk_source *s)
{
    printf("# %s: %s, %zu file(s), %zu tensors\n", wk_source_path(s), wk_src_kind_name(wk_source_kind(s)),
           wk_source_file_count(s), wk_source_count(s));
    for (size_t i = 0; i < wk_source_count(s); i++) {
        const wk_src_tensor *t = wk_source_tensor(s, i);
        const char *dt = t->dtype < WK_DT_COUNT ? wk_dtype_get(t->dtype)->st_name
                                                : wk_ggml_type_get(t->ggml_type)->name;
        print_name(t->name);
        printf("\t%s\t[", dt);
        for (int d = 0; d < t->ndim; d++) printf(d ? ", %lld" : "%lld", (long long)t->shape[d]);
        printf("]\t%llu\n", (unsigned long long)t->nbytes);
    }
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

static int pack_gguf(const pack_opts *o, const wk_source *src, wk_progress *bar, uint64_t *size, wk_err *err)
{
    wk_progress_set_label(bar, o->gl.digests ? "digests" : "writing");
    wk_gl *p = wk_gl_plan_new(src, &o->gl, bar ? wk_progress_cb : NULL, bar, err);
    if (!p) return -1;
    const char **inputs = input_list(src);
    out_file f;
    int rc = inputs ? open_out(&f, o->output, inputs, o->sha256, err) : wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (!rc) {
        wk_progress_set_label(bar, "writing");
        wk_src_out *c = wk_src_out_new(src, f.out, err);   /* unchanged tensors: in-kernel copy */
        if (c) wk_sink_tee(wk_src_out_sink(c), f.sha);   /* --sha256: hashed while written */
        rc = c ? wk_gl_write(p, wk_src_out_sink(c), bar ? wk_progress_cb : NULL, bar, err) : -1;
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
                       const char **inputs, int sha, wk_buf *sums, wk_progress *bar, wk_err *err)
{
    out_file f;
    WK_TRY(open_out(&f, path, inputs, sha, err));
    wk_src_out *c = wk_src_out_new(src, f.out, err);   /* unchanged tensors: in-kernel copy */
    if (c) wk_sink_tee(wk_src_out_sink(c), f.sha);   /* --sha256: hashed while written */
    int rc = c ? wk_src_st_write(p, k, wk_src_out_sink(c), bar ? wk_progress_cb : NULL, bar, err) : -1;
    wk_src_out_free(c);
    if (rc) {
        wk_out_abort(f.out);
        wk_hash_free(f.sha);
        return -1;
    }
    return close_out(&f, path, sums, err);
}

static int pack_st(const pack_opts *o, const wk_source *src, wk_progress *bar, uint64_t *size, wk_err *err)
{
    wk_src_st_opts so;
    wk_src_st_opts_init(&so);
    so.out_dtype = o->gl.outtype == WK_OUTTYPE_AUTO ? -1
                 : o->gl.outtype == WK_OUTTYPE_F32 ? WK_DT_F32
                 : o->gl.outtype == WK_OUTTYPE_F16 ? WK_DT_F16 : WK_DT_BF16;
    so.digests = o->gl.digests;
    so.threads = o->std.threads;
    so.shard_size = o->shard_size;
    wk_progress_set_label(bar, so.digests ? "digests" : "writing");
    wk_src_stplan *p = wk_src_st_plan(src, &so, bar ? wk_progress_cb : NULL, bar, err);
    if (!p) return -1;
    const char **inputs = input_list(src);
    int rc = inputs ? 0 : wk_err_set(err, WK_E_NOMEM, "out of memory");
    wk_progress_set_label(bar, "writing");
    *size = 0;
    if (!rc && !o->shard_size) {
        rc = write_shard(p, src, 0, o->output, inputs, o->sha256, NULL, bar, err);
        *size = wk_src_st_shard_size(p, 0);
    } else if (!rc) {
        wk_outdir *d = wk_outdir_open(o->output, err);
        wk_buf sums;
        wk_buf_init(&sums);
        rc = d ? 0 : -1;
        for (size_t k = 0; !rc && k < wk_src_st_shard_count(p); k++) {
            char *path = wk_path_join(wk_outdir_path(d), wk_src_st_shard_name(p, k));
            rc = path ? write_shard(p, src, k, path, inputs, o->sha256, &sums, bar, err)
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

int main(int argc, char **argv)
{
    pack_opts o;
    wk_err err;
    wk_err_clear(&err);
    memset(&o, 0, sizeof o);
    wk_cli_std_init(&o.std, "wk-pack");
    wk_gl_opts_init(&o.gl);
    int exit_now = 0;
    if (parse_args(&o, argc, argv, &exit_now, &err)) return wk_cli_fail(o.std.prog, &err);
    if (exit_now) return 0;
    wk_threads_apply(o.std.threads);
    o.gl.threads = o.std.threads;
    wk_source *src = wk_source_open(o.input, o.std.threads, &err);
    if (!src) return wk_cli_fail(o.std.prog, &err);
    if (o.list) {
        list_tensors(src);
        wk_source_close(src);
        return 0;
    }
    wk_io_install_signal_cleanup();
    wk_progress *bar = wk_cli_want_progress(&o.std) ? wk_progress_new("pack", 0, 1) : NULL;
    uint64_t size = 0;
    int rc = o.format == FMT_GGUF ? pack_gguf(&o, src, bar, &size, &err) : pack_st(&o, src, bar, &size, &err);
    wk_progress_finish(bar);
    if (!rc && !o.std.quiet)
        fprintf(stderr, "wk-pack: %s (%s, %zu tensors) -> %s (%s, %llu bytes)\n", o.input,
                wk_src_kind_name(wk_source_kind(src)), wk_source_count(src), o.output,
                o.format == FMT_GGUF ? "gguf" : "safetensors", (unsigned long long)size);
    wk_source_close(src);
    return rc ? wk_cli_fail(o.std.prog, &err) : 0;
}
