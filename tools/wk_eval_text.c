/* wk_eval_text.c — text to tokens for wk-eval (wk_eval_text.h). */
#include "wk_eval_text.h"
#include "wk_gguf.h"
#include "wk_io.h"
#include "wk_tokenize.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static wk_tok *open_tok(const char *model_path, wk_gguf **g, wk_err *err)
{
    struct stat st;
    *g = NULL;
    if (stat(model_path, &st) == 0 && S_ISDIR(st.st_mode)) return wk_tok_open_dir(model_path, err);
    *g = wk_gguf_open(model_path, err);
    if (!*g) return NULL;
    wk_tok *t = wk_tok_open_gguf(*g, err);
    if (!t) wk_err_prefix(err, "%s", model_path);
    return t;
}

int wk_eval_tokenize(const char *model_path, const char *text_path, wk_eval_tokens *t, wk_err *err)
{
    memset(t, 0, sizeof *t);
    wk_gguf *g;
    wk_map map = {0};
    int rc = -1;
    wk_tok *tok = open_tok(model_path, &g, err);
    if (!tok) goto done;
    const int add_bos = wk_tok_add_bos(tok);
    t->bos = add_bos ? wk_tok_bos(tok) : -1;
    t->n_vocab = wk_tok_n_vocab(tok);
    WK_FAIL_GOTO(add_bos && t->bos < 0, done, err, WK_E_FORMAT,
                 "%s: the vocabulary adds a BOS token but has none", model_path);
    if (text_path) {
        WK_TRY_GOTO(wk_map_open(&map, text_path, err), done);
        if (wk_tok_encode(tok, (const char *)map.data, map.size, add_bos, &t->ids, &t->n, err)) {
            wk_err_prefix(err, "%s", text_path);
            goto done;
        }
    }
    rc = 0;
done:
    wk_map_close(&map);
    wk_tok_close(tok);
    wk_gguf_close(g);
    return rc;
}

void wk_eval_tokens_free(wk_eval_tokens *t)
{
    free(t->ids);
    t->ids = NULL;
}

const char *wk_eval_basename(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *s = path + n;
    while (s > path && s[-1] != '/') s--;
    return s;
}
