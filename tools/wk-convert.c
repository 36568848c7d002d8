/* wk-convert — Meta LLaMA checkpoint -> HuggingFace layout, byte for byte what
 * transformers' convert_llama_weights_to_hf.py (v4.28–v4.32 era) writes.
 * A thin main: options here, the work in formats/llama/wk_llama.c, wk_convert.c. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wk_cli.h"
#include "wk_convert.h"
#include "wk_hash.h"
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
    int safetensors;
    int dry_run;
    int sha256;
    const char *max_shard;    /* --max-shard-size */
    const char *tf_version;   /* --transformers-version (NULL = default / auto) */
    const char *torch_version;
} conv_opts;

static void usage(void)
{
    printf(
"usage: wk-convert INPUT_DIR OUTPUT_DIR [options]\n"
"       wk-convert --input_dir DIR [--model_size SIZE] --output_dir DIR [options]\n"
"\n"
"  Convert Meta's original LLaMA checkpoint (params.json, consolidated.NN.pth,\n"
"  tokenizer.model in the model directory or its parent) to the HuggingFace\n"
"  layout, byte-identical to transformers' convert_llama_weights_to_hf.py +\n"
"  save_pretrained: config.json, generation_config.json, pytorch_model*.bin\n"
"  (+ index), tokenizer_config.json, special_tokens_map.json, tokenizer.model.\n"
"  Streaming: a few MB of memory, whatever the size of the model.\n"
"  The output directory is written under a temporary name and renamed at the end.\n"
"\n"
"options:\n"
"  --input_dir DIR            as the Python script: with --model_size the model is\n"
"                             read from DIR/SIZE/ (or DIR if there is no such\n"
"                             directory) and tokenizer.model from there or DIR\n"
"  --model_size SIZE          7B 7Bf 13B 13Bf 30B 34B 65B 70B 70Bf (checked against\n"
"                             the checkpoint) or tokenizer_only\n"
"  --output_dir DIR           output directory (must not exist, or be empty)\n"
"  --dry-run                  print the planned files and exact sizes; write nothing\n"
"  --sha256                   print sha256sum lines of the outputs (hashed as written)\n"
"  --max-shard-size SIZE      save_pretrained's max_shard_size (default 10GB = 10^10\n"
"                             bytes; GiB/MiB/KiB binary; a lowercase 'b' means bits)\n"
"  --transformers-version V   profile to imitate, 4.28.x .. 4.32.x (default %s;\n"
"                             4.31.0 for grouped-query-attention models)\n"
"  --torch-version T          torch.save layout: 1.13 (= 2.0, default) or 2.1 (.. 2.5)\n"
"  --tokenizer PATH           tokenizer.model to use; --no-tokenizer: skip tokenizer files\n"
"  --safetensors              model-*.safetensors + model.safetensors.index.json, as\n"
"                             save_pretrained(safe_serialization=True); also accepted\n"
"                             as the 4.31 script's --safe_serialization [True|False]\n"
"  -j, --threads N            threads for opening the rank files (default: all cores)\n"
"  -q, --quiet                print errors only\n"
"  --json                     print a JSON report on stdout\n"
"  --progress, --no-progress  progress bar (default: on a terminal)\n"
"  -h, --help, -V, --version\n"
"\n"
"See docs/convert.md for what is reproduced exactly and what is not.\n",
        WK_HF_DEFAULT_VERSION);
}

/* The value of option `name` in argv[*i] ("--name=V" or "--name V"); NULL if
 * argv[*i] is another option; sets *missing when the value is absent. */
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

/* ---- progress / counting sink ------------------------------------------------ */

typedef struct {
    wk_sink *inner;
    wk_progress *bar;
    uint64_t done;
} count_sink;

static int count_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    count_sink *c = ctx;
    WK_TRY(wk_sink_write(c->inner, p, n, err));
    c->done += n;
    wk_progress_update(c->bar, c->done);
    return 0;
}

/* ---- reporting ------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void human(uint64_t n, char *buf, size_t cap)
{
    if (n >= 1000000000ull) snprintf(buf, cap, "%.2f GB", n / 1e9);
    else if (n >= 1000000ull) snprintf(buf, cap, "%.2f MB", n / 1e6);
    else snprintf(buf, cap, "%llu bytes", (unsigned long long)n);
}

static void print_plan(const wk_convert *c, const char *out)
{
    const wk_llama_geom *g = wk_convert_geom(c);
    const wk_convert_opts *o = wk_convert_opts_of(c);
    printf("model: dim %lld, %lld layers, %lld heads (%lld kv), ffn %lld, vocab %lld, %d rank%s\n",
           (long long)g->dim, (long long)g->n_layers, (long long)g->n_heads, (long long)g->n_kv_heads,
           (long long)g->ffn, (long long)g->vocab, g->n_ranks, g->n_ranks == 1 ? "" : "s");
    printf("profile: transformers %s, %s\n", o->hf.version, wk_pth_profile_get(o->torch)->name);
    printf("planned files%s%s:\n", out ? " in " : "", out ? out : "");
    for (size_t i = 0; i < wk_convert_file_count(c); i++) {
        const wk_convert_file *f = wk_convert_file_get(c, i);
        printf("%15llu  %s\n", (unsigned long long)f->size, f->name);
    }
    char h[32];
    human(wk_convert_total_bytes(c), h, sizeof h);
    printf("%15llu  total (%s)\n", (unsigned long long)wk_convert_total_bytes(c), h);
}

/* JSON report; digests may be NULL (dry run / no --sha256). */
static int print_json(const wk_convert *c, const conv_opts *o, const char *model_dir,
                      char (*digests)[65], double secs, wk_err *err)
{
    const wk_llama_geom *g = wk_convert_geom(c);
    const wk_convert_opts *co = wk_convert_opts_of(c);
    wk_json *r = wk_json_new_object(), *geo = wk_json_new_object(), *files = wk_json_new_array();
    int rc = r && geo && files ? 0 : wk_err_set(err, WK_E_NOMEM, "out of memory");
#define SET(obj, k, v) do { if (rc == 0) rc = wk_json_object_append((obj), (k), (v), err); } while (0)
    SET(geo, "dim", wk_json_new_int(g->dim));
    SET(geo, "n_layers", wk_json_new_int(g->n_layers));
    SET(geo, "n_heads", wk_json_new_int(g->n_heads));
    SET(geo, "n_kv_heads", wk_json_new_int(g->n_kv_heads));
    SET(geo, "ffn", wk_json_new_int(g->ffn));
    SET(geo, "vocab", wk_json_new_int(g->vocab));
    SET(geo, "ranks", wk_json_new_int(g->n_ranks));
    for (size_t i = 0; i < wk_convert_file_count(c) && rc == 0; i++) {
        const wk_convert_file *f = wk_convert_file_get(c, i);
        wk_json *e = wk_json_new_object();
        SET(e, "name", wk_json_new_string(f->name));
        SET(e, "size", wk_json_new_int((int64_t)f->size));
        if (digests) SET(e, "sha256", wk_json_new_string(digests[i]));
        if (rc == 0) rc = wk_json_array_push(files, e, err);
        else wk_json_free(e);
    }
    SET(r, "input", model_dir ? wk_json_new_string(model_dir) : wk_json_new_null());
    SET(r, "output", o->output ? wk_json_new_string(o->output) : wk_json_new_null());
    SET(r, "dry_run", wk_json_new_bool(o->dry_run));
    SET(r, "transformers_version", wk_json_new_string(co->hf.version));
    SET(r, "torch_profile", wk_json_new_string(wk_pth_profile_get(co->torch)->name));
    SET(r, "max_shard_size", wk_json_new_int((int64_t)co->max_shard_size));
    SET(r, "geometry", geo);
    SET(r, "files", files);
    SET(r, "total_bytes", wk_json_new_int((int64_t)wk_convert_total_bytes(c)));
    if (!o->dry_run) SET(r, "seconds", wk_json_new_double(secs));
#undef SET
    wk_buf b;
    wk_buf_init(&b);
    wk_json_dump_opts d = wk_json_opts_hf();
    d.sort_keys = 0;
    if (rc == 0) rc = wk_json_dump(r, &d, &b, err);
    if (rc == 0) printf("%.*s\n", (int)b.len, (const char *)b.data);
    wk_buf_free(&b);
    wk_json_free(r);
    return rc;
}

/* ---- the conversion ------------------------------------------------------------- */

/* Write every planned file into a temporary directory, then rename it. */
static int write_all(wk_convert *c, const conv_opts *o, char (*digests)[65], wk_err *err)
{
    wk_outdir *d = wk_outdir_open(o->output, err);
    if (!d) return -1;
    int rc = 0;
    wk_progress *bar = wk_progress_new("wk-convert", wk_convert_total_bytes(c),
                                       wk_cli_want_progress(&o->std));
    count_sink cs = {NULL, bar, 0};
    wk_hash *h = o->sha256 ? wk_hash_create(WK_HASH_SHA256, err) : NULL;
    if (o->sha256 && !h) rc = -1;
    for (size_t i = 0; i < wk_convert_file_count(c) && rc == 0; i++) {
        const wk_convert_file *f = wk_convert_file_get(c, i);
        char *path = wk_path_join(wk_outdir_path(d), f->name);
        wk_out *out = path ? wk_out_open(path, NULL, err) : NULL;
        free(path);
        if (!out) {
            rc = path ? -1 : wk_err_set(err, WK_E_NOMEM, "out of memory");
            break;
        }
        if (h) wk_hash_reset(h, err);
        wk_progress_set_label(bar, f->name);
        wk_sink os, cw;
        cs.inner = wk_sink_out(&os, out);
        wk_sink_tee(&os, h);
        wk_sink_init(&cw, count_write, &cs);
        rc = wk_convert_stream_file(c, i, &cw, err);
        if (rc == 0 && wk_out_tell(out) != f->size)
            rc = wk_err_set(err, WK_E_INTERNAL, "%s: wrote %llu bytes, planned %llu", f->name,
                            (unsigned long long)wk_out_tell(out), (unsigned long long)f->size);
        if (rc != 0) {
            wk_out_abort(out);
            break;
        }
        rc = wk_out_commit(out, err);
        if (rc == 0 && h) {
            uint8_t dg[WK_HASH_MAX_DIGEST];
            rc = wk_hash_digest(h, dg, err);
            wk_hex(dg, 32, digests[i]);
        }
    }
    wk_hash_free(h);
    wk_progress_finish(bar);
    if (rc != 0) {
        wk_outdir_abort(d);
        return -1;
    }
    return wk_outdir_commit(d, err);
}

/* Model directory and tokenizer path from the options (script layout or plain). */
static int locate(const conv_opts *o, char **model_dir, char **tokenizer, wk_err *err)
{
    *model_dir = NULL;
    *tokenizer = NULL;
    int tok_only = o->model_size && !strcmp(o->model_size, "tokenizer_only");
    struct stat st;
    if (o->model_size && !tok_only) { /* the script's layout: INPUT/SIZE/, if it exists */
        *model_dir = wk_path_join(o->input, o->model_size);
        if (*model_dir && (stat(*model_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
            free(*model_dir);
            *model_dir = strdup(o->input);
        }
    } else {
        *model_dir = strdup(o->input);
    }
    if (!*model_dir) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (o->no_tokenizer) return 0;
    if (o->tokenizer) *tokenizer = strdup(o->tokenizer);
    else *tokenizer = wk_llama_find_tokenizer(*model_dir);
    if (!*tokenizer)
        return wk_err_set(err, WK_E_IO, "tokenizer.model not found in %s or its parent directory "
                          "(use --tokenizer PATH or --no-tokenizer)", *model_dir);
    return 0;
}

/* Profile options into co; auto-select 4.31.0 for GQA when no version was given. */
static int profiles(const conv_opts *o, const wk_llama_geom *g, wk_convert_opts *co, wk_err *err)
{
    if (o->tf_version) WK_TRY(wk_hf_profile_parse(o->tf_version, &co->hf, err));
    else if (g && g->n_kv_heads != g->n_heads) {
        WK_TRY(wk_hf_profile_parse("4.31.0", &co->hf, err));
        if (!o->std.quiet && !o->std.json && !o->dry_run)
            fprintf(stderr, "wk-convert: grouped-query attention model: using transformers "
                    "4.31.0 (the first converter that handles it)\n");
    }
    if (o->torch_version) {
        int p = wk_pth_profile_from_name(o->torch_version);
        if (p < 0)
            return wk_err_set(err, WK_E_USAGE, "--torch-version %s: supported 1.13, 2.0, 2.1 .. 2.5",
                              o->torch_version);
        co->torch = (wk_pth_profile)p;
    }
    if (o->max_shard) WK_TRY(wk_hfcfg_parse_size(o->max_shard, &co->max_shard_size, err));
    return 0;
}

static int run(conv_opts *o, wk_err *err)
{
    if (o->model_size && strcmp(o->model_size, "tokenizer_only") && !wk_llama_size_get(o->model_size))
        return wk_err_set(err, WK_E_USAGE, "--model_size %s: expected 7B, 7Bf, 13B, 13Bf, 30B, 34B, "
                          "65B, 70B, 70Bf or tokenizer_only", o->model_size);
    wk_threads_apply(o->std.threads);
    char *model_dir = NULL, *tok = NULL;
    wk_llama_ckpt *ck = NULL;
    wk_convert *c = NULL;
    char (*digests)[65] = NULL;
    int rc = -1, model = !(o->model_size && !strcmp(o->model_size, "tokenizer_only"));
    double t0 = now_s();
    wk_convert_opts co;
    wk_convert_opts_init(&co);
    co.threads = o->std.threads;
    co.model = model;
    co.safetensors = o->safetensors;
    if (locate(o, &model_dir, &tok, err)) goto done;
    co.tokenizer = tok;
    if (model) {
        if (!(ck = wk_llama_open(model_dir, o->std.threads, err))) goto done;
        const wk_llama_size *sz = o->model_size ? wk_llama_size_get(o->model_size) : NULL;
        if (sz && wk_llama_size_check(sz, wk_llama_ckpt_geom(ck), err)) goto done;
    }
    if (profiles(o, ck ? wk_llama_ckpt_geom(ck) : NULL, &co, err)) goto done;
    if (ck) c = wk_convert_new(ck, &co, err);
    else {
        wk_llama_geom g = {.dim = 2, .n_layers = 1, .n_heads = 1, .n_kv_heads = 1, .head_dim = 2,
                           .ffn = 1, .vocab = 1, .n_ranks = 1, .rope_theta = 10000.0};
        struct stat st;
        if (!tok || stat(tok, &st) != 0) {
            rc = wk_err_errno(err, errno, "%s", tok ? tok : "tokenizer.model");
            goto done;
        }
        c = wk_convert_new_geom(&g, &co, (uint64_t)st.st_size, err);
    }
    if (!c) goto done;
    if (o->dry_run) {
        rc = o->std.json ? print_json(c, o, model_dir, NULL, 0, err) : (print_plan(c, o->output), 0);
        goto done;
    }
    if (o->sha256 && !(digests = calloc(wk_convert_file_count(c), sizeof *digests))) {
        rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
        goto done;
    }
    if (write_all(c, o, digests, err)) goto done;
    double secs = now_s() - t0;
    if (o->std.json) rc = print_json(c, o, model_dir, digests, secs, err);
    else {
        for (size_t i = 0; digests && i < wk_convert_file_count(c); i++) {
            char *p = wk_path_join(o->output, wk_convert_file_get(c, i)->name);
            printf("%s  %s\n", digests[i], p ? p : wk_convert_file_get(c, i)->name);
            free(p);
        }
        if (!o->std.quiet) {
            char h[32];
            human(wk_convert_total_bytes(c), h, sizeof h);
            fprintf(stderr, "wk-convert: wrote %zu files (%s) to %s in %.1f s\n",
                    wk_convert_file_count(c), h, o->output, secs);
        }
        rc = 0;
    }
done:
    free(digests);
    wk_convert_free(c);
    wk_llama_close(ck);
    free(model_dir);
    free(tok);
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
        usage();
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
