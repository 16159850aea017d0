/* SPDX-License-Identifier: MIT */
/*
 * Schannel's EncryptMessage / DecryptMessage of application data in the
 * caller's process (message-protection = caller, issue 14), with the
 * record keys and numbers the daemon handed over (proto/tlsrec.c). The
 * buffer layouts are the daemon's (daemon/packages/schannel/
 * schannel-message.c): STREAM_HEADER / DATA / STREAM_TRAILER (or TOKEN /
 * DATA / TOKEN) for EncryptMessage; one DATA and three EMPTY buffers for
 * DecryptMessage, which become STREAM_HEADER, DATA, STREAM_TRAILER and
 * EXTRA inside the caller's DATA buffer.
 *
 * Only the plain cases run here. Anything else — a record that is not
 * application data, one that does not authenticate, a descriptor of
 * another shape, a buffer too small — goes to the daemon with this
 * side's record numbers (TLS_HANDOFF), where the OpenSSL connection
 * answers exactly as in daemon mode.
 */
#include <string.h>

#include "msgctx.h"

static SecBuffer *nth_of(SecBufferDesc *d, uint32_t type, int nth) {
        for (uint32_t i = 0; i < d->cBuffers; i++)
                if (MSG_BUF_BASE(d->pBuffers[i].BufferType) == type && nth-- == 0)
                        return &d->pBuffers[i];
        return NULL;
}

static bool writable(const SecBuffer *b) {
        return !(b->BufferType & (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM));
}

static SECURITY_STATUS tls_seal(TlsMsgState *c, SecBufferDesc *d) {
        SecBuffer *hdr = nth_of(d, SECBUFFER_STREAM_HEADER, 0), *data = nth_of(d, SECBUFFER_DATA, 0);
        SecBuffer *trl = nth_of(d, SECBUFFER_STREAM_TRAILER, 0);
        size_t h = tlsrec_header_len(&c->send), t = tlsrec_trailer_len(&c->send);

        if (!hdr && !trl) {
                hdr = nth_of(d, SECBUFFER_TOKEN, 0);
                trl = nth_of(d, SECBUFFER_TOKEN, 1);
        }
        if (!hdr || !data || !trl || !writable(hdr) || !writable(data) || !writable(trl) || !hdr->pvBuffer ||
            !trl->pvBuffer || hdr->cbBuffer < h || trl->cbBuffer < t || data->cbBuffer > TLSREC_MAX_PLAINTEXT ||
            (data->cbBuffer && !data->pvBuffer))
                return TLS_HANDOFF;
        if (data->cbBuffer == 0) {
                hdr->cbBuffer = trl->cbBuffer = 0;
                return SEC_E_OK;
        }
        if (tlsrec_seal(&c->send, c->send_seq, 23, hdr->pvBuffer, data->pvBuffer, data->cbBuffer, trl->pvBuffer) < 0)
                return TLS_HANDOFF;
        c->send_seq++;
        hdr->cbBuffer = (ULONG) h;
        trl->cbBuffer = (ULONG) t;
        return SEC_E_OK;
}

static SECURITY_STATUS tls_unseal(TlsMsgState *c, SecBufferDesc *d) {
        SecBuffer *data = NULL, *slots[3] = { NULL };
        size_t n_data = 0, n_slots = 0, len, rec, off, plen;
        uint8_t *p, type;

        for (uint32_t i = 0; i < d->cBuffers; i++) {
                uint32_t t = MSG_BUF_BASE(d->pBuffers[i].BufferType);
                if (t == SECBUFFER_DATA && n_data++ == 0)
                        data = &d->pBuffers[i];
                else if (t == SECBUFFER_EMPTY && n_slots < 3)
                        slots[n_slots++] = &d->pBuffers[i];
        }
        if (!data || n_data > 1 || n_slots < 3 || !writable(data))
                return TLS_HANDOFF;
        p = data->pvBuffer;
        len = p ? data->cbBuffer : 0;
        if (len < TLSREC_HEADER || len < (rec = TLSREC_HEADER + ((size_t) p[3] << 8 | p[4]))) {
                /* Nothing is consumed: the DATA buffer says how many bytes
                 * are missing, as the daemon's answer does. */
                data->BufferType = SECBUFFER_MISSING;
                data->cbBuffer = (ULONG) (len < TLSREC_HEADER ? TLSREC_HEADER - len : rec - len);
                return SEC_E_INCOMPLETE_MESSAGE;
        }
        if (p[0] != 23 || tlsrec_open(&c->recv, c->recv_seq, p, rec, &type, &off, &plen) < 0)
                return TLS_HANDOFF;
        if (type != 23 || plen == 0) {
                /* A post-handshake message or alert (TLS 1.3 hides them
                 * as application data): back as it came, for the daemon. */
                tlsrec_unopen(&c->recv, c->recv_seq, p, rec);
                return TLS_HANDOFF;
        }
        c->recv_seq++;
        data->BufferType = SECBUFFER_STREAM_HEADER;
        data->cbBuffer = (ULONG) off;
        slots[0]->BufferType = SECBUFFER_DATA;
        slots[0]->pvBuffer = p + off;
        slots[0]->cbBuffer = (ULONG) plen;
        slots[1]->BufferType = SECBUFFER_STREAM_TRAILER;
        slots[1]->pvBuffer = p + off + plen;
        slots[1]->cbBuffer = (ULONG) (rec - off - plen);
        if (len > rec) {
                slots[2]->BufferType = SECBUFFER_EXTRA;
                slots[2]->pvBuffer = p + rec;
                slots[2]->cbBuffer = (ULONG) (len - rec);
        }
        return SEC_E_OK;
}

SECURITY_STATUS tls_msg(TlsMsgState *c, MsgOp op, SecBufferDesc *d) {
        switch (op) {
        case MSG_SEAL:
                return tls_seal(c, d);
        case MSG_UNSEAL:
                return tls_unseal(c, d);
        default:
                return TLS_HANDOFF; /* SEC_E_UNSUPPORTED_FUNCTION from the daemon */
        }
}
