/* SPDX-License-Identifier: MIT */
/*
 * message-protection = caller for Schannel (issue 14): our server context
 * (ASC, server-ec certificate of the test PKI) against an OpenSSL 3
 * client in a child process (TLS 1.3, TLS_AES_128_GCM_SHA256), in a
 * private daemon of each mode:
 *  - 200 records each way; in caller mode without a single daemon call;
 *    and 20 each way for every suite the library takes (TLS 1.3
 *    AES-256-GCM and ChaCha20-Poly1305, TLS 1.2 ECDHE-ECDSA with
 *    AES-128/256-GCM and ChaCha20-Poly1305), again without daemon calls;
 *  - the record keys (derived by the child from its keylog secrets,
 *    RFC 8446 7.3, and sent here XORed) are in libsspi's memory while the
 *    context lives (caller mode), not in a forked child, and nowhere
 *    after DeleteSecurityContext;
 *  - a forked child's EncryptMessage on the parent's context:
 *    SEC_E_INVALID_HANDLE;
 *  - a KeyUpdate the client asks an answer for (SSL_key_update
 *    REQUESTED) mid-stream: DecryptMessage returns SEC_I_RENEGOTIATE as
 *    in daemon mode, ASC sends our KeyUpdate, and records flow both ways
 *    under the new keys (again without daemon calls in caller mode).
 * The same OpenSSL peer reads the records of both modes; and our client
 * in one mode talks to our server in the other (TLS 1.3 with its
 * tickets, 50 records each way), both ways round.
 * Sources: RFC 8446 4.6.3 (KeyUpdate), 5.2/5.3 (records, nonces), 7.3
 * (traffic keys); DecryptMessage (Schannel) on learn.microsoft.com:
 * SEC_I_RENEGOTIATE for post-handshake messages, answered through ASC.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "tdaemon.h"
#include "testlib.h"
#include "tpkgs.h"

#define MASK 0x5a /* keys reach this process XORed: only the library's copy is plain */
#define ROUNDS 200

/* Hits of the 16-byte key `masked` (XORed with MASK) in this process's
 * readable memory (as test_msg_caller's scan). */
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
                    strstr(line, "[vsyscall]") || hi - lo > (1UL << 30))
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
                        a += (size_t) got > 15 ? (size_t) got - 15 : (size_t) got;
                        if ((size_t) got < want)
                                break;
                }
        }
        explicit_bzero(chunk, sizeof(chunk));
        fclose(maps);
        close(mem);
        return hits;
}

/* ---- the OpenSSL client (child process) ---- */

static uint8_t secrets[2][32]; /* client, server application traffic secret 0 */

static void keylog(const SSL *ssl, const char *line) {
        int which = !strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) ? 0
                    : !strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) ? 1
                                                                      : -1;
        const char *p = which < 0 ? NULL : strchr(line + 24, ' ');

        for (int i = 0; p && i < 32; i++)
                sscanf(p + 1 + 2 * i, "%2hhx", &secrets[which][i]);
}

/* HKDF-Expand-Label(secret, "key", "", 16) with SHA-256, XORed with MASK. */
static void masked_key(const uint8_t secret[32], uint8_t out[16]) {
        uint8_t info[] = { 0, 16, 9, 't', 'l', 's', '1', '3', ' ', 'k', 'e', 'y', 0 };
        int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
        EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
        EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
        OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
                                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *) secret, 32),
                                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
                                OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode), OSSL_PARAM_construct_end() };

        if (EVP_KDF_derive(k, out, 16, params) != 1)
                abort();
        for (int i = 0; i < 16; i++)
                out[i] ^= MASK;
        EVP_KDF_CTX_free(k);
        EVP_KDF_free(kdf);
}

/* Echoes ROUNDS records with "echo: " in front, then asks for a KeyUpdate,
 * sends "after update", expects "ack" and sends "bye". Exit code: 0 or
 * the failed step. */
static int client(int fd, int keys_fd) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        uint8_t keys[32];
        char buf[512], out[600];
        SSL *ssl;
        int n;

        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
        SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_keylog_callback(ctx, keylog);
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1)
                return 1;
        masked_key(secrets[0], keys);
        masked_key(secrets[1], keys + 16);
        if (write(keys_fd, keys, sizeof(keys)) != sizeof(keys))
                return 2;
        close(keys_fd);
        for (int i = 0; i < ROUNDS; i++) {
                if ((n = SSL_read(ssl, buf, sizeof(buf) - 1)) <= 0)
                        return 3;
                buf[n] = 0;
                snprintf(out, sizeof(out), "echo: %s", buf);
                if (SSL_write(ssl, out, (int) strlen(out)) <= 0)
                        return 4;
        }
        if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1 || SSL_write(ssl, "after update", 12) != 12)
                return 5;
        if ((n = SSL_read(ssl, buf, sizeof(buf) - 1)) != 3 || memcmp(buf, "ack", 3) != 0)
                return 6;
        if (SSL_write(ssl, "bye", 3) != 3)
                return 7;
        /* Our last record must arrive before the socket goes. */
        (void) SSL_read(ssl, buf, sizeof(buf));
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        return 0;
}

/* ---- our server (this process) ---- */

typedef struct Conn {
        int fd;
        bool client; /* ISC ("localhost") instead of ASC */
        CtxtHandle ctx;
        uint8_t in[65536];
        size_t have;
} Conn;

static bool recv_more(Conn *c) {
        ssize_t r = recv(c->fd, c->in + c->have, sizeof(c->in) - c->have, 0);
        if (r <= 0)
                return false;
        c->have += (size_t) r;
        return true;
}

static bool send_all(int fd, const void *p, size_t n) {
        while (n) {
                ssize_t w = write(fd, p, n);
                if (w <= 0)
                        return false;
                p = (const uint8_t *) p + w;
                n -= (size_t) w;
        }
        return true;
}

static SECURITY_STATUS accept_leg(CredHandle *cred, Conn *c, bool first) {
        SecBuffer ib[2] = { { (ULONG) c->have, SECBUFFER_TOKEN, c->in }, { 0, SECBUFFER_EMPTY, NULL } };
        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st =
                c->client ? InitializeSecurityContextA(cred, first ? NULL : &c->ctx, "localhost",
                                                       ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM, 0, 0,
                                                       first ? NULL : &id, 0, &c->ctx, &od, &attrs, NULL)
                          : AcceptSecurityContext(cred, first ? NULL : &c->ctx, &id,
                                                  ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_STREAM, 0, &c->ctx, &od, &attrs,
                                                  NULL);

        if (ob.cbBuffer && !send_all(c->fd, ob.pvBuffer, ob.cbBuffer))
                st = SEC_E_INTERNAL_ERROR;
        FreeContextBuffer(ob.pvBuffer);
        if (st == SEC_E_INCOMPLETE_MESSAGE)
                return st;
        if (ib[1].BufferType == SECBUFFER_EXTRA) {
                memmove(c->in, c->in + c->have - ib[1].cbBuffer, ib[1].cbBuffer);
                c->have = ib[1].cbBuffer;
        } else
                c->have = 0;
        return st;
}

static SECURITY_STATUS handshake(CredHandle *cred, Conn *c) {
        SECURITY_STATUS st = SEC_I_CONTINUE_NEEDED;
        bool first = true;

        if (c->client) {
                /* The ClientHello, from no input. */
                st = accept_leg(cred, c, true);
                first = false;
        }
        while (st == SEC_I_CONTINUE_NEEDED || st == SEC_E_INCOMPLETE_MESSAGE) {
                if (!recv_more(c))
                        return SEC_E_INTERNAL_ERROR;
                st = accept_leg(cred, c, first);
                if (st != SEC_E_INCOMPLETE_MESSAGE)
                        first = false;
        }
        return st;
}

static SECURITY_STATUS send_record(Conn *c, const char *text) {
        SecPkgContext_StreamSizes sz;
        uint8_t rec[1024];
        size_t len = strlen(text);
        SECURITY_STATUS st = QueryContextAttributesA(&c->ctx, SECPKG_ATTR_STREAM_SIZES, &sz);

        if (st != SEC_E_OK)
                return st;
        SecBuffer b[4] = { { sz.cbHeader, SECBUFFER_STREAM_HEADER, rec },
                           { (ULONG) len, SECBUFFER_DATA, rec + sz.cbHeader },
                           { sz.cbTrailer, SECBUFFER_STREAM_TRAILER, rec + sz.cbHeader + len },
                           { 0, SECBUFFER_EMPTY, NULL } };
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        memcpy(rec + sz.cbHeader, text, len);
        st = EncryptMessage(&c->ctx, 0, &d, 0);
        if (st == SEC_E_OK && !send_all(c->fd, rec, b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer))
                st = SEC_E_INTERNAL_ERROR;
        return st;
}

/* The next application data into text; post-handshake messages are
 * answered through ASC (counted in *reneg). */
static SECURITY_STATUS read_record(CredHandle *cred, Conn *c, char *text, size_t cap, int *reneg) {
        for (;;) {
                SecBuffer b[4] = { { (ULONG) c->have, SECBUFFER_DATA, c->in } };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                SECURITY_STATUS st;
                size_t extra = 0, got = 0;

                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                if (c->have == 0 || (st = DecryptMessage(&c->ctx, &d, 0, NULL)) == SEC_E_INCOMPLETE_MESSAGE) {
                        if (!recv_more(c))
                                return SEC_E_INTERNAL_ERROR;
                        continue;
                }
                if (st != SEC_E_OK && st != SEC_I_RENEGOTIATE)
                        return st;
                for (int i = 0; i < 4; i++) {
                        if (b[i].BufferType == SECBUFFER_DATA && b[i].cbBuffer < cap) {
                                memcpy(text, b[i].pvBuffer, b[i].cbBuffer);
                                got = b[i].cbBuffer;
                        }
                        if (b[i].BufferType == SECBUFFER_EXTRA)
                                extra = b[i].cbBuffer;
                }
                memmove(c->in, c->in + c->have - extra, extra);
                c->have = extra;
                if (st == SEC_I_RENEGOTIATE) {
                        (*reneg)++;
                        st = accept_leg(cred, c, false);
                        if (st != SEC_E_OK)
                                return st;
                        continue;
                }
                text[got] = 0;
                if (got)
                        return SEC_E_OK;
        }
}

static void run(TDaemon *d, const char *mode, bool caller) {
        TpCreds creds = { 0 };
        int sv[2], kp[2], status = -1, reneg = 0;
        uint8_t keys[32];
        uint64_t before, after;
        char text[600], want[64];
        bool all = true;
        Conn c = { 0 };
        pid_t pid;

        setenv("SSPID_SOCKET", d->sock, 1);
        if (!t_status(tp_acquire(&creds, TP_SCHANNEL, NULL), SEC_E_OK, "%s mode: Schannel credentials", mode))
                return;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe(kp) < 0)
                abort();
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                signal(SIGPIPE, SIG_IGN);
                close(sv[0]);
                close(kp[0]);
                _exit(client(sv[1], kp[1]));
        }
        close(sv[1]);
        close(kp[1]);
        c.fd = sv[0];
        if (!t_status(handshake(&creds.srv[TP_SCHANNEL], &c), SEC_E_OK,
                      "%s mode: handshake with an OpenSSL client (TLS 1.3, AES-128-GCM)", mode) ||
            read(kp[0], keys, sizeof(keys)) != sizeof(keys)) {
                close(c.fd);
                waitpid(pid, NULL, 0);
                tp_release(&creds);
                return;
        }
        close(kp[0]);

        before = t_daemon_status(d, "calls_total", NULL);
        for (int i = 0; i < ROUNDS && all; i++) {
                snprintf(want, sizeof(want), "record %d", i);
                all &= send_record(&c, want) == SEC_E_OK;
                all &= read_record(&creds.srv[TP_SCHANNEL], &c, text, sizeof(text), &reneg) == SEC_E_OK;
                all &= !strncmp(text, "echo: ", 6) && !strcmp(text + 6, want);
        }
        after = t_daemon_status(d, "calls_total", NULL);
        t_ok(all, "%s mode: %d records each way with the OpenSSL client, every one read back", mode, ROUNDS);
        if (caller)
                t_ok(before != UINT64_MAX && after - before <= 1,
                     "caller mode: the %d EncryptMessage and %d DecryptMessage calls made no daemon call "
                     "(calls_total %llu -> %llu; 1 for the first STREAM_SIZES)",
                     ROUNDS, ROUNDS, (unsigned long long) before, (unsigned long long) after);
        else
                t_ok(before != UINT64_MAX && after - before >= 2 * ROUNDS,
                     "daemon mode: every message call went to the daemon (%llu calls)",
                     (unsigned long long) (after - before));
        if (caller) {
                t_ok(scan_for(keys) >= 1 && scan_for(keys + 16) >= 1,
                     "caller mode: both record keys (client's and server's) are in the library's memory");
                fflush(stdout);
                pid_t kid = fork();
                if (kid == 0) {
                        int bad = send_record(&c, "from the child") != SEC_E_INVALID_HANDLE;
                        bad |= (scan_for(keys) != 0 || scan_for(keys + 16) != 0) << 1;
                        _exit(bad);
                }
                int ks = -1;
                waitpid(kid, &ks, 0);
                t_ok(WIFEXITED(ks) && !(WEXITSTATUS(ks) & 1),
                     "caller mode: a forked child's EncryptMessage on the parent's context: SEC_E_INVALID_HANDLE");
                t_ok(WIFEXITED(ks) && !(WEXITSTATUS(ks) & 2), "caller mode: the forked child holds no copy of the keys");
        } else
                t_ok(scan_for(keys) == 0 && scan_for(keys + 16) == 0,
                     "daemon mode: no record key in this process");

        /* The client's KeyUpdate (update_requested), then records under
         * the new keys both ways. */
        reneg = 0;
        t_status(read_record(&creds.srv[TP_SCHANNEL], &c, text, sizeof(text), &reneg), SEC_E_OK,
                 "%s mode: the record after the client's KeyUpdate decrypts", mode);
        t_ok(!strcmp(text, "after update") && reneg == 1,
             "%s mode: ... its text, after one SEC_I_RENEGOTIATE answered through ASC (%d)", mode, reneg);
        before = t_daemon_status(d, "calls_total", NULL);
        t_status(send_record(&c, "ack"), SEC_E_OK, "%s mode: EncryptMessage under our new keys", mode);
        t_status(read_record(&creds.srv[TP_SCHANNEL], &c, text, sizeof(text), &reneg), SEC_E_OK,
                 "%s mode: the client's next record", mode);
        after = t_daemon_status(d, "calls_total", NULL);
        t_ok(!strcmp(text, "bye"), "%s mode: ... reads \"bye\"", mode);
        if (caller)
                t_ok(before != UINT64_MAX && after - before <= 1,
                     "caller mode: after the KeyUpdate the records run in the library again (calls_total %llu -> %llu; "
                     "1 for STREAM_SIZES, which the ASC leg made the library ask again)",
                     (unsigned long long) before, (unsigned long long) after);

        DeleteSecurityContext(&c.ctx);
        t_ok(scan_for(keys) == 0 && scan_for(keys + 16) == 0,
             "%s mode: after DeleteSecurityContext no copy of either record key is left", mode);
        close(c.fd);
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "%s mode: the OpenSSL client read every record and our KeyUpdate answer (wait status 0x%x)", mode,
             (unsigned) status);
        tp_release(&creds);
}

/* ---- every suite the library takes, against OpenSSL ---- */

/* An OpenSSL client of one suite that echoes 20 records. */
static int echo_client(int fd, bool tls13, const char *suite) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        char buf[512], out[600];
        SSL *ssl;
        int n;

        SSL_CTX_set_min_proto_version(ctx, tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(ctx, tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
        if ((tls13 ? SSL_CTX_set_ciphersuites(ctx, suite) : SSL_CTX_set_cipher_list(ctx, suite)) != 1)
                return 1;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1)
                return 2;
        if (strcmp(SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)), suite) != 0)
                return 3;
        for (int i = 0; i < 20; i++) {
                if ((n = SSL_read(ssl, buf, sizeof(buf) - 1)) <= 0)
                        return 4;
                buf[n] = 0;
                snprintf(out, sizeof(out), "echo: %s", buf);
                if (SSL_write(ssl, out, (int) strlen(out)) <= 0)
                        return 5;
        }
        (void) SSL_read(ssl, buf, sizeof(buf));
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        return 0;
}

static void suite_case(TDaemon *d, bool tls13, const char *suite) {
        TpCreds creds = { 0 };
        int sv[2], status = -1, reneg = 0;
        uint64_t before, after;
        char text[600], want[64];
        bool all = true;
        Conn c = { 0 };
        pid_t pid;

        if (tp_acquire(&creds, TP_SCHANNEL, NULL) != SEC_E_OK || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                signal(SIGPIPE, SIG_IGN);
                close(sv[0]);
                _exit(echo_client(sv[1], tls13, suite));
        }
        close(sv[1]);
        c.fd = sv[0];
        if (t_status(handshake(&creds.srv[TP_SCHANNEL], &c), SEC_E_OK, "%s: handshake with an OpenSSL client", suite)) {
                before = t_daemon_status(d, "calls_total", NULL);
                for (int i = 0; i < 20 && all; i++) {
                        snprintf(want, sizeof(want), "record %d", i);
                        all &= send_record(&c, want) == SEC_E_OK;
                        all &= read_record(&creds.srv[TP_SCHANNEL], &c, text, sizeof(text), &reneg) == SEC_E_OK;
                        all &= !strncmp(text, "echo: ", 6) && !strcmp(text + 6, want);
                }
                after = t_daemon_status(d, "calls_total", NULL);
                t_ok(all, "%s: 20 records each way, every one read back", suite);
                t_ok(before != UINT64_MAX && after - before <= 1,
                     "%s: the records ran in the library (calls_total %llu -> %llu; 1 for STREAM_SIZES)", suite,
                     (unsigned long long) before, (unsigned long long) after);
                DeleteSecurityContext(&c.ctx);
        }
        close(c.fd);
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "%s: the OpenSSL client negotiated it and read every record (wait status 0x%x)", suite, (unsigned) status);
        tp_release(&creds);
}

/* ---- ours against ours, one side in each mode ---- */

/* One side of a Schannel connection through the daemon at `sock`: the
 * handshake, then 50 "ping"/"pong" records (the client pings). Exit code:
 * 0 or the failed step. */
static int ours(int fd, const char *sock, bool client) {
        TpCreds creds = { 0 };
        Conn c = { .fd = fd, .client = client };
        CredHandle *cred;
        char text[600], want[64];
        int reneg = 0;

        setenv("SSPID_SOCKET", sock, 1);
        if (tp_acquire(&creds, TP_SCHANNEL, NULL) != SEC_E_OK)
                return 1;
        cred = client ? &creds.cli[TP_SCHANNEL] : &creds.srv[TP_SCHANNEL];
        if (handshake(cred, &c) != SEC_E_OK)
                return 2;
        for (int i = 0; i < 50; i++) {
                snprintf(want, sizeof(want), "%s %d", client ? "pong" : "ping", i);
                if (client) {
                        snprintf(text, sizeof(text), "ping %d", i);
                        if (send_record(&c, text) != SEC_E_OK)
                                return 3;
                }
                if (read_record(cred, &c, text, sizeof(text), &reneg) != SEC_E_OK)
                        return 4;
                if (strcmp(text, want) != 0)
                        return 5;
                if (!client) {
                        snprintf(text, sizeof(text), "pong %d", i);
                        if (send_record(&c, text) != SEC_E_OK)
                                return 6;
                }
        }
        DeleteSecurityContext(&c.ctx);
        tp_release(&creds);
        return 0;
}

static void interop(TDaemon *client_d, const char *client_mode, TDaemon *server_d, const char *server_mode) {
        int sv[2], cs = -1, ss = -1;
        pid_t c, s;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        fflush(stdout);
        s = fork();
        if (s == 0) {
                close(sv[0]);
                _exit(ours(sv[1], server_d->sock, false));
        }
        c = fork();
        if (c == 0) {
                close(sv[1]);
                _exit(ours(sv[0], client_d->sock, true));
        }
        close(sv[0]);
        close(sv[1]);
        waitpid(c, &cs, 0);
        waitpid(s, &ss, 0);
        t_ok(WIFEXITED(cs) && WEXITSTATUS(cs) == 0,
             "our client (%s mode): TLS 1.3 handshake and 50 records each way with our %s-mode server (exit %d)",
             client_mode, server_mode, WIFEXITED(cs) ? WEXITSTATUS(cs) : -1);
        t_ok(WIFEXITED(ss) && WEXITSTATUS(ss) == 0, "our server (%s mode) read and answered every record (exit %d)",
             server_mode, WIFEXITED(ss) ? WEXITSTATUS(ss) : -1);
}

int main(void) {
        TDaemon caller = { 0 }, daemon = { 0 };

        if (!t_daemon_start(&daemon, "message-protection = daemon", NULL) ||
            !t_daemon_start(&caller, "message-protection = caller", NULL)) {
                t_ok(false, "private daemons started");
                return t_done();
        }
        run(&caller, "caller", true);
        /* The server-ec certificate: ECDSA suites for TLS 1.2. */
        suite_case(&caller, true, "TLS_AES_256_GCM_SHA384");
        suite_case(&caller, true, "TLS_CHACHA20_POLY1305_SHA256");
        suite_case(&caller, false, "ECDHE-ECDSA-AES128-GCM-SHA256");
        suite_case(&caller, false, "ECDHE-ECDSA-AES256-GCM-SHA384");
        suite_case(&caller, false, "ECDHE-ECDSA-CHACHA20-POLY1305");
        /* A process keeps its first daemon connection: the daemon-mode run
         * gets a process of its own (its checks print here; its exit
         * status says whether all passed). */
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
                t_passed = t_failed = 0;
                run(&daemon, "daemon", false);
                fflush(stdout);
                _exit(t_failed ? 1 : 0);
        }
        int status = -1;
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon mode: every check of its run passed (above)");
        /* A record of one mode is a record of the other. */
        interop(&caller, "caller", &daemon, "daemon");
        interop(&daemon, "daemon", &caller, "caller");
        t_daemon_stop(&caller);
        t_daemon_stop(&daemon);
        return t_done();
}
