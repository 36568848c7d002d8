/* fuzz_xorcheck.c — differential libFuzzer target for wk-xor's single-pass
 * post-decode check (tools/xor/wk_xorcheck.h).
 *
 * The input is a whole decoded file: a torch zip (.bin) when it starts with
 * "PK", else a safetensors file.  It is written to a scratch file on tmpfs
 * (/dev/shm, else /tmp), fed to a wk_xorcheck_stream in pieces whose sizes
 * (1 byte .. 64 KiB) come from a hash of the input, and checked with
 * wk_xorcheck_file_stream.  The oracle is the plain re-read,
 * wk_xorcheck_file: both must give the same verdict — checked / unreadable /
 * message, tensor / skipped / flagged counts, and the listed tensors' names and
 * statistics bit for bit.  Any difference aborts, as does a crash, a leak or
 * a sanitizer report in either path.  Seeds: the pth and safetensors fixtures
 * (tests/fuzz/run.sh). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_xorcheck.h"

/* FNV-1a of the input: the piece sizes are a function of the bytes, so a
 * crashing input replays exactly. */
static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) { close(fd); return -1; }
        p += w;
        n -= (size_t)w;
    }
    return close(fd);
}

static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static int same_stats(const wk_tensor_stats *a, const wk_tensor_stats *b)
{
    return a->count == b->count && a->n_nan == b->n_nan && a->n_inf == b->n_inf &&
           a->n_finite == b->n_finite && same_double(a->min, b->min) && same_double(a->max, b->max) &&
           same_double(a->mean, b->mean) && same_double(a->std, b->std) && a->flags == b->flags;
}

/* 1 if the two reports are the same verdict (streamed / reread_bytes excluded). */
static int same_report(const wk_xorcheck *a, const wk_xorcheck *b)
{
    if (a->checked != b->checked || a->unreadable != b->unreadable || strcmp(a->why, b->why) ||
        a->tensors != b->tensors || a->skipped != b->skipped || a->flagged != b->flagged ||
        a->n_listed != b->n_listed)
        return 0;
    for (size_t i = 0; i < a->n_listed; i++)
        if (strcmp(a->listed[i].name, b->listed[i].name) ||
            !same_stats(&a->listed[i].stats, &b->listed[i].stats))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    const char *ext = size >= 2 && data[0] == 'P' && data[1] == 'K' ? ".bin" : ".safetensors";
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/wk-fuzz-xorcheck.%ld%s", dir, (long)getpid(), ext);
    if (write_file(path, data, size) != 0) return 0;

    wk_xorcheck_stream *st = wk_xorcheck_stream_new();
    if (!st) { unlink(path); return 0; }
    uint64_t s = fnv(data, size) | 1;
    for (size_t off = 0; off < size;) {
        size_t piece = 1 + (size_t)(next(&s) % (next(&s) & 1 ? 16 : 65536));
        if (piece > size - off) piece = size - off;
        wk_xorcheck_stream_feed(st, data + off, piece, NULL);
        off += piece;
    }
    wk_xorcheck *streamed = calloc(1, sizeof *streamed), *reread = calloc(1, sizeof *reread);
    wk_err e1, e2;
    int r1 = streamed && reread ? wk_xorcheck_file_stream(path, st, streamed, &e1) : -1;
    int r2 = streamed && reread ? wk_xorcheck_file(path, reread, &e2) : -1;
    if (r1 == 0 && r2 == 0 && !same_report(streamed, reread)) {
        fprintf(stderr, "fuzz_xorcheck: streamed and re-read reports differ: checked %d/%d "
                "unreadable %d/%d tensors %llu/%llu skipped %llu/%llu flagged %llu/%llu "
                "why \"%s\" / \"%s\"\n", streamed->checked, reread->checked, streamed->unreadable,
                reread->unreadable, (unsigned long long)streamed->tensors,
                (unsigned long long)reread->tensors, (unsigned long long)streamed->skipped,
                (unsigned long long)reread->skipped, (unsigned long long)streamed->flagged,
                (unsigned long long)reread->flagged, streamed->why, reread->why);
        abort();
    }
    free(streamed);
    free(reread);
    wk_xorcheck_stream_free(st);
    unlink(path);
    return 0;
}
