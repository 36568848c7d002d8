/* fuzz_pth.c — libFuzzer target for the torch zip container (formats/pytorch/wk_pth.h).
 *
 * The input is a whole checkpoint file, opened from memory with
 * wk_pth_open_buffer: first container-only (the zip checks), then fully
 * (container + unpickler + tensor validation).  For every tensor of a file
 * that opens, the extent is checked and the data copied out through the
 * bounded accessors, so a validation gap shows up as an ASan report. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_pth.h"

/* Copy out at most this many bytes per tensor (inputs are small anyway). */
#define FUZZ_MAX_COPY (1u << 20)

static void touch_tensor(const wk_tensor_info *t)
{
    wk_err err;
    uint64_t nbytes = 0, vbytes = 0;
    if (wk_pth_check_extent(t, &err) != 0) return;
    if (wk_pth_tensor_nbytes(t, &nbytes, &err) != 0 || nbytes > FUZZ_MAX_COPY) return;
    const uint8_t *view = wk_pth_tensor_view(t, &vbytes);
    volatile uint8_t sink = 0;
    if (view)
        for (uint64_t i = 0; i < vbytes; i++) sink ^= view[i];
    void *dst = malloc(nbytes ? nbytes : 1);
    if (!dst) return;
    (void)wk_pth_copy_out(t, dst, nbytes, &err);
    free(dst);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    /* A private copy: the reader must never look past `size`. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);

    wk_pth *c = wk_pth_open_buffer(copy, size, "fuzz.pth", WK_PTH_CONTAINER_ONLY, &err);
    if (c) {
        size_t len = 0;
        uint64_t off = 0;
        const uint8_t *pkl = wk_pth_pickle(c, &len, &off);
        volatile uint8_t sink = 0;
        for (size_t i = 0; pkl && i < len; i++) sink ^= pkl[i];
        (void)sink;
        (void)wk_pth_prefix(c);
        wk_pth_close(c);
    }

    wk_pth *p = wk_pth_open_buffer(copy, size, "fuzz.pth", 0, &err);
    if (p) {
        for (size_t i = 0; i < wk_pth_count(p); i++) {
            const wk_tensor_info *t = wk_pth_tensor(p, i);
            if (!t) abort();
            touch_tensor(t);
        }
        (void)wk_pth_storage_count(p);
        (void)wk_pth_storage_bytes(p);
        (void)wk_pth_skipped(p);
        wk_pth_close(p);
    }
    free(copy);
    return 0;
}
