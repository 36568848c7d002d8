/* wk-bench — reference matmul benchmark: numerical fidelity and kernel speed
 * of each weight format (docs/bench.md).  A thin main: parse options, read
 * the activations, run the engine (tools/bench/wk_bench_run.c over
 * wk_bench.c), print the table, write --json / --svg. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_bench.h"
#include "wk_bench_out.h"
#include "wk_bench_run.h"
#include "wk_cli.h"
#include "wk_io.h"
#include "wk_npy.h"
#include "wk_progress.h"
#include "wk_threads.h"

#define DEFAULT_TYPES "f16,bf16,q8_0,q5_1,q5_0,q4_1,q4_0,q6_k,q5_k,q4_k,iq4_nl,iq4_xs,q3_k,q2_k"

typedef struct {
    wk_cli_std_opts std;
    wk_bench_run_opts run;   /* what the engine runs (acts, threads, callbacks set in main) */
    const char *types, *acts, *json_path, *svg_path;
    int search;
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
    o->run.ndists = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (!strcmp(t, "all")) {
            for (int g = 0; g < WK_GEN_COUNT; g++) o->run.dists[g] = g;
            o->run.ndists = WK_GEN_COUNT;
            return 0;
        }
        int g = wk_bench_gen_by_name(t);
        if (g < 0)
            return wk_err_set(err, WK_E_USAGE, "--dist: unknown '%s' (gauss, student-t, outlier, all)", t);
        if (o->run.ndists < WK_GEN_COUNT) o->run.dists[o->run.ndists++] = g;
    }
    if (!o->run.ndists) return wk_err_set(err, WK_E_USAGE, "--dist: empty list");
    return 0;
}

/* Returns 1 = run, 0 = exit 0 (help/version printed), -1 = error. */
static int parse_args(opts *o, int argc, char **argv, wk_err *err)
{
    memset(o, 0, sizeof *o);
    wk_cli_std_init(&o->std, "wk-bench");
    o->run.rows = o->run.cols = 4096;
    o->run.batch = o->run.gemm_batch = 8;
    o->run.seed = 1;
    o->types = DEFAULT_TYPES;
    o->run.ndists = 1;
    o->run.speed = 1;
    o->run.fidelity = 1;
    o->run.reps = 5;
    o->run.min_seconds = 0.05;
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
        if (!strcmp(a, "--rows")) { if (parse_i64(a, v, 1, 1 << 20, &o->run.rows, err)) return -1; i++; }
        else if (!strcmp(a, "--cols")) { if (parse_i64(a, v, 1, 1 << 20, &o->run.cols, err)) return -1; i++; }
        else if (!strcmp(a, "--batch")) { if (parse_i64(a, v, 1, 4096, &o->run.batch, err)) return -1; i++; }
        else if (!strcmp(a, "--gemm-batch")) { if (parse_i64(a, v, 1, 256, &o->run.gemm_batch, err)) return -1; i++; }
        else if (!strcmp(a, "--seed")) { if (parse_i64(a, v, 0, INT64_MAX, &n, err)) return -1; o->run.seed = (uint64_t)n; i++; }
        else if (!strcmp(a, "--reps")) { if (parse_i64(a, v, 1, 1000, &n, err)) return -1; o->run.reps = (int)n; i++; }
        else if (!strcmp(a, "--max-tensors")) { if (parse_i64(a, v, 1, 1 << 30, &n, err)) return -1; o->run.max_tensors = (int)n; i++; }
        else if (!strcmp(a, "--min-time")) {
            char *end;
            if (!v || (o->run.min_seconds = strtod(v, &end), end == v || *end) || !(o->run.min_seconds >= 0) ||
                o->run.min_seconds > 60)
                return wk_err_set(err, WK_E_USAGE, "--min-time: need seconds in [0, 60]");
            i++;
        }
        else if (!strcmp(a, "--types")) { if (!v) return wk_err_set(err, WK_E_USAGE, "--types needs a value"); o->types = v; i++; }
        else if (!strcmp(a, "--dist")) { if (parse_dists(o, v, err)) return -1; i++; }
        else if (!strcmp(a, "--model")) { if (!v) return wk_err_set(err, WK_E_USAGE, "--model needs a path"); o->run.model = v; i++; }
        else if (!strcmp(a, "--activations")) { if (!v) return wk_err_set(err, WK_E_USAGE, "--activations needs a file"); o->acts = v; i++; }
        else if (!strcmp(a, "--svg")) { if (!v) return wk_err_set(err, WK_E_USAGE, "--svg needs a file"); o->svg_path = v; i++; }
        else if (!strcmp(a, "--search")) o->search = 1;
        else if (!strcmp(a, "--no-speed")) o->run.speed = 0;
        else if (!strcmp(a, "--speed-only")) o->run.fidelity = 0;
        else if (!strcmp(a, "--scaling")) o->run.scaling = 1;
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

/* A new stage of the run: its name on the progress bar. */
static void on_stage(void *bar, const char *label)
{
    wk_progress_set_label(bar, label);
}

/* The table on stdout (unless -q), then --json and --svg. */
static int report(const opts *o, const wk_bench_report *rep, wk_err *err)
{
    if (!o->std.quiet) wk_bench_report_print(rep, stdout);
    return wk_bench_report_files(rep, o->json_path, o->svg_path, err);
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
    if (!o.run.fidelity && !o.run.speed) {
        wk_err_set(&err, WK_E_USAGE, "--speed-only and --no-speed leave nothing to do");
        return wk_cli_fail(o.std.prog, &err);
    }
    o.std.threads = wk_threads_apply(o.std.threads);
    wk_io_install_signal_cleanup(); /* temporaries of --json/--svg; truncated inputs named */
    wk_cli_sweep_stale(&o.std, o.json_path);
    wk_cli_sweep_stale(&o.std, o.svg_path);
    if (o.acts && wk_npy_read(o.acts, &file, &err)) return wk_cli_fail(o.std.prog, &err);

    wk_bench_report *rep = wk_bench_report_new(&o.run.seed, o.run.model, o.acts, o.std.threads, &err);
    if (!rep) { wk_npy_free(&file); return wk_cli_fail(o.std.prog, &err); }
    o.run.acts = o.acts ? &file : NULL;
    o.run.threads = o.std.threads;
    o.run.stage = on_stage;
    wk_progress *bar = wk_progress_new("wk-bench", wk_bench_run_total(&o.run, nfmt), wk_cli_want_progress(&o.std));
    o.run.progress = wk_progress_cb;
    o.run.progress_ctx = bar;
    int rc = wk_bench_run(&o.run, fmts, nfmt, rep, &err);
    wk_progress_finish(bar);
    rc = rc ? rc : report(&o, rep, &err);
    wk_bench_report_free(rep);
    wk_npy_free(&file);
    if (rc) return wk_cli_fail(o.std.prog, &err);
    if (fflush(stdout) || ferror(stdout)) {
        wk_err_set(&err, WK_E_IO, "writing the table to stdout failed");
        return wk_cli_fail(o.std.prog, &err);
    }
    return 0;
}
