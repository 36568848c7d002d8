/* Unit tests: wk_hash — known answers for SHA-256 and XXH3-64/128, each
 * checked one-shot, streamed in random chunk sizes, and byte by byte.
 *
 * SHA-256: the NIST FIPS 180-2 example vectors ("", "abc", the 448-bit
 * message, one million 'a'); the extra "mod200" vector from `sha256sum`.
 *
 * XXH3: answers from the xxhsum CLI (Debian package xxhash, xxhsum 0.8.1),
 * which prints the canonical big-endian hex, on files made like this:
 *
 *   printf '' > empty
 *   printf 'abc' > abc
 *   printf 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq' > abc448
 *   python3 -c "import sys; sys.stdout.buffer.write(b'a'*1000000)" > million_a
 *   python3 -c "import sys; sys.stdout.buffer.write(bytes((i*7+3)%256 for i in range(200)))" > mod200
 *   for f in empty abc abc448 million_a mod200; do xxhsum -H3 $f; xxhsum -H2 $f; done
 *
 * Output format: `xxhsum -H3` (XXH3-64) prints BSD style "XXH3 (abc) = 78af5f94892f3950";
 * `xxhsum -H2` (XXH3-128) prints GNU style "06b05ab6733a618578af5f94892f3950  abc",
 * i.e. the high 64 bits first, both halves big-endian — exactly the bytes
 * XXH128_canonicalFromHash gives.  (For inputs of 1..3 bytes the low half
 * of XXH3-128 equals XXH3-64, visible in the "abc" line.) */
#include "wk_hash.h"
#include "wk_sink.h"
#include "wk_test.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

typedef struct {
    const char *name;
    const char *sha256, *xxh64, *xxh128;
} vector;

static const vector vectors[] = {
    {"empty",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "2d06800538d394c2", "99aa06d3014798d86001c324468d497f"},
    {"abc",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
     "78af5f94892f3950", "06b05ab6733a618578af5f94892f3950"},
    {"abc448",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
     "5bbcbbabcdcc3d3f", "3d62d22a5169b016c0d894fd4828a1a7"},
    {"million_a",
     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
     "b1fd6fae5285c4eb", "a545df8e384a9579b1fd6fae5285c4eb"},
    {"mod200",
     "2c7e18c942ef065b526a2d4e5546283749cd3ddfb51d8fc71f42717363685f46",
     "746cd0025327bf5b", "32200a52a918beaf380142cdd5843bbd"},
};

/* The message of vector `name`, malloc'd, length in *n. */
static uint8_t *make_input(const char *name, size_t *n)
{
    static const char s448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    size_t len = !strcmp(name, "abc") ? 3 : !strcmp(name, "abc448") ? 56
               : !strcmp(name, "million_a") ? 1000000 : !strcmp(name, "mod200") ? 200 : 0;
    uint8_t *p = malloc(len + 1);
    if (!p) return NULL;
    for (size_t i = 0; i < len; i++) {
        if (!strcmp(name, "abc")) p[i] = (uint8_t)"abc"[i];
        else if (!strcmp(name, "abc448")) p[i] = (uint8_t)s448[i];
        else if (!strcmp(name, "million_a")) p[i] = 'a';
        else p[i] = (uint8_t)((i * 7 + 3) % 256);
    }
    *n = len;
    return p;
}

static const char *expected(const vector *v, wk_hash_alg alg)
{
    return alg == WK_HASH_SHA256 ? v->sha256 : alg == WK_HASH_XXH3_64 ? v->xxh64 : v->xxh128;
}

/* Compare a digest's hex with the expected string; say how to regenerate. */
static void check_digest(const vector *v, wk_hash_alg alg, const char *how, const uint8_t *d)
{
    char hex[2 * WK_HASH_MAX_DIGEST + 1];
    wk_hex(d, wk_hash_size(alg), hex);
    if (strcmp(hex, expected(v, alg)) != 0)
        wk_test_fail(__FILE__, __LINE__, "%s(%s) %s: got %s, expected %s "
                     "(regenerate: see the xxhsum/sha256sum commands atop test_hash.c)",
                     wk_hash_name(alg), v->name, how, hex, expected(v, alg));
}

/* Stream p in chunks: size 1 if bytewise, else random sizes 0..4096. */
static void hash_streamed(const vector *v, wk_hash_alg alg, const uint8_t *p, size_t n,
                          int bytewise)
{
    wk_err err;
    uint8_t d[WK_HASH_MAX_DIGEST];
    wk_hash *h = wk_hash_create(alg, &err);
    CHECK_MSG(h != NULL, "create: %s", err.msg);
    if (!h) return;
    unsigned seed = 12345;
    for (size_t off = 0; off < n;) {
        seed = seed * 1103515245u + 12345u;
        size_t k = bytewise ? 1 : (seed >> 8) % 4097;
        if (k > n - off) k = n - off;
        CHECK_OK(wk_hash_update(h, p + off, k, &err), &err);
        off += k;
    }
    CHECK_OK(wk_hash_digest(h, d, &err), &err);
    check_digest(v, alg, bytewise ? "byte by byte" : "random chunks", d);
    wk_hash_free(h);
}

static void test_known_answers(void)
{
    wk_err err;
    uint8_t d[WK_HASH_MAX_DIGEST];
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        size_t n = 0;
        uint8_t *p = make_input(vectors[i].name, &n);
        CHECK(p != NULL);
        for (int a = WK_HASH_SHA256; p && a <= WK_HASH_XXH3_128; a++) {
            CHECK_OK(wk_hash_oneshot((wk_hash_alg)a, p, n, d, &err), &err);
            check_digest(&vectors[i], (wk_hash_alg)a, "one-shot", d);
            hash_streamed(&vectors[i], (wk_hash_alg)a, p, n, 0);
            hash_streamed(&vectors[i], (wk_hash_alg)a, p, n, 1);
        }
        free(p);
    }
}

/* Digest mid-stream leaves the state usable; reset starts over. */
static void test_digest_continues(void)
{
    wk_err err;
    uint8_t d[WK_HASH_MAX_DIGEST];
    for (int a = WK_HASH_SHA256; a <= WK_HASH_XXH3_128; a++) {
        wk_hash *h = wk_hash_create((wk_hash_alg)a, &err);
        CHECK(h != NULL);
        if (!h) continue;
        CHECK_OK(wk_hash_update(h, "a", 1, &err), &err);
        CHECK_OK(wk_hash_digest(h, d, &err), &err);
        CHECK_OK(wk_hash_update(h, "bc", 2, &err), &err);
        CHECK_OK(wk_hash_digest(h, d, &err), &err);
        check_digest(&vectors[1], (wk_hash_alg)a, "after a mid-stream digest", d);
        CHECK_OK(wk_hash_reset(h, &err), &err);
        CHECK_OK(wk_hash_update(h, NULL, 0, &err), &err);
        CHECK_OK(wk_hash_digest(h, d, &err), &err);
        check_digest(&vectors[0], (wk_hash_alg)a, "after reset", d);
        wk_sink s;
        wk_sink_null(&s);
        wk_sink_tee(&s, h);
        CHECK_OK(wk_sink_write(&s, "abc", 3, &err), &err);
        CHECK_OK(wk_hash_digest(h, d, &err), &err);
        check_digest(&vectors[1], (wk_hash_alg)a, "through a sink's tee", d);
        wk_hash_free(h);
    }
}

/* A clone continues from the same state; the two then diverge independently. */
static void test_clone(void)
{
    for (int a = WK_HASH_SHA256; a <= WK_HASH_XXH3_128; a++) {
        wk_err err;
        uint8_t d1[WK_HASH_MAX_DIGEST], d2[WK_HASH_MAX_DIGEST], want[WK_HASH_MAX_DIGEST];
        size_t len = wk_hash_size((wk_hash_alg)a);
        wk_hash *h = wk_hash_create((wk_hash_alg)a, &err);
        CHECK(h != NULL);
        if (!h) continue;
        CHECK_OK(wk_hash_update(h, "hello ", 6, &err), &err);
        wk_hash *c = wk_hash_clone(h, &err);
        CHECK_MSG(c != NULL, "clone: %s", err.msg);
        if (!c) { wk_hash_free(h); continue; }
        CHECK_OK(wk_hash_update(h, "world", 5, &err), &err);
        CHECK_OK(wk_hash_update(c, "there", 5, &err), &err);
        CHECK_OK(wk_hash_digest(h, d1, &err), &err);
        CHECK_OK(wk_hash_digest(c, d2, &err), &err);
        CHECK_OK(wk_hash_oneshot((wk_hash_alg)a, "hello world", 11, want, &err), &err);
        CHECK(memcmp(d1, want, len) == 0);
        CHECK_OK(wk_hash_oneshot((wk_hash_alg)a, "hello there", 11, want, &err), &err);
        CHECK(memcmp(d2, want, len) == 0);
        wk_hash_free(c);
        wk_hash_free(h);
    }
}

static void test_names_hex(void)
{
    CHECK_EQ_STR(wk_hash_name(WK_HASH_SHA256), "sha256");
    CHECK_EQ_STR(wk_hash_name(WK_HASH_XXH3_64), "xxh3-64");
    CHECK_EQ_STR(wk_hash_name(WK_HASH_XXH3_128), "xxh3-128");
    CHECK(wk_hash_size(WK_HASH_SHA256) == 32);
    CHECK(wk_hash_size(WK_HASH_XXH3_64) == 8);
    CHECK(wk_hash_size(WK_HASH_XXH3_128) == 16);
    static const uint8_t b[] = {0x00, 0x0f, 0xa5, 0xff};
    char hex[9];
    wk_hex(b, 4, hex);
    CHECK_EQ_STR(hex, "000fa5ff");
    wk_hex(b, 0, hex);
    CHECK_EQ_STR(hex, "");
    wk_err err;
    wk_hash_free(NULL);
    CHECK(wk_hash_create((wk_hash_alg)99, &err) == NULL && err.code == WK_E_INTERNAL);
}

/* Streamed in large random pieces (up to 1 MiB: the vector kernels' stripes
 * and blocks, whichever update the library uses — the runtime-dispatched one
 * when libxxhash has it) = libxxhash's default one-shot digests. */
static void test_xxh3_large_pieces(void)
{
    wk_err err;
    size_t n = (5u << 20) + 77;
    uint8_t *p = malloc(n), d[WK_HASH_MAX_DIGEST];
    CHECK(p != NULL);
    if (!p) return;
    uint32_t seed = 7;
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
    XXH64_canonical_t c64;
    XXH128_canonical_t c128;
    XXH64_canonicalFromHash(&c64, XXH3_64bits(p, n));
    XXH128_canonicalFromHash(&c128, XXH3_128bits(p, n));
    for (int a = WK_HASH_XXH3_64; a <= WK_HASH_XXH3_128; a++) {
        wk_hash *h = wk_hash_create((wk_hash_alg)a, &err);
        CHECK(h != NULL);
        if (!h) continue;
        for (size_t off = 0; off < n;) {
            seed = seed * 1103515245u + 12345u;
            size_t k = (seed >> 4) % ((1u << 20) + 1);
            if (k > n - off) k = n - off;
            CHECK_OK(wk_hash_update(h, p + off, k, &err), &err);
            off += k;
        }
        CHECK_OK(wk_hash_digest(h, d, &err), &err);
        CHECK_MSG(memcmp(d, a == WK_HASH_XXH3_64 ? c64.digest : c128.digest, wk_hash_size((wk_hash_alg)a)) == 0,
                  "%s of 5 MiB in large pieces differs from libxxhash's one-shot", wk_hash_name((wk_hash_alg)a));
        wk_hash_free(h);
    }
    free(p);
}

int main(void)
{
    WK_RUN(test_xxh3_large_pieces);
    WK_RUN(test_known_answers);
    WK_RUN(test_digest_continues);
    WK_RUN(test_clone);
    WK_RUN(test_names_hex);
    return wk_test_summary();
}
