/* wk_bench.c — fidelity engine of wk-bench: formats, synthetic generators,
 * the float64 reference product, the two computation paths and their error
 * sums.  Timing lives in wk_bench_speed.c, SIMD kernels in wk_bench_avx2.c. */
#include "wk_bench.h"
#include "wk_bench_simd.h"
#include "wk_dot.h"
#include "wk_half.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* ---- formats --------------------------------------------------------------------- */

int wk_bench_fmt_parse(const char *name, wk_bench_fmt *f, wk_err *err)
{
    char base[24];
    size_t n = strlen(name);
    memset(f, 0, sizeof *f);
    if (n == 0 || n >= sizeof base)
        return wk_err_set(err, WK_E_USAGE, "unknown format '%s'", name);
    memcpy(base, name, n + 1);
    if (n > 7 && !strcasecmp(base + n - 7, "-search")) {
        f->search = 1;
        base[n - 7] = 0;
    }
    if (!strcasecmp(base, "f32")) f->kind = WK_BF_F32;
    else if (!strcasecmp(base, "f16")) f->kind = WK_BF_F16;
    else if (!strcasecmp(base, "bf16")) f->kind = WK_BF_BF16;
    else if ((f->qtype = wk_quant_type_from_name(base)) >= 0) f->kind = WK_BF_QUANT;
    else
        return wk_err_set(err, WK_E_USAGE,
                          "unknown format '%s' (f32, f16, bf16, q8_0, q5_1, q5_0, q4_1, q4_0, "
                          "q6_k, q5_k, q4_k, q3_k, q2_k, iq4_nl, iq4_xs; the first eight "
                          "quant types optionally with -search)", name);
    if (f->search && f->kind != WK_BF_QUANT)
        return wk_err_set(err, WK_E_USAGE, "'%s': -search applies to quant types only", name);
    if (f->search && !wk_quant_search_supported(f->qtype))
        return wk_err_set(err, WK_E_UNSUPPORTED, "'%s': --search is not implemented for %s", name,
                          wk_ggml_type_get(f->qtype)->lname);
    snprintf(f->name, sizeof f->name, "%s%s",
             f->kind == WK_BF_QUANT ? wk_ggml_type_get(f->qtype)->lname : f->kind == WK_BF_F32 ? "f32"
             : f->kind == WK_BF_F16 ? "f16" : "bf16", f->search ? "-search" : "");
    return 0;
}

int wk_bench_fmt_blck(const wk_bench_fmt *f)
{
    return f->kind == WK_BF_QUANT ? (int)wk_ggml_type_get(f->qtype)->blck : 1;
}

double wk_bench_fmt_bpw(const wk_bench_fmt *f)
{
    if (f->kind == WK_BF_QUANT) {
        const wk_ggml_type_info *ti = wk_ggml_type_get(f->qtype);
        return (double)ti->size * 8.0 / (int)ti->blck;
    }
    return f->kind == WK_BF_F32 ? 32.0 : 16.0;
}

size_t wk_bench_fmt_row_size(const wk_bench_fmt *f, int64_t n)
{
    if (f->kind == WK_BF_QUANT) return wk_ggml_row_size(f->qtype, n);
    return (size_t)n * (f->kind == WK_BF_F32 ? 4 : 2);
}

/* ---- synthetic inputs -------------------------------------------------------------- */

static const char *GEN_NAMES[WK_GEN_COUNT] = { "gauss", "student-t", "outlier" };

const char *wk_bench_gen_name(wk_bench_gen g)
{
    return (unsigned)g < WK_GEN_COUNT ? GEN_NAMES[g] : "?";
}

int wk_bench_gen_by_name(const char *name)
{
    for (int g = 0; g < WK_GEN_COUNT; g++)
        if (!strcasecmp(name, GEN_NAMES[g])) return g;
    return -1;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1), 53 bits. */
static double unif(uint64_t *s)
{
    return ((double)(splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double normal(uint64_t *s)
{
    double u = unif(s), v = unif(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Outlier columns: 1% of the columns, chosen by a hash of (seed, column). */
static int outlier_col(uint64_t seed, int64_t c)
{
    uint64_t s = seed ^ 0x6f75746c69657273ULL ^ ((uint64_t)c * 0xd1b54a32d192ed03ULL);
    return splitmix(&s) % 100 == 0;
}

void wk_bench_generate(wk_bench_gen g, uint64_t seed, int stream, float sigma, int64_t rows,
                       int64_t cols, float *m, int nthreads)
{
    if (nthreads <= 0) nthreads = 1;
    #pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t r = 0; r < rows; r++) {
        uint64_t s = seed * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)stream << 56) ^ ((uint64_t)g << 48)
                     ^ (uint64_t)r * 0xc2b2ae3d27d4eb4fULL;
        splitmix(&s);
        float *row = m + r * cols;
        for (int64_t c = 0; c < cols; c++) {
            double v = normal(&s);
            if (g == WK_GEN_STUDENT) {   /* t_3 / sqrt(3): unit variance */
                double a = normal(&s), b = normal(&s), d = normal(&s);
                v = v / sqrt((a * a + b * b + d * d) / 3.0) / sqrt(3.0);
            } else if (g == WK_GEN_OUTLIER && outlier_col(seed, c)) {
                v *= 10.0;
            }
            row[c] = (float)(v * sigma);
        }
    }
}

/* ---- error sums ------------------------------------------------------------------------- */

wk_bench_metrics wk_bench_finish(const wk_bench_acc *a)
{
    wk_bench_metrics m;
    m.nmse = a->ref2 > 0 ? a->sse / a->ref2 : (a->sse > 0 ? INFINITY : 0.0);
    m.rel_fro = sqrt(m.nmse);
    m.max_abs_err = a->max_abs;
    m.cosine = a->ref2 > 0 && a->y2 > 0 ? a->dot / sqrt(a->ref2 * a->y2)
               : (a->ref2 == 0 && a->y2 == 0 ? 1.0 : 0.0);
    return m;
}

void wk_bench_acc_add(wk_bench_acc *into, const wk_bench_acc *a)
{
    into->sse += a->sse;
    into->ref2 += a->ref2;
    into->y2 += a->y2;
    into->dot += a->dot;
    into->n += a->n;
    if (a->max_abs > into->max_abs) into->max_abs = a->max_abs;
}

static void acc_point(wk_bench_acc *a, double y, double ref)
{
    double e = y - ref;
    a->sse += e * e;
    a->ref2 += ref * ref;
    a->y2 += y * y;
    a->dot += y * ref;
    a->n += 1;
    if (fabs(e) > a->max_abs || e != e) a->max_abs = fabs(e);
}

/* ---- reference and float path ------------------------------------------------------ */

void wk_bench_ref_gemm(const float *w, int64_t rows, int64_t cols, const float *x, int64_t batch,
                       double *yref, int nthreads)
{
    if (nthreads <= 0) nthreads = 1;
    #pragma omp parallel for schedule(dynamic, 16) num_threads(nthreads)
    for (int64_t r = 0; r < rows; r++) {
        const float *wr = w + r * cols;
        for (int64_t b = 0; b < batch; b++) {
            const float *xb = x + b * cols;
            double s = 0;
            for (int64_t c = 0; c < cols; c++) s += (double)wr[c] * (double)xb[c];
            yref[r * batch + b] = s;
        }
    }
}

/* fp32 dot in 8 lanes, fixed pairwise reduction: the scalar reference of the
 * float path (and of the f32/f16/bf16 runtime dots). */
static float dot_f32_ref(const float *a, const float *b, int64_t n)
{
    float acc[8] = { 0 };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
    for (int l = 0; i < n; i++, l++) acc[l] += a[i] * b[i];
    return wk_dot_reduce(acc);
}

int wk_bench_quantize(const wk_bench_fmt *f, const float *w, int64_t rows, int64_t cols,
                      void *q, const char *name, int nthreads, wk_err *err)
{
    if (f->kind == WK_BF_QUANT) {
        wk_qopts o = { nthreads, f->search ? WK_QK_SEARCH : WK_QK_AUTO, name, NULL };
        return wk_quantize_rows(f->qtype, w, q, rows, cols, &o, err);
    }
    if (nthreads <= 0) nthreads = 1;
    #pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t r = 0; r < rows; r++) {
        const float *src = w + r * cols;
        if (f->kind == WK_BF_F32) memcpy((float *)q + r * cols, src, sizeof(float) * (size_t)cols);
        else if (f->kind == WK_BF_F16) wk_f32_to_f16_row(src, (uint16_t *)q + r * cols, (size_t)cols);
        else wk_f32_to_bf16_row(src, (uint16_t *)q + r * cols, (size_t)cols);
    }
    return 0;
}

/* Stored row -> floats. */
static void dequant_row(const wk_bench_fmt *f, const void *row, float *out, int64_t cols)
{
    if (f->kind == WK_BF_QUANT) wk_qtraits_get(f->qtype)->dequantize(row, out, cols);
    else if (f->kind == WK_BF_F32) memcpy(out, row, sizeof(float) * (size_t)cols);
    else if (f->kind == WK_BF_F16) wk_f16_to_f32_row(row, out, (size_t)cols);
    else wk_bf16_to_f32_row(row, out, (size_t)cols);
}

size_t wk_bench_act_row_size(const wk_bench_fmt *f, int64_t cols)
{
    if (f->kind == WK_BF_QUANT) return wk_dot_act_row_size(f->qtype, cols);
    return (size_t)cols * (f->kind == WK_BF_F32 ? 4 : 2);
}

void wk_bench_prep_act(const wk_bench_fmt *f, const float *x, void *a, int64_t cols)
{
    if (f->kind == WK_BF_QUANT) wk_dot_quantize_act(f->qtype, x, a, cols);
    else if (f->kind == WK_BF_F32) memcpy(a, x, sizeof(float) * (size_t)cols);
    else if (f->kind == WK_BF_F16) wk_f32_to_f16_row(x, a, (size_t)cols);
    else wk_f32_to_bf16_row(x, a, (size_t)cols);
}

/* Scalar reference of the 16-bit runtime dots: both operands widened exactly. */
static float dot_16_ref(int bf, const uint16_t *a, const uint16_t *b, int64_t n)
{
    float acc[8] = { 0 };
    for (int64_t i = 0; i < n; i++) {
        float x = bf ? wk_bf16_to_f32(a[i]) : wk_f16_to_f32(a[i]);
        float y = bf ? wk_bf16_to_f32(b[i]) : wk_f16_to_f32(b[i]);
        acc[i & 7] += x * y;
    }
    return wk_dot_reduce(acc);
}

float wk_bench_dot(const wk_bench_fmt *f, int simd, const void *row, const void *act, int64_t cols)
{
    switch (f->kind) {
    case WK_BF_QUANT:
        return wk_dot_row(f->qtype, simd && wk_dot_have_simd(), row, act, cols);
    case WK_BF_F32:
        if (simd && wk_cpu_has(WK_CPU_SIMD_FMA)) return wk_bench_dot_f32_fma(row, act, cols);
        return dot_f32_ref(row, act, cols);
    default:
        if (simd && wk_cpu_has(WK_CPU_SIMD_FMA))
            return wk_bench_dot_16_fma(f->kind == WK_BF_BF16, row, act, cols);
        return dot_16_ref(f->kind == WK_BF_BF16, row, act, cols);
    }
}

/* ---- fidelity -------------------------------------------------------------------------- */

int wk_bench_fidelity(const wk_bench_fmt *f, const float *w, int64_t rows, int64_t cols,
                      const float *x, int64_t batch, const double *yref, const char *name,
                      int nthreads, wk_bench_fid *out, wk_err *err)
{
    size_t rs = wk_bench_fmt_row_size(f, cols), as = wk_bench_act_row_size(f, cols);
    uint8_t *q = malloc(rs * (size_t)rows), *act = malloc(as * (size_t)batch);
    wk_bench_fid *part = calloc((size_t)rows, sizeof *part);
    int rc = -1;
    if (!q || !act || !part) {
        wk_err_set(err, WK_E_NOMEM, "%s: out of memory for %lld x %lld", name, (long long)rows,
                   (long long)cols);
        goto done;
    }
    if (wk_bench_quantize(f, w, rows, cols, q, name, nthreads, err)) goto done;
    for (int64_t b = 0; b < batch; b++) wk_bench_prep_act(f, x + b * cols, act + b * as, cols);
    if (nthreads <= 0) nthreads = 1;
    int oom = 0;
    #pragma omp parallel num_threads(nthreads)
    {
        float *deq = malloc(sizeof(float) * (size_t)cols);
        if (!deq) {
            #pragma omp atomic write
            oom = 1;
        }
        #pragma omp for schedule(dynamic, 16)
        for (int64_t r = 0; r < rows; r++) {
            wk_bench_fid *p = &part[r];
            if (!deq) continue;
            dequant_row(f, q + (size_t)r * rs, deq, cols);
            for (int64_t c = 0; c < cols; c++) acc_point(&p->weight, deq[c], w[r * cols + c]);
            for (int64_t b = 0; b < batch; b++) {
                double ref = yref[r * batch + b];
                float yf = dot_f32_ref(deq, x + b * cols, cols);
                /* the runtime path: scalar reference (= the AVX2 kernels' bits for
                 * quant types; f32/f16/bf16 use their fixed-order reference here) */
                float yr = wk_bench_dot(f, f->kind == WK_BF_QUANT, q + (size_t)r * rs,
                                        act + b * as, cols);
                acc_point(&p->fpath, yf, ref);
                acc_point(&p->rpath, yr, ref);
                acc_point(&p->diff, yr, yf);
            }
        }
        free(deq);
    }
    if (oom) {
        wk_err_set(err, WK_E_NOMEM, "%s: out of memory", name);
        goto done;
    }
    for (int64_t r = 0; r < rows; r++) {   /* reduce in row order: thread-count independent */
        wk_bench_acc_add(&out->fpath, &part[r].fpath);
        wk_bench_acc_add(&out->rpath, &part[r].rpath);
        wk_bench_acc_add(&out->diff, &part[r].diff);
        wk_bench_acc_add(&out->weight, &part[r].weight);
    }
    rc = 0;
done:
    free(q);
    free(act);
    free(part);
    return rc;
}
