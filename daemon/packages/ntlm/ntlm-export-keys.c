/* SPDX-License-Identifier: MIT */
/*
 * NTLM's per-message state for message-protection = caller (issue 14):
 * the two signing keys and the two RC4 streams as they stand, with the
 * sequence numbers; the session key itself and the NT hash stay here.
 */
#include "packages/ntlm/ntlm-private.h"
#include "packages/msg-keys.h"

static void rc4_out(const NtlmRc4 *r, uint8_t out[258]) {
        memcpy(out, r->s, 256);
        out[256] = r->i;
        out[257] = r->j;
}

SECURITY_STATUS ntlm_msg_keys(void *ctx, PkgMsgKeys *out) {
        NtlmCtx *c = ctx;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        *out = (PkgMsgKeys) { .mech = PKG_MSG_NTLM, .flags = c->flags, .send_seq = c->send_seq,
                              .recv_seq = c->recv_seq };
        memcpy(out->send_sign, c->initiator ? c->keys.client_sign : c->keys.server_sign, 16);
        memcpy(out->recv_sign, c->initiator ? c->keys.server_sign : c->keys.client_sign, 16);
        rc4_out(&c->send_rc4, out->send_rc4);
        rc4_out(&c->recv_rc4, out->recv_rc4);
        return SEC_E_OK;
}
