/* wk_xormeta.h — XOR-decode against a base produced on the fly from Meta's
 * original LLaMA checkpoint (wk-xor decode --base-meta), trying the known
 * converter profiles.
 *
 * An XOR payload was made against one specific HF conversion of the base;
 * another transformers/torch version writes other bytes and the decode gives
 * garbage.  Here every candidate profile (transformers version string ×
 * torch.save layout × fast or slow tokenizer files) is a wk_convert engine over one opened checkpoint; the
 * base bytes of a payload file are streamed from an engine through a
 * wk_xorbase ring straight into the decoder, never written to disk, memory
 * O(tensor chunk + ring).
 *
 * Per payload file:
 *   1. candidates: the profiles that produce a file of that name; profiles
 *      whose bytes for it are identical (same size and same first
 *      WK_XORMETA_PREFIX bytes) form one group, decoded at most once;
 *   2. ranking, cheap: decoded size (raw payload size, or the gzip ISIZE) equal
 *      to the group's file size; then the decoded first bytes must be the
 *      profile's structure: a torch zip local header for <archive>/data.pkl,
 *      a pickle that loads with exactly the profile's tensor names, and the
 *      next record header (.bin); a safetensors header naming the profile's
 *      tensors; a JSON document (JSON files);
 *   3. passes in rank order: with an expected digest, the first untried
 *      group and every untried group that ties with it (same size verdict
 *      and structural score; the preference only orders them; at most
 *      1 + WK_XS_MAX) share ONE pass: the first group's output is written,
 *      the others are hashed beside it and only their differing bytes kept
 *      (wk_xorshadow.h); the group whose hash matches wins, its bytes patched
 *      in before the commit.  A candidate whose differing bytes pass the
 *      patch cap drops out and gets a full pass of its own later, as does
 *      every group after a tie set that did not match.  Without a digest
 *      each group gets its own pass in rank order (nothing could tell tied
 *      outputs apart but their structure): the first whose output passes the
 *      structural check (checkpoints: opens with the reader and no tensor
 *      looks like noise, wk_xorcheck; JSON: parses) is kept, and the result
 *      is unverified.
 * Nothing here prints. */
#ifndef WK_XORMETA_H
#define WK_XORMETA_H

#include <stddef.h>
#include <stdint.h>
#include "wk_convert.h"
#include "wk_err.h"
#include "wk_xor.h"
#include "wk_xorcheck.h"

#define WK_XORMETA_PREFIX (256u << 10) /* bytes decoded for the structural ranking */
#define WK_XORMETA_MAX_PROFILES 64

typedef struct wk_xormeta wk_xormeta;

/* Open the Meta checkpoint in llama_dir (tokenizer.model from tokenizer, or
 * found in llama_dir or its parent when NULL) and plan one engine per
 * candidate profile that can represent the model (transformers versions
 * 4.28.0.dev0 .. 4.32.1 × torch 1.13 / 2.1 × the fast tokenizer files
 * (tokenizer.json; a unigram or tiktoken tokenizer has the slow ones only) or the slow ones; weights as .safetensors when
 * safetensors).  Fails with the reader's error, or WK_E_UNSUPPORTED when no
 * profile can convert the model. */
wk_xormeta *wk_xormeta_open(const char *llama_dir, const char *tokenizer, int safetensors,
                            int threads, wk_err *err);
/* The same with the candidates restricted to the one profile named exactly
 * `profile` (as wk_xormeta_profile_name gives it; NULL: all): only that engine
 * is planned.  WK_E_USAGE listing the valid names (as many as fit in the
 * message) when the model allows no profile of that name. */
wk_xormeta *wk_xormeta_open_profile(const char *llama_dir, const char *tokenizer, int safetensors,
                                    int threads, const char *profile, wk_err *err);
void wk_xormeta_close(wk_xormeta *m); /* safe on NULL */

size_t wk_xormeta_profile_count(const wk_xormeta *m);
/* "transformers 4.28.0.dev0, torch 1.13" */
const char *wk_xormeta_profile_name(const wk_xormeta *m, size_t k);
/* The engine of profile k (e.g. to list its files). */
wk_convert *wk_xormeta_engine(const wk_xormeta *m, size_t k);

/* Outcome of one attempt (a profile group) on one file. */
typedef enum {
    WK_XM_NOT_TRIED = 0,  /* ranked, no full pass needed */
    WK_XM_MATCH,          /* hash matched the expected digest */
    WK_XM_MISMATCH,       /* full pass, hash differs */
    WK_XM_PLAUSIBLE,      /* no digest: the output passed the structural check (kept) */
    WK_XM_IMPLAUSIBLE,    /* no digest: the output failed the structural check */
    WK_XM_ERROR           /* the pass failed (see the file's err) */
} wk_xm_outcome;

typedef struct {
    uint64_t profiles;    /* bit k: profile k is in this group */
    uint64_t size;        /* the group's file size */
    int size_ok;          /* decoded size hint equals size (-1: no hint) */
    int score;            /* structural score of the decoded prefix (higher = better) */
    int score_max;        /* the best score possible for this kind of file */
    wk_xm_outcome outcome;
} wk_xm_group;

typedef struct {
    wk_xm_group groups[WK_XORMETA_MAX_PROFILES];
    size_t n_groups;
    int chosen;           /* group index kept, -1 none */
    uint64_t matched;     /* profile bits of the chosen group */
    int verified;         /* 1 digest matched; 0 structural choice only */
    size_t passes;        /* passes over the payload made (convert + inflate + XOR + hash + write) */
    size_t alongside;     /* candidates judged by hash beside another's pass (no pass of their own) */
    int checked;          /* no digest: the tensor check of the kept output ran ... */
    wk_xorcheck check;    /* ... with this result (not suspect) */
} wk_xm_file;

typedef struct {
    wk_payload_kind kind;
    int pipeline;
    wk_inflate_engine engine;
    int check_tensors;    /* without a digest, also require wk_xorcheck to pass (.bin/.safetensors) */
    uint64_t prefer;      /* profile bits to rank first among equals (e.g. the shards' match) */
    wk_progress_fn progress; /* payload bytes of the current pass; may be NULL */
    void *progress_ctx;
    uint64_t max_output;  /* per-file cap (0 = 2 x the converted base file + 64 MiB) */
    wk_xor_judge judge;   /* fn may be NULL: a last word on a pass's output before
                             it is committed (after the digest / plausibility) */
} wk_xm_opts;

/* Decode the payload it->src into it->out for the file called it->name
 * (expected digest it->expect when it->has_expect) as described above, and
 * record the outcome in it->res / *f.  Returns 0 when a group was kept; -1
 * with WK_E_MISMATCH (nothing matched: the message lists the profiles
 * tried), WK_E_USAGE (no profile makes such a file) or another error.  A
 * pass is judged (digest, or plausibility: JSON parses, tensor check) on its
 * temporary file: only a kept pass is renamed over it->out, so on failure
 * whatever was under it->out before is left as it was.  Safe to run concurrently on
 * different items. */
int wk_xormeta_decode(wk_xormeta *m, wk_xor_item *it, const wk_xm_opts *o, wk_xm_file *f,
                      wk_err *err);

/* "transformers 4.28.0.dev0, torch 1.13 (+2 equivalent)" style summary of a
 * set of profile bits into buf. */
const char *wk_xormeta_describe(const wk_xormeta *m, uint64_t bits, char *buf, size_t cap);

#endif
