/* SPDX-License-Identifier: MIT */
/*
 * NTLM message protection: MakeSignature/VerifySignature and
 * EncryptMessage/DecryptMessage (sealing with RC4, MAC v1 and v2).
 */
#include "packages/ntlm/ntlm-private.h"

/* ---- message protection ---------------------------------------------------------- */

static bool buffer_is_signed(const PkgBuffer *b) {
        if (b->type & SECBUFFER_READONLY_WITH_CHECKSUM)
                return true;
        return pkg_buffer_base_type(b) == SECBUFFER_DATA;
}

static bool buffer_is_sealed(const PkgBuffer *b) {
        return pkg_buffer_base_type(b) == SECBUFFER_DATA && !(b->type & SECBUFFER_ATTRMASK);
}

static SECURITY_STATUS gather(PkgBuffer *b, size_t n, NtlmIov **ret, size_t *ret_n) {
        NtlmIov *v = calloc(n ? n : 1, sizeof(*v));
        size_t k = 0;

        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        for (size_t i = 0; i < n; i++)
                if (buffer_is_signed(&b[i]))
                        v[k++] = (NtlmIov) { b[i].data, b[i].len };
        *ret = v;
        *ret_n = k;
        return SEC_E_OK;
}

static bool use_rc4_mac(const NtlmCtx *c) {
        return c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH;
}

SECURITY_STATUS ntlm_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        NtlmCtx *c = ctx;
        PkgBuffer *tok;
        NtlmIov *v;
        size_t k;
        SECURITY_STATUS st;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (qop != 0)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = ntlm_find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok)
                return SEC_E_INVALID_TOKEN;
        if (tok->cap < NTLM_SIG_SIZE)
                return SEC_E_BUFFER_TOO_SMALL;
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        ntlm_signature(c->initiator ? c->keys.client_sign : c->keys.server_sign,
                       use_rc4_mac(c) ? &c->send_rc4 : NULL, c->send_seq++, v, k, tok->data);
        tok->len = NTLM_SIG_SIZE;
        free(v);
        return SEC_E_OK;
}

/* Check a received signature's sequence number, then its checksum. */
static SECURITY_STATUS check_signature(NtlmCtx *c, const uint8_t *sig, const NtlmIov *v, size_t k) {
        uint8_t want[NTLM_SIG_SIZE];
        SECURITY_STATUS st = SEC_E_OK;

        if (ntlm_le32(sig) != 1)
                return SEC_E_MESSAGE_ALTERED;
        if (ntlm_le32(sig + 12) != c->recv_seq)
                return SEC_E_OUT_OF_SEQUENCE;
        ntlm_signature(c->initiator ? c->keys.server_sign : c->keys.client_sign,
                       use_rc4_mac(c) ? &c->recv_rc4 : NULL, c->recv_seq, v, k, want);
        if (memcmp_const(want, sig, NTLM_SIG_SIZE) != 0)
                st = SEC_E_MESSAGE_ALTERED;
        else
                c->recv_seq++;
        explicit_bzero(want, sizeof(want));
        return st;
}

SECURITY_STATUS ntlm_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        NtlmCtx *c = ctx;
        PkgBuffer *tok;
        NtlmIov *v;
        size_t k;
        SECURITY_STATUS st;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        tok = ntlm_find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || tok->len < NTLM_SIG_SIZE)
                return SEC_E_INVALID_TOKEN;
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        st = check_signature(c, tok->data, v, k);
        free(v);
        if (st == SEC_E_OK && ret_qop)
                *ret_qop = 0;
        return st;
}

SECURITY_STATUS ntlm_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        NtlmCtx *c = ctx;
        PkgBuffer *tok;
        NtlmIov *v;
        size_t k;
        SECURITY_STATUS st;
        bool encrypt = qop == 0;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (qop != 0 && qop != SECQOP_WRAP_NO_ENCRYPT)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = ntlm_find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || !ntlm_find_buffer(b, n, SECBUFFER_DATA))
                return SEC_E_INVALID_TOKEN;
        if (tok->cap < NTLM_SIG_SIZE)
                return SEC_E_BUFFER_TOO_SMALL;
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        /* MAC over the plaintext; the RC4 stream then covers the data
         * and, after it, the checksum (MS-NLMP 3.4.3). */
        ntlm_signature(c->initiator ? c->keys.client_sign : c->keys.server_sign, NULL, c->send_seq++, v, k,
                       tok->data);
        free(v);
        if (encrypt)
                for (size_t i = 0; i < n; i++)
                        if (buffer_is_sealed(&b[i]) && b[i].len)
                                ntlm_rc4(&c->send_rc4, b[i].data, b[i].data, b[i].len);
        if (use_rc4_mac(c))
                ntlm_rc4(&c->send_rc4, tok->data + 4, tok->data + 4, 8);
        tok->len = NTLM_SIG_SIZE;
        return SEC_E_OK;
}

SECURITY_STATUS ntlm_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        NtlmCtx *c = ctx;
        PkgBuffer *tok;
        NtlmIov *v;
        size_t k;
        uint8_t want[NTLM_SIG_SIZE], got[8];
        SECURITY_STATUS st;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        tok = ntlm_find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || tok->len < NTLM_SIG_SIZE || !ntlm_find_buffer(b, n, SECBUFFER_DATA))
                return SEC_E_INVALID_TOKEN;
        if (ntlm_le32(tok->data) != 1)
                return SEC_E_MESSAGE_ALTERED;
        if (ntlm_le32(tok->data + 12) != c->recv_seq)
                return SEC_E_OUT_OF_SEQUENCE;
        for (size_t i = 0; i < n; i++)
                if (buffer_is_sealed(&b[i]) && b[i].len)
                        ntlm_rc4(&c->recv_rc4, b[i].data, b[i].data, b[i].len);
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        ntlm_signature(c->initiator ? c->keys.server_sign : c->keys.client_sign, NULL, c->recv_seq, v, k, want);
        free(v);
        memcpy(got, tok->data + 4, 8);
        if (use_rc4_mac(c))
                ntlm_rc4(&c->recv_rc4, got, got, 8);
        st = memcmp_const(got, want + 4, 8) == 0 ? SEC_E_OK : SEC_E_MESSAGE_ALTERED;
        explicit_bzero(want, sizeof(want));
        if (st != SEC_E_OK)
                return st;
        c->recv_seq++;
        if (ret_qop)
                *ret_qop = 0;
        return SEC_E_OK;
}
