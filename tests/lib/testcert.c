/* SPDX-License-Identifier: MIT */
#include "testcert.h"

#include <stdio.h>
#include <string.h>

bool t_load_cert(const char *pki, const char *name, Cert *c) {
        char cmd[1024];
        FILE *f;
        size_t n;

        snprintf(cmd, sizeof(cmd), "openssl x509 -in %s/%s.pem -outform DER", pki, name);
        f = popen(cmd, "r");
        if (!f)
                return false;
        n = fread(c->der, 1, sizeof(c->der), f);
        pclose(f);
        memset(&c->cc, 0, sizeof(c->cc));
        c->cc.dwCertEncodingType = X509_ASN_ENCODING;
        c->cc.pbCertEncoded = c->der;
        c->cc.cbCertEncoded = (DWORD) n;
        return n > 0;
}
