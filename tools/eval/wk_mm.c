/* wk_mm.c — the forward pass's matmuls: a chunk of activation rows times a
 * weight matrix, each weight row read once per chunk (wk_model_int.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wk_cpu.h"
#include "wk_dot.h"
#include "wk_ggml.h"
#include "wk_half.h"
#include "wk_model_int.h"
#include "wk_quant.h"
#if WK_CPU_X86
#include "wk_fdot_avx2.h"
#endif

#define MM_RB 16   /* weight rows per block (converted / kept hot together) */
#define MM_TB 32   /* activation rows per tile */

int wk_fdot_simd(void)
{
#if WK_CPU_X86
    return wk_cpu_has(WK_CPU_SIMD_FMA);
#else
    return 0;
#endif
}

float wk_fdot_ref(const float *a, const float *b, int64_t n)
{
    float l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) l[j] = fmaf(a[i + j], b[i + j], l[j]);
    float s = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
    for (; i < n; i++) s = fmaf(a[i], b[i], s);
    return s;
}

float wk_fdot(const float *a, const float *b, int64_t n)
{
#if WK_CPU_X86
    if (wk_fdot_simd()) return wk_fdot_avx2(a, b, n);
#endif
    return wk_fdot_ref(a, b, n);
}

void wk_fdot4(const float *a0, const float *a1, const float *a2, const float *a3, const float *b,
              int64_t n, float out[4])
{
#if WK_CPU_X86
    if (wk_fdot_simd()) {
        wk_fdot4_avx2(a0, a1, a2, a3, b, n, out);
        return;
    }
#endif
    out[0] = wk_fdot_ref(a0, b, n);
    out[1] = wk_fdot_ref(a1, b, n);
    out[2] = wk_fdot_ref(a2, b, n);
    out[3] = wk_fdot_ref(a3, b, n);
}

void wk_mw_row(const wk_mw *w, int64_t r, float *out)
{
    const uint8_t *p = w->data + (size_t)r * w->row_bytes;
    switch (w->type) {
    case WK_GGML_F32: memcpy(out, p, (size_t)w->cols * sizeof *out); break;
    case WK_GGML_F16: wk_f16_to_f32_row((const uint16_t *)(const void *)p, out, (size_t)w->cols); break;
    case WK_GGML_BF16: wk_bf16_to_f32_row((const uint16_t *)(const void *)p, out, (size_t)w->cols); break;
    default: wk_qtraits_get(w->type)->dequantize(p, out, w->cols); break;
    }
}

void wk_mm_act_free(wk_mm_act *qa)
{
    if (!qa) return;
    free(qa->buf[0]);
    free(qa->buf[1]);
    free(qa->s);
    memset(qa, 0, sizeof *qa);
}

/* Float weights: a block of MM_RB rows as floats (F32 in place), then every
 * activation row of the chunk against them, four weight rows at a time. */
static void mm_float_block(const wk_mw *w, int64_t r0, int64_t nr, const float *x, int64_t n,
                           float *y, float *wb)
{
    const int64_t k = w->cols;
    const float *rows[MM_RB];
    for (int64_t r = 0; r < nr; r++) {
        if (w->type == WK_GGML_F32) {
            rows[r] = (const float *)(const void *)(w->data + (size_t)(r0 + r) * w->row_bytes);
        } else {
            wk_mw_row(w, r0 + r, wb + r * k);
            rows[r] = wb + r * k;
        }
    }
    for (int64_t t0 = 0; t0 < n; t0 += MM_TB) {
        int64_t t1 = t0 + MM_TB < n ? t0 + MM_TB : n;
        int64_t r = 0;
        for (; r + 4 <= nr; r += 4)
            for (int64_t t = t0; t < t1; t++) {
                float o[4];
                wk_fdot4(rows[r], rows[r + 1], rows[r + 2], rows[r + 3], x + t * k, k, o);
                memcpy(y + t * w->rows + r0 + r, o, sizeof o);
            }
        for (; r < nr; r++)
            for (int64_t t = t0; t < t1; t++) y[t * w->rows + r0 + r] = wk_fdot(rows[r], x + t * k, k);
    }
}

static int mm_float(const wk_mw *w, const float *x, int64_t n, float *y, wk_err *err)
{
    int64_t nblk = (w->rows + MM_RB - 1) / MM_RB;
    int fail = 0;
#pragma omp parallel
    {
        float *wb = w->type == WK_GGML_F32 ? NULL : malloc((size_t)MM_RB * (size_t)w->cols * sizeof *wb);
        if (w->type != WK_GGML_F32 && !wb) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < nblk; b++) {
            if (w->type != WK_GGML_F32 && !wb) continue;
            int64_t r0 = b * MM_RB, nr = w->rows - r0 < MM_RB ? w->rows - r0 : MM_RB;
            mm_float_block(w, r0, nr, x, n, y, wb);
        }
        free(wb);
    }
    if (fail) return wk_err_set(err, WK_E_NOMEM, "out of memory (matmul scratch of \"%s\")", w->name);
    return 0;
}

/* One row of k activations to Q8_0 as ggml's x86 CPU backend quantizes
 * them (quantize_row_q8_0 with AVX: d = max|x| / 127, x * (127 / max|x|)
 * rounded to nearest even), not as its scalar reference (x / d rounded half
 * away from zero): a value can differ by one step.  Then the int16 block
 * sums wk_dot.h's legacy activation rows carry after the blocks, and into
 * s1 the fp16-rounded d * sum that ggml's Q8_1 rows (q4_1, q5_1) carry. */
static void quantize_act_q8_0(const float *x, uint8_t *a, float *s1, int64_t k)
{
    int64_t nb = k / WK_QK;
    wk_block_q8_0 *y = (wk_block_q8_0 *)(void *)a;
    int16_t *sums = (int16_t *)(void *)(a + (size_t)nb * sizeof *y);
    for (int64_t b = 0; b < nb; b++, x += WK_QK) {
        float mx = 0.0f;
        for (int i = 0; i < WK_QK; i++) mx = fmaxf(mx, fabsf(x[i]));
        float d = mx / 127.f, id = mx != 0.0f ? 127.f / mx : 0.0f;
        y[b].d = wk_f32_to_f16(d);
        int sum = 0;
        for (int i = 0; i < WK_QK; i++) {
            y[b].qs[i] = (int8_t)nearbyintf(x[i] * id);
            sum += y[b].qs[i];
        }
        int16_t s16 = (int16_t)sum;
        memcpy(&sums[b], &s16, sizeof s16);
        s1[b] = wk_f16_to_f32(wk_f32_to_f16(d * (float)sum));   /* quantize_row_q8_1's y.s */
    }
}

/* The chunk's activations quantized for w's activation type (cached in qa). */
static const uint8_t *act_rows(const wk_mw *w, const float *x, int64_t n, wk_mm_act *qa, size_t *arow,
                               wk_err *err)
{
    int at = wk_dot_act_type(w->type);
    int idx = at == WK_GGML_Q8_K;
    *arow = wk_dot_act_row_size(w->type, w->cols);
    if (qa->x != x || qa->n != n) {
        qa->valid[0] = qa->valid[1] = 0;
        qa->x = x;
        qa->n = n;
    }
    if (qa->valid[idx]) return qa->buf[idx];
    size_t need = *arow * (size_t)n;
    if (need > qa->cap[idx]) {
        uint8_t *b = realloc(qa->buf[idx], need);
        if (!b) {
            wk_err_set(err, WK_E_NOMEM, "out of memory (activations of \"%s\")", w->name);
            return NULL;
        }
        qa->buf[idx] = b;
        qa->cap[idx] = need;
    }
    int64_t nbq = w->cols / WK_QK;
    if (idx == 0 && (size_t)(n * nbq) > qa->s_cap) {
        float *sb = realloc(qa->s, (size_t)(n * nbq) * sizeof *sb);
        if (!sb) {
            wk_err_set(err, WK_E_NOMEM, "out of memory (activations of \"%s\")", w->name);
            return NULL;
        }
        qa->s = sb;
        qa->s_cap = (size_t)(n * nbq);
    }
    uint8_t *buf = qa->buf[idx];
    float *s1 = qa->s;
    size_t ar = *arow;
    int type = w->type;
    int64_t k = w->cols;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < n; t++) {
        if (idx == 0) quantize_act_q8_0(x + t * k, buf + (size_t)t * ar, s1 + t * nbq, k);
        else wk_dot_quantize_act(type, x + t * k, buf + (size_t)t * ar, k);
    }
    qa->valid[idx] = 1;
    return buf;
}

/* q4_1 / q5_1 as ggml dots them with Q8_1 activations: the integer sums of
 * wk_dot_isums, the scale term (dw*da) * isum as wk_dot_accumulate, the min
 * term mw * s with s = fp16(d * sum q) (not mw * da * sum q). */
static float dot_q8_1(int type, int simd, const uint8_t *w, const uint8_t *a, const float *s1, int64_t k)
{
    enum { CH = 1024 };
    int64_t nb = k / WK_QK;
    size_t bs = type == WK_GGML_Q4_1 ? sizeof(wk_block_q4_1) : sizeof(wk_block_q5_1);
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int32_t isum[CH], msum[CH], ones[CH];
    float sw[CH], sm[CH];
    if (nb > CH) simd = 0;   /* the AVX2 kernel needs the whole row in one call */
    for (int i = 0; i < CH; i++) ones[i] = 1;
    for (int64_t b0 = 0; b0 < nb; b0 += CH) {
        int64_t c = nb - b0 < CH ? nb - b0 : CH;
        const uint8_t *wb = w + (size_t)b0 * bs, *ab = a + (size_t)b0 * sizeof(wk_block_q8_0);
        wk_dot_isums(type, simd, wb, ab, c, isum, msum);
        wk_dot_scales(type, wb, ab, c, sw, sm);
        for (int64_t i = 0; i < c; i++) {
            uint16_t m;
            memcpy(&m, wb + (size_t)i * bs + 2, sizeof m);   /* both blocks begin with d, m */
            sm[i] = wk_f16_to_f32(m) * s1[b0 + i];
        }
        wk_dot_accumulate(acc, (int)(b0 % 8), c, isum, ones, sw, sm);
    }
    return wk_dot_reduce(acc);
}

static int mm_quant(const wk_mw *w, const float *x, int64_t n, float *y, wk_mm_act *qa, wk_err *err)
{
    size_t arow;
    const uint8_t *a = act_rows(w, x, n, qa, &arow, err);
    if (!a) return -1;
    int simd = wk_dot_have_simd();
    int q81 = w->type == WK_GGML_Q4_1 || w->type == WK_GGML_Q5_1;
    int q0 = w->type == WK_GGML_Q4_0 || w->type == WK_GGML_Q8_0 ? w->type : -1;   /* wk_mm_q0.c */
    int64_t nblk = (w->rows + MM_RB - 1) / MM_RB;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t r0 = b * MM_RB, r1 = r0 + MM_RB < w->rows ? r0 + MM_RB : w->rows;
        for (int64_t t0 = 0; t0 < n; t0 += MM_TB) {
            int64_t t1 = t0 + MM_TB < n ? t0 + MM_TB : n;
            for (int64_t r = r0; r < r1; r++) {
                const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
                for (int64_t t = t0; t < t1; t++)
                    y[t * w->rows + r] = q0 == WK_GGML_Q4_0 ? wk_mm_dot_q4_0(simd, wr, a + (size_t)t * arow, w->cols)
                                       : q0 == WK_GGML_Q8_0 ? wk_mm_dot_q8_0(wr, a + (size_t)t * arow, w->cols)
                                       : q81 ? dot_q8_1(w->type, simd, wr, a + (size_t)t * arow,
                                                        qa->s + t * (w->cols / WK_QK), w->cols)
                                             : wk_dot_row(w->type, simd, wr, a + (size_t)t * arow, w->cols);
            }
        }
    }
    return 0;
}

int wk_mm(const wk_mw *w, const float *x, int64_t n, float *y, wk_mm_act *qa, wk_err *err)
{
    if (w->type == WK_GGML_F32 || w->type == WK_GGML_F16 || w->type == WK_GGML_BF16)
        return mm_float(w, x, n, y, err);
    wk_mm_act local = {0};
    int rc = mm_quant(w, x, n, y, qa ? qa : &local, err);
    wk_mm_act_free(&local);
    return rc;
}
