/* wk_tokpw.h — serde_json's PrettyFormatter, as the Rust crate `tokenizers`
 * writes tokenizer.json with save(pretty=true): two-space indent, one array
 * element / object member a line, "key": value, no final newline; strings
 * escaped as serde_json escapes them.  Shared by the tokenizer.json writers of
 * this folder (SentencePiece: wk_tokjson.c, tiktoken: wk_tiktoken.c).
 *
 * Usage: wk_tokpw_new(sink), then open/key/item/str/close calls in document
 * order, then wk_tokpw_free (which flushes).  Errors are the sink's (sticky):
 * check wk_sink_status afterwards.  Nesting deeper than WK_TOKPW_DEPTH is the
 * caller's bug (the writers here nest at most 8 deep). */
#ifndef WK_TOKPW_H
#define WK_TOKPW_H

#include <stddef.h>
#include <stdint.h>
#include "wk_sink.h"

#define WK_TOKPW_BUF (64u * 1024u)
#define WK_TOKPW_DEPTH 16

typedef struct {
    wk_sink *out;
    size_t n, depth;
    int has[WK_TOKPW_DEPTH]; /* an element was written at that depth */
    unsigned char buf[WK_TOKPW_BUF];
} wk_tokpw;

/* A writer into out (malloc'ed; NULL when out of memory). */
wk_tokpw *wk_tokpw_new(wk_sink *out);
/* Flush the buffered bytes to the sink and free w (NULL is fine). */
void wk_tokpw_free(wk_tokpw *w);
/* Raw bytes / a C string, unescaped. */
void wk_tokpw_put(wk_tokpw *w, const void *p, size_t n);
void wk_tokpw_puts(wk_tokpw *w, const char *s);
/* The escaped body of a JSON string (no quotes): '"' '\\' and the C0 controls
 * (\b \t \n \f \r, others \u00xx, lowercase hex); DEL and non-ASCII raw. */
void wk_tokpw_str_body(wk_tokpw *w, const char *s);
/* A quoted, escaped JSON string. */
void wk_tokpw_str(wk_tokpw *w, const char *s);
/* Open '{' or '['; close with the matching bracket (newline + indent first
 * when it had elements). */
void wk_tokpw_open(wk_tokpw *w, char c);
void wk_tokpw_close(wk_tokpw *w, char c);
/* Start an array element (",\n" or "\n", then the indent). */
void wk_tokpw_item(wk_tokpw *w);
/* Start an object member: the element start, then "key": */
void wk_tokpw_key(wk_tokpw *w, const char *k);
/* Members with a string, a raw (literal) or an unsigned value. */
void wk_tokpw_kstr(wk_tokpw *w, const char *k, const char *v);
void wk_tokpw_kraw(wk_tokpw *w, const char *k, const char *v);
void wk_tokpw_kuint(wk_tokpw *w, const char *k, uint64_t v);
/* An array element holding an unsigned number. */
void wk_tokpw_uint(wk_tokpw *w, uint64_t v);
/* One TemplateProcessing piece as an item: {"SpecialToken"|"Sequence": {"id": id,
 * "type_id": type_id}} (kind is "SpecialToken" or "Sequence"). */
void wk_tokpw_piece(wk_tokpw *w, const char *kind, const char *id, unsigned type_id);
/* A TemplateProcessing object around the one special token bos (id bos_id):
 * single "bos $A"; pair "bos:0 $A:0 bos:1 $B:1" when pair_bos, else "bos $A $B". */
void wk_tokpw_template(wk_tokpw *w, const char *bos, uint64_t bos_id, int pair_bos);
/* Open {"type": "Sequence", "<list>": [ ; close both with wk_tokpw_seq_close. */
void wk_tokpw_seq_open(wk_tokpw *w, const char *list);
void wk_tokpw_seq_close(wk_tokpw *w);
/* A merge as an array element: the string "left right" (each part escaped). */
void wk_tokpw_merge(wk_tokpw *w, const char *left, const char *right);

#endif
