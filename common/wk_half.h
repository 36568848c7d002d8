/* wk_half.h — fp16 / bf16 <-> fp32, bit-exact with PyTorch's `.to()`.
 *
 * fp32 -> fp16 and fp32 -> bf16 round to nearest, ties to even, like
 * c10::Half / c10::BFloat16; fp32 >= 65520 in magnitude becomes fp16 inf.
 * NaN policy, measured on torch 1.13.1 (tests/fixtures/gen/make_half_golden.py):
 *   fp32 NaN -> fp16  sign|0x7E00 (c10::Half; every torch path agrees).
 *   fp32 NaN -> bf16  0xFFFF: torch's vectorised contiguous `.to(bfloat16)`
 *                     on x86 AVX2/AVX-512 (the path real checkpoints take).
 *                     NOTE torch's scalar c10 path (non-contiguous tensors,
 *                     ATEN_CPU_CAPABILITY=default, non-x86) gives 0x7FC0.
 *   fp16 NaN -> fp32  quiet bit set, payload kept: sign|0x7FC00000|mant<<13
 *                     (c10 and vcvtph2ps both quiet signalling NaNs).
 *   bf16 NaN -> fp32  exact (bits << 16), payload and sNaN kept.
 *   fp16 NaN -> bf16  0x7FC0 (torch's direct Half -> BFloat16 copy is scalar c10).
 *   bf16 NaN -> fp16  sign|0x7E00 (via fp32).
 * Everything else fp16/bf16 -> fp32 is exact.
 * The fp32 <-> fp16/bf16 *_row functions use F16C/AVX2 when the CPU has them
 * (checked at run time) and give the same bits as the *_ref scalar versions
 * for every input, NaNs included.  The 16 -> 16 rows are scalar only. */
#ifndef WK_HALF_H
#define WK_HALF_H

#include <stddef.h>
#include <stdint.h>

/* One value each way, scalar reference (policy above). */
float wk_f16_to_f32(uint16_t h);
uint16_t wk_f32_to_f16(float f);
float wk_bf16_to_f32(uint16_t h);
uint16_t wk_f32_to_bf16(float f);

/* Rows: dst[i] = convert(src[i]) for i < n; src and dst must not overlap. */
void wk_f16_to_f32_row_ref(const uint16_t *src, float *dst, size_t n);
void wk_f32_to_f16_row_ref(const float *src, uint16_t *dst, size_t n);
void wk_bf16_to_f32_row_ref(const uint16_t *src, float *dst, size_t n);
void wk_f32_to_bf16_row_ref(const float *src, uint16_t *dst, size_t n);

/* Dispatching versions (SIMD when available). */
void wk_f16_to_f32_row(const uint16_t *src, float *dst, size_t n);
void wk_f32_to_f16_row(const float *src, uint16_t *dst, size_t n);
void wk_bf16_to_f32_row(const uint16_t *src, float *dst, size_t n);
void wk_f32_to_bf16_row(const float *src, uint16_t *dst, size_t n);
/* Direct 16-bit conversions, as torch's direct copies: bf16 -> fp16 via fp32;
 * fp16 -> bf16 via fp32 except that any NaN gives 0x7FC0. */
void wk_bf16_to_f16_row(const uint16_t *src, uint16_t *dst, size_t n);
void wk_f16_to_bf16_row(const uint16_t *src, uint16_t *dst, size_t n);

/* Non-finite values (NaN, +-Inf) among n values in memory (any alignment):
 * their count; *first (may be NULL) gets the index of the first, or
 * SIZE_MAX when there is none.  One branch-free pass (the callers scan bytes
 * they are converting or hashing anyway, still in cache). */
uint64_t wk_f32_nonfinite(const void *x, size_t n, size_t *first);
uint64_t wk_f16_nonfinite(const void *x, size_t n, size_t *first);
uint64_t wk_bf16_nonfinite(const void *x, size_t n, size_t *first);
/* The scalar references of the three counts (one element at a time; the
 * functions above count 64 bits at a time and must agree: tests/unit/test_half.c). */
uint64_t wk_f32_nonfinite_ref(const void *x, size_t n);
uint64_t wk_f16_nonfinite_ref(const void *x, size_t n);
uint64_t wk_bf16_nonfinite_ref(const void *x, size_t n);

#endif
