/* wk_xorcheck.h — post-decode validation of a checkpoint without a manifest.
 *
 * Many XOR releases publish no hashes.  Decoding against the wrong base still
 * gives a file of the right length, often even a readable checkpoint (when
 * both bases have the same layout the zip and pickle bytes cancel out), but
 * the tensor values are bit noise: NaN/Inf and absurd magnitudes
 * (wk_stats.h).  This module opens a decoded .bin (torch zip) or
 * .safetensors file with weightkit's readers, summarises every floating
 * tensor with wk_stats, and lists the tensors that look like noise.  It is a
 * plausibility check, never a verification: a clean result says the values
 * look like trained weights, not that they are the publisher's.  Nothing
 * here prints. */
#ifndef WK_XORCHECK_H
#define WK_XORCHECK_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_stats.h"

#define WK_XORCHECK_MAX_LISTED 16 /* flagged tensors kept with their stats */

typedef struct {
    char name[128];          /* tensor name (cut if longer) */
    wk_tensor_stats stats;   /* flags != 0 */
} wk_xorcheck_tensor;

typedef struct {
    int checked;             /* 1: the file was a checkpoint and was read */
    int unreadable;          /* 1: named like a checkpoint but did not open (msg in why) */
    char why[WK_ERR_MSG_MAX];
    uint64_t tensors;        /* floating tensors summarised */
    uint64_t skipped;        /* non-floating tensors (not summarised) */
    uint64_t flagged;        /* tensors that look like noise */
    size_t n_listed;         /* first min(flagged, WK_XORCHECK_MAX_LISTED) ... */
    wk_xorcheck_tensor listed[WK_XORCHECK_MAX_LISTED];
} wk_xorcheck;

/* 1 if a file called name is checked (*.bin torch zip, *.safetensors,
 * *.pth, *.pt), else 0 (JSON, tokenizer files). */
int wk_xorcheck_wants(const char *name);

/* 1 if the result says the file is suspect (unreadable or any tensor flagged). */
int wk_xorcheck_suspect(const wk_xorcheck *c);

/* Check the file at path: open it as a checkpoint, summarise every floating
 * tensor.  An unreadable checkpoint is a result (unreadable = 1, the
 * reader's message in why), not a failure.  Returns -1 only on OOM
 * (WK_E_NOMEM).  Safe to call from several threads on different files. */
int wk_xorcheck_file(const char *path, wk_xorcheck *out, wk_err *err);

#endif
