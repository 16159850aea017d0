/* SPDX-License-Identifier: MIT */
/*
 * ExportSecurityContext / ImportSecurityContext of a complete Digest
 * context (issue 17): what a client's next request on the same nonce needs
 * (nonce, opaque, realm, algorithm, the nonce count so far, its HA1) and a
 * server's names. The state is handed to the export store as it is (it
 * holds a reference to its store, which a blob could not) and the store
 * never lets it out of the daemon: with SECPKG_CONTEXT_EXPORT_DELETE_OLD
 * the context itself moves, without it a copy does and the exporter's
 * context stays usable (both then count nonces on their own, as two
 * Windows contexts imported from one export would).
 */
#include "packages/digest/digest-private.h"

static bool dup_str(char **dst, const char *src) {
        *dst = src ? strdup(src) : NULL;
        return !src || *dst;
}

SECURITY_STATUS digest_export_live(void *ctx, bool keep_old, void **ret_live, bool *ctx_consumed) {
        DigestCtx *c = ctx, *n;

        *ctx_consumed = false;
        if (!c || !c->done)
                return SEC_E_INVALID_HANDLE;
        /* A SASL context with a security layer moves, as Schannel's does:
         * two copies would run one RC4 stream or 3DES chain each, reusing
         * the keystream. */
        if (!keep_old || (c->sasl && c->layer != SASL_LAYER_NONE)) {
                *ret_live = c;
                *ctx_consumed = true;
                return SEC_E_OK;
        }
        n = malloc(sizeof(*n));
        if (!n)
                return SEC_E_INSUFFICIENT_MEMORY;
        *n = *c;
        n->store = NULL;
        n->user = n->realm = n->nonce = n->opaque = n->last_uri = n->digest_uri = NULL;
        /* Nothing pending once done; no cipher state without a layer. */
        n->pending_token = n->pending_method = NULL;
        n->pending_in = NULL;
        n->enc = n->dec = NULL;
        if (!dup_str(&n->user, c->user) || !dup_str(&n->realm, c->realm) || !dup_str(&n->nonce, c->nonce) ||
            !dup_str(&n->opaque, c->opaque) || !dup_str(&n->last_uri, c->last_uri) ||
            !dup_str(&n->digest_uri, c->digest_uri)) {
                digest_ctx_free(n);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        n->store = c->store ? digest_store_ref(c->store) : NULL;
        *ret_live = n;
        return SEC_E_OK;
}
