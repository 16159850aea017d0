/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for CredSSP's DER structures (daemon/packages/credssp/
 * tsrequest.c, MS-CSSP 2.2.1): TSRequest, TSCredentials, TSPasswordCreds,
 * and the element-length probe the acceptor uses on a partial stream.
 * Whatever parses is encoded again and must parse back to the same fields.
 */
#include <stdlib.h>
#include <string.h>

#include "packages/credssp/tsrequest.h"

static bool same(TsBytes a, TsBytes b) {
        return a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len));
}

static void check_request(const uint8_t *data, size_t size) {
        TsRequest t, u;
        uint8_t *enc = NULL;
        size_t len = 0, el;

        if (tsreq_element_len(data, size, 1u << 20, &el) == 0 && el > size)
                abort();
        if (tsreq_parse(data, size, &t) < 0)
                return;
        if (tsreq_encode(&t, &enc, &len) < 0)
                return;
        if (tsreq_parse(enc, len, &u) < 0)
                abort(); /* our own encoding must parse */
        if (u.version != t.version || u.has_nego != t.has_nego || !same(u.nego_token, t.nego_token) ||
            u.has_auth_info != t.has_auth_info || !same(u.auth_info, t.auth_info) ||
            u.has_pub_key_auth != t.has_pub_key_auth || !same(u.pub_key_auth, t.pub_key_auth) ||
            u.has_error != t.has_error || u.error_code != t.error_code || u.has_nonce != t.has_nonce ||
            !same(u.nonce, t.nonce))
                abort();
        if (tsreq_element_len(enc, len, 1u << 20, &el) != 0 || el != len)
                abort();
        free(enc);
}

static void check_creds(const uint8_t *data, size_t size) {
        TsBytes creds, d, u, p, d2, u2, p2;
        uint32_t type, type2;
        uint8_t *enc = NULL;
        size_t len = 0;

        if (ts_creds_parse(data, size, &type, &creds) < 0 || type != TS_CRED_PASSWORD)
                return;
        if (ts_password_parse(creds.p, creds.len, &d, &u, &p) < 0)
                return;
        if (ts_password_encode(d, u, p, &enc, &len) < 0)
                return;
        if (ts_creds_parse(enc, len, &type2, &creds) < 0 || type2 != TS_CRED_PASSWORD ||
            ts_password_parse(creds.p, creds.len, &d2, &u2, &p2) < 0 || !same(d, d2) || !same(u, u2) || !same(p, p2))
                abort();
        free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        check_request(data, size);
        check_creds(data, size);
        return 0;
}
