/* test_pth_read.c — the PyTorch zip reader against
 *  - the golden files of tests/fixtures/torch/ (real torch.save 1.13 output;
 *    manifest.json written by make_torch_golden.py with zipfile + pickle):
 *    every tensor field, storage placement and data byte;
 *  - the hostile files of tests/fixtures/hostile/ (make_hostile_pickles.py;
 *    expected.tsv gives each one's error code and message);
 *  - zip-level damage applied here in C (truncation at every byte, byte
 *    flips, method/flag/offset patches) and synthetic tensor views for the
 *    extent checks and strided copies.
 * $WK_TORCH_FIXTURES overrides the golden directory. */
#include "wk_test.h"

#include <stdlib.h>

#include "wk_hash.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_pickle.h"
#include "wk_pth.h"

static const char *golden_dir(void)
{
    static char dir[4096];
    const char *env = getenv("WK_TORCH_FIXTURES");
    snprintf(dir, sizeof dir, "%s", env ? env : wk_test_src("tests/fixtures/torch"));
    return dir;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = wk_path_join(dir, name);
    if (!p) abort();
    return p;
}

static wk_json *load_manifest(wk_map *m)
{
    wk_err err;
    char *mp = path_in(golden_dir(), "manifest.json");
    int rc = wk_map_open(m, mp, &err);
    free(mp);
    CHECK_MSG(rc == 0, "golden manifest missing (run tests/fixtures/gen/make_torch_golden.py): %s", err.msg);
    if (rc) return NULL;
    wk_json *j = wk_json_parse(m->data, m->size, NULL, &err);
    CHECK_MSG(j != NULL, "manifest: %s", err.msg);
    return j;
}

static const char *jstr(const wk_json *o, const char *key)
{
    const char *s = NULL;
    wk_err err;
    if (wk_json_get_string(o, key, &s, NULL, &err)) wk_test_fail(__FILE__, __LINE__, "%s", err.msg);
    return s ? s : "";
}

static int64_t jint(const wk_json *o, const char *key)
{
    int64_t v = -1;
    wk_err err;
    if (wk_json_get_int(o, key, &v, &err)) wk_test_fail(__FILE__, __LINE__, "%s", err.msg);
    return v;
}

static const wk_json *find_by(const wk_json *arr, const char *key, const char *val)
{
    for (size_t i = 0; i < wk_json_len(arr); i++) {
        const wk_json *e = wk_json_at(arr, i);
        const wk_json *v = wk_json_get(e, key);
        const char *s;
        size_t n;
        wk_err err;
        if (v && !wk_json_as_string(v, &s, &n, &err) && strlen(val) == n && !memcmp(s, val, n)) return e;
    }
    return NULL;
}

/* Elements of t gathered from the raw file bytes using the manifest's view
 * (independent of the reader), compared with wk_pth_copy_out's output. */
static void check_data(const wk_tensor_info *t, const uint8_t *file, uint64_t data_offset,
                       const wk_json *view, const char *fname)
{
    size_t es = wk_dtype_get(t->dtype)->size;
    const wk_json *shape = wk_json_get(view, "shape"), *stride = wk_json_get(view, "stride");
    int nd = (int)wk_json_len(shape);
    int64_t sh[WK_MAX_DIMS], st[WK_MAX_DIMS], numel = 1;
    for (int d = 0; d < nd && d < WK_MAX_DIMS; d++) {
        wk_json_as_int(wk_json_at(shape, (size_t)d), &sh[d], NULL);
        wk_json_as_int(wk_json_at(stride, (size_t)d), &st[d], NULL);
        numel *= sh[d];
    }
    int64_t off = jint(view, "offset");
    uint8_t *want = malloc((size_t)numel * es + 1), *got = malloc((size_t)numel * es + 1);
    int64_t idx[WK_MAX_DIMS] = {0};
    for (int64_t k = 0; k < numel; k++) {
        int64_t e = off;
        for (int d = 0; d < nd; d++) e += idx[d] * st[d];
        memcpy(want + (size_t)k * es, file + data_offset + (uint64_t)e * es, es);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < sh[d]) break;
            idx[d] = 0;
        }
    }
    wk_err err;
    CHECK_OK(wk_pth_copy_out(t, got, (size_t)numel * es, &err), &err);
    CHECK_MSG(numel == 0 || memcmp(want, got, (size_t)numel * es) == 0, "%s: %s: data differs", fname, t->name);
    uint64_t vn = 0;
    const uint8_t *v = wk_pth_tensor_view(t, &vn);
    if (numel == 0 || wk_tensor_is_contiguous(t)) {
        CHECK_MSG(v == t->storage + (uint64_t)off * es && vn == (uint64_t)numel * es, "%s: %s: view", fname,
                  t->name);
    } else {
        CHECK_MSG(v == NULL, "%s: %s: view of a non-contiguous tensor", fname, t->name);
    }
    /* a buffer one byte short is refused */
    if (numel > 0) {
        CHECK(wk_pth_copy_out(t, got, (size_t)numel * es - 1, &err) == -1 && err.code == WK_E_USAGE);
    }
    free(want);
    free(got);
}

static void check_golden_file(const wk_json *f, wk_pth *p, const uint8_t *raw, size_t raw_len)
{
    const char *fname = jstr(f, "file");
    CHECK_EQ_U64(raw_len, jint(f, "size"));
    CHECK_EQ_STR(wk_pth_prefix(p), jstr(f, "archive"));
    CHECK_EQ_U64(wk_pth_skipped(p), 0);
    CHECK_EQ_U64(wk_pth_protocol(p), 2);
    const wk_json *tensors = wk_json_get(f, "tensors"), *storages = wk_json_get(f, "storages");
    CHECK_MSG(wk_pth_count(p) == wk_json_len(tensors), "%s: %zu tensors, manifest %zu", fname,
              wk_pth_count(p), wk_json_len(tensors));
    uint64_t sbytes = 0;
    for (size_t i = 0; i < wk_json_len(storages); i++) sbytes += (uint64_t)jint(wk_json_at(storages, i), "nbytes");
    CHECK_EQ_U64(wk_pth_storage_count(p), wk_json_len(storages));
    CHECK_EQ_U64(wk_pth_storage_bytes(p), sbytes);
    for (size_t i = 0; i < wk_pth_count(p) && i < wk_json_len(tensors); i++) {
        const wk_tensor_info *t = wk_pth_tensor(p, i);
        const wk_json *e = wk_json_at(tensors, i), *view = e;
        const char *mname;
        size_t mlen;
        wk_json_get_string(e, "name", &mname, &mlen, NULL);
        CHECK_MSG(strlen(t->name) == mlen && !memcmp(t->name, mname, mlen), "%s: tensor %zu name '%s'",
                  fname, i, t->name);
        if (wk_json_get(e, "same_as")) view = find_by(tensors, "name", jstr(e, "same_as"));
        if (!view) { CHECK(view != NULL); continue; }
        const char *key = jstr(view, "storage");
        const wk_json *s = find_by(storages, "key", key);
        if (!s) { CHECK(s != NULL); continue; }
        CHECK_EQ_STR(t->storage_key, key);
        CHECK_EQ_STR(wk_dtype_get(t->dtype)->torch_name, jstr(s, "dtype"));
        CHECK_EQ_U64(t->storage_nbytes, jint(s, "nbytes"));
        CHECK_EQ_U64(t->file_offset, jint(s, "data_offset"));
        CHECK(t->storage == raw + jint(s, "data_offset"));
        CHECK_EQ_U64(t->storage_offset, jint(view, "offset"));
        const wk_json *shape = wk_json_get(view, "shape"), *stride = wk_json_get(view, "stride");
        CHECK_EQ_U64(t->ndim, wk_json_len(shape));
        for (int d = 0; d < t->ndim && (size_t)d < wk_json_len(shape); d++) {
            int64_t a = -1, b = -1;
            wk_json_as_int(wk_json_at(shape, (size_t)d), &a, NULL);
            wk_json_as_int(wk_json_at(stride, (size_t)d), &b, NULL);
            CHECK_MSG(t->shape[d] == a && t->stride[d] == b, "%s: %s: dim %d", fname, t->name, d);
        }
        check_data(t, raw, (uint64_t)jint(s, "data_offset"), view, fname);
    }
}

static void test_golden_files(void)
{
    wk_map m = {0};
    wk_json *man = load_manifest(&m);
    const wk_json *files = wk_json_get(man, "files");
    CHECK(wk_json_len(files) >= 10);
    for (size_t i = 0; i < wk_json_len(files); i++) {
        const wk_json *f = wk_json_at(files, i);
        char *path = path_in(golden_dir(), jstr(f, "file"));
        wk_map raw = {0};
        wk_err err;
        CHECK_OK(wk_map_open(&raw, path, &err), &err);
        /* the file is the one the manifest describes */
        uint8_t dg[WK_HASH_MAX_DIGEST];
        char hex[65];
        wk_hash_oneshot(WK_HASH_SHA256, raw.data, raw.size, dg, &err);
        wk_hex(dg, 32, hex);
        CHECK_EQ_STR(hex, jstr(f, "sha256"));
        /* from the path (mmap) and from a caller buffer */
        wk_pth *p = wk_pth_open(path, 0, &err);
        CHECK_MSG(p != NULL, "%s", err.msg);
        if (p) {
            const uint8_t *pk;
            size_t pklen;
            pk = wk_pth_pickle(p, &pklen, NULL);
            CHECK(pk != NULL && pklen > 2 && pk[0] == 0x80);
            wk_pth_close(p);
        }
        p = wk_pth_open_buffer(raw.data, raw.size, path, 0, &err);
        CHECK_MSG(p != NULL, "%s", err.msg);
        if (p) check_golden_file(f, p, raw.data, raw.size);
        wk_pth_close(p);
        wk_map_close(&raw);
        free(path);
    }
    wk_json_free(man);
    wk_map_close(&m);
}

static void test_lookup_and_totals(void)
{
    wk_err err;
    char *path = path_in(golden_dir(), "shared.pt");
    wk_pth *p = wk_pth_open(path, 0, &err);
    CHECK_MSG(p != NULL, "%s", err.msg);
    if (p) {
        long a = wk_pth_find(p, "same_obj_a"), b = wk_pth_find(p, "same_obj_b");
        CHECK(a >= 0 && b == a + 1);
        CHECK(wk_pth_find(p, "nope") == -1);
        const wk_tensor_info *z = wk_pth_tensor(p, (size_t)wk_pth_find(p, "tail_elem"));
        CHECK(z && z->ndim == 0 && z->storage_offset == 19);
        uint64_t n = 0;
        CHECK(z && wk_pth_tensor_view(z, &n) == z->storage + 19 * 4 && n == 4);
        CHECK(wk_pth_tensor(p, wk_pth_count(p)) == NULL);
        CHECK_EQ_STR(wk_pth_path(p), path);
    }
    wk_pth_close(p);
    free(path);
}

/* ---- hostile files -------------------------------------------------------------- */

static wk_code code_by_name(const char *s)
{
    for (int c = WK_OK; c <= WK_E_INTERNAL; c++)
        if (!strcmp(wk_err_code_name((wk_code)c), s)) return (wk_code)c;
    return WK_OK;
}

static void test_hostile_fixtures(void)
{
    const char *dir = wk_test_src("tests/fixtures/hostile");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    char *tsv = path_in(dirbuf, "expected.tsv");
    FILE *fp = fopen(tsv, "r");
    CHECK_MSG(fp != NULL, "missing %s", tsv);
    free(tsv);
    if (!fp) return;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        line[strcspn(line, "\n")] = '\0';
        char *name = line, *code = strchr(name, '\t'), *want;
        if (!code || !(want = strchr(code + 1, '\t'))) {
            CHECK_MSG(0, "bad expected.tsv line: %s", line);
            continue;
        }
        *code++ = '\0';
        *want++ = '\0';
        char *path = path_in(dirbuf, name);
        wk_err err;
        wk_err_clear(&err);
        wk_pth *p = wk_pth_open(path, 0, &err);
        CHECK_MSG(p == NULL, "%s: opened", name);
        wk_pth_close(p);
        CHECK_MSG(err.code == code_by_name(code), "%s: code %s, expected %s (%s)", name,
                  wk_err_code_name(err.code), code, err.msg);
        CHECK_MSG(strstr(err.msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", name, err.msg, want);
        CHECK_MSG(strncmp(err.msg, path, strlen(path)) == 0, "%s: message does not start with the path: %s",
                  name, err.msg);
        /* pickle-level refusals: the container itself is fine and can be listed */
        if (!strncmp(name, "rce_", 4)) {
            wk_pth *c = wk_pth_open(path, WK_PTH_CONTAINER_ONLY, &err);
            CHECK_MSG(c != NULL, "%s: container: %s", name, err.msg);
            if (c) {
                size_t len;
                const uint8_t *pk = wk_pth_pickle(c, &len, NULL);
                wk_buf b = {0};
                CHECK_OK(wk_pickle_disasm(pk, len, "data.pkl", &b, &err), &err);
                wk_buf_putc(&b, 0);
                CHECK_MSG(strstr((char *)b.data, "<-- REFUSED"), "%s: listing lacks REFUSED", name);
                wk_buf_free(&b);
                CHECK_EQ_U64(wk_pth_count(c), 0);
            }
            wk_pth_close(c);
        }
        free(path);
        n++;
    }
    fclose(fp);
    CHECK_MSG(n >= 30, "only %d hostile files listed", n);
}

/* ---- zip damage made here ------------------------------------------------------------ */

static uint8_t *read_golden(const char *name, size_t *len)
{
    wk_map m = {0};
    wk_err err;
    char *path = path_in(golden_dir(), name);
    int rc = wk_map_open(&m, path, &err);
    free(path);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return NULL;
    uint8_t *copy = malloc(m.size);
    memcpy(copy, m.data, m.size);
    *len = m.size;
    wk_map_close(&m);
    return copy;
}

/* Open an exact-size heap copy (ASan sees any overread); returns 0 if it opened. */
static int try_open(const uint8_t *data, size_t len, wk_err *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    wk_pth *p = wk_pth_open_buffer(copy, len, "mem.pt", 0, err);
    int ok = p != NULL;
    for (size_t i = 0; p && i < wk_pth_count(p); i++) {
        const wk_tensor_info *t = wk_pth_tensor(p, i);
        uint64_t n;
        if (!wk_pth_tensor_nbytes(t, &n, NULL) && n < (1u << 20)) {
            uint8_t *buf = malloc(n + 1);
            CHECK_OK(wk_pth_copy_out(t, buf, n, err), err);
            free(buf);
        }
    }
    wk_pth_close(p);
    free(copy);
    return ok ? 0 : -1;
}

static void test_truncated_everywhere(void)
{
    size_t len;
    uint8_t *d = read_golden("noext", &len);
    if (!d) return;
    wk_err err;
    CHECK_OK(try_open(d, len, &err), &err);
    for (size_t n = 0; n < len; n++) {
        wk_err_clear(&err);
        CHECK_MSG(try_open(d, n, &err) == -1, "prefix of %zu bytes opened", n);
        CHECK_MSG(err.code == WK_E_FORMAT || err.code == WK_E_UNSUPPORTED, "prefix %zu: %s: %s", n,
                  wk_err_code_name(err.code), err.msg);
    }
    free(d);
}

static void test_byte_flips(void)
{
    /* every byte of a small checkpoint flipped in turn: an error or a valid
     * open (e.g. a flipped tensor data byte), never a crash or a leak */
    size_t len;
    uint8_t *d = read_golden("noext", &len);
    if (!d) return;
    size_t opened = 0;
    for (size_t i = 0; i < len; i++) {
        for (int x = 1; x < 256; x <<= 2) {
            d[i] ^= (uint8_t)x;
            wk_err err;
            if (try_open(d, len, &err) == 0) opened++;
            d[i] ^= (uint8_t)x;
        }
    }
    CHECK(opened > 0 && opened < len * 4);
    free(d);
}

static size_t find_sig(const uint8_t *d, size_t len, const char *sig, size_t from)
{
    for (size_t i = from; i + 4 <= len; i++)
        if (!memcmp(d + i, sig, 4)) return i;
    return len;
}

static void expect_open_fail(const uint8_t *d, size_t len, wk_code code, const char *want, const char *what)
{
    wk_err err;
    wk_err_clear(&err);
    CHECK_MSG(try_open(d, len, &err) == -1, "%s: opened", what);
    CHECK_MSG(err.code == code && strstr(err.msg, want), "%s: got %s: %s", what, wk_err_code_name(err.code),
              err.msg);
}

static void test_zip_patches(void)
{
    size_t len;
    uint8_t *d = read_golden("noext", &len);
    if (!d) return;
    size_t cd = find_sig(d, len, "PK\1\2", 0);
    CHECK(cd < len);
    /* compression method 8 in the central directory and the local header */
    d[cd + 10] = 8;
    d[8] = 8;
    expect_open_fail(d, len, WK_E_UNSUPPORTED, "record 'noext/data.pkl' is compressed (method 8)", "deflate");
    d[cd + 10] = 0;
    d[8] = 0;
    /* method differs between the headers */
    d[8] = 8;
    expect_open_fail(d, len, WK_E_FORMAT, "local header method differs", "method mismatch");
    d[8] = 0;
    /* encrypted flag */
    d[cd + 8] |= 1;
    expect_open_fail(d, len, WK_E_UNSUPPORTED, "is encrypted", "encrypted");
    d[cd + 8] &= (uint8_t)~1;
    /* local header name differs from the central directory */
    d[30] ^= 0x20;
    expect_open_fail(d, len, WK_E_FORMAT, "local header name differs", "name mismatch");
    d[30] ^= 0x20;
    /* name "noext/data.pkl" -> "noext/../pkl" in both places */
    uint8_t *q = malloc(len);
    memcpy(q, d, len);
    memcpy(q + 30 + 6, "../", 3);
    memcpy(q + cd + 46 + 6, "../", 3);
    expect_open_fail(q, len, WK_E_UNSAFE, "'..' component", "dotdot");
    memcpy(q, d, len);
    q[30] = q[cd + 46] = '/';
    expect_open_fail(q, len, WK_E_UNSAFE, "absolute record name", "absolute");
    memcpy(q, d, len);
    q[30 + 5] = q[cd + 46 + 5] = '\\';
    expect_open_fail(q, len, WK_E_UNSAFE, "backslash", "backslash");
    /* central directory size mismatch in the end record */
    memcpy(q, d, len);
    size_t eocd = find_sig(q, len, "PK\5\6", 0);
    q[eocd + 12] ^= 1;
    expect_open_fail(q, len, WK_E_FORMAT, "end record and zip64 end record disagree", "eocd");
    /* entry count larger than fits */
    memcpy(q, d, len);
    memset(q + eocd + 8, 0xff, 4); /* 32-bit counts saturated: the zip64 ones count */
    size_t loc = find_sig(q, len, "PK\6\7", 0);
    if (loc < len) {
        size_t e64 = (size_t)wk_le64(q + loc + 8);
        q[e64 + 32] = 0xff; /* zip64 total entries */
        q[e64 + 24] = 0xff;
        expect_open_fail(q, len, WK_E_FORMAT, "entries cannot fit", "entry count");
    }
    /* data size past the central directory */
    memcpy(q, d, len);
    q[cd + 24 + 2] = 0x7f; /* usize high bytes */
    q[cd + 20 + 2] = 0x7f; /* csize high bytes */
    expect_open_fail(q, len, WK_E_FORMAT, "run past the central directory", "size");
    free(q);
    free(d);
}

static void test_unzip_rejects(void)
{
    wk_err err;
    /* NULL/empty buffers and a plain text file */
    wk_pth *p = wk_pth_open_buffer(NULL, 0, "nothing", 0, &err);
    CHECK(p == NULL && err.code == WK_E_FORMAT && strstr(err.msg, "nothing: empty file"));
    const uint8_t pk[] = "\x80\x02}q\x00.";
    p = wk_pth_open_buffer(pk, sizeof pk - 1, "raw.pkl", 0, &err);
    CHECK(p == NULL && err.code == WK_E_UNSUPPORTED && strstr(err.msg, "legacy torch.save format"));
    p = wk_pth_open("/nonexistent/x.pth", 0, &err);
    CHECK(p == NULL && err.code == WK_E_IO && strstr(err.msg, "/nonexistent/x.pth"));
}

/* ---- synthetic views: extent checks and strided copies --------------------------------- */

static wk_tensor_info view(const void *storage, uint64_t nbytes, wk_dtype dt, int64_t off, int nd,
                           const int64_t *shape, const int64_t *stride)
{
    wk_tensor_info t;
    memset(&t, 0, sizeof t);
    t.name = "t";
    t.dtype = dt;
    t.ndim = nd;
    for (int d = 0; d < nd; d++) {
        t.shape[d] = shape[d];
        t.stride[d] = stride[d];
    }
    t.storage_offset = off;
    t.storage_nbytes = nbytes;
    t.storage = storage;
    return t;
}

static void test_extent_and_copy(void)
{
    int32_t s[24];
    for (int i = 0; i < 24; i++) s[i] = i;
    wk_err err;
    int32_t out[64];
    /* transpose of a 4x6 view at offset 0: stride (1, 6) */
    wk_tensor_info t = view(s, sizeof s, WK_DT_I32, 0, 2, (int64_t[]){6, 4}, (int64_t[]){1, 6});
    CHECK_OK(wk_pth_copy_out(&t, out, sizeof out, &err), &err);
    CHECK(out[0] == 0 && out[1] == 6 && out[3] == 18 && out[4] == 1 && out[23] == 23);
    CHECK(wk_pth_tensor_view(&t, NULL) == NULL);
    /* 3-d with offset and inner stride 1 */
    t = view(s, sizeof s, WK_DT_I32, 1, 3, (int64_t[]){2, 2, 3}, (int64_t[]){12, 4, 1});
    CHECK_OK(wk_pth_copy_out(&t, out, sizeof out, &err), &err);
    CHECK(out[0] == 1 && out[2] == 3 && out[3] == 5 && out[6] == 13 && out[11] == 19);
    /* broadcast: stride 0 */
    t = view(s, sizeof s, WK_DT_I32, 23, 2, (int64_t[]){3, 5}, (int64_t[]){0, 0});
    CHECK_OK(wk_pth_copy_out(&t, out, sizeof out, &err), &err);
    CHECK(out[0] == 23 && out[14] == 23);
    /* 0-d */
    t = view(s, sizeof s, WK_DT_I32, 23, 0, NULL, NULL);
    CHECK_OK(wk_pth_copy_out(&t, out, 4, &err), &err);
    CHECK(out[0] == 23);
    uint64_t n;
    CHECK(wk_pth_tensor_view(&t, &n) == (const uint8_t *)&s[23] && n == 4);
    /* empty: offset may equal the storage size */
    t = view(s, sizeof s, WK_DT_I32, 24, 2, (int64_t[]){0, 5}, (int64_t[]){5, 1});
    CHECK_OK(wk_pth_copy_out(&t, out, 0, &err), &err);
    t.storage_offset = 25;
    CHECK(wk_pth_check_extent(&t, &err) == -1 && err.code == WK_E_FORMAT);
    /* last element exactly at the end / one past it */
    t = view(s, sizeof s, WK_DT_I32, 0, 2, (int64_t[]){4, 6}, (int64_t[]){6, 1});
    CHECK_OK(wk_pth_check_extent(&t, &err), &err);
    t.storage_offset = 1;
    CHECK(wk_pth_check_extent(&t, &err) == -1 && strstr(err.msg, "element 24 is past the end"));
    /* negative stride, negative offset, negative dimension */
    t = view(s, sizeof s, WK_DT_I32, 5, 1, (int64_t[]){6}, (int64_t[]){-1});
    CHECK(wk_pth_check_extent(&t, &err) == -1 && strstr(err.msg, "negative stride"));
    t = view(s, sizeof s, WK_DT_I32, -1, 1, (int64_t[]){1}, (int64_t[]){1});
    CHECK(wk_pth_check_extent(&t, &err) == -1 && strstr(err.msg, "negative storage offset"));
    t = view(s, sizeof s, WK_DT_I32, 0, 1, (int64_t[]){-2}, (int64_t[]){1});
    CHECK(wk_pth_check_extent(&t, &err) == -1 && strstr(err.msg, "negative dimension"));
    /* overflows: shape product, stride x shape, offset + extent */
    t = view(s, sizeof s, WK_DT_I32, 0, 2, (int64_t[]){INT64_C(1) << 40, INT64_C(1) << 40}, (int64_t[]){0, 0});
    CHECK(wk_pth_check_extent(&t, &err) == -1 && err.code == WK_E_LIMIT);
    t = view(s, sizeof s, WK_DT_I32, 0, 1, (int64_t[]){3}, (int64_t[]){INT64_C(1) << 62});
    CHECK(wk_pth_check_extent(&t, &err) == -1 && err.code == WK_E_LIMIT);
    t = view(s, sizeof s, WK_DT_I32, INT64_MAX - 1, 1, (int64_t[]){3}, (int64_t[]){1});
    CHECK(wk_pth_check_extent(&t, &err) == -1 && err.code == WK_E_LIMIT);
    /* byte size that does not fit size_t */
    t = view(s, sizeof s, WK_DT_F64, 0, 1, (int64_t[]){INT64_C(1) << 61}, (int64_t[]){0});
    CHECK(wk_pth_check_extent(&t, &err) == -1 && err.code == WK_E_LIMIT);
}

int main(void)
{
    WK_RUN(test_golden_files);
    WK_RUN(test_lookup_and_totals);
    WK_RUN(test_hostile_fixtures);
    WK_RUN(test_truncated_everywhere);
    WK_RUN(test_byte_flips);
    WK_RUN(test_zip_patches);
    WK_RUN(test_unzip_rejects);
    WK_RUN(test_extent_and_copy);
    return wk_test_summary();
}
