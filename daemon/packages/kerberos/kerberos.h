/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Kerberos package (DESIGN §6), built on Heimdal's GSSAPI krb5
 * mechanism. provider_kerberos is the only thing the rest of the daemon
 * sees; the declarations below are shared by the kerberos*.c files,
 * kerberos-errors.c (the package's one status table) among them.
 */

#include <gssapi/gssapi.h>
#include <krb5.h>

#include "packages/provider.h"

extern const Provider provider_kerberos;

/*
 * What the package was doing when a library call failed. The same Heimdal
 * code means different things to an SSPI caller depending on the step:
 * KRB5KRB_AP_ERR_BAD_INTEGRITY is a wrong password in the AS exchange, a
 * ticket sealed with a key the acceptor does not hold in ASC ("the target
 * principal name is incorrect" on Windows) and a forged message in
 * DecryptMessage.
 */
typedef enum KrbOp {
        KRB_OP_LOGON   = 1 << 0, /* AS exchange, reading a ccache */
        KRB_OP_ACQUIRE = 1 << 1, /* keytab loading, credential import */
        KRB_OP_INIT    = 1 << 2, /* InitializeSecurityContext */
        KRB_OP_ACCEPT  = 1 << 3, /* AcceptSecurityContext */
        KRB_OP_MESSAGE = 1 << 4, /* Make/VerifySignature, Encrypt/DecryptMessage */
        KRB_OP_QUERY   = 1 << 5, /* QueryContextAttributes, export, import */
} KrbOp;

/*
 * Map a GSS major/minor pair to the SSPI status the caller sees. `what`
 * names the failing call for the log line written when nothing in the
 * table matches (then the result is SEC_E_INTERNAL_ERROR). Never returns
 * SEC_E_OK: callers only ask about failures.
 */
SECURITY_STATUS krb_status_gss(KrbOp op, OM_uint32 major, OM_uint32 minor, const char *what);

/* The same for a plain krb5 error code. */
SECURITY_STATUS krb_status_krb5(KrbOp op, krb5_error_code code, const char *what);

/* The calling thread's krb5 context, created on first use; NULL when
 * Heimdal cannot build one (broken krb5.conf, out of memory). */
krb5_context krb_context(void);

/* Diagnostics to stderr with a "kerberos: " prefix, until the daemon log
 * takes them. Never pass a password, key or token. */
void krb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The AS exchange for a password (kerberos-logon.c): Heimdal's
 * krb5_get_init_creds_password, plus one log line naming the KDC's reason
 * (its error and the NTSTATUS of its e-data) whenever it refuses. */
krb5_error_code krb_logon_password(krb5_context k, krb5_principal client, const char *password,
                                   krb5_get_init_creds_opt *opt, krb5_creds *creds);
/* The NTSTATUS in a KRB-ERROR's e-data (PA-PW-SALT form), 0 if none. */
uint32_t krb_edata_ntstatus(const void *edata, size_t len);

/* The AP-REQ replay cache (kerberos-replay.c): size it (0 = off), and ask
 * whether an accepted AP-REQ's key was seen before (it is remembered if
 * not). */
#define KRB_REPLAY_KEY_SIZE 16
int krb_replay_setup(unsigned capacity);
bool krb_replay_seen(const uint8_t key[KRB_REPLAY_KEY_SIZE]);
/* Only ask (before the AP-REQ is decrypted): a key in the cache came from
 * an accepted AP-REQ, so a token carrying it is a replay whatever else it
 * says. Nothing is remembered: only accepted AP-REQs are. */
bool krb_replay_known(const uint8_t key[KRB_REPLAY_KEY_SIZE]);

/* The first token an acceptor gets: a GSS-framed (RFC 2743 §3.1) or raw
 * AP-REQ whose every tag and length is canonical DER, with nothing after
 * it. On success returns 0 and the replay key: a digest of the
 * authenticator's ciphertext, the part the session key authenticates.
 * -EBADMSG for anything else (SEC_E_INVALID_TOKEN to the caller), -ENOMEM
 * when the digest cannot be computed. */
int krb_ap_req_check(const void *token, size_t len, uint8_t ret_key[KRB_REPLAY_KEY_SIZE]);

/* 0 when p[0..len) is exactly one DER element, canonical all the way down
 * (definite minimal lengths and tags, constructed contents filled exactly,
 * minimal INTEGERs), -EBADMSG otherwise. */
int krb_der_canonical(const uint8_t *p, size_t len);

/* 0 when a FILE ccache image (version 3 or 4) is well formed: every length
 * inside it, records ending exactly at its end (kerberos-ccache.c);
 * -EBADMSG otherwise. Checked before Heimdal's decoders see the image. */
int krb_ccache_image_check(const uint8_t *image, size_t len);

/* The caller's KCM cache `name` ("" for KCM's default) read through `fd`,
 * the socket to KCM its client library connected and passed
 * (kerberos-kcm.c), as a FILE version 4 image for the ccache path. Returns
 * 0 and a malloc()ed image (wipe before freeing); -ENOTSOCK, -EPERM and
 * the like when `fd` is not a connection to a KCM service, -ETIMEDOUT
 * when KCM does not answer in time, -ENOENT when KCM has no such cache,
 * -EBADMSG or -EFBIG for replies out of shape or too large. */
int krb_kcm_image(int fd, const char *name, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));
/* The same without the check of `fd` (fuzz_krb feeds it a socketpair). */
int krb_kcm_read(int fd, const char *name, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));
