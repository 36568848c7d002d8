/* test_gguf.c — GGUF writer and reader: a byte-exact golden file, write/read
 * round trips, and every way a header can be broken (each must fail cleanly
 * with an error naming the file; run under ASan/UBSan in the sanitizer
 * build).  Also the llama.cpp name mapping and tensor order. */
#include "wk_test.h"

#include <stdlib.h>

#include "wk_buf.h"
#include "wk_gguf.h"
#include "wk_gguf_llama.h"
#include "wk_sink.h"
#include "wk_source.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Write a plan with tensors filled by byte pattern (i * 7 + k) into b. */
static int write_all(wk_ggufw *w, wk_buf *b, wk_err *err)
{
    if (wk_ggufw_begin(w, wk_sink_buf(b), err)) return -1;
    for (size_t i = 0; i < wk_ggufw_tensor_count(w); i++) {
        uint64_t n = wk_ggufw_tensor_nbytes(w, i);
        for (uint64_t k = 0; k < n; k++) {
            uint8_t v = (uint8_t)(i * 7 + k);
            if (wk_ggufw_write(w, &v, 1, err)) return -1;
        }
    }
    return wk_ggufw_finish(w, err);
}

/* Raw header builder for malformed files. */
static void str(wk_buf *b, const char *s)
{
    wk_buf_le64(b, strlen(s));
    wk_buf_puts(b, s);
}

static void head(wk_buf *b, uint32_t version, uint64_t n_t, uint64_t n_kv)
{
    wk_buf_put(b, "GGUF", 4);
    wk_buf_le32(b, version);
    wk_buf_le64(b, n_t);
    wk_buf_le64(b, n_kv);
}

static void tinfo(wk_buf *b, const char *name, uint32_t nd, const int64_t *ne, int32_t type, uint64_t off)
{
    str(b, name);
    wk_buf_le32(b, nd);
    for (uint32_t d = 0; d < nd; d++) wk_buf_le64(b, (uint64_t)ne[d]);
    wk_buf_le32(b, (uint32_t)type);
    wk_buf_le64(b, off);
}

/* Pad b with zeros to a multiple of 32 and add n data bytes. */
static void data(wk_buf *b, size_t n)
{
    while (b->len % 32) wk_buf_putc(b, 0);
    for (size_t i = 0; i < n; i++) wk_buf_putc(b, (uint8_t)i);
}

/* Expect the bytes to be rejected with code and a message containing want. */
static void expect_bad(const wk_buf *b, wk_code code, const char *want, const char *what)
{
    wk_err err;
    wk_err_clear(&err);
    wk_gguf *g = wk_gguf_open_buffer(b->data, b->len, "bad.gguf", &err);
    CHECK_MSG(!g, "%s: accepted", what);
    wk_gguf_close(g);
    if (g) return;
    CHECK_MSG(err.code == code, "%s: code %s, want %s (%s)", what, wk_err_code_name(err.code),
              wk_err_code_name(code), err.msg);
    CHECK_MSG(strstr(err.msg, "bad.gguf") != NULL, "%s: message does not name the file: %s", what, err.msg);
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err.msg, want);
}

/* ---- tests ---------------------------------------------------------------- */

/* The smallest useful file, byte by byte: one u32 KV, one f32 tensor [3]. */
static void test_golden_bytes(void)
{
    wk_err err;
    wk_ggufw *w = wk_ggufw_new(0, &err);
    CHECK_OK(wk_ggufw_kv_u32(w, "a.b", 7, &err), &err);
    int64_t ne[1] = {3};
    CHECK(wk_ggufw_add_tensor(w, "t", WK_GGML_F32, 1, ne, &err) == 0);
    wk_buf b = {0};
    CHECK_OK(write_all(w, &b, &err), &err);
    static const uint8_t want[] = {
        'G', 'G', 'U', 'F', 3, 0, 0, 0,                  /* magic, version 3 */
        1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,  /* n_tensors 1, n_kv 1 */
        3, 0, 0, 0, 0, 0, 0, 0, 'a', '.', 'b',           /* key "a.b" */
        4, 0, 0, 0, 7, 0, 0, 0,                          /* UINT32 7 */
        1, 0, 0, 0, 0, 0, 0, 0, 't',                     /* tensor "t" */
        1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,              /* n_dims 1, ne {3} */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,              /* F32, offset 0 */
    };
    CHECK_EQ_U64(b.len, 96 + 32);  /* header 84 padded to 96, data 12 padded to 32 */
    CHECK(b.len >= sizeof want && memcmp(b.data, want, sizeof want) == 0);
    for (size_t i = sizeof want; i < 96; i++) CHECK(b.data[i] == 0);
    for (size_t i = 0; i < 12; i++) CHECK(b.data[96 + i] == (uint8_t)i);
    for (size_t i = 108; i < 128; i++) CHECK(b.data[i] == 0);
    CHECK_EQ_U64(wk_ggufw_total_size(w), b.len);
    wk_ggufw_free(w);
    wk_buf_free(&b);
}

static void test_roundtrip(void)
{
    wk_err err;
    wk_ggufw *w = wk_ggufw_new(64, &err);
    CHECK_OK(wk_ggufw_kv_str(w, "general.architecture", "llama", 5, &err), &err);
    CHECK_OK(wk_ggufw_kv_u32(w, "general.alignment", 64, &err), &err);
    CHECK_OK(wk_ggufw_kv_f32(w, "x.eps", 1e-6f, &err), &err);
    CHECK_OK(wk_ggufw_kv_bool(w, "x.flag", 1, &err), &err);
    CHECK_OK(wk_ggufw_kv_scalar(w, "x.i64", WK_GGUF_INT64, (uint64_t)-5, &err), &err);
    int32_t arr[3] = {1, -2, 3};
    CHECK_OK(wk_ggufw_kv_arr(w, "x.arr", WK_GGUF_INT32, arr, 3, &err), &err);
    const char *s[3] = {"<unk>", "", "\xe2\x96\x81hi"};
    size_t l[3] = {5, 0, 5};
    CHECK_OK(wk_ggufw_kv_arr_str(w, "x.strs", s, l, 3, &err), &err);
    CHECK(wk_ggufw_kv_u32(w, "x.eps", 1, &err) != 0);              /* duplicate key */
    CHECK(wk_ggufw_kv_u32(w, "general.alignment", 32, &err) != 0);
    int64_t ne2[2] = {64, 3}, ne1[1] = {5}, neq[2] = {64, 2};
    CHECK(wk_ggufw_add_tensor(w, "w", WK_GGML_F16, 2, ne2, &err) == 0);
    CHECK(wk_ggufw_add_tensor(w, "n", WK_GGML_F32, 1, ne1, &err) == 1);
    CHECK(wk_ggufw_add_tensor(w, "q", WK_GGML_Q8_0, 2, neq, &err) == 2);
    CHECK(wk_ggufw_add_tensor(w, "q", WK_GGML_F32, 1, ne1, &err) < 0);  /* duplicate */
    int64_t bad[1] = {33};
    CHECK(wk_ggufw_add_tensor(w, "bad", WK_GGML_Q4_0, 1, bad, &err) < 0); /* not a block multiple */
    wk_buf b = {0};
    CHECK_OK(write_all(w, &b, &err), &err);
    wk_gguf *g = wk_gguf_open_buffer(b.data, b.len, "rt.gguf", &err);
    CHECK_MSG(g != NULL, "%s", err.msg);
    if (g) {
        CHECK_EQ_U64(wk_gguf_alignment(g), 64);
        CHECK_EQ_U64(wk_gguf_kv_count(g), 7);
        CHECK_EQ_U64(wk_gguf_tensor_count(g), 3);
        CHECK_EQ_U64(wk_gguf_data_offset(g) % 64, 0);
        const char *v;
        size_t vl;
        CHECK_OK(wk_gguf_get_str(g, "general.architecture", &v, &vl, &err), &err);
        CHECK(vl == 5 && memcmp(v, "llama", 5) == 0);
        float f;
        CHECK_OK(wk_gguf_get_f32(g, "x.eps", &f, &err), &err);
        CHECK(f == 1e-6f);
        uint32_t u;
        CHECK(wk_gguf_get_u32(g, "x.eps", &u, &err) != 0);   /* wrong type */
        CHECK(strstr(err.msg, "expected u32") != NULL);
        long k = wk_gguf_find_key(g, "x.strs");
        CHECK(k >= 0);
        CHECK(wk_gguf_arr_str(g, (size_t)k, 1, &vl) != NULL && vl == 0);
        CHECK(wk_gguf_arr_str(g, (size_t)k, 2, &vl) != NULL && vl == 5);
        CHECK(wk_gguf_arr_str(g, (size_t)k, 3, &vl) == NULL);
        int64_t iv;
        CHECK(wk_gguf_kv_num(g, (size_t)wk_gguf_find_key(g, "x.arr"), 1, NULL, &iv) == 0 && iv == -2);
        CHECK(wk_gguf_kv_num(g, (size_t)wk_gguf_find_key(g, "x.i64"), 0, NULL, &iv) == 0 && iv == -5);
        long t = wk_gguf_find_tensor(g, "q");
        CHECK(t == 2);
        const wk_gguf_tensor *q = wk_gguf_tensor_at(g, 2);
        CHECK_EQ_U64(q->nbytes, 2 * 2 * 34);
        CHECK_EQ_U64(q->offset % 64, 0);
        CHECK(q->data[0] == (uint8_t)14 && q->data[1] == (uint8_t)15);
        CHECK(wk_gguf_find_tensor(g, "nope") == -1);
        /* copy KVs into a new writer: identical KV section */
        wk_ggufw *w2 = wk_ggufw_new(64, &err);
        for (size_t i = 0; i < wk_gguf_kv_count(g); i++) CHECK_OK(wk_ggufw_kv_copy(w2, g, i, &err), &err);
        for (size_t i = 0; i < wk_gguf_tensor_count(g); i++) {
            const wk_gguf_tensor *ti = wk_gguf_tensor_at(g, i);
            CHECK(wk_ggufw_add_tensor(w2, ti->name, ti->type, (int)ti->n_dims, ti->ne, &err) == (long)i);
        }
        wk_buf b2 = {0};
        CHECK_OK(write_all(w2, &b2, &err), &err);
        CHECK(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
        wk_buf_free(&b2);
        wk_ggufw_free(w2);
    }
    wk_gguf_close(g);
    wk_ggufw_free(w);
    wk_buf_free(&b);
}

static void test_digests(void)
{
    wk_err err;
    wk_ggufw *w = wk_ggufw_new(0, &err);
    int64_t ne[1] = {8};
    wk_ggufw_add_tensor(w, "a", WK_GGML_F32, 1, ne, &err);
    wk_ggufw_add_tensor(w, "b", WK_GGML_F16, 1, ne, &err);
    /* digests of the pattern bytes */
    char hex[2][17];
    for (int i = 0; i < 2; i++) {
        uint8_t buf[32], d[WK_HASH_MAX_DIGEST];
        size_t n = (size_t)wk_ggufw_tensor_nbytes(w, (size_t)i);
        for (size_t k = 0; k < n; k++) buf[k] = (uint8_t)(i * 7 + k);
        wk_hash_oneshot(WK_HASH_XXH3_64, buf, n, d, &err);
        wk_hex(d, 8, hex[i]);
    }
    const char *s[2] = {hex[0], hex[1]};
    size_t l[2] = {16, 16};
    wk_ggufw_kv_str(w, WK_GGUF_KEY_DIGEST_ALG, "xxh3-64", 7, &err);
    wk_ggufw_kv_arr_str(w, WK_GGUF_KEY_DIGESTS, s, l, 2, &err);
    wk_buf b = {0};
    CHECK_OK(write_all(w, &b, &err), &err);
    wk_gguf *g = wk_gguf_open_buffer(b.data, b.len, "d.gguf", &err);
    CHECK(g && wk_gguf_has_digests(g));
    if (g) CHECK_OK(wk_gguf_verify_digests(g, NULL, NULL, &err), &err);
    wk_gguf_close(g);
    /* the same through the file-level verifier wk-inspect uses */
    char path[4096];
    snprintf(path, sizeof path, "%s/digests.gguf", wk_test_tmpdir());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b.data, 1, b.len, f) == b.len);
    if (f) fclose(f);
    size_t nt = 0;
    CHECK_OK(wk_source_verify_digests(path, NULL, NULL, &nt, &err), &err);
    CHECK_EQ_U64(nt, 2);
    b.data[b.len - 32] ^= 1;  /* a byte of tensor "b" */
    f = fopen(path, "wb");
    CHECK(f && fwrite(b.data, 1, b.len, f) == b.len);
    if (f) fclose(f);
    CHECK(wk_source_verify_digests(path, NULL, NULL, &nt, &err) != 0 && err.code == WK_E_MISMATCH);
    g = wk_gguf_open_buffer(b.data, b.len, "d.gguf", &err);
    CHECK(g != NULL);
    if (g) {
        CHECK(wk_gguf_verify_digests(g, NULL, NULL, &err) != 0);
        CHECK(err.code == WK_E_MISMATCH && strstr(err.msg, "first: b") != NULL);
    }
    wk_gguf_close(g);
    wk_ggufw_free(w);
    wk_buf_free(&b);
}

/* Every prefix of a valid file is refused cleanly (no crash, no accept). */
static void test_truncated(void)
{
    wk_err err;
    wk_ggufw *w = wk_ggufw_new(0, &err);
    wk_ggufw_kv_str(w, "k", "value", 5, &err);
    const char *s[2] = {"x", "yy"};
    size_t l[2] = {1, 2};
    wk_ggufw_kv_arr_str(w, "arr", s, l, 2, &err);
    int64_t ne[2] = {4, 2};
    wk_ggufw_add_tensor(w, "t", WK_GGML_F32, 2, ne, &err);
    wk_buf b = {0};
    CHECK_OK(write_all(w, &b, &err), &err);
    size_t data_end = b.len - (32 - 32 % 32);  /* the file ends in exactly 32 data bytes */
    for (size_t n = 0; n < data_end; n++) {
        wk_gguf *g = wk_gguf_open_buffer(b.data, n, "cut.gguf", &err);
        CHECK_MSG(!g, "prefix of %zu bytes accepted", n);
        wk_gguf_close(g);
    }
    wk_ggufw_free(w);
    wk_buf_free(&b);
}

static void test_malformed(void)
{
    int64_t ne1[1] = {4};
    wk_buf b = {0};

    wk_buf_put(&b, "GGUX", 4);
    wk_buf_le32(&b, 3);
    expect_bad(&b, WK_E_FORMAT, "bad magic", "bad magic");
    wk_buf_free(&b);

    uint32_t versions[] = {0, 1, 4, 0x03000000};
    wk_code codes[] = {WK_E_FORMAT, WK_E_UNSUPPORTED, WK_E_UNSUPPORTED, WK_E_UNSUPPORTED};
    for (int i = 0; i < 4; i++) {
        head(&b, versions[i], 0, 0);
        expect_bad(&b, codes[i], "version", "bad version");
        wk_buf_free(&b);
    }

    head(&b, 3, 0, (uint64_t)1 << 62);
    expect_bad(&b, WK_E_FORMAT, "kv count", "huge kv count");
    wk_buf_free(&b);
    head(&b, 3, (uint64_t)-1, 0);
    expect_bad(&b, WK_E_FORMAT, "negative", "negative tensor count");
    wk_buf_free(&b);
    head(&b, 3, (uint64_t)1 << 40, 0);
    expect_bad(&b, WK_E_FORMAT, "tensor count", "huge tensor count");
    wk_buf_free(&b);

    head(&b, 3, 0, 2);
    str(&b, "a"); wk_buf_le32(&b, WK_GGUF_UINT8); wk_buf_putc(&b, 1);
    str(&b, "a"); wk_buf_le32(&b, WK_GGUF_UINT8); wk_buf_putc(&b, 2);
    expect_bad(&b, WK_E_FORMAT, "duplicate key", "duplicate key");
    wk_buf_free(&b);

    head(&b, 3, 0, 1);
    str(&b, ""); wk_buf_le32(&b, WK_GGUF_UINT8); wk_buf_putc(&b, 1);
    expect_bad(&b, WK_E_FORMAT, "empty key", "empty key");
    wk_buf_free(&b);

    head(&b, 3, 0, 1);
    str(&b, "a"); wk_buf_le32(&b, 13); wk_buf_putc(&b, 1);
    expect_bad(&b, WK_E_FORMAT, "invalid value type", "bad value type");
    wk_buf_free(&b);

    head(&b, 3, 0, 1);
    str(&b, "a"); wk_buf_le32(&b, WK_GGUF_ARRAY); wk_buf_le32(&b, WK_GGUF_ARRAY); wk_buf_le64(&b, 0);
    expect_bad(&b, WK_E_FORMAT, "nested", "nested array");
    wk_buf_free(&b);

    head(&b, 3, 0, 1);
    str(&b, "a"); wk_buf_le32(&b, WK_GGUF_ARRAY); wk_buf_le32(&b, WK_GGUF_UINT8); wk_buf_le64(&b, (uint64_t)1 << 31);
    expect_bad(&b, WK_E_LIMIT, "exceeds 2^30", "array count over 2^30");
    wk_buf_free(&b);

    head(&b, 3, 0, 1);
    str(&b, "a"); wk_buf_le32(&b, WK_GGUF_ARRAY); wk_buf_le32(&b, WK_GGUF_UINT32); wk_buf_le64(&b, 1000);
    expect_bad(&b, WK_E_FORMAT, "past the end", "array past EOF");
    wk_buf_free(&b);

    head(&b, 3, 0, 1);
    str(&b, "a"); wk_buf_le32(&b, WK_GGUF_STRING); wk_buf_le64(&b, (uint64_t)1 << 40);
    /* the file and offset come first, then the context (finding 8) */
    expect_bad(&b, WK_E_LIMIT, "bad.gguf: offset 45: key \"a\": string value length 1099511627776 "
               "exceeds 1 GiB", "huge string");
    wk_buf_free(&b);

    head(&b, 3, 0, 1);
    str(&b, "a"); wk_buf_le32(&b, WK_GGUF_ARRAY); wk_buf_le32(&b, WK_GGUF_STRING); wk_buf_le64(&b, 1);
    wk_buf_le64(&b, (uint64_t)1 << 40);
    expect_bad(&b, WK_E_LIMIT, "bad.gguf: offset 57: key \"a\": array element 0 length", "huge array string");
    wk_buf_free(&b);

    head(&b, 3, 0, 1);
    str(&b, "k\xff"); wk_buf_le32(&b, WK_GGUF_UINT8); wk_buf_putc(&b, 1);
    expect_bad(&b, WK_E_FORMAT, "bad.gguf: offset 33: KV 0: key is not valid UTF-8 (byte 0xff)",
               "key not UTF-8");
    wk_buf_free(&b);

    head(&b, 3, 0, 1);
    str(&b, "general.alignment"); wk_buf_le32(&b, WK_GGUF_UINT32); wk_buf_le32(&b, 48);
    expect_bad(&b, WK_E_FORMAT, "power of two", "alignment 48");
    wk_buf_free(&b);
    head(&b, 3, 0, 1);
    str(&b, "general.alignment"); wk_buf_le32(&b, WK_GGUF_UINT64); wk_buf_le64(&b, 32);
    expect_bad(&b, WK_E_FORMAT, "expected u32", "alignment u64");
    wk_buf_free(&b);

    head(&b, 3, 2, 0);
    tinfo(&b, "t", 1, ne1, WK_GGML_F32, 0);
    tinfo(&b, "t", 1, ne1, WK_GGML_F32, 32);
    data(&b, 48);
    expect_bad(&b, WK_E_FORMAT, "duplicate tensor", "duplicate tensor");
    wk_buf_free(&b);

    head(&b, 3, 2, 0);
    tinfo(&b, "a", 1, ne1, WK_GGML_F32, 0);
    tinfo(&b, "b", 1, ne1, WK_GGML_F32, 8);   /* overlaps a, misaligned */
    data(&b, 48);
    expect_bad(&b, WK_E_FORMAT, "expected 32", "overlapping offset");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    tinfo(&b, "a", 1, ne1, WK_GGML_F32, 4);   /* gap / misaligned start */
    data(&b, 48);
    expect_bad(&b, WK_E_FORMAT, "offset 4", "misaligned offset");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    int64_t ne5[5] = {1, 1, 1, 1, 1};
    tinfo(&b, "a", 5, ne5, WK_GGML_F32, 0);
    expect_bad(&b, WK_E_FORMAT, "n_dims 5", "5 dims");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    int64_t neg[1] = {-4};
    tinfo(&b, "a", 1, neg, WK_GGML_F32, 0);
    expect_bad(&b, WK_E_FORMAT, "negative", "negative ne");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    int64_t big[4] = {(int64_t)1 << 40, (int64_t)1 << 40, 1, 1};
    tinfo(&b, "a", 4, big, WK_GGML_F32, 0);
    expect_bad(&b, WK_E_LIMIT, "overflow", "overflowing shape");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    int64_t big2[1] = {(int64_t)1 << 62};
    tinfo(&b, "a", 1, big2, WK_GGML_F32, 0);
    expect_bad(&b, WK_E_LIMIT, "overflow", "overflowing byte size");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    tinfo(&b, "a", 1, ne1, 4, 0);      /* removed type Q4_2 */
    expect_bad(&b, WK_E_FORMAT, "invalid ggml type", "removed type id");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    int64_t ne33[1] = {33};
    tinfo(&b, "a", 1, ne33, WK_GGML_Q4_0, 0);
    expect_bad(&b, WK_E_FORMAT, "block size", "ne0 not a block multiple");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    char longname[80];
    memset(longname, 'x', 64);
    longname[64] = 0;
    tinfo(&b, longname, 1, ne1, WK_GGML_F32, 0);
    expect_bad(&b, WK_E_FORMAT, "at most 63", "64-byte name");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    tinfo(&b, "t\xc3", 1, ne1, WK_GGML_F32, 0);   /* a truncated 2-byte sequence */
    data(&b, 4);
    expect_bad(&b, WK_E_FORMAT, "bad.gguf: offset 33: tensor 0: name is not valid UTF-8 (byte 0xc3)",
               "tensor name not UTF-8");
    wk_buf_free(&b);

    head(&b, 3, 1, 0);
    tinfo(&b, "a", 1, ne1, WK_GGML_F32, 0);
    data(&b, 8);                        /* 16 bytes needed */
    expect_bad(&b, WK_E_FORMAT, "past the", "data past EOF");
    wk_buf_free(&b);
}

static void test_names(void)
{
    char out[64];
    int perm;
    CHECK(wk_gl_map_name("model.layers.12.self_attn.q_proj.weight", 1, out, sizeof out, &perm) == 0);
    CHECK_EQ_STR(out, "blk.12.attn_q.weight");
    CHECK(perm == 1);
    CHECK(wk_gl_map_name("model.layers.0.self_attn.k_proj.weight", 1, out, sizeof out, &perm) == 0 && perm == 2);
    CHECK(wk_gl_map_name("model.layers.0.mlp.down_proj.weight", 1, out, sizeof out, &perm) == 0);
    CHECK_EQ_STR(out, "blk.0.ffn_down.weight");
    CHECK(wk_gl_map_name("lm_head.weight", 1, out, sizeof out, &perm) == 0);
    CHECK_EQ_STR(out, "output.weight");
    CHECK(wk_gl_map_name("model.layers.3.self_attn.rotary_emb.inv_freq", 1, out, sizeof out, &perm) == 1);
    CHECK(wk_gl_map_name("layers.1.feed_forward.w3.weight", 0, out, sizeof out, &perm) == 0 && perm == 0);
    CHECK_EQ_STR(out, "blk.1.ffn_up.weight");
    CHECK(wk_gl_map_name("layers.1.attention.wk.weight", 0, out, sizeof out, &perm) == 0 && perm == 0);
    CHECK(wk_gl_map_name("tok_embeddings.weight", 0, out, sizeof out, &perm) == 0);
    CHECK_EQ_STR(out, "token_embd.weight");
    CHECK(wk_gl_map_name("rope.freqs", 0, out, sizeof out, &perm) == 1);
    CHECK(wk_gl_map_name("layers.01.attention.wk.weight", 0, out, sizeof out, &perm) == -1);
    CHECK(wk_gl_map_name("model.layers.0.self_attn.q_proj.weight", 0, out, sizeof out, &perm) == -1);
    CHECK(wk_gl_map_name("something.else", 1, out, sizeof out, &perm) == -1);
    /* llama.cpp's order: non-block tensors first, then block number, then name */
    CHECK(wk_gl_name_cmp("output.weight", "blk.0.attn_q.weight") < 0);
    CHECK(wk_gl_name_cmp("blk.2.attn_q.weight", "blk.10.attn_k.weight") < 0);
    CHECK(wk_gl_name_cmp("blk.2.attn_k.weight", "blk.2.attn_q.weight") < 0);
    CHECK(wk_gl_name_cmp("output.weight", "token_embd.weight") < 0);
    CHECK(wk_outtype_parse("bf16") == WK_OUTTYPE_BF16 && wk_outtype_parse("q4") == -1);
}

static void test_types(void)
{
    CHECK(wk_ggml_type_get(4) == NULL && wk_ggml_type_get(40) == NULL && wk_ggml_type_get(-1) == NULL);
    CHECK(wk_ggml_type_get(WK_GGML_Q8_0)->size == 34);
    CHECK(wk_ggml_type_from_name("Q4_K") == WK_GGML_Q4_K);
    CHECK(wk_ggml_type_from_dtype(WK_DT_BF16) == WK_GGML_BF16 && wk_ggml_type_from_dtype(WK_DT_U8) == -1);
    CHECK_EQ_STR(wk_gguf_type_name(WK_GGUF_FLOAT32), "f32");
    CHECK(wk_gguf_type_from_name("array") == WK_GGUF_ARRAY);
}

int main(void)
{
    WK_RUN(test_golden_bytes);
    WK_RUN(test_roundtrip);
    WK_RUN(test_digests);
    WK_RUN(test_truncated);
    WK_RUN(test_malformed);
    WK_RUN(test_names);
    WK_RUN(test_types);
    return wk_test_summary();
}
