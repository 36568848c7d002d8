/* wk_imatrix_write.c — llama-imatrix's two output formats (wk_imatrix_write.h,
 * docs/formats/imatrix.md "Writing"). */
#include "wk_imatrix_write.h"
#include "wk_ggml.h"
#include "wk_gguf.h"
#include "wk_io.h"
#include "wk_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(const wk_imatrix_entry *const *)a)->name, (*(const wk_imatrix_entry *const *)b)->name);
}

/* Entries sorted by name, checked.  *out malloc'd. */
static int sorted(const wk_imatrix_data *d, const wk_imatrix_entry ***out, wk_err *err)
{
    WK_FAIL_IF(d->n_entries < 1, err, WK_E_USAGE, "importance matrix: no entries to write");
    WK_FAIL_IF(d->chunk_size < 1, err, WK_E_USAGE, "importance matrix: chunk size 0");
    const wk_imatrix_entry **v = malloc(d->n_entries * sizeof *v);
    WK_FAIL_IF(!v, err, WK_E_NOMEM, "importance matrix: out of memory");
    for (size_t i = 0; i < d->n_entries; i++) {
        const wk_imatrix_entry *e = &d->entries[i];
        v[i] = e;
        if (!e->name || !e->name[0] || e->ne0 < 1 || e->nmat < 1 || e->ne0 > INT32_MAX / e->nmat) {
            free(v);
            return wk_err_set(err, WK_E_USAGE, "importance matrix: entry %zu (%s): empty name or size %lld x %lld",
                              i, e->name ? e->name : "(null)", (long long)e->ne0, (long long)e->nmat);
        }
        for (int64_t j = 0; j < e->nmat; j++)
            if (e->counts[j] < 0) {
                free(v);
                return wk_err_set(err, WK_E_USAGE, "importance matrix: %s: negative count", e->name);
            }
    }
    qsort(v, d->n_entries, sizeof *v, cmp_entry);
    for (size_t i = 1; i < d->n_entries; i++)
        if (!strcmp(v[i - 1]->name, v[i]->name)) {
            const char *n = v[i]->name;
            free(v);
            return wk_err_set(err, WK_E_USAGE, "importance matrix: entry %s twice", n);
        }
    *out = v;
    return 0;
}

/* ---- GGUF ------------------------------------------------------------------ */

static int gguf_plan(wk_ggufw *w, const wk_imatrix_data *d, const wk_imatrix_entry **v, wk_err *err)
{
    size_t *lens = calloc(d->n_datasets + 1, sizeof *lens);
    WK_FAIL_IF(!lens, err, WK_E_NOMEM, "importance matrix: out of memory");
    for (size_t i = 0; i < d->n_datasets; i++) lens[i] = strlen(d->datasets[i]);
    int rc = -1;
    WK_TRY_GOTO(wk_ggufw_kv_str(w, "general.type", "imatrix", 7, err), done);
    WK_TRY_GOTO(wk_ggufw_kv_arr_str(w, "imatrix.datasets", d->datasets, lens, d->n_datasets, err), done);
    WK_TRY_GOTO(wk_ggufw_kv_u32(w, "imatrix.chunk_count", d->chunk_count, err), done);
    WK_TRY_GOTO(wk_ggufw_kv_u32(w, "imatrix.chunk_size", d->chunk_size, err), done);
    for (size_t i = 0; i < d->n_entries; i++) {
        char name[WK_GGUF_MAX_NAME + 1];
        const int64_t ne_s[2] = { v[i]->ne0, v[i]->nmat }, ne_c[2] = { 1, v[i]->nmat };
        const int nd = v[i]->nmat > 1 ? 2 : 1;   /* ggml_n_dims */
        WK_FAIL_GOTO(strlen(v[i]->name) + 8 > WK_GGUF_MAX_NAME, done, err, WK_E_LIMIT,
                     "importance matrix: %s: name too long for GGUF (%zu + 8 > %d bytes)", v[i]->name,
                     strlen(v[i]->name), WK_GGUF_MAX_NAME);
        snprintf(name, sizeof name, "%s.in_sum2", v[i]->name);
        WK_TRY_GOTO(wk_ggufw_add_tensor(w, name, WK_GGML_F32, nd, ne_s, err) < 0, done);
        snprintf(name, sizeof name, "%s.counts", v[i]->name);
        WK_TRY_GOTO(wk_ggufw_add_tensor(w, name, WK_GGML_F32, nd, ne_c, err) < 0, done);
    }
    rc = 0;
done:
    free(lens);
    return rc;
}

static int write_gguf(wk_sink *s, const wk_imatrix_data *d, const wk_imatrix_entry **v, wk_err *err)
{
    int rc = -1;
    float *cnt = NULL;
    wk_ggufw *w = wk_ggufw_new(WK_GGUF_DEFAULT_ALIGNMENT, err);
    if (!w) return -1;
    WK_TRY_GOTO(gguf_plan(w, d, v, err), done);
    WK_TRY_GOTO(wk_ggufw_begin(w, s, err), done);
    for (size_t i = 0; i < d->n_entries; i++) {
        WK_TRY_GOTO(wk_ggufw_write(w, v[i]->sums, (size_t)(v[i]->ne0 * v[i]->nmat) * sizeof(float), err), done);
        free(cnt);
        cnt = malloc((size_t)v[i]->nmat * sizeof *cnt);
        WK_FAIL_GOTO(!cnt, done, err, WK_E_NOMEM, "importance matrix: out of memory");
        for (int64_t j = 0; j < v[i]->nmat; j++) cnt[j] = (float)v[i]->counts[j];
        WK_TRY_GOTO(wk_ggufw_write(w, cnt, (size_t)v[i]->nmat * sizeof *cnt, err), done);
    }
    WK_TRY_GOTO(wk_ggufw_finish(w, err), done);
    rc = 0;
done:
    free(cnt);
    wk_ggufw_free(w);
    return rc;
}

/* ---- legacy .dat ----------------------------------------------------------- */

static int put_i32(wk_sink *s, int32_t v, wk_err *err)
{
    uint8_t b[4];
    for (int k = 0; k < 4; k++) b[k] = (uint8_t)((uint32_t)v >> (8 * k));
    return wk_sink_write(s, b, 4, err);
}

static int put_f32(wk_sink *s, float f, wk_err *err)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return put_i32(s, (int32_t)u, err);
}

static int legacy_entry(wk_sink *s, const wk_imatrix_entry *e, uint32_t chunk_size, wk_err *err)
{
    int64_t maxc = 0;
    for (int64_t j = 0; j < e->nmat; j++) maxc = e->counts[j] > maxc ? e->counts[j] : maxc;
    const int64_t nc = (maxc + (chunk_size - 1)) / chunk_size;
    WK_FAIL_IF(nc > INT32_MAX || strlen(e->name) > INT32_MAX, err, WK_E_LIMIT,
               "importance matrix: %s: too many tokens for the legacy format", e->name);
    const int32_t ncall = (int32_t)nc, nval = (int32_t)(e->ne0 * e->nmat);
    WK_TRY(put_i32(s, (int32_t)strlen(e->name), err));
    WK_TRY(wk_sink_write(s, e->name, strlen(e->name), err));
    WK_TRY(put_i32(s, ncall, err));
    WK_TRY(put_i32(s, nval, err));
    for (int32_t i = 0; i < nval; i++) {
        float count = (float)e->counts[i / e->ne0], value = e->sums[i];
        if (count == 0.0f) value = count = 1.0f;
        WK_TRY(put_f32(s, (value / count) * (float)ncall, err));
    }
    return 0;
}

static int write_legacy(wk_sink *s, const wk_imatrix_data *d, const wk_imatrix_entry **v, wk_err *err)
{
    int32_t n = 0;
    for (size_t i = 0; i < d->n_entries; i++) {
        int any = 0;
        for (int64_t j = 0; j < v[i]->nmat; j++) any |= v[i]->counts[j] != 0;
        v[i] = any ? v[i] : NULL;   /* no data: left out, as llama-imatrix */
        n += any;
    }
    WK_FAIL_IF(n == 0, err, WK_E_USAGE, "importance matrix: no entry has data (all counts 0)");
    WK_TRY(put_i32(s, n, err));
    for (size_t i = 0; i < d->n_entries; i++)
        if (v[i]) WK_TRY(legacy_entry(s, v[i], d->chunk_size, err));
    WK_FAIL_IF(d->chunk_count > INT32_MAX, err, WK_E_LIMIT, "importance matrix: %u chunks", d->chunk_count);
    WK_TRY(put_i32(s, (int32_t)d->chunk_count, err));
    const char *ds = d->n_datasets ? d->datasets[d->n_datasets - 1] : "";
    WK_FAIL_IF(strlen(ds) > INT32_MAX, err, WK_E_LIMIT, "importance matrix: dataset name too long");
    WK_TRY(put_i32(s, (int32_t)strlen(ds), err));
    return wk_sink_write(s, ds, strlen(ds), err);
}

int wk_imatrix_write_sink(wk_sink *s, const wk_imatrix_data *d, int legacy, wk_err *err)
{
    const wk_imatrix_entry **v = NULL;
    for (size_t i = 0; i < d->n_datasets; i++)
        WK_FAIL_IF(!wk_utf8_valid(d->datasets[i], strlen(d->datasets[i])), err, WK_E_USAGE,
                   "importance matrix: dataset name %zu is not UTF-8", i);
    WK_TRY(sorted(d, &v, err));
    const int rc = legacy ? write_legacy(s, d, v, err) : write_gguf(s, d, v, err);
    free(v);
    return rc;
}

int wk_imatrix_write(const char *path, const wk_imatrix_data *d, int legacy, const wk_inputs *inputs,
                     wk_err *err)
{
    wk_out *o = wk_out_open(path, inputs, err);
    if (!o) return -1;
    wk_sink s;
    if (wk_imatrix_write_sink(wk_sink_out(&s, o), d, legacy, err)) {
        wk_err_prefix(err, "%s", path);
        wk_out_abort(o);
        return -1;
    }
    return wk_out_commit(o, err);
}
