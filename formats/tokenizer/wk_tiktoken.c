/* wk_tiktoken.c — tiktoken reader and its tokenizer.json; see wk_tiktoken.h. */
#include "wk_tiktoken.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_io.h"
#include "wk_strmap.h"
#include "wk_tokpw.h"

/* ---- reader ------------------------------------------------------------------------ */

/* The value of base64 digit c, or -1. */
static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode standard base64 (padded, length a multiple of 4) from s[0..n) into out
 * (room for 3n/4 bytes); the decoded length, or -1 if s is not such base64. */
static long b64_decode(const unsigned char *s, size_t n, uint8_t *out)
{
    if (n == 0 || n % 4) return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            if (s[i + j] == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad) return -1; /* data after '=' */
            v[j] = b64_val(s[i + j]);
            if (v[j] < 0) return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        out[k++] = (uint8_t)(w >> 16);
        if (pad < 2) out[k++] = (uint8_t)(w >> 8);
        if (pad < 1) out[k++] = (uint8_t)w;
        if (pad && (w & (pad == 2 ? 0xFFFFu : 0xFFu))) return -1; /* non-canonical */
    }
    return (long)k;
}

/* GPT-2's bytes_to_unicode: the code point that spells byte b. */
static unsigned byte_cp(unsigned b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return b;
    /* the others, in byte order, take 256, 257, ...: count the unprintable bytes below b */
    unsigned k = b <= 0x20 ? b : b <= 0xA0 ? 0x21 + (b - 0x7F) : 0x21 + 0x22;
    return 256 + k;
}

/* Append the UTF-8 byte-level spelling of bytes p[0..n) to s (room for 2n+1). */
static size_t byte_level(const uint8_t *p, size_t n, char *s)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned cp = byte_cp(p[i]);
        if (cp < 0x80) {
            s[k++] = (char)cp;
        } else {
            s[k++] = (char)(0xC0 | cp >> 6);
            s[k++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    s[k] = 0;
    return k;
}

/* Parse one line [p, p+n) (line number ln, 1-based) as token rank t->n. */
static int parse_line(wk_tiktoken *t, const unsigned char *p, size_t n, size_t ln, size_t *nb,
                      size_t *ns, const char *label, wk_err *err)
{
    const unsigned char *sp = memchr(p, ' ', n);
    WK_FAIL_IF(!sp, err, WK_E_FORMAT, "%s: line %zu: not \"<base64 token> <rank>\"", label, ln);
    size_t nb64 = (size_t)(sp - p), nd = n - nb64 - 1;
    WK_FAIL_IF(nb64 > (WK_TIKTOKEN_MAX_TOKEN_BYTES / 3 + 1) * 4, err, WK_E_LIMIT,
               "%s: line %zu: a token longer than %u bytes", label, ln,
               WK_TIKTOKEN_MAX_TOKEN_BYTES);
    uint64_t rank = 0;
    WK_FAIL_IF(nd == 0 || nd > 10, err, WK_E_FORMAT, "%s: line %zu: no rank after the token",
               label, ln);
    for (size_t i = 0; i < nd; i++) {
        unsigned char c = sp[1 + i];
        WK_FAIL_IF(c < '0' || c > '9', err, WK_E_FORMAT,
                   "%s: line %zu: the rank is not a decimal number", label, ln);
        rank = rank * 10 + (uint64_t)(c - '0');
    }
    WK_FAIL_IF(rank != t->n, err, WK_E_FORMAT,
               "%s: line %zu: rank %llu where %zu was expected (ranks must be 0, 1, 2, ... in "
               "line order, as in Meta's files)", label, ln, (unsigned long long)rank, t->n);
    long k = b64_decode(p, nb64, t->bytes + *nb);
    WK_FAIL_IF(k < 0, err, WK_E_FORMAT, "%s: line %zu: the token is not valid base64", label, ln);
    WK_FAIL_IF(k == 0, err, WK_E_FORMAT, "%s: line %zu: an empty token", label, ln);
    WK_FAIL_IF((size_t)k > WK_TIKTOKEN_MAX_TOKEN_BYTES, err, WK_E_LIMIT,
               "%s: line %zu: a token longer than %u bytes", label, ln,
               WK_TIKTOKEN_MAX_TOKEN_BYTES);
    t->off[t->n] = (uint32_t)*nb;
    t->soff[t->n] = (uint32_t)*ns;
    *ns += byte_level(t->bytes + *nb, (size_t)k, t->str + *ns) + 1;
    *nb += (size_t)k;
    t->n++;
    t->off[t->n] = (uint32_t)*nb;
    return 0;
}

/* Count the lines of d[0..len) (a final line without '\n' counts). */
static size_t count_lines(const unsigned char *d, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += d[i] == '\n';
    return n + (len && d[len - 1] != '\n');
}

/* Refuse a token text seen twice (tiktoken's dict would keep one rank). */
static int check_unique(const wk_tiktoken *t, const char *label, wk_err *err)
{
    wk_strmap map = WK_STRMAP_INIT;
    int rc = 0;
    for (size_t r = 0; r < t->n && rc == 0; r++) {
        long prev;
        rc = wk_strmap_add(&map, t->str + t->soff[r], r, &prev, err);
        if (rc == 0 && prev >= 0)
            rc = wk_err_set(err, WK_E_FORMAT, "%s: ranks %ld and %zu are the same token",
                            label, prev, r);
    }
    wk_strmap_free(&map);
    return rc;
}

int wk_tiktoken_parse(wk_tiktoken *t, const void *data, size_t len, const char *label,
                      wk_err *err)
{
    const unsigned char *d = data;
    memset(t, 0, sizeof *t);
    WK_FAIL_IF(len >= UINT32_MAX / 2, err, WK_E_LIMIT, "%s: %zu bytes: too large for a tiktoken "
               "vocabulary", label, len);
    size_t lines = count_lines(d, len);
    WK_FAIL_IF(lines == 0, err, WK_E_FORMAT, "%s: no tokens", label);
    WK_FAIL_IF(lines > WK_TIKTOKEN_MAX_TOKENS, err, WK_E_LIMIT, "%s: %zu lines: more than %u "
               "tokens", label, lines, WK_TIKTOKEN_MAX_TOKENS);
    t->off = malloc((lines + 1) * sizeof *t->off);
    t->soff = malloc(lines * sizeof *t->soff);
    t->bytes = malloc(len + 1);          /* base64 shrinks: len bounds the bytes */
    t->str = malloc(2 * len + lines + 1); /* each byte spelled in <= 2 UTF-8 bytes, + NULs */
    int rc = -1;
    WK_FAIL_GOTO(!t->off || !t->soff || !t->bytes || !t->str, done, err, WK_E_NOMEM,
                 "out of memory reading %s", label);
    t->off[0] = 0;
    size_t nb = 0, ns = 0, a = 0;
    for (size_t ln = 1; a < len; ln++) {
        const unsigned char *nl = memchr(d + a, '\n', len - a);
        size_t e = nl ? (size_t)(nl - d) : len;
        WK_TRY_GOTO(parse_line(t, d + a, e - a, ln, &nb, &ns, label, err), done);
        a = e + 1;
    }
    WK_TRY_GOTO(check_unique(t, label, err), done);
    rc = 0;
done:
    if (rc) wk_tiktoken_free(t);
    return rc;
}

int wk_tiktoken_load(wk_tiktoken *t, const char *path, wk_err *err)
{
    wk_map map;
    memset(t, 0, sizeof *t);
    WK_TRY(wk_map_open(&map, path, err));
    int rc = wk_tiktoken_parse(t, map.data, map.size, path, err);
    wk_map_close(&map);
    return rc;
}

void wk_tiktoken_free(wk_tiktoken *t)
{
    free(t->off);
    free(t->soff);
    free(t->bytes);
    free(t->str);
    memset(t, 0, sizeof *t);
}

/* ---- special tokens -------------------------------------------------------------- */

/* The named ids of each set; the others are <|reserved_special_token_K|>, K counting on. */
typedef struct {
    unsigned n_named, first_reserved; /* leading named ids; K of the first id past them */
    const char *named[12];            /* NULL: a reserved one (numbered in order) */
} special_set;

static const special_set k_sets[] = {
    [WK_TIKTOKEN_SPECIALS_3] = {10, 5, {"<|begin_of_text|>", "<|end_of_text|>", NULL, NULL, NULL,
                                        NULL, "<|start_header_id|>", "<|end_header_id|>", NULL,
                                        "<|eot_id|>"}},
    [WK_TIKTOKEN_SPECIALS_31] = {11, 3, {"<|begin_of_text|>", "<|end_of_text|>", NULL, NULL,
                                         "<|finetune_right_pad_id|>", NULL,
                                         "<|start_header_id|>", "<|end_header_id|>",
                                         "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"}},
};

const char *wk_tiktoken_special_name(wk_tiktoken_specials s, unsigned i, char *buf, size_t cap)
{
    const special_set *set = &k_sets[s];
    if (i < set->n_named && set->named[i]) return set->named[i];
    unsigned k;
    if (i < set->n_named) { /* reserved ones among the named: numbered from 0 */
        k = 0;
        for (unsigned j = 0; j < i; j++) k += set->named[j] == NULL;
    } else {
        k = set->first_reserved + (i - set->n_named);
    }
    snprintf(buf, cap, "<|reserved_special_token_%u|>", k);
    return buf;
}

/* ---- merges ---------------------------------------------------------------------- */

typedef struct {
    uint32_t rank, left, right;
} merge_rec;

static int merge_cmp(const void *a, const void *b)
{
    const merge_rec *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    if (x->left != y->left) return x->left < y->left ? -1 : 1;
    return (x->right > y->right) - (x->right < y->right);
}

/* Map every token text to its rank (texts are unique: checked by the reader). */
static int text_map(const wk_tiktoken *t, wk_strmap *map, wk_err *err)
{
    for (size_t r = 0; r < t->n; r++) {
        long prev;
        WK_TRY(wk_strmap_add(map, t->str + t->soff[r], r, &prev, err));
    }
    return 0;
}

/* Every split of token r into two tokens, appended to v (room checked by the caller). */
static size_t split_token(const wk_tiktoken *t, const wk_strmap *map, size_t r, char *scratch,
                          merge_rec *v)
{
    const char *s = t->str + t->soff[r];
    size_t nbytes = t->off[r + 1] - t->off[r], at = 0, k = 0;
    for (size_t i = 1; i < nbytes; i++) {
        at += (unsigned char)s[at] < 0x80 ? 1 : 2; /* the text offset of byte i */
        memcpy(scratch, s, at);
        scratch[at] = 0;
        long l = wk_strmap_get(map, scratch);
        if (l < 0) continue;
        long rr = wk_strmap_get(map, s + at);
        if (rr < 0) continue;
        v[k++] = (merge_rec){(uint32_t)r, (uint32_t)l, (uint32_t)rr};
    }
    return k;
}

int wk_tiktoken_merges(const wk_tiktoken *t, wk_tiktoken_merge **out, size_t *n, wk_err *err)
{
    wk_strmap map = WK_STRMAP_INIT;
    merge_rec *v = NULL;
    char *scratch = malloc(2 * WK_TIKTOKEN_MAX_TOKEN_BYTES + 1);
    size_t nv = 0, cap = 0;
    int rc = -1;
    *out = NULL;
    *n = 0;
    WK_FAIL_GOTO(!scratch, done, err, WK_E_NOMEM, "out of memory");
    WK_TRY_GOTO(text_map(t, &map, err), done);
    for (size_t r = 0; r < t->n; r++) {
        size_t len = t->off[r + 1] - t->off[r];
        if (nv + len > cap) {
            size_t nc = cap ? 2 * cap : 1u << 16;
            while (nc < nv + len) nc *= 2;
            merge_rec *nvp = realloc(v, nc * sizeof *v);
            WK_FAIL_GOTO(!nvp, done, err, WK_E_NOMEM, "out of memory collecting merges");
            v = nvp;
            cap = nc;
        }
        nv += split_token(t, &map, r, scratch, v + nv);
    }
    if (nv) qsort(v, nv, sizeof *v, merge_cmp);
    *out = malloc((nv ? nv : 1) * sizeof **out);
    WK_FAIL_GOTO(!*out, done, err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nv; i++) (*out)[i] = (wk_tiktoken_merge){v[i].left, v[i].right};
    *n = nv;
    rc = 0;
done:
    free(v);
    free(scratch);
    wk_strmap_free(&map);
    return rc;
}

/* ---- the graph --------------------------------------------------------------------- */

/* The pre-tokenizer pattern of Meta's llama-3 tokenizer.py (its pat_str). */
static const char k_pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static void write_added(wk_tokpw *w, const wk_tiktoken *t, wk_tiktoken_specials s)
{
    char buf[48];
    wk_tokpw_key(w, "added_tokens");
    wk_tokpw_open(w, '[');
    for (unsigned i = 0; i < WK_TIKTOKEN_N_SPECIAL; i++) {
        wk_tokpw_item(w);
        wk_tokpw_open(w, '{');
        wk_tokpw_kuint(w, "id", wk_tiktoken_special_id(t, i));
        wk_tokpw_kstr(w, "content", wk_tiktoken_special_name(s, i, buf, sizeof buf));
        wk_tokpw_kraw(w, "single_word", "false");
        wk_tokpw_kraw(w, "lstrip", "false");
        wk_tokpw_kraw(w, "rstrip", "false");
        wk_tokpw_kraw(w, "normalized", "false");
        wk_tokpw_kraw(w, "special", "true");
        wk_tokpw_close(w, '}');
    }
    wk_tokpw_close(w, ']');
}

/* {"type": "ByteLevel", "add_prefix_space": a, "trim_offsets": t, "use_regex": r} */
static void write_bytelevel(wk_tokpw *w, int add_prefix, int trim, int regex)
{
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", "ByteLevel");
    wk_tokpw_kraw(w, "add_prefix_space", add_prefix ? "true" : "false");
    wk_tokpw_kraw(w, "trim_offsets", trim ? "true" : "false");
    wk_tokpw_kraw(w, "use_regex", regex ? "true" : "false");
    wk_tokpw_close(w, '}');
}

static void write_pretok(wk_tokpw *w)
{
    wk_tokpw_key(w, "pre_tokenizer");
    wk_tokpw_seq_open(w, "pretokenizers");
    wk_tokpw_item(w);
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", "Split");
    wk_tokpw_key(w, "pattern");
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "Regex", k_pattern);
    wk_tokpw_close(w, '}');
    wk_tokpw_kstr(w, "behavior", "Isolated");
    wk_tokpw_kraw(w, "invert", "false");
    wk_tokpw_close(w, '}');
    wk_tokpw_item(w);
    write_bytelevel(w, 0, 1, 0);
    wk_tokpw_seq_close(w);
}

static void write_post(wk_tokpw *w, const wk_tiktoken *t, wk_tiktoken_post post)
{
    wk_tokpw_key(w, "post_processor");
    if (post == WK_TIKTOKEN_POST_BYTELEVEL) {
        write_bytelevel(w, 1, 0, 1);
        return;
    }
    wk_tokpw_seq_open(w, "processors");
    wk_tokpw_item(w);
    write_bytelevel(w, 1, 0, 1);
    wk_tokpw_item(w);
    wk_tokpw_template(w, "<|begin_of_text|>", wk_tiktoken_special_id(t, 0), 1);   /* bos:0 $A:0 bos:1 $B:1 */
    wk_tokpw_seq_close(w);
}

static void write_model(wk_tokpw *w, const wk_tiktoken *t, const wk_tiktoken_merge *mg,
                        size_t nmg)
{
    wk_tokpw_key(w, "model");
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "type", "BPE");
    wk_tokpw_kraw(w, "dropout", "null");
    wk_tokpw_kraw(w, "unk_token", "null");
    wk_tokpw_kraw(w, "continuing_subword_prefix", "null");
    wk_tokpw_kraw(w, "end_of_word_suffix", "null");
    wk_tokpw_kraw(w, "fuse_unk", "false");
    wk_tokpw_kraw(w, "byte_fallback", "false");
    wk_tokpw_kraw(w, "ignore_merges", "true");
    wk_tokpw_key(w, "vocab");
    wk_tokpw_open(w, '{');
    for (size_t r = 0; r < t->n; r++) wk_tokpw_kuint(w, t->str + t->soff[r], r);
    wk_tokpw_close(w, '}');
    wk_tokpw_key(w, "merges");
    wk_tokpw_open(w, '[');
    for (size_t i = 0; i < nmg; i++)
        wk_tokpw_merge(w, t->str + t->soff[mg[i].left], t->str + t->soff[mg[i].right]);
    wk_tokpw_close(w, ']');
    wk_tokpw_close(w, '}');
}

/* Refuse a vocabulary token spelled like one of the special tokens (the
 * converter would then give that special token the vocabulary's id). */
static int check_specials(const wk_tiktoken *t, wk_tiktoken_specials s, wk_err *err)
{
    wk_strmap map = WK_STRMAP_INIT;
    char buf[48];
    int rc = text_map(t, &map, err);
    for (unsigned i = 0; i < WK_TIKTOKEN_N_SPECIAL && rc == 0; i++) {
        const char *name = wk_tiktoken_special_name(s, i, buf, sizeof buf);
        long r = wk_strmap_get(&map, name);
        if (r >= 0)
            rc = wk_err_set(err, WK_E_FORMAT, "tiktoken rank %ld is the special token %s: "
                            "the converter would not give it id %llu", r, name,
                            (unsigned long long)wk_tiktoken_special_id(t, i));
    }
    wk_strmap_free(&map);
    return rc;
}

int wk_tiktoken_write_json(const wk_tiktoken *t, wk_tiktoken_specials s, wk_tiktoken_post post,
                           wk_sink *out, wk_err *err)
{
    wk_tiktoken_merge *mg = NULL;
    size_t nmg = 0;
    WK_TRY(check_specials(t, s, err));
    WK_TRY(wk_tiktoken_merges(t, &mg, &nmg, err));
    wk_tokpw *w = wk_tokpw_new(out);
    if (!w) {
        free(mg);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    wk_tokpw_open(w, '{');
    wk_tokpw_kstr(w, "version", "1.0");
    wk_tokpw_kraw(w, "truncation", "null");
    wk_tokpw_kraw(w, "padding", "null");
    write_added(w, t, s);
    wk_tokpw_kraw(w, "normalizer", "null");
    write_pretok(w);
    write_post(w, t, post);
    wk_tokpw_key(w, "decoder");
    write_bytelevel(w, 1, 1, 1);
    write_model(w, t, mg, nmg);
    wk_tokpw_close(w, '}');
    wk_tokpw_free(w);
    free(mg);
    return wk_sink_status(out, err);
}
