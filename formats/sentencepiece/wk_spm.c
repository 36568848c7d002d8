/* wk_spm.c — SentencePiece model protobuf parser (see wk_spm.h). */
#include "wk_spm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_cursor.h"
#include "wk_io.h"
#include "wk_utf8.h"

/* Protobuf wire types. */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

typedef struct {
    const char *label;
    wk_err *err;
    char where[48];        /* "piece N: " while inside a piece, else "" */
    char *arena;           /* piece texts, back to back with their NULs (m->text_arena) */
    size_t arena_used, arena_cap;
} pctx;

/* Fail with "<file>: byte N: [piece M: ]<what>". */
static int perr(pctx *p, const wk_cur *c, wk_code code, const char *what)
{
    return wk_err_set(p->err, code, "%s: byte %llu: %s%s", p->label,
                      (unsigned long long)wk_cur_pos(c), p->where, what);
}

static int varint(pctx *p, wk_cur *c, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        uint8_t b;
        if (wk_cur_u8(c, &b)) return perr(p, c, WK_E_FORMAT, "truncated varint");
        if (i == 9 && b > 1) return perr(p, c, WK_E_FORMAT, "varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return perr(p, c, WK_E_FORMAT, "varint longer than 10 bytes");
}

typedef struct {
    uint32_t field;
    int wt;
    uint64_t v;            /* VARINT, I64, I32 value */
    const uint8_t *data;   /* LEN payload */
    size_t len;
    uint64_t data_pos;     /* file offset of the LEN payload */
} field;

/* Read one field (key and value); 1 at the end of the range, 0 ok, -1 error. */
static int next_field(pctx *p, wk_cur *c, field *f)
{
    if (!wk_cur_left(c)) return 1;
    uint64_t key;
    if (varint(p, c, &key)) return -1;
    f->field = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    if (key >> 3 == 0 || key >> 3 > 0x1FFFFFFF) return perr(p, c, WK_E_FORMAT, "invalid field number");
    switch (f->wt) {
    case WT_VARINT: return varint(p, c, &f->v);
    case WT_I64:
        if (wk_cur_u64(c, &f->v)) return perr(p, c, WK_E_FORMAT, "truncated fixed64");
        return 0;
    case WT_I32: {
        uint32_t u;
        if (wk_cur_u32(c, &u)) return perr(p, c, WK_E_FORMAT, "truncated fixed32");
        f->v = u;
        return 0;
    }
    case WT_LEN: {
        uint64_t n;
        if (varint(p, c, &n)) return -1;
        if (n > wk_cur_left(c)) return perr(p, c, WK_E_FORMAT, "length-delimited field runs past its message");
        f->data_pos = wk_cur_pos(c);
        wk_cur_bytes(c, (size_t)n, &f->data);
        f->len = (size_t)n;
        return 0;
    }
    default:
        return perr(p, c, WK_E_FORMAT, "unsupported wire type (group or reserved)");
    }
}

static int want_wt(pctx *p, const wk_cur *c, const field *f, int wt, const char *name)
{
    if (f->wt == wt) return 0;
    char m[128];
    snprintf(m, sizeof m, "field %s (%u) has wire type %d, expected %d", name, f->field, f->wt, wt);
    return perr(p, c, WK_E_FORMAT, m);
}

static char *dup_bytes(const uint8_t *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static int set_str(pctx *p, char **dst, const field *f)
{
    free(*dst);
    *dst = dup_bytes(f->data, f->len);
    return *dst ? 0 : wk_err_set(p->err, WK_E_NOMEM, "%s: out of memory", p->label);
}

static int parse_piece(pctx *p, const field *outer, wk_spm_piece *pc)
{
    wk_cur c = wk_cur_make(outer->data, outer->len, outer->data_pos);
    field f;
    int r;
    pc->type = WK_SPM_NORMAL;
    while ((r = next_field(p, &c, &f)) == 0) {
        if (f.field == 1) {
            WK_TRY(want_wt(p, &c, &f, WT_LEN, "piece"));
            size_t bad = wk_utf8_check(f.data, f.len);
            if (bad != WK_UTF8_OK) {
                /* the sentencepiece library and the GGUF token list need UTF-8 */
                wk_cur at = wk_cur_make(f.data, f.len, f.data_pos);
                wk_cur_skip(&at, bad);
                char m[64];
                snprintf(m, sizeof m, "text is not valid UTF-8 (byte 0x%02x)", f.data[bad]);
                return perr(p, &at, WK_E_FORMAT, m);
            }
            /* the arena holds every text field of the file (their sum is below len) */
            if (f.len + 1 > p->arena_cap - p->arena_used)
                return wk_err_set(p->err, WK_E_INTERNAL, "%s: piece text arena overrun", p->label);
            pc->text = p->arena + p->arena_used;
            memcpy(pc->text, f.data, f.len);
            pc->text[f.len] = 0;
            p->arena_used += f.len + 1;
            pc->len = f.len;
        } else if (f.field == 2) {
            WK_TRY(want_wt(p, &c, &f, WT_I32, "score"));
            uint32_t u = (uint32_t)f.v;
            memcpy(&pc->score, &u, 4);
        } else if (f.field == 3) {
            WK_TRY(want_wt(p, &c, &f, WT_VARINT, "type"));
            pc->type = (int)(int32_t)f.v;
        }
    }
    if (r < 0) return -1;
    if (!pc->text) {
        if (1 > p->arena_cap - p->arena_used)
            return wk_err_set(p->err, WK_E_INTERNAL, "%s: piece text arena overrun", p->label);
        pc->text = p->arena + p->arena_used++;
        pc->text[0] = 0;
    }
    return 0;
}

static int parse_trainer(pctx *p, const field *outer, wk_spm *m)
{
    wk_cur c = wk_cur_make(outer->data, outer->len, outer->data_pos);
    field f;
    int r;
    m->has_trainer = 1;
    while ((r = next_field(p, &c, &f)) == 0) {
        int32_t iv = (int32_t)f.v;   /* int32 fields: sign-extended varints, truncated */
        switch (f.field) {
        case 3: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "model_type")); m->model_type = iv; break;
        case 4: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "vocab_size")); m->vocab_size = iv; break;
        case 24: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "treat_whitespace_as_suffix")); m->treat_whitespace_as_suffix = f.v != 0; break;
        case 25: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "split_digits")); m->split_digits = f.v != 0; break;
        case 26: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "allow_whitespace_only_pieces")); m->allow_whitespace_only_pieces = f.v != 0; break;
        case 30: WK_TRY(want_wt(p, &c, &f, WT_LEN, "control_symbols")); m->n_control_symbols++; break;
        case 31: WK_TRY(want_wt(p, &c, &f, WT_LEN, "user_defined_symbols")); m->n_user_defined_symbols++; break;
        case 35: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "byte_fallback")); m->byte_fallback = f.v != 0; break;
        case 40: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "unk_id")); m->unk_id = iv; break;
        case 41: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "bos_id")); m->bos_id = iv; break;
        case 42: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "eos_id")); m->eos_id = iv; break;
        case 43: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "pad_id")); m->pad_id = iv; break;
        case 44: WK_TRY(want_wt(p, &c, &f, WT_LEN, "unk_surface")); WK_TRY(set_str(p, &m->unk_surface, &f)); break;
        case 45: WK_TRY(want_wt(p, &c, &f, WT_LEN, "unk_piece")); WK_TRY(set_str(p, &m->unk_piece, &f)); break;
        case 46: WK_TRY(want_wt(p, &c, &f, WT_LEN, "bos_piece")); WK_TRY(set_str(p, &m->bos_piece, &f)); break;
        case 47: WK_TRY(want_wt(p, &c, &f, WT_LEN, "eos_piece")); WK_TRY(set_str(p, &m->eos_piece, &f)); break;
        case 48: WK_TRY(want_wt(p, &c, &f, WT_LEN, "pad_piece")); WK_TRY(set_str(p, &m->pad_piece, &f)); break;
        default: break;
        }
    }
    return r < 0 ? -1 : 0;
}

static int parse_normalizer(pctx *p, const field *outer, wk_spm *m)
{
    wk_cur c = wk_cur_make(outer->data, outer->len, outer->data_pos);
    field f;
    int r;
    m->has_normalizer = 1;
    while ((r = next_field(p, &c, &f)) == 0) {
        switch (f.field) {
        case 1: WK_TRY(want_wt(p, &c, &f, WT_LEN, "name")); WK_TRY(set_str(p, &m->norm_name, &f)); break;
        case 2:
            WK_TRY(want_wt(p, &c, &f, WT_LEN, "precompiled_charsmap"));
            free(m->precompiled_charsmap);
            if (!(m->precompiled_charsmap = (uint8_t *)dup_bytes(f.data, f.len)))
                return wk_err_set(p->err, WK_E_NOMEM, "%s: out of memory", p->label);
            m->charsmap_len = f.len;
            break;
        case 3: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "add_dummy_prefix")); m->add_dummy_prefix = f.v != 0; break;
        case 4: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "remove_extra_whitespaces")); m->remove_extra_whitespaces = f.v != 0; break;
        case 5: WK_TRY(want_wt(p, &c, &f, WT_VARINT, "escape_whitespaces")); m->escape_whitespaces = f.v != 0; break;
        default: break;
        }
    }
    return r < 0 ? -1 : 0;
}

static void set_defaults(wk_spm *m)
{
    memset(m, 0, sizeof *m);
    m->model_type = WK_SPM_UNIGRAM;
    m->vocab_size = 8000;
    m->unk_id = 0;
    m->bos_id = 1;
    m->eos_id = 2;
    m->pad_id = -1;
    m->add_dummy_prefix = 1;
    m->remove_extra_whitespaces = 1;
    m->escape_whitespaces = 1;
}

static int fill_default_strings(pctx *p, wk_spm *m)
{
    static const char *const defs[5] = {" \xE2\x81\x87 ", "<unk>", "<s>", "</s>", "<pad>"};
    char **dst[5] = {&m->unk_surface, &m->unk_piece, &m->bos_piece, &m->eos_piece, &m->pad_piece};
    for (int i = 0; i < 5; i++)
        if (!*dst[i] && !(*dst[i] = strdup(defs[i])))
            return wk_err_set(p->err, WK_E_NOMEM, "%s: out of memory", p->label);
    return 0;
}

/* Count the pieces (top-level field 1) without allocating anything. */
static int count_pieces(pctx *p, const uint8_t *data, size_t len, size_t *n)
{
    wk_cur c = wk_cur_make(data, len, 0);
    field f;
    int r;
    *n = 0;
    while ((r = next_field(p, &c, &f)) == 0)
        if (f.field == 1) (*n)++;
    return r < 0 ? -1 : 0;
}

/* Allocations are sized before parsing (issue #24 item 15): the pieces array
 * exactly once from the count (refused first when over max_pieces), the texts
 * in one arena of len + count bytes (every text is a part of the input). */
static int parse_model(pctx *p, wk_spm *m, const uint8_t *data, size_t len, size_t max_pieces)
{
    size_t count;
    WK_TRY(count_pieces(p, data, len, &count));
    if (count == 0) return wk_err_set(p->err, WK_E_FORMAT, "%s: no pieces (not a SentencePiece model?)", p->label);
    WK_FAIL_IF(max_pieces && count > max_pieces, p->err, WK_E_FORMAT, "%s: %zu pieces, but the embedding has "
               "only %zu rows (is this the model's own tokenizer.model?)", p->label, count, max_pieces);
    m->pieces = calloc(count, sizeof *m->pieces);
    p->arena_cap = len + count;
    m->text_arena = p->arena = malloc(p->arena_cap);
    if (!m->pieces || !p->arena) return wk_err_set(p->err, WK_E_NOMEM, "%s: out of memory", p->label);
    wk_cur c = wk_cur_make(data, len, 0);
    field f;
    int r;
    while ((r = next_field(p, &c, &f)) == 0) {
        if (f.field == 1) {
            WK_TRY(want_wt(p, &c, &f, WT_LEN, "pieces"));
            if (m->n_pieces == count) return wk_err_set(p->err, WK_E_INTERNAL, "%s: piece count changed", p->label);
            wk_spm_piece *pc = &m->pieces[m->n_pieces++];
            snprintf(p->where, sizeof p->where, "piece %zu: ", m->n_pieces - 1);
            if (parse_piece(p, &f, pc)) return -1;
            p->where[0] = 0;
        } else if (f.field == 2) {
            WK_TRY(want_wt(p, &c, &f, WT_LEN, "trainer_spec"));
            WK_TRY(parse_trainer(p, &f, m));
        } else if (f.field == 3) {
            WK_TRY(want_wt(p, &c, &f, WT_LEN, "normalizer_spec"));
            WK_TRY(parse_normalizer(p, &f, m));
        }
    }
    if (r < 0) return -1;
    return fill_default_strings(p, m);
}

/* 1 if line [p, p+n) is "<base64> <rank>" (a tiktoken BPE vocabulary line). */
static int tiktoken_line(const uint8_t *p, size_t n)
{
    size_t i = 0, b64 = 0, digits = 0;
    while (i < n && (isalnum(p[i]) || p[i] == '+' || p[i] == '/')) i++, b64++;
    while (i < n && p[i] == '=') i++, b64++;
    if (b64 == 0 || b64 % 4 != 0 || i >= n || p[i] != ' ') return 0;
    for (i++; i < n && isdigit(p[i]); i++) digits++;
    if (i < n && p[i] == '\r') i++;
    return digits > 0 && i == n;
}

/* What the first bytes of a non-SentencePiece file say it is, or NULL. */
static const char *not_spm(const uint8_t *d, size_t len)
{
    if (len == 0) return "an empty file (no pieces)";
    size_t i = 0;
    while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r')) i++;
    if (i == len) return "a file of only white space";
    if (d[i] == '{' || d[i] == '[') return "a JSON file (tokenizer.json style)";
    /* tiktoken: every complete line of the first 4 KiB is "<base64> <rank>" (a
     * protobuf ModelProto starts with 0x0a, its first piece) */
    size_t end = len < 4096 ? len : 4096, lines = 0;
    for (size_t a = 0; a < end;) {
        const uint8_t *nl = memchr(d + a, '\n', end - a);
        if (!nl) break;
        if (!tiktoken_line(d + a, (size_t)(nl - d) - a)) return NULL;
        lines++;
        a = (size_t)(nl - d) + 1;
    }
    return lines ? "a tiktoken BPE vocabulary (Llama 3 style)" : NULL;
}

int wk_spm_sniff(const void *data, size_t len, const char *label, wk_err *err)
{
    const char *what = not_spm(data, len);
    if (!what) return 0;
    if (!strncmp(what, "a tiktoken", 10))
        return wk_err_set(err, WK_E_UNSUPPORTED, "%s: %s, not a SentencePiece model: not "
                          "supported yet", label ? label : "(buffer)", what);
    return wk_err_set(err, WK_E_FORMAT, "%s: %s, not a SentencePiece model (the tokenizer.model "
                      "of LLaMA 1/2 is one)", label ? label : "(buffer)", what);
}

int wk_spm_check_file(const char *path, wk_err *err)
{
    int fd = wk_input_open(path, 0, NULL, err);   /* regular files only (no FIFO hang) */
    if (fd < 0) return -1;
    uint8_t head[4096];
    size_t n = 0;
    ssize_t r = 1;
    while (n < sizeof head && (r = read(fd, head + n, sizeof head - n)) > 0) n += (size_t)r;
    int e = errno;
    close(fd);
    if (r < 0) return wk_err_errno(err, e, "%s: read", path);
    return wk_spm_sniff(head, n, path, err);
}

int wk_spm_parse_max(wk_spm *m, const void *data, size_t len, const char *label, size_t max_pieces,
                     wk_err *err)
{
    pctx p = {label ? label : "(buffer)", err, "", NULL, 0, 0};
    set_defaults(m);
    if (wk_spm_sniff(data, len, p.label, err)) return -1;
    if (len > WK_SPM_MAX_BYTES) {
        return wk_err_set(err, WK_E_LIMIT, "%s: %zu bytes is larger than the %u-byte limit for a "
                          "SentencePiece model", p.label, len, WK_SPM_MAX_BYTES);
    }
    if (parse_model(&p, m, data, len, max_pieces)) {
        wk_spm_free(m);
        return -1;
    }
    return 0;
}

int wk_spm_parse(wk_spm *m, const void *data, size_t len, const char *label, wk_err *err)
{
    return wk_spm_parse_max(m, data, len, label, 0, err);
}

int wk_spm_load_max(wk_spm *m, const char *path, size_t max_pieces, wk_err *err)
{
    wk_map map;
    set_defaults(m);
    if (wk_map_open(&map, path, err)) return -1;
    int rc = wk_spm_parse_max(m, map.data, map.size, path, max_pieces, err);
    wk_map_close(&map);
    return rc;
}

int wk_spm_load(wk_spm *m, const char *path, wk_err *err)
{
    return wk_spm_load_max(m, path, 0, err);
}

void wk_spm_free(wk_spm *m)
{
    free(m->text_arena);
    free(m->pieces);
    free(m->unk_surface);
    free(m->unk_piece);
    free(m->bos_piece);
    free(m->eos_piece);
    free(m->pad_piece);
    free(m->norm_name);
    free(m->precompiled_charsmap);
    set_defaults(m);
}

const char *wk_spm_type_name(int type)
{
    static const char *const n[] = {"?", "normal", "unknown", "control", "user_defined", "unused", "byte"};
    return type >= 1 && type <= 6 ? n[type] : "?";
}

const char *wk_spm_model_type_name(int t)
{
    static const char *const n[] = {"?", "unigram", "bpe", "word", "char"};
    return t >= 1 && t <= 4 ? n[t] : "?";
}
