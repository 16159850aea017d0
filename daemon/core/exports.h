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
 */

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

/* Keep an exported context (blob, taken over on success) with the
 * reservation made for it, and the exporter's per-message state
 * (msg_state: opaque here, a secret wiped when freed; NULL for none;
 * taken over on success). src is the exporting context's id (never
 * reused). 0 with the ticket, or -ENOMEM, -EIO (the caller still owns
 * blob, msg_state and the reservation). */
int server_export_put(struct Server *s, struct UidUsage *u, uint64_t src, const char *pkg, uint8_t *blob,
                      size_t len, void *msg_state, size_t msg_state_len, uint8_t ticket[EXPORT_TICKET_LEN])
        __attribute__((warn_unused_result));

/* Take an exported context out, with the message state put with it
 * (*ret_msg_state NULL when none; the caller frees both with
 * free_secret). 0, -ENOENT (unknown, expired, or of another package),
 * -EPERM (another uid's). */
int server_export_take(struct Server *s, const char *pkg, uid_t uid, const uint8_t *ticket, size_t ticket_len,
                       uint8_t **ret_blob, size_t *ret_len, void **ret_msg_state, size_t *ret_msg_state_len)
        __attribute__((warn_unused_result));

/* Exported contexts waiting to be imported (sspictl status). */
unsigned server_exports_waiting(struct Server *s);
/* Free the exported contexts nobody imported (at exit). */
void server_free_exports(struct Server *s);
