/* SPDX-License-Identifier: MIT */
/*
 * NTLM message protection: MakeSignature/VerifySignature and
 * EncryptMessage/DecryptMessage (sealing with RC4, MAC with extended
 * session security), in the TOKEN + DATA layout and, for the receiving
 * calls, the SECBUFFER_STREAM layout (16-byte signature, then the data).
 *
 * A receiving call that fails leaves the context as it was: the sequence
 * number and the RC4 stream advance only once a message verified, so the
 * genuine message can still be read after a tampered or short one.
 */
#include "packages/ntlm/ntlm-private.h"

/* ---- message protection ---------------------------------------------------------- */

/* MakeSignature without NTLMSSP_NEGOTIATE_SIGN: Windows sends, and accepts
 * only, this signature (Wine's ntlm.c test_Signature, checks that pass on
 * Windows, with a CHALLENGE of flags 0xa0828205). */
static const uint8_t dummy_signature[NTLM_SIG_SIZE] = { 1 };

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

static bool signing(const NtlmCtx *c) {
        return c->flags & NTLMSSP_NEGOTIATE_SIGN;
}

/* Windows (Vista and later) has no EncryptMessage/DecryptMessage on a
 * context that negotiated neither signing nor sealing (Wine's ntlm.c
 * test_Encrypt, and the SEC_E_UNSUPPORTED_FUNCTION skip of testSignSeal). */
static bool sealing_possible(const NtlmCtx *c) {
        return c->flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL);
}

/*
 * What a receiving call works on: the signature and the message buffers.
 * TOKEN + DATA as sent; or one SECBUFFER_STREAM (signature then data) and
 * one SECBUFFER_DATA, which is then pointed into the stream (Wine's
 * msv1_0 and Windows: "native decrypts in place even when an
 * appropriately sized data buffer is supplied").
 */
typedef struct Received {
        const uint8_t *sig;
        PkgBuffer *stream, *data;
        PkgBuffer view; /* stream mode: the data part of the stream */
        PkgBuffer *msg;
        size_t n_msg;
} Received;

static SECURITY_STATUS received(PkgBuffer *b, size_t n, bool need_data, Received *r) {
        PkgBuffer *tok = ntlm_find_buffer(b, n, SECBUFFER_TOKEN);

        *r = (Received) { .stream = ntlm_find_buffer(b, n, SECBUFFER_STREAM),
                          .data = ntlm_find_buffer(b, n, SECBUFFER_DATA) };
        if ((!tok && !r->stream) || (tok && r->stream))
                return SEC_E_INVALID_TOKEN;
        if (r->stream) {
                /* DecryptMessage writes the plaintext into the stream: a
                 * read-only one is refused before anything is spent. */
                if (!r->data || r->data->type != SECBUFFER_DATA || (need_data && r->stream->type != SECBUFFER_STREAM))
                        return SEC_E_INVALID_TOKEN;
                if (r->stream->len < NTLM_SIG_SIZE)
                        return SEC_E_BUFFER_TOO_SMALL;
                r->sig = r->stream->data;
                r->view = (PkgBuffer) { .type = SECBUFFER_DATA,
                                        .data = r->stream->data + NTLM_SIG_SIZE,
                                        .len = r->stream->len - NTLM_SIG_SIZE };
                r->view.cap = r->view.len;
                r->msg = &r->view;
                r->n_msg = 1;
                return SEC_E_OK;
        }
        if (need_data && !r->data)
                return SEC_E_INVALID_TOKEN;
        if (tok->len < NTLM_SIG_SIZE)
                return SEC_E_BUFFER_TOO_SMALL;
        r->sig = tok->data;
        r->msg = b;
        r->n_msg = n;
        return SEC_E_OK;
}

/* Stream mode, after success: the caller's DATA buffer points at the data
 * part of its stream; `plain` (DecryptMessage) is what to write there. */
static void point_into_stream(Received *r, PkgBuffer *b, bool plain) {
        if (!r->stream)
                return;
        r->data->has_offset = true;
        r->data->offset = NTLM_SIG_SIZE;
        r->data->has_base = true;
        r->data->base = (uint32_t) (r->stream - b);
        r->data->data = plain ? r->view.data : NULL;
        r->data->len = r->view.len;
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
        if (!signing(c)) {
                memcpy(tok->data, dummy_signature, NTLM_SIG_SIZE);
                tok->len = NTLM_SIG_SIZE;
                return SEC_E_OK;
        }
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        ntlm_signature(c->initiator ? c->keys.client_sign : c->keys.server_sign,
                       use_rc4_mac(c) ? &c->send_rc4 : NULL, c->send_seq++, v, k, tok->data);
        tok->len = NTLM_SIG_SIZE;
        free(v);
        return SEC_E_OK;
}

/* The received signature against the one `msg` should carry, with the RC4
 * state `rc4` (a copy the caller commits on success). */
static SECURITY_STATUS check_mac(NtlmCtx *c, const uint8_t *sig, PkgBuffer *msg, size_t n, NtlmRc4 *rc4) {
        uint8_t want[NTLM_SIG_SIZE];
        NtlmIov *v;
        size_t k;
        SECURITY_STATUS st;

        st = gather(msg, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        ntlm_signature(c->initiator ? c->keys.server_sign : c->keys.client_sign, use_rc4_mac(c) ? rc4 : NULL,
                       c->recv_seq, v, k, want);
        free(v);
        st = memcmp_const(want, sig, NTLM_SIG_SIZE) == 0 ? SEC_E_OK : SEC_E_MESSAGE_ALTERED;
        explicit_bzero(want, sizeof(want));
        return st;
}

/* Version and sequence number first: neither changes any state. */
static SECURITY_STATUS check_header(const NtlmCtx *c, const uint8_t *sig) {
        if (ntlm_le32(sig) != 1)
                return SEC_E_MESSAGE_ALTERED;
        if (ntlm_le32(sig + 12) != c->recv_seq)
                return SEC_E_OUT_OF_SEQUENCE;
        return SEC_E_OK;
}

SECURITY_STATUS ntlm_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        NtlmCtx *c = ctx;
        NtlmRc4 rc4;
        Received r;
        SECURITY_STATUS st;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        st = received(b, n, false, &r);
        if (st != SEC_E_OK)
                return st;
        if (!signing(c)) {
                if (memcmp_const(r.sig, dummy_signature, NTLM_SIG_SIZE) != 0)
                        return SEC_E_MESSAGE_ALTERED;
        } else {
                st = check_header(c, r.sig);
                if (st != SEC_E_OK)
                        return st;
                rc4 = c->recv_rc4;
                st = check_mac(c, r.sig, r.msg, r.n_msg, &rc4);
                if (st != SEC_E_OK) {
                        explicit_bzero(&rc4, sizeof(rc4));
                        return st;
                }
                c->recv_rc4 = rc4;
                c->recv_seq++;
                explicit_bzero(&rc4, sizeof(rc4));
        }
        point_into_stream(&r, b, false);
        /* Windows' NTLM leaves *pfQOP alone (Wine's ntlm.c test_Signature). */
        if (ret_qop)
                *ret_qop = PKG_QOP_UNSET;
        return SEC_E_OK;
}

/*
 * SECQOP_WRAP_NO_ENCRYPT (documented for EncryptMessage (NTLM)): the data
 * stays clear and the signature is MakeSignature's. An NTLM signature
 * does not say whether the data was sealed, so DecryptMessage tries both
 * readings and reports SECQOP_WRAP_NO_ENCRYPT for this one.
 */
SECURITY_STATUS ntlm_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        NtlmCtx *c = ctx;
        PkgBuffer *tok;
        NtlmIov *v;
        size_t k;
        SECURITY_STATUS st;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (qop != 0 && qop != SECQOP_WRAP_NO_ENCRYPT)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = ntlm_find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || !ntlm_find_buffer(b, n, SECBUFFER_DATA))
                return SEC_E_INVALID_TOKEN;
        if (tok->cap < NTLM_SIG_SIZE)
                return SEC_E_BUFFER_TOO_SMALL;
        if (!sealing_possible(c))
                return SEC_E_UNSUPPORTED_FUNCTION;
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        if (qop == SECQOP_WRAP_NO_ENCRYPT) {
                ntlm_signature(c->initiator ? c->keys.client_sign : c->keys.server_sign,
                               use_rc4_mac(c) ? &c->send_rc4 : NULL, c->send_seq++, v, k, tok->data);
                free(v);
                tok->len = NTLM_SIG_SIZE;
                return SEC_E_OK;
        }
        /* MAC over the plaintext; the RC4 stream then covers the data
         * and, after it, the checksum (MS-NLMP 3.4.3). */
        ntlm_signature(c->initiator ? c->keys.client_sign : c->keys.server_sign, NULL, c->send_seq++, v, k,
                       tok->data);
        free(v);
        for (size_t i = 0; i < n; i++)
                if (buffer_is_sealed(&b[i]) && b[i].len)
                        ntlm_rc4(&c->send_rc4, b[i].data, b[i].data, b[i].len);
        if (use_rc4_mac(c))
                ntlm_rc4(&c->send_rc4, tok->data + 4, tok->data + 4, 8);
        tok->len = NTLM_SIG_SIZE;
        return SEC_E_OK;
}

/* The sealed reading of a received message, on the RC4 copy `rc4`: the
 * data is decrypted in place (daemon memory) and put back on failure. */
static SECURITY_STATUS try_sealed(NtlmCtx *c, const uint8_t *sig, PkgBuffer *msg, size_t n, NtlmRc4 *rc4) {
        NtlmRc4 start = *rc4;
        uint8_t got[NTLM_SIG_SIZE], want[NTLM_SIG_SIZE];
        NtlmIov *v;
        size_t k;
        SECURITY_STATUS st;

        for (size_t i = 0; i < n; i++)
                if (buffer_is_sealed(&msg[i]) && msg[i].len)
                        ntlm_rc4(rc4, msg[i].data, msg[i].data, msg[i].len);
        st = gather(msg, n, &v, &k);
        if (st == SEC_E_OK) {
                ntlm_signature(c->initiator ? c->keys.server_sign : c->keys.client_sign, NULL, c->recv_seq, v, k,
                               want);
                free(v);
                memcpy(got, sig, NTLM_SIG_SIZE);
                if (use_rc4_mac(c))
                        ntlm_rc4(rc4, got + 4, got + 4, 8);
                st = memcmp_const(got + 4, want + 4, 8) == 0 ? SEC_E_OK : SEC_E_MESSAGE_ALTERED;
        }
        if (st != SEC_E_OK)
                for (size_t i = 0; i < n; i++)
                        if (buffer_is_sealed(&msg[i]) && msg[i].len)
                                ntlm_rc4(&start, msg[i].data, msg[i].data, msg[i].len);
        explicit_bzero(want, sizeof(want));
        explicit_bzero(got, sizeof(got));
        explicit_bzero(&start, sizeof(start));
        return st;
}

SECURITY_STATUS ntlm_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        NtlmCtx *c = ctx;
        NtlmRc4 rc4;
        Received r;
        uint32_t qop = PKG_QOP_UNSET;
        SECURITY_STATUS st;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        st = received(b, n, true, &r);
        if (st != SEC_E_OK)
                return st;
        if (!sealing_possible(c))
                return SEC_E_UNSUPPORTED_FUNCTION;
        st = check_header(c, r.sig);
        if (st != SEC_E_OK)
                return st;
        rc4 = c->recv_rc4;
        st = try_sealed(c, r.sig, r.msg, r.n_msg, &rc4);
        if (st == SEC_E_MESSAGE_ALTERED) {
                /* EncryptMessage(SECQOP_WRAP_NO_ENCRYPT) of ours or a peer's. */
                rc4 = c->recv_rc4;
                st = check_mac(c, r.sig, r.msg, r.n_msg, &rc4);
                qop = SECQOP_WRAP_NO_ENCRYPT;
        }
        if (st != SEC_E_OK) {
                explicit_bzero(&rc4, sizeof(rc4));
                return st;
        }
        c->recv_rc4 = rc4;
        c->recv_seq++;
        explicit_bzero(&rc4, sizeof(rc4));
        point_into_stream(&r, b, true);
        if (ret_qop)
                *ret_qop = qop;
        return SEC_E_OK;
}
