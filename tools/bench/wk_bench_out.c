/* wk_bench_out.c — wk-bench's report: records, the stdout table, JSON and
 * the SVG plot (see wk_bench_out.h). */
#include "wk_bench_out.h"
#include "wk_buf.h"
#include "wk_io.h"
#include "wk_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_THREADS_SCALING 64

typedef struct {
    char input[16];
    wk_bench_fmt fmt;
    wk_bench_fid fid;
    int ntensors, nskipped, nacts_file;
    int64_t rows, cols, batch;   /* of the last matrix (synthetic: the only one) */
} rec;

typedef struct {
    char *tensor;
    char fmt[24];
    int64_t rows, cols;
    wk_bench_fid fid;
} trec;

typedef struct {
    wk_bench_fmt fmt;
    int64_t rows, cols, gemm_batch;
    wk_bench_speed gemv, gemm;
    int nscal;
    wk_bench_speed scal[MAX_THREADS_SCALING];
} srec;

struct wk_bench_report {
    uint64_t seed;
    const char *model, *acts;
    int threads;
    rec *recs;
    size_t nrec, caprec;
    trec *trecs;
    size_t ntrec, captrec;
    srec speeds[65];
    int nspeed;
    int have_machine, mach_threads, have_fma, have_dot;
    double read_gbs, copy_gbs, fma_gflops;
};

wk_bench_report *wk_bench_report_new(const uint64_t *seed, const char *model, const char *acts,
                                     int threads, wk_err *err)
{
    wk_bench_report *r = calloc(1, sizeof *r);
    if (!r) { wk_err_set(err, WK_E_NOMEM, "out of memory"); return NULL; }
    r->seed = *seed;
    r->model = model;
    r->acts = acts;
    r->threads = threads;
    return r;
}

void wk_bench_report_free(wk_bench_report *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->ntrec; i++) free(r->trecs[i].tensor);
    free(r->trecs);
    free(r->recs);
    free(r);
}

/* The record (input, f), created empty if missing; NULL on OOM. */
static rec *find_rec(wk_bench_report *r, const char *input, const wk_bench_fmt *f)
{
    for (size_t i = 0; i < r->nrec; i++)
        if (!strcmp(r->recs[i].input, input) && !strcmp(r->recs[i].fmt.name, f->name))
            return &r->recs[i];
    if (r->nrec == r->caprec) {
        size_t cap = r->caprec ? 2 * r->caprec : 16;
        rec *p = realloc(r->recs, cap * sizeof *p);
        if (!p) return NULL;
        r->recs = p;
        r->caprec = cap;
    }
    rec *e = &r->recs[r->nrec++];
    memset(e, 0, sizeof *e);
    snprintf(e->input, sizeof e->input, "%s", input);
    e->fmt = *f;
    return e;
}

int wk_bench_report_add(wk_bench_report *r, const char *input, const wk_bench_fmt *f,
                        const char *tensor, int64_t rows, int64_t cols, int64_t batch,
                        int acts_file, const wk_bench_fid *fid, wk_err *err)
{
    rec *e = find_rec(r, input, f);
    if (!e) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    wk_bench_acc_add(&e->fid.fpath, &fid->fpath);
    wk_bench_acc_add(&e->fid.rpath, &fid->rpath);
    wk_bench_acc_add(&e->fid.diff, &fid->diff);
    wk_bench_acc_add(&e->fid.weight, &fid->weight);
    e->ntensors++;
    e->nacts_file += acts_file;
    e->rows = rows;
    e->cols = cols;
    e->batch = batch;
    if (!tensor) return 0;
    if (r->ntrec == r->captrec) {
        size_t cap = r->captrec ? 2 * r->captrec : 64;
        trec *p = realloc(r->trecs, cap * sizeof *p);
        if (!p) return wk_err_set(err, WK_E_NOMEM, "out of memory");
        r->trecs = p;
        r->captrec = cap;
    }
    trec *t = &r->trecs[r->ntrec];
    if (!(t->tensor = strdup(tensor))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    snprintf(t->fmt, sizeof t->fmt, "%s", f->name);
    t->rows = rows;
    t->cols = cols;
    t->fid = *fid;
    r->ntrec++;
    return 0;
}

void wk_bench_report_skip(wk_bench_report *r, const char *input, const wk_bench_fmt *f,
                          const char *tensor)
{
    rec *e = find_rec(r, input, f);
    (void)tensor;
    if (e) e->nskipped++;
}

void wk_bench_report_machine(wk_bench_report *r, int threads, double read_gbs, double copy_gbs,
                             double fma_gflops, int have_fma, int have_avx2_dot)
{
    r->read_gbs = read_gbs;
    r->have_machine = 1;
    r->mach_threads = threads;
    r->copy_gbs = copy_gbs;
    r->fma_gflops = fma_gflops;
    r->have_fma = have_fma;
    r->have_dot = have_avx2_dot;
}

static srec *find_speed(wk_bench_report *r, const wk_bench_fmt *f, int create)
{
    for (int i = 0; i < r->nspeed; i++)
        if (!strcmp(r->speeds[i].fmt.name, f->name)) return &r->speeds[i];
    if (!create || r->nspeed == (int)(sizeof r->speeds / sizeof r->speeds[0])) return NULL;
    srec *s = &r->speeds[r->nspeed++];
    memset(s, 0, sizeof *s);
    s->fmt = *f;
    return s;
}

void wk_bench_report_speed(wk_bench_report *r, const wk_bench_fmt *f, int64_t rows, int64_t cols,
                           int64_t gemm_batch, const wk_bench_speed *gemv,
                           const wk_bench_speed *gemm)
{
    srec *s = find_speed(r, f, 1);
    if (!s) return;
    s->rows = rows;
    s->cols = cols;
    s->gemm_batch = gemm_batch;
    s->gemv = *gemv;
    s->gemm = *gemm;
}

void wk_bench_report_scaling(wk_bench_report *r, const wk_bench_fmt *f, int threads,
                             const wk_bench_speed *gemv)
{
    srec *s = find_speed(r, f, 1);
    if (s && threads >= 1 && threads <= MAX_THREADS_SCALING) {
        s->scal[threads - 1] = *gemv;
        if (threads > s->nscal) s->nscal = threads;
    }
}

/* Roofline GFLOP/s of f at batch b: min(FMA peak, read bandwidth x flops per
 * weight byte). */
static double roofline(const wk_bench_report *r, const wk_bench_fmt *f, int64_t b)
{
    double flops_per_byte = 2.0 * (double)b / (wk_bench_fmt_bpw(f) / 8.0);
    double mem = r->read_gbs * flops_per_byte;
    return mem < r->fma_gflops ? mem : r->fma_gflops;
}

/* ---- table ------------------------------------------------------------------------------ */

void wk_bench_report_print(const wk_bench_report *r, FILE *out)
{
    const char *last = "";
    for (size_t i = 0; i < r->nrec; i++) {
        const rec *e = &r->recs[i];
        if (strcmp(e->input, last)) {
            last = e->input;
            if (r->model)
                fprintf(out, "== fidelity: %s (2-D tensors pooled), activations %s, seed %llu ==\n",
                        r->model, r->acts ? r->acts : "random", (unsigned long long)r->seed);
            else
                fprintf(out, "== fidelity: %s %lld x %lld, %lld activation vectors%s, seed %llu ==\n",
                        e->input, (long long)e->rows, (long long)e->cols, (long long)e->batch,
                        e->nacts_file ? " (from file)" : "", (unsigned long long)r->seed);
            fprintf(out, "%-12s %6s %11s %11s %11s %9s %11s %10s %11s%s\n", "type", "bpw",
                    "nmse", "nmse_int", "int_vs_flt", "rel_fro", "max_abs_err", "cosine", "w_nmse",
                    r->model ? "  tensors" : "");
        }
        if (!e->ntensors) {
            fprintf(out, "%-12s %6.3f   (skipped: rows not whole blocks)\n", e->fmt.name,
                    wk_bench_fmt_bpw(&e->fmt));
            continue;
        }
        wk_bench_metrics f = wk_bench_finish(&e->fid.fpath), q = wk_bench_finish(&e->fid.rpath);
        wk_bench_metrics d = wk_bench_finish(&e->fid.diff), w = wk_bench_finish(&e->fid.weight);
        fprintf(out, "%-12s %6.3f %11.3e %11.3e %11.3e %9.3e %11.3e %10.7f %11.3e", e->fmt.name,
                wk_bench_fmt_bpw(&e->fmt), f.nmse, q.nmse, d.nmse, f.rel_fro, f.max_abs_err,
                f.cosine, w.nmse);
        if (r->model) fprintf(out, "  %d%s", e->ntensors, e->nskipped ? " (+skipped)" : "");
        fputc('\n', out);
    }
    if (!r->have_machine) return;
    const srec *base = NULL;
    for (int i = 0; i < r->nspeed; i++)
        if (r->speeds[i].fmt.kind == WK_BF_F32) base = &r->speeds[i];
    fprintf(out, "== speed: %d thread%s; read %.1f GB/s, copy %.1f GB/s, FMA peak %.1f GFLOP/s%s ==\n",
            r->mach_threads, r->mach_threads == 1 ? "" : "s", r->read_gbs, r->copy_gbs, r->fma_gflops,
            r->have_dot ? "" : " (no AVX2: scalar kernels)");
    if (r->nspeed)
        fprintf(out, "%-12s %6s %9s %8s %8s %6s %6s %8s %7s %6s\n", "type", "bpw", "gemv_ms",
                "GFLOP/s", "GB/s", "x_f32", "%roof", "gemm", "GFLOP/s", "x_f32");
    for (int i = 0; i < r->nspeed; i++) {
        const srec *s = &r->speeds[i];
        double rv = roofline(r, &s->fmt, 1);
        fprintf(out, "%-12s %6.3f %9.3f %8.2f %8.2f %6.2f %5.0f%% %8s %7.2f %6.2f\n", s->fmt.name,
                wk_bench_fmt_bpw(&s->fmt), s->gemv.seconds * 1e3, s->gemv.gflops, s->gemv.gbs,
                base ? s->gemv.gflops / base->gemv.gflops : 0, 100 * s->gemv.gflops / rv, "",
                s->gemm.gflops, base ? s->gemm.gflops / base->gemm.gflops : 0);
        if (s->nscal) {
            fprintf(out, "%-12s   GEMV GFLOP/s by threads:", "");
            for (int j = 0; j < s->nscal; j++) fprintf(out, " %d:%.2f", j + 1, s->scal[j].gflops);
            fputc('\n', out);
        }
    }
    if (r->nspeed)
        fprintf(out, "(gemv: %lld x %lld, batch 1; gemm: batch %lld; activation quantization "
                "included; medians)\n", (long long)r->speeds[0].rows, (long long)r->speeds[0].cols,
                (long long)r->speeds[0].gemm_batch);
}

/* ---- JSON ------------------------------------------------------------------------------- */

typedef struct { int bad; } jst;

static wk_json *num(double d) { return isfinite(d) ? wk_json_new_double(d) : wk_json_new_null(); }

static void put(jst *s, wk_json *o, const char *k, wk_json *v)
{
    wk_err e;
    if (s->bad || !o) { wk_json_free(v); s->bad = 1; return; }
    if (wk_json_object_append(o, k, v, &e)) s->bad = 1;
}

static void push(jst *s, wk_json *a, wk_json *v)
{
    wk_err e;
    if (s->bad || !a) { wk_json_free(v); s->bad = 1; return; }
    if (wk_json_array_push(a, v, &e)) s->bad = 1;
}

static wk_json *metrics_obj(jst *s, const wk_bench_acc *a)
{
    wk_bench_metrics m = wk_bench_finish(a);
    wk_json *o = wk_json_new_object();
    put(s, o, "nmse", num(m.nmse));
    put(s, o, "rel_fro", num(m.rel_fro));
    put(s, o, "max_abs_err", num(m.max_abs_err));
    put(s, o, "cosine", num(m.cosine));
    return o;
}

static wk_json *speed_obj(jst *s, const wk_bench_speed *p)
{
    wk_json *o = wk_json_new_object();
    put(s, o, "seconds", num(p->seconds));
    put(s, o, "gflops", num(p->gflops));
    put(s, o, "gbs", num(p->gbs));
    return o;
}

static const srec *speed_of(const wk_bench_report *r, const char *name)
{
    for (int i = 0; i < r->nspeed; i++)
        if (!strcmp(r->speeds[i].fmt.name, name)) return &r->speeds[i];
    return NULL;
}

static wk_json *speed_json(jst *s, const wk_bench_report *r, const srec *sp)
{
    const srec *base = speed_of(r, "f32");
    wk_json *o = wk_json_new_object();
    put(s, o, "rows", wk_json_new_int(sp->rows));
    put(s, o, "cols", wk_json_new_int(sp->cols));
    put(s, o, "gemv", speed_obj(s, &sp->gemv));
    put(s, o, "gemm_batch", wk_json_new_int(sp->gemm_batch));
    put(s, o, "gemm", speed_obj(s, &sp->gemm));
    put(s, o, "gemv_vs_f32", num(base ? sp->gemv.gflops / base->gemv.gflops : NAN));
    put(s, o, "gemm_vs_f32", num(base ? sp->gemm.gflops / base->gemm.gflops : NAN));
    put(s, o, "gemv_roofline_gflops", num(roofline(r, &sp->fmt, 1)));
    put(s, o, "gemv_roofline_fraction", num(sp->gemv.gflops / roofline(r, &sp->fmt, 1)));
    put(s, o, "gemm_roofline_gflops", num(roofline(r, &sp->fmt, sp->gemm_batch)));
    if (sp->nscal) {
        wk_json *a = wk_json_new_array();
        for (int j = 0; j < sp->nscal; j++) {
            wk_json *p = wk_json_new_object();
            put(s, p, "threads", wk_json_new_int(j + 1));
            put(s, p, "gemv_gflops", num(sp->scal[j].gflops));
            put(s, p, "gemv_gbs", num(sp->scal[j].gbs));
            push(s, a, p);
        }
        put(s, o, "scaling", a);
    }
    return o;
}

static wk_json *rec_json(jst *s, const wk_bench_report *r, const rec *e)
{
    wk_json *o = wk_json_new_object();
    wk_bench_metrics f = wk_bench_finish(&e->fid.fpath);
    put(s, o, "type", wk_json_new_string(e->fmt.name));
    put(s, o, "input", wk_json_new_string(e->input));
    put(s, o, "search", wk_json_new_bool(e->fmt.search));
    put(s, o, "bits_per_weight", num(wk_bench_fmt_bpw(&e->fmt)));
    put(s, o, "tensors", wk_json_new_int(e->ntensors));
    put(s, o, "skipped_tensors", wk_json_new_int(e->nskipped));
    put(s, o, "outputs", wk_json_new_int((int64_t)e->fid.fpath.n));
    if (e->ntensors) {
        put(s, o, "nmse", num(f.nmse));
        put(s, o, "rel_fro", num(f.rel_fro));
        put(s, o, "max_abs_err", num(f.max_abs_err));
        put(s, o, "cosine", num(f.cosine));
        put(s, o, "float_path", metrics_obj(s, &e->fid.fpath));
        put(s, o, "int_path", metrics_obj(s, &e->fid.rpath));
        put(s, o, "int_vs_float", metrics_obj(s, &e->fid.diff));
        put(s, o, "weight_nmse", num(wk_bench_finish(&e->fid.weight).nmse));
    }
    const srec *sp = speed_of(r, e->fmt.name);
    if (sp && r->have_machine) put(s, o, "speed", speed_json(s, r, sp));
    return o;
}

/* The JSON report into *b (initialised by the caller). */
static int render_json(const wk_bench_report *r, wk_buf *b, wk_err *err)
{
    jst s = { 0 };
    wk_json *root = wk_json_new_object();
    put(&s, root, "tool", wk_json_new_string("wk-bench"));
    put(&s, root, "version", wk_json_new_string(WK_VERSION_STRING));
    put(&s, root, "seed", wk_json_new_int((int64_t)r->seed));
    put(&s, root, "input", wk_json_new_string(r->model ? "model" : "synthetic"));
    if (r->model) put(&s, root, "model", wk_json_new_string(r->model));
    put(&s, root, "activations", wk_json_new_string(r->acts ? r->acts : "random"));
    put(&s, root, "threads", wk_json_new_int(r->threads));
    if (r->have_machine) {
        wk_json *m = wk_json_new_object();
        put(&s, m, "threads", wk_json_new_int(r->mach_threads));
        put(&s, m, "read_gbs", num(r->read_gbs));
        put(&s, m, "copy_gbs", num(r->copy_gbs));
        put(&s, m, "fma_gflops", num(r->fma_gflops));
        put(&s, m, "avx2_fma", wk_json_new_bool(r->have_fma));
        put(&s, m, "avx2_dot", wk_json_new_bool(r->have_dot));
        put(&s, root, "machine", m);
    }
    wk_json *res = wk_json_new_array();
    for (size_t i = 0; i < r->nrec; i++) push(&s, res, rec_json(&s, r, &r->recs[i]));
    for (int i = 0; i < r->nspeed && r->have_machine; i++) {   /* timed, no fidelity record */
        const srec *sp = &r->speeds[i];
        int seen = sp->fmt.kind == WK_BF_F32;
        for (size_t j = 0; j < r->nrec && !seen; j++) seen = !strcmp(r->recs[j].fmt.name, sp->fmt.name);
        if (seen) continue;
        wk_json *o = wk_json_new_object();
        put(&s, o, "type", wk_json_new_string(sp->fmt.name));
        put(&s, o, "search", wk_json_new_bool(sp->fmt.search));
        put(&s, o, "bits_per_weight", num(wk_bench_fmt_bpw(&sp->fmt)));
        put(&s, o, "speed", speed_json(&s, r, sp));
        push(&s, res, o);
    }
    put(&s, root, "results", res);
    const srec *base = speed_of(r, "f32");
    if (base && r->have_machine) put(&s, root, "f32_baseline", speed_json(&s, r, base));
    if (r->ntrec) {
        wk_json *ts = wk_json_new_array();
        for (size_t i = 0; i < r->ntrec; i++) {
            const trec *t = &r->trecs[i];
            wk_json *o = wk_json_new_object();
            put(&s, o, "tensor", wk_json_new_string(t->tensor));
            put(&s, o, "type", wk_json_new_string(t->fmt));
            put(&s, o, "rows", wk_json_new_int(t->rows));
            put(&s, o, "cols", wk_json_new_int(t->cols));
            put(&s, o, "nmse", num(wk_bench_finish(&t->fid.fpath).nmse));
            put(&s, o, "nmse_int", num(wk_bench_finish(&t->fid.rpath).nmse));
            put(&s, o, "max_abs_err", num(wk_bench_finish(&t->fid.fpath).max_abs_err));
            put(&s, o, "cosine", num(wk_bench_finish(&t->fid.fpath).cosine));
            push(&s, ts, o);
        }
        put(&s, root, "tensors", ts);
    }
    int rc = -1;
    if (s.bad) wk_err_set(err, WK_E_NOMEM, "out of memory building the JSON report");
    else if (!wk_json_dump(root, &(wk_json_dump_opts){ 2, 0, 1, 0, NULL, NULL }, b, err)) {
        wk_buf_putc(b, '\n');
        rc = wk_buf_check(b, err);
    }
    wk_json_free(root);
    return rc;
}

/* ---- SVG ---------------------------------------------------------------------------------- */

static const char *COLORS[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                "#8c564b", "#e377c2", "#17becf" };

/* The plot's geometry: the left panel's box (pixels) and its log10 NMSE range. */
typedef struct { double W, H, px0, px1, py0, py1, lo, hi; } svg_frame;

/* Pixel x of bits per weight bpw (axis 2..18) and pixel y of log10 NMSE l. */
static double svg_x(const svg_frame *f, double bpw)
{
    return f->px0 + (bpw - 2.0) / 16.0 * (f->px1 - f->px0);
}

static double svg_y(const svg_frame *f, double l)
{
    return f->py1 - (l - f->lo) / (f->hi - f->lo) * (f->py1 - f->py0);
}

/* The whole decades [lo, hi] covering every finite positive NMSE of r (at
 * least one decade; [0, 1] when there is none). */
static void svg_nmse_range(const wk_bench_report *r, double *plo, double *phi)
{
    double lo = 0, hi = -30;
    for (size_t i = 0; i < r->nrec; i++) {
        const rec *e = &r->recs[i];
        if (!e->ntensors) continue;
        double v[2] = { wk_bench_finish(&e->fid.fpath).nmse, wk_bench_finish(&e->fid.rpath).nmse };
        for (int k = 0; k < 2; k++)
            if (v[k] > 0 && isfinite(v[k])) {
                double l = log10(v[k]);
                if (l < lo) lo = l;
                if (l > hi) hi = l;
            }
    }
    lo = floor(lo);
    hi = ceil(hi);
    if (hi <= lo) hi = lo + 1;
    *plo = lo;
    *phi = hi;
}

/* The SVG header, the title and the left panel's frame, grid and axis labels. */
static void svg_nmse_axes(wk_buf *b, const svg_frame *f)
{
    wk_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                  "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"11\">\n"
                  "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", f->W, f->H, f->W, f->H);
    wk_buf_printf(b, "<text x=\"%.0f\" y=\"22\" font-size=\"14\">wk-bench: output NMSE vs bits "
                  "per weight (filled: dequant+fp32, open: integer path)</text>\n", f->px0);
    /* axes of the left panel: x = bpw in [2, 18] */
    wk_buf_printf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                  "stroke=\"#444\"/>\n", f->px0, f->py0, f->px1 - f->px0, f->py1 - f->py0);
    for (int t = 2; t <= 18; t += 2)
        wk_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                      "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n",
                      svg_x(f, t), f->py0, svg_x(f, t), f->py1, svg_x(f, t), f->py1 + 15, t);
    for (double l = f->lo; l <= f->hi; l += 1)
        wk_buf_printf(b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                      "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n",
                      f->px0, svg_y(f, l), f->px1, svg_y(f, l), f->px0 - 5, svg_y(f, l) + 4, (int)l);
    wk_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">bits per weight</text>\n",
                  (f->px0 + f->px1) / 2, f->py1 + 32);
    wk_buf_printf(b, "<text transform=\"translate(18,%.0f) rotate(-90)\" text-anchor=\"middle\">"
                  "NMSE of W&#183;X (log)</text>\n", (f->py0 + f->py1) / 2);
}

/* The left panel's points (one colour per input, at most 8 inputs) and legend. */
static void svg_nmse_points(wk_buf *b, const wk_bench_report *r, const svg_frame *f)
{
    const char *inputs[8];
    int ninputs = 0;
    for (size_t i = 0; i < r->nrec; i++) {
        const rec *e = &r->recs[i];
        int ci = 0;
        while (ci < ninputs && strcmp(inputs[ci], e->input)) ci++;
        if (ci == ninputs && ninputs < 8) inputs[ninputs++] = e->input;
        if (!e->ntensors || ci >= 8) continue;
        double x = svg_x(f, wk_bench_fmt_bpw(&e->fmt));
        double v[2] = { wk_bench_finish(&e->fid.fpath).nmse, wk_bench_finish(&e->fid.rpath).nmse };
        for (int k = 0; k < 2; k++) {
            if (!(v[k] > 0) || !isfinite(v[k])) continue;
            wk_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" stroke=\"%s\">"
                          "<title>%s %s %s path: NMSE %.3e</title></circle>\n", x,
                          svg_y(f, log10(v[k])), k ? "white" : COLORS[ci], COLORS[ci], e->input,
                          e->fmt.name, k ? "integer" : "float", v[k]);
        }
        if (v[0] > 0 && isfinite(v[0]))
            wk_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%s</text>\n", x + 6,
                          svg_y(f, log10(v[0])) - 4, COLORS[ci], e->fmt.name);
    }
    for (int ci = 0; ci < ninputs; ci++)
        wk_buf_printf(b, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"4\" fill=\"%s\"/><text x=\"%.0f\" "
                      "y=\"%.0f\">%s</text>\n", f->px1 - 90, f->py0 + 14 + 16 * ci, COLORS[ci],
                      f->px1 - 80, f->py0 + 18 + 16 * ci, inputs[ci]);
}

/* Right panel: GEMV effective GB/s per format, the read bandwidth as a line
 * (only when r has machine numbers and speeds). */
static void svg_gemv_panel(wk_buf *b, const wk_bench_report *r, const svg_frame *f)
{
    const double qx0 = 580, qx1 = 930, py0 = f->py0, py1 = f->py1;
    if (!r->have_machine || !r->nspeed) return;
    double top = r->read_gbs;
    for (int i = 0; i < r->nspeed; i++)
        if (r->speeds[i].gemv.gbs > top) top = r->speeds[i].gemv.gbs;
    top *= 1.1;
    double bw = (qx1 - qx0) / r->nspeed;
    wk_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">GEMV %lldx%lld, %d "
                  "thread(s): weight GB/s (label: GFLOP/s)</text>\n", qx0, py0 - 10,
                  (long long)r->speeds[0].rows, (long long)r->speeds[0].cols, r->mach_threads);
    wk_buf_printf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                  "stroke=\"#444\"/>\n", qx0, py0, qx1 - qx0, py1 - py0);
    for (int i = 0; i < r->nspeed; i++) {
        const srec *s = &r->speeds[i];
        double h = s->gemv.gbs / top * (py1 - py0), x = qx0 + i * bw;
        wk_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                      "fill=\"%s\"><title>%s: %.2f GB/s, %.2f GFLOP/s</title></rect>\n",
                      x + 3, py1 - h, bw - 6, h, s->fmt.kind == WK_BF_F32 ? "#888" : COLORS[0],
                      s->fmt.name, s->gemv.gbs, s->gemv.gflops);
        wk_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"9\">"
                      "%.1f</text>\n", x + bw / 2, py1 - h - 3, s->gemv.gflops);
        wk_buf_printf(b, "<text transform=\"translate(%.1f,%.0f) rotate(45)\" font-size=\"10\">"
                      "%s</text>\n", x + bw / 2 - 3, py1 + 10, s->fmt.name);
    }
    double yb = py1 - r->read_gbs / top * (py1 - py0);
    wk_buf_printf(b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#d62728\" "
                  "stroke-dasharray=\"5,3\"/><text x=\"%.0f\" y=\"%.1f\" fill=\"#d62728\" "
                  "text-anchor=\"end\">read bandwidth %.1f GB/s</text>\n", qx0, yb, qx1, yb, qx1 - 4,
                  yb - 4, r->read_gbs);
    for (int t = 0; t <= 4; t++)
        wk_buf_printf(b, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
                      qx0 - 4, py1 - t / 4.0 * (py1 - py0) + 4, top * t / 4);
}

/* Left panel: log10 NMSE (float path: filled; integer path: open) vs bits per
 * weight, one colour per input.  Right panel: GEMV GB/s per format with the
 * copy bandwidth as a line. */
static int render_svg(const wk_bench_report *r, wk_buf *b, wk_err *err)
{
    svg_frame f = { .W = 960, .H = 440, .px0 = 70, .px1 = 500, .py0 = 50, .py1 = 370 };
    svg_nmse_range(r, &f.lo, &f.hi);
    svg_nmse_axes(b, &f);
    svg_nmse_points(b, r, &f);
    svg_gemv_panel(b, r, &f);
    wk_buf_puts(b, "</svg>\n");
    return wk_buf_check(b, err);
}

/* ---- the report files ------------------------------------------------------------------ */

/* The report's --model / --activations files (regular files only: a model
 * directory's files were checked by the run itself) into in. */
static int report_inputs(const wk_bench_report *r, wk_inputs *in, wk_err *err)
{
    const char *files[] = {r->model, r->acts};
    for (int i = 0; i < 2; i++) {
        struct stat st;
        if (files[i] && stat(files[i], &st) == 0 && S_ISREG(st.st_mode))
            WK_TRY(wk_inputs_add(in, files[i], err));
    }
    return 0;
}

/* Open path (never over an input) and write b into it, uncommitted. */
static wk_out *stage_file(const char *path, const wk_inputs *in, const wk_buf *b, wk_err *err)
{
    wk_out *o = wk_out_open(path, in, err);
    if (o && wk_out_write(o, b->data, b->len, err)) {
        wk_out_abort(o);
        return NULL;
    }
    return o;
}

int wk_bench_report_files(const wk_bench_report *r, const char *json_path, const char *svg_path, wk_err *err)
{
    wk_buf b[2];
    wk_out *o[2] = {NULL, NULL};
    const char *path[2] = {json_path, svg_path};
    wk_buf_init(&b[0]);
    wk_buf_init(&b[1]);
    int rc = -1;
    wk_inputs *in = wk_inputs_new(err);
    WK_TRY_GOTO(!in || report_inputs(r, in, err) ? -1 : 0, done);
    for (int i = 0; i < 2; i++) {
        if (!path[i]) continue;
        WK_TRY_GOTO(i == 0 ? render_json(r, &b[i], err) : render_svg(r, &b[i], err), done);
        if (!(o[i] = stage_file(path[i], in, &b[i], err))) goto done;
    }
    /* both written: commit both; if the second fails, the first goes again */
    if (o[0]) { rc = wk_out_commit(o[0], err); o[0] = NULL; WK_TRY_GOTO(rc, done); rc = -1; }
    if (o[1]) {
        int c = wk_out_commit(o[1], err);
        o[1] = NULL;
        if (c && json_path) {
            unlink(json_path);
            wk_err_prefix(err, "%s removed again", json_path);
        }
        WK_TRY_GOTO(c, done);
    }
    rc = 0;
done:
    wk_out_abort(o[0]);
    wk_out_abort(o[1]);
    wk_buf_free(&b[0]);
    wk_buf_free(&b[1]);
    wk_inputs_free(in);
    return rc;
}
