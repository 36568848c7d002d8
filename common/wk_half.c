/* wk_half.c — fp16 / bf16 <-> fp32, bit-exact with PyTorch (see wk_half.h).
 *
 * Scalar reference functions use integer bit manipulation only (no FPU
 * rounding modes, FTZ/DAZ or x87 involved).  The *_row functions dispatch at
 * run time to F16C/AVX2 kernels (`target` attribute, so the rest of the
 * library is built for the baseline ISA).  Dispatch: a kernel table chosen
 * once, at first use, from wk_cpu.h's cached probe. */
#include "wk_half.h"
#include "wk_cpu.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define WK_HALF_X86 1
#include <immintrin.h>
#else
#define WK_HALF_X86 0
#endif

/* ---- bit casts ---------------------------------------------------------- */
static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- fp16 -> fp32 --------------------------------------------------------- */

/* Bits of the fp32 equal to the fp16 subnormal magnitude man * 2^-24 (man != 0). */
static uint32_t f16_subnormal_bits(uint32_t man)
{
    uint32_t exp = 113; /* fp32 exponent field of 2^-14, the scale of bit 10 */
    while (!(man & 0x400u)) {
        man <<= 1;
        exp--;
    }
    return (exp << 23) | ((man & 0x3ffu) << 13);
}

/* Exact, except that a signalling NaN gets the quiet bit set (as c10::Half and
 * vcvtph2ps do): NaN h -> sign | 0x7FC00000 | mantissa << 13. */
float wk_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f)
        return bits_f32(sign | 0x7f800000u | (man ? 0x400000u : 0) | (man << 13));
    if (exp == 0)
        return bits_f32(sign | (man ? f16_subnormal_bits(man) : 0));
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

/* ---- fp32 -> fp16 --------------------------------------------------------- */

/* Round-nearest-even of the magnitude a (fp32 bits, below 2^-14) to an fp16
 * subnormal or zero: the result is round(a * 2^24). */
static uint16_t f16_from_small(uint32_t a)
{
    if (a <= 0x33000000u) /* <= 2^-25: zero (2^-25 itself ties to even 0) */
        return 0;
    uint32_t e = a >> 23;                       /* 102 .. 112 */
    uint32_t m = (a & 0x7fffffu) | 0x800000u;   /* value = m * 2^(e-150) */
    uint32_t shift = 126 - e;                   /* 14 .. 24 */
    uint32_t r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1)))
        r++;
    return (uint16_t)r;
}

/* Round to nearest even; >= 65520 becomes inf; NaN -> sign | 0x7E00. */
uint16_t wk_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u)
        return sign | 0x7e00u;
    if (a >= 0x477ff000u) /* 65520 = midpoint of 65504 and 2^16: ties to inf */
        return sign | 0x7c00u;
    if (a < 0x38800000u)  /* below 2^-14: subnormal or zero */
        return sign | f16_from_small(a);
    uint32_t r = a - (112u << 23);          /* rebias the exponent */
    r += 0xfffu + ((r >> 13) & 1);          /* ties to even on bit 13 */
    return sign | (uint16_t)(r >> 13);
}

/* ---- bf16 ----------------------------------------------------------------- */

/* Exact (bf16 is the top half of an fp32), NaN payloads included. */
float wk_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

/* Round to nearest even; NaN -> 0xFFFF (what torch's contiguous `.to()`
 * gives on x86 with AVX2/AVX-512; see wk_half.h). */
uint16_t wk_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return 0xffffu;
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

/* fp16 -> bf16 as torch's direct Half -> BFloat16 copy (c10 scalar path):
 * through fp32, but any NaN becomes 0x7FC0. */
static uint16_t f16_to_bf16(uint16_t h)
{
    if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu))
        return 0x7fc0u;
    return wk_f32_to_bf16(wk_f16_to_f32(h));
}

/* ---- scalar rows ---------------------------------------------------------- */
void wk_f16_to_f32_row_ref(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = wk_f16_to_f32(src[i]);
}

void wk_f32_to_f16_row_ref(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = wk_f32_to_f16(src[i]);
}

void wk_bf16_to_f32_row_ref(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = wk_bf16_to_f32(src[i]);
}

void wk_f32_to_bf16_row_ref(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = wk_f32_to_bf16(src[i]);
}

/* ---- F16C / AVX2 kernels -------------------------------------------------- */
#if WK_HALF_X86

/* 8 halves -> 8 floats per step; vcvtph2ps quiets sNaNs exactly like the ref. */
WK_TARGET_AVX2 static void f16_to_f32_avx2(const uint16_t *src, float *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    wk_f16_to_f32_row_ref(src + i, dst + i, n - i);
}

/* Narrow eight 32-bit lanes (each <= 0xFFFF) to eight 16-bit lanes. */
WK_TARGET_AVX2 static __m128i narrow_u32(__m256i v)
{
    return _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

/* vcvtps2ph with RNE (imm 0) keeps NaN payloads; NaN lanes are replaced by
 * sign | 0x7E00 so that the result equals wk_f32_to_f16 for every input. */
WK_TARGET_AVX2 static __m128i f32x8_to_f16(__m256 x)
{
    __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT);
    __m256i bits = _mm256_castps_si256(x);
    __m256i sign = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x8000));
    __m128i qnan = narrow_u32(_mm256_or_si256(sign, _mm256_set1_epi32(0x7e00)));
    __m256i isnan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    __m128i mask = _mm_packs_epi32(_mm256_castsi256_si128(isnan),
                                   _mm256_extracti128_si256(isnan, 1));
    return _mm_blendv_epi8(h, qnan, mask);
}

WK_TARGET_AVX2 static void f32_to_f16_avx2(const float *src, uint16_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), f32x8_to_f16(_mm256_loadu_ps(src + i)));
    wk_f32_to_f16_row_ref(src + i, dst + i, n - i);
}

WK_TARGET_AVX2 static void bf16_to_f32_avx2(const uint16_t *src, float *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(w, 16));
    }
    wk_bf16_to_f32_row_ref(src + i, dst + i, n - i);
}

/* Integer RNE as in wk_f32_to_bf16: (x + 0x7FFF + lsb) >> 16, NaN -> 0xFFFF. */
WK_TARGET_AVX2 static __m128i f32x8_to_bf16(__m256i x)
{
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
    r = _mm256_srli_epi32(r, 16);
    __m256i mag = _mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff));
    __m256i isnan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7f800000));
    r = _mm256_or_si256(r, _mm256_and_si256(isnan, _mm256_set1_epi32(0xffff)));
    return narrow_u32(r);
}

WK_TARGET_AVX2 static void f32_to_bf16_avx2(const float *src, uint16_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), f32x8_to_bf16(x));
    }
    wk_f32_to_bf16_row_ref(src + i, dst + i, n - i);
}
#endif /* WK_HALF_X86 */

/* ---- dispatch: the kernels are chosen once ------------------------------------ */

typedef struct {
    void (*f16_to_f32)(const uint16_t *src, float *dst, size_t n);
    void (*f32_to_f16)(const float *src, uint16_t *dst, size_t n);
    void (*bf16_to_f32)(const uint16_t *src, float *dst, size_t n);
    void (*f32_to_bf16)(const float *src, uint16_t *dst, size_t n);
} half_kernels;

static const half_kernels k_ref = {
    wk_f16_to_f32_row_ref, wk_f32_to_f16_row_ref, wk_bf16_to_f32_row_ref, wk_f32_to_bf16_row_ref,
};
#if WK_HALF_X86
static const half_kernels k_avx2 = {
    f16_to_f32_avx2, f32_to_f16_avx2, bf16_to_f32_avx2, f32_to_bf16_avx2,
};
#endif

/* Set once inside pthread_once (from wk_cpu's cached probe), read-only after. */
static const half_kernels *g_kernels;
static pthread_once_t g_kernels_once = PTHREAD_ONCE_INIT;

static void choose_kernels(void)
{
    g_kernels = &k_ref;
#if WK_HALF_X86
    if (wk_cpu_has(WK_CPU_SIMD)) g_kernels = &k_avx2;
#endif
}

static const half_kernels *kernels(void)
{
    pthread_once(&g_kernels_once, choose_kernels);
    return g_kernels;
}

void wk_f16_to_f32_row(const uint16_t *src, float *dst, size_t n) { kernels()->f16_to_f32(src, dst, n); }
void wk_f32_to_f16_row(const float *src, uint16_t *dst, size_t n) { kernels()->f32_to_f16(src, dst, n); }
void wk_bf16_to_f32_row(const uint16_t *src, float *dst, size_t n) { kernels()->bf16_to_f32(src, dst, n); }
void wk_f32_to_bf16_row(const float *src, uint16_t *dst, size_t n) { kernels()->f32_to_bf16(src, dst, n); }

/* ---- 16-bit <-> 16-bit ---------------------------------------------------- */

/* Scalar: both are table-free integer paths, fast enough for the rare
 * direct 16 -> 16 conversions. */
void wk_bf16_to_f16_row(const uint16_t *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = wk_f32_to_f16(wk_bf16_to_f32(src[i]));
}

void wk_f16_to_bf16_row(const uint16_t *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = f16_to_bf16(src[i]);
}

/* ---- non-finite values ---------------------------------------------------- */

/* The count of elements whose exponent bits (mask) are all ones: the scalar
 * reference, one element at a time. */
#define WK_NONFINITE_REF(T, W, mask)                                                        \
    do {                                                                                   \
        const uint8_t *b = x;                                                              \
        uint64_t c = 0;                                                                    \
        for (size_t i = 0; i < n; i++) {                                                   \
            T v;                                                                           \
            memcpy(&v, b + (size_t)(W) * i, W);                                            \
            c += (v & (mask)) == (mask);                                                   \
        }                                                                                  \
        return c;                                                                          \
    } while (0)

uint64_t wk_f32_nonfinite_ref(const void *x, size_t n) { WK_NONFINITE_REF(uint32_t, 4, 0x7f800000u); }
uint64_t wk_f16_nonfinite_ref(const void *x, size_t n) { WK_NONFINITE_REF(uint16_t, 2, 0x7c00u); }
uint64_t wk_bf16_nonfinite_ref(const void *x, size_t n) { WK_NONFINITE_REF(uint16_t, 2, 0x7f80u); }

/* The same count, 64 bits at a time, no popcount instruction needed (issue #23: the element loop was a third
 * of wk-pack's CPU).  lanes = 64 / (8 W) elements per word, m = mask in every
 * lane, hi = each lane's top bit.  x = (w & m) ^ m is zero in exactly the
 * non-finite lanes, and below the lane's top bit (the masks exclude the sign),
 * so x + (hi - 1) sets a lane's top bit iff the lane is non-zero, without a
 * carry into the next lane. */
#if WK_HALF_X86
/* Whether any 16-bit (lanes 4) or 32-bit (lanes 2) lane of the 8 words bytes
 * at b has every bit of its part of m set: the "is there any?" pass of
 * nonfinite_words, 128 bytes a step (issue #23: the scan runs on every byte
 * wk-pack writes).  words: a multiple of 16.  Exact: a lane compare, no
 * arithmetic; nonfinite_words' scalar loop is its reference (test_half). */
WK_TARGET_AVX2 static int any_nonfinite_avx2(const uint8_t *b, size_t words, unsigned lanes, uint64_t m)
{
    const __m256i vm = _mm256_set1_epi64x((long long)m);
    __m256i acc = _mm256_setzero_si256();
    for (size_t i = 0; i < 8 * words; i += 128) {
        __m256i x0 = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(b + i)), vm);
        __m256i x1 = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(b + i + 32)), vm);
        __m256i x2 = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(b + i + 64)), vm);
        __m256i x3 = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(b + i + 96)), vm);
        if (lanes == 4) {
            x0 = _mm256_or_si256(_mm256_cmpeq_epi16(x0, vm), _mm256_cmpeq_epi16(x1, vm));
            x2 = _mm256_or_si256(_mm256_cmpeq_epi16(x2, vm), _mm256_cmpeq_epi16(x3, vm));
        } else {
            x0 = _mm256_or_si256(_mm256_cmpeq_epi32(x0, vm), _mm256_cmpeq_epi32(x1, vm));
            x2 = _mm256_or_si256(_mm256_cmpeq_epi32(x2, vm), _mm256_cmpeq_epi32(x3, vm));
        }
        acc = _mm256_or_si256(acc, _mm256_or_si256(x0, x2));
    }
    return !_mm256_testz_si256(acc, acc);
}
#endif

static uint64_t nonfinite_words(const uint8_t *b, size_t words, unsigned lanes, uint64_t m, uint64_t hi)
{
    unsigned bits = 64 / lanes;
    uint64_t ones = hi >> (bits - 1), lo = hi - ones;   /* 1 and hi - 1 in every lane */
    uint64_t c = 0, bad = 0;
    size_t i0 = 0;
#if WK_HALF_X86
    if (wk_cpu_has(WK_CPU_SIMD)) {
        i0 = words / 16 * 16;
        bad = (uint64_t)any_nonfinite_avx2(b, i0, lanes, m);
    }
#endif
    for (size_t i = i0; i < words; i++) {   /* the common case first: is there any? */
        uint64_t w;
        memcpy(&w, b + 8 * i, 8);
        bad |= ((((w & m) ^ m) + lo) & hi) ^ hi;
    }
    for (size_t i = 0; bad && i < words; i++) {
        uint64_t w;
        memcpy(&w, b + 8 * i, 8);
        uint64_t x = (w & m) ^ m;
        uint64_t nz = ((x + lo) & hi) >> (bits - 1);    /* 1 in each finite lane */
        c += lanes - (unsigned)((nz * ones) >> (64 - bits));   /* the lanes' sum, in the top lane */
    }
    return c;
}

/* The first index of a non-finite element (elements of W bytes), SIZE_MAX if none. */
#define WK_NONFINITE_FIRST(T, W, mask)                                                      \
    do {                                                                                   \
        const uint8_t *b = x;                                                              \
        for (size_t i = 0; i < n; i++) {                                                   \
            T v;                                                                           \
            memcpy(&v, b + (size_t)(W) * i, W);                                            \
            if ((v & (mask)) == (mask)) return i;                                          \
        }                                                                                  \
        return SIZE_MAX;                                                                   \
    } while (0)

static size_t first_f32(const void *x, size_t n) { WK_NONFINITE_FIRST(uint32_t, 4, 0x7f800000u); }
static size_t first_f16(const void *x, size_t n) { WK_NONFINITE_FIRST(uint16_t, 2, 0x7c00u); }
static size_t first_bf16(const void *x, size_t n) { WK_NONFINITE_FIRST(uint16_t, 2, 0x7f80u); }

uint64_t wk_f32_nonfinite(const void *x, size_t n, size_t *first)
{
    size_t words = n / 2;
    uint64_t c = nonfinite_words(x, words, 2, 0x7f8000007f800000ull, 0x8000000080000000ull) +
                 wk_f32_nonfinite_ref((const uint8_t *)x + 8 * words, n - 2 * words);
    if (first) *first = c ? first_f32(x, n) : SIZE_MAX;
    return c;
}

uint64_t wk_f16_nonfinite(const void *x, size_t n, size_t *first)
{
    size_t words = n / 4;
    uint64_t c = nonfinite_words(x, words, 4, 0x7c007c007c007c00ull, 0x8000800080008000ull) +
                 wk_f16_nonfinite_ref((const uint8_t *)x + 8 * words, n - 4 * words);
    if (first) *first = c ? first_f16(x, n) : SIZE_MAX;
    return c;
}

uint64_t wk_bf16_nonfinite(const void *x, size_t n, size_t *first)
{
    size_t words = n / 4;
    uint64_t c = nonfinite_words(x, words, 4, 0x7f807f807f807f80ull, 0x8000800080008000ull) +
                 wk_bf16_nonfinite_ref((const uint8_t *)x + 8 * words, n - 4 * words);
    if (first) *first = c ? first_bf16(x, n) : SIZE_MAX;
    return c;
}
