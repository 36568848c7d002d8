/* fuzz_bpejson.c — libFuzzer target for the byte-level BPE tokenizer.json reader
 * (formats/tokenizer/wk_bpejson.h).
 *
 * The input is a tokenizer.json.  A file the reader accepts must give a vocabulary it
 * promises: ids 0..n-1 all with a text, model.vocab first, every text once, every
 * merge "a b" of two vocab tokens whose concatenation is a vocab token, a known
 * pre-tokenizer name, template ids inside the vocabulary; a refused file leaves the
 * struct empty.  Bit 0 of the first byte also tries the --pre override path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_bpejson.h"
#include "wk_strmap.h"

static void check(const wk_bpej *t)
{
    wk_strmap m = WK_STRMAP_INIT;
    wk_err err;
    if (t->n < t->n_model || t->n_model < 1 || !t->pre || !wk_bpej_pre_known(t->pre)) abort();
    if (t->tpl_first >= (long)t->n || t->tpl_last >= (long)t->n) abort();
    for (size_t i = 0; i < t->n; i++) {
        long prev;
        if (!t->tok[i] || strlen(t->tok[i]) != t->len[i]) abort();
        if (wk_strmap_add(&m, t->tok[i], i, &prev, &err)) abort();
        if (prev >= 0) abort();
    }
    for (size_t i = 0; i < t->n_merges; i++) {
        char *s = strdup(t->merges[i]), *sp = strchr(s, ' ');
        if (!sp || strlen(s) != t->merge_len[i]) abort();
        *sp = 0;
        long a = wk_strmap_get(&m, s), b = wk_strmap_get(&m, sp + 1);
        memmove(sp, sp + 1, strlen(sp + 1) + 1);
        long c = wk_strmap_get(&m, s);
        if (a < 0 || b < 0 || c < 0 || (size_t)c >= t->n_model) abort();
        free(s);
    }
    wk_strmap_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    wk_err_clear(&err);
    wk_bpej t;
    const char *pre = size && (data[0] & 1) ? "qwen2" : NULL;
    if (wk_bpej_parse(&t, data, size, "fuzz.json", pre, &err) == 0) {
        check(&t);
        wk_bpej_free(&t);
    } else if (t.n || t.tok || t.merges || err.code == WK_OK) {
        abort();
    }
    return 0;
}
