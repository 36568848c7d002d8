/* wk-inspect — list the tensors of checkpoint files (name, dtype, shape,
 * bytes, data offset, contiguity, totals), as text or JSON, and optionally
 * the data.pkl opcode listing.  A thin main over formats/wk_pth.c; other
 * formats are added as rows of k_formats (probe by magic/extension + open). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_cli.h"
#include "wk_json.h"
#include "wk_pickle.h"
#include "wk_pth.h"
#include "wk_tensor.h"

#define PROG "wk-inspect"

typedef struct {
    wk_cli_std_opts std;
    int pickle;        /* --pickle */
    char **files;
    int nfiles;
} insp_opts;

/* What one format reader gives back: a tensor list plus a few facts. */
typedef struct {
    const char *format;         /* "pytorch-zip" */
    char detail[256];           /* e.g. "archive 'x', pickle protocol 2" */
    size_t n;
    const wk_tensor_info *(*at)(const void *h, size_t i);
    const void *h;
    size_t skipped;             /* non-tensor entries */
    size_t storages;
    uint64_t storage_bytes;
    char *listing;              /* --pickle: opcode listing (malloc'd) or NULL */
} insp_file;

typedef struct {
    uint64_t files, tensors, params, bytes;
} insp_totals;

/* ---- formats ------------------------------------------------------------- */

typedef struct {
    const char *name;
    /* 1 if this reader should handle the file (head = its first bytes). */
    int (*probe)(const uint8_t *head, size_t n, const char *path);
    int (*open)(const char *path, const insp_opts *o, insp_file *f, void **state, wk_err *err);
    void (*close)(void *state);
} insp_format;

static int pth_probe(const uint8_t *head, size_t n, const char *path)
{
    (void)head, (void)n, (void)path;
    return 1; /* the fallback: wk_pth names legacy, tar and non-zip files itself */
}

static const wk_tensor_info *pth_at(const void *h, size_t i) { return wk_pth_tensor(h, i); }

/* --pickle: the listing of data.pkl, from a container-only open so that a
 * refused pickle can still be listed (NULL if the container is bad: the
 * full open then reports why). */
static char *pth_listing(const char *path)
{
    wk_err err;
    wk_pth *c = wk_pth_open(path, WK_PTH_CONTAINER_ONLY, &err);
    if (!c) return NULL;
    size_t len;
    const uint8_t *pkl = wk_pth_pickle(c, &len, NULL);
    char name[512];
    snprintf(name, sizeof name, "%s/data.pkl", wk_pth_prefix(c));
    wk_buf b = {0};
    if (wk_pickle_disasm(pkl, len, name, &b, &err))
        wk_buf_printf(&b, "(listing stopped: %s)\n", err.msg);
    wk_pth_close(c);
    wk_buf_putc(&b, '\0');
    if (wk_buf_check(&b, &err)) {
        wk_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

static int pth_open(const char *path, const insp_opts *o, insp_file *f, void **state, wk_err *err)
{
    if (o->pickle) f->listing = pth_listing(path);
    wk_pth *p = wk_pth_open(path, 0, err);
    if (!p) return -1;
    f->format = "pytorch-zip";
    snprintf(f->detail, sizeof f->detail, "archive '%s', pickle protocol %d", wk_pth_prefix(p),
             wk_pth_protocol(p));
    f->n = wk_pth_count(p);
    f->at = pth_at;
    f->h = p;
    f->skipped = wk_pth_skipped(p);
    f->storages = wk_pth_storage_count(p);
    f->storage_bytes = wk_pth_storage_bytes(p);
    *state = p;
    return 0;
}

static void pth_close(void *state) { wk_pth_close(state); }

static const insp_format k_formats[] = {
    /* more specific formats (safetensors, GGUF) go before the fallback */
    {"pytorch-zip", pth_probe, pth_open, pth_close},
};

static const insp_format *pick_format(const char *path)
{
    uint8_t head[64];
    size_t n = 0;
    FILE *fp = fopen(path, "rb");
    if (fp) {
        n = fread(head, 1, sizeof head, fp);
        fclose(fp);
    }
    for (size_t i = 0; i < sizeof k_formats / sizeof k_formats[0]; i++)
        if (k_formats[i].probe(head, n, path)) return &k_formats[i];
    return &k_formats[0];
}

/* ---- per-tensor facts ------------------------------------------------------ */

typedef struct {
    int64_t numel;
    uint64_t bytes, data_offset;
    int contiguous;
} tensor_facts;

static void facts(const wk_tensor_info *t, tensor_facts *tf)
{
    size_t es = wk_dtype_get(t->dtype)->size;
    if (wk_tensor_numel(t, &tf->numel, NULL)) tf->numel = 0; /* validated by the reader */
    tf->bytes = (uint64_t)tf->numel * es;
    tf->data_offset = t->file_offset + (uint64_t)t->storage_offset * es;
    tf->contiguous = tf->numel == 0 || wk_tensor_is_contiguous(t); /* as torch: empty = contiguous */
}

static void shape_str(const wk_tensor_info *t, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < t->ndim && o < cap; d++)
        o += (size_t)snprintf(out + o, cap - o, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    if (o < cap) snprintf(out + o, cap - o, "]");
}

/* ---- text output -------------------------------------------------------------- */

/* A tensor name made safe for a terminal: control bytes and backslash escaped
 * (names come from the file and may hold anything but NUL), cut with "...". */
static const char *disp_name(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\') o += (size_t)snprintf(out + o, cap - o, "\\\\");
        else if (c == '\n') o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else out[o++] = (char)c;
    }
    if (*s) o += (size_t)snprintf(out + o, cap - o, "...");
    out[o] = '\0';
    return out;
}

static void print_text(const char *path, const insp_file *f, insp_totals *tot)
{
    if (f->listing) fputs(f->listing, stdout);
    printf("%s: %s, %s\n", path, f->format, f->detail);
    int w = 4;
    char name[512];
    for (size_t i = 0; i < f->n; i++) {
        int l = (int)strlen(disp_name(f->at(f->h, i)->name, name, sizeof name));
        if (l > w) w = l;
    }
    if (w > 60) w = 60;
    printf("  %-*s  %-8s  %-16s  %12s  %12s  %s\n", w, "name", "dtype", "shape", "bytes", "offset",
           "contiguous");
    uint64_t params = 0, bytes = 0;
    for (size_t i = 0; i < f->n; i++) {
        const wk_tensor_info *t = f->at(f->h, i);
        tensor_facts tf;
        facts(t, &tf);
        char shape[256];
        shape_str(t, shape, sizeof shape);
        printf("  %-*s  %-8s  %-16s  %12" PRIu64 "  %12" PRIu64 "  %s\n", w,
               disp_name(t->name, name, sizeof name),
               wk_dtype_get(t->dtype)->torch_name, shape, tf.bytes, tf.data_offset,
               tf.contiguous ? "yes" : "no");
        params += (uint64_t)tf.numel;
        bytes += tf.bytes;
    }
    printf("  total: %zu tensors, %" PRIu64 " parameters, %" PRIu64 " bytes; %zu storages, %" PRIu64
           " bytes; %zu non-tensor entries skipped\n", f->n, params, bytes, f->storages,
           f->storage_bytes, f->skipped);
    tot->files++;
    tot->tensors += f->n;
    tot->params += params;
    tot->bytes += bytes;
}

/* ---- JSON output --------------------------------------------------------------- */

static wk_json *ints(const int64_t *v, int n, wk_err *err)
{
    wk_json *a = wk_json_new_array();
    for (int i = 0; a && i < n; i++)
        if (wk_json_array_push(a, wk_json_new_int(v[i]), err)) {
            wk_json_free(a);
            return NULL;
        }
    return a;
}

static wk_json *json_tensor(const wk_tensor_info *t, wk_err *err)
{
    tensor_facts tf;
    facts(t, &tf);
    wk_json *o = wk_json_new_object();
    if (!o) return NULL;
    if (wk_json_object_append(o, "name", wk_json_new_string(t->name), err) ||
        wk_json_object_append(o, "dtype", wk_json_new_string(wk_dtype_get(t->dtype)->torch_name), err) ||
        wk_json_object_append(o, "shape", ints(t->shape, t->ndim, err), err) ||
        wk_json_object_append(o, "stride", ints(t->stride, t->ndim, err), err) ||
        wk_json_object_append(o, "storage_key",
                              t->storage_key ? wk_json_new_string(t->storage_key) : wk_json_new_null(), err) ||
        wk_json_object_append(o, "storage_offset", wk_json_new_int(t->storage_offset), err) ||
        wk_json_object_append(o, "numel", wk_json_new_int(tf.numel), err) ||
        wk_json_object_append(o, "bytes", wk_json_new_int((int64_t)tf.bytes), err) ||
        wk_json_object_append(o, "data_offset", wk_json_new_int((int64_t)tf.data_offset), err) ||
        wk_json_object_append(o, "contiguous", wk_json_new_bool(tf.contiguous), err)) {
        wk_json_free(o);
        return NULL;
    }
    return o;
}

static wk_json *json_totals(uint64_t n, uint64_t params, uint64_t bytes, wk_err *err)
{
    wk_json *o = wk_json_new_object();
    if (!o) return NULL;
    if (wk_json_object_append(o, "tensors", wk_json_new_int((int64_t)n), err) ||
        wk_json_object_append(o, "params", wk_json_new_int((int64_t)params), err) ||
        wk_json_object_append(o, "bytes", wk_json_new_int((int64_t)bytes), err)) {
        wk_json_free(o);
        return NULL;
    }
    return o;
}

static wk_json *json_file(const char *path, const insp_file *f, insp_totals *tot, wk_err *err)
{
    wk_json *o = wk_json_new_object(), *arr = wk_json_new_array();
    if (!o || !arr || wk_json_object_append(o, "path", wk_json_new_string(path), err)) {
        wk_json_free(arr);
        goto fail;
    }
    /* o owns arr from here on (or freed it if this fails) */
    if (wk_json_object_append(o, "format", wk_json_new_string(f->format), err) ||
        wk_json_object_append(o, "detail", wk_json_new_string(f->detail), err) ||
        wk_json_object_append(o, "tensors", arr, err))
        goto fail;
    uint64_t params = 0, bytes = 0;
    for (size_t i = 0; i < f->n; i++) {
        tensor_facts tf;
        facts(f->at(f->h, i), &tf);
        params += (uint64_t)tf.numel;
        bytes += tf.bytes;
        if (wk_json_array_push(arr, json_tensor(f->at(f->h, i), err), err)) goto fail;
    }
    if (wk_json_object_append(o, "totals", json_totals(f->n, params, bytes, err), err) ||
        wk_json_object_append(o, "storages", wk_json_new_int((int64_t)f->storages), err) ||
        wk_json_object_append(o, "storage_bytes", wk_json_new_int((int64_t)f->storage_bytes), err) ||
        wk_json_object_append(o, "skipped_entries", wk_json_new_int((int64_t)f->skipped), err) ||
        (f->listing && wk_json_object_append(o, "pickle", wk_json_new_string(f->listing), err)))
        goto fail;
    tot->files++;
    tot->tensors += f->n;
    tot->params += params;
    tot->bytes += bytes;
    return o;
fail:
    if (err->code == WK_OK) wk_err_set(err, WK_E_NOMEM, "out of memory building JSON");
    wk_json_free(o);
    return NULL;
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(void)
{
    printf(
"usage: wk-inspect [options] FILE...\n"
"\n"
"  List the tensors of checkpoint files: name, dtype, shape, bytes, the file\n"
"  offset of the first element, whether it is contiguous, and totals.\n"
"  Formats: PyTorch zip checkpoints (torch.save, PyTorch >= 1.6: .pth .pt .bin).\n"
"  Pickles are never executed: only tensor-checkpoint constructs are accepted,\n"
"  anything else (e.g. a global like os.system) is refused with its byte offset.\n"
"\n"
"options:\n"
"  --pickle              also print the data.pkl opcode listing (pickletools style;\n"
"                        listed even when the pickle is refused)\n"
"  --json                print a JSON report on stdout instead of text\n"
"  -q, --quiet           print nothing but errors (validate only)\n"
"  -h, --help            this help\n"
"  -V, --version         version\n"
"\n"
"exit status: 0 if every file was read, else non-zero (one error line per bad file).\n");
}

static int parse_args(int argc, char **argv, insp_opts *o, int *exit_now, wk_err *err)
{
    wk_cli_std_init(&o->std, PROG);
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->files) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    int help = 0, version = 0, only_files = 0;
    for (int i = 1; i < argc; i++) {
        if (!only_files && argv[i][0] == '-' && argv[i][1]) {
            int r = wk_cli_std(&o->std, argc, argv, &i, &help, &version, err);
            if (r < 0) return -1;
            if (r > 0) continue;
            if (!strcmp(argv[i], "--pickle")) o->pickle = 1;
            else if (!strcmp(argv[i], "--")) only_files = 1;
            else return wk_err_set(err, WK_E_USAGE, "unknown option '%s' (see --help)", argv[i]);
        } else {
            o->files[o->nfiles++] = argv[i];
        }
    }
    if (help) { usage(); *exit_now = 1; return 0; }
    if (version) { wk_cli_print_version(PROG); *exit_now = 1; return 0; }
    if (o->nfiles == 0) return wk_err_set(err, WK_E_USAGE, "no input files (see --help)");
    return 0;
}

int main(int argc, char **argv)
{
    insp_opts o = {0};
    wk_err err;
    wk_err_clear(&err);
    int exit_now = 0;
    if (parse_args(argc, argv, &o, &exit_now, &err)) {
        free(o.files);
        return wk_cli_fail(PROG, &err);
    }
    if (exit_now) {
        free(o.files);
        return 0;
    }
    int status = 0;
    insp_totals tot = {0};
    wk_json *root = NULL, *files = NULL, *errors = NULL;
    if (o.std.json) {
        root = wk_json_new_object();
        files = wk_json_new_array();
        errors = wk_json_new_array();
        if (!root || !files || !errors) {
            wk_err_set(&err, WK_E_NOMEM, "out of memory");
            return wk_cli_fail(PROG, &err);
        }
    }
    for (int i = 0; i < o.nfiles; i++) {
        const char *path = o.files[i];
        const insp_format *fmt = pick_format(path);
        insp_file f = {0};
        void *state = NULL;
        wk_err_clear(&err);
        if (fmt->open(path, &o, &f, &state, &err)) {
            if (f.listing && !o.std.json && !o.std.quiet) fputs(f.listing, stdout);
            fflush(stdout);
            int st = wk_cli_fail(PROG, &err);
            if (!status) status = st;
            if (errors) {
                wk_json *e = wk_json_new_object();
                if (wk_json_object_append(e, "path", wk_json_new_string(path), &err) ||
                    wk_json_object_append(e, "error", wk_json_new_string(err.msg), &err) ||
                    wk_json_array_push(errors, e, &err))
                    status = status ? status : 1;
            }
            free(f.listing);
            continue;
        }
        if (o.std.json) {
            wk_json *jf = json_file(path, &f, &tot, &err);
            if (!jf || wk_json_array_push(files, jf, &err)) {
                int st = wk_cli_fail(PROG, &err);
                if (!status) status = st;
            }
        } else if (!o.std.quiet) {
            print_text(path, &f, &tot);
        }
        free(f.listing);
        fmt->close(state);
    }
    if (!o.std.json && !o.std.quiet && tot.files > 1)
        printf("all files: %" PRIu64 " tensors, %" PRIu64 " parameters, %" PRIu64 " bytes\n",
               tot.tensors, tot.params, tot.bytes);
    if (root) {
        wk_buf out = {0};
        wk_json_dump_opts jo = wk_json_opts_python();
        jo.indent = 2;
        if (wk_json_object_append(root, "files", files, &err) ||
            wk_json_object_append(root, "totals", json_totals(tot.tensors, tot.params, tot.bytes, &err), &err) ||
            wk_json_object_append(root, "errors", errors, &err) ||
            wk_json_dump(root, &jo, &out, &err)) {
            int st = wk_cli_fail(PROG, &err);
            if (!status) status = st;
        } else {
            fwrite(out.data, 1, out.len, stdout);
            putchar('\n');
        }
        wk_buf_free(&out);
        wk_json_free(root);
    }
    free(o.files);
    if (fflush(stdout) != 0 && !status) {
        wk_err_set(&err, WK_E_IO, "writing standard output failed");
        status = wk_cli_fail(PROG, &err);
    }
    return status;
}
