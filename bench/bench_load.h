/* bench_load.h — tensor loading shared by the bench programs (quant_bench.c,
 * quant_optimum.c).  Compiled into each by its script (bench/quant_bench.sh,
 * bench/quant_optimum.sh); not part of libweightkit. */
#ifndef WK_BENCH_LOAD_H
#define WK_BENCH_LOAD_H

#include "wk_tensor.h"

#include <stdint.h>

/* The values of t as float32, row-major, if t is a contiguous 2-D F32, F16 or
 * BF16 tensor whose row length is a multiple of `block`; sets *rows and *cols.
 * Returns a malloc'ed array (the caller frees it), or NULL if the tensor is not
 * usable or memory runs out (*rows and *cols then untouched). */
float *bench_tensor_floats(const wk_tensor_info *t, int64_t block, int64_t *rows, int64_t *cols);

#endif
