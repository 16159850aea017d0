/* SPDX-License-Identifier: MIT */
/*
 * Extended Protection on the server side (issue 17 item 6):
 * SspiSetChannelBindingFlags turns the tls-server-end-point bindings a
 * Schannel server queried into the SEC_CHANNEL_BINDINGS_EX form with the
 * audit flag, and an NTLM acceptor given that form checks the client's
 * bindings exactly as with the plain one.
 *
 * Sources: Microsoft, "SspiSetChannelBindingFlags function" (SspiCli, user
 * and kernel mode; the server converts the bindings it queried to the
 * ChannelBindingsEX format and sets the audit flag before ASC) and the
 * Windows SDK's sspi.h (SEC_CHANNEL_BINDINGS_EX: magic 'XEBC', flags,
 * header and structure lengths, then the eight SEC_CHANNEL_BINDINGS
 * fields; SEC_CHANNEL_BINDINGS_VALID_FLAGS = AUDIT_BINDINGS = 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sspi.h"
#include "testlib.h"
#include "tpkgs.h"

#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_CONNECTION)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_CONNECTION)

/* NTLM, three legs, with the client's and the server's bindings as given. */
static SECURITY_STATUS ntlm_with_bindings(TpCreds *c, const SecPkgContext_Bindings *cli,
                                          const SecPkgContext_Bindings *srv) {
        uint8_t a[4096], b[4096];
        SecBuffer ib[2], ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, ib }, out = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle cx, sx;
        ULONG attrs;
        SECURITY_STATUS st;

        ob = (SecBuffer) { sizeof(a), SECBUFFER_TOKEN, a };
        st = InitializeSecurityContextA(&c->cli[TP_NTLM], NULL, "HTTP/localhost", ISC_FLAGS, 0, 0, NULL, 0, &cx, &out,
                                        &attrs, NULL);
        if (st != SEC_I_CONTINUE_NEEDED)
                return st;
        ib[0] = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, a };
        ob = (SecBuffer) { sizeof(b), SECBUFFER_TOKEN, b };
        st = AcceptSecurityContext(&c->srv[TP_NTLM], NULL, &in, ASC_FLAGS, 0, &sx, &out, &attrs, NULL);
        if (st != SEC_I_CONTINUE_NEEDED) {
                DeleteSecurityContext(&cx);
                return st;
        }
        ib[0] = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, b };
        ib[1] = (SecBuffer) { cli->BindingsLength, SECBUFFER_CHANNEL_BINDINGS, cli->Bindings };
        in.cBuffers = 2;
        ob = (SecBuffer) { sizeof(a), SECBUFFER_TOKEN, a };
        st = InitializeSecurityContextA(&c->cli[TP_NTLM], &cx, "HTTP/localhost", ISC_FLAGS, 0, 0, &in, 0, &cx, &out,
                                        &attrs, NULL);
        if (st == SEC_E_OK) {
                ib[0] = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, a };
                ib[1] = (SecBuffer) { srv->BindingsLength, SECBUFFER_CHANNEL_BINDINGS, srv->Bindings };
                ob = (SecBuffer) { sizeof(b), SECBUFFER_TOKEN, b };
                st = AcceptSecurityContext(&c->srv[TP_NTLM], &sx, &in, ASC_FLAGS, 0, &sx, &out, &attrs, NULL);
        }
        DeleteSecurityContext(&cx);
        DeleteSecurityContext(&sx);
        return st;
}

int main(void) {
        TpCreds c = { 0 };
        CtxtHandle tc, ts;
        SecPkgContext_Bindings cb = { 0 }, sb = { 0 };
        const SEC_CHANNEL_BINDINGS_EX *ex;
        SEC_CHANNEL_BINDINGS plain;
        uint8_t data[256];
        ULONG data_len;

        if (!t_status(tp_acquire(&c, TP_SCHANNEL, NULL), SEC_E_OK, "Schannel credentials") ||
            !t_status(tp_acquire(&c, TP_NTLM, NULL), SEC_E_OK, "NTLM credentials") ||
            !t_status(tp_tls_handshake(&c, &tc, &ts), SEC_E_OK, "TLS handshake"))
                return t_done();
        t_status(QueryContextAttributesA(&tc, SECPKG_ATTR_ENDPOINT_BINDINGS, &cb), SEC_E_OK,
                 "client ENDPOINT_BINDINGS");
        t_status(QueryContextAttributesA(&ts, SECPKG_ATTR_ENDPOINT_BINDINGS, &sb), SEC_E_OK,
                 "server ENDPOINT_BINDINGS");
        if (!cb.Bindings || !sb.Bindings || sb.BindingsLength > sizeof(data) + sizeof(plain))
                return t_done();
        plain = *sb.Bindings;
        data_len = sb.BindingsLength - (ULONG) sizeof(plain);
        memcpy(data, sb.Bindings + 1, data_len);

        /* Bad arguments first: nothing changes. */
        t_status(SspiSetChannelBindingFlags(NULL, SEC_CHANNEL_BINDINGS_AUDIT_BINDINGS), SEC_E_INVALID_PARAMETER,
                 "NULL bindings: SEC_E_INVALID_PARAMETER");
        t_status(SspiSetChannelBindingFlags(&sb, 0x2), SEC_E_INVALID_PARAMETER,
                 "a flag outside SEC_CHANNEL_BINDINGS_VALID_FLAGS: SEC_E_INVALID_PARAMETER");
        {
                SecPkgContext_Bindings bad = sb;
                bad.BindingsLength = sizeof(SEC_CHANNEL_BINDINGS) + 4; /* data runs past it */
                t_status(SspiSetChannelBindingFlags(&bad, SEC_CHANNEL_BINDINGS_AUDIT_BINDINGS),
                         SEC_E_INVALID_PARAMETER, "fields running past BindingsLength: SEC_E_INVALID_PARAMETER");
        }
        t_ok(sb.BindingsLength == sizeof(plain) + data_len && !memcmp(sb.Bindings, &plain, sizeof(plain)),
             "refused calls left the bindings as they were");

        t_status(SspiSetChannelBindingFlags(&sb, SEC_CHANNEL_BINDINGS_AUDIT_BINDINGS), SEC_E_OK,
                 "SspiSetChannelBindingFlags(AUDIT_BINDINGS)");
        ex = (const SEC_CHANNEL_BINDINGS_EX *) sb.Bindings;
        t_ok(sb.BindingsLength == sizeof(*ex) + data_len && ex->magicNumber == SEC_CHANNEL_BINDINGS_EX_MAGIC &&
                     ex->flags == SEC_CHANNEL_BINDINGS_AUDIT_BINDINGS && ex->cbHeaderLength == sizeof(*ex) &&
                     ex->cbStructureLength == sb.BindingsLength,
             "the _EX form: 'XEBC', the flag, header %u, structure %u bytes", (unsigned) ex->cbHeaderLength,
             (unsigned) ex->cbStructureLength);
        t_ok(ex->cbApplicationDataLength == plain.cbApplicationDataLength &&
                     ex->dwApplicationDataOffset == plain.dwApplicationDataOffset + 16 &&
                     !memcmp((const uint8_t *) ex + ex->dwApplicationDataOffset,
                             data + plain.dwApplicationDataOffset - sizeof(plain), plain.cbApplicationDataLength),
             "the same tls-server-end-point data, its offset moved by the 16-byte header");
        t_status(SspiSetChannelBindingFlags(&sb, 0), SEC_E_OK, "again on the _EX form, flags 0");
        t_ok(ex == (const SEC_CHANNEL_BINDINGS_EX *) sb.Bindings && ex->flags == 0,
             "the _EX form keeps its buffer and takes the new flags");
        SspiSetChannelBindingFlags(&sb, SEC_CHANNEL_BINDINGS_AUDIT_BINDINGS);

        /* The acceptor takes the _EX form as it takes the plain one. */
        t_status(ntlm_with_bindings(&c, &cb, &sb), SEC_E_OK,
                 "NTLM: client's plain bindings, server's _EX bindings of the same channel: SEC_E_OK");
        {
                uint8_t *d = (uint8_t *) sb.Bindings + ex->dwApplicationDataOffset + ex->cbApplicationDataLength - 1;
                *d ^= 1;
                t_status(ntlm_with_bindings(&c, &cb, &sb), SEC_E_BAD_BINDINGS,
                         "NTLM: _EX bindings of another channel (audit flag set): SEC_E_BAD_BINDINGS");
                *d ^= 1;
        }
        FreeContextBuffer(cb.Bindings);
        FreeContextBuffer(sb.Bindings);
        DeleteSecurityContext(&tc);
        DeleteSecurityContext(&ts);
        tp_release(&c);
        return t_done();
}
