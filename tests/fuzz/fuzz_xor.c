/* fuzz_xor.c — libFuzzer target for the payload reader + XOR kernel (tools/xor/wk_xor.h).
 *
 * The input is a payload file (gzip or raw, auto-detected), decoded in small
 * reads with a tiny input chunk (so refills and member boundaries are hit)
 * and XORed with a small fixed base, as wk-xor decode does.  Output is capped:
 * a gzip bomb is read only up to FUZZ_MAX_OUT bytes (FUZZ_MAX_OUT_RETRY for an
 * engine that was capped where the other one rejected the input).
 *
 * Differential check: when weightkit is built with ISA-L, the input is decoded
 * with both inflate engines, which must agree on accept/reject and on every
 * output byte (the format does not depend on the engine).  Set
 * WK_FUZZ_XOR_DIFF=bytes to compare the bytes only when both accept and to
 * skip the consumed-input invariant (to keep fuzzing past a known
 * divergence), =off to skip the comparison too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_xor.h"

#define FUZZ_BASE_LEN 1000
#define FUZZ_MAX_OUT (4u << 20)
#define FUZZ_MAX_OUT_RETRY (16u << 20) /* when one engine was capped and the other failed */

/* What one decode gave: status, bytes decoded, a running checksum of them. */
typedef struct {
    int ok;          /* 1 = read to the end without error */
    uint64_t n;
    uint64_t sum;
} decode_result;

static decode_result decode(const uint8_t *p, size_t size, wk_inflate_engine engine,
                            size_t chunk, size_t cap, const uint8_t *base, int strict,
                            uint64_t max_out)
{
    static const uint8_t zero = 0;
    decode_result res = {0, 0, 1469598103934665603ull};
    wk_err err;
    wk_payload *r = wk_payload_open_mem(size ? p : &zero, size, "fuzz.gz", WK_PAYLOAD_AUTO, &err);
    if (!r) return res;
    if (wk_payload_set_engine(r, engine, &err) != 0) {
        wk_payload_close(r);
        res.ok = -1; /* engine not built in */
        return res;
    }
    wk_payload_set_chunk(r, chunk);
    uint8_t buf[512], out[512];
    for (;;) {
        size_t got = 0;
        if (wk_payload_read(r, buf, cap, &got, &err) != 0) break;
        if (got == 0) {
            res.ok = 1;
            break;
        }
        if (got > cap) abort();
        wk_xor_apply(out, buf, got, base, FUZZ_BASE_LEN, res.n);
        wk_xor_apply(buf, buf, got, base, FUZZ_BASE_LEN, res.n); /* in place */
        if (memcmp(out, buf, got) != 0) abort();
        for (size_t i = 0; i < got; i++) res.sum = (res.sum ^ out[i]) * 1099511628211ull;
        res.n += got;
        if (res.n > max_out) {
            res.ok = 2; /* capped */
            break;
        }
    }
    if (strict && wk_payload_in_pos(r) > wk_payload_in_size(r)) abort(); /* consumed > file */
    (void)wk_payload_is_gzip(r);
    (void)wk_payload_members(r);
    wk_payload_close(r);
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t base[FUZZ_BASE_LEN];
    for (size_t i = 0; i < sizeof base; i++) base[i] = (uint8_t)(i * 131u + 7u);
    /* A private copy: the reader must never look past `size`. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    /* Chunk and read sizes come from the first bytes, fixed per input. */
    size_t chunk = size ? 1u + data[0] % 61u : 1u;
    size_t cap = size > 1 ? 1u + data[1] % 509u : 7u;

    const char *mode = getenv("WK_FUZZ_XOR_DIFF");
    int strict = !mode || (strcmp(mode, "bytes") && strcmp(mode, "off"));
    decode_result z = decode(copy, size, WK_INFLATE_ZLIB, chunk, cap, base, strict, FUZZ_MAX_OUT);
    decode_result i = decode(copy, size, WK_INFLATE_ISAL, chunk, cap, base, strict, FUZZ_MAX_OUT);
    /* One engine capped, the other rejected: the engines hand out different
     * amounts of output before a corrupt block (ISA-L decodes in larger
     * units), so the reject may lie just past the cap for one and just
     * before it for the other.  Decode the capped one further to decide. */
    if (z.ok == 2 && i.ok == 0)
        z = decode(copy, size, WK_INFLATE_ZLIB, chunk, cap, base, strict, FUZZ_MAX_OUT_RETRY);
    else if (i.ok == 2 && z.ok == 0)
        i = decode(copy, size, WK_INFLATE_ISAL, chunk, cap, base, strict, FUZZ_MAX_OUT_RETRY);
    if (i.ok != -1 && !(mode && !strcmp(mode, "off"))) {
        if (z.ok != i.ok && strict) abort();           /* engines disagree on validity */
        if (z.ok == 1 && i.ok == 1 && (z.n != i.n || z.sum != i.sum)) abort(); /* on bytes */
    }
    free(copy);
    return 0;
}
