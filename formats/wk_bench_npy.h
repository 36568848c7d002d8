/* wk_bench_npy.h — reading wk-bench's activation file (a NumPy .npy array;
 * docs/formats/npy-activations.md). */
#ifndef WK_BENCH_NPY_H
#define WK_BENCH_NPY_H

#include <stdint.h>
#include "wk_err.h"

typedef struct {
    float *x;        /* batch x cols floats, row-major (owned) */
    int64_t batch;   /* vectors (1 for a 1-D array) */
    int64_t cols;    /* values per vector */
} wk_bench_acts;

/* Read path: '<f4' or '<f8' (converted to float32), fortran_order False,
 * shape (cols,) or (batch, cols), batch <= 2^20, cols <= 2^24, data size
 * exactly shape * itemsize.  Fails with WK_E_IO, WK_E_FORMAT (bad magic,
 * truncated, size mismatch: naming the offset), WK_E_UNSUPPORTED (another
 * dtype, version or order: the header is quoted), WK_E_LIMIT, WK_E_NOMEM;
 * *out is then zeroed. */
int wk_bench_npy_read(const char *path, wk_bench_acts *out, wk_err *err);
/* Free out->x and zero *out.  Safe on NULL. */
void wk_bench_acts_free(wk_bench_acts *a);

#endif
