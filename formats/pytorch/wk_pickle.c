/* wk_pickle.c — restricted unpickler for tensor checkpoints (see wk_pickle.h).
 *
 * Structure: an opcode table (names, argument kinds, policy); one bounded
 * decoder (read_op) shared by the interpreter and the disassembler; the
 * interpreter (load_*), whose only "calls" are the allow-listed globals
 * interpreted in reduce_*; and the flattening walker. */
#include "wk_pickle.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_cursor.h"
#include "wk_utf8.h"

/* ---- opcode table ------------------------------------------------------ */

typedef enum {
    A_NONE, A_U1, A_U2, A_I4, A_U4, A_U8, A_F8BE,
    A_LEN1, A_LEN4, A_SLEN4, A_LEN8, /* length-prefixed byte strings */
    A_LINE, A_LINE2                  /* newline-terminated text (protocol 0 style) */
} arg_kind;

typedef enum {
    P_OK,          /* interpreted */
    P_UNSUPPORTED, /* a valid opcode torch.save never writes for state dicts */
    P_UNSAFE       /* imports or instantiates by name, or calls outside REDUCE */
} op_policy;

typedef struct {
    uint8_t code;
    const char *name;
    arg_kind arg;
    op_policy policy;
} op_info;

enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
    OP_FLOAT = 'F', OP_INT = 'I', OP_BININT = 'J', OP_BININT1 = 'K', OP_LONG = 'L',
    OP_BININT2 = 'M', OP_NONE = 'N', OP_PERSID = 'P', OP_BINPERSID = 'Q', OP_REDUCE = 'R',
    OP_STRING = 'S', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_UNICODE = 'V',
    OP_BINUNICODE = 'X', OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd',
    OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_GET = 'g', OP_BINGET = 'h', OP_INST = 'i',
    OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_EMPTY_LIST = ']', OP_OBJ = 'o', OP_PUT = 'p',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
    OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINFLOAT = 'G',
    OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_EXT1 = 0x82, OP_EXT2 = 0x83, OP_EXT4 = 0x84,
    OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87, OP_NEWTRUE = 0x88,
    OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_LONG4 = 0x8b,
    OP_BINBYTES = 'B', OP_SHORT_BINBYTES = 'C',
    OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e,
    OP_EMPTY_SET = 0x8f, OP_ADDITEMS = 0x90, OP_FROZENSET = 0x91, OP_NEWOBJ_EX = 0x92,
    OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
    OP_BYTEARRAY8 = 0x96, OP_NEXT_BUFFER = 0x97, OP_READONLY_BUFFER = 0x98
};

static const op_info k_ops[] = {
    {OP_MARK, "MARK", A_NONE, P_OK},
    {OP_STOP, "STOP", A_NONE, P_OK},
    {OP_POP, "POP", A_NONE, P_UNSUPPORTED},
    {OP_POP_MARK, "POP_MARK", A_NONE, P_UNSUPPORTED},
    {OP_DUP, "DUP", A_NONE, P_UNSUPPORTED},
    {OP_FLOAT, "FLOAT", A_LINE, P_UNSUPPORTED},
    {OP_INT, "INT", A_LINE, P_UNSUPPORTED},
    {OP_BININT, "BININT", A_I4, P_OK},
    {OP_BININT1, "BININT1", A_U1, P_OK},
    {OP_LONG, "LONG", A_LINE, P_UNSUPPORTED},
    {OP_BININT2, "BININT2", A_U2, P_OK},
    {OP_NONE, "NONE", A_NONE, P_OK},
    {OP_PERSID, "PERSID", A_LINE, P_UNSUPPORTED},
    {OP_BINPERSID, "BINPERSID", A_NONE, P_OK},
    {OP_REDUCE, "REDUCE", A_NONE, P_OK},
    {OP_STRING, "STRING", A_LINE, P_UNSUPPORTED},
    {OP_BINSTRING, "BINSTRING", A_SLEN4, P_OK},
    {OP_SHORT_BINSTRING, "SHORT_BINSTRING", A_LEN1, P_OK},
    {OP_UNICODE, "UNICODE", A_LINE, P_UNSUPPORTED},
    {OP_BINUNICODE, "BINUNICODE", A_LEN4, P_OK},
    {OP_APPEND, "APPEND", A_NONE, P_OK},
    {OP_BUILD, "BUILD", A_NONE, P_OK},
    {OP_GLOBAL, "GLOBAL", A_LINE2, P_OK},
    {OP_DICT, "DICT", A_NONE, P_UNSUPPORTED},
    {OP_EMPTY_DICT, "EMPTY_DICT", A_NONE, P_OK},
    {OP_APPENDS, "APPENDS", A_NONE, P_OK},
    {OP_GET, "GET", A_LINE, P_UNSUPPORTED},
    {OP_BINGET, "BINGET", A_U1, P_OK},
    {OP_INST, "INST", A_LINE2, P_UNSAFE},
    {OP_LONG_BINGET, "LONG_BINGET", A_U4, P_OK},
    {OP_LIST, "LIST", A_NONE, P_UNSUPPORTED},
    {OP_EMPTY_LIST, "EMPTY_LIST", A_NONE, P_OK},
    {OP_OBJ, "OBJ", A_NONE, P_UNSAFE},
    {OP_PUT, "PUT", A_LINE, P_UNSUPPORTED},
    {OP_BINPUT, "BINPUT", A_U1, P_OK},
    {OP_LONG_BINPUT, "LONG_BINPUT", A_U4, P_OK},
    {OP_SETITEM, "SETITEM", A_NONE, P_OK},
    {OP_TUPLE, "TUPLE", A_NONE, P_OK},
    {OP_EMPTY_TUPLE, "EMPTY_TUPLE", A_NONE, P_OK},
    {OP_SETITEMS, "SETITEMS", A_NONE, P_OK},
    {OP_BINFLOAT, "BINFLOAT", A_F8BE, P_OK},
    {OP_PROTO, "PROTO", A_U1, P_OK},
    {OP_NEWOBJ, "NEWOBJ", A_NONE, P_UNSAFE},
    {OP_EXT1, "EXT1", A_U1, P_UNSAFE},
    {OP_EXT2, "EXT2", A_U2, P_UNSAFE},
    {OP_EXT4, "EXT4", A_U4, P_UNSAFE},
    {OP_TUPLE1, "TUPLE1", A_NONE, P_OK},
    {OP_TUPLE2, "TUPLE2", A_NONE, P_OK},
    {OP_TUPLE3, "TUPLE3", A_NONE, P_OK},
    {OP_NEWTRUE, "NEWTRUE", A_NONE, P_OK},
    {OP_NEWFALSE, "NEWFALSE", A_NONE, P_OK},
    {OP_LONG1, "LONG1", A_LEN1, P_OK},
    {OP_LONG4, "LONG4", A_LEN4, P_OK},
    {OP_BINBYTES, "BINBYTES", A_LEN4, P_OK},
    {OP_SHORT_BINBYTES, "SHORT_BINBYTES", A_LEN1, P_OK},
    {OP_SHORT_BINUNICODE, "SHORT_BINUNICODE", A_LEN1, P_OK},
    {OP_BINUNICODE8, "BINUNICODE8", A_LEN8, P_OK},
    {OP_BINBYTES8, "BINBYTES8", A_LEN8, P_OK},
    {OP_EMPTY_SET, "EMPTY_SET", A_NONE, P_UNSUPPORTED},
    {OP_ADDITEMS, "ADDITEMS", A_NONE, P_UNSUPPORTED},
    {OP_FROZENSET, "FROZENSET", A_NONE, P_UNSUPPORTED},
    {OP_NEWOBJ_EX, "NEWOBJ_EX", A_NONE, P_UNSAFE},
    {OP_STACK_GLOBAL, "STACK_GLOBAL", A_NONE, P_OK},
    {OP_MEMOIZE, "MEMOIZE", A_NONE, P_OK},
    {OP_FRAME, "FRAME", A_U8, P_OK},
    {OP_BYTEARRAY8, "BYTEARRAY8", A_LEN8, P_UNSUPPORTED},
    {OP_NEXT_BUFFER, "NEXT_BUFFER", A_NONE, P_UNSUPPORTED},
    {OP_READONLY_BUFFER, "READONLY_BUFFER", A_NONE, P_UNSUPPORTED},
};

static const op_info *op_lookup(uint8_t code)
{
    for (size_t i = 0; i < sizeof k_ops / sizeof k_ops[0]; i++)
        if (k_ops[i].code == code) return &k_ops[i];
    return NULL;
}

/* ---- small helpers ------------------------------------------------------ */

/* Write bytes p[0..n) into out (size cap) as a quoted-safe string: printable
 * ASCII kept, others as \xNN, cut with "..." after `show` input bytes. */
static void esc(const void *p, size_t n, size_t show, char *out, size_t cap)
{
    const uint8_t *s = p;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        if (i == show) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        uint8_t ch = s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'') {
            out[o++] = (char)ch;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        }
    }
    out[o] = '\0';
}

/* Two's-complement little-endian integer of n <= 8 bytes (pickle LONG1/LONG4). */
static int64_t decode_long(const uint8_t *p, size_t n)
{
    if (n == 0) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    if (n < 8 && (p[n - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * n);
    int64_t out;
    memcpy(&out, &v, sizeof out);
    return out;
}

/* ---- the decoder ------------------------------------------------------- */

typedef struct {
    const op_info *info;
    uint8_t code;
    uint64_t pos;          /* offset of the opcode byte */
    uint64_t u;            /* unsigned integer argument */
    int64_t i;             /* signed integer argument */
    double f;
    const uint8_t *p;      /* bytes / first line */
    size_t n;
    const uint8_t *p2;     /* second line */
    size_t n2;
} op;

static int derr(const char *name, uint64_t pos, wk_err *err, wk_code code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int derr(const char *name, uint64_t pos, wk_err *err, wk_code code, const char *fmt, ...)
{
    char msg[WK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wk_err_set(err, code, "%s: byte %" PRIu64 ": %s", name, pos, msg);
}

static int read_line(wk_cur *c, const uint8_t **p, size_t *n, const char *name, uint64_t pos,
                     const char *what, wk_err *err)
{
    size_t left = wk_cur_left(c);
    size_t scan = left < WK_PICKLE_MAX_LINE + 1 ? left : WK_PICKLE_MAX_LINE + 1;
    const uint8_t *start = c->p + c->pos;
    const uint8_t *nl = memchr(start, '\n', scan);
    if (!nl) {
        if (scan == left)
            return derr(name, pos, err, WK_E_FORMAT, "truncated %s argument (no newline)", what);
        return derr(name, pos, err, WK_E_LIMIT, "%s argument longer than %d bytes", what,
                    WK_PICKLE_MAX_LINE);
    }
    *p = start;
    *n = (size_t)(nl - start);
    c->pos += *n + 1;
    return 0;
}

/* Decode one opcode and its argument at c, checking every length against
 * the remaining input.  Unknown opcodes are a WK_E_FORMAT error. */
static int read_op(wk_cur *c, op *o, const char *name, wk_err *err)
{
    memset(o, 0, sizeof *o);
    o->pos = wk_cur_pos(c);
    if (wk_cur_u8(c, &o->code))
        return derr(name, o->pos, err, WK_E_FORMAT, "truncated: end of data before STOP");
    o->info = op_lookup(o->code);
    if (!o->info)
        return derr(name, o->pos, err, WK_E_FORMAT, "unknown opcode 0x%02x", o->code);
    const char *opn = o->info->name;
    uint8_t b1;
    uint16_t b2;
    uint32_t b4;
    uint64_t b8;
    const uint8_t *raw;
    switch (o->info->arg) {
    case A_NONE:
        return 0;
    case A_U1:
        if (wk_cur_u8(c, &b1)) break;
        o->u = b1;
        return 0;
    case A_U2:
        if (wk_cur_u16(c, &b2)) break;
        o->u = b2;
        return 0;
    case A_I4:
        if (wk_cur_u32(c, &b4)) break;
        o->i = (int32_t)b4;
        return 0;
    case A_U4:
        if (wk_cur_u32(c, &b4)) break;
        o->u = b4;
        return 0;
    case A_U8:
        if (wk_cur_u64(c, &b8)) break;
        o->u = b8;
        if (o->code == OP_FRAME && b8 > wk_cur_left(c))
            return derr(name, o->pos, err, WK_E_FORMAT,
                        "FRAME of %" PRIu64 " bytes exceeds the %zu bytes left", b8,
                        wk_cur_left(c));
        return 0;
    case A_F8BE: {
        if (wk_cur_bytes(c, 8, &raw)) break;
        uint64_t v = 0;
        for (int k = 0; k < 8; k++) v = v << 8 | raw[k];
        memcpy(&o->f, &v, sizeof o->f);
        return 0;
    }
    case A_LEN1:
        if (wk_cur_u8(c, &b1)) break;
        o->u = b1;
        goto bytes;
    case A_LEN4:
    case A_SLEN4:
        if (wk_cur_u32(c, &b4)) break;
        if (o->info->arg == A_SLEN4 && (b4 & 0x80000000u))
            return derr(name, o->pos, err, WK_E_FORMAT, "%s with negative length", opn);
        o->u = b4;
        goto bytes;
    case A_LEN8:
        if (wk_cur_u64(c, &b8)) break;
        o->u = b8;
        goto bytes;
    case A_LINE:
        return read_line(c, &o->p, &o->n, name, o->pos, opn, err);
    case A_LINE2:
        if (read_line(c, &o->p, &o->n, name, o->pos, opn, err)) return -1;
        return read_line(c, &o->p2, &o->n2, name, o->pos, opn, err);
    }
    return derr(name, o->pos, err, WK_E_FORMAT, "truncated %s argument", opn);
bytes:
    if (o->u > wk_cur_left(c))
        return derr(name, o->pos, err, WK_E_FORMAT,
                    "%s length %" PRIu64 " exceeds the %zu bytes left", opn, o->u, wk_cur_left(c));
    o->n = (size_t)o->u;
    o->p = c->p + c->pos;
    c->pos += o->n;
    return 0;
}

/* ---- allow-list -------------------------------------------------------- */

typedef struct {
    const char *module;
    const char *name;
    wk_pglobal which;
} allowed_global;

static const allowed_global k_allowed[] = {
    {"torch._utils", "_rebuild_tensor_v2", WK_PG_REBUILD_TENSOR_V2},
    {"torch._utils", "_rebuild_tensor", WK_PG_REBUILD_TENSOR},
    {"torch._utils", "_rebuild_parameter", WK_PG_REBUILD_PARAMETER},
    {"torch._utils", "_rebuild_parameter_with_state", WK_PG_REBUILD_PARAMETER_WITH_STATE},
    {"collections", "OrderedDict", WK_PG_ORDERED_DICT},
    {"torch", "Size", WK_PG_TORCH_SIZE},
};

static int bytes_eq(const uint8_t *p, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* Look module.name up in the allow-list: 0 (filling which and dtype), or -1. */
static int global_lookup(const uint8_t *mod, size_t mlen, const uint8_t *nm, size_t nlen,
                         wk_pglobal *which, wk_dtype *dtype)
{
    for (size_t i = 0; i < sizeof k_allowed / sizeof k_allowed[0]; i++) {
        if (bytes_eq(mod, mlen, k_allowed[i].module) && bytes_eq(nm, nlen, k_allowed[i].name)) {
            *which = k_allowed[i].which;
            *dtype = WK_DT_F32;
            return 0;
        }
    }
    if (bytes_eq(mod, mlen, "torch")) {
        int dt = wk_dtype_from_torch_storage((const char *)nm, nlen);
        if (dt >= 0) {
            *which = WK_PG_STORAGE_CLASS;
            *dtype = (wk_dtype)dt;
            return 0;
        }
    }
    return -1;
}

static const char *global_name(wk_pglobal g)
{
    switch (g) {
    case WK_PG_REBUILD_TENSOR_V2: return "torch._utils._rebuild_tensor_v2";
    case WK_PG_REBUILD_TENSOR: return "torch._utils._rebuild_tensor";
    case WK_PG_REBUILD_PARAMETER: return "torch._utils._rebuild_parameter";
    case WK_PG_REBUILD_PARAMETER_WITH_STATE: return "torch._utils._rebuild_parameter_with_state";
    case WK_PG_ORDERED_DICT: return "collections.OrderedDict";
    case WK_PG_TORCH_SIZE: return "torch.Size";
    case WK_PG_STORAGE_CLASS: return "a torch storage class";
    }
    return "?";
}

/* ---- the interpreter: state and value allocation ------------------------ */

#define NODES_PER_BLOCK 256

typedef struct node_block {
    struct node_block *next;
    size_t used;
    wk_pv nodes[NODES_PER_BLOCK];
} node_block;

struct wk_pickle {
    char *name;
    const uint8_t *data;
    size_t len;
    int proto;
    const wk_pv *root;
    node_block *blocks;
    size_t n_nodes, max_nodes;
    size_t n_items;  /* container items appended so far (at most 2 * max_nodes) */
    /* load-time state */
    wk_pv **stack;
    size_t sp, stack_cap;
    size_t marks[WK_PICKLE_MAX_DEPTH];
    size_t n_marks;
    wk_pv **memo;
    size_t memo_cap, memo_count;
    uint64_t pos;  /* offset of the opcode being interpreted */
    wk_err *err;
};

static int perr(wk_pickle *pk, wk_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(wk_pickle *pk, wk_code code, const char *fmt, ...)
{
    char msg[WK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wk_err_set(pk->err, code, "%s: byte %" PRIu64 ": %s", pk->name, pk->pos, msg);
}

/* A fresh zeroed value.  The count is bounded by the input length (each
 * opcode makes at most one value), so no input can grow this unboundedly. */
static wk_pv *new_node(wk_pickle *pk, wk_pv_kind kind)
{
    if (pk->n_nodes >= pk->max_nodes) {
        perr(pk, WK_E_LIMIT, "more than %zu values", pk->max_nodes);
        return NULL;
    }
    node_block *b = pk->blocks;
    if (!b || b->used == NODES_PER_BLOCK) {
        b = calloc(1, sizeof *b);
        if (!b) {
            perr(pk, WK_E_NOMEM, "out of memory");
            return NULL;
        }
        b->next = pk->blocks;
        pk->blocks = b;
    }
    wk_pv *v = &b->nodes[b->used++];
    pk->n_nodes++;
    v->kind = kind;
    v->depth = 1;
    v->offset = pk->pos;
    return v;
}

static int push(wk_pickle *pk, wk_pv *v)
{
    if (!v) return -1;
    if (pk->sp == pk->stack_cap) {
        if (pk->stack_cap >= WK_PICKLE_MAX_STACK)
            return perr(pk, WK_E_LIMIT, "more than %u values on the stack", WK_PICKLE_MAX_STACK);
        size_t cap = pk->stack_cap ? pk->stack_cap * 2 : 64;
        wk_pv **s = realloc(pk->stack, cap * sizeof *s);
        if (!s) return perr(pk, WK_E_NOMEM, "out of memory");
        pk->stack = s;
        pk->stack_cap = cap;
    }
    pk->stack[pk->sp++] = v;
    return 0;
}

/* Index of the first stack slot above the innermost MARK. */
static size_t frame_base(const wk_pickle *pk)
{
    return pk->n_marks ? pk->marks[pk->n_marks - 1] : 0;
}

static wk_pv *pop(wk_pickle *pk)
{
    if (pk->sp <= frame_base(pk)) {
        perr(pk, WK_E_FORMAT, "stack underflow");
        return NULL;
    }
    return pk->stack[--pk->sp];
}

static wk_pv *top(wk_pickle *pk)
{
    if (pk->sp <= frame_base(pk)) {
        perr(pk, WK_E_FORMAT, "stack underflow");
        return NULL;
    }
    return pk->stack[pk->sp - 1];
}

/* Close the innermost MARK; returns its stack index via *base. */
static int pop_mark(wk_pickle *pk, const char *opname, size_t *base)
{
    if (pk->n_marks == 0) return perr(pk, WK_E_FORMAT, "%s without a matching MARK", opname);
    *base = pk->marks[--pk->n_marks];
    return 0;
}

static int note_depth(wk_pickle *pk, wk_pv *parent, const wk_pv *child)
{
    if (child->depth + 1 > parent->depth) parent->depth = child->depth + 1;
    if (parent->depth > WK_PICKLE_MAX_DEPTH)
        return perr(pk, WK_E_LIMIT, "values nested deeper than %d levels", WK_PICKLE_MAX_DEPTH);
    return 0;
}

/* Append child to a TUPLE/LIST/DICT/ODICT item array.  The total number of
 * appends is bounded by the number of stack pushes, hence by the input. */
static int seq_add(wk_pickle *pk, wk_pv *parent, wk_pv *child)
{
    /* a BINGET pushes an old value without making one: bound the items too */
    if (pk->n_items >= 2 * pk->max_nodes)
        return perr(pk, WK_E_LIMIT, "more than %zu container items", 2 * pk->max_nodes);
    pk->n_items++;
    if (parent->u.seq.n == parent->u.seq.cap) {
        size_t cap = parent->u.seq.cap ? parent->u.seq.cap * 2 : 4;
        wk_pv **items = realloc(parent->u.seq.items, cap * sizeof *items);
        if (!items) return perr(pk, WK_E_NOMEM, "out of memory");
        parent->u.seq.items = items;
        parent->u.seq.cap = cap;
    }
    parent->u.seq.items[parent->u.seq.n++] = child;
    return note_depth(pk, parent, child);
}

/* The memo is bounded by the values made, not by the input (issue #24 item 15:
 * 200 MB of MEMOIZE made a 1.6 GB array).  Picklers number memo entries
 * densely from 0 (Python's, torch.save's, one per stored object), so an index
 * at or past 2 * values + 64 is refused: the array stays below 4 pointers per
 * value (with its doubling). */
static int memo_put(wk_pickle *pk, uint64_t idx)
{
    wk_pv *v = top(pk);
    if (!v) return -1;
    if (idx >= 2 * (uint64_t)pk->n_nodes + 64)
        return perr(pk, WK_E_FORMAT, "memo index %" PRIu64 " out of range (%zu values so far; "
                    "picklers number memo entries densely)", idx, pk->n_nodes);
    if (idx >= pk->memo_cap) {
        size_t cap = pk->memo_cap ? pk->memo_cap : 64;
        while (cap <= idx) cap *= 2;
        wk_pv **m = realloc(pk->memo, cap * sizeof *m);
        if (!m) return perr(pk, WK_E_NOMEM, "out of memory");
        memset(m + pk->memo_cap, 0, (cap - pk->memo_cap) * sizeof *m);
        pk->memo = m;
        pk->memo_cap = cap;
    }
    if (!pk->memo[idx]) pk->memo_count++;
    pk->memo[idx] = v;
    return 0;
}

static int memo_get(wk_pickle *pk, uint64_t idx)
{
    if (idx >= pk->memo_cap || !pk->memo[idx])
        return perr(pk, WK_E_FORMAT, "memo index %" PRIu64 " not defined", idx);
    return push(pk, pk->memo[idx]);
}

static int check_key(wk_pickle *pk, const wk_pv *k);

/* ---- REDUCE of the allow-listed callables -------------------------------- */

static int is_hooks(const wk_pv *v)
{
    return v->kind == WK_PV_ODICT || v->kind == WK_PV_DICT || v->kind == WK_PV_NONE;
}

static int arg_err(wk_pickle *pk, const char *fn, size_t i, const char *want, const wk_pv *got)
{
    return perr(pk, WK_E_FORMAT, "argument %zu of %s must be %s, got %s", i + 1, fn, want,
                wk_pv_kind_name(got->kind));
}

static int int_tuple(wk_pickle *pk, const char *fn, size_t i, const wk_pv *t, int64_t *out,
                     int *n)
{
    if (t->kind != WK_PV_TUPLE) return arg_err(pk, fn, i, "a tuple of ints", t);
    if (t->u.seq.n > WK_MAX_DIMS)
        return perr(pk, WK_E_UNSUPPORTED, "tensor with %zu dimensions (at most %d supported)",
                    t->u.seq.n, WK_MAX_DIMS);
    for (size_t k = 0; k < t->u.seq.n; k++) {
        if (t->u.seq.items[k]->kind != WK_PV_INT)
            return arg_err(pk, fn, i, "a tuple of ints", t->u.seq.items[k]);
        out[k] = t->u.seq.items[k]->u.i;
    }
    *n = (int)t->u.seq.n;
    return 0;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
 * and the old _rebuild_tensor(storage, offset, size, stride). */
static wk_pv *reduce_tensor(wk_pickle *pk, wk_pglobal which, const wk_pv *args)
{
    const char *fn = global_name(which);
    size_t n = args->u.seq.n;
    wk_pv *const *a = args->u.seq.items;
    int v2 = which == WK_PG_REBUILD_TENSOR_V2;
    if (v2 ? (n != 6 && n != 7) : n != 4) {
        perr(pk, WK_E_FORMAT, "%s takes %s arguments, got %zu", fn, v2 ? "6 or 7" : "4", n);
        return NULL;
    }
    if (a[0]->kind != WK_PV_STORAGE) return arg_err(pk, fn, 0, "a storage", a[0]), NULL;
    if (a[1]->kind != WK_PV_INT) return arg_err(pk, fn, 1, "an int", a[1]), NULL;
    wk_pv *t = new_node(pk, WK_PV_TENSOR);
    if (!t) return NULL;
    int nsize, nstride;
    if (int_tuple(pk, fn, 2, a[2], t->u.tensor.shape, &nsize)) return NULL;
    if (int_tuple(pk, fn, 3, a[3], t->u.tensor.stride, &nstride)) return NULL;
    if (nsize != nstride) {
        perr(pk, WK_E_FORMAT, "%s: size has %d dimensions but stride has %d", fn, nsize, nstride);
        return NULL;
    }
    t->u.tensor.storage = a[0];
    t->u.tensor.storage_offset = a[1]->u.i;
    t->u.tensor.ndim = nsize;
    if (v2) {
        if (a[4]->kind != WK_PV_BOOL) return arg_err(pk, fn, 4, "a bool", a[4]), NULL;
        if (!is_hooks(a[5])) return arg_err(pk, fn, 5, "an OrderedDict", a[5]), NULL;
        t->u.tensor.requires_grad = a[4]->u.b;
        if (n == 7 && a[6]->kind != WK_PV_NONE) {
            if ((a[6]->kind != WK_PV_DICT && a[6]->kind != WK_PV_ODICT) || a[6]->u.seq.n != 0) {
                perr(pk, WK_E_UNSUPPORTED, "%s: tensor metadata (argument 7) is not supported", fn);
                return NULL;
            }
        }
    }
    return t;
}

/* _rebuild_parameter(data, requires_grad, hooks) and
 * _rebuild_parameter_with_state(data, requires_grad, hooks, state): the
 * Parameter wraps the tensor; any Python attribute state is ignored. */
static wk_pv *reduce_parameter(wk_pickle *pk, wk_pglobal which, const wk_pv *args)
{
    const char *fn = global_name(which);
    size_t want = which == WK_PG_REBUILD_PARAMETER ? 3 : 4;
    wk_pv *const *a = args->u.seq.items;
    if (args->u.seq.n != want) {
        perr(pk, WK_E_FORMAT, "%s takes %zu arguments, got %zu", fn, want, args->u.seq.n);
        return NULL;
    }
    if (a[0]->kind != WK_PV_TENSOR) return arg_err(pk, fn, 0, "a tensor", a[0]), NULL;
    if (a[1]->kind != WK_PV_BOOL) return arg_err(pk, fn, 1, "a bool", a[1]), NULL;
    if (!is_hooks(a[2])) return arg_err(pk, fn, 2, "an OrderedDict", a[2]), NULL;
    wk_pv *t = new_node(pk, WK_PV_TENSOR);
    if (!t) return NULL;
    t->u.tensor = a[0]->u.tensor;
    t->u.tensor.requires_grad = a[1]->u.b;
    t->u.tensor.is_parameter = 1;
    return t;
}

/* OrderedDict() or OrderedDict([[k, v], ...]) (Python 2 era reduce). */
static wk_pv *reduce_odict(wk_pickle *pk, const wk_pv *args)
{
    wk_pv *d = new_node(pk, WK_PV_ODICT);
    if (!d) return NULL;
    if (args->u.seq.n == 0) return d;
    const wk_pv *items = args->u.seq.items[0];
    if (args->u.seq.n != 1 || (items->kind != WK_PV_LIST && items->kind != WK_PV_TUPLE)) {
        perr(pk, WK_E_FORMAT, "OrderedDict takes () or (list of pairs,) as arguments");
        return NULL;
    }
    for (size_t i = 0; i < items->u.seq.n; i++) {
        const wk_pv *pair = items->u.seq.items[i];
        if ((pair->kind != WK_PV_LIST && pair->kind != WK_PV_TUPLE) || pair->u.seq.n != 2) {
            perr(pk, WK_E_FORMAT, "OrderedDict item %zu is not a (key, value) pair", i);
            return NULL;
        }
        if (check_key(pk, pair->u.seq.items[0]) || seq_add(pk, d, pair->u.seq.items[0]) ||
            seq_add(pk, d, pair->u.seq.items[1]))
            return NULL;
    }
    return d;
}

/* torch.Size((d0, d1, ...)) -> a tuple of ints. */
static wk_pv *reduce_size(wk_pickle *pk, const wk_pv *args)
{
    const wk_pv *dims = args->u.seq.n == 1 ? args->u.seq.items[0] : NULL;
    if (!dims || dims->kind != WK_PV_TUPLE) {
        perr(pk, WK_E_FORMAT, "torch.Size takes one tuple of ints");
        return NULL;
    }
    wk_pv *t = new_node(pk, WK_PV_TUPLE);
    if (!t) return NULL;
    for (size_t i = 0; i < dims->u.seq.n; i++) {
        if (dims->u.seq.items[i]->kind != WK_PV_INT) {
            perr(pk, WK_E_FORMAT, "torch.Size takes one tuple of ints");
            return NULL;
        }
        if (seq_add(pk, t, dims->u.seq.items[i])) return NULL;
    }
    return t;
}

static int op_reduce(wk_pickle *pk)
{
    wk_pv *args = pop(pk);
    if (!args) return -1;
    wk_pv *fn = top(pk);
    if (!fn) return -1;
    if (fn->kind != WK_PV_GLOBAL)
        return perr(pk, WK_E_UNSAFE, "REDUCE on a %s, not an allowed callable",
                    wk_pv_kind_name(fn->kind));
    if (args->kind != WK_PV_TUPLE)
        return perr(pk, WK_E_FORMAT, "REDUCE arguments are a %s, not a tuple",
                    wk_pv_kind_name(args->kind));
    wk_pv *r = NULL;
    switch (fn->u.global.which) {
    case WK_PG_REBUILD_TENSOR_V2:
    case WK_PG_REBUILD_TENSOR: r = reduce_tensor(pk, fn->u.global.which, args); break;
    case WK_PG_REBUILD_PARAMETER:
    case WK_PG_REBUILD_PARAMETER_WITH_STATE: r = reduce_parameter(pk, fn->u.global.which, args); break;
    case WK_PG_ORDERED_DICT: r = reduce_odict(pk, args); break;
    case WK_PG_TORCH_SIZE: r = reduce_size(pk, args); break;
    case WK_PG_STORAGE_CLASS:
        return perr(pk, WK_E_UNSUPPORTED, "calling torch.%s (only valid in a persistent id)",
                    wk_dtype_get(fn->u.global.dtype)->torch_storage);
    }
    if (!r) return -1;
    pk->stack[pk->sp - 1] = r;
    return 0;
}

/* BUILD: only OrderedDict.__setstate__-style attribute state (torch's
 * state_dict `_metadata`), kept in u.seq.state and not merged into items. */
static int op_build(wk_pickle *pk)
{
    wk_pv *state = pop(pk);
    if (!state) return -1;
    wk_pv *obj = top(pk);
    if (!obj) return -1;
    if (obj->kind != WK_PV_ODICT)
        return perr(pk, WK_E_UNSUPPORTED, "BUILD on a %s (only an OrderedDict's attributes are accepted)",
                    wk_pv_kind_name(obj->kind));
    int ok = state->kind == WK_PV_NONE || state->kind == WK_PV_DICT ||
             (state->kind == WK_PV_TUPLE && state->u.seq.n == 2);
    if (!ok)
        return perr(pk, WK_E_FORMAT, "BUILD state is a %s, not a dict", wk_pv_kind_name(state->kind));
    obj->u.seq.state = state;
    return note_depth(pk, obj, state);
}

/* BINPERSID: torch's ('storage', <X>Storage, key, location, numel). */
static int op_persid(wk_pickle *pk)
{
    wk_pv *pid = pop(pk);
    if (!pid) return -1;
    wk_pv *const *a = pid->u.seq.items;
    if (pid->kind != WK_PV_TUPLE || pid->u.seq.n != 5 || a[0]->kind != WK_PV_STR ||
        !bytes_eq((const uint8_t *)a[0]->u.str.p, a[0]->u.str.len, "storage"))
        return perr(pk, WK_E_UNSUPPORTED,
                    "persistent id is not a ('storage', type, key, location, numel) tuple");
    if (a[1]->kind != WK_PV_GLOBAL || a[1]->u.global.which != WK_PG_STORAGE_CLASS)
        return perr(pk, WK_E_FORMAT, "persistent id: storage type is a %s, not a torch storage class",
                    wk_pv_kind_name(a[1]->kind));
    if (a[2]->kind != WK_PV_STR || a[3]->kind != WK_PV_STR)
        return perr(pk, WK_E_FORMAT, "persistent id: key and location must be strings");
    if (a[4]->kind != WK_PV_INT || a[4]->u.i < 0)
        return perr(pk, WK_E_FORMAT, "persistent id: numel must be a non-negative int");
    wk_pv *s = new_node(pk, WK_PV_STORAGE);
    if (!s) return -1;
    s->u.storage.dtype = a[1]->u.global.dtype;
    s->u.storage.key = a[2]->u.str.p;
    s->u.storage.key_len = a[2]->u.str.len;
    s->u.storage.location = a[3]->u.str.p;
    s->u.storage.location_len = a[3]->u.str.len;
    s->u.storage.numel = a[4]->u.i;
    return push(pk, s);
}

static int op_global(wk_pickle *pk, const uint8_t *mod, size_t mlen, const uint8_t *nm, size_t nlen)
{
    wk_pglobal which;
    wk_dtype dt;
    if (global_lookup(mod, mlen, nm, nlen, &which, &dt)) {
        char m[160], n[160];
        esc(mod, mlen, 60, m, sizeof m);
        esc(nm, nlen, 60, n, sizeof n);
        return perr(pk, WK_E_UNSAFE, "refusing global '%s.%s' (not a tensor checkpoint global)", m, n);
    }
    wk_pv *g = new_node(pk, WK_PV_GLOBAL);
    if (!g) return -1;
    g->u.global.which = which;
    g->u.global.dtype = dt;
    return push(pk, g);
}

static int op_stack_global(wk_pickle *pk)
{
    wk_pv *nm = pop(pk);
    if (!nm) return -1;
    wk_pv *mod = pop(pk);
    if (!mod) return -1;
    if (mod->kind != WK_PV_STR || nm->kind != WK_PV_STR)
        return perr(pk, WK_E_FORMAT, "STACK_GLOBAL needs two strings");
    return op_global(pk, (const uint8_t *)mod->u.str.p, mod->u.str.len,
                     (const uint8_t *)nm->u.str.p, nm->u.str.len);
}

/* TUPLE / TUPLE1-3: the top n values become a tuple. */
static int make_tuple(wk_pickle *pk, size_t base)
{
    wk_pv *t = new_node(pk, WK_PV_TUPLE);
    if (!t) return -1;
    for (size_t i = base; i < pk->sp; i++)
        if (seq_add(pk, t, pk->stack[i])) return -1;
    pk->sp = base;
    return push(pk, t);
}

static int tuple_n(wk_pickle *pk, size_t n)
{
    if (pk->sp < frame_base(pk) + n) return perr(pk, WK_E_FORMAT, "stack underflow");
    return make_tuple(pk, pk->sp - n);
}

static int container_at(wk_pickle *pk, size_t idx, int want_list, wk_pv **out)
{
    if (idx < frame_base(pk) || idx >= pk->sp) return perr(pk, WK_E_FORMAT, "stack underflow");
    wk_pv *c = pk->stack[idx];
    int ok = want_list ? c->kind == WK_PV_LIST : (c->kind == WK_PV_DICT || c->kind == WK_PV_ODICT);
    if (!ok)
        return perr(pk, WK_E_UNSUPPORTED, "%s on a %s", want_list ? "APPEND" : "SETITEM",
                    wk_pv_kind_name(c->kind));
    *out = c;
    return 0;
}

/* Python refuses unhashable dict keys; so do we. */
static int check_key(wk_pickle *pk, const wk_pv *k)
{
    if (k->kind == WK_PV_LIST || k->kind == WK_PV_DICT || k->kind == WK_PV_ODICT)
        return perr(pk, WK_E_FORMAT, "unhashable dict key (a %s)", wk_pv_kind_name(k->kind));
    return 0;
}

/* APPENDS / SETITEMS: values above the MARK go into the container below it. */
static int add_marked(wk_pickle *pk, int is_list)
{
    size_t base = 0;
    if (pop_mark(pk, is_list ? "APPENDS" : "SETITEMS", &base)) return -1;
    if (base == 0) return perr(pk, WK_E_FORMAT, "stack underflow");
    wk_pv *c;
    if (container_at(pk, base - 1, is_list, &c)) return -1;
    if (!is_list && (pk->sp - base) % 2)
        return perr(pk, WK_E_FORMAT, "SETITEMS with an odd number of values");
    for (size_t i = base; !is_list && i < pk->sp; i += 2) WK_TRY(check_key(pk, pk->stack[i]));
    for (size_t i = base; i < pk->sp; i++)
        if (seq_add(pk, c, pk->stack[i])) return -1;
    pk->sp = base;
    return 0;
}

static int add_one(wk_pickle *pk, int is_list)
{
    size_t need = is_list ? 2 : 3;
    if (pk->sp < frame_base(pk) + need) return perr(pk, WK_E_FORMAT, "stack underflow");
    wk_pv *c;
    if (container_at(pk, pk->sp - need, is_list, &c)) return -1;
    if (!is_list) WK_TRY(check_key(pk, pk->stack[pk->sp - 2]));
    for (size_t i = pk->sp - need + 1; i < pk->sp; i++)
        if (seq_add(pk, c, pk->stack[i])) return -1;
    pk->sp -= need - 1;
    return 0;
}

static int push_int(wk_pickle *pk, int64_t v)
{
    wk_pv *x = new_node(pk, WK_PV_INT);
    if (!x) return -1;
    x->u.i = v;
    return push(pk, x);
}

static int push_str(wk_pickle *pk, wk_pv_kind kind, const op *o)
{
    if (kind == WK_PV_STR && !wk_utf8_valid(o->p, o->n))
        return perr(pk, WK_E_FORMAT, "%s is not valid UTF-8", o->info->name);
    wk_pv *x = new_node(pk, kind);
    if (!x) return -1;
    x->u.str.p = (const char *)o->p;
    x->u.str.len = o->n;
    return push(pk, x);
}

static int push_simple(wk_pickle *pk, wk_pv_kind kind, int b)
{
    wk_pv *x = new_node(pk, kind);
    if (!x) return -1;
    if (kind == WK_PV_BOOL) x->u.b = b;
    return push(pk, x);
}

/* Interpret one decoded opcode (not STOP). */
static int exec_op(wk_pickle *pk, const op *o)
{
    wk_pv *x;
    switch (o->code) {
    case OP_PROTO:
        if (o->u > 5) return perr(pk, WK_E_UNSUPPORTED, "pickle protocol %" PRIu64, o->u);
        pk->proto = (int)o->u;
        return 0;
    case OP_FRAME: return 0; /* a buffering hint; length checked by read_op */
    case OP_MARK:
        if (pk->n_marks == WK_PICKLE_MAX_DEPTH)
            return perr(pk, WK_E_LIMIT, "MARKs nested deeper than %d", WK_PICKLE_MAX_DEPTH);
        pk->marks[pk->n_marks++] = pk->sp;
        return 0;
    case OP_EMPTY_DICT: return push(pk, new_node(pk, WK_PV_DICT));
    case OP_EMPTY_LIST: return push(pk, new_node(pk, WK_PV_LIST));
    case OP_EMPTY_TUPLE: return push(pk, new_node(pk, WK_PV_TUPLE));
    case OP_NONE: return push_simple(pk, WK_PV_NONE, 0);
    case OP_NEWTRUE: return push_simple(pk, WK_PV_BOOL, 1);
    case OP_NEWFALSE: return push_simple(pk, WK_PV_BOOL, 0);
    case OP_BININT: return push_int(pk, o->i);
    case OP_BININT1:
    case OP_BININT2: return push_int(pk, (int64_t)o->u);
    case OP_LONG1:
    case OP_LONG4:
        if (o->n <= 8) return push_int(pk, decode_long(o->p, o->n));
        return push_str(pk, WK_PV_BIGINT, o);
    case OP_BINFLOAT:
        x = new_node(pk, WK_PV_FLOAT);
        if (!x) return -1;
        x->u.f = o->f;
        return push(pk, x);
    case OP_BINUNICODE:
    case OP_SHORT_BINUNICODE:
    case OP_BINUNICODE8:
    case OP_BINSTRING:
    case OP_SHORT_BINSTRING: return push_str(pk, WK_PV_STR, o);
    case OP_BINBYTES:
    case OP_SHORT_BINBYTES:
    case OP_BINBYTES8: return push_str(pk, WK_PV_BYTES, o);
    case OP_TUPLE: {
        size_t base = 0;
        if (pop_mark(pk, "TUPLE", &base)) return -1;
        return make_tuple(pk, base);
    }
    case OP_TUPLE1: return tuple_n(pk, 1);
    case OP_TUPLE2: return tuple_n(pk, 2);
    case OP_TUPLE3: return tuple_n(pk, 3);
    case OP_APPEND: return add_one(pk, 1);
    case OP_APPENDS: return add_marked(pk, 1);
    case OP_SETITEM: return add_one(pk, 0);
    case OP_SETITEMS: return add_marked(pk, 0);
    case OP_BINPUT:
    case OP_LONG_BINPUT: return memo_put(pk, o->u);
    case OP_MEMOIZE: return memo_put(pk, pk->memo_count);
    case OP_BINGET:
    case OP_LONG_BINGET: return memo_get(pk, o->u);
    case OP_GLOBAL: return op_global(pk, o->p, o->n, o->p2, o->n2);
    case OP_STACK_GLOBAL: return op_stack_global(pk);
    case OP_REDUCE: return op_reduce(pk);
    case OP_BUILD: return op_build(pk);
    case OP_BINPERSID: return op_persid(pk);
    }
    return perr(pk, WK_E_INTERNAL, "opcode %s has no handler", o->info->name);
}

static int refuse_op(wk_pickle *pk, const op *o)
{
    if (o->info->policy == P_UNSAFE)
        return perr(pk, WK_E_UNSAFE, "refusing opcode %s (0x%02x): it imports or instantiates objects",
                    o->info->name, o->code);
    return perr(pk, WK_E_UNSUPPORTED, "opcode %s (0x%02x) is not used by tensor checkpoints",
                o->info->name, o->code);
}

static int run(wk_pickle *pk)
{
    wk_cur c = wk_cur_make(pk->data, pk->len, 0);
    for (;;) {
        op o;
        if (read_op(&c, &o, pk->name, pk->err)) return -1;
        pk->pos = o.pos;
        if (o.info->policy != P_OK) return refuse_op(pk, &o);
        if (o.code == OP_STOP) break;
        if (exec_op(pk, &o)) return -1;
    }
    if (pk->n_marks)
        return perr(pk, WK_E_FORMAT, "STOP with %zu unclosed MARK(s)", pk->n_marks);
    if (pk->sp != 1)
        return perr(pk, WK_E_FORMAT, "STOP with %zu values on the stack (expected 1)", pk->sp);
    if (wk_cur_left(&c))
        return wk_err_set(pk->err, WK_E_FORMAT, "%s: byte %" PRIu64 ": %zu bytes after STOP",
                          pk->name, wk_cur_pos(&c), wk_cur_left(&c));
    pk->root = pk->stack[0];
    return 0;
}

wk_pickle *wk_pickle_load(const uint8_t *data, size_t len, const char *name, wk_err *err)
{
    wk_pickle *pk = calloc(1, sizeof *pk);
    if (!pk || !(pk->name = strdup(name ? name : "pickle"))) {
        free(pk);
        wk_err_set(err, WK_E_NOMEM, "out of memory loading a pickle");
        return NULL;
    }
    pk->data = data;
    pk->len = data ? len : 0;
    /* torch.save writes about one value per 7 bytes; more than one per 2 is refused */
    pk->max_nodes = pk->len / 2 + 64;
    if (pk->max_nodes > WK_PICKLE_MAX_VALUES) pk->max_nodes = WK_PICKLE_MAX_VALUES;
    pk->err = err;
    int rc = run(pk);
    free(pk->stack);
    free(pk->memo);
    pk->stack = NULL;
    pk->memo = NULL;
    pk->err = NULL;
    if (rc) {
        wk_pickle_free(pk);
        return NULL;
    }
    return pk;
}

const wk_pv *wk_pickle_root(const wk_pickle *pk) { return pk->root; }
int wk_pickle_protocol(const wk_pickle *pk) { return pk->proto; }
size_t wk_pickle_value_count(const wk_pickle *pk) { return pk->n_nodes; }

void wk_pickle_free(wk_pickle *pk)
{
    if (!pk) return;
    node_block *b = pk->blocks;
    while (b) {
        node_block *next = b->next;
        for (size_t i = 0; i < b->used; i++) {
            wk_pv_kind k = b->nodes[i].kind;
            if (k == WK_PV_TUPLE || k == WK_PV_LIST || k == WK_PV_DICT || k == WK_PV_ODICT)
                free(b->nodes[i].u.seq.items);
        }
        free(b);
        b = next;
    }
    free(pk->stack);
    free(pk->memo);
    free(pk->name);
    free(pk);
}

const char *wk_pv_kind_name(wk_pv_kind k)
{
    switch (k) {
    case WK_PV_NONE: return "None";
    case WK_PV_BOOL: return "bool";
    case WK_PV_INT: return "int";
    case WK_PV_BIGINT: return "big int";
    case WK_PV_FLOAT: return "float";
    case WK_PV_STR: return "str";
    case WK_PV_BYTES: return "bytes";
    case WK_PV_TUPLE: return "tuple";
    case WK_PV_LIST: return "list";
    case WK_PV_DICT: return "dict";
    case WK_PV_ODICT: return "OrderedDict";
    case WK_PV_GLOBAL: return "global";
    case WK_PV_STORAGE: return "storage";
    case WK_PV_TENSOR: return "tensor";
    }
    return "?";
}

/* ---- flattening ---------------------------------------------------------- */

typedef struct {
    wk_pickle_tensor_fn fn;
    void *ctx;
    wk_err *err;
    char *name;            /* current dotted path, NUL-terminated */
    size_t nlen, ncap;
    unsigned ncomp;        /* components in the path (a key may be "") */
    uint64_t visits, max_visits;
    uint64_t name_bytes, max_name_bytes;
    size_t n_other;
    const char *pkname;
} walker;

static int walk_limit(walker *w, const wk_pv *v, unsigned depth)
{
    if (++w->visits > w->max_visits)
        return wk_err_set(w->err, WK_E_LIMIT,
                          "%s: byte %" PRIu64 ": value graph too large (more than %" PRIu64
                          " visits through shared references)", w->pkname, v->offset, w->max_visits);
    if (depth > WK_PICKLE_MAX_DEPTH)
        return wk_err_set(w->err, WK_E_LIMIT,
                          "%s: byte %" PRIu64 ": values nested deeper than %d levels (or cyclic)",
                          w->pkname, v->offset, WK_PICKLE_MAX_DEPTH);
    return 0;
}

static int is_seq(const wk_pv *v)
{
    return v->kind == WK_PV_TUPLE || v->kind == WK_PV_LIST || v->kind == WK_PV_DICT ||
           v->kind == WK_PV_ODICT;
}

/* 1 if a tensor is reachable from v, 0 if not, -1 on a limit. */
static int has_tensor(walker *w, const wk_pv *v, unsigned depth)
{
    if (walk_limit(w, v, depth)) return -1;
    if (v->kind == WK_PV_TENSOR) return 1;
    if (!is_seq(v)) return 0;
    for (size_t i = 0; i < v->u.seq.n; i++) {
        int r = has_tensor(w, v->u.seq.items[i], depth + 1);
        if (r) return r;
    }
    if (v->u.seq.state) return has_tensor(w, v->u.seq.state, depth + 1);
    return 0;
}

/* Append ".comp" (or "comp" at the root) to the path; old length in *saved. */
static int name_push(walker *w, const char *comp, size_t len, uint64_t at, size_t *saved)
{
    if (memchr(comp, '\0', len))
        return wk_err_set(w->err, WK_E_UNSUPPORTED, "%s: byte %" PRIu64 ": dict key contains a NUL byte",
                          w->pkname, at);
    size_t need = w->nlen + (w->ncomp ? 1 : 0) + len;
    if (need > WK_PICKLE_MAX_NAME)
        return wk_err_set(w->err, WK_E_LIMIT, "%s: byte %" PRIu64 ": tensor name longer than %d bytes",
                          w->pkname, at, WK_PICKLE_MAX_NAME);
    if (need + 1 > w->ncap) {
        size_t cap = w->ncap ? w->ncap : 256;
        while (cap < need + 1) cap *= 2;
        char *p = realloc(w->name, cap);
        if (!p) return wk_err_set(w->err, WK_E_NOMEM, "out of memory");
        w->name = p;
        w->ncap = cap;
    }
    *saved = w->nlen;
    if (w->ncomp) w->name[w->nlen++] = '.';
    w->ncomp++;
    memcpy(w->name + w->nlen, comp, len);
    w->nlen += len;
    w->name[w->nlen] = '\0';
    return 0;
}

static int walk(walker *w, const wk_pv *v, unsigned depth);

static int walk_child(walker *w, const char *comp, size_t len, const wk_pv *child, unsigned depth)
{
    size_t saved = 0;
    if (name_push(w, comp, len, child->offset, &saved)) return -1;
    int rc = walk(w, child, depth + 1);
    w->ncomp--;
    w->nlen = saved;
    if (w->name) w->name[saved] = '\0';
    return rc;
}

static int walk_dict(walker *w, const wk_pv *d, unsigned depth)
{
    if (d->u.seq.state) {
        int r = has_tensor(w, d->u.seq.state, depth + 1);
        if (r < 0) return -1;
        if (r)
            return wk_err_set(w->err, WK_E_UNSUPPORTED,
                              "%s: byte %" PRIu64 ": tensor inside an OrderedDict attribute (BUILD state)",
                              w->pkname, d->u.seq.state->offset);
    }
    for (size_t i = 0; i + 1 < d->u.seq.n; i += 2) {
        const wk_pv *k = d->u.seq.items[i], *val = d->u.seq.items[i + 1];
        char num[24];
        if (k->kind == WK_PV_STR) {
            if (walk_child(w, k->u.str.p, k->u.str.len, val, depth)) return -1;
        } else if (k->kind == WK_PV_INT) {
            int n = snprintf(num, sizeof num, "%" PRId64, k->u.i);
            if (walk_child(w, num, (size_t)n, val, depth)) return -1;
        } else {
            int r = has_tensor(w, val, depth + 1);
            if (r < 0) return -1;
            if (r)
                return wk_err_set(w->err, WK_E_UNSUPPORTED,
                                  "%s: byte %" PRIu64 ": tensor under a dict key of type %s",
                                  w->pkname, k->offset, wk_pv_kind_name(k->kind));
            w->n_other++;
        }
    }
    return 0;
}

static int walk(walker *w, const wk_pv *v, unsigned depth)
{
    if (walk_limit(w, v, depth)) return -1;
    switch (v->kind) {
    case WK_PV_TENSOR:
        w->name_bytes += w->nlen + 1;
        if (w->name_bytes > w->max_name_bytes)
            return wk_err_set(w->err, WK_E_LIMIT, "%s: tensor names total more than %" PRIu64 " bytes",
                              w->pkname, w->max_name_bytes);
        return w->fn(w->ctx, w->name ? w->name : "", v, w->err);
    case WK_PV_DICT:
    case WK_PV_ODICT:
        return walk_dict(w, v, depth);
    case WK_PV_LIST:
    case WK_PV_TUPLE:
        for (size_t i = 0; i < v->u.seq.n; i++) {
            char num[24];
            int n = snprintf(num, sizeof num, "%zu", i);
            if (walk_child(w, num, (size_t)n, v->u.seq.items[i], depth)) return -1;
        }
        return 0;
    default:
        w->n_other++;
        return 0;
    }
}

int wk_pickle_flatten(const wk_pickle *pk, wk_pickle_tensor_fn on_tensor, void *ctx,
                      size_t *n_other, wk_err *err)
{
    walker w = {0};
    w.fn = on_tensor;
    w.ctx = ctx;
    w.err = err;
    w.pkname = pk->name;
    w.max_visits = 16 * (uint64_t)pk->n_nodes + 1024;
    w.max_name_bytes = 16 * (uint64_t)pk->len + (1u << 20);
    int rc = pk->root ? walk(&w, pk->root, 0) : 0;
    free(w.name);
    if (n_other) *n_other = w.n_other;
    return rc;
}

/* ---- disassembler -------------------------------------------------------- */

#define DIS_MAX_INDENT 32 /* deeper MARK levels are listed without more indentation */

typedef struct { const uint8_t *p; size_t n; int is_str; } shadow;

static void dis_arg(wk_buf *out, const op *o, const shadow *sg)
{
    char a[256], b[256];
    switch (o->info->arg) {
    case A_NONE:
        if (o->code == OP_STACK_GLOBAL && sg) {
            esc(sg[0].p, sg[0].n, 80, a, sizeof a);
            esc(sg[1].p, sg[1].n, 80, b, sizeof b);
            wk_buf_printf(out, "'%s %s'", a, b);
        }
        return;
    case A_U1:
    case A_U2:
    case A_U4:
    case A_U8:
        wk_buf_printf(out, "%" PRIu64, o->u);
        return;
    case A_I4:
        wk_buf_printf(out, "%" PRId64, o->i);
        return;
    case A_F8BE:
        wk_buf_printf(out, "%.17g", o->f);
        return;
    case A_LINE2:
        esc(o->p, o->n, 80, a, sizeof a);
        esc(o->p2, o->n2, 80, b, sizeof b);
        wk_buf_printf(out, "'%s %s'", a, b);
        return;
    default:
        break;
    }
    if (o->code == OP_LONG1 || o->code == OP_LONG4) {
        if (o->n <= 8) wk_buf_printf(out, "%" PRId64, decode_long(o->p, o->n));
        else wk_buf_printf(out, "<%zu-byte integer>", o->n);
        return;
    }
    esc(o->p, o->n, 60, a, sizeof a);
    int is_bytes = o->code == OP_BINBYTES || o->code == OP_SHORT_BINBYTES ||
                   o->code == OP_BINBYTES8 || o->code == OP_BYTEARRAY8;
    wk_buf_printf(out, "%s'%s'", is_bytes ? "b" : "", a);
    if (o->n > 60) wk_buf_printf(out, " (%zu bytes)", o->n);
}

/* Listing state: MARK positions for indentation, and a shadow of the
 * strings on the stack / in the memo, so that STACK_GLOBAL can be shown with
 * the names it takes (the memo shadow is bounded by the input length). */
typedef struct {
    uint64_t marks[DIS_MAX_INDENT];
    size_t level, memo_count;
    shadow last[2];   /* the two most recent pushes (strings or unknown) */
    shadow *memo;
    size_t memo_cap, len;
    wk_buf arg;       /* scratch for one line's argument */
} dis_state;

static int pops_mark(uint8_t code)
{
    return code == OP_TUPLE || code == OP_APPENDS || code == OP_SETITEMS || code == OP_DICT ||
           code == OP_LIST || code == OP_POP_MARK || code == OP_ADDITEMS || code == OP_FROZENSET ||
           code == OP_OBJ || code == OP_INST;
}

/* Print one line: "offset: code <indent>NAME<pad> argument notes". */
static int dis_line(dis_state *ds, const op *o, wk_buf *out, wk_err *err)
{
    /* indentation as pickletools: the MARK-closing opcode is still inside */
    size_t ind = (ds->level < DIS_MAX_INDENT ? ds->level : DIS_MAX_INDENT) * 4;
    int popped = pops_mark(o->code) && ds->level;
    if (popped) ds->level--;
    char code[8];
    if (o->code >= 0x20 && o->code < 0x7f) snprintf(code, sizeof code, "%c", o->code);
    else snprintf(code, sizeof code, "\\x%02x", o->code);
    wk_buf_printf(out, "%5" PRIu64 ": %-4s %*s%s", o->pos, code, (int)ind, "", o->info->name);
    int sg_known = o->code == OP_STACK_GLOBAL && ds->last[0].is_str && ds->last[1].is_str;
    ds->arg.len = 0;
    dis_arg(&ds->arg, o, sg_known ? ds->last : NULL);
    if (popped && ds->level < DIS_MAX_INDENT)
        wk_buf_printf(&ds->arg, "%s(MARK at %" PRIu64 ")", ds->arg.len ? " " : "", ds->marks[ds->level]);
    if (o->code == OP_MEMOIZE) wk_buf_printf(&ds->arg, "(as %zu)", ds->memo_count);
    if (wk_buf_check(&ds->arg, err)) return -1;
    if (ds->arg.len) {
        size_t nl = strlen(o->info->name);
        wk_buf_printf(out, "%*s %.*s", nl < 10 ? (int)(10 - nl) : 0, "", (int)ds->arg.len,
                      (const char *)ds->arg.data);
    }
    wk_pglobal wg;
    wk_dtype wd;
    if ((o->code == OP_GLOBAL && global_lookup(o->p, o->n, o->p2, o->n2, &wg, &wd)) ||
        (o->code == OP_STACK_GLOBAL &&
         (!sg_known || global_lookup(ds->last[0].p, ds->last[0].n, ds->last[1].p, ds->last[1].n, &wg, &wd))))
        wk_buf_puts(out, "  <-- REFUSED");
    if (o->info->policy != P_OK) wk_buf_puts(out, "  <-- not accepted");
    wk_buf_putc(out, '\n');
    if (o->code == OP_MARK) {
        if (ds->level < DIS_MAX_INDENT) ds->marks[ds->level] = o->pos;
        ds->level++;
    }
    return 0;
}

/* Update the string shadow after o. */
static int dis_track(dis_state *ds, const op *o, wk_err *err)
{
    shadow pushed = {0};
    switch (o->code) {
    case OP_BINUNICODE: case OP_SHORT_BINUNICODE: case OP_BINUNICODE8:
    case OP_BINSTRING: case OP_SHORT_BINSTRING:
        pushed = (shadow){o->p, o->n, 1};
        break;
    case OP_BINGET: case OP_LONG_BINGET:
        if (o->u < ds->memo_cap) pushed = ds->memo[o->u];
        break;
    case OP_BINPUT: case OP_LONG_BINPUT: case OP_MEMOIZE: {
        uint64_t idx = o->code == OP_MEMOIZE ? ds->memo_count : o->u;
        /* shadowed only near the dense numbering (the loader's rule): at most ~4 slots per PUT */
        if (idx < 2 * (uint64_t)ds->memo_count + 64) {
            if (idx >= ds->memo_cap) {
                size_t cap = ds->memo_cap ? ds->memo_cap : 64;
                while (cap <= idx) cap *= 2;
                shadow *m = realloc(ds->memo, cap * sizeof *m);
                if (!m) return wk_err_set(err, WK_E_NOMEM, "out of memory");
                memset(m + ds->memo_cap, 0, (cap - ds->memo_cap) * sizeof *m);
                ds->memo = m;
                ds->memo_cap = cap;
            }
            ds->memo[idx] = ds->last[1];
        }
        if (idx == ds->memo_count) ds->memo_count++;
        return 0; /* PUTs push nothing */
    }
    case OP_FRAME:
    case OP_PROTO:
        return 0;
    default:
        break;
    }
    ds->last[0] = ds->last[1];
    ds->last[1] = pushed;
    return 0;
}

int wk_pickle_disasm(const uint8_t *data, size_t len, const char *name, wk_buf *out, wk_err *err)
{
    if (!name) name = "pickle";
    wk_cur c = wk_cur_make(data, data ? len : 0, 0);
    dis_state ds;
    memset(&ds, 0, sizeof ds);
    ds.len = c.len;
    int rc = -1;
    size_t start = out->len;
    int cut = 0;
    for (;;) {
        op o;
        WK_TRY_GOTO(read_op(&c, &o, name, err) || dis_line(&ds, &o, out, err) || dis_track(&ds, &o, err),
                    done);
        if (o.code == OP_STOP) break;
        if (out->len - start > WK_PICKLE_DISASM_MAX) {
            wk_buf_printf(out, "(listing cut after %zu bytes, at byte %zu of %zu: longer than any "
                          "checkpoint's)\n", out->len - start, wk_cur_pos(&c), c.len);
            cut = 1;
            break;
        }
    }
    if (!cut && wk_cur_left(&c)) wk_buf_printf(out, "(%zu bytes after STOP)\n", wk_cur_left(&c));
    WK_TRY_GOTO(wk_buf_check(out, err), done);
    rc = 0;
done:
    free(ds.memo);
    wk_buf_free(&ds.arg);
    return rc;
}
