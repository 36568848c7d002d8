/* wk_xormeta.c — XOR decode against Meta weights converted on the fly (see
 * the header for the algorithm). */
#include "wk_xormeta.h"

#include "wk_buf.h"
#include "wk_cursor.h"
#include "wk_json.h"
#include "wk_pickle.h"
#include "wk_tokjson.h"
#include "wk_xorcheck.h"
#include "wk_xorshadow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* transformers version strings that went into released conversions (the
 * "transformers_version" of config.json); every one is tried with both
 * torch.save layouts.  Order = preference among equals. */
static const char *const k_versions[] = {
    "4.28.0.dev0", "4.28.0", "4.28.1", "4.29.0.dev0", "4.29.0", "4.29.1", "4.29.2",
    "4.30.0.dev0", "4.30.0", "4.30.1", "4.30.2", "4.31.0.dev0", "4.31.0",
    "4.32.0.dev0", "4.32.0", "4.32.1"};
static const wk_pth_profile k_torch[] = {WK_PTH_TORCH_1_13, WK_PTH_TORCH_2_1};

typedef struct {
    char name[80];
    wk_convert *conv;
} xm_profile;

struct wk_xormeta {
    wk_llama_ckpt *ck;
    char *tokenizer;
    wk_inputs *inputs;       /* params.json, ranks, tokenizer (wk_xor_decode_args.base_inputs) */
    wk_spm spm;        /* the tokenizer parsed once for every fast profile */
    int have_spm;
    xm_profile prof[WK_XORMETA_MAX_PROFILES];
    size_t n;
    const char *only;        /* --base-profile: plan only the profile of this name (open only) */
};

void wk_xormeta_close(wk_xormeta *m)
{
    if (!m) return;
    for (size_t k = 0; k < m->n; k++) wk_convert_free(m->prof[k].conv);
    wk_llama_close(m->ck);
    wk_inputs_free(m->inputs);
    free(m->tokenizer);
    wk_spm_free(&m->spm);
    free(m);
}

size_t wk_xormeta_profile_count(const wk_xormeta *m) { return m->n; }
const char *wk_xormeta_profile_name(const wk_xormeta *m, size_t k) { return m->prof[k].name; }
wk_convert *wk_xormeta_engine(const wk_xormeta *m, size_t k) { return m->prof[k].conv; }

static int plan_profiles(wk_xormeta *m, int safetensors, wk_err *err);

/* Append the distinct parts of the profile names (between the separators:
 * the version, the torch layout, the rest) as "a|b|c" to b. */
static void list_parts(const wk_xormeta *m, int part, wk_buf *b)
{
    char seen[WK_XORMETA_MAX_PROFILES][40];
    size_t ns = 0;
    for (size_t k = 0; k < m->n; k++) {
        const char *s = m->prof[k].name + strlen("transformers ");
        for (int i = 0; i < part && s; i++) s = strchr(s, ',') ? strchr(s, ',') + 2 : NULL;
        char v[40] = "";
        if (s) snprintf(v, sizeof v, "%.*s", part < 2 ? (int)strcspn(s, ",") : (int)strlen(s), s);
        size_t j = 0;
        while (j < ns && strcmp(seen[j], v)) j++;
        if (j < ns) continue;
        memcpy(seen[ns++], v, sizeof v);
        wk_buf_printf(b, "%s%s", ns > 1 ? "|" : "", v[0] ? v : "(none)");
    }
}

/* --base-profile names no profile this model allows: plan them all to list
 * them in the message: "transformers {V1|V2..}, {torch-1.13|torch-2.1}[, {..}]"
 * (every combination is a profile here: 16 versions x 2 layouts x fast/slow
 * tokenizer files, fewer when the model rules some out — listed one by one then). */
static int unknown_profile(wk_xormeta *m, int safetensors, wk_err *err)
{
    const char *want = m->only;
    m->only = NULL;
    wk_spm_free(&m->spm);   /* plan_profiles loads it again */
    m->have_spm = 0;
    WK_TRY(plan_profiles(m, safetensors, err));
    wk_buf b[3];
    size_t cnt[3];
    for (int i = 0; i < 3; i++) {
        wk_buf_init(&b[i]);
        list_parts(m, i, &b[i]);
        wk_buf_putc(&b[i], 0);
        cnt[i] = 1;
        for (const char *c = (const char *)b[i].data; c && *c; c++) cnt[i] += *c == '|';
    }
    int ok = !wk_buf_failed(&b[0]) && !wk_buf_failed(&b[1]) && !wk_buf_failed(&b[2]);
    int rc;
    if (ok && cnt[0] * cnt[1] * cnt[2] == m->n)
        rc = wk_err_set(err, WK_E_USAGE, "--base-profile '%s': no converter profile of that name "
                        "for this model; the %zu valid names are every 'transformers {%s}, {%s}, "
                        "{%s}' (without the last part where it is (none)), e.g. '%s'", want, m->n,
                        (char *)b[0].data, (char *)b[1].data, (char *)b[2].data, m->prof[0].name);
    else {
        char list[WK_ERR_MSG_MAX];
        size_t at = 0;
        list[0] = '\0';
        for (size_t k = 0; k < m->n && at < sizeof list - 1; k++) {
            int w = snprintf(list + at, sizeof list - at, "%s'%s'", k ? ", " : "", m->prof[k].name);
            if (w < 0) break;
            at += (size_t)w < sizeof list - at ? (size_t)w : sizeof list - at - 1;
        }
        rc = wk_err_set(err, WK_E_USAGE, "--base-profile '%s': no converter profile of that name "
                        "for this model; the %zu valid names are: %s", want, m->n, list);
    }
    for (int i = 0; i < 3; i++) wk_buf_free(&b[i]);
    return rc;
}

/* Plan one engine per profile the model allows: every release line x torch layout,
 * first with the fast tokenizer files (tokenizer.json, the converter with `tokenizers`
 * installed), then with the slow ones only (a base converted without `tokenizers`). */
static int plan_profiles(wk_xormeta *m, int safetensors, wk_err *err)
{
    wk_err last;
    wk_err_clear(&last);
    /* a tokenizer that cannot give tokenizer.json (unigram, tiktoken): slow profiles only */
    m->have_spm = wk_tokjson_load_spm(&m->spm, m->tokenizer, &last) == 0;
    if (!m->have_spm && last.code == WK_E_NOMEM) return (*err = last, -1);
    size_t nv = sizeof k_versions / sizeof *k_versions, nt = sizeof k_torch / sizeof *k_torch;
    for (size_t k = 0; k < 2 * nv * nt && m->n < WK_XORMETA_MAX_PROFILES; k++) {
        int slow = k >= nv * nt;
        if (!slow && !m->have_spm) continue;
        size_t v = k % (nv * nt) / nt, t = k % nt;
        char name[sizeof m->prof[0].name];
        snprintf(name, sizeof name, "transformers %s, %s%s%s", k_versions[v],
                 wk_pth_profile_get(k_torch[t])->name, safetensors ? ", safetensors" : "",
                 slow ? ", slow tokenizer" : "");
        if (m->only && strcmp(name, m->only) != 0) continue;
        wk_convert_opts o;
        wk_convert_opts_init(&o);
        o.allow_nonfinite = 1;   /* the base's bytes as they are: the manifest judges them */
        WK_TRY(wk_hf_profile_parse(k_versions[v], &o.hf, err));
        o.torch = k_torch[t];
        o.safetensors = safetensors;
        o.tokenizer = m->tokenizer;
        o.fast_tokenizer = !slow;
        o.tokenizer_spm = slow ? NULL : &m->spm;
        wk_err e;
        wk_convert *c = wk_convert_new(m->ck, &o, &e);
        if (!c) {
            if (e.code == WK_E_NOMEM) return (*err = e, -1);
            last = e;  /* e.g. grouped-query attention before 4.31, a unigram tokenizer */
            continue;
        }
        xm_profile *p = &m->prof[m->n++];
        p->conv = c;
        memcpy(p->name, name, sizeof name);
    }
    if (m->n == 0 && m->only) return unknown_profile(m, safetensors, err);
    if (m->n == 0)
        return wk_err_set(err, WK_E_UNSUPPORTED, "no converter profile can convert this model: %s",
                          last.msg);
    return 0;
}

wk_xormeta *wk_xormeta_open(const char *llama_dir, const char *tokenizer, int safetensors,
                            int threads, wk_err *err)
{
    return wk_xormeta_open_profile(llama_dir, tokenizer, safetensors, threads, NULL, err);
}

wk_xormeta *wk_xormeta_open_profile(const char *llama_dir, const char *tokenizer, int safetensors,
                                    int threads, const char *profile, wk_err *err)
{
    wk_xormeta *m = calloc(1, sizeof *m);
    if (!m) {
        wk_err_set(err, WK_E_NOMEM, "out of memory");
        return NULL;
    }
    m->only = profile;
    m->tokenizer = tokenizer ? strdup(tokenizer) : wk_llama_find_tokenizer(llama_dir);
    if (!m->tokenizer) {
        wk_err_set(err, WK_E_IO, "tokenizer.model not found in %s or its parent directory "
                   "(--tokenizer PATH)", llama_dir);
        free(m);
        return NULL;
    }
    if (!(m->ck = wk_llama_open(llama_dir, threads, err)) || !(m->inputs = wk_inputs_new(err)) ||
        wk_llama_ckpt_add_inputs(m->ck, m->inputs, err) || wk_inputs_add(m->inputs, m->tokenizer, err) ||
        plan_profiles(m, safetensors, err)) {
        if (m->ck && err->code != WK_E_USAGE) wk_err_prefix(err, "--base-meta %s", llama_dir);
        wk_xormeta_close(m);
        return NULL;
    }
    m->only = NULL;
    return m;
}

const char *wk_xormeta_describe(const wk_xormeta *m, uint64_t bits, char *buf, size_t cap)
{
    size_t first = m->n, count = 0;
    for (size_t k = 0; k < m->n; k++)
        if (bits >> k & 1) {
            if (first == m->n) first = k;
            count++;
        }
    if (!count) snprintf(buf, cap, "none");
    else if (count == 1) snprintf(buf, cap, "%s", m->prof[first].name);
    else snprintf(buf, cap, "%s (+%zu other profiles, same bytes)", m->prof[first].name,
                  count - 1);
    return buf;
}

/* ---- structural ranking --------------------------------------------------- */

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

/* Tensor names of a pickle compared with the engine's state dict for file fi. */
typedef struct {
    const wk_convert *c;
    size_t first, n, seen;
    int ok;
} names_check;

static int on_tensor(void *ctx, const char *name, const wk_pv *t, wk_err *err)
{
    (void)t;
    (void)err;
    names_check *nc = ctx;
    if (nc->seen >= nc->n || strcmp(name, wk_convert_tensor(nc->c, nc->first + nc->seen)->name))
        nc->ok = 0;
    nc->seen++;
    return 0;
}

/* Length of a record written with a data descriptor (flag bit 3: torch's
 * writer puts zero sizes in the local header): the first "PK\7\8" at q whose
 * compressed size equals q - start.  *desc: the descriptor's size (16 or 24
 * with 64-bit sizes).  -1 if not within the bytes at c. */
static int find_descriptor(const wk_cur *c, uint32_t *len, size_t *desc)
{
    const uint8_t *p = c->p + c->pos;
    size_t n = wk_cur_left(c);
    for (size_t q = 0; q + 16 <= n; q++) {
        if (p[q] != 'P' || p[q + 1] != 'K' || p[q + 2] != 7 || p[q + 3] != 8) continue;
        if (wk_le32(p + q + 8) == q && q <= UINT32_MAX) {
            *len = (uint32_t)q;
            *desc = 16;
            return 0;
        }
        if (q + 24 <= n && wk_le64(p + q + 8) == q && q <= UINT32_MAX) {
            *len = (uint32_t)q;
            *desc = 24;
            return 0;
        }
    }
    return -1;
}

/* One zip local header at c: its record name must start with "<arch>/".
 * *name / *nlen: the name; *data_len: the stored size (found through the
 * data descriptor when the header has none; *desc its size, else 0).
 * 0 if valid; the data length is 0 with *desc 0 when it cannot be found. */
static int zip_local(wk_cur *c, const char *arch, const uint8_t **name, uint16_t *nlen,
                     uint32_t *data_len, size_t *desc)
{
    uint32_t sig, csize, usize, crc;
    uint16_t ver, flags, method, tm, dt, elen;
    if (wk_cur_u32(c, &sig) || sig != 0x04034b50u || wk_cur_u16(c, &ver) ||
        wk_cur_u16(c, &flags) || wk_cur_u16(c, &method) || method != 0 || wk_cur_u16(c, &tm) ||
        wk_cur_u16(c, &dt) || wk_cur_u32(c, &crc) || wk_cur_u32(c, &csize) ||
        wk_cur_u32(c, &usize) || csize != usize || wk_cur_u16(c, nlen) || wk_cur_u16(c, &elen) ||
        wk_cur_bytes(c, *nlen, name) || wk_cur_skip(c, elen))
        return -1;
    size_t al = strlen(arch);
    if (*nlen <= al || memcmp(*name, arch, al) != 0 || (*name)[al] != '/') return -1;
    *data_len = csize;
    *desc = 0;
    if ((flags & 8) && csize == 0 && find_descriptor(c, data_len, desc) != 0) *data_len = 0;
    return 0;
}

/* Score of a decoded torch zip prefix against the engine's file fi (0..5). */
static int score_bin(const uint8_t *d, size_t n, const wk_convert *c, size_t fi)
{
    const wk_convert_file *f = wk_convert_file_get(c, fi);
    wk_err e;
    char *arch = wk_pth_archive_name(f->name, wk_convert_opts_of(c)->torch, &e);
    if (!arch) return 0;
    wk_cur cur = wk_cur_make(d, n, 0);
    const uint8_t *name, *pkl;
    uint16_t nlen;
    uint32_t len;
    size_t desc;
    int s = 0;
    if (zip_local(&cur, arch, &name, &nlen, &len, &desc) == 0) s = 1;
    if (s == 1 && nlen == strlen(arch) + 9 && memcmp(name + nlen - 9, "/data.pkl", 9) == 0) s = 2;
    if (s == 2 && len > 0 && wk_cur_bytes(&cur, len, &pkl) == 0 && wk_cur_skip(&cur, desc) == 0) {
        wk_pickle *pk = wk_pickle_load(pkl, len, "data.pkl", &e);
        if (pk) {
            s = 3;
            names_check nc = {c, f->first_tensor, f->n_tensors, 0, 1};
            if (wk_pickle_flatten(pk, on_tensor, &nc, NULL, &e) == 0 && nc.ok &&
                nc.seen == nc.n)
                s = 4;
            wk_pickle_free(pk);
        }
        if (s == 4 && zip_local(&cur, arch, &name, &nlen, &len, &desc) == 0) s = 5;
    }
    free(arch);
    return s;
}

/* Score of a decoded safetensors prefix (0..3): header length as the
 * profile's, header parses, names are the profile's. */
static int score_st(const uint8_t *d, size_t n, const uint8_t *base, size_t bn,
                    const wk_convert *c, size_t fi)
{
    if (n < 8 || bn < 8) return 0;
    uint64_t hl = wk_le64(d);
    if (hl != wk_le64(base) || hl > n - 8) return 0;
    wk_err e;
    wk_json *j = wk_json_parse(d + 8, (size_t)hl, NULL, &e);
    if (!j) return 1;
    const wk_convert_file *f = wk_convert_file_get(c, fi);
    int ok = 1;
    for (size_t t = 0; t < f->n_tensors && ok; t++)
        ok = wk_json_get(j, wk_convert_tensor(c, f->first_tensor + t)->name) != NULL;
    wk_json_free(j);
    return ok ? 3 : 2;
}

static int score_max(const char *name)
{
    return ends_with(name, ".bin") ? 5 : ends_with(name, ".safetensors") ? 3
         : ends_with(name, ".json") ? 1 : 0;
}

/* Structural score of a decoded prefix (see score_max for the scale). */
static int score_prefix(const char *name, const uint8_t *d, size_t n, const uint8_t *base,
                        size_t bn, uint64_t full, const wk_convert *c, size_t fi)
{
    if (ends_with(name, ".bin")) return score_bin(d, n, c, fi);
    if (ends_with(name, ".safetensors")) return score_st(d, n, base, bn, c, fi);
    if (ends_with(name, ".json") && n == full) {
        wk_err e;
        wk_json *j = wk_json_parse(d, n, NULL, &e);
        wk_json_free(j);
        return j != NULL;
    }
    return 0;
}

/* ---- one file --------------------------------------------------------------- */

/* The payload's decoded size if cheaply known: a raw file's size, or a
 * gzip's ISIZE (mod 2^32, last member only); -1 if unknown. */
static int64_t size_hint(const char *path, int gzip)
{
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (!gzip) return (int64_t)st.st_size;
    if (st.st_size < 18) return -1;
    int fd = wk_input_open(path, 0, NULL, NULL);
    uint8_t t[4];
    int ok = fd >= 0 && pread(fd, t, 4, st.st_size - 4) == 4;
    if (fd >= 0) close(fd);
    return ok ? (int64_t)wk_le32(t) : -1;
}

/* Decode the first up to cap bytes of the payload into b. */
static int payload_prefix(const char *path, const wk_xm_opts *o, size_t cap, wk_buf *b,
                          int *gzip, wk_err *err)
{
    wk_payload *pl = wk_payload_open(path, o->kind, err);
    if (!pl) return -1;
    int rc = wk_payload_set_engine(pl, o->engine, err);
    *gzip = wk_payload_is_gzip(pl);
    if (rc == 0 && !(b->data = malloc(cap ? cap : 1))) rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
    if (rc == 0) b->cap = cap;
    while (rc == 0 && b->len < cap) {
        size_t got;
        rc = wk_payload_read(pl, b->data + b->len, cap - b->len, &got, err);
        if (rc == 0 && got == 0) break;
        b->len += got;
    }
    wk_payload_close(pl);
    return rc;
}

/* The candidate groups for file `name`: profiles making identical bytes
 * (same size and first WK_XORMETA_PREFIX bytes) share a group.  pre[g] holds
 * group g's base prefix, fi[g] its file index in its first profile. */
static int make_groups(wk_xormeta *m, const char *name, wk_xm_file *f, wk_buf *pre, long *fi,
                       size_t *rep, wk_err *err)
{
    for (size_t k = 0; k < m->n; k++) {
        long i = wk_convert_find_file(m->prof[k].conv, name);
        if (i < 0) continue;
        uint64_t size = wk_convert_file_get(m->prof[k].conv, (size_t)i)->size;
        wk_buf b;
        wk_buf_init(&b);
        if (wk_convert_stream_prefix(m->prof[k].conv, (size_t)i, WK_XORMETA_PREFIX, wk_sink_buf(&b),
                                     err)) {
            wk_buf_free(&b);
            return -1;
        }
        size_t g = 0;
        for (; g < f->n_groups; g++)
            if (f->groups[g].size == size && pre[g].len == b.len &&
                memcmp(pre[g].data, b.data, b.len) == 0)
                break;
        if (g < f->n_groups) {
            f->groups[g].profiles |= 1ull << k;
            wk_buf_free(&b);
            continue;
        }
        f->groups[g].profiles = 1ull << k;
        f->groups[g].size = size;
        pre[g] = b;
        fi[g] = i;
        rep[g] = k;
        f->n_groups++;
    }
    return 0;
}

/* Rank of group g (higher first). */
static long rank_key(const wk_xm_group *g, uint64_t prefer)
{
    return (long)(g->size_ok == 1) * 1000 + g->score * 10 + ((g->profiles & prefer) != 0);
}

/* Producer for wk_xorbase: file fi of an engine. */
typedef struct {
    wk_convert *c;
    size_t fi;
} conv_src;

static int conv_produce(void *ctx, wk_sink *sink, wk_err *err)
{
    conv_src *s = ctx;
    return wk_convert_stream_file(s->c, s->fi, sink, err);
}

/* Without a digest: is the decoded output at path (the temporary) plausible?
 * 1 yes, 0 no, -1 error.  A tensor check that ran is left in f; st (may be
 * NULL) is the stream that saw the pass's bytes, so the tensors need not be
 * read again. */
static int plausible(const char *path, const wk_xor_item *it, const wk_xm_opts *o,
                     const wk_xorcheck_stream *st, wk_xm_file *f, wk_err *err)
{
    if (ends_with(it->name, ".json")) {
        wk_map mp;
        if (wk_map_open(&mp, path, err)) return -1;
        wk_err e;
        wk_json *j = wk_json_parse(mp.data, mp.size, NULL, &e);
        wk_map_close(&mp);
        wk_json_free(j);
        return j != NULL;
    }
    if (!o->check_tensors || !wk_xorcheck_wants(it->name)) return 1;
    WK_TRY(wk_xorcheck_file_stream(path, st, &f->check, err));
    f->checked = 1;
    return !wk_xorcheck_suspect(&f->check);
}

/* The judge of one full pass (see wk_xor_judge_fn). */
typedef struct {
    wk_xor_item *it;
    const wk_xm_opts *o;
    const wk_xorcheck_stream *st;
    wk_xm_file *f;
    int implausible;      /* the pass was refused as implausible */
} pass_judge;

static int pass_judge_fn(void *ctx, const char *tmp, const wk_xor_result *res, int *keep,
                         wk_err *err)
{
    pass_judge *pj = ctx;
    (void)res;
    if (!pj->it->has_expect) {
        int ok = plausible(tmp, pj->it, pj->o, pj->st, pj->f, err);
        if (ok < 0) return -1;
        pj->implausible = !ok;
        WK_FAIL_IF(!ok, err, WK_E_MISMATCH, "%s: output looks like noise", pj->it->out);
    }
    return pj->o->judge.fn ? pj->o->judge.fn(pj->o->judge.ctx, tmp, res, keep, err) : 0;
}

/* One full pass with group g; st (may be NULL) is fed every output byte,
 * shadow (may be NULL) watches the pass (other candidates hashed beside it). */
static int full_pass(wk_xormeta *m, wk_xor_item *it, const wk_xm_opts *o, size_t rep, long fi,
                     pass_judge *pj, const wk_xor_shadow *shadow, wk_err *err)
{
    conv_src src = {m->prof[rep].conv, (size_t)fi};
    wk_xor_decode_args a = {it->src, NULL, it->out, o->kind, it->has_expect ? it->expect : NULL,
                            0, o->pipeline, o->progress, o->progress_ctx, o->engine,
                            conv_produce, &src, m->prof[rep].name,
                            wk_convert_file_get(m->prof[rep].conv, (size_t)fi)->size, o->max_output, m->inputs};
    wk_sink tap;
    wk_sink_init(&tap, wk_xorcheck_stream_feed, (void *)pj->st);
    wk_xor_judge j = {pass_judge_fn, pj};
    return wk_xor_decode_file_shadowed(&a, pj->st ? &tap : NULL, &j, shadow, &it->res, err);
}

/* A full pass with group g alone (as before issue #23): its outcome, and the
 * choice when it is kept.  -1 only on an error that ends the file. */
static int solo_pass(wk_xormeta *m, wk_xor_item *it, const wk_xm_opts *o, wk_xm_file *f,
                     size_t g, size_t rep, long fi, wk_err *err)
{
    wk_xm_group *gr = &f->groups[g];
    wk_err e;
    f->passes++;
    /* without a digest the pass is judged by the tensor check: stream it */
    wk_xorcheck_stream *st = !it->has_expect && o->check_tensors && wk_xorcheck_wants(it->name)
                                 ? wk_xorcheck_stream_new() : NULL;
    pass_judge pj = {it, o, st, f, 0};
    int prc = full_pass(m, it, o, rep, fi, &pj, NULL, &e);
    wk_xorcheck_stream_free(st);
    if (prc != 0 && pj.implausible) {
        gr->outcome = WK_XM_IMPLAUSIBLE;
        return 0;
    }
    if (prc != 0) {
        gr->outcome = e.code == WK_E_MISMATCH && !it->res.verified ? WK_XM_MISMATCH : WK_XM_ERROR;
        if (gr->outcome == WK_XM_ERROR) return (*err = e, -1);  /* I/O, corrupt payload, judge */
        return 0;
    }
    gr->outcome = it->has_expect ? WK_XM_MATCH : WK_XM_PLAUSIBLE;
    f->chosen = (int)g;
    f->verified = it->has_expect;
    return 0;
}

/* Patch bytes allowed per candidate of a shared pass: 0 = the default
 * (wk_xorshadow.h).  WK_XORMETA_PATCH_CAP=BYTES lowers it — for the tests of
 * the fallback only. */
static uint64_t patch_cap(void)
{
    const char *v = getenv("WK_XORMETA_PATCH_CAP");
    char *end;
    unsigned long long c = v && *v ? strtoull(v, &end, 10) : 0;
    return v && *v && *end == '\0' ? (uint64_t)c : 0;
}

/* One pass for the tied groups set[0..ns) (ns >= 2, an expected digest):
 * set[0]'s output is written, the others are hashed beside it and the
 * matching one's differing bytes patched in (wk_xorshadow).  A candidate
 * that dropped out (patch cap) gets solo[g] = 1 and stays untried.  -1 only
 * on an error that ends the file. */
static int shared_pass(wk_xormeta *m, wk_xor_item *it, const wk_xm_opts *o, wk_xm_file *f,
                       const size_t *set, size_t ns, const size_t *rep, const long *fi, int *solo,
                       wk_err *err)
{
    conv_src src[WK_XS_MAX];
    wk_xs_cand c[WK_XS_MAX];
    for (size_t i = 1; i < ns; i++) {
        src[i - 1] = (conv_src){m->prof[rep[set[i]]].conv, (size_t)fi[set[i]]};
        c[i - 1] = (wk_xs_cand){conv_produce, &src[i - 1], m->prof[rep[set[i]]].name,
                                f->groups[set[i]].size};
    }
    wk_xs *xs = wk_xs_new(c, ns - 1, it->expect, patch_cap(), err);
    if (!xs) return -1;
    f->passes++;
    pass_judge pj = {it, o, NULL, f, 0};
    wk_err e;
    int prc = full_pass(m, it, o, rep[set[0]], fi[set[0]], &pj, wk_xs_shadow(xs), &e);
    int w = wk_xs_winner(xs), rc = 0;
    size_t won = w >= 0 ? set[w + 1] : set[0];
    for (size_t i = 1; i < ns; i++) {
        if (wk_xs_dropped(xs, i - 1)) solo[set[i]] = 1;
        else if (wk_xs_verdict(xs, i - 1) >= 0) f->alongside++;
        if (wk_xs_verdict(xs, i - 1) == 0) f->groups[set[i]].outcome = WK_XM_MISMATCH;
    }
    if (prc == 0) {
        f->groups[won].outcome = WK_XM_MATCH;
        if (w >= 0) f->groups[set[0]].outcome = WK_XM_MISMATCH;
        f->chosen = (int)won;
        f->verified = 1;
    } else if (e.code == WK_E_MISMATCH && !it->res.verified) {
        f->groups[set[0]].outcome = WK_XM_MISMATCH;
    } else {
        f->groups[won].outcome = WK_XM_ERROR;
        rc = (*err = e, -1);
    }
    wk_xs_free(xs);
    return rc;
}

/* Groups equal on this key tie after the ranking (the preference only orders them). */
static long tie_key(const wk_xm_group *g)
{
    return (long)(g->size_ok == 1) * 1000 + g->score * 10;
}

/* Passes in rank order until a group is kept: the first untried group, with
 * an expected digest together with the untried groups that tie with it (one
 * shared pass), else alone. */
static int run_passes(wk_xormeta *m, wk_xor_item *it, const wk_xm_opts *o, wk_xm_file *f,
                      const size_t *order, const size_t *rep, const long *fi, wk_err *err)
{
    int solo[WK_XORMETA_MAX_PROFILES] = {0};
    while (f->chosen < 0) {
        size_t r0 = 0, set[1 + WK_XS_MAX], ns = 1;
        while (r0 < f->n_groups && f->groups[order[r0]].outcome != WK_XM_NOT_TRIED) r0++;
        if (r0 == f->n_groups) return 0;
        set[0] = order[r0];
        long key = tie_key(&f->groups[set[0]]);
        for (size_t r = r0 + 1; it->has_expect && !solo[set[0]] && r < f->n_groups &&
                                ns < 1 + WK_XS_MAX; r++) {
            size_t g = order[r];
            if (f->groups[g].outcome == WK_XM_NOT_TRIED && !solo[g] && tie_key(&f->groups[g]) == key)
                set[ns++] = g;
        }
        if (ns > 1) WK_TRY(shared_pass(m, it, o, f, set, ns, rep, fi, solo, err));
        else WK_TRY(solo_pass(m, it, o, f, set[0], rep[set[0]], fi[set[0]], err));
    }
    return 0;
}

/* The "nothing matched" message. */
static int no_match(const wk_xormeta *m, const wk_xor_item *it, const wk_xm_file *f,
                    int64_t hint, wk_err *err)
{
    char buf[WK_ERR_MSG_MAX], d[160];
    size_t at = 0;
    buf[0] = '\0';
    for (size_t g = 0; g < f->n_groups && at < sizeof buf - 1; g++) {
        const wk_xm_group *gr = &f->groups[g];
        const char *what = gr->outcome == WK_XM_MISMATCH ? "hash differs"
                         : gr->outcome == WK_XM_IMPLAUSIBLE ? "output looks like noise"
                         : gr->outcome == WK_XM_ERROR ? "error" : "not tried";
        int w = snprintf(buf + at, sizeof buf - at, "%s[%s: size %llu%s, structure %d/%d, %s]",
                         g ? " " : "", wk_xormeta_describe(m, gr->profiles, d, sizeof d),
                         (unsigned long long)gr->size, gr->size_ok == 0 ? " != payload's" : "",
                         gr->score, gr->score_max, what);
        if (w < 0) break;
        at += (size_t)w < sizeof buf - at ? (size_t)w : sizeof buf - at - 1;
    }
    return wk_err_set(err, WK_E_MISMATCH, "%s: no converter profile reproduces the base of this "
                      "payload (decoded size %s%lld): %s", it->name, hint < 0 ? "unknown " : "",
                      (long long)(hint < 0 ? 0 : hint), buf);
}

int wk_xormeta_decode(wk_xormeta *m, wk_xor_item *it, const wk_xm_opts *o, wk_xm_file *f,
                      wk_err *err)
{
    memset(f, 0, sizeof *f);
    f->chosen = -1;
    wk_buf pre[WK_XORMETA_MAX_PROFILES], dec;
    long fi[WK_XORMETA_MAX_PROFILES];
    size_t rep[WK_XORMETA_MAX_PROFILES], order[WK_XORMETA_MAX_PROFILES];
    wk_buf_init(&dec);
    int gzip = 0, rc = make_groups(m, it->name, f, pre, fi, rep, err);
    if (rc == 0 && f->n_groups == 0)
        rc = wk_err_set(err, WK_E_USAGE, "%s: no converter profile makes a file of this name "
                        "(is the payload set an XOR of a LLaMA HF conversion? other shard sizes?)",
                        it->name);
    else if (rc == 0)
        rc = payload_prefix(it->src, o, WK_XORMETA_PREFIX, &dec, &gzip, err);
    int64_t hint = rc == 0 ? size_hint(it->src, gzip) : -1;
    /* rank: size, then structure of the decoded prefix, then preference */
    for (size_t g = 0; rc == 0 && g < f->n_groups; g++) {
        wk_xm_group *gr = &f->groups[g];
        gr->size_ok = hint < 0 ? -1 : (uint64_t)hint == (gzip ? gr->size & 0xffffffffu : gr->size);
        size_t n = dec.len < pre[g].len ? dec.len : pre[g].len;
        uint8_t *x = malloc(n ? n : 1);
        if (!x) {
            rc = wk_err_set(err, WK_E_NOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < n; i++) x[i] = dec.data[i] ^ pre[g].data[i];
        gr->score_max = score_max(it->name);
        gr->score = score_prefix(it->name, x, n, pre[g].data, pre[g].len, gr->size,
                                 m->prof[rep[g]].conv, (size_t)fi[g]);
        free(x);
        order[g] = g;
    }
    for (size_t a = 1; rc == 0 && a < f->n_groups; a++)  /* stable insertion sort */
        for (size_t b = a; b > 0 && rank_key(&f->groups[order[b]], o->prefer) >
                                        rank_key(&f->groups[order[b - 1]], o->prefer); b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    /* full passes in rank order, tied candidates in one pass */
    if (rc == 0) rc = run_passes(m, it, o, f, order, rep, fi, err);
    if (f->chosen >= 0) f->matched = f->groups[f->chosen].profiles;
    else {
        it->res.committed = 0;
        rc = rc ? rc : no_match(m, it, f, hint, err);
    }
    for (size_t g = 0; g < f->n_groups; g++) wk_buf_free(&pre[g]);
    wk_buf_free(&dec);
    return rc;
}
