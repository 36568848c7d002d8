/* wk_ggml.h — ggml tensor types: the one type table (the columns of ggml's
 * type_traits a file format needs), keyed by the ggml type id.
 *
 * Ids are ggml's, as stored in GGUF tensor infos (docs/formats/gguf.md, "ggml
 * types handled by the container code"; block layouts in
 * docs/formats/quant-blocks.md).  The GGUF container (wk_gguf.h) uses this
 * table to size tensors; the quant layer (formats/quant/wk_quant.h) keys its
 * kernel table by the same ids and takes names, block sizes and bytes per
 * block from here. */
#ifndef WK_GGML_H
#define WK_GGML_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_tensor.h"

/* ggml_type ids used in files (ggml.h). */
enum {
    WK_GGML_F32 = 0, WK_GGML_F16 = 1, WK_GGML_Q4_0 = 2, WK_GGML_Q4_1 = 3,
    WK_GGML_Q5_0 = 6, WK_GGML_Q5_1 = 7, WK_GGML_Q8_0 = 8, WK_GGML_Q8_1 = 9,
    WK_GGML_Q2_K = 10, WK_GGML_Q3_K = 11, WK_GGML_Q4_K = 12, WK_GGML_Q5_K = 13,
    WK_GGML_Q6_K = 14, WK_GGML_Q8_K = 15, WK_GGML_IQ4_NL = 20, WK_GGML_IQ4_XS = 23,
    WK_GGML_I8 = 24, WK_GGML_I16 = 25,
    WK_GGML_I32 = 26, WK_GGML_I64 = 27, WK_GGML_F64 = 28, WK_GGML_BF16 = 30,
    WK_GGML_TYPE_COUNT = 40
};

typedef struct {
    const char *name;   /* "f32", "q4_0", "q4_K", ... (ggml_type_name) */
    const char *lname;  /* the same in lower case ("q4_k"): the spelling
                         * weightkit's tools accept and print for quant types */
    uint32_t blck;      /* elements per block; 0 = id not usable in files */
    uint32_t size;      /* bytes per block */
} wk_ggml_type_info;

/* Row for a ggml type id, or NULL if the id is out of range or unused
 * (removed ids 4, 5, 31-33, 36-38 and ids >= 40). */
const wk_ggml_type_info *wk_ggml_type_get(int id);
/* Id from a name ("f16", "Q4_0"; case-insensitive); -1 if unknown. */
int wk_ggml_type_from_name(const char *name);
/* ggml type storing a wk_dtype unchanged (F32, F16, BF16, F64, I8..I64);
 * -1 for dtypes GGUF cannot hold (U8, BOOL). */
int wk_ggml_type_from_dtype(wk_dtype dt);
/* The wk_dtype of a plain (non-block) ggml type; -1 for quantized types. */
int wk_ggml_type_to_dtype(int ggml_type);
/* Bytes of one row of n values of type `type` (ggml_row_size): n / blck
 * blocks; needs n a multiple of the block size.  0 for an unknown type. */
size_t wk_ggml_row_size(int type, int64_t n);
/* Bytes of a tensor of ggml type `type` and shape ne[0..n_dims-1]; -1 with
 * WK_E_FORMAT (ne[0] not a multiple of the block size, negative dims) or
 * WK_E_LIMIT (overflow), naming `what`. */
int wk_ggml_nbytes(int type, int n_dims, const int64_t *ne, uint64_t *nbytes, const char *what,
                   wk_err *err);

#endif
