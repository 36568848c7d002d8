/* wk_hash.h — SHA-256 (OpenSSL EVP) and XXH3-64/128 (libxxhash) behind one
 * streaming API, in the shape of xxHash's: create/reset/update/digest/free,
 * plus one-shot.  Digests are returned in canonical (big-endian) byte order,
 * the order printed by sha256sum and xxhsum. */
#ifndef WK_HASH_H
#define WK_HASH_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

typedef enum { WK_HASH_SHA256, WK_HASH_XXH3_64, WK_HASH_XXH3_128 } wk_hash_alg;

#define WK_HASH_MAX_DIGEST 32

typedef struct wk_hash wk_hash;

/* A fresh state for alg, ready for updates.  NULL on failure (message in
 * err: WK_E_NOMEM, or WK_E_INTERNAL for an unknown alg). */
wk_hash *wk_hash_create(wk_hash_alg alg, wk_err *err);
/* Safe on NULL. */
void wk_hash_free(wk_hash *h);
/* A new state equal to h (same algorithm, same bytes hashed so far): the two
 * then go their own ways.  NULL on failure (WK_E_NOMEM / WK_E_INTERNAL). */
wk_hash *wk_hash_clone(const wk_hash *h, wk_err *err);
/* Start over (as if just created).  0, or -1 with WK_E_INTERNAL. */
int wk_hash_reset(wk_hash *h, wk_err *err);
/* Hash n more bytes (p may be NULL when n is 0).  0, or -1 WK_E_INTERNAL. */
int wk_hash_update(wk_hash *h, const void *p, size_t n, wk_err *err);
/* Writes the digest (wk_hash_size() bytes) to out; the state stays usable
 * (more updates may follow, as with XXH3_digest). */
int wk_hash_digest(wk_hash *h, uint8_t out[WK_HASH_MAX_DIGEST], wk_err *err);
/* Digest length in bytes: 32, 8, 16 (0 for an unknown alg). */
size_t wk_hash_size(wk_hash_alg alg);
const char *wk_hash_name(wk_hash_alg alg); /* "sha256", "xxh3-64", "xxh3-128" */
/* create + update + digest + free. */
int wk_hash_oneshot(wk_hash_alg alg, const void *p, size_t n,
                    uint8_t out[WK_HASH_MAX_DIGEST], wk_err *err);
/* Lowercase hex of n bytes into hex (2n+1 bytes incl. NUL). */
void wk_hex(const uint8_t *p, size_t n, char *hex);

#endif
