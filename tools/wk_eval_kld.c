/* wk_eval_kld.c — `wk-eval kld`: KL divergence of models against a base, as
 * llama-perplexity --kl-divergence (docs/eval.md; statistics and file format:
 * docs/formats/kld-base.md). */
#include "wk_eval.h"
#include "wk_eval_svg.h"
#include "wk_cli.h"
#include "wk_io.h"
#include "wk_kld_run.h"
#include "wk_ppl.h"
#include "wk_progress.h"
#include "wk_threads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_MODELS 64

typedef struct {
    wk_cli_std_opts std;
    const char *pos[MAX_MODELS + 2];
    int npos;
    const char *save_base, *base_logits, *svg, *tokens;
    int64_t n_ctx, chunks, n_batch;
    double ppl_base, ppl_base_unc;   /* the base pass's (when BASE ran) */
    wk_inputs *in;                   /* every input, never overwritten */
} kld_opts;

static void usage(void)
{
    printf(
"usage: wk-eval kld BASE MODEL... TEXT [options]\n"
"       wk-eval kld BASE MODEL... --tokens FILE [options]\n"
"       wk-eval kld BASE TEXT --save-base FILE [options]\n"
"       wk-eval kld --base-logits FILE MODEL... [options]\n"
"\n"
"  KL divergence of each MODEL's next-token distribution from BASE's on the\n"
"  same text, as llama-perplexity --kl-divergence: windows of --ctx tokens (BOS\n"
"  first), the second half of each scored; mean / median / percentiles / max\n"
"  KLD, PPL of both and their ratio, delta-p statistics, top-1 agreement.\n"
"  BASE runs once; its log-probabilities go to a temporary file (or FILE).\n"
"\n"
"options:\n"
"  -c, --ctx N          tokens per window (default 512, as llama-perplexity)\n"
"  --chunks N           at most N windows (default: all the text gives)\n"
"  -b, --batch-size N   tokens per forward (default 512)\n"
"  --tokens FILE        token ids instead of TEXT (decimal, separated by spaces,\n"
"                       newlines or commas; BOS first if the vocabulary adds one)\n"
"  --save-base FILE     keep BASE's log-probabilities in FILE (llama-perplexity's\n"
"                       --kl-divergence-base format: either tool reads it)\n"
"  --base-logits FILE   read them from FILE (no BASE, no TEXT: the file holds\n"
"                       the tokens)\n"
"  --svg FILE           plot KLD and PPL ratio against bits per weight\n"
"  -j, --threads N      threads (the results do not depend on it); -q, --quiet\n"
"  --json               one JSON object: with one MODEL its keys ppl, ppl_stderr,\n"
"                       n_scored, n_ctx, n_chunks, ppl_base, kld_mean, kld_median,\n"
"                       kld_p99, kld_max, top1_agreement, ... at the top level;\n"
"                       always \"models\": one object with those keys per MODEL\n"
"  --progress, --no-progress   progress bar (default: on a TTY unless --quiet)\n"
"  -h, --help, -V, --version\n");
}

/* MODEL positionals: [first, last). */
static int first_model(const kld_opts *o) { return o->base_logits ? 0 : 1; }
static int last_model(const kld_opts *o) { return o->base_logits || o->tokens ? o->npos : o->npos - 1; }
static int n_models(const kld_opts *o) { return last_model(o) - first_model(o); }

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

static int parse(kld_opts *o, int argc, char **argv, int *exit_now, wk_err *err)
{
    for (int i = 1; i < argc; i++) {
        const int r = wk_cli_std_or_exit(&o->std, argc, argv, &i, usage, exit_now, err);
        if (r < 0 || *exit_now) return r < 0 ? -1 : 0;
        if (r) continue;
        const char *a = argv[i];
        const char **sv = !strcmp(a, "--save-base") ? &o->save_base
                        : !strcmp(a, "--base-logits") ? &o->base_logits
                        : !strcmp(a, "--tokens") ? &o->tokens
                        : !strcmp(a, "--svg") ? &o->svg : NULL;
        int64_t *iv = wk_eval_num_opt(a, &o->n_ctx, &o->n_batch, &o->chunks);
        if (sv || iv) {
            WK_TRY(wk_eval_opt_value(argc, argv, &i, sv, iv, iv == &o->n_ctx ? 4 : 1, err));
        } else if (a[0] == '-' && a[1]) {
            return wk_err_set(err, WK_E_USAGE, "unknown option %s (see wk-eval kld --help)", a);
        } else {
            WK_FAIL_IF(o->npos == MAX_MODELS + 2, err, WK_E_USAGE, "too many models (at most %d)", MAX_MODELS);
            o->pos[o->npos++] = a;
        }
    }
    if (o->base_logits) {
        WK_FAIL_IF(o->save_base, err, WK_E_USAGE, "--save-base and --base-logits together: nothing to save");
        WK_FAIL_IF(o->tokens, err, WK_E_USAGE, "--tokens and --base-logits together: the file holds the tokens");
        WK_FAIL_IF(o->npos < 1, err, WK_E_USAGE, "--base-logits FILE MODEL...: no MODEL");
    } else {
        const int need = o->tokens ? 1 : 2;   /* BASE (and TEXT) */
        WK_FAIL_IF(o->npos < need || (o->npos < need + 1 && !o->save_base), err, WK_E_USAGE,
                   "expected BASE MODEL... TEXT (or BASE TEXT --save-base FILE; see wk-eval kld --help)");
    }
    WK_FAIL_IF(o->svg && n_models(o) < 1, err, WK_E_USAGE, "--svg: no MODEL to plot");
    return 0;
}

typedef struct {
    const char *path;
    double bpw;
    wk_kld_stats st;
} result;

static void print_result(const result *r, const char *base)
{
    const wk_kld_stats *s = &r->st;
    printf("\n== %s (%.4f bpw) vs %s: %llu tokens scored\n", r->path, r->bpw, base, (unsigned long long)s->n);
    printf("====== Perplexity statistics ======\n");
    printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", s->ppl, s->ppl_unc);
    printf("Mean PPL(base)                : %10.6f ± %10.6f\n", s->ppl_base, s->ppl_base_unc);
    printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * s->cor);
    printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", s->ln_ratio, s->ln_ratio_unc);
    printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", s->ratio, s->ratio_unc);
    printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", s->diff, s->diff_unc);
    printf("\n====== KL divergence statistics ======\n");
    printf("Mean    KLD: %10.6f ± %10.6f\n", s->kld_mean, s->kld_unc);
    static const char *kn[WK_KLD_NPCT] = { "Maximum", "99.9%  ", "99.0%  ", "95.0%  ", "90.0%  ", "Median ",
                                           "10.0%  ", " 5.0%  ", " 1.0%  ", " 0.1%  ", "Minimum" };
    for (int i = 0; i < WK_KLD_NPCT; i++) printf("%s KLD: %10.6f\n", kn[i], (double)s->kld[i]);
    printf("\n====== Token probability statistics ======\n");
    printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100.0 * s->dp_mean, 100.0 * s->dp_unc);
    static const char *dn[WK_KLD_NDP] = { "Maximum", "99.9%  ", "99.0%  ", "95.0%  ", "90.0%  ", "75.0%  ",
                                          "Median ", "25.0%  ", "10.0%  ", " 5.0%  ", " 1.0%  ", " 0.1%  ",
                                          "Minimum" };
    for (int i = 0; i < WK_KLD_NDP; i++) printf("%s Δp: %6.3f%%\n", dn[i], 100.0 * (double)s->dp[i]);
    printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100.0 * s->dp_rms, 100.0 * s->dp_rms_unc);
    printf("Same top p: %6.3f ± %5.3f %%\n", 100.0 * s->same_top, 100.0 * s->same_top_unc);
}

static void json_str(const char *str)
{
    fputc('"', stdout);
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else fputc(*p, stdout);
    }
    fputc('"', stdout);
}

static void json_num(const char *k, double v, int last)
{
    if (isfinite(v)) printf("\"%s\": %.9g%s", k, v, last ? "" : ", ");
    else printf("\"%s\": null%s", k, last ? "" : ", ");
}

/* The keys of one model (without braces). */
static void json_model(const result *r, int64_t n_ctx, int64_t n_chunks)
{
    const wk_kld_stats *s = &r->st;
    printf("\"model\": ");
    json_str(r->path);
    printf(", \"n_scored\": %llu, \"n_ctx\": %lld, \"n_chunks\": %lld, ", (unsigned long long)s->n,
           (long long)n_ctx, (long long)n_chunks);
    json_num("bpw", r->bpw, 0);
    json_num("ppl", s->ppl, 0);
    json_num("ppl_stderr", s->ppl_unc, 0);
    json_num("ppl_base", s->ppl_base, 0);
    json_num("ppl_base_stderr", s->ppl_base_unc, 0);
    json_num("ln_ppl_ratio", s->ln_ratio, 0);
    json_num("ln_ppl_ratio_stderr", s->ln_ratio_unc, 0);
    json_num("ppl_ratio", s->ratio, 0);
    json_num("kld_mean", s->kld_mean, 0);
    json_num("kld_stderr", s->kld_unc, 0);
    json_num("kld_median", s->kld[5], 0);
    json_num("kld_p90", s->kld[4], 0);
    json_num("kld_p95", s->kld[3], 0);
    json_num("kld_p99", s->kld[2], 0);
    json_num("kld_p99_9", s->kld[1], 0);
    json_num("kld_max", s->kld[0], 0);
    json_num("kld_min", s->kld[10], 0);
    json_num("dp_mean", s->dp_mean, 0);
    json_num("dp_rms", s->dp_rms, 0);
    json_num("dp_max", s->dp[0], 0);
    json_num("dp_min", s->dp[12], 0);
    json_num("top1_agreement", s->same_top, 0);
    json_num("top1_agreement_stderr", s->same_top_unc, 1);
}

static void print_json(const result *r, int n, const kld_opts *o, int64_t n_ctx, int64_t n_chunks,
                       const char *base)
{
    printf("{\"base\": ");
    json_str(base);
    printf(", ");
    if (n == 1) {
        json_model(&r[0], n_ctx, n_chunks);
        printf(", ");
    } else {
        printf("\"n_ctx\": %lld, \"n_chunks\": %lld, ", (long long)n_ctx, (long long)n_chunks);
    }
    if (o->save_base) {
        printf("\"saved_base\": ");
        json_str(o->save_base);
        printf(", ");
    }
    printf("\"models\": [");
    for (int i = 0; i < n; i++) {
        printf("%s{", i ? ", " : "");
        json_model(&r[i], n_ctx, n_chunks);
        printf("}");
    }
    printf("]}\n");
}

typedef struct {
    wk_kldbase *base;
    wk_kldbase_w *w;       /* the base pass's output (kept until the end when temporary) */
    wk_inputs *in;
    wk_progress *bar;
    double ppl_base, ppl_base_unc;
} kld_run;

static void progress(kld_run *k, const kld_opts *o, wk_eval_run_opts *ro, const char *label)
{
    wk_progress_finish(k->bar);
    k->bar = wk_progress_new(label, 0, wk_cli_want_progress(&o->std));
    *ro = (wk_eval_run_opts){ .progress = k->bar ? wk_progress_cb : NULL, .progress_ctx = k->bar };
}

static wk_model *open_model(const kld_opts *o, const char *path, int64_t n_ctx, wk_err *err)
{
    return wk_eval_open_model(path, o->std.threads, n_ctx, o->n_batch, err);
}

/* The base pass: tokenize TEXT, evaluate BASE, write its rows (to
 * --save-base or a temporary file), then open them as k->base. */
static int base_pass(kld_run *k, kld_opts *o, wk_err *err)
{
    const char *base = o->pos[0], *text = o->tokens ? o->tokens : o->pos[o->npos - 1];
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = -1;
    char tmp[4096];
    if (!o->n_ctx) o->n_ctx = 512;
    wk_model *m = open_model(o, base, o->n_ctx, err);
    if (!m) return -1;
    if (o->tokens) WK_TRY_GOTO(wk_eval_read_ids(o->tokens, &ids, &n, err), done);
    else WK_TRY_GOTO(wk_eval_tokenize(m, text, &ids, &n, err), done);
    int64_t n_chunk;
    if (wk_ppl_plan(n, o->n_ctx, o->chunks, &n_chunk, err)) {
        wk_err_prefix(err, "%s", text);
        goto done;
    }
    const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp, sizeof tmp, "%s/wk-eval-base-%ld.logits", dir, (long)getpid());
    k->w = wk_kldbase_create(o->save_base ? o->save_base : tmp, k->in, o->n_ctx, wk_model_n_vocab(m), n_chunk,
                             ids, err);
    if (!k->w) goto done;
    wk_eval_run_opts ro;
    progress(k, o, &ro, "base");
    if (wk_kld_run_base(m, ids, o->n_ctx, n_chunk, &ro, k->w, &k->ppl_base, &k->ppl_base_unc, err)) {
        wk_err_prefix(err, "%s", base);
        goto done;
    }
    if (o->save_base) {
        WK_TRY_GOTO(wk_kldbase_commit(k->w, err), done);
        k->w = NULL;
        k->base = wk_kldbase_open(o->save_base, err);
    } else {
        const char *staged = wk_kldbase_staged(k->w, err);
        k->base = staged ? wk_kldbase_open(staged, err) : NULL;
    }
    rc = k->base ? 0 : -1;
done:
    wk_model_close(m);
    free(ids);
    return rc;
}

static int model_pass(kld_run *k, const kld_opts *o, const char *path, result *r, wk_err *err)
{
    wk_model *m = open_model(o, path, wk_kldbase_n_ctx(k->base), err);
    if (!m) return -1;
    wk_eval_run_opts ro;
    progress(k, o, &ro, basename_of(path));
    r->path = path;
    r->bpw = wk_model_bpw(m);
    const int rc = wk_kld_run_model(m, k->base, &ro, &r->st, err);
    if (rc) wk_err_prefix(err, "%s", path);
    wk_model_close(m);
    return rc;
}

static int inputs(kld_opts *o, wk_err *err)
{
    o->in = wk_inputs_new(err);
    if (!o->in) return -1;
    for (int i = 0; i < o->npos; i++)
        if (access(o->pos[i], F_OK) == 0) WK_TRY(wk_inputs_add(o->in, o->pos[i], err));
    if (o->base_logits) WK_TRY(wk_inputs_add(o->in, o->base_logits, err));
    if (o->tokens) WK_TRY(wk_inputs_add(o->in, o->tokens, err));
    return 0;
}

static int run(kld_opts *o, result *res, int *nres, const char **base_name, wk_err *err)
{
    kld_run k = { .in = o->in };
    int rc = -1;
    if (o->base_logits) {
        k.base = wk_kldbase_open(o->base_logits, err);
        if (!k.base) goto done;
        WK_FAIL_GOTO(o->n_ctx && o->n_ctx != wk_kldbase_n_ctx(k.base), done, err, WK_E_USAGE,
                     "--ctx %lld, but %s was computed with %lld (leave --ctx out)", (long long)o->n_ctx,
                     o->base_logits, (long long)wk_kldbase_n_ctx(k.base));
        *base_name = o->base_logits;
    } else {
        WK_TRY_GOTO(base_pass(&k, o, err), done);
        *base_name = o->pos[0];
    }
    o->n_ctx = wk_kldbase_n_ctx(k.base);
    o->chunks = wk_kldbase_n_chunk(k.base);
    o->ppl_base = k.ppl_base;
    o->ppl_base_unc = k.ppl_base_unc;
    for (int i = first_model(o); i < last_model(o); i++) WK_TRY_GOTO(model_pass(&k, o, o->pos[i], &res[(*nres)++], err), done);
    if (!o->base_logits && *nres == 0 && !o->std.quiet && !o->std.json)
        printf("%s: base perplexity %.4f ± %.5f over %lld windows of %lld; log-probabilities in %s\n", o->pos[0],
               k.ppl_base, k.ppl_base_unc, (long long)o->chunks, (long long)o->n_ctx, o->save_base);
    rc = 0;
done:
    wk_progress_finish(k.bar);
    wk_kldbase_close(k.base);
    wk_kldbase_abort(k.w);   /* the temporary base file (never the saved one: committed) */
    return rc;
}

int wk_eval_kld(int argc, char **argv)
{
    const char *prog = WK_EVAL_PROG;
    kld_opts o = {0};
    wk_err err;
    int exit_now = 0;
    wk_cli_std_init(&o.std, prog);
    if (parse(&o, argc, argv, &exit_now, &err)) return wk_cli_fail(prog, &err);
    if (exit_now) return 0;
    if (o.std.threads > 0) wk_threads_apply(o.std.threads);
    if (o.save_base) wk_cli_sweep_stale(&o.std, o.save_base);
    result *res = calloc(MAX_MODELS + 2, sizeof *res);
    int nres = 0;
    const char *base = NULL;
    int rc = !res ? wk_err_set(&err, WK_E_NOMEM, "out of memory") : inputs(&o, &err);
    if (!rc) rc = run(&o, res, &nres, &base, &err);
    if (!rc && o.svg && nres) {
        wk_eval_point pts[MAX_MODELS + 2];
        for (int i = 0; i < nres; i++)
            pts[i] = (wk_eval_point){ .label = basename_of(res[i].path), .bpw = res[i].bpw,
                                      .kld_mean = res[i].st.kld_mean, .kld_p99 = res[i].st.kld[2],
                                      .ppl_ratio = res[i].st.ratio };
        rc = wk_eval_svg_write(o.svg, pts, (size_t)nres, basename_of(base), o.in, &err);
    }
    wk_inputs_free(o.in);
    if (rc) {
        free(res);
        return wk_cli_fail(prog, &err);
    }
    if (o.std.json && nres) {
        print_json(res, nres, &o, o.n_ctx, o.chunks, base);
    } else if (o.std.json) {
        printf("{\"base\": ");
        json_str(base);
        printf(", \"saved_base\": ");
        json_str(o.save_base);
        printf(", \"n_ctx\": %lld, \"n_chunks\": %lld, ", (long long)o.n_ctx, (long long)o.chunks);
        json_num("ppl_base", o.ppl_base, 0);
        json_num("ppl_base_stderr", o.ppl_base_unc, 1);
        printf("}\n");
    } else if (!o.std.quiet) {
        for (int i = 0; i < nres; i++) print_result(&res[i], base);
    }
    free(res);
    return 0;
}
