/* wk_source.c — the tensor-source interface (see wk_source.h). */
#include "wk_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_max_threads(void) { return 1; }
#endif

#include "wk_half.h"
#include "wk_gguf_split.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_pth.h"
#include "wk_strmap.h"

typedef struct {
    char *path;
    wk_pth *pth;
    wk_st *st;
    wk_gguf *gguf;
    uint64_t size;
} src_file;

typedef struct {
    wk_source_tensor pub;
    const wk_tensor_info *pth;    /* torch tensors */
    const uint8_t *data;          /* safetensors / GGUF bytes */
    wk_ll_kind kind;              /* Meta */
    int64_t layer;
    char *owned_name;
} src_entry;

struct wk_source {
    wk_source_kind kind;
    char *path, *dir;
    src_file *files;
    size_t n_files;
    src_entry *t;
    size_t n_t, cap_t;
    wk_strmap names;              /* tensor name -> index into t (built once all are in) */
    wk_llama_ckpt *meta;
    uint64_t max_nbytes;
    wk_inputs *inputs;            /* every file read (wk_source_inputs) */
};

const char *wk_source_kind_name(wk_source_kind k)
{
    static const char *const n[] = {"pth", "safetensors", "gguf", "hf-bin", "hf-safetensors", "meta"};
    return (unsigned)k <= WK_SOURCE_META ? n[k] : "?";
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int exists_in(const char *dir, const char *name)
{
    char *p = wk_path_join(dir, name);
    int r = p && is_file(p);
    free(p);
    return r;
}

/* ---- table building -------------------------------------------------------- */

static src_entry *add_entry(wk_source *s, wk_err *err)
{
    if (s->n_t == s->cap_t) {
        size_t cap = s->cap_t ? 2 * s->cap_t : 256;
        src_entry *t = realloc(s->t, cap * sizeof *t);
        if (!t) {
            wk_err_set(err, WK_E_NOMEM, "out of memory");
            return NULL;
        }
        s->t = t;
        s->cap_t = cap;
    }
    src_entry *e = &s->t[s->n_t++];
    memset(e, 0, sizeof *e);
    e->pub.ggml_type = -1;
    return e;
}

/* Index every tensor name (once all tables are loaded); a name in two
 * shards is an error.  Also sets max_nbytes. */
static int build_names(wk_source *s, wk_err *err)
{
    for (size_t i = 0; i < s->n_t; i++) {
        const char *name = s->t[i].pub.name;
        long prev;
        WK_TRY(wk_strmap_add(&s->names, name, i, &prev, err));
        WK_FAIL_IF(prev >= 0, err, WK_E_FORMAT, "%s: tensor \"%s\" appears twice (in %s and %s)",
                   s->path, name, s->files[s->t[prev].pub.file].path,
                   s->files[s->t[i].pub.file].path);
        if (s->t[i].pub.nbytes > s->max_nbytes) s->max_nbytes = s->t[i].pub.nbytes;
    }
    return 0;
}

static src_file *add_file(wk_source *s, const char *path, wk_err *err)
{
    src_file *f = realloc(s->files, (s->n_files + 1) * sizeof *f);
    if (!f) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    s->files = f;
    f = &s->files[s->n_files];
    memset(f, 0, sizeof *f);
    if (!(f->path = strdup(path))) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    s->n_files++;
    struct stat st;
    if (stat(path, &st) == 0) f->size = (uint64_t)st.st_size;
    if (wk_inputs_add(s->inputs, path, err)) return NULL;
    return f;
}

/* ---- per-format loaders --------------------------------------------------- */

static int load_pth(wk_source *s, const char *path, wk_err *err)
{
    src_file *f = add_file(s, path, err);
    if (!f) return -1;
    size_t fi = s->n_files - 1;
    if (!(f->pth = wk_pth_open(path, 0, err))) return -1;
    for (size_t i = 0; i < wk_pth_count(f->pth); i++) {
        const wk_tensor_info *ti = wk_pth_tensor(f->pth, i);
        src_entry *e = add_entry(s, err);
        if (!e) return -1;
        e->pth = ti;
        e->pub.name = ti->name;
        e->pub.dtype = ti->dtype;
        e->pub.ndim = ti->ndim;
        memcpy(e->pub.shape, ti->shape, sizeof ti->shape);
        e->pub.file = fi;
        if (wk_pth_tensor_nbytes(ti, &e->pub.nbytes, err)) return wk_err_prefix(err, "%s", path);
    }
    return 0;
}

static int load_st(wk_source *s, const char *path, wk_err *err)
{
    src_file *f = add_file(s, path, err);
    if (!f) return -1;
    size_t fi = s->n_files - 1;
    if (!(f->st = wk_st_open(path, err))) return -1;
    for (size_t i = 0; i < wk_st_count(f->st); i++) {
        const wk_st_tensor *t = wk_st_tensor_at(f->st, i);
        if (t->dtype < 0)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: tensor \"%s\": dtype %s is not supported",
                              path, t->name, t->st->name);
        src_entry *e = add_entry(s, err);
        if (!e) return -1;
        e->data = t->data;
        e->pub.name = t->name;
        e->pub.dtype = (wk_dtype)t->dtype;
        e->pub.ndim = t->ndim;
        memcpy(e->pub.shape, t->shape, sizeof t->shape);
        e->pub.nbytes = t->end - t->begin;
        e->pub.file = fi;
    }
    return 0;
}

/* A GGUF file, or every part of the split set it belongs to (wk_gguf_split.h):
 * one source file per part, tensors in set order. */
static int load_gguf(wk_source *s, const char *path, wk_err *err)
{
    wk_gguf **parts;
    size_t np, k = 0;
    WK_TRY(wk_gguf_split_open(path, &parts, &np, err));
    int rc = -1;
    for (; k < np; k++) {
        src_file *f = add_file(s, wk_gguf_path(parts[k]), err);
        if (!f) goto done;
        f->gguf = parts[k];
        for (size_t i = 0; i < wk_gguf_tensor_count(f->gguf); i++) {
            const wk_gguf_tensor *t = wk_gguf_tensor_at(f->gguf, i);
            src_entry *e = add_entry(s, err);
            if (!e) {
                k++;
                goto done;
            }
            int dt = wk_ggml_type_to_dtype(t->type);
            e->data = t->data;
            e->pub.name = t->name;
            e->pub.dtype = dt < 0 ? WK_DT_COUNT : (wk_dtype)dt;
            e->pub.ggml_type = t->type;
            e->pub.ndim = (int)t->n_dims;
            for (uint32_t d = 0; d < t->n_dims; d++) e->pub.shape[d] = t->ne[t->n_dims - 1 - d];
            e->pub.nbytes = t->nbytes;
            e->pub.file = s->n_files - 1;
        }
    }
    rc = 0;
done:
    for (; k < np; k++) wk_gguf_close(parts[k]);   /* those not handed to a source file */
    free(parts);
    return rc;
}

static int load_meta(wk_source *s, int threads, wk_err *err)
{
    if (!(s->meta = wk_llama_open(s->dir, threads, err))) return -1;
    WK_TRY(wk_llama_ckpt_add_inputs(s->meta, s->inputs, err));
    const wk_llama_geom *g = wk_llama_ckpt_geom(s->meta);
    for (int r = 0; r < g->n_ranks; r++)
        if (!add_file(s, wk_llama_ckpt_rank_path(s->meta, r), err)) return -1;
    for (int64_t layer = -1; layer < g->n_layers; layer++) {
        int k0 = layer < 0 ? 0 : WK_LL_GLOBAL_KINDS;
        int k1 = layer < 0 ? WK_LL_GLOBAL_KINDS : WK_LL_KIND_COUNT;
        for (int k = k0; k < k1; k++) {
            src_entry *e = add_entry(s, err);
            if (!e) return -1;
            char name[96];
            wk_llama_meta_key((wk_ll_kind)k, layer, name, sizeof name);
            if (!(e->owned_name = strdup(name))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
            e->kind = (wk_ll_kind)k;
            e->layer = layer;
            e->pub.name = e->owned_name;
            const wk_tensor_info *ti = wk_llama_ckpt_tensor(s->meta, 0, e->kind, layer);
            e->pub.dtype = ti->dtype;
            e->pub.ndim = wk_llama_kind_shape(g, e->kind, e->pub.shape);
            uint64_t n = wk_dtype_get(ti->dtype)->size;
            for (int d = 0; d < e->pub.ndim; d++) n *= (uint64_t)e->pub.shape[d];
            e->pub.nbytes = n;
        }
    }
    return 0;
}

/* Load shard `name` of an HF index (a file in s->dir): safetensors if st,
 * else torch. */
static int load_shard(wk_source *s, const char *name, int st, wk_err *err)
{
    char *p = wk_path_join(s->dir, name);
    WK_FAIL_IF(!p, err, WK_E_NOMEM, "out of memory");
    int rc = st ? load_st(s, p, err) : load_pth(s, p, err);
    free(p);
    return rc;
}

static int load_index(wk_source *s, const char *index, int st, wk_err *err)
{
    char *ipath = wk_path_join(s->dir, index);
    if (!ipath) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    wk_st_index ix = {0};
    int rc = -1;
    WK_TRY_GOTO(wk_inputs_add(s->inputs, ipath, err), done);
    WK_TRY_GOTO(wk_st_index_load(&ix, ipath, err), done);
    for (size_t k = 0; k < ix.n_shards; k++) WK_TRY_GOTO(load_shard(s, ix.shards[k], st, err), done);
    WK_TRY_GOTO(build_names(s, err), done);
    /* every weight_map entry must be in the shard it names */
    for (size_t i = 0; i < ix.n; i++) {
        long t = wk_source_find(s, ix.names[i]);
        const char *base = t < 0 ? NULL : strrchr(s->files[s->t[t].pub.file].path, '/');
        base = base ? base + 1 : t < 0 ? NULL : s->files[s->t[t].pub.file].path;
        WK_FAIL_GOTO(t < 0 || strcmp(base, ix.files[i]) != 0, done, err, WK_E_FORMAT,
                     "%s: weight_map says \"%s\" is in %s, but it is %s", ipath, ix.names[i],
                     ix.files[i], t < 0 ? "in no shard" : "elsewhere");
    }
    rc = 0;
done:
    wk_st_index_free(&ix);
    free(ipath);
    return rc;
}

/* Read the first bytes of a file to tell formats apart. */
static int sniff(const char *path, uint8_t head[9], size_t *n, wk_err *err)
{
    memset(head, 0, 9);
    *n = 0;
    int fd = wk_input_open(path, 0, NULL, err);
    if (fd < 0) return -1;
    while (*n < 9) {
        ssize_t r = read(fd, head + *n, 9 - *n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        *n += (size_t)r;
    }
    close(fd);
    return 0;
}

static int has_ext(const char *path, const char *ext)
{
    size_t l = strlen(path), e = strlen(ext);
    return l >= e && strcmp(path + l - e, ext) == 0;
}

int wk_source_guess(const char *path, const uint8_t *head, size_t n)
{
    if (n >= 4 && memcmp(head, "GGUF", 4) == 0) return WK_SOURCE_GGUF;
    if (n >= 2 && memcmp(head, "PK", 2) == 0) return WK_SOURCE_PTH;
    if (has_ext(path, ".gguf")) return WK_SOURCE_GGUF;
    if (has_ext(path, ".safetensors")) return WK_SOURCE_SAFETENSORS;
    if (has_ext(path, ".pth") || has_ext(path, ".pt") || has_ext(path, ".bin") || has_ext(path, ".ckpt"))
        return WK_SOURCE_PTH;
    if (n >= 9 && strchr("{ \t\r\n", head[8]) && head[8] != '\0') return WK_SOURCE_SAFETENSORS;
    return -1;
}

static int open_file(wk_source *s, const char *path, wk_err *err)
{
    uint8_t h[9];
    size_t n = 0;
    WK_TRY(sniff(path, h, &n, err));
    switch (wk_source_guess(path, h, n)) {
    case WK_SOURCE_GGUF: s->kind = WK_SOURCE_GGUF; return load_gguf(s, path, err);
    case WK_SOURCE_PTH: s->kind = WK_SOURCE_PTH; return load_pth(s, path, err);
    case WK_SOURCE_SAFETENSORS: s->kind = WK_SOURCE_SAFETENSORS; return load_st(s, path, err);
    default:
        if (n == 0) return wk_err_set(err, WK_E_FORMAT, "%s: empty file", path);
        return wk_err_set(err, WK_E_FORMAT, "%s: not a GGUF (\"GGUF\"), PyTorch zip (\"PK\\3\\4\") or "
                          "safetensors file (starts %02x %02x %02x %02x)", path, h[0], h[1], h[2], h[3]);
    }
}

/* The one file in dir whose name ends in suffix, if exactly one. */
static char *only_file_with(const char *dir, const char *suffix, int *count)
{
    DIR *d = opendir(dir);
    char *found = NULL;
    *count = 0;
    if (!d) return NULL;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > sl && strcmp(de->d_name + n - sl, suffix) == 0 && de->d_name[0] != '.') {
            if (++*count == 1) found = wk_path_join(dir, de->d_name);
        }
    }
    closedir(d);
    if (*count != 1) {
        free(found);
        return NULL;
    }
    return found;
}

static int open_dir(wk_source *s, int threads, wk_err *err)
{
    const char *d = s->dir;
    if (exists_in(d, "model.safetensors.index.json")) {
        s->kind = WK_SOURCE_HF_ST;
        return load_index(s, "model.safetensors.index.json", 1, err);
    }
    if (exists_in(d, "params.json") && exists_in(d, "consolidated.00.pth")) {
        s->kind = WK_SOURCE_META;
        return load_meta(s, threads, err);
    }
    static const char *const singles[] = {"model.safetensors", "pytorch_model.bin.index.json",
                                          "pytorch_model.bin"};
    for (int k = 0; k < 3; k++) {
        if (!exists_in(d, singles[k])) continue;
        if (k == 1) {
            s->kind = WK_SOURCE_HF_BIN;
            return load_index(s, singles[k], 0, err);
        }
        char *p = wk_path_join(d, singles[k]);
        if (!p) return wk_err_set(err, WK_E_NOMEM, "out of memory");
        s->kind = k == 0 ? WK_SOURCE_HF_ST : WK_SOURCE_HF_BIN;
        int rc = k == 0 ? load_st(s, p, err) : load_pth(s, p, err);
        free(p);
        return rc;
    }
    int n_st, n_bin;
    char *p = only_file_with(d, ".safetensors", &n_st);
    if (p) {
        s->kind = WK_SOURCE_HF_ST;
        int rc = load_st(s, p, err);
        free(p);
        return rc;
    }
    p = only_file_with(d, ".bin", &n_bin);
    if (p) {
        s->kind = WK_SOURCE_HF_BIN;
        int rc = load_pth(s, p, err);
        free(p);
        return rc;
    }
    return wk_err_set(err, WK_E_USAGE, "%s: no model found (looked for model.safetensors[.index.json], "
                      "params.json + consolidated.00.pth, pytorch_model.bin[.index.json], or a single "
                      "*.safetensors / *.bin file%s)", d,
                      n_st > 1 || n_bin > 1 ? "; several candidates without an index" : "");
}

/* Open path (a directory or a file) into s, and index the tensor names. */
static int open_path(wk_source *s, const char *path, int threads, wk_err *err)
{
    if (is_dir(path)) {
        WK_FAIL_IF(!(s->dir = strdup(path)), err, WK_E_NOMEM, "out of memory");
        WK_TRY(open_dir(s, threads, err));
    } else {
        struct stat st;
        WK_FAIL_IF(stat(path, &st) != 0 && errno == ENOENT, err, WK_E_IO, "%s: no such file or directory", path);
        if (!is_file(path)) {  /* says what it is: a FIFO, a device ... */
            int fd = wk_input_open(path, 0, NULL, err);
            if (fd < 0) return -1;
            close(fd);
            return wk_err_set(err, WK_E_IO, "%s: replaced while being opened", path);
        }
        const char *slash = strrchr(path, '/');
        s->dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
        WK_FAIL_IF(!s->dir, err, WK_E_NOMEM, "out of memory");
        WK_TRY(open_file(s, path, err));
    }
    /* an HF index indexed them already (to check the weight_map); none: no-op */
    return wk_strmap_count(&s->names) ? 0 : build_names(s, err);
}

wk_source *wk_source_open(const char *path, int threads, wk_err *err)
{
    wk_source *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path)) || !(s->inputs = wk_inputs_new(err))) {
        if (s) free(s->path);
        free(s);
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    if (open_path(s, path, threads, err)) {
        wk_source_close(s);
        return NULL;
    }
    return s;
}

void wk_source_close(wk_source *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_t; i++) free(s->t[i].owned_name);
    for (size_t i = 0; i < s->n_files; i++) {
        wk_pth_close(s->files[i].pth);
        wk_st_close(s->files[i].st);
        wk_gguf_close(s->files[i].gguf);
        free(s->files[i].path);
    }
    wk_llama_close(s->meta);
    free(s->files);
    free(s->t);
    wk_strmap_free(&s->names);
    free(s->path);
    free(s->dir);
    wk_inputs_free(s->inputs);
    free(s);
}

wk_source_kind wk_source_kind_of(const wk_source *s) { return s->kind; }
const char *wk_source_path(const wk_source *s) { return s->path; }
const char *wk_source_dir(const wk_source *s) { return s->dir; }
size_t wk_source_file_count(const wk_source *s) { return s->n_files; }
wk_inputs *wk_source_inputs(const wk_source *s) { return s->inputs; }
const char *wk_source_file(const wk_source *s, size_t i) { return i < s->n_files ? s->files[i].path : NULL; }
size_t wk_source_count(const wk_source *s) { return s->n_t; }
uint64_t wk_source_max_nbytes(const wk_source *s) { return s->max_nbytes; }

uint64_t wk_source_bytes(const wk_source *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->n_files; i++) n += s->files[i].size;
    return n;
}

const wk_source_tensor *wk_source_tensor_at(const wk_source *s, size_t i)
{
    return i < s->n_t ? &s->t[i].pub : NULL;
}

long wk_source_find(const wk_source *s, const char *name)
{
    return wk_strmap_get(&s->names, name);
}

const wk_gguf *wk_source_gguf(const wk_source *s)
{
    return s->kind == WK_SOURCE_GGUF ? s->files[0].gguf : NULL;
}

const wk_st *wk_source_st(const wk_source *s, size_t file)
{
    return file < s->n_files ? s->files[file].st : NULL;
}

const wk_llama_ckpt *wk_source_meta(const wk_source *s) { return s->meta; }

/* ---- data -------------------------------------------------------------------- */

static const uint8_t *meta_view(const wk_source *s, const src_entry *e)
{
    const wk_llama_geom *g = wk_llama_ckpt_geom(s->meta);
    if (g->n_ranks != 1 && wk_llama_kind_split(e->kind) != WK_LL_REPLICATED) return NULL;
    uint64_t n;
    return wk_pth_tensor_view(wk_llama_ckpt_tensor(s->meta, 0, e->kind, e->layer), &n);
}

const uint8_t *wk_source_view(const wk_source *s, size_t i)
{
    if (i >= s->n_t) return NULL;
    const src_entry *e = &s->t[i];
    if (e->data) return e->data;
    if (e->pth) {
        uint64_t n;
        return wk_pth_tensor_view(e->pth, &n);
    }
    if (s->meta) return meta_view(s, e);
    return NULL;
}

int wk_source_file_range(const wk_source *s, size_t i, size_t *file, uint64_t *offset)
{
    const uint8_t *v = wk_source_view(s, i);
    if (!v) return -1;
    const src_entry *e = &s->t[i];
    const src_file *f = &s->files[e->pub.file];
    if (f->gguf) {
        *offset = wk_gguf_tensor_at(f->gguf, (size_t)wk_gguf_find_tensor(f->gguf, e->pub.name))->file_offset;
    } else if (f->st) {
        *offset = wk_st_tensor_at(f->st, (size_t)wk_st_find(f->st, e->pub.name))->file_offset;
    } else {
        const wk_tensor_info *ti = e->pth ? e->pth : wk_llama_ckpt_tensor(s->meta, 0, e->kind, e->layer);
        *offset = ti->file_offset + (uint64_t)(v - ti->storage);
    }
    *file = e->pub.file;
    return 0;
}

/* Release-behind (docs/pack.md "Memory"): wk_map_release_behind; a no-op
 * for memory that is not a map (v NULL, a scratch buffer). */
static void release_to(const uint8_t *v, uint64_t *done, uint64_t upto, int last)
{
    wk_map_release_behind(v, done, upto, last);
}

/* memcpy n bytes from src (possibly in a map) to dst, releasing src's pages
 * as they are copied: the map and the copy are not resident at once. */
static void copy_release(uint8_t *dst, const uint8_t *src, size_t n)
{
    uint64_t done = 0;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < WK_SOURCE_CHUNK ? n - off : WK_SOURCE_CHUNK;
        memcpy(dst + off, src + off, k);
        off += k;
        release_to(src, &done, off, off == n);
    }
}

/* Merge the ranks of a Meta tensor: row splits are appended, column splits
 * interleaved row by row. */
static int meta_read(const wk_source *s, const src_entry *e, uint8_t *dst, wk_err *err)
{
    const wk_llama_geom *g = wk_llama_ckpt_geom(s->meta);
    wk_ll_split sp = wk_llama_ckpt_split(s->meta, e->kind);
    int nr = sp == WK_LL_REPLICATED ? 1 : g->n_ranks;
    size_t es = wk_dtype_get(e->pub.dtype)->size;
    int64_t rows = e->pub.ndim == 2 ? e->pub.shape[0] : 1;
    int64_t cols = e->pub.ndim == 2 ? e->pub.shape[1] : e->pub.shape[0];
    for (int r = 0; r < nr; r++) {
        const wk_tensor_info *ti = wk_llama_ckpt_tensor(s->meta, r, e->kind, e->layer);
        uint64_t n;
        const uint8_t *src = wk_pth_tensor_view(ti, &n);
        uint8_t *tmp = NULL;
        if (!src) {
            WK_TRY(wk_pth_tensor_nbytes(ti, &n, err));
            if (!(tmp = malloc(n ? n : 1))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
            if (wk_pth_copy_out(ti, tmp, (size_t)n, err)) {
                free(tmp);
                return -1;
            }
            src = tmp;
        }
        if (sp == WK_LL_SPLIT_COLS) {
            size_t part = (size_t)(cols / nr) * es;
            uint64_t done = 0;
            for (int64_t row = 0; row < rows; row++) {
                memcpy(dst + (size_t)row * (size_t)cols * es + (size_t)r * part, src + (size_t)row * part, part);
                release_to(tmp ? NULL : src, &done, (uint64_t)(row + 1) * part, row == rows - 1);
            }
        } else {
            copy_release(dst + (size_t)r * (size_t)n, src, (size_t)n);
        }
        if (tmp) release_to(ti->storage, &(uint64_t){0}, ti->storage_nbytes, 1);   /* a strided view: its storage */
        free(tmp);
    }
    return 0;
}

int wk_source_read(const wk_source *s, size_t i, void *dst, size_t cap, wk_err *err)
{
    if (i >= s->n_t) return wk_err_set(err, WK_E_USAGE, "%s: tensor index %zu out of range", s->path, i);
    const src_entry *e = &s->t[i];
    if (cap < e->pub.nbytes)
        return wk_err_set(err, WK_E_USAGE, "%s: tensor \"%s\": buffer of %zu bytes for %llu", s->path,
                          e->pub.name, cap, (unsigned long long)e->pub.nbytes);
    if (e->data) {
        copy_release(dst, e->data, (size_t)e->pub.nbytes);
        return 0;
    }
    if (e->pth) {
        uint64_t n;
        const uint8_t *v = wk_pth_tensor_view(e->pth, &n);
        if (v) {
            copy_release(dst, v, (size_t)n);
            return 0;
        }
        if (wk_pth_copy_out(e->pth, dst, cap, err))
            return wk_err_prefix(err, "%s", s->files[e->pub.file].path);
        release_to(e->pth->storage, &(uint64_t){0}, e->pth->storage_nbytes, 1);   /* a strided view */
        return 0;
    }
    if (s->meta) return meta_read(s, e, dst, err);
    return wk_err_set(err, WK_E_INTERNAL, "%s: tensor \"%s\" has no data", s->path, e->pub.name);
}

const uint8_t *wk_source_get(const wk_source *s, size_t i, uint8_t **scratch, size_t *scratch_cap,
                             wk_err *err)
{
    const uint8_t *v = wk_source_view(s, i);
    if (v || (i < s->n_t && s->t[i].pub.nbytes == 0)) return v ? v : (const uint8_t *)"";
    if (i >= s->n_t) {
        wk_err_set(err, WK_E_USAGE, "%s: tensor index %zu out of range", s->path, i);
        return NULL;
    }
    size_t need = (size_t)s->t[i].pub.nbytes;
    if (*scratch_cap < need) {
        uint8_t *p = realloc(*scratch, need);
        if (!p) {
            wk_err_set(err, WK_E_NOMEM, "out of memory (%zu bytes for tensor \"%s\")", need, s->t[i].pub.name);
            return NULL;
        }
        *scratch = p;
        *scratch_cap = need;
    }
    if (wk_source_read(s, i, *scratch, *scratch_cap, err)) return NULL;
    return *scratch;
}

/* ---- emitting ------------------------------------------------------------ */

void wk_source_bufs_free(wk_source_bufs *b)
{
    free(b->in);
    free(b->out);
    memset(b, 0, sizeof *b);
}

static int grow(uint8_t **p, size_t *cap, size_t need, wk_err *err)
{
    if (*cap >= need) return 0;
    uint8_t *q = realloc(*p, need ? need : 1);
    if (!q) return wk_err_set(err, WK_E_NOMEM, "out of memory (%zu bytes)", need);
    *p = q;
    *cap = need;
    return 0;
}

static int is_float16_32(wk_dtype d) { return d == WK_DT_F32 || d == WK_DT_F16 || d == WK_DT_BF16; }

int wk_source_out_nbytes(const wk_source *s, size_t i, const wk_source_xform *x, uint64_t *nbytes, wk_err *err)
{
    const wk_source_tensor *t = wk_source_tensor_at(s, i);
    if (!t) return wk_err_set(err, WK_E_USAGE, "tensor index %zu out of range", i);
    if (!x || x->out_dtype == t->dtype) {
        *nbytes = t->nbytes;
        return 0;
    }
    if (t->dtype == WK_DT_COUNT || !is_float16_32(t->dtype) || !is_float16_32(x->out_dtype))
        return wk_err_set(err, WK_E_UNSUPPORTED, "tensor \"%s\": cannot convert %s to %s", t->name,
                          t->dtype == WK_DT_COUNT ? wk_ggml_type_get(t->ggml_type)->name
                                                  : wk_dtype_get(t->dtype)->torch_name,
                          wk_dtype_get(x->out_dtype) ? wk_dtype_get(x->out_dtype)->torch_name : "?");
    *nbytes = t->nbytes / wk_dtype_get(t->dtype)->size * wk_dtype_get(x->out_dtype)->size;
    return 0;
}

/* Convert n elements from `from` to `to` (both F32/F16/BF16). */
static void convert(wk_dtype from, wk_dtype to, const void *src, void *dst, size_t n)
{
    if (from == to) {
        memcpy(dst, src, n * wk_dtype_get(from)->size);
    } else if (from == WK_DT_F32) {
        if (to == WK_DT_F16) wk_f32_to_f16_row(src, dst, n);
        else wk_f32_to_bf16_row(src, dst, n);
    } else if (to == WK_DT_F32) {
        if (from == WK_DT_F16) wk_f16_to_f32_row(src, dst, n);
        else wk_bf16_to_f32_row(src, dst, n);
    } else if (from == WK_DT_F16) {
        wk_f16_to_bf16_row(src, dst, n);
    } else {
        wk_bf16_to_f16_row(src, dst, n);
    }
}

/* Count the non-finite values among n elements of dtype d at p (element
 * index base) into *c (in_bad / first_in). */
static void scan_in(wk_dtype d, const void *p, size_t n, uint64_t base, uint64_t *c, uint64_t *first)
{
    size_t f = SIZE_MAX;
    uint64_t k = d == WK_DT_F32 ? wk_f32_nonfinite(p, n, &f)
               : d == WK_DT_F16 ? wk_f16_nonfinite(p, n, &f)
               : d == WK_DT_BF16 ? wk_bf16_nonfinite(p, n, &f) : 0;
    if (k && *c == 0) *first = base + f;
    *c += k;
}

/* Row r of a conversion: input row in (dtype from, n elements, source
 * element index base), output row out (dtype to): count input NaN/Inf and
 * finite values that became Inf. */
static void scan_row(wk_source_nonfinite *nf, wk_dtype from, const void *in, wk_dtype to,
                     const void *out, size_t n, uint64_t base)
{
    uint64_t in_bad = 0, out_bad = 0, f_in = 0, f_out = 0;
    scan_in(from, in, n, base, &in_bad, &f_in);
    scan_in(to, out, n, base, &out_bad, &f_out);
    if (in_bad) {
        if (nf->in_bad == 0) nf->first_in = f_in;
        nf->in_bad += in_bad;
    }
    if (out_bad <= in_bad) return;
    /* rare: find the first element finite in the input and not in the output */
    size_t ei = wk_dtype_get(from)->size, eo = wk_dtype_get(to)->size;
    for (size_t k = 0; nf->overflow == 0 && k < n; k++) {
        uint64_t ci = 0, co = 0, fi, fo;
        scan_in(from, (const uint8_t *)in + k * ei, 1, 0, &ci, &fi);
        scan_in(to, (const uint8_t *)out + k * eo, 1, 0, &co, &fo);
        if (co && !ci) {
            nf->first_over = base + k;
            break;
        }
    }
    nf->overflow += out_bad - in_bad;
}

int wk_source_nonfinite_check(const wk_source *s, size_t i, const wk_source_nonfinite *nf,
                              wk_dtype out_dtype, int allow, wk_err *err)
{
    if (allow || (!nf->in_bad && !nf->overflow)) return 0;
    const char *name = wk_source_tensor_at(s, i)->name;
    size_t fi;
    uint64_t off;
    const char *path = wk_source_file_range(s, i, &fi, &off) == 0 && wk_source_file(s, fi)
                     ? wk_source_file(s, fi) : wk_source_path(s);
    if (nf->in_bad)
        return wk_err_set(err, WK_E_UNSAFE, "%s: tensor \"%s\": %llu NaN/Inf value%s (first at "
                          "element %llu): a model with them computes garbage; --allow-nonfinite "
                          "passes them on", path, name, (unsigned long long)nf->in_bad,
                          nf->in_bad == 1 ? "" : "s", (unsigned long long)nf->first_in);
    return wk_err_set(err, WK_E_UNSAFE, "%s: tensor \"%s\": %llu finite value%s beyond the range of "
                      "%s (first at element %llu) would become inf; use a wider --outtype (f32, "
                      "bf16) or --allow-nonfinite", path, name,
                      (unsigned long long)nf->overflow, nf->overflow == 1 ? "" : "s",
                      wk_dtype_get(out_dtype) ? wk_dtype_get(out_dtype)->torch_name : "?",
                      (unsigned long long)nf->first_over);
}

int wk_source_emit(const wk_source *s, size_t i, const wk_source_xform *x, wk_sink *sink,
                   wk_source_bufs *bufs, wk_err *err)
{
    const wk_source_tensor *t = wk_source_tensor_at(s, i);
    uint64_t out_bytes;
    WK_TRY(wk_source_out_nbytes(s, i, x, &out_bytes, err));
    if (t->nbytes == 0) return 0;
    const uint8_t *src = wk_source_view(s, i);
    const uint8_t *view = src;   /* in a map: released behind the reads (release_to) */
    uint64_t rel = 0;
    if (!src) {
        WK_TRY(grow(&bufs->in, &bufs->in_cap, (size_t)t->nbytes, err));
        WK_TRY(wk_source_read(s, i, bufs->in, bufs->in_cap, err));
        src = bufs->in;
    }
    int convert_dt = x && x->out_dtype != t->dtype;
    int64_t heads = x ? x->unpermute : 0;
    wk_source_nonfinite *nf = x ? x->nf : NULL;
    if (nf) *nf = (wk_source_nonfinite){0, UINT64_MAX, 0, UINT64_MAX};
    int scan = nf && is_float16_32(t->dtype);
    if (!convert_dt && heads <= 0) {
        size_t es = scan ? wk_dtype_get(t->dtype)->size : 1;
        for (uint64_t off = 0; off < t->nbytes;) {     /* plain copy, in chunks */
            size_t k = t->nbytes - off < WK_SOURCE_CHUNK ? (size_t)(t->nbytes - off) : WK_SOURCE_CHUNK;
            if (scan) scan_in(t->dtype, src + off, k / es, off / es, &nf->in_bad, &nf->first_in);
            WK_TRY(wk_sink_write(sink, src + off, k, err));
            off += k;
            release_to(view, &rel, off, off == t->nbytes);
        }
        return 0;
    }
    /* row by row: rows = outermost dimension (1 row for 0-d / 1-d tensors) */
    int64_t rows = t->ndim >= 2 ? t->shape[0] : 1;
    size_t es_in = wk_dtype_get(t->dtype)->size;
    size_t es_out = convert_dt ? wk_dtype_get(x->out_dtype)->size : es_in;
    size_t row_el = (size_t)(t->nbytes / es_in / (uint64_t)(rows ? rows : 1));
    int64_t D = 0;
    if (heads > 0) {
        if (t->ndim < 1 || rows % heads || (rows / heads) % 2)
            return wk_err_set(err, WK_E_FORMAT, "tensor \"%s\": %lld rows do not split into %lld heads "
                              "of even size", t->name, (long long)rows, (long long)heads);
        D = rows / heads;
    }
    size_t row_out = row_el * es_out;
    size_t per = row_out >= WK_SOURCE_CHUNK ? 1 : WK_SOURCE_CHUNK / (row_out ? row_out : 1);
    WK_TRY(grow(&bufs->out, &bufs->out_cap, per * row_out, err));
    size_t fill = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t sr = r;
        if (D) {
            int64_t h = r / D, j = r % D;           /* j = 2i + p */
            sr = h * D + (j % 2) * (D / 2) + j / 2;
        }
        convert(t->dtype, convert_dt ? x->out_dtype : t->dtype, src + (size_t)sr * row_el * es_in,
                bufs->out + fill * row_out, row_el);
        if (scan)
            scan_row(nf, t->dtype, src + (size_t)sr * row_el * es_in,
                     convert_dt ? x->out_dtype : t->dtype, bufs->out + fill * row_out, row_el,
                     (uint64_t)sr * row_el);
        if (++fill == per || r == rows - 1) {
            WK_TRY(wk_sink_write(sink, bufs->out, fill * row_out, err));
            fill = 0;
            /* source rows read so far: all before this head's (un-permuting reads within a head) */
            int64_t below = r == rows - 1 ? rows : D ? (r + 1) / D * D : r + 1;
            release_to(view, &rel, (uint64_t)below * row_el * es_in, r == rows - 1);
        }
    }
    return 0;
}

int wk_source_digest(const wk_source *s, size_t i, const wk_source_xform *x, wk_source_bufs *bufs,
                     char hex[17], wk_err *err)
{
    wk_hash *h = wk_hash_create(WK_HASH_XXH3_64, err);
    if (!h) return -1;
    wk_sink sink;
    wk_sink_null(&sink);
    wk_sink_tee(&sink, h);
    uint8_t d[WK_HASH_MAX_DIGEST];
    int rc = -1;
    WK_TRY_GOTO(wk_source_emit(s, i, x, &sink, bufs, err), done);
    WK_TRY_GOTO(wk_hash_digest(h, d, err), done);
    wk_hex(d, 8, hex);
    rc = 0;
done:
    wk_hash_free(h);
    return rc;
}

/* ---- writing to a file: in-kernel copies of unchanged bytes ------------------- */

typedef struct {
    uintptr_t base;       /* where byte 0 of the file would be in its map; 0 = unknown */
    uint64_t size;
    int fd;               /* opened on first use; -1 = not yet, -2 = cannot */
} copy_file;

struct wk_source_out {
    const wk_source *src;
    wk_out *out;
    copy_file *f;
    size_t n_files;
    wk_sink sink;         /* over src_out_write(this) */
};

static int src_out_write(void *ctx, const void *p, size_t n, wk_err *err);

wk_source_out *wk_source_out_new(const wk_source *s, wk_out *o, wk_err *err)
{
    wk_source_out *c = calloc(1, sizeof *c);
    copy_file *f = calloc(s->n_files ? s->n_files : 1, sizeof *f);
    if (!c || !f) {
        free(c);
        free(f);
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    c->src = s;
    c->out = o;
    c->f = f;
    c->n_files = s->n_files;
    wk_sink_init(&c->sink, src_out_write, c);
    for (size_t k = 0; k < s->n_files; k++) {
        f[k].size = s->files[k].size;
        f[k].fd = -1;
    }
    /* each file's map base, from any tensor stored in place: the tensor's
     * view minus its file offset; files whose tensors disagree are left out */
    for (size_t i = 0; i < s->n_t; i++) {
        size_t fi;
        uint64_t off;
        if (wk_source_file_range(s, i, &fi, &off) || fi >= s->n_files || f[fi].fd == -2) continue;
        uintptr_t b = (uintptr_t)wk_source_view(s, i) - (uintptr_t)off;
        if (off > f[fi].size || s->t[i].pub.nbytes > f[fi].size - off || (f[fi].base && f[fi].base != b)) {
            f[fi].base = 0;
            f[fi].fd = -2;
        } else {
            f[fi].base = b;
        }
    }
    return c;
}

void wk_source_out_free(wk_source_out *c)
{
    if (!c) return;
    for (size_t k = 0; k < c->n_files; k++)
        if (c->f[k].fd >= 0) close(c->f[k].fd);
    free(c->f);
    free(c);
}

/* The file whose map holds [p, p+n), with *off its offset there; -1 if none
 * (or it cannot be opened: then the bytes are written the ordinary way). */
static int copy_find(wk_source_out *c, const void *p, size_t n, uint64_t *off)
{
    uintptr_t a = (uintptr_t)p;
    for (size_t k = 0; k < c->n_files; k++) {
        copy_file *f = &c->f[k];
        if (!f->base || f->fd == -2 || a < f->base || a - f->base > f->size || n > f->size - (a - f->base))
            continue;
        if (f->fd == -1) f->fd = wk_input_open(c->src->files[k].path, 0, NULL, NULL);
        if (f->fd < 0) {
            f->fd = -2;
            return -1;
        }
        *off = a - f->base;
        return (int)k;
    }
    return -1;
}

static int src_out_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    wk_source_out *c = ctx;
    uint64_t off;
    int k = n >= WK_SOURCE_KCOPY_MIN ? copy_find(c, p, n, &off) : -1;
    if (k < 0) return wk_out_write(c->out, p, n, err);
    return wk_out_copy_fd(c->out, c->f[k].fd, off, n, p, err);
}

wk_sink *wk_source_out_sink(wk_source_out *c)
{
    return &c->sink;
}

/* ---- safetensors output ------------------------------------------------------------ */

void wk_source_st_opts_init(wk_source_st_opts *o)
{
    memset(o, 0, sizeof *o);
    o->out_dtype = -1;
    o->digests = 1;
}

typedef struct {
    char name[80];
    size_t first, n;        /* range in the plan's tensor order */
    wk_stw *w;
} st_shard;

struct wk_source_stplan {
    const wk_source *src;
    wk_source_st_opts o;
    wk_source_xform *x;        /* per source tensor */
    uint64_t *nbytes;
    char (*digest)[17];
    wk_source_nonfinite *nf;   /* per source tensor, filled by the first pass */
    int nf_checked;
    uint64_t nf_in, nf_over;
    st_shard *shards;
    size_t n_shards;
    uint64_t total;
};

static int st_digests(wk_source_stplan *p, wk_progress_fn progress, void *pctx, wk_err *err)
{
    size_t n = wk_source_count(p->src);
    uint64_t done = 0;
    long failed = -1;
    wk_err first;
    wk_err_clear(&first);
#pragma omp parallel num_threads(p->o.threads > 0 ? p->o.threads : omp_get_max_threads())
    {
        wk_source_bufs bufs = {0};
        wk_err e;
#pragma omp for schedule(dynamic, 1)
        for (long i = 0; i < (long)n; i++) {
            long f;
#pragma omp atomic read
            f = failed;
            if (f >= 0) continue;
            if (wk_source_digest(p->src, (size_t)i, &p->x[i], &bufs, p->digest[i], &e)) {
#pragma omp critical(wk_source_err)
                if (failed < 0) {
                    first = e;
#pragma omp atomic write
                    failed = i;
                }
            }
#pragma omp critical(wk_source_progress)
            {
                done += p->nbytes[i];
                if (progress) progress(pctx, done, p->total);
            }
        }
        wk_source_bufs_free(&bufs);
    }
    if (failed >= 0) {
        if (err) *err = first;
        return -1;
    }
    return 0;
}

static int cmp_names_idx(const void *a, const void *b, void *ctx)
{
    const wk_source *s = ctx;
    return strcmp(wk_source_tensor_at(s, *(const size_t *)a)->name, wk_source_tensor_at(s, *(const size_t *)b)->name);
}

/* Metadata pairs for a shard holding tensors [first, first+n). */
static int shard_meta(wk_source_stplan *p, size_t first, size_t n, const char ***out, size_t *n_out,
                      char **kv_json, char ***owned, size_t *n_owned, wk_err *err)
{
    const wk_st *sst = wk_source_kind_of(p->src) == WK_SOURCE_SAFETENSORS ? wk_source_st(p->src, 0) : NULL;
    size_t extra = sst ? wk_st_meta_count(sst) : 0;
    size_t cap = 2 * (2 + extra + n);
    const char **m = calloc(cap, sizeof *m);
    char **own = calloc(n + 1, sizeof *own);
    if (!m || !own) {
        free(m);
        free(own);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    size_t k = 0, o = 0;
    m[k++] = "format";
    m[k++] = "pt";
    for (size_t i = 0; i < extra; i++) {
        const char *key = wk_st_meta_key(sst, i);
        size_t vl;
        const char *v = wk_st_meta_value(sst, i, &vl);
        if (!strcmp(key, "format") || !strncmp(key, WK_ST_DIGEST_PREFIX, strlen(WK_ST_DIGEST_PREFIX)) ||
            strlen(v) != vl)
            continue;
        m[k++] = key;
        m[k++] = v;
    }
    if (*kv_json) {
        m[k++] = WK_ST_GGUF_KV;
        m[k++] = *kv_json;
    }
    if (p->o.digests) {
        size_t *idx = malloc((n ? n : 1) * sizeof *idx);
        if (!idx) {
            free(m);
            free(own);
            return wk_err_set(err, WK_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) idx[i] = first + i;
        qsort_r(idx, n, sizeof *idx, cmp_names_idx, (void *)p->src);
        for (size_t i = 0; i < n; i++) {
            const char *name = wk_source_tensor_at(p->src, idx[i])->name;
            size_t l = strlen(WK_ST_DIGEST_PREFIX) + strlen(name) + 1;
            if (!(own[o] = malloc(l))) break;
            snprintf(own[o], l, "%s%s", WK_ST_DIGEST_PREFIX, name);
            m[k++] = own[o++];
            m[k++] = p->digest[idx[i]];
        }
        free(idx);
        if (o < n) {
            for (size_t i = 0; i < o; i++) free(own[i]);
            free(own);
            free(m);
            return wk_err_set(err, WK_E_NOMEM, "out of memory");
        }
    }
    *out = m;
    *n_out = k / 2;
    *owned = own;
    *n_owned = o;
    return 0;
}

static int st_plan_shard(wk_source_stplan *p, st_shard *sh, char **kv_json, wk_err *err)
{
    wk_stw_tensor *t = calloc(sh->n ? sh->n : 1, sizeof *t);
    if (!t) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < sh->n; i++) {
        const wk_source_tensor *st = wk_source_tensor_at(p->src, sh->first + i);
        t[i].name = st->name;
        t[i].dtype = p->x[sh->first + i].out_dtype;
        t[i].ndim = st->ndim;
        memcpy(t[i].shape, st->shape, sizeof st->shape);
    }
    const char **meta = NULL;
    char **own = NULL;
    size_t n_meta = 0, n_own = 0;
    int rc = -1;
    WK_TRY_GOTO(shard_meta(p, sh->first, sh->n, &meta, &n_meta, kv_json, &own, &n_own, err), done);
    if (!(sh->w = wk_stw_plan(t, sh->n, meta, n_meta, err))) goto done;
    rc = 0;
done:
    for (size_t i = 0; i < n_own; i++) free(own[i]);
    free(own);
    free(meta);
    free(t);
    return rc;
}

/* Account tensor i's non-finite values; an error unless allowed. */
static int st_nonfinite_done(wk_source_stplan *p, size_t i, wk_err *err)
{
    p->nf_in += p->nf[i].in_bad;
    p->nf_over += p->nf[i].overflow;
    p->x[i].nf = NULL;
    return wk_source_nonfinite_check(p->src, i, &p->nf[i], p->x[i].out_dtype, p->o.allow_nonfinite, err);
}

void wk_source_st_nonfinite(const wk_source_stplan *p, uint64_t *in_bad, uint64_t *overflow)
{
    *in_bad = p->nf_in;
    *overflow = p->nf_over;
}

static int st_plan(wk_source_stplan *p, wk_progress_fn progress, void *pctx, wk_err *err)
{
    const wk_source *s = p->src;
    size_t n = wk_source_count(s);
    p->x = calloc(n ? n : 1, sizeof *p->x);
    p->nbytes = calloc(n ? n : 1, sizeof *p->nbytes);
    p->digest = calloc(n ? n : 1, sizeof *p->digest);
    p->shards = calloc(n ? n : 1, sizeof *p->shards);
    p->nf = calloc(n ? n : 1, sizeof *p->nf);
    if (!p->x || !p->nbytes || !p->digest || !p->shards || !p->nf) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    size_t kvl;
    const wk_st *sst = wk_source_kind_of(s) == WK_SOURCE_SAFETENSORS ? wk_source_st(s, 0) : NULL;
    int gguf_like = wk_source_gguf(s) || (sst && wk_st_meta_get(sst, WK_ST_GGUF_KV, &kvl));
    for (size_t i = 0; i < n; i++) {
        const wk_source_tensor *t = wk_source_tensor_at(s, i);
        if (t->dtype == WK_DT_COUNT)
            return wk_err_set(err, WK_E_UNSUPPORTED, "%s: tensor \"%s\" is %s-quantized; safetensors cannot "
                              "hold it", wk_source_path(s), t->name, wk_ggml_type_get(t->ggml_type)->name);
        p->x[i].out_dtype = t->dtype;
        /* GGUF-made tensors keep GGUF's rule: 1-D tensors (norms) stay as they are */
        if (p->o.out_dtype >= 0 && is_float16_32(t->dtype) && !(gguf_like && t->ndim < 2))
            p->x[i].out_dtype = (wk_dtype)p->o.out_dtype;
        WK_TRY(wk_source_out_nbytes(s, i, &p->x[i], &p->nbytes[i], err));
        p->total += p->nbytes[i];
    }
    /* shards: transformers' rule, in source order */
    uint64_t cur = 0;
    for (size_t i = 0; i < n; i++) {
        st_shard *sh = &p->shards[p->n_shards ? p->n_shards - 1 : 0];
        if (!p->n_shards || (p->o.shard_size && cur + p->nbytes[i] > p->o.shard_size && sh->n)) {
            sh = &p->shards[p->n_shards++];
            sh->first = i;
            cur = 0;
        }
        sh->n++;
        cur += p->nbytes[i];
    }
    if (!p->n_shards) p->n_shards = 1;
    for (size_t k = 0; k < p->n_shards; k++) {
        if (p->n_shards == 1) snprintf(p->shards[k].name, sizeof p->shards[k].name, "model.safetensors");
        else snprintf(p->shards[k].name, sizeof p->shards[k].name, "model-%05zu-of-%05zu.safetensors", k + 1,
                      p->n_shards);
    }
    if (p->o.digests) {
        for (size_t i = 0; i < n; i++) p->x[i].nf = &p->nf[i];
        WK_TRY(st_digests(p, progress, pctx, err));
        for (size_t i = 0; i < n; i++) WK_TRY(st_nonfinite_done(p, i, err));   /* source order */
        p->nf_checked = 1;
    }
    char *kv_json = NULL;
    if (wk_source_gguf(s)) {
        wk_buf b;
        wk_buf_init(&b);
        if (wk_st_gguf_kv_to_json(wk_source_gguf(s), &b, err)) {
            wk_buf_free(&b);
            return -1;
        }
        wk_buf_putc(&b, 0);
        if (wk_buf_check(&b, err)) {
            wk_buf_free(&b);
            return -1;
        }
        kv_json = (char *)b.data;
    }
    int rc = -1;
    for (size_t k = 0; k < p->n_shards; k++) WK_TRY_GOTO(st_plan_shard(p, &p->shards[k], &kv_json, err), done);
    rc = 0;
done:
    free(kv_json);
    return rc;
}

wk_source_stplan *wk_source_st_plan(const wk_source *s, const wk_source_st_opts *o, wk_progress_fn progress,
                                    void *pctx, wk_err *err)
{
    wk_source_stplan *p = calloc(1, sizeof *p);
    if (!p) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    p->src = s;
    if (o) p->o = *o;
    else wk_source_st_opts_init(&p->o);
    if (st_plan(p, progress, pctx, err)) {
        wk_source_st_free(p);
        return NULL;
    }
    return p;
}

void wk_source_st_free(wk_source_stplan *p)
{
    if (!p) return;
    for (size_t k = 0; k < p->n_shards && p->shards; k++) wk_stw_free(p->shards[k].w);
    free(p->shards);
    free(p->x);
    free(p->nbytes);
    free(p->digest);
    free(p->nf);
    free(p);
}

size_t wk_source_st_shard_count(const wk_source_stplan *p) { return p->n_shards; }
const char *wk_source_st_shard_name(const wk_source_stplan *p, size_t k) { return k < p->n_shards ? p->shards[k].name : NULL; }
uint64_t wk_source_st_shard_size(const wk_source_stplan *p, size_t k) { return k < p->n_shards ? wk_stw_total_size(p->shards[k].w) : 0; }

typedef struct {
    wk_stw *w;
    wk_progress_fn progress;
    void *pctx;
    uint64_t done, total;
} stw_ctx;

static int stw_sink(void *ctx, const void *p, size_t n, wk_err *err)
{
    stw_ctx *c = ctx;
    WK_TRY(wk_stw_write(c->w, p, n, err));
    c->done += n;
    if (c->progress) c->progress(c->pctx, c->done, c->total);
    return 0;
}

int wk_source_st_write(wk_source_stplan *p, size_t k, wk_sink *sink, wk_progress_fn progress, void *pctx,
                    wk_err *err)
{
    if (k >= p->n_shards) return wk_err_set(err, WK_E_USAGE, "shard %zu out of range", k);
    st_shard *sh = &p->shards[k];
    WK_TRY(wk_stw_begin(sh->w, sink, err));
    stw_ctx c = {sh->w, progress, pctx, 0, wk_stw_total_size(sh->w)};
    wk_sink ws;
    wk_sink_init(&ws, stw_sink, &c);
    wk_source_bufs bufs = {0};
    int rc = -1;
    for (size_t j = 0; j < sh->n; j++) {
        size_t i = sh->first + wk_stw_order(sh->w, j);
        if (!p->nf_checked) p->x[i].nf = &p->nf[i];   /* no digest pass: check here */
        WK_TRY_GOTO(wk_source_emit(p->src, i, &p->x[i], &ws, &bufs, err), done);
        if (!p->nf_checked) WK_TRY_GOTO(st_nonfinite_done(p, i, err), done);
    }
    WK_TRY_GOTO(wk_stw_finish(sh->w, err), done);
    rc = 0;
done:
    wk_source_bufs_free(&bufs);
    return rc;
}

int wk_source_st_index(const wk_source_stplan *p, wk_buf *out, wk_err *err)
{
    size_t n = wk_source_count(p->src);
    const char **names = malloc((n ? n : 1) * sizeof *names), **files = malloc((n ? n : 1) * sizeof *files);
    int rc = -1;
    WK_FAIL_GOTO(!names || !files, done, err, WK_E_NOMEM, "out of memory");
    for (size_t k = 0; k < p->n_shards; k++)
        for (size_t j = 0; j < p->shards[k].n; j++) {
            names[p->shards[k].first + j] = wk_source_tensor_at(p->src, p->shards[k].first + j)->name;
            files[p->shards[k].first + j] = p->shards[k].name;
        }
    WK_TRY_GOTO(wk_st_index_json(p->total, names, files, n, out, err), done);
    rc = 0;
done:
    free(names);
    free(files);
    return rc;
}

/* ---- verifying ------------------------------------------------------------------ */

static int verify_one(const char *path, wk_digest_cb cb, void *ctx, size_t *n, wk_err *err)
{
    uint8_t h[9];
    size_t got = 0;
    WK_TRY(sniff(path, h, &got, err));
    if (got >= 4 && memcmp(h, "GGUF", 4) == 0) {
        wk_gguf **parts;
        size_t np;
        WK_TRY(wk_gguf_split_open(path, &parts, &np, err));   /* a split set: all its parts */
        int rc = wk_gguf_split_verify_digests(parts, np, cb, ctx, err);
        for (size_t k = 0; k < np; k++) {
            *n += wk_gguf_tensor_count(parts[k]);
            wk_gguf_close(parts[k]);
        }
        free(parts);
        return rc;
    }
    if (got >= 4 && memcmp(h, "PK\x03\x04", 4) == 0)
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: a PyTorch checkpoint stores no weightkit digests", path);
    wk_st *st = wk_st_open(path, err);
    if (!st) return -1;
    int rc = wk_st_verify_digests(st, cb, ctx, err);
    *n += wk_st_count(st);
    wk_st_close(st);
    return rc;
}

/* verify_one on the file dir/name. */
static int verify_in(const char *dir, const char *name, wk_digest_cb cb, void *ctx, size_t *n,
                     wk_err *err)
{
    char *sp = wk_path_join(dir, name);
    WK_FAIL_IF(!sp, err, WK_E_NOMEM, "out of memory");
    int rc = verify_one(sp, cb, ctx, n, err);
    free(sp);
    return rc;
}

/* verify_one on every shard of dir/model.safetensors.index.json. */
static int verify_index(const char *dir, wk_digest_cb cb, void *ctx, size_t *n, wk_err *err)
{
    char *ip = wk_path_join(dir, "model.safetensors.index.json");
    WK_FAIL_IF(!ip, err, WK_E_NOMEM, "out of memory");
    wk_st_index ix = {0};
    int rc = -1;
    WK_TRY_GOTO(wk_st_index_load(&ix, ip, err), done);
    for (size_t k = 0; k < ix.n_shards; k++) WK_TRY_GOTO(verify_in(dir, ix.shards[k], cb, ctx, n, err), done);
    rc = 0;
done:
    wk_st_index_free(&ix);   /* zeroed when loading failed: a no-op then */
    free(ip);
    return rc;
}

int wk_source_verify_digests(const char *path, wk_digest_cb cb, void *ctx, size_t *n_tensors,
                             wk_err *err)
{
    size_t n = 0;
    int rc;
    if (!is_dir(path))
        rc = verify_one(path, cb, ctx, &n, err);
    else if (exists_in(path, "model.safetensors.index.json"))
        rc = verify_index(path, cb, ctx, &n, err);
    else if (exists_in(path, "model.safetensors"))
        rc = verify_in(path, "model.safetensors", cb, ctx, &n, err);
    else
        rc = wk_err_set(err, WK_E_USAGE, "%s: no model.safetensors[.index.json] to verify", path);
    if (n_tensors) *n_tensors = n;
    return rc;
}
