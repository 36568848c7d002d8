/* wk_tensor.h — dtypes and the tensor description shared by every format.
 *
 * The dtype table is the one place that maps between our dtype ids and the
 * names each format uses (PyTorch storage classes, safetensors dtype strings,
 * torch dtype names written to config.json). */
#ifndef WK_TENSOR_H
#define WK_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

typedef enum {
    WK_DT_F32 = 0,
    WK_DT_F16,
    WK_DT_BF16,
    WK_DT_F64,
    WK_DT_I64,
    WK_DT_I32,
    WK_DT_I16,
    WK_DT_I8,
    WK_DT_U8,
    WK_DT_BOOL,
    WK_DT_COUNT
} wk_dtype;

typedef struct {
    wk_dtype id;
    size_t size;               /* bytes per element */
    const char *st_name;       /* safetensors: "F32", "F16", "BF16", ... */
    const char *torch_storage; /* "FloatStorage", "HalfStorage", "BFloat16Storage", ... */
    const char *torch_name;    /* "float32", "float16", "bfloat16", ... */
} wk_dtype_info;

/* Row for a dtype id (NULL if out of range). */
const wk_dtype_info *wk_dtype_get(wk_dtype dt);
/* Lookups by name; -1 if unknown. */
int wk_dtype_from_torch_storage(const char *name, size_t len);
int wk_dtype_from_st_name(const char *name, size_t len);

#define WK_MAX_DIMS 8

/* One tensor as described by a file: a view (shape, strides, offset, all in
 * elements) into a storage (a byte range of the file).  Names are owned by
 * whoever produced the table. */
typedef struct {
    char *name;                  /* UTF-8, dotted for nested dicts */
    wk_dtype dtype;
    int ndim;                    /* 0..WK_MAX_DIMS */
    int64_t shape[WK_MAX_DIMS];
    int64_t stride[WK_MAX_DIMS]; /* in elements */
    int64_t storage_offset;      /* in elements */
    char *storage_key;           /* e.g. "0" (pth), NULL where not applicable */
    uint64_t storage_nbytes;     /* size of the whole storage in bytes */
    const uint8_t *storage;      /* storage bytes (mapped), NULL until resolved */
    uint64_t file_offset;        /* byte offset of storage[0] in its file */
} wk_tensor_info;

/* numel = product of shape; -1 (and error) on overflow past INT64_MAX. */
int wk_tensor_numel(const wk_tensor_info *t, int64_t *numel, wk_err *err);
/* 1 if shape/stride describe a row-major contiguous layout (strides of size-1
 * dimensions ignored; a tensor with no elements is contiguous, as in torch). */
int wk_tensor_is_contiguous(const wk_tensor_info *t);

#endif
