/* wk_eval_imatrix.c — `wk-eval imatrix`: an importance matrix as llama-imatrix
 * computes it (docs/eval.md; format: docs/formats/imatrix.md). */
#include "wk_eval.h"
#include "wk_cli.h"
#include "wk_imat.h"
#include "wk_imatrix_write.h"
#include "wk_io.h"
#include "wk_kld_run.h"
#include "wk_ppl.h"
#include "wk_progress.h"
#include "wk_threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    wk_cli_std_opts std;
    const char *model, *text, *out, *format, *tokens;
    int64_t n_ctx, chunks, n_batch;
    int process_output;
} im_opts;

static void usage(void)
{
    printf(
"usage: wk-eval imatrix MODEL TEXT -o FILE [options]\n"
"       wk-eval imatrix MODEL --tokens FILE -o FILE [options]\n"
"\n"
"  Importance matrix of MODEL on TEXT, as llama-imatrix: windows of --ctx tokens\n"
"  (BOS first); at every blk.* weight matmul the sums of squared input\n"
"  activations per column and the token count.  FILE is llama.cpp's imatrix\n"
"  GGUF, or its legacy .dat; wk-quantize --imatrix and llama-quantize read both.\n"
"\n"
"options:\n"
"  -o, --output FILE    the importance matrix (written atomically)\n"
"  --output-format F    gguf or dat (default: dat if FILE ends in .dat, else gguf)\n"
"  -c, --ctx N          tokens per window (default 512, as llama-imatrix)\n"
"  --chunks N           at most N windows (default: all the text gives)\n"
"  -b, --batch-size N   tokens per forward (default 512; batches of fewer than 16\n"
"                       tokens are not collected, as in llama-imatrix)\n"
"  --tokens FILE        token ids instead of TEXT (the dataset name is FILE)\n"
"  --process-output     collect output.weight too (llama-imatrix --process-output)\n"
"  -j, --threads N      threads (the file does not depend on it); -q, --quiet\n"
"  --json               {\"output\": FILE, \"format\", \"chunks\", \"n_ctx\", \"entries\"}\n"
"  --progress, --no-progress   progress bar (default: on a TTY unless --quiet)\n"
"  -h, --help, -V, --version\n");
}

static int parse(im_opts *o, int argc, char **argv, int *exit_now, wk_err *err)
{
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const int r = wk_cli_std_or_exit(&o->std, argc, argv, &i, usage, exit_now, err);
        if (r < 0 || *exit_now) return r < 0 ? -1 : 0;
        if (r) continue;
        const char *a = argv[i];
        const char **sv = !strcmp(a, "-o") || !strcmp(a, "--output") ? &o->out
                        : !strcmp(a, "--tokens") ? &o->tokens
                        : !strcmp(a, "--output-format") ? &o->format : NULL;
        int64_t *iv = wk_eval_num_opt(a, &o->n_ctx, &o->n_batch, &o->chunks);
        if (sv || iv) {
            WK_TRY(wk_eval_opt_value(argc, argv, &i, sv, iv, iv == &o->n_ctx ? 4 : 1, err));
        } else if (!strcmp(a, "--process-output")) {
            o->process_output = 1;
        } else if (a[0] == '-' && a[1]) {
            return wk_err_set(err, WK_E_USAGE, "unknown option %s (see wk-eval imatrix --help)", a);
        } else {
            WK_FAIL_IF(npos == 2, err, WK_E_USAGE, "too many arguments (MODEL TEXT -o FILE expected)");
            *(npos++ ? &o->text : &o->model) = a;
        }
    }
    WK_FAIL_IF(npos != (o->tokens ? 1 : 2), err, WK_E_USAGE, "expected MODEL TEXT -o FILE (or MODEL --tokens FILE -o FILE)");
    if (o->tokens) o->text = o->tokens;
    WK_FAIL_IF(!o->out, err, WK_E_USAGE, "no output: -o FILE");
    WK_FAIL_IF(o->format && strcmp(o->format, "gguf") && strcmp(o->format, "dat"), err, WK_E_USAGE,
               "--output-format %s: gguf or dat", o->format);
    return 0;
}

static int legacy(const im_opts *o)
{
    if (o->format) return !strcmp(o->format, "dat");
    const size_t n = strlen(o->out);
    return n >= 4 && !strcmp(o->out + n - 4, ".dat");
}

static int run(im_opts *o, int64_t *n_chunk, size_t *n_entries, wk_err *err)
{
    int32_t *ids = NULL;
    size_t n = 0;
    wk_imat *c = NULL;
    wk_inputs *in = NULL;
    wk_progress *bar = NULL;
    int rc = -1;
    wk_model *m = wk_eval_open_model(o->model, o->std.threads, o->n_ctx, o->n_batch, err);
    if (!m) return -1;
    if (o->tokens) WK_TRY_GOTO(wk_eval_read_ids(o->tokens, &ids, &n, err), done);
    else WK_TRY_GOTO(wk_eval_tokenize(m, o->text, &ids, &n, err), done);
    if (wk_ppl_plan(n, o->n_ctx, o->chunks, n_chunk, err)) {
        wk_err_prefix(err, "%s", o->text);
        goto done;
    }
    in = wk_inputs_new(err);
    WK_TRY_GOTO(!in || wk_inputs_add(in, o->model, err) || wk_inputs_add(in, o->text, err) ? -1 : 0, done);
    WK_TRY_GOTO(!(c = wk_imat_new(o->process_output, err)), done);
    bar = wk_progress_new("imatrix", 0, wk_cli_want_progress(&o->std));
    wk_eval_run_opts ro = { .progress = bar ? wk_progress_cb : NULL, .progress_ctx = bar };
    if (wk_imat_run(m, ids, o->n_ctx, *n_chunk, &ro, c, err)) {
        wk_err_prefix(err, "%s", o->model);
        goto done;
    }
    wk_imatrix_data d;
    const char *ds[1] = { o->text };
    WK_TRY_GOTO(wk_imat_data(c, (uint32_t)o->n_ctx, ds, 1, &d, err), done);
    WK_TRY_GOTO(wk_imatrix_write(o->out, &d, legacy(o), in, err), done);
    *n_entries = d.n_entries;
    rc = 0;
done:
    wk_progress_finish(bar);
    wk_imat_free(c);
    wk_model_close(m);
    wk_inputs_free(in);
    free(ids);
    return rc;
}

int wk_eval_imatrix(int argc, char **argv)
{
    const char *prog = WK_EVAL_PROG;
    im_opts o = { .n_ctx = 512 };
    wk_err err;
    int exit_now = 0;
    wk_cli_std_init(&o.std, prog);
    if (parse(&o, argc, argv, &exit_now, &err)) return wk_cli_fail(prog, &err);
    if (exit_now) return 0;
    if (o.std.threads > 0) wk_threads_apply(o.std.threads);
    wk_cli_sweep_stale(&o.std, o.out);
    int64_t n_chunk = 0;
    size_t n = 0;
    if (run(&o, &n_chunk, &n, &err)) return wk_cli_fail(prog, &err);
    if (o.std.json)
        printf("{\"output\": \"%s\", \"format\": \"%s\", \"chunks\": %lld, \"n_ctx\": %lld, \"entries\": %zu}\n",
               o.out, legacy(&o) ? "dat" : "gguf", (long long)n_chunk, (long long)o.n_ctx, n);
    else if (!o.std.quiet)
        printf("%s: %zu entries from %lld windows of %lld tokens (%s)\n", o.out, n, (long long)n_chunk,
               (long long)o.n_ctx, legacy(&o) ? "legacy .dat" : "GGUF");
    return 0;
}
