/* wk_threads.c — -j N handling for OpenMP. */
#include "wk_threads.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <omp.h>

#define WK_THREADS_MAX 1024

int wk_threads_parse(const char *s, int *out, wk_err *err)
{
    if (s && strcmp(s, "auto") == 0) { *out = 0; return 0; }
    long v = 0;
    size_t i = 0;
    for (; s && s[i] >= '0' && s[i] <= '9' && v <= WK_THREADS_MAX; i++)
        v = v * 10 + (s[i] - '0');
    if (!s || i == 0 || s[i] != '\0' || v > WK_THREADS_MAX)
        return wk_err_set(err, WK_E_USAGE, "invalid thread count '%s' (expected 1..%d, 0 or auto)",
                          s ? s : "", WK_THREADS_MAX);
    *out = (int)v;
    return 0;
}

/* Cores this process may run on (CPU affinity, e.g. taskset or a cgroup
 * cpuset), falling back to the online count. */
int wk_threads_ncores(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > WK_THREADS_MAX ? WK_THREADS_MAX : n) : 1;
}

int wk_threads_apply(int n)
{
    if (n <= 0) n = wk_threads_ncores();
    if (n > WK_THREADS_MAX) n = WK_THREADS_MAX;
    omp_set_num_threads(n);
    return n;
}
