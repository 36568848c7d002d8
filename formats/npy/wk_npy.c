/* wk_npy.c — the activation file of `wk-bench --activations`: a NumPy
 * .npy array of little-endian float32 or float64, C order, 1-D (one vector)
 * or 2-D (batch x width).  docs/formats/npy-activations.md is the spec. */
#include "wk_npy.h"
#include "wk_cursor.h"
#include "wk_io.h"

#include <stdlib.h>
#include <string.h>

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
    const char *p = strstr(h, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ') p++;
    if (*p++ != ':') return NULL;
    while (*p == ' ') p++;
    return p;
}

/* Parse "(a, b)" / "(a,)" into dims; returns the number of dims or -1. */
static int parse_shape(const char *p, int64_t dims[2])
{
    int n = 0;
    if (*p++ != '(') return -1;
    for (;;) {
        while (*p == ' ') p++;
        if (*p == ')') return n;
        if (*p < '0' || *p > '9' || n == 2) return -1;
        int64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            if (v > (INT64_MAX - 9) / 10) return -1;
            v = v * 10 + (*p++ - '0');
        }
        dims[n++] = v;
        while (*p == ' ') p++;
        if (*p == ',') p++;
        else if (*p != ')') return -1;
    }
}

int wk_npy_read(const char *path, wk_npy_f32 *out, wk_err *err)
{
    wk_map m;
    memset(out, 0, sizeof *out);
    if (wk_map_open(&m, path, err)) return -1;
    wk_cur c = wk_cur_make(m.data, m.size, 0);
    const uint8_t *magic, *hb;
    uint8_t major, minor;
    uint32_t hlen = 0;
    int rc = -1;
    char hdr[4097];
    if (wk_cur_bytes(&c, 6, &magic) || memcmp(magic, "\x93NUMPY", 6) || wk_cur_u8(&c, &major) ||
        wk_cur_u8(&c, &minor)) {
        wk_err_set(err, WK_E_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", path);
        goto done;
    }
    if (major == 1) {
        uint16_t h16;
        if (wk_cur_u16(&c, &h16)) goto trunc;
        hlen = h16;
    } else if (major == 2 || major == 3) {
        if (wk_cur_u32(&c, &hlen)) goto trunc;
    } else {
        wk_err_set(err, WK_E_UNSUPPORTED, "%s: .npy version %u.%u not supported", path, major, minor);
        goto done;
    }
    if (hlen >= sizeof hdr) {
        wk_err_set(err, WK_E_LIMIT, "%s: .npy header of %u bytes (limit %zu)", path, hlen,
                   sizeof hdr - 1);
        goto done;
    }
    if (wk_cur_bytes(&c, hlen, &hb)) goto trunc;
    memcpy(hdr, hb, hlen);
    hdr[hlen] = 0;
    const char *d = dict_value(hdr, "'descr'"), *fo = dict_value(hdr, "'fortran_order'");
    const char *sh = dict_value(hdr, "'shape'");
    int64_t dims[2] = { 1, 1 };
    int nd = sh ? parse_shape(sh, dims) : -1;
    int esize = 0;
    if (d && !strncmp(d, "'<f4'", 5)) esize = 4;
    else if (d && !strncmp(d, "'<f8'", 5)) esize = 8;
    if (!esize || !fo || strncmp(fo, "False", 5) || nd < 1) {
        wk_err_set(err, WK_E_UNSUPPORTED,
                   "%s: need a C-order 1-D or 2-D array of '<f4' or '<f8' (header: %s)", path, hdr);
        goto done;
    }
    if (nd == 1) { dims[1] = dims[0]; dims[0] = 1; }
    if (dims[0] <= 0 || dims[1] <= 0 || dims[0] > (int64_t)1 << 20 || dims[1] > (int64_t)1 << 24 ||
        (uint64_t)dims[0] * (uint64_t)dims[1] * (uint64_t)esize != wk_cur_left(&c)) {
        wk_err_set(err, WK_E_FORMAT,
                   "%s: shape (%lld, %lld) does not match the %zu data bytes at offset %llu", path,
                   (long long)dims[0], (long long)dims[1], wk_cur_left(&c),
                   (unsigned long long)wk_cur_pos(&c));
        goto done;
    }
    size_t n = (size_t)(dims[0] * dims[1]);
    out->x = malloc(n * sizeof(float));
    if (!out->x) {
        wk_err_set(err, WK_E_NOMEM, "%s: out of memory for %zu activations", path, n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (esize == 4) (void)wk_cur_f32(&c, &out->x[i]);
        else { double v; (void)wk_cur_f64(&c, &v); out->x[i] = (float)v; }
    }
    out->batch = dims[0];
    out->cols = dims[1];
    rc = 0;
    goto done;
trunc:
    wk_err_set(err, WK_E_FORMAT, "%s: truncated .npy header at offset %llu", path,
               (unsigned long long)wk_cur_pos(&c));
done:
    wk_map_close(&m);
    return rc;
}

void wk_npy_free(wk_npy_f32 *a)
{
    if (!a) return;
    free(a->x);
    memset(a, 0, sizeof *a);
}
