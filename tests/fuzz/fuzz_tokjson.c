/* fuzz_tokjson.c — libFuzzer target for the tokenizer.json writer
 * (formats/tokenizer/wk_tokjson.h) over the sentencepiece parser.
 *
 * The input is a serialized ModelProto.  A model that parses and passes
 * wk_tokjson_check must give a tokenizer.json that our strict JSON reader
 * accepts, whose model.vocab has one member per piece; a model that does not
 * pass must write nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_buf.h"
#include "wk_json.h"
#include "wk_tokjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    wk_spm m;
    memset(&m, 0, sizeof m);
    if (wk_spm_parse(&m, data, size, "fuzz.model", &err) != 0) return 0;
    wk_buf b;
    wk_buf_init(&b);
    int ok = wk_tokjson_check(&m, "fuzz.model", &err) == 0;
    int rc = wk_tokjson_write(&m, size & 1 ? WK_TOKJSON_POST_UPDATE : WK_TOKJSON_POST_2023,
                              "fuzz.model", wk_sink_buf(&b), &err);
    if (!ok && (rc == 0 || b.len != 0)) abort();
    if (ok && rc == 0) {
        wk_json_read_opts o = wk_json_read_defaults();
        o.max_depth = 16;
        wk_json *j = wk_json_parse(b.data, b.len, &o, &err);
        if (!j && err.code != WK_E_LIMIT) abort();  /* a huge vocab may pass the value cap */
        const wk_json *v = wk_json_get(wk_json_get(j, "model"), "vocab");
        if (j && wk_json_len(v) != m.n_pieces) abort();
        wk_json_free(j);
    }
    wk_buf_free(&b);
    wk_spm_free(&m);
    return 0;
}
