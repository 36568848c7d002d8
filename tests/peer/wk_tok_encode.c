/* wk_tok_encode — test helper (built by tests/CMakeLists.txt into build/tests/): prints
 * wk_tok_encode's ids for a text file as space-separated decimals on one line.
 *
 *   wk_tok_encode [--bos|--nobos] [--repeat N] gguf MODEL.gguf TEXTFILE...
 *   wk_tok_encode [--bos|--nobos] [--repeat N] dir  MODEL_DIR  TEXTFILE...
 *   wk_tok_encode info gguf|dir PATH     kind, n_vocab, bos, add_bos
 *
 * One line per text file.  --bos: always prepend BOS; --nobos: never; else the
 * vocabulary's add_bos.  --repeat N encodes each text N times and prints, instead of
 * the ids, "<bytes> <ids> <seconds>" (docs/benchmarks.md).  Exit 0, or 1 with the
 * error message on stderr. */
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

static int encode_file(const wk_tok *t, const char *file, int bos, long reps)
{
    size_t len = 0;
    char *text = slurp(file, &len);
    if (!text) {
        perror(file);
        return 1;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    wk_err err;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long r = 0; r < (reps ? reps : 1); r++) {
        free(ids);
        ids = NULL;
        if (wk_tok_encode(t, text, len, bos, &ids, &n, &err)) {
            fprintf(stderr, "wk_tok_encode: %s: %s\n", file, err.msg);
            free(text);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (reps) {
        double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        printf("%zu %zu %.6f\n", len * (size_t)reps, n * (size_t)reps, s);
    } else {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    wk_err err;
    wk_err_clear(&err);
    int bos = -1, a = 1;
    long reps = 0;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--bos")) bos = 1;
        else if (!strcmp(argv[a], "--nobos")) bos = 0;
        else if (!strcmp(argv[a], "--repeat") && a + 1 < argc) reps = atol(argv[++a]);
        else break;
    }
    int info = a + 3 <= argc && !strcmp(argv[a], "info");
    if (info) a++;
    if (a + (info ? 2 : 3) > argc || (strcmp(argv[a], "gguf") && strcmp(argv[a], "dir"))) {
        fprintf(stderr, "usage: wk_tok_encode [--bos|--nobos] [--repeat N] gguf|dir PATH TEXTFILE...\n"
                        "       wk_tok_encode info gguf|dir PATH\n");
        return 2;
    }
    const char *how = argv[a], *path = argv[a + 1];
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
    int rc = 0;
    if (info) printf("%s %lld %d %d\n", wk_tok_kind(t), (long long)wk_tok_n_vocab(t), wk_tok_bos(t), wk_tok_add_bos(t));
    for (int i = a + 2; !info && i < argc && !rc; i++)
        rc = encode_file(t, argv[i], bos < 0 ? wk_tok_add_bos(t) : bos, reps);
    wk_tok_close(t);
    wk_gguf_close(g);
    return rc;
}
