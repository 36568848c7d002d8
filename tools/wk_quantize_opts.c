/* wk_quantize_opts.c — see wk_quantize_opts.h. */
#include "wk_quantize_opts.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wk_quant.h"

int wk_quantize_type_id(const char *s)
{
    static const struct { const char *name; int id; } FLOATS[] = {
        { "f32", WK_GGML_F32 }, { "f16", WK_GGML_F16 }, { "bf16", WK_GGML_BF16 } };
    for (size_t i = 0; i < sizeof FLOATS / sizeof FLOATS[0]; i++)
        if (!strcasecmp(s, FLOATS[i].name)) return FLOATS[i].id;
    return wk_quant_type_from_name(s);
}

/* Grow *arr (of *n elements of size sz) by one; its address, or NULL. */
static void *grow(void *arr_p, size_t *n, size_t sz)
{
    void **arr = arr_p;
    void *na = realloc(*arr, sz * (*n + 1));
    if (!na) return NULL;
    *arr = na;
    return (char *)na + sz * (*n)++;
}

/* --tensor-type NAME=TYPE (llama-quantize's parse_tensor_type). */
static int tensor_type(wk_quantize_xopts *x, const char *arg, wk_err *err)
{
    const char *sep = strchr(arg, '=');
    WK_FAIL_IF(!sep, err, WK_E_USAGE, "--tensor-type '%s': malformed (NAME=TYPE)", arg);
    WK_FAIL_IF(sep == arg, err, WK_E_USAGE, "--tensor-type '%s': missing tensor name", arg);
    WK_FAIL_IF(!sep[1], err, WK_E_USAGE, "--tensor-type '%s': missing quantization type", arg);
    const int type = wk_quantize_type_id(sep + 1);
    WK_FAIL_IF(type < 0, err, WK_E_USAGE, "--tensor-type '%s': unknown or unsupported type '%s' "
               "(wk-quantize writes f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k "
               "iq4_nl iq4_xs)", arg, sep + 1);
    char *name = strndup(arg, (size_t)(sep - arg));
    WK_FAIL_IF(!name, err, WK_E_NOMEM, "out of memory");
    wk_qmix_tt *tt = grow(&x->tt, &x->n_tt, sizeof *tt);
    int rc = tt ? wk_qmix_tt_init(tt, name, type, err) : wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (rc && tt) x->n_tt--;
    free(name);
    return rc;
}

int wk_quantize_xopt(wk_quantize_xopts *x, int argc, char **argv, int *i, wk_err *err)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--dry-run")) {
        x->dry_run = 1;
        return 1;
    }
    const int inc = !strcmp(a, "--include-weights"), exc = !strcmp(a, "--exclude-weights");
    const int tt = !strcmp(a, "--tensor-type"), kv = !strcmp(a, "--override-kv");
    if (!inc && !exc && !tt && !kv) return 0;
    WK_FAIL_IF(*i + 1 >= argc, err, WK_E_USAGE, "%s needs a value", a);
    const char *v = argv[++*i];
    if (tt) return tensor_type(x, v, err) ? -1 : 1;
    if (kv) {
        wk_qrun_kv *k = grow(&x->kv, &x->n_kv, sizeof *k);
        WK_FAIL_IF(!k, err, WK_E_NOMEM, "out of memory");
        if (wk_qrun_kv_parse(v, k, err)) { x->n_kv--; return -1; }
        return 1;
    }
    const char **s = grow(inc ? &x->include_w : &x->exclude_w, inc ? &x->n_include : &x->n_exclude,
                          sizeof *s);
    WK_FAIL_IF(!s, err, WK_E_NOMEM, "out of memory");
    *s = v;
    return 1;
}

void wk_quantize_xopts_free(wk_quantize_xopts *x)
{
    for (size_t i = 0; i < x->n_tt; i++) wk_qmix_tt_free(&x->tt[i]);
    free(x->tt);
    free(x->kv);
    free(x->include_w);
    free(x->exclude_w);
    memset(x, 0, sizeof *x);
}
