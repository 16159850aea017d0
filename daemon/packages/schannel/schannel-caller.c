/* SPDX-License-Identifier: MIT */
/*
 * message-protection = caller for Schannel (issue 14): a completed TLS 1.2
 * or 1.3 context with an AEAD suite hands the client library each
 * direction's record key, IV and next sequence number (never the master
 * secret or a traffic secret), and EncryptMessage / DecryptMessage of
 * application data run in the caller's process (proto/tlsrec.c).
 *
 * Everything else stays here: a record that is not application data
 * (NewSessionTicket, KeyUpdate, a certificate request, HelloRequest, a
 * renegotiating ClientHello, alerts, close_notify) comes back through
 * DecryptMessage, and ISC/ASC after completion run on the OpenSSL
 * connection as before. That connection has not seen the application
 * records the library sent and read, so its record numbers are behind the
 * wire's: the records it reads and writes under the keys the library
 * holds are re-numbered on the way in and out (the library's numbers ride
 * on each such request), until a record that changes keys (KeyUpdate,
 * ChangeCipherSpec); records under later keys need nothing, since both
 * sides start those at zero. The library then gets the new keys, derived
 * here: TLS 1.3 from the traffic secret (RFC 8446 7.2), TLS 1.2 after a
 * renegotiation from the new master secret (RFC 5246 6.3).
 *
 * OpenSSL's own numbers come from its message callback: one record header
 * per record read or written, and the key changes (ChangeCipherSpec in
 * TLS 1.2; Finished and KeyUpdate in TLS 1.3) restart them.
 */
#include "packages/schannel/schannel-private.h"

#include <openssl/core_names.h>

#include "packages/msg-keys.h"

#define SSL3_MT_KEY_UPDATE_ 24

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* SSL_CTX keylog callback: TLS 1.3's first application traffic secrets of
 * a context that hands its keys to the library. */
void sch_keylog_cb(const SSL *ssl, const char *line) {
        SchCtx *x = SSL_get_ex_data(ssl, sch_ex_index);
        const char *p;
        uint8_t *dst, tmp[48];
        size_t n = 0;

        if (!x || !x->want_keys)
                return;
        if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24))
                dst = x->c_secret;
        else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24))
                dst = x->s_secret;
        else
                return;
        p = strchr(line + 24, ' ');
        if (!p)
                return;
        for (p++; p[0] && p[1] && n < sizeof(tmp); p += 2) {
                int hi = hex_value(p[0]), lo = hex_value(p[1]);
                if (hi < 0 || lo < 0)
                        break;
                tmp[n++] = (uint8_t) (hi << 4 | lo);
        }
        if (*p == '\0' && (n == 32 || n == 48)) {
                memcpy(dst, tmp, n);
                x->secret_len = n;
        }
        OPENSSL_cleanse(tmp, sizeof(tmp));
}

/* The handshake digests, fetched once: an implicit fetch per use (and
 * EVP_KDF's HKDF, which fetches the digest by name on every derivation)
 * showed in the profile of a resumed-handshake loop. */
static EVP_MD *sha256, *sha384;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void) {
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

/* HKDF-Expand-Label(secret, label, "", len) (RFC 8446 7.1). Every output
 * here (a key, an IV, a next secret) is at most one hash long, so HKDF-
 * Expand is the single block T(1) = HMAC(secret, info || 0x01) (RFC 5869
 * 2.3), computed with the pre-fetched digest. */
static int expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len, const char *label, uint8_t *out,
                        size_t len) {
        uint8_t info[2 + 1 + 255 + 1 + 1], pad[128], t[EVP_MAX_MD_SIZE];
        size_t ll = strlen(label), n = 0, bs;
        const EVP_MD *h;
        unsigned int tl = 0;
        EVP_MD_CTX *c;
        int ok;

        pthread_once(&md_once, md_fetch);
        h = EVP_MD_get_type(md) == NID_sha256 ? sha256 : EVP_MD_get_type(md) == NID_sha384 ? sha384 : NULL;
        if (!h || 6 + ll > 255 || len > (size_t) EVP_MD_get_size(h))
                return -1;
        bs = (size_t) EVP_MD_get_block_size(h);
        if (secret_len > bs || bs > sizeof(pad))
                return -1;
        info[n++] = (uint8_t) (len >> 8);
        info[n++] = (uint8_t) len;
        info[n++] = (uint8_t) (6 + ll);
        memcpy(info + n, "tls13 ", 6);
        memcpy(info + n + 6, label, ll);
        n += 6 + ll;
        info[n++] = 0;  /* no context */
        info[n++] = 1;  /* the block counter */
        if (!(c = EVP_MD_CTX_new()))
                return -1;
        memset(pad, 0x36, bs);
        for (size_t i = 0; i < secret_len; i++)
                pad[i] ^= secret[i];
        ok = EVP_DigestInit_ex2(c, h, NULL) == 1 && EVP_DigestUpdate(c, pad, bs) == 1 &&
             EVP_DigestUpdate(c, info, n) == 1 && EVP_DigestFinal_ex(c, t, &tl) == 1;
        memset(pad, 0x5c, bs);
        for (size_t i = 0; i < secret_len; i++)
                pad[i] ^= secret[i];
        ok = ok && EVP_DigestInit_ex2(c, h, NULL) == 1 && EVP_DigestUpdate(c, pad, bs) == 1 &&
             EVP_DigestUpdate(c, t, tl) == 1 && EVP_DigestFinal_ex(c, t, &tl) == 1;
        if (ok)
                memcpy(out, t, len);
        EVP_MD_CTX_free(c);
        OPENSSL_cleanse(pad, sizeof(pad));
        OPENSSL_cleanse(t, sizeof(t));
        return ok ? 0 : -1;
}

/* The suite as tlsrec.h names it; 0 when the codec has no such suite. */
static uint8_t suite_of(SchCtx *x, uint8_t *ret_key_len) {
        const SSL_CIPHER *ci = SSL_get_current_cipher(x->ssl);

        if (!ci || !SSL_CIPHER_is_aead(ci))
                return 0;
        switch (SSL_CIPHER_get_cipher_nid(ci)) {
        case NID_aes_128_gcm:
                *ret_key_len = 16;
                return TLSREC_AES128_GCM;
        case NID_aes_256_gcm:
                *ret_key_len = 32;
                return TLSREC_AES256_GCM;
        case NID_chacha20_poly1305:
                *ret_key_len = 32;
                return TLSREC_CHACHA20_POLY1305;
        default:
                return 0;
        }
}

/* One TLS 1.3 secret's record key and IV. */
static int keys_from_secret(SchCtx *x, const uint8_t *secret, TlsRecKeys *k) {
        const EVP_MD *md = SSL_CIPHER_get_handshake_digest(SSL_get_current_cipher(x->ssl));

        if (!md || x->secret_len != (size_t) EVP_MD_get_size(md))
                return -1;
        if (expand_label(md, secret, x->secret_len, "key", k->key, k->key_len) < 0 ||
            expand_label(md, secret, x->secret_len, "iv", k->iv, 12) < 0)
                return -1;
        return 0;
}

/* secret = HKDF-Expand-Label(secret, "traffic upd", "", Hash.length). */
static void secret_update(SchCtx *x, uint8_t *secret) {
        const SSL_CIPHER *ci = SSL_get_current_cipher(x->ssl);
        const EVP_MD *md = ci ? SSL_CIPHER_get_handshake_digest(ci) : NULL;
        uint8_t next[48];

        if (!md || x->secret_len == 0 || expand_label(md, secret, x->secret_len, "traffic upd", next, x->secret_len) < 0) {
                x->secret_len = 0; /* no more keys for the library: its calls come here */
                return;
        }
        memcpy(secret, next, x->secret_len);
        OPENSSL_cleanse(next, sizeof(next));
}

/* TLS 1.2: both directions' keys from the key block (RFC 5246 6.3; an
 * AEAD suite has no MAC keys, RFC 5288 3 / RFC 7905 2). */
static int keys_tls12(SchCtx *x, TlsRecKeys *client, TlsRecKeys *server) {
        SSL_SESSION *sess = SSL_get_session(x->ssl);
        uint8_t master[SSL_MAX_MASTER_KEY_LENGTH], seed[2 * SSL3_RANDOM_SIZE], block[2 * 32 + 2 * 12];
        size_t master_len, kl = client->key_len, ivl = client->cipher == TLSREC_CHACHA20_POLY1305 ? 12 : 4;
        int r = -1;

        if (!sess)
                return -1;
        master_len = SSL_SESSION_get_master_key(sess, master, sizeof(master));
        if (master_len && SSL_get_server_random(x->ssl, seed, SSL3_RANDOM_SIZE) == SSL3_RANDOM_SIZE &&
            SSL_get_client_random(x->ssl, seed + SSL3_RANDOM_SIZE, SSL3_RANDOM_SIZE) == SSL3_RANDOM_SIZE &&
            sch_tls_prf(x, master, master_len, "key expansion", seed, sizeof(seed), block, 2 * kl + 2 * ivl) == 0) {
                memcpy(client->key, block, kl);
                memcpy(server->key, block + kl, kl);
                memcpy(client->iv, block + 2 * kl, ivl);
                memcpy(server->iv, block + 2 * kl + ivl, ivl);
                r = 0;
        }
        OPENSSL_cleanse(master, sizeof(master));
        OPENSSL_cleanse(block, sizeof(block));
        return r;
}

static bool is_tls13(const SSL *ssl) {
        return SSL_version(ssl) >= TLS1_3_VERSION;
}

/* OpenSSL's record numbers and key changes (SSL_set_msg_callback). */
static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg) {
        SchCtx *x = arg;
        const uint8_t *p = buf;
        bool change = false;

        if (content_type == SSL3_RT_HEADER) {
                if (write_p)
                        x->ossl_wseq++;
                else
                        x->ossl_rseq++;
                /* TLS 1.2: the records after a ChangeCipherSpec are under
                 * new keys (OpenSSL reports a ChangeCipherSpec it reads by
                 * its record header only). */
                if (len < 1 || p[0] != SSL3_RT_CHANGE_CIPHER_SPEC || is_tls13(ssl))
                        return;
                change = true;
        } else if (content_type == SSL3_RT_HANDSHAKE && len > 0 && is_tls13(ssl) &&
                   ((p[0] == SSL3_MT_FINISHED && !x->done) || p[0] == SSL3_MT_KEY_UPDATE_)) {
                /* (A post-handshake authentication's Finished changes no
                 * keys.) */
                change = true;
                /* A KeyUpdate moves that direction's traffic secret on. */
                if (p[0] == SSL3_MT_KEY_UPDATE_ && x->done)
                        secret_update(x, (write_p != 0) == x->server ? x->s_secret : x->c_secret);
        }
        if (!change)
                return;
        if (write_p)
                x->ossl_wseq = 0;
        else
                x->ossl_rseq = 0;
}

void sch_caller_setup(SchCtx *x, bool want_keys) {
        x->want_keys = want_keys && !x->dtls;
        if (x->want_keys) {
                SSL_set_msg_callback(x->ssl, msg_cb);
                SSL_set_msg_callback_arg(x->ssl, x);
        }
}

/* Whether the plaintext of a record changes the keys after it. */
static bool changes_keys(SchCtx *x, uint8_t type, const uint8_t *p, size_t len) {
        if (!is_tls13(x->ssl))
                return type == SSL3_RT_CHANGE_CIPHER_SPEC;
        if (type != SSL3_RT_HANDSHAKE)
                return false;
        for (size_t off = 0; off + 4 <= len; off += 4 + ((size_t) p[off + 1] << 16 | (size_t) p[off + 2] << 8 | p[off + 3]))
                if (p[off] == SSL3_MT_KEY_UPDATE_)
                        return true;
        return false;
}

/* Whole records p[0..len) about to be fed to OpenSSL: those under the
 * library's read keys, numbered as the library read them, are numbered as
 * OpenSSL expects them. */
SECURITY_STATUS sch_caller_in(SchCtx *x, uint8_t *p, size_t len) {
        for (size_t off = 0; x->caller_r && off + TLS_HEADER <= len;) {
                size_t rec = TLS_HEADER + ((size_t) p[off + 3] << 8 | p[off + 4]), poff, plen;
                uint8_t type;

                if (rec > len - off)
                        break;
                if (tlsrec_open(&x->rk, x->lib_rseq, p + off, rec, &type, &poff, &plen) < 0) {
                        /* A record that fails authentication is fatal (RFC
                         * 8446 5.2), as in OpenSSL's hands. */
                        x->dead = true;
                        x->closing = false;
                        return SEC_E_DECRYPT_FAILURE;
                }
                if (changes_keys(x, type, p + off + poff, plen))
                        x->caller_r = false;
                if (tlsrec_seal_opened(&x->rk, x->osr, p + off, rec) < 0) {
                        x->dead = true;
                        return SEC_E_INTERNAL_ERROR;
                }
                x->lib_rseq++;
                x->osr++;
                off += rec;
        }
        return SEC_E_OK;
}

/* Whole records p[0..len) OpenSSL wrote: those under the library's write
 * keys get the library's next numbers. */
SECURITY_STATUS sch_caller_out(SchCtx *x, uint8_t *p, size_t len) {
        for (size_t off = 0; x->caller_w && off + TLS_HEADER <= len;) {
                size_t rec = TLS_HEADER + ((size_t) p[off + 3] << 8 | p[off + 4]), poff, plen;
                uint8_t type;

                if (rec > len - off)
                        break;
                if (tlsrec_open(&x->wk, x->osw, p + off, rec, &type, &poff, &plen) < 0) {
                        x->dead = true;
                        return SEC_E_INTERNAL_ERROR;
                }
                if (changes_keys(x, type, p + off + poff, plen))
                        x->caller_w = false;
                if (tlsrec_seal_opened(&x->wk, x->lib_wseq, p + off, rec) < 0) {
                        x->dead = true;
                        return SEC_E_INTERNAL_ERROR;
                }
                x->lib_wseq++;
                x->osw++;
                off += rec;
        }
        return SEC_E_OK;
}

/* The keys of OpenSSL's current epoch in each direction that the library
 * does not hold yet. 0, or -1 when they cannot be had. */
static int refresh(SchCtx *x, uint8_t cipher, uint8_t key_len) {
        TlsRecKeys k = { .version = is_tls13(x->ssl) ? 0x0304 : 0x0303, .cipher = cipher, .key_len = key_len };
        /* A direction whose key change is still on its way through the
         * re-numbering (a KeyUpdate waiting in OpenSSL's output) keeps the
         * keys it has until that record has gone. */
        bool need_r = !x->caller_r, need_w = !x->caller_w;
        TlsRecKeys c = k, s = k;

        if (!need_r && !need_w)
                return 0;
        if (k.version == 0x0304) {
                if (keys_from_secret(x, x->c_secret, &c) < 0 || keys_from_secret(x, x->s_secret, &s) < 0)
                        return -1;
        } else if (keys_tls12(x, &c, &s) < 0)
                return -1;
        if (need_r) {
                x->rk = x->server ? c : s;
                x->lib_rseq = x->osr = x->ossl_rseq;
                x->caller_r = true;
        }
        if (need_w) {
                x->wk = x->server ? s : c;
                x->lib_wseq = x->osw = x->ossl_wseq;
                x->caller_w = true;
        }
        OPENSSL_cleanse(&c, sizeof(c));
        OPENSSL_cleanse(&s, sizeof(s));
        return 0;
}

SECURITY_STATUS sch_msg_keys(void *p, PkgMsgKeys *out) {
        SchCtx *x = p;
        SSL_SESSION *sess;
        uint8_t cipher, key_len = 0;

        if (!x->want_keys || x->dtls)
                return SEC_E_UNSUPPORTED_FUNCTION;
        cipher = suite_of(x, &key_len);
        sess = SSL_get_session(x->ssl);
        if (!cipher || SSL_version(x->ssl) < TLS1_2_VERSION || !sess ||
            SSL_SESSION_get_max_fragment_length(sess) != TLSEXT_max_fragment_length_DISABLED)
                return SEC_E_UNSUPPORTED_FUNCTION;
        out->mech = PKG_MSG_TLS;
        /* Mid-handshake, closed or failed: the library holds nothing and
         * its calls come here (which re-number as long as needed). */
        if (!x->done || x->reneg || x->dead || x->closing || x->peer_closed || x->shutdown ||
            refresh(x, cipher, key_len) < 0) {
                out->tls_paused = true;
                return SEC_E_OK;
        }
        out->tls_version = x->rk.version;
        out->tls_cipher = cipher;
        out->tls_key_len = key_len;
        memcpy(out->tls_send_key, x->wk.key, key_len);
        memcpy(out->tls_send_iv, x->wk.iv, 12);
        memcpy(out->tls_recv_key, x->rk.key, key_len);
        memcpy(out->tls_recv_iv, x->rk.iv, 12);
        out->tls_send_seq = x->lib_wseq;
        out->tls_recv_seq = x->lib_rseq;
        return SEC_E_OK;
}

/* The library's numbers as it moved them on since the last hand-over. It
 * can only have moved them forward, and only under the keys it holds. */
SECURITY_STATUS sch_msg_keys_update(void *p, const PkgMsgKeys *in) {
        SchCtx *x = p;

        if (in->mech != PKG_MSG_TLS || !x->want_keys)
                return SEC_E_INVALID_TOKEN;
        if ((x->caller_w && in->tls_send_seq < x->lib_wseq) || (x->caller_r && in->tls_recv_seq < x->lib_rseq))
                return SEC_E_INVALID_TOKEN;
        if (x->caller_w)
                x->lib_wseq = in->tls_send_seq;
        if (x->caller_r)
                x->lib_rseq = in->tls_recv_seq;
        return SEC_E_OK;
}
