/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for libsspi's own Schannel record calls
 * (client-lib/msg-tls.c and proto/tlsrec.c, message-protection = caller):
 * what a TLS peer sends reaches DecryptMessage in the caller's process.
 *
 * Input: byte 0 picks the version (bit 0: TLS 1.3, else 1.2), the suite
 * (bits 1-2: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305), whether the
 * rest is taken as a record as it is (bit 3) or first sealed by a second
 * context of the same keys (else), and how many of the rest's bytes
 * follow as a second record's start (bits 4-7); then the bytes.
 *
 * Properties, abort() when broken: a call the library hands to the daemon
 * (TLS_HANDOFF) changes neither the context nor any buffer; an incomplete
 * record changes only the DATA buffer's type and count; a decrypted one
 * lays out HEADER, DATA, TRAILER (and EXTRA) inside the caller's buffer,
 * covering the record exactly, and moves the number on by one; every
 * record the sealing context makes reads back to its plaintext.
 */
#include <stdlib.h>
#include <string.h>

#include "msgctx.h"

static void pair(uint8_t sel, TlsMsgState *a, TlsMsgState *b) {
        TlsRecKeys k = { .version = (sel & 1) ? 0x0304 : 0x0303 };

        switch ((sel >> 1) & 3) {
        case 0:
                k.cipher = TLSREC_AES128_GCM;
                k.key_len = 16;
                break;
        case 1:
                k.cipher = TLSREC_AES256_GCM;
                k.key_len = 32;
                break;
        default:
                k.cipher = TLSREC_CHACHA20_POLY1305;
                k.key_len = 32;
                break;
        }
        memcpy(k.key, "0123456789abcdef0123456789abcdef", 32);
        memcpy(k.iv, "ivivivivivi!", 12);
        memset(a, 0, sizeof(*a));
        a->send = a->recv = k;
        a->send_seq = a->recv_seq = 7;
        *b = *a;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
        static uint8_t buf[70000], copy[70000];
        TlsMsgState a, b, saved;
        size_t len, extra;
        SecBuffer sb[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 4, sb };
        SECURITY_STATUS st;

        if (n < 1 || n > 20000)
                return 0;
        pair(in[0], &a, &b);
        extra = (in[0] >> 4) % (n);
        if (in[0] & 8) {
                len = n - 1;
                memcpy(buf, in + 1, len);
        } else {
                /* A record of ours with the input (at most 16 KiB) inside. */
                size_t h = tlsrec_header_len(&a.send), t = tlsrec_trailer_len(&a.send);
                size_t plen = n - 1 - extra > 16384 ? 16384 : n - 1 - extra;
                SecBuffer eb[3] = { { (ULONG) h, SECBUFFER_STREAM_HEADER, buf },
                                    { (ULONG) plen, SECBUFFER_DATA, buf + h },
                                    { (ULONG) t, SECBUFFER_STREAM_TRAILER, buf + h + plen } };
                SecBufferDesc ed = { SECBUFFER_VERSION, 3, eb };
                memcpy(buf + h, in + 1, plen);
                st = tls_msg(&a, MSG_SEAL, &ed);
                if (st != SEC_E_OK)
                        abort();
                if (plen == 0) {
                        if (eb[0].cbBuffer || eb[2].cbBuffer)
                                abort();
                        return 0;
                }
                len = h + plen + t;
                memcpy(buf + len, in + 1 + plen, extra); /* the next record's first bytes */
                len += extra;
        }
        memcpy(copy, buf, len);
        sb[0] = (SecBuffer) { (ULONG) len, SECBUFFER_DATA, buf };
        for (int i = 1; i < 4; i++)
                sb[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        saved = b;
        st = tls_msg(&b, MSG_UNSEAL, &d);
        if (st == TLS_HANDOFF) {
                if (memcmp(&saved, &b, sizeof(b)) || memcmp(copy, buf, len) || sb[0].BufferType != SECBUFFER_DATA ||
                    sb[0].cbBuffer != len || sb[1].BufferType != SECBUFFER_EMPTY)
                        abort();
                if (!(in[0] & 8))
                        abort(); /* our own record must read back */
                return 0;
        }
        if (st == SEC_E_INCOMPLETE_MESSAGE) {
                if (memcmp(&saved, &b, sizeof(b)) || memcmp(copy, buf, len) || sb[0].BufferType != SECBUFFER_MISSING ||
                    sb[0].cbBuffer == 0)
                        abort();
                return 0;
        }
        if (st != SEC_E_OK || b.recv_seq != saved.recv_seq + 1)
                abort();
        /* HEADER, DATA, TRAILER in order inside buf, covering one record. */
        if (sb[0].BufferType != SECBUFFER_STREAM_HEADER || sb[0].pvBuffer != buf ||
            sb[1].BufferType != SECBUFFER_DATA || (uint8_t *) sb[1].pvBuffer != buf + sb[0].cbBuffer ||
            sb[2].BufferType != SECBUFFER_STREAM_TRAILER ||
            (uint8_t *) sb[2].pvBuffer != buf + sb[0].cbBuffer + sb[1].cbBuffer)
                abort();
        size_t rec = (size_t) sb[0].cbBuffer + sb[1].cbBuffer + sb[2].cbBuffer;
        if (rec > len || rec != 5 + ((size_t) copy[3] << 8 | copy[4]))
                abort();
        if (rec < len && (sb[3].BufferType != SECBUFFER_EXTRA || sb[3].cbBuffer != len - rec ||
                          (uint8_t *) sb[3].pvBuffer != buf + rec))
                abort();
        if (!(in[0] & 8) && (sb[1].cbBuffer != n - 1 - extra && sb[1].cbBuffer != 16384))
                abort();
        if (!(in[0] & 8) && memcmp(sb[1].pvBuffer, in + 1, sb[1].cbBuffer))
                abort();
        return 0;
}
