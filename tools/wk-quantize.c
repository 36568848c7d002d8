/* wk-quantize — quantize a model to ggml block types (Q4_0 … Q8_0, Q4_K, Q5_K,
 * Q6_K and the K-mixes q4_k_m / q5_k_m …), bit-compatible with llama-quantize.
 * A thin main: arguments, the table / --json report; the run is the engine
 * tools/quantize/wk_qrun.c, the per-tensor type policy formats/quant/wk_qmix.c.
 * See docs/quantize.md. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wk_cli.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_progress.h"
#include "wk_qmix.h"
#include "wk_qrun.h"
#include "wk_quantize_opts.h"
#include "wk_quantize_report.h"
#include "wk_threads.h"

typedef wk_qmix_preset preset;

typedef struct {
    wk_cli_std_opts std;
    const char *input, *output, *imatrix;
    const preset *p;
    int search, pure, allow_requantize, leave_output, keep_split;
    int output_type, embd_type;   /* ggml ids of --output-tensor-type / --token-embedding-type, -1 unset */
    wk_quantize_xopts x;          /* --include/--exclude-weights, --tensor-type, --override-kv, --dry-run */
} q_opts;

static void usage(void)
{
    printf(
"usage: wk-quantize INPUT OUTPUT TYPE [options]\n"
"\n"
"  Quantize a model to ggml block types, writing a GGUF that llama.cpp loads.\n"
"  By default the bytes are exactly those of llama-quantize (ggml's reference\n"
"  quantizers, llama-quantize's per-tensor types).  INPUT is a GGUF file (F32,\n"
"  F16 or BF16 weights; a split set: any of its parts), or anything wk-pack reads (HF or Meta directory, .pth,\n"
"  .safetensors), which is packed first into a temporary GGUF next to OUTPUT.\n"
"  OUTPUT is written atomically (temporary file, fsync, rename).\n"
"\n"
"TYPE:\n");
    size_t npresets;
    const preset *presets = wk_qmix_presets(&npresets);
    for (size_t i = 0; i < npresets; i++)
        printf("  %-7s llama_ftype %2u  %s\n", presets[i].name, (unsigned)presets[i].ftype,
               presets[i].desc);
    printf(
"\n"
"options:\n"
"  --search             choose each block's scales (and mins) to minimise its squared\n"
"                       error (same layouts; not byte-identical to llama-quantize)\n"
"  --imatrix FILE       llama.cpp importance matrix (llama-imatrix's GGUF or legacy\n"
"                       .dat): ggml's weighted quantizers, as llama-quantize --imatrix;\n"
"                       with --search, the weights of the error\n"
"  --include-weights NAME   use the imatrix only for tensors whose name contains NAME\n"
"                       (repeatable)\n"
"  --exclude-weights NAME   do not use the imatrix for tensors whose name contains NAME\n"
"                       (repeatable; not together with --include-weights)\n"
"  --tensor-type NAME=T quantize tensors whose name matches the regular expression NAME\n"
"                       (POSIX ERE, searched) to type T; repeatable, first match wins\n"
"  --override-kv KEY=TYPE:VALUE   set a metadata key in OUTPUT (TYPE int, float, bool,\n"
"                       str); repeatable\n"
"  --dry-run            print the per-tensor plan and the output size, write nothing\n"
"                       (OUTPUT may then be omitted)\n"
"  --pure               every eligible tensor gets TYPE (no K-mix, no Q6_K output)\n"
"  --output-tensor-type T    type of output.weight (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1\n"
"                       q8_0 q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs); also of\n"
"                       token_embd.weight when tied\n"
"  --token-embedding-type T  type of token_embd.weight (same types)\n"
"  --leave-output-tensor  keep output.weight's type\n"
"  --allow-requantize   accept inputs whose weights are already quantized (dequantized,\n"
"                       then quantized again; WARNING: this can severely reduce quality\n"
"                       compared to quantizing from 16bit or 32bit!)\n"
"  --keep-split         INPUT a split set (any part of NAME-0000k-of-0000n.gguf): write\n"
"                       OUTPUT minus .gguf + -0000k-of-0000n.gguf with the same parts\n"
"  -j, --threads N      threads (default: all cores); output is the same for any N\n"
"  -q, --quiet          no per-tensor table and summary\n"
"  --json               print a JSON report on stdout instead of the table\n"
"  --progress, --no-progress   progress bar on stderr (default: if a TTY)\n"
"  -h, --help, -V, --version\n");
}

static int parse_args(q_opts *o, int argc, char **argv, int *exit_now, wk_err *err)
{
    const char *pos[3];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        int r = wk_cli_std_or_exit(&o->std, argc, argv, &i, usage, exit_now, err);
        if (r < 0 || *exit_now) return r < 0 ? -1 : 0;
        if (r) continue;
        const char *a = argv[i];
        const int xr = wk_quantize_xopt(&o->x, argc, argv, &i, err);
        if (xr < 0) return -1;
        if (xr) continue;
        if (!strcmp(a, "--search")) o->search = 1;
        else if (!strcmp(a, "--pure")) o->pure = 1;
        else if (!strcmp(a, "--leave-output-tensor")) o->leave_output = 1;
        else if (!strcmp(a, "--allow-requantize")) o->allow_requantize = 1;
        else if (!strcmp(a, "--keep-split")) o->keep_split = 1;
        else if (!strcmp(a, "--output-tensor-type") || !strcmp(a, "--token-embedding-type")) {
            if (i + 1 >= argc) return wk_err_set(err, WK_E_USAGE, "%s needs a type", a);
            int t = wk_quantize_type_id(argv[++i]);
            if (t < 0)
                return wk_err_set(err, WK_E_USAGE, "%s: unknown or unsupported type \"%s\" (wk-quantize "
                                  "writes f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k iq4_nl "
                                  "iq4_xs)", a, argv[i]);
            *(a[2] == 'o' ? &o->output_type : &o->embd_type) = t;
        } else if (!strcmp(a, "--imatrix")) {
            if (i + 1 >= argc) return wk_err_set(err, WK_E_USAGE, "--imatrix needs a file");
            o->imatrix = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return wk_err_set(err, WK_E_USAGE, "unknown option %s (see --help)", a);
        } else {
            if (npos == 3) return wk_err_set(err, WK_E_USAGE, "too many arguments (INPUT OUTPUT TYPE expected)");
            pos[npos++] = a;
        }
    }
    if (npos == 2 && o->x.dry_run) {   /* llama-quantize --dry-run INPUT TYPE */
        pos[2] = pos[1];
        pos[1] = NULL;
        npos = 3;
    }
    if (npos != 3) return wk_err_set(err, WK_E_USAGE, "INPUT OUTPUT TYPE expected (see --help)");
    o->input = pos[0];
    o->output = pos[1];
    if (!(o->p = wk_qmix_find_preset(pos[2])))
        return wk_err_set(err, WK_E_USAGE, "unknown TYPE \"%s\" (see --help for the list)", pos[2]);
    if (o->x.n_include && o->x.n_exclude)
        return wk_err_set(err, WK_E_USAGE, "--include-weights and --exclude-weights cannot be used "
                          "together");
    if ((o->x.n_include || o->x.n_exclude) && !o->imatrix)
        return wk_err_set(err, WK_E_USAGE, "--include-weights / --exclude-weights select entries of "
                          "an importance matrix: give one with --imatrix");
    return 0;
}

/* ---- reporting (wk_quantize_report.c): the --json report's fields before the run */

static int json_head(wk_json *rep, const q_opts *o, wk_err *err)
{
    WK_TRY(wk_json_object_append(rep, "input", wk_json_new_string(o->input), err));
    WK_TRY(wk_json_object_append(rep, "output", o->output ? wk_json_new_string(o->output)
                                 : wk_json_new_null(), err));
    WK_TRY(wk_json_object_append(rep, "type", wk_json_new_string(o->p->name), err));
    WK_TRY(wk_json_object_append(rep, "ftype", wk_json_new_int(o->p->ftype), err));
    WK_TRY(wk_json_object_append(rep, "search", wk_json_new_bool(o->search), err));
    return wk_json_object_append(rep, "imatrix", o->imatrix ? wk_json_new_string(o->imatrix)
                                 : wk_json_new_null(), err);
}

/* wk_qrun's options for this run, its hooks reporting into r. */
static void run_opts(const q_opts *o, q_report *r, wk_progress *bar, wk_qrun_opts *ro)
{
    wk_qrun_opts_init(ro);
    ro->input = o->input;
    ro->output = o->output;
    ro->imatrix = o->imatrix;
    ro->include_weights = o->x.include_w;
    ro->n_include = o->x.n_include;
    ro->exclude_weights = o->x.exclude_w;
    ro->n_exclude = o->x.n_exclude;
    ro->mix.tt = o->x.tt;
    ro->mix.n_tt = o->x.n_tt;
    ro->kv_overrides = o->x.kv;
    ro->n_kv_overrides = o->x.n_kv;
    ro->dry_run = o->x.dry_run;
    ro->mix.p = o->p;
    ro->mix.pure = o->pure;
    ro->mix.leave_output = o->leave_output;
    ro->mix.output_type = o->output_type;
    ro->mix.embd_type = o->embd_type;
    ro->search = o->search;
    ro->allow_requantize = o->allow_requantize;
    ro->keep_split = o->keep_split;
    ro->threads = o->std.threads;
    ro->progress = bar ? wk_progress_cb : NULL;
    ro->progress_ctx = bar;
    ro->ctx = r;
    ro->packing = wk_quantize_on_packing;
    ro->begin = wk_quantize_on_begin;
    ro->tensor = wk_quantize_on_tensor;
}

/* The run and its report (table or --json); t0 is when it started. */
static int run(const q_opts *o, const struct timespec *t0, wk_err *err)
{
    int rc = -1;
    q_report r = { .table = !o->std.quiet && !o->std.json, .quiet = o->std.quiet };
    wk_json *rep = NULL;
    wk_progress *bar = NULL;
    if (o->std.json) {
        rep = wk_json_new_object();
        r.jt = wk_json_new_array();
        WK_FAIL_GOTO(!rep || !r.jt, done, err, WK_E_NOMEM, "out of memory");
        WK_TRY_GOTO(json_head(rep, o, err), done);
    }
    if (o->output) wk_cli_sweep_stale(&o->std, o->output);
    bar = wk_cli_want_progress(&o->std) ? wk_progress_new("quantize", 0, 1) : NULL;
    wk_qrun_opts ro;
    run_opts(o, &r, bar, &ro);
    wk_qrun_total tot;
    const int qrc = wk_qrun_run(&ro, &tot, err);
    wk_progress_finish(bar);
    bar = NULL;
    WK_TRY_GOTO(qrc, done);
    if (r.table)
        printf("total: %zu tensors, %" PRIu64 " -> %" PRIu64 " bytes of weights (%.3f bits per weight), "
               "relative RMSE of the quantized tensors %.3e, file %" PRIu64 " bytes\n", tot.tensors,
               tot.bytes_in, tot.bytes_out, tot.bits_per_weight, tot.rel_rmse, tot.file_size);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double secs = (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) * 1e-9;
    if (rep) WK_TRY_GOTO(wk_quantize_json_tail(rep, &r, &tot, secs, err), done);
    if (tot.needs_imatrix)
        fprintf(stderr, "wk-quantize: WARNING: dry run completed successfully, but actually completing "
                "this quantization will require an imatrix!\n");
    if (!o->std.quiet && !o->std.json && !o->x.dry_run)
        printf("wrote %s (%s, llama_ftype %u%s) in %.2f s\n", o->output, o->p->name, (unsigned)o->p->ftype,
               o->search ? ", --search" : "", secs);
    if (!o->std.quiet && !o->std.json && o->x.dry_run)
        printf("dry run: nothing written (%s, llama_ftype %u)\n", o->p->name, (unsigned)o->p->ftype);
    rc = 0;
done:
    wk_progress_finish(bar);
    wk_json_free(r.jt);
    wk_json_free(rep);
    return rc;
}

int main(int argc, char **argv)
{
    q_opts o;
    wk_err err;
    wk_err_clear(&err);
    memset(&o, 0, sizeof o);
    o.output_type = o.embd_type = -1;
    wk_cli_std_init(&o.std, "wk-quantize");
    int exit_now = 0, rc = 0;
    if (parse_args(&o, argc, argv, &exit_now, &err)) rc = wk_cli_fail(o.std.prog, &err);
    else if (!exit_now) {
        wk_threads_apply(o.std.threads);
        wk_io_install_signal_cleanup();
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = run(&o, &t0, &err) ? wk_cli_fail(o.std.prog, &err) : 0;
    }
    wk_quantize_xopts_free(&o.x);
    return rc;
}
