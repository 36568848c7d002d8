/* imatrix_rewrite.c — for tests/peer/eval_imatrix.sh: read the raw sums and
 * counts of a GGUF importance matrix written by llama.cpp's llama-imatrix
 * (with wk_gguf, not through wk_imatrix's weights) and write them again with
 * wk_imatrix_write, so the script can compare the two files byte for byte.
 *
 *   imatrix_rewrite IN.gguf OUT gguf|dat
 * Exit 0 on success, 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_gguf.h"
#include "wk_imatrix_write.h"

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: imatrix_rewrite IN.gguf OUT gguf|dat\n"); return 2; }
    wk_err err;
    wk_gguf *g = wk_gguf_open(argv[1], &err);
    if (!g) { fprintf(stderr, "%s\n", err.msg); return 1; }
    size_t nt = wk_gguf_tensor_count(g), n = 0;
    wk_imatrix_entry *e = calloc(nt, sizeof *e);
    int64_t *cnt = calloc(nt, sizeof *cnt * 64);
    char **names = calloc(nt, sizeof *names);
    for (size_t i = 0; i < nt; i++) {
        const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
        size_t l = strlen(t->name);
        if (l < 8 || strcmp(t->name + l - 8, ".in_sum2")) continue;
        names[n] = strndup(t->name, l - 8);
        char cn[128];
        snprintf(cn, sizeof cn, "%s.counts", names[n]);
        const wk_gguf_tensor *c = wk_gguf_tensor_at(g, (size_t)wk_gguf_find_tensor(g, cn));
        const int64_t nmat = c->ne[1];
        for (int64_t j = 0; j < nmat && j < 64; j++) {
            float f;
            memcpy(&f, c->data + 4 * j, 4);
            cnt[64 * n + j] = (int64_t)f;
        }
        e[n] = (wk_imatrix_entry){ .name = names[n], .sums = (const float *)t->data, .counts = cnt + 64 * n,
                                   .ne0 = t->ne[0], .nmat = nmat };
        n++;
    }
    uint32_t cc, cs;
    const char *ds = NULL;
    size_t dl = 0;
    long k = wk_gguf_find_key(g, "imatrix.datasets");
    if (k >= 0) ds = wk_gguf_arr_str(g, (size_t)k, 0, &dl);
    char *d0 = ds ? strndup(ds, dl) : NULL;
    const char *dsv[1] = { d0 };
    int rc = 1;
    if (wk_gguf_get_u32(g, "imatrix.chunk_count", &cc, &err) || wk_gguf_get_u32(g, "imatrix.chunk_size", &cs, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        goto done;
    }
    wk_imatrix_data d = { .entries = e, .n_entries = n, .datasets = dsv, .n_datasets = d0 ? 1 : 0,
                          .chunk_count = cc, .chunk_size = cs };
    if (wk_imatrix_write(argv[2], &d, !strcmp(argv[3], "dat"), NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        goto done;
    }
    printf("%s: %zu entries rewritten to %s (%s)\n", argv[1], n, argv[2], argv[3]);
    rc = 0;
done:
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(cnt);
    free(e);
    free(d0);
    wk_gguf_close(g);
    return rc;
}
