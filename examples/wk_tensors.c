/* wk_tensors.c — a program outside weightkit that links the installed
 * libweightkit: open a checkpoint (GGUF, PyTorch .pth/.bin, safetensors, or
 * an HF / Meta model directory) and print its tensor list.
 *
 *   cc wk_tensors.c $(pkg-config --cflags --libs weightkit) -o wk_tensors
 *   ./wk_tensors model.gguf
 *
 * or with CMake: find_package(weightkit) and link weightkit::weightkit (see
 * CMakeLists.txt beside this file).  Output: a header line with the format
 * and the tensor count, then "name<TAB>type<TAB>shape<TAB>bytes" per tensor. */
#include <inttypes.h>
#include <stdio.h>

#include <weightkit/wk_ggml.h>
#include <weightkit/wk_source.h>

/* The tensor's type as wk-inspect spells it: the ggml type of a GGUF
 * tensor, else the safetensors dtype name. */
static const char *type_name(const wk_source_tensor *t)
{
    const wk_ggml_type_info *g = t->ggml_type >= 0 ? wk_ggml_type_get(t->ggml_type) : NULL;
    const wk_dtype_info *d = wk_dtype_get(t->dtype);
    return g ? g->name : d ? d->st_name : "?";
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CHECKPOINT\n", argv[0]);
        return 2;
    }
    wk_err err;
    wk_err_clear(&err);
    wk_source *s = wk_source_open(argv[1], 0, &err);
    if (!s) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        return wk_err_exit_status(err.code);
    }
    size_t n = wk_source_count(s);
    printf("%s: %s, %zu tensors\n", argv[1], wk_source_kind_name(wk_source_kind_of(s)), n);
    for (size_t i = 0; i < n; i++) {
        const wk_source_tensor *t = wk_source_tensor_at(s, i);
        printf("%s\t%s\t[", t->name, type_name(t));
        for (int d = 0; d < t->ndim; d++) printf(d ? ", %" PRId64 : "%" PRId64, t->shape[d]);
        printf("]\t%" PRIu64 "\n", t->nbytes);
    }
    wk_source_close(s);
    return 0;
}
