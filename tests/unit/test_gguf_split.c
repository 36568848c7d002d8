/* test_gguf_split.c — formats/gguf/wk_gguf_split: llama.cpp's split naming
 * (llama_split_path / llama_split_prefix), the split keys and their types,
 * and opening a set written part by part with wk_ggufw: given any part, a
 * missing part, a part of another set, a wrong key type, metadata outside
 * the first part, a tensor in two parts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_gguf_split.h"
#include "wk_io.h"
#include "wk_test.h"

static void test_names(void)
{
    char *p = wk_gguf_split_path("dir/model", 0, 3);
    CHECK_EQ_STR(p, "dir/model-00001-of-00003.gguf");
    CHECK_EQ_U64(wk_gguf_split_prefix_len(p, 0, 3), strlen("dir/model"));
    CHECK_EQ_U64(wk_gguf_split_prefix_len(p, 1, 3), 0);   /* part 2's name would differ */
    CHECK_EQ_U64(wk_gguf_split_prefix_len(p, 0, 4), 0);
    CHECK_EQ_U64(wk_gguf_split_prefix_len("-00001-of-00003.gguf", 0, 3), 0);  /* empty prefix: no */
    free(p);
    CHECK(wk_gguf_is_split_key("split.no") && wk_gguf_is_split_key("split.count") &&
          wk_gguf_is_split_key("split.tensors.count") && wk_gguf_is_split_key("weightkit.split.set"));
    CHECK(!wk_gguf_is_split_key("split.other") && !wk_gguf_is_split_key("general.name"));
}

/* Write part k of n with tensors named names[0..nt) (f32, 4 values each);
 * no_type / count_type: the split.no / split.count types; extra: a model key. */
static void write_part(const char *prefix, unsigned k, unsigned n, const char *const *names, size_t nt,
                       int32_t total, wk_gguf_type count_type, int extra)
{
    wk_err err;
    wk_ggufw *w = wk_ggufw_new(32, &err);
    if (k == 0 || extra) CHECK_OK(wk_ggufw_kv_str(w, "general.name", "t", 1, &err), &err);
    CHECK_OK(wk_ggufw_kv_scalar(w, "split.no", WK_GGUF_UINT16, k, &err), &err);
    CHECK_OK(wk_ggufw_kv_scalar(w, "split.count", count_type, n, &err), &err);
    CHECK_OK(wk_ggufw_kv_i32(w, "split.tensors.count", total, &err), &err);
    int64_t ne[1] = {4};
    for (size_t i = 0; i < nt; i++) CHECK(wk_ggufw_add_tensor(w, names[i], 0 /* F32 */, 1, ne, &err) >= 0);
    char *path = wk_gguf_split_path(prefix, k, n);
    wk_out *o = wk_out_open(path, NULL, &err);
    CHECK(o != NULL);
    wk_sink s;
    CHECK_OK(wk_ggufw_begin(w, wk_sink_out(&s, o), &err), &err);
    float v[4] = {1, 2, 3, (float)k};
    for (size_t i = 0; i < nt; i++) CHECK_OK(wk_ggufw_write(w, v, sizeof v, &err), &err);
    CHECK_OK(wk_ggufw_finish(w, &err), &err);
    CHECK_OK(wk_out_commit(o, &err), &err);
    wk_ggufw_free(w);
    free(path);
}

static const char *const A[] = {"a", "b"}, *const B[] = {"c"}, *const C[] = {"d", "e"};

static char *setdir(const char *name)
{
    char *d = wk_path_join(wk_test_tmpdir(), name);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", d, d);
    CHECK(system(cmd) == 0);
    char *p = wk_path_join(d, "m");
    free(d);
    return p;
}

/* 0 with *np parts, or -1 with the message in msg. */
static int open_set(const char *prefix, unsigned k, unsigned n, size_t *np, char *msg, size_t cap)
{
    char *path = wk_gguf_split_path(prefix, k, n);
    wk_gguf **parts = NULL;
    wk_err err;
    wk_err_clear(&err);
    int rc = wk_gguf_split_open(path, &parts, np, &err);
    snprintf(msg, cap, "%s", err.msg);
    for (size_t i = 0; !rc && i < *np; i++) wk_gguf_close(parts[i]);
    free(parts);
    free(path);
    return rc;
}

static void test_open(void)
{
    char msg[1024];
    size_t np = 0;
    char *pre = setdir("good");
    write_part(pre, 0, 3, A, 2, 5, WK_GGUF_UINT16, 0);
    write_part(pre, 1, 3, B, 1, 5, WK_GGUF_UINT16, 0);
    write_part(pre, 2, 3, C, 2, 5, WK_GGUF_UINT16, 0);
    for (unsigned k = 0; k < 3; k++) {
        CHECK_MSG(open_set(pre, k, 3, &np, msg, sizeof msg) == 0, "given part %u: %s", k + 1, msg);
        CHECK_EQ_U64(np, 3);
    }
    free(pre);

    pre = setdir("missing");
    write_part(pre, 0, 3, A, 2, 5, WK_GGUF_UINT16, 0);
    write_part(pre, 2, 3, C, 2, 5, WK_GGUF_UINT16, 0);
    CHECK(open_set(pre, 0, 3, &np, msg, sizeof msg) != 0 && strstr(msg, "m-00002-of-00003.gguf: part 2 of 3"));
    free(pre);

    pre = setdir("count");   /* tensors.count says 6, the parts hold 5 */
    write_part(pre, 0, 3, A, 2, 6, WK_GGUF_UINT16, 0);
    write_part(pre, 1, 3, B, 1, 6, WK_GGUF_UINT16, 0);
    write_part(pre, 2, 3, C, 2, 6, WK_GGUF_UINT16, 0);
    CHECK(open_set(pre, 1, 3, &np, msg, sizeof msg) != 0 && strstr(msg, "split.tensors.count is 6"));
    free(pre);

    pre = setdir("type");    /* split.count as u32 in part 2 */
    write_part(pre, 0, 2, A, 2, 3, WK_GGUF_UINT16, 0);
    write_part(pre, 1, 2, B, 1, 3, WK_GGUF_UINT32, 0);
    CHECK(open_set(pre, 0, 2, &np, msg, sizeof msg) != 0 &&
          strstr(msg, "m-00002-of-00002.gguf: key \"split.count\" has type u32, expected u16"));
    free(pre);

    pre = setdir("meta");    /* a model key in part 2 */
    write_part(pre, 0, 2, A, 2, 3, WK_GGUF_UINT16, 0);
    write_part(pre, 1, 2, B, 1, 3, WK_GGUF_UINT16, 1);
    CHECK(open_set(pre, 0, 2, &np, msg, sizeof msg) != 0 && strstr(msg, "key \"general.name\" in a part other"));
    free(pre);

    pre = setdir("dup");     /* tensor "a" in two parts */
    write_part(pre, 0, 2, A, 2, 4, WK_GGUF_UINT16, 0);
    write_part(pre, 1, 2, A, 2, 4, WK_GGUF_UINT16, 0);
    CHECK(open_set(pre, 0, 2, &np, msg, sizeof msg) != 0 && strstr(msg, "tensor \"a\" is also in"));
    free(pre);

    pre = setdir("other");   /* part 2 of a 3-part set under part 2 of 2's name */
    write_part(pre, 0, 2, A, 2, 3, WK_GGUF_UINT16, 0);
    write_part(pre, 1, 3, B, 1, 3, WK_GGUF_UINT16, 0);
    char *from = wk_gguf_split_path(pre, 1, 3), *to = wk_gguf_split_path(pre, 1, 2);
    CHECK(rename(from, to) == 0);
    CHECK(open_set(pre, 0, 2, &np, msg, sizeof msg) != 0 && strstr(msg, "belongs to another split set"));
    free(from);
    free(to);
    free(pre);
}

int main(void)
{
    WK_RUN(test_names);
    WK_RUN(test_open);
    return wk_test_summary();
}
