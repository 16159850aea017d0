/* SPDX-License-Identifier: MIT */
/*
 * message-protection = caller (issue 14): NTLM, Kerberos and Negotiate
 * (NTLM and Kerberos) contexts whose per-message keys the library holds.
 *  - the message calls make no daemon round trip (calls_total of
 *    `sspictl --json status` unchanged over 1000 messages);
 *  - the keys are in the library's memory while the context lives and
 *    gone after DeleteSecurityContext (the process's memory scanned for
 *    the signing keys, derived here from SECPKG_ATTR_SESSION_KEY as
 *    MS-NLMP 3.4.5.2 does; for Kerberos the RFC 3961 encryption keys of
 *    the two seal usages, derived from the token key, which itself is
 *    never in the library's memory);
 *  - a forked child cannot use its parent's context (SEC_E_INVALID_HANDLE)
 *    and holds no copy of its keys;
 *  - a caller-mode context talks byte for byte with a daemon-mode one, both
 *    ways round, each side a process with a daemon of its own;
 *  - a Kerberos context exported after its messages ran in the library
 *    (or in the daemon) is imported by another process, which continues
 *    from the exporter's sequence state; without DELETE_OLD the exporter
 *    keeps working.
 * Schannel contexts keep the daemon path (not tested here).
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

/* Token buffers hold the largest token: NTLM's 16 bytes, Kerberos' 60
 * (RFC 4121 sealed) or 28 (MIC). The length the call gave travels. */
#define TOKMAX 64
static ULONG tok_len;

static SECURITY_STATUS seal(CtxtHandle *h, uint8_t *data, size_t len, uint8_t tok[TOKMAX], ULONG qop) {
        SecBuffer b[2] = { { TOKMAX, SECBUFFER_TOKEN, tok }, { (ULONG) len, SECBUFFER_DATA, data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        SECURITY_STATUS st = EncryptMessage(h, qop, &d, 0);
        tok_len = b[0].cbBuffer;
        return st;
}

static SECURITY_STATUS unseal(CtxtHandle *h, uint8_t *data, size_t len, uint8_t tok[TOKMAX], ULONG *qop) {
        SecBuffer b[2] = { { tok_len, SECBUFFER_TOKEN, tok }, { (ULONG) len, SECBUFFER_DATA, data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        return DecryptMessage(h, &d, 0, qop);
}

static SECURITY_STATUS sign(CtxtHandle *h, const uint8_t *data, size_t len, uint8_t tok[TOKMAX]) {
        SecBuffer b[2] = { { TOKMAX, SECBUFFER_TOKEN, tok }, { (ULONG) len, SECBUFFER_DATA, (void *) data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        SECURITY_STATUS st = MakeSignature(h, 0, &d, 0);
        tok_len = b[0].cbBuffer;
        return st;
}

static SECURITY_STATUS verify(CtxtHandle *h, const uint8_t *data, size_t len, uint8_t tok[TOKMAX]) {
        SecBuffer b[2] = { { tok_len, SECBUFFER_TOKEN, tok }, { (ULONG) len, SECBUFFER_DATA, (void *) data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop = 0;
        return VerifySignature(h, &d, 0, &qop);
}

/* ---- RFC 3961 key derivation, to know what the library must hold ---------------- */

/* n-fold (RFC 3961 5.1): the input repeated, each copy rotated right by
 * 13 bits more, added in one's-complement, to `outlen` bytes. */
static void nfold(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen) {
        size_t a = outlen, b = inlen, lcm, inbits = inlen * 8;
        unsigned carry = 0;

        while (b) {
                size_t t = a % b;
                a = b;
                b = t;
        }
        lcm = outlen * inlen / a;
        memset(out, 0, outlen);
        for (size_t i = lcm; i-- > 0;) {
                /* bit of the (rotated) input that lands on output byte i */
                size_t msbit = ((inbits - 1) + (inbits + 13) * (i / inlen) + (inlen - i % inlen) * 8) % inbits;
                unsigned v = ((unsigned) in[(inlen - 1 - msbit / 8) % inlen] << 8 | in[(inlen - msbit / 8) % inlen]) >>
                             ((msbit & 7) + 1);
                carry += (v & 0xff) + out[i % outlen];
                out[i % outlen] = (uint8_t) carry;
                carry >>= 8;
        }
        for (size_t i = outlen; carry && i-- > 0;) {
                carry += out[i];
                out[i] = (uint8_t) carry;
                carry >>= 8;
        }
}

/* DK(key, usage || 0xAA) for AES (RFC 3961 5.1, RFC 3962), first 16
 * bytes, masked. */
static void masked_ke(const uint8_t *key, size_t klen, uint32_t usage, uint8_t out[16]) {
        uint8_t c[5] = { (uint8_t) (usage >> 24), (uint8_t) (usage >> 16), (uint8_t) (usage >> 8), (uint8_t) usage,
                         0xAA };
        uint8_t block[16];
        EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
        int n = 0;

        nfold(c, sizeof(c), block, 16);
        if (!x || EVP_EncryptInit_ex(x, klen == 32 ? EVP_aes_256_ecb() : EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
            EVP_CIPHER_CTX_set_padding(x, 0) != 1 || EVP_EncryptUpdate(x, out, &n, block, 16) != 1 || n != 16)
                abort();
        EVP_CIPHER_CTX_free(x);
        for (int i = 0; i < 16; i++)
                out[i] ^= MASK;
}

/* ---- one process, a caller-mode daemon ---------------------------------------------- */

static void local_cases(TDaemon *d, const char *pkg, const char *target, bool kerberos) {
        CredHandle cc, sc;
        THandshake h = { 0 };
        TimeStamp ts;
        SecPkgContext_SessionKey sk = { 0 };
        uint8_t cli[16], srv[16], base[16], data[1024], tok[TOKMAX];
        uint64_t before, after;
        bool all_ok = true;

        /* Kerberos: alice of the test realm; NTLM: the daemon's own domain. */
        if (!t_status(t_cred_identity(pkg, "alice", kerberos ? t_realm() : "SSPID", "alice-pw-1", &cc), SEC_E_OK,
                      "%s: client credential", pkg) ||
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
                uint8_t saved[TOKMAX], sealed[sizeof(data)];
                ULONG qop = 0;
                memset(data, 7, sizeof(data));
                (void) seal(&h.client, data, sizeof(data), tok, 0);
                memcpy(saved, tok, TOKMAX);
                memcpy(sealed, data, sizeof(data));
                tok[kerberos ? 40 : 5] ^= 1; /* in the checksum */
                t_status(unseal(&h.server, data, sizeof(data), tok, &qop), SEC_E_MESSAGE_ALTERED,
                         "%s: a tampered signature: SEC_E_MESSAGE_ALTERED", pkg);
                memcpy(tok, saved, TOKMAX);
                t_status(unseal(&h.server, data, sizeof(data), tok, &qop), SEC_E_OK,
                         "%s: the genuine message after the tampered one (nothing consumed)", pkg);
                /* the same bytes again (DecryptMessage decrypted them in place) */
                memcpy(tok, saved, TOKMAX);
                memcpy(data, sealed, sizeof(data));
                t_status(unseal(&h.server, data, sizeof(data), tok, &qop), SEC_E_OUT_OF_SEQUENCE,
                         "%s: a replay: SEC_E_OUT_OF_SEQUENCE", pkg);
        }

        /* The keys: in this process while the contexts live, gone after. */
        if (t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_SESSION_KEY, &sk), SEC_E_OK,
                     "%s: SESSION_KEY (session-key policy allows this uid)", pkg) &&
            (sk.SessionKeyLength == 16 || (kerberos && sk.SessionKeyLength == 32))) {
                /* Derived in a child of its own: libcrypto's scratch
                 * space (stack, heap) would otherwise hold plain copies
                 * of the keys in this process, and the scan would find
                 * the test's own copies instead of the library's. */
                int kp[2];
                uint8_t both[32];
                pid_t kid;
                if (pipe(kp) < 0)
                        abort();
                fflush(stdout);
                kid = fork();
                if (kid == 0) {
                        if (kerberos) {
                                /* Ke of the initiator's and of the acceptor's
                                 * seal usage (24, 22), from the token key. */
                                masked_ke(sk.SessionKey, sk.SessionKeyLength, 24, both);
                                masked_ke(sk.SessionKey, sk.SessionKeyLength, 22, both + 16);
                        } else {
                                masked_sign_key(sk.SessionKey, magic_cli_sign, sizeof(magic_cli_sign), both);
                                masked_sign_key(sk.SessionKey, magic_srv_sign, sizeof(magic_srv_sign), both + 16);
                        }
                        _exit(write(kp[1], both, sizeof(both)) == (ssize_t) sizeof(both) ? 0 : 1);
                }
                close(kp[1]);
                if (read(kp[0], both, sizeof(both)) != (ssize_t) sizeof(both))
                        abort();
                close(kp[0]);
                waitpid(kid, NULL, 0);
                memcpy(cli, both, 16);
                memcpy(srv, both + 16, 16);
                if (kerberos) {
                        memcpy(base, sk.SessionKey, 16);
                        for (int i = 0; i < 16; i++)
                                base[i] ^= MASK;
                }
                explicit_bzero(sk.SessionKey, sk.SessionKeyLength);
                FreeContextBuffer(sk.SessionKey);
                t_ok(scan_for(cli) >= 2 && scan_for(srv) >= 2,
                     "%s: both %s keys are in the library's memory (client and server context)", pkg,
                     kerberos ? "seal-usage encryption" : "signing");
                if (kerberos)
                        t_ok(scan_for(base) == 0,
                             "%s: the context's token key itself is nowhere in this process (only derived keys)", pkg);

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

/* ---- export and import of a context whose messages ran somewhere ------------------ */

/*
 * ExportSecurityContext moves a context to another process, which goes on
 * where the exporter stopped (learn.microsoft.com/windows/win32/api/sspi/
 * nf-sspi-exportsecuritycontext and nf-sspi-importsecuritycontext; the
 * GSS twin, RFC 2743 2.2.8 GSS_Export_sec_context, carries the context's
 * sequence state): a message the peer sends after the export is the
 * importer's next, and the importer's first message is the one the peer
 * expects. Without SECPKG_CONTEXT_EXPORT_DELETE_OLD the exporter's
 * context keeps working. Runs in a process of its own against the daemon
 * `sock` (either mode); the exit code has a bit per failed check.
 */
#define EX_ROUNDS 5

static int export_case(TDaemon *d, bool caller_mode) {
        CredHandle cc, sc;
        THandshake h = { 0 };
        TimeStamp ts;
        CtxtHandle imported;
        SecBuffer packed = { 0 }, packed2 = { 0 };
        uint8_t data[512], tok[TOKMAX], reply[TOKMAX + sizeof(data) + TOKMAX];
        ULONG lens[2] = { 0, 0 };
        uint64_t before;
        ULONG qop = 0;
        int bad = 0, pfd[2], status = -1;
        bool ok = true;
        pid_t pid;

        setenv("SSPID_SOCKET", d->sock, 1);
        if (t_cred_identity("Kerberos", "alice", t_realm(), "alice-pw-1", &cc) != SEC_E_OK ||
            AcquireCredentialsHandleA(NULL, "Kerberos", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts) !=
                    SEC_E_OK ||
            t_handshake(&cc, &sc, "HTTP/localhost", ISC_FLAGS, ASC_FLAGS, &h) != SEC_E_OK)
                return 0xff;
        for (int i = 0; i < EX_ROUNDS; i++) {
                memset(data, i, sizeof(data));
                ok &= seal(&h.client, data, sizeof(data), tok, 0) == SEC_E_OK;
                ok &= unseal(&h.server, data, sizeof(data), tok, &qop) == SEC_E_OK && data[7] == i;
                ok &= sign(&h.server, data, sizeof(data), tok) == SEC_E_OK;
                ok &= verify(&h.client, data, sizeof(data), tok) == SEC_E_OK;
        }
        bad |= !ok;

        /* Without DELETE_OLD: the exporter goes on, both ways. */
        before = t_daemon_status(d, "calls_total", NULL);
        ok = ExportSecurityContext(&h.server, 0, &packed, NULL) == SEC_E_OK;
        memset(data, 0x11, sizeof(data));
        ok &= seal(&h.client, data, sizeof(data), tok, 0) == SEC_E_OK;
        ok &= unseal(&h.server, data, sizeof(data), tok, &qop) == SEC_E_OK && data[0] == 0x11;
        ok &= seal(&h.server, data, sizeof(data), tok, 0) == SEC_E_OK;
        ok &= unseal(&h.client, data, sizeof(data), tok, &qop) == SEC_E_OK && data[0] == 0x11;
        bad |= !ok << 1;
        /* caller mode: the export and nothing else went to the daemon;
         * daemon mode: the four messages too */
        if (t_daemon_status(d, "calls_total", NULL) != before + (caller_mode ? 1 : 5))
                bad |= 1 << 2;

        /* With DELETE_OLD: another process imports and continues. */
        ok = ExportSecurityContext(&h.server, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &packed2, NULL) == SEC_E_OK;
        memset(data, 0x22, sizeof(data));
        ok &= seal(&h.server, data, sizeof(data), tok, 0) == SEC_E_INVALID_HANDLE;
        bad |= !ok << 3;
        memset(data, 0x33, sizeof(data));
        (void) seal(&h.client, data, sizeof(data), tok, 0);
        if (pipe(pfd) < 0)
                abort();
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                int cbad = 0;
                uint8_t copy[sizeof(data)], ctok[TOKMAX];
                ULONG len = tok_len;

                close(pfd[0]);
                memcpy(copy, data, sizeof(data));
                memcpy(ctok, tok, TOKMAX);
                if (ImportSecurityContextA("Kerberos", &packed2, NULL, &imported) != SEC_E_OK)
                        _exit(1 << 4 | 1 << 5 | 1 << 6 | 1 << 7);
                before = t_daemon_status(d, "calls_total", NULL);
                /* the peer's message sent after the export is the next */
                cbad |= (unseal(&imported, data, sizeof(data), tok, &qop) != SEC_E_OK || data[9] != 0x33) << 4;
                /* the importer's own messages, for the peer */
                memset(data, 0x44, sizeof(data));
                cbad |= (sign(&imported, data, sizeof(data), reply + TOKMAX + sizeof(data)) != SEC_E_OK) << 6;
                lens[1] = tok_len;
                cbad |= (seal(&imported, data, sizeof(data), reply, 0) != SEC_E_OK) << 6;
                lens[0] = tok_len;
                memcpy(reply + TOKMAX, data, sizeof(data));
                /* caller mode: the keys came with the import */
                if (t_daemon_status(d, "calls_total", NULL) != before + (caller_mode ? 0 : 3))
                        cbad |= 1 << 5;
                /* the same message again: the window came along */
                tok_len = len;
                cbad |= (unseal(&imported, copy, sizeof(copy), ctok, &qop) != SEC_E_OUT_OF_SEQUENCE) << 7;
                if (write(pfd[1], lens, sizeof(lens)) != (ssize_t) sizeof(lens) ||
                    write(pfd[1], reply, sizeof(reply)) != (ssize_t) sizeof(reply))
                        cbad |= 1 << 6;
                DeleteSecurityContext(&imported);
                _exit(cbad);
        }
        close(pfd[1]);
        if (read(pfd[0], lens, sizeof(lens)) != (ssize_t) sizeof(lens) ||
            read(pfd[0], reply, sizeof(reply)) != (ssize_t) sizeof(reply))
                bad |= 1 << 6;
        close(pfd[0]);
        waitpid(pid, &status, 0);
        bad |= WIFEXITED(status) ? WEXITSTATUS(status) : 0xf0;
        /* The client reads the importer's signed and sealed messages, in
         * that order (their sequence numbers follow the exporter's last). */
        memset(data, 0x44, sizeof(data));
        tok_len = lens[1];
        ok = verify(&h.client, data, sizeof(data), reply + TOKMAX + sizeof(data)) == SEC_E_OK;
        memcpy(tok, reply, TOKMAX);
        tok_len = lens[0];
        memcpy(data, reply + TOKMAX, sizeof(data));
        ok &= unseal(&h.client, data, sizeof(data), tok, &qop) == SEC_E_OK && data[3] == 0x44;
        bad |= !ok << 6;
        FreeContextBuffer(packed.pvBuffer);
        FreeContextBuffer(packed2.pvBuffer);
        DeleteSecurityContext(&h.client);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
        return bad;
}

static void export_cases(TDaemon *d, const char *mode) {
        static const char *what[8] = {
                "handshake and 5 sealed and signed messages each way",
                "ExportSecurityContext without DELETE_OLD: the exporter still seals and unseals, both ways",
                "those messages ran where the mode says (calls_total: the export only, or the 4 messages too)",
                "ExportSecurityContext(DELETE_OLD): the old handle is SEC_E_INVALID_HANDLE",
                "the importer decrypts the peer's message sent after the export (no SEC_E_OUT_OF_SEQUENCE)",
                "the importer's messages ran where the mode says (caller: ImportCtxRep.keys, no daemon call)",
                "the peer decrypts and verifies the importer's first messages",
                "the importer sees the peer's message again as SEC_E_OUT_OF_SEQUENCE (the window came along)",
        };
        int bad, status = -1;
        pid_t pid;

        fflush(stdout);
        pid = fork();
        if (pid == 0)
                _exit(export_case(d, !strcmp(mode, "caller")));
        waitpid(pid, &status, 0);
        bad = WIFEXITED(status) ? WEXITSTATUS(status) : 0xff;
        for (int i = 0; i < 8; i++)
                t_ok(!(bad & (1 << i)), "Kerberos export/import (%s mode): %s", mode, what[i]);
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
        uint8_t in[4096], out[4096], data[600], tok[TOKMAX];
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
                /* Whether this was the last leg, then the token: a
                 * Negotiate (Kerberos) acceptor's last token is also the
                 * initiator's last input. */
                uint8_t done = st == SEC_E_OK;
                if (st < 0 || !send_msg(fd, &done, 1) ||
                    !send_msg(fd, out, st == SEC_E_OK || ob.cbBuffer ? ob.cbBuffer : 0))
                        return 12;
        }
        for (int i = 0; i < 20; i++) {
                if ((n = recv_msg(fd, tok, TOKMAX)) <= 0 || recv_msg(fd, data, sizeof(data)) != sizeof(data))
                        return 13;
                tok_len = (ULONG) n;
                if (unseal(&ctx, data, sizeof(data), tok, &qop) != SEC_E_OK || data[0] != i || data[599] != i)
                        return 14;
                data[0] ^= 0xff;
                if (seal(&ctx, data, sizeof(data), tok, 0) != SEC_E_OK || !send_msg(fd, tok, tok_len) ||
                    !send_msg(fd, data, sizeof(data)))
                        return 15;
                if ((n = recv_msg(fd, tok, TOKMAX)) <= 0 || recv_msg(fd, data, sizeof(data)) != sizeof(data) ||
                    (tok_len = (ULONG) n, verify(&ctx, data, sizeof(data), tok)) != SEC_E_OK)
                        return 16;
                if (sign(&ctx, data, sizeof(data), tok) != SEC_E_OK || !send_msg(fd, tok, tok_len))
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
        uint8_t in[4096], out[4096], data[600], tok[TOKMAX];
        SECURITY_STATUS st = SEC_I_CONTINUE_NEEDED;
        bool have = false;
        ULONG attrs, qop = 0;
        ssize_t n = 0;
        uint8_t acc_done = 0;

        setenv("SSPID_SOCKET", sock, 1);
        /* A real target (HTTP/localhost) is Kerberos: alice of the realm. */
        if (t_cred_identity(pkg, "alice", strcmp(target, "HTTP/localhost") || !strcmp(pkg, "NTLM") ? "SSPID" : t_realm(),
                            "alice-pw-1", &cc) != SEC_E_OK)
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
                if (st == SEC_I_CONTINUE_NEEDED &&
                    (recv_msg(fd, &acc_done, 1) != 1 || (n = recv_msg(fd, in, sizeof(in))) < 0))
                        return 23;
        }
        /* The acceptor's last token (Negotiate's mechListMIC, or nothing)
         * unless the last ISC already took it. */
        n = 0;
        if (!acc_done && (recv_msg(fd, &acc_done, 1) != 1 || (n = recv_msg(fd, in, sizeof(in))) < 0))
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
                if (seal(&ctx, data, sizeof(data), tok, 0) != SEC_E_OK || !send_msg(fd, tok, tok_len) ||
                    !send_msg(fd, data, sizeof(data)))
                        return 26;
                if ((n = recv_msg(fd, tok, TOKMAX)) <= 0 || recv_msg(fd, data, sizeof(data)) != sizeof(data) ||
                    (tok_len = (ULONG) n, unseal(&ctx, data, sizeof(data), tok, &qop)) != SEC_E_OK ||
                    data[0] != (i ^ 0xff) || data[599] != i)
                        return 27;
                if (sign(&ctx, data, sizeof(data), tok) != SEC_E_OK || !send_msg(fd, tok, tok_len) ||
                    !send_msg(fd, data, sizeof(data)))
                        return 28;
                if ((n = recv_msg(fd, tok, TOKMAX)) <= 0 ||
                    (tok_len = (ULONG) n, verify(&ctx, data, sizeof(data), tok)) != SEC_E_OK)
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
        local_cases(&caller, "NTLM", "HTTP/localhost", false);
        local_cases(&caller, "Negotiate", "HTTP/nowhere.invalid", false); /* no such SPN: NTLM */
        local_cases(&caller, "Kerberos", "HTTP/localhost", true);
        local_cases(&caller, "Negotiate", "HTTP/localhost", true); /* Negotiate (Kerberos) */

        export_cases(&caller, "caller");
        export_cases(&daemon, "daemon");

        interop("NTLM", "HTTP/localhost", &caller, "caller", &daemon, "daemon");
        interop("NTLM", "HTTP/localhost", &daemon, "daemon", &caller, "caller");
        interop("Negotiate", "HTTP/nowhere.invalid", &caller, "caller", &daemon, "daemon");
        interop("Negotiate", "HTTP/nowhere.invalid", &daemon, "daemon", &caller, "caller");
        /* Kerberos: the library's RFC 4121 tokens against Heimdal's. */
        interop("Kerberos", "HTTP/localhost", &caller, "caller", &daemon, "daemon");
        interop("Kerberos", "HTTP/localhost", &daemon, "daemon", &caller, "caller");
        interop("Negotiate", "HTTP/localhost", &caller, "caller", &daemon, "daemon");
        interop("Negotiate", "HTTP/localhost", &daemon, "daemon", &caller, "caller");

        t_daemon_stop(&caller);
        t_daemon_stop(&daemon);
        return t_done();
}
