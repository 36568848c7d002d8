/* wk_threads.h — thread-count handling for OpenMP (-j N). */
#ifndef WK_THREADS_H
#define WK_THREADS_H

#include "wk_err.h"

/* Parse a -j value: a positive integer <= 1024, or 0/"auto" = all cores. */
int wk_threads_parse(const char *s, int *out, wk_err *err);
/* Number of online cores (>= 1). */
int wk_threads_ncores(void);
/* n <= 0 -> all cores; returns the count actually set for OpenMP. */
int wk_threads_apply(int n);

#endif
