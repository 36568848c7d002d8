/* wk_imat.h — the importance-matrix collector of wk-eval imatrix: a
 * wk_model_act_fn that accumulates, per weight tensor, the sum of squared
 * activations of every input column and the number of tokens, with
 * llama-imatrix's rules (docs/formats/imatrix.md, "Collecting"):
 *   - only weights named "blk.*" (and "output.weight" when process_output);
 *   - a call with fewer than 16 rows (tokens) is ignored (llama.cpp's eval
 *     callback declines batches of < 16 tokens);
 *   - sums in float, x*x added row after row for each column (the order of
 *     llama.cpp's loop; columns in parallel: the same bits for any -j);
 *   - non-finite sums are an error naming the tensor.
 * The library never prints or exits. */
#ifndef WK_IMAT_H
#define WK_IMAT_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_imatrix_write.h"

#define WK_IMAT_MIN_ROWS 16

typedef struct wk_imat wk_imat;

/* A new empty collector.  NULL with WK_E_NOMEM. */
wk_imat *wk_imat_new(int process_output, wk_err *err);
void wk_imat_free(wk_imat *c);   /* safe on NULL */

/* The wk_model_act_fn: ctx is the wk_imat.  x is rows x cols floats (row =
 * token).  WK_E_FORMAT if a tensor comes back with another column count or a
 * sum becomes non-finite; WK_E_NOMEM. */
int wk_imat_collect(void *ctx, const char *weight, const float *x, int64_t rows, int64_t cols,
                    wk_err *err);

/* Tensors collected so far, in first-seen order. */
size_t wk_imat_count(const wk_imat *c);
const char *wk_imat_name(const wk_imat *c, size_t i);
int64_t wk_imat_cols(const wk_imat *c, size_t i);
const float *wk_imat_sums(const wk_imat *c, size_t i);
int64_t wk_imat_tokens(const wk_imat *c, size_t i);

/* A view of the collected data for wk_imatrix_write (valid until the next
 * collect or free): chunk_count = the largest token count / chunk_size, as
 * llama-imatrix.  WK_E_USAGE when nothing was collected. */
int wk_imat_data(wk_imat *c, uint32_t chunk_size, const char *const *datasets, size_t n_datasets,
                 wk_imatrix_data *out, wk_err *err);

#endif
