/* wk_err.h — the one error type of weightkit.
 *
 * Every library function that can fail takes a `wk_err *err` as its last
 * argument and returns an int: 0 on success, -1 on failure with *err filled.
 * (Functions returning pointers return NULL on failure.)  The message is
 * written once, where the problem is found, and names the file, tensor or
 * byte offset.  Callers higher up may prepend context with wk_err_prefix().
 * The library never prints and never exits; the tool prints err->msg once.
 * `err` may be NULL, in which case the message is dropped. */
#ifndef WK_ERR_H
#define WK_ERR_H

#include <stdarg.h>

typedef enum {
    WK_OK = 0,
    WK_E_IO,          /* open/read/write/rename/fsync failed (errno text in msg) */
    WK_E_NOMEM,       /* allocation failed */
    WK_E_FORMAT,      /* input is malformed */
    WK_E_UNSUPPORTED, /* valid but not handled (dtype, version, compression) */
    WK_E_LIMIT,       /* a size or count exceeds a documented limit */
    WK_E_UNSAFE,      /* refused for safety (pickle global, path traversal, overwrite of input) */
    WK_E_MISMATCH,    /* digest or size differs from what was expected */
    WK_E_USAGE,       /* bad arguments */
    WK_E_INTERRUPTED, /* stopped by a signal */
    WK_E_INTERNAL     /* a bug: an invariant did not hold */
} wk_code;

#define WK_ERR_MSG_MAX 1024

typedef struct {
    wk_code code;
    char msg[WK_ERR_MSG_MAX];
} wk_err;

/* Clear *err to WK_OK and an empty message. */
void wk_err_clear(wk_err *err);

/* Fill *err with code and a printf-style message; always returns -1 so that
 * `return wk_err_set(err, WK_E_FORMAT, "...")` reads naturally. */
int wk_err_set(wk_err *err, wk_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like wk_err_set, appending ": <strerror(errnum)>". Returns -1. */
int wk_err_errno(wk_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "<context>: " to an already set message (code unchanged). Returns -1. */
int wk_err_prefix(wk_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Short stable name of a code, e.g. "format error". */
const char *wk_err_code_name(wk_code code);

/* Exit status a tool should use for an error code (never 0). */
int wk_err_exit_status(wk_code code);

/* The one error-propagation idiom, in the spirit of zstd's RETURN_ERROR_IF /
 * FORWARD_IF_ERROR.  A function without resources to release returns at once:
 *
 *     WK_FAIL_IF(n > max, err, WK_E_LIMIT, "%s: %zu entries", path, n);
 *     WK_TRY(parse_header(c, err));
 *
 * A function that owns resources has a single cleanup label and an `rc` that
 * starts at -1 and becomes 0 only on the success path:
 *
 *     int rc = -1;
 *     WK_TRY_GOTO(open_it(..., err), done);
 *     WK_FAIL_GOTO(bad, done, err, WK_E_FORMAT, "%s: ...", path);
 *     rc = 0;
 * done:
 *     release(...);
 *     return rc;
 *
 * Module-local variants (FAIL_AT, `if (!rc) rc = ...` chains) are not used. */
#define WK_FAIL_IF(cond, err, code, ...) \
    do { if (cond) return wk_err_set((err), (code), __VA_ARGS__); } while (0)
#define WK_TRY(expr) \
    do { if ((expr) != 0) return -1; } while (0)
#define WK_FAIL_GOTO(cond, label, err, code, ...) \
    do { if (cond) { wk_err_set((err), (code), __VA_ARGS__); goto label; } } while (0)
#define WK_TRY_GOTO(expr, label) \
    do { if ((expr) != 0) goto label; } while (0)

#endif
