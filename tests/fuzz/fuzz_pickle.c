/* fuzz_pickle.c — libFuzzer target for the restricted unpickler (formats/pytorch/wk_pickle.h).
 *
 * The input is a data.pkl.  It is listed (wk_pickle_disasm, which must never
 * fail on bytes it can walk), loaded, and a loaded pickle is flattened to its
 * tensor names.  Nothing a pickle says is ever executed, so the only
 * outcomes are a value tree or an error. */
#include <stdint.h>
#include <stdlib.h>

#include "wk_pickle.h"

static int on_tensor(void *ctx, const char *name, const wk_pv *t, wk_err *err)
{
    (void)err;
    size_t *count = ctx;
    if (!name || !t || t->kind != WK_PV_TENSOR) abort();
    (*count)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_err err;
    wk_buf listing = {0};
    (void)wk_pickle_disasm(data, size, "fuzz/data.pkl", &listing, &err);
    wk_buf_free(&listing);

    wk_pickle *pk = wk_pickle_load(data, size, "fuzz/data.pkl", &err);
    if (!pk) return 0;
    if (!wk_pickle_root(pk)) abort();
    (void)wk_pickle_protocol(pk);
    (void)wk_pickle_value_count(pk);
    size_t count = 0, other = 0;
    (void)wk_pickle_flatten(pk, on_tensor, &count, &other, &err);
    wk_pickle_free(pk);
    return 0;
}
