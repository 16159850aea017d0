/* SPDX-License-Identifier: MIT */
/*
 * Message protection after the handshake: MakeSignature, VerifySignature,
 * EncryptMessage, DecryptMessage. These are cheap (symmetric crypto on data
 * already in memory) and run where the request arrives. Twin of
 * client-lib/message.c.
 */
#include "core/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "core/server.h"
#include "packages/msg-keys.h"
#include "rpc/rpc.h"

Sspiw__MsgKeys *rpc_msg_keys(Job *job, Object *o) {
        struct {
                Sspiw__MsgKeys m;
                PkgMsgKeys k;
                uint8_t kb[2 * (32 + 12)]; /* TLS: key || IV per direction */
        } *p;

        if (!o->pkg->msg_keys || !o->state)
                return NULL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return NULL; /* the daemon path then: slower, not wrong */
        job_defer_free(job, p); /* wiped when the reply has gone */
        if (o->pkg->msg_keys(o->state, &p->k) != SEC_E_OK)
                return NULL;
        sspiw__msg_keys__init(&p->m);
        p->m.mech = p->k.mech;
        if (p->k.mech == PKG_MSG_TLS) {
                p->m.has_paused = true;
                p->m.paused = p->k.tls_paused;
                p->m.send_sign = p->m.recv_sign = p->m.send_rc4 = p->m.recv_rc4 = (ProtobufCBinaryData) { 0, NULL };
                if (p->k.tls_paused)
                        return &p->m;
                if (p->k.tls_key_len > sizeof(p->k.tls_send_key))
                        return NULL;
                uint8_t *kb = p->kb;
                memcpy(kb, p->k.tls_send_key, p->k.tls_key_len);
                memcpy(kb + p->k.tls_key_len, p->k.tls_send_iv, 12);
                memcpy(kb + 44, p->k.tls_recv_key, p->k.tls_key_len);
                memcpy(kb + 44 + p->k.tls_key_len, p->k.tls_recv_iv, 12);
                p->m.send_sign = (ProtobufCBinaryData) { p->k.tls_key_len + 12u, kb };
                p->m.recv_sign = (ProtobufCBinaryData) { p->k.tls_key_len + 12u, kb + 44 };
                p->m.has_tls_version = p->m.has_tls_cipher = p->m.has_send_seq64 = p->m.has_recv_seq64 = true;
                p->m.tls_version = p->k.tls_version;
                p->m.tls_cipher = p->k.tls_cipher;
                p->m.send_seq64 = p->k.tls_send_seq;
                p->m.recv_seq64 = p->k.tls_recv_seq;
                return &p->m;
        }
        p->m.flags = p->k.flags;
        p->m.send_seq = p->k.send_seq;
        p->m.recv_seq = p->k.recv_seq;
        if (p->k.mech == PKG_MSG_KERBEROS) {
                size_t n = (size_t) PKG_MSG_KRB_KEYS * p->k.key_len;

                if (p->k.key_len > PKG_MSG_KRB_KEY_MAX || p->k.window_len > PKG_MSG_KRB_WINDOW)
                        return NULL;
                p->m.send_sign = (ProtobufCBinaryData) { n, p->k.krb_send };
                p->m.recv_sign = (ProtobufCBinaryData) { n, p->k.krb_recv };
                p->m.send_rc4 = p->m.recv_rc4 = (ProtobufCBinaryData) { 0, NULL };
                p->m.has_enctype = p->m.has_order_flags = p->m.has_window_len = true;
                p->m.enctype = p->k.enctype;
                p->m.order_flags = p->k.order_flags;
                p->m.window_len = p->k.window_len;
                p->m.n_window = PKG_MSG_KRB_WINDOW;
                p->m.window = p->k.window;
                return &p->m;
        }
        p->m.send_sign = (ProtobufCBinaryData) { sizeof(p->k.send_sign), p->k.send_sign };
        p->m.recv_sign = (ProtobufCBinaryData) { sizeof(p->k.recv_sign), p->k.recv_sign };
        p->m.send_rc4 = (ProtobufCBinaryData) { sizeof(p->k.send_rc4), p->k.send_rc4 };
        p->m.recv_rc4 = (ProtobufCBinaryData) { sizeof(p->k.recv_rc4), p->k.recv_rc4 };
        return &p->m;
}

SECURITY_STATUS rpc_msg_keys_from_wire(const Sspiw__MsgKeys *m, PkgMsgKeys *out) {
        *out = (PkgMsgKeys) { .mech = m->mech, .flags = m->flags, .send_seq = m->send_seq, .recv_seq = m->recv_seq };
        switch (m->mech) {
        case PKG_MSG_NTLM:
                if (m->send_sign.len != sizeof(out->send_sign) || m->recv_sign.len != sizeof(out->recv_sign) ||
                    m->send_rc4.len != sizeof(out->send_rc4) || m->recv_rc4.len != sizeof(out->recv_rc4))
                        return SEC_E_INVALID_TOKEN;
                memcpy(out->send_sign, m->send_sign.data, sizeof(out->send_sign));
                memcpy(out->recv_sign, m->recv_sign.data, sizeof(out->recv_sign));
                memcpy(out->send_rc4, m->send_rc4.data, sizeof(out->send_rc4));
                memcpy(out->recv_rc4, m->recv_rc4.data, sizeof(out->recv_rc4));
                return SEC_E_OK;
        case PKG_MSG_TLS:
                /* The library's record numbers only. */
                if (m->send_sign.len || m->recv_sign.len || m->send_rc4.len || m->recv_rc4.len ||
                    !m->has_send_seq64 || !m->has_recv_seq64)
                        return SEC_E_INVALID_TOKEN;
                out->tls_send_seq = m->send_seq64;
                out->tls_recv_seq = m->recv_seq64;
                return SEC_E_OK;
        case PKG_MSG_KERBEROS:
                /* Sequence state only: a key sent back is not the library's
                 * to give. The window is bounded by wire_validate. */
                if (m->send_sign.len || m->recv_sign.len || m->send_rc4.len || m->recv_rc4.len ||
                    !m->has_window_len || m->window_len > PKG_MSG_KRB_WINDOW || m->n_window != PKG_MSG_KRB_WINDOW)
                        return SEC_E_INVALID_TOKEN;
                out->order_flags = m->has_order_flags ? m->order_flags : 0;
                out->window_len = m->window_len;
                for (size_t i = 0; i < PKG_MSG_KRB_WINDOW; i++)
                        out->window[i] = m->window[i];
                return SEC_E_OK;
        default:
                return SEC_E_INVALID_TOKEN;
        }
}

SECURITY_STATUS rpc_take_msg_keys(Object *o, const Sspiw__MsgKeys *k) {
        PkgMsgKeys m;
        SECURITY_STATUS st;

        if (!o->pkg->msg_keys_update)
                return SEC_E_INVALID_TOKEN; /* keys this context never handed out */
        st = rpc_msg_keys_from_wire(k, &m);
        if (st == SEC_E_OK)
                st = o->pkg->msg_keys_update(o->state, &m);
        explicit_bzero(&m, sizeof(m));
        /* The request's copy too (freed with the job, not wiped); a
         * Kerberos state has no key fields at all (NULL data). */
        const ProtobufCBinaryData *f[] = { &k->send_sign, &k->recv_sign, &k->send_rc4, &k->recv_rc4 };
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
                if (f[i]->len)
                        explicit_bzero(f[i]->data, f[i]->len);
        return st;
}

typedef enum MessageOp {
        OP_SIGN,
        OP_VERIFY,
        OP_SEAL,
        OP_UNSEAL,
} MessageOp;

static SECURITY_STATUS message_op(Job *job, Sspiw__Envelope *reply, const Sspiw__MessageReq *m, MessageOp op) {
        Object *o = job->order;
        Sspiw__MessageRep *rep;
        Sspiw__Buffer *w, **pw;
        PkgBuffer *b;
        uint32_t qop = 0;
        SECURITY_STATUS st;

        if (!o->in_table)
                return SEC_E_INVALID_HANDLE;
        if (!o->complete || !o->state)
                return SEC_E_INVALID_HANDLE; /* no keys before the handshake ends */
        b = calloc(m->n_buffers, sizeof(*b));
        rep = malloc(sizeof(*rep));
        w = calloc(m->n_buffers, sizeof(*w));
        pw = calloc(m->n_buffers, sizeof(*pw));
        if (!b || !rep || !w || !pw) {
                free(b);
                free(rep);
                free(w);
                free(pw);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, b);
        job_defer_free(job, rep);
        job_defer_free(job, w);
        job_defer_free(job, pw);
        for (size_t i = 0; i < m->n_buffers; i++) {
                b[i].type = m->buffers[i]->type;
                if (m->buffers[i]->has_data) {
                        b[i].data = m->buffers[i]->data.data;
                        b[i].len = b[i].cap = m->buffers[i]->data.len;
                }
        }
        /* A package without message protection leaves these ops NULL. */
        if ((op == OP_SIGN && !o->pkg->sign) || (op == OP_VERIFY && !o->pkg->verify) ||
            (op == OP_SEAL && !o->pkg->seal) || (op == OP_UNSEAL && !o->pkg->unseal))
                return SEC_E_UNSUPPORTED_FUNCTION;
        /* A record the library hands over: its numbers first. */
        if (m->keys) {
                if (!o->pkg->msg_keys_follow)
                        return SEC_E_INVALID_TOKEN;
                st = rpc_take_msg_keys(o, m->keys);
                if (st != SEC_E_OK)
                        return st;
        }
        switch (op) {
        case OP_SIGN:
                st = o->pkg->sign(o->state, m->qop, b, m->n_buffers, m->seq_no);
                break;
        case OP_VERIFY:
                st = o->pkg->verify(o->state, b, m->n_buffers, m->seq_no, &qop);
                break;
        case OP_SEAL:
                st = o->pkg->seal(o->state, m->qop, b, m->n_buffers, m->seq_no);
                break;
        default:
                st = o->pkg->unseal(o->state, b, m->n_buffers, m->seq_no, &qop);
                break;
        }
        /* SEC_E_INCOMPLETE_MESSAGE carries its SECBUFFER_MISSING back. */
        if (st < 0 && st != SEC_E_INCOMPLETE_MESSAGE)
                return st;

        sspiw__message_rep__init(rep);
        if (o->pkg->msg_keys_follow && (op == OP_SEAL || op == OP_UNSEAL)) {
                Config *cfg = server_config(job->conn->server);
                if (!cfg->message_in_daemon)
                        rep->msg_keys = rpc_msg_keys(job, o);
                config_unref(cfg);
        }
        for (size_t i = 0; i < m->n_buffers; i++) {
                uint32_t base = pkg_buffer_base_type(&b[i]);

                sspiw__buffer__init(&w[i]);
                w[i].type = b[i].type;
                if (b[i].has_offset) {
                        /* Inside the caller's first DATA buffer: only the
                         * bytes that changed (plaintext) travel back. */
                        w[i].has_offset = true;
                        w[i].offset = b[i].offset;
                        w[i].has_within = b[i].has_base;
                        w[i].within = b[i].base;
                        if (b[i].data && base == SECBUFFER_DATA) {
                                w[i].has_data = true;
                                w[i].data.data = b[i].data;
                                w[i].data.len = b[i].len;
                        } else {
                                w[i].has_size = true;
                                w[i].size = base == SECBUFFER_EXTRA || base == SECBUFFER_MISSING
                                                    ? b[i].count
                                                    : (uint32_t) b[i].len;
                        }
                } else if (base == SECBUFFER_STREAM) {
                        /* Never written back: what changed in it travels
                         * with the DATA buffer that points into it. */
                } else if (base == SECBUFFER_MISSING || base == SECBUFFER_EXTRA) {
                        w[i].has_size = true;
                        w[i].size = b[i].count;
                } else if (b[i].len <= b[i].cap || b[i].owned) {
                        w[i].has_data = true;
                        w[i].data.data = b[i].data;
                        w[i].data.len = b[i].len;
                }
                if (b[i].owned)
                        job_defer_free(job, b[i].data);
                pw[i] = &w[i];
        }
        rep->n_buffers = m->n_buffers;
        rep->buffers = pw;
        rep->qop = qop == PKG_QOP_UNSET ? 0 : qop;
        rep->has_qop_unset = qop == PKG_QOP_UNSET;
        rep->qop_unset = qop == PKG_QOP_UNSET;
        reply->body_case = SSPIW__ENVELOPE__BODY_MESSAGE_REP;
        reply->message_rep = rep;
        return st;
}

SECURITY_STATUS rpc_make_signature(Job *job, Sspiw__Envelope *reply) {
        return message_op(job, reply, job->req->make_signature, OP_SIGN);
}

SECURITY_STATUS rpc_verify_signature(Job *job, Sspiw__Envelope *reply) {
        return message_op(job, reply, job->req->verify_signature, OP_VERIFY);
}

SECURITY_STATUS rpc_encrypt_message(Job *job, Sspiw__Envelope *reply) {
        return message_op(job, reply, job->req->encrypt_message, OP_SEAL);
}

SECURITY_STATUS rpc_decrypt_message(Job *job, Sspiw__Envelope *reply) {
        return message_op(job, reply, job->req->decrypt_message, OP_UNSEAL);
}
