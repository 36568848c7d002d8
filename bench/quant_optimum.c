/* quant_optimum.c — the exact optimum of the Q4_0 / Q5_0 layouts, by brute
 * force over every finite fp16 scale, against ggml's reference quantizer and
 * weightkit's --search (WK_QK_SEARCH).
 *
 * A Q4_0 (Q5_0) block is one fp16 scale d and 32 integers q in [-8, 7]
 * ([-16, 15]); it decodes to q * d, exactly in float (an 11-bit significand
 * times a 4/5-bit integer).  For a given d the best integers are therefore the
 * clamped nearest ones (on a tie both are equally good), and the best block is
 * the minimum over every finite fp16 d, both signs, of
 *     E(d) = sum_i w_i min_{q in [lo, hi]} (x_i - q d)^2.
 * This program evaluates E(d) directly, in double, for every finite fp16 d
 * (31743 magnitudes x 2 signs, plus d = 0) that can matter, skipping only
 * scales where a lower bound of E already exceeds the best found:
 *   - clamping: sum over values beyond the range of (|x| - cap |d|)^2, which
 *     falls as |d| grows (so all smaller |d| are skipped);
 *   - rounding to zero: sum of x^2 over |x| <= |d|/2, which grows with |d|.
 * On every SAMPLE-th block (default 64) it also runs the search without any
 * pruning (all 63486 nonzero finite scales) and checks that it finds the same
 * minimum.  Per block it computes the error of
 *   ref     weightkit's reference quantizer (byte-identical to ggml's
 *           quantize_row_q4_0_ref / q5_0_ref: tests/peer/ggml_quant.sh),
 *   search  wk_quantize_row_search (what wk-quantize --search writes),
 *   opt     the exact optimum above,
 * each decoded by weightkit's dequantizer (= ggml's) and summed in double.
 * Weights w_i: 1, or with --imatrix FILE the importance weights: FILE is raw
 * little-endian float32, one finite weight >= 0 per column; only the tensors
 * with that many columns are then evaluated (the same vector for each: a
 * llama-imatrix file is per tensor, which this bench does not read).
 *
 * usage: quant_optimum [--sample N] [--threads N] CHECKPOINT.pth...
 * Prints per-tensor and overall RMSE (weighted if weights are given) and the
 * fraction of the achievable reduction (ref -> opt) that --search gets.
 * Exit 1 if the unpruned check or search >= opt ever fails. */
#include "bench_load.h"
#include "wk_half.h"
#include "wk_pth.h"
#include "wk_quant.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H_MAX 0x7BFF   /* largest finite fp16 bit pattern */

/* Value of every fp16 pattern 0..H_MAX, by weightkit's fp16 -> fp32 (exact). */
static double HVAL[H_MAX + 1];
static void hval_init(void)
{
    for (int h = 0; h <= H_MAX; h++) HVAL[h] = (double)wk_f16_to_f32((uint16_t)h);
}
static inline double hval(uint16_t h) { return HVAL[h]; }

/* Weighted error of decoding x with scale d (may be negative) and the best
 * integers in [lo, hi] for it: both neighbours f, f + 1 of x/d are tried.
 * x * (1/d) may differ from x/d in the last bit, which can move f by one only
 * when x/d is within rounding of an integer n; n is then the best integer and
 * is among the two tried either way. */
static double err_at(const float *x, const float *w, double d, int lo, int hi)
{
    double e = 0, id = 1.0 / d;
    for (int i = 0; i < WK_QK; i++) {
        double f = floor((double)x[i] * id);
        double qa = f < lo ? lo : f > hi ? hi : f, qb = f + 1 < lo ? lo : f + 1 > hi ? hi : f + 1;
        double ea = (x[i] - qa * d) * (x[i] - qa * d), eb = (x[i] - qb * d) * (x[i] - qb * d);
        e += (w ? w[i] : 1.0) * (ea < eb ? ea : eb);
    }
    return e;
}

/* Lower bounds of E at scale s*D (D > 0): clamping (falls with D) and
 * rounding to zero (grows with D). */
static double lb_clamp(const float *x, const float *w, int s, int lo, int hi, double D)
{
    double e = 0;
    for (int i = 0; i < WK_QK; i++) {
        double v = s * (double)x[i], r = v > 0 ? v - hi * D : -v + lo * D;
        if (r > 0) e += (w ? w[i] : 1.0) * r * r;
    }
    return e;
}

static double lb_zero(const float *x, const float *w, double D)
{
    double e = 0;
    for (int i = 0; i < WK_QK; i++)
        if (2.0 * fabs((double)x[i]) <= D) e += (w ? w[i] : 1.0) * (double)x[i] * x[i];
    return e;
}

/* Exact minimum of E over all finite fp16 d (pruned by the two bounds). */
static double opt_pruned(const float *x, const float *w, int lo, int hi)
{
    double best = 0, amax = 0;
    for (int i = 0; i < WK_QK; i++) {
        best += (w ? w[i] : 1.0) * (double)x[i] * x[i];   /* d = 0 */
        amax = fmax(amax, fabs((double)x[i]));
    }
    /* a first candidate, to prune from: d = +-amax / |lo| rounded to fp16 */
    const uint16_t h0 = wk_f32_to_f16((float)(amax / -lo));
    if (h0 > 0 && h0 <= H_MAX)
        for (int s = -1; s <= 1; s += 2) best = fmin(best, err_at(x, w, s * hval(h0), lo, hi));
    for (int s = -1; s <= 1; s += 2) {
        if (lb_clamp(x, w, s, lo, hi, hval(H_MAX)) > best) continue;
        int a = 1, b = H_MAX;                 /* first h with lb_clamp <= best */
        while (a < b) {
            int m = (a + b) / 2;
            if (lb_clamp(x, w, s, lo, hi, hval((uint16_t)m)) <= best) b = m; else a = m + 1;
        }
        for (int h = a; h <= H_MAX; h++) {
            double D = hval((uint16_t)h);
            if ((h - a) % 16 == 0 && lb_zero(x, w, D) > best) break;   /* and for all larger D */
            double e = err_at(x, w, s * D, lo, hi);
            if (e < best) best = e;
        }
    }
    return best;
}

/* The same minimum with no pruning at all: every nonzero finite fp16 d. */
static double opt_full(const float *x, const float *w, int lo, int hi)
{
    double best = 0;
    for (int i = 0; i < WK_QK; i++) best += (w ? w[i] : 1.0) * (double)x[i] * x[i];
    for (int h = 1; h <= H_MAX; h++)
        for (int s = -1; s <= 1; s += 2) {
            double e = err_at(x, w, s * hval((uint16_t)h), lo, hi);
            if (e < best) best = e;
        }
    return best;
}

/* Weighted error of one quantized block (decoded by weightkit's dequantizer). */
static double block_err(const wk_qtraits *qt, const void *blk, const float *x, const float *w)
{
    float y[WK_QK];
    qt->dequantize(blk, y, WK_QK);
    double e = 0;
    for (int i = 0; i < WK_QK; i++) e += (w ? w[i] : 1.0) * ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    return e;
}

typedef struct { double ref, search, opt, n; long blocks, at_opt, checked, bad; } sums;

/* All blocks of one tensor for quant type `type` (range lo..hi) into s. */
static void run_tensor(int type, int lo, int hi, const float *x, int64_t rows,
                       int64_t cols, const float *imat, int sample, sums *s)
{
    const int64_t nb = rows * cols / WK_QK;
    double ref = 0, srch = 0, opt = 0;
    long at_opt = 0, checked = 0, bad = 0;
    const wk_qtraits *qt = wk_qtraits_get(type);
#pragma omp parallel for schedule(dynamic, 256) reduction(+ : ref, srch, opt, at_opt, checked, bad)
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + b * WK_QK, *w = imat ? imat + (b * WK_QK) % cols : NULL;
        uint8_t blk[64];
        qt->quantize_ref(xb, blk, WK_QK);
        double er = block_err(qt, blk, xb, w);
        wk_quantize_row_search(type, xb, blk, WK_QK, w);
        double es = block_err(qt, blk, xb, w);
        double eo = opt_pruned(xb, w, lo, hi);
        if (sample > 0 && b % sample == 0) {
            checked++;
            double ef = opt_full(xb, w, lo, hi);
            if (fabs(ef - eo) > 1e-12 * (ef + 1e-300)) {
                bad++;
                fprintf(stderr, "block %lld: pruned optimum %.17g != unpruned %.17g\n", (long long)b, eo, ef);
            }
        }
        if (es < eo * (1 - 1e-9) - 1e-300) {
            bad++;
            fprintf(stderr, "block %lld: search %.17g below the optimum %.17g\n", (long long)b, es, eo);
        }
        if (es <= eo * (1 + 1e-9) + 1e-300) at_opt++;
        ref += er;
        srch += es;
        opt += eo;
    }
    s->ref += ref;
    s->search += srch;
    s->opt += opt;
    s->n += (double)(rows * cols);
    s->blocks += (long)nb;
    s->at_opt += at_opt;
    s->checked += checked;
    s->bad += bad;
}

static void print_row(const char *name, const sums *s)
{
    double r = sqrt(s->ref / s->n), q = sqrt(s->search / s->n), o = sqrt(s->opt / s->n);
    printf("| %s | %ld | %.5e | %.5e | %.5e | %.2f%% | %.2f%% | %.1f%% | %.1f%% |\n", name, s->blocks, r, q,
           o, 100 * (1 - q / r), 100 * (1 - o / r), r > o ? 100 * (r - q) / (r - o) : 100.0,
           100.0 * s->at_opt / (double)s->blocks);
}

/* Raw float32 weights file: n values, or NULL (with a message). */
static float *read_weights(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *w = sz > 0 && sz % 4 == 0 ? malloc((size_t)sz) : NULL;
    if (!w || fread(w, 1, (size_t)sz, f) != (size_t)sz) {
        fprintf(stderr, "%s: not a float32 file\n", path);
        fclose(f);
        free(w);
        return NULL;
    }
    fclose(f);
    *n = sz / 4;
    for (long i = 0; i < *n; i++)
        if (!(w[i] >= 0) || !isfinite(w[i])) { fprintf(stderr, "%s: weight %ld is not finite and >= 0\n", path, i); free(w); return NULL; }
    return w;
}

/* "tiny" for ".../tiny/consolidated.00.pth": the checkpoint's directory name. */
static const char *model_name(const char *path)
{
    static char buf[128];
    const char *end = strrchr(path, '/');
    if (!end) return path;
    const char *b = end;
    while (b > path && b[-1] != '/') b--;
    snprintf(buf, sizeof buf, "%.*s", (int)(end - b), b);
    return buf;
}

int main(int argc, char **argv)
{
    int sample = 64, first = 1;
    const char *impath = NULL;
    while (first < argc && argv[first][0] == '-') {
        if (!strcmp(argv[first], "--sample") && first + 1 < argc) sample = atoi(argv[++first]);
        else if (!strcmp(argv[first], "--threads") && first + 1 < argc) omp_set_num_threads(atoi(argv[++first]));
        else if (!strcmp(argv[first], "--imatrix") && first + 1 < argc) impath = argv[++first];
        else { fprintf(stderr, "quant_optimum: unknown option %s\n", argv[first]); return 2; }
        first++;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: quant_optimum [--sample N] [--threads N] [--imatrix W.f32] CHECKPOINT.pth...\n");
        return 2;
    }
    hval_init();
    setvbuf(stdout, NULL, _IOLBF, 0);
    long nw = 0;
    float *imat = impath ? read_weights(impath, &nw) : NULL;
    if (impath && !imat) return 1;
    static const struct { int t; int lo, hi; } TYPES[] = { { WK_GGML_Q4_0, -8, 7 }, { WK_GGML_Q5_0, -16, 15 } };
    int bad = 0;
    for (int k = 0; k < 2; k++) {
        sums all = { 0 };
        printf("\n%s%s: RMSE of ggml's reference, weightkit --search and the exact optimum (every finite "
               "fp16 scale)\n\n", wk_ggml_type_get(TYPES[k].t)->lname, imat ? " (importance-weighted)" : "");
        printf("| tensor | blocks | ref | --search | optimum | search gain | optimum gain | "
               "share of achievable | blocks at optimum |\n|---|---|---|---|---|---|---|---|---|\n");
        for (int a = first; a < argc; a++) {
            wk_err err;
            wk_pth *p = wk_pth_open(argv[a], 0, &err);
            if (!p) { fprintf(stderr, "quant_optimum: %s\n", err.msg); return 1; }
            for (size_t i = 0; i < wk_pth_count(p); i++) {
                const wk_tensor_info *ti = wk_pth_tensor(p, i);
                int64_t rows, cols;
                float *x = bench_tensor_floats(ti, WK_QK, &rows, &cols);
                if (!x) continue;
                sums s = { 0 };
                const float *w = imat && nw == cols ? imat : NULL;
                if (imat && !w) { free(x); continue; }
                run_tensor(TYPES[k].t, TYPES[k].lo, TYPES[k].hi, x, rows, cols, w, sample, &s);
                char name[256];
                snprintf(name, sizeof name, "%s %s", model_name(argv[a]), ti->name);
                print_row(name, &s);
                all.ref += s.ref; all.search += s.search; all.opt += s.opt; all.n += s.n;
                all.blocks += s.blocks; all.at_opt += s.at_opt; all.checked += s.checked; all.bad += s.bad;
                free(x);
            }
            wk_pth_close(p);
        }
        print_row("**all**", &all);
        printf("\nunpruned brute-force check on %ld blocks: %s\n", all.checked,
               all.bad ? "MISMATCH (see stderr)" : "identical minimum on every one");
        bad |= all.bad != 0;
        fflush(stdout);
    }
    free(imat);
    return bad;
}
