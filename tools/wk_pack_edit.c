/* wk_pack_edit.c — wk-pack's split / merge / metadata-edit options (see
 * wk_pack_edit.h). */
#include "wk_pack_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_hfcfg.h"
#include "wk_progress.h"

void pack_edit_usage(void)
{
    printf(
"\n"
"GGUF in, GGUF out, tensors copied unchanged (by the kernel), never re-encoded:\n"
"  INPUT may be any part of a split set (NAME-00001-of-00003.gguf ...): all parts\n"
"  are read; with no option below the set is merged into OUTPUT.\n"
"  --split-max-size SIZE       split into parts of at most SIZE tensor bytes (as\n"
"                              llama.cpp's gguf-split: 500M, 2G, bytes)\n"
"  --split-max-tensors N       split into parts of at most N tensors\n"
"  --keep-split                write the input set's own part layout\n"
"                              Parts: OUTPUT minus .gguf + -0000k-of-0000n.gguf, the\n"
"                              metadata in the first, all renamed only once all are\n"
"                              complete; llama.cpp loads the set from the first\n"
"  --set KEY=TYPE:VALUE        set a metadata key (TYPE u8 i8 u16 i16 u32 i32 u64 i64\n"
"                              f32 f64 bool str, arr[T]); an existing key keeps its\n"
"                              type unless --allow-type-change\n"
"  --remove KEY                remove a metadata key (it must exist)\n"
"  --chat-template NAME|FILE   set tokenizer.chat_template (metharme, or a file)\n"
"  --special-token NAME=ID     set tokenizer.ggml.NAME_token_id (bos eos eot eom unk\n"
"                              sep pad cls mask fim_*), ID < vocabulary size\n"
"  --allow-type-change         let --set change an existing key's type\n"
"  --in-place                  wk-pack INPUT --in-place --set ...: rewrite the header\n"
"                              of INPUT (the first file of a set) in place, only if\n"
"                              the new header fits the old one's alignment padding.\n"
"                              One write of the header then fsync; RISK: a crash or\n"
"                              kill during that write can leave a torn header and a\n"
"                              corrupt file. Without --in-place the input is never\n"
"                              touched.\n");
}

static int value(int argc, char **argv, int *i, const char **v, wk_err *err)
{
    WK_FAIL_IF(*i + 1 >= argc, err, WK_E_USAGE, "%s needs a value", argv[*i]);
    *v = argv[++*i];
    return 0;
}

/* llama.cpp's gguf-split sizes: N followed by M (10^6 bytes) or G (10^9); else
 * anything --shard-size takes (5GB, 500MiB, bytes). */
static int parse_split_size(const char *v, uint64_t *out, wk_err *err)
{
    size_t l = strlen(v);
    if (l > 1 && (v[l - 1] == 'M' || v[l - 1] == 'G')) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        WK_FAIL_IF(v[0] == '-' || end != v + l - 1 || n == 0 || n > (1ull << 40), err, WK_E_USAGE,
                   "--split-max-size: \"%s\" is not a positive size", v);
        *out = n * (v[l - 1] == 'M' ? 1000000ull : 1000000000ull);
        return 0;
    }
    return wk_hfcfg_parse_size(v, out, err);
}

int pack_edit_arg(wk_pack_edit_cli *c, int argc, char **argv, int *i, wk_err *err)
{
    const char *a = argv[*i], *v = NULL;
    if (!strcmp(a, "--keep-split")) c->keep_split = 1;
    else if (!strcmp(a, "--in-place")) c->in_place = 1;
    else if (!strcmp(a, "--allow-type-change")) c->edits.retype = 1;
    else if (!strcmp(a, "--split-max-size")) {
        WK_TRY(value(argc, argv, i, &v, err));
        WK_TRY(parse_split_size(v, &c->split_max_size, err));
        WK_FAIL_IF(!c->split_max_size, err, WK_E_USAGE, "--split-max-size: must be > 0");
    } else if (!strcmp(a, "--split-max-tensors")) {
        WK_TRY(value(argc, argv, i, &v, err));
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        WK_FAIL_IF(!*v || *end || v[0] == '-' || n == 0 || n > INT32_MAX, err, WK_E_USAGE,
                   "--split-max-tensors: \"%s\" is not a positive count", v);
        c->split_max_tensors = (uint32_t)n;
    } else if (!strcmp(a, "--set")) {
        WK_TRY(value(argc, argv, i, &v, err));
        WK_TRY(wk_pack_edit_set(&c->edits, v, err));
    } else if (!strcmp(a, "--remove")) {
        WK_TRY(value(argc, argv, i, &v, err));
        WK_TRY(wk_pack_edit_remove(&c->edits, v, err));
    } else if (!strcmp(a, "--special-token")) {
        WK_TRY(value(argc, argv, i, &v, err));
        WK_TRY(wk_pack_edit_special(&c->edits, v, err));
    } else {
        return 0;
    }
    return 1;
}

int pack_edit_applies(const wk_pack_edit_cli *c, const wk_source *src, int gguf_out, int packing_opts, wk_err *err)
{
    int ours = c->split_max_size || c->split_max_tensors || c->keep_split || c->edits.n || c->in_place;
    WK_FAIL_IF(ours && !gguf_out, err, WK_E_USAGE, "--split-*, --keep-split, --set, --remove and "
               "--special-token write GGUF (an OUTPUT ending in .gguf)");
    WK_FAIL_IF(ours && !wk_source_gguf(src), err, WK_E_USAGE, "%s: --split-*, --keep-split, --set, --remove, "
               "--special-token and --in-place take a GGUF input (pack it first)", wk_source_path(src));
    WK_FAIL_IF(c->split_max_size && c->split_max_tensors, err, WK_E_USAGE, "--split-max-size and "
               "--split-max-tensors: choose one");
    WK_FAIL_IF(c->keep_split && (c->split_max_size || c->split_max_tensors), err, WK_E_USAGE, "--keep-split "
               "and --split-max-*: choose one");
    if (!wk_source_gguf(src) || !gguf_out) return 0;
    ours = ours || c->chat_template;
    /* a set with no option of ours: merged as is, or repacked (one file) by the ordinary path
       when a packing option (--outtype ...) asks for a conversion */
    if (!ours) return wk_source_file_count(src) > 1 && !packing_opts;
    WK_FAIL_IF(packing_opts, err, WK_E_USAGE, "%s: a split, merge or metadata edit copies the GGUF's "
               "tensors unchanged: --outtype, --vocab, --name, --ctx, --alignment, --no-digest, --sha256, "
               "--shard-size and --allow-nonfinite do not apply", wk_source_path(src));
    return ours;
}

int pack_edit_run(wk_pack_edit_cli *c, const wk_source *src, const char *output, const wk_cli_std_opts *std,
                  wk_err *err)
{
    if (c->chat_template) WK_TRY(wk_pack_edit_chat_template(&c->edits, c->chat_template, err));
    wk_pack_gguf_opts o = {.output = output, .split_max_size = c->split_max_size,
                           .split_max_tensors = c->split_max_tensors, .keep_split = c->keep_split,
                           .edits = &c->edits};
    wk_progress *bar = wk_cli_want_progress(std) ? wk_progress_new("pack", 0, 1) : NULL;
    o.progress = bar ? wk_progress_cb : NULL;
    o.progress_ctx = bar;
    wk_pack_gguf_result r;
    int rc = wk_pack_gguf_run(&o, src, &r, err);
    wk_progress_finish(bar);
    if (!rc && !std->quiet)
        fprintf(stderr, "wk-pack: %s (gguf, %zu file(s), %zu tensors) -> %s (%zu file(s), %llu bytes, %zu "
                "metadata edit(s))\n", wk_source_path(src), wk_source_file_count(src), r.tensors, output,
                r.parts, (unsigned long long)r.bytes, c->edits.n);
    return rc;
}

int pack_edit_in_place(wk_pack_edit_cli *c, const char *input, const wk_cli_std_opts *std, wk_err *err)
{
    if (c->chat_template) WK_TRY(wk_pack_edit_chat_template(&c->edits, c->chat_template, err));
    WK_FAIL_IF(!c->edits.n, err, WK_E_USAGE, "--in-place needs an edit (--set, --remove, --chat-template, "
               "--special-token)");
    WK_FAIL_IF(c->split_max_size || c->split_max_tensors || c->keep_split, err, WK_E_USAGE,
               "--in-place edits metadata only (no --split-* / --keep-split)");
    char *first = NULL;
    int rc = wk_pack_gguf_in_place(input, &c->edits, &first, err);
    if (!rc && !std->quiet)
        fprintf(stderr, "wk-pack: %s edited in place (%zu metadata edit(s))\n", first, c->edits.n);
    free(first);
    return rc;
}

void pack_edit_free(wk_pack_edit_cli *c)
{
    wk_pack_edits_free(&c->edits);
}
