/* wk_imatrix.h — llama.cpp importance matrices (llama-imatrix output), read
 * as llama-quantize reads them (common/imatrix-loader.cpp + load_imatrix).
 *
 * Two containers (docs/formats/imatrix.md has both byte for byte):
 *   GGUF    (first bytes "GGUF"): tensors "<name>.in_sum2" (F32, ne0 x nmat:
 *           summed squared activations per column and expert) and
 *           "<name>.counts" (F32, nmat: tokens seen per expert), plus the
 *           KVs imatrix.datasets (string array), imatrix.chunk_count and
 *           imatrix.chunk_size (u32) that llama-quantize requires.
 *   legacy  (.dat, anything else): int32 n_entries; per entry int32 name
 *           length, the name, int32 ncall, int32 nval, nval float32 values
 *           (already divided by the token count and multiplied by ncall);
 *           optionally int32 chunk count, int32 length, dataset name.
 *
 * The weights of an entry are what llama-quantize hands to ggml:
 *   GGUF:   in_sum2[j*ne0 + i] / (float)lround(counts[j]), or 1 where that
 *           count rounds to 0;
 *   legacy: values[i] / (float)ncall, or values[i] when ncall <= 0.
 *
 * Stricter than llama.cpp (refused, with the file and entry named): a
 * malformed GGUF (llama.cpp would retry it as legacy), a GGUF without
 * entries or without the three metadata keys, an .in_sum2 without its
 * .counts or the reverse, non-F32 entries, in_sum2 not a whole number of
 * experts, counts that are negative, non-finite or above 2^53, legacy names
 * that are empty, longer than 4096 bytes, not UTF-8 or repeated (llama.cpp
 * keeps the last), nval < 1, a truncated entry, bytes after the optional
 * trailer, and weights that are NaN, infinite or negative (llama.cpp
 * refuses non-finite ones only when quantizing).  Nothing is allocated from
 * an unchecked count; the file is mapped read-only. */
#ifndef WK_IMATRIX_H
#define WK_IMATRIX_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

#define WK_IMATRIX_MAX_NAME 4096      /* bytes of a legacy entry name */

typedef struct wk_imatrix wk_imatrix;

/* Map and parse the file at path.  NULL with *err on failure: WK_E_IO
 * (unreadable), WK_E_FORMAT (malformed: "<file>: ..." naming the entry or
 * byte offset), WK_E_LIMIT, WK_E_NOMEM. */
wk_imatrix *wk_imatrix_open(const char *path, wk_err *err);
/* Parse size bytes at data (kept by reference until close); name for messages. */
wk_imatrix *wk_imatrix_open_buffer(const uint8_t *data, size_t size, const char *name,
                                   wk_err *err);
void wk_imatrix_close(wk_imatrix *im);   /* safe on NULL */

const char *wk_imatrix_path(const wk_imatrix *im);
int wk_imatrix_is_legacy(const wk_imatrix *im);
/* Chunks the statistics were computed on (GGUF imatrix.chunk_count, the
 * legacy trailer's count, or 0), tokens per chunk (GGUF only, else 0). */
uint32_t wk_imatrix_chunk_count(const wk_imatrix *im);
uint32_t wk_imatrix_chunk_size(const wk_imatrix *im);
/* Dataset names (GGUF imatrix.datasets, or the legacy trailer's one). */
size_t wk_imatrix_dataset_count(const wk_imatrix *im);
const char *wk_imatrix_dataset_at(const wk_imatrix *im, size_t i, size_t *len);

/* Entries, sorted by name (strcmp order). */
size_t wk_imatrix_count(const wk_imatrix *im);
const char *wk_imatrix_name_at(const wk_imatrix *im, size_t i);
/* Values of entry i (ne0 * number of experts) and its expert count. */
int64_t wk_imatrix_size_at(const wk_imatrix *im, size_t i);
int64_t wk_imatrix_experts_at(const wk_imatrix *im, size_t i);
/* Index of the entry called name (a tensor name such as
 * "blk.0.attn_q.weight"), or -1. */
long wk_imatrix_find(const wk_imatrix *im, const char *name);
/* The weights of entry i into w (wk_imatrix_size_at(im, i) floats), as
 * llama-quantize computes them (above).  WK_E_FORMAT naming the entry and
 * column if one is NaN, infinite or negative. */
int wk_imatrix_weights(const wk_imatrix *im, size_t i, float *w, wk_err *err);

#endif
