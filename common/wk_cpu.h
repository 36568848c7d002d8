/* wk_cpu.h — the one CPU-feature probe, and the `target` attributes shared by
 * every x86 kernel file.
 *
 * The probe (CPUID and XGETBV) runs once, at the first wk_cpu_features()
 * call, under pthread_once; its result is cached for the life of the process
 * — an idempotent hardware fact, and the only lazily-initialised static in
 * the library.  CPUID traps to the hypervisor in a VM (~15 us), so nothing
 * else may probe: kernels ask wk_cpu_has(), which after the first call is a
 * load and a compare.
 *
 * Target attributes.  The library is built for the baseline ISA; SIMD
 * functions carry exactly one of the WK_TARGET_* attributes (clang 14 honours
 * only the last of several stacked `target` attributes, so each is a single
 * string) and may only run when wk_cpu_has() says so:
 *   WK_TARGET_AVX2     avx2 + f16c, NO fma: the quantizers, dot kernels and
 *                      fp16/bf16 converters, whose results must equal the
 *                      scalar references bit for bit (an FMA contraction
 *                      rounds once where the reference rounds twice);
 *                      needs WK_CPU_AVX2 | WK_CPU_F16C (= WK_CPU_SIMD).
 *   WK_TARGET_AVX2_FMA avx2 + fma + f16c: the benchmark baselines only
 *                      (tools/bench/x86); needs WK_CPU_SIMD_FMA. */
#ifndef WK_CPU_H
#define WK_CPU_H

#if defined(__x86_64__) || defined(__i386__)
#define WK_CPU_X86 1
#else
#define WK_CPU_X86 0
#endif

#define WK_TARGET_AVX2 __attribute__((target("avx2,f16c")))
#define WK_TARGET_AVX2_FMA __attribute__((target("avx2,fma,f16c")))

/* Feature bits of wk_cpu_features(); each implies the OS saves YMM state. */
enum {
    WK_CPU_AVX2 = 1u << 0,
    WK_CPU_F16C = 1u << 1,
    WK_CPU_FMA = 1u << 2,
    WK_CPU_SIMD = WK_CPU_AVX2 | WK_CPU_F16C,          /* WK_TARGET_AVX2 code */
    WK_CPU_SIMD_FMA = WK_CPU_SIMD | WK_CPU_FMA        /* WK_TARGET_AVX2_FMA code */
};

/* The WK_CPU_* bits this CPU has (0 off x86).  Probes on the first call only;
 * thread-safe; never fails. */
unsigned wk_cpu_features(void);

/* 1 if the CPU has every bit of mask (e.g. WK_CPU_SIMD), else 0. */
static inline int wk_cpu_has(unsigned mask)
{
    return (wk_cpu_features() & mask) == mask;
}

#endif
