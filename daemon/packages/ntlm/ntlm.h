/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The NTLM package (MS-NLMP): NTLMv2 with extended session security, key
 * exchange, MIC and 128-bit keys. provider_ntlm is what the daemon sees;
 * the primitives below are shared between ntlm-*.c (messages and the
 * provider), ntlm-crypto.c (the key schedule) and the unit test, which
 * checks them against the MS-NLMP §4.2 test vectors.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packages/provider.h"

extern const Provider provider_ntlm;
/* False for an outbound credential acquired without a password (it fails
 * at InitializeSecurityContext): Negotiate does not offer NTLM with it. */
bool ntlm_cred_has_secret(void *cred);

#define NTLM_MAX_TOKEN 2888
#define NTLM_SIG_SIZE 16

/* NegotiateFlags (MS-NLMP 2.2.2.5). */
#define NTLMSSP_NEGOTIATE_UNICODE                 0x00000001U
#define NTLMSSP_NEGOTIATE_OEM                     0x00000002U
#define NTLMSSP_REQUEST_TARGET                    0x00000004U
#define NTLMSSP_NEGOTIATE_SIGN                    0x00000010U
#define NTLMSSP_NEGOTIATE_SEAL                    0x00000020U
#define NTLMSSP_NEGOTIATE_DATAGRAM                0x00000040U
#define NTLMSSP_NEGOTIATE_LM_KEY                  0x00000080U
#define NTLMSSP_NEGOTIATE_NTLM                    0x00000200U
#define NTLMSSP_NEGOTIATE_ANONYMOUS               0x00000800U
#define NTLMSSP_NEGOTIATE_ALWAYS_SIGN             0x00008000U
#define NTLMSSP_TARGET_TYPE_DOMAIN                0x00010000U
#define NTLMSSP_TARGET_TYPE_SERVER                0x00020000U
#define NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000U
#define NTLMSSP_NEGOTIATE_IDENTIFY                0x00100000U
#define NTLMSSP_NEGOTIATE_TARGET_INFO             0x00800000U
#define NTLMSSP_NEGOTIATE_VERSION                 0x02000000U
#define NTLMSSP_NEGOTIATE_128                     0x20000000U
#define NTLMSSP_NEGOTIATE_KEY_EXCH                0x40000000U
#define NTLMSSP_NEGOTIATE_56                      0x80000000U

/* AV_PAIR ids (MS-NLMP 2.2.2.1). */
enum {
        MSV_AV_EOL = 0,
        MSV_AV_NB_COMPUTER_NAME = 1,
        MSV_AV_NB_DOMAIN_NAME = 2,
        MSV_AV_DNS_COMPUTER_NAME = 3,
        MSV_AV_DNS_DOMAIN_NAME = 4,
        MSV_AV_DNS_TREE_NAME = 5,
        MSV_AV_FLAGS = 6,
        MSV_AV_TIMESTAMP = 7,
        MSV_AV_SINGLE_HOST = 8,
        MSV_AV_TARGET_NAME = 9,
        MSV_AV_CHANNEL_BINDINGS = 10,
};
#define MSV_AV_FLAG_MIC_PRESENT 0x00000002U

/* ---- primitives (ntlm-crypto.c) ---- */
void ntlm_md4(const uint8_t *msg, size_t len, uint8_t out[16]);
void ntlm_md5(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t out[16]);
/* HMAC-MD5 over the concatenation a || b (b may be NULL). */
void ntlm_hmac_md5(const uint8_t *key, size_t klen, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                   uint8_t out[16]);

typedef struct NtlmRc4 {
        uint8_t s[256];
        uint8_t i, j;
} NtlmRc4;
void ntlm_rc4_init(NtlmRc4 *r, const uint8_t *key, size_t len);
void ntlm_rc4(NtlmRc4 *r, const uint8_t *in, uint8_t *out, size_t len);

/* UTF-8 -> UTF-16LE (malloc()ed, *ret_len bytes); upper-cases when asked
 * (ASCII and Latin-1 only, as NTOWFv2 user names in practice are).
 * Returns 0 or -EINVAL / -ENOMEM. */
int ntlm_utf16(const char *s, bool upper, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));
/* UTF-16LE -> UTF-8, malloc()ed; NULL on bad input or no memory. */
char *ntlm_utf8(const uint8_t *p, size_t len);

/* NT hash: MD4(UTF-16LE(password)). */
int ntlm_nt_hash(const uint8_t *password, size_t len, uint8_t out[16]) __attribute__((warn_unused_result));
/* NTOWFv2 = HMAC_MD5(nthash, UTF16(UPPER(user)) || UTF16(domain)). */
int ntlm_ntowfv2(const uint8_t nthash[16], const char *user, const char *domain, uint8_t out[16])
        __attribute__((warn_unused_result));

/* The four derived keys of extended session security (MS-NLMP 3.4.5). */
typedef struct NtlmKeys {
        uint8_t client_sign[16], server_sign[16];
        uint8_t client_seal[16], server_seal[16];
} NtlmKeys;
void ntlm_derive_keys(const uint8_t exported[16], NtlmKeys *ret);

/*
 * One message signature with extended session security: HMAC-MD5 over
 * seq || data[0..n), first 8 bytes, RC4-encrypted with `rc4` when key
 * exchange was negotiated. `sig` gets version 1, checksum, seq.
 */
typedef struct NtlmIov {
        const uint8_t *data;
        size_t len;
} NtlmIov;
void ntlm_signature(const uint8_t sign_key[16], NtlmRc4 *rc4, uint32_t seq, const NtlmIov *iov, size_t n,
                    uint8_t sig[NTLM_SIG_SIZE]);

/*
 * Re-key one direction's RC4 stream (sequence numbers continue): MS-SPNG
 * has the NTLM sealing state start afresh after the mechListMIC, so that
 * the MIC and the first application message use the same key stream.
 * For Negotiate only; `ctx` is an established NTLM context.
 */
void ntlm_reset_rc4(void *ctx, bool outgoing);
/* SPNEGO: the acceptor's mechListMIC took sequence number 0 of its
 * direction even when the initiator never reads it. Returns the old one. */
uint32_t ntlm_set_recv_seq(void *ctx, uint32_t seq);

/* ---- messages and store (ntlm-*.c), exposed for the unit test ---- */
typedef struct NtlmAccount {
        char *user;   /* as written in the store */
        char *domain; /* the line's domain or the store's */
        uint8_t hash[16];
        /* SHA-256 of the ASCII-uppercased user and domain: the lookup
         * compares these for every entry, in constant time. */
        uint8_t user_key[32], domain_key[32];
} NtlmAccount;

/*
 * Read an NT-hash store: "DOMAIN\user:HEX" or "user:HEX" per line, '#'
 * comments. The file must belong to the daemon's user or root and be
 * closed to group and others. 0, -EPERM (mode or owner), -EINVAL
 * (syntax), -E2BIG, or another negative errno.
 */
int ntlm_store_load(const char *path, const char *domain, NtlmAccount **ret, size_t *ret_n)
        __attribute__((warn_unused_result));

/*
 * The NTLMv2 response for the AV pairs `av` (MsvAvEOL included):
 * NtChallengeResponse = NTProofStr || temp (malloc()ed) and the session
 * base key. 0 or -ENOMEM.
 */
int ntlm_v2_response(const uint8_t ntowf[16], const uint8_t server_challenge[8], const uint8_t client_challenge[8],
                     const uint8_t timestamp[8], const uint8_t *av, size_t av_len, uint8_t **ret_resp,
                     size_t *ret_len, uint8_t ret_base_key[16]) __attribute__((warn_unused_result));
