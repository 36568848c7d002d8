/* wk_tokpw.c — serde_json's PrettyFormatter for tokenizer.json; see wk_tokpw.h. */
#include "wk_tokpw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

wk_tokpw *wk_tokpw_new(wk_sink *out)
{
    wk_tokpw *w = malloc(sizeof *w);
    if (!w) return NULL;
    w->out = out;
    w->n = 0;
    w->depth = 0;
    w->has[0] = 0;
    return w;
}

static void flush(wk_tokpw *w)
{
    if (w->n) wk_sink_write(w->out, w->buf, w->n, NULL);
    w->n = 0;
}

void wk_tokpw_free(wk_tokpw *w)
{
    if (!w) return;
    flush(w);
    free(w);
}

void wk_tokpw_put(wk_tokpw *w, const void *p, size_t n)
{
    const unsigned char *s = p;
    while (n) {
        if (w->n == WK_TOKPW_BUF) flush(w);
        size_t k = WK_TOKPW_BUF - w->n < n ? WK_TOKPW_BUF - w->n : n;
        memcpy(w->buf + w->n, s, k);
        w->n += k;
        s += k;
        n -= k;
    }
}

void wk_tokpw_puts(wk_tokpw *w, const char *s) { wk_tokpw_put(w, s, strlen(s)); }

void wk_tokpw_str_body(wk_tokpw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        wk_tokpw_put(w, run, (size_t)(s - run));
        run = s + 1;
        char e[7] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\t': e[1] = 't'; break;
        case '\n': e[1] = 'n'; break;
        case '\f': e[1] = 'f'; break;
        case '\r': e[1] = 'r'; break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            k = 6;
        }
        wk_tokpw_put(w, e, k);
    }
    wk_tokpw_put(w, run, (size_t)(s - run));
}

void wk_tokpw_str(wk_tokpw *w, const char *s)
{
    wk_tokpw_put(w, "\"", 1);
    wk_tokpw_str_body(w, s);
    wk_tokpw_put(w, "\"", 1);
}

static void indent(wk_tokpw *w)
{
    for (size_t i = 0; i < w->depth; i++) wk_tokpw_put(w, "  ", 2);
}

void wk_tokpw_open(wk_tokpw *w, char c)
{
    wk_tokpw_put(w, &c, 1);
    w->depth++;
    if (w->depth < WK_TOKPW_DEPTH) w->has[w->depth] = 0;
}

void wk_tokpw_close(wk_tokpw *w, char c)
{
    int had = w->has[w->depth];
    w->depth--;
    if (had) {
        wk_tokpw_put(w, "\n", 1);
        indent(w);
    }
    wk_tokpw_put(w, &c, 1);
}

void wk_tokpw_item(wk_tokpw *w)
{
    wk_tokpw_puts(w, w->has[w->depth] ? ",\n" : "\n");
    w->has[w->depth] = 1;
    indent(w);
}

void wk_tokpw_key(wk_tokpw *w, const char *k)
{
    wk_tokpw_item(w);
    wk_tokpw_str(w, k);
    wk_tokpw_put(w, ": ", 2);
}

void wk_tokpw_kstr(wk_tokpw *w, const char *k, const char *v)
{
    wk_tokpw_key(w, k);
    wk_tokpw_str(w, v);
}

void wk_tokpw_kraw(wk_tokpw *w, const char *k, const char *v)
{
    wk_tokpw_key(w, k);
    wk_tokpw_puts(w, v);
}

static void put_uint(wk_tokpw *w, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    wk_tokpw_puts(w, b);
}

void wk_tokpw_kuint(wk_tokpw *w, const char *k, uint64_t v)
{
    wk_tokpw_key(w, k);
    put_uint(w, v);
}

void wk_tokpw_uint(wk_tokpw *w, uint64_t v)
{
    wk_tokpw_item(w);
    put_uint(w, v);
}

void wk_tokpw_piece(wk_tokpw *w, const char *kind, const char *id, unsigned type_id)
{
    wk_tokpw_item(w);
    wk_tokpw_open(w, '{');
    wk_tokpw_key(w, kind);
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "id", id);
    wk_tokpw_kuint(w, "type_id", type_id);
    wk_tokpw_close(w, '}');
    wk_tokpw_close(w, '}');
}

void wk_tokpw_template(wk_tokpw *w, const char *bos, uint64_t bos_id, int pair_bos)
{
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", "TemplateProcessing");
    wk_tokpw_key(w, "single");
    wk_tokpw_open(w, '[');
    wk_tokpw_piece(w, "SpecialToken", bos, 0);
    wk_tokpw_piece(w, "Sequence", "A", 0);
    wk_tokpw_close(w, ']');
    wk_tokpw_key(w, "pair");
    wk_tokpw_open(w, '[');
    wk_tokpw_piece(w, "SpecialToken", bos, 0);
    wk_tokpw_piece(w, "Sequence", "A", 0);
    if (pair_bos) wk_tokpw_piece(w, "SpecialToken", bos, 1);
    wk_tokpw_piece(w, "Sequence", "B", pair_bos ? 1 : 0);
    wk_tokpw_close(w, ']');
    wk_tokpw_key(w, "special_tokens");
    wk_tokpw_open(w, '{');
    wk_tokpw_key(w, bos);
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "id", bos);
    wk_tokpw_key(w, "ids");
    wk_tokpw_open(w, '[');
    wk_tokpw_uint(w, bos_id);
    wk_tokpw_close(w, ']');
    wk_tokpw_key(w, "tokens");
    wk_tokpw_open(w, '[');
    wk_tokpw_item(w);
    wk_tokpw_str(w, bos);
    wk_tokpw_close(w, ']');
    wk_tokpw_close(w, '}');
    wk_tokpw_close(w, '}');
    wk_tokpw_close(w, '}');
}

void wk_tokpw_seq_open(wk_tokpw *w, const char *list)
{
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", "Sequence");
    wk_tokpw_key(w, list);
    wk_tokpw_open(w, '[');
}

void wk_tokpw_seq_close(wk_tokpw *w)
{
    wk_tokpw_close(w, ']');
    wk_tokpw_close(w, '}');
}

void wk_tokpw_merge(wk_tokpw *w, const char *left, const char *right)
{
    wk_tokpw_item(w);
    wk_tokpw_put(w, "\"", 1);
    wk_tokpw_str_body(w, left);   /* the space between needs no escape */
    wk_tokpw_put(w, " ", 1);
    wk_tokpw_str_body(w, right);
    wk_tokpw_put(w, "\"", 1);
}
