/* wk_kldbase.h — the base-logits file of llama-perplexity
 * (--kl-divergence-base FILE): the evaluation tokens and, for every scored
 * position, the base model's log-probabilities compressed to uint16.  Byte for
 * byte llama.cpp's format (docs/formats/kld-base.md), so a file written by
 * either tool is read by the other.
 *
 *   "_logits_"  u32 n_ctx  i32 n_vocab  i32 n_chunk  i32 tokens[n_chunk*n_ctx]
 *   then per chunk (n_ctx - 1 - n_ctx/2) rows of wk_kld_row_u16(n_vocab) u16
 *
 * Writer: through wk_out (temporary, renamed on commit).  Reader: the file is
 * mapped; every count is range-checked before use (n_ctx >= 3, n_vocab and
 * n_chunk >= 1, the size exactly what the counts say, tokens in
 * [0, n_vocab)); a truncated file is refused naming the byte offset where
 * data is missing; rows are checked (finite scale >= 0, finite offset) when
 * read.  The library never prints or exits. */
#ifndef WK_KLDBASE_H
#define WK_KLDBASE_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_inputs.h"

#define WK_KLDBASE_MAGIC "_logits_"
#define WK_KLDBASE_HEADER 20   /* magic + n_ctx + n_vocab + n_chunk */

/* Scored rows per chunk: n_ctx - 1 - n_ctx/2 (the second half, minus the last). */
int64_t wk_kldbase_rows(int64_t n_ctx);

typedef struct wk_kldbase_w wk_kldbase_w;

/* Start path (inputs: files it must not replace; may be NULL) with the
 * header and the n_chunk * n_ctx tokens (each in [0, n_vocab)).  NULL with
 * *err: WK_E_USAGE for counts out of range, WK_E_IO, WK_E_UNSAFE. */
wk_kldbase_w *wk_kldbase_create(const char *path, const wk_inputs *inputs, int64_t n_ctx,
                                int64_t n_vocab, int64_t n_chunk, const int32_t *tokens,
                                wk_err *err);
/* Append n_rows rows (wk_kld_row_u16(n_vocab) uint16 each, host order),
 * chunk by chunk.  WK_E_USAGE past the last row. */
int wk_kldbase_put(wk_kldbase_w *w, const uint16_t *rows, size_t n_rows, wk_err *err);
/* After the last row: rename into place (WK_E_USAGE if rows are missing).
 * w is freed in every case. */
int wk_kldbase_commit(wk_kldbase_w *w, wk_err *err);
/* The temporary file (flushed), readable until commit / abort. */
const char *wk_kldbase_staged(wk_kldbase_w *w, wk_err *err);
void wk_kldbase_abort(wk_kldbase_w *w);   /* safe on NULL */

typedef struct wk_kldbase wk_kldbase;

/* Map and check path.  NULL with *err: WK_E_IO, WK_E_FORMAT ("<file>: ..."
 * naming the field or byte offset), WK_E_LIMIT, WK_E_NOMEM. */
wk_kldbase *wk_kldbase_open(const char *path, wk_err *err);
/* The same over size bytes at data (borrowed until close); name for messages. */
wk_kldbase *wk_kldbase_open_buffer(const uint8_t *data, size_t size, const char *name, wk_err *err);
void wk_kldbase_close(wk_kldbase *b);   /* safe on NULL */

int64_t wk_kldbase_n_ctx(const wk_kldbase *b);
int64_t wk_kldbase_n_vocab(const wk_kldbase *b);
int64_t wk_kldbase_n_chunk(const wk_kldbase *b);
/* The n_chunk * n_ctx tokens (checked, host order). */
const int32_t *wk_kldbase_tokens(const wk_kldbase *b);
/* Copy row j (0 <= j < wk_kldbase_rows(n_ctx)) of chunk c into row
 * (wk_kld_row_u16(n_vocab) uint16).  WK_E_FORMAT naming the file and byte
 * offset if its scale is not finite and >= 0 or its offset not finite;
 * WK_E_USAGE for indices out of range. */
int wk_kldbase_row(const wk_kldbase *b, int64_t c, int64_t j, uint16_t *row, wk_err *err);

#endif
