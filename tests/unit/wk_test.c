#include "wk_test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

int wk_test_failures, wk_test_passed, wk_test_failed;

void wk_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    wk_test_failures++;
}

void wk_test_run(const char *name, void (*fn)(void))
{
    wk_test_failures = 0;
    fn();
    if (wk_test_failures) {
        wk_test_failed++;
        fprintf(stderr, "not ok - %s (%d checks failed)\n", name, wk_test_failures);
    } else {
        wk_test_passed++;
        printf("ok - %s\n", name);
    }
}

int wk_test_summary(void)
{
    printf("%d passed, %d failed\n", wk_test_passed, wk_test_failed);
    return wk_test_failed ? 1 : 0;
}

const char *wk_test_src(const char *rel)
{
    static char path[4096];
    const char *root = getenv("WK_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/%s", root ? root : ".", rel);
    return path;
}

void wk_test_need_src(const char *prog, const char *rel)
{
    const char *path = wk_test_src(rel);
    if (access(path, R_OK) == 0) return;
    if (!getenv("WK_SOURCE_DIR")) {
        fprintf(stderr, "%s: SKIP: %s not found: run from the source tree or set WK_SOURCE_DIR to it "
                "(ctest sets it)\n", prog, path);
        exit(77);
    }
    fprintf(stderr, "%s: %s not found (WK_SOURCE_DIR is not the source tree?)\n", prog, path);
    exit(1);
}

const char *wk_test_tmpdir(void)
{
    static char dir[4096];
    if (dir[0]) return dir;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/wk-test-XXXXXX", t ? t : "/tmp");
    if (!mkdtemp(dir)) { perror("mkdtemp"); exit(2); }
    return dir;
}
