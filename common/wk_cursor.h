/* wk_cursor.h — a bounded little-endian reader over a byte range.
 *
 * Every parser reads file bytes only through a wk_cur.  Each read checks the
 * remaining length first; on overrun it returns -1, consumes nothing, and the
 * caller reports the problem together with wk_cur_pos() (the byte offset,
 * relative to the cursor's base offset, so messages can name file offsets). */
#ifndef WK_CURSOR_H
#define WK_CURSOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p;  /* start of the range */
    size_t len;        /* bytes in the range */
    size_t pos;        /* next byte to read, 0..len */
    uint64_t base;     /* offset of p[0] in its file, for messages */
} wk_cur;

static inline wk_cur wk_cur_make(const void *p, size_t len, uint64_t base)
{
    wk_cur c = {(const uint8_t *)p, len, 0, base};
    return c;
}
static inline size_t wk_cur_left(const wk_cur *c) { return c->len - c->pos; }
/* Absolute file offset of the next byte. */
static inline uint64_t wk_cur_pos(const wk_cur *c) { return c->base + c->pos; }

int wk_cur_skip(wk_cur *c, size_t n);
/* Points *out at the next n bytes (no copy) and advances. */
int wk_cur_bytes(wk_cur *c, size_t n, const uint8_t **out);
int wk_cur_u8(wk_cur *c, uint8_t *out);
int wk_cur_u16(wk_cur *c, uint16_t *out);
int wk_cur_u32(wk_cur *c, uint32_t *out);
int wk_cur_u64(wk_cur *c, uint64_t *out);
int wk_cur_i32(wk_cur *c, int32_t *out);
int wk_cur_i64(wk_cur *c, int64_t *out);
int wk_cur_f32(wk_cur *c, float *out);
int wk_cur_f64(wk_cur *c, double *out);

/* Plain loads from memory already known to be in bounds. */
static inline uint16_t wk_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t wk_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t wk_le64(const uint8_t *p)
{
    return (uint64_t)wk_le32(p) | (uint64_t)wk_le32(p + 4) << 32;
}

#endif
