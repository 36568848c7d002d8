/* wk_xorcheck.h — post-decode validation of a checkpoint without a manifest.
 *
 * Many XOR releases publish no hashes.  Decoding against the wrong base still
 * gives a file of the right length, often even a readable checkpoint (when
 * both bases have the same layout the zip and pickle bytes cancel out), but
 * the tensor values are bit noise: NaN/Inf and absurd magnitudes
 * (wk_stats.h).  This module opens a decoded .bin (torch zip) or
 * .safetensors file with weightkit's readers, summarises every floating
 * tensor with wk_stats, and lists the tensors that look like noise.  It is a
 * plausibility check, never a verification: a clean result says the values
 * look like trained weights, not that they are the publisher's.  Nothing
 * here prints.
 *
 * Single pass: a wk_xorcheck_stream, fed as a tap sink of the output
 * (wk_sink, wk_xor_decode_file_tap) while the file is decoded, summarises tensors from the bytes
 * as they are written, so the check need not read the file again.  It reads
 * a torch zip written in order (torch.save: data.pkl, then the data/<key>
 * records, stored) or a safetensors file (header first): it buffers only
 * data.pkl or the JSON header (at most WK_XORCHECK_MAX_META bytes), parses
 * them with the restricted unpickler / JSON reader, then accumulates each
 * floating, contiguous tensor's statistics in WK_STATS_CHUNK steps aligned on
 * the tensor's start — the same chunks wk_stats_source uses, so the numbers
 * are bit-identical.  The stream never decides anything on its own: after
 * the commit, wk_xorcheck_file_stream() opens the file with the real reader
 * (metadata only) and takes a tensor's streamed statistics only when the
 * reader places that tensor at exactly the streamed byte range with the same
 * type; every other tensor (strided views, records it could not map, a
 * stream that stopped making sense: compressed records, data descriptors,
 * limits) is read from the file as before.  Results are the same either way. */
#ifndef WK_XORCHECK_H
#define WK_XORCHECK_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_sink.h"
#include "wk_stats.h"

#define WK_XORCHECK_MAX_LISTED 16 /* flagged tensors kept with their stats */

typedef struct {
    char name[128];          /* tensor name (cut if longer) */
    wk_tensor_stats stats;   /* flags != 0 */
} wk_xorcheck_tensor;

typedef struct {
    int checked;             /* 1: the file was a checkpoint and was read */
    int unreadable;          /* 1: named like a checkpoint but did not open (msg in why) */
    char why[WK_ERR_MSG_MAX];
    uint64_t tensors;        /* floating tensors summarised */
    uint64_t skipped;        /* non-floating tensors (not summarised) */
    uint64_t flagged;        /* tensors that look like noise */
    size_t n_listed;         /* first min(flagged, WK_XORCHECK_MAX_LISTED) ... */
    wk_xorcheck_tensor listed[WK_XORCHECK_MAX_LISTED];
    uint64_t streamed;       /* tensors whose stats came from the stream (not reported) */
    uint64_t reread_bytes;   /* tensor bytes read back from the file (not reported) */
} wk_xorcheck;

/* Largest data.pkl / safetensors header the stream buffers (else it re-reads). */
#define WK_XORCHECK_MAX_META (64u << 20)
/* Most tensor ranges one stream tracks, and at once (else they are re-read). */
#define WK_XORCHECK_MAX_RANGES (1u << 18)
#define WK_XORCHECK_MAX_ACTIVE 64

/* 1 if a file called name is checked (*.bin torch zip, *.safetensors,
 * *.pth, *.pt), else 0 (JSON, tokenizer files). */
int wk_xorcheck_wants(const char *name);

/* 1 if the result says the file is suspect (unreadable or any tensor flagged). */
int wk_xorcheck_suspect(const wk_xorcheck *c);

/* Check the file at path: open it as a checkpoint, summarise every floating
 * tensor.  An unreadable checkpoint is a result (unreadable = 1, the
 * reader's message in why), not a failure.  Returns -1 only on OOM
 * (WK_E_NOMEM).  Safe to call from several threads on different files. */
int wk_xorcheck_file(const char *path, wk_xorcheck *out, wk_err *err);

/* ---- single pass ------------------------------------------------------------ */

typedef struct wk_xorcheck_stream wk_xorcheck_stream;

/* A consumer for one output file, fed from its first byte.  NULL on OOM. */
wk_xorcheck_stream *wk_xorcheck_stream_new(void);
/* A wk_sink callback (wk_sink_init(&s, wk_xorcheck_stream_feed, st)): ctx is
 * the stream, p/n the next bytes of the file.  Never fails (returns 0) and
 * never crashes on any input: bytes it cannot make sense of only stop the
 * streaming (those tensors are re-read by wk_xorcheck_file_stream).  Memory
 * stays bounded (the WK_XORCHECK_MAX_* limits above). */
int wk_xorcheck_stream_feed(void *ctx, const void *p, size_t n, wk_err *err);
/* Free; safe on NULL. */
void wk_xorcheck_stream_free(wk_xorcheck_stream *st);

/* wk_xorcheck_file, taking each tensor's statistics from st (fed with every
 * byte of the file at path) where the reader agrees on its byte range and
 * type, and reading only the other tensors.  st NULL = wk_xorcheck_file.  The
 * result is the one wk_xorcheck_file gives (apart from streamed and
 * reread_bytes); the file must still hold the bytes st saw (its size is
 * compared: a mismatch ignores st). */
int wk_xorcheck_file_stream(const char *path, const wk_xorcheck_stream *st, wk_xorcheck *out,
                            wk_err *err);

#endif
