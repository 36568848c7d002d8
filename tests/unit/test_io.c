/* Unit tests: wk_io — maps, atomic output files and directories, refusal to
 * overwrite inputs, and the signal-cleanup registry (a forked child killed
 * with SIGTERM/SIGINT must leave neither temporary nor final files). */
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_sink.h"
#include "wk_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fresh subdirectory of the test scratch dir; static buffer. */
static const char *scratch(const char *name)
{
    static char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", wk_test_tmpdir(), name) >= (int)sizeof path) abort();
    mkdir(path, 0777);
    return path;
}

/* dir/name in a static rotating buffer (up to 4 live at once). */
static const char *at(const char *dir, const char *name)
{
    static char bufs[4][4096];
    static int k;
    char *p = bufs[k++ & 3];
    if (snprintf(p, 4096, "%s/%s", dir, name) >= 4096) abort();
    return p;
}

/* Number of entries in dir other than . and ..; -1 if it cannot be opened. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Whole file into a malloc'd buffer (NUL-terminated); NULL if missing. */
static char *read_file(const char *path, size_t *n)
{
    wk_map m;
    wk_err err;
    if (wk_map_open(&m, path, &err) != 0) return NULL;
    char *s = malloc(m.size + 1);
    if (s) { if (m.size) memcpy(s, m.data, m.size); s[m.size] = '\0'; }
    *n = m.size;
    wk_map_close(&m);
    return s;
}

static mode_t get_umask(void) { mode_t u = umask(022); umask(u); return u; }

static void test_map(void)
{
    const char *dir = scratch("map");
    wk_map m;
    wk_err err;
    write_file(at(dir, "a"), "hello map");
    CHECK_OK(wk_map_open(&m, at(dir, "a"), &err), &err);
    CHECK(m.size == 9 && m.data && memcmp(m.data, "hello map", 9) == 0);
    CHECK_EQ_STR(m.path, at(dir, "a"));
    wk_map_close(&m);
    CHECK(m.data == NULL && m.path == NULL);
    write_file(at(dir, "empty"), "");
    CHECK_OK(wk_map_open(&m, at(dir, "empty"), &err), &err);
    CHECK(m.size == 0 && m.data == NULL);
    wk_map_close(&m);
    CHECK(wk_map_open(&m, at(dir, "missing"), &err) == -1);
    CHECK(err.code == WK_E_IO && strstr(err.msg, "missing") && strstr(err.msg, "No such file"));
    CHECK(wk_map_open(&m, dir, &err) == -1 && strstr(err.msg, "directory"));
    wk_map_close(&m);
}

static void test_path_join(void)
{
    char *s = wk_path_join("a/b", "c");
    CHECK_EQ_STR(s, "a/b/c");
    free(s);
    s = wk_path_join("a/", "c");
    CHECK_EQ_STR(s, "a/c");
    free(s);
    s = wk_path_join("", "c");
    CHECK_EQ_STR(s, "c");
    free(s);
}

/* Write a recognisable pattern through o: small writes, a write larger
 * than the buffer, and zero runs crossing buffer boundaries. */
static uint64_t write_pattern(wk_out *o, wk_err *err)
{
    static uint8_t big[3 << 20];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 31 + 7);
    CHECK_OK(wk_out_write(o, "head", 4, err), err);
    CHECK_OK(wk_out_zeros(o, 1000, err), err);
    CHECK_OK(wk_out_write(o, big, sizeof big, err), err);       /* straight through */
    CHECK_OK(wk_out_write(o, big, (1 << 20) - 3, err), err);    /* fills the buffer */
    CHECK_OK(wk_out_zeros(o, (5u << 20) + 17, err), err);       /* crosses flushes */
    CHECK_OK(wk_out_write(o, "tail", 4, err), err);
    return 4 + 1000 + sizeof big + (1 << 20) - 3 + (5u << 20) + 17 + 4;
}

static void test_out_commit(void)
{
    const char *dir = scratch("commit");
    wk_err err;
    wk_out *o = wk_out_open(at(dir, "out.bin"), NULL, &err);
    CHECK_MSG(o != NULL, "open: %s", err.msg);
    if (!o) return;
    uint64_t n = write_pattern(o, &err);
    CHECK_EQ_U64(wk_out_tell(o), n);
    CHECK_EQ_STR(wk_out_final_path(o), at(dir, "out.bin"));
    CHECK(access(at(dir, "out.bin"), F_OK) != 0);  /* nothing at the final name yet */
    CHECK(count_entries(dir) == 1);                /* just the temporary */
    CHECK_OK(wk_out_commit(o, &err), &err);
    CHECK(count_entries(dir) == 1);                /* temporary renamed away */
    size_t size = 0;
    char *data = read_file(at(dir, "out.bin"), &size);
    CHECK(data && size == n && memcmp(data, "head", 4) == 0 && memcmp(data + n - 4, "tail", 4) == 0);
    CHECK(data && data[4] == 0 && data[1003] == 0 && (uint8_t)data[1004] == 7);
    CHECK(data && data[1004 + (3 << 20) + (1 << 20) - 3] == 0 && data[n - 5] == 0);
    struct stat st;
    CHECK(stat(at(dir, "out.bin"), &st) == 0 && (st.st_mode & 0777) == (0666 & ~get_umask()));
    free(data);
}

static void test_out_abort(void)
{
    const char *dir = scratch("abort");
    wk_err err;
    wk_out *o = wk_out_open(at(dir, "out.bin"), NULL, &err);
    CHECK(o != NULL);
    if (o) write_pattern(o, &err);
    CHECK(count_entries(dir) == 1);
    wk_out_abort(o);
    CHECK(count_entries(dir) == 0);
    wk_out_abort(NULL);
    o = wk_out_open(at(dir, "nodir/out.bin"), NULL, &err);
    CHECK(o == NULL && err.code == WK_E_IO && strstr(err.msg, "nodir/out.bin"));
    o = wk_out_open(dir, NULL, &err);
    CHECK(o == NULL && strstr(err.msg, "is a directory"));
}

/* Replacing an existing (non-input) file gives the new file 0666 & ~umask,
 * never the replaced file's bits (a setuid 4755 file must not pass its bits
 * on: issue #24 item 8). */
static void test_out_replace(void)
{
    const char *dir = scratch("replace");
    wk_err err;
    write_file(at(dir, "old"), "old contents");
    chmod(at(dir, "old"), 04755);
    mode_t um = umask(022);
    wk_out *o = wk_out_open(at(dir, "old"), NULL, &err);
    CHECK(o != NULL);
    if (!o) { umask(um); return; }
    CHECK_OK(wk_out_write(o, "new", 3, &err), &err);
    CHECK_OK(wk_out_commit(o, &err), &err);
    umask(um);
    size_t n;
    char *s = read_file(at(dir, "old"), &n);
    CHECK_EQ_STR(s, "new");
    free(s);
    struct stat st;
    CHECK(stat(at(dir, "old"), &st) == 0 && (st.st_mode & 07777) == 0644);
}

/* A set of the NULL-terminated paths (each must exist, else it is skipped). */
static wk_inputs *set_of(const char *const *paths)
{
    wk_err err;
    wk_inputs *s = wk_inputs_new(&err);
    for (size_t i = 0; s && paths[i]; i++) wk_inputs_add(s, paths[i], &err);
    return s;
}

static void expect_refused(const char *final_path, const char *const *inputs)
{
    wk_err err;
    wk_err_clear(&err);
    wk_inputs *in = set_of(inputs);
    wk_out *o = wk_out_open(final_path, in, &err);
    CHECK_MSG(o == NULL && err.code == WK_E_UNSAFE, "%s not refused (%s)", final_path, err.msg);
    wk_out_abort(o);
    wk_inputs_free(in);
}

static void test_out_refuses_input(void)
{
    const char *dir = scratch("unsafe");
    wk_err err;
    write_file(at(dir, "in.bin"), "precious");
    CHECK(symlink("in.bin", at(dir, "link")) == 0);
    CHECK(link(at(dir, "in.bin"), at(dir, "hard")) == 0);
    const char *inputs[] = {at(dir, "other"), at(dir, "in.bin"), NULL};
    expect_refused(at(dir, "in.bin"), inputs);
    expect_refused(at(dir, "link"), inputs);     /* symlink to the input */
    expect_refused(at(dir, "hard"), inputs);     /* hard link to the input */
    const char *via_link[] = {at(dir, "link"), NULL};
    expect_refused(at(dir, "in.bin"), via_link); /* input named through a symlink */
    size_t n;
    char *s = read_file(at(dir, "in.bin"), &n);
    CHECK_EQ_STR(s, "precious");
    free(s);
    CHECK(count_entries(dir) == 3);              /* no temporaries left behind */
    wk_inputs *in = set_of(inputs);
    wk_out *o = wk_out_open(at(dir, "fresh"), in, &err); /* other names are fine */
    CHECK(o != NULL);
    wk_out_abort(o);
    wk_inputs_free(in);
}

/* An input whose mtime, size or inode changes between open and commit makes
 * the commit fail, naming it, and leaves no output (issue #24 item 5). */
static void test_out_input_changed(void)
{
    const char *dir = scratch("changed");
    wk_err err;
    static const char *const how[] = {"touch", "append", "replace"};
    for (int k = 0; k < 3; k++) {
        write_file(at(dir, "in.bin"), "version 1");
        struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
        CHECK(utimensat(AT_FDCWD, at(dir, "in.bin"), old, 0) == 0);
        const char *paths[] = {at(dir, "in.bin"), NULL};
        wk_inputs *in = set_of(paths);
        CHECK(wk_inputs_count(in) == 1);
        CHECK_OK(wk_inputs_unchanged(in, &err), &err);
        wk_out *o = wk_out_open(at(dir, "out.bin"), in, &err);
        CHECK(o != NULL);
        if (!o) { wk_inputs_free(in); return; }
        CHECK_OK(wk_out_write(o, "x", 1, &err), &err);
        if (k == 0) CHECK(utimensat(AT_FDCWD, at(dir, "in.bin"), NULL, 0) == 0);
        if (k == 1) write_file(at(dir, "in.bin"), "version 2, longer");
        if (k == 2) { write_file(at(dir, "new.bin"), "version 1");
                      CHECK(utimensat(AT_FDCWD, at(dir, "new.bin"), old, 0) == 0);
                      CHECK(rename(at(dir, "new.bin"), at(dir, "in.bin")) == 0); }
        CHECK_MSG(wk_out_commit(o, &err) != 0, "commit after %s succeeded", how[k]);
        CHECK_MSG(strstr(err.msg, "in.bin: changed while being read") != NULL, "%s", err.msg);
        CHECK(access(at(dir, "out.bin"), F_OK) != 0);
        CHECK(count_entries(dir) == 1);           /* temporary removed too */
        wk_inputs_free(in);
    }
}

/* A temporary of a dead run (no lock, its pid gone) is removed by the sweep;
 * one locked by a live holder is left alone (issue #24 item 16). */
static void test_sweep_stale(void)
{
    const char *dir = scratch("stale");
    wk_err err;
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    char name[128];
    snprintf(name, sizeof name, ".out.gguf.wk-tmp.%ld.AbC123", (long)dead);
    write_file(at(dir, name), "stale");
    write_file(at(dir, ".other.gguf.wk-tmp.1.AbC123"), "not ours");
    wk_out *live = wk_out_open(at(dir, "out.gguf"), NULL, &err);  /* locked by us */
    CHECK(live != NULL);
    CHECK_OK(wk_io_sweep_stale(at(dir, "out.gguf"), NULL, NULL, &err), &err);
    CHECK(access(at(dir, name), F_OK) != 0);
    CHECK(access(at(dir, ".other.gguf.wk-tmp.1.AbC123"), F_OK) == 0);
    CHECK(count_entries(dir) == 2);               /* the live temporary stays */
    wk_out_abort(live);
}

/* Fill an output directory: two files via wk_out, a subdirectory, and a
 * symlink to `outside` (which removal must not follow). */
static void fill_outdir(wk_outdir *d, const char *outside)
{
    wk_err err;
    const char *names[] = {"a.bin", "b.bin"};
    for (int i = 0; i < 2; i++) {
        char *p = wk_path_join(wk_outdir_path(d), names[i]);
        wk_out *o = wk_out_open(p, NULL, &err);
        CHECK(o != NULL);
        if (o) { wk_out_write(o, names[i], 5, &err); CHECK_OK(wk_out_commit(o, &err), &err); }
        free(p);
    }
    const char *tmp = wk_outdir_path(d);
    CHECK(mkdir(at(tmp, "sub"), 0777) == 0);
    write_file(at(tmp, "sub/c"), "c");
    CHECK(symlink(outside, at(tmp, "sub/escape")) == 0);
    CHECK(symlink("..", at(tmp, "sub/up")) == 0);
}

static void test_outdir(void)
{
    const char *dir = scratch("outdir");
    wk_err err;
    write_file(at(dir, "keep"), "keep me");
    wk_outdir *d = wk_outdir_open(at(dir, "model"), NULL, &err);
    CHECK_MSG(d != NULL, "open: %s", err.msg);
    if (!d) return;
    CHECK(strstr(wk_outdir_path(d), "/.model.wk-tmp.") != NULL);
    fill_outdir(d, at(dir, "keep"));
    wk_outdir_abort(d);
    CHECK(count_entries(dir) == 1);               /* only "keep" */
    CHECK(access(at(dir, "keep"), F_OK) == 0);
    wk_outdir_abort(NULL);

    CHECK(mkdir(at(dir, "model"), 0777) == 0);    /* an empty final dir is replaced */
    d = wk_outdir_open(at(dir, "model/"), NULL, &err);
    CHECK(d != NULL);
    if (!d) return;
    fill_outdir(d, at(dir, "keep"));
    CHECK(access(at(dir, "model/a.bin"), F_OK) != 0);
    CHECK_OK(wk_outdir_commit(d, &err), &err);
    CHECK(count_entries(dir) == 2);
    CHECK(count_entries(at(dir, "model")) == 3);  /* a.bin b.bin sub */
    size_t n;
    char *s = read_file(at(dir, "model/b.bin"), &n);
    CHECK_EQ_STR(s, "b.bin");
    free(s);
    d = wk_outdir_open(at(dir, "model"), NULL, &err);   /* now not empty: refused */
    CHECK(d == NULL && strstr(err.msg, "not empty"));
    d = wk_outdir_open(at(dir, "keep"), NULL, &err);
    CHECK(d == NULL && strstr(err.msg, "not a directory"));
}

/* Child: outputs in dir, then tell the parent (one byte on fd) and wait. */
static void child_writes_and_waits(const char *dir, int fd)
{
    wk_err err;
    wk_io_install_signal_cleanup();
    wk_out *o = wk_out_open(at(dir, "final.bin"), NULL, &err);
    wk_outdir *d = wk_outdir_open(at(dir, "final.dir"), NULL, &err);
    if (!o || !d) _exit(3);
    static uint8_t chunk[1 << 16];
    for (int i = 0; i < 40; i++) wk_out_write(o, chunk, sizeof chunk, &err);
    char *p = wk_path_join(wk_outdir_path(d), "inside.bin");
    wk_out *in = wk_out_open(p, NULL, &err);
    if (!in || wk_out_write(in, "x", 1, &err) || wk_out_commit(in, &err)) _exit(4);
    wk_out *pending = wk_out_open(p, NULL, &err); /* an uncommitted file inside */
    if (!pending || write(fd, "r", 1) != 1) _exit(5);
    for (;;) pause();
}

static void signal_case(int sig)
{
    char name[32];
    snprintf(name, sizeof name, "signal%d", sig);
    const char *dir = scratch(name);
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { close(fds[0]); child_writes_and_waits(dir, fds[1]); }
    close(fds[1]);
    char c;
    CHECK(read(fds[0], &c, 1) == 1);
    close(fds[0]);
    CHECK(count_entries(dir) == 2);               /* temp file + temp dir exist */
    kill(pid, sig);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == sig, "child status 0x%x", status);
    CHECK_MSG(count_entries(dir) == 0, "%d entries left in %s", count_entries(dir), dir);
}

/* ---- wk_out_copy_fd ---- */

/* A source file of n pattern bytes (byte k = k*131 + k/251, mod 256); the
 * bytes are also returned (malloc'd). */
static uint8_t *make_source(const char *path, size_t n)
{
    uint8_t *b = malloc(n);
    CHECK(b != NULL);
    if (!b) return NULL;
    for (size_t k = 0; k < n; k++) b[k] = (uint8_t)(k * 131u + k / 251u);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL && fwrite(b, 1, n, f) == n);
    if (f) fclose(f);
    return b;
}

/* A sink over an output that copies the bytes it recognises as src's (the
 * map of fd) with wk_out_copy_fd, as wk_src_out_sink does. */
typedef struct {
    wk_out *o;
    int fd;
    const uint8_t *src;
} copy_sink;

static int copy_sink_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    const copy_sink *c = ctx;
    const uint8_t *b = p;
    if (n > 2 && b >= c->src) return wk_out_copy_fd(c->o, c->fd, (uint64_t)(b - c->src), n, p, err);
    return wk_out_write(c->o, p, n, err);
}

/* Output = "hd" + src[off1..off1+n1) + src[off2..off2+n2) + "tl", built with
 * wk_out_copy_fd from fd (bytes passed when with_bytes), or with tee through a
 * sink with a SHA-256 tee whose callback copies the same way (bytes passed);
 * checked byte for byte (and the tee's digest). */
static void copy_case(const char *dir, const char *name, int fd, const uint8_t *src, uint64_t off1,
                      uint64_t n1, uint64_t off2, uint64_t n2, int with_bytes, int tee)
{
    wk_err err;
    wk_out *o = wk_out_open(at(dir, name), NULL, &err);
    CHECK_MSG(o != NULL, "open: %s", err.msg);
    if (!o) return;
    wk_hash *h = tee ? wk_hash_create(WK_HASH_SHA256, &err) : NULL;
    if (h) {
        copy_sink cs = {o, fd, src};
        wk_sink s;
        wk_sink_init(&s, copy_sink_write, &cs);
        wk_sink_tee(&s, h);
        CHECK_OK(wk_sink_write(&s, "hd", 2, &err), &err);
        CHECK_OK(wk_sink_write(&s, src + off1, n1, &err), &err);
        CHECK_OK(wk_sink_write(&s, src + off2, n2, &err), &err);
        CHECK_OK(wk_sink_write(&s, "tl", 2, &err), &err);
        CHECK_EQ_U64(wk_sink_count(&s), 4 + n1 + n2);
    } else {
        CHECK_OK(wk_out_write(o, "hd", 2, &err), &err);
        CHECK_OK(wk_out_copy_fd(o, fd, off1, n1, with_bytes ? src + off1 : NULL, &err), &err);
        CHECK_OK(wk_out_copy_fd(o, fd, off2, n2, with_bytes ? src + off2 : NULL, &err), &err);
        CHECK_OK(wk_out_write(o, "tl", 2, &err), &err);
    }
    CHECK_EQ_U64(wk_out_tell(o), 4 + n1 + n2);
    CHECK_OK(wk_out_commit(o, &err), &err);
    size_t size = 0;
    char *data = read_file(at(dir, name), &size);
    CHECK_MSG(data && size == 4 + n1 + n2, "%s: %zu bytes", name, size);
    if (data && size == 4 + n1 + n2) {
        CHECK(memcmp(data, "hd", 2) == 0 && memcmp(data + 2 + n1 + n2, "tl", 2) == 0);
        CHECK_MSG(memcmp(data + 2, src + off1, n1) == 0, "%s: first range differs", name);
        CHECK_MSG(memcmp(data + 2 + n1, src + off2, n2) == 0, "%s: second range differs", name);
    }
    if (h && data) {
        uint8_t d1[WK_HASH_MAX_DIGEST], d2[WK_HASH_MAX_DIGEST];
        CHECK_OK(wk_hash_digest(h, d1, &err), &err);
        CHECK_OK(wk_hash_oneshot(WK_HASH_SHA256, data, size, d2, &err), &err);
        CHECK_MSG(memcmp(d1, d2, 32) == 0, "%s: the tee did not see the copied bytes", name);
    }
    free(data);
    wk_hash_free(h);
}

static void test_out_copy_fd(void)
{
    const char *dir = scratch("copyfd");
    size_t n = (3u << 20) + 4097;           /* > the 1 MiB buffer, odd size */
    uint8_t *src = make_source(at(dir, "src.bin"), n);
    int fd = open(at(dir, "src.bin"), O_RDONLY);
    CHECK(fd >= 0 && src);
    if (fd < 0 || !src) { free(src); return; }
    /* same filesystem (copy_file_range), with and without bytes, through a sink with a tee */
    copy_case(dir, "a.bin", fd, src, 5, n - 5, 0, 3, 0, 0);
    copy_case(dir, "b.bin", fd, src, 4096, 1u << 20, 17, 100000, 1, 0);
    copy_case(dir, "c.bin", fd, src, 1, n - 1, 2, 0, 1, 1);
    copy_case(dir, "d.bin", fd, src, 0, n, 9, 5, 1, 1);
    /* source and output offsets equal modulo 2 MiB: the kernel copies although bytes are given
     * (misaligned ranges above are written from the bytes) */
    copy_case(dir, "h.bin", fd, src, 2, 1u << 20, 2 + (1u << 20), 100000, 1, 1);
    copy_case(dir, "i.bin", fd, src, 2, n - 2, 0, 0, 1, 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);     /* the source's own position is untouched */
    /* a memfd (tmpfs) source: the kernel refuses across filesystems (EXDEV),
     * the fallback (pread, or the bytes) must give the same result */
    int mfd = memfd_create("wk-test-copy", 0);
    if (mfd >= 0 && write(mfd, src, n) == (ssize_t)n) {
        copy_case(dir, "e.bin", mfd, src, 3, n - 3, 0, 1, 0, 0);
        copy_case(dir, "f.bin", mfd, src, 3, n - 3, 0, 1, 1, 0);
        copy_case(dir, "g.bin", mfd, src, 1000, 70000, 0, n, 1, 1);
    }
    if (mfd >= 0) close(mfd);
    /* a range past the end of the source: WK_E_IO, the commit fails too */
    wk_err err;
    wk_out *o = wk_out_open(at(dir, "short.bin"), NULL, &err);
    CHECK(o != NULL);
    if (o) {
        int rc = wk_out_copy_fd(o, fd, n - 10, 20, NULL, &err);
        CHECK_MSG(rc == -1 && err.code == WK_E_IO && strstr(err.msg, "short.bin"), "short copy: %d %s", rc,
                  err.msg);
        CHECK(wk_out_commit(o, &err) == -1);
        CHECK(access(at(dir, "short.bin"), F_OK) != 0);
    }
    o = wk_out_open(at(dir, "huge.bin"), NULL, &err);
    if (o) {
        CHECK(wk_out_copy_fd(o, fd, UINT64_MAX - 5, 10, NULL, &err) == -1 && err.code == WK_E_LIMIT);
        wk_out_abort(o);
    }
    close(fd);
    free(src);
}

static void test_signal_cleanup(void)
{
    signal_case(SIGTERM);
    signal_case(SIGINT);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

int main(void)
{
    WK_RUN(test_map);
    WK_RUN(test_path_join);
    WK_RUN(test_out_commit);
    WK_RUN(test_out_abort);
    WK_RUN(test_out_replace);
    WK_RUN(test_out_refuses_input);
    WK_RUN(test_out_input_changed);
    WK_RUN(test_sweep_stale);
    WK_RUN(test_outdir);
    WK_RUN(test_out_copy_fd);
    WK_RUN(test_signal_cleanup);
    int rc = wk_test_summary();
    if (rc == 0) nftw(wk_test_tmpdir(), rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
