/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Exported contexts waiting to be imported (ExportSecurityContext and
 * ImportSecurityContext, context.c). An export is kept in daemon memory
 * under a random 32-byte ticket until it is imported once, or until
 * export-ttl seconds have passed.
 *
 * Bounds: a context has at most one export waiting (exporting it again
 * replaces the previous one, whose ticket then fails), and a uid at most
 * quota-exports. Lookups are O(1): a hash table keyed by the ticket and one
 * keyed by the exporting context's id. The store has a lock of its own: no
 * export or import takes the server-wide lock for more than a moment.
 *
 * What waits is either a serialised context (a blob the package wrote) or,
 * for a package whose state cannot be serialised (Schannel: a live TLS
 * connection inside OpenSSL), the live state itself, which the store owns
 * and frees with the function given with it. Both count alike against
 * quota-exports, and both go when the ttl ends: the daemon's sweep drops
 * them within a second of it (server_exports_expire).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct Server;
struct UidUsage;

#define EXPORT_TICKET_LEN 32

/* Before a context is serialised: forget its export still waiting, if any,
 * and take one of the uid's quota-exports. 0, or -EDQUOT over the quota. */
int server_export_reserve(struct Server *s, struct UidUsage *u, uint64_t src, unsigned quota)
        __attribute__((warn_unused_result));
/* Give back a reservation that was not used. */
void server_export_unreserve(struct UidUsage *u);

/* One exported context: a blob (wiped when freed) or a live state, and
 * the dispatcher's bookkeeping of the context (its handle's kind, last
 * returned flags, expiry), which the importer's handle takes over. */
typedef struct ExportState {
        uint8_t *blob;
        size_t len;
        void *live;
        void (*live_free)(void *live);
        bool inbound;
        uint32_t attrs;
        int64_t expiry;
        bool reset; /* SECPKG_CONTEXT_EXPORT_RESET_NEW */
} ExportState;

/* Frees what st holds (NULL members are fine) and empties it. */
void export_state_release(ExportState *st);

/* Keep an exported context (st, taken over and emptied on success) with
 * the reservation made for it. src is the exporting context's id (never
 * reused). 0 with the ticket, or -ENOMEM, -EIO (the caller still owns st
 * and the reservation). */
int server_export_put(struct Server *s, struct UidUsage *u, uint64_t src, const char *pkg, ExportState *st,
                      uint8_t ticket[EXPORT_TICKET_LEN]) __attribute__((warn_unused_result));

/* Take an exported context out into *ret (the caller's then). 0, -ENOENT
 * (unknown, expired, or of another package), -EPERM (another uid's). */
int server_export_take(struct Server *s, const char *pkg, uid_t uid, const uint8_t *ticket, size_t ticket_len,
                       ExportState *ret) __attribute__((warn_unused_result));

/* Drops the exports whose ttl has ended (the daemon's sweep, each second). */
void server_exports_expire(struct Server *s);

/* Exported contexts waiting to be imported (sspictl status). */
unsigned server_exports_waiting(struct Server *s);
/* Free the exported contexts nobody imported (at exit). */
void server_free_exports(struct Server *s);
