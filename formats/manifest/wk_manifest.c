/* wk_manifest.c — sha256sum / rhash manifests: parse, write, hash, check. */
#include "wk_manifest.h"

#include "wk_cursor.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_threads.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEX_LEN (2 * WK_MANIFEST_DIGEST)
#define HASH_CHUNK (4u << 20)

void wk_manifest_init(wk_manifest *m) { memset(m, 0, sizeof *m); }

void wk_manifest_free(wk_manifest *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) free(m->entries[i].name);
    free(m->entries);
    free(m->label);
    wk_strmap_free(&m->index);
    memset(m, 0, sizeof *m);
}

/* ---- parsing ----------------------------------------------------------- */

static int hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Number of hex digits at the start of p[0..n). */
static size_t hex_run(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && hex_val(p[i]) >= 0) i++;
    return i;
}

static void hex_decode(const uint8_t *hex, uint8_t out[WK_MANIFEST_DIGEST])
{
    for (size_t i = 0; i < WK_MANIFEST_DIGEST; i++)
        out[i] = (uint8_t)(hex_val(hex[2 * i]) << 4 | hex_val(hex[2 * i + 1]));
}

/* Context for one line's messages: line_fail sets "<label>:<line>: <msg>" (msg cut
 * at 511 bytes) and returns -1, as wk_err_set: `return line_fail(...)`. */
typedef struct {
    const char *label;
    size_t line;
} line_ctx;

static int line_fail(const line_ctx *lc, wk_err *err, wk_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int line_fail(const line_ctx *lc, wk_err *err, wk_code code, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return wk_err_set(err, code, "%s:%zu: %s", lc->label, lc->line, what);
}

/* Copy name bytes p[0..n) into a new string, undoing GNU escapes when
 * `escaped`.  NULL with err set on a bad escape, a NUL byte or OOM. */
static char *name_decode(const uint8_t *p, size_t n, int escaped, const line_ctx *lc, wk_err *err)
{
    if (n == 0) {
        line_fail(lc, err, WK_E_FORMAT, "empty file name");
        return NULL;
    }
    char *s = malloc(n + 1);
    if (!s) {
        wk_err_set(err, WK_E_NOMEM, "%s:%zu: out of memory", lc->label, lc->line);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == 0) {
            line_fail(lc, err, WK_E_FORMAT, "NUL byte in file name");
            free(s);
            return NULL;
        }
        if (escaped && c == '\\') {
            uint8_t e = i + 1 < n ? p[i + 1] : 0;
            if (e == '\\') c = '\\';
            else if (e == 'n') c = '\n';
            else if (e == 'r') c = '\r';
            else {
                line_fail(lc, err, WK_E_FORMAT, "invalid escape in file name at column %zu "
                          "(only \\\\, \\n and \\r are defined)", i + 2);
                free(s);
                return NULL;
            }
            i++;
        }
        s[o++] = (char)c;
    }
    s[o] = '\0';
    return s;
}

/* Entry fields found on one line, before they are copied into m. */
typedef struct {
    const uint8_t *hex;
    const uint8_t *name;
    size_t name_len;
    wk_manifest_style style;
} line_fields;

/* Reject a digest of the wrong length with a message naming the likely algorithm. */
static int bad_digest_len(const line_ctx *lc, size_t nhex, wk_err *err)
{
    const char *alg = nhex == 32 ? " (MD5?)" : nhex == 40 ? " (SHA-1?)"
                    : nhex == 128 ? " (SHA-512?)" : nhex == 96 ? " (SHA-384?)" : "";
    return line_fail(lc, err, WK_E_UNSUPPORTED,
                     "digest has %zu hex digits%s; only SHA-256 (64) is supported", nhex, alg);
}

/* "<hex>  name" or "<hex> *name". */
static int split_gnu(const uint8_t *p, size_t n, const line_ctx *lc, line_fields *f, wk_err *err)
{
    size_t nhex = hex_run(p, n);
    if (nhex != HEX_LEN && (nhex == n || p[nhex] == ' '))
        return bad_digest_len(lc, nhex, err);
    if (nhex != HEX_LEN)
        return line_fail(lc, err, WK_E_FORMAT, "expected 64 hex digits, then two spaces "
                         "(or space and '*'), then the file name");
    if (n < HEX_LEN + 2 || p[HEX_LEN] != ' ' || (p[HEX_LEN + 1] != ' ' && p[HEX_LEN + 1] != '*'))
        return line_fail(lc, err, WK_E_FORMAT, "expected two spaces (or space and '*') after "
                         "the digest at column %d", HEX_LEN + 1);
    f->hex = p;
    f->style = p[HEX_LEN + 1] == '*' ? WK_MANIFEST_GNU_BINARY : WK_MANIFEST_GNU_TEXT;
    f->name = p + HEX_LEN + 2;
    f->name_len = n - HEX_LEN - 2;
    return 0;
}

/* "SHA256 (name) = <hex>"; the name may itself contain ") = ". */
static int split_bsd(const uint8_t *p, size_t n, size_t tag_len, const line_ctx *lc,
                     line_fields *f, wk_err *err)
{
    static const char tail[] = ") = ";
    size_t tl = sizeof tail - 1;
    size_t i = n;
    while (i > 0 && hex_val(p[i - 1]) >= 0) i--;
    size_t nhex = n - i;
    if (i < tag_len + tl || memcmp(p + i - tl, tail, tl) != 0)
        return line_fail(lc, err, WK_E_FORMAT, "BSD-style line must end with ') = <digest>'");
    if (nhex != HEX_LEN) return bad_digest_len(lc, nhex, err);
    f->hex = p + i;
    f->style = WK_MANIFEST_BSD;
    f->name = p + tag_len;
    f->name_len = i - tl - tag_len;
    return 0;
}

/* Does p[0..n) start with the C string s? */
static int starts_with(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    return n >= k && memcmp(p, s, k) == 0;
}

/* Append an entry taking ownership of name; NULL (name not taken) on OOM or
 * when the entry limit is reached.  No duplicate check. */
static wk_manifest_entry *append_entry(wk_manifest *m, char *name,
                                       const uint8_t digest[WK_MANIFEST_DIGEST])
{
    if (m->n >= WK_MANIFEST_MAX_ENTRIES) return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        wk_manifest_entry *e = realloc(m->entries, cap * sizeof *e);
        if (!e) return NULL;
        m->entries = e;
        m->cap = cap;
    }
    long prev;
    if (wk_strmap_add(&m->index, name, m->n, &prev, NULL)) return NULL;
    wk_manifest_entry *e = &m->entries[m->n++];
    e->name = name;
    memcpy(e->digest, digest, WK_MANIFEST_DIGEST);
    e->line = 0;
    e->style = WK_MANIFEST_GNU_TEXT;
    return e;
}

/* Parse one line (without its line ending) and add it to m. */
static int parse_line(wk_manifest *m, const uint8_t *p, size_t n, const line_ctx *lc, wk_err *err)
{
    int escaped = n > 0 && p[0] == '\\';
    if (escaped) { p++; n--; }
    line_fields f;
    int rc;
    if (starts_with(p, n, "SHA256 ("))
        rc = split_bsd(p, n, 8, lc, &f, err);
    else if (starts_with(p, n, "SHA-256 ("))
        rc = split_bsd(p, n, 9, lc, &f, err);
    else if (n > 0 && hex_val(p[0]) < 0 && memchr(p, '(', n) && memchr(p, '=', n))
        rc = line_fail(lc, err, WK_E_UNSUPPORTED, "BSD-style line for another algorithm than "
                       "SHA256");
    else
        rc = split_gnu(p, n, lc, &f, err);
    if (rc) return -1;
    char *name = name_decode(f.name, f.name_len, escaped, lc, err);
    if (!name) return -1;
    uint8_t digest[WK_MANIFEST_DIGEST];
    hex_decode(f.hex, digest);
    wk_manifest_entry *e = append_entry(m, name, digest);
    if (!e) {
        free(name);
        if (m->n >= WK_MANIFEST_MAX_ENTRIES)
            return line_fail(lc, err, WK_E_LIMIT, "more than %u entries",
                             WK_MANIFEST_MAX_ENTRIES);
        return line_fail(lc, err, WK_E_NOMEM, "out of memory");
    }
    e->line = lc->line;
    e->style = f.style;
    return 0;
}

static int cmp_entry_ptr(const void *a, const void *b)
{
    const wk_manifest_entry *x = *(const wk_manifest_entry *const *)a;
    const wk_manifest_entry *y = *(const wk_manifest_entry *const *)b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x < y ? -1 : x > y;
}

/* Fail if two entries share a name (O(n log n)); names both lines. */
static int check_duplicates(const wk_manifest *m, const char *label, wk_err *err)
{
    if (m->n < 2) return 0;
    const wk_manifest_entry **v = malloc(m->n * sizeof *v);
    if (!v) return wk_err_set(err, WK_E_NOMEM, "%s: out of memory", label);
    for (size_t i = 0; i < m->n; i++) v[i] = &m->entries[i];
    qsort(v, m->n, sizeof *v, cmp_entry_ptr);
    int rc = 0;
    for (size_t i = 1; i < m->n && rc == 0; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            rc = wk_err_set(err, WK_E_FORMAT, "%s:%zu: duplicate file name \"%s\" (first on "
                            "line %zu)", label, v[i]->line, v[i]->name, v[i - 1]->line);
    free(v);
    return rc;
}

int wk_manifest_parse(wk_manifest *m, const void *data, size_t len, const char *label,
                      wk_err *err)
{
    line_ctx lc = {label ? label : "manifest", 0};
    if (len > WK_MANIFEST_MAX_BYTES)
        return wk_err_set(err, WK_E_LIMIT, "%s: manifest is %zu bytes, more than the %u allowed",
                          lc.label, len, WK_MANIFEST_MAX_BYTES);
    if (label && !m->label) m->label = strdup(label);
    wk_cur c = wk_cur_make(data, len, 0);
    while (wk_cur_left(&c) > 0) {
        lc.line++;
        const uint8_t *start = c.p + c.pos;
        const uint8_t *nl = memchr(start, '\n', wk_cur_left(&c));
        size_t n = nl ? (size_t)(nl - start) : wk_cur_left(&c);
        const uint8_t *line;
        if (n > WK_MANIFEST_MAX_LINE)
            return line_fail(&lc, err, WK_E_LIMIT, "line is %zu bytes, more than the %d allowed",
                             n, WK_MANIFEST_MAX_LINE);
        if (wk_cur_bytes(&c, n, &line) || (nl && wk_cur_skip(&c, 1)))
            return wk_err_set(err, WK_E_INTERNAL, "%s: cursor overrun", lc.label);
        if (n > 0 && line[n - 1] == '\r') n--;
        if (n == 0 || line[0] == '#' || line[0] == ';') continue;
        WK_TRY(parse_line(m, line, n, &lc, err));
    }
    return check_duplicates(m, lc.label, err);
}

int wk_manifest_load(wk_manifest *m, const char *path, wk_err *err)
{
    struct stat st;
    int fd = wk_input_open(path, 0, &st, err);
    if (fd < 0) return wk_err_prefix(err, "manifest");
    if ((uint64_t)st.st_size > WK_MANIFEST_MAX_BYTES) {
        close(fd);
        return wk_err_set(err, WK_E_LIMIT, "%s: not a regular file of at most %u bytes", path,
                          WK_MANIFEST_MAX_BYTES);
    }
    size_t size = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return wk_err_set(err, WK_E_NOMEM, "%s: out of memory", path);
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return wk_err_errno(err, e, "read manifest %s at byte %zu", path, got);
        }
        got += (size_t)r;
    }
    close(fd);
    int rc = wk_manifest_parse(m, buf, size, path, err);
    free(buf);
    return rc;
}

int wk_manifest_add(wk_manifest *m, const char *name, const uint8_t digest[WK_MANIFEST_DIGEST],
                    wk_err *err)
{
    if (!name || !name[0]) return wk_err_set(err, WK_E_FORMAT, "empty file name");
    const wk_manifest_entry *dup = wk_manifest_find(m, name);
    if (dup) return wk_err_set(err, WK_E_FORMAT, "duplicate file name \"%s\"", name);
    char *copy = strdup(name);
    if (!copy) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (!append_entry(m, copy, digest)) {
        free(copy);
        if (m->n >= WK_MANIFEST_MAX_ENTRIES)
            return wk_err_set(err, WK_E_LIMIT, "more than %u manifest entries",
                              WK_MANIFEST_MAX_ENTRIES);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    return 0;
}

const wk_manifest_entry *wk_manifest_find(const wk_manifest *m, const char *name)
{
    long i = wk_strmap_get(&m->index, name);
    return i >= 0 ? &m->entries[i] : NULL;
}

/* ---- writing ----------------------------------------------------------- */

/* name's bytes, with '\\', '\n', '\r' escaped when escape is set. */
static void put_name(wk_buf *b, const char *name, int escape)
{
    for (const char *s = name; *s; s++) {
        if (escape && *s == '\\') wk_buf_puts(b, "\\\\");
        else if (escape && *s == '\n') wk_buf_puts(b, "\\n");
        else if (escape && *s == '\r') wk_buf_puts(b, "\\r");
        else wk_buf_putc(b, (uint8_t)*s);
    }
}

void wk_manifest_format_line(wk_buf *b, const uint8_t digest[WK_MANIFEST_DIGEST],
                             const char *name)
{
    char hex[HEX_LEN + 1];
    wk_hex(digest, WK_MANIFEST_DIGEST, hex);
    int escape = strpbrk(name, "\\\n\r") != NULL;
    if (escape) wk_buf_putc(b, '\\');
    wk_buf_put(b, hex, HEX_LEN);
    wk_buf_puts(b, "  ");
    put_name(b, name, escape);
    wk_buf_putc(b, '\n');
}

int wk_manifest_format_status_name(wk_buf *b, const char *name)
{
    int escape = strchr(name, '\n') != NULL;
    if (escape) wk_buf_putc(b, '\\');
    put_name(b, name, escape);
    return escape;
}

int wk_manifest_write(const wk_manifest *m, const char *path, wk_err *err)
{
    wk_buf b;
    wk_buf_init(&b);
    for (size_t i = 0; i < m->n; i++)
        wk_manifest_format_line(&b, m->entries[i].digest, m->entries[i].name);
    if (wk_buf_check(&b, err)) {
        wk_buf_free(&b);
        return -1;
    }
    wk_out *o = wk_out_open(path, NULL, err);
    int rc = -1;
    if (o && wk_out_write(o, b.data, b.len, err) == 0) {
        rc = wk_out_commit(o, err);
        o = NULL;
    }
    wk_out_abort(o);
    wk_buf_free(&b);
    return rc;
}

int wk_manifest_name_safe(const char *name)
{
    if (!name || !name[0] || name[0] == '/') return 0;
    const char *s = name;
    for (;;) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (n == 0) return 0;
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
        if (!slash) return 1;
        s = slash + 1;
    }
}

/* ---- hashing ----------------------------------------------------------- */

int wk_manifest_hash_fd(int fd, const char *label, uint8_t out[WK_MANIFEST_DIGEST],
                        wk_progress_fn progress, void *ctx, uint64_t total, wk_err *err)
{
    wk_hash *h = wk_hash_create(WK_HASH_SHA256, err);
    if (!h) return -1;
    uint8_t *buf = malloc(HASH_CHUNK);
    int rc = -1;
    uint64_t done = 0;
    if (!buf) {
        wk_err_set(err, WK_E_NOMEM, "%s: out of memory", label);
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf, HASH_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            wk_err_errno(err, errno, "read %s at byte %llu", label, (unsigned long long)done);
            goto out;
        }
        if (r == 0) break;
        if (wk_hash_update(h, buf, (size_t)r, err)) goto out;
        done += (uint64_t)r;
        if (progress) progress(ctx, done, total);
    }
    uint8_t d[WK_HASH_MAX_DIGEST];
    if (wk_hash_digest(h, d, err) == 0) {
        memcpy(out, d, WK_MANIFEST_DIGEST);
        rc = 0;
    }
out:
    free(buf);
    wk_hash_free(h);
    return rc;
}

int wk_manifest_hash_file(const char *path, uint8_t out[WK_MANIFEST_DIGEST],
                          wk_progress_fn progress, void *ctx, wk_err *err)
{
    struct stat st;
    int fd = wk_input_open(path, 0, &st, err);
    if (fd < 0) return -1;
    uint64_t total = (uint64_t)st.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    int rc = wk_manifest_hash_fd(fd, path, out, progress, ctx, total, err);
    close(fd);
    return rc;
}

/* ---- checking a directory ---------------------------------------------- */

/* Check one entry, reporting the hashing progress to ph; fills r. */
static void check_one(const wk_manifest_entry *e, const char *dir, wk_progress_hook ph,
                      wk_check_result *r)
{
    wk_err_clear(&r->err);
    if (!wk_manifest_name_safe(e->name)) {
        r->status = WK_CHECK_ERROR;
        wk_err_set(&r->err, WK_E_UNSAFE, "manifest name \"%s\" is not a safe relative path",
                   e->name);
        return;
    }
    char *path = wk_path_join(dir, e->name);
    if (!path) {
        r->status = WK_CHECK_ERROR;
        wk_err_set(&r->err, WK_E_NOMEM, "out of memory");
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        r->status = WK_CHECK_MISSING;
        wk_err_errno(&r->err, ENOENT, "%s", path);
    } else if (wk_manifest_hash_file(path, r->got, ph.fn, ph.ctx, &r->err) != 0) {
        r->status = WK_CHECK_ERROR;
    } else {
        r->size = (uint64_t)st.st_size;
        r->status = memcmp(r->got, e->digest, WK_MANIFEST_DIGEST) == 0 ? WK_CHECK_OK
                                                                        : WK_CHECK_FAILED;
    }
    free(path);
}

int wk_manifest_check_dir(const wk_manifest *m, const char *dir, int jobs,
                          wk_progress_fn progress, void *ctx, wk_check_result *res,
                          wk_err *err)
{
    int nth = jobs > 0 ? jobs : wk_threads_ncores();
    if ((size_t)nth > m->n) nth = m->n ? (int)m->n : 1;
    uint64_t total = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct stat st;
        char *path = wk_path_join(dir, m->entries[i].name);
        if (path && stat(path, &st) == 0) total += (uint64_t)st.st_size;
        free(path);
    }
    /* the parallel hashers' byte counts, summed */
    wk_progress_multi *mp = wk_progress_multi_new(progress, ctx, m->n, total);
    if (!mp) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    long n = (long)m->n;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
#endif
    for (long i = 0; i < n; i++) {
        check_one(&m->entries[i], dir, wk_progress_multi_item(mp, (size_t)i), &res[i]);
        /* a hashed file counts in full from now on; one that could not be read, not at all */
        int hashed = res[i].status == WK_CHECK_OK || res[i].status == WK_CHECK_FAILED;
        wk_progress_multi_finish(mp, (size_t)i, hashed ? res[i].size : 0);
    }
    wk_progress_multi_free(mp);
    size_t bad = 0, io = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (res[i].status != WK_CHECK_OK) bad++;
        if (res[i].status == WK_CHECK_MISSING || res[i].status == WK_CHECK_ERROR) io++;
    }
    if (!bad) return 0;
    return wk_err_set(err, io ? WK_E_IO : WK_E_MISMATCH, "%zu of %zu files in %s failed the "
                      "check against %s", bad, m->n, dir, m->label ? m->label : "the manifest");
}
