/* wk_pack_gguf.h — GGUF-to-GGUF work of wk-pack that never re-encodes a
 * tensor: splitting into a llama.cpp split set, merging a set into one file,
 * and metadata edits (--set / --remove / --chat-template / --special-token),
 * into new files (tensor bytes copied by the kernel) or, for an edit whose
 * header fits the old one's alignment padding, in place.
 * Formats: docs/formats/gguf.md (split sets); usage: docs/pack.md. */
#ifndef WK_PACK_GGUF_H
#define WK_PACK_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_gguf.h"
#include "wk_progress.h"
#include "wk_source.h"

/* ---- metadata edits ---------------------------------------------------------- */

typedef struct {
    int remove;               /* 1: --remove key */
    char *key;
    wk_gguf_type type;        /* value type (ARRAY: elements of arr_type) */
    wk_gguf_type arr_type;
    uint64_t bits;            /* fixed-size scalar value, little-endian bits */
    char *str;                /* STRING value (len bytes) */
    size_t len;
    uint8_t *arr;             /* ARRAY of fixed-size values: n elements */
    uint64_t n;
    int token_id;             /* 1: a special token id, checked < vocabulary size */
} wk_pack_edit;

typedef struct {
    wk_pack_edit *e;
    size_t n;
    int retype;               /* allow --set to change an existing key's type */
} wk_pack_edits;

/* "KEY=TYPE:VALUE": TYPE one of u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str,
 * or arr[T] with comma-separated values of a numeric / bool T.  Numbers are
 * range-checked for their type; bool is true/false/1/0.  WK_E_USAGE naming
 * the argument.  A later edit of the same key replaces an earlier one. */
int wk_pack_edit_set(wk_pack_edits *es, const char *arg, wk_err *err);
int wk_pack_edit_remove(wk_pack_edits *es, const char *key, wk_err *err);
/* tokenizer.chat_template from a file (<= 1 MiB, UTF-8) or a built-in name
 * ("metharme"). */
int wk_pack_edit_chat_template(wk_pack_edits *es, const char *file_or_name, wk_err *err);
/* "NAME=ID": tokenizer.ggml.<NAME>_token_id (u32) for NAME in bos, eos, eot,
 * eom, unk, sep, pad, cls, mask, fim_pre, fim_suf, fim_mid, fim_pad, fim_rep,
 * fim_sep (llama.cpp's keys); ID checked against the vocabulary when applied. */
int wk_pack_edit_special(wk_pack_edits *es, const char *arg, wk_err *err);
void wk_pack_edits_free(wk_pack_edits *es);

/* ---- new files ------------------------------------------------------------------ */

typedef struct {
    const char *output;         /* a .gguf file; with a split, "<output minus .gguf>-%05d-of-%05d.gguf" */
    uint64_t split_max_size;    /* > 0: llama.cpp's --split-max-size rule */
    uint32_t split_max_tensors; /* > 0: at most this many tensors a part */
    int keep_split;             /* the input's own parts (a set in, the same layout out) */
    const wk_source *layout_src;/* keep_split: take the parts from this set instead of src (each
                                   tensor goes to the part holding the tensor of its name there) */
    const wk_pack_edits *edits; /* may be NULL */
    wk_progress_fn progress;    /* bytes written of the whole output; may be NULL */
    void *progress_ctx;
} wk_pack_gguf_opts;

typedef struct {
    size_t parts;               /* files written (1: one file, no split keys) */
    uint64_t bytes;             /* their total size */
    size_t tensors;
} wk_pack_gguf_result;

/* Write src (a GGUF file or split set: wk_source_gguf(src) != NULL) as one
 * file or a split set, with the edits applied to the metadata (which goes
 * to the first file; split.* keys are the writer's own).  Tensors and their
 * order are kept; their bytes are copied by the kernel where it can.  All
 * parts are written to temporaries and renamed only when every one is
 * complete (if a rename fails, the parts renamed before are removed again).
 * Nothing is written on any error. */
int wk_pack_gguf_run(const wk_pack_gguf_opts *o, const wk_source *src, wk_pack_gguf_result *r, wk_err *err);

/* Edit path's metadata in place (the first file of a split set): only when
 * the new header, padded to the file's alignment, ends exactly where the old
 * one did (the data section does not move); else WK_E_UNSUPPORTED saying by
 * how much it does not fit.  One pwrite of the header region, then fsync.
 * *first gets the file edited (malloc'd).  An interruption during that one
 * write can leave a torn header (a corrupt file). */
int wk_pack_gguf_in_place(const char *path, const wk_pack_edits *es, char **first, wk_err *err);

#endif
