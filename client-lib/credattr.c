/* SPDX-License-Identifier: MIT */
/*
 * SetCredentialsAttributes{A,W}, QueryCredentialsAttributesEx{A,W} and
 * AddCredentials{A,W}.
 * SetCredentialsAttributes: the caller's structure is read here, by
 * its documented size and within cbBuffer, and goes to the daemon parsed;
 * the package there decides whether it takes the attribute.
 *
 * SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS (Windows x64 layout): ULONG Version,
 * ULONG Flags, USHORT ProxyServerOffset/Length, USHORT ClientTlsCredOffset/
 * Length; the offsets count from the start of the structure and the
 * server is UTF-16 (the SDK has only the W structure; the A call takes it
 * too).
 *
 * Schannel's SECPKG_ATTR_SUPPORTED_PROTOCOLS (SecPkgCred_SupportedProtocols,
 * 4 bytes), SECPKG_ATTR_CIPHER_STRENGTHS (SecPkgCred_CipherStrengths, 8)
 * and SECPKG_ATTR_SUPPORTED_ALGS (SecPkgCred_SupportedAlgs, 16: a count
 * and a pointer to at most SET_CRED_ATTR_MAX_ALGS ALG_IDs) go as words.
 * A cbBuffer below the structure is SEC_E_INVALID_PARAMETER; nothing past
 * it is read.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static SECURITY_STATUS set_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        if (st == SEC_E_OK && (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_SET_CRED_ATTR_REP))
                return SEC_E_INTERNAL_ERROR;
        return st;
}

/* The part [off, off + len) of the caller's buffer, or false when it does
 * not lie inside cbBuffer (after the fixed structure). */
static bool part(ULONG cb, USHORT off, USHORT len, size_t fixed) {
        if (len == 0)
                return true;
        return off >= fixed && (size_t) off + len <= cb;
}

static SECURITY_STATUS parse_kdc_proxy(const void *buf, ULONG cb, Sspiw__SetCredAttrReq *q, char **ret_server) {
        SecPkgCredentials_KdcProxySettingsW s;
        const uint8_t *b = buf;
        SEC_WCHAR *w;
        int r;

        if (!buf || cb < sizeof(s))
                return SEC_E_INVALID_PARAMETER;
        memcpy(&s, buf, sizeof(s));
        if (!part(cb, s.ProxyServerOffset, s.ProxyServerLength, sizeof(s)) ||
            !part(cb, s.ClientTlsCredOffset, s.ClientTlsCredLength, sizeof(s)) || s.ProxyServerLength % 2)
                return SEC_E_INVALID_PARAMETER;
        q->has_version = true;
        q->version = s.Version;
        q->has_flags = true;
        q->flags = s.Flags;
        if (s.ProxyServerLength > 0) {
                size_t n = s.ProxyServerLength / 2;

                /* Copied: the offset need not be aligned for UTF-16. */
                w = malloc((n + 1) * sizeof(SEC_WCHAR));
                if (!w)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(w, b + s.ProxyServerOffset, s.ProxyServerLength);
                w[n] = 0;
                /* A trailing NUL counted in the length is not part of the name. */
                while (n > 0 && w[n - 1] == 0)
                        n--;
                r = utf16_to_utf8(w, n, ret_server);
                free(w);
                if (r == -ENOMEM)
                        return SEC_E_INSUFFICIENT_MEMORY;
                if (r < 0 || strlen(*ret_server) > WIRE_MAX_STRING)
                        return SEC_E_INVALID_PARAMETER;
                q->proxy_server = *ret_server;
        }
        if (s.ClientTlsCredLength > 0) {
                q->has_client_tls_cred = true;
                q->client_tls_cred.data = (uint8_t *) b + s.ClientTlsCredOffset;
                q->client_tls_cred.len = s.ClientTlsCredLength;
        }
        return SEC_E_OK;
}

/* The most ALG_IDs SUPPORTED_ALGS takes (the daemon's bound too). */
#define SET_CRED_ATTR_MAX_ALGS 256

static SECURITY_STATUS parse_words(ULONG attr, const void *buf, ULONG cb, Sspiw__SetCredAttrReq *q,
                                   uint32_t *words) {
        switch (attr) {
        case SECPKG_ATTR_SUPPORTED_PROTOCOLS: {
                SecPkgCred_SupportedProtocols p;
                if (!buf || cb < sizeof(p))
                        return SEC_E_INVALID_PARAMETER;
                memcpy(&p, buf, sizeof(p));
                words[0] = p.grbitProtocol;
                q->n_words = 1;
                break;
        }
        case SECPKG_ATTR_CIPHER_STRENGTHS: {
                SecPkgCred_CipherStrengths c;
                if (!buf || cb < sizeof(c))
                        return SEC_E_INVALID_PARAMETER;
                memcpy(&c, buf, sizeof(c));
                words[0] = c.dwMinimumCipherStrength;
                words[1] = c.dwMaximumCipherStrength;
                q->n_words = 2;
                break;
        }
        case SECPKG_ATTR_SUPPORTED_ALGS: {
                SecPkgCred_SupportedAlgs a;
                if (!buf || cb < sizeof(a))
                        return SEC_E_INVALID_PARAMETER;
                memcpy(&a, buf, sizeof(a));
                if (a.cSupportedAlgs > SET_CRED_ATTR_MAX_ALGS || (a.cSupportedAlgs && !a.palgSupportedAlgs))
                        return SEC_E_INVALID_PARAMETER;
                for (DWORD i = 0; i < a.cSupportedAlgs; i++)
                        words[i] = a.palgSupportedAlgs[i];
                q->n_words = a.cSupportedAlgs;
                break;
        }
        default:
                return SEC_E_OK;
        }
        q->words = words;
        return SEC_E_OK;
}

static SECURITY_STATUS set_cred_attr(PCredHandle h, ULONG attr, void *buf, ULONG cb) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__SetCredAttrReq q = SSPIW__SET_CRED_ATTR_REQ__INIT;
        Sspiw__Handle wh;
        uint32_t words[SET_CRED_ATTR_MAX_ALGS];
        char *server = NULL;
        SECURITY_STATUS st;

        if (!h || !SecIsValidHandle(h))
                return SEC_E_INVALID_HANDLE;
        handle_to_wire(h, &wh);
        q.cred = &wh;
        q.attr = attr;
        if (attr == SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS) {
                st = parse_kdc_proxy(buf, cb, &q, &server);
                if (st != SEC_E_OK) {
                        free(server);
                        return st;
                }
        } else if ((st = parse_words(attr, buf, cb, &q, words)) != SEC_E_OK)
                return st;
        req.body_case = SSPIW__ENVELOPE__BODY_SET_CRED_ATTR;
        req.set_cred_attr = &q;
        st = call_run(NULL, &req, set_finish, NULL, 0);
        free(server);
        return st;
}

_public_ SECURITY_STATUS SetCredentialsAttributesA(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer,
                                                   ULONG cbBuffer) {
        return set_cred_attr(phCredential, ulAttribute, pBuffer, cbBuffer);
}

_public_ SECURITY_STATUS SetCredentialsAttributesW(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer,
                                                   ULONG cbBuffer) {
        return set_cred_attr(phCredential, ulAttribute, pBuffer, cbBuffer);
}

/* ---- QueryCredentialsAttributesEx ---- */

/* The size of each attribute's structure on Windows x64 (A and W alike);
 * 0: not one this library lays out. */
static size_t cred_attr_size(uint32_t attr) {
        switch (attr) {
        case SECPKG_CRED_ATTR_NAMES:
                return sizeof(SecPkgCredentials_NamesW);
        case SECPKG_ATTR_SUPPORTED_PROTOCOLS:
                return sizeof(SecPkgCred_SupportedProtocols);
        case SECPKG_ATTR_CIPHER_STRENGTHS:
                return sizeof(SecPkgCred_CipherStrengths);
        case SECPKG_ATTR_SUPPORTED_ALGS:
                return sizeof(SecPkgCred_SupportedAlgs);
        default:
                return 0;
        }
}

/*
 * QueryCredentialsAttributes with the size of the caller's structure, by
 * the rules of QueryContextAttributesEx (ctxattr.c): the answer is laid
 * out in the library's memory and copied only when it fits; NULL pBuffer
 * is SEC_E_INVALID_PARAMETER, a cbBuffer below the structure
 * SEC_E_BUFFER_TOO_SMALL (nothing written), an attribute laid out for no
 * package SEC_E_UNSUPPORTED_FUNCTION once the handle is known live.
 */
static SECURITY_STATUS query_ex(PCredHandle h, ULONG attr, void *pBuffer, ULONG cbBuffer, bool wide) {
        return query_attr_into(h, attr, cred_attr_size(attr), pBuffer, cbBuffer, wide, cred_query_attr, cred_check);
}

_public_ SECURITY_STATUS QueryCredentialsAttributesExA(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer,
                                                       ULONG cbBuffer) {
        return query_ex(phCredential, ulAttribute, pBuffer, cbBuffer, false);
}

_public_ SECURITY_STATUS QueryCredentialsAttributesExW(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer,
                                                       ULONG cbBuffer) {
        return query_ex(phCredential, ulAttribute, pBuffer, cbBuffer, true);
}

/* ---- AddCredentials ---- */

typedef struct AddState {
        PTimeStamp ptsExpiry;
} AddState;

static SECURITY_STATUS add_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        AddState *s = state;

        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_ADD_CRED_REP)
                return SEC_E_INTERNAL_ERROR;
        if (s && s->ptsExpiry)
                timestamp_set(s->ptsExpiry, rep->add_cred_rep->expiry);
        return SEC_E_OK;
}

static SECURITY_STATUS add_call(PCredHandle h, PCredHandle added, PTimeStamp ptsExpiry) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__AddCredReq q = SSPIW__ADD_CRED_REQ__INIT;
        Sspiw__Handle wh, wa;
        AddState s = { ptsExpiry };

        handle_to_wire(h, &wh);
        q.cred = &wh;
        if (added) {
                handle_to_wire(added, &wa);
                q.added = &wa;
        }
        req.body_case = SSPIW__ENVELOPE__BODY_ADD_CRED;
        req.add_cred = &q;
        return call_run(NULL, &req, add_finish, &s, sizeof(s));
}

/*
 * AddCredentials, as this library defines what Windows leaves undescribed
 * (README, deliberate differences): Kerberos and Negotiate take an
 * outbound identity, named as AcquireCredentialsHandle names one
 * (pszPrincipal, pAuthData, pGetKeyFn), which becomes the credential's for
 * the contexts made from now on, once it has logged on at the KDC. The
 * order: the handle (SEC_E_INVALID_HANDLE), whether its package adds
 * credentials at all (SEC_E_UNSUPPORTED_FUNCTION: NTLM, Digest, Schannel),
 * the use (only SECPKG_CRED_OUTBOUND: SEC_E_UNSUPPORTED_FUNCTION for
 * inbound), then what an acquisition with those arguments returns, and
 * SEC_E_SECPKG_NOT_FOUND for another package than the handle's.
 * Schannel takes the other way round: a server credential adds a
 * certificate of another key type (SCHANNEL_CRED's paCred: "one structure
 * for each key exchange method"), pAuthData an SCHANNEL_CRED with it and
 * fCredentialUse SECPKG_CRED_INBOUND.
 */
static SECURITY_STATUS add_cred(PCredHandle h, const char *principal, const char *package, ULONG use,
                                void *pAuthData, SEC_GET_KEY_FN pGetKeyFn, void *pvGetKeyArgument,
                                PTimeStamp ptsExpiry) {
        CredHandle added;
        SECURITY_STATUS st;

        if (!h || !SecIsValidHandle(h))
                return SEC_E_INVALID_HANDLE;
        st = add_call(h, NULL, NULL);
        if (st != SEC_E_OK)
                return st;
        if (!package)
                return SEC_E_SECPKG_NOT_FOUND;
        if ((use & SECPKG_CRED_BOTH) != (schannel_package(package) ? SECPKG_CRED_INBOUND : SECPKG_CRED_OUTBOUND))
                return SEC_E_UNSUPPORTED_FUNCTION;
        st = cred_acquire(principal, package, use, pAuthData, pGetKeyFn, pvGetKeyArgument, &added, NULL);
        if (st != SEC_E_OK)
                return st;
        st = add_call(h, &added, ptsExpiry);
        (void) FreeCredentialsHandle(&added);
        return st;
}

_public_ SECURITY_STATUS AddCredentialsA(PCredHandle hCredentials, const SEC_CHAR *pszPrincipal,
                                         const SEC_CHAR *pszPackage, ULONG fCredentialUse, void *pAuthData,
                                         SEC_GET_KEY_FN pGetKeyFn, void *pvGetKeyArgument, PTimeStamp ptsExpiry) {
        return add_cred(hCredentials, pszPrincipal, pszPackage, fCredentialUse, pAuthData, pGetKeyFn,
                        pvGetKeyArgument, ptsExpiry);
}

_public_ SECURITY_STATUS AddCredentialsW(PCredHandle hCredentials, const SEC_WCHAR *pszPrincipal,
                                         const SEC_WCHAR *pszPackage, ULONG fCredentialUse, void *pAuthData,
                                         SEC_GET_KEY_FN pGetKeyFn, void *pvGetKeyArgument, PTimeStamp ptsExpiry) {
        char *p = NULL, *pkg = NULL;
        SECURITY_STATUS st;

        if (!hCredentials || !SecIsValidHandle(hCredentials))
                return SEC_E_INVALID_HANDLE;
        if (utf16_to_utf8(pszPrincipal, SIZE_MAX, &p) < 0)
                return SEC_E_UNKNOWN_CREDENTIALS;
        if (utf16_to_utf8(pszPackage, SIZE_MAX, &pkg) < 0) {
                free(p);
                return SEC_E_SECPKG_NOT_FOUND;
        }
        st = add_cred(hCredentials, p, pkg, fCredentialUse, pAuthData, pGetKeyFn, pvGetKeyArgument, ptsExpiry);
        free(p);
        free(pkg);
        return st;
}
