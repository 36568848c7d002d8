/* wk_tiktoken.h — Llama 3's tiktoken tokenizer.model, and the tokenizer.json
 * transformers' Llama3Converter (a TikTokenConverter) builds from it.
 *
 * Reader: the file is lines "<base64 of the token's bytes> <rank>\n"
 * (docs/formats/tiktoken.md).  Meta's files give rank k on line k; that is
 * required here (the HF vocabulary uses the rank as the id, and the special
 * tokens follow the last rank).
 *
 * Writer: the byte-level BPE graph — pre-tokenizer Sequence [Split(llama-3
 * regex, Isolated), ByteLevel(no prefix space, no regex)], decoder ByteLevel,
 * BPE model with ignore_merges (vocab: GPT-2's bytes_to_unicode spelling of
 * every token, id = rank; merges recovered from the ranks as TikTokenConverter
 * does), 256 special tokens as added tokens (ids n .. n+255, names per Llama
 * version), and either the converter's own ByteLevel post-processor or the
 * Sequence [ByteLevel, TemplateProcessing "<|begin_of_text|> $A"] that
 * Llama3Converter.update_post_processor installs — serialized byte for byte as
 * tokenizers 0.19 writes save(pretty=true) (merges as "left right" strings).
 * Verified against Meta's published files: docs/formats/tokenizer-json.md. */
#ifndef WK_TIKTOKEN_H
#define WK_TIKTOKEN_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_sink.h"

/* Limits of the reader (Meta's files: 128000 tokens of at most 256 bytes). */
#define WK_TIKTOKEN_MAX_TOKENS (1u << 22)
#define WK_TIKTOKEN_MAX_TOKEN_BYTES 4096u
#define WK_TIKTOKEN_N_SPECIAL 256u

typedef struct {
    size_t n;          /* tokens, ranks 0 .. n-1 */
    uint32_t *off;     /* n+1 offsets into bytes (token r is bytes[off[r] .. off[r+1])) */
    uint8_t *bytes;    /* the decoded tokens, concatenated */
    uint32_t *soff;    /* n offsets into str */
    char *str;         /* each token's byte-level (bytes_to_unicode) text, NUL-terminated */
} wk_tiktoken;

/* Which special-token names (DEFAULT_LLAMA_SPECIAL_TOKENS of the script). */
typedef enum {
    WK_TIKTOKEN_SPECIALS_3 = 0,  /* Llama 3: reserved_special_token_0..3, start/end_header,
                                    reserved_4, eot_id, reserved_5..250 */
    WK_TIKTOKEN_SPECIALS_31 = 1  /* Llama 3.1 / 3.2 / 3.3 / Guard 3: finetune_right_pad_id,
                                    eom_id, python_tag, reserved_3..247 */
} wk_tiktoken_specials;

/* Which post-processor. */
typedef enum {
    WK_TIKTOKEN_POST_BYTELEVEL = 0, /* TikTokenConverter's ByteLevel(trim_offsets=False):
                                       Meta-Llama-3 files of April 2024 */
    WK_TIKTOKEN_POST_BOS = 1        /* + TemplateProcessing adding <|begin_of_text|>
                                       (update_post_processor; Meta's later files) */
} wk_tiktoken_post;

/* Parse a tiktoken file held in memory.  label names it in messages.
 * WK_E_FORMAT (a line that is not "<base64> <rank>", bad base64, an empty
 * token, a rank out of order, a duplicate token, no tokens), WK_E_LIMIT
 * (too many tokens, a token too long), WK_E_NOMEM.  On failure *t is empty. */
int wk_tiktoken_parse(wk_tiktoken *t, const void *data, size_t len, const char *label,
                      wk_err *err);

/* wk_tiktoken_parse of the file at path (mapped, not modified). */
int wk_tiktoken_load(wk_tiktoken *t, const char *path, wk_err *err);

/* Release t (safe on a zeroed or freed one). */
void wk_tiktoken_free(wk_tiktoken *t);

/* The name of special token i (0 .. 255) of set s, written into buf (cap >= 40). */
const char *wk_tiktoken_special_name(wk_tiktoken_specials s, unsigned i, char *buf, size_t cap);

/* Special token i's id: t->n + i. */
static inline uint64_t wk_tiktoken_special_id(const wk_tiktoken *t, unsigned i)
{
    return (uint64_t)t->n + i;
}

/* A merge: the ranks of its two parts. */
typedef struct {
    uint32_t left, right;
} wk_tiktoken_merge;

/* TikTokenConverter's merges: for every token of two or more bytes, every
 * split into two tokens, grouped by the token's rank (ascending), within a
 * token by (left rank, right rank).  *out malloc'ed, *n its length. */
int wk_tiktoken_merges(const wk_tiktoken *t, wk_tiktoken_merge **out, size_t *n, wk_err *err);

/* Stream the tokenizer.json to out.  A token whose byte-level text equals a
 * special token's name is refused (WK_E_FORMAT).  Errors: WK_E_NOMEM, or the
 * sink's. */
int wk_tiktoken_write_json(const wk_tiktoken *t, wk_tiktoken_specials s, wk_tiktoken_post post,
                           wk_sink *out, wk_err *err);

#endif
