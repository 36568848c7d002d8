/* wk_inputs.h — the set of files one run reads (its inputs), for two
 * promises every tool makes (docs/security.md, "Outputs"):
 *  - no output is ever written over an input: wk_out_open / wk_outdir_open
 *    compare the output path (and the temporary) with every file in the set
 *    by device and inode;
 *  - an output is only committed if no input changed while it was read:
 *    wk_out_commit / wk_outdir_commit call wk_inputs_unchanged() first.
 * Every reader that opens a file for a run adds it here (the source adds its
 * shards, ranks, params.json, index; the GGUF planner config.json and the
 * tokenizer files; the tools their auxiliary inputs).  The set is an explicit
 * object passed down (no global state); not thread-safe (add from one thread). */
#ifndef WK_INPUTS_H
#define WK_INPUTS_H

#include <stddef.h>
#include <sys/stat.h>
#include "wk_err.h"

typedef struct wk_inputs wk_inputs;

/* An empty set; NULL on OOM (err WK_E_NOMEM). */
wk_inputs *wk_inputs_new(wk_err *err);
/* Free the set and its recorded paths.  Safe on NULL. */
void wk_inputs_free(wk_inputs *s);

/* Record path (symlinks followed) with its device, inode, size, mtime and
 * ctime as they are now.  A file already in the set (same device and inode)
 * is not added twice.  s may be NULL (then nothing happens, 0).  WK_E_IO
 * naming the path if it cannot be stat'ed; WK_E_NOMEM. */
int wk_inputs_add(wk_inputs *s, const char *path, wk_err *err);
/* As wk_inputs_add, recording the file open as fd (fstat), named path. */
int wk_inputs_add_fd(wk_inputs *s, int fd, const char *path, wk_err *err);

size_t wk_inputs_count(const wk_inputs *s);              /* 0 for NULL */
const char *wk_inputs_path(const wk_inputs *s, size_t i); /* NULL past the end */

/* The recorded path of the input that is the file st describes (same device
 * and inode), or NULL (also for s NULL). */
const char *wk_inputs_same(const wk_inputs *s, const struct stat *st);

/* 0 if every input still has the device, inode, size, mtime and ctime it had
 * when added; else WK_E_IO naming the first that changed ("<file>: changed
 * while being read ...; is it still being written or downloaded?"), or that
 * is gone.  s NULL: 0. */
int wk_inputs_unchanged(const wk_inputs *s, wk_err *err);

#endif
