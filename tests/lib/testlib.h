/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Helpers for integration tests: TAP-style checks and the Kerberos steps
 * every test needs. Tests run against the real daemon and realm that
 * tests/tools/testenv.sh started (SSPID_SOCKET, KRB5_CONFIG, SSPID_REALM...).
 */

#include <stdbool.h>
#include <stdint.h>

#include "sspi.h"

extern int t_passed, t_failed;

void t_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Check an exact status; prints both names on mismatch. */
bool t_status(SECURITY_STATUS got, SECURITY_STATUS want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Print the summary line and return the exit status. */
int t_done(void);

const char *status_name(SECURITY_STATUS s);

/* Whether one line of the test world's daemon log ($SSPID_TESTENV/sspid.log)
 * holds both strings (b NULL: a alone). */
bool t_daemon_log_has(const char *a, const char *b);

const char *t_realm(void);      /* SSPID_REALM, default SSPID.TEST */
const char *t_realm_dir(void);  /* SSPID_REALM_DIR */
/* Run tests/tools/realm.sh VERB on the test realm (kdc-stop, kdc-start). */
int t_realm_cmd(const char *verb);

/* Outbound credential for user/password (ANSI identity, realm as domain). */
/* An outbound credential of `pkg` for user/domain/password (ANSI identity;
 * domain may be NULL). */
SECURITY_STATUS t_cred_identity(const char *pkg, const char *user, const char *domain, const char *password,
                                CredHandle *ret);
SECURITY_STATUS t_cred_password(const char *user, const char *password, CredHandle *ret);
/* Inbound credential for a service principal (NULL: the first granted). */
SECURITY_STATUS t_cred_service(const char *principal, CredHandle *ret);

/* SecPkgCredentials_KdcProxySettingsW with its server string after it, as
 * SetCredentialsAttributes(SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS) takes it. */
typedef struct TKdcProxySettings {
        SecPkgCredentials_KdcProxySettingsW s;
        SEC_WCHAR server[256];
} TKdcProxySettings;
/* Fills b for `server` (ASCII, cut at 255 characters) and flags; returns
 * the byte count to pass (the structure and the string). */
ULONG t_kdc_proxy_settings(TKdcProxySettings *b, ULONG flags, const char *server);

typedef struct THandshake {
        CtxtHandle client, server;
        bool have_client, have_server;
        SECURITY_STATUS client_status, server_status;
        ULONG client_attrs, server_attrs;
        int legs;
} THandshake;

/* Sync handshake ISC/ASC until both are done or one fails. */
SECURITY_STATUS t_handshake(CredHandle *c, CredHandle *s, const char *target, ULONG isc_flags, ULONG asc_flags,
                            THandshake *ret);
void t_handshake_done(THandshake *h);

/* The same exchange through the Sspi*Async calls: every step queued (must
 * return SEC_E_OK), then SspiGetAsyncCallStatus polled until final. Also
 * acquires both credentials asynchronously when *c / *s are zero handles
 * and pkg/identity are given. */
SECURITY_STATUS t_handshake_async(const char *pkg, void *identity, CredHandle *c, CredHandle *s, const char *target,
                                  ULONG isc_flags, ULONG asc_flags, THandshake *ret);

/* Kerberos message layout helpers: token + data [+ padding]. */
typedef struct TMessage {
        SecBuffer b[3];
        SecBufferDesc d;
        uint8_t token[256];
        uint8_t data[4096];
        uint8_t pad[64];
} TMessage;
void t_message_init(TMessage *m, const void *data, size_t len, bool with_padding);
