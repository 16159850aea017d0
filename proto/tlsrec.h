/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * TLS application records with an AEAD suite (RFC 8446 5.2; RFC 5288 and
 * RFC 7905 for TLS 1.2), shared by the client library (message-protection
 * = caller: EncryptMessage / DecryptMessage of a Schannel context without
 * a daemon round trip) and the daemon (which re-numbers the records its
 * OpenSSL connection reads and writes after the library has moved the
 * sequence numbers on). libcrypto's EVP only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLSREC_AES128_GCM 1
#define TLSREC_AES256_GCM 2
#define TLSREC_CHACHA20_POLY1305 3

#define TLSREC_HEADER 5
#define TLSREC_TAG 16
#define TLSREC_MAX_PLAINTEXT 16384

/* One direction's record keys. TLS 1.2 GCM uses the first 4 bytes of `iv`
 * (the salt; the explicit nonce is the sequence number); the other
 * suites all 12 (XORed with the sequence number). */
typedef struct TlsRecKeys {
        uint16_t version; /* 0x0303 or 0x0304 */
        uint8_t cipher;   /* TLSREC_* */
        uint8_t key_len;  /* 16 or 32 */
        uint8_t key[32];
        uint8_t iv[12];
} TlsRecKeys;

/* Whether the suite and version are ones this codec implements. */
bool tlsrec_valid(const TlsRecKeys *k);
/* Bytes before the plaintext (header, TLS 1.2 GCM's explicit nonce) and
 * after it (TLS 1.3's content type, the tag). */
size_t tlsrec_header_len(const TlsRecKeys *k);
size_t tlsrec_trailer_len(const TlsRecKeys *k);

/* A record of `type` from data[0..len) (len <= 16384), encrypted in place;
 * hdr gets tlsrec_header_len() bytes, trl tlsrec_trailer_len(). 0 or -1. */
int tlsrec_seal(const TlsRecKeys *k, uint64_t seq, uint8_t type, uint8_t *hdr, uint8_t *data, size_t len,
                uint8_t *trl);

/* The whole record rec[0..rec_len) decrypted in place: *ret_type is its
 * content type (TLS 1.3: the inner one, padding taken off), the plaintext
 * rec[*ret_off .. *ret_off + *ret_len). 0; -1 when it does not
 * authenticate or is malformed (rec is then unchanged). */
int tlsrec_open(const TlsRecKeys *k, uint64_t seq, uint8_t *rec, size_t rec_len, uint8_t *ret_type, size_t *ret_off,
                size_t *ret_len);

/* After tlsrec_open(): the ciphertext back as it was (the AEADs here are
 * stream ciphers: encrypting again under the same nonce restores it). */
void tlsrec_unopen(const TlsRecKeys *k, uint64_t seq, uint8_t *rec, size_t rec_len);

/* After tlsrec_open(): the record sealed again in place as record `seq`
 * (same key, same length; TLS 1.3 padding kept): a record re-numbered. */
int tlsrec_seal_opened(const TlsRecKeys *k, uint64_t seq, uint8_t *rec, size_t rec_len);
