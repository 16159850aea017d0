/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's configuration: one INI file (see README "Configuration").
 * A Config is immutable once loaded; a reload builds a new one and swaps the
 * pointer, so code that holds a Config keeps a consistent view.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct Caller;

/* A set of users and groups: "root 1000 @wheel @1001". */
typedef struct IdSet {
        uid_t *uids;
        size_t n_uids;
        gid_t *gids;
        size_t n_gids;
} IdSet;

/* [acceptor NAME]: a keytab the daemon holds and who may accept with it. */
typedef struct AcceptorGrant {
        char *name;
        char *principal;        /* e.g. HTTP/host.example.com@EXAMPLE.COM */
        char *keytab;           /* path, read only by the daemon */
        IdSet allow;
} AcceptorGrant;

typedef enum ExportPolicy {
        EXPORT_NEVER,
        EXPORT_SAME_UID,        /* default: import only by the exporting uid */
} ExportPolicy;

typedef struct Config {
        char *path;
        unsigned refcount;

        /* [daemon] */
        unsigned workers;               /* worker threads, default 4 */
        uint32_t max_frame;             /* bytes, default 1 MiB */
        unsigned max_objects;           /* per connection, default 4096 */
        unsigned max_calls;             /* in flight per connection, default 1024 */
        IdSet tcb;                 /* may act for another logon session */
        ExportPolicy export_policy;
        unsigned export_ttl;            /* seconds an exported context waits */
        IdSet session_key;         /* may read SECPKG_ATTR_SESSION_KEY */

        /* [kerberos] */
        char *krb5_config;              /* KRB5_CONFIG for the daemon, or NULL */
        bool delegation;                /* honour ISC_REQ_DELEGATE */
        unsigned replay_cache;          /* AP-REQs remembered against replay; 0 = off */

        AcceptorGrant *acceptors;
        size_t n_acceptors;
} Config;

/* Parse `path` (NULL: built-in defaults only). On failure returns a negative
 * errno and, for syntax errors, a malloc()ed message in *ret_error. */
int config_load(const char *path, Config **ret, char **ret_error) __attribute__((warn_unused_result));
Config *config_ref(Config *c);
void config_unref(Config *c);

/* True when the caller's uid, gid or one of its groups is in the set. */
bool principals_match(const IdSet *p, const struct Caller *caller);

/* The acceptor grants `caller` may use: by principal name (with or without
 * realm, case-sensitive as Kerberos is) or, with name == NULL, the first one
 * granted. NULL when there is none; *ret_exists tells whether a grant for
 * that principal exists at all (NOT_OWNER vs NO_CREDENTIALS). */
const AcceptorGrant *config_find_acceptor(const Config *c, const struct Caller *caller, const char *name,
                                          bool *ret_exists);
