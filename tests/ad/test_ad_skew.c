/* SPDX-License-Identifier: MIT */
/*
 * Issue 15 item 5: a client whose clock is 15 minutes ahead of the DC's.
 * tests/ad/run.sh starts a second private sspid ($SSPID_AD_WORK/skewed.sock)
 * under libfaketime (FAKETIME=+15m, monotonic clocks left alone): that
 * daemon, which runs the Kerberos client, lives 15 minutes ahead of the
 * KDC. This program is the skewed daemon's client (SSPID_SOCKET); its
 * acceptor is a child process on the daemon with the DC's time
 * ($SSPID_AD_WORK/sspid.sock), as a domain member's server synchronised
 * with its DC would be (run.sh also binds to the DC's own LDAP through the
 * skewed daemon: test_ad_ldap again, a peer that is not ours).
 *
 * Windows' Kerberos client takes the KDC's time from the KRB-ERROR
 * (KRB_AP_ERR_SKEW) of the AS exchange and keeps the offset with the logon
 * session, so its service-ticket requests and its AP-REQ authenticators
 * carry the KDC's time (issue 15; MS-KILE does not spell it out). An
 * application server whose clock differs answers KRB_AP_ERR_SKEW for the
 * client to retry in its time (MS-KILE 3.4.5). Before sspid kept the
 * offset (issue 15 item 5), every handshake below ended with
 * SEC_E_TIME_SKEW from InitializeSecurityContext: the TGS exchange was
 * refused.
 */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_MUTUAL_AUTH)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_MUTUAL_AUTH)
#define SPN "HTTP/web.corp.test"
#define MAX_FRAME 16384

/* ---- the acceptor on the DC-time daemon, in a child process ---------- */

enum { OP_NEW = 1, OP_TOKEN, OP_NAME, OP_KEY, OP_PACKAGE, OP_QUIT };

static int peer = -1;
static pid_t peer_pid;

static bool full_io(int fd, void *p, size_t n, bool wr) {
        uint8_t *b = p;

        while (n > 0) {
                ssize_t r = wr ? write(fd, b, n) : read(fd, b, n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return false;
                b += r;
                n -= (size_t) r;
        }
        return true;
}

/* One frame: a 32-bit word (operation or status), a length, the bytes. */
static bool send_frame(int fd, uint32_t word, const void *p, uint32_t len) {
        uint32_t h[2] = { word, len };
        return full_io(fd, h, sizeof(h), true) && (!len || full_io(fd, (void *) p, len, true));
}

static bool recv_frame(int fd, uint32_t *word, uint8_t *p, uint32_t *len) {
        uint32_t h[2];

        if (!full_io(fd, h, sizeof(h), false) || h[1] > MAX_FRAME)
                return false;
        *word = h[0];
        *len = h[1];
        return !h[1] || full_io(fd, p, h[1], false);
}

static void acceptor_child(int fd) {
        static uint8_t in[MAX_FRAME], out[MAX_FRAME];
        CredHandle cred = { 0 };
        CtxtHandle ctx = { 0 };
        bool have_cred = false, have_ctx = false;
        uint32_t op, len;

        while (recv_frame(fd, &op, in, &len)) {
                SECURITY_STATUS st = SEC_E_OK;
                uint32_t out_len = 0;

                if (op == OP_NEW) {
                        /* "Package\0SPN" */
                        in[len < MAX_FRAME ? len : MAX_FRAME - 1] = 0;
                        if (have_ctx)
                                DeleteSecurityContext(&ctx);
                        if (have_cred)
                                FreeCredentialsHandle(&cred);
                        have_ctx = false;
                        st = AcquireCredentialsHandleA((char *) in + strlen((char *) in) + 1, (char *) in,
                                                       SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &cred, NULL);
                        have_cred = st == SEC_E_OK;
                } else if (op == OP_TOKEN) {
                        SecBuffer ib = { len, SECBUFFER_TOKEN, in }, ob = { sizeof(out), SECBUFFER_TOKEN, out };
                        SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
                        ULONG attrs = 0;

                        st = AcceptSecurityContext(&cred, have_ctx ? &ctx : NULL, &id, ASC_FLAGS, SECURITY_NATIVE_DREP,
                                                   &ctx, &od, &attrs, NULL);
                        if (st >= 0) {
                                have_ctx = true;
                                out_len = ob.cbBuffer;
                        }
                } else if (op == OP_NAME) {
                        SecPkgContext_NamesA n;
                        st = QueryContextAttributesA(&ctx, SECPKG_ATTR_NAMES, &n);
                        if (st == SEC_E_OK) {
                                out_len = (uint32_t) snprintf((char *) out, sizeof(out), "%s", n.sUserName);
                                FreeContextBuffer(n.sUserName);
                        }
                } else if (op == OP_KEY) {
                        SecPkgContext_SessionKey k;
                        st = QueryContextAttributesA(&ctx, SECPKG_ATTR_SESSION_KEY, &k);
                        if (st == SEC_E_OK) {
                                out_len = k.SessionKeyLength <= sizeof(out) ? k.SessionKeyLength : 0;
                                memcpy(out, k.SessionKey, out_len);
                                FreeContextBuffer(k.SessionKey);
                        }
                } else if (op == OP_PACKAGE) {
                        SecPkgContext_NegotiationInfoA ni;
                        st = QueryContextAttributesA(&ctx, SECPKG_ATTR_NEGOTIATION_INFO, &ni);
                        if (st == SEC_E_OK) {
                                out_len = (uint32_t) snprintf((char *) out, sizeof(out), "%s", ni.PackageInfo->Name);
                                FreeContextBuffer(ni.PackageInfo);
                        }
                } else
                        break;
                if (!send_frame(fd, (uint32_t) st, out, out_len))
                        break;
        }
        if (have_ctx)
                DeleteSecurityContext(&ctx);
        if (have_cred)
                FreeCredentialsHandle(&cred);
        _exit(0);
}

/* Before any SSPI call of this process: the child's library must connect
 * to the other daemon. */
static bool start_acceptor(const char *work) {
        char sock[512];
        int sv[2];

        snprintf(sock, sizeof(sock), "%s/sspid.sock", work);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return false;
        peer_pid = fork();
        if (peer_pid < 0)
                return false;
        if (peer_pid == 0) {
                close(sv[0]);
                setenv("SSPID_SOCKET", sock, 1);
                acceptor_child(sv[1]);
        }
        close(sv[1]);
        peer = sv[0];
        return true;
}

static SECURITY_STATUS ask(uint32_t op, const void *p, uint32_t len, uint8_t *out, uint32_t *out_len) {
        uint32_t st;
        static uint8_t junk[MAX_FRAME];
        uint32_t n;

        if (!send_frame(peer, op, p, len) || !recv_frame(peer, &st, out ? out : junk, out_len ? out_len : &n))
                return SEC_E_INTERNAL_ERROR;
        return (SECURITY_STATUS) st;
}

/* ---- the client on the skewed daemon -------------------------------- */

typedef struct Result {
        SECURITY_STATUS client, server; /* the last status of each side */
        char name[256];                 /* the acceptor's SECPKG_ATTR_NAMES */
        char package[64];               /* the acceptor's NEGOTIATION_INFO package */
        bool keys_match;                /* SECPKG_ATTR_SESSION_KEY the same on both sides */
} Result;

static SECURITY_STATUS async_wait(SspiAsyncContext *ac, SECURITY_STATUS queued) {
        SECURITY_STATUS st;

        if (queued != SEC_E_OK)
                return queued;
        while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                usleep(50);
        (void) SspiReinitAsyncContext(ac);
        return st;
}

/* ISC on the skewed daemon (sync, or through SspiInitializeSecurityContextAsyncA),
 * ASC in the child on the DC-time daemon. Returns the first failure. */
static SECURITY_STATUS remote_handshake(CredHandle *c, const char *pkg, bool async, Result *r) {
        static uint8_t tok[MAX_FRAME], back[MAX_FRAME];
        uint32_t back_len = 0;
        char spec[128];
        CtxtHandle ctx = { 0 };
        bool have = false;
        SspiAsyncContext *ac = async ? SspiCreateAsyncContext() : NULL;
        SECURITY_STATUS st;

        memset(r, 0, sizeof(*r));
        r->client = r->server = SEC_I_CONTINUE_NEEDED;
        int n = snprintf(spec, sizeof(spec), "%s%c%s", pkg, 0, SPN);
        st = ask(OP_NEW, spec, (uint32_t) n + 1, NULL, NULL);
        if (st != SEC_E_OK || (async && !ac)) {
                SspiFreeAsyncContext(ac);
                return st != SEC_E_OK ? st : SEC_E_INSUFFICIENT_MEMORY;
        }
        for (int round = 0; round < 6 && r->client == SEC_I_CONTINUE_NEEDED; round++) {
                SecBuffer ib = { back_len, SECBUFFER_TOKEN, back }, ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
                ULONG attrs = 0;

                if (async)
                        r->client = async_wait(ac, SspiInitializeSecurityContextAsyncA(
                                                           ac, c, have ? &ctx : NULL, SPN, ISC_FLAGS, 0,
                                                           SECURITY_NATIVE_DREP, have ? &id : NULL, 0, &ctx, &od,
                                                           &attrs, NULL));
                else
                        r->client = InitializeSecurityContextA(c, have ? &ctx : NULL, SPN, ISC_FLAGS, 0,
                                                               SECURITY_NATIVE_DREP, have ? &id : NULL, 0, &ctx, &od,
                                                               &attrs, NULL);
                if (r->client < 0)
                        break;
                have = true;
                if (ob.cbBuffer == 0)
                        break;
                if (r->server != SEC_I_CONTINUE_NEEDED) {
                        r->client = SEC_E_INTERNAL_ERROR; /* a token for a finished acceptor */
                        break;
                }
                r->server = ask(OP_TOKEN, tok, ob.cbBuffer, back, &back_len);
                if (r->server < 0)
                        break;
                if (back_len == 0)
                        break;
        }
        if (r->client == SEC_E_OK && r->server == SEC_E_OK) {
                uint8_t key[256];
                uint32_t key_len = 0, len = 0;
                SecPkgContext_SessionKey k;

                if (ask(OP_NAME, NULL, 0, (uint8_t *) r->name, &len) == SEC_E_OK && len < sizeof(r->name))
                        r->name[len] = 0;
                else
                        r->name[0] = 0;
                if (ask(OP_PACKAGE, NULL, 0, (uint8_t *) r->package, &len) == SEC_E_OK && len < sizeof(r->package))
                        r->package[len] = 0;
                else
                        snprintf(r->package, sizeof(r->package), "%s", pkg); /* not Negotiate */
                if (ask(OP_KEY, NULL, 0, key, &key_len) == SEC_E_OK &&
                    QueryContextAttributesA(&ctx, SECPKG_ATTR_SESSION_KEY, &k) == SEC_E_OK) {
                        r->keys_match = key_len == k.SessionKeyLength && key_len > 0 &&
                                        !memcmp(key, k.SessionKey, key_len);
                        FreeContextBuffer(k.SessionKey);
                }
        }
        if (have)
                DeleteSecurityContext(&ctx);
        SspiFreeAsyncContext(ac);
        if (r->client < 0)
                return r->client;
        if (r->server < 0)
                return r->server;
        return r->client == SEC_E_OK && r->server == SEC_E_OK ? SEC_E_OK : SEC_E_INTERNAL_ERROR;
}

static SECURITY_STATUS acquire(const char *pkg, bool async, CredHandle *ret) {
        SEC_WINNT_AUTH_IDENTITY_A id = {
                .User = (unsigned char *) "alice", .UserLength = 5,
                .Domain = (unsigned char *) "CORP.TEST", .DomainLength = 9,
                .Password = (unsigned char *) "Alice-pw-1", .PasswordLength = 10,
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
        };
        SspiAsyncContext *ac;
        SECURITY_STATUS st;

        if (!async)
                return AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, ret,
                                                 NULL);
        ac = SspiCreateAsyncContext();
        if (!ac)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = async_wait(ac, SspiAcquireCredentialsHandleAsyncA(ac, NULL, (char *) pkg, SECPKG_CRED_OUTBOUND, NULL, &id,
                                                               NULL, NULL, ret, NULL));
        SspiFreeAsyncContext(ac);
        return st;
}

/* The offset the skewed daemon measured, from its log line
 * "the KDC's clock is -900 s from ours"; 1 when there is none. */
static long logged_offset(const char *work) {
        char path[512], line[1024];
        long off = 1;
        FILE *f;

        snprintf(path, sizeof(path), "%s/skewed.log", work);
        f = fopen(path, "r");
        if (!f)
                return 1;
        while (fgets(line, sizeof(line), f)) {
                const char *p = strstr(line, "the KDC's clock is ");
                if (p)
                        off = strtol(p + strlen("the KDC's clock is "), NULL, 10);
        }
        fclose(f);
        return off;
}

int main(void) {
        const char *work = getenv("SSPID_AD_WORK");
        static const char *pkgs[] = { "Kerberos", "Negotiate" };
        long off;

        if (!getenv("AD_REALM") || !getenv("SSPID_SOCKET") || !work) {
                t_ok(false, "run by tests/ad/run.sh (AD_REALM, SSPID_SOCKET, SSPID_AD_WORK set)");
                return t_done();
        }
        if (!start_acceptor(work)) {
                t_ok(false, "the acceptor child on the DC-time daemon starts");
                return t_done();
        }
        signal(SIGPIPE, SIG_IGN);

        for (size_t p = 0; p < 2; p++)
                for (int async = 0; async < 2; async++) {
                        const char *mode = async ? "async" : "sync";
                        CredHandle c = { 0 };
                        Result r;

                        if (!t_status(acquire(pkgs[p], async, &c), SEC_E_OK, "%s %s: alice's credential on the skewed daemon",
                                      mode, pkgs[p]))
                                continue;
                        /* The first handshake: AS (recovering from the skew), TGS, AP-REQ. */
                        SECURITY_STATUS st = remote_handshake(&c, pkgs[p], async, &r);
                        t_status(st, SEC_E_OK,
                                 "%s %s: first logon, client clock 15 min ahead of the DC, acceptor on DC time "
                                 "(client %s, acceptor %s)",
                                 mode, pkgs[p], status_name(r.client), status_name(r.server));
                        /* alice@CORP.TEST, or CORP\alice once the PAC names her (item 3). */
                        t_ok(!strcmp(r.name, "alice@CORP.TEST") || !strcmp(r.name, "CORP\\alice"),
                             "%s %s: the acceptor names alice (\"%s\")", mode, pkgs[p], r.name);
                        t_ok(r.keys_match, "%s %s: both sides hold the same session key", mode, pkgs[p]);
                        t_ok(!strcmp(r.package, "Kerberos"), "%s %s: Kerberos was used (\"%s\")", mode, pkgs[p],
                             r.package);
                        /* The second: the service ticket is cached, no TGS:
                         * only the authenticator carries the kept offset. */
                        st = remote_handshake(&c, pkgs[p], async, &r);
                        t_status(st, SEC_E_OK,
                                 "%s %s: second logon with the same credential (cached ticket; client %s, acceptor %s)",
                                 mode, pkgs[p], status_name(r.client), status_name(r.server));
                        FreeCredentialsHandle(&c);
                }

        off = logged_offset(work);
        t_ok(off <= -895 && off >= -905, "the skewed daemon measured the KDC's clock %ld s from its own (-900 +- 5)",
             off);

        /* The skewed daemon's own acceptor keeps its own (wrong) clock: an
         * authenticator in the KDC's time is 15 minutes in its past. It
         * answers the first AP-REQ with KRB_AP_ERR_SKEW in an error token
         * carrying its time, and the client retries in that time (Heimdal's
         * GSS, as Windows' client retries after KRB_AP_ERR_SKEW): five legs
         * instead of three. Its worker threads ran the clients above: an
         * acceptor that borrowed a client's offset would take the first
         * AP-REQ (three legs). */
        for (int i = 0; i < 6; i++) {
                CredHandle c = { 0 }, s = { 0 };
                THandshake h;
                SECURITY_STATUS st;

                if (acquire("Kerberos", false, &c) != SEC_E_OK || t_cred_service(SPN, &s) != SEC_E_OK) {
                        t_ok(false, "credentials on the skewed daemon (%d)", i);
                        continue;
                }
                st = t_handshake(&c, &s, SPN, ISC_FLAGS, ASC_FLAGS, &h);
                t_ok(st == SEC_E_OK && h.legs == 5,
                     "skewed acceptor %d: the first authenticator (KDC time) refused on its clock, the retry in its "
                     "time accepted: %s after %d legs (want SEC_E_OK after 5)",
                     i, status_name(st), h.legs);
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
                FreeCredentialsHandle(&s);
        }

        /* Logon sessions from a ccache (the client library reads
         * KRB5CCNAME's FILE ccache): Heimdal's kinit on the DC's time
         * records no offset, so there is nothing to recover from and the
         * TGS exchange of the skewed daemon fails as before; kinit under
         * the same 15-minute skew recovers and records the KDC offset in
         * the ccache's header, which the daemon keeps with the credential. */
        static const struct {
                const char *what, *prefix;
                SECURITY_STATUS want;
        } cc[] = {
                { "ccache from kinit on the DC's clock (no offset recorded)", "", SEC_E_TIME_SKEW },
                { "ccache from kinit 15 min ahead (offset in its header)",
                  "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 FAKETIME=+15m ", SEC_E_OK },
        };
        for (size_t i = 0; i < sizeof(cc) / sizeof(*cc); i++) {
                char path[600], cmd[1400];
                CredHandle c = { 0 };
                Result r;

                snprintf(path, sizeof(path), "FILE:%s/skew-%zu.ccache", work, i);
                snprintf(cmd, sizeof(cmd), "echo Alice-pw-1 | %skinit.heimdal --password-file=STDIN -c %s alice@%s",
                         cc[i].prefix, path, getenv("AD_REALM"));
                int rc = system(cmd);
                t_ok(rc == 0, "%s: kinit.heimdal (status %d)", cc[i].what, rc);
                if (rc != 0)
                        continue;
                setenv("KRB5CCNAME", path, 1);
                if (t_status(AcquireCredentialsHandleA(NULL, "Kerberos", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL,
                                                       &c, NULL),
                             SEC_E_OK, "%s: the skewed daemon takes it", cc[i].what)) {
                        SECURITY_STATUS st = remote_handshake(&c, "Kerberos", false, &r);
                        t_status(st, cc[i].want, "%s: logon to the acceptor on the DC's time (client %s)", cc[i].what,
                                 status_name(r.client));
                        FreeCredentialsHandle(&c);
                }
                unsetenv("KRB5CCNAME");
        }

        ask(OP_QUIT, NULL, 0, NULL, NULL);
        close(peer);
        waitpid(peer_pid, NULL, 0);
        return t_done();
}
