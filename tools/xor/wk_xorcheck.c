/* wk_xorcheck.c — tensor statistics of a decoded checkpoint (see the header). */
#include "wk_xorcheck.h"

#include "wk_cursor.h"
#include "wk_gguf.h"
#include "wk_json.h"
#include "wk_pickle.h"
#include "wk_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

int wk_xorcheck_wants(const char *name)
{
    return ends_with(name, ".bin") || ends_with(name, ".safetensors") ||
           ends_with(name, ".pth") || ends_with(name, ".pt");
}

int wk_xorcheck_suspect(const wk_xorcheck *c)
{
    return c->unreadable || c->flagged > 0;
}

/* Record tensor t's stats if they look like noise. */
static void note(wk_xorcheck *c, const char *name, const wk_tensor_stats *st)
{
    c->tensors++;
    if (!st->flags) return;
    c->flagged++;
    if (c->n_listed == WK_XORCHECK_MAX_LISTED) return;
    wk_xorcheck_tensor *l = &c->listed[c->n_listed++];
    snprintf(l->name, sizeof l->name, "%s", name);
    l->stats = *st;
}

/* ---- the streaming consumer ------------------------------------------------ */

/* One tensor's byte range in the file and its accumulation. */
typedef enum { XS_PENDING, XS_ACTIVE, XS_DONE, XS_DROPPED } xs_state;

typedef struct {
    uint64_t start, len;   /* absolute byte range in the file */
    int type;              /* ggml type: F32, F16, BF16 or F64 */
    size_t per;            /* bytes per stats chunk (WK_STATS_CHUNK values) */
    uint64_t fed;          /* bytes accumulated so far */
    uint8_t *stage;        /* a partial chunk (per bytes) while active */
    size_t staged;
    int bad;               /* wk_stats_add refused a piece */
    xs_state state;
    wk_tensor_stats st;
} xs_range;

/* A tensor of data.pkl: its storage `key`, the storage's size, and (use 1:
 * a contiguous floating tensor) where it lies in the storage. */
typedef struct {
    char *key;
    size_t klen;
    uint64_t storage_bytes; /* numel x element size of the persistent id; UINT64_MAX unknown */
    int use;
    uint64_t off, len;     /* bytes, inside the storage record */
    int type;
} xs_view;

typedef enum {
    XM_DETECT,    /* first bytes: zip magic or a safetensors length */
    XM_ZIP_HDR,   /* collecting a 30-byte local file header */
    XM_ZIP_VAR,   /* collecting its name + extra field */
    XM_ZIP_DATA,  /* inside a stored record of known size (left bytes) */
    XM_ZIP_SCAN,  /* inside a record of unknown size: until its data descriptor */
    XM_ZIP_DESC,  /* the data descriptor after a record of known size */
    XM_ST_HDR,    /* collecting the safetensors JSON header */
    XM_IDLE       /* nothing more to learn: only the ranges already known run */
} xs_mode;

#define XS_PREFIX_MAX 256
#define XS_KEY_MAX 256

struct wk_xorcheck_stream {
    uint64_t pos;              /* bytes seen */
    xs_mode mode;
    uint8_t fix[30];           /* fixed-size header being collected */
    size_t nfix;
    uint8_t *var;              /* name + extra / data.pkl / JSON header */
    size_t nvar, need;
    uint16_t nlen, elen;       /* of the current local header */
    uint32_t csize32, usize32;
    uint64_t left;             /* bytes of the current record still to come */
    uint64_t dlen;             /* its data size (XM_ZIP_DESC) / bytes so far (XM_ZIP_SCAN) */
    int has_desc;              /* a data descriptor follows the record (flag bit 3) */
    uint8_t win[24];           /* the last bytes seen in XM_ZIP_SCAN / XM_ZIP_DESC */
    size_t nwin;
    int in_pkl;                /* the current record is data.pkl, buffered in var */
    char prefix[XS_PREFIX_MAX];
    size_t plen;               /* 0 until the first record named it */
    xs_view *views;            /* sorted by key once data.pkl was read */
    size_t n_views, cap_views;
    int have_views;
    xs_range *r;
    size_t n_r, cap_r, next;   /* ranges [next, n_r) are pending, sorted by start */
    size_t active[WK_XORCHECK_MAX_ACTIVE];
    size_t n_active;
};

wk_xorcheck_stream *wk_xorcheck_stream_new(void)
{
    return calloc(1, sizeof(wk_xorcheck_stream));
}

static void free_views(wk_xorcheck_stream *s)
{
    for (size_t i = 0; i < s->n_views; i++) free(s->views[i].key);
    free(s->views);
    s->views = NULL;
    s->n_views = s->cap_views = 0;
}

void wk_xorcheck_stream_free(wk_xorcheck_stream *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_r; i++) free(s->r[i].stage);
    free(s->r);
    free(s->var);
    free_views(s);
    free(s);
}

/* Stop learning: free the parse buffers; known ranges keep running. */
static void go_idle(wk_xorcheck_stream *s)
{
    s->mode = XM_IDLE;
    free(s->var);
    s->var = NULL;
    s->nvar = s->need = 0;
    free_views(s);
}

/* Bytes per wk_stats_add chunk for a type we stream, or 0 (not streamed). */
static size_t chunk_bytes(int type)
{
    if (type == WK_GGML_F32) return (size_t)WK_STATS_CHUNK * 4;
    if (type == WK_GGML_F16 || type == WK_GGML_BF16) return (size_t)WK_STATS_CHUNK * 2;
    if (type == WK_GGML_F64) return (size_t)WK_STATS_CHUNK * 8;
    return 0;
}

/* Add a pending range [start, start+len) of type.  Ranges that start before
 * the bytes still to come, are empty or not a whole number of values, or
 * exceed the limit, are not added (their tensors are re-read).  0, or -1 on
 * OOM (the caller then stops learning). */
static int add_range(wk_xorcheck_stream *s, uint64_t start, uint64_t len, int type, uint64_t from)
{
    size_t per = chunk_bytes(type);
    if (!per || len == 0 || len % (per / WK_STATS_CHUNK) || start < from || start > UINT64_MAX - len)
        return 0;
    if (s->n_r == WK_XORCHECK_MAX_RANGES) return 0;
    if (s->n_r == s->cap_r) {
        size_t cap = s->cap_r ? s->cap_r * 2 : 64;
        if (cap > WK_XORCHECK_MAX_RANGES) cap = WK_XORCHECK_MAX_RANGES;
        xs_range *r = realloc(s->r, cap * sizeof *r);
        if (!r) return -1;
        s->r = r;
        s->cap_r = cap;
    }
    xs_range *a = &s->r[s->n_r++];
    memset(a, 0, sizeof *a);
    a->start = start;
    a->len = len;
    a->type = type;
    a->per = per;
    a->state = XS_PENDING;
    wk_stats_init(&a->st);
    return 0;
}

static int cmp_range_start(const void *x, const void *y)
{
    const xs_range *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Keep the pending ranges sorted by start after a batch was added. */
static void sort_pending(wk_xorcheck_stream *s)
{
    if (s->n_r - s->next > 1) qsort(s->r + s->next, s->n_r - s->next, sizeof *s->r, cmp_range_start);
}

/* ---- accumulation ---- */

static void acc_add(xs_range *a, const uint8_t *p, size_t n)
{
    wk_err e;
    if (!a->bad && wk_stats_add(&a->st, a->type, p, n, "stream", &e)) a->bad = 1;
}

/* Feed the next n bytes of range a, in chunks aligned on its start. */
static void acc_feed(xs_range *a, const uint8_t *p, size_t n)
{
    a->fed += n;
    if (a->staged) {
        size_t m = a->per - a->staged < n ? a->per - a->staged : n;
        memcpy(a->stage + a->staged, p, m);
        a->staged += m;
        p += m;
        n -= m;
        if (a->staged < a->per) return;
        acc_add(a, a->stage, a->per);
        a->staged = 0;
    }
    size_t whole = n - n % a->per;
    if (whole) acc_add(a, p, whole);
    if (n > whole) {
        memcpy(a->stage, p + whole, n - whole);
        a->staged = n - whole;
    }
}

/* Range a got its last byte: flush, finish, release its chunk buffer. */
static void acc_done(xs_range *a)
{
    if (a->staged) acc_add(a, a->stage, a->staged);
    wk_stats_finish(&a->st);
    free(a->stage);
    a->stage = NULL;
    a->state = a->bad ? XS_DROPPED : XS_DONE;
}

/* Run the ranges over bytes [s->pos, s->pos + n) at p. */
static void ranges_feed(wk_xorcheck_stream *s, const uint8_t *p, size_t n)
{
    uint64_t lo = s->pos, hi = s->pos + n;
    while (s->next < s->n_r && s->r[s->next].start < hi) {
        xs_range *a = &s->r[s->next];
        size_t idx = s->next++;
        if (a->start < lo || s->n_active == WK_XORCHECK_MAX_ACTIVE || !(a->stage = malloc(a->per))) {
            a->state = XS_DROPPED;
            continue;
        }
        a->state = XS_ACTIVE;
        s->active[s->n_active++] = idx;
    }
    for (size_t k = 0; k < s->n_active;) {
        xs_range *a = &s->r[s->active[k]];
        uint64_t b = a->start + a->fed > lo ? a->start + a->fed : lo;
        uint64_t e = a->start + a->len < hi ? a->start + a->len : hi;
        if (b < e) acc_feed(a, p + (b - lo), (size_t)(e - b));
        if (a->fed == a->len) {
            acc_done(a);
            s->active[k] = s->active[--s->n_active];
        } else {
            k++;
        }
    }
}

/* ---- safetensors ---- */

/* The JSON header (s->var, s->nvar bytes) is complete: add a range per
 * floating tensor.  Anything malformed stops the learning. */
static void st_header(wk_xorcheck_stream *s)
{
    wk_err e;
    uint64_t base = 8 + (uint64_t)s->nvar;
    wk_json *j = wk_json_parse(s->var, s->nvar, NULL, &e);
    int ok = j && wk_json_type_of(j) == WK_JSON_OBJECT;
    for (size_t i = 0; ok && i < wk_json_len(j); i++) {
        size_t klen;
        const char *key = wk_json_key_at(j, i, &klen);
        const wk_json *v = wk_json_value_at(j, i);
        if (klen == 12 && !memcmp(key, "__metadata__", 12)) continue;
        const wk_json *offs = wk_json_type_of(v) == WK_JSON_OBJECT ? wk_json_get(v, "data_offsets") : NULL;
        const char *dt;
        size_t dlen;
        int64_t b, en;
        if (!offs || wk_json_type_of(offs) != WK_JSON_ARRAY || wk_json_len(offs) != 2 ||
            wk_json_get_string(v, "dtype", &dt, &dlen, &e) ||
            wk_json_as_int(wk_json_at(offs, 0), &b, &e) || wk_json_as_int(wk_json_at(offs, 1), &en, &e) ||
            b < 0 || en < b || (uint64_t)en > UINT64_MAX - base) {
            ok = 0;
            break;
        }
        int dtype = wk_dtype_from_st_name(dt, dlen);
        int type = dtype < 0 ? -1 : wk_ggml_type_from_dtype((wk_dtype)dtype);
        if (add_range(s, base + (uint64_t)b, (uint64_t)(en - b), type, base)) ok = 0;
    }
    wk_json_free(j);
    sort_pending(s);
    go_idle(s);  /* the data buffer follows: nothing more to parse */
    (void)ok;
}

/* ---- torch zip ---- */

/* wk_pickle_flatten callback: note every tensor's storage key and size, and
 * for a contiguous floating tensor its place in the storage (others are
 * re-read). */
static int on_view(void *ctx, const char *name, const wk_pv *tv, wk_err *err)
{
    (void)name;
    wk_xorcheck_stream *s = ctx;
    const wk_pv *sv = tv->u.tensor.storage;
    if (!sv || sv->kind != WK_PV_STORAGE || tv->u.tensor.ndim < 0 || tv->u.tensor.ndim > WK_MAX_DIMS)
        return 0;
    size_t klen = sv->u.storage.key_len;
    const wk_dtype_info *di = wk_dtype_get(sv->u.storage.dtype);
    if (!di || klen == 0 || klen > XS_KEY_MAX || s->n_views == WK_XORCHECK_MAX_RANGES) return 0;
    if (s->n_views == s->cap_views) {
        size_t cap = s->cap_views ? s->cap_views * 2 : 64;
        xs_view *v = realloc(s->views, cap * sizeof *v);
        if (!v) return wk_err_set(err, WK_E_NOMEM, "out of memory");
        s->views = v;
        s->cap_views = cap;
    }
    xs_view *v = &s->views[s->n_views];
    memset(v, 0, sizeof *v);
    if (!(v->key = malloc(klen))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    memcpy(v->key, sv->u.storage.key, klen);
    v->klen = klen;
    s->n_views++;
    int64_t sn = sv->u.storage.numel;
    v->storage_bytes = sn >= 0 && (uint64_t)sn <= UINT64_MAX / 2 / di->size ? (uint64_t)sn * di->size
                                                                             : UINT64_MAX;
    v->type = wk_ggml_type_from_dtype(sv->u.storage.dtype);
    size_t per = chunk_bytes(v->type), es = per / WK_STATS_CHUNK;
    wk_tensor_info t;
    memset(&t, 0, sizeof t);
    t.ndim = tv->u.tensor.ndim;
    memcpy(t.shape, tv->u.tensor.shape, sizeof t.shape);
    memcpy(t.stride, tv->u.tensor.stride, sizeof t.stride);
    int64_t numel, off = tv->u.tensor.storage_offset;
    wk_err e;
    if (!per || wk_tensor_numel(&t, &numel, &e) || numel == 0 || !wk_tensor_is_contiguous(&t) ||
        off < 0 || (uint64_t)off > UINT64_MAX / 2 / es || (uint64_t)numel > UINT64_MAX / 2 / es)
        return 0;
    v->use = 1;
    v->off = (uint64_t)off * es;
    v->len = (uint64_t)numel * es;
    return 0;
}

static int cmp_key(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int cmp_view(const void *x, const void *y)
{
    const xs_view *a = x, *b = y;
    return cmp_key(a->key, a->klen, b->key, b->klen);
}

/* data.pkl (s->var, s->nvar bytes) is complete: list its tensors by key. */
static void pkl_loaded(wk_xorcheck_stream *s)
{
    wk_err e;
    wk_pickle *pk = wk_pickle_load(s->var, s->nvar, "data.pkl", &e);
    if (pk && wk_pickle_flatten(pk, on_view, s, NULL, &e) == 0) {
        if (s->n_views > 1) qsort(s->views, s->n_views, sizeof *s->views, cmp_view);
        s->have_views = 1;
    } else {
        free_views(s);
    }
    wk_pickle_free(pk);
    free(s->var);
    s->var = NULL;
    s->nvar = 0;
    s->in_pkl = 0;
}

/* Index of the first view of storage key, or n_views. */
static size_t first_view(const wk_xorcheck_stream *s, const char *key, size_t klen)
{
    size_t lo = 0, hi = s->n_views;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_key(s->views[mid].key, s->views[mid].klen, key, klen) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < s->n_views && !cmp_key(s->views[lo].key, s->views[lo].klen, key, klen) ? lo : s->n_views;
}

/* The size data.pkl gives storage key (all its views agree), or UINT64_MAX. */
static uint64_t storage_size(const wk_xorcheck_stream *s, const char *key, size_t klen)
{
    size_t i = first_view(s, key, klen);
    uint64_t n = i < s->n_views ? s->views[i].storage_bytes : UINT64_MAX;
    for (; i < s->n_views && !cmp_key(s->views[i].key, s->views[i].klen, key, klen); i++)
        if (s->views[i].storage_bytes != n) return UINT64_MAX;
    return n;
}

/* Record data/<key> starts at byte `at` with size bytes: add its tensors. */
static int storage_record(wk_xorcheck_stream *s, const char *key, size_t klen, uint64_t at,
                          uint64_t size)
{
    for (size_t i = first_view(s, key, klen);
         i < s->n_views && !cmp_key(s->views[i].key, s->views[i].klen, key, klen); i++) {
        const xs_view *v = &s->views[i];
        if (!v->use || v->off > size || v->len > size - v->off) continue;
        if (add_range(s, at + v->off, v->len, v->type, at)) return -1;
    }
    sort_pending(s);
    return 0;
}

/* Size of a stored record from its local header and zip64 extra field;
 * UINT64_MAX when the header leaves it to a data descriptor; -1 if the
 * record is not stored as-is. */
static int record_size(const wk_xorcheck_stream *s, uint64_t *size)
{
    uint64_t us = s->usize32, cs = s->csize32;
    if (s->has_desc && us == 0 && cs == 0) {
        *size = UINT64_MAX;
        return 0;
    }
    if (us == 0xFFFFFFFFu || cs == 0xFFFFFFFFu) {
        wk_cur c = wk_cur_make(s->var + s->nlen, s->elen, 0);
        int found = 0;
        while (!found && wk_cur_left(&c) >= 4) {
            uint16_t id, sz;
            const uint8_t *body;
            if (wk_cur_u16(&c, &id) || wk_cur_u16(&c, &sz) || wk_cur_bytes(&c, sz, &body)) return -1;
            if (id != 1) continue;
            wk_cur z = wk_cur_make(body, sz, 0);
            if (us == 0xFFFFFFFFu && wk_cur_u64(&z, &us)) return -1;
            if (cs == 0xFFFFFFFFu && wk_cur_u64(&z, &cs)) return -1;
            found = 1;
        }
        if (!found) return -1;
    }
    if (us != cs || us == UINT64_MAX) return -1;
    *size = us;
    return 0;
}

/* A local header and its name + extra are complete (record data starts at
 * byte `at`): decide what to do with the record.  -1 = stop learning. */
static int zip_record(wk_xorcheck_stream *s, uint64_t at)
{
    const char *name = (const char *)s->var;
    size_t nlen = s->nlen;
    uint64_t size;
    if (record_size(s, &size)) return -1;
    if (!s->plen) {  /* the top-level directory of the first record names every other */
        const char *sl = memchr(name, '/', nlen);
        if (!sl || sl == name || (size_t)(sl - name) >= XS_PREFIX_MAX) return -1;
        s->plen = (size_t)(sl - name);
        memcpy(s->prefix, name, s->plen);
    }
    s->in_pkl = 0;
    s->nwin = 0;
    s->dlen = 0;
    int ours = nlen > s->plen + 1 && !memcmp(name, s->prefix, s->plen) && name[s->plen] == '/';
    const char *rest = ours ? name + s->plen + 1 : name;
    size_t rlen = ours ? nlen - s->plen - 1 : 0;
    int is_data = s->have_views && rlen > 5 && !memcmp(rest, "data/", 5);
    if (size == UINT64_MAX && is_data) size = storage_size(s, rest + 5, rlen - 5);
    s->left = size;
    if (rlen == 8 && !memcmp(rest, "data.pkl", 8) && !s->have_views &&
        (size == UINT64_MAX || size <= WK_XORCHECK_MAX_META)) {
        size_t cap = size == UINT64_MAX ? WK_XORCHECK_MAX_META + sizeof s->win : (size_t)size;
        uint8_t *b = malloc(cap ? cap : 1);
        if (!b) return -1;
        free(s->var);
        s->var = b;
        s->nvar = 0;
        s->need = cap;
        s->in_pkl = 1;
        return 0;
    }
    if (is_data && size != UINT64_MAX) return storage_record(s, rest + 5, rlen - 5, at, size);
    return 0;
}

/* 1 if the last dl bytes in s->win are a data descriptor for a record of
 * datalen bytes: "PK\7\8", CRC-32, then both sizes, 4 bytes each (dl 16) or
 * 8 (zip64, dl 24). */
static int desc_ends(const wk_xorcheck_stream *s, size_t dl, uint64_t datalen)
{
    if (s->nwin < dl) return 0;
    const uint8_t *d = s->win + s->nwin - dl;
    if (wk_le32(d) != 0x08074b50u) return 0;
    if (dl == 16) return wk_le32(d + 8) == datalen && wk_le32(d + 12) == datalen;
    return wk_le64(d + 8) == datalen && wk_le64(d + 16) == datalen;
}

/* Append byte c to the window of the last 24 bytes. */
static void win_push(wk_xorcheck_stream *s, uint8_t c)
{
    if (s->nwin == sizeof s->win) {
        memmove(s->win, s->win + 1, sizeof s->win - 1);
        s->nwin--;
    }
    s->win[s->nwin++] = c;
}

/* The current record (and its descriptor) ended: data.pkl is parsed, the
 * next local header follows. */
static void record_end(wk_xorcheck_stream *s)
{
    if (s->in_pkl) pkl_loaded(s);
    s->mode = XM_ZIP_HDR;
}

/* XM_ZIP_SCAN: bytes of a record of unknown size, one at a time until its
 * descriptor ends (the record's length is then the bytes before it). */
static size_t scan_step(wk_xorcheck_stream *s, const uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (s->in_pkl) {
            if (s->nvar == s->need) {
                go_idle(s);  /* longer than the limit */
                return n;
            }
            s->var[s->nvar++] = p[k];
        }
        win_push(s, p[k]);
        s->dlen++;
        size_t d = s->dlen >= 16 && desc_ends(s, 16, s->dlen - 16) ? 16
                 : s->dlen >= 24 && desc_ends(s, 24, s->dlen - 24) ? 24 : 0;
        if (d) {
            if (s->in_pkl) s->nvar -= d;
            record_end(s);
            return k + 1;
        }
        if (!s->in_pkl && s->dlen > WK_XORCHECK_MAX_META) {
            go_idle(s);
            return k + 1;
        }
    }
    return n;
}
/* XM_ZIP_DESC: the descriptor after a record of s->dlen bytes. */
static size_t desc_step(wk_xorcheck_stream *s, const uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        win_push(s, p[k]);
        if ((s->nwin == 16 && desc_ends(s, 16, s->dlen)) || (s->nwin == 24 && desc_ends(s, 24, s->dlen))) {
            record_end(s);
            return k + 1;
        }
        if (s->nwin == 24) {
            go_idle(s);
            return k + 1;
        }
    }
    return n;
}

/* XM_DETECT and XM_ZIP_HDR: collect the magic / a local header. */
static size_t header_step(wk_xorcheck_stream *s, const uint8_t *p, size_t n)
{
    size_t want = s->mode == XM_ZIP_HDR ? 30 : s->nfix < 4 ? 4 : 8;
    size_t k = want - s->nfix < n ? want - s->nfix : n;
    memcpy(s->fix + s->nfix, p, k);
    s->nfix += k;
    if (s->nfix < want) return k;
    if (s->mode == XM_DETECT && want == 4) {
        if (!memcmp(s->fix, "PK\3\4", 4)) s->mode = XM_ZIP_HDR;
        return k;
    }
    if (s->mode == XM_DETECT) {  /* a safetensors header length? */
        uint64_t hn = wk_le64(s->fix);
        s->need = (size_t)hn;
        if (hn < 2 || hn > WK_XORCHECK_MAX_META || !(s->var = malloc(s->need))) go_idle(s);
        else s->mode = XM_ST_HDR;
        return k;
    }
    uint16_t flags = wk_le16(s->fix + 6), method = wk_le16(s->fix + 8);
    s->nfix = 0;
    if (wk_le32(s->fix) != 0x04034b50u || (flags & 1) || method != 0) {
        go_idle(s);  /* the central directory, or a record we cannot follow */
        return k;
    }
    s->has_desc = (flags & 8) != 0;
    s->csize32 = wk_le32(s->fix + 18);
    s->usize32 = wk_le32(s->fix + 22);
    s->nlen = wk_le16(s->fix + 26);
    s->elen = wk_le16(s->fix + 28);
    s->need = (size_t)s->nlen + s->elen;
    uint8_t *b = s->nlen ? malloc(s->need) : NULL;
    if (!b) {
        go_idle(s);
        return k;
    }
    free(s->var);
    s->var = b;
    s->nvar = 0;
    s->mode = XM_ZIP_VAR;
    return k;
}

/* Parse up to n bytes at p (the bytes at s->pos); returns how many were
 * consumed (>= 1 for n >= 1).  Ranges it adds start at or after the end of
 * the consumed bytes. */
static size_t parse_step(wk_xorcheck_stream *s, const uint8_t *p, size_t n)
{
    size_t k;
    switch (s->mode) {
    case XM_DETECT:
    case XM_ZIP_HDR:
        return header_step(s, p, n);
    case XM_ZIP_VAR:
    case XM_ST_HDR:
        k = s->need - s->nvar < n ? s->need - s->nvar : n;
        memcpy(s->var + s->nvar, p, k);
        s->nvar += k;
        if (s->nvar < s->need) return k;
        if (s->mode == XM_ST_HDR) {
            st_header(s);
            return k;
        }
        if (zip_record(s, s->pos + k)) {
            go_idle(s);
            return k;
        }
        if (!s->in_pkl) {
            free(s->var);
            s->var = NULL;
        }
        if (s->left == UINT64_MAX) {
            s->mode = XM_ZIP_SCAN;
        } else {
            s->dlen = s->left;
            s->mode = s->left ? XM_ZIP_DATA : s->has_desc ? XM_ZIP_DESC : XM_ZIP_HDR;
            if (s->mode == XM_ZIP_HDR) record_end(s);
        }
        return k;
    case XM_ZIP_DATA:
        k = s->left < n ? (size_t)s->left : n;
        if (s->in_pkl) {
            memcpy(s->var + s->nvar, p, k);
            s->nvar += k;
        }
        s->left -= k;
        if (!s->left) {
            if (s->has_desc) s->mode = XM_ZIP_DESC;
            else record_end(s);
        }
        return k;
    case XM_ZIP_SCAN:
        return scan_step(s, p, n);
    case XM_ZIP_DESC:
        return desc_step(s, p, n);
    case XM_IDLE:
    default:
        return n;
    }
}


int wk_xorcheck_stream_feed(void *ctx, const void *p, size_t n, wk_err *err)
{
    (void)err;
    wk_xorcheck_stream *s = ctx;
    const uint8_t *b = p;
    while (n) {
        size_t k = parse_step(s, b, n);
        if (s->next < s->n_r || s->n_active) ranges_feed(s, b, k);
        s->pos += k;
        b += k;
        n -= k;
    }
    return 0;
}

/* ---- the check ---------------------------------------------------------------- */

static int cmp_done(const void *x, const void *y)
{
    const xs_range *a = *(const xs_range *const *)x, *b = *(const xs_range *const *)y;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return (a->type > b->type) - (a->type < b->type);
}

/* The finished ranges of st sorted by (start, len, type) in *out (malloc'd,
 * NULL when there are none); -1 on OOM. */
static int done_index(const wk_xorcheck_stream *st, const xs_range ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t k = 0;
    for (size_t i = 0; i < st->n_r; i++) k += st->r[i].state == XS_DONE;
    if (!k) return 0;
    const xs_range **v = malloc(k * sizeof *v);
    if (!v) return -1;
    k = 0;
    for (size_t i = 0; i < st->n_r; i++)
        if (st->r[i].state == XS_DONE) v[k++] = &st->r[i];
    qsort(v, k, sizeof *v, cmp_done);
    *out = v;
    *n = k;
    return 0;
}

/* Streamed stats of tensor i of s if the reader puts it at a finished range
 * of the same type, else NULL. */
static const wk_tensor_stats *streamed(const wk_source *s, size_t i, int type,
                                       const xs_range **idx, size_t n)
{
    const wk_source_tensor *t = wk_source_tensor_at(s, i);
    size_t file;
    uint64_t off;
    if (!n || t->nbytes == 0 || wk_source_file_range(s, i, &file, &off) || file != 0) return NULL;
    xs_range key = {.start = off, .len = t->nbytes, .type = type};
    const xs_range *kp = &key;
    const xs_range **hit = bsearch(&kp, idx, n, sizeof *idx, cmp_done);
    return hit ? &(*hit)->st : NULL;
}

int wk_xorcheck_file_stream(const char *path, const wk_xorcheck_stream *st, wk_xorcheck *out,
                            wk_err *err)
{
    memset(out, 0, sizeof *out);
    wk_err e;
    wk_err_clear(&e);
    wk_source *s = wk_source_open(path, 1, &e);
    if (!s) {
        if (e.code == WK_E_NOMEM) return (*err = e, -1);
        out->unreadable = 1;
        snprintf(out->why, sizeof out->why, "%s", e.msg);
        return 0;
    }
    out->checked = 1;
    const xs_range **idx = NULL;
    size_t n_idx = 0;
    if (st && wk_source_file_count(s) == 1 && wk_source_bytes(s) == st->pos &&
        done_index(st, &idx, &n_idx))
        n_idx = 0;  /* no memory for the index: read everything, as without a stream */
    uint8_t *scratch = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < wk_source_count(s); i++) {
        const wk_source_tensor *t = wk_source_tensor_at(s, i);
        int type = t->ggml_type >= 0 ? t->ggml_type : wk_ggml_type_from_dtype(t->dtype);
        const wk_tensor_stats *hit = streamed(s, i, type, idx, n_idx);
        wk_tensor_stats sts;
        if (hit) {
            out->streamed++;
            note(out, t->name, hit);
        } else if (wk_stats_source(s, i, &scratch, &cap, &sts, &e) == 0) {
            out->reread_bytes += t->nbytes;
            note(out, t->name, &sts);
        } else if (e.code == WK_E_UNSUPPORTED) {
            out->skipped++;
        } else if (e.code == WK_E_NOMEM) {
            rc = (*err = e, -1);
            break;
        } else {  /* a tensor whose bytes cannot be read: the file is damaged */
            out->unreadable = 1;
            snprintf(out->why, sizeof out->why, "%s", e.msg);
            break;
        }
    }
    free(idx);
    free(scratch);
    wk_source_close(s);
    return rc;
}

int wk_xorcheck_file(const char *path, wk_xorcheck *out, wk_err *err)
{
    return wk_xorcheck_file_stream(path, NULL, out, err);
}
