/* SPDX-License-Identifier: MIT */
/*
 * TLS AEAD records (tlsrec.h). The nonce is the write IV XORed with the
 * sequence number (RFC 8446 5.3, RFC 7905 2), or for TLS 1.2 AES-GCM the
 * 4-byte salt followed by an 8-byte explicit nonce carried in the record
 * (RFC 5288 3), for which the sequence number serves (as OpenSSL's own
 * records are unique per key, so are these). The additional data is the
 * record header in TLS 1.3 (RFC 8446 5.2), seq_num + type + version +
 * length in TLS 1.2 (RFC 5246 6.2.3.3).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "tlsrec.h"

static EVP_CIPHER *ciphers[4];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fetch_ciphers(void) {
        ciphers[TLSREC_AES128_GCM] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
        ciphers[TLSREC_AES256_GCM] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
        ciphers[TLSREC_CHACHA20_POLY1305] = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

bool tlsrec_valid(const TlsRecKeys *k) {
        if (k->version != 0x0303 && k->version != 0x0304)
                return false;
        pthread_once(&once, fetch_ciphers);
        switch (k->cipher) {
        case TLSREC_AES128_GCM:
                return k->key_len == 16 && ciphers[k->cipher];
        case TLSREC_AES256_GCM:
        case TLSREC_CHACHA20_POLY1305:
                return k->key_len == 32 && ciphers[k->cipher];
        default:
                return false;
        }
}

static bool explicit_nonce(const TlsRecKeys *k) {
        return k->version == 0x0303 && k->cipher != TLSREC_CHACHA20_POLY1305;
}

size_t tlsrec_header_len(const TlsRecKeys *k) {
        return TLSREC_HEADER + (explicit_nonce(k) ? 8 : 0);
}

size_t tlsrec_trailer_len(const TlsRecKeys *k) {
        return TLSREC_TAG + (k->version == 0x0304 ? 1 : 0);
}

static void put64(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

static void nonce_of(const TlsRecKeys *k, uint64_t seq, uint8_t nonce[12]) {
        uint8_t s[8];

        put64(s, seq);
        if (explicit_nonce(k)) {
                memcpy(nonce, k->iv, 4);
                memcpy(nonce + 4, s, 8);
                return;
        }
        memcpy(nonce, k->iv, 12);
        for (int i = 0; i < 8; i++)
                nonce[4 + i] ^= s[i];
}

/* TLS 1.2's additional data: seq_num, type, version, plaintext length. */
static void aad12(uint64_t seq, uint8_t type, size_t len, uint8_t aad[13]) {
        put64(aad, seq);
        aad[8] = type;
        aad[9] = 3;
        aad[10] = 3;
        aad[11] = (uint8_t) (len >> 8);
        aad[12] = (uint8_t) len;
}

/* One AEAD operation over a and then b (in place); enc: the tag into
 * `tag`, else checked against it. 0, or -1. */
static int aead(const TlsRecKeys *k, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len, uint8_t *a,
                size_t a_len, uint8_t *b, size_t b_len, uint8_t *tag, int enc) {
        EVP_CIPHER_CTX *c;
        uint8_t fin[16];
        int n, ok;

        if (!tlsrec_valid(k) || !(c = EVP_CIPHER_CTX_new()))
                return -1;
        ok = EVP_CipherInit_ex2(c, ciphers[k->cipher], k->key, nonce, enc, NULL) == 1 &&
             (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TLSREC_TAG, tag) == 1) &&
             EVP_CipherUpdate(c, NULL, &n, aad, (int) aad_len) == 1 &&
             (a_len == 0 || EVP_CipherUpdate(c, a, &n, a, (int) a_len) == 1) &&
             (b_len == 0 || EVP_CipherUpdate(c, b, &n, b, (int) b_len) == 1) && EVP_CipherFinal_ex(c, fin, &n) == 1 &&
             (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TLSREC_TAG, tag) == 1);
        EVP_CIPHER_CTX_free(c); /* cleanses the key schedule */
        return ok ? 0 : -1;
}

int tlsrec_seal(const TlsRecKeys *k, uint64_t seq, uint8_t type, uint8_t *hdr, uint8_t *data, size_t len,
                uint8_t *trl) {
        uint8_t nonce[12], aad[13];
        size_t body;

        if (len > TLSREC_MAX_PLAINTEXT || !tlsrec_valid(k))
                return -1;
        nonce_of(k, seq, nonce);
        body = tlsrec_header_len(k) - TLSREC_HEADER + len + tlsrec_trailer_len(k);
        hdr[0] = k->version == 0x0304 ? 23 : type;
        hdr[1] = 3;
        hdr[2] = 3;
        hdr[3] = (uint8_t) (body >> 8);
        hdr[4] = (uint8_t) body;
        if (k->version == 0x0304) {
                trl[0] = type;
                return aead(k, nonce, hdr, TLSREC_HEADER, data, len, trl, 1, trl + 1, 1);
        }
        if (explicit_nonce(k))
                memcpy(hdr + TLSREC_HEADER, nonce + 4, 8);
        aad12(seq, type, len, aad);
        return aead(k, nonce, aad, sizeof(aad), data, len, NULL, 0, trl, 1);
}

/* The encrypted part of a whole record: rec[*ret_off .. + *ret_len), the
 * tag after it. -1 when the record cannot be one of this suite's. */
static int region(const TlsRecKeys *k, const uint8_t *rec, size_t rec_len, size_t *ret_off, size_t *ret_len) {
        size_t off = tlsrec_header_len(k), min = off + TLSREC_TAG + (k->version == 0x0304 ? 1 : 0);

        if (rec_len < min || rec_len != TLSREC_HEADER + ((size_t) rec[3] << 8 | rec[4]) ||
            rec_len - off - TLSREC_TAG > TLSREC_MAX_PLAINTEXT + 256)
                return -1;
        if (k->version == 0x0304 && rec[0] != 23)
                return -1;
        *ret_off = off;
        *ret_len = rec_len - off - TLSREC_TAG;
        return 0;
}

/* The nonce and additional data of the record at rec under `seq`. */
static size_t record_aad(const TlsRecKeys *k, uint64_t seq, const uint8_t *rec, size_t clen, uint8_t nonce[12],
                         uint8_t aad[13]) {
        if (k->version == 0x0304) {
                nonce_of(k, seq, nonce);
                memcpy(aad, rec, TLSREC_HEADER);
                return TLSREC_HEADER;
        }
        nonce_of(k, seq, nonce);
        if (explicit_nonce(k))
                memcpy(nonce + 4, rec + TLSREC_HEADER, 8); /* the peer's choice */
        aad12(seq, rec[0], clen, aad);
        return 13;
}

/* TLS 1.3: the content type is the last non-zero byte of the inner
 * plaintext (RFC 8446 5.4). */
static int inner_type(const TlsRecKeys *k, const uint8_t *rec, size_t off, size_t clen, uint8_t *ret_type,
                      size_t *ret_len) {
        if (k->version != 0x0304) {
                *ret_type = rec[0];
                *ret_len = clen;
                return 0;
        }
        while (clen > 0 && rec[off + clen - 1] == 0)
                clen--;
        if (clen == 0)
                return -1;
        *ret_type = rec[off + clen - 1];
        *ret_len = clen - 1;
        return 0;
}

int tlsrec_open(const TlsRecKeys *k, uint64_t seq, uint8_t *rec, size_t rec_len, uint8_t *ret_type, size_t *ret_off,
                size_t *ret_len) {
        uint8_t nonce[12], aad[13], scratch[TLSREC_TAG];
        size_t off, clen, aad_len;

        if (!tlsrec_valid(k) || region(k, rec, rec_len, &off, &clen) < 0)
                return -1;
        aad_len = record_aad(k, seq, rec, clen, nonce, aad);
        if (aead(k, nonce, aad, aad_len, rec + off, clen, NULL, 0, rec + off + clen, 0) < 0) {
                /* Decrypted in place before the tag was checked: undo. */
                (void) aead(k, nonce, aad, aad_len, rec + off, clen, NULL, 0, scratch, 1);
                return -1;
        }
        *ret_off = off;
        if (inner_type(k, rec, off, clen, ret_type, ret_len) < 0) {
                tlsrec_unopen(k, seq, rec, rec_len);
                return -1;
        }
        return 0;
}

void tlsrec_unopen(const TlsRecKeys *k, uint64_t seq, uint8_t *rec, size_t rec_len) {
        uint8_t nonce[12], aad[13], tag[TLSREC_TAG];
        size_t off, clen, aad_len;

        if (region(k, rec, rec_len, &off, &clen) < 0)
                return;
        aad_len = record_aad(k, seq, rec, clen, nonce, aad);
        (void) aead(k, nonce, aad, aad_len, rec + off, clen, NULL, 0, tag, 1);
}

int tlsrec_seal_opened(const TlsRecKeys *k, uint64_t seq, uint8_t *rec, size_t rec_len) {
        uint8_t nonce[12], aad[13];
        size_t off, clen, aad_len;

        if (region(k, rec, rec_len, &off, &clen) < 0)
                return -1;
        if (explicit_nonce(k))
                put64(rec + TLSREC_HEADER, seq);
        aad_len = record_aad(k, seq, rec, clen, nonce, aad);
        return aead(k, nonce, aad, aad_len, rec + off, clen, NULL, 0, rec + off + clen, 1);
}
