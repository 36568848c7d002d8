/* wk_xorbase.h — an XOR base as a sequential byte producer.
 *
 * wk_xor_decode_file normally reads the base from a file by offset.  A base
 * that is produced on the fly (the HF files the convert engine streams from
 * Meta's checkpoint, never written to disk) is a push producer instead: it
 * writes its bytes, in order, into a wk_sink.  This module turns such a
 * producer into a pull reader the decode loop can consume in step with the
 * payload: the producer runs on its own thread and hands its bytes through a
 * bounded ring (WK_XORBASE_RING bytes), so memory stays O(ring + whatever the
 * producer holds) and production overlaps with inflating.
 *
 * A base shorter than the payload simply ends (the decoder zero-extends); a
 * longer one is cut: closing the reader early stops the producer (its sink
 * write fails with WK_E_INTERRUPTED "cancelled") and joins it. */
#ifndef WK_XORBASE_H
#define WK_XORBASE_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_sink.h"

#define WK_XORBASE_RING (4u << 20)

/* Push every byte of the base, in order, into sink; 0, or -1 with err set
 * (sink errors passed up).  Runs on the reader's producer thread. */
typedef int (*wk_xorbase_fn)(void *ctx, wk_sink *sink, wk_err *err);

typedef struct wk_xorbase wk_xorbase;

/* Start producer(ctx) on a new thread; label names the base in messages.
 * NULL with WK_E_NOMEM or WK_E_INTERNAL (thread creation) on failure. */
wk_xorbase *wk_xorbase_start(wk_xorbase_fn producer, void *ctx, const char *label, wk_err *err);

/* The same with a ring of ring_bytes (> 0) instead of WK_XORBASE_RING. */
wk_xorbase *wk_xorbase_start_ring(wk_xorbase_fn producer, void *ctx, const char *label,
                                  size_t ring_bytes, wk_err *err);

/* Read the next up to n bytes into buf; *got < n only at the end of the
 * base (*got 0: ended).  Fails with the producer's error once the bytes it
 * produced before failing have been read. */
int wk_xorbase_read(wk_xorbase *b, uint8_t *buf, size_t n, size_t *got, wk_err *err);

/* Bytes read so far. */
uint64_t wk_xorbase_pos(const wk_xorbase *b);

/* Stop the producer if it is still running, join it, free.  Safe on NULL. */
void wk_xorbase_close(wk_xorbase *b);

#endif
