/* SPDX-License-Identifier: MIT */
/*
 * SetCredentialsAttributes(SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS): a Kerberos
 * or Negotiate credential's KDC traffic over HTTPS to an MS-KKDCP proxy.
 *
 * The peer is FreeIPA's kdcproxy (python3-kdcproxy) behind a small TLS
 * front (tests/tools/kdcproxy-server.py) with a certificate of the test CA,
 * which the daemon trusts through [kerberos] kdc-proxy-ca-file. It forwards
 * to the test KDC. The credentials are of PROXY.TEST, a realm of that KDC
 * whose krb5.conf entry points at 127.0.0.1:1 where nothing answers: a
 * ticket for such a credential proves the proxy path, and the proxy's log
 * shows each request it carried.
 *
 * Windows: SecPkgCredentials_KdcProxySettingsW { ULONG Version
 * (KDC_PROXY_SETTINGS_V1), ULONG Flags (FORCEPROXY 0x1), USHORT
 * ProxyServerOffset/Length, ClientTlsCredOffset/Length } (MS docs, sspi.h);
 * "only supported by Kerberos" (SetCredentialsAttributes docs); without
 * FORCEPROXY the KDC is tried first. No Sspi*Async form of
 * SetCredentialsAttributes exists; the async ISC after it is tested.
 * AddCredentials (test_cred_attrs) on a credential with a proxy: the added
 * identity's AS exchange goes through it too.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/mman.h>
#include <arpa/inet.h>
#include <libgen.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#include "tdaemon.h"
#include "testlib.h"

static char dir[256];

typedef struct Proxy {
        pid_t pid;
        int port;
        char log[300];
} Proxy;

/* Start tests/tools/kdcproxy-server.py with the test PKI's certificate `cert`. */
static bool proxy_start(const char *cert, const char *name, Proxy *p) {
        const char *env = getenv("SSPID_TESTENV"), *top = getenv("SSPID_TOP");
        char script[512], crt[512], key[512], conf[300], portfile[300];
        FILE *f;

        snprintf(script, sizeof(script), "%s/tests/tools/kdcproxy-server.py", top ? top : ".");
        snprintf(crt, sizeof(crt), "%s/pki/%s.pem", env, cert);
        snprintf(key, sizeof(key), "%s/pki/%s.key", env, cert);
        snprintf(conf, sizeof(conf), "%s/kdcproxy.conf", dir);
        snprintf(portfile, sizeof(portfile), "%s/%s.port", dir, name);
        snprintf(p->log, sizeof(p->log), "%s/%s.log", dir, name);
        f = fopen(conf, "we");
        if (!f)
                return false;
        /* Both realms live on the test KDC; only the proxy knows where. */
        fprintf(f, "[global]\nuse_dns = false\n\n[%s]\nkerberos = kerberos+tcp://127.0.0.1:%s\n\n"
                   "[%s]\nkerberos = kerberos+tcp://127.0.0.1:%s\n",
                getenv("SSPID_PROXY_REALM"), getenv("SSPID_KDC_PORT"), t_realm(), getenv("SSPID_KDC_PORT"));
        fclose(f);
        fflush(stdout);
        p->pid = fork();
        if (p->pid == 0) {
                execl("/usr/bin/python3", "python3", script, crt, key, conf, portfile, p->log, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 100; i++) {
                f = fopen(portfile, "re");
                if (f) {
                        bool ok = fscanf(f, "%d", &p->port) == 1;
                        fclose(f);
                        return ok;
                }
                usleep(50000);
        }
        return false;
}

static void proxy_stop(Proxy *p) {
        if (p->pid > 0) {
                kill(p->pid, SIGTERM);
                waitpid(p->pid, NULL, 0);
                p->pid = 0;
        }
}

static int log_count(const char *path, const char *what) {
        char line[512];
        int n = 0;
        FILE *f = fopen(path, "re");

        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, what))
                        n++;
        if (f)
                fclose(f);
        return n;
}

static SECURITY_STATUS set_proxy(CredHandle *c, ULONG flags, const char *server) {
        TKdcProxySettings b;
        ULONG cb = t_kdc_proxy_settings(&b, flags, server);

        return SetCredentialsAttributesW(c, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb);
}

/* First ISC leg: the AS and TGS exchanges happen here. */
static SECURITY_STATUS first_leg(CredHandle *c, const char *target, CtxtHandle *ctx) {
        uint8_t tok[12288];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;

        return InitializeSecurityContextA(c, NULL, (char *) target, ISC_REQ_MUTUAL_AUTH, 0, SECURITY_NATIVE_DREP,
                                          NULL, 0, ctx, &od, &attrs, NULL);
}

static SECURITY_STATUS first_leg_async(CredHandle *c, const char *target, CtxtHandle *ctx) {
        uint8_t tok[12288];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SspiAsyncContext *ac = SspiCreateAsyncContext();
        SECURITY_STATUS st;

        if (!ac)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = SspiInitializeSecurityContextAsyncA(ac, c, NULL, (char *) target, ISC_REQ_MUTUAL_AUTH, 0,
                                                 SECURITY_NATIVE_DREP, NULL, 0, ctx, &od, &attrs, NULL);
        if (st == SEC_E_OK) {
                for (int i = 0; i < 3000 && (st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING; i++)
                        usleep(10000);
        }
        SspiFreeAsyncContext(ac);
        return st;
}

static void test_inputs(void) {
        CredHandle k, n;
        TKdcProxySettings b;
        ULONG cb;
        SecHandle bad = { 0x1234, 0x5678 };

        if (!t_status(t_cred_identity("Kerberos", "proxyuser", getenv("SSPID_PROXY_REALM"), "proxy-pw-1", &k), SEC_E_OK,
                      "a Kerberos credential"))
                return;
        t_status(SetCredentialsAttributesW(&k, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, NULL, 16), SEC_E_INVALID_PARAMETER,
                 "no buffer: SEC_E_INVALID_PARAMETER");
        cb = t_kdc_proxy_settings(&b, 0, "https://localhost/KdcProxy");
        t_status(SetCredentialsAttributesW(&k, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, 12), SEC_E_INVALID_PARAMETER,
                 "a buffer shorter than the structure: SEC_E_INVALID_PARAMETER");
        t_status(SetCredentialsAttributesW(&k, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb - 2),
                 SEC_E_INVALID_PARAMETER, "a server string past cbBuffer: SEC_E_INVALID_PARAMETER");
        b.s.ProxyServerOffset = 4;
        t_status(SetCredentialsAttributesW(&k, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb), SEC_E_INVALID_PARAMETER,
                 "a server string inside the structure: SEC_E_INVALID_PARAMETER");
        cb = t_kdc_proxy_settings(&b, 0, "https://localhost/KdcProxy");
        b.s.Version = 2;
        t_status(SetCredentialsAttributesW(&k, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb), SEC_E_INVALID_PARAMETER,
                 "another version: SEC_E_INVALID_PARAMETER");
        cb = t_kdc_proxy_settings(&b, 0x8, "https://localhost/KdcProxy");
        t_status(SetCredentialsAttributesW(&k, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb), SEC_E_INVALID_PARAMETER,
                 "an unknown flag: SEC_E_INVALID_PARAMETER");
        t_status(set_proxy(&k, 0, "ftp://localhost/"), SEC_E_INVALID_PARAMETER, "not an HTTPS URL");
        t_status(set_proxy(&k, 0, "https://local host/"), SEC_E_INVALID_PARAMETER, "a host with a space");
        t_status(set_proxy(&k, 0, "https://localhost:99999/"), SEC_E_INVALID_PARAMETER, "a port past 65535");
        cb = t_kdc_proxy_settings(&b, 0, "https://localhost/KdcProxy");
        b.s.ClientTlsCredOffset = (USHORT) offsetof(TKdcProxySettings, server);
        b.s.ClientTlsCredLength = 4;
        t_status(SetCredentialsAttributesW(&k, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb),
                 SEC_E_UNSUPPORTED_FUNCTION, "a client TLS credential: SEC_E_UNSUPPORTED_FUNCTION");
        t_status(SetCredentialsAttributesW(&k, SECPKG_CRED_ATTR_NAMES, &b, cb), SEC_E_UNSUPPORTED_FUNCTION,
                 "SECPKG_CRED_ATTR_NAMES on Kerberos: SEC_E_UNSUPPORTED_FUNCTION");
        t_status(SetCredentialsAttributesW(&bad, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb), SEC_E_INVALID_HANDLE,
                 "a handle never issued: SEC_E_INVALID_HANDLE");
        t_status(SetCredentialsAttributesW(NULL, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb), SEC_E_INVALID_HANDLE,
                 "a NULL handle: SEC_E_INVALID_HANDLE");
        if (t_status(t_cred_identity("NTLM", "carol", "CONFDOM", "pw-1", &n), SEC_E_OK, "an NTLM credential")) {
                t_status(set_proxy(&n, 0, "https://localhost/KdcProxy"), SEC_E_UNSUPPORTED_FUNCTION,
                         "KDC proxy settings on NTLM: SEC_E_UNSUPPORTED_FUNCTION (only Kerberos, says Windows)");
                FreeCredentialsHandle(&n);
        }
        FreeCredentialsHandle(&k);
        t_status(set_proxy(&k, 0, "https://localhost/KdcProxy"), SEC_E_INVALID_HANDLE,
                 "a freed credential: SEC_E_INVALID_HANDLE");
}

static void test_proxy(const Proxy *p) {
        const char *pr = getenv("SSPID_PROXY_REALM");
        char url[128], winform[128];
        CredHandle c, c2, neg, alice;
        CtxtHandle ctx;
        SecPkgContext_NegotiationInfoA ni;
        int as0, tgs0;

        snprintf(url, sizeof(url), "https://localhost:%d/KdcProxy", p->port);
        snprintf(winform, sizeof(winform), "localhost:%d:KdcProxy", p->port);

        /* Without a proxy the realm's KDC cannot be reached. */
        t_status(t_cred_identity("Kerberos", "proxyuser", pr, "proxy-pw-1", &c), SEC_E_OK, "credential (no proxy)");
        t_status(first_leg(&c, "HTTP/proxied.test", &ctx), SEC_E_NO_AUTHENTICATING_AUTHORITY,
                 "without a proxy: SEC_E_NO_AUTHENTICATING_AUTHORITY (its KDC is unreachable)");
        FreeCredentialsHandle(&c);

        /* FORCEPROXY, URL form, sync. */
        as0 = log_count(p->log, "AS-REQ");
        tgs0 = log_count(p->log, "TGS-REQ");
        t_status(t_cred_identity("Kerberos", "proxyuser", pr, "proxy-pw-1", &c), SEC_E_OK, "credential");
        t_status(set_proxy(&c, KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY, url), SEC_E_OK,
                 "SetCredentialsAttributesW(KDC_PROXY_SETTINGS, FORCEPROXY, %s)", url);
        if (t_status(first_leg(&c, "HTTP/proxied.test", &ctx), SEC_I_CONTINUE_NEEDED,
                     "ISC through the proxy: a service ticket, SEC_I_CONTINUE_NEEDED"))
                DeleteSecurityContext(&ctx);
        t_ok(log_count(p->log, "AS-REQ") > as0, "the proxy carried the AS-REQ");
        t_ok(log_count(p->log, "TGS-REQ") > tgs0, "the proxy carried the TGS-REQ");
        FreeCredentialsHandle(&c);

        /* Async ISC, A call, Windows' "host:port:path" form, no FORCEPROXY:
         * the direct attempt fails, then the proxy. */
        as0 = log_count(p->log, "AS-REQ");
        t_status(t_cred_identity("Kerberos", "proxyuser", pr, "proxy-pw-1", &c2), SEC_E_OK, "second credential");
        {
                TKdcProxySettings b;
                ULONG cb = t_kdc_proxy_settings(&b, 0, winform);
                t_status(SetCredentialsAttributesA(&c2, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb), SEC_E_OK,
                         "SetCredentialsAttributesA(KDC_PROXY_SETTINGS, %s)", winform);
        }
        if (t_status(first_leg_async(&c2, "HTTP/proxied.test", &ctx), SEC_I_CONTINUE_NEEDED,
                     "async ISC through the proxy after the direct KDC failed: SEC_I_CONTINUE_NEEDED"))
                DeleteSecurityContext(&ctx);
        t_ok(log_count(p->log, "AS-REQ") > as0, "the proxy carried that AS-REQ");
        /* A zero-length server removes the proxy again. */
        {
                TKdcProxySettings b;
                t_kdc_proxy_settings(&b, 0, "");
                t_status(SetCredentialsAttributesW(&c2, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, sizeof(b.s)),
                         SEC_E_OK, "an empty server removes the proxy");
        }
        t_status(first_leg(&c2, "HTTP/proxied.test2", &ctx), SEC_E_NO_AUTHENTICATING_AUTHORITY,
                 "then a new ticket cannot be had: SEC_E_NO_AUTHENTICATING_AUTHORITY");
        FreeCredentialsHandle(&c2);

        /* Negotiate forwards the settings to its Kerberos half. */
        t_status(t_cred_identity("Negotiate", "proxyuser", pr, "proxy-pw-1", &neg), SEC_E_OK, "Negotiate credential");
        t_status(set_proxy(&neg, KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY, url), SEC_E_OK,
                 "SetCredentialsAttributesW on Negotiate");
        if (t_status(first_leg(&neg, "HTTP/proxied.test", &ctx), SEC_I_CONTINUE_NEEDED, "Negotiate ISC")) {
                memset(&ni, 0, sizeof(ni));
                if (t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_NEGOTIATION_INFO, &ni), SEC_E_OK,
                             "NEGOTIATION_INFO")) {
                        t_ok(ni.PackageInfo && !strcmp(ni.PackageInfo->Name, "Kerberos"),
                             "Negotiate chose Kerberos (through the proxy), not NTLM");
                        FreeContextBuffer(ni.PackageInfo);
                }
                DeleteSecurityContext(&ctx);
        }
        FreeCredentialsHandle(&neg);

        /* AddCredentials: the added identity logs on through the
         * credential's proxy (its realm's KDC is reachable only so). */
        as0 = log_count(p->log, "AS-REQ");
        t_status(t_cred_password("alice", "alice-pw-1", &alice), SEC_E_OK, "alice's credential");
        t_status(set_proxy(&alice, KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY, url), SEC_E_OK, "with the proxy, FORCEPROXY");
        {
                SEC_WINNT_AUTH_IDENTITY_A id = { .User = (unsigned char *) "proxyuser", .UserLength = 9,
                                                 .Domain = (unsigned char *) pr, .DomainLength = (ULONG) strlen(pr),
                                                 .Password = (unsigned char *) "proxy-pw-1", .PasswordLength = 10,
                                                 .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI };
                t_status(AddCredentialsA(&alice, NULL, "Kerberos", SECPKG_CRED_OUTBOUND, &id, NULL, NULL, NULL),
                         SEC_E_OK, "AddCredentials(proxyuser@%s): its AS exchange goes through the proxy", pr);
        }
        t_ok(log_count(p->log, "AS-REQ") > as0, "the proxy carried the added identity's AS-REQ");
        if (t_status(first_leg(&alice, "HTTP/proxied.test", &ctx), SEC_I_CONTINUE_NEEDED,
                     "ISC as the added identity, through the proxy"))
                DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&alice);

        /* FORCEPROXY means the proxy only: a dead proxy fails a credential
         * whose KDC is up; without FORCEPROXY that KDC is used first. */
        t_status(t_cred_password("alice", "alice-pw-1", &alice), SEC_E_OK, "alice's credential");
        t_status(set_proxy(&alice, KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY, "https://localhost:1/KdcProxy"), SEC_E_OK,
                 "a proxy nobody serves, FORCEPROXY");
        t_status(first_leg(&alice, "HTTP/localhost", &ctx), SEC_E_NO_AUTHENTICATING_AUTHORITY,
                 "FORCEPROXY: the reachable KDC is not used behind the proxy's back");
        FreeCredentialsHandle(&alice);
        t_status(t_cred_password("alice", "alice-pw-1", &alice), SEC_E_OK, "alice's credential again");
        t_status(set_proxy(&alice, 0, "https://localhost:1/KdcProxy"), SEC_E_OK, "the same proxy, no FORCEPROXY");
        if (t_status(first_leg(&alice, "HTTP/localhost", &ctx), SEC_I_CONTINUE_NEEDED,
                     "without FORCEPROXY the KDC answers first"))
                DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&alice);
}

static void test_untrusted(const Proxy *p) {
        char url[128];
        CredHandle c;
        CtxtHandle ctx;

        snprintf(url, sizeof(url), "https://localhost:%d/KdcProxy", p->port);
        t_status(t_cred_identity("Kerberos", "proxyuser", getenv("SSPID_PROXY_REALM"), "proxy-pw-1", &c), SEC_E_OK,
                 "credential");
        t_status(set_proxy(&c, KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY, url), SEC_E_OK, "a proxy whose certificate names "
                                                                                     "another host");
        t_status(first_leg(&c, "HTTP/proxied.test", &ctx), SEC_E_NO_AUTHENTICATING_AUTHORITY,
                 "its certificate is refused: SEC_E_NO_AUTHENTICATING_AUTHORITY");
        t_ok(log_count(p->log, "REQUEST") == 0, "nothing was sent to it");
        t_ok(t_daemon_log_has("KDC proxy https://localhost", "not trusted for its name"),
             "the daemon logged why the proxy was refused");
        FreeCredentialsHandle(&c);
}

/* [kerberos] kdc-proxy-hosts (sspid's own policy; the default "*" is
 * Windows' any host): a private daemon with a list, used from a child
 * (whose library connects anew after fork, to the socket it is given). */
static const struct {
        const char *server;
        SECURITY_STATUS want;
        const char *why;
} host_cases[] = {
        { "https://evil.example/KdcProxy", SEC_E_INVALID_PARAMETER, "a host not listed" },
        { "https://a.sspid.test/KdcProxy", SEC_E_OK, "a name under a listed *.sspid.test" },
        { "https://x.y.SSPID.TEST:8443/kp", SEC_E_OK, "deeper under it, any case" },
        { "https://sspid.test/KdcProxy", SEC_E_INVALID_PARAMETER, "the bare domain of *.sspid.test" },
        { "https://evilsspid.test/KdcProxy", SEC_E_INVALID_PARAMETER, "a name that only ends like it" },
        { "PROXY.EXAMPLE.COM:8443:KdcProxy", SEC_E_OK, "a listed host in Windows' form, other case" },
        { "https://proxy.example.com.evil/KdcProxy", SEC_E_INVALID_PARAMETER, "a listed host as a prefix" },
        { "https://127.0.0.1/KdcProxy", SEC_E_INVALID_PARAMETER, "an address not listed" },
};
#define N_HOST_CASES (sizeof(host_cases) / sizeof(host_cases[0]))

static void test_hosts(const Proxy *p) {
        const char *pr = getenv("SSPID_PROXY_REALM"), *world = getenv("SSPID_SOCKET");
        char *saved = world ? strdup(world) : NULL, url[128];
        SECURITY_STATUS *got = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        TDaemon d;
        pid_t pid;
        int status = -1;

        snprintf(url, sizeof(url), "https://localhost:%d/KdcProxy", p->port);
        if (got == MAP_FAILED ||
            !t_daemon_start(&d, "[kerberos]\nkdc-proxy-hosts = proxy.example.com *.sspid.test LOCALHOST\n[daemon]",
                            NULL)) {
                t_ok(false, "a private daemon with kdc-proxy-hosts = proxy.example.com *.sspid.test LOCALHOST");
                free(saved);
                return;
        }
        if (saved)
                setenv("SSPID_SOCKET", saved, 1);
        for (size_t i = 0; i <= N_HOST_CASES + 1; i++)
                got[i] = (SECURITY_STATUS) 0x7fffffff;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                CredHandle c;
                CtxtHandle ctx;

                setenv("SSPID_SOCKET", d.sock, 1);
                if (t_cred_identity("Kerberos", "proxyuser", pr, "proxy-pw-1", &c) != SEC_E_OK)
                        _exit(1);
                for (size_t i = 0; i < N_HOST_CASES; i++)
                        got[i] = set_proxy(&c, KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY, host_cases[i].server);
                got[N_HOST_CASES] = set_proxy(&c, KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY, url);
                got[N_HOST_CASES + 1] = first_leg(&c, "HTTP/proxied.test", &ctx);
                if (got[N_HOST_CASES + 1] == SEC_I_CONTINUE_NEEDED)
                        DeleteSecurityContext(&ctx);
                FreeCredentialsHandle(&c);
                _exit(0);
        }
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ran against the private daemon");
        for (size_t i = 0; i < N_HOST_CASES; i++)
                t_status(got[i], host_cases[i].want, "kdc-proxy-hosts: %s: %s", host_cases[i].why, host_cases[i].server);
        t_status(got[N_HOST_CASES], SEC_E_OK, "kdc-proxy-hosts: LOCALHOST lets %s be named", url);
        t_status(got[N_HOST_CASES + 1], SEC_I_CONTINUE_NEEDED, "and the listed proxy carries the logon");
        t_ok(log_count(d.log, "not in [kerberos] kdc-proxy-hosts") == 5, "the daemon logged each refusal");
        t_daemon_stop(&d);
        munmap(got, 4096);
        free(saved);
}

/*
 * The name lookup is under kdc-proxy-timeout too. A private daemon (with
 * kdc-proxy-timeout = 2) runs in a mount namespace of its own whose
 * /etc/resolv.conf names a server on 127.83.0.53:53 (a loopback address no
 * local resolver uses: dnsmasq may hold 127.0.0.1:53, systemd-resolved
 * 127.0.0.53) that takes every query and never answers (20 s resolver
 * timeout, one attempt); the proxy's host is in no hosts file. The first leg must end at the 2 s deadline with
 * Windows' "no authority" status, not after the resolver's 20 s.
 */
static void test_dns_stall(void) {
        const char *pr = getenv("SSPID_PROXY_REALM"), *bin = getenv("SSPID_BIN"), *world = getenv("SSPID_SOCKET");
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
        struct Shared {
                int queries;
                SECURITY_STATUS st;
                long ms;
        } *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        char exe[512], real[600], resolv[300], wrap[300], *saved = world ? strdup(world) : NULL;
        int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), status = -1;
        FILE *f;
        ssize_t n;
        pid_t dns, pid;
        TDaemon d;
        bool started;

        sa.sin_addr.s_addr = htonl(0x7f530035); /* 127.83.0.53 */
        if (sh == MAP_FAILED || ufd < 0 || bind(ufd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                t_ok(false, "a silent name server on 127.83.0.53:53 (%s)", strerror(errno));
                free(saved);
                return;
        }
        fflush(stdout);
        dns = fork();
        if (dns == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;) {
                        char q[512];
                        if (recv(ufd, q, sizeof(q), 0) > 0)
                                __atomic_add_fetch(&sh->queries, 1, __ATOMIC_SEQ_CST);
                }
        }
        close(ufd);
        /* The daemon's binary, as t_daemon_start would find it. */
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = 0;
        if (bin)
                snprintf(real, sizeof(real), "%s", bin);
        else
                snprintf(real, sizeof(real), "%s/../../sspid", dirname(exe));
        snprintf(resolv, sizeof(resolv), "%s/resolv.conf", dir);
        snprintf(wrap, sizeof(wrap), "%s/sspid-in-namespace", dir);
        f = fopen(resolv, "we");
        if (f) {
                fputs("nameserver 127.83.0.53\noptions timeout:20 attempts:1\n", f);
                fclose(f);
        }
        f = fopen(wrap, "we");
        if (f) {
                fprintf(f, "#!/bin/sh\nexec unshare -m --propagation private /bin/sh -c "
                           "'mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"' '%s' '%s' \"$@\"\n",
                        resolv, real);
                fclose(f);
        }
        setenv("SSPID_BIN", wrap, 1);
        started = f && chmod(wrap, 0755) == 0 &&
                  t_daemon_start(&d, "[kerberos]\nkdc-proxy-timeout = 2\n[daemon]", NULL);
        if (bin)
                setenv("SSPID_BIN", bin, 1);
        else
                unsetenv("SSPID_BIN");
        if (saved)
                setenv("SSPID_SOCKET", saved, 1);
        free(saved);
        t_ok(started, "a private daemon with kdc-proxy-timeout = 2 whose name server never answers");
        if (!started) {
                kill(dns, SIGKILL);
                waitpid(dns, NULL, 0);
                return;
        }
        sh->st = (SECURITY_STATUS) 0x7fffffff;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                struct timespec a, b;
                CredHandle c;
                CtxtHandle ctx;

                setenv("SSPID_SOCKET", d.sock, 1);
                if (t_cred_identity("Kerberos", "proxyuser", pr, "proxy-pw-1", &c) != SEC_E_OK ||
                    set_proxy(&c, KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY, "https://kdcproxy.stall.test/KdcProxy") !=
                            SEC_E_OK)
                        _exit(1);
                clock_gettime(CLOCK_MONOTONIC, &a);
                sh->st = first_leg(&c, "HTTP/proxied.test", &ctx);
                clock_gettime(CLOCK_MONOTONIC, &b);
                sh->ms = (b.tv_sec - a.tv_sec) * 1000L + (b.tv_nsec - a.tv_nsec) / 1000000L;
                if (sh->st == SEC_I_CONTINUE_NEEDED)
                        DeleteSecurityContext(&ctx);
                FreeCredentialsHandle(&c);
                _exit(0);
        }
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ran against the private daemon");
        t_ok(__atomic_load_n(&sh->queries, __ATOMIC_SEQ_CST) > 0,
             "control: the daemon asked the silent name server for the proxy's name (%d queries)", sh->queries);
        t_status(sh->st, SEC_E_NO_AUTHENTICATING_AUTHORITY, "a proxy whose name never resolves: no authority");
        t_ok(sh->ms >= 1500 && sh->ms < 8000, "the first leg ended at the 2 s deadline, not the resolver's 20 s (%ld ms)",
             sh->ms);
        t_ok(log_count(d.log, "name or connection took too long") >= 1, "the daemon logged why");
        t_daemon_stop(&d);
        kill(dns, SIGKILL);
        waitpid(dns, NULL, 0);
        munmap(sh, 4096);
}

int main(void) {
        Proxy good = { 0 }, wrong = { 0 };

        if (!getenv("SSPID_PROXY_REALM") || access("/usr/bin/python3", X_OK) != 0 ||
            system("/usr/bin/python3 -c 'import kdcproxy' 2>/dev/null") != 0) {
                t_ok(false, "python3-kdcproxy and a realm with PROXY.TEST (tests/tools/realm.sh) are needed");
                return t_done();
        }
        snprintf(dir, sizeof(dir), "/tmp/sspid-kdcproxy-%d", (int) getpid());
        mkdir(dir, 0700);

        test_inputs();
        test_dns_stall();
        if (t_status(proxy_start("server-ec", "good", &good) ? SEC_E_OK : SEC_E_INTERNAL_ERROR, SEC_E_OK,
                     "kdcproxy serves on 127.0.0.1"))
                test_proxy(&good);
        if (good.pid > 0)
                test_hosts(&good);
        if (t_status(proxy_start("wrongname", "wrong", &wrong) ? SEC_E_OK : SEC_E_INTERNAL_ERROR, SEC_E_OK,
                     "a second kdcproxy with a certificate for wrong.example"))
                test_untrusted(&wrong);
        proxy_stop(&good);
        proxy_stop(&wrong);
        {
                char cmd[320];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
                (void) system(cmd);
        }
        return t_done();
}
