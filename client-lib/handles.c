/* SPDX-License-Identifier: MIT */
/*
 * The handles this process holds on its connection, and the attribute
 * answers the daemon marked fixed. It lets DeleteSecurityContext and
 * FreeCredentialsHandle answer without waiting for the daemon (the free
 * is pipelined: client.c call_free), refuse a handle never issued here
 * with no round trip, and QueryContextAttributes answer a fixed attribute
 * from the library's copy.
 *
 * The table is the connection's: emptied when the library reconnects
 * (the daemon's objects died with the old connection) and in a forked
 * child. Handles are process-wide, valid on every thread. Lock order:
 * client.lock may be held when taking handles.lock, never the reverse.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

typedef struct CachedAttr {
        struct CachedAttr *next;
        uint32_t attr;
        size_t len;
        uint8_t data[];         /* a packed Sspiw__QueryCtxAttrRep */
} CachedAttr;

typedef struct Entry {
        struct Entry *next;
        uint64_t lower, upper;
        HandleKind kind;
        uint64_t epoch;         /* bumped by every leg: a query older than it is not kept */
        CachedAttr *attrs;
        uint8_t *setting;       /* SetContextAttributes(KEYING_MATERIAL_INFO), opaque */
        size_t setting_len;
} Entry;

static struct {
        pthread_mutex_t lock;
        Entry **buckets;
        size_t n_buckets, n;
        bool lost;              /* a handle could not be added (no memory) */
} handles = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t slot(uint64_t lower, uint64_t upper, size_t n) {
        /* dwUpper is the daemon's random object id: mixing lower in keeps
         * forged or colliding values spread. */
        uint64_t h = upper ^ (lower * 0x9e3779b97f4a7c15ULL);
        return (size_t) ((h ^ (h >> 29)) % n);
}

static Entry **find(const SecHandle *h, HandleKind kind) {
        if (!handles.n_buckets)
                return NULL;
        for (Entry **p = &handles.buckets[slot(h->dwLower, h->dwUpper, handles.n_buckets)]; *p; p = &(*p)->next)
                if ((*p)->lower == h->dwLower && (*p)->upper == h->dwUpper && (*p)->kind == kind)
                        return p;
        return NULL;
}

static void attrs_free(Entry *e) {
        while (e->attrs) {
                CachedAttr *a = e->attrs;
                e->attrs = a->next;
                free(a);
        }
}

static void entry_free(Entry *e) {
        attrs_free(e);
        free(e->setting);
        free(e);
}

static void grow(void) {
        size_t n = handles.n_buckets ? handles.n_buckets * 4 : 64;
        Entry **b = calloc(n, sizeof(*b));

        if (!b)
                return; /* longer chains, still correct */
        for (size_t i = 0; i < handles.n_buckets; i++)
                while (handles.buckets[i]) {
                        Entry *e = handles.buckets[i];
                        size_t k = slot(e->lower, e->upper, n);
                        handles.buckets[i] = e->next;
                        e->next = b[k];
                        b[k] = e;
                }
        free(handles.buckets);
        handles.buckets = b;
        handles.n_buckets = n;
}

void handles_add(const SecHandle *h, HandleKind kind) {
        Entry *e;

        pthread_mutex_lock(&handles.lock);
        if (find(h, kind)) {
                pthread_mutex_unlock(&handles.lock);
                return;
        }
        if (handles.n >= handles.n_buckets)
                grow();
        e = calloc(1, sizeof(*e));
        if (e && handles.n_buckets) {
                size_t k = slot(h->dwLower, h->dwUpper, handles.n_buckets);
                e->lower = h->dwLower;
                e->upper = h->dwUpper;
                e->kind = kind;
                e->next = handles.buckets[k];
                handles.buckets[k] = e;
                handles.n++;
        } else {
                /* Not known here: its free then takes the synchronous
                 * path (handles_take() fails, call_free() asks the daemon). */
                free(e);
                handles.lost = true;
        }
        pthread_mutex_unlock(&handles.lock);
}

HandleTake handles_take(const SecHandle *h, HandleKind kind) {
        HandleTake r = HANDLE_UNKNOWN;
        Entry **p, *e;

        pthread_mutex_lock(&handles.lock);
        p = find(h, kind);
        if (p) {
                e = *p;
                *p = e->next;
                entry_free(e);
                handles.n--;
                r = HANDLE_TAKEN;
        } else if (handles.lost)
                r = HANDLE_ASK_DAEMON;
        pthread_mutex_unlock(&handles.lock);
        return r;
}

static void clear_locked(void) {
        for (size_t i = 0; i < handles.n_buckets; i++)
                while (handles.buckets[i]) {
                        Entry *e = handles.buckets[i];
                        handles.buckets[i] = e->next;
                        entry_free(e);
                }
        handles.n = 0;
        handles.lost = false;
}

void handles_clear(void) {
        pthread_mutex_lock(&handles.lock);
        clear_locked();
        pthread_mutex_unlock(&handles.lock);
}

void handles_atfork_prepare(void) {
        pthread_mutex_lock(&handles.lock);
}

void handles_atfork_parent(void) {
        pthread_mutex_unlock(&handles.lock);
}

/* The child's handles are all invalid (it will open its own connection). */
void handles_atfork_child(void) {
        pthread_mutex_init(&handles.lock, NULL);
        clear_locked();
}

uint64_t handles_epoch(const SecHandle *h) {
        Entry **p;
        uint64_t r = UINT64_MAX;

        pthread_mutex_lock(&handles.lock);
        p = find(h, HANDLE_CONTEXT);
        if (p)
                r = (*p)->epoch;
        pthread_mutex_unlock(&handles.lock);
        return r;
}

void handles_attr_forget(const SecHandle *h) {
        Entry **p;

        pthread_mutex_lock(&handles.lock);
        p = find(h, HANDLE_CONTEXT);
        if (p) {
                (*p)->epoch++;
                attrs_free(*p);
        }
        pthread_mutex_unlock(&handles.lock);
}

void handles_attr_put(const SecHandle *h, uint64_t epoch, uint32_t attr, const Sspiw__QueryCtxAttrRep *q) {
        size_t len = sspiw__query_ctx_attr_rep__get_packed_size(q);
        CachedAttr *a;
        Entry **p;

        /* Never a session key (not marked fixed by the daemon anyway). */
        if (q->has_session_key || len > 65536)
                return;
        a = malloc(sizeof(*a) + len);
        if (!a)
                return;
        a->attr = attr;
        a->len = sspiw__query_ctx_attr_rep__pack(q, a->data);
        pthread_mutex_lock(&handles.lock);
        p = find(h, HANDLE_CONTEXT);
        if (p && (*p)->epoch == epoch) {
                for (CachedAttr *o = (*p)->attrs; o; o = o->next)
                        if (o->attr == attr)
                                goto drop; /* another thread was first */
                a->next = (*p)->attrs;
                (*p)->attrs = a;
                a = NULL;
        }
drop:
        pthread_mutex_unlock(&handles.lock);
        free(a);
}

bool handles_attr_has(const SecHandle *h, uint32_t attr) {
        bool r = false;
        Entry **p;

        pthread_mutex_lock(&handles.lock);
        p = find(h, HANDLE_CONTEXT);
        for (CachedAttr *a = p ? (*p)->attrs : NULL; a && !r; a = a->next)
                r = a->attr == attr;
        pthread_mutex_unlock(&handles.lock);
        return r;
}

Sspiw__QueryCtxAttrRep *handles_attr_get(const SecHandle *h, uint32_t attr) {
        Sspiw__QueryCtxAttrRep *q = NULL;
        Entry **p;

        pthread_mutex_lock(&handles.lock);
        p = find(h, HANDLE_CONTEXT);
        for (CachedAttr *a = p ? (*p)->attrs : NULL; a; a = a->next)
                if (a->attr == attr) {
                        q = sspiw__query_ctx_attr_rep__unpack(NULL, a->len, a->data);
                        break;
                }
        pthread_mutex_unlock(&handles.lock);
        return q;
}

int handles_setting_put(const SecHandle *h, const void *data, size_t len) {
        uint8_t *copy = malloc(len ? len : 1);
        Entry **p;
        int r = -ENOENT;

        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, len);
        pthread_mutex_lock(&handles.lock);
        p = find(h, HANDLE_CONTEXT);
        if (p) {
                free((*p)->setting);
                (*p)->setting = copy;
                (*p)->setting_len = len;
                copy = NULL;
                r = 0;
        }
        pthread_mutex_unlock(&handles.lock);
        free(copy);
        return r;
}

int handles_setting_get(const SecHandle *h, uint8_t **ret, size_t *ret_len) {
        Entry **p;
        int r = -ENOENT;

        *ret = NULL;
        *ret_len = 0;
        pthread_mutex_lock(&handles.lock);
        p = find(h, HANDLE_CONTEXT);
        if (p && (*p)->setting) {
                *ret = malloc((*p)->setting_len ? (*p)->setting_len : 1);
                if (*ret) {
                        memcpy(*ret, (*p)->setting, (*p)->setting_len);
                        *ret_len = (*p)->setting_len;
                        r = 0;
                } else
                        r = -ENOMEM;
        }
        pthread_mutex_unlock(&handles.lock);
        return r;
}
