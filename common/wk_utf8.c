/* wk_utf8.c — the one UTF-8 validator (see wk_utf8.h). */
#include "wk_utf8.h"

size_t wk_utf8_decode(const void *p, size_t n, uint32_t *cp)
{
    const uint8_t *s = p;
    uint8_t b0 = s[0];
    if (b0 < 0x80) { *cp = b0; return 1; }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;   /* the second byte's range (Table 3-7) */
    if (b0 < 0xC2) return 0;
    else if (b0 < 0xE0) len = 2;
    else if (b0 < 0xF0) { len = 3; if (b0 == 0xE0) lo = 0xA0; if (b0 == 0xED) hi = 0x9F; }
    else if (b0 < 0xF5) { len = 4; if (b0 == 0xF0) lo = 0x90; if (b0 == 0xF4) hi = 0x8F; }
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    uint32_t c = b0 & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[k] & 0x3F);
    }
    *cp = c;
    return len;
}

size_t wk_utf8_check(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint32_t cp;
    for (size_t k = 0; k < n;) {
        size_t len = wk_utf8_decode(s + k, n - k, &cp);
        if (!len) return k;
        k += len;
    }
    return WK_UTF8_OK;
}

int wk_utf8_valid(const void *p, size_t n)
{
    return wk_utf8_check(p, n) == WK_UTF8_OK;
}

size_t wk_utf8_encode(uint32_t cp, uint8_t t[4])
{
    if (cp < 0x80) {
        t[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        t[0] = (uint8_t)(0xC0 | cp >> 6);
        t[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        t[0] = (uint8_t)(0xE0 | cp >> 12);
        t[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        t[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    t[0] = (uint8_t)(0xF0 | cp >> 18);
    t[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    t[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    t[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}
