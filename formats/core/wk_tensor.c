#include "wk_tensor.h"

#include <string.h>

static const wk_dtype_info k_dtypes[WK_DT_COUNT] = {
    {WK_DT_F32, 4, "F32", "FloatStorage", "float32"},
    {WK_DT_F16, 2, "F16", "HalfStorage", "float16"},
    {WK_DT_BF16, 2, "BF16", "BFloat16Storage", "bfloat16"},
    {WK_DT_F64, 8, "F64", "DoubleStorage", "float64"},
    {WK_DT_I64, 8, "I64", "LongStorage", "int64"},
    {WK_DT_I32, 4, "I32", "IntStorage", "int32"},
    {WK_DT_I16, 2, "I16", "ShortStorage", "int16"},
    {WK_DT_I8, 1, "I8", "CharStorage", "int8"},
    {WK_DT_U8, 1, "U8", "ByteStorage", "uint8"},
    {WK_DT_BOOL, 1, "BOOL", "BoolStorage", "bool"},
};

const wk_dtype_info *wk_dtype_get(wk_dtype dt)
{
    if ((unsigned)dt >= WK_DT_COUNT) return NULL;
    return &k_dtypes[dt];
}

static int name_eq(const char *a, const char *b, size_t blen)
{
    return strlen(a) == blen && memcmp(a, b, blen) == 0;
}

int wk_dtype_from_torch_storage(const char *name, size_t len)
{
    for (int i = 0; i < WK_DT_COUNT; i++)
        if (name_eq(k_dtypes[i].torch_storage, name, len)) return i;
    return -1;
}

int wk_dtype_from_st_name(const char *name, size_t len)
{
    for (int i = 0; i < WK_DT_COUNT; i++)
        if (name_eq(k_dtypes[i].st_name, name, len)) return i;
    return -1;
}

int wk_tensor_numel(const wk_tensor_info *t, int64_t *numel, wk_err *err)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        int64_t d = t->shape[i];
        if (d < 0)
            return wk_err_set(err, WK_E_FORMAT, "tensor %s: negative dimension %lld",
                              t->name ? t->name : "?", (long long)d);
        if (d != 0 && n > INT64_MAX / d)
            return wk_err_set(err, WK_E_LIMIT, "tensor %s: shape product overflows 64 bits",
                              t->name ? t->name : "?");
        n *= d;
    }
    *numel = n;
    return 0;
}

int wk_tensor_is_contiguous(const wk_tensor_info *t)
{
    /* As torch: a tensor with no elements is contiguous whatever its strides. */
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0) return 1;
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect) return 0;
        expect *= t->shape[i];
    }
    return 1;
}
