/* wk_sink.c — the memory and null sinks (see wk_sink.h). */
#include "wk_sink.h"

static int buf_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    wk_buf *b = ctx;
    if (n) wk_buf_put(b, p, n);
    return wk_buf_check(b, err);
}

wk_sink wk_sink_buf(wk_buf *b)
{
    wk_sink s = {buf_write, b};
    return s;
}

static int null_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    (void)p;
    (void)err;
    if (ctx) *(uint64_t *)ctx += n;
    return 0;
}

wk_sink wk_sink_null(uint64_t *counter)
{
    wk_sink s = {null_write, counter};
    return s;
}
