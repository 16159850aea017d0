/* SPDX-License-Identifier: MIT */
/*
 * CredSSP against peers that are not ours: tests/tools/credssp-server (an
 * RDP-style server on sspi.h: X.224 Connection Confirm with
 * PROTOCOL_HYBRID, then AcceptSecurityContext("CREDSSP") on every byte)
 * with
 *  - impacket's rdp_check example (python3-impacket: its own TLS, raw NTLM
 *    in negoTokens, TSRequest version 2, pubKeyAuth the encrypted key);
 *  - FreeRDP 2's xfreerdp /auth-only /sec:nla (freerdp2-x11, under Xvfb:
 *    winpr's NTLM, TSRequest version 6, the SHA-256 binding hashes).
 * Each peer logs on as SSPID\alice (the server must see that name and the
 * delegated credentials: it reaches SEC_E_OK only after the peer checked
 * our pubKeyAuth and sent its TSCredentials) and with a wrong password
 * (SEC_E_LOGON_DENIED; FreeRDP reads our errorCode as
 * ERRCONNECT_LOGON_FAILURE). The other way, our client (credssp-client)
 * logs on to an impacket-based server (credssp-impacket-server.py). A
 * peer that is not installed fails the test.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

/* t_ok that says whether it passed. */
static bool check(bool cond, const char *what) {
        t_ok(cond, "%s", what);
        return cond;
}

static char top[2048], pki[2048];

typedef struct Run {
        char server[256]; /* the server's last line */
        char peer[65536]; /* the peer's output */
} Run;

/* Start `argv` (a server that prints LISTENING, then one result line),
 * run `cmd` (a shell command), collect both. */
static bool run_server(char *const argv[], const char *cmd, Run *r);

/* Our server (tests/tools/credssp-server) on `port` against `cmd`. */
static bool run_pair(int port, const char *cmd, Run *r) {
        char bin[4096], portstr[16];

        snprintf(bin, sizeof(bin), "%s/build/tests/tools/credssp-server", top);
        snprintf(portstr, sizeof(portstr), "%d", port);
        if (access(bin, X_OK) < 0)
                return false;
        char *const argv[] = { bin, portstr, pki, "server-rsa", NULL };
        return run_server(argv, cmd, r);
}

static bool run_server(char *const argv[], const char *cmd, Run *r) {
        char line[256];
        int out[2];
        pid_t pid;
        FILE *from, *peer;
        size_t n = 0;
        int status;

        memset(r, 0, sizeof(*r));
        if (pipe(out) < 0)
                return false;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                dup2(out[1], 1);
                close(out[0]);
                execv(argv[0], argv);
                _exit(127);
        }
        close(out[1]);
        from = fdopen(out[0], "r");
        if (!from || !fgets(line, sizeof(line), from) || strncmp(line, "LISTENING", 9)) {
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                return false;
        }
        peer = popen(cmd, "r");
        if (peer) {
                size_t k;
                while ((k = fread(r->peer + n, 1, sizeof(r->peer) - 1 - n, peer)) > 0)
                        n += k;
                pclose(peer);
        }
        alarm(30);
        if (fgets(line, sizeof(line), from)) {
                line[strcspn(line, "\n")] = 0;
                snprintf(r->server, sizeof(r->server), "%s", line);
        }
        alarm(0);
        fclose(from);
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        return peer != NULL;
}

static void impacket(void) {
        const char *script = "/usr/share/doc/python3-impacket/examples/rdp_check.py";
        char cmd[4096];
        Run r;

        if (!check(access(script, R_OK) == 0, "impacket's rdp_check is installed (python3-impacket)"))
                return;
        snprintf(cmd, sizeof(cmd), "timeout 30 /usr/bin/python3 %s 'SSPID/alice:alice-pw-1@127.0.0.1' 2>&1", script);
        if (check(run_pair(3389, cmd, &r), "impacket against credssp-server")) {
                t_ok(strstr(r.peer, "Access Granted") != NULL, "impacket: Access Granted");
                t_ok(!strcmp(r.server, "OK SSPID\\alice delegated"), "server: SSPID\\alice, credentials delegated (%s)",
                     r.server);
        }
        snprintf(cmd, sizeof(cmd), "timeout 30 /usr/bin/python3 %s 'SSPID/alice:wrong-pw@127.0.0.1' 2>&1", script);
        if (check(run_pair(3389, cmd, &r), "impacket with a wrong password")) {
                t_ok(strstr(r.peer, "Access Granted") == NULL, "impacket: no access with a wrong password");
                t_ok(!strcmp(r.server, "FAIL 0x8009030c"), "server: SEC_E_LOGON_DENIED (%s)", r.server);
        }
}

static void freerdp(void) {
        char cmd[4096];
        int display = 90 + (int) (getpid() % 100), port = 20000 + (int) (getpid() % 20000);
        pid_t xvfb;
        Run r;

        if (!check(access("/usr/bin/xfreerdp", X_OK) == 0 && access("/usr/bin/Xvfb", X_OK) == 0,
                   "xfreerdp and Xvfb are installed (freerdp2-x11, xvfb)"))
                return;
        xvfb = fork();
        if (xvfb == 0) {
                char d[16];
                int null = open("/dev/null", O_WRONLY);
                snprintf(d, sizeof(d), ":%d", display);
                dup2(null, 1);
                dup2(null, 2);
                execl("/usr/bin/Xvfb", "Xvfb", d, "-nolisten", "tcp", (char *) NULL);
                _exit(127);
        }
        usleep(500000);
        snprintf(cmd, sizeof(cmd),
                 "DISPLAY=:%d HOME=%s timeout 30 xfreerdp /v:127.0.0.1:%d /u:alice /d:SSPID /p:alice-pw-1 /auth-only "
                 "/sec:nla /cert:ignore 2>&1",
                 display, getenv("SSPID_TESTENV"), port);
        if (check(run_pair(port, cmd, &r), "xfreerdp against credssp-server"))
                t_ok(!strcmp(r.server, "OK SSPID\\alice delegated"),
                     "server: SSPID\\alice, credentials delegated after FreeRDP checked our pubKeyAuth (%s)", r.server);
        snprintf(cmd, sizeof(cmd),
                 "DISPLAY=:%d HOME=%s timeout 30 xfreerdp /v:127.0.0.1:%d /u:alice /d:SSPID /p:wrong-pw /auth-only "
                 "/sec:nla /cert:ignore 2>&1",
                 display, getenv("SSPID_TESTENV"), port + 1);
        if (check(run_pair(port + 1, cmd, &r), "xfreerdp with a wrong password")) {
                t_ok(!strcmp(r.server, "FAIL 0x8009030c"), "server: SEC_E_LOGON_DENIED (%s)", r.server);
                t_ok(strstr(r.peer, "ERRCONNECT_LOGON_FAILURE") != NULL,
                     "FreeRDP reads our errorCode as ERRCONNECT_LOGON_FAILURE");
        }
        kill(xvfb, SIGTERM);
        waitpid(xvfb, NULL, 0);
}

/* Our client (tests/tools/credssp-client, X.224 then ISC "CREDSSP")
 * against tests/tools/credssp-impacket-server.py: impacket's NTLM acceptor
 * (smbserver.computeNTLMv2), its SPNEGO, pyOpenSSL; the server checks our
 * pubKeyAuth and TSPasswordCreds, we check its pubKeyAuth and mechListMIC.
 * TSRequest version 6 (hashes) and 2 (the key itself, +1 from the server),
 * and a wrong password (its errorCode: SEC_E_LOGON_DENIED). */
static void impacket_server(void) {
        char script[4096], client[4096], cert[4096], key[4096], cmd[8192];
        int port = 40000 + (int) (getpid() % 20000);
        static const struct {
                const char *version, *password, *server, *client, *what;
        } cases[] = {
                { "6", "alice-pw-1", "OK SSPID\\alice", "OK", "version 6 (binding hashes)" },
                { "2", "alice-pw-1", "OK SSPID\\alice", "OK", "version 2 (the encrypted key)" },
                { "6", "wrong-pw", "FAIL logon refused", "FAIL 0x8009030c", "wrong password: SEC_E_LOGON_DENIED" },
        };

        snprintf(script, sizeof(script), "%s/tests/tools/credssp-impacket-server.py", top);
        snprintf(client, sizeof(client), "%s/build/tests/tools/credssp-client", top);
        snprintf(cert, sizeof(cert), "%s/server-rsa.pem", pki);
        snprintf(key, sizeof(key), "%s/server-rsa.key", pki);
        if (!check(access(client, X_OK) == 0 && access(script, R_OK) == 0, "credssp-client and the impacket server"))
                return;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++, port++) {
                char portstr[16];
                Run r;

                snprintf(portstr, sizeof(portstr), "%d", port);
                char *const argv[] = { "/usr/bin/python3", script, portstr, cert, key, "SSPID", "alice", "alice-pw-1",
                                       (char *) cases[i].version, NULL };
                snprintf(cmd, sizeof(cmd), "timeout 30 %s 127.0.0.1 %d SSPID alice %s 2>/dev/null", client, port,
                         cases[i].password);
                if (!check(run_server(argv, cmd, &r), "our client against the impacket server"))
                        continue;
                r.peer[strcspn(r.peer, "\n")] = 0;
                t_ok(!strcmp(r.peer, cases[i].client), "%s: our client says %s (%s)", cases[i].what, cases[i].client,
                     r.peer);
                t_ok(!strcmp(r.server, cases[i].server), "%s: impacket server says %s (%s)", cases[i].what,
                     cases[i].server, r.server);
        }
}

int main(void) {
        const char *t = getenv("SSPID_TOP"), *env = getenv("SSPID_TESTENV");

        snprintf(top, sizeof(top), "%s", t ? t : ".");
        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        impacket();
        freerdp();
        impacket_server();
        return t_done();
}
