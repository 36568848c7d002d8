/* Unit tests: wk_xor (XOR kernel, payload reader, gzip writer, files, plans). */
#include "wk_xor.h"
#include "wk_xorbase.h"
#include "wk_xorcheck.h"
#include "wk_xormeta.h"
#include "wk_buf.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ------------------------------------------------------------ */

/* Deterministic pseudo-random bytes, half of them small (compressible). */
static void fill_bytes(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        p[i] = (uint8_t)(i & 1 ? x : x & 3);
    }
}

/* Append one gzip member of p[0..n) to b (zlib's gzip wrapper). */
static void gz_member(wk_buf *b, const uint8_t *p, size_t n, int level)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    CHECK(deflateInit2(&z, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t cap = deflateBound(&z, n) + 64;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
    wk_buf_put(b, out, cap - z.avail_out);
    deflateEnd(&z);
    free(out);
}

/* Read a whole payload through a reader with reads of `step` bytes. */
static int read_all(wk_payload *r, wk_buf *out, size_t step, wk_err *err)
{
    uint8_t *buf = malloc(step);
    int rc = 0;
    for (;;) {
        size_t got;
        rc = wk_payload_read(r, buf, step, &got, err);
        if (rc || got == 0) break;
        wk_buf_put(out, buf, got);
    }
    free(buf);
    return rc;
}

static char *tmp_path(const char *name) { return wk_path_join(wk_test_tmpdir(), name); }

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(n == 0 || fwrite(p, 1, n, f) == n);
    fclose(f);
}

/* Whole file into b (b reset first); -1 if unreadable. */
static int slurp(const char *path, wk_buf *b)
{
    b->len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    uint8_t tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) wk_buf_put(b, tmp, n);
    fclose(f);
    return 0;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Number of leftover temporary files (".*.wk-tmp.*") in dir. */
static int temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".wk-tmp.")) n++;
    if (d) closedir(d);
    return n;
}

/* Reference of the length rule: payload XOR zero-extended/cut base. */
static void xor_ref(uint8_t *out, const uint8_t *p, size_t n, const uint8_t *b, size_t bn)
{
    for (size_t i = 0; i < n; i++) out[i] = p[i] ^ (i < bn ? b[i] : 0);
}

/* ---- the kernel --------------------------------------------------------- */

static void test_apply_length_rule(void)
{
    uint8_t p[300], b[300], out[300], ref[300];
    fill_bytes(p, sizeof p, 1);
    fill_bytes(b, sizeof b, 2);
    static const size_t base_lens[] = {0, 1, 31, 32, 33, 100, 299, 300};
    for (size_t k = 0; k < sizeof base_lens / sizeof base_lens[0]; k++) {
        size_t bn = base_lens[k];
        xor_ref(ref, p, 300, b, bn);
        /* whole range at once, then in odd pieces, then in place */
        wk_xor_apply(out, p, 300, b, bn, 0);
        CHECK_MSG(memcmp(out, ref, 300) == 0, "base_len %zu: one piece", bn);
        memset(out, 0xaa, sizeof out);
        for (size_t off = 0; off < 300; off += 37) {
            size_t n = 300 - off < 37 ? 300 - off : 37;
            wk_xor_apply(out + off, p + off, n, b, bn, off);
        }
        CHECK_MSG(memcmp(out, ref, 300) == 0, "base_len %zu: pieces", bn);
        memcpy(out, p, 300);
        wk_xor_apply(out, out, 300, b, bn, 0);
        CHECK_MSG(memcmp(out, ref, 300) == 0, "base_len %zu: in place", bn);
    }
    /* a base longer than the payload is cut: only n bytes are produced */
    memset(out, 0x55, sizeof out);
    wk_xor_apply(out, p, 10, b, 300, 0);
    CHECK(out[10] == 0x55);
    xor_ref(ref, p, 10, b, 10);
    CHECK(memcmp(out, ref, 10) == 0);
    wk_xor_apply(out, p, 0, NULL, 0, 0);  /* empty, no base */
}

/* ---- the payload reader ------------------------------------------------- */

/* Engine the reader tests run with (they run once per available engine). */
static wk_inflate_engine engine = WK_INFLATE_ZLIB;

static wk_payload *open_mem(const void *p, size_t n, const char *label, wk_payload_kind kind,
                            wk_err *err)
{
    wk_payload *r = wk_payload_open_mem(p, n, label, kind, err);
    if (r && wk_payload_set_engine(r, engine, err)) {
        wk_payload_close(r);
        return NULL;
    }
    return r;
}

static int have_isal(void)
{
    wk_err err;
    wk_payload *r = wk_payload_open_mem("", 0, "probe", WK_PAYLOAD_AUTO, &err);
    int ok = r && wk_payload_set_engine(r, WK_INFLATE_ISAL, &err) == 0;
    wk_payload_close(r);
    return ok;
}

static void test_reader_raw_and_gzip(void)
{
    size_t n = 200000;
    uint8_t *data = malloc(n);
    fill_bytes(data, n, 3);
    wk_buf gz, out;
    wk_buf_init(&gz);
    wk_buf_init(&out);
    gz_member(&gz, data, n, 6);
    wk_err err;
    static const size_t steps[] = {1, 7, 4096, 1 << 20};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        /* auto-detected gzip, with tiny avail_in chunks too */
        wk_payload *r = open_mem(gz.data, gz.len, "p.gz", WK_PAYLOAD_AUTO, &err);
        CHECK(r && wk_payload_is_gzip(r));
        if (!r) continue;
        if (steps[s] < 100) wk_payload_set_chunk(r, steps[s] + 2);
        out.len = 0;
        CHECK_OK(read_all(r, &out, steps[s], &err), &err);
        CHECK(out.len == n && memcmp(out.data, data, n) == 0);
        CHECK(wk_payload_members(r) == 1);
        CHECK(wk_payload_in_pos(r) == gz.len);
        wk_payload_close(r);
    }
    /* raw: auto on non-gzip bytes, and RAW forced on gzip bytes */
    wk_payload *r = open_mem(data, n, "p.raw", WK_PAYLOAD_AUTO, &err);
    CHECK(r && !wk_payload_is_gzip(r));
    out.len = 0;
    if (r) CHECK_OK(read_all(r, &out, 999, &err), &err);
    CHECK(out.len == n && memcmp(out.data, data, n) == 0);
    wk_payload_close(r);
    r = open_mem(gz.data, gz.len, "p.gz", WK_PAYLOAD_RAW, &err);
    out.len = 0;
    if (r) CHECK_OK(read_all(r, &out, 999, &err), &err);
    CHECK(out.len == gz.len && memcmp(out.data, gz.data, gz.len) == 0);
    wk_payload_close(r);
    /* empty and one-byte payloads are raw */
    r = open_mem("", 0, "e", WK_PAYLOAD_AUTO, &err);
    out.len = 0;
    CHECK(r && read_all(r, &out, 10, &err) == 0 && out.len == 0);
    wk_payload_close(r);
    r = open_mem("\x1f", 1, "one", WK_PAYLOAD_AUTO, &err);
    CHECK(r && !wk_payload_is_gzip(r));
    wk_payload_close(r);
    /* GZIP demanded from a raw payload */
    r = open_mem("{\"a\":1}", 7, "cfg.json", WK_PAYLOAD_GZIP, &err);
    CHECK(r == NULL && err.code == WK_E_FORMAT);
    CHECK(strstr(err.msg, "cfg.json: not a gzip file (starts with 7b 22") != NULL);
    wk_buf_free(&gz);
    wk_buf_free(&out);
    free(data);
}

static void test_reader_multi_member(void)
{
    size_t n = 100000;
    uint8_t *data = malloc(n);
    fill_bytes(data, n, 4);
    wk_buf gz, out;
    wk_buf_init(&gz);
    wk_buf_init(&out);
    gz_member(&gz, data, 30000, 1);
    gz_member(&gz, data + 30000, 0, 6);           /* an empty member */
    gz_member(&gz, data + 30000, n - 30000, 9);
    size_t len_no_pad = gz.len;
    wk_buf_put(&gz, "\0\0\0\0", 4);               /* zero padding, as tar/dd leave */
    wk_err err;
    wk_payload *r = open_mem(gz.data, gz.len, "multi.gz", WK_PAYLOAD_GZIP, &err);
    CHECK(r != NULL);
    if (r) {
        wk_payload_set_chunk(r, 333);
        CHECK_OK(read_all(r, &out, 5000, &err), &err);
        CHECK(out.len == n && memcmp(out.data, data, n) == 0);
        CHECK_EQ_U64(wk_payload_members(r), 3);
        wk_payload_close(r);
    }
    /* garbage after a member is an error naming the offset */
    gz.len = len_no_pad;
    wk_buf_put(&gz, "junk", 4);
    r = open_mem(gz.data, gz.len, "junk.gz", WK_PAYLOAD_AUTO, &err);
    out.len = 0;
    CHECK(r && read_all(r, &out, 5000, &err) == -1);
    char want[128];
    snprintf(want, sizeof want, "junk.gz: trailing data at byte offset %zu after gzip member 3",
             len_no_pad);
    CHECK_MSG(strstr(err.msg, want) != NULL, "got \"%s\"", err.msg);
    wk_payload_close(r);
    wk_buf_free(&gz);
    wk_buf_free(&out);
    free(data);
}

static void test_reader_corrupt(void)
{
    size_t n = 50000;
    uint8_t *data = malloc(n);
    fill_bytes(data, n, 5);
    wk_buf gz, out;
    wk_buf_init(&gz);
    wk_buf_init(&out);
    gz_member(&gz, data, n, 6);
    wk_err err;
    /* truncated at several points: always an error naming the offset */
    size_t cuts[] = {3, 10, gz.len / 2, gz.len - 8, gz.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        wk_payload *r = open_mem(gz.data, cuts[i], "cut.gz", WK_PAYLOAD_AUTO, &err);
        CHECK(r != NULL);
        if (!r) continue;
        out.len = 0;
        int rc = read_all(r, &out, 4096, &err);
        CHECK_MSG(rc == -1, "cut at %zu accepted", cuts[i]);
        char want[96];
        snprintf(want, sizeof want, "cut.gz: truncated gzip stream: input ends at byte offset %zu",
                 cuts[i]);
        CHECK_MSG(strstr(err.msg, want) != NULL, "cut %zu: \"%s\"", cuts[i], err.msg);
        wk_payload_close(r);
    }
    /* a flipped CRC byte */
    gz.data[gz.len - 6] ^= 1;
    wk_payload *r = open_mem(gz.data, gz.len, "crc.gz", WK_PAYLOAD_AUTO, &err);
    out.len = 0;
    CHECK(r && read_all(r, &out, 4096, &err) == -1);
    CHECK_MSG(strstr(err.msg, "crc.gz: corrupt gzip data in member 1") != NULL &&
              strstr(err.msg, "incorrect data check") != NULL, "got \"%s\"", err.msg);
    wk_payload_close(r);
    gz.data[gz.len - 6] ^= 1;
    /* a wrong ISIZE (length) in the trailer */
    gz.data[gz.len - 3] ^= 1;
    r = open_mem(gz.data, gz.len, "len.gz", WK_PAYLOAD_AUTO, &err);
    out.len = 0;
    CHECK(r && read_all(r, &out, 4096, &err) == -1 && err.code == WK_E_FORMAT);
    CHECK_MSG(strstr(err.msg, "len.gz: corrupt gzip data in member 1") != NULL, "got \"%s\"", err.msg);
    wk_payload_close(r);
    gz.data[gz.len - 3] ^= 1;
    /* a damaged deflate stream */
    gz.data[20] ^= 0xff;
    gz.data[21] ^= 0xff;
    r = open_mem(gz.data, gz.len, "bad.gz", WK_PAYLOAD_AUTO, &err);
    out.len = 0;
    CHECK(r && read_all(r, &out, 4096, &err) == -1 && err.code == WK_E_FORMAT);
    CHECK_MSG(strstr(err.msg, "bad.gz:") != NULL && strstr(err.msg, "byte offset") != NULL,
              "got \"%s\"", err.msg);
    wk_payload_close(r);
    wk_buf_free(&gz);
    wk_buf_free(&out);
    free(data);
}

/* docs/security.md findings 3 and 4 (regress inputs tests/fuzz/regress/xor/
 * isal_*.gz), checked with whichever engine is active: a gzip header with
 * reserved FLG bits is refused as zlib refuses it, and after a corrupt-data
 * error the consumed position never passes the end of the input. */
static void test_reader_isal_findings(void)
{
    static const uint8_t past_end[26] = {
        0x1f, 0x8b, 0x08, 0xa1, 0x91, 0x08, 0x1b, 0x1b, 0x03, 0x00, 0x1b, 0x14, 0x1b,
        0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0xdb, 0xdb, 0xdb, 0xdb, 0x1b, 0x1b, 0x1b, 0x91};
    wk_err err;
    wk_buf out, gz;
    wk_buf_init(&out);
    wk_buf_init(&gz);
    /* finding 4: FLG 0xa1 also has reserved bits; the damage must be found
     * and the position must stay within the 26 bytes */
    uint8_t bad[26];
    memcpy(bad, past_end, sizeof bad);
    for (int variant = 0; variant < 2; variant++) {
        if (variant) bad[3] = 0x01;  /* legal flags: igzip must fail in the deflate data */
        wk_payload *r = open_mem(bad, sizeof bad, "past_end.gz", WK_PAYLOAD_AUTO, &err);
        CHECK(r != NULL);
        if (!r) continue;
        out.len = 0;
        CHECK(read_all(r, &out, 4096, &err) == -1 && err.code == WK_E_FORMAT);
        CHECK_MSG(wk_payload_in_pos(r) <= wk_payload_in_size(r), "in_pos %llu > size %llu",
                  (unsigned long long)wk_payload_in_pos(r),
                  (unsigned long long)wk_payload_in_size(r));
        CHECK_MSG(!strstr(err.msg, "offset 27") && !strstr(err.msg, "offset 28"), "%s", err.msg);
        wk_payload_close(r);
    }
    /* finding 3: a valid member whose FLG has the reserved bits 0xE0 set */
    uint8_t data[1000];
    fill_bytes(data, sizeof data, 9);
    gz_member(&gz, data, sizeof data, 6);
    gz.data[3] = 0xe0;
    wk_payload *r = open_mem(gz.data, gz.len, "reserved.gz", WK_PAYLOAD_AUTO, &err);
    CHECK(r != NULL);
    if (r) {
        CHECK(read_all(r, &out, 4096, &err) == -1 && err.code == WK_E_FORMAT);
        CHECK_MSG(strstr(err.msg, "unknown header flags set") != NULL, "%s", err.msg);
        wk_payload_close(r);
    }
    /* and in a second member */
    gz.data[3] = 0;
    size_t one = gz.len;
    gz_member(&gz, data, sizeof data, 6);
    gz.data[one + 3] = 0x20;
    r = open_mem(gz.data, gz.len, "reserved2.gz", WK_PAYLOAD_AUTO, &err);
    CHECK(r != NULL);
    if (r) {
        out.len = 0;
        CHECK(read_all(r, &out, 4096, &err) == -1 && err.code == WK_E_FORMAT);
        CHECK_MSG(strstr(err.msg, "unknown header flags set") && strstr(err.msg, "member 2"),
                  "%s", err.msg);
        wk_payload_close(r);
    }
    /* finding 7: --version names the default engine — ISA-L when built in (issue #23),
     * zlib otherwise — and says nothing else is the default */
#ifdef WK_HAVE_ISAL
    CHECK_MSG(strcmp(wk_inflate_engines(), "isa-l (default), zlib") == 0, "%s", wk_inflate_engines());
#else
    CHECK_MSG(strcmp(wk_inflate_engines(), "zlib") == 0, "%s", wk_inflate_engines());
#endif
    wk_buf_free(&out);
    wk_buf_free(&gz);
}

/* A payload file truncated after it was opened: an error, not SIGBUS. */
static void test_reader_file_shrinks(void)
{
    size_t n = (6u << 20) + 5;
    uint8_t *data = malloc(n);
    fill_bytes(data, n, 13);
    data[0] = 'r';  /* not gzip */
    char *path = tmp_path("shrinks.bin");
    write_file(path, data, n);
    wk_err err;
    wk_payload *r = wk_payload_open(path, WK_PAYLOAD_AUTO, &err);
    CHECK(r != NULL);
    if (r) {
        CHECK(truncate(path, 1000) == 0);
        wk_buf out;
        wk_buf_init(&out);
        CHECK(read_all(r, &out, 1 << 20, &err) == -1 && err.code == WK_E_IO);
        CHECK_MSG(strstr(err.msg, "shrank while being read") &&
                  strstr(err.msg, "no data at byte offset 4194304 of 6291461") && strstr(err.msg, path),
                  "got \"%s\"", err.msg);
        wk_buf_free(&out);
        wk_payload_close(r);
    }
    free(path);
    free(data);
}

/* ---- the gzip writer ---------------------------------------------------- */

typedef struct {
    const uint8_t *p;
} mem_src;

static int mem_fill(void *ctx, uint64_t off, size_t n, wk_sink *sink, wk_err *err)
{
    return wk_sink_write(sink, ((const mem_src *)ctx)->p + off, n, err);
}

/* Compress with wk_gz_write at some thread count; returns the file bytes. */
static void gz_write_file(const uint8_t *p, size_t n, int threads, int level, wk_buf *out)
{
    char *path = tmp_path("gzw.gz");
    wk_err err;
    wk_out *o = wk_out_open(path, NULL, &err);
    CHECK(o != NULL);
    mem_src src = {p};
    wk_gz_opts opts = {level, threads, NULL, NULL};
    wk_sink os;
    CHECK_OK(wk_gz_write(wk_sink_out(&os, o), path, n, mem_fill, &src, &opts, &err), &err);
    CHECK_OK(wk_out_commit(o, &err), &err);
    CHECK(slurp(path, out) == 0);
    free(path);
}

static void test_gz_write_deterministic(void)
{
    static const size_t sizes[] = {0, 1, WK_GZ_BLOCK, WK_GZ_BLOCK + 1, 3 * WK_GZ_BLOCK + 12345};
    uint8_t *data = malloc(3 * WK_GZ_BLOCK + 12345);
    fill_bytes(data, 3 * WK_GZ_BLOCK + 12345, 6);
    wk_buf a, b, dec;
    wk_buf_init(&a);
    wk_buf_init(&b);
    wk_buf_init(&dec);
    wk_err err;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        gz_write_file(data, n, 1, 6, &a);
        static const int threads[] = {2, 3, 8};
        for (size_t t = 0; t < 3; t++) {
            gz_write_file(data, n, threads[t], 6, &b);
            CHECK_MSG(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
                      "size %zu: -j1 and -j%d differ", n, threads[t]);
        }
        /* fixed header: magic, deflate, no flags, mtime 0, OS 255 */
        CHECK(a.len >= 18 && memcmp(a.data, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10) == 0);
        /* it is one member that decodes to the input (CRC and ISIZE checked) */
        wk_payload *r = wk_payload_open_mem(a.data, a.len, "w.gz", WK_PAYLOAD_GZIP, &err);
        dec.len = 0;
        CHECK(r && read_all(r, &dec, 1 << 20, &err) == 0);
        CHECK_MSG(dec.len == n && (n == 0 || memcmp(dec.data, data, n) == 0), "size %zu", n);
        CHECK(r && wk_payload_members(r) == 1);
        wk_payload_close(r);
        /* and zlib's own one-shot decoder agrees */
        uLongf dn = (uLongf)n + 1;
        uint8_t *d2 = malloc(n + 1);
        z_stream z;
        memset(&z, 0, sizeof z);
        inflateInit2(&z, 16 + 15);
        z.next_in = a.data;
        z.avail_in = (uInt)a.len;
        z.next_out = d2;
        z.avail_out = (uInt)dn;
        CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out == n);
        inflateEnd(&z);
        free(d2);
    }
    /* level 9 sets XFL 2, level 1 sets 4 */
    gz_write_file(data, 1000, 1, 9, &a);
    CHECK(a.data[8] == 2);
    gz_write_file(data, 1000, 1, 1, &a);
    CHECK(a.data[8] == 4);
    wk_buf_free(&a);
    wk_buf_free(&b);
    wk_buf_free(&dec);
    free(data);
}

/* ---- one file ----------------------------------------------------------- */

typedef struct {
    char *target, *base, *payload, *out;
} files4;

static files4 make_files(const char *tag, const uint8_t *t, size_t tn, const uint8_t *b,
                         size_t bn)
{
    char name[64];
    files4 f;
    snprintf(name, sizeof name, "%s.target", tag);
    f.target = tmp_path(name);
    snprintf(name, sizeof name, "%s.base", tag);
    f.base = tmp_path(name);
    snprintf(name, sizeof name, "%s.payload", tag);
    f.payload = tmp_path(name);
    snprintf(name, sizeof name, "%s.out", tag);
    f.out = tmp_path(name);
    write_file(f.target, t, tn);
    write_file(f.base, b, bn);
    return f;
}

static void free_files(files4 *f)
{
    free(f->target);
    free(f->base);
    free(f->payload);
    free(f->out);
}

/* Encode then decode for a target/base length pair; check bytes and hashes. */
static void roundtrip(size_t tn, size_t bn, int gzip, int pipeline)
{
    uint8_t *t = malloc(tn + 1), *b = malloc(bn + 1);
    fill_bytes(t, tn, 7);
    fill_bytes(b, bn, 8);
    for (size_t i = 0; i < tn && i < bn; i += 3) b[i] = t[i];  /* some equal bytes */
    files4 f = make_files("rt", t, tn, b, bn);
    wk_err err;
    wk_xor_result res;
    wk_xor_encode_args ea = {f.target, f.base, f.payload, gzip, 1, 2, NULL, NULL};
    CHECK_OK(wk_xor_encode_file(&ea, &res, &err), &err);
    uint8_t want[32];
    CHECK_OK(wk_hash_oneshot(WK_HASH_SHA256, t, tn, want, &err), &err);
    CHECK(memcmp(res.sha256, want, 32) == 0 && res.committed && res.in_bytes == tn);
    /* the payload is target XOR base, exactly tn bytes, before compression */
    wk_buf pay, raw;
    wk_buf_init(&pay);
    wk_buf_init(&raw);
    CHECK(slurp(f.payload, &pay) == 0);
    wk_payload *r = wk_payload_open_mem(pay.data, pay.len, "p", WK_PAYLOAD_AUTO, &err);
    CHECK(r && read_all(r, &raw, 65536, &err) == 0);
    wk_payload_close(r);
    uint8_t *ref = malloc(tn + 1);
    xor_ref(ref, t, tn, b, bn);
    CHECK_MSG(raw.len == tn && (tn == 0 || memcmp(raw.data, ref, tn) == 0),
              "payload bytes tn=%zu bn=%zu gzip=%d", tn, bn, gzip);
    wk_xor_decode_args da = {f.payload, f.base, f.out, WK_PAYLOAD_AUTO, want, 0, pipeline,
                             NULL, NULL, WK_INFLATE_AUTO, NULL, NULL, NULL, 0, 0, NULL};
    CHECK_OK(wk_xor_decode_file(&da, &res, &err), &err);
    CHECK(res.verified == 1 && res.committed && res.out_bytes == tn && res.gzip == gzip);
    CHECK(slurp(f.out, &raw) == 0);
    CHECK_MSG(raw.len == tn && (tn == 0 || memcmp(raw.data, t, tn) == 0),
              "decoded bytes tn=%zu bn=%zu gzip=%d", tn, bn, gzip);
    wk_buf_free(&pay);
    wk_buf_free(&raw);
    free_files(&f);
    free(ref);
    free(t);
    free(b);
}

static void test_file_roundtrips(void)
{
    static const size_t pairs[][2] = {
        {0, 0}, {0, 100}, {100, 0}, {4096, 4096}, {5000, 100}, {100, 5000},
        {(9u << 20) + 7, (5u << 20) + 3}, {(5u << 20) + 3, (9u << 20) + 7},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        for (int gzip = 0; gzip <= 1; gzip++)
            roundtrip(pairs[i][0], pairs[i][1], gzip, (int)(i & 1));
}

static void test_decode_failures(void)
{
    uint8_t t[5000], b[3000];
    fill_bytes(t, sizeof t, 9);
    fill_bytes(b, sizeof b, 10);
    files4 f = make_files("bad", t, sizeof t, b, sizeof b);
    wk_err err;
    wk_xor_result res;
    wk_xor_encode_args ea = {f.target, f.base, f.payload, 1, 6, 1, NULL, NULL};
    CHECK_OK(wk_xor_encode_file(&ea, &res, &err), &err);
    uint8_t wrong[32] = {1};
    char *dir = wk_path_join(wk_test_tmpdir(), "");
    /* digest mismatch: no final file, message with both digests */
    wk_xor_decode_args da = {f.payload, f.base, f.out, WK_PAYLOAD_AUTO, wrong, 0, 1, NULL, NULL,
                             WK_INFLATE_AUTO, NULL, NULL, NULL, 0, 0, NULL};
    CHECK(wk_xor_decode_file(&da, &res, &err) == -1 && err.code == WK_E_MISMATCH);
    CHECK(strstr(err.msg, "expected 0100000000") != NULL && strstr(err.msg, "output removed"));
    CHECK(!exists(f.out) && res.verified == 0 && !res.committed);
    /* --keep-bad keeps it */
    da.keep_bad = 1;
    CHECK(wk_xor_decode_file(&da, &res, &err) == -1 && err.code == WK_E_MISMATCH);
    CHECK(exists(f.out) && res.committed);
    unlink(f.out);
    /* missing base */
    char *nobase = tmp_path("no-such-base");
    wk_xor_decode_args db = {f.payload, nobase, f.out, WK_PAYLOAD_AUTO, NULL, 0, 1, NULL, NULL,
                             WK_INFLATE_AUTO, NULL, NULL, NULL, 0, 0, NULL};
    CHECK(wk_xor_decode_file(&db, &res, &err) == -1 && err.code == WK_E_IO);
    CHECK(strstr(err.msg, "base file") && strstr(err.msg, "no-such-base"));
    CHECK(!exists(f.out));
    /* truncated payload: error names file and offset, nothing left behind */
    wk_buf pay;
    wk_buf_init(&pay);
    CHECK(slurp(f.payload, &pay) == 0);
    write_file(f.payload, pay.data, pay.len - 10);
    for (int pipe = 0; pipe <= 1; pipe++) {
        da.keep_bad = 0;
        da.expect = NULL;
        da.pipeline = pipe;
        CHECK(wk_xor_decode_file(&da, &res, &err) == -1 && err.code == WK_E_FORMAT);
        CHECK_MSG(strstr(err.msg, f.payload) && strstr(err.msg, "truncated gzip stream") &&
                  strstr(err.msg, "byte offset"), "got \"%s\"", err.msg);
        CHECK(!exists(f.out));
    }
    CHECK(temp_files(wk_test_tmpdir()) == 0);
    /* refusing to overwrite an input */
    write_file(f.payload, pay.data, pay.len);
    wk_xor_decode_args dc = {f.payload, f.base, f.base, WK_PAYLOAD_AUTO, NULL, 0, 1, NULL, NULL,
                             WK_INFLATE_AUTO, NULL, NULL, NULL, 0, 0, NULL};
    CHECK(wk_xor_decode_file(&dc, &res, &err) == -1 && err.code == WK_E_UNSAFE);
    wk_buf_free(&pay);
    free(nobase);
    free(dir);
    free_files(&f);
}

/* ---- directories -------------------------------------------------------- */

static char *mkdir_tmp(const char *name)
{
    char *p = tmp_path(name);
    mkdir(p, 0755);
    return p;
}

static void put(const char *dir, const char *name, const void *p, size_t n)
{
    char *path = wk_path_join(dir, name);
    write_file(path, p, n);
    free(path);
}

static int done_calls;

/* The done hook runs before the commit, on the complete temporary: it holds
 * every byte, the digest is known, nothing is under it->out yet. */
static int count_done(void *ctx, wk_xor_item *it, const char *tmp, int *keep, wk_err *err)
{
    (void)ctx;
    (void)keep;
    struct stat st;
    __atomic_add_fetch(&done_calls, 1, __ATOMIC_SEQ_CST);
    int ok = !it->res.committed && it->res.verified == 1 && stat(tmp, &st) == 0 &&
             (uint64_t)st.st_size == it->res.out_bytes && strcmp(tmp, it->out) != 0;
    return ok ? 0 : wk_err_set(err, WK_E_INTERNAL, "%s: done hook saw a wrong state", it->name);
}

/* A done hook that refuses every file (keep: commit anyway). */
static int refuse_done(void *ctx, wk_xor_item *it, const char *tmp, int *keep, wk_err *err)
{
    (void)tmp;
    *keep = ctx != NULL;
    return wk_err_set(err, WK_E_MISMATCH, "%s: refused by the hook", it->name);
}

static void test_plan_and_run(void)
{
    char *ft = mkdir_tmp("ft"), *base = mkdir_tmp("base"), *pay = tmp_path("pay");
    char *out = tmp_path("out/nested");
    uint8_t t[70000], b[60000];
    fill_bytes(t, sizeof t, 11);
    fill_bytes(b, sizeof b, 12);
    put(ft, "a.bin", t, sizeof t);
    put(base, "a.bin", b, sizeof b);
    put(ft, "b.json", "{\"x\": 2}", 8);
    put(base, "b.json", "{\"x\": 1, \"more\": true}", 22);
    put(ft, "added_tokens.json", "{\"<x>\": 1}", 10);
    put(ft, "README.md", "docs", 4);
    put(ft, ".hidden", "h", 1);
    char *sub = wk_path_join(ft, "subdir");
    mkdir(sub, 0755);
    wk_xor_plan p;
    wk_err err;
    CHECK_OK(wk_xor_plan_make(&p, pay, ft, base, 1, &err), &err);
    CHECK_EQ_U64(p.n, 5);  /* README.md, a.bin, added_tokens.json, b.json, subdir */
    static const char *const names[] = {"README.md", "a.bin", "added_tokens.json", "b.json",
                                        "subdir"};
    static const wk_xor_action acts[] = {WK_XOR_DO_SKIP, WK_XOR_DO_XOR, WK_XOR_DO_COPY,
                                         WK_XOR_DO_XOR, WK_XOR_DO_SKIP};
    for (size_t i = 0; i < p.n && i < 5; i++) {
        CHECK_EQ_STR(p.items[i].name, names[i]);
        CHECK_MSG(p.items[i].action == acts[i], "%s: action %d", names[i], (int)p.items[i].action);
    }
    wk_xor_run_opts ro = {WK_PAYLOAD_AUTO, 1, 6, 2, 0, 1, NULL, NULL, NULL, NULL, WK_INFLATE_AUTO, NULL, 0};
    CHECK_OK(wk_xor_run(&p, pay, &ro, &err), &err);
    wk_manifest m;
    wk_manifest_init(&m);
    for (size_t i = 0; i < p.n; i++)
        if (p.items[i].action != WK_XOR_DO_SKIP)
            CHECK_OK(wk_manifest_add(&m, p.items[i].name, p.items[i].res.sha256, &err), &err);
    wk_xor_plan_free(&p);

    /* decode it back with the manifest, files in parallel, hook after each */
    CHECK_OK(wk_xor_plan_make(&p, out, pay, base, 0, &err), &err);
    CHECK_OK(wk_xor_plan_expect(&p, &m, &err), &err);
    ro.done = count_done;
    done_calls = 0;
    CHECK_OK(wk_xor_run(&p, out, &ro, &err), &err);
    CHECK(done_calls == 3);
    for (size_t i = 0; i < p.n; i++) CHECK(p.items[i].res.verified == 1);
    wk_xor_plan_free(&p);
    wk_buf got;
    wk_buf_init(&got);
    char *o1 = wk_path_join(out, "a.bin"), *o2 = wk_path_join(out, "added_tokens.json");
    CHECK(slurp(o1, &got) == 0 && got.len == sizeof t && memcmp(got.data, t, sizeof t) == 0);
    CHECK(slurp(o2, &got) == 0 && got.len == 10 && memcmp(got.data, "{\"<x>\": 1}", 10) == 0);

    /* a hook that refuses: the earlier outputs stay exactly as they were
     * (issue #24 item 4: decide before the rename); keep: committed anyway */
    put(out, "a.bin", "earlier", 7);
    CHECK_OK(wk_xor_plan_make(&p, out, pay, base, 0, &err), &err);
    ro.done = refuse_done;
    ro.done_ctx = NULL;
    CHECK(wk_xor_run(&p, out, &ro, &err) == -1);
    for (size_t i = 0; i < p.n; i++)
        if (p.items[i].action != WK_XOR_DO_SKIP)
            CHECK(p.items[i].status == -1 && !p.items[i].res.committed &&
                  strstr(p.items[i].err.msg, "refused by the hook"));
    wk_xor_plan_free(&p);
    CHECK(slurp(o1, &got) == 0 && got.len == 7 && memcmp(got.data, "earlier", 7) == 0);
    CHECK(slurp(o2, &got) == 0 && got.len == 10);
    CHECK_OK(wk_xor_plan_make(&p, out, pay, base, 0, &err), &err);
    ro.done_ctx = &ro;  /* keep */
    CHECK(wk_xor_run(&p, out, &ro, &err) == -1);
    for (size_t i = 0; i < p.n; i++)
        if (p.items[i].action != WK_XOR_DO_SKIP)
            CHECK(p.items[i].status == -1 && p.items[i].res.committed);
    wk_xor_plan_free(&p);
    CHECK(slurp(o1, &got) == 0 && got.len == sizeof t && memcmp(got.data, t, sizeof t) == 0);
    ro.done = count_done;
    ro.done_ctx = NULL;

    /* a manifest naming a file the payload dir lacks, and a missing base */
    uint8_t d[32] = {0};
    CHECK_OK(wk_manifest_add(&m, "ghost.bin", d, &err), &err);
    char *base2 = mkdir_tmp("base2");
    put(base2, "b.json", "{}", 2);
    CHECK_OK(wk_xor_plan_make(&p, out, pay, base2, 0, &err), &err);
    CHECK_OK(wk_xor_plan_expect(&p, &m, &err), &err);
    CHECK(wk_xor_run(&p, out, &ro, &err) == -1);
    CHECK_MSG(strstr(err.msg, "3 of 4 files failed") != NULL, "got \"%s\"", err.msg);
    for (size_t i = 0; i < p.n; i++) {
        const wk_xor_item *it = &p.items[i];
        if (!strcmp(it->name, "a.bin"))
            CHECK(it->status == -1 && strstr(it->err.msg, "base file missing"));
        else if (!strcmp(it->name, "ghost.bin"))
            CHECK(it->action == WK_XOR_DO_MISSING && it->status == -1);
        else if (!strcmp(it->name, "b.json"))  /* wrong base: decoded bytes differ */
            CHECK(it->status == -1 && it->err.code == WK_E_MISMATCH);
    }
    wk_xor_plan_free(&p);
    wk_buf_free(&got);
    wk_manifest_free(&m);
    free(o1);
    free(o2);
    free(sub);
    free(base2);
    free(ft);
    free(base);
    free(pay);
    free(out);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_manifest_fit_and_find(void)
{
    wk_manifest m;
    wk_err err;
    wk_manifest_init(&m);
    CHECK_OK(wk_manifest_load(&m, wk_test_src("checksums/metharme-13b.sha256"), &err), &err);
    char *names[12];
    for (size_t i = 0; i < m.n; i++) names[i] = m.entries[i].name;
    size_t n = m.n;
    CHECK(wk_xor_manifest_fit(&m, names, n) == 0);
    CHECK(wk_xor_manifest_fit(&m, names, n - 1) == -1);       /* a manifest name absent */
    char aux[] = "added_tokens.json", other[] = "zzz-other.bin", stm[] = "special_tokens_map.json";
    char *sorted[12], *more[12];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) sorted[k++] = names[i];
    sorted[k++] = aux;
    sorted[k++] = stm;
    qsort(sorted, k, sizeof *sorted, cmp_names);
    CHECK(wk_xor_manifest_fit(&m, sorted, k) == 2);            /* two auxiliary extras */
    memcpy(more, names, n * sizeof *names);
    more[n] = aux;
    qsort(more, n + 1, sizeof *more, cmp_names);
    CHECK(wk_xor_manifest_fit(&m, more, n + 1) == 1);
    memcpy(more, names, n * sizeof *names);
    more[n] = other;
    qsort(more, n + 1, sizeof *more, cmp_names);
    CHECK(wk_xor_manifest_fit(&m, more, n + 1) == -1);        /* a non-auxiliary extra */

    /* discovery over the shipped checksums/ (twice: the same file counts once) */
    const char *dirs[] = {wk_test_src("checksums"), NULL, "/nonexistent"};
    char *copy = strdup(dirs[0]);
    dirs[1] = copy;
    char *path = NULL;
    CHECK_OK(wk_xor_find_manifest(dirs, 3, sorted, k, &path, &err), &err);
    CHECK_MSG(path && strstr(path, "checksums/metharme-13b.sha256"), "got %s", path ? path : "-");
    free(path);
    CHECK_OK(wk_xor_find_manifest(dirs, 3, more, n + 1, &path, &err), &err);
    CHECK(path == NULL);
    /* two equally good candidates: ambiguous */
    char *amb = mkdir_tmp("amb");
    char *m1 = wk_path_join(amb, "one.sha256"), *m2 = wk_path_join(amb, "two.sha256");
    wk_manifest_write(&m, m1, &err);
    wk_manifest_write(&m, m2, &err);
    const char *adirs[] = {amb};
    CHECK(wk_xor_find_manifest(adirs, 1, names, n, &path, &err) == -1 && err.code == WK_E_USAGE);
    CHECK(strstr(err.msg, "one.sha256") && strstr(err.msg, "two.sha256"));
    free(m1);
    free(m2);
    free(amb);
    free(copy);
    wk_manifest_free(&m);
}

/* ---- sequential bases (wk_xorbase) and --base-meta (wk_xormeta) ---------- */

/* A producer pushing mem[0..n) in uneven pieces; fails after fail_at bytes
 * when fail_at < n. */
typedef struct {
    const uint8_t *mem;
    size_t n, fail_at;
} mem_producer;

static int mem_produce(void *ctx, wk_sink *sink, wk_err *err)
{
    mem_producer *m = ctx;
    static const size_t steps[] = {1, 4097, (1u << 20) + 3, 77, 3u << 20};
    size_t off = 0, k = 0;
    while (off < m->n) {
        size_t step = steps[k++ % 5];
        if (step > m->n - off) step = m->n - off;
        if (off + step > m->fail_at) {
            WK_TRY(wk_sink_write(sink, m->mem + off, m->fail_at - off, err));
            return wk_err_set(err, WK_E_IO, "producer failed at %zu", m->fail_at);
        }
        WK_TRY(wk_sink_write(sink, m->mem + off, step, err));
        off += step;
    }
    return 0;
}

static void test_xorbase_stream(void)
{
    size_t n = (10u << 20) + 7;
    uint8_t *data = malloc(n), *got = malloc(n);
    fill_bytes(data, n, 11);
    wk_err err;
    /* all bytes, in order, through reads of another size */
    mem_producer mp = {data, n, SIZE_MAX};
    wk_xorbase *b = wk_xorbase_start(mem_produce, &mp, "mem", &err);
    CHECK(b != NULL);
    size_t have = 0, g = 1;
    while (b && g) {
        size_t want = n - have < 999983 ? n - have : 999983;
        CHECK_OK(wk_xorbase_read(b, got + have, want ? want : 1, &g, &err), &err);
        have += g;
        if (want == 0) break;
    }
    CHECK(have == n && memcmp(got, data, n) == 0);
    CHECK(b && wk_xorbase_pos(b) == n);
    wk_xorbase_close(b);
    /* closing early (the payload is shorter): the blocked producer is stopped */
    b = wk_xorbase_start(mem_produce, &mp, "mem", &err);
    CHECK(b && wk_xorbase_read(b, got, 100, &g, &err) == 0 && g == 100);
    wk_xorbase_close(b);
    /* a producer error reaches the reader after the bytes made before it */
    mem_producer bad = {data, n, 5000};
    b = wk_xorbase_start(mem_produce, &bad, "mem", &err);
    CHECK(b != NULL);
    if (b) {
        CHECK(wk_xorbase_read(b, got, 4000, &g, &err) == 0 && g == 4000);
        CHECK(wk_xorbase_read(b, got, 4000, &g, &err) == -1 && g == 1000);
        CHECK_MSG(strstr(err.msg, "producer failed at 5000") != NULL, "%s", err.msg);
    }
    wk_xorbase_close(b);
    free(data);
    free(got);
}

/* wk_xor_decode_file with a producer gives the same bytes as with the base
 * file, for bases shorter, equal and longer than the payload. */
static void test_decode_base_fn(void)
{
    size_t n = (3u << 20) + 11;
    uint8_t *target = malloc(n), *base = malloc(n + 5000);
    fill_bytes(target, n, 21);
    fill_bytes(base, n + 5000, 22);
    char *pay = tmp_path("bfn.payload"), *bf = tmp_path("bfn.base");
    char *o1 = tmp_path("bfn.out1"), *o2 = tmp_path("bfn.out2");
    static const long dl[] = {-123457, 0, 5000};
    wk_err err;
    for (size_t k = 0; k < 3; k++) {
        size_t bn = (size_t)((long)n + dl[k]);
        uint8_t *p = malloc(n);
        xor_ref(p, target, n, base, bn);
        write_file(pay, p, n);
        write_file(bf, base, bn);
        for (int pipe = 0; pipe < 2; pipe++) {
            mem_producer mp = {base, bn, SIZE_MAX};
            wk_xor_result r1, r2;
            wk_xor_decode_args a1 = {pay, bf, o1, WK_PAYLOAD_AUTO, NULL, 0, pipe, NULL, NULL,
                                     WK_INFLATE_AUTO, NULL, NULL, NULL, 0, 0, NULL};
            wk_xor_decode_args a2 = {pay, NULL, o2, WK_PAYLOAD_AUTO, NULL, 0, pipe, NULL, NULL,
                                     WK_INFLATE_AUTO, mem_produce, &mp, "generated base", 0, 0, NULL};
            CHECK_OK(wk_xor_decode_file(&a1, &r1, &err), &err);
            CHECK_OK(wk_xor_decode_file(&a2, &r2, &err), &err);
            wk_buf b1, b2;
            wk_buf_init(&b1);
            wk_buf_init(&b2);
            slurp(o1, &b1);
            slurp(o2, &b2);
            CHECK(b1.len == n && b2.len == n && memcmp(b1.data, target, n) == 0 &&
                  memcmp(b2.data, target, n) == 0);
            CHECK(memcmp(r1.sha256, r2.sha256, sizeof r1.sha256) == 0);
            wk_buf_free(&b1);
            wk_buf_free(&b2);
        }
        free(p);
    }
    /* a failing producer: an error, nothing under the final name */
    unlink(o2);
    mem_producer bad = {base, n, 1000};
    wk_xor_result r;
    wk_xor_decode_args a = {pay, NULL, o2, WK_PAYLOAD_AUTO, NULL, 0, 1, NULL, NULL,
                            WK_INFLATE_AUTO, mem_produce, &bad, "generated base", 0, 0, NULL};
    CHECK(wk_xor_decode_file(&a, &r, &err) == -1 && strstr(err.msg, "producer failed"));
    CHECK(!exists(o2));
    free(pay); free(bf); free(o1); free(o2);
    free(target);
    free(base);
}

/* Stream file `name` of engine c into b. */
static void conv_bytes(wk_convert *c, const char *name, wk_buf *b)
{
    wk_err err;
    long i = wk_convert_find_file(c, name);
    CHECK(i >= 0);
    if (i >= 0) CHECK_OK(wk_convert_stream_file(c, (size_t)i, wk_sink_buf(b), &err), &err);
}

/* On the tiny fixture: a payload made against one profile's base is decoded
 * with that profile found by hash; the right group ranks first with a full
 * structural score, so one full pass suffices; without a digest the
 * structural choice gives the same bytes; a wrong model matches nothing. */
static void test_xormeta_tiny(void)
{
    wk_err err;
    wk_xormeta *base = wk_xormeta_open(wk_test_src("tests/fixtures/models/tiny"), NULL, 0, 1, &err);
    wk_xormeta *ft = wk_xormeta_open(wk_test_src("tests/fixtures/models/tiny-ft"), NULL, 0, 1, &err);
    CHECK_MSG(base && ft, "%s", err.msg);
    if (!base || !ft) {
        wk_xormeta_close(base);
        wk_xormeta_close(ft);
        return;
    }
    /* 16 release lines x 2 torch layouts, with the fast tokenizer files, then the slow ones */
    CHECK(wk_xormeta_profile_count(base) == 64);
    if (wk_xormeta_profile_count(base) == 64) {
        CHECK(wk_convert_find_file(wk_xormeta_engine(base, 0), "tokenizer.json") >= 0);
        CHECK(wk_convert_find_file(wk_xormeta_engine(base, 32), "tokenizer.json") < 0);
        CHECK(strstr(wk_xormeta_profile_name(base, 32), "slow tokenizer") != NULL);
    }
    char *dir = mkdir_tmp("xm");
    static const char *const names[] = {"pytorch_model.bin", "config.json"};
    for (size_t k = 0; k < wk_xormeta_profile_count(base); k += 7) {  /* a spread of profiles */
        for (size_t fn = 0; fn < 2; fn++) {
            wk_buf t, b;
            wk_buf_init(&t);
            wk_buf_init(&b);
            conv_bytes(wk_xormeta_engine(ft, k), names[fn], &t);
            conv_bytes(wk_xormeta_engine(base, k), names[fn], &b);
            uint8_t *p = malloc(t.len);
            xor_ref(p, t.data, t.len, b.data, b.len);
            wk_xor_item it;
            memset(&it, 0, sizeof it);
            it.name = (char *)names[fn];
            it.src = wk_path_join(dir, "payload");
            it.out = wk_path_join(dir, names[fn]);
            write_file(it.src, p, t.len);
            uint8_t dg[WK_HASH_MAX_DIGEST];
            wk_hash_oneshot(WK_HASH_SHA256, t.data, t.len, dg, &err);
            memcpy(it.expect, dg, sizeof it.expect);
            it.has_expect = 1;
            wk_xm_opts o = {WK_PAYLOAD_AUTO, 1, WK_INFLATE_AUTO, 1, 0, NULL, NULL, 0, {NULL, NULL}};
            wk_xm_file f;
            CHECK_OK(wk_xormeta_decode(base, &it, &o, &f, &err), &err);
            CHECK_MSG(f.matched >> k & 1, "%s: profile %s not in the match",
                      names[fn], wk_xormeta_profile_name(base, k));
            CHECK(f.verified == 1);
            if (fn == 0) {
                CHECK_MSG(f.passes == 1, "%s: %zu passes", wk_xormeta_profile_name(base, k), f.passes);
                CHECK_MSG(f.chosen >= 0 && f.groups[f.chosen].score == 5 && f.groups[f.chosen].size_ok == 1, "score %d size_ok %d", f.chosen >= 0 ? f.groups[f.chosen].score : -1, f.chosen >= 0 ? f.groups[f.chosen].size_ok : -9);
            }
            wk_buf o1;
            wk_buf_init(&o1);
            slurp(it.out, &o1);
            CHECK(o1.len == t.len && memcmp(o1.data, t.data, t.len) == 0);
            wk_buf_free(&o1);
            /* no digest: structural choice, same weights */
            if (fn == 0) {
                it.has_expect = 0;
                CHECK_OK(wk_xormeta_decode(base, &it, &o, &f, &err), &err);
                CHECK(f.verified == 0 && (f.matched >> k & 1));
                wk_buf_init(&o1);
                slurp(it.out, &o1);
                CHECK(o1.len == t.len && memcmp(o1.data, t.data, t.len) == 0);
                wk_buf_free(&o1);
            }
            free(it.src);
            free(it.out);
            free(p);
            wk_buf_free(&t);
            wk_buf_free(&b);
        }
    }
    /* the wrong model (tiny-gqa): no match, nothing left */
    wk_xormeta *gqa = wk_xormeta_open(wk_test_src("tests/fixtures/models/tiny-gqa"), NULL, 0, 1, &err);
    CHECK(gqa != NULL);
    if (gqa) {
        wk_buf t, b;
        wk_buf_init(&t);
        wk_buf_init(&b);
        conv_bytes(wk_xormeta_engine(ft, 0), "pytorch_model.bin", &t);
        conv_bytes(wk_xormeta_engine(base, 0), "pytorch_model.bin", &b);
        uint8_t *p = malloc(t.len);
        xor_ref(p, t.data, t.len, b.data, b.len);
        wk_xor_item it;
        memset(&it, 0, sizeof it);
        it.name = "pytorch_model.bin";
        it.src = wk_path_join(dir, "payload");
        it.out = wk_path_join(dir, "wrong.bin");
        write_file(it.src, p, t.len);
        uint8_t dg[WK_HASH_MAX_DIGEST];
        wk_hash_oneshot(WK_HASH_SHA256, t.data, t.len, dg, &err);
        memcpy(it.expect, dg, sizeof it.expect);
        it.has_expect = 1;
        wk_xm_opts o = {WK_PAYLOAD_AUTO, 0, WK_INFLATE_AUTO, 1, 0, NULL, NULL, 0, {NULL, NULL}};
        wk_xm_file f;
        CHECK(wk_xormeta_decode(gqa, &it, &o, &f, &err) == -1 && err.code == WK_E_MISMATCH);
        CHECK_MSG(strstr(err.msg, "no converter profile reproduces") != NULL, "%s", err.msg);
        CHECK(f.chosen == -1 && !exists(it.out));
        free(it.src);
        free(it.out);
        free(p);
        wk_buf_free(&t);
        wk_buf_free(&b);
        wk_xormeta_close(gqa);
    }
    free(dir);
    wk_xormeta_close(base);
    wk_xormeta_close(ft);
}

/* The post-decode tensor check: real weights pass, bit noise and a
 * non-checkpoint are suspect. */
static void test_xorcheck(void)
{
    wk_err err;
    wk_xorcheck c;
    CHECK(wk_xorcheck_wants("pytorch_model-00001-of-00003.bin") && wk_xorcheck_wants("m.safetensors"));
    CHECK(!wk_xorcheck_wants("config.json") && !wk_xorcheck_wants("tokenizer.model"));
    CHECK_OK(wk_xorcheck_file(wk_test_src("tests/fixtures/models/tiny/consolidated.00.pth"), &c, &err), &err);
    CHECK(c.checked && !c.unreadable && c.tensors > 10 && c.flagged == 0 && !wk_xorcheck_suspect(&c));
    /* the same file with its tensor bytes XOR'd with noise, layout intact */
    wk_buf b;
    wk_buf_init(&b);
    CHECK(slurp(wk_test_src("tests/fixtures/models/tiny/consolidated.00.pth"), &b) == 0);
    uint8_t *noise = malloc(b.len);
    fill_bytes(noise, b.len, 31);
    for (size_t i = 4096; i + 200000 < b.len; i++) b.data[i] ^= noise[i] | 0x80;
    char *bad = tmp_path("noisy.pth"), *junk = tmp_path("junk.bin");
    write_file(bad, b.data, b.len);
    CHECK_OK(wk_xorcheck_file(bad, &c, &err), &err);
    CHECK_MSG(wk_xorcheck_suspect(&c), "unreadable %d flagged %llu", c.unreadable,
              (unsigned long long)c.flagged);
    write_file(junk, noise, 5000);
    CHECK_OK(wk_xorcheck_file(junk, &c, &err), &err);
    CHECK(c.unreadable && wk_xorcheck_suspect(&c) && c.why[0]);
    free(bad);
    free(junk);
    free(noise);
    wk_buf_free(&b);
}

/* 1 if two check results are the same, field by field (doubles bit for bit). */
static int same_check(const wk_xorcheck *a, const wk_xorcheck *b)
{
    if (a->checked != b->checked || a->unreadable != b->unreadable || strcmp(a->why, b->why) ||
        a->tensors != b->tensors || a->skipped != b->skipped || a->flagged != b->flagged ||
        a->n_listed != b->n_listed)
        return 0;
    for (size_t i = 0; i < a->n_listed; i++) {
        const wk_tensor_stats *x = &a->listed[i].stats, *y = &b->listed[i].stats;
        if (strcmp(a->listed[i].name, b->listed[i].name) || x->count != y->count ||
            x->n_nan != y->n_nan || x->n_inf != y->n_inf || x->n_finite != y->n_finite ||
            x->flags != y->flags || memcmp(&x->min, &y->min, sizeof x->min) ||
            memcmp(&x->max, &y->max, sizeof x->max) || memcmp(&x->mean, &y->mean, sizeof x->mean) ||
            memcmp(&x->std, &y->std, sizeof x->std))
            return 0;
    }
    return 1;
}

/* Check the file at path from a stream fed its bytes in pieces of random
 * sizes (seed; 0 = one byte at a time up to 64 KiB, then big pieces) and
 * compare with the re-reading check.  *st_out gets the streamed result. */
static void stream_vs_file(const char *path, uint32_t seed, wk_xorcheck *st_out)
{
    wk_err err;
    wk_buf b;
    wk_buf_init(&b);
    CHECK(slurp(path, &b) == 0);
    wk_xorcheck_stream *st = wk_xorcheck_stream_new();
    CHECK(st != NULL);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t o = 0; o < b.len;) {
        x = x * 1103515245u + 12345u;
        size_t k = seed == 0 ? (o < 65536 ? 1 : 1u << 20) : 1 + (x >> 8) % (x & 1 ? 97 : 70000);
        if (k > b.len - o) k = b.len - o;
        CHECK(wk_xorcheck_stream_feed(st, b.data + o, k, NULL) == 0);
        o += k;
    }
    wk_xorcheck ref;
    CHECK_OK(wk_xorcheck_file(path, &ref, &err), &err);
    CHECK_OK(wk_xorcheck_file_stream(path, st, st_out, &err), &err);
    CHECK_MSG(same_check(&ref, st_out), "%s (seed %u): streamed check differs from the re-read "
              "(tensors %llu/%llu flagged %llu/%llu)", path, seed,
              (unsigned long long)st_out->tensors, (unsigned long long)ref.tensors,
              (unsigned long long)st_out->flagged, (unsigned long long)ref.flagged);
    CHECK(ref.streamed == 0);
    wk_xorcheck_stream_free(st);
    wk_buf_free(&b);
}

/* A small safetensors file: header keys in reverse offset order, F16 (noise),
 * F32, BF16, F64, I64 tensors of odd sizes (partial chunks). */
static void write_st(const char *path, int gap)
{
    static const char *names[] = {"z.f16", "y.f32", "x.bf16", "w.f64", "v.i64"};
    static const char *dts[] = {"F16", "F32", "BF16", "F64", "I64"};
    static const size_t es[] = {2, 4, 2, 8, 8}, n[] = {9000, 4097, 4095, 2049, 7};
    char hdr[1024];
    size_t off[6] = {0}, h = 0;
    for (int i = 0; i < 5; i++) off[i + 1] = off[i] + es[i] * n[i] + (gap && i == 2 ? 2 : 0);
    h += (size_t)snprintf(hdr + h, sizeof hdr - h, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 4; i >= 0; i--)
        h += (size_t)snprintf(hdr + h, sizeof hdr - h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%zu],"
                              "\"data_offsets\":[%zu,%zu]}", names[i], dts[i], n[i], off[i],
                              off[i] + es[i] * n[i]);
    hdr[h++] = '}';
    while (h % 8) hdr[h++] = ' ';
    wk_buf b;
    wk_buf_init(&b);
    wk_buf_le64(&b, (uint64_t)h);
    wk_buf_put(&b, hdr, h);
    uint8_t *d = calloc(1, off[5]);
    fill_bytes(d, es[0] * n[0], 7);  /* fp16 bit noise: flagged */
    for (size_t i = 0; i < n[1]; i++) {
        float f = (float)((int)(i % 17) - 8) * 0.01f;
        memcpy(d + off[1] + 4 * i, &f, 4);
    }
    for (size_t i = 0; i < n[2]; i++) d[off[2] + 2 * i + 1] = (uint8_t)(0x3c + i % 3);  /* small bf16 */
    for (size_t i = 0; i < n[3]; i++) {
        double v = i == 5 ? 1e9 : 0.5;  /* one huge value: flagged */
        memcpy(d + off[3] + 8 * i, &v, 8);
    }
    wk_buf_put(&b, d, off[5]);
    write_file(path, b.data, b.len);
    free(d);
    wk_buf_free(&b);
}

/* The single-pass check gives exactly the re-reading check's result on
 * torch zips (in order, sorted by name, shared storages, strided views),
 * safetensors, noise, damaged and hostile files, whatever the piece sizes. */
static void test_xorcheck_stream(void)
{
    wk_xorcheck c;
    char tiny[4096];  /* wk_test_src's buffer is reused */
    snprintf(tiny, sizeof tiny, "%s", wk_test_src("tests/fixtures/models/tiny/consolidated.00.pth"));
    for (uint32_t seed = 0; seed < 4; seed++) stream_vs_file(tiny, seed, &c);
    CHECK_MSG(c.streamed == c.tensors && c.reread_bytes == 0, "streamed %llu of %llu, re-read %llu",
              (unsigned long long)c.streamed, (unsigned long long)c.tensors,
              (unsigned long long)c.reread_bytes);
    static const char *torch[] = {"mix.pt", "shared.pt", "many.pt", "scalars.pt", "unicode.pt",
                                  "keys_1000.pt", "pytorch_model-00001-of-00002.bin", "noext"};
    for (size_t i = 0; i < sizeof torch / sizeof *torch; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, "tests/fixtures/torch/%s", torch[i]);
        stream_vs_file(wk_test_src(rel), (uint32_t)i + 1, &c);
        if (!strcmp(torch[i], "mix.pt"))
            CHECK_MSG(c.streamed == 7 && c.skipped == 6, "mix.pt: streamed %llu skipped %llu",
                      (unsigned long long)c.streamed, (unsigned long long)c.skipped);
    }
    /* noisy tensors (flagged and listed) */
    wk_buf b;
    wk_buf_init(&b);
    CHECK(slurp(tiny, &b) == 0);
    uint8_t *noise = malloc(b.len);
    fill_bytes(noise, b.len, 31);
    for (size_t i = 4096; i + 200000 < b.len; i++) b.data[i] ^= noise[i] | 0x80;
    char *bad = tmp_path("noisy-stream.pth"), *st = tmp_path("s.safetensors");
    write_file(bad, b.data, b.len);
    stream_vs_file(bad, 3, &c);
    CHECK(wk_xorcheck_suspect(&c));
    /* cut after data.pkl (no central directory): not a checkpoint either way */
    write_file(bad, b.data, 3000);
    stream_vs_file(bad, 5, &c);
    CHECK(c.unreadable);
    write_st(st, 0);
    for (uint32_t seed = 0; seed < 3; seed++) stream_vs_file(st, seed, &c);
    CHECK(c.tensors == 4 && c.skipped == 1 && c.flagged == 2 && c.streamed == 4);
    write_st(st, 1);  /* a gap between tensors: the reader refuses it */
    stream_vs_file(st, 1, &c);
    CHECK(c.unreadable);
    /* hostile files: never a crash, the same result */
    DIR *d = opendir(wk_test_src("tests/fixtures/hostile"));
    CHECK(d != NULL);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char rel[600];
        snprintf(rel, sizeof rel, "tests/fixtures/hostile/%s", de->d_name);
        struct stat sb;
        if (stat(wk_test_src(rel), &sb) || !S_ISREG(sb.st_mode)) continue;
        stream_vs_file(wk_test_src(rel), 7, &c);
    }
    if (d) closedir(d);
    /* a stream of other bytes than the file's (a size mismatch) is ignored */
    wk_xorcheck_stream *s2 = wk_xorcheck_stream_new();
    CHECK(wk_xorcheck_stream_feed(s2, b.data, 100, NULL) == 0);
    wk_err err;
    CHECK_OK(wk_xorcheck_file_stream(tiny, s2, &c, &err), &err);
    CHECK_MSG(c.streamed == 0 && c.tensors > 10 && c.flagged == 0, "streamed %llu tensors %llu "
              "flagged %llu", (unsigned long long)c.streamed, (unsigned long long)c.tensors,
              (unsigned long long)c.flagged);
    wk_xorcheck_stream_free(s2);
    free(bad);
    free(st);
    free(noise);
    wk_buf_free(&b);
}

int main(void)
{
    wk_test_need_src("test_xor", "tests/fixtures/models/tiny/consolidated.00.pth");
    WK_RUN(test_apply_length_rule);
    WK_RUN(test_reader_raw_and_gzip);
    WK_RUN(test_reader_multi_member);
    WK_RUN(test_reader_corrupt);
    WK_RUN(test_reader_isal_findings);
    if (have_isal()) {  /* the same reader tests with ISA-L's inflate */
        printf("# again with the ISA-L inflate engine\n");
        engine = WK_INFLATE_ISAL;
        WK_RUN(test_reader_raw_and_gzip);
        WK_RUN(test_reader_multi_member);
        WK_RUN(test_reader_corrupt);
        WK_RUN(test_reader_isal_findings);
    }
    WK_RUN(test_reader_file_shrinks);
    WK_RUN(test_gz_write_deterministic);
    WK_RUN(test_file_roundtrips);
    WK_RUN(test_decode_failures);
    WK_RUN(test_plan_and_run);
    WK_RUN(test_manifest_fit_and_find);
    WK_RUN(test_xorcheck);
    WK_RUN(test_xorcheck_stream);
    WK_RUN(test_xorbase_stream);
    WK_RUN(test_decode_base_fn);
    WK_RUN(test_xormeta_tiny);
    return wk_test_summary();
}
