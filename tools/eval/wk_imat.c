/* wk_imat.c — llama-imatrix's collector (wk_imat.h). */
#include "wk_imat.h"
#include "wk_strmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    float *sums;
    int64_t cols, tokens;
} entry;

struct wk_imat {
    int process_output;
    entry *e;
    size_t n, cap;
    wk_strmap map;
    wk_imatrix_entry *view;
};

wk_imat *wk_imat_new(int process_output, wk_err *err)
{
    wk_imat *c = calloc(1, sizeof *c);
    if (!c) { wk_err_set(err, WK_E_NOMEM, "importance matrix: out of memory"); return NULL; }
    c->process_output = process_output;
    return c;
}

void wk_imat_free(wk_imat *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].name);
        free(c->e[i].sums);
    }
    free(c->e);
    free(c->view);
    wk_strmap_free(&c->map);
    free(c);
}

static int wanted(const wk_imat *c, const char *w)
{
    return !strncmp(w, "blk.", 4) || (c->process_output && !strcmp(w, "output.weight"));
}

/* The entry for weight (created with cols zero sums), or NULL with *err. */
static entry *find(wk_imat *c, const char *weight, int64_t cols, wk_err *err)
{
    long k = wk_strmap_get(&c->map, weight);
    if (k >= 0) {
        entry *e = &c->e[k];
        if (e->cols != cols) {
            wk_err_set(err, WK_E_FORMAT, "importance matrix: %s: %lld input columns, earlier %lld", weight,
                       (long long)cols, (long long)e->cols);
            return NULL;
        }
        return e;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        entry *ne = realloc(c->e, cap * sizeof *ne);
        if (!ne) { wk_err_set(err, WK_E_NOMEM, "importance matrix: out of memory"); return NULL; }
        c->e = ne;
        c->cap = cap;
        /* keys are borrowed from the names (their own allocations): still valid */
    }
    entry *e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    e->cols = cols;
    e->name = strdup(weight);
    e->sums = calloc((size_t)cols, sizeof *e->sums);
    long prev;
    if (!e->name || !e->sums || wk_strmap_add(&c->map, e->name, c->n, &prev, err)) {
        free(e->name);
        free(e->sums);
        wk_err_set(err, WK_E_NOMEM, "importance matrix: out of memory");
        return NULL;
    }
    c->n++;
    return e;
}

int wk_imat_collect(void *ctx, const char *weight, const float *x, int64_t rows, int64_t cols,
                    wk_err *err)
{
    wk_imat *c = ctx;
    if (rows < WK_IMAT_MIN_ROWS || !wanted(c, weight)) return 0;
    WK_FAIL_IF(cols < 1, err, WK_E_FORMAT, "importance matrix: %s: %lld columns", weight, (long long)cols);
    entry *e = find(c, weight, cols, err);
    if (!e) return -1;
    float *acc = e->sums;
    const int64_t B = 64;   /* columns per task: contiguous reads of each row */
    int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (rows * cols > 65536)
    for (int64_t j0 = 0; j0 < cols; j0 += B) {
        const int64_t j1 = j0 + B < cols ? j0 + B : cols;
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * cols;
            for (int64_t j = j0; j < j1; j++) acc[j] += xr[j] * xr[j];
        }
        for (int64_t j = j0; j < j1; j++) bad |= !isfinite(acc[j]);
    }
    WK_FAIL_IF(bad, err, WK_E_FORMAT, "importance matrix: %s: non-finite sums of squared activations",
               weight);
    e->tokens += rows;
    return 0;
}

size_t wk_imat_count(const wk_imat *c) { return c->n; }
const char *wk_imat_name(const wk_imat *c, size_t i) { return c->e[i].name; }
int64_t wk_imat_cols(const wk_imat *c, size_t i) { return c->e[i].cols; }
const float *wk_imat_sums(const wk_imat *c, size_t i) { return c->e[i].sums; }
int64_t wk_imat_tokens(const wk_imat *c, size_t i) { return c->e[i].tokens; }

int wk_imat_data(wk_imat *c, uint32_t chunk_size, const char *const *datasets, size_t n_datasets,
                 wk_imatrix_data *out, wk_err *err)
{
    WK_FAIL_IF(c->n == 0, err, WK_E_USAGE,
               "importance matrix: nothing collected (no blk.* matmul saw %d or more tokens at once)",
               WK_IMAT_MIN_ROWS);
    WK_FAIL_IF(chunk_size < 1, err, WK_E_USAGE, "importance matrix: chunk size 0");
    free(c->view);
    c->view = calloc(c->n, sizeof *c->view);
    WK_FAIL_IF(!c->view, err, WK_E_NOMEM, "importance matrix: out of memory");
    int64_t maxc = 0;
    for (size_t i = 0; i < c->n; i++) {
        c->view[i] = (wk_imatrix_entry){ .name = c->e[i].name, .sums = c->e[i].sums,
                                         .counts = &c->e[i].tokens, .ne0 = c->e[i].cols, .nmat = 1 };
        maxc = c->e[i].tokens > maxc ? c->e[i].tokens : maxc;
    }
    *out = (wk_imatrix_data){ .entries = c->view, .n_entries = c->n, .datasets = datasets,
                              .n_datasets = n_datasets, .chunk_size = chunk_size,
                              .chunk_count = (uint32_t)(maxc / chunk_size) };
    return 0;
}
