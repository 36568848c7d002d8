/* wk_gguf.h — GGUF v3 (llama.cpp / ggml) reader and streaming writer.
 *
 * Layout and rules: docs/formats/gguf.md.  All integers little-endian.
 *
 * Reader: the file is mapped read-only; the header (KV metadata, tensor
 * infos) is parsed through a bounded cursor with ggml's own validations
 * (gguf.cpp): magic "GGUF"; version 2 or 3 (0, 1, > 3 and byte-swapped
 * versions refused); counts not negative and small enough for the bytes
 * left; keys non-empty and unique; value types 0..12, arrays not nested,
 * array counts <= 2^30 and strings <= 1 GiB and never past the end of the
 * file; general.alignment (if present) a UINT32 power of two; tensor names
 * < 64 bytes and unique; n_dims <= 4; every ne >= 0; a known ggml type with
 * ne[0] a multiple of its block size; no overflow in element or byte counts;
 * offsets exactly the running sum of aligned sizes; every tensor's bytes
 * inside the file.  Every error message starts with the file name and, where
 * it applies, the byte offset, key or tensor.  Nothing is allocated from an
 * unchecked count.
 *
 * Writer: a plan-then-stream writer (like wk_pth_write.h).  Add the KV pairs
 * and the tensor infos (shapes and types only) first; the header, every
 * tensor offset and the file size are then known.  wk_ggufw_begin() writes
 * the header to a wk_sink, then each tensor's bytes follow in order, each
 * zero-padded to the alignment.  Memory: the header only. */
#ifndef WK_GGUF_H
#define WK_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_ggml.h"
#include "wk_hash.h"
#include "wk_sink.h"
#include "wk_tensor.h"

#define WK_GGUF_VERSION 3
#define WK_GGUF_DEFAULT_ALIGNMENT 32
#define WK_GGUF_MAX_DIMS 4
#define WK_GGUF_MAX_NAME 63                   /* bytes; ggml's GGML_MAX_NAME - 1 */
#define WK_GGUF_MAX_STRING (1ull << 30)       /* GGUF_MAX_STRING_LENGTH */
#define WK_GGUF_MAX_ARRAY (1ull << 30)        /* GGUF_MAX_ARRAY_ELEMENTS */

/* Metadata value types (gguf_type); stored on disk as int32. */
typedef enum {
    WK_GGUF_UINT8 = 0,
    WK_GGUF_INT8 = 1,
    WK_GGUF_UINT16 = 2,
    WK_GGUF_INT16 = 3,
    WK_GGUF_UINT32 = 4,
    WK_GGUF_INT32 = 5,
    WK_GGUF_FLOAT32 = 6,
    WK_GGUF_BOOL = 7,
    WK_GGUF_STRING = 8,
    WK_GGUF_ARRAY = 9,
    WK_GGUF_UINT64 = 10,
    WK_GGUF_INT64 = 11,
    WK_GGUF_FLOAT64 = 12,
    WK_GGUF_TYPE_COUNT
} wk_gguf_type;

/* "u8", "i8", ..., "f64", "string", "array" (NULL for an invalid type). */
const char *wk_gguf_type_name(wk_gguf_type t);
/* Byte size of a fixed-size value type; 0 for STRING, ARRAY and invalid types. */
size_t wk_gguf_type_size(wk_gguf_type t);
/* Type from its short name ("u32", "string", ...); -1 if unknown. */
int wk_gguf_type_from_name(const char *name);

/* ---- reader ---------------------------------------------------------------- */

typedef struct {
    const char *key;          /* NUL-terminated copy */
    wk_gguf_type type;
    wk_gguf_type arr_type;    /* element type when type == ARRAY */
    uint64_t n;               /* element count for arrays, 1 otherwise */
    const uint8_t *value;     /* the value's bytes in the map (for arrays:
                                 the first element, after type and count) */
    size_t value_len;         /* bytes from value to the end of this KV */
    const uint8_t *record;    /* the whole record: key length .. end of value */
    size_t record_len;
    uint64_t offset;          /* file offset of the record */
} wk_gguf_kv;

typedef struct {
    const char *name;         /* NUL-terminated copy */
    uint32_t n_dims;
    int64_t ne[WK_GGUF_MAX_DIMS]; /* ne[0] innermost; missing dims are 1 */
    int type;                 /* ggml type id */
    uint64_t offset;          /* relative to the data section */
    uint64_t nbytes;
    const uint8_t *data;      /* in the map */
    uint64_t file_offset;     /* absolute offset of data */
} wk_gguf_tensor;

typedef struct wk_gguf wk_gguf;

/* Map and parse the file at path.  NULL with *err on failure: WK_E_IO
 * (unreadable), WK_E_FORMAT (malformed, including a key or tensor name that
 * is not valid UTF-8; messages read "<file>: offset N: ..."),
 * WK_E_UNSUPPORTED (version 1 or > 3, big-endian), WK_E_LIMIT (a count or
 * size past a limit), WK_E_NOMEM. */
wk_gguf *wk_gguf_open(const char *path, wk_err *err);
/* Parse size bytes at data (kept by reference until close); name for messages. */
wk_gguf *wk_gguf_open_buffer(const uint8_t *data, size_t size, const char *name, wk_err *err);
void wk_gguf_close(wk_gguf *g);      /* safe on NULL */

const char *wk_gguf_path(const wk_gguf *g);
uint32_t wk_gguf_version(const wk_gguf *g);
uint32_t wk_gguf_alignment(const wk_gguf *g);
uint64_t wk_gguf_data_offset(const wk_gguf *g);   /* start of the data section */
uint64_t wk_gguf_file_size(const wk_gguf *g);

size_t wk_gguf_kv_count(const wk_gguf *g);
const wk_gguf_kv *wk_gguf_kv_at(const wk_gguf *g, size_t i);
/* Index of key, or -1.  (Linear scan.) */
long wk_gguf_find_key(const wk_gguf *g, const char *key);

/* Typed getters: the key must exist with exactly this type (as llama.cpp
 * insists); WK_E_FORMAT naming the key otherwise.  Strings point into the
 * map (not NUL-terminated: use *len). */
int wk_gguf_get_u32(const wk_gguf *g, const char *key, uint32_t *out, wk_err *err);
int wk_gguf_get_f32(const wk_gguf *g, const char *key, float *out, wk_err *err);
int wk_gguf_get_bool(const wk_gguf *g, const char *key, int *out, wk_err *err);
int wk_gguf_get_str(const wk_gguf *g, const char *key, const char **s, size_t *len, wk_err *err);
/* Element i of a string array KV (kv index); NULL if not a string array or
 * i out of range. */
const char *wk_gguf_arr_str(const wk_gguf *g, size_t kv, uint64_t i, size_t *len);
/* Scalar (or array element i) of a numeric/bool KV as double / int64 (no type
 * conversion rules: just the stored value).  -1 if kv/i invalid or a string. */
int wk_gguf_kv_num(const wk_gguf *g, size_t kv, uint64_t i, double *d, int64_t *v);

size_t wk_gguf_tensor_count(const wk_gguf *g);
const wk_gguf_tensor *wk_gguf_tensor_at(const wk_gguf *g, size_t i);
/* Index of the tensor called name, or -1 (hash lookup). */
long wk_gguf_find_tensor(const wk_gguf *g, const char *name);

/* ---- per-tensor digests ------------------------------------------------------ */

/* KV keys weightkit adds (other readers ignore them):
 *   weightkit.digest.algorithm  string  "xxh3-64"
 *   weightkit.digest.tensors    array of string: for tensor i (tensor-info
 *                               order) the lowercase hex of the canonical
 *                               XXH3-64 of its nbytes data bytes (no padding) */
#define WK_GGUF_KEY_DIGEST_ALG "weightkit.digest.algorithm"
#define WK_GGUF_KEY_DIGESTS "weightkit.digest.tensors"
#define WK_GGUF_KEY_WK_VERSION "weightkit.version"

/* Called once per tensor by the verifiers: status 0 = digest matches,
 * 1 = differs (got/want hex given), 2 = no stored digest for it. */
typedef void (*wk_digest_cb)(void *ctx, const char *tensor, int status, const char *got_hex,
                             const char *want_hex);

/* 1 if the file stores weightkit digests, else 0. */
int wk_gguf_has_digests(const wk_gguf *g);
/* Recompute every tensor's XXH3-64 and compare with the stored array.
 * 0 if all match; -1 with WK_E_MISMATCH naming the first bad tensor (and how
 * many differ), WK_E_FORMAT if the digest KVs are missing or malformed. */
int wk_gguf_verify_digests(const wk_gguf *g, wk_digest_cb cb, void *ctx, wk_err *err);

/* ---- writer ---------------------------------------------------------------- */

typedef struct wk_ggufw wk_ggufw;

/* A new empty plan with the given data alignment (power of two, 8..2^20;
 * 0 = 32).  Writes general.alignment only if the caller adds it.  NULL with
 * WK_E_USAGE / WK_E_NOMEM. */
wk_ggufw *wk_ggufw_new(uint32_t alignment, wk_err *err);
void wk_ggufw_free(wk_ggufw *w);     /* safe on NULL */

/* Append a KV pair (order kept).  Keys must be non-empty and unique
 * (WK_E_USAGE); strings must be <= 1 GiB.  general.alignment must be a u32
 * equal to the plan's alignment. */
/* Any fixed-size scalar type t, value given as its little-endian bits. */
int wk_ggufw_kv_scalar(wk_ggufw *w, const char *key, wk_gguf_type t, uint64_t bits, wk_err *err);
int wk_ggufw_kv_u8(wk_ggufw *w, const char *key, uint8_t v, wk_err *err);
int wk_ggufw_kv_u32(wk_ggufw *w, const char *key, uint32_t v, wk_err *err);
int wk_ggufw_kv_i32(wk_ggufw *w, const char *key, int32_t v, wk_err *err);
int wk_ggufw_kv_u64(wk_ggufw *w, const char *key, uint64_t v, wk_err *err);
int wk_ggufw_kv_f32(wk_ggufw *w, const char *key, float v, wk_err *err);
int wk_ggufw_kv_bool(wk_ggufw *w, const char *key, int v, wk_err *err);
int wk_ggufw_kv_str(wk_ggufw *w, const char *key, const char *s, size_t len, wk_err *err);
/* Arrays of fixed-size elements (elem_type not STRING/ARRAY); data holds n
 * little-endian values of that type. */
int wk_ggufw_kv_arr(wk_ggufw *w, const char *key, wk_gguf_type elem_type, const void *data,
                    uint64_t n, wk_err *err);
/* Array of n strings (strs[i], lens[i] bytes). */
int wk_ggufw_kv_arr_str(wk_ggufw *w, const char *key, const char *const *strs,
                        const size_t *lens, uint64_t n, wk_err *err);
/* Copy KV i of a GGUF file as is (key, type and value bytes). */
int wk_ggufw_kv_copy(wk_ggufw *w, const wk_gguf *g, size_t i, wk_err *err);
/* 1 if key was added already. */
int wk_ggufw_has_key(const wk_ggufw *w, const char *key);

/* Append a tensor info: name (1..63 bytes, unique), ggml type, n_dims 1..4,
 * ne[0] innermost.  Its offset is the running aligned sum.  Returns the
 * tensor's index, or -1 (WK_E_USAGE naming the tensor, WK_E_LIMIT). */
long wk_ggufw_add_tensor(wk_ggufw *w, const char *name, int type, int n_dims, const int64_t *ne,
                         wk_err *err);
size_t wk_ggufw_tensor_count(const wk_ggufw *w);
/* Data bytes of tensor i (without padding) and its offset in the file. */
uint64_t wk_ggufw_tensor_nbytes(const wk_ggufw *w, size_t i);
uint64_t wk_ggufw_tensor_file_offset(const wk_ggufw *w, size_t i);
/* Header size (magic .. padding before the data) and whole file size, valid
 * once all KVs and tensors are added (they change if more are added). */
uint64_t wk_ggufw_header_size(const wk_ggufw *w);
uint64_t wk_ggufw_total_size(const wk_ggufw *w);
/* Byte offset in the file where the KV section ends (the tensor infos
 * begin), valid as wk_ggufw_header_size: a writer that patches the value of
 * its last KV after the fact (fixed-width digests) finds it from here. */
uint64_t wk_ggufw_kv_end(const wk_ggufw *w);

/* Write the header to sink (which must outlive the writer; not owned); no KV
 * or tensor may be added afterwards. */
int wk_ggufw_begin(wk_ggufw *w, wk_sink *sink, wk_err *err);
/* Append n bytes of the current tensor's data.  Tensors are written in the
 * order they were added; the first write after begin (or after a tensor is
 * complete) starts the next tensor.  When a tensor's nbytes are complete its
 * padding is written automatically.  WK_E_USAGE on writing past the end. */
int wk_ggufw_write(wk_ggufw *w, const void *p, size_t n, wk_err *err);
/* After the last tensor: checks that every tensor was written completely and
 * that exactly wk_ggufw_total_size() bytes went out (WK_E_INTERNAL). */
int wk_ggufw_finish(wk_ggufw *w, wk_err *err);

#endif
