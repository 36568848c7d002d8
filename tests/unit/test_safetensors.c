/* test_safetensors.c — the safetensors writer against the reference writer's
 * known bytes (the cases of huggingface/safetensors' own serialization
 * tests), write/read round trips, dtype ordering, the index file, and every
 * way a file can be broken (each must fail cleanly, naming the file). */
#include "wk_test.h"

#include <stdlib.h>

#include "wk_buf.h"
#include "wk_cursor.h"
#include "wk_hash.h"
#include "wk_safetensors.h"
#include "wk_sink.h"
#include "wk_source.h"

/* Plan -> bytes, with tensor data bytes 0,1,2,... in file order. */
static int serialize(const wk_stw_tensor *t, size_t n, const char *const *meta, size_t n_meta,
                     wk_buf *out, wk_err *err)
{
    wk_stw *w = wk_stw_plan(t, n, meta, n_meta, err);
    if (!w) return -1;
    int rc = wk_stw_begin(w, wk_sink_buf(out), err);
    uint8_t k = 0;
    for (size_t j = 0; !rc && j < n; j++) {
        uint64_t nb = wk_stw_tensor_nbytes(w, wk_stw_order(w, j));
        for (uint64_t i = 0; !rc && i < nb; i++, k++) rc = wk_stw_write(w, &k, 1, err);
    }
    if (!rc) rc = wk_stw_finish(w, err);
    wk_stw_free(w);
    return rc;
}

static void check_header(const wk_buf *b, uint64_t n, const char *json)
{
    CHECK(b->len >= 8 + n);
    if (b->len < 8 + n) return;
    CHECK_EQ_U64(wk_le64(b->data), n);
    size_t jl = strlen(json);
    CHECK_MSG(jl <= n && memcmp(b->data + 8, json, jl) == 0, "header: %.*s", (int)n, (const char *)b->data + 8);
    for (size_t i = 8 + jl; i < 8 + n; i++) CHECK(b->data[i] == ' ');
}

/* The reference implementation's own serialization tests (tensor.rs). */
static void test_reference_bytes(void)
{
    wk_err err;
    wk_buf b = {0};
    wk_stw_tensor t = {"attn.0", WK_DT_F32, 3, {1, 2, 3}};
    CHECK_OK(serialize(&t, 1, NULL, 0, &b, &err), &err);
    check_header(&b, 64, "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}");
    CHECK_EQ_U64(b.len, 8 + 64 + 24);
    wk_buf_free(&b);

    wk_stw_tensor t2 = {"attn0", WK_DT_F32, 4, {1, 1, 2, 3}};   /* forced alignment: 7 spaces */
    CHECK_OK(serialize(&t2, 1, NULL, 0, &b, &err), &err);
    check_header(&b, 72, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}");
    wk_buf_free(&b);

    CHECK_OK(serialize(NULL, 0, NULL, 0, &b, &err), &err);       /* empty: "{}" + 6 spaces */
    check_header(&b, 8, "{}");
    CHECK_EQ_U64(b.len, 16);
    wk_buf_free(&b);

    const char *meta[2] = {"framework", "pt"};
    CHECK_OK(serialize(NULL, 0, meta, 1, &b, &err), &err);
    check_header(&b, 40, "{\"__metadata__\":{\"framework\":\"pt\"}}");
    wk_buf_free(&b);
}

static void test_order_and_roundtrip(void)
{
    wk_err err;
    wk_stw_tensor t[] = {
        {"b.f16", WK_DT_F16, 1, {3}},      {"a.f16", WK_DT_F16, 1, {2}},
        {"z.bool", WK_DT_BOOL, 1, {5}},    {"m.i64", WK_DT_I64, 0, {0}},
        {"c.f32", WK_DT_F32, 2, {2, 2}},   {"d.bf16", WK_DT_BF16, 2, {1, 3}},
        {"e.f64", WK_DT_F64, 1, {1}},      {"empty", WK_DT_F32, 2, {0, 7}},
        {"\xc3\xa9t\xc3\xa9", WK_DT_U8, 1, {3}},
    };
    size_t n = sizeof t / sizeof t[0];
    const char *meta[4] = {"format", "pt", "note", "quote\" and \\ and \xe2\x96\x81"};
    wk_buf b = {0};
    CHECK_OK(serialize(t, n, meta, 2, &b, &err), &err);
    CHECK_EQ_U64(wk_le64(b.data) % 8, 0);
    wk_st *s = wk_st_open_buffer(b.data, b.len, "rt.safetensors", &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (s) {
        /* reference order: dtype descending (I64, F64, F32, BF16, F16, U8, BOOL), then name */
        static const char *const want[] = {"m.i64", "e.f64", "c.f32", "empty", "d.bf16", "a.f16",
                                           "b.f16", "\xc3\xa9t\xc3\xa9", "z.bool"};
        CHECK_EQ_U64(wk_st_count(s), n);
        for (size_t i = 0; i < n && i < wk_st_count(s); i++) CHECK_EQ_STR(wk_st_tensor_at(s, i)->name, want[i]);
        long i = wk_st_find(s, "c.f32");
        CHECK(i >= 0);
        const wk_st_tensor *c = wk_st_tensor_at(s, (size_t)i);
        CHECK(c->ndim == 2 && c->shape[0] == 2 && c->dtype == WK_DT_F32 && c->end - c->begin == 16);
        CHECK(c->data[0] == 8 + 8);  /* after the 8 bytes of m.i64 and 8 of e.f64 */
        const wk_st_tensor *m = wk_st_tensor_at(s, 0);
        CHECK(m->ndim == 0 && m->end - m->begin == 8);
        size_t vl;
        const char *v = wk_st_meta_get(s, "note", &vl);
        CHECK(v && vl == strlen(meta[3]) && memcmp(v, meta[3], vl) == 0);
        CHECK_EQ_U64(wk_st_meta_count(s), 2);
        CHECK_EQ_STR(wk_st_meta_key(s, 0), "format");
    }
    wk_st_close(s);
    wk_buf_free(&b);

    wk_stw_tensor dup[] = {{"x", WK_DT_F16, 1, {1}}, {"x", WK_DT_F32, 1, {1}}};
    CHECK(wk_stw_plan(dup, 2, NULL, 0, &err) == NULL);
    CHECK(strstr(err.msg, "duplicate") != NULL);
    wk_stw_tensor res[] = {{"__metadata__", WK_DT_F16, 1, {1}}};
    CHECK(wk_stw_plan(res, 1, NULL, 0, &err) == NULL);
    const char *dm[4] = {"a", "1", "a", "2"};
    CHECK(wk_stw_plan(NULL, 0, dm, 2, &err) == NULL);
}

static void expect_bad(const char *json, size_t data_len, wk_code code, const char *want, const char *what)
{
    wk_buf b = {0};
    size_t n = strlen(json);
    wk_buf_le64(&b, n);
    wk_buf_put(&b, json, n);
    for (size_t i = 0; i < data_len; i++) wk_buf_putc(&b, 0);
    wk_err err;
    wk_err_clear(&err);
    wk_st *s = wk_st_open_buffer(b.data, b.len, "bad.safetensors", &err);
    CHECK_MSG(!s, "%s: accepted", what);
    if (!s) {
        CHECK_MSG(err.code == code, "%s: code %s (%s)", what, wk_err_code_name(err.code), err.msg);
        CHECK_MSG(strstr(err.msg, "bad.safetensors") != NULL, "%s: no file name: %s", what, err.msg);
        CHECK_MSG(strstr(err.msg, want) != NULL, "%s: \"%s\" lacks \"%s\"", what, err.msg, want);
    }
    wk_st_close(s);
    wk_buf_free(&b);
}

#define T1(name, dt, shape, off) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" off "}"

static void test_malformed(void)
{
    wk_err err;
    uint8_t small[4] = {1, 0, 0, 0};
    CHECK(wk_st_open_buffer(small, 4, "bad.safetensors", &err) == NULL && strstr(err.msg, "too small"));
    uint8_t huge[16] = {0x00, 0xe2, 0xf5, 0x05, 0, 0, 0, 0};   /* 100,000,000 + 0x100 */
    huge[0] = 0x01;
    huge[1] = 0xe2;
    CHECK(wk_st_open_buffer(huge, 16, "bad.safetensors", &err) == NULL && err.code == WK_E_LIMIT);
    uint8_t past[16] = {200};
    CHECK(wk_st_open_buffer(past, 16, "bad.safetensors", &err) == NULL && strstr(err.msg, "past the end"));

    expect_bad("{\"a\":", 0, WK_E_FORMAT, "JSON", "invalid JSON");
    expect_bad("[1,2]", 0, WK_E_FORMAT, "expected an object", "not an object");
    expect_bad("{" T1("a", "F17", "[1]", "[0,4]") "}", 4, WK_E_FORMAT, "unknown dtype", "unknown dtype");
    expect_bad("{" T1("a", "F32", "[-1]", "[0,4]") "}", 4, WK_E_FORMAT, "shape", "negative dim");
    expect_bad("{" T1("a", "F32", "[1.5]", "[0,4]") "}", 4, WK_E_FORMAT, "shape", "float dim");
    expect_bad("{" T1("a", "F32", "[1]", "[0]") "}", 4, WK_E_FORMAT, "data_offsets", "one offset");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, WK_E_FORMAT, "data_offsets", "missing offsets");
    expect_bad("{" T1("a", "F32", "[1]", "[4,8]") "}", 8, WK_E_FORMAT, "leave a gap", "gap at start");
    expect_bad("{" T1("a", "F32", "[2]", "[0,8]") "," T1("b", "F32", "[2]", "[4,12]") "}", 12, WK_E_FORMAT,
               "overlap", "overlap");
    expect_bad("{" T1("a", "F32", "[1]", "[0,4]") "," T1("b", "F32", "[1]", "[8,12]") "}", 12, WK_E_FORMAT,
               "gap", "hole");
    expect_bad("{" T1("a", "F32", "[2]", "[8,0]") "}", 8, WK_E_FORMAT, "", "reversed");
    expect_bad("{" T1("a", "F32", "[3]", "[0,8]") "}", 8, WK_E_FORMAT, "needs 12", "size mismatch");
    expect_bad("{" T1("a", "F32", "[2]", "[0,8]") "}", 9, WK_E_FORMAT, "trailing", "trailing byte");
    expect_bad("{" T1("a", "F32", "[2]", "[0,8]") "}", 7, WK_E_FORMAT, "truncated", "truncated data");
    expect_bad("{" T1("a", "F32", "[1]", "[0,4]") "," T1("a", "F32", "[1]", "[4,8]") "}", 8, WK_E_FORMAT,
               "duplicate", "duplicate name");
    expect_bad("{" T1("a", "F32", "[4294967296,4294967296,4294967296]", "[0,4]") "}", 4, WK_E_LIMIT, "overflow",
               "overflowing shape");
    expect_bad("{" T1("a", "F4", "[3]", "[0,2]") "}", 2, WK_E_FORMAT, "whole number of bytes", "F4 x 3");
    expect_bad("{\"__metadata__\":{\"a\":1}}", 0, WK_E_FORMAT, "must be a string", "metadata int");
    expect_bad("{" T1("a", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, WK_E_LIMIT, "dims", "9 dims");
    /* accepted oddities: whitespace around the JSON, __metadata__ null, unknown fields */
    const char *ok = " {\"__metadata__\":null," T1("a", "F32", "[1]", "[0,4]") "}  ";
    wk_buf b = {0};
    wk_buf_le64(&b, strlen(ok));
    wk_buf_puts(&b, ok);
    wk_buf_le32(&b, 0);
    wk_st *s = wk_st_open_buffer(b.data, b.len, "ok.safetensors", &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    wk_st_close(s);
    wk_buf_free(&b);
}

static void test_truncated(void)
{
    wk_err err;
    wk_stw_tensor t[] = {{"a", WK_DT_F32, 2, {2, 2}}, {"b", WK_DT_F16, 1, {3}}};
    wk_buf b = {0};
    CHECK_OK(serialize(t, 2, NULL, 0, &b, &err), &err);
    for (size_t n = 0; n < b.len; n++) {
        wk_st *s = wk_st_open_buffer(b.data, n, "cut.safetensors", &err);
        CHECK_MSG(!s, "prefix of %zu bytes accepted", n);
        wk_st_close(s);
    }
    wk_buf_free(&b);
}

static void test_digests(void)
{
    wk_err err;
    wk_stw_tensor t = {"w", WK_DT_F32, 1, {4}};
    uint8_t data[16], d[WK_HASH_MAX_DIGEST];
    for (int i = 0; i < 16; i++) data[i] = (uint8_t)i;
    char hex[17];
    wk_hash_oneshot(WK_HASH_XXH3_64, data, 16, d, &err);
    wk_hex(d, 8, hex);
    const char *meta[4] = {"format", "pt", WK_ST_DIGEST_PREFIX "w", hex};
    wk_buf b = {0};
    CHECK_OK(serialize(&t, 1, meta, 2, &b, &err), &err);
    wk_st *s = wk_st_open_buffer(b.data, b.len, "d.safetensors", &err);
    CHECK(s && wk_st_has_digests(s));
    if (s) CHECK_OK(wk_st_verify_digests(s, NULL, NULL, &err), &err);
    wk_st_close(s);
    b.data[b.len - 1] ^= 0x80;
    s = wk_st_open_buffer(b.data, b.len, "d.safetensors", &err);
    CHECK(s != NULL);
    if (s) CHECK(wk_st_verify_digests(s, NULL, NULL, &err) != 0 && err.code == WK_E_MISMATCH);
    wk_st_close(s);
    wk_buf_free(&b);
}

static void test_index(void)
{
    wk_err err;
    const char *names[3] = {"b", "a", "c"}, *files[3] = {"m-2.safetensors", "m-1.safetensors", "m-2.safetensors"};
    wk_buf b = {0};
    CHECK_OK(wk_st_index_json(123, names, files, 3, &b, &err), &err);
    wk_buf_putc(&b, 0);
    CHECK_EQ_STR((const char *)b.data,
                 "{\n  \"metadata\": {\n    \"total_size\": 123\n  },\n  \"weight_map\": {\n"
                 "    \"a\": \"m-1.safetensors\",\n    \"b\": \"m-2.safetensors\",\n"
                 "    \"c\": \"m-2.safetensors\"\n  }\n}\n");
    wk_buf_free(&b);
}

/* A safetensors file through the generic source: listing, views, reads,
 * file ranges, conversion on emit. */
static void test_source(void)
{
    wk_err err;
    wk_stw_tensor t[] = {{"w", WK_DT_F32, 2, {2, 3}}, {"h", WK_DT_F16, 1, {4}}, {"q", WK_DT_F16, 2, {8, 1}}};
    wk_buf b = {0};
    CHECK_OK(serialize(t, 3, NULL, 0, &b, &err), &err);
    char path[4096];
    snprintf(path, sizeof path, "%s/src.safetensors", wk_test_tmpdir());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b.data, 1, b.len, f) == b.len);
    if (f) fclose(f);
    wk_source *s = wk_source_open(path, 1, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (s) {
        CHECK(wk_source_kind_of(s) == WK_SOURCE_SAFETENSORS && wk_source_count(s) == 3);
        long w = wk_source_find(s, "w");
        CHECK(w >= 0);
        const wk_source_tensor *tw = wk_source_tensor_at(s, (size_t)w);
        CHECK(tw->dtype == WK_DT_F32 && tw->ndim == 2 && tw->shape[1] == 3 && tw->nbytes == 24);
        size_t fi;
        uint64_t off;
        CHECK(wk_source_file_range(s, (size_t)w, &fi, &off) == 0);
        CHECK(fi == 0 && off + 24 <= b.len && memcmp(b.data + off, wk_source_view(s, (size_t)w), 24) == 0);
        uint8_t buf[24];
        CHECK_OK(wk_source_read(s, (size_t)w, buf, sizeof buf, &err), &err);
        CHECK(memcmp(buf, b.data + off, 24) == 0);
        CHECK(wk_source_read(s, (size_t)w, buf, 8, &err) != 0 && err.code == WK_E_USAGE);
        wk_source_xform x = {WK_DT_BF16, 0, NULL};
        uint64_t nb;
        CHECK_OK(wk_source_out_nbytes(s, (size_t)w, &x, &nb, &err), &err);
        CHECK_EQ_U64(nb, 12);
        /* HF -> Meta row order: 2 heads of D = 4 rows: out row h*4 + 2i + p = in row h*4 + p*2 + i */
        long q = wk_source_find(s, "q");
        wk_source_xform u = {WK_DT_F16, 2, NULL};
        wk_buf o = {0};
        wk_source_bufs bufs = {0};
        CHECK_OK(wk_source_emit(s, (size_t)q, &u, wk_sink_buf(&o), &bufs, &err), &err);
        const uint8_t *in = wk_source_view(s, (size_t)q);
        static const int perm[8] = {0, 2, 1, 3, 4, 6, 5, 7};
        CHECK_EQ_U64(o.len, 16);
        for (int r = 0; r < 8 && o.len == 16; r++) CHECK(memcmp(o.data + 2 * r, in + 2 * perm[r], 2) == 0);
        wk_source_xform odd = {WK_DT_F16, 3, NULL};
        CHECK(wk_source_emit(s, (size_t)q, &odd, wk_sink_buf(&o), &bufs, &err) != 0 && err.code == WK_E_FORMAT);
        wk_source_bufs_free(&bufs);
        wk_buf_free(&o);
    }
    wk_source_close(s);
    wk_buf_free(&b);
}

int main(void)
{
    WK_RUN(test_source);
    WK_RUN(test_reference_bytes);
    WK_RUN(test_order_and_roundtrip);
    WK_RUN(test_malformed);
    WK_RUN(test_truncated);
    WK_RUN(test_digests);
    WK_RUN(test_index);
    return wk_test_summary();
}
