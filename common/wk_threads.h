/* wk_threads.h — thread-count handling for OpenMP (-j N). */
#ifndef WK_THREADS_H
#define WK_THREADS_H

#include "wk_err.h"

/* Parse a -j value: decimal digits only, a positive integer <= 1024, or
 * 0/"auto" = all cores (*out = 0).  WK_E_USAGE naming the value otherwise
 * (*out unchanged). */
int wk_threads_parse(const char *s, int *out, wk_err *err);
/* Number of cores this process may run on (CPU affinity, e.g. taskset or a
 * cgroup cpuset; else the online count), 1..1024. */
int wk_threads_ncores(void);
/* omp_set_num_threads(n); n <= 0 -> wk_threads_ncores(), capped at 1024.
 * Returns the count actually set for OpenMP. */
int wk_threads_apply(int n);

#endif
