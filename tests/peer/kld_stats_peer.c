/* kld_stats_peer.c — for tests/peer/eval_kld.sh: weightkit's KL-divergence
 * statistics (tools/eval/wk_kld.h) computed from llama.cpp's own logits, to be
 * compared with what llama-perplexity --kl-divergence prints for the same
 * windows: the statistics module alone, without weightkit's forward pass.
 *
 *   kld_stats_peer BASE.logits PREFIX
 *       BASE.logits: a base file (llama-perplexity --kl-divergence-base);
 *       PREFIX.<c>.bin: the model's logits of window c (n_ctx x n_vocab float32,
 *       llama_harness logits).  Prints "key value" lines.
 * Exit 0 on success, 1 on failure. */
#include <stdio.h>
#include <stdlib.h>

#include "wk_kld.h"
#include "wk_kldbase.h"

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: kld_stats_peer BASE.logits PREFIX\n"); return 2; }
    wk_err err;
    wk_kldbase *b = wk_kldbase_open(argv[1], &err);
    if (!b) { fprintf(stderr, "%s\n", err.msg); return 1; }
    const int64_t n_ctx = wk_kldbase_n_ctx(b), nv = wk_kldbase_n_vocab(b), nc = wk_kldbase_n_chunk(b);
    const int64_t first = n_ctx / 2, rows = wk_kldbase_rows(n_ctx);
    float *l = malloc((size_t)(n_ctx * nv) * sizeof *l), *kv = malloc((size_t)(rows * nc) * sizeof *kv);
    float *dv = malloc((size_t)(rows * nc) * sizeof *dv);
    uint16_t *row = malloc(wk_kld_row_u16(nv) * sizeof *row);
    wk_kld_acc a;
    wk_kld_acc_init(&a);
    for (int64_t c = 0; c < nc; c++) {
        char p[4096];
        snprintf(p, sizeof p, "%s.%lld.bin", argv[2], (long long)c);
        FILE *f = fopen(p, "rb");
        if (!f || fread(l, sizeof *l, (size_t)(n_ctx * nv), f) != (size_t)(n_ctx * nv)) {
            fprintf(stderr, "%s: missing or short\n", p);
            return 1;
        }
        fclose(f);
        for (int64_t i = 0; i < rows; i++) {
            if (wk_kldbase_row(b, c, i, row, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
            wk_kld_tok t;
            wk_kld_token(l + (first + i) * nv, nv, row, wk_kldbase_tokens(b)[c * n_ctx + first + i + 1], &t);
            wk_kld_acc_add(&a, &t);
            kv[c * rows + i] = (float)t.kld;
            dv[c * rows + i] = t.p_diff;
        }
    }
    wk_kld_stats s;
    if (wk_kld_summary(&a, kv, dv, (size_t)(rows * nc), &s, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    printf("ppl %.9g\nppl_base %.9g\nkld_mean %.9g\nkld_max %.9g\nkld_p99_9 %.9g\nkld_p99 %.9g\nkld_p95 %.9g\n"
           "kld_p90 %.9g\nkld_median %.9g\ntop1_agreement %.9g\nn %llu\n", s.ppl, s.ppl_base, s.kld_mean,
           (double)s.kld[0], (double)s.kld[1], (double)s.kld[2], (double)s.kld[3], (double)s.kld[4],
           (double)s.kld[5], s.same_top, (unsigned long long)s.n);
    free(l);
    free(kv);
    free(dv);
    free(row);
    wk_kldbase_close(b);
    return 0;
}
