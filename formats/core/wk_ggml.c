/* wk_ggml.c — the ggml type table and its look-ups (see wk_ggml.h). */
#include "wk_ggml.h"

#include <string.h>
#include <strings.h>

/* ggml.c's type_traits: name, block size, bytes per block.  Unused ids keep
 * their old ggml name for reference and blck 0 (wk_ggml_type_get: NULL). */
static const wk_ggml_type_info k_ggml[WK_GGML_TYPE_COUNT] = {
    [WK_GGML_F32]    = { .name = "f32",     .lname = "f32",     .blck =   1, .size =   4 },
    [WK_GGML_F16]    = { .name = "f16",     .lname = "f16",     .blck =   1, .size =   2 },
    [WK_GGML_Q4_0]   = { .name = "q4_0",    .lname = "q4_0",    .blck =  32, .size =  18 },
    [WK_GGML_Q4_1]   = { .name = "q4_1",    .lname = "q4_1",    .blck =  32, .size =  20 },
    [4]              = { .name = "q4_2" },   /* removed from ggml */
    [5]              = { .name = "q4_3" },   /* removed from ggml */
    [WK_GGML_Q5_0]   = { .name = "q5_0",    .lname = "q5_0",    .blck =  32, .size =  22 },
    [WK_GGML_Q5_1]   = { .name = "q5_1",    .lname = "q5_1",    .blck =  32, .size =  24 },
    [WK_GGML_Q8_0]   = { .name = "q8_0",    .lname = "q8_0",    .blck =  32, .size =  34 },
    [WK_GGML_Q8_1]   = { .name = "q8_1",    .lname = "q8_1",    .blck =  32, .size =  36 },
    [WK_GGML_Q2_K]   = { .name = "q2_K",    .lname = "q2_k",    .blck = 256, .size =  84 },
    [WK_GGML_Q3_K]   = { .name = "q3_K",    .lname = "q3_k",    .blck = 256, .size = 110 },
    [WK_GGML_Q4_K]   = { .name = "q4_K",    .lname = "q4_k",    .blck = 256, .size = 144 },
    [WK_GGML_Q5_K]   = { .name = "q5_K",    .lname = "q5_k",    .blck = 256, .size = 176 },
    [WK_GGML_Q6_K]   = { .name = "q6_K",    .lname = "q6_k",    .blck = 256, .size = 210 },
    [WK_GGML_Q8_K]   = { .name = "q8_K",    .lname = "q8_k",    .blck = 256, .size = 292 },
    [16]             = { .name = "iq2_xxs", .lname = "iq2_xxs", .blck = 256, .size =  66 },
    [17]             = { .name = "iq2_xs",  .lname = "iq2_xs",  .blck = 256, .size =  74 },
    [18]             = { .name = "iq3_xxs", .lname = "iq3_xxs", .blck = 256, .size =  98 },
    [19]             = { .name = "iq1_s",   .lname = "iq1_s",   .blck = 256, .size =  50 },
    [WK_GGML_IQ4_NL] = { .name = "iq4_nl",  .lname = "iq4_nl",  .blck =  32, .size =  18 },
    [21]             = { .name = "iq3_s",   .lname = "iq3_s",   .blck = 256, .size = 110 },
    [22]             = { .name = "iq2_s",   .lname = "iq2_s",   .blck = 256, .size =  82 },
    [WK_GGML_IQ4_XS] = { .name = "iq4_xs",  .lname = "iq4_xs",  .blck = 256, .size = 136 },
    [WK_GGML_I8]     = { .name = "i8",      .lname = "i8",      .blck =   1, .size =   1 },
    [WK_GGML_I16]    = { .name = "i16",     .lname = "i16",     .blck =   1, .size =   2 },
    [WK_GGML_I32]    = { .name = "i32",     .lname = "i32",     .blck =   1, .size =   4 },
    [WK_GGML_I64]    = { .name = "i64",     .lname = "i64",     .blck =   1, .size =   8 },
    [WK_GGML_F64]    = { .name = "f64",     .lname = "f64",     .blck =   1, .size =   8 },
    [29]             = { .name = "iq1_m",   .lname = "iq1_m",   .blck = 256, .size =  56 },
    [WK_GGML_BF16]   = { .name = "bf16",    .lname = "bf16",    .blck =   1, .size =   2 },
    [31]             = { .name = "q4_0_4_4" },   /* removed from ggml */
    [32]             = { .name = "q4_0_4_8" },   /* removed from ggml */
    [33]             = { .name = "q4_0_8_8" },   /* removed from ggml */
    [34]             = { .name = "tq1_0",   .lname = "tq1_0",   .blck = 256, .size =  54 },
    [35]             = { .name = "tq2_0",   .lname = "tq2_0",   .blck = 256, .size =  66 },
    [36]             = { .name = "iq4_nl_4_4" },   /* removed from ggml */
    [37]             = { .name = "iq4_nl_4_8" },   /* removed from ggml */
    [38]             = { .name = "iq4_nl_8_8" },   /* removed from ggml */
    [39]             = { .name = "mxfp4",   .lname = "mxfp4",   .blck =  32, .size =  17 },
};

const wk_ggml_type_info *wk_ggml_type_get(int id)
{
    if (id < 0 || id >= WK_GGML_TYPE_COUNT || k_ggml[id].blck == 0) return NULL;
    return &k_ggml[id];
}

int wk_ggml_type_from_name(const char *name)
{
    for (int i = 0; i < WK_GGML_TYPE_COUNT; i++)
        if (k_ggml[i].blck && strcasecmp(k_ggml[i].name, name) == 0) return i;
    return -1;
}
int wk_ggml_type_from_dtype(wk_dtype dt)
{
    switch (dt) {
    case WK_DT_F32: return WK_GGML_F32;
    case WK_DT_F16: return WK_GGML_F16;
    case WK_DT_BF16: return WK_GGML_BF16;
    case WK_DT_F64: return WK_GGML_F64;
    case WK_DT_I64: return WK_GGML_I64;
    case WK_DT_I32: return WK_GGML_I32;
    case WK_DT_I16: return WK_GGML_I16;
    case WK_DT_I8: return WK_GGML_I8;
    default: return -1;
    }
}

int wk_ggml_type_to_dtype(int t)
{
    switch (t) {
    case WK_GGML_F32: return WK_DT_F32;
    case WK_GGML_F16: return WK_DT_F16;
    case WK_GGML_BF16: return WK_DT_BF16;
    case WK_GGML_F64: return WK_DT_F64;
    case WK_GGML_I64: return WK_DT_I64;
    case WK_GGML_I32: return WK_DT_I32;
    case WK_GGML_I16: return WK_DT_I16;
    case WK_GGML_I8: return WK_DT_I8;
    default: return -1;
    }
}

size_t wk_ggml_row_size(int type, int64_t n)
{
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    return ti ? (size_t)(n / ti->blck) * ti->size : 0;
}

int wk_ggml_nbytes(int type, int n_dims, const int64_t *ne, uint64_t *nbytes, const char *what,
                   wk_err *err)
{
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    if (!ti) return wk_err_set(err, WK_E_FORMAT, "%s: invalid ggml type %d", what, type);
    uint64_t n = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 0)
            return wk_err_set(err, WK_E_FORMAT, "%s: negative dimension ne[%d] = %lld", what, d,
                              (long long)ne[d]);
        uint64_t v = (uint64_t)ne[d];
        if (v && n > (uint64_t)INT64_MAX / v)
            return wk_err_set(err, WK_E_LIMIT, "%s: element count overflows int64", what);
        n *= v;
    }
    if (n_dims > 0 && ne[0] % ti->blck)
        return wk_err_set(err, WK_E_FORMAT, "%s: ne[0] = %lld is not a multiple of %s's block size %u",
                          what, (long long)ne[0], ti->name, ti->blck);
    uint64_t blocks = n / ti->blck;
    if (blocks && ti->size > (uint64_t)INT64_MAX / blocks)
        return wk_err_set(err, WK_E_LIMIT, "%s: byte size overflows int64", what);
    *nbytes = blocks * ti->size;
    return 0;
}

/* ---- reader ---------------------------------------------------------------- */
