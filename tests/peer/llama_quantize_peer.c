/* llama_quantize_peer.c — run the real llama.cpp quantizer (llama_model_quantize
 * in the prebuilt libllama of @node-llama-cpp/linux-x64) so that
 * tests/peer/quantize.sh can compare wk-quantize's files with it byte for byte.
 * Compiled by that script against the llama.h of the exact release.
 *
 *   llama_quantize_peer IN.gguf OUT.gguf FTYPE NTHREAD [pure]
 * FTYPE is the llama_ftype number.  Exit 0 on success, 1 on failure.
 * llama.cpp's log goes to stderr only with WK_LLAMA_LOG=1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "llama.h"

static void quiet_log(enum ggml_log_level level, const char *text, void *ud)
{
    (void)ud;
    if (level >= GGML_LOG_LEVEL_ERROR || getenv("WK_LLAMA_LOG")) fputs(text, stderr);
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: llama_quantize_peer IN.gguf OUT.gguf FTYPE NTHREAD [pure]\n");
        return 1;
    }
    llama_log_set(quiet_log, NULL);
    ggml_backend_load_all();
    llama_backend_init();
    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = (enum llama_ftype)atoi(argv[3]);
    p.nthread = atoi(argv[4]);
    p.pure = argc == 6 && !strcmp(argv[5], "pure");
    uint32_t rc = llama_model_quantize(argv[1], argv[2], &p);
    llama_backend_free();
    if (rc) fprintf(stderr, "llama_model_quantize(%s -> %s, ftype %s) failed: %u\n", argv[1], argv[2],
                    argv[3], rc);
    return rc ? 1 : 0;
}
