/* wk_gguf_split.c — GGUF split sets (see wk_gguf_split.h). */
#include "wk_gguf_split.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wk_hash.h"
#include "wk_io.h"
#include "wk_strmap.h"

int wk_gguf_is_split_key(const char *key)
{
    return strcmp(key, WK_GGUF_KEY_SPLIT_NO) == 0 || strcmp(key, WK_GGUF_KEY_SPLIT_COUNT) == 0 ||
           strcmp(key, WK_GGUF_KEY_SPLIT_TENSORS) == 0 || strcmp(key, WK_GGUF_KEY_SPLIT_SET) == 0;
}

/* The value of key as an integer if it has type t; 0 absent, 1 found, -1 wrong type. */
static int split_key(const wk_gguf *g, const char *key, wk_gguf_type t, int64_t *v, wk_err *err)
{
    long i = wk_gguf_find_key(g, key);
    if (i < 0) return 0;
    const wk_gguf_kv *kv = wk_gguf_kv_at(g, (size_t)i);
    if (kv->type != t)
        return wk_err_set(err, WK_E_FORMAT, "%s: key \"%s\" has type %s, expected %s (llama.cpp's split "
                          "convention)", wk_gguf_path(g), key, wk_gguf_type_name(kv->type), wk_gguf_type_name(t));
    double d;
    wk_gguf_kv_num(g, (size_t)i, 0, &d, v);
    return 1;
}

int wk_gguf_split_info_of(const wk_gguf *g, wk_gguf_split_info *info, wk_err *err)
{
    int64_t no = 0, count = 1, tensors = -1;
    int has_no = split_key(g, WK_GGUF_KEY_SPLIT_NO, WK_GGUF_UINT16, &no, err);
    int has_count = has_no < 0 ? -1 : split_key(g, WK_GGUF_KEY_SPLIT_COUNT, WK_GGUF_UINT16, &count, err);
    int has_t = has_count < 0 ? -1 : split_key(g, WK_GGUF_KEY_SPLIT_TENSORS, WK_GGUF_INT32, &tensors, err);
    if (has_t < 0) return -1;
    const char *p = wk_gguf_path(g);
    WK_FAIL_IF(has_no && !has_count, err, WK_E_FORMAT, "%s: key \"split.no\" without \"split.count\"", p);
    WK_FAIL_IF(has_count && count == 0, err, WK_E_FORMAT, "%s: key \"split.count\" is 0", p);
    WK_FAIL_IF(no >= count, err, WK_E_FORMAT, "%s: key \"split.no\" is %lld, but \"split.count\" is %lld", p,
               (long long)no, (long long)count);
    WK_FAIL_IF(has_t && tensors < 0, err, WK_E_FORMAT, "%s: key \"split.tensors.count\" is negative (%lld)", p,
               (long long)tensors);
    info->present = has_count;
    info->no = (uint16_t)no;
    info->count = (uint16_t)count;
    info->tensors = has_t ? (int32_t)tensors : -1;
    return 0;
}

char *wk_gguf_split_path(const char *prefix, unsigned no, unsigned count)
{
    size_t n = strlen(prefix) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s-%05u-of-%05u.gguf", prefix, no + 1, count);
    return s;
}

size_t wk_gguf_split_prefix_len(const char *path, unsigned no, unsigned count)
{
    char post[48];
    snprintf(post, sizeof post, "-%05u-of-%05u.gguf", no + 1, count);
    size_t l = strlen(path), pl = strlen(post);
    if (l <= pl || strcmp(path + l - pl, post) != 0) return 0;
    return l - pl;
}

/* ---- opening a set ----------------------------------------------------------- */

static void close_parts(wk_gguf **p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) wk_gguf_close(p[i]);
    free(p);
}

/* Part k of the set (not the one given): exists, is a GGUF file, its split
 * keys say it is part k of count. */
static wk_gguf *open_part(const char *prefix, unsigned k, unsigned count, const char *given, wk_err *err)
{
    char *path = wk_gguf_split_path(prefix, k, count);
    if (!path) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    struct stat st;
    wk_gguf *g = NULL;
    wk_gguf_split_info in;
    if (stat(path, &st) != 0) {
        wk_err_set(err, WK_E_IO, "%s: part %u of %u of the split set of %s is missing", path, k + 1, count,
                   given);
    } else if ((g = wk_gguf_open(path, err)) && wk_gguf_split_info_of(g, &in, err) == 0) {
        if (!in.present || in.count != count || in.no != k) {
            wk_err_set(err, WK_E_FORMAT, "%s: belongs to another split set: its split.no/split.count are "
                       "%s%u/%u, expected %u/%u (as %s says)", path, in.present ? "" : "absent, ",
                       in.present ? in.no : 0u, in.present ? in.count : 1u, k, count, given);
            wk_gguf_close(g);
            g = NULL;
        }
    } else {
        wk_gguf_close(g);
        g = NULL;
    }
    free(path);
    return g;
}

/* Parts other than the first carry no model metadata (llama.cpp's writers
 * put it all in the first). */
static int check_no_metadata(const wk_gguf *g, wk_err *err)
{
    for (size_t i = 0; i < wk_gguf_kv_count(g); i++) {
        const char *k = wk_gguf_kv_at(g, i)->key;
        WK_FAIL_IF(!wk_gguf_is_split_key(k) && strcmp(k, "general.alignment") != 0, err, WK_E_FORMAT,
                   "%s: key \"%s\" in a part other than the first (a split set keeps its metadata in the "
                   "first part only)", wk_gguf_path(g), k);
    }
    return 0;
}

/* weightkit.split.set: the same in every part, or in none. */
static int check_set_id(wk_gguf **p, size_t n, wk_err *err)
{
    const char *id0 = NULL, *id;
    size_t l0 = 0, l;
    int has0 = wk_gguf_get_str(p[0], WK_GGUF_KEY_SPLIT_SET, &id0, &l0, NULL) == 0;
    for (size_t k = 1; k < n; k++) {
        int has = wk_gguf_get_str(p[k], WK_GGUF_KEY_SPLIT_SET, &id, &l, NULL) == 0;
        WK_FAIL_IF(has != has0 || (has && (l != l0 || memcmp(id, id0, l) != 0)), err, WK_E_FORMAT,
                   "%s: belongs to another split set than %s (%s %s)", wk_gguf_path(p[k]), wk_gguf_path(p[0]),
                   WK_GGUF_KEY_SPLIT_SET, has && has0 ? "differs" : "present in only one of them");
    }
    return 0;
}

/* Tensor names unique across the parts; split.tensors.count equal to the total
 * wherever present. */
static int check_tensors(wk_gguf **p, size_t n, wk_err *err)
{
    wk_strmap names = WK_STRMAP_INIT;
    uint64_t total = 0;
    int rc = -1;
    for (size_t k = 0; k < n; k++) total += wk_gguf_tensor_count(p[k]);
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < wk_gguf_tensor_count(p[k]); i++) {
            const char *nm = wk_gguf_tensor_at(p[k], i)->name;
            long prev;
            WK_TRY_GOTO(wk_strmap_add(&names, nm, k, &prev, err), done);
            WK_FAIL_GOTO(prev >= 0, done, err, WK_E_FORMAT, "%s: tensor \"%s\" is also in %s (parts of "
                         "different sets?)", wk_gguf_path(p[k]), nm, wk_gguf_path(p[prev]));
        }
        wk_gguf_split_info in;
        WK_TRY_GOTO(wk_gguf_split_info_of(p[k], &in, err), done);
        WK_FAIL_GOTO(in.tensors >= 0 && (uint64_t)in.tensors != total, done, err, WK_E_FORMAT,
                     "%s: split.tensors.count is %ld, but the %zu parts hold %llu tensors", wk_gguf_path(p[k]),
                     (long)in.tensors, n, (unsigned long long)total);
    }
    rc = 0;
done:
    wk_strmap_free(&names);
    return rc;
}

/* A file beside the set named like a part of it but outside it
 * ("<prefix>-NNNNN-of-MMMMM.gguf" with M != count or N > count). */
static int check_extra(const char *prefix, unsigned count, wk_err *err)
{
    const char *slash = strrchr(prefix, '/');
    char *dir = slash ? strndup(prefix, (size_t)(slash - prefix) + 1) : strdup("./");
    const char *base = slash ? slash + 1 : prefix;
    size_t bl = strlen(base);
    WK_FAIL_IF(!dir, err, WK_E_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    int rc = 0;
    struct dirent *e;
    while (d && rc == 0 && (e = readdir(d)) != NULL) {
        unsigned a, b;
        char tail[8];
        if (strncmp(e->d_name, base, bl) != 0 || strlen(e->d_name) != bl + 20) continue;
        if (sscanf(e->d_name + bl, "-%5u-of-%5u.gguf%7s", &a, &b, tail) != 2 || memcmp(e->d_name + bl + 15, ".gguf", 5))
            continue;
        if (b != count || a == 0 || a > count)
            rc = wk_err_set(err, WK_E_FORMAT, "%s%s: an extra part beside the split set of %u parts (left over "
                            "from another split?); move it away", slash ? dir : "", e->d_name, count);
    }
    if (d) closedir(d);
    free(dir);
    return rc;
}

/* Given part (already open as g, part no of count): open the others. */
static int open_rest(const char *path, wk_gguf *g, const wk_gguf_split_info *in, wk_gguf **p, wk_err *err)
{
    size_t pl = wk_gguf_split_prefix_len(path, in->no, in->count);
    WK_FAIL_IF(!pl, err, WK_E_FORMAT, "%s: split part %u of %u, but its name does not end in "
               "\"-%05u-of-%05u.gguf\", so the other parts cannot be found", path, in->no + 1, in->count,
               in->no + 1, in->count);
    char *prefix = strndup(path, pl);
    WK_FAIL_IF(!prefix, err, WK_E_NOMEM, "out of memory");
    char *first = wk_gguf_split_path(prefix, 0, in->count);
    int rc = -1;
    WK_FAIL_GOTO(!first, done, err, WK_E_NOMEM, "out of memory");
    p[in->no] = g;
    for (unsigned k = 0; k < in->count; k++)
        if (k != in->no && !(p[k] = open_part(prefix, k, in->count, path, err))) goto done;
    for (unsigned k = 1; k < in->count; k++) WK_TRY_GOTO(check_no_metadata(p[k], err), done);
    WK_TRY_GOTO(check_extra(prefix, in->count, err), done);
    WK_TRY_GOTO(check_set_id(p, in->count, err), done);
    rc = 0;
done:
    free(first);
    free(prefix);
    return rc;
}

int wk_gguf_split_open(const char *path, wk_gguf ***parts, size_t *n, wk_err *err)
{
    *parts = NULL;
    *n = 0;
    wk_gguf *g = wk_gguf_open(path, err);
    if (!g) return -1;
    wk_gguf_split_info in;
    if (wk_gguf_split_info_of(g, &in, err)) {
        wk_gguf_close(g);
        return -1;
    }
    wk_gguf **p = calloc(in.count, sizeof *p);
    if (!p) {
        wk_gguf_close(g);
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    }
    if (in.count == 1) p[0] = g;
    else if (open_rest(path, g, &in, p, err)) {
        if (!p[in.no]) wk_gguf_close(g);
        close_parts(p, in.count);
        return -1;
    }
    if (check_tensors(p, in.count, err)) {
        close_parts(p, in.count);
        return -1;
    }
    *parts = p;
    *n = in.count;
    return 0;
}

/* ---- digests ------------------------------------------------------------------- */

int wk_gguf_split_verify_digests(wk_gguf *const *parts, size_t n, wk_digest_cb cb, void *ctx, wk_err *err)
{
    if (n == 1) return wk_gguf_verify_digests(parts[0], cb, ctx, err);
    const wk_gguf *g = parts[0];
    const char *alg;
    size_t alen, total = 0, bad = 0, j = 0;
    for (size_t k = 0; k < n; k++) total += wk_gguf_tensor_count(parts[k]);
    WK_TRY(wk_gguf_get_str(g, WK_GGUF_KEY_DIGEST_ALG, &alg, &alen, err));
    WK_FAIL_IF(alen != 7 || memcmp(alg, "xxh3-64", 7) != 0, err, WK_E_UNSUPPORTED,
               "%s: unknown digest algorithm \"%.*s\"", wk_gguf_path(g), (int)(alen > 64 ? 64 : alen), alg);
    long kv = wk_gguf_find_key(g, WK_GGUF_KEY_DIGESTS);
    WK_FAIL_IF(kv < 0 || !wk_gguf_has_digests(g), err, WK_E_FORMAT, "%s: no %s string array", wk_gguf_path(g),
               WK_GGUF_KEY_DIGESTS);
    WK_FAIL_IF(wk_gguf_kv_at(g, (size_t)kv)->n != total, err, WK_E_FORMAT, "%s: %llu digests for the %zu "
               "tensors of the split set", wk_gguf_path(g), (unsigned long long)wk_gguf_kv_at(g, (size_t)kv)->n,
               total);
    const char *first = NULL;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < wk_gguf_tensor_count(parts[k]); i++, j++) {
            const wk_gguf_tensor *t = wk_gguf_tensor_at(parts[k], i);
            uint8_t dig[WK_HASH_MAX_DIGEST];
            char hex[2 * WK_HASH_MAX_DIGEST + 1], want[2 * WK_HASH_MAX_DIGEST + 1];
            WK_TRY(wk_map_digest(WK_HASH_XXH3_64, t->data, (size_t)t->nbytes, dig, err));
            wk_hex(dig, 8, hex);
            size_t len;
            const char *s = wk_gguf_arr_str(g, (size_t)kv, j, &len);
            snprintf(want, sizeof want, "%.*s", (int)(len > 64 ? 64 : len), s);
            int st = (len == 16 && memcmp(s, hex, 16) == 0) ? 0 : 1;
            if (st && !bad++) first = t->name;
            if (cb) cb(ctx, t->name, st, hex, want);
        }
    WK_FAIL_IF(bad, err, WK_E_MISMATCH, "%s: %zu of %zu tensors of the split set do not match their digest "
               "(first: %s)", wk_gguf_path(g), bad, total, first);
    return 0;
}
