/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the SPNEGO DER reader (daemon/packages/negotiate/spnego.c).
 * Besides "no crash, no overrun" it checks a round trip: whatever parses is
 * encoded again with our encoder and must parse back to the same fields.
 */
#include <stdlib.h>
#include <string.h>

#include "packages/negotiate/spnego.h"

static bool same(SpnegoBytes a, SpnegoBytes b) {
        return a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SpnegoToken t, u;
        uint8_t *enc = NULL;
        size_t len = 0;
        int r;

        if (spnego_parse(data, size, &t) < 0)
                return 0;
        if (t.init)
                r = spnego_encode_init(t.mech_types, t.token, &enc, &len);
        else
                r = spnego_encode_resp(t.state, t.supported, t.token, t.mic, &enc, &len);
        if (r < 0)
                return 0;
        if (spnego_parse(enc, len, &u) < 0)
                abort(); /* our own encoding must parse */
        if (u.init != t.init || !same(u.token, t.token))
                abort();
        if (t.init && (u.n_mechs != t.n_mechs || !same(u.mech_types, t.mech_types)))
                abort();
        if (!t.init && (u.state != t.state || !same(u.supported, t.supported) || !same(u.mic, t.mic)))
                abort();
        free(enc);
        return 0;
}
