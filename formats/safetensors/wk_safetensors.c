/* wk_safetensors.c — safetensors reader and writer (see wk_safetensors.h). */
#include "wk_safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_cursor.h"
#include "wk_gguf_split.h"
#include "wk_hash.h"
#include "wk_strmap.h"
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
    wk_strmap names;        /* tensor name -> index into t */
    const wk_json *meta;    /* __metadata__ object or NULL */
};

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

/* Index the tensor names (after sorting; a repeated name finds its first
 * tensor in offset order). */
static int build_names(wk_st *s, wk_err *err)
{
    for (size_t i = 0; i < s->n_t; i++) {
        long prev;
        WK_TRY(wk_strmap_add(&s->names, s->t[i].name, i, &prev, err));
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
    return build_names(s, err);
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
    wk_strmap_free(&s->names);
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
    return wk_strmap_get(&s->names, name);
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
        WK_TRY(wk_map_digest(WK_HASH_XXH3_64, t->data, (size_t)(t->end - t->begin), dig, err));
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

/* Append "__metadata__":{meta[0]:meta[1],...} (n_meta pairs) to out, streamed
 * (no node per value: a GGUF's KV array can be most of the header). */
static int header_meta(wk_buf *out, const char *const *meta, size_t n_meta, wk_err *err)
{
    wk_json_dump_opts o = wk_json_opts_compact();
    wk_strmap seen = WK_STRMAP_INIT;
    int rc = -1;
    WK_TRY_GOTO(wk_json_dump_string("__metadata__", 12, &o, out, err), done);
    wk_buf_puts(out, ":{");
    for (size_t i = 0; i < n_meta; i++) {
        long prev;
        WK_TRY_GOTO(wk_strmap_add(&seen, meta[2 * i], i, &prev, err), done);
        WK_FAIL_GOTO(prev >= 0, done, err, WK_E_USAGE, "safetensors writer: duplicate __metadata__ key \"%s\"",
                     meta[2 * i]);
        if (i) wk_buf_putc(out, ',');
        WK_TRY_GOTO(wk_json_dump_string(meta[2 * i], strlen(meta[2 * i]), &o, out, err), done);
        wk_buf_putc(out, ':');
        WK_TRY_GOTO(wk_json_dump_string(meta[2 * i + 1], strlen(meta[2 * i + 1]), &o, out, err), done);
        WK_FAIL_GOTO(out->len > WK_ST_MAX_HEADER + 8, done, err, WK_E_LIMIT,
                     "safetensors writer: header exceeds 100 MB (__metadata__ \"%s\")", meta[2 * i]);
    }
    wk_buf_putc(out, '}');
    rc = wk_buf_check(out, err);
done:
    wk_strmap_free(&seen);
    return rc;
}

/* Append tensor i's entry {"dtype", "shape", "data_offsets"} to root. */
static int header_entry(const wk_stw *w, const wk_stw_tensor *t, size_t i, wk_json *root, wk_err *err)
{
    int rc = -1;
    wk_json *e = wk_json_new_object(), *shape = wk_json_new_array(), *off = wk_json_new_array();
    WK_TRY_GOTO(wk_json_object_append(e, "dtype", wk_json_new_string(wk_st_dtype_of(t->dtype)->name),
                                      err), done);
    for (int d = 0; d < t->ndim; d++)
        WK_TRY_GOTO(wk_json_array_push(shape, wk_json_new_int(t->shape[d]), err), done);
    WK_TRY_GOTO(wk_json_array_push(off, wk_json_new_int((int64_t)w->offset[i]), err), done);
    WK_TRY_GOTO(wk_json_array_push(off, wk_json_new_int((int64_t)(w->offset[i] + w->nbytes[i])), err),
                done);
    WK_TRY_GOTO(wk_json_object_append(e, "shape", wk_json_take(&shape), err), done);
    WK_TRY_GOTO(wk_json_object_append(e, "data_offsets", wk_json_take(&off), err), done);
    WK_TRY_GOTO(wk_json_object_append(root, t->name, wk_json_take(&e), err), done);
    rc = 0;
done:
    wk_json_free(shape);
    wk_json_free(off);
    wk_json_free(e);
    return rc;
}

/* Write the JSON object in file order, compact, into w->header (after its
 * 8-byte length, padded with spaces to a multiple of 8): __metadata__ streamed
 * straight into the header, the tensor entries as a tree dumped after it.  Peak
 * memory: the header once, plus the tensor entries' tree and text. */
static int build_header(wk_stw *w, const wk_stw_tensor *ts, const char *const *meta, size_t n_meta,
                        wk_err *err)
{
    int rc = -1;
    wk_json *root = wk_json_new_object();
    wk_json_dump_opts o = wk_json_opts_compact();
    wk_buf js;
    wk_buf_init(&js);
    WK_FAIL_GOTO(!root, done, err, WK_E_NOMEM, "out of memory");
    for (size_t k = 0; k < w->n; k++)
        WK_TRY_GOTO(header_entry(w, &ts[w->order[k]], w->order[k], root, err), done);
    WK_TRY_GOTO(wk_json_dump(root, &o, &js, err), done);  /* "{...}" or "{}" */
    wk_buf_le64(&w->header, 0);
    wk_buf_putc(&w->header, '{');
    if (meta) {
        WK_TRY_GOTO(header_meta(&w->header, meta, n_meta, err), done);
        if (w->n) wk_buf_putc(&w->header, ',');
    }
    wk_buf_put(&w->header, js.data + 1, js.len - 1);
    WK_TRY_GOTO(wk_buf_check(&w->header, err), done);
    size_t len = w->header.len - 8, pad = (8 - len % 8) % 8;
    WK_FAIL_GOTO(len + pad > WK_ST_MAX_HEADER, done, err, WK_E_LIMIT,
                 "safetensors writer: header of %zu bytes exceeds 100 MB", len);
    for (size_t i = 0; i < pad; i++) wk_buf_putc(&w->header, ' ');
    WK_TRY_GOTO(wk_buf_check(&w->header, err), done);
    uint64_t hl = len + pad;
    for (int i = 0; i < 8; i++) w->header.data[i] = (uint8_t)(hl >> (8 * i));
    rc = 0;
done:
    wk_json_free(root);
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
    int rc = -1;
    for (size_t i = 1; i < n; i++)
        WK_FAIL_GOTO(strcmp(names[i], names[i - 1]) == 0, done, err, WK_E_USAGE,
                     "safetensors writer: duplicate tensor name \"%s\"", names[i]);
    rc = 0;
done:
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
    int rc = -1;
    wk_json *root = wk_json_new_object(), *meta = wk_json_new_object(), *map = wk_json_new_object();
    wk_json_dump_opts o = wk_json_opts_hf();
    WK_TRY_GOTO(wk_json_object_append(meta, "total_size", wk_json_new_int((int64_t)total_size), err),
                done);
    for (size_t i = 0; i < n; i++)
        WK_TRY_GOTO(wk_json_object_set(map, names[i], wk_json_new_string(files[i]), err), done);
    WK_TRY_GOTO(wk_json_object_append(root, "metadata", wk_json_take(&meta), err), done);
    WK_TRY_GOTO(wk_json_object_append(root, "weight_map", wk_json_take(&map), err), done);
    WK_TRY_GOTO(wk_json_dump(root, &o, out, err), done);
    wk_buf_putc(out, '\n');
    WK_TRY_GOTO(wk_buf_check(out, err), done);
    rc = 0;
done:
    wk_json_free(meta);
    wk_json_free(map);
    wk_json_free(root);
    return rc;
}

static int shard_name_ok(const char *s)
{
    return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && !strchr(s, '\\');
}

/* Entry i of the weight_map object map: name, shard file, and the shard in
 * ix->shards (added when new). */
static int index_entry(wk_st_index *ix, const wk_json *map, size_t i, const char *path, wk_err *err)
{
    const char *name = wk_json_key_at(map, i, NULL), *file;
    if (wk_json_as_string(wk_json_value_at(map, i), &file, NULL, err))
        return wk_err_prefix(err, "%s: weight_map \"%s\"", path, name);
    WK_FAIL_IF(!shard_name_ok(file), err, WK_E_UNSAFE, "%s: weight_map \"%s\": shard name \"%s\" is "
               "not a plain file name", path, name, file);
    ix->names[i] = strdup(name);
    ix->files[i] = strdup(file);
    ix->n = i + 1;
    WK_FAIL_IF(!ix->names[i] || !ix->files[i], err, WK_E_NOMEM, "out of memory");
    size_t k = 0;
    while (k < ix->n_shards && strcmp(ix->shards[k], file)) k++;
    if (k == ix->n_shards) {
        WK_FAIL_IF(!(ix->shards[k] = strdup(file)), err, WK_E_NOMEM, "out of memory");
        ix->n_shards++;
    }
    return 0;
}

int wk_st_index_load(wk_st_index *ix, const char *path, wk_err *err)
{
    memset(ix, 0, sizeof *ix);
    wk_map m;
    if (wk_map_open(&m, path, err)) return -1;
    int rc = -1;
    wk_json *root = wk_json_parse(m.data, m.size, NULL, err);
    const wk_json *map = root ? wk_json_get(root, "weight_map") : NULL;
    size_t n = wk_json_len(map);
    WK_TRY_GOTO(root ? 0 : wk_err_prefix(err, "%s", path), done);
    WK_FAIL_GOTO(wk_json_type_of(map) != WK_JSON_OBJECT, done, err, WK_E_FORMAT,
                 "%s: no \"weight_map\" object", path);
    ix->names = calloc(n ? n : 1, sizeof *ix->names);
    ix->files = calloc(n ? n : 1, sizeof *ix->files);
    ix->shards = calloc(n ? n : 1, sizeof *ix->shards);
    WK_FAIL_GOTO(!ix->names || !ix->files || !ix->shards, done, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) WK_TRY_GOTO(index_entry(ix, map, i, path, err), done);
    rc = 0;
done:
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

/* Append -x or x in decimal (as printf's %" PRId64 " / %" PRIu64 " would). */
static void put_decimal(wk_buf *out, int neg, uint64_t x)
{
    char d[24];
    size_t n = sizeof d;
    do d[--n] = (char)('0' + x % 10); while ((x /= 10) != 0);
    if (neg) d[--n] = '-';
    wk_buf_put(out, d + n, sizeof d - n);
}

/* Append value i of KV k (element i of an array, or the scalar) as JSON, as a
 * wk_json node of that value would be dumped (compact, NaN allowed). */
static int kv_value_put(const wk_gguf *g, size_t k, wk_gguf_type t, uint64_t i, wk_buf *out, wk_err *err)
{
    const wk_gguf_kv *kv = wk_gguf_kv_at(g, k);
    if (t == WK_GGUF_STRING) {
        size_t len;
        const char *s;
        if (kv->type == WK_GGUF_ARRAY) s = wk_gguf_arr_str(g, k, i, &len);
        else { len = (size_t)wk_le64(kv->value); s = (const char *)kv->value + 8; }
        wk_json_dump_opts o = wk_json_opts_compact();
        return wk_json_dump_string(s, len, &o, out, err);
    }
    double d;
    int64_t v;
    char num[WK_JSON_REPR_MAX];
    wk_gguf_kv_num(g, k, i, &d, &v);
    if (t == WK_GGUF_FLOAT32 || t == WK_GGUF_FLOAT64) wk_buf_put(out, num, wk_json_repr_double(d, num));
    else if (t == WK_GGUF_BOOL) wk_buf_puts(out, v ? "true" : "false");
    else put_decimal(out, t == WK_GGUF_UINT64 ? 0 : v < 0, t == WK_GGUF_UINT64 || v >= 0 ? (uint64_t)v
                                                                              : 0 - (uint64_t)v);
    return 0;
}

/* Append [key, type name, value] of KV k; a failure names the key. */
static int kv_entry_put(const wk_gguf *g, size_t k, wk_buf *out, wk_err *err)
{
    const wk_gguf_kv *kv = wk_gguf_kv_at(g, k);
    wk_json_dump_opts o = wk_json_opts_compact();
    char tname[32];
    if (kv->type == WK_GGUF_ARRAY) snprintf(tname, sizeof tname, "array[%s]", wk_gguf_type_name(kv->arr_type));
    else snprintf(tname, sizeof tname, "%s", wk_gguf_type_name(kv->type));
    wk_buf_putc(out, '[');
    int rc = wk_json_dump_string(kv->key, strlen(kv->key), &o, out, err);
    wk_buf_putc(out, ',');
    if (rc == 0) rc = wk_json_dump_string(tname, strlen(tname), &o, out, err);
    wk_buf_putc(out, ',');
    if (rc == 0 && kv->type == WK_GGUF_ARRAY) {
        wk_buf_putc(out, '[');
        for (uint64_t i = 0; rc == 0 && i < kv->n; i++) {
            if (i) wk_buf_putc(out, ',');
            rc = kv_value_put(g, k, kv->arr_type, i, out, err);
        }
        wk_buf_putc(out, ']');
    } else if (rc == 0) {
        rc = kv_value_put(g, k, kv->type, 0, out, err);
    }
    wk_buf_putc(out, ']');
    if (rc) wk_err_prefix(err, "%s: key \"%s\"", wk_gguf_path(g), kv->key);
    return rc;
}

/* A lower bound of the bytes the KV array of g takes as JSON, from the counts
 * alone (no allocation): per KV its key and type strings and 8 bytes of
 * punctuation, per element at least one byte and a comma (a string element
 * its bytes and quotes). */
static uint64_t kv_json_min_len(const wk_gguf *g)
{
    uint64_t n = 2;
    for (size_t k = 0; k < wk_gguf_kv_count(g); k++) {
        const wk_gguf_kv *kv = wk_gguf_kv_at(g, k);
        n += strlen(kv->key) + 16;
        if (kv->type != WK_GGUF_ARRAY) continue;
        if (kv->arr_type != WK_GGUF_STRING) { n += 2 * kv->n; continue; }
        for (uint64_t i = 0; i < kv->n; i++) {
            size_t len = 0;
            wk_gguf_arr_str(g, k, i, &len);
            n += (uint64_t)len + 3;
        }
    }
    return n;
}

/* Streams the JSON text (no node per value: issue #24 item 12, where a tree of
 * the KV arrays took ~58x the file).  The text goes into a safetensors header
 * (at most WK_ST_MAX_HEADER bytes), so a text longer than that is refused: first
 * from a lower bound computed from the counts, before any allocation, then while
 * writing, so the buffer never holds more than the cap plus one KV. */
int wk_st_gguf_kv_to_json(const wk_gguf *g, wk_buf *out, wk_err *err)
{
    uint64_t min = kv_json_min_len(g);
    WK_FAIL_IF(min > WK_ST_MAX_HEADER, err, WK_E_LIMIT, "%s: its metadata (KV arrays) takes at least %" PRIu64
               " bytes as JSON, more than a safetensors header may hold (100,000,000 bytes); convert to "
               "GGUF instead", wk_gguf_path(g), min);
    size_t start = out->len;
    int first = 1;
    wk_buf_putc(out, '[');
    for (size_t k = 0; k < wk_gguf_kv_count(g); k++) {
        if (strncmp(wk_gguf_kv_at(g, k)->key, "weightkit.digest.", 17) == 0) continue;
        if (wk_gguf_is_split_key(wk_gguf_kv_at(g, k)->key)) continue;   /* one file out: no split keys */
        if (!first) wk_buf_putc(out, ',');
        first = 0;
        WK_TRY(kv_entry_put(g, k, out, err));
        WK_FAIL_IF(out->len - start > WK_ST_MAX_HEADER, err, WK_E_LIMIT, "%s: its metadata (KV arrays) "
                   "takes more than %llu bytes as JSON, more than a safetensors header may hold; convert "
                   "to GGUF instead", wk_gguf_path(g), (unsigned long long)WK_ST_MAX_HEADER);
    }
    wk_buf_putc(out, ']');
    return wk_buf_check(out, err);
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

/* A GGUF array KV from the JSON array v; tn is "array[<element type>]". */
static int apply_array(wk_ggufw *w, const char *key, const char *tn, const wk_json *v, wk_buf *b,
                       wk_err *err)
{
    char et_name[16];
    snprintf(et_name, sizeof et_name, "%.*s", (int)strcspn(tn + 6, "]"), tn + 6);
    int et = wk_gguf_type_from_name(et_name);
    WK_FAIL_IF(et < 0 || et == WK_GGUF_ARRAY || wk_json_type_of(v) != WK_JSON_ARRAY, err, WK_E_FORMAT,
               "key \"%s\": bad array type \"%s\"", key, tn);
    size_t n = wk_json_len(v);
    for (size_t i = 0; i < n; i++) WK_TRY(json_to_bytes(wk_json_at(v, i), (wk_gguf_type)et, b, err));
    if (et != WK_GGUF_STRING) {
        WK_TRY(wk_buf_check(b, err));
        return wk_ggufw_kv_arr(w, key, (wk_gguf_type)et, b->data, n, err);
    }
    /* re-split into pointers for the string-array writer */
    int rc = -1;
    const char **s = calloc(n ? n : 1, sizeof *s);
    size_t *l = calloc(n ? n : 1, sizeof *l);
    WK_FAIL_GOTO(!s || !l, done, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) wk_json_as_string(wk_json_at(v, i), &s[i], &l[i], NULL);
    WK_TRY_GOTO(wk_ggufw_kv_arr_str(w, key, s, l, n, err), done);
    rc = 0;
done:
    free(s);
    free(l);
    return rc;
}

/* A GGUF scalar KV of type name tn from the JSON value v. */
static int apply_scalar(wk_ggufw *w, const char *key, const char *tn, const wk_json *v, wk_buf *b,
                        wk_err *err)
{
    int t = wk_gguf_type_from_name(tn);
    WK_FAIL_IF(t < 0 || t == WK_GGUF_ARRAY, err, WK_E_FORMAT, "key \"%s\": bad type \"%s\"", key, tn);
    WK_TRY(json_to_bytes(v, (wk_gguf_type)t, b, err));
    WK_TRY(wk_buf_check(b, err));
    if (t == WK_GGUF_STRING) return wk_ggufw_kv_str(w, key, (const char *)b->data + 8, b->len - 8, err);
    uint64_t bits = 0;
    for (size_t i = 0; i < b->len; i++) bits |= (uint64_t)b->data[i] << (8 * i);
    return wk_ggufw_kv_scalar(w, key, (wk_gguf_type)t, bits, err);
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
    int rc = strncmp(tn, "array[", 6) == 0 ? apply_array(w, key, tn, v, &b, err)
                                           : apply_scalar(w, key, tn, v, &b, err);
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
    int rc = -1;
    WK_FAIL_GOTO(wk_json_type_of(arr) != WK_JSON_ARRAY, done, err, WK_E_FORMAT, "%s: not an array",
                 WK_ST_GGUF_KV);
    for (size_t i = 0; i < wk_json_len(arr); i++) {
        if (apply_entry(wk_json_at(arr, i), w, file_type, err)) {
            wk_err_prefix(err, "%s entry %zu", WK_ST_GGUF_KV, i);
            goto done;
        }
    }
    rc = 0;
done:
    wk_json_free(arr);
    return rc;
}
