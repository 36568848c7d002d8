/* wk_xorcheck.c — tensor statistics of a decoded checkpoint (see the header). */
#include "wk_xorcheck.h"

#include "wk_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

int wk_xorcheck_wants(const char *name)
{
    return ends_with(name, ".bin") || ends_with(name, ".safetensors") ||
           ends_with(name, ".pth") || ends_with(name, ".pt");
}

int wk_xorcheck_suspect(const wk_xorcheck *c)
{
    return c->unreadable || c->flagged > 0;
}

/* Record tensor t's stats if they look like noise. */
static void note(wk_xorcheck *c, const char *name, const wk_tensor_stats *st)
{
    c->tensors++;
    if (!st->flags) return;
    c->flagged++;
    if (c->n_listed == WK_XORCHECK_MAX_LISTED) return;
    wk_xorcheck_tensor *l = &c->listed[c->n_listed++];
    snprintf(l->name, sizeof l->name, "%s", name);
    l->stats = *st;
}

int wk_xorcheck_file(const char *path, wk_xorcheck *out, wk_err *err)
{
    memset(out, 0, sizeof *out);
    wk_err e;
    wk_err_clear(&e);
    wk_source *s = wk_source_open(path, 1, &e);
    if (!s) {
        if (e.code == WK_E_NOMEM) return (*err = e, -1);
        out->unreadable = 1;
        snprintf(out->why, sizeof out->why, "%s", e.msg);
        return 0;
    }
    out->checked = 1;
    uint8_t *scratch = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < wk_source_count(s); i++) {
        wk_tensor_stats st;
        if (wk_stats_source(s, i, &scratch, &cap, &st, &e) == 0) {
            note(out, wk_source_tensor(s, i)->name, &st);
        } else if (e.code == WK_E_UNSUPPORTED) {
            out->skipped++;
        } else if (e.code == WK_E_NOMEM) {
            rc = (*err = e, -1);
            break;
        } else {  /* a tensor whose bytes cannot be read: the file is damaged */
            out->unreadable = 1;
            snprintf(out->why, sizeof out->why, "%s", e.msg);
            break;
        }
    }
    free(scratch);
    wk_source_close(s);
    return rc;
}
