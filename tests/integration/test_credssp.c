/* SPDX-License-Identifier: MIT */
/*
 * CredSSP (MS-CSSP) through the daemon, both sides ours: the package's
 * listing, credentials (a plain identity, CREDSSP_CRED with its Schannel
 * and SPNEGO parts, a server without a certificate), a whole handshake
 * (TLS, SPNEGO with NTLM and with Kerberos, pubKeyAuth, TSCredentials)
 * sync and async, the
 * acceptor's view of who logged on, message protection over the TLS
 * channel afterwards, a wrong password, and an outbound credential from
 * the delegated credentials (SEC_DELEGATED_CONTEXT_CRED). Sources: MS-CSSP 3.1.5 (the
 * message sequence), credssp.h (CREDSSP_CRED), FreeRDP's nla.c (a caller
 * that sends ISC's tokens as they are).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schannel.h"
#include "testcert.h"
#include "testlib.h"

static char pki[512];
static SCHANNEL_CRED srv_sc;
static Cert srv_cert;
static PCCERT_CONTEXT srv_pc;

static SECURITY_STATUS client_cred_in(const char *user, const char *domain, const char *pw, bool wrap,
                                      CredHandle *ret) {
        static SEC_WINNT_AUTH_IDENTITY_A id;
        static CREDSSP_CRED cc;
        TimeStamp ts;

        id = (SEC_WINNT_AUTH_IDENTITY_A) { (unsigned char *) user, (ULONG) strlen(user), (unsigned char *) domain,
                                           (ULONG) strlen(domain),
                                           (unsigned char *) pw, (ULONG) strlen(pw), SEC_WINNT_AUTH_IDENTITY_ANSI };
        cc = (CREDSSP_CRED) { .Type = CredsspPasswordCreds, .pSchannelCred = NULL, .pSpnegoCred = &id };
        return AcquireCredentialsHandleA(NULL, "CREDSSP", SECPKG_CRED_OUTBOUND, NULL, wrap ? (void *) &cc : (void *) &id,
                                         NULL, NULL, ret, &ts);
}

static SECURITY_STATUS client_cred(const char *user, const char *pw, bool wrap, CredHandle *ret) {
        return client_cred_in(user, "SSPID", pw, wrap, ret);
}

static SECURITY_STATUS server_cred(CredHandle *ret) {
        static CREDSSP_CRED cc;
        TimeStamp ts;

        srv_sc = (SCHANNEL_CRED) { .dwVersion = SCHANNEL_CRED_VERSION, .cCreds = 1, .paCred = &srv_pc };
        cc = (CREDSSP_CRED) { .Type = CredsspSchannelCreds, .pSchannelCred = &srv_sc };
        return AcquireCredentialsHandleA(NULL, "CREDSSP", SECPKG_CRED_INBOUND, NULL, &cc, NULL, NULL, ret, &ts);
}

static void listing(void) {
        SecPkgInfoA *info = NULL;
        ULONG n = 0;
        bool found = false;

        if (t_status(QuerySecurityPackageInfoA("CREDSSP", &info), SEC_E_OK, "QuerySecurityPackageInfoA(CREDSSP)")) {
                t_ok(!strcmp(info->Name, "CREDSSP"), "name CREDSSP (%s)", info->Name);
                t_ok(!strcmp(info->Comment, "Microsoft CredSSP Security Provider"), "comment (%s)", info->Comment);
                t_ok(info->fCapabilities & SECPKG_FLAG_STREAM, "stream semantics (TLS records)");
                FreeContextBuffer(info);
        }
        if (t_status(EnumerateSecurityPackagesA(&n, &info), SEC_E_OK, "EnumerateSecurityPackagesA")) {
                for (ULONG i = 0; i < n; i++)
                        found |= !strcmp(info[i].Name, "CREDSSP");
                FreeContextBuffer(info);
        }
        t_ok(found, "EnumerateSecurityPackages lists CREDSSP");
}

static void after(THandshake *h) {
        SecPkgContext_NamesA names = { 0 };
        SecPkgContext_StreamSizes ss = { 0 };
        char msg[] = "hello over CredSSP";
        uint8_t buf[256];

        if (t_status(QueryContextAttributesA(&h->server, SECPKG_ATTR_NAMES, &names), SEC_E_OK, "server NAMES")) {
                t_ok(names.sUserName && !strcmp((char *) names.sUserName, "SSPID\\alice"), "server sees SSPID\\alice (%s)",
                     names.sUserName ? (char *) names.sUserName : "(null)");
                FreeContextBuffer(names.sUserName);
        }
        t_ok(h->server_attrs & ASC_RET_DELEGATE, "server: credentials delegated (ASC_RET_DELEGATE)");
        if (!t_status(QueryContextAttributesA(&h->client, SECPKG_ATTR_STREAM_SIZES, &ss), SEC_E_OK, "client STREAM_SIZES"))
                return;
        /* EncryptMessage over the TLS channel: HEADER / DATA / TRAILER. */
        memcpy(buf + ss.cbHeader, msg, sizeof(msg));
        SecBuffer b[4] = { { ss.cbHeader, SECBUFFER_STREAM_HEADER, buf },
                           { sizeof(msg), SECBUFFER_DATA, buf + ss.cbHeader },
                           { ss.cbTrailer, SECBUFFER_STREAM_TRAILER, buf + ss.cbHeader + sizeof(msg) },
                           { 0, SECBUFFER_EMPTY, NULL } };
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        if (!t_status(EncryptMessage(&h->client, 0, &d, 0), SEC_E_OK, "client EncryptMessage"))
                return;
        ULONG total = b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer;
        memmove(buf + b[0].cbBuffer + b[1].cbBuffer, b[2].pvBuffer, b[2].cbBuffer);
        SecBuffer r[4] = { { total, SECBUFFER_DATA, buf }, { 0, SECBUFFER_EMPTY, NULL }, { 0, SECBUFFER_EMPTY, NULL },
                           { 0, SECBUFFER_EMPTY, NULL } };
        SecBufferDesc rd = { SECBUFFER_VERSION, 4, r };
        ULONG qop = 0;
        if (t_status(DecryptMessage(&h->server, &rd, 0, &qop), SEC_E_OK, "server DecryptMessage"))
                t_ok(r[1].BufferType == SECBUFFER_DATA && r[1].cbBuffer == sizeof(msg) &&
                             !memcmp(r[1].pvBuffer, msg, sizeof(msg)),
                     "server reads the client's message");
        /* Not exported (README, deliberate differences): the context is a
         * live TLS connection and an inner Negotiate context together. */
        {
                SecBuffer packed = { 0 };
                HANDLE token = NULL;
                t_status(ExportSecurityContext(&h->client, 0, &packed, &token), SEC_E_UNSUPPORTED_FUNCTION,
                         "ExportSecurityContext of a CredSSP context: SEC_E_UNSUPPORTED_FUNCTION");
        }
}

/* SEC_DELEGATED_CONTEXT_CRED (sspid's, sspi.h): the acceptor acquires an
 * outbound credential from what the client delegated, without reading the
 * password, and logs on with it elsewhere (an NTLM server of the test
 * store sees SSPID\\alice). Windows does this through the logon session
 * CredSSP creates (MS-CSSP 1.3: the server "uses the credentials on
 * behalf of the user"). */
static void delegated(THandshake *h, CredHandle *client_cred) {
        SEC_DELEGATED_CONTEXT_CRED d = { SEC_DELEGATED_CONTEXT_CRED_VERSION, 0, &h->server };
        CredHandle out, ntlm_srv;
        TimeStamp ts;
        THandshake h2;

        if (t_status(AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &d, NULL, NULL, &out, &ts),
                     SEC_E_OK, "NTLM credential from the CredSSP context's delegated credentials")) {
                SecPkgCredentials_NamesA n = { 0 };
                if (t_status(QueryCredentialsAttributesA(&out, SECPKG_CRED_ATTR_NAMES, &n), SEC_E_OK, "its NAMES")) {
                        t_ok(n.sUserName && strstr(n.sUserName, "alice"), "the credential is alice's (%s)",
                             n.sUserName ? n.sUserName : "(null)");
                        FreeContextBuffer(n.sUserName);
                }
                if (t_status(AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL,
                                                       &ntlm_srv, &ts),
                             SEC_E_OK, "an NTLM acceptor")) {
                        SecPkgContext_NamesA names = { 0 };
                        if (t_status(t_handshake(&out, &ntlm_srv, "HOST/localhost", 0, 0, &h2), SEC_E_OK,
                                     "NTLM logon with the delegated credentials") &&
                            t_status(QueryContextAttributesA(&h2.server, SECPKG_ATTR_NAMES, &names), SEC_E_OK,
                                     "NTLM acceptor NAMES")) {
                                t_ok(!strcmp((char *) names.sUserName, "SSPID\\alice"), "it sees SSPID\\alice (%s)",
                                     (char *) names.sUserName);
                                FreeContextBuffer(names.sUserName);
                        }
                        t_handshake_done(&h2);
                        FreeCredentialsHandle(&ntlm_srv);
                }
                FreeCredentialsHandle(&out);
        }
        /* Only an accepted CredSSP context, only outbound, only Version 1. */
        d.phContext = &h->client;
        t_status(AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &d, NULL, NULL, &out, &ts),
                 SEC_E_UNKNOWN_CREDENTIALS, "the client's context: SEC_E_UNKNOWN_CREDENTIALS");
        d.phContext = &h->server;
        t_status(AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, &d, NULL, NULL, &out, &ts),
                 SEC_E_UNKNOWN_CREDENTIALS, "inbound: SEC_E_UNKNOWN_CREDENTIALS");
        d.Flags = 1;
        t_status(AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &d, NULL, NULL, &out, &ts),
                 SEC_E_UNKNOWN_CREDENTIALS, "unknown Flags: SEC_E_UNKNOWN_CREDENTIALS");
        d.Flags = 0;
        t_status(AcquireCredentialsHandleA(NULL, "Schannel", SECPKG_CRED_OUTBOUND, NULL, &d, NULL, NULL, &out, &ts),
                 SEC_E_UNKNOWN_CREDENTIALS, "Schannel: SEC_E_UNKNOWN_CREDENTIALS");
        CtxtHandle bogus = { 12345, 67890 };
        d.phContext = &bogus;
        t_status(AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &d, NULL, NULL, &out, &ts),
                 SEC_E_INVALID_HANDLE, "a handle that is not ours: SEC_E_INVALID_HANDLE");
        (void) client_cred;
}

/* Every token reaches the other side first without its last 3 bytes. The
 * step must consume nothing and say SEC_E_INCOMPLETE_MESSAGE with
 * SECBUFFER_MISSING in the EMPTY buffer (Schannel's ISC/ASC layout), or (Schannel during the handshake, when whole records
 * came first) take those records and hand the rest back as SECBUFFER_EXTRA
 * with SEC_I_CONTINUE_NEEDED; the caller reads more and calls again with
 * the bytes not taken (Schannel's rules, which FreeRDP's and curl's loops
 * follow). Then the handshake completes as usual. */
static void split_tokens(CredHandle *c, CredHandle *s) {
        static uint8_t tok[65536], out_buf[65536];
        CtxtHandle cctx, sctx;
        bool have_c = false, have_s = false, client_turn = true;
        SECURITY_STATUS cst = SEC_I_CONTINUE_NEEDED, sst = SEC_I_CONTINUE_NEEDED;
        size_t len = 0;
        int partial = 0, reported = 0;
        ULONG attrs;

        for (int round = 0; round < 20 && (cst != SEC_E_OK || sst != SEC_E_OK); round++) {
                size_t off = 0;

                for (int part = 0; part < 2; part++) {
                        size_t give = part == 0 ? (len > 3 ? len - 3 : 0) : len - off;
                        SecBuffer ib[2] = { { (ULONG) give, SECBUFFER_TOKEN, tok + off }, { 0, SECBUFFER_EMPTY, NULL } };
                        SecBuffer ob = { sizeof(out_buf), SECBUFFER_TOKEN, out_buf };
                        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
                        SECURITY_STATUS st;

                        if (part == 0 && give == 0)
                                continue;
                        if (client_turn)
                                st = cst = InitializeSecurityContextA(c, have_c ? &cctx : NULL, "TERMSRV/localhost", 0,
                                                                      0, SECURITY_NATIVE_DREP, have_c ? &id : NULL, 0,
                                                                      &cctx, &od, &attrs, NULL);
                        else
                                st = sst = AcceptSecurityContext(s, have_s ? &sctx : NULL, &id, 0, SECURITY_NATIVE_DREP,
                                                                 &sctx, &od, &attrs, NULL);
                        if (part == 0) {
                                partial++;
                                if (st == SEC_E_INCOMPLETE_MESSAGE && ib[1].BufferType == SECBUFFER_MISSING &&
                                    ib[1].cbBuffer > 0 && ib[1].cbBuffer <= 3 + 5) {
                                        reported++;
                                        continue;
                                }
                                if (st == SEC_I_CONTINUE_NEEDED && ib[1].BufferType == SECBUFFER_EXTRA &&
                                    ib[1].cbBuffer <= give && ob.cbBuffer == 0) {
                                        reported++;
                                        if (client_turn)
                                                have_c = true;
                                        else
                                                have_s = true;
                                        off = give - ib[1].cbBuffer;
                                        continue;
                                }
                                t_ok(false, "a token short of 3 bytes (%s, round %d): %s", client_turn ? "client" : "server",
                                     round, status_name(st));
                                round = 20;
                                break;
                        }
                        if (st < 0) {
                                t_ok(false, "split handshake: %s", status_name(st));
                                round = 20;
                                break;
                        }
                        if (client_turn)
                                have_c = true;
                        else
                                have_s = true;
                        memcpy(tok, out_buf, ob.cbBuffer);
                        len = ob.cbBuffer;
                }
                if (len == 0)
                        break;
                client_turn = !client_turn;
        }
        t_ok(cst == SEC_E_OK && sst == SEC_E_OK, "split tokens: both sides complete (%s / %s)", status_name(cst),
             status_name(sst));
        t_ok(partial >= 5 && reported == partial,
             "every short token: INCOMPLETE_MESSAGE + MISSING or CONTINUE_NEEDED + EXTRA (%d of %d)", reported, partial);
        if (have_c)
                DeleteSecurityContext(&cctx);
        if (have_s)
                DeleteSecurityContext(&sctx);
}

int main(void) {
        const char *env = getenv("SSPID_TESTENV");
        CredHandle c, s, c2 = { 0 }, s2 = { 0 };
        THandshake h;

        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        if (!t_load_cert(pki, "server-rsa", &srv_cert)) {
                t_ok(false, "load the server certificate");
                return t_done();
        }
        srv_pc = &srv_cert.cc;
        listing();

        {
                TimeStamp ts;
                CredHandle x;
                t_status(AcquireCredentialsHandleA(NULL, "CREDSSP", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &x, &ts),
                         SEC_E_NO_CREDENTIALS, "server without pSchannelCred: SEC_E_NO_CREDENTIALS");
                CREDSSP_CRED bad = { .Type = CredsspCertificateCreds };
                t_status(AcquireCredentialsHandleA(NULL, "CREDSSP", SECPKG_CRED_OUTBOUND, NULL, &bad, NULL, NULL, &x, &ts),
                         SEC_E_UNKNOWN_CREDENTIALS, "CredsspCertificateCreds: SEC_E_UNKNOWN_CREDENTIALS");
        }

        if (!t_status(server_cred(&s), SEC_E_OK, "server credential (CREDSSP_CRED, CredsspSchannelCreds)"))
                return t_done();
        if (t_status(client_cred("alice", "alice-pw-1", true, &c), SEC_E_OK, "client credential (CREDSSP_CRED)")) {
                t_status(t_handshake(&c, &s, "TERMSRV/localhost", 0, 0, &h), SEC_E_OK,
                         "CredSSP handshake (TLS, NTLM in SPNEGO, pubKeyAuth v6, TSCredentials)");
                t_ok(h.legs >= 5, "at least five legs (%d)", h.legs);
                after(&h);
                delegated(&h, &c);
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
        }
        if (t_status(client_cred("alice", "alice-pw-1", false, &c), SEC_E_OK, "client credential (plain identity)")) {
                t_status(t_handshake(&c, &s, "TERMSRV/localhost", 0, 0, &h), SEC_E_OK, "handshake, plain identity");
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
        }
        if (t_status(client_cred("alice", "wrong-pw", true, &c), SEC_E_OK, "client credential, wrong password")) {
                SECURITY_STATUS st = t_handshake(&c, &s, "TERMSRV/localhost", 0, 0, &h);
                t_ok(st == SEC_E_LOGON_DENIED, "wrong password: SEC_E_LOGON_DENIED (%s)", status_name(st));
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
        }
        if (t_status(client_cred("alice", "alice-pw-1", true, &c), SEC_E_OK, "client credential for split tokens")) {
                split_tokens(&c, &s);
                FreeCredentialsHandle(&c);
        }
        /* Kerberos inside SPNEGO: alice of the test realm to the realm's
         * HTTP/localhost service (its key in the daemon's keytab). */
        if (t_status(client_cred_in("alice", t_realm(), "alice-pw-1", true, &c), SEC_E_OK,
                     "client credential in the Kerberos realm")) {
                SecPkgContext_NamesA names = { 0 };
                if (t_status(t_handshake(&c, &s, "HTTP/localhost", 0, 0, &h), SEC_E_OK,
                             "CredSSP handshake with Kerberos inside") &&
                    t_status(QueryContextAttributesA(&h.server, SECPKG_ATTR_NAMES, &names), SEC_E_OK, "NAMES")) {
                        t_ok(names.sUserName && !strncmp((char *) names.sUserName, "alice@", 6),
                             "server sees alice@REALM (%s)", (char *) names.sUserName);
                        FreeContextBuffer(names.sUserName);
                }
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
        }
        /* Asynchronously, with the same server credential. */
        if (t_status(client_cred("alice", "alice-pw-1", true, &c2), SEC_E_OK, "client credential for async")) {
                s2 = s;
                t_status(t_handshake_async("CREDSSP", NULL, &c2, &s2, "TERMSRV/localhost", 0, 0, &h), SEC_E_OK,
                         "async CredSSP handshake");
                t_handshake_done(&h);
                FreeCredentialsHandle(&c2);
        }
        FreeCredentialsHandle(&s);
        return t_done();
}
