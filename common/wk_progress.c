/* wk_progress.c — a one-line progress bar on stderr, redrawn in place ("\r").
 *
 * Line shape: "<label>  42%  1.2 GiB / 2.9 GiB  310.5 MiB/s  ETA 0:05"
 * (with total 0 = unknown: "<label>  1.2 GiB  310.5 MiB/s").  Redraws are
 * limited to 10 per second by CLOCK_MONOTONIC; the line is padded with spaces
 * to wipe a longer previous line, so no terminal escape codes are needed.
 * Also wk_progress_multi: a mutex-guarded sum of per-item progress. */
#include "wk_progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WK_PROGRESS_MIN_INTERVAL 0.1 /* seconds between redraws */

struct wk_progress {
    char label[64];
    uint64_t total;   /* 0 = unknown */
    uint64_t done;
    int enabled;
    int drew;         /* something was printed (finish must end the line) */
    int width;        /* length of the last line drawn */
    double t0;        /* start time */
    double last;      /* time of the last draw */
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "1.5 MiB" style, binary units, into buf. */
static void human_bytes(double v, char *buf, size_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (v >= 1024.0 && u < 5) { v /= 1024.0; u++; }
    if (u == 0) snprintf(buf, n, "%.0f %s", v, units[u]);
    else snprintf(buf, n, "%.1f %s", v, units[u]);
}

/* "m:ss" or "h:mm:ss"; "--:--" when not known. */
static void human_eta(double s, char *buf, size_t n)
{
    if (!(s >= 0 && s < 1e7)) { snprintf(buf, n, "--:--"); return; }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%lu:%02lu", t / 60, t % 60);
}

/* Format the current state of p into line. */
static int format_line(const wk_progress *p, double now, char *line, size_t n)
{
    char done[32], total[32], rate[32], eta[32];
    double dt = now - p->t0;
    double bps = dt > 0 ? (double)p->done / dt : 0;
    human_bytes((double)p->done, done, sizeof done);
    human_bytes(bps, rate, sizeof rate);
    if (p->total == 0)
        return snprintf(line, n, "%s  %s  %s/s", p->label, done, rate);
    double frac = (double)p->done / (double)p->total;
    human_bytes((double)p->total, total, sizeof total);
    human_eta(bps > 0 ? (double)(p->total - (p->done < p->total ? p->done : p->total)) / bps : -1,
              eta, sizeof eta);
    return snprintf(line, n, "%s %3d%%  %s / %s  %s/s  ETA %s", p->label,
                    (int)(frac > 1 ? 100 : frac * 100), done, total, rate, eta);
}

/* Draw the line, padding over any longer previous one. */
static void draw(wk_progress *p, double now)
{
    char line[256];
    int len = format_line(p, now, line, sizeof line);
    if (len < 0) return;
    if (len >= (int)sizeof line) len = (int)sizeof line - 1;
    int pad = p->width > len ? p->width - len : 0;
    fprintf(stderr, "\r%s%*s", line, pad, "");
    fflush(stderr);
    p->width = len;
    p->drew = 1;
    p->last = now;
}

wk_progress *wk_progress_new(const char *label, uint64_t total, int enabled)
{
    wk_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    wk_progress_set_label(p, label);
    p->total = total;
    p->enabled = enabled;
    p->t0 = now_seconds();
    return p;
}

void wk_progress_update(wk_progress *p, uint64_t done)
{
    if (!p || !p->enabled) return;
    p->done = done;
    double now = now_seconds();
    if (p->drew && now - p->last < WK_PROGRESS_MIN_INTERVAL) return;
    draw(p, now);
}

void wk_progress_set_label(wk_progress *p, const char *label)
{
    if (!p) return;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
}

void wk_progress_finish(wk_progress *p)
{
    if (!p) return;
    if (p->enabled && p->drew) {
        draw(p, now_seconds());
        fputc('\n', stderr);
    }
    free(p);
}

void wk_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    wk_progress *p = ctx;
    if (!p) return;
    p->total = total;
    wk_progress_update(p, done);
}

/* ---- several items at once ----------------------------------------------- */

typedef struct {
    wk_progress_multi *m;
    size_t idx;
} multi_item;

struct wk_progress_multi {
    pthread_mutex_t mu;
    wk_progress_fn fn;
    void *ctx;
    uint64_t total;     /* grand total, 0 = unknown */
    uint64_t done;      /* sum of live[] */
    uint64_t *live;     /* per item: units done */
    multi_item *items;  /* per item: the context of its hook */
    size_t n;
};

/* Item callback: replace the item's count in the sum, forward the clamped sum. */
static void multi_item_cb(void *ctx, uint64_t done, uint64_t total)
{
    (void)total;
    multi_item *it = ctx;
    wk_progress_multi *m = it->m;
    pthread_mutex_lock(&m->mu);
    m->done = m->done - m->live[it->idx] + done;
    m->live[it->idx] = done;
    uint64_t shown = m->total && m->done > m->total ? m->total : m->done;
    if (m->fn) m->fn(m->ctx, shown, m->total);
    pthread_mutex_unlock(&m->mu);
}

wk_progress_multi *wk_progress_multi_new(wk_progress_fn fn, void *ctx, size_t n, uint64_t total)
{
    wk_progress_multi *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->live = calloc(n ? n : 1, sizeof *m->live);
    m->items = calloc(n ? n : 1, sizeof *m->items);
    if (!m->live || !m->items || pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m->live);
        free(m->items);
        free(m);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) m->items[i] = (multi_item){m, i};
    m->fn = fn;
    m->ctx = ctx;
    m->n = n;
    m->total = total;
    return m;
}

wk_progress_hook wk_progress_multi_item(wk_progress_multi *m, size_t i)
{
    if (!m || !m->fn || i >= m->n) return (wk_progress_hook){NULL, NULL};
    return (wk_progress_hook){multi_item_cb, &m->items[i]};
}

void wk_progress_multi_finish(wk_progress_multi *m, size_t i, uint64_t done)
{
    if (!m || i >= m->n) return;
    pthread_mutex_lock(&m->mu);
    m->done = m->done - m->live[i] + done;
    m->live[i] = done;
    pthread_mutex_unlock(&m->mu);
}

void wk_progress_multi_free(wk_progress_multi *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m->live);
    free(m->items);
    free(m);
}
