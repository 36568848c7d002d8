/* wk_pack_edit.h — wk-pack's GGUF split / merge / metadata-edit options
 * (beside its main, tool layer): their --help text, their parsing, and the
 * run over the engine tools/pack/wk_pack_gguf.c with its report. */
#ifndef WK_PACK_EDIT_H
#define WK_PACK_EDIT_H

#include "wk_cli.h"
#include "wk_pack_gguf.h"
#include "wk_source.h"

typedef struct {
    wk_pack_edits edits;
    uint64_t split_max_size;
    uint32_t split_max_tensors;
    int keep_split;
    int in_place;
    const char *chat_template;  /* wk-pack's --chat-template, for a GGUF input */
} wk_pack_edit_cli;

/* The help lines of these options. */
void pack_edit_usage(void);
/* Consume argv[*i] (and its value) if it is one of these options: 1 consumed,
 * 0 not ours, -1 bad value (WK_E_USAGE in err). */
int pack_edit_arg(wk_pack_edit_cli *c, int argc, char **argv, int *i, wk_err *err);
/* 1 if a GGUF input goes to the split/merge/edit engine: a split option, an
 * edit (a --chat-template counts for a GGUF input), or a split set as input
 * with no packing option (with one, e.g. --outtype, the ordinary path packs
 * the set into one file).
 * gguf_out: OUTPUT is a GGUF file (else only the options are refused).
 * packing_opts: 1 if an option of the ordinary packing path was given
 * (--outtype, --vocab, ...), which is then refused (WK_E_USAGE, -1). */
int pack_edit_applies(const wk_pack_edit_cli *c, const wk_source *src, int gguf_out, int packing_opts, wk_err *err);
/* Run it (src -> output) and print the summary unless quiet; 0 or -1. */
int pack_edit_run(wk_pack_edit_cli *c, const wk_source *src, const char *output, const wk_cli_std_opts *std,
                  wk_err *err);
/* --in-place on input: edit its (first) file's header; 0 or -1. */
int pack_edit_in_place(wk_pack_edit_cli *c, const char *input, const wk_cli_std_opts *std, wk_err *err);
void pack_edit_free(wk_pack_edit_cli *c);

#endif
