/* wk_quant_search.c — error-minimising block quantization (WK_QK_SEARCH).
 * Work in progress: currently the reference quantizer. */
#include "wk_quant.h"

void wk_quantize_row_search(const wk_qtraits *qt, const float *x, void *y, int64_t n,
                            const float *imatrix)
{
    (void)imatrix;
    qt->quantize_ref(x, y, n);
}
