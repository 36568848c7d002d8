/* wk_convrun.h — a wk-convert run over the conversion engine (wk_convert.h):
 * find the model directory (the script's INPUT/SIZE layout or plain) and
 * tokenizer.model, open and check the Meta checkpoint, choose the
 * transformers / torch profiles (4.31.0 for GQA models when none is given),
 * plan the files, and write them into OUTPUT atomically (wk_outdir), with
 * their SHA-256 if asked.
 *
 *   wk_convrun r;
 *   int rc = wk_convrun_open(&r, &o, err);      // r.c: the plan (--dry-run stops here)
 *   if (!rc) rc = wk_convrun_write(&r, &o, &report, err);
 *   wk_convrun_close(&r);
 *
 * Nothing here prints. */
#ifndef WK_CONVRUN_H
#define WK_CONVRUN_H

#include <stdint.h>
#include "wk_convert.h"
#include "wk_err.h"
#include "wk_llama.h"
#include "wk_progress.h"

typedef struct {
    const char *input;        /* INPUT_DIR */
    const char *output;       /* OUTPUT_DIR (written by wk_convrun_write) */
    const char *model_size;   /* "7B" .. "70Bf", "tokenizer_only", or NULL */
    const char *tokenizer;    /* tokenizer.model, or NULL: INPUT or its parent */
    int no_tokenizer;
    int slow_tokenizer;       /* 1: the slow LlamaTokenizer's files only (no tokenizer.json) */
    int safetensors;
    int sha256;               /* wk_convrun_write fills r->digests */
    const char *max_shard;    /* max_shard_size ("10GB"), or NULL */
    const char *tf_version;   /* transformers version string, or NULL: default / auto */
    const char *torch_version;
    int threads;
    int allow_nonfinite;      /* wk_convert_opts.allow_nonfinite */
    const char *llama_version; /* "3", "3.1", "3.2", "3.3", or NULL: detected (see
                                  wk_convrun_open) */
    int instruct;             /* --instruct */
    const char *post_processor; /* Llama 3 tokenizer.json: "template" (default) or
                                  "bytelevel" (Meta's April-2024 files) */
} wk_convrun_opts;

typedef struct {
    char *model_dir, *tokenizer;
    wk_llama_ckpt *ck;        /* NULL for tokenizer_only */
    wk_convert *c;            /* the plan */
    int gqa_auto;             /* transformers 4.31.0 was chosen for a GQA model */
    char (*digests)[65];      /* with sha256, after wk_convrun_write: hex per file */
    wk_inputs *inputs;        /* params.json, ranks, tokenizer: never overwritten, checked unchanged */
} wk_convrun;

/* How wk_convrun_write reports; any member may be NULL. */
typedef struct {
    wk_progress_fn progress;  /* bytes written of the plan's total */
    void (*stage)(void *ctx, const char *file); /* a file is started */
    void *ctx;
} wk_convrun_report;

/* Locate, open, check and plan (see above).  Llama 3: with --llama_version, or
 * detected when the tokenizer is a tiktoken file and params.json has no
 * "use_scaled_rope": true (then "3"); a tiktoken tokenizer with use_scaled_rope
 * (3.1, 3.2 and 3.3 ship the same params keys) needs --llama_version, and is
 * refused naming the choices.  r->gqa_auto may be set even on
 * failure.  Close r either way. */
int wk_convrun_open(wk_convrun *r, const wk_convrun_opts *o, wk_err *err);

/* Write every planned file into o->output (a temporary directory renamed at
 * the end); rep may be NULL. */
int wk_convrun_write(wk_convrun *r, const wk_convrun_opts *o, const wk_convrun_report *rep, wk_err *err);

void wk_convrun_close(wk_convrun *r);

#endif
