/* wk_inputs.c — the set of files one run reads (see wk_inputs.h). */
#include "wk_inputs.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *path;
    struct stat st;      /* as recorded when added */
} in_rec;

struct wk_inputs {
    in_rec *v;
    size_t n, cap;
};

wk_inputs *wk_inputs_new(wk_err *err)
{
    wk_inputs *s = calloc(1, sizeof *s);
    if (!s) wk_err_set(err, WK_E_NOMEM, "out of memory");
    return s;
}

void wk_inputs_free(wk_inputs *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->v[i].path);
    free(s->v);
    free(s);
}

/* Append (path, st) unless the file is already in the set. */
static int add_rec(wk_inputs *s, const char *path, const struct stat *st, wk_err *err)
{
    if (wk_inputs_same(s, st)) return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        in_rec *v = realloc(s->v, cap * sizeof *v);
        WK_FAIL_IF(!v, err, WK_E_NOMEM, "out of memory recording input %s", path);
        s->v = v;
        s->cap = cap;
    }
    char *p = strdup(path);
    WK_FAIL_IF(!p, err, WK_E_NOMEM, "out of memory recording input %s", path);
    s->v[s->n].path = p;
    s->v[s->n].st = *st;
    s->n++;
    return 0;
}

int wk_inputs_add(wk_inputs *s, const char *path, wk_err *err)
{
    struct stat st;
    if (!s) return 0;
    if (stat(path, &st) != 0) return wk_err_errno(err, errno, "%s", path);
    return add_rec(s, path, &st, err);
}

int wk_inputs_add_fd(wk_inputs *s, int fd, const char *path, wk_err *err)
{
    struct stat st;
    if (!s) return 0;
    if (fstat(fd, &st) != 0) return wk_err_errno(err, errno, "%s", path);
    return add_rec(s, path, &st, err);
}

size_t wk_inputs_count(const wk_inputs *s) { return s ? s->n : 0; }

const char *wk_inputs_path(const wk_inputs *s, size_t i) { return s && i < s->n ? s->v[i].path : NULL; }

const char *wk_inputs_same(const wk_inputs *s, const struct stat *st)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->v[i].st.st_dev == st->st_dev && s->v[i].st.st_ino == st->st_ino) return s->v[i].path;
    return NULL;
}

static int same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* What differs between the recorded and the current stat, for the message. */
static const char *what_changed(const struct stat *a, const struct stat *b)
{
    if (a->st_dev != b->st_dev || a->st_ino != b->st_ino) return "replaced by another file";
    if (b->st_size < a->st_size) return "truncated";
    if (b->st_size != a->st_size) return "size changed";
    if (!same_time(a->st_mtim, b->st_mtim)) return "modified";
    return "status changed (ctime)";
}

int wk_inputs_unchanged(const wk_inputs *s, wk_err *err)
{
    for (size_t i = 0; s && i < s->n; i++) {
        const in_rec *r = &s->v[i];
        struct stat st;
        if (stat(r->path, &st) != 0)
            return wk_err_errno(err, errno, "%s: changed while being read (gone now; renamed or "
                                "deleted by another process?); nothing was written", r->path);
        if (st.st_dev == r->st.st_dev && st.st_ino == r->st.st_ino && st.st_size == r->st.st_size &&
            same_time(st.st_mtim, r->st.st_mtim) && same_time(st.st_ctim, r->st.st_ctim))
            continue;
        return wk_err_set(err, WK_E_IO, "%s: changed while being read (%s: %llu bytes at the start, "
                          "%llu now); is it still being written or downloaded? Nothing was written; "
                          "run again once it is complete", r->path, what_changed(&r->st, &st),
                          (unsigned long long)r->st.st_size, (unsigned long long)st.st_size);
    }
    return 0;
}
