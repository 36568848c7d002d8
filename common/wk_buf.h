/* wk_buf.h — a growable byte buffer (for building pickles, JSON, headers). */
#ifndef WK_BUF_H
#define WK_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    int failed; /* sticky: an allocation failed; later appends are no-ops */
} wk_buf;

/* A zeroed wk_buf is a valid empty buffer. */
void wk_buf_init(wk_buf *b);
void wk_buf_free(wk_buf *b);
/* Appends; on allocation failure set b->failed and do nothing more. */
void wk_buf_put(wk_buf *b, const void *p, size_t n);
void wk_buf_putc(wk_buf *b, uint8_t c);
void wk_buf_puts(wk_buf *b, const char *s);
void wk_buf_printf(wk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wk_buf_le16(wk_buf *b, uint16_t v);
void wk_buf_le32(wk_buf *b, uint32_t v);
void wk_buf_le64(wk_buf *b, uint64_t v);
/* 0 if no append failed so far, else -1 with WK_E_NOMEM in *err. */
int wk_buf_check(const wk_buf *b, wk_err *err);

#endif
