/* SPDX-License-Identifier: MIT */
/*
 * A minimal RDP-style CredSSP server on sspi.h, for the interop tests
 * (tests/integration/test_credssp_interop.sh): answers the X.224
 * Connection Request with an RDP_NEG_RSP selecting PROTOCOL_HYBRID
 * (MS-RDPBCGR 2.2.1.2, 2.2.1.2.1), then feeds every byte the client sends
 * to AcceptSecurityContext("CREDSSP") and sends back what it returns, as
 * an RDP server drives CredSSP (MS-CSSP 3.1.5). One connection; prints
 * "OK <user>" or "FAIL 0x<status>" and exits 0 or 1.
 *
 *   credssp-server PORT PKI_DIR [CERT_NAME]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "schannel.h"
#include "testcert.h"

static bool send_all(int fd, const void *p, size_t len) {
        const uint8_t *b = p;
        while (len) {
                ssize_t n = send(fd, b, len, MSG_NOSIGNAL);
                if (n <= 0)
                        return false;
                b += n;
                len -= (size_t) n;
        }
        return true;
}

int main(int argc, char **argv) {
        static uint8_t in[1 << 16];
        static const uint8_t confirm[19] = { 0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                             0x00, 0x02, 0x00, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00 };
        struct sockaddr_in sa = { .sin_family = AF_INET };
        int one = 1, ls, fd;
        size_t have = 0;
        Cert cert;
        PCCERT_CONTEXT pc;
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION, .cCreds = 1 };
        CREDSSP_CRED cc = { .Type = CredsspSchannelCreds, .pSchannelCred = &sc };
        CredHandle cred;
        CtxtHandle ctx;
        bool have_ctx = false;
        TimeStamp ts;
        SECURITY_STATUS st = SEC_I_CONTINUE_NEEDED;
        ULONG attrs = 0;

        if (argc < 3)
                return 2;
        if (!t_load_cert(argv[2], argc > 3 ? argv[3] : "server-rsa", &cert))
                return 2;
        pc = &cert.cc;
        sc.paCred = &pc;
        st = AcquireCredentialsHandleA(NULL, "CREDSSP", SECPKG_CRED_INBOUND, NULL, &cc, NULL, NULL, &cred, &ts);
        if (st != SEC_E_OK) {
                printf("FAIL 0x%08x acquire\n", (unsigned) st);
                return 1;
        }
        st = SEC_I_CONTINUE_NEEDED;
        sa.sin_port = htons((uint16_t) atoi(argv[1]));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ls = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(ls, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(ls, 1) < 0)
                return 2;
        printf("LISTENING\n");
        fflush(stdout);
        fd = accept(ls, NULL, NULL);
        if (fd < 0)
                return 2;
        /* X.224 Connection Request: one TPKT. */
        {
                ssize_t n = recv(fd, in, sizeof(in), 0);
                if (n < 11 || in[0] != 3 || !send_all(fd, confirm, sizeof(confirm)))
                        return 1;
        }
        while (st == SEC_I_CONTINUE_NEEDED || st == SEC_E_INCOMPLETE_MESSAGE) {
                ssize_t n = recv(fd, in + have, sizeof(in) - have, 0);
                SecBuffer ib[2], ob[2] = { { 0, SECBUFFER_TOKEN, NULL }, { 0, SECBUFFER_ALERT, NULL } };
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };

                if (n <= 0) {
                        printf("FAIL peer closed (last 0x%08x)\n", (unsigned) st);
                        return 1;
                }
                have += (size_t) n;
                ib[0] = (SecBuffer) { (ULONG) have, SECBUFFER_TOKEN, in };
                ib[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = AcceptSecurityContext(&cred, have_ctx ? &ctx : NULL, &id, ASC_REQ_ALLOCATE_MEMORY,
                                           SECURITY_NATIVE_DREP, &ctx, &od, &attrs, &ts);
                fprintf(stderr, "credssp-server: %zu bytes in: 0x%08x, %u out\n", have, (unsigned) st, ob[0].cbBuffer);
                if (st == SEC_E_INCOMPLETE_MESSAGE)
                        continue;
                if (st < 0 && ob[1].cbBuffer && ob[1].pvBuffer) {
                        /* The errorCode TSRequest: the client learns why. */
                        fprintf(stderr, "credssp-server: %u bytes of errorCode sent\n", ob[1].cbBuffer);
                        (void) send_all(fd, ob[1].pvBuffer, ob[1].cbBuffer);
                        FreeContextBuffer(ob[1].pvBuffer);
                }
                have_ctx = true;
                /* Bytes Schannel did not take (SECBUFFER_EXTRA) come first next time. */
                if (ib[1].BufferType == SECBUFFER_EXTRA && ib[1].cbBuffer <= have) {
                        memmove(in, in + have - ib[1].cbBuffer, ib[1].cbBuffer);
                        have = ib[1].cbBuffer;
                } else
                        have = 0;
                if (ob[0].cbBuffer && ob[0].pvBuffer) {
                        bool ok = send_all(fd, ob[0].pvBuffer, ob[0].cbBuffer);
                        FreeContextBuffer(ob[0].pvBuffer);
                        if (!ok)
                                return 1;
                }
        }
        if (st != SEC_E_OK) {
                printf("FAIL 0x%08x\n", (unsigned) st);
                return 1;
        }
        {
                SecPkgContext_NamesA names = { 0 };
                if (QueryContextAttributesA(&ctx, SECPKG_ATTR_NAMES, &names) == SEC_E_OK)
                        printf("OK %s%s\n", names.sUserName, (attrs & ASC_RET_DELEGATE) ? " delegated" : "");
                else
                        printf("OK ?\n");
        }
        fflush(stdout);
        /* Let the client read the last bytes before we close. */
        sleep(1);
        DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&cred);
        close(fd);
        return 0;
}
