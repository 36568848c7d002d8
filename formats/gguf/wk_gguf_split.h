/* wk_gguf_split.h — GGUF split sets (llama.cpp's gguf-split convention).
 *
 * A model too large for one file is stored as N GGUF files named
 * "<prefix>-%05d-of-%05d.gguf" (part numbers 1..N), each a complete GGUF
 * file.  Every part carries three keys:
 *   split.no             u16   0-based part index
 *   split.count          u16   N
 *   split.tensors.count  i32   tensors in the whole set
 * The first part holds all the model's metadata; the others hold only the
 * split keys (and, written by weightkit, general.alignment when not 32).
 * Tensor names are unique across the set; the set's tensor list is part 1's
 * tensors, then part 2's, ...  Spec: docs/formats/gguf.md#split-sets.
 *
 * wk_gguf_split_open() takes any part of a set (or a plain GGUF file, a set
 * of one) and returns every part, checked to belong together; errors name
 * the missing, extra or foreign part, or the inconsistent key. */
#ifndef WK_GGUF_SPLIT_H
#define WK_GGUF_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_gguf.h"

#define WK_GGUF_KEY_SPLIT_NO "split.no"
#define WK_GGUF_KEY_SPLIT_COUNT "split.count"
#define WK_GGUF_KEY_SPLIT_TENSORS "split.tensors.count"
/* weightkit's own: in every part of a set it writes, the same 16 hex digits
 * (XXH3-64 of the set's tensor names, types and shapes, and of the first
 * part's per-tensor digests): parts of two different sets are told apart
 * even when their split.* keys agree.  Checked when present. */
#define WK_GGUF_KEY_SPLIT_SET "weightkit.split.set"
#define WK_GGUF_SPLIT_MAX_PARTS 60    /* parts written at once (wk_io's temporaries) */

typedef struct {
    int present;        /* 1 if the file has split.count */
    uint16_t no, count;
    int32_t tensors;    /* -1 when split.tensors.count is absent */
} wk_gguf_split_info;

/* The split keys of g.  No split.count: present 0, no 0, count 1.
 * WK_E_FORMAT naming the file and key for a wrong type (split.no and
 * split.count must be u16, split.tensors.count i32), split.count 0,
 * split.no >= split.count, or split.no without split.count. */
int wk_gguf_split_info_of(const wk_gguf *g, wk_gguf_split_info *info, wk_err *err);

/* 1 for the split keys (split.no, split.count, split.tensors.count) and
 * weightkit.split.set, else 0. */
int wk_gguf_is_split_key(const char *key);

/* llama_split_path: "<prefix>-%05d-of-%05d.gguf" with no+1, count into a
 * new malloc'd string; NULL on OOM. */
char *wk_gguf_split_path(const char *prefix, unsigned no, unsigned count);
/* llama_split_prefix: the length of path's prefix if path ends in
 * "-%05d-of-%05d.gguf" for (no+1, count), else 0. */
size_t wk_gguf_split_prefix_len(const char *path, unsigned no, unsigned count);

/* Open the set path belongs to: *parts gets a malloc'd array of *n open
 * parts in order (the caller closes each and frees the array).  A file
 * without split keys, or with split.count 1, is a set of one.  Checks: the
 * name fits the convention for its split.no; every other part exists
 * (WK_E_IO "<prefix>-00002-of-00003.gguf: part 2 of 3 of <first> is
 * missing"); each has split.no = its index and the same split.count
 * ("... belongs to another set"); split.tensors.count, where present,
 * equals the set's tensor total; names are unique across the parts; parts
 * other than the first hold no metadata but split.* / general.alignment; a
 * part numbered beyond split.count beside the set (an extra part) is
 * refused naming it. */
int wk_gguf_split_open(const char *path, wk_gguf ***parts, size_t *n, wk_err *err);

/* Verify the weightkit digests of a set (n parts from wk_gguf_split_open):
 * the first part's weightkit.digest.tensors covers every tensor of the set
 * in set order (a set of one: wk_gguf_verify_digests).  As
 * wk_gguf_verify_digests otherwise. */
int wk_gguf_split_verify_digests(wk_gguf *const *parts, size_t n, wk_digest_cb cb, void *ctx,
                                 wk_err *err);

#endif
