/* wk_kldbase.c — llama-perplexity's base-logits file (wk_kldbase.h,
 * docs/formats/kld-base.md). */
#include "wk_kldbase.h"
#include "wk_cursor.h"
#include "wk_io.h"
#include "wk_kld.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t wk_kldbase_rows(int64_t n_ctx)
{
    return n_ctx - 1 - n_ctx / 2;
}

/* Largest counts accepted (documented in the spec page): tokens and rows are
 * addressed with int64 byte offsets; n_vocab fits llama.cpp's int. */
#define MAX_CTX (1 << 24)
#define MAX_VOCAB INT32_MAX
#define MAX_CHUNK INT32_MAX

static int check_counts(const char *name, int64_t n_ctx, int64_t n_vocab, int64_t n_chunk,
                        wk_code code, wk_err *err)
{
    WK_FAIL_IF(n_ctx < 3 || n_ctx > MAX_CTX, err, code,
               "%s: n_ctx %lld out of range (3..%d: a context scores its second half)", name,
               (long long)n_ctx, MAX_CTX);
    WK_FAIL_IF(n_vocab < 1 || n_vocab > MAX_VOCAB, err, code, "%s: n_vocab %lld out of range (1..%d)",
               name, (long long)n_vocab, MAX_VOCAB);
    WK_FAIL_IF(n_chunk < 1 || n_chunk > MAX_CHUNK, err, code, "%s: n_chunk %lld out of range (1..%d)",
               name, (long long)n_chunk, MAX_CHUNK);
    return 0;
}

/* Bytes of the whole file for these counts, or 0 when it exceeds 2^62. */
static uint64_t file_size(int64_t n_ctx, int64_t n_vocab, int64_t n_chunk, uint64_t *rows_off)
{
    const uint64_t tok = (uint64_t)n_ctx * (uint64_t)n_chunk * 4;   /* < 2^57 */
    const uint64_t row = wk_kld_row_u16(n_vocab) * 2;               /* < 2^33 */
    const uint64_t nrows = (uint64_t)wk_kldbase_rows(n_ctx) * (uint64_t)n_chunk;   /* < 2^55 */
    *rows_off = WK_KLDBASE_HEADER + tok;
    if (nrows > (UINT64_C(1) << 62) / row) return 0;
    return *rows_off + nrows * row;
}

/* ---- writer ---------------------------------------------------------------- */

struct wk_kldbase_w {
    wk_out *out;
    size_t row_u16;
    uint64_t rows_left;
    uint8_t *buf;
};

wk_kldbase_w *wk_kldbase_create(const char *path, const wk_inputs *inputs, int64_t n_ctx,
                                int64_t n_vocab, int64_t n_chunk, const int32_t *tokens,
                                wk_err *err)
{
    uint64_t rows_off;
    if (check_counts(path, n_ctx, n_vocab, n_chunk, WK_E_USAGE, err)) return NULL;
    if (!file_size(n_ctx, n_vocab, n_chunk, &rows_off)) {
        wk_err_set(err, WK_E_LIMIT, "%s: base logits for %lld chunks of %lld would exceed 2^62 bytes", path,
                   (long long)n_chunk, (long long)n_ctx);
        return NULL;
    }
    for (int64_t i = 0; i < n_ctx * n_chunk; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab) {
            wk_err_set(err, WK_E_USAGE, "%s: token %lld is %d, outside the vocabulary (0..%lld)", path,
                       (long long)i, tokens[i], (long long)n_vocab - 1);
            return NULL;
        }
    wk_kldbase_w *w = calloc(1, sizeof *w);
    if (!w) { wk_err_set(err, WK_E_NOMEM, "%s: out of memory", path); return NULL; }
    w->row_u16 = wk_kld_row_u16(n_vocab);
    w->rows_left = (uint64_t)wk_kldbase_rows(n_ctx) * (uint64_t)n_chunk;
    w->buf = malloc(w->row_u16 * 2 > 4096 ? w->row_u16 * 2 : 4096);
    if (!w->buf) { free(w); wk_err_set(err, WK_E_NOMEM, "%s: out of memory", path); return NULL; }
    w->out = wk_out_open(path, inputs, err);
    if (!w->out) { wk_kldbase_abort(w); return NULL; }
    uint8_t h[WK_KLDBASE_HEADER];
    memcpy(h, WK_KLDBASE_MAGIC, 8);
    const uint32_t v[3] = { (uint32_t)n_ctx, (uint32_t)n_vocab, (uint32_t)n_chunk };
    for (int k = 0; k < 3; k++)
        for (int b = 0; b < 4; b++) h[8 + 4 * k + b] = (uint8_t)(v[k] >> (8 * b));
    if (wk_out_write(w->out, h, sizeof h, err)) { wk_kldbase_abort(w); return NULL; }
    for (int64_t i = 0; i < n_ctx * n_chunk; i += 1024) {
        const int64_t n = n_ctx * n_chunk - i < 1024 ? n_ctx * n_chunk - i : 1024;
        for (int64_t k = 0; k < n; k++)
            for (int b = 0; b < 4; b++) w->buf[4 * k + b] = (uint8_t)((uint32_t)tokens[i + k] >> (8 * b));
        if (wk_out_write(w->out, w->buf, (size_t)n * 4, err)) { wk_kldbase_abort(w); return NULL; }
    }
    return w;
}

int wk_kldbase_put(wk_kldbase_w *w, const uint16_t *rows, size_t n_rows, wk_err *err)
{
    WK_FAIL_IF(n_rows > w->rows_left, err, WK_E_USAGE, "%s: %zu rows past the last one",
               wk_out_final_path(w->out), n_rows - (size_t)w->rows_left);
    for (size_t r = 0; r < n_rows; r++) {
        const uint16_t *q = rows + r * w->row_u16;
        for (size_t i = 0; i < w->row_u16; i++) {
            w->buf[2 * i] = (uint8_t)q[i];
            w->buf[2 * i + 1] = (uint8_t)(q[i] >> 8);
        }
        WK_TRY(wk_out_write(w->out, w->buf, w->row_u16 * 2, err));
    }
    w->rows_left -= n_rows;
    return 0;
}

const char *wk_kldbase_staged(wk_kldbase_w *w, wk_err *err)
{
    return wk_out_staged(w->out, err);
}

int wk_kldbase_commit(wk_kldbase_w *w, wk_err *err)
{
    int rc = -1;
    WK_FAIL_GOTO(w->rows_left, done, err, WK_E_USAGE, "%s: %llu rows were never written",
                 wk_out_final_path(w->out), (unsigned long long)w->rows_left);
    rc = wk_out_commit(w->out, err);
    w->out = NULL;
done:
    wk_kldbase_abort(w);
    return rc;
}

void wk_kldbase_abort(wk_kldbase_w *w)
{
    if (!w) return;
    wk_out_abort(w->out);
    free(w->buf);
    free(w);
}

/* ---- reader ---------------------------------------------------------------- */

struct wk_kldbase {
    wk_map map;
    char *name;
    const uint8_t *data;
    int64_t n_ctx, n_vocab, n_chunk, rows;
    uint64_t rows_off, row_bytes;
    int32_t *tokens;
};

static int parse(wk_kldbase *b, size_t size, wk_err *err)
{
    wk_cur c = wk_cur_make(b->data, size, 0);
    const uint8_t *magic;
    uint32_t n_ctx, n_vocab, n_chunk;
    WK_FAIL_IF(wk_cur_bytes(&c, 8, &magic) || memcmp(magic, WK_KLDBASE_MAGIC, 8), err, WK_E_FORMAT,
               "%s: not a base-logits file (no \"_logits_\" at byte 0; write one with wk-eval kld "
               "--save-base or llama-perplexity --kl-divergence-base)", b->name);
    WK_FAIL_IF(wk_cur_u32(&c, &n_ctx) || wk_cur_u32(&c, &n_vocab) || wk_cur_u32(&c, &n_chunk), err,
               WK_E_FORMAT, "%s: truncated header (%zu bytes, needs %d)", b->name, size, WK_KLDBASE_HEADER);
    WK_TRY(check_counts(b->name, n_ctx, (int32_t)n_vocab, (int32_t)n_chunk, WK_E_FORMAT, err));
    b->n_ctx = n_ctx;
    b->n_vocab = n_vocab;
    b->n_chunk = n_chunk;
    b->rows = wk_kldbase_rows(n_ctx);
    b->row_bytes = wk_kld_row_u16(n_vocab) * 2;
    const uint64_t want = file_size(n_ctx, n_vocab, n_chunk, &b->rows_off);
    WK_FAIL_IF(!want, err, WK_E_LIMIT, "%s: %u chunks of %u positions over %u tokens exceed 2^62 bytes",
               b->name, n_chunk, n_ctx, n_vocab);
    if (size < want) {
        if (size < b->rows_off)
            return wk_err_set(err, WK_E_FORMAT,
                              "%s: truncated at byte %zu: the tokens end at byte %llu (%u chunks of %u)",
                              b->name, size, (unsigned long long)b->rows_off, n_chunk, n_ctx);
        const uint64_t r = (size - b->rows_off) / b->row_bytes;
        return wk_err_set(err, WK_E_FORMAT,
                          "%s: truncated at byte %zu: row %llu of chunk %llu (at byte %llu) is incomplete "
                          "and the file should have %llu bytes",
                          b->name, size, (unsigned long long)(r % (uint64_t)b->rows),
                          (unsigned long long)(r / (uint64_t)b->rows),
                          (unsigned long long)(b->rows_off + r * b->row_bytes), (unsigned long long)want);
    }
    WK_FAIL_IF(size > want, err, WK_E_FORMAT, "%s: %llu bytes after the last row (at byte %llu)", b->name,
               (unsigned long long)(size - want), (unsigned long long)want);
    const size_t ntok = (size_t)n_ctx * n_chunk;
    b->tokens = malloc(ntok * sizeof *b->tokens);
    WK_FAIL_IF(!b->tokens, err, WK_E_NOMEM, "%s: out of memory for %zu tokens", b->name, ntok);
    for (size_t i = 0; i < ntok; i++) {
        const int32_t t = (int32_t)wk_le32(b->data + WK_KLDBASE_HEADER + 4 * i);
        WK_FAIL_IF(t < 0 || t >= (int64_t)n_vocab, err, WK_E_FORMAT,
                   "%s: token %zu (byte %zu) is %d, outside the vocabulary (0..%u)", b->name, i,
                   WK_KLDBASE_HEADER + 4 * i, t, n_vocab - 1);
        b->tokens[i] = t;
    }
    return 0;
}

static wk_kldbase *open_common(wk_kldbase *b, size_t size, const char *name, wk_err *err)
{
    b->name = strdup(name);
    if (!b->name) {
        wk_err_set(err, WK_E_NOMEM, "%s: out of memory", name);
        wk_kldbase_close(b);
        return NULL;
    }
    if (parse(b, size, err)) {
        wk_kldbase_close(b);
        return NULL;
    }
    return b;
}

wk_kldbase *wk_kldbase_open(const char *path, wk_err *err)
{
    wk_kldbase *b = calloc(1, sizeof *b);
    if (!b) { wk_err_set(err, WK_E_NOMEM, "%s: out of memory", path); return NULL; }
    if (wk_map_open(&b->map, path, err)) { free(b); return NULL; }
    b->data = b->map.data;
    return open_common(b, b->map.size, path, err);
}

wk_kldbase *wk_kldbase_open_buffer(const uint8_t *data, size_t size, const char *name, wk_err *err)
{
    wk_kldbase *b = calloc(1, sizeof *b);
    if (!b) { wk_err_set(err, WK_E_NOMEM, "%s: out of memory", name); return NULL; }
    b->data = data;
    return open_common(b, size, name, err);
}

void wk_kldbase_close(wk_kldbase *b)
{
    if (!b) return;
    wk_map_close(&b->map);
    free(b->tokens);
    free(b->name);
    free(b);
}

int64_t wk_kldbase_n_ctx(const wk_kldbase *b) { return b->n_ctx; }
int64_t wk_kldbase_n_vocab(const wk_kldbase *b) { return b->n_vocab; }
int64_t wk_kldbase_n_chunk(const wk_kldbase *b) { return b->n_chunk; }
const int32_t *wk_kldbase_tokens(const wk_kldbase *b) { return b->tokens; }

int wk_kldbase_row(const wk_kldbase *b, int64_t c, int64_t j, uint16_t *row, wk_err *err)
{
    WK_FAIL_IF(c < 0 || c >= b->n_chunk || j < 0 || j >= b->rows, err, WK_E_USAGE,
               "%s: no row %lld of chunk %lld", b->name, (long long)j, (long long)c);
    const uint64_t off = b->rows_off + ((uint64_t)c * (uint64_t)b->rows + (uint64_t)j) * b->row_bytes;
    const uint8_t *p = b->data + off;
    for (uint64_t i = 0; i < b->row_bytes / 2; i++) row[i] = wk_le16(p + 2 * i);
    float scale, min_log_prob;
    wk_kld_row_header(row, &scale, &min_log_prob);
    WK_FAIL_IF(!isfinite(scale) || scale < 0 || !isfinite(min_log_prob), err, WK_E_FORMAT,
               "%s: row %lld of chunk %lld (byte %llu): scale %g / offset %g (need a finite scale >= 0 "
               "and a finite offset)", b->name, (long long)j, (long long)c, (unsigned long long)off,
               (double)scale, (double)min_log_prob);
    return 0;
}
