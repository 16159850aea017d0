/* SPDX-License-Identifier: MIT */
/*
 * SetCredentialsAttributes{A,W}. The caller's structure is read here, by
 * its documented size and within cbBuffer, and goes to the daemon parsed;
 * the package there decides whether it takes the attribute.
 *
 * SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS (Windows x64 layout): ULONG Version,
 * ULONG Flags, USHORT ProxyServerOffset/Length, USHORT ClientTlsCredOffset/
 * Length; the offsets count from the start of the structure and the
 * server is UTF-16 (the SDK has only the W structure; the A call takes it
 * too).
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

static SECURITY_STATUS set_cred_attr(PCredHandle h, ULONG attr, void *buf, ULONG cb) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__SetCredAttrReq q = SSPIW__SET_CRED_ATTR_REQ__INIT;
        Sspiw__Handle wh;
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
        }
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
