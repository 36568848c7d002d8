/* wk_gguf.c — GGUF reader and streaming writer (see wk_gguf.h). */
#include "wk_gguf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wk_buf.h"
#include "wk_cursor.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_strmap.h"
#include "wk_utf8.h"

/* ---- value types ------------------------------------------------------------- */

static const char *const k_type_names[WK_GGUF_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};
static const uint8_t k_type_sizes[WK_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *wk_gguf_type_name(wk_gguf_type t)
{
    return (unsigned)t < WK_GGUF_TYPE_COUNT ? k_type_names[t] : NULL;
}

size_t wk_gguf_type_size(wk_gguf_type t)
{
    return (unsigned)t < WK_GGUF_TYPE_COUNT ? k_type_sizes[t] : 0;
}

int wk_gguf_type_from_name(const char *name)
{
    for (int i = 0; i < WK_GGUF_TYPE_COUNT; i++)
        if (strcmp(k_type_names[i], name) == 0) return i;
    return -1;
}

/* ---- reader ---------------------------------------------------------------- */

struct wk_gguf {
    wk_map map;              /* owned when opened from a path */
    const uint8_t *data;
    size_t size;
    char *name;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    wk_gguf_kv *kv;
    size_t n_kv;
    uint64_t **str_offs;     /* per KV: element offsets (relative to kv.value) for string arrays */
    wk_gguf_tensor *t;
    size_t n_t;
    wk_strmap names;         /* tensor name -> index into t */
    wk_strmap keys;          /* KV key -> index into kv (duplicate check in O(1), item 10 of #24) */
};

static uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Set *err to "<file>: offset N: <msg>" (msg cut at 511 bytes), N the
 * cursor position; returns -1, as wk_err_set: `return fail_at(...)`. */
static int fail_at(const wk_gguf *g, const wk_cur *c, wk_err *err, wk_code code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail_at(const wk_gguf *g, const wk_cur *c, wk_err *err, wk_code code, const char *fmt, ...)
{
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return wk_err_set(err, code, "%s: offset %llu: %s", g->name, (unsigned long long)wk_cur_pos(c), m);
}

/* Read a GGUF string; *s points into the map.  `what` names it in messages
 * ("KV 3: key"), which then read "<file>: offset N: <what> length ...". */
static int read_str(wk_gguf *g, wk_cur *c, const char **s, uint64_t *len, const char *what,
                    wk_err *err)
{
    uint64_t n;
    if (wk_cur_u64(c, &n)) return fail_at(g, c, err, WK_E_FORMAT, "truncated %s length", what);
    if (n > WK_GGUF_MAX_STRING)
        return fail_at(g, c, err, WK_E_LIMIT, "%s length %llu exceeds 1 GiB", what, (unsigned long long)n);
    if (n > wk_cur_left(c))
        return fail_at(g, c, err, WK_E_FORMAT, "%s length %llu runs past the end of the file", what,
                       (unsigned long long)n);
    const uint8_t *p;
    wk_cur_bytes(c, (size_t)n, &p);
    *s = (const char *)p;
    *len = n;
    return 0;
}

/* Refuse a key or tensor name (s[0..n), just read: it ends at the cursor)
 * that is not UTF-8, naming the file offset of the first bad byte.  The
 * spec says GGUF strings are UTF-8; these names reach JSON outputs. */
static int check_utf8(wk_gguf *g, const wk_cur *c, const char *s, uint64_t n, const char *what,
                      wk_err *err)
{
    size_t bad = wk_utf8_check(s, (size_t)n);
    if (bad == WK_UTF8_OK) return 0;
    return wk_err_set(err, WK_E_FORMAT, "%s: offset %llu: %s is not valid UTF-8 (byte 0x%02x)",
                      g->name, (unsigned long long)(wk_cur_pos(c) - n + bad), what,
                      (unsigned)(uint8_t)s[bad]);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Skip (validate) one value of type t; for string arrays fill offs. */
static int read_value(wk_gguf *g, wk_cur *c, wk_gguf_kv *kv, uint64_t **offs, wk_err *err)
{
    int32_t t;
    if (wk_cur_i32(c, &t)) return fail_at(g, c, err, WK_E_FORMAT, "key \"%s\": truncated type", kv->key);
    if (t < 0 || t >= WK_GGUF_TYPE_COUNT)
        return fail_at(g, c, err, WK_E_FORMAT, "key \"%s\": invalid value type %d", kv->key, t);
    kv->type = (wk_gguf_type)t;
    kv->n = 1;
    if (t == WK_GGUF_ARRAY) {
        int32_t et;
        uint64_t n;
        if (wk_cur_i32(c, &et) || wk_cur_u64(c, &n))
            return fail_at(g, c, err, WK_E_FORMAT, "key \"%s\": truncated array header", kv->key);
        if (et < 0 || et >= WK_GGUF_TYPE_COUNT || et == WK_GGUF_ARRAY)
            return fail_at(g, c, err, WK_E_FORMAT, "key \"%s\": invalid array element type %d%s", kv->key,
                           et, et == WK_GGUF_ARRAY ? " (nested arrays are not loadable by ggml)" : "");
        if (n > WK_GGUF_MAX_ARRAY)
            return fail_at(g, c, err, WK_E_LIMIT, "key \"%s\": array count %llu exceeds 2^30", kv->key,
                           (unsigned long long)n);
        kv->arr_type = (wk_gguf_type)et;
        kv->n = n;
        kv->value = c->p + c->pos;
        size_t es = k_type_sizes[et];
        if (et != WK_GGUF_STRING) {
            if (n > wk_cur_left(c) / es)
                return fail_at(g, c, err, WK_E_FORMAT, "key \"%s\": array of %llu %s runs past the end "
                               "of the file", kv->key, (unsigned long long)n, k_type_names[et]);
            wk_cur_skip(c, (size_t)n * es);
            return 0;
        }
        /* each string takes at least 8 bytes: the count is bounded by the file */
        if (n > wk_cur_left(c) / 8)
            return fail_at(g, c, err, WK_E_FORMAT, "key \"%s\": array of %llu strings runs past the end "
                           "of the file", kv->key, (unsigned long long)n);
        uint64_t *o = malloc((n ? n : 1) * sizeof *o);
        if (!o) return wk_err_set(err, WK_E_NOMEM, "%s: out of memory", g->name);
        *offs = o;
        for (uint64_t i = 0; i < n; i++) {
            const char *s;
            uint64_t len;
            char what[600];
            o[i] = (uint64_t)(c->p + c->pos - kv->value);
            snprintf(what, sizeof what, "key \"%s\": array element %llu", kv->key,
                     (unsigned long long)i);
            if (read_str(g, c, &s, &len, what, err)) return -1;
        }
        return 0;
    }
    kv->value = c->p + c->pos;
    if (t == WK_GGUF_STRING) {
        const char *s;
        uint64_t len;
        char what[600];
        snprintf(what, sizeof what, "key \"%s\": string value", kv->key);
        return read_str(g, c, &s, &len, what, err);
    }
    if (wk_cur_skip(c, k_type_sizes[t]))
        return fail_at(g, c, err, WK_E_FORMAT, "key \"%s\": truncated %s value", kv->key, k_type_names[t]);
    return 0;
}

static int parse_kvs(wk_gguf *g, wk_cur *c, uint64_t n_kv, wk_err *err)
{
    /* a KV takes at least 8 (key length) + 4 (type) + 1 (value) bytes */
    if (n_kv > wk_cur_left(c) / 13)
        return fail_at(g, c, err, WK_E_FORMAT, "kv count %llu is impossible for the file size",
                       (unsigned long long)n_kv);
    g->kv = calloc(n_kv ? n_kv : 1, sizeof *g->kv);
    g->str_offs = calloc(n_kv ? n_kv : 1, sizeof *g->str_offs);
    if (!g->kv || !g->str_offs) return wk_err_set(err, WK_E_NOMEM, "%s: out of memory", g->name);
    for (uint64_t i = 0; i < n_kv; i++) {
        wk_gguf_kv *kv = &g->kv[i];
        uint64_t start = c->pos;
        const char *k;
        uint64_t klen;
        char what[64];
        snprintf(what, sizeof what, "KV %llu: key", (unsigned long long)i);
        if (read_str(g, c, &k, &klen, what, err)) return -1;
        if (klen == 0)
            return fail_at(g, c, err, WK_E_FORMAT, "KV %llu has an empty key", (unsigned long long)i);
        if (memchr(k, 0, klen))
            return fail_at(g, c, err, WK_E_FORMAT, "KV %llu: key contains a NUL byte",
                           (unsigned long long)i);
        if (check_utf8(g, c, k, klen, what, err)) return -1;
        kv->key = dup_n(k, klen);
        if (!kv->key) return wk_err_set(err, WK_E_NOMEM, "%s: out of memory", g->name);
        g->n_kv = i + 1;
        long prev;
        if (wk_strmap_add(&g->keys, kv->key, (size_t)i, &prev, err)) return wk_err_prefix(err, "%s", g->name);
        if (prev >= 0) return fail_at(g, c, err, WK_E_FORMAT, "duplicate key \"%s\"", kv->key);
        kv->offset = c->base + start;
        if (read_value(g, c, kv, &g->str_offs[i], err)) return -1;
        kv->record = c->p + start;
        kv->record_len = c->pos - start;
        kv->value_len = (size_t)(c->p + c->pos - kv->value);
    }
    return 0;
}

static int parse_alignment(wk_gguf *g, wk_err *err)
{
    g->alignment = WK_GGUF_DEFAULT_ALIGNMENT;
    long i = wk_gguf_find_key(g, "general.alignment");
    if (i < 0) return 0;
    const wk_gguf_kv *kv = &g->kv[i];
    if (kv->type != WK_GGUF_UINT32)
        return wk_err_set(err, WK_E_FORMAT, "%s: general.alignment has type %s, expected u32",
                          g->name, k_type_names[kv->type]);
    uint32_t a = wk_le32(kv->value);
    if (a == 0 || (a & (a - 1)))
        return wk_err_set(err, WK_E_FORMAT, "%s: general.alignment %u is not a power of two",
                          g->name, a);
    g->alignment = a;
    return 0;
}

static int parse_tensor_info(wk_gguf *g, wk_cur *c, size_t i, wk_err *err)
{
    wk_gguf_tensor *t = &g->t[i];
    const char *s;
    uint64_t len;
    char label[64];
    snprintf(label, sizeof label, "tensor %zu: name", i);
    if (read_str(g, c, &s, &len, label, err)) return -1;
    if (len > WK_GGUF_MAX_NAME)
        return fail_at(g, c, err, WK_E_FORMAT, "tensor %zu: name is %llu bytes (ggml allows at most %d)",
                       i, (unsigned long long)len, WK_GGUF_MAX_NAME);
    if (memchr(s, 0, len)) return fail_at(g, c, err, WK_E_FORMAT, "tensor %zu: name contains a NUL byte", i);
    if (check_utf8(g, c, s, len, label, err)) return -1;
    t->name = dup_n(s, len);
    if (!t->name) return wk_err_set(err, WK_E_NOMEM, "%s: out of memory", g->name);
    g->n_t = i + 1;
    long prev;
    if (wk_strmap_add(&g->names, t->name, i, &prev, err)) return wk_err_prefix(err, "%s", g->name);
    if (prev >= 0) return fail_at(g, c, err, WK_E_FORMAT, "duplicate tensor name \"%s\"", t->name);
    if (wk_cur_u32(c, &t->n_dims))
        return fail_at(g, c, err, WK_E_FORMAT, "tensor \"%s\": truncated", t->name);
    if (t->n_dims > WK_GGUF_MAX_DIMS)
        return fail_at(g, c, err, WK_E_FORMAT, "tensor \"%s\": n_dims %u > %d", t->name, t->n_dims,
                       WK_GGUF_MAX_DIMS);
    for (int d = 0; d < WK_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (wk_cur_i64(c, &t->ne[d]))
            return fail_at(g, c, err, WK_E_FORMAT, "tensor \"%s\": truncated shape", t->name);
        if (t->ne[d] < 0)
            return fail_at(g, c, err, WK_E_FORMAT, "tensor \"%s\": negative ne[%u] = %lld", t->name, d,
                           (long long)t->ne[d]);
    }
    int32_t type;
    if (wk_cur_i32(c, &type) || wk_cur_u64(c, &t->offset))
        return fail_at(g, c, err, WK_E_FORMAT, "tensor \"%s\": truncated", t->name);
    t->type = type;
    if (!wk_ggml_type_get(type))
        return fail_at(g, c, err, WK_E_FORMAT, "tensor \"%s\": invalid ggml type %d", t->name, type);
    char what[600];
    snprintf(what, sizeof what, "%s: tensor \"%s\"", g->name, t->name);
    return wk_ggml_nbytes(type, WK_GGUF_MAX_DIMS, t->ne, &t->nbytes, what, err);
}

static int parse_tensors(wk_gguf *g, wk_cur *c, uint64_t n_t, wk_err *err)
{
    /* a tensor info takes at least 8 + 1 + 4 + 4 + 8 bytes */
    if (n_t > wk_cur_left(c) / 25)
        return fail_at(g, c, err, WK_E_FORMAT, "tensor count %llu is impossible for the file size",
                       (unsigned long long)n_t);
    g->t = calloc(n_t ? n_t : 1, sizeof *g->t);
    if (!g->t) return wk_err_set(err, WK_E_NOMEM, "%s: out of memory", g->name);
    for (size_t i = 0; i < n_t; i++)
        if (parse_tensor_info(g, c, i, err)) return -1;
    /* data section: offsets must be the running aligned sum (gguf.cpp) */
    g->data_offset = n_t ? pad_to(wk_cur_pos(c), g->alignment) : wk_cur_pos(c);
    uint64_t expect = 0;
    for (size_t i = 0; i < n_t; i++) {
        wk_gguf_tensor *t = &g->t[i];
        if (t->offset != expect)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\" has offset %llu, expected %llu "
                              "(tensors must be packed in order, each aligned to %u)", g->name,
                              t->name, (unsigned long long)t->offset, (unsigned long long)expect,
                              g->alignment);
        if (t->nbytes > UINT64_MAX - expect - g->alignment)
            return wk_err_set(err, WK_E_LIMIT, "%s: tensor \"%s\": data size overflows", g->name, t->name);
        expect = pad_to(expect + t->nbytes, g->alignment);
        if (g->data_offset > g->size || t->offset + t->nbytes > g->size - g->data_offset)
            return wk_err_set(err, WK_E_FORMAT, "%s: tensor \"%s\": data [%llu, +%llu) is past the "
                              "end of the file (%zu bytes)", g->name, t->name,
                              (unsigned long long)(g->data_offset + t->offset),
                              (unsigned long long)t->nbytes, g->size);
        t->file_offset = g->data_offset + t->offset;
        t->data = g->data + t->file_offset;
    }
    return 0;
}

static int parse(wk_gguf *g, wk_err *err)
{
    wk_cur c = wk_cur_make(g->data, g->size, 0);
    const uint8_t *magic;
    if (wk_cur_bytes(&c, 4, &magic))
        return wk_err_set(err, WK_E_FORMAT, "%s: too short for a GGUF file (%zu bytes)", g->name, g->size);
    if (memcmp(magic, "GGUF", 4) != 0)
        return wk_err_set(err, WK_E_FORMAT, "%s: bad magic %02x %02x %02x %02x (expected \"GGUF\")",
                          g->name, magic[0], magic[1], magic[2], magic[3]);
    if (wk_cur_u32(&c, &g->version))
        return wk_err_set(err, WK_E_FORMAT, "%s: truncated header", g->name);
    if (g->version == 0) return wk_err_set(err, WK_E_FORMAT, "%s: GGUF version 0", g->name);
    if ((g->version & 0xFFFF) == 0)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: GGUF version 0x%08x looks byte-swapped "
                          "(big-endian file?)", g->name, g->version);
    if (g->version == 1)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: GGUF version 1 (v1) is no longer supported", g->name);
    if (g->version > WK_GGUF_VERSION)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: GGUF version %u is newer than %d", g->name,
                          g->version, WK_GGUF_VERSION);
    int64_t n_t, n_kv;
    if (wk_cur_i64(&c, &n_t) || wk_cur_i64(&c, &n_kv))
        return wk_err_set(err, WK_E_FORMAT, "%s: truncated header", g->name);
    if (n_t < 0 || n_kv < 0)
        return wk_err_set(err, WK_E_FORMAT, "%s: negative %s count", g->name, n_t < 0 ? "tensor" : "kv");
    WK_TRY(parse_kvs(g, &c, (uint64_t)n_kv, err));
    WK_TRY(parse_alignment(g, err));
    return parse_tensors(g, &c, (uint64_t)n_t, err);
}

wk_gguf *wk_gguf_open_buffer(const uint8_t *data, size_t size, const char *name, wk_err *err)
{
    wk_gguf *g = calloc(1, sizeof *g);
    if (!g || !(g->name = strdup(name ? name : "(buffer)"))) {
        free(g);
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    g->data = data;
    g->size = size;
    if (parse(g, err)) {
        wk_gguf_close(g);
        return NULL;
    }
    return g;
}

wk_gguf *wk_gguf_open(const char *path, wk_err *err)
{
    wk_map m;
    if (wk_map_open(&m, path, err)) return NULL;
    wk_gguf *g = wk_gguf_open_buffer(m.data, m.size, path, err);
    if (!g) {
        wk_map_close(&m);
        return NULL;
    }
    g->map = m;
    return g;
}

void wk_gguf_close(wk_gguf *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free((char *)g->kv[i].key);
        free(g->str_offs[i]);
    }
    for (size_t i = 0; i < g->n_t; i++) free((char *)g->t[i].name);
    free(g->kv);
    free(g->str_offs);
    free(g->t);
    wk_strmap_free(&g->names);
    wk_strmap_free(&g->keys);
    free(g->name);
    wk_map_close(&g->map);
    free(g);
}

const char *wk_gguf_path(const wk_gguf *g) { return g->name; }
uint32_t wk_gguf_version(const wk_gguf *g) { return g->version; }
uint32_t wk_gguf_alignment(const wk_gguf *g) { return g->alignment; }
uint64_t wk_gguf_data_offset(const wk_gguf *g) { return g->data_offset; }
uint64_t wk_gguf_file_size(const wk_gguf *g) { return g->size; }
size_t wk_gguf_kv_count(const wk_gguf *g) { return g->n_kv; }
const wk_gguf_kv *wk_gguf_kv_at(const wk_gguf *g, size_t i) { return i < g->n_kv ? &g->kv[i] : NULL; }
size_t wk_gguf_tensor_count(const wk_gguf *g) { return g->n_t; }
const wk_gguf_tensor *wk_gguf_tensor_at(const wk_gguf *g, size_t i) { return i < g->n_t ? &g->t[i] : NULL; }

long wk_gguf_find_key(const wk_gguf *g, const char *key)
{
    return wk_strmap_get(&g->keys, key);
}

long wk_gguf_find_tensor(const wk_gguf *g, const char *name)
{
    return wk_strmap_get(&g->names, name);
}

static const wk_gguf_kv *typed_kv(const wk_gguf *g, const char *key, wk_gguf_type t, wk_err *err)
{
    long i = wk_gguf_find_key(g, key);
    if (i < 0) {
        wk_err_set(err, WK_E_FORMAT, "%s: missing key \"%s\"", g->name, key);
        return NULL;
    }
    if (g->kv[i].type != t) {
        wk_err_set(err, WK_E_FORMAT, "%s: key \"%s\" has type %s, expected %s", g->name, key,
                   k_type_names[g->kv[i].type], k_type_names[t]);
        return NULL;
    }
    return &g->kv[i];
}

int wk_gguf_get_u32(const wk_gguf *g, const char *key, uint32_t *out, wk_err *err)
{
    const wk_gguf_kv *kv = typed_kv(g, key, WK_GGUF_UINT32, err);
    if (!kv) return -1;
    *out = wk_le32(kv->value);
    return 0;
}

int wk_gguf_get_f32(const wk_gguf *g, const char *key, float *out, wk_err *err)
{
    const wk_gguf_kv *kv = typed_kv(g, key, WK_GGUF_FLOAT32, err);
    if (!kv) return -1;
    uint32_t u = wk_le32(kv->value);
    memcpy(out, &u, 4);
    return 0;
}

int wk_gguf_get_bool(const wk_gguf *g, const char *key, int *out, wk_err *err)
{
    const wk_gguf_kv *kv = typed_kv(g, key, WK_GGUF_BOOL, err);
    if (!kv) return -1;
    *out = kv->value[0] != 0;
    return 0;
}

int wk_gguf_get_str(const wk_gguf *g, const char *key, const char **s, size_t *len, wk_err *err)
{
    const wk_gguf_kv *kv = typed_kv(g, key, WK_GGUF_STRING, err);
    if (!kv) return -1;
    *len = (size_t)wk_le64(kv->value);
    *s = (const char *)kv->value + 8;
    return 0;
}

const char *wk_gguf_arr_str(const wk_gguf *g, size_t kv, uint64_t i, size_t *len)
{
    if (kv >= g->n_kv || g->kv[kv].type != WK_GGUF_ARRAY || g->kv[kv].arr_type != WK_GGUF_STRING ||
        i >= g->kv[kv].n)
        return NULL;
    const uint8_t *p = g->kv[kv].value + g->str_offs[kv][i];
    *len = (size_t)wk_le64(p);
    return (const char *)p + 8;
}

/* x truncated toward zero; NaN gives 0 and out-of-range values saturate (a
 * plain cast is undefined behaviour for them, and file floats can be anything). */
static int64_t f64_to_i64(double x)
{
    if (x != x) return 0;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    if (x >= 9223372036854775808.0) return INT64_MAX;
    return (int64_t)x;
}

int wk_gguf_kv_num(const wk_gguf *g, size_t kv, uint64_t i, double *d, int64_t *v)
{
    if (kv >= g->n_kv) return -1;
    const wk_gguf_kv *k = &g->kv[kv];
    wk_gguf_type t = k->type == WK_GGUF_ARRAY ? k->arr_type : k->type;
    if (t == WK_GGUF_STRING || i >= k->n) return -1;
    const uint8_t *p = k->value + i * k_type_sizes[t];
    int64_t iv = 0;
    double dv = 0;
    switch (t) {
    case WK_GGUF_UINT8: iv = p[0]; break;
    case WK_GGUF_INT8: iv = (int8_t)p[0]; break;
    case WK_GGUF_UINT16: iv = wk_le16(p); break;
    case WK_GGUF_INT16: iv = (int16_t)wk_le16(p); break;
    case WK_GGUF_UINT32: iv = wk_le32(p); break;
    case WK_GGUF_INT32: iv = (int32_t)wk_le32(p); break;
    case WK_GGUF_BOOL: iv = p[0] != 0; break;
    case WK_GGUF_UINT64: iv = (int64_t)wk_le64(p); break;
    case WK_GGUF_INT64: iv = (int64_t)wk_le64(p); break;
    case WK_GGUF_FLOAT32: { uint32_t u = wk_le32(p); float f; memcpy(&f, &u, 4); dv = f; iv = f64_to_i64(dv); break; }
    case WK_GGUF_FLOAT64: { uint64_t u = wk_le64(p); memcpy(&dv, &u, 8); iv = f64_to_i64(dv); break; }
    default: return -1;
    }
    if (t != WK_GGUF_FLOAT32 && t != WK_GGUF_FLOAT64) dv = (double)iv;
    if (d) *d = dv;
    if (v) *v = iv;
    return 0;
}

/* ---- digests ------------------------------------------------------------- */

int wk_gguf_has_digests(const wk_gguf *g)
{
    long i = wk_gguf_find_key(g, WK_GGUF_KEY_DIGESTS);
    return i >= 0 && g->kv[i].type == WK_GGUF_ARRAY && g->kv[i].arr_type == WK_GGUF_STRING;
}

int wk_gguf_verify_digests(const wk_gguf *g, wk_digest_cb cb, void *ctx, wk_err *err)
{
    const char *alg;
    size_t alen;
    if (wk_gguf_get_str(g, WK_GGUF_KEY_DIGEST_ALG, &alg, &alen, err)) return -1;
    if (alen != 7 || memcmp(alg, "xxh3-64", 7) != 0)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: unknown digest algorithm \"%.*s\"", g->name,
                          (int)(alen > 64 ? 64 : alen), alg);
    long k = wk_gguf_find_key(g, WK_GGUF_KEY_DIGESTS);
    if (k < 0 || !wk_gguf_has_digests(g))
        return wk_err_set(err, WK_E_FORMAT, "%s: no %s string array", g->name, WK_GGUF_KEY_DIGESTS);
    if (g->kv[k].n != g->n_t)
        return wk_err_set(err, WK_E_FORMAT, "%s: %llu digests for %zu tensors", g->name,
                          (unsigned long long)g->kv[k].n, g->n_t);
    size_t bad = 0;
    const char *first = NULL;
    for (size_t i = 0; i < g->n_t; i++) {
        uint8_t dig[WK_HASH_MAX_DIGEST];
        char hex[2 * WK_HASH_MAX_DIGEST + 1], want[2 * WK_HASH_MAX_DIGEST + 1];
        WK_TRY(wk_map_digest(WK_HASH_XXH3_64, g->t[i].data, (size_t)g->t[i].nbytes, dig, err));
        wk_hex(dig, 8, hex);
        size_t len;
        const char *s = wk_gguf_arr_str(g, (size_t)k, i, &len);
        snprintf(want, sizeof want, "%.*s", (int)(len > 64 ? 64 : len), s);
        int st = (len == 16 && memcmp(s, hex, 16) == 0) ? 0 : 1;
        if (st) {
            if (!bad) first = g->t[i].name;
            bad++;
        }
        if (cb) cb(ctx, g->t[i].name, st, hex, want);
    }
    if (bad)
        return wk_err_set(err, WK_E_MISMATCH, "%s: %zu of %zu tensors do not match their digest "
                          "(first: %s)", g->name, bad, g->n_t, first);
    return 0;
}

/* ---- writer ---------------------------------------------------------------- */

typedef struct {
    char *name;
    int type;
    int n_dims;
    int64_t ne[WK_GGUF_MAX_DIMS];
    uint64_t offset, nbytes;
} wk_ggufw_t;

struct wk_ggufw {
    uint32_t alignment;
    wk_buf kv;            /* serialized KV records */
    uint64_t n_kv;
    char **keys;
    size_t keys_cap;
    wk_strmap key_map;    /* key -> index into keys (duplicate check in O(1)) */
    wk_ggufw_t *t;
    wk_strmap t_map;      /* tensor name -> index into t */
    size_t n_t, t_cap;
    uint64_t data_size;   /* running aligned sum */
    /* streaming state */
    int begun, failed;
    wk_sink *sink;        /* not owned */
    size_t cur;           /* tensor being written */
    uint64_t cur_done;    /* bytes of it so far */
    uint64_t written;
};

wk_ggufw *wk_ggufw_new(uint32_t alignment, wk_err *err)
{
    if (alignment == 0) alignment = WK_GGUF_DEFAULT_ALIGNMENT;
    if (alignment < 8 || alignment > (1u << 20) || (alignment & (alignment - 1))) {
        wk_err_set(err, WK_E_USAGE, "GGUF alignment %u: must be a power of two in 8..1048576", alignment);
        return NULL;
    }
    wk_ggufw *w = calloc(1, sizeof *w);
    if (!w) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    w->alignment = alignment;
    return w;
}

void wk_ggufw_free(wk_ggufw *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->keys);
    wk_strmap_free(&w->key_map);
    wk_strmap_free(&w->t_map);
    free(w->t);
    wk_buf_free(&w->kv);
    free(w);
}

int wk_ggufw_has_key(const wk_ggufw *w, const char *key)
{
    return wk_strmap_get(&w->key_map, key) >= 0;
}

/* Check and record key, write its string and the value type. */
static int kv_start(wk_ggufw *w, const char *key, wk_gguf_type t, wk_err *err)
{
    if (w->begun) return wk_err_set(err, WK_E_USAGE, "GGUF writer: KV \"%s\" added after begin", key);
    if (!key || !*key) return wk_err_set(err, WK_E_USAGE, "GGUF writer: empty key");
    if (wk_ggufw_has_key(w, key)) return wk_err_set(err, WK_E_USAGE, "GGUF writer: duplicate key \"%s\"", key);
    if (w->n_kv == w->keys_cap) {
        size_t cap = w->keys_cap ? 2 * w->keys_cap : 32;
        char **k = realloc(w->keys, cap * sizeof *k);
        if (!k) return wk_err_set(err, WK_E_NOMEM, "out of memory");
        w->keys = k;
        w->keys_cap = cap;
    }
    if (!(w->keys[w->n_kv] = strdup(key))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    long prev;
    if (wk_strmap_add(&w->key_map, w->keys[w->n_kv], w->n_kv, &prev, err)) {
        free(w->keys[w->n_kv]);
        return -1;
    }
    w->n_kv++;
    size_t len = strlen(key);
    wk_buf_le64(&w->kv, len);
    wk_buf_put(&w->kv, key, len);
    wk_buf_le32(&w->kv, (uint32_t)t);
    return 0;
}

static int kv_scalar(wk_ggufw *w, const char *key, wk_gguf_type t, uint64_t bits, wk_err *err)
{
    if (strcmp(key, "general.alignment") == 0 && (t != WK_GGUF_UINT32 || bits != w->alignment))
        return wk_err_set(err, WK_E_USAGE, "GGUF writer: general.alignment must be the u32 %u",
                          w->alignment);
    WK_TRY(kv_start(w, key, t, err));
    for (size_t i = 0; i < k_type_sizes[t]; i++) wk_buf_putc(&w->kv, (uint8_t)(bits >> (8 * i)));
    return wk_buf_check(&w->kv, err);
}

int wk_ggufw_kv_scalar(wk_ggufw *w, const char *key, wk_gguf_type t, uint64_t bits, wk_err *err)
{
    if ((unsigned)t >= WK_GGUF_TYPE_COUNT || k_type_sizes[t] == 0)
        return wk_err_set(err, WK_E_USAGE, "GGUF writer: key \"%s\": not a scalar type", key);
    return kv_scalar(w, key, t, bits, err);
}

int wk_ggufw_kv_u8(wk_ggufw *w, const char *key, uint8_t v, wk_err *err) { return kv_scalar(w, key, WK_GGUF_UINT8, v, err); }
int wk_ggufw_kv_u32(wk_ggufw *w, const char *key, uint32_t v, wk_err *err) { return kv_scalar(w, key, WK_GGUF_UINT32, v, err); }
int wk_ggufw_kv_i32(wk_ggufw *w, const char *key, int32_t v, wk_err *err) { return kv_scalar(w, key, WK_GGUF_INT32, (uint32_t)v, err); }
int wk_ggufw_kv_u64(wk_ggufw *w, const char *key, uint64_t v, wk_err *err) { return kv_scalar(w, key, WK_GGUF_UINT64, v, err); }
int wk_ggufw_kv_bool(wk_ggufw *w, const char *key, int v, wk_err *err) { return kv_scalar(w, key, WK_GGUF_BOOL, v ? 1 : 0, err); }

int wk_ggufw_kv_f32(wk_ggufw *w, const char *key, float v, wk_err *err)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return kv_scalar(w, key, WK_GGUF_FLOAT32, u, err);
}

int wk_ggufw_kv_str(wk_ggufw *w, const char *key, const char *s, size_t len, wk_err *err)
{
    if (len > WK_GGUF_MAX_STRING) return wk_err_set(err, WK_E_LIMIT, "GGUF writer: key \"%s\": string over 1 GiB", key);
    WK_TRY(kv_start(w, key, WK_GGUF_STRING, err));
    wk_buf_le64(&w->kv, len);
    wk_buf_put(&w->kv, s, len);
    return wk_buf_check(&w->kv, err);
}

int wk_ggufw_kv_arr(wk_ggufw *w, const char *key, wk_gguf_type et, const void *data, uint64_t n,
                    wk_err *err)
{
    if ((unsigned)et >= WK_GGUF_TYPE_COUNT || et == WK_GGUF_STRING || et == WK_GGUF_ARRAY)
        return wk_err_set(err, WK_E_USAGE, "GGUF writer: key \"%s\": bad array element type", key);
    if (n > WK_GGUF_MAX_ARRAY) return wk_err_set(err, WK_E_LIMIT, "GGUF writer: key \"%s\": array over 2^30", key);
    WK_TRY(kv_start(w, key, WK_GGUF_ARRAY, err));
    wk_buf_le32(&w->kv, (uint32_t)et);
    wk_buf_le64(&w->kv, n);
    wk_buf_put(&w->kv, data, (size_t)n * k_type_sizes[et]);
    return wk_buf_check(&w->kv, err);
}

int wk_ggufw_kv_arr_str(wk_ggufw *w, const char *key, const char *const *strs, const size_t *lens,
                        uint64_t n, wk_err *err)
{
    if (n > WK_GGUF_MAX_ARRAY) return wk_err_set(err, WK_E_LIMIT, "GGUF writer: key \"%s\": array over 2^30", key);
    for (uint64_t i = 0; i < n; i++)
        if (lens[i] > WK_GGUF_MAX_STRING)
            return wk_err_set(err, WK_E_LIMIT, "GGUF writer: key \"%s\": string over 1 GiB", key);
    WK_TRY(kv_start(w, key, WK_GGUF_ARRAY, err));
    wk_buf_le32(&w->kv, WK_GGUF_STRING);
    wk_buf_le64(&w->kv, n);
    for (uint64_t i = 0; i < n; i++) {
        wk_buf_le64(&w->kv, lens[i]);
        wk_buf_put(&w->kv, strs[i], lens[i]);
    }
    return wk_buf_check(&w->kv, err);
}

int wk_ggufw_kv_copy(wk_ggufw *w, const wk_gguf *g, size_t i, wk_err *err)
{
    const wk_gguf_kv *kv = wk_gguf_kv_at(g, i);
    if (!kv) return wk_err_set(err, WK_E_USAGE, "GGUF writer: KV index %zu out of range", i);
    if (strcmp(kv->key, "general.alignment") == 0 && g->alignment != w->alignment)
        return wk_err_set(err, WK_E_USAGE, "GGUF writer: general.alignment %u differs from the "
                          "output alignment %u", g->alignment, w->alignment);
    WK_TRY(kv_start(w, kv->key, kv->type, err));
    size_t head = 8 + strlen(kv->key) + 4;   /* the part kv_start wrote */
    wk_buf_put(&w->kv, kv->record + head, kv->record_len - head);
    return wk_buf_check(&w->kv, err);
}

long wk_ggufw_add_tensor(wk_ggufw *w, const char *name, int type, int n_dims, const int64_t *ne,
                         wk_err *err)
{
    if (w->begun) return wk_err_set(err, WK_E_USAGE, "GGUF writer: tensor \"%s\" added after begin", name);
    size_t len = strlen(name);
    if (len == 0 || len > WK_GGUF_MAX_NAME)
        return wk_err_set(err, WK_E_USAGE, "GGUF writer: tensor name \"%s\" must be 1..%d bytes",
                          name, WK_GGUF_MAX_NAME);
    if (n_dims < 1 || n_dims > WK_GGUF_MAX_DIMS)
        return wk_err_set(err, WK_E_USAGE, "GGUF writer: tensor \"%s\": %d dims (1..4 allowed)", name, n_dims);
    if (wk_strmap_get(&w->t_map, name) >= 0)
        return wk_err_set(err, WK_E_USAGE, "GGUF writer: duplicate tensor \"%s\"", name);
    wk_ggufw_t t = {0};
    t.type = type;
    t.n_dims = n_dims;
    for (int d = 0; d < WK_GGUF_MAX_DIMS; d++) t.ne[d] = d < n_dims ? ne[d] : 1;
    char what[128];
    snprintf(what, sizeof what, "GGUF writer: tensor \"%s\"", name);
    WK_TRY(wk_ggml_nbytes(type, n_dims, t.ne, &t.nbytes, what, err));
    if (t.nbytes > UINT64_MAX / 2 - w->data_size)
        return wk_err_set(err, WK_E_LIMIT, "%s: file size overflows", what);
    if (w->n_t == w->t_cap) {
        size_t cap = w->t_cap ? 2 * w->t_cap : 64;
        wk_ggufw_t *nt = realloc(w->t, cap * sizeof *nt);
        if (!nt) return wk_err_set(err, WK_E_NOMEM, "out of memory");
        w->t = nt;
        w->t_cap = cap;
    }
    if (!(t.name = strdup(name))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    long prev;
    if (wk_strmap_add(&w->t_map, t.name, w->n_t, &prev, err)) {
        free(t.name);
        return -1;
    }
    t.offset = w->data_size;
    w->data_size = pad_to(w->data_size + t.nbytes, w->alignment);
    w->t[w->n_t] = t;
    return (long)w->n_t++;
}

size_t wk_ggufw_tensor_count(const wk_ggufw *w) { return w->n_t; }
uint64_t wk_ggufw_tensor_nbytes(const wk_ggufw *w, size_t i) { return i < w->n_t ? w->t[i].nbytes : 0; }

static uint64_t info_size(const wk_ggufw *w)
{
    uint64_t n = 0;
    for (size_t i = 0; i < w->n_t; i++) n += 8 + strlen(w->t[i].name) + 4 + 8 * (uint64_t)w->t[i].n_dims + 4 + 8;
    return n;
}

uint64_t wk_ggufw_header_size(const wk_ggufw *w)
{
    return pad_to(24 + w->kv.len + info_size(w), w->alignment);
}

uint64_t wk_ggufw_total_size(const wk_ggufw *w) { return wk_ggufw_header_size(w) + w->data_size; }

uint64_t wk_ggufw_kv_end(const wk_ggufw *w) { return 24 + w->kv.len; }

uint64_t wk_ggufw_tensor_file_offset(const wk_ggufw *w, size_t i)
{
    return i < w->n_t ? wk_ggufw_header_size(w) + w->t[i].offset : 0;
}

static int emit(wk_ggufw *w, const void *p, size_t n, wk_err *err)
{
    if (wk_sink_write(w->sink, p, n, err)) {
        w->failed = 1;
        return -1;
    }
    w->written += n;
    return 0;
}

static int emit_zeros(wk_ggufw *w, uint64_t n, wk_err *err)
{
    static const uint8_t z[256];
    while (n) {
        size_t k = n < sizeof z ? (size_t)n : sizeof z;
        WK_TRY(emit(w, z, k, err));
        n -= k;
    }
    return 0;
}

int wk_ggufw_begin(wk_ggufw *w, wk_sink *sink, wk_err *err)
{
    if (w->begun) return wk_err_set(err, WK_E_USAGE, "GGUF writer: begin called twice");
    WK_TRY(wk_buf_check(&w->kv, err));
    w->begun = 1;
    w->sink = sink;
    wk_buf h;
    wk_buf_init(&h);
    wk_buf_put(&h, "GGUF", 4);
    wk_buf_le32(&h, WK_GGUF_VERSION);
    wk_buf_le64(&h, w->n_t);
    wk_buf_le64(&h, w->n_kv);
    wk_buf_put(&h, w->kv.data, w->kv.len);
    for (size_t i = 0; i < w->n_t; i++) {
        const wk_ggufw_t *t = &w->t[i];
        size_t len = strlen(t->name);
        wk_buf_le64(&h, len);
        wk_buf_put(&h, t->name, len);
        wk_buf_le32(&h, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) wk_buf_le64(&h, (uint64_t)t->ne[d]);
        wk_buf_le32(&h, (uint32_t)t->type);
        wk_buf_le64(&h, t->offset);
    }
    int rc = -1;
    uint64_t hs = h.len;
    WK_TRY_GOTO(wk_buf_check(&h, err), done);
    WK_TRY_GOTO(emit(w, h.data, h.len, err), done);
    WK_TRY_GOTO(emit_zeros(w, pad_to(hs, w->alignment) - hs, err), done);
    rc = 0;
done:
    wk_buf_free(&h);
    if (rc) w->failed = 1;
    return rc;
}

/* Skip over zero-byte tensors so that `cur` is the next one needing data. */
static void skip_empty(wk_ggufw *w)
{
    while (w->cur < w->n_t && w->t[w->cur].nbytes == 0) w->cur++;
}

int wk_ggufw_write(wk_ggufw *w, const void *p, size_t n, wk_err *err)
{
    if (w->failed) return wk_err_set(err, WK_E_USAGE, "GGUF writer: already failed");
    if (!w->begun) return wk_err_set(err, WK_E_USAGE, "GGUF writer: write before begin");
    const uint8_t *b = p;
    while (n) {
        skip_empty(w);
        if (w->cur >= w->n_t) {
            w->failed = 1;
            return wk_err_set(err, WK_E_USAGE, "GGUF writer: %zu bytes past the last tensor", n);
        }
        const wk_ggufw_t *t = &w->t[w->cur];
        uint64_t left = t->nbytes - w->cur_done;
        size_t k = n < left ? n : (size_t)left;
        WK_TRY(emit(w, b, k, err));
        b += k;
        n -= k;
        w->cur_done += k;
        if (w->cur_done == t->nbytes) {
            WK_TRY(emit_zeros(w, pad_to(t->nbytes, w->alignment) - t->nbytes, err));
            w->cur++;
            w->cur_done = 0;
        }
    }
    return 0;
}

int wk_ggufw_finish(wk_ggufw *w, wk_err *err)
{
    if (w->failed) return wk_err_set(err, WK_E_USAGE, "GGUF writer: already failed");
    if (!w->begun) return wk_err_set(err, WK_E_USAGE, "GGUF writer: finish before begin");
    skip_empty(w);
    if (w->cur < w->n_t)
        return wk_err_set(err, WK_E_INTERNAL, "GGUF writer: tensor \"%s\" incomplete (%llu of %llu bytes)",
                          w->t[w->cur].name, (unsigned long long)w->cur_done,
                          (unsigned long long)w->t[w->cur].nbytes);
    if (w->written != wk_ggufw_total_size(w))
        return wk_err_set(err, WK_E_INTERNAL, "GGUF writer: wrote %llu bytes, planned %llu",
                          (unsigned long long)w->written, (unsigned long long)wk_ggufw_total_size(w));
    return 0;
}
