/* wk_stats.h — value statistics of a floating-point tensor, and the "looks
 * like noise" heuristic (for wk-inspect --stats, and for wk-xor after a
 * decode).
 *
 * Why: XOR-decoding a delta against the wrong base model gives bytes that
 * still parse as a valid checkpoint, but whose fp16/bf16 values are bit
 * garbage: roughly 1 in 32 fp16 words has an all-ones exponent (NaN or Inf)
 * and the finite values span the whole fp16 range (|x| up to 65504), so the
 * mean/std are absurd.  Real weights are small (|x| well below 100, std well
 * below 1) and never NaN/Inf.
 *
 * Heuristic (wk_stats_finish sets `flags`):
 *   WK_STATS_NONFINITE  any NaN or +-Inf value;
 *   WK_STATS_HUGE       max |x| over the finite values > WK_STATS_MAX_ABS (1e4);
 *   WK_STATS_WIDE       std of the finite values > WK_STATS_MAX_STD (100).
 * A tensor with any flag "looks like noise".  The thresholds are deliberately
 * loose: trained weights, norms and embeddings of any LLaMA-family model sit
 * orders of magnitude below them, while random fp16 bits exceed all three.
 *
 * Types: every element type is named by its ggml type id (wk_gguf.h), so one
 * id covers plain dtypes (F32, F16, BF16, F64: wk_ggml_type_from_dtype) and
 * the quantized GGUF types wk_quant.h can dequantize (Q4_0 .. Q8_0, Q4_K,
 * Q5_K, Q6_K).  Integer types are not floating: wk_stats_supported() is 0.
 *
 * Accumulation is in double, streaming: values are converted to float in
 * chunks of WK_STATS_CHUNK on the stack (the "row buffer"), each chunk's
 * mean and sum of squared deviations is computed in two passes and merged
 * (Chan et al.), so memory is O(1) in the tensor size.  NaN and Inf are only
 * counted; min/max/mean/std are over the finite values (std is the
 * population std, ddof = 0, as numpy's default).  Nothing here allocates. */
#ifndef WK_STATS_H
#define WK_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_source.h"
#include "wk_tensor.h"

#define WK_STATS_MAX_ABS 1e4
#define WK_STATS_MAX_STD 100.0

#define WK_STATS_NONFINITE 1u
#define WK_STATS_HUGE 2u
#define WK_STATS_WIDE 4u

#define WK_STATS_CHUNK 4096   /* values per conversion chunk (a multiple of 256) */

typedef struct {
    uint64_t count;      /* values seen (finite + NaN + Inf) */
    uint64_t n_nan, n_inf;
    uint64_t n_finite;
    double min, max;     /* over finite values; NaN when n_finite == 0 */
    double mean, std;    /* over finite values; NaN when n_finite == 0 (std valid after finish) */
    double m2;           /* running sum of squared deviations (internal) */
    unsigned flags;      /* WK_STATS_* after wk_stats_finish */
} wk_tensor_stats;

/* Start an empty accumulation (count 0, min/max/mean NaN, flags 0). */
void wk_stats_init(wk_tensor_stats *s);
/* Add n float values (any n, any values).  Never fails. */
void wk_stats_add_f32(wk_tensor_stats *s, const float *x, size_t n);
/* Compute std and the noise flags from what was added (idempotent). */
void wk_stats_finish(wk_tensor_stats *s);

/* 1 if values of ggml type `type` can be summarised (F32, F16, BF16, F64 and
 * the types wk_quant.h dequantizes), else 0 (integers, unknown ids). */
int wk_stats_supported(int ggml_type);

/* Add the values held in nbytes contiguous bytes of ggml type `type` (for a
 * block type: whole blocks).  what names the tensor in messages.  -1 with
 * WK_E_UNSUPPORTED (type not supported) or WK_E_FORMAT (nbytes not a whole
 * number of elements / blocks); s is unchanged on failure. */
int wk_stats_add(wk_tensor_stats *s, int ggml_type, const void *p, uint64_t nbytes,
                 const char *what, wk_err *err);

/* Init + add + finish over one contiguous buffer (e.g. a decoded tensor). */
int wk_stats_data(const void *p, uint64_t nbytes, int ggml_type, const char *what,
                  wk_tensor_stats *out, wk_err *err);

/* Statistics of a torch tensor (storage resolved, as wk_pth gives it),
 * following its shape/strides in place (non-contiguous views included; no
 * copy).  WK_E_UNSUPPORTED for a non-floating dtype; extent errors as
 * wk_pth_check_extent. */
int wk_stats_tensor(const wk_tensor_info *t, wk_tensor_stats *out, wk_err *err);

/* Statistics of tensor i of a source.  Reads in place when the source gives
 * a zero-copy view; otherwise (merged Meta ranks, strided torch views) the
 * tensor is first copied into *scratch (grown as needed; the caller frees
 * it).  WK_E_UNSUPPORTED for a non-floating type; reader errors. */
int wk_stats_source(const wk_source *s, size_t i, uint8_t **scratch, size_t *scratch_cap,
                    wk_tensor_stats *out, wk_err *err);

/* "nan/inf,|max|>1e4,std>100" style description of flags into buf (cap > 0);
 * "ok" when flags is 0.  Returns buf. */
const char *wk_stats_flags_str(unsigned flags, char *buf, size_t cap);

#endif
