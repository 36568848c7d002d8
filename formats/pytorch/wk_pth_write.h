/* wk_pth_write.h — a streaming writer whose output is byte-identical to
 * torch.save(dict_of_tensors, path) of a chosen PyTorch version.
 *
 * The format is described in docs/formats/pytorch-zip.md.  Use:
 *
 *   1. Describe the storages (dtype, byte size) and the tensors (dict key,
 *      storage index, offset, shape, stride) and call wk_pthw_plan().  The
 *      plan builds data.pkl and fixes every record's offset, so the file
 *      size and each storage's data offset are known before any byte is
 *      written (wk_pthw_total_size, wk_pthw_storage_data_offset).
 *   2. wk_pthw_begin() writes everything up to the first storage's data.
 *   3. For k = 0 .. wk_pthw_storage_count()-1, storage s =
 *      wk_pthw_record_storage(w, k): wk_pthw_storage_begin(w, s), any number
 *      of wk_pthw_write() / wk_pthw_write_zeros() totalling exactly the
 *      storage's byte size, wk_pthw_storage_end().  The record order is
 *      torch's (keys sorted as strings), not the caller's storage order.
 *   4. wk_pthw_finish() writes the trailing records and the zip directory.
 *   5. wk_pthw_free().
 *
 * Output goes to a wk_sink, strictly forward; memory use is the pickle plus
 * the directory, never the tensor data.  CRC-32s are computed as data passes.
 * Any failure leaves the writer failed: later calls return -1 at once.
 *
 * Bit-exactness rests on these assumptions about the Python side (true for
 * state dicts from nn.Module.state_dict() and for HF shards): the object
 * saved is a plain dict of plain CPU tensors with requires_grad=False, and no
 * dict key is the same Python object as the strings 'storage' or 'cpu' that
 * torch's persistent_id uses (an interned literal key spelled exactly
 * "storage" or "cpu" would be pickled by torch with a BINGET instead). */
#ifndef WK_PTH_WRITE_H
#define WK_PTH_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_sink.h"
#include "wk_tensor.h"

/* ---- profiles ------------------------------------------------------------ */

typedef enum {
    WK_PTH_TORCH_1_13 = 0, /* torch 1.13 and 2.0 (default) */
    WK_PTH_TORCH_2_1,      /* torch 2.1 .. 2.6: adds byteorder and .data/serialization_id */
    WK_PTH_PROFILE_COUNT
} wk_pth_profile;

/* Profile flags. */
#define WK_PTH_F_VERIFIED 1u      /* compared byte-for-byte with that torch's own torch.save */
#define WK_PTH_F_BYTEORDER 2u     /* writes a "byteorder" record ("little") */
#define WK_PTH_F_SERIAL_ID 4u     /* writes ".data/serialization_id" */
#define WK_PTH_F_SERIAL_ID_UNVERIFIED 8u /* its value follows the PyTorch source but was
                                            never compared with a real torch output */
#define WK_PTH_F_ASCII_PATH 16u   /* a non-ASCII file name gives archive name "archive" */

typedef struct {
    wk_pth_profile id;
    const char *name;     /* "torch-1.13", "torch-2.1" (accepted by wk_pth_profile_from_name) */
    const char *versions; /* the torch releases whose torch.save it imitates */
    unsigned flags;       /* WK_PTH_F_* */
    const char *note;     /* one line for --help */
} wk_pth_profile_info;

/* Row for a profile (NULL if out of range). */
const wk_pth_profile_info *wk_pth_profile_get(wk_pth_profile p);
/* Profile from "torch-1.13", "1.13", "2.0", "torch-2.0", "torch-2.1", "2.1" ... "2.6";
 * -1 if unknown. */
int wk_pth_profile_from_name(const char *name);

/* The archive name (the zip's top folder) torch derives from the file name
 * it is given: PyTorch's basename() — drop everything up to the last '/' or
 * '\', then from the last '.' on.  path == NULL means "saved to a file object"
 * and gives "archive"; so does a non-ASCII path under a WK_PTH_F_ASCII_PATH
 * profile.  Returns a malloc'd string, or NULL with WK_E_USAGE for a name
 * torch rejects (empty result: "", "dir/", ".hidden") or WK_E_NOMEM. */
char *wk_pth_archive_name(const char *path, wk_pth_profile profile, wk_err *err);

/* ---- description ----------------------------------------------------------- */

typedef struct {
    wk_dtype dtype;
    uint64_t nbytes; /* the whole storage; a multiple of the dtype size */
} wk_pthw_storage;

typedef struct {
    const char *name;        /* dict key, valid UTF-8, unique */
    size_t storage;          /* index into the storage array */
    int64_t storage_offset;  /* in elements */
    int ndim;                /* 0 .. WK_MAX_DIMS */
    int64_t shape[WK_MAX_DIMS];
    int64_t stride[WK_MAX_DIMS]; /* in elements, >= 0 */
    /* 0: a tensor object of its own (the usual case).  i+1: the very same
     * Python tensor object as tensors[i] (i < this tensor's index), which
     * pickle writes as a memo reference; the fields above are then ignored. */
    size_t same_as;
} wk_pthw_tensor;

/* Fill *t as the one contiguous tensor of a storage: name, storage index,
 * offset 0, the given shape, row-major strides, same_as 0.  ndim must be
 * 0..WK_MAX_DIMS (checked later by wk_pthw_plan). */
void wk_pthw_tensor_contiguous(wk_pthw_tensor *t, const char *name, size_t storage,
                               int ndim, const int64_t *shape);

/* ---- the writer ------------------------------------------------------------ */

typedef struct wk_pthw wk_pthw;

/* Validate the description and lay the file out.  file_name is the final
 * path the file will have (only its basename matters; NULL = file object,
 * archive "archive").  Tensors are dict items in order; storage keys are
 * assigned "0", "1", ... in order of first use, as torch does.  Checks: valid
 * UTF-8 unique keys; each storage used by at least one tensor; shape, stride,
 * offset >= 0 and every view inside its storage; nbytes a multiple of the
 * dtype size; record names and directory within zip limits.  The arrays are
 * copied; the caller may free them afterwards.  NULL on failure
 * (WK_E_USAGE naming the tensor or storage, WK_E_LIMIT, WK_E_NOMEM). */
wk_pthw *wk_pthw_plan(const char *file_name, const wk_pthw_storage *storages, size_t n_storages,
                      const wk_pthw_tensor *tensors, size_t n_tensors, wk_pth_profile profile,
                      wk_err *err);
void wk_pthw_free(wk_pthw *w);

/* Size of the whole file in bytes (exact, known before writing). */
uint64_t wk_pthw_total_size(const wk_pthw *w);
/* The archive name used ("pytorch_model-00001-of-00002", "archive", ...). */
const char *wk_pthw_archive(const wk_pthw *w);
/* The pickle (data.pkl) bytes and length. */
const uint8_t *wk_pthw_pickle(const wk_pthw *w, size_t *len);

/* Number of storages (= data/<k> records). */
size_t wk_pthw_storage_count(const wk_pthw *w);
/* The caller's storage index written as the k-th data record (k <
 * storage_count); produce storage data in this order. */
size_t wk_pthw_record_storage(const wk_pthw *w, size_t k);
/* Key of storage s ("0", "1", ...) and the file offset of its first byte. */
const char *wk_pthw_storage_key(const wk_pthw *w, size_t s);
uint64_t wk_pthw_storage_data_offset(const wk_pthw *w, size_t s);

/* Layout of one zip record, for tests and for tools that report offsets. */
typedef struct {
    const char *name;        /* full name in the zip: "<archive>/data/3" */
    uint64_t header_offset;  /* local file header */
    uint64_t data_offset;    /* a multiple of 64 */
    uint64_t size;
    uint32_t extra_len;      /* local extra field: [zip64] + "FB" padding field */
    uint32_t cd_extra_len;   /* central directory extra field: [zip64] */
    uint32_t descriptor_len; /* 16, or 24 when the record has a zip64 field */
    int zip64_size;          /* size >= 0xFFFFFFFF */
    int zip64_offset;        /* header_offset >= 0xFFFFFFFF */
} wk_pthw_record_info;

/* Number of zip records (data.pkl, [byteorder], data/..., version, [serialization_id]). */
size_t wk_pthw_record_count(const wk_pthw *w);
/* Fill *out for record i (i < record_count); the name stays owned by w. */
void wk_pthw_record_get(const wk_pthw *w, size_t i, wk_pthw_record_info *out);
/* Offset and size of the central directory. */
uint64_t wk_pthw_cd_offset(const wk_pthw *w);
uint64_t wk_pthw_cd_size(const wk_pthw *w);

/* Write the local header and data of data.pkl (and byteorder) to sink
 * (which must outlive the writer; not owned). */
int wk_pthw_begin(wk_pthw *w, wk_sink *sink, wk_err *err);
/* Start storage s's record; s must be wk_pthw_record_storage(w, k) for the
 * next k (WK_E_USAGE otherwise). */
int wk_pthw_storage_begin(wk_pthw *w, size_t s, wk_err *err);
/* Append n bytes of the current storage (WK_E_USAGE past its size). */
int wk_pthw_write(wk_pthw *w, const void *p, size_t n, wk_err *err);
/* Append n zero bytes of the current storage, without needing them in memory. */
int wk_pthw_write_zeros(wk_pthw *w, uint64_t n, wk_err *err);
/* End the current storage: WK_E_MISMATCH if fewer bytes than its size came;
 * writes the data descriptor. */
int wk_pthw_storage_end(wk_pthw *w, wk_err *err);
/* After the last storage: the version (and serialization_id) records, the
 * central directory and the end records.  Checks that exactly
 * wk_pthw_total_size() bytes went to the sink (WK_E_INTERNAL otherwise). */
int wk_pthw_finish(wk_pthw *w, wk_err *err);
/* The serialization_id written by a WK_PTH_F_SERIAL_ID profile (40 digits),
 * valid after wk_pthw_finish; "" otherwise. */
const char *wk_pthw_serialization_id(const wk_pthw *w);

/* ---- one call ------------------------------------------------------------- */

/* Write tensors whose storages are in memory to `path`, atomically (wk_out).
 * Tensors whose `storage` pointers are equal share one storage (they must
 * then agree on dtype and storage_nbytes); a NULL `storage` is allowed only
 * with storage_nbytes 0.  Uses name, dtype, ndim, shape, stride,
 * storage_offset, storage, storage_nbytes of each wk_tensor_info.  The
 * archive name comes from `path`.  0, or -1 with *err set (the final path is
 * then untouched). */
int wk_pthw_save_file(const char *path, const wk_tensor_info *tensors, size_t n,
                      wk_pth_profile profile, wk_err *err);

/* Same, to a sink; file_name only gives the archive name (NULL: "archive"). */
int wk_pthw_save_sink(wk_sink *sink, const char *file_name, const wk_tensor_info *tensors,
                      size_t n, wk_pth_profile profile, wk_err *err);

#endif
