/* SPDX-License-Identifier: MIT */
/*
 * Negotiate through the daemon: Kerberos chosen when it can work, NTLM
 * when it cannot (unknown target, no KDC for the domain), each visible in
 * SECPKG_ATTR_NEGOTIATION_INFO; package lists; no silent downgrade; a
 * tampered mechListMIC refused; a raw NTLM token accepted by Negotiate.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_MUTUAL_AUTH)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_MUTUAL_AUTH)

static SECURITY_STATUS cred_out(const char *pkg, const char *user, const char *domain, const char *pw,
                                const char *list, CredHandle *ret) {
        SEC_WINNT_AUTH_IDENTITY_EXA id = {
                .Version = SEC_WINNT_AUTH_IDENTITY_VERSION,
                .Length = sizeof(id),
                .User = (unsigned char *) user,
                .UserLength = (ULONG) strlen(user),
                .Domain = (unsigned char *) domain,
                .DomainLength = (ULONG) strlen(domain),
                .Password = (unsigned char *) pw,
                .PasswordLength = (ULONG) strlen(pw),
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
                .PackageList = (unsigned char *) list,
                .PackageListLength = list ? (ULONG) strlen(list) : 0,
        };
        TimeStamp ts;
        return AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, ret, &ts);
}

typedef struct Run {
        CtxtHandle c, s;
        bool have_c, have_s;
        int legs;
        SECURITY_STATUS cst, sst;
} Run;

static void run_done(Run *r) {
        if (r->have_c)
                DeleteSecurityContext(&r->c);
        if (r->have_s)
                DeleteSecurityContext(&r->s);
        r->have_c = r->have_s = false;
}

/* ISC/ASC until both finish, as a Windows program loops: the client stops
 * at its SEC_E_OK even when the acceptor's last call returns a token.
 * With `feed_final`, that token is handed to the client anyway (a
 * GSSAPI-style loop), which then checks the acceptor's mechListMIC.
 * `tamper_leg` (1-based, client legs odd) flips the byte
 * `tamper_from_end` bytes before the token's end. */
static bool feed_final;

static SECURITY_STATUS run(CredHandle *cc, CredHandle *sc, const char *target, int tamper_leg, size_t tamper_from_end,
                           Run *r) {
        uint8_t a[16384], b[16384];
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        ULONG have = 0;

        memset(r, 0, sizeof(*r));
        r->cst = r->sst = SEC_I_CONTINUE_NEEDED;
        while (r->legs < 10) {
                if (r->cst == SEC_I_CONTINUE_NEEDED) {
                        ib = (SecBuffer) { have, SECBUFFER_TOKEN, b };
                        ob = (SecBuffer) { sizeof(a), SECBUFFER_TOKEN, a };
                        r->cst = InitializeSecurityContextA(cc, r->have_c ? &r->c : NULL, (char *) target, ISC_FLAGS, 0,
                                                            SECURITY_NATIVE_DREP, r->have_c ? &in : NULL, 0, &r->c,
                                                            &out, &attrs, NULL);
                        r->legs++;
                        if (r->cst < 0)
                                return r->cst;
                        r->have_c = true;
                        have = ob.cbBuffer;
                        if (r->legs == tamper_leg && have >= tamper_from_end)
                                a[have - tamper_from_end] ^= 0x01;
                        memcpy(b, a, have);
                } else if (r->sst == SEC_E_OK)
                        break;
                if (have == 0)
                        break;
                if (r->sst != SEC_I_CONTINUE_NEEDED)
                        return SEC_E_INVALID_TOKEN; /* client sent more after the server finished */
                ib = (SecBuffer) { have, SECBUFFER_TOKEN, b };
                ob = (SecBuffer) { sizeof(a), SECBUFFER_TOKEN, a };
                r->sst = AcceptSecurityContext(sc, r->have_s ? &r->s : NULL, &in, ASC_FLAGS, SECURITY_NATIVE_DREP, &r->s,
                                               &out, &attrs, NULL);
                r->legs++;
                if (r->sst < 0)
                        return r->sst;
                r->have_s = true;
                have = ob.cbBuffer;
                if (r->legs == tamper_leg && have >= tamper_from_end)
                        a[have - tamper_from_end] ^= 0x01;
                memcpy(b, a, have);
                if (have == 0 && r->cst == SEC_E_OK)
                        break;
                if (have && r->cst == SEC_E_OK && r->sst == SEC_E_OK && feed_final) {
                        ib = (SecBuffer) { have, SECBUFFER_TOKEN, b };
                        ob = (SecBuffer) { sizeof(a), SECBUFFER_TOKEN, a };
                        r->cst = InitializeSecurityContextA(cc, &r->c, (char *) target, ISC_FLAGS, 0,
                                                            SECURITY_NATIVE_DREP, &in, 0, &r->c, &out, &attrs, NULL);
                        r->legs++;
                        if (r->cst == SEC_E_OK && ob.cbBuffer != 0)
                                return SEC_E_INVALID_TOKEN; /* nothing may follow the acceptor's last token */
                        break;
                }
        }
        if (r->cst == SEC_E_OK && r->sst == SEC_E_OK)
                return SEC_E_OK;
        return r->cst != SEC_E_OK ? r->cst : r->sst;
}

static void expect_package(CtxtHandle *h, const char *want, const char *side) {
        SecPkgContext_NegotiationInfoA ni = { 0 };
        SecPkgContext_PackageInfoA pi = { 0 };

        if (t_status(QueryContextAttributesA(h, SECPKG_ATTR_NEGOTIATION_INFO, &ni), SEC_E_OK, "%s NEGOTIATION_INFO",
                     side)) {
                t_ok(ni.PackageInfo && !strcmp((char *) ni.PackageInfo->Name, want) &&
                             ni.NegotiationState == SECPKG_NEGOTIATION_COMPLETE,
                     "%s: negotiated %s (%s), complete", side, want,
                     ni.PackageInfo ? (char *) ni.PackageInfo->Name : "-");
                if (ni.PackageInfo)
                        FreeContextBuffer(ni.PackageInfo);
        }
        if (t_status(QueryContextAttributesA(h, SECPKG_ATTR_PACKAGE_INFO, &pi), SEC_E_OK, "%s PACKAGE_INFO", side)) {
                t_ok(pi.PackageInfo && !strcmp((char *) pi.PackageInfo->Name, want), "%s PACKAGE_INFO names %s", side,
                     want);
                if (pi.PackageInfo)
                        FreeContextBuffer(pi.PackageInfo);
        }
}

static void seal_round_trip(Run *r, const char *what) {
        uint8_t tok[128], data[24];
        SecPkgContext_Sizes sz = { 0 };
        SecBuffer b[2];
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop = 0;

        if (QueryContextAttributesA(&r->c, SECPKG_ATTR_SIZES, &sz) != SEC_E_OK || sz.cbSecurityTrailer > sizeof(tok)) {
                t_ok(false, "%s: SIZES", what);
                return;
        }
        memcpy(data, "negotiated and sealed...", 24);
        b[0] = (SecBuffer) { sz.cbSecurityTrailer, SECBUFFER_TOKEN, tok };
        b[1] = (SecBuffer) { 24, SECBUFFER_DATA, data };
        t_status(EncryptMessage(&r->c, 0, &d, 0), SEC_E_OK, "%s: EncryptMessage", what);
        t_status(DecryptMessage(&r->s, &d, 0, &qop), SEC_E_OK, "%s: DecryptMessage", what);
        t_ok(!memcmp(data, "negotiated and sealed...", 24), "%s: plaintext back", what);
        /* The other way: the client's receive sequence must match the
         * acceptor's, whether or not the client read its final token. */
        b[0] = (SecBuffer) { sz.cbSecurityTrailer, SECBUFFER_TOKEN, tok };
        b[1] = (SecBuffer) { 24, SECBUFFER_DATA, data };
        t_status(EncryptMessage(&r->s, 0, &d, 0), SEC_E_OK, "%s: acceptor EncryptMessage", what);
        t_status(DecryptMessage(&r->c, &d, 0, &qop), SEC_E_OK, "%s: initiator DecryptMessage", what);
        t_ok(!memcmp(data, "negotiated and sealed...", 24), "%s: plaintext back to the initiator", what);
}

/* ---- HTTP: curl against examples/http-negotiate-server ---- */

/* Run argv with `env` ("NAME=value" or NULL) set; its stdout into buf. */
static int capture(char *const argv[], const char *env, char *buf, size_t cap) {
        int fd[2], status = -1;
        size_t n = 0;
        ssize_t r;
        pid_t pid;

        if (pipe(fd) < 0)
                return -1;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                dup2(fd[1], 1);
                close(fd[0]);
                if (env)
                        putenv((char *) env);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(fd[1]);
        while (n + 1 < cap && (r = read(fd[0], buf + n, cap - 1 - n)) > 0)
                n += (size_t) r;
        buf[n] = '\0';
        close(fd[0]);
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* For messages: the output on one line. */
static const char *flat(const char *s) {
        static char b[1024];
        size_t i = 0;
        for (; s[i] && i + 1 < sizeof(b); i++)
                b[i] = s[i] == '\n' ? '|' : s[i];
        b[i] = '\0';
        return b;
}

static void test_http(void) {
        const char *top = getenv("SSPID_TOP");
        char server[512], port_line[64] = "", url[128], url_lo[128], out[1024], ccache[600], user[64];
        int fd[2];
        unsigned port = 0;
        pid_t pid;
        FILE *f;

        snprintf(server, sizeof(server), "%s/build/examples/http-negotiate-server", top ? top : ".");
        if (pipe(fd) < 0)
                return;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                dup2(fd[1], 1);
                close(fd[0]);
                execl(server, server, (char *) NULL);
                _exit(127);
        }
        close(fd[1]);
        f = fdopen(fd[0], "r");
        if (!f || !fgets(port_line, sizeof(port_line), f) || sscanf(port_line, "listening on %u", &port) != 1) {
                t_ok(false, "http-negotiate-server started");
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                if (f)
                        fclose(f);
                return;
        }
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
        snprintf(url_lo, sizeof(url_lo), "http://localhost:%u/", port);

        {
                char *argv[] = { "curl", "-s", "--ntlm", "-u", "SSPID\\alice:alice-pw-1", "-w", "%{http_code}", url, NULL };
                capture(argv, NULL, out, sizeof(out));
                t_ok(!strcmp(out, "hello SSPID\\alice via NTLM\n200"), "curl --ntlm: 200, SSPID\\alice via NTLM [%s]",
                     flat(out));
        }
        {
                char *argv[] = { "curl", "-s", "--ntlm", "-u", "SSPID\\alice:not-her-password", "-o", "/dev/null",
                                 "-w", "%{http_code}", url, NULL };
                capture(argv, NULL, out, sizeof(out));
                t_ok(!strcmp(out, "401"), "curl --ntlm, wrong password: 401 [%s]", out);
        }
        {
                char *argv[] = { "curl", "-s", "--ntlm", "-u", "SSPID\\nobody:whatever", "-o", "/dev/null", "-w",
                                 "%{http_code}", url, NULL };
                capture(argv, NULL, out, sizeof(out));
                t_ok(!strcmp(out, "401"), "curl --ntlm, unknown user: 401 [%s]", out);
        }
        {
                char *argv[] = { "curl", "-s", "--negotiate", "-u", ":", "-w", "%{http_code}", url_lo, NULL };
                snprintf(ccache, sizeof(ccache), "KRB5CCNAME=FILE:%s/alice.ccache", t_realm_dir());
                snprintf(user, sizeof(user), "hello alice@%s via Kerberos\n200", t_realm());
                capture(argv, ccache, out, sizeof(out));
                t_ok(!strcmp(out, user), "curl --negotiate (MIT GSSAPI, SPNEGO/Kerberos): 200 [%s]", flat(out));
        }
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        fclose(f);
}

/* ---- our client against Apache httpd + mod_auth_gssapi (MIT SPNEGO) ---- */

static const char b64c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_enc(const uint8_t *p, size_t n, char *out) {
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
                *out++ = b64c[v >> 18];
                *out++ = b64c[(v >> 12) & 63];
                *out++ = i + 1 < n ? b64c[(v >> 6) & 63] : '=';
                *out++ = i + 2 < n ? b64c[v & 63] : '=';
        }
        *out = '\0';
}

static long b64_dec(const char *s, uint8_t *out, size_t cap) {
        uint32_t v = 0;
        int bits = 0;
        size_t n = 0;
        for (; *s && *s != '\r' && *s != '\n' && *s != '='; s++) {
                const char *c = strchr(b64c, *s);
                if (!c)
                        return -1;
                v = v << 6 | (uint32_t) (c - b64c);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n >= cap)
                                return -1;
                        out[n++] = (uint8_t) (v >> bits);
                }
        }
        return (long) n;
}

static int write_file(const char *dir, const char *name, const char *text, mode_t mode) {
        char path[600];
        FILE *f;
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        if (!f)
                return -1;
        fputs(text, f);
        fclose(f);
        return chmod(path, mode);
}

static int copy_file(const char *from, const char *dir, const char *name) {
        char path[600], buf[4096];
        FILE *a = fopen(from, "r"), *b;
        size_t n;
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        b = fopen(path, "w");
        if (!a || !b) {
                if (a)
                        fclose(a);
                if (b)
                        fclose(b);
                return -1;
        }
        while ((n = fread(buf, 1, sizeof(buf), a)) > 0)
                fwrite(buf, 1, n, b);
        fclose(a);
        fclose(b);
        return chmod(path, 0644);
}

static unsigned free_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t sl = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        unsigned port = 0;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
            getsockname(fd, (struct sockaddr *) &sa, &sl) == 0)
                port = ntohs(sa.sin_port);
        if (fd >= 0)
                close(fd);
        return port;
}

static int connect_port(unsigned port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                return fd;
        if (fd >= 0)
                close(fd);
        return -1;
}

static void test_apache(void) {
        char dir[] = "/tmp/sspid-apache.XXXXXX", conf[4096], path[700], req[20000], resp[20000], cmd[700];
        const char *krb5 = getenv("KRB5_CONFIG");
        unsigned port = free_port();
        uint8_t tok[12288], in_tok[12288];
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        CredHandle cc;
        CtxtHandle c;
        ULONG attrs;
        SECURITY_STATUS st;
        pid_t pid;
        int fd = -1;
        size_t n = 0;
        ssize_t r;
        char *hdr;
        long tl;

        if (!mkdtemp(dir) || chmod(dir, 0755) < 0 || !port || !krb5)
                return;
        snprintf(path, sizeof(path), "%s/htdocs", dir);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/service.keytab", t_realm_dir());
        /* httpd's children run as nobody: they get readable copies. */
        if (write_file(dir, "htdocs/index.html", "apache says hi\n", 0644) < 0 || copy_file(path, dir, "http.keytab") < 0 ||
            copy_file(krb5, dir, "krb5.conf") < 0) {
                t_ok(false, "apache test directory");
                return;
        }
        snprintf(conf, sizeof(conf),
                 "ServerRoot %s\nServerName localhost\nListen 127.0.0.1:%u\n"
                 "LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so\n"
                 "LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so\n"
                 "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so\n"
                 "LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so\n"
                 "LoadModule auth_gssapi_module /usr/lib/apache2/modules/mod_auth_gssapi.so\n"
                 "PidFile %s/httpd.pid\nErrorLog %s/error.log\nUser nobody\nGroup nogroup\n"
                 "StartServers 1\nMinSpareServers 1\nMaxSpareServers 2\nDocumentRoot %s/htdocs\n"
                 "<Location />\n  AuthType GSSAPI\n  AuthName sspid\n  GssapiCredStore keytab:%s/http.keytab\n"
                 "  GssapiAllowedMech krb5\n  Require valid-user\n</Location>\n",
                 dir, port, dir, dir, dir, dir);
        write_file(dir, "httpd.conf", conf, 0644);
        snprintf(path, sizeof(path), "%s/httpd.conf", dir);
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                char kc[700];
                snprintf(kc, sizeof(kc), "%s/krb5.conf", dir);
                setenv("KRB5_CONFIG", kc, 1);
                setenv("KRB5RCACHETYPE", "none", 1);
                /* httpd signals its whole process group when it stops:
                 * give it one of its own. */
                setsid();
                execl("/usr/sbin/apache2", "apache2", "-f", path, "-DFOREGROUND", (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 200 && fd < 0; i++) {
                fd = connect_port(port);
                if (fd < 0)
                        usleep(25000);
        }
        t_ok(fd >= 0, "Apache httpd with mod_auth_gssapi listening on 127.0.0.1:%u", port);
        if (fd < 0)
                goto stop;

        st = cred_out("Negotiate", "alice", t_realm(), "alice-pw-1", NULL, &cc);
        ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
        if (st == SEC_E_OK)
                st = InitializeSecurityContextA(&cc, NULL, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, SECURITY_NATIVE_DREP,
                                                NULL, 0, &c, &out, &attrs, NULL);
        if (!t_status(st, SEC_I_CONTINUE_NEEDED, "our Negotiate client: NegTokenInit for HTTP/localhost"))
                goto stop;
        n = (size_t) snprintf(req, sizeof(req), "GET /index.html HTTP/1.1\r\nHost: localhost\r\nAuthorization: Negotiate ");
        b64_enc(tok, ob.cbBuffer, req + n);
        n = strlen(req);
        n += (size_t) snprintf(req + n, sizeof(req) - n, "\r\nConnection: close\r\n\r\n");
        if (write(fd, req, n) != (ssize_t) n)
                goto stop;
        n = 0;
        while (n + 1 < sizeof(resp) && (r = read(fd, resp + n, sizeof(resp) - 1 - n)) > 0)
                n += (size_t) r;
        resp[n] = '\0';
        t_ok(!strncmp(resp, "HTTP/1.1 200", 12), "Apache answers 200 to our SPNEGO token");
        t_ok(strstr(resp, "\r\n\r\napache says hi\n") != NULL, "and serves the page");
        hdr = strcasestr(resp, "\r\nWWW-Authenticate: Negotiate ");
        t_ok(hdr != NULL, "Apache returns a final SPNEGO token (mutual authentication)");
        if (hdr) {
                tl = b64_dec(hdr + 30, in_tok, sizeof(in_tok));
                ib = (SecBuffer) { tl > 0 ? (ULONG) tl : 0, SECBUFFER_TOKEN, in_tok };
                ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
                st = InitializeSecurityContextA(&cc, &c, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, SECURITY_NATIVE_DREP,
                                                &in, 0, &c, &out, &attrs, NULL);
                t_status(st, SEC_E_OK, "our client completes on Apache's NegTokenResp");
                if (st == SEC_E_OK)
                        expect_package(&c, "Kerberos", "client vs Apache");
        }
        DeleteSecurityContext(&c);
        FreeCredentialsHandle(&cc);
stop:
        if (fd >= 0)
                close(fd);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void) {
        CredHandle sc, cc;
        TimeStamp ts;
        Run r;
        const char *realm = t_realm();

        if (!t_status(AcquireCredentialsHandleA(NULL, "Negotiate", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc,
                                                &ts),
                      SEC_E_OK, "inbound Negotiate credential (keytab and NTLM store)"))
                return t_done();

        /* Kerberos where it works. */
        if (t_status(cred_out("Negotiate", "alice", realm, "alice-pw-1", NULL, &cc), SEC_E_OK, "alice, realm domain")) {
                if (t_status(run(&cc, &sc, "HTTP/localhost", 0, 0, &r), SEC_E_OK, "Negotiate handshake to HTTP/localhost")) {
                        expect_package(&r.c, "Kerberos", "client");
                        expect_package(&r.s, "Kerberos", "server");
                        seal_round_trip(&r, "Kerberos under Negotiate");
                }
                run_done(&r);

                /* The same credential to a target the KDC does not know. */
                if (t_status(run(&cc, &sc, "HTTP/nowhere.invalid", 0, 0, &r), SEC_E_OK,
                             "unknown SPN: falls back to NTLM")) {
                        SecPkgContext_NamesA n = { 0 };
                        expect_package(&r.c, "NTLM", "client");
                        expect_package(&r.s, "NTLM", "server");
                        if (t_status(QueryContextAttributesA(&r.s, SECPKG_ATTR_NAMES, &n), SEC_E_OK, "server NAMES")) {
                                char want[128];
                                snprintf(want, sizeof(want), "%s\\alice", realm);
                                t_ok(!strcmp((char *) n.sUserName, want), "server sees %s", want);
                                FreeContextBuffer(n.sUserName);
                        }
                        seal_round_trip(&r, "NTLM under Negotiate");
                }
                run_done(&r);

                /* A tampered mechListMIC: the client's MIC is the last 16
                 * bytes of its third token (NTLM signature: version,
                 * checksum, sequence); flip a checksum byte. */
                t_status(run(&cc, &sc, "HTTP/nowhere.invalid", 3, 16 - 5, &r), SEC_E_MESSAGE_ALTERED,
                         "tampered client mechListMIC: SEC_E_MESSAGE_ALTERED");
                run_done(&r);
                /* ... and the acceptor's, in its final token. */
                /* ... and the acceptor's, in its final token: Windows' client
                 * is complete before it (SEC_E_OK at its AUTHENTICATE leg),
                 * a caller that hands it over anyway gets it checked. */
                t_status(run(&cc, &sc, "HTTP/nowhere.invalid", 0, 0, &r), SEC_E_OK,
                         "NTLM under Negotiate: the client completes at its AUTHENTICATE leg");
                t_ok(r.legs == 4, "ISC, ASC, ISC (SEC_E_OK), ASC (SEC_E_OK): 4 legs (%d)", r.legs);
                run_done(&r);
                feed_final = true;
                t_status(run(&cc, &sc, "HTTP/nowhere.invalid", 0, 0, &r), SEC_E_OK,
                         "the acceptor's final token handed to the complete client: SEC_E_OK, no output");
                t_ok(r.legs == 5, "5 legs (%d)", r.legs);
                if (r.cst == SEC_E_OK)
                        seal_round_trip(&r, "NTLM under Negotiate, final token read");
                run_done(&r);
                t_status(run(&cc, &sc, "HTTP/nowhere.invalid", 4, 16 - 5, &r), SEC_E_MESSAGE_ALTERED,
                         "tampered acceptor mechListMIC: SEC_E_MESSAGE_ALTERED");
                run_done(&r);
                feed_final = false;
                FreeCredentialsHandle(&cc);
        }

        /* Both fallbacks again through the Sspi*Async calls. */
        {
                SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "alice", 5, (unsigned char *) realm,
                                                 (ULONG) strlen(realm), (unsigned char *) "alice-pw-1", 10,
                                                 SEC_WINNT_AUTH_IDENTITY_ANSI };
                CredHandle ac = { 0 };
                THandshake h;
                if (t_status(t_handshake_async("Negotiate", &id, &ac, &sc, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, &h),
                             SEC_E_OK, "Negotiate (Kerberos) through Sspi*Async"))
                        expect_package(&h.server, "Kerberos", "server (async)");
                t_handshake_done(&h);
                if (t_status(t_handshake_async("Negotiate", &id, &ac, &sc, "HTTP/nowhere.invalid", 0, 0, &h), SEC_E_OK,
                             "Negotiate (NTLM fallback) through Sspi*Async"))
                        expect_package(&h.server, "NTLM", "server (async)");
                t_handshake_done(&h);
                FreeCredentialsHandle(&ac);
        }

        /* A domain no KDC serves: NTLM. */
        if (t_status(cred_out("Negotiate", "alice", "SSPID", "alice-pw-1", NULL, &cc), SEC_E_OK, "alice, domain SSPID")) {
                if (t_status(run(&cc, &sc, "HTTP/localhost", 0, 0, &r), SEC_E_OK, "no KDC for SSPID: NTLM"))
                        expect_package(&r.s, "NTLM", "server");
                run_done(&r);
                FreeCredentialsHandle(&cc);
        }

        /* Package lists. */
        if (t_status(cred_out("Negotiate", "alice", realm, "alice-pw-1", "!ntlm", &cc), SEC_E_OK, "\"!ntlm\"")) {
                t_status(run(&cc, &sc, "HTTP/nowhere.invalid", 0, 0, &r), SEC_E_TARGET_UNKNOWN,
                         "\"!ntlm\" and an unknown SPN: SEC_E_TARGET_UNKNOWN, no NTLM");
                run_done(&r);
                FreeCredentialsHandle(&cc);
        }
        if (t_status(cred_out("Negotiate", "alice", realm, "alice-pw-1", "ntlm", &cc), SEC_E_OK, "\"ntlm\"")) {
                if (t_status(run(&cc, &sc, "HTTP/localhost", 0, 0, &r), SEC_E_OK, "\"ntlm\" only"))
                        expect_package(&r.c, "NTLM", "client");
                run_done(&r);
                FreeCredentialsHandle(&cc);
        }
        if (t_status(cred_out("Negotiate", "alice", realm, "alice-pw-1", "kerberos,ntlm", &cc), SEC_E_OK,
                     "\"kerberos,ntlm\"")) {
                if (t_status(run(&cc, &sc, "HTTP/localhost", 0, 0, &r), SEC_E_OK, "\"kerberos,ntlm\""))
                        expect_package(&r.c, "Kerberos", "client");
                run_done(&r);
                FreeCredentialsHandle(&cc);
        }

        /* No silent downgrade: Kerberos is possible and fails. */
        if (cred_out("Negotiate", "alice", realm, "wrong-password", NULL, &cc) == SEC_E_OK) {
                SECURITY_STATUS st = run(&cc, &sc, "HTTP/localhost", 0, 0, &r);
                t_status(st, SEC_E_LOGON_DENIED, "wrong Kerberos password: SEC_E_LOGON_DENIED, not NTLM");
                run_done(&r);
                FreeCredentialsHandle(&cc);
        } else
                t_ok(false, "AcquireCredentialsHandle takes a wrong Kerberos password, as Windows does (the KDC "
                            "judges it at the first ISC)");

        /* A bare NTLM client against the Negotiate acceptor. */
        if (t_status(cred_out("NTLM", "bob", "SSPID", "bob-pw-2", NULL, &cc), SEC_E_OK, "NTLM client credential")) {
                if (t_status(run(&cc, &sc, "HTTP/localhost", 0, 0, &r), SEC_E_OK, "raw NTLM to the Negotiate acceptor"))
                        expect_package(&r.s, "NTLM", "server");
                run_done(&r);
                FreeCredentialsHandle(&cc);
        }
        FreeCredentialsHandle(&sc);
        test_http();
        test_apache();
        return t_done();
}
