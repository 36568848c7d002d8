/* wk_eval_logits.c — `wk-eval logits MODEL --tokens FILE -o OUT`: the
 * logits of every position of one token sequence (positions 0..n-1, no BOS
 * added), little-endian float32 [n, n_vocab], written atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_eval.h"
#include "wk_io.h"

static void usage(void)
{
    printf("Usage: %s logits MODEL --tokens FILE -o OUT [OPTIONS]\n\n"
           "Evaluate the token ids of FILE as one sequence (positions 0..n-1, taken as given: no BOS\n"
           "is added) and write the logits of every position to OUT: n x n_vocab float32,\n"
           "little-endian, row by row.\n\n"
           "Options:\n"
           "  -c, --ctx N        context to allocate (default: the number of tokens)\n"
           "  -b, --batch-size N tokens per forward (default 512)\n"
           "  -j, --threads N    threads; the bytes written do not depend on it\n"
           "  -q, --quiet, -h, --help, -V, --version\n", WK_EVAL_PROG);
}

static int run(const wk_eval_opts *o, wk_err *err)
{
    WK_FAIL_IF(o->npos != 1 || !o->tokens || !o->out, err, WK_E_USAGE, "logits needs MODEL, --tokens FILE "
               "and -o OUT (see %s logits --help)", WK_EVAL_PROG);
    int32_t *ids;
    size_t n;
    WK_TRY(wk_eval_read_ids(o->tokens, &ids, &n, err));
    int64_t ctx = o->n_ctx ? o->n_ctx : (int64_t)n;
    wk_model *m = NULL;
    float *lg = NULL;
    wk_out *out = NULL;
    int rc = -1;
    WK_FAIL_GOTO((int64_t)n > ctx, done, err, WK_E_USAGE, "%s: %zu tokens do not fit a context of %lld",
                 o->tokens, n, (long long)ctx);
    if (!(m = wk_eval_open_model(o->pos[0], o->std.threads, ctx, o->n_batch, err))) goto done;
    int64_t nv = wk_model_n_vocab(m);
    WK_FAIL_GOTO(!(lg = malloc(n * (size_t)nv * sizeof *lg)), done, err, WK_E_NOMEM, "out of memory");
    WK_TRY_GOTO(wk_model_eval(m, ids, (int64_t)n, 0, lg, NULL, NULL, err), done);
    if (!(out = wk_out_open(o->out, wk_source_inputs(wk_model_source(m)), err))) goto done;
    WK_TRY_GOTO(wk_out_write(out, lg, n * (size_t)nv * sizeof *lg, err), done);
    rc = wk_out_commit(out, err);
    out = NULL;
    if (!rc && !o->std.quiet)
        fprintf(stderr, "%s: %zu x %lld logits to %s\n", WK_EVAL_PROG, n, (long long)nv, o->out);
done:
    wk_out_abort(out);
    free(lg);
    free(ids);
    wk_model_close(m);
    return rc;
}

int wk_eval_logits(int argc, char **argv)
{
    return wk_eval_main(argc, argv, usage, run);
}
