/* Unit tests: wk_json — Python-identical output, strict bounded reader.
 *
 * Golden vectors come from tests/fixtures/gen/make_json_vectors.py (Python's
 * own json module); regenerate with
 *   /usr/bin/python3 tests/fixtures/gen/make_json_vectors.py */
#include "wk_json.h"
#include "wk_test.h"

#include <math.h>
#include <stdlib.h>

#define REGEN "regenerate: /usr/bin/python3 tests/fixtures/gen/make_json_vectors.py"

/* Whole file into a malloc'd buffer (NUL-terminated), NULL if unreadable. */
static char *slurp(const char *rel, size_t *len)
{
    FILE *f = fopen(wk_test_src(rel), "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
    fclose(f);
    if (p) { p[n] = '\0'; *len = (size_t)n; }
    return p;
}

/* Dump v with opts into a fresh NUL-terminated string (NULL on failure). */
static char *dump(const wk_json *v, const wk_json_dump_opts *o, wk_err *e)
{
    wk_buf b;
    wk_buf_init(&b);
    if (wk_json_dump(v, o, &b, e) != 0) { wk_buf_free(&b); return NULL; }
    wk_buf_putc(&b, 0);
    return (char *)b.data;
}

static wk_json *parse_str(const char *s, wk_err *e)
{
    return wk_json_parse(s, strlen(s), NULL, e);
}

/* Compare got/want bytes; on a difference report where. */
static void check_bytes(const char *what, const char *name, const char *got, size_t glen,
                        const char *want, size_t wlen)
{
    if (got && glen == wlen && memcmp(got, want, wlen) == 0) return;
    size_t k = 0;
    while (got && k < glen && k < wlen && got[k] == want[k]) k++;
    wk_test_fail(__FILE__, __LINE__, "%s %s: differs at byte %zu (got %zu bytes, expected %zu)\n"
                 "    got:      \"%.60s\"\n    expected: \"%.60s\"\n    " REGEN,
                 name, what, k, glen, wlen, got ? got + (k > 20 ? k - 20 : 0) : "(dump failed)",
                 want + (k > 20 ? k - 20 : 0));
}

/* ---- golden documents ---------------------------------------------------- */

/* One docs.vec record "<kind> <name> <n>\n<n bytes>\n" at *pos: fills kind,
 * name, *n, returns its data and advances *pos; NULL if malformed. */
static const char *next_record(const char *vec, size_t len, size_t *pos, char kind[16], char name[64], size_t *n)
{
    const char *h = vec + *pos, *nl = memchr(h, '\n', len - *pos);
    if (!nl || nl - h > 100) return NULL;
    char line[128];
    memcpy(line, h, (size_t)(nl - h));
    line[nl - h] = '\0';
    if (sscanf(line, "%15s %63s %zu", kind, name, n) != 3) return NULL;
    size_t start = (size_t)(nl + 1 - vec);
    if (*n > len - start || len - start - *n < 1 || vec[start + *n] != '\n') return NULL;
    *pos = start + *n + 1;
    return vec + start;
}

static wk_json_dump_opts opts_for(const char *kind)
{
    wk_json_dump_opts o = wk_json_opts_python();
    if (!strcmp(kind, "p2s") || !strcmp(kind, "p2su")) o = wk_json_opts_hf();
    if (!strcmp(kind, "p2su")) o.ensure_ascii = 0;
    if (!strcmp(kind, "cmp")) { o = wk_json_opts_compact(); o.allow_nan = 1; }
    if (!strcmp(kind, "p4")) o.indent = 4;
    return o;
}

static void test_golden_documents(void)
{
    size_t len;
    char *vec = slurp("tests/fixtures/json/docs.vec", &len);
    CHECK_MSG(vec, "cannot read tests/fixtures/json/docs.vec; " REGEN);
    if (!vec) return;
    wk_json_read_opts ro = wk_json_read_defaults();
    ro.allow_nan = 1;
    wk_json *doc = NULL;
    int cases = 0, outputs = 0;
    size_t pos = 0;
    while (pos < len) {
        char kind[16], name[64];
        size_t n;
        const char *data = next_record(vec, len, &pos, kind, name, &n);
        if (!data) {
            CHECK_MSG(0, "docs.vec: bad record header at byte %zu", pos);
            break;
        }
        wk_err e;
        if (!strcmp(kind, "in")) {
            wk_json_free(doc);
            doc = wk_json_parse(data, n, &ro, &e);
            CHECK_MSG(doc, "%s: parse failed: %s", name, e.msg);
            cases++;
            continue;
        }
        if (!doc) continue;
        wk_json_dump_opts o = opts_for(kind);
        wk_buf b;
        wk_buf_init(&b);
        int rc = wk_json_dump(doc, &o, &b, &e);
        CHECK_MSG(rc == 0, "%s %s: dump failed: %s", name, kind, e.msg);
        check_bytes(kind, name, rc == 0 ? (const char *)b.data : NULL, b.len, data, n);
        wk_buf_free(&b);
        outputs++;
    }
    wk_json_free(doc);
    free(vec);
    CHECK_MSG(cases >= 25 && outputs == 5 * cases, "%d cases, %d outputs", cases, outputs);
}

/* ---- floats ------------------------------------------------------------- */

static void test_golden_floats(void)
{
    size_t len;
    char *txt = slurp("tests/fixtures/json/floats.txt", &len);
    CHECK_MSG(txt, "cannot read tests/fixtures/json/floats.txt; " REGEN);
    if (!txt) return;
    int lines = 0;
    for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
        char got[WK_JSON_REPR_MAX];
        double x = strtod(line, NULL);
        size_t n = wk_json_repr_double(x, got);
        CHECK_MSG(n == strlen(got) && strcmp(got, line) == 0, "repr: got %s, Python says %s", got, line);
        /* and through the parser + writer */
        wk_err e;
        wk_json *v = parse_str(line, &e);
        char *s = v ? dump(v, NULL, &e) : NULL;
        CHECK_MSG(s && strcmp(s, line) == 0, "parse+dump %s: got %s", line, s ? s : e.msg);
        free(s);
        wk_json_free(v);
        lines++;
    }
    free(txt);
    CHECK_MSG(lines >= 1900, "only %d floats", lines);
}

static void test_float_repr_spot(void)
{
    static const struct { double x; const char *want; } t[] = {
        {1e-06, "1e-06"}, {1e-05, "1e-05"}, {0.02, "0.02"}, {10000.0, "10000.0"}, {1e16, "1e+16"},
        {1e15, "1000000000000000.0"}, {1.5e-07, "1.5e-07"}, {0.0001, "0.0001"}, {-0.0, "-0.0"},
        {0.0, "0.0"}, {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
        {123456789012345678.0, "1.2345678901234568e+17"}, {0.1, "0.1"}, {1.0 / 3, "0.3333333333333333"},
        {-2.5, "-2.5"}, {1e22, "1e+22"}, {9007199254740993.0, "9007199254740992.0"},
    };
    char got[WK_JSON_REPR_MAX];
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        wk_json_repr_double(t[k].x, got);
        CHECK_EQ_STR(got, t[k].want);
    }
    wk_json_repr_double(NAN, got);
    CHECK_EQ_STR(got, "NaN");
    wk_json_repr_double(-INFINITY, got);
    CHECK_EQ_STR(got, "-Infinity");
}

/* 100k random bit patterns: the repr must read back as the same double and
 * no shorter correctly rounded form may exist (%.{n-1}g does not round-trip). */
static void test_random_doubles_roundtrip(void)
{
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    int bad = 0;
    for (int k = 0; k < 100000 && bad < 5; k++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        double x;
        uint64_t bits = k % 2 ? s : (s >> 12) | 0x3FF0000000000000ULL; /* half in [1,2) */
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x)) continue;
        char r[WK_JSON_REPR_MAX];
        wk_json_repr_double(x, r);
        double y = strtod(r, NULL);
        if (memcmp(&x, &y, sizeof x) != 0) { bad++; CHECK_MSG(0, "%a -> %s -> %a", x, r, y); }
        /* significant digits: the mantissa's digits without leading/trailing zeros */
        char dig[WK_JSON_REPR_MAX];
        size_t nd = 0;
        for (const char *p = r; *p && *p != 'e'; p++)
            if ((*p >= '1' && *p <= '9') || (*p == '0' && nd)) dig[nd++] = *p;
        while (nd > 1 && dig[nd - 1] == '0') nd--;
        char shorter[40];
        snprintf(shorter, sizeof shorter, "%.*e", nd > 2 ? (int)nd - 2 : 0, x);
        if (nd > 1 && strtod(shorter, NULL) == x) { bad++; CHECK_MSG(0, "%s is shorter than %s", shorter, r); }
    }
}

/* ---- building ----------------------------------------------------------- */

static wk_json *added_token(const char *content, int with_type, wk_err *e)
{
    wk_json *t = wk_json_new_object();
    if (with_type) wk_json_object_set(t, "__type", wk_json_new_string("AddedToken"), e);
    wk_json_object_set(t, "content", wk_json_new_string(content), e);
    wk_json_object_set(t, "lstrip", wk_json_new_bool(0), e);
    wk_json_object_set(t, "normalized", wk_json_new_bool(1), e);
    wk_json_object_set(t, "rstrip", wk_json_new_bool(0), e);
    wk_json_object_set(t, "single_word", wk_json_new_bool(0), e);
    return t;
}

/* The spec's config.json (507 bytes) and tokenizer_config.json (727 bytes)
 * built through the API, in an unsorted order. */
static void test_build_hf_files(void)
{
    wk_err e;
    wk_json *c = wk_json_new_object();
    CHECK_OK(wk_json_object_set(c, "vocab_size", wk_json_new_int(32000), &e), &e);
    CHECK_OK(wk_json_object_set(c, "rms_norm_eps", wk_json_new_double(1e-6), &e), &e);
    CHECK_OK(wk_json_object_set(c, "initializer_range", wk_json_new_double(0.02), &e), &e);
    static const char *const ints[] = {"hidden_size", "intermediate_size", "max_position_embeddings",
                                       "num_attention_heads", "num_hidden_layers", "pad_token_id",
                                       "bos_token_id", "eos_token_id"};
    static const int64_t vals[] = {4096, 11008, 2048, 32, 32, 0, 1, 2};
    for (int k = 0; k < 8; k++) CHECK_OK(wk_json_object_set(c, ints[k], wk_json_new_int(vals[k]), &e), &e);
    wk_json *arch = wk_json_new_array();
    CHECK_OK(wk_json_array_push(arch, wk_json_new_string("LlamaForCausalLM"), &e), &e);
    CHECK_OK(wk_json_object_set(c, "architectures", arch, &e), &e);
    CHECK_OK(wk_json_object_set(c, "hidden_act", wk_json_new_string("silu"), &e), &e);
    CHECK_OK(wk_json_object_set(c, "model_type", wk_json_new_string("llama"), &e), &e);
    CHECK_OK(wk_json_object_set(c, "tie_word_embeddings", wk_json_new_bool(0), &e), &e);
    CHECK_OK(wk_json_object_set(c, "torch_dtype", wk_json_new_string("float32"), &e), &e);
    CHECK_OK(wk_json_object_set(c, "torch_dtype", wk_json_new_string("float16"), &e), &e); /* replaces */
    CHECK_OK(wk_json_object_set(c, "_name_or_path", wk_json_new_string("/tmp/x"), &e), &e);
    CHECK_OK(wk_json_object_set(c, "transformers_version", wk_json_new_string("4.28.0.dev0"), &e), &e);
    CHECK_OK(wk_json_object_set(c, "use_cache", wk_json_new_bool(1), &e), &e);
    CHECK(wk_json_object_remove(c, "_name_or_path") == 1);
    CHECK(wk_json_object_remove(c, "_name_or_path") == 0);
    CHECK_EQ_U64(wk_json_len(c), 18);
    wk_json_dump_opts o = wk_json_opts_hf();
    char *s = dump(c, &o, &e);
    CHECK(s && strlen(s) + 1 == 507);
    CHECK(s && strstr(s, "  \"rms_norm_eps\": 1e-06,\n  \"tie_word_embeddings\": false,\n"));
    CHECK(s && strncmp(s, "{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n", 50) == 0);
    free(s);
    wk_json_free(c);

    wk_json *t = wk_json_new_object();
    CHECK_OK(wk_json_object_set(t, "add_bos_token", wk_json_new_bool(1), &e), &e);
    CHECK_OK(wk_json_object_set(t, "add_eos_token", wk_json_new_bool(0), &e), &e);
    CHECK_OK(wk_json_object_set(t, "bos_token", added_token("<s>", 1, &e), &e), &e);
    CHECK_OK(wk_json_object_set(t, "clean_up_tokenization_spaces", wk_json_new_bool(0), &e), &e);
    CHECK_OK(wk_json_object_set(t, "eos_token", added_token("</s>", 1, &e), &e), &e);
    CHECK_OK(wk_json_object_set(t, "model_max_length",
                                wk_json_new_raw_number("1000000000000000019884624838656", &e), &e), &e);
    CHECK_OK(wk_json_object_set(t, "pad_token", wk_json_new_null(), &e), &e);
    CHECK_OK(wk_json_object_set(t, "sp_model_kwargs", wk_json_new_object(), &e), &e);
    CHECK_OK(wk_json_object_set(t, "tokenizer_class", wk_json_new_string("LlamaTokenizer"), &e), &e);
    CHECK_OK(wk_json_object_set(t, "unk_token", added_token("<unk>", 1, &e), &e), &e);
    o.ensure_ascii = 0;
    s = dump(t, &o, &e);
    CHECK(s && strlen(s) + 1 == 727);
    CHECK(s && strstr(s, "\n  \"model_max_length\": 1000000000000000019884624838656,\n  \"pad_token\": null,\n"
                         "  \"sp_model_kwargs\": {},\n"));
    free(s);
    wk_json_free(t);
}

static void test_build_errors_and_ownership(void)
{
    wk_err e;
    wk_json *a = wk_json_new_array(), *o = wk_json_new_object(), *x = wk_json_new_int(1);
    CHECK(wk_json_array_push(a, NULL, &e) == -1 && e.code == WK_E_NOMEM);
    CHECK(wk_json_array_push(a, a, &e) == -1 && e.code == WK_E_USAGE);       /* itself */
    CHECK_OK(wk_json_array_push(a, o, &e), &e);
    CHECK(wk_json_object_set(o, "up", a, &e) == -1 && e.code == WK_E_USAGE); /* an ancestor: cycle */
    CHECK(wk_json_array_push(a, o, &e) == -1 && e.code == WK_E_USAGE);       /* already owned */
    CHECK(wk_json_array_push(o, x, &e) == -1 && e.code == WK_E_USAGE);       /* not an array; x freed */
    wk_json_free(o);                                                          /* owned: ignored */
    CHECK(wk_json_object_set(NULL, "k", wk_json_new_int(1), &e) == -1 && e.code == WK_E_NOMEM); /* freed */
    CHECK_EQ_U64(wk_json_len(a), 1);
    CHECK(wk_json_at(a, 0) == o && wk_json_at(a, 1) == NULL);
    wk_json_free(a);

    CHECK(wk_json_new_raw_number("1.5", &e) == NULL && e.code == WK_E_USAGE);
    CHECK(wk_json_new_raw_number("007", &e) == NULL);
    CHECK(wk_json_new_raw_number("", &e) == NULL);
    CHECK(wk_json_new_raw_number("-", &e) == NULL);
    wk_json *n = wk_json_new_raw_number("-9223372036854775808", &e);
    CHECK(wk_json_type_of(n) == WK_JSON_INT);
    wk_json_free(n);
    n = wk_json_new_raw_number("-9223372036854775809", &e);
    CHECK(wk_json_type_of(n) == WK_JSON_BIGINT);
    CHECK_EQ_STR(wk_json_bigint_text(n), "-9223372036854775809");
    int64_t i;
    CHECK(wk_json_as_int(n, &i, &e) == -1 && e.code == WK_E_LIMIT);
    double d;
    CHECK(wk_json_as_double(n, &d, &e) == 0 && d == -9223372036854775809.0);
    wk_json_free(n);

    /* Strings with NUL bytes; invalid UTF-8 refused at dump time. */
    wk_json *s = wk_json_new_stringn("a\0b", 3);
    char *out = dump(s, NULL, &e);
    CHECK_EQ_STR(out, "\"a\\u0000b\"");
    free(out);
    wk_json_free(s);
    s = wk_json_new_string("bad \xC3\x28 utf8");
    wk_buf b;
    wk_buf_init(&b);
    wk_buf_puts(&b, "keep");
    CHECK(wk_json_dump(s, NULL, &b, &e) == -1 && e.code == WK_E_FORMAT && strstr(e.msg, "UTF-8"));
    CHECK(b.len == 4);   /* output rolled back */
    wk_buf_free(&b);
    wk_json_free(s);

    wk_json *f = wk_json_new_double(NAN);
    wk_json_dump_opts co = wk_json_opts_compact();
    CHECK(dump(f, &co, &e) == NULL && e.code == WK_E_FORMAT);
    out = dump(f, NULL, &e);
    CHECK_EQ_STR(out, "NaN");
    free(out);
    wk_json_free(f);

    /* Custom separators and indent 0. */
    wk_json *v = parse_str("{\"a\": [1, {}], \"b\": {\"c\": null}}", &e);
    wk_json_dump_opts po = wk_json_opts_python();
    po.item_sep = " ;";
    po.key_sep = "=";
    out = dump(v, &po, &e);
    CHECK_EQ_STR(out, "{\"a\"=[1 ;{}] ;\"b\"={\"c\"=null}}");
    free(out);
    po = wk_json_opts_python();
    po.indent = 0;
    out = dump(v, &po, &e);
    CHECK_EQ_STR(out, "{\n\"a\": [\n1,\n{}\n],\n\"b\": {\n\"c\": null\n}\n}");
    free(out);
    wk_json_free(v);
}

/* Built trees deeper than the writer's cap fail cleanly, and freeing a very
 * deep tree does not recurse. */
static void test_deep_built_tree(void)
{
    wk_err e;
    wk_json *root = wk_json_new_array();
    for (int k = 0; k < 200000 && root; k++) {   /* built bottom-up: each push is O(1) */
        wk_json *up = wk_json_new_array();
        if (wk_json_array_push(up, root, &e) != 0) break;
        root = up;
    }
    CHECK(dump(root, NULL, &e) == NULL && e.code == WK_E_LIMIT);
    wk_json_free(root);
}

/* ---- reading ------------------------------------------------------------ */

static void test_read_meta_params(void)
{
    const char *p = "{\"dim\": 4096, \"multiple_of\": 256, \"n_heads\": 32, \"n_layers\": 32, "
                    "\"norm_eps\": 1e-06, \"vocab_size\": -1}";
    wk_err e;
    wk_json *v = parse_str(p, &e);
    CHECK_MSG(v, "%s", e.msg);
    int64_t dim = 0, vocab = 0;
    double eps = 0;
    CHECK_OK(wk_json_get_int(v, "dim", &dim, &e), &e);
    CHECK_OK(wk_json_get_int(v, "vocab_size", &vocab, &e), &e);
    CHECK_OK(wk_json_get_double(v, "norm_eps", &eps, &e), &e);
    CHECK(dim == 4096 && vocab == -1 && eps == 1e-6);
    CHECK_OK(wk_json_get_double(v, "dim", &eps, &e), &e);   /* an int reads as a double */
    CHECK(eps == 4096.0);
    CHECK(wk_json_get_int(v, "norm_eps", &dim, &e) == -1);
    CHECK_EQ_STR(e.msg, "JSON: key \"norm_eps\": expected an integer, got float");
    CHECK(wk_json_get_int(v, "n_kv_heads", &dim, &e) == -1);
    CHECK_EQ_STR(e.msg, "JSON: missing key \"n_kv_heads\"");
    const char *s;
    CHECK(wk_json_get_string(v, "dim", &s, NULL, &e) == -1);
    CHECK_EQ_STR(e.msg, "JSON: key \"dim\": expected a string, got int");
    int b;
    CHECK(wk_json_as_bool(v, &b, &e) == -1);
    CHECK_EQ_STR(e.msg, "JSON: expected true or false, got object");
    size_t kl;
    CHECK_EQ_STR(wk_json_key_at(v, 4, &kl), "norm_eps");
    CHECK(kl == 8 && wk_json_type_of(wk_json_value_at(v, 4)) == WK_JSON_DOUBLE);
    CHECK(wk_json_key_at(v, 6, NULL) == NULL && wk_json_get(v, "nope") == NULL);
    wk_json_free(v);

    v = parse_str("{\"s\": \"caf\\u00e9\\u0000!\", \"t\": true, \"big\": 1000000000000000019884624838656}", &e);
    size_t n;
    CHECK_OK(wk_json_get_string(v, "s", &s, &n, &e), &e);
    CHECK(n == 7 && memcmp(s, "caf\xC3\xA9\0!", 7) == 0);
    CHECK_OK(wk_json_get_bool(v, "t", &b, &e), &e);
    CHECK(b == 1);
    CHECK(wk_json_type_of(wk_json_get(v, "big")) == WK_JSON_BIGINT);
    CHECK_OK(wk_json_get_double(v, "big", &eps, &e), &e);
    CHECK(eps == 1e30);
    wk_json_free(v);
}

/* A cursor with a base offset reports file offsets; it advances only on success. */
static void test_read_cursor(void)
{
    const char buf[] = "HEADER..{\"a\":[1,2}   ";
    wk_err e;
    wk_cur c = wk_cur_make(buf + 8, sizeof buf - 1 - 8, 8);
    CHECK(wk_json_parse_cur(&c, NULL, &e) == NULL);
    CHECK_EQ_STR(e.msg, "JSON: byte 17: expected ',' or ']' in array, got '}'");
    CHECK(c.pos == 0);
    const char ok[] = "{\"a\":[1,2]}   ";
    c = wk_cur_make(ok, sizeof ok - 1, 8);
    wk_json *v = wk_json_parse_cur(&c, NULL, &e);
    CHECK(v && wk_cur_left(&c) == 0);
    wk_json_free(v);
}

typedef struct {
    const char *in;
    size_t len;        /* 0 = strlen */
    wk_code code;
    const char *msg;   /* exact message, or a substring when it starts with '~' */
} bad_case;

static void test_malformed(void)
{
    static const bad_case t[] = {
        {"", 0, WK_E_FORMAT, "JSON: byte 0: expected a value, got end of input"},
        {"   ", 0, WK_E_FORMAT, "JSON: byte 3: expected a value, got end of input"},
        {"{\"a\": 1 \"b\": 2}", 0, WK_E_FORMAT, "JSON: byte 8: expected ',' or '}' in object, got '\"'"},
        {"{\"a\" 1}", 0, WK_E_FORMAT, "JSON: byte 5: expected ':' after key in object, got '1'"},
        {"{\"a\":1,}", 0, WK_E_FORMAT, "JSON: byte 7: expected '\"' (a key) in object, got '}'"},
        {"{1:2}", 0, WK_E_FORMAT, "JSON: byte 1: expected '\"' (a key) in object, got '1'"},
        {"[1,]", 0, WK_E_FORMAT, "JSON: byte 3: expected a value, got ']'"},
        {"[1 2]", 0, WK_E_FORMAT, "JSON: byte 3: expected ',' or ']' in array, got '2'"},
        {"[1, 2", 0, WK_E_FORMAT, "JSON: byte 5: expected ',' or ']' in array, got end of input"},
        {"{\"dim\": 4096", 0, WK_E_FORMAT, "JSON: byte 12: expected ',' or '}' in object, got end of input"},
        {"\"abc", 0, WK_E_FORMAT, "JSON: byte 4: unterminated string (started at byte 0)"},
        {"\"a\\", 0, WK_E_FORMAT, "~byte 3: expected an escape character"},
        {"\"\\x\"", 0, WK_E_FORMAT, "~byte 2: expected an escape character"},
        {"\"\\u12\"", 0, WK_E_FORMAT, "JSON: byte 5: expected a hex digit in \\u escape, got '\"'"},
        {"\"\\ud800\"", 0, WK_E_FORMAT, "~byte 1: lone high surrogate \\uD800"},
        {"\"\\ud800\\u0041\"", 0, WK_E_FORMAT, "~byte 1: lone high surrogate"},
        {"\"\\udc00\"", 0, WK_E_FORMAT, "JSON: byte 1: lone low surrogate \\uDC00"},
        {"\"a\tb\"", 0, WK_E_FORMAT, "~byte 2: expected a string character"},
        {"\"\xC3\x28\"", 0, WK_E_FORMAT, "JSON: byte 1: invalid UTF-8 in string"},
        {"\"\xC0\xAF\"", 0, WK_E_FORMAT, "JSON: byte 1: invalid UTF-8 in string"},          /* overlong */
        {"\"\xED\xA0\x80\"", 0, WK_E_FORMAT, "JSON: byte 1: invalid UTF-8 in string"},      /* surrogate */
        {"\"\xF4\x90\x80\x80\"", 0, WK_E_FORMAT, "JSON: byte 1: invalid UTF-8 in string"},  /* > U+10FFFF */
        {"\"ab\xE6\x97\"", 0, WK_E_FORMAT, "JSON: byte 3: invalid UTF-8 in string"},        /* truncated */
        {"\"\x80\"", 0, WK_E_FORMAT, "JSON: byte 1: invalid UTF-8 in string"},
        {"\xEF\xBB\xBF{}", 0, WK_E_FORMAT, "JSON: byte 0: unexpected UTF-8 byte order mark"},
        {"01", 0, WK_E_FORMAT, "JSON: byte 0: leading zeros are not allowed in a number"},
        {"[-012]", 0, WK_E_FORMAT, "JSON: byte 2: leading zeros are not allowed in a number"},
        {"-", 0, WK_E_FORMAT, "JSON: byte 1: expected a digit after '-', got end of input"},
        {"1.", 0, WK_E_FORMAT, "JSON: byte 2: expected a digit after '.', got end of input"},
        {".5", 0, WK_E_FORMAT, "JSON: byte 0: expected a value, got '.'"},
        {"1e", 0, WK_E_FORMAT, "JSON: byte 2: expected a digit in the exponent, got end of input"},
        {"1e+", 0, WK_E_FORMAT, "JSON: byte 3: expected a digit in the exponent, got end of input"},
        {"+1", 0, WK_E_FORMAT, "JSON: byte 0: expected a value, got '+'"},
        {"[1e400]", 0, WK_E_FORMAT, "JSON: byte 1: number 1e400 overflows a double"},
        {"-1e99999999999999999999", 0, WK_E_FORMAT, "~byte 0: number -1e99999999999999999999 overflows"},
        {"0x10", 0, WK_E_FORMAT, "JSON: byte 1: expected end of input after the JSON value, got 'x'"},
        {"{} {}", 0, WK_E_FORMAT, "JSON: byte 3: expected end of input after the JSON value, got '{'"},
        {"[1]\0", 4, WK_E_FORMAT, "JSON: byte 3: expected end of input after the JSON value, got byte 0x00"},
        {"tru", 0, WK_E_FORMAT, "JSON: byte 0: expected a value (true, false or null), got 't'"},
        {"nul", 0, WK_E_FORMAT, "~byte 0: expected a value (true, false or null)"},
        {"True", 0, WK_E_FORMAT, "JSON: byte 0: expected a value, got 'T'"},
        {"NaN", 0, WK_E_FORMAT, "JSON: byte 0: NaN/Infinity literals are not allowed"},
        {"[-Infinity]", 0, WK_E_FORMAT, "JSON: byte 1: NaN/Infinity literals are not allowed"},
        {"{\"a\":1,\"a\":2}", 0, WK_E_FORMAT, "JSON: byte 7: duplicate key \"a\""},
        {"'a'", 0, WK_E_FORMAT, "JSON: byte 0: expected a value, got '''"},
        {"[\x01]", 0, WK_E_FORMAT, "JSON: byte 1: expected a value, got byte 0x01"},
        {"{\"a\":1}/", 0, WK_E_FORMAT, "~byte 7: expected end of input"},
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        wk_err e;
        wk_err_clear(&e);
        size_t len = t[k].len ? t[k].len : strlen(t[k].in);
        wk_json *v = wk_json_parse(t[k].in, len, NULL, &e);
        CHECK_MSG(v == NULL, "case %zu (%s) parsed", k, t[k].in);
        wk_json_free(v);
        CHECK_MSG(e.code == t[k].code, "case %zu (%s): code %d", k, t[k].in, (int)e.code);
        int ok = t[k].msg[0] == '~' ? strstr(e.msg, t[k].msg + 1) != NULL : strcmp(e.msg, t[k].msg) == 0;
        CHECK_MSG(ok, "case %zu: got \"%s\", expected \"%s\"", k, e.msg, t[k].msg);
    }
}

/* A large object's duplicate is found after the fact (sorted check). */
static void test_duplicate_in_large_object(void)
{
    wk_buf b;
    wk_buf_init(&b);
    wk_buf_puts(&b, "  {");
    for (int k = 0; k < 100; k++) wk_buf_printf(&b, "\"k%d\": %d, ", k, k);
    wk_buf_puts(&b, "\"k42\": 0}");
    wk_err e;
    wk_json *v = wk_json_parse(b.data, b.len, NULL, &e);
    CHECK(v == NULL);
    CHECK_EQ_STR(e.msg, "JSON: byte 2: object has duplicate key \"k42\"");
    b.data[b.len - 6] = '9';   /* "k49" -> still a duplicate */
    b.data[b.len - 7] = '9';   /* "k99" */
    wk_json_free(wk_json_parse(b.data, b.len, NULL, &e));
    CHECK_EQ_STR(e.msg, "JSON: byte 2: object has duplicate key \"k99\"");
    b.data[b.len - 8] = 'x';   /* "x99": new */
    v = wk_json_parse(b.data, b.len, NULL, &e);
    CHECK_MSG(v && wk_json_len(v) == 101, "%s", e.msg);
    wk_json_free(v);
    wk_buf_free(&b);
}

static void test_limits(void)
{
    wk_err e;
    size_t n = 100000;
    char *bomb = malloc(2 * n);
    memset(bomb, '[', n);
    wk_json *v = wk_json_parse(bomb, n, NULL, &e);
    CHECK(v == NULL && e.code == WK_E_LIMIT);
    CHECK_EQ_STR(e.msg, "JSON: byte 64: nesting deeper than 64");
    for (size_t k = 0; k < n / 5; k++) memcpy(bomb + 5 * k, "{\"a\":", 5);
    v = wk_json_parse(bomb, n, NULL, &e);
    CHECK(v == NULL && e.code == WK_E_LIMIT);
    CHECK_EQ_STR(e.msg, "JSON: byte 320: nesting deeper than 64");

    /* Depth exactly at the limit is fine; max_depth is configurable and capped. */
    memset(bomb, '[', 64);
    memset(bomb + 64, ']', 64);
    v = wk_json_parse(bomb, 128, NULL, &e);
    CHECK_MSG(v, "%s", e.msg);
    wk_json_free(v);
    wk_json_read_opts o = wk_json_read_defaults();
    o.max_depth = 3;
    CHECK(wk_json_parse("[[[[]]]]", 8, &o, &e) == NULL && e.code == WK_E_LIMIT);
    CHECK((v = wk_json_parse("[[[]]]", 6, &o, &e)) != NULL);
    wk_json_free(v);
    o.max_depth = (size_t)-1;
    memset(bomb, '[', n);
    memset(bomb + n, ']', n);
    CHECK(wk_json_parse(bomb, 2 * n, &o, &e) == NULL);
    CHECK_EQ_STR(e.msg, "JSON: byte 1000: nesting deeper than 1000");
    free(bomb);

    o = wk_json_read_defaults();
    o.max_string = 4;
    CHECK((v = wk_json_parse("[\"abcd\"]", 8, &o, &e)) != NULL);
    wk_json_free(v);
    CHECK(wk_json_parse("[\"abcde\"]", 9, &o, &e) == NULL && e.code == WK_E_LIMIT);
    CHECK_EQ_STR(e.msg, "JSON: byte 1: string longer than 4 bytes");
    CHECK(wk_json_parse("{\"\\u00e9\\u00e9\\u00e9\": 1}", 25, &o, &e) == NULL && e.code == WK_E_LIMIT);
    o = wk_json_read_defaults();
    o.max_values = 3;
    CHECK((v = wk_json_parse("[1, 2]", 6, &o, &e)) != NULL);
    wk_json_free(v);
    CHECK(wk_json_parse("[1, 2, 3]", 9, &o, &e) == NULL && e.code == WK_E_LIMIT);
    CHECK_EQ_STR(e.msg, "JSON: byte 7: more than 3 values");
    o = wk_json_read_defaults();
    o.max_input = 5;
    CHECK(wk_json_parse("[1, 2]", 6, &o, &e) == NULL && e.code == WK_E_LIMIT);
    CHECK_EQ_STR(e.msg, "JSON: byte 0: input of 6 bytes exceeds the limit of 5");

    /* Integer literals: up to 4300 digits kept verbatim, more refused. */
    char *big = malloc(4302);
    memset(big, '7', 4301);
    big[4301] = 0;
    CHECK(wk_json_parse(big, 4301, NULL, &e) == NULL && e.code == WK_E_LIMIT);
    v = wk_json_parse(big, 4300, NULL, &e);
    CHECK(wk_json_type_of(v) == WK_JSON_BIGINT && strlen(wk_json_bigint_text(v)) == 4300);
    double d;
    CHECK(wk_json_as_double(v, &d, &e) == -1 && e.code == WK_E_LIMIT);
    wk_json_free(v);
    memcpy(big, "0.", 2);   /* a long fraction is fine up to the literal limit */
    v = wk_json_parse(big, 4300, NULL, &e);
    CHECK(wk_json_type_of(v) == WK_JSON_DOUBLE);
    wk_json_free(v);
    free(big);
    /* Underflow gives 0 as in Python; a subnormal stays. */
    v = parse_str("[1e-400, 4e-320]", &e);
    char *s = dump(v, NULL, &e);
    CHECK_EQ_STR(s, "[0.0, 4e-320]");
    free(s);
    wk_json_free(v);
}

/* Every prefix of every golden input, and random byte flips: no crash, and a
 * failure always names a byte offset. */
static void test_truncation_and_mutation(void)
{
    size_t len;
    char *vec = slurp("tests/fixtures/json/docs.vec", &len);
    if (!vec) return;
    wk_json_read_opts ro = wk_json_read_defaults();
    ro.allow_nan = 1;
    uint64_t s = 12345;
    size_t pos = 0;
    int parsed_prefixes = 0;
    while (pos < len) {
        char kind[16], name[64];
        size_t n;
        const char *data = next_record(vec, len, &pos, kind, name, &n);
        if (!data) break;
        if (strcmp(kind, "in") != 0) continue;
        for (size_t cut = 0; cut < n; cut++) {
            wk_err e;
            wk_json *v = wk_json_parse(data, cut, &ro, &e);
            if (v) parsed_prefixes++;
            else CHECK_MSG(strncmp(e.msg, "JSON: byte ", 11) == 0, "%s[:%zu]: %s", name, cut, e.msg);
            wk_json_free(v);
        }
        char *m = malloc(n ? n : 1);
        for (int round = 0; round < 300 && n; round++) {
            memcpy(m, data, n);
            for (int f = 0; f < 1 + round % 3; f++) {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                m[s % n] = (char)(s >> 32);
            }
            wk_err e;
            wk_json *v = wk_json_parse(m, n, &ro, &e);
            if (v) {
                wk_json_dump_opts o = wk_json_opts_hf();
                char *d = dump(v, &o, &e);
                free(d);
            } else {
                CHECK_MSG(strncmp(e.msg, "JSON: byte ", 11) == 0, "%s mutated: %s", name, e.msg);
            }
            wk_json_free(v);
        }
        free(m);
    }
    free(vec);
    /* Only top-level numbers and whitespace-padded scalars have valid proper prefixes. */
    CHECK_MSG(parsed_prefixes < 20, "%d prefixes parsed", parsed_prefixes);
}

int main(void)
{
    WK_RUN(test_golden_documents);
    WK_RUN(test_golden_floats);
    WK_RUN(test_float_repr_spot);
    WK_RUN(test_random_doubles_roundtrip);
    WK_RUN(test_build_hf_files);
    WK_RUN(test_build_errors_and_ownership);
    WK_RUN(test_deep_built_tree);
    WK_RUN(test_read_meta_params);
    WK_RUN(test_read_cursor);
    WK_RUN(test_malformed);
    WK_RUN(test_duplicate_in_large_object);
    WK_RUN(test_limits);
    WK_RUN(test_truncation_and_mutation);
    return wk_test_summary();
}
