/* sparse_meta.c — a shape-exact Meta Llama 3.x checkpoint whose weights are holes.
 *
 *   sparse_meta OUT_DIR DIM LAYERS HEADS KV_HEADS FFN RANKS [scaled]
 *
 * Writes OUT_DIR/consolidated.NN.pth (torch 1.13 zip layout through wk_pthw, every weight
 * bf16 and all zero) with the zero data skipped by lseek (a sparse file: the apparent size
 * is the real checkpoint's, the disk usage is a few MB), and a Meta-style params.json
 * (vocab 128256, rope_theta 500000, multiple_of 1024 + ffn_dim_multiplier 1.3 are written
 * only as the FFN needs them: here multiple_of FFN and no multiplier, which gives exactly
 * FFN; "use_scaled_rope": true with `scaled`).  Splits as Meta's: tok_embeddings and output,
 * wq/wk/wv/w1/w3 by rows, wo/w2 by columns, norms replicated.  Used by
 * tests/peer/convert_llama3_sparse.sh and bench/convert_llama3_sparse.sh (the streamed
 * 8B run whose peak RSS docs/convert.md reports).  Exit 1 with a message on any error. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_pth_write.h"
#include "wk_sink.h"

/* Sink: all-zero writes become holes (lseek), others are written. */
static int sparse_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    int fd = *(int *)ctx;
    const unsigned char *b = p;
    size_t i = 0;
    while (i < n && b[i] == 0) i++;
    if (i == n) {
        if (lseek(fd, (off_t)n, SEEK_CUR) < 0) return wk_err_set(err, WK_E_IO, "lseek");
        return 0;
    }
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k <= 0) return wk_err_set(err, WK_E_IO, "write");
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

typedef struct {
    char name[64];
    int64_t rows, cols; /* this rank's slice; cols 0 for 1-D */
} slice;

static int add(slice *s, int n, const char *name, int64_t rows, int64_t cols)
{
    snprintf(s[n].name, sizeof s[n].name, "%s", name);
    s[n].rows = rows;
    s[n].cols = cols;
    return n + 1;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: sparse_meta OUT_DIR DIM LAYERS HEADS KV_HEADS FFN RANKS [scaled]\n");
        return 1;
    }
    const char *out = argv[1];
    int64_t dim = atoll(argv[2]), layers = atoll(argv[3]), heads = atoll(argv[4]);
    int64_t kv = atoll(argv[5]), ffn = atoll(argv[6]), ranks = atoll(argv[7]), V = 128256;
    int64_t hd = dim / heads;
    int n_t = (int)(3 + 9 * layers);
    slice *s = calloc((size_t)n_t, sizeof *s);
    wk_pthw_storage *st = calloc((size_t)n_t, sizeof *st);
    wk_pthw_tensor *tt = calloc((size_t)n_t, sizeof *tt);
    char path[4096];
    for (int64_t r = 0; r < ranks; r++) {
        int n = 0;
        n = add(s, n, "tok_embeddings.weight", V / ranks, dim);
        for (int64_t l = 0; l < layers; l++) {
            char k[64];
#define L(suffix, rows, cols) (snprintf(k, sizeof k, "layers.%lld." suffix, (long long)l), n = add(s, n, k, rows, cols))
            L("attention.wq.weight", dim / ranks, dim);
            L("attention.wk.weight", kv * hd / ranks, dim);
            L("attention.wv.weight", kv * hd / ranks, dim);
            L("attention.wo.weight", dim, dim / ranks);
            L("feed_forward.w1.weight", ffn / ranks, dim);
            L("feed_forward.w2.weight", dim, ffn / ranks);
            L("feed_forward.w3.weight", ffn / ranks, dim);
            L("attention_norm.weight", dim, 0);
            L("ffn_norm.weight", dim, 0);
#undef L
        }
        n = add(s, n, "norm.weight", dim, 0);
        n = add(s, n, "output.weight", V / ranks, dim);
        for (int i = 0; i < n; i++) {
            int64_t shape[2] = {s[i].rows, s[i].cols};
            st[i].dtype = WK_DT_BF16;
            st[i].nbytes = 2 * (uint64_t)s[i].rows * (uint64_t)(s[i].cols ? s[i].cols : 1);
            wk_pthw_tensor_contiguous(&tt[i], s[i].name, (size_t)i, s[i].cols ? 2 : 1, shape);
        }
        snprintf(path, sizeof path, "%s/consolidated.%02lld.pth", out, (long long)r);
        wk_err err = {0};
        wk_pthw *w = wk_pthw_plan(path, st, (size_t)n, tt, (size_t)n, WK_PTH_TORCH_1_13, &err);
        int fd = w ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
        wk_sink sink;
        wk_sink_init(&sink, sparse_write, &fd);
        int rc = fd < 0 || wk_pthw_begin(w, &sink, &err);
        for (size_t k = 0; !rc && k < wk_pthw_storage_count(w); k++) {
            size_t i = wk_pthw_record_storage(w, k);
            rc = wk_pthw_storage_begin(w, i, &err) || wk_pthw_write_zeros(w, st[i].nbytes, &err) ||
                 wk_pthw_storage_end(w, &err);
        }
        rc = rc || wk_pthw_finish(w, &err) || ftruncate(fd, (off_t)wk_pthw_total_size(w)) != 0;
        if (rc) {
            fprintf(stderr, "sparse_meta: %s: %s\n", path, err.msg[0] ? err.msg : "open/truncate failed");
            return 1;
        }
        close(fd);
        wk_pthw_free(w);
    }
    snprintf(path, sizeof path, "%s/params.json", out);
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    fprintf(f, "{\"dim\": %lld, \"n_layers\": %lld, \"n_heads\": %lld, \"n_kv_heads\": %lld, "
            "\"vocab_size\": 128256, \"multiple_of\": %lld, \"norm_eps\": 1e-05, "
            "\"rope_theta\": 500000.0%s}", (long long)dim, (long long)layers, (long long)heads,
            (long long)kv, (long long)ffn, argc > 8 ? ", \"use_scaled_rope\": true" : "");
    fclose(f);
    free(s);
    free(st);
    free(tt);
    return 0;
}
