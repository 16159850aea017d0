/* SPDX-License-Identifier: MIT */
/*
 * NTLM message protection in the caller (message-protection = caller):
 * the twin of daemon/packages/ntlm/ntlm-message.c and of the way
 * daemon/rpc/message.c + buffers.c carry its results back, on the
 * caller's own SecBufferDesc. Every status, every check order and every
 * rule of what is written where is the daemon path's:
 *  - MakeSignature without NTLMSSP_NEGOTIATE_SIGN gives the dummy
 *    signature; EncryptMessage/DecryptMessage without SIGN or SEAL are
 *    SEC_E_UNSUPPORTED_FUNCTION;
 *  - SECQOP_WRAP_NO_ENCRYPT signs only, and DecryptMessage tries both
 *    readings (reporting SECQOP_WRAP_NO_ENCRYPT for the clear one);
 *  - a receiving call that fails consumes nothing (sequence number and
 *    RC4 stream advance only once a message verified) and writes nothing:
 *    the sealed reading is tried on a copy, so a DATA buffer in read-only
 *    memory is never written when the message was only signed;
 *  - the SECBUFFER_STREAM layout (16-byte signature, then the data) points
 *    the caller's DATA buffer into the stream;
 *  - a read-only buffer (SECBUFFER_READONLY*) is never written.
 * MD5 comes from libcrypto (EVP); RC4 is the 20-line algorithm (OpenSSL 3
 * has it only in the legacy provider), as in the daemon.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "msgctx.h"

#define SIG_SIZE 16
#define F_SIGN 0x00000010U
#define F_SEAL 0x00000020U
#define F_KEY_EXCH 0x40000000U
#define READONLY_BITS (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM)

static const uint8_t dummy_signature[SIG_SIZE] = { 1 };

typedef struct Iov {
        const uint8_t *data;
        size_t len;
} Iov;


static bool is_signed(const SecBuffer *b) {
        return (b->BufferType & SECBUFFER_READONLY_WITH_CHECKSUM) || MSG_BUF_BASE(b->BufferType) == SECBUFFER_DATA;
}

static bool is_sealed(const SecBuffer *b) {
        return MSG_BUF_BASE(b->BufferType) == SECBUFFER_DATA && !(b->BufferType & SECBUFFER_ATTRMASK);
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void rc4(NtlmRc4State *r, const uint8_t *in, uint8_t *out, size_t len) {
        uint8_t i = r->i, j = r->j;

        for (size_t n = 0; n < len; n++) {
                uint8_t t;
                i++;
                t = r->s[i];
                j = (uint8_t) (j + t);
                r->s[i] = r->s[j];
                r->s[j] = t;
                out[n] = in[n] ^ r->s[(uint8_t) (r->s[i] + t)];
        }
        r->i = i;
        r->j = j;
}

/* MD5, fetched once: EVP_md5() in EVP_DigestInit_ex fetches it by name
 * on every call, three times a signature. NULL where the process's
 * libcrypto has none (a FIPS configuration): ntlm_msg_usable() is then
 * false and the context stays on the daemon path. */
static EVP_MD *md5;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;

static void md5_fetch(void) {
        md5 = EVP_MD_fetch(NULL, "MD5", NULL);
}

static bool md5_init(EVP_MD_CTX *c) {
        pthread_once(&md5_once, md5_fetch);
        return c && md5 && EVP_DigestInit_ex(c, md5, NULL) == 1;
}

static bool md5_parts(const Iov *v, size_t n, uint8_t out[16]) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int len = 16;
        bool ok = md5_init(c);

        for (size_t i = 0; ok && i < n; i++)
                if (v[i].len)
                        ok = EVP_DigestUpdate(c, v[i].data, v[i].len) == 1;
        ok = ok && EVP_DigestFinal_ex(c, out, &len) == 1;
        EVP_MD_CTX_free(c); /* cleanses the digest state */
        return ok;
}

bool ntlm_msg_usable(void) {
        uint8_t out[16];
        return md5_parts(&(Iov) { (const uint8_t *) "", 0 }, 1, out);
}

/* HMAC-MD5(key, seq || iov...), first 8 bytes, RC4-sealed when `r`:
 * MS-NLMP 3.4.4.2 with extended session security. False (nothing
 * changed) when libcrypto fails. */
static bool signature(const uint8_t key[16], NtlmRc4State *r, uint32_t seq, const Iov *iov, size_t n,
                      uint8_t sig[SIG_SIZE]) {
        uint8_t ipad[64], opad[64], inner[16], mac[16], s[4] = { (uint8_t) seq, (uint8_t) (seq >> 8),
                                                                  (uint8_t) (seq >> 16), (uint8_t) (seq >> 24) };
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int len = 16;
        bool ok;

        memset(ipad, 0x36, sizeof(ipad));
        memset(opad, 0x5c, sizeof(opad));
        for (int i = 0; i < 16; i++) {
                ipad[i] ^= key[i];
                opad[i] ^= key[i];
        }
        ok = md5_init(c) && EVP_DigestUpdate(c, ipad, 64) == 1 &&
             EVP_DigestUpdate(c, s, 4) == 1;
        for (size_t i = 0; ok && i < n; i++)
                if (iov[i].len)
                        ok = EVP_DigestUpdate(c, iov[i].data, iov[i].len) == 1;
        ok = ok && EVP_DigestFinal_ex(c, inner, &len) == 1;
        EVP_MD_CTX_free(c); /* cleanses the digest state */
        ok = ok && md5_parts((Iov[]) { { opad, 64 }, { inner, 16 } }, 2, mac);
        if (ok) {
                sig[0] = 1;
                sig[1] = sig[2] = sig[3] = 0;
                if (r)
                        rc4(r, mac, sig + 4, 8);
                else
                        memcpy(sig + 4, mac, 8);
                memcpy(sig + 12, s, 4);
        }
        explicit_bzero(ipad, sizeof(ipad));
        explicit_bzero(opad, sizeof(opad));
        explicit_bzero(inner, sizeof(inner));
        explicit_bzero(mac, sizeof(mac));
        return ok;
}

/* The signed buffers in order; a sealed one may be read from `plain`
 * (its decrypted copy) instead. */
static Iov *gather(const SecBuffer *b, size_t n, uint8_t *const *plain, size_t *ret_k) {
        Iov *v = calloc(n ? n : 1, sizeof(*v));
        size_t k = 0;

        if (!v)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (is_signed(&b[i]))
                        v[k++] = (Iov) { plain && plain[i] ? plain[i] : msg_bdata(&b[i]), msg_blen(&b[i]) };
        *ret_k = k;
        return v;
}

/* The daemon path writes an output back only into a buffer that is not
 * read-only (client-lib/buffers.c slot_check). */
static void put_token(SecBuffer *tok, const uint8_t sig[SIG_SIZE]) {
        if (tok->BufferType & READONLY_BITS)
                return;
        memcpy(tok->pvBuffer, sig, SIG_SIZE);
        tok->cbBuffer = SIG_SIZE;
}

static SECURITY_STATUS make_sig(NtlmMsgState *c, SecBufferDesc *d, SecBuffer *tok, bool rc4_mac) {
        uint8_t sig[SIG_SIZE];
        size_t k;
        bool ok;
        Iov *v = gather(d->pBuffers, d->cBuffers, NULL, &k);

        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        ok = signature(c->send_sign, rc4_mac ? &c->send_rc4 : NULL, c->send_seq, v, k, sig);
        free(v);
        if (!ok)
                return SEC_E_INTERNAL_ERROR;
        c->send_seq++;
        put_token(tok, sig);
        explicit_bzero(sig, sizeof(sig));
        return SEC_E_OK;
}

static SECURITY_STATUS sign(NtlmMsgState *c, uint32_t qop, SecBufferDesc *d) {
        SecBuffer *tok;

        if (qop != 0)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = msg_find(d, SECBUFFER_TOKEN);
        if (!tok)
                return SEC_E_INVALID_TOKEN;
        if (msg_blen(tok) < SIG_SIZE)
                return SEC_E_BUFFER_TOO_SMALL;
        if (!(c->flags & F_SIGN)) {
                put_token(tok, dummy_signature);
                return SEC_E_OK;
        }
        return make_sig(c, d, tok, c->flags & F_KEY_EXCH);
}

static SECURITY_STATUS seal(NtlmMsgState *c, uint32_t qop, SecBufferDesc *d) {
        SecBuffer *tok;
        uint8_t sig[SIG_SIZE];
        size_t k;
        Iov *v;

        if (qop != 0 && qop != SECQOP_WRAP_NO_ENCRYPT)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = msg_find(d, SECBUFFER_TOKEN);
        if (!tok || !msg_find(d, SECBUFFER_DATA))
                return SEC_E_INVALID_TOKEN;
        if (msg_blen(tok) < SIG_SIZE)
                return SEC_E_BUFFER_TOO_SMALL;
        if (!(c->flags & (F_SIGN | F_SEAL)))
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (qop == SECQOP_WRAP_NO_ENCRYPT)
                return make_sig(c, d, tok, c->flags & F_KEY_EXCH);
        v = gather(d->pBuffers, d->cBuffers, NULL, &k);
        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        /* MAC over the plaintext; the RC4 stream then covers the data and,
         * after it, the checksum (MS-NLMP 3.4.3). */
        if (!signature(c->send_sign, NULL, c->send_seq, v, k, sig)) {
                free(v);
                return SEC_E_INTERNAL_ERROR;
        }
        free(v);
        c->send_seq++;
        for (uint32_t i = 0; i < d->cBuffers; i++)
                if (is_sealed(&d->pBuffers[i]) && msg_blen(&d->pBuffers[i]))
                        rc4(&c->send_rc4, d->pBuffers[i].pvBuffer, d->pBuffers[i].pvBuffer,
                            d->pBuffers[i].cbBuffer);
        if (c->flags & F_KEY_EXCH)
                rc4(&c->send_rc4, sig + 4, sig + 4, 8);
        put_token(tok, sig);
        explicit_bzero(sig, sizeof(sig));
        return SEC_E_OK;
}

/* What a receiving call works on (ntlm-message.c received()). */
typedef struct Received {
        const uint8_t *sig;
        SecBuffer *stream, *data;
        SecBuffer view; /* stream mode: the data part of the stream */
        SecBuffer *msg;
        size_t n_msg;
} Received;

static SECURITY_STATUS received(SecBufferDesc *d, bool need_data, Received *r) {
        SecBuffer *tok = msg_find(d, SECBUFFER_TOKEN);

        *r = (Received) { .stream = msg_find(d, SECBUFFER_STREAM), .data = msg_find(d, SECBUFFER_DATA) };
        if ((!tok && !r->stream) || (tok && r->stream))
                return SEC_E_INVALID_TOKEN;
        if (r->stream) {
                if (!r->data || r->data->BufferType != SECBUFFER_DATA ||
                    (need_data && r->stream->BufferType != SECBUFFER_STREAM))
                        return SEC_E_INVALID_TOKEN;
                if (msg_blen(r->stream) < SIG_SIZE)
                        return SEC_E_BUFFER_TOO_SMALL;
                r->sig = r->stream->pvBuffer;
                r->view = (SecBuffer) { .BufferType = SECBUFFER_DATA,
                                        .pvBuffer = (uint8_t *) r->stream->pvBuffer + SIG_SIZE,
                                        .cbBuffer = r->stream->cbBuffer - SIG_SIZE };
                r->msg = &r->view;
                r->n_msg = 1;
                return SEC_E_OK;
        }
        if (need_data && !r->data)
                return SEC_E_INVALID_TOKEN;
        if (msg_blen(tok) < SIG_SIZE)
                return SEC_E_BUFFER_TOO_SMALL;
        r->sig = tok->pvBuffer;
        r->msg = d->pBuffers;
        r->n_msg = d->cBuffers;
        return SEC_E_OK;
}

static SECURITY_STATUS check_header(const NtlmMsgState *c, const uint8_t *sig) {
        if (le32(sig) != 1)
                return SEC_E_MESSAGE_ALTERED;
        if (le32(sig + 12) != c->recv_seq)
                return SEC_E_OUT_OF_SEQUENCE;
        return SEC_E_OK;
}

/* The clear reading: the MAC with the RC4 copy `r`. */
static SECURITY_STATUS check_mac(NtlmMsgState *c, const uint8_t *sig, const SecBuffer *msg, size_t n,
                                 NtlmRc4State *r) {
        uint8_t want[SIG_SIZE];
        size_t k;
        Iov *v = gather(msg, n, NULL, &k);
        SECURITY_STATUS st;

        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!signature(c->recv_sign, (c->flags & F_KEY_EXCH) ? r : NULL, c->recv_seq, v, k, want)) {
                free(v);
                return SEC_E_INTERNAL_ERROR;
        }
        free(v);
        st = CRYPTO_memcmp(want, sig, SIG_SIZE) == 0 ? SEC_E_OK : SEC_E_MESSAGE_ALTERED;
        explicit_bzero(want, sizeof(want));
        return st;
}

/* The stream layout: the caller's DATA points at the data in its stream. */
static void point_into_stream(Received *r) {
        if (!r->stream)
                return;
        r->data->pvBuffer = (uint8_t *) r->stream->pvBuffer + SIG_SIZE;
        r->data->cbBuffer = r->stream->cbBuffer - SIG_SIZE;
}

static SECURITY_STATUS verify(NtlmMsgState *c, SecBufferDesc *d, ULONG *pfQOP) {
        NtlmRc4State r4;
        Received r;
        SECURITY_STATUS st;

        st = received(d, false, &r);
        if (st != SEC_E_OK)
                return st;
        if (!(c->flags & F_SIGN)) {
                if (CRYPTO_memcmp(r.sig, dummy_signature, SIG_SIZE) != 0)
                        return SEC_E_MESSAGE_ALTERED;
        } else {
                st = check_header(c, r.sig);
                if (st != SEC_E_OK)
                        return st;
                r4 = c->recv_rc4;
                st = check_mac(c, r.sig, r.msg, r.n_msg, &r4);
                if (st == SEC_E_OK) {
                        c->recv_rc4 = r4;
                        c->recv_seq++;
                }
                explicit_bzero(&r4, sizeof(r4));
                if (st != SEC_E_OK)
                        return st;
        }
        point_into_stream(&r);
        /* NTLM leaves *pfQOP alone (Wine's ntlm.c test_Signature). */
        return SEC_E_OK;
}

/* The sealed reading on copies: plain[i] is buffer i decrypted. */
static SECURITY_STATUS try_sealed(NtlmMsgState *c, const uint8_t *sig, const SecBuffer *msg, size_t n,
                                  NtlmRc4State *r4, uint8_t **plain) {
        uint8_t got[SIG_SIZE], want[SIG_SIZE];
        size_t k;
        Iov *v;
        SECURITY_STATUS st;

        for (size_t i = 0; i < n; i++)
                if (is_sealed(&msg[i]) && msg_blen(&msg[i])) {
                        plain[i] = malloc(msg[i].cbBuffer);
                        if (!plain[i])
                                return SEC_E_INSUFFICIENT_MEMORY;
                        rc4(r4, msg[i].pvBuffer, plain[i], msg[i].cbBuffer);
                }
        v = gather(msg, n, plain, &k);
        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!signature(c->recv_sign, NULL, c->recv_seq, v, k, want)) {
                free(v);
                return SEC_E_INTERNAL_ERROR;
        }
        free(v);
        memcpy(got, sig, SIG_SIZE);
        if (c->flags & F_KEY_EXCH)
                rc4(r4, got + 4, got + 4, 8);
        st = CRYPTO_memcmp(got + 4, want + 4, 8) == 0 ? SEC_E_OK : SEC_E_MESSAGE_ALTERED;
        explicit_bzero(want, sizeof(want));
        explicit_bzero(got, sizeof(got));
        return st;
}

static SECURITY_STATUS unseal(NtlmMsgState *c, SecBufferDesc *d, ULONG *pfQOP) {
        NtlmRc4State r4;
        Received r;
        uint8_t **plain;
        bool clear = false;
        SECURITY_STATUS st;

        st = received(d, true, &r);
        if (st != SEC_E_OK)
                return st;
        if (!(c->flags & (F_SIGN | F_SEAL)))
                return SEC_E_UNSUPPORTED_FUNCTION;
        st = check_header(c, r.sig);
        if (st != SEC_E_OK)
                return st;
        plain = calloc(r.n_msg ? r.n_msg : 1, sizeof(*plain));
        if (!plain)
                return SEC_E_INSUFFICIENT_MEMORY;
        r4 = c->recv_rc4;
        st = try_sealed(c, r.sig, r.msg, r.n_msg, &r4, plain);
        if (st == SEC_E_MESSAGE_ALTERED) {
                /* EncryptMessage(SECQOP_WRAP_NO_ENCRYPT) of ours or a peer's. */
                r4 = c->recv_rc4;
                st = check_mac(c, r.sig, r.msg, r.n_msg, &r4);
                clear = true;
        }
        if (st == SEC_E_OK) {
                c->recv_rc4 = r4;
                c->recv_seq++;
                /* Only bytes that changed are written: a signed-only
                 * message may sit in read-only memory. */
                for (size_t i = 0; !clear && i < r.n_msg; i++)
                        if (plain[i])
                                memcpy(r.msg[i].pvBuffer, plain[i], r.msg[i].cbBuffer);
                point_into_stream(&r);
                if (clear && pfQOP)
                        *pfQOP = SECQOP_WRAP_NO_ENCRYPT;
        }
        for (size_t i = 0; i < r.n_msg; i++)
                if (plain[i]) {
                        explicit_bzero(plain[i], r.msg[i].cbBuffer);
                        free(plain[i]);
                }
        free(plain);
        explicit_bzero(&r4, sizeof(r4));
        return st;
}

SECURITY_STATUS ntlm_msg(NtlmMsgState *c, MsgOp op, uint32_t qop, SecBufferDesc *d, ULONG *pfQOP) {
        switch (op) {
        case MSG_SIGN:
                return sign(c, qop, d);
        case MSG_VERIFY:
                return verify(c, d, pfQOP);
        case MSG_SEAL:
                return seal(c, qop, d);
        default:
                return unseal(c, d, pfQOP);
        }
}
