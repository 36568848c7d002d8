#include "wk_cursor.h"

#include <string.h>

int wk_cur_skip(wk_cur *c, size_t n)
{
    if (n > wk_cur_left(c)) return -1;
    c->pos += n;
    return 0;
}

int wk_cur_bytes(wk_cur *c, size_t n, const uint8_t **out)
{
    if (n > wk_cur_left(c)) return -1;
    *out = c->p + c->pos;
    c->pos += n;
    return 0;
}

int wk_cur_u8(wk_cur *c, uint8_t *out)
{
    if (wk_cur_left(c) < 1) return -1;
    *out = c->p[c->pos++];
    return 0;
}

int wk_cur_u16(wk_cur *c, uint16_t *out)
{
    if (wk_cur_left(c) < 2) return -1;
    *out = wk_le16(c->p + c->pos);
    c->pos += 2;
    return 0;
}

int wk_cur_u32(wk_cur *c, uint32_t *out)
{
    if (wk_cur_left(c) < 4) return -1;
    *out = wk_le32(c->p + c->pos);
    c->pos += 4;
    return 0;
}

int wk_cur_u64(wk_cur *c, uint64_t *out)
{
    if (wk_cur_left(c) < 8) return -1;
    *out = wk_le64(c->p + c->pos);
    c->pos += 8;
    return 0;
}

int wk_cur_i32(wk_cur *c, int32_t *out)
{
    uint32_t v;
    if (wk_cur_u32(c, &v)) return -1;
    *out = (int32_t)v;
    return 0;
}

int wk_cur_i64(wk_cur *c, int64_t *out)
{
    uint64_t v;
    if (wk_cur_u64(c, &v)) return -1;
    *out = (int64_t)v;
    return 0;
}

int wk_cur_f32(wk_cur *c, float *out)
{
    uint32_t v;
    if (wk_cur_u32(c, &v)) return -1;
    memcpy(out, &v, 4);
    return 0;
}

int wk_cur_f64(wk_cur *c, double *out)
{
    uint64_t v;
    if (wk_cur_u64(c, &v)) return -1;
    memcpy(out, &v, 8);
    return 0;
}
