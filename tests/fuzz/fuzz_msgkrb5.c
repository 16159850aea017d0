/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for libsspi's own Kerberos message calls
 * (client-lib/msg-krb5.c, message-protection = caller): what a peer sends
 * reaches VerifySignature/DecryptMessage in the caller's process now.
 *
 * Input: byte 0 picks the context (bit 0 acceptor side, bit 1 acceptor
 * subkey, bit 2 aes128 else aes256), the call (bit 3: DecryptMessage,
 * else VerifySignature) and the layout (bit 4: one SECBUFFER_STREAM +
 * DATA, else TOKEN + DATA; bit 5 a READONLY_WITH_CHECKSUM buffer after
 * them; bit 6 a read-only DATA; bit 7 the round trip seals without
 * confidentiality); byte 1 the token length (0..63); then the token and
 * the data. Inputs that start with a token of this context's own (a valid
 * header with the right flags) reach the checksum and decryption code.
 *
 * Properties, abort() when broken: a failed call changes neither the
 * context nor any buffer; a successful one leaves every pointer inside the
 * caller's memory; and every message this library seals or signs on a
 * second context of the same keys is read back to its plaintext, once (a
 * replay is refused).
 */
#include <stdlib.h>
#include <string.h>

#include "msgctx.h"

/* Two ends of one context: a's send keys are b's receive keys. */
static void pair(uint8_t sel, KrbMsgState *a, KrbMsgState *b) {
        bool acceptor = sel & 1, subkey = sel & 2;
        uint32_t n = sel & 4 ? 16 : 32;

        *a = (KrbMsgState) { .key_len = n, .flags = (uint8_t) ((acceptor ? 1 : 0) | (subkey ? 4 : 0)),
                             .send_seq = 1000, .order_flags = 12, .first_seq = 2000 };
        *b = (KrbMsgState) { .key_len = n, .flags = (uint8_t) ((acceptor ? 0 : 1) | (subkey ? 4 : 0)),
                             .send_seq = 2000, .order_flags = 12, .first_seq = 1000 };
        memset(&a->send, 0x11, sizeof(a->send));
        memset(&a->recv, 0x22, sizeof(a->recv));
        memset(&b->send, 0x22, sizeof(b->send));
        memset(&b->recv, 0x11, sizeof(b->recv));
        a->elem[0] = 1999;
        b->elem[0] = 999;
}

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n) {
        KrbMsgState a, b, before;
        uint8_t sel, tlen;
        size_t dlen;
        uint8_t *tok, *data, *extra, *stream;
        SecBuffer buf[3], saved[3];
        SecBufferDesc d = { SECBUFFER_VERSION, 2, buf };
        ULONG qop = 0x1234;
        SECURITY_STATUS st;

        if (n < 2 || !krb_msg_usable())
                return 0;
        sel = p[0];
        tlen = p[1] % 64;
        if (n - 2 < tlen)
                return 0;
        dlen = n - 2 - tlen;
        pair(sel, &a, &b);
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
        st = krb_msg(&b, sel & 8 ? MSG_UNSEAL : MSG_VERIFY, 0, &d, &qop);
        if (st != SEC_E_OK) {
                /* Nothing written; the window moves only for a token that
                 * claims the wrong direction (recorded first, as the
                 * daemon does), never the keys or the send side. */
                if (memcmp(saved, buf, sizeof(buf)) || memcmp(tok, p + 2, tlen) || memcmp(data, p + 2 + tlen, dlen) ||
                    memcmp(stream, p + 2, tlen + dlen) || memcmp(&before.send, &b.send, sizeof(b.send)) ||
                    memcmp(&before.recv, &b.recv, sizeof(b.recv)) || before.send_seq != b.send_seq)
                        abort();
                if (st == SEC_E_MESSAGE_ALTERED && n >= 5 && (p[4] & 1) && !(b.flags & 1) &&
                    memcmp(&before, &b, sizeof(b)))
                        abort(); /* from the right direction: checked before it was recorded */
        } else if (sel & 0x10) {
                /* DATA points into the stream. */
                if ((uint8_t *) buf[1].pvBuffer < stream ||
                    (uint8_t *) buf[1].pvBuffer + buf[1].cbBuffer > stream + tlen + dlen)
                        abort();
        }

        /* Round trip: what `a` seals or signs, `b` reads back, once. */
        pair(sel, &a, &b);
        {
                uint8_t t[64], *m = malloc(dlen ? dlen : 1), *s = malloc(dlen + 64);
                SecBuffer rb[3] = { { 64, SECBUFFER_TOKEN, t },
                                    { (ULONG) dlen, SECBUFFER_DATA, dlen ? m : NULL },
                                    { 8, SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, extra } };
                SecBufferDesc rd = { SECBUFFER_VERSION, sel & 0x20 ? 3 : 2, rb };
                bool seal = sel & 8;
                ULONG sq = seal && (sel & 0x80) ? SECQOP_WRAP_NO_ENCRYPT : 0, tl;

                memcpy(m, p + 2 + tlen, dlen);
                st = seal ? krb_msg(&a, MSG_SEAL, sq, &rd, NULL) : krb_msg(&a, MSG_SIGN, 0, &rd, NULL);
                tl = rb[0].cbBuffer;
                if (st != SEC_E_OK || tl != (seal && !sq ? 60 : 28))
                        abort();
                if (seal && !(sel & 0x20)) {
                        /* The same token as one stream. */
                        KrbMsgState b2 = b;
                        SecBuffer sb[2] = { { (ULONG) (tl + dlen), SECBUFFER_STREAM, s }, { 0, SECBUFFER_DATA, NULL } };
                        SecBufferDesc sd = { SECBUFFER_VERSION, 2, sb };

                        memcpy(s, t, tl);
                        memcpy(s + tl, m, dlen);
                        if (krb_msg(&b2, MSG_UNSEAL, 0, &sd, &qop) != SEC_E_OK || sb[1].cbBuffer != dlen ||
                            (dlen && memcmp(sb[1].pvBuffer, p + 2 + tlen, dlen)) ||
                            qop != (sq ? SECQOP_WRAP_NO_ENCRYPT : 0))
                                abort();
                }
                memcpy(s, t, tl);
                memcpy(s + tl, m, dlen);
                st = krb_msg(&b, seal ? MSG_UNSEAL : MSG_VERIFY, 0, &rd, &qop);
                if (st != SEC_E_OK || (dlen && memcmp(m, p + 2 + tlen, dlen)))
                        abort();
                /* The same bytes again: a replay. */
                memcpy(t, s, tl);
                memcpy(m, s + tl, dlen);
                rb[0].cbBuffer = tl;
                if (krb_msg(&b, seal ? MSG_UNSEAL : MSG_VERIFY, 0, &rd, &qop) != SEC_E_OUT_OF_SEQUENCE)
                        abort();
                free(m);
                free(s);
        }
        free(tok);
        free(data);
        free(extra);
        free(stream);
        return 0;
}

#ifdef FUZZ_SEEDS
/* The corpus (tests/fuzz/corpus/msgkrb5/): tokens the library's `a` side
 * makes, as `b` receives them, for a spread of selector bytes. Build with
 * -DFUZZ_SEEDS and without -fsanitize=fuzzer; argv[1] is the directory. */
#include <stdio.h>

int main(int argc, char **argv) {
        static const uint8_t sels[] = { 0x00, 0x01, 0x02, 0x07, 0x08, 0x09, 0x0b, 0x0c, 0x18, 0x19, 0x28, 0x29,
                                        0x48, 0x88, 0x89, 0x98, 0x10, 0x30 };
        static const char msg[] = "a message of forty-one bytes in the seed";

        if (argc != 2 || !krb_msg_usable())
                return 2;
        for (size_t i = 0; i < sizeof(sels); i++) {
                KrbMsgState a, b;
                uint8_t t[64], m[sizeof(msg)], out[2 + 64 + sizeof(msg)];
                SecBuffer rb[2] = { { 64, SECBUFFER_TOKEN, t }, { sizeof(msg), SECBUFFER_DATA, m } };
                SecBufferDesc rd = { SECBUFFER_VERSION, 2, rb };
                uint8_t sel = sels[i];
                char path[4096];
                FILE *f;

                pair(sel, &a, &b);
                memcpy(m, msg, sizeof(msg));
                if (krb_msg(&a, sel & 8 ? MSG_SEAL : MSG_SIGN, sel & 0x80 ? SECQOP_WRAP_NO_ENCRYPT : 0, &rd, NULL) !=
                    SEC_E_OK)
                        return 1;
                out[0] = sel;
                out[1] = (uint8_t) rb[0].cbBuffer;
                memcpy(out + 2, t, rb[0].cbBuffer);
                memcpy(out + 2 + rb[0].cbBuffer, m, sizeof(msg));
                snprintf(path, sizeof(path), "%s/seed-%02x", argv[1], sel);
                f = fopen(path, "we");
                if (!f || fwrite(out, 1, 2 + rb[0].cbBuffer + sizeof(msg), f) != 2 + rb[0].cbBuffer + sizeof(msg))
                        return 1;
                fclose(f);
        }
        return 0;
}
#endif
