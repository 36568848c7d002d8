/* wk_xorshadow.h — several candidate bases in one decode pass (issue #23).
 *
 * wk_xormeta's candidate profiles for a payload file can tie after the cheap
 * ranking (config.json: version strings of the same length) and then differ
 * from each other in few places.  Instead of one full decode pass (convert +
 * inflate + XOR + hash + write) per candidate, one pass decodes against
 * candidate 0's base — the bytes written to the temporary — while this
 * module, a wk_xor_shadow on that pass, streams every other candidate k's
 * base from its own producer (a wk_xorbase: its own thread, a WK_XS_RING
 * ring) and, chunk by chunk:
 *   - compares base_k with base_0; where they differ it keeps candidate k's
 *     output bytes (payload XOR base_k) with their offsets: k's patch;
 *   - keeps candidate k's SHA-256: a clone of the output's state taken at the
 *     first chunk where base_k differs, fed k's output bytes from there on
 *     (before that k's output is the output's);
 * At the end, when candidate 0's digest is not the expected one and
 * candidate k's is, the temporary is patched at k's ranges (wk_out_pwrite)
 * before the judge and the commit, and the pass is k's.
 *
 * Memory: per candidate the ring and two chunk buffers (each at most
 * WK_XOR_SLOT = 1 MiB, no larger than the base or the largest chunk) plus its
 * patch, which may hold at most `cap` bytes (16 bytes counted per range;
 * its two arrays are each allocated up to cap, so at most 2 x cap); a
 * candidate whose patch would pass its cap drops out of the pass (its
 * producer is stopped, its memory freed) and is left to a full pass of its
 * own.  A candidate whose producer fails drops out the same way (its own
 * pass then reports the error).  Nothing here prints. */
#ifndef WK_XORSHADOW_H
#define WK_XORSHADOW_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_xor.h"
#include "wk_xorbase.h"

#define WK_XS_RING (1u << 20)       /* each candidate's base ring */
#define WK_XS_MAX 15                /* candidates beside candidate 0 in one pass */
#define WK_XS_CAP ((uint64_t)64 << 20)     /* patch bytes per candidate ... */
#define WK_XS_BUDGET ((uint64_t)128 << 20) /* ... and at most this over all of them */

typedef struct {
    wk_xorbase_fn fn;    /* pushes the candidate's base bytes (as wk_xor_decode_args.base_fn) */
    void *ctx;
    const char *label;
    uint64_t size;       /* the bytes it yields if known (0: unknown): a smaller ring then */
} wk_xs_cand;

typedef struct wk_xs wk_xs;

/* Start the producers of the n (<= WK_XS_MAX) candidates beside candidate 0,
 * for a pass whose output must hash to expect (32 bytes).  cap: patch bytes
 * allowed per candidate (0: min(WK_XS_CAP, WK_XS_BUDGET / n)).  NULL with
 * err on OOM or a thread that cannot start. */
wk_xs *wk_xs_new(const wk_xs_cand *c, size_t n, const uint8_t *expect, uint64_t cap, wk_err *err);

/* The hook to put in wk_xor_decode_args.shadow (points into s). */
const wk_xor_shadow *wk_xs_shadow(wk_xs *s);

/* After the pass: the candidate whose patch was applied (its output matched
 * the expected digest; candidate 0's did not), or -1. */
int wk_xs_winner(const wk_xs *s);
/* 1 if candidate k dropped out (cap or producer error): it was not judged. */
int wk_xs_dropped(const wk_xs *s, size_t k);
/* 1 if candidate k's digest was computed at the end and matched, 0 if it
 * differs, -1 not judged (dropped, or the pass did not reach its end). */
int wk_xs_verdict(const wk_xs *s, size_t k);

/* Stop what still runs and free; safe on NULL. */
void wk_xs_free(wk_xs *s);

#endif
