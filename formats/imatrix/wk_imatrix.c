/* wk_imatrix.c — llama.cpp importance matrices, GGUF and legacy (see
 * wk_imatrix.h and docs/formats/imatrix.md). */
#include "wk_imatrix.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_gguf.h"
#include "wk_io.h"
#include "wk_utf8.h"

#define SUM2_SUFFIX ".in_sum2"
#define COUNTS_SUFFIX ".counts"
#define MAX_COUNT 9007199254740992.0   /* 2^53: lround stays exact */

typedef struct {
    char *name;              /* owned, NUL-terminated */
    int64_t nval, nmat;      /* values, experts (nval % nmat == 0) */
    const uint8_t *sums;     /* nval float32 (any alignment) */
    const uint8_t *counts;   /* GGUF: nmat float32; legacy: NULL */
    int32_t ncall;           /* legacy */
} im_entry;

struct wk_imatrix {
    wk_map map;              /* wk_imatrix_open only */
    char *path;
    wk_gguf *g;              /* GGUF container, or NULL */
    int legacy;
    uint32_t chunk_count, chunk_size;
    im_entry *e;
    size_t n;
    const char *dataset;     /* legacy trailer's dataset (in the map), or NULL */
    size_t dataset_len;
    long datasets_kv;        /* GGUF imatrix.datasets KV, or -1 */
};

static float rd_f32(const uint8_t *p)
{
    float f;
    memcpy(&f, p, 4);
    return f;
}

static int32_t rd_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const im_entry *)a)->name, ((const im_entry *)b)->name);
}

/* ---- legacy ---------------------------------------------------------------------- */

/* The optional trailer at p (left bytes): int32 chunk count, then optionally
 * int32 length and the dataset name.  Nothing may follow. */
static int legacy_trailer(wk_imatrix *im, const uint8_t *p, size_t left, uint64_t off, wk_err *err)
{
    if (!left) return 0;
    WK_FAIL_IF(left < 4, err, WK_E_FORMAT, "%s: offset %" PRIu64 ": %zu stray bytes after the "
               "last entry (a chunk count needs 4)", im->path, off, left);
    const int32_t calls = rd_i32(p);
    WK_FAIL_IF(calls < 0, err, WK_E_FORMAT, "%s: offset %" PRIu64 ": negative chunk count %" PRId32,
               im->path, off, calls);
    im->chunk_count = (uint32_t)calls;
    p += 4, left -= 4, off += 4;
    if (!left) return 0;
    WK_FAIL_IF(left < 4, err, WK_E_FORMAT, "%s: offset %" PRIu64 ": truncated dataset name length",
               im->path, off);
    const int32_t len = rd_i32(p);
    WK_FAIL_IF(len < 0 || (uint64_t)len != left - 4, err, WK_E_FORMAT,
               "%s: offset %" PRIu64 ": dataset name of %" PRId32 " bytes, but %zu bytes follow "
               "(the file must end with it)", im->path, off, len, left - 4);
    if (!len) return 0;   /* llama.cpp records no dataset then */
    im->dataset = (const char *)p + 4;
    im->dataset_len = (size_t)len;
    WK_FAIL_IF(!wk_utf8_valid(im->dataset, im->dataset_len) || memchr(im->dataset, 0, im->dataset_len),
               err, WK_E_FORMAT, "%s: offset %" PRIu64 ": dataset name is not UTF-8 text", im->path,
               off + 4);
    return 0;
}

/* One legacy entry at p[0] (off: its file offset) into e; advances p[0] and left[0]. */
static int legacy_entry(wk_imatrix *im, int32_t idx, const uint8_t **p, size_t *left, uint64_t off,
                        im_entry *e, wk_err *err)
{
    const char *f = im->path;
    WK_FAIL_IF(*left < 4, err, WK_E_FORMAT, "%s: entry %" PRId32 " at offset %" PRIu64 ": truncated "
               "name length", f, idx, off);
    const int32_t len = rd_i32(*p);
    WK_FAIL_IF(len < 1 || len > WK_IMATRIX_MAX_NAME, err, WK_E_FORMAT, "%s: entry %" PRId32
               " at offset %" PRIu64 ": name length %" PRId32 " (must be 1..%d)", f, idx, off, len,
               WK_IMATRIX_MAX_NAME);
    WK_FAIL_IF(*left - 4 < (size_t)len + 8, err, WK_E_FORMAT, "%s: entry %" PRId32 " at offset %"
               PRIu64 ": truncated (name of %" PRId32 " bytes, then ncall and nval)", f, idx, off, len);
    const char *name = (const char *)*p + 4;
    WK_FAIL_IF(!wk_utf8_valid(name, (size_t)len) || memchr(name, 0, (size_t)len), err, WK_E_FORMAT,
               "%s: entry %" PRId32 " at offset %" PRIu64 ": name is not UTF-8 text", f, idx, off);
    e->ncall = rd_i32(*p + 4 + len);
    const int32_t nval = rd_i32(*p + 8 + len);
    const size_t head = 12 + (size_t)len;
    WK_FAIL_IF(nval < 1, err, WK_E_FORMAT, "%s: entry '%.*s': %" PRId32 " values (must be >= 1)", f,
               (int)len, name, nval);
    WK_FAIL_IF((*left - head) / 4 < (size_t)nval, err, WK_E_FORMAT, "%s: entry '%.*s': %" PRId32
               " values, but only %zu bytes are left", f, (int)len, name, nval, *left - head);
    e->name = malloc((size_t)len + 1);
    WK_FAIL_IF(!e->name, err, WK_E_NOMEM, "out of memory");
    memcpy(e->name, name, (size_t)len);
    e->name[len] = 0;
    e->nval = nval;
    e->nmat = 1;
    e->sums = *p + head;
    e->counts = NULL;
    *p += head + 4 * (size_t)nval;
    *left -= head + 4 * (size_t)nval;
    return 0;
}

static int parse_legacy(wk_imatrix *im, const uint8_t *data, size_t size, wk_err *err)
{
    im->legacy = 1;
    WK_FAIL_IF(size < 4, err, WK_E_FORMAT, "%s: %zu bytes: neither a GGUF imatrix nor a legacy "
               "imatrix (.dat) file", im->path, size);
    const int32_t n = rd_i32(data);
    WK_FAIL_IF(n < 1, err, WK_E_FORMAT, "%s: legacy imatrix with %" PRId32 " entries (no data)",
               im->path, n);
    /* an entry takes at least 17 bytes: a bound for the allocation */
    WK_FAIL_IF((uint64_t)n > (size - 4) / 17, err, WK_E_FORMAT, "%s: legacy imatrix claims %" PRId32
               " entries in %zu bytes (not an imatrix file?)", im->path, n, size);
    im->e = calloc((size_t)n, sizeof *im->e);
    WK_FAIL_IF(!im->e, err, WK_E_NOMEM, "out of memory");
    const uint8_t *p = data + 4;
    size_t left = size - 4;
    for (int32_t i = 0; i < n; i++) {
        WK_TRY(legacy_entry(im, i, &p, &left, (uint64_t)(p - data), &im->e[i], err));
        im->n++;
    }
    return legacy_trailer(im, p, left, (uint64_t)(p - data), err);
}

/* ---- GGUF ------------------------------------------------------------------------- */

/* 1 if name ends with suffix. */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && !strcmp(name + n - s, suffix);
}

static int64_t nelements(const wk_gguf_tensor *t)
{
    int64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) n *= t->ne[d];
    return n;
}

/* Pairs sums tensor s with its counts tensor into e. */
static int gguf_entry(wk_imatrix *im, const wk_gguf_tensor *s, im_entry *e, wk_err *err)
{
    const char *f = im->path;
    const size_t base = strlen(s->name) - strlen(SUM2_SUFFIX);
    char cname[WK_GGUF_MAX_NAME + 16];
    snprintf(cname, sizeof cname, "%.*s%s", (int)base, s->name, COUNTS_SUFFIX);
    const long ci = wk_gguf_find_tensor(im->g, cname);
    WK_FAIL_IF(ci < 0, err, WK_E_FORMAT, "%s: %s has no %s (mismatched sums and counts)", f,
               s->name, cname);
    const wk_gguf_tensor *c = wk_gguf_tensor_at(im->g, (size_t)ci);
    WK_FAIL_IF(s->type != WK_GGML_F32 || c->type != WK_GGML_F32, err, WK_E_FORMAT,
               "%s: sums and counts for %.*s must be F32", f, (int)base, s->name);
    e->nval = nelements(s);
    e->nmat = nelements(c);
    WK_FAIL_IF(e->nval < 1 || e->nmat < 1 || e->nval % e->nmat, err, WK_E_FORMAT,
               "%s: %s has %" PRId64 " values, not a whole number of rows for the %" PRId64
               " counts of %s", f, s->name, e->nval, e->nmat, cname);
    for (int64_t j = 0; j < e->nmat; j++) {
        const float v = rd_f32(c->data + 4 * j);
        WK_FAIL_IF(!(v >= 0 && v <= MAX_COUNT), err, WK_E_FORMAT, "%s: %s[%" PRId64 "] is %g "
                   "(a token count must be finite, >= 0 and <= 2^53)", f, cname, j, (double)v);
    }
    e->name = malloc(base + 1);
    WK_FAIL_IF(!e->name, err, WK_E_NOMEM, "out of memory");
    memcpy(e->name, s->name, base);
    e->name[base] = 0;
    e->sums = s->data;
    e->counts = c->data;
    return 0;
}

static int parse_gguf(wk_imatrix *im, const uint8_t *data, size_t size, wk_err *err)
{
    if (!(im->g = wk_gguf_open_buffer(data, size, im->path, err))) return -1;
    const wk_gguf *g = im->g;
    const size_t nt = wk_gguf_tensor_count(g);
    WK_FAIL_IF(nt < 1, err, WK_E_FORMAT, "%s: no data in file (no tensors)", im->path);
    static const char *const KEYS[] = { "imatrix.datasets", "imatrix.chunk_count",
                                        "imatrix.chunk_size" };
    for (size_t k = 0; k < 3; k++)
        WK_FAIL_IF(wk_gguf_find_key(g, KEYS[k]) < 0, err, WK_E_FORMAT, "%s: missing imatrix "
                   "metadata (%s): llama-quantize refuses such a file too", im->path, KEYS[k]);
    WK_TRY(wk_gguf_get_u32(g, "imatrix.chunk_count", &im->chunk_count, err));
    WK_TRY(wk_gguf_get_u32(g, "imatrix.chunk_size", &im->chunk_size, err));
    im->datasets_kv = wk_gguf_find_key(g, "imatrix.datasets");
    const wk_gguf_kv *kv = wk_gguf_kv_at(g, (size_t)im->datasets_kv);
    WK_FAIL_IF(kv->type != WK_GGUF_ARRAY || kv->arr_type != WK_GGUF_STRING, err, WK_E_FORMAT,
               "%s: imatrix.datasets is not an array of strings", im->path);
    im->e = calloc(nt, sizeof *im->e);
    WK_FAIL_IF(!im->e, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nt; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        if (ends_with(t->name, COUNTS_SUFFIX)) {
            char sname[WK_GGUF_MAX_NAME + 16];
            snprintf(sname, sizeof sname, "%.*s%s", (int)(strlen(t->name) - strlen(COUNTS_SUFFIX)),
                     t->name, SUM2_SUFFIX);
            WK_FAIL_IF(wk_gguf_find_tensor(g, sname) < 0, err, WK_E_FORMAT, "%s: %s has no %s "
                       "(mismatched sums and counts)", im->path, t->name, sname);
        }
        if (!ends_with(t->name, SUM2_SUFFIX)) continue;
        WK_TRY(gguf_entry(im, t, &im->e[im->n], err));
        im->n++;
    }
    WK_FAIL_IF(!im->n, err, WK_E_FORMAT, "%s: no '*%s' tensors (not an imatrix file?)", im->path,
               SUM2_SUFFIX);
    return 0;
}

/* ---- open / close ----------------------------------------------------------------- */

static wk_imatrix *parse(wk_imatrix *im, const uint8_t *data, size_t size, wk_err *err)
{
    int rc;
    if (size >= 4 && !memcmp(data, "GGUF", 4)) rc = parse_gguf(im, data, size, err);
    else rc = parse_legacy(im, data, size, err);
    if (rc == 0 && im->n > 1) {
        qsort(im->e, im->n, sizeof *im->e, cmp_entry);
        for (size_t i = 1; i < im->n; i++)
            if (!strcmp(im->e[i - 1].name, im->e[i].name)) {
                wk_err_set(err, WK_E_FORMAT, "%s: entry '%s' appears twice", im->path, im->e[i].name);
                rc = -1;
                break;
            }
    }
    if (rc) {
        wk_imatrix_close(im);
        return NULL;
    }
    return im;
}

wk_imatrix *wk_imatrix_open_buffer(const uint8_t *data, size_t size, const char *name, wk_err *err)
{
    wk_imatrix *im = calloc(1, sizeof *im);
    if (im) im->path = strdup(name ? name : "imatrix");
    if (!im || !im->path) {
        if (im) free(im);
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    im->datasets_kv = -1;
    return parse(im, data, size, err);
}

wk_imatrix *wk_imatrix_open(const char *path, wk_err *err)
{
    wk_map m;
    if (wk_map_open(&m, path, err)) return NULL;
    wk_imatrix *im = calloc(1, sizeof *im);
    if (im) im->path = strdup(path);
    if (!im || !im->path) {
        free(im);
        wk_map_close(&m);
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    im->map = m;
    im->datasets_kv = -1;
    return parse(im, m.data, m.size, err);
}

void wk_imatrix_close(wk_imatrix *im)
{
    if (!im) return;
    for (size_t i = 0; i < im->n; i++) free(im->e[i].name);
    free(im->e);
    wk_gguf_close(im->g);
    wk_map_close(&im->map);
    free(im->path);
    free(im);
}

/* ---- accessors ---------------------------------------------------------------------- */

const char *wk_imatrix_path(const wk_imatrix *im) { return im->path; }
int wk_imatrix_is_legacy(const wk_imatrix *im) { return im->legacy; }
uint32_t wk_imatrix_chunk_count(const wk_imatrix *im) { return im->chunk_count; }
uint32_t wk_imatrix_chunk_size(const wk_imatrix *im) { return im->chunk_size; }
size_t wk_imatrix_count(const wk_imatrix *im) { return im->n; }

size_t wk_imatrix_dataset_count(const wk_imatrix *im)
{
    if (im->g && im->datasets_kv >= 0) return (size_t)wk_gguf_kv_at(im->g, (size_t)im->datasets_kv)->n;
    return im->dataset ? 1 : 0;
}

const char *wk_imatrix_dataset_at(const wk_imatrix *im, size_t i, size_t *len)
{
    if (im->g && im->datasets_kv >= 0) return wk_gguf_arr_str(im->g, (size_t)im->datasets_kv, i, len);
    if (im->dataset && i == 0) {
        *len = im->dataset_len;
        return im->dataset;
    }
    return NULL;
}

const char *wk_imatrix_name_at(const wk_imatrix *im, size_t i)
{
    return i < im->n ? im->e[i].name : NULL;
}

int64_t wk_imatrix_size_at(const wk_imatrix *im, size_t i) { return i < im->n ? im->e[i].nval : 0; }
int64_t wk_imatrix_experts_at(const wk_imatrix *im, size_t i) { return i < im->n ? im->e[i].nmat : 0; }

long wk_imatrix_find(const wk_imatrix *im, const char *name)
{
    size_t lo = 0, hi = im->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(im->e[mid].name, name);
        if (!c) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

int wk_imatrix_weights(const wk_imatrix *im, size_t i, float *w, wk_err *err)
{
    WK_FAIL_IF(i >= im->n, err, WK_E_USAGE, "%s: no entry %zu", im->path, i);
    const im_entry *e = &im->e[i];
    const int64_t ne0 = e->nval / e->nmat;
    for (int64_t j = 0; j < e->nmat; j++) {
        /* llama-quantize: GGUF counts lround()ed to int64, then (float) */
        const float count = e->counts ? (float)llround(rd_f32(e->counts + 4 * j))
                                      : (float)(int64_t)e->ncall;
        for (int64_t k = 0; k < ne0; k++) {
            const int64_t c = j * ne0 + k;
            const float s = rd_f32(e->sums + 4 * c);
            if (e->counts) w[c] = count > 0.0f ? s / count : 1;
            else w[c] = e->ncall > 0 ? s / count : s;
            WK_FAIL_IF(!(w[c] >= 0) || isinf(w[c]), err, WK_E_FORMAT, "%s: entry '%s', column %"
                       PRId64 ": importance %g (must be finite and >= 0)", im->path, e->name, c,
                       (double)w[c]);
        }
    }
    return 0;
}
