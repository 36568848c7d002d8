/* wk_xorbase.c — push producer -> pull reader through a bounded byte ring. */
#include "wk_xorbase.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct wk_xorbase {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    uint8_t *ring;
    size_t cap;              /* ring bytes */
    uint64_t head, tail;     /* bytes written / read (ring index = value % RING) */
    int done;                /* producer returned */
    int failed;              /* ... with an error (perr) */
    int cancel;              /* reader closed early */
    wk_err perr;
    wk_xorbase_fn fn;
    void *ctx;
    char *label;
};

/* The producer's sink: copy into the ring, waiting while it is full. */
static int ring_put(void *ctx, const void *p, size_t n, wk_err *err)
{
    wk_xorbase *b = ctx;
    const uint8_t *s = p;
    while (n) {
        pthread_mutex_lock(&b->mu);
        while (b->head - b->tail == b->cap && !b->cancel) pthread_cond_wait(&b->cv, &b->mu);
        if (b->cancel) {
            pthread_mutex_unlock(&b->mu);
            return wk_err_set(err, WK_E_INTERRUPTED, "%s: cancelled", b->label);
        }
        size_t at = (size_t)(b->head % b->cap);
        size_t room = b->cap - (size_t)(b->head - b->tail);
        size_t k = n < room ? n : room;
        if (k > b->cap - at) k = b->cap - at;
        pthread_mutex_unlock(&b->mu);
        memcpy(b->ring + at, s, k);  /* the reader never touches [head, head+k) */
        pthread_mutex_lock(&b->mu);
        b->head += k;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
        s += k;
        n -= k;
    }
    return 0;
}

static void *producer_main(void *arg)
{
    wk_xorbase *b = arg;
    wk_err e;
    wk_err_clear(&e);
    wk_sink sink;
    wk_sink_init(&sink, ring_put, b);
    int rc = b->fn(b->ctx, &sink, &e);
    pthread_mutex_lock(&b->mu);
    b->done = 1;
    if (rc) {
        b->failed = 1;
        b->perr = e;
    }
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

wk_xorbase *wk_xorbase_start(wk_xorbase_fn producer, void *ctx, const char *label, wk_err *err)
{
    return wk_xorbase_start_ring(producer, ctx, label, WK_XORBASE_RING, err);
}

wk_xorbase *wk_xorbase_start_ring(wk_xorbase_fn producer, void *ctx, const char *label,
                                  size_t ring_bytes, wk_err *err)
{
    wk_xorbase *b = calloc(1, sizeof *b);
    if (b) b->cap = ring_bytes ? ring_bytes : 1;
    if (!b || !(b->ring = malloc(b->cap)) || !(b->label = strdup(label ? label : "base"))) {
        if (b) free(b->ring);
        free(b);
        wk_err_set(err, WK_E_NOMEM, "out of memory for the base ring");
        return NULL;
    }
    b->fn = producer;
    b->ctx = ctx;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pthread_create(&b->th, NULL, producer_main, b) != 0) {
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->mu);
        free(b->label);
        free(b->ring);
        free(b);
        wk_err_set(err, WK_E_INTERNAL, "cannot start the base producer thread");
        return NULL;
    }
    return b;
}

int wk_xorbase_read(wk_xorbase *b, uint8_t *buf, size_t n, size_t *got, wk_err *err)
{
    size_t have = 0;
    while (have < n) {
        pthread_mutex_lock(&b->mu);
        while (b->head == b->tail && !b->done) pthread_cond_wait(&b->cv, &b->mu);
        if (b->head == b->tail) {  /* producer done and everything read */
            int failed = b->failed;
            if (failed) *err = b->perr;
            pthread_mutex_unlock(&b->mu);
            *got = have;
            return failed ? -1 : 0;
        }
        size_t at = (size_t)(b->tail % b->cap);
        size_t avail = (size_t)(b->head - b->tail);
        pthread_mutex_unlock(&b->mu);
        size_t k = n - have < avail ? n - have : avail;
        if (k > b->cap - at) k = b->cap - at;
        memcpy(buf + have, b->ring + at, k);
        pthread_mutex_lock(&b->mu);
        b->tail += k;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
        have += k;
    }
    *got = have;
    return 0;
}

uint64_t wk_xorbase_pos(const wk_xorbase *b)
{
    return b->tail;
}

void wk_xorbase_close(wk_xorbase *b)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->cancel = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->th, NULL);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b->ring);
    free(b->label);
    free(b);
}
