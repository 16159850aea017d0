/* SPDX-License-Identifier: MIT */
/*
 * ExportSecurityContext / ImportSecurityContext of an established NTLM
 * context (issue 17). The blob stays in the daemon (core/exports.c); it
 * holds what message protection and QueryContextAttributes need after the
 * handshake: the negotiated and returned flags, the exported session key
 * and the four keys derived from it, both RC4 streams as they stand and
 * both sequence numbers, so that the importer continues where the exporter
 * stopped (Windows' msv1_0 hands the same over: MS-NLMP 3.4 state). The
 * handshake messages (kept for the MIC) do not travel.
 *
 * Layout, little-endian: "SNTL", version 1, initiator, req/ret/negotiated
 * flags, send/recv sequence numbers, start (FILETIME), exported key (16),
 * the four derived keys (64), send/recv RC4 (258 each), challenge (8),
 * then target, user, domain, each as a u32 length (UINT32_MAX: none) and
 * its bytes.
 */
#include "packages/ntlm/ntlm-private.h"
#include "packages/msg-keys.h"

#define BLOB_MAGIC "SNTL"
#define BLOB_VERSION 1u
#define FIXED_SIZE (4 + 4 * 7 + 8 + 16 + 64 + 2 * 258 + 8)
#define NO_STRING UINT32_MAX

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
        ntlm_put32(p, v);
        return p + 4;
}

static uint8_t *put_mem(uint8_t *p, const void *d, size_t n) {
        memcpy(p, d, n);
        return p + n;
}

static uint8_t *put_rc4(uint8_t *p, const NtlmRc4 *r) {
        p = put_mem(p, r->s, 256);
        *p++ = r->i;
        *p++ = r->j;
        return p;
}

static uint8_t *put_str(uint8_t *p, const char *s) {
        if (!s)
                return put_u32(p, NO_STRING);
        p = put_u32(p, (uint32_t) strlen(s));
        return put_mem(p, s, strlen(s));
}

static size_t str_size(const char *s) {
        return 4 + (s ? strlen(s) : 0);
}

SECURITY_STATUS ntlm_export_ctx(void *ctx, bool keep_old, uint8_t **ret_blob, size_t *ret_len, bool *ctx_consumed) {
        NtlmCtx *c = ctx;
        size_t len;
        uint8_t *blob, *p;
        int64_t start;

        (void) keep_old; /* the blob is a copy: the context stays as it is */
        *ctx_consumed = false;
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if ((c->target && strlen(c->target) > 65535) || (c->user && strlen(c->user) > 65535) ||
            (c->domain && strlen(c->domain) > 65535))
                return SEC_E_INTERNAL_ERROR;
        len = FIXED_SIZE + str_size(c->target) + str_size(c->user) + str_size(c->domain);
        blob = malloc(len);
        if (!blob)
                return SEC_E_INSUFFICIENT_MEMORY;
        p = put_mem(blob, BLOB_MAGIC, 4);
        p = put_u32(p, BLOB_VERSION);
        p = put_u32(p, c->initiator);
        p = put_u32(p, c->req_flags);
        p = put_u32(p, c->ret_flags);
        p = put_u32(p, c->flags);
        p = put_u32(p, c->send_seq);
        p = put_u32(p, c->recv_seq);
        start = c->start;
        p = put_mem(p, &start, 8);
        p = put_mem(p, c->exported, 16);
        p = put_mem(p, &c->keys, sizeof(c->keys));
        p = put_rc4(p, &c->send_rc4);
        p = put_rc4(p, &c->recv_rc4);
        p = put_mem(p, c->challenge, 8);
        p = put_str(p, c->target);
        p = put_str(p, c->user);
        p = put_str(p, c->domain);
        if ((size_t) (p - blob) != len)
                abort(); /* the sizes above and the writes disagree */
        *ret_blob = blob;
        *ret_len = len;
        return SEC_E_OK;
}

typedef struct Cursor {
        const uint8_t *p;
        size_t left;
        bool bad;
} Cursor;

static const uint8_t *take(Cursor *k, size_t n) {
        const uint8_t *p = k->p;

        if (k->bad || k->left < n) {
                k->bad = true;
                return NULL;
        }
        k->p += n;
        k->left -= n;
        return p;
}

static uint32_t take_u32(Cursor *k) {
        const uint8_t *p = take(k, 4);
        return p ? ntlm_le32(p) : 0;
}

static void take_mem(Cursor *k, void *out, size_t n) {
        const uint8_t *p = take(k, n);
        if (p)
                memcpy(out, p, n);
}

static void take_rc4(Cursor *k, NtlmRc4 *r) {
        const uint8_t *p = take(k, 258);
        if (p) {
                memcpy(r->s, p, 256);
                r->i = p[256];
                r->j = p[257];
        }
}

static char *take_str(Cursor *k) {
        uint32_t n = take_u32(k);
        const uint8_t *p;
        char *s;

        if (k->bad || n == NO_STRING)
                return NULL;
        p = take(k, n);
        if (!p || memchr(p, 0, n))
                goto bad;
        s = strndup((const char *) p, n);
        if (!s)
                goto bad;
        return s;
bad:
        k->bad = true;
        return NULL;
}

SECURITY_STATUS ntlm_import_ctx(const uint8_t *blob, size_t len, void **ret_ctx) {
        Cursor k = { blob, len, false };
        NtlmCtx *c;
        const uint8_t *m = take(&k, 4);

        if (!m || memcmp(m, BLOB_MAGIC, 4) != 0 || take_u32(&k) != BLOB_VERSION)
                return SEC_E_INVALID_TOKEN;
        c = calloc(1, sizeof(*c));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->initiator = take_u32(&k) != 0;
        c->req_flags = take_u32(&k);
        c->ret_flags = take_u32(&k);
        c->flags = take_u32(&k);
        c->send_seq = take_u32(&k);
        c->recv_seq = take_u32(&k);
        take_mem(&k, &c->start, 8);
        take_mem(&k, c->exported, 16);
        take_mem(&k, &c->keys, sizeof(c->keys));
        take_rc4(&k, &c->send_rc4);
        take_rc4(&k, &c->recv_rc4);
        take_mem(&k, c->challenge, 8);
        c->target = take_str(&k);
        c->user = take_str(&k);
        c->domain = take_str(&k);
        if (k.bad || k.left) {
                provider_ntlm.ctx_free(c);
                return SEC_E_INVALID_TOKEN;
        }
        c->established = true;
        *ret_ctx = c;
        return SEC_E_OK;
}

static void rc4_in(NtlmRc4 *r, const uint8_t in[258]) {
        memcpy(r->s, in, 256);
        r->i = in[256];
        r->j = in[257];
}

SECURITY_STATUS ntlm_msg_keys_update(void *ctx, const PkgMsgKeys *in) {
        NtlmCtx *c = ctx;
        const uint8_t *send_sign, *recv_sign;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        send_sign = c->initiator ? c->keys.client_sign : c->keys.server_sign;
        recv_sign = c->initiator ? c->keys.server_sign : c->keys.client_sign;
        /* The library may only move the streams on, not swap the keys. */
        if (in->mech != PKG_MSG_NTLM || in->flags != c->flags || memcmp_const(in->send_sign, send_sign, 16) != 0 ||
            memcmp_const(in->recv_sign, recv_sign, 16) != 0)
                return SEC_E_INVALID_TOKEN;
        rc4_in(&c->send_rc4, in->send_rc4);
        rc4_in(&c->recv_rc4, in->recv_rc4);
        c->send_seq = in->send_seq;
        c->recv_seq = in->recv_seq;
        return SEC_E_OK;
}

void ntlm_import_reset(void *ctx) {
        NtlmCtx *c = ctx;

        c->send_seq = c->recv_seq = 0;
}
