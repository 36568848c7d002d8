/* wk_eval_common.c — what wk-eval's subcommands share: option parsing, token
 * files, tokenization, opening the model (wk_eval.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_eval.h"
#include "wk_io.h"
#include "wk_threads.h"
#include "wk_tokenize.h"

static int num_opt(int argc, char **argv, int *i, int64_t lo, int64_t hi, int64_t *out, wk_err *err)
{
    const char *name = argv[*i];
    WK_FAIL_IF(*i + 1 >= argc, err, WK_E_USAGE, "%s needs a value", name);
    const char *s = argv[++*i];
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    WK_FAIL_IF(!*s || *end || errno || v < lo || v > hi, err, WK_E_USAGE, "%s '%s': must be an integer "
               "in [%lld, %lld]", name, s, (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

int wk_eval_parse(int argc, char **argv, wk_eval_opts *o, void (*usage)(void), int *exit_now, wk_err *err)
{
    memset(o, 0, sizeof *o);
    wk_cli_std_init(&o->std, WK_EVAL_PROG);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1]) {
            int r = wk_cli_std_or_exit(&o->std, argc, argv, &i, usage, exit_now, err);
            if (r < 0) return -1;
            if (*exit_now) return 0;
            if (r > 0) continue;
            if (!strcmp(a, "--ctx") || !strcmp(a, "-c") || !strcmp(a, "--ctx-size"))
                WK_TRY(num_opt(argc, argv, &i, 4, (int64_t)1 << 24, &o->n_ctx, err));
            else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size"))
                WK_TRY(num_opt(argc, argv, &i, 1, (int64_t)1 << 24, &o->n_batch, err));
            else if (!strcmp(a, "--chunks"))
                WK_TRY(num_opt(argc, argv, &i, 1, (int64_t)1 << 30, &o->n_chunks, err));
            else if (!strcmp(a, "--tokens") || !strcmp(a, "-o")) {
                WK_FAIL_IF(i + 1 >= argc, err, WK_E_USAGE, "%s needs a file", a);
                *(!strcmp(a, "-o") ? &o->out : &o->tokens) = argv[++i];
            } else
                return wk_err_set(err, WK_E_USAGE, "unknown option '%s' (see %s %s --help)", a,
                                  WK_EVAL_PROG, argv[0]);
        } else {
            WK_FAIL_IF(o->npos >= 4, err, WK_E_USAGE, "too many arguments ('%s'; see --help)", a);
            o->pos[o->npos++] = a;
        }
    }
    if (o->std.threads > 0) wk_threads_apply(o->std.threads);
    return 0;
}

int wk_eval_read_ids(const char *path, int32_t **ids, size_t *n, wk_err *err)
{
    wk_map mp;
    *ids = NULL;
    *n = 0;
    WK_TRY(wk_map_open(&mp, path, err));
    const char *s = (const char *)mp.data, *e = s + mp.size;
    size_t cap = mp.size / 2 + 1, k = 0;
    int32_t *v = malloc(cap * sizeof *v);
    int rc = -1;
    WK_FAIL_GOTO(!v, done, err, WK_E_NOMEM, "out of memory");
    while (s < e) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ',') {
            s++;
            continue;
        }
        int64_t x = 0;
        const char *b = s;
        while (s < e && *s >= '0' && *s <= '9' && x <= INT32_MAX) x = x * 10 + (*s++ - '0');
        WK_FAIL_GOTO(s == b || x > INT32_MAX || (s < e && !strchr(" \t\r\n,", *s)), done, err, WK_E_FORMAT,
                     "%s: token %zu (byte %zu): not a token id (decimal integers separated by spaces, "
                     "newlines or commas)", path, k, (size_t)(b - (const char *)mp.data));
        v[k++] = (int32_t)x;
    }
    WK_FAIL_GOTO(k == 0, done, err, WK_E_USAGE, "%s: no token ids", path);
    *ids = v;
    *n = k;
    v = NULL;
    rc = 0;
done:
    free(v);
    wk_map_close(&mp);
    return rc;
}

int wk_eval_tokenize(const wk_model *m, const char *text, int32_t **ids, size_t *n, wk_err *err)
{
    const wk_source *src = wk_model_source(m);
    const wk_gguf *g = wk_source_gguf(src);
    wk_tok *t = g ? wk_tok_open_gguf(g, err) : wk_tok_open_dir(wk_source_dir(src), err);
    if (!t) return wk_err_prefix(err, "%s: the model's vocabulary", wk_source_path(src));
    wk_map mp;
    int rc = -1;
    if (wk_map_open(&mp, text, err)) goto done;
    WK_FAIL_GOTO(wk_tok_n_vocab(t) > wk_model_n_vocab(m), unmap, err, WK_E_FORMAT, "%s: the vocabulary has "
                 "%lld tokens but the model only %lld rows", wk_source_path(src),
                 (long long)wk_tok_n_vocab(t), (long long)wk_model_n_vocab(m));
    if (wk_tok_encode(t, (const char *)mp.data, mp.size, wk_tok_add_bos(t), ids, n, err)) {
        wk_err_prefix(err, "%s", text);
        goto unmap;
    }
    rc = 0;
unmap:
    wk_map_close(&mp);
done:
    wk_tok_close(t);
    return rc;
}

wk_model *wk_eval_open_model(const char *path, int threads, int64_t n_ctx, int64_t n_batch, wk_err *err)
{
    wk_model_opts mo;
    wk_model_opts_init(&mo);
    mo.threads = threads;
    mo.n_ctx = n_ctx;
    mo.n_batch = n_batch > 0 ? n_batch : 512;
    return wk_model_open(path, &mo, err);
}

int wk_eval_main(int argc, char **argv, void (*usage)(void), int (*run)(const wk_eval_opts *o, wk_err *err))
{
    wk_eval_opts o;
    wk_err err;
    wk_err_clear(&err);
    int exit_now = 0;
    if (wk_eval_parse(argc, argv, &o, usage, &exit_now, &err)) return wk_cli_fail(WK_EVAL_PROG, &err);
    if (exit_now) return 0;
    if (run(&o, &err)) {
        fflush(stdout);
        return wk_cli_fail(WK_EVAL_PROG, &err);
    }
    return 0;
}

int64_t *wk_eval_num_opt(const char *a, int64_t *n_ctx, int64_t *n_batch, int64_t *chunks)
{
    return !strcmp(a, "--ctx") || !strcmp(a, "-c") || !strcmp(a, "--ctx-size") ? n_ctx
           : !strcmp(a, "-b") || !strcmp(a, "--batch-size")                    ? n_batch
           : !strcmp(a, "--chunks")                                            ? chunks
                                                                               : NULL;
}

int wk_eval_opt_value(int argc, char **argv, int *i, const char **sv, int64_t *iv, int64_t lo, wk_err *err)
{
    const char *a = argv[*i];
    WK_FAIL_IF(*i + 1 >= argc, err, WK_E_USAGE, "%s needs a value", a);
    const char *s = argv[++*i];
    if (sv) {
        *sv = s;
        return 0;
    }
    char *end;
    const long long v = strtoll(s, &end, 10);
    WK_FAIL_IF(*end || end == s || v < lo || v > (1 << 24), err, WK_E_USAGE, "%s %s: not a number in range", a, s);
    *iv = v;
    return 0;
}
