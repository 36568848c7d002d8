/* quant_imatrix_err.c — importance-weighted error of Q4_0 / Q5_0 on the F16 matrices of
 * MODEL.gguf that IMATRIX.gguf covers: ggml's reference, --search without and with the
 * imatrix, as sqrt(sum w (x - q)^2) with w = in_sum2 / counts.  Used by
 * bench/quant_imatrix.sh.   usage: quant_imatrix_err MODEL.gguf IMATRIX.gguf */
#include "wk_gguf.h"
#include "wk_half.h"
#include "wk_quant.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
    wk_err err;
    if (argc != 3) { fprintf(stderr, "usage: quant_imatrix_err MODEL.gguf IMATRIX.gguf\n"); return 2; }
    wk_gguf *g = wk_gguf_open(argv[1], &err), *im = g ? wk_gguf_open(argv[2], &err) : NULL;
    if (!g || !im) { fprintf(stderr, "quant_imatrix_err: %s\n", err.msg); return 1; }
    for (int k = 0; k < 2; k++) {
        const int type = k ? WK_GGML_Q5_0 : WK_GGML_Q4_0;
        double e[3] = { 0 }, u[3] = { 0 };
        for (size_t i = 0; i < wk_gguf_tensor_count(g); i++) {
            const wk_gguf_tensor *t = wk_gguf_tensor_at(g, i);
            char key[200]; snprintf(key, sizeof key, "%s.in_sum2", t->name);
            long si = wk_gguf_find_tensor(im, key); snprintf(key, sizeof key, "%s.counts", t->name);
            long ci = wk_gguf_find_tensor(im, key);
            if (si < 0 || ci < 0 || t->type != WK_GGML_F16 || t->n_dims != 2) continue;
            int64_t c = t->ne[0], r = t->ne[1];
            float cnt, *w = malloc(4 * c), *x = malloc(4 * c * r);
            memcpy(&cnt, wk_gguf_tensor_at(im, ci)->data, 4);
            for (int64_t j = 0; j < c; j++) { memcpy(&w[j], wk_gguf_tensor_at(im, si)->data + 4 * j, 4); w[j] /= cnt; }
            for (int64_t j = 0; j < c * r; j++) { uint16_t h; memcpy(&h, t->data + 2 * j, 2); x[j] = wk_f16_to_f32(h); }
            uint8_t *q = malloc(2 * c * r);
            for (int m = 0; m < 3; m++) {   /* ref, search (unweighted), search with imatrix */
                wk_qopts o = { .kernel = m ? WK_QK_SEARCH : WK_QK_REF, .imatrix = m == 2 ? w : NULL };
                if (wk_quantize_rows(type, x, q, r, c, &o, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
                size_t rs = wk_ggml_row_size(type, c);
                for (int64_t row = 0; row < r; row++) {
                    e[m] += wk_quant_sq_error(type, x + row * c, q + row * rs, c, w);
                    u[m] += wk_quant_sq_error(type, x + row * c, q + row * rs, c, NULL);
                }
            }
            free(w); free(x); free(q);
        }
        printf("%s: weighted error  ref %.5e  search %.5e (%.2f%%)  search+imatrix %.5e (%.2f%%);  unweighted RMSE-ratio search+imatrix vs ref %.2f%%\n",
               wk_ggml_type_get(type)->lname, sqrt(e[0]), sqrt(e[1]), 100 * (1 - sqrt(e[1] / e[0])), sqrt(e[2]), 100 * (1 - sqrt(e[2] / e[0])),
               100 * (1 - sqrt(u[2] / u[0])));
    }
    wk_gguf_close(g);
    wk_gguf_close(im);
    return 0;
}
