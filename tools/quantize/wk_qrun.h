/* wk_qrun.h — the quantization engine behind wk-quantize: a model (GGUF with
 * F32/F16/BF16 weights, or anything wk-pack reads, packed first into a
 * unique temporary of OUTPUT owned by the run, wk_out_staged) to a GGUF of
 * ggml block types, with
 * llama-quantize's per-tensor types (formats/quant/wk_qmix.h) and bytes.
 *
 *   wk_qrun_opts o;  wk_qrun_opts_init(&o);  o.input = ...; o.mix.p = preset;
 *   wk_qrun_total tot;
 *   if (wk_qrun_run(&o, &tot, err)) ... ;
 *
 * Nothing here prints: the caller hears of the run through the hooks in
 * wk_qrun_opts (a non-GGUF input about to be packed, the output opened, each
 * tensor written) and gets the totals in wk_qrun_total.  The output is the
 * same for any thread count; OUTPUT is written atomically (wk_out). */
#ifndef WK_QRUN_H
#define WK_QRUN_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_progress.h"
#include "wk_qmix.h"

#define WK_QRUN_QNT_VERSION 2   /* general.quantization_version (GGML_QNT_VERSION) */

/* One tensor as written. */
typedef struct {
    const char *name;
    const char *from, *to;        /* ggml type names ("?" if unknown) */
    uint64_t bytes_in, bytes_out;
    int has_rel;                  /* converted and not all zeros: rel_rmse is set */
    double rel_rmse;              /* sqrt(squared error / squared values) */
    int imatrix;                  /* the importance matrix weighted its error */
} wk_qrun_row;

/* The whole run. */
typedef struct {
    size_t tensors;
    uint64_t bytes_in, bytes_out; /* of the tensors' data */
    uint64_t params;              /* values in all tensors */
    uint64_t file_size;           /* of OUTPUT */
    double bits_per_weight;       /* 8 * bytes_out / params (0 without params) */
    double rel_rmse;              /* over all tensors (0 without values) */
    int needs_imatrix;            /* dry run: the real run would refuse for want of an imatrix */
} wk_qrun_total;

/* One --override-kv KEY=TYPE:VALUE (llama.cpp's llama_model_kv_override). */
typedef enum { WK_QRUN_KV_INT, WK_QRUN_KV_FLOAT, WK_QRUN_KV_BOOL, WK_QRUN_KV_STR } wk_qrun_kv_tag;
typedef struct {
    char key[128];
    wk_qrun_kv_tag tag;
    int64_t i;          /* written as u32 |i| (as llama.cpp) */
    double f;           /* written as f32 */
    int b;
    char str[128];
} wk_qrun_kv;

/* Parse KEY=int:N | float:X | bool:true|false | str:TEXT (key < 128 bytes,
 * text <= 127 bytes, as llama.cpp's string_parse_kv_override; numbers must be
 * whole numbers / finite floats, |N| <= 2^32-1 — stricter than its atol/atof).
 * WK_E_USAGE naming the argument. */
int wk_qrun_kv_parse(const char *arg, wk_qrun_kv *kv, wk_err *err);

typedef struct {
    const char *input, *output;
    const char *imatrix;          /* llama.cpp imatrix (GGUF or legacy .dat), or NULL */
    const char *const *include_weights; /* use the imatrix only for entries containing one */
    size_t n_include;
    const char *const *exclude_weights; /* never for entries containing one */
    size_t n_exclude;
    wk_qmix_opts mix;             /* preset and type overrides */
    int search;                   /* WK_QK_SEARCH kernels instead of ggml's reference */
    int allow_requantize;         /* accept quantized weights as input */
    int threads;                  /* 0: all cores */
    int keep_split;               /* a split-set INPUT: OUTPUT as a set of the same parts (each
                                     tensor in the part its input was in; wk_pack_gguf) */
    const wk_qrun_kv *kv_overrides; /* --override-kv, in order (set after the file type) */
    size_t n_kv_overrides;
    int dry_run;                  /* plan only: the hooks see every tensor, nothing is written */
    wk_progress_fn progress;      /* bytes of input weights done of their total; may be NULL */
    void *progress_ctx;
    /* Hooks, each may be NULL; ctx is passed to all of them. */
    void *ctx;
    void (*packing)(void *ctx, const char *input, const char *kind); /* before packing a non-GGUF INPUT */
    void (*begin)(void *ctx);     /* OUTPUT is open, before the first tensor */
    int (*tensor)(void *ctx, const wk_qrun_row *r, wk_err *err);     /* after each tensor; -1 stops */
} wk_qrun_opts;

/* Zeroes, output_type / embd_type -1. */
void wk_qrun_opts_init(wk_qrun_opts *o);

/* Quantize o->input into o->output with o->mix.p's types; *tot on success.
 * With o->dry_run: the plan only (o->output may be NULL; a GGUF input is
 * needed), each tensor reported through o->tensor with its output size, the
 * file size in *tot; nothing is written.
 * WK_E_USAGE when an explicit type does not fit a tensor's rows,
 * WK_E_UNSUPPORTED for input types that it does not read, others from the
 * readers and writers.  On failure OUTPUT is not created. */
int wk_qrun_run(const wk_qrun_opts *o, wk_qrun_total *tot, wk_err *err);

#endif
