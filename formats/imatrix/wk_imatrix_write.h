/* wk_imatrix_write.h — write llama.cpp importance matrices, as llama-imatrix
 * saves them (docs/formats/imatrix.md, "Writing"): the GGUF format
 * (IMatrixCollector::save_imatrix) or the legacy .dat (save_imatrix_legacy).
 *
 *   GGUF:   KVs general.type = "imatrix", imatrix.datasets (string array),
 *           imatrix.chunk_count, imatrix.chunk_size (u32), in that order; per
 *           entry, sorted by name (byte order), "<name>.in_sum2" (F32,
 *           ne0 x nmat) then "<name>.counts" (F32, 1 x nmat); dimensions
 *           written as ggml_n_dims (trailing 1s dropped); alignment 32.
 *   legacy: entries whose counts are all 0 are left out; per entry
 *           ncall = ceil(max count / chunk_size) and the values
 *           (sum / count) * ncall (1 * ncall where a count is 0); trailer:
 *           chunk_count and the last dataset name.
 *
 * Output through wk_out (temporary, renamed when complete).  The library
 * never prints or exits. */
#ifndef WK_IMATRIX_WRITE_H
#define WK_IMATRIX_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include "wk_err.h"
#include "wk_inputs.h"
#include "wk_sink.h"

typedef struct {
    const char *name;        /* the weight tensor's name, 1..63 - 8 bytes for GGUF */
    const float *sums;       /* ne0 * nmat summed squared activations */
    const int64_t *counts;   /* nmat token counts (>= 0) */
    int64_t ne0, nmat;       /* >= 1 each */
} wk_imatrix_entry;

typedef struct {
    const wk_imatrix_entry *entries;   /* any order; names unique */
    size_t n_entries;                  /* >= 1 */
    const char *const *datasets;       /* dataset names (UTF-8) */
    size_t n_datasets;
    uint32_t chunk_count;              /* chunks processed */
    uint32_t chunk_size;               /* tokens per chunk (>= 1) */
} wk_imatrix_data;

/* Write d to the sink in the GGUF (legacy = 0) or legacy format.
 * WK_E_USAGE for invalid data (naming the entry), WK_E_LIMIT for sizes a
 * format cannot hold, the sink's error otherwise. */
int wk_imatrix_write_sink(wk_sink *s, const wk_imatrix_data *d, int legacy, wk_err *err);

/* The same to path, atomically (inputs: files it must not replace; may be NULL). */
int wk_imatrix_write(const char *path, const wk_imatrix_data *d, int legacy, const wk_inputs *inputs,
                     wk_err *err);

#endif
