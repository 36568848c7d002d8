/* wk_buf.h — a growable byte buffer (for building pickles, JSON, headers).
 *
 * Appends never fail on the spot: the buffer's sticky error is the one of
 * the byte stream (wk_sink.h) embedded in it, which is also the sink that
 * wk_sink_buf() hands to writers.  After an allocation failure later appends
 * are no-ops; wk_buf_check() reports the first error once at the end. */
#ifndef WK_BUF_H
#define WK_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_sink.h"

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    wk_sink sink; /* the buffer as a byte stream: its sticky error is the buffer's */
} wk_buf;

/* A zeroed wk_buf is a valid empty buffer. */
void wk_buf_init(wk_buf *b);
void wk_buf_free(wk_buf *b);
/* Appends; on allocation failure the buffer (its sink) is failed with
 * WK_E_NOMEM and nothing more is appended. */
void wk_buf_put(wk_buf *b, const void *p, size_t n);
void wk_buf_putc(wk_buf *b, uint8_t c);
void wk_buf_puts(wk_buf *b, const char *s);
void wk_buf_printf(wk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wk_buf_le16(wk_buf *b, uint16_t v);
void wk_buf_le32(wk_buf *b, uint32_t v);
void wk_buf_le64(wk_buf *b, uint64_t v);
/* 0 if no append failed so far, else -1 with WK_E_NOMEM in *err. */
int wk_buf_check(const wk_buf *b, wk_err *err);
/* 1 once an append failed (or a write into wk_sink_buf(b) did). */
static inline int wk_buf_failed(const wk_buf *b) { return b->sink.failed; }
/* The buffer's own sink: writes append to b (count and a tee as any sink;
 * the sticky error is shared with the appends above).  Valid while b is not
 * moved; calling it again re-targets the sink at b and keeps its state. */
wk_sink *wk_sink_buf(wk_buf *b);

#endif
