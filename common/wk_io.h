/* wk_io.h — whole-file read-only maps and atomic outputs.
 *
 * Inputs are mapped read-only (never modified).  Outputs are written to a
 * temporary name in the destination directory
 * ("<dir>/.<name>.wk-tmp.<pid>.XXXXXX", unique, created exclusively and
 * flock()ed by its run until committed or removed: wk_io_sweep_stale() tells
 * a dead run's leftovers by that), fsynced, and renamed over the final name
 * only by wk_out_commit(), after checking that no input changed (wk_inputs.h); any
 * failure, wk_out_abort(), or SIGINT/SIGTERM/SIGHUP (once
 * wk_io_install_signal_cleanup() was called by the tool) removes the temporary
 * file.  The final path never holds a partial file.
 * At most 64 temporaries (files + directories) may be live at once and each
 * temporary path must be shorter than 4096 bytes (else WK_E_LIMIT): the
 * signal handler can only use a fixed, preallocated table. */
#ifndef WK_IO_H
#define WK_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h> /* mode_t, also under strict -std=c11 (installed header) */
#include "wk_err.h"
#include "wk_hash.h"
#include "wk_inputs.h"

/* ---- opening inputs ---------------------------------------------------- */

/* The one way an input is opened (issue #24 item 14: a FIFO or a device as an
 * input hung the tools).  Opens path read-only with O_NONBLOCK (so a FIFO
 * without a writer cannot block the open), fstat()s it, refuses anything but a
 * regular file — or a directory, with WK_IN_DIR — then clears O_NONBLOCK.
 * Symlinks are followed (the type checked is the target's).  *st (may be NULL)
 * gets the fstat.  Returns the descriptor (O_CLOEXEC), or -1 with WK_E_IO:
 * "open <path>: <strerror>", or "<path>: is a FIFO (named pipe), not a regular
 * file" (a character device, a block device, a socket, a directory). */
#define WK_IN_DIR 1u
/* WK_IN_NOFOLLOW: a symbolic link at path is refused (O_NOFOLLOW), WK_E_UNSAFE
 * "<path> is a symbolic link; links are not followed (...)". */
#define WK_IN_NOFOLLOW 2u
int wk_input_open(const char *path, unsigned flags, struct stat *st, wk_err *err);
/* "a regular file", "a directory", "a FIFO (named pipe)", "a character device",
 * "a block device", "a socket", "a symbolic link", "of unknown type" for a st_mode. */
const char *wk_file_type_name(mode_t mode);

/* ---- read-only maps ---------------------------------------------------- */
typedef struct {
    const uint8_t *data; /* NULL for an empty file */
    size_t size;
    char *path;          /* owned copy, for messages */
    int reg;             /* internal: slot in the SIGBUS registry + 1, or 0 */
} wk_map;

/* Map the whole regular file read-only (MAP_PRIVATE|PROT_READ, sequential
 * advice); the descriptor is closed again.  An empty file gives data NULL,
 * size 0.  Fails with WK_E_IO naming the path (missing, a directory, not a
 * regular file), leaving *m zeroed.  Truncating the file while it is mapped
 * makes later reads of the lost pages fault (SIGBUS); once the tool called
 * wk_io_install_signal_cleanup(), that removes the temporaries and exits 1
 * with "<prog>: error: <file>: changed while being read: no data at byte N
 * ...", and a write(2) straight from the lost pages (EFAULT) fails with the
 * same message.  Maps are listed in a fixed table of 256 for that (more
 * still work, with a message that cannot name the file). */
int wk_map_open(wk_map *m, const char *path, wk_err *err);
/* Unmap and free; *m is zeroed.  Safe on NULL and on a zeroed or failed map. */
void wk_map_close(wk_map *m);
/* Done with the n bytes at p for now: if they lie in a map opened by
 * wk_map_open (and still open), the whole pages inside them (and the map's
 * partial first / last page when the range reaches the map's start / end) are
 * dropped from this process's page tables (madvise MADV_DONTNEED), so that
 * they stop counting in its resident set (RssFile).  Contents never change:
 * the maps are private and read-only, a later read faults the page in again
 * from the page cache, which keeps it (no I/O is saved or caused; see
 * docs/pack.md "Memory").  Anything else (heap, a range past the map) is left
 * alone.  Thread-safe; a hint that cannot fail. */
void wk_map_release(const void *p, uint64_t n);
/* Release-behind for a range read front to back: bytes [0, upto) of the
 * range starting at base have been consumed; the whole pages among them not
 * released yet are (wk_map_release).  *done (0 at the start) tracks how far:
 * page aligned until `last`, which releases up to upto. */
void wk_map_release_behind(const void *base, uint64_t *done, uint64_t upto, int last);
/* alg's digest of the n bytes at p (typically a tensor in a map), read in
 * 4 MiB pieces and released behind (so a tensor larger than memory limits
 * never becomes resident as a whole).  As wk_hash_oneshot. */
int wk_map_digest(wk_hash_alg alg, const void *p, size_t n, uint8_t out[WK_HASH_MAX_DIGEST], wk_err *err);

/* ---- atomic output file ------------------------------------------------ */
typedef struct wk_out wk_out;

/* Create a temporary file next to final_path (mode 0600 while written; the
 * final file gets 0666 & ~umask: never the mode of a file it replaces, so no
 * setuid bit is ever carried over).  Refuses (WK_E_UNSAFE) if final_path
 * exists and is the same file (dev and inode, symlinks followed: a symlink or
 * hard link to an input counts) as one of `inputs` (may be NULL), or if the
 * temporary is.  A symlink at final_path is replaced by the new file, not
 * written through.  `inputs` is borrowed: it must outlive o (more files may
 * be added to it meanwhile; all are checked by wk_out_commit).  NULL on
 * failure: WK_E_IO (e.g. missing directory, final_path is a directory),
 * WK_E_UNSAFE, WK_E_LIMIT, WK_E_NOMEM. */
wk_out *wk_out_open(const char *final_path, const wk_inputs *inputs, wk_err *err);
/* Buffered write (1 MiB buffer; large writes go straight through; EINTR and
 * short writes are retried; every write(2) is at most 256 KiB and ends on a
 * multiple of 256 KiB in the file, the size the page cache handled cheapest
 * and steadiest (docs/benchmarks.md);
 * every 8 MiB written are handed to the disk at once, asynchronously —
 * sync_file_range(SYNC_FILE_RANGE_WRITE) — so the commit's fsync waits for
 * the tail only).  WK_E_IO naming the final path on failure; after
 * a failure every later write and the commit fail too (abort is still needed). */
int wk_out_write(wk_out *o, const void *p, size_t n, wk_err *err);
/* Write n zero bytes (through the buffer).  As wk_out_write.  (To hash an
 * output while it is written, write through a wk_sink with a tee: wk_sink.h.) */
int wk_out_zeros(wk_out *o, uint64_t n, wk_err *err);
/* Bytes accepted so far (buffered or written). */
uint64_t wk_out_tell(const wk_out *o);
/* The final path given to wk_out_open (owned by o). */
const char *wk_out_final_path(const wk_out *o);
/* Write the buffered bytes to the temporary file (no fsync), so that it can be
 * read by path before the commit (e.g. to check it before it replaces an
 * earlier file).  As wk_out_write on failure. */
int wk_out_flush(wk_out *o, wk_err *err);
/* The temporary file's path (owned by o; valid until commit or abort). */
const char *wk_out_temp_path(const wk_out *o);
/* Flush, fsync, check that every input is unchanged (wk_inputs_unchanged)
 * and that final_path is still not one of them, rename to the final name,
 * fsync the directory, free o.  o is freed in every case; on failure the
 * temporary file is removed and -1 returned (if only the directory fsync
 * failed, the file is already in place). */
int wk_out_commit(wk_out *o, wk_err *err);
/* Remove the temporary file and free o.  Safe on NULL. */
void wk_out_abort(wk_out *o);
/* Flush o and return its temporary's path (owned by o), for a run that reads
 * back what it staged (wk-quantize packs a non-GGUF input first): the file
 * stays registered for signal cleanup and locked until wk_out_abort (or
 * commit).  NULL with err after a failed write. */
const char *wk_out_staged(wk_out *o, wk_err *err);

/* Append n bytes of the file open as fd, from byte offset off (fd's own
 * position is neither used nor moved), to o — copied inside the kernel
 * (copy_file_range: no pass through user space) when it can.  bytes, if not
 * NULL, is the same n bytes in memory (e.g. fd's map): they are written the
 * ordinary way when the kernel cannot copy between these files (EXDEV,
 * ENOSYS, EINVAL, EOPNOTSUPP, ...: o then stops trying), and also when off
 * and the output position differ modulo 2 MiB (a kernel copy between
 * misaligned offsets splits every page-cache folio: it measured 1.4x the CPU
 * of writing the mapped bytes, and a slower fsync); a sink whose callback
 * calls this (wk_src_out_sink) hashes them with its tee.  With bytes NULL the
 * kernel copies at any alignment, and the fallback reads fd with pread.
 * Fails as wk_out_write (WK_E_IO naming the final path, also when fd holds
 * fewer than off + n bytes; WK_E_LIMIT for a range beyond 2^63). */
int wk_out_copy_fd(wk_out *o, int fd, uint64_t off, uint64_t n, const void *bytes, wk_err *err);

/* Overwrite n bytes at byte offset off of what was written so far (off + n <=
 * wk_out_tell(o)): buffered bytes are flushed first, then pwrite(2).  For a
 * writer that fills in a header it could only complete at the end (wk-pack's
 * GGUF digests: the header is written with placeholders first).  WK_E_USAGE
 * past the written bytes; else as wk_out_write (a failure fails the commit). */
int wk_out_pwrite(wk_out *o, uint64_t off, const void *p, size_t n, wk_err *err);

/* ---- atomic output directory ------------------------------------------- */
typedef struct wk_outdir wk_outdir;

/* Create "<parent>/.<name>.wk-tmp.<pid>.XXXXXX" (trailing slashes of
 * final_dir are ignored; mode 0777 & ~umask; locked like a file's); files are
 * written inside it (with plain wk_out on wk_outdir_path()/name, or any other
 * way).  Fails early (WK_E_IO) if final_dir exists and is not an empty
 * directory; NULL on failure.  inputs (borrowed, may be NULL) are checked
 * unchanged by wk_outdir_commit. */
wk_outdir *wk_outdir_open(const char *final_dir, const wk_inputs *inputs, wk_err *err);
/* The temporary directory's path (owned by d). */
const char *wk_outdir_path(const wk_outdir *d);
/* Check the inputs unchanged, rename the temporary directory to final_dir
 * (which must not exist or be an empty directory), fsync the parent, free d.
 * d is freed in every case; if the check or the rename fails the temporary
 * directory is removed and -1 returned (WK_E_IO; when another run created
 * final_dir meanwhile the message says so). */
int wk_outdir_commit(wk_outdir *d, wk_err *err);
/* Remove the temporary directory recursively and free d.  Symlinks inside are
 * unlinked, never followed; best effort (depth limit 32).  Safe on NULL. */
void wk_outdir_abort(wk_outdir *d);

/* Tools call this once: on SIGINT/SIGTERM/SIGHUP every live temporary file
 * and directory of this process is removed and the process dies of the same
 * signal (a shell reports 128+signo; _exit(128+signo) if re-raising fails).
 * Signals that are ignored when this is called (nohup, background jobs) stay
 * ignored.  What the handler does, using only async-signal-safe calls: it
 * unlink()s every registered temporary file, then removes every registered
 * temporary directory with openat/getdents64/unlinkat (Linux; symlinks are
 * unlinked, never followed; depth limit 32) — so files committed inside a
 * wk_outdir go too.  Without getdents64 (non-Linux) it can only rmdir an
 * empty directory.  It then writes one line to stderr,
 * "<program>: error: interrupted by SIGINT; unfinished outputs removed" (the
 * only place the library prints: nobody else can say it).  A child after
 * fork() does not remove its parent's temporaries.  Limitation: a signal
 * handled by another thread in the instant between mkstemp/mkdtemp and
 * registration leaves that one temporary behind.
 * SIGBUS (a mapped input truncated under us, see wk_map_open) gets the same
 * cleanup, then "<prog>: error: <file>: changed while being read: no data at
 * byte N of the M mapped (truncated by another process?); unfinished outputs
 * removed" and exit status 1; a SIGBUS outside every map is re-raised. 
 * This is the one piece of process-wide state in the library (a signal
 * handler needs it). */
void wk_io_install_signal_cleanup(void);

/* Temporaries of final_path (".<name>.wk-tmp.<pid>.XXXXXX" beside it) left
 * by runs that died (kill -9, power loss): each one whose lock nobody holds
 * and whose pid is not a running process is removed (recursively for a
 * directory, symlinks never followed) and reported through fn with removed 1;
 * unlocked ones that cannot be told apart (pid in use, or a name without a
 * pid) are reported with removed 0 and left.  Locked ones (a live run) are
 * neither touched nor reported.  fn may be NULL.  Fails only on OOM; an
 * unreadable directory is skipped (the output's own open reports it). */
typedef void (*wk_io_stale_fn)(void *ctx, const char *path, uint64_t bytes, int removed, const char *why);
int wk_io_sweep_stale(const char *final_path, wk_io_stale_fn fn, void *ctx, wk_err *err);

/* Join dir + "/" + name into a new malloc'd string (no doubled "/" if dir
 * ends with one; just name if dir is ""). NULL on OOM. */
char *wk_path_join(const char *dir, const char *name);

#endif
