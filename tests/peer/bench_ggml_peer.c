/* bench_ggml_peer.c — wk-bench's integer dot kernels against ggml's own vec_dot.
 *
 * Built by tests/peer/bench_ggml.sh (correctness) and bench/bench_ggml.sh
 * (timing) against our libweightkit.a and the headers of the exact llama.cpp
 * source of @node-llama-cpp/linux-x64; libggml-base.so and the CPU backend
 * library (libggml-cpu-<variant>.so, default haswell) are dlopen()ed at run
 * time and ggml_get_type_traits_cpu() gives each type's vec_dot.
 *
 * Correctness first: weights are quantized by our quantizer (byte-identical
 * to ggml's, tests/peer/ggml_quant.sh) and activations by ours; ggml's
 * vec_dot then gets the same blocks (for q4_1/q5_1 rewritten to ggml's Q8_1:
 * the same d and codes plus s = fp16(d * sum)).  Both dots must agree within
 * 1e-5 of sum |w_i a_i| (1e-4 for q4_1/q5_1: the fp16 s), and ggml's own
 * activation quantizer (from_float of vec_dot_type) is compared byte for byte
 * with ours (differing blocks are counted and reported: ggml's AVX2 Q8_0
 * rounds ties to even, its reference away from zero).
 * For Q2_K, Q3_K, IQ4_NL and IQ4_XS the integer stage is also compared
 * exactly: with every weight scale (then, for Q2_K, every dmin) set to 1 and
 * every activation scale to 1, ggml's float lanes hold the integer sums
 * exactly (rows whose sums reach 2^24 are skipped and counted), so our
 * reference and AVX2 dots must equal ggml's vec_dot bit for bit.  With the
 * real scales ggml's float stage (8 FMA lanes per block in the order of its
 * unrolling) cannot be reproduced under wk_dot.h's contract: the tolerance.
 *
 *   bench_ggml_peer LIBDIR check ROWS COLS                exit 0 = all agree
 *   bench_ggml_peer LIBDIR time ROWS COLS REPS THREADS    check, then a timing table
 * Env WK_GGML_CPU: the CPU variant (default haswell); BG_TYPES: a comma list of
 * type names (q4_0,q6_k,...) to check/time only those. */
#define _GNU_SOURCE   /* clock_gettime, CLOCK_THREAD_CPUTIME_ID under -std=c11 */
#include "ggml.h"
#include "ggml-cpu.h"
#include "wk_bench.h"
#include "wk_dot.h"
#include "wk_half.h"

#include <dlfcn.h>
#include <stddef.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef const struct ggml_type_traits_cpu *(*traits_cpu_fn)(enum ggml_type);

static traits_cpu_fn get_traits;

static int load(const char *libdir)
{
    char path[4096];
    const char *variant = getenv("WK_GGML_CPU") ? getenv("WK_GGML_CPU") : "haswell";
    snprintf(path, sizeof path, "%s/libggml-base.so", libdir);
    if (!dlopen(path, RTLD_NOW | RTLD_GLOBAL)) { fprintf(stderr, "dlopen: %s\n", dlerror()); return -1; }
    snprintf(path, sizeof path, "%s/libggml-cpu-%s.so", libdir, variant);
    void *cpu = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!cpu) { fprintf(stderr, "dlopen: %s\n", dlerror()); return -1; }
    void (*init)(void) = (void (*)(void))dlsym(cpu, "ggml_cpu_init");
    get_traits = (traits_cpu_fn)dlsym(cpu, "ggml_get_type_traits_cpu");
    if (!init || !get_traits) { fprintf(stderr, "missing symbols in %s\n", path); return -1; }
    init();
    if (!getenv("BG_NOHEADER")) printf("ggml CPU backend: %s\n", path);
    return 0;
}

static uint64_t rng = 0x1234567887654321ULL;
static float gauss(void)
{
    double u, v;
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    u = ((rng * 0x2545f4914f6cdd1dULL) >> 11) * (1.0 / 9007199254740992.0) + 1e-12;
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    v = ((rng * 0x2545f4914f6cdd1dULL) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

typedef struct { uint16_t d, s; int8_t qs[32]; } q8_1;

/* Our Q8_0 activation blocks as ggml's Q8_1 (q4_1/q5_1's vec_dot_type). */
static void to_q8_1(const wk_block_q8_0 *a, q8_1 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += a[i].qs[j];
        b[i].d = a[i].d;
        memcpy(b[i].qs, a[i].qs, 32);
        b[i].s = wk_f32_to_f16(wk_f16_to_f32(a[i].d) * (float)s);
    }
}

typedef struct {
    int type;        /* ggml id of the weights */
    const wk_qtraits *qt;
    const struct ggml_type_traits_cpu *g;
    uint8_t *w;      /* rows x cols weights */
    uint8_t *a;      /* our activations */
    uint8_t *ga;     /* the same for ggml's vec_dot (q8_1 for q4_1/q5_1) */
    size_t rs;
} setup;

static int prepare(setup *s, int type, const float *w, const float *x, int64_t rows,
                   int64_t cols)
{
    s->type = type;
    s->qt = wk_qtraits_get(type);
    s->g = get_traits((enum ggml_type)type);
    s->rs = wk_ggml_row_size(type, cols);
    s->w = malloc(s->rs * (size_t)rows);
    s->a = malloc(wk_dot_act_row_size(type, cols));
    s->ga = malloc(sizeof(q8_1) * (size_t)(cols / 32) + wk_dot_act_row_size(type, cols));
    if (!s->g || !s->g->vec_dot || !s->w || !s->a || !s->ga) return -1;
    wk_qrow_fn quantize = wk_quant_kernel_auto(type);
    for (int64_t r = 0; r < rows; r++) quantize(w + r * cols, s->w + s->rs * (size_t)r, cols);
    wk_dot_quantize_act(type, x, s->a, cols);
    if (s->g->vec_dot_type == GGML_TYPE_Q8_1) to_q8_1((const wk_block_q8_0 *)s->a, (q8_1 *)s->ga, cols / 32);
    else memcpy(s->ga, s->a, wk_dot_act_row_size(type, cols));
    return 0;
}

static void release(setup *s)
{
    free(s->w); free(s->a); free(s->ga);
}

/* Our dots vs ggml's on every row; returns the number of rows out of tolerance. */
static int check_type(const setup *s, const float *x, int64_t rows, int64_t cols, double *worst)
{
    float *dw = malloc(sizeof(float) * (size_t)cols), *da = malloc(sizeof(float) * (size_t)cols);
    int bad = 0;
    double tolr = s->g->vec_dot_type == GGML_TYPE_Q8_1 ? 1e-4 : 1e-5;
    (void)x;
    wk_dot_dequantize_act(s->type, s->a, da, cols);
    *worst = 0;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wr = s->w + s->rs * (size_t)r;
        float ours = s->qt->idot(wr, s->a, cols), theirs;
        s->g->vec_dot((int)cols, &theirs, 0, wr, 0, s->ga, 0, 1);
        s->qt->dequantize(wr, dw, cols);
        double mag = 0;
        for (int64_t i = 0; i < cols; i++) mag += fabs((double)dw[i] * da[i]);
        double rel = fabs((double)ours - theirs) / (mag + 1e-30);
        if (rel > *worst) *worst = rel;
        if (rel > tolr && bad++ < 3)
            fprintf(stderr, "MISMATCH %s row %lld: ours %.9g ggml %.9g (sum|wa| %.3g)\n",
                    wk_ggml_type_get(s->type)->lname, (long long)r, ours, theirs, mag);
    }
    free(dw);
    free(da);
    return bad;
}

/* The integer stage against ggml's, exactly: the weight scales of the row set
 * to (d, dmin) = (dv, mv) (fp16, where the type has them) and every
 * activation scale to 1, so that ggml's vec_dot returns
 * dv * sum isum - mv * sum msum, which its float lanes hold exactly while
 * every partial sum stays below 2^24 (checked; rows beyond are counted as
 * skipped).  Our reference and AVX2 dots must then equal ggml's bit for bit.
 * Only for the types whose block layout is spelled out below. */
static int exact_fields(int type, size_t *doff, size_t *moff)
{
    switch (type) {
    case WK_GGML_Q2_K: *doff = offsetof(wk_block_q2_K, d); *moff = offsetof(wk_block_q2_K, dmin); return 1;
    case WK_GGML_Q3_K: *doff = offsetof(wk_block_q3_K, d); *moff = 0; return 1;
    case WK_GGML_IQ4_NL: *doff = 0; *moff = 0; return 1;
    case WK_GGML_IQ4_XS: *doff = 0; *moff = 0; return 1;
    default: return 0;
    }
}

static int check_exact_one(const setup *s, int64_t rows, int64_t cols, uint16_t dv, uint16_t mv,
                           int64_t *skipped)
{
    size_t doff, moff, as = wk_dot_act_row_size(s->type, cols);
    if (!exact_fields(s->type, &doff, &moff)) return 0;
    const size_t bsize = wk_ggml_type_get(s->type)->size;
    const int64_t nb = cols / wk_ggml_type_get(s->type)->blck;
    uint8_t *w = malloc(s->rs), *a = malloc(as);
    int32_t *is = malloc(sizeof(int32_t) * (size_t)nb), *ms = malloc(sizeof(int32_t) * (size_t)nb);
    int bad = 0;
    memcpy(a, s->a, as);
    for (int64_t b = 0; b < nb; b++) {   /* activation scales := 1 */
        if (wk_dot_act_type(s->type) == WK_GGML_Q8_K) {
            float one = 1.0f;
            memcpy(a + (size_t)b * sizeof(wk_block_q8_K), &one, sizeof one);
        } else {
            uint16_t one = 0x3c00;
            memcpy(a + (size_t)b * sizeof(wk_block_q8_0), &one, sizeof one);
        }
    }
    wk_dot_act_finish(s->type, a, cols);   /* the trailer (copies of d) follows the blocks */
    for (int64_t r = 0; r < rows; r++) {
        memcpy(w, s->w + s->rs * (size_t)r, s->rs);
        for (int64_t b = 0; b < nb; b++) {
            memcpy(w + (size_t)b * bsize + doff, &dv, 2);
            if (moff) memcpy(w + (size_t)b * bsize + moff, &mv, 2);
        }
        wk_dot_isums(s->type, 0, w, a, nb, is, ms);
        int64_t mag = 0;
        for (int64_t b = 0; b < nb; b++) mag += llabs((int64_t)is[b]) + llabs((int64_t)ms[b]);
        if (mag >= (1 << 24)) { (*skipped)++; continue; }
        float theirs, r0 = wk_dot_row(s->type, 0, w, a, cols);
        float r1 = wk_dot_have_simd() ? wk_dot_row(s->type, 1, w, a, cols) : r0;
        s->g->vec_dot((int)cols, &theirs, 0, w, 0, a, 0, 1);
        if (memcmp(&theirs, &r0, sizeof r0) || memcmp(&theirs, &r1, sizeof r1)) {
            if (bad++ < 3)
                fprintf(stderr, "MISMATCH %s row %lld integer stage (d %#x, dmin %#x): ref %.9g "
                        "avx2 %.9g ggml %.9g\n", wk_ggml_type_get(s->type)->lname, (long long)r,
                        dv, mv, r0, r1, theirs);
        }
    }
    free(w); free(a); free(is); free(ms);
    return bad;
}

/* check_exact_one with (d, dmin) = (1, 0) (isum) and, with a min, (0, 1) (msum). */
static int check_exact(const setup *s, int64_t rows, int64_t cols, int *done, int64_t *skipped)
{
    size_t doff, moff;
    *done = exact_fields(s->type, &doff, &moff);
    if (!*done) return 0;
    int bad = check_exact_one(s, rows, cols, 0x3c00, 0, skipped);
    if (moff) bad += check_exact_one(s, rows, cols, 0, 0x3c00, skipped);
    return bad;
}

/* ggml's activation quantizer vs ours: blocks that differ. */
static int64_t act_diff(const setup *s, const float *x, int64_t cols)
{
    enum ggml_type vt = s->g->vec_dot_type;
    const struct ggml_type_traits_cpu *gt = get_traits(vt);
    size_t n = wk_dot_act_row_size(s->type, cols) + sizeof(q8_1) * (size_t)(cols / 32);
    uint8_t *g = malloc(n);
    int64_t diff = 0;
    if (!g || !gt->from_float) { free(g); return -1; }
    gt->from_float(x, g, cols);
    size_t bs = vt == GGML_TYPE_Q8_1 ? sizeof(q8_1) : vt == GGML_TYPE_Q8_0 ? 34 : sizeof(wk_block_q8_K);
    const uint8_t *ours = s->ga;
    for (int64_t b = 0; b < cols / (vt == GGML_TYPE_Q8_K ? 256 : 32); b++)
        diff += memcmp(g + b * bs, ours + b * bs, bs) != 0;
    free(g);
    return diff;
}

static double now(void) { return wk_bench_now(); }

/* 1 if type name `name` is in the comma list `list` (NULL or empty: all). */
static int selected(const char *list, const char *name)
{
    size_t n = strlen(name);
    if (!list || !*list) return 1;
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The calling thread's CPU time: with one thread the GEMV runs on it, and time
 * the process spends descheduled (most of the wall time on a loaded shared
 * machine) does not count. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* One GEMV by ours (which 0) or ggml's (1): seconds (thread CPU time with one
 * thread, wall time with more). */
static double gemv_once(const setup *s, int64_t rows, int64_t cols, int which, int nthr, float *y)
{
    double (*tick)(void) = nthr == 1 ? cpu_now : now;
    double t0 = tick();
    #pragma omp parallel for schedule(static) num_threads(nthr)
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wr = s->w + s->rs * (size_t)r;
        if (which) s->g->vec_dot((int)cols, &y[r], 0, wr, 0, s->ga, 0, 1);
        else y[r] = s->qt->idot(wr, s->a, cols);
    }
    return tick() - t0;
}

#define MAXPAIRS 4096

/* Medians of single GEMVs, ours and ggml's strictly alternating (so that both
 * see the same load and the same cache state on a shared machine): pairs are
 * timed for reps * 100 ms (at least 3 * reps pairs, at most MAXPAIRS) after
 * one warm-up pair. */
static void time_pair(const setup *s, int64_t rows, int64_t cols, int reps, int nthr, float *y,
                      double *ours, double *theirs)
{
    static double a[MAXPAIRS], b[MAXPAIRS];
    int n = 0;
    double t0;
    gemv_once(s, rows, cols, 0, nthr, y);
    gemv_once(s, rows, cols, 1, nthr, y);
    t0 = now();
    while (n < MAXPAIRS && (n < 3 * reps || now() - t0 < 0.1 * reps)) {
        int first = n & 1;   /* who goes first alternates too */
        double t1 = gemv_once(s, rows, cols, first, nthr, y);
        double t2 = gemv_once(s, rows, cols, !first, nthr, y);
        a[n] = first ? t2 : t1;
        b[n] = first ? t1 : t2;
        n++;
    }
    qsort(a, (size_t)n, sizeof a[0], cmpd);
    qsort(b, (size_t)n, sizeof b[0], cmpd);
    *ours = a[n / 2];
    *theirs = b[n / 2];
}

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[2], "check") && strcmp(argv[2], "time"))) {
        fprintf(stderr, "usage: bench_ggml_peer LIBDIR check|time ROWS COLS [REPS THREADS]\n");
        return 2;
    }
    int timing = !strcmp(argv[2], "time");
    int64_t rows = atoll(argv[3]), cols = atoll(argv[4]);
    int reps = argc > 5 ? atoi(argv[5]) : 5, nthr = argc > 6 ? atoi(argv[6]) : 1;
    if (rows <= 0 || cols <= 0 || cols % 256 || reps <= 0 || nthr <= 0) {
        fprintf(stderr, "bad arguments (COLS must be a multiple of 256)\n");
        return 2;
    }
    if (load(argv[1])) return 1;
    float *w = malloc(sizeof(float) * (size_t)(rows * cols)), *x = malloc(sizeof(float) * (size_t)cols);
    float *y = malloc(sizeof(float) * (size_t)rows);
    for (int64_t i = 0; i < rows * cols; i++) w[i] = gauss() * 0.02f;
    for (int64_t i = 0; i < cols; i++) x[i] = gauss();
    int nbad = 0;
    if (timing && !getenv("BG_NOHEADER"))
        printf("| type | cols | rows | ours ms | ggml ms | ggml/ours time | ours GB/s | ggml GB/s |\n"
               "|---|---|---|---|---|---|---|---|\n");
    for (int type = 0; type < WK_GGML_TYPE_COUNT; type++) {
        if (!wk_qtraits_get(type)) continue;   /* the quant types, in ggml id order */
        setup s;
        double worst;
        const char *name = wk_ggml_type_get(type)->lname;
        if (!selected(getenv("BG_TYPES"), name)) continue;
        if (prepare(&s, type, w, x, rows, cols)) { fprintf(stderr, "%s: setup failed\n", name); return 1; }
        int bad = check_type(&s, x, rows, cols, &worst);
        int64_t ad = act_diff(&s, x, cols), skipped = 0;
        int exact = 0, xbad = check_exact(&s, rows, cols, &exact, &skipped);
        nbad += bad + xbad;
        if (!timing) {
            printf("%-5s %lld rows: %s (worst |ours-ggml| / sum|wa| = %.2e); activation blocks "
                   "differing from ggml's from_float: %lld\n", name, (long long)rows,
                   bad ? "DIFFER" : "agree", worst, (long long)ad);
            if (exact)
                printf("%-5s integer stage (unit scales): %s bit for bit (%lld rows skipped: "
                       "sums >= 2^24)\n", name, xbad ? "DIFFERS from ggml" : "identical to ggml",
                       (long long)skipped);
        }
        else if (!bad) {
            double to, tg;
            time_pair(&s, rows, cols, reps, nthr, y, &to, &tg);
            double gb = (double)s.rs * rows * 1e-9;
            printf("| %s | %lld | %lld | %.3f | %.3f | %.2f | %.1f | %.1f |\n", name,
                   (long long)cols, (long long)rows, to * 1e3, tg * 1e3,
                   tg / to, gb / to, gb / tg);
        }
        release(&s);
    }
    free(w); free(x); free(y);
    if (nbad) { fprintf(stderr, "%d rows differ\n", nbad); return 1; }
    if (!timing || !getenv("BG_NOHEADER")) printf("all agree\n");
    return 0;
}
