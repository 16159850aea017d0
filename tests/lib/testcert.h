/* SPDX-License-Identifier: MIT */
#pragma once

/* Certificates for the Schannel tests: the DER of a PEM file of the test
 * PKI, as a Windows program would take it from its certificate store. */

#include <stdbool.h>
#include <stdint.h>

#include "schannel.h"

typedef struct Cert {
        CERT_CONTEXT cc;
        uint8_t der[4096];
} Cert;

/* Reads PKI/NAME.pem (through the openssl CLI) into c. */
bool t_load_cert(const char *pki, const char *name, Cert *c);
