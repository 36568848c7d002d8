/* wk_progress.h — a progress bar on stderr (bytes done, rate, ETA), drawn only
 * when enabled (tools enable it when stderr is a TTY and not --quiet).
 * Used by tools; library functions report progress through callbacks of the
 * form wk_progress_fn so that they never print themselves; wk_progress_multi
 * sums the callbacks of several items worked on in parallel into one. */
#ifndef WK_PROGRESS_H
#define WK_PROGRESS_H

#include <stddef.h>
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

/* ---- several items at once ----------------------------------------------
 * wk_progress_multi sums the progress of n items worked on in parallel into
 * one outer wk_progress_fn.  Each item reports its own bytes done (an item
 * that starts over may report less than before); the outer callback gets the
 * sum over all items, clamped to the grand total (total 0 = unknown: not
 * clamped), and the grand total.  Item callbacks may run on any thread: the
 * sum is updated and forwarded under one mutex, so the outer callback is
 * never entered twice at once. */
typedef struct wk_progress_multi wk_progress_multi;

/* A callback and its context, to hand to the code doing one item. */
typedef struct {
    wk_progress_fn fn;   /* NULL when there is no outer callback */
    void *ctx;
} wk_progress_hook;

/* n items, grand total `total` units; fn NULL = no-op (items get a NULL fn).
 * NULL on OOM or if the mutex cannot be made. */
wk_progress_multi *wk_progress_multi_new(wk_progress_fn fn, void *ctx, size_t n, uint64_t total);
/* Hook for item i < n (its `total` argument is ignored).  m NULL or i out of
 * range gives {NULL, NULL}.  Valid until wk_progress_multi_free. */
wk_progress_hook wk_progress_multi_item(wk_progress_multi *m, size_t i);
/* Item i is over and counts `done` units from now on (its size if it
 * finished, 0 if its bytes should not count).  Does not call the outer
 * callback: the next report includes it. */
void wk_progress_multi_finish(wk_progress_multi *m, size_t i, uint64_t done);
/* Free m (no item callback may still be running).  Safe on NULL. */
void wk_progress_multi_free(wk_progress_multi *m);

#endif
