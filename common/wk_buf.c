#include "wk_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wk_buf_init(wk_buf *b) { memset(b, 0, sizeof *b); }

void wk_buf_free(wk_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Fail b's sink with the buffer's one message; returns -1. */
static int wk_buf_nomem(wk_buf *b)
{
    wk_err e;
    wk_err_set(&e, WK_E_NOMEM, "out of memory building a buffer");
    return wk_sink_fail(&b->sink, &e);
}

/* Ensure room for n more bytes; returns 0 or -1 (and fails the sink). */
static int wk_buf_reserve(wk_buf *b, size_t n)
{
    if (b->sink.failed) return -1;
    if (n <= b->cap - b->len) return 0;
    if (n > SIZE_MAX / 2 - b->len) return wk_buf_nomem(b);
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return wk_buf_nomem(b);
    b->data = p;
    b->cap = cap;
    return 0;
}

void wk_buf_put(wk_buf *b, const void *p, size_t n)
{
    if (n == 0 || wk_buf_reserve(b, n) != 0) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void wk_buf_putc(wk_buf *b, uint8_t c) { wk_buf_put(b, &c, 1); }
void wk_buf_puts(wk_buf *b, const char *s) { wk_buf_put(b, s, strlen(s)); }

void wk_buf_printf(wk_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && wk_buf_reserve(b, (size_t)n + 1) == 0) {
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void wk_buf_le16(wk_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    wk_buf_put(b, x, 2);
}

void wk_buf_le32(wk_buf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
    wk_buf_put(b, x, 4);
}

void wk_buf_le64(wk_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    wk_buf_put(b, x, 8);
}

int wk_buf_check(const wk_buf *b, wk_err *err)
{
    return wk_sink_status(&b->sink, err);
}

/* The sink callback: append, failing with the buffer's sticky error. */
static int buf_sink_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    wk_buf *b = ctx;
    wk_buf_put(b, p, n);
    return wk_buf_check(b, err);
}

wk_sink *wk_sink_buf(wk_buf *b)
{
    b->sink.write = buf_sink_write;
    b->sink.ctx = b;
    return &b->sink;
}
