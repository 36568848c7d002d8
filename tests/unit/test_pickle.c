/* test_pickle.c — the restricted unpickler on hand-built pickles: valid
 * tensor checkpoints in protocol 2 and 4 forms, and hostile or malformed
 * inputs, each of which must fail cleanly with the right code and a message
 * naming the byte offset (run under ASan/UBSan in the sanitizer build). */
#include "wk_test.h"

#include <stdlib.h>

#include "wk_buf.h"
#include "wk_pickle.h"

/* ---- a tiny pickle builder --------------------------------------------- */

static void op(wk_buf *b, uint8_t c) { wk_buf_putc(b, c); }

static void ustr(wk_buf *b, const char *s) /* BINUNICODE */
{
    op(b, 'X');
    wk_buf_le32(b, (uint32_t)strlen(s));
    wk_buf_puts(b, s);
}

static void sstr(wk_buf *b, const char *s) /* SHORT_BINUNICODE (protocol 4) */
{
    op(b, 0x8c);
    op(b, (uint8_t)strlen(s));
    wk_buf_puts(b, s);
}

static void global(wk_buf *b, const char *mod, const char *name)
{
    op(b, 'c');
    wk_buf_puts(b, mod);
    op(b, '\n');
    wk_buf_puts(b, name);
    op(b, '\n');
}

static void stack_global(wk_buf *b, const char *mod, const char *name)
{
    sstr(b, mod);
    op(b, 0x94);
    sstr(b, name);
    op(b, 0x94);
    op(b, 0x93);
}

static void pint(wk_buf *b, int64_t v)
{
    if (v >= 0 && v < 256) {
        op(b, 'K');
        op(b, (uint8_t)v);
    } else if (v >= 0 && v < 65536) {
        op(b, 'M');
        wk_buf_le16(b, (uint16_t)v);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        op(b, 'J');
        wk_buf_le32(b, (uint32_t)(int32_t)v);
    } else {
        op(b, 0x8a);
        op(b, 8);
        wk_buf_le64(b, (uint64_t)v);
    }
}

static void int_tuple(wk_buf *b, const int64_t *v, int n)
{
    if (n == 0) {
        op(b, ')');
        return;
    }
    op(b, '(');
    for (int i = 0; i < n; i++) pint(b, v[i]);
    op(b, 't');
}

typedef struct {
    const char *storage_cls;
    const char *key;
    int64_t numel, offset;
    int ndim;
    int64_t shape[4], stride[4];
    int proto4;
} tspec;

/* _rebuild_tensor_v2((storage pid), offset, size, stride, False, OrderedDict()) */
static void tensor(wk_buf *b, const tspec *t)
{
    if (t->proto4) stack_global(b, "torch._utils", "_rebuild_tensor_v2");
    else global(b, "torch._utils", "_rebuild_tensor_v2");
    op(b, '(');
    op(b, '(');
    if (t->proto4) {
        sstr(b, "storage");
        stack_global(b, "torch", t->storage_cls);
        sstr(b, t->key);
        sstr(b, "cpu");
    } else {
        ustr(b, "storage");
        global(b, "torch", t->storage_cls);
        ustr(b, t->key);
        ustr(b, "cpu");
    }
    pint(b, t->numel);
    op(b, 't');
    op(b, 'Q');
    pint(b, t->offset);
    int_tuple(b, t->shape, t->ndim);
    int_tuple(b, t->stride, t->ndim);
    op(b, 0x89);
    global(b, "collections", "OrderedDict");
    op(b, ')');
    op(b, 'R');
    op(b, 't');
    op(b, 'R');
}

static const tspec k_t0 = {"FloatStorage", "0", 6, 0, 2, {2, 3}, {3, 1}, 0};
static const tspec k_t1 = {"HalfStorage", "1", 4, 1, 1, {3}, {1}, 0};

/* ---- flatten collector ---------------------------------------------------- */

typedef struct {
    int n;
    char names[16][64];
    const wk_pv *t[16];
} seen;

static int collect(void *ctx, const char *name, const wk_pv *t, wk_err *err)
{
    (void)err;
    seen *s = ctx;
    if (s->n < 16) {
        snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
        s->t[s->n] = t;
    }
    s->n++;
    return 0;
}

static wk_pickle *load(const wk_buf *b, wk_err *err)
{
    wk_err_clear(err);
    return wk_pickle_load(b->data, b->len, "data.pkl", err);
}

/* Load must fail with code and a message containing want (and "byte "). */
static void expect_fail(const wk_buf *b, wk_code code, const char *want, const char *what)
{
    wk_err err;
    wk_pickle *pk = load(b, &err);
    CHECK_MSG(pk == NULL, "%s: load should fail", what);
    wk_pickle_free(pk);
    CHECK_MSG(err.code == code, "%s: code %s, expected %s (%s)", what, wk_err_code_name(err.code),
              wk_err_code_name(code), err.msg);
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err.msg, want);
    CHECK_MSG(strncmp(err.msg, "data.pkl: byte ", 15) == 0, "%s: message \"%s\" has no offset", what,
              err.msg);
}

/* ---- valid pickles ---------------------------------------------------------- */

static void test_tensor_dict(void)
{
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    op(&b, '}');
    op(&b, 'q'); op(&b, 0);
    op(&b, '(');
    ustr(&b, "w"); tensor(&b, &k_t0);
    ustr(&b, "h"); tensor(&b, &k_t1);
    op(&b, 'u');
    op(&b, '.');
    wk_err err;
    wk_pickle *pk = load(&b, &err);
    CHECK_MSG(pk != NULL, "load: %s", err.msg);
    if (pk) {
        const wk_pv *r = wk_pickle_root(pk);
        CHECK(r->kind == WK_PV_DICT);
        CHECK_EQ_U64(r->u.seq.n, 4);
        CHECK_EQ_U64(wk_pickle_protocol(pk), 2);
        seen s = {0};
        size_t other = 99;
        CHECK_OK(wk_pickle_flatten(pk, collect, &s, &other, &err), &err);
        CHECK_EQ_U64(s.n, 2);
        CHECK_EQ_U64(other, 0);
        CHECK_EQ_STR(s.names[0], "w");
        CHECK_EQ_STR(s.names[1], "h");
        const wk_pv *t = s.t[0];
        CHECK(t->kind == WK_PV_TENSOR);
        CHECK_EQ_U64(t->u.tensor.ndim, 2);
        CHECK_EQ_U64(t->u.tensor.shape[0], 2);
        CHECK_EQ_U64(t->u.tensor.shape[1], 3);
        CHECK_EQ_U64(t->u.tensor.stride[0], 3);
        CHECK_EQ_U64(t->u.tensor.stride[1], 1);
        CHECK_EQ_U64(t->u.tensor.storage_offset, 0);
        CHECK(!t->u.tensor.requires_grad && !t->u.tensor.is_parameter);
        const wk_pv *st = t->u.tensor.storage;
        CHECK(st->u.storage.dtype == WK_DT_F32);
        CHECK(st->u.storage.key_len == 1 && st->u.storage.key[0] == '0');
        CHECK(st->u.storage.location_len == 3 && !memcmp(st->u.storage.location, "cpu", 3));
        CHECK_EQ_U64(st->u.storage.numel, 6);
        t = s.t[1];
        CHECK(t->u.tensor.storage->u.storage.dtype == WK_DT_F16);
        CHECK_EQ_U64(t->u.tensor.storage_offset, 1);
        CHECK_EQ_U64(t->u.tensor.ndim, 1);
    }
    wk_pickle_free(pk);
    wk_buf_free(&b);
}

static void test_nested_and_other_leaves(void)
{
    /* {"model": {"a": t0, "n": {"b": t1}}, "epoch": 3, "name": "x", "l": [t0, 1.5, None],
     *  7: t1, "big": <9-byte LONG1>} */
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    op(&b, '}');
    op(&b, '(');
    ustr(&b, "model");
    op(&b, '}');
    op(&b, '(');
    ustr(&b, "a"); tensor(&b, &k_t0);
    ustr(&b, "n"); op(&b, '}'); ustr(&b, "b"); tensor(&b, &k_t1); op(&b, 's');
    op(&b, 'u');
    ustr(&b, "epoch"); pint(&b, 3);
    ustr(&b, "name"); ustr(&b, "x");
    ustr(&b, "l");
    op(&b, ']');
    op(&b, '(');
    tensor(&b, &k_t0);
    op(&b, 'G'); wk_buf_put(&b, "\x3f\xf8\0\0\0\0\0\0", 8); /* 1.5 big-endian */
    op(&b, 'N');
    op(&b, 'e');
    pint(&b, 7); tensor(&b, &k_t1);
    ustr(&b, "big"); op(&b, 0x8a); op(&b, 9); wk_buf_put(&b, "\1\2\3\4\5\6\7\x08\x09", 9);
    op(&b, 'u');
    op(&b, '.');
    wk_err err;
    wk_pickle *pk = load(&b, &err);
    CHECK_MSG(pk != NULL, "load: %s", err.msg);
    if (pk) {
        seen s = {0};
        size_t other = 0;
        CHECK_OK(wk_pickle_flatten(pk, collect, &s, &other, &err), &err);
        CHECK_EQ_U64(s.n, 4);
        CHECK_EQ_STR(s.names[0], "model.a");
        CHECK_EQ_STR(s.names[1], "model.n.b");
        CHECK_EQ_STR(s.names[2], "l.0");
        CHECK_EQ_STR(s.names[3], "7");
        CHECK_EQ_U64(other, 5);        /* 3, "x", 1.5, None, big int */
    }
    wk_pickle_free(pk);
    wk_buf_free(&b);
}

static void test_ordered_dict_metadata_and_parameter(void)
{
    /* OrderedDict() with items, BUILD {'_metadata': OrderedDict({'': {'version': 1}})},
     * plus a _rebuild_parameter wrapper, memoized globals reused with BINGET. */
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    global(&b, "collections", "OrderedDict");
    op(&b, 'q'); op(&b, 0);
    op(&b, ')'); op(&b, 'R');
    op(&b, 'q'); op(&b, 1);
    op(&b, '(');
    ustr(&b, "weight"); tensor(&b, &k_t0);
    ustr(&b, "p");
    global(&b, "torch._utils", "_rebuild_parameter");
    op(&b, '(');
    tensor(&b, &k_t1);
    op(&b, 0x88);
    op(&b, 'h'); op(&b, 0); op(&b, ')'); op(&b, 'R');
    op(&b, 't');
    op(&b, 'R');
    op(&b, 'u');
    op(&b, '}');
    ustr(&b, "_metadata");
    op(&b, 'h'); op(&b, 0); op(&b, ')'); op(&b, 'R');
    ustr(&b, "");
    op(&b, '}'); ustr(&b, "version"); pint(&b, 1); op(&b, 's');
    op(&b, 's');
    op(&b, 's');
    op(&b, 'b');
    op(&b, '.');
    wk_err err;
    wk_pickle *pk = load(&b, &err);
    CHECK_MSG(pk != NULL, "load: %s", err.msg);
    if (pk) {
        const wk_pv *r = wk_pickle_root(pk);
        CHECK(r->kind == WK_PV_ODICT);
        CHECK(r->u.seq.state != NULL && r->u.seq.state->kind == WK_PV_DICT);
        seen s = {0};
        size_t other = 0;
        CHECK_OK(wk_pickle_flatten(pk, collect, &s, &other, &err), &err);
        CHECK_EQ_U64(s.n, 2);
        CHECK_EQ_U64(other, 0); /* BUILD state is not walked */
        CHECK_EQ_STR(s.names[1], "p");
        CHECK(s.t[1]->u.tensor.is_parameter && s.t[1]->u.tensor.requires_grad);
        CHECK(s.t[1]->u.tensor.storage->u.storage.dtype == WK_DT_F16);
    }
    wk_pickle_free(pk);
    wk_buf_free(&b);
}

static void test_protocol4_forms(void)
{
    /* PROTO 4, FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, BINGET of memoized parts */
    wk_buf body = {0};
    stack_global(&body, "collections", "OrderedDict"); /* memo 0, 1 */
    op(&body, 0x94);                                   /* memo 2 = class */
    op(&body, ')'); op(&body, 'R'); op(&body, 0x94);   /* memo 3 = dict */
    op(&body, '(');
    sstr(&body, "a"); op(&body, 0x94);
    tspec t = k_t0;
    t.proto4 = 1;
    tensor(&body, &t);
    sstr(&body, "b");
    t.key = "1";
    t.storage_cls = "BFloat16Storage";
    tensor(&body, &t);
    op(&body, 'u');
    op(&body, '.');
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 4);
    op(&b, 0x95); wk_buf_le64(&b, body.len);
    wk_buf_put(&b, body.data, body.len);
    wk_err err;
    wk_pickle *pk = load(&b, &err);
    CHECK_MSG(pk != NULL, "load: %s", err.msg);
    if (pk) {
        CHECK_EQ_U64(wk_pickle_protocol(pk), 4);
        seen s = {0};
        CHECK_OK(wk_pickle_flatten(pk, collect, &s, NULL, &err), &err);
        CHECK_EQ_U64(s.n, 2);
        CHECK_EQ_STR(s.names[0], "a");
        CHECK_EQ_STR(s.names[1], "b");
        CHECK(s.t[1]->u.tensor.storage->u.storage.dtype == WK_DT_BF16);
    }
    wk_pickle_free(pk);
    /* disassembly names the STACK_GLOBAL target and marks nothing refused */
    wk_buf d = {0};
    CHECK_OK(wk_pickle_disasm(b.data, b.len, "data.pkl", &d, &err), &err);
    wk_buf_putc(&d, 0);
    CHECK(strstr((char *)d.data, "STACK_GLOBAL 'collections OrderedDict'") != NULL);
    CHECK(strstr((char *)d.data, "FRAME") != NULL);
    CHECK(strstr((char *)d.data, "MEMOIZE    (as 0)") != NULL);
    CHECK(strstr((char *)d.data, "REFUSED") == NULL);
    wk_buf_free(&d);
    wk_buf_free(&b);
    wk_buf_free(&body);
}

static void test_bininput_variants(void)
{
    /* BININT negative, BININT2, LONG1 negative, LONG4 short, BINSTRING/SHORT_BINSTRING,
     * BINBYTES, BINUNICODE8, LONG_BINPUT/LONG_BINGET, NEWTRUE in a tuple */
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    op(&b, ']');
    op(&b, '(');
    op(&b, 'J'); wk_buf_le32(&b, (uint32_t)-5);
    op(&b, 'M'); wk_buf_le16(&b, 1000);
    op(&b, 0x8a); op(&b, 2); op(&b, 0x00); op(&b, 0xff);          /* -256 */
    op(&b, 0x8b); wk_buf_le32(&b, 1); op(&b, 0x7f);                /* 127 */
    op(&b, 'T'); wk_buf_le32(&b, 2); wk_buf_puts(&b, "py");
    op(&b, 'U'); op(&b, 2); wk_buf_puts(&b, "p2");
    op(&b, 'C'); op(&b, 3); wk_buf_puts(&b, "\x01\x02\x03");
    op(&b, 0x8d); wk_buf_le64(&b, 2); wk_buf_puts(&b, "u8");
    op(&b, 'r'); wk_buf_le32(&b, 40);
    op(&b, 'j'); wk_buf_le32(&b, 40);
    op(&b, 0x88); op(&b, 0x85);
    op(&b, 'e');
    op(&b, '.');
    wk_err err;
    wk_pickle *pk = load(&b, &err);
    CHECK_MSG(pk != NULL, "load: %s", err.msg);
    if (pk) {
        const wk_pv *l = wk_pickle_root(pk);
        CHECK(l->kind == WK_PV_LIST);
        CHECK_EQ_U64(l->u.seq.n, 10);
        if (l->u.seq.n == 10) {
            CHECK(l->u.seq.items[0]->u.i == -5);
            CHECK(l->u.seq.items[1]->u.i == 1000);
            CHECK(l->u.seq.items[2]->u.i == -256);
            CHECK(l->u.seq.items[3]->u.i == 127);
            CHECK(l->u.seq.items[4]->kind == WK_PV_STR);
            CHECK(l->u.seq.items[6]->kind == WK_PV_BYTES);
            CHECK(l->u.seq.items[7]->kind == WK_PV_STR && l->u.seq.items[7]->u.str.len == 2);
            CHECK(l->u.seq.items[8] == l->u.seq.items[7]); /* LONG_BINGET of the same value */
            CHECK(l->u.seq.items[9]->kind == WK_PV_TUPLE);
        }
    }
    wk_pickle_free(pk);
    wk_buf_free(&b);
}

/* ---- hostile pickles ------------------------------------------------------------ */

static void hostile_global(const char *mod, const char *name, int stack)
{
    wk_buf b = {0};
    op(&b, 0x80); op(&b, stack ? 4 : 2);
    if (stack) stack_global(&b, mod, name);
    else global(&b, mod, name);
    ustr(&b, "touch /tmp/PWNED");
    op(&b, 0x85);
    op(&b, 'R');
    op(&b, '.');
    char want[160], what[160];
    snprintf(want, sizeof want, "refusing global '%s.%s' (not a tensor checkpoint global)", mod, name);
    snprintf(what, sizeof what, "%s %s.%s", stack ? "STACK_GLOBAL" : "GLOBAL", mod, name);
    expect_fail(&b, WK_E_UNSAFE, want, what);
    /* the offset is the global opcode's */
    wk_err err;
    load(&b, &err);
    char at[32];
    snprintf(at, sizeof at, "byte %zu:", stack ? 2 + 2 + strlen(mod) + 1 + 2 + strlen(name) + 1 : (size_t)2);
    CHECK_MSG(strstr(err.msg, at) != NULL, "%s: offset %s in \"%s\"", what, at, err.msg);
    /* the disassembler lists it and marks it */
    wk_buf d = {0};
    CHECK_OK(wk_pickle_disasm(b.data, b.len, "data.pkl", &d, &err), &err);
    wk_buf_putc(&d, 0);
    CHECK_MSG(strstr((char *)d.data, "REFUSED") != NULL, "%s: disasm does not mark it:\n%s", what,
              (char *)d.data);
    wk_buf_free(&d);
    wk_buf_free(&b);
}

static void test_hostile_globals(void)
{
    hostile_global("os", "system", 0);
    hostile_global("os", "system", 1);
    hostile_global("posix", "system", 0);
    hostile_global("builtins", "eval", 0);
    hostile_global("builtins", "exec", 1);
    hostile_global("subprocess", "Popen", 0);
    hostile_global("__main__", "Evil", 0);        /* __reduce__ of an unknown class */
    hostile_global("torch", "load", 0);           /* torch module, not allow-listed */
    hostile_global("torch._utils", "_rebuild_device_tensor_from_numpy", 1);
    hostile_global("torch", "UntypedStorage", 0);
    hostile_global("collections", "OrderedDictX", 0);
}

static void test_hostile_global_in_tensor_position(void)
{
    /* a valid-looking checkpoint whose second value hides os.system */
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    op(&b, '}');
    op(&b, '(');
    ustr(&b, "w"); tensor(&b, &k_t0);
    ustr(&b, "x");
    size_t at = b.len;
    global(&b, "os", "system");
    ustr(&b, "id"); op(&b, 0x85); op(&b, 'R');
    op(&b, 'u');
    op(&b, '.');
    char want[64];
    snprintf(want, sizeof want, "byte %zu: refusing global 'os.system'", at);
    expect_fail(&b, WK_E_UNSAFE, want, "hidden os.system");
    wk_buf_free(&b);
}

#define B(lit) lit, sizeof(lit) - 1

static void test_hostile_opcodes(void)
{
    struct { const char *bytes; size_t n; wk_code code; const char *want; } cases[] = {
        {B("\x80\x02\xff."), WK_E_FORMAT, "byte 2: unknown opcode 0xff"},
        {B("\x80\x02h\x05."), WK_E_FORMAT, "memo index 5 not defined"},
        {B("\x80\x02N" "r\xff\xff\xff\xff."), WK_E_FORMAT, "memo index 4294967295 out of range"},
        {B("\x80\x02" "a."), WK_E_FORMAT, "stack underflow"},
        {B("\x80\x02N\x86."), WK_E_FORMAT, "stack underflow"},
        {B("\x80\x02" "."), WK_E_FORMAT, "STOP with 0 values"},
        {B("\x80\x02N(0."), WK_E_UNSUPPORTED, "POP"},
        {B("\x80\x02]N(e."), WK_E_UNSUPPORTED, "APPEND on a None"},
        {B("\x80\x02Nt."), WK_E_FORMAT, "TUPLE without a matching MARK"},
        {B("\x80\x02}u."), WK_E_FORMAT, "SETITEMS without a matching MARK"},
        {B("\x80\x02(N."), WK_E_FORMAT, "unclosed MARK"},
        {B("\x80\x02(a."), WK_E_FORMAT, "stack underflow"},          /* pop below the MARK */
        {B("\x80\x02}(N" "u."), WK_E_FORMAT, "odd number"},
        {B("\x80\x02N" "N."), WK_E_FORMAT, "2 values on the stack"},
        {B("\x80\x02N.junk"), WK_E_FORMAT, "4 bytes after STOP"},
        {B("\x80\x06N."), WK_E_UNSUPPORTED, "protocol 6"},
        {B("\x80\x02N)\x81."), WK_E_UNSAFE, "NEWOBJ"},
        {B("\x80\x02(io\nsystem\n."), WK_E_UNSAFE, "INST"},
        {B("\x80\x02(No."), WK_E_UNSAFE, "OBJ"},
        {B("\x80\x02\x82\x01."), WK_E_UNSAFE, "EXT1"},
        {B("\x80\x02P1\n."), WK_E_UNSUPPORTED, "PERSID"},
        {B("\x80\x02}N)R."), WK_E_UNSAFE, "REDUCE on a None"},
        {B("\x80\x02}N)b."), WK_E_UNSUPPORTED, "BUILD on a None"},
        {B("\x80\x02}}b."), WK_E_UNSUPPORTED, "BUILD on a dict"},
        {B("\x80\x02N)N."), WK_E_FORMAT, "3 values"},
        {B("\x80\x02NQ."), WK_E_UNSUPPORTED, "persistent id"},
        {B("\x80\x02X\xff\xff\xff\xff"), WK_E_FORMAT, "BINUNICODE length 4294967295 exceeds the 0 bytes left"},
        {B("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\x7f" "ab"), WK_E_FORMAT, "exceeds the 2 bytes left"},
        {B("\x80\x02\x8b\x00\x00\x00\x80" "abcd."), WK_E_FORMAT, "LONG4 length 2147483648 exceeds"},
        {B("\x80\x02T\xff\xff\xff\xff"), WK_E_FORMAT, "negative length"},
        {B("\x80\x02X\x02\x00\x00\x00\xc3\x28."), WK_E_FORMAT, "not valid UTF-8"},
        {B("\x80\x02X\x03\x00\x00\x00\xed\xa0\x80."), WK_E_FORMAT, "not valid UTF-8"}, /* surrogate */
        {B("\x80\x02\x95\xff\x00\x00\x00\x00\x00\x00\x00N."), WK_E_FORMAT, "FRAME of 255 bytes"},
        {B("\x80\x02" "ctorch\nsystem"), WK_E_FORMAT, "truncated GLOBAL"},
        {B("\x80\x02" "K"), WK_E_FORMAT, "truncated BININT1"},
        {B(""), WK_E_FORMAT, "byte 0: truncated: end of data before STOP"},
        {B("\x80\x02N"), WK_E_FORMAT, "byte 3: truncated"},
        {B("\x80\x02" "ctorch\nFloatStorage\n)R."), WK_E_UNSUPPORTED, "calling torch.FloatStorage"},
        {B("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n)R."), WK_E_FORMAT, "takes 6 or 7 arguments, got 0"},
        {B("\x80\x02" "ctorch._utils\n_rebuild_parameter\n(NNNt" "R."), WK_E_FORMAT, "argument 1 of torch._utils._rebuild_parameter must be a tensor"},
        {B("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R."), WK_E_FORMAT, "OrderedDict takes"},
        {B("\x80\x02" "ctorch\nSize\n(K\x01K\x02t\x85R."), WK_E_FORMAT, ""},
        {B("\x80\x02]NN" "s."), WK_E_UNSUPPORTED, "SETITEM on a list"},
        {B("\x80\x02}]N" "s."), WK_E_FORMAT, "unhashable dict key (a list)"},
        {B("\x80\x02}(}Nu."), WK_E_FORMAT, "unhashable dict key (a dict)"},
        {B("\x80\x02)N" "a."), WK_E_UNSUPPORTED, "APPEND on a tuple"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wk_buf b = {0};
        wk_buf_put(&b, cases[i].bytes, cases[i].n);
        char what[32];
        snprintf(what, sizeof what, "case %zu", i);
        if (i == 41) {
            /* torch.Size((1, 2)) is valid */
            wk_err err;
            wk_pickle *pk = load(&b, &err);
            CHECK_MSG(pk != NULL, "torch.Size: %s", err.msg);
            if (pk) CHECK(wk_pickle_root(pk)->kind == WK_PV_TUPLE && wk_pickle_root(pk)->u.seq.n == 2);
            wk_pickle_free(pk);
        } else {
            expect_fail(&b, cases[i].code, cases[i].want, what);
        }
        wk_buf_free(&b);
    }
}

static void test_tensor_argument_checks(void)
{
    /* size/stride of different lengths; 9 dimensions; non-empty metadata */
    tspec t = k_t0;
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    global(&b, "torch._utils", "_rebuild_tensor_v2");
    op(&b, '('); op(&b, '(');
    ustr(&b, "storage"); global(&b, "torch", "FloatStorage"); ustr(&b, "0"); ustr(&b, "cpu"); pint(&b, 6);
    op(&b, 't'); op(&b, 'Q');
    pint(&b, 0);
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    int_tuple(&b, nine, 9);
    int_tuple(&b, nine, 9);
    op(&b, 0x89); op(&b, '}'); op(&b, 't'); op(&b, 'R'); op(&b, '.');
    expect_fail(&b, WK_E_UNSUPPORTED, "9 dimensions", "9-d tensor");
    (void)t;
    wk_buf_free(&b);

    wk_buf c = {0};
    op(&c, 0x80); op(&c, 2);
    global(&c, "torch._utils", "_rebuild_tensor_v2");
    op(&c, '('); op(&c, '(');
    ustr(&c, "storage"); global(&c, "torch", "FloatStorage"); ustr(&c, "0"); ustr(&c, "cpu"); pint(&c, 6);
    op(&c, 't'); op(&c, 'Q');
    pint(&c, 0);
    int64_t two[2] = {2, 3};
    int_tuple(&c, two, 2);
    int_tuple(&c, two, 1);
    op(&c, 0x89); op(&c, '}');
    op(&c, '}'); ustr(&c, "k"); pint(&c, 1); op(&c, 's'); /* metadata {'k': 1} */
    op(&c, 't'); op(&c, 'R'); op(&c, '.');
    expect_fail(&c, WK_E_FORMAT, "size has 2 dimensions but stride has 1", "size/stride mismatch");
    wk_buf_free(&c);
}

static void test_recursion_bombs(void)
{
    /* 100k nested lists: EMPTY_LIST x N then APPEND x N */
    enum { N = 100000 };
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    for (int i = 0; i < N; i++) op(&b, ']');
    for (int i = 0; i < N - 1; i++) op(&b, 'a');
    op(&b, '.');
    expect_fail(&b, WK_E_LIMIT, "nested deeper than 1000", "EMPTY_LIST/APPEND bomb");
    wk_buf_free(&b);

    /* 100k MARKs */
    wk_buf m = {0};
    op(&m, 0x80); op(&m, 2);
    for (int i = 0; i < N; i++) op(&m, '(');
    op(&m, '.');
    expect_fail(&m, WK_E_LIMIT, "MARKs nested deeper than 1000", "MARK bomb");
    wk_buf_free(&m);

    /* 100k nested 1-tuples */
    wk_buf t = {0};
    op(&t, 0x80); op(&t, 2);
    op(&t, 'N');
    for (int i = 0; i < N; i++) op(&t, 0x85);
    op(&t, '.');
    expect_fail(&t, WK_E_LIMIT, "nested deeper than 1000", "TUPLE1 bomb");
    wk_buf_free(&t);

    /* a list that contains itself: loads, but flattening stops at the depth limit */
    wk_buf c = {0};
    op(&c, 0x80); op(&c, 2);
    op(&c, ']'); op(&c, 'q'); op(&c, 0); op(&c, 'h'); op(&c, 0); op(&c, 'a'); op(&c, '.');
    wk_err err;
    wk_pickle *pk = load(&c, &err);
    CHECK_MSG(pk != NULL, "self-list: %s", err.msg);
    if (pk) {
        seen s = {0};
        CHECK(wk_pickle_flatten(pk, collect, &s, NULL, &err) == -1);
        CHECK_MSG(err.code == WK_E_LIMIT && strstr(err.msg, "or cyclic"), "cycle: %s", err.msg);
    }
    wk_pickle_free(pk);
    wk_buf_free(&c);

    /* exponential sharing: l0 = [t]; l(i+1) = [li, li]; 60 levels = 2^60 paths */
    wk_buf e = {0};
    op(&e, 0x80); op(&e, 2);
    op(&e, '(');
    op(&e, ']'); tensor(&e, &k_t0); op(&e, 'a');
    for (int i = 0; i < 60; i++) {
        op(&e, 'q'); op(&e, 0);
        op(&e, ']'); op(&e, '('); op(&e, 'h'); op(&e, 0); op(&e, 'h'); op(&e, 0); op(&e, 'e');
    }
    op(&e, 't'); /* the root tuple holds l0 .. l60 */
    op(&e, '.');
    pk = load(&e, &err);
    CHECK_MSG(pk != NULL, "dag: %s", err.msg);
    if (pk) {
        seen s = {0};
        CHECK(wk_pickle_flatten(pk, collect, &s, NULL, &err) == -1);
        CHECK_MSG(err.code == WK_E_LIMIT && strstr(err.msg, "value graph too large"), "dag: %s", err.msg);
    }
    wk_pickle_free(pk);
    wk_buf_free(&e);
}

static void test_long_names(void)
{
    /* {K: {K: {K: t}}} with K a 30000-byte key (memoized): the dotted name
     * exceeds WK_PICKLE_MAX_NAME */
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    op(&b, '}');
    op(&b, 'X'); wk_buf_le32(&b, 30000);
    for (int i = 0; i < 30000; i++) op(&b, 'k');
    op(&b, 'q'); op(&b, 0);
    op(&b, '}'); op(&b, 'h'); op(&b, 0);
    op(&b, '}'); op(&b, 'h'); op(&b, 0);
    tensor(&b, &k_t0);
    op(&b, 's'); op(&b, 's'); op(&b, 's');
    op(&b, '.');
    wk_err err;
    wk_pickle *pk = load(&b, &err);
    CHECK_MSG(pk != NULL, "load: %s", err.msg);
    if (pk) {
        seen s = {0};
        CHECK(wk_pickle_flatten(pk, collect, &s, NULL, &err) == -1);
        CHECK_MSG(err.code == WK_E_LIMIT && strstr(err.msg, "tensor name longer than"), "%s", err.msg);
    }
    wk_pickle_free(pk);
    wk_buf_free(&b);
}

static void test_tensor_under_odd_key(void)
{
    /* {None: t} and {(1,): t}: a tensor whose name cannot be formed */
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    op(&b, '}'); op(&b, 'N'); tensor(&b, &k_t0); op(&b, 's'); op(&b, '.');
    wk_err err;
    wk_pickle *pk = load(&b, &err);
    CHECK_MSG(pk != NULL, "load: %s", err.msg);
    if (pk) {
        seen s = {0};
        CHECK(wk_pickle_flatten(pk, collect, &s, NULL, &err) == -1);
        CHECK_MSG(err.code == WK_E_UNSUPPORTED && strstr(err.msg, "dict key of type None"), "%s", err.msg);
    }
    wk_pickle_free(pk);
    wk_buf_free(&b);
    /* key with a NUL byte */
    wk_buf c = {0};
    op(&c, 0x80); op(&c, 2);
    op(&c, '}'); op(&c, 'X'); wk_buf_le32(&c, 3); wk_buf_put(&c, "a\0b", 3);
    tensor(&c, &k_t0); op(&c, 's'); op(&c, '.');
    pk = load(&c, &err);
    if (pk) {
        seen s = {0};
        CHECK(wk_pickle_flatten(pk, collect, &s, NULL, &err) == -1);
        CHECK_MSG(strstr(err.msg, "NUL byte"), "%s", err.msg);
    }
    wk_pickle_free(pk);
    wk_buf_free(&c);
}

static void test_truncated_everywhere(void)
{
    /* every proper prefix of a valid checkpoint pickle is an error, never a crash */
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    op(&b, '}'); op(&b, 'q'); op(&b, 0);
    op(&b, '(');
    ustr(&b, "w"); op(&b, 'q'); op(&b, 1); tensor(&b, &k_t0);
    ustr(&b, "h"); tensor(&b, &k_t1);
    ustr(&b, "f"); op(&b, 'G'); wk_buf_put(&b, "\x3f\xf8\0\0\0\0\0\0", 8);
    ustr(&b, "n"); op(&b, 0x8a); op(&b, 3); wk_buf_put(&b, "\1\2\3", 3);
    op(&b, 'u');
    op(&b, '.');
    wk_err err;
    wk_pickle *pk = load(&b, &err);
    CHECK_MSG(pk != NULL, "full: %s", err.msg);
    wk_pickle_free(pk);
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact-size copy so ASan sees overreads */
        memcpy(copy, b.data, n);
        wk_err_clear(&err);
        pk = wk_pickle_load(copy, n, "data.pkl", &err);
        CHECK_MSG(pk == NULL && err.code == WK_E_FORMAT, "prefix %zu: %s", n, err.msg);
        wk_pickle_free(pk);
        wk_buf d = {0};
        CHECK_MSG(wk_pickle_disasm(copy, n, "data.pkl", &d, &err) == -1, "disasm prefix %zu", n);
        wk_buf_free(&d);
        free(copy);
    }
    /* and every single-byte corruption fails cleanly or loads (no crash) */
    for (size_t i = 0; i < b.len; i++) {
        uint8_t *copy = malloc(b.len);
        for (int v = 0; v < 256; v += 17) {
            memcpy(copy, b.data, b.len);
            copy[i] = (uint8_t)v;
            pk = wk_pickle_load(copy, b.len, "data.pkl", &err);
            if (pk) {
                seen s = {0};
                wk_pickle_flatten(pk, collect, &s, NULL, &err);
            }
            wk_pickle_free(pk);
        }
        free(copy);
    }
    wk_buf_free(&b);
}

static void test_disasm_listing(void)
{
    wk_buf b = {0};
    op(&b, 0x80); op(&b, 2);
    op(&b, '}'); op(&b, 'q'); op(&b, 0);
    ustr(&b, "w"); tensor(&b, &k_t0);
    op(&b, 's');
    op(&b, '.');
    wk_buf d = {0};
    wk_err err;
    CHECK_OK(wk_pickle_disasm(b.data, b.len, "data.pkl", &d, &err), &err);
    wk_buf_putc(&d, 0);
    const char *s = (const char *)d.data;
    CHECK_MSG(strncmp(s, "    0: \\x80 PROTO      2\n    2: }    EMPTY_DICT\n", 47) == 0, "%s", s);
    CHECK(strstr(s, "GLOBAL     'torch._utils _rebuild_tensor_v2'") != NULL);
    CHECK(strstr(s, "BINUNICODE 'storage'") != NULL);
    CHECK(strstr(s, "TUPLE      (MARK at ") != NULL);
    CHECK(strstr(s, ".    STOP") != NULL);
    wk_buf_free(&d);
    wk_buf_free(&b);
}

int main(void)
{
    WK_RUN(test_tensor_dict);
    WK_RUN(test_nested_and_other_leaves);
    WK_RUN(test_ordered_dict_metadata_and_parameter);
    WK_RUN(test_protocol4_forms);
    WK_RUN(test_bininput_variants);
    WK_RUN(test_hostile_globals);
    WK_RUN(test_hostile_global_in_tensor_position);
    WK_RUN(test_hostile_opcodes);
    WK_RUN(test_tensor_argument_checks);
    WK_RUN(test_recursion_bombs);
    WK_RUN(test_long_names);
    WK_RUN(test_tensor_under_odd_key);
    WK_RUN(test_truncated_everywhere);
    WK_RUN(test_disasm_listing);
    return wk_test_summary();
}
