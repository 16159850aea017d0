/* SPDX-License-Identifier: MIT */
/*
 * Digest credentials: outbound from an identity (HA1 computed per realm),
 * inbound from the user store a config grant names.
 */
#include "packages/digest/digest-private.h"

/* ---- credentials -------------------------------------------------------- */

void digest_cred_free(void *p) {
        DigestCred *c = p;

        if (!c)
                return;
        digest_store_unref(c->store);
        free(c->user);
        free(c->realm);
        free_secret(c->password, c->password_len);
        pthread_mutex_destroy(&c->lock);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

/* HA1 for every algorithm, then the password goes. Caller holds c->lock. */
SECURITY_STATUS digest_cred_compute_ha1(DigestCred *c, const char *realm) {
        if (c->have_ha1)
                return strcmp(c->realm, realm) ? SEC_E_NO_CREDENTIALS : SEC_E_OK;
        if (!c->password)
                return SEC_E_NO_CREDENTIALS;
        if (!c->realm) {
                c->realm = strdup(realm);
                if (!c->realm)
                        return SEC_E_INSUFFICIENT_MEMORY;
        } else if (strcmp(c->realm, realm))
                return SEC_E_NO_CREDENTIALS;
        for (int a = 0; a < N_DIGEST_ALGS; a++) {
                const char *p[3] = { c->user, c->realm, (const char *) c->password };
                size_t l[3] = { strlen(c->user), strlen(c->realm), c->password_len };
                if (digest_hash_hex(a, p, l, 3, c->ha1[a]) < 0)
                        return SEC_E_INTERNAL_ERROR;
        }
        c->have_ha1 = true;
        free_secret(c->password, c->password_len);
        c->password = NULL;
        c->password_len = 0;
        return SEC_E_OK;
}

static SECURITY_STATUS acquire_outbound(void *cred, const PkgAcquire *a, void *extra) {
        DigestCred *c = cred;

        if (!a->has_identity || !a->user || !a->user[0] || !a->password)
                return SEC_E_NO_CREDENTIALS;
        if (strlen(a->user) > MAX_USER || a->password_len > 1024 || strchr(a->user, ':'))
                return SEC_E_INVALID_PARAMETER;
        c->user = strdup(a->user);
        c->password = malloc(a->password_len + 1);
        if (!c->user || !c->password)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(c->password, a->password, a->password_len);
        c->password[a->password_len] = 0;
        c->password_len = a->password_len;
        c->md5_allowed = a->config ? a->config->digest_md5 : true;
        /* The identity's domain names the realm: hash now, keep nothing. */
        if (a->domain && a->domain[0])
                return digest_cred_compute_ha1(c, a->domain);
        return SEC_E_OK;
}

static SECURITY_STATUS acquire_inbound(void *cred, const PkgAcquire *a, void *extra) {
        DigestCred *c = cred;
        const DigestStoreGrant *grant = NULL;
        bool exists = false;

        if (!a->config)
                return SEC_E_NO_CREDENTIALS;
        for (size_t i = 0; i < a->config->n_digest_stores && !grant; i++) {
                const DigestStoreGrant *g = &a->config->digest_stores[i];
                if (a->principal && strcmp(a->principal, g->name) != 0)
                        continue;
                exists = true;
                if (principals_match(&g->allow, a->caller))
                        grant = g;
        }
        if (!grant)
                return exists ? SEC_E_NOT_OWNER : SEC_E_NO_CREDENTIALS;
        c->store = digest_store_find(grant->name);
        return c->store ? SEC_E_OK : SEC_E_NO_CREDENTIALS;
}

SECURITY_STATUS digest_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        SECURITY_STATUS st;
        DigestCred *c = calloc(1, sizeof(*c));

        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        pthread_mutex_init(&c->lock, NULL);
        st = pkg_acquire_halves(a, c, &c->use, acquire_outbound, acquire_inbound, NULL);
        if (st != SEC_E_OK) {
                digest_cred_free(c);
                return st;
        }
        *ret_cred = c;
        *ret_expiry = FILETIME_NEVER;
        return SEC_E_OK;
}

SECURITY_STATUS digest_cred_name(void *p, char **ret_name) {
        DigestCred *c = p;
        char *s;

        if (!c)
                return SEC_E_INVALID_HANDLE;
        s = strdup(c->user ? c->user : c->store->name);
        if (!s)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret_name = s;
        return SEC_E_OK;
}

bool digest_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        return false; /* a few hashes: cheaper than a hand-off */
}
