/* wk_json.h — a small JSON reader and writer that reproduces Python's `json`.
 *
 * The writer's purpose is to produce, byte for byte, what CPython's
 * json.dumps() produces for the same data: `indent=2, sort_keys=True` (HF
 * config.json, generation_config.json, pytorch_model.bin.index.json), the same
 * with `ensure_ascii=False` (tokenizer_config.json, special_tokens_map.json),
 * plain `json.dumps(obj)` and compact `separators=(",", ":")`.  Floats are
 * written as Python's repr(float), ints and big ints as their decimal digits,
 * strings escaped exactly as Python's encoder does.
 *
 * The reader is a strict RFC 8259 parser working through a bounded wk_cur,
 * with limits (depth, input size, string size, value count) and errors that
 * name the byte offset and what was expected, e.g.
 *   "JSON: byte 123: expected ',' or '}' in object".
 * Policies (documented divergences from Python's json.loads):
 *   - duplicate keys in one object are an error (Python keeps the last one);
 *   - a lone surrogate escape (\ud800 not followed by \udc00-\udfff, or a
 *     lone \udc00-\udfff) is an error (Python accepts it);
 *   - a number whose value overflows a double (e.g. 1e400) is an error
 *     (Python gives inf); underflow gives 0.0 or a subnormal, as in Python;
 *   - NaN / Infinity / -Infinity literals are accepted only with
 *     wk_json_read_opts.allow_nan (Python accepts them by default);
 *   - a leading UTF-8 byte order mark is an error (as in Python);
 *   - integers with more than WK_JSON_MAX_INT_DIGITS digits are an error
 *     (Python 3.11 refuses > 4300 digits too).
 * Numbers: an integer literal that fits int64 is a WK_JSON_INT; a longer
 * one (e.g. 1000000000000000019884624838656, HF's model_max_length) is a
 * WK_JSON_BIGINT keeping its literal digits; a literal with a fraction or
 * exponent is a WK_JSON_DOUBLE converted with strtod.  strtod and printf are
 * locale dependent (decimal point); weightkit never calls setlocale(), so
 * the "C" locale is in effect.  A library user that changes LC_NUMERIC must
 * not use this module concurrently with that change.
 *
 * Strings are UTF-8, held with an explicit length (they may contain U+0000).
 * Objects keep insertion order; sorting happens only when dumping with
 * sort_keys, by code point order (= byte order of UTF-8), as Python does.
 * Key lookup is a linear scan: iterate (wk_json_len / wk_json_key_at /
 * wk_json_value_at) over large objects instead of looking keys up one by one.
 *
 * Ownership: every node belongs to at most one container.  Builders return a
 * fresh root node (NULL only when out of memory).  wk_json_array_push and
 * wk_json_object_set/append take ownership of the value; passing a NULL value
 * (a failed builder) makes them fail with WK_E_NOMEM, so calls can be nested:
 *   wk_json_object_set(cfg, "hidden_size", wk_json_new_int(4096), err).
 * Free the root with wk_json_free; it frees the whole tree. */
#ifndef WK_JSON_H
#define WK_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "wk_buf.h"
#include "wk_cursor.h"
#include "wk_err.h"
#include "wk_utf8.h"

typedef enum {
    WK_JSON_NULL = 0,
    WK_JSON_BOOL,
    WK_JSON_INT,     /* fits int64 */
    WK_JSON_BIGINT,  /* an integer beyond int64, kept as its literal digits */
    WK_JSON_DOUBLE,
    WK_JSON_STRING,
    WK_JSON_ARRAY,
    WK_JSON_OBJECT
} wk_json_type;

typedef struct wk_json wk_json;

/* Hard limits (not configurable). */
#define WK_JSON_MAX_DEPTH_CAP 1000   /* read and write nesting, whatever the options say */
#define WK_JSON_MAX_INT_DIGITS 4300  /* digits of an integer literal (Python's default) */
#define WK_JSON_REPR_MAX 32          /* buffer size for wk_json_repr_double */

/* ---- reading ----------------------------------------------------------- */

typedef struct {
    size_t max_depth;   /* nesting of arrays/objects; default 64, capped at WK_JSON_MAX_DEPTH_CAP */
    size_t max_input;   /* bytes of input; default 256 MiB */
    size_t max_string;  /* decoded bytes of one string or key; default 16 MiB */
    size_t max_values;  /* values in the document (nodes); default 8 Mi */
    int allow_nan;      /* accept NaN, Infinity, -Infinity literals; default 0 */
} wk_json_read_opts;

/* The defaults listed above. */
wk_json_read_opts wk_json_read_defaults(void);

/* Parse the whole remaining range of cursor c as one JSON text (surrounding
 * whitespace allowed, anything else after the value is an error) and advance
 * c to its end.  Byte offsets in messages are wk_cur_pos() values, i.e. file
 * offsets when the cursor's base is set.  opts NULL = defaults.  Returns the
 * root, or NULL with *err set (WK_E_FORMAT for malformed input, WK_E_LIMIT
 * for an exceeded limit, WK_E_NOMEM); c is then left unchanged. */
wk_json *wk_json_parse_cur(wk_cur *c, const wk_json_read_opts *opts, wk_err *err);

/* Same over len bytes at data (offsets counted from data). */
wk_json *wk_json_parse(const void *data, size_t len, const wk_json_read_opts *opts, wk_err *err);

/* ---- writing ----------------------------------------------------------- */

typedef struct {
    int indent;            /* < 0: Python indent=None (one line); n >= 0: indent=n */
    int sort_keys;         /* sort object keys by code point */
    int ensure_ascii;      /* escape non-ASCII as \uXXXX (surrogate pairs above U+FFFF) */
    int allow_nan;         /* write NaN/Infinity/-Infinity; 0 = such a value is an error */
    const char *item_sep;  /* NULL = Python's default: "," when indent >= 0, else ", " */
    const char *key_sep;   /* NULL = ": " */
} wk_json_dump_opts;

/* Python's json.dumps(obj) defaults: indent None, sort_keys False,
 * ensure_ascii True, allow_nan True, separators (", ", ": "). */
wk_json_dump_opts wk_json_opts_python(void);
/* json.dumps(obj, indent=2, sort_keys=True) — HF config.json and index files
 * (set .ensure_ascii = 0 for tokenizer_config.json). No trailing newline. */
wk_json_dump_opts wk_json_opts_hf(void);
/* json.dumps(obj, separators=(",", ":")), ensure_ascii False, allow_nan False
 * (the shape of a safetensors header). */
wk_json_dump_opts wk_json_opts_compact(void);

/* Append the serialization of v to out (no trailing newline: HF files add
 * "\n" themselves).  opts NULL = wk_json_opts_python().  Fails with
 * WK_E_FORMAT if a string or key is not valid UTF-8 or a NaN/Inf is met with
 * allow_nan 0, WK_E_LIMIT if nesting exceeds WK_JSON_MAX_DEPTH_CAP, WK_E_NOMEM
 * (out failed: wk_buf_failed); except after WK_E_NOMEM, out is cut back to its
 * previous length. */
int wk_json_dump(const wk_json *v, const wk_json_dump_opts *opts, wk_buf *out, wk_err *err);

/* Append n bytes at s as one JSON string (quoted, escaped as wk_json_dump
 * would escape a string node with these opts; NULL = wk_json_opts_python()),
 * without building a node: for writers that stream a large document.  Fails
 * with WK_E_FORMAT on invalid UTF-8, WK_E_NOMEM (out failed); except after
 * WK_E_NOMEM, out is cut back to its previous length. */
int wk_json_dump_string(const char *s, size_t n, const wk_json_dump_opts *opts, wk_buf *out, wk_err *err);

/* Strings are checked with wk_utf8_check (wk_utf8.h): the parser's rules,
 * also for names read from other formats that end up in JSON. */

/* Python's repr(x) for a finite double (shortest digits that round-trip,
 * exponent form iff the decimal exponent is < -4 or >= 16, ".0" added to
 * integral values); NaN, Infinity and -Infinity are spelled as json writes
 * them.  out must hold WK_JSON_REPR_MAX bytes; returns the length written
 * (NUL-terminated). Never fails. */
size_t wk_json_repr_double(double x, char *out);

/* ---- building ---------------------------------------------------------- */

/* Each returns a new root node, or NULL when out of memory. */
wk_json *wk_json_new_null(void);
wk_json *wk_json_new_bool(int b);
wk_json *wk_json_new_int(int64_t v);
wk_json *wk_json_new_double(double v);
/* Copies the NUL-terminated UTF-8 string s (validated when dumped). */
wk_json *wk_json_new_string(const char *s);
/* Copies n bytes at s (may contain NUL bytes). */
wk_json *wk_json_new_stringn(const char *s, size_t n);
wk_json *wk_json_new_array(void);
wk_json *wk_json_new_object(void);

/* An integer given as decimal text `-?(0|[1-9][0-9]*)`, at most
 * WK_JSON_MAX_INT_DIGITS digits: a WK_JSON_INT if it fits int64, else a
 * WK_JSON_BIGINT written back verbatim (e.g. "1000000000000000019884624838656").
 * NULL with WK_E_USAGE if lit is not such a literal (fractions and exponents
 * are refused: Python would re-format them), WK_E_NOMEM. */
wk_json *wk_json_new_raw_number(const char *lit, wk_err *err);

/* Append val to array arr.  Takes ownership of val: on failure val is freed,
 * except when val already belongs to a container or is arr itself or one of
 * its ancestors (WK_E_USAGE, val untouched).  A NULL val or a NULL arr (a
 * failed builder) = WK_E_NOMEM.  Fails with WK_E_USAGE if arr is not an array. */
int wk_json_array_push(wk_json *arr, wk_json *val, wk_err *err);

/* obj[key] = val with Python dict semantics: an existing key keeps its
 * position and gets the new value (the old one is freed); a new key is
 * appended.  Ownership and failures as wk_json_array_push; key is copied. */
int wk_json_object_set(wk_json *obj, const char *key, wk_json *val, wk_err *err);

/* Append key/val without looking for an existing key (O(1); for building
 * large objects whose keys are known to be distinct — a duplicate would be
 * written twice).  Ownership and failures as wk_json_array_push. */
int wk_json_object_append(wk_json *obj, const char *key, wk_json *val, wk_err *err);

/* Return *v and set *v to NULL: hands a node to a builder call that takes
 * ownership (also on failure) while a cleanup label frees what is still held:
 *     WK_TRY_GOTO(wk_json_object_append(e, "shape", wk_json_take(&shape), err), done); */
static inline wk_json *wk_json_take(wk_json **v)
{
    wk_json *t = *v;
    *v = NULL;
    return t;
}

/* Remove key from obj and free its value.  Returns 1 if it was present,
 * 0 if not (or obj is not an object). */
int wk_json_object_remove(wk_json *obj, const char *key);

/* Free v and everything below it.  v must be a root: a node that still
 * belongs to a container is left alone (free the root instead).  NULL is ok. */
void wk_json_free(wk_json *v);

/* ---- inspecting -------------------------------------------------------- */

/* Type of v (WK_JSON_NULL for a NULL pointer). */
wk_json_type wk_json_type_of(const wk_json *v);
/* "null", "bool", "int", "big int", "float", "string", "array", "object". */
const char *wk_json_type_name(wk_json_type t);
/* Items of an array or members of an object; 0 for anything else. */
size_t wk_json_len(const wk_json *v);
/* Item i of an array; NULL if v is not an array or i is out of range. */
wk_json *wk_json_at(const wk_json *arr, size_t i);
/* Member i of an object (insertion order): its key (NUL-terminated; *klen =
 * length when klen is not NULL) and value.  NULL if not an object / out of range. */
const char *wk_json_key_at(const wk_json *obj, size_t i, size_t *klen);
wk_json *wk_json_value_at(const wk_json *obj, size_t i);
/* Value of key in obj (linear scan); NULL if absent or obj is not an object. */
wk_json *wk_json_get(const wk_json *obj, const char *key);

/* Typed reads of a value.  Each fails with WK_E_FORMAT "JSON: expected
 * <what>, got <type>" when v has another type (or is NULL).
 * as_int: WK_JSON_INT only (a bool, float or big int is an error; a big int
 *   fails with WK_E_LIMIT).
 * as_double: a float, an int or a big int (converted to the nearest double).
 * as_bool: true/false only.
 * as_string: *s points into the node (NUL-terminated; valid until the node is
 *   freed), *n = byte length when n is not NULL. */
int wk_json_as_int(const wk_json *v, int64_t *out, wk_err *err);
int wk_json_as_double(const wk_json *v, double *out, wk_err *err);
int wk_json_as_bool(const wk_json *v, int *out, wk_err *err);
int wk_json_as_string(const wk_json *v, const char **s, size_t *n, wk_err *err);
/* Digits of a WK_JSON_BIGINT (e.g. "-123..."); NULL for any other type. */
const char *wk_json_bigint_text(const wk_json *v);

/* The same reads on obj[key].  A missing key fails with WK_E_FORMAT
 * "JSON: missing key \"dim\""; a wrong type names the key:
 * "JSON: key \"dim\": expected an integer, got string". */
int wk_json_get_int(const wk_json *obj, const char *key, int64_t *out, wk_err *err);
int wk_json_get_double(const wk_json *obj, const char *key, double *out, wk_err *err);
int wk_json_get_bool(const wk_json *obj, const char *key, int *out, wk_err *err);
int wk_json_get_string(const wk_json *obj, const char *key, const char **s, size_t *n, wk_err *err);

#endif
