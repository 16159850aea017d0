/* SPDX-License-Identifier: MIT */
/*
 * QueryContextAttributes for NTLM contexts.
 */
#include "packages/ntlm/ntlm-private.h"

/* ---- attributes --------------------------------------------------------------- */

SECURITY_STATUS ntlm_query_ctx(void *ctx, uint32_t attr, PkgCtxAttr *out) {
        NtlmCtx *c = ctx;
        SECURITY_STATUS st;

        if (!c)
                return SEC_E_INVALID_HANDLE;
        if (attr == SECPKG_ATTR_SIZES) {
                out->sizes = (SecPkgContext_Sizes) { .cbMaxToken = NTLM_MAX_TOKEN,
                                                     .cbMaxSignature = NTLM_SIG_SIZE,
                                                     .cbBlockSize = 0,
                                                     .cbSecurityTrailer = NTLM_SIG_SIZE };
                out->has_sizes = true;
                return SEC_E_OK;
        }
        if (attr == SECPKG_ATTR_KEY_INFO) {
                /* Windows' msv1_0: the key size from NEGOTIATE_128/_56, RC4,
                 * and the signature named after extended session security
                 * (Wine's ntlm.c testAuth checks both names, 128 bits and
                 * CALG_RC4 against Windows). */
                bool ess = c->flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY;
                uint32_t bits = c->flags & NTLMSSP_NEGOTIATE_128 ? 128 : c->flags & NTLMSSP_NEGOTIATE_56 ? 56 : 40;

                if (!c->established)
                        return SEC_E_INVALID_HANDLE;
                return pkg_key_info(out, bits, ess ? 0xffffff76U : 0xffffff7cU, 0x6801U /* CALG_RC4 */,
                                    ess ? "HMAC-MD5" : "RSADSI RC4-CRC32", "RSADSI RC4");
        }
        if (attr == PKG_ATTR_TOKEN_SIDS) {
                /* A domain account's SIDs as the DC named them; a local
                 * store's account has none. */
                if (!c->established || c->initiator)
                        return SEC_E_INVALID_HANDLE;
                if (!c->n_sids)
                        return SEC_E_OK;
                out->sids = calloc(c->n_sids, sizeof(*out->sids));
                if (!out->sids)
                        return SEC_E_INSUFFICIENT_MEMORY;
                out->n_sids = c->n_sids;
                for (size_t i = 0; i < c->n_sids; i++) {
                        out->sids[i].attributes = c->sids[i].attributes;
                        out->sids[i].sid = strdup(c->sids[i].sid);
                        if (!out->sids[i].sid) {
                                pkg_sids_free(out->sids, out->n_sids);
                                out->sids = NULL;
                                out->n_sids = 0;
                                return SEC_E_INSUFFICIENT_MEMORY;
                        }
                }
                return SEC_E_OK;
        }
        switch (attr) {
        case SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS:
                /* The AUTHENTICATE message is the client's last token. */
                out->words[0] = c->established ? SecPkgAttrLastClientTokenYes : SecPkgAttrLastClientTokenNo;
                out->n_words = 1;
                return SEC_E_OK;
        case SECPKG_ATTR_AUTHORITY:
                /* The domain that authenticated the account. */
                if (!c->established)
                        return SEC_E_INVALID_HANDLE;
                out->name = strdup(c->domain ? c->domain : "");
                return out->name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        case SECPKG_ATTR_CLIENT_SPECIFIED_TARGET: {
                /* The acceptor: the SPN in the AUTHENTICATE's
                 * MsvAvTargetName; the initiator: the one it was given.
                 * None: SEC_E_TARGET_UNKNOWN. */
                const char *t = c->initiator ? c->target : c->client_target;
                if (!c->established)
                        return SEC_E_INVALID_HANDLE;
                if (!t || !*t)
                        return SEC_E_TARGET_UNKNOWN;
                out->name = strdup(t);
                return out->name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        }
        default:
                break;
        }
        if (pkg_query_common(attr, c->established, c->ret_flags, out, &st))
                return st;
        switch (attr) {
        case SECPKG_ATTR_NAMES:
                /* A client's UPN (no domain) is named as given. */
                if (asprintf(&out->user_name, "%s%s%s", c->domain, *c->domain ? "\\" : "", c->user) < 0) {
                        out->user_name = NULL;
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                return SEC_E_OK;
        case SECPKG_ATTR_NATIVE_NAMES:
                if (asprintf(&out->client_name, "%s%s%s", c->domain, *c->domain ? "\\" : "", c->user) < 0) {
                        out->client_name = NULL;
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                out->server_name = strdup(c->target ? c->target : "");
                return out->server_name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        case SECPKG_ATTR_LIFESPAN:
                out->start = c->start;
                out->expiry = FILETIME_NEVER;
                out->has_lifespan = true;
                return SEC_E_OK;
        default:
                out->session_key = malloc(16);
                if (!out->session_key)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(out->session_key, c->exported, 16);
                out->session_key_len = 16;
                return SEC_E_OK;
        }
}
