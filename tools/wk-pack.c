/* wk-pack — a model in any supported layout -> one flat, aligned, mmap-able
 * GGUF or safetensors file (or a sharded safetensors directory).  A thin main:
 * argument parsing and reporting here; the work is in the engine
 * tools/pack/wk_pack.c over formats/llama/wk_source.c, wk_gguf_llama.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_bpejson.h"
#include "wk_cli.h"
#include "wk_gguf_llama.h"
#include "wk_hfcfg.h"
#include "wk_io.h"
#include "wk_pack.h"
#include "wk_pack_edit.h"
#include "wk_progress.h"
#include "wk_source.h"
#include "wk_threads.h"

typedef enum { FMT_AUTO, FMT_GGUF, FMT_ST } out_format;

typedef struct {
    wk_cli_std_opts std;
    const char *input, *output;
    out_format format;
    wk_gl_opts gl;
    uint64_t shard_size;
    int sha256;
    int list;        /* --list: print the input's tensors and exit */
    wk_pack_edit_cli ed;  /* GGUF split / merge / metadata edits */
} pack_opts;

static void usage(void)
{
    printf(
"usage: wk-pack INPUT OUTPUT [options]\n"
"       wk-pack --list INPUT\n"
"\n"
"  Pack a model into one flat, aligned, mmap-able file: GGUF for llama.cpp, or\n"
"  safetensors for the HF world.  INPUT is a directory (HF: model*.safetensors or\n"
"  pytorch_model*.bin, with or without an index; Meta: params.json +\n"
"  consolidated.NN.pth, ranks merged) or a single .pth/.bin/.safetensors/.gguf\n"
"  file.  The output format follows OUTPUT's extension (.gguf, .safetensors) or\n"
"  --format.  Output is written atomically (temporary file, fsync, rename).\n"
"  HF models: LlamaForCausalLM (Llama 1/2/3.x, llama3 rope scaling),\n"
"  MistralForCausalLM, Qwen2ForCausalLM; anything else is refused by name.\n"
"\n"
"options:\n"
"  --format gguf|safetensors   output format (default: from OUTPUT's extension)\n"
"  --outtype auto|f32|f16|bf16 tensor type (default auto: keep the stored type).\n"
"                              GGUF: 2-D weights only, 1-D tensors stay F32;\n"
"                              safetensors: every float tensor\n"
"  --vocab FILE                tokenizer.model or tokenizer.json (default: INPUT dir's\n"
"                              tokenizer.model, its tokenizer.json, the parent's\n"
"                              tokenizer.model)\n"
"  --pre NAME                  byte-level BPE: tokenizer.ggml.pre instead of the one\n"
"                              identified from tokenizer.json's patterns (llama-bpe,\n"
"                              smaug-bpe, qwen2, qwen35, tekken, gpt-4o, gpt-2,\n"
"                              starcoder, deepseek-llm, deepseek-coder)\n"
"  --name NAME                 general.name (default: the input directory's name)\n"
"  --ctx N                     <arch>.context_length (default: config.json, or a\n"
"                              guess for Meta: 2048 / 4096 / 16384); Mistral's\n"
"                              sliding_window must cover it\n"
"  --alignment N               GGUF data alignment (power of two, default 32)\n"
"  --chat-template metharme|FILE  write tokenizer.chat_template\n"
"  --no-digest                 do not store per-tensor XXH3-64 digests\n"
"  --allow-nonfinite           pass NaN/Inf values (and values --outtype f16 turns\n"
"                              into inf) on, with a count; default: an error naming\n"
"                              the tensor, the count and the first element\n"
"  --sha256                    also write OUTPUT.sha256 (sha256sum format; sharded:\n"
"                              OUTPUT/SHA256SUMS for the shards)\n"
"  --shard-size SIZE           safetensors: split into model-0000k-of-0000n.safetensors\n"
"                              + model.safetensors.index.json in directory OUTPUT\n"
"                              (SIZE as transformers: 5GB, 500MiB, bytes)\n"
"  --list                      list INPUT's tensors (name, dtype, shape) and exit\n"
"  -j, --threads N             threads for the digest pass (default: all cores)\n"
"  -q, --quiet                 no summary line\n"
"  --progress, --no-progress   progress bar on stderr (default: if a TTY)\n"
"  -h, --help, -V, --version\n");
    pack_edit_usage();
}

static int need_value(int argc, char **argv, int *i, const char **out, wk_err *err)
{
    if (*i + 1 >= argc) return wk_err_set(err, WK_E_USAGE, "%s needs a value", argv[*i]);
    *out = argv[++*i];
    return 0;
}

static int parse_u32(const char *opt, const char *s, uint32_t *out, wk_err *err)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v == 0 || v > UINT32_MAX || s[0] == '-')
        return wk_err_set(err, WK_E_USAGE, "%s: \"%s\" is not a positive 32-bit integer", opt, s);
    *out = (uint32_t)v;
    return 0;
}

static int parse_args(pack_opts *o, int argc, char **argv, int *exit_now, wk_err *err)
{
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        int r = wk_cli_std_or_exit(&o->std, argc, argv, &i, usage, exit_now, err);
        if (r < 0 || *exit_now) return r < 0 ? -1 : 0;
        if (r) continue;
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--format")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            if (!strcmp(v, "gguf")) o->format = FMT_GGUF;
            else if (!strcmp(v, "safetensors")) o->format = FMT_ST;
            else return wk_err_set(err, WK_E_USAGE, "--format: \"%s\" (gguf or safetensors)", v);
        } else if (!strcmp(a, "--outtype")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            int t = wk_outtype_parse(v);
            if (t < 0) return wk_err_set(err, WK_E_USAGE, "--outtype: \"%s\" (auto, f32, f16 or bf16)", v);
            o->gl.outtype = (wk_outtype)t;
        } else if (!strcmp(a, "--vocab")) {
            WK_TRY(need_value(argc, argv, &i, &o->gl.vocab, err));
        } else if (!strcmp(a, "--pre")) {
            WK_TRY(need_value(argc, argv, &i, &o->gl.pre, err));
            if (!wk_bpej_pre_known(o->gl.pre)) {
                char names[512];
                wk_bpej_pre_names(names, sizeof names);
                return wk_err_set(err, WK_E_USAGE, "--pre: \"%s\" is not a known pre-tokenizer "
                                  "(known: %s)", o->gl.pre, names);
            }
        } else if (!strcmp(a, "--name")) {
            WK_TRY(need_value(argc, argv, &i, &o->gl.name, err));
        } else if (!strcmp(a, "--ctx")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            WK_TRY(parse_u32(a, v, &o->gl.ctx, err));
        } else if (!strcmp(a, "--alignment")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            WK_TRY(parse_u32(a, v, &o->gl.alignment, err));
            if (o->gl.alignment < 8 || o->gl.alignment > (1u << 20) || (o->gl.alignment & (o->gl.alignment - 1)))
                return wk_err_set(err, WK_E_USAGE, "--alignment: %s is not a power of two in 8..1048576", v);
        } else if (!strcmp(a, "--chat-template")) {
            WK_TRY(need_value(argc, argv, &i, &o->gl.chat_template, err));
        } else if (!strcmp(a, "--no-digest")) {
            o->gl.digests = 0;
        } else if (!strcmp(a, "--allow-nonfinite")) {
            o->gl.allow_nonfinite = 1;
        } else if (!strcmp(a, "--sha256")) {
            o->sha256 = 1;
        } else if (!strcmp(a, "--shard-size")) {
            WK_TRY(need_value(argc, argv, &i, &v, err));
            WK_TRY(wk_hfcfg_parse_size(v, &o->shard_size, err));
        } else if (!strcmp(a, "--list")) {
            o->list = 1;
        } else if ((r = pack_edit_arg(&o->ed, argc, argv, &i, err)) != 0) {
            if (r < 0) return -1;
        } else if (a[0] == '-' && a[1]) {
            return wk_err_set(err, WK_E_USAGE, "unknown option %s (see --help)", a);
        } else {
            if (npos == 2) return wk_err_set(err, WK_E_USAGE, "too many arguments (INPUT OUTPUT expected)");
            pos[npos++] = a;
        }
    }
    int one = o->list || o->ed.in_place;
    if (npos < (one ? 1 : 2))
        return wk_err_set(err, WK_E_USAGE, "%s expected (see --help)", one ? "INPUT" : "INPUT and OUTPUT");
    if (one && npos != 1) return wk_err_set(err, WK_E_USAGE, "--list and --in-place take only INPUT");
    o->input = pos[0];
    o->output = npos > 1 ? pos[1] : NULL;
    if (one) return 0;
    if (o->format == FMT_AUTO) {
        size_t n = strlen(o->output);
        if (n > 5 && !strcmp(o->output + n - 5, ".gguf")) o->format = FMT_GGUF;
        else if ((n > 12 && !strcmp(o->output + n - 12, ".safetensors")) || o->shard_size) o->format = FMT_ST;
        else return wk_err_set(err, WK_E_USAGE, "%s: cannot tell the format from the name; use --format", o->output);
    }
    if (o->shard_size && o->format != FMT_ST)
        return wk_err_set(err, WK_E_USAGE, "--shard-size applies to safetensors output only");
    if (o->format == FMT_ST && (o->gl.vocab || o->gl.name || o->gl.ctx || o->gl.alignment || o->gl.chat_template))
        return wk_err_set(err, WK_E_USAGE, "--vocab, --name, --ctx, --alignment and --chat-template apply to "
                          "GGUF output only");
    return 0;
}

/* ---- listing ---------------------------------------------------------------- */

/* A name from a file, control characters and backslashes escaped as \xNN. */
static void print_name(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '\\') printf("\\x%02x", c);
        else putchar(c);
    }
}

static void list_tensors(const wk_source *s)
{
    printf("# %s: %s, %zu file(s), %zu tensors\n", wk_source_path(s), wk_source_kind_name(wk_source_kind_of(s)),
           wk_source_file_count(s), wk_source_count(s));
    for (size_t i = 0; i < wk_source_count(s); i++) {
        const wk_source_tensor *t = wk_source_tensor_at(s, i);
        const char *dt = t->dtype < WK_DT_COUNT ? wk_dtype_get(t->dtype)->st_name
                                                : wk_ggml_type_get(t->ggml_type)->name;
        print_name(t->name);
        printf("\t%s\t[", dt);
        for (int d = 0; d < t->ndim; d++) printf(d ? ", %lld" : "%lld", (long long)t->shape[d]);
        printf("]\t%llu\n", (unsigned long long)t->nbytes);
    }
}

/* A new stage of the run: its name on the progress bar. */
static void on_stage(void *bar, const char *label)
{
    wk_progress_set_label(bar, label);
}

int main(int argc, char **argv)
{
    pack_opts o;
    wk_err err;
    wk_err_clear(&err);
    memset(&o, 0, sizeof o);
    wk_cli_std_init(&o.std, "wk-pack");
    wk_gl_opts_init(&o.gl);
    int exit_now = 0;
    if (parse_args(&o, argc, argv, &exit_now, &err)) return wk_cli_fail(o.std.prog, &err);
    if (exit_now) return 0;
    wk_threads_apply(o.std.threads);
    o.gl.threads = o.std.threads;
    o.ed.chat_template = o.gl.chat_template;   /* used only for a GGUF input */
    if (o.ed.in_place) {
        int rc = pack_edit_in_place(&o.ed, o.input, &o.std, &err);
        pack_edit_free(&o.ed);
        return rc ? wk_cli_fail(o.std.prog, &err) : 0;
    }
    wk_source *src = wk_source_open(o.input, o.std.threads, &err);
    if (!src) return wk_cli_fail(o.std.prog, &err);
    if (o.list) {
        list_tensors(src);
        wk_source_close(src);
        return 0;
    }
    wk_io_install_signal_cleanup();
    wk_cli_sweep_stale(&o.std, o.output);
    int packing = o.gl.outtype != WK_OUTTYPE_AUTO || o.gl.vocab || o.gl.name || o.gl.ctx || o.gl.alignment ||
                  !o.gl.digests || o.gl.allow_nonfinite || o.sha256 || o.shard_size;
    int ed = pack_edit_applies(&o.ed, src, o.format == FMT_GGUF, packing, &err);
    if (ed) {   /* a GGUF split / merge / metadata edit (or an error) */
        int rc = ed < 0 ? -1 : pack_edit_run(&o.ed, src, o.output, &o.std, &err);
        pack_edit_free(&o.ed);
        wk_source_close(src);
        return rc ? wk_cli_fail(o.std.prog, &err) : 0;
    }
    if (o.sha256 && !o.shard_size) {
        char side[4096];
        snprintf(side, sizeof side, "%s.sha256", o.output);
        wk_cli_sweep_stale(&o.std, side);
    }
    wk_progress *bar = wk_cli_want_progress(&o.std) ? wk_progress_new("pack", 0, 1) : NULL;
    wk_pack_opts po;
    wk_pack_opts_init(&po);
    po.output = o.output;
    po.format = o.format == FMT_GGUF ? WK_PACK_GGUF : WK_PACK_ST;
    po.gl = o.gl;
    po.shard_size = o.shard_size;
    po.sha256 = o.sha256;
    po.threads = o.std.threads;
    po.progress = bar ? wk_progress_cb : NULL;
    po.progress_ctx = bar;
    po.stage = on_stage;
    uint64_t size = 0, nonfinite[2] = {0, 0};
    po.nonfinite = nonfinite;
    int rc = wk_pack_run(&po, src, &size, &err);
    wk_progress_finish(bar);
    if (!rc && (nonfinite[0] || nonfinite[1]))   /* only with --allow-nonfinite */
        fprintf(stderr, "wk-pack: warning: %llu NaN/Inf value(s) passed on and %llu made inf by "
                "--outtype (--allow-nonfinite)\n", (unsigned long long)nonfinite[0],
                (unsigned long long)nonfinite[1]);
    if (!rc && !o.std.quiet)
        fprintf(stderr, "wk-pack: %s (%s, %zu tensors) -> %s (%s, %llu bytes)\n", o.input,
                wk_source_kind_name(wk_source_kind_of(src)), wk_source_count(src), o.output,
                o.format == FMT_GGUF ? "gguf" : "safetensors", (unsigned long long)size);
    wk_source_close(src);
    pack_edit_free(&o.ed);
    return rc ? wk_cli_fail(o.std.prog, &err) : 0;
}
