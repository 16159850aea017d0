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

/* [kerberos] netbios-domain = CORP = CORP.TEST: the realm an explicit
 * identity's NetBIOS domain stands for (config-domains.c). */
typedef struct NetbiosDomain {
        char *netbios;          /* upper case, no dot */
        char *realm;            /* upper case */
} NetbiosDomain;

/* [digest-store NAME]: an HA1 file (never passwords) the daemon holds for
 * HTTP Digest, and who may accept with it. */
typedef struct DigestStoreGrant {
        char *name;
        char *file;             /* "user:realm:HA1" lines, read only by the daemon */
        char *realm;
        char *algorithm;        /* offered in challenges, default SHA-256 */
        bool userhash;          /* offer userhash=true */
        unsigned nonce_cache;   /* nonces this store remembers (its own table) */
        IdSet allow;
} DigestStoreGrant;

#define DIGEST_NONCE_CACHE_DEFAULT 4096u
#define DIGEST_NONCE_CACHE_MAX (1u << 20)

/* [certificate NAME]: a TLS certificate and private key the daemon holds
 * (Schannel) and who may use it. */
typedef struct CertificateGrant {
        char *name;
        char *file;             /* PEM (certificate, maybe key) or PKCS#12 */
        char *key;              /* PEM private key when not in `file`, or NULL */
        char *password;         /* PKCS#12 password, or NULL */
        IdSet allow;
} CertificateGrant;

/* A list of names ("aliases = corp.test CORP.EXAMPLE"). */
typedef struct NameList {
        char **v;
        size_t n;
} NameList;

/* [ntlm-store NAME]: an NT-hash file (never passwords) the daemon holds
 * for the NTLM acceptor, and who may accept with it. */
typedef struct NtlmStoreGrant {
        char *name;
        char *file;             /* "DOMAIN\user:NTHASHHEX" lines, read only by the daemon */
        char *domain;           /* the domain the acceptor names in its challenge */
        bool allow_ntlmv1;      /* allow-ntlmv1: accept NTLMv1 (NTLM2 session) responses; LM never */
        IdSet allow;
        NameList aliases;       /* other names of `domain` a client may give (its DNS name) */
} NtlmStoreGrant;

/* [ntlm-domain NAME]: an Active Directory domain whose accounts the NTLM
 * acceptor has checked by a domain controller through the host's winbindd
 * (NETLOGON pass-through, as a Windows member server does), and who may
 * accept with it (config-ntlm.c). */
typedef struct NtlmDomainGrant {
        char *name;
        char *domain;           /* NetBIOS name; default NAME */
        NameList aliases;       /* the DNS name and others, case-insensitive */
        IdSet allow;
} NtlmDomainGrant;

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
        bool has_admin_group;
        gid_t admin_group;              /* besides root, may use the admin socket */
        int log_level;                  /* LOG_ERR..LOG_DEBUG, default LOG_INFO */
        /* per-uid quotas, 0 = unlimited; on by default (man sspid.conf) */
        unsigned quota_connections;
        unsigned quota_objects;
        unsigned quota_calls;           /* calls in flight */
        uint64_t quota_bytes;           /* buffered output bytes */
        /* get_key waits (pGetKeyFn) and pending exports: on by default */
        unsigned max_get_key_waits;     /* per connection, default 16 */
        unsigned quota_get_key_waits;   /* per uid, default 64; 0 = unlimited */
        unsigned quota_exports;         /* per uid, default 256; 0 = unlimited */
        uint64_t quota_input_bytes;     /* partial frames + requests in flight */
        unsigned quota_queued;          /* jobs waiting for a worker; then its connections wait */
        unsigned quota_kdc_proxy;       /* KDC proxy exchanges in flight per uid, default 1 */
        /* connection hygiene (limits.c); 0 = off */
        unsigned idle_timeout;          /* seconds without objects, calls or traffic */
        unsigned frame_timeout;         /* seconds a started frame may take to complete */
        unsigned fd_reserve;            /* descriptors kept for root and the admin socket */
        unsigned max_unknown_fields;    /* per frame, checked before decoding */
        unsigned max_fields;            /* per frame, checked before decoding */
        /* message-protection = caller (default, as Windows): a completed
         * context's per-message keys go to the caller's library; daemon:
         * every message call comes here and no key leaves. */
        bool message_in_daemon;

        /* [kerberos] */
        char *krb5_config;              /* KRB5_CONFIG for the daemon, or NULL */
        bool delegation;                /* honour ISC_REQ_DELEGATE */
        unsigned replay_cache;          /* AP-REQs remembered against replay; 0 = off */
        char *kdc_proxy_ca_file;        /* roots trusted for KDC proxies (MS-KKDCP); NULL: the system's */
        unsigned kdc_proxy_timeout;     /* seconds one whole proxy exchange may take, default 15 */
        char *kdc_proxy_hosts;          /* proxies a caller may name: "host *.domain ..."; NULL: any */
        NetbiosDomain *netbios_domains; /* netbios-domain lines, in order */
        size_t n_netbios_domains;

        AcceptorGrant *acceptors;
        size_t n_acceptors;

        /* [schannel] */
        char *tls_ca_file;              /* trusted roots beside the system store */
        bool tls_system_store;          /* default yes */
        unsigned tls_chain_cache;       /* seconds a verified peer chain is remembered; 0 = off */
        unsigned tls_session_cache;     /* server sessions kept daemon-wide (client: targets per credential) */
        CertificateGrant *certificates;
        size_t n_certificates;

        /* [digest] */
        bool digest_md5;                /* MD5 challenges offered and answered, default yes */
        unsigned digest_nonce_lifetime; /* seconds, default 300 */
        DigestStoreGrant *digest_stores;
        size_t n_digest_stores;

        /* [ntlm-store NAME] */
        NtlmStoreGrant *ntlm_stores;
        size_t n_ntlm_stores;
        /* [ntlm-domain NAME] */
        NtlmDomainGrant *ntlm_domains;
        size_t n_ntlm_domains;
} Config;

/* config-domains.c: one "netbios-domain = NAME = REALM" line (-EINVAL for
 * a malformed or repeated NAME), and freeing them all. */
int config_add_netbios_domain(Config *c, const char *value) __attribute__((warn_unused_result));
void config_netbios_domains_free(Config *c);
/* config-domains.c: one key of [kerberos] (0, -ENOKEY, -EINVAL, -ENOMEM). */
int config_kerberos_apply(Config *c, const char *key, char *value) __attribute__((warn_unused_result));

/* Parse `path` (NULL: built-in defaults only). On failure returns a negative
 * errno and, for syntax errors, a malloc()ed message in *ret_error. */
int config_load(const char *path, Config **ret, char **ret_error) __attribute__((warn_unused_result));
Config *config_ref(Config *c);
void config_unref(Config *c);

/* True when the caller's uid, gid or one of its groups is in the set. */
bool principals_match(const IdSet *p, const struct Caller *caller);

/* Whether a principal name matches an [acceptor] grant's principal (NULL:
 * the whole keytab): case-insensitive as AD compares SPNs, realm included;
 * a name without a realm matches the grant's name in its realm. */
bool config_principal_matches(const char *grant, const char *name);

/* Whether a client's domain `name` is `domain` or one of `aliases`, ASCII
 * case-insensitively (an empty name matches nothing). */
bool config_domain_matches(const char *domain, const NameList *aliases, const char *name);

/* For config-ntlm.c, the NTLM sections' half of config.c: */
int parse_principals(char *s, IdSet *p, const char **ret_bad) __attribute__((warn_unused_result));
int parse_bool(const char *s, bool *ret) __attribute__((warn_unused_result));
/* A decimal number of at most `max`: 0 or -EINVAL. */
int parse_uint(const char *s, unsigned long max, unsigned long *ret) __attribute__((warn_unused_result));
/* *dst = a copy of v (the old value freed); -ENOMEM. */
int config_replace_str(char **dst, const char *v) __attribute__((warn_unused_result));
int config_parse_names(const char *s, NameList *ret) __attribute__((warn_unused_result));
void config_names_done(NameList *l);
/* Opens [ntlm-domain NAME] (0 or -ENOMEM), applies one of its keys
 * (-ENOKEY, -EINVAL, -ENOENT with *ret_bad), frees what the NTLM sections
 * hold, and completes them after parsing (-EINVAL naming the section in
 * *ret_what, a static string). */
int config_ntlm_domain_open(Config *c, const char *name) __attribute__((warn_unused_result));
int config_ntlm_domain_apply(Config *c, const char *key, char *value, const char **ret_bad)
        __attribute__((warn_unused_result));
int config_ntlm_store_apply(NtlmStoreGrant *g, const char *key, char *value, const char **ret_bad)
        __attribute__((warn_unused_result));
void config_ntlm_free(Config *c);
int config_ntlm_finish(Config *c, const char **ret_what) __attribute__((warn_unused_result));
