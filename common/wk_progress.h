/* wk_progress.h — a progress bar on stderr (bytes done, rate, ETA), drawn only
 * when enabled (tools enable it when stderr is a TTY and not --quiet).
 * Used by tools; library functions report progress through callbacks of the
 * form wk_progress_fn so that they never print themselves. */
#ifndef WK_PROGRESS_H
#define WK_PROGRESS_H

#include <stdint.h>

/* Library-side callback: `done` units of `total` are complete. */
typedef void (*wk_progress_fn)(void *ctx, uint64_t done, uint64_t total);

typedef struct wk_progress wk_progress;

/* enabled=0 gives a bar that never draws (all calls are cheap no-ops).
 * total 0 = unknown (no percentage or ETA).  Labels are cut at 63 bytes.
 * NULL on OOM; every function below accepts NULL and then does nothing. */
wk_progress *wk_progress_new(const char *label, uint64_t total, int enabled);
/* Set absolute progress (bytes); the first call draws, later ones redraw at
 * most 10 times per second (CLOCK_MONOTONIC).  The line on stderr is
 * "\r<label>  42%  1.2 GiB / 2.9 GiB  310.5 MiB/s  ETA 0:05". */
void wk_progress_update(wk_progress *p, uint64_t done);
/* Change the label (shown from the next draw). */
void wk_progress_set_label(wk_progress *p, const char *label);
/* Final draw and newline (if it ever drew), then free. Safe on NULL. */
void wk_progress_finish(wk_progress *p);
/* Adapter matching wk_progress_fn; ctx is a wk_progress*.  Sets the total
 * (0 = unknown) and then updates as wk_progress_update. */
void wk_progress_cb(void *ctx, uint64_t done, uint64_t total);

#endif
