/* fuzz_imatrix.c — libFuzzer target for the importance-matrix reader
 * (formats/imatrix/wk_imatrix.h): llama.cpp's GGUF imatrix and legacy .dat.
 *
 * The input is a whole file.  A file that parses has every entry looked up by
 * name (the index must come back), its weights computed (into a buffer of
 * exactly the entry's size) and every dataset name read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_imatrix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    wk_imatrix *im = wk_imatrix_open_buffer(copy, size, "fuzz.imatrix", &err);
    if (im) {
        volatile float sink = 0;
        for (size_t i = 0; i < wk_imatrix_count(im); i++) {
            const char *name = wk_imatrix_name_at(im, i);
            if (!name || wk_imatrix_find(im, name) != (long)i) abort();
            const int64_t n = wk_imatrix_size_at(im, i), e = wk_imatrix_experts_at(im, i);
            if (n < 1 || e < 1 || n % e) abort();
            float *w = malloc(sizeof(float) * (size_t)n);
            if (w && wk_imatrix_weights(im, i, w, &err) == 0)
                for (int64_t k = 0; k < n; k++) sink += w[k];
            free(w);
        }
        for (size_t i = 0; i < wk_imatrix_dataset_count(im); i++) {
            size_t len = 0;
            const char *s = wk_imatrix_dataset_at(im, i, &len);
            for (size_t k = 0; s && k < len; k++) sink += (float)(unsigned char)s[k];
        }
        (void)wk_imatrix_chunk_count(im);
        (void)sink;
        wk_imatrix_close(im);
    }
    free(copy);
    return 0;
}
