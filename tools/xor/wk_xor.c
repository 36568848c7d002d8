/* wk_xor.c — XOR-diff decode/encode: payload reader, gzip writer, directory runner.
 *
 * Input files are read with pread(), not mapped: a file that shrinks while it
 * is read (truncated by another process) then gives a clean error instead of
 * SIGBUS, and nothing is left under the output's final name. */
#include "wk_xor.h"

#include "wk_hash.h"
#include "wk_threads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>
#ifdef WK_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

#define SLOT_BYTES WK_XOR_SLOT   /* decode: bytes handed from inflate to writer at once */
#define NSLOTS 4                /* decode pipeline depth */
#define WINDOW_BYTES (4u << 20) /* compressed bytes read from a payload file at once */
#define WINDOW_REFILL (256u << 10) /* inflate refills the window when fewer are left: the
                                      rest is moved to its start, so keep that small */
#define CHUNK_IN_DEFAULT (1u << 30)
#define XOR_PIECE (128u << 10)  /* decode: base bytes read (pread) and XOR'd at once */

/* ---- the XOR kernel ----------------------------------------------------- */

/* dst[i] = src[i] ^ b[i]; dst may equal src.  Word-wise through memcpy so the
 * compiler can vectorise without alignment assumptions. */
static void xor_bytes(uint8_t *dst, const uint8_t *src, const uint8_t *b, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t x[4], y[4];
        memcpy(x, src + i, 32);
        memcpy(y, b + i, 32);
        for (int k = 0; k < 4; k++) x[k] ^= y[k];
        memcpy(dst + i, x, 32);
    }
    for (; i < n; i++) dst[i] = src[i] ^ b[i];
}

void wk_xor_apply(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *base,
                  uint64_t base_len, uint64_t off)
{
    size_t m = 0;
    if (off < base_len) m = base_len - off < n ? (size_t)(base_len - off) : n;
    if (m) xor_bytes(dst, src, base + off, m);
    if (dst != src && n > m) memcpy(dst + m, src + m, n - m);
}

/* ---- reading input files ----------------------------------------------- */

/* An input file read by offset; its size is taken once, at open. */
typedef struct {
    int fd;            /* -1: no file (an absent base reads as empty) */
    uint64_t size;
    const char *path;  /* for messages (not owned) */
    const char *role;  /* "payload", "base file", "target" */
} in_file;

/* Open path as the input `role`.  A payload or target that is a symbolic
 * link is refused (O_NOFOLLOW: also when it became one after the directory
 * was listed): its bytes would be published or decoded into DST (issue #24
 * item 8).  A base file may be a link (HF cache snapshots are made of them). */
static int in_open(in_file *f, const char *path, const char *role, wk_err *err)
{
    f->fd = -1;
    f->size = 0;
    f->path = path;
    f->role = role;
    if (!path) return 0;
    struct stat st;
    int nofollow = strcmp(role, "base file") != 0;
    int fd = wk_input_open(path, nofollow ? WK_IN_NOFOLLOW : 0, &st, err);
    if (fd < 0) return wk_err_prefix(err, "%s", role);
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    return 0;
}

static void in_close(in_file *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

/* Read exactly n bytes at off (off + n <= f->size).  A short read means the
 * file shrank after it was opened: an error naming it and the offset. */
static int in_read(const in_file *f, uint64_t off, uint8_t *buf, size_t n, wk_err *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(f->fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return wk_err_errno(err, errno, "read %s %s at byte offset %llu", f->role, f->path,
                                (unsigned long long)(off + got));
        if (r == 0)
            return wk_err_set(err, WK_E_IO, "%s %s shrank while being read (truncated by another "
                              "program?): no data at byte offset %llu of %llu", f->role, f->path,
                              (unsigned long long)(off + got), (unsigned long long)f->size);
        got += (size_t)r;
    }
    return 0;
}

/* buf[0..n) ^= B(off..off+n) of base file f, zero beyond its end.  tmp holds
 * at least n bytes.  Read in XOR_PIECE pieces: the kernel's copy then lands
 * in cache-resident bytes of tmp that the XOR reads right away (a whole 1 MiB
 * slot plus its base bytes would not stay in a core's L2). */
static int xor_with_file(const in_file *f, uint64_t off, uint8_t *buf, size_t n, uint8_t *tmp,
                         wk_err *err)
{
    if (off >= f->size || n == 0) return 0;
    size_t m = f->size - off < n ? (size_t)(f->size - off) : n;
    for (size_t i = 0; i < m; i += XOR_PIECE) {
        size_t k = m - i < XOR_PIECE ? m - i : XOR_PIECE;
        WK_TRY(in_read(f, off + i, tmp, k, err));
        xor_bytes(buf + i, buf + i, tmp, k);
    }
    return 0;
}

/* ---- payload reader ----------------------------------------------------- */

/* One inflate call's outcome, whichever engine made it. */
typedef enum { STEP_OK, STEP_MEMBER_END, STEP_CORRUPT, STEP_NOMEM } step_status;

struct wk_payload {
    in_file file;       /* file source (fd -1 for memory) */
    uint8_t *wbuf;      /* file window buffer, WINDOW_BYTES */
    const uint8_t *win; /* bytes [win_off, win_off + win_len) of the payload */
    size_t win_len;
    uint64_t win_off;
    uint64_t in_len;    /* payload size */
    uint64_t in_pos;    /* next byte not yet handed to the inflater / copied */
    char *label;
    int gzip;
    int started;        /* a read happened (the engine is fixed from then on) */
    int use_isal;
    int z_live;         /* z is initialised */
    int done;           /* end of payload reached */
    unsigned members;
    uint64_t out_pos;   /* decoded bytes so far */
    size_t chunk;       /* max avail_in */
    const char *zmsg;   /* engine's message for the last STEP_CORRUPT */
    z_stream z;
#ifdef WK_HAVE_ISAL
    struct inflate_state *isal;
#endif
};

static int has_gzip_magic(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

const char *wk_inflate_engines(void)
{
#ifdef WK_HAVE_ISAL
    return "isa-l (default), zlib";
#else
    return "zlib";
#endif
}

/* Bytes available in the window from in_pos on. */
static size_t win_avail(const wk_payload *r)
{
    uint64_t end = r->win_off + r->win_len;
    return r->in_pos < end ? (size_t)(end - r->in_pos) : 0;
}

/* Make at least min(want, bytes left) bytes available from in_pos on,
 * refilling the window from the file when needed. */
static int win_need(wk_payload *r, size_t want, wk_err *err)
{
    uint64_t left = r->in_len - r->in_pos;
    if (want > left) want = (size_t)left;
    size_t have = win_avail(r);
    if (have >= want || r->file.fd < 0) return 0;
    if (have) memmove(r->wbuf, r->win + (r->in_pos - r->win_off), have);
    size_t add = WINDOW_BYTES - have;
    if (add > left - have) add = (size_t)(left - have);
    WK_TRY(in_read(&r->file, r->in_pos + have, r->wbuf + have, add, err));
    r->win = r->wbuf;
    r->win_off = r->in_pos;
    r->win_len = have + add;
    return 0;
}

/* Common part of both open functions: decide raw/gzip. */
static int payload_init(wk_payload *r, wk_payload_kind kind, wk_err *err)
{
    r->chunk = CHUNK_IN_DEFAULT;
#ifdef WK_HAVE_ISAL
    r->use_isal = 1; /* ISA-L by default when built in (AUTO); its headers are checked as zlib does */
#endif
    WK_TRY(win_need(r, 2, err));
    const uint8_t *p = r->win;
    size_t n = win_avail(r);
    int magic = has_gzip_magic(p, n);
    if (kind == WK_PAYLOAD_GZIP && !magic) {
        if (n >= 2)
            return wk_err_set(err, WK_E_FORMAT, "%s: not a gzip file (starts with %02x %02x, "
                              "not 1f 8b); decode it as a raw payload", r->label, p[0], p[1]);
        return wk_err_set(err, WK_E_FORMAT, "%s: not a gzip file (%zu bytes); decode it as a "
                          "raw payload", r->label, n);
    }
    r->gzip = kind == WK_PAYLOAD_RAW ? 0 : magic;
    return 0;
}

/* A reader with its label; NULL on OOM. */
static wk_payload *payload_new(const char *label, wk_err *err)
{
    wk_payload *r = calloc(1, sizeof *r);
    if (!r || !(r->label = strdup(label ? label : "payload"))) {
        free(r);
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    r->file.fd = -1;
    return r;
}

wk_payload *wk_payload_open_mem(const void *p, size_t n, const char *label,
                                wk_payload_kind kind, wk_err *err)
{
    wk_payload *r = payload_new(label, err);
    if (!r) return NULL;
    r->win = p;
    r->win_len = n;
    r->in_len = n;
    if (payload_init(r, kind, err)) {
        wk_payload_close(r);
        return NULL;
    }
    return r;
}

wk_payload *wk_payload_open(const char *path, wk_payload_kind kind, wk_err *err)
{
    wk_payload *r = payload_new(path, err);
    if (!r) return NULL;
    if (in_open(&r->file, r->label, "payload", err) ||
        !(r->wbuf = malloc(WINDOW_BYTES))) {
        if (r->file.fd >= 0) wk_err_set(err, WK_E_NOMEM, "%s: out of memory", path);
        wk_payload_close(r);
        return NULL;
    }
    r->win = r->wbuf;
    r->in_len = r->file.size;
    if (payload_init(r, kind, err)) {
        wk_payload_close(r);
        return NULL;
    }
    return r;
}

int wk_payload_set_engine(wk_payload *r, wk_inflate_engine e, wk_err *err)
{
    if (r->started) return wk_err_set(err, WK_E_USAGE, "%s: engine set after reading", r->label);
#ifdef WK_HAVE_ISAL
    r->use_isal = e != WK_INFLATE_ZLIB; /* AUTO: ISA-L when built in */
#else
    if (e == WK_INFLATE_ISAL)
        return wk_err_set(err, WK_E_UNSUPPORTED, "this weightkit was built without ISA-L "
                          "(libisal-dev); only zlib inflate is available");
#endif
    return 0;
}

void wk_payload_close(wk_payload *r)
{
    if (!r) return;
    if (r->z_live) inflateEnd(&r->z);
#ifdef WK_HAVE_ISAL
    free(r->isal);
#endif
    in_close(&r->file);
    free(r->wbuf);
    free(r->label);
    free(r);
}

int wk_payload_is_gzip(const wk_payload *r) { return r->gzip; }
unsigned wk_payload_members(const wk_payload *r) { return r->members; }
uint64_t wk_payload_in_size(const wk_payload *r) { return r->in_len; }
uint64_t wk_payload_in_pos(const wk_payload *r) { return r->in_pos; }

void wk_payload_set_chunk(wk_payload *r, size_t max_in)
{
    if (max_in == 0) max_in = 1;
    if (max_in > CHUNK_IN_DEFAULT) max_in = CHUNK_IN_DEFAULT;
    r->chunk = max_in;
}

#ifdef WK_HAVE_ISAL
/* The fixed part of the gzip member header at in_pos, checked as zlib does
 * before igzip sees it: igzip accepts reserved FLG bits (0xE0), which RFC 1952
 * says a reader must refuse.  A header cut short is left to the engine (it
 * reports the truncation). */
static int isal_check_header(wk_payload *r, wk_err *err)
{
    WK_TRY(win_need(r, 4, err));
    if (win_avail(r) < 4) return 0;
    const uint8_t *h = r->win + (r->in_pos - r->win_off);
    uint8_t cm = h[2], flg = h[3];
    const char *why = cm != 8 ? "unknown compression method"
                    : (flg & 0xE0) ? "unknown header flags set" : NULL;
    if (!why) return 0;
    return wk_err_set(err, WK_E_FORMAT, "%s: corrupt gzip data in member %u near byte offset "
                      "%llu: %s", r->label, r->members + 1, (unsigned long long)r->in_pos + 2 + (cm == 8), why);
}
#endif

/* Set up the engine for a new member (first, or after a reset). */
static int engine_start(wk_payload *r, wk_err *err)
{
#ifdef WK_HAVE_ISAL
    if (r->use_isal) {
        WK_TRY(isal_check_header(r, err));
        if (!r->isal && !(r->isal = malloc(sizeof *r->isal)))
            return wk_err_set(err, WK_E_NOMEM, "%s: out of memory for inflate", r->label);
        isal_inflate_init(r->isal);
        r->isal->crc_flag = ISAL_GZIP;
        return 0;
    }
#endif
    if (r->z_live) {
        if (inflateReset(&r->z) != Z_OK)
            return wk_err_set(err, WK_E_INTERNAL, "%s: inflateReset failed", r->label);
        return 0;
    }
    memset(&r->z, 0, sizeof r->z);
    if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK)
        return wk_err_set(err, WK_E_NOMEM, "%s: inflateInit2 failed", r->label);
    r->z_live = 1;
    return 0;
}

/* One inflate call over in[0..in_n) into out[0..out_n) (both < 4 GiB). */
static step_status engine_step(wk_payload *r, const uint8_t *in, uint32_t in_n, uint8_t *out,
                               uint32_t out_n, size_t *used, size_t *made)
{
#ifdef WK_HAVE_ISAL
    if (r->use_isal) {
        struct inflate_state *s = r->isal;
        s->next_in = (uint8_t *)in;
        s->avail_in = in_n;
        s->next_out = out;
        s->avail_out = out_n;
        int rc = isal_inflate(s);
        /* Measured by the pointers and clamped: after an error igzip can
         * "give back" buffered bits and leave avail_in above in_n (wrapped). */
        size_t u = (size_t)(s->next_in - in), m = (size_t)(s->next_out - out);
        *used = s->next_in < in ? 0 : u > in_n ? in_n : u;
        *made = s->next_out < out ? 0 : m > out_n ? out_n : m;
        if (rc < 0) {
            r->zmsg = rc == ISAL_INCORRECT_CHECKSUM ? "incorrect data check or length"
                    : rc == ISAL_INVALID_WRAPPER ? "invalid gzip header"
                    : rc == ISAL_UNSUPPORTED_METHOD ? "unknown compression method"
                    : "invalid deflate data";
            return STEP_CORRUPT;
        }
        return s->block_state == ISAL_BLOCK_FINISH ? STEP_MEMBER_END : STEP_OK;
    }
#endif
    r->z.next_in = (Bytef *)in;
    r->z.avail_in = in_n;
    r->z.next_out = out;
    r->z.avail_out = out_n;
    int zr = inflate(&r->z, Z_NO_FLUSH);
    *used = in_n - r->z.avail_in;
    *made = out_n - r->z.avail_out;
    if (zr == Z_STREAM_END) return STEP_MEMBER_END;
    if (zr == Z_MEM_ERROR) return STEP_NOMEM;
    if (zr == Z_OK || zr == Z_BUF_ERROR) return STEP_OK;
    r->zmsg = r->z.msg ? r->z.msg : "invalid deflate data";
    return STEP_CORRUPT;
}

/* After a member ended: accept zero padding, start the next member, or fail
 * on anything else.  Sets r->done at the end of input. */
static int next_member(wk_payload *r, wk_err *err)
{
    r->members++;
    uint64_t end = r->in_pos;
    for (;;) {
        WK_TRY(win_need(r, 1, err));
        if (r->in_pos == r->in_len || r->win[r->in_pos - r->win_off] != 0) break;
        r->in_pos++;
    }
    if (r->in_pos == r->in_len) {
        r->done = 1;
        return 0;
    }
    WK_TRY(win_need(r, 2, err));
    if (r->in_pos != end || !has_gzip_magic(r->win + (r->in_pos - r->win_off), win_avail(r)))
        return wk_err_set(err, WK_E_FORMAT, "%s: trailing data at byte offset %llu after gzip "
                          "member %u (not another gzip member)", r->label,
                          (unsigned long long)r->in_pos, r->members);
    return engine_start(r, err);
}

/* Inflate into buf[0..cap) until it is full, the payload ends, or an error. */
static int read_gzip(wk_payload *r, uint8_t *buf, size_t cap, size_t *got, wk_err *err)
{
    size_t have = 0;
    if (!r->started) {
        r->started = 1;
        WK_TRY(engine_start(r, err));
    }
    while (have < cap && !r->done) {
        WK_TRY(win_need(r, WINDOW_REFILL, err));
        size_t in_left = win_avail(r), out_left = cap - have, used, made;
        step_status st = engine_step(r, r->win + (r->in_pos - r->win_off),
                                     (uint32_t)(in_left < r->chunk ? in_left : r->chunk),
                                     buf + have,
                                     (uint32_t)(out_left < CHUNK_IN_DEFAULT ? out_left
                                                                            : CHUNK_IN_DEFAULT),
                                     &used, &made);
        r->in_pos += used;
        have += made;
        r->out_pos += made;
        if (st == STEP_MEMBER_END) {
            WK_TRY(next_member(r, err));
            continue;
        }
        if (st == STEP_CORRUPT)
            return wk_err_set(err, WK_E_FORMAT, "%s: corrupt gzip data in member %u near byte "
                              "offset %llu: %s", r->label, r->members + 1,
                              (unsigned long long)r->in_pos, r->zmsg);
        if (st == STEP_NOMEM)
            return wk_err_set(err, WK_E_NOMEM, "%s: out of memory inflating", r->label);
        if (used == 0 && made == 0 && r->in_pos == r->in_len)
            return wk_err_set(err, WK_E_FORMAT, "%s: truncated gzip stream: input ends at byte "
                              "offset %llu inside member %u (%llu bytes decoded)", r->label,
                              (unsigned long long)r->in_pos, r->members + 1,
                              (unsigned long long)r->out_pos);
    }
    *got = have;
    return 0;
}

/* Raw payload: the window's bytes first, then straight from the file. */
static int read_raw(wk_payload *r, uint8_t *buf, size_t cap, size_t *got, wk_err *err)
{
    uint64_t left = r->in_len - r->in_pos;
    size_t n = left < cap ? (size_t)left : cap;
    size_t w = win_avail(r) < n ? win_avail(r) : n;
    if (w) memcpy(buf, r->win + (r->in_pos - r->win_off), w);
    if (n > w) WK_TRY(in_read(&r->file, r->in_pos + w, buf + w, n - w, err));
    r->in_pos += n;
    r->out_pos += n;
    *got = n;
    return 0;
}

int wk_payload_read(wk_payload *r, uint8_t *buf, size_t cap, size_t *got, wk_err *err)
{
    *got = 0;
    if (r->gzip) return read_gzip(r, buf, cap, got, err);
    r->started = 1;
    return read_raw(r, buf, cap, got, err);
}

/* ---- deterministic parallel gzip writer -------------------------------- */

typedef struct {
    uint8_t *in;     /* dictionary + block input */
    size_t in_len, in_want;
    wk_sink in_sink; /* the fill writes into in[in_len..in_want) through this */
    uint8_t *out;
    size_t out_cap, out_len;
    uint32_t crc;
    int failed;      /* 1 OOM, 2 deflate error, 3 fill error (in err) */
    wk_err err;
} gz_block;

/* The block's input sink: append to in, never past the bytes asked for. */
static int gz_in_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    gz_block *b = ctx;
    WK_FAIL_IF(n > b->in_want - b->in_len, err, WK_E_INTERNAL,
               "gzip writer: the fill gave more than the %zu bytes asked for", b->in_want);
    memcpy(b->in + b->in_len, p, n);
    b->in_len += n;
    return 0;
}

/* Have fill write input bytes [off, off+n) into b->in; 0, or -1 with b->err. */
static int gz_fill_block(gz_block *b, uint64_t off, size_t n, wk_gz_fill_fn fill, void *fill_ctx)
{
    b->in_len = 0;
    b->in_want = n;
    wk_sink_init(&b->in_sink, gz_in_write, b);
    WK_TRY(fill(fill_ctx, off, n, &b->in_sink, &b->err));
    WK_FAIL_IF(b->in_len != n, &b->err, WK_E_INTERNAL,
               "gzip writer: the fill gave %zu of the %zu bytes asked for", b->in_len, n);
    return 0;
}

/* Compress block [off, off+n) (last = final block) into b->out. */
static void gz_compress_block(gz_block *b, uint64_t off, size_t n, int last, int level,
                              wk_gz_fill_fn fill, void *fill_ctx)
{
    size_t dict = off < WK_GZ_DICT ? (size_t)off : WK_GZ_DICT;
    b->failed = 0;
    b->out_len = 0;
    if (gz_fill_block(b, off - dict, dict + n, fill, fill_ctx)) {
        b->failed = 3;
        return;
    }
    b->crc = (uint32_t)crc32(0L, b->in + dict, (uInt)n);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        b->failed = 1;
        return;
    }
    if (dict && deflateSetDictionary(&z, b->in, (uInt)dict) != Z_OK) b->failed = 2;
    z.next_in = b->in + dict;
    z.avail_in = (uInt)n;
    int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
    while (!b->failed) {
        z.next_out = b->out + b->out_len;
        z.avail_out = (uInt)(b->out_cap - b->out_len);
        int zr = deflate(&z, flush);
        b->out_len = b->out_cap - z.avail_out;
        if (zr == Z_STREAM_END || (flush == Z_SYNC_FLUSH && z.avail_in == 0 && z.avail_out > 0))
            break;
        if (zr != Z_OK && zr != Z_BUF_ERROR) { b->failed = 2; break; }
        if (z.avail_out == 0) {
            uint8_t *p = realloc(b->out, b->out_cap * 2);
            if (!p) { b->failed = 1; break; }
            b->out = p;
            b->out_cap *= 2;
        }
    }
    deflateEnd(&z);
}

static void gz_blocks_free(gz_block *b, int n)
{
    for (int i = 0; b && i < n; i++) {
        free(b[i].in);
        free(b[i].out);
    }
    free(b);
}

static gz_block *gz_blocks_new(int n)
{
    gz_block *b = calloc((size_t)n, sizeof *b);
    if (!b) return NULL;
    size_t cap = compressBound(WK_GZ_BLOCK) + 64;
    for (int i = 0; i < n; i++) {
        b[i].in = malloc(WK_GZ_DICT + WK_GZ_BLOCK);
        b[i].out = malloc(cap);
        b[i].out_cap = cap;
        if (!b[i].in || !b[i].out) {
            gz_blocks_free(b, n);
            return NULL;
        }
    }
    return b;
}

/* The fixed 10-byte member header: no name, mtime 0, OS 255 (unknown).
 * Errors stay in the sink's sticky error (checked once, at the end). */
static void gz_write_header(wk_sink *out, int level)
{
    uint8_t h[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
    h[8] = level == 9 ? 2 : level == 1 ? 4 : 0;
    wk_sink_write(out, h, sizeof h, NULL);
}

static void gz_trailer(wk_sink *out, uint32_t crc, uint64_t n)
{
    uint8_t t[8];
    for (int i = 0; i < 4; i++) {
        t[i] = (uint8_t)(crc >> (8 * i));
        t[4 + i] = (uint8_t)(n >> (8 * i));
    }
    wk_sink_write(out, t, sizeof t, NULL);
}

int wk_gz_write(wk_sink *out, const char *label, uint64_t n, wk_gz_fill_fn fill, void *fill_ctx,
                const wk_gz_opts *opts, wk_err *err)
{
    int level = opts && opts->level ? opts->level : 6;
    if (level < 1 || level > 9) return wk_err_set(err, WK_E_USAGE, "gzip level %d not in 1..9", level);
    int nth = opts && opts->threads > 0 ? opts->threads : wk_threads_ncores();
    uint64_t nblocks = n ? (n + WK_GZ_BLOCK - 1) / WK_GZ_BLOCK : 1;
    int batch = nth * 2;
    if ((uint64_t)batch > nblocks) batch = (int)nblocks;
    gz_block *b = gz_blocks_new(batch);
    if (!b) return wk_err_set(err, WK_E_NOMEM, "%s: out of memory for gzip blocks", label);
    gz_write_header(out, level);
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    int rc = wk_sink_status(out, err);
    for (uint64_t first = 0; first < nblocks && rc == 0; first += (uint64_t)batch) {
        int k = nblocks - first < (uint64_t)batch ? (int)(nblocks - first) : batch;
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) num_threads(nth) if (k > 1)
#endif
        for (int i = 0; i < k; i++) {
            uint64_t bi = first + (uint64_t)i, off = bi * WK_GZ_BLOCK;
            size_t len = n - off < WK_GZ_BLOCK ? (size_t)(n - off) : WK_GZ_BLOCK;
            gz_compress_block(&b[i], off, len, bi + 1 == nblocks, level, fill, fill_ctx);
        }
        for (int i = 0; i < k && rc == 0; i++) {
            uint64_t off = (first + (uint64_t)i) * WK_GZ_BLOCK;
            size_t len = n - off < WK_GZ_BLOCK ? (size_t)(n - off) : WK_GZ_BLOCK;
            if (b[i].failed == 3)
                rc = (*err = b[i].err, -1);
            else if (b[i].failed)
                rc = wk_err_set(err, b[i].failed == 1 ? WK_E_NOMEM : WK_E_INTERNAL,
                                "%s: deflate failed on the block at byte %llu",
                                label, (unsigned long long)off);
            else
                rc = wk_sink_write(out, b[i].out, b[i].out_len, err);
            crc = (uint32_t)crc32_combine(crc, b[i].crc, (z_off_t)len);
            if (rc == 0 && opts && opts->block_done) rc = opts->block_done(opts->ctx, off, len, err);
        }
    }
    gz_blocks_free(b, batch);
    WK_TRY(rc);
    gz_trailer(out, crc, n);
    return wk_sink_status(out, err);
}

/* ---- decode one file ---------------------------------------------------- */

/* What the decode loop needs besides the payload reader. */
typedef struct {
    const in_file *base;
    wk_xorbase *bseq;       /* or: a sequential base (read in step with the output) */
    uint8_t *tmp;           /* SLOT_BYTES of scratch for base bytes */
    wk_sink *out;           /* the output file (hashing tee, tap) */
    wk_progress_fn progress;
    void *progress_ctx;
    const wk_xor_shadow *shadow; /* with bseq: may be NULL */
    const wk_hash *h;       /* the output's hash (for the shadow) */
} decode_ctx;

/* Fill buf with the next decoded (not yet XOR'd) bytes; *got 0 at the end. */
static int decode_inflate(wk_payload *pl, const decode_ctx *d, uint8_t *buf, size_t *got,
                          wk_err *err)
{
    WK_TRY(wk_payload_read(pl, buf, SLOT_BYTES, got, err));
    if (d->progress) d->progress(d->progress_ctx, wk_payload_in_pos(pl), wk_payload_in_size(pl));
    return 0;
}

/* buf[0..n) ^= the base's bytes at output offset pos (in order: a sequential
 * base yields bytes [pos, pos+n) next). */
static int decode_xor(const decode_ctx *d, uint8_t *buf, uint64_t pos, size_t n, wk_err *err)
{
    if (d->bseq) {
        size_t m = 0;
        WK_TRY(wk_xorbase_read(d->bseq, d->tmp, n, &m, err));
        if (d->shadow) WK_TRY(d->shadow->chunk(d->shadow->ctx, buf, d->tmp, m, n, pos, d->h, err));
        xor_bytes(buf, buf, d->tmp, m);
        return 0;
    }
    return xor_with_file(d->base, pos, buf, n, d->tmp, err);
}

static int decode_serial(wk_payload *pl, const decode_ctx *d, wk_err *err)
{
    uint8_t *buf = malloc(SLOT_BYTES);
    if (!buf) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    uint64_t pos = 0;
    int rc = 0;
    for (;;) {
        size_t got;
        rc = decode_inflate(pl, d, buf, &got, err);
        if (rc || got == 0) break;
        rc = decode_xor(d, buf, pos, got, err);
        if (rc) break;
        pos += got;
        rc = wk_sink_write(d->out, buf, got, err);
        if (rc) break;
    }
    free(buf);
    return rc;
}

/* Two-stage pipeline: the caller inflates into a ring of slots; a writer
 * thread XORs each slot with the base (pread, or the sequential base), hashes
 * it (the output sink's tee) and writes it, in order.  Inflate is the larger
 * stage (about 2/3 of the CPU with ISA-L), so everything else is on the
 * writer's side. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *slot[NSLOTS];
    size_t len[NSLOTS];
    uint64_t head, tail;  /* slots filled / slots written */
    int eof;              /* producer is done (or failed) */
    int wfail;            /* writer failed: werr holds why */
    const decode_ctx *d;
    wk_err werr;
} ring;

static void *ring_writer(void *arg)
{
    ring *g = arg;
    uint64_t pos = 0;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (g->tail == g->head && !g->eof) pthread_cond_wait(&g->cv, &g->mu);
        if (g->tail == g->head) {
            pthread_mutex_unlock(&g->mu);
            return NULL;
        }
        size_t i = (size_t)(g->tail % NSLOTS), n = g->len[i];
        pthread_mutex_unlock(&g->mu);
        int rc = decode_xor(g->d, g->slot[i], pos, n, &g->werr);
        if (rc == 0) rc = wk_sink_write(g->d->out, g->slot[i], n, &g->werr);
        pos += n;
        pthread_mutex_lock(&g->mu);
        if (rc) g->wfail = 1;
        else g->tail++;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (rc) return NULL;
    }
}

/* Producer side: returns -1 with err on its own failure; a writer failure
 * stops it early and is left in g->werr for the caller. */
static int ring_produce(ring *g, wk_payload *pl, const decode_ctx *d, wk_err *err)
{
    int rc = 0;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (g->head - g->tail == NSLOTS && !g->wfail) pthread_cond_wait(&g->cv, &g->mu);
        int wfail = g->wfail;
        pthread_mutex_unlock(&g->mu);
        if (wfail) break;
        size_t i = (size_t)(g->head % NSLOTS), got = 0;
        rc = decode_inflate(pl, d, g->slot[i], &got, err);
        pthread_mutex_lock(&g->mu);
        if (rc == 0 && got) {
            g->len[i] = got;
            g->head++;
        }
        if (rc || got == 0) g->eof = 1;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (rc || got == 0) break;
    }
    pthread_mutex_lock(&g->mu);
    g->eof = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return rc;
}

static int decode_pipelined(wk_payload *pl, const decode_ctx *d, wk_err *err)
{
    ring g;
    memset(&g, 0, sizeof g);
    g.d = d;
    for (int i = 0; i < NSLOTS; i++) {
        g.slot[i] = malloc(SLOT_BYTES);
        if (!g.slot[i]) {
            for (int k = 0; k < i; k++) free(g.slot[k]);
            return decode_serial(pl, d, err);
        }
    }
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    pthread_t th;
    int rc;
    if (pthread_create(&th, NULL, ring_writer, &g) != 0) {
        rc = decode_serial(pl, d, err);
    } else {
        rc = ring_produce(&g, pl, d, err);
        pthread_join(th, NULL);
        if (rc == 0 && g.wfail) {
            *err = g.werr;
            rc = -1;
        }
    }
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
    for (int i = 0; i < NSLOTS; i++) free(g.slot[i]);
    return rc;
}

/* The decoded output: the file, then the tap (if any); at most max bytes. */
typedef struct {
    wk_out *o;
    wk_sink *tap;
    uint64_t max;
    const char *payload;
    int default_max;
} out_tap;

static int out_tap_write(void *ctx, const void *p, size_t n, wk_err *err)
{
    out_tap *t = ctx;
    if (n > t->max - wk_out_tell(t->o))
        return wk_err_set(err, WK_E_LIMIT, "payload %s decodes to more than %llu bytes (%s); a gzip "
                          "bomb, or not a payload for this base? (--max-output SIZE raises the limit)",
                          t->payload, (unsigned long long)t->max,
                          t->default_max ? "the limit: 2 x the base file + 64 MiB" : "--max-output");
    WK_TRY(wk_out_write(t->o, p, n, err)); /* wk_out starts the disk writing every 8 MiB */
    return t->tap ? wk_sink_write(t->tap, p, n, err) : 0;
}

/* Commit *o (consumed) and record it. */
static int decode_commit(wk_out **o, wk_xor_result *res, wk_err *err)
{
    wk_out *t = *o;
    *o = NULL;
    WK_TRY(wk_out_commit(t, err));
    res->committed = 1;
    return 0;
}

/* The judge's verdict on the complete temporary (before any rename): 0 commit;
 * -1 failed (err set), committed anyway when the judge asked to keep it. */
static int decode_judge(const wk_xor_judge *j, wk_out **o, wk_xor_result *res, wk_err *err)
{
    int keep = 0;
    WK_TRY(wk_out_flush(*o, err));
    if (j->fn(j->ctx, wk_out_temp_path(*o), res, &keep, err) == 0) return decode_commit(o, res, err);
    wk_err ce;
    if (keep && decode_commit(o, res, &ce)) *err = ce;
    return -1;
}

/* Compare the digest, let the judge look at the temporary, then commit or
 * leave *o to the caller's abort.  Nothing is renamed over a->out before
 * every check passed. */
static int decode_finish(const wk_xor_decode_args *a, const wk_xor_judge *j,
                         const wk_xor_shadow *shadow, wk_out **o, wk_hash *h, wk_xor_result *res,
                         wk_err *err)
{
    uint8_t d[WK_HASH_MAX_DIGEST];
    res->out_bytes = wk_out_tell(*o);
    if (wk_hash_digest(h, d, err)) return -1;
    if (shadow && shadow->finish && shadow->finish(shadow->ctx, *o, d, err)) return -1;
    memcpy(res->sha256, d, WK_MANIFEST_DIGEST);
    res->verified = a->expect ? memcmp(d, a->expect, WK_MANIFEST_DIGEST) == 0 : -1;
    if (res->verified != 0 && j && j->fn) return decode_judge(j, o, res, err);
    if (res->verified != 0 || a->keep_bad) WK_TRY(decode_commit(o, res, err));
    if (res->verified != 0) return 0;
    char want[65], got[65];
    wk_hex(a->expect, WK_MANIFEST_DIGEST, want);
    wk_hex(res->sha256, WK_MANIFEST_DIGEST, got);
    return wk_err_set(err, WK_E_MISMATCH, "%s: SHA-256 mismatch: expected %s, got %s (%s)",
                      a->out, want, got, a->keep_bad ? "kept because of --keep-bad"
                                                     : "output removed; an earlier file of that "
                                                       "name is left as it was");
}

/* Fail (WK_E_IO) if the file system of out has less than need bytes free. */
static int check_space(const char *out, uint64_t need, wk_err *err)
{
    char *dir = strdup(out);
    WK_FAIL_IF(!dir, err, WK_E_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    struct statvfs vf;
    int rc = 0;
    if (statvfs(dir, &vf) == 0 && (uint64_t)vf.f_bavail * vf.f_frsize < need)
        rc = wk_err_set(err, WK_E_IO, "%s: not enough free space in %s for it (%llu bytes needed, "
                        "%llu available)", out, dir, (unsigned long long)need,
                        (unsigned long long)((uint64_t)vf.f_bavail * vf.f_frsize));
    free(dir);
    return rc;
}

int wk_xor_decode_file(const wk_xor_decode_args *a, wk_xor_result *res, wk_err *err)
{
    return wk_xor_decode_file_tap(a, NULL, res, err);
}

int wk_xor_decode_file_tap(const wk_xor_decode_args *a, wk_sink *tap, wk_xor_result *res,
                           wk_err *err)
{
    return wk_xor_decode_file_judged(a, tap, NULL, res, err);
}

int wk_xor_decode_file_judged(const wk_xor_decode_args *a, wk_sink *tap, const wk_xor_judge *judge,
                              wk_xor_result *res, wk_err *err)
{
    return wk_xor_decode_file_shadowed(a, tap, judge, NULL, res, err);
}

int wk_xor_decode_file_shadowed(const wk_xor_decode_args *a, wk_sink *tap,
                                const wk_xor_judge *judge, const wk_xor_shadow *shadow,
                                wk_xor_result *res, wk_err *err)
{
    memset(res, 0, sizeof *res);
    res->verified = -1;
    in_file base;
    wk_payload *pl = NULL;
    wk_out *o = NULL;
    wk_hash *h = NULL;
    uint8_t *tmp = NULL;
    wk_xorbase *bseq = NULL;
    wk_inputs *ins = NULL;
    int rc = -1;
    if (in_open(&base, a->base_fn ? NULL : a->base, "base file", err)) return -1;
    res->base_bytes = base.size;
    if (!(pl = wk_payload_open(a->payload, a->kind, err))) goto out;
    if (wk_payload_set_engine(pl, a->engine, err)) goto out;
    res->in_bytes = wk_payload_in_size(pl);
    res->gzip = wk_payload_is_gzip(pl);
    if (!(tmp = malloc(SLOT_BYTES))) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        goto out;
    }
    uint64_t max = a->max_output ? a->max_output
                 : WK_XOR_MAX_OUTPUT_DEFAULT(a->base_fn ? a->base_size : base.size);
    /* a raw payload's output is exactly its size: refuse what cannot fit, before writing */
    if (!res->gzip && check_space(a->out, res->in_bytes, err)) goto out;
    if (!(ins = wk_inputs_new(err)) || wk_inputs_add(ins, a->payload, err) ||
        (!a->base_fn && a->base && wk_inputs_add(ins, a->base, err)))
        goto out;
    for (size_t i = 0; i < wk_inputs_count(a->base_inputs); i++)
        if (wk_inputs_add(ins, wk_inputs_path(a->base_inputs, i), err)) goto out;
    if (!(o = wk_out_open(a->out, ins, err))) goto out;
    if (!(h = wk_hash_create(WK_HASH_SHA256, err))) goto out;
    out_tap ot = {o, tap, max, a->payload, a->max_output == 0};
    wk_sink os;
    wk_sink_init(&os, out_tap_write, &ot);
    wk_sink_tee(&os, h);
    if (a->base_fn && !(bseq = wk_xorbase_start(a->base_fn, a->base_ctx, a->base_label, err)))
        goto out;
    if (!a->base_fn) shadow = NULL;
    decode_ctx d = {&base, bseq, tmp, &os, a->progress, a->progress_ctx, shadow, h};
    int drc = a->pipeline ? decode_pipelined(pl, &d, err) : decode_serial(pl, &d, err);
    res->members = wk_payload_members(pl);
    if (bseq) res->base_bytes = wk_xorbase_pos(bseq);
    WK_TRY_GOTO(drc, out);
    /* the bytes read may mix two versions (a download still running, a
     * truncation): say so before the digest check can call them corrupt */
    WK_TRY_GOTO(wk_inputs_unchanged(ins, err), out);
    rc = decode_finish(a, judge, shadow, &o, h, res, err);
out:
    wk_xorbase_close(bseq);
    wk_out_abort(o);
    wk_inputs_free(ins);
    wk_hash_free(h);
    wk_payload_close(pl);
    free(tmp);
    in_close(&base);
    return rc;
}

/* ---- encode one file ---------------------------------------------------- */

typedef struct {
    in_file target, base;
    wk_hash *h;
    uint8_t *hbuf;          /* SLOT_BYTES, for hashing the target in order */
    wk_progress_fn progress;
    void *progress_ctx;
} encode_ctx;

/* Write payload bytes [off, off+n) (target XOR base) into sink, in 16 KiB
 * pieces.  Thread-safe (pread only; each caller its own sink). */
static int encode_fill(void *ctx, uint64_t off, size_t n, wk_sink *sink, wk_err *err)
{
    const encode_ctx *e = ctx;
    uint8_t buf[16384], tmp[16384];
    for (size_t k = 0; k < n; k += sizeof buf) {
        size_t m = n - k < sizeof buf ? n - k : sizeof buf;
        WK_TRY(in_read(&e->target, off + k, buf, m, err));
        WK_TRY(xor_with_file(&e->base, off + k, buf, m, tmp, err));
        WK_TRY(wk_sink_write(sink, buf, m, err));
    }
    return 0;
}

/* After each block, in order: hash the target's bytes and report progress. */
static int encode_block_done(void *ctx, uint64_t off, size_t n, wk_err *err)
{
    encode_ctx *e = ctx;
    for (size_t k = 0; k < n; k += SLOT_BYTES) {
        size_t m = n - k < SLOT_BYTES ? n - k : SLOT_BYTES;
        WK_TRY(in_read(&e->target, off + k, e->hbuf, m, err));
        WK_TRY(wk_hash_update(e->h, e->hbuf, m, err));
    }
    if (e->progress) e->progress(e->progress_ctx, off + n, e->target.size);
    return 0;
}

static int encode_raw(wk_sink *out, encode_ctx *e, wk_err *err)
{
    for (uint64_t off = 0; off < e->target.size; off += SLOT_BYTES) {
        size_t n = e->target.size - off < SLOT_BYTES ? (size_t)(e->target.size - off) : SLOT_BYTES;
        WK_TRY(encode_fill(e, off, n, out, err));
        WK_TRY(encode_block_done(e, off, n, err));
    }
    return 0;
}

int wk_xor_encode_file(const wk_xor_encode_args *a, wk_xor_result *res, wk_err *err)
{
    memset(res, 0, sizeof *res);
    res->verified = -1;
    encode_ctx e = {.progress = a->progress, .progress_ctx = a->progress_ctx};
    e.base.fd = -1;
    wk_out *o = NULL;
    wk_inputs *ins = NULL;
    int rc = -1;
    if (in_open(&e.target, a->target, "target", err)) return -1;
    if (in_open(&e.base, a->base, "base file", err)) goto out;
    res->in_bytes = e.target.size;
    res->base_bytes = e.base.size;
    if (!(e.hbuf = malloc(SLOT_BYTES))) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        goto out;
    }
    if (!(ins = wk_inputs_new(err)) || wk_inputs_add(ins, a->target, err) ||
        (a->base && wk_inputs_add(ins, a->base, err)))
        goto out;
    if (!(o = wk_out_open(a->out, ins, err))) goto out;
    if (!(e.h = wk_hash_create(WK_HASH_SHA256, err))) goto out;
    res->gzip = a->gzip && a->base;
    wk_sink os;
    wk_sink_out(&os, o);
    wk_gz_opts g = {a->level, a->threads, encode_block_done, &e};
    WK_TRY_GOTO(res->gzip ? wk_gz_write(&os, a->out, e.target.size, encode_fill, &e, &g, err)
                          : encode_raw(&os, &e, err), out);
    uint8_t d[WK_HASH_MAX_DIGEST];
    WK_TRY_GOTO(wk_inputs_unchanged(ins, err), out);
    WK_TRY_GOTO(wk_hash_digest(e.h, d, err), out);
    memcpy(res->sha256, d, WK_MANIFEST_DIGEST);
    res->out_bytes = wk_out_tell(o);
    rc = wk_out_commit(o, err);
    o = NULL;
    res->committed = rc == 0;
out:
    wk_out_abort(o);
    wk_inputs_free(ins);
    wk_hash_free(e.h);
    free(e.hbuf);
    in_close(&e.base);
    in_close(&e.target);
    return rc;
}

/* ---- directories: listing, planning, manifests -------------------------- */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Documentation that XOR releases ship next to the payloads, never XOR'd. */
static int is_doc(const char *name)
{
    size_t n = strlen(name);
    return (n >= 3 && strcasecmp(name + n - 3, ".md") == 0) || strncasecmp(name, "LICENSE", 7) == 0;
}

static int is_aux(const char *name)
{
    return strcmp(name, "added_tokens.json") == 0 || strcmp(name, "special_tokens_map.json") == 0;
}

void wk_xor_free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

/* Kinds of directory entries, for listing and planning: ENT_SPECIAL is a FIFO,
 * device or socket, never read (it could block forever or never end) and never
 * skipped silently: its item fails, naming the type; ENT_LINK is a symbolic
 * link, never followed (its target's bytes would end up in the output). */
typedef enum { ENT_FILE, ENT_DOC, ENT_OTHER, ENT_SPECIAL, ENT_LINK } ent_kind;

/* The kind of dir/name, symbolic links not followed (a hidden entry never
 * gets here). */
static ent_kind entry_kind(const char *dir, const char *name)
{
    char *p = wk_path_join(dir, name);
    struct stat st;
    int ok = p && lstat(p, &st) == 0;
    free(p);
    if (!ok || S_ISDIR(st.st_mode)) return ENT_OTHER;
    if (S_ISLNK(st.st_mode)) return ENT_LINK;
    if (!S_ISREG(st.st_mode)) return ENT_SPECIAL;
    return is_doc(name) ? ENT_DOC : ENT_FILE;
}

/* Fail item it, whose source is a link or a special file (kind k), loudly. */
static void refuse_entry(wk_xor_item *it, ent_kind k)
{
    struct stat st;
    it->action = WK_XOR_DO_XOR;
    it->status = -1;
    if (k == ENT_SPECIAL) {   /* issue #24 items 14, 18 */
        wk_err_set(&it->err, WK_E_IO, "%s: is %s, not a regular file: refused (a payload or model "
                   "file must be a regular file; remove it from the directory)", it->src,
                   lstat(it->src, &st) == 0 ? wk_file_type_name(st.st_mode) : "of unknown type");
        return;
    }
    char to[256];
    ssize_t tn = readlink(it->src, to, sizeof to - 1);
    to[tn > 0 ? tn : 0] = '\0';
    wk_err_set(&it->err, WK_E_UNSAFE, "%s is a symbolic link (to %s); payload and fine-tuned "
               "files must be regular files: links are not followed, nothing was read or "
               "written for it (copy the file itself into the directory if you trust it, "
               "e.g. download with --local-dir or cp -L)", it->src, tn > 0 ? to : "?");
}

/* Visible entries of dir with their kinds; names sorted. */
static int scan_dir(const char *dir, char ***names, ent_kind **kinds, size_t *n, wk_err *err)
{
    *names = NULL;
    *kinds = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return wk_err_errno(err, errno, "open directory %s", dir);
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            char **v = realloc(*names, cap * sizeof *v);
            if (!v) { rc = wk_err_set(err, WK_E_NOMEM, "out of memory"); break; }
            *names = v;
        }
        if (!((*names)[*n] = strdup(de->d_name))) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
        else (*n)++;
    }
    closedir(d);
    if (rc == 0 && *n) {
        qsort(*names, *n, sizeof **names, cmp_str_ptr);
        if (!(*kinds = malloc(*n * sizeof **kinds))) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < *n; i++) (*kinds)[i] = entry_kind(dir, (*names)[i]);
    if (rc) {
        wk_xor_free_names(*names, *n);
        free(*kinds);
        *names = NULL;
        *kinds = NULL;
        *n = 0;
    }
    return rc;
}

int wk_xor_list_dir(const char *dir, char ***names, size_t *n, wk_err *err)
{
    ent_kind *kinds;
    char **all;
    size_t nall;
    WK_TRY(scan_dir(dir, &all, &kinds, &nall, err));
    size_t k = 0;
    for (size_t i = 0; i < nall; i++) {
        char *p = kinds[i] == ENT_LINK && !is_doc(all[i]) ? wk_path_join(dir, all[i]) : NULL;
        struct stat st;
        int link_to_file = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
        free(p);
        if (kinds[i] == ENT_FILE || link_to_file) all[k++] = all[i];
        else free(all[i]);
    }
    free(kinds);
    *names = all;
    *n = k;
    return 0;
}

void wk_xor_plan_free(wk_xor_plan *p)
{
    for (size_t i = 0; p->items && i < p->n; i++) {
        free(p->items[i].name);
        free(p->items[i].src);
        free(p->items[i].base);
        free(p->items[i].out);
    }
    free(p->items);
    memset(p, 0, sizeof *p);
}

/* Decide what to do with src_dir/<name> (kind k) and fill it. */
static int plan_item(wk_xor_item *it, const char *dst, const char *src_dir, const char *base_dir,
                     const char *name, ent_kind k, wk_err *err)
{
    memset(it, 0, sizeof *it);
    it->name = strdup(name);
    it->src = wk_path_join(src_dir, name);
    it->out = wk_path_join(dst, name);
    char *base = wk_path_join(base_dir, name);
    if (!it->name || !it->src || !it->out || !base) {
        free(base);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    struct stat st;
    if (lstat(it->src, &st) == 0 && S_ISREG(st.st_mode)) it->src_bytes = (uint64_t)st.st_size;
    if (k == ENT_SPECIAL || k == ENT_LINK) {
        refuse_entry(it, k);
        free(base);
        return 0;
    }
    if (k != ENT_FILE) {
        it->action = WK_XOR_DO_SKIP;
        free(base);
        return 0;
    }
    it->action = WK_XOR_DO_XOR;
    if (stat(base, &st) == 0 && S_ISREG(st.st_mode)) {
        it->base = base;
        return 0;
    }
    int e = errno;
    if (e == ENOENT && strcmp(name, "added_tokens.json") == 0) {
        it->action = WK_XOR_DO_COPY;
    } else if (e == ENOENT) {
        it->status = -1;
        it->base_missing = 1;
        wk_err_set(&it->err, WK_E_IO, "base file missing: %s (needed for %s); is the base "
                   "directory the right model, converted to the same file layout?", base, it->src);
    } else {
        it->status = -1;
        if (stat(base, &st) == 0) wk_err_set(&it->err, WK_E_IO, "base %s is not a regular file", base);
        else wk_err_errno(&it->err, e, "base file %s", base);
    }
    free(base);
    return 0;
}

int wk_xor_plan_make(wk_xor_plan *p, const char *dst, const char *src_dir,
                     const char *base_dir, int encode, wk_err *err)
{
    memset(p, 0, sizeof *p);
    p->encode = encode;
    char **names;
    ent_kind *kinds;
    size_t n;
    WK_TRY(scan_dir(src_dir, &names, &kinds, &n, err));
    int rc = 0;
    if (n && !(p->items = calloc(n, sizeof *p->items))) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = plan_item(&p->items[i], dst, src_dir, base_dir, names[i], kinds[i], err);
        p->n = i + 1;
    }
    wk_xor_free_names(names, n);
    free(kinds);
    if (rc) wk_xor_plan_free(p);
    return rc;
}

static int cmp_item_name(const void *key, const void *item)
{
    return strcmp((const char *)key, ((const wk_xor_item *)item)->name);
}

/* Fill *it for manifest entry e, which names no file of the source directory. */
static int plan_missing_item(wk_xor_item *it, const wk_manifest *m, const wk_manifest_entry *e, wk_err *err)
{
    memset(it, 0, sizeof *it);
    if (!(it->name = strdup(e->name))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    it->action = WK_XOR_DO_MISSING;
    it->status = -1;
    it->has_expect = 1;
    memcpy(it->expect, e->digest, WK_MANIFEST_DIGEST);
    wk_err_set(&it->err, WK_E_MISMATCH, "%s lists %s, but the source directory has no such "
               "file", m->label ? m->label : "the manifest", e->name);
    return 0;
}

static int cmp_entry_name_ptr(const void *a, const void *b)
{
    return strcmp((*(const wk_manifest_entry *const *)a)->name, (*(const wk_manifest_entry *const *)b)->name);
}

/* Merge the n0 sorted items of p with the sorted missing entries into one
 * sorted array (items are large: they are moved once, never sorted). */
static int plan_merge_missing(wk_xor_plan *p, const wk_manifest *m, const wk_manifest_entry **miss,
                              size_t nmiss, wk_err *err)
{
    size_t n0 = p->n, i = 0, j = 0, k = 0;
    WK_FAIL_IF(nmiss > SIZE_MAX / sizeof *p->items - n0, err, WK_E_NOMEM, "out of memory");
    wk_xor_item *v = calloc(n0 + nmiss, sizeof *v);
    WK_FAIL_IF(!v, err, WK_E_NOMEM, "out of memory");
    int rc = 0;
    while (i < n0 || j < nmiss) {
        if (j == nmiss || (i < n0 && strcmp(p->items[i].name, miss[j]->name) < 0)) v[k++] = p->items[i++];
        else if ((rc = plan_missing_item(&v[k], m, miss[j++], err)) != 0) break;
        else k++;
    }
    while (i < n0) v[k++] = p->items[i++];  /* after a failure: keep every old item */
    free(p->items);
    p->items = v;
    p->n = k;
    return rc;
}

/* O((n + m) log(n + m)): one pass marks the items found; the missing entries
 * are sorted by pointer and merged in (issue #24 item 11: this was a realloc
 * and a qsort of every item per missing entry). */
int wk_xor_plan_expect(wk_xor_plan *p, const wk_manifest *m, wk_err *err)
{
    const wk_manifest_entry **miss = malloc((m->n ? m->n : 1) * sizeof *miss);
    WK_FAIL_IF(!miss, err, WK_E_NOMEM, "out of memory");
    size_t nmiss = 0;
    for (size_t i = 0; i < m->n; i++) {
        const wk_manifest_entry *e = &m->entries[i];
        wk_xor_item *it = p->n ? bsearch(e->name, p->items, p->n, sizeof *it, cmp_item_name) : NULL;
        if (!it) {
            miss[nmiss++] = e;
        } else if (it->action != WK_XOR_DO_SKIP) {
            it->has_expect = 1;
            memcpy(it->expect, e->digest, WK_MANIFEST_DIGEST);
        } else {
            it->status = -1;
            wk_err_set(&it->err, WK_E_USAGE, "%s lists %s, but documentation files and "
                       "directories are not decoded", m->label ? m->label : "the manifest", e->name);
        }
    }
    int rc = 0;
    if (nmiss) {
        qsort(miss, nmiss, sizeof *miss, cmp_entry_name_ptr);
        rc = plan_merge_missing(p, m, miss, nmiss, err);
    }
    free(miss);
    return rc;
}

long wk_xor_manifest_fit(const wk_manifest *m, char *const *names, size_t n)
{
    size_t covered = 0;
    for (size_t i = 0; i < m->n; i++) {
        const char *key = m->entries[i].name;
        if (!n || !bsearch(&key, names, n, sizeof *names, cmp_str_ptr)) return -1;
        covered++;
    }
    if (covered == 0) return -1;
    long aux = 0;
    for (size_t i = 0; i < n; i++) {
        if (wk_manifest_find(m, names[i])) continue;
        if (!is_aux(names[i])) return -1;
        aux++;
    }
    return aux;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n > k && strcmp(s + n - k, suf) == 0;
}

/* Best candidate so far, for wk_xor_find_manifest. */
typedef struct {
    char *path, *real;
    long fit;
    char *tie;  /* another manifest with the same fit */
} best_manifest;

/* Consider one candidate file. */
static int consider_manifest(best_manifest *b, const char *path, char *const *names, size_t n,
                             wk_err *err)
{
    wk_manifest m;
    wk_manifest_init(&m);
    if (wk_manifest_load(&m, path, err)) {
        wk_manifest_free(&m);
        return -1;
    }
    long fit = wk_xor_manifest_fit(&m, names, n);
    wk_manifest_free(&m);
    if (fit < 0) return 0;
    char *real = realpath(path, NULL);
    if (b->real && real && strcmp(real, b->real) == 0) {
        free(real);
        return 0;
    }
    if (b->path && fit == b->fit) {
        free(real);
        if (!b->tie && !(b->tie = strdup(path))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
        return 0;
    }
    if (b->path && fit > b->fit) {
        free(real);
        return 0;
    }
    free(b->path);
    free(b->real);
    free(b->tie);
    b->tie = NULL;
    b->real = real;
    b->fit = fit;
    if (!(b->path = strdup(path))) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    return 0;
}

int wk_xor_find_manifest(const char *const *dirs, size_t ndirs, char *const *names, size_t n,
                         char **path, wk_err *err)
{
    *path = NULL;
    best_manifest b = {NULL, NULL, 0, NULL};
    int rc = 0;
    for (size_t d = 0; d < ndirs && rc == 0; d++) {
        char **ents;
        ent_kind *kinds;
        size_t ne;
        if (!dirs[d]) continue;
        wk_err ignored;
        if (scan_dir(dirs[d], &ents, &kinds, &ne, &ignored)) continue;
        for (size_t i = 0; i < ne && rc == 0; i++) {
            /* installed checksums may be links: a manifest is only read */
            if (kinds[i] == ENT_OTHER || !has_suffix(ents[i], ".sha256")) continue;
            char *p = wk_path_join(dirs[d], ents[i]);
            struct stat st;
            if (p && kinds[i] == ENT_LINK && (stat(p, &st) != 0 || !S_ISREG(st.st_mode))) {
                free(p);
                continue;
            }
            rc = p ? consider_manifest(&b, p, names, n, err) : wk_err_set(err, WK_E_NOMEM, "out of memory");
            free(p);
        }
        wk_xor_free_names(ents, ne);
        free(kinds);
    }
    if (rc == 0 && b.tie)
        rc = wk_err_set(err, WK_E_USAGE, "both %s and %s match these file names; choose one "
                        "with --manifest", b.path, b.tie);
    if (rc == 0 && b.path) {  /* report the resolved path when there is one */
        *path = b.real ? b.real : b.path;
        if (b.real) b.real = NULL;
        else b.path = NULL;
    }
    free(b.path);
    free(b.real);
    free(b.tie);
    return rc;
}

/* ---- running a plan ------------------------------------------------------ */

int wk_xor_make_dirs(const char *dir, wk_err *err)
{
    char *p = strdup(dir);
    if (!p) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        struct stat st;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            rc = wk_err_errno(err, errno, "create directory %s", p);
        else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = wk_err_set(err, WK_E_IO, "%s exists and is not a directory", p);
        *s = c;
        if (c == '\0') break;
    }
    free(p);
    return rc;
}

/* The run's done hook as the judge of one item's decode. */
typedef struct {
    const wk_xor_run_opts *o;
    wk_xor_item *it;
} item_judge;

static int item_judge_fn(void *ctx, const char *tmp, const wk_xor_result *res, int *keep,
                         wk_err *err)
{
    const item_judge *ij = ctx;
    (void)res;  /* the same as ij->it->res */
    return ij->o->done(ij->o->done_ctx, ij->it, tmp, keep, err);
}

/* Decode or encode one item, reporting progress to ph; records the outcome in it. */
static void run_item(wk_xor_item *it, const wk_xor_run_opts *o, int encode, wk_progress_hook ph)
{
    if (encode) {
        wk_xor_encode_args a = {it->src, it->base, it->out, o->gzip, o->level, o->jobs, ph.fn,
                                ph.ctx};
        it->status = wk_xor_encode_file(&a, &it->res, &it->err);
        return;
    }
    /* xor_codec.py copies added_tokens.json verbatim even with --compress */
    wk_payload_kind kind = it->action == WK_XOR_DO_COPY ? WK_PAYLOAD_AUTO : o->kind;
    wk_xor_decode_args a = {it->src, it->base, it->out, kind,
                            it->has_expect ? it->expect : NULL, o->keep_bad, o->pipeline, ph.fn,
                            ph.ctx, o->engine, NULL, NULL, NULL, 0, o->max_output, NULL};
    void *tap_ctx = NULL;
    wk_sink_fn tap_fn = o->tap ? o->tap(o->done_ctx, it, &tap_ctx) : NULL;
    wk_sink tap;
    wk_sink_init(&tap, tap_fn, tap_ctx);
    item_judge ij = {o, it};
    wk_xor_judge j = {item_judge_fn, &ij};
    it->status = wk_xor_decode_file_judged(&a, tap_fn ? &tap : NULL, o->done ? &j : NULL,
                                           &it->res, &it->err);
}

/* Files decoded at once: -j N, or by default (jobs <= 0) one more than the
 * cores, at most the files there are.  Each file is a two-thread pipeline
 * (inflate | XOR, hash, write) whose stages are unequal (inflate is about 2/3
 * of it with ISA-L), so cores + 1 files keep every core busy, also while the
 * last files finish (3 shards on 2 cores: all three at once). */
static int run_files_at_once(int jobs, size_t ntodo)
{
    int n = jobs > 0 ? jobs : wk_threads_ncores() + 1;
    if ((size_t)n > ntodo) n = ntodo ? (int)ntodo : 1;
    return n;
}

/* Sort todo[0..n) by the items' source size, largest first (stable). */
static void run_order_lpt(const wk_xor_plan *p, size_t *todo, size_t n)
{
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && p->items[todo[b]].src_bytes > p->items[todo[b - 1]].src_bytes;
             b--) {
            size_t t = todo[b];
            todo[b] = todo[b - 1];
            todo[b - 1] = t;
        }
}

int wk_xor_run(wk_xor_plan *p, const char *dst, const wk_xor_run_opts *o, wk_err *err)
{
    WK_TRY(wk_xor_make_dirs(dst, err));
    size_t *todo = malloc((p->n ? p->n : 1) * sizeof *todo);
    if (!todo) return wk_err_set(err, WK_E_NOMEM, "out of memory");
    size_t ntodo = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < p->n; i++) {
        wk_xor_item *it = &p->items[i];
        if (it->status == 0 && (it->action == WK_XOR_DO_XOR || it->action == WK_XOR_DO_COPY)) {
            todo[ntodo++] = i;
            total += it->src_bytes;
        }
    }
    /* all files together; callbacks arrive from several threads */
    wk_progress_multi *mp = wk_progress_multi_new(o->progress, o->progress_ctx, p->n, total);
    if (!mp) {
        free(todo);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    int files_at_once = p->encode ? 1 : run_files_at_once(o->jobs, ntodo);
    /* largest first (decode): the last file to start is a small one, so no core
     * waits long for a lone big file at the end; outputs do not depend on the order */
    if (!p->encode) run_order_lpt(p, todo, ntodo);
    long nt = (long)ntodo;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(files_at_once) if (files_at_once > 1)
#else
    (void)files_at_once; /* one file at a time without OpenMP */
#endif
    for (long k = 0; k < nt; k++)
        run_item(&p->items[todo[k]], o, p->encode, wk_progress_multi_item(mp, todo[k]));
    wk_progress_multi_free(mp);
    free(todo);
    size_t bad = 0;
    const wk_xor_item *first = NULL;
    for (size_t i = 0; i < p->n; i++) {
        if (p->items[i].status == 0) continue;
        if (!bad++) first = &p->items[i];
    }
    if (!bad) return 0;
    return wk_err_set(err, first->err.code, "%zu of %zu files failed", bad, p->n);
}
