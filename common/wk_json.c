/* wk_json.c — JSON DOM, Python-compatible writer, strict bounded reader.
 * See wk_json.h for the contract and the documented policies. */
#include "wk_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* DOM                                                                      */
/* ======================================================================== */

typedef struct {
    char *key;     /* NUL-terminated copy */
    size_t klen;   /* bytes, without the NUL (keys may contain U+0000) */
    wk_json *val;
} wk_json_member;

struct wk_json {
    wk_json_type type;
    wk_json *parent;   /* the container holding this node, NULL for a root */
    union {
        int b;
        int64_t i;
        double d;
        struct { char *p; size_t n; } s;                 /* STRING, BIGINT */
        struct { wk_json **v; size_t n, cap; } a;        /* ARRAY */
        struct { wk_json_member *m; size_t n, cap; } o;  /* OBJECT */
    } u;
};

static wk_json *node_new(wk_json_type t)
{
    wk_json *v = calloc(1, sizeof *v);
    if (v) v->type = t;
    return v;
}

wk_json *wk_json_new_null(void) { return node_new(WK_JSON_NULL); }
wk_json *wk_json_new_array(void) { return node_new(WK_JSON_ARRAY); }
wk_json *wk_json_new_object(void) { return node_new(WK_JSON_OBJECT); }

wk_json *wk_json_new_bool(int b)
{
    wk_json *v = node_new(WK_JSON_BOOL);
    if (v) v->u.b = b != 0;
    return v;
}

wk_json *wk_json_new_int(int64_t i)
{
    wk_json *v = node_new(WK_JSON_INT);
    if (v) v->u.i = i;
    return v;
}

wk_json *wk_json_new_double(double d)
{
    wk_json *v = node_new(WK_JSON_DOUBLE);
    if (v) v->u.d = d;
    return v;
}

/* A NUL-terminated heap copy of n bytes, or NULL. */
static char *copy_bytes(const void *p, size_t n)
{
    if (n == SIZE_MAX) return NULL;
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* A STRING or BIGINT node holding a copy of n bytes at p. */
static wk_json *text_node(wk_json_type t, const void *p, size_t n)
{
    wk_json *v = node_new(t);
    if (!v) return NULL;
    v->u.s.p = copy_bytes(p, n);
    if (!v->u.s.p) { free(v); return NULL; }
    v->u.s.n = n;
    return v;
}

wk_json *wk_json_new_stringn(const char *s, size_t n) { return text_node(WK_JSON_STRING, s, n); }
wk_json *wk_json_new_string(const char *s) { return text_node(WK_JSON_STRING, s, strlen(s)); }

/* Parse the decimal integer text p[0..n) (optional '-', digits, no leading
 * zeros, checked by the caller) into *out; -1 if it does not fit int64. */
static int int_text_to_i64(const char *p, size_t n, int64_t *out)
{
    int neg = n > 0 && p[0] == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, mag = 0;
    for (size_t k = (size_t)neg; k < n; k++) {
        unsigned d = (unsigned)(p[k] - '0');
        if (mag > (limit - d) / 10) return -1;
        mag = mag * 10 + d;
    }
    *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return 0;
}

/* An INT node if the integer text fits int64, else a BIGINT node. */
static wk_json *int_node(const char *p, size_t n)
{
    int64_t i;
    if (int_text_to_i64(p, n, &i) == 0) return wk_json_new_int(i);
    return text_node(WK_JSON_BIGINT, p, n);
}

wk_json *wk_json_new_raw_number(const char *lit, wk_err *err)
{
    size_t n = strlen(lit), k = lit[0] == '-';
    size_t digits = n - k;
    int ok = digits > 0 && digits <= WK_JSON_MAX_INT_DIGITS && !(lit[k] == '0' && digits > 1);
    for (size_t j = k; ok && j < n; j++) ok = lit[j] >= '0' && lit[j] <= '9';
    if (!ok)
        return wk_err_set(err, WK_E_USAGE, "JSON: \"%.40s\" is not an integer literal of at most %d digits",
                          lit, WK_JSON_MAX_INT_DIGITS), NULL;
    wk_json *v = int_node(lit, n);
    if (!v) wk_err_set(err, WK_E_NOMEM, "JSON: out of memory");
    return v;
}

/* Release what v owns directly (not its children), then v itself. */
static void node_release(wk_json *v)
{
    if (v->type == WK_JSON_STRING || v->type == WK_JSON_BIGINT) free(v->u.s.p);
    else if (v->type == WK_JSON_ARRAY) free(v->u.a.v);
    else if (v->type == WK_JSON_OBJECT) free(v->u.o.m);
    free(v);
}

/* Iterative, so that freeing never recurses however deep the tree is: pop the
 * last child of the current container and descend; free a node once empty. */
void wk_json_free(wk_json *v)
{
    if (!v || v->parent) return;
    wk_json *cur = v;
    for (;;) {
        wk_json *child = NULL;
        if (cur->type == WK_JSON_ARRAY && cur->u.a.n) {
            child = cur->u.a.v[--cur->u.a.n];
        } else if (cur->type == WK_JSON_OBJECT && cur->u.o.n) {
            wk_json_member *m = &cur->u.o.m[--cur->u.o.n];
            free(m->key);
            child = m->val;
        }
        if (child) { cur = child; continue; }
        wk_json *up = cur == v ? NULL : cur->parent;
        node_release(cur);
        if (!up) return;
        cur = up;
    }
}

/* Grow *arr (elements of size elt, capacity *cap) to hold one more; 0 / -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t elt)
{
    if (n < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 4;
    if (ncap < *cap || ncap > SIZE_MAX / elt) return -1;
    void *p = realloc(*arr, ncap * elt);
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Checks common to every insertion; on failure frees val unless it is owned
 * elsewhere or would create a cycle. */
static int insert_check(wk_json *c, wk_json_type t, wk_json *val, wk_err *err)
{
    if (!val) return wk_err_set(err, WK_E_NOMEM, "JSON: out of memory building a value");
    if (val->parent) return wk_err_set(err, WK_E_USAGE, "JSON: value already belongs to a container");
    for (const wk_json *p = c; p; p = p->parent)
        if (p == val) return wk_err_set(err, WK_E_USAGE, "JSON: inserting a container into itself");
    if (!c) {   /* the container's own builder failed */
        wk_json_free(val);
        return wk_err_set(err, WK_E_NOMEM, "JSON: out of memory building a value");
    }
    if (c->type != t) {
        wk_json_free(val);
        return wk_err_set(err, WK_E_USAGE, "JSON: insert into a %s, expected %s",
                          wk_json_type_name(wk_json_type_of(c)), t == WK_JSON_ARRAY ? "an array" : "an object");
    }
    return 0;
}

int wk_json_array_push(wk_json *arr, wk_json *val, wk_err *err)
{
    WK_TRY(insert_check(arr, WK_JSON_ARRAY, val, err));
    if (grow((void **)&arr->u.a.v, &arr->u.a.cap, arr->u.a.n, sizeof *arr->u.a.v) != 0) {
        wk_json_free(val);
        return wk_err_set(err, WK_E_NOMEM, "JSON: out of memory growing an array");
    }
    arr->u.a.v[arr->u.a.n++] = val;
    val->parent = arr;
    return 0;
}

/* Append a member whose key is already a heap copy (taken over on success). */
static int member_append(wk_json *obj, char *key, size_t klen, wk_json *val)
{
    if (grow((void **)&obj->u.o.m, &obj->u.o.cap, obj->u.o.n, sizeof *obj->u.o.m) != 0) return -1;
    wk_json_member *m = &obj->u.o.m[obj->u.o.n++];
    m->key = key;
    m->klen = klen;
    m->val = val;
    val->parent = obj;
    return 0;
}

static int object_add(wk_json *obj, const char *key, wk_json *val, int replace, wk_err *err)
{
    WK_TRY(insert_check(obj, WK_JSON_OBJECT, val, err));
    size_t klen = strlen(key);
    if (replace) {
        for (size_t k = 0; k < obj->u.o.n; k++) {
            wk_json_member *m = &obj->u.o.m[k];
            if (m->klen == klen && memcmp(m->key, key, klen) == 0) {
                m->val->parent = NULL;
                wk_json_free(m->val);
                m->val = val;
                val->parent = obj;
                return 0;
            }
        }
    }
    char *kc = copy_bytes(key, klen);
    if (!kc || member_append(obj, kc, klen, val) != 0) {
        free(kc);
        wk_json_free(val);
        return wk_err_set(err, WK_E_NOMEM, "JSON: out of memory growing an object");
    }
    return 0;
}

int wk_json_object_set(wk_json *obj, const char *key, wk_json *val, wk_err *err)
{
    return object_add(obj, key, val, 1, err);
}

int wk_json_object_append(wk_json *obj, const char *key, wk_json *val, wk_err *err)
{
    return object_add(obj, key, val, 0, err);
}

/* Index of key in obj, or -1. */
static ptrdiff_t find_key(const wk_json *obj, const char *key)
{
    if (!obj || obj->type != WK_JSON_OBJECT) return -1;
    size_t klen = strlen(key);
    for (size_t k = 0; k < obj->u.o.n; k++) {
        const wk_json_member *m = &obj->u.o.m[k];
        if (m->klen == klen && memcmp(m->key, key, klen) == 0) return (ptrdiff_t)k;
    }
    return -1;
}

int wk_json_object_remove(wk_json *obj, const char *key)
{
    ptrdiff_t k = find_key(obj, key);
    if (k < 0) return 0;
    wk_json_member *m = &obj->u.o.m[k];
    free(m->key);
    m->val->parent = NULL;
    wk_json_free(m->val);
    memmove(m, m + 1, (obj->u.o.n - (size_t)k - 1) * sizeof *m);
    obj->u.o.n--;
    return 1;
}

/* ======================================================================== */
/* Inspecting                                                               */
/* ======================================================================== */

wk_json_type wk_json_type_of(const wk_json *v) { return v ? v->type : WK_JSON_NULL; }

const char *wk_json_type_name(wk_json_type t)
{
    static const char *const names[] = {"null", "bool", "int", "big int", "float", "string", "array", "object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

size_t wk_json_len(const wk_json *v)
{
    if (!v) return 0;
    if (v->type == WK_JSON_ARRAY) return v->u.a.n;
    if (v->type == WK_JSON_OBJECT) return v->u.o.n;
    return 0;
}

wk_json *wk_json_at(const wk_json *arr, size_t i)
{
    if (!arr || arr->type != WK_JSON_ARRAY || i >= arr->u.a.n) return NULL;
    return arr->u.a.v[i];
}

const char *wk_json_key_at(const wk_json *obj, size_t i, size_t *klen)
{
    if (!obj || obj->type != WK_JSON_OBJECT || i >= obj->u.o.n) return NULL;
    if (klen) *klen = obj->u.o.m[i].klen;
    return obj->u.o.m[i].key;
}

wk_json *wk_json_value_at(const wk_json *obj, size_t i)
{
    if (!obj || obj->type != WK_JSON_OBJECT || i >= obj->u.o.n) return NULL;
    return obj->u.o.m[i].val;
}

wk_json *wk_json_get(const wk_json *obj, const char *key)
{
    ptrdiff_t k = find_key(obj, key);
    return k < 0 ? NULL : obj->u.o.m[k].val;
}

const char *wk_json_bigint_text(const wk_json *v)
{
    return v && v->type == WK_JSON_BIGINT ? v->u.s.p : NULL;
}

/* "JSON: [key "k": ]expected <what>, got <type>" */
static int type_error(const wk_json *v, const char *key, const char *what, wk_err *err)
{
    const char *got = v ? wk_json_type_name(v->type) : "nothing";
    if (key) return wk_err_set(err, WK_E_FORMAT, "JSON: key \"%.100s\": expected %s, got %s", key, what, got);
    return wk_err_set(err, WK_E_FORMAT, "JSON: expected %s, got %s", what, got);
}

static int as_int(const wk_json *v, const char *key, int64_t *out, wk_err *err)
{
    if (v && v->type == WK_JSON_INT) { *out = v->u.i; return 0; }
    if (v && v->type == WK_JSON_BIGINT) {
        if (key) return wk_err_set(err, WK_E_LIMIT, "JSON: key \"%.100s\": integer %.60s does not fit int64", key, v->u.s.p);
        return wk_err_set(err, WK_E_LIMIT, "JSON: integer %.60s does not fit int64", v->u.s.p);
    }
    return type_error(v, key, "an integer", err);
}

static int as_double(const wk_json *v, const char *key, double *out, wk_err *err)
{
    if (v && v->type == WK_JSON_DOUBLE) { *out = v->u.d; return 0; }
    if (v && v->type == WK_JSON_INT) { *out = (double)v->u.i; return 0; }
    if (v && v->type == WK_JSON_BIGINT) {
        double d = strtod(v->u.s.p, NULL);
        if (!isinf(d)) { *out = d; return 0; }
        if (key) return wk_err_set(err, WK_E_LIMIT, "JSON: key \"%.100s\": integer %.60s... overflows a double", key, v->u.s.p);
        return wk_err_set(err, WK_E_LIMIT, "JSON: integer %.60s... overflows a double", v->u.s.p);
    }
    return type_error(v, key, "a number", err);
}

static int as_bool(const wk_json *v, const char *key, int *out, wk_err *err)
{
    if (v && v->type == WK_JSON_BOOL) { *out = v->u.b; return 0; }
    return type_error(v, key, "true or false", err);
}

static int as_string(const wk_json *v, const char *key, const char **s, size_t *n, wk_err *err)
{
    if (!v || v->type != WK_JSON_STRING) return type_error(v, key, "a string", err);
    *s = v->u.s.p;
    if (n) *n = v->u.s.n;
    return 0;
}

int wk_json_as_int(const wk_json *v, int64_t *out, wk_err *err) { return as_int(v, NULL, out, err); }
int wk_json_as_double(const wk_json *v, double *out, wk_err *err) { return as_double(v, NULL, out, err); }
int wk_json_as_bool(const wk_json *v, int *out, wk_err *err) { return as_bool(v, NULL, out, err); }
int wk_json_as_string(const wk_json *v, const char **s, size_t *n, wk_err *err)
{
    return as_string(v, NULL, s, n, err);
}

/* obj[key] or an error naming the key. */
static const wk_json *need_key(const wk_json *obj, const char *key, wk_err *err)
{
    if (!obj || obj->type != WK_JSON_OBJECT)
        return type_error(obj, NULL, "an object", err), NULL;
    const wk_json *v = wk_json_get(obj, key);
    if (!v) wk_err_set(err, WK_E_FORMAT, "JSON: missing key \"%.100s\"", key);
    return v;
}

int wk_json_get_int(const wk_json *obj, const char *key, int64_t *out, wk_err *err)
{
    const wk_json *v = need_key(obj, key, err);
    return v ? as_int(v, key, out, err) : -1;
}

int wk_json_get_double(const wk_json *obj, const char *key, double *out, wk_err *err)
{
    const wk_json *v = need_key(obj, key, err);
    return v ? as_double(v, key, out, err) : -1;
}

int wk_json_get_bool(const wk_json *obj, const char *key, int *out, wk_err *err)
{
    const wk_json *v = need_key(obj, key, err);
    return v ? as_bool(v, key, out, err) : -1;
}

int wk_json_get_string(const wk_json *obj, const char *key, const char **s, size_t *n, wk_err *err)
{
    const wk_json *v = need_key(obj, key, err);
    return v ? as_string(v, key, s, n, err) : -1;
}

/* ======================================================================== */
/* UTF-8                                                                    */
/* ======================================================================== */

/* Append code point cp (from a \u escape) to b as UTF-8 (wk_utf8.h). */
static void utf8_encode(wk_buf *b, uint32_t cp)
{
    uint8_t t[4];
    wk_buf_put(b, t, wk_utf8_encode(cp, t));
}

/* ======================================================================== */
/* Python float repr                                                        */
/* ======================================================================== */

/* x > 0 rounded to p significant digits: dig[0..p) and decimal exponent *e
 * (x ~ d0.d1d2... * 10^e).  printf rounds correctly (glibc). */
static void digits_at(double x, int p, char *dig, int *e)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
    dig[0] = tmp[0];
    if (p > 1) memcpy(dig + 1, tmp + 2, (size_t)p - 1);
    *e = atoi(strchr(tmp, 'e') + 1);
}

/* The double nearest to 0.d0d1...d(p-1) * 10^(e+1). */
static double digits_value(const char *dig, int p, int e)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%c.%.*se%d", dig[0], p - 1, dig + 1, e);
    return strtod(tmp, NULL);
}

/* Step dig (p digits, exponent *e) one unit in the last place up or down,
 * staying on the p-digit grid across a power of ten. */
static void digits_step(char *dig, int p, int *e, int up)
{
    int k = p - 1;
    if (up) {
        while (k >= 0 && dig[k] == '9') dig[k--] = '0';
        if (k >= 0) { dig[k]++; return; }
        dig[0] = '1';       /* 99..9 -> 10..0, one decade up */
        ++*e;
    } else {
        while (k >= 0 && dig[k] == '0') dig[k--] = '9';
        if (k >= 0) dig[k]--;
        if (dig[0] != '0') return;
        memset(dig, '9', (size_t)p); /* 10..0 -> 99..9, one decade down */
        --*e;
    }
}

/* Find p-digit decimals that read back as x: the correctly rounded one, or
 * (when x sits next to a power of two, where the rounding interval is
 * lopsided) its neighbour on the other side of x.  Any p-digit string that
 * round-trips is one of these two, and the rounded one is closest to x. */
static int digits_roundtrip(double x, int p, char *dig, int *e)
{
    digits_at(x, p, dig, e);
    double r = digits_value(dig, p, *e);
    if (r == x) return 1;
    char alt[20];
    int ae = *e;
    memcpy(alt, dig, (size_t)p);
    digits_step(alt, p, &ae, r < x);
    if (digits_value(alt, p, ae) != x) return 0;
    memcpy(dig, alt, (size_t)p);
    *e = ae;
    return 1;
}

size_t wk_json_repr_double(double x, char *out)
{
    if (isnan(x)) return (size_t)snprintf(out, WK_JSON_REPR_MAX, "NaN");
    if (isinf(x)) return (size_t)snprintf(out, WK_JSON_REPR_MAX, x < 0 ? "-Infinity" : "Infinity");
    char *o = out;
    if (signbit(x)) *o++ = '-';
    double ax = fabs(x);
    if (ax == 0) { strcpy(o, "0.0"); return (size_t)(o - out) + 3; }

    /* Shortest p in 1..17 that round-trips (17 always does; the property is
     * monotone in p, so bisect). */
    char dig[20];
    int e, lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (digits_roundtrip(ax, mid, dig, &e)) hi = mid;
        else lo = mid + 1;
    }
    digits_roundtrip(ax, lo, dig, &e);
    int nd = lo;
    while (nd > 1 && dig[nd - 1] == '0') nd--;

    /* Python's repr: exponent form iff e < -4 or e >= 16. */
    int decpt = e + 1;
    if (e < -4 || e >= 16) {
        *o++ = dig[0];
        if (nd > 1) { *o++ = '.'; memcpy(o, dig + 1, (size_t)nd - 1); o += nd - 1; }
        o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (decpt <= 0) {
        *o++ = '0'; *o++ = '.';
        for (int k = 0; k < -decpt; k++) *o++ = '0';
        memcpy(o, dig, (size_t)nd); o += nd;
    } else if (decpt >= nd) {
        memcpy(o, dig, (size_t)nd); o += nd;
        for (int k = nd; k < decpt; k++) *o++ = '0';
        *o++ = '.'; *o++ = '0';
    } else {
        memcpy(o, dig, (size_t)decpt); o += decpt;
        *o++ = '.';
        memcpy(o, dig + decpt, (size_t)(nd - decpt)); o += nd - decpt;
    }
    *o = '\0';
    return (size_t)(o - out);
}

/* ======================================================================== */
/* Writer                                                                   */
/* ======================================================================== */

wk_json_dump_opts wk_json_opts_python(void)
{
    wk_json_dump_opts o = {-1, 0, 1, 1, NULL, NULL};
    return o;
}

wk_json_dump_opts wk_json_opts_hf(void)
{
    wk_json_dump_opts o = {2, 1, 1, 1, NULL, NULL};
    return o;
}

wk_json_dump_opts wk_json_opts_compact(void)
{
    wk_json_dump_opts o = {-1, 0, 0, 0, ",", ":"};
    return o;
}

typedef struct {
    const wk_json_dump_opts *o;
    const char *item_sep, *key_sep;
    wk_buf *out;
    wk_err *err;
} wk_json_writer;

static void put_newline_indent(wk_json_writer *w, int level)
{
    static const char spaces[] = "                                ";
    if (w->o->indent < 0) return;
    wk_buf_putc(w->out, '\n');
    for (size_t n = (size_t)w->o->indent * (size_t)level; n;) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        wk_buf_put(w->out, spaces, k);
        n -= k;
    }
}

/* A quoted string escaped as Python's json encoder does (lowercase hex). */
static int put_string(wk_json_writer *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    wk_buf *b = w->out;
    size_t run = 0;   /* start of pending bytes copied verbatim */
    wk_buf_putc(b, '"');
    for (size_t k = 0; k < n;) {
        uint8_t c = p[k];
        uint32_t cp;
        size_t len = 1;
        if (c >= 0x80) {
            len = wk_utf8_decode(p + k, n - k, &cp);
            if (!len) return wk_err_set(w->err, WK_E_FORMAT, "JSON dump: string has invalid UTF-8 at byte %zu", k);
            if (!w->o->ensure_ascii) { k += len; continue; }
        } else if (c >= 0x20 && c != '"' && c != '\\' && !(c == 0x7F && w->o->ensure_ascii)) {
            k++;
            continue;
        } else {
            cp = c;
        }
        wk_buf_put(b, p + run, k - run);
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (esc) {
            wk_buf_puts(b, esc);
        } else {
            uint32_t units[2] = {cp, 0};
            int nu = 1;
            if (cp >= 0x10000) {
                units[0] = 0xD800 | (cp - 0x10000) >> 10;
                units[1] = 0xDC00 | (cp & 0x3FF);
                nu = 2;
            }
            for (int u = 0; u < nu; u++) {
                char t[6] = {'\\', 'u', hex[units[u] >> 12 & 15], hex[units[u] >> 8 & 15],
                             hex[units[u] >> 4 & 15], hex[units[u] & 15]};
                wk_buf_put(b, t, 6);
            }
        }
        k += len;
        run = k;
    }
    wk_buf_put(b, p + run, n - run);
    wk_buf_putc(b, '"');
    return 0;
}

/* Byte order of keys = code point order; ties (only possible with
 * wk_json_object_append duplicates) keep insertion order. */
static int member_cmp(const void *pa, const void *pb)
{
    const wk_json_member *a = *(const wk_json_member *const *)pa, *b = *(const wk_json_member *const *)pb;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c) return c;
    if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* The members of obj in output order (a malloc'd array), or NULL on OOM. */
static const wk_json_member **member_order(const wk_json *obj, int sorted)
{
    size_t n = obj->u.o.n;
    const wk_json_member **m = malloc(n * sizeof *m);
    if (!m) return NULL;
    for (size_t k = 0; k < n; k++) m[k] = &obj->u.o.m[k];
    if (sorted) qsort(m, n, sizeof *m, member_cmp);
    return m;
}

static int put_value(wk_json_writer *w, const wk_json *v, int level);

static int put_array(wk_json_writer *w, const wk_json *v, int level)
{
    if (v->u.a.n == 0) { wk_buf_puts(w->out, "[]"); return 0; }
    wk_buf_putc(w->out, '[');
    for (size_t k = 0; k < v->u.a.n; k++) {
        if (k) wk_buf_puts(w->out, w->item_sep);
        put_newline_indent(w, level + 1);
        WK_TRY(put_value(w, v->u.a.v[k], level + 1));
    }
    put_newline_indent(w, level);
    wk_buf_putc(w->out, ']');
    return 0;
}

static int put_object(wk_json_writer *w, const wk_json *v, int level)
{
    if (v->u.o.n == 0) { wk_buf_puts(w->out, "{}"); return 0; }
    const wk_json_member **m = member_order(v, w->o->sort_keys);
    if (!m) return wk_err_set(w->err, WK_E_NOMEM, "JSON dump: out of memory");
    int rc = -1;
    wk_buf_putc(w->out, '{');
    for (size_t k = 0; k < v->u.o.n; k++) {
        if (k) wk_buf_puts(w->out, w->item_sep);
        put_newline_indent(w, level + 1);
        WK_TRY_GOTO(put_string(w, m[k]->key, m[k]->klen), done);
        wk_buf_puts(w->out, w->key_sep);
        WK_TRY_GOTO(put_value(w, m[k]->val, level + 1), done);
    }
    rc = 0;
done:
    free(m);
    put_newline_indent(w, level);
    wk_buf_putc(w->out, '}');
    return rc;
}

static int put_value(wk_json_writer *w, const wk_json *v, int level)
{
    if (level >= WK_JSON_MAX_DEPTH_CAP)
        return wk_err_set(w->err, WK_E_LIMIT, "JSON dump: nesting deeper than %d", WK_JSON_MAX_DEPTH_CAP);
    char num[WK_JSON_REPR_MAX];
    switch (v->type) {
    case WK_JSON_NULL: wk_buf_puts(w->out, "null"); return 0;
    case WK_JSON_BOOL: wk_buf_puts(w->out, v->u.b ? "true" : "false"); return 0;
    case WK_JSON_INT: wk_buf_printf(w->out, "%" PRId64, v->u.i); return 0;
    case WK_JSON_BIGINT: wk_buf_put(w->out, v->u.s.p, v->u.s.n); return 0;
    case WK_JSON_DOUBLE:
        if (!isfinite(v->u.d) && !w->o->allow_nan)
            return wk_err_set(w->err, WK_E_FORMAT, "JSON dump: out of range float value %s is not allowed",
                              isnan(v->u.d) ? "NaN" : v->u.d < 0 ? "-Infinity" : "Infinity");
        wk_buf_put(w->out, num, wk_json_repr_double(v->u.d, num));
        return 0;
    case WK_JSON_STRING: return put_string(w, v->u.s.p, v->u.s.n);
    case WK_JSON_ARRAY: return put_array(w, v, level);
    case WK_JSON_OBJECT: return put_object(w, v, level);
    }
    return wk_err_set(w->err, WK_E_INTERNAL, "JSON dump: bad node type %d", (int)v->type);
}

int wk_json_dump(const wk_json *v, const wk_json_dump_opts *opts, wk_buf *out, wk_err *err)
{
    wk_json_dump_opts def = wk_json_opts_python();
    wk_json_writer w = {opts ? opts : &def, NULL, NULL, out, err};
    w.item_sep = w.o->item_sep ? w.o->item_sep : w.o->indent >= 0 ? "," : ", ";
    w.key_sep = w.o->key_sep ? w.o->key_sep : ": ";
    size_t start = out->len;
    if (!v) return wk_err_set(err, WK_E_USAGE, "JSON dump: no value");
    if (put_value(&w, v, 0) != 0 || wk_buf_check(out, err) != 0) {
        if (!wk_buf_failed(out)) out->len = start;
        return -1;
    }
    return 0;
}

int wk_json_dump_string(const char *s, size_t n, const wk_json_dump_opts *opts, wk_buf *out, wk_err *err)
{
    wk_json_dump_opts def = wk_json_opts_python();
    wk_json_writer w = {opts ? opts : &def, NULL, NULL, out, err};
    size_t start = out->len;
    if (put_string(&w, s, n) != 0 || wk_buf_check(out, err) != 0) {
        if (!wk_buf_failed(out)) out->len = start;
        return -1;
    }
    return 0;
}

/* ======================================================================== */
/* Reader                                                                   */
/* ======================================================================== */

wk_json_read_opts wk_json_read_defaults(void)
{
    wk_json_read_opts o = {64, (size_t)256 << 20, (size_t)16 << 20, (size_t)8 << 20, 0};
    return o;
}

typedef struct {
    wk_cur *c;
    wk_json_read_opts o;
    size_t values;    /* nodes created so far */
    wk_buf scratch;   /* decoded string being read */
    wk_err *err;
} wk_json_reader;

/* Next byte without consuming it, or -1 at the end of the range. */
static int peek(const wk_cur *c) { return wk_cur_left(c) ? c->p[c->pos] : -1; }

static void skip_ws(wk_cur *c)
{
    int ch;
    while ((ch = peek(c)) == ' ' || ch == '\t' || ch == '\n' || ch == '\r') wk_cur_skip(c, 1);
}

/* "'x'" for a printable byte, "byte 0xNN" otherwise, "end of input" at -1. */
static const char *describe(int ch, char buf[16])
{
    if (ch < 0) return "end of input";
    if (ch >= 0x20 && ch < 0x7F) snprintf(buf, 16, "'%c'", ch);
    else snprintf(buf, 16, "byte 0x%02X", (unsigned)ch);
    return buf;
}

/* "JSON: byte N: expected <what>, got <next byte>" at the cursor. */
static int expected(wk_json_reader *r, const char *what)
{
    char b[16];
    return wk_err_set(r->err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": expected %s, got %s",
                      wk_cur_pos(r->c), what, describe(peek(r->c), b));
}

/* Consume ch if it is next; else the `expected` error. */
static int expect_byte(wk_json_reader *r, int ch, const char *what)
{
    if (peek(r->c) != ch) return expected(r, what);
    wk_cur_skip(r->c, 1);
    return 0;
}

/* Count one more node against max_values. */
static int count_value(wk_json_reader *r)
{
    if (++r->values <= r->o.max_values) return 0;
    return wk_err_set(r->err, WK_E_LIMIT, "JSON: byte %" PRIu64 ": more than %zu values",
                      wk_cur_pos(r->c), r->o.max_values);
}

static wk_json *nomem(wk_json_reader *r)
{
    wk_err_set(r->err, WK_E_NOMEM, "JSON: byte %" PRIu64 ": out of memory", wk_cur_pos(r->c));
    return NULL;
}

/* Four hex digits of a \u escape into *u. */
static int read_hex4(wk_json_reader *r, uint32_t *u)
{
    *u = 0;
    for (int k = 0; k < 4; k++) {
        int ch = peek(r->c), d;
        if (ch >= '0' && ch <= '9') d = ch - '0';
        else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
        else return expected(r, "a hex digit in \\u escape");
        *u = *u << 4 | (uint32_t)d;
        wk_cur_skip(r->c, 1);
    }
    return 0;
}

/* The escape after a backslash (the cursor is on the backslash). */
static int read_escape(wk_json_reader *r)
{
    uint64_t at = wk_cur_pos(r->c);
    wk_cur_skip(r->c, 1);
    int ch = peek(r->c);
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = ch > 0 ? strchr(from, ch) : NULL;
    if (hit) {
        wk_cur_skip(r->c, 1);
        wk_buf_putc(&r->scratch, (uint8_t)to[hit - from]);
        return 0;
    }
    if (ch != 'u') return expected(r, "an escape character (one of \"\\/bfnrtu) after '\\'");
    wk_cur_skip(r->c, 1);
    uint32_t u, lo;
    WK_TRY(read_hex4(r, &u));
    if (u >= 0xDC00 && u <= 0xDFFF)
        return wk_err_set(r->err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": lone low surrogate \\u%04X", at, u);
    if (u >= 0xD800 && u <= 0xDBFF) {
        size_t save = r->c->pos;
        if (peek(r->c) == '\\' && (wk_cur_skip(r->c, 1), peek(r->c) == 'u')) {
            wk_cur_skip(r->c, 1);
            WK_TRY(read_hex4(r, &lo));
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                utf8_encode(&r->scratch, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                return 0;
            }
        }
        r->c->pos = save;
        return wk_err_set(r->err, WK_E_FORMAT,
                          "JSON: byte %" PRIu64 ": lone high surrogate \\u%04X (not followed by \\uDC00-\\uDFFF)", at, u);
    }
    utf8_encode(&r->scratch, u);
    return 0;
}

/* A string (cursor on the opening quote), decoded into r->scratch. */
static int read_string(wk_json_reader *r)
{
    uint64_t start = wk_cur_pos(r->c);
    wk_cur_skip(r->c, 1);
    r->scratch.len = 0;
    for (;;) {
        /* Copy a run of plain bytes in one go. */
        const uint8_t *p = r->c->p + r->c->pos;
        size_t n = 0, left = wk_cur_left(r->c);
        while (n < left && p[n] >= 0x20 && p[n] < 0x80 && p[n] != '"' && p[n] != '\\') n++;
        const uint8_t *run;
        wk_cur_bytes(r->c, n, &run);
        wk_buf_put(&r->scratch, run, n);
        if (r->scratch.len > r->o.max_string)
            return wk_err_set(r->err, WK_E_LIMIT, "JSON: byte %" PRIu64 ": string longer than %zu bytes",
                              start, r->o.max_string);
        int ch = peek(r->c);
        if (ch < 0)
            return wk_err_set(r->err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": unterminated string (started at byte %" PRIu64 ")",
                              wk_cur_pos(r->c), start);
        if (ch == '"') { wk_cur_skip(r->c, 1); break; }
        if (ch == '\\') { WK_TRY(read_escape(r)); continue; }
        if (ch < 0x20) return expected(r, "a string character (control characters must be escaped)");
        uint32_t cp;
        size_t len = wk_utf8_decode(r->c->p + r->c->pos, wk_cur_left(r->c), &cp);
        if (!len) return wk_err_set(r->err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": invalid UTF-8 in string", wk_cur_pos(r->c));
        wk_cur_bytes(r->c, len, &run);
        wk_buf_put(&r->scratch, run, len);
    }
    if (wk_buf_failed(&r->scratch)) return wk_buf_check(&r->scratch, r->err);
    return 0;
}

/* Consume a run of ASCII digits; returns how many. */
static size_t skip_digits(wk_cur *c)
{
    size_t n = 0;
    while (peek(c) >= '0' && peek(c) <= '9') { wk_cur_skip(c, 1); n++; }
    return n;
}

/* Consume the exact word w if it is next; 1 if it was. */
static int take_word(wk_cur *c, const char *w)
{
    size_t n = strlen(w);
    if (wk_cur_left(c) < n || memcmp(c->p + c->pos, w, n) != 0) return 0;
    wk_cur_skip(c, n);
    return 1;
}

/* A non-finite literal (only with allow_nan); the cursor is on 'N', 'I' or '-'. */
static wk_json *read_nonfinite(wk_json_reader *r)
{
    uint64_t at = wk_cur_pos(r->c);
    double d;
    if (take_word(r->c, "NaN")) d = NAN;
    else if (take_word(r->c, "Infinity")) d = INFINITY;
    else if (take_word(r->c, "-Infinity")) d = -INFINITY;
    else return expected(r, "a value"), NULL;
    if (!r->o.allow_nan) {
        wk_err_set(r->err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": NaN/Infinity literals are not allowed", at);
        return NULL;
    }
    wk_json *v = wk_json_new_double(d);
    return v ? v : nomem(r);
}

/* Consume a number literal per RFC 8259 (cursor on '-' or a digit); *is_float
 * tells whether it has a fraction or an exponent.  0 / -1. */
static int scan_number(wk_json_reader *r, int *is_float)
{
    wk_cur *c = r->c;
    if (peek(c) == '-') wk_cur_skip(c, 1);
    if (peek(c) == '0') {
        wk_cur_skip(c, 1);
        if (peek(c) >= '0' && peek(c) <= '9')
            return wk_err_set(r->err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": leading zeros are not allowed in a number",
                              wk_cur_pos(c) - 1);
    } else if (!skip_digits(c)) {
        return expected(r, "a digit after '-'");
    }
    *is_float = 0;
    if (peek(c) == '.') {
        wk_cur_skip(c, 1);
        if (!skip_digits(c)) return expected(r, "a digit after '.'");
        *is_float = 1;
    }
    if (peek(c) == 'e' || peek(c) == 'E') {
        wk_cur_skip(c, 1);
        if (peek(c) == '+' || peek(c) == '-') wk_cur_skip(c, 1);
        if (!skip_digits(c)) return expected(r, "a digit in the exponent");
        *is_float = 1;
    }
    return 0;
}

/* A DOUBLE node for the literal lit[0..n) found at byte `at`. */
static wk_json *float_node(wk_json_reader *r, const char *lit, size_t n, uint64_t at)
{
    /* strtod needs a terminated copy; short literals stay on the stack. */
    char small[64], *tmp = n < sizeof small ? small : malloc(n + 1);
    if (!tmp) return nomem(r);
    memcpy(tmp, lit, n);
    tmp[n] = '\0';
    double d = strtod(tmp, NULL);
    if (tmp != small) free(tmp);
    if (isinf(d))
        return wk_err_set(r->err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": number %.*s%s overflows a double",
                          at, (int)(n > 40 ? 40 : n), lit, n > 40 ? "..." : ""), NULL;
    wk_json *v = wk_json_new_double(d);
    return v ? v : nomem(r);
}

/* An INT, BIGINT or DOUBLE (or -Infinity with allow_nan). */
static wk_json *read_number(wk_json_reader *r)
{
    wk_cur *c = r->c;
    size_t start = c->pos;
    if (peek(c) == '-' && wk_cur_left(c) > 1 && c->p[c->pos + 1] == 'I') return read_nonfinite(r);
    int is_float = 0;
    if (scan_number(r, &is_float) != 0) return NULL;
    const char *lit = (const char *)c->p + start;
    size_t n = c->pos - start;
    uint64_t at = c->base + start;
    if (n > WK_JSON_MAX_INT_DIGITS + 1)
        return wk_err_set(r->err, WK_E_LIMIT, "JSON: byte %" PRIu64 ": number longer than %d characters",
                          at, WK_JSON_MAX_INT_DIGITS + 1), NULL;
    if (is_float) return float_node(r, lit, n, at);
    if (n - (lit[0] == '-') > WK_JSON_MAX_INT_DIGITS)
        return wk_err_set(r->err, WK_E_LIMIT, "JSON: byte %" PRIu64 ": integer longer than %d digits",
                          at, WK_JSON_MAX_INT_DIGITS), NULL;
    wk_json *v = int_node(lit, n);
    return v ? v : nomem(r);
}

static wk_json *read_value(wk_json_reader *r, size_t depth);

static wk_json *read_array(wk_json_reader *r, size_t depth)
{
    wk_cur_skip(r->c, 1);
    wk_json *arr = wk_json_new_array();
    if (!arr) return nomem(r);
    skip_ws(r->c);
    if (peek(r->c) == ']') { wk_cur_skip(r->c, 1); return arr; }
    for (;;) {
        wk_json *item = read_value(r, depth);
        if (!item) goto fail;
        if (grow((void **)&arr->u.a.v, &arr->u.a.cap, arr->u.a.n, sizeof *arr->u.a.v) != 0) {
            wk_json_free(item);
            nomem(r);
            goto fail;
        }
        arr->u.a.v[arr->u.a.n++] = item;   /* a fresh root: no ownership checks needed */
        item->parent = arr;
        skip_ws(r->c);
        if (peek(r->c) == ']') { wk_cur_skip(r->c, 1); return arr; }
        if (expect_byte(r, ',', "',' or ']' in array") != 0) goto fail;
    }
fail:
    wk_json_free(arr);
    return NULL;
}

/* Printable form of a key for messages (escapes, truncated). */
static const char *key_for_msg(const char *k, size_t n, char out[80])
{
    size_t o = 0, i = 0;
    for (; i < n && o < 64; i++) {
        uint8_t ch = (uint8_t)k[i];
        if (ch >= 0x20 && ch < 0x7F && ch != '"' && ch != '\\') out[o++] = (char)ch;
        else o += (size_t)snprintf(out + o, 80 - o, "\\x%02X", ch);
    }
    if (i < n) { memcpy(out + o, "...", 3); o += 3; }
    out[o] = '\0';
    return out;
}

static int same_key(const wk_json_member *a, const wk_json_member *b)
{
    return a->klen == b->klen && (a->klen == 0 || memcmp(a->key, b->key, a->klen) == 0);
}

/* Whole-object duplicate check for objects too large for the pairwise check
 * done while reading: sort member pointers and compare neighbours. */
static int check_duplicates(wk_json_reader *r, const wk_json *obj, uint64_t at)
{
    const wk_json_member **m = member_order(obj, 1);
    if (!m) return wk_err_set(r->err, WK_E_NOMEM, "JSON: out of memory");
    int rc = 0;
    for (size_t k = 1; k < obj->u.o.n && rc == 0; k++) {
        if (same_key(m[k - 1], m[k])) {
            char b[80];
            rc = wk_err_set(r->err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": object has duplicate key \"%s\"",
                            at, key_for_msg(m[k]->key, m[k]->klen, b));
        }
    }
    free(m);
    return rc;
}

enum { PAIRWISE_DUP_CHECK = 16 };

/* One "key": value member appended to obj. */
static int read_member(wk_json_reader *r, wk_json *obj, size_t depth)
{
    skip_ws(r->c);
    if (peek(r->c) != '"') return expected(r, "'\"' (a key) in object");
    uint64_t at = wk_cur_pos(r->c);
    WK_TRY(read_string(r));
    wk_json_member probe = {(char *)r->scratch.data, r->scratch.len, NULL};
    for (size_t k = 0; k < obj->u.o.n && obj->u.o.n < PAIRWISE_DUP_CHECK; k++) {
        if (same_key(&obj->u.o.m[k], &probe)) {
            char b[80];
            return wk_err_set(r->err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": duplicate key \"%s\"",
                              at, key_for_msg(probe.key, probe.klen, b));
        }
    }
    char *key = copy_bytes(r->scratch.data, r->scratch.len);
    if (!key) return nomem(r), -1;
    size_t klen = r->scratch.len;
    skip_ws(r->c);
    wk_json *val = NULL;
    if (expect_byte(r, ':', "':' after key in object") == 0) val = read_value(r, depth);
    if (!val || member_append(obj, key, klen, val) != 0) {
        if (val) nomem(r);
        free(key);
        wk_json_free(val);
        return -1;
    }
    return 0;
}

static wk_json *read_object(wk_json_reader *r, size_t depth)
{
    uint64_t at = wk_cur_pos(r->c);
    wk_cur_skip(r->c, 1);
    wk_json *obj = wk_json_new_object();
    if (!obj) return nomem(r);
    skip_ws(r->c);
    if (peek(r->c) == '}') { wk_cur_skip(r->c, 1); return obj; }
    for (;;) {
        if (read_member(r, obj, depth) != 0) goto fail;
        skip_ws(r->c);
        if (peek(r->c) == '}') { wk_cur_skip(r->c, 1); break; }
        if (expect_byte(r, ',', "',' or '}' in object") != 0) goto fail;
    }
    if (obj->u.o.n <= PAIRWISE_DUP_CHECK || check_duplicates(r, obj, at) == 0) return obj;
fail:
    wk_json_free(obj);
    return NULL;
}

/* One value at nesting depth `depth` (containers open depth + 1). */
static wk_json *read_value(wk_json_reader *r, size_t depth)
{
    skip_ws(r->c);
    if (count_value(r) != 0) return NULL;
    int ch = peek(r->c);
    if ((ch == '[' || ch == '{') && depth + 1 > r->o.max_depth) {
        wk_err_set(r->err, WK_E_LIMIT, "JSON: byte %" PRIu64 ": nesting deeper than %zu",
                   wk_cur_pos(r->c), r->o.max_depth);
        return NULL;
    }
    wk_json *v = NULL;
    switch (ch) {
    case '[': return read_array(r, depth + 1);
    case '{': return read_object(r, depth + 1);
    case '"':
        if (read_string(r) != 0) return NULL;
        v = wk_json_new_stringn((const char *)r->scratch.data, r->scratch.len);
        return v ? v : nomem(r);
    case 't': case 'f': case 'n':
        if (take_word(r->c, "true")) v = wk_json_new_bool(1);
        else if (take_word(r->c, "false")) v = wk_json_new_bool(0);
        else if (take_word(r->c, "null")) v = wk_json_new_null();
        else return expected(r, "a value (true, false or null)"), NULL;
        return v ? v : nomem(r);
    case 'N': case 'I':
        return read_nonfinite(r);
    default:
        if (ch == '-' || (ch >= '0' && ch <= '9')) return read_number(r);
        return expected(r, "a value"), NULL;
    }
}

wk_json *wk_json_parse_cur(wk_cur *c, const wk_json_read_opts *opts, wk_err *err)
{
    wk_json_reader r = {c, opts ? *opts : wk_json_read_defaults(), 0, {0}, err};
    if (r.o.max_depth > WK_JSON_MAX_DEPTH_CAP) r.o.max_depth = WK_JSON_MAX_DEPTH_CAP;
    size_t start = c->pos;
    if (wk_cur_left(c) > r.o.max_input)
        return wk_err_set(err, WK_E_LIMIT, "JSON: byte %" PRIu64 ": input of %zu bytes exceeds the limit of %zu",
                          wk_cur_pos(c), wk_cur_left(c), r.o.max_input), NULL;
    if (wk_cur_left(c) >= 3 && memcmp(c->p + c->pos, "\xEF\xBB\xBF", 3) == 0)
        return wk_err_set(err, WK_E_FORMAT, "JSON: byte %" PRIu64 ": unexpected UTF-8 byte order mark",
                          wk_cur_pos(c)), NULL;
    wk_json *v = read_value(&r, 0);
    if (v) {
        skip_ws(c);
        if (wk_cur_left(c)) {
            expected(&r, "end of input after the JSON value");
            wk_json_free(v);
            v = NULL;
        }
    }
    wk_buf_free(&r.scratch);
    if (!v) c->pos = start;
    return v;
}

wk_json *wk_json_parse(const void *data, size_t len, const wk_json_read_opts *opts, wk_err *err)
{
    wk_cur c = wk_cur_make(data, len, 0);
    return wk_json_parse_cur(&c, opts, err);
}
