/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * message-protection = caller (issue 14): what a completed context hands
 * the client library so that MakeSignature, VerifySignature,
 * EncryptMessage and DecryptMessage run in the caller's process, as
 * Windows' user-mode half of a package does (SpInitUserModeContext). Only
 * per-message state travels, never a long-term secret: a package that
 * cannot hand over less than that for a context answers
 * SEC_E_UNSUPPORTED_FUNCTION and that context stays on the daemon path.
 */

#include <stdbool.h>
#include <stdint.h>

#define PKG_MSG_NTLM 1
#define PKG_MSG_KERBEROS 2
#define PKG_MSG_TLS 3

/* Kerberos: keys per direction (Ke, Ki, Kc of the seal usage, Kc of the
 * sign usage), each up to 32 bytes (AES-256). */
#define PKG_MSG_KRB_KEYS 4
#define PKG_MSG_KRB_KEY_MAX 32
#define PKG_MSG_KRB_WINDOW 20

typedef struct PkgMsgKeys {
        uint32_t mech; /* PKG_MSG_* */
        /* NTLM (MS-NLMP 3.4): NegotiateFlags, per-direction signing key,
         * RC4 state (s[256], i, j) and next sequence number. */
        uint32_t flags;
        uint8_t send_sign[16], recv_sign[16];
        uint8_t send_rc4[258], recv_rc4[258];
        uint32_t send_seq, recv_seq;
        /* Kerberos (RFC 4121, AES-CTS-HMAC-SHA1-96; kerberos-export-keys.c):
         * `flags` holds the token flags this side sends (sent-by-acceptor,
         * acceptor-subkey), send_seq the next sequence number, recv_seq
         * the first one of the receive window. Never the context key: only
         * the keys RFC 3961 derives from it for the four GSS usages
         * (22-25), which can neither be turned back into it nor encrypt
         * or sign anything else (authenticators, tickets, KDC messages). */
        uint32_t enctype;
        uint32_t key_len;
        uint8_t krb_send[PKG_MSG_KRB_KEYS * PKG_MSG_KRB_KEY_MAX];
        uint8_t krb_recv[PKG_MSG_KRB_KEYS * PKG_MSG_KRB_KEY_MAX];
        /* Heimdal's receive window (lib/gssapi/krb5/sequence.c) as it
         * stands: GSS_C_REPLAY_FLAG|GSS_C_SEQUENCE_FLAG, its length and
         * its elements. */
        uint32_t order_flags;
        uint32_t window_len;
        uint32_t window[PKG_MSG_KRB_WINDOW];
        /* Schannel (schannel-caller.c, proto/tlsrec.h): each direction's
         * record key and IV and next 64-bit sequence number; `paused`: the
         * library is to hold nothing for now (its calls come here). From
         * the library: the two numbers only. */
        uint16_t tls_version;
        uint8_t tls_cipher, tls_key_len;
        uint8_t tls_send_key[32], tls_send_iv[12], tls_recv_key[32], tls_recv_iv[12];
        uint64_t tls_send_seq, tls_recv_seq;
        bool tls_paused;
} PkgMsgKeys;
