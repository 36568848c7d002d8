/* wk_pack.h — the packing engine behind wk-pack: a model in any layout
 * wk_source reads -> one flat, aligned, mmap-able GGUF (formats/llama's
 * wk_gguf_llama) or safetensors file, or a sharded safetensors directory
 * (with model.safetensors.index.json); optionally "<file>.sha256" /
 * SHA256SUMS beside the outputs.  Outputs are written atomically (wk_out /
 * wk_outdir) and never over an input file.  Nothing here prints. */
#ifndef WK_PACK_H
#define WK_PACK_H

#include <stdint.h>
#include "wk_err.h"
#include "wk_gguf_llama.h"
#include "wk_progress.h"
#include "wk_source.h"

typedef enum { WK_PACK_GGUF, WK_PACK_ST } wk_pack_format;

typedef struct {
    const char *output;       /* file, or directory with shard_size */
    wk_pack_format format;
    wk_gl_opts gl;            /* GGUF options; outtype and digests also for safetensors */
    uint64_t shard_size;      /* safetensors: shards of at most this size in a directory; 0 one file */
    int sha256;               /* also the outputs' SHA-256 (sha256sum format) */
    int threads;
    uint64_t *nonfinite;      /* not NULL: [0] NaN/Inf values read, [1] values the conversion
                                 made inf, both written (gl.allow_nonfinite; else an error) */
    wk_progress_fn progress;  /* bytes done of the current stage; may be NULL */
    void *progress_ctx;
    /* A new stage starts ("digests", "writing"); called with progress_ctx; may be NULL. */
    void (*stage)(void *progress_ctx, const char *label);
} wk_pack_opts;

/* Zeroes, gl from wk_gl_opts_init. */
void wk_pack_opts_init(wk_pack_opts *o);

/* Pack src into o->output; *size gets the bytes written (of the weights
 * files).  On failure no output is left behind. */
int wk_pack_run(const wk_pack_opts *o, const wk_source *src, uint64_t *size, wk_err *err);

#endif
