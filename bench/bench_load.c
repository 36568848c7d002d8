/* bench_load.c — see bench_load.h. */
#include "bench_load.h"

#include "wk_half.h"

#include <stdlib.h>
#include <string.h>

float *bench_tensor_floats(const wk_tensor_info *t, int64_t block, int64_t *rows, int64_t *cols)
{
    if (t->ndim != 2 || !wk_tensor_is_contiguous(t) || t->shape[1] % block) return NULL;
    int64_t n = t->shape[0] * t->shape[1];
    float *x = malloc(sizeof(float) * (size_t)n);
    if (!x) return NULL;
    const uint8_t *p = t->storage + (size_t)t->storage_offset * wk_dtype_get(t->dtype)->size;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        if (t->dtype == WK_DT_F32) memcpy(&x[i], p + 4 * i, 4);
        else if (t->dtype == WK_DT_F16) { memcpy(&h, p + 2 * i, 2); x[i] = wk_f16_to_f32(h); }
        else if (t->dtype == WK_DT_BF16) { memcpy(&h, p + 2 * i, 2); x[i] = wk_bf16_to_f32(h); }
        else { free(x); return NULL; }
    }
    *rows = t->shape[0];
    *cols = t->shape[1];
    return x;
}
