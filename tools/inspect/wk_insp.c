/* wk_insp.c — the inspection engine (see wk_insp.h): format readers as rows
 * of k_formats (probe by magic / directory + open), --stats, the JSON report
 * of a file, --verify. */
#include "wk_insp.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wk_pickle.h"
#include "wk_pth.h"
#include "wk_source.h"

typedef wk_insp_opts insp_opts;
typedef wk_insp_row insp_row;
typedef wk_insp_file insp_file;
typedef wk_insp_stats insp_stats;
typedef wk_insp_totals insp_totals;

/* ---- formats ------------------------------------------------------------- */

typedef struct {
    const char *name;
    /* 1 if this reader should handle the file (head = its first bytes). */
    int (*probe)(const uint8_t *head, size_t n, const char *path);
    int (*open)(const char *path, const insp_opts *o, insp_file *f, void **state, wk_err *err);
    void (*close)(void *state);
} insp_format;

static void shape_copy(insp_row *r, int ndim, const int64_t *shape)
{
    r->ndim = ndim;
    r->numel = 1;
    for (int d = 0; d < ndim; d++) {
        r->shape[d] = shape[d];
        r->numel *= shape[d];  /* validated (overflow-checked) by the readers */
    }
}

/* -- PyTorch zip -- */

static int pth_probe(const uint8_t *head, size_t n, const char *path)
{
    (void)head, (void)n, (void)path;
    return 1; /* the fallback: wk_pth names legacy, tar and non-zip files itself */
}

static void pth_row(const void *h, size_t i, insp_row *r)
{
    const wk_tensor_info *t = wk_pth_tensor(h, i);
    size_t es = wk_dtype_get(t->dtype)->size;
    memset(r, 0, sizeof *r);
    r->name = t->name;
    snprintf(r->type, sizeof r->type, "%s", wk_dtype_get(t->dtype)->torch_name);
    if (wk_tensor_numel(t, &r->numel, NULL)) r->numel = 0; /* validated by the reader */
    r->ndim = t->ndim;
    memcpy(r->shape, t->shape, sizeof r->shape);
    r->bytes = (uint64_t)r->numel * es;
    r->data_offset = t->file_offset + (uint64_t)t->storage_offset * es;
    r->has_offset = 1;
    r->contiguous = r->numel == 0 || wk_tensor_is_contiguous(t); /* as torch: empty = contiguous */
    r->stat_type = wk_ggml_type_from_dtype(t->dtype);
    if (r->stat_type >= 0 && !wk_stats_supported(r->stat_type)) r->stat_type = -1;
    r->pth = t;
}

static int pth_stats(const void *h, size_t i, const insp_row *r, uint8_t **scratch, size_t *cap,
                     wk_tensor_stats *out, wk_err *err)
{
    (void)r, (void)scratch, (void)cap;
    return wk_stats_tensor(wk_pth_tensor(h, i), out, err);
}

/* --pickle: the listing of data.pkl, from a container-only open so that a
 * refused pickle can still be listed (NULL if the container is bad: the
 * full open then reports why). */
static char *pth_listing(const char *path)
{
    wk_err err;
    wk_pth *c = wk_pth_open(path, WK_PTH_CONTAINER_ONLY, &err);
    if (!c) return NULL;
    size_t len;
    const uint8_t *pkl = wk_pth_pickle(c, &len, NULL);
    char name[512];
    snprintf(name, sizeof name, "%s/data.pkl", wk_pth_prefix(c));
    wk_buf b = {0};
    if (wk_pickle_disasm(pkl, len, name, &b, &err))
        wk_buf_printf(&b, "(listing stopped: %s)\n", err.msg);
    wk_pth_close(c);
    wk_buf_putc(&b, '\0');
    if (wk_buf_check(&b, &err)) {
        wk_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

static int pth_open(const char *path, const insp_opts *o, insp_file *f, void **state, wk_err *err)
{
    if (o->pickle) f->listing = pth_listing(path);
    wk_pth *p = wk_pth_open(path, 0, err);
    if (!p) return -1;
    f->format = "pytorch-zip";
    snprintf(f->detail, sizeof f->detail, "archive '%s', pickle protocol %d", wk_pth_prefix(p),
             wk_pth_protocol(p));
    f->n = wk_pth_count(p);
    f->row = pth_row;
    f->stats = pth_stats;
    f->h = p;
    f->has_storages = 1;
    f->skipped = wk_pth_skipped(p);
    f->storages = wk_pth_storage_count(p);
    f->storage_bytes = wk_pth_storage_bytes(p);
    *state = p;
    return 0;
}

static void pth_close(void *state) { wk_pth_close(state); }

/* -- GGUF -- */

/* Format guesses are wk_source_guess's (magic, then extension), so
 * wk-inspect and wk-pack read a damaged file with the same reader. */
static int gguf_probe(const uint8_t *head, size_t n, const char *path)
{
    return wk_source_guess(path, head, n) == WK_SOURCE_GGUF;
}

static void gguf_row(const void *h, size_t i, insp_row *r)
{
    const wk_gguf_tensor *t = wk_gguf_tensor_at(h, i);
    const wk_ggml_type_info *ti = wk_ggml_type_get(t->type);
    memset(r, 0, sizeof *r);
    r->name = t->name;
    snprintf(r->type, sizeof r->type, "%s", ti ? ti->name : "?");
    int64_t shape[WK_GGUF_MAX_DIMS];
    for (uint32_t d = 0; d < t->n_dims; d++) shape[d] = t->ne[t->n_dims - 1 - d];
    shape_copy(r, (int)t->n_dims, shape);
    r->bytes = t->nbytes;
    r->data_offset = t->file_offset;
    r->has_offset = 1;
    r->contiguous = 1;
    r->stat_type = wk_stats_supported(t->type) ? t->type : -1;
    r->gg = t;
}

static int gguf_stats(const void *h, size_t i, const insp_row *r, uint8_t **scratch, size_t *cap,
                      wk_tensor_stats *out, wk_err *err)
{
    (void)scratch, (void)cap;
    const wk_gguf_tensor *t = wk_gguf_tensor_at(h, i);
    return wk_stats_data(t->data, t->nbytes, r->stat_type, t->name, out, err);
}

static int gguf_open(const char *path, const insp_opts *o, insp_file *f, void **state, wk_err *err)
{
    (void)o;
    wk_gguf *g = wk_gguf_open(path, err);
    if (!g) return -1;
    f->format = "gguf";
    snprintf(f->detail, sizeof f->detail,
             "version %" PRIu32 ", %zu metadata keys, alignment %" PRIu32 ", data at %" PRIu64
             "%s", wk_gguf_version(g), wk_gguf_kv_count(g), wk_gguf_alignment(g),
             wk_gguf_data_offset(g), wk_gguf_has_digests(g) ? ", per-tensor digests" : "");
    f->n = wk_gguf_tensor_count(g);
    f->row = gguf_row;
    f->stats = gguf_stats;
    f->h = g;
    f->gguf = g;
    *state = g;
    return 0;
}

static void gguf_close(void *state) { wk_gguf_close(state); }

/* -- safetensors -- */

static int st_probe(const uint8_t *head, size_t n, const char *path)
{
    return wk_source_guess(path, head, n) == WK_SOURCE_SAFETENSORS;
}

static void st_row(const void *h, size_t i, insp_row *r)
{
    const wk_st_tensor *t = wk_st_tensor_at(h, i);
    memset(r, 0, sizeof *r);
    r->name = t->name;
    snprintf(r->type, sizeof r->type, "%s", t->st->name);
    shape_copy(r, t->ndim, t->shape);
    r->bytes = t->end - t->begin;
    r->data_offset = t->file_offset;
    r->has_offset = 1;
    r->contiguous = 1;
    r->stat_type = t->dtype >= 0 ? wk_ggml_type_from_dtype((wk_dtype)t->dtype) : -1;
    if (r->stat_type >= 0 && !wk_stats_supported(r->stat_type)) r->stat_type = -1;
}

static int st_stats(const void *h, size_t i, const insp_row *r, uint8_t **scratch, size_t *cap,
                    wk_tensor_stats *out, wk_err *err)
{
    (void)scratch, (void)cap;
    const wk_st_tensor *t = wk_st_tensor_at(h, i);
    return wk_stats_data(t->data, r->bytes, r->stat_type, t->name, out, err);
}

static int st_open(const char *path, const insp_opts *o, insp_file *f, void **state, wk_err *err)
{
    (void)o;
    wk_st *s = wk_st_open(path, err);
    if (!s) return -1;
    f->format = "safetensors";
    snprintf(f->detail, sizeof f->detail, "header %" PRIu64 " bytes, %zu metadata keys%s",
             wk_st_header_len(s), wk_st_meta_count(s),
             wk_st_has_digests(s) ? ", per-tensor digests" : "");
    f->n = wk_st_count(s);
    f->row = st_row;
    f->stats = st_stats;
    f->h = s;
    f->st = s;
    *state = s;
    return 0;
}

static void st_close(void *state) { wk_st_close(state); }

/* -- directories (HF / Meta) through wk_source -- */

static int dir_probe(const uint8_t *head, size_t n, const char *path)
{
    (void)head, (void)n;
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void dir_row(const void *h, size_t i, insp_row *r)
{
    const wk_source_tensor *t = wk_source_tensor_at(h, i);
    memset(r, 0, sizeof *r);
    r->name = t->name;
    const wk_ggml_type_info *gi = t->ggml_type >= 0 ? wk_ggml_type_get(t->ggml_type) : NULL;
    if (t->dtype < WK_DT_COUNT) snprintf(r->type, sizeof r->type, "%s", wk_dtype_get(t->dtype)->torch_name);
    else snprintf(r->type, sizeof r->type, "%s", gi ? gi->name : "?");
    shape_copy(r, t->ndim, t->shape);
    r->bytes = t->nbytes;
    size_t file;
    uint64_t off;
    r->has_offset = wk_source_file_range(h, i, &file, &off) == 0;
    if (r->has_offset) {
        r->data_offset = off;
        r->file = wk_source_file(h, file);
    }
    r->contiguous = wk_source_view(h, i) != NULL;
    r->stat_type = t->ggml_type >= 0 ? t->ggml_type
                   : t->dtype < WK_DT_COUNT ? wk_ggml_type_from_dtype(t->dtype) : -1;
    if (r->stat_type >= 0 && !wk_stats_supported(r->stat_type)) r->stat_type = -1;
}

static int dir_stats(const void *h, size_t i, const insp_row *r, uint8_t **scratch, size_t *cap,
                     wk_tensor_stats *out, wk_err *err)
{
    (void)r;
    return wk_stats_source(h, i, scratch, cap, out, err);
}

static int dir_open(const char *path, const insp_opts *o, insp_file *f, void **state, wk_err *err)
{
    wk_source *s = wk_source_open(path, o->threads, err);
    if (!s) return -1;
    f->format = "directory";
    snprintf(f->detail, sizeof f->detail, "%s, %zu file%s, %" PRIu64 " bytes",
             wk_source_kind_name(wk_source_kind_of(s)), wk_source_file_count(s),
             wk_source_file_count(s) == 1 ? "" : "s", wk_source_bytes(s));
    f->n = wk_source_count(s);
    f->row = dir_row;
    f->stats = dir_stats;
    f->h = s;
    f->gguf = wk_source_gguf(s);
    f->st = wk_source_file_count(s) == 1 ? wk_source_st(s, 0) : NULL;
    *state = s;
    return 0;
}

static void dir_close(void *state) { wk_source_close(state); }

/* -- a GGUF split set (a part named "<prefix>-0000k-of-0000n.gguf", n > 1), as one model -- */

static int split_probe(const uint8_t *head, size_t n, const char *path)
{
    size_t l = strlen(path);
    unsigned a, b;
    char dot[6] = "";
    return n >= 4 && memcmp(head, "GGUF", 4) == 0 && l > 20 &&
           sscanf(path + l - 20, "-%5u-of-%5u%5s", &a, &b, dot) == 3 && !strcmp(dot, ".gguf") && b > 1;
}

/* As dir_row, with the dtype column as for one GGUF file: the ggml type name. */
static void split_row(const void *h, size_t i, insp_row *r)
{
    dir_row(h, i, r);
    const wk_source_tensor *t = wk_source_tensor_at(h, i);
    const wk_ggml_type_info *gi = t->ggml_type >= 0 ? wk_ggml_type_get(t->ggml_type) : NULL;
    if (gi) snprintf(r->type, sizeof r->type, "%s", gi->name);
}

static int split_open(const char *path, const insp_opts *o, insp_file *f, void **state, wk_err *err)
{
    WK_TRY(dir_open(path, o, f, state, err));
    f->row = split_row;
    const wk_gguf *g = f->gguf;
    f->format = "gguf";
    snprintf(f->detail, sizeof f->detail, "split set of %zu parts (metadata in %s), version %" PRIu32
             ", %zu metadata keys, alignment %" PRIu32 "%s", wk_source_file_count(*state), wk_gguf_path(g),
             wk_gguf_version(g), wk_gguf_kv_count(g), wk_gguf_alignment(g),
             wk_gguf_has_digests(g) ? ", per-tensor digests" : "");
    return 0;
}

static const insp_format k_formats[] = {
    /* more specific formats first; the torch reader is the fallback */
    {"directory", dir_probe, dir_open, dir_close},
    {"gguf-split", split_probe, split_open, dir_close},
    {"gguf", gguf_probe, gguf_open, gguf_close},
    {"safetensors", st_probe, st_open, st_close},
    {"pytorch-zip", pth_probe, pth_open, pth_close},
};

static const insp_format *pick_format(const char *path)
{
    uint8_t head[64];
    size_t n = 0;
    if (!dir_probe(NULL, 0, path)) {
        int fd = wk_input_open(path, 0, NULL, NULL);  /* a FIFO or device: the open reports it */
        if (fd >= 0) {
            ssize_t r = read(fd, head, sizeof head);
            n = r > 0 ? (size_t)r : 0;
            close(fd);
        }
    }
    size_t nf = sizeof k_formats / sizeof k_formats[0];
    for (size_t i = 0; i < nf; i++)
        if (k_formats[i].probe(head, n, path)) return &k_formats[i];
    return &k_formats[nf - 1];
}

int wk_insp_open(const char *path, const wk_insp_opts *o, wk_insp_file *f, wk_err *err)
{
    const insp_format *fmt = pick_format(path);
    memset(f, 0, sizeof *f);
    void *state = NULL;
    WK_TRY(fmt->open(path, o, f, &state, err));
    f->state = state;
    f->close = fmt->close;
    return 0;
}

void wk_insp_close(wk_insp_file *f)
{
    free(f->listing);
    if (f->close) f->close(f->state);
    memset(f, 0, sizeof *f);
}

/* ---- --stats ------------------------------------------------------------------ */

void wk_insp_stats_free(insp_stats *st)
{
    free(st->s);
    free(st->done);
    memset(st, 0, sizeof *st);
}

int wk_insp_stats_compute(const insp_file *f, insp_stats *st, wk_err *err)
{
    memset(st, 0, sizeof *st);
    st->s = calloc(f->n ? f->n : 1, sizeof *st->s);
    st->done = calloc(f->n ? f->n : 1, 1);
    if (!st->s || !st->done) {
        wk_insp_stats_free(st);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    uint8_t *scratch = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < f->n; i++) {
        insp_row r;
        f->row(f->h, i, &r);
        if (r.stat_type < 0) {
            st->skipped++;
            continue;
        }
        if (f->stats(f->h, i, &r, &scratch, &cap, &st->s[i], err)) {
            free(scratch);
            wk_insp_stats_free(st);
            return -1;
        }
        st->done[i] = 1;
        st->computed++;
        if (st->s[i].flags && st->flagged++ == 0) st->first_flagged = i;
    }
    free(scratch);
    return 0;
}

int wk_insp_strict_check(const char *path, const wk_insp_file *f, const wk_insp_stats *st, wk_err *err)
{
    if (!st->flagged) return 0;
    insp_row r;
    char fl[64];
    f->row(f->h, st->first_flagged, &r);
    return wk_err_set(err, WK_E_FORMAT,
                      "%s: %zu of %zu floating tensors look like noise (first: %s: %s; nan %" PRIu64
                      ", inf %" PRIu64 ", max |x| %g, std %g) -- wrong base or corrupted data?",
                      path, st->flagged, st->computed, r.name,
                      wk_stats_flags_str(st->s[st->first_flagged].flags, fl, sizeof fl),
                      st->s[st->first_flagged].n_nan, st->s[st->first_flagged].n_inf,
                      fmax(fabs(st->s[st->first_flagged].min), fabs(st->s[st->first_flagged].max)),
                      st->s[st->first_flagged].std);
}

/* ---- JSON output --------------------------------------------------------------- */

static wk_json *ints(const int64_t *v, int n, wk_err *err)
{
    wk_json *a = wk_json_new_array();
    for (int i = 0; a && i < n; i++)
        if (wk_json_array_push(a, wk_json_new_int(v[i]), err)) {
            wk_json_free(a);
            return NULL;
        }
    return a;
}

/* A double, or null when it is not finite (no stats over zero finite values). */
static wk_json *num(double d) { return isfinite(d) ? wk_json_new_double(d) : wk_json_new_null(); }

static wk_json *json_stats(const wk_tensor_stats *s, wk_err *err)
{
    char fl[64];
    wk_json *o = wk_json_new_object();
    if (!o) return NULL;
    if (wk_json_object_append(o, "values", wk_json_new_int((int64_t)s->count), err) ||
        wk_json_object_append(o, "nan", wk_json_new_int((int64_t)s->n_nan), err) ||
        wk_json_object_append(o, "inf", wk_json_new_int((int64_t)s->n_inf), err) ||
        wk_json_object_append(o, "min", num(s->min), err) ||
        wk_json_object_append(o, "max", num(s->max), err) ||
        wk_json_object_append(o, "mean", num(s->mean), err) ||
        wk_json_object_append(o, "std", num(s->std), err) ||
        wk_json_object_append(o, "flagged", wk_json_new_bool(s->flags != 0), err) ||
        wk_json_object_append(o, "verdict", wk_json_new_string(wk_stats_flags_str(s->flags, fl, sizeof fl)), err)) {
        wk_json_free(o);
        return NULL;
    }
    return o;
}

static wk_json *json_tensor(const insp_row *r, const insp_stats *st, size_t i, wk_err *err)
{
    wk_json *o = wk_json_new_object();
    if (!o) return NULL;
    const wk_tensor_info *t = r->pth;
    int bad = wk_json_object_append(o, "name", wk_json_new_string(r->name), err) ||
              wk_json_object_append(o, "dtype", wk_json_new_string(r->type), err) ||
              wk_json_object_append(o, "shape", ints(r->shape, r->ndim, err), err);
    if (!bad && t)
        bad = wk_json_object_append(o, "stride", ints(t->stride, t->ndim, err), err) ||
              wk_json_object_append(o, "storage_key",
                                    t->storage_key ? wk_json_new_string(t->storage_key) : wk_json_new_null(), err) ||
              wk_json_object_append(o, "storage_offset", wk_json_new_int(t->storage_offset), err);
    if (!bad && r->gg)
        bad = wk_json_object_append(o, "ggml_type", wk_json_new_int(r->gg->type), err) ||
              wk_json_object_append(o, "ne", ints(r->gg->ne, (int)r->gg->n_dims, err), err);
    if (!bad)
        bad = wk_json_object_append(o, "numel", wk_json_new_int(r->numel), err) ||
              wk_json_object_append(o, "bytes", wk_json_new_int((int64_t)r->bytes), err) ||
              wk_json_object_append(o, "data_offset",
                                    r->has_offset ? wk_json_new_int((int64_t)r->data_offset) : wk_json_new_null(), err) ||
              (r->file && wk_json_object_append(o, "file", wk_json_new_string(r->file), err)) ||
              wk_json_object_append(o, "contiguous", wk_json_new_bool(r->contiguous), err) ||
              (st && wk_json_object_append(o, "stats", st->done[i] ? json_stats(&st->s[i], err)
                                                                   : wk_json_new_null(), err));
    if (bad) {
        wk_json_free(o);
        return NULL;
    }
    return o;
}

wk_json *wk_insp_json_totals(uint64_t n, uint64_t params, uint64_t bytes, wk_err *err)
{
    wk_json *o = wk_json_new_object();
    if (!o) return NULL;
    if (wk_json_object_append(o, "tensors", wk_json_new_int((int64_t)n), err) ||
        wk_json_object_append(o, "params", wk_json_new_int((int64_t)params), err) ||
        wk_json_object_append(o, "bytes", wk_json_new_int((int64_t)bytes), err)) {
        wk_json_free(o);
        return NULL;
    }
    return o;
}

/* --meta: GGUF KVs as [{"key", "type", "value"} | {"key", "type": "array",
 * "elem_type", "length"}], safetensors __metadata__ as an object. */
static wk_json *json_meta(const insp_file *f, wk_err *err)
{
    if (f->st) {
        wk_json *o = wk_json_new_object();
        for (size_t k = 0; o && k < wk_st_meta_count(f->st); k++) {
            size_t len;
            const char *v = wk_st_meta_value(f->st, k, &len);
            if (wk_json_object_append(o, wk_st_meta_key(f->st, k), wk_json_new_stringn(v, len), err)) {
                wk_json_free(o);
                return NULL;
            }
        }
        return o;
    }
    const wk_gguf *g = f->gguf;
    wk_json *a = wk_json_new_array();
    for (size_t k = 0; a && g && k < wk_gguf_kv_count(g); k++) {
        const wk_gguf_kv *kv = wk_gguf_kv_at(g, k);
        wk_json *o = wk_json_new_object(), *val = NULL;
        double d;
        int64_t v;
        const char *s;
        size_t len;
        int bad = !o || wk_json_object_append(o, "key", wk_json_new_string(kv->key), err) ||
                  wk_json_object_append(o, "type", wk_json_new_string(wk_gguf_type_name(kv->type)), err);
        if (!bad && kv->type == WK_GGUF_ARRAY) {
            bad = wk_json_object_append(o, "elem_type", wk_json_new_string(wk_gguf_type_name(kv->arr_type)), err) ||
                  wk_json_object_append(o, "length", wk_json_new_int((int64_t)kv->n), err);
        } else if (!bad) {
            if (kv->type == WK_GGUF_STRING)
                val = wk_gguf_get_str(g, kv->key, &s, &len, NULL) ? wk_json_new_null() : wk_json_new_stringn(s, len);
            else if (wk_gguf_kv_num(g, k, 0, &d, &v))
                val = wk_json_new_null();
            else if (kv->type == WK_GGUF_FLOAT32 || kv->type == WK_GGUF_FLOAT64)
                val = wk_json_new_double(d);
            else if (kv->type == WK_GGUF_BOOL)
                val = wk_json_new_bool(v != 0);
            else if (kv->type == WK_GGUF_UINT64 && v < 0) {
                char lit[32];
                snprintf(lit, sizeof lit, "%" PRIu64, (uint64_t)v);
                val = wk_json_new_raw_number(lit, err);
            } else
                val = wk_json_new_int(v);
            bad = wk_json_object_append(o, "value", val, err);
        }
        if (bad || wk_json_array_push(a, o, err)) {
            if (bad) wk_json_free(o);
            wk_json_free(a);
            return NULL;
        }
    }
    return a;
}

wk_json *wk_insp_json_file(const char *path, const insp_file *f, const insp_stats *st, int meta,
                           insp_totals *tot, wk_err *err)
{
    wk_json *o = wk_json_new_object(), *arr = wk_json_new_array();
    if (!o || !arr || wk_json_object_append(o, "path", wk_json_new_string(path), err)) {
        wk_json_free(arr);
        goto fail;
    }
    /* o owns arr from here on (or freed it if this fails) */
    if (wk_json_object_append(o, "format", wk_json_new_string(f->format), err) ||
        wk_json_object_append(o, "detail", wk_json_new_string(f->detail), err) ||
        (meta && (f->gguf || f->st) && wk_json_object_append(o, "metadata", json_meta(f, err), err)) ||
        wk_json_object_append(o, "tensors", arr, err))
        goto fail;
    uint64_t params = 0, bytes = 0;
    for (size_t i = 0; i < f->n; i++) {
        insp_row r;
        f->row(f->h, i, &r);
        params += (uint64_t)r.numel;
        bytes += r.bytes;
        if (wk_json_array_push(arr, json_tensor(&r, st, i, err), err)) goto fail;
    }
    if (wk_json_object_append(o, "totals", wk_insp_json_totals(f->n, params, bytes, err), err) ||
        (f->has_storages &&
         (wk_json_object_append(o, "storages", wk_json_new_int((int64_t)f->storages), err) ||
          wk_json_object_append(o, "storage_bytes", wk_json_new_int((int64_t)f->storage_bytes), err) ||
          wk_json_object_append(o, "skipped_entries", wk_json_new_int((int64_t)f->skipped), err))) ||
        (f->listing && wk_json_object_append(o, "pickle", wk_json_new_string(f->listing), err)))
        goto fail;
    if (st) {
        wk_json *s = wk_json_new_object();
        if (!s || wk_json_object_append(s, "floating", wk_json_new_int((int64_t)st->computed), err) ||
            wk_json_object_append(s, "flagged", wk_json_new_int((int64_t)st->flagged), err) ||
            wk_json_object_append(s, "skipped", wk_json_new_int((int64_t)st->skipped), err)) {
            wk_json_free(s);
            goto fail;
        }
        if (wk_json_object_append(o, "stats", s, err)) goto fail; /* s freed by append */
    }
    tot->files++;
    tot->tensors += f->n;
    tot->params += params;
    tot->bytes += bytes;
    return o;
fail:
    if (err->code == WK_OK) wk_err_set(err, WK_E_NOMEM, "out of memory building JSON");
    wk_json_free(o);
    return NULL;
}

/* ---- --verify ------------------------------------------------------------------ */

typedef struct {
    int json;
    wk_insp_verify_fn fn;
    void *ctx;
    wk_insp_verify_result *v;
} verify_ctx;

static void verify_cb(void *ctx, const char *tensor, int status, const char *got, const char *want)
{
    verify_ctx *c = ctx;
    wk_insp_verify_result *v = c->v;
    if (status == 0) v->ok++;
    else if (status == 1) v->failed++;
    else v->missing++;
    if (status == 1 && v->failed == 1) {
        snprintf(v->first_failed_buf, sizeof v->first_failed_buf, "%s", tensor);
        v->first_failed = v->first_failed_buf;
    }
    if (c->json) {
        wk_json *o = wk_json_new_object();
        if (!o || wk_json_object_append(o, "name", wk_json_new_string(tensor), NULL) ||
            wk_json_object_append(o, "status", wk_json_new_string(status == 0 ? "ok" : status == 1 ? "failed" : "no-digest"), NULL) ||
            (got && wk_json_object_append(o, "digest", wk_json_new_string(got), NULL)) ||
            (want && status == 1 && wk_json_object_append(o, "stored", wk_json_new_string(want), NULL))) {
            wk_json_free(o);
            v->oom = 1;
            return;
        }
        if (wk_json_array_push(v->tensors, o, NULL)) v->oom = 1;
    } else if (c->fn) {
        c->fn(c->ctx, tensor, status, got, want);
    }
}

int wk_insp_verify(const char *path, int json, wk_insp_verify_fn fn, void *ctx,
                   wk_insp_verify_result *v, wk_err *err)
{
    memset(v, 0, sizeof *v);
    verify_ctx c = { json, fn, ctx, v };
    if (json && !(v->tensors = wk_json_new_array()))
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    size_t n = 0;
    int rc = wk_source_verify_digests(path, verify_cb, &c, &n, err);
    v->n = n;
    if (rc && err->code == WK_E_FORMAT && v->ok == 0 && v->failed == 0) {
        /* no digest array at all, or none of the tensors has one */
        char orig[WK_ERR_MSG_MAX];
        snprintf(orig, sizeof orig, "%s", err->msg);
        wk_err_set(err, WK_E_FORMAT,
                   "%s: carries no weightkit digests, nothing to verify (written by wk-pack "
                   "--no-digest or by another tool) [%s]", path, orig);
    } else if (rc && err->code == WK_E_MISMATCH && v->first_failed) {
        wk_err_set(err, WK_E_MISMATCH, "%s: %zu of %zu tensors FAILED digest verification (first: %s)",
                   path, v->failed, n, v->first_failed);
    }
    if (v->oom && !rc) rc = wk_err_set(err, WK_E_NOMEM, "out of memory building JSON");
    return rc;
}

wk_json *wk_insp_verify_json(const char *path, wk_insp_verify_result *v, int rc, wk_err *err)
{
    const size_t n = v->n;
    wk_json *f = wk_json_new_object();
    int bad = !f || wk_json_object_append(f, "path", wk_json_new_string(path), err) ||
              wk_json_object_append(f, "tensors", v->tensors, err);
    v->tensors = NULL; /* owned by f now (or freed) */
    if (!bad)
        bad = wk_json_object_append(f, "checked", wk_json_new_int((int64_t)n), err) ||
              wk_json_object_append(f, "ok", wk_json_new_int((int64_t)v->ok), err) ||
              wk_json_object_append(f, "failed", wk_json_new_int((int64_t)v->failed), err) ||
              wk_json_object_append(f, "missing", wk_json_new_int((int64_t)v->missing), err) ||
              wk_json_object_append(f, "result", wk_json_new_string(rc ? "error" : "ok"), err) ||
              (rc && wk_json_object_append(f, "error", wk_json_new_string(err->msg), err));
    if (bad) {
        wk_json_free(f);
        return NULL;
    }
    return f;
}
