/* Unit tests: wk_strmap — the string -> index map: add/get, the first value
 * wins on a duplicate, growth keeps every entry, memory stays bounded by the
 * entry count, and free returns the map to empty. */
#include "wk_strmap.h"
#include "wk_test.h"

#include <stdlib.h>

static void test_empty(void)
{
    wk_strmap m = WK_STRMAP_INIT;
    CHECK(wk_strmap_get(&m, "x") == -1);
    CHECK(wk_strmap_get(&m, "") == -1);
    CHECK_EQ_U64(wk_strmap_count(&m), 0);
    wk_strmap_free(&m);
    wk_strmap_free(&m);   /* twice is fine */
}

static void test_add_get_duplicate(void)
{
    wk_strmap m = {0};
    wk_err e;
    long prev = 7;
    CHECK_OK(wk_strmap_add(&m, "tok_embeddings.weight", 0, &prev, &e), &e);
    CHECK(prev == -1);
    CHECK_OK(wk_strmap_add(&m, "norm.weight", 1, &prev, &e), &e);
    CHECK(prev == -1);
    CHECK_OK(wk_strmap_add(&m, "", 2, &prev, &e), &e);   /* the empty name is a key */
    CHECK(prev == -1);
    char dup[] = "norm.weight";   /* equal text, another pointer */
    CHECK_OK(wk_strmap_add(&m, dup, 9, &prev, &e), &e);
    CHECK(prev == 1);
    CHECK(wk_strmap_get(&m, "norm.weight") == 1);   /* the first value wins */
    CHECK(wk_strmap_get(&m, "tok_embeddings.weight") == 0);
    CHECK(wk_strmap_get(&m, "") == 2);
    CHECK(wk_strmap_get(&m, "norm") == -1);
    CHECK(wk_strmap_get(&m, "norm.weight.") == -1);
    CHECK_EQ_U64(wk_strmap_count(&m), 3);
    wk_strmap_free(&m);
    CHECK_EQ_U64(wk_strmap_count(&m), 0);
    CHECK(wk_strmap_get(&m, "norm.weight") == -1);
}

static void test_growth(void)
{
    enum { N = 100000 };
    char (*names)[48] = malloc(N * sizeof *names);
    CHECK(names != NULL);
    if (!names) return;
    wk_strmap m = {0};
    wk_err e;
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "layers.%zu.attention.wq.weight", i);
        long prev;
        if (wk_strmap_add(&m, names[i], i, &prev, &e) || prev != -1) bad++;
        /* at most half full, and never more than 4 slots an entry (min 16) */
        if (2 * m.n > m.cap || (m.cap > 16 && m.cap > 4 * m.n)) bad++;
    }
    CHECK_MSG(bad == 0, "%zu bad adds", bad);
    CHECK_EQ_U64(wk_strmap_count(&m), N);
    for (size_t i = 0; i < N; i++)
        if (wk_strmap_get(&m, names[i]) != (long)i) bad++;
    for (size_t i = 0; i < N; i++) {
        long prev;
        if (wk_strmap_add(&m, names[i], N + i, &prev, &e) || prev != (long)i) bad++;
    }
    CHECK_MSG(bad == 0, "%zu bad lookups", bad);
    CHECK_EQ_U64(wk_strmap_count(&m), N);
    CHECK(wk_strmap_get(&m, "layers.100000.attention.wq.weight") == -1);
    wk_strmap_free(&m);
    free(names);
}

int main(void)
{
    WK_RUN(test_empty);
    WK_RUN(test_add_get_duplicate);
    WK_RUN(test_growth);
    return wk_test_summary();
}
