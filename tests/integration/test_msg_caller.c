/* SPDX-License-Identifier: MIT */
/*
 * message-protection = caller (issue 14): NTLM and Negotiate (NTLM)
 * contexts whose per-message keys the library holds.
 *  - the message calls make no daemon round trip (calls_total of
 *    `sspictl --json status` unchanged over 1000 messages);
 *  - the keys are in the library's memory while the context lives and
 *    gone after DeleteSecurityContext (the process's memory scanned for
 *    the signing keys, derived here from SECPKG_ATTR_SESSION_KEY as
 *    MS-NLMP 3.4.5.2 does);
 *  - a forked child cannot use its parent's context (SEC_E_INVALID_HANDLE)
 *    and holds no copy of its keys;
 *  - a caller-mode context talks byte for byte with a daemon-mode one, both
 *    ways round, each side a process with a daemon of its own.
 * Kerberos and Schannel contexts keep the daemon path (not tested here).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tdaemon.h"
#include "testlib.h"

#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT)
#define MASK 0x5a /* the keys this test derives are kept XORed: only the library's copy is plain */

static const char magic_cli_sign[] = "session key to client-to-server signing key magic constant";
static const char magic_srv_sign[] = "session key to server-to-client signing key magic constant";

/* MD5(session key || magic with its NUL), kept masked. */
static void masked_sign_key(const uint8_t sk[16], const char *magic, size_t mlen, uint8_t out[16]) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int n = 16;

        if (!c || EVP_DigestInit_ex(c, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(c, sk, 16) != 1 ||
            EVP_DigestUpdate(c, magic, mlen) != 1 || EVP_DigestFinal_ex(c, out, &n) != 1)
                abort();
        EVP_MD_CTX_free(c);
        for (int i = 0; i < 16; i++)
                out[i] ^= MASK;
}

/* How many times the (masked) key appears in this process's readable memory. */
static int scan_for(const uint8_t masked[16]) {
        FILE *maps = fopen("/proc/self/maps", "re");
        int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC), hits = 0;
        static uint8_t chunk[1 << 16];
        char line[512];

        if (!maps || mem < 0)
                abort();
        while (fgets(line, sizeof(line), maps)) {
                unsigned long lo, hi;
                char perms[8];

                if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' || strstr(line, "[vvar") ||
                    strstr(line, "[vsyscall]"))
                        continue;
                /* Reservations of terabytes (ASan's shadow and allocator)
                 * are not read: under ASan the heap is then not scanned,
                 * the normal tree's run is the one that covers it. */
                if (hi - lo > (1UL << 30))
                        continue;
                for (unsigned long a = lo; a < hi;) {
                        size_t want = hi - a > sizeof(chunk) ? sizeof(chunk) : hi - a;
                        ssize_t got = pread(mem, chunk, want, (off_t) a);
                        if (got < 16)
                                break;
                        for (ssize_t i = 0; i + 16 <= got; i++)
                                if ((chunk[i] ^ MASK) == masked[0] && (chunk[i + 1] ^ MASK) == masked[1]) {
                                        int k = 2;
                                        while (k < 16 && (chunk[i + k] ^ MASK) == masked[k])
                                                k++;
                                        hits += k == 16;
                                }
                        /* overlap so a key across two chunks is seen */
                        a += (size_t) got > 15 ? (size_t) got - 15 : (size_t) got;
                        if ((size_t) got < want)
                                break;
                }
        }
        /* what a key found in the scratch chunk itself leaves behind */
        explicit_bzero(chunk, sizeof(chunk));
        fclose(maps);
        close(mem);
        return hits;
}

static SECURITY_STATUS seal(CtxtHandle *h, uint8_t *data, size_t len, uint8_t tok[16], ULONG qop) {
        SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, tok }, { (ULONG) len, SECBUFFER_DATA, data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        return EncryptMessage(h, qop, &d, 0);
}

static SECURITY_STATUS unseal(CtxtHandle *h, uint8_t *data, size_t len, uint8_t tok[16], ULONG *qop) {
        SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, tok }, { (ULONG) len, SECBUFFER_DATA, data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        return DecryptMessage(h, &d, 0, qop);
}

static SECURITY_STATUS sign(CtxtHandle *h, const uint8_t *data, size_t len, uint8_t tok[16]) {
        SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, tok }, { (ULONG) len, SECBUFFER_DATA, (void *) data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        return MakeSignature(h, 0, &d, 0);
}

static SECURITY_STATUS verify(CtxtHandle *h, const uint8_t *data, size_t len, uint8_t tok[16]) {
        SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, tok }, { (ULONG) len, SECBUFFER_DATA, (void *) data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop = 0;
        return VerifySignature(h, &d, 0, &qop);
}

/* ---- one process, a caller-mode daemon ---------------------------------------------- */

static void local_cases(TDaemon *d, const char *pkg, const char *target) {
        CredHandle cc, sc;
        THandshake h = { 0 };
        TimeStamp ts;
        SecPkgContext_SessionKey sk = { 0 };
        uint8_t cli[16], srv[16], data[1024], tok[16];
        uint64_t before, after;
        bool all_ok = true;

        if (!t_status(t_cred_identity(pkg, "alice", "SSPID", "alice-pw-1", &cc), SEC_E_OK, "%s: client credential",
                      pkg) ||
            !t_status(AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc,
                                                &ts),
                      SEC_E_OK, "%s: server credential", pkg))
                return;
        if (!t_status(t_handshake(&cc, &sc, target, ISC_FLAGS, ASC_FLAGS, &h), SEC_E_OK, "%s: handshake", pkg))
                return;

        /* 1000 sealed and 1000 signed messages each way, no daemon call. */
        before = t_daemon_status(d, "calls_total", NULL);
        for (int i = 0; i < 1000; i++) {
                ULONG qop = 0;
                memset(data, i & 0xff, sizeof(data));
                all_ok &= seal(&h.client, data, sizeof(data), tok, 0) == SEC_E_OK;
                all_ok &= unseal(&h.server, data, sizeof(data), tok, &qop) == SEC_E_OK;
                all_ok &= data[0] == (i & 0xff) && data[1023] == (i & 0xff);
                all_ok &= sign(&h.server, data, sizeof(data), tok) == SEC_E_OK;
                all_ok &= verify(&h.client, data, sizeof(data), tok) == SEC_E_OK;
        }
        after = t_daemon_status(d, "calls_total", NULL);
        t_ok(all_ok, "%s: 1000 x (EncryptMessage, DecryptMessage, MakeSignature, VerifySignature) all succeed", pkg);
        t_ok(before != UINT64_MAX && after == before,
             "%s: the 4000 message calls made no daemon call (calls_total %llu -> %llu)", pkg,
             (unsigned long long) before, (unsigned long long) after);
        /* The statuses of the daemon path, from the library. */
        {
                uint8_t saved[16];
                ULONG qop = 0;
                memset(data, 7, sizeof(data));
                (void) seal(&h.client, data, sizeof(data), tok, 0);
                memcpy(saved, tok, 16);
                tok[5] ^= 1;
                t_status(unseal(&h.server, data, sizeof(data), tok, &qop), SEC_E_MESSAGE_ALTERED,
                         "%s: a tampered signature: SEC_E_MESSAGE_ALTERED", pkg);
                memcpy(tok, saved, 16);
                t_status(unseal(&h.server, data, sizeof(data), tok, &qop), SEC_E_OK,
                         "%s: the genuine message after the tampered one (nothing consumed)", pkg);
                t_status(unseal(&h.server, data, sizeof(data), tok, &qop), SEC_E_OUT_OF_SEQUENCE,
                         "%s: a replay: SEC_E_OUT_OF_SEQUENCE", pkg);
        }

        /* The keys: in this process while the contexts live, gone after. */
        if (t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_SESSION_KEY, &sk), SEC_E_OK,
                     "%s: SESSION_KEY (session-key policy allows this uid)", pkg) &&
            sk.SessionKeyLength == 16) {
                masked_sign_key(sk.SessionKey, magic_cli_sign, sizeof(magic_cli_sign), cli);
                masked_sign_key(sk.SessionKey, magic_srv_sign, sizeof(magic_srv_sign), srv);
                explicit_bzero(sk.SessionKey, 16);
                FreeContextBuffer(sk.SessionKey);
                t_ok(scan_for(cli) >= 2 && scan_for(srv) >= 2,
                     "%s: both signing keys are in the library's memory (client and server context)", pkg);

                /* A forked child: the parent's handles are not its own. */
                fflush(stdout);
                pid_t pid = fork();
                if (pid == 0) {
                        int bad = 0;
                        memset(data, 1, sizeof(data));
                        bad |= seal(&h.client, data, sizeof(data), tok, 0) != SEC_E_INVALID_HANDLE;
                        bad |= (sign(&h.server, data, sizeof(data), tok) != SEC_E_INVALID_HANDLE) << 1;
                        bad |= (scan_for(cli) != 0 || scan_for(srv) != 0) << 2;
                        _exit(bad);
                }
                int status = -1;
                waitpid(pid, &status, 0);
                t_ok(WIFEXITED(status) && !(WEXITSTATUS(status) & 1),
                     "%s: a forked child's EncryptMessage on the parent's context: SEC_E_INVALID_HANDLE", pkg);
                t_ok(WIFEXITED(status) && !(WEXITSTATUS(status) & 2),
                     "%s: a forked child's MakeSignature on the parent's context: SEC_E_INVALID_HANDLE", pkg);
                t_ok(WIFEXITED(status) && !(WEXITSTATUS(status) & 4), "%s: the forked child holds no copy of the keys",
                     pkg);
                memset(data, 3, sizeof(data));
                t_status(seal(&h.client, data, sizeof(data), tok, 0), SEC_E_OK,
                         "%s: the parent's context still works after the fork", pkg);

                t_handshake_done(&h); /* DeleteSecurityContext on both */
                t_ok(scan_for(cli) == 0 && scan_for(srv) == 0,
                     "%s: after DeleteSecurityContext no copy of either signing key is left", pkg);
                t_status(seal(&h.client, data, sizeof(data), tok, 0), SEC_E_INVALID_HANDLE,
                         "%s: EncryptMessage on the deleted context: SEC_E_INVALID_HANDLE", pkg);
        } else
                t_handshake_done(&h);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

/* ---- two processes, two daemons: caller mode against daemon mode ----------------- */

static bool send_msg(int fd, const void *p, uint32_t len) {
        return write(fd, &len, 4) == 4 && (len == 0 || write(fd, p, len) == (ssize_t) len);
}

static ssize_t recv_msg(int fd, void *p, size_t cap) {
        uint32_t len;
        size_t got = 0;

        if (read(fd, &len, 4) != 4 || len > cap)
                return -1;
        while (got < len) {
                ssize_t r = read(fd, (uint8_t *) p + got, len - got);
                if (r <= 0)
                        return -1;
                got += (size_t) r;
        }
        return len;
}

/* The acceptor, in a child connected to `sock`: answers the handshake,
 * then decrypts, echoes sealed, verifies and signs. Exit code: 0 all fine. */
static int acceptor(int fd, const char *sock, const char *pkg) {
        CredHandle sc;
        CtxtHandle ctx;
        TimeStamp ts;
        uint8_t in[4096], out[4096], data[600], tok[16];
        SECURITY_STATUS st = SEC_I_CONTINUE_NEEDED;
        bool have = false;
        ULONG attrs, qop = 0;
        ssize_t n;

        setenv("SSPID_SOCKET", sock, 1);
        if (AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts))
                return 10;
        while (st == SEC_I_CONTINUE_NEEDED) {
                SecBuffer ib = { 0, SECBUFFER_TOKEN, in }, ob = { sizeof(out), SECBUFFER_TOKEN, out };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };

                n = recv_msg(fd, in, sizeof(in));
                if (n < 0)
                        return 11;
                ib.cbBuffer = (ULONG) n;
                st = AcceptSecurityContext(&sc, have ? &ctx : NULL, &id, ASC_FLAGS, SECURITY_NATIVE_DREP, &ctx, &od,
                                           &attrs, &ts);
                have = true;
                if (st < 0 || !send_msg(fd, out, st == SEC_E_OK || ob.cbBuffer ? ob.cbBuffer : 0))
                        return 12;
        }
        for (int i = 0; i < 20; i++) {
                if (recv_msg(fd, tok, 16) != 16 || recv_msg(fd, data, sizeof(data)) != sizeof(data))
                        return 13;
                if (unseal(&ctx, data, sizeof(data), tok, &qop) != SEC_E_OK || data[0] != i || data[599] != i)
                        return 14;
                data[0] ^= 0xff;
                if (seal(&ctx, data, sizeof(data), tok, 0) != SEC_E_OK || !send_msg(fd, tok, 16) ||
                    !send_msg(fd, data, sizeof(data)))
                        return 15;
                if (recv_msg(fd, tok, 16) != 16 || recv_msg(fd, data, sizeof(data)) != sizeof(data) ||
                    verify(&ctx, data, sizeof(data), tok) != SEC_E_OK)
                        return 16;
                if (sign(&ctx, data, sizeof(data), tok) != SEC_E_OK || !send_msg(fd, tok, 16))
                        return 17;
        }
        DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&sc);
        return 0;
}

/* The initiator, in a child connected to `sock`: the handshake, then
 * seals, decrypts the echo, signs and verifies. Exit code: 0 all fine. */
static int initiator(int fd, const char *sock, const char *pkg, const char *target) {
        CredHandle cc;
        CtxtHandle ctx;
        TimeStamp ts;
        uint8_t in[4096], out[4096], data[600], tok[16];
        SECURITY_STATUS st = SEC_I_CONTINUE_NEEDED;
        bool have = false;
        ULONG attrs, qop = 0;
        ssize_t n = 0;

        setenv("SSPID_SOCKET", sock, 1);
        if (t_cred_identity(pkg, "alice", "SSPID", "alice-pw-1", &cc) != SEC_E_OK)
                return 20;
        while (st == SEC_I_CONTINUE_NEEDED) {
                SecBuffer ib = { (ULONG) n, SECBUFFER_TOKEN, in }, ob = { sizeof(out), SECBUFFER_TOKEN, out };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };

                st = InitializeSecurityContextA(&cc, have ? &ctx : NULL, (char *) target, ISC_FLAGS, 0,
                                                SECURITY_NATIVE_DREP, have ? &id : NULL, 0, &ctx, &od, &attrs, &ts);
                have = true;
                if (st < 0)
                        return 21;
                if (ob.cbBuffer && !send_msg(fd, out, ob.cbBuffer))
                        return 22;
                if (st == SEC_I_CONTINUE_NEEDED && (n = recv_msg(fd, in, sizeof(in))) < 0)
                        return 23;
        }
        /* The acceptor's last token: Negotiate's mechListMIC, or nothing. */
        n = recv_msg(fd, in, sizeof(in));
        if (n < 0)
                return 24;
        if (n > 0) {
                SecBuffer ib = { (ULONG) n, SECBUFFER_TOKEN, in }, ob = { sizeof(out), SECBUFFER_TOKEN, out };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
                if (InitializeSecurityContextA(&cc, &ctx, (char *) target, ISC_FLAGS, 0, SECURITY_NATIVE_DREP, &id, 0,
                                               &ctx, &od, &attrs, &ts) != SEC_E_OK)
                        return 25;
        }
        for (int i = 0; i < 20; i++) {
                memset(data, i, sizeof(data));
                if (seal(&ctx, data, sizeof(data), tok, 0) != SEC_E_OK || !send_msg(fd, tok, 16) ||
                    !send_msg(fd, data, sizeof(data)))
                        return 26;
                if (recv_msg(fd, tok, 16) != 16 || recv_msg(fd, data, sizeof(data)) != sizeof(data) ||
                    unseal(&ctx, data, sizeof(data), tok, &qop) != SEC_E_OK || data[0] != (i ^ 0xff) ||
                    data[599] != i)
                        return 27;
                if (sign(&ctx, data, sizeof(data), tok) != SEC_E_OK || !send_msg(fd, tok, 16) ||
                    !send_msg(fd, data, sizeof(data)))
                        return 28;
                if (recv_msg(fd, tok, 16) != 16 || verify(&ctx, data, sizeof(data), tok) != SEC_E_OK)
                        return 29;
        }
        DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&cc);
        return 0;
}

static void interop(const char *pkg, const char *target, TDaemon *client_d, const char *client_mode,
                    TDaemon *server_d, const char *server_mode) {
        int sv[2], cs = -1, ss = -1;
        pid_t c, s;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        fflush(stdout);
        s = fork();
        if (s == 0) {
                close(sv[0]);
                _exit(acceptor(sv[1], server_d->sock, pkg));
        }
        c = fork();
        if (c == 0) {
                close(sv[1]);
                _exit(initiator(sv[0], client_d->sock, pkg, target));
        }
        close(sv[0]);
        close(sv[1]);
        waitpid(c, &cs, 0);
        waitpid(s, &ss, 0);
        t_ok(WIFEXITED(cs) && WEXITSTATUS(cs) == 0,
             "%s: client (%s mode) handshake, 20 sealed and 20 signed messages each way with a %s-mode server (exit %d)",
             pkg, client_mode, server_mode, WIFEXITED(cs) ? WEXITSTATUS(cs) : -1);
        t_ok(WIFEXITED(ss) && WEXITSTATUS(ss) == 0, "%s: the server (%s mode) read and answered every message (exit %d)",
             pkg, server_mode, WIFEXITED(ss) ? WEXITSTATUS(ss) : -1);
}

int main(void) {
        TDaemon caller = { 0 }, daemon = { 0 };

        if (!t_daemon_start(&daemon, "message-protection = daemon", NULL) ||
            !t_daemon_start(&caller, "message-protection = caller", NULL)) {
                t_ok(false, "private daemons started");
                return t_done();
        }
        /* t_daemon_start pointed SSPID_SOCKET at `caller`, the last one. */
        local_cases(&caller, "NTLM", "HTTP/localhost");
        local_cases(&caller, "Negotiate", "HTTP/nowhere.invalid"); /* no such SPN: NTLM */

        interop("NTLM", "HTTP/localhost", &caller, "caller", &daemon, "daemon");
        interop("NTLM", "HTTP/localhost", &daemon, "daemon", &caller, "caller");
        interop("Negotiate", "HTTP/nowhere.invalid", &caller, "caller", &daemon, "daemon");
        interop("Negotiate", "HTTP/nowhere.invalid", &daemon, "daemon", &caller, "caller");

        t_daemon_stop(&caller);
        t_daemon_stop(&daemon);
        return t_done();
}
