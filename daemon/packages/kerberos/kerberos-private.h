/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Kerberos package's own types and limits, shared by its files:
 * kerberos.c (per-thread krb5 context, helpers, export/import, the
 * provider table), kerberos-credential.c, kerberos-context.c,
 * kerberos-attributes.c, kerberos-message.c, kerberos-msgcheck.c. Never
 * included outside daemon/packages/kerberos/.
 */

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
#include <krb5.h>

#include "packages/provider.h"
#include "policy/config.h"

#define KRB_MAX_TOKEN 48000
/* Service tickets remembered per credential for step_may_block(). */
#define KNOWN_TARGETS 16
/* A ticket this close to its end counts as gone: the next ISC renews it. */
#define TICKET_MARGIN 60

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

/* An outbound identity AddCredentials replaced: kept until the credential
 * is freed, since a step may still use the GSS credential it took
 * (krb_cred_initiator hands it out without the lock). */
typedef struct KrbRetired {
        gss_cred_id_t init_cred;
        krb5_ccache ccache;
        krb5_principal client;
        char *client_name;
        char *netbios_domain;
        struct KrbRetired *next;
} KrbRetired;

typedef struct KrbCred {
        /* `lock` guards the fields below that change after acquire and is
         * only ever held briefly: step_may_block() and cred_name() take it
         * on the event loop. `logon_lock` serialises the AS exchange,
         * which may wait seconds for a KDC, without holding `lock`. */
        pthread_mutex_t lock;
        pthread_mutex_t logon_lock;
        uint32_t use;                   /* SECPKG_CRED_* this credential can really serve */
        bool may_delegate;              /* config allowed delegation at acquire time */
        uid_t owner;                    /* the uid that acquired it (KDC proxy quota) */

        /* Outbound. init_cred stays GSS_C_NO_CREDENTIAL until a TGT is in
         * `ccache`; with a password that is the first ISC. */
        gss_cred_id_t init_cred;
        krb5_ccache ccache;             /* MEMORY ccache behind init_cred */
        krb5_principal client;
        char *client_name;
        char *password;                 /* NUL-terminated, until the AS exchange succeeded */
        size_t password_len;
        int32_t kdc_offset;             /* the KDC's clock minus ours, seconds (kerberos-clock.c) */
        char *netbios_domain;           /* sent unmapped as an enterprise name (kerberos-names.c) */
        KnownTarget known[KNOWN_TARGETS];
        unsigned known_next;
        /* SetCredentialsAttributes(KDC_PROXY_SETTINGS): this credential's
         * KDC traffic goes through an MS-KKDCP proxy (kerberos-kdcproxy.c) */
        struct KrbKdcProxy *kdc_proxy;
        KrbRetired *retired;            /* identities AddCredentials replaced */

        /* Inbound. */
        gss_cred_id_t accept_cred;
        krb5_keytab keytab;             /* MEMORY keytab behind accept_cred */
        char *acceptor_name;
        char **acceptor_names;          /* every principal the keytab holds: accepted tickets name one */
        size_t n_acceptor_names;
} KrbCred;

/* Heimdal's receive window (lib/gssapi/krb5/sequence.c jitter window). */
#define KRB_RECV_WINDOW 20

typedef struct KrbCtx {
        gss_ctx_id_t gss;
        bool initiator;
        bool established;
        gss_name_t target;              /* ISC: until the handshake ends */
        int32_t kdc_offset;             /* ISC: the credential's, for every leg */
        uint32_t req_flags;             /* ISC_REQ_* or ASC_REQ_* as asked */
        uint32_t ret_flags;             /* ISC_RET_* or ASC_RET_* in effect */
        OM_uint32 gss_flags;
        int64_t start;                  /* FILETIME */
        int64_t expiry;                 /* FILETIME */
        gss_cred_id_t delegated;        /* ASC: what the client forwarded */
        bool have_sizes;
        SecPkgContext_Sizes sizes;
        /* What Heimdal's receive window holds, for kerberos_msg_keys():
         * untouched since the handshake, or primed by kerberos-noap.c
         * with one number; `recv_unknown` once a token reached it (or
         * after an import), when it can no longer be handed over. */
        bool recv_unknown;
        bool recv_primed;
        uint32_t recv_primed_seq;
        /* After an import: Heimdal's window as its token carried it (the
         * exporter's library's when that sent its state), read from the
         * token by kerberos-export-keys.c. */
        bool recv_window_set;
        uint32_t recv_win_flags, recv_win_first, recv_win_len, recv_win[KRB_RECV_WINDOW];
        struct KrbPac *pac;             /* ASC: the ticket's verified PAC, NULL without one (kerberos-pac.h) */
        uint8_t *pac_raw;               /* its bytes, which ExportSecurityContext carries */
        size_t pac_raw_len;
} KrbCtx;

/* Shared between the package's files (static before the split). */
int64_t krb_filetime_in(OM_uint32 seconds);
PkgBuffer *krb_find_buffer(PkgBuffer *b, size_t n, uint32_t type);
uint32_t krb_get_le32(const uint8_t *p);
char *krb_gss_name_to_string(gss_name_t name);
void krb_known_targets_clear(KrbCred *c);
bool krb_known_target_valid(KrbCred *c, const char *target, time_t now);
void krb_known_target_add(KrbCred *c, const char *target, time_t until);
void kerberos_cred_free(void *p);
SECURITY_STATUS krb_cred_initiator(KrbCred *c, gss_cred_id_t *ret);
SECURITY_STATUS kerberos_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry);
SECURITY_STATUS kerberos_cred_name(void *p, char **ret_name);
SECURITY_STATUS kerberos_add_cred(void *cred, void *added);
SECURITY_STATUS krb_logon_via(KrbCred *via, KrbCred *c);
SECURITY_STATUS krb_acceptor_load(KrbCred *c, const Config *cfg, const Caller *caller, const char *want);
SECURITY_STATUS krb_acceptor_check(const KrbCred *c, const void *token, size_t len);
void krb_acceptor_names_free(KrbCred *c);
SECURITY_STATUS krb_import_target(const char *target, gss_name_t *ret);
bool kerberos_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept);
void kerberos_ctx_free(void *p);
KrbCtx *krb_ctx_new(bool initiator, uint32_t req);
SECURITY_STATUS kerberos_init_ctx(PkgStep *s);
SECURITY_STATUS kerberos_accept_ctx(PkgStep *s);
SECURITY_STATUS kerberos_complete(void *ctx, PkgBuffer *b, size_t n);
SECURITY_STATUS krb_compute_sizes(KrbCtx *c);
SECURITY_STATUS kerberos_query_ctx(void *ctx, uint32_t attr, PkgCtxAttr *out);
SECURITY_STATUS kerberos_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
SECURITY_STATUS kerberos_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);
SECURITY_STATUS kerberos_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
SECURITY_STATUS kerberos_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);
/* kerberos-noap.c: the acceptor's sequence numbers start at the
 * initiator's when there was no AP-REP. */
void krb_initiator_without_ap_rep(KrbCtx *c, OM_uint32 gflags);
/* kerberos-msgcheck.c: SEC_E_MESSAGE_ALTERED for an RFC 4121 token that
 * would fail Heimdal's check, before Heimdal spends its sequence number. */
SECURITY_STATUS krb_precheck_wrap(KrbCtx *c, const uint8_t *tok, size_t len);
/* kerberos-pac.c: an imported acceptor context's PAC (ExportSecurityContext's
 * blob carries the verified PAC's bytes); nothing for len 0. */
SECURITY_STATUS krb_pac_import(KrbCtx *c, const uint8_t *raw, size_t len);
/* kerberos-pac.c: after ASC completes, the ticket's PAC checked with the
 * service key and decoded into c->pac. SEC_E_OK without a PAC (c->pac
 * stays NULL); SEC_E_LOGON_DENIED for a PAC that fails its server
 * signature, names another client or does not decode. */
SECURITY_STATUS krb_pac_load(KrbCtx *c);
/* kerberos-pac.c: gss_accept_sec_context refused the first token with
 * `st`; when the ticket opens with one of the credential's keys and its
 * PAC does not verify (Heimdal checks the PAC inside the acceptor and
 * reports it as a wrong key or EINVAL), SEC_E_LOGON_DENIED; `st`
 * otherwise. */
SECURITY_STATUS krb_pac_refusal(const KrbCred *c, const void *token, size_t len, SECURITY_STATUS st);
/* kerberos-acceptor-keys.c: the AP-REQ in a first token that passed
 * krb_ap_req_check(), -EBADMSG if none. Free with free_AP_REQ(). */
int krb_ap_req_decode(krb5_context k, const uint8_t *token, size_t len, krb5_ap_req *ret);
SECURITY_STATUS krb_precheck_mic(KrbCtx *c, const uint8_t *msg, size_t msg_len, const uint8_t *tok, size_t len);
/* kerberos-export-keys.c: message-protection = caller. */
struct PkgMsgKeys;
SECURITY_STATUS kerberos_msg_keys(void *ctx, struct PkgMsgKeys *out);
/* ExportSecurityContext of a caller-mode context: the library's sequence
 * numbers and receive window replace the Heimdal context's (no key). */
SECURITY_STATUS kerberos_msg_keys_update(void *ctx, const struct PkgMsgKeys *state);
/* An imported context: what its Heimdal token says of the receive
 * window (recv_window_set), or recv_unknown when it cannot be read. */
void krb_window_from_token(KrbCtx *c, const uint8_t *tok, size_t len);
/* kerberos-chpass.c: ChangeAccountPassword (RFC 3244 against kpasswd). */
SECURITY_STATUS kerberos_change_password(PkgChangePassword *c);
/* kerberos-kdcproxy.c: SetCredentialsAttributes, the MS-KKDCP client, and
 * ISC with the credential's KDC traffic sent through its proxy. */
int krb_kdcproxy_setup(const Config *config);
/* kerberos-random.c: hcrypto's RAND method is the daemon's page of kernel
 * randomness (installed once, before the workers; is_kernel for tests). */
void krb_random_setup(void);
bool krb_random_is_kernel(void);
SECURITY_STATUS kerberos_set_cred_attr(void *cred, const PkgSetCredAttr *a);
void krb_kdcproxy_free(struct KrbKdcProxy *p);
SECURITY_STATUS kerberos_init_ctx_proxied(PkgStep *s);
/* The KDC's reply (malloc()ed into *out) in a KDC proxy's whole HTTP
 * answer buf[0..n), which it may change; -EBADMSG with *why otherwise. */
int krb_kkdcp_reply(uint8_t *buf, size_t n, krb5_data *out, const char **why);
/* kerberos-names.c: the principal an explicit identity names (a NetBIOS
 * domain mapped or sent as an enterprise name, a UPN as an enterprise
 * name; with ret_netbios, for a logon, *ret_netbios gets the NetBIOS domain
 * sent unmapped for the DC to resolve; without, for matching a ccache, a
 * domain a logon learnt stands for its realm), the NetBIOS domains the DC resolved, and whether
 * a ccache's principal is the one it names. */
SECURITY_STATUS krb_identity_principal(krb5_context k, const PkgAcquire *a, krb5_principal *ret,
                                       char **ret_netbios);
void krb_netbios_learn(const char *netbios, const char *realm);
char *krb_netbios_learnt(const char *netbios);
SECURITY_STATUS krb_netbios_refused(const KrbCred *c, krb5_error_code r);
char *krb_principal_display(krb5_context k, krb5_const_principal p);
bool krb_principal_is_enterprise(krb5_context k, krb5_const_principal p);
bool krb_identity_matches(krb5_context k, krb5_const_principal want, krb5_const_principal have);
/* kerberos-clock.c: the KDC offset of an AS exchange, taken out of the
 * thread's context (start zeroes it, end returns and zeroes it); the GSS
 * layer's offset on this thread for one gss_init_sec_context; the offset a
 * FILE ccache image's header records (0 if none). */
void krb_clock_logon_start(krb5_context k);
int32_t krb_clock_logon_end(krb5_context k);
void krb_clock_gss_set(int32_t offset);
int32_t krb_clock_from_ccache_header(const uint8_t *header, size_t len);

/* kerberos-export-keys.c: RFC 3961 n-fold, and the message keys of both
 * directions derived from a 16- or 32-byte AES token key. */
void krb_n_fold(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len);
bool krb_derive_msg_keys(const uint8_t *key, size_t n, unsigned seal_s, unsigned sign_s, unsigned seal_r,
                         unsigned sign_r, uint8_t *send, uint8_t *recv);
