/* SPDX-License-Identifier: MIT */
#pragma once

/* SEC_CHANNEL_BINDINGS as Kerberos and NTLM read it from a
 * SECBUFFER_CHANNEL_BINDINGS input (sspi-facts §3.6): eight little-endian
 * ULONGs (initiator address type, length, offset; acceptor address type,
 * length, offset; application data length, offset), or the _EX form behind
 * a 16-byte header. */

#include <stddef.h>
#include <stdint.h>

#include "sspi.h"

#define CB_HEADER_SIZE 32
#define CB_EX_MAGIC 0x58454243U /* 'XEBC' */
#define CB_EX_HEADER_SIZE 16

static inline uint32_t pkg_bindings_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* The eight header fields of the structure at p (*len bytes) into f. The
 * offsets count from p; *len becomes the size they may reach (the _EX
 * form's struct_len). SEC_E_BAD_BINDINGS when the header does not fit. */
static inline SECURITY_STATUS pkg_bindings_read(const uint8_t *p, size_t *len, uint32_t f[8]) {
        size_t base = 0;

        if (!p || *len < CB_HEADER_SIZE)
                return SEC_E_BAD_BINDINGS;
        if (pkg_bindings_le32(p) == CB_EX_MAGIC) {
                uint32_t header_len, struct_len;

                if (*len < CB_EX_HEADER_SIZE + CB_HEADER_SIZE)
                        return SEC_E_BAD_BINDINGS;
                header_len = pkg_bindings_le32(p + 8);
                struct_len = pkg_bindings_le32(p + 12);
                if (header_len < CB_EX_HEADER_SIZE + CB_HEADER_SIZE || header_len > struct_len || struct_len > *len)
                        return SEC_E_BAD_BINDINGS;
                *len = struct_len;
                base = CB_EX_HEADER_SIZE;
        }
        for (size_t i = 0; i < 8; i++)
                f[i] = pkg_bindings_le32(p + base + 4 * i);
        return SEC_E_OK;
}
