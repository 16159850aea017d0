/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * SPNEGO (RFC 4178) tokens: a bounded DER reader and writer for exactly
 * the structures Negotiate needs. Every length is checked against the
 * bytes that remain before it is used; nothing here allocates while
 * parsing (results point into the input).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPNEGO_MAX_MECHS 8

enum {
        SPNEGO_ACCEPT_COMPLETED = 0,
        SPNEGO_ACCEPT_INCOMPLETE = 1,
        SPNEGO_REJECT = 2,
        SPNEGO_REQUEST_MIC = 3,
        SPNEGO_NO_STATE = -1,
};

typedef struct SpnegoBytes {
        const uint8_t *p;
        size_t len;
} SpnegoBytes;

/* DER of the mechanism OIDs (tag, length and value). */
extern const SpnegoBytes spnego_oid_krb5, spnego_oid_krb5_ms, spnego_oid_ntlm;

typedef struct SpnegoToken {
        bool init;                          /* NegTokenInit, else NegTokenResp */
        /* NegTokenInit */
        SpnegoBytes mech_types;             /* the whole MechTypeList DER, for the MIC */
        SpnegoBytes mechs[SPNEGO_MAX_MECHS];/* each OID's DER */
        size_t n_mechs;
        /* NegTokenResp */
        int state;                          /* SPNEGO_* or SPNEGO_NO_STATE */
        SpnegoBytes supported;              /* OID DER, len 0 if absent */
        /* both */
        SpnegoBytes token;                  /* mechToken / responseToken */
        SpnegoBytes mic;
} SpnegoToken;

/*
 * Parse an InitialContextToken carrying a NegTokenInit, or a bare
 * NegTokenInit/NegTokenResp ([0]/[1]). 0 or -EBADMSG. More than
 * SPNEGO_MAX_MECHS mechanisms: the rest are ignored.
 */
int spnego_parse(const uint8_t *p, size_t len, SpnegoToken *ret) __attribute__((warn_unused_result));

/* True when `oid` (DER) equals one of the two Kerberos OIDs. */
bool spnego_is_krb5(SpnegoBytes oid);
bool spnego_oid_eq(SpnegoBytes a, SpnegoBytes b);

/* Encoders: malloc()ed DER in *ret / *ret_len. 0 or -ENOMEM. */
int spnego_mech_list(const SpnegoBytes *mechs, size_t n, uint8_t **ret, size_t *ret_len)
        __attribute__((warn_unused_result));
int spnego_encode_init(SpnegoBytes mech_types, SpnegoBytes token, uint8_t **ret, size_t *ret_len)
        __attribute__((warn_unused_result));
int spnego_encode_resp(int state, SpnegoBytes supported, SpnegoBytes token, SpnegoBytes mic, uint8_t **ret,
                       size_t *ret_len) __attribute__((warn_unused_result));
