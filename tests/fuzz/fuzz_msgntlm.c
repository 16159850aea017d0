/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for libsspi's own NTLM message calls
 * (client-lib/msg-ntlm.c, message-protection = caller): what a peer sends
 * reaches VerifySignature/DecryptMessage in the caller's process now.
 *
 * Input: byte 0 picks the negotiated flags (bit 0 SIGN, bit 1 SEAL, bit 2
 * KEY_EXCH), the call (bit 3: DecryptMessage, else VerifySignature) and the
 * layout (bit 4: one SECBUFFER_STREAM + DATA, else TOKEN + DATA; bit 5 a
 * READONLY_WITH_CHECKSUM buffer after them; bit 6 a read-only DATA); byte 1
 * the token length (0..32); then the token and the data.
 *
 * Properties, abort() when broken: a failed call changes neither the
 * context nor any buffer; a successful one leaves every pointer inside the
 * caller's memory; and every message this library seals or signs on a
 * second context of the same keys is read back to its plaintext.
 */
#include <stdlib.h>
#include <string.h>

#include "msgctx.h"

static void rc4_init(NtlmRc4State *r, const uint8_t key[16]) {
        uint8_t j = 0;

        for (int i = 0; i < 256; i++)
                r->s[i] = (uint8_t) i;
        for (int i = 0; i < 256; i++) {
                uint8_t t = r->s[i];
                j = (uint8_t) (j + t + key[i % 16]);
                r->s[i] = r->s[j];
                r->s[j] = t;
        }
        r->i = r->j = 0;
}

static void pair(uint32_t flags, NtlmMsgState *a, NtlmMsgState *b) {
        static const uint8_t k1[16] = "client-sign-key", k2[16] = "server-sign-key", s1[16] = "client-seal-key",
                             s2[16] = "server-seal-key";

        *a = (NtlmMsgState) { .flags = flags };
        memcpy(a->send_sign, k1, 16);
        memcpy(a->recv_sign, k2, 16);
        rc4_init(&a->send_rc4, s1);
        rc4_init(&a->recv_rc4, s2);
        *b = (NtlmMsgState) { .flags = flags };
        memcpy(b->send_sign, k2, 16);
        memcpy(b->recv_sign, k1, 16);
        rc4_init(&b->send_rc4, s2);
        rc4_init(&b->recv_rc4, s1);
}

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n) {
        NtlmMsgState a, b, before;
        uint32_t flags;
        uint8_t sel, tlen;
        size_t dlen;
        uint8_t *tok, *data, *extra, *stream;
        SecBuffer buf[3], saved[3];
        SecBufferDesc d = { SECBUFFER_VERSION, 2, buf };
        ULONG qop = 0x1234;
        SECURITY_STATUS st;

        if (n < 2)
                return 0;
        sel = p[0];
        tlen = p[1] % 33;
        if (n - 2 < tlen)
                return 0;
        flags = (sel & 1 ? 0x10 : 0) | (sel & 2 ? 0x20 : 0) | (sel & 4 ? 0x40000000 : 0);
        dlen = n - 2 - tlen;
        pair(flags, &a, &b);
        tok = malloc(tlen ? tlen : 1);
        data = malloc(dlen ? dlen : 1);
        extra = malloc(8);
        stream = malloc(tlen + dlen + 1);
        memcpy(tok, p + 2, tlen);
        memcpy(data, p + 2 + tlen, dlen);
        memcpy(extra, "checksum", 8);
        memcpy(stream, p + 2, tlen + dlen);
        if (sel & 0x10) {
                buf[0] = (SecBuffer) { (ULONG) (tlen + dlen), SECBUFFER_STREAM, stream };
                buf[1] = (SecBuffer) { 0, SECBUFFER_DATA, NULL };
        } else {
                buf[0] = (SecBuffer) { tlen, SECBUFFER_TOKEN, tlen ? tok : NULL };
                buf[1] = (SecBuffer) { (ULONG) dlen, SECBUFFER_DATA | (sel & 0x40 ? SECBUFFER_READONLY : 0),
                                       dlen ? data : NULL };
        }
        if (sel & 0x20) {
                buf[2] = (SecBuffer) { 8, SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, extra };
                d.cBuffers = 3;
        }
        memcpy(saved, buf, sizeof(buf));
        before = b;
        st = ntlm_msg(&b, sel & 8 ? MSG_UNSEAL : MSG_VERIFY, 0, &d, &qop);
        if (st != SEC_E_OK) {
                /* Nothing spent, nothing written. */
                if (memcmp(&before, &b, sizeof(b)) || memcmp(saved, buf, sizeof(buf)) || memcmp(tok, p + 2, tlen) ||
                    memcmp(data, p + 2 + tlen, dlen) || memcmp(stream, p + 2, tlen + dlen))
                        abort();
        } else if (sel & 0x10) {
                /* DATA points into the stream, after the signature. */
                if ((uint8_t *) buf[1].pvBuffer != stream + 16 || buf[1].cbBuffer != tlen + dlen - 16)
                        abort();
        }

        /* Round trip: what `a` seals or signs, `b` reads back. */
        pair(flags, &a, &b);
        {
                uint8_t t[16], *m = malloc(dlen ? dlen : 1);
                SecBuffer rb[2] = { { 16, SECBUFFER_TOKEN, t }, { (ULONG) dlen, SECBUFFER_DATA, dlen ? m : NULL } };
                SecBufferDesc rd = { SECBUFFER_VERSION, 2, rb };
                bool seal = (sel & 8) && (flags & 0x30);
                ULONG sq = seal && (sel & 0x80) ? SECQOP_WRAP_NO_ENCRYPT : 0;

                memcpy(m, p + 2 + tlen, dlen);
                st = seal ? ntlm_msg(&a, MSG_SEAL, sq, &rd, NULL) : ntlm_msg(&a, MSG_SIGN, 0, &rd, NULL);
                if (st != SEC_E_OK || rb[0].cbBuffer != 16)
                        abort();
                st = ntlm_msg(&b, seal ? MSG_UNSEAL : MSG_VERIFY, 0, &rd, &qop);
                if (st != SEC_E_OK || (dlen && memcmp(m, p + 2 + tlen, dlen)))
                        abort();
                /* A replay is refused (a dummy signature, without SIGN, has
                 * no sequence number to refuse it by). */
                if ((flags & 0x10 || seal) && ntlm_msg(&b, seal ? MSG_UNSEAL : MSG_VERIFY, 0, &rd, &qop) == SEC_E_OK)
                        abort();
                free(m);
        }
        free(tok);
        free(data);
        free(extra);
        free(stream);
        return 0;
}
