/* SPDX-License-Identifier: MIT */
/*
 * A minimal RDP-style CredSSP client on sspi.h, for the interop tests
 * (tests/integration/test_credssp_interop.c): sends an X.224 Connection
 * Request asking for PROTOCOL_HYBRID (MS-RDPBCGR 2.2.1.1), checks the
 * Connection Confirm selects it, then runs InitializeSecurityContext
 * ("CREDSSP", target TERMSRV/HOST) over the socket until it completes, as
 * mstsc drives CredSSP (MS-CSSP 3.1.5). Prints "OK" or "FAIL 0x<status>"
 * and exits 0 or 1.
 *
 *   credssp-client HOST PORT DOMAIN USER PASSWORD
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sspi.h"

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
        static const uint8_t request[19] = { 0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00,
                                             0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00 };
        struct sockaddr_in sa = { .sin_family = AF_INET };
        SEC_WINNT_AUTH_IDENTITY_A id;
        CREDSSP_CRED cc = { .Type = CredsspPasswordCreds, .pSpnegoCred = &id };
        CredHandle cred;
        CtxtHandle ctx;
        bool have_ctx = false;
        TimeStamp ts;
        SECURITY_STATUS st;
        ULONG attrs = 0;
        size_t have = 0;
        char target[512];
        int fd;

        if (argc < 6)
                return 2;
        id = (SEC_WINNT_AUTH_IDENTITY_A) { (unsigned char *) argv[4], (ULONG) strlen(argv[4]),
                                           (unsigned char *) argv[3], (ULONG) strlen(argv[3]),
                                           (unsigned char *) argv[5], (ULONG) strlen(argv[5]),
                                           SEC_WINNT_AUTH_IDENTITY_ANSI };
        st = AcquireCredentialsHandleA(NULL, "CREDSSP", SECPKG_CRED_OUTBOUND, NULL, &cc, NULL, NULL, &cred, &ts);
        if (st != SEC_E_OK) {
                printf("FAIL 0x%08x acquire\n", (unsigned) st);
                return 1;
        }
        sa.sin_port = htons((uint16_t) atoi(argv[2]));
        if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
                return 2;
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || !send_all(fd, request, sizeof(request))) {
                printf("FAIL connect\n");
                return 1;
        }
        {
                /* Connection Confirm: TPKT, X.224 CC, RDP_NEG_RSP selecting HYBRID (2). */
                ssize_t n = recv(fd, in, sizeof(in), 0);
                if (n < 19 || in[0] != 3 || in[11] != 0x02 || in[15] != 0x02) {
                        printf("FAIL no PROTOCOL_HYBRID in the Connection Confirm\n");
                        return 1;
                }
        }
        snprintf(target, sizeof(target), "TERMSRV/%s", argv[1]);
        for (;;) {
                SecBuffer ib[2] = { { (ULONG) have, SECBUFFER_TOKEN, in }, { 0, SECBUFFER_EMPTY, NULL } };
                SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc id_ = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };

                st = InitializeSecurityContextA(&cred, have_ctx ? &ctx : NULL, target, ISC_REQ_ALLOCATE_MEMORY, 0,
                                                SECURITY_NATIVE_DREP, have_ctx ? &id_ : NULL, 0, &ctx, &od, &attrs,
                                                &ts);
                fprintf(stderr, "credssp-client: %zu bytes in: 0x%08x, %u out\n", have, (unsigned) st, ob.cbBuffer);
                if (st != SEC_E_INCOMPLETE_MESSAGE) {
                        have_ctx = true;
                        /* Bytes not taken (SECBUFFER_EXTRA) come first next time. */
                        if (ib[1].BufferType == SECBUFFER_EXTRA && ib[1].cbBuffer <= have) {
                                memmove(in, in + have - ib[1].cbBuffer, ib[1].cbBuffer);
                                have = ib[1].cbBuffer;
                        } else
                                have = 0;
                }
                if (ob.cbBuffer && ob.pvBuffer) {
                        bool ok = send_all(fd, ob.pvBuffer, ob.cbBuffer);
                        FreeContextBuffer(ob.pvBuffer);
                        if (!ok)
                                break;
                }
                if (st != SEC_I_CONTINUE_NEEDED && st != SEC_E_INCOMPLETE_MESSAGE)
                        break;
                ssize_t n = recv(fd, in + have, sizeof(in) - have, 0);
                if (n <= 0) {
                        printf("FAIL peer closed (last 0x%08x)\n", (unsigned) st);
                        return 1;
                }
                have += (size_t) n;
        }
        if (st != SEC_E_OK) {
                printf("FAIL 0x%08x\n", (unsigned) st);
                return 1;
        }
        printf("OK\n");
        fflush(stdout);
        DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&cred);
        close(fd);
        return 0;
}
