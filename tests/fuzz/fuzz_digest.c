/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Digest package's parser: challenges and
 * responses as they arrive from the network, the URI check and the
 * algorithm names; SASL mode's (RFC 2831) digest-challenge and
 * digest-response checks for every layer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packages/digest/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DigestParams p;
        char *s;

        if (digest_params_parse(data, size, &p) == 0) {
                for (int k = 0; k < N_DIGEST_PARAMS; k++)
                        if (p.v[k] && strlen(p.v[k]) != p.len[k])
                                abort(); /* a value with an inner NUL got through */
                if (p.v[DP_ALGORITHM]) {
                        DigestAlg a;
                        bool sess;
                        (void) digest_alg_parse(p.v[DP_ALGORITHM], p.len[DP_ALGORITHM], &a, &sess);
                }
                if (p.v[DP_URI])
                        (void) digest_uri_valid(p.v[DP_URI]);
                for (uint8_t want = SASL_LAYER_NONE; want <= SASL_LAYER_CONF; want++) {
                        bool rc4 = false;
                        uint8_t layer = 0xff;
                        if (digest_sasl_challenge_check(&p, want, &rc4) == 0 &&
                            (!p.v[DP_NONCE] || !digest_quotable(p.v[DP_NONCE], p.len[DP_NONCE])))
                                abort(); /* a nonce we would put between quotes unchecked */
                        if (digest_sasl_response_check(&p, want, &layer, &rc4) == 0 &&
                            (layer < want || layer > SASL_LAYER_CONF || !p.v[DP_RESPONSE] || p.len[DP_RESPONSE] != 32))
                                abort();
                }
                digest_params_done(&p);
        }
        s = malloc(size + 1);
        if (s) {
                memcpy(s, data, size);
                s[size] = '\0';
                (void) digest_uri_valid(s);
                free(s);
        }
        return 0;
}
