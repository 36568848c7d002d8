/* wk_xor.h — XOR-diff payloads (the xor_codec.py scheme), streamed in one pass.
 *
 * A payload file is `target XOR base`, byte by byte, optionally gzip-compressed.
 * The length rule is xor_codec.py's: the output has exactly the payload's
 * length; a base shorter than the payload is extended with zero bytes, a longer
 * base is cut.  See docs/formats/xor-diff.md for the full specification.
 *
 * Layers, bottom up:
 *   wk_xor_apply      the XOR kernel with the length rule;
 *   wk_payload        a payload reader: raw or gzip (detected by the magic
 *                     1f 8b), multi-member gzip, chunked avail_in for inputs
 *                     beyond 4 GiB, errors naming the file and byte offset;
 *   wk_gz_write       a deterministic pigz-style gzip writer: fixed-size blocks
 *                     compressed in parallel, joined as one gzip member, bytes
 *                     independent of the thread count;
 *   wk_xor_decode_file / wk_xor_encode_file   one file, atomically (wk_out),
 *                     SHA-256 of the output computed as it is written;
 *   wk_xor_plan / wk_xor_run   a directory, as xor_codec.py processes it,
 *                     with files in parallel and a hook after each file.
 * Nothing here prints; progress goes through wk_progress_fn callbacks. */
#ifndef WK_XOR_H
#define WK_XOR_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_hash.h"
#include "wk_io.h"
#include "wk_manifest.h"
#include "wk_progress.h"
#include "wk_xorbase.h"

/* ---- the XOR kernel ----------------------------------------------------- */

/* dst[i] = src[i] ^ B(off + i) for i < n, where B(k) = base[k] for
 * k < base_len and 0 beyond (zero extension; a longer base is simply not read
 * past the payload).  dst may equal src (in place); other overlaps are not
 * allowed.  Never fails. */
void wk_xor_apply(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *base,
                  uint64_t base_len, uint64_t off);

/* ---- payload reader ----------------------------------------------------- */

typedef enum {
    WK_PAYLOAD_AUTO, /* gzip if the file starts with 1f 8b, raw otherwise */
    WK_PAYLOAD_RAW,  /* bytes as they are */
    WK_PAYLOAD_GZIP  /* must be gzip (error otherwise) */
} wk_payload_kind;

typedef struct wk_payload wk_payload;

/* Open the file at path read-only (read later with pread, 4 MiB at a time)
 * and prepare to read its decoded bytes.  A file that shrinks while it is
 * read gives WK_E_IO naming the offset.
 * Fails with WK_E_IO (unreadable) or WK_E_FORMAT (GZIP requested, no magic). */
wk_payload *wk_payload_open(const char *path, wk_payload_kind kind, wk_err *err);

/* The same over n bytes at p (not copied; must outlive the reader); `label`
 * names the source in messages. */
wk_payload *wk_payload_open_mem(const void *p, size_t n, const char *label,
                                wk_payload_kind kind, wk_err *err);

/* Inflate implementations: ISA-L's igzip (about twice as fast as zlib on these
 * payloads) when built with WK_HAVE_ISAL (libisal-dev found at configure time,
 * -DWK_WITH_ISAL=AUTO|ON) — the default then; zlib always (the fallback, and
 * WK_INFLATE_ZLIB).  AUTO means ISA-L when built in, else zlib.  Both check each
 * member's CRC-32 and length; with ISA-L the fixed header (method 8, no
 * reserved FLG bits) is checked here first, as zlib does, and the
 * consumed-input position never exceeds the file size (docs/security.md
 * findings 3, 4, 7; tests/fuzz/fuzz_xor.c compares the two engines). */
typedef enum { WK_INFLATE_AUTO, WK_INFLATE_ZLIB, WK_INFLATE_ISAL } wk_inflate_engine;

/* Choose the engine before the first read.  Fails with WK_E_UNSUPPORTED when
 * ISAL is asked for and not built in, WK_E_USAGE after reading started. */
int wk_payload_set_engine(wk_payload *r, wk_inflate_engine e, wk_err *err);

/* "zlib", or "isa-l (default), zlib" — for --version and reports. */
const char *wk_inflate_engines(void);

/* Read up to cap decoded bytes into buf; *got = 0 means the end.  A gzip
 * stream is read member after member (zero padding after a member is
 * accepted, as GNU gzip and Python do).  Fails with WK_E_FORMAT naming the
 * file and compressed byte offset on corrupt data, a bad CRC or length,
 * trailing garbage, or a truncated stream. */
int wk_payload_read(wk_payload *r, uint8_t *buf, size_t cap, size_t *got, wk_err *err);

int wk_payload_is_gzip(const wk_payload *r);
/* gzip members completed so far (0 for raw). */
unsigned wk_payload_members(const wk_payload *r);
/* Size of the payload file, and how much of it has been consumed. */
uint64_t wk_payload_in_size(const wk_payload *r);
uint64_t wk_payload_in_pos(const wk_payload *r);
/* Largest avail_in handed to zlib at once (default 1 GiB, must stay below
 * 4 GiB since avail_in is 32-bit).  Tests shrink it to exercise refills. */
void wk_payload_set_chunk(wk_payload *r, size_t max_in);
/* Close and free; safe on NULL. */
void wk_payload_close(wk_payload *r);

/* ---- deterministic parallel gzip writer -------------------------------- */

/* Uncompressed bytes per independently compressed block.  Fixed (never
 * derived from the thread count) so the output bytes are the same for any -j. */
#define WK_GZ_BLOCK (1u << 20)
#define WK_GZ_DICT (32u << 10) /* dictionary: the last 32 KiB of the previous block */

/* Write input bytes [off, off+n), in order, into sink (a sink over the
 * block's input buffer that the writer provides); 0, or -1 with err set
 * (sink errors passed up).  Called from several threads at once (each with
 * its own sink and err), possibly more than once for a range (dictionaries):
 * must give the same bytes every time. */
typedef int (*wk_gz_fill_fn)(void *ctx, uint64_t off, size_t n, wk_sink *sink, wk_err *err);
/* Called in order, from one thread, after block [off, off+n) was written;
 * -1 (err set) stops the write. */
typedef int (*wk_gz_block_fn)(void *ctx, uint64_t off, size_t n, wk_err *err);

typedef struct {
    int level;                 /* 1..9; 0 = 6 */
    int threads;               /* <= 0: all cores; does not change the output */
    wk_gz_block_fn block_done; /* may be NULL */
    void *ctx;                 /* for block_done */
} wk_gz_opts;

/* Write one gzip member (mtime 0, no name, OS 255) holding the n bytes that
 * `fill` produces, to out (label names it in messages).  The deflate stream
 * is a chain of WK_GZ_BLOCK blocks, each compressed on its own with the
 * previous 32 KiB as preset dictionary and ended by a sync flush (the last by
 * Z_FINISH); CRC-32 parts are joined with crc32_combine.  Memory: 2 x threads
 * blocks (at most the blocks there are).  Fails on a fill, block_done or
 * write error (out's first error), or OOM. */
int wk_gz_write(wk_sink *out, const char *label, uint64_t n, wk_gz_fill_fn fill, void *fill_ctx,
                const wk_gz_opts *opts, wk_err *err);

/* ---- one file ------------------------------------------------------------ */

typedef struct {
    uint8_t sha256[WK_MANIFEST_DIGEST]; /* decode: of the output; encode: of the target */
    uint64_t out_bytes;                 /* bytes written */
    uint64_t in_bytes;                  /* payload (decode) / target (encode) file size */
    uint64_t base_bytes;
    int gzip;                           /* decode: payload was gzip; encode: wrote gzip */
    unsigned members;                   /* decode: gzip members read */
    int verified;                       /* 1 matched, 0 mismatched, -1 nothing expected */
    int committed;                      /* the output exists under its final name */
} wk_xor_result;

/* Decoded bytes handed from inflate to the XOR/hash/write stage at once (the
 * largest chunk a wk_xor_shadow sees). */
#define WK_XOR_SLOT (1u << 20)

/* A watcher of a decode against a sequential base (base_fn), for trying
 * other candidate bases in the same pass (wk_xormeta):
 *   chunk   on the writer thread, for every chunk in order, before it is
 *           XOR'd: pl = the decoded payload bytes of output [pos, pos+n),
 *           base = the base's bytes for them (m <= n; zero beyond m), h = the
 *           output's SHA-256 over [0, pos) (may be cloned, not changed);
 *   finish  once the output is complete, before its digest is compared with
 *           the expected one: o is the output (wk_out_pwrite may patch bytes
 *           written) and sha its SHA-256, which finish replaces by the
 *           patched output's when it patched.
 * Either returning -1 (err set) fails the decode (nothing is committed). */
typedef struct {
    int (*chunk)(void *ctx, const uint8_t *pl, const uint8_t *base, size_t m, size_t n,
                 uint64_t pos, const wk_hash *h, wk_err *err);
    int (*finish)(void *ctx, wk_out *o, uint8_t *sha, wk_err *err);
    void *ctx;
} wk_xor_shadow;

typedef struct {
    const char *payload;     /* payload file */
    const char *base;        /* base file; NULL = none (output = decoded payload) */
    const char *out;         /* final output path */
    wk_payload_kind kind;
    const uint8_t *expect;   /* expected SHA-256 of the output, or NULL */
    int keep_bad;            /* on mismatch, still commit the output */
    int pipeline;            /* 1: hash+write on a second thread while inflating */
    wk_progress_fn progress; /* payload bytes consumed of in_bytes; may be NULL */
    void *progress_ctx;
    wk_inflate_engine engine;
    wk_xorbase_fn base_fn;   /* instead of base: a producer that pushes the base bytes
                                in order (wk_xorbase.h); base must then be NULL */
    void *base_ctx;
    const char *base_label;  /* names base_fn's bytes in messages */
    uint64_t base_size;      /* with base_fn: how many bytes it yields (for the default cap) */
    uint64_t max_output;     /* decoded bytes allowed: 0 = WK_XOR_MAX_OUTPUT_DEFAULT(base size),
                                UINT64_MAX = no limit */
    const wk_inputs *base_inputs; /* the files base_fn reads (may be NULL): never overwritten,
                                     checked unchanged before the commit, as payload and base */
} wk_xor_decode_args;

/* The default cap on a decoded file: 2 x its base file + 64 MiB (an XOR
 * output is as long as its payload, which a real release makes as long as the
 * fine-tuned file: never far from the base's size). */
#define WK_XOR_MAX_OUTPUT_DEFAULT(base_bytes) (2 * (uint64_t)(base_bytes) + ((uint64_t)64 << 20))

/* Decode one payload to a temporary file next to a->out, hashing the bytes as
 * they are written (the base read by offset from a->base, or sequentially from
 * a->base_fn running on its own thread); rename to a->out when no digest is expected or it matches.
 * On mismatch the file is removed (committed anyway with keep_bad) and -1 is
 * returned with WK_E_MISMATCH, "expected .. got ..".  Other failures (missing
 * base, corrupt or truncated gzip, an input that changed size or mtime while
 * it was read, write error) leave nothing under a->out.  A payload that decodes
 * to more than the cap (a->max_output; a gzip bomb, issue #24 item 13) fails
 * with WK_E_LIMIT as soon as it passes the cap, and a raw payload larger than
 * the free space of the output's file system (statvfs) fails before anything
 * is written (WK_E_IO); neither leaves a file.
 * res is filled as far as the work got. */
int wk_xor_decode_file(const wk_xor_decode_args *a, wk_xor_result *res, wk_err *err);

/* The same, also writing every output byte, in order, into tap after the
 * file (on the writer thread when pipelined; e.g. a sink over a
 * wk_xorcheck_stream); a tap error fails the decode.  tap NULL =
 * wk_xor_decode_file. */
int wk_xor_decode_file_tap(const wk_xor_decode_args *a, wk_sink *tap, wk_xor_result *res,
                           wk_err *err);

/* Judge a decoded output before it is committed (renamed over a->out): called
 * once its bytes are complete, flushed to the temporary file `tmp`, and
 * res->sha256 / res->verified are set — never after a digest mismatch (the
 * digest decides then).  Return 0 to commit.  Return -1 with err set to fail
 * the decode: the temporary is removed and whatever was under a->out before
 * stays as it was — unless the judge set *keep = 1 (--keep-bad), which
 * commits the output anyway (the decode still fails, res->committed = 1). */
typedef int (*wk_xor_judge_fn)(void *ctx, const char *tmp, const wk_xor_result *res, int *keep,
                               wk_err *err);
typedef struct {
    wk_xor_judge_fn fn;
    void *ctx;
} wk_xor_judge;

/* wk_xor_decode_file_tap with a judge (NULL: none) deciding the commit. */
int wk_xor_decode_file_judged(const wk_xor_decode_args *a, wk_sink *tap, const wk_xor_judge *judge,
                              wk_xor_result *res, wk_err *err);

/* The same with a shadow (NULL: none; used only with a->base_fn) watching
 * the pass; its finish runs before the digest is compared and the judge is
 * asked, so a patched output is what both see. */
int wk_xor_decode_file_shadowed(const wk_xor_decode_args *a, wk_sink *tap,
                                const wk_xor_judge *judge, const wk_xor_shadow *shadow,
                                wk_xor_result *res, wk_err *err);

typedef struct {
    const char *target;      /* the fine-tuned file */
    const char *base;        /* base file; NULL = copy target verbatim */
    const char *out;         /* final payload path */
    int gzip;                /* 1: gzip payload (wk_gz_write), 0: raw */
    int level;               /* gzip level 1..9, 0 = 6 */
    int threads;             /* compression threads, <= 0 all cores */
    wk_progress_fn progress; /* target bytes done of in_bytes; may be NULL */
    void *progress_ctx;
} wk_xor_encode_args;

/* Encode one file: payload = target XOR base (length of target), atomically.
 * res->sha256 is the target's SHA-256 (what a decoder will verify). */
int wk_xor_encode_file(const wk_xor_encode_args *a, wk_xor_result *res, wk_err *err);

/* ---- a directory --------------------------------------------------------- */

typedef enum {
    WK_XOR_DO_XOR,     /* out = src XOR base */
    WK_XOR_DO_COPY,    /* no base file (added_tokens.json): out = decoded src */
    WK_XOR_DO_SKIP,    /* not processed (documentation, subdirectory) */
    WK_XOR_DO_MISSING  /* named by the manifest, absent from the source dir */
} wk_xor_action;

typedef struct {
    char *name;
    char *src;               /* payload (decode) or fine-tuned file (encode) */
    char *base;              /* NULL unless action is XOR */
    char *out;
    uint64_t src_bytes;
    wk_xor_action action;
    int has_expect;
    uint8_t expect[WK_MANIFEST_DIGEST];
    int status;              /* 0 ok (or not run yet), -1 failed (see err) */
    int base_missing;        /* planning found no base file of this name (status -1) */
    wk_xor_result res;
    wk_err err;
} wk_xor_item;

typedef struct {
    wk_xor_item *items;      /* sorted by name (bytewise) */
    size_t n;
    int encode;
} wk_xor_plan;

/* List the files of dir that a manifest may cover (for verify, which hashes
 * them as sha256sum does): regular files and symbolic links to regular files,
 * not hidden, not documentation (*.md, LICENSE*), sorted bytewise.  (A plan,
 * wk_xor_plan_make, refuses links instead: their bytes would be decoded or
 * encoded.)  *names is a malloc'd array of malloc'd strings. */
int wk_xor_list_dir(const char *dir, char ***names, size_t *n, wk_err *err);
void wk_xor_free_names(char **names, size_t n);

/* Pair every entry of src_dir with base_dir/<name> and dst/<name>, the way
 * xor_codec.py walks a directory: every regular file is processed; a file
 * with no base counterpart is an error, except added_tokens.json, which is
 * taken as it is (COPY), as the script copies it; hidden files, *.md,
 * LICENSE* and subdirectories are SKIP.  Per-file problems (missing base) are
 * recorded in the item (status -1), not returned.  Fails only on an
 * unreadable src_dir or OOM. */
int wk_xor_plan_make(wk_xor_plan *p, const char *dst, const char *src_dir,
                     const char *base_dir, int encode, wk_err *err);
void wk_xor_plan_free(wk_xor_plan *p);

/* Attach the manifest's digests to the items of the same name; add a MISSING
 * item (status -1) for each manifest name that has no file.  Items the
 * manifest does not name keep has_expect 0 (unverified). */
int wk_xor_plan_expect(wk_xor_plan *p, const wk_manifest *m, wk_err *err);

/* How well a manifest fits a set of names: 0 = the same set; k > 0 = the same
 * set except k auxiliary files the manifest leaves out (added_tokens.json,
 * special_tokens_map.json: model cards often omit them); -1 = no fit. */
long wk_xor_manifest_fit(const wk_manifest *m, char *const *names, size_t n);

/* Among the *.sha256 files of the given directories (missing directories are
 * skipped; a file reached twice counts once), find the manifest that fits
 * names best.  Returns 0 with *path a malloc'd path (resolved by realpath), or
 * 0 with *path NULL when none fits; -1 on a malformed candidate or when two
 * manifests fit equally well (WK_E_USAGE naming both). */
int wk_xor_find_manifest(const char *const *dirs, size_t ndirs, char *const *names, size_t n,
                         char **path, wk_err *err);

/* Called after each file was decoded, before it is committed (a wk_xor_judge
 * for the item: tmp is the temporary holding its complete bytes, it->res is
 * filled; see wk_xor_judge_fn), from the worker thread that decoded it:
 * several calls may run at once.  Returning -1 (with err set) marks the item
 * failed and leaves any earlier file under it->out alone, unless *keep was
 * set.  This is the place for post-decode validation (e.g. opening the
 * checkpoint and checking its tensors): a file that fails it never replaces
 * the one that was there. */
typedef int (*wk_xor_done_fn)(void *ctx, wk_xor_item *it, const char *tmp, int *keep, wk_err *err);

/* Called before a file is decoded, from the worker thread that decodes it:
 * return the callback of a sink to be given every byte of it->out as it is
 * written (with its context in *tap_ctx), or NULL for none.  ctx is the run's
 * done_ctx. */
typedef wk_sink_fn (*wk_xor_tap_fn)(void *ctx, wk_xor_item *it, void **tap_ctx);

typedef struct {
    wk_payload_kind kind;    /* decode */
    int gzip;                /* encode: 1 gzip payloads, 0 raw */
    int level;               /* encode: gzip level, 0 = 6 */
    int jobs;                /* decode: files at once; encode: compression threads; <= 0 all cores */
    int keep_bad;
    int pipeline;            /* decode: two threads per file, used only while
                                2 x files-at-once <= cores */
    wk_progress_fn progress; /* bytes of all sources done of their total; may be NULL */
    void *progress_ctx;      /* (calls are serialised) */
    wk_xor_done_fn done;     /* may be NULL */
    void *done_ctx;
    wk_inflate_engine engine; /* decode */
    wk_xor_tap_fn tap;       /* decode, may be NULL: a byte tap per file (XOR and COPY items) */
    uint64_t max_output;     /* decode: per-file cap, as wk_xor_decode_args.max_output */
} wk_xor_run_opts;

/* mkdir -p dir.  WK_E_IO naming the component that cannot be created or
 * exists and is not a directory. */
int wk_xor_make_dirs(const char *dir, wk_err *err);

/* Create dst (and parents) if needed, then decode or encode every XOR and
 * COPY item not already failed.  Returns 0 when no item failed, else -1 with
 * a summary ("2 of 9 files failed") and the code of the first failure;
 * per-item outcomes are in the items. */
int wk_xor_run(wk_xor_plan *p, const char *dst, const wk_xor_run_opts *o, wk_err *err);

#endif
