/* SPDX-License-Identifier: MIT */
/* MakeSignature, VerifySignature, EncryptMessage, DecryptMessage. Twin of daemon/rpc/message.c. */
#include <stdlib.h>

#include "internal.h"
#include "msgctx.h"


typedef struct MessageState {
        PSecBufferDesc pMessage;
        ULONG *pfQOP;
        CopyBack copy;
        MsgHandoff *ho;
} MessageState;

static SECURITY_STATUS message_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        MessageState *s = state;
        SECURITY_STATUS cst;

        /* Schannel in caller mode: the state the daemon left (none, after
         * a failure: the calls stay with the daemon). */
        msgctx_handoff_done(s->ho, rep && rep->body_case == SSPIW__ENVELOPE__BODY_MESSAGE_REP
                                           ? rep->message_rep->msg_keys
                                           : NULL);
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_MESSAGE_REP)
                return st >= 0 ? SEC_E_INTERNAL_ERROR : st;
        if (st < 0) {
                /* SEC_E_INCOMPLETE_MESSAGE: SECBUFFER_MISSING in an EMPTY slot. */
                if ((s->copy.types & BUFTYPE(SECBUFFER_EMPTY)) &&
                    buffers_update_input(s->pMessage, rep->message_rep->buffers, rep->message_rep->n_buffers) !=
                            SEC_E_OK)
                        return SEC_E_INTERNAL_ERROR;
                return st;
        }
        cst = buffers_from_wire(s->pMessage, rep->message_rep->buffers, rep->message_rep->n_buffers, &s->copy);
        if (cst != SEC_E_OK)
                return cst;
        /* NTLM reports no quality of protection: *pfQOP stays as it was. */
        if (s->pfQOP && !(rep->message_rep->has_qop_unset && rep->message_rep->qop_unset))
                *s->pfQOP = rep->message_rep->qop;
        return st;
}

static SECURITY_STATUS message(int body, PCtxtHandle phContext, uint32_t qop, PSecBufferDesc pMessage, uint32_t seq,
                               ULONG *pfQOP) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__MessageReq m = SSPIW__MESSAGE_REQ__INIT;
        MsgHandoff ho;
        MessageState s = { pMessage, pfQOP, {}, &ho };
        Sspiw__Handle h;
        Sspiw__Buffer **b;
        size_t n = 0;
        SECURITY_STATUS st;

        if (!phContext)
                return SEC_E_INVALID_HANDLE;
        if (!pMessage || !desc_valid(pMessage) || pMessage->cBuffers == 0)
                return SEC_E_INVALID_TOKEN;
        /* message-protection = caller: a context whose keys we hold. */
        if (msgctx_message(body == SSPIW__ENVELOPE__BODY_MAKE_SIGNATURE     ? MSG_SIGN
                           : body == SSPIW__ENVELOPE__BODY_VERIFY_SIGNATURE ? MSG_VERIFY
                           : body == SSPIW__ENVELOPE__BODY_ENCRYPT_MESSAGE  ? MSG_SEAL
                                                                            : MSG_UNSEAL,
                           phContext, qop, pMessage, pfQOP, &st, &ho))
                return st;
        b = buffers_to_wire(pMessage, false, false, &n);
        if (!b) {
                msgctx_handoff_done(&ho, NULL);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        if (ho.active)
                m.keys = &ho.m;
        handle_to_wire(phContext, &h);
        m.ctx = &h;
        m.qop = qop;
        m.seq_no = seq;
        m.n_buffers = n;
        m.buffers = b;
        req.body_case = body;
        switch (body) {
        case SSPIW__ENVELOPE__BODY_MAKE_SIGNATURE:
                req.make_signature = &m;
                s.copy = copy_sign;
                break;
        case SSPIW__ENVELOPE__BODY_VERIFY_SIGNATURE:
                req.verify_signature = &m;
                s.copy = copy_verify;
                break;
        case SSPIW__ENVELOPE__BODY_ENCRYPT_MESSAGE:
                req.encrypt_message = &m;
                s.copy = copy_seal;
                break;
        default:
                req.decrypt_message = &m;
                s.copy = copy_unseal;
                break;
        }
        st = call_run(NULL, &req, message_finish, &s, sizeof(s));
        msgctx_handoff_done(&ho, NULL); /* not answered: the daemon's from now on */
        buffers_free_wire(b, n);
        return st;
}

_public_ SECURITY_STATUS MakeSignature(PCtxtHandle phContext, ULONG fQOP, PSecBufferDesc pMessage, ULONG MessageSeqNo) {
        return message(SSPIW__ENVELOPE__BODY_MAKE_SIGNATURE, phContext, fQOP, pMessage, MessageSeqNo, NULL);
}

_public_ SECURITY_STATUS VerifySignature(PCtxtHandle phContext, PSecBufferDesc pMessage, ULONG MessageSeqNo,
                                         ULONG *pfQOP) {
        return message(SSPIW__ENVELOPE__BODY_VERIFY_SIGNATURE, phContext, 0, pMessage, MessageSeqNo, pfQOP);
}

_public_ SECURITY_STATUS EncryptMessage(PCtxtHandle phContext, ULONG fQOP, PSecBufferDesc pMessage, ULONG MessageSeqNo) {
        return message(SSPIW__ENVELOPE__BODY_ENCRYPT_MESSAGE, phContext, fQOP, pMessage, MessageSeqNo, NULL);
}

_public_ SECURITY_STATUS DecryptMessage(PCtxtHandle phContext, PSecBufferDesc pMessage, ULONG MessageSeqNo,
                                        ULONG *pfQOP) {
        return message(SSPIW__ENVELOPE__BODY_DECRYPT_MESSAGE, phContext, 0, pMessage, MessageSeqNo, pfQOP);
}
