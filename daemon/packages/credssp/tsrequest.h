/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * MS-CSSP 2.2.1 structures: TSRequest (versions 2 to 6), TSCredentials and
 * TSPasswordCreds, a bounded DER reader and writer. Every length is checked
 * against the bytes that remain before it is used; the parsers do not
 * allocate (results point into the input). No OpenSSL, no Heimdal: the
 * fuzzer (tests/fuzz/fuzz_credssp.c) links this file alone.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSREQ_VERSION 6u      /* the highest version we speak (MS-CSSP 2.2.1) */
#define TSREQ_NONCE_LEN 32u   /* clientNonce: 32 bytes (MS-CSSP 2.2.1) */
#define TS_CRED_PASSWORD 1u   /* TSCredentials.credType: TSPasswordCreds */
#define TS_CRED_SMARTCARD 2u  /* TSSmartCardCreds */
#define TS_CRED_REMOTEGUARD 6u

typedef struct TsBytes {
        const uint8_t *p;
        size_t len;
} TsBytes;

typedef struct TsRequest {
        uint32_t version;
        bool has_nego;
        TsBytes nego_token;     /* the first negoToken of negoTokens */
        bool has_auth_info;
        TsBytes auth_info;
        bool has_pub_key_auth;
        TsBytes pub_key_auth;
        bool has_error;
        uint32_t error_code;    /* NTSTATUS or HRESULT, its 32 bits */
        bool has_nonce;
        TsBytes nonce;          /* exactly TSREQ_NONCE_LEN bytes when present */
} TsRequest;

/* The length of the DER element at the front of `p`, header included, in
 * *ret_len: 0 when it is all there, 1 when more bytes are needed (*ret_len
 * then says how many in all, when the header is complete, else 0),
 * -EBADMSG when it is not a SEQUENCE or its length is malformed or above
 * `max`. */
int tsreq_element_len(const uint8_t *p, size_t len, size_t max, size_t *ret_len) __attribute__((warn_unused_result));

/* Parse exactly one TSRequest filling all of p/len. 0 or -EBADMSG (trailing
 * bytes, a missing or negative version, a nonce of another length, more
 * than one field of a kind, an unknown context tag). */
int tsreq_parse(const uint8_t *p, size_t len, TsRequest *ret) __attribute__((warn_unused_result));
/* Encode: malloc()ed DER. 0, -ENOMEM or -EINVAL (a nonce of another length). */
int tsreq_encode(const TsRequest *r, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));

/* TSCredentials { credType, credentials }. 0 or -EBADMSG. */
int ts_creds_parse(const uint8_t *p, size_t len, uint32_t *ret_type, TsBytes *ret_creds)
        __attribute__((warn_unused_result));
/* TSPasswordCreds: the three UTF-16LE strings as bytes (even lengths). */
int ts_password_parse(const uint8_t *p, size_t len, TsBytes *ret_domain, TsBytes *ret_user, TsBytes *ret_password)
        __attribute__((warn_unused_result));
/* TSCredentials of type TS_CRED_PASSWORD around a TSPasswordCreds of these
 * UTF-16LE strings; the DER is malloc()ed and the caller wipes it. */
int ts_password_encode(TsBytes domain, TsBytes user, TsBytes password, uint8_t **ret, size_t *ret_len)
        __attribute__((warn_unused_result));
