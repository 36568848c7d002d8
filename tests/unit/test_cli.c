/* Unit tests: wk_threads (parse, apply) and wk_cli (standard options,
 * progress decision, error and version output). */
#include "wk_cli.h"
#include "wk_progress.h"
#include "wk_threads.h"
#include "wk_test.h"

#include <fcntl.h>
#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

static void test_threads_parse(void)
{
    static const struct { const char *s; int want; } good[] = {
        {"1", 1}, {"8", 8}, {"1024", 1024}, {"0", 0}, {"auto", 0}, {"007", 7}};
    static const char *const bad[] = {"1025", "-1", "", "abc", "4x", " 4", "+4",
                                      "99999999999999999999", "Auto"};
    wk_err err;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int n = -5;
        CHECK_OK(wk_threads_parse(good[i].s, &n, &err), &err);
        CHECK_MSG(n == good[i].want, "'%s' -> %d", good[i].s, n);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = -5;
        wk_err_clear(&err);
        CHECK_MSG(wk_threads_parse(bad[i], &n, &err) == -1, "'%s' accepted", bad[i]);
        CHECK(err.code == WK_E_USAGE && n == -5 && strstr(err.msg, bad[i]));
    }
}

static void test_threads_apply(void)
{
    int cores = wk_threads_ncores();
    CHECK(cores >= 1);
    CHECK(wk_threads_apply(0) == cores && omp_get_max_threads() == cores);
    CHECK(wk_threads_apply(3) == 3 && omp_get_max_threads() == 3);
    CHECK(wk_threads_apply(-1) == cores);
}

/* Run wk_cli_std on argv (NULL-terminated) at index *i. */
static int std_at(wk_cli_std_opts *o, char **argv, int *i, int *help, int *version, wk_err *err)
{
    int argc = 0;
    while (argv[argc]) argc++;
    *help = *version = 0;
    wk_err_clear(err);
    return wk_cli_std(o, argc, argv, i, help, version, err);
}

static void test_cli_std_threads(void)
{
    wk_cli_std_opts o;
    wk_err err;
    int h, v, i;
    wk_cli_std_init(&o, "wk-test");
    CHECK(o.threads == 0 && !o.quiet && !o.json && o.progress == -1);
    char *a1[] = {"p", "-j", "4", "x", NULL};
    i = 1;
    CHECK(std_at(&o, a1, &i, &h, &v, &err) == 1 && i == 2 && o.threads == 4);
    char *a2[] = {"p", "-j12", "--threads=auto", "--threads", "16", NULL};
    i = 1;
    CHECK(std_at(&o, a2, &i, &h, &v, &err) == 1 && i == 1 && o.threads == 12);
    i = 2;
    CHECK(std_at(&o, a2, &i, &h, &v, &err) == 1 && i == 2 && o.threads == 0);
    i = 3;
    CHECK(std_at(&o, a2, &i, &h, &v, &err) == 1 && i == 4 && o.threads == 16);
    char *a3[] = {"p", "-j", NULL};
    i = 1;
    CHECK(std_at(&o, a3, &i, &h, &v, &err) == -1 && err.code == WK_E_USAGE);
    CHECK(strstr(err.msg, "-j") != NULL);
    char *a4[] = {"p", "--threads", "zz", "-j0x", NULL};
    i = 1;
    CHECK(std_at(&o, a4, &i, &h, &v, &err) == -1 && err.code == WK_E_USAGE && strstr(err.msg, "zz"));
    i = 3;
    CHECK(std_at(&o, a4, &i, &h, &v, &err) == -1 && err.code == WK_E_USAGE);
    CHECK(o.threads == 16);   /* failed parses leave the setting alone */
}

static void test_cli_std_flags(void)
{
    wk_cli_std_opts o;
    wk_err err;
    int h, v, i;
    wk_cli_std_init(&o, "wk-test");
    char *a[] = {"p", "-q", "--json", "--progress", "--no-progress", "-h", "--help",
                 "-V", "--version", "in.pth", "--", "-x", "--jobs", "--quiet=1", "-json", NULL};
    for (i = 1; i <= 4; i++) CHECK(std_at(&o, a, &i, &h, &v, &err) == 1 && !h && !v);
    CHECK(o.quiet && o.json && o.progress == 0);
    for (i = 5; i <= 6; i++) CHECK(std_at(&o, a, &i, &h, &v, &err) == 1 && h && !v);
    for (i = 7; i <= 8; i++) CHECK(std_at(&o, a, &i, &h, &v, &err) == 1 && !h && v);
    for (i = 9; i < 14; i++) {
        int at = i;
        CHECK_MSG(std_at(&o, a, &i, &h, &v, &err) == 0 && i == at, "'%s' consumed", a[at]);
    }
    /* "-json" reads as -j with the value "son", as getopt would: a bad value. */
    CHECK(std_at(&o, a, &i, &h, &v, &err) == -1 && strstr(err.msg, "'son'"));
}

static void test_want_progress(void)
{
    wk_cli_std_opts o;
    wk_cli_std_init(&o, "wk-test");
    o.progress = 1; o.quiet = 1;
    CHECK(wk_cli_want_progress(&o) == 1);   /* explicit --progress wins */
    o.progress = 0; o.quiet = 0;
    CHECK(wk_cli_want_progress(&o) == 0);
    o.progress = -1; o.quiet = 1;
    CHECK(wk_cli_want_progress(&o) == 0);
    o.quiet = 0;
    CHECK(wk_cli_want_progress(&o) == isatty(2));
}

/* Run fn with file descriptor fd redirected to a file; its text, malloc'd. */
static char *capture(int fd, void (*fn)(void *), void *arg)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/capture", wk_test_tmpdir());
    fflush(NULL);
    int saved = dup(fd), f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    dup2(f, fd);
    fn(arg);
    fflush(NULL);
    dup2(saved, fd);
    close(saved);
    char *text = calloc(1, 4096);
    if (text && pread(f, text, 4095, 0) < 0) text[0] = '\0';
    close(f);
    unlink(path);
    return text;
}

typedef struct { wk_err err; int status; } fail_case;

static void run_fail(void *arg)
{
    fail_case *c = arg;
    c->status = wk_cli_fail("wk-test", &c->err);
}

static void test_cli_fail(void)
{
    fail_case c;
    wk_err_set(&c.err, WK_E_FORMAT, "a.pth: bad zip at offset %d", 42);
    char *text = capture(2, run_fail, &c);
    CHECK_EQ_STR(text, "wk-test: error: a.pth: bad zip at offset 42\n");
    CHECK(c.status == 1);
    free(text);
    wk_err_set(&c.err, WK_E_USAGE, "unknown option -z");
    free(capture(2, run_fail, &c));
    CHECK(c.status == 2);
    wk_err_set(&c.err, WK_E_MISMATCH, "sha256 differs");
    free(capture(2, run_fail, &c));
    CHECK(c.status == 3);
}

static void run_version(void *arg) { wk_cli_print_version(arg); }

static void test_print_version(void)
{
    char *text = capture(1, run_version, "wk-test");
    CHECK(text && strncmp(text, "wk-test (weightkit) " WK_VERSION_STRING "\n",
                          strlen("wk-test (weightkit) " WK_VERSION_STRING "\n")) == 0);
    CHECK(text && strstr(text, "zlib ") && strstr(text, "OpenSSL ") && strstr(text, "libzip ")
          && strstr(text, "xxhash 0."));
    free(text);
}

/* A disabled bar prints nothing at all; an enabled one ends its line. */
static void run_progress(void *arg)
{
    wk_progress *p = wk_progress_new("convert", 1 << 20, *(int *)arg);
    for (uint64_t i = 0; i <= 1 << 20; i += 4096) wk_progress_update(p, i);
    wk_progress_cb(p, 10, 0);
    wk_progress_set_label(p, "done");
    wk_progress_finish(p);
    wk_progress_finish(NULL);
}

static void test_progress(void)
{
    int enabled = 0;
    char *text = capture(2, run_progress, &enabled);
    CHECK_EQ_STR(text, "");
    free(text);
    enabled = 1;
    text = capture(2, run_progress, &enabled);
    CHECK(text && text[0] == '\r' && strstr(text, "convert") && strstr(text, "done  10 B"));
    CHECK(text && text[strlen(text) - 1] == '\n' && strstr(text, "1.0 MiB") && strstr(text, "%"));
    free(text);
}

int main(void)
{
    WK_RUN(test_threads_parse);
    WK_RUN(test_threads_apply);
    WK_RUN(test_cli_std_threads);
    WK_RUN(test_cli_std_flags);
    WK_RUN(test_want_progress);
    WK_RUN(test_cli_fail);
    WK_RUN(test_print_version);
    WK_RUN(test_progress);
    rmdir(wk_test_tmpdir());
    return wk_test_summary();
}
