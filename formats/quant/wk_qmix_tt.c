/* wk_qmix_tt.c — --tensor-type overrides (see wk_qmix_tt.h). */
#include "wk_qmix_tt.h"

#include <stdlib.h>
#include <string.h>

int wk_qmix_tt_init(wk_qmix_tt *tt, const char *pattern, int type, wk_err *err)
{
    memset(tt, 0, sizeof *tt);
    WK_FAIL_IF(!pattern || !*pattern, err, WK_E_USAGE, "--tensor-type: missing tensor name");
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '\\' && p[1] && strchr("dDwWsSbB", p[1]))
            return wk_err_set(err, WK_E_USAGE, "--tensor-type '%s': \\%c is ECMAScript (llama.cpp's "
                              "std::regex), not POSIX; write a bracket expression such as [0-9] instead",
                              pattern, p[1]);
        if (p[0] == '\\' && p[1]) p++;
        else if (p[0] == '(' && p[1] == '?')
            return wk_err_set(err, WK_E_USAGE, "--tensor-type '%s': (?...) groups are ECMAScript, "
                              "not POSIX extended regular expressions", pattern);
    }
    tt->pattern = strdup(pattern);
    WK_FAIL_IF(!tt->pattern, err, WK_E_NOMEM, "out of memory");
    for (char *p = tt->pattern; *p; p++) if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    int rc = regcomp(&tt->re, tt->pattern, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char msg[128];
        regerror(rc, &tt->re, msg, sizeof msg);
        free(tt->pattern);
        tt->pattern = NULL;
        return wk_err_set(err, WK_E_USAGE, "--tensor-type '%s': not a regular expression: %s", pattern, msg);
    }
    tt->type = type;
    return 0;
}

void wk_qmix_tt_free(wk_qmix_tt *tt)
{
    if (!tt || !tt->pattern) return;
    regfree(&tt->re);
    free(tt->pattern);
    tt->pattern = NULL;
}

int wk_qmix_tt_match(const wk_qmix_tt *tt, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (tt[i].pattern && regexec(&tt[i].re, name, 0, NULL, 0) == 0) return tt[i].type;
    return -1;
}
