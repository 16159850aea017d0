/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One full round of every package, both sides through the daemon: a
 * handshake, then message protection (seal/unseal and sign/verify; for
 * Schannel a record each way; for Digest, HTTP mode has none, so a second
 * request on the same nonce). Used by test_secrets (which records every
 * byte exchanged) and by the soak clients (tests/soak).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sspi.h"

enum { TP_KERBEROS, TP_NEGOTIATE, TP_NTLM, TP_DIGEST, TP_SCHANNEL, TP_COUNT };
extern const char *const tp_names[TP_COUNT];

/* Called with every token, signature and ciphertext the two sides
 * exchange and every session key they report (may be NULL). */
typedef void (*TpRecord)(const void *data, size_t len, void *userdata);

typedef struct TpCreds {
        CredHandle cli[TP_COUNT], srv[TP_COUNT];
        unsigned have; /* bit 2*i: cli[i], bit 2*i+1: srv[i] */
} TpCreds;

/* The test users' passwords (tests/tools/realm.sh, testenv.sh). */
#define TP_USER "alice"
#define TP_PASSWORD "alice-pw-1"

/* Acquires both credentials of package p (alice with her password; the
 * realm's HTTP service; the NTLM store; the Digest "http" store; the
 * server-ec certificate of the test PKI). With a password other than NULL
 * (a wrong one, for failure paths) alice gets that password, and the
 * Schannel server the certificate of an untrusted CA instead. */
SECURITY_STATUS tp_acquire(TpCreds *c, int p, const char *password);
void tp_release(TpCreds *c);

/* One round of package p. On failure returns the status and names the
 * step in *what. */
SECURITY_STATUS tp_round(TpCreds *c, int p, TpRecord rec, void *userdata, const char **what);

/* One side of an in-memory Schannel connection: what the peer sent and
 * this side has not consumed yet sits in `in`. */
typedef struct TpTls {
        CtxtHandle ctx;
        bool server, have, done;
        uint8_t in[65536];
        size_t in_len;
} TpTls;

/* One ISC ("localhost") or ASC step of p with cred over p->in; its output
 * is appended to to->in (dropped when to is NULL), a SECBUFFER_EXTRA stays
 * in p->in, every token goes to rec. Sets p->done at SEC_E_OK. */
SECURITY_STATUS tp_tls_step(CredHandle *cred, TpTls *p, TpTls *to, TpRecord rec, void *userdata);
/* A whole handshake between cl (with cc) and sv (with sc), both zeroed
 * first; SEC_E_OK once both sides are done. */
SECURITY_STATUS tp_tls_connect(CredHandle *cc, CredHandle *sc, TpTls *cl, TpTls *sv, TpRecord rec, void *userdata);

/* A Schannel handshake between the two credentials of TP_SCHANNEL (which
 * must be acquired), with no record after it; the caller deletes both
 * contexts. */
SECURITY_STATUS tp_tls_handshake(TpCreds *c, CtxtHandle *cli, CtxtHandle *srv);
