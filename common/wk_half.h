/* wk_half.h — fp16 / bf16 <-> fp32, bit-exact with PyTorch's `.to()`.
 *
 * fp32 -> fp16 and fp32 -> bf16 round to nearest, ties to even, like
 * c10::Half / c10::BFloat16.  NaN policy (as PyTorch): fp32 NaN -> fp16
 * sign|0x7E00, fp32 NaN -> bf16 0x7FC0 (sign dropped, as c10's
 * round_to_nearest_even).  fp16/bf16 -> fp32 is exact.
 * The *_row functions use F16C/AVX2 when the CPU has them (checked at run time)
 * and must give the same bits as the *_ref scalar versions for every input
 * except where documented here. */
#ifndef WK_HALF_H
#define WK_HALF_H

#include <stddef.h>
#include <stdint.h>

float wk_f16_to_f32(uint16_t h);
uint16_t wk_f32_to_f16(float f);
float wk_bf16_to_f32(uint16_t h);
uint16_t wk_f32_to_bf16(float f);

void wk_f16_to_f32_row_ref(const uint16_t *src, float *dst, size_t n);
void wk_f32_to_f16_row_ref(const float *src, uint16_t *dst, size_t n);
void wk_bf16_to_f32_row_ref(const uint16_t *src, float *dst, size_t n);
void wk_f32_to_bf16_row_ref(const float *src, uint16_t *dst, size_t n);

/* Dispatching versions (SIMD when available). */
void wk_f16_to_f32_row(const uint16_t *src, float *dst, size_t n);
void wk_f32_to_f16_row(const float *src, uint16_t *dst, size_t n);
void wk_bf16_to_f32_row(const uint16_t *src, float *dst, size_t n);
void wk_f32_to_bf16_row(const float *src, uint16_t *dst, size_t n);
/* Direct 16-bit conversions (bf16 -> fp16 via fp32, as torch does). */
void wk_bf16_to_f16_row(const uint16_t *src, uint16_t *dst, size_t n);
void wk_f16_to_bf16_row(const uint16_t *src, uint16_t *dst, size_t n);

/* 1 if the F16C path is in use on this CPU. */
int wk_half_have_f16c(void);

#endif
