/* wk_bpejson.h — a byte-level BPE tokenizer.json (HF `tokenizers`: GPT-2, Llama 3.x,
 * Qwen2/2.5/3 and the rest of llama.cpp's "gpt2" vocabulary type) read for a GGUF
 * vocabulary.
 *
 * What is read, what is refused and why: docs/formats/tokenizer-json-bpe.md.  In short:
 * model.type "BPE" without byte_fallback; model.vocab ids exactly 0..n-1, every token
 * made of the 256 characters of the byte-level alphabet; added_tokens at ids inside the
 * vocab (same text) or contiguous after it; merges of two vocab tokens whose
 * concatenation is a vocab token; a pre_tokenizer whose Split regexes / Digits /
 * ByteLevel steps are, pattern for pattern, those of a llama.cpp pre-tokenizer type (the
 * table in wk_bpejson_pre.c, each row citing llama.cpp's source); normalizer none or
 * NFC; decoder ByteLevel; post_processor none, ByteLevel or TemplateProcessing.
 * Anything else that changes the tokenization is refused by name.  Nothing here prints. */
#ifndef WK_BPEJSON_H
#define WK_BPEJSON_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

/* What kind of BPE a tokenizer.json holds (wk_bpej_probe). */
typedef enum {
    WK_BPEJ_SPM = 1,       /* "BPE" with byte_fallback: SentencePiece-style (wk_tokjson_read_spm) */
    WK_BPEJ_BYTELEVEL = 2  /* "BPE" with a ByteLevel pre-tokenizer: wk_bpej_read */
} wk_bpej_kind;

/* Parse path just far enough to tell the kind.  WK_E_FORMAT (does not parse, no
 * "model" object / "model.type" string), WK_E_UNSUPPORTED naming the field: a model
 * type other than "BPE" (Unigram, WordPiece, WordLevel), or a BPE without
 * byte_fallback and without a ByteLevel pre-tokenizer. */
int wk_bpej_probe(const char *path, wk_bpej_kind *kind, wk_err *err);

typedef struct {
    size_t n;            /* tokens, ids 0..n-1 */
    size_t n_model;      /* of which model.vocab holds ids 0..n_model-1 */
    char **tok;          /* NUL-terminated texts: byte-level strings; added tokens' content */
    size_t *len;
    uint8_t *added;      /* 1 if listed in added_tokens */
    uint8_t *special;    /* added_tokens[].special */
    size_t n_added;
    size_t *added_id;    /* ids in added_tokens order (special-token lookups go by it) */
    size_t n_merges;
    char **merges;       /* "left right", as GGUF's tokenizer.ggml.merges */
    size_t *merge_len;
    const char *pre;     /* llama.cpp tokenizer.ggml.pre (static string) */
    int ignore_merges;   /* model.ignore_merges */
    long tpl_first;      /* post_processor TemplateProcessing: the single template's */
    long tpl_last;       /* leading / trailing special token id; -1 if none */
    int has_template;    /* a TemplateProcessing was found */
} wk_bpej;

/* Read path (a byte-level BPE tokenizer.json).  pre_override NULL: the pre-tokenizer
 * is identified from its patterns (unknown: WK_E_UNSUPPORTED printing the steps and
 * the names known); else it must be a known name (WK_E_USAGE otherwise) and replaces
 * the identification (the pre_tokenizer must still be made of understood steps).
 * Errors name the file and the field: WK_E_FORMAT (does not parse, a field missing or
 * of the wrong type, ids out of range / twice / leaving a gap, duplicate token texts,
 * a token outside the byte-level alphabet, a merge that is not two vocab tokens or
 * whose result is not in the vocab), WK_E_UNSUPPORTED (dropout, subword prefixes,
 * normalizers, pre-tokenizers, decoders, post-processors or added-token options that
 * change the result and are not implemented), WK_E_LIMIT (> 256 MiB, > 2^24 tokens),
 * WK_E_NOMEM.  On failure *t is empty (wk_bpej_free is still safe). */
int wk_bpej_read(wk_bpej *t, const char *path, const char *pre_override, wk_err *err);

/* The same over len bytes in memory; label stands for the file in messages. */
int wk_bpej_parse(wk_bpej *t, const void *data, size_t len, const char *label, const char *pre_override,
                  wk_err *err);

void wk_bpej_free(wk_bpej *t);

/* The id of the first added token whose content is s (as llama.cpp's converter looks
 * special tokens up), or -1. */
long wk_bpej_added_find(const wk_bpej *t, const char *s);

/* ---- pre-tokenizer table (wk_bpejson_pre.c) ---- */

/* A pre-tokenizer as the Isolated splits it applies, in order (ByteLevel with
 * use_regex as its GPT-2 regex, Digits as \p{N} or \p{N}+). */
#define WK_BPEJ_MAX_STEPS 8
typedef struct {
    size_t n;
    const char *step[WK_BPEJ_MAX_STEPS];
} wk_bpej_steps;

/* The llama.cpp name for steps with model.ignore_merges im, or NULL. */
const char *wk_bpej_pre_lookup(const wk_bpej_steps *s, int ignore_merges);

/* 1 if name is a pre-tokenizer name of the table (what --pre accepts). */
int wk_bpej_pre_known(const char *name);

/* The table's names, comma-separated, into buf (cap bytes, truncated to fit). */
void wk_bpej_pre_names(char *buf, size_t cap);

/* The GPT-2 regex a ByteLevel pre-tokenizer with use_regex applies. */
extern const char wk_bpej_gpt2_regex[];

#endif
