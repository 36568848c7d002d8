/* wk_insp.h — the inspection engine behind wk-inspect: one tensor list for
 * every checkpoint format (PyTorch zip, GGUF, safetensors, HF / Meta
 * directories through wk_source; the reader is picked by magic / directory),
 * the --pickle opcode listing, --stats value statistics with the noise check,
 * the JSON report of a file, and the check of wk-pack's per-tensor digests.
 *
 *   wk_insp_file f;
 *   if (wk_insp_open(path, &opts, &f, err)) ...;   // f.listing may still be set
 *   for (i = 0; i < f.n; i++) { wk_insp_row r; f.row(f.h, i, &r); ... }
 *   wk_insp_close(&f);
 *
 * Nothing here prints. */
#ifndef WK_INSP_H
#define WK_INSP_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_gguf.h"
#include "wk_json.h"
#include "wk_safetensors.h"
#include "wk_stats.h"
#include "wk_tensor.h"

typedef struct {
    int pickle;        /* also the data.pkl opcode listing (torch files) */
    int threads;       /* threads for opening Meta ranks */
} wk_insp_opts;

/* One tensor as every format describes it. */
typedef struct {
    const char *name;
    char type[24];                /* dtype name in the format's own spelling */
    int ndim;
    int64_t shape[WK_MAX_DIMS];   /* row-major: outermost first (GGUF: ne reversed) */
    int64_t numel;
    uint64_t bytes;
    uint64_t data_offset;         /* offset of the first byte in its file */
    int has_offset;               /* 0: not stored in one place (merged Meta ranks) */
    int contiguous;
    int stat_type;                /* ggml type id for wk_stats, -1 = not floating */
    const char *file;             /* directories: the file holding it; else NULL */
    const wk_tensor_info *pth;    /* torch rows: strides etc. for JSON */
    const wk_gguf_tensor *gg;     /* GGUF rows: ne[] and type id for JSON */
} wk_insp_row;

/* What one format reader gives back: a tensor list plus a few facts. */
typedef struct {
    const char *format;         /* "pytorch-zip", "gguf", "safetensors", "directory" */
    char detail[256];           /* e.g. "archive 'x', pickle protocol 2" */
    size_t n;
    void (*row)(const void *h, size_t i, wk_insp_row *r);
    /* --stats of tensor i (row r): wk_stats_* result. */
    int (*stats)(const void *h, size_t i, const wk_insp_row *r, uint8_t **scratch, size_t *cap,
                 wk_tensor_stats *out, wk_err *err);
    const void *h;
    int has_storages;           /* torch: storages / skipped entries are meaningful */
    size_t skipped;             /* non-tensor entries */
    size_t storages;
    uint64_t storage_bytes;
    char *listing;              /* --pickle: opcode listing (malloc'd) or NULL */
    const wk_gguf *gguf;        /* --meta sources */
    const wk_st *st;
    void *state;                /* the reader's handle, closed by wk_insp_close */
    void (*close)(void *state);
} wk_insp_file;

typedef struct {
    uint64_t files, tensors, params, bytes;
} wk_insp_totals;

/* Open path with the reader its magic (or being a directory) calls for.  On
 * failure f->listing may hold the --pickle listing of a refused pickle; call
 * wk_insp_close(f) either way. */
int wk_insp_open(const char *path, const wk_insp_opts *o, wk_insp_file *f, wk_err *err);
/* Close the reader and free the listing.  Safe after a failed open. */
void wk_insp_close(wk_insp_file *f);

/* ---- --stats ---- */

typedef struct {
    wk_tensor_stats *s;   /* one per tensor */
    unsigned char *done;  /* 1 computed, 0 skipped (not floating) */
    size_t computed, skipped, flagged;
    size_t first_flagged;
} wk_insp_stats;

/* Statistics of every floating tensor of f into *st (wk_insp_stats_free). */
int wk_insp_stats_compute(const wk_insp_file *f, wk_insp_stats *st, wk_err *err);
void wk_insp_stats_free(wk_insp_stats *st);
/* --strict: -1 with a WK_E_FORMAT message naming the first flagged tensor
 * when st flagged any, else 0. */
int wk_insp_strict_check(const char *path, const wk_insp_file *f, const wk_insp_stats *st, wk_err *err);

/* ---- JSON ---- */

/* The JSON object of one file (path, format, detail, metadata with meta,
 * tensors, totals, storages, pickle, stats when st); adds it to *tot. */
wk_json *wk_insp_json_file(const char *path, const wk_insp_file *f, const wk_insp_stats *st, int meta,
                           wk_insp_totals *tot, wk_err *err);
/* {"tensors", "params", "bytes"}. */
wk_json *wk_insp_json_totals(uint64_t n, uint64_t params, uint64_t bytes, wk_err *err);

/* ---- --verify ---- */

/* Per tensor: status 0 OK, 1 FAILED, 2 no digest; got / want the hex digests (may be NULL). */
typedef void (*wk_insp_verify_fn)(void *ctx, const char *tensor, int status, const char *got,
                                  const char *want);

typedef struct {
    size_t n;                 /* tensors checked */
    size_t ok, failed, missing;
    const char *first_failed;
    char first_failed_buf[256];
    wk_json *tensors;         /* json: per-tensor results */
    int oom;
} wk_insp_verify_result;

/* Recompute the per-tensor digests of path (GGUF, safetensors or a
 * safetensors directory), calling fn per tensor (may be NULL); with json,
 * v->tensors gets one object per tensor.  WK_E_FORMAT when the file carries
 * no digests, WK_E_MISMATCH naming the first failed tensor.  Free
 * v->tensors with wk_json_free (wk_insp_verify_json takes it). */
int wk_insp_verify(const char *path, int json, wk_insp_verify_fn fn, void *ctx,
                   wk_insp_verify_result *v, wk_err *err);
/* The JSON object of a verified file (takes v->tensors); rc and err are
 * wk_insp_verify's outcome.  NULL when out of memory. */
wk_json *wk_insp_verify_json(const char *path, wk_insp_verify_result *v, int rc, wk_err *err);

#endif
