/* wk_tok_impl.h — private to formats/tokenizer/wk_tok*.c: the loaded vocabulary
 * shared by the loaders (wk_tokenize.c) and the two encoders (wk_tok_spm.c,
 * wk_tok_bpe.c).  The algorithms: docs/tokenize.md. */
#ifndef WK_TOK_IMPL_H
#define WK_TOK_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

/* llama.cpp's token types (the GGUF tokenizer.ggml.token_type values). */
enum { WK_TOKT_NORMAL = 1, WK_TOKT_UNKNOWN = 2, WK_TOKT_CONTROL = 3, WK_TOKT_USER = 4,
       WK_TOKT_UNUSED = 5, WK_TOKT_BYTE = 6 };

enum { WK_TOK_SPM = 1, WK_TOK_BPE = 2 };

/* A byte-slice -> int32 map (open addressing, FNV-1a), for token texts (which may
 * hold any byte, U+0000 included: wk_strmap's NUL-terminated keys cannot) and for
 * merge pairs ("left right" with the split remembered).  Keys are borrowed. */
typedef struct {
    const char *k;
    uint32_t len, split;   /* split: length of the left part (merges), else 0 */
    int32_t val;
    uint32_t used;
} wk_tokmap_slot;

typedef struct {
    wk_tokmap_slot *slot;
    size_t cap, n;
} wk_tokmap;

/* Reserve room for n keys (call once, before adding). */
int wk_tokmap_init(wk_tokmap *m, size_t n, wk_err *err);
/* Set key -> val; replace (1) or keep (0) an existing value. */
void wk_tokmap_put(wk_tokmap *m, const char *k, uint32_t len, uint32_t split, int32_t val, int replace);
/* The value for key (split as put), or -1. */
int32_t wk_tokmap_get(const wk_tokmap *m, const char *k, uint32_t len, uint32_t split);
void wk_tokmap_free(wk_tokmap *m);

typedef struct wk_tok_re wk_tok_re;   /* compiled pre-tokenizer (wk_tok_bpe.c) */

struct wk_tok {
    int kind;                 /* WK_TOK_SPM / WK_TOK_BPE */
    char kind_name[64];       /* "spm", "bpe:<pre>" */
    size_t n;                 /* tokens */
    char *arena;              /* every token text, NUL after each */
    char **text;              /* n pointers into arena */
    uint32_t *len;
    float *score;
    int32_t *type;
    wk_tokmap ids;            /* text -> id (the last id with that text, as llama.cpp) */
    int32_t bos, eos, unk;    /* -1: none */
    int add_bos;
    int add_space_prefix;     /* SPM */
    int32_t byte_tok[256];    /* SPM: <0xXX> (or the byte itself) -> id, -1 if none */
    int32_t *udef;            /* USER_DEFINED ids, longest text first (partitioned out) */
    size_t n_udef;
    /* BPE */
    wk_tokmap ranks;          /* (left, right) -> merge rank */
    char *merge_arena;
    int ignore_merges;
    wk_tok_re *re;
};

/* ---- the merge loop both encoders share (wk_tok_merge.c) ---- */

/* One symbol of the working text: a run of bytes, linked to its neighbours (-1:
 * none); n == 0 once merged into its left neighbour. */
typedef struct {
    int32_t prev, next;
    uint32_t off, n;
} wk_tok_sym;

/* A queued adjacent pair.  key orders the queue, lowest first, ties by the smaller
 * left (llama.cpp's comparators): the BPE merge rank, or the negated SentencePiece
 * score (higher score first); both are exact in a double. */
typedef struct {
    double key;
    int32_t left, right;
    uint32_t size;   /* bytes of the pair when queued: a pair whose size changed is stale */
} wk_tok_bigram;

/* The merge queue: a binary heap; what names it in the out-of-memory error.
 * Zero-initialise (with what set) and free(h) when done. */
typedef struct {
    wk_tok_bigram *h;
    size_t n, cap;
    const char *what;
} wk_tok_heap;

/* The key of the pair whose text is text[0, size) (split: bytes of the left
 * symbol): 1 with *key set if the pair merges, else 0. */
typedef int (*wk_tok_pair_key)(const struct wk_tok *t, const char *text, uint32_t size, uint32_t split,
                               double *key);

/* One symbol per UTF-8 character of valid UTF-8 w (wl bytes) into sy (an entry
 * per character), linked in order; returns the count. */
int32_t wk_tok_split_chars(const char *w, size_t wl, wk_tok_sym *sy);
/* Merge the ns symbols of sy over the text w: queue every adjacent pair with a key,
 * then repeatedly pop the first, skip it if stale, merge right into left and queue
 * the new neighbours' pairs, until the queue is empty (q is emptied first). */
int wk_tok_merge(const struct wk_tok *t, const char *w, wk_tok_sym *sy, int32_t ns, wk_tok_heap *q,
                 wk_tok_pair_key key, wk_err *err);

/* Encode one fragment of raw text (no user-defined tokens inside) and append the
 * ids to *out (cap/n grown by wk_tok_push).  prefix: SPM only, add the space. */
int wk_tok_spm_fragment(const struct wk_tok *t, const char *s, size_t len, int prefix,
                        int32_t **out, size_t *n, size_t *cap, wk_err *err);
int wk_tok_bpe_fragment(const struct wk_tok *t, const char *s, size_t len, int32_t **out,
                        size_t *n, size_t *cap, wk_err *err);
int wk_tok_push(int32_t **out, size_t *n, size_t *cap, int32_t id, wk_err *err);

/* BPE pre-tokenizer by llama.cpp name: compile (WK_E_UNSUPPORTED naming the ones
 * known for anything else), free. */
int wk_tok_re_open(struct wk_tok *t, const char *pre, wk_err *err);
void wk_tok_re_free(wk_tok_re *re);

/* The DeepSeek character classes of wk_bpejson_pre.c (llama.cpp's lists use them as is). */
extern const char wk_bpej_re_dsl_latin[], wk_bpej_re_dsl_punct[], wk_bpej_re_dsc_cjk[];

#endif
