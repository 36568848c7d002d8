/* fuzz_tiktoken.c — libFuzzer target for the tiktoken reader and its tokenizer.json
 * writer (formats/tokenizer/wk_tiktoken.h).
 *
 * The input is a tiktoken file.  One that parses must give, for either special-token
 * set and post-processor, a tokenizer.json that our strict JSON reader accepts, with one
 * model.vocab member per token and 256 added tokens, or be refused (a token spelled like
 * a special token) having written nothing; one that does not parse must leave the
 * structure empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_buf.h"
#include "wk_json.h"
#include "wk_tiktoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    wk_tiktoken t;
    if (wk_tiktoken_parse(&t, data, size, "fuzz.tiktoken", &err) != 0) {
        if (t.n || t.off || t.str) abort();
        return 0;
    }
    wk_buf b;
    wk_buf_init(&b);
    int rc = wk_tiktoken_write_json(&t, size & 1 ? WK_TIKTOKEN_SPECIALS_31 : WK_TIKTOKEN_SPECIALS_3,
                                    size & 2 ? WK_TIKTOKEN_POST_BOS : WK_TIKTOKEN_POST_BYTELEVEL,
                                    wk_sink_buf(&b), &err);
    if (rc != 0 && b.len != 0) abort();
    if (rc == 0) {
        wk_json_read_opts o = wk_json_read_defaults();
        o.max_depth = 16;
        wk_json *j = wk_json_parse(b.data, b.len, &o, &err);
        if (!j) abort();
        const wk_json *m = wk_json_get(j, "model");
        if (!m || wk_json_len(wk_json_get(m, "vocab")) != t.n ||
            wk_json_len(wk_json_get(j, "added_tokens")) != WK_TIKTOKEN_N_SPECIAL)
            abort();
        wk_json_free(j);
    }
    wk_buf_free(&b);
    wk_tiktoken_free(&t);
    return 0;
}
