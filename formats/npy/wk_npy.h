/* wk_npy.h — reading a float NumPy .npy array (wk-bench's activation file;
 * docs/formats/npy-activations.md). */
#ifndef WK_NPY_H
#define WK_NPY_H

#include <stdint.h>
#include "wk_err.h"

typedef struct {
    float *x;        /* batch x cols floats, row-major (owned) */
    int64_t batch;   /* vectors (1 for a 1-D array) */
    int64_t cols;    /* values per vector */
} wk_npy_f32;

/* Read path: '<f4' or '<f8' (converted to float32), fortran_order False,
 * shape (cols,) or (batch, cols), batch <= 2^20, cols <= 2^24, data size
 * exactly shape * itemsize.  Fails with WK_E_IO, WK_E_FORMAT (bad magic,
 * truncated, size mismatch: naming the offset), WK_E_UNSUPPORTED (another
 * dtype, version or order: the header is quoted), WK_E_LIMIT, WK_E_NOMEM;
 * *out is then zeroed. */
int wk_npy_read(const char *path, wk_npy_f32 *out, wk_err *err);
/* Free out->x and zero *out.  Safe on NULL. */
void wk_npy_free(wk_npy_f32 *a);

#endif
