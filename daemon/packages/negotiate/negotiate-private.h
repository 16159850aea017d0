/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Negotiate package's context, shared by negotiate.c (the handshake
 * and the calls it forwards) and negotiate-export.c (Export/Import).
 * Never included outside daemon/packages/negotiate/.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packages/provider.h"

struct PkgMsgKeys;

typedef struct NegoCtx {
        bool initiator, established, raw;
        const Provider *mech; /* inner package chosen or tried */
        void *inner;
        bool inner_done;
        bool mic_required, mic_received, mic_sent, supported_sent;
        bool await_final; /* initiator done; the acceptor's last token may still come */
        uint8_t *mech_types; /* DER MechTypeList as the initiator sent it */
        size_t mech_types_len;
        bool ntlm_offered;   /* initiator: NTLM is in our list */
        uint32_t req_flags, ret_flags;
        int64_t expiry;
        SECURITY_STATUS last_error; /* the last failed inner step: SECPKG_ATTR_NEGO_STATUS */
} NegoCtx;

void nego_ctx_free(void *p);

/* negotiate-export.c: the chosen package's own export, wrapped. */
SECURITY_STATUS nego_export_ctx(void *ctx, bool keep_old, uint8_t **ret_blob, size_t *ret_len, bool *ctx_consumed);
SECURITY_STATUS nego_import_ctx(const uint8_t *blob, size_t len, void **ret_ctx);
SECURITY_STATUS nego_msg_keys_update(void *ctx, const struct PkgMsgKeys *in);
void nego_import_reset(void *ctx);
