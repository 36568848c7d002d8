/* wk_safetensors.c — safetensors reader and writer (see wk_safetensors.h). */
#include "wk_safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_cursor.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_json.h"

/* ---- dtypes (reference enum order = alignment order) ---------------------- */

static const wk_st_dtype_info k_st_dtypes[] = {
    {"BOOL", 8, 0, WK_DT_BOOL},      {"F4", 4, 1, -1},          {"F6_E2M3", 6, 2, -1},
    {"F6_E3M2", 6, 3, -1},           {"U8", 8, 4, WK_DT_U8},    {"I8", 8, 5, WK_DT_I8},
    {"F8_E5M2", 8, 6, -1},           {"F8_E4M3", 8, 7, -1},     {"F8_E8M0", 8, 8, -1},
    {"F8_E4M3FNUZ", 8, 9, -1},       {"F8_E5M2FNUZ", 8, 10, -1}, {"I16", 16, 11, WK_DT_I16},
    {"U16", 16, 12, -1},             {"F16", 16, 13, WK_DT_F16}, {"BF16", 16, 14, WK_DT_BF16},
    {"I32", 32, 15, WK_DT_I32},      {"U32", 32, 16, -1},       {"F32", 32, 17, WK_DT_F32},
    {"C64", 64, 18, -1},             {"F64", 64, 19, WK_DT_F64}, {"I64", 64, 20, WK_DT_I64},
    {"U64", 64, 21, -1},
};
#define N_ST_DTYPES (sizeof k_st_dtypes / sizeof k_st_dtypes[0])

const wk_st_dtype_info *wk_st_dtype_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < N_ST_DTYPES; i++)
        if (strlen(k_st_dtypes[i].name) == len && memcmp(k_st_dtypes[i].name, name, len) == 0)
            return &k_st_dtypes[i];
    return NULL;
}

const wk_st_dtype_info *wk_st_dtype_of(wk_dtype dt)
{
    for (size_t i = 0; i < N_ST_DTYPES; i++)
        if (k_st_dtypes[i].dtype == (int)dt) return &k_st_dtypes[i];
    return NULL;
}

/* ---- reader ---------------------------------------------------------------- */

struct wk_st {
    wk_map map;
    const uint8_t *data;
    size_t size;
    char *name;
    uint64_t n_header;
    wk_json *root;          /* parsed header (names and metadata point into it) */
    wk_st_tensor *t;
    size_t n_t;
    long *hash;
    size_t hash_cap;
    const wk_json *meta;    /* __metadata__ object or NULL */
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int cmp_offsets(const void *a, const void *b)
{
    const wk_st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* A non-negative JSON integer that fits u64 (the reference's usize). */
static int json_u64(const wk_json *v, uint64_t *out)
{
    if (wk_json_type_of(v) == WK_JSON_INT) {
        int64_t x;
        wk_json_as_int(v, &x, NULL);
        if (x < 0) return -1;
        *out = (uint64_t)x;
        return 0;
    }
    if (wk_json_type_of(v) == WK_JSON_BIGINT) {
        const char *d = wk_json_bigint_text(v);
        if (!d || d[0] == '-') return -1;
        errno = 0;
        char *end;
        unsigned long long x = strtoull(d, &end, 10);
        if (errno || *end) return -1;
        *out = x;
        return 0;
    }
    return -1;
}

static int parse_entry(wk_st *s, const char *key, const wk_json *v, wk_st_tensor *t, wk_err *err)
{
    const char *f = s->name;
    t->name = key;
    if (wk_json_type_of(v) != WK_JSON_OBJECT)
        return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": expected an object", f, key);
    const char *ds;
    size_t dl;
    if (wk_json_get_string(v, "dtype", &ds, &dl, err))
        return wk_err_prefix(err, "%s: tensor \"%s\"", f, key);
    t->st = wk_st_dtype_lookup(ds, dl);
    if (!t->st)
        return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": unknown dtype \"%.*s\"", f, key,
                          (int)(dl > 32 ? 32 : dl), ds);
    t->dtype = t->st->dtype;
    const wk_json *shape = wk_json_get(v, "shape");
    if (wk_json_type_of(shape) != WK_JSON_ARRAY)
        return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": \"shape\" must be an array", f, key);
    if (wk_json_len(shape) > WK_MAX_DIMS)
        return wk_err_set(err, WK_E_LIMIT, "%s: tensor \"%s\": %zu dims (weightkit handles at most %d)",
                          f, key, wk_json_len(shape), WK_MAX_DIMS);
    t->ndim = (int)wk_json_len(shape);
    for (int d = 0; d < t->ndim; d++) {
        uint64_t x;
        if (json_u64(wk_json_at(shape, (size_t)d), &x) || x > INT64_MAX)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": shape[%d] is not a non-negative "
                              "integer", f, key, d);
        t->shape[d] = (int64_t)x;
    }
    const wk_json *off = wk_json_get(v, "data_offsets");
    if (wk_json_type_of(off) != WK_JSON_ARRAY || wk_json_len(off) != 2 ||
        json_u64(wk_json_at(off, 0), &t->begin) || json_u64(wk_json_at(off, 1), &t->end))
        return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": \"data_offsets\" must be two "
                          "non-negative integers", f, key);
    return 0;
}

static int check_meta(wk_st *s, const wk_json *m, wk_err *err)
{
    if (wk_json_type_of(m) == WK_JSON_NULL) return 0;
    if (wk_json_type_of(m) != WK_JSON_OBJECT)
        return wk_err_set(err, WK_E_FORMAT, "%s: __metadata__ must be an object of strings", s->name);
    for (size_t i = 0; i < wk_json_len(m); i++)
        if (wk_json_type_of(wk_json_value_at(m, i)) != WK_JSON_STRING)
            return wk_err_set(err, WK_E_FORMAT, "%s: __metadata__ \"%s\": value must be a string",
                              s->name, wk_json_key_at(m, i, NULL));
    s->meta = m;
    return 0;
}

/* validate(): contiguous offsets from 0, sizes agree with dtype x shape. */
static int validate(wk_st *s, uint64_t *end, wk_err *err)
{
    uint64_t start = 0;
    for (size_t i = 0; i < s->n_t; i++) {
        wk_st_tensor *t = &s->t[i];
        if (t->begin != start || t->end < t->begin)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64
                              "] %s (expected to start at %" PRIu64 ")", s->name, t->name, t->begin,
                              t->end, t->end < t->begin ? "are reversed" :
                              t->begin < start ? "overlap the previous tensor" : "leave a gap",
                              start);
        start = t->end;
        uint64_t n = 1;
        for (int d = 0; d < t->ndim; d++) {
            uint64_t x = (uint64_t)t->shape[d];
            if (x && n > UINT64_MAX / x)
                return wk_err_set(err, WK_E_LIMIT, "%s: tensor \"%s\": element count overflows",
                                  s->name, t->name);
            n *= x;
        }
        if (n > UINT64_MAX / t->st->bits)
            return wk_err_set(err, WK_E_LIMIT, "%s: tensor \"%s\": bit size overflows", s->name, t->name);
        uint64_t bits = n * t->st->bits;
        if (bits % 8)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": %" PRIu64 " x %u bits is not a "
                              "whole number of bytes", s->name, t->name, n, t->st->bits);
        if (t->end - t->begin != bits / 8)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": %" PRIu64 " bytes in the file, but "
                              "dtype %s x shape needs %" PRIu64, s->name, t->name, t->end - t->begin,
                              t->st->name, bits / 8);
    }
    *end = start;
    return 0;
}

static int build_hash(wk_st *s, wk_err *err)
{
    s->hash_cap = 16;
    while (s->hash_cap < 2 * s->n_t) s->hash_cap *= 2;
    s->hash = malloc(s->hash_cap * sizeof *s->hash);
    if (!s->hash) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < s->hash_cap; i++) s->hash[i] = -1;
    for (size_t i = 0; i < s->n_t; i++) {
        size_t h = fnv(s->t[i].name) & (s->hash_cap - 1);
        while (s->hash[h] >= 0) h = (h + 1) & (s->hash_cap - 1);
        s->hash[h] = (long)i;
    }
    return 0;
}

static int st_parse(wk_st *s, wk_err *err)
{
    const char *f = s->name;
    if (s->size < 8)
        return wk_err_set(err, WK_E_FORMAT, "%s: %zu bytes is too small for a safetensors file "
                          "(8-byte header length)", f, s->size);
    uint64_t n = wk_le64(s->data);
    if (n > WK_ST_MAX_HEADER)
        return wk_err_set(err, WK_E_LIMIT, "%s: header length %" PRIu64 " exceeds 100,000,000 "
                          "bytes", f, n);
    if (8 + n > s->size)
        return wk_err_set(err, WK_E_FORMAT, "%s: header length %" PRIu64 " runs past the end of "
                          "the file (%zu bytes)", f, n, s->size);
    s->n_header = n;
    wk_json_read_opts o = wk_json_read_defaults();
    o.max_input = WK_ST_MAX_HEADER;
    o.max_string = WK_ST_MAX_HEADER;
    wk_cur c = wk_cur_make(s->data + 8, (size_t)n, 8);
    s->root = wk_json_parse_cur(&c, &o, err);
    if (!s->root) return wk_err_prefix(err, "%s: header", f);
    if (wk_json_type_of(s->root) != WK_JSON_OBJECT)
        return wk_err_set(err, WK_E_FORMAT, "%s: header is a JSON %s, expected an object", f,
                          wk_json_type_name(wk_json_type_of(s->root)));
    size_t nk = wk_json_len(s->root);
    s->t = calloc(nk ? nk : 1, sizeof *s->t);
    if (!s->t) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nk; i++) {
        const char *key = wk_json_key_at(s->root, i, NULL);
        const wk_json *v = wk_json_value_at(s->root, i);
        if (strcmp(key, "__metadata__") == 0) {
            WK_TRY(check_meta(s, v, err));
            continue;
        }
        WK_TRY(parse_entry(s, key, v, &s->t[s->n_t], err));
        s->n_t++;
    }
    qsort(s->t, s->n_t, sizeof *s->t, cmp_offsets);
    uint64_t end = 0;
    WK_TRY(validate(s, &end, err));
    if (end != s->size - 8 - n)
        return wk_err_set(err, WK_E_FORMAT, "%s: tensors cover %" PRIu64 " data bytes but the file "
                          "has %" PRIu64 " after the header (%s)", f, end, s->size - 8 - n,
                          end < s->size - 8 - n ? "trailing bytes" : "truncated");
    for (size_t i = 0; i < s->n_t; i++) {
        s->t[i].file_offset = 8 + n + s->t[i].begin;
        s->t[i].data = s->data + s->t[i].file_offset;
    }
    return build_hash(s, err);
}

wk_st *wk_st_open_buffer(const uint8_t *data, size_t size, const char *name, wk_err *err)
{
    wk_st *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name ? name : "(buffer)"))) {
        free(s);
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    s->data = data;
    s->size = size;
    if (st_parse(s, err)) {
        wk_st_close(s);
        return NULL;
    }
    return s;
}

wk_st *wk_st_open(const char *path, wk_err *err)
{
    wk_map m;
    if (wk_map_open(&m, path, err)) return NULL;
    wk_st *s = wk_st_open_buffer(m.data, m.size, path, err);
    if (!s) {
        wk_map_close(&m);
        return NULL;
    }
    s->map = m;
    return s;
}

void wk_st_close(wk_st *s)
{
    if (!s) return;
    wk_json_free(s->root);
    free(s->t);
    free(s->hash);
    free(s->name);
    wk_map_close(&s->map);
    free(s);
}

const char *wk_st_path(const wk_st *s) { return s->name; }
uint64_t wk_st_header_len(const wk_st *s) { return s->n_header; }
size_t wk_st_count(const wk_st *s) { return s->n_t; }
const wk_st_tensor *wk_st_tensor_at(const wk_st *s, size_t i) { return i < s->n_t ? &s->t[i] : NULL; }

long wk_st_find(const wk_st *s, const char *name)
{
    if (!s->hash) return -1;
    for (size_t h = fnv(name) & (s->hash_cap - 1); s->hash[h] >= 0; h = (h + 1) & (s->hash_cap - 1))
        if (strcmp(s->t[s->hash[h]].name, name) == 0) return s->hash[h];
    return -1;
}

size_t wk_st_meta_count(const wk_st *s) { return s->meta ? wk_json_len(s->meta) : 0; }
const char *wk_st_meta_key(const wk_st *s, size_t i) { return s->meta ? wk_json_key_at(s->meta, i, NULL) : NULL; }

const char *wk_st_meta_value(const wk_st *s, size_t i, size_t *len)
{
    const char *v = NULL;
    if (!s->meta || wk_json_as_string(wk_json_value_at(s->meta, i), &v, len, NULL)) return NULL;
    return v;
}

const char *wk_st_meta_get(const wk_st *s, const char *key, size_t *len)
{
    const char *v = NULL;
    if (!s->meta || wk_json_get_string(s->meta, key, &v, len, NULL)) return NULL;
    return v;
}

static const char *stored_digest(const wk_st *s, const char *tensor, size_t *len)
{
    size_t kl = strlen(WK_ST_DIGEST_PREFIX) + strlen(tensor) + 1;
    char *k = malloc(kl);
    if (!k) return NULL;
    snprintf(k, kl, "%s%s", WK_ST_DIGEST_PREFIX, tensor);
    const char *v = wk_st_meta_get(s, k, len);
    free(k);
    return v;
}

int wk_st_has_digests(const wk_st *s)
{
    if (!s->n_t) return 0;
    for (size_t i = 0; i < s->n_t; i++) {
        size_t len;
        if (!stored_digest(s, s->t[i].name, &len)) return 0;
    }
    return 1;
}

int wk_st_verify_digests(const wk_st *s, wk_digest_cb cb, void *ctx, wk_err *err)
{
    size_t bad = 0, missing = 0;
    const char *first = NULL;
    for (size_t i = 0; i < s->n_t; i++) {
        const wk_st_tensor *t = &s->t[i];
        uint8_t dig[WK_HASH_MAX_DIGEST];
        char hex[2 * WK_HASH_MAX_DIGEST + 1], want[40];
        WK_TRY(wk_hash_oneshot(WK_HASH_XXH3_64, t->data, (size_t)(t->end - t->begin), dig, err));
        wk_hex(dig, 8, hex);
        size_t len = 0;
        const char *v = stored_digest(s, t->name, &len);
        int st = !v ? 2 : (len == 16 && memcmp(v, hex, 16) == 0) ? 0 : 1;
        snprintf(want, sizeof want, "%.*s", v ? (int)(len > 32 ? 32 : len) : 0, v ? v : "");
        if (st == 1) bad++;
        if (st == 2) missing++;
        if (st && !first) first = t->name;
        if (cb) cb(ctx, t->name, st, hex, want);
    }
    if (bad)
        return wk_err_set(err, WK_E_MISMATCH, "%s: %zu of %zu tensors do not match their digest "
                          "(first: %s)", s->name, bad, s->n_t, first);
    if (missing)
        return wk_err_set(err, WK_E_FORMAT, "%s: %zu of %zu tensors have no stored digest (first: %s)",
                          s->name, missing, s->n_t, first);
    return 0;
}

/* ---- writer ---------------------------------------------------------------- */

struct wk_stw {
    size_t n;
    size_t *order;          /* file position -> caller index */
    uint64_t *nbytes;       /* caller index -> bytes */
    uint64_t *offset;       /* caller index -> data_offsets begin */
    wk_buf header;          /* 8-byte length + JSON + spaces */
    uint64_t data_size;
    int begun, failed;
    wk_sink *sink;          /* not owned */
    uint64_t written;
};

typedef struct {
    const wk_stw_tensor *t;
    size_t idx;
    int rank;
} sort_item;

static int cmp_items(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->rank != y->rank) return x->rank > y->rank ? -1 : 1;  /* dtype descending */
    return strcmp(x->t->name, y->t->name);                       /* then name (bytes) */
}

static int tensor_bytes(const wk_stw_tensor *t, uint64_t *out, wk_err *err)
{
    const wk_dtype_info *di = wk_dtype_get(t->dtype);
    if (!di || !wk_st_dtype_of(t->dtype))
        return wk_err_set(err, WK_E_USAGE, "safetensors writer: tensor \"%s\": bad dtype", t->name);
    if (t->ndim < 0 || t->ndim > WK_MAX_DIMS)
        return wk_err_set(err, WK_E_USAGE, "safetensors writer: tensor \"%s\": %d dims", t->name, t->ndim);
    uint64_t n = di->size;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0)
            return wk_err_set(err, WK_E_USAGE, "safetensors writer: tensor \"%s\": negative dim", t->name);
        uint64_t x = (uint64_t)t->shape[d];
        if (x && n > (UINT64_MAX >> 2) / x)
            return wk_err_set(err, WK_E_LIMIT, "safetensors writer: tensor \"%s\": size overflows", t->name);
        n *= x;
    }
    *out = n;
    return 0;
}

/* Build the JSON object in file order and dump it compact. */
static int build_header(wk_stw *w, const wk_stw_tensor *ts, const char *const *meta, size_t n_meta,
                        wk_err *err)
{
    wk_json *root = wk_json_new_object();
    int rc = root ? 0 : wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (!rc && meta) {
        wk_json *m = wk_json_new_object();
        for (size_t i = 0; !rc && i < n_meta; i++) {
            if (m && wk_json_get(m, meta[2 * i]))
                rc = wk_err_set(err, WK_E_USAGE, "safetensors writer: duplicate __metadata__ key \"%s\"",
                                meta[2 * i]);
            else
                rc = wk_json_object_append(m, meta[2 * i], wk_json_new_string(meta[2 * i + 1]), err);
        }
        if (rc) wk_json_free(m);
        else rc = wk_json_object_append(root, "__metadata__", m, err);
    }
    for (size_t k = 0; !rc && k < w->n; k++) {
        size_t i = w->order[k];
        const wk_stw_tensor *t = &ts[i];
        wk_json *e = wk_json_new_object(), *shape = wk_json_new_array(), *off = wk_json_new_array();
        rc = wk_json_object_append(e, "dtype", wk_json_new_string(wk_st_dtype_of(t->dtype)->name), err);
        for (int d = 0; !rc && d < t->ndim; d++) rc = wk_json_array_push(shape, wk_json_new_int(t->shape[d]), err);
        if (!rc) rc = wk_json_array_push(off, wk_json_new_int((int64_t)w->offset[i]), err);
        if (!rc) rc = wk_json_array_push(off, wk_json_new_int((int64_t)(w->offset[i] + w->nbytes[i])), err);
        if (!rc) { rc = wk_json_object_append(e, "shape", shape, err); shape = NULL; }
        else wk_json_free(shape);
        if (!rc) { rc = wk_json_object_append(e, "data_offsets", off, err); off = NULL; }
        else wk_json_free(off);
        if (!rc) rc = wk_json_object_append(root, t->name, e, err);
        else wk_json_free(e);
    }
    wk_json_dump_opts o = wk_json_opts_compact();
    wk_buf js;
    wk_buf_init(&js);
    if (!rc) rc = wk_json_dump(root, &o, &js, err);
    wk_json_free(root);
    if (!rc) {
        size_t pad = (8 - js.len % 8) % 8;
        if (js.len + pad > WK_ST_MAX_HEADER)
            rc = wk_err_set(err, WK_E_LIMIT, "safetensors writer: header of %zu bytes exceeds 100 MB", js.len);
        wk_buf_le64(&w->header, js.len + pad);
        wk_buf_put(&w->header, js.data, js.len);
        for (size_t i = 0; i < pad; i++) wk_buf_putc(&w->header, ' ');
        if (!rc) rc = wk_buf_check(&w->header, err);
    }
    wk_buf_free(&js);
    return rc;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dup_name(const wk_stw_tensor *ts, size_t n, wk_err *err)
{
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (!names) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) names[i] = ts[i].name;
    qsort(names, n, sizeof *names, cmp_str_ptr);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        if (strcmp(names[i], names[i - 1]) == 0)
            rc = wk_err_set(err, WK_E_USAGE, "safetensors writer: duplicate tensor name \"%s\"", names[i]);
    free(names);
    return rc;
}

wk_stw *wk_stw_plan(const wk_stw_tensor *ts, size_t n, const char *const *meta, size_t n_meta,
                    wk_err *err)
{
    wk_stw *w = calloc(1, sizeof *w);
    sort_item *items = calloc(n ? n : 1, sizeof *items);
    if (w) {
        w->n = n;
        w->order = calloc(n ? n : 1, sizeof *w->order);
        w->nbytes = calloc(n ? n : 1, sizeof *w->nbytes);
        w->offset = calloc(n ? n : 1, sizeof *w->offset);
    }
    if (!w || !items || !w->order || !w->nbytes || !w->offset) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ts[i].name || strcmp(ts[i].name, "__metadata__") == 0) {
            wk_err_set(err, WK_E_USAGE, "safetensors writer: tensor %zu has a reserved or no name", i);
            goto fail;
        }
        if (tensor_bytes(&ts[i], &w->nbytes[i], err)) goto fail;
        items[i].t = &ts[i];
        items[i].idx = i;
        items[i].rank = wk_st_dtype_of(ts[i].dtype)->rank;
    }
    qsort(items, n, sizeof *items, cmp_items);
    for (size_t k = 0; k < n; k++) {
        size_t i = items[k].idx;
        w->order[k] = i;
        w->offset[i] = w->data_size;
        w->data_size += w->nbytes[i];
    }
    /* duplicates: names sorted on their own (equal names may differ in dtype) */
    if (dup_name(ts, n, err)) goto fail;
    if (build_header(w, ts, meta, n_meta, err)) goto fail;
    free(items);
    return w;
fail:
    free(items);
    wk_stw_free(w);
    return NULL;
}

void wk_stw_free(wk_stw *w)
{
    if (!w) return;
    free(w->order);
    free(w->nbytes);
    free(w->offset);
    wk_buf_free(&w->header);
    free(w);
}

size_t wk_stw_order(const wk_stw *w, size_t k) { return w->order[k]; }
uint64_t wk_stw_tensor_nbytes(const wk_stw *w, size_t i) { return w->nbytes[i]; }
uint64_t wk_stw_tensor_file_offset(const wk_stw *w, size_t i) { return w->header.len + w->offset[i]; }

const uint8_t *wk_stw_header(const wk_stw *w, size_t *len)
{
    *len = w->header.len;
    return w->header.data;
}

uint64_t wk_stw_total_size(const wk_stw *w) { return w->header.len + w->data_size; }

int wk_stw_begin(wk_stw *w, wk_sink *sink, wk_err *err)
{
    if (w->begun) return wk_err_set(err, WK_E_USAGE, "safetensors writer: begin called twice");
    w->begun = 1;
    w->sink = sink;
    if (wk_sink_write(w->sink, w->header.data, w->header.len, err)) {
        w->failed = 1;
        return -1;
    }
    w->written = w->header.len;
    return 0;
}

int wk_stw_write(wk_stw *w, const void *p, size_t n, wk_err *err)
{
    if (!w->begun || w->failed) return wk_err_set(err, WK_E_USAGE, "safetensors writer: not writable");
    if (n > wk_stw_total_size(w) - w->written) {
        w->failed = 1;
        return wk_err_set(err, WK_E_USAGE, "safetensors writer: data past the planned size");
    }
    if (wk_sink_write(w->sink, p, n, err)) {
        w->failed = 1;
        return -1;
    }
    w->written += n;
    return 0;
}

int wk_stw_finish(wk_stw *w, wk_err *err)
{
    if (w->failed) return wk_err_set(err, WK_E_USAGE, "safetensors writer: already failed");
    if (w->written != wk_stw_total_size(w))
        return wk_err_set(err, WK_E_INTERNAL, "safetensors writer: wrote %" PRIu64 " bytes, planned %"
                          PRIu64, w->written, wk_stw_total_size(w));
    return 0;
}

/* ---- index files -------------------------------------------------------------- */

int wk_st_index_json(uint64_t total_size, const char *const *names, const char *const *files,
                     size_t n, wk_buf *out, wk_err *err)
{
    wk_json *root = wk_json_new_object(), *meta = wk_json_new_object(), *map = wk_json_new_object();
    int rc = wk_json_object_append(meta, "total_size", wk_json_new_int((int64_t)total_size), err);
    for (size_t i = 0; !rc && i < n; i++)
        rc = wk_json_object_set(map, names[i], wk_json_new_string(files[i]), err);
    if (!rc) { rc = wk_json_object_append(root, "metadata", meta, err); meta = NULL; }
    if (!rc) { rc = wk_json_object_append(root, "weight_map", map, err); map = NULL; }
    wk_json_dump_opts o = wk_json_opts_hf();
    if (!rc) rc = wk_json_dump(root, &o, out, err);
    if (!rc) {
        wk_buf_putc(out, '\n');
        rc = wk_buf_check(out, err);
    }
    wk_json_free(meta);
    wk_json_free(map);
    wk_json_free(root);
    return rc;
}

static int shard_name_ok(const char *s)
{
    return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && !strchr(s, '\\');
}

int wk_st_index_load(wk_st_index *ix, const char *path, wk_err *err)
{
    memset(ix, 0, sizeof *ix);
    wk_map m;
    if (wk_map_open(&m, path, err)) return -1;
    wk_json *root = wk_json_parse(m.data, m.size, NULL, err);
    int rc = 0;
    if (!root) rc = wk_err_prefix(err, "%s", path);
    const wk_json *map = root ? wk_json_get(root, "weight_map") : NULL;
    if (!rc && wk_json_type_of(map) != WK_JSON_OBJECT)
        rc = wk_err_set(err, WK_E_FORMAT, "%s: no \"weight_map\" object", path);
    size_t n = rc ? 0 : wk_json_len(map);
    if (!rc) {
        ix->names = calloc(n ? n : 1, sizeof *ix->names);
        ix->files = calloc(n ? n : 1, sizeof *ix->files);
        ix->shards = calloc(n ? n : 1, sizeof *ix->shards);
        if (!ix->names || !ix->files || !ix->shards) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; !rc && i < n; i++) {
        const char *name = wk_json_key_at(map, i, NULL), *file;
        if (wk_json_as_string(wk_json_value_at(map, i), &file, NULL, err)) {
            rc = wk_err_prefix(err, "%s: weight_map \"%s\"", path, name);
            break;
        }
        if (!shard_name_ok(file)) {
            rc = wk_err_set(err, WK_E_UNSAFE, "%s: weight_map \"%s\": shard name \"%s\" is not a plain "
                            "file name", path, name, file);
            break;
        }
        ix->names[i] = strdup(name);
        ix->files[i] = strdup(file);
        ix->n = i + 1;
        if (!ix->names[i] || !ix->files[i]) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
        size_t k = 0;
        while (!rc && k < ix->n_shards && strcmp(ix->shards[k], file)) k++;
        if (!rc && k == ix->n_shards) {
            if (!(ix->shards[ix->n_shards] = strdup(file))) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
            else ix->n_shards++;
        }
    }
    wk_json_free(root);
    wk_map_close(&m);
    if (rc) wk_st_index_free(ix);
    return rc;
}

void wk_st_index_free(wk_st_index *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        free(ix->names[i]);
        free(ix->files[i]);
    }
    for (size_t i = 0; i < ix->n_shards; i++) free(ix->shards[i]);
    free(ix->names);
    free(ix->files);
    free(ix->shards);
    memset(ix, 0, sizeof *ix);
}

/* ---- GGUF KVs as JSON ---------------------------------------------------------- */

static wk_json *kv_value_json(const wk_gguf *g, size_t k, wk_gguf_type t, uint64_t i, wk_err *err)
{
    const wk_gguf_kv *kv = wk_gguf_kv_at(g, k);
    if (t == WK_GGUF_STRING) {
        size_t len;
        const char *s;
        if (kv->type == WK_GGUF_ARRAY) s = wk_gguf_arr_str(g, k, i, &len);
        else { len = (size_t)wk_le64(kv->value); s = (const char *)kv->value + 8; }
        return wk_json_new_stringn(s, len);
    }
    double d;
    int64_t v;
    wk_gguf_kv_num(g, k, i, &d, &v);
    if (t == WK_GGUF_FLOAT32 || t == WK_GGUF_FLOAT64) return wk_json_new_double(d);
    if (t == WK_GGUF_BOOL) return wk_json_new_bool((int)v);
    if (t == WK_GGUF_UINT64 && v < 0) {
        char lit[32];
        snprintf(lit, sizeof lit, "%" PRIu64, (uint64_t)v);
        return wk_json_new_raw_number(lit, err);
    }
    return wk_json_new_int(v);
}

int wk_st_gguf_kv_to_json(const wk_gguf *g, wk_buf *out, wk_err *err)
{
    wk_json *arr = wk_json_new_array();
    int rc = arr ? 0 : wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (size_t k = 0; !rc && k < wk_gguf_kv_count(g); k++) {
        const wk_gguf_kv *kv = wk_gguf_kv_at(g, k);
        if (strncmp(kv->key, "weightkit.digest.", 17) == 0) continue;
        char tname[32];
        wk_json *e = wk_json_new_array(), *val;
        if (kv->type == WK_GGUF_ARRAY) {
            snprintf(tname, sizeof tname, "array[%s]", wk_gguf_type_name(kv->arr_type));
            val = wk_json_new_array();
            for (uint64_t i = 0; !rc && i < kv->n; i++)
                rc = wk_json_array_push(val, kv_value_json(g, k, kv->arr_type, i, err), err);
        } else {
            snprintf(tname, sizeof tname, "%s", wk_gguf_type_name(kv->type));
            val = kv_value_json(g, k, kv->type, 0, err);
        }
        if (!rc) rc = wk_json_array_push(e, wk_json_new_string(kv->key), err);
        if (!rc) rc = wk_json_array_push(e, wk_json_new_string(tname), err);
        if (!rc) { rc = wk_json_array_push(e, val, err); val = NULL; }
        wk_json_free(val);
        if (!rc) rc = wk_json_array_push(arr, e, err);
        else wk_json_free(e);
        if (rc) rc = wk_err_prefix(err, "%s: key \"%s\"", wk_gguf_path(g), kv->key);
    }
    wk_json_dump_opts o = wk_json_opts_compact();
    o.allow_nan = 1;
    if (!rc) rc = wk_json_dump(arr, &o, out, err);
    wk_json_free(arr);
    return rc;
}

/* One JSON value as little-endian bytes of GGUF type t. */
static int json_to_bytes(const wk_json *v, wk_gguf_type t, wk_buf *b, wk_err *err)
{
    if (t == WK_GGUF_STRING) {
        const char *s;
        size_t len;
        WK_TRY(wk_json_as_string(v, &s, &len, err));
        wk_buf_le64(b, len);
        wk_buf_put(b, s, len);
        return 0;
    }
    if (t == WK_GGUF_FLOAT32 || t == WK_GGUF_FLOAT64) {
        double d;
        WK_TRY(wk_json_as_double(v, &d, err));
        if (t == WK_GGUF_FLOAT64) {
            uint64_t u;
            memcpy(&u, &d, 8);
            wk_buf_le64(b, u);
        } else {
            float f = (float)d;
            uint32_t u;
            memcpy(&u, &f, 4);
            wk_buf_le32(b, u);
        }
        return 0;
    }
    uint64_t u;
    if (t == WK_GGUF_BOOL) {
        int x;
        WK_TRY(wk_json_as_bool(v, &x, err));
        u = (uint64_t)x;
    } else if (wk_json_type_of(v) == WK_JSON_BIGINT) {
        if (json_u64(v, &u)) return wk_err_set(err, WK_E_FORMAT, "integer out of range");
    } else {
        int64_t x;
        WK_TRY(wk_json_as_int(v, &x, err));
        u = (uint64_t)x;
    }
    for (size_t i = 0; i < wk_gguf_type_size(t); i++) wk_buf_putc(b, (uint8_t)(u >> (8 * i)));
    return 0;
}

static int apply_entry(const wk_json *e, wk_ggufw *w, const uint32_t *file_type, wk_err *err)
{
    const char *key, *tn;
    if (wk_json_type_of(e) != WK_JSON_ARRAY || wk_json_len(e) != 3 ||
        wk_json_as_string(wk_json_at(e, 0), &key, NULL, NULL) ||
        wk_json_as_string(wk_json_at(e, 1), &tn, NULL, NULL))
        return wk_err_set(err, WK_E_FORMAT, "entry is not [key, type, value]");
    const wk_json *v = wk_json_at(e, 2);
    if (file_type && strcmp(key, "general.file_type") == 0) return wk_ggufw_kv_u32(w, key, *file_type, err);
    wk_buf b;
    wk_buf_init(&b);
    int rc = 0;
    if (strncmp(tn, "array[", 6) == 0) {
        char et_name[16];
        snprintf(et_name, sizeof et_name, "%.*s", (int)strcspn(tn + 6, "]"), tn + 6);
        int et = wk_gguf_type_from_name(et_name);
        if (et < 0 || et == WK_GGUF_ARRAY || wk_json_type_of(v) != WK_JSON_ARRAY)
            rc = wk_err_set(err, WK_E_FORMAT, "key \"%s\": bad array type \"%s\"", key, tn);
        for (size_t i = 0; !rc && i < wk_json_len(v); i++)
            rc = json_to_bytes(wk_json_at(v, i), (wk_gguf_type)et, &b, err);
        if (!rc && et == WK_GGUF_STRING) {
            /* re-split into pointers for the string-array writer */
            size_t n = wk_json_len(v);
            const char **s = calloc(n ? n : 1, sizeof *s);
            size_t *l = calloc(n ? n : 1, sizeof *l);
            if (!s || !l) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
            for (size_t i = 0; !rc && i < n; i++) wk_json_as_string(wk_json_at(v, i), &s[i], &l[i], NULL);
            if (!rc) rc = wk_ggufw_kv_arr_str(w, key, s, l, n, err);
            free(s);
            free(l);
        } else if (!rc) {
            rc = wk_buf_check(&b, err);
            if (!rc) rc = wk_ggufw_kv_arr(w, key, (wk_gguf_type)et, b.data, wk_json_len(v), err);
        }
    } else {
        int t = wk_gguf_type_from_name(tn);
        if (t < 0 || t == WK_GGUF_ARRAY) rc = wk_err_set(err, WK_E_FORMAT, "key \"%s\": bad type \"%s\"", key, tn);
        if (!rc) rc = json_to_bytes(v, (wk_gguf_type)t, &b, err);
        if (!rc) rc = wk_buf_check(&b, err);
        if (!rc && t == WK_GGUF_STRING) rc = wk_ggufw_kv_str(w, key, (const char *)b.data + 8, b.len - 8, err);
        else if (!rc) {
            uint64_t bits = 0;
            for (size_t i = 0; i < b.len; i++) bits |= (uint64_t)b.data[i] << (8 * i);
            rc = wk_ggufw_kv_scalar(w, key, (wk_gguf_type)t, bits, err);
        }
    }
    wk_buf_free(&b);
    return rc;
}

int wk_st_gguf_kv_apply(const char *json, size_t len, wk_ggufw *w, const uint32_t *file_type,
                        wk_err *err)
{
    wk_json_read_opts o = wk_json_read_defaults();
    o.allow_nan = 1;
    o.max_input = WK_ST_MAX_HEADER;
    o.max_string = WK_ST_MAX_HEADER;
    wk_json *arr = wk_json_parse(json, len, &o, err);
    if (!arr) return wk_err_prefix(err, WK_ST_GGUF_KV);
    int rc = 0;
    if (wk_json_type_of(arr) != WK_JSON_ARRAY) rc = wk_err_set(err, WK_E_FORMAT, "%s: not an array", WK_ST_GGUF_KV);
    for (size_t i = 0; !rc && i < wk_json_len(arr); i++)
        if (apply_entry(wk_json_at(arr, i), w, file_type, err)) rc = wk_err_prefix(err, "%s entry %zu", WK_ST_GGUF_KV, i);
    wk_json_free(arr);
    return rc;
}
