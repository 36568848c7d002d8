/* wk_pth.h — read PyTorch zip checkpoints (torch.save, PyTorch >= 1.6).
 *
 * The file is mapped read-only and never modified.  The zip container is
 * opened with libzip (from the mapped bytes) to validate and enumerate the
 * records; the central directory and local headers are also parsed here
 * with a bounded cursor, because libzip does not expose where a record's
 * data starts, and both views are cross-checked.  Storages are then plain
 * pointers into the map.  data.pkl is interpreted by the restricted
 * unpickler (wk_pickle.h), never executed.
 *
 * Refused: compressed or encrypted records (WK_E_UNSUPPORTED, naming the
 * record); record names with "..", a leading '/', a backslash, not under
 * one common top-level directory, or duplicated (WK_E_UNSAFE); the legacy
 * pre-1.6 raw-pickle format, the old tar format and TorchScript archives
 * (WK_E_UNSUPPORTED, with a message saying which).
 *
 * Validated for every tensor: the storage record exists; storage numel x
 * element size == record size; one storage is never viewed with two dtypes;
 * shape, stride and storage offset are non-negative, numel does not overflow,
 * and the last element touched (offset + sum (shape_i - 1) * stride_i) lies
 * inside the storage; tensor names are unique.
 * Every error message starts with the file path. */
#ifndef WK_PTH_H
#define WK_PTH_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_tensor.h"

typedef struct wk_pth wk_pth;

/* Open flags. */
#define WK_PTH_CONTAINER_ONLY 1u /* check the zip and find data.pkl; do not unpickle */

/* Open and fully validate the checkpoint at path (flags 0), or only its zip
 * container (WK_PTH_CONTAINER_ONLY: wk_pth_count() is then 0, but
 * wk_pth_pickle() works, e.g. to list a hostile pickle).  Returns NULL with
 * *err on failure (codes as described above; WK_E_IO if unreadable). */
wk_pth *wk_pth_open(const char *path, unsigned flags, wk_err *err);

/* The same over size bytes at data, which must stay valid until
 * wk_pth_close(); `name` is used in messages. */
wk_pth *wk_pth_open_buffer(const uint8_t *data, size_t size, const char *name, unsigned flags,
                           wk_err *err);

void wk_pth_close(wk_pth *p);  /* safe on NULL */

/* Tensors in pickle order (names dotted for nested dicts, see
 * wk_pickle_flatten).  storage_key is the pickle's key ("0", "1", ...),
 * storage points at data/<key> inside the map, file_offset is its offset in
 * the file.  Valid until wk_pth_close(). */
size_t wk_pth_count(const wk_pth *p);
const wk_tensor_info *wk_pth_tensor(const wk_pth *p, size_t i);
/* Index of the tensor called name, or -1. (Linear scan.) */
long wk_pth_find(const wk_pth *p, const char *name);

/* Non-tensor leaves of the pickle that were skipped (e.g. {"epoch": 3}). */
size_t wk_pth_skipped(const wk_pth *p);
/* Distinct storages used by the tensors, and their total size in bytes. */
size_t wk_pth_storage_count(const wk_pth *p);
uint64_t wk_pth_storage_bytes(const wk_pth *p);
/* Archive prefix (the top-level directory, e.g. "archive"). */
const char *wk_pth_prefix(const wk_pth *p);
/* Pickle protocol of data.pkl (0 before it is loaded). */
int wk_pth_protocol(const wk_pth *p);
/* The bytes of <prefix>/data.pkl (inside the map) and their file offset. */
const uint8_t *wk_pth_pickle(const wk_pth *p, size_t *len, uint64_t *file_offset);
/* Path or name given at open. */
const char *wk_pth_path(const wk_pth *p);

/* ---- tensor data (work on any wk_tensor_info with storage resolved) ------ */

/* Bytes a contiguous copy of t needs (numel x element size); -1 with *err
 * on overflow or a bad dtype. */
int wk_pth_tensor_nbytes(const wk_tensor_info *t, uint64_t *nbytes, wk_err *err);

/* Check that every element t views lies inside its storage: non-negative
 * shape/stride/offset, no overflow, last element < storage_nbytes / size.
 * WK_E_FORMAT (negative values, extent past the storage) or WK_E_LIMIT
 * (overflow), naming the tensor. */
int wk_pth_check_extent(const wk_tensor_info *t, wk_err *err);

/* Zero-copy view: if t is contiguous (or empty), a pointer to its first
 * element in the storage and *nbytes = its size; NULL if it is not
 * contiguous (copy it with wk_pth_copy_out), fails the extent check, or the
 * storage is not resolved. */
const uint8_t *wk_pth_tensor_view(const wk_tensor_info *t, uint64_t *nbytes);

/* Copy the elements of t in row-major order into dst (cap bytes), handling
 * any non-negative strides.  Fails if cap is smaller than the data
 * (WK_E_USAGE) or the extent check fails. */
int wk_pth_copy_out(const wk_tensor_info *t, void *dst, size_t cap, wk_err *err);

#endif
