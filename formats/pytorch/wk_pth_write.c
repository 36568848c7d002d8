/* wk_pth_write.c — torch.save-identical zip writer (see wk_pth_write.h and
 * docs/formats/pytorch-zip.md, whose section names appear in the comments). */
#include "wk_pth_write.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wk_buf.h"
#include "wk_io.h"
#include "wk_utf8.h"

#define U32_MAX_ 0xFFFFFFFFull
#define ALIGN 64u
#define BATCHSIZE 1000u /* CPython pickle's dict batch size */
#define CRC_CHUNK (1u << 30) /* zlib's crc32 takes a uInt length */

/* Zip signatures and fixed sizes. */
#define SIG_LOCAL 0x04034b50u
#define SIG_DESCRIPTOR 0x08074b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_ZIP64_EOCD 0x06064b50u
#define SIG_ZIP64_LOCATOR 0x07064b50u
#define SIG_EOCD 0x06054b50u
#define LOCAL_HEADER_SIZE 30u
#define CENTRAL_HEADER_SIZE 46u
#define ZIP64_EOCD_SIZE 56u
#define ZIP64_LOCATOR_SIZE 20u
#define EOCD_SIZE 22u
#define FLAG_DESCRIPTOR 0x0008u /* general purpose bit 3: sizes and CRC follow the data */
#define FLAG_UTF8 0x0800u       /* general purpose bit 11: UTF-8 names */

/* miniz sets bit 3 only for records with data (it writes no descriptor for
 * empty ones) and always bit 11. */
#define REC_FLAGS(r) ((r)->size ? FLAG_DESCRIPTOR | FLAG_UTF8 : FLAG_UTF8)

/* ---- profiles ---------------------------------------------------------------- */

static const wk_pth_profile_info k_profiles[WK_PTH_PROFILE_COUNT] = {
    {WK_PTH_TORCH_1_13, "torch-1.13", "1.13, 2.0", WK_PTH_F_VERIFIED,
     "byte-identical to torch.save of torch 1.13/2.0 (verified against torch 1.13.1)"},
    {WK_PTH_TORCH_2_1, "torch-2.1", "2.1 - 2.6",
     WK_PTH_F_BYTEORDER | WK_PTH_F_SERIAL_ID | WK_PTH_F_SERIAL_ID_UNVERIFIED | WK_PTH_F_ASCII_PATH,
     "torch 2.1-2.6 layout from the PyTorch sources; .data/serialization_id is computed as the "
     "source describes but was never compared with a real torch >= 2.1 file"},
};

const wk_pth_profile_info *wk_pth_profile_get(wk_pth_profile p)
{
    if ((unsigned)p >= WK_PTH_PROFILE_COUNT) return NULL;
    return &k_profiles[p];
}

int wk_pth_profile_from_name(const char *name)
{
    static const struct { const char *name; wk_pth_profile p; } k_names[] = {
        {"torch-1.13", WK_PTH_TORCH_1_13}, {"1.13", WK_PTH_TORCH_1_13},
        {"2.0", WK_PTH_TORCH_1_13},        {"torch-2.0", WK_PTH_TORCH_1_13},
        {"torch-2.1", WK_PTH_TORCH_2_1},   {"2.1", WK_PTH_TORCH_2_1},
        {"2.2", WK_PTH_TORCH_2_1},         {"2.3", WK_PTH_TORCH_2_1},
        {"2.4", WK_PTH_TORCH_2_1},         {"2.5", WK_PTH_TORCH_2_1},
        {"2.6", WK_PTH_TORCH_2_1},
    };
    if (!name) return -1;
    for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++)
        if (strcmp(k_names[i].name, name) == 0) return (int)k_names[i].p;
    return -1;
}

/* ---- archive name (docs/formats/pytorch-zip.md, "Archive name") --------------------------------------------------- */

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

char *wk_pth_archive_name(const char *path, wk_pth_profile profile, wk_err *err)
{
    const wk_pth_profile_info *pi = wk_pth_profile_get(profile);
    if (!pi) {
        wk_err_set(err, WK_E_USAGE, "unknown torch profile %d", (int)profile);
        return NULL;
    }
    if (!path || ((pi->flags & WK_PTH_F_ASCII_PATH) && !is_ascii(path))) {
        char *s = strdup("archive");
        if (!s) wk_err_set(err, WK_E_NOMEM, "out of memory");
        return s;
    }
    /* PyTorch's basename(): start after the last separator, end at the last
     * '.' after that start. */
    size_t len = strlen(path), start = 0, end = len;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/' || path[i] == '\\') start = i + 1;
    for (size_t i = len; i > start; i--)
        if (path[i - 1] == '.') {
            end = i - 1;
            break;
        }
    if (start >= len || end <= start) {
        wk_err_set(err, WK_E_USAGE, "%s: invalid file name for torch.save (empty archive name)",
                   path);
        return NULL;
    }
    char *s = malloc(end - start + 1);
    if (!s) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(s, path + start, end - start);
    s[end - start] = 0;
    return s;
}

/* ---- description helpers ------------------------------------------------------------ */

void wk_pthw_tensor_contiguous(wk_pthw_tensor *t, const char *name, size_t storage,
                               int ndim, const int64_t *shape)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->storage = storage;
    t->ndim = ndim;
    if (ndim < 0 || ndim > WK_MAX_DIMS) return; /* rejected by wk_pthw_plan */
    int64_t st = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        t->shape[i] = shape[i];
        t->stride[i] = st;
        st *= shape[i] > 1 ? shape[i] : 1;
    }
}

/* ---- the writer's state ---------------------------------------------------------------- */

typedef enum { REC_PICKLE, REC_BYTEORDER, REC_DATA, REC_VERSION, REC_SERIAL_ID } rec_kind;

typedef struct {
    rec_kind kind;
    char *name;      /* full name "<archive>/<record>" */
    size_t name_len;
    size_t short_off; /* where "<record>" starts inside name */
    size_t storage;  /* REC_DATA: the caller's storage index */
    uint64_t size, hdr_off, data_off;
    uint32_t extra_len, cd_extra_len, desc_len;
    int z_size, z_off;
    uint32_t crc;
} rec;

enum { ST_PLANNED, ST_BETWEEN, ST_IN_DATA, ST_DONE, ST_FAILED };

struct wk_pthw {
    wk_pth_profile profile;
    unsigned flags;
    char *archive;
    size_t n_st;
    wk_pthw_storage *st;
    char (*key)[24];  /* key string of each storage */
    size_t *st_rec;   /* storage -> record index */
    size_t *order;    /* k -> storage */
    wk_buf pickle;
    rec *recs;
    size_t n_recs;
    uint64_t cd_off, cd_size, total;
    /* streaming */
    int state;
    wk_sink *sink;
    uint64_t pos;
    size_t next_rec;  /* next record to write */
    rec *cur;         /* record whose data is being streamed */
    uint64_t cur_written;
    uint32_t cur_crc;
    uint8_t head[8];  /* first bytes of the current record's data */
    uint64_t sid_crc; /* serialization_id: combined descriptor CRCs */
    char sid[48];
    wk_buf scratch;
};

/* ---- pickle (docs/formats/pytorch-zip.md, "Grammar") ------------------------------------------------------------------ */

enum { M_NONE = -1 };

typedef struct {
    wk_buf *b;
    uint32_t memo;     /* next memo index */
    int64_t m_rebuild, m_storage, m_cpu, m_odict;
    int64_t m_class[WK_DT_COUNT];
    int64_t *m_key;    /* per storage: memo of its key string */
    int64_t *m_tensor; /* per tensor: memo of the tensor object */
} pk;

static void pk_u32(wk_buf *b, uint32_t v) { wk_buf_le32(b, v); }

/* BINPUT / LONG_BINPUT of the next memo index; returns the index. */
static int64_t pk_put(pk *p)
{
    uint32_t i = p->memo++;
    if (i < 256) {
        wk_buf_putc(p->b, 'q');
        wk_buf_putc(p->b, (uint8_t)i);
    } else {
        wk_buf_putc(p->b, 'r');
        pk_u32(p->b, i);
    }
    return i;
}

/* BINGET / LONG_BINGET. */
static void pk_get(pk *p, int64_t i)
{
    if (i < 256) {
        wk_buf_putc(p->b, 'h');
        wk_buf_putc(p->b, (uint8_t)i);
    } else {
        wk_buf_putc(p->b, 'j');
        pk_u32(p->b, (uint32_t)i);
    }
}

/* An int as CPython's save_long writes it for protocol 2. */
static void pk_int(pk *p, int64_t v)
{
    if (v >= 0 && v <= 0xFF) {
        wk_buf_putc(p->b, 'K');
        wk_buf_putc(p->b, (uint8_t)v);
    } else if (v >= 0 && v <= 0xFFFF) {
        wk_buf_putc(p->b, 'M');
        wk_buf_le16(p->b, (uint16_t)v);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        wk_buf_putc(p->b, 'J');
        pk_u32(p->b, (uint32_t)(int32_t)v);
    } else {
        /* LONG1: little-endian two's complement in bit_length(|v|)/8 + 1
         * bytes, minus a redundant top 0xFF (CPython's save_long). */
        uint8_t bytes[9];
        uint64_t u = (uint64_t)v, mag = v < 0 ? (uint64_t)0 - u : u;
        int nbits = 0;
        for (; mag; mag >>= 1) nbits++;
        int n = nbits / 8 + 1;
        for (int i = 0; i < n; i++) bytes[i] = i < 8 ? (uint8_t)(u >> (8 * i)) : (v < 0 ? 0xFF : 0);
        if (v < 0 && n > 1 && bytes[n - 1] == 0xFF && (bytes[n - 2] & 0x80)) n--;
        wk_buf_putc(p->b, 0x8A);
        wk_buf_putc(p->b, (uint8_t)n);
        wk_buf_put(p->b, bytes, (size_t)n);
    }
}

/* BINUNICODE + BINPUT; returns the memo index. */
static int64_t pk_str(pk *p, const char *s, size_t n)
{
    wk_buf_putc(p->b, 'X');
    pk_u32(p->b, (uint32_t)n);
    wk_buf_put(p->b, s, n);
    return pk_put(p);
}

/* A string that pickle memoizes by identity: first time BINUNICODE, later BINGET. */
static void pk_memo_str(pk *p, int64_t *memo, const char *s)
{
    if (*memo == M_NONE) *memo = pk_str(p, s, strlen(s));
    else pk_get(p, *memo);
}

/* GLOBAL module\nname\n + BINPUT, or BINGET when seen before. */
static void pk_global(pk *p, int64_t *memo, const char *mod, const char *name)
{
    if (*memo != M_NONE) {
        pk_get(p, *memo);
        return;
    }
    wk_buf_putc(p->b, 'c');
    wk_buf_puts(p->b, mod);
    wk_buf_putc(p->b, '\n');
    wk_buf_puts(p->b, name);
    wk_buf_putc(p->b, '\n');
    *memo = pk_put(p);
}

/* A fresh tuple of ints: EMPTY_TUPLE, TUPLE1/2/3 or MARK..TUPLE, then BINPUT. */
static void pk_int_tuple(pk *p, const int64_t *v, int n)
{
    if (n == 0) {
        wk_buf_putc(p->b, ')');
        return;
    }
    if (n > 3) wk_buf_putc(p->b, '(');
    for (int i = 0; i < n; i++) pk_int(p, v[i]);
    wk_buf_putc(p->b, n > 3 ? 't' : (uint8_t)(0x85 + n - 1));
    pk_put(p);
}

/* One dict item: key, then torch._utils._rebuild_tensor_v2(storage, offset,
 * size, stride, False, OrderedDict()) as Tensor.__reduce_ex__ pickles it. */
static void pk_item(pk *p, const wk_pthw *w, const wk_pthw_tensor *ts, size_t i)
{
    const wk_pthw_tensor *t = &ts[i];
    pk_str(p, t->name, strlen(t->name));
    if (t->same_as) { /* the same object again: a memo reference */
        p->m_tensor[i] = p->m_tensor[t->same_as - 1];
        pk_get(p, p->m_tensor[i]);
        return;
    }
    const wk_pthw_storage *s = &w->st[t->storage];
    const wk_dtype_info *di = wk_dtype_get(s->dtype);
    pk_global(p, &p->m_rebuild, "torch._utils", "_rebuild_tensor_v2");
    wk_buf_putc(p->b, '(');
    /* persistent id ('storage', <X>Storage, key, 'cpu', numel), BINPERSID */
    wk_buf_putc(p->b, '(');
    pk_memo_str(p, &p->m_storage, "storage");
    pk_global(p, &p->m_class[s->dtype], "torch", di->torch_storage);
    pk_memo_str(p, &p->m_key[t->storage], w->key[t->storage]);
    pk_memo_str(p, &p->m_cpu, "cpu");
    pk_int(p, (int64_t)(s->nbytes / di->size));
    wk_buf_putc(p->b, 't');
    pk_put(p);
    wk_buf_putc(p->b, 'Q');
    pk_int(p, t->storage_offset);
    pk_int_tuple(p, t->shape, t->ndim);
    pk_int_tuple(p, t->stride, t->ndim);
    wk_buf_putc(p->b, 0x89); /* NEWFALSE: requires_grad */
    pk_global(p, &p->m_odict, "collections", "OrderedDict");
    wk_buf_putc(p->b, ')');
    wk_buf_putc(p->b, 'R');
    pk_put(p);
    wk_buf_putc(p->b, 't');
    pk_put(p);
    wk_buf_putc(p->b, 'R');
    p->m_tensor[i] = pk_put(p);
}

/* The whole data.pkl: PROTO 2, EMPTY_DICT, items in SETITEM / SETITEMS
 * batches exactly as CPython's batch_dict_exact, STOP. */
static int build_pickle(wk_pthw *w, const wk_pthw_tensor *ts, size_t nt, wk_err *err)
{
    pk p = {.b = &w->pickle, .memo = 0, .m_rebuild = M_NONE, .m_storage = M_NONE,
            .m_cpu = M_NONE, .m_odict = M_NONE};
    for (int d = 0; d < WK_DT_COUNT; d++) p.m_class[d] = M_NONE;
    p.m_key = malloc((w->n_st ? w->n_st : 1) * sizeof *p.m_key);
    p.m_tensor = malloc((nt ? nt : 1) * sizeof *p.m_tensor);
    if (!p.m_key || !p.m_tensor) {
        free(p.m_key);
        free(p.m_tensor);
        return wk_err_set(err, WK_E_NOMEM, "out of memory building data.pkl");
    }
    for (size_t s = 0; s < w->n_st; s++) p.m_key[s] = M_NONE;

    wk_buf_putc(p.b, 0x80);
    wk_buf_putc(p.b, 2);
    wk_buf_putc(p.b, '}');
    pk_put(&p);
    if (nt == 1) {
        pk_item(&p, w, ts, 0);
        wk_buf_putc(p.b, 's');
    } else if (nt > 1) {
        size_t i = 0, in_batch;
        do {
            wk_buf_putc(p.b, '(');
            for (in_batch = 0; i < nt && in_batch < BATCHSIZE; in_batch++, i++) pk_item(&p, w, ts, i);
            wk_buf_putc(p.b, 'u');
        } while (in_batch == BATCHSIZE); /* CPython writes an empty batch after a full one */
    }
    wk_buf_putc(p.b, '.');
    free(p.m_key);
    free(p.m_tensor);
    return wk_buf_check(p.b, err);
}

/* ---- validation ------------------------------------------------------------------------------ */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks one non-aliased tensor against its storage (torch's bounds rule:
 * a view with elements must end inside the storage). */
static int check_view(const wk_pthw_tensor *t, size_t i, const wk_pthw_storage *st, size_t n_st,
                      wk_err *err)
{
    WK_FAIL_IF(t->storage >= n_st, err, WK_E_USAGE,
               "tensor %zu '%s': storage index %zu out of range (%zu storages)", i, t->name,
               t->storage, n_st);
    WK_FAIL_IF(t->ndim < 0 || t->ndim > WK_MAX_DIMS, err, WK_E_USAGE,
               "tensor '%s': %d dimensions (0..%d supported)", t->name, t->ndim, WK_MAX_DIMS);
    WK_FAIL_IF(t->storage_offset < 0, err, WK_E_USAGE, "tensor '%s': negative storage offset",
               t->name);
    const wk_dtype_info *di = wk_dtype_get(st[t->storage].dtype);
    uint64_t numel_st = st[t->storage].nbytes / di->size;
    uint64_t last = (uint64_t)t->storage_offset; /* index of the last element viewed */
    int empty = 0;
    for (int d = 0; d < t->ndim; d++) {
        WK_FAIL_IF(t->shape[d] < 0 || t->stride[d] < 0, err, WK_E_USAGE,
                   "tensor '%s': negative size or stride in dimension %d", t->name, d);
        if (t->shape[d] == 0) empty = 1;
    }
    if (empty) return 0; /* torch accepts any offset for a view without elements */
    for (int d = 0; d < t->ndim; d++) {
        uint64_t span = (uint64_t)(t->shape[d] - 1), str = (uint64_t)t->stride[d];
        WK_FAIL_IF(str && span > (UINT64_MAX - last) / str, err, WK_E_USAGE,
                   "tensor '%s': view extent overflows", t->name);
        last += span * str;
    }
    WK_FAIL_IF(last >= numel_st, err, WK_E_USAGE,
               "tensor '%s': view reaches element %llu of storage %zu, which has %llu elements",
               t->name, (unsigned long long)last, t->storage, (unsigned long long)numel_st);
    return 0;
}

static int validate(const wk_pthw_storage *st, size_t n_st, const wk_pthw_tensor *ts, size_t nt,
                    size_t *first_use, wk_err *err)
{
    for (size_t s = 0; s < n_st; s++) {
        const wk_dtype_info *di = wk_dtype_get(st[s].dtype);
        WK_FAIL_IF(!di, err, WK_E_USAGE, "storage %zu: unknown dtype %d", s, (int)st[s].dtype);
        WK_FAIL_IF(st[s].nbytes % di->size, err, WK_E_USAGE,
                   "storage %zu: %llu bytes is not a multiple of the %s size %zu", s,
                   (unsigned long long)st[s].nbytes, di->torch_name, di->size);
        first_use[s] = SIZE_MAX;
    }
    for (size_t i = 0; i < nt; i++) {
        const wk_pthw_tensor *t = &ts[i];
        WK_FAIL_IF(!t->name, err, WK_E_USAGE, "tensor %zu: no name", i);
        size_t len = strlen(t->name);
        WK_FAIL_IF(len > UINT32_MAX, err, WK_E_LIMIT, "tensor %zu: name too long", i);
        WK_FAIL_IF(!wk_utf8_valid(t->name, len), err, WK_E_USAGE,
                   "tensor %zu: name is not valid UTF-8", i);
        if (t->same_as) {
            WK_FAIL_IF(t->same_as > i, err, WK_E_USAGE,
                       "tensor '%s': same_as must name an earlier tensor", t->name);
            continue;
        }
        WK_TRY(check_view(t, i, st, n_st, err));
        if (first_use[t->storage] == SIZE_MAX) first_use[t->storage] = i;
    }
    for (size_t s = 0; s < n_st; s++)
        WK_FAIL_IF(first_use[s] == SIZE_MAX, err, WK_E_USAGE,
                   "storage %zu is not used by any tensor (torch.save would not write it)", s);
    if (nt > 1) {
        const char **names = malloc(nt * sizeof *names);
        WK_FAIL_IF(!names, err, WK_E_NOMEM, "out of memory");
        for (size_t i = 0; i < nt; i++) names[i] = ts[i].name;
        qsort(names, nt, sizeof *names, cmp_str_ptr);
        for (size_t i = 1; i < nt; i++)
            if (strcmp(names[i - 1], names[i]) == 0) {
                wk_err_set(err, WK_E_USAGE, "duplicate tensor name '%s'", names[i]);
                free(names);
                return -1;
            }
        free(names);
    }
    return 0;
}

/* ---- layout (docs/formats/pytorch-zip.md, "Local file header" .. "End records") ----------------------------------------------------------------- */

/* Size of the zip64 extra field (id, length, [usize, csize], [offset]), 0 if none. */
static uint32_t zip64_field_len(const rec *r)
{
    if (!r->z_size && !r->z_off) return 0;
    return 4u + 16u * (uint32_t)r->z_size + 8u * (uint32_t)r->z_off;
}

/* Place record r at *cursor: zip64 decisions, padding, data offset. */
static void place(rec *r, uint64_t *cursor)
{
    uint64_t off = *cursor;
    r->hdr_off = off;
    r->z_size = r->size >= U32_MAX_;
    r->z_off = off >= U32_MAX_;
    uint32_t z64 = zip64_field_len(r);
    uint64_t start = off + LOCAL_HEADER_SIZE + r->name_len + z64 + 4; /* + "FB" + u16 */
    uint32_t pad = (uint32_t)((ALIGN - start % ALIGN) % ALIGN);
    r->extra_len = z64 + 4 + pad;
    r->cd_extra_len = z64;
    r->data_off = start + pad;
    r->desc_len = r->size == 0 ? 0 : z64 ? 24 : 16; /* miniz: no descriptor for empty records */
    *cursor = r->data_off + r->size + r->desc_len;
}

static int add_rec(wk_pthw *w, rec_kind kind, const char *short_name, uint64_t size, size_t storage,
                   wk_err *err)
{
    rec *r = &w->recs[w->n_recs++];
    size_t al = strlen(w->archive), sl = strlen(short_name);
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->storage = storage;
    r->size = size;
    r->name_len = al + 1 + sl;
    WK_FAIL_IF(r->name_len > 0xFFFF, err, WK_E_LIMIT,
               "zip record name '%s/%s' is longer than 65535 bytes", w->archive, short_name);
    r->name = malloc(r->name_len + 1);
    WK_FAIL_IF(!r->name, err, WK_E_NOMEM, "out of memory");
    memcpy(r->name, w->archive, al);
    r->name[al] = '/';
    memcpy(r->name + al + 1, short_name, sl + 1);
    r->short_off = al + 1;
    return 0;
}

typedef struct {
    const char *key;
    size_t s;
} key_ref;

static int cmp_key_ref(const void *a, const void *b)
{
    return strcmp(((const key_ref *)a)->key, ((const key_ref *)b)->key);
}

static const char k_byteorder[] = "little";
static const char k_version[] = "3\n";
#define SERIAL_ID_LEN 40u

/* The records in torch's order: data.pkl, [byteorder,] data/<key> by sorted
 * key (kr), version[, .data/serialization_id]. */
static int add_records(wk_pthw *w, const key_ref *kr, int has_bo, int has_sid, wk_err *err)
{
    WK_TRY(add_rec(w, REC_PICKLE, "data.pkl", w->pickle.len, 0, err));
    if (has_bo) WK_TRY(add_rec(w, REC_BYTEORDER, "byteorder", strlen(k_byteorder), 0, err));
    for (size_t k = 0; k < w->n_st; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "data/%s", kr[k].key);
        w->order[k] = kr[k].s;
        w->st_rec[kr[k].s] = w->n_recs;
        WK_TRY(add_rec(w, REC_DATA, nm, w->st[kr[k].s].nbytes, kr[k].s, err));
    }
    WK_TRY(add_rec(w, REC_VERSION, "version", strlen(k_version), 0, err));
    if (has_sid) WK_TRY(add_rec(w, REC_SERIAL_ID, ".data/serialization_id", SERIAL_ID_LEN, 0, err));
    return 0;
}

/* Records in torch's order, then every offset and the total size. */
static int layout(wk_pthw *w, wk_err *err)
{
    int has_bo = (w->flags & WK_PTH_F_BYTEORDER) != 0, has_sid = (w->flags & WK_PTH_F_SERIAL_ID) != 0;
    size_t n = w->n_st + 2 + (size_t)has_bo + (size_t)has_sid;
    w->recs = calloc(n, sizeof *w->recs);
    key_ref *kr = malloc((w->n_st ? w->n_st : 1) * sizeof *kr);
    if (!w->recs || !kr) {
        free(kr);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    for (size_t s = 0; s < w->n_st; s++) kr[s] = (key_ref){w->key[s], s};
    qsort(kr, w->n_st, sizeof *kr, cmp_key_ref); /* Python's sorted() of str keys */
    int rc = add_records(w, kr, has_bo, has_sid, err);
    free(kr);
    WK_TRY(rc);

    uint64_t cursor = 0, cd = 0;
    for (size_t i = 0; i < w->n_recs; i++) {
        place(&w->recs[i], &cursor);
        cd += CENTRAL_HEADER_SIZE + w->recs[i].name_len + w->recs[i].cd_extra_len;
    }
    WK_FAIL_IF(cd >= U32_MAX_, err, WK_E_LIMIT, "zip central directory would exceed 4 GiB");
    w->cd_off = cursor;
    w->cd_size = cd;
    w->total = cursor + cd + ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE + EOCD_SIZE;
    return 0;
}

wk_pthw *wk_pthw_plan(const char *file_name, const wk_pthw_storage *storages, size_t n_storages,
                      const wk_pthw_tensor *tensors, size_t n_tensors, wk_pth_profile profile,
                      wk_err *err)
{
    const wk_pth_profile_info *pi = wk_pth_profile_get(profile);
    if (!pi) {
        wk_err_set(err, WK_E_USAGE, "unknown torch profile %d", (int)profile);
        return NULL;
    }
    wk_pthw *w = calloc(1, sizeof *w);
    size_t ns = n_storages ? n_storages : 1;
    if (w) {
        w->st = malloc(ns * sizeof *w->st);
        w->key = malloc(ns * sizeof *w->key);
        w->st_rec = malloc(ns * sizeof *w->st_rec);
        w->order = malloc(ns * sizeof *w->order);
    }
    if (!w || !w->st || !w->key || !w->st_rec || !w->order) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        wk_pthw_free(w);
        return NULL;
    }
    w->profile = profile;
    w->flags = pi->flags;
    w->n_st = n_storages;
    if (n_storages) memcpy(w->st, storages, n_storages * sizeof *w->st);
    /* first_use reuses st_rec as scratch before layout() fills it */
    if (validate(storages, n_storages, tensors, n_tensors, w->st_rec, err) != 0) goto fail;
    /* Keys "0", "1", ... in order of first use (torch's id_map). */
    {
        size_t next = 0;
        for (size_t s = 0; s < n_storages; s++) w->key[s][0] = 0;
        for (size_t i = 0; i < n_tensors; i++) {
            if (tensors[i].same_as) continue;
            size_t s = tensors[i].storage;
            if (!w->key[s][0]) snprintf(w->key[s], sizeof w->key[s], "%zu", next++);
        }
    }
    w->archive = wk_pth_archive_name(file_name, profile, err);
    if (!w->archive) goto fail;
    if (build_pickle(w, tensors, n_tensors, err) != 0) goto fail;
    if (layout(w, err) != 0) goto fail;
    w->state = ST_PLANNED;
    return w;
fail:
    wk_pthw_free(w);
    return NULL;
}

void wk_pthw_free(wk_pthw *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n_recs; i++) free(w->recs[i].name);
    free(w->recs);
    free(w->st);
    free(w->key);
    free(w->st_rec);
    free(w->order);
    free(w->archive);
    wk_buf_free(&w->pickle);
    wk_buf_free(&w->scratch);
    free(w);
}

uint64_t wk_pthw_total_size(const wk_pthw *w) { return w->total; }
const char *wk_pthw_archive(const wk_pthw *w) { return w->archive; }
size_t wk_pthw_storage_count(const wk_pthw *w) { return w->n_st; }
size_t wk_pthw_record_storage(const wk_pthw *w, size_t k) { return w->order[k]; }
const char *wk_pthw_storage_key(const wk_pthw *w, size_t s) { return w->key[s]; }
uint64_t wk_pthw_storage_data_offset(const wk_pthw *w, size_t s)
{
    return w->recs[w->st_rec[s]].data_off;
}
size_t wk_pthw_record_count(const wk_pthw *w) { return w->n_recs; }
uint64_t wk_pthw_cd_offset(const wk_pthw *w) { return w->cd_off; }
uint64_t wk_pthw_cd_size(const wk_pthw *w) { return w->cd_size; }
const char *wk_pthw_serialization_id(const wk_pthw *w) { return w->sid; }

const uint8_t *wk_pthw_pickle(const wk_pthw *w, size_t *len)
{
    if (len) *len = w->pickle.len;
    return w->pickle.data;
}

void wk_pthw_record_get(const wk_pthw *w, size_t i, wk_pthw_record_info *out)
{
    const rec *r = &w->recs[i];
    out->name = r->name;
    out->header_offset = r->hdr_off;
    out->data_offset = r->data_off;
    out->size = r->size;
    out->extra_len = r->extra_len;
    out->cd_extra_len = r->cd_extra_len;
    out->descriptor_len = r->desc_len;
    out->zip64_size = r->z_size;
    out->zip64_offset = r->z_off;
}

/* ---- serialization_id (torch >= 2.1; docs/formats/pytorch-zip.md, "serialization_id") ----------------------------------------------
 *
 * PyTorchStreamWriter::writeSerializationId(): 20-digit zero-padded decimal
 * of the hash_combine of std::hash<std::string>(name) over the written
 * record names in std::unordered_set<std::string> iteration order, then
 * 20 digits of the hash_combine of the CRC-32 of every write that starts with
 * a data descriptor signature (ostream_write_func), in write order.  Both
 * std::hash and the set's iteration order are libstdc++'s (x86-64 Linux
 * wheels); they are emulated here. */

static uint64_t hash_combine(uint64_t seed, uint64_t value)
{
    return seed ^ (value + 0x9e3779b9u + (seed << 6) + (seed >> 2));
}

static uint64_t shift_mix(uint64_t v) { return v ^ (v >> 47); }

/* libstdc++ std::_Hash_bytes for 64-bit size_t (MurmurHash64A variant),
 * seed 0xc70f6907 as used by std::hash<std::string>; little-endian loads. */
static uint64_t std_hash_string(const char *s, size_t len)
{
    const uint64_t mul = (0xc6a4a793ull << 32) + 0x5bd1e995ull;
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 0xc70f6907ull ^ ((uint64_t)len * mul);
    size_t aligned = len & ~(size_t)7;
    for (size_t i = 0; i < aligned; i += 8) {
        uint64_t d = 0;
        for (int j = 7; j >= 0; j--) d = (d << 8) | p[i + (size_t)j];
        h ^= shift_mix(d * mul) * mul;
        h *= mul;
    }
    if (len & 7) {
        uint64_t d = 0;
        for (size_t j = len; j > aligned; j--) d = (d << 8) | p[j - 1];
        h ^= d;
        h *= mul;
    }
    h = shift_mix(h) * mul;
    return shift_mix(h);
}

/* Bucket counts a default-constructed libstdc++ unordered_set goes through
 * when elements are inserted one by one (max_load_factor 1): 1, then
 * _Prime_rehash_policy::_M_next_bkt(max(n+2, 2n)) each time the element count
 * would exceed the bucket count.  Read from libstdc++ 12 (g++ program calling
 * _M_next_bkt), the same policy since GCC 5. */
static const uint64_t k_bucket_chain[] = {
    1ull, 13ull, 29ull, 59ull, 127ull, 257ull, 541ull, 1109ull, 2357ull, 5087ull,
    10273ull, 20753ull, 42043ull, 85229ull, 172933ull, 351061ull, 712697ull,
    1447153ull, 2938679ull, 5967347ull, 12117689ull, 24607243ull, 49969847ull,
    101473717ull, 206062531ull, 418451333ull, 849749479ull, 1725587117ull};

#define NIL SIZE_MAX

/* Iteration order of a libstdc++ std::unordered_set after inserting n
 * distinct keys with hash codes h[0..n) in that order: writes the key
 * indices to out[0..n).  A faithful replay of _M_insert_unique_node /
 * _M_insert_bucket_begin / _M_rehash_aux on index arrays. */
static int ustd_set_order(const uint64_t *h, size_t n, size_t *out, wk_err *err)
{
    size_t nchain = sizeof k_bucket_chain / sizeof k_bucket_chain[0];
    WK_FAIL_IF(n >= k_bucket_chain[nchain - 1], err, WK_E_LIMIT,
               "too many records to compute the serialization_id");
    size_t ci = 0, nb = 1, cap = 16, bb = n; /* node n stands for _M_before_begin */
    size_t *nxt = malloc((n + 1) * sizeof *nxt);
    size_t *bkt = malloc(cap * sizeof *bkt);
    if (!nxt || !bkt) {
        free(nxt);
        free(bkt);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    bkt[0] = NIL;
    nxt[bb] = NIL;
    for (size_t x = 0; x < n; x++) {
        if (x + 1 > nb || ci == 0) { /* _M_need_rehash: count would exceed next_resize (= nb, 0 at first) */
            nb = (size_t)k_bucket_chain[++ci];
            if (nb > cap) {
                size_t *nbk = realloc(bkt, nb * sizeof *bkt);
                if (!nbk) {
                    free(nxt);
                    free(bkt);
                    return wk_err_set(err, WK_E_NOMEM, "out of memory");
                }
                bkt = nbk;
                cap = nb;
            }
            for (size_t b = 0; b < nb; b++) bkt[b] = NIL;
            size_t p = nxt[bb], bbegin = 0;
            nxt[bb] = NIL;
            while (p != NIL) {
                size_t next = nxt[p], b = (size_t)(h[p] % nb);
                if (bkt[b] == NIL) {
                    nxt[p] = nxt[bb];
                    nxt[bb] = p;
                    bkt[b] = bb;
                    if (nxt[p] != NIL) bkt[bbegin] = p;
                    bbegin = b;
                } else {
                    nxt[p] = nxt[bkt[b]];
                    nxt[bkt[b]] = p;
                }
                p = next;
            }
        }
        size_t b = (size_t)(h[x] % nb);
        if (bkt[b] != NIL) {
            nxt[x] = nxt[bkt[b]];
            nxt[bkt[b]] = x;
        } else {
            nxt[x] = nxt[bb];
            nxt[bb] = x;
            if (nxt[x] != NIL) bkt[h[nxt[x]] % nb] = x;
            bkt[b] = bb;
        }
    }
    size_t k = 0;
    for (size_t p = nxt[bb]; p != NIL; p = nxt[p]) out[k++] = p;
    free(nxt);
    free(bkt);
    return k == n ? 0 : wk_err_set(err, WK_E_INTERNAL, "unordered_set emulation lost nodes");
}

/* The 40-digit serialization_id from the records written before it. */
static int make_serialization_id(wk_pthw *w, size_t n_written, wk_err *err)
{
    uint64_t *h = malloc((n_written ? n_written : 1) * sizeof *h);
    size_t *ord = malloc((n_written ? n_written : 1) * sizeof *ord);
    if (!h || !ord) {
        free(h);
        free(ord);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_written; i++) {
        const rec *r = &w->recs[i];
        h[i] = std_hash_string(r->name + r->short_off, r->name_len - r->short_off);
    }
    int rc = -1;
    WK_TRY_GOTO(ustd_set_order(h, n_written, ord, err), done);
    uint64_t combined = 0;
    for (size_t i = 0; i < n_written; i++) combined = hash_combine(combined, h[ord[i]]);
    snprintf(w->sid, sizeof w->sid, "%020llu%020llu", (unsigned long long)combined,
             (unsigned long long)w->sid_crc);
    rc = 0;
done:
    free(h);
    free(ord);
    return rc;
}

/* ostream_write_func's check, applied to every unit miniz writes with one call. */
static void sid_observe(wk_pthw *w, const uint8_t *p, uint64_t n)
{
    if (n >= 8 && p[0] == 0x50 && p[1] == 0x4B && p[2] == 0x07 && p[3] == 0x08) {
        uint32_t crc = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        w->sid_crc = hash_combine(w->sid_crc, crc);
    }
}

/* ---- streaming ---------------------------------------------------------------------------------- */

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xFFFF); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static uint32_t min32(uint64_t v) { return v >= U32_MAX_ ? 0xFFFFFFFFu : (uint32_t)v; }

static int emit(wk_pthw *w, const void *p, size_t n, wk_err *err)
{
    if (wk_sink_write(w->sink, p, n, err) != 0) {
        w->state = ST_FAILED;
        return wk_err_prefix(err, "writing torch zip at byte %llu", (unsigned long long)w->pos);
    }
    w->pos += n;
    return 0;
}

static int fail_state(wk_pthw *w, wk_err *err, const char *what)
{
    if (w->state == ST_FAILED)
        return wk_err_set(err, WK_E_USAGE, "%s: the torch writer already failed", what);
    w->state = ST_FAILED;
    return wk_err_set(err, WK_E_USAGE, "%s: called out of order", what);
}

/* Local file header, name, [zip64 field], "FB" padding field. */
static int emit_local_header(wk_pthw *w, rec *r, wk_err *err)
{
    if (w->pos != r->hdr_off) {
        w->state = ST_FAILED;
        return wk_err_set(err, WK_E_INTERNAL, "%s: header at %llu, planned %llu", r->name,
                          (unsigned long long)w->pos, (unsigned long long)r->hdr_off);
    }
    wk_buf *b = &w->scratch;
    b->len = 0;
    uint8_t h[LOCAL_HEADER_SIZE] = {0};
    put32(h, SIG_LOCAL);
    put16(h + 6, REC_FLAGS(r)); /* version 0, method 0, time/date 0, crc/sizes 0 */
    put16(h + 26, (uint32_t)r->name_len);
    put16(h + 28, r->extra_len);
    wk_buf_put(b, h, sizeof h);
    wk_buf_put(b, r->name, r->name_len);
    sid_observe(w, (const uint8_t *)r->name, r->name_len);
    if (r->z_size || r->z_off) {
        wk_buf_le16(b, 1);
        wk_buf_le16(b, (uint16_t)(16 * r->z_size + 8 * r->z_off));
        if (r->z_size) {
            wk_buf_le64(b, r->size);
            wk_buf_le64(b, 0); /* compressed size: 0 in the local header (miniz) */
        }
        if (r->z_off) wk_buf_le64(b, r->hdr_off);
    }
    uint32_t fb_pad = r->extra_len - 4 - r->cd_extra_len; /* cd_extra_len = zip64 field size */
    wk_buf_putc(b, 'F');
    wk_buf_putc(b, 'B');
    wk_buf_le16(b, (uint16_t)fb_pad);
    for (uint32_t i = 0; i < fb_pad; i++) wk_buf_putc(b, 'Z');
    if (wk_buf_check(b, err) != 0) {
        w->state = ST_FAILED;
        return -1;
    }
    return emit(w, b->data, b->len, err);
}

static int emit_descriptor(wk_pthw *w, rec *r, wk_err *err)
{
    uint8_t d[24];
    if (r->desc_len == 0) return 0;
    put32(d, SIG_DESCRIPTOR);
    put32(d + 4, r->crc);
    if (r->desc_len == 24) {
        put64(d + 8, r->size);
        put64(d + 16, r->size);
    } else {
        put32(d + 8, (uint32_t)r->size);
        put32(d + 12, (uint32_t)r->size);
    }
    sid_observe(w, d, r->desc_len);
    return emit(w, d, r->desc_len, err);
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, uint64_t n)
{
    while (n) {
        uInt c = n > CRC_CHUNK ? CRC_CHUNK : (uInt)n;
        crc = (uint32_t)crc32(crc, p, c);
        p += c;
        n -= c;
    }
    return crc;
}

/* A record whose content is in memory: header, data, descriptor. */
static int emit_fixed(wk_pthw *w, rec *r, const void *data, wk_err *err)
{
    WK_TRY(emit_local_header(w, r, err));
    r->crc = crc_update(0, data, r->size);
    sid_observe(w, data, r->size);
    WK_TRY(emit(w, data, (size_t)r->size, err));
    WK_TRY(emit_descriptor(w, r, err));
    w->next_rec++;
    return 0;
}

int wk_pthw_begin(wk_pthw *w, wk_sink *sink, wk_err *err)
{
    if (w->state != ST_PLANNED) return fail_state(w, err, "wk_pthw_begin");
    w->sink = sink;
    w->pos = 0;
    w->next_rec = 0;
    w->sid_crc = 0;
    w->sid[0] = 0;
    WK_TRY(emit_fixed(w, &w->recs[0], w->pickle.data, err));
    if (w->flags & WK_PTH_F_BYTEORDER) WK_TRY(emit_fixed(w, &w->recs[1], k_byteorder, err));
    w->state = ST_BETWEEN;
    return 0;
}

int wk_pthw_storage_begin(wk_pthw *w, size_t s, wk_err *err)
{
    if (w->state != ST_BETWEEN) return fail_state(w, err, "wk_pthw_storage_begin");
    rec *r = &w->recs[w->next_rec];
    if (r->kind != REC_DATA || s >= w->n_st || r->storage != s) {
        w->state = ST_FAILED;
        if (r->kind != REC_DATA)
            return wk_err_set(err, WK_E_USAGE, "storage %zu: all storages were already written", s);
        return wk_err_set(err, WK_E_USAGE,
                          "storage %zu given, but the next record is %s (storage %zu): write "
                          "storages in wk_pthw_record_storage() order", s, r->name, r->storage);
    }
    WK_TRY(emit_local_header(w, r, err));
    w->cur = r;
    w->cur_written = 0;
    w->cur_crc = 0;
    w->state = ST_IN_DATA;
    return 0;
}

/* Bookkeeping for n data bytes at p (p == NULL: zeros). */
static int take_data(wk_pthw *w, const uint8_t *p, uint64_t n, wk_err *err)
{
    rec *r = w->cur;
    if (n > r->size - w->cur_written) {
        w->state = ST_FAILED;
        return wk_err_set(err, WK_E_USAGE, "%s: more than its %llu bytes were written", r->name,
                          (unsigned long long)r->size);
    }
    for (uint64_t i = 0; w->cur_written + i < 8 && i < n; i++)
        w->head[w->cur_written + i] = p ? p[i] : 0;
    w->cur_written += n;
    return 0;
}

int wk_pthw_write(wk_pthw *w, const void *p, size_t n, wk_err *err)
{
    if (w->state != ST_IN_DATA) return fail_state(w, err, "wk_pthw_write");
    WK_TRY(take_data(w, p, n, err));
    w->cur_crc = crc_update(w->cur_crc, p, n);
    return emit(w, p, n, err);
}

int wk_pthw_write_zeros(wk_pthw *w, uint64_t n, wk_err *err)
{
    static const uint8_t zeros[1 << 16]; /* read-only */
    if (w->state != ST_IN_DATA) return fail_state(w, err, "wk_pthw_write_zeros");
    WK_TRY(take_data(w, NULL, n, err));
    while (n) {
        size_t c = n > sizeof zeros ? sizeof zeros : (size_t)n;
        w->cur_crc = (uint32_t)crc32(w->cur_crc, zeros, (uInt)c);
        WK_TRY(emit(w, zeros, c, err));
        n -= c;
    }
    return 0;
}

int wk_pthw_storage_end(wk_pthw *w, wk_err *err)
{
    if (w->state != ST_IN_DATA) return fail_state(w, err, "wk_pthw_storage_end");
    rec *r = w->cur;
    if (w->cur_written != r->size) {
        w->state = ST_FAILED;
        return wk_err_set(err, WK_E_MISMATCH, "%s: %llu bytes written, the storage has %llu",
                          r->name, (unsigned long long)w->cur_written, (unsigned long long)r->size);
    }
    r->crc = w->cur_crc;
    sid_observe(w, w->head, r->size < 8 ? r->size : 8);
    WK_TRY(emit_descriptor(w, r, err));
    w->cur = NULL;
    w->next_rec++;
    w->state = ST_BETWEEN;
    return 0;
}

static void build_cd(wk_pthw *w, wk_buf *b)
{
    for (size_t i = 0; i < w->n_recs; i++) {
        const rec *r = &w->recs[i];
        uint8_t h[CENTRAL_HEADER_SIZE] = {0};
        put32(h, SIG_CENTRAL);
        put16(h + 8, REC_FLAGS(r)); /* made-by 0, needed 0, method 0, time/date 0 */
        put32(h + 16, r->crc);
        put32(h + 20, min32(r->size));
        put32(h + 24, min32(r->size));
        put16(h + 28, (uint32_t)r->name_len);
        put16(h + 30, r->cd_extra_len); /* comment, disk, attributes: 0 */
        put32(h + 42, min32(r->hdr_off));
        wk_buf_put(b, h, sizeof h);
        wk_buf_put(b, r->name, r->name_len);
        if (r->cd_extra_len) {
            wk_buf_le16(b, 1);
            wk_buf_le16(b, (uint16_t)(r->cd_extra_len - 4));
            if (r->z_size) {
                wk_buf_le64(b, r->size);
                wk_buf_le64(b, r->size);
            }
            if (r->z_off) wk_buf_le64(b, r->hdr_off);
        }
    }
}

static void build_end(const wk_pthw *w, wk_buf *b)
{
    uint64_t n = w->n_recs, z64 = w->cd_off + w->cd_size;
    wk_buf_le32(b, SIG_ZIP64_EOCD);
    wk_buf_le64(b, ZIP64_EOCD_SIZE - 12);
    wk_buf_le16(b, 0x031E); /* made by: Unix, 3.0 */
    wk_buf_le16(b, 0x002D); /* needed: 4.5 */
    wk_buf_le32(b, 0);
    wk_buf_le32(b, 0);
    wk_buf_le64(b, n);
    wk_buf_le64(b, n);
    wk_buf_le64(b, w->cd_size);
    wk_buf_le64(b, w->cd_off);
    wk_buf_le32(b, SIG_ZIP64_LOCATOR);
    wk_buf_le32(b, 0);
    wk_buf_le64(b, z64);
    wk_buf_le32(b, 1);
    wk_buf_le32(b, SIG_EOCD);
    wk_buf_le16(b, 0);
    wk_buf_le16(b, 0);
    wk_buf_le16(b, (uint16_t)(n > 0xFFFF ? 0xFFFF : n));
    wk_buf_le16(b, (uint16_t)(n > 0xFFFF ? 0xFFFF : n));
    wk_buf_le32(b, min32(w->cd_size));
    wk_buf_le32(b, min32(w->cd_off));
    wk_buf_le16(b, 0);
}

int wk_pthw_finish(wk_pthw *w, wk_err *err)
{
    if (w->state == ST_BETWEEN && w->recs[w->next_rec].kind == REC_DATA) {
        w->state = ST_FAILED;
        return wk_err_set(err, WK_E_USAGE, "wk_pthw_finish: %s was not written yet",
                          w->recs[w->next_rec].name);
    }
    if (w->state != ST_BETWEEN) return fail_state(w, err, "wk_pthw_finish");
    WK_TRY(emit_fixed(w, &w->recs[w->next_rec], k_version, err));
    if (w->flags & WK_PTH_F_SERIAL_ID) {
        if (make_serialization_id(w, w->next_rec, err) != 0) {
            w->state = ST_FAILED;
            return -1;
        }
        WK_TRY(emit_fixed(w, &w->recs[w->next_rec], w->sid, err));
    }
    wk_buf *b = &w->scratch;
    b->len = 0;
    build_cd(w, b);
    build_end(w, b);
    if (wk_buf_check(b, err) != 0) {
        w->state = ST_FAILED;
        return -1;
    }
    WK_TRY(emit(w, b->data, b->len, err));
    if (w->pos != w->total) {
        w->state = ST_FAILED;
        return wk_err_set(err, WK_E_INTERNAL, "torch zip: wrote %llu bytes, planned %llu",
                          (unsigned long long)w->pos, (unsigned long long)w->total);
    }
    w->state = ST_DONE;
    return 0;
}

/* ---- one call ------------------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *ptr;
    size_t t; /* tensor index */
} ptr_ref;

static int cmp_ptr_ref(const void *a, const void *b)
{
    const ptr_ref *x = a, *y = b;
    if (x->ptr != y->ptr) return (uintptr_t)x->ptr < (uintptr_t)y->ptr ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* Storages from tensor infos: equal non-NULL `storage` pointers share one.
 * Fills st[0..*n_st) in first-use order, tt[0..n) and data[s]. */
static int describe_infos(const wk_tensor_info *ti, size_t n, wk_pthw_storage *st, size_t *n_st,
                          wk_pthw_tensor *tt, const uint8_t **data, wk_err *err)
{
    ptr_ref *pr = malloc((n ? n : 1) * sizeof *pr);
    size_t *owner = malloc((n ? n : 1) * sizeof *owner); /* first tensor of the same storage */
    size_t *snum = malloc((n ? n : 1) * sizeof *snum);   /* storage number of each tensor */
    int rc = -1;
    WK_FAIL_GOTO(!pr || !owner || !snum, out, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) pr[i] = (ptr_ref){ti[i].storage, i};
    qsort(pr, n, sizeof *pr, cmp_ptr_ref); /* groups by pointer, lowest index first */
    for (size_t i = 0; i < n; i++)
        owner[pr[i].t] = (i > 0 && pr[i].ptr && pr[i].ptr == pr[i - 1].ptr) ? owner[pr[i - 1].t] : pr[i].t;
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        const wk_tensor_info *t = &ti[i], *o = &ti[owner[i]];
        const char *name = t->name ? t->name : "?";
        WK_FAIL_GOTO(!t->storage && t->storage_nbytes, out, err, WK_E_USAGE,
                     "tensor '%s': no storage data", name);
        if (owner[i] == i) {
            st[ns] = (wk_pthw_storage){t->dtype, t->storage_nbytes};
            data[ns] = t->storage;
            snum[i] = ns++;
        } else {
            WK_FAIL_GOTO(o->dtype != t->dtype || o->storage_nbytes != t->storage_nbytes, out, err,
                         WK_E_USAGE, "tensors '%s' and '%s' share a storage with different dtypes "
                         "or sizes", o->name ? o->name : "?", name);
            snum[i] = snum[owner[i]];
        }
        wk_pthw_tensor *d = &tt[i];
        memset(d, 0, sizeof *d);
        d->name = t->name;
        d->storage = snum[i];
        d->storage_offset = t->storage_offset;
        d->ndim = t->ndim;
        for (int k = 0; k < t->ndim && k < WK_MAX_DIMS; k++) {
            d->shape[k] = t->shape[k];
            d->stride[k] = t->stride[k];
        }
    }
    *n_st = ns;
    rc = 0;
out:
    free(pr);
    free(owner);
    free(snum);
    return rc;
}

int wk_pthw_save_sink(wk_sink *sink, const char *file_name, const wk_tensor_info *tensors,
                      size_t n, wk_pth_profile profile, wk_err *err)
{
    size_t m = n ? n : 1, ns = 0;
    wk_pthw_storage *st = malloc(m * sizeof *st);
    wk_pthw_tensor *tt = malloc(m * sizeof *tt);
    const uint8_t **data = malloc(m * sizeof *data);
    wk_pthw *w = NULL;
    int rc = -1;
    WK_FAIL_GOTO(!st || !tt || !data, out, err, WK_E_NOMEM, "out of memory");
    WK_TRY_GOTO(describe_infos(tensors, n, st, &ns, tt, data, err), out);
    w = wk_pthw_plan(file_name, st, ns, tt, n, profile, err);
    if (!w) goto out;
    WK_TRY_GOTO(wk_pthw_begin(w, sink, err), out);
    for (size_t k = 0; k < ns; k++) {
        size_t s = wk_pthw_record_storage(w, k);
        WK_TRY_GOTO(wk_pthw_storage_begin(w, s, err), out);
        /* wk_pthw_write takes size_t; storages larger than SIZE_MAX cannot be in memory */
        if (st[s].nbytes) WK_TRY_GOTO(wk_pthw_write(w, data[s], (size_t)st[s].nbytes, err), out);
        WK_TRY_GOTO(wk_pthw_storage_end(w, err), out);
    }
    WK_TRY_GOTO(wk_pthw_finish(w, err), out);
    rc = 0;
out:
    wk_pthw_free(w);
    free(st);
    free(tt);
    free(data);
    return rc;
}

int wk_pthw_save_file(const char *path, const wk_tensor_info *tensors, size_t n,
                      wk_pth_profile profile, wk_err *err)
{
    wk_out *o = wk_out_open(path, NULL, err);
    if (!o) return -1;
    wk_sink s;
    if (wk_pthw_save_sink(wk_sink_out(&s, o), path, tensors, n, profile, err) != 0) {
        wk_out_abort(o);
        return wk_err_prefix(err, "%s", path);
    }
    return wk_out_commit(o, err);
}
