/* SPDX-License-Identifier: MIT */
/*
 * ExportSecurityContext / ImportSecurityContext of an established
 * Negotiate context (issue 17): whatever SPNEGO chose (Kerberos or NTLM)
 * exports itself, and this wraps it with what Negotiate adds (which
 * package, the flags, the expiry), so that the importer's context answers
 * PACKAGE_INFO and NEGOTIATION_INFO as the exporter's did. The SPNEGO
 * handshake state (mechanism list, mechListMIC) is over and does not
 * travel.
 *
 * Layout, little-endian: "SNEG", version 1, package (0 Kerberos, 1 NTLM),
 * initiator, raw, req/ret flags, expiry (FILETIME), the inner blob's
 * length and the inner blob.
 */
#include <stdlib.h>
#include <string.h>

#include "packages/kerberos/kerberos.h"
#include "packages/ntlm/ntlm.h"
#include "packages/negotiate/negotiate-private.h"
#include "util/util.h"

#define BLOB_MAGIC "SNEG"
#define BLOB_VERSION 1u
#define HEADER_SIZE (4 + 4 * 6 + 8 + 4)

static const Provider *mech_of(uint32_t id) {
        return id == 0 ? &provider_kerberos : id == 1 ? &provider_ntlm : NULL;
}

static void put32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t get32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

SECURITY_STATUS nego_export_ctx(void *ctx, bool keep_old, uint8_t **ret_blob, size_t *ret_len, bool *ctx_consumed) {
        NegoCtx *c = ctx;
        uint8_t header[HEADER_SIZE], *inner = NULL, *blob;
        size_t inner_len = 0;
        bool inner_consumed = false;
        SECURITY_STATUS st;

        *ctx_consumed = false;
        if (!c || !c->established || !c->inner || !c->mech || !c->mech->export_ctx)
                return SEC_E_INVALID_HANDLE;
        /* Our fields first: the inner export may consume c. */
        memcpy(header, BLOB_MAGIC, 4);
        put32(header + 4, BLOB_VERSION);
        put32(header + 8, c->mech == &provider_kerberos ? 0 : 1);
        put32(header + 12, c->initiator);
        put32(header + 16, c->raw);
        put32(header + 20, c->req_flags);
        put32(header + 24, c->ret_flags);
        memcpy(header + 28, &c->expiry, 8);
        st = c->mech->export_ctx(c->inner, keep_old, &inner, &inner_len, &inner_consumed);
        if (inner_consumed) {
                /* The chosen package's context went with it: so does ours. */
                c->inner = NULL;
                nego_ctx_free(c);
                *ctx_consumed = true;
        }
        if (st != SEC_E_OK)
                return st;
        if (inner_len > UINT32_MAX - HEADER_SIZE || !(blob = malloc(HEADER_SIZE + inner_len))) {
                free_secret(inner, inner_len);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        put32(header + 36, (uint32_t) inner_len);
        memcpy(blob, header, HEADER_SIZE);
        memcpy(blob + HEADER_SIZE, inner, inner_len);
        free_secret(inner, inner_len);
        *ret_blob = blob;
        *ret_len = HEADER_SIZE + inner_len;
        return SEC_E_OK;
}

SECURITY_STATUS nego_import_ctx(const uint8_t *blob, size_t len, void **ret_ctx) {
        const Provider *mech;
        NegoCtx *c;
        SECURITY_STATUS st;

        if (!blob || len < HEADER_SIZE || memcmp(blob, BLOB_MAGIC, 4) != 0 || get32(blob + 4) != BLOB_VERSION ||
            get32(blob + 36) != len - HEADER_SIZE)
                return SEC_E_INVALID_TOKEN;
        mech = mech_of(get32(blob + 8));
        if (!mech || !mech->import_ctx)
                return SEC_E_INVALID_TOKEN;
        c = calloc(1, sizeof(*c));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->mech = mech;
        c->initiator = get32(blob + 12) != 0;
        c->raw = get32(blob + 16) != 0;
        c->req_flags = get32(blob + 20);
        c->ret_flags = get32(blob + 24);
        memcpy(&c->expiry, blob + 28, 8);
        st = mech->import_ctx(blob + HEADER_SIZE, len - HEADER_SIZE, &c->inner);
        if (st != SEC_E_OK) {
                c->inner = NULL;
                nego_ctx_free(c);
                return st;
        }
        c->established = c->inner_done = true;
        *ret_ctx = c;
        return SEC_E_OK;
}

SECURITY_STATUS nego_msg_keys_update(void *ctx, const struct PkgMsgKeys *in) {
        NegoCtx *c = ctx;

        if (!c || !c->established || !c->inner)
                return SEC_E_INVALID_HANDLE;
        return c->mech->msg_keys_update ? c->mech->msg_keys_update(c->inner, in) : SEC_E_INVALID_TOKEN;
}

void nego_import_reset(void *ctx) {
        NegoCtx *c = ctx;

        if (c->inner && c->mech->import_reset)
                c->mech->import_reset(c->inner);
}
