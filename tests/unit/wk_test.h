/* wk_test.h — a tiny test harness for unit tests.
 *
 * Each test file defines `int main(void)` that calls WK_RUN(fn) for each test
 * and returns wk_test_summary().  CHECK* report file:line and continue; the
 * summary prints "N passed, N failed" and returns non-zero on any failure. */
#ifndef WK_TEST_H
#define WK_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

extern int wk_test_failures;   /* failures in the current test */
extern int wk_test_passed;
extern int wk_test_failed;

void wk_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wk_test_run(const char *name, void (*fn)(void));
int wk_test_summary(void);
/* Path of a file in the source tree (uses $WK_SOURCE_DIR, else ".").  Static buffer. */
const char *wk_test_src(const char *rel);
/* For a test binary that reads the source tree: unless the file rel is there,
 * exit with a message naming it — 77 (skipped) when WK_SOURCE_DIR is unset (run by
 * hand outside ctest, which sets it), else 1. */
void wk_test_need_src(const char *prog, const char *rel);
/* A fresh scratch directory for this test binary (under $TMPDIR). Static buffer. */
const char *wk_test_tmpdir(void);

#define WK_RUN(fn) wk_test_run(#fn, fn)
#define CHECK(c) do { if (!(c)) wk_test_fail(__FILE__, __LINE__, "CHECK(%s)", #c); } while (0)
#define CHECK_MSG(c, ...) do { if (!(c)) wk_test_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define CHECK_EQ_U64(a, b) do { uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); \
    if (a_ != b_) wk_test_fail(__FILE__, __LINE__, "%s == %s: got %" PRIu64 ", expected %" PRIu64, #a, #b, a_, b_); } while (0)
#define CHECK_EQ_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) wk_test_fail(__FILE__, __LINE__, "%s == %s: got \"%s\", expected \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define CHECK_OK(expr, errp) do { if ((expr) != 0) wk_test_fail(__FILE__, __LINE__, "%s failed: %s", #expr, (errp)->msg); } while (0)

#endif
