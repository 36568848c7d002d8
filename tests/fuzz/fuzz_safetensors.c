/* fuzz_safetensors.c — libFuzzer target for the safetensors reader (formats/safetensors/wk_safetensors.h).
 *
 * The input is a whole file (u64 header length, JSON header, data).  A file
 * that validates has every tensor's bytes read through its data pointer
 * (they must lie inside the input) and its metadata walked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    wk_st *s = wk_st_open_buffer(copy, size, "fuzz.safetensors", &err);
    if (s) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < wk_st_count(s); i++) {
            const wk_st_tensor *t = wk_st_tensor_at(s, i);
            if (!t || t->end < t->begin) abort();
            if (t->file_offset + (t->end - t->begin) > size) abort();
            for (uint64_t k = 0; k < t->end - t->begin; k++) sink ^= t->data[k];
            if (wk_st_find(s, t->name) != (long)i) abort();
        }
        for (size_t i = 0; i < wk_st_meta_count(s); i++) {
            size_t len = 0;
            const char *k = wk_st_meta_key(s, i);
            const char *v = wk_st_meta_value(s, i, &len);
            if (!k || !v) abort();
            for (size_t j = 0; j < len; j++) sink ^= (uint8_t)v[j];
        }
        if (wk_st_has_digests(s)) (void)wk_st_verify_digests(s, NULL, NULL, &err);
        (void)sink;
        wk_st_close(s);
    }
    free(copy);
    return 0;
}
