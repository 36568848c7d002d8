/* wk_source.h — one tensor-source interface over every input weightkit reads.
 *
 * wk_source_open() takes a directory or a single file and recognises:
 *   - a GGUF file (magic "GGUF");
 *   - a PyTorch zip checkpoint (.pth / .bin, magic "PK\3\4");
 *   - a safetensors file (anything else that validates as one);
 *   - an HF directory: model.safetensors.index.json, model.safetensors,
 *     pytorch_model.bin.index.json or pytorch_model.bin (first found, in this
 *     order; every index entry must be in the shard it names, and no name may
 *     occur in two shards);
 *   - a Meta directory: params.json + consolidated.NN.pth (one or more
 *     model-parallel ranks, validated by wk_llama_open and merged on the fly:
 *     names stay Meta's, rope.freqs is dropped).
 * Every file is mapped read-only.  The source lists its tensors (name, dtype,
 * shape in row-major order: outermost dimension first, as torch and
 * safetensors write it; for GGUF the reverse of ggml's ne[]), gives a
 * zero-copy pointer where the bytes are stored contiguously, or copies them
 * contiguously (row-major) into a caller's buffer.  Reads never modify the
 * source and may run concurrently from several threads. */
#ifndef WK_SOURCE_H
#define WK_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_gguf.h"
#include "wk_llama.h"
#include "wk_progress.h"
#include "wk_safetensors.h"
#include "wk_sink.h"
#include "wk_tensor.h"

typedef enum {
    WK_SOURCE_PTH = 0,      /* one torch zip file */
    WK_SOURCE_SAFETENSORS,  /* one safetensors file */
    WK_SOURCE_GGUF,         /* one GGUF file */
    WK_SOURCE_HF_BIN,       /* HF directory with pytorch_model*.bin */
    WK_SOURCE_HF_ST,        /* HF directory with model*.safetensors */
    WK_SOURCE_META          /* Meta directory (params.json + consolidated.NN.pth) */
} wk_source_kind;

/* "pth", "safetensors", "gguf", "hf-bin", "hf-safetensors", "meta". */
const char *wk_source_kind_name(wk_source_kind k);

/* The single-file format of path from its first n bytes (n >= 9 wanted; fewer
 * for short files): "GGUF" -> WK_SOURCE_GGUF, "PK" -> WK_SOURCE_PTH; with no known
 * magic, the extension decides (.gguf, .safetensors, .pth/.pt/.bin/.ckpt), so a
 * damaged file gets its own reader's message ("bad magic", "empty file", "tar
 * archive"); then a safetensors-like head (byte 8 is '{' or JSON whitespace).
 * -1 if nothing matches.  Shared by wk_source_open and wk-inspect. */
int wk_source_guess(const char *path, const uint8_t *head, size_t n);

typedef struct {
    const char *name;
    wk_dtype dtype;         /* WK_DT_COUNT when not a plain dtype (quantized GGUF tensor) */
    int ggml_type;          /* GGUF sources: the stored ggml type; -1 otherwise */
    int ndim;               /* 0..WK_MAX_DIMS */
    int64_t shape[WK_MAX_DIMS];
    uint64_t nbytes;        /* bytes of the contiguous data */
    size_t file;            /* index into the source's files (rank 0 for Meta) */
} wk_source_tensor;

typedef struct wk_source wk_source;

/* Open path (file or directory) as described above.  threads: for opening
 * Meta ranks in parallel (<= 0 = default).  NULL with *err on failure: the
 * reader's error (naming file, tensor, offset), WK_E_USAGE if a directory
 * holds nothing recognisable (the message lists what was looked for). */
wk_source *wk_source_open(const char *path, int threads, wk_err *err);
void wk_source_close(wk_source *s);   /* safe on NULL */

wk_source_kind wk_source_kind_of(const wk_source *s);
/* The path given to open, and the directory holding it (the path itself for
 * a directory input): where config.json / params.json / tokenizer.model are
 * looked for. */
const char *wk_source_path(const wk_source *s);
const char *wk_source_dir(const wk_source *s);
/* The files read (shards / ranks), for messages, the "refuse to overwrite an
 * input" check and the benchmark.  Total input bytes too. */
size_t wk_source_file_count(const wk_source *s);
/* Every file read for s (shards, ranks, params.json, the index), as the set
 * an output must not overwrite and checks unchanged before its commit
 * (wk_inputs.h).  Owned by s; a reader of auxiliary files for this source
 * (config.json, the tokenizer files: wk_gguf_llama) adds them to it. */
wk_inputs *wk_source_inputs(const wk_source *s);
const char *wk_source_file(const wk_source *s, size_t i);
uint64_t wk_source_bytes(const wk_source *s);

size_t wk_source_count(const wk_source *s);
const wk_source_tensor *wk_source_tensor_at(const wk_source *s, size_t i);
/* Index of the tensor called name, or -1 (hash lookup). */
long wk_source_find(const wk_source *s, const char *name);
/* The largest nbytes of any tensor (buffer size for wk_source_read). */
uint64_t wk_source_max_nbytes(const wk_source *s);

/* Zero-copy: a pointer to tensor i's bytes in the map when they are stored
 * contiguously in one place (always for GGUF and safetensors; for torch
 * files unless the tensor is a strided view; for Meta only with one rank or
 * replicated tensors), else NULL. */
const uint8_t *wk_source_view(const wk_source *s, size_t i);
/* Where wk_source_view's bytes lie in their file: the file index (see
 * wk_source_file) and byte offset.  0 on success; -1 when the tensor is not
 * stored contiguously in one file (merged Meta ranks, strided views).  For
 * an in-kernel copy (copy_file_range) of unchanged tensors. */
int wk_source_file_range(const wk_source *s, size_t i, size_t *file, uint64_t *offset);
/* Copy tensor i's bytes, row-major and contiguous, to dst (cap bytes >=
 * nbytes).  WK_E_USAGE if cap is too small; reader errors otherwise. */
int wk_source_read(const wk_source *s, size_t i, void *dst, size_t cap, wk_err *err);
/* Like wk_source_view when possible, else read into *scratch (grown with
 * realloc as needed; free it when done).  NULL with *err on failure. */
const uint8_t *wk_source_get(const wk_source *s, size_t i, uint8_t **scratch, size_t *scratch_cap,
                             wk_err *err);

/* ---- emitting tensors (the byte producer of wk-pack) ------------------------ */

/* Non-finite values met by wk_source_emit in one tensor (issue #24 item 7):
 * NaN/Inf in the input, and finite input values that the conversion turned
 * into +-Inf (beyond +-65504 to fp16).  Element indices are row-major in the
 * source tensor; UINT64_MAX when there is none. */
typedef struct {
    uint64_t in_bad, first_in;       /* NaN/Inf read */
    uint64_t overflow, first_over;   /* finite -> Inf by the conversion */
} wk_source_nonfinite;

/* 0 if nf (filled by emitting tensor i of s to out_dtype) is clean or
 * allow is set; else WK_E_UNSAFE naming the file, the tensor, the count,
 * the first element and the way out: "PATH: tensor "T": N NaN/Inf values
 * (first at element I) ..." or "... N finite values beyond the range of
 * float16 (first at element I) would become inf ...". */
int wk_source_nonfinite_check(const wk_source *s, size_t i, const wk_source_nonfinite *nf,
                              wk_dtype out_dtype, int allow, wk_err *err);

/* What to do to a tensor's bytes on the way out. */
typedef struct {
    wk_dtype out_dtype;   /* F32 / F16 / BF16 from any of these (rounding to nearest even,
                             as wk_half.h); any dtype to itself = copy */
    int64_t unpermute;    /* > 0: undo HF's q/k row permutation with this many heads:
                             output row h*D + 2i + p = input row h*D + p*D/2 + i
                             (D = rows / heads; rows = outermost dimension) */
    wk_source_nonfinite *nf; /* not NULL: wk_source_emit resets and fills it (F32 / F16 /
                                BF16 inputs; the scan runs on bytes being copied or
                                converted anyway) */
} wk_source_xform;

/* Reusable buffers for wk_source_emit (zero-initialise; free with
 * wk_source_bufs_free). */
typedef struct {
    uint8_t *in, *out;
    size_t in_cap, out_cap;
} wk_source_bufs;
void wk_source_bufs_free(wk_source_bufs *b);

/* Output bytes of tensor i under x. */
int wk_source_out_nbytes(const wk_source *s, size_t i, const wk_source_xform *x, uint64_t *nbytes,
                         wk_err *err);

/* Send tensor i's bytes, transformed by x (NULL = unchanged), to sink in
 * order, in pieces of at most WK_SOURCE_CHUNK bytes (plus one row).  The input is
 * read in place when it is stored contiguously (else copied once into
 * bufs->in); conversions go through bufs->out.  Fails with WK_E_UNSUPPORTED
 * for a conversion between other dtypes (or of a quantized tensor), WK_E_FORMAT
 * if the rows do not split into `unpermute` heads of even size, and sink or
 * reader errors. */
#define WK_SOURCE_CHUNK (4u << 20)
int wk_source_emit(const wk_source *s, size_t i, const wk_source_xform *x, wk_sink *sink,
                   wk_source_bufs *bufs, wk_err *err);

/* XXH3-64 of the bytes wk_source_emit would produce, as 16 lowercase hex
 * digits (canonical order, as xxhsum prints) + NUL into hex. */
int wk_source_digest(const wk_source *s, size_t i, const wk_source_xform *x, wk_source_bufs *bufs,
                     char hex[17], wk_err *err);

/* ---- writing to a file: in-kernel copies of unchanged tensors ---------------- */

/* A sink over the atomic output o for writers fed by wk_source_emit (the
 * GGUF and safetensors writers pass tensor bytes through unchanged): a write
 * of at least WK_SOURCE_KCOPY_MIN bytes that lie inside one of s's input files
 * as mapped — an unchanged tensor emitted in place — goes to wk_out_copy_fd:
 * copied from that file by the kernel (copy_file_range) when the file and
 * output offsets are equal modulo 2 MiB, else (or when the kernel refuses)
 * written from the map; a tee on the sink hashes the bytes from the map; everything else (headers,
 * padding, converted, un-permuted or merged bytes) goes through
 * wk_out_write.  The files are opened read-only on first use.  s and o must
 * outlive the sink.  NULL (WK_E_NOMEM) on failure; the sink fails as
 * wk_out_write / wk_out_copy_fd. */
#define WK_SOURCE_KCOPY_MIN (64u << 10)
typedef struct wk_source_out wk_source_out;
wk_source_out *wk_source_out_new(const wk_source *s, wk_out *o, wk_err *err);
/* The sink (owned by c: valid until wk_source_out_free; add a tee to hash). */
wk_sink *wk_source_out_sink(wk_source_out *c);
void wk_source_out_free(wk_source_out *c);   /* closes the files; safe on NULL */

/* ---- safetensors output ----------------------------------------------------- */

typedef struct {
    int out_dtype;          /* -1 keep; else F32/F16/BF16: every float tensor converted
                               (from a GGUF, or a safetensors made from one: 1-D tensors
                               keep their type, as in GGUF) */
    int digests;            /* add weightkit.xxh3-64.<name> keys (default 1) */
    int threads;            /* digest pass (<= 0 = default) */
    uint64_t shard_size;    /* 0 = one file; else transformers' max_shard_size rule */
    int allow_nonfinite;    /* 0: NaN/Inf, or a value the conversion makes inf, is an error
                               (wk_source_nonfinite_check); 1: passed on and counted */
} wk_source_st_opts;

void wk_source_st_opts_init(wk_source_st_opts *o);

typedef struct wk_source_stplan wk_source_stplan;

/* Plan safetensors output of every tensor of s (names kept).  __metadata__:
 * {"format": "pt"}, then the source's own metadata if it is a safetensors
 * file (its digests dropped), then weightkit.gguf.kv for a GGUF source (its
 * KVs, so that packing back gives the same GGUF), then the digests sorted by
 * tensor name.  Runs the digest pass.  Fails for quantized GGUF tensors
 * (WK_E_UNSUPPORTED) and the writer's errors. */
wk_source_stplan *wk_source_st_plan(const wk_source *s, const wk_source_st_opts *o, wk_progress_fn progress,
                                    void *pctx, wk_err *err);
void wk_source_st_free(wk_source_stplan *p);
/* Shards: 1 = a single file.  Names are "model.safetensors" (1 shard) or
 * "model-%05d-of-%05d.safetensors". */
size_t wk_source_st_shard_count(const wk_source_stplan *p);
const char *wk_source_st_shard_name(const wk_source_stplan *p, size_t k);
uint64_t wk_source_st_shard_size(const wk_source_stplan *p, size_t k);
/* Write shard k to sink; progress gets the bytes of this shard. */
int wk_source_st_write(wk_source_stplan *p, size_t k, wk_sink *sink, wk_progress_fn progress,
                       void *pctx, wk_err *err);
/* NaN/Inf values written (read as such / made by the conversion): known after
 * wk_source_st_plan with digests, else after every shard was written. */
void wk_source_st_nonfinite(const wk_source_stplan *p, uint64_t *in_bad, uint64_t *overflow);
/* model.safetensors.index.json text (for more than one shard). */
int wk_source_st_index(const wk_source_stplan *p, wk_buf *out, wk_err *err);

/* ---- verifying stored digests (for wk-inspect --verify) ---------------------- */

/* Recompute the per-tensor XXH3-64 digests wk-pack stores and compare them:
 * path is a GGUF file, a safetensors file, or a directory of safetensors
 * shards (model.safetensors.index.json or model.safetensors).  cb (may be
 * NULL) is called once per tensor (status 0 match, 1 differs, 2 no digest).
 * *n_tensors (may be NULL) gets the number checked.  0 if every tensor has a
 * matching digest; -1 with WK_E_MISMATCH (a digest differs), WK_E_FORMAT (no
 * digests / malformed file), WK_E_UNSUPPORTED (another format), or the
 * reader's error.  Each file is mapped; nothing is written. */
int wk_source_verify_digests(const char *path, wk_digest_cb cb, void *ctx, size_t *n_tensors,
                             wk_err *err);

/* Format handles for metadata beyond tensors (NULL when not that kind):
 * the GGUF file; the safetensors file (single-file sources); the Meta
 * checkpoint (params, geometry). */
const wk_gguf *wk_source_gguf(const wk_source *s);
const wk_st *wk_source_st(const wk_source *s, size_t file);
const wk_llama_ckpt *wk_source_meta(const wk_source *s);

#endif
