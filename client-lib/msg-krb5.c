/* SPDX-License-Identifier: MIT */
/*
 * Kerberos message protection in the caller (message-protection = caller):
 * RFC 4121 MIC and Wrap tokens with aes128/aes256-cts-hmac-sha1-96 (RFC
 * 3961/3962), the twin of daemon/packages/kerberos/kerberos-message.c and
 * kerberos-msgcheck.c and of what Heimdal does under them
 * (lib/gssapi/krb5/cfx.c, sequence.c), on the caller's own SecBufferDesc:
 *  - EncryptMessage lays the token out as Heimdal's gss_wrap_iov() does with
 *    the TOKEN as HEADER and no TRAILER (as Windows): the 16-byte header
 *    with RRC 28, then the encrypted header copy, the checksum and the
 *    encrypted confounder (60 bytes); EC 0; DATA encrypted in place,
 *    READONLY_WITH_CHECKSUM buffers signed only, PADDING returned empty.
 *    SECQOP_WRAP_NO_ENCRYPT: header with EC = RRC = 12, then the checksum.
 *  - DecryptMessage takes that layout (RRC 28, or EC for sign-only) from
 *    TOKEN + DATA, and any RRC from a SECBUFFER_STREAM, writing the
 *    plaintext where the daemon path writes it (DATA buffers in place, the
 *    decrypted header copy and confounder into the TOKEN, the stream's data
 *    part) and pointing DATA into the stream.
 *  - Statuses: a malformed token SEC_E_INVALID_TOKEN, a checksum or
 *    decryption failure SEC_E_MESSAGE_ALTERED, a replayed or reordered
 *    one SEC_E_OUT_OF_SEQUENCE, with Heimdal's window (flags, 20 slots,
 *    including how it records gaps) so that the answers to any sequence of
 *    messages are the daemon's.
 *  - A receiving call that fails consumes nothing: the token is checked
 *    before its sequence number is recorded, as kerberos-msgcheck.c does
 *    (here for every layout; the daemon checks TOKEN + one DATA and
 *    STREAM first and leaves other layouts to Heimdal, which records
 *    first). Only a token that claims the wrong direction, which the
 *    daemon's precheck does not look at either, is recorded first.
 *  - Nothing is written before the call has succeeded: decryption runs on
 *    copies.
 * DCE style, RC4 (RFC 4757) and other enctypes never get here (the daemon
 * keeps those contexts: daemon/packages/kerberos/kerberos-export-keys.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "msgctx.h"

#define HDR 16
#define CKSUM 12
#define CONF 16
#define SEALED_TOKEN (HDR + HDR + CKSUM + CONF) /* 60: cbSecurityTrailer */
#define MIC_TOKEN (HDR + CKSUM)                 /* 28: cbMaxSignature */
#define RRC_SEALED (HDR + CKSUM)
#define F_SENT_BY_ACCEPTOR 0x01
#define F_SEALED 0x02
#define F_ACCEPTOR_SUBKEY 0x04
#define ORDER_REPLAY 4U   /* GSS_C_REPLAY_FLAG */
#define ORDER_SEQUENCE 8U /* GSS_C_SEQUENCE_FLAG */
#define READONLY_BITS (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM)

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac;
static EVP_CIPHER *cts128, *cts256;

static void crypto_setup(void) {
        hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        cts128 = EVP_CIPHER_fetch(NULL, "AES-128-CBC-CTS", NULL);
        cts256 = EVP_CIPHER_fetch(NULL, "AES-256-CBC-CTS", NULL);
}

bool krb_msg_usable(void) {
        pthread_once(&crypto_once, crypto_setup);
        return hmac && cts128 && cts256;
}

typedef struct Iov {
        const uint8_t *data;
        size_t len;
} Iov;

/* HMAC-SHA1-96 over the parts in order (RFC 3962). */
static bool hmac96(const KrbMsgState *c, const uint8_t *key, const Iov *v, size_t n, uint8_t out[CKSUM]) {
        OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", (char *) "SHA1", 0),
                                OSSL_PARAM_construct_end() };
        EVP_MAC_CTX *m = EVP_MAC_CTX_new(hmac);
        uint8_t full[EVP_MAX_MD_SIZE];
        size_t len = 0;
        bool ok = m && EVP_MAC_init(m, key, c->key_len, params) == 1;

        for (size_t i = 0; ok && i < n; i++)
                if (v[i].len)
                        ok = EVP_MAC_update(m, v[i].data, v[i].len) == 1;
        ok = ok && EVP_MAC_final(m, full, &len, sizeof(full)) == 1 && len >= CKSUM;
        EVP_MAC_CTX_free(m);
        if (ok)
                memcpy(out, full, CKSUM);
        OPENSSL_cleanse(full, sizeof(full));
        return ok;
}

/* AES-CBC-CTS with a zero IV, ciphertext stealing as RFC 3962 (CS3). */
static bool cts(const KrbMsgState *c, const uint8_t *key, int enc, const uint8_t *in, uint8_t *out, size_t len) {
        OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("cts_mode", (char *) "CS3", 0),
                                OSSL_PARAM_construct_end() };
        static const uint8_t iv[16];
        EVP_CIPHER_CTX *x;
        int l1 = 0, l2 = 0;
        bool ok;

        if (len < 16 || len > INT32_MAX)
                return false;
        x = EVP_CIPHER_CTX_new();
        ok = x && EVP_CipherInit_ex2(x, c->key_len == 32 ? cts256 : cts128, key, iv, enc, params) == 1 &&
             EVP_CipherUpdate(x, out, &l1, in, (int) len) == 1 && EVP_CipherFinal_ex(x, out + l1, &l2) == 1 &&
             (size_t) l1 + (size_t) l2 == len;
        EVP_CIPHER_CTX_free(x); /* cleanses the key schedule */
        return ok;
}

static void put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* ---- Heimdal's receive window (lib/gssapi/krb5/sequence.c) ------------------ */

typedef enum Order {
        ORDER_OK,
        ORDER_BAD,  /* a duplicate, old, reordered or gap token: recorded or not as Heimdal does */
        ORDER_FAIL, /* GSS_S_FAILURE (Heimdal found no slot) */
} Order;

/* As Heimdal's elem_insert(), including that the slot after the last one
 * moved keeps what it held. */
static void order_insert(KrbMsgState *c, uint32_t after, uint32_t seq) {
        if (c->length > after)
                memmove(&c->elem[after + 1], &c->elem[after], (c->length - after - 1) * sizeof(c->elem[0]));
        c->elem[after % KRB_MSG_WINDOW] = seq;
        if (c->length < KRB_MSG_WINDOW)
                c->length++;
}

/* _gssapi_msg_order_check() of the Heimdal the daemon links (7.8), the
 * comparison in its reordering loop included (fixed upstream in 2024,
 * 2f7a9d953): the answers must be the daemon's. */
static Order order_check(KrbMsgState *c, uint32_t seq) {
        bool replay_only;

        if (!(c->order_flags & (ORDER_REPLAY | ORDER_SEQUENCE)))
                return ORDER_OK;
        if (c->elem[0] == seq - 1) {
                order_insert(c, 0, seq);
                return ORDER_OK;
        }
        replay_only = (c->order_flags & (ORDER_REPLAY | ORDER_SEQUENCE)) == ORDER_REPLAY;
        if (seq > c->elem[0] || seq < c->first_seq || c->length == 0) {
                order_insert(c, 0, seq);
                return replay_only ? ORDER_OK : ORDER_BAD;
        }
        if (seq <= c->elem[c->length - 1])
                return ORDER_BAD;
        for (uint32_t i = 0; i < c->length - 1; i++) {
                if (c->elem[i] == seq)
                        return ORDER_BAD;
                if (c->elem[i + 1] < seq && c->elem[i] < seq) {
                        order_insert(c, i, seq);
                        return replay_only ? ORDER_OK : ORDER_BAD;
                }
        }
        return ORDER_FAIL;
}

static SECURITY_STATUS order_status(Order o) {
        return o == ORDER_OK ? SEC_E_OK : o == ORDER_BAD ? SEC_E_OUT_OF_SEQUENCE : SEC_E_INTERNAL_ERROR;
}


/* What kerberos-message.c's build_iov() makes of each buffer. */
typedef enum Kind {
        K_EMPTY,
        K_HEADER,
        K_PADDING,
        K_SIGN_ONLY,
        K_DATA,
} Kind;

typedef struct Layout {
        Kind kind[WIRE_MAX_BUFFERS];
        SecBuffer *tok, *pad;
        size_t n_data;    /* SECBUFFER_DATA buffers, read-only ones included */
        size_t data_len;  /* bytes of K_DATA */
} Layout;

static SECURITY_STATUS layout(SecBufferDesc *d, Layout *l) {
        *l = (Layout) {};
        if (d->cBuffers > WIRE_MAX_BUFFERS)
                return SEC_E_INVALID_TOKEN;
        for (uint32_t i = 0; i < d->cBuffers; i++) {
                SecBuffer *b = &d->pBuffers[i];
                uint32_t base = MSG_BUF_BASE(b->BufferType);

                l->kind[i] = K_EMPTY;
                if (base == SECBUFFER_DATA)
                        l->n_data++;
                if (base == SECBUFFER_TOKEN && !l->tok) {
                        l->tok = b;
                        l->kind[i] = K_HEADER;
                } else if (base == SECBUFFER_PADDING && !l->pad) {
                        l->pad = b;
                        l->kind[i] = K_PADDING;
                } else if (b->BufferType & SECBUFFER_READONLY_WITH_CHECKSUM) {
                        l->kind[i] = K_SIGN_ONLY;
                } else if (base == SECBUFFER_DATA && !(b->BufferType & SECBUFFER_READONLY)) {
                        l->kind[i] = K_DATA;
                        l->data_len += msg_blen(b);
                }
        }
        if (!l->tok || l->n_data == 0)
                return SEC_E_INVALID_TOKEN;
        return SEC_E_OK;
}

/* The parts a checksum covers: `pre`, then DATA and sign-only buffers in
 * order (DATA from `plain` when given), then `post`. */
static Iov *checksum_parts(SecBufferDesc *d, const Layout *l, const uint8_t *plain, Iov pre, Iov post, size_t *ret_n) {
        Iov *v = calloc(d->cBuffers + 2, sizeof(*v));
        size_t n = 0, off = 0;

        if (!v)
                return NULL;
        if (pre.len)
                v[n++] = pre;
        for (uint32_t i = 0; i < d->cBuffers; i++) {
                size_t len = msg_blen(&d->pBuffers[i]);
                if (l->kind[i] == K_DATA) {
                        v[n++] = (Iov) { plain ? plain + off : msg_bdata(&d->pBuffers[i]), len };
                        off += len;
                } else if (l->kind[i] == K_SIGN_ONLY)
                        v[n++] = (Iov) { msg_bdata(&d->pBuffers[i]), len };
        }
        v[n++] = post;
        *ret_n = n;
        return v;
}

static void gather_data(SecBufferDesc *d, const Layout *l, uint8_t *out) {
        for (uint32_t i = 0; i < d->cBuffers; i++)
                if (l->kind[i] == K_DATA && msg_blen(&d->pBuffers[i])) {
                        memcpy(out, d->pBuffers[i].pvBuffer, d->pBuffers[i].cbBuffer);
                        out += d->pBuffers[i].cbBuffer;
                }
}

/* Only bytes that changed are written (the daemon path's copy-back rule). */
static void scatter_data(SecBufferDesc *d, const Layout *l, const uint8_t *in) {
        for (uint32_t i = 0; i < d->cBuffers; i++)
                if (l->kind[i] == K_DATA && msg_blen(&d->pBuffers[i])) {
                        if (memcmp(d->pBuffers[i].pvBuffer, in, d->pBuffers[i].cbBuffer) != 0)
                                memcpy(d->pBuffers[i].pvBuffer, in, d->pBuffers[i].cbBuffer);
                        in += d->pBuffers[i].cbBuffer;
                }
}

static void put_token(SecBuffer *tok, const uint8_t *p, size_t len) {
        if (tok->BufferType & READONLY_BITS)
                return;
        memcpy(tok->pvBuffer, p, len);
        tok->cbBuffer = (uint32_t) len;
}

static void header(KrbMsgState *c, uint8_t tok_id, uint8_t flags, uint8_t h[HDR]) {
        memset(h, 0xff, HDR);
        h[0] = tok_id;
        h[1] = 0x04;
        h[2] = c->flags | flags;
        if (tok_id == 0x05)
                memset(h + 4, 0, 4); /* EC, RRC */
        memset(h + 8, 0, 4);
        put_be32(h + 12, c->send_seq);
}

/* ---- MakeSignature / VerifySignature ------------------------------------------- */

static bool signed_buffer(const SecBuffer *b) {
        return (b->BufferType & SECBUFFER_READONLY_WITH_CHECKSUM) ||
               (MSG_BUF_BASE(b->BufferType) == SECBUFFER_DATA && !(b->BufferType & SECBUFFER_READONLY));
}

static Iov *mic_parts(SecBufferDesc *d, Iov post, size_t *ret_n) {
        Iov *v = calloc(d->cBuffers + 1, sizeof(*v));
        size_t n = 0;

        if (!v)
                return NULL;
        for (uint32_t i = 0; i < d->cBuffers; i++)
                if (signed_buffer(&d->pBuffers[i]))
                        v[n++] = (Iov) { msg_bdata(&d->pBuffers[i]), msg_blen(&d->pBuffers[i]) };
        v[n++] = post;
        *ret_n = n;
        return v;
}

static SECURITY_STATUS sign(KrbMsgState *c, uint32_t qop, SecBufferDesc *d) {
        uint8_t t[MIC_TOKEN];
        SecBuffer *tok;
        size_t n;
        Iov *v;
        bool ok;

        if (qop != 0)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = msg_find(d, SECBUFFER_TOKEN);
        if (!tok)
                return SEC_E_INVALID_TOKEN;
        if (msg_blen(tok) < MIC_TOKEN)
                return SEC_E_BUFFER_TOO_SMALL;
        header(c, 0x04, 0, t);
        v = mic_parts(d, (Iov) { t, HDR }, &n);
        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        ok = hmac96(c, c->send.kc_sign, v, n, t + HDR);
        free(v);
        if (!ok)
                return SEC_E_INTERNAL_ERROR;
        c->send_seq++;
        put_token(tok, t, sizeof(t));
        return SEC_E_OK;
}

/* The header checks Heimdal makes before it records the sequence number
 * (_gssapi_verify_mic_cfx, _gssapi_unwrap_cfx[_iov]). */
static SECURITY_STATUS check_header(const KrbMsgState *c, const uint8_t *t, bool wrap) {
        bool we_accept = c->flags & F_SENT_BY_ACCEPTOR;

        if ((t[2] & F_SENT_BY_ACCEPTOR) && we_accept)
                return SEC_E_INVALID_TOKEN;
        if (!(t[2] & F_ACCEPTOR_SUBKEY) != !(c->flags & F_ACCEPTOR_SUBKEY))
                return SEC_E_INVALID_TOKEN;
        if (wrap ? t[3] != 0xff : CRYPTO_memcmp(t + 3, "\xff\xff\xff\xff\xff", 5) != 0)
                return SEC_E_INVALID_TOKEN;
        if (be32(t + 8) != 0)
                return SEC_E_OUT_OF_SEQUENCE; /* no 64-bit sequence numbers (ERANGE) */
        return SEC_E_OK;
}

/* Whether kerberos-msgcheck.c checks this token before Heimdal records
 * it: one that claims the direction it must come from. */
static bool right_direction(const KrbMsgState *c, const uint8_t *t) {
        return !(t[2] & F_SENT_BY_ACCEPTOR) == !!(c->flags & F_SENT_BY_ACCEPTOR);
}

/*
 * The order every receiving call follows: a token from the right direction
 * is checked (`check`) before anything else, one from the wrong direction
 * after its number is recorded, as the daemon does.
 */
typedef SECURITY_STATUS (*CheckFn)(KrbMsgState *c, void *arg);

static SECURITY_STATUS receive(KrbMsgState *c, const uint8_t *t, bool wrap, CheckFn check, void *arg) {
        bool first = right_direction(c, t) && (!wrap || t[3] == 0xff);
        SECURITY_STATUS st;
        Order o;

        if (first) {
                st = check(c, arg);
                if (st != SEC_E_OK)
                        return st;
        }
        st = check_header(c, t, wrap);
        if (st != SEC_E_OK)
                return st;
        o = order_check(c, be32(t + 12));
        if (o != ORDER_OK)
                return order_status(o);
        return first ? SEC_E_OK : check(c, arg);
}

typedef struct MicCheck {
        const uint8_t *tok;
        size_t tok_len;
        SecBufferDesc *d;
        const uint8_t *msg; /* stream form: the data after the token */
        size_t msg_len;
} MicCheck;

static SECURITY_STATUS mic_check(KrbMsgState *c, void *arg) {
        MicCheck *m = arg;
        uint8_t want[CKSUM];
        Iov one[2], *v;
        size_t n;
        bool ok;

        if (m->tok_len != MIC_TOKEN)
                return SEC_E_MESSAGE_ALTERED; /* a checksum of the wrong size */
        if (m->d) {
                v = mic_parts(m->d, (Iov) { m->tok, HDR }, &n);
                if (!v)
                        return SEC_E_INSUFFICIENT_MEMORY;
        } else {
                one[0] = (Iov) { m->msg, m->msg_len };
                one[1] = (Iov) { m->tok, HDR };
                v = one;
                n = 2;
        }
        ok = hmac96(c, c->recv.kc_sign, v, n, want);
        if (v != one)
                free(v);
        if (!ok)
                return SEC_E_INTERNAL_ERROR;
        ok = CRYPTO_memcmp(want, m->tok + HDR, CKSUM) == 0;
        OPENSSL_cleanse(want, sizeof(want));
        return ok ? SEC_E_OK : SEC_E_MESSAGE_ALTERED;
}

static SECURITY_STATUS verify(KrbMsgState *c, SecBufferDesc *d, ULONG *pfQOP) {
        SecBuffer *tok = msg_find(d, SECBUFFER_TOKEN), *stream = msg_find(d, SECBUFFER_STREAM), *data = NULL;
        MicCheck m = {};
        SECURITY_STATUS st;

        if (stream) {
                /* .NET's NegotiateStream reads sign-only messages this way. */
                data = msg_find(d, SECBUFFER_DATA);
                if (tok || !data || data->BufferType != SECBUFFER_DATA)
                        return SEC_E_INVALID_TOKEN;
                /* An RFC 4121 MIC token is cbMaxSignature long; anything
                 * else is not a token of this context. */
                if (msg_blen(stream) < MIC_TOKEN || ((uint8_t *) stream->pvBuffer)[0] != 0x04 ||
                    ((uint8_t *) stream->pvBuffer)[1] != 0x04)
                        return SEC_E_INVALID_TOKEN;
                m = (MicCheck) { stream->pvBuffer, MIC_TOKEN, NULL, (uint8_t *) stream->pvBuffer + MIC_TOKEN,
                                 stream->cbBuffer - MIC_TOKEN };
        } else {
                if (!tok || msg_blen(tok) == 0)
                        return SEC_E_INVALID_TOKEN;
                m = (MicCheck) { tok->pvBuffer, tok->cbBuffer, d, NULL, 0 };
        }
        if (m.tok_len < HDR || m.tok[0] != 0x04 || m.tok[1] != 0x04)
                return SEC_E_INVALID_TOKEN;
        st = receive(c, m.tok, false, mic_check, &m);
        if (st != SEC_E_OK)
                return st;
        if (stream) {
                data->pvBuffer = (uint8_t *) stream->pvBuffer + MIC_TOKEN;
                data->cbBuffer = stream->cbBuffer - MIC_TOKEN;
        }
        if (pfQOP)
                *pfQOP = 0;
        return SEC_E_OK;
}

/* ---- EncryptMessage ---------------------------------------------------------- */

static SECURITY_STATUS seal(KrbMsgState *c, uint32_t qop, SecBufferDesc *d) {
        uint8_t t[SEALED_TOKEN], *p = NULL, *x = NULL;
        size_t n, plen;
        Layout l;
        Iov *v;
        bool conf, ok;
        SECURITY_STATUS st;

        if (qop != 0 && qop != SECQOP_WRAP_NO_ENCRYPT)
                return SEC_E_QOP_NOT_SUPPORTED;
        conf = qop == 0;
        st = layout(d, &l);
        if (st != SEC_E_OK)
                return st;
        if (msg_blen(l.tok) < (conf ? SEALED_TOKEN : MIC_TOKEN))
                return SEC_E_BUFFER_TOO_SMALL;
        header(c, 0x05, conf ? F_SEALED : 0, t);
        if (!conf) {
                /* Checksum over the data and the header with EC = RRC = 0,
                 * which then say where the checksum is (RFC 4121 4.2.4). */
                v = checksum_parts(d, &l, NULL, (Iov) {}, (Iov) { t, HDR }, &n);
                if (!v)
                        return SEC_E_INSUFFICIENT_MEMORY;
                ok = hmac96(c, c->send.kc_seal, v, n, t + HDR);
                free(v);
                if (!ok)
                        return SEC_E_INTERNAL_ERROR;
                t[5] = t[7] = CKSUM;
                c->send_seq++;
                put_token(l.tok, t, MIC_TOKEN);
                if (l.pad && !(l.pad->BufferType & READONLY_BITS))
                        l.pad->cbBuffer = 0;
                return SEC_E_OK;
        }
        /* E(confounder | data | header), checksum over confounder | data
         * and sign-only buffers | header (RFC 3961 with Heimdal's IOV). */
        plen = CONF + l.data_len + HDR;
        p = malloc(plen);
        x = malloc(plen);
        if (!p || !x) {
                free(p);
                free(x);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        /* The confounder: the kernel's CSPRNG, as RAND_bytes() seeds from. */
        ok = getrandom(p, CONF, 0) == CONF;
        gather_data(d, &l, p + CONF);
        memcpy(p + CONF + l.data_len, t, HDR);
        v = checksum_parts(d, &l, NULL, (Iov) { p, CONF }, (Iov) { t, HDR }, &n);
        ok = ok && v && hmac96(c, c->send.ki, v, n, t + 2 * HDR) && cts(c, c->send.ke, 1, p, x, plen);
        free(v);
        if (ok) {
                /* Rotated right by RRC (28): the encrypted header copy and
                 * the checksum come first, then the encrypted confounder,
                 * and the data ends the token (as Windows lays it out). */
                t[6] = 0;
                t[7] = RRC_SEALED;
                memcpy(t + HDR, x + CONF + l.data_len, HDR);
                memcpy(t + 2 * HDR + CKSUM, x, CONF);
                scatter_data(d, &l, x + CONF);
                c->send_seq++;
                put_token(l.tok, t, SEALED_TOKEN);
                if (l.pad && !(l.pad->BufferType & READONLY_BITS))
                        l.pad->cbBuffer = 0;
        }
        OPENSSL_cleanse(p, plen);
        free(p);
        free(x);
        return ok ? SEC_E_OK : v ? SEC_E_INTERNAL_ERROR : SEC_E_INSUFFICIENT_MEMORY;
}

/* ---- DecryptMessage, TOKEN + DATA ---------------------------------------------- */

typedef struct IovUnwrap {
        SecBufferDesc *d;
        const Layout *l;
        const uint8_t *tok;
        size_t ec;
        uint8_t *plain; /* confounder | data | EC filler and header copy, once checked */
} IovUnwrap;

/* Heimdal's _gssapi_unwrap_cfx_iov() without a trailer: the token is the
 * header, the encrypted header copy (after EC filler), the checksum and
 * the confounder, RRC 28. */
static SECURITY_STATUS iov_sealed_check(KrbMsgState *c, void *arg) {
        IovUnwrap *u = arg;
        const uint8_t *eh = u->tok + HDR - u->ec; /* EC filler, then the header copy */
        size_t len = CONF + u->l->data_len + u->ec + HDR, n;
        uint8_t *x = malloc(len), *p = malloc(len), want[CKSUM], copy[HDR];
        Iov *v = NULL;
        bool ok;

        if (!x || !p) {
                free(x);
                free(p);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        memcpy(x, u->tok + SEALED_TOKEN - CONF, CONF);
        gather_data(u->d, u->l, x + CONF);
        memcpy(x + CONF + u->l->data_len, eh, u->ec + HDR);
        ok = cts(c, c->recv.ke, 0, x, p, len);
        if (ok) {
                v = checksum_parts(u->d, u->l, p + CONF, (Iov) { p, CONF }, (Iov) { p + len - HDR - u->ec, u->ec + HDR },
                                   &n);
                ok = v && hmac96(c, c->recv.ki, v, n, want) && CRYPTO_memcmp(want, u->tok + 2 * HDR, CKSUM) == 0;
        }
        free(v);
        free(x);
        if (ok) {
                /* The header copy, RRC excepted (it is not protected). */
                memcpy(copy, p + len - HDR, HDR);
                copy[6] = u->tok[6];
                copy[7] = u->tok[7];
                ok = CRYPTO_memcmp(copy, u->tok, HDR) == 0;
        }
        OPENSSL_cleanse(want, sizeof(want));
        if (!ok) {
                OPENSSL_cleanse(p, len);
                free(p);
                return SEC_E_MESSAGE_ALTERED;
        }
        u->plain = p;
        return SEC_E_OK;
}

static SECURITY_STATUS iov_signed_check(KrbMsgState *c, void *arg) {
        IovUnwrap *u = arg;
        uint8_t h[HDR], want[CKSUM];
        size_t n;
        Iov *v;
        bool ok;

        if (u->ec != CKSUM)
                return SEC_E_MESSAGE_ALTERED;
        memcpy(h, u->tok, HDR);
        memset(h + 4, 0, 4);
        v = checksum_parts(u->d, u->l, NULL, (Iov) {}, (Iov) { h, HDR }, &n);
        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        ok = hmac96(c, c->recv.kc_seal, v, n, want) && CRYPTO_memcmp(want, u->tok + HDR, CKSUM) == 0;
        free(v);
        OPENSSL_cleanse(want, sizeof(want));
        return ok ? SEC_E_OK : SEC_E_MESSAGE_ALTERED;
}

static SECURITY_STATUS unseal_token(KrbMsgState *c, SecBufferDesc *d, ULONG *pfQOP) {
        SecBuffer *tok = msg_find(d, SECBUFFER_TOKEN);
        const uint8_t *t;
        size_t len, ec, rrc;
        bool sealed;
        IovUnwrap u;
        Layout l;
        SECURITY_STATUS st;

        if (!tok || msg_blen(tok) < 2)
                return SEC_E_INVALID_TOKEN;
        t = tok->pvBuffer;
        len = tok->cbBuffer;
        st = layout(d, &l);
        if (st != SEC_E_OK)
                return st;
        /* Only RFC 4121 tokens for this context; the short or foreign
         * ones are what Heimdal calls defective. */
        if (len < HDR || t[0] != 0x05 || t[1] != 0x04)
                return SEC_E_INVALID_TOKEN;
        sealed = t[2] & F_SEALED;
        ec = (size_t) t[4] << 8 | t[5];
        rrc = (size_t) t[6] << 8 | t[7];
        /* The sizes Heimdal insists on without a trailer buffer (it
         * checks them after recording the number; a failed call here
         * records nothing). */
        if (sealed ? ec > HDR || rrc != RRC_SEALED || len != SEALED_TOKEN : rrc != ec || len != HDR + ec)
                return SEC_E_INVALID_TOKEN;
        u = (IovUnwrap) { d, &l, t, ec, NULL };
        st = receive(c, t, true, sealed ? iov_sealed_check : iov_signed_check, &u);
        if (st == SEC_E_OK) {
                if (sealed) {
                        uint8_t *p = u.plain;
                        size_t plen = CONF + l.data_len + ec + HDR;

                        scatter_data(d, &l, p + CONF);
                        /* The daemon path hands back the TOKEN as Heimdal
                         * left it: header copy and confounder decrypted. */
                        if (!(tok->BufferType & READONLY_BITS)) {
                                uint8_t *w = tok->pvBuffer, rrc_bytes[2] = { t[6], t[7] };
                                memcpy(w + HDR - ec, p + plen - HDR - ec, ec + HDR);
                                memcpy(w + HDR + 6, rrc_bytes, 2);
                                memcpy(w + SEALED_TOKEN - CONF, p, CONF);
                        }
                } else if (!(tok->BufferType & READONLY_BITS))
                        memset((uint8_t *) tok->pvBuffer + 4, 0, 4); /* Heimdal zeroes EC and RRC */
                if (pfQOP)
                        *pfQOP = sealed ? 0 : SECQOP_WRAP_NO_ENCRYPT;
        }
        if (u.plain) {
                OPENSSL_cleanse(u.plain, CONF + l.data_len + ec + HDR);
                free(u.plain);
        }
        return st;
}

/* ---- DecryptMessage, SECBUFFER_STREAM ------------------------------------------ */

typedef struct StreamUnwrap {
        const uint8_t *tok;
        size_t len, ec, rrc;
        uint8_t *plain; /* the data, once checked */
        size_t plain_len;
} StreamUnwrap;

/* Heimdal's _gssapi_unwrap_cfx(): the body unrotated by RRC, then
 * decrypted (confounder | data | EC filler | header copy) or checked
 * (data | checksum of EC bytes). */
static SECURITY_STATUS stream_check(KrbMsgState *c, void *arg) {
        StreamUnwrap *s = arg;
        size_t body = s->len - HDR, r = body ? s->rrc % body : 0;
        uint8_t *u = malloc(body + HDR + 1), *p = NULL, want[CKSUM];
        size_t p_len = 0;
        SECURITY_STATUS st = SEC_E_MESSAGE_ALTERED;

        if (!u)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(u, s->tok + HDR + r, body - r);
        memcpy(u + body - r, s->tok + HDR, r);
        if (s->tok[2] & F_SEALED) {
                uint8_t copy[HDR];
                size_t elen;

                /* krb5_decrypt(): confounder and data, then the checksum. */
                if (body < CKSUM + CONF)
                        goto out;
                elen = body - CKSUM;
                p_len = elen;
                p = malloc(elen);
                if (!p) {
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                if (!cts(c, c->recv.ke, 0, u, p, elen) ||
                    !hmac96(c, c->recv.ki, &(Iov) { p, elen }, 1, want) ||
                    CRYPTO_memcmp(want, u + elen, CKSUM) != 0 || elen - CONF < s->ec + HDR)
                        goto out;
                memcpy(copy, p + elen - HDR, HDR);
                copy[6] = s->tok[6];
                copy[7] = s->tok[7];
                if (CRYPTO_memcmp(copy, s->tok, HDR) != 0)
                        goto out;
                s->plain_len = elen - CONF - s->ec - HDR;
                memmove(p, p + CONF, s->plain_len);
        } else {
                uint8_t h[HDR];

                if (body < s->ec || s->ec != CKSUM)
                        goto out;
                memcpy(h, s->tok, HDR);
                memset(h + 4, 0, 4);
                if (!hmac96(c, c->recv.kc_seal, (Iov[]) { { u, body - s->ec }, { h, HDR } }, 2, want) ||
                    CRYPTO_memcmp(want, u + body - s->ec, CKSUM) != 0)
                        goto out;
                s->plain_len = body - s->ec;
                p_len = s->plain_len;
                p = malloc(s->plain_len + 1);
                if (!p) {
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                memcpy(p, u, s->plain_len);
        }
        s->plain = p;
        p = NULL;
        st = SEC_E_OK;
out:
        OPENSSL_cleanse(want, sizeof(want));
        OPENSSL_cleanse(u, body);
        free(u);
        if (p) {
                OPENSSL_cleanse(p, p_len);
                free(p);
        }
        return st;
}

/* Where the plaintext lay in the token, so that DATA points there as on
 * Windows, which decrypts in place (kerberos-message.c
 * stream_data_offset(): the unrotated body starts with the data, after
 * the confounder when sealed). */
static size_t stream_data_offset(const uint8_t *p, size_t len, size_t plain) {
        size_t body = len - HDR, rrc = (size_t) p[6] << 8 | p[7], pos, off;

        pos = body ? ((p[2] & F_SEALED ? CONF : 0) + rrc) % body : 0;
        off = pos + plain <= body ? HDR + pos : HDR;
        return off + plain <= len ? off : len - plain;
}

static SECURITY_STATUS unseal_stream(KrbMsgState *c, SecBufferDesc *d, SecBuffer *stream, ULONG *pfQOP) {
        SecBuffer *data = msg_find(d, SECBUFFER_DATA);
        StreamUnwrap s;
        const uint8_t *t = stream->pvBuffer;
        size_t off;
        SECURITY_STATUS st;

        /* The plaintext goes into the stream: a read-only one is refused. */
        if (!data || data->BufferType != SECBUFFER_DATA || stream->BufferType != SECBUFFER_STREAM ||
            msg_find(d, SECBUFFER_TOKEN))
                return SEC_E_INVALID_TOKEN;
        if (msg_blen(stream) < HDR || t[0] != 0x05 || t[1] != 0x04)
                return SEC_E_INVALID_TOKEN;
        s = (StreamUnwrap) { t, stream->cbBuffer, (size_t) t[4] << 8 | t[5], (size_t) t[6] << 8 | t[7], NULL, 0 };
        st = receive(c, t, true, stream_check, &s);
        if (st == SEC_E_OK) {
                off = stream_data_offset(t, s.len, s.plain_len);
                if (s.plain_len)
                        memmove((uint8_t *) stream->pvBuffer + off, s.plain, s.plain_len);
                data->pvBuffer = (uint8_t *) stream->pvBuffer + off;
                data->cbBuffer = (uint32_t) s.plain_len;
                if (pfQOP)
                        *pfQOP = (t[2] & F_SEALED) ? 0 : SECQOP_WRAP_NO_ENCRYPT;
        }
        if (s.plain) {
                OPENSSL_cleanse(s.plain, s.plain_len);
                free(s.plain);
        }
        return st;
}

static SECURITY_STATUS unseal(KrbMsgState *c, SecBufferDesc *d, ULONG *pfQOP) {
        SecBuffer *stream = msg_find(d, SECBUFFER_STREAM);

        return stream ? unseal_stream(c, d, stream, pfQOP) : unseal_token(c, d, pfQOP);
}

SECURITY_STATUS krb_msg(KrbMsgState *c, MsgOp op, uint32_t qop, SecBufferDesc *d, ULONG *pfQOP) {
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
