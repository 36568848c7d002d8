/* Unit tests: wk_progress_multi — per-item progress summed into one outer
 * callback: exact sums, clamping to the grand total, items starting over and
 * finishing, several threads at once, and a NULL outer callback. */
#include "wk_progress.h"
#include "wk_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_LOG 64

/* What the outer callback saw.  Calls are serialised by wk_progress_multi;
 * `inside` checks that, and the counters are only read after the threads end. */
typedef struct {
    atomic_int inside;     /* callbacks running right now */
    int overlap;           /* times a callback started while another ran */
    uint64_t calls;
    uint64_t last, max, over_total, backwards, bad_total;
    uint64_t want_total;
    uint64_t log[MAX_LOG]; /* the first MAX_LOG values reported */
} sink;

static void sink_cb(void *ctx, uint64_t done, uint64_t total)
{
    sink *s = ctx;
    if (atomic_fetch_add(&s->inside, 1) != 0) s->overlap++;
    if (s->calls < MAX_LOG) s->log[s->calls] = done;
    if (s->calls && done < s->last) s->backwards++;
    if (s->want_total && done > s->want_total) s->over_total++;
    if (total != s->want_total) s->bad_total++;
    if (done > s->max) s->max = done;
    s->last = done;
    s->calls++;
    atomic_fetch_sub(&s->inside, 1);
}

/* Report `done` for item i through its hook, as a worker would. */
static void report(wk_progress_multi *m, size_t i, uint64_t done, uint64_t item_total)
{
    wk_progress_hook h = wk_progress_multi_item(m, i);
    CHECK(h.fn != NULL);
    if (h.fn) h.fn(h.ctx, done, item_total);
}

static void test_multi_sums_and_clamps(void)
{
    sink s = {.want_total = 100};
    wk_progress_multi *m = wk_progress_multi_new(sink_cb, &s, 3, 100);
    CHECK(m != NULL);
    if (!m) return;
    report(m, 0, 10, 50);
    report(m, 1, 20, 30);
    report(m, 0, 15, 50);
    report(m, 2, 80, 80);   /* sum 115: clamped */
    report(m, 2, 5, 80);    /* item 2 starts over: sum 40 */
    report(m, 1, 30, 30);
    static const uint64_t want[] = {10, 30, 35, 100, 40, 50};
    CHECK_EQ_U64(s.calls, 6);
    for (size_t k = 0; k < 6; k++) CHECK_EQ_U64(s.log[k], want[k]);
    CHECK_EQ_U64(s.bad_total, 0);
    CHECK_EQ_U64(s.over_total, 0);
    wk_progress_multi_free(m);
}

static void test_multi_unknown_total(void)
{
    sink s = {.want_total = 0};
    wk_progress_multi *m = wk_progress_multi_new(sink_cb, &s, 2, 0);
    CHECK(m != NULL);
    if (!m) return;
    report(m, 0, 7, 0);
    report(m, 1, 1000, 0);  /* total 0 = unknown: passed on unclamped */
    CHECK_EQ_U64(s.calls, 2);
    CHECK_EQ_U64(s.log[0], 7);
    CHECK_EQ_U64(s.log[1], 1007);
    CHECK_EQ_U64(s.bad_total, 0);
    wk_progress_multi_free(m);
}

static void test_multi_finish(void)
{
    sink s = {.want_total = 300};
    wk_progress_multi *m = wk_progress_multi_new(sink_cb, &s, 3, 300);
    CHECK(m != NULL);
    if (!m) return;
    report(m, 0, 40, 100);
    wk_progress_multi_finish(m, 0, 100);  /* done: counts its full size */
    CHECK_EQ_U64(s.calls, 1);             /* finishing reports nothing itself */
    report(m, 1, 60, 100);
    CHECK_EQ_U64(s.log[1], 160);
    wk_progress_multi_finish(m, 1, 0);    /* failed: its bytes drop out */
    report(m, 2, 100, 100);
    CHECK_EQ_U64(s.log[2], 200);
    wk_progress_multi_finish(m, 2, 100);
    wk_progress_multi_finish(m, 3, 100);  /* out of range: ignored */
    report(m, 1, 100, 100);               /* item 1 again, in full */
    CHECK_EQ_U64(s.log[3], 300);
    CHECK_EQ_U64(s.calls, 4);
    CHECK_EQ_U64(s.backwards, 0);
    wk_progress_multi_free(m);
}

#define N_THREADS 4
#define N_ITEMS 10
#define STEP 7

static uint64_t item_size(size_t i) { return 1000 + 137 * (uint64_t)i; }

typedef struct {
    wk_progress_multi *m;
    int t;
} worker;

/* Items t, t+N_THREADS, ...: report in steps of STEP up to the size, then finish. */
static void *work(void *arg)
{
    worker *w = arg;
    for (size_t i = (size_t)w->t; i < N_ITEMS; i += N_THREADS) {
        wk_progress_hook h = wk_progress_multi_item(w->m, i);
        uint64_t n = item_size(i);
        for (uint64_t d = 0; d < n; d += STEP) h.fn(h.ctx, d, n);
        h.fn(h.ctx, n, n);
        wk_progress_multi_finish(w->m, i, n);
    }
    return NULL;
}

/* Run all items on N_THREADS threads with grand total `total`; calls made in *calls. */
static void run_threads(sink *s, uint64_t total, uint64_t *calls)
{
    wk_progress_multi *m = wk_progress_multi_new(sink_cb, s, N_ITEMS, total);
    CHECK(m != NULL);
    if (!m) return;
    pthread_t th[N_THREADS];
    worker w[N_THREADS];
    int started = 0;
    for (int t = 0; t < N_THREADS; t++) {
        w[t] = (worker){m, t};
        if (pthread_create(&th[t], NULL, work, &w[t]) != 0) break;
        started++;
    }
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    CHECK_EQ_U64(started, N_THREADS);
    *calls = 0;
    for (size_t i = 0; i < N_ITEMS; i++) *calls += (item_size(i) + STEP - 1) / STEP + 1;
    wk_progress_multi_free(m);
}

static void test_multi_threads(void)
{
    uint64_t sum = 0, calls = 0;
    for (size_t i = 0; i < N_ITEMS; i++) sum += item_size(i);
    sink s = {.want_total = sum};
    run_threads(&s, sum, &calls);
    CHECK_EQ_U64(s.calls, calls);   /* every item report reached the outer callback */
    CHECK_EQ_U64(s.overlap, 0);
    CHECK_EQ_U64(s.backwards, 0);   /* monotone: items only move forward */
    CHECK_EQ_U64(s.over_total, 0);
    CHECK_EQ_U64(s.bad_total, 0);
    CHECK_EQ_U64(s.last, sum);      /* all done: the full total */
}

static void test_multi_threads_clamped(void)
{
    uint64_t sum = 0, calls = 0;
    for (size_t i = 0; i < N_ITEMS; i++) sum += item_size(i);
    sink s = {.want_total = sum / 2};  /* the items do more than announced */
    run_threads(&s, sum / 2, &calls);
    CHECK_EQ_U64(s.calls, calls);
    CHECK_EQ_U64(s.overlap, 0);
    CHECK_EQ_U64(s.backwards, 0);
    CHECK_EQ_U64(s.over_total, 0);
    CHECK_EQ_U64(s.max, sum / 2);
    CHECK_EQ_U64(s.last, sum / 2);
}

static void test_multi_null_outer(void)
{
    wk_progress_multi *m = wk_progress_multi_new(NULL, NULL, 3, 100);
    CHECK(m != NULL);   /* a real object, so callers need no special case */
    wk_progress_hook h = wk_progress_multi_item(m, 1);
    CHECK(h.fn == NULL && h.ctx == NULL);   /* workers can skip progress entirely */
    wk_progress_multi_finish(m, 1, 50);
    wk_progress_multi_free(m);

    sink s = {.want_total = 100};
    m = wk_progress_multi_new(sink_cb, &s, 0, 100);   /* no items */
    CHECK(m != NULL);
    h = wk_progress_multi_item(m, 0);
    CHECK(h.fn == NULL && h.ctx == NULL);
    wk_progress_multi_free(m);
    CHECK_EQ_U64(s.calls, 0);

    h = wk_progress_multi_item(NULL, 0);
    CHECK(h.fn == NULL && h.ctx == NULL);
    wk_progress_multi_finish(NULL, 0, 1);
    wk_progress_multi_free(NULL);
}

int main(void)
{
    WK_RUN(test_multi_sums_and_clamps);
    WK_RUN(test_multi_unknown_total);
    WK_RUN(test_multi_finish);
    WK_RUN(test_multi_threads);
    WK_RUN(test_multi_threads_clamped);
    WK_RUN(test_multi_null_outer);
    return wk_test_summary();
}
