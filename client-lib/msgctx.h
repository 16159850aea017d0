/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Message contexts in the caller (issue 14, message-protection = caller):
 * when a context completes, the daemon may hand over its per-message state
 * (CtxStepRep.msg_keys); MakeSignature, VerifySignature, EncryptMessage and
 * DecryptMessage on that context then run here, with no daemon round
 * trip, in the same layouts and with the same statuses as the daemon's.
 *
 * Key memory: one mmap()ed page per context, MADV_DONTDUMP and
 * MADV_WIPEONFORK, wiped on DeleteSecurityContext, at exit and in a
 * forked child (whose handles are invalid anyway: its calls go to the
 * daemon, which does not know them).
 */

#include <stdbool.h>
#include <stdint.h>

#include "sspi.h"
#include "tlsrec.h"
#include "wire.h"

/* The longest receive window a state carries (Kerberos', msg-krb5.c). */
#define KRB_MSG_WINDOW_MAX 20

typedef enum MsgOp {
        MSG_SIGN,
        MSG_VERIFY,
        MSG_SEAL,
        MSG_UNSEAL,
} MsgOp;

/* The keys the leg that completed `h` carried; a state this library cannot
 * use is dropped (the calls then go to the daemon, which still has it). */
void msgctx_install(const SecHandle *h, const Sspiw__MsgKeys *k);
/* A new daemon connection (after a fork, a change of euid/egid/groups or
 * a lost daemon): the handles of the old one are invalid there, so their
 * message calls go to the daemon and fail as they would in daemon mode.
 * Lock-free: called under the connection lock. */
void msgctx_connection_changed(void);
/* ExportSecurityContext: the per-message state of `h` as it stands now
 * (ExportCtxReq.keys), in ret->m pointing into *ret: NTLM its signing keys
 * (which the daemon checks are the context's), RC4 streams and sequence
 * numbers; Kerberos its sequence numbers and receive window, never a key.
 * False when this process holds none for h (the daemon's own state is
 * then current). The caller wipes *ret after the request went out. */
typedef struct MsgSnapshot {
        Sspiw__MsgKeys m;
        uint8_t send_sign[16], recv_sign[16];
        uint8_t send_rc4[258], recv_rc4[258];
        uint32_t window[KRB_MSG_WINDOW_MAX];
} MsgSnapshot;
bool msgctx_snapshot(const SecHandle *h, MsgSnapshot *ret);
/* DeleteSecurityContext: wipe and forget. */
void msgctx_forget(const SecHandle *h);
/* Schannel (mech 3): a call the library hands to the daemon carries its
 * record numbers, and no other call on the context runs here until the
 * answer has brought the new state (msgctx_handoff_done). */
typedef struct MsgHandoff {
        bool active;
        SecHandle h;
        Sspiw__MsgKeys m;
} MsgHandoff;

/* True when `h` is a message context of this process: the call ran here
 * and *ret is its status. False: send it to the daemon; with ho->active,
 * with ho->m as MessageReq.keys, and call msgctx_handoff_done after. */
bool msgctx_message(MsgOp op, const SecHandle *h, uint32_t qop, SecBufferDesc *d, ULONG *pfQOP,
                    SECURITY_STATUS *ret, MsgHandoff *ho);
/* ISC/ASC on a context whose records the library protects: the numbers
 * for InitCtxReq/AcceptCtxReq.keys (ho->active), the context held until
 * msgctx_handoff_done. */
void msgctx_handoff_begin(const SecHandle *h, MsgHandoff *ho);
/* The daemon's answer: its state for the context (installed), a paused
 * or absent one (the keys go: the calls go to the daemon). A no-op for
 * an inactive ho, except that keys are installed when given. */
void msgctx_handoff_done(MsgHandoff *ho, const Sspiw__MsgKeys *k);

/* ---- NTLM (msg-ntlm.c) ---- */
typedef struct NtlmRc4State {
        uint8_t s[256];
        uint8_t i, j;
} NtlmRc4State;

typedef struct NtlmMsgState {
        uint32_t flags;
        uint8_t send_sign[16], recv_sign[16];
        NtlmRc4State send_rc4, recv_rc4;
        uint32_t send_seq, recv_seq;
} NtlmMsgState;

/* False when this build cannot run NTLM's primitives (MD5 refused by the
 * crypto policy): the context then stays on the daemon path. */
bool ntlm_msg_usable(void);
SECURITY_STATUS ntlm_msg(NtlmMsgState *c, MsgOp op, uint32_t qop, SecBufferDesc *d, ULONG *pfQOP);

/* ---- Kerberos (msg-krb5.c) ---- */
#define KRB_MSG_KEY_MAX 32
#define KRB_MSG_WINDOW KRB_MSG_WINDOW_MAX

/* One direction's keys, RFC 3961 derived from the context's token key by
 * the daemon: Ke and Ki of the seal usage, Kc of the seal usage (sign-only
 * wrap tokens) and of the sign usage (MIC tokens). */
typedef struct KrbMsgKeys {
        uint8_t ke[KRB_MSG_KEY_MAX], ki[KRB_MSG_KEY_MAX], kc_seal[KRB_MSG_KEY_MAX], kc_sign[KRB_MSG_KEY_MAX];
} KrbMsgKeys;

typedef struct KrbMsgState {
        uint32_t key_len;       /* 16: aes128-cts-hmac-sha1-96, 32: aes256 */
        uint8_t flags;          /* token flags this side sends: 0x01 sent by acceptor, 0x04 acceptor subkey */
        KrbMsgKeys send, recv;
        uint32_t send_seq;
        /* Heimdal's receive window (lib/gssapi/krb5/sequence.c). */
        uint32_t order_flags, first_seq, length, elem[KRB_MSG_WINDOW];
} KrbMsgState;

/* False when libcrypto lacks AES-CBC-CTS or HMAC-SHA1 (the context then
 * stays on the daemon path). */
bool krb_msg_usable(void);
SECURITY_STATUS krb_msg(KrbMsgState *c, MsgOp op, uint32_t qop, SecBufferDesc *d, ULONG *pfQOP);

/* ---- Schannel (msg-tls.c) ---- */
typedef struct TlsMsgState {
        TlsRecKeys send, recv;
        uint64_t send_seq, recv_seq;
} TlsMsgState;

/* Not a status: the call goes to the daemon. */
#define TLS_HANDOFF ((SECURITY_STATUS) 0x7fff0001)
SECURITY_STATUS tls_msg(TlsMsgState *c, MsgOp op, SecBufferDesc *d);

/* The message code's view of a caller's buffers, the daemon path's
 * (daemon/rpc/message.c, client-lib/buffers.c buffers_to_wire): a type
 * without its attribute bits; no bytes for MISSING/EXTRA or an empty
 * buffer; the first buffer of a type. */
#define MSG_BUF_BASE(t) ((t) & ~(uint32_t) SECBUFFER_ATTRMASK)

static inline uint8_t *msg_bdata(const SecBuffer *b) {
        uint32_t t = MSG_BUF_BASE(b->BufferType);
        if (!b->pvBuffer || !b->cbBuffer || t == SECBUFFER_MISSING || t == SECBUFFER_EXTRA)
                return NULL;
        return b->pvBuffer;
}

static inline size_t msg_blen(const SecBuffer *b) {
        return msg_bdata(b) ? b->cbBuffer : 0;
}

static inline SecBuffer *msg_find(SecBufferDesc *d, uint32_t type) {
        for (uint32_t i = 0; i < d->cBuffers; i++)
                if (MSG_BUF_BASE(d->pBuffers[i].BufferType) == type)
                        return &d->pBuffers[i];
        return NULL;
}
