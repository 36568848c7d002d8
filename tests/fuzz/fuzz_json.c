/* fuzz_json.c — libFuzzer target for the JSON reader (common/wk_json.h).
 *
 * Parses the input with the default limits and with allow_nan; a document
 * that parses is walked (typed getters) and dumped with the Python and HF
 * options, and the compact dump is parsed again: it must parse and dump to
 * the same bytes (a round-trip property, reported with abort()). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_json.h"

/* Touch every node through the inspecting API (bounded by the reader's depth limit). */
static void walk(const wk_json *v, int depth)
{
    wk_err err;
    int64_t i;
    double d;
    int b;
    const char *s;
    size_t n;
    if (depth > WK_JSON_MAX_DEPTH_CAP + 1) abort();
    switch (wk_json_type_of(v)) {
    case WK_JSON_ARRAY:
        for (size_t k = 0; k < wk_json_len(v); k++) walk(wk_json_at(v, k), depth + 1);
        break;
    case WK_JSON_OBJECT:
        for (size_t k = 0; k < wk_json_len(v); k++) {
            const char *key = wk_json_key_at(v, k, &n);
            if (!key) abort();
            /* Lookup by C string: exact for keys without a NUL byte (keys are
             * unique, so it must find this very member). */
            if (strlen(key) == n && wk_json_get(v, key) != wk_json_value_at(v, k)) abort();
            walk(wk_json_value_at(v, k), depth + 1);
        }
        break;
    default:
        (void)wk_json_as_int(v, &i, &err);
        (void)wk_json_as_double(v, &d, &err);
        (void)wk_json_as_bool(v, &b, &err);
        (void)wk_json_as_string(v, &s, &n, &err);
        (void)wk_json_bigint_text(v);
        break;
    }
}

/* Dump v compactly, parse it again, dump again: same bytes or abort. */
static void roundtrip(const wk_json *v, int allow_nan)
{
    wk_err err;
    wk_json_dump_opts o = wk_json_opts_compact();
    o.allow_nan = allow_nan;
    wk_buf a = {0}, b = {0};
    if (wk_json_dump(v, &o, &a, &err) == 0) {
        wk_json_read_opts ro = wk_json_read_defaults();
        ro.allow_nan = allow_nan;
        ro.max_depth = WK_JSON_MAX_DEPTH_CAP;
        wk_json *w = wk_json_parse(a.data, a.len, &ro, &err);
        if (!w) abort(); /* the writer produced something the reader refuses */
        if (wk_json_dump(w, &o, &b, &err) != 0) abort();
        if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)) abort();
        wk_json_free(w);
    }
    wk_buf_free(&a);
    wk_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    for (int allow_nan = 0; allow_nan < 2; allow_nan++) {
        wk_json_read_opts ro = wk_json_read_defaults();
        ro.allow_nan = allow_nan;
        wk_json *v = wk_json_parse(data, size, &ro, &err);
        if (!v) continue;
        walk(v, 0);
        wk_buf out = {0};
        wk_json_dump_opts py = wk_json_opts_python();
        (void)wk_json_dump(v, &py, &out, &err);
        wk_json_dump_opts hf = wk_json_opts_hf();
        (void)wk_json_dump(v, &hf, &out, &err);
        wk_buf_free(&out);
        roundtrip(v, allow_nan);
        wk_json_free(v);
    }
    return 0;
}
