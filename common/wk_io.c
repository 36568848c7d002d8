/* wk_io.c — read-only maps, atomic output files and directories, and the
 * signal-cleanup registry (the library's one piece of process-wide state).
 *
 * Registry: a fixed array of slots, each an atomic state plus a path buffer
 * and the pid that registered it.  A slot is reserved with a compare-and-swap
 * (FREE -> BUSY), its path written while BUSY, then published (FILE or DIR)
 * with a release store; the signal handler reads only published slots.  No
 * locks, no allocation, so the handler stays async-signal-safe.  Paths longer
 * than the slot buffer, or more than WK_IO_MAX_LIVE live temporaries, are
 * refused (WK_E_LIMIT) rather than left unprotected. */
#include "wk_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define WK_IO_MAX_LIVE 64          /* live temporary files + directories */
#define WK_IO_PATH_MAX 4096        /* longest temporary path we can protect */
#define WK_OUT_BUF (1u << 20)      /* wk_out write buffer */
#define WK_IO_RELEASE_CHUNK (4u << 20) /* wk_map_digest: bytes hashed between releases */
#define WK_IO_MAX_WRITE (1u << 30) /* largest single pwrite(2) / copy_file_range we issue */
#define WK_IO_PIECE (256u << 10)   /* write(2) pieces: at most this, ending on its multiples in the file */
#define WK_IO_KCOPY_ALIGN (2u << 20) /* kernel copies only between offsets equal modulo this */
#define WK_IO_WRITEBACK (8u << 20)  /* start the disk writing every this many bytes written */
#define WK_RM_MAX_DEPTH 32         /* recursion limit when removing a tree */
#define WK_IO_TMP_TAG ".wk-tmp."   /* ".<name>.wk-tmp.<pid>.XXXXXX" */

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "signal handler needs lock-free atomic int");

/* ==== signal-cleanup registry ============================================ */
enum { SLOT_FREE, SLOT_BUSY, SLOT_FILE, SLOT_DIR };

static struct wk_io_slot {
    atomic_int state;
    pid_t pid;                   /* registering process (children skip it) */
    char path[WK_IO_PATH_MAX];
} g_live[WK_IO_MAX_LIVE];

/* Reserve a free slot (state BUSY); -1 if all are in use. */
static int reg_reserve(void)
{
    for (int i = 0; i < WK_IO_MAX_LIVE; i++) {
        int expect = SLOT_FREE;
        if (atomic_compare_exchange_strong(&g_live[i].state, &expect, SLOT_BUSY))
            return i;
    }
    return -1;
}

/* Fill a reserved slot and make it visible to the handler. */
static void reg_publish(int slot, const char *path, int kind)
{
    struct wk_io_slot *s = &g_live[slot];
    snprintf(s->path, sizeof s->path, "%s", path);
    s->pid = getpid();
    atomic_store_explicit(&s->state, kind, memory_order_release);
}

static void reg_release(int slot)
{
    if (slot >= 0) atomic_store_explicit(&g_live[slot].state, SLOT_FREE, memory_order_release);
}

/* ---- mapped-input registry (for SIGBUS / EFAULT messages) ----------------
 * Every wk_map is listed (base, size, path) so that a fault inside a map can
 * be reported as "<input>: changed while being read: no data at byte N"
 * instead of a bare crash.  Same lock-free publish protocol as g_live; a full
 * table only loses the file name from that message. */
#define WK_IO_MAX_MAPS 256
#define WK_IO_MAP_PATH 1024

static struct wk_io_mapslot {
    atomic_int state;            /* SLOT_FREE, SLOT_BUSY, SLOT_FILE (published) */
    const uint8_t *base;
    size_t size;
    char path[WK_IO_MAP_PATH];   /* truncated if longer: only for messages */
} g_maps[WK_IO_MAX_MAPS];

/* List a new map; its slot + 1 (0 when the table is full). */
static int map_register(const uint8_t *base, size_t size, const char *path)
{
    for (int i = 0; i < WK_IO_MAX_MAPS; i++) {
        int expect = SLOT_FREE;
        if (atomic_compare_exchange_strong(&g_maps[i].state, &expect, SLOT_BUSY)) {
            g_maps[i].base = base;
            g_maps[i].size = size;
            snprintf(g_maps[i].path, sizeof g_maps[i].path, "%s", path);
            atomic_store_explicit(&g_maps[i].state, SLOT_FILE, memory_order_release);
            return i + 1;
        }
    }
    return 0;
}

static void map_unregister(int reg)
{
    if (reg > 0) atomic_store_explicit(&g_maps[reg - 1].state, SLOT_FREE, memory_order_release);
}

/* The published map holding addr, or NULL (async-signal-safe). */
static const struct wk_io_mapslot *map_find(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    for (int i = 0; i < WK_IO_MAX_MAPS; i++) {
        const struct wk_io_mapslot *m = &g_maps[i];
        if (atomic_load_explicit(&m->state, memory_order_acquire) != SLOT_FILE) continue;
        if (a >= (uintptr_t)m->base && a - (uintptr_t)m->base < m->size) return m;
    }
    return NULL;
}

/* Block the cleanup signals in this thread (so a temporary is never created
 * without being registered); restore with sigmask_restore. */
static void sigmask_block(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

static void sigmask_restore(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- async-signal-safe removal (used only by the handler) --------------- */
#ifdef __linux__
/* Remove parent/name and, if it is a directory, everything below it, to a
 * depth of WK_RM_MAX_DEPTH.  Uses only openat/getdents64/unlinkat/close (raw
 * system calls; getdents64 is not on POSIX's list but is a bare syscall
 * wrapper in glibc).  Symlinks are unlinked, never followed. */
static void sig_rm_tree(int parent, const char *name, int depth)
{
    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT || depth > WK_RM_MAX_DEPTH)
        return;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    for (int pass = 0; pass < 3; pass++) {
        _Alignas(8) char buf[1024];
        ssize_t n;
        while ((n = getdents64(fd, buf, sizeof buf)) > 0) {
            for (ssize_t off = 0; off < n;) {
                struct dirent64 *e = (struct dirent64 *)(void *)(buf + off);
                off += e->d_reclen;
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                    sig_rm_tree(fd, e->d_name, depth + 1);
            }
        }
        if (unlinkat(parent, name, AT_REMOVEDIR) == 0) break;
        lseek(fd, 0, SEEK_SET); /* entries added meanwhile: go round again */
    }
    close(fd);
}
#else
/* Without getdents64 the handler can only remove an empty directory. */
static void sig_rm_tree(int parent, const char *name, int depth)
{
    (void)depth;
    if (unlinkat(parent, name, 0) != 0) unlinkat(parent, name, AT_REMOVEDIR);
}
#endif

/* Append the NUL-terminated s to buf[*n..cap) (async-signal-safe). */
static void sig_cat(char *buf, size_t cap, size_t *n, const char *s)
{
    while (*s && *n < cap) buf[(*n)++] = *s++;
}

/* Append "<program>: error: " (async-signal-safe). */
static void sig_error_prefix(char *buf, size_t cap, size_t *n)
{
#ifdef __GLIBC__
    sig_cat(buf, cap, n, program_invocation_short_name);
#else
    sig_cat(buf, cap, n, "weightkit");
#endif
    sig_cat(buf, cap, n, ": error: ");
}

/* Write "<tool>: error: interrupted by SIGx[; unfinished outputs removed]"
 * to stderr with one write(2): the handler's only output, so that the user
 * learns why the run stopped (the library otherwise never prints). */
static void sig_report(int sig, int removed)
{
    char buf[256];
    size_t n = 0;
    sig_error_prefix(buf, sizeof buf, &n);
    sig_cat(buf, sizeof buf, &n, "interrupted by ");
    sig_cat(buf, sizeof buf, &n, sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
    sig_cat(buf, sizeof buf, &n, removed ? "; unfinished outputs removed\n" : "\n");
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
}

/* Handler: remove this process's live temporary files, then its temporary
 * directories (recursively, see sig_rm_tree), say so on stderr (sig_report),
 * then die of the same signal (SA_RESETHAND restored the default action);
 * _exit(128+sig) if that fails. */
/* Remove this process's live temporaries; 1 if there were any. */
static int sig_remove_live(void)
{
    pid_t self = getpid();
    int removed = 0;
    for (int kind = SLOT_FILE; kind <= SLOT_DIR; kind++) {
        for (int i = 0; i < WK_IO_MAX_LIVE; i++) {
            struct wk_io_slot *s = &g_live[i];
            if (atomic_load_explicit(&s->state, memory_order_acquire) != kind || s->pid != self)
                continue;
            if (kind == SLOT_FILE) unlink(s->path);
            else sig_rm_tree(AT_FDCWD, s->path, 0);
            removed = 1;
        }
    }
    return removed;
}

static void wk_io_on_signal(int sig)
{
    int removed = sig_remove_live();
    sig_report(sig, removed);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    raise(sig);
    _exit(128 + sig);
}

/* Append v in decimal (async-signal-safe). */
static void sig_cat_u64(char *buf, size_t cap, size_t *n, uint64_t v)
{
    char d[24];
    int k = 0;
    do { d[k++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (k > 0 && *n < cap) buf[(*n)++] = d[--k];
}

/* SIGBUS: a read of a mapped input faulted, i.e. the file shrank after it was
 * mapped (truncated by another process).  Remove the temporaries, say which
 * input and byte, and exit 1 (an I/O error, like a failed read).  A bus error
 * outside every map is a real crash: re-raised after the cleanup. */
static void wk_io_on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    const struct wk_io_mapslot *m = si ? map_find(si->si_addr) : NULL;
    int removed = sig_remove_live();
    char buf[WK_IO_MAP_PATH + 256];
    size_t n = 0;
    sig_error_prefix(buf, sizeof buf, &n);
    if (m) {
        sig_cat(buf, sizeof buf, &n, m->path);
        sig_cat(buf, sizeof buf, &n, ": changed while being read: no data at byte ");
        sig_cat_u64(buf, sizeof buf, &n, (uint64_t)((uintptr_t)si->si_addr - (uintptr_t)m->base));
        sig_cat(buf, sizeof buf, &n, " of the ");
        sig_cat_u64(buf, sizeof buf, &n, m->size);
        sig_cat(buf, sizeof buf, &n, " mapped (truncated by another process?)");
    } else {
        sig_cat(buf, sizeof buf, &n, "bus error (SIGBUS) outside any input file");
    }
    sig_cat(buf, sizeof buf, &n, removed ? "; unfinished outputs removed\n" : "\n");
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
    if (m) _exit(1);
    signal(sig, SIG_DFL);
    raise(sig);
    _exit(128 + sig);
}

void wk_io_install_signal_cleanup(void)
{
    struct sigaction bus;
    memset(&bus, 0, sizeof bus);
    bus.sa_sigaction = wk_io_on_sigbus;
    bus.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigfillset(&bus.sa_mask);
    sigaction(SIGBUS, &bus, NULL);

    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = wk_io_on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&sa.sa_mask, sigs[i]);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue; /* e.g. SIGHUP under nohup: keep ignoring it */
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ==== paths ============================================================== */
char *wk_path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    size_t slash = dl > 0 && dir[dl - 1] != '/';
    char *s = malloc(dl + slash + nl + 1);
    if (!s) return NULL;
    memcpy(s, dir, dl);
    if (slash) s[dl] = '/';
    memcpy(s + dl + slash, name, nl + 1);
    return s;
}

/* Split path (no trailing slash) into a malloc'd directory ("." if none) and
 * a pointer to its last component.  NULL on OOM. */
static char *split_dir(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash) return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) { memcpy(dir, path, n); dir[n] = '\0'; }
    return dir;
}

/* "<dir>/.<base>.wk-tmp.<pid>.XXXXXX" for path; NULL with err set on failure.
 * The pid and the lock the owner holds on the temporary (temp_lock) let a
 * later run tell a dead run's leftovers from a live one's (wk_io_sweep_stale). */
static char *temp_template(const char *path, wk_err *err)
{
    const char *base;
    char *dir = split_dir(path, &base);
    char *name = NULL, *tmp = NULL;
    size_t n = strlen(base) + 48;
    if (dir && (name = malloc(n))) {
        snprintf(name, n, ".%s" WK_IO_TMP_TAG "%ld.XXXXXX", base, (long)getpid());
        tmp = wk_path_join(dir, name);
    }
    free(dir);
    free(name);
    if (!tmp) { wk_err_set(err, WK_E_NOMEM, "out of memory for path %s", path); return NULL; }
    if (strlen(tmp) >= WK_IO_PATH_MAX) {
        wk_err_set(err, WK_E_LIMIT, "%s: path too long (max %d bytes)", path, WK_IO_PATH_MAX - 48);
        free(tmp);
        return NULL;
    }
    return tmp;
}

/* Take the owner's lock on a new temporary (open as fd): held until the fd
 * is closed, i.e. until commit/abort or the process dies. */
static int temp_lock(int fd, const char *tmp, wk_err *err)
{
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        return wk_err_errno(err, errno, "lock temporary %s", tmp);
    }
    return 0;
}

/* The process umask, read without changing it where /proc allows (changing
 * it would race with other threads creating files). */
static mode_t current_umask(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    unsigned m = 0;
    char line[256];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "Umask: %o", &m) == 1;
    if (f) fclose(f);
    if (!found) {
        mode_t u = umask(022);
        umask(u);
        m = u;
    }
    return (mode_t)m;
}

/* fsync a directory so a rename in it is durable.  Filesystems that cannot
 * sync directories (EINVAL) are accepted. */
static int fsync_dir(const char *dir, wk_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return wk_err_errno(err, errno, "open directory %s", dir);
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : -1;
    int e = errno;
    close(fd);
    if (rc != 0) return wk_err_errno(err, e, "fsync directory %s", dir);
    return 0;
}

/* fsync the directory holding path. */
static int fsync_parent(const char *path, wk_err *err)
{
    const char *base;
    char *dir = split_dir(path, &base);
    if (!dir) return wk_err_set(err, WK_E_NOMEM, "out of memory for path %s", path);
    int rc = fsync_dir(dir, err);
    free(dir);
    return rc;
}

/* ==== opening inputs ===================================================== */

const char *wk_file_type_name(mode_t mode)
{
    return S_ISREG(mode) ? "a regular file" : S_ISDIR(mode) ? "a directory"
         : S_ISFIFO(mode) ? "a FIFO (named pipe)" : S_ISCHR(mode) ? "a character device"
         : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket"
         : S_ISLNK(mode) ? "a symbolic link" : "of unknown type";
}

int wk_input_open(const char *path, unsigned flags, struct stat *st, wk_err *err)
{
    struct stat sb;
    if (!st) st = &sb;
    int nofollow = (flags & WK_IN_NOFOLLOW) != 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0 && nofollow && errno == ELOOP)
        return wk_err_set(err, WK_E_UNSAFE, "%s is a symbolic link; links are not followed (copy "
                          "the file itself into the directory)", path);
    if (fd < 0) return wk_err_errno(err, errno, "open %s", path);
    int ok = fstat(fd, st) == 0;
    int e = errno;
    if (ok && !S_ISREG(st->st_mode) && !(S_ISDIR(st->st_mode) && (flags & WK_IN_DIR))) {
        close(fd);
        return wk_err_set(err, WK_E_IO, "%s: is %s, not a regular file%s", path,
                          wk_file_type_name(st->st_mode), flags & WK_IN_DIR ? " or directory" : "");
    }
    int fl = ok ? fcntl(fd, F_GETFL) : -1;
    if (ok && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)) ok = 0, e = errno;
    if (!ok) {
        close(fd);
        return wk_err_errno(err, e, "stat %s", path);
    }
    return fd;
}

/* ==== read-only maps ===================================================== */

/* Map the open regular file fd into m (m->path already set). */
static int map_fd(wk_map *m, int fd, wk_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return wk_err_errno(err, errno, "stat %s", m->path);
    WK_FAIL_IF(S_ISDIR(st.st_mode), err, WK_E_IO, "%s: is a directory", m->path);
    WK_FAIL_IF(!S_ISREG(st.st_mode), err, WK_E_IO, "%s: not a regular file", m->path);
    WK_FAIL_IF((uint64_t)st.st_size > SIZE_MAX, err, WK_E_LIMIT,
               "%s: too large to map (%lld bytes)", m->path, (long long)st.st_size);
    if (st.st_size == 0) return 0;
    size_t size = (size_t)st.st_size;
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return wk_err_errno(err, errno, "mmap %s", m->path);
    posix_madvise(p, size, POSIX_MADV_SEQUENTIAL);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    m->data = p;
    m->size = size;
    m->reg = map_register(p, size, m->path);
    return 0;
}

int wk_map_open(wk_map *m, const char *path, wk_err *err)
{
    memset(m, 0, sizeof *m);
    m->path = strdup(path);
    if (!m->path) return wk_err_set(err, WK_E_NOMEM, "out of memory mapping %s", path);
    int fd = wk_input_open(path, 0, NULL, err);
    if (fd < 0) {
        wk_map_close(m);
        return -1;
    }
    int rc = map_fd(m, fd, err);
    close(fd);
    if (rc != 0) wk_map_close(m);
    return rc;
}

void wk_map_close(wk_map *m)
{
    if (!m) return;
    map_unregister(m->reg);
    if (m->data) munmap((void *)m->data, m->size);
    free(m->path);
    memset(m, 0, sizeof *m);
}

void wk_map_release(const void *p, uint64_t n)
{
    const struct wk_io_mapslot *m = map_find(p);
    if (!m || n == 0) return;
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p, base = (uintptr_t)m->base, end = base + m->size;
    uintptr_t e = n > end - a ? end : a + (uintptr_t)n;
    uintptr_t lo = a == base ? base : (a + pg - 1) / pg * pg;          /* base is page aligned */
    uintptr_t hi = e == end ? (end + pg - 1) / pg * pg : e / pg * pg;   /* the map's tail page is its own */
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void wk_map_release_behind(const void *base, uint64_t *done, uint64_t upto, int last)
{
    if (!base || upto <= *done) return;
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a0 = (uintptr_t)base + *done, a1 = (uintptr_t)base + upto;
    if (!last) a1 = a1 / pg * pg;
    if (a1 <= a0) return;
    wk_map_release((const void *)a0, a1 - a0);
    *done = a1 - (uintptr_t)base;
}

int wk_map_digest(wk_hash_alg alg, const void *p, size_t n, uint8_t out[WK_HASH_MAX_DIGEST], wk_err *err)
{
    wk_hash *h = wk_hash_create(alg, err);
    if (!h) return -1;
    const uint8_t *b = p;
    uint64_t done = 0;
    int rc = 0;
    for (size_t off = 0; off < n && !rc;) {
        size_t k = n - off < WK_IO_RELEASE_CHUNK ? n - off : WK_IO_RELEASE_CHUNK;
        rc = wk_hash_update(h, b + off, k, err);
        off += k;
        wk_map_release_behind(b, &done, off, off == n);
    }
    if (!rc) rc = wk_hash_digest(h, out, err);
    wk_hash_free(h);
    return rc;
}

/* ==== atomic output file ================================================= */
struct wk_out {
    int fd;
    int slot;            /* registry slot of tmp_path */
    int failed;          /* a write failed; commit must fail */
    mode_t mode;         /* permissions for the final file */
    const wk_inputs *inputs; /* borrowed: checked at open and before the rename */
    char *final_path;
    char *tmp_path;
    uint8_t *buf;        /* WK_OUT_BUF bytes */
    size_t len;          /* bytes pending in buf */
    uint64_t written;    /* bytes accepted from the caller */
    uint64_t pos;        /* bytes written to fd (its file position) */
    uint64_t wb;         /* bytes [0, wb) handed to the disk early (writeback_behind) */
    int no_kcopy;        /* copy_file_range refused once: wk_out_copy_fd stops trying */
};

/* WK_E_UNSAFE if path exists and is the same file as an input (stat follows
 * symlinks, so a symlink to an input or a hard link is caught). */
static int check_not_input(const char *path, const wk_inputs *inputs, wk_err *err)
{
    struct stat fs;
    if (stat(path, &fs) != 0) return 0;
    const char *in = wk_inputs_same(inputs, &fs);
    WK_FAIL_IF(in, err, WK_E_UNSAFE, "refusing to write %s: it is the input %s (the same file); "
               "choose another output name", path, in);
    return 0;
}

/* The output must not be an input, nor a directory.  The new file's mode is
 * 0666 & ~umask, never the mode of a file it replaces (no setuid/setgid
 * copied from, e.g., a symlink's target). */
static int check_final(const char *final_path, const wk_inputs *inputs, mode_t *mode, wk_err *err)
{
    struct stat fs;
    *mode = 0666 & ~current_umask();
    if (stat(final_path, &fs) != 0) return 0;
    WK_FAIL_IF(S_ISDIR(fs.st_mode), err, WK_E_IO, "%s: is a directory", final_path);
    return check_not_input(final_path, inputs, err);
}

/* mkstemp the temporary file and register it, with the cleanup signals
 * blocked in between so it is never on disk unregistered (in this thread);
 * then lock it (stale-temporary detection) and set its mode. */
static int out_create_temp(wk_out *o, wk_err *err)
{
    o->slot = reg_reserve();
    WK_FAIL_IF(o->slot < 0, err, WK_E_LIMIT, "%s: too many outputs open at once (max %d)",
               o->final_path, WK_IO_MAX_LIVE);
    sigset_t old;
    sigmask_block(&old);
    o->fd = mkostemp(o->tmp_path, O_CLOEXEC);
    int e = errno;
    if (o->fd >= 0) reg_publish(o->slot, o->tmp_path, SLOT_FILE);
    sigmask_restore(&old);
    if (o->fd < 0) {
        reg_release(o->slot);
        o->slot = -1;
        return wk_err_errno(err, e, "create temporary file for %s", o->final_path);
    }
    WK_TRY(temp_lock(o->fd, o->tmp_path, err));
    struct stat st;
    if (fstat(o->fd, &st) != 0) return wk_err_errno(err, errno, "stat %s", o->tmp_path);
    const char *in = wk_inputs_same(o->inputs, &st);
    WK_FAIL_IF(in, err, WK_E_UNSAFE, "refusing to write %s: its temporary %s is the input %s",
               o->final_path, o->tmp_path, in);
    if (fchmod(o->fd, o->mode) != 0)
        return wk_err_errno(err, errno, "chmod temporary file for %s", o->final_path);
    return 0;
}

wk_out *wk_out_open(const char *final_path, const wk_inputs *inputs, wk_err *err)
{
    mode_t mode;
    if (check_final(final_path, inputs, &mode, err) != 0) return NULL;
    wk_out *o = calloc(1, sizeof *o);
    if (!o) { wk_err_set(err, WK_E_NOMEM, "out of memory opening %s", final_path); return NULL; }
    o->fd = -1;
    o->slot = -1;
    o->mode = mode;
    o->inputs = inputs;
    o->final_path = strdup(final_path);
    o->buf = malloc(WK_OUT_BUF);
    if (!o->final_path || !o->buf) {
        wk_err_set(err, WK_E_NOMEM, "out of memory opening %s", final_path);
    } else if ((o->tmp_path = temp_template(final_path, err)) && out_create_temp(o, err) == 0) {
        return o;
    }
    wk_out_abort(o);
    return NULL;
}

/* write(2) from a map gave EFAULT: the mapped input shrank.  Find the first
 * unreadable page's map (the kernel copied what it could) to name the file. */
static int fault_error(const wk_out *o, const uint8_t *p, wk_err *err)
{
    const struct wk_io_mapslot *m = map_find(p);
    if (!m)
        return wk_err_set(err, WK_E_IO, "write %s: the bytes to write became unreadable (an input "
                          "file changed while being read?)", o->final_path);
    return wk_err_set(err, WK_E_IO, "%s: changed while being read: no data at or after byte %llu of "
                      "the %zu mapped (truncated by another process?); writing %s stopped", m->path,
                      (unsigned long long)(p - m->base), m->size, o->final_path);
}

/* Start the disk writing what was written up to the last multiple of
 * WK_IO_WRITEBACK (sync_file_range SYNC_FILE_RANGE_WRITE: asynchronous, no
 * wait, no data-integrity promise — the commit's fsync still gives that), so
 * that the device works while the rest is produced instead of all of it
 * during the final fsync: the run then takes about max(production, disk)
 * rather than their sum (docs/benchmarks.md, issue #23).  A hint: a failure
 * is ignored (the fsync reports real I/O errors). */
static void writeback_behind(wk_out *o)
{
    uint64_t to = o->pos / WK_IO_WRITEBACK * WK_IO_WRITEBACK;
    if (to <= o->wb) return;
    (void)sync_file_range(o->fd, (off_t)o->wb, (off_t)(to - o->wb), SYNC_FILE_RANGE_WRITE);
    o->wb = to;
}

/* write(2) all of p, retrying on EINTR and short writes.  In pieces of at
 * most WK_IO_PIECE that end on its multiples in the file: each write then
 * fills whole page-cache folios of at most 256 KiB (measured on Linux 6.18
 * ext4 in a VM: 2 MiB-aligned writes of 2 MiB or more cost 3-8x the CPU —
 * the kernel allocates PMD-sized folios for them —, 1 MiB pieces cost the
 * least at best but up to 4x at times, when the large folios come from
 * memory the host has to fault in; 128-256 KiB pieces are within 10 % of
 * the best and steady; unaligned pieces split a page at every end;
 * docs/benchmarks.md, issue #23). */
static int write_all(wk_out *o, const uint8_t *p, size_t n, wk_err *err)
{
    while (n > 0) {
        size_t room = WK_IO_PIECE - (size_t)(o->pos % WK_IO_PIECE);
        ssize_t w = write(o->fd, p, n < room ? n : room);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            o->failed = 1;
            if (w < 0 && errno == EFAULT) return fault_error(o, p, err);
            return wk_err_errno(err, w < 0 ? errno : EIO, "write %s", o->final_path);
        }
        p += w;
        n -= (size_t)w;
        o->pos += (uint64_t)w;
        writeback_behind(o);
    }
    return 0;
}

static int out_flush(wk_out *o, wk_err *err)
{
    size_t n = o->len;
    o->len = 0;
    return write_all(o, o->buf, n, err);
}

int wk_out_write(wk_out *o, const void *p, size_t n, wk_err *err)
{
    WK_FAIL_IF(o->failed, err, WK_E_IO, "write %s: an earlier write failed", o->final_path);
    if (n == 0) return 0;
    o->written += n;
    if (o->len == 0 && n >= WK_OUT_BUF) return write_all(o, p, n, err); /* no copy */
    if (n <= WK_OUT_BUF - o->len) {
        memcpy(o->buf + o->len, p, n);
        o->len += n;
        return 0;
    }
    WK_TRY(out_flush(o, err));
    if (n >= WK_OUT_BUF) return write_all(o, p, n, err);
    memcpy(o->buf, p, n);
    o->len = n;
    return 0;
}

int wk_out_zeros(wk_out *o, uint64_t n, wk_err *err)
{
    WK_FAIL_IF(o->failed, err, WK_E_IO, "write %s: an earlier write failed", o->final_path);
    while (n > 0) {
        if (o->len == WK_OUT_BUF) WK_TRY(out_flush(o, err));
        size_t room = WK_OUT_BUF - o->len;
        size_t k = n < room ? (size_t)n : room;
        memset(o->buf + o->len, 0, k);
        o->len += k;
        o->written += k;
        n -= k;
    }
    return 0;
}

uint64_t wk_out_tell(const wk_out *o) { return o->written; }

int wk_out_pwrite(wk_out *o, uint64_t off, const void *p, size_t n, wk_err *err)
{
    WK_FAIL_IF(o->failed, err, WK_E_IO, "write %s: an earlier write failed", o->final_path);
    WK_FAIL_IF(off > o->written || n > o->written - off, err, WK_E_USAGE, "write %s: %zu bytes at byte "
               "%llu overwrite past the %llu written", o->final_path, n, (unsigned long long)off,
               (unsigned long long)o->written);
    WK_TRY(out_flush(o, err));
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = pwrite(o->fd, b, n < WK_IO_MAX_WRITE ? n : WK_IO_MAX_WRITE, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            o->failed = 1;
            return wk_err_errno(err, w < 0 ? errno : EIO, "write %s", o->final_path);
        }
        b += w;
        off += (uint64_t)w;
        n -= (size_t)w;
    }
    return 0;
}

const char *wk_out_final_path(const wk_out *o) { return o->final_path; }

const char *wk_out_temp_path(const wk_out *o) { return o->tmp_path; }

int wk_out_flush(wk_out *o, wk_err *err)
{
    WK_FAIL_IF(o->failed, err, WK_E_IO, "write %s: an earlier write failed", o->final_path);
    return out_flush(o, err);
}

/* Flush, fsync, check the inputs, rename (still holding the temporary's
 * lock, so no other run takes it for stale), close, fsync the directory. */
static int out_finish(wk_out *o, wk_err *err)
{
    WK_FAIL_IF(o->failed, err, WK_E_IO, "write %s: an earlier write failed", o->final_path);
    WK_TRY(out_flush(o, err));
    if (fsync(o->fd) != 0) return wk_err_errno(err, errno, "fsync %s", o->final_path);
    WK_TRY(wk_inputs_unchanged(o->inputs, err));
    WK_TRY(check_not_input(o->final_path, o->inputs, err));
    if (rename(o->tmp_path, o->final_path) != 0)
        return wk_err_errno(err, errno, "rename %s to %s", o->tmp_path, o->final_path);
    reg_release(o->slot);   /* renamed: nothing left to clean up */
    o->slot = -1;
    int rc = close(o->fd);
    o->fd = -1;
    if (rc != 0) return wk_err_errno(err, errno, "close %s", o->final_path);
    return fsync_parent(o->final_path, err);
}

const char *wk_out_staged(wk_out *o, wk_err *err)
{
    if (o->failed) {
        wk_err_set(err, WK_E_IO, "write %s: an earlier write failed", o->final_path);
        return NULL;
    }
    if (out_flush(o, err) != 0) return NULL;
    return o->tmp_path;
}

static void out_free(wk_out *o)
{
    reg_release(o->slot);
    free(o->final_path);
    free(o->tmp_path);
    free(o->buf);
    free(o);
}

int wk_out_commit(wk_out *o, wk_err *err)
{
    if (out_finish(o, err) != 0) {
        wk_out_abort(o);
        return -1;
    }
    out_free(o);
    return 0;
}

void wk_out_abort(wk_out *o)
{
    if (!o) return;
    if (o->fd >= 0) close(o->fd);
    if (o->slot >= 0) unlink(o->tmp_path);
    out_free(o);
}

/* ==== in-kernel copies into an atomic output file ======================== */

/* errno values with which copy_file_range says "not here" rather than "I/O
 * failed": across filesystems (EXDEV, before Linux 5.3 and again between
 * some filesystems since 5.19), unsupported by the kernel (ENOSYS), the
 * filesystem or file kind (EINVAL, EOPNOTSUPP), or a seccomp policy (EPERM). */
static int kcopy_unsupported(int e)
{
    return e == EXDEV || e == ENOSYS || e == EINVAL || e == EOPNOTSUPP || e == ENOTSUP || e == EPERM ||
           e == EBADF;
}

/* copy_file_range from fd at *off into o->fd's current position until n
 * bytes went, the source ended, or the kernel refused.  Returns the bytes
 * copied; *e gets errno (0 if all went or the source ended early). */
static uint64_t kcopy(wk_out *o, int fd, uint64_t *off, uint64_t n, int *e)
{
    uint64_t done = 0;
    *e = 0;
    while (done < n) {
        loff_t in = (loff_t)*off;
        size_t want = n - done < WK_IO_MAX_WRITE ? (size_t)(n - done) : WK_IO_MAX_WRITE;
        ssize_t r = copy_file_range(fd, &in, o->fd, NULL, want, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            *e = r < 0 ? errno : 0;
            break;
        }
        done += (uint64_t)r;
        *off += (uint64_t)r;
        o->pos += (uint64_t)r;
        writeback_behind(o);
    }
    return done;
}

/* pread n bytes of fd at off through o's buffer. */
static int pread_through(wk_out *o, int fd, uint64_t off, uint64_t n, wk_err *err)
{
    while (n > 0) {
        if (o->len == WK_OUT_BUF) WK_TRY(out_flush(o, err));
        size_t room = WK_OUT_BUF - o->len;
        ssize_t r = pread(fd, o->buf + o->len, n < room ? (size_t)n : room, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            o->failed = 1;
            if (r == 0)
                return wk_err_set(err, WK_E_IO, "copy into %s: input ends at byte %llu, %llu bytes short",
                                  o->final_path, (unsigned long long)off, (unsigned long long)n);
            return wk_err_errno(err, errno, "copy into %s: read input at byte %llu", o->final_path,
                                (unsigned long long)off);
        }
        o->len += (size_t)r;
        o->written += (uint64_t)r;
        off += (uint64_t)r;
        n -= (uint64_t)r;
    }
    return 0;
}

int wk_out_copy_fd(wk_out *o, int fd, uint64_t off, uint64_t n, const void *bytes, wk_err *err)
{
    WK_FAIL_IF(o->failed, err, WK_E_IO, "write %s: an earlier write failed", o->final_path);
    if (n == 0) return 0;
    WK_FAIL_IF(n > SIZE_MAX || off > (uint64_t)INT64_MAX - n, err, WK_E_LIMIT,
               "copy into %s: range of %llu bytes at %llu is too large", o->final_path,
               (unsigned long long)n, (unsigned long long)off);
    /* The kernel copy costs about what write(2) from the map costs when the
     * source and destination offsets are equal modulo the page cache's large
     * folios, and 1.4-1.5x that (and a slower fsync) when they are not: the
     * copy splits every folio (docs/benchmarks.md, issue #23).  With the bytes
     * at hand, a misaligned range is written from them (the caller read them
     * anyway, to hash or scan them; else they fault in from the page cache). */
    int aligned = (off % WK_IO_KCOPY_ALIGN) == ((o->written) % WK_IO_KCOPY_ALIGN);
    if (!o->no_kcopy && (aligned || !bytes)) {
        WK_TRY(out_flush(o, err));
        int e;
        uint64_t done = kcopy(o, fd, &off, n, &e);
        o->written += done;
        n -= done;
        if (bytes) bytes = (const uint8_t *)bytes + done;
        if (n == 0) return 0;
        if (e && !kcopy_unsupported(e)) {
            o->failed = 1;
            return wk_err_errno(err, e, "copy into %s", o->final_path);
        }
        /* refused, or 0 bytes (some filesystems, or the source ended early:
         * pread below tells which): the plain path from here on */
        o->no_kcopy = 1;
    }
    if (bytes) return wk_out_write(o, bytes, (size_t)n, err);
    return pread_through(o, fd, off, n, err);
}

/* ==== atomic output directory ============================================ */
struct wk_outdir {
    int slot;
    int fd;              /* the temporary directory, locked (see temp_lock) */
    const wk_inputs *inputs; /* borrowed: checked before the rename */
    char *final_path;    /* without trailing slashes */
    char *tmp_path;
};

/* Remove dirfd-relative name and everything below it, never following
 * symlinks (O_NOFOLLOW, unlinkat).  Best effort; depth-limited. */
static void rm_tree_at(int parent, const char *name, int depth)
{
    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT || depth > WK_RM_MAX_DEPTH)
        return;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    DIR *d = fdopendir(fd);
    if (!d) { close(fd); return; }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rm_tree_at(dirfd(d), e->d_name, depth + 1);
    }
    closedir(d);
    unlinkat(parent, name, AT_REMOVEDIR);
}

/* 0 if path does not exist or is an empty directory, else -1 with err. */
static int check_dir_target(const char *path, wk_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    WK_FAIL_IF(!S_ISDIR(st.st_mode), err, WK_E_IO, "%s: exists and is not a directory", path);
    DIR *d = opendir(path);
    if (!d) return wk_err_errno(err, errno, "open directory %s", path);
    int entries = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    WK_FAIL_IF(entries, err, WK_E_IO, "%s: output directory exists and is not empty", path);
    return 0;
}

/* mkdtemp the temporary directory and register it (signals blocked between). */
static int outdir_create_temp(wk_outdir *d, wk_err *err)
{
    d->slot = reg_reserve();
    WK_FAIL_IF(d->slot < 0, err, WK_E_LIMIT, "%s: too many outputs open at once (max %d)",
               d->final_path, WK_IO_MAX_LIVE);
    sigset_t old;
    sigmask_block(&old);
    char *ok = mkdtemp(d->tmp_path);
    int e = errno;
    if (ok) reg_publish(d->slot, d->tmp_path, SLOT_DIR);
    sigmask_restore(&old);
    if (!ok) {
        reg_release(d->slot);
        d->slot = -1;
        return wk_err_errno(err, e, "create temporary directory for %s", d->final_path);
    }
    d->fd = open(d->tmp_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d->fd < 0) return wk_err_errno(err, errno, "open %s", d->tmp_path);
    WK_TRY(temp_lock(d->fd, d->tmp_path, err));
    if (fchmod(d->fd, 0777 & ~current_umask()) != 0)
        return wk_err_errno(err, errno, "chmod %s", d->tmp_path);
    return 0;
}

wk_outdir *wk_outdir_open(const char *final_dir, const wk_inputs *inputs, wk_err *err)
{
    wk_outdir *d = calloc(1, sizeof *d);
    char *name = strdup(final_dir);
    size_t n = name ? strlen(name) : 0;
    while (n > 1 && name[n - 1] == '/') name[--n] = '\0';
    if (!d || !name) {
        wk_err_set(err, WK_E_NOMEM, "out of memory opening %s", final_dir);
        free(d);
        free(name);
        return NULL;
    }
    d->slot = -1;
    d->fd = -1;
    d->inputs = inputs;
    d->final_path = name;
    if (n == 0 || strcmp(name, "/") == 0) {
        wk_err_set(err, WK_E_USAGE, "'%s' is not a usable output directory name", final_dir);
    } else if (check_dir_target(name, err) == 0 && (d->tmp_path = temp_template(name, err))
               && outdir_create_temp(d, err) == 0) {
        return d;
    }
    wk_outdir_abort(d);
    return NULL;
}

const char *wk_outdir_path(const wk_outdir *d) { return d->tmp_path; }

static void outdir_free(wk_outdir *d)
{
    reg_release(d->slot);
    if (d->fd >= 0) close(d->fd);
    free(d->final_path);
    free(d->tmp_path);
    free(d);
}

/* rename(2) of the temporary directory failed with e: say why in the user's
 * terms (ENOTEMPTY/EEXIST: another run created the directory meanwhile). */
static int outdir_rename_error(const wk_outdir *d, int e, wk_err *err)
{
    if (e == ENOTEMPTY || e == EEXIST)
        return wk_err_set(err, WK_E_IO, "%s: another run wrote the same output directory meanwhile "
                          "(it was absent or empty when this run started); nothing of this run was "
                          "kept, the other run's output is left as it is", d->final_path);
    if (e == ENOTDIR)
        return wk_err_set(err, WK_E_IO, "%s: a file of that name was created meanwhile (by another "
                          "run?); nothing of this run was kept", d->final_path);
    return wk_err_errno(err, e, "rename %s to %s", d->tmp_path, d->final_path);
}

int wk_outdir_commit(wk_outdir *d, wk_err *err)
{
    if (wk_inputs_unchanged(d->inputs, err) != 0) {
        wk_outdir_abort(d);
        return -1;
    }
    if (rename(d->tmp_path, d->final_path) != 0) {
        outdir_rename_error(d, errno, err);
        wk_outdir_abort(d);
        return -1;
    }
    reg_release(d->slot);
    d->slot = -1;
    int rc = fsync_parent(d->final_path, err);
    outdir_free(d);
    return rc;
}

void wk_outdir_abort(wk_outdir *d)
{
    if (!d) return;
    if (d->slot >= 0) rm_tree_at(AT_FDCWD, d->tmp_path, 0);
    outdir_free(d);
}

/* ==== stale temporaries of dead runs ===================================== */

/* If name is ".<base>.wk-tmp.<pid>.XXXXXX" (this scheme), its pid (> 0);
 * 0 for ".<base>.wk-tmp.<anything else>" (an older or foreign name); -1 if
 * name is not a temporary of base at all. */
static long stale_pid(const char *name, const char *base)
{
    size_t bl = strlen(base), tl = strlen(WK_IO_TMP_TAG);
    if (name[0] != '.' || strncmp(name + 1, base, bl) != 0 || strncmp(name + 1 + bl, WK_IO_TMP_TAG, tl) != 0)
        return -1;
    const char *p = name + 1 + bl + tl;
    long pid = 0;
    size_t nd = 0;
    for (; *p >= '0' && *p <= '9' && nd < 10; p++, nd++) pid = pid * 10 + (*p - '0');
    if (nd == 0 || *p != '.' || strlen(p + 1) != 6 || pid <= 0) return 0;
    for (const char *q = p + 1; *q; q++)
        if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))) return 0;
    return pid;
}

/* Look at one temporary `name` (pid as stale_pid) in the directory dfd:
 * remove it if no process holds its lock and its pid is not running; else
 * report it when it cannot be told apart (older name, pid in use). */
static void sweep_one(int dfd, const char *dir, const char *name, long pid, wk_io_stale_fn fn, void *ctx)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        return;
    char *path = wk_path_join(dir, name);
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (!path || fd < 0) goto done;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) goto done;    /* its run is alive: leave it */
    if (pid == 0) {
        if (fn) fn(ctx, path, (uint64_t)st.st_size, 0, "not named by this version (no process id): "
                   "remove it by hand if no weightkit run is writing it");
    } else if (kill((pid_t)pid, 0) == 0 || errno == EPERM) {
        if (fn) fn(ctx, path, (uint64_t)st.st_size, 0, "unlocked, but its process id is in use: remove "
                   "it by hand if no weightkit run is writing it");
    } else {
        if (S_ISDIR(st.st_mode)) rm_tree_at(dfd, name, 0);
        else unlinkat(dfd, name, 0);
        if (fn) fn(ctx, path, (uint64_t)st.st_size, 1, "left by a run that died (process gone, lock free)");
    }
done:
    if (fd >= 0) close(fd);
    free(path);
}

int wk_io_sweep_stale(const char *final_path, wk_io_stale_fn fn, void *ctx, wk_err *err)
{
    char *copy = strdup(final_path);
    WK_FAIL_IF(!copy, err, WK_E_NOMEM, "out of memory");
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') copy[--n] = '\0';
    const char *base;
    char *dir = split_dir(copy, &base);
    DIR *d = dir && *base ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        long pid = stale_pid(e->d_name, base);
        if (pid >= 0) sweep_one(dirfd(d), dir, e->d_name, pid, fn, ctx);
    }
    if (d) closedir(d);
    int rc = dir ? 0 : wk_err_set(err, WK_E_NOMEM, "out of memory");
    free(dir);
    free(copy);
    return rc;
}
