/* Unit tests: wk_utf8 — the one UTF-8 validator.
 *
 * Known vectors (each rule of Unicode's Table 3-7), then an exhaustive
 * differential check against the validator weightkit's pickle reader and
 * torch writer used before (code point range checks after decoding, a
 * different algorithm from wk_utf8's second-byte ranges): every 1-, 2- and
 * 3-byte string and every 4-byte string with an interesting lead byte must
 * get the same verdict, and wk_utf8_check must name the same first bad byte
 * as a step-by-step decode.  Encoding round-trips every code point. */
#include "wk_utf8.h"
#include "wk_test.h"

/* The former utf8_valid of wk_pickle.c / wk_pth_write.c, kept as the oracle. */
static int ref_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) { i++; continue; }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i <= k) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k + 1;
    }
    return 1;
}

static void test_vectors(void)
{
    static const struct { const char *s; size_t n, bad; } v[] = {
        {"", 0, WK_UTF8_OK},
        {"plain", 5, WK_UTF8_OK},
        {"\xE2\x96\x81" "a\xF0\x9F\x98\x80", 8, WK_UTF8_OK}, /* U+2581, U+1F600 */
        {"a\x00" "b", 3, WK_UTF8_OK},                          /* NUL is UTF-8 */
        {"\xF4\x8F\xBF\xBF", 4, WK_UTF8_OK},                    /* U+10FFFF */
        {"\xEE\x80\x80", 3, WK_UTF8_OK},                        /* U+E000 */
        {"ab\xFF", 3, 2},                                     /* never a UTF-8 byte */
        {"a\xC0\xAF", 3, 1},                                  /* overlong "/" */
        {"\xC1\xBF", 2, 0},                                   /* overlong U+007F */
        {"\xE0\x9F\xBF", 3, 0},                               /* overlong U+07FF */
        {"\xF0\x8F\xBF\xBF", 4, 0},                           /* overlong U+FFFF */
        {"\xED\xA0\x80", 3, 0},                               /* surrogate U+D800 */
        {"ok\xED\xBF\xBF", 5, 2},                             /* surrogate U+DFFF */
        {"\xF4\x90\x80\x80", 4, 0},                           /* above U+10FFFF */
        {"\xF5\x80\x80\x80", 4, 0},                           /* lead byte F5 */
        {"x\xE2\x96", 3, 1},                                  /* truncated sequence */
        {"\x80", 1, 0},                                       /* stray continuation */
        {"\xC3\xA9\xC3", 3, 2},                               /* truncated at the end */
        {"\xE2\x28\xA1", 3, 0},                               /* bad continuation */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t got = wk_utf8_check(v[i].s, v[i].n);
        CHECK_MSG(got == v[i].bad, "vector %zu: got %zu, want %zu", i, got, v[i].bad);
        CHECK_MSG(wk_utf8_valid(v[i].s, v[i].n) == (v[i].bad == WK_UTF8_OK), "vector %zu", i);
    }
}

/* Same verdict as the oracle on s[0..n). */
static int agrees(const uint8_t *s, size_t n)
{
    return wk_utf8_valid(s, n) == ref_valid(s, n);
}

static void test_same_rules_as_before(void)
{
    uint8_t s[4];
    size_t bad = 0;
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        bad += !agrees(s, 1);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            bad += !agrees(s, 2);
            for (unsigned c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                bad += !agrees(s, 3);
            }
        }
    }
    /* 4 bytes: every lead byte from E0 up, every second and third byte, and
     * fourth bytes at the continuation boundaries. */
    static const uint8_t last[] = {0x00, 0x41, 0x7F, 0x80, 0x81, 0xBF, 0xC0, 0xFF};
    for (unsigned a = 0xE0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            for (unsigned c = 0; c < 256; c++)
                for (size_t d = 0; d < sizeof last; d++) {
                    s[0] = (uint8_t)a, s[1] = (uint8_t)b, s[2] = (uint8_t)c, s[3] = last[d];
                    bad += !agrees(s, 4);
                }
    CHECK_MSG(bad == 0, "%zu strings judged differently from the former validator", bad);
}

static void test_decode_encode_roundtrip(void)
{
    size_t bad = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        uint8_t t[4];
        size_t n = wk_utf8_encode(cp, t);
        uint32_t back = 0xFFFFFFFF;
        size_t m = wk_utf8_decode(t, n, &back);
        int surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        if (surrogate ? m != 0 : m != n || back != cp) bad++;
        if (n != (cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u)) bad++;
        if (!surrogate && n > 1 && wk_utf8_decode(t, n - 1, &back) != 0) bad++;   /* truncated */
    }
    CHECK_MSG(bad == 0, "%zu code points do not round-trip", bad);
}

int main(void)
{
    WK_RUN(test_vectors);
    WK_RUN(test_same_rules_as_before);
    WK_RUN(test_decode_encode_roundtrip);
    return wk_test_summary();
}
