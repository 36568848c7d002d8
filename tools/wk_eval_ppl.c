/* wk_eval_ppl.c — `wk-eval ppl MODEL TEXT`: perplexity with llama-perplexity's
 * chunking rules (tools/eval/wk_ppl.h), text report or --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wk_eval.h"
#include "wk_json.h"
#include "wk_ppl.h"
#include "wk_progress.h"

static void usage(void)
{
    printf("Usage: %s ppl MODEL TEXT [OPTIONS]\n"
           "       %s ppl MODEL --tokens FILE [OPTIONS]\n\n"
           "Perplexity of MODEL over TEXT (UTF-8, tokenized with the model's vocabulary) or over\n"
           "the token ids of FILE, by llama-perplexity's rules: windows of --ctx tokens, the first\n"
           "token of each replaced by BOS when the vocabulary adds BOS, only the second half of\n"
           "each window scored; fewer than 2 x ctx tokens are refused.\n\n"
           "Options:\n"
           "  -c, --ctx N        window (context) size (default 512)\n"
           "  --chunks K         evaluate at most K windows (default: all)\n"
           "  -b, --batch-size N tokens per forward (default 512, at most the window)\n"
           "  --tokens FILE      token ids (decimal, separated by spaces, newlines or commas)\n"
           "  -j, --threads N    threads (default: all cores); results do not depend on it\n"
           "  --json             one JSON object on stdout: ppl, ppl_stderr, n_scored, n_ctx,\n"
           "                     n_chunks, n_tokens, model, arch, bpw, bos (-1: none\n"
           "                     added), seconds, tokens_per_second\n"
           "  -q, --quiet        no per-chunk lines\n"
           "  --progress, --no-progress   progress bar (default: on a TTY unless --quiet)\n"
           "  -h, --help, -V, --version\n", WK_EVAL_PROG, WK_EVAL_PROG);
}

typedef struct {
    wk_progress *bar;
    int lines;
} ppl_cb;

static void on_chunk(void *ctx, int64_t done, int64_t total, double ppl)
{
    ppl_cb *c = ctx;
    char label[64];
    snprintf(label, sizeof label, "ppl [%lld/%lld] %.4f", (long long)done, (long long)total, ppl);
    wk_progress_set_label(c->bar, label);   /* the bar counts windows (shown as bytes) */
    wk_progress_update(c->bar, (uint64_t)done);
    if (c->lines) fprintf(stderr, "[%lld/%lld] %.4f\n", (long long)done, (long long)total, ppl);
    (void)total;
}

static int print_json(const char *model, const wk_model *m, const wk_ppl_result *r, double secs, wk_err *err)
{
    wk_json *o = wk_json_new_object();
    double tps = secs > 0 ? (double)(r->n_chunks * r->n_ctx) / secs : 0;
    WK_FAIL_IF(!o, err, WK_E_NOMEM, "out of memory");
    int rc = -1;
    wk_buf b = {0};
    WK_TRY_GOTO(wk_json_object_append(o, "ppl", wk_json_new_double(r->ppl), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "ppl_stderr", wk_json_new_double(r->ppl_stderr), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "n_scored", wk_json_new_int(r->n_scored), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "n_ctx", wk_json_new_int(r->n_ctx), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "n_chunks", wk_json_new_int(r->n_chunks), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "n_tokens", wk_json_new_int(r->n_tokens), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "model", wk_json_new_string(model), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "arch", wk_json_new_string(wk_model_arch(m)), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "bpw", wk_json_new_double(wk_model_bpw(m)), err), done);
    int add_bos;
    int32_t bos = wk_model_bos(m, &add_bos);
    WK_TRY_GOTO(wk_json_object_append(o, "bos", wk_json_new_int(add_bos ? bos : -1), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "seconds", wk_json_new_double(secs), err), done);
    WK_TRY_GOTO(wk_json_object_append(o, "tokens_per_second", wk_json_new_double(tps), err), done);
    WK_TRY_GOTO(wk_json_dump(o, NULL, &b, err), done);
    printf("%.*s\n", (int)b.len, (const char *)b.data);
    rc = 0;
done:
    wk_buf_free(&b);
    wk_json_free(o);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run(const wk_eval_opts *o, wk_err *err)
{
    const char *model = o->pos[0];
    WK_FAIL_IF(o->npos != (o->tokens ? 1 : 2), err, WK_E_USAGE, "ppl needs MODEL and TEXT, or MODEL and "
               "--tokens FILE (see %s ppl --help)", WK_EVAL_PROG);
    int64_t ctx = o->n_ctx ? o->n_ctx : 512;
    wk_model *m = wk_eval_open_model(model, o->std.threads, ctx, o->n_batch, err);
    if (!m) return -1;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = -1;
    wk_progress *bar = NULL;
    if (o->tokens) WK_TRY_GOTO(wk_eval_read_ids(o->tokens, &ids, &n, err), done);
    else WK_TRY_GOTO(wk_eval_tokenize(m, o->pos[1], &ids, &n, err), done);
    int64_t nch;
    WK_TRY_GOTO(wk_ppl_plan(n, ctx, o->n_chunks, &nch, err), done);
    int prog = wk_cli_want_progress(&o->std);
    if (!o->std.quiet && !o->std.json)
        fprintf(stderr, "%s: %s (%s, %.2f bits/weight): %zu tokens, %lld chunks of %lld\n", WK_EVAL_PROG,
                model, wk_model_arch(m), wk_model_bpw(m), n, (long long)nch, (long long)ctx);
    bar = wk_progress_new("ppl", (uint64_t)nch, prog);
    ppl_cb cb = {bar, !prog && !o->std.quiet && !o->std.json};
    wk_ppl_opts po = {.n_chunks = o->n_chunks};
    wk_ppl_result r;
    double t0 = now();
    WK_TRY_GOTO(wk_ppl_run(m, ctx, ids, n, &po, on_chunk, &cb, &r, err), done);
    double secs = now() - t0;
    wk_progress_finish(bar);
    bar = NULL;
    if (o->std.json) WK_TRY_GOTO(print_json(model, m, &r, secs, err), done);
    else if (!o->std.quiet)
        printf("Final estimate: PPL = %.4f +/- %.5f  (%lld tokens scored, %.1f tokens/s)\n", r.ppl,
               r.ppl_stderr, (long long)r.n_scored, secs > 0 ? (double)(nch * ctx) / secs : 0.0);
    else
        printf("%.4f\n", r.ppl);
    rc = 0;
done:
    wk_progress_finish(bar);
    free(ids);
    wk_model_close(m);
    return rc;
}

int wk_eval_ppl(int argc, char **argv)
{
    return wk_eval_main(argc, argv, usage, run);
}
