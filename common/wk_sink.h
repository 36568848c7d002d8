/* wk_sink.h — a byte sink: where a streaming writer sends its output.
 *
 * A sink is a write callback plus its context, passed by value.  Writers
 * built on it (e.g. wk_pth_write) never seek back and never read what they
 * wrote, so the same writer can target an atomic output file (wk_out), a
 * memory buffer (wk_buf), a hash, or a transform stage that combines the
 * bytes with something else before they reach a file (an XOR stage does not
 * need the base file on disk).  A sink's write either consumes all n bytes
 * and returns 0, or returns -1 with *err filled. */
#ifndef WK_SINK_H
#define WK_SINK_H

#include <stddef.h>
#include <stdint.h>
#include "wk_buf.h"
#include "wk_err.h"
#include "wk_io.h"

typedef struct {
    /* Consume n bytes at p (n may be 0); 0 on success, -1 with *err set. */
    int (*write)(void *ctx, const void *p, size_t n, wk_err *err);
    void *ctx;
} wk_sink;

/* Send n bytes to the sink.  Returns what the callback returns; a sink with
 * a NULL callback fails with WK_E_INTERNAL. */
static inline int wk_sink_write(const wk_sink *s, const void *p, size_t n, wk_err *err)
{
    if (!s->write) return wk_err_set(err, WK_E_INTERNAL, "write to a sink without a callback");
    return s->write(s->ctx, p, n, err);
}

/* A sink that appends to *b (which must outlive the sink).  Fails with
 * WK_E_NOMEM when the buffer cannot grow. */
wk_sink wk_sink_buf(wk_buf *b);

/* A sink that discards the bytes and adds their count to *counter (which may
 * be NULL).  Never fails.  Useful to measure or checksum a stream. */
wk_sink wk_sink_null(uint64_t *counter);

/* A sink that writes to an open atomic output file (wk_out_write).  Defined
 * inline so that code which never writes to a file does not link wk_io. */
static inline int wk_sink_out_write_(void *ctx, const void *p, size_t n, wk_err *err)
{
    return wk_out_write((wk_out *)ctx, p, n, err);
}
static inline wk_sink wk_sink_out(wk_out *o)
{
    wk_sink s = {wk_sink_out_write_, o};
    return s;
}

#endif
