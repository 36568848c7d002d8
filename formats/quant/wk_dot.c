/* wk_dot.c — scalar reference of the integer dot products (stage 1), the
 * shared float stage (stage 2), Q8_K activations, and dispatch.  See wk_dot.h
 * for the contract that makes the AVX2 kernels bit-identical to these. */
#include "wk_dot.h"
#include "wk_cpu.h"
#include "wk_half.h"
#include "wk_quant_impl.h"

#include <math.h>

/* ---- Q8_K activations (ggml's quantize_row_q8_K_ref) -------------------------- */

void wk_quantize_row_q8_K_ref(const float *x, void *vy, int64_t k)
{
    uint8_t *y = vy;
    for (int64_t b = 0; b < k / WK_QK_K; b++, x += WK_QK_K, y += sizeof(wk_block_q8_K)) {
        wk_block_q8_K blk;
        float max = 0, amax = 0;
        for (int j = 0; j < WK_QK_K; j++) {
            float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        memset(&blk, 0, sizeof blk);
        if (amax != 0) {
            const float iscale = -127.f / max;
            for (int j = 0; j < WK_QK_K; j++) {
                int v = wk_q_nearest_int(iscale * x[j]);
                blk.qs[j] = (int8_t)(v < 127 ? v : 127);
            }
            for (int j = 0; j < WK_QK_K / 16; j++) {
                int s = 0;
                for (int i = 0; i < 16; i++) s += blk.qs[j * 16 + i];
                blk.bsums[j] = (int16_t)s;
            }
            blk.d = 1 / iscale;
        }
        memcpy(y, &blk, sizeof blk);
    }
}

void wk_dequantize_row_q8_K(const void *vx, float *y, int64_t k)
{
    const uint8_t *x = vx;
    for (int64_t b = 0; b < k / WK_QK_K; b++, x += sizeof(wk_block_q8_K)) {
        wk_block_q8_K blk;
        memcpy(&blk, x, sizeof blk);
        for (int j = 0; j < WK_QK_K; j++) *y++ = blk.d * blk.qs[j];
    }
}

int wk_dot_act_type(int type)
{
    return wk_ggml_type_get(type)->blck == WK_QK ? WK_GGML_Q8_0 : WK_GGML_Q8_K;
}

size_t wk_dot_act_row_size(int type, int64_t k)
{
    const int at = wk_dot_act_type(type);
    if (at == WK_GGML_Q8_K) return wk_ggml_row_size(at, k) + (size_t)(k / WK_QK_K) * sizeof(float);
    return wk_ggml_row_size(at, k) + (size_t)(k / WK_QK) * sizeof(int16_t);
}

/* The int16 block sums after nb Q8_0 blocks (wk_dot.h). */
static void q8_0_block_sums(void *a, int64_t nb)
{
    const wk_block_q8_0 *y = a;
    uint8_t *sums = (uint8_t *)a + (size_t)nb * sizeof(wk_block_q8_0);
    for (int64_t b = 0; b < nb; b++) {
        int s = 0;
        for (int i = 0; i < WK_QK; i++) s += y[b].qs[i];
        int16_t s16 = (int16_t)s;   /* |s| <= 32 * 127 */
        memcpy(sums + (size_t)b * sizeof s16, &s16, sizeof s16);
    }
}

/* The copies of d after nb Q8_K blocks (wk_dot.h). */
static void q8_K_scale_copies(void *a, int64_t nb)
{
    uint8_t *y = a, *d = y + (size_t)nb * sizeof(wk_block_q8_K);
    for (int64_t b = 0; b < nb; b++)
        memcpy(d + (size_t)b * sizeof(float), y + (size_t)b * sizeof(wk_block_q8_K)
               + offsetof(wk_block_q8_K, d), sizeof(float));
}

void wk_dot_act_finish(int type, void *a, int64_t k)
{
    if (wk_dot_act_type(type) == WK_GGML_Q8_0) q8_0_block_sums(a, k / WK_QK);
    else q8_K_scale_copies(a, k / WK_QK_K);
}

void wk_dot_quantize_act(int type, const float *x, void *a, int64_t k)
{
    if (wk_dot_act_type(type) == WK_GGML_Q8_0) wk_quant_kernel_auto(WK_GGML_Q8_0)(x, a, k);
    else wk_quantize_row_q8_K_ref(x, a, k);
    wk_dot_act_finish(type, a, k);
}

void wk_dot_dequantize_act(int type, const void *a, float *x, int64_t k)
{
    if (wk_dot_act_type(type) == WK_GGML_Q8_0) wk_dequantize_row_q8_0(a, x, k);
    else wk_dequantize_row_q8_K(a, x, k);
}

/* ---- unpacking one block to integer codes (scalar) ------------------------------ */

static float h2f(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return wk_f16_to_f32(h);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Legacy: 32 codes (offset already removed for q4_0 / q5_0). */
static void codes_q4(const uint8_t *qs, int off, int *q)
{
    for (int j = 0; j < 16; j++) {
        q[j] = (qs[j] & 0xf) - off;
        q[j + 16] = (qs[j] >> 4) - off;
    }
}

static void codes_q5(const uint8_t *qh4, const uint8_t *qs, int off, int *q)
{
    uint32_t qh = le32(qh4);
    for (int j = 0; j < 16; j++) {
        q[j] = ((qs[j] & 0xf) | (int)(((qh >> j) << 4) & 0x10)) - off;
        q[j + 16] = ((qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10)) - off;
    }
}

/* k-quants: ggml's get_scale_min_k4. */
static void scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* 256 codes of a Q4_K (h NULL) or Q5_K block, in value order. */
static void codes_k45(const uint8_t *qs, const uint8_t *qh, int *q)
{
    for (int c = 0; c < 4; c++) {          /* 64 values: low nibbles, then high */
        for (int l = 0; l < 32; l++) {
            int lo = qs[32 * c + l] & 0xf, hi = qs[32 * c + l] >> 4;
            if (qh) {
                lo |= ((qh[l] >> (2 * c)) & 1) << 4;
                hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
            }
            q[64 * c + l] = lo;
            q[64 * c + 32 + l] = hi;
        }
    }
}

static void codes_q6K(const uint8_t *ql, const uint8_t *qh, int *q)
{
    for (int n = 0; n < 2; n++, ql += 64, qh += 32, q += 128) {
        for (int l = 0; l < 32; l++) {
            q[l] = ((ql[l] & 0xf) | ((qh[l] >> 0) & 3) << 4) - 32;
            q[l + 32] = ((ql[l + 32] & 0xf) | ((qh[l] >> 2) & 3) << 4) - 32;
            q[l + 64] = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
            q[l + 96] = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        }
    }
}

/* ---- stage 1, scalar reference ----------------------------------------------------- */

static int32_t idot32(const int *q, const int8_t *a)
{
    int32_t s = 0;
    for (int i = 0; i < 32; i++) s += q[i] * a[i];
    return s;
}

static int32_t isum32(const int8_t *a)
{
    int32_t s = 0;
    for (int i = 0; i < 32; i++) s += a[i];
    return s;
}

/* Activation block of Q8_0 b as its int8 codes. */
static const int8_t *q8_0_qs(const void *a, int64_t b)
{
    return ((const wk_block_q8_0 *)a)[b].qs;
}

#define LEGACY_REF(T, CODES, HASMIN) \
    void wk_isum_##T##_ref(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum) \
    { \
        const wk_block_##T *x = w; \
        for (int64_t b = 0; b < nb; b++) { \
            wk_block_##T blk; \
            int q[32]; \
            memcpy(&blk, x + b, sizeof blk); \
            CODES; \
            isum[b] = idot32(q, q8_0_qs(a, b)); \
            msum[b] = (HASMIN) ? isum32(q8_0_qs(a, b)) : 0; \
        } \
    }
LEGACY_REF(q4_0, codes_q4(blk.qs, 8, q), 0)
LEGACY_REF(q4_1, codes_q4(blk.qs, 0, q), 1)
LEGACY_REF(q5_0, codes_q5(blk.qh, blk.qs, 16, q), 0)
LEGACY_REF(q5_1, codes_q5(blk.qh, blk.qs, 0, q), 1)
LEGACY_REF(q8_0, for (int i = 0; i < 32; i++) q[i] = blk.qs[i], 0)

static void k45_ref(const void *w, size_t wsize, int five, const void *a, int64_t nb,
                    int32_t *isum, int32_t *msum)
{
    const uint8_t *x = w;
    const wk_block_q8_K *y = a;
    for (int64_t b = 0; b < nb; b++, x += wsize) {
        wk_block_q8_K ab;
        int q[WK_QK_K];
        const uint8_t *scales = x + 4;   /* d, dmin, scales[12], [qh[32]], qs[128] */
        memcpy(&ab, y + b, sizeof ab);
        codes_k45(x + 16 + (five ? 32 : 0), five ? x + 16 : NULL, q);
        int32_t s = 0, m = 0;
        for (int j = 0; j < 8; j++) {
            int sc, mn;
            scale_min_k4(j, scales, &sc, &mn);
            s += sc * idot32(q + 32 * j, ab.qs + 32 * j);
            m += mn * (ab.bsums[2 * j] + ab.bsums[2 * j + 1]);
        }
        isum[b] = s;
        msum[b] = m;
    }
}

void wk_isum_q4_K_ref(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum)
{
    k45_ref(w, sizeof(wk_block_q4_K), 0, a, nb, isum, msum);
}

void wk_isum_q5_K_ref(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum)
{
    k45_ref(w, sizeof(wk_block_q5_K), 1, a, nb, isum, msum);
}

void wk_isum_q6_K_ref(const void *w, const void *a, int64_t nb, int32_t *isum, int32_t *msum)
{
    const wk_block_q6_K *x = w;
    const wk_block_q8_K *y = a;
    for (int64_t b = 0; b < nb; b++) {
        wk_block_q6_K blk;
        wk_block_q8_K ab;
        int q[WK_QK_K];
        memcpy(&blk, x + b, sizeof blk);
        memcpy(&ab, y + b, sizeof ab);
        codes_q6K(blk.ql, blk.qh, q);
        int32_t s = 0;
        for (int j = 0; j < 16; j++) {
            int32_t t = 0;
            for (int i = 0; i < 16; i++) t += q[16 * j + i] * ab.qs[16 * j + i];
            s += blk.scales[j] * t;
        }
        isum[b] = s;
        msum[b] = 0;
    }
}

/* ---- per-block scale products (shared by both stage-1 kernels) -------------------- */

/* sw[i] = dw*da and sm[i] = mw*da for blocks [0, n) of w and a. */
static void scales_legacy(const void *w, size_t wsize, int hasmin, const void *a, int64_t n,
                          float *sw, float *sm)
{
    const uint8_t *x = w;
    const wk_block_q8_0 *y = a;
    for (int64_t i = 0; i < n; i++, x += wsize) {
        float da = h2f((const uint8_t *)&y[i].d);
        sw[i] = h2f(x) * da;
        sm[i] = hasmin ? h2f(x + 2) * da : 0.0f;
    }
}

static void scales_k(const void *w, size_t wsize, size_t doff, int hasmin, const void *a,
                     int64_t n, float *sw, float *sm)
{
    const uint8_t *x = w;
    const wk_block_q8_K *y = a;
    for (int64_t i = 0; i < n; i++, x += wsize) {
        float da;
        memcpy(&da, &y[i].d, sizeof da);
        sw[i] = h2f(x + doff) * da;
        sm[i] = hasmin ? -h2f(x + doff + 2) * da : 0.0f;
    }
}

/* ---- stage 2 ----------------------------------------------------------------------- */

void wk_dot_accumulate(float acc[8], int lane0, int64_t n, const int32_t *isum,
                       const int32_t *msum, const float *sw, const float *sm)
{
    for (int64_t i = 0; i < n; i++) {
        float t = sw[i] * (float)isum[i];
        float u = sm[i] * (float)msum[i];
        acc[(lane0 + i) & 7] += t + u;
    }
}

float wk_dot_reduce(const float acc[8])
{
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

/* ---- dispatch ---------------------------------------------------------------------- */

typedef void (*isum_fn)(const void *, const void *, int64_t, int32_t *, int32_t *);

typedef struct {
    isum_fn ref, avx2;
    int kquant, hasmin;
    size_t doff;   /* k-quants: offset of d in the block */
} dot_kernels;

#if WK_CPU_X86
#define AVX2_OR_NULL(T) wk_isum_##T##_avx2
#else
#define AVX2_OR_NULL(T) NULL
#endif

/* The dot's private columns, keyed by ggml id like the kernel table
 * (wk_quant_chunk.c); its `idot` column points at wk_vec_dot_* below. */
static const dot_kernels KERNELS[WK_GGML_TYPE_COUNT] = {
    [WK_GGML_Q4_0] = { .ref = wk_isum_q4_0_ref, .avx2 = AVX2_OR_NULL(q4_0), .kquant = 0, .hasmin = 0 },
    [WK_GGML_Q4_1] = { .ref = wk_isum_q4_1_ref, .avx2 = AVX2_OR_NULL(q4_1), .kquant = 0, .hasmin = 1 },
    [WK_GGML_Q5_0] = { .ref = wk_isum_q5_0_ref, .avx2 = AVX2_OR_NULL(q5_0), .kquant = 0, .hasmin = 0 },
    [WK_GGML_Q5_1] = { .ref = wk_isum_q5_1_ref, .avx2 = AVX2_OR_NULL(q5_1), .kquant = 0, .hasmin = 1 },
    [WK_GGML_Q8_0] = { .ref = wk_isum_q8_0_ref, .avx2 = AVX2_OR_NULL(q8_0), .kquant = 0, .hasmin = 0 },
    [WK_GGML_Q4_K] = { .ref = wk_isum_q4_K_ref, .avx2 = AVX2_OR_NULL(q4_K), .kquant = 1, .hasmin = 1 },
    [WK_GGML_Q5_K] = { .ref = wk_isum_q5_K_ref, .avx2 = AVX2_OR_NULL(q5_K), .kquant = 1, .hasmin = 1 },
    [WK_GGML_Q6_K] = { .ref = wk_isum_q6_K_ref, .avx2 = AVX2_OR_NULL(q6_K), .kquant = 1, .hasmin = 0,
                       .doff = offsetof(wk_block_q6_K, d) },
    /* reference in wk_dot_lowbit.c */
    [WK_GGML_Q2_K] = { .ref = wk_isum_q2_K_ref, .avx2 = AVX2_OR_NULL(q2_K), .kquant = 1,
                       .hasmin = 1, .doff = offsetof(wk_block_q2_K, d) },
    [WK_GGML_Q3_K] = { .ref = wk_isum_q3_K_ref, .avx2 = AVX2_OR_NULL(q3_K), .kquant = 1,
                       .hasmin = 0, .doff = offsetof(wk_block_q3_K, d) },
    [WK_GGML_IQ4_NL] = { .ref = wk_isum_iq4_nl_ref, .avx2 = AVX2_OR_NULL(iq4_nl), .kquant = 0,
                         .hasmin = 0 },
    [WK_GGML_IQ4_XS] = { .ref = wk_isum_iq4_xs_ref, .avx2 = AVX2_OR_NULL(iq4_xs), .kquant = 1,
                         .hasmin = 0 },
};

int wk_dot_have_simd(void)
{
    return wk_quant_have_simd();   /* 0 off x86 */
}

void wk_dot_isums(int type, int simd, const void *w, const void *a, int64_t nb,
                  int32_t *isum, int32_t *msum)
{
    const dot_kernels *K = &KERNELS[type];
    (simd && K->avx2 ? K->avx2 : K->ref)(w, a, nb, isum, msum);
}

#define TILE 64   /* blocks per stage-1 call; a multiple of 8 keeps lanes aligned */

void wk_dot_scales(int type, const void *w, const void *a, int64_t n, float *sw, float *sm)
{
    const dot_kernels *K = &KERNELS[type];
    const size_t size = wk_ggml_type_get(type)->size;
    if (K->kquant) scales_k(w, size, K->doff, K->hasmin, a, n, sw, sm);
    else scales_legacy(w, size, K->hasmin, a, n, sw, sm);
}

/* The scalar reference of wk_dot_row (kept out of it so that the AVX2 path
 * pays no stack frame for the tiles). */
static float dot_row_ref(int type, const void *w, const void *a, int64_t k)
{
    const dot_kernels *K = &KERNELS[type];
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    size_t asize = K->kquant ? sizeof(wk_block_q8_K) : sizeof(wk_block_q8_0);
    int64_t nb = k / ti->blck;
    int32_t is[TILE], ms[TILE];
    float sw[TILE], sm[TILE], acc[8] = { 0 };
    const uint8_t *x = w, *y = a;
    for (int64_t b0 = 0; b0 < nb; b0 += TILE) {
        int64_t n = nb - b0 < TILE ? nb - b0 : TILE;
        K->ref(x, y, n, is, ms);
        wk_dot_scales(type, x, y, n, sw, sm);
        wk_dot_accumulate(acc, 0, n, is, ms, sw, sm);
        x += (size_t)n * ti->size;
        y += (size_t)n * asize;
    }
    return wk_dot_reduce(acc);
}

float wk_dot_row(int type, int simd, const void *w, const void *a, int64_t k)
{
#if WK_CPU_X86
    if (simd) return wk_dot_row_avx2(type, w, a, k);
#else
    (void)simd;
#endif
    return dot_row_ref(type, w, a, k);
}

#define VEC_DOT(T, QT) \
    float wk_vec_dot_##T(const void *w, const void *a, int64_t k) \
    { return wk_dot_row(QT, wk_dot_have_simd(), w, a, k); }
VEC_DOT(q4_0, WK_GGML_Q4_0)
VEC_DOT(q4_1, WK_GGML_Q4_1)
VEC_DOT(q5_0, WK_GGML_Q5_0)
VEC_DOT(q5_1, WK_GGML_Q5_1)
VEC_DOT(q8_0, WK_GGML_Q8_0)
VEC_DOT(q4_K, WK_GGML_Q4_K)
VEC_DOT(q5_K, WK_GGML_Q5_K)
VEC_DOT(q6_K, WK_GGML_Q6_K)
VEC_DOT(q2_K, WK_GGML_Q2_K)
VEC_DOT(q3_K, WK_GGML_Q3_K)
VEC_DOT(iq4_nl, WK_GGML_IQ4_NL)
VEC_DOT(iq4_xs, WK_GGML_IQ4_XS)
