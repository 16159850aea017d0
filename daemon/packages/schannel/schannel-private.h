/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Schannel package's own types and limits, shared by its files:
 * schannel.c (OpenSSL glue, error mapping, the provider table),
 * schannel-credential.c, schannel-cache.c, schannel-context.c,
 * schannel-message.c, schannel-attributes.c (schannel-trust.c has its own
 * header). Never included outside daemon/packages/schannel/.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/config.h"
#include "util/log.h"
#include "packages/provider.h"
#include "packages/schannel/schannel-trust.h"
#include "tlsrec.h"
#include "sspi.pb-c.h"

#define TLS_HEADER 5u
#define DTLS_HEADER 13u /* type, version, epoch, sequence number, length */
#define DTLS_MTU_DEFAULT 1096u /* Schannel's default (SetContextAttributes docs) */
#define DTLS_MTU_MIN 200u
#define TLS_MAX_PLAINTEXT 16384u
#define TLS_MAX_RECORD (TLS_MAX_PLAINTEXT + 2048u)
#define SCH_MAX_TOKEN 0x6000u /* the cbMaxToken Windows' Schannel reports */
#define SCH_DEFAULT_LIFESPAN_MS 36000000u /* 10 hours */

#define REVOCATION_FLAGS (SCH_CRED_REVOCATION_CHECK_END_CERT | SCH_CRED_REVOCATION_CHECK_CHAIN | \
                          SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT)
#define CRYPT_E_NO_REVOCATION_CHECK ((SECURITY_STATUS) 0x80092012)
#define CRYPT_E_REVOKED ((SECURITY_STATUS) 0x80092010)
typedef struct CacheEntry {
        char *target;
        SSL_SESSION *session;
        int64_t expires; /* CLOCK_MONOTONIC ms */
        pid_t pid;
        uid_t uid;
        struct CacheEntry *next;
} CacheEntry;

typedef struct SchCred {
        SSL_CTX *ssl_ctx;
        uint32_t use;
        uint32_t flags;
        X509 *cert; /* our certificate, NULL if none */
        EVP_PKEY *key;
        STACK_OF(X509) *chain;
        uint32_t lifespan_ms;
        unsigned cache_max; /* client: targets kept (session-cache, at most CLIENT_CACHE_MAX) */
        struct SchCred *srv_prev, *srv_next; /* server credentials, under servers_lock */
        bool listed;
        pid_t pid;
        uid_t uid;
        pthread_mutex_t lock; /* protects cache */
        CacheEntry *cache;
        TrustScope scope; /* of the verified-chain cache */
        Sspiw__SchannelCred *params; /* a copy, for the ALPN-scoped TLS_PARAMETERS */
        Sspiw__TlsParams **rules;    /* those with ALPN ids */
        size_t n_rules;
        bool dtls;                   /* SP_PROT_DTLS1_2_*: datagram contexts only */
        bool dtls_on_request;        /* no protocol choice: *_REQ_DATAGRAM contexts are DTLS 1.2 */
        Sspiw__SchannelCred *dtls_params; /* ... made with these (a copy; NULL: none) */
        SSL_CTX *dtls_ctx;           /* ... from this SSL_CTX, made on first use (under lock) */
        bool dtls_failed;
        /* What SetCredentialsAttributes works from (schannel-credattr.c):
         * the suites the acquisition's CRYPTO_SETTINGS left, the version
         * range asked for, and the cipher strengths and ALG_IDs now in
         * force (0 / none: no limit). ssl_ctx changes under `lock`. */
        STACK_OF(SSL_CIPHER) *base;
        int want_lo, want_hi;
        uint32_t min_bits, max_bits;
        uint32_t *algs;
        size_t n_algs;
        bool dtls_no_suite;          /* ... and they left TLS 1.2 (so DTLS 1.2) no suite */
        int added_types[4];          /* AddCredentials: key types of the certificates added */
        size_t n_added;
} SchCred;

typedef struct SchCtx {
        SchCred *cred;
        SSL *ssl;
        BIO *rbio, *wbio;
        bool server;
        bool done;
        bool dead;            /* fatal error or close_notify: no more records */
        bool peer_closed;     /* the peer's close_notify came (DecryptMessage) */
        bool closing;         /* our close_notify was asked for: DecryptMessage
                               * still reads, up to the peer's (curl's
                               * schannel_shutdown waits for it so) */
        bool shutdown;        /* ApplyControlToken(SCHANNEL_SHUTDOWN) seen */
        bool skip_client_cert; /* the caller chose to go on without one */
        bool mutual;
        bool started;
        bool reneg;           /* a post-handshake handshake (TLS 1.3 client
                               * authentication, TLS 1.2 renegotiation) runs
                               * through ISC/ASC after SEC_I_RENEGOTIATE */
        bool post_msg;        /* DecryptMessage returned SEC_I_RENEGOTIATE: the
                               * next sch_step answers it, it does not initiate */
        bool asked_cred;      /* SEC_I_INCOMPLETE_CREDENTIALS given in this
                               * renegotiation */
        bool fed;             /* peer bytes reached OpenSSL */
        bool wrote_ccs;       /* our records are encrypted from now on */
        bool no_cache;        /* SCHANNEL_SESSION: SSL_SESSION_DISABLE_RECONNECTS */
        bool sess_enabled;    /* SCHANNEL_SESSION: SSL_SESSION_ENABLE_RECONNECTS */
        bool want_reneg;      /* ApplyControlToken(SCHANNEL_RENEGOTIATE), server */
        SSL_SESSION *srv_sess[4]; /* server: the sessions this connection put in the cache */
        unsigned n_srv_sess;
        bool alpn_refused;    /* the ALPN-scoped TLS_PARAMETERS ruled out every common protocol */
        bool alert_pending;   /* ApplyControlToken(SCHANNEL_ALERT) */
        uint8_t alert_level, alert_desc;
        unsigned legs;        /* steps that produced output */
        bool leg_cert;        /* a later leg's credential gave the client certificate */
        X509 *leg_x509;       /* ... this one (a reference) */
        EVP_PKEY *leg_key;
        size_t resupplied;    /* bytes taken before SEC_I_INCOMPLETE_CREDENTIALS, which
                               * the caller passes again (as Windows expects) */
        uint32_t req_flags;
        uint32_t step_flags; /* this call's ISC_REQ_*: the ISC_RET_* echo them */
        char *target;
        uint8_t *alpn;        /* server: the protocols it accepts (wire format) */
        size_t alpn_len;
        pid_t pid;
        uid_t uid;
        /* DTLS (schannel-dtls.c): the flight waiting to be handed out one
         * datagram per ISC/ASC call, and what the last one returns. */
        bool dtls;             /* a DTLS 1.2 context */
        uint16_t mtu;
        uint8_t *flight;
        size_t flight_len, flight_off;
        SECURITY_STATUS flight_status;
        int64_t clock_skew_us; /* OpenSSL's DTLS timer clock, moved on to force a retransmission */
        bool rx_any;           /* replay window of the peer's current epoch (RFC 6347 4.1.2.6) */
        uint16_t rx_epoch;
        uint64_t rx_max, rx_window;
        /* SetContextAttributes (schannel-ctxset.c). */
        bool has_app_data;     /* APP_DATA was set: it goes onto the sessions */
        uint8_t *app_data;
        size_t app_data_len;
        uint32_t eap_prf;      /* EAP_PRF_INFO: EAP_PRF_* (0: PPP EAP-TLS) */
        bool early_start;      /* EARLY_START asked (taken; never false-starts) */
        /* message-protection = caller (schannel-caller.c). OpenSSL's next
         * record number under its current keys, per direction (its message
         * callback); TLS 1.3's application traffic secrets as they stand;
         * whether the library holds a direction's current keys, those keys,
         * its next numbers and the numbers OpenSSL gives the same records. */
        bool want_keys;
        uint64_t ossl_rseq, ossl_wseq;
        uint8_t c_secret[48], s_secret[48];
        size_t secret_len;
        bool caller_r, caller_w;
        TlsRecKeys rk, wk;
        uint64_t lib_rseq, lib_wseq, osr, osw;
} SchCtx;
#define SERVER_CACHE_MIN 16u
#define CLIENT_CACHE_MAX 256u

/* Shared between the package's files (static before the split). */
extern int sch_ex_index;
extern pthread_once_t sch_ex_once;
void sch_ex_init(void);
int64_t sch_now_ms(void);
void sch_log_ssl_errors(const char *what);
SECURITY_STATUS sch_map_verify(long v);
SECURITY_STATUS sch_map_ssl_error(const char *what);
bool sch_known(const char *const *names, const char *s);
bool sch_alpn_allowed(const SchCred *c, SSL *ssl, const SSL_CIPHER *ci, bool server, const unsigned char *proto,
                         unsigned len);
void sch_cred_free(void *p);
SECURITY_STATUS sch_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry);
SECURITY_STATUS sch_cred_configure(SchCred *c, int lo, int hi, uint32_t min_bits, uint32_t max_bits,
                                   const uint32_t *algs, size_t n_algs);
SECURITY_STATUS sch_set_cred_attr(void *cred, const PkgSetCredAttr *a);
int sch_protocol_range(uint32_t enabled, uint32_t disabled, bool server, int *ret_min, int *ret_max);
SECURITY_STATUS sch_cred_name(void *p, char **ret);
SSL_CTX *sch_dtls_ctx(SchCred *c, const Config *config);
int sch_dtls_filter(SchCred *c, SSL_CTX *dtls_ctx);
SECURITY_STATUS sch_add_cred(void *cred, void *added);
void sch_cache_put(SchCred *c, const char *target, SSL_SESSION *sess, pid_t pid, uid_t uid);
void sch_cache_remove(SchCred *c, const char *target);
SSL_SESSION *sch_cache_get(SchCred *c, const char *target, pid_t pid, uid_t uid);
int sch_new_session_cb(SSL *ssl, SSL_SESSION *sess);
int sch_client_cert_cb(SSL *ssl, X509 **ret_x509, EVP_PKEY **ret_key);
int sch_alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                          unsigned inlen, void *arg);
void sch_ctx_free(void *p);
PkgBuffer *sch_find_buffer(PkgBuffer *b, size_t n, uint32_t type);
size_t sch_whole_records(const uint8_t *p, size_t len, size_t *need);
bool sch_alert_in_clear(SchCtx *x);
int64_t sch_peer_expiry(SchCtx *x);
SECURITY_STATUS sch_step(PkgStep *s, bool server);
SECURITY_STATUS sch_init(PkgStep *s);
SECURITY_STATUS sch_accept(PkgStep *s);
SECURITY_STATUS sch_cred_attr(void *cred, uint32_t attr, uint32_t *words, size_t *ret_n);
bool sch_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept);
void sch_record_overhead(SchCtx *x, uint32_t *ret_header, uint32_t *ret_trailer, uint32_t *ret_block);
SECURITY_STATUS sch_keying_material(SchCtx *x, const uint8_t *label, size_t label_len, const uint8_t *context,
                                    size_t context_len, uint32_t len, uint8_t **ret) __attribute__((warn_unused_result));
SECURITY_STATUS sch_seal(void *p, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
SECURITY_STATUS sch_unseal(void *p, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);
SECURITY_STATUS sch_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
SECURITY_STATUS sch_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);
SECURITY_STATUS sch_export_live(void *p, bool keep_old, void **ret_live, bool *ctx_consumed);
void sch_import_moved(void *p, const Caller *caller);
SECURITY_STATUS sch_control(void *p, PkgBuffer *b, size_t n);
SECURITY_STATUS sch_query(void *p, uint32_t attr, PkgCtxAttr *out);
SECURITY_STATUS sch_set_ctx_attr(void *p, uint32_t attr, const uint8_t *data, size_t len);
SECURITY_STATUS sch_dtls_set_mtu_attr(SchCtx *x, const uint8_t *data, size_t len);
void sch_app_data_apply(SchCtx *x, SSL_SESSION *sess);
SECURITY_STATUS sch_eap_key_block(SchCtx *x, uint8_t out[192]);
SECURITY_STATUS sch_check_peer(SchCtx *x);
uint32_t sch_ret_flags(const SchCtx *x);
void sch_flush_alert(SchCtx *x, PkgStep *s);
/* DTLS (schannel-dtls.c) */
int sch_dtls_setup_ssl(SchCtx *x, const PkgStep *s);
SECURITY_STATUS sch_dtls_step(SchCtx *x, PkgStep *s, bool server);
bool sch_dtls_replayed(const SchCtx *x, const uint8_t *rec);
void sch_dtls_mark(SchCtx *x, const uint8_t *rec);
void sch_dtls_clock_enter(const SchCtx *x);
void sch_dtls_clock_leave(void);
/* message-protection = caller (schannel-caller.c) */
struct PkgMsgKeys;
int sch_tls_prf(SchCtx *x, const uint8_t *secret, size_t secret_len, const char *label, const uint8_t *seed,
                size_t seed_len, uint8_t *out, size_t out_len);
void sch_caller_setup(SchCtx *x, bool want_keys);
void sch_keylog_cb(const SSL *ssl, const char *line);
SECURITY_STATUS sch_caller_in(SchCtx *x, uint8_t *p, size_t len);
SECURITY_STATUS sch_caller_out(SchCtx *x, uint8_t *p, size_t len);
SECURITY_STATUS sch_msg_keys(void *ctx, struct PkgMsgKeys *out);
SECURITY_STATUS sch_msg_keys_update(void *ctx, const struct PkgMsgKeys *in);
