/* SPDX-License-Identifier: MIT */
/*
 * The Kerberos security package on Heimdal's GSSAPI krb5 mechanism.
 *
 * Credentials:
 *  - outbound from an explicit identity: the password is kept (wiped on
 *    free) and the AS exchange happens on the first ISC, as on Windows,
 *    where AcquireCredentialsHandle never talks to the KDC;
 *  - outbound from the caller's own FILE ccache, read by the client
 *    library with the caller's rights and sent as an image, copied into a
 *    MEMORY ccache (proto/PROTOCOL.md says why no owner check is needed);
 *  - inbound from the keytab a config grant names, copied into a MEMORY
 *    keytab restricted to the granted principal.
 * Every Heimdal object the package creates lives in daemon memory; nothing
 * is written to the file system.
 *
 * Library failures become SSPI codes in kerberos-errors.c only.
 */
#include "config.h"

#include "kerberos.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gssapi/gssapi_krb5.h>

#define KRB_MAX_TOKEN 48000
/* Service tickets remembered per credential for step_may_block(). */
#define KNOWN_TARGETS 16
/* A ticket this close to its end counts as gone: the next ISC renews it. */
#define TICKET_MARGIN 60

/* SEC_CHANNEL_BINDINGS (sspi-facts §3.6): eight little-endian ULONGs. */
#define CB_HEADER_SIZE 32
#define CB_EX_MAGIC 0x58454243U /* 'XEBC' */
#define CB_EX_HEADER_SIZE 16

/* Exported context blob: "SKRB", version, then fixed fields, then the
 * GSS export token. It never leaves the daemon, but import still checks
 * every length. */
#define EXPORT_MAGIC "SKRB"
#define EXPORT_VERSION 1
#define EXPORT_HEADER_SIZE (4 + 4 + 4 * 4 + 2 * 8 + 4)

typedef struct KnownTarget {
        char *name;
        time_t until;
} KnownTarget;

typedef struct KrbCred {
        /* `lock` guards the fields below that change after acquire and is
         * only ever held briefly: step_may_block() and cred_name() take it
         * on the event loop. `logon_lock` serialises the AS exchange,
         * which may wait seconds for a KDC, without holding `lock`. */
        pthread_mutex_t lock;
        pthread_mutex_t logon_lock;
        uint32_t use;                   /* SECPKG_CRED_* this credential can really serve */
        bool may_delegate;              /* config allowed delegation at acquire time */

        /* Outbound. init_cred stays GSS_C_NO_CREDENTIAL until a TGT is in
         * `ccache`; with a password that is the first ISC. */
        gss_cred_id_t init_cred;
        krb5_ccache ccache;             /* MEMORY ccache behind init_cred */
        krb5_principal client;
        char *client_name;
        char *password;                 /* NUL-terminated, until the AS exchange succeeded */
        size_t password_len;
        KnownTarget known[KNOWN_TARGETS];
        unsigned known_next;

        /* Inbound. */
        gss_cred_id_t accept_cred;
        krb5_keytab keytab;             /* MEMORY keytab behind accept_cred */
        char *acceptor_name;
} KrbCred;

typedef struct KrbCtx {
        gss_ctx_id_t gss;
        bool initiator;
        bool established;
        gss_name_t target;              /* ISC: until the handshake ends */
        uint32_t req_flags;             /* ISC_REQ_* or ASC_REQ_* as asked */
        uint32_t ret_flags;             /* ISC_RET_* or ASC_RET_* in effect */
        OM_uint32 gss_flags;
        int64_t start;                  /* FILETIME */
        int64_t expiry;                 /* FILETIME */
        gss_cred_id_t delegated;        /* ASC: what the client forwarded */
        bool have_sizes;
        SecPkgContext_Sizes sizes;
} KrbCtx;

/* ---- per-thread krb5 context ---------------------------------------- */

/*
 * A krb5_context is not safe to share between threads without locking,
 * and building one reads krb5.conf: keep one per thread for the thread's
 * life. Heimdal's GSS layer does the same internally.
 */
static pthread_key_t krb_context_key;
static pthread_once_t krb_context_once = PTHREAD_ONCE_INIT;
static __thread krb5_context krb_context_tls;

static void krb_context_destroy(void *p) {
        krb5_free_context(p);
}

static void krb_context_key_init(void) {
        if (pthread_key_create(&krb_context_key, krb_context_destroy) != 0)
                abort();
}

krb5_context krb_context(void) {
        krb5_context k;
        krb5_error_code r;

        if (krb_context_tls)
                return krb_context_tls;
        pthread_once(&krb_context_once, krb_context_key_init);
        r = krb5_init_context(&k);
        if (r != 0) {
                krb_log("krb5_init_context failed: %d", r);
                return NULL;
        }
        if (pthread_setspecific(krb_context_key, k) != 0) {
                krb5_free_context(k);
                return NULL;
        }
        krb_context_tls = k;
        return k;
}

/* ---- small helpers --------------------------------------------------- */

static int64_t filetime_in(OM_uint32 seconds) {
        if (seconds == GSS_C_INDEFINITE)
                return FILETIME_NEVER;
        return filetime_from_unix((int64_t) time(NULL) + seconds);
}

static PkgBuffer *find_buffer(PkgBuffer *b, size_t n, uint32_t type) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type)
                        return &b[i];
        return NULL;
}

static uint32_t get_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static char *gss_name_to_string(gss_name_t name) {
        OM_uint32 major, minor;
        gss_buffer_desc buf = GSS_C_EMPTY_BUFFER;
        char *s;

        major = gss_display_name(&minor, name, &buf, NULL);
        if (GSS_ERROR(major))
                return NULL;
        s = strndup(buf.value ? buf.value : "", buf.length);
        (void) gss_release_buffer(&minor, &buf);
        return s;
}

static void known_targets_clear(KrbCred *c) {
        for (size_t i = 0; i < KNOWN_TARGETS; i++) {
                free(c->known[i].name);
                c->known[i] = (KnownTarget) {};
        }
}

/* Caller holds c->lock. */
static bool known_target_valid(KrbCred *c, const char *target, time_t now) {
        for (size_t i = 0; i < KNOWN_TARGETS; i++)
                if (c->known[i].name && strcmp(c->known[i].name, target) == 0)
                        return c->known[i].until > now + TICKET_MARGIN;
        return false;
}

/* Remember that the ccache now holds a ticket for `target`, so the next
 * first leg to it can run inline. A full table forgets the oldest entry. */
static void known_target_add(KrbCred *c, const char *target, time_t until) {
        size_t slot = KNOWN_TARGETS;
        char *copy;

        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < KNOWN_TARGETS; i++)
                if (c->known[i].name && strcmp(c->known[i].name, target) == 0) {
                        c->known[i].until = until;
                        pthread_mutex_unlock(&c->lock);
                        return;
                }
        copy = strdup(target);
        if (copy) {
                slot = c->known_next++ % KNOWN_TARGETS;
                free(c->known[slot].name);
                c->known[slot].name = copy;
                c->known[slot].until = until;
        }
        pthread_mutex_unlock(&c->lock);
}

/* ---- credentials ------------------------------------------------------ */

static void kerberos_cred_free(void *p) {
        KrbCred *c = p;
        krb5_context k;
        OM_uint32 minor;

        if (!c)
                return;
        /* The GSS credentials hold their own handles on the MEMORY ccache
         * and keytab: drop them first so destroying ours frees the data. */
        (void) gss_release_cred(&minor, &c->init_cred);
        (void) gss_release_cred(&minor, &c->accept_cred);
        k = krb_context();
        if (k) {
                if (c->ccache)
                        (void) krb5_cc_destroy(k, c->ccache);
                if (c->keytab)
                        (void) krb5_kt_close(k, c->keytab);
                if (c->client)
                        krb5_free_principal(k, c->client);
        }
        if (c->password) {
                explicit_bzero(c->password, c->password_len);
                free(c->password);
        }
        known_targets_clear(c);
        free(c->client_name);
        free(c->acceptor_name);
        pthread_mutex_destroy(&c->lock);
        pthread_mutex_destroy(&c->logon_lock);
        free(c);
}

static SECURITY_STATUS set_client(KrbCred *c, krb5_context k, krb5_const_principal p) {
        krb5_principal copy = NULL;
        char *name = NULL;

        if (krb5_copy_principal(k, p, &copy) != 0 || krb5_unparse_name(k, copy, &name) != 0) {
                if (copy)
                        krb5_free_principal(k, copy);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        if (c->client)
                krb5_free_principal(k, c->client);
        c->client = copy;
        /* krb5_unparse_name memory belongs to the same malloc. */
        free(c->client_name);
        c->client_name = name;
        return SEC_E_OK;
}

/*
 * The principal named by an explicit identity. Windows accepts "user" with
 * a separate domain, "DOMAIN\user" and "user@REALM"; the domain is the
 * realm here, upper-cased because Windows domains are case-insensitive and
 * Kerberos realms of AD domains are upper case by convention. The user part
 * is one name component: "/" or "@" inside it are not parsed.
 */
static SECURITY_STATUS identity_principal(krb5_context k, const PkgAcquire *a, krb5_principal *ret) {
        char *user = NULL, *realm = NULL, *def_realm = NULL;
        const char *u = a->user, *d = a->domain, *sep;
        struct passwd pw, *pwp = NULL;
        char pwbuf[1024];
        SECURITY_STATUS st = SEC_E_OK;

        if (!u || !*u) {
                /* A password without a user name: the logon session's own
                 * user, as Windows does. */
                if (getpwuid_r(a->act_as_uid, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 || !pwp)
                        return SEC_E_UNKNOWN_CREDENTIALS;
                u = pwp->pw_name;
        }
        if ((sep = strchr(u, '\\'))) {
                realm = strndup(u, sep - u);
                user = strdup(sep + 1);
        } else if ((sep = strrchr(u, '@'))) {
                user = strndup(u, sep - u);
                realm = strdup(sep + 1);
        } else {
                user = strdup(u);
                if (d && *d)
                        realm = strdup(d);
                else if (krb5_get_default_realm(k, &def_realm) == 0) {
                        realm = strdup(def_realm);
                        free(def_realm);
                } else
                        st = SEC_E_NO_AUTHENTICATING_AUTHORITY;
        }
        if (st == SEC_E_OK && (!user || !realm))
                st = SEC_E_INSUFFICIENT_MEMORY;
        if (st == SEC_E_OK && (!*user || !*realm))
                st = SEC_E_UNKNOWN_CREDENTIALS;
        if (st == SEC_E_OK) {
                for (char *p = realm; *p; p++)
                        if (*p >= 'a' && *p <= 'z')
                                *p -= 'a' - 'A';
                if (krb5_build_principal(k, ret, strlen(realm), realm, user, NULL) != 0)
                        st = SEC_E_INSUFFICIENT_MEMORY;
        }
        free(user);
        free(realm);
        return st;
}

/* The AS exchange for a password credential. Caller holds c->logon_lock,
 * so c->client and c->password stay put while the KDC is asked. */
static SECURITY_STATUS logon_with_password(KrbCred *c) {
        krb5_context k = krb_context();
        krb5_get_init_creds_opt *opt = NULL;
        krb5_creds creds;
        krb5_ccache cc = NULL;
        gss_cred_id_t g = GSS_C_NO_CREDENTIAL;
        OM_uint32 major, minor;
        krb5_error_code r;
        SECURITY_STATUS st;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        memset(&creds, 0, sizeof(creds));
        r = krb5_get_init_creds_opt_alloc(k, &opt);
        if (r != 0)
                return krb_status_krb5(KRB_OP_LOGON, r, "krb5_get_init_creds_opt_alloc");
        krb5_get_init_creds_opt_set_default_flags(k, "sspid", krb5_principal_get_realm(k, c->client), opt);
        /* Windows TGTs are forwardable; delegation needs it. */
        krb5_get_init_creds_opt_set_forwardable(opt, 1);
        r = krb5_get_init_creds_password(k, &creds, c->client, c->password, NULL, NULL, 0, NULL, opt);
        krb5_get_init_creds_opt_free(k, opt);
        if (r != 0)
                return krb_status_krb5(KRB_OP_LOGON, r, "krb5_get_init_creds_password");

        r = krb5_cc_new_unique(k, "MEMORY", NULL, &cc);
        if (r == 0)
                r = krb5_cc_initialize(k, cc, creds.client);
        if (r == 0)
                r = krb5_cc_store_cred(k, cc, &creds);
        if (r != 0) {
                st = krb_status_krb5(KRB_OP_LOGON, r, "storing the TGT");
                goto fail;
        }
        major = gss_krb5_import_cred(&minor, cc, NULL, NULL, &g);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_LOGON, major, minor, "gss_krb5_import_cred");
                goto fail;
        }
        pthread_mutex_lock(&c->lock);
        st = set_client(c, k, creds.client);
        if (st != SEC_E_OK) {
                pthread_mutex_unlock(&c->lock);
                goto fail;
        }
        c->ccache = cc;
        c->init_cred = g;
        /* The password has done its job: nothing else may read it. */
        explicit_bzero(c->password, c->password_len);
        free(c->password);
        c->password = NULL;
        c->password_len = 0;
        pthread_mutex_unlock(&c->lock);
        krb5_free_cred_contents(k, &creds);
        return SEC_E_OK;

fail:
        (void) gss_release_cred(&minor, &g);
        if (cc)
                (void) krb5_cc_destroy(k, cc);
        krb5_free_cred_contents(k, &creds);
        return st;
}

/* The GSS initiator credential, doing the AS exchange first if needed. */
static SECURITY_STATUS cred_initiator(KrbCred *c, gss_cred_id_t *ret) {
        SECURITY_STATUS st = SEC_E_OK;
        gss_cred_id_t g;

        pthread_mutex_lock(&c->lock);
        g = c->init_cred;
        pthread_mutex_unlock(&c->lock);
        if (g != GSS_C_NO_CREDENTIAL) {
                *ret = g;
                return SEC_E_OK;
        }

        /* Several contexts may share the credential on different workers:
         * the first runs the AS exchange, the others wait for its result
         * (and try again themselves if it failed). */
        pthread_mutex_lock(&c->logon_lock);
        pthread_mutex_lock(&c->lock);
        g = c->init_cred;
        pthread_mutex_unlock(&c->lock);
        if (g == GSS_C_NO_CREDENTIAL) {
                st = c->password ? logon_with_password(c) : SEC_E_NO_CREDENTIALS;
                g = c->init_cred;
        }
        pthread_mutex_unlock(&c->logon_lock);
        *ret = g;
        return st;
}

/*
 * Parse a version 3 or 4 FILE ccache image with Heimdal's own decoders and
 * store what it holds into a MEMORY ccache. Returns the principal and the
 * TGT's end time (0 when there is no TGT).
 */
static SECURITY_STATUS parse_ccache_image(krb5_context k, const uint8_t *data, size_t len, krb5_ccache *ret_cc,
                                          time_t *ret_tgt_end) {
        krb5_storage *sp;
        krb5_principal princ = NULL;
        krb5_ccache cc = NULL;
        int8_t pvno, tag;
        int16_t hlen;
        time_t tgt_end = 0;
        krb5_error_code r;
        SECURITY_STATUS st = SEC_E_NO_CREDENTIALS;

        if (krb_ccache_image_check(data, len) < 0)
                return SEC_E_NO_CREDENTIALS; /* torn or forged: Heimdal's decoders would leak on it */
        sp = krb5_storage_from_readonly_mem(data, len);
        if (!sp)
                return SEC_E_INSUFFICIENT_MEMORY;
        krb5_storage_set_eof_code(sp, KRB5_CC_END);
        /* No field can be larger than the file; stops a forged length from
         * asking for gigabytes. */
        krb5_storage_set_max_alloc(sp, len);

        if (krb5_ret_int8(sp, &pvno) != 0 || pvno != 5 || krb5_ret_int8(sp, &tag) != 0)
                goto out;
        if (tag == 3)
                krb5_storage_set_flags(sp, KRB5_STORAGE_KEYBLOCK_KEYTYPE_TWICE);
        else if (tag != 4)
                goto out; /* versions 1 and 2 are host byte order relics */
        if (tag == 4) {
                /* Header tags (KDC time offset): skipped. */
                if (krb5_ret_int16(sp, &hlen) != 0 || hlen < 0 ||
                    krb5_storage_seek(sp, hlen, SEEK_CUR) < 0 ||
                    (size_t) krb5_storage_seek(sp, 0, SEEK_CUR) > len)
                        goto out;
        }
        if (krb5_ret_principal(sp, &princ) != 0)
                goto out;
        r = krb5_cc_new_unique(k, "MEMORY", NULL, &cc);
        if (r == 0)
                r = krb5_cc_initialize(k, cc, princ);
        if (r != 0) {
                st = krb_status_krb5(KRB_OP_LOGON, r, "creating a MEMORY ccache");
                goto out;
        }
        for (;;) {
                krb5_creds creds;
                off_t pos = krb5_storage_seek(sp, 0, SEEK_CUR);

                if (pos < 0)
                        goto out;
                if ((size_t) pos >= len)
                        break;
                r = krb5_ret_creds(sp, &creds);
                if (r != 0) {
                        krb5_free_cred_contents(k, &creds);
                        goto out;
                }
                if (krb5_principal_is_krbtgt(k, creds.server) &&
                    krb5_realm_compare(k, creds.server, princ) &&
                    strcmp(krb5_principal_get_comp_string(k, creds.server, 1),
                           krb5_principal_get_realm(k, princ)) == 0 &&
                    creds.times.endtime > tgt_end)
                        tgt_end = creds.times.endtime;
                r = krb5_cc_store_cred(k, cc, &creds);
                krb5_free_cred_contents(k, &creds);
                if (r != 0) {
                        st = krb_status_krb5(KRB_OP_LOGON, r, "copying the ccache");
                        goto out;
                }
        }
        *ret_cc = cc;
        cc = NULL;
        *ret_tgt_end = tgt_end;
        st = SEC_E_OK;
out:
        if (cc)
                (void) krb5_cc_destroy(k, cc);
        if (princ)
                krb5_free_principal(k, princ);
        krb5_storage_free(sp);
        return st;
}

/* Outbound credentials from the caller's own ccache. `want`, when set,
 * is the principal the caller asked for; the ccache must be its. */
static SECURITY_STATUS acquire_from_ccache(KrbCred *c, const PkgAcquire *a, krb5_const_principal want,
                                           int64_t *ret_expiry) {
        krb5_context k = krb_context();
        krb5_ccache cc = NULL;
        krb5_principal princ = NULL;
        gss_cred_id_t g = GSS_C_NO_CREDENTIAL;
        time_t tgt_end = 0;
        OM_uint32 major, minor;
        SECURITY_STATUS st;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        /* The client library read the caller's own FILE ccache with the
         * caller's rights (the daemon never opens a path for a caller);
         * other ccache types, or none, come without an image. */
        if (!a->ccache_image || a->ccache_image_len == 0)
                return SEC_E_NO_CREDENTIALS;
        st = parse_ccache_image(k, a->ccache_image, a->ccache_image_len, &cc, &tgt_end);
        if (st != SEC_E_OK)
                return st;

        if (tgt_end <= time(NULL)) {
                st = SEC_E_NO_CREDENTIALS; /* no TGT, or an expired one */
                goto fail;
        }
        if (krb5_cc_get_principal(k, cc, &princ) != 0) {
                st = SEC_E_NO_CREDENTIALS;
                goto fail;
        }
        if (want && !krb5_principal_compare(k, want, princ)) {
                st = SEC_E_NO_CREDENTIALS;
                goto fail;
        }
        major = gss_krb5_import_cred(&minor, cc, NULL, NULL, &g);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_LOGON, major, minor, "gss_krb5_import_cred");
                goto fail;
        }
        st = set_client(c, k, princ);
        if (st != SEC_E_OK)
                goto fail;
        krb5_free_principal(k, princ);
        c->ccache = cc;
        c->init_cred = g;
        *ret_expiry = filetime_from_unix(tgt_end);
        return SEC_E_OK;

fail:
        (void) gss_release_cred(&minor, &g);
        if (princ)
                krb5_free_principal(k, princ);
        if (cc)
                (void) krb5_cc_destroy(k, cc);
        return st;
}

static SECURITY_STATUS acquire_outbound(KrbCred *c, const PkgAcquire *a, int64_t *ret_expiry) {
        krb5_context k = krb_context();
        krb5_principal want = NULL;
        SECURITY_STATUS st;
        size_t pwlen = a->password_len;
        bool explicit_user = a->has_identity && a->user && *a->user;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        if (a->has_identity && a->password) {
                /* Some callers count a terminating NUL; a NUL inside the
                 * password would silently shorten it. */
                while (pwlen > 0 && a->password[pwlen - 1] == '\0')
                        pwlen--;
                if (memchr(a->password, '\0', pwlen))
                        return SEC_E_UNKNOWN_CREDENTIALS;
                st = identity_principal(k, a, &c->client);
                if (st != SEC_E_OK)
                        return st;
                if (krb5_unparse_name(k, c->client, &c->client_name) != 0)
                        return SEC_E_INSUFFICIENT_MEMORY;
                c->password = malloc(pwlen + 1);
                if (!c->password)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(c->password, a->password, pwlen);
                c->password[pwlen] = '\0';
                c->password_len = pwlen + 1;
                /* The TGT comes with the first ISC: unknown lifetime yet. */
                *ret_expiry = FILETIME_NEVER;
                return SEC_E_OK;
        }

        /* No password: the logon session's ccache, for the user the
         * identity or pszPrincipal names, if any. */
        if (explicit_user) {
                st = identity_principal(k, a, &want);
                if (st != SEC_E_OK)
                        return st;
        } else if (a->principal && *a->principal && !(a->use & SECPKG_CRED_INBOUND)) {
                if (krb5_parse_name(k, a->principal, &want) != 0)
                        return SEC_E_UNKNOWN_CREDENTIALS;
        }
        st = acquire_from_ccache(c, a, want, ret_expiry);
        if (want)
                krb5_free_principal(k, want);
        return st;
}

/* The acceptor credential the config grants this caller. */
static SECURITY_STATUS acquire_inbound(KrbCred *c, const PkgAcquire *a) {
        static atomic_uint counter;
        krb5_context k = krb_context();
        const AcceptorGrant *g;
        krb5_principal princ = NULL;
        krb5_keytab file_kt = NULL, mem_kt = NULL;
        krb5_kt_cursor cursor;
        krb5_keytab_entry entry;
        gss_cred_id_t gc = GSS_C_NO_CREDENTIAL;
        char name[64];
        unsigned n_keys = 0;
        bool exists = false;
        OM_uint32 major, minor;
        krb5_error_code r;
        SECURITY_STATUS st;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        g = config_find_acceptor(a->config, a->caller, a->principal && *a->principal ? a->principal : NULL,
                                 &exists);
        if (!g)
                return exists ? SEC_E_NOT_OWNER : SEC_E_NO_CREDENTIALS;

        r = krb5_parse_name(k, g->principal, &princ);
        if (r != 0) {
                krb_log("[acceptor %s]: cannot parse principal '%s'", g->name, g->principal);
                return SEC_E_NO_CREDENTIALS;
        }
        r = krb5_kt_resolve(k, g->keytab, &file_kt);
        if (r == 0)
                r = krb5_kt_start_seq_get(k, file_kt, &cursor);
        if (r != 0) {
                krb_log("[acceptor %s]: cannot read keytab %s (error %d)", g->name, g->keytab, r);
                st = SEC_E_NO_CREDENTIALS;
                goto out;
        }
        /* A process-unique name: MEMORY keytabs are shared by name. */
        snprintf(name, sizeof(name), "MEMORY:sspid-acceptor-%u", atomic_fetch_add(&counter, 1));
        r = krb5_kt_resolve(k, name, &mem_kt);
        /* Only the granted principal's keys are copied: a keytab with
         * several services does not let this grant accept as the others. */
        while (r == 0 && krb5_kt_next_entry(k, file_kt, &entry, &cursor) == 0) {
                if (krb5_principal_compare(k, entry.principal, princ)) {
                        r = krb5_kt_add_entry(k, mem_kt, &entry);
                        n_keys++;
                }
                krb5_kt_free_entry(k, &entry);
        }
        (void) krb5_kt_end_seq_get(k, file_kt, &cursor);
        if (r != 0) {
                st = krb_status_krb5(KRB_OP_ACQUIRE, r, "loading the keytab");
                goto out;
        }
        if (n_keys == 0) {
                krb_log("[acceptor %s]: keytab %s holds no key for %s", g->name, g->keytab, g->principal);
                st = SEC_E_NO_CREDENTIALS;
                goto out;
        }
        major = gss_krb5_import_cred(&minor, NULL, princ, mem_kt, &gc);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_ACQUIRE, major, minor, "gss_krb5_import_cred");
                goto out;
        }
        c->acceptor_name = strdup(g->principal);
        if (!c->acceptor_name) {
                (void) gss_release_cred(&minor, &gc);
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        c->accept_cred = gc;
        c->keytab = mem_kt;
        mem_kt = NULL;
        st = SEC_E_OK;
out:
        if (mem_kt)
                (void) krb5_kt_close(k, mem_kt);
        if (file_kt)
                (void) krb5_kt_close(k, file_kt);
        krb5_free_principal(k, princ);
        return st;
}

static SECURITY_STATUS kerberos_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        KrbCred *c;
        SECURITY_STATUS st_out = SEC_E_NO_CREDENTIALS, st_in = SEC_E_NO_CREDENTIALS;
        int64_t expiry = FILETIME_NEVER;

        c = calloc(1, sizeof(*c));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        pthread_mutex_init(&c->lock, NULL);
        pthread_mutex_init(&c->logon_lock, NULL);
        c->init_cred = GSS_C_NO_CREDENTIAL;
        c->accept_cred = GSS_C_NO_CREDENTIAL;
        c->may_delegate = a->config && a->config->delegation;

        if (a->use & SECPKG_CRED_OUTBOUND) {
                st_out = acquire_outbound(c, a, &expiry);
                if (st_out == SEC_E_OK)
                        c->use |= SECPKG_CRED_OUTBOUND;
        }
        if (a->use & SECPKG_CRED_INBOUND) {
                st_in = acquire_inbound(c, a);
                if (st_in == SEC_E_OK)
                        c->use |= SECPKG_CRED_INBOUND;
        }
        /* SECPKG_CRED_BOTH succeeds with whichever half is available;
         * when neither is, a refused grant (NOT_OWNER) says more than a
         * missing ccache. */
        if (c->use == 0) {
                kerberos_cred_free(c);
                return pkg_acquire_failure(a->use, st_out, st_in);
        }
        *ret_cred = c;
        *ret_expiry = expiry;
        return SEC_E_OK;
}

static SECURITY_STATUS kerberos_cred_name(void *p, char **ret_name) {
        KrbCred *c = p;
        char *s = NULL;

        if (!c)
                return SEC_E_INVALID_HANDLE;
        pthread_mutex_lock(&c->lock);
        if (c->client_name)
                s = strdup(c->client_name);
        else if (c->acceptor_name)
                s = strdup(c->acceptor_name);
        else {
                pthread_mutex_unlock(&c->lock);
                return SEC_E_NO_CREDENTIALS;
        }
        pthread_mutex_unlock(&c->lock);
        if (!s)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret_name = s;
        return SEC_E_OK;
}

/* ---- target names ------------------------------------------------------ */

/*
 * "HTTP/host[@REALM]" is an SPN: a krb5 principal name (default realm
 * when none is given). "service@host" is a GSS host-based name. Anything
 * without "/" or "@" is taken as a principal name too.
 */
static SECURITY_STATUS import_target(const char *target, gss_name_t *ret) {
        gss_buffer_desc buf = { strlen(target), (void *) target };
        gss_OID type = strchr(target, '/') || !strchr(target, '@') ? GSS_KRB5_NT_PRINCIPAL_NAME
                                                                 : GSS_C_NT_HOSTBASED_SERVICE;
        OM_uint32 major, minor;

        major = gss_import_name(&minor, &buf, type, ret);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_INIT, major, minor, "gss_import_name");
        return SEC_E_OK;
}

/* Whether the credential's ccache already holds a live ticket for the
 * target, found without network: krb5 principal parsing mirrors
 * import_target(); the realm is ignored because the ticket may carry the
 * realm a referral resolved. Caller holds c->lock. */
static bool ccache_has_ticket(KrbCred *c, const char *target, time_t now) {
        krb5_context k = krb_context();
        krb5_creds match, found;
        krb5_principal server = NULL;
        const char *at = strchr(target, '@');
        krb5_error_code r;
        bool ok;

        if (!k || !c->ccache)
                return false;
        if (!strchr(target, '/') && at) {
                char *svc = strndup(target, at - target);
                if (!svc)
                        return false;
                r = krb5_build_principal(k, &server, 0, "", svc, at + 1, NULL);
                free(svc);
        } else
                r = krb5_parse_name(k, target, &server);
        if (r != 0)
                return false;
        memset(&match, 0, sizeof(match));
        memset(&found, 0, sizeof(found));
        match.client = c->client;
        match.server = server;
        match.times.endtime = now + TICKET_MARGIN;
        r = krb5_cc_retrieve_cred(k, c->ccache, KRB5_TC_MATCH_SRV_NAMEONLY | KRB5_TC_MATCH_TIMES, &match, &found);
        ok = r == 0;
        if (ok)
                krb5_free_cred_contents(k, &found);
        krb5_free_principal(k, server);
        return ok;
}

/*
 * Runs on the event loop for every ISC/ASC: must be cheap and must never
 * touch the network. A step may block when it will talk to the KDC: an
 * AS exchange still to do, a service ticket not in the ccache yet, or a
 * delegation that will really be asked for (it fetches a forwarded TGT).
 * ASC only reads the MEMORY keytab;
 * continuation legs only process the peer's token.
 */
static bool kerberos_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        KrbCred *c = cred;
        time_t now;
        bool r;

        if (accept || ctx || !c || !target)
                return false;
        now = time(NULL);
        pthread_mutex_lock(&c->lock);
        if (c->init_cred == GSS_C_NO_CREDENTIAL)
                r = c->password != NULL;
        else if (c->may_delegate && (req_flags & ISC_REQ_DELEGATE))
                r = true;
        else if (known_target_valid(c, target, now))
                r = false;
        else
                r = !ccache_has_ticket(c, target, now);
        pthread_mutex_unlock(&c->lock);
        return r;
}

/* ---- handshake ------------------------------------------------------------ */

static const struct {
        OM_uint32 gss;
        uint32_t isc_ret;
        uint32_t asc_ret;
} flag_map[] = {
        { GSS_C_DELEG_FLAG, ISC_RET_DELEGATE, ASC_RET_DELEGATE },
        { GSS_C_MUTUAL_FLAG, ISC_RET_MUTUAL_AUTH, ASC_RET_MUTUAL_AUTH },
        { GSS_C_REPLAY_FLAG, ISC_RET_REPLAY_DETECT, ASC_RET_REPLAY_DETECT },
        { GSS_C_SEQUENCE_FLAG, ISC_RET_SEQUENCE_DETECT, ASC_RET_SEQUENCE_DETECT },
        { GSS_C_CONF_FLAG, ISC_RET_CONFIDENTIALITY, ASC_RET_CONFIDENTIALITY },
        { GSS_C_INTEG_FLAG, ISC_RET_INTEGRITY, ASC_RET_INTEGRITY },
        { GSS_C_DCE_STYLE, ISC_RET_USED_DCE_STYLE, ASC_RET_USED_DCE_STYLE },
        { GSS_C_IDENTIFY_FLAG, ISC_RET_IDENTIFY, ASC_RET_IDENTIFY },
        { GSS_C_EXTENDED_ERROR_FLAG, ISC_RET_EXTENDED_ERROR, ASC_RET_EXTENDED_ERROR },
};

static OM_uint32 gss_req_from_isc(uint32_t req, const Config *config) {
        OM_uint32 f = 0;

        /* Windows honours DELEGATE only towards servers trusted for
         * delegation and says nothing otherwise; here the daemon's
         * config decides for all targets. */
        if ((req & ISC_REQ_DELEGATE) && config && config->delegation)
                f |= GSS_C_DELEG_FLAG;
        if (req & ISC_REQ_MUTUAL_AUTH)
                f |= GSS_C_MUTUAL_FLAG;
        if (req & ISC_REQ_REPLAY_DETECT)
                f |= GSS_C_REPLAY_FLAG;
        if (req & ISC_REQ_SEQUENCE_DETECT)
                f |= GSS_C_SEQUENCE_FLAG;
        if (req & ISC_REQ_CONFIDENTIALITY)
                f |= GSS_C_CONF_FLAG;
        if (req & ISC_REQ_INTEGRITY)
                f |= GSS_C_INTEG_FLAG;
        if (req & ISC_REQ_USE_DCE_STYLE)
                f |= GSS_C_DCE_STYLE;
        if (req & ISC_REQ_IDENTIFY)
                f |= GSS_C_IDENTIFY_FLAG;
        if (req & ISC_REQ_EXTENDED_ERROR)
                f |= GSS_C_EXTENDED_ERROR_FLAG;
        return f;
}

/* The RET flags are what GSS reports, plus CONNECTION: Kerberos runs in
 * connection mode unless the caller asked for datagram semantics (which
 * Heimdal does not offer, so DATAGRAM is never reported). */
static uint32_t ret_from_gss(OM_uint32 gss, uint32_t req, bool initiator) {
        uint32_t r = 0;

        for (size_t i = 0; i < sizeof(flag_map) / sizeof(flag_map[0]); i++)
                if (gss & flag_map[i].gss)
                        r |= initiator ? flag_map[i].isc_ret : flag_map[i].asc_ret;
        if (initiator && !(req & ISC_REQ_DATAGRAM))
                r |= ISC_RET_CONNECTION;
        if (!initiator && !(req & ASC_REQ_DATAGRAM))
                r |= ASC_RET_CONNECTION;
        return r;
}

/*
 * SEC_CHANNEL_BINDINGS (or its _EX form) -> GSS channel bindings. Offsets
 * are relative to the start of the structure; every (offset, length) pair
 * must lie inside the buffer. The pointers refer into the buffer.
 */
static SECURITY_STATUS bindings_from_buffer(const PkgBuffer *b, gss_channel_bindings_t cb) {
        const uint8_t *p = b->data;
        size_t len = b->len, base = 0;
        uint32_t f[8];
        gss_buffer_t out[3] = { &cb->initiator_address, &cb->acceptor_address, &cb->application_data };

        if (!p || len < CB_HEADER_SIZE)
                return SEC_E_BAD_BINDINGS;
        if (get_le32(p) == CB_EX_MAGIC) {
                uint32_t header_len, struct_len;

                if (len < CB_EX_HEADER_SIZE + CB_HEADER_SIZE)
                        return SEC_E_BAD_BINDINGS;
                header_len = get_le32(p + 8);
                struct_len = get_le32(p + 12);
                if (header_len < CB_EX_HEADER_SIZE + CB_HEADER_SIZE || header_len > struct_len || struct_len > len)
                        return SEC_E_BAD_BINDINGS;
                len = struct_len;
                base = CB_EX_HEADER_SIZE;
        }
        for (size_t i = 0; i < 8; i++)
                f[i] = get_le32(p + base + 4 * i);
        cb->initiator_addrtype = f[0];
        cb->acceptor_addrtype = f[3];
        /* (length, offset) pairs: initiator 1/2, acceptor 4/5, application 6/7. */
        for (size_t i = 0; i < 3; i++) {
                uint64_t l = i < 2 ? f[3 * i + 1] : f[6];
                uint64_t o = i < 2 ? f[3 * i + 2] : f[7];

                if (l == 0) {
                        *out[i] = (gss_buffer_desc) GSS_C_EMPTY_BUFFER;
                        continue;
                }
                if (o > len || l > len - o)
                        return SEC_E_BAD_BINDINGS;
                out[i]->length = l;
                out[i]->value = (void *) (p + o);
        }
        return SEC_E_OK;
}

/* Hand the GSS output token to the first SECBUFFER_TOKEN output slot.
 * The token memory is malloc()ed by Heimdal and becomes the slot's. */
static SECURITY_STATUS put_output_token(PkgStep *s, gss_buffer_t out) {
        PkgBuffer *slot = find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);
        OM_uint32 minor;

        if (slot) {
                slot->len = 0;
                slot->data = NULL;
                slot->owned = false;
        }
        if (out->length == 0) {
                (void) gss_release_buffer(&minor, out);
                return SEC_E_OK;
        }
        if (!slot) {
                (void) gss_release_buffer(&minor, out);
                return SEC_E_INVALID_TOKEN;
        }
        if (slot->cap > 0 && out->length > slot->cap) {
                (void) gss_release_buffer(&minor, out);
                return SEC_E_BUFFER_TOO_SMALL;
        }
        slot->data = out->value;
        slot->len = out->length;
        slot->owned = true;
        *out = (gss_buffer_desc) GSS_C_EMPTY_BUFFER;
        return SEC_E_OK;
}

static void kerberos_ctx_free(void *p) {
        KrbCtx *c = p;
        OM_uint32 minor;

        if (!c)
                return;
        if (c->gss != GSS_C_NO_CONTEXT)
                (void) gss_delete_sec_context(&minor, &c->gss, GSS_C_NO_BUFFER);
        (void) gss_release_name(&minor, &c->target);
        (void) gss_release_cred(&minor, &c->delegated);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

/* A failed leg ends the context: GSS cannot resume after an error, and
 * the dispatcher answers SEC_E_INVALID_HANDLE for a context whose state
 * the package dropped. */
static SECURITY_STATUS step_failed(PkgStep *s, KrbCtx *c, SECURITY_STATUS st) {
        for (size_t i = 0; i < s->n_out; i++)
                if (s->out[i].owned) {
                        free(s->out[i].data);
                        s->out[i].data = NULL;
                        s->out[i].len = 0;
                        s->out[i].owned = false;
                }
        kerberos_ctx_free(c);
        s->ctx = NULL;
        return st;
}

static KrbCtx *ctx_new(bool initiator, uint32_t req) {
        KrbCtx *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->gss = GSS_C_NO_CONTEXT;
        c->target = GSS_C_NO_NAME;
        c->delegated = GSS_C_NO_CREDENTIAL;
        c->initiator = initiator;
        c->req_flags = req;
        return c;
}

static SECURITY_STATUS kerberos_init_ctx(PkgStep *s) {
        KrbCtx *c = s->ctx;
        KrbCred *cred = s->cred;
        gss_cred_id_t gcred = GSS_C_NO_CREDENTIAL;
        gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
        struct gss_channel_bindings_struct cb;
        gss_channel_bindings_t cbp = GSS_C_NO_CHANNEL_BINDINGS;
        PkgBuffer *b;
        OM_uint32 major, minor, junk, gflags = 0, time_rec = 0;
        SECURITY_STATUS st;
        bool first = !c;

        if (c && (!c->initiator || c->established))
                /* A finished context, or an acceptor's: nothing to step. */
                return SEC_E_INVALID_HANDLE;

        b = find_buffer(s->in, s->n_in, SECBUFFER_CHANNEL_BINDINGS);
        if (b) {
                st = bindings_from_buffer(b, &cb);
                if (st != SEC_E_OK)
                        return first ? st : step_failed(s, c, st);
                cbp = &cb;
        }

        if (first) {
                if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                        return SEC_E_NO_CREDENTIALS;
                if (!s->target || !*s->target)
                        return SEC_E_TARGET_UNKNOWN;
                st = cred_initiator(cred, &gcred);
                if (st != SEC_E_OK)
                        return st;
                c = ctx_new(true, s->req_flags);
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
                st = import_target(s->target, &c->target);
                if (st != SEC_E_OK)
                        return step_failed(s, c, st);
                c->gss_flags = gss_req_from_isc(s->req_flags, s->config);
                /* An input token on the first call (often an empty
                 * placeholder) has no meaning for Kerberos. */
        } else {
                b = find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
                if (!b || b->len == 0)
                        return step_failed(s, c, SEC_E_INVALID_TOKEN);
                in.value = b->data;
                in.length = b->len;
        }

        major = gss_init_sec_context(&minor, gcred, &c->gss, c->target, GSS_KRB5_MECHANISM, c->gss_flags, 0, cbp,
                                     first ? GSS_C_NO_BUFFER : &in, NULL, &out, &gflags, &time_rec);
        if (GSS_ERROR(major)) {
                (void) gss_release_buffer(&junk, &out);
                return step_failed(s, c, krb_status_gss(KRB_OP_INIT, major, minor, "gss_init_sec_context"));
        }
        st = put_output_token(s, &out);
        if (st != SEC_E_OK)
                return step_failed(s, c, st);

        s->ctx = c;
        c->ret_flags = ret_from_gss(gflags, c->req_flags, true);
        c->expiry = filetime_in(time_rec);
        s->ret_flags = c->ret_flags;
        s->expiry = c->expiry;
        if (first && time_rec != GSS_C_INDEFINITE)
                /* The service ticket is in the ccache now. */
                known_target_add(cred, s->target, time(NULL) + time_rec);
        if (major & GSS_S_CONTINUE_NEEDED)
                return SEC_I_CONTINUE_NEEDED;

        c->established = true;
        c->start = filetime_from_unix(time(NULL));
        (void) gss_release_name(&minor, &c->target);
        return SEC_E_OK;
}

static SECURITY_STATUS kerberos_accept_ctx(PkgStep *s) {
        KrbCtx *c = s->ctx;
        KrbCred *cred = s->cred;
        gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
        struct gss_channel_bindings_struct cb;
        gss_channel_bindings_t cbp = GSS_C_NO_CHANNEL_BINDINGS;
        gss_cred_id_t deleg = GSS_C_NO_CREDENTIAL;
        PkgBuffer *b;
        OM_uint32 major, minor, junk, gflags = 0, time_rec = 0;
        uint8_t replay_key[KRB_REPLAY_KEY_SIZE];
        SECURITY_STATUS st;
        bool first = !c;
        int r;

        if (c && (c->initiator || c->established))
                return SEC_E_INVALID_HANDLE;
        if (first) {
                if (!cred || !(cred->use & SECPKG_CRED_INBOUND))
                        return SEC_E_NO_CREDENTIALS;
                c = ctx_new(false, s->req_flags);
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
        }

        b = find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        if (!b || b->len == 0)
                return step_failed(s, c, SEC_E_INVALID_TOKEN);
        in.value = b->data;
        in.length = b->len;
        /* One canonical framing per AP-REQ, and the replay key (what the
         * session key authenticates) before Heimdal sees it. */
        if (first && (r = krb_ap_req_check(in.value, in.length, replay_key)) < 0)
                return step_failed(s, c, r == -EBADMSG ? SEC_E_INVALID_TOKEN : SEC_E_INSUFFICIENT_MEMORY);
        if (first && krb_replay_known(replay_key))
                return step_failed(s, c, krb_status_krb5(KRB_OP_ACCEPT, KRB5KRB_AP_ERR_REPEAT, "replayed AP-REQ"));
        b = find_buffer(s->in, s->n_in, SECBUFFER_CHANNEL_BINDINGS);
        if (b) {
                st = bindings_from_buffer(b, &cb);
                if (st != SEC_E_OK)
                        return step_failed(s, c, st);
                cbp = &cb;
        }

        /* The acceptor credential never changes after acquire: no lock. */
        major = gss_accept_sec_context(&minor, &c->gss, cred ? cred->accept_cred : GSS_C_NO_CREDENTIAL, &in, cbp,
                                       NULL, NULL, &out, &gflags, &time_rec, &deleg);
        if (GSS_ERROR(major)) {
                (void) gss_release_buffer(&junk, &out);
                (void) gss_release_cred(&junk, &deleg);
                return step_failed(s, c, krb_status_gss(KRB_OP_ACCEPT, major, minor, "gss_accept_sec_context"));
        }
        /* The same authenticator twice is a replay, however it is framed. */
        if (first && krb_replay_seen(replay_key)) {
                (void) gss_release_buffer(&junk, &out);
                (void) gss_release_cred(&junk, &deleg);
                return step_failed(s, c, krb_status_krb5(KRB_OP_ACCEPT, KRB5KRB_AP_ERR_REPEAT, "replayed AP-REQ"));
        }
        st = put_output_token(s, &out);
        if (st != SEC_E_OK) {
                (void) gss_release_cred(&minor, &deleg);
                return step_failed(s, c, st);
        }
        if ((gflags & GSS_C_DELEG_FLAG) && deleg != GSS_C_NO_CREDENTIAL) {
                (void) gss_release_cred(&minor, &c->delegated);
                c->delegated = deleg;
        } else {
                /* A delegation flag without a credential reports nothing. */
                gflags &= ~(OM_uint32) GSS_C_DELEG_FLAG;
                (void) gss_release_cred(&minor, &deleg);
        }

        s->ctx = c;
        c->gss_flags = gflags;
        c->ret_flags = ret_from_gss(gflags, c->req_flags, false);
        c->expiry = filetime_in(time_rec);
        s->ret_flags = c->ret_flags;
        s->expiry = c->expiry;
        if (major & GSS_S_CONTINUE_NEEDED)
                return SEC_I_CONTINUE_NEEDED;
        c->established = true;
        c->start = filetime_from_unix(time(NULL));
        return SEC_E_OK;
}

/* Kerberos never asks for CompleteAuthToken (ISC/ASC never return
 * SEC_I_COMPLETE_NEEDED); on Windows only Digest implements it. */
static SECURITY_STATUS kerberos_complete(void *ctx, PkgBuffer *b, size_t n) {
        (void) b;
        (void) n;
        return ctx ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_INVALID_HANDLE;
}

/* ---- attributes ---------------------------------------------------------- */

/*
 * SecPkgContext_Sizes from Heimdal's own size arithmetic, once per
 * context: a sign-only wrap header is the MIC size for RFC 4121 (16-byte
 * header + checksum) and a bound for RC4; the sealed header without a
 * trailer buffer is the Windows "security trailer" (header, confounder
 * and the trailer rotated in front of the data); the padding Heimdal asks
 * for one and two bytes of data tells the block size.
 */
static SECURITY_STATUS compute_sizes(KrbCtx *c) {
        gss_iov_buffer_desc iov[3];
        size_t pad[2], sealed = 0, signed_only = 0;
        OM_uint32 major, minor;

        for (int conf = 1; conf >= 0; conf--)
                for (size_t data = 1; data <= (conf ? 2U : 1U); data++) {
                        memset(iov, 0, sizeof(iov));
                        iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER;
                        iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
                        iov[1].buffer.length = data;
                        iov[2].type = GSS_IOV_BUFFER_TYPE_PADDING;
                        major = gss_wrap_iov_length(&minor, c->gss, conf, GSS_C_QOP_DEFAULT, NULL, iov, 3);
                        if (GSS_ERROR(major))
                                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_wrap_iov_length");
                        if (conf) {
                                sealed = iov[0].buffer.length;
                                pad[data - 1] = iov[2].buffer.length;
                        } else
                                signed_only = iov[0].buffer.length + iov[2].buffer.length;
                }
        c->sizes.cbMaxToken = KRB_MAX_TOKEN;
        c->sizes.cbMaxSignature = (uint32_t) signed_only;
        c->sizes.cbSecurityTrailer = (uint32_t) sealed;
        c->sizes.cbBlockSize = pad[0] == pad[1] ? 1 : (uint32_t) pad[0] + 1;
        c->have_sizes = true;
        return SEC_E_OK;
}

static SECURITY_STATUS context_names(KrbCtx *c, char **ret_client, char **ret_server) {
        gss_name_t src = GSS_C_NO_NAME, targ = GSS_C_NO_NAME;
        OM_uint32 major, minor;
        SECURITY_STATUS st = SEC_E_OK;

        major = gss_inquire_context(&minor, c->gss, &src, &targ, NULL, NULL, NULL, NULL, NULL);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_inquire_context");
        *ret_client = gss_name_to_string(src);
        if (ret_server)
                *ret_server = gss_name_to_string(targ);
        if (!*ret_client || (ret_server && !*ret_server)) {
                free(*ret_client);
                *ret_client = NULL;
                if (ret_server) {
                        free(*ret_server);
                        *ret_server = NULL;
                }
                st = SEC_E_INSUFFICIENT_MEMORY;
        }
        (void) gss_release_name(&minor, &src);
        (void) gss_release_name(&minor, &targ);
        return st;
}

/* GSS_C_INQ_SSPI_SESSION_KEY, 1.2.840.113554.1.2.2.5.5: the header
 * declares it but Debian's libgssapi does not export the symbol, and
 * Heimdal compares OIDs by value. */
static gss_OID_desc inq_sspi_session_key = { 11, (void *) "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x05" };

static SECURITY_STATUS session_key(KrbCtx *c, uint8_t **ret_key, size_t *ret_len) {
        gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
        OM_uint32 major, minor;
        SECURITY_STATUS st = SEC_E_OK;
        uint8_t *key;

        major = gss_inquire_sec_context_by_oid(&minor, c->gss, &inq_sspi_session_key, &set);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_inquire_sec_context_by_oid");
        if (!set || set->count < 1 || set->elements[0].length == 0) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        key = malloc(set->elements[0].length);
        if (!key) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        memcpy(key, set->elements[0].value, set->elements[0].length);
        *ret_key = key;
        *ret_len = set->elements[0].length;
out:
        if (set)
                for (size_t i = 0; i < set->count; i++)
                        explicit_bzero(set->elements[i].value, set->elements[i].length);
        (void) gss_release_buffer_set(&minor, &set);
        return st;
}

/*
 * Before the handshake ends only SIZES (cbMaxToken; the rest depends on
 * the key still being negotiated, so 0 with a block size of 1) and FLAGS
 * answer; everything else gets SEC_E_INVALID_HANDLE, which is what Windows
 * gives for attributes of a partial context and what the dispatcher gives
 * for message calls on one. Attributes Kerberos has no answer for get
 * SEC_E_UNSUPPORTED_FUNCTION.
 */
static SECURITY_STATUS kerberos_query_ctx(void *ctx, uint32_t attr, PkgCtxAttr *out) {
        KrbCtx *c = ctx;
        SECURITY_STATUS st;

        if (!c)
                return SEC_E_INVALID_HANDLE;
        switch (attr) {
        case SECPKG_ATTR_SIZES:
                if (!c->established) {
                        out->sizes = (SecPkgContext_Sizes) { .cbMaxToken = KRB_MAX_TOKEN, .cbBlockSize = 1 };
                        out->has_sizes = true;
                        return SEC_E_OK;
                }
                if (!c->have_sizes) {
                        st = compute_sizes(c);
                        if (st != SEC_E_OK)
                                return st;
                }
                out->sizes = c->sizes;
                out->has_sizes = true;
                return SEC_E_OK;
        case SECPKG_ATTR_FLAGS:
                out->flags = c->ret_flags;
                out->has_flags = true;
                return SEC_E_OK;
        case SECPKG_ATTR_NAMES:
        case SECPKG_ATTR_NATIVE_NAMES:
        case SECPKG_ATTR_LIFESPAN:
        case SECPKG_ATTR_SESSION_KEY:
                if (!c->established)
                        return SEC_E_INVALID_HANDLE;
                break;
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }

        switch (attr) {
        case SECPKG_ATTR_NAMES:
                return context_names(c, &out->user_name, NULL);
        case SECPKG_ATTR_NATIVE_NAMES:
                return context_names(c, &out->client_name, &out->server_name);
        case SECPKG_ATTR_LIFESPAN:
                out->start = c->start;
                out->expiry = c->expiry;
                out->has_lifespan = true;
                return SEC_E_OK;
        default:
                return session_key(c, &out->session_key, &out->session_key_len);
        }
}

/* ---- message protection ------------------------------------------------------- */

/* Buffers covered by a checksum: DATA that the caller lets us touch and
 * anything marked READONLY_WITH_CHECKSUM; plain READONLY ones are not. */
static bool buffer_is_signed(const PkgBuffer *b) {
        if (b->type & SECBUFFER_READONLY_WITH_CHECKSUM)
                return true;
        return pkg_buffer_base_type(b) == SECBUFFER_DATA && !(b->type & SECBUFFER_READONLY);
}

/* The signed buffers back to back, as RFC 4121 MICs cover one message. */
static SECURITY_STATUS concat_signed(PkgBuffer *b, size_t n, gss_buffer_t msg) {
        size_t total = 0, off = 0;
        uint8_t *p;

        for (size_t i = 0; i < n; i++)
                if (buffer_is_signed(&b[i]))
                        total += b[i].len;
        p = malloc(total ? total : 1);
        if (!p)
                return SEC_E_INSUFFICIENT_MEMORY;
        for (size_t i = 0; i < n; i++)
                if (buffer_is_signed(&b[i]) && b[i].len) {
                        memcpy(p + off, b[i].data, b[i].len);
                        off += b[i].len;
                }
        msg->value = p;
        msg->length = total;
        return SEC_E_OK;
}

static SECURITY_STATUS kerberos_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        KrbCtx *c = ctx;
        PkgBuffer *tok;
        gss_buffer_desc msg, mic = GSS_C_EMPTY_BUFFER;
        OM_uint32 major, minor;
        SECURITY_STATUS st;

        (void) seq_no; /* Kerberos keeps its own sequence numbers */
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (qop != 0)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok)
                return SEC_E_INVALID_TOKEN;
        /* Refuse a short token buffer before gss_get_mic() spends a
         * sequence number on a signature that could not be delivered. */
        if (!c->have_sizes) {
                st = compute_sizes(c);
                if (st != SEC_E_OK)
                        return st;
        }
        if (tok->cap < c->sizes.cbMaxSignature)
                return SEC_E_BUFFER_TOO_SMALL;
        st = concat_signed(b, n, &msg);
        if (st != SEC_E_OK)
                return st;
        major = gss_get_mic(&minor, c->gss, GSS_C_QOP_DEFAULT, &msg, &mic);
        explicit_bzero(msg.value, msg.length);
        free(msg.value);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_get_mic");
        if (mic.length > tok->cap) {
                (void) gss_release_buffer(&minor, &mic);
                return SEC_E_BUFFER_TOO_SMALL;
        }
        memcpy(tok->data, mic.value, mic.length);
        tok->len = mic.length;
        (void) gss_release_buffer(&minor, &mic);
        return SEC_E_OK;
}

static SECURITY_STATUS kerberos_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        KrbCtx *c = ctx;
        PkgBuffer *tok;
        gss_buffer_desc msg, mic;
        gss_qop_t qop = 0;
        OM_uint32 major, minor;
        SECURITY_STATUS st;

        (void) seq_no;
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        tok = find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || tok->len == 0)
                return SEC_E_INVALID_TOKEN;
        st = concat_signed(b, n, &msg);
        if (st != SEC_E_OK)
                return st;
        mic.value = tok->data;
        mic.length = tok->len;
        major = gss_verify_mic(&minor, c->gss, &msg, &mic, &qop);
        explicit_bzero(msg.value, msg.length);
        free(msg.value);
        /* Supplementary bits alone (duplicate, gap...) are failures too:
         * SSPI has no "valid but out of order" answer. */
        if (major != GSS_S_COMPLETE)
                return krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_verify_mic");
        if (ret_qop)
                *ret_qop = 0;
        return SEC_E_OK;
}

/*
 * The Windows layout on GSS IOVs: the first SECBUFFER_TOKEN is the HEADER
 * (there is no TRAILER buffer, so Heimdal's RFC 4121 code rotates the
 * trailer into the header, RRC, exactly as Windows lays it out), DATA
 * buffers are encrypted in place, READONLY_WITH_CHECKSUM ones are
 * SIGN_ONLY, the first SECBUFFER_PADDING is PADDING, everything else is
 * left alone. `pad_ok` false passes padding as EMPTY (RFC 4121 never pads
 * and refuses a non-empty padding buffer on unwrap).
 */
static SECURITY_STATUS build_iov(PkgBuffer *b, size_t n, gss_iov_buffer_desc *iov, bool pad_ok, size_t *ret_data,
                                 PkgBuffer **ret_token, PkgBuffer **ret_pad) {
        PkgBuffer *tok = NULL, *pad = NULL;
        size_t n_data = 0;

        for (size_t i = 0; i < n; i++) {
                uint32_t base = pkg_buffer_base_type(&b[i]);

                iov[i].type = GSS_IOV_BUFFER_TYPE_EMPTY;
                iov[i].buffer.value = b[i].data;
                iov[i].buffer.length = b[i].len;
                if (base == SECBUFFER_DATA)
                        n_data++;
                if (base == SECBUFFER_TOKEN && !tok) {
                        tok = &b[i];
                        iov[i].type = GSS_IOV_BUFFER_TYPE_HEADER;
                } else if (base == SECBUFFER_PADDING && !pad) {
                        pad = &b[i];
                        if (pad_ok)
                                iov[i].type = GSS_IOV_BUFFER_TYPE_PADDING;
                } else if (b[i].type & SECBUFFER_READONLY_WITH_CHECKSUM) {
                        iov[i].type = GSS_IOV_BUFFER_TYPE_SIGN_ONLY;
                } else if (base == SECBUFFER_DATA && !(b[i].type & SECBUFFER_READONLY)) {
                        iov[i].type = GSS_IOV_BUFFER_TYPE_DATA;
                }
        }
        if (!tok || n_data == 0)
                return SEC_E_INVALID_TOKEN;
        *ret_data = n_data;
        *ret_token = tok;
        *ret_pad = pad;
        return SEC_E_OK;
}

static SECURITY_STATUS kerberos_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        KrbCtx *c = ctx;
        gss_iov_buffer_desc *iov;
        PkgBuffer *tok, *pad;
        size_t n_data, hdr_idx, pad_idx = SIZE_MAX;
        int conf;
        OM_uint32 major, minor;
        SECURITY_STATUS st;

        (void) seq_no;
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (qop == 0)
                conf = 1;
        else if (qop == SECQOP_WRAP_NO_ENCRYPT)
                conf = 0;
        else
                return SEC_E_QOP_NOT_SUPPORTED;
        iov = calloc(n ? n : 1, sizeof(*iov));
        if (!iov)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = build_iov(b, n, iov, true, &n_data, &tok, &pad);
        if (st != SEC_E_OK)
                goto out;
        hdr_idx = (size_t) (tok - b);
        if (pad)
                pad_idx = (size_t) (pad - b);

        /* Size first, so a short buffer fails before a sequence number is
         * spent. */
        iov[hdr_idx].buffer.length = 0;
        if (pad_idx != SIZE_MAX)
                iov[pad_idx].buffer.length = 0;
        major = gss_wrap_iov_length(&minor, c->gss, conf, GSS_C_QOP_DEFAULT, NULL, iov, (int) n);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_wrap_iov_length");
                goto out;
        }
        if (iov[hdr_idx].buffer.length > tok->cap ||
            (pad_idx != SIZE_MAX && iov[pad_idx].buffer.length > pad->cap)) {
                st = SEC_E_BUFFER_TOO_SMALL;
                goto out;
        }
        iov[hdr_idx].buffer.value = tok->data;
        iov[hdr_idx].buffer.length = tok->cap;
        if (pad_idx != SIZE_MAX) {
                iov[pad_idx].buffer.value = pad->data;
                iov[pad_idx].buffer.length = pad->cap;
        }
        major = gss_wrap_iov(&minor, c->gss, conf, GSS_C_QOP_DEFAULT, NULL, iov, (int) n);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_wrap_iov");
                goto out;
        }
        tok->len = iov[hdr_idx].buffer.length;
        if (pad_idx != SIZE_MAX)
                pad->len = iov[pad_idx].buffer.length;
        st = SEC_E_OK;
out:
        free(iov);
        return st;
}

/* DecryptMessage with one SECBUFFER_STREAM holding the whole wrap token:
 * the plaintext goes to the first DATA buffer (package memory, since the
 * caller's DATA buffer in that layout is usually empty). */
static SECURITY_STATUS unseal_stream(KrbCtx *c, PkgBuffer *stream, PkgBuffer *b, size_t n, uint32_t *ret_qop) {
        PkgBuffer *data = find_buffer(b, n, SECBUFFER_DATA);
        gss_buffer_desc in = { stream->len, stream->data }, out = GSS_C_EMPTY_BUFFER;
        gss_qop_t qop = 0;
        int conf = 0;
        OM_uint32 major, minor, junk;

        if (!data)
                return SEC_E_INVALID_TOKEN;
        major = gss_unwrap(&minor, c->gss, &in, &out, &conf, &qop);
        if (major != GSS_S_COMPLETE) {
                (void) gss_release_buffer(&junk, &out);
                return krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_unwrap");
        }
        if (data->owned)
                free(data->data);
        data->data = out.value;
        data->len = out.length;
        data->owned = true;
        if (ret_qop)
                *ret_qop = conf ? 0 : SECQOP_WRAP_NO_ENCRYPT;
        return SEC_E_OK;
}

static SECURITY_STATUS kerberos_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        KrbCtx *c = ctx;
        gss_iov_buffer_desc *iov;
        PkgBuffer *tok, *pad, *stream;
        size_t n_data;
        int conf = 0;
        gss_qop_t qop = 0;
        bool cfx;
        OM_uint32 major, minor;
        SECURITY_STATUS st;

        (void) seq_no;
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        stream = find_buffer(b, n, SECBUFFER_STREAM);
        if (stream)
                return unseal_stream(c, stream, b, n, ret_qop);

        tok = find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || tok->len < 2)
                return SEC_E_INVALID_TOKEN;
        /* RFC 4121 wrap tokens start 05 04; only the older RC4 tokens
         * carry padding of their own. */
        cfx = tok->data[0] == 0x05 && tok->data[1] == 0x04;
        /* A sealed RFC 4121 token in a header without a trailer buffer:
         * Heimdal trusts its EC and reads EC bytes before the encrypted
         * header copy, i.e. before the token for a large EC (found by
         * fuzz_krb, regression input tests/fuzz/corpus/krb/regression-
         * cfx-ec). The token must hold EC, both headers and the krb5
         * header and trailer, which the sealed header size gives. */
        if (cfx && tok->len >= 6 && (tok->data[2] & 0x02)) {
                size_t ec = (size_t) tok->data[4] << 8 | tok->data[5];
                if (!c->have_sizes && compute_sizes(c) != SEC_E_OK)
                        return SEC_E_INTERNAL_ERROR;
                if (c->sizes.cbSecurityTrailer < 32 || ec + c->sizes.cbSecurityTrailer - 16 > tok->len)
                        return krb_status_gss(KRB_OP_MESSAGE, GSS_S_DEFECTIVE_TOKEN, 0, "wrap token EC");
        }
        iov = calloc(n ? n : 1, sizeof(*iov));
        if (!iov)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = build_iov(b, n, iov, !cfx, &n_data, &tok, &pad);
        if (st != SEC_E_OK)
                goto out;
        major = gss_unwrap_iov(&minor, c->gss, &conf, &qop, iov, (int) n);
        /* Supplementary bits alone mean a replayed or reordered message. */
        if (major != GSS_S_COMPLETE) {
                st = krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_unwrap_iov");
                goto out;
        }
        if (pad && !cfx)
                pad->len = iov[pad - b].buffer.length;
        if (ret_qop)
                *ret_qop = conf ? 0 : SECQOP_WRAP_NO_ENCRYPT;
        st = SEC_E_OK;
out:
        free(iov);
        return st;
}

/* ---- export / import --------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v) {
        memcpy(p, &v, 4);
}

static void put_i64(uint8_t *p, int64_t v) {
        memcpy(p, &v, 8);
}

static uint32_t take_u32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}

static int64_t take_i64(const uint8_t *p) {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
}

/*
 * The blob: magic, version, initiator flag, req/ret/gss flags, start,
 * expiry, length of the GSS token, the GSS token. gss_export_sec_context
 * always consumes the GSS context; with keep_old the token is imported
 * straight back so the caller's handle stays usable. A delegated
 * credential does not travel.
 */
static SECURITY_STATUS kerberos_export_ctx(void *ctx, bool keep_old, uint8_t **ret_blob, size_t *ret_len,
                                           bool *ctx_consumed) {
        KrbCtx *c = ctx;
        gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
        OM_uint32 major, minor;
        uint8_t *blob;
        size_t len;

        *ctx_consumed = false;
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        major = gss_export_sec_context(&minor, &c->gss, &tok);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_export_sec_context");
        if (tok.length > UINT32_MAX - EXPORT_HEADER_SIZE) {
                explicit_bzero(tok.value, tok.length);
                (void) gss_release_buffer(&minor, &tok);
                return SEC_E_INTERNAL_ERROR;
        }
        len = EXPORT_HEADER_SIZE + tok.length;
        blob = malloc(len);
        if (blob) {
                memcpy(blob, EXPORT_MAGIC, 4);
                put_u32(blob + 4, EXPORT_VERSION | (c->initiator ? 0x100U : 0));
                put_u32(blob + 8, c->req_flags);
                put_u32(blob + 12, c->ret_flags);
                put_u32(blob + 16, c->gss_flags);
                put_u32(blob + 20, 0);
                put_i64(blob + 24, c->start);
                put_i64(blob + 32, c->expiry);
                put_u32(blob + 40, (uint32_t) tok.length);
                memcpy(blob + EXPORT_HEADER_SIZE, tok.value, tok.length);
        }

        if (keep_old) {
                major = gss_import_sec_context(&minor, &tok, &c->gss);
                if (GSS_ERROR(major)) {
                        /* The old context is gone either way: say so. */
                        c->gss = GSS_C_NO_CONTEXT;
                        kerberos_ctx_free(c);
                        *ctx_consumed = true;
                }
        } else {
                kerberos_ctx_free(c);
                *ctx_consumed = true;
        }
        /* The token holds the session keys. */
        explicit_bzero(tok.value, tok.length);
        (void) gss_release_buffer(&minor, &tok);
        if (!blob)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret_blob = blob;
        *ret_len = len;
        return SEC_E_OK;
}

static SECURITY_STATUS kerberos_import_ctx(const uint8_t *blob, size_t len, void **ret_ctx) {
        gss_buffer_desc tok;
        OM_uint32 major, minor, version;
        KrbCtx *c;

        if (!blob || len < EXPORT_HEADER_SIZE || memcmp(blob, EXPORT_MAGIC, 4) != 0)
                return SEC_E_INVALID_TOKEN;
        version = take_u32(blob + 4);
        if ((version & 0xff) != EXPORT_VERSION || take_u32(blob + 40) != len - EXPORT_HEADER_SIZE)
                return SEC_E_INVALID_TOKEN;
        c = ctx_new(version & 0x100U, take_u32(blob + 8));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->ret_flags = take_u32(blob + 12);
        c->gss_flags = take_u32(blob + 16);
        c->start = take_i64(blob + 24);
        c->expiry = take_i64(blob + 32);
        tok.value = (void *) (blob + EXPORT_HEADER_SIZE);
        tok.length = len - EXPORT_HEADER_SIZE;
        major = gss_import_sec_context(&minor, &tok, &c->gss);
        if (GSS_ERROR(major)) {
                kerberos_ctx_free(c);
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_import_sec_context");
        }
        c->established = true;
        *ret_ctx = c;
        return SEC_E_OK;
}

static int kerberos_setup(const struct Config *config) {
        if (krb_replay_setup(config->replay_cache) < 0)
                return -ENOMEM;
        /* Fail early on a krb5.conf Heimdal cannot read rather than on the
         * first call. */
        return krb_context() ? 0 : -EINVAL;
}

const Provider provider_kerberos = {
        .name = "Kerberos",
        .comment = "Kerberos Security Package",
        .aliases = NULL,
        .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_TOKEN_ONLY | SECPKG_FLAG_DATAGRAM |
                        SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_EXTENDED_ERROR |
                        SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_NEGOTIABLE |
                        SECPKG_FLAG_GSS_COMPATIBLE | SECPKG_FLAG_LOGON | SECPKG_FLAG_MUTUAL_AUTH |
                        SECPKG_FLAG_DELEGATION | SECPKG_FLAG_READONLY_WITH_CHECKSUM,
        .version = 1,
        .rpcid = 16, /* RPC_C_AUTHN_GSS_KERBEROS */
        .max_token = KRB_MAX_TOKEN,
        .setup = kerberos_setup,
        .acquire = kerberos_acquire,
        .cred_free = kerberos_cred_free,
        .cred_name = kerberos_cred_name,
        .step_may_block = kerberos_step_may_block,
        .init_ctx = kerberos_init_ctx,
        .accept_ctx = kerberos_accept_ctx,
        .complete = kerberos_complete,
        .query_ctx = kerberos_query_ctx,
        .sign = kerberos_sign,
        .verify = kerberos_verify,
        .seal = kerberos_seal,
        .unseal = kerberos_unseal,
        .export_ctx = kerberos_export_ctx,
        .import_ctx = kerberos_import_ctx,
        .ctx_free = kerberos_ctx_free,
};
