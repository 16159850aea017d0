/* SPDX-License-Identifier: MIT */
/*
 * The certificate contexts and the in-memory store behind
 * SECPKG_ATTR_REMOTE_CERT_CONTEXT, with the part of the crypt32 API that
 * Windows programs use on them: CertFreeCertificateContext,
 * CertDuplicateCertificateContext, CertEnumCertificatesInStore,
 * CertDuplicateStore, CertCloseStore.
 *
 * As on Windows the returned leaf lives in a store (its hCertStore) that
 * holds the peer's chain as sent, leaf first (the order of Windows 11 22H2
 * and later, which curl's schannel.c detects by comparing the first
 * enumerated context with the leaf). Every reference (a context handed
 * out, a duplicated store handle) keeps the whole store alive; the last
 * release frees it. The library knows its stores, so a pointer it did not
 * hand out is never dereferenced as one of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "schannel.h"


typedef struct CertEntry {
        CERT_CONTEXT cc; /* first: the caller's PCCERT_CONTEXT points here */
        unsigned refs;
} CertEntry;

typedef struct CertStore {
        unsigned refs; /* every outstanding context reference and store handle */
        unsigned handles;
        size_t n;
        CertEntry *entries;
        uint8_t *der; /* all certificates, back to back */
        struct CertStore *next;
} CertStore;

static pthread_mutex_t stores_lock = PTHREAD_MUTEX_INITIALIZER;
static CertStore *stores;

/* Under stores_lock. */
static CertStore *store_find(const void *h) {
        for (CertStore *s = stores; s; s = s->next)
                if (s == h)
                        return s;
        return NULL;
}

/* Under stores_lock: the entry p points at, and its store. */
static CertEntry *entry_find(const void *p, CertStore **ret_store) {
        for (CertStore *s = stores; s; s = s->next)
                for (size_t i = 0; i < s->n; i++)
                        if ((const void *) &s->entries[i].cc == p) {
                                *ret_store = s;
                                return &s->entries[i];
                        }
        return NULL;
}

/* Under stores_lock: drop one reference, free the store with the last. */
static void store_unref(CertStore *s) {
        if (--s->refs > 0)
                return;
        for (CertStore **pp = &stores; *pp; pp = &(*pp)->next)
                if (*pp == s) {
                        *pp = s->next;
                        break;
                }
        free(s->entries);
        free(s->der);
        free(s);
}

/* The length of the DER element at p (tag, length, contents), 0 if it is
 * not one whole element within len bytes. */
static size_t der_element(const uint8_t *p, size_t len) {
        size_t hdr = 2, body = 0;

        if (len < 2 || p[0] != 0x30)
                return 0;
        if (p[1] < 0x80)
                body = p[1];
        else {
                size_t k = p[1] & 0x7f;
                if (k == 0 || k > 3 || len < 2 + k)
                        return 0;
                for (size_t i = 0; i < k; i++)
                        body = body << 8 | p[2 + i];
                hdr += k;
        }
        return body <= len - hdr ? hdr + body : 0;
}

SECURITY_STATUS cert_store_from_chain(const uint8_t *blob, size_t len, PCCERT_CONTEXT *ret) {
        CertStore *s;
        size_t n = 0, off;

        for (off = 0; off < len; n++) {
                size_t el = der_element(blob + off, len - off);
                if (el == 0 || n == WIRE_MAX_PEER_CHAIN)
                        return SEC_E_INTERNAL_ERROR; /* not what an honest daemon sends */
                off += el;
        }
        if (n == 0)
                return SEC_E_INTERNAL_ERROR;
        s = calloc(1, sizeof(*s));
        if (!s)
                return SEC_E_INSUFFICIENT_MEMORY;
        s->entries = calloc(n, sizeof(*s->entries));
        s->der = malloc(len);
        if (!s->entries || !s->der) {
                free(s->entries);
                free(s->der);
                free(s);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        memcpy(s->der, blob, len);
        for (off = 0; s->n < n; s->n++) {
                CertEntry *e = &s->entries[s->n];
                size_t el = der_element(s->der + off, len - off);
                e->cc.dwCertEncodingType = X509_ASN_ENCODING;
                e->cc.pbCertEncoded = s->der + off;
                e->cc.cbCertEncoded = (DWORD) el;
                e->cc.hCertStore = s;
                off += el;
        }
        /* The caller's one reference: the leaf. */
        s->entries[0].refs = 1;
        s->refs = 1;
        pthread_mutex_lock(&stores_lock);
        s->next = stores;
        stores = s;
        pthread_mutex_unlock(&stores_lock);
        *ret = &s->entries[0].cc;
        return SEC_E_OK;
}

bool cert_context_release(const void *p) {
        CertStore *s;
        CertEntry *e;

        pthread_mutex_lock(&stores_lock);
        e = entry_find(p, &s);
        if (e && e->refs > 0) {
                e->refs--;
                store_unref(s);
        }
        pthread_mutex_unlock(&stores_lock);
        return e != NULL;
}

_public_ BOOL CertFreeCertificateContext(PCCERT_CONTEXT pCertContext) {
        /* Windows: always TRUE; NULL is fine. */
        if (pCertContext)
                (void) cert_context_release(pCertContext);
        return TRUE;
}

_public_ PCCERT_CONTEXT CertDuplicateCertificateContext(PCCERT_CONTEXT pCertContext) {
        CertStore *s;
        CertEntry *e;

        if (!pCertContext)
                return NULL;
        pthread_mutex_lock(&stores_lock);
        e = entry_find(pCertContext, &s);
        if (e && e->refs > 0) {
                e->refs++;
                s->refs++;
        }
        pthread_mutex_unlock(&stores_lock);
        /* A context of the caller's own making is returned as it is. */
        return pCertContext;
}

_public_ PCCERT_CONTEXT CertEnumCertificatesInStore(HCERTSTORE hCertStore, PCCERT_CONTEXT pPrevCertContext) {
        CertStore *s, *ps = NULL;
        CertEntry *prev = NULL, *next = NULL;

        pthread_mutex_lock(&stores_lock);
        s = store_find(hCertStore);
        if (pPrevCertContext)
                prev = entry_find(pPrevCertContext, &ps);
        if (s && (!pPrevCertContext || (prev && ps == s))) {
                size_t i = prev ? (size_t) (prev - s->entries) + 1 : 0;
                if (i < s->n) {
                        next = &s->entries[i];
                        next->refs++;
                        s->refs++;
                }
        }
        /* The previous context is released after the next one holds the
         * store, which it may have been the last reference to. */
        if (prev && prev->refs > 0) {
                prev->refs--;
                store_unref(ps);
        }
        pthread_mutex_unlock(&stores_lock);
        return next ? &next->cc : NULL;
}

_public_ HCERTSTORE CertDuplicateStore(HCERTSTORE hCertStore) {
        CertStore *s;

        pthread_mutex_lock(&stores_lock);
        s = store_find(hCertStore);
        if (s) {
                s->refs++;
                s->handles++;
        }
        pthread_mutex_unlock(&stores_lock);
        return hCertStore;
}

_public_ BOOL CertCloseStore(HCERTSTORE hCertStore, DWORD dwFlags) {
        CertStore *s;
        BOOL ok = TRUE;

        (void) dwFlags;
        pthread_mutex_lock(&stores_lock);
        s = store_find(hCertStore);
        /* Only a handle the caller holds (CertDuplicateStore) is released:
         * the store of a context belongs to its contexts. */
        if (s && s->handles > 0) {
                s->handles--;
                store_unref(s);
        } else if (hCertStore && !s)
                ok = FALSE;
        pthread_mutex_unlock(&stores_lock);
        return ok;
}
