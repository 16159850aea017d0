/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Digest package (WDigest: HTTP mode, RFC 7616; SASL mode, RFC 2831). provider_digest is the
 * only thing the rest of the daemon sees; the declarations below are the
 * package's bounded parser and hashing helpers, shared with its unit test.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packages/provider.h"

extern const Provider provider_digest;

/* The hash functions RFC 7616 names; each has a "-sess" variant. */
typedef enum DigestAlg {
        DIGEST_MD5,
        DIGEST_SHA256,
        DIGEST_SHA512_256,
        N_DIGEST_ALGS,
} DigestAlg;

/* Hex digests are at most 64 characters (SHA-256, SHA-512/256). */
#define DIGEST_HEX_MAX 64

/* Largest challenge or response the package reads or writes. */
#define DIGEST_MAX_TOKEN 16384
/* The cbMaxToken WDigest reports on Windows (SecPkgInfo, SECPKG_ATTR_SIZES),
 * which callers size their token buffers by. Ordinary tokens are a few
 * hundred bytes; a longer one still fits an ALLOCATE_MEMORY output. */
#define DIGEST_PKG_MAX_TOKEN 4096

/* Parameters of a challenge or a response that the package reads. */
typedef enum DigestParam {
        DP_REALM,
        DP_NONCE,
        DP_OPAQUE,
        DP_STALE,
        DP_ALGORITHM,
        DP_QOP,
        DP_CHARSET,
        DP_USERHASH,
        DP_USERNAME,
        DP_USERNAME_EXT, /* username*= (RFC 8187 ext-value) */
        DP_URI,
        DP_RESPONSE,
        DP_CNONCE,
        DP_NC,
        DP_DOMAIN,
        DP_RSPAUTH,      /* Authentication-Info */
        DP_DIGEST_URI,   /* SASL (RFC 2831) from here on */
        DP_CIPHER,
        DP_MAXBUF,
        DP_AUTHZID,
        N_DIGEST_PARAMS,
} DigestParam;

typedef struct DigestParams {
        char *scratch; /* owns every value below */
        const char *v[N_DIGEST_PARAMS];
        size_t len[N_DIGEST_PARAMS];
} DigestParams;

/*
 * Parse `len` bytes of "Digest k=v, k="quoted", ..." (the scheme name is
 * optional). Every value is unescaped into one scratch allocation and
 * NUL-terminated. Returns 0, -EBADMSG for anything malformed (control
 * characters, a duplicate known parameter, an unterminated quoted string,
 * more than 64 parameters, input above DIGEST_MAX_TOKEN) or -ENOMEM.
 */
int digest_params_parse(const uint8_t *data, size_t len, DigestParams *ret) __attribute__((warn_unused_result));
void digest_params_done(DigestParams *p);

/* True when `s` (NUL-terminated) is a request-target made only of URI
 * characters (RFC 3986) with well-formed percent-encoding. */
bool digest_uri_valid(const char *s);

/* "MD5", "SHA-256-sess"... -> algorithm and -sess flag; -EINVAL if unknown. */
int digest_alg_parse(const char *s, size_t len, DigestAlg *ret_alg, bool *ret_sess)
        __attribute__((warn_unused_result));
size_t digest_alg_hexlen(DigestAlg a);

/* H(p[0] ":" p[1] ":" ... ) as lowercase hex into out (DIGEST_HEX_MAX+1). */
int digest_hash_hex(DigestAlg a, const char *const *parts, const size_t *lens, size_t n, char *out)
        __attribute__((warn_unused_result));

/*
 * The request-digest of RFC 7616 §3.4.1 from a stored HA1 (hex). body_hex
 * is H(entity-body) for auth-int, else NULL. `rspauth` computes the
 * Authentication-Info value (empty method). 0 or negative errno.
 */
typedef struct DigestInput {
        DigestAlg alg;
        bool sess;
        const char *ha1;
        const char *nonce;
        const char *nc;
        const char *cnonce;
        const char *qop;
        const char *method;
        const char *uri;
        const char *body_hex;
} DigestInput;
int digest_response(const DigestInput *in, char *out) __attribute__((warn_unused_result));

/* ---- SASL mode (RFC 2831) ---- */

enum {
        SASL_LAYER_NONE,  /* qop=auth */
        SASL_LAYER_INT,   /* qop=auth-int */
        SASL_LAYER_CONF,  /* qop=auth-conf, cipher=rc4 or 3des */
};

/* `item` is an element of the comma-separated `list` (NULL: none),
 * case-insensitively. */
bool digest_list_has(const char *list, const char *item);
/* A value that goes between quotes as it is: 1..1024 printable bytes, no
 * quote or backslash. */
bool digest_quotable(const char *v, size_t len);
/*
 * A digest-challenge (client): nonce and algorithm=md5-sess present, no
 * rspauth, and the layer `want` (SASL_LAYER_*) offered (auth-conf: with
 * rc4 or 3des; *ret_rc4 tells which, rc4 preferred as Cyrus does).
 * 0, -EBADMSG (malformed) or -ENOTSUP (layer or cipher not offered).
 */
int digest_sasl_challenge_check(const DigestParams *p, uint8_t want, bool *ret_rc4) __attribute__((warn_unused_result));
/*
 * A digest-response (server): the fields RFC 2831 requires, nc=00000001,
 * a 32-hex response, charset utf-8 if any; the layer in *ret_layer, at
 * least `want`, auth-conf with rc4 or 3des. 0, -EBADMSG or -ENOTSUP.
 */
int digest_sasl_response_check(const DigestParams *p, uint8_t want, uint8_t *ret_layer, bool *ret_rc4)
        __attribute__((warn_unused_result));
