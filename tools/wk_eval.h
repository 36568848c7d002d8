/* wk_eval.h — wk-eval's subcommands (one file each, tools/wk_eval_<cmd>.c) and
 * the helpers they share (wk_eval_common.c).  Tool layer: these print. */
#ifndef WK_EVAL_TOOL_H
#define WK_EVAL_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include "wk_cli.h"
#include "wk_err.h"
#include "wk_model.h"

#define WK_EVAL_PROG "wk-eval"

/* A subcommand: argv[0] is its name; returns the exit status. */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;   /* one line for wk-eval --help */
} wk_eval_cmd;

int wk_eval_ppl(int argc, char **argv);
int wk_eval_logits(int argc, char **argv);
int wk_eval_kld(int argc, char **argv);       /* tools/wk_eval_kld.c */
int wk_eval_imatrix(int argc, char **argv);   /* tools/wk_eval_imatrix.c */

/* Options every subcommand shares. */
typedef struct {
    wk_cli_std_opts std;
    int64_t n_ctx;         /* --ctx / -c (0: default) */
    int64_t n_batch;       /* -b / --batch-size (0: default) */
    int64_t n_chunks;      /* --chunks (0: all) */
    const char *tokens;    /* --tokens FILE */
    const char *out;       /* -o FILE */
    const char *pos[4];    /* positional arguments */
    int npos;
} wk_eval_opts;

/* Parse argv[1..] of a subcommand into o; *exit_now when --help / --version
 * was handled (usage printed by usage()).  WK_E_USAGE on a bad option. */
int wk_eval_parse(int argc, char **argv, wk_eval_opts *o, void (*usage)(void), int *exit_now,
                  wk_err *err);

/* Token ids from a text file: decimal integers separated by whitespace or
 * commas.  WK_E_FORMAT naming the file and the id's index for anything else;
 * WK_E_USAGE for an empty file.  *ids malloc'd. */
int wk_eval_read_ids(const char *path, int32_t **ids, size_t *n, wk_err *err);

/* The token ids of the text file `text` for model m (its GGUF vocabulary or
 * the tokenizer files of its directory), BOS first when the vocabulary adds
 * it.  *ids malloc'd. */
int wk_eval_tokenize(const wk_model *m, const char *text, int32_t **ids, size_t *n, wk_err *err);

/* Open the model of path with threads (<= 0: default), context n_ctx and batch
 * n_batch (<= 0: 512). */
wk_model *wk_eval_open_model(const char *path, int threads, int64_t n_ctx, int64_t n_batch, wk_err *err);

/* A subcommand parsed by wk_eval_parse: parse, run, and on failure print the error
 * (after stdout) and return the exit status. */
int wk_eval_main(int argc, char **argv, void (*usage)(void), int (*run)(const wk_eval_opts *o, wk_err *err));

/* For the subcommands with their own option loop (kld, imatrix): the integer
 * option a names (--ctx / -c / --ctx-size, -b / --batch-size, --chunks), or NULL. */
int64_t *wk_eval_num_opt(const char *a, int64_t *n_ctx, int64_t *n_batch, int64_t *chunks);

/* The value of option argv[*i], advancing *i: into *sv when sv, else an integer in
 * [lo, 1 << 24] into *iv.  WK_E_USAGE naming the option when it is missing or
 * not a number in range. */
int wk_eval_opt_value(int argc, char **argv, int *i, const char **sv, int64_t *iv, int64_t lo, wk_err *err);

#endif
