/* SPDX-License-Identifier: MIT */
/*
 * NTLM through the daemon: handshakes with the test store (alice, bob in
 * domain SSPID), identity forms, attributes, message protection, and the
 * refusals (wrong password, unknown user, tampered AUTHENTICATE and MIC,
 * wrong channel bindings, replayed and reordered messages). One case runs
 * the acceptor in a second process with its own daemon connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define TARGET "HTTP/localhost"
#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT)

static SECURITY_STATUS cred_a(const char *user, const char *domain, const char *pw, CredHandle *ret) {
        return t_cred_identity("NTLM", user, domain, pw, ret);
}

static SECURITY_STATUS cred_server(CredHandle *ret) {
        TimeStamp ts;
        return AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, ret, &ts);
}

typedef enum Tamper { T_NONE, T_NTPROOF, T_MIC, T_CB } Tamper;

typedef struct Legs {
        CtxtHandle c, s;
        bool have_c, have_s;
        ULONG len[4];
        SECURITY_STATUS st[4];
} Legs;

static void legs_done(Legs *l) {
        if (l->have_c)
                DeleteSecurityContext(&l->c);
        if (l->have_s)
                DeleteSecurityContext(&l->s);
        l->have_c = l->have_s = false;
}

/* SEC_CHANNEL_BINDINGS with application data only. */
typedef struct Cb {
        SEC_CHANNEL_BINDINGS h;
        char data[64];
} Cb;

static void cb_init(Cb *cb, const char *app) {
        memset(cb, 0, sizeof(*cb));
        cb->h.cbApplicationDataLength = (ULONG) strlen(app);
        cb->h.dwApplicationDataOffset = sizeof(cb->h);
        memcpy(cb->data, app, strlen(app));
}

/* ISC, ASC, ISC, ASC; tampering between the third and fourth. */
static SECURITY_STATUS run(CredHandle *cc, CredHandle *sc, Tamper t, const char *cb_client, const char *cb_server,
                           Legs *l) {
        uint8_t tok[4096], tok2[4096];
        SecBuffer ib[2], ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, ib }, out = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        Cb cbc, cbs;

        memset(l, 0, sizeof(*l));
        ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
        l->st[0] = InitializeSecurityContextA(cc, NULL, TARGET, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, NULL, 0, &l->c,
                                              &out, &attrs, NULL);
        l->len[0] = ob.cbBuffer;
        if (l->st[0] != SEC_I_CONTINUE_NEEDED)
                return l->st[0];
        l->have_c = true;

        ib[0] = (SecBuffer) { l->len[0], SECBUFFER_TOKEN, tok };
        ob = (SecBuffer) { sizeof(tok2), SECBUFFER_TOKEN, tok2 };
        in.cBuffers = 1;
        l->st[1] = AcceptSecurityContext(sc, NULL, &in, ASC_FLAGS, SECURITY_NATIVE_DREP, &l->s, &out, &attrs, NULL);
        l->len[1] = ob.cbBuffer;
        if (l->st[1] != SEC_I_CONTINUE_NEEDED)
                return l->st[1];
        l->have_s = true;

        ib[0] = (SecBuffer) { l->len[1], SECBUFFER_TOKEN, tok2 };
        in.cBuffers = 1;
        if (cb_client) {
                cb_init(&cbc, cb_client);
                ib[1] = (SecBuffer) { sizeof(cbc.h) + (ULONG) strlen(cb_client), SECBUFFER_CHANNEL_BINDINGS, &cbc };
                in.cBuffers = 2;
        }
        ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
        l->st[2] = InitializeSecurityContextA(cc, &l->c, TARGET, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, &in, 0, &l->c,
                                              &out, &attrs, NULL);
        l->len[2] = ob.cbBuffer;
        if (l->st[2] != SEC_E_OK)
                return l->st[2];

        if (t == T_NTPROOF)
                tok[tok[24] | tok[25] << 8] ^= 0x01;
        if (t == T_MIC)
                tok[72] ^= 0x80;
        ib[0] = (SecBuffer) { l->len[2], SECBUFFER_TOKEN, tok };
        in.cBuffers = 1;
        if (cb_server) {
                cb_init(&cbs, cb_server);
                ib[1] = (SecBuffer) { sizeof(cbs.h) + (ULONG) strlen(cb_server), SECBUFFER_CHANNEL_BINDINGS, &cbs };
                in.cBuffers = 2;
        }
        ob = (SecBuffer) { sizeof(tok2), SECBUFFER_TOKEN, tok2 };
        l->st[3] = AcceptSecurityContext(sc, &l->s, &in, ASC_FLAGS, SECURITY_NATIVE_DREP, &l->s, &out, &attrs, NULL);
        l->len[3] = ob.cbBuffer;
        return l->st[3];
}

static void test_handshake_and_attrs(CredHandle *cc, CredHandle *sc) {
        Legs l;
        SecPkgContext_NamesA names = { 0 };
        SecPkgContext_Sizes sizes = { 0 };
        SecPkgContext_PackageInfoA pi = { 0 };
        SecPkgContext_SessionKey kc = { 0 }, ks = { 0 };
        SecPkgContext_Lifespan life = { 0 };
        SecPkgContext_Flags fl = { 0 };

        t_status(run(cc, sc, T_NONE, NULL, NULL, &l), SEC_E_OK, "NTLM handshake through the daemon");
        t_ok(l.st[0] == SEC_I_CONTINUE_NEEDED && l.len[0] == 40, "NEGOTIATE: CONTINUE_NEEDED, 40 bytes (%u)",
             (unsigned) l.len[0]);
        t_ok(l.st[1] == SEC_I_CONTINUE_NEEDED && l.len[1] > 56, "CHALLENGE: CONTINUE_NEEDED, %u bytes",
             (unsigned) l.len[1]);
        t_ok(l.st[2] == SEC_E_OK && l.len[2] > 88, "AUTHENTICATE: SEC_E_OK, %u bytes", (unsigned) l.len[2]);
        t_ok(l.st[3] == SEC_E_OK && l.len[3] == 0, "acceptor done, no output token (%u)", (unsigned) l.len[3]);
        if (l.st[3] != SEC_E_OK) {
                legs_done(&l);
                return;
        }

        t_status(QueryContextAttributesA(&l.s, SECPKG_ATTR_NAMES, &names), SEC_E_OK, "server NAMES");
        t_ok(names.sUserName && !strcmp((char *) names.sUserName, "SSPID\\alice"), "server sees SSPID\\alice (%s)",
             names.sUserName ? (char *) names.sUserName : "(null)");
        FreeContextBuffer(names.sUserName);
        t_status(QueryContextAttributesA(&l.c, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK, "SIZES");
        t_ok(sizes.cbMaxToken == 2888 && sizes.cbMaxSignature == 16 && sizes.cbBlockSize == 0 &&
                     sizes.cbSecurityTrailer == 16,
             "SIZES 2888/16/0/16 (%u/%u/%u/%u)", (unsigned) sizes.cbMaxToken, (unsigned) sizes.cbMaxSignature,
             (unsigned) sizes.cbBlockSize, (unsigned) sizes.cbSecurityTrailer);
        t_status(QueryContextAttributesA(&l.s, SECPKG_ATTR_PACKAGE_INFO, &pi), SEC_E_OK, "PACKAGE_INFO");
        t_ok(pi.PackageInfo && !strcmp((char *) pi.PackageInfo->Name, "NTLM") && pi.PackageInfo->wRPCID == 10 &&
                     pi.PackageInfo->cbMaxToken == 2888,
             "PACKAGE_INFO: NTLM, rpcid 10, max token 2888");
        if (pi.PackageInfo)
                FreeContextBuffer(pi.PackageInfo);
        t_status(QueryContextAttributesA(&l.c, SECPKG_ATTR_SESSION_KEY, &kc), SEC_E_OK, "client SESSION_KEY");
        t_status(QueryContextAttributesA(&l.s, SECPKG_ATTR_SESSION_KEY, &ks), SEC_E_OK, "server SESSION_KEY");
        t_ok(kc.SessionKeyLength == 16 && ks.SessionKeyLength == 16 && !memcmp(kc.SessionKey, ks.SessionKey, 16),
             "16-byte session keys agree");
        FreeContextBuffer(kc.SessionKey);
        FreeContextBuffer(ks.SessionKey);
        t_status(QueryContextAttributesA(&l.s, SECPKG_ATTR_LIFESPAN, &life), SEC_E_OK, "LIFESPAN");
        t_status(QueryContextAttributesA(&l.s, SECPKG_ATTR_FLAGS, &fl), SEC_E_OK, "FLAGS");
        t_ok((fl.Flags & (ASC_RET_CONFIDENTIALITY | ASC_RET_INTEGRITY)) == (ASC_RET_CONFIDENTIALITY | ASC_RET_INTEGRITY),
             "server FLAGS carry confidentiality and integrity (0x%x)", (unsigned) fl.Flags);

        /* Sealing in both directions, then replay and reordering. */
        {
                uint8_t t1[16], t2[16], d1[32], d2[32], save_t[16], save_d[32];
                SecBuffer b[2];
                SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
                ULONG qop = 0;

                memcpy(d1, "first sealed message, 32 bytes.", 32);
                b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, t1 };
                b[1] = (SecBuffer) { 32, SECBUFFER_DATA, d1 };
                t_status(EncryptMessage(&l.c, 0, &d, 0), SEC_E_OK, "client EncryptMessage");
                t_ok(b[0].cbBuffer == 16 && memcmp(d1, "first", 5), "16-byte signature, data encrypted");
                memcpy(save_t, t1, 16);
                memcpy(save_d, d1, 32);
                t_status(DecryptMessage(&l.s, &d, 0, &qop), SEC_E_OK, "server DecryptMessage");
                t_ok(!memcmp(d1, "first sealed message, 32 bytes.", 32), "plaintext back");
                memcpy(t1, save_t, 16);
                memcpy(d1, save_d, 32);
                t_status(DecryptMessage(&l.s, &d, 0, &qop), SEC_E_OUT_OF_SEQUENCE, "replayed message refused");

                /* Two messages delivered in the wrong order. */
                memcpy(d1, "message number one..............", 32);
                memcpy(d2, "message number two..............", 32);
                b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, t1 };
                b[1] = (SecBuffer) { 32, SECBUFFER_DATA, d1 };
                t_status(EncryptMessage(&l.c, 0, &d, 0), SEC_E_OK, "seal #1");
                b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, t2 };
                b[1] = (SecBuffer) { 32, SECBUFFER_DATA, d2 };
                t_status(EncryptMessage(&l.c, 0, &d, 0), SEC_E_OK, "seal #2");
                t_status(DecryptMessage(&l.s, &d, 0, &qop), SEC_E_OUT_OF_SEQUENCE, "#2 before #1 refused");

                /* Server to client, tampered. */
                memcpy(d1, "reply from the server to client.", 32);
                b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, t1 };
                b[1] = (SecBuffer) { 32, SECBUFFER_DATA, d1 };
                t_status(EncryptMessage(&l.s, 0, &d, 0), SEC_E_OK, "server EncryptMessage");
                d1[3] ^= 0x20;
                t_status(DecryptMessage(&l.c, &d, 0, &qop), SEC_E_MESSAGE_ALTERED, "altered ciphertext refused");

                /* Signatures, server to client on a fresh direction count. */
                memcpy(d1, "signed, not sealed..............", 32);
                b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, t1 };
                b[1] = (SecBuffer) { 32, SECBUFFER_DATA, d1 };
                t_status(MakeSignature(&l.s, 0, &d, 0), SEC_E_OK, "server MakeSignature");
                t_ok(b[0].cbBuffer == 16 && t1[0] == 1, "signature version 1, 16 bytes");
                /* The altered message did not count: this one carries
                 * the next number and the receiver still waits for the
                 * one before it. */
                t_status(VerifySignature(&l.c, &d, 0, &qop), SEC_E_OUT_OF_SEQUENCE,
                         "a refused message does not advance the receive sequence");
        }
        legs_done(&l);

        /* A clean pair for signatures. */
        if (run(cc, sc, T_NONE, NULL, NULL, &l) == SEC_E_OK) {
                uint8_t t1[16], d1[20] = "sign me, server.....";
                SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, t1 }, { 20, SECBUFFER_DATA, d1 } };
                SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
                ULONG qop = 0;

                t_status(MakeSignature(&l.c, 0, &d, 0), SEC_E_OK, "client MakeSignature");
                t_status(VerifySignature(&l.s, &d, 0, &qop), SEC_E_OK, "server VerifySignature");
                t_status(VerifySignature(&l.s, &d, 0, &qop), SEC_E_OUT_OF_SEQUENCE, "same signature twice refused");
                t_status(MakeSignature(&l.c, 0, &d, 0), SEC_E_OK, "client MakeSignature #2");
                d1[0] ^= 1;
                t_status(VerifySignature(&l.s, &d, 0, &qop), SEC_E_MESSAGE_ALTERED, "altered signed data refused");
        }
        legs_done(&l);
}

static void test_refusals(CredHandle *sc) {
        CredHandle c;
        Legs l;

        if (t_status(cred_a("alice", "SSPID", "wrong-pw", &c), SEC_E_OK, "credential with a wrong password")) {
                t_status(run(&c, sc, T_NONE, NULL, NULL, &l), SEC_E_LOGON_DENIED, "wrong password: SEC_E_LOGON_DENIED");
                t_ok(l.st[2] == SEC_E_OK, "the client cannot tell before the acceptor answers");
                legs_done(&l);
                FreeCredentialsHandle(&c);
        }
        if (t_status(cred_a("mallory", "SSPID", "whatever", &c), SEC_E_OK, "credential for an unknown user")) {
                t_status(run(&c, sc, T_NONE, NULL, NULL, &l), SEC_E_LOGON_DENIED, "unknown user: SEC_E_LOGON_DENIED");
                legs_done(&l);
                FreeCredentialsHandle(&c);
        }
        /* Both get Windows' one status; the daemon's log tells them apart
         * (issue 15 item 6), as Windows' 4625 SubStatus does. */
        t_ok(t_daemon_log_has("ntlm: logon of SSPID\\x5calice refused: wrong password (STATUS_WRONG_PASSWORD)", NULL),
             "the daemon's log names the reason: SSPID\\alice, wrong password");
        t_ok(t_daemon_log_has("ntlm: logon of SSPID\\x5cmallory refused: unknown user (STATUS_NO_SUCH_USER)", NULL),
             "the daemon's log names the reason: SSPID\\mallory, unknown user");
        t_ok(!t_daemon_log_has("wrong-pw", NULL), "the daemon's log does not hold the refused password");
        if (t_status(cred_a("alice", "SSPID", "alice-pw-1", &c), SEC_E_OK, "alice")) {
                t_status(run(&c, sc, T_NTPROOF, NULL, NULL, &l), SEC_E_LOGON_DENIED,
                         "tampered AUTHENTICATE (NTProofStr): SEC_E_LOGON_DENIED");
                legs_done(&l);
                t_status(run(&c, sc, T_MIC, NULL, NULL, &l), SEC_E_MESSAGE_ALTERED, "tampered MIC: SEC_E_MESSAGE_ALTERED");
                legs_done(&l);
                t_status(run(&c, sc, T_NONE, "tls-server-end-point:A", "tls-server-end-point:B", &l), SEC_E_BAD_BINDINGS,
                         "different channel bindings: SEC_E_BAD_BINDINGS");
                legs_done(&l);
                t_status(run(&c, sc, T_NONE, "tls-server-end-point:A", "tls-server-end-point:A", &l), SEC_E_OK,
                         "same channel bindings: SEC_E_OK");
                legs_done(&l);
                FreeCredentialsHandle(&c);
        }
        /* The failed context is gone: the acceptor handle is dead. */
}

static void test_identity_forms(CredHandle *sc) {
        CredHandle c;
        Legs l;
        SecPkgContext_NamesA names = { 0 };
        TimeStamp ts;

        if (t_status(cred_a("SSPID\\bob", NULL, "bob-pw-2", &c), SEC_E_OK, "DOMAIN\\user form")) {
                t_status(run(&c, sc, T_NONE, NULL, NULL, &l), SEC_E_OK, "bob via SSPID\\bob");
                if (l.have_s && QueryContextAttributesA(&l.s, SECPKG_ATTR_NAMES, &names) == SEC_E_OK) {
                        t_ok(!strcmp((char *) names.sUserName, "SSPID\\bob"), "server sees SSPID\\bob");
                        FreeContextBuffer(names.sUserName);
                }
                legs_done(&l);
                FreeCredentialsHandle(&c);
        }
        if (t_status(cred_a("bob@SSPID", NULL, "bob-pw-2", &c), SEC_E_OK, "user@domain form")) {
                /* Sent whole with an empty domain, as Windows clients send
                 * a UPN; the store finds bob by the suffix, its domain. */
                t_status(run(&c, sc, T_NONE, NULL, NULL, &l), SEC_E_OK, "bob via bob@SSPID");
                if (l.have_s && QueryContextAttributesA(&l.s, SECPKG_ATTR_NAMES, &names) == SEC_E_OK) {
                        t_ok(!strcmp((char *) names.sUserName, "SSPID\\bob"), "server sees SSPID\\bob (got %s)",
                             (char *) names.sUserName);
                        FreeContextBuffer(names.sUserName);
                }
                legs_done(&l);
                FreeCredentialsHandle(&c);
        }
        if (t_status(cred_a("bob@OTHER.EXAMPLE", NULL, "bob-pw-2", &c), SEC_E_OK, "UPN of another suffix")) {
                t_status(run(&c, sc, T_NONE, NULL, NULL, &l), SEC_E_LOGON_DENIED,
                         "bob@OTHER.EXAMPLE: a suffix that is not the store's names no account of it");
                legs_done(&l);
                FreeCredentialsHandle(&c);
        }
        {
                uint16_t u[5] = { 'A', 'l', 'i', 'c', 'e' }, dm[5] = { 'S', 'S', 'P', 'I', 'D' };
                uint16_t pw[10] = { 'a', 'l', 'i', 'c', 'e', '-', 'p', 'w', '-', '1' };
                SEC_WINNT_AUTH_IDENTITY_W id = { u, 5, dm, 5, pw, 10, SEC_WINNT_AUTH_IDENTITY_UNICODE };
                uint16_t pkg[5] = { 'N', 'T', 'L', 'M', 0 };

                if (t_status(AcquireCredentialsHandleW(NULL, pkg, SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, &c, &ts),
                             SEC_E_OK, "UTF-16 identity (user name in other case)")) {
                        t_status(run(&c, sc, T_NONE, NULL, NULL, &l), SEC_E_OK, "Alice/SSPID (W) accepted");
                        legs_done(&l);
                        FreeCredentialsHandle(&c);
                }
        }
        t_status(AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &c, &ts),
                 SEC_E_NO_CREDENTIALS, "outbound without an identity: SEC_E_NO_CREDENTIALS");
}

/* ---- the acceptor in another process ---- */

static int send_tok(int fd, const void *p, uint32_t n) {
        return write(fd, &n, 4) == 4 && (n == 0 || write(fd, p, n) == (ssize_t) n) ? 0 : -1;
}

static int recv_tok(int fd, void *p, uint32_t cap, uint32_t *n) {
        if (read(fd, n, 4) != 4 || *n > cap)
                return -1;
        for (uint32_t got = 0; got < *n;) {
                ssize_t r = read(fd, (uint8_t *) p + got, *n - got);
                if (r <= 0)
                        return -1;
                got += (uint32_t) r;
        }
        return 0;
}

static int server_child(int fd) {
        CredHandle sc;
        CtxtHandle s;
        uint8_t in_t[4096], out_t[4096];
        uint32_t n;
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs, qop;
        SECURITY_STATUS st = SEC_I_CONTINUE_NEEDED;
        bool have = false;

        if (cred_server(&sc) != SEC_E_OK)
                return 2;
        while (st == SEC_I_CONTINUE_NEEDED) {
                if (recv_tok(fd, in_t, sizeof(in_t), &n) < 0)
                        return 3;
                ib = (SecBuffer) { n, SECBUFFER_TOKEN, in_t };
                ob = (SecBuffer) { sizeof(out_t), SECBUFFER_TOKEN, out_t };
                st = AcceptSecurityContext(&sc, have ? &s : NULL, &in, ASC_FLAGS, SECURITY_NATIVE_DREP, &s, &out,
                                           &attrs, NULL);
                if (st < 0)
                        return 4;
                have = true;
                if (st == SEC_I_CONTINUE_NEEDED && send_tok(fd, out_t, ob.cbBuffer) < 0)
                        return 5;
        }
        /* One sealed message from the client: token then data. */
        if (recv_tok(fd, in_t, sizeof(in_t), &n) < 0 || n < 16)
                return 6;
        {
                SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, in_t }, { n - 16, SECBUFFER_DATA, in_t + 16 } };
                SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
                if (DecryptMessage(&s, &d, 0, &qop) != SEC_E_OK)
                        return 7;
                if (send_tok(fd, in_t + 16, n - 16) < 0)
                        return 8;
        }
        DeleteSecurityContext(&s);
        FreeCredentialsHandle(&sc);
        return 0;
}

static void test_two_processes(CredHandle *cc) {
        int sv[2], status = -1;
        pid_t pid;
        CtxtHandle c;
        uint8_t in_t[4096], out_t[4096];
        uint32_t n = 0;
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st;
        bool ok = false;

        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                return;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                close(sv[0]);
                _exit(server_child(sv[1]));
        }
        close(sv[1]);
        ob = (SecBuffer) { sizeof(out_t), SECBUFFER_TOKEN, out_t };
        st = InitializeSecurityContextA(cc, NULL, TARGET, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, NULL, 0, &c, &out, &attrs,
                                        NULL);
        if (st == SEC_I_CONTINUE_NEEDED && send_tok(sv[0], out_t, ob.cbBuffer) == 0 &&
            recv_tok(sv[0], in_t, sizeof(in_t), &n) == 0) {
                ib = (SecBuffer) { n, SECBUFFER_TOKEN, in_t };
                ob = (SecBuffer) { sizeof(out_t), SECBUFFER_TOKEN, out_t };
                st = InitializeSecurityContextA(cc, &c, TARGET, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, &in, 0, &c, &out,
                                                &attrs, NULL);
                if (st == SEC_E_OK && send_tok(sv[0], out_t, ob.cbBuffer) == 0) {
                        uint8_t msg[16 + 24];
                        SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, msg }, { 24, SECBUFFER_DATA, msg + 16 } };
                        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };

                        memcpy(msg + 16, "across two processes....", 24);
                        if (EncryptMessage(&c, 0, &d, 0) == SEC_E_OK && send_tok(sv[0], msg, 40) == 0 &&
                            recv_tok(sv[0], in_t, sizeof(in_t), &n) == 0)
                                ok = n == 24 && !memcmp(in_t, "across two processes....", 24);
                }
                DeleteSecurityContext(&c);
        }
        close(sv[0]);
        waitpid(pid, &status, 0);
        t_ok(ok && WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "acceptor in a second process authenticates and decrypts (child status %d)",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- a second implementation: python3-ntlm-auth ---- */

/* The peer speaks hex lines on stdin/stdout. Its MD4 would need OpenSSL's
 * legacy provider, so it gets alice's NT hash in its "LM:NT" form. */
static const char peer_py[] =
        "import sys, binascii\n"
        "from ntlm_auth.ntlm import NtlmContext\n"
        "from ntlm_auth.session_security import SessionSecurity\n"
        "def rd(): return binascii.unhexlify(sys.stdin.readline().strip())\n"
        "def wr(b):\n"
        "    sys.stdout.write(binascii.hexlify(b).decode() + '\\n'); sys.stdout.flush()\n"
        "nt = '0' * 32 + ':3eff9d2248a167e6f337bbb22037800f'\n"
        "if sys.argv[1] == 'client-v1':\n"
        "    c = NtlmContext('alice', nt, domain='SSPID', workstation='PYPEER', ntlm_compatibility=1)\n"
        "    wr(c.step())\n"
        "    wr(c.step(rd()))\n"
        "    if rd() == b'ok':\n"
        "        wr(c.wrap(b'sealed by ntlm-auth'))\n"
        "        wr(c.unwrap(rd()))\n"
        "elif sys.argv[1] == 'client':\n"
        "    c = NtlmContext('alice', nt, domain='SSPID', workstation='PYPEER')\n"
        "    wr(c.step())\n"
        "    wr(c.step(rd()))\n"
        "    wr(c.wrap(b'sealed by ntlm-auth'))\n"
        "    wr(c.unwrap(rd()))\n"
        "else:\n"
        "    flags = int(sys.argv[2], 16); key = rd(); msg = rd()\n"
        "    s = SessionSecurity(flags, key, source='server')\n"
        "    wr(s.unwrap(msg[16:], msg[:16]))\n"
        "    d, h = s.wrap(b'reply from ntlm-auth'); wr(h + d)\n";

typedef struct Peer {
        pid_t pid;
        FILE *to, *from;
} Peer;

static bool peer_start(Peer *p, const char *mode, const char *arg) {
        int in[2], out[2];

        if (pipe(in) < 0 || pipe(out) < 0)
                return false;
        fflush(stdout);
        p->pid = fork();
        if (p->pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                close(in[1]);
                close(out[0]);
                if (!strcmp(mode, "client-v1") && getenv("SSPID_TESTENV")) {
                        /* NTLMv1's session base key is MD4(NT hash): ntlm-auth
                         * needs OpenSSL's legacy provider for that. */
                        static char conf[4096];
                        FILE *f;
                        snprintf(conf, sizeof(conf), "%s/openssl-legacy.cnf", getenv("SSPID_TESTENV"));
                        if ((f = fopen(conf, "we"))) {
                                fputs("openssl_conf = init\n[init]\nproviders = prov\n[prov]\ndefault = on\n"
                                      "legacy = on\n[on]\nactivate = 1\n",
                                      f);
                                fclose(f);
                                setenv("OPENSSL_CONF", conf, 1);
                        }
                }
                execl("/usr/bin/python3", "python3", "-c", peer_py, mode, arg, (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        p->to = fdopen(in[1], "w");
        p->from = fdopen(out[0], "r");
        return p->pid > 0 && p->to && p->from;
}

static int peer_stop(Peer *p) {
        int status = -1;
        if (p->to)
                fclose(p->to);
        if (p->from)
                fclose(p->from);
        waitpid(p->pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void peer_send(Peer *p, const uint8_t *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                fprintf(p->to, "%02x", b[i]);
        fprintf(p->to, "\n");
        fflush(p->to);
}

/* One hex line into b; returns the byte count or -1. */
static long peer_recv(Peer *p, uint8_t *b, size_t cap) {
        static char line[65536];
        size_t n = 0;

        if (!fgets(line, sizeof(line), p->from))
                return -1;
        for (char *s = line; s[0] && s[1] && s[0] != '\n'; s += 2) {
                unsigned v;
                if (n >= cap || sscanf(s, "%2x", &v) != 1)
                        return -1;
                b[n++] = (uint8_t) v;
        }
        return (long) n;
}

/* ntlm-auth as the client, our acceptor through the daemon. */
static void test_peer_client(CredHandle *sc) {
        Peer p = {};
        uint8_t tok[4096], out_t[4096];
        long n;
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle s;
        ULONG attrs, qop;
        SECURITY_STATUS st = SEC_E_INTERNAL_ERROR;
        bool have = false;

        if (!peer_start(&p, "client", "-")) {
                t_ok(false, "start python3 ntlm-auth peer");
                return;
        }
        n = peer_recv(&p, tok, sizeof(tok));
        if (n > 0) {
                ib = (SecBuffer) { (ULONG) n, SECBUFFER_TOKEN, tok };
                ob = (SecBuffer) { sizeof(out_t), SECBUFFER_TOKEN, out_t };
                st = AcceptSecurityContext(sc, NULL, &in, ASC_FLAGS, SECURITY_NATIVE_DREP, &s, &out, &attrs, NULL);
                have = st == SEC_I_CONTINUE_NEEDED;
        }
        t_status(st, SEC_I_CONTINUE_NEEDED, "ntlm-auth NEGOTIATE accepted (%ld bytes)", n);
        if (have) {
                peer_send(&p, out_t, ob.cbBuffer);
                n = peer_recv(&p, tok, sizeof(tok));
                ib = (SecBuffer) { n > 0 ? (ULONG) n : 0, SECBUFFER_TOKEN, tok };
                ob = (SecBuffer) { sizeof(out_t), SECBUFFER_TOKEN, out_t };
                st = AcceptSecurityContext(sc, &s, &in, ASC_FLAGS, SECURITY_NATIVE_DREP, &s, &out, &attrs, NULL);
                t_status(st, SEC_E_OK, "ntlm-auth AUTHENTICATE (NTLMv2, MIC) verified by our acceptor");
                if (st != SEC_E_OK)
                        have = false;
        }
        if (have) {
                n = peer_recv(&p, tok, sizeof(tok));
                if (n >= 16) {
                        SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, tok }, { (ULONG) n - 16, SECBUFFER_DATA, tok + 16 } };
                        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
                        st = DecryptMessage(&s, &d, 0, &qop);
                        t_ok(st == SEC_E_OK && n - 16 == 19 && !memcmp(tok + 16, "sealed by ntlm-auth", 19),
                             "ntlm-auth's sealed message decrypted (0x%08x)", (unsigned) st);
                        memcpy(out_t + 16, "sealed by sspid", 15);
                        b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, out_t };
                        b[1] = (SecBuffer) { 15, SECBUFFER_DATA, out_t + 16 };
                        st = EncryptMessage(&s, 0, &d, 0);
                        peer_send(&p, out_t, 31);
                        n = peer_recv(&p, tok, sizeof(tok));
                        t_ok(st == SEC_E_OK && n == 15 && !memcmp(tok, "sealed by sspid", 15),
                             "our sealed reply unwrapped by ntlm-auth");
                } else
                        t_ok(false, "ntlm-auth sealed a message");
        }
        if (have)
                DeleteSecurityContext(&s);
        t_ok(peer_stop(&p) == 0, "ntlm-auth peer exited cleanly");
}

/* NTLMv1 (ntlm-auth with ntlm_compatibility=1: the NTLM2 session response)
 * refused by the default store, accepted by the one with allow-ntlmv1. */
static void test_ntlmv1(void) {
        for (int legacy = 0; legacy < 2; legacy++) {
                Peer p = {};
                uint8_t tok[4096], out_t[4096];
                long n;
                SecBuffer ib, ob;
                SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
                CtxtHandle s;
                CredHandle sc;
                TimeStamp ts;
                ULONG attrs, qop;
                SECURITY_STATUS st = SEC_E_INTERNAL_ERROR;

                if (!t_status(AcquireCredentialsHandleA(legacy ? "legacy" : NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL,
                                                        NULL, NULL, &sc, &ts),
                              SEC_E_OK, "inbound credential from the %s store", legacy ? "legacy" : "default"))
                        continue;
                if (!peer_start(&p, "client-v1", "-")) {
                        t_ok(false, "start python3 ntlm-auth NTLMv1 peer");
                        FreeCredentialsHandle(&sc);
                        continue;
                }
                n = peer_recv(&p, tok, sizeof(tok));
                if (n > 0) {
                        ib = (SecBuffer) { (ULONG) n, SECBUFFER_TOKEN, tok };
                        ob = (SecBuffer) { sizeof(out_t), SECBUFFER_TOKEN, out_t };
                        st = AcceptSecurityContext(&sc, NULL, &in, ASC_FLAGS, SECURITY_NATIVE_DREP, &s, &out, &attrs,
                                                   NULL);
                }
                if (t_status(st, SEC_I_CONTINUE_NEEDED, "NTLMv1 peer's NEGOTIATE accepted")) {
                        peer_send(&p, out_t, ob.cbBuffer);
                        n = peer_recv(&p, tok, sizeof(tok));
                        t_ok(n > 64 && tok[20] == 24 && tok[21] == 0, "ntlm-auth sent a 24-byte NTLMv1 response");
                        ib = (SecBuffer) { n > 0 ? (ULONG) n : 0, SECBUFFER_TOKEN, tok };
                        ob = (SecBuffer) { sizeof(out_t), SECBUFFER_TOKEN, out_t };
                        st = AcceptSecurityContext(&sc, &s, &in, ASC_FLAGS, SECURITY_NATIVE_DREP, &s, &out, &attrs, NULL);
                        t_status(st, legacy ? SEC_E_OK : SEC_E_LOGON_DENIED, "NTLMv1 AUTHENTICATE %s",
                                 legacy ? "accepted with allow-ntlmv1 = yes" : "refused by default");
                }
                if (st == SEC_E_OK) {
                        SecPkgContext_NamesA names = { 0 };
                        if (t_status(QueryContextAttributesA(&s, SECPKG_ATTR_NAMES, &names), SEC_E_OK, "NTLMv1 NAMES"))
                                t_ok(names.sUserName && !strcmp(names.sUserName, "SSPID\\alice"), "NTLMv1 client is %s",
                                     names.sUserName ? names.sUserName : "(null)");
                        FreeContextBuffer(names.sUserName);
                        peer_send(&p, (const uint8_t *) "ok", 2);
                        n = peer_recv(&p, tok, sizeof(tok));
                        if (n >= 16) {
                                SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, tok },
                                                   { (ULONG) n - 16, SECBUFFER_DATA, tok + 16 } };
                                SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
                                st = DecryptMessage(&s, &d, 0, &qop);
                                t_ok(st == SEC_E_OK && n - 16 == 19 && !memcmp(tok + 16, "sealed by ntlm-auth", 19),
                                     "NTLMv1 session: ntlm-auth's sealed message decrypted (0x%08x)", (unsigned) st);
                                memcpy(out_t + 16, "sealed by sspid", 15);
                                b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, out_t };
                                b[1] = (SecBuffer) { 15, SECBUFFER_DATA, out_t + 16 };
                                st = EncryptMessage(&s, 0, &d, 0);
                                peer_send(&p, out_t, 31);
                                n = peer_recv(&p, tok, sizeof(tok));
                                t_ok(st == SEC_E_OK && n == 15 && !memcmp(tok, "sealed by sspid", 15),
                                     "NTLMv1 session: our sealed reply unwrapped by ntlm-auth");
                        } else
                                t_ok(false, "NTLMv1 peer sealed a message");
                        DeleteSecurityContext(&s);
                } else
                        peer_send(&p, (const uint8_t *) "", 0);
                t_ok(peer_stop(&p) == 0, "NTLMv1 peer exited cleanly");
                FreeCredentialsHandle(&sc);
        }
}

/* ---- a third implementation: gss-ntlmssp on MIT GSSAPI, as the acceptor ---- */

/* tests/tools/ntlmssp-acceptor (hex lines, see there) with a user file
 * holding `line`. */
static bool ntlmssp_start(Peer *p, const char *users, const char *mode) {
        const char *top = getenv("SSPID_TOP"), *dir = getenv("SSPID_TESTENV");
        char bin[4096], file[4096];
        int in[2], out[2];
        FILE *f;

        if (!top || !dir)
                return false;
        snprintf(bin, sizeof(bin), "%s/build/tests/tools/ntlmssp-acceptor", top);
        snprintf(file, sizeof(file), "%s/ntlmssp-users", dir);
        if (access(bin, X_OK) < 0 || !(f = fopen(file, "we")))
                return false;
        fputs(users, f);
        fclose(f);
        if (pipe(in) < 0 || pipe(out) < 0)
                return false;
        fflush(stdout);
        p->pid = fork();
        if (p->pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                close(in[1]);
                close(out[0]);
                setenv("NTLM_USER_FILE", file, 1);
                execl(bin, "ntlmssp-acceptor", mode, (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        p->to = fdopen(in[1], "w");
        p->from = fdopen(out[0], "r");
        return p->pid > 0 && p->to && p->from;
}

/* Our client through the daemon against gss-ntlmssp's acceptor: the
 * handshake (NTLMv2, MIC), the name it sees, and sealed messages both
 * ways; then a wrong password, which gss-ntlmssp must refuse. */
static void test_ntlmssp_acceptor(void) {
        uint8_t tok[4096], msg[64];
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle c;
        CredHandle cc;
        ULONG attrs, qop;
        Peer p = {};
        long n;
        SECURITY_STATUS st;

        for (int wrong = 0; wrong < 2; wrong++) {
                bool have = false;
                n = -1;

                if (!t_status(cred_a("alice", "SSPID", wrong ? "not-alice-pw" : "alice-pw-1", &cc), SEC_E_OK,
                              "outbound credential for the gss-ntlmssp acceptor"))
                        return;
                if (!ntlmssp_start(&p, "SSPID:alice:alice-pw-1\n", NULL)) {
                        t_ok(false, "start tests/tools/ntlmssp-acceptor (MIT GSSAPI + gss-ntlmssp)");
                        FreeCredentialsHandle(&cc);
                        return;
                }
                ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
                st = InitializeSecurityContextA(&cc, NULL, TARGET, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, NULL, 0, &c, &out,
                                                &attrs, NULL);
                have = st == SEC_I_CONTINUE_NEEDED;
                if (have) {
                        peer_send(&p, tok, ob.cbBuffer);
                        n = peer_recv(&p, tok, sizeof(tok));
                        t_ok(n > 48, "gss-ntlmssp answers our NEGOTIATE with a CHALLENGE (%ld bytes)", n);
                        ib = (SecBuffer) { n > 0 ? (ULONG) n : 0, SECBUFFER_TOKEN, tok };
                        ob = (SecBuffer) { 2048, SECBUFFER_TOKEN, tok + 2048 };
                        st = InitializeSecurityContextA(&cc, &c, TARGET, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, &in, 0, &c,
                                                        &out, &attrs, NULL);
                        t_status(st, SEC_E_OK, "our client's AUTHENTICATE for gss-ntlmssp");
                        if (st == SEC_E_OK) {
                                peer_send(&p, tok + 2048, ob.cbBuffer);
                                n = peer_recv(&p, tok, sizeof(tok));
                        } else
                                n = -1;
                }
                if (wrong) {
                        t_ok(n == -1, "gss-ntlmssp refuses our client's AUTHENTICATE with a wrong password");
                        t_ok(peer_stop(&p) == 1, "gss-ntlmssp acceptor exited with its failure status");
                } else {
                        t_ok(n == 0, "gss-ntlmssp completes the handshake with our client (NTLMv2, MIC)");
                        n = peer_recv(&p, tok, sizeof(tok));
                        t_ok(n == 11 && !memcmp(tok, "SSPID\\alice", 11), "gss-ntlmssp authenticated SSPID\\alice");
                        if (n == 11) {
                                SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, msg }, { 21, SECBUFFER_DATA, msg + 16 } };
                                SecBufferDesc d = { SECBUFFER_VERSION, 2, b };

                                memcpy(msg + 16, "sealed by our client.", 21);
                                t_status(EncryptMessage(&c, 0, &d, 0), SEC_E_OK, "our client seals for gss-ntlmssp");
                                peer_send(&p, msg, 37);
                                n = peer_recv(&p, tok, sizeof(tok));
                                t_ok(n == 21 && !memcmp(tok, "sealed by our client.", 21),
                                     "gss-ntlmssp unwraps our client's sealed message");
                                n = peer_recv(&p, tok, sizeof(tok));
                                if (n == 16 + 22) {
                                        b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, tok };
                                        b[1] = (SecBuffer) { 22, SECBUFFER_DATA, tok + 16 };
                                        t_status(DecryptMessage(&c, &d, 0, &qop), SEC_E_OK,
                                                 "our client decrypts gss-ntlmssp's gss_wrap");
                                        t_ok(!memcmp(tok + 16, "reply from gss-ntlmssp", 22), "gss_wrap plaintext");
                                } else
                                        t_ok(false, "gss-ntlmssp wrapped a reply (%ld bytes)", n);
                        }
                        t_ok(peer_stop(&p) == 0, "gss-ntlmssp acceptor exited cleanly");
                }
                if (have)
                        DeleteSecurityContext(&c);
                FreeCredentialsHandle(&cc);
        }
}

/* Our Negotiate client (NTLM: no KDC serves SSPID) against MIT's SPNEGO
 * acceptor over gss-ntlmssp, looping as a Windows program does: our
 * client completes at its AUTHENTICATE leg (with its mechListMIC), MIT's
 * acceptor completes on it and answers accept-completed with its own
 * MIC, which the client may read or not; sealing works both ways either
 * way. */
static void test_spnego_acceptor(void) {
        for (int read_final = 0; read_final < 2; read_final++) {
                uint8_t tok[8192], out_tok[4096], msg[64];
                SecBuffer ib, ob;
                SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
                CtxtHandle c;
                CredHandle cc;
                ULONG attrs, qop;
                Peer p = {};
                long n = -1;
                bool have = false;
                SECURITY_STATUS st;

                if (!t_status(t_cred_identity("Negotiate", "alice", "SSPID", "alice-pw-1", &cc), SEC_E_OK,
                              "Negotiate credential for MIT's SPNEGO acceptor"))
                        return;
                if (!ntlmssp_start(&p, "SSPID:alice:alice-pw-1\n", "spnego")) {
                        t_ok(false, "start tests/tools/ntlmssp-acceptor spnego");
                        FreeCredentialsHandle(&cc);
                        return;
                }
                ob = (SecBuffer) { sizeof(out_tok), SECBUFFER_TOKEN, out_tok };
                st = InitializeSecurityContextA(&cc, NULL, TARGET, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, NULL, 0, &c, &out,
                                                &attrs, NULL);
                have = t_status(st, SEC_I_CONTINUE_NEEDED, "SPNEGO: our NegTokenInit (NTLM)");
                if (have) {
                        peer_send(&p, out_tok, ob.cbBuffer);
                        n = peer_recv(&p, tok, sizeof(tok));
                        t_ok(n > 0, "MIT's SPNEGO answers with a NegTokenResp (%ld bytes)", n);
                        ib = (SecBuffer) { n > 0 ? (ULONG) n : 0, SECBUFFER_TOKEN, tok };
                        ob = (SecBuffer) { sizeof(out_tok), SECBUFFER_TOKEN, out_tok };
                        st = InitializeSecurityContextA(&cc, &c, TARGET, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, &in, 0,
                                                        &c, &out, &attrs, NULL);
                        t_status(st, SEC_E_OK, "SPNEGO: our AUTHENTICATE and mechListMIC, SEC_E_OK (as Windows)");
                        n = -1;
                        if (st == SEC_E_OK) {
                                peer_send(&p, out_tok, ob.cbBuffer);
                                n = peer_recv(&p, tok, sizeof(tok));
                        }
                }
                t_ok(n > 0, "MIT's SPNEGO acceptor completes on it: accept-completed with its MIC (%ld bytes)", n);
                if (n > 0 && read_final) {
                        ib = (SecBuffer) { (ULONG) n, SECBUFFER_TOKEN, tok };
                        ob = (SecBuffer) { sizeof(out_tok), SECBUFFER_TOKEN, out_tok };
                        t_status(InitializeSecurityContextA(&cc, &c, TARGET, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, &in,
                                                            0, &c, &out, &attrs, NULL),
                                 SEC_E_OK, "SPNEGO: our client verifies MIT's mechListMIC");
                        t_ok(ob.cbBuffer == 0, "... and has nothing more to send");
                }
                if (n > 0) {
                        n = peer_recv(&p, tok, sizeof(tok));
                        t_ok(n == 11 && !memcmp(tok, "SSPID\\alice", 11), "MIT's SPNEGO authenticated SSPID\\alice");
                }
                if (n == 11) {
                        SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, msg }, { 21, SECBUFFER_DATA, msg + 16 } };
                        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };

                        memcpy(msg + 16, "sealed by our client.", 21);
                        t_status(EncryptMessage(&c, 0, &d, 0), SEC_E_OK, "SPNEGO: our client seals");
                        peer_send(&p, msg, 37);
                        n = peer_recv(&p, tok, sizeof(tok));
                        t_ok(n == 21 && !memcmp(tok, "sealed by our client.", 21), "MIT/gss-ntlmssp unwraps it");
                        n = peer_recv(&p, tok, sizeof(tok));
                        t_ok(n == 16 + 22, "MIT/gss-ntlmssp wraps a reply (%ld bytes)", n);
                        if (n == 16 + 22) {
                                b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, tok };
                                b[1] = (SecBuffer) { 22, SECBUFFER_DATA, tok + 16 };
                                t_status(DecryptMessage(&c, &d, 0, &qop), SEC_E_OK,
                                         "SPNEGO: our client decrypts it (%s the acceptor's last token)",
                                         read_final ? "having read" : "without reading");
                                t_ok(!memcmp(tok + 16, "reply from gss-ntlmssp", 22), "gss_wrap plaintext");
                        }
                }
                t_ok(peer_stop(&p) == 0, "MIT's SPNEGO acceptor exited cleanly");
                if (have)
                        DeleteSecurityContext(&c);
                FreeCredentialsHandle(&cc);
        }
}

/* Our initiator's session: its sealing checked by ntlm-auth's
 * SessionSecurity (the key comes from SECPKG_ATTR_SESSION_KEY, which the
 * test config allows this uid to read). */
static void test_peer_session(CredHandle *cc, CredHandle *sc) {
        uint8_t tok[4096], tok2[4096], msg[64];
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle c, s;
        ULONG attrs, qop, flags;
        SecPkgContext_SessionKey key = { 0 };
        char flag_hex[16];
        Peer p = {};
        long n;

        ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
        if (InitializeSecurityContextA(cc, NULL, "HTTP/localhost", ISC_FLAGS, 0, SECURITY_NATIVE_DREP, NULL, 0, &c, &out,
                                       &attrs, NULL) != SEC_I_CONTINUE_NEEDED)
                return;
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, tok };
        ob = (SecBuffer) { sizeof(tok2), SECBUFFER_TOKEN, tok2 };
        (void) AcceptSecurityContext(sc, NULL, &in, ASC_FLAGS, SECURITY_NATIVE_DREP, &s, &out, &attrs, NULL);
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, tok2 };
        ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
        if (!t_status(InitializeSecurityContextA(cc, &c, "HTTP/localhost", ISC_FLAGS, 0, SECURITY_NATIVE_DREP, &in, 0, &c,
                                                 &out, &attrs, NULL),
                      SEC_E_OK, "our client's AUTHENTICATE for the ntlm-auth session check"))
                return;
        flags = (ULONG) tok[60] | (ULONG) tok[61] << 8 | (ULONG) tok[62] << 16 | (ULONG) tok[63] << 24;
        snprintf(flag_hex, sizeof(flag_hex), "%x", (unsigned) flags);
        if (!t_status(QueryContextAttributesA(&c, SECPKG_ATTR_SESSION_KEY, &key), SEC_E_OK, "client SESSION_KEY"))
                return;
        if (peer_start(&p, "session", flag_hex)) {
                SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, msg }, { 21, SECBUFFER_DATA, msg + 16 } };
                SecBufferDesc d = { SECBUFFER_VERSION, 2, b };

                peer_send(&p, key.SessionKey, key.SessionKeyLength);
                memcpy(msg + 16, "our client sealed it.", 21);
                t_status(EncryptMessage(&c, 0, &d, 0), SEC_E_OK, "our client seals");
                peer_send(&p, msg, 37);
                n = peer_recv(&p, tok, sizeof(tok));
                t_ok(n == 21 && !memcmp(tok, "our client sealed it.", 21), "ntlm-auth unseals our client's message");
                n = peer_recv(&p, tok, sizeof(tok));
                if (n >= 16) {
                        b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, tok };
                        b[1] = (SecBuffer) { (ULONG) n - 16, SECBUFFER_DATA, tok + 16 };
                        t_status(DecryptMessage(&c, &d, 0, &qop), SEC_E_OK, "our client decrypts ntlm-auth's reply");
                        t_ok(n - 16 == 20 && !memcmp(tok + 16, "reply from ntlm-auth", 20), "reply plaintext");
                } else
                        t_ok(false, "ntlm-auth replied");
                t_ok(peer_stop(&p) == 0, "ntlm-auth session peer exited cleanly");
        }
        FreeContextBuffer(key.SessionKey);
        DeleteSecurityContext(&c);
        DeleteSecurityContext(&s);
}

/* The whole NTLM exchange through the Sspi*Async calls, credentials included. */
static void test_async(void) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "alice", 5, (unsigned char *) "SSPID", 5,
                                         (unsigned char *) "alice-pw-1", 10, SEC_WINNT_AUTH_IDENTITY_ANSI };
        CredHandle c = { 0 }, s = { 0 };
        THandshake h;
        SecPkgContext_NamesA n;

        t_status(t_handshake_async("NTLM", &id, &c, &s, "HTTP/localhost", ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY,
                                   ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY, &h),
                 SEC_E_OK, "NTLM handshake through Sspi*Async (acquire, ISC, ASC, ISC, ASC)");
        t_ok(h.legs == 4, "NEGOTIATE, CHALLENGE, AUTHENTICATE, then the verifying ASC: 4 calls (%d)", h.legs);
        if (h.have_server && t_status(QueryContextAttributesA(&h.server, SECPKG_ATTR_NAMES, &n), SEC_E_OK,
                                      "NAMES after the async handshake")) {
                t_ok(!strcmp(n.sUserName, "SSPID\\alice"), "server sees %s", n.sUserName);
                FreeContextBuffer(n.sUserName);
        }
        t_handshake_done(&h);
        FreeCredentialsHandle(&c);
        FreeCredentialsHandle(&s);
}

int main(void) {
        CredHandle cc, sc;

        if (!t_status(cred_server(&sc), SEC_E_OK, "inbound NTLM credential from the [ntlm-store]"))
                return t_done();
        if (t_status(cred_a("alice", "SSPID", "alice-pw-1", &cc), SEC_E_OK, "outbound credential for SSPID\\alice")) {
                test_handshake_and_attrs(&cc, &sc);
                test_two_processes(&cc);
                FreeCredentialsHandle(&cc);
        }
        test_async();
        test_refusals(&sc);
        test_identity_forms(&sc);
        test_peer_client(&sc);
        test_ntlmssp_acceptor();
        test_spnego_acceptor();
        test_ntlmv1();
        if (cred_a("alice", "SSPID", "alice-pw-1", &cc) == SEC_E_OK) {
                test_peer_session(&cc, &sc);
                FreeCredentialsHandle(&cc);
        }
        FreeCredentialsHandle(&sc);
        return t_done();
}
