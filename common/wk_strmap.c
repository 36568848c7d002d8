/* wk_strmap.c — string -> index map (see wk_strmap.h). */
#include "wk_strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct wk_strmap_slot {
    const char *key;   /* NULL = empty */
    size_t val;
};

#define STRMAP_MIN_CAP 16

static uint64_t strmap_fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* The slot holding key, or the empty slot where it would go (cap > n). */
static wk_strmap_slot *strmap_probe(wk_strmap_slot *slot, size_t cap, const char *key)
{
    size_t mask = cap - 1;
    for (size_t h = (size_t)strmap_fnv1a(key) & mask;; h = (h + 1) & mask)
        if (!slot[h].key || strcmp(slot[h].key, key) == 0) return &slot[h];
}

/* Double the table (STRMAP_MIN_CAP slots when empty).  0, or -1 on overflow
 * or allocation failure (m unchanged). */
static int strmap_grow(wk_strmap *m)
{
    size_t cap = m->cap ? 2 * m->cap : STRMAP_MIN_CAP;
    if (cap < m->cap || cap > SIZE_MAX / sizeof(wk_strmap_slot)) return -1;
    wk_strmap_slot *slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i].key) *strmap_probe(slot, cap, m->slot[i].key) = m->slot[i];
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return 0;
}

int wk_strmap_add(wk_strmap *m, const char *key, size_t val, long *prev, wk_err *err)
{
    if (m->cap) {
        const wk_strmap_slot *e = strmap_probe(m->slot, m->cap, key);
        if (e->key) {
            *prev = (long)e->val;
            return 0;
        }
    }
    if (2 * (m->n + 1) > m->cap && strmap_grow(m))
        return wk_err_set(err, WK_E_NOMEM, "out of memory");
    wk_strmap_slot *e = strmap_probe(m->slot, m->cap, key);
    e->key = key;
    e->val = val;
    m->n++;
    *prev = -1;
    return 0;
}

long wk_strmap_get(const wk_strmap *m, const char *key)
{
    if (!m->cap) return -1;
    const wk_strmap_slot *e = strmap_probe(m->slot, m->cap, key);
    return e->key ? (long)e->val : -1;
}

size_t wk_strmap_count(const wk_strmap *m) { return m->n; }

void wk_strmap_free(wk_strmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}
