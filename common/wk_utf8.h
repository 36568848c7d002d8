/* wk_utf8.h — the one UTF-8 validator of weightkit.
 *
 * Well-formed means exactly Unicode's Table 3-7 (as Python's strict decoder):
 * no overlong forms (C0, C1, E0 80..9F, F0 80..8F), no surrogates
 * (ED A0..BF), nothing above U+10FFFF (F4 90.., F5..FF), no truncated
 * sequence and no stray continuation byte.  U+0000 is well-formed.  Used by
 * the JSON reader and writer, and for names read from or written to other
 * formats (GGUF keys and tensor names, sentencepiece pieces, pickle strings,
 * torch zip record names). */
#ifndef WK_UTF8_H
#define WK_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* wk_utf8_check's answer for well-formed input. */
#define WK_UTF8_OK ((size_t)-1)

/* Length (1-4) of the well-formed sequence at s (n >= 1 bytes available),
 * with its code point in *cp; 0 if ill-formed (then *cp is unchanged). */
size_t wk_utf8_decode(const void *s, size_t n, uint32_t *cp);

/* WK_UTF8_OK if p[0..n) is well-formed, else the offset of the first byte
 * of the first ill-formed sequence.  Never fails. */
size_t wk_utf8_check(const void *p, size_t n);

/* 1 if p[0..n) is well-formed, else 0. */
int wk_utf8_valid(const void *p, size_t n);

/* Encode cp (<= U+10FFFF; surrogates are encoded as given) into out; returns
 * the length (1-4). */
size_t wk_utf8_encode(uint32_t cp, uint8_t out[4]);

#endif
