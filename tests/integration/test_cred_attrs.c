/* SPDX-License-Identifier: MIT */
/*
 * SetCredentialsAttributes beyond the KDC proxy (test_kdcproxy), and
 * QueryCredentialsAttributesEx. All calls are synchronous: neither has an
 * Sspi*Async form.
 *
 * Sources:
 * - SetCredentialsAttributes (learn.microsoft.com, nf-sspi-setcredentials
 *   attributesa): SECPKG_ATTR_SUPPORTED_ALGS (SecPkgCred_SupportedAlgs),
 *   SECPKG_ATTR_CIPHER_STRENGTHS (SecPkgCred_CipherStrengths) and
 *   SECPKG_ATTR_SUPPORTED_PROTOCOLS (SecPkgCred_SupportedProtocols) are
 *   "supported only by Schannel"; KDC_PROXY_SETTINGS only by Kerberos;
 *   SEC_E_UNSUPPORTED_FUNCTION for an attribute the package does not take,
 *   SEC_E_INVALID_HANDLE for a bad handle.
 * - QueryCredentialsAttributes (nf-sspi-querycredentialsattributesa): the
 *   structures each attribute fills; Wine's schannel.c test_cread_attrs
 *   (run on Windows): SUPPORTED_PROTOCOLS is the credential's own setting.
 * - QueryCredentialsAttributesEx (nf-sspi-querycredentialsattributesexa):
 *   QueryCredentialsAttributes with the caller's buffer length; the short
 *   buffer rules are QueryContextAttributesEx's (test_ctx_attrs).
 *
 * - AddCredentials (nf-sspi-addcredentialsa): "adds a credential to the
 *   list of credentials" of a handle, arguments as AcquireCredentialsHandle's;
 *   what the package does with it is not described. This library's meaning
 *   (README, deliberate differences): Kerberos and Negotiate take an
 *   outbound identity that becomes the handle's once it has logged on.
 *
 * The effect of each Schannel setting is seen by the peer: `openssl
 * s_server -www` prints the protocol and suite it negotiated with us. An
 * added Kerberos identity is seen by the acceptor (its client name) after
 * a real AS and TGS exchange with the test KDC.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "schannel.h"
#include "testlib.h"

#define ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | \
                   ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM)
#define NOBODY 65534

/* wincrypt.h ALG_IDs. */
#define CALG_AES_128 0x0000660eU
#define CALG_AES_256 0x00006610U
#define CALG_SHA1 0x00008004U
#define CALG_SHA_256 0x0000800cU
#define CALG_SHA_384 0x0000800dU
#define CALG_ECDH_EPHEM 0x0000ae06U
#define CALG_ECDSA 0x00002203U

static char pki[512];

static SECURITY_STATUS sch_acquire(ULONG use, DWORD protocols, CredHandle *ret) {
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION, .grbitEnabledProtocols = protocols };
        TimeStamp ts;

        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sc, NULL, NULL, ret, &ts);
}

static int free_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && getsockname(fd, (struct sockaddr *) &sa, &sl) == 0)
                port = ntohs(sa.sin_port);
        close(fd);
        return port;
}

static int tcp_connect(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                  .sin_port = htons((uint16_t) port) };
        for (int i = 0; i < 250; i++) {
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        return fd;
                close(fd);
                usleep(20000);
        }
        return -1;
}

static int send_all(int fd, const void *p, size_t n) {
        const uint8_t *b = p;
        while (n) {
                ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
                if (w <= 0)
                        return -1;
                b += w;
                n -= (size_t) w;
        }
        return 0;
}

typedef struct Conn {
        int fd;
        CtxtHandle ctx;
        bool have_ctx;
        uint8_t buf[65536];
        size_t have;
} Conn;

static SECURITY_STATUS handshake(Conn *c, CredHandle *cred) {
        SECURITY_STATUS st = SEC_I_CONTINUE_NEEDED;
        bool need_read = false;
        ULONG attrs;

        while (st != SEC_E_OK) {
                SecBuffer ib[2], ob[2];
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };

                if (need_read) {
                        ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
                        if (r <= 0)
                                return SEC_E_INTERNAL_ERROR;
                        c->have += (size_t) r;
                }
                ib[0] = (SecBuffer) { (ULONG) c->have, SECBUFFER_TOKEN, c->buf };
                ib[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                ob[0] = (SecBuffer) { 0, SECBUFFER_TOKEN, NULL };
                ob[1] = (SecBuffer) { 0, SECBUFFER_ALERT, NULL };
                st = InitializeSecurityContextA(cred, c->have_ctx ? &c->ctx : NULL, "localhost", ISC_FLAGS, 0, 0,
                                                c->have_ctx ? &id : NULL, 0, &c->ctx, &od, &attrs, NULL);
                if (st == SEC_E_INCOMPLETE_MESSAGE) {
                        need_read = true;
                        continue;
                }
                if (st < 0) {
                        if (ob[1].BufferType == SECBUFFER_ALERT && ob[1].cbBuffer)
                                send_all(c->fd, ob[1].pvBuffer, ob[1].cbBuffer);
                        FreeContextBuffer(ob[0].pvBuffer);
                        FreeContextBuffer(ob[1].pvBuffer);
                        return st;
                }
                c->have_ctx = true;
                if (ob[0].cbBuffer && send_all(c->fd, ob[0].pvBuffer, ob[0].cbBuffer) < 0)
                        st = SEC_E_INTERNAL_ERROR;
                FreeContextBuffer(ob[0].pvBuffer);
                FreeContextBuffer(ob[1].pvBuffer);
                if (st < 0)
                        return st;
                if (ib[1].BufferType == SECBUFFER_EXTRA) {
                        memmove(c->buf, c->buf + c->have - ib[1].cbBuffer, ib[1].cbBuffer);
                        c->have = ib[1].cbBuffer;
                        need_read = false;
                } else {
                        c->have = 0;
                        need_read = true;
                }
        }
        return SEC_E_OK;
}

static SECURITY_STATUS conn_send(Conn *c, const void *data, size_t len) {
        SecPkgContext_StreamSizes sz;
        static uint8_t rec[17000 + 256];
        SECURITY_STATUS st = QueryContextAttributesA(&c->ctx, SECPKG_ATTR_STREAM_SIZES, &sz);
        SecBuffer b[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };

        if (st != SEC_E_OK)
                return st;
        memcpy(rec + sz.cbHeader, data, len);
        b[0] = (SecBuffer) { sz.cbHeader, SECBUFFER_STREAM_HEADER, rec };
        b[1] = (SecBuffer) { (ULONG) len, SECBUFFER_DATA, rec + sz.cbHeader };
        b[2] = (SecBuffer) { sz.cbTrailer, SECBUFFER_STREAM_TRAILER, rec + sz.cbHeader + len };
        b[3] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = EncryptMessage(&c->ctx, 0, &d, 0);
        if (st == SEC_E_OK && send_all(c->fd, rec, b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer) < 0)
                st = SEC_E_INTERNAL_ERROR;
        return st;
}

/* The plaintext until close_notify or EOF. */
static void conn_recv_all(Conn *c, char *out, size_t cap) {
        SECURITY_STATUS st = SEC_E_OK;
        size_t got = 0;

        for (;;) {
                SecBuffer b[4];
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                size_t extra = 0;

                if (c->have == 0 || st == SEC_E_INCOMPLETE_MESSAGE) {
                        ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
                        if (r <= 0)
                                break;
                        c->have += (size_t) r;
                }
                b[0] = (SecBuffer) { (ULONG) c->have, SECBUFFER_DATA, c->buf };
                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = DecryptMessage(&c->ctx, &d, 0, NULL);
                if (st == SEC_E_INCOMPLETE_MESSAGE)
                        continue;
                if (st < 0)
                        break;
                for (int i = 0; i < 4; i++)
                        if (b[i].BufferType == SECBUFFER_DATA && b[i].cbBuffer < cap - 1 - got) {
                                memcpy(out + got, b[i].pvBuffer, b[i].cbBuffer);
                                got += b[i].cbBuffer;
                        }
                for (int i = 0; i < 4; i++)
                        if (b[i].BufferType == SECBUFFER_EXTRA) {
                                memmove(c->buf, b[i].pvBuffer, b[i].cbBuffer);
                                extra = b[i].cbBuffer;
                        }
                c->have = extra;
                if (st == SEC_I_RENEGOTIATE) {
                        /* A TLS 1.3 post-handshake message (a session
                         * ticket): back to ISC with what is left. */
                        SecBuffer ib[2] = { { (ULONG) c->have, SECBUFFER_TOKEN, c->buf }, { 0, SECBUFFER_EMPTY, NULL } };
                        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
                        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
                        ULONG attrs;
                        st = InitializeSecurityContextA(NULL, &c->ctx, "localhost", ISC_FLAGS, 0, 0, &id, 0, NULL,
                                                        &od, &attrs, NULL);
                        if (ob.cbBuffer)
                                send_all(c->fd, ob.pvBuffer, ob.cbBuffer);
                        FreeContextBuffer(ob.pvBuffer);
                        if (st != SEC_E_OK)
                                break;
                        if (ib[1].BufferType != SECBUFFER_EXTRA)
                                c->have = 0;
                        continue;
                }
                if (st != SEC_E_OK)
                        break; /* close_notify */
        }
        out[got] = '\0';
}

static pid_t spawn(char *const argv[], const char *log) {
        pid_t pid = fork();

        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644), nul = open("/dev/null", O_RDONLY);
                dup2(nul, 0);
                dup2(fd, 1);
                dup2(fd, 2);
                setpgid(0, 0);
                execvp(argv[0], argv);
                _exit(127);
        }
        return pid;
}

static void reap(pid_t pid) {
        int st;
        kill(pid, SIGTERM);
        waitpid(pid, &st, 0);
}

/*
 * Our client with `cred` against `openssl s_server -www` (certificate
 * `cert`, `proto_opt` such as -tls1_2 or NULL for both versions). Returns
 * the handshake's status; on success the page s_server sent, which names
 * the protocol and the suite as s_server saw them, is in page.
 */
static SECURITY_STATUS via_s_server(CredHandle *cred, const char *cert, const char *proto_opt, char *page,
                                    size_t cap) {
        char certf[600], keyf[600], port_s[32], log[600];
        char *argv[16];
        int n = 0, port = free_port();
        Conn c = { .fd = -1 };
        pid_t pid;
        SECURITY_STATUS st;

        *page = '\0';
        snprintf(certf, sizeof(certf), "%s/%s.pem", pki, cert);
        snprintf(keyf, sizeof(keyf), "%s/%s.key", pki, cert);
        snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
        snprintf(log, sizeof(log), "%s/s_server-credattr.log", pki);
        argv[n++] = "openssl";
        argv[n++] = "s_server";
        argv[n++] = "-accept";
        argv[n++] = port_s;
        argv[n++] = "-cert";
        argv[n++] = certf;
        argv[n++] = "-key";
        argv[n++] = keyf;
        argv[n++] = "-www";
        argv[n++] = "-naccept";
        argv[n++] = "1";
        if (proto_opt)
                argv[n++] = (char *) proto_opt;
        argv[n] = NULL;
        pid = spawn(argv, log);
        c.fd = tcp_connect(port);
        if (c.fd < 0) {
                reap(pid);
                return SEC_E_INTERNAL_ERROR;
        }
        st = handshake(&c, cred);
        if (st == SEC_E_OK) {
                st = conn_send(&c, "GET / HTTP/1.0\r\n\r\n", 18);
                if (st == SEC_E_OK)
                        conn_recv_all(&c, page, cap);
        }
        if (c.have_ctx)
                DeleteSecurityContext(&c.ctx);
        close(c.fd);
        reap(pid);
        return st;
}

/* s_server -www: "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384". */
static bool page_says(const char *page, const char *what) {
        const char *p = strstr(page, "New, ");
        if (strstr(page, what))
                return true;
        printf("# s_server's page: %.*s\n", p ? (int) strcspn(p, "\n") : 40, p ? p : page);
        return false;
}

static DWORD query_protocols(CredHandle *h) {
        SecPkgCred_SupportedProtocols p = { 0 };
        if (QueryCredentialsAttributesA(h, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p) != SEC_E_OK)
                return 0xffffffff;
        return p.grbitProtocol;
}

static SECURITY_STATUS set_protocols(CredHandle *h, DWORD bits) {
        SecPkgCred_SupportedProtocols p = { bits };
        return SetCredentialsAttributesA(h, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p, sizeof(p));
}

static SECURITY_STATUS set_strengths(CredHandle *h, DWORD lo, DWORD hi) {
        SecPkgCred_CipherStrengths s = { lo, hi };
        return SetCredentialsAttributesA(h, SECPKG_ATTR_CIPHER_STRENGTHS, &s, sizeof(s));
}

static SECURITY_STATUS set_algs(CredHandle *h, const ALG_ID *ids, DWORD n) {
        SecPkgCred_SupportedAlgs a = { n, (ALG_ID *) ids };
        return SetCredentialsAttributesA(h, SECPKG_ATTR_SUPPORTED_ALGS, &a, sizeof(a));
}

/* SUPPORTED_PROTOCOLS: the peer negotiates what we set. */
static void protocols(void) {
        char page[65536];
        CredHandle c;

        if (!t_status(sch_acquire(SECPKG_CRED_OUTBOUND, 0, &c), SEC_E_OK, "Schannel client credential"))
                return;
        t_ok(query_protocols(&c) == (SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT),
             "default credential: TLS 1.2 and 1.3 (0x%x)", (unsigned) query_protocols(&c));
        t_status(via_s_server(&c, "server-ec", NULL, page, sizeof(page)), SEC_E_OK, "control: handshake");
        t_ok(page_says(page, "TLSv1.3"), "control: s_server saw TLS 1.3 before the change");

        t_status(set_protocols(&c, SP_PROT_TLS1_2_CLIENT), SEC_E_OK, "SetCredentialsAttributes(SUPPORTED_PROTOCOLS, "
                                                                        "TLS 1.2 client)");
        t_ok(query_protocols(&c) == SP_PROT_TLS1_2_CLIENT, "QueryCredentialsAttributes reads TLS 1.2 back (0x%x)",
             (unsigned) query_protocols(&c));
        t_status(via_s_server(&c, "server-ec", NULL, page, sizeof(page)), SEC_E_OK, "handshake after the change");
        t_ok(page_says(page, "New, TLSv1.2,"), "s_server (offering 1.2 and 1.3) negotiated TLS 1.2 with us");
        t_ok(via_s_server(&c, "server-ec", "-tls1_3", page, sizeof(page)) < 0,
             "a TLS 1.3-only s_server is refused by the TLS 1.2 credential");

        /* The other direction's bits alone: nothing left for a client. */
        t_status(set_protocols(&c, SP_PROT_TLS1_3_SERVER), SEC_E_ALGORITHM_MISMATCH,
                 "server bits only on a client credential");
        t_ok(query_protocols(&c) == SP_PROT_TLS1_2_CLIENT, "a refused setting leaves the credential as it was");
        t_status(set_protocols(&c, 0), SEC_E_OK, "grbitProtocol 0: back to the system default");
        t_ok(query_protocols(&c) == (SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT), "default again (0x%x)",
             (unsigned) query_protocols(&c));
        FreeCredentialsHandle(&c);
}

/* CIPHER_STRENGTHS and SUPPORTED_ALGS: the suite s_server negotiated. */
static void ciphers(void) {
        static const ALG_ID aes256[] = { CALG_AES_256, CALG_SHA_384 };
        static const ALG_ID ecdhe_ecdsa_aes128[] = { CALG_AES_128, CALG_SHA_256, CALG_ECDH_EPHEM, CALG_ECDSA };
        static const ALG_ID sha1_suite[] = { CALG_AES_128, CALG_SHA1, CALG_ECDH_EPHEM, CALG_ECDSA };
        ALG_ID many[257];
        SecPkgCred_CipherStrengths cs;
        SecPkgCred_SupportedAlgs sa;
        char page[65536];
        CredHandle c;
        bool only;

        if (!t_status(sch_acquire(SECPKG_CRED_OUTBOUND, 0, &c), SEC_E_OK, "Schannel client credential"))
                return;
        t_status(set_strengths(&c, 0, 128), SEC_E_OK, "SetCredentialsAttributes(CIPHER_STRENGTHS, max 128)");
        t_ok(QueryCredentialsAttributesA(&c, SECPKG_ATTR_CIPHER_STRENGTHS, &cs) == SEC_E_OK &&
                     cs.dwMaximumCipherStrength == 128 && cs.dwMinimumCipherStrength == 128,
             "CIPHER_STRENGTHS reads 128..128 back (%u..%u)", (unsigned) cs.dwMinimumCipherStrength,
             (unsigned) cs.dwMaximumCipherStrength);
        t_status(via_s_server(&c, "server-ec", NULL, page, sizeof(page)), SEC_E_OK, "handshake, 128-bit ciphers");
        t_ok(page_says(page, "Cipher is TLS_AES_128_GCM_SHA256"), "s_server negotiated TLS_AES_128_GCM_SHA256");
        t_status(set_strengths(&c, 256, 128), SEC_E_ALGORITHM_MISMATCH, "minimum above maximum");
        t_status(set_strengths(&c, 0xffffffff, 0), SEC_E_ALGORITHM_MISMATCH, "minimum ~0 (NULL ciphers only)");
        t_status(set_strengths(&c, 4096, 0), SEC_E_ALGORITHM_MISMATCH, "no cipher that strong");
        t_ok(QueryCredentialsAttributesA(&c, SECPKG_ATTR_CIPHER_STRENGTHS, &cs) == SEC_E_OK &&
                     cs.dwMaximumCipherStrength == 128,
             "refused strengths leave 128 in force");
        t_status(set_strengths(&c, 0, 0), SEC_E_OK, "strengths 0, 0: no limit");

        t_status(set_algs(&c, aes256, 2), SEC_E_OK, "SetCredentialsAttributes(SUPPORTED_ALGS, AES-256 + SHA-384)");
        t_ok(QueryCredentialsAttributesA(&c, SECPKG_ATTR_SUPPORTED_ALGS, &sa) == SEC_E_OK, "SUPPORTED_ALGS query");
        only = true;
        for (DWORD i = 0; i < sa.cSupportedAlgs; i++)
                only &= sa.palgSupportedAlgs[i] != CALG_AES_128 && sa.palgSupportedAlgs[i] != CALG_SHA_256;
        t_ok(sa.cSupportedAlgs > 0 && only, "no AES-128 or SHA-256 left among %u ALG_IDs", (unsigned) sa.cSupportedAlgs);
        FreeContextBuffer(sa.palgSupportedAlgs);
        t_status(via_s_server(&c, "server-ec", NULL, page, sizeof(page)), SEC_E_OK, "handshake, AES-256 only");
        t_ok(page_says(page, "Cipher is TLS_AES_256_GCM_SHA384"), "s_server negotiated TLS_AES_256_GCM_SHA384");

        /* A TLS 1.3 suite is its cipher and hash; the TLS 1.2 ones need
         * their exchange and signature listed too. */
        t_status(set_algs(&c, ecdhe_ecdsa_aes128, 4), SEC_E_OK, "SUPPORTED_ALGS: AES-128, SHA-256, ECDHE, ECDSA");
        t_status(set_protocols(&c, SP_PROT_TLS1_2_CLIENT), SEC_E_OK, "and TLS 1.2 only");
        t_status(via_s_server(&c, "server-ec", NULL, page, sizeof(page)), SEC_E_OK, "handshake, TLS 1.2 suite");
        t_ok(page_says(page, "Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"),
             "s_server negotiated ECDHE-ECDSA-AES128-GCM-SHA256");
        t_ok(via_s_server(&c, "server-rsa", NULL, page, sizeof(page)) < 0,
             "an RSA-certificate s_server finds no common TLS 1.2 suite");
        t_status(set_protocols(&c, 0), SEC_E_OK, "protocols back to the default");
        t_status(set_algs(&c, sha1_suite, 4), SEC_E_OK, "SUPPORTED_ALGS: AES-128, SHA-1, ECDHE, ECDSA");
        t_ok(query_protocols(&c) == SP_PROT_TLS1_2_CLIENT, "no TLS 1.3 suite has SHA-1: TLS 1.2 only (0x%x)",
             (unsigned) query_protocols(&c));
        t_status(via_s_server(&c, "server-ec", NULL, page, sizeof(page)), SEC_E_OK, "handshake, SHA-1 suite");
        t_ok(page_says(page, "Cipher is ECDHE-ECDSA-AES128-SHA"), "s_server negotiated ECDHE-ECDSA-AES128-SHA");

        /* Bounds. */
        for (int i = 0; i < 257; i++)
                many[i] = CALG_AES_128;
        t_status(set_algs(&c, many, 257), SEC_E_INVALID_PARAMETER, "257 ALG_IDs: refused");
        t_status(set_algs(&c, NULL, 3), SEC_E_INVALID_PARAMETER, "a count with a NULL array");
        t_status(set_algs(&c, (ALG_ID[]) { 0x1234 }, 1), SEC_E_ALGORITHM_MISMATCH, "an ALG_ID no suite has");
        t_status(set_algs(&c, many, 256), SEC_E_ALGORITHM_MISMATCH, "256 ALG_IDs taken, none makes a suite");
        t_status(set_algs(&c, NULL, 0), SEC_E_OK, "no ALG_IDs: no limit");
        t_ok(query_protocols(&c) == (SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT), "both versions again");
        FreeCredentialsHandle(&c);
}

/* Short buffers, NULL buffers, attributes of other packages. */
static void bad_inputs(void) {
        SecPkgCred_SupportedProtocols p = { SP_PROT_TLS1_2_CLIENT };
        SecPkgCredentials_NamesA names = { "bob" };
        CredHandle sch, ntlm, krb, bogus = { 0x1234, 0x5678 };
        uint8_t big[64] = { 0 };

        if (!t_status(sch_acquire(SECPKG_CRED_OUTBOUND, 0, &sch), SEC_E_OK, "Schannel credential"))
                return;
        t_status(SetCredentialsAttributesA(&sch, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p, sizeof(p) - 1),
                 SEC_E_INVALID_PARAMETER, "cbBuffer one short");
        t_status(SetCredentialsAttributesA(&sch, SECPKG_ATTR_CIPHER_STRENGTHS, big, 7), SEC_E_INVALID_PARAMETER,
                 "CIPHER_STRENGTHS in 7 bytes");
        t_status(SetCredentialsAttributesA(&sch, SECPKG_ATTR_SUPPORTED_ALGS, big, 15), SEC_E_INVALID_PARAMETER,
                 "SUPPORTED_ALGS in 15 bytes");
        t_status(SetCredentialsAttributesW(&sch, SECPKG_ATTR_SUPPORTED_PROTOCOLS, NULL, 4), SEC_E_INVALID_PARAMETER,
                 "NULL buffer");
        t_status(SetCredentialsAttributesW(&sch, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p, sizeof(p)), SEC_E_OK,
                 "the W form takes the same structure");
        t_status(SetCredentialsAttributesA(&sch, SECPKG_CRED_ATTR_NAMES, &names, sizeof(names)),
                 SEC_E_UNSUPPORTED_FUNCTION, "NAMES on Schannel (a certificate's name is its own)");
        t_status(SetCredentialsAttributesA(&sch, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, big, sizeof(big)),
                 SEC_E_UNSUPPORTED_FUNCTION, "KDC_PROXY_SETTINGS on Schannel (Kerberos only)");
        t_status(SetCredentialsAttributesA(&sch, 0x7777, big, sizeof(big)), SEC_E_UNSUPPORTED_FUNCTION,
                 "an unknown attribute");
        t_status(SetCredentialsAttributesA(&bogus, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p, sizeof(p)),
                 SEC_E_INVALID_HANDLE, "a made-up handle");
        t_status(SetCredentialsAttributesA(NULL, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p, sizeof(p)), SEC_E_INVALID_HANDLE,
                 "a NULL handle");
        {
                /* A DTLS credential: its version and suites are DTLS 1.2's. */
                CredHandle d;
                if (t_status(sch_acquire(SECPKG_CRED_OUTBOUND, SP_PROT_DTLS1_2_CLIENT, &d), SEC_E_OK,
                             "DTLS credential")) {
                        t_status(SetCredentialsAttributesA(&d, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p, sizeof(p)),
                                 SEC_E_UNSUPPORTED_FUNCTION, "SUPPORTED_PROTOCOLS on a DTLS credential (see README)");
                        FreeCredentialsHandle(&d);
                }
        }
        if (t_status(t_cred_identity("NTLM", "alice", NULL, "alice-pw-1", &ntlm), SEC_E_OK, "NTLM credential")) {
                t_status(SetCredentialsAttributesA(&ntlm, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p, sizeof(p)),
                         SEC_E_UNSUPPORTED_FUNCTION, "SUPPORTED_PROTOCOLS on NTLM (Schannel only)");
                t_status(SetCredentialsAttributesA(&ntlm, SECPKG_CRED_ATTR_NAMES, &names, sizeof(names)),
                         SEC_E_UNSUPPORTED_FUNCTION, "NAMES on NTLM (see README)");
                FreeCredentialsHandle(&ntlm);
        }
        if (t_status(t_cred_password("alice", "alice-pw-1", &krb), SEC_E_OK, "Kerberos credential")) {
                t_status(SetCredentialsAttributesA(&krb, SECPKG_ATTR_CIPHER_STRENGTHS, big, 8),
                         SEC_E_UNSUPPORTED_FUNCTION, "CIPHER_STRENGTHS on Kerberos (Schannel only)");
                FreeCredentialsHandle(&krb);
        }
        FreeCredentialsHandle(&sch);
}

/* uid 65534 holds the handle's numbers but not the handle. */
static void other_uid(void) {
        SecPkgCred_SupportedProtocols p = { SP_PROT_TLS1_3_CLIENT };
        CredHandle c;
        pid_t pid;
        int status;

        if (!t_status(sch_acquire(SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_2_CLIENT, &c), SEC_E_OK, "victim credential"))
                return;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                SecPkgCred_CipherStrengths s = { 256, 0 };
                int bad = 0;
                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(101);
                bad += SetCredentialsAttributesA(&c, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p, sizeof(p)) !=
                       SEC_E_INVALID_HANDLE;
                bad += SetCredentialsAttributesW(&c, SECPKG_ATTR_CIPHER_STRENGTHS, &s, sizeof(s)) !=
                       SEC_E_INVALID_HANDLE;
                bad += QueryCredentialsAttributesExA(&c, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &p, sizeof(p)) !=
                       SEC_E_INVALID_HANDLE;
                _exit(bad);
        }
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "uid 65534 gets SEC_E_INVALID_HANDLE for Set/QueryCredentialsAttributes(Ex) on our handle (%d)",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        t_ok(query_protocols(&c) == SP_PROT_TLS1_2_CLIENT, "our credential is unchanged (0x%x)",
             (unsigned) query_protocols(&c));
        FreeCredentialsHandle(&c);
}

/* QueryCredentialsAttributesEx: QueryCredentialsAttributes within cbBuffer. */
static void query_ex(void) {
        SecPkgCredentials_NamesA na;
        SecPkgCredentials_NamesW nw;
        SecPkgCred_SupportedProtocols sp;
        SecPkgCred_SupportedAlgs sa;
        uint8_t guard[sizeof(SecPkgCredentials_NamesA) + 8];
        CredHandle krb, sch, bogus = { 0x1234, 0x5678 };
        bool untouched = true;

        if (!t_status(t_cred_password("alice", "alice-pw-1", &krb), SEC_E_OK, "Kerberos credential"))
                return;
        if (t_status(QueryCredentialsAttributesExA(&krb, SECPKG_CRED_ATTR_NAMES, &na, sizeof(na)), SEC_E_OK,
                     "Ex A: NAMES")) {
                t_ok(na.sUserName && !strncmp(na.sUserName, "alice@", 6), "Ex A: name %s",
                     na.sUserName ? na.sUserName : "(null)");
                FreeContextBuffer(na.sUserName);
        }
        if (t_status(QueryCredentialsAttributesExW(&krb, SECPKG_CRED_ATTR_NAMES, &nw, sizeof(nw)), SEC_E_OK,
                     "Ex W: NAMES")) {
                t_ok(nw.sUserName && nw.sUserName[0] == 'a' && nw.sUserName[5] == '@', "Ex W: UTF-16 name");
                FreeContextBuffer(nw.sUserName);
        }
        memset(guard, 0xa5, sizeof(guard));
        t_status(QueryCredentialsAttributesExA(&krb, SECPKG_CRED_ATTR_NAMES, guard, sizeof(na) - 1),
                 SEC_E_BUFFER_TOO_SMALL, "Ex: cbBuffer one short");
        for (size_t i = 0; i < sizeof(guard); i++)
                untouched &= guard[i] == 0xa5;
        t_ok(untouched, "Ex: a short buffer is not written");
        t_status(QueryCredentialsAttributesExA(&krb, SECPKG_CRED_ATTR_NAMES, NULL, sizeof(na)),
                 SEC_E_INVALID_PARAMETER, "Ex: NULL buffer");
        t_status(QueryCredentialsAttributesExA(&krb, 0x7777, guard, sizeof(guard)), SEC_E_UNSUPPORTED_FUNCTION,
                 "Ex: an unknown attribute");
        t_status(QueryCredentialsAttributesExA(&bogus, SECPKG_CRED_ATTR_NAMES, &na, sizeof(na)),
                 SEC_E_INVALID_HANDLE, "Ex: a made-up handle");
        t_status(QueryCredentialsAttributesExA(&bogus, 0x7777, &na, sizeof(na)), SEC_E_INVALID_HANDLE,
                 "Ex: a made-up handle with an unknown attribute");
        t_status(QueryCredentialsAttributesExA(&krb, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &sp, sizeof(sp)),
                 SEC_E_UNSUPPORTED_FUNCTION, "Ex: SUPPORTED_PROTOCOLS of Kerberos");
        FreeCredentialsHandle(&krb);

        if (!t_status(sch_acquire(SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_3_CLIENT, &sch), SEC_E_OK, "Schannel credential"))
                return;
        sp.grbitProtocol = 0;
        t_status(QueryCredentialsAttributesExW(&sch, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &sp, sizeof(sp)), SEC_E_OK,
                 "Ex: SUPPORTED_PROTOCOLS");
        t_ok(sp.grbitProtocol == SP_PROT_TLS1_3_CLIENT, "Ex: SUPPORTED_PROTOCOLS 0x%x", (unsigned) sp.grbitProtocol);
        t_status(QueryCredentialsAttributesExW(&sch, SECPKG_ATTR_SUPPORTED_ALGS, &sa, sizeof(sa) - 1),
                 SEC_E_BUFFER_TOO_SMALL, "Ex: SUPPORTED_ALGS in 15 bytes");
        if (t_status(QueryCredentialsAttributesExW(&sch, SECPKG_ATTR_SUPPORTED_ALGS, &sa, sizeof(sa) + 100),
                     SEC_E_OK, "Ex: SUPPORTED_ALGS, a larger buffer")) {
                t_ok(sa.cSupportedAlgs > 0 && sa.palgSupportedAlgs, "Ex: %u ALG_IDs", (unsigned) sa.cSupportedAlgs);
                FreeContextBuffer(sa.palgSupportedAlgs);
        }
        FreeCredentialsHandle(&sch);
}

static SEC_WINNT_AUTH_IDENTITY_A ident(const char *user, const char *password) {
        return (SEC_WINNT_AUTH_IDENTITY_A) { .User = (unsigned char *) user, .UserLength = (ULONG) strlen(user),
                                             .Password = (unsigned char *) password,
                                             .PasswordLength = (ULONG) strlen(password),
                                             .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI };
}

static bool cred_name_is(CredHandle *h, const char *prefix) {
        SecPkgCredentials_NamesA n = { 0 };
        bool r;

        if (QueryCredentialsAttributesA(h, SECPKG_CRED_ATTR_NAMES, &n) != SEC_E_OK || !n.sUserName)
                return false;
        r = !strncmp(n.sUserName, prefix, strlen(prefix));
        if (!r)
                printf("# credential name: %s\n", n.sUserName);
        FreeContextBuffer(n.sUserName);
        return r;
}

/* The client the acceptor saw. */
static bool server_saw(THandshake *h, const char *prefix) {
        SecPkgContext_NamesA n = { 0 };
        bool r;

        if (QueryContextAttributesA(&h->server, SECPKG_ATTR_NAMES, &n) != SEC_E_OK || !n.sUserName)
                return false;
        r = !strncmp(n.sUserName, prefix, strlen(prefix));
        if (!r)
                printf("# acceptor saw: %s\n", n.sUserName);
        FreeContextBuffer(n.sUserName);
        return r;
}

static void add_identity(const char *pkg, CredHandle *sc) {
        SEC_WINNT_AUTH_IDENTITY_A bob = ident("bob", "bob-pw-2"), wrong = ident("bob", "not-bobs-pw");
        CredHandle c;
        THandshake h;
        TimeStamp ts = { 0 };
        SECURITY_STATUS st;

        if (!t_status(t_cred_identity(pkg, "alice", NULL, "alice-pw-1", &c), SEC_E_OK, "%s: alice's credential",
                      pkg))
                return;
        st = t_handshake(&c, sc, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, &h);
        t_ok(st == SEC_E_OK && server_saw(&h, "alice@"), "%s: control: the acceptor sees alice (0x%08x)", pkg,
             (unsigned) st);
        t_handshake_done(&h);

        t_status(AddCredentialsA(&c, NULL, (SEC_CHAR *) pkg, SECPKG_CRED_OUTBOUND, &wrong, NULL, NULL, NULL),
                 SEC_E_LOGON_DENIED, "%s: AddCredentials with a wrong password: refused by the KDC", pkg);
        t_ok(cred_name_is(&c, "alice@"), "%s: the credential is still alice's", pkg);

        t_status(AddCredentialsA(&c, NULL, (SEC_CHAR *) pkg, SECPKG_CRED_OUTBOUND, &bob, NULL, NULL, &ts), SEC_E_OK,
                 "%s: AddCredentials(bob)", pkg);
        t_ok(ts.QuadPart != 0, "%s: ptsExpiry set", pkg);
        t_ok(cred_name_is(&c, "bob@"), "%s: NAMES now bob", pkg);
        st = t_handshake(&c, sc, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, &h);
        t_ok(st == SEC_E_OK && server_saw(&h, "bob@"), "%s: the acceptor sees bob, via the test KDC (0x%08x)", pkg,
             (unsigned) st);
        t_handshake_done(&h);
        FreeCredentialsHandle(&c);
}

static void add_credentials(void) {
        SEC_WINNT_AUTH_IDENTITY_A bob = ident("bob", "bob-pw-2");
        SEC_WCHAR kerberos_w[] = { 'K', 'e', 'r', 'b', 'e', 'r', 'o', 's', 0 };
        CredHandle sc, nsc, krb, ntlm, sch, bogus = { 0x1234, 0x5678 };
        TimeStamp ts;
        pid_t pid;
        int status;

        if (!t_status(t_cred_service("HTTP/localhost", &sc), SEC_E_OK, "acceptor for HTTP/localhost"))
                return;
        add_identity("Kerberos", &sc);
        if (t_status(AcquireCredentialsHandleA("HTTP/localhost", "Negotiate", SECPKG_CRED_INBOUND, NULL, NULL, NULL,
                                               NULL, &nsc, &ts),
                     SEC_E_OK, "Negotiate acceptor for HTTP/localhost")) {
                add_identity("Negotiate", &nsc);
                FreeCredentialsHandle(&nsc);
        }

        if (t_status(t_cred_password("alice", "alice-pw-1", &krb), SEC_E_OK, "Kerberos credential")) {
                t_status(AddCredentialsA(&krb, NULL, "NTLM", SECPKG_CRED_OUTBOUND, &bob, NULL, NULL, NULL),
                         SEC_E_SECPKG_NOT_FOUND, "AddCredentials naming another package than the handle's");
                t_status(AddCredentialsA(&krb, NULL, "NoSuchPackage", SECPKG_CRED_OUTBOUND, &bob, NULL, NULL, NULL),
                         SEC_E_SECPKG_NOT_FOUND, "an unknown package");
                t_status(AddCredentialsA(&krb, NULL, NULL, SECPKG_CRED_OUTBOUND, &bob, NULL, NULL, NULL),
                         SEC_E_SECPKG_NOT_FOUND, "a NULL package");
                t_status(AddCredentialsA(&krb, NULL, "Kerberos", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL),
                         SEC_E_UNSUPPORTED_FUNCTION, "an inbound credential is not added");
                t_status(AddCredentialsW(&krb, NULL, kerberos_w, SECPKG_CRED_OUTBOUND, &bob, NULL, NULL, NULL),
                         SEC_E_OK, "AddCredentialsW(bob)");
                t_ok(cred_name_is(&krb, "bob@"), "W: NAMES now bob");
                fflush(stdout);
                pid = fork();
                if (pid == 0) {
                        SEC_WINNT_AUTH_IDENTITY_A zoe = ident("zoë", "zoe-pw-3");
                        if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                                _exit(101);
                        _exit(AddCredentialsA(&krb, NULL, "Kerberos", SECPKG_CRED_OUTBOUND, &zoe, NULL, NULL,
                                              NULL) != SEC_E_INVALID_HANDLE);
                }
                waitpid(pid, &status, 0);
                t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                     "uid 65534: AddCredentials on our handle is SEC_E_INVALID_HANDLE");
                t_ok(cred_name_is(&krb, "bob@"), "our credential is still bob's");
                FreeCredentialsHandle(&krb);
        }
        t_status(AddCredentialsA(&bogus, NULL, "Kerberos", SECPKG_CRED_OUTBOUND, &bob, NULL, NULL, NULL),
                 SEC_E_INVALID_HANDLE, "AddCredentials on a made-up handle");
        t_status(AddCredentialsA(NULL, NULL, "Kerberos", SECPKG_CRED_OUTBOUND, &bob, NULL, NULL, NULL),
                 SEC_E_INVALID_HANDLE, "AddCredentials on a NULL handle");
        if (t_status(t_cred_identity("NTLM", "alice", NULL, "alice-pw-1", &ntlm), SEC_E_OK, "NTLM credential")) {
                t_status(AddCredentialsA(&ntlm, NULL, "NTLM", SECPKG_CRED_OUTBOUND, &bob, NULL, NULL, NULL),
                         SEC_E_UNSUPPORTED_FUNCTION, "AddCredentials on NTLM");
                FreeCredentialsHandle(&ntlm);
        }
        if (t_status(sch_acquire(SECPKG_CRED_OUTBOUND, 0, &sch), SEC_E_OK, "Schannel credential")) {
                t_status(AddCredentialsA(&sch, NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL),
                         SEC_E_UNSUPPORTED_FUNCTION, "AddCredentials on Schannel");
                FreeCredentialsHandle(&sch);
        }
        FreeCredentialsHandle(&sc);
}

int main(void) {
        const char *env = getenv("SSPID_TESTENV");

        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        signal(SIGPIPE, SIG_IGN);
        protocols();
        ciphers();
        bad_inputs();
        other_uid();
        query_ex();
        add_credentials();
        return t_done();
}
