/* wk_bench_simd.h — AVX2+FMA kernels of wk-bench's fp32 / fp16 / bf16
 * baselines and its FMA peak (wk_bench_avx2.c).  Internal to wk_bench*.c.
 * These are for timing: their float rounding differs from the fixed-order
 * references in wk_bench.c (fused multiply-add, other summation order). */
#ifndef WK_BENCH_SIMD_H
#define WK_BENCH_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* sum a[i] * b[i] over n floats (any n). Only when wk_cpu_has(WK_CPU_SIMD_FMA). */
float wk_bench_dot_f32_fma(const float *a, const float *b, int64_t n);
/* The same over n fp16 (bf = 0) or bf16 (bf = 1) values widened to fp32. */
float wk_bench_dot_16_fma(int bf, const uint16_t *a, const uint16_t *b, int64_t n);
/* iters rounds of 10 independent 8-wide FMA chains; returns a value that
 * depends on all of them (so the work is not optimised away).  Flops done:
 * iters * 10 * 8 * 2.  Only when wk_cpu_has(WK_CPU_SIMD_FMA). */
float wk_bench_fma_loop(int64_t iters, float seed);

/* Sum of n 64-bit integers (AVX2 when wk_cpu_has(WK_CPU_SIMD_FMA), else only call
 * it on non-x86 builds, where it is scalar): the read-bandwidth kernel. */
uint64_t wk_bench_read_sum(const uint64_t *a, size_t n);

#endif
