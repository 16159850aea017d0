/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Windows-behaviour suite (tests/windows/): every check names where the
 * expected value comes from — a Microsoft documentation page, a check of
 * Wine's dlls/secur32/tests that passes on real Windows, or the code of a
 * real SSPI client that runs on Windows. The source is printed with the
 * check, so a failure says what Windows does and who says so.
 *
 * Sources are short strings; use the W_* helpers so they read alike:
 *   W_WINE("ntlm.c", "testAuth")      Windows-verified in Wine's ntlm.c testAuth
 *   W_MSDOCS("DecryptMessage (General)")
 *   W_CLIENT("curl lib/vtls/schannel.c", "schannel_recv")
 */

#include <stdbool.h>

#include "testlib.h"

#define W_WINE(file, fn) "Windows-verified in Wine's secur32 " file " " fn
#define W_MSDOCS(page) "Microsoft docs: " page
#define W_CLIENT(what, fn) "real client " what " " fn
#define W_RFC(rfc) rfc

/* The capability flags each package reports on Windows 8.1-11 (Wine's
 * main.c, ntlm.c, negotiate.c; Get-SecurityPackage output): the base set,
 * which Windows versions extend with the optional bits. */
#define NEGOTIATE_BASE_CAPS                                                                                    \
        (SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED |    \
         SECPKG_FLAG_EXTENDED_ERROR | SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |               \
         SECPKG_FLAG_NEGOTIABLE | SECPKG_FLAG_GSS_COMPATIBLE | SECPKG_FLAG_LOGON)
#define NTLM_BASE_CAPS                                                                                         \
        (SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_TOKEN_ONLY | SECPKG_FLAG_CONNECTION |        \
         SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |               \
         SECPKG_FLAG_NEGOTIABLE | SECPKG_FLAG_LOGON)
#define KERBEROS_BASE_CAPS                                                                                     \
        (SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_TOKEN_ONLY | SECPKG_FLAG_DATAGRAM |          \
         SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_EXTENDED_ERROR |                    \
         SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_NEGOTIABLE |                   \
         SECPKG_FLAG_GSS_COMPATIBLE | SECPKG_FLAG_LOGON | SECPKG_FLAG_MUTUAL_AUTH | SECPKG_FLAG_DELEGATION |    \
         SECPKG_FLAG_READONLY_WITH_CHECKSUM)
#define KERBEROS_OPTIONAL_CAPS (SECPKG_FLAG_RESTRICTED_TOKENS | SECPKG_FLAG_APPCONTAINER_CHECKS | 0x02000000u)
#define SCHANNEL_CAPS                                                                                          \
        (SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED |    \
         SECPKG_FLAG_EXTENDED_ERROR | SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |               \
         SECPKG_FLAG_STREAM | SECPKG_FLAG_MUTUAL_AUTH | SECPKG_FLAG_APPCONTAINER_PASSTHROUGH)
#define WDIGEST_CAPS                                                                                           \
        (SECPKG_FLAG_TOKEN_ONLY | SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |                  \
         SECPKG_FLAG_APPCONTAINER_CHECKS)

/* Exact status; the source is printed after the description. */
bool w_status(const char *src, SECURITY_STATUS got, SECURITY_STATUS want, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Exact unsigned value (cbBuffer, BufferType, flags, sizes). */
bool w_eq(const char *src, unsigned long long got, unsigned long long want, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Any other condition. */
bool w_ok(const char *src, bool cond, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- the calls, sync or through Sspi*Async ----
 * With w_async set, each call is queued on a fresh async context and
 * SspiGetAsyncCallStatus polled until it is final; a call refused before
 * it was queued returns that status. w_mode() names the mode in checks. */
extern bool w_async;
const char *w_mode(void);
SECURITY_STATUS w_acquire(const char *pkg, ULONG use, void *auth, CredHandle *ret);
/* The same, naming the principal (pszPrincipal). */
SECURITY_STATUS w_acquire_principal(const char *principal, const char *pkg, ULONG use, void *auth, CredHandle *ret);
SECURITY_STATUS w_isc(CredHandle *cred, CtxtHandle *ctx, const char *target, ULONG req, ULONG drep,
                      SecBufferDesc *in, CtxtHandle *newctx, SecBufferDesc *out, ULONG *attrs);
SECURITY_STATUS w_asc(CredHandle *cred, CtxtHandle *ctx, SecBufferDesc *in, ULONG req, ULONG drep,
                      CtxtHandle *newctx, SecBufferDesc *out, ULONG *attrs);
/* An ANSI identity; NULL fields have length 0. */
SEC_WINNT_AUTH_IDENTITY_A w_ident(const char *user, const char *domain, const char *password);
