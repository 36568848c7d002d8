/* wk_convert_print.c — wk-convert's output (tool layer: prints): the plan,
 * the JSON report, the written files, --help. */
#include "wk_convert_print.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "wk_io.h"
#include "wk_json.h"

static void human(uint64_t n, char *buf, size_t cap)
{
    if (n >= 1000000000ull) snprintf(buf, cap, "%.2f GB", n / 1e9);
    else if (n >= 1000000ull) snprintf(buf, cap, "%.2f MB", n / 1e6);
    else snprintf(buf, cap, "%llu bytes", (unsigned long long)n);
}

void conv_print_plan(const wk_convert *c, const char *out)
{
    const wk_llama_geom *g = wk_convert_geom(c);
    const wk_convert_opts *o = wk_convert_opts_of(c);
    printf("model: dim %lld, %lld layers, %lld heads (%lld kv), ffn %lld, vocab %lld, %d rank%s\n",
           (long long)g->dim, (long long)g->n_layers, (long long)g->n_heads, (long long)g->n_kv_heads,
           (long long)g->ffn, (long long)g->vocab, g->n_ranks, g->n_ranks == 1 ? "" : "s");
    if (o->llama3)
        printf("profile: Llama %s%s as transformers %s writes it (bf16 safetensors)\n",
               wk_hfcfg3_version_name(o->llama3), o->instruct ? " instruct" : "",
               o->tf3_version ? o->tf3_version : WK_HF3_VERSION);
    else
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

/* The JSON report's "geometry". */
static wk_json *json_geometry(const wk_llama_geom *g, wk_err *err)
{
    wk_json *geo = wk_json_new_object();
    if (!geo) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    WK_TRY_GOTO(wk_json_object_append(geo, "dim", wk_json_new_int(g->dim), err), fail);
    WK_TRY_GOTO(wk_json_object_append(geo, "n_layers", wk_json_new_int(g->n_layers), err), fail);
    WK_TRY_GOTO(wk_json_object_append(geo, "n_heads", wk_json_new_int(g->n_heads), err), fail);
    WK_TRY_GOTO(wk_json_object_append(geo, "n_kv_heads", wk_json_new_int(g->n_kv_heads), err), fail);
    WK_TRY_GOTO(wk_json_object_append(geo, "ffn", wk_json_new_int(g->ffn), err), fail);
    WK_TRY_GOTO(wk_json_object_append(geo, "vocab", wk_json_new_int(g->vocab), err), fail);
    WK_TRY_GOTO(wk_json_object_append(geo, "ranks", wk_json_new_int(g->n_ranks), err), fail);
    return geo;
fail:
    wk_json_free(geo);
    return NULL;
}

/* The JSON report's "files": name, size (and sha256 when digests). */
static wk_json *json_files(const wk_convert *c, char (*digests)[65], wk_err *err)
{
    wk_json *files = wk_json_new_array(), *e = NULL;
    if (!files) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < wk_convert_file_count(c); i++) {
        const wk_convert_file *f = wk_convert_file_get(c, i);
        e = wk_json_new_object();
        WK_FAIL_GOTO(!e, fail, err, WK_E_NOMEM, "out of memory");
        WK_TRY_GOTO(wk_json_object_append(e, "name", wk_json_new_string(f->name), err), fail);
        WK_TRY_GOTO(wk_json_object_append(e, "size", wk_json_new_int((int64_t)f->size), err), fail);
        if (digests) WK_TRY_GOTO(wk_json_object_append(e, "sha256", wk_json_new_string(digests[i]), err), fail);
        wk_json *done = e;
        e = NULL;   /* the push owns it, even when it fails */
        WK_TRY_GOTO(wk_json_array_push(files, done, err), fail);
    }
    return files;
fail:
    wk_json_free(e);
    wk_json_free(files);
    return NULL;
}

int conv_print_json(const wk_convert *c, const char *output, int dry_run, const char *model_dir,
                    char (*digests)[65], double secs, wk_err *err)
{
    const wk_convert_opts *co = wk_convert_opts_of(c);
    int rc = -1;
    wk_buf b;
    wk_buf_init(&b);
    wk_json *r = wk_json_new_object();
    WK_FAIL_GOTO(!r, done, err, WK_E_NOMEM, "out of memory");
    WK_TRY_GOTO(wk_json_object_append(r, "input", model_dir ? wk_json_new_string(model_dir)
                                      : wk_json_new_null(), err), done);
    WK_TRY_GOTO(wk_json_object_append(r, "output", output ? wk_json_new_string(output)
                                      : wk_json_new_null(), err), done);
    WK_TRY_GOTO(wk_json_object_append(r, "dry_run", wk_json_new_bool(dry_run), err), done);
    WK_TRY_GOTO(wk_json_object_append(r, "transformers_version", wk_json_new_string(
                                          co->llama3 ? (co->tf3_version ? co->tf3_version
                                                                       : WK_HF3_VERSION)
                                                     : co->hf.version), err), done);
    WK_TRY_GOTO(wk_json_object_append(r, "llama_version", co->llama3 ? wk_json_new_string(
                                          wk_hfcfg3_version_name(co->llama3)) : wk_json_new_null(),
                                      err), done);
    WK_TRY_GOTO(wk_json_object_append(r, "torch_profile",
                                      wk_json_new_string(wk_pth_profile_get(co->torch)->name), err), done);
    WK_TRY_GOTO(wk_json_object_append(r, "max_shard_size", wk_json_new_int((int64_t)co->max_shard_size), err), done);
    WK_TRY_GOTO(wk_json_object_append(r, "geometry", json_geometry(wk_convert_geom(c), err), err), done);
    WK_TRY_GOTO(wk_json_object_append(r, "files", json_files(c, digests, err), err), done);
    WK_TRY_GOTO(wk_json_object_append(r, "total_bytes", wk_json_new_int((int64_t)wk_convert_total_bytes(c)), err), done);
    if (!dry_run) WK_TRY_GOTO(wk_json_object_append(r, "seconds", wk_json_new_double(secs), err), done);
    wk_json_dump_opts d = wk_json_opts_hf();
    d.sort_keys = 0;
    WK_TRY_GOTO(wk_json_dump(r, &d, &b, err), done);
    printf("%.*s\n", (int)b.len, (const char *)b.data);
    rc = 0;
done:
    wk_buf_free(&b);
    wk_json_free(r);
    return rc;
}

void conv_print_written(const wk_convert *c, const char *output, int quiet, char (*digests)[65], double secs)
{
    for (size_t i = 0; digests && i < wk_convert_file_count(c); i++) {
        char *p = wk_path_join(output, wk_convert_file_get(c, i)->name);
        printf("%s  %s\n", digests[i], p ? p : wk_convert_file_get(c, i)->name);
        free(p);
    }
    if (!quiet) {
        char h[32];
        human(wk_convert_total_bytes(c), h, sizeof h);
        fprintf(stderr, "wk-convert: wrote %zu files (%s) to %s in %.1f s\n",
                wk_convert_file_count(c), h, output, secs);
    }
}

void conv_print_usage(void)
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
"  --allow-nonfinite          write NaN/Inf (in the checkpoint, or bf16/fp32 values\n"
"                             beyond +-65504 that become inf in float16), with a count;\n"
"                             default: an error naming the tensor and the count\n"
"  --slow-tokenizer           the slow LlamaTokenizer's files only (what a converter\n"
"                             without `tokenizers` wrote): no tokenizer.json, and\n"
"                             tokenizer_config.json with model_max_length 1e30;\n"
"                             default: the fast path (tokenizer.json from a\n"
"                             SentencePiece BPE tokenizer.model, model_max_length 2048)\n"
"  --safetensors              model-*.safetensors + model.safetensors.index.json, as\n"
"                             save_pretrained(safe_serialization=True); also accepted\n"
"                             as the 4.31 script's --safe_serialization [True|False]\n"
"  --llama_version V          Llama 3.x (3, 3.1, 3.2, 3.3; the script's names): the\n"
"                             transformers " WK_HF3_VERSION " conversion (bf16 safetensors, max\n"
"                             shard 5GB, tokenizer.json from the tiktoken tokenizer.model,\n"
"                             rope_scaling llama3 for 3.1+, tied embeddings for 3.2).\n"
"                             (--transformers-version 4.45.x: that version string instead)\n"
"                             Detected without the flag: a tiktoken tokenizer.model and\n"
"                             no \"use_scaled_rope\": true in params.json means 3; with\n"
"                             use_scaled_rope (3.1 / 3.2 / 3.3 look alike) it is required\n"
"  --instruct                 Llama 3 instruct model: eos <|eot_id|> / [128001, 128008,\n"
"                             128009], sampling generation_config, chat template of that\n"
"                             version's Meta Instruct repository\n"
"  --post-processor P         Llama 3 tokenizer.json: template (default; adds\n"
"                             <|begin_of_text|>, update_post_processor) or bytelevel\n"
"                             (the converter's own; Meta's April-2024 files)\n"
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
