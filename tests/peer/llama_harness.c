/* llama_harness.c — drive the real llama.cpp (prebuilt libllama from the npm
 * package @node-llama-cpp/linux-x64) for weightkit's peer tests.  Compiled by
 * tests/peer/llama_cpp_logits.sh against the llama.h/ggml.h of the exact
 * llama.cpp release the binaries were built from; never built by CMake.
 *
 *   llama_harness logits MODEL.gguf OUT.bin TOKEN...
 *       load MODEL (mmap), context with flash attention OFF and an F32 KV
 *       cache, one batch of the tokens at positions 0..n-1, logits of every
 *       position; writes n x n_vocab float32 (little-endian) to OUT.bin.
 *   llama_harness chunks MODEL.gguf OUT.bin N_CTX TOKFILE [THREADS [half]]
 *       TOKFILE holds k * N_CTX token ids (whitespace-separated): each window of
 *       N_CTX is evaluated from position 0 with the memory cleared (context
 *       N_CTX, one batch, flash attention off, F32 KV cache: as `logits`), and
 *       the logits of every position of every window are written, float32.
 *       For perplexity by llama-perplexity's rules computed outside (the
 *       caller puts BOS first in each window when the vocabulary adds it).
 *       "half": logits only for positions >= N_CTX/2, as llama-perplexity asks
 *       (bench/eval_bench.sh times this).
 *   llama_harness tokenize MODEL.gguf TEXTFILE [special]
 *       print llama_tokenize(text, add_special = true, parse_special = false,
 *       or true with "special": control tokens in the text are matched too)
 *       as space-separated ids on one line.
 *   llama_harness meta MODEL.gguf KEY
 *       print a metadata value (llama_model_meta_val_str).
 *   llama_harness template MODEL.gguf
 *       print llama_model_chat_template(model, NULL).
 *   llama_harness eog MODEL.gguf ID...
 *       print llama_vocab_eos(), llama_vocab_bos(), then for each ID whether
 *       llama_vocab_is_eog (1/0): where generation stops.
 * Exit 0 on success, 1 on any failure (message on stderr).  llama.cpp's own
 * log goes to stderr only with WK_LLAMA_LOG=1. */
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

static bool no_progress(float progress, void *ud)
{
    (void)progress;
    (void)ud;
    return true;
}

static struct llama_model *load(const char *path)
{
    struct llama_model_params mp = llama_model_default_params();
    mp.progress_callback = no_progress;
    mp.load_mode = LLAMA_LOAD_MODE_MMAP;
    mp.n_gpu_layers = 0;
    struct llama_model *m = llama_model_load_from_file(path, mp);
    if (!m) fprintf(stderr, "llama_harness: llama.cpp could not load %s\n", path);
    return m;
}

static int cmd_logits(const char *model, const char *out, int n, char **tok)
{
    struct llama_model *m = load(model);
    if (!m) return 1;
    const struct llama_vocab *v = llama_model_get_vocab(m);
    int nv = llama_vocab_n_tokens(v);
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_ubatch = 256;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    if (!ctx) {
        fprintf(stderr, "llama_harness: cannot create a context\n");
        llama_model_free(m);
        return 1;
    }
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        b.token[i] = atoi(tok[i]);
        b.pos[i] = i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = 1;
    }
    b.n_tokens = n;
    int rc = 0;
    if (llama_decode(ctx, b) != 0) {
        fprintf(stderr, "llama_harness: llama_decode failed\n");
        rc = 1;
    }
    FILE *f = rc ? NULL : fopen(out, "wb");
    if (!rc && !f) {
        perror(out);
        rc = 1;
    }
    for (int i = 0; !rc && i < n; i++) {
        const float *l = llama_get_logits_ith(ctx, i);
        if (!l || fwrite(l, sizeof(float), (size_t)nv, f) != (size_t)nv) rc = 1;
    }
    if (f && fclose(f)) rc = 1;
    if (!rc) printf("n_vocab %d n_tokens %d\n", nv, n);
    llama_batch_free(b);
    llama_free(ctx);
    llama_model_free(m);
    return rc;
}

static int cmd_chunks(const char *model, const char *out, int n_ctx, const char *tokfile, int threads,
                      int half)
{
    FILE *tf = fopen(tokfile, "r");
    if (!tf) {
        perror(tokfile);
        return 1;
    }
    size_t cap = 1024, n = 0;
    llama_token *tok = malloc(cap * sizeof *tok);
    int v;
    while (tok && fscanf(tf, "%d", &v) == 1) {
        if (n == cap) tok = realloc(tok, (cap *= 2) * sizeof *tok);
        if (tok) tok[n++] = v;
    }
    fclose(tf);
    if (!tok || n == 0 || n_ctx < 1 || n % (size_t)n_ctx) {
        fprintf(stderr, "llama_harness: %s: %zu ids, not a multiple of %d\n", tokfile, n, n_ctx);
        free(tok);
        return 1;
    }
    struct llama_model *m = load(model);
    if (!m) {
        free(tok);
        return 1;
    }
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(m));
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = (uint32_t)n_ctx;
    cp.n_ubatch = (uint32_t)n_ctx;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    FILE *f = ctx ? fopen(out, "wb") : NULL;
    int rc = !ctx || !f;
    if (rc) fprintf(stderr, "llama_harness: cannot create a context or %s\n", out);
    struct llama_batch b = llama_batch_init(n_ctx, 0, 1);
    for (size_t w = 0; !rc && w < n / (size_t)n_ctx; w++) {
        llama_memory_clear(llama_get_memory(ctx), true);
        for (int i = 0; i < n_ctx; i++) {
            b.token[i] = tok[w * (size_t)n_ctx + (size_t)i];
            b.pos[i] = i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = !half || i >= n_ctx / 2;
        }
        b.n_tokens = n_ctx;
        if (llama_decode(ctx, b) != 0) {
            fprintf(stderr, "llama_harness: llama_decode failed (window %zu)\n", w);
            rc = 1;
        }
        for (int i = half ? n_ctx / 2 : 0; !rc && i < n_ctx; i++) {
            const float *l = llama_get_logits_ith(ctx, i);
            if (!l || fwrite(l, sizeof(float), (size_t)nv, f) != (size_t)nv) rc = 1;
        }
    }
    if (f && fclose(f)) rc = 1;
    if (!rc) printf("n_vocab %d n_windows %zu\n", nv, n / (size_t)n_ctx);
    llama_batch_free(b);
    if (ctx) llama_free(ctx);
    llama_model_free(m);
    free(tok);
    return rc;
}

static int cmd_tokenize(const char *model, const char *textfile, int parse_special)
{
    FILE *f = fopen(textfile, "rb");
    if (!f) {
        perror(textfile);
        return 1;
    }
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = 0;
    struct llama_model *m = load(model);
    if (!m) return 1;
    const struct llama_vocab *v = llama_model_get_vocab(m);
    int cap = (int)len + 8;
    llama_token *ids = malloc(sizeof *ids * (size_t)cap);
    int n = llama_tokenize(v, text, (int32_t)len, ids, cap, true, parse_special);
    if (n < 0) {
        fprintf(stderr, "llama_harness: tokenize failed (%d)\n", n);
        llama_model_free(m);
        free(ids);
        return 1;
    }
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    free(ids);
    llama_model_free(m);
    return 0;
}

static int cmd_meta(const char *model, const char *key)
{
    struct llama_model *m = load(model);
    if (!m) return 1;
    static char buf[1 << 16];
    int n = llama_model_meta_val_str(m, key, buf, sizeof buf);
    if (n >= 0) printf("%s\n", buf);
    else fprintf(stderr, "llama_harness: no key %s\n", key);
    llama_model_free(m);
    return n < 0;
}

static int cmd_template(const char *model)
{
    struct llama_model *m = load(model);
    if (!m) return 1;
    const char *t = llama_model_chat_template(m, NULL);
    if (t) printf("%s\n", t);
    else fprintf(stderr, "llama_harness: no chat template\n");
    llama_model_free(m);
    return t ? 0 : 1;
}

static int cmd_eog(const char *model, int n, char **ids)
{
    struct llama_model *m = load(model);
    if (!m) return 1;
    const struct llama_vocab *v = llama_model_get_vocab(m);
    printf("eos %d bos %d", llama_vocab_eos(v), llama_vocab_bos(v));
    for (int i = 0; i < n; i++) printf(" %s:%d", ids[i], llama_vocab_is_eog(v, atoi(ids[i])) ? 1 : 0);
    printf("\n");
    llama_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: llama_harness logits|chunks|tokenize|meta|template|eog MODEL ...\n");
        return 2;
    }
    llama_log_set(quiet_log, NULL);
    const char *libdir = getenv("WK_LLAMA_LIBDIR");
    if (libdir) ggml_backend_load_all_from_path(libdir);
    else ggml_backend_load_all();
    llama_backend_init();
    int rc = 2;
    if (!strcmp(argv[1], "logits") && argc >= 5) rc = cmd_logits(argv[2], argv[3], argc - 4, argv + 4);
    else if (!strcmp(argv[1], "chunks") && argc >= 6 && argc <= 8)
        rc = cmd_chunks(argv[2], argv[3], atoi(argv[4]), argv[5], argc >= 7 ? atoi(argv[6]) : 1,
                        argc == 8 && !strcmp(argv[7], "half"));
    else if (!strcmp(argv[1], "tokenize") && argc == 4) rc = cmd_tokenize(argv[2], argv[3], 0);
    else if (!strcmp(argv[1], "tokenize") && argc == 5 && !strcmp(argv[4], "special"))
        rc = cmd_tokenize(argv[2], argv[3], 1);
    else if (!strcmp(argv[1], "meta") && argc == 4) rc = cmd_meta(argv[2], argv[3]);
    else if (!strcmp(argv[1], "template") && argc == 3) rc = cmd_template(argv[2]);
    else if (!strcmp(argv[1], "eog") && argc >= 4) rc = cmd_eog(argv[2], argc - 3, argv + 3);
    else fprintf(stderr, "llama_harness: bad arguments\n");
    llama_backend_free();
    return rc;
}
