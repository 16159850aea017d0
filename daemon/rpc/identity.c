/* SPDX-License-Identifier: MIT */
/*
 * SspiEncryptAuthIdentityEx / SspiDecryptAuthIdentityEx with
 * SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON: CryptProtectMemory's
 * SAME_LOGON scope, with the uid as the logon session. The daemon holds one
 * random key per uid, in memory only (a restart ends every "logon
 * session", as a reboot does on Windows), and never sends it: callers send
 * the bytes to seal or open. Twin of client-lib/identity.c.
 */
#include "core/dispatch.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "wire.h"

#define NONCE 12
#define TAG 16

typedef struct UidKey {
        struct UidKey *next;
        uid_t uid;
        uint8_t key[32];
} UidKey;

static pthread_mutex_t keys_lock = PTHREAD_MUTEX_INITIALIZER;
static UidKey *keys;

/* Copies the uid's key out; creates it when `create`. -ENOENT, -ENOMEM,
 * -EIO. One key per uid that ever sealed: bounded by the uids that can
 * connect. */
static int uid_key(uid_t uid, bool create, uint8_t ret[32]) {
        UidKey *k;
        int r = 0;

        pthread_mutex_lock(&keys_lock);
        for (k = keys; k && k->uid != uid; k = k->next)
                ;
        if (!k && create) {
                k = calloc(1, sizeof(*k));
                if (!k)
                        r = -ENOMEM;
                else if (RAND_bytes(k->key, sizeof(k->key)) != 1) {
                        free(k);
                        k = NULL;
                        r = -EIO;
                } else {
                        k->uid = uid;
                        k->next = keys;
                        keys = k;
                }
        } else if (!k)
                r = -ENOENT;
        if (k)
                memcpy(ret, k->key, sizeof(k->key));
        pthread_mutex_unlock(&keys_lock);
        return r;
}

/* The uid is bound into the tag, so bytes sealed for one uid never open
 * for another even if keys were ever shared. */
static int gcm(const uint8_t key[32], uid_t uid, bool seal, const uint8_t *in, size_t len, uint8_t *out) {
        static const char label[] = "sspid identity, same logon";
        uint8_t aad[sizeof(label) + sizeof(uint32_t)];
        uint32_t u = (uint32_t) uid;
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int n, r = -EBADMSG;

        if (!c)
                return -ENOMEM;
        memcpy(aad, label, sizeof(label));
        memcpy(aad + sizeof(label), &u, sizeof(u));
        if (seal) {
                if (RAND_bytes(out, NONCE) != 1) {
                        r = -EIO;
                        goto out;
                }
                if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out) != 1 ||
                    EVP_EncryptUpdate(c, NULL, &n, aad, sizeof(aad)) != 1 ||
                    EVP_EncryptUpdate(c, out + NONCE, &n, in, (int) len) != 1 ||
                    EVP_EncryptFinal_ex(c, out + NONCE + n, &n) != 1 ||
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, out + NONCE + len) != 1)
                        goto out;
        } else {
                size_t m = len - NONCE - TAG;
                if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) != 1 ||
                    EVP_DecryptUpdate(c, NULL, &n, aad, sizeof(aad)) != 1 ||
                    EVP_DecryptUpdate(c, out, &n, in + NONCE, (int) m) != 1 ||
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, (void *) (in + NONCE + m)) != 1 ||
                    EVP_DecryptFinal_ex(c, out + n, &n) != 1)
                        goto out;
        }
        r = 0;
out:
        EVP_CIPHER_CTX_free(c);
        return r;
}

SECURITY_STATUS rpc_protect_identity(Job *job, Sspiw__Envelope *reply) {
        Sspiw__ProtectIdentityReq *p = job->req->protect_identity;
        uid_t uid = job->conn->caller.uid;
        Sspiw__ProtectIdentityRep *rep;
        uint8_t key[32], *out;
        size_t out_len;
        int r;

        /* wire_validate_request bounded the size (and a sealed input holds
         * at least nonce and tag). */
        if (!p->seal && p->data.len < NONCE + TAG)
                return SEC_E_DECRYPT_FAILURE;
        r = uid_key(uid, p->seal, key);
        if (r == -ENOENT)
                return SEC_E_DECRYPT_FAILURE; /* nothing was ever sealed for this uid */
        if (r < 0)
                return r == -ENOMEM ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_INTERNAL_ERROR;
        out_len = p->seal ? p->data.len + NONCE + TAG : p->data.len - NONCE - TAG;
        rep = malloc(sizeof(*rep));
        out = malloc(out_len ? out_len : 1);
        if (!rep || !out) {
                explicit_bzero(key, sizeof(key));
                free(rep);
                free(out);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        /* Deferred blocks are wiped when the job ends (an opened password). */
        job_defer_free(job, rep);
        job_defer_free(job, out);
        r = gcm(key, uid, p->seal, p->data.data, p->data.len, out);
        explicit_bzero(key, sizeof(key));
        /* The request held a password in the clear (seal): gone now. */
        if (p->seal)
                explicit_bzero(p->data.data, p->data.len);
        if (r < 0)
                return r == -EBADMSG ? SEC_E_DECRYPT_FAILURE : SEC_E_INTERNAL_ERROR;
        sspiw__protect_identity_rep__init(rep);
        rep->data.data = out;
        rep->data.len = out_len;
        reply->body_case = SSPIW__ENVELOPE__BODY_PROTECT_IDENTITY_REP;
        reply->protect_identity_rep = rep;
        return SEC_E_OK;
}
