/* wk_quant_search.c — error-minimising quantization (WK_QK_SEARCH).
 *
 * Same block layouts as ggml (llama.cpp loads the result unchanged), but the
 * scales (and mins) are chosen to minimise the block's weighted squared error
 * sum w_i (x_i - y_i)^2, with y the exact decode (fp16-rounded scales
 * included) and w_i the importance weight of column i (1 without imatrix).
 *
 * Q4_0 / Q5_0: the exact optimum.  A block decodes to q * d exactly, so for a
 * given fp16 d the clamped nearest integers are best, and the block's error
 * is a continuous piecewise quadratic in d; sym_side() sweeps its pieces over
 * the range of |d| that bounds cannot exclude, both signs, and takes the best
 * fp16 d of each piece: the minimum over every finite fp16 scale (checked by
 * brute force in tests/unit/test_quant.c and, on the fixture models, by
 * bench/quant_optimum.sh).  Q8_0: the same sweep over a narrower range.
 * Q4_1 / Q5_1: a grid of candidate steps, each refined by a weighted
 * least-squares refit of d and m for its integers, rounded to fp16 and
 * requantized; the best decode wins.  K-quants: the reference block, then a coordinate search on
 * each sub-block's 6-bit scale/min (or int8 scale) with the super-scales
 * fixed, requantizing the sub-block's values for each trial.  In every case
 * the reference block is one of the candidates, so the error is never larger
 * than the reference's. */
#include "wk_quant.h"
#include "wk_quant_impl.h"
#include "wk_half.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Nearest integer of v clamped to [lo, hi]; NaN/huge safe. */
static inline int qround(float v, int lo, int hi)
{
    if (!(v > lo)) return lo;        /* also NaN */
    if (v >= hi) return hi;
    return clampi((int)lrintf(v), lo, hi);
}

/* Weighted squared error of decoding blk (one block of quant type `type`) against x. */
static double block_error(int type, const void *blk, const float *x, const float *w)
{
    const int blck = (int)wk_ggml_type_get(type)->blck;
    float y[WK_QK_K];
    wk_qtraits_get(type)->dequantize(blk, y, blck);
    double e = 0;
    for (int i = 0; i < blck; i++) {
        double d = (double)x[i] - y[i];
        e += (w ? w[i] : 1.0) * d * d;
    }
    return e;
}

/* ---- legacy symmetric: Q4_0 [-8,7], Q5_0 [-16,15], Q8_0 [-128,127] ------------- */

/* The fp16 scales.  A positive finite fp16 value is its bit pattern h in
 * 1..0x7BFF, and these patterns are ordered as the values are. */
#define H_MAX 0x7BFF

/* Value of positive fp16 pattern h (exact, as a double). */
static inline double hval(unsigned h)
{
    if (h < 0x400) return h * 0x1p-24;                        /* subnormal */
    uint64_t bits = (uint64_t)((h >> 10) - 15 + 1023) << 52 | (uint64_t)(h & 0x3FF) << 42;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Largest positive finite fp16 pattern whose value is <= v (0 if none). */
static inline unsigned h_floor(double v)
{
    if (!(v >= 0x1p-24)) return 0;
    if (v >= 65504.0) return H_MAX;
    if (v < 0x1p-14) return (unsigned)(v * 0x1p24);           /* exact scaling, floor */
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    unsigned e = (unsigned)(bits >> 52) - 1023 + 15;          /* 1..30 */
    return e << 10 | (unsigned)(bits >> 42 & 0x3FF);          /* truncated significand */
}

/* Magnitude m in 0..cap of the integer nearest to a/D (a >= 0, D > 0); on a
 * tie the smaller one, i.e. the one that is right for scales just above D. */
static inline int near_mag(double a, double D, int cap)
{
    double f = floor(a / D);
    if (f >= cap) return cap;
    int m = (int)f;
    if (a - m * D > (m + 1) * D - a) m++;
    return m > cap ? cap : m;
}

/* What both signs of d share: |x| (ascending order), weights, sum w x^2. */
typedef struct {
    double a[WK_QK], w[WK_QK], sqrt_w[WK_QK], sxx;
    int by_mag[WK_QK];           /* indices by ascending |x| */
} sym_block;

/* The event heap of one sweep: per value, the scale at which its integer next
 * drops by one (a / (m - 1/2)), smallest first, ties by index. */
typedef struct { double b[WK_QK]; int h[WK_QK], n; } sym_heap;

static inline int heap_less(const sym_heap *hp, int i, int j)
{
    return hp->b[i] < hp->b[j] || (hp->b[i] == hp->b[j] && i < j);
}

static void heap_down(sym_heap *hp, int k)
{
    for (;;) {
        int c = 2 * k + 1;
        if (c >= hp->n) return;
        if (c + 1 < hp->n && heap_less(hp, hp->h[c + 1], hp->h[c])) c++;
        if (!heap_less(hp, hp->h[c], hp->h[k])) return;
        int t = hp->h[c]; hp->h[c] = hp->h[k]; hp->h[k] = t;
        k = c;
    }
}

/* One sign s of d: y = q*D with D = |d| > 0 and q in [-nneg, npos] for the
 * values v = s*x.  For a given D the best q is the nearest integer in range,
 * so the error E(D) = sum w (v - q D)^2 is a continuous piecewise quadratic
 * whose pieces end where some |v|/D crosses a half-integer.  Scales that can
 * beat *best lie in [DA, DB]: below DA one value's clamping error alone,
 * w (|v| - cap D)^2, exceeds *best; from DB on, the values with |v| <= D/2 (all
 * decode to 0) already cost more.  Between, the pieces are swept in order of D
 * keeping sum w v q and sum w q^2; on each the best fp16 scale is one of the two
 * around the piece's least-squares scale clamped to it.  So the result is the
 * minimum over every finite fp16 scale of that sign (up to double rounding)
 * unless dmax caps DB; *best / *h_best / *s_best are updated when lower. */
static void sym_side(const float *x, const sym_block *sb, int s, int npos, int nneg, double dmax,
                     double *best, unsigned *h_best, int *s_best)
{
    const double rb = sqrt(*best);
    double DA = 0, DB = dmax;
    for (int i = 0; i < WK_QK; i++) {
        if (!(sb->w[i] > 0)) continue;
        double lim = (sb->a[i] - rb / sb->sqrt_w[i]) / (s * x[i] > 0 ? npos : nneg);
        if (lim > DA) DA = lim;
    }
    double cum = 0;
    for (int k = 0; k < WK_QK; k++) {
        int i = sb->by_mag[k];
        if ((cum += sb->w[i] * sb->a[i] * sb->a[i]) > *best) {
            if (2 * sb->a[i] < DB) DB = 2 * sb->a[i];
            break;
        }
    }
    unsigned hA = h_floor(DA * (1 - 1e-9)), hB = h_floor(DB);
    if (hA < 1) hA = 1;
    if (hval(hA) < DA * (1 - 1e-9) && hA < H_MAX) hA++;      /* first scale >= DA */
    if (hA > hB) return;
    DA = hval(hA);
    DB = hval(hB);

    /* integers at DA, their sums, and the heap of their next changes */
    int m[WK_QK];
    double sxq = 0, sqq = 0;
    sym_heap hp = { .n = 0 };
    for (int i = 0; i < WK_QK; i++) {
        const double a = sb->a[i], wi = sb->w[i];
        m[i] = wi > 0 ? near_mag(a, DA, s * x[i] > 0 ? npos : nneg) : 0;
        sxq += wi * a * m[i];
        sqq += wi * (double)m[i] * m[i];
        if (m[i] > 0 && (hp.b[i] = a / (m[i] - 0.5)) <= DB) hp.h[hp.n++] = i;
    }
    for (int k = hp.n / 2 - 1; k >= 0; k--) heap_down(&hp, k);
    double L = DA;
    for (;;) {
        const double R = hp.n ? (hp.b[hp.h[0]] > L ? hp.b[hp.h[0]] : L) : DB;
        if (sqq > 0) {                           /* best scales of the piece [L, R] */
            double D = sxq / sqq;
            D = D < L ? L : D > R ? R : D;
            const unsigned h0 = h_floor(D);
            for (unsigned h = h0 < hA ? hA : h0; h <= h0 + 1 && h <= hB; h++) {
                const double Dh = hval(h);
                if (Dh < L || Dh > R) continue;
                const double err = sb->sxx - 2.0 * Dh * sxq + Dh * Dh * sqq;
                if (err < *best) { *best = err; *h_best = h; *s_best = s; }
            }
        }
        if (!hp.n) break;
        const int i = hp.h[0];                   /* value i: m -> m - 1 at D = R */
        sxq -= sb->w[i] * sb->a[i];
        sqq -= sb->w[i] * (2.0 * m[i] - 1);
        m[i]--;
        if (m[i] > 0 && (hp.b[i] = sb->a[i] / (m[i] - 0.5)) <= DB) heap_down(&hp, 0);
        else { hp.h[0] = hp.h[--hp.n]; heap_down(&hp, 0); }
        L = R;
    }
}

/* Best (d16, q) for y = q*d with q in [lo, hi]: for Q4_0 and Q5_0 the exact
 * minimum over every finite fp16 d of both signs (sym_side); for Q8_0 the
 * same sweep over |d| <= amax / (hi - 8) only (its exact range is too wide to
 * be cheap).  Returns the weighted error. */
static double sym_search(const float *x, const float *w, int lo, int hi, uint16_t *d_out, int *q_out)
{
    sym_block sb;
    double amax = 0;
    sb.sxx = 0;
    for (int i = 0; i < WK_QK; i++) {
        sb.a[i] = fabs((double)x[i]);
        sb.w[i] = w ? w[i] : 1.0;
        sb.sqrt_w[i] = sqrt(sb.w[i]);
        sb.sxx += sb.w[i] * sb.a[i] * sb.a[i];
        if (sb.a[i] > amax) amax = sb.a[i];
        int k = i;                               /* insertion sort by |x| */
        while (k > 0 && sb.a[sb.by_mag[k - 1]] > sb.a[i]) { sb.by_mag[k] = sb.by_mag[k - 1]; k--; }
        sb.by_mag[k] = i;
    }
    double best = sb.sxx;                        /* d = 0: every value decodes to 0 */
    unsigned hb = 0;
    int sgn = 1;
    /* a first bound for the sweeps' pruning: d = amax / |lo| (fp16), both signs */
    const unsigned h0 = h_floor(amax / -lo);
    for (int s = -1; s <= 1 && h0 > 0; s += 2) {
        const double D = hval(h0);
        double e = 0;
        for (int i = 0; i < WK_QK; i++) {
            double v = s * (double)x[i];
            int q = v > 0 ? near_mag(v, D, hi) : -near_mag(-v, D, -lo);
            e += sb.w[i] * (v - q * D) * (v - q * D);
        }
        if (e < best) { best = e; hb = h0; sgn = s; }
    }
    const double dmax = hi > 15 ? amax / (hi - 8) : 65504.0;
    sym_side(x, &sb, 1, hi, -lo, dmax, &best, &hb, &sgn);
    sym_side(x, &sb, -1, hi, -lo, dmax, &best, &hb, &sgn);
    *d_out = (uint16_t)(hb | (sgn < 0 && hb ? 0x8000u : 0));
    const double D = hval(hb);
    for (int i = 0; i < WK_QK; i++) {
        double v = sgn * (double)x[i];
        q_out[i] = hb == 0 ? 0 : v > 0 ? near_mag(v, D, hi) : -near_mag(-v, D, -lo);
    }
    return best;
}

/* ---- legacy asymmetric: Q4_1 [0,15], Q5_1 [0,31] ---------------------------------- */

/* round(v) clamped to [lo, hi] (ties to even; NaN -> lo): fast, for the search. */
static inline int qnear(float v, float lo, float hi)
{
    v = fminf(fmaxf(v, lo), hi);
    return wk_q_nearest_int(v);
}

/* q = qnear((x - m)/d) and the sums sum w q, sum w q^2, sum w x q. */
static inline void asym_pass(const float *x, const float *w, float m, float id, float hi, int *q,
                             float *sq, float *sqq, float *sxq)
{
    float a = 0, b = 0, c = 0;
    for (int i = 0; i < WK_QK; i++) {
        q[i] = qnear((x[i] - m) * id, 0.0f, hi);
        float wq = (w ? w[i] : 1.0f) * (float)q[i];
        a += wq;
        b += wq * (float)q[i];
        c += wq * x[i];
    }
    *sq = a;
    *sqq = b;
    *sxq = c;
}

/* Best (d16, m16, q) for y = q*d + m; returns the weighted error (relative
 * to the constant sum w x^2). */
static double asym_search(const float *x, const float *w, int nmax, uint16_t *d_out,
                          uint16_t *m_out, int *q_out)
{
    float mn = x[0], mx = x[0], sw = 0, sx = 0;
    for (int i = 0; i < WK_QK; i++) {
        mn = fminf(mn, x[i]);
        mx = fmaxf(mx, x[i]);
        sw += w ? w[i] : 1.0f;
        sx += (w ? w[i] : 1.0f) * x[i];
    }
    double best = INFINITY;
    int q[WK_QK];
    *d_out = 0;
    *m_out = wk_f32_to_f16(mn);
    for (int i = 0; i < WK_QK; i++) q_out[i] = 0;
    if (mx == mn) return 0;
    const float fhi = (float)nmax;
    /* candidate steps (max - min)/(nmax + k/10), each refined twice by the
     * least-squares (d, m) for its q, rounded to fp16, then requantized */
    for (int k = -20; k <= 6; k += 2) {
        float d = (mx - mn) / (nmax + 0.1f * k), m = mn;
        if (!(d > 0)) continue;
        for (int pass = 0; pass < 2; pass++) {
            float sq, sqq, sxq;
            asym_pass(x, w, m, 1.0f / d, fhi, q, &sq, &sqq, &sxq);
            double D = (double)sw * sqq - (double)sq * sq;
            if (D > 0) {
                double dd = ((double)sw * sxq - (double)sx * sq) / D;
                if (dd > 0) { d = (float)dd; m = (float)((sx - dd * sq) / sw); }
            }
            uint16_t d16 = wk_f32_to_f16(d), m16 = wk_f32_to_f16(m);
            float df = wk_f16_to_f32(d16), mf = wk_f16_to_f32(m16);
            if (!(df > 0) || !isfinite(df) || !isfinite(mf)) break;
            asym_pass(x, w, mf, 1.0f / df, fhi, q, &sq, &sqq, &sxq);
            double e = (double)df * df * sqq + (double)mf * mf * sw - 2.0 * df * sxq
                     - 2.0 * mf * sx + 2.0 * df * mf * sq;
            if (e < best) {
                best = e;
                *d_out = d16;
                *m_out = m16;
                memcpy(q_out, q, sizeof q);
            }
            d = df;
            m = mf;
        }
    }
    return best;
}

/* Write a legacy block from (d, m, q) in type t's layout (q already in range). */
static void put_legacy(int t, uint16_t d16, uint16_t m16, const int *q, void *out)
{
    uint32_t qh = 0;
    uint8_t qs[16];
    for (int j = 0; j < 16; j++) {
        int a = q[j], b = q[j + 16];
        if (t == WK_GGML_Q4_0) { a += 8; b += 8; }
        if (t == WK_GGML_Q5_0) { a += 16; b += 16; }
        qs[j] = (uint8_t)((a & 15) | (b & 15) << 4);
        qh |= (uint32_t)((a >> 4) & 1) << j | (uint32_t)((b >> 4) & 1) << (j + 16);
    }
    switch (t) {
    case WK_GGML_Q4_0: { wk_block_q4_0 b = { d16, { 0 } }; memcpy(b.qs, qs, 16); memcpy(out, &b, sizeof b); } break;
    case WK_GGML_Q4_1: { wk_block_q4_1 b = { d16, m16, { 0 } }; memcpy(b.qs, qs, 16); memcpy(out, &b, sizeof b); } break;
    case WK_GGML_Q5_0: { wk_block_q5_0 b = { d16, { 0 }, { 0 } }; memcpy(b.qh, &qh, 4); memcpy(b.qs, qs, 16); memcpy(out, &b, sizeof b); } break;
    case WK_GGML_Q5_1: { wk_block_q5_1 b = { d16, m16, { 0 }, { 0 } }; memcpy(b.qh, &qh, 4); memcpy(b.qs, qs, 16); memcpy(out, &b, sizeof b); } break;
    default: {
        wk_block_q8_0 b;
        b.d = d16;
        for (int i = 0; i < WK_QK; i++) b.qs[i] = (int8_t)q[i];
        memcpy(out, &b, sizeof b);
    } break;
    }
}

static void search_legacy(int type, const float *x, uint8_t *y, const float *w)
{
    const wk_qtraits *qt = wk_qtraits_get(type);
    uint8_t cand[sizeof(wk_block_q8_0)];
    uint16_t d16 = 0, m16 = 0;
    int q[WK_QK];
    double e;
    switch (type) {
    case WK_GGML_Q4_0: e = sym_search(x, w, -8, 7, &d16, q); break;
    case WK_GGML_Q5_0: e = sym_search(x, w, -16, 15, &d16, q); break;
    case WK_GGML_Q8_0: e = sym_search(x, w, -128, 127, &d16, q); break;
    case WK_GGML_Q4_1: e = asym_search(x, w, 15, &d16, &m16, q); break;
    default: e = asym_search(x, w, 31, &d16, &m16, q); break;
    }
    qt->quantize_ref(x, y, WK_QK);                 /* the reference block is a candidate */
    if (!(e < INFINITY) || qt->check(y, 1) >= 0) return;   /* (an overflowing reference scale
                                                            * is kept: wk_quantize_rows refuses it) */
    put_legacy(type, d16, m16, q, cand);
    if (block_error(type, cand, x, w) < block_error(type, y, x, w))
        memcpy(y, cand, wk_ggml_type_get(type)->size);
}

/* ---- k-quants: refine the reference block's sub-block scales ----------------------- */

static void get_sm(const uint8_t *q, int j, int *sc, int *m)
{
    if (j < 4) { *sc = q[j] & 63; *m = q[j + 4] & 63; }
    else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static void set_sm(uint8_t *q, int j, int sc, int m)
{
    if (j < 4) {
        q[j] = (uint8_t)((q[j] & 0xC0) | sc);
        q[j + 4] = (uint8_t)((q[j + 4] & 0xC0) | m);
    } else {
        q[j + 4] = (uint8_t)((sc & 0xF) | ((m & 0xF) << 4));
        q[j - 4] = (uint8_t)((q[j - 4] & 0x3F) | ((sc >> 4) << 6));
        q[j] = (uint8_t)((q[j] & 0x3F) | ((m >> 4) << 6));
    }
}

/* Value l (0..255) of a Q4_K/Q5_K block: get / set its integer. */
static int k_get(const uint8_t *qs, const uint8_t *qh, int l)
{
    int c = l / 64, r = l % 64, v = r < 32 ? qs[32 * c + r] & 15 : qs[32 * c + r - 32] >> 4;
    if (qh) v |= ((qh[r % 32] >> (2 * c + (r >= 32))) & 1) << 4;
    return v;
}

static void k_set(uint8_t *qs, uint8_t *qh, int l, int v)
{
    int c = l / 64, r = l % 64, j = r % 32, hi = r >= 32;
    uint8_t *p = &qs[32 * c + j];
    *p = hi ? (uint8_t)((*p & 0x0F) | ((v & 15) << 4)) : (uint8_t)((*p & 0xF0) | (v & 15));
    if (qh) {
        uint8_t bit = (uint8_t)(1u << (2 * c + hi));
        qh[j] = (uint8_t)((v & 16) ? (qh[j] | bit) : (qh[j] & ~bit));
    }
}

/* Sub-block j of a Q4_K/Q5_K block: its error for (sc, m), requantizing its 32
 * values into qs/qh when `write`. */
static double k_sub_try(uint8_t *qs, uint8_t *qh, float d, float dmin, int nmax, int j, int sc,
                        int m, const float *x, const float *w, int write)
{
    const float D = d * sc, M = dmin * m;
    double e = 0;
    for (int i = 32 * j; i < 32 * j + 32; i++) {
        int v = D != 0 ? qround((x[i] + M) / D, 0, nmax) : 0;
        if (write) k_set(qs, qh, i, v);
        float y = D * v - M;
        double r = (double)x[i] - y;
        e += (w ? w[i] : 1.0) * r * r;
    }
    return e;
}

static void search_k45(int type, const float *x, uint8_t *y, const float *w)
{
    wk_qtraits_get(type)->quantize_ref(x, y, WK_QK_K);
    const int q5 = type == WK_GGML_Q5_K, nmax = q5 ? 31 : 15;
    uint8_t *sc12 = y + 4, *qh = q5 ? y + 16 : NULL, *qs = q5 ? y + 48 : y + 16;
    uint16_t d16, dm16;
    memcpy(&d16, y, 2);
    memcpy(&dm16, y + 2, 2);
    const float d = wk_f16_to_f32(d16), dmin = wk_f16_to_f32(dm16);
    for (int j = 0; j < 8; j++) {
        int sc, m;
        get_sm(sc12, j, &sc, &m);
        /* the reference's own integers first: the sub-block keeps them unless beaten */
        double best = 0;
        for (int i = 32 * j; i < 32 * j + 32; i++) {
            float D = d * sc, M = dmin * m, yv = D * k_get(qs, qh, i) - M;
            best += (w ? w[i] : 1.0) * ((double)x[i] - yv) * ((double)x[i] - yv);
        }
        int bs = -1, bm = -1;
        for (int s = sc - 3; s <= sc + 3; s++)
            for (int mm = m - 3; mm <= m + 3; mm++) {
                if (s < 0 || s > 63 || mm < 0 || mm > 63) continue;
                double e = k_sub_try(qs, qh, d, dmin, nmax, j, s, mm, x, w, 0);
                if (e < best) { best = e; bs = s; bm = mm; }
            }
        if (bs >= 0) {
            set_sm(sc12, j, bs, bm);
            k_sub_try(qs, qh, d, dmin, nmax, j, bs, bm, x, w, 1);
        }
    }
}

static int q6_get(const wk_block_q6_K *b, int l)
{
    int h = l / 128, r = l % 128, g = r / 32, i = r % 32;
    const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
    int lo = g == 0 ? ql[i] & 15 : g == 1 ? ql[i + 32] & 15 : g == 2 ? ql[i] >> 4 : ql[i + 32] >> 4;
    return lo | ((qh[i] >> (2 * g)) & 3) << 4;
}

static void q6_set(wk_block_q6_K *b, int l, int v)
{
    int h = l / 128, r = l % 128, g = r / 32, i = r % 32;
    uint8_t *ql = b->ql + 64 * h + (g & 1 ? i + 32 : i), *qh = b->qh + 32 * h + i;
    *ql = g < 2 ? (uint8_t)((*ql & 0xF0) | (v & 15)) : (uint8_t)((*ql & 0x0F) | ((v & 15) << 4));
    *qh = (uint8_t)((*qh & ~(3 << (2 * g))) | ((v >> 4) << (2 * g)));
}

static void search_q6k(const float *x, uint8_t *y, const float *w)
{
    wk_block_q6_K b;
    wk_quantize_row_q6_K_ref(x, y, WK_QK_K);
    memcpy(&b, y, sizeof b);
    const float d = wk_f16_to_f32(b.d);
    if (d == 0) return;
    for (int j = 0; j < 16; j++) {
        double best = 0;
        for (int i = 16 * j; i < 16 * j + 16; i++) {
            float yv = d * b.scales[j] * (q6_get(&b, i) - 32);
            best += (w ? w[i] : 1.0) * ((double)x[i] - yv) * ((double)x[i] - yv);
        }
        int bs = 1000;
        for (int s = b.scales[j] - 4; s <= b.scales[j] + 4; s++) {
            if (s < -128 || s > 127 || s == 0) continue;
            const float D = d * (int8_t)s;
            double e = 0;
            for (int i = 16 * j; i < 16 * j + 16; i++) {
                int v = qround(x[i] / D, -32, 31);
                float yv = D * v;
                e += (w ? w[i] : 1.0) * ((double)x[i] - yv) * ((double)x[i] - yv);
            }
            if (e < best) { best = e; bs = s; }
        }
        if (bs != 1000) {
            b.scales[j] = (int8_t)bs;
            const float D = d * b.scales[j];
            for (int i = 16 * j; i < 16 * j + 16; i++) q6_set(&b, i, qround(x[i] / D, -32, 31) + 32);
        }
    }
    memcpy(y, &b, sizeof b);
}

int wk_quant_search_supported(int type)
{
    switch (type) {
    case WK_GGML_Q4_0: case WK_GGML_Q4_1: case WK_GGML_Q5_0: case WK_GGML_Q5_1:
    case WK_GGML_Q8_0: case WK_GGML_Q4_K: case WK_GGML_Q5_K: case WK_GGML_Q6_K: return 1;
    default: return 0;
    }
}

void wk_quantize_row_search(int type, const float *x, void *vy, int64_t n,
                            const float *imatrix)
{
    if (!wk_quant_search_supported(type)) {   /* no search: the reference's blocks */
        wk_qtraits_get(type)->quantize_ref(x, vy, n);
        return;
    }
    const wk_ggml_type_info *ti = wk_ggml_type_get(type);
    const int64_t blck = ti->blck;
    uint8_t *y = vy;
    for (int64_t i = 0; i < n / blck; i++) {
        const float *xb = x + i * blck, *wb = imatrix ? imatrix + i * blck : NULL;
        uint8_t *yb = y + i * ti->size;
        switch (type) {
        case WK_GGML_Q4_K: case WK_GGML_Q5_K: search_k45(type, xb, yb, wb); break;
        case WK_GGML_Q6_K: search_q6k(xb, yb, wb); break;
        default: search_legacy(type, xb, yb, wb); break;
        }
    }
}
