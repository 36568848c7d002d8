/* wk_bench_run.c — a wk-bench run (see wk_bench_run.h): fidelity of every
 * format on synthetic matrices or a model's tensors, then kernel speed. */
#include "wk_bench_run.h"

#include <stdlib.h>
#include <string.h>

#include "wk_dot.h"
#include "wk_half.h"
#include "wk_source.h"
#include "wk_threads.h"

/* ---- one input matrix through every format ----------------------------------------- */

typedef struct {
    const wk_bench_run_opts *o;
    const wk_bench_fmt *fmts;
    int nfmt;
    wk_bench_report *rep;
    uint64_t done, total;
} run_ctx;

/* A new stage of the run (a format's name, "machine"). */
static void stage(run_ctx *c, const char *label)
{
    if (c->o->stage) c->o->stage(c->o->progress_ctx, label);
}

static void progress(run_ctx *c)
{
    if (c->o->progress) c->o->progress(c->o->progress_ctx, c->done, c->total);
}

/* Activations for a tensor of width cols: rows of the --activations file when
 * its width matches, else seeded Gaussian ones.  *from_file set accordingly. */
static float *make_acts(const wk_bench_run_opts *o, const wk_npy_f32 *file, int64_t cols, uint64_t salt,
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
    if (x) wk_bench_generate(WK_GEN_GAUSS, o->seed ^ salt, 1, 1.0f, o->batch, cols, x, o->threads);
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
    wk_bench_ref_gemm(w, rows, cols, x, batch, yref, c->o->threads);
    for (int t = 0; t < c->nfmt; t++) {
        const wk_bench_fmt *f = &c->fmts[t];
        wk_bench_fid fid;
        memset(&fid, 0, sizeof fid);
        stage(c, f->name);
        if (cols % wk_bench_fmt_blck(f)) {
            wk_bench_report_skip(c->rep, input, f, tensor);
        } else if (wk_bench_fidelity(f, w, rows, cols, x, batch, yref, tensor, c->o->threads,
                                     &fid, err) ||
                   wk_bench_report_add(c->rep, input, f, tensor, rows, cols, batch, acts_file, &fid,
                                       err)) {
            free(yref);
            return -1;
        }
        c->done += (uint64_t)(rows * cols);
        progress(c);
    }
    free(yref);
    return 0;
}

static int run_synthetic(run_ctx *c, const wk_npy_f32 *file, wk_err *err)
{
    const wk_bench_run_opts *o = c->o;
    float *w = malloc(sizeof(float) * (size_t)(o->rows * o->cols));
    if (!w) return wk_err_set(err, WK_E_NOMEM, "out of memory for %lld x %lld weights",
                              (long long)o->rows, (long long)o->cols);
    for (int d = 0; d < o->ndists; d++) {
        wk_bench_gen g = (wk_bench_gen)o->dists[d];
        int64_t batch;
        int from_file;
        float *x;
        wk_bench_generate(g, o->seed, 0, 0.02f, o->rows, o->cols, w, o->threads);
        if (file && file->cols == o->cols) x = make_acts(o, file, o->cols, 0, &batch, &from_file);
        else {   /* synthetic activations follow the same distribution (unit scale) */
            batch = o->batch;
            from_file = 0;
            x = malloc(sizeof(float) * (size_t)(batch * o->cols));
            if (x) wk_bench_generate(g, o->seed, 1, 1.0f, batch, o->cols, x, o->threads);
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
        const wk_qtraits *qt = wk_qtraits_get(t->ggml_type);
        if (!qt) { free(w); wk_err_set(err, WK_E_UNSUPPORTED, "%s: unsupported type", t->name); return NULL; }
        for (int64_t r = 0; r < t->shape[0]; r++)
            qt->dequantize(p + wk_ggml_row_size(t->ggml_type, t->shape[1]) * (size_t)r,
                           w + (size_t)(r * t->shape[1]), t->shape[1]);
    }
    return w;
}

/* A 2-D tensor weightkit can turn into floats. */
static int usable(const wk_source_tensor *t)
{
    if (t->ndim != 2 || t->shape[0] <= 0 || t->shape[1] <= 0) return 0;
    if (t->dtype == WK_DT_F32 || t->dtype == WK_DT_F16 || t->dtype == WK_DT_BF16) return 1;
    return t->dtype == WK_DT_COUNT && wk_qtraits_get(t->ggml_type) &&
           t->shape[1] % wk_ggml_type_get(t->ggml_type)->blck == 0;
}

static int run_model(run_ctx *c, const wk_npy_f32 *file, wk_err *err)
{
    const wk_bench_run_opts *o = c->o;
    wk_source *s = wk_source_open(o->model, o->threads, err);
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

uint64_t wk_bench_run_total(const wk_bench_run_opts *o, int nfmt)
{
    return (uint64_t)(o->model ? 0 : o->rows * o->cols * o->ndists) * (uint64_t)nfmt;
}

/* ---- speed --------------------------------------------------------------------------- */

static int run_speed(run_ctx *c, wk_err *err)
{
    const wk_bench_run_opts *o = c->o;
    int nthr = wk_threads_apply(o->threads);
    int64_t rows = o->rows, cols = o->cols;
    float *w = malloc(sizeof(float) * (size_t)(rows * cols));
    float *x = malloc(sizeof(float) * (size_t)(cols * o->gemm_batch));
    void *q = malloc(sizeof(float) * (size_t)(rows * cols));
    int rc = -1;
    if (!w || !x || !q) { wk_err_set(err, WK_E_NOMEM, "out of memory for the speed matrices"); goto done; }
    wk_bench_generate(WK_GEN_GAUSS, o->seed, 0, 0.02f, rows, cols, w, nthr);
    wk_bench_generate(WK_GEN_GAUSS, o->seed, 1, 1.0f, o->gemm_batch, cols, x, nthr);
    stage(c, "machine");
    double bw, rbw;
    if (wk_bench_copy_bw((size_t)64 << 20, nthr, o->reps, &bw, err) ||
        wk_bench_read_bw((size_t)128 << 20, nthr, o->reps, &rbw, err))
        goto done;
    wk_bench_report_machine(c->rep, nthr, rbw, bw, wk_bench_fma_peak(nthr, o->reps),
                            wk_cpu_has(WK_CPU_SIMD_FMA), wk_dot_have_simd());
    wk_bench_fmt f32;
    (void)wk_bench_fmt_parse("f32", &f32, err);
    for (int t = -1; t < c->nfmt; t++) {
        const wk_bench_fmt *f = t < 0 ? &f32 : &c->fmts[t];
        wk_bench_speed gemv, gemm;
        if (cols % wk_bench_fmt_blck(f)) continue;
        stage(c, f->name);
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

int wk_bench_run(const wk_bench_run_opts *o, const wk_bench_fmt *fmts, int nfmt, wk_bench_report *rep,
                 wk_err *err)
{
    run_ctx c = { o, fmts, nfmt, rep, 0, wk_bench_run_total(o, nfmt) };
    int rc = !o->fidelity ? 0
             : o->model ? run_model(&c, o->acts, err)
                        : run_synthetic(&c, o->acts, err);
    if (!rc && o->speed) rc = run_speed(&c, err);
    return rc;
}
