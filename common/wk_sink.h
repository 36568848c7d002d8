/* wk_sink.h — the one byte stream of weightkit: where bytes flow to.
 *
 * In the manner of Redis's rio: a sink is an object holding a write callback
 * plus its context, and the state every stream needs, kept in one place:
 *   - a sticky error: after the first failure, later writes are no-ops that
 *     fail again with that first error (never a second message), so a writer
 *     may send a run of writes and check once at the end (wk_sink_status);
 *   - an optional hashing tee (wk_hash: SHA-256 / XXH3) fed every byte the
 *     callback accepted, in order (hashing an output while it is written);
 *   - a byte count of everything accepted.
 * Writers built on it (pth, GGUF, safetensors, wk_source emit, the convert
 * engine) never seek back and never read what they wrote, so the same writer
 * can target an atomic output file (wk_sink_out), a memory buffer
 * (wk_sink_buf, wk_buf.h), a counter/hash (wk_sink_null + a tee), or a
 * transform stage (an XOR stage, a gzip compressor, a ring to another thread).
 * A sink is passed by pointer and is not thread-safe: one writer at a time.
 * A zeroed sink is a sink without a callback: writes fail (WK_E_INTERNAL). */
#ifndef WK_SINK_H
#define WK_SINK_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_hash.h"
#include "wk_io.h"

/* Consume n bytes at p (n may be 0); 0 on success, -1 with *err set. */
typedef int (*wk_sink_fn)(void *ctx, const void *p, size_t n, wk_err *err);

typedef struct {
    wk_sink_fn write; /* where the bytes go */
    void *ctx;
    wk_hash *tee;     /* NULL, or hashed with every accepted byte (not owned) */
    uint64_t count;   /* bytes accepted so far */
    int failed;       /* sticky: err holds the first error */
    wk_err err;
} wk_sink;

/* Reset s to a fresh sink over write(ctx, ...): no tee, count 0, no error. */
void wk_sink_init(wk_sink *s, wk_sink_fn write, void *ctx);

/* Hash every byte accepted from now on into h (NULL: stop).  h is not owned. */
static inline void wk_sink_tee(wk_sink *s, wk_hash *h) { s->tee = h; }

/* Send n bytes: the callback, then the tee, then the count.  0, or -1 with
 * the sink's first error copied into *err (err may be NULL: the error stays in
 * the sink for wk_sink_status).  Once failed, the callback is not called
 * again. */
int wk_sink_write(wk_sink *s, const void *p, size_t n, wk_err *err);

/* Record e as the sink's error unless one is already kept (the first one
 * wins); the sink is failed from now on.  Returns -1. */
int wk_sink_fail(wk_sink *s, const wk_err *e);

/* 0 if nothing failed so far, else -1 with the first error copied to *err. */
int wk_sink_status(const wk_sink *s, wk_err *err);

/* Bytes accepted so far. */
static inline uint64_t wk_sink_count(const wk_sink *s) { return s->count; }

/* A sink that discards the bytes (they are still counted, and hashed by a
 * tee).  Never fails.  Useful to measure or checksum a stream. */
void wk_sink_null(wk_sink *s);

/* A sink over an open atomic output file (wk_out_write); returns s.  Defined
 * inline so that code which never writes to a file does not link wk_io. */
static inline int wk_sink_out_write_(void *ctx, const void *p, size_t n, wk_err *err)
{
    return wk_out_write((wk_out *)ctx, p, n, err);
}
static inline wk_sink *wk_sink_out(wk_sink *s, wk_out *o)
{
    wk_sink_init(s, wk_sink_out_write_, o);
    return s;
}

#endif
