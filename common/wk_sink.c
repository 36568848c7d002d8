/* wk_sink.c — the byte stream (see wk_sink.h). */
#include "wk_sink.h"

#include <string.h>

void wk_sink_init(wk_sink *s, wk_sink_fn write, void *ctx)
{
    s->write = write;
    s->ctx = ctx;
    s->tee = NULL;
    s->count = 0;
    s->failed = 0;
    wk_err_clear(&s->err);
}

int wk_sink_fail(wk_sink *s, const wk_err *e)
{
    if (!s->failed) {
        s->failed = 1;
        if (e != &s->err) s->err = *e;
    }
    return -1;
}

int wk_sink_status(const wk_sink *s, wk_err *err)
{
    if (!s->failed) return 0;
    if (err && err != &s->err) *err = s->err;
    return -1;
}

int wk_sink_write(wk_sink *s, const void *p, size_t n, wk_err *err)
{
    if (!s->failed) {
        if (!s->write)
            wk_err_set(&s->err, WK_E_INTERNAL, "write to a sink without a callback");
        if (!s->write || s->write(s->ctx, p, n, &s->err) != 0 ||
            (s->tee && n && wk_hash_update(s->tee, p, n, &s->err) != 0))
            s->failed = 1;
        else
            s->count += n;
    }
    return wk_sink_status(s, err);
}

static int null_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    (void)ctx;
    (void)p;
    (void)n;
    (void)err;
    return 0;
}

void wk_sink_null(wk_sink *s)
{
    wk_sink_init(s, null_write, NULL);
}
