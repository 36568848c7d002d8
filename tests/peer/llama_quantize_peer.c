/* llama_quantize_peer.c — drive the real llama.cpp (prebuilt libllama of the npm
 * package @node-llama-cpp/linux-x64) for tests/peer/quantize.sh, which compiles it
 * against the llama.h of the exact release the binaries were built from.
 *
 *   llama_quantize_peer quantize IN.gguf OUT.gguf FTYPE NTHREAD [pure]
 *       llama_model_quantize (what llama-quantize runs); FTYPE = llama_ftype number.
 *   llama_quantize_peer ppl MODEL.gguf TEXTFILE N_CTX LOGITS.bin
 *       tokenize TEXTFILE (with BOS), evaluate it in windows of N_CTX tokens
 *       (flash attention off, F32 KV cache, 1 thread), print
 *       "ppl <perplexity> tokens <scored>" (each window scores its tokens 1..n-1),
 *       and write the first window's logits (n x n_vocab float32) to LOGITS.bin.
 * WK_LLAMA_LIBDIR: the directory of the libggml-cpu-*.so backends (needed for ppl).
 * Exit 0 on success, 1 on failure.  llama.cpp's log: stderr only with WK_LLAMA_LOG=1. */
#include <math.h>
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

static int cmd_quantize(int argc, char **argv)
{
    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = (enum llama_ftype)atoi(argv[4]);
    p.nthread = atoi(argv[5]);
    p.pure = argc > 6 && !strcmp(argv[6], "pure");
    uint32_t rc = llama_model_quantize(argv[2], argv[3], &p);
    if (rc) fprintf(stderr, "llama_model_quantize(%s, ftype %s) failed: %u\n", argv[2], argv[4], rc);
    return rc ? 1 : 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 == cap) { char *nb = realloc(b, cap *= 2); if (!nb) { free(b); b = NULL; } else b = nb; }
    }
    fclose(f);
    if (b) b[n] = 0;
    *len = n;
    return b;
}

static bool no_progress(float progress, void *ud)
{
    (void)progress;
    (void)ud;
    return true;
}

static int cmd_ppl(char **argv)
{
    const int n_ctx = atoi(argv[4]);
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.progress_callback = no_progress;
    struct llama_model *m = llama_model_load_from_file(argv[2], mp);
    if (!m) { fprintf(stderr, "llama.cpp could not load %s\n", argv[2]); return 1; }
    const struct llama_vocab *v = llama_model_get_vocab(m);
    const int nv = llama_vocab_n_tokens(v);
    size_t len;
    char *text = slurp(argv[3], &len);
    llama_token *ids = text ? malloc(sizeof *ids * (len + 8)) : NULL;
    int n = ids ? llama_tokenize(v, text, (int32_t)len, ids, (int32_t)len + 8, true, false) : -1;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)n_ctx;
    cp.n_threads = cp.n_threads_batch = 1;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.no_perf = true;
    struct llama_context *ctx = n > 1 ? llama_init_from_model(m, cp) : NULL;
    int rc = ctx ? 0 : 1;
    if (rc) fprintf(stderr, "cannot tokenize %s or create a context\n", argv[3]);
    double nll = 0;
    long scored = 0;
    FILE *lf = rc ? NULL : fopen(argv[5], "wb");
    if (!rc && !lf) { perror(argv[5]); rc = 1; }
    struct llama_batch b = llama_batch_init(n_ctx, 0, 1);
    for (int w0 = 0; !rc && w0 + 1 < n; w0 += n_ctx) {
        int wn = n - w0 < n_ctx ? n - w0 : n_ctx;
        llama_memory_clear(llama_get_memory(ctx), true);
        for (int i = 0; i < wn; i++) {
            b.token[i] = ids[w0 + i];
            b.pos[i] = i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = 1;
        }
        b.n_tokens = wn;
        if (llama_decode(ctx, b) != 0) { fprintf(stderr, "llama_decode failed\n"); rc = 1; break; }
        for (int i = 0; i + 1 < wn; i++) {
            const float *l = llama_get_logits_ith(ctx, i);
            double mx = l[0], s = 0;
            for (int k = 1; k < nv; k++) if (l[k] > mx) mx = l[k];
            for (int k = 0; k < nv; k++) s += exp(l[k] - mx);
            nll += -(l[ids[w0 + i + 1]] - mx - log(s));
            scored++;
        }
        for (int i = 0; w0 == 0 && i < wn; i++)
            if (fwrite(llama_get_logits_ith(ctx, i), sizeof(float), (size_t)nv, lf) != (size_t)nv) rc = 1;
    }
    if (lf && fclose(lf)) rc = 1;
    if (!rc) printf("ppl %.4f tokens %ld\n", exp(nll / (double)scored), scored);
    llama_batch_free(b);
    if (ctx) llama_free(ctx);
    llama_model_free(m);
    free(ids);
    free(text);
    return rc;
}

int main(int argc, char **argv)
{
    int q = argc >= 6 && argc <= 7 && !strcmp(argv[1], "quantize");
    int p = argc == 6 && !strcmp(argv[1], "ppl");
    if (!q && !p) {
        fprintf(stderr, "usage: llama_quantize_peer quantize IN OUT FTYPE NTHREAD [pure]\n"
                        "       llama_quantize_peer ppl MODEL TEXTFILE N_CTX LOGITS.bin\n");
        return 1;
    }
    llama_log_set(quiet_log, NULL);
    const char *libdir = getenv("WK_LLAMA_LIBDIR");   /* where the CPU backends are */
    if (libdir) ggml_backend_load_all_from_path(libdir);
    else ggml_backend_load_all();
    llama_backend_init();
    int rc = q ? cmd_quantize(argc, argv) : cmd_ppl(argv);
    llama_backend_free();
    return rc;
}
