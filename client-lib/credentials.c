/* SPDX-License-Identifier: MIT */
/*
 * AcquireCredentialsHandle, FreeCredentialsHandle, QueryCredentialsAttributes
 * and their Sspi*Async twins. Twin of daemon/rpc/credentials.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "authdata.h"
#include "ccache.h"
#include "internal.h"
#include "schannel.h"

/* The names under which Windows finds Schannel: pAuthData is then an
 * SCHANNEL_CRED or SCH_CREDENTIALS, not an identity. */
bool schannel_package(const char *name) {
        static const char *const names[] = {
                "Schannel", UNISP_NAME_A, "Default TLS SSP", "Microsoft TLS 1.0",
                "Microsoft SSL 3.0", "Microsoft SSL 2.0", "Microsoft PCT 1.0",
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (!strcasecmp(name, names[i]))
                        return true;
        return false;
}

typedef struct SchannelAuth {
        Sspiw__SchannelCred wire;
        ProtobufCBinaryData certs[SCH_CRED_MAX_SUPPORTED_CERTS];
        uint8_t hash[20];
        char *store;
        /* TLS_PARAMETERS: at most 16 of each (SCH_CRED_MAX_SUPPORTED_*) */
        Sspiw__TlsParams tp[16], *tpp[16];
        ProtobufCBinaryData alpn[16][16];
        Sspiw__CryptoSetting cs[16][16], *csp[16][16];
        char *modes[16][16][16];
        char arena[16384]; /* the UTF-8 names */
        size_t used;
} SchannelAuth;

/* A UNICODE_STRING as UTF-8 (ALPN ids: one byte per code unit) in the
 * arena; NULL when it does not fit or is malformed. */
static char *sch_string(SchannelAuth *s, const UNICODE_STRING *u, bool bytes, size_t *ret_len) {
        size_t n = u->Length / 2, len;
        char *tmp = NULL, *out;

        if ((u->Length & 1) || (n && !u->Buffer))
                return NULL;
        if (bytes) {
                if (n == 0 || n > 255 || s->used + n + 1 > sizeof(s->arena))
                        return NULL;
                out = s->arena + s->used;
                for (size_t i = 0; i < n; i++) {
                        if (u->Buffer[i] > 0xff)
                                return NULL;
                        out[i] = (char) u->Buffer[i];
                }
                len = n;
        } else {
                if (utf16_to_utf8(u->Buffer, n, &tmp) < 0 || !tmp)
                        return n ? NULL : (s->used < sizeof(s->arena) ? (s->arena[s->used++] = 0, s->arena + s->used - 1) : NULL);
                len = strlen(tmp);
                if (s->used + len + 1 > sizeof(s->arena)) {
                        free(tmp);
                        return NULL;
                }
                out = s->arena + s->used;
                memcpy(out, tmp, len);
                free(tmp);
        }
        out[len] = 0;
        s->used += len + 1;
        if (ret_len)
                *ret_len = len;
        return out;
}

/* SCH_CREDENTIALS.pTlsParameters -> wire, every entry. */
static SECURITY_STATUS schannel_tls_params(const SCH_CREDENTIALS *c, SchannelAuth *s) {
        for (uint32_t i = 0; i < c->cTlsParameters; i++) {
                const TLS_PARAMETERS *t = &c->pTlsParameters[i];
                Sspiw__TlsParams *w = &s->tp[i];
                sspiw__tls_params__init(w);
                if (t->cAlpnIds > 16 || (t->cAlpnIds && !t->rgstrAlpnIds) || t->cDisabledCrypto > 16 ||
                    (t->cDisabledCrypto && !t->pDisabledCrypto))
                        return SEC_E_INVALID_PARAMETER;
                for (uint32_t j = 0; j < t->cAlpnIds; j++) {
                        size_t len;
                        char *id = sch_string(s, &t->rgstrAlpnIds[j], true, &len);
                        if (!id)
                                return SEC_E_INVALID_PARAMETER;
                        s->alpn[i][j].data = (uint8_t *) id;
                        s->alpn[i][j].len = len;
                }
                w->n_alpn_ids = t->cAlpnIds;
                w->alpn_ids = s->alpn[i];
                w->has_disabled_protocols = true;
                w->disabled_protocols = t->grbitDisabledProtocols;
                w->has_flags = true;
                w->flags = t->dwFlags;
                for (uint32_t j = 0; j < t->cDisabledCrypto; j++) {
                        const CRYPTO_SETTINGS *cs = &t->pDisabledCrypto[j];
                        Sspiw__CryptoSetting *ws = &s->cs[i][j];
                        sspiw__crypto_setting__init(ws);
                        if (cs->cChainingModes > 16 || (cs->cChainingModes && !cs->rgstrChainingModes))
                                return SEC_E_INVALID_PARAMETER;
                        ws->usage = (uint32_t) cs->eAlgorithmUsage;
                        ws->alg = sch_string(s, &cs->strCngAlgId, false, NULL);
                        if (!ws->alg)
                                return SEC_E_INVALID_PARAMETER;
                        for (uint32_t k = 0; k < cs->cChainingModes; k++) {
                                s->modes[i][j][k] = sch_string(s, &cs->rgstrChainingModes[k], false, NULL);
                                if (!s->modes[i][j][k])
                                        return SEC_E_INVALID_PARAMETER;
                        }
                        ws->n_chaining_modes = cs->cChainingModes;
                        ws->chaining_modes = s->modes[i][j];
                        ws->has_min_bits = true;
                        ws->min_bits = cs->dwMinBitLength;
                        ws->has_max_bits = true;
                        ws->max_bits = cs->dwMaxBitLength;
                        s->csp[i][j] = ws;
                }
                w->n_disabled_crypto = t->cDisabledCrypto;
                w->disabled_crypto = s->csp[i];
                s->tpp[i] = w;
        }
        s->wire.n_tls_params = c->cTlsParameters;
        s->wire.tls_params = s->tpp;
        return SEC_E_OK;
}

/* SCHANNEL_CRED (version 4) or SCH_CREDENTIALS (version 5) -> wire. The
 * certificates are referenced, not copied. */
static SECURITY_STATUS schannel_parse(const void *auth, SchannelAuth *s) {
        uint32_t version = *(const uint32_t *) auth, n, format;
        PCCERT_CONTEXT *certs;

        sspiw__schannel_cred__init(&s->wire);
        s->wire.version = version;
        if (version == SCHANNEL_CRED_VERSION) {
                const SCHANNEL_CRED *c = auth;
                if (c->hRootStore || c->cMappers || c->cSupportedAlgs)
                        return SEC_E_UNSUPPORTED_FUNCTION; /* no certificate stores, mappers or CAPI algorithms here */
                n = c->cCreds;
                certs = c->paCred;
                format = c->dwCredFormat;
                s->wire.flags = c->dwFlags;
                s->wire.has_enabled_protocols = true;
                s->wire.enabled_protocols = c->grbitEnabledProtocols;
                s->wire.has_session_lifespan_ms = true;
                s->wire.session_lifespan_ms = c->dwSessionLifespan;
                s->wire.has_min_cipher_strength = true;
                s->wire.min_cipher_strength = c->dwMinimumCipherStrength;
                s->wire.has_max_cipher_strength = true;
                s->wire.max_cipher_strength = c->dwMaximumCipherStrength;
        } else if (version == SCH_CREDENTIALS_VERSION) {
                const SCH_CREDENTIALS *c = auth;
                uint32_t disabled = 0;
                if (c->hRootStore || c->cMappers)
                        return SEC_E_UNSUPPORTED_FUNCTION;
                if (c->cTlsParameters > 16 || (c->cTlsParameters && !c->pTlsParameters))
                        return SEC_E_INVALID_PARAMETER;
                /* All entries go to the daemon; the union of those without
                 * ALPN ids also as disabled_protocols. */
                for (uint32_t i = 0; i < c->cTlsParameters; i++)
                        if (c->pTlsParameters[i].cAlpnIds == 0)
                                disabled |= c->pTlsParameters[i].grbitDisabledProtocols;
                if (c->cTlsParameters) {
                        SECURITY_STATUS st = schannel_tls_params(c, s);
                        if (st != SEC_E_OK)
                                return st;
                }
                n = c->cCreds;
                certs = c->paCred;
                format = c->dwCredFormat;
                s->wire.flags = c->dwFlags;
                s->wire.has_disabled_protocols = true;
                s->wire.disabled_protocols = disabled;
                s->wire.has_session_lifespan_ms = true;
                s->wire.session_lifespan_ms = c->dwSessionLifespan;
        } else
                return SEC_E_UNKNOWN_CREDENTIALS;
        s->wire.has_cred_format = true;
        s->wire.cred_format = format;
        if (format == SCH_CRED_FORMAT_CERT_HASH || format == SCH_CRED_FORMAT_CERT_HASH_STORE) {
                /* paCred points at one SCHANNEL_CERT_HASH(_STORE); for
                 * CERT_HASH also accepted: at the 20-byte thumbprint itself
                 * (as one reading of the documentation has it). The daemon
                 * looks the thumbprint up among its [certificate]s. */
                const SCHANNEL_CERT_HASH *h = (const void *) certs;
                if (n != 1 || !certs)
                        return SEC_E_UNKNOWN_CREDENTIALS;
                if (format == SCH_CRED_FORMAT_CERT_HASH_STORE) {
                        const SCHANNEL_CERT_HASH_STORE *hs = (const void *) certs;
                        size_t len = 0;
                        if (hs->dwLength < sizeof(*hs))
                                return SEC_E_UNKNOWN_CREDENTIALS;
                        while (len < SCH_CRED_MAX_STORE_NAME_SIZE && hs->pwszStoreName[len])
                                len++;
                        if (len == SCH_CRED_MAX_STORE_NAME_SIZE || utf16_to_utf8(hs->pwszStoreName, len, &s->store) < 0)
                                return SEC_E_UNKNOWN_CREDENTIALS;
                        s->wire.cert_store = s->store ? s->store : (char *) "";
                        memcpy(s->hash, hs->ShaHash, 20);
                        s->wire.has_cert_hash_flags = true;
                        s->wire.cert_hash_flags = hs->dwFlags;
                } else if (h->dwLength == sizeof(SCHANNEL_CERT_HASH) || h->dwLength == offsetof(SCHANNEL_CERT_HASH, ShaHash) + 20) {
                        memcpy(s->hash, h->ShaHash, 20);
                        s->wire.has_cert_hash_flags = true;
                        s->wire.cert_hash_flags = h->dwFlags;
                } else
                        memcpy(s->hash, certs, 20);
                s->wire.has_cert_hash = true;
                s->wire.cert_hash.data = s->hash;
                s->wire.cert_hash.len = 20;
                return SEC_E_OK;
        }
        if (format != SCH_CRED_FORMAT_CERT_CONTEXT)
                return SEC_E_UNKNOWN_CREDENTIALS;
        if (n > 16 || (n && !certs))
                return SEC_E_UNKNOWN_CREDENTIALS;
        for (uint32_t i = 0; i < n; i++) {
                if (!certs[i] || !certs[i]->pbCertEncoded || certs[i]->cbCertEncoded == 0 ||
                    certs[i]->cbCertEncoded > 65536)
                        return SEC_E_UNKNOWN_CREDENTIALS;
                s->certs[i].data = certs[i]->pbCertEncoded;
                s->certs[i].len = certs[i]->cbCertEncoded;
        }
        s->wire.n_certs = n;
        s->wire.certs = s->certs;
        return SEC_E_OK;
}

static void schannel_free(SchannelAuth *s) {
        if (s)
                free(s->store);
        free(s);
}

/* Whether the daemon may build this credential from the caller's ccache:
 * outbound Kerberos or Negotiate without a password (given or to come
 * from pGetKeyFn). Only then is the ccache read and sent. */
static bool ccache_may_serve(const char *package, uint32_t use, const Identity *id, bool identity,
                             SEC_GET_KEY_FN get_key) {
        if (!(use & SECPKG_CRED_OUTBOUND))
                return false;
        if (strcasecmp(package, "Kerberos") != 0 && strcasecmp(package, "Negotiate") != 0)
                return false;
        return !id->password && !(identity && get_key);
}

typedef struct AcquireState {
        PCredHandle phCredential;
        PTimeStamp ptsExpiry;
        uint64_t cookie;
} AcquireState;

static SECURITY_STATUS acquire_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        AcquireState *s = state;

        if (s->cookie)
                getkey_unregister(s->cookie);
        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_ACQUIRE_CRED_REP)
                return SEC_E_INTERNAL_ERROR;
        handle_from_wire(rep->acquire_cred_rep->cred, s->phCredential);
        handles_add(s->phCredential, HANDLE_CREDENTIAL);
        timestamp_set(s->ptsExpiry, rep->acquire_cred_rep->expiry);
        return SEC_E_OK;
}

static SECURITY_STATUS acquire_into(SspiAsyncContext *ac, const char *principal, const char *package, uint32_t use,
                                    void *pvLogonId, void *pAuthData, SEC_GET_KEY_FN pGetKeyFn,
                                    void *pvGetKeyArgument, PCredHandle phCredential, PTimeStamp ptsExpiry) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__AcquireCredReq a = SSPIW__ACQUIRE_CRED_REQ__INIT;
        AcquireState s = { phCredential, ptsExpiry, 0 };
        Identity id = { 0 };
        SchannelAuth *sch = NULL;
        const void *ident, *sch_auth;
        Sspiw__Handle delegated;
        uint8_t *ccache = NULL;
        size_t ccache_len = 0;
        char *kcm_name = NULL;
        int kcm_fd = -1;
        SECURITY_STATUS st;

        if (ac && (st = async_check(ac)) != SEC_E_OK)
                return st;
        a.principal = (char *) principal;
        a.package = (char *) package;
        a.use = use;
        if (pvLogonId) {
                const LUID *l = pvLogonId;
                a.has_logon_id = true;
                a.logon_id = (uint64_t) (uint32_t) l->HighPart << 32 | l->LowPart;
        }
        if (pAuthData && *(const DWORD *) pAuthData == SEC_DELEGATED_CONTEXT_CRED_VERSION) {
                /* The credentials delegated to an accepted CredSSP context
                 * (sspi.h): the daemon finds them there. */
                SEC_DELEGATED_CONTEXT_CRED d;
                memcpy(&d, pAuthData, sizeof(d));
                if (d.Flags != 0 || !d.phContext || schannel_package(package))
                        return SEC_E_UNKNOWN_CREDENTIALS;
                handle_to_wire(d.phContext, &delegated);
                a.delegated_from = &delegated;
                ident = sch_auth = NULL;
        } else {
                st = authdata_pick(package, schannel_package(package), pAuthData, &ident, &sch_auth);
                if (st != SEC_E_OK)
                        return st;
        }
        if (sch_auth) {
                sch = calloc(1, sizeof(*sch));
                if (!sch)
                        return SEC_E_INSUFFICIENT_MEMORY;
                st = schannel_parse(sch_auth, sch);
                if (st != SEC_E_OK) {
                        schannel_free(sch);
                        return st;
                }
                a.schannel = &sch->wire;
        }
        if (ident) {
                st = identity_parse(ident, &id);
                if (st != SEC_E_OK) {
                        identity_done(&id);
                        schannel_free(sch);
                        return st;
                }
                a.identity = &id.wire;
        }
        if (pGetKeyFn) {
                s.cookie = getkey_register(pGetKeyFn, pvGetKeyArgument);
                if (!s.cookie) {
                        identity_done(&id);
                        schannel_free(sch);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                a.has_get_key_cookie = true;
                a.get_key_cookie = s.cookie;
        }
        if (!a.delegated_from && ccache_may_serve(package, use, &id, a.identity != NULL, pGetKeyFn)) {
                /* pvLogonId's LowPart is the uid of the session acted for. */
                uid_t uid = pvLogonId ? (uid_t) ((const LUID *) pvLogonId)->LowPart : geteuid();
                /* No usable ccache is not an error here: the daemon answers
                 * SEC_E_NO_CREDENTIALS if the package needs one. */
                if (ccache_read(uid, &ccache, &ccache_len) == 0) {
                        a.has_ccache_image = true;
                        a.ccache_image.data = ccache;
                        a.ccache_image.len = ccache_len;
                } else if (ccache_kcm_connect(uid, &kcm_fd, &kcm_name) == 0)
                        a.kcm_name = kcm_name;
                else if (ccache_default_keyring(uid, &ccache, &ccache_len) == 0) {
                        a.has_ccache_image = true;
                        a.ccache_image.data = ccache;
                        a.ccache_image.len = ccache_len;
                }
        }
        req.body_case = SSPIW__ENVELOPE__BODY_ACQUIRE_CRED;
        req.acquire_cred = &a;
        st = call_run_fd(ac, &req, kcm_fd, acquire_finish, &s, sizeof(s));
        /* The daemon has its own copy of the KCM socket once the request
         * is sent. */
        if (kcm_fd >= 0)
                close(kcm_fd);
        free(kcm_name);
        /* The password and the ccache (session keys) are wiped as soon as
         * the request is on its way. */
        identity_done(&id);
        ccache_free(ccache, ccache_len);
        schannel_free(sch);
        if (ac && st != SEC_E_OK && s.cookie)
                getkey_unregister(s.cookie);
        return st;
}

SECURITY_STATUS cred_acquire(const char *principal, const char *package, uint32_t use, void *pAuthData,
                             SEC_GET_KEY_FN pGetKeyFn, void *pvGetKeyArgument, PCredHandle phCredential,
                             PTimeStamp ptsExpiry) {
        return acquire_into(NULL, principal, package, use, NULL, pAuthData, pGetKeyFn, pvGetKeyArgument,
                            phCredential, ptsExpiry);
}

/*
 * Windows judges the package, the credential use and the authentication
 * data before it writes *phCredential: with phCredential NULL the caller
 * still learns SEC_E_SECPKG_NOT_FOUND, SEC_E_NO_CREDENTIALS or
 * SEC_E_UNKNOWN_CREDENTIALS (Windows-verified in Wine's schannel.c
 * testAcquireSecurityContext). A request Windows would accept (and then
 * crash writing the handle) is SEC_E_INVALID_PARAMETER here. The daemon is
 * asked with a handle of the library's own, freed again; the async call
 * does so synchronously and returns the status at once, as it does for
 * every argument it refuses.
 */
static SECURITY_STATUS acquire(SspiAsyncContext *ac, const char *principal, const char *package, uint32_t use,
                               void *pvLogonId, void *pAuthData, SEC_GET_KEY_FN pGetKeyFn, void *pvGetKeyArgument,
                               PCredHandle phCredential, PTimeStamp ptsExpiry) {
        CredHandle probe;
        SECURITY_STATUS st;

        if (!package)
                return SEC_E_SECPKG_NOT_FOUND;
        if (phCredential)
                return acquire_into(ac, principal, package, use, pvLogonId, pAuthData, pGetKeyFn, pvGetKeyArgument,
                                    phCredential, ptsExpiry);
        if (ac && (st = async_check(ac)) != SEC_E_OK)
                return st;
        st = acquire_into(NULL, principal, package, use, pvLogonId, pAuthData, pGetKeyFn, pvGetKeyArgument, &probe,
                          NULL);
        if (st != SEC_E_OK)
                return st;
        (void) FreeCredentialsHandle(&probe);
        return SEC_E_INVALID_PARAMETER;
}

static SECURITY_STATUS acquire_w(SspiAsyncContext *ac, const SEC_WCHAR *principal, const SEC_WCHAR *package,
                                 uint32_t use, void *pvLogonId, void *pAuthData, SEC_GET_KEY_FN pGetKeyFn,
                                 void *pvGetKeyArgument, PCredHandle phCredential, PTimeStamp ptsExpiry) {
        char *p = NULL, *pkg = NULL;
        SECURITY_STATUS st;

        if (!package)
                return SEC_E_SECPKG_NOT_FOUND;
        if (utf16_to_utf8(principal, SIZE_MAX, &p) < 0)
                return SEC_E_UNKNOWN_CREDENTIALS;
        if (utf16_to_utf8(package, SIZE_MAX, &pkg) < 0) {
                free(p);
                return SEC_E_SECPKG_NOT_FOUND;
        }
        st = acquire(ac, p, pkg, use, pvLogonId, pAuthData, pGetKeyFn, pvGetKeyArgument, phCredential, ptsExpiry);
        free(p);
        free(pkg);
        return st;
}

_public_ SECURITY_STATUS AcquireCredentialsHandleA(const SEC_CHAR *pszPrincipal, const SEC_CHAR *pszPackage, ULONG fCredentialUse,
                                                   void *pvLogonId, void *pAuthData, SEC_GET_KEY_FN pGetKeyFn,
                                                   void *pvGetKeyArgument, PCredHandle phCredential,
                                                   PTimeStamp ptsExpiry) {
        return acquire(NULL, pszPrincipal, pszPackage, fCredentialUse, pvLogonId, pAuthData, pGetKeyFn,
                       pvGetKeyArgument, phCredential, ptsExpiry);
}

_public_ SECURITY_STATUS AcquireCredentialsHandleW(const SEC_WCHAR *pszPrincipal, const SEC_WCHAR *pszPackage, ULONG fCredentialUse,
                                                   void *pvLogonId, void *pAuthData, SEC_GET_KEY_FN pGetKeyFn,
                                                   void *pvGetKeyArgument, PCredHandle phCredential,
                                                   PTimeStamp ptsExpiry) {
        return acquire_w(NULL, pszPrincipal, pszPackage, fCredentialUse, pvLogonId, pAuthData, pGetKeyFn,
                         pvGetKeyArgument, phCredential, ptsExpiry);
}

_public_ SECURITY_STATUS SspiAcquireCredentialsHandleAsyncA(SspiAsyncContext *AsyncContext, const SEC_CHAR *pszPrincipal,
                                                            const SEC_CHAR *pszPackage, ULONG fCredentialUse, void *pvLogonId,
                                                            void *pAuthData, SEC_GET_KEY_FN pGetKeyFn,
                                                            void *pvGetKeyArgument, PCredHandle phCredential,
                                                            PTimeStamp ptsExpiry) {
        if (!AsyncContext)
                return SEC_E_INVALID_PARAMETER;
        return acquire(AsyncContext, pszPrincipal, pszPackage, fCredentialUse, pvLogonId, pAuthData, pGetKeyFn,
                       pvGetKeyArgument, phCredential, ptsExpiry);
}

_public_ SECURITY_STATUS SspiAcquireCredentialsHandleAsyncW(SspiAsyncContext *AsyncContext, const SEC_WCHAR *pszPrincipal,
                                                            const SEC_WCHAR *pszPackage, ULONG fCredentialUse, void *pvLogonId,
                                                            void *pAuthData, SEC_GET_KEY_FN pGetKeyFn,
                                                            void *pvGetKeyArgument, PCredHandle phCredential,
                                                            PTimeStamp ptsExpiry) {
        if (!AsyncContext)
                return SEC_E_INVALID_PARAMETER;
        return acquire_w(AsyncContext, pszPrincipal, pszPackage, fCredentialUse, pvLogonId, pAuthData, pGetKeyFn,
                         pvGetKeyArgument, phCredential, ptsExpiry);
}

static SECURITY_STATUS free_cred(SspiAsyncContext *ac, PCredHandle phCredential) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__FreeCredReq f = SSPIW__FREE_CRED_REQ__INIT;
        Sspiw__Handle h;
        SECURITY_STATUS st;

        if (!phCredential)
                return SEC_E_INVALID_HANDLE;
        if (ac && (st = async_check(ac)) != SEC_E_OK)
                return st;
        handle_to_wire(phCredential, &h);
        f.cred = &h;
        req.body_case = SSPIW__ENVELOPE__BODY_FREE_CRED;
        req.free_cred = &f;
        /* As DeleteSecurityContext (context.c delete_ctx): contexts made
         * with the credential keep it alive in the daemon. */
        if (!ac)
                return call_free(&req, phCredential, HANDLE_CREDENTIAL);
        handles_take(phCredential, HANDLE_CREDENTIAL);
        return call_run(ac, &req, call_finish_status, NULL, 0);
}

_public_ SECURITY_STATUS FreeCredentialsHandle(PCredHandle phCredential) {
        return free_cred(NULL, phCredential);
}

_public_ SECURITY_STATUS SspiFreeCredentialsHandleAsync(SspiAsyncContext *AsyncContext, PCredHandle phCredential) {
        if (!AsyncContext)
                return SEC_E_INVALID_PARAMETER;
        return free_cred(AsyncContext, phCredential);
}

typedef struct CredAttrState {
        uint32_t attr;
        void *pBuffer;
        bool wide;
} CredAttrState;

static SECURITY_STATUS cred_names(const CredAttrState *s, const char *name) {
        if (!name)
                return SEC_E_INTERNAL_ERROR;
        if (s->wide) {
                SEC_WCHAR *w = NULL;
                if (utf8_to_utf16(name, &w) < 0)
                        return SEC_E_INSUFFICIENT_MEMORY;
                ((SecPkgCredentials_NamesW *) s->pBuffer)->sUserName = w;
        } else {
                char *a = strdup(name);
                if (!a)
                        return SEC_E_INSUFFICIENT_MEMORY;
                ((SecPkgCredentials_NamesA *) s->pBuffer)->sUserName = a;
        }
        return SEC_E_OK;
}

static SECURITY_STATUS cred_attr_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        CredAttrState *s = state;
        const Sspiw__QueryCredAttrRep *q;

        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR_REP)
                return SEC_E_INTERNAL_ERROR;
        q = rep->query_cred_attr_rep;
        /* No place for the answer: what Windows says when the package finds
         * pBuffer NULL (Wine's schannel.c testAcquireSecurityContext,
         * test_cread_attrs), once the handle and attribute passed. */
        if (!s->pBuffer)
                return SEC_E_INTERNAL_ERROR;
        switch (s->attr) {
        case SECPKG_CRED_ATTR_NAMES:
                return cred_names(s, q->user_name);
        case SECPKG_ATTR_SUPPORTED_PROTOCOLS:
                if (q->n_words != 1)
                        return SEC_E_INTERNAL_ERROR;
                ((SecPkgCred_SupportedProtocols *) s->pBuffer)->grbitProtocol = q->words[0];
                return SEC_E_OK;
        case SECPKG_ATTR_CIPHER_STRENGTHS:
                if (q->n_words != 2)
                        return SEC_E_INTERNAL_ERROR;
                ((SecPkgCred_CipherStrengths *) s->pBuffer)->dwMinimumCipherStrength = q->words[0];
                ((SecPkgCred_CipherStrengths *) s->pBuffer)->dwMaximumCipherStrength = q->words[1];
                return SEC_E_OK;
        case SECPKG_ATTR_SUPPORTED_ALGS: {
                SecPkgCred_SupportedAlgs *a = s->pBuffer;
                ALG_ID *ids;
                if (q->n_words > 64)
                        return SEC_E_INTERNAL_ERROR;
                /* Freed with FreeContextBuffer. */
                ids = malloc(q->n_words ? q->n_words * sizeof(*ids) : 1);
                if (!ids)
                        return SEC_E_INSUFFICIENT_MEMORY;
                for (size_t i = 0; i < q->n_words; i++)
                        ids[i] = q->words[i];
                a->cSupportedAlgs = (DWORD) q->n_words;
                a->palgSupportedAlgs = ids;
                return SEC_E_OK;
        }
        default:
                return SEC_E_INTERNAL_ERROR;
        }
}

SECURITY_STATUS cred_query_attr(PCredHandle phCredential, uint32_t attr, void *pBuffer, bool wide) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__QueryCredAttrReq q = SSPIW__QUERY_CRED_ATTR_REQ__INIT;
        CredAttrState s = { attr, pBuffer, wide };
        Sspiw__Handle h;

        if (!phCredential)
                return SEC_E_INVALID_HANDLE;
        /* Unknown attributes are refused by the daemon, after the handle
         * check; pBuffer NULL after both (cred_attr_finish). */
        handle_to_wire(phCredential, &h);
        q.cred = &h;
        q.attr = attr;
        req.body_case = SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR;
        req.query_cred_attr = &q;
        return call_run(NULL, &req, cred_attr_finish, &s, sizeof(s));
}

_public_ SECURITY_STATUS QueryCredentialsAttributesA(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer) {
        return cred_query_attr(phCredential, ulAttribute, pBuffer, false);
}

_public_ SECURITY_STATUS QueryCredentialsAttributesW(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer) {
        return cred_query_attr(phCredential, ulAttribute, pBuffer, true);
}
