/* wk_io.h — whole-file read-only maps and atomic outputs.
 *
 * Inputs are mapped read-only (never modified).  Outputs are written to a
 * temporary name in the destination directory ("<dir>/.<name>.wk-tmp.XXXXXX"),
 * fsynced, and renamed over the final name only by wk_out_commit(); any
 * failure, wk_out_abort(), or SIGINT/SIGTERM (once wk_io_install_signal_cleanup()
 * was called by the tool) removes the temporary file.  The final path never
 * holds a partial file. */
#ifndef WK_IO_H
#define WK_IO_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"

/* ---- read-only maps ---------------------------------------------------- */
typedef struct {
    const uint8_t *data; /* NULL for an empty file */
    size_t size;
    char *path;          /* owned copy, for messages */
} wk_map;

/* Map the whole file read-only (MAP_PRIVATE|PROT_READ, sequential advice).
 * Fails with WK_E_IO naming the path. */
int wk_map_open(wk_map *m, const char *path, wk_err *err);
void wk_map_close(wk_map *m);

/* ---- atomic output file ------------------------------------------------ */
typedef struct wk_out wk_out;

/* Called on every byte range as it is written (e.g. to hash on the fly). */
typedef void (*wk_out_hook)(void *ctx, const void *p, size_t n);

/* Create a temporary file next to final_path.  Refuses (WK_E_UNSAFE) if
 * final_path exists and is the same file (inode) as one of the paths in
 * `inputs` (NULL-terminated list, may be NULL). */
wk_out *wk_out_open(const char *final_path, const char *const *inputs, wk_err *err);
void wk_out_set_hook(wk_out *o, wk_out_hook hook, void *ctx);
/* Buffered write (1 MiB buffer; large writes go straight through). */
int wk_out_write(wk_out *o, const void *p, size_t n, wk_err *err);
/* Write n zero bytes. */
int wk_out_zeros(wk_out *o, uint64_t n, wk_err *err);
/* Bytes written so far. */
uint64_t wk_out_tell(const wk_out *o);
const char *wk_out_final_path(const wk_out *o);
/* Flush, fsync, rename to the final name, fsync the directory, free o. */
int wk_out_commit(wk_out *o, wk_err *err);
/* Remove the temporary file and free o.  Safe on NULL. */
void wk_out_abort(wk_out *o);

/* ---- atomic output directory ------------------------------------------- */
typedef struct wk_outdir wk_outdir;

/* Create "<parent>/.<name>.wk-tmp.XXXXXX"; files are written inside it (with
 * plain wk_out on wk_outdir_path()/name, or any other way). */
wk_outdir *wk_outdir_open(const char *final_dir, wk_err *err);
const char *wk_outdir_path(const wk_outdir *d);
/* Rename the temporary directory to final_dir (which must not exist or be an
 * empty directory), fsync the parent, free d. */
int wk_outdir_commit(wk_outdir *d, wk_err *err);
/* Remove the temporary directory recursively and free d.  Safe on NULL. */
void wk_outdir_abort(wk_outdir *d);

/* Tools call this once: on SIGINT/SIGTERM every live temporary file and
 * directory is removed and the process exits with 128+signo.  This is the one
 * piece of process-wide state in the library (a signal handler needs it). */
void wk_io_install_signal_cleanup(void);

/* Join dir + "/" + name into a new malloc'd string (NULL on OOM). */
char *wk_path_join(const char *dir, const char *name);

#endif
