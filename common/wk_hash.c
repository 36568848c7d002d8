/* wk_hash.c — SHA-256 (OpenSSL EVP) and XXH3-64/128 (libxxhash) behind one API.
 *
 * Each library's return convention is normalised here, once: EVP returns 1 on
 * success, xxhash XXH_OK; callers only ever see 0 / -1 with a wk_err. */
#include "wk_hash.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <xxhash.h>
#ifdef WK_HAVE_XXH_DISPATCH
/* libxxhash's update with its own runtime CPU dispatch (AVX2 / AVX-512 kernels
 * where the CPU has them; the digests are the same as the default build's, by
 * XXH3's definition): ~2x faster in cache on AVX2 (issue #23). */
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#define wk_xxh3_64_update XXH3_64bits_update_dispatch
#define wk_xxh3_128_update XXH3_128bits_update_dispatch
#else
#define wk_xxh3_64_update XXH3_64bits_update
#define wk_xxh3_128_update XXH3_128bits_update
#endif

struct wk_hash {
    wk_hash_alg alg;
    EVP_MD_CTX *md;     /* WK_HASH_SHA256 */
    XXH3_state_t *xxh;  /* WK_HASH_XXH3_64 / WK_HASH_XXH3_128 */
};

size_t wk_hash_size(wk_hash_alg alg)
{
    switch (alg) {
    case WK_HASH_SHA256: return 32;
    case WK_HASH_XXH3_64: return 8;
    case WK_HASH_XXH3_128: return 16;
    }
    return 0;
}

const char *wk_hash_name(wk_hash_alg alg)
{
    switch (alg) {
    case WK_HASH_SHA256: return "sha256";
    case WK_HASH_XXH3_64: return "xxh3-64";
    case WK_HASH_XXH3_128: return "xxh3-128";
    }
    return "unknown";
}

wk_hash *wk_hash_create(wk_hash_alg alg, wk_err *err)
{
    if (wk_hash_size(alg) == 0) {
        wk_err_set(err, WK_E_INTERNAL, "unknown hash algorithm %d", (int)alg);
        return NULL;
    }
    wk_hash *h = calloc(1, sizeof *h);
    if (!h) goto oom;
    h->alg = alg;
    if (alg == WK_HASH_SHA256) h->md = EVP_MD_CTX_new();
    else h->xxh = XXH3_createState();
    if (!h->md && !h->xxh) goto oom;
    if (wk_hash_reset(h, err) != 0) { wk_hash_free(h); return NULL; }
    return h;
oom:
    free(h);
    wk_err_set(err, WK_E_NOMEM, "out of memory creating %s state", wk_hash_name(alg));
    return NULL;
}

wk_hash *wk_hash_clone(const wk_hash *h, wk_err *err)
{
    wk_hash *c = wk_hash_create(h->alg, err);
    if (!c) return NULL;
    int ok = h->alg == WK_HASH_SHA256 ? EVP_MD_CTX_copy_ex(c->md, h->md) == 1
                                      : (XXH3_copyState(c->xxh, h->xxh), 1);
    if (ok) return c;
    wk_hash_free(c);
    wk_err_set(err, WK_E_INTERNAL, "%s: copying the state failed", wk_hash_name(h->alg));
    return NULL;
}

void wk_hash_free(wk_hash *h)
{
    if (!h) return;
    EVP_MD_CTX_free(h->md);
    XXH3_freeState(h->xxh);
    free(h);
}

int wk_hash_reset(wk_hash *h, wk_err *err)
{
    int ok;
    switch (h->alg) {
    case WK_HASH_SHA256: ok = EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) == 1; break;
    case WK_HASH_XXH3_64: ok = XXH3_64bits_reset(h->xxh) == XXH_OK; break;
    default: ok = XXH3_128bits_reset(h->xxh) == XXH_OK; break;
    }
    WK_FAIL_IF(!ok, err, WK_E_INTERNAL, "%s: reset failed", wk_hash_name(h->alg));
    return 0;
}

int wk_hash_update(wk_hash *h, const void *p, size_t n, wk_err *err)
{
    int ok;
    if (n == 0) return 0;
    switch (h->alg) {
    case WK_HASH_SHA256: ok = EVP_DigestUpdate(h->md, p, n) == 1; break;
    case WK_HASH_XXH3_64: ok = wk_xxh3_64_update(h->xxh, p, n) == XXH_OK; break;
    default: ok = wk_xxh3_128_update(h->xxh, p, n) == XXH_OK; break;
    }
    WK_FAIL_IF(!ok, err, WK_E_INTERNAL, "%s: update failed", wk_hash_name(h->alg));
    return 0;
}

/* SHA-256 of everything so far, without ending h's stream (finalises a copy). */
static int sha256_digest(wk_hash *h, uint8_t out[WK_HASH_MAX_DIGEST], wk_err *err)
{
    EVP_MD_CTX *tmp = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = tmp && EVP_MD_CTX_copy_ex(tmp, h->md) == 1
             && EVP_DigestFinal_ex(tmp, out, &len) == 1 && len == 32;
    EVP_MD_CTX_free(tmp);
    WK_FAIL_IF(!ok, err, WK_E_INTERNAL, "sha256: digest failed");
    return 0;
}

/* XXH3 digest of everything so far, in canonical big-endian byte order. */
static void xxh3_digest(wk_hash *h, uint8_t out[WK_HASH_MAX_DIGEST])
{
    if (h->alg == WK_HASH_XXH3_64) {
        XXH64_canonical_t c;
        XXH64_canonicalFromHash(&c, XXH3_64bits_digest(h->xxh));
        memcpy(out, c.digest, sizeof c.digest);
    } else {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h->xxh));
        memcpy(out, c.digest, sizeof c.digest);
    }
}

int wk_hash_digest(wk_hash *h, uint8_t out[WK_HASH_MAX_DIGEST], wk_err *err)
{
    if (h->alg == WK_HASH_SHA256)
        return sha256_digest(h, out, err);
    xxh3_digest(h, out);
    return 0;
}

int wk_hash_oneshot(wk_hash_alg alg, const void *p, size_t n,
                    uint8_t out[WK_HASH_MAX_DIGEST], wk_err *err)
{
    wk_hash *h = wk_hash_create(alg, err);
    if (!h) return -1;
    int rc = -1;
    WK_TRY_GOTO(wk_hash_update(h, p, n, err), done);
    WK_TRY_GOTO(wk_hash_digest(h, out, err), done);
    rc = 0;
done:
    wk_hash_free(h);
    return rc;
}

void wk_hex(const uint8_t *p, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    hex[2 * n] = '\0';
}
