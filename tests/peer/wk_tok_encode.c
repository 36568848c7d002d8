/* wk_tok_encode — test helper (built by tests/CMakeLists.txt into build/tests/): prints
 * wk_tok_encode's ids for a text file as space-separated decimals on one line.
 *
 *   wk_tok_encode gguf MODEL.gguf TEXTFILE [bos|nobos|default] [repeat N]
 *   wk_tok_encode dir  MODEL_DIR  TEXTFILE [bos|nobos|default] [repeat N]
 *   wk_tok_encode info gguf|dir PATH     kind, n_vocab, bos, add_bos
 *
 * bos: always prepend BOS; nobos: never; default (the default): the vocabulary's
 * add_bos.  "repeat N" encodes N times and prints only the bytes/s to stderr
 * (docs/benchmarks.md).  Exit 0, or 1 with the error message on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wk_gguf.h"
#include "wk_tokenize.h"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    for (size_t k; b && (k = fread(b + len, 1, cap - len, f)) > 0;) {
        len += k;
        if (len == cap) b = realloc(b, cap *= 2);
    }
    fclose(f);
    *n = len;
    return b;
}

int main(int argc, char **argv)
{
    wk_err err;
    wk_err_clear(&err);
    int info = argc >= 4 && !strcmp(argv[1], "info");
    if (argc < 4 || (!info && strcmp(argv[1], "gguf") && strcmp(argv[1], "dir"))) {
        fprintf(stderr, "usage: wk_tok_encode gguf|dir PATH TEXTFILE [bos|nobos|default] [repeat N]\n"
                        "       wk_tok_encode info gguf|dir PATH\n");
        return 2;
    }
    const char *how = info ? argv[2] : argv[1], *path = info ? argv[3] : argv[2];
    wk_gguf *g = NULL;
    wk_tok *t = NULL;
    if (!strcmp(how, "gguf")) {
        if ((g = wk_gguf_open(path, &err))) t = wk_tok_open_gguf(g, &err);
    } else {
        t = wk_tok_open_dir(path, &err);
    }
    if (!t) {
        fprintf(stderr, "wk_tok_encode: %s\n", err.msg);
        wk_gguf_close(g);
        return 1;
    }
    int rc = 1;
    if (info) {
        printf("%s %lld %d %d\n", wk_tok_kind(t), (long long)wk_tok_n_vocab(t), wk_tok_bos(t), wk_tok_add_bos(t));
        rc = 0;
        goto done;
    }
    size_t len = 0;
    char *text = slurp(argv[3], &len);
    if (!text) {
        perror(argv[3]);
        goto done;
    }
    int bos = wk_tok_add_bos(t);
    if (argc > 4 && !strcmp(argv[4], "bos")) bos = 1;
    if (argc > 4 && !strcmp(argv[4], "nobos")) bos = 0;
    long reps = argc > 6 && !strcmp(argv[5], "repeat") ? atol(argv[6]) : 0;
    int32_t *ids = NULL;
    size_t n = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long r = 0; r < (reps ? reps : 1); r++) {
        free(ids);
        if (wk_tok_encode(t, text, len, bos, &ids, &n, &err)) {
            fprintf(stderr, "wk_tok_encode: %s\n", err.msg);
            free(text);
            goto done;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (reps) {
        double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        fprintf(stderr, "%zu bytes -> %zu ids, %.3f MB/s\n", len, n, (double)len * (double)reps / s / 1e6);
    } else {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    free(text);
    rc = 0;
done:
    wk_tok_close(t);
    wk_gguf_close(g);
    return rc;
}
