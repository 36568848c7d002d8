/* wk-bench — reference matmul benchmark: numerical fidelity and kernel speed
 * of each weight format (docs/bench.md).  A thin main over wk_bench.h: parse
 * options, generate or read the matrices, run the engine, print the table,
 * write --json / --svg. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_bench.h"
#include "wk_npy.h"
#include "wk_bench_out.h"
#include "wk_cli.h"
#include "wk_dot.h"
#include "wk_half.h"
#include "wk_io.h"
#include "wk_progress.h"
#include "wk_source.h"
#include "wk_threads.h"

#define DEFAULT_TYPES "f16,bf16,q8_0,q5_1,q5_0,q4_1,q4_0,q6_k,q5_k,q4_k"

typedef struct {
    wk_cli_std_opts std;
    int64_t rows, cols, batch, gemm_batch;
    uint64_t seed;
    const char *types, *model, *acts, *json_path, *svg_path;
    int dists[WK_GEN_COUNT], ndists;
    int search, speed, fidelity, scaling, reps, max_tensors;
    double min_seconds;
} opts;

static void usage(void)
{
    printf("usage: wk-bench [options]\n"
           "  reference matmul benchmark: numerical fidelity and kernel speed per format\n\n"
           "input (default: synthetic matrices):\n"
           "  --rows N, --cols N    synthetic weight matrix size (default 4096 x 4096)\n"
           "  --dist D[,D..]        gauss, student-t, outlier or all (default gauss)\n"
           "  --seed N              seed of the synthetic weights and activations (default 1)\n"
           "  --model PATH          every 2-D tensor of a model (GGUF, safetensors, .pth,\n"
           "                        HF or Meta directory) instead of synthetic weights\n"
           "  --max-tensors N       with --model: only the first N 2-D tensors\n"
           "  --activations F.npy   activation vectors (float32/64, (cols,) or (batch, cols));\n"
           "                        tensors of another width get random ones\n"
           "  --batch N             activation vectors for the fidelity product (default 8)\n"
           "formats:\n"
           "  --types LIST          default " DEFAULT_TYPES "\n"
           "                        (also f32; NAME-search = the --search quantizer)\n"
           "  --search              add the NAME-search variant of every quant type\n"
           "speed:\n"
           "  --no-speed            fidelity only (no timings)\n"
           "  --speed-only          timings only (no fidelity part)\n"
           "  --gemm-batch N        batch of the small GEMM timing (default 8)\n"
           "  --scaling             also time GEMV with 1..j threads\n"
           "  --reps N              timed runs per figure, median reported (default 5)\n"
           "  --min-time S          minimum seconds per timed run (default 0.05)\n"
           "output:\n"
           "  --json FILE           results as JSON\n"
           "  --svg FILE            plot: error vs bits per weight, speed per format\n"
           "  -j, --threads N       OpenMP threads (default: all cores)\n"
           "  -q, --quiet           no table\n"
           "  --progress, --no-progress\n"
           "  -h, --help, -V, --version\n");
}

/* ---- argument parsing ------------------------------------------------------------- */

static int parse_i64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out,
                     wk_err *err)
{
    char *end;
    long long v;
    if (!s) return wk_err_set(err, WK_E_USAGE, "%s needs a value", opt);
    v = strtoll(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return wk_err_set(err, WK_E_USAGE, "%s: '%s' is not an integer in [%lld, %lld]", opt, s,
                          (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

static int parse_dists(opts *o, const char *s, wk_err *err)
{
    char buf[256];
    if (!s) return wk_err_set(err, WK_E_USAGE, "--dist needs a value");
    snprintf(buf, sizeof buf, "%s", s);
    o->ndists = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (!strcmp(t, "all")) {
            for (int g = 0; g < WK_GEN_COUNT; g++) o->dists[g] = g;
            o->ndists = WK_GEN_COUNT;
            return 0;
        }
        int g = wk_bench_gen_by_name(t);
        if (g < 0)
            return wk_err_set(err, WK_E_USAGE, "--dist: unknown '%s' (gauss, student-t, outlier, all)", t);
        if (o->ndists < WK_GEN_COUNT) o->dists[o->ndists++] = g;
    }
    if (!o->ndists) return wk_err_set(err, WK_E_USAGE, "--dist: empty list");
    return 0;
}

/* Returns 1 = run, 0 = exit 0 (help/version printed), -1 = error. */
static int parse_args(opts *o, int argc, char **argv, wk_err *err)
{
    memset(o, 0, sizeof *o);
    wk_cli_std_init(&o->std, "wk-bench");
    o->rows = o->cols = 4096;
    o->batch = o->gemm_batch = 8;
    o->seed = 1;
    o->types = DEFAULT_TYPES;
    o->ndists = 1;
    o->speed = 1;
    o->fidelity = 1;
    o->reps = 5;
    o->min_seconds = 0.05;
    for (int i = 1; i < argc; i++) {
        int help = 0, version = 0;
        if (!strcmp(argv[i], "--json")) {   /* ours takes a FILE (the standard flag does not) */
            if (i + 1 >= argc) return wk_err_set(err, WK_E_USAGE, "--json needs a FILE");
            o->json_path = argv[++i];
            continue;
        }
        if (!strncmp(argv[i], "--json=", 7)) { o->json_path = argv[i] + 7; continue; }
        int r = wk_cli_std(&o->std, argc, argv, &i, &help, &version, err);
        if (r < 0) return -1;
        if (help) { usage(); return 0; }
        if (version) { wk_cli_print_version(o->std.prog); return 0; }
        if (r) continue;
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (!strcmp(a, "--rows")) { if (parse_i64(a, v, 1, 1 << 20, &o->rows, err)) return -1; i++; }
        else if (!strcmp(a, "--cols")) { if (parse_i64(a, v, 1, 1 << 20, &o->cols, err)) return -1; i++; }
        else if (!strcmp(a, "--batch")) { if (parse_i64(a, v, 1, 4096, &o->batch, err)) return -1; i++; }
        else if (!strcmp(a, "--gemm-batch")) { if (parse_i64(a, v, 1, 256, &o->gemm_batch, err)) return -1; i++; }
        else if (!strcmp(a, "--seed")) { if (parse_i64(a, v, 0, INT64_MAX, &n, err)) return -1; o->seed = (uint64_t)n; i++; }
        else if (!strcmp(a, "--reps")) { if (parse_i64(a, v, 1, 1000, &n, err)) return -1; o->reps = (int)n; i++; }
        else if (!strcmp(a, "--max-tensors")) { if (parse_i64(a, v, 1, 1 << 30, &n, err)) return -1; o->max_tensors = (int)n; i++; }
        else if (!strcmp(a, "--min-time")) {
            char *end;
            if (!v || (o->min_seconds = strtod(v, &end), end == v || *end) || !(o->min_seconds >= 0) ||
                o->min_seconds > 60)
                return wk_err_set(err, WK_E_USAGE, "--min-time: need seconds in [0, 60]");
            i++;
        }
        else if (!strcmp(a, "--types")) { if (!v) return wk_err_set(err, WK_E_USAGE, "--types needs a value"); o->types = v; i++; }
        else if (!strcmp(a, "--dist")) { if (parse_dists(o, v, err)) return -1; i++; }
        else if (!strcmp(a, "--model")) { if (!v) return wk_err_set(err, WK_E_USAGE, "--model needs a path"); o->model = v; i++; }
        else if (!strcmp(a, "--activations")) { if (!v) return wk_err_set(err, WK_E_USAGE, "--activations needs a file"); o->acts = v; i++; }
        else if (!strcmp(a, "--svg")) { if (!v) return wk_err_set(err, WK_E_USAGE, "--svg needs a file"); o->svg_path = v; i++; }
        else if (!strcmp(a, "--search")) o->search = 1;
        else if (!strcmp(a, "--no-speed")) o->speed = 0;
        else if (!strcmp(a, "--speed-only")) o->fidelity = 0;
        else if (!strcmp(a, "--scaling")) o->scaling = 1;
        else return wk_err_set(err, WK_E_USAGE, "unknown option '%s' (see --help)", a);
    }
    return 1;
}

/* The format list: --types, plus -search variants with --search. */
static int parse_types(const opts *o, wk_bench_fmt *f, int cap, int *n, wk_err *err)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", o->types);
    *n = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        for (int pass = 0; pass < 2; pass++) {
            char name[40];
            snprintf(name, sizeof name, "%s%s", t, pass ? "-search" : "");
            if (pass && !o->search) break;
            if (*n >= cap) return wk_err_set(err, WK_E_USAGE, "--types: more than %d formats", cap);
            if (wk_bench_fmt_parse(name, &f[*n], err)) {
                if (pass) { wk_err_clear(err); break; }   /* f16 etc.: no -search variant */
                return -1;
            }
            int dup = 0;
            for (int k = 0; k < *n; k++) dup |= !strcmp(f[k].name, f[*n].name);
            if (!dup) (*n)++;
        }
    }
    if (!*n) return wk_err_set(err, WK_E_USAGE, "--types: empty list");
    return 0;
}

/* ---- one input matrix through every format ----------------------------------------- */

typedef struct {
    const opts *o;
    wk_bench_fmt *fmts;
    int nfmt;
    wk_bench_report *rep;
    wk_progress *prog;
    uint64_t done, total;
} run_ctx;

/* Activations for a tensor of width cols: rows of the --activations file when
 * its width matches, else seeded Gaussian ones.  *from_file set accordingly. */
static float *make_acts(const opts *o, const wk_npy_f32 *file, int64_t cols, uint64_t salt,
                        int64_t *batch, int *from_file)
{
    float *x;
    if (file && file->cols == cols) {
        *batch = file->batch;
        *from_file = 1;
        x = malloc(sizeof(float) * (size_t)(file->batch * cols));
        if (x) memcpy(x, file->x, sizeof(float) * (size_t)(file->batch * cols));
        return x;
    }
    *batch = o->batch;
    *from_file = 0;
    x = malloc(sizeof(float) * (size_t)(o->batch * cols));
    if (x) wk_bench_generate(WK_GEN_GAUSS, o->seed ^ salt, 1, 1.0f, o->batch, cols, x, o->std.threads);
    return x;
}

/* Fidelity of every format on w; adds to the report under `input`. */
static int run_matrix(run_ctx *c, const char *input, const char *tensor, const float *w,
                      int64_t rows, int64_t cols, const float *x, int64_t batch, int acts_file,
                      wk_err *err)
{
    double *yref = malloc(sizeof(double) * (size_t)(rows * batch));
    if (!yref) return wk_err_set(err, WK_E_NOMEM, "out of memory (%lld x %lld)", (long long)rows,
                                 (long long)batch);
    wk_bench_ref_gemm(w, rows, cols, x, batch, yref, c->o->std.threads);
    for (int t = 0; t < c->nfmt; t++) {
        const wk_bench_fmt *f = &c->fmts[t];
        wk_bench_fid fid;
        memset(&fid, 0, sizeof fid);
        wk_progress_set_label(c->prog, f->name);
        if (cols % wk_bench_fmt_blck(f)) {
            wk_bench_report_skip(c->rep, input, f, tensor);
        } else if (wk_bench_fidelity(f, w, rows, cols, x, batch, yref, tensor, c->o->std.threads,
                                     &fid, err) ||
                   wk_bench_report_add(c->rep, input, f, tensor, rows, cols, batch, acts_file, &fid,
                                       err)) {
            free(yref);
            return -1;
        }
        c->done += (uint64_t)(rows * cols);
        wk_progress_update(c->prog, c->done);
    }
    free(yref);
    return 0;
}

static int run_synthetic(run_ctx *c, const wk_npy_f32 *file, wk_err *err)
{
    const opts *o = c->o;
    float *w = malloc(sizeof(float) * (size_t)(o->rows * o->cols));
    if (!w) return wk_err_set(err, WK_E_NOMEM, "out of memory for %lld x %lld weights",
                              (long long)o->rows, (long long)o->cols);
    for (int d = 0; d < o->ndists; d++) {
        wk_bench_gen g = (wk_bench_gen)o->dists[d];
        int64_t batch;
        int from_file;
        float *x;
        wk_bench_generate(g, o->seed, 0, 0.02f, o->rows, o->cols, w, o->std.threads);
        if (file && file->cols == o->cols) x = make_acts(o, file, o->cols, 0, &batch, &from_file);
        else {   /* synthetic activations follow the same distribution (unit scale) */
            batch = o->batch;
            from_file = 0;
            x = malloc(sizeof(float) * (size_t)(batch * o->cols));
            if (x) wk_bench_generate(g, o->seed, 1, 1.0f, batch, o->cols, x, o->std.threads);
        }
        if (!x) { free(w); return wk_err_set(err, WK_E_NOMEM, "out of memory for activations"); }
        int rc = run_matrix(c, wk_bench_gen_name(g), NULL, w, o->rows, o->cols, x, batch, from_file, err);
        free(x);
        if (rc) { free(w); return -1; }
    }
    free(w);
    return 0;
}

/* Tensor i of s as float32 (rows x cols); NULL with *err. */
static float *tensor_f32(const wk_source *s, size_t i, uint8_t **scratch, size_t *cap, wk_err *err)
{
    const wk_source_tensor *t = wk_source_tensor_at(s, i);
    size_t n = (size_t)(t->shape[0] * t->shape[1]);
    const uint8_t *p = wk_source_get(s, i, scratch, cap, err);
    if (!p) return NULL;
    float *w = malloc(sizeof(float) * n);
    if (!w) { wk_err_set(err, WK_E_NOMEM, "%s: out of memory", t->name); return NULL; }
    if (t->dtype == WK_DT_F32) memcpy(w, p, sizeof(float) * n);
    else if (t->dtype == WK_DT_F16) wk_f16_to_f32_row((const uint16_t *)(const void *)p, w, n);
    else if (t->dtype == WK_DT_BF16) wk_bf16_to_f32_row((const uint16_t *)(const void *)p, w, n);
    else {
        const wk_qtraits *qt = wk_qtraits_by_ggml(t->ggml_type);
        if (!qt) { free(w); wk_err_set(err, WK_E_UNSUPPORTED, "%s: unsupported type", t->name); return NULL; }
        for (int64_t r = 0; r < t->shape[0]; r++)
            qt->dequantize(p + wk_quant_row_size(qt, t->shape[1]) * (size_t)r,
                           w + (size_t)(r * t->shape[1]), t->shape[1]);
    }
    return w;
}

/* A 2-D tensor weightkit can turn into floats. */
static int usable(const wk_source_tensor *t)
{
    if (t->ndim != 2 || t->shape[0] <= 0 || t->shape[1] <= 0) return 0;
    if (t->dtype == WK_DT_F32 || t->dtype == WK_DT_F16 || t->dtype == WK_DT_BF16) return 1;
    return t->dtype == WK_DT_COUNT && wk_qtraits_by_ggml(t->ggml_type) &&
           t->shape[1] % wk_qtraits_by_ggml(t->ggml_type)->blck == 0;
}

static int run_model(run_ctx *c, const wk_npy_f32 *file, wk_err *err)
{
    const opts *o = c->o;
    wk_source *s = wk_source_open(o->model, o->std.threads, err);
    uint8_t *scratch = NULL;
    size_t cap = 0;
    int rc = 0, used = 0;
    if (!s) return -1;
    for (size_t i = 0; i < wk_source_count(s) && !rc; i++) {
        const wk_source_tensor *t = wk_source_tensor_at(s, i);
        if (!usable(t) || (o->max_tensors && used >= o->max_tensors)) continue;
        used++;
        int64_t batch;
        int from_file;
        float *w = tensor_f32(s, i, &scratch, &cap, err);
        float *x = w ? make_acts(o, file, t->shape[1], (uint64_t)i * 0x9e3779b97f4a7c15ULL, &batch,
                                 &from_file) : NULL;
        if (!w) rc = -1;
        else if (!x) rc = wk_err_set(err, WK_E_NOMEM, "out of memory for activations");
        else rc = run_matrix(c, "model", t->name, w, t->shape[0], t->shape[1], x, batch, from_file, err);
        free(w);
        free(x);
    }
    if (!rc && !used)
        rc = wk_err_set(err, WK_E_USAGE, "%s: no 2-D float or quantized tensors", o->model);
    free(scratch);
    wk_source_close(s);
    return rc;
}

/* Total work for the progress bar (values x formats). */
static uint64_t total_work(const opts *o, int nfmt)
{
    return (uint64_t)(o->model ? 0 : o->rows * o->cols * o->ndists) * (uint64_t)nfmt;
}

/* ---- speed --------------------------------------------------------------------------- */

static int run_speed(run_ctx *c, wk_err *err)
{
    const opts *o = c->o;
    int nthr = wk_threads_apply(o->std.threads);
    int64_t rows = o->rows, cols = o->cols;
    float *w = malloc(sizeof(float) * (size_t)(rows * cols));
    float *x = malloc(sizeof(float) * (size_t)(cols * o->gemm_batch));
    void *q = malloc(sizeof(float) * (size_t)(rows * cols));
    int rc = -1;
    if (!w || !x || !q) { wk_err_set(err, WK_E_NOMEM, "out of memory for the speed matrices"); goto done; }
    wk_bench_generate(WK_GEN_GAUSS, o->seed, 0, 0.02f, rows, cols, w, nthr);
    wk_bench_generate(WK_GEN_GAUSS, o->seed, 1, 1.0f, o->gemm_batch, cols, x, nthr);
    wk_progress_set_label(c->prog, "machine");
    double bw, rbw;
    if (wk_bench_copy_bw((size_t)64 << 20, nthr, o->reps, &bw, err) ||
        wk_bench_read_bw((size_t)128 << 20, nthr, o->reps, &rbw, err))
        goto done;
    wk_bench_report_machine(c->rep, nthr, rbw, bw, wk_bench_fma_peak(nthr, o->reps),
                            wk_bench_have_fma(), wk_dot_have_simd());
    wk_bench_fmt f32;
    (void)wk_bench_fmt_parse("f32", &f32, err);
    for (int t = -1; t < c->nfmt; t++) {
        const wk_bench_fmt *f = t < 0 ? &f32 : &c->fmts[t];
        wk_bench_speed gemv, gemm;
        if (cols % wk_bench_fmt_blck(f)) continue;
        wk_progress_set_label(c->prog, f->name);
        if (wk_bench_quantize(f, w, rows, cols, q, f->name, nthr, err) ||
            wk_bench_time_gemm(f, q, rows, cols, x, 1, nthr, o->reps, o->min_seconds, &gemv, err) ||
            wk_bench_time_gemm(f, q, rows, cols, x, o->gemm_batch, nthr, o->reps, o->min_seconds,
                               &gemm, err))
            goto done;
        wk_bench_report_speed(c->rep, f, rows, cols, o->gemm_batch, &gemv, &gemm);
        for (int j = 1; o->scaling && j <= nthr; j++) {
            wk_bench_speed s;
            if (wk_bench_time_gemm(f, q, rows, cols, x, 1, j, o->reps, o->min_seconds, &s, err))
                goto done;
            wk_bench_report_scaling(c->rep, f, j, &s);
        }
    }
    rc = 0;
done:
    free(w);
    free(x);
    free(q);
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    wk_err err;
    wk_bench_fmt fmts[64];
    int nfmt = 0, r;
    wk_npy_f32 file = { 0 };
    wk_err_clear(&err);
    r = parse_args(&o, argc, argv, &err);
    if (r <= 0) return r < 0 ? wk_cli_fail(o.std.prog, &err) : 0;
    if (parse_types(&o, fmts, 64, &nfmt, &err)) return wk_cli_fail(o.std.prog, &err);
    if (!o.fidelity && !o.speed) {
        wk_err_set(&err, WK_E_USAGE, "--speed-only and --no-speed leave nothing to do");
        return wk_cli_fail(o.std.prog, &err);
    }
    o.std.threads = wk_threads_apply(o.std.threads);
    wk_io_install_signal_cleanup(); /* temporaries of --json/--svg; truncated inputs named */
    if (o.acts && wk_npy_read(o.acts, &file, &err)) return wk_cli_fail(o.std.prog, &err);

    wk_bench_report *rep = wk_bench_report_new(&o.seed, o.model, o.acts, o.std.threads, &err);
    if (!rep) { wk_npy_free(&file); return wk_cli_fail(o.std.prog, &err); }
    run_ctx c = { &o, fmts, nfmt, rep, NULL, 0, total_work(&o, nfmt) };
    c.prog = wk_progress_new("wk-bench", c.total, wk_cli_want_progress(&o.std));
    int rc = !o.fidelity ? 0
             : o.model ? run_model(&c, o.acts ? &file : NULL, &err)
                       : run_synthetic(&c, o.acts ? &file : NULL, &err);
    if (!rc && o.speed) rc = run_speed(&c, &err);
    wk_progress_finish(c.prog);
    if (!rc && !o.std.quiet) wk_bench_report_print(rep, stdout);
    if (!rc && o.json_path) rc = wk_bench_report_json(rep, o.json_path, &err);
    if (!rc && o.svg_path) rc = wk_bench_report_svg(rep, o.svg_path, &err);
    wk_bench_report_free(rep);
    wk_npy_free(&file);
    if (rc) return wk_cli_fail(o.std.prog, &err);
    if (fflush(stdout) || ferror(stdout)) {
        wk_err_set(&err, WK_E_IO, "writing the table to stdout failed");
        return wk_cli_fail(o.std.prog, &err);
    }
    return 0;
}
