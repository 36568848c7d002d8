/* wk_inspect_print.c — wk-inspect's text output (tool layer: prints): the
 * tensor table, metadata, stats, --verify lines, --help. */
#include "wk_inspect_print.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "wk_gguf.h"
#include "wk_safetensors.h"

typedef wk_insp_row insp_row;
typedef wk_insp_file insp_file;
typedef wk_insp_stats insp_stats;
typedef wk_insp_totals insp_totals;

/* ---- text output -------------------------------------------------------------- */

/* n bytes of s made safe for a terminal: control bytes and backslash escaped
 * (names and values come from the file and may hold anything), cut with "...". */
static const char *disp_mem(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    for (; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') o += (size_t)snprintf(out + o, cap - o, "\\\\");
        else if (c == '\n') o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else out[o++] = (char)c;
    }
    if (i < n) o += (size_t)snprintf(out + o, cap - o, "...");
    out[o] = '\0';
    return out;
}

static const char *disp_name(const char *s, char *out, size_t cap)
{
    return disp_mem(s, strlen(s), out, cap);
}

static void shape_str(const insp_row *r, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < r->ndim && o < cap; d++)
        o += (size_t)snprintf(out + o, cap - o, "%s%" PRId64, d ? ", " : "", r->shape[d]);
    if (o < cap) snprintf(out + o, cap - o, "]");
}

/* A GGUF KV's value for text: scalars printed, strings quoted, arrays summarised. */
static void gguf_kv_text(const wk_gguf *g, size_t k, char *out, size_t cap)
{
    const wk_gguf_kv *kv = wk_gguf_kv_at(g, k);
    double d;
    int64_t v;
    if (kv->type == WK_GGUF_ARRAY) {
        snprintf(out, cap, "%" PRIu64 " items", kv->n);
    } else if (kv->type == WK_GGUF_STRING) {
        const char *s;
        size_t len;
        char esc[256];
        if (wk_gguf_get_str(g, kv->key, &s, &len, NULL)) snprintf(out, cap, "?");
        else snprintf(out, cap, "\"%s\"", disp_mem(s, len, esc, sizeof esc));
    } else if (wk_gguf_kv_num(g, k, 0, &d, &v)) {
        snprintf(out, cap, "?");
    } else if (kv->type == WK_GGUF_FLOAT32 || kv->type == WK_GGUF_FLOAT64) {
        snprintf(out, cap, "%.9g", d);
    } else if (kv->type == WK_GGUF_BOOL) {
        snprintf(out, cap, "%s", v ? "true" : "false");
    } else if (kv->type == WK_GGUF_UINT64) {
        snprintf(out, cap, "%" PRIu64, (uint64_t)v);
    } else {
        snprintf(out, cap, "%" PRId64, v);
    }
}

static void gguf_kv_typename(const wk_gguf_kv *kv, char *out, size_t cap)
{
    if (kv->type == WK_GGUF_ARRAY) snprintf(out, cap, "array[%s]", wk_gguf_type_name(kv->arr_type));
    else snprintf(out, cap, "%s", wk_gguf_type_name(kv->type));
}

static void print_meta(const insp_file *f)
{
    char key[256], val[512], ty[32];
    if (f->gguf) {
        const wk_gguf *g = f->gguf;
        size_t nk = wk_gguf_kv_count(g);
        int w = 3;
        for (size_t k = 0; k < nk; k++) {
            int l = (int)strlen(disp_name(wk_gguf_kv_at(g, k)->key, key, sizeof key));
            if (l > w) w = l;
        }
        if (w > 48) w = 48;
        printf("  metadata: %zu keys\n", nk);
        for (size_t k = 0; k < nk; k++) {
            const wk_gguf_kv *kv = wk_gguf_kv_at(g, k);
            gguf_kv_typename(kv, ty, sizeof ty);
            gguf_kv_text(g, k, val, sizeof val);
            printf("    %-*s  %-14s  %s\n", w, disp_name(kv->key, key, sizeof key), ty, val);
        }
    }
    if (f->st) {
        size_t nk = wk_st_meta_count(f->st), digests = 0;
        printf("  metadata (__metadata__): %zu keys\n", nk);
        for (size_t k = 0; k < nk; k++) {
            const char *kk = wk_st_meta_key(f->st, k);
            if (strncmp(kk, WK_ST_DIGEST_PREFIX, strlen(WK_ST_DIGEST_PREFIX)) == 0) {
                digests++;
                continue;
            }
            size_t len;
            const char *v = wk_st_meta_value(f->st, k, &len);
            char esc[160];
            printf("    %s = \"%s\"\n", disp_name(kk, key, sizeof key), disp_mem(v, len, esc, sizeof esc));
        }
        if (digests) printf("    (%zu %s<tensor> digest keys not shown)\n", digests, WK_ST_DIGEST_PREFIX);
    }
}

static void print_stats(const insp_file *f, const insp_stats *st, int w)
{
    char name[512], fl[64];
    printf("  stats (over finite values; noise = any NaN/Inf, |x| > %g or std > %g):\n",
           WK_STATS_MAX_ABS, WK_STATS_MAX_STD);
    printf("  %-*s  %10s  %10s  %13s  %13s  %13s  %13s  %s\n", w, "name", "nan", "inf", "min", "max",
           "mean", "std", "verdict");
    for (size_t i = 0; i < f->n; i++) {
        if (!st->done[i]) continue;
        insp_row r;
        f->row(f->h, i, &r);
        const wk_tensor_stats *s = &st->s[i];
        printf("  %-*s  %10" PRIu64 "  %10" PRIu64 "  %13.6g  %13.6g  %13.6g  %13.6g  %s\n", w,
               disp_name(r.name, name, sizeof name), s->n_nan, s->n_inf, s->min, s->max, s->mean,
               s->std, s->flags ? wk_stats_flags_str(s->flags, fl, sizeof fl) : "ok");
    }
    printf("  stats: %zu floating tensors, %zu flagged as noise; %zu skipped (not floating)\n",
           st->computed, st->flagged, st->skipped);
}

void insp_print_text(const char *path, const insp_file *f, const insp_stats *st, int meta,
                     insp_totals *tot)
{
    if (f->listing) fputs(f->listing, stdout);
    printf("%s: %s, %s\n", path, f->format, f->detail);
    if (meta) print_meta(f);
    int w = 4;
    char name[512];
    insp_row r;
    for (size_t i = 0; i < f->n; i++) {
        f->row(f->h, i, &r);
        int l = (int)strlen(disp_name(r.name, name, sizeof name));
        if (l > w) w = l;
    }
    if (w > 60) w = 60;
    printf("  %-*s  %-8s  %-16s  %12s  %12s  %s\n", w, "name", "dtype", "shape", "bytes", "offset",
           "contiguous");
    uint64_t params = 0, bytes = 0;
    for (size_t i = 0; i < f->n; i++) {
        f->row(f->h, i, &r);
        char shape[256], off[32];
        shape_str(&r, shape, sizeof shape);
        if (r.has_offset) snprintf(off, sizeof off, "%" PRIu64, r.data_offset);
        else snprintf(off, sizeof off, "-");
        printf("  %-*s  %-8s  %-16s  %12" PRIu64 "  %12s  %s%s%s\n", w,
               disp_name(r.name, name, sizeof name), r.type, shape, r.bytes, off,
               r.contiguous ? "yes" : "no", r.file ? "  " : "", r.file ? r.file : "");
        params += (uint64_t)r.numel;
        bytes += r.bytes;
    }
    if (f->has_storages)
        printf("  total: %zu tensors, %" PRIu64 " parameters, %" PRIu64 " bytes; %zu storages, %" PRIu64
               " bytes; %zu non-tensor entries skipped\n", f->n, params, bytes, f->storages,
               f->storage_bytes, f->skipped);
    else
        printf("  total: %zu tensors, %" PRIu64 " parameters, %" PRIu64 " bytes\n", f->n, params, bytes);
    if (st) print_stats(f, st, w);
    tot->files++;
    tot->tensors += f->n;
    tot->params += params;
    tot->bytes += bytes;
}

/* ---- --verify ------------------------------------------------------------------ */

void insp_print_verify_line(void *ctx, const char *tensor, int status, const char *got, const char *want)
{
    const int *quiet = ctx;
    char name[512];
    static const char *const word[] = {"OK", "FAILED", "NO DIGEST"};
    if (!*quiet || status) {
        FILE *out = *quiet ? stderr : stdout;
        if (status == 1)
            fprintf(out, "  %-9s  %s (xxh3-64 %s, stored %s)\n", word[1], disp_name(tensor, name, sizeof name),
                    got ? got : "?", want ? want : "?");
        else
            fprintf(out, "  %-9s  %s\n", word[status == 0 ? 0 : 2], disp_name(tensor, name, sizeof name));
    }
}

/* ---- --help ---------------------------------------------------------------------- */

void insp_print_usage(void)
{
    printf(
"usage: wk-inspect [options] FILE|DIR...\n"
"       wk-inspect --verify FILE|DIR...\n"
"\n"
"  List the tensors of checkpoint files: name, dtype, shape, bytes, the file\n"
"  offset of the first byte, whether it is contiguous, and totals.\n"
"  Formats: PyTorch zip checkpoints (torch.save, PyTorch >= 1.6: .pth .pt .bin),\n"
"  GGUF (dtype = ggml type; shape outermost first, i.e. ggml's ne[] reversed),\n"
"  safetensors, and model directories (HF: model*.safetensors / pytorch_model*.bin\n"
"  with or without an index; Meta: params.json + consolidated.NN.pth).\n"
"  Pickles are never executed: only tensor-checkpoint constructs are accepted,\n"
"  anything else (e.g. a global like os.system) is refused with its byte offset.\n"
"\n"
"options:\n"
"  --pickle              also print the data.pkl opcode listing (pickletools style;\n"
"                        listed even when the pickle is refused)\n"
"  --meta                also print GGUF metadata (scalars with their value, arrays\n"
"                        with their length) and safetensors __metadata__\n"
"  --stats               per floating tensor (f32/f16/bf16/f64, quantized GGUF via\n"
"                        dequantization): NaN and Inf counts, min, max, mean, std\n"
"                        (over the finite values); tensors that look like noise are\n"
"                        flagged: any NaN/Inf, |x| > 1e4, or std > 100 (what an XOR\n"
"                        decode against the wrong base produces)\n"
"  --strict              with --stats (implied): a flagged tensor is an error\n"
"  --verify              recompute the per-tensor XXH3-64 digests wk-pack stores\n"
"                        (GGUF, safetensors, safetensors directory) and report OK /\n"
"                        FAILED per tensor; fails on any mismatch or if the file\n"
"                        carries no digests\n"
"  --json                print a JSON report on stdout instead of text\n"
"  -j, --threads N       threads for opening Meta ranks\n"
"  -q, --quiet           print nothing but errors (validate only)\n"
"  -h, --help            this help\n"
"  -V, --version         version\n"
"\n"
"exit status: 0 if every file was read (and verified, and, with --strict, has no\n"
"flagged tensor); 3 on a digest mismatch; else non-zero (one error line per bad file).\n");
}

