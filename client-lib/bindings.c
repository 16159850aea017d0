/* SPDX-License-Identifier: MIT */
/*
 * SspiSetChannelBindingFlags: a server's channel bindings (RFC 5929 data
 * in the SEC_CHANNEL_BINDINGS layout, as QueryContextAttributes returns
 * them for SECPKG_ATTR_ENDPOINT_BINDINGS / UNIQUE_BINDINGS) put into the
 * SEC_CHANNEL_BINDINGS_EX form, which carries flags (the EPA audit flag)
 * in a 16-byte header before the same eight fields. Microsoft documents it
 * for SspiCli's user mode ("sspi-sspisetchannelbindingflags"): the server
 * converts what it queried and passes it to AcceptSecurityContext.
 *
 * The daemon's packages read both forms (daemon/packages/bindings.h); the
 * binding hash is the same for both, over the eight fields and the data.
 * Everything happens here: no daemon call.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define EX_EXTRA (sizeof(SEC_CHANNEL_BINDINGS_EX) - sizeof(SEC_CHANNEL_BINDINGS))

/* Whether a region [off, off+len) lies inside size bytes (len 0: any). */
static bool region_ok(ULONG off, ULONG len, size_t size) {
        return len == 0 || (off <= size && len <= size - off);
}

_public_ SECURITY_STATUS SspiSetChannelBindingFlags(SecPkgContext_Bindings *pBindings, unsigned long flags) {
        const SEC_CHANNEL_BINDINGS *cb;
        SEC_CHANNEL_BINDINGS_EX *ex;
        size_t size, base;

        if (!pBindings || !pBindings->Bindings || (flags & ~(unsigned long) SEC_CHANNEL_BINDINGS_VALID_FLAGS))
                return SEC_E_INVALID_PARAMETER;
        size = pBindings->BindingsLength;
        if (size >= sizeof(SEC_CHANNEL_BINDINGS_EX) &&
            ((const SEC_CHANNEL_BINDINGS_EX *) pBindings->Bindings)->magicNumber == SEC_CHANNEL_BINDINGS_EX_MAGIC) {
                ex = (SEC_CHANNEL_BINDINGS_EX *) pBindings->Bindings;
                if (ex->cbHeaderLength != sizeof(*ex) || ex->cbStructureLength > size)
                        return SEC_E_INVALID_PARAMETER;
                ex->flags = (ULONG) flags;
                return SEC_E_OK;
        }
        if (size < sizeof(SEC_CHANNEL_BINDINGS) || size > UINT32_MAX - EX_EXTRA)
                return SEC_E_INVALID_PARAMETER;
        cb = pBindings->Bindings;
        if (!region_ok(cb->dwInitiatorOffset, cb->cbInitiatorLength, size) ||
            !region_ok(cb->dwAcceptorOffset, cb->cbAcceptorLength, size) ||
            !region_ok(cb->dwApplicationDataOffset, cb->cbApplicationDataLength, size))
                return SEC_E_INVALID_PARAMETER;
        /* The same bytes after a longer header: every offset moves by it.
         * A region may start inside the old header only if it is empty. */
        ex = calloc(1, size + EX_EXTRA);
        if (!ex)
                return SEC_E_INSUFFICIENT_MEMORY;
        base = sizeof(SEC_CHANNEL_BINDINGS);
        *ex = (SEC_CHANNEL_BINDINGS_EX) {
                .magicNumber = SEC_CHANNEL_BINDINGS_EX_MAGIC,
                .flags = (ULONG) flags,
                .cbHeaderLength = sizeof(*ex),
                .cbStructureLength = (ULONG) (size + EX_EXTRA),
                .dwInitiatorAddrType = cb->dwInitiatorAddrType,
                .cbInitiatorLength = cb->cbInitiatorLength,
                .dwInitiatorOffset = cb->cbInitiatorLength ? cb->dwInitiatorOffset + (ULONG) EX_EXTRA : 0,
                .dwAcceptorAddrType = cb->dwAcceptorAddrType,
                .cbAcceptorLength = cb->cbAcceptorLength,
                .dwAcceptorOffset = cb->cbAcceptorLength ? cb->dwAcceptorOffset + (ULONG) EX_EXTRA : 0,
                .cbApplicationDataLength = cb->cbApplicationDataLength,
                .dwApplicationDataOffset =
                        cb->cbApplicationDataLength ? cb->dwApplicationDataOffset + (ULONG) EX_EXTRA : 0,
        };
        if ((cb->cbInitiatorLength && cb->dwInitiatorOffset < base) ||
            (cb->cbAcceptorLength && cb->dwAcceptorOffset < base) ||
            (cb->cbApplicationDataLength && cb->dwApplicationDataOffset < base)) {
                free(ex);
                return SEC_E_INVALID_PARAMETER; /* data overlapping the fields */
        }
        memcpy((uint8_t *) ex + sizeof(*ex), (const uint8_t *) cb + base, size - base);
        FreeContextBuffer(pBindings->Bindings);
        pBindings->Bindings = (SEC_CHANNEL_BINDINGS *) ex;
        pBindings->BindingsLength = (ULONG) (size + EX_EXTRA);
        return SEC_E_OK;
}
