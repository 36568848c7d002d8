/* wk_quant.h — ggml block quantization: block layouts, one kernel table,
 * reference and SIMD kernels, dequantization, and a parallel row driver.
 *
 * Formats (docs/formats/quant-blocks.md has every layout as a byte table):
 *   legacy, blocks of 32:       Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
 *   k-quants, super-blocks 256: Q2_K Q3_K Q4_K Q5_K Q6_K
 *   non-linear 4-bit:           IQ4_NL (blocks of 32), IQ4_XS (256)
 *
 * Exactness.  The *_ref quantizers give the same bytes as ggml's
 * quantize_row_*_ref (= ggml_quantize_chunk without an importance matrix) for
 * every input, as built on x86-64 (float32 arithmetic in source order, no FMA
 * contraction; fp16 by RNE, identical to ggml's GGML_FP32_TO_FP16 for all 2^32
 * inputs; float -> small int conversions as x86's cvttss2si: a NaN or
 * out-of-range value becomes INT32_MIN, whose low byte is 0).  The SIMD
 * kernels give the same bytes as *_ref for every input without NaN (checked
 * by tests/unit/test_quant.c and, against the real libggml, by
 * tests/peer/ggml_quant.sh).  Dequantizers give ggml's floats exactly.
 *
 * NaN / Inf policy.  ggml quantizes NaN/Inf into meaningless blocks (and
 * llama.cpp's ggml_validate_row_data then rejects the file).  The kernels
 * themselves never fail; wk_quantize_rows() refuses such input instead, with
 * an error naming the tensor, row and column of the first non-finite value,
 * and also refuses finite input so large that a block's fp16 scale overflows
 * (the block would dequantize to Inf/NaN).
 *
 * Layout of this header: block structs (sizes checked at compile time), the
 * kernel table (the one place that maps a ggml type id to its kernels), the kernels
 * by name, the row driver, and a few inline helpers shared by the kernel
 * files.  Blocks are little-endian on disk; the structs are the in-memory
 * image on little-endian hosts only (checked below).  Kernels read and write
 * blocks through memcpy, so buffers need no particular alignment. */
#ifndef WK_QUANT_H
#define WK_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "wk_err.h"
#include "wk_ggml.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "wk_quant: block structs assume a little-endian host"
#endif

#define WK_QK 32          /* values per legacy block */
#define WK_QK_K 256       /* values per k-quant super-block */
#define WK_K_SCALE_SIZE 12

/* ---- block layouts (ggml-common.h); uint16_t fields hold fp16 bits --------- */
typedef struct { uint16_t d; uint8_t qs[WK_QK / 2]; } wk_block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[WK_QK / 2]; } wk_block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[WK_QK / 2]; } wk_block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[WK_QK / 2]; } wk_block_q5_1;
typedef struct { uint16_t d; int8_t qs[WK_QK]; } wk_block_q8_0;
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[WK_K_SCALE_SIZE];
    uint8_t qs[WK_QK_K / 2];
} wk_block_q4_K;
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[WK_K_SCALE_SIZE];
    uint8_t qh[WK_QK_K / 8];
    uint8_t qs[WK_QK_K / 2];
} wk_block_q5_K;
typedef struct {
    uint8_t ql[WK_QK_K / 2];
    uint8_t qh[WK_QK_K / 4];
    int8_t scales[WK_QK_K / 16];
    uint16_t d;
} wk_block_q6_K;

typedef struct {
    uint8_t scales[WK_QK_K / 16];   /* low 4 bits scale, high 4 bits min */
    uint8_t qs[WK_QK_K / 4];
    uint16_t d, dmin;
} wk_block_q2_K;
typedef struct {
    uint8_t hmask[WK_QK_K / 8];
    uint8_t qs[WK_QK_K / 4];
    uint8_t scales[12];             /* 16 x 6-bit signed (value + 32) */
    uint16_t d;
} wk_block_q3_K;
typedef struct { uint16_t d; uint8_t qs[WK_QK / 2]; } wk_block_iq4_nl;
typedef struct {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[WK_QK_K / 64];
    uint8_t qs[WK_QK_K / 2];
} wk_block_iq4_xs;

_Static_assert(sizeof(wk_block_q4_0) == 18, "block_q4_0 is 18 bytes");
_Static_assert(sizeof(wk_block_q2_K) == 84, "block_q2_K is 84 bytes");
_Static_assert(sizeof(wk_block_q3_K) == 110, "block_q3_K is 110 bytes");
_Static_assert(sizeof(wk_block_iq4_nl) == 18, "block_iq4_nl is 18 bytes");
_Static_assert(sizeof(wk_block_iq4_xs) == 136, "block_iq4_xs is 136 bytes");
_Static_assert(sizeof(wk_block_q4_1) == 20, "block_q4_1 is 20 bytes");
_Static_assert(sizeof(wk_block_q5_0) == 22, "block_q5_0 is 22 bytes");
_Static_assert(sizeof(wk_block_q5_1) == 24, "block_q5_1 is 24 bytes");
_Static_assert(sizeof(wk_block_q8_0) == 34, "block_q8_0 is 34 bytes");
_Static_assert(sizeof(wk_block_q4_K) == 144, "block_q4_K is 144 bytes");
_Static_assert(sizeof(wk_block_q5_K) == 176, "block_q5_K is 176 bytes");
_Static_assert(sizeof(wk_block_q6_K) == 210, "block_q6_K is 210 bytes");

/* ---- kernel table --------------------------------------------------------------- */
/* Types are ggml ids (WK_GGML_*, wk_ggml.h); name, block size and bytes per
 * block come from the core table, wk_ggml_type_get(type).  This table holds
 * only the kernels (ggml-cpu's type_traits_cpu), keyed by the same id. */

/* Quantize k floats (k a multiple of the block size) into k/blck blocks. */
typedef void (*wk_qrow_fn)(const float *x, void *y, int64_t k);
/* Quantize one row of n_per_row floats with importance weights qw
 * (n_per_row floats, not NULL): ggml's weighted path. */
typedef void (*wk_qrow_w_fn)(const float *x, void *y, int64_t n_per_row, const float *qw);
/* Dequantize k/blck blocks into k floats. */
typedef void (*wk_dqrow_fn)(const void *x, float *y, int64_t k);
/* sum_i dequant(x)[i] * y[i] over k values, accumulated in float in order. */
typedef float (*wk_qdot_fn)(const void *x, const float *y, int64_t k);
/* Index of the first of nb blocks whose fp16 scale fields (d, m, dmin) are
 * Inf or NaN — what ggml_validate_row_data rejects — or -1 if none. */
typedef int64_t (*wk_qcheck_fn)(const void *x, int64_t nb);
/* Integer dot of k weights x with k activations a quantized by
 * wk_dot_quantize_act (a whole row: Q8_0 blocks + int16 block sums for the
 * legacy types, Q8_K blocks for the k-quants; wk_dot.h has the contract). */
typedef float (*wk_idot_fn)(const void *x, const void *a, int64_t k);

/* Quantize one row of n floats as quantize_simd does, with the row driver's
 * checks and (st non-NULL) its statistics in the same pass: returns -2 if a
 * value is NaN/Inf (then the bytes and st mean nothing), else the first block
 * whose fp16 scale is Inf/NaN (the check's answer) or -1; st[0] = the row's
 * error E, st[1] = its sum of squares X, as wk_qstats_row_q gives them (same
 * bits). */
typedef int64_t (*wk_qrow_fused_fn)(const float *x, void *y, int64_t n, double *st);

typedef struct {
    wk_qrow_fn quantize_ref;   /* scalar reference, bit-exact with ggml */
    wk_qrow_fn quantize_simd;  /* AVX2/F16C kernel, NULL if none; only call it
                                * when wk_quant_have_simd() is 1 */
    wk_qrow_w_fn quantize_imat; /* weighted scalar reference, bit-exact with
                                * ggml_quantize_chunk(..., imatrix) */
    wk_qrow_w_fn quantize_imat_simd; /* its AVX2 twin (same bytes), NULL if none;
                                * only when wk_quant_have_simd() is 1 */
    wk_dqrow_fn dequantize;    /* = ggml's dequantize_row_* */
    wk_qdot_fn vec_dot;        /* dequantize-and-dot (scalar), for benchmarks */
    wk_qcheck_fn check;        /* first block with an Inf/NaN fp16 scale, or -1 */
    wk_idot_fn idot;           /* integer dot (wk_dot.c), AVX2 when available */
    wk_qrow_fused_fn quantize_fused; /* quantize_simd + checks + statistics in one
                                * pass, NULL if none; only when wk_quant_have_simd() */
} wk_qtraits;

/* Kernels of ggml type `type`; NULL if weightkit cannot quantize it (the
 * quant types are Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL
 * IQ4_XS; on x86 every one has quantize_simd and quantize_imat_simd). */
const wk_qtraits *wk_qtraits_get(int type);
/* The ggml id of a quant type by name, case-insensitive ("q4_0", "Q4_K",
 * "q6_k"); -1 if unknown or not quantizable.  Tools print the lower-case
 * spelling, wk_ggml_type_get(type)->lname. */
int wk_quant_type_from_name(const char *name);
/* The AUTO quantizer of a quant type: quantize_simd when the CPU runs it
 * (wk_cpu's probe, cached), else quantize_ref.  Resolve it once per batch of
 * rows and call it directly (wk_quantize_rows does).  NULL if `type` has no
 * kernels. */
wk_qrow_fn wk_quant_kernel_auto(int type);
/* 1 if the AVX2/F16C kernels can run on this CPU (wk_cpu_has(WK_CPU_SIMD)). */
int wk_quant_have_simd(void);

/* ---- kernels by name (all: k a multiple of the block size) --------------- */
void wk_quantize_row_q4_0_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_q4_1_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_q5_0_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_q5_1_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_q8_0_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_q4_K_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_q5_K_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_q6_K_ref(const float *x, void *y, int64_t k);

/* Importance-weighted (wk_quant_imat.c): one row of n floats with weights
 * qw[0..n); = ggml's quantize_row_*_impl with quant_weights (Q8_0: ggml
 * ignores the weights, so this is the reference kernel). */
void wk_quantize_row_q4_0_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q4_1_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q5_0_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q5_1_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q8_0_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q4_K_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q5_K_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q6_K_imat(const float *x, void *y, int64_t n, const float *qw);

/* Q2_K, Q3_K, IQ4_NL, IQ4_XS (wk_quant_lowbit.c): = ggml_quantize_chunk
 * without (_ref) and with (_imat) importance weights; scalar references
 * (their AVX2 twins are below with the other _avx2 kernels). */
void wk_quantize_row_q2_K_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_q3_K_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_iq4_nl_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_iq4_xs_ref(const float *x, void *y, int64_t k);
void wk_quantize_row_q2_K_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q3_K_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_iq4_nl_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_iq4_xs_imat(const float *x, void *y, int64_t n, const float *qw);
void wk_dequantize_row_q2_K(const void *x, float *y, int64_t k);
void wk_dequantize_row_q3_K(const void *x, float *y, int64_t k);
void wk_dequantize_row_iq4_nl(const void *x, float *y, int64_t k);
void wk_dequantize_row_iq4_xs(const void *x, float *y, int64_t k);

/* AVX2 + F16C (x86/wk_quant_legacy_avx2.c for Q4_0..Q8_0, x86/wk_quant_avx2.c);
 * defined on x86 only, and may only be called when wk_quant_have_simd() is 1.
 * Same bytes as *_ref for NaN-free input. */
void wk_quantize_row_q4_0_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_q4_1_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_q5_0_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_q5_1_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_q8_0_avx2(const float *x, void *y, int64_t k);
/* The legacy types' fused kernels (x86/wk_quant_legacy_avx2.c): wk_qrow_fused_fn. */
int64_t wk_quantize_row_q4_0_fused_avx2(const float *x, void *y, int64_t k, double *st);
int64_t wk_quantize_row_q4_1_fused_avx2(const float *x, void *y, int64_t k, double *st);
int64_t wk_quantize_row_q5_0_fused_avx2(const float *x, void *y, int64_t k, double *st);
int64_t wk_quantize_row_q5_1_fused_avx2(const float *x, void *y, int64_t k, double *st);
int64_t wk_quantize_row_q8_0_fused_avx2(const float *x, void *y, int64_t k, double *st);
void wk_quantize_row_q4_K_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_q5_K_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_q6_K_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_iq4_nl_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_iq4_xs_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_q2_K_avx2(const float *x, void *y, int64_t k);
void wk_quantize_row_q3_K_avx2(const float *x, void *y, int64_t k);
/* Weighted (x86/wk_quant_w_avx2.c, IQ4 in x86/wk_quant_iq4_avx2.c): the same
 * bytes as the *_imat references. */
void wk_quantize_row_q4_0_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q4_1_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q5_0_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q5_1_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q8_0_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q2_K_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q3_K_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q4_K_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q5_K_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_q6_K_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_iq4_nl_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
void wk_quantize_row_iq4_xs_imat_avx2(const float *x, void *y, int64_t n, const float *qw);
/* Index of the first value of x[0..n) that is NaN or +-Inf, or -1. */
int64_t wk_quant_find_nonfinite_avx2(const float *x, int64_t n);

/* Dequantizers (wk_quant_dequant.c): ggml's dequantize_row_* float for float
 * (NaN/Inf scales included); blocks may be at any alignment. */
void wk_dequantize_row_q4_0(const void *x, float *y, int64_t k);
void wk_dequantize_row_q4_1(const void *x, float *y, int64_t k);
void wk_dequantize_row_q5_0(const void *x, float *y, int64_t k);
void wk_dequantize_row_q5_1(const void *x, float *y, int64_t k);
void wk_dequantize_row_q8_0(const void *x, float *y, int64_t k);
void wk_dequantize_row_q4_K(const void *x, float *y, int64_t k);
void wk_dequantize_row_q5_K(const void *x, float *y, int64_t k);
void wk_dequantize_row_q6_K(const void *x, float *y, int64_t k);

/* Sum of w_i (x_i - dequant(q)_i)^2 over n values (w NULL: all 1), in double:
 * the quantization error behind the RMSE that tools report. */
double wk_quant_sq_error(int type, const float *x, const void *q, int64_t n, const float *w);

/* ---- the row driver (wk_quant_chunk.c) ------------------------------------- */
typedef enum {
    WK_QK_AUTO = 0,   /* SIMD when the CPU has it, else reference (same bytes) */
    WK_QK_REF,        /* scalar reference only */
    WK_QK_SIMD,       /* SIMD only: WK_E_UNSUPPORTED if the CPU or type lacks it */
    WK_QK_SEARCH      /* error-minimising search (wk_quant_search.c): same
                       * layout, different (better) bytes than ggml */
} wk_qkernel;

typedef struct {
    int nthreads;            /* OpenMP threads; <= 0: OpenMP's current default */
    wk_qkernel kernel;
    const char *name;        /* tensor name for messages (NULL: "tensor") */
    const float *imatrix;    /* n_per_row importance weights (same for every
                              * row), or NULL.  With AUTO/SIMD/REF: ggml's weighted
                              * quantizers (quantize_imat_simd when the CPU has
                              * AVX2, else quantize_imat: same bytes; REF always
                              * the scalar; SIMD on a CPU without it:
                              * WK_E_UNSUPPORTED);
                              * with SEARCH: the weights of the error. */
} wk_qopts;

/* Rows per OpenMP work item: a fixed split, so that the output does not
 * depend on the thread count (it would not anyway: rows are independent). */
#define WK_QUANT_CHUNK_ROWS 16

/* Quantize nrows rows of n_per_row floats from src into dst (rows back to
 * back, wk_ggml_row_size() bytes each) of quant type `type` (a ggml id with
 * kernels, WK_E_USAGE otherwise).  Needs n_per_row > 0 and a multiple of the
 * block size (WK_E_USAGE otherwise), opts may be NULL (defaults).  The
 * output is identical for every thread count and, for AUTO/REF/SIMD, equal
 * to ggml_quantize_chunk(type, src, dst, 0, nrows, n_per_row, opts->imatrix).
 * Fails with WK_E_FORMAT naming the tensor, row and column of the first
 * NaN/Inf input value, or WK_E_LIMIT naming the first block whose fp16
 * scale overflows; dst is then partly written and must be discarded. */
int wk_quantize_rows(int type, const float *src, void *dst, int64_t nrows,
                     int64_t n_per_row, const wk_qopts *opts, wk_err *err);

/* wk_quantize_rows, and the error statistics of every row (wk_qstats.h) into
 * row_stats (2 * nrows doubles): [2r] = E and [2r+1] = X of row r by
 * wk_qstats_row_q (its squared quantization error and its squared values),
 * computed while the row is in cache (for the legacy types with AVX2 in the
 * quantizer's own pass, where X is also the NaN/Inf scan).
 * Same bytes and errors as wk_quantize_rows; the statistics are the same for
 * any thread count, unspecified on failure. */
int wk_quantize_rows_stats(int type, const float *src, void *dst, int64_t nrows,
                           int64_t n_per_row, const wk_qopts *opts, double *row_stats, wk_err *err);

/* Index of the first NaN/Inf among x[0..n), or -1 (SIMD when available). */
int64_t wk_quant_find_nonfinite(const float *x, int64_t n);

/* ---- error-minimising search (wk_quant_search.c) --------------------------- */

/* Quantize one row of n values into the layout of quant type `type`, choosing each block's
 * scale (and min) to minimise sum w_i (x_i - dequant_i)^2, where w_i =
 * imatrix[i] (finite, >= 0) if imatrix is non-NULL, else 1.  For Q4_0 and
 * Q5_0 the result is the exact minimum over every finite fp16 scale; for the
 * other types a local search.  Never worse than the reference quantizer on
 * that measure (it is one of the candidates); a block whose reference scale
 * overflows fp16 is left as the reference wrote it (wk_quantize_rows then
 * refuses it).  Deterministic: the same bytes on every thread count. */
void wk_quantize_row_search(int type, const float *x, void *y, int64_t n,
                            const float *imatrix);
/* 1 if the search has an algorithm for `type` (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K
 * Q5_K Q6_K); for the others wk_quantize_row_search writes the reference's
 * blocks and wk_quantize_rows refuses WK_QK_SEARCH (WK_E_UNSUPPORTED). */
int wk_quant_search_supported(int type);

#endif
