/* fuzz_spm.c — libFuzzer target for the sentencepiece model parser (formats/sentencepiece/wk_spm.h).
 *
 * The input is a serialized ModelProto.  A model that parses has every
 * piece read (text within its length, NUL-terminated) and is freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_spm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    wk_spm m;
    memset(&m, 0, sizeof m);
    if (wk_spm_parse(&m, data, size, "fuzz.model", &err) == 0) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < m.n_pieces; i++) {
            const wk_spm_piece *p = &m.pieces[i];
            if (!p->text || p->text[p->len] != '\0') abort();
            for (size_t k = 0; k < p->len; k++) sink ^= (uint8_t)p->text[k];
            (void)wk_spm_type_name(p->type);
        }
        for (size_t k = 0; m.precompiled_charsmap && k < m.charsmap_len; k++)
            sink ^= m.precompiled_charsmap[k];
        (void)wk_spm_model_type_name(m.model_type);
        (void)sink;
    }
    wk_spm_free(&m);
    return 0;
}
