/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "policy/config.h"

/*
 * What every Schannel credential shares: the trusted roots and the names of
 * the CAs a server asks client certificates from (both loaded once per
 * configuration, not per AcquireCredentialsHandle), and a cache of peer
 * chains that verified, like CryptoAPI's chain engine.
 */

/* Whom the chain cache answers for: entries are never shared across uids, so
 * that one user cannot learn from timing which peers another user talks to. */
typedef struct TrustScope {
        uid_t uid;
        unsigned ttl; /* seconds; 0 = every chain verified in full */
} TrustScope;

/* Gives `ctx` the roots of `config` (system store and/or ca-file) and, for a
 * server, the CA names of ca-file for CertificateRequest. Returns false when
 * out of memory. */
bool trust_setup(SSL_CTX *ctx, const Config *config, bool server);

/* Verification on `ssl` uses the roots of `config` (the configuration in
 * force now): a reload that removes a CA takes effect for the next security
 * context of every credential, as a change to the Windows root store does.
 * Returns false when out of memory. */
bool trust_apply(SSL *ssl, const Config *config);

/* Routes `ctx`'s peer chain verification through the cache. `scope` must
 * outlive `ctx`. */
void trust_use_chain_cache(SSL_CTX *ctx, TrustScope *scope);
