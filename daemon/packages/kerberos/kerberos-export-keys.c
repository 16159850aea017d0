/* SPDX-License-Identifier: MIT */
/*
 * Kerberos's per-message state for message-protection = caller (issue
 * 14): what client-lib/msg-krb5.c needs to produce and check the RFC 4121
 * tokens Heimdal would, and nothing more.
 *
 * The key: Heimdal's token key (the acceptor subkey when the acceptor
 * sent one, else the initiator's subkey, else the ticket session key) is
 * never handed over. Windows gives its user-mode package the key itself;
 * here only the keys RFC 3961 derives from it for the four GSS token
 * usages travel (Ke and Ki of the seal usage, Kc of the seal and of the
 * sign usage, per direction). They cannot be turned back into the key
 * (each is AES under it) and are good for nothing but these tokens: no
 * authenticator, AP-REP, KRB-CRED or ticket can be made or read with them,
 * which matters when the token key is the ticket session key.
 *
 * What stays on the daemon path (SEC_E_UNSUPPORTED_FUNCTION): RFC 1964 /
 * 4757 contexts (RC4, DES), enctypes other than aes128/aes256-cts-hmac-
 * sha1-96, DCE style, and a context whose receive window no longer is
 * what kerberos-noap.c, the handshake or an import left (a Negotiate
 * mechListMIC that reached it, a message the daemon checked).
 *
 * Export and import (ExportCtxReq.keys): once the library ran a
 * context's messages, the daemon's Heimdal context still has the
 * sequence numbers of the handshake. The library sends its own with the
 * export; kerberos_msg_keys_update() writes them into the Heimdal context
 * before it is exported, so that the importer, in either mode, goes on
 * where the exporter stopped.
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-private.h"
#include "packages/msg-keys.h"

#include <pthread.h>

#include <openssl/evp.h>

/* Heimdal's lucid context v1 (big-endian words): version, initiate,
 * endtime, send_seq (hi, lo), recv_seq (hi, lo), protocol (1: RFC 4121),
 * have_acceptor_subkey, then the keys (not read here). */
#define LUCID_WORDS 9
#define CFX_SENT_BY_ACCEPTOR 0x01
#define CFX_ACCEPTOR_SUBKEY 0x04
#define ETYPE_AES128_SHA1 17
#define ETYPE_AES256_SHA1 18

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static bool lucid_words(KrbCtx *c, uint32_t w[LUCID_WORDS]) {
        gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
        OM_uint32 major, minor;
        bool ok;

        major = gss_inquire_sec_context_by_oid(&minor, c->gss, GSS_KRB5_EXPORT_LUCID_CONTEXT_V1_X, &set);
        ok = !GSS_ERROR(major) && set && set->count == 1 && set->elements[0].length >= 4 * LUCID_WORDS;
        if (ok)
                for (size_t i = 0; i < LUCID_WORDS; i++)
                        w[i] = be32((const uint8_t *) set->elements[0].value + 4 * i);
        if (set)
                for (size_t i = 0; i < set->count; i++)
                        explicit_bzero(set->elements[i].value, set->elements[i].length);
        (void) gss_release_buffer_set(&minor, &set);
        return ok;
}

/* The context's token key (the acceptor's subkey, else the initiator's,
 * else the ticket's session key) as Heimdal's GSS_KRB5_GET_SUBKEY_X gives
 * it: a krb5_storage with the keyblock (lib/krb5/store.c
 * krb5_store_keyblock: 16-bit keytype, 32-bit length, the bytes; big
 * endian). Read here rather than with gsskrb5_get_subkey(), which makes
 * and frees a whole krb5_context, krb5.conf parsed again, on every call
 * (a tenth of the daemon's time in a Kerberos handshake loop). False when
 * the answer is not of that shape or not an AES key. */
static bool token_key(KrbCtx *c, uint32_t *ret_type, uint8_t key[32], size_t *ret_len) {
        gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
        OM_uint32 major, minor;
        const uint8_t *p;
        size_t len = 0;
        bool ok;

        major = gss_inquire_sec_context_by_oid(&minor, c->gss, GSS_KRB5_GET_SUBKEY_X, &set);
        ok = !GSS_ERROR(major) && set && set->count == 1 && set->elements[0].length >= 6;
        if (ok) {
                p = set->elements[0].value;
                *ret_type = (uint32_t) p[0] << 8 | p[1];
                len = be32(p + 2);
                ok = (len == 16 || len == 32) && set->elements[0].length == 6 + len &&
                     ((*ret_type == ETYPE_AES128_SHA1 && len == 16) || (*ret_type == ETYPE_AES256_SHA1 && len == 32));
                if (ok) {
                        memcpy(key, p + 6, len);
                        *ret_len = len;
                }
        }
        if (set)
                for (size_t i = 0; i < set->count; i++)
                        explicit_bzero(set->elements[i].value, set->elements[i].length);
        (void) gss_release_buffer_set(&minor, &set);
        return ok;
}

/* RFC 3961 5.1: n-fold of `in` to `out_len` bytes — the input repeated,
 * each copy rotated right by 13 bits more than the one before, to the
 * least common multiple of both lengths, then added in out_len-byte
 * blocks with end-around carry (ones' complement addition). */
void krb_n_fold(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len) {
        size_t a = in_len, b = out_len, lcm, bits = 8 * in_len;
        unsigned carry = 0;

        while (b) {
                size_t t = a % b;
                a = b;
                b = t;
        }
        lcm = in_len / a * out_len;
        memset(out, 0, out_len);
        /* From the last byte of the lcm-long string to the first. */
        for (size_t i = lcm; i-- > 0;) {
                size_t copy = i / in_len, pos = i % in_len;
                /* Bit 0 of this byte is bit `first` of the input rotated
                 * right by 13 * copy: take 8 bits from there. */
                size_t first = (8 * pos + bits - (13 * copy) % bits) % bits;
                unsigned v = 0;
                for (unsigned k = 0; k < 8; k++) {
                        size_t bit = (first + k) % bits;
                        v = v << 1 | ((in[bit / 8] >> (7 - bit % 8)) & 1);
                }
                carry += v + out[i % out_len];
                out[i % out_len] = (uint8_t) carry;
                carry >>= 8;
        }
        /* The end-around carry. */
        while (carry) {
                for (size_t i = out_len; i-- > 0 && carry;) {
                        carry += out[i];
                        out[i] = (uint8_t) carry;
                        carry >>= 8;
                }
        }
}

/*
 * DK(key, usage || kind) for aes128/aes256-cts-hmac-sha1-96 (RFC 3961 5.1,
 * RFC 3962): the 16-byte n-fold of the constant encrypted under the key,
 * then that block encrypted again for the second half of a 256-bit key
 * (CBC-CTS of one block with a zero IV is the block cipher itself);
 * random-to-key is the identity. One AES-ECB key schedule serves all eight
 * derivations of a key (krb_derive_msg_keys).
 */
static void fold_constant(unsigned usage, uint8_t kind, uint8_t block[16]) {
        uint8_t constant[5] = { (uint8_t) (usage >> 24), (uint8_t) (usage >> 16), (uint8_t) (usage >> 8),
                                (uint8_t) usage, kind };

        krb_n_fold(constant, sizeof(constant), block, 16);
}

/* The constants are public and few: the GSS usages 22-25 with the three
 * kinds are folded once (the bit-wise n-fold of 8 constants was a fifth
 * of the daemon's time in a Kerberos handshake). */
static const uint8_t fold_kinds[3] = { 0xAA, 0x55, 0x99 };
static uint8_t folded[4][3][16];
static pthread_once_t folded_once = PTHREAD_ONCE_INIT;

static void fold_all(void) {
        for (unsigned u = 0; u < 4; u++)
                for (unsigned k = 0; k < 3; k++)
                        fold_constant(22 + u, fold_kinds[k], folded[u][k]);
}

/* The ciphers, fetched once: EVP_aes_256_ecb() in EVP_EncryptInit_ex
 * fetches by name on every call, two thirds of the derivation's time. */
static EVP_CIPHER *ecb128, *ecb256;
static pthread_once_t ecb_once = PTHREAD_ONCE_INIT;

static void ecb_fetch(void) {
        ecb128 = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
        ecb256 = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
}

static void folded_for(unsigned usage, uint8_t kind, uint8_t block[16]) {
        int k = kind == 0xAA ? 0 : kind == 0x55 ? 1 : kind == 0x99 ? 2 : -1;

        if (usage >= 22 && usage <= 25 && k >= 0) {
                pthread_once(&folded_once, fold_all);
                memcpy(block, folded[usage - 22][k], 16);
        } else
                fold_constant(usage, kind, block);
}

/* The four keys of each direction (send: usages seal_s/sign_s): Ke, Ki
 * and Kc of the seal usage, Kc of the sign usage, from the token key
 * `key` (16 or 32 bytes). The eight folded constants go through AES-ECB
 * in one call, and for a 256-bit key the eight results once more for the
 * second halves: two cipher calls, not sixteen. */
bool krb_derive_msg_keys(const uint8_t *key, size_t n, unsigned seal_s, unsigned sign_s, unsigned seal_r,
                         unsigned sign_r, uint8_t *send, uint8_t *recv) {
        const unsigned usage[8] = { seal_s, seal_s, seal_s, sign_s, seal_r, seal_r, seal_r, sign_r };
        static const uint8_t kind[8] = { 0xAA, 0x55, 0x99, 0x99, 0xAA, 0x55, 0x99, 0x99 };
        uint8_t in[8 * 16], first[8 * 16], second[8 * 16];
        EVP_CIPHER_CTX *e;
        int len = 0;
        bool ok;

        if (n != 16 && n != 32)
                return false;
        for (size_t i = 0; i < 8; i++)
                folded_for(usage[i], kind[i], in + 16 * i);
        pthread_once(&ecb_once, ecb_fetch);
        e = EVP_CIPHER_CTX_new();
        ok = e && (n == 16 ? ecb128 : ecb256) &&
             EVP_EncryptInit_ex(e, n == 16 ? ecb128 : ecb256, NULL, key, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(e, 0) == 1 && EVP_EncryptUpdate(e, first, &len, in, sizeof(in)) == 1 &&
             len == (int) sizeof(first) &&
             (n == 16 || (EVP_EncryptUpdate(e, second, &len, first, sizeof(first)) == 1 && len == (int) sizeof(second)));
        EVP_CIPHER_CTX_free(e); /* clears the key schedule */
        if (ok)
                for (size_t i = 0; i < 8; i++) {
                        uint8_t *out = (i < 4 ? send : recv) + (i % 4) * n;

                        memcpy(out, first + 16 * i, 16);
                        if (n == 32)
                                memcpy(out + 16, second + 16 * i, 16);
                }
        explicit_bzero(first, sizeof(first));
        explicit_bzero(second, sizeof(second));
        return ok;
}

SECURITY_STATUS kerberos_msg_keys(void *ctx, PkgMsgKeys *out) {
        KrbCtx *c = ctx;
        krb5_context k = krb_context();
        uint32_t w[LUCID_WORDS] = { 0 }, keytype = 0;
        uint8_t key[32];
        size_t key_len = 0;
        OM_uint32 major, minor, gflags = 0;
        int locally_initiated = 0;
        bool ok;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (!k || c->recv_unknown)
                return SEC_E_UNSUPPORTED_FUNCTION;
        major = gss_inquire_context(&minor, c->gss, NULL, NULL, NULL, NULL, &gflags, &locally_initiated, NULL);
        if (GSS_ERROR(major) || (gflags & GSS_C_DCE_STYLE) || !locally_initiated != !c->initiator)
                return SEC_E_UNSUPPORTED_FUNCTION;
        /* Version 1, RFC 4121, 32-bit sequence numbers. */
        if (!lucid_words(c, w) || w[0] != 1 || !w[1] != !c->initiator || w[3] != 0 || w[5] != 0 || w[7] != 1)
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (!token_key(c, &keytype, key, &key_len))
                return SEC_E_UNSUPPORTED_FUNCTION;
        *out = (PkgMsgKeys) {
                .mech = PKG_MSG_KERBEROS,
                .flags = (c->initiator ? 0 : CFX_SENT_BY_ACCEPTOR) | (w[8] ? CFX_ACCEPTOR_SUBKEY : 0),
                .send_seq = w[4],
                .recv_seq = w[6],
                .enctype = keytype,
                .key_len = (uint32_t) key_len,
                .order_flags = gflags & (GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG),
        };
        /* The window as Heimdal's _gssapi_msg_order_create() left it
         * (element 0 one before the first number, the rest zero), or
         * with the one number kerberos-noap.c showed it, or as an
         * imported context's token carried it. */
        out->window_len = c->recv_primed ? 1 : 0;
        out->window[0] = c->recv_primed ? c->recv_primed_seq : w[6] - 1;
        if (c->recv_window_set) {
                out->order_flags = c->recv_win_flags;
                out->recv_seq = c->recv_win_first;
                out->window_len = c->recv_win_len;
                memcpy(out->window, c->recv_win, sizeof(out->window));
        }
        ok = krb_derive_msg_keys(key, key_len,
                                 c->initiator ? KRB5_KU_USAGE_INITIATOR_SEAL : KRB5_KU_USAGE_ACCEPTOR_SEAL,
                                 c->initiator ? KRB5_KU_USAGE_INITIATOR_SIGN : KRB5_KU_USAGE_ACCEPTOR_SIGN,
                                 c->initiator ? KRB5_KU_USAGE_ACCEPTOR_SEAL : KRB5_KU_USAGE_INITIATOR_SEAL,
                                 c->initiator ? KRB5_KU_USAGE_ACCEPTOR_SIGN : KRB5_KU_USAGE_INITIATOR_SIGN,
                                 out->krb_send, out->krb_recv);
        explicit_bzero(key, sizeof(key));
        if (!ok) {
                explicit_bzero(out, sizeof(*out));
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
        return SEC_E_OK;
}

/* ---- Heimdal's exported context (export/import of message state) ---- */

/*
 * gss_export_sec_context() of the Heimdal Debian ships (7.8, a 2022
 * snapshot of master; lib/gssapi/mech/gss_export_sec_context.c and
 * lib/gssapi/krb5/export_sec_context.c): a 2-byte mechanism OID length
 * and the OID, then the krb5 context in a krb5_storage of big-endian
 * words: which optional fields follow, the auth context's flags, the
 * local and remote addresses (if flagged), the two ports (16 bits), the
 * keyblock and the two subkeys (if flagged), the local (send) and remote
 * sequence numbers, ..., and last the receive window: flags, start,
 * length, jitter window (20), first_seq and the 20 elements.
 */
#define SC_LOCAL_ADDRESS 0x01
#define SC_REMOTE_ADDRESS 0x02
#define SC_KEYBLOCK 0x04
#define SC_LOCAL_SUBKEY 0x08
#define SC_REMOTE_SUBKEY 0x10
#define ORDER_WORDS (5 + KRB_RECV_WINDOW)

static void put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

/* Where the send sequence number and the window are in `tok`. Reads the
 * fields before them with Heimdal's own getters; false on any surprise
 * (another layout: the context then keeps the daemon path). */
static bool token_layout(const uint8_t *tok, size_t len, size_t *ret_seq, size_t *ret_order) {
        krb5_context k = krb_context();
        krb5_storage *sp;
        size_t off, oid_len;
        int32_t flags, ac_flags;
        int16_t port;
        off_t pos = -1;
        bool ok = true;

        if (!k || len < 2)
                return false;
        oid_len = (size_t) tok[0] << 8 | tok[1];
        if (len < 2 + oid_len + 4 * ORDER_WORDS)
                return false;
        off = 2 + oid_len;
        sp = krb5_storage_from_readonly_mem(tok + off, len - off);
        if (!sp)
                return false;
        krb5_storage_set_byteorder(sp, KRB5_STORAGE_BYTEORDER_BE);
        ok = krb5_ret_int32(sp, &flags) == 0 && krb5_ret_int32(sp, &ac_flags) == 0 &&
             !(flags & ~(int32_t) (SC_LOCAL_ADDRESS | SC_REMOTE_ADDRESS | SC_KEYBLOCK | SC_LOCAL_SUBKEY |
                                   SC_REMOTE_SUBKEY));
        for (int32_t f = SC_LOCAL_ADDRESS; ok && f <= SC_REMOTE_ADDRESS; f <<= 1) {
                krb5_address a;

                if (!(flags & f))
                        continue;
                ok = krb5_ret_address(sp, &a) == 0;
                if (ok)
                        krb5_free_address(k, &a);
        }
        ok = ok && krb5_ret_int16(sp, &port) == 0 && krb5_ret_int16(sp, &port) == 0;
        for (int32_t f = SC_KEYBLOCK; ok && f <= SC_REMOTE_SUBKEY; f <<= 1) {
                krb5_keyblock kb;

                if (!(flags & f))
                        continue;
                ok = krb5_ret_keyblock(sp, &kb) == 0;
                if (ok)
                        krb5_free_keyblock_contents(k, &kb); /* zeroes it */
        }
        if (ok)
                pos = krb5_storage_seek(sp, 0, SEEK_CUR);
        krb5_storage_free(sp);
        if (!ok || pos < 0)
                return false;
        *ret_seq = off + (size_t) pos;
        *ret_order = len - 4 * ORDER_WORDS;
        /* The two sequence numbers lie before the window, whose jitter
         * window is the one Heimdal always makes. */
        return *ret_seq + 8 <= *ret_order && be32(tok + *ret_order + 12) == KRB_RECV_WINDOW &&
               be32(tok + *ret_order + 8) <= KRB_RECV_WINDOW;
}

void krb_window_from_token(KrbCtx *c, const uint8_t *tok, size_t len) {
        size_t seq, order;

        c->recv_primed = false;
        c->recv_window_set = token_layout(tok, len, &seq, &order);
        c->recv_unknown = !c->recv_window_set;
        if (!c->recv_window_set)
                return;
        c->recv_win_flags = be32(tok + order);
        c->recv_win_len = be32(tok + order + 8);
        c->recv_win_first = be32(tok + order + 16);
        for (size_t i = 0; i < KRB_RECV_WINDOW; i++)
                c->recv_win[i] = be32(tok + order + 20 + 4 * i);
}

SECURITY_STATUS kerberos_msg_keys_update(void *ctx, const PkgMsgKeys *s) {
        KrbCtx *c = ctx;
        gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
        OM_uint32 major, minor;
        size_t seq = 0, order = 0;
        bool ok;

        if (!c || !c->established || !c->gss)
                return SEC_E_INVALID_HANDLE;
        if (s->mech != PKG_MSG_KERBEROS || s->window_len > KRB_RECV_WINDOW)
                return SEC_E_INVALID_TOKEN;
        /* Heimdal has no call that sets a context's sequence state: it
         * goes out as a token, is written there, and comes back. */
        major = gss_export_sec_context(&minor, &c->gss, &tok);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_export_sec_context");
        ok = token_layout(tok.value, tok.length, &seq, &order);
        if (ok) {
                uint8_t *t = tok.value;

                put_be32(t + seq, s->send_seq);
                /* Heimdal's own flags and start stay; first_seq too (it
                 * never moves after the handshake). */
                put_be32(t + order + 8, s->window_len);
                for (size_t i = 0; i < KRB_RECV_WINDOW; i++)
                        put_be32(t + order + 20 + 4 * i, s->window[i]);
        }
        major = gss_import_sec_context(&minor, &tok, &c->gss);
        if (!GSS_ERROR(major))
                krb_window_from_token(c, tok.value, tok.length);
        explicit_bzero(tok.value, tok.length);
        (void) gss_release_buffer(&minor, &tok);
        if (GSS_ERROR(major)) {
                /* Exported, so gone: the handle answers INVALID_HANDLE. */
                c->gss = GSS_C_NO_CONTEXT;
                c->established = false;
                return krb_status_gss(KRB_OP_QUERY, major, minor, "gss_import_sec_context");
        }
        return ok ? SEC_E_OK : SEC_E_UNSUPPORTED_FUNCTION;
}
