/* wk_safetensors.h — safetensors reader (the reference implementation's
 * validations) and writer (the reference writer's bytes).
 *
 * Format (docs/formats/safetensors.md): u64 LE header length N, N bytes of
 * UTF-8 JSON, then the data buffer.  The JSON maps tensor names to
 * {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
 * data buffer) plus an optional "__metadata__" string->string map.
 *
 * Reader checks, as huggingface/safetensors `read_metadata` + `validate`:
 * file >= 8 bytes; N <= 100,000,000 and 8+N <= file size; header valid UTF-8
 * JSON object; every tensor entry has a known dtype string, a shape of
 * non-negative integers and two offsets; sorted by offsets the tensors start
 * at 0 and each begins exactly where the previous ended (no gaps, no
 * overlaps); per tensor nelements*bits is a whole number of bytes equal to
 * end-begin (every product overflow-checked); the last end is exactly the
 * end of the file (no trailing bytes).  Stricter than the reference:
 * duplicate keys are an error (the JSON reader refuses them), shapes with
 * more than WK_MAX_DIMS dims are refused (WK_E_LIMIT).  Every message starts
 * with the file name and names the tensor.
 *
 * Writer, as the reference `serialize_to_file`: tensors sorted by dtype in
 * descending "alignment order" (U64, I64, F64, C64, F32, U32, I32, BF16, F16,
 * U16, I16, ..., U8, BOOL), then by name (byte order); offsets back to back
 * from 0; header = compact JSON with "__metadata__" first, each tensor's keys
 * in the order dtype, shape, data_offsets; padded with spaces to a multiple
 * of 8.  __metadata__ keys are written in the caller's order (the reference
 * writer uses a hash map, i.e. no defined order). */
#ifndef WK_SAFETENSORS_H
#define WK_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "wk_buf.h"
#include "wk_err.h"
#include "wk_gguf.h"
#include "wk_sink.h"
#include "wk_tensor.h"

#define WK_ST_MAX_HEADER 100000000ull

/* Per-tensor digest keys weightkit adds to __metadata__:
 *   "weightkit.xxh3-64.<tensor name>" -> 16 lowercase hex digits of the
 *   canonical XXH3-64 of the tensor's bytes. */
#define WK_ST_DIGEST_PREFIX "weightkit.xxh3-64."
/* GGUF metadata carried through safetensors (GGUF -> safetensors -> GGUF is
 * lossless): one key, a JSON array of [key, type, value] in GGUF order; see
 * wk_st_gguf_kv_to_json / wk_st_gguf_kv_from_json. */
#define WK_ST_GGUF_KV "weightkit.gguf.kv"

/* Safetensors dtype strings, in the reference enum's order. */
typedef struct {
    const char *name;  /* "BOOL", "F4", ..., "U64" */
    uint32_t bits;     /* element size in bits */
    int rank;          /* position in the reference enum (alignment order) */
    int dtype;         /* wk_dtype, or -1 when weightkit has no such dtype */
} wk_st_dtype_info;

/* Row for a dtype string (len bytes), NULL if unknown. */
const wk_st_dtype_info *wk_st_dtype_lookup(const char *name, size_t len);
/* Row for a wk_dtype, NULL if safetensors has no such dtype. */
const wk_st_dtype_info *wk_st_dtype_of(wk_dtype dt);

/* ---- reader ---------------------------------------------------------------- */

typedef struct {
    const char *name;
    const wk_st_dtype_info *st;  /* dtype string, bits */
    int dtype;                   /* st->dtype: wk_dtype or -1 */
    int ndim;
    int64_t shape[WK_MAX_DIMS];
    uint64_t begin, end;         /* data_offsets */
    const uint8_t *data;         /* in the map */
    uint64_t file_offset;        /* 8 + N + begin */
} wk_st_tensor;

typedef struct wk_st wk_st;

/* Map and validate the file.  NULL with *err: WK_E_IO, WK_E_FORMAT,
 * WK_E_LIMIT, WK_E_NOMEM. */
wk_st *wk_st_open(const char *path, wk_err *err);
/* Validate size bytes at data (kept by reference); name for messages. */
wk_st *wk_st_open_buffer(const uint8_t *data, size_t size, const char *name, wk_err *err);
void wk_st_close(wk_st *s);    /* safe on NULL */

const char *wk_st_path(const wk_st *s);
uint64_t wk_st_header_len(const wk_st *s);   /* N */
/* Tensors in data-offset order. */
size_t wk_st_count(const wk_st *s);
const wk_st_tensor *wk_st_tensor_at(const wk_st *s, size_t i);
long wk_st_find(const wk_st *s, const char *name);      /* hash lookup; -1 if absent */
/* __metadata__ entries in file order (strings NUL-terminated; values may
 * contain NUL bytes only if escaped as \u0000 — use the length). */
size_t wk_st_meta_count(const wk_st *s);
const char *wk_st_meta_key(const wk_st *s, size_t i);
const char *wk_st_meta_value(const wk_st *s, size_t i, size_t *len);
const char *wk_st_meta_get(const wk_st *s, const char *key, size_t *len);  /* NULL if absent */

/* 1 if __metadata__ holds a weightkit digest for every tensor. */
int wk_st_has_digests(const wk_st *s);
/* Recompute every tensor's XXH3-64 and compare with the __metadata__
 * digests (cb as in wk_gguf.h; status 2 = no stored digest, an error too).
 * 0 if all match, else WK_E_MISMATCH / WK_E_FORMAT. */
int wk_st_verify_digests(const wk_st *s, wk_digest_cb cb, void *ctx, wk_err *err);

/* ---- writer ---------------------------------------------------------------- */

typedef struct {
    const char *name;            /* unique, valid UTF-8, not "__metadata__" */
    wk_dtype dtype;
    int ndim;                    /* 0..WK_MAX_DIMS */
    int64_t shape[WK_MAX_DIMS];
} wk_stw_tensor;

typedef struct wk_stw wk_stw;

/* Lay out a file: sort the tensors, assign offsets, build the header.
 * meta: n_meta key/value pairs (meta[2i] key, meta[2i+1] value), written in
 * that order; n_meta 0 and meta NULL = no __metadata__ at all.  Arrays are
 * copied.  NULL with WK_E_USAGE (duplicate / reserved name, bad dtype or
 * shape, invalid UTF-8), WK_E_LIMIT (header > 100 MB, overflow), WK_E_NOMEM. */
wk_stw *wk_stw_plan(const wk_stw_tensor *tensors, size_t n, const char *const *meta,
                    size_t n_meta, wk_err *err);
void wk_stw_free(wk_stw *w);
/* The caller's index of the k-th tensor in the file: write data in this order. */
size_t wk_stw_order(const wk_stw *w, size_t k);
/* Byte size of the caller's tensor i, and its data offset in the file. */
uint64_t wk_stw_tensor_nbytes(const wk_stw *w, size_t i);
uint64_t wk_stw_tensor_file_offset(const wk_stw *w, size_t i);
/* The 8-byte length + padded JSON header, and the whole file size. */
const uint8_t *wk_stw_header(const wk_stw *w, size_t *len);
uint64_t wk_stw_total_size(const wk_stw *w);
/* Write the header to sink (which must outlive the writer; not owned). */
int wk_stw_begin(wk_stw *w, wk_sink *sink, wk_err *err);
/* Append data bytes (tensors back to back in wk_stw_order). */
int wk_stw_write(wk_stw *w, const void *p, size_t n, wk_err *err);
/* Check that exactly wk_stw_total_size() bytes were written (WK_E_INTERNAL). */
int wk_stw_finish(wk_stw *w, wk_err *err);

/* ---- sharded checkpoints (transformers' convention) ------------------------ */

/* Append the text of model.safetensors.index.json as transformers writes it
 * (json.dumps(indent=2, sort_keys=True) + "\n"):
 *   {"metadata": {"total_size": total}, "weight_map": {name: file, ...}}.
 * names[i] is stored in files[i]. */
int wk_st_index_json(uint64_t total_size, const char *const *names, const char *const *files,
                     size_t n, wk_buf *out, wk_err *err);

/* A parsed index: weight_map entries (name -> shard file name). */
typedef struct {
    char **names;
    char **files;     /* each a plain file name (no '/', not "." or "..") */
    size_t n;
    char **shards;    /* distinct file names, in first-use order */
    size_t n_shards;
} wk_st_index;

/* Read an index file (any transformers "*.index.json" with a weight_map,
 * also pytorch_model.bin.index.json).  Shard names with a path separator or
 * ".." are refused (WK_E_UNSAFE). */
int wk_st_index_load(wk_st_index *ix, const char *path, wk_err *err);
void wk_st_index_free(wk_st_index *ix);

/* ---- GGUF metadata inside safetensors ------------------------------------- */

/* Append the JSON array [[key, type, value], ...] for every KV of g except
 * the weightkit.digest.* keys (type as wk_gguf_type_name, arrays as
 * "array[<elem>]"; floats as Python repr of the exact value). */
int wk_st_gguf_kv_to_json(const wk_gguf *g, wk_buf *out, wk_err *err);
/* The reverse: add every [key, type, value] of such a JSON text (len bytes)
 * to a GGUF writer, in order.  file_type non-NULL: write this value for
 * general.file_type instead of the stored one (same position).  WK_E_FORMAT
 * naming the entry if malformed. */
int wk_st_gguf_kv_apply(const char *json, size_t len, wk_ggufw *w, const uint32_t *file_type,
                        wk_err *err);

#endif
