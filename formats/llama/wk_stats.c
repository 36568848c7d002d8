/* wk_stats.c — streaming value statistics and the noise heuristic (wk_stats.h). */
#include "wk_stats.h"
#include "wk_io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wk_gguf.h"
#include "wk_half.h"
#include "wk_pth.h"
#include "wk_quant.h"

void wk_stats_init(wk_tensor_stats *s)
{
    memset(s, 0, sizeof *s);
    s->min = s->max = s->mean = s->std = NAN;
}

/* Merge one chunk's (n, mean, m2, min, max) over finite values into s (Chan et al.). */
static void merge(wk_tensor_stats *s, uint64_t n, double mean, double m2, double mn, double mx)
{
    if (n == 0) return;
    if (s->n_finite == 0) {
        s->n_finite = n;
        s->mean = mean;
        s->m2 = m2;
        s->min = mn;
        s->max = mx;
        return;
    }
    double na = (double)s->n_finite, nb = (double)n, nt = na + nb;
    double delta = mean - s->mean;
    s->mean += delta * nb / nt;
    s->m2 += m2 + delta * delta * na * nb / nt;
    if (mn < s->min) s->min = mn;
    if (mx > s->max) s->max = mx;
    s->n_finite += n;
}

/* One chunk of values of type T (float or double): two passes over the chunk. */
#define WK_STATS_CHUNK_FN(fname, T)                                                 \
    static void fname(wk_tensor_stats *s, const T *x, size_t n)                    \
    {                                                                              \
        uint64_t nf = 0;                                                           \
        double sum = 0, mn = INFINITY, mx = -INFINITY;                             \
        for (size_t i = 0; i < n; i++) {                                           \
            double v = (double)x[i];                                               \
            if (isnan(v)) s->n_nan++;                                              \
            else if (isinf(v)) s->n_inf++;                                         \
            else {                                                                 \
                nf++;                                                              \
                sum += v;                                                          \
                if (v < mn) mn = v;                                                \
                if (v > mx) mx = v;                                                \
            }                                                                      \
        }                                                                          \
        s->count += n;                                                             \
        if (nf == 0) return;                                                       \
        double mean = sum / (double)nf, m2 = 0;                                    \
        for (size_t i = 0; i < n; i++) {                                           \
            double v = (double)x[i];                                               \
            if (isfinite(v)) m2 += (v - mean) * (v - mean);                        \
        }                                                                          \
        merge(s, nf, mean, m2, mn, mx);                                            \
    }
WK_STATS_CHUNK_FN(chunk_f32, float)
WK_STATS_CHUNK_FN(chunk_f64, double)

void wk_stats_add_f32(wk_tensor_stats *s, const float *x, size_t n)
{
    for (size_t o = 0; o < n; o += WK_STATS_CHUNK)
        chunk_f32(s, x + o, n - o < WK_STATS_CHUNK ? n - o : WK_STATS_CHUNK);
}

void wk_stats_finish(wk_tensor_stats *s)
{
    s->std = s->n_finite ? sqrt(s->m2 / (double)s->n_finite) : NAN;
    unsigned f = 0;
    if (s->n_nan || s->n_inf) f |= WK_STATS_NONFINITE;
    if (s->n_finite && (fabs(s->min) > WK_STATS_MAX_ABS || fabs(s->max) > WK_STATS_MAX_ABS))
        f |= WK_STATS_HUGE;
    if (s->n_finite && s->std > WK_STATS_MAX_STD) f |= WK_STATS_WIDE;
    s->flags = f;
}

int wk_stats_supported(int t)
{
    return t == WK_GGML_F32 || t == WK_GGML_F16 || t == WK_GGML_BF16 || t == WK_GGML_F64 ||
           wk_qtraits_get(t) != NULL;
}

int wk_stats_add(wk_tensor_stats *s, int type, const void *p, uint64_t nbytes, const char *what,
                 wk_err *err)
{
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    if (!ti || !wk_stats_supported(type))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: no statistics for type %s", what,
                          ti ? ti->name : "(unknown)");
    if (nbytes % ti->size)
        return wk_err_set(err, WK_E_FORMAT, "%s: %llu bytes is not a whole number of %s %s", what,
                          (unsigned long long)nbytes, ti->name, ti->blck > 1 ? "blocks" : "values");
    const uint8_t *b = p;
    float f[WK_STATS_CHUNK];
    const wk_qtraits *qt = wk_qtraits_get(type);
    if (qt) {
        uint64_t per = (uint64_t)(WK_STATS_CHUNK / ti->blck) * ti->size; /* bytes per chunk */
        for (uint64_t o = 0; o < nbytes; o += per) {
            uint64_t n = nbytes - o < per ? nbytes - o : per;
            int64_t k = (int64_t)(n / ti->size) * ti->blck;
            qt->dequantize(b + o, f, k);
            chunk_f32(s, f, (size_t)k);
        }
        return 0;
    }
    size_t es = ti->size;
    uint64_t per = (uint64_t)WK_STATS_CHUNK * es;
    for (uint64_t o = 0; o < nbytes; o += per) {
        size_t n = (size_t)((nbytes - o < per ? nbytes - o : per) / es);
        if (type == WK_GGML_F32) {
            memcpy(f, b + o, n * es);
            chunk_f32(s, f, n);
        } else if (type == WK_GGML_F64) {
            double d[WK_STATS_CHUNK / 2];
            for (size_t j = 0; j < n; j += WK_STATS_CHUNK / 2) {
                size_t m = n - j < WK_STATS_CHUNK / 2 ? n - j : WK_STATS_CHUNK / 2;
                memcpy(d, b + o + j * es, m * es);
                chunk_f64(s, d, m);
            }
        } else {
            uint16_t h[WK_STATS_CHUNK];
            memcpy(h, b + o, n * es);
            if (type == WK_GGML_F16) wk_f16_to_f32_row(h, f, n);
            else wk_bf16_to_f32_row(h, f, n);
            chunk_f32(s, f, n);
        }
    }
    return 0;
}

int wk_stats_data(const void *p, uint64_t nbytes, int type, const char *what,
                  wk_tensor_stats *out, wk_err *err)
{
    wk_stats_init(out);
    WK_TRY(wk_stats_add(out, type, p, nbytes, what, err));
    wk_stats_finish(out);
    return 0;
}

int wk_stats_tensor(const wk_tensor_info *t, wk_tensor_stats *out, wk_err *err)
{
    int type = wk_ggml_type_from_dtype(t->dtype);
    wk_stats_init(out);
    if (type < 0 || !wk_stats_supported(type))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: no statistics for a non-floating tensor",
                          t->name);
    WK_TRY(wk_pth_check_extent(t, err));
    uint64_t nbytes;
    const uint8_t *v = wk_pth_tensor_view(t, &nbytes);
    if (v) {
        WK_TRY(wk_stats_add(out, type, v, nbytes, t->name, err));
        wk_map_release(v, nbytes);   /* done with its pages (docs/pack.md "Memory") */
        wk_stats_finish(out);
        return 0;
    }
    if (!t->storage)
        return wk_err_set(err, WK_E_INTERNAL, "%s: storage not resolved", t->name);
    /* Strided view: walk the outer indices, gathering the innermost dimension
     * chunk by chunk into a raw row buffer.  The extent check above bounds
     * every offset computed here. */
    int64_t numel;
    WK_TRY(wk_tensor_numel(t, &numel, err));
    if (numel == 0) {
        wk_stats_finish(out);
        return 0;
    }
    size_t es = wk_dtype_get(t->dtype)->size;
    int nd = t->ndim;
    int64_t inner = t->shape[nd - 1], istride = t->stride[nd - 1];
    int64_t idx[WK_MAX_DIMS] = {0};
    uint8_t raw[WK_STATS_CHUNK * 2];        /* f16/bf16: 4096 values; f32: 2048; f64: 1024 */
    int64_t per = (int64_t)(sizeof raw / es);
    for (;;) {
        int64_t base = t->storage_offset;
        for (int d = 0; d < nd - 1; d++) base += idx[d] * t->stride[d];
        for (int64_t j = 0; j < inner; j += per) {
            int64_t m = inner - j < per ? inner - j : per;
            for (int64_t q = 0; q < m; q++)
                memcpy(raw + (size_t)q * es, t->storage + (size_t)(base + (j + q) * istride) * es, es);
            WK_TRY(wk_stats_add(out, type, raw, (uint64_t)m * es, t->name, err));
        }
        int d = nd - 2;
        for (; d >= 0; d--) {
            if (++idx[d] < t->shape[d]) break;
            idx[d] = 0;
        }
        if (d < 0) break;
    }
    wk_stats_finish(out);
    return 0;
}

int wk_stats_source(const wk_source *s, size_t i, uint8_t **scratch, size_t *scratch_cap,
                    wk_tensor_stats *out, wk_err *err)
{
    const wk_source_tensor *t = wk_source_tensor_at(s, i);
    wk_stats_init(out);
    int type = t->ggml_type >= 0 ? t->ggml_type : wk_ggml_type_from_dtype(t->dtype);
    if (type < 0 || !wk_stats_supported(type))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: no statistics for a non-floating tensor",
                          t->name);
    const uint8_t *p = wk_source_get(s, i, scratch, scratch_cap, err);
    if (!p && t->nbytes) return -1;
    if (t->nbytes) WK_TRY(wk_stats_add(out, type, p, t->nbytes, t->name, err));
    wk_map_release(p, t->nbytes);   /* a view: done with its pages */
    wk_stats_finish(out);
    return 0;
}

const char *wk_stats_flags_str(unsigned flags, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    if (!flags) {
        snprintf(buf, cap, "ok");
        return buf;
    }
    if ((flags & WK_STATS_NONFINITE) && o < cap)
        o += (size_t)snprintf(buf + o, cap - o, "%snan/inf", o ? "," : "");
    if ((flags & WK_STATS_HUGE) && o < cap)
        o += (size_t)snprintf(buf + o, cap - o, "%s|max|>%g", o ? "," : "", WK_STATS_MAX_ABS);
    if ((flags & WK_STATS_WIDE) && o < cap)
        snprintf(buf + o, cap - o, "%sstd>%g", o ? "," : "", WK_STATS_MAX_STD);
    return buf;
}
