/* wk_manifest.h — SHA-256 manifests as written by `sha256sum` and `rhash --sha256`.
 *
 * Accepted line forms (one entry per line, LF or CRLF endings):
 *   GNU text     `<64 hex>  <name>`
 *   GNU binary   `<64 hex> *<name>`
 *   BSD / --tag  `SHA256 (<name>) = <64 hex>`   (also `SHA-256 (...)`, as rhash --bsd)
 * A line that starts with a backslash carries an escaped name, as GNU
 * coreutils writes it: `\\` is a backslash, `\n` a newline, `\r` a carriage
 * return; any other escape is an error.  Empty lines and lines starting with
 * `#` or `;` are skipped.  Hex digits may be upper or lower case.
 *
 * Parsing is bounded (WK_MANIFEST_MAX_*), reads bytes only through wk_cur, and
 * every error names the manifest and the 1-based line number.  A name that
 * occurs twice is an error naming both lines. */
#ifndef WK_MANIFEST_H
#define WK_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include "wk_buf.h"
#include "wk_err.h"
#include "wk_progress.h"
#include "wk_strmap.h"

#define WK_MANIFEST_DIGEST 32                   /* SHA-256 */
#define WK_MANIFEST_MAX_BYTES (64u << 20)       /* whole manifest file */
#define WK_MANIFEST_MAX_LINE 8192               /* one line, in bytes */
#define WK_MANIFEST_MAX_ENTRIES 1000000u

typedef enum {
    WK_MANIFEST_GNU_TEXT,   /* "hash  name" */
    WK_MANIFEST_GNU_BINARY, /* "hash *name" */
    WK_MANIFEST_BSD         /* "SHA256 (name) = hash" */
} wk_manifest_style;

typedef struct {
    char *name;                          /* unescaped, NUL-terminated, never empty */
    uint8_t digest[WK_MANIFEST_DIGEST];  /* canonical (big-endian) byte order */
    size_t line;                         /* 1-based source line; 0 if added in code */
    wk_manifest_style style;
} wk_manifest_entry;

typedef struct {
    wk_manifest_entry *entries; /* in file order */
    size_t n, cap;
    char *label;                /* source path for messages (owned), may be NULL */
    wk_strmap index;            /* name -> first entry of that name (wk_manifest_find) */
} wk_manifest;

/* A zeroed wk_manifest is a valid empty manifest. */
void wk_manifest_init(wk_manifest *m);
void wk_manifest_free(wk_manifest *m);

/* Parse len bytes of manifest text and append its entries to m.  `label`
 * names the source in messages ("<label>:<line>: ...").  On failure m keeps
 * the entries parsed before the bad line; the caller frees it either way. */
int wk_manifest_parse(wk_manifest *m, const void *data, size_t len, const char *label,
                      wk_err *err);

/* Read and parse the file at path (at most WK_MANIFEST_MAX_BYTES). */
int wk_manifest_load(wk_manifest *m, const char *path, wk_err *err);

/* Append one entry (name copied).  Fails with WK_E_FORMAT on an empty name or
 * a name already present, WK_E_LIMIT past WK_MANIFEST_MAX_ENTRIES. */
int wk_manifest_add(wk_manifest *m, const char *name, const uint8_t digest[WK_MANIFEST_DIGEST],
                    wk_err *err);

/* The entry named `name` (the first one, if a parse failed on a duplicate),
 * or NULL.  Hashed: O(1), so matching n names against a manifest is O(n). */
const wk_manifest_entry *wk_manifest_find(const wk_manifest *m, const char *name);

/* Append the line sha256sum would print for (digest, name) in text mode,
 * escaping the name (leading backslash) when it holds '\\', '\n' or '\r'. */
void wk_manifest_format_line(wk_buf *b, const uint8_t digest[WK_MANIFEST_DIGEST],
                             const char *name);

/* Append name as `sha256sum -c` (coreutils 9) starts a status line
 * ("<name>: OK"): as it is, unless it holds a newline — then a leading
 * backslash and the name with '\\', '\n' and '\r' escaped, so that no name
 * can end the line and forge another ("x.json\nmodel.bin: OK" is printed
 * "\x.json\nmodel.bin: OK: OK").  Returns 1 if the name was escaped. */
int wk_manifest_format_status_name(wk_buf *b, const char *name);

/* Write all entries in GNU text form, in their order, atomically (wk_out). */
int wk_manifest_write(const wk_manifest *m, const char *path, wk_err *err);

/* 1 if name is a safe relative path to join under a directory: not empty, not
 * absolute, no "." or ".." component, no empty component.  0 otherwise. */
int wk_manifest_name_safe(const char *name);

/* SHA-256 of everything readable from fd (plain read() loop, so pipes work).
 * `label` names the source in messages.  progress (may be NULL) is called with
 * the bytes hashed so far and `total` (pass 0 when unknown). */
int wk_manifest_hash_fd(int fd, const char *label, uint8_t out[WK_MANIFEST_DIGEST],
                        wk_progress_fn progress, void *ctx, uint64_t total, wk_err *err);

/* SHA-256 of the file at path (opened read-only, streamed). */
int wk_manifest_hash_file(const char *path, uint8_t out[WK_MANIFEST_DIGEST],
                          wk_progress_fn progress, void *ctx, wk_err *err);

/* ---- checking a directory against a manifest (sha256sum -c) ------------ */
typedef enum {
    WK_CHECK_OK,      /* digest matches */
    WK_CHECK_FAILED,  /* digest differs */
    WK_CHECK_MISSING, /* file absent */
    WK_CHECK_ERROR    /* unreadable, or unsafe name (see err) */
} wk_check_status;

typedef struct {
    wk_check_status status;
    uint8_t got[WK_MANIFEST_DIGEST]; /* valid for OK and FAILED */
    uint64_t size;
    wk_err err;                      /* for MISSING and ERROR */
} wk_check_result;

/* Hash dir/<name> for every entry (res has m->n slots, same order), with up to
 * `jobs` files in parallel (<= 0: all cores).  progress (may be NULL; called
 * from one thread at a time) gets bytes hashed over the total size of the
 * files present.  Returns 0 when every entry is OK, -1 otherwise with a
 * summary in err (WK_E_MISMATCH if only digests differ, else WK_E_IO);
 * per-file outcomes are in res either way. */
int wk_manifest_check_dir(const wk_manifest *m, const char *dir, int jobs,
                          wk_progress_fn progress, void *ctx, wk_check_result *res,
                          wk_err *err);

#endif
