/* wk_pickle.h — a restricted unpickler for PyTorch tensor checkpoints.
 *
 * This is not a Python unpickler.  It interprets the subset of pickle
 * protocols 2-5 that torch.save writes for state dicts (see
 * docs/formats/pytorch-zip.md, "Reader: accepted opcodes and globals") and
 * builds a small tagged value tree; nothing is ever imported or called.
 *
 *  - GLOBAL / STACK_GLOBAL are accepted only for an allow-list of names
 *    (torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter /
 *    _rebuild_parameter_with_state, collections.OrderedDict, torch.Size and the
 *    typed storage classes torch.FloatStorage ... torch.BoolStorage).  Any other
 *    global fails with WK_E_UNSAFE: "<name>: byte 57: refusing global
 *    'posix.system' (not a tensor checkpoint global)".
 *  - REDUCE applies one of those callables, with its arity and argument types
 *    checked; it never calls anything.  BUILD is accepted only on an
 *    OrderedDict (torch's state_dict() `_metadata` attribute) and the state is
 *    kept aside, not merged into the items.  BINPERSID accepts only torch's
 *    ('storage', <Storage class>, key, location, numel) tuples.
 *  - Every length is checked against the remaining input before use; the
 *    memo, the stack, the number of values and the nesting depth are bounded
 *    (WK_PICKLE_MAX_* below, and by the input size), so a hostile pickle gets
 *    an error naming its byte offset, never a crash or a huge allocation.
 *    Memory bound (issue #24 item 15): at most V = min(len/2 + 64,
 *    WK_PICKLE_MAX_VALUES) values (torch.save writes about one per 7 bytes),
 *    each one wk_pv (176 bytes); at most 2V container items (16 bytes each
 *    with the arrays' doubling); a memo below 4V pointers (an index must be
 *    below 2 * values + 64: picklers number them densely); a stack of at most
 *    WK_PICKLE_MAX_STACK pointers.  So at most 176V + 32V + 32V + 8 MiB:
 *    below 120 x len + 8 MiB, and below 1 GiB + 8 MiB whatever the input.  wk_pickle_disasm's listing stops
 *    after WK_PICKLE_DISASM_MAX bytes.
 *
 * Byte offsets in messages are offsets inside the pickle (as in
 * `python -m pickletools`), prefixed by the name given to the loader. */
#ifndef WK_PICKLE_H
#define WK_PICKLE_H

#include <stddef.h>
#include <stdint.h>
#include "wk_buf.h"
#include "wk_err.h"
#include "wk_tensor.h"

#define WK_PICKLE_MAX_DEPTH 1000         /* MARK nesting and container nesting */
#define WK_PICKLE_MAX_STACK (1u << 20)   /* values on the stack at once */
#define WK_PICKLE_MAX_LINE 1024          /* bytes of a GLOBAL module or name line */
#define WK_PICKLE_MAX_NAME 65536         /* bytes of one flattened dotted name */
#define WK_PICKLE_MAX_VALUES (4u << 20) /* values made (a state dict makes ~20 per tensor) */
#define WK_PICKLE_DISASM_MAX (16u << 20) /* bytes of a wk_pickle_disasm listing (then cut) */

typedef enum {
    WK_PV_NONE = 0,
    WK_PV_BOOL,
    WK_PV_INT,     /* fits int64 */
    WK_PV_BIGINT,  /* LONG1/LONG4 wider than 8 bytes: kept as raw bytes, not usable as a number */
    WK_PV_FLOAT,
    WK_PV_STR,     /* valid UTF-8 (BINUNICODE*, and BINSTRING decoded as UTF-8 like torch.load) */
    WK_PV_BYTES,
    WK_PV_TUPLE,
    WK_PV_LIST,
    WK_PV_DICT,
    WK_PV_ODICT,   /* collections.OrderedDict */
    WK_PV_GLOBAL,  /* an allow-listed callable or class */
    WK_PV_STORAGE, /* a persistent id: ('storage', <dtype>Storage, key, location, numel) */
    WK_PV_TENSOR   /* result of a _rebuild_tensor* / _rebuild_parameter* call */
} wk_pv_kind;

/* The allow-listed globals. */
typedef enum {
    WK_PG_REBUILD_TENSOR_V2 = 0,
    WK_PG_REBUILD_TENSOR,
    WK_PG_REBUILD_PARAMETER,
    WK_PG_REBUILD_PARAMETER_WITH_STATE,
    WK_PG_ORDERED_DICT,
    WK_PG_TORCH_SIZE,
    WK_PG_STORAGE_CLASS /* torch.<X>Storage; the dtype is in u.global.dtype */
} wk_pglobal;

typedef struct wk_pv wk_pv;

/* One value.  Nodes belong to the wk_pickle that made them; strings point
 * into the pickle bytes, which must outlive the wk_pickle.  Containers can
 * be shared (memo) and, in a hostile pickle, even cyclic: walk them only
 * with wk_pickle_flatten or with your own depth limit. */
struct wk_pv {
    wk_pv_kind kind;
    uint32_t depth;    /* nesting depth when last modified (1 for scalars) */
    uint64_t offset;   /* offset in the pickle of the opcode that made it */
    union {
        int b;                                       /* BOOL */
        int64_t i;                                   /* INT */
        double f;                                    /* FLOAT */
        struct { const char *p; size_t len; } str;   /* STR, BYTES, BIGINT (little-endian bytes) */
        struct {                                     /* TUPLE, LIST, DICT, ODICT */
            wk_pv **items;   /* DICT/ODICT: key0, value0, key1, value1, ... */
            size_t n;        /* entries in items (twice the pair count for dicts) */
            size_t cap;
            wk_pv *state;    /* ODICT: state given by BUILD, else NULL */
        } seq;
        struct { wk_pglobal which; wk_dtype dtype; } global;
        struct {
            wk_dtype dtype;
            const char *key; size_t key_len;
            const char *location; size_t location_len;
            int64_t numel;   /* elements of the whole storage */
        } storage;
        struct {
            const wk_pv *storage; /* a WK_PV_STORAGE node */
            int64_t storage_offset;
            int ndim;
            int64_t shape[WK_MAX_DIMS];
            int64_t stride[WK_MAX_DIMS];
            int requires_grad;
            int is_parameter;
        } tensor;
    } u;
};

typedef struct wk_pickle wk_pickle;

/* Interpret the pickle in data[0..len) (ending with STOP, nothing after it).
 * `name` (e.g. "archive/data.pkl") is copied and prefixes every message.
 * The bytes must stay valid while the result is used.  Returns the loaded
 * pickle, or NULL with *err: WK_E_UNSAFE (refused global/opcode),
 * WK_E_FORMAT (malformed: truncated, unknown opcode, stack underflow, bad
 * memo index, MARK mismatch, wrong argument types), WK_E_UNSUPPORTED
 * (valid pickle, but not a plain tensor checkpoint construct), WK_E_LIMIT,
 * WK_E_NOMEM. */
wk_pickle *wk_pickle_load(const uint8_t *data, size_t len, const char *name, wk_err *err);

/* The value left by STOP. */
const wk_pv *wk_pickle_root(const wk_pickle *pk);
/* Protocol given by the PROTO opcode (0 when there is none). */
int wk_pickle_protocol(const wk_pickle *pk);
/* Number of values the load created. */
size_t wk_pickle_value_count(const wk_pickle *pk);
/* Free everything; safe on NULL. */
void wk_pickle_free(wk_pickle *pk);

/* "none", "bool", "int", ..., "tensor". */
const char *wk_pv_kind_name(wk_pv_kind k);

/* Called for each tensor in pickle order with its dotted name (NUL-terminated,
 * valid during the call).  Return 0 to continue, -1 (with *err set) to stop. */
typedef int (*wk_pickle_tensor_fn)(void *ctx, const char *name, const wk_pv *tensor, wk_err *err);

/* Walk the root depth-first in pickle order and call on_tensor for every
 * tensor.  Names: dict keys (str, or int in decimal) and list/tuple indices
 * joined with '.': {"model": {"a": t}} -> "model.a", {"l": [t, u]} -> "l.0",
 * "l.1"; a tensor at the root has the name "".  Other leaves (int, str,
 * float, None, ...) are skipped and counted in *n_other (may be NULL).
 * An OrderedDict's BUILD state (torch's `_metadata`) is ignored, but must
 * not contain tensors.  Fails (WK_E_LIMIT) on nesting deeper than
 * WK_PICKLE_MAX_DEPTH (which also catches cycles), a name longer than
 * WK_PICKLE_MAX_NAME, more than 16 visits per value or names totalling more
 * than 16 bytes per pickle byte (+1 MiB) (shared-reference bombs);
 * WK_E_UNSUPPORTED for a tensor under a dict key that is not a str or int,
 * or a key containing a NUL byte; or whatever on_tensor returns. */
int wk_pickle_flatten(const wk_pickle *pk, wk_pickle_tensor_fn on_tensor, void *ctx,
                      size_t *n_other, wk_err *err);

/* Append a pickletools.dis-like listing of data[0..len) to out: one line
 * per opcode "  offset: code NAME argument", indented by MARK level, with
 * strings shown escaped (long ones cut) and globals outside the allow-list
 * marked "REFUSED".  Nothing is interpreted, so hostile pickles can be
 * listed.  Stops after STOP; returns 0, or -1 with *err (WK_E_FORMAT) on a
 * truncated argument or unknown opcode, after listing what came before it.
 * A listing longer than WK_PICKLE_DISASM_MAX bytes is cut there, with a last
 * line saying so (returns 0). */
int wk_pickle_disasm(const uint8_t *data, size_t len, const char *name, wk_buf *out, wk_err *err);

#endif
