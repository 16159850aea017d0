/* SPDX-License-Identifier: MIT */
/*
 * sspid's NTLM acceptor with domain accounts (issue 15 items 1 and 2): the
 * daemon's [ntlm-domain CORP] hands each response to the DC's winbindd,
 * as a Windows member server passes it to its DC (NETLOGON). Our NTLM
 * client and a client that is not ours (python3-ntlm-auth) log on as
 * domain users; refusals carry the DC's reason in the daemon's log; a
 * daemon that cannot reach winbindd says so. Sync and through Sspi*Async.
 * Run by tests/ad/run.sh in the DC's namespaces (SSPID_AD_WORK: its
 * work directory with the daemons' logs and sockets).
 */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <grp.h>
#include <unistd.h>

#include "testlib.h"
#include "twin.h"

#define TARGET "HTTP/web.corp.test"
#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_CONNECTION)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_CONNECTION)
/* What the Windows NTLM SSP does with a domain account at a member server:
 * the DC judges the response (MS-APDS 3.1.5.2, NETLOGON pass-through). */
#define WIN_PASSTHROUGH W_MSDOCS("MS-APDS 3.1.5: NTLM pass-through, the DC validates and returns the session key")
/* AcceptSecurityContext (NTLM): SEC_E_LOGON_DENIED, "the logon failed". */
#define WIN_DENIED W_MSDOCS("AcceptSecurityContext (NTLM): SEC_E_LOGON_DENIED, the logon failed")

static const char *domain, *work;
static char log_path[512];

static const char *mode_name(bool async) {
        return async ? "async" : "sync";
}

/* The client name the acceptor reports ("" when the query fails). */
static void server_name(CtxtHandle *s, char *buf, size_t len) {
        SecPkgContext_NamesA n;

        buf[0] = 0;
        if (QueryContextAttributesA(s, SECPKG_ATTR_NAMES, &n) == SEC_E_OK) {
                snprintf(buf, len, "%s", n.sUserName);
                FreeContextBuffer(n.sUserName);
        }
}

/* Both sides hold the same 16-byte session key (the one the DC returned,
 * after key exchange: the client's exported key). */
static bool same_session_key(CtxtHandle *c, CtxtHandle *s) {
        SecPkgContext_SessionKey kc, ks;
        bool same = false;

        if (QueryContextAttributesA(c, SECPKG_ATTR_SESSION_KEY, &kc) != SEC_E_OK)
                return false;
        if (QueryContextAttributesA(s, SECPKG_ATTR_SESSION_KEY, &ks) == SEC_E_OK) {
                same = kc.SessionKeyLength == 16 && ks.SessionKeyLength == 16 &&
                       !memcmp(kc.SessionKey, ks.SessionKey, 16);
                FreeContextBuffer(ks.SessionKey);
        }
        FreeContextBuffer(kc.SessionKey);
        return same;
}

/* Sealed and signed messages both ways; a flipped bit is refused. */
static void protect(CtxtHandle *c, CtxtHandle *s, const char *label) {
        const char *text = "from a domain account, sealed with the DC's session key";
        SecPkgContext_Sizes sz;
        ULONG qop = 0;
        TMessage m;

        if (!t_status(QueryContextAttributesA(c, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: SIZES", label))
                return;
        for (int dir = 0; dir < 2; dir++) {
                CtxtHandle *from = dir ? s : c, *to = dir ? c : s;
                const char *way = dir ? "server->client" : "client->server";

                t_message_init(&m, text, strlen(text), false);
                m.b[0].cbBuffer = sz.cbSecurityTrailer;
                t_status(EncryptMessage(from, 0, &m.d, 0), SEC_E_OK, "%s: EncryptMessage %s", label, way);
                t_ok(memcmp(m.data, text, strlen(text)) != 0, "%s: %s data sealed in place", label, way);
                t_status(DecryptMessage(to, &m.d, 0, &qop), SEC_E_OK, "%s: DecryptMessage %s", label, way);
                t_ok(m.b[1].cbBuffer == strlen(text) && !memcmp(m.data, text, strlen(text)), "%s: %s plaintext back",
                     label, way);
                t_message_init(&m, text, strlen(text), false);
                m.b[0].cbBuffer = sz.cbMaxSignature;
                t_status(MakeSignature(from, 0, &m.d, 0), SEC_E_OK, "%s: MakeSignature %s", label, way);
                t_status(VerifySignature(to, &m.d, 0, &qop), SEC_E_OK, "%s: VerifySignature %s", label, way);
        }
        t_message_init(&m, text, strlen(text), false);
        m.b[0].cbBuffer = sz.cbSecurityTrailer;
        t_status(EncryptMessage(c, 0, &m.d, 0), SEC_E_OK, "%s: EncryptMessage for the tamper check", label);
        m.data[3] ^= 0x01;
        t_status(DecryptMessage(s, &m.d, 0, &qop), SEC_E_MESSAGE_ALTERED, "%s: a flipped bit is refused", label);
        t_message_init(&m, text, strlen(text), false);
        m.b[0].cbBuffer = sz.cbMaxSignature;
        t_status(MakeSignature(s, 0, &m.d, 0), SEC_E_OK, "%s: MakeSignature for the tamper check", label);
        m.data[0] ^= 0x80;
        t_status(VerifySignature(c, &m.d, 0, &qop), SEC_E_MESSAGE_ALTERED, "%s: a signed message altered is refused",
                 label);
}

/* One handshake of our client (pkg, user, dom, pw) with our acceptor (the
 * uid's NTLM grants: the local store and the domain), sync or async. On
 * SEC_E_OK the handshake stays in *h for the caller (t_handshake_done). */
static SECURITY_STATUS logon(const char *pkg, const char *user, const char *dom, const char *pw, bool async,
                             const char *package_list, THandshake *h, CredHandle *c, CredHandle *s) {
        SEC_WINNT_AUTH_IDENTITY_EXA id = {
                .Version = SEC_WINNT_AUTH_IDENTITY_VERSION, .Length = sizeof(id),
                .User = (unsigned char *) user, .UserLength = (ULONG) strlen(user),
                .Domain = (unsigned char *) dom, .DomainLength = dom ? (ULONG) strlen(dom) : 0,
                .Password = (unsigned char *) pw, .PasswordLength = (ULONG) strlen(pw),
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
                .PackageList = (unsigned char *) package_list,
                .PackageListLength = package_list ? (ULONG) strlen(package_list) : 0,
        };
        SECURITY_STATUS st;

        memset(h, 0, sizeof(*h));
        *c = (CredHandle) { 0 };
        *s = (CredHandle) { 0 };
        if (async)
                return t_handshake_async(pkg, &id, c, s, TARGET, ISC_FLAGS, ASC_FLAGS, h);
        st = AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, c, NULL);
        if (st != SEC_E_OK)
                return st;
        st = AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, s, NULL);
        if (st != SEC_E_OK)
                return st;
        return t_handshake(c, s, TARGET, ISC_FLAGS, ASC_FLAGS, h);
}

static void logon_done(THandshake *h, CredHandle *c, CredHandle *s) {
        t_handshake_done(h);
        if (c->dwLower || c->dwUpper)
                FreeCredentialsHandle(c);
        if (s->dwLower || s->dwUpper)
                FreeCredentialsHandle(s);
}

/* A line of the log at `path` has both strings (NULL: any). */
static bool log_has(const char *path, const char *a, const char *b) {
        char line[4096];
        bool found = false;
        FILE *f = fopen(path, "re");

        while (f && !found && fgets(line, sizeof(line), f))
                found = strstr(line, a) && (!b || strstr(line, b));
        if (f)
                fclose(f);
        return found;
}

/* A domain user logs on: the DC's answer, the canonical name, the key. */
static void test_accepted(bool async) {
        static const struct {
                const char *user, *dom, *pw, *want, *what;
        } cases[] = {
                { "alice", "CORP", "Alice-pw-1", "CORP\\alice", "NetBIOS domain" },
                { "alice", "corp.test", "Alice-pw-1", "CORP\\alice", "the DNS domain (an alias of CORP)" },
                { "ALICE", "corp", "Alice-pw-1", "CORP\\alice", "name and domain in another case: the DC's spelling" },
                { "hank", "CORP", "Hank-pw-1", "CORP\\hank", "hank (UPN henry@corp.test): his account name" },
        };
        const char *m = mode_name(async);

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                THandshake h;
                CredHandle c, s;
                char name[256] = "";
                SECURITY_STATUS st = logon("NTLM", cases[i].user, cases[i].dom, cases[i].pw, async, NULL, &h, &c, &s);

                if (t_status(st, SEC_E_OK, "%s NTLM: %s\\%s, a domain account, logs on at our acceptor (%s) [%s]", m,
                             cases[i].dom, cases[i].user, cases[i].what, WIN_PASSTHROUGH)) {
                        server_name(&h.server, name, sizeof(name));
                        t_ok(!strcmp(name, cases[i].want),
                             "%s NTLM: SECPKG_ATTR_NAMES is \"%s\" (got \"%s\") [Windows: NetBIOS domain\\account "
                             "from the DC's logon info]",
                             m, cases[i].want, name);
                        t_ok(same_session_key(&h.client, &h.server),
                             "%s NTLM: both sides hold the same 16-byte session key (the DC's user session key, "
                             "key exchange)",
                             m);
                        if (i == 0) {
                                char label[64];
                                snprintf(label, sizeof(label), "%s NTLM CORP\\alice", m);
                                protect(&h.client, &h.server, label);
                        }
                }
                logon_done(&h, &c, &s);
        }
}

/* Refusals: Windows' status, the DC's reason in the daemon's log. */
static void test_refused(bool async) {
        static const struct {
                const char *user, *dom, *pw, *what, *reason;
        } cases[] = {
                { "alice", "CORP", "wrong-pw-1", "wrong password", "STATUS_WRONG_PASSWORD" },
                { "nobody-here", "CORP", "Any-pw-1", "unknown user", "STATUS_NO_SUCH_USER" },
                { "dora", "CORP", "Dora-pw-1", "disabled account", "STATUS_ACCOUNT_DISABLED" },
                { "eve", "CORP", "Eve-pw-1", "expired account", "STATUS_ACCOUNT_EXPIRED" },
                { "mona", "CORP", "Mona-pw-1", "must change password", "STATUS_PASSWORD_MUST_CHANGE" },
        };
        const char *m = mode_name(async);

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                THandshake h;
                CredHandle c, s;
                char who[128];
                SECURITY_STATUS st = logon("NTLM", cases[i].user, cases[i].dom, cases[i].pw, async, NULL, &h, &c, &s);

                t_status(st, SEC_E_LOGON_DENIED, "%s NTLM: %s\\%s refused: %s [%s]", m, cases[i].dom, cases[i].user,
                         cases[i].what, WIN_DENIED);
                t_ok(!h.have_server || h.server_status == SEC_E_LOGON_DENIED,
                     "%s NTLM: the acceptor's own status is SEC_E_LOGON_DENIED (%s)", m,
                     status_name(h.server_status));
                logon_done(&h, &c, &s);
                snprintf(who, sizeof(who), "logon of %s\\x5c%s refused by the domain", cases[i].dom, cases[i].user);
                t_ok(log_has(log_path, who, cases[i].reason), "%s NTLM: the daemon's log names the DC's reason for %s\\%s: %s",
                     m, cases[i].dom, cases[i].user, cases[i].reason);
        }
}

/* Negotiate: our Negotiate client's NTLM (Kerberos cannot use the NetBIOS
 * domain today, issue 15 item 2; and with NTLM alone in its package list)
 * reaches the same DC through the Negotiate acceptor. */
static void test_negotiate(bool async) {
        const char *m = mode_name(async);
        THandshake h;
        CredHandle c, s;
        char name[256] = "";
        SECURITY_STATUS st;

        st = logon("Negotiate", "alice", domain, "Alice-pw-1", async, "NTLM", &h, &c, &s);
        if (t_status(st, SEC_E_OK, "%s Negotiate (client limited to NTLM): CORP\\alice logs on [%s]", m,
                     WIN_PASSTHROUGH)) {
                server_name(&h.server, name, sizeof(name));
                t_ok(!strcmp(name, "CORP\\alice"), "%s Negotiate/NTLM: the client is CORP\\alice (got \"%s\")", m,
                     name);
                protect(&h.client, &h.server, async ? "async Negotiate/NTLM" : "sync Negotiate/NTLM");
        }
        logon_done(&h, &c, &s);
        st = logon("Negotiate", "alice", domain, "Alice-pw-1", async, NULL, &h, &c, &s);
        t_status(st, SEC_E_OK,
                 "%s Negotiate as CORP\\alice (NetBIOS domain: Kerberos or its NTLM fallback) no longer ends in "
                 "SEC_E_LOGON_DENIED",
                 m);
        logon_done(&h, &c, &s);
        st = logon("Negotiate", "dora", domain, "Dora-pw-1", async, "NTLM", &h, &c, &s);
        t_status(st, SEC_E_LOGON_DENIED, "%s Negotiate/NTLM: the disabled dora is refused [%s]", m, WIN_DENIED);
        logon_done(&h, &c, &s);
}

/* The local store beside the domain: its account still logs on, under
 * the store's DNS alias too (item 2). */
static void test_local_beside_domain(bool async) {
        static const char *const doms[] = { "CORP", "corp.test", "CORP.TEST" };
        const char *m = mode_name(async);

        for (size_t i = 0; i < sizeof(doms) / sizeof(*doms); i++) {
                THandshake h;
                CredHandle c, s;
                char name[256] = "";
                SECURITY_STATUS st = logon("NTLM", "local1", doms[i], "Local-pw-1", async, NULL, &h, &c, &s);

                if (t_status(st, SEC_E_OK, "%s NTLM: the store's local1 logs on as %s\\local1 (store domain CORP, alias "
                             "corp.test)", m, doms[i])) {
                        server_name(&h.server, name, sizeof(name));
                        t_ok(!strcmp(name, "CORP\\local1"), "%s NTLM: named as the store spells it: CORP\\local1 (got "
                             "\"%s\")", m, name);
                }
                logon_done(&h, &c, &s);
        }
}

/* gina (UPN gina@mail.example, an alternate suffix): as CORP\\gina our
 * client logs on; given the UPN it sends it whole in the user field with
 * an empty domain, as Windows clients do (the Linux cifs client's "Fix
 * default behaviour for empty domains", traced against Windows 10; Samba's
 * and pyspnego's clients do the same, test_peer), and the DC resolves the
 * alternate suffix; the acceptor names the account as the DC does. The
 * UPN of the implicit suffix (alice@corp.test) goes the same way. */
#define WIN_UPN "Windows 10 client trace (Linux cifs commit \"Fix default behaviour for empty domains\"): a UPN " \
                "goes whole in UserName with an empty DomainName"
static void test_upn(bool async) {
        static const struct {
                const char *upn, *pw, *account;
        } upns[] = {
                { "gina@mail.example", "Gina-pw-1", "CORP\\gina" },
                { "alice@corp.test", "Alice-pw-1", "CORP\\alice" },
        };
        const char *m = mode_name(async);
        THandshake h;
        CredHandle c, s;
        char name[256] = "";
        SECURITY_STATUS st = logon("NTLM", "gina", domain, "Gina-pw-1", async, NULL, &h, &c, &s);

        if (t_status(st, SEC_E_OK, "%s NTLM: CORP\\gina (UPN gina@mail.example) logs on [%s]", m, WIN_PASSTHROUGH)) {
                server_name(&h.server, name, sizeof(name));
                t_ok(!strcmp(name, "CORP\\gina"), "%s NTLM: named CORP\\gina (got \"%s\")", m, name);
        }
        logon_done(&h, &c, &s);
        for (size_t i = 0; i < sizeof(upns) / sizeof(*upns); i++) {
                SecPkgContext_NamesA cn;

                st = logon("NTLM", upns[i].upn, NULL, upns[i].pw, async, NULL, &h, &c, &s);
                if (t_status(st, SEC_E_OK, "%s NTLM: our client as %s (a UPN, no domain): the DC accepts it [%s]", m,
                             upns[i].upn, WIN_UPN)) {
                        server_name(&h.server, name, sizeof(name));
                        t_ok(!strcmp(name, upns[i].account), "%s NTLM: the acceptor names %s as the DC does: %s (got "
                             "\"%s\")", m, upns[i].upn, upns[i].account, name);
                        if (QueryContextAttributesA(&h.client, SECPKG_ATTR_NAMES, &cn) == SEC_E_OK) {
                                t_ok(!strcmp(cn.sUserName, upns[i].upn), "%s NTLM: the client's NAMES is the UPN as "
                                     "given, %s (got \"%s\")", m, upns[i].upn, cn.sUserName);
                                FreeContextBuffer(cn.sUserName);
                        } else
                                t_ok(false, "%s NTLM: the client's NAMES", m);
                }
                logon_done(&h, &c, &s);
        }
}

/* ---- a client that is not ours: python3-ntlm-auth (NTLMv2, MIC, KEY_EXCH) ---- */
static const char peer_py[] =
        "import sys, base64\n"
        "from ntlm_auth.ntlm import NtlmContext\n"
        "u, d, p = sys.argv[1], sys.argv[2], sys.argv[3]\n"
        "ctx = NtlmContext(u, p, domain=d, workstation='PYPEER', ntlm_compatibility=3)\n"
        "out = lambda b: (sys.stdout.write(base64.b64encode(b).decode() + '\\n'), sys.stdout.flush())\n"
        "out(ctx.step())\n"
        "out(ctx.step(base64.b64decode(sys.stdin.readline())))\n"
        "out(ctx.wrap(b'sealed by python3-ntlm-auth'))\n"
        "line = sys.stdin.readline().strip()\n"
        "if line:\n"
        "    print(ctx.unwrap(base64.b64decode(line)).decode(), flush=True)\n";

static size_t b64dec(const char *in, uint8_t *out, size_t cap) {
        static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        uint32_t acc = 0;
        int bits = 0;
        size_t n = 0;

        for (; *in && *in != '=' && *in != '\n'; in++) {
                const char *p = strchr(t, *in);
                if (!p)
                        break;
                acc = acc << 6 | (uint32_t) (p - t);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n < cap)
                                out[n++] = (uint8_t) (acc >> bits);
                }
        }
        return n;
}

static void b64enc(const uint8_t *in, size_t n, char *out) {
        static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t i;

        for (i = 0; i + 2 < n; i += 3) {
                *out++ = t[in[i] >> 2];
                *out++ = t[(in[i] & 3) << 4 | in[i + 1] >> 4];
                *out++ = t[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
                *out++ = t[in[i + 2] & 63];
        }
        if (i < n) {
                *out++ = t[in[i] >> 2];
                if (i + 1 < n) {
                        *out++ = t[(in[i] & 3) << 4 | in[i + 1] >> 4];
                        *out++ = t[(in[i + 1] & 15) << 2];
                } else {
                        *out++ = t[(in[i] & 3) << 4];
                        *out++ = '=';
                }
                *out++ = '=';
        }
        *out = 0;
}

typedef struct Peer {
        pid_t pid;
        FILE *to, *from;
} Peer;

static bool peer_start(Peer *p, const char *user, const char *dom, const char *pw) {
        int in[2], out[2];

        if (pipe(in) < 0 || pipe(out) < 0)
                return false;
        p->pid = fork();
        if (p->pid == 0) {
                static char conf[600];
                FILE *f;

                dup2(in[0], 0);
                dup2(out[1], 1);
                close(in[1]);
                close(out[0]);
                /* The NT hash is MD4: ntlm-auth needs OpenSSL's legacy provider. */
                snprintf(conf, sizeof(conf), "%s/openssl-legacy.cnf", work);
                if ((f = fopen(conf, "we"))) {
                        fputs("openssl_conf = init\n[init]\nproviders = prov\n[prov]\ndefault = on\nlegacy = on\n"
                              "[on]\nactivate = 1\n",
                              f);
                        fclose(f);
                        setenv("OPENSSL_CONF", conf, 1);
                }
                execl("/usr/bin/python3", "python3", "-c", peer_py, user, dom, pw, (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        p->to = fdopen(in[1], "w");
        p->from = fdopen(out[0], "r");
        return p->pid > 0 && p->to && p->from;
}

static void peer_stop(Peer *p) {
        char rest[1024];

        if (p->to)
                fclose(p->to);
        /* Whatever it still says is read, so it never writes to a closed pipe. */
        while (p->from && fgets(rest, sizeof(rest), p->from))
                ;
        if (p->from)
                fclose(p->from);
        if (p->pid > 0)
                waitpid(p->pid, NULL, 0);
}

/* python3-ntlm-auth as the client, our NTLM acceptor (sync calls) as the
 * server; returns the acceptor's final status. */
static SECURITY_STATUS peer_logon(const char *user, const char *dom, const char *pw, bool protect_too) {
        static char line[16384], enc[16384];
        uint8_t tok[4096], out[4096];
        SecBuffer ib, ob;
        SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
        CredHandle s;
        CtxtHandle ctx;
        ULONG attrs;
        Peer p = { 0 };
        SECURITY_STATUS st;
        size_t n;
        bool have_ctx = false;

        st = AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &s, NULL);
        if (st != SEC_E_OK)
                return st;
        if (!peer_start(&p, user, dom, pw)) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        /* NEGOTIATE -> CHALLENGE */
        if (!fgets(line, sizeof(line), p.from)) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        n = b64dec(line, tok, sizeof(tok));
        ib = (SecBuffer) { (ULONG) n, SECBUFFER_TOKEN, tok };
        ob = (SecBuffer) { sizeof(out), SECBUFFER_TOKEN, out };
        st = AcceptSecurityContext(&s, NULL, &id, ASC_FLAGS, SECURITY_NATIVE_DREP, &ctx, &od, &attrs, NULL);
        if (st != SEC_I_CONTINUE_NEEDED)
                goto out;
        have_ctx = true;
        b64enc(out, ob.cbBuffer, enc);
        fprintf(p.to, "%s\n", enc);
        fflush(p.to);
        /* AUTHENTICATE */
        if (!fgets(line, sizeof(line), p.from)) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        n = b64dec(line, tok, sizeof(tok));
        ib = (SecBuffer) { (ULONG) n, SECBUFFER_TOKEN, tok };
        ob = (SecBuffer) { sizeof(out), SECBUFFER_TOKEN, out };
        st = AcceptSecurityContext(&s, &ctx, &id, ASC_FLAGS, SECURITY_NATIVE_DREP, &ctx, &od, &attrs, NULL);
        if (st != SEC_E_OK || !protect_too) {
                fprintf(p.to, "\n");
                fflush(p.to);
                goto out;
        }
        {
                char name[256];
                server_name(&ctx, name, sizeof(name));
                t_ok(!strcmp(name, "CORP\\alice"), "python3-ntlm-auth: our acceptor names the client CORP\\alice (got "
                     "\"%s\")", name);
        }
        /* The peer's sealed message (signature || ciphertext) unsealed here,
         * ours unsealed there. */
        if (fgets(line, sizeof(line), p.from)) {
                uint8_t msg[512];
                size_t len = b64dec(line, msg, sizeof(msg));
                SecBuffer mb[2] = { { 16, SECBUFFER_TOKEN, msg }, { (ULONG) (len - 16), SECBUFFER_DATA, msg + 16 } };
                SecBufferDesc md = { SECBUFFER_VERSION, 2, mb };
                ULONG qop = 0;
                SECURITY_STATUS ms = len > 16 ? DecryptMessage(&ctx, &md, 0, &qop) : SEC_E_INVALID_TOKEN;

                t_status(ms, SEC_E_OK, "python3-ntlm-auth's sealed message: DecryptMessage at our acceptor");
                t_ok(ms == SEC_E_OK && mb[1].cbBuffer == 27 && !memcmp(mb[1].pvBuffer, "sealed by python3-ntlm-auth", 27),
                     "python3-ntlm-auth's plaintext back");
        } else
                t_ok(false, "python3-ntlm-auth sends a sealed message");
        {
                static const char text[] = "sealed by sspid's acceptor";
                uint8_t msg[16 + sizeof(text)];
                SecBuffer mb[2] = { { 16, SECBUFFER_TOKEN, msg }, { sizeof(text) - 1, SECBUFFER_DATA, msg + 16 } };
                SecBufferDesc md = { SECBUFFER_VERSION, 2, mb };

                memcpy(msg + 16, text, sizeof(text) - 1);
                t_status(EncryptMessage(&ctx, 0, &md, 0), SEC_E_OK, "our acceptor seals a message for python3-ntlm-auth");
                b64enc(msg, 16 + sizeof(text) - 1, enc);
                fprintf(p.to, "%s\n", enc);
                fflush(p.to);
                if (!fgets(line, sizeof(line), p.from))
                        line[0] = 0;
                line[strcspn(line, "\n")] = 0;
                t_ok(!strcmp(line, text), "python3-ntlm-auth unseals it: \"%s\"", line);
        }
out:
        peer_stop(&p);
        if (have_ctx)
                DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&s);
        return st;
}

static void test_peer(void) {
        t_status(peer_logon("alice", domain, "Alice-pw-1", true), SEC_E_OK,
                 "python3-ntlm-auth (NTLMv2, MIC, key exchange) logs on as CORP\\alice at our acceptor [%s]",
                 WIN_PASSTHROUGH);
        t_status(peer_logon("alice", "corp.test", "Alice-pw-1", false), SEC_E_OK,
                 "python3-ntlm-auth as corp.test\\alice (the DNS domain)");
        t_status(peer_logon("gina@mail.example", "", "Gina-pw-1", false), SEC_E_OK,
                 "python3-ntlm-auth as gina@mail.example (UPN in the user name, empty domain)");
        t_status(peer_logon("alice", domain, "wrong-pw-1", false), SEC_E_LOGON_DENIED,
                 "python3-ntlm-auth with a wrong password is refused [%s]", WIN_DENIED);
        {
                /* Longer than winbindd's 256-byte field (our client refuses
                 * such a name itself): libwbclient would cut it to another
                 * account's name. */
                char longname[301];

                memset(longname, 'a', 300);
                longname[300] = 0;
                t_status(peer_logon(longname, domain, "Any-pw-1", false), SEC_E_LOGON_DENIED,
                         "python3-ntlm-auth with a 300-byte user name: refused, not cut");
                t_ok(log_has(log_path, "a name longer than winbindd takes", NULL),
                     "the daemon's log says the name is too long for winbindd");
        }
}

/* A daemon that cannot reach winbindd (run.sh's "nowinbind" sspid: an
 * empty /run/samba/winbindd in a mount namespace of its own). Forked
 * before this process makes any call: the child's library connects to
 * that daemon's socket. */
static void test_unreachable(void) {
        char sock[512], nlog[512];
        int fds[2];
        pid_t pid;
        SECURITY_STATUS st[2] = { SEC_E_INTERNAL_ERROR, SEC_E_INTERNAL_ERROR };

        snprintf(sock, sizeof(sock), "%s/nowinbind.sock", work);
        snprintf(nlog, sizeof(nlog), "%s/nowinbind.log", work);
        if (access(sock, F_OK) < 0) {
                t_ok(false, "run.sh started the daemon without winbindd (%s)", sock);
                return;
        }
        if (pipe(fds) < 0)
                return;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                THandshake h;
                CredHandle c, s;

                close(fds[0]);
                setenv("SSPID_SOCKET", sock, 1);
                for (int a = 0; a < 2; a++) {
                        st[a] = logon("NTLM", "alice", "CORP", "Alice-pw-1", a, NULL, &h, &c, &s);
                        logon_done(&h, &c, &s);
                }
                if (write(fds[1], st, sizeof(st)) != sizeof(st))
                        _exit(1);
                _exit(0);
        }
        close(fds[1]);
        if (pid < 0 || read(fds[0], st, sizeof(st)) != sizeof(st))
                st[0] = st[1] = SEC_E_INTERNAL_ERROR;
        close(fds[0]);
        if (pid > 0)
                waitpid(pid, NULL, 0);
        for (int a = 0; a < 2; a++)
                t_status(st[a], SEC_E_NO_AUTHENTICATING_AUTHORITY,
                         "%s NTLM: winbindd unreachable: SEC_E_NO_AUTHENTICATING_AUTHORITY, no authority could be "
                         "contacted [%s]",
                         mode_name(a), W_MSDOCS("winerror.h: SEC_E_NO_AUTHENTICATING_AUTHORITY 0x80090311"));
        t_ok(log_has(nlog, "winbindd is not reachable", "returning 0x80090311"),
             "the daemon's log says winbindd is not reachable");
        {
                /* The store's account does not need winbindd. */
                int f2[2];
                SECURITY_STATUS ls = SEC_E_INTERNAL_ERROR;

                if (pipe(f2) < 0)
                        return;
                fflush(stdout);
                pid = fork();
                if (pid == 0) {
                        THandshake h;
                        CredHandle c, s;

                        close(f2[0]);
                        setenv("SSPID_SOCKET", sock, 1);
                        ls = logon("NTLM", "local1", "CORP", "Local-pw-1", false, NULL, &h, &c, &s);
                        logon_done(&h, &c, &s);
                        if (write(f2[1], &ls, sizeof(ls)) != sizeof(ls))
                                _exit(1);
                        _exit(0);
                }
                close(f2[1]);
                if (pid < 0 || read(f2[0], &ls, sizeof(ls)) != sizeof(ls))
                        ls = SEC_E_INTERNAL_ERROR;
                close(f2[0]);
                if (pid > 0)
                        waitpid(pid, NULL, 0);
                t_status(ls, SEC_E_OK, "without winbindd the local store's local1 still logs on");
        }
}

typedef struct LocalLogon {
        SECURITY_STATUS st;
        double seconds;
} LocalLogon;

static double now_s(void);

/* The store's local1, on a thread: a daemon whose event loop waited on
 * winbindd would never answer it, and the test must not hang then. */
static void *local_logon(void *arg) {
        LocalLogon *l = arg;
        THandshake h;
        CredHandle c, s;
        double t0 = now_s();

        l->st = logon("NTLM", "local1", "CORP", "Local-pw-1", false, NULL, &h, &c, &s);
        l->seconds = now_s() - t0;
        logon_done(&h, &c, &s);
        return NULL;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*
 * A winbindd that never answers (a listening socket nobody accepts on, in
 * the nowinbind daemon's winbindd directory): the AUTHENTICATE waits on a
 * worker, and meanwhile the daemon serves other logons at once. Closing
 * the socket ends the wait with "no authority". Runs in the child of
 * child_on_nowinbind; returns the number of failed checks.
 */
static int hung_checks(void) {
        char path[600];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int lfd, failed = 0;
        CredHandle c, s;
        CtxtHandle cc, sc;
        uint8_t t1[4096], t2[4096];
        SecBuffer ib, ob;
        SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SspiAsyncContext *ac;
        SECURITY_STATUS st, pend;
        LocalLogon ll = { SEC_E_INTERNAL_ERROR, 0 };
        pthread_t th;
        struct timespec until;
        bool joined;
        double t0;

        snprintf(path, sizeof(path), "%s/nowb-winbindd/pipe", work);
        if (strlen(path) >= sizeof(sa.sun_path)) {
                printf("not ok - socket path %s fits sockaddr_un\n", path);
                return 1;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        unlink(path);
        lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0) {
                printf("not ok - a silent winbindd socket at %s\n", path);
                return 1;
        }
        if (t_cred_identity("NTLM", "alice", "CORP", "Alice-pw-1", &c) != SEC_E_OK ||
            AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &s, NULL) != SEC_E_OK)
                return 1;
        ob = (SecBuffer) { sizeof(t1), SECBUFFER_TOKEN, t1 };
        st = InitializeSecurityContextA(&c, NULL, TARGET, ISC_FLAGS, 0, 0, NULL, 0, &cc, &od, &attrs, NULL);
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, t1 };
        ob = (SecBuffer) { sizeof(t2), SECBUFFER_TOKEN, t2 };
        if (st == SEC_I_CONTINUE_NEEDED)
                st = AcceptSecurityContext(&s, NULL, &id, ASC_FLAGS, 0, &sc, &od, &attrs, NULL);
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, t2 };
        ob = (SecBuffer) { sizeof(t1), SECBUFFER_TOKEN, t1 };
        if (st == SEC_I_CONTINUE_NEEDED)
                st = InitializeSecurityContextA(&c, &cc, TARGET, ISC_FLAGS, 0, 0, &id, 0, &cc, &od, &attrs, NULL);
        if (st != SEC_E_OK) {
                printf("not ok - NEGOTIATE, CHALLENGE, AUTHENTICATE made: %s\n", status_name(st));
                return 1;
        }
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, t1 };
        ob = (SecBuffer) { sizeof(t2), SECBUFFER_TOKEN, t2 };
        ac = SspiCreateAsyncContext();
        st = SspiAcceptSecurityContextAsync(ac, &s, &sc, &id, ASC_FLAGS, 0, &sc, &od, &attrs, NULL);
        failed += !t_status(st, SEC_E_OK, "silent winbindd: the AUTHENTICATE is queued (SspiAcceptSecurityContextAsync)");
        usleep(1500 * 1000);
        pend = SspiGetAsyncCallStatus(ac);
        failed += !t_status(pend, SEC_I_ASYNC_CALL_PENDING,
                            "silent winbindd: 1.5 s later the logon still waits for the DC's answer");
        if (pthread_create(&th, NULL, local_logon, &ll) != 0)
                return failed + 1;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        joined = pthread_timedjoin_np(th, NULL, &until) == 0;
        t_ok(joined && ll.st == SEC_E_OK && ll.seconds < 3.0,
             "silent winbindd: meanwhile the store's local1 logs on at the same daemon in %.2f s (%s): the wait is on "
             "a worker, not the event loop",
             joined ? ll.seconds : 5.0, joined ? status_name(ll.st) : "no answer within 5 s");
        failed += !(joined && ll.st == SEC_E_OK && ll.seconds < 3.0);
        /* The DC "goes away": the pending connection is reset. */
        close(lfd);
        unlink(path);
        t0 = now_s();
        while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING && now_s() - t0 < 30)
                usleep(10000);
        failed += !t_status(st, SEC_E_NO_AUTHENTICATING_AUTHORITY,
                            "silent winbindd closed: the waiting logon ends with SEC_E_NO_AUTHENTICATING_AUTHORITY "
                            "(%.1f s)",
                            now_s() - t0);
        if (!joined)
                pthread_join(th, NULL);
        SspiFreeAsyncContext(ac);
        DeleteSecurityContext(&cc);
        DeleteSecurityContext(&sc);
        FreeCredentialsHandle(&c);
        FreeCredentialsHandle(&s);
        return failed;
}

/* Runs fn in a child whose library talks to the nowinbind daemon (forked
 * before this process connects anywhere); its "ok" lines are printed by
 * the child, its failures counted here. */
static void child_on_nowinbind(int (*fn)(void), const char *what) {
        char sock[512];
        pid_t pid;
        int status = 0;

        snprintf(sock, sizeof(sock), "%s/nowinbind.sock", work);
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                setenv("SSPID_SOCKET", sock, 1);
                int n = fn();
                fflush(stdout);
                _exit(n ? 1 : 0);
        }
        t_ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "%s: every check of the child passed", what);
}

/* The grant boundary: uid 65534 has no NTLM grant in run.sh's
 * configuration (only [acceptor narrow]); it cannot accept with the
 * domain, named or not. The child drops to 65534 before any call. */
static int nobody_checks(void) {
        static const char *const names[] = { NULL, "CORP", "corp.test" };
        int failed = 0;

        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0) {
                printf("not ok - drop to uid 65534\n");
                return 1;
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
                CredHandle s;
                SECURITY_STATUS st = AcquireCredentialsHandleA((char *) names[i], "NTLM", SECPKG_CRED_INBOUND, NULL, NULL,
                                                               NULL, NULL, &s, NULL);
                failed += !t_status(st, SEC_E_NOT_OWNER, "uid 65534 (no grant): NTLM inbound %s%s%s refused",
                                    names[i] ? "named " : "without a principal", names[i] ? names[i] : "", "");
                if (st == SEC_E_OK)
                        FreeCredentialsHandle(&s);
        }
        return failed;
}

static void child_as_nobody(void) {
        pid_t pid;
        int status = 0;

        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                int n = nobody_checks();
                fflush(stdout);
                _exit(n ? 1 : 0);
        }
        t_ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "uid 65534: every check of the child passed");
}

/* Nothing a client typed as a password reaches the log. */
static void test_log_secrets(void) {
        static const char *const pws[] = { "Alice-pw-1", "wrong-pw-1", "Dora-pw-1", "Eve-pw-1", "Mona-pw-1", "Gina-pw-1" };

        for (size_t i = 0; i < sizeof(pws) / sizeof(*pws); i++)
                t_ok(!log_has(log_path, pws[i], NULL), "the daemon's log does not contain the password %s", pws[i]);
}

int main(void) {
        domain = getenv("AD_DOMAIN");
        work = getenv("SSPID_AD_WORK");
        if (!domain || !work || !getenv("SSPID_SOCKET")) {
                t_ok(false, "run by tests/ad/run.sh (AD_DOMAIN, SSPID_AD_WORK, SSPID_SOCKET set)");
                return t_done();
        }
        signal(SIGPIPE, SIG_IGN);
        snprintf(log_path, sizeof(log_path), "%s/sspid.log", work);
        test_unreachable();
        child_on_nowinbind(hung_checks, "silent winbindd");
        child_as_nobody();
        for (int a = 0; a < 2; a++) {
                test_accepted(a);
                test_refused(a);
                test_negotiate(a);
                test_local_beside_domain(a);
                test_upn(a);
        }
        test_peer();
        test_log_secrets();
        return t_done();
}
