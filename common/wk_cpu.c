/* wk_cpu.c — the CPU-feature probe, run once (see wk_cpu.h). */
#include "wk_cpu.h"

#include <pthread.h>

#if WK_CPU_X86
#include <cpuid.h>

/* CPUID leaf 1 (AVX, F16C, FMA, OSXSAVE), XGETBV (XMM and YMM state enabled
 * by the OS) and leaf 7 (AVX2).  AVX2/F16C/FMA are only reported with AVX
 * and YMM state, without which none of them can run. */
static unsigned probe(void)
{
    unsigned a, b, c, d, lo, hi, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned c1 = c;
    if (!((c1 >> 28) & 1) || !((c1 >> 27) & 1)) return 0;   /* AVX, OSXSAVE */
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & 6) != 6) return 0;
    if ((c1 >> 29) & 1) f |= WK_CPU_F16C;
    if ((c1 >> 12) & 1) f |= WK_CPU_FMA;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && ((b >> 5) & 1)) f |= WK_CPU_AVX2;
    return f;
}
#else
static unsigned probe(void) { return 0; }
#endif

/* Written once inside pthread_once, read only after it returns (which
 * orders the write before every read): the documented lazily-initialised
 * static. */
static unsigned g_features;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_features(void)
{
    g_features = probe();
}

unsigned wk_cpu_features(void)
{
    pthread_once(&g_once, init_features);
    return g_features;
}
