/* wk_qmix_tt.h — llama-quantize's --tensor-type NAME=TYPE overrides: NAME is a
 * regular expression searched (unanchored) in each tensor name, the first
 * matching override gives the tensor's type (before the preset's rules, after
 * --token-embedding-type / --output-tensor-type; the fallback for rows that
 * are not whole blocks still applies).
 *
 * llama.cpp compiles NAME (lower-cased) as a C++ std::regex (ECMAScript);
 * weightkit uses POSIX extended regular expressions (regcomp REG_EXTENDED),
 * the same for the patterns people write (literals, ., *, +, ?, [], |, (),
 * anchors).  ECMAScript-only syntax that ERE would read differently — the
 * escapes \d \D \w \W \s \S \b \B and (?...) groups — is refused by name. */
#ifndef WK_QMIX_TT_H
#define WK_QMIX_TT_H

#include <regex.h>
#include "wk_err.h"

typedef struct {
    char *pattern;     /* lower-cased, owned */
    regex_t re;
    int type;          /* ggml id */
} wk_qmix_tt;

/* Compile pattern (lower-cased first, as llama-quantize) for type into *tt.
 * WK_E_USAGE naming the pattern if it is empty, uses ECMAScript-only syntax
 * or does not compile.  Free with wk_qmix_tt_free. */
int wk_qmix_tt_init(wk_qmix_tt *tt, const char *pattern, int type, wk_err *err);
void wk_qmix_tt_free(wk_qmix_tt *tt);
/* The type of the first of n overrides matching name, or -1. */
int wk_qmix_tt_match(const wk_qmix_tt *tt, size_t n, const char *name);

#endif
