/* wk_pth.c — PyTorch zip checkpoint reader (see wk_pth.h and
 * docs/formats/pytorch-zip.md).
 *
 * Steps: detect the container (zip / legacy pickle / tar), parse the end
 * records, central directory and local headers with wk_cur (names and
 * offsets as the zip spec calls them), cross-check every record with libzip,
 * validate names, locate <prefix>/data.pkl, unpickle it with wk_pickle,
 * flatten the tensors and resolve each one's storage record. */
#include "wk_pth.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "wk_cursor.h"
#include "wk_io.h"
#include "wk_pickle.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define EOCD_SIZE 22
#define LOCATOR64_SIZE 20
#define EOCD64_SIZE 56
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30
#define MAX_KEY_LEN 255

typedef struct {
    const char *name;  /* central directory name, inside the map (not NUL-terminated) */
    size_t nlen;
    uint64_t lho;      /* local header offset */
    uint64_t data_off; /* first data byte */
    uint64_t size;
    uint16_t flags, method;
    /* storage use by tensors */
    int used;
    wk_dtype dtype;
    size_t first_user; /* index of the first tensor viewing it */
} rec;

struct wk_pth {
    wk_map map;
    int mapped;
    const uint8_t *data;
    size_t size;
    char *path;
    char *prefix;
    size_t plen;
    rec *recs;
    size_t n_recs;
    size_t *by_name; /* record indices sorted by name */
    const rec *pkl;
    wk_pickle *pk;
    wk_tensor_info *t;
    size_t n_t, cap_t;
    size_t n_skipped, n_storages;
    uint64_t storage_bytes;
};

static int fail(const wk_pth *p, wk_err *err, wk_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Set *err to "<path>: <message>". */
static int fail(const wk_pth *p, wk_err *err, wk_code code, const char *fmt, ...)
{
    char msg[WK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wk_err_set(err, code, "%s: %s", p->path, msg);
}

/* Printable copy of a record name or key for messages. */
static const char *shown(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'') buf[o++] = (char)c;
        else o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    }
    buf[o] = '\0';
    return buf;
}

/* ---- container detection ------------------------------------------------- */

static int detect(const wk_pth *p, wk_err *err)
{
    if (p->size == 0) return fail(p, err, WK_E_FORMAT, "empty file");
    if (p->size >= 4 && wk_le32(p->data) == SIG_LOCAL) return 0;
    if (p->size >= 262 && memcmp(p->data + 257, "ustar", 5) == 0)
        return fail(p, err, WK_E_UNSUPPORTED,
                    "tar archive: the old tar torch.save format is not supported "
                    "(re-save it with PyTorch >= 1.6)");
    if (p->data[0] == 0x80)
        return fail(p, err, WK_E_UNSUPPORTED,
                    "legacy torch.save format (raw pickle stream, PyTorch < 1.6) is not supported "
                    "(re-save it with PyTorch >= 1.6)");
    return fail(p, err, WK_E_FORMAT, "not a PyTorch zip checkpoint (no zip header at byte 0)");
}

/* ---- end of central directory -------------------------------------------- */

typedef struct {
    uint64_t entries, cd_size, cd_off;
    uint64_t end;   /* offset of the first end record (CD must end before it) */
} zip_end;

static int find_eocd(const wk_pth *p, uint64_t *at, wk_err *err)
{
    if (p->size < EOCD_SIZE) return fail(p, err, WK_E_FORMAT, "zip: file too short for an end record");
    uint64_t lo = p->size > EOCD_SIZE + 65535 ? p->size - EOCD_SIZE - 65535 : 0;
    for (uint64_t pos = p->size - EOCD_SIZE + 1; pos-- > lo;) {
        if (wk_le32(p->data + pos) == SIG_EOCD &&
            pos + EOCD_SIZE + wk_le16(p->data + pos + 20) == p->size) {
            *at = pos;
            return 0;
        }
    }
    return fail(p, err, WK_E_FORMAT, "zip: no end of central directory record");
}

static int read_eocd64(const wk_pth *p, uint64_t loc, zip_end *e, wk_err *err)
{
    wk_cur c = wk_cur_make(p->data + loc, LOCATOR64_SIZE, loc);
    uint32_t sig, disk, ndisks;
    uint64_t off;
    if (wk_cur_u32(&c, &sig) || wk_cur_u32(&c, &disk) || wk_cur_u64(&c, &off) ||
        wk_cur_u32(&c, &ndisks))
        return fail(p, err, WK_E_FORMAT, "zip: truncated zip64 locator");
    if (disk != 0 || ndisks > 1)
        return fail(p, err, WK_E_UNSUPPORTED, "zip: multi-disk archive");
    if (off > loc || loc - off < EOCD64_SIZE)
        return fail(p, err, WK_E_FORMAT, "zip: zip64 end record offset %" PRIu64 " out of range", off);
    c = wk_cur_make(p->data + off, (size_t)(loc - off), off);
    uint64_t rsize, here;
    uint16_t made, need;
    uint32_t d1, d2;
    if (wk_cur_u32(&c, &sig) || wk_cur_u64(&c, &rsize) || wk_cur_u16(&c, &made) ||
        wk_cur_u16(&c, &need) || wk_cur_u32(&c, &d1) || wk_cur_u32(&c, &d2) ||
        wk_cur_u64(&c, &here) || wk_cur_u64(&c, &e->entries) || wk_cur_u64(&c, &e->cd_size) ||
        wk_cur_u64(&c, &e->cd_off) || sig != SIG_EOCD64)
        return fail(p, err, WK_E_FORMAT, "zip: bad zip64 end record at byte %" PRIu64, off);
    if (d1 || d2 || here != e->entries) return fail(p, err, WK_E_UNSUPPORTED, "zip: multi-disk archive");
    e->end = off;
    return 0;
}

static int read_end(const wk_pth *p, zip_end *e, wk_err *err)
{
    uint64_t pos = 0;
    WK_TRY(find_eocd(p, &pos, err));
    wk_cur c = wk_cur_make(p->data + pos, EOCD_SIZE, pos);
    uint32_t sig, cd_size, cd_off;
    uint16_t disk, cd_disk, n_here, n_total;
    if (wk_cur_u32(&c, &sig) || wk_cur_u16(&c, &disk) || wk_cur_u16(&c, &cd_disk) ||
        wk_cur_u16(&c, &n_here) || wk_cur_u16(&c, &n_total) || wk_cur_u32(&c, &cd_size) ||
        wk_cur_u32(&c, &cd_off))
        return fail(p, err, WK_E_FORMAT, "zip: truncated end record");
    if (pos >= LOCATOR64_SIZE && wk_le32(p->data + pos - LOCATOR64_SIZE) == SIG_LOCATOR64) {
        WK_TRY(read_eocd64(p, pos - LOCATOR64_SIZE, e, err));
        /* values not saturated in the 32-bit record must agree (two readers
         * must never see two different archives) */
        if ((n_total != 0xFFFF && n_total != e->entries) ||
            (cd_size != 0xFFFFFFFFu && cd_size != e->cd_size) ||
            (cd_off != 0xFFFFFFFFu && cd_off != e->cd_off))
            return fail(p, err, WK_E_FORMAT, "zip: end record and zip64 end record disagree");
    } else {
        if (n_total == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu)
            return fail(p, err, WK_E_FORMAT, "zip: zip64 values without a zip64 locator");
        if (disk || cd_disk || n_here != n_total)
            return fail(p, err, WK_E_UNSUPPORTED, "zip: multi-disk archive");
        e->entries = n_total;
        e->cd_size = cd_size;
        e->cd_off = cd_off;
        e->end = pos;
    }
    if (e->cd_off > e->end || e->cd_size > e->end - e->cd_off)
        return fail(p, err, WK_E_FORMAT, "zip: central directory (%" PRIu64 " bytes at %" PRIu64
                    ") overlaps the end records", e->cd_size, e->cd_off);
    if (e->entries > e->cd_size / CENTRAL_SIZE)
        return fail(p, err, WK_E_FORMAT, "zip: %" PRIu64 " entries cannot fit in a %" PRIu64
                    "-byte central directory", e->entries, e->cd_size);
    return 0;
}

/* ---- central directory and local headers -------------------------------- */

/* Apply the zip64 extended-information extra field (id 1) to the saturated
 * 32-bit values, in the order the spec lists them. */
static int apply_zip64(const wk_pth *p, const uint8_t *extra, size_t elen, uint64_t at,
                       uint64_t *usize, uint64_t *csize, uint64_t *lho, wk_err *err)
{
    wk_cur c = wk_cur_make(extra, elen, at);
    while (wk_cur_left(&c) >= 4) {
        uint16_t id, len;
        const uint8_t *body;
        wk_cur_u16(&c, &id);
        wk_cur_u16(&c, &len);
        if (wk_cur_bytes(&c, len, &body))
            return fail(p, err, WK_E_FORMAT, "zip: truncated extra field at byte %" PRIu64, wk_cur_pos(&c));
        if (id != 1) continue;
        wk_cur z = wk_cur_make(body, len, at);
        if ((*usize == 0xFFFFFFFFu && wk_cur_u64(&z, usize)) ||
            (*csize == 0xFFFFFFFFu && wk_cur_u64(&z, csize)) ||
            (*lho == 0xFFFFFFFFu && wk_cur_u64(&z, lho)))
            return fail(p, err, WK_E_FORMAT, "zip: short zip64 extra field at byte %" PRIu64, at);
    }
    return 0;
}

static int check_name(const wk_pth *p, const rec *r, wk_err *err)
{
    char b[300];
    const char *n = r->name;
    size_t len = r->nlen;
    if (len == 0) return fail(p, err, WK_E_FORMAT, "zip: record with an empty name");
    shown(n, len, b, sizeof b);
    if (memchr(n, '\0', len) || memchr(n, '\\', len))
        return fail(p, err, WK_E_UNSAFE, "zip: refusing record name '%s' (backslash or NUL byte)", b);
    if (n[0] == '/') return fail(p, err, WK_E_UNSAFE, "zip: refusing absolute record name '%s'", b);
    for (size_t s = 0; s <= len;) {
        const char *slash = memchr(n + s, '/', len - s);
        size_t e = slash ? (size_t)(slash - n) : len;
        if (e - s == 2 && n[s] == '.' && n[s + 1] == '.')
            return fail(p, err, WK_E_UNSAFE, "zip: refusing record name '%s' ('..' component)", b);
        s = e + 1;
    }
    const char *slash = memchr(n, '/', len);
    if (!slash || slash == n || (slash - n == 1 && n[0] == '.'))
        return fail(p, err, WK_E_FORMAT, "zip: record '%s' is not inside a top-level directory", b);
    return 0;
}

/* Read the local header of r: same name and method as the central
 * directory; sets r->data_off and checks the data lies before limit. */
static int read_local(const wk_pth *p, rec *r, uint64_t limit, wk_err *err)
{
    char b[300];
    shown(r->name, r->nlen, b, sizeof b);
    if (r->lho > limit || limit - r->lho < LOCAL_SIZE)
        return fail(p, err, WK_E_FORMAT, "zip: record '%s': local header offset %" PRIu64 " out of range",
                    b, r->lho);
    wk_cur c = wk_cur_make(p->data + r->lho, (size_t)(limit - r->lho), r->lho);
    uint32_t sig, crc, csize, usize;
    uint16_t need, flags, method, tm, dt, nlen, elen;
    const uint8_t *name;
    if (wk_cur_u32(&c, &sig) || wk_cur_u16(&c, &need) || wk_cur_u16(&c, &flags) ||
        wk_cur_u16(&c, &method) || wk_cur_u16(&c, &tm) || wk_cur_u16(&c, &dt) ||
        wk_cur_u32(&c, &crc) || wk_cur_u32(&c, &csize) || wk_cur_u32(&c, &usize) ||
        wk_cur_u16(&c, &nlen) || wk_cur_u16(&c, &elen) || sig != SIG_LOCAL)
        return fail(p, err, WK_E_FORMAT, "zip: record '%s': bad local header at byte %" PRIu64, b, r->lho);
    if (wk_cur_bytes(&c, nlen, &name) || wk_cur_skip(&c, elen))
        return fail(p, err, WK_E_FORMAT, "zip: record '%s': truncated local header", b);
    if (nlen != r->nlen || memcmp(name, r->name, nlen) != 0)
        return fail(p, err, WK_E_FORMAT, "zip: record '%s': local header name differs from the central directory", b);
    if (method != r->method)
        return fail(p, err, WK_E_FORMAT, "zip: record '%s': local header method differs from the central directory", b);
    r->data_off = wk_cur_pos(&c);
    if (r->size > limit - r->data_off)
        return fail(p, err, WK_E_FORMAT, "zip: record '%s': %" PRIu64 " bytes at %" PRIu64
                    " run past the central directory", b, r->size, r->data_off);
    return 0;
}

/* One central directory entry at c. */
static int read_central(const wk_pth *p, wk_cur *c, rec *r, wk_err *err)
{
    uint64_t at = wk_cur_pos(c);
    uint32_t sig, crc, csize32, usize32, eattr, lho32;
    uint16_t made, need, tm, dt, nlen, elen, clen, disk, iattr;
    const uint8_t *name, *extra;
    if (wk_cur_u32(c, &sig) || wk_cur_u16(c, &made) || wk_cur_u16(c, &need) ||
        wk_cur_u16(c, &r->flags) || wk_cur_u16(c, &r->method) || wk_cur_u16(c, &tm) ||
        wk_cur_u16(c, &dt) || wk_cur_u32(c, &crc) || wk_cur_u32(c, &csize32) ||
        wk_cur_u32(c, &usize32) || wk_cur_u16(c, &nlen) || wk_cur_u16(c, &elen) ||
        wk_cur_u16(c, &clen) || wk_cur_u16(c, &disk) || wk_cur_u16(c, &iattr) ||
        wk_cur_u32(c, &eattr) || wk_cur_u32(c, &lho32) || sig != SIG_CENTRAL)
        return fail(p, err, WK_E_FORMAT, "zip: bad central directory entry at byte %" PRIu64, at);
    if (wk_cur_bytes(c, nlen, &name) || wk_cur_bytes(c, elen, &extra) || wk_cur_skip(c, clen))
        return fail(p, err, WK_E_FORMAT, "zip: truncated central directory entry at byte %" PRIu64, at);
    r->name = (const char *)name;
    r->nlen = nlen;
    uint64_t usize = usize32, csize = csize32, lho = lho32;
    WK_TRY(apply_zip64(p, extra, elen, at, &usize, &csize, &lho, err));
    r->lho = lho;
    r->size = usize;
    WK_TRY(check_name(p, r, err));
    char b[300];
    shown(r->name, r->nlen, b, sizeof b);
    if (r->flags & 0x41)
        return fail(p, err, WK_E_UNSUPPORTED, "zip: record '%s' is encrypted", b);
    if (r->method != 0)
        return fail(p, err, WK_E_UNSUPPORTED, "zip: record '%s' is compressed (method %u); "
                    "only stored records can be mapped", b, r->method);
    if (csize != usize)
        return fail(p, err, WK_E_FORMAT, "zip: stored record '%s' has compressed size %" PRIu64
                    " != size %" PRIu64, b, csize, usize);
    return 0;
}

static int cmp_lho(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    return x->lho < y->lho ? -1 : x->lho > y->lho;
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* qsort has no context argument: sort (index, record pointer) pairs. */
typedef struct { size_t idx; const rec *r; } name_ref;

static int cmp_name_ref(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    return name_cmp(x->r->name, x->r->nlen, y->r->name, y->r->nlen);
}

/* Parse every record, check they do not overlap, sort by name (duplicates
 * refused) and fix the common prefix. */
static int read_records(wk_pth *p, wk_err *err)
{
    zip_end e;
    WK_TRY(read_end(p, &e, err));
    p->recs = calloc(e.entries ? (size_t)e.entries : 1, sizeof *p->recs);
    if (!p->recs) return fail(p, err, WK_E_NOMEM, "out of memory");
    wk_cur c = wk_cur_make(p->data + e.cd_off, (size_t)e.cd_size, e.cd_off);
    for (uint64_t i = 0; i < e.entries; i++) {
        WK_TRY(read_central(p, &c, &p->recs[i], err));
        p->n_recs++;
        WK_TRY(read_local(p, &p->recs[i], e.cd_off, err));
    }
    if (wk_cur_left(&c))
        return fail(p, err, WK_E_FORMAT, "zip: %zu unexpected bytes at the end of the central directory",
                    wk_cur_left(&c));
    if (p->n_recs == 0) return fail(p, err, WK_E_FORMAT, "zip: archive has no records");
    /* overlap check on a copy sorted by local header offset */
    rec *s = malloc(p->n_recs * sizeof *s);
    if (!s) return fail(p, err, WK_E_NOMEM, "out of memory");
    memcpy(s, p->recs, p->n_recs * sizeof *s);
    qsort(s, p->n_recs, sizeof *s, cmp_lho);
    for (size_t i = 1; i < p->n_recs; i++) {
        if (s[i].lho < s[i - 1].data_off + s[i - 1].size) {
            char b[300];
            shown(s[i].name, s[i].nlen, b, sizeof b);
            free(s);
            return fail(p, err, WK_E_FORMAT, "zip: record '%s' overlaps the previous record", b);
        }
    }
    free(s);
    name_ref *nr = malloc(p->n_recs * sizeof *nr);
    p->by_name = malloc(p->n_recs * sizeof *p->by_name);
    if (!nr || !p->by_name) {
        free(nr);
        return fail(p, err, WK_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < p->n_recs; i++) nr[i] = (name_ref){i, &p->recs[i]};
    qsort(nr, p->n_recs, sizeof *nr, cmp_name_ref);
    for (size_t i = 0; i < p->n_recs; i++) p->by_name[i] = nr[i].idx;
    free(nr);
    for (size_t i = 1; i < p->n_recs; i++) {
        const rec *a = &p->recs[p->by_name[i - 1]], *b = &p->recs[p->by_name[i]];
        if (!name_cmp(a->name, a->nlen, b->name, b->nlen)) {
            char nb[300];
            return fail(p, err, WK_E_UNSAFE, "zip: duplicate record name '%s'",
                        shown(a->name, a->nlen, nb, sizeof nb));
        }
    }
    /* common prefix = first component of the first record */
    const rec *r0 = &p->recs[0];
    size_t plen = (size_t)((const char *)memchr(r0->name, '/', r0->nlen) - r0->name);
    for (size_t i = 1; i < p->n_recs; i++) {
        const rec *r = &p->recs[i];
        if (r->nlen <= plen || memcmp(r->name, r0->name, plen) != 0 || r->name[plen] != '/') {
            char b[300], pb[300];
            return fail(p, err, WK_E_UNSAFE, "zip: record '%s' is outside the archive directory '%s'",
                        shown(r->name, r->nlen, b, sizeof b), shown(r0->name, plen, pb, sizeof pb));
        }
    }
    p->prefix = malloc(plen + 1);
    if (!p->prefix) return fail(p, err, WK_E_NOMEM, "out of memory");
    memcpy(p->prefix, r0->name, plen);
    p->prefix[plen] = '\0';
    p->plen = plen;
    return 0;
}

/* Record i as libzip sees it (name raw, sizes, method, no encryption) must
 * be the one of the central directory. */
static int cross_check_rec(const wk_pth *p, zip_t *za, size_t i, wk_err *err)
{
    const rec *r = &p->recs[i];
    zip_stat_t st;
    char b[300];
    shown(r->name, r->nlen, b, sizeof b);
    if (zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) != 0)
        return fail(p, err, WK_E_FORMAT, "zip: libzip cannot stat record '%s': %s", b, zip_strerror(za));
    if (!st.name || strlen(st.name) != r->nlen || memcmp(st.name, r->name, r->nlen) ||
        st.size != r->size || st.comp_size != r->size || st.comp_method != ZIP_CM_STORE ||
        st.encryption_method != ZIP_EM_NONE)
        return fail(p, err, WK_E_FORMAT, "zip: record '%s': libzip and the central directory disagree", b);
    return 0;
}

/* Check libzip sees the same records (names raw, sizes, method, no encryption). */
static int cross_check_libzip(const wk_pth *p, wk_err *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(p->data, p->size, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (!za) {
        int rc = fail(p, err, WK_E_FORMAT, "zip: libzip refuses the archive: %s", zip_error_strerror(&ze));
        if (src) zip_source_free(src);
        zip_error_fini(&ze);
        return rc;
    }
    int rc = -1;
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0 || (uint64_t)n != p->n_recs) {
        fail(p, err, WK_E_FORMAT, "zip: libzip counts %" PRId64 " records, the central directory %zu",
             (int64_t)n, p->n_recs);
        goto done;
    }
    for (size_t i = 0; i < p->n_recs; i++) WK_TRY_GOTO(cross_check_rec(p, za, i, err), done);
    rc = 0;
done:
    zip_discard(za);
    zip_error_fini(&ze);
    return rc;
}

/* Record called prefix + "/" + rest, or NULL. */
static rec *find_rec(const wk_pth *p, const char *rest, size_t rlen)
{
    size_t lo = 0, hi = p->n_recs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        rec *r = &p->recs[p->by_name[mid]];
        int c;
        /* compare r->name with prefix "/" rest without building the string */
        if (r->nlen < p->plen + 1) {
            c = name_cmp(r->name, r->nlen, p->prefix, p->plen);
            if (c == 0) c = -1; /* r is "prefix", shorter than "prefix/rest" */
        }
        else if ((c = memcmp(r->name, p->prefix, p->plen)) == 0) {
            c = (unsigned char)r->name[p->plen] - '/';
            if (!c) c = name_cmp(r->name + p->plen + 1, r->nlen - p->plen - 1, rest, rlen);
        }
        if (c == 0) return r;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static int check_records(wk_pth *p, wk_err *err)
{
    if (find_rec(p, "constants.pkl", 13))
        return fail(p, err, WK_E_UNSUPPORTED,
                    "TorchScript archive (torch.jit.save) is not a torch.save checkpoint");
    p->pkl = find_rec(p, "data.pkl", 8);
    if (!p->pkl) return fail(p, err, WK_E_FORMAT, "zip: no record '%s/data.pkl'", p->prefix);
    const rec *bo = find_rec(p, "byteorder", 9);
    if (bo) {
        const char *v = (const char *)p->data + bo->data_off;
        if (bo->size == 3 && memcmp(v, "big", 3) == 0)
            return fail(p, err, WK_E_UNSUPPORTED, "big-endian checkpoint (byteorder 'big')");
        if (bo->size != 6 || memcmp(v, "little", 6) != 0)
            return fail(p, err, WK_E_FORMAT, "record '%s/byteorder' is neither 'little' nor 'big'", p->prefix);
    }
    return 0;
}

/* ---- tensors -------------------------------------------------------------- */

static int64_t add_checked(int64_t a, int64_t b, int *ovf)
{
    if (b > INT64_MAX - a) *ovf = 1;
    return *ovf ? 0 : a + b;
}

int wk_pth_check_extent(const wk_tensor_info *t, wk_err *err)
{
    const char *nm = t->name ? t->name : "?";
    const wk_dtype_info *di = wk_dtype_get(t->dtype);
    if (!di) return wk_err_set(err, WK_E_FORMAT, "tensor '%s': bad dtype", nm);
    if (t->ndim < 0 || t->ndim > WK_MAX_DIMS)
        return wk_err_set(err, WK_E_UNSUPPORTED, "tensor '%s': %d dimensions", nm, t->ndim);
    if (t->storage_offset < 0)
        return wk_err_set(err, WK_E_FORMAT, "tensor '%s': negative storage offset %" PRId64, nm,
                          t->storage_offset);
    for (int i = 0; i < t->ndim; i++) {
        if (t->stride[i] < 0)
            return wk_err_set(err, WK_E_FORMAT, "tensor '%s': negative stride %" PRId64
                              " in dimension %d (not supported)", nm, t->stride[i], i);
    }
    int64_t numel;
    WK_TRY(wk_tensor_numel(t, &numel, err));
    if ((uint64_t)numel > SIZE_MAX / di->size)
        return wk_err_set(err, WK_E_LIMIT, "tensor '%s': %" PRId64 " elements overflow the address space",
                          nm, numel);
    uint64_t storage_numel = t->storage_nbytes / di->size;
    if (numel == 0) {
        if ((uint64_t)t->storage_offset > storage_numel)
            return wk_err_set(err, WK_E_FORMAT, "tensor '%s': storage offset %" PRId64
                              " is past the end of its storage (%" PRIu64 " elements)", nm,
                              t->storage_offset, storage_numel);
        return 0;
    }
    int ovf = 0;
    int64_t last = t->storage_offset;
    for (int i = 0; i < t->ndim && !ovf; i++) {
        int64_t span = t->shape[i] - 1;
        if (t->stride[i] && span > INT64_MAX / t->stride[i]) ovf = 1;
        else last = add_checked(last, span * t->stride[i], &ovf);
    }
    if (ovf)
        return wk_err_set(err, WK_E_LIMIT, "tensor '%s': extent of shape x stride overflows 64 bits", nm);
    if ((uint64_t)last >= storage_numel)
        return wk_err_set(err, WK_E_FORMAT, "tensor '%s': element %" PRId64
                          " is past the end of its storage (%" PRIu64 " elements)", nm, last,
                          storage_numel);
    return 0;
}

int wk_pth_tensor_nbytes(const wk_tensor_info *t, uint64_t *nbytes, wk_err *err)
{
    const wk_dtype_info *di = wk_dtype_get(t->dtype);
    if (!di) return wk_err_set(err, WK_E_FORMAT, "tensor '%s': bad dtype", t->name ? t->name : "?");
    int64_t numel;
    WK_TRY(wk_tensor_numel(t, &numel, err));
    if ((uint64_t)numel > UINT64_MAX / di->size)
        return wk_err_set(err, WK_E_LIMIT, "tensor '%s': byte size overflows", t->name ? t->name : "?");
    *nbytes = (uint64_t)numel * di->size;
    return 0;
}

const uint8_t *wk_pth_tensor_view(const wk_tensor_info *t, uint64_t *nbytes)
{
    uint64_t n;
    if (!t->storage || wk_pth_check_extent(t, NULL) || wk_pth_tensor_nbytes(t, &n, NULL))
        return NULL;
    if (n != 0 && !wk_tensor_is_contiguous(t)) return NULL; /* empty views are contiguous */
    if (nbytes) *nbytes = n;
    return t->storage + (uint64_t)t->storage_offset * wk_dtype_get(t->dtype)->size;
}

int wk_pth_copy_out(const wk_tensor_info *t, void *dst, size_t cap, wk_err *err)
{
    const char *nm = t->name ? t->name : "?";
    uint64_t n;
    WK_TRY(wk_pth_check_extent(t, err));
    WK_TRY(wk_pth_tensor_nbytes(t, &n, err));
    if (n > cap)
        return wk_err_set(err, WK_E_USAGE, "tensor '%s': needs %" PRIu64 " bytes, buffer has %zu", nm, n, cap);
    if (n == 0) return 0;
    if (!t->storage) return wk_err_set(err, WK_E_USAGE, "tensor '%s': storage not resolved", nm);
    size_t es = wk_dtype_get(t->dtype)->size;
    const uint8_t *base = t->storage + (uint64_t)t->storage_offset * es;
    uint8_t *out = dst;
    if (wk_tensor_is_contiguous(t)) {
        memcpy(out, base, (size_t)n);
        return 0;
    }
    /* odometer over all dimensions but the last; the last is copied as a row */
    int nd = t->ndim;
    int64_t idx[WK_MAX_DIMS] = {0};
    int64_t inner = t->shape[nd - 1], istride = t->stride[nd - 1];
    for (;;) {
        int64_t off = 0;
        for (int d = 0; d < nd - 1; d++) off += idx[d] * t->stride[d];
        const uint8_t *src = base + (uint64_t)off * es;
        if (istride == 1) {
            memcpy(out, src, (size_t)inner * es);
            out += (size_t)inner * es;
        } else {
            for (int64_t k = 0; k < inner; k++, out += es)
                memcpy(out, src + (uint64_t)(k * istride) * es, es);
        }
        int d = nd - 2;
        while (d >= 0 && ++idx[d] == t->shape[d]) idx[d--] = 0;
        if (d < 0) break;
    }
    return 0;
}

static int key_ok(const char *k, size_t n)
{
    if (n == 0 || n > MAX_KEY_LEN) return 0;
    if ((n == 1 && k[0] == '.') || (n == 2 && k[0] == '.' && k[1] == '.')) return 0;
    return !memchr(k, '/', n) && !memchr(k, '\\', n) && !memchr(k, '\0', n);
}

/* wk_pickle_flatten callback: resolve and validate one tensor (messages
 * without the path; load_tensors prefixes it). */
static int on_tensor(void *ctx, const char *name, const wk_pv *tv, wk_err *err)
{
    wk_pth *p = ctx;
    const wk_pv *st = tv->u.tensor.storage;
    const char *key = st->u.storage.key;
    size_t klen = st->u.storage.key_len;
    char kb[300], rb[300];
    shown(key, klen, kb, sizeof kb);
    if (!key_ok(key, klen))
        return wk_err_set(err, WK_E_UNSAFE, "tensor '%s': refusing storage key '%s'", name, kb);
    char rest[MAX_KEY_LEN + 8];
    memcpy(rest, "data/", 5);
    memcpy(rest + 5, key, klen);
    rec *r = find_rec(p, rest, klen + 5);
    if (!r) return wk_err_set(err, WK_E_FORMAT, "tensor '%s': storage record '%s/data/%s' not found",
                        name, p->prefix, kb);
    shown(r->name, r->nlen, rb, sizeof rb);
    const wk_dtype_info *di = wk_dtype_get(st->u.storage.dtype);
    uint64_t numel = (uint64_t)st->u.storage.numel;
    if (numel > UINT64_MAX / di->size || numel * di->size != r->size)
        return wk_err_set(err, WK_E_FORMAT, "tensor '%s': storage record '%s' has %" PRIu64
                    " bytes, but its persistent id says %" PRIu64 " x %zu-byte %s", name, rb,
                    r->size, numel, di->size, di->torch_name);
    if (r->used && r->dtype != st->u.storage.dtype)
        return wk_err_set(err, WK_E_FORMAT, "storage '%s' is viewed as %s by '%s' and as %s by '%s'", kb,
                    wk_dtype_get(r->dtype)->torch_name, p->t[r->first_user].name, di->torch_name, name);
    if (p->n_t == p->cap_t) {
        size_t cap = p->cap_t ? p->cap_t * 2 : 64;
        wk_tensor_info *t = realloc(p->t, cap * sizeof *t);
        if (!t) return wk_err_set(err, WK_E_NOMEM, "out of memory");
        p->t = t;
        p->cap_t = cap;
    }
    wk_tensor_info *t = &p->t[p->n_t];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->storage_key = strndup(key, klen);
    if (!t->name || !t->storage_key) {
        free(t->name);
        free(t->storage_key);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    p->n_t++;
    t->dtype = st->u.storage.dtype;
    t->ndim = tv->u.tensor.ndim;
    memcpy(t->shape, tv->u.tensor.shape, sizeof t->shape);
    memcpy(t->stride, tv->u.tensor.stride, sizeof t->stride);
    t->storage_offset = tv->u.tensor.storage_offset;
    t->storage_nbytes = r->size;
    t->storage = p->data + r->data_off;
    t->file_offset = r->data_off;
    if (!r->used) {
        r->used = 1;
        r->dtype = t->dtype;
        r->first_user = p->n_t - 1;
        p->n_storages++;
        p->storage_bytes += r->size;
    }
    return wk_pth_check_extent(t, err);
}

static int cmp_tensor_name(const void *a, const void *b)
{
    const wk_tensor_info *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int check_unique_names(const wk_pth *p, wk_err *err)
{
    if (p->n_t < 2) return 0;
    const wk_tensor_info **v = malloc(p->n_t * sizeof *v);
    if (!v) return fail(p, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < p->n_t; i++) v[i] = &p->t[i];
    qsort(v, p->n_t, sizeof *v, cmp_tensor_name);
    int rc = -1;
    for (size_t i = 1; i < p->n_t; i++) {
        if (!strcmp(v[i - 1]->name, v[i]->name)) {
            fail(p, err, WK_E_FORMAT, "duplicate tensor name '%s'", v[i]->name);
            goto done;
        }
    }
    rc = 0;
done:
    free(v);
    return rc;
}

static int load_tensors(wk_pth *p, wk_err *err)
{
    char pname[300];
    snprintf(pname, sizeof pname, "%s/data.pkl", p->prefix);
    p->pk = wk_pickle_load(p->data + p->pkl->data_off, (size_t)p->pkl->size, pname, err);
    if (!p->pk) return wk_err_prefix(err, "%s", p->path);
    int rc = wk_pickle_flatten(p->pk, on_tensor, p, &p->n_skipped, err);
    if (rc) return wk_err_prefix(err, "%s", p->path);
    return check_unique_names(p, err);
}

/* ---- open / close ----------------------------------------------------------- */

static wk_pth *open_common(wk_pth *p, unsigned flags, wk_err *err)
{
    if (detect(p, err) || read_records(p, err) || cross_check_libzip(p, err) ||
        check_records(p, err) || (!(flags & WK_PTH_CONTAINER_ONLY) && load_tensors(p, err))) {
        wk_pth_close(p);
        return NULL;
    }
    return p;
}

wk_pth *wk_pth_open_buffer(const uint8_t *data, size_t size, const char *name, unsigned flags,
                           wk_err *err)
{
    wk_pth *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(name ? name : "checkpoint"))) {
        free(p);
        wk_err_set(err, WK_E_NOMEM, "out of memory opening %s", name ? name : "checkpoint");
        return NULL;
    }
    p->data = data;
    p->size = data ? size : 0;
    return open_common(p, flags, err);
}

wk_pth *wk_pth_open(const char *path, unsigned flags, wk_err *err)
{
    wk_pth *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        wk_err_set(err, WK_E_NOMEM, "out of memory opening %s", path);
        return NULL;
    }
    if (wk_map_open(&p->map, path, err)) {
        free(p->path);
        free(p);
        return NULL;
    }
    p->mapped = 1;
    p->data = p->map.data;
    p->size = p->map.data ? p->map.size : 0;
    return open_common(p, flags, err);
}

void wk_pth_close(wk_pth *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_t; i++) {
        free(p->t[i].name);
        free(p->t[i].storage_key);
    }
    free(p->t);
    wk_pickle_free(p->pk);
    free(p->by_name);
    free(p->recs);
    free(p->prefix);
    if (p->mapped) wk_map_close(&p->map);
    free(p->path);
    free(p);
}

size_t wk_pth_count(const wk_pth *p) { return p->n_t; }
const wk_tensor_info *wk_pth_tensor(const wk_pth *p, size_t i) { return i < p->n_t ? &p->t[i] : NULL; }
size_t wk_pth_skipped(const wk_pth *p) { return p->n_skipped; }
size_t wk_pth_storage_count(const wk_pth *p) { return p->n_storages; }
uint64_t wk_pth_storage_bytes(const wk_pth *p) { return p->storage_bytes; }
const char *wk_pth_prefix(const wk_pth *p) { return p->prefix; }
int wk_pth_protocol(const wk_pth *p) { return p->pk ? wk_pickle_protocol(p->pk) : 0; }
const char *wk_pth_path(const wk_pth *p) { return p->path; }

long wk_pth_find(const wk_pth *p, const char *name)
{
    for (size_t i = 0; i < p->n_t; i++)
        if (!strcmp(p->t[i].name, name)) return (long)i;
    return -1;
}

const uint8_t *wk_pth_pickle(const wk_pth *p, size_t *len, uint64_t *file_offset)
{
    if (len) *len = (size_t)p->pkl->size;
    if (file_offset) *file_offset = p->pkl->data_off;
    return p->data + p->pkl->data_off;
}
