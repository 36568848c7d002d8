/* wk-convert — Meta LLaMA checkpoint -> HuggingFace layout, byte for byte what
 * transformers' convert_llama_weights_to_hf.py (v4.28–v4.32 era) writes.
 * A thin main: options and reports here, the run in the engine
 * tools/convert/wk_convrun.c over wk_convert.c and formats/llama/wk_llama.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wk_cli.h"
#include "wk_convert.h"
#include "wk_convert_print.h"
#include "wk_convrun.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_progress.h"
#include "wk_threads.h"

typedef struct {
    wk_cli_std_opts std;
    const char *input;        /* INPUT_DIR / --input_dir */
    const char *output;       /* OUTPUT_DIR / --output_dir */
    const char *model_size;   /* --model_size */
    const char *tokenizer;    /* --tokenizer */
    int no_tokenizer;
    int slow_tokenizer;
    int safetensors;
    int allow_nonfinite;
    int dry_run;
    int sha256;
    const char *max_shard;    /* --max-shard-size */
    const char *tf_version;   /* --transformers-version (NULL = default / auto) */
    const char *torch_version;
    const char *llama_version; /* --llama_version (Llama 3.x) */
    const char *post_processor; /* --post-processor */
    int instruct;
} conv_opts;

static const char *opt_value(const char *name, int argc, char **argv, int *i, int *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    *missing = 0;
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != 0) return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return a;
    }
    return argv[++*i];
}

/* --safe_serialization takes an optional bool word (the 4.31 script has type=bool). */
static int bool_word(const char *s)
{
    static const char *const t[] = {"True", "true", "1", "yes"}, *const f[] = {"False", "false", "0", "no"};
    for (int k = 0; k < 4; k++) {
        if (!strcmp(s, t[k])) return 1;
        if (!strcmp(s, f[k])) return 0;
    }
    return -1;
}

static int parse_args(conv_opts *o, int argc, char **argv, int *help, int *version, wk_err *err)
{
    static const struct { const char *name; size_t off; } valued[] = {
        {"--input_dir", offsetof(conv_opts, input)},
        {"--output_dir", offsetof(conv_opts, output)},
        {"--model_size", offsetof(conv_opts, model_size)},
        {"--tokenizer", offsetof(conv_opts, tokenizer)},
        {"--max-shard-size", offsetof(conv_opts, max_shard)},
        {"--max_shard_size", offsetof(conv_opts, max_shard)},
        {"--transformers-version", offsetof(conv_opts, tf_version)},
        {"--torch-version", offsetof(conv_opts, torch_version)},
        {"--llama_version", offsetof(conv_opts, llama_version)},
        {"--post-processor", offsetof(conv_opts, post_processor)},
    };
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = wk_cli_std(&o->std, argc, argv, &i, help, version, err);
        if (r < 0) return -1;
        if (r > 0) continue;
        int matched = 0, missing;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !matched; k++) {
            const char *v = opt_value(valued[k].name, argc, argv, &i, &missing);
            if (!v) continue;
            if (missing) return wk_err_set(err, WK_E_USAGE, "option %s needs a value", a);
            *(const char **)((char *)o + valued[k].off) = v;
            matched = 1;
        }
        if (matched) continue;
        if (!strcmp(a, "--dry-run")) o->dry_run = 1;
        else if (!strcmp(a, "--sha256")) o->sha256 = 1;
        else if (!strcmp(a, "--no-tokenizer")) o->no_tokenizer = 1;
        else if (!strcmp(a, "--allow-nonfinite")) o->allow_nonfinite = 1;
        else if (!strcmp(a, "--slow-tokenizer")) o->slow_tokenizer = 1;
        else if (!strcmp(a, "--instruct")) o->instruct = 1;
        else if (!strcmp(a, "--safetensors")) o->safetensors = 1;
        else if (!strncmp(a, "--safe_serialization", 20) && (a[20] == 0 || a[20] == '=')) {
            o->safetensors = 1;
            const char *v = a[20] == '=' ? a + 21 : (i + 1 < argc && bool_word(argv[i + 1]) >= 0 ? argv[++i] : NULL);
            if (v && bool_word(v) < 0)
                return wk_err_set(err, WK_E_USAGE, "--safe_serialization: expected True or False, got \"%s\"", v);
            if (v) o->safetensors = bool_word(v);
        } else if (a[0] == '-' && a[1]) return wk_err_set(err, WK_E_USAGE, "unknown option %s (see --help)", a);
        else if (npos < 2) pos[npos++] = a;
        else return wk_err_set(err, WK_E_USAGE, "unexpected argument \"%s\" (see --help)", a);
    }
    if (*help || *version) return 0;
    if (npos >= 1) {
        if (o->input) return wk_err_set(err, WK_E_USAGE, "INPUT_DIR given twice (positional and --input_dir)");
        o->input = pos[0];
    }
    if (npos == 2) {
        if (o->output) return wk_err_set(err, WK_E_USAGE, "OUTPUT_DIR given twice (positional and --output_dir)");
        o->output = pos[1];
    }
    if (!o->input) return wk_err_set(err, WK_E_USAGE, "missing INPUT_DIR (see --help)");
    if (!o->output && !o->dry_run) return wk_err_set(err, WK_E_USAGE, "missing OUTPUT_DIR (see --help)");
    return 0;
}

/* ---- reporting ------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the conversion ------------------------------------------------------------- */

/* Progress of the write: the bar's label is the file being written. */
static void on_file(void *bar, const char *file)
{
    wk_progress_set_label(bar, file);
}

static int run(conv_opts *o, wk_err *err)
{
    wk_convrun_opts ro = { .input = o->input, .output = o->output, .model_size = o->model_size,
        .tokenizer = o->tokenizer, .no_tokenizer = o->no_tokenizer,
        .slow_tokenizer = o->slow_tokenizer, .safetensors = o->safetensors,
        .sha256 = o->sha256, .max_shard = o->max_shard, .tf_version = o->tf_version,
        .torch_version = o->torch_version, .threads = o->std.threads,
        .allow_nonfinite = o->allow_nonfinite, .llama_version = o->llama_version,
        .instruct = o->instruct, .post_processor = o->post_processor };
    wk_threads_apply(o->std.threads);
    if (!o->dry_run) wk_cli_sweep_stale(&o->std, o->output);
    double t0 = now_s();
    wk_convrun r;
    int rc = wk_convrun_open(&r, &ro, err);
    if (r.gqa_auto && !o->std.quiet && !o->std.json && !o->dry_run)
        fprintf(stderr, "wk-convert: grouped-query attention model: using transformers "
                "4.31.0 (the first converter that handles it)\n");
    if (rc == 0 && o->dry_run) {
        rc = o->std.json ? conv_print_json(r.c, o->output, o->dry_run, r.model_dir, NULL, 0, err)
                        : (conv_print_plan(r.c, o->output), 0);
    } else if (rc == 0) {
        wk_progress *bar = wk_progress_new("wk-convert", wk_convert_total_bytes(r.c),
                                           wk_cli_want_progress(&o->std));
        wk_convrun_report rep = { wk_progress_cb, on_file, bar };
        rc = wk_convrun_write(&r, &ro, &rep, err);
        wk_progress_finish(bar);
        double secs = now_s() - t0;
        if (rc == 0 && o->std.json) rc = conv_print_json(r.c, o->output, 0, r.model_dir, r.digests, secs, err);
        else if (rc == 0) conv_print_written(r.c, o->output, o->std.quiet, r.digests, secs);
        if (rc == 0 && wk_convert_nonfinite(r.c))   /* only with --allow-nonfinite */
            fprintf(stderr, "wk-convert: warning: %llu NaN/Inf value(s) written (--allow-nonfinite)\n",
                    (unsigned long long)wk_convert_nonfinite(r.c));
    }
    wk_convrun_close(&r);
    return rc;
}

int main(int argc, char **argv)
{
    conv_opts o;
    memset(&o, 0, sizeof o);
    wk_cli_std_init(&o.std, "wk-convert");
    wk_err err;
    wk_err_clear(&err);
    int help = 0, version = 0;
    if (parse_args(&o, argc, argv, &help, &version, &err) != 0) return wk_cli_fail("wk-convert", &err);
    if (help) {
        conv_print_usage();
        return 0;
    }
    if (version) {
        wk_cli_print_version("wk-convert");
        return 0;
    }
    wk_io_install_signal_cleanup();
    if (run(&o, &err) != 0) return wk_cli_fail("wk-convert", &err);
    return 0;
}
