/* test_dot.c — the integer dot kernels of wk_dot.h.
 *
 * For every quant type: weight blocks from real quantization (Gaussian rows,
 * scaled rows, rows with outliers), from random bytes (every code and scale
 * pattern, with finite fp16 scales) and extreme bytes (all 0xff / all 0x80:
 * the largest codes, q8_0's -128), activations quantized by
 * wk_dot_quantize_act (random Q8 blocks with codes in [-127, 127], and all
 * +127 / alternating +-127 codes: the largest products and block sums):
 *   - stage 1 of the AVX2 kernel equals the scalar reference exactly (int32);
 *   - the whole dot of the AVX2 path equals the reference bit for bit;
 *   - stage 1 equals an independent integer dot over dequantized codes
 *     (d*q and a*q recovered from wk's dequantizers), and the float dot is
 *     within 1e-5 relative (of sum |w_i a_i|) of a double-precision dot of the
 *     dequantized weights and activations;
 *   - the Q8_K quantizer keeps codes in [-127, 127] with exact bsums, a
 *     legacy activation row ends with the exact int16 block sums and a
 *     k-quant one with a copy of each block's d. */
#include "wk_test.h"
#include "wk_dot.h"
#include "wk_half.h"

#include <math.h>
#include <stdlib.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t r32(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}
static float unif(void) { return (r32() >> 8) * (1.0f / 16777216.0f); }
static float gauss(void)
{
    float u = unif() + 1e-7f, v = unif();
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

enum { KMAX = 4864, FAMS = 6, ROWS = FAMS * FAMS };
static int K = 1024;   /* current row length: 1024 (4 super-blocks: a tail only), 4864
                        * (19 super-blocks: the vector stage-2 path and a tail of 3),
                        * 3328 and 3840 (8 + 5, 8 + 7: the k-quant tail's 8-lane
                        * step), 2560 (8 + 2: the tail of 6656 columns), 416 (13
                        * legacy blocks: 8 + tail) */

/* Row r of a family: 0-2 quantized floats, 3 random bytes, 4 all 0xff, 5 all
 * 0x80 (fp16 fields made finite). */
static void make_weights(int type, int fam, uint8_t *w)
{
    const size_t size = wk_ggml_type_get(type)->size;
    float x[KMAX];
    size_t rs = wk_ggml_row_size(type, K);
    if (fam < 3) {
        float s = fam == 1 ? powf(10.0f, unif() * 6 - 3) : 1.0f;
        for (int i = 0; i < K; i++) x[i] = gauss() * s;
        if (fam == 2) for (int i = 0; i < K; i += 97) x[i] *= 50;
        wk_qtraits_get(type)->quantize_ref(x, w, K);
        return;
    }
    for (size_t i = 0; i < rs; i++) w[i] = fam == 3 ? (uint8_t)r32() : fam == 4 ? 0xff : 0x80;
    /* make every fp16 scale field finite (exponent 0x1f -> 0x0f) */
    for (size_t b = 0; b < rs / size; b++) {
        uint8_t *p = w + b * size;
        size_t offs[2] = { 0, 2 };
        int n = type == WK_GGML_Q6_K || type == WK_GGML_Q3_K || type == WK_GGML_IQ4_NL
                || type == WK_GGML_IQ4_XS ? 1 : 2;
        if (type == WK_GGML_Q6_K) offs[0] = offsetof(wk_block_q6_K, d);
        if (type == WK_GGML_Q3_K) offs[0] = offsetof(wk_block_q3_K, d);
        if (type == WK_GGML_Q2_K) {
            offs[0] = offsetof(wk_block_q2_K, d);
            offs[1] = offsetof(wk_block_q2_K, dmin);
        }
        for (int j = 0; j < n; j++) {
            uint8_t *h = p + offs[j] + 1;
            if ((*h & 0x7c) == 0x7c) *h &= (uint8_t)~0x40;
        }
    }
}

static void make_acts(int type, int fam, uint8_t *a)
{
    float x[KMAX];
    if (fam < 3) {
        for (int i = 0; i < K; i++) x[i] = gauss() * (fam == 1 ? 1e-3f : 1.0f);
        if (fam == 2) x[5] = 300;
        wk_dot_quantize_act(type, x, a, K);
        return;
    }
    /* 3: random codes in [-127, 127] with a sane scale; 4: all +127; 5: +-127 */
    for (int i = 0; i < K; i++)
        x[i] = fam == 3 ? (float)((int)(r32() % 255) - 127) : fam == 4 || i % 2 ? 1.0f : -1.0f;
    wk_dot_quantize_act(type, x, a, K);
}

static void test_q8_K(void)
{
    enum { N = 1024 };
    float x[N], y[N];
    wk_block_q8_K b[N / WK_QK_K];
    for (int i = 0; i < N; i++) x[i] = gauss() * (i < 256 ? 0 : 1);
    wk_quantize_row_q8_K_ref(x, b, N);
    CHECK(b[0].d == 0);
    for (int k = 1; k < N / WK_QK_K; k++) {
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = 0; i < 16; i++) {
                CHECK(b[k].qs[16 * j + i] >= -127 && b[k].qs[16 * j + i] <= 127);
                s += b[k].qs[16 * j + i];
            }
            CHECK(s == b[k].bsums[j]);
        }
    }
    wk_dequantize_row_q8_K(b, y, N);
    for (int i = 256; i < N; i++) CHECK(fabsf(y[i] - x[i]) <= fabsf(b[i / 256].d) * 0.5001f);
}

/* One type: AVX2 vs reference (exact), reference vs a double dot (tolerance). */
static void check_type(int type)
{
    const wk_qtraits *qt = wk_qtraits_get(type);
    const char *name = wk_ggml_type_get(type)->lname;
    size_t rs = wk_ggml_row_size(type, K), as = wk_dot_act_row_size(type, K);
    int64_t nb = K / wk_ggml_type_get(type)->blck;
    uint8_t *w = malloc(rs), *a = malloc(as);
    int32_t *i0 = malloc(sizeof(int32_t) * nb), *m0 = malloc(sizeof(int32_t) * nb);
    int32_t *i1 = malloc(sizeof(int32_t) * nb), *m1 = malloc(sizeof(int32_t) * nb);
    float *dw = malloc(sizeof(float) * K), *da = malloc(sizeof(float) * K);
    int simd = wk_dot_have_simd();
    int bad_int = 0, bad_bits = 0, bad_tol = 0, bad_sums = 0;
    for (int r = 0; r < ROWS; r++) {
        make_weights(type, r % FAMS, w);
        make_acts(type, r / FAMS, a);
        if (wk_dot_act_type(type) == WK_GGML_Q8_0) {   /* the block sums after the Q8_0 blocks */
            const wk_block_q8_0 *y = (const wk_block_q8_0 *)a;
            for (int64_t b = 0; b < nb; b++) {
                int s = 0;
                int16_t s16;
                for (int i = 0; i < WK_QK; i++) s += y[b].qs[i];
                memcpy(&s16, a + nb * sizeof(wk_block_q8_0) + 2 * b, sizeof s16);
                if (s16 != s) bad_sums++;
            }
        } else {   /* the copies of each Q8_K block's d after the blocks */
            for (int64_t b = 0; b < nb; b++) {
                float d0, d1;
                memcpy(&d0, a + b * sizeof(wk_block_q8_K) + offsetof(wk_block_q8_K, d), sizeof d0);
                memcpy(&d1, a + nb * sizeof(wk_block_q8_K) + b * sizeof(float), sizeof d1);
                if (memcmp(&d0, &d1, sizeof d0)) bad_sums++;
            }
        }
        wk_dot_isums(type, 0, w, a, nb, i0, m0);
        float f0 = wk_dot_row(type, 0, w, a, K);
        if (simd) {
            wk_dot_isums(type, 1, w, a, nb, i1, m1);
            if (memcmp(i0, i1, sizeof(int32_t) * nb) || memcmp(m0, m1, sizeof(int32_t) * nb))
                bad_int++;
            float f1 = wk_dot_row(type, 1, w, a, K);
            if (memcmp(&f0, &f1, sizeof f0)) bad_bits++;
            float f2 = qt->idot(w, a, K);
            if (memcmp(&f0, &f2, sizeof f0)) bad_bits++;
        }
        qt->dequantize(w, dw, K);
        wk_dot_dequantize_act(type, a, da, K);
        double ref = 0, mag = 0;
        for (int i = 0; i < K; i++) {
            ref += (double)dw[i] * da[i];
            mag += fabs((double)dw[i] * da[i]);
        }
        if (!(fabs(f0 - ref) <= 1e-5 * mag + 1e-30)) {
            if (bad_tol++ < 3)
                fprintf(stderr, "%s row %d: dot %.9g, double reference %.9g (mag %.3g)\n",
                        name, r, f0, ref, mag);
        }
    }
    CHECK_MSG(bad_sums == 0, "%s k=%d: %d wrong activation block sums / d copies", name, K, bad_sums);
    CHECK_MSG(bad_int == 0, "%s k=%d: %d rows where AVX2 integer sums differ", name, K, bad_int);
    CHECK_MSG(bad_bits == 0, "%s k=%d: %d rows where AVX2 dot differs in bits", name, K, bad_bits);
    CHECK_MSG(bad_tol == 0, "%s k=%d: %d rows off the double reference", name, K, bad_tol);
    free(w); free(a); free(i0); free(m0); free(i1); free(m1); free(dw); free(da);
}

static void test_all_types(void)
{
    if (!wk_dot_have_simd()) fprintf(stderr, "note: no AVX2 here; reference only\n");
    static const int ks[] = { 1024, 4864, 3328, 3840, 2560, 416 };
    for (int i = 0; i < (int)(sizeof ks / sizeof ks[0]); i++) {
        K = ks[i];
        for (int t = 0; t < WK_GGML_TYPE_COUNT; t++)
            if (wk_qtraits_get(t) && K % wk_ggml_type_get(t)->blck == 0) check_type(t);
    }
    K = 1024;
}

/* Known answer: all-ones codes give exact small sums. */
static void test_known(void)
{
    const int type = WK_GGML_Q8_0;
    const wk_qtraits *qt = wk_qtraits_get(type);
    float x[64], y[64];
    for (int i = 0; i < 64; i++) { x[i] = (float)(i % 7) - 3; y[i] = 1.0f; }
    uint8_t w[2 * 34], a[2 * 34 + 2 * 2];   /* two Q8_0 blocks and their sums */
    CHECK(wk_dot_act_row_size(type, 64) == sizeof a);
    qt->quantize_ref(x, w, 64);
    wk_dot_quantize_act(type, y, a, 64);
    double ref = 0;
    for (int i = 0; i < 64; i++) ref += x[i];
    CHECK(fabs(wk_dot_row(type, 0, w, a, 64) - ref) < 1e-2);
}

int main(void)
{
    WK_RUN(test_q8_K);
    WK_RUN(test_known);
    WK_RUN(test_all_types);
    return wk_test_summary();
}
