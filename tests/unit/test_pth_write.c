/* test_pth_write.c — the torch.save writer against real torch.save output.
 *
 * Every golden file of tests/fixtures/torch/ (written by torch 1.13.1, see
 * tests/fixtures/gen/make_torch_golden.py) is rebuilt from manifest.json alone
 * and written through wk_pth_write into memory; the bytes must be identical.
 * On a mismatch the first differing offset and the bytes around it are
 * printed.  Regenerate the goldens with
 *     /usr/bin/python3 tests/fixtures/gen/make_torch_golden.py
 * With WK_PEER_OUT=<dir> set, the written files are also saved there (the
 * 2.1-profile variants under <dir>/torch-2.1/, unicode.pt's dict under a
 * non-ASCII name in <dir>/nonascii/) for tests/peer/torch_load.sh.
 * With WK_PTH_ZIP64_OUT=<path> set, it only writes the > 4 GiB file of
 * tests/peer/torch_zip64.sh to <path> and exits. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "wk_buf.h"
#include "wk_io.h"
#include "wk_json.h"
#include "wk_pth_write.h"
#include "wk_sink.h"
#include "wk_test.h"

/* ---- manifest ------------------------------------------------------------------ */

static wk_json *g_manifest;

static const wk_json *manifest_files(void)
{
    if (!g_manifest) {
        wk_map m;
        wk_err err;
        if (wk_map_open(&m, wk_test_src("tests/fixtures/torch/manifest.json"), &err) != 0) {
            fprintf(stderr, "  %s\n", err.msg);
            return NULL;
        }
        g_manifest = wk_json_parse(m.data, m.size, NULL, &err);
        if (!g_manifest) fprintf(stderr, "  manifest.json: %s\n", err.msg);
        wk_map_close(&m);
    }
    return wk_json_get(g_manifest, "files");
}

static const wk_json *manifest_file(const char *name)
{
    const wk_json *files = manifest_files();
    for (size_t i = 0; i < wk_json_len(files); i++) {
        const char *f = NULL;
        wk_json_get_string(wk_json_at(files, i), "file", &f, NULL, NULL);
        if (f && strcmp(f, name) == 0) return wk_json_at(files, i);
    }
    return NULL;
}

static int dtype_by_torch_name(const char *name)
{
    for (int d = 0; d < WK_DT_COUNT; d++)
        if (strcmp(wk_dtype_get((wk_dtype)d)->torch_name, name) == 0) return d;
    return -1;
}

/* A dict rebuilt from the manifest.  Storage s of the writer is manifest
 * storage perm[s] (so keys and the caller's indices can differ). */
typedef struct {
    const char *file;
    wk_pthw_storage *st;
    uint64_t *data_off; /* per writer storage: offset of its bytes in the golden */
    size_t nst;
    wk_pthw_tensor *t;
    size_t nt;
    wk_map golden;
} dict_desc;

static void desc_free(dict_desc *d)
{
    free(d->st);
    free(d->data_off);
    free(d->t);
    wk_map_close(&d->golden);
    memset(d, 0, sizeof *d);
}

static int key_index(const wk_json *storages, const char *key)
{
    for (size_t i = 0; i < wk_json_len(storages); i++) {
        const char *k = NULL;
        wk_json_get_string(wk_json_at(storages, i), "key", &k, NULL, NULL);
        if (k && strcmp(k, key) == 0) return (int)i;
    }
    return -1;
}

static int tensor_index(const wk_json *tensors, const char *name)
{
    for (size_t i = 0; i < wk_json_len(tensors); i++) {
        const char *n = NULL;
        wk_json_get_string(wk_json_at(tensors, i), "name", &n, NULL, NULL);
        if (n && strcmp(n, name) == 0) return (int)i;
    }
    return -1;
}

static int int_list(const wk_json *obj, const char *key, int64_t *out, int *n, wk_err *err)
{
    const wk_json *a = wk_json_get(obj, key);
    WK_FAIL_IF(wk_json_type_of(a) != WK_JSON_ARRAY || wk_json_len(a) > WK_MAX_DIMS, err,
               WK_E_FORMAT, "manifest: bad \"%s\"", key);
    *n = (int)wk_json_len(a);
    for (int i = 0; i < *n; i++) WK_TRY(wk_json_as_int(wk_json_at(a, (size_t)i), &out[i], err));
    return 0;
}

/* Rebuild file f's dict.  reverse != 0 numbers the writer's storages in
 * reverse key order. */
static int desc_build(const wk_json *f, int reverse, dict_desc *d, wk_err *err)
{
    memset(d, 0, sizeof *d);
    WK_TRY(wk_json_get_string(f, "file", &d->file, NULL, err));
    const wk_json *storages = wk_json_get(f, "storages"), *tensors = wk_json_get(f, "tensors");
    d->nst = wk_json_len(storages);
    d->nt = wk_json_len(tensors);
    d->st = calloc(d->nst + 1, sizeof *d->st);
    d->data_off = calloc(d->nst + 1, sizeof *d->data_off);
    d->t = calloc(d->nt + 1, sizeof *d->t);
    WK_FAIL_IF(!d->st || !d->data_off || !d->t, err, WK_E_NOMEM, "out of memory");
    char rel[512];
    snprintf(rel, sizeof rel, "tests/fixtures/torch/%s", d->file);
    WK_TRY(wk_map_open(&d->golden, wk_test_src(rel), err));
    for (size_t m = 0; m < d->nst; m++) {
        const wk_json *s = wk_json_at(storages, m);
        size_t w = reverse ? d->nst - 1 - m : m;
        const char *dt;
        int64_t nbytes, off;
        WK_TRY(wk_json_get_string(s, "dtype", &dt, NULL, err));
        WK_TRY(wk_json_get_int(s, "nbytes", &nbytes, err));
        WK_TRY(wk_json_get_int(s, "data_offset", &off, err));
        WK_FAIL_IF(dtype_by_torch_name(dt) < 0, err, WK_E_FORMAT, "manifest: dtype %s", dt);
        WK_FAIL_IF((uint64_t)off + (uint64_t)nbytes > d->golden.size, err, WK_E_FORMAT,
                   "manifest: storage outside %s", d->file);
        d->st[w] = (wk_pthw_storage){(wk_dtype)dtype_by_torch_name(dt), (uint64_t)nbytes};
        d->data_off[w] = (uint64_t)off;
    }
    for (size_t i = 0; i < d->nt; i++) {
        const wk_json *j = wk_json_at(tensors, i);
        wk_pthw_tensor *t = &d->t[i];
        const char *same = NULL, *key;
        WK_TRY(wk_json_get_string(j, "name", &t->name, NULL, err));
        if (wk_json_get(j, "same_as")) {
            WK_TRY(wk_json_get_string(j, "same_as", &same, NULL, err));
            t->same_as = (size_t)tensor_index(tensors, same) + 1;
            continue;
        }
        WK_TRY(wk_json_get_string(j, "storage", &key, NULL, err));
        int m = key_index(storages, key);
        WK_FAIL_IF(m < 0, err, WK_E_FORMAT, "manifest: unknown storage %s", key);
        t->storage = reverse ? d->nst - 1 - (size_t)m : (size_t)m;
        WK_TRY(wk_json_get_int(j, "offset", &t->storage_offset, err));
        int ns, nd;
        WK_TRY(int_list(j, "shape", t->shape, &ns, err));
        WK_TRY(int_list(j, "stride", t->stride, &nd, err));
        WK_FAIL_IF(ns != nd, err, WK_E_FORMAT, "manifest: shape/stride lengths differ");
        t->ndim = ns;
    }
    return 0;
}

/* ---- writing ----------------------------------------------------------------- */

/* Stream storage bytes in uneven chunks (1, 7, rest) to exercise the CRC and
 * the data-head bookkeeping across calls. */
static int write_storage(wk_pthw *w, size_t s, const uint8_t *p, uint64_t n, wk_err *err)
{
    WK_TRY(wk_pthw_storage_begin(w, s, err));
    uint64_t done = 0;
    static const uint64_t chunks[] = {1, 7};
    for (size_t c = 0; done < n; c++) {
        uint64_t k = c < 2 ? chunks[c] : n - done;
        if (k > n - done) k = n - done;
        WK_TRY(wk_pthw_write(w, p + done, (size_t)k, err));
        done += k;
    }
    return wk_pthw_storage_end(w, err);
}

static int write_desc(const dict_desc *d, const char *file_name, wk_pth_profile prof, wk_buf *out,
                      wk_pthw **keep, wk_err *err)
{
    wk_pthw *w = wk_pthw_plan(file_name, d->st, d->nst, d->t, d->nt, prof, err);
    if (!w) return -1;
    int rc = wk_pthw_begin(w, wk_sink_buf(out), err);
    for (size_t k = 0; rc == 0 && k < wk_pthw_storage_count(w); k++) {
        size_t s = wk_pthw_record_storage(w, k);
        rc = write_storage(w, s, d->golden.data + d->data_off[s], d->st[s].nbytes, err);
    }
    if (rc == 0) rc = wk_pthw_finish(w, err);
    if (rc == 0 && out->len != wk_pthw_total_size(w))
        rc = wk_err_set(err, WK_E_INTERNAL, "planned %llu bytes, wrote %zu",
                        (unsigned long long)wk_pthw_total_size(w), out->len);
    if (keep && rc == 0) *keep = w;
    else wk_pthw_free(w);
    return rc;
}

static void hexdump_around(const char *label, const uint8_t *p, size_t n, size_t at)
{
    size_t from = at >= 16 ? at - 16 : 0, to = at + 16 < n ? at + 16 : n;
    fprintf(stderr, "    %-8s @%zu:", label, from);
    for (size_t i = from; i < to; i++) fprintf(stderr, i == at ? " [%02x]" : " %02x", p[i]);
    fputc('\n', stderr);
}

/* 1 if equal; else prints the first difference and returns 0. */
static int same_bytes(const char *what, const uint8_t *got, size_t gn, const uint8_t *exp, size_t en)
{
    size_t n = gn < en ? gn : en, i = 0;
    while (i < n && got[i] == exp[i]) i++;
    if (i == n && gn == en) return 1;
    fprintf(stderr, "  %s: %zu bytes written, %zu expected; first difference at byte %zu (0x%zx)\n",
            what, gn, en, i, i);
    hexdump_around("written", got, gn, i);
    hexdump_around("expected", exp, en, i);
    return 0;
}

static void peer_save(const char *sub, const char *file, const wk_buf *b)
{
    const char *dir = getenv("WK_PEER_OUT");
    if (!dir) return;
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    mkdir(path, 0777);
    snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", file);
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f && fwrite(b->data, 1, b->len, f) == b->len, "cannot write %s", path);
    if (f) fclose(f);
}

/* ---- golden files ------------------------------------------------------------- */

static void check_plan_matches_manifest(const wk_pthw *w, const dict_desc *d, const wk_json *f)
{
    const wk_json *records = wk_json_get(f, "records");
    CHECK_EQ_U64(wk_pthw_record_count(w), wk_json_len(records));
    for (size_t i = 0; i < wk_pthw_record_count(w) && i < wk_json_len(records); i++) {
        wk_pthw_record_info ri;
        const char *r = NULL;
        wk_pthw_record_get(w, i, &ri);
        wk_json_as_string(wk_json_at(records, i), &r, NULL, NULL);
        const char *slash = strchr(ri.name, '/');
        CHECK_EQ_STR(slash ? slash + 1 : ri.name, r);
        CHECK_EQ_U64(ri.data_offset % 64, 0);
    }
    for (size_t s = 0; s < d->nst; s++)
        CHECK_EQ_U64(wk_pthw_storage_data_offset(w, s), d->data_off[s]);
    const char *archive = NULL;
    wk_json_get_string(f, "archive", &archive, NULL, NULL);
    CHECK_EQ_STR(wk_pthw_archive(w), archive);
}

#define NONASCII_NAME "\xC5\xB5" "eight.\xCE\xBB" ".pt" /* "ŵeight.λ.pt" */

static void test_golden_files(void)
{
    const wk_json *files = manifest_files();
    CHECK_MSG(wk_json_len(files) >= 15, "manifest lists %zu files", wk_json_len(files));
    for (size_t i = 0; i < wk_json_len(files); i++) {
        const wk_json *f = wk_json_at(files, i);
        for (int reverse = 0; reverse < 2; reverse++) {
            dict_desc d;
            wk_err err;
            wk_buf out = {0};
            wk_pthw *w = NULL;
            int rc = desc_build(f, reverse, &d, &err);
            if (rc == 0) rc = write_desc(&d, d.file, WK_PTH_TORCH_1_13, &out, &w, &err);
            CHECK_MSG(rc == 0, "%s: %s", d.file ? d.file : "?", err.msg);
            if (rc == 0) {
                int64_t size = 0;
                wk_json_get_int(f, "size", &size, NULL);
                CHECK_EQ_U64(wk_pthw_total_size(w), (uint64_t)size);
                check_plan_matches_manifest(w, &d, f);
                CHECK_MSG(same_bytes(d.file, out.data, out.len, d.golden.data, d.golden.size),
                          "%s%s: not byte-identical to torch.save", d.file,
                          reverse ? " (storages numbered in reverse)" : "");
                if (!reverse) peer_save(NULL, d.file, &out);
            }
            if (!reverse && rc == 0 && getenv("WK_PEER_OUT") && strcmp(d.file, "unicode.pt") == 0) {
                /* a non-ASCII file name: the archive name is its UTF-8 basename (1.13) */
                wk_buf o = {0};
                rc = write_desc(&d, NONASCII_NAME, WK_PTH_TORCH_1_13, &o, NULL, &err);
                CHECK_MSG(rc == 0, "%s: %s", NONASCII_NAME, err.msg);
                if (rc == 0) peer_save("nonascii", NONASCII_NAME, &o);
                wk_buf_free(&o);
            }
            if (!reverse && rc == 0) {
                /* the same dict in the 2.1 profile, for the peer test */
                wk_buf o21 = {0};
                wk_pthw_free(w);
                w = NULL;
                rc = write_desc(&d, d.file, WK_PTH_TORCH_2_1, &o21, NULL, &err);
                CHECK_MSG(rc == 0, "%s (2.1): %s", d.file, err.msg);
                if (rc == 0) peer_save("torch-2.1", d.file, &o21);
                wk_buf_free(&o21);
            }
            wk_pthw_free(w);
            wk_buf_free(&out);
            desc_free(&d);
        }
    }
}

/* wk_pthw_save_sink from wk_tensor_info (storages grouped by pointer). */
static void test_save_sink_from_infos(void)
{
    const wk_json *files = manifest_files();
    size_t done = 0;
    for (size_t i = 0; i < wk_json_len(files); i++) {
        dict_desc d;
        wk_err err;
        if (desc_build(wk_json_at(files, i), 0, &d, &err) != 0) {
            CHECK_MSG(0, "%s", err.msg);
            desc_free(&d);
            continue;
        }
        int aliased = 0;
        for (size_t k = 0; k < d.nt; k++) aliased |= d.t[k].same_as != 0;
        if (aliased) { /* a wk_tensor_info table cannot say "same object" */
            desc_free(&d);
            continue;
        }
        wk_tensor_info *ti = calloc(d.nt + 1, sizeof *ti);
        /* empty storages get no pointer; the others point into the golden map */
        for (size_t k = 0; k < d.nt; k++) {
            const wk_pthw_tensor *t = &d.t[k];
            ti[k].name = (char *)t->name;
            ti[k].dtype = d.st[t->storage].dtype;
            ti[k].ndim = t->ndim;
            memcpy(ti[k].shape, t->shape, sizeof t->shape);
            memcpy(ti[k].stride, t->stride, sizeof t->stride);
            ti[k].storage_offset = t->storage_offset;
            ti[k].storage_nbytes = d.st[t->storage].nbytes;
            ti[k].storage = d.st[t->storage].nbytes ? d.golden.data + d.data_off[t->storage] : NULL;
        }
        wk_buf out = {0};
        int rc = wk_pthw_save_sink(wk_sink_buf(&out), d.file, ti, d.nt, WK_PTH_TORCH_1_13, &err);
        CHECK_MSG(rc == 0, "%s: %s", d.file, err.msg);
        if (rc == 0)
            CHECK_MSG(same_bytes(d.file, out.data, out.len, d.golden.data, d.golden.size),
                      "%s: save_sink output differs", d.file);
        done++;
        wk_buf_free(&out);
        free(ti);
        desc_free(&d);
    }
    CHECK(done >= 14);
}

/* wk_pthw_save_file: atomic file output. */
static void test_save_file(void)
{
    const wk_json *f = manifest_file("pytorch_model-00001-of-00002.bin");
    dict_desc d;
    wk_err err;
    CHECK(f != NULL);
    if (!f || desc_build(f, 0, &d, &err) != 0) return;
    wk_tensor_info *ti = calloc(d.nt, sizeof *ti);
    for (size_t k = 0; k < d.nt; k++) {
        const wk_pthw_tensor *t = &d.t[k];
        ti[k] = (wk_tensor_info){.name = (char *)t->name, .dtype = d.st[t->storage].dtype,
                                 .ndim = t->ndim, .storage_offset = t->storage_offset,
                                 .storage_nbytes = d.st[t->storage].nbytes,
                                 .storage = d.golden.data + d.data_off[t->storage]};
        memcpy(ti[k].shape, t->shape, sizeof t->shape);
        memcpy(ti[k].stride, t->stride, sizeof t->stride);
    }
    char *path = wk_path_join(wk_test_tmpdir(), "pytorch_model-00001-of-00002.bin");
    CHECK_OK(wk_pthw_save_file(path, ti, d.nt, WK_PTH_TORCH_1_13, &err), &err);
    wk_map m;
    if (wk_map_open(&m, path, &err) == 0) {
        CHECK(same_bytes("save_file", m.data, m.size, d.golden.data, d.golden.size));
        wk_map_close(&m);
    } else {
        CHECK_MSG(0, "%s", err.msg);
    }
    /* a rejected description leaves no file behind */
    char *bad = wk_path_join(wk_test_tmpdir(), "bad.pt");
    ti[1].name = ti[0].name;
    CHECK(wk_pthw_save_file(bad, ti, d.nt, WK_PTH_TORCH_1_13, &err) != 0);
    CHECK_EQ_U64(err.code, WK_E_USAGE);
    struct stat stt;
    CHECK(stat(bad, &stt) != 0);
    remove(path);
    free(bad);
    free(path);
    free(ti);
    desc_free(&d);
}

/* ---- archive names ------------------------------------------------------------- */

static void test_archive_names(void)
{
    static const struct { const char *path; const char *want13, *want21; } cases[] = {
        {"pytorch_model-00001-of-00002.bin", "pytorch_model-00001-of-00002", NULL},
        {"d.x/a.b.c", "a.b", NULL},
        {"dir\\sub\\w.pt", "w", NULL},
        {"noext", "noext", NULL},
        {"x.", "x", NULL},
        {"..", ".", NULL},
        {"/abs/path/m.pth", "m", NULL},
        {NULL, "archive", "archive"},
        {"ŵeight.pt", "ŵeight", "archive"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wk_err err;
        char *a = wk_pth_archive_name(cases[i].path, WK_PTH_TORCH_1_13, &err);
        char *b = wk_pth_archive_name(cases[i].path, WK_PTH_TORCH_2_1, &err);
        CHECK_EQ_STR(a, cases[i].want13);
        CHECK_EQ_STR(b, cases[i].want21 ? cases[i].want21 : cases[i].want13);
        free(a);
        free(b);
    }
    static const char *bad[] = {"", ".hidden", "dir/", "a/.pt", "c:\\x\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wk_err err;
        char *a = wk_pth_archive_name(bad[i], WK_PTH_TORCH_1_13, &err);
        CHECK_MSG(!a, "'%s' should be rejected", bad[i]);
        if (!a) CHECK_EQ_U64(err.code, WK_E_USAGE);
        free(a);
    }
}

/* ---- layout / zip64 rule, without writing data ---------------------------------------- */

static void check_layout_invariants(const wk_pthw *w)
{
    uint64_t cursor = 0, cd = 0;
    for (size_t i = 0; i < wk_pthw_record_count(w); i++) {
        wk_pthw_record_info r;
        wk_pthw_record_get(w, i, &r);
        size_t n = strlen(r.name);
        CHECK_EQ_U64(r.header_offset, cursor);
        CHECK_EQ_U64(r.data_offset % 64, 0);
        CHECK_EQ_U64(r.data_offset, r.header_offset + 30 + n + r.extra_len);
        CHECK_EQ_U64(r.zip64_size, r.size >= 0xFFFFFFFFull);
        CHECK_EQ_U64(r.zip64_offset, r.header_offset >= 0xFFFFFFFFull);
        uint32_t z = (r.zip64_size || r.zip64_offset) ? 4 + 16 * r.zip64_size + 8 * r.zip64_offset : 0;
        CHECK_EQ_U64(r.cd_extra_len, z);
        CHECK(r.extra_len >= z + 4 && r.extra_len < z + 4 + 64);
        CHECK_EQ_U64(r.descriptor_len, r.size == 0 ? 0 : z ? 24 : 16);
        cursor = r.data_offset + r.size + r.descriptor_len;
        cd += 46 + n + r.cd_extra_len;
    }
    CHECK_EQ_U64(wk_pthw_cd_offset(w), cursor);
    CHECK_EQ_U64(wk_pthw_cd_size(w), cd);
    CHECK_EQ_U64(wk_pthw_total_size(w), cursor + cd + 56 + 20 + 22);
}

static void test_layout_zip64(void)
{
    const uint64_t G = 1ull << 30;
    /* storage 0 (key "0"): 5 GiB -> zip64 sizes; storage 1: 100 bytes starting
     * past 4 GiB -> zip64 offset; sizes exactly 0xFFFFFFFF / 0xFFFFFFFE. */
    wk_pthw_storage st[] = {
        {WK_DT_U8, 5 * G}, {WK_DT_U8, 100}, {WK_DT_U8, 0xFFFFFFFFull}, {WK_DT_U8, 0xFFFFFFFEull}};
    wk_pthw_tensor t[4];
    for (size_t i = 0; i < 4; i++) {
        int64_t shape[1] = {(int64_t)st[i].nbytes};
        wk_pthw_tensor_contiguous(&t[i], (const char *[]){"a", "b", "c", "d"}[i], i, 1, shape);
    }
    wk_err err;
    wk_pthw *w = wk_pthw_plan("big.bin", st, 4, t, 4, WK_PTH_TORCH_1_13, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (!w) return;
    check_layout_invariants(w);
    wk_pthw_record_info r;
    wk_pthw_record_get(w, 0, &r); /* data.pkl: small, at 0 */
    CHECK(!r.zip64_size && !r.zip64_offset && r.descriptor_len == 16);
    CHECK_EQ_U64(r.data_offset, 64);
    wk_pthw_record_get(w, 1, &r); /* data/0: 5 GiB at a small offset */
    CHECK_EQ_STR(r.name, "big/data/0");
    CHECK(r.zip64_size && !r.zip64_offset);
    CHECK_EQ_U64(r.cd_extra_len, 20);
    CHECK_EQ_U64(r.descriptor_len, 24);
    wk_pthw_record_get(w, 2, &r); /* data/1: past 4 GiB */
    CHECK(!r.zip64_size && r.zip64_offset);
    CHECK_EQ_U64(r.cd_extra_len, 12);
    CHECK_EQ_U64(r.descriptor_len, 24);
    wk_pthw_record_get(w, 3, &r); /* data/2: size 0xFFFFFFFF, past 4 GiB */
    CHECK(r.zip64_size && r.zip64_offset);
    CHECK_EQ_U64(r.cd_extra_len, 28);
    wk_pthw_record_get(w, 5, &r); /* version */
    CHECK_EQ_STR(r.name, "big/version");
    CHECK(r.zip64_offset);
    wk_pthw_free(w);

    /* size 0xFFFFFFFE is not zip64; a record straddling 4 GiB is not zip64 */
    wk_pthw_storage st2[] = {{WK_DT_U8, 0xFFFFFFFEull}};
    int64_t shape[1] = {(int64_t)st2[0].nbytes};
    wk_pthw_tensor_contiguous(&t[0], "x", 0, 1, shape);
    w = wk_pthw_plan("s.pt", st2, 1, t, 1, WK_PTH_TORCH_1_13, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (!w) return;
    check_layout_invariants(w);
    wk_pthw_record_get(w, 1, &r);
    CHECK(!r.zip64_size && !r.zip64_offset && r.descriptor_len == 16);
    CHECK(r.data_offset + r.size > 0xFFFFFFFFull);
    wk_pthw_record_get(w, 2, &r);
    CHECK(r.zip64_offset);
    wk_pthw_free(w);

    /* 2.1 profile: byteorder and serialization_id records */
    wk_pthw_tensor_contiguous(&t[0], "a", 0, 1, (int64_t[]){(int64_t)(5 * G)});
    w = wk_pthw_plan("big.bin", st, 1, t, 1, WK_PTH_TORCH_2_1, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (!w) return;
    check_layout_invariants(w);
    static const char *names21[] = {"big/data.pkl", "big/byteorder", "big/data/0", "big/version",
                                    "big/.data/serialization_id"};
    CHECK_EQ_U64(wk_pthw_record_count(w), 5);
    for (size_t i = 0; i < 5 && i < wk_pthw_record_count(w); i++) {
        wk_pthw_record_get(w, i, &r);
        CHECK_EQ_STR(r.name, names21[i]);
    }
    wk_pthw_free(w);
}

/* ---- the 2.1 profile ------------------------------------------------------------- */

/* Known answer for mix.pt's dict under the 2.1 profile.  First 20 digits:
 * hash_combine of std::hash<std::string> over the record names in
 * std::unordered_set order, computed by a g++ 12 / libstdc++ program; last 20:
 * hash_combine of the records' CRC-32s (zlib) in write order, computed in
 * Python.  Neither uses this writer. */
static const char k_mix_sid[] = "17884930955805620087" "04215765140405438712";

static void test_profile_2_1(void)
{
    const wk_json *f = manifest_file("mix.pt");
    dict_desc d;
    wk_err err;
    CHECK(f != NULL);
    if (!f || desc_build(f, 0, &d, &err) != 0) return;
    wk_buf out = {0};
    wk_pthw *w = NULL;
    CHECK_OK(write_desc(&d, "mix.pt", WK_PTH_TORCH_2_1, &out, &w, &err), &err);
    if (w) {
        const char *sid = wk_pthw_serialization_id(w);
        CHECK_EQ_U64(strlen(sid), 40);
        CHECK_EQ_STR(sid, k_mix_sid);
        /* data.pkl record identical to the 1.13 file; byteorder follows */
        wk_pthw_record_info r0, r1;
        wk_pthw_record_get(w, 0, &r0);
        wk_pthw_record_get(w, 1, &r1);
        CHECK(same_bytes("data.pkl record", out.data, (size_t)r1.header_offset, d.golden.data,
                         (size_t)r1.header_offset));
        CHECK_EQ_STR(r1.name, "mix/byteorder");
        CHECK(r1.size == 6 && memcmp(out.data + r1.data_offset, "little", 6) == 0);
        wk_pthw_record_info rl;
        wk_pthw_record_get(w, wk_pthw_record_count(w) - 1, &rl);
        CHECK(memcmp(out.data + rl.data_offset, sid, 40) == 0);
        wk_pthw_free(w);
    }
    const wk_pth_profile_info *pi = wk_pth_profile_get(WK_PTH_TORCH_2_1);
    CHECK(pi && (pi->flags & WK_PTH_F_SERIAL_ID_UNVERIFIED) && !(pi->flags & WK_PTH_F_VERIFIED));
    CHECK(wk_pth_profile_get(WK_PTH_TORCH_1_13)->flags & WK_PTH_F_VERIFIED);
    CHECK_EQ_U64(wk_pth_profile_from_name("2.3"), WK_PTH_TORCH_2_1);
    CHECK_EQ_U64(wk_pth_profile_from_name("torch-1.13"), WK_PTH_TORCH_1_13);
    CHECK(wk_pth_profile_from_name("2.7") < 0);
    wk_buf_free(&out);
    desc_free(&d);
}

/* ---- streaming details and errors --------------------------------------------------- */

static void test_write_zeros(void)
{
    /* the same zero storage via write_zeros and via write */
    wk_pthw_storage st[] = {{WK_DT_F16, 200000}, {WK_DT_F32, 12}};
    wk_pthw_tensor t[2];
    wk_pthw_tensor_contiguous(&t[0], "z", 0, 2, (int64_t[]){1000, 100});
    wk_pthw_tensor_contiguous(&t[1], "s", 1, 1, (int64_t[]){3});
    uint8_t *zeros = calloc(1, 200000), small[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    wk_buf a = {0}, b = {0};
    wk_err err;
    for (int mode = 0; mode < 2; mode++) {
        wk_pthw *w = wk_pthw_plan("z.pt", st, 2, t, 2, WK_PTH_TORCH_1_13, &err);
        CHECK_MSG(w != NULL, "%s", err.msg);
        if (!w) break;
        CHECK_OK(wk_pthw_begin(w, wk_sink_buf(mode ? &b : &a), &err), &err);
        for (size_t k = 0; k < 2; k++) {
            size_t s = wk_pthw_record_storage(w, k);
            CHECK_OK(wk_pthw_storage_begin(w, s, &err), &err);
            if (s == 1) CHECK_OK(wk_pthw_write(w, small, 12, &err), &err);
            else if (mode) CHECK_OK(wk_pthw_write(w, zeros, 200000, &err), &err);
            else CHECK_OK(wk_pthw_write_zeros(w, 200000, &err), &err);
            CHECK_OK(wk_pthw_storage_end(w, &err), &err);
        }
        CHECK_OK(wk_pthw_finish(w, &err), &err);
        wk_pthw_free(w);
    }
    CHECK(same_bytes("write_zeros", a.data, a.len, b.data, b.len));
    /* the record CRC is zlib's crc32 of the data */
    uint32_t crc = (uint32_t)crc32(0, zeros, 200000);
    uint8_t le[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
    CHECK(a.len > 0 && memmem(a.data, a.len, le, 4) != NULL);
    free(zeros);
    wk_buf_free(&a);
    wk_buf_free(&b);
}

static wk_pthw *plan_simple(wk_pthw_storage *st, wk_pthw_tensor *t, wk_err *err)
{
    st[0] = (wk_pthw_storage){WK_DT_F32, 16};
    st[1] = (wk_pthw_storage){WK_DT_I64, 8};
    wk_pthw_tensor_contiguous(&t[0], "a", 0, 1, (int64_t[]){4});
    wk_pthw_tensor_contiguous(&t[1], "b", 1, 0, NULL);
    return wk_pthw_plan("e.pt", st, 2, t, 2, WK_PTH_TORCH_1_13, err);
}

static void expect_plan_error(const char *what, wk_pthw_storage *st, size_t nst, wk_pthw_tensor *t,
                              size_t nt, wk_code code)
{
    wk_err err;
    wk_pthw *w = wk_pthw_plan("e.pt", st, nst, t, nt, WK_PTH_TORCH_1_13, &err);
    CHECK_MSG(!w, "%s: accepted", what);
    if (!w) CHECK_MSG(err.code == code, "%s: code %s (%s)", what, wk_err_code_name(err.code), err.msg);
    wk_pthw_free(w);
}

static void test_plan_errors(void)
{
    wk_pthw_storage st[2];
    wk_pthw_tensor t[2];
    wk_err err;
    wk_pthw *w = plan_simple(st, t, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    wk_pthw_free(w);
    wk_pthw_free(NULL);

    wk_pthw_free(plan_simple(st, t, &err));
    t[1].name = "a";
    expect_plan_error("duplicate name", st, 2, t, 2, WK_E_USAGE);
    wk_pthw_free(plan_simple(st, t, &err));
    t[1].name = "\xC3\x28";
    expect_plan_error("bad UTF-8", st, 2, t, 2, WK_E_USAGE);
    t[1].name = "\xED\xA0\x80"; /* a UTF-8-encoded surrogate */
    expect_plan_error("surrogate", st, 2, t, 2, WK_E_USAGE);
    wk_pthw_free(plan_simple(st, t, &err));
    t[1].storage = 0;
    expect_plan_error("unused storage", st, 2, t, 2, WK_E_USAGE);
    wk_pthw_free(plan_simple(st, t, &err));
    t[0].shape[0] = 5;
    expect_plan_error("view past the storage", st, 2, t, 2, WK_E_USAGE);
    wk_pthw_free(plan_simple(st, t, &err));
    t[0].storage_offset = 1;
    expect_plan_error("offset view past the storage", st, 2, t, 2, WK_E_USAGE);
    t[0].shape[0] = 0; /* no elements: any offset is fine, as in torch */
    t[0].storage_offset = 99;
    w = wk_pthw_plan("e.pt", st, 2, t, 2, WK_PTH_TORCH_1_13, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    wk_pthw_free(w);
    wk_pthw_free(plan_simple(st, t, &err));
    t[0].stride[0] = -1;
    expect_plan_error("negative stride", st, 2, t, 2, WK_E_USAGE);
    wk_pthw_free(plan_simple(st, t, &err));
    st[0].nbytes = 15;
    expect_plan_error("nbytes not a multiple", st, 2, t, 2, WK_E_USAGE);
    wk_pthw_free(plan_simple(st, t, &err));
    t[0].same_as = 2;
    expect_plan_error("same_as forward", st, 2, t, 2, WK_E_USAGE);
    wk_pthw_free(plan_simple(st, t, &err));
    t[0].ndim = WK_MAX_DIMS + 1;
    expect_plan_error("too many dims", st, 2, t, 2, WK_E_USAGE);
    wk_pthw_free(plan_simple(st, t, &err));
    w = wk_pthw_plan(".hidden", st, 2, t, 2, WK_PTH_TORCH_1_13, &err);
    CHECK(!w && err.code == WK_E_USAGE);
    wk_pthw_free(w);
}

static void test_stream_errors(void)
{
    wk_pthw_storage st[2];
    wk_pthw_tensor t[2];
    wk_err err;
    uint8_t data[16] = {0};
    wk_buf out = {0};
    /* record order is "0","1" = storage 0, 1: starting with storage 1 is refused */
    wk_pthw *w = plan_simple(st, t, &err);
    CHECK_OK(wk_pthw_begin(w, wk_sink_buf(&out), &err), &err);
    CHECK(wk_pthw_storage_begin(w, 1, &err) != 0 && err.code == WK_E_USAGE);
    CHECK(wk_pthw_storage_begin(w, 0, &err) != 0); /* failed writers stay failed */
    wk_pthw_free(w);
    /* too few bytes */
    out.len = 0;
    w = plan_simple(st, t, &err);
    CHECK_OK(wk_pthw_begin(w, wk_sink_buf(&out), &err), &err);
    CHECK_OK(wk_pthw_storage_begin(w, 0, &err), &err);
    CHECK_OK(wk_pthw_write(w, data, 15, &err), &err);
    CHECK(wk_pthw_storage_end(w, &err) != 0 && err.code == WK_E_MISMATCH);
    wk_pthw_free(w);
    /* too many bytes */
    out.len = 0;
    w = plan_simple(st, t, &err);
    CHECK_OK(wk_pthw_begin(w, wk_sink_buf(&out), &err), &err);
    CHECK_OK(wk_pthw_storage_begin(w, 0, &err), &err);
    CHECK(wk_pthw_write(w, data, 16, &err) == 0);
    CHECK(wk_pthw_write(w, data, 1, &err) != 0 && err.code == WK_E_USAGE);
    wk_pthw_free(w);
    /* finish before the last storage */
    out.len = 0;
    w = plan_simple(st, t, &err);
    CHECK_OK(wk_pthw_begin(w, wk_sink_buf(&out), &err), &err);
    CHECK(wk_pthw_finish(w, &err) != 0 && err.code == WK_E_USAGE);
    CHECK_MSG(strstr(err.msg, "e/data/0") != NULL, "%s", err.msg);
    wk_pthw_free(w);
    /* write before begin */
    w = plan_simple(st, t, &err);
    CHECK(wk_pthw_write(w, data, 1, &err) != 0 && err.code == WK_E_USAGE);
    wk_pthw_free(w);
    /* a failing sink: the error names the offset */
    w = plan_simple(st, t, &err);
    wk_sink bad = {0};
    CHECK(wk_pthw_begin(w, &bad, &err) != 0);
    CHECK_MSG(strstr(err.msg, "byte 0") != NULL, "%s", err.msg);
    wk_pthw_free(w);
    wk_buf_free(&out);
}

/* A plan with storages in caller order different from key order and from
 * record order: keys follow first use, records follow string-sorted keys. */
static void test_key_assignment(void)
{
    enum { N = 12 };
    wk_pthw_storage st[N];
    wk_pthw_tensor t[N];
    char names[N][8];
    for (size_t i = 0; i < N; i++) {
        st[i] = (wk_pthw_storage){WK_DT_F32, 4};
        snprintf(names[i], sizeof names[i], "t%zu", i);
        /* tensor i uses storage N-1-i: storage N-1 gets key "0" */
        wk_pthw_tensor_contiguous(&t[i], names[i], N - 1 - i, 1, (int64_t[]){1});
    }
    wk_err err;
    wk_pthw *w = wk_pthw_plan("k.pt", st, N, t, N, WK_PTH_TORCH_1_13, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (!w) return;
    CHECK_EQ_STR(wk_pthw_storage_key(w, N - 1), "0");
    CHECK_EQ_STR(wk_pthw_storage_key(w, 0), "11");
    /* record order: keys 0,1,10,11,2,...,9 -> storages 11,10,1,0,9,...,2 */
    static const size_t want[N] = {11, 10, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2};
    for (size_t k = 0; k < N; k++) CHECK_EQ_U64(wk_pthw_record_storage(w, k), want[k]);
    wk_pthw_free(w);
}

/* ---- zip64 peer file (tests/peer/torch_zip64.sh) -------------------------------------- */

/* {"small": fp16 arange(10) as 2x5, "big": fp16 zeros of ZIP64_BIG_NUMEL
 * elements (> 4 GiB, streamed, never in memory), "after": int64 [7, -7]}
 * written atomically to path; torch_zip64.py builds the same dict. */
#define ZIP64_BIG_NUMEL 2150000000ll
static int write_zip64_file(const char *path, wk_err *err)
{
    static const uint16_t small[10] = {0x0000, 0x3C00, 0x4000, 0x4200, 0x4400,
                                       0x4500, 0x4600, 0x4700, 0x4800, 0x4880}; /* 0..9 */
    static const int64_t after[2] = {7, -7};
    wk_pthw_storage st[3] = {{WK_DT_F16, sizeof small},
                             {WK_DT_F16, 2 * (uint64_t)ZIP64_BIG_NUMEL},
                             {WK_DT_I64, sizeof after}};
    wk_pthw_tensor t[3];
    wk_pthw_tensor_contiguous(&t[0], "small", 0, 2, (int64_t[]){2, 5});
    wk_pthw_tensor_contiguous(&t[1], "big", 1, 1, (int64_t[]){ZIP64_BIG_NUMEL});
    wk_pthw_tensor_contiguous(&t[2], "after", 2, 1, (int64_t[]){2});
    wk_pthw *w = wk_pthw_plan(path, st, 3, t, 3, WK_PTH_TORCH_1_13, err);
    if (!w) return -1;
    wk_out *o = wk_out_open(path, NULL, err);
    wk_sink os;
    int rc = o ? wk_pthw_begin(w, wk_sink_out(&os, o), err) : -1;
    for (size_t k = 0; rc == 0 && k < 3; k++) {
        size_t s = wk_pthw_record_storage(w, k);
        rc = wk_pthw_storage_begin(w, s, err);
        if (rc == 0 && s == 1) rc = wk_pthw_write_zeros(w, st[1].nbytes, err);
        if (rc == 0 && s != 1) rc = wk_pthw_write(w, s ? (const void *)after : small, st[s].nbytes, err);
        if (rc == 0) rc = wk_pthw_storage_end(w, err);
    }
    if (rc == 0) rc = wk_pthw_finish(w, err);
    if (rc == 0) {
        rc = wk_out_commit(o, err);
        o = NULL;
    }
    wk_out_abort(o);
    if (rc == 0) printf("wrote %s: %llu bytes\n", path, (unsigned long long)wk_pthw_total_size(w));
    wk_pthw_free(w);
    return rc;
}

/* same_as may point at a tensor that is itself an alias. */
static void test_alias_chain(void)
{
    wk_pthw_storage st[1] = {{WK_DT_F32, 8}};
    wk_pthw_tensor a[3], b[3];
    for (int v = 0; v < 2; v++) {
        wk_pthw_tensor *t = v ? b : a;
        wk_pthw_tensor_contiguous(&t[0], "x", 0, 1, (int64_t[]){2});
        wk_pthw_tensor_contiguous(&t[1], "y", 0, 1, (int64_t[]){2});
        wk_pthw_tensor_contiguous(&t[2], "z", 0, 1, (int64_t[]){2});
        t[1].same_as = 1;
        t[2].same_as = v ? 2 : 1; /* z = y (which is x) vs z = x */
    }
    wk_err err;
    wk_pthw *wa = wk_pthw_plan("a.pt", st, 1, a, 3, WK_PTH_TORCH_1_13, &err);
    wk_pthw *wb = wk_pthw_plan("a.pt", st, 1, b, 3, WK_PTH_TORCH_1_13, &err);
    CHECK(wa && wb);
    if (wa && wb) {
        size_t la, lb;
        const uint8_t *pa = wk_pthw_pickle(wa, &la), *pb = wk_pthw_pickle(wb, &lb);
        CHECK(same_bytes("alias chain pickle", pb, lb, pa, la));
    }
    wk_pthw_free(wa);
    wk_pthw_free(wb);
}

int main(void)
{
    const char *zip64_out = getenv("WK_PTH_ZIP64_OUT");
    if (zip64_out) { /* generator mode for the opt-in zip64 peer test */
        wk_err err;
        if (write_zip64_file(zip64_out, &err) == 0) return 0;
        fprintf(stderr, "test_pth_write: %s\n", err.msg);
        return 1;
    }
    WK_RUN(test_golden_files);
    WK_RUN(test_save_sink_from_infos);
    WK_RUN(test_save_file);
    WK_RUN(test_archive_names);
    WK_RUN(test_layout_zip64);
    WK_RUN(test_profile_2_1);
    WK_RUN(test_write_zeros);
    WK_RUN(test_plan_errors);
    WK_RUN(test_stream_errors);
    WK_RUN(test_key_assignment);
    WK_RUN(test_alias_chain);
    wk_json_free(g_manifest);
    return wk_test_summary();
}
