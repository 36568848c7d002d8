/* fuzz_gguf.c — libFuzzer target for the GGUF reader (formats/gguf/wk_gguf.h).
 *
 * The input is a whole GGUF file.  A file that parses has every KV value
 * read through the accessors (numbers, string arrays) and every tensor's
 * bytes read through its data pointer (they must lie inside the input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_gguf.h"

static void touch_kv(const wk_gguf *g, size_t i, volatile uint8_t *sink)
{
    const wk_gguf_kv *kv = wk_gguf_kv_at(g, i);
    if (!kv || !kv->key) abort();
    if (wk_gguf_find_key(g, kv->key) < 0) abort();
    uint64_t n = kv->n < 64 ? kv->n : 64;
    for (uint64_t j = 0; j < n; j++) {
        double d;
        int64_t v;
        size_t len = 0;
        (void)wk_gguf_kv_num(g, i, j, &d, &v);
        const char *s = wk_gguf_arr_str(g, i, j, &len);
        for (size_t k = 0; s && k < len; k++) *sink ^= (uint8_t)s[k];
    }
    for (size_t k = 0; k < kv->value_len; k++) *sink ^= kv->value[k];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    wk_gguf *g = wk_gguf_open_buffer(copy, size, "fuzz.gguf", &err);
    if (g) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < wk_gguf_kv_count(g); i++) touch_kv(g, i, &sink);
        for (size_t i = 0; i < wk_gguf_tensor_count(g); i++) {
            const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
            if (!t) abort();
            if (t->file_offset > size || t->nbytes > size - t->file_offset) abort();
            for (uint64_t k = 0; k < t->nbytes; k++) sink ^= t->data[k];
            if (wk_gguf_find_tensor(g, t->name) != (long)i) abort();
        }
        const char *s;
        size_t len;
        uint32_t u;
        (void)wk_gguf_get_str(g, "general.architecture", &s, &len, &err);
        (void)wk_gguf_get_u32(g, "general.alignment", &u, &err);
        if (wk_gguf_has_digests(g)) (void)wk_gguf_verify_digests(g, NULL, NULL, &err);
        (void)sink;
        wk_gguf_close(g);
    }
    free(copy);
    return 0;
}
