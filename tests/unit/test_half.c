/* Unit tests: wk_half — fp16/bf16 <-> fp32, scalar reference vs an
 * independent decoder, rounding ties, specials, SIMD vs reference bit
 * identity, and PyTorch's own outputs (tests/fixtures/half/golden.bin,
 * regenerate with /usr/bin/python3 tests/fixtures/gen/make_half_golden.py). */
#include "wk_half.h"
#include "wk_cpu.h"
#include "wk_test.h"

#include <math.h>
#include <stdlib.h>

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* Counts mismatches, reporting the first few with got/expected. */
#define CHECK_BITS(what, idx, in, got, want, nbad) do { \
    if ((uint64_t)(got) != (uint64_t)(want) && (nbad)++ < 5) \
        wk_test_fail(__FILE__, __LINE__, "%s[%zu]: input 0x%08" PRIx64 ": got 0x%08" PRIx64 \
                     ", expected 0x%08" PRIx64, (what), (size_t)(idx), (uint64_t)(in), \
                     (uint64_t)(got), (uint64_t)(want)); } while (0)

/* Independent fp16 decoder: ldexp of the integer significand. */
static double f16_value(uint16_t h)
{
    int exp = (h >> 10) & 31, man = h & 1023;
    double v = exp == 0 ? ldexp(man, -24) : exp == 31 ? (man ? NAN : INFINITY)
                                                       : ldexp(man | 1024, exp - 25);
    return (h & 0x8000) ? -v : v;
}

static int f16_isnan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff); }
static int bf16_isnan(uint16_t h) { return (h & 0x7f80) == 0x7f80 && (h & 0x7f); }

/* Simple deterministic PRNG (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd32(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static void test_f16_to_f32_exhaustive(void)
{
    int nbad = 0;
    for (uint32_t i = 0; i < 0x10000; i++) {
        uint16_t h = (uint16_t)i;
        uint32_t got = fbits(wk_f16_to_f32(h));
        uint32_t want = f16_isnan(h)
            ? ((uint32_t)(h & 0x8000) << 16) | 0x7fc00000u | ((uint32_t)(h & 0x3ff) << 13)
            : fbits((float)f16_value(h));
        CHECK_BITS("f16->f32", i, h, got, want, nbad);
    }
    CHECK(nbad == 0);
}

static void test_f32_to_f16_roundtrip(void)
{
    int nbad = 0;
    for (uint32_t i = 0; i < 0x10000; i++) {
        uint16_t h = (uint16_t)i;
        uint16_t want = f16_isnan(h) ? (uint16_t)((h & 0x8000) | 0x7e00) : h;
        CHECK_BITS("f16 roundtrip", i, h, wk_f32_to_f16(wk_f16_to_f32(h)), want, nbad);
    }
    CHECK(nbad == 0);
}

/* The fp32 midpoint of fp16 h and its successor (h < 0x7c00, positive),
 * 65536 after the largest finite half. */
static float f16_midpoint(uint16_t h)
{
    double lo = f16_value(h), hi = h == 0x7bff ? 65536.0 : f16_value((uint16_t)(h + 1));
    return (float)((lo + hi) / 2);
}

static void test_f32_to_f16_ties(void)
{
    int nbad = 0;
    for (uint16_t h = 0; h < 0x7c00; h++) {
        float mid = f16_midpoint(h);
        CHECK((double)mid == (f16_value(h) + (h == 0x7bff ? 65536.0 : f16_value(h + 1))) / 2);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : h;
        for (int s = 0; s < 2; s++) {
            float m = s ? -mid : mid;
            uint16_t sg = s ? 0x8000 : 0;
            CHECK_BITS("tie", h, fbits(m), wk_f32_to_f16(m), sg | even, nbad);
            CHECK_BITS("below tie", h, fbits(m), wk_f32_to_f16(nextafterf(m, 0)), sg | h, nbad);
            CHECK_BITS("above tie", h, fbits(m),
                       wk_f32_to_f16(nextafterf(m, s ? -INFINITY : INFINITY)), sg | (h + 1), nbad);
        }
    }
    CHECK(nbad == 0);
}

static void test_f32_to_f16_specials(void)
{
    CHECK(wk_f32_to_f16(0.0f) == 0x0000);
    CHECK(wk_f32_to_f16(-0.0f) == 0x8000);
    CHECK(wk_f32_to_f16(ldexpf(1, -24)) == 0x0001);         /* smallest subnormal */
    CHECK(wk_f32_to_f16(ldexpf(1, -25)) == 0x0000);         /* tie -> even 0 */
    CHECK(wk_f32_to_f16(nextafterf(ldexpf(1, -25), 1)) == 0x0001);
    CHECK(wk_f32_to_f16(-ldexpf(3, -25)) == 0x8002);        /* 1.5 ulp tie -> 2 */
    CHECK(wk_f32_to_f16(ldexpf(1023, -24)) == 0x03ff);      /* largest subnormal */
    CHECK(wk_f32_to_f16(ldexpf(1, -14)) == 0x0400);         /* smallest normal */
    CHECK(wk_f32_to_f16(bitsf(0x00000001)) == 0x0000);      /* fp32 subnormal */
    CHECK(wk_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(wk_f32_to_f16(nextafterf(65520.0f, 0)) == 0x7bff);
    CHECK(wk_f32_to_f16(65520.0f) == 0x7c00);               /* overflow threshold */
    CHECK(wk_f32_to_f16(-65520.0f) == 0xfc00);
    CHECK(wk_f32_to_f16(1e30f) == 0x7c00);
    CHECK(wk_f32_to_f16(INFINITY) == 0x7c00);
    CHECK(wk_f32_to_f16(-INFINITY) == 0xfc00);
    CHECK(wk_f32_to_f16(bitsf(0x7fc00000)) == 0x7e00);
    CHECK(wk_f32_to_f16(bitsf(0xffc00000)) == 0xfe00);
    CHECK(wk_f32_to_f16(bitsf(0x7f800001)) == 0x7e00);      /* sNaN, low payload */
    CHECK(wk_f32_to_f16(bitsf(0xff812345)) == 0xfe00);
    CHECK(wk_f32_to_f16(bitsf(0x7fffffff)) == 0x7e00);
    CHECK(wk_f32_to_f16(1.0f) == 0x3c00);
    CHECK(wk_f32_to_f16(-2.0f) == 0xc000);
}

static void test_bf16_exhaustive(void)
{
    int nbad = 0;
    for (uint32_t i = 0; i < 0x10000; i++) {
        uint16_t h = (uint16_t)i;
        CHECK_BITS("bf16->f32", i, h, fbits(wk_bf16_to_f32(h)), i << 16, nbad);
        uint16_t want = bf16_isnan(h) ? 0xffff : h;
        CHECK_BITS("bf16 roundtrip", i, h, wk_f32_to_bf16(wk_bf16_to_f32(h)), want, nbad);
        if ((h & 0x7fff) >= 0x7f80) continue; /* ties only between finite values */
        uint32_t mid = (i << 16) | 0x8000;
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : h;   /* 0x7f7f -> 0x7f80 = inf */
        CHECK_BITS("bf16 tie", i, mid, wk_f32_to_bf16(bitsf(mid)), even, nbad);
        CHECK_BITS("bf16 below", i, mid, wk_f32_to_bf16(bitsf(mid - 1)), h, nbad);
        CHECK_BITS("bf16 above", i, mid, wk_f32_to_bf16(bitsf(mid + 1)), h + 1, nbad);
    }
    CHECK(nbad == 0);
    CHECK(wk_f32_to_bf16(-0.0f) == 0x8000);
    CHECK(wk_f32_to_bf16(bitsf(0x00000001)) == 0x0000);    /* fp32 subnormal, kept RNE */
    CHECK(wk_f32_to_bf16(bitsf(0x00018000)) == 0x0002);
    CHECK(wk_f32_to_bf16(bitsf(0x7f7fffff)) == 0x7f80);    /* FLT_MAX -> inf */
    CHECK(wk_f32_to_bf16(-INFINITY) == 0xff80);
    CHECK(wk_f32_to_bf16(bitsf(0xffc00000)) == 0xffff);
    CHECK(wk_f32_to_bf16(bitsf(0x7f800001)) == 0xffff);
}

static void test_16_to_16(void)
{
    static uint16_t in[0x10000], b[0x10000], f[0x10000];
    for (uint32_t i = 0; i < 0x10000; i++) in[i] = (uint16_t)i;
    wk_f16_to_bf16_row(in, b, 0x10000);
    wk_bf16_to_f16_row(in, f, 0x10000);
    int nbad = 0;
    for (uint32_t i = 0; i < 0x10000; i++) {
        uint16_t wb = f16_isnan(in[i]) ? 0x7fc0 : wk_f32_to_bf16(wk_f16_to_f32(in[i]));
        CHECK_BITS("f16->bf16", i, in[i], b[i], wb, nbad);
        CHECK_BITS("bf16->f16", i, in[i], f[i], wk_f32_to_f16(wk_bf16_to_f32(in[i])), nbad);
    }
    CHECK(nbad == 0);
}

/* Every 16-bit input through the SIMD and ref rows, at several offsets and
 * lengths so that vector bodies and scalar tails both run. */
static void test_simd_16bit_inputs(void)
{
    static uint16_t in[0x10000];
    static float a[0x10000], r[0x10000];
    for (uint32_t i = 0; i < 0x10000; i++) in[i] = (uint16_t)i;
    if (!wk_cpu_has(WK_CPU_SIMD)) printf("  (no F16C/AVX2 here: dispatch uses the reference)\n");
    int nbad = 0;
    for (size_t off = 0; off < 9; off++) {
        size_t n = 0x10000 - off - (off * 3 % 8);
        wk_f16_to_f32_row(in + off, a, n);
        wk_f16_to_f32_row_ref(in + off, r, n);
        for (size_t i = 0; i < n; i++)
            CHECK_BITS("f16 row", i, in[off + i], fbits(a[i]), fbits(r[i]), nbad);
        wk_bf16_to_f32_row(in + off, a, n);
        wk_bf16_to_f32_row_ref(in + off, r, n);
        for (size_t i = 0; i < n; i++)
            CHECK_BITS("bf16 row", i, in[off + i], fbits(a[i]), fbits(r[i]), nbad);
    }
    CHECK(nbad == 0);
}

/* Compare SIMD and ref fp32 -> 16-bit rows on n inputs; *nbad counts
 * mismatches (only the first few are reported). */
static void compare_f32_rows(const float *src, size_t n, uint16_t *a, uint16_t *r, int *nbad)
{
    wk_f32_to_f16_row(src, a, n);
    wk_f32_to_f16_row_ref(src, r, n);
    for (size_t i = 0; i < n; i++) CHECK_BITS("f32->f16 row", i, fbits(src[i]), a[i], r[i], *nbad);
    wk_f32_to_bf16_row(src, a, n);
    wk_f32_to_bf16_row_ref(src, r, n);
    for (size_t i = 0; i < n; i++) CHECK_BITS("f32->bf16 row", i, fbits(src[i]), a[i], r[i], *nbad);
}

static void test_simd_f32_sweep(void)
{
    enum { N = 1 << 20, ROUNDS = 16 };
    float *src = malloc(N * sizeof *src);
    uint16_t *a = malloc(N * sizeof *a), *r = malloc(N * sizeof *r);
    CHECK(src && a && r);
    if (!src || !a || !r) { free(src); free(a); free(r); return; }
    int nbad = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < N; i++) {
            uint32_t u = rnd32();
            if (round & 1) u |= 0x7f800000u;        /* half the rounds: inf/NaN heavy */
            if (round == 2) u = (u & 0x8000ffffu) | 0x47700000u; /* near 65520 */
            if (round == 4) u = (u & 0x80ffffffu) | 0x33000000u; /* fp16 subnormal edge */
            src[i] = bitsf(u);
        }
        compare_f32_rows(src, N, a, r, &nbad);
        for (size_t n = 0; n < 40; n++) compare_f32_rows(src + n, n, a, r, &nbad); /* tails */
    }
    CHECK(nbad == 0);
    free(src); free(a); free(r);
}

/* ---- PyTorch golden ------------------------------------------------------ */
typedef struct {
    uint32_t na, nb, nc;
    uint8_t *data; size_t size; size_t pos;
} golden;

static int golden_load(golden *g)
{
    const char *path = wk_test_src("tests/fixtures/half/golden.bin");
    FILE *f = fopen(path, "rb");
    memset(g, 0, sizeof *g);
    if (!f) { wk_test_fail(__FILE__, __LINE__, "cannot open %s", path); return -1; }
    fseek(f, 0, SEEK_END);
    g->size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    g->data = malloc(g->size ? g->size : 1);
    int ok = g->data && fread(g->data, 1, g->size, f) == g->size && g->size >= 20
             && memcmp(g->data, "WKHALF1\n", 8) == 0;
    fclose(f);
    if (!ok) { wk_test_fail(__FILE__, __LINE__, "%s: bad golden file", path); return -1; }
    memcpy(&g->na, g->data + 8, 4);  /* little-endian host assumed (x86/arm) */
    memcpy(&g->nb, g->data + 12, 4);
    memcpy(&g->nc, g->data + 16, 4);
    g->pos = 20;
    uint64_t need = 20 + 8ull * g->na + 8ull * g->nb + 8ull * g->nc;
    if (need != g->size) { wk_test_fail(__FILE__, __LINE__, "%s: size mismatch", path); return -1; }
    return 0;
}

/* Next n elements of `width` bytes, copied out (the file is unaligned). */
static void *golden_take(golden *g, size_t n, size_t width)
{
    void *p = malloc(n * width > 0 ? n * width : 1);
    if (p) memcpy(p, g->data + g->pos, n * width);
    g->pos += n * width;
    return p;
}

static int check_row16(const char *what, const uint16_t *got, const uint16_t *want,
                       const void *in, size_t in_width, size_t n)
{
    int nbad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = 0;
        memcpy(&x, (const uint8_t *)in + i * in_width, in_width);
        CHECK_BITS(what, i, x, got[i], want[i], nbad);
    }
    return nbad;
}

static int check_row32(const char *what, const float *got, const uint32_t *want,
                       const uint16_t *in, size_t n)
{
    int nbad = 0;
    for (size_t i = 0; i < n; i++) CHECK_BITS(what, i, in[i], fbits(got[i]), want[i], nbad);
    return nbad;
}

static void golden_section_a(golden *g)
{
    size_t n = g->na;
    float *in = golden_take(g, n, 4);
    uint16_t *t16 = golden_take(g, n, 2), *tbf = golden_take(g, n, 2), *out = malloc(2 * n + 2);
    int nbad = 0;
    wk_f32_to_f16_row_ref(in, out, n);  nbad += check_row16("A f16 ref", out, t16, in, 4, n);
    wk_f32_to_f16_row(in, out, n);      nbad += check_row16("A f16 simd", out, t16, in, 4, n);
    wk_f32_to_bf16_row_ref(in, out, n); nbad += check_row16("A bf16 ref", out, tbf, in, 4, n);
    wk_f32_to_bf16_row(in, out, n);     nbad += check_row16("A bf16 simd", out, tbf, in, 4, n);
    CHECK(nbad == 0);
    free(in); free(t16); free(tbf); free(out);
}

static void golden_section_bc(golden *g, size_t n, int is_f16)
{
    uint16_t *in = golden_take(g, n, 2);
    uint32_t *t32 = golden_take(g, n, 4);
    uint16_t *t16 = golden_take(g, n, 2), *o16 = malloc(2 * n + 2);
    float *o32 = malloc(4 * n + 4);
    int nbad = 0;
    if (is_f16) {
        wk_f16_to_f32_row_ref(in, o32, n); nbad += check_row32("B f32 ref", o32, t32, in, n);
        wk_f16_to_f32_row(in, o32, n);     nbad += check_row32("B f32 simd", o32, t32, in, n);
        wk_f16_to_bf16_row(in, o16, n);    nbad += check_row16("B bf16", o16, t16, in, 2, n);
    } else {
        wk_bf16_to_f32_row_ref(in, o32, n); nbad += check_row32("C f32 ref", o32, t32, in, n);
        wk_bf16_to_f32_row(in, o32, n);     nbad += check_row32("C f32 simd", o32, t32, in, n);
        wk_bf16_to_f16_row(in, o16, n);     nbad += check_row16("C f16", o16, t16, in, 2, n);
    }
    CHECK(nbad == 0);
    free(in); free(t32); free(t16); free(o16); free(o32);
}

static void test_torch_golden(void)
{
    golden g;
    if (golden_load(&g) == 0) {
        golden_section_a(&g);
        golden_section_bc(&g, g.nb, 1);
        golden_section_bc(&g, g.nc, 0);
        CHECK(g.pos == g.size);
    }
    if (wk_test_failures)
        fprintf(stderr, "  (golden from torch: /usr/bin/python3 tests/fixtures/gen/make_half_golden.py)\n");
    free(g.data);
}

/* wk_*_nonfinite: every 16-bit pattern classified as isfinite() of its float
 * value says; f32 specials; the first index; unaligned input (issue #24 item 7). */
static void test_nonfinite(void)
{
    uint64_t n16 = 0, nb16 = 0, want16 = 0, wantb16 = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t v = (uint16_t)h;
        n16 += wk_f16_nonfinite(&v, 1, NULL);
        nb16 += wk_bf16_nonfinite(&v, 1, NULL);
        want16 += !isfinite(wk_f16_to_f32(v));
        wantb16 += !isfinite(wk_bf16_to_f32(v));
    }
    CHECK_EQ_U64(n16, want16);
    CHECK_EQ_U64(nb16, wantb16);
    CHECK_EQ_U64(want16, 2 * 1024);
    float f[6] = {1.0f, 65504.0f, 3.4e38f, INFINITY, -INFINITY, NAN};
    size_t first = 0;
    CHECK_EQ_U64(wk_f32_nonfinite(f, 6, &first), 3);
    CHECK_EQ_U64(first, 3);
    CHECK_EQ_U64(wk_f32_nonfinite(f, 3, &first), 0);
    CHECK(first == SIZE_MAX);
    uint8_t buf[1 + 6 * sizeof(float)];
    memcpy(buf + 1, f, sizeof f);
    CHECK_EQ_U64(wk_f32_nonfinite(buf + 1, 6, &first), 3);
    CHECK_EQ_U64(first, 3);
    uint16_t h[4];
    wk_f32_to_f16_row(f + 1, h, 3);   /* 65504 stays finite; 3.4e38 overflows to inf */
    CHECK_EQ_U64(wk_f16_nonfinite(h, 3, &first), 2);
    CHECK_EQ_U64(first, 1);
}

/* The word-at-a-time counts against the scalar references: random bit patterns
 * (a quarter of them forced non-finite), every length 0..67 and offset 0..7. */
static void test_nonfinite_words(void)
{
    uint8_t buf[8 + 68 * 4];
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = (uint8_t)(s >> 56);
            if ((s >> 20) % 4 == 0) buf[i] |= 0x7f;   /* exponent bits of some lane all set */
        }
        for (size_t off = 0; off < 8; off++)
            for (size_t n = 0; n <= 67; n++) {
                size_t f1, f2, f3;
                CHECK_EQ_U64(wk_f16_nonfinite(buf + off, n, &f1), wk_f16_nonfinite_ref(buf + off, n));
                CHECK_EQ_U64(wk_bf16_nonfinite(buf + off, n, &f2), wk_bf16_nonfinite_ref(buf + off, n));
                CHECK_EQ_U64(wk_f32_nonfinite(buf + off, n, &f3), wk_f32_nonfinite_ref(buf + off, n));
                size_t want = SIZE_MAX;
                for (size_t i = 0; i < n && want == SIZE_MAX; i++)
                    if (wk_f16_nonfinite_ref(buf + off + 2 * i, 1)) want = i;
                CHECK_EQ_U64(f1, want);
            }
    }
}

/* One non-finite element among finite ones, at every position of a 2 KiB
 * buffer (the AVX2 "any?" pass covers 128-byte steps, the scalar loop the
 * rest): counted once, found where it is; none when it is made finite. */
static void test_nonfinite_single(void)
{
    static uint8_t buf[2048 + 8];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 37u) & 0x3b;   /* exponents never all ones */
    for (size_t off = 0; off < 8; off += 3) {
        uint8_t *b = buf + off;
        CHECK_EQ_U64(wk_f16_nonfinite(b, 1024, NULL), 0);
        CHECK_EQ_U64(wk_bf16_nonfinite(b, 1024, NULL), 0);
        for (size_t k = 0; k < 1024; k++) {
            size_t first = 0;
            uint8_t save = b[2 * k + 1];
            b[2 * k + 1] = 0x7f | (save & 0x80);   /* f16 exponent all ones; bf16 too with the low byte */
            uint8_t lo = b[2 * k];
            b[2 * k] = 0x80;
            CHECK_EQ_U64(wk_f16_nonfinite(b, 1024, &first), 1);
            CHECK_EQ_U64(first, k);
            CHECK_EQ_U64(wk_bf16_nonfinite(b, 1024, &first), 1);
            CHECK_EQ_U64(first, k);
            CHECK_EQ_U64(wk_f32_nonfinite(b, 512, &first), (k % 2) ? 1 : 0);
            if (k % 2) CHECK_EQ_U64(first, k / 2);
            b[2 * k] = lo;
            b[2 * k + 1] = save;
        }
    }
}

int main(void)
{
    WK_RUN(test_nonfinite_single);
    WK_RUN(test_f16_to_f32_exhaustive);
    WK_RUN(test_f32_to_f16_roundtrip);
    WK_RUN(test_f32_to_f16_ties);
    WK_RUN(test_f32_to_f16_specials);
    WK_RUN(test_bf16_exhaustive);
    WK_RUN(test_16_to_16);
    WK_RUN(test_simd_16bit_inputs);
    WK_RUN(test_simd_f32_sweep);
    WK_RUN(test_torch_golden);
    WK_RUN(test_nonfinite);
    WK_RUN(test_nonfinite_words);
    return wk_test_summary();
}
