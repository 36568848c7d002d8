/* quant_imatrix_collect.c — an importance matrix as llama-imatrix computes it, without
 * llama-imatrix (the npm package ships only the libraries): per weight matrix and input
 * column, the sum over tokens of activation^2 and the token count, gathered with libllama's
 * eval callback (every MUL_MAT whose src0 is a "*.weight"), TEXT evaluated in windows of
 * 128 tokens.  Written as a GGUF imatrix (<name>.in_sum2 [ne0] F32, <name>.counts [1] F32),
 * the entries wk-quantize --imatrix reads.  Used by bench/quant_imatrix.sh.
 *
 *   quant_imatrix_collect MODEL.gguf TEXT OUT.gguf     (WK_LLAMA_LIBDIR: the CPU backends) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ggml.h"
#include "ggml-backend.h"
#include "llama.h"
typedef struct { char name[128]; int64_t n; double *sum; double count; } ent;
static ent E[512]; static int NE;
static bool no_progress(float p, void *u) { (void)p; (void)u; return true; }
static void quiet(enum ggml_log_level l, const char *t, void *u) { (void)u; if (l >= GGML_LOG_LEVEL_ERROR) fputs(t, stderr); }
static bool cb(struct ggml_tensor *t, bool ask, void *ud)
{
    (void)ud;
    if (t->op != GGML_OP_MUL_MAT || !t->src[0] || !t->src[1] || !strstr(t->src[0]->name, ".weight")) return !ask;
    if (ask) return true;
    const struct ggml_tensor *w = t->src[0], *a = t->src[1];
    if (a->type != GGML_TYPE_F32 || !ggml_backend_buffer_is_host(a->buffer)) { fprintf(stderr, "skip %s\n", w->name); return true; }
    int k = 0;
    while (k < NE && strcmp(E[k].name, w->name)) k++;
    if (k == NE) {
        snprintf(E[k].name, sizeof E[k].name, "%s", w->name);
        E[k].n = a->ne[0];
        E[k].sum = calloc((size_t)a->ne[0], sizeof(double));
        NE++;
    }
    for (int64_t r3 = 0; r3 < a->ne[3]; r3++)
        for (int64_t r2 = 0; r2 < a->ne[2]; r2++)
            for (int64_t r1 = 0; r1 < a->ne[1]; r1++) {
                const char *row = (const char *)a->data + r1 * a->nb[1] + r2 * a->nb[2] + r3 * a->nb[3];
                for (int64_t j = 0; j < a->ne[0]; j++) {
                    float x;
                    memcpy(&x, row + j * a->nb[0], 4);
                    E[k].sum[j] += (double)x * x;
                }
                E[k].count += 1;
            }
    return true;
}
int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: quant_imatrix_collect MODEL.gguf TEXT OUT.gguf\n"); return 2; }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    ggml_backend_load_all_from_path(getenv("WK_LLAMA_LIBDIR"));
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0; mp.progress_callback = no_progress;
    struct llama_model *m = llama_model_load_from_file(argv[1], mp);
    if (!m) return 1;
    const struct llama_vocab *v = llama_model_get_vocab(m);
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    fseek(f, 0, SEEK_END); long len = ftell(f); fseek(f, 0, SEEK_SET);
    char *text = malloc(len + 1); if (fread(text, 1, len, f) != (size_t)len) return 1; fclose(f);
    llama_token *ids = malloc(sizeof *ids * (len + 8));
    int n = llama_tokenize(v, text, (int32_t)len, ids, (int32_t)len + 8, true, false);
    struct llama_context_params cp = llama_context_default_params();
    const int n_ctx = 128;
    cp.n_ctx = cp.n_batch = cp.n_ubatch = n_ctx; cp.n_threads = cp.n_threads_batch = 1;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED; cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.cb_eval = cb; cp.cb_eval_user_data = NULL; cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    if (!ctx) return 1;
    struct llama_batch b = llama_batch_init(n_ctx, 0, 1);
    for (int w0 = 0; w0 + 1 < n; w0 += n_ctx) {
        int wn = n - w0 < n_ctx ? n - w0 : n_ctx;
        llama_memory_clear(llama_get_memory(ctx), true);
        for (int i = 0; i < wn; i++) { b.token[i] = ids[w0 + i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = i == wn - 1; }
        b.n_tokens = wn;
        if (llama_decode(ctx, b)) return 1;
    }
    /* GGUF v3 writer: tensors only */
    FILE *o = fopen(argv[3], "wb");
    if (!o) { perror(argv[3]); return 1; }
    uint64_t nt = 2 * (uint64_t)NE, nkv = 3; uint32_t ver = 3;
    fwrite("GGUF", 1, 4, o); fwrite(&ver, 4, 1, o); fwrite(&nt, 8, 1, o); fwrite(&nkv, 8, 1, o);
    /* the metadata llama-quantize requires: imatrix.datasets, chunk_count, chunk_size */
    {
        const char *k1 = "imatrix.datasets", *ds = "heldout.txt";
        uint64_t l = strlen(k1), n1 = 1, dl = strlen(ds); uint32_t arr = 9, str = 8, u32 = 4, v;
        fwrite(&l, 8, 1, o); fwrite(k1, 1, l, o); fwrite(&arr, 4, 1, o); fwrite(&str, 4, 1, o);
        fwrite(&n1, 8, 1, o); fwrite(&dl, 8, 1, o); fwrite(ds, 1, dl, o);
        const char *k2 = "imatrix.chunk_count", *k3 = "imatrix.chunk_size";
        l = strlen(k2); v = 0; fwrite(&l, 8, 1, o); fwrite(k2, 1, l, o); fwrite(&u32, 4, 1, o); fwrite(&v, 4, 1, o);
        l = strlen(k3); v = 128; fwrite(&l, 8, 1, o); fwrite(k3, 1, l, o); fwrite(&u32, 4, 1, o); fwrite(&v, 4, 1, o);
    }
    uint64_t off = 0;
    for (int k = 0; k < NE; k++)
        for (int c = 0; c < 2; c++) {
            char nm[192]; snprintf(nm, sizeof nm, "%s.%s", E[k].name, c ? "counts" : "in_sum2");
            uint64_t l = strlen(nm); uint32_t nd = 1, ty = 0; int64_t ne = c ? 1 : E[k].n;
            fwrite(&l, 8, 1, o); fwrite(nm, 1, l, o); fwrite(&nd, 4, 1, o); fwrite(&ne, 8, 1, o); fwrite(&ty, 4, 1, o); fwrite(&off, 8, 1, o);
            off += ((uint64_t)ne * 4 + 31) / 32 * 32;
        }
    long pos = ftell(o); while (pos % 32) { fputc(0, o); pos++; }
    for (int k = 0; k < NE; k++)
        for (int c = 0; c < 2; c++) {
            int64_t ne = c ? 1 : E[k].n; uint64_t bytes = (uint64_t)ne * 4;
            for (int64_t j = 0; j < ne; j++) { float x = c ? (float)E[k].count : (float)E[k].sum[j]; fwrite(&x, 4, 1, o); }
            while (bytes % 32) { fputc(0, o); bytes++; }
        }
    fclose(o);
    for (int k = 0; k < NE; k++) fprintf(stderr, "%s: %lld columns, %.0f rows\n", E[k].name, (long long)E[k].n, E[k].count);
    return 0;
}
