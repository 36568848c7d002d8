#include "wk_err.h"

#include <stdio.h>
#include <errno.h>
#include <string.h>

void wk_err_clear(wk_err *err)
{
    if (!err) return;
    err->code = WK_OK;
    err->msg[0] = '\0';
}

int wk_err_set(wk_err *err, wk_code code, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int wk_err_errno(wk_err *err, int errnum, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    err->code = errnum == ENOMEM ? WK_E_NOMEM : WK_E_IO;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
    return -1;
}

int wk_err_prefix(wk_err *err, const char *fmt, ...)
{
    if (!err) return -1;
    char head[WK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head, sizeof head - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    size_t hl = strlen(head);
    memcpy(head + hl, ": ", 3);
    hl += 2;
    size_t ml = strlen(err->msg);
    if (hl + ml >= sizeof err->msg) ml = sizeof err->msg - 1 - hl;
    memmove(err->msg + hl, err->msg, ml);
    memcpy(err->msg, head, hl);
    err->msg[hl + ml] = '\0';
    return -1;
}

const char *wk_err_code_name(wk_code code)
{
    switch (code) {
    case WK_OK: return "ok";
    case WK_E_IO: return "I/O error";
    case WK_E_NOMEM: return "out of memory";
    case WK_E_FORMAT: return "format error";
    case WK_E_UNSUPPORTED: return "unsupported";
    case WK_E_LIMIT: return "limit exceeded";
    case WK_E_UNSAFE: return "refused (unsafe)";
    case WK_E_MISMATCH: return "mismatch";
    case WK_E_USAGE: return "usage error";
    case WK_E_INTERRUPTED: return "interrupted";
    case WK_E_INTERNAL: return "internal error";
    }
    return "unknown error";
}

int wk_err_exit_status(wk_code code)
{
    switch (code) {
    case WK_OK: return 0;
    case WK_E_USAGE: return 2;
    case WK_E_MISMATCH: return 3;
    case WK_E_INTERRUPTED: return 130;
    default: return 1;
    }
}
