/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The CredSSP package's own types (MS-CSSP), shared by credssp.c
 * (credentials, the TLS and SPNEGO plumbing, attributes, messages, the
 * provider table) and credssp-context.c (the client and server steps).
 * Never included outside daemon/packages/credssp/.
 *
 * A CredSSP context holds two inner contexts of other packages, which it
 * drives by calling their provider operations directly (as Negotiate
 * drives Kerberos and NTLM): a Schannel one for the TLS channel and a
 * Negotiate one for the authentication inside it. The caller's tokens
 * carry TLS records only, as on Windows: first the handshake, then the
 * TSRequests inside application-data records.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packages/provider.h"
#include "packages/credssp/tsrequest.h"

extern const Provider provider_schannel;
extern const Provider provider_negotiate;

/* STATUS_LOGON_FAILURE, what a CredSSP server puts in errorCode for a
 * refused logon (MS-CSSP 3.1.5: an NTSTATUS). */
#define CSSP_STATUS_LOGON_FAILURE 0xC000006Du

typedef struct CsspCred {
        uint32_t use;
        void *tls;   /* Schannel credential */
        void *nego;  /* Negotiate credential */
        /* Client: TSPasswordCreds' strings, UTF-16LE (wiped when freed);
         * has_password false when the credential has no password to
         * delegate (the default logon). */
        bool has_password;
        uint8_t *domain, *user, *password;
        size_t domain_len, user_len, password_len;
} CsspCred;

enum {
        CSSP_TLS,       /* the TLS handshake runs */
        CSSP_NEGO,      /* SPNEGO tokens inside TSRequests */
        CSSP_PUBKEY,    /* client: pubKeyAuth sent, the server's awaited */
        CSSP_CREDS,     /* server: pubKeyAuth answered, TSCredentials awaited */
        CSSP_DONE,
        CSSP_FAILED,
};

typedef struct CsspCtx {
        bool server;
        int state;
        void *tls, *nego;       /* inner contexts (Schannel, Negotiate) */
        bool nego_done;
        uint32_t version;       /* ours, then the one both sides use */
        uint32_t peer_version;
        uint8_t nonce[TSREQ_NONCE_LEN];
        bool has_nonce;
        uint8_t *pubkey;        /* the server's SubjectPublicKey (BIT STRING value) */
        size_t pubkey_len;
        uint8_t *pending;       /* TLS bytes not yet a whole record */
        size_t pending_len;
        uint8_t *plain;         /* plaintext not yet a whole TSRequest */
        size_t plain_len;
        char *target;           /* the SPN for Negotiate */
        char *tls_target;       /* the host for Schannel */
        uint32_t req_flags, ret_flags;
        int64_t expiry;
        /* Server: the delegated credentials (TSPasswordCreds), UTF-16LE;
         * they never leave the daemon. */
        bool delegated;
        uint8_t *d_domain, *d_user, *d_password;
        size_t d_domain_len, d_user_len, d_password_len;
        const Caller *caller;
        const struct Config *config;
} CsspCtx;

/* Growable output bytes. */
typedef struct CsspOut {
        uint8_t *p;
        size_t len;
} CsspOut;

int cssp_out_add(CsspOut *o, const uint8_t *p, size_t len) __attribute__((warn_unused_result));
void cssp_out_free(CsspOut *o);

/* TLS application data: `len` bytes sealed into records appended to o. */
SECURITY_STATUS cssp_tls_write(CsspCtx *x, const uint8_t *p, size_t len, CsspOut *o)
        __attribute__((warn_unused_result));
/* Records from the peer: every whole one is opened and its plaintext kept
 * in x->plain. When `whole` (p/len are the caller's token), a partial last
 * record consumes nothing: SEC_E_INCOMPLETE_MESSAGE, and the caller's
 * EMPTY input buffer `slot` (if any) becomes SECBUFFER_MISSING with the
 * count, as Schannel's ISC/ASC answer; the caller calls again with all
 * the bytes. Otherwise (bytes that followed the handshake's last record,
 * already taken) a partial record waits in x->pending. */
SECURITY_STATUS cssp_tls_read(CsspCtx *x, const uint8_t *p, size_t len, bool whole, PkgBuffer *slot)
        __attribute__((warn_unused_result));
/* A whole TSRequest at the front of x->plain: 1 with its DER malloc()ed in
 * *ret (and removed from x->plain), 0 when more bytes are needed, or a
 * negative SECURITY_STATUS-free -EBADMSG. */
int cssp_next_request(CsspCtx *x, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));
/* A TSRequest sealed into records appended to o. */
SECURITY_STATUS cssp_send_request(CsspCtx *x, const TsRequest *r, CsspOut *o) __attribute__((warn_unused_result));

/* Negotiate's EncryptMessage/DecryptMessage for pubKeyAuth and authInfo:
 * the signature (token) then the sealed data, as MS-CSSP 3.1.5 and
 * Windows lay them out. */
SECURITY_STATUS cssp_encrypt(CsspCtx *x, const uint8_t *p, size_t len, uint8_t **ret, size_t *ret_len)
        __attribute__((warn_unused_result));
SECURITY_STATUS cssp_decrypt(CsspCtx *x, const uint8_t *p, size_t len, uint8_t **ret, size_t *ret_len)
        __attribute__((warn_unused_result));

/* The server's SubjectPublicKey from the TLS context into x->pubkey. */
SECURITY_STATUS cssp_load_pubkey(CsspCtx *x) __attribute__((warn_unused_result));
/* pubKeyAuth's plaintext: for version 5 and later SHA-256 of the magic
 * (client-to-server or server-to-client), the nonce and the key; before,
 * the key itself, its first byte plus one from the server. malloc()ed. */
SECURITY_STATUS cssp_pubkey_auth(CsspCtx *x, bool from_server, uint8_t **ret, size_t *ret_len)
        __attribute__((warn_unused_result));

/* A Negotiate step: `in` (may be empty) to its output in *ret (malloc()ed,
 * may be empty). Negotiate's status. */
SECURITY_STATUS cssp_nego_step(CsspCtx *x, PkgStep *s, TsBytes in, uint8_t **ret, size_t *ret_len)
        __attribute__((warn_unused_result));

/* The output token slot gets o's bytes (o is emptied). */
SECURITY_STATUS cssp_put_output(PkgStep *s, CsspOut *o) __attribute__((warn_unused_result));
PkgBuffer *cssp_find_buffer(PkgBuffer *b, size_t n, uint32_t type);

SECURITY_STATUS cssp_init(PkgStep *s);
SECURITY_STATUS cssp_accept(PkgStep *s);
void cssp_ctx_free(void *p);
