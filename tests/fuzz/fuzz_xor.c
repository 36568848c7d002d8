/* fuzz_xor.c — libFuzzer target for the payload reader + XOR kernel (formats/wk_xor.h).
 *
 * The input is a payload file (gzip or raw, auto-detected), decoded in small
 * reads with a tiny zlib chunk (so refills and member boundaries are hit)
 * and XORed with a small fixed base, as wk-xor decode does.  Output is capped:
 * a gzip bomb is read only up to FUZZ_MAX_OUT bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_xor.h"

#define FUZZ_BASE_LEN 1000
#define FUZZ_MAX_OUT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t zero = 0;
    uint8_t base[FUZZ_BASE_LEN];
    for (size_t i = 0; i < sizeof base; i++) base[i] = (uint8_t)(i * 131u + 7u);

    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);

    wk_err err;
    /* Chunk size and read size vary with the first byte, fixed per input. */
    size_t chunk = size ? 1u + data[0] % 61u : 1u;
    size_t cap = size > 1 ? 1u + data[1] % 509u : 7u;
    wk_payload *r = wk_payload_open_mem(size ? copy : &zero, size, "fuzz.gz", WK_PAYLOAD_AUTO, &err);
    if (r) {
        wk_payload_set_chunk(r, chunk);
        uint8_t buf[512], out[512];
        uint64_t off = 0;
        for (;;) {
            size_t got = 0;
            if (wk_payload_read(r, buf, cap, &got, &err) != 0 || got == 0) break;
            if (got > cap) abort();
            wk_xor_apply(out, buf, got, base, sizeof base, off);
            wk_xor_apply(buf, buf, got, base, sizeof base, off); /* in place */
            if (memcmp(out, buf, got) != 0) abort();
            off += got;
            if (off > FUZZ_MAX_OUT) break;
        }
        (void)wk_payload_is_gzip(r);
        (void)wk_payload_members(r);
        if (wk_payload_in_pos(r) > wk_payload_in_size(r)) abort();
        wk_payload_close(r);
    }
    free(copy);
    return 0;
}
