/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * message-protection = caller (issue 14): what a completed context hands
 * the client library so that MakeSignature, VerifySignature,
 * EncryptMessage and DecryptMessage run in the caller's process, as
 * Windows' user-mode half of a package does (SpInitUserModeContext). Only
 * per-message state travels, never a long-term secret: a package that
 * cannot hand over less than that (Kerberos today) answers
 * SEC_E_UNSUPPORTED_FUNCTION and its contexts stay on the daemon path.
 */

#include <stdint.h>

#define PKG_MSG_NTLM 1

typedef struct PkgMsgKeys {
        uint32_t mech; /* PKG_MSG_* */
        /* NTLM (MS-NLMP 3.4): NegotiateFlags, per-direction signing key,
         * RC4 state (s[256], i, j) and next sequence number. */
        uint32_t flags;
        uint8_t send_sign[16], recv_sign[16];
        uint8_t send_rc4[258], recv_rc4[258];
        uint32_t send_seq, recv_seq;
} PkgMsgKeys;
