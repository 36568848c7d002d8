/* fuzz_manifest.c — libFuzzer target for sha256 manifests (formats/manifest/wk_manifest.h).
 *
 * Parses the input as a manifest; every entry of a parsed manifest must be
 * findable by name, and its formatted line must parse back to the same name
 * and digest (round trip through wk_manifest_format_line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_manifest.h"

static void roundtrip(const wk_manifest_entry *e)
{
    wk_err err;
    wk_buf b = {0};
    wk_manifest_format_line(&b, e->digest, e->name);
    wk_manifest back;
    wk_manifest_init(&back);
    /* Escaping can push a name near the limit past WK_MANIFEST_MAX_LINE. */
    if (!wk_buf_failed(&b) && b.len <= WK_MANIFEST_MAX_LINE) {
        if (wk_manifest_parse(&back, b.data, b.len, "roundtrip", &err) != 0) abort();
        if (back.n != 1 || strcmp(back.entries[0].name, e->name) != 0 ||
            memcmp(back.entries[0].digest, e->digest, WK_MANIFEST_DIGEST) != 0)
            abort();
    }
    wk_manifest_free(&back);
    wk_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    wk_manifest m;
    wk_manifest_init(&m);
    if (wk_manifest_parse(&m, data, size, "fuzz.sha256", &err) == 0) {
        for (size_t i = 0; i < m.n; i++) {
            const wk_manifest_entry *e = &m.entries[i];
            if (wk_manifest_find(&m, e->name) != e) abort();
            (void)wk_manifest_name_safe(e->name);
            if (i < 64) roundtrip(e);
        }
    }
    wk_manifest_free(&m);
    return 0;
}
