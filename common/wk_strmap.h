/* wk_strmap.h — the one string -> index map of weightkit (tensor names to
 * their index in a reader's or writer's table).
 *
 * Open addressing with linear probing on FNV-1a 64 of the key, at most half
 * full: the table doubles as keys are added, so its memory is bounded by the
 * number of entries (16 bytes a slot, at most 4 slots an entry), never by a
 * count claimed in a file header.  Keys are NUL-terminated and borrowed: the
 * caller keeps them valid and unchanged while the map is used (they usually
 * live in the very table the values index).  Zero-initialise (or
 * WK_STRMAP_INIT) for an empty map; wk_strmap_free returns it to empty. */
#ifndef WK_STRMAP_H
#define WK_STRMAP_H

#include <stddef.h>
#include "wk_err.h"

typedef struct wk_strmap_slot wk_strmap_slot;

typedef struct {
    wk_strmap_slot *slot;   /* cap slots (NULL while empty) */
    size_t cap, n;          /* cap: 0 or a power of two >= 16; n: entries */
} wk_strmap;

#define WK_STRMAP_INIT {NULL, 0, 0}

/* Add key -> val unless key is already present.  *prev gets -1 when the key
 * was added, else the value stored for it (the map is then unchanged: the
 * first value wins).  0, or -1 with WK_E_NOMEM ("out of memory"; the map is
 * unchanged). */
int wk_strmap_add(wk_strmap *m, const char *key, size_t val, long *prev, wk_err *err);

/* The value stored for key, or -1. */
long wk_strmap_get(const wk_strmap *m, const char *key);

/* Number of keys. */
size_t wk_strmap_count(const wk_strmap *m);

/* Release the table; m is empty again.  Safe on an empty map. */
void wk_strmap_free(wk_strmap *m);

#endif
