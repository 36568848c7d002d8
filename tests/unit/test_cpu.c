/* test_cpu.c — the one CPU-feature probe (common/wk_cpu.h): the same answer
 * from every thread, including threads racing on the first call; the
 * feature masks are consistent; the bits agree with GCC's own CPU model. */
#include "wk_cpu.h"
#include "wk_test.h"

#include <omp.h>

static void test_first_call_races(void)
{
    enum { N = 8 };
    unsigned got[N];
#pragma omp parallel for num_threads(N) schedule(static, 1)
    for (int i = 0; i < N; i++) got[i] = wk_cpu_features();   /* first call of the process */
    for (int i = 1; i < N; i++) CHECK_EQ_U64(got[i], got[0]);
    CHECK_EQ_U64(wk_cpu_features(), got[0]);
}

static void test_masks(void)
{
    const unsigned f = wk_cpu_features();
    CHECK((f & ~(unsigned)(WK_CPU_AVX2 | WK_CPU_F16C | WK_CPU_FMA)) == 0);
    CHECK(wk_cpu_has(0));
    CHECK_EQ_U64(wk_cpu_has(WK_CPU_SIMD), (f & WK_CPU_SIMD) == WK_CPU_SIMD);
    CHECK(!wk_cpu_has(WK_CPU_SIMD_FMA) || wk_cpu_has(WK_CPU_SIMD));
#if WK_CPU_X86 && defined(__GNUC__) && !defined(__clang__)
    /* GCC's libgcc CPU model (which also checks the OS's YMM support) */
    CHECK_EQ_U64(!!(f & WK_CPU_AVX2), !!__builtin_cpu_supports("avx2"));
    CHECK_EQ_U64(!!(f & WK_CPU_FMA), !!__builtin_cpu_supports("fma"));
#elif !WK_CPU_X86
    CHECK_EQ_U64(f, 0);
#endif
    printf("  features: avx2 %d, f16c %d, fma %d\n", !!(f & WK_CPU_AVX2), !!(f & WK_CPU_F16C),
           !!(f & WK_CPU_FMA));
}

int main(void)
{
    WK_RUN(test_first_call_races);
    WK_RUN(test_masks);
    return wk_test_summary();
}
