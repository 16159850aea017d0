/* SPDX-License-Identifier: MIT */
/*
 * Finding 6 of issue 11: libsspi trusted its environment and whatever
 * listened on the socket it was pointed at, and wrote whatever a reply said
 * into the caller's buffers.
 *
 * 1. A fake "daemon" run by uid 65534 (in a directory it owns), SSPID_SOCKET
 *    pointing at it: AcquireCredentialsHandle with a password fails with
 *    SEC_E_INTERNAL_ERROR and the fake receives zero bytes. Control: the
 *    same fake run by root (a uid the library trusts) receives the Hello.
 * 2. secure_getenv: a copy of this binary made setuid-root and run by uid
 *    65534 ignores SSPID_SOCKET (a root fake sees no connection); control:
 *    the same copy without the setuid bit, run by 65534, reaches the fake.
 * 3. A malicious but trusted (root) fake that answers with oversized
 *    buffers, extra buffers, type changes into read-only buffers, offsets
 *    and counts outside the caller's buffers: every call fails with the
 *    documented status and writes nothing (exact-size allocations with a
 *    canary behind them, read-only pages; run under ASan too).
 * 4. With the real daemon (default configuration): MakeSignature,
 *    VerifySignature and EncryptMessage with message memory in PROT_READ
 *    pages (plain DATA for signing, READONLY(_WITH_CHECKSUM) DATA for
 *    sealing) work, and the peer verifies/decrypts them. Control: a write
 *    to such a page kills a child with SIGSEGV.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"
#include "wire.h"

#define PASSWORD "fake-daemon-secret-pw"

/* ---- a fake daemon: a socket served by a child running as any uid ---- */

typedef enum FakeMode {
        FAKE_COUNT,     /* count connections and bytes; close after the first read */
        FAKE_SCRIPT,    /* answer Hello, then every request from the case table */
} FakeMode;

typedef struct FakeReport {
        uint32_t conns;
        uint32_t bytes;
        uint32_t requests;
        uint8_t head[4];
} FakeReport;

typedef struct Fake {
        char dir[64], sock[100];
        pid_t pid;
        int report_fd;  /* the child's FakeReport */
        int stop_fd;    /* closing it stops the child */
} Fake;

static void fake_script_conn(int fd, int stop, FakeReport *rep);

static void fake_count_conn(int fd, FakeReport *rep) {
        uint8_t buf[4096];
        struct pollfd p = { .fd = fd, .events = POLLIN };

        /* What the client sends right after connect: the Hello, or nothing
         * (it closes at once when it refuses the peer). */
        if (poll(&p, 1, 3000) > 0) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n > 0) {
                        if (rep->bytes == 0)
                                memcpy(rep->head, buf, n < 4 ? (size_t) n : 4);
                        rep->bytes += (uint32_t) n;
                }
        }
}

static _Noreturn void fake_child(Fake *f, FakeMode mode, uid_t uid, int ready_w, int report_w, int stop_r) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        FakeReport rep = { 0 };
        int lfd;

        if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
                _exit(99);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(f->sock, 0777) < 0 ||
            listen(lfd, 16) < 0)
                _exit(98);
        (void) !write(ready_w, "r", 1);
        for (;;) {
                struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = stop_r, .events = POLLIN } };
                if (poll(p, 2, 30000) <= 0 || (p[1].revents && !p[0].revents))
                        break;
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                rep.conns++;
                if (mode == FAKE_COUNT)
                        fake_count_conn(fd, &rep);
                else
                        fake_script_conn(fd, stop_r, &rep);
                close(fd);
        }
        (void) !write(report_w, &rep, sizeof(rep));
        _exit(0);
}

static bool fake_start(Fake *f, FakeMode mode, uid_t uid) {
        int ready[2], report[2], stop[2];
        char c;

        memset(f, 0, sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/sspid-fake-XXXXXX");
        if (!mkdtemp(f->dir) || chown(f->dir, uid, uid) < 0 || chmod(f->dir, 0755) < 0)
                return false;
        snprintf(f->sock, sizeof(f->sock), "%s/sspid.sock", f->dir);
        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0 || pipe2(stop, O_CLOEXEC) < 0)
                return false;
        fflush(stdout);
        f->pid = fork();
        if (f->pid == 0) {
                close(ready[0]);
                close(report[0]);
                close(stop[1]);
                fake_child(f, mode, uid, ready[1], report[1], stop[0]);
        }
        close(ready[1]);
        close(report[1]);
        close(stop[0]);
        f->report_fd = report[0];
        f->stop_fd = stop[1];
        if (f->pid < 0 || read(ready[0], &c, 1) != 1) {
                close(ready[0]);
                return false;
        }
        close(ready[0]);
        return true;
}

/* Stop the fake and collect what it saw. */
static FakeReport fake_stop(Fake *f) {
        FakeReport rep = { .conns = UINT32_MAX };

        close(f->stop_fd);
        if (read(f->report_fd, &rep, sizeof(rep)) != sizeof(rep))
                rep.conns = UINT32_MAX;
        close(f->report_fd);
        (void) t_wait_child(f->pid, 10000);
        unlink(f->sock);
        rmdir(f->dir);
        return rep;
}

/* ---- 1. the peer of the socket must be root or the daemon's user ---- */

static SECURITY_STATUS acquire_with_password(void) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "alice", 5, (unsigned char *) "SSPID", 5,
                                         (unsigned char *) PASSWORD, sizeof(PASSWORD) - 1,
                                         SEC_WINNT_AUTH_IDENTITY_ANSI };
        CredHandle c;
        TimeStamp ts;
        SECURITY_STATUS st;

        st = AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, &c, &ts);
        if (st == SEC_E_OK)
                FreeCredentialsHandle(&c);
        return st;
}

static void test_peer_check(void) {
        Fake f;
        FakeReport rep;
        SECURITY_STATUS st;
        uint64_t t0;

        t_ok(fake_start(&f, FAKE_COUNT, T_ATTACKER), "a fake daemon listens as uid %u", T_ATTACKER);
        setenv("SSPID_SOCKET", f.sock, 1);
        t0 = t_now_ms();
        st = acquire_with_password();
        t_status(st, SEC_E_INTERNAL_ERROR, "AcquireCredentialsHandle with a password, SSPID_SOCKET at a uid-%u fake: "
                                           "refused (%llu ms)", T_ATTACKER, (unsigned long long) (t_now_ms() - t0));
        st = acquire_with_password();
        t_status(st, SEC_E_INTERNAL_ERROR, "a second call is refused too");
        rep = fake_stop(&f);
        printf("# uid-%u fake: %u connections, %u bytes received\n", T_ATTACKER, rep.conns, rep.bytes);
        t_ok(rep.conns == 2, "the library did connect to the uid-%u fake (%u connections): the refusal is the "
                             "peer check, not a missing socket", T_ATTACKER, rep.conns);
        t_ok(rep.bytes == 0, "the uid-%u fake received zero bytes (no Hello, no password): %u", T_ATTACKER,
             rep.bytes);

        /* Control: the same fake run by root is a peer the library trusts:
         * it does see the Hello (so the zero above is not blindness). */
        t_ok(fake_start(&f, FAKE_COUNT, 0), "the same fake listens as root");
        setenv("SSPID_SOCKET", f.sock, 1);
        st = acquire_with_password();
        t_status(st, SEC_E_INTERNAL_ERROR, "control: the root fake closes after the Hello: the call fails");
        rep = fake_stop(&f);
        printf("# root fake: %u connections, %u bytes received\n", rep.conns, rep.bytes);
        t_ok(rep.conns >= 1 && rep.bytes >= 4, "control: the root fake received the Hello (%u bytes)", rep.bytes);
        t_ok(rep.bytes >= 4 && ((uint32_t) rep.head[0] << 24 | (uint32_t) rep.head[1] << 16 |
                                (uint32_t) rep.head[2] << 8 | rep.head[3]) == rep.bytes - 4,
             "control: what it received is one length-prefixed frame");
        unsetenv("SSPID_SOCKET");
}

/* ---- 2. secure_getenv in a setuid program ---- */

/* Run as `test_fake_daemon --probe`: one call to whatever SSPID_SOCKET
 * names (if the library honours it). Exit code: bit 0 AT_SECURE, bit 1
 * euid 0, bit 2 the call succeeded. */
static int probe_main(void) {
        ULONG n;
        PSecPkgInfoA p;
        SECURITY_STATUS st = EnumerateSecurityPackagesA(&n, &p);
        int code = (getauxval(AT_SECURE) ? 1 : 0) | (geteuid() == 0 ? 2 : 0) | (st == SEC_E_OK ? 4 : 0);

        if (st == SEC_E_OK)
                FreeContextBuffer(p);
        printf("# probe: ruid %u euid %u AT_SECURE %lu, EnumerateSecurityPackages: %s\n", (unsigned) getuid(),
               (unsigned) geteuid(), getauxval(AT_SECURE), status_name(st));
        return code;
}

static const char *probe_path;

static int exec_probe(void *arg) {
        (void) arg;
        execl(probe_path, probe_path, "--probe", (char *) NULL);
        return 97;
}

/* Run the probe copy as uid 65534; unlink it as soon as it is executing
 * (a close-on-exec pipe tells), so that a setuid-root copy never outlives
 * its one run, even if this test is killed. */
static int run_probe_once(void) {
        int p[2], rc;
        char c;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid = t_spawn_as(T_ATTACKER, exec_probe, NULL);
        close(p[1]);
        (void) !read(p[0], &c, 1); /* EOF: exec'ed, or exited */
        close(p[0]);
        unlink(probe_path);
        rc = t_wait_child(pid, 60000);
        return rc;
}

static void test_secure_getenv(void) {
        char dir[] = "/tmp/sspid-setuid-XXXXXX", copy[128], self[4096];
        struct stat stt;
        ssize_t len;
        int in = -1, out = -1, code;
        Fake f;
        FakeReport rep;
        bool copied = false;

        len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len > 0 && mkdtemp(dir)) {
                self[len] = 0;
                snprintf(copy, sizeof(copy), "%s/probe", dir);
                in = open(self, O_RDONLY | O_CLOEXEC);
                out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
                if (in >= 0 && out >= 0) {
                        char buf[65536];
                        ssize_t k;
                        copied = true;
                        while ((k = read(in, buf, sizeof(buf))) > 0)
                                if (write(out, buf, (size_t) k) != k)
                                        copied = false;
                }
                if (in >= 0)
                        close(in);
                if (out >= 0)
                        close(out);
                chmod(dir, 0755);
        }
        t_ok(copied, "a copy of the test binary in %s", dir);
        if (!copied)
                return;
        probe_path = copy;

        /* Control first: no setuid bit, run by 65534: the environment is
         * honoured and the (root, trusted) fake sees the Hello. */
        t_ok(fake_start(&f, FAKE_COUNT, 0), "a root fake for the probe");
        setenv("SSPID_SOCKET", f.sock, 1);
        code = t_run_as(T_ATTACKER, exec_probe, NULL);
        rep = fake_stop(&f);
        t_ok(code >= 0 && code < 8 && !(code & 1) && !(code & 2),
             "control: the plain copy runs as uid %u without AT_SECURE (code %d)", T_ATTACKER, code);
        t_ok(rep.conns >= 1 && rep.bytes > 0,
             "control: the plain copy follows SSPID_SOCKET to the fake (%u connections, %u bytes)", rep.conns,
             rep.bytes);

        /* The setuid-root copy, run by 65534: AT_SECURE, so SSPID_SOCKET is
         * ignored and the compiled-in /run/sspid/sspid.sock is used. */
        t_ok(fake_start(&f, FAKE_COUNT, 0), "a root fake for the setuid probe");
        setenv("SSPID_SOCKET", f.sock, 1);
        t_ok(chown(copy, 0, 0) == 0 && chmod(copy, 04755) == 0 && stat(copy, &stt) == 0 && (stt.st_mode & S_ISUID),
             "the copy is setuid root");
        code = run_probe_once();
        t_ok(access(copy, F_OK) < 0, "the setuid copy is gone once it runs");
        rep = fake_stop(&f);
        if (code >= 0 && code < 8 && !(code & 1))
                printf("# the setuid bit was not honoured here (nosuid mount or no_new_privs): "
                       "the AT_SECURE case could not be run\n");
        t_ok(code >= 0 && code < 8 && (code & 1) && (code & 2),
             "the setuid copy runs with euid 0 and AT_SECURE (code %d)", code);
        t_ok(rep.conns == 0 && rep.bytes == 0,
             "the setuid copy ignores SSPID_SOCKET: the fake saw %u connections, %u bytes", rep.conns, rep.bytes);
        unsetenv("SSPID_SOCKET");
        unlink(copy);
        rmdir(dir);
}

/* ---- 3. a malicious reply from a trusted peer ---- */

/* One buffer of a crafted reply: len < 0 no data (fill bytes otherwise),
 * size/offset < 0 absent. */
typedef struct FB {
        uint32_t type;
        int len;
        uint8_t fill;
        int64_t size;
        int64_t offset;
} FB;

#define NODATA -1, 0
#define NOSIZE -1
#define NOOFF -1

typedef struct Case {
        const char *what;
        Sspiw__Envelope__BodyCase body;  /* the request it answers */
        int32_t status;
        size_t n;
        FB b[5];        /* MessageRep buffers, or CtxStepRep output */
        size_t n_in;
        FB in[3];       /* CtxStepRep input */
} Case;

enum {
        C_SIGN_BIG,
        C_SIGN_EXTRA_BUFFER,
        C_SIGN_DATA_CHANGED,
        C_SEAL_RO_RETYPED,
        C_SEAL_MADE_RO,
        C_SEAL_EXTRA_COUNT,
        C_UNSEAL_OFFSET_OUT,
        C_UNSEAL_RO_BASE,
        C_UNSEAL_SIZE_OUT,
        C_ISC_BIG,
        C_ISC_EXTRA_COUNT,
        C_ISC_MISSING_IN_TOKEN,
        C_ISC_MORE_OUTPUTS,
        C_ISC_WRONG_REPLY,
        C_TOKEN_SID_LEN,
        C_TOKEN_NOTHING,
        C_DCE_NO_WORDS,
        C_COUNT,
};

#define SIGN SSPIW__ENVELOPE__BODY_MAKE_SIGNATURE
#define SEAL SSPIW__ENVELOPE__BODY_ENCRYPT_MESSAGE
#define UNSEAL SSPIW__ENVELOPE__BODY_DECRYPT_MESSAGE
#define ISC SSPIW__ENVELOPE__BODY_INIT_CTX
#define QUERY SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR

static const Case cases[C_COUNT] = {
        [C_SIGN_BIG] = { "MakeSignature: a 64-byte signature for a 16-byte TOKEN", SIGN, SEC_E_OK, 2,
                         { { SECBUFFER_TOKEN, 64, 0x5a, NOSIZE, NOOFF }, { SECBUFFER_DATA, 32, 0xee, NOSIZE, NOOFF } } },
        [C_SIGN_EXTRA_BUFFER] = { "MakeSignature: three buffers back for two", SIGN, SEC_E_OK, 3,
                                  { { SECBUFFER_TOKEN, 16, 0x5a, NOSIZE, NOOFF },
                                    { SECBUFFER_DATA, 32, 0xee, NOSIZE, NOOFF },
                                    { SECBUFFER_TOKEN, 16, 0x5a, NOSIZE, NOOFF } } },
        [C_SIGN_DATA_CHANGED] = { "MakeSignature: a signature, and the DATA rewritten", SIGN, SEC_E_OK, 2,
                                  { { SECBUFFER_TOKEN, 16, 0x5a, NOSIZE, NOOFF },
                                    { SECBUFFER_DATA, 32, 0xee, NOSIZE, NOOFF } } },
        [C_SEAL_RO_RETYPED] = { "EncryptMessage: a READONLY_WITH_CHECKSUM buffer retyped to TOKEN", SEAL, SEC_E_OK, 3,
                                { { SECBUFFER_TOKEN, 16, 0x5a, NOSIZE, NOOFF },
                                  { SECBUFFER_TOKEN, 32, 0xee, NOSIZE, NOOFF },
                                  { SECBUFFER_DATA, 32, 0xcc, NOSIZE, NOOFF } } },
        [C_SEAL_MADE_RO] = { "EncryptMessage: DATA turned into DATA|READONLY", SEAL, SEC_E_OK, 2,
                             { { SECBUFFER_TOKEN, 16, 0x5a, NOSIZE, NOOFF },
                               { SECBUFFER_DATA | SECBUFFER_READONLY, 32, 0xcc, NOSIZE, NOOFF } } },
        [C_SEAL_EXTRA_COUNT] = { "EncryptMessage: DATA turned into EXTRA of 2^31-1 bytes", SEAL, SEC_E_OK, 2,
                                 { { SECBUFFER_TOKEN, 16, 0x5a, NOSIZE, NOOFF },
                                   { SECBUFFER_EXTRA, NODATA, 0x7fffffff, NOOFF } } },
        [C_UNSEAL_OFFSET_OUT] = { "DecryptMessage: plaintext at offset 60 of a 64-byte DATA, 16 bytes", UNSEAL,
                                  SEC_E_OK, 4,
                                  { { SECBUFFER_STREAM_HEADER, NODATA, 5, 0 },
                                    { SECBUFFER_DATA, 16, 0x77, NOSIZE, 60 },
                                    { SECBUFFER_STREAM_TRAILER, NODATA, 0, 64 },
                                    { SECBUFFER_EMPTY, NODATA, NOSIZE, NOOFF } } },
        [C_UNSEAL_RO_BASE] = { "DecryptMessage: plaintext written into a DATA|READONLY buffer", UNSEAL, SEC_E_OK, 4,
                               { { SECBUFFER_STREAM_HEADER | SECBUFFER_READONLY, NODATA, 5, 0 },
                                 { SECBUFFER_DATA, 8, 0x77, NOSIZE, 5 },
                                 { SECBUFFER_STREAM_TRAILER, NODATA, 0, 13 },
                                 { SECBUFFER_EMPTY, NODATA, NOSIZE, NOOFF } } },
        [C_UNSEAL_SIZE_OUT] = { "DecryptMessage: an EMPTY slot given cbBuffer 100000 without a place", UNSEAL,
                                SEC_E_OK, 4,
                                { { SECBUFFER_STREAM_HEADER, NODATA, 5, 0 },
                                  { SECBUFFER_DATA, 8, 0x77, NOSIZE, 5 },
                                  { SECBUFFER_STREAM_TRAILER, NODATA, 100000, NOOFF },
                                  { SECBUFFER_EMPTY, NODATA, NOSIZE, NOOFF } } },
        [C_ISC_BIG] = { "InitializeSecurityContext: a 4096-byte token for a 32-byte output", ISC,
                        SEC_I_CONTINUE_NEEDED, 1, { { SECBUFFER_TOKEN, 4096, 0x42, NOSIZE, NOOFF } } },
        [C_ISC_EXTRA_COUNT] = { "InitializeSecurityContext: EXTRA of 1000 bytes for a 16-byte input", ISC,
                                SEC_I_CONTINUE_NEEDED, 1, { { SECBUFFER_TOKEN, 8, 0x42, NOSIZE, NOOFF } }, 2,
                                { { SECBUFFER_TOKEN, NODATA, NOSIZE, NOOFF },
                                  { SECBUFFER_EXTRA, NODATA, 1000, NOOFF } } },
        [C_ISC_MISSING_IN_TOKEN] = { "InitializeSecurityContext: MISSING written over the input TOKEN", ISC,
                                     SEC_E_INCOMPLETE_MESSAGE, 1, { { SECBUFFER_TOKEN, NODATA, NOSIZE, NOOFF } }, 2,
                                     { { SECBUFFER_MISSING, NODATA, 5, NOOFF },
                                       { SECBUFFER_EMPTY, NODATA, NOSIZE, NOOFF } } },
        [C_ISC_MORE_OUTPUTS] = { "InitializeSecurityContext: two output buffers for one", ISC, SEC_I_CONTINUE_NEEDED,
                                 2,
                                 { { SECBUFFER_TOKEN, 8, 0x42, NOSIZE, NOOFF },
                                   { SECBUFFER_TOKEN, 8, 0x42, NOSIZE, NOOFF } } },
        [C_ISC_WRONG_REPLY] = { "InitializeSecurityContext answered with a MessageRep", ISC, SEC_E_OK, 1,
                                { { SECBUFFER_TOKEN, 8, 0x42, NOSIZE, NOOFF } } },
        [C_TOKEN_SID_LEN] = { "QuerySecurityContextToken: a SID of 12 bytes claiming 2 subauthorities (16)", QUERY,
                              SEC_E_OK, 0, { { 0 } } },
        [C_TOKEN_NOTHING] = { "QuerySecurityContextToken: neither an account nor SIDs", QUERY, SEC_E_OK, 0, { { 0 } } },
        [C_DCE_NO_WORDS] = { "DCE_INFO: a name but no AuthzSvc word", QUERY, SEC_E_OK, 0, { { 0 } } },
};

static Sspiw__Buffer **build_buffers(Sspiw__Buffer *w, Sspiw__Buffer **pw, uint8_t *store, const FB *fb, size_t n) {
        for (size_t i = 0; i < n; i++) {
                sspiw__buffer__init(&w[i]);
                w[i].type = fb[i].type;
                if (fb[i].len >= 0) {
                        w[i].has_data = true;
                        w[i].data.data = store;
                        w[i].data.len = (size_t) fb[i].len;
                        memset(store, fb[i].fill, (size_t) fb[i].len);
                        store += fb[i].len;
                }
                if (fb[i].size >= 0) {
                        w[i].has_size = true;
                        w[i].size = (uint32_t) fb[i].size;
                }
                if (fb[i].offset >= 0) {
                        w[i].has_offset = true;
                        w[i].offset = (uint32_t) fb[i].offset;
                }
                pw[i] = &w[i];
        }
        return pw;
}

static int send_env(int fd, const Sspiw__Envelope *e) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int r = wire_pack(e, &buf, &len);

        if (r >= 0)
                r = wire_write_all(fd, buf, len, NULL);
        free(buf);
        return r;
}

/* Next frame, or NULL on EOF, error or a stop. */
static Sspiw__Envelope *recv_env(int fd, int stop, WireReader *r) {
        for (;;) {
                Sspiw__Envelope *e = NULL;
                int k = wire_reader_next(r, &e);
                if (k < 0)
                        return NULL;
                if (k > 0)
                        return e;
                struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = stop, .events = POLLIN } };
                if (poll(p, 2, 20000) <= 0 || (p[1].revents && !p[0].revents))
                        return NULL;
                k = wire_reader_fill(r, fd);
                if (k == 0 || (k < 0 && k != -EAGAIN))
                        return NULL;
        }
}

static void fake_script_conn(int fd, int stop, FakeReport *rep) {
        WireReader r;
        Sspiw__Envelope *e;
        Sspiw__HelloRep hr = SSPIW__HELLO_REP__INIT;
        Sspiw__Envelope out = SSPIW__ENVELOPE__INIT;

        wire_reader_init(&r, WIRE_MAX_FRAME_DEFAULT);
        e = recv_env(fd, stop, &r);
        if (!e || e->body_case != SSPIW__ENVELOPE__BODY_HELLO) {
                wire_free(e);
                wire_reader_done(&r);
                return;
        }
        hr.major = WIRE_VERSION_MAJOR;
        hr.minor = WIRE_VERSION_MINOR;
        hr.max_frame = WIRE_MAX_FRAME_DEFAULT;
        out.call_id = e->call_id;
        out.body_case = SSPIW__ENVELOPE__BODY_HELLO_REP;
        out.hello_rep = &hr;
        wire_free(e);
        if (send_env(fd, &out) < 0) {
                wire_reader_done(&r);
                return;
        }
        while ((e = recv_env(fd, stop, &r))) {
                const Case *c = rep->requests < C_COUNT ? &cases[rep->requests] : NULL;
                Sspiw__Envelope o = SSPIW__ENVELOPE__INIT;
                Sspiw__MessageRep mr = SSPIW__MESSAGE_REP__INIT;
                Sspiw__CtxStepRep cr = SSPIW__CTX_STEP_REP__INIT;
                Sspiw__Handle h = SSPIW__HANDLE__INIT;
                Sspiw__QueryCtxAttrRep qr = SSPIW__QUERY_CTX_ATTR_REP__INIT;
                Sspiw__TokenSid ts = SSPIW__TOKEN_SID__INIT;
                static uint8_t short_sid[12] = { 1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0 };
                Sspiw__Buffer w[5], win[3], *pw[5], *pwin[3];
                static uint8_t store[8192], store_in[1024];

                rep->requests++;
                o.call_id = e->call_id;
                o.has_status = true;
                o.status = c ? c->status : SEC_E_UNSUPPORTED_FUNCTION;
                if (!c || e->body_case != c->body) {
                        /* Out of script: a plain refusal, so the test sees it. */
                        o.status = SEC_E_UNSUPPORTED_FUNCTION;
                } else if (c->body == QUERY) {
                        if (rep->requests - 1 == C_TOKEN_SID_LEN) {
                                ts.sid.data = short_sid;
                                ts.sid.len = sizeof(short_sid);
                                qr.token_user = &ts;
                        } else if (rep->requests - 1 == C_DCE_NO_WORDS)
                                qr.user_name = "CORP\\alice";
                        o.body_case = SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR_REP;
                        o.query_ctx_attr_rep = &qr;
                } else if (c->body == ISC && rep->requests - 1 != C_ISC_WRONG_REPLY) {
                        h.lower = 1;
                        h.upper = 0x1234;
                        cr.ctx = &h;
                        cr.attrs = 0;
                        cr.n_output = c->n;
                        cr.output = build_buffers(w, pw, store, c->b, c->n);
                        cr.n_input = c->n_in;
                        cr.input = c->n_in ? build_buffers(win, pwin, store_in, c->in, c->n_in) : NULL;
                        o.body_case = SSPIW__ENVELOPE__BODY_CTX_STEP_REP;
                        o.ctx_step_rep = &cr;
                } else {
                        mr.n_buffers = c->n;
                        mr.buffers = build_buffers(w, pw, store, c->b, c->n);
                        o.body_case = SSPIW__ENVELOPE__BODY_MESSAGE_REP;
                        o.message_rep = &mr;
                }
                wire_free(e);
                if (send_env(fd, &o) < 0)
                        break;
        }
        wire_reader_done(&r);
}

/* Caller memory: exactly `len` bytes (ASan sees any overflow) followed by
 * a canary (the normal build sees it), or a read-only page. */
typedef struct Region {
        uint8_t *p;
        size_t len;
        bool ro;
} Region;

#define CANARY 16
#define FILL 0xa5

static Region region(size_t len) {
        Region r = { malloc(len + CANARY), len, false };
        memset(r.p, FILL, len + CANARY);
        return r;
}

/* A PROT_READ page holding `len` bytes of FILL; any write kills us. */
static Region region_ro(size_t len) {
        long pg = sysconf(_SC_PAGESIZE);
        Region r = { mmap(NULL, (size_t) pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), len, true };

        memset(r.p, FILL, (size_t) pg);
        (void) mprotect(r.p, (size_t) pg, PROT_READ);
        return r;
}

static bool untouched(const Region *r) {
        for (size_t i = 0; i < r->len + (r->ro ? 0 : CANARY); i++)
                if (r->p[i] != FILL)
                        return false;
        return true;
}

static bool canary_ok(const Region *r) {
        for (size_t i = r->len; !r->ro && i < r->len + CANARY; i++)
                if (r->p[i] != FILL)
                        return false;
        return true;
}

static void region_free(Region *r) {
        if (r->ro)
                munmap(r->p, (size_t) sysconf(_SC_PAGESIZE));
        else
                free(r->p);
}

static bool buf_is(const SecBuffer *b, uint32_t type, uint32_t cb, const Region *r) {
        return b->BufferType == type && b->cbBuffer == cb && b->pvBuffer == r->p;
}

static void test_malicious_replies(void) {
        CtxtHandle ctx = { 7, 7 }, newctx = { 0xdead, 0xbeef };
        CredHandle cred = { 5, 5 };
        ULONG attrs = 0xabcdef;
        TimeStamp ts;
        Fake f;
        FakeReport rep;
        SECURITY_STATUS st;

        t_ok(fake_start(&f, FAKE_SCRIPT, 0), "a malicious fake daemon listens as root (a trusted uid)");
        setenv("SSPID_SOCKET", f.sock, 1);

        /* MakeSignature: TOKEN 16 bytes, DATA 32 bytes in a read-only page. */
        for (int k = C_SIGN_BIG; k <= C_SIGN_DATA_CHANGED; k++) {
                Region tok = region(16), data = region_ro(32);
                SecBuffer b[2] = { { 16, SECBUFFER_TOKEN, tok.p }, { 32, SECBUFFER_DATA, data.p } };
                SecBufferDesc d = { SECBUFFER_VERSION, 2, b };

                st = MakeSignature(&ctx, 0, &d, 0);
                if (k == C_SIGN_DATA_CHANGED) {
                        t_status(st, SEC_E_OK, "%s: the signature is taken", cases[k].what);
                        t_ok(tok.p[0] == 0x5a && tok.p[15] == 0x5a && canary_ok(&tok) &&
                                     buf_is(&b[0], SECBUFFER_TOKEN, 16, &tok),
                             "%s: TOKEN written, 16 bytes, nothing past it (control: the fake's bytes do arrive)",
                             cases[k].what);
                } else {
                        t_status(st, k == C_SIGN_BIG ? SEC_E_BUFFER_TOO_SMALL : SEC_E_INTERNAL_ERROR, "%s",
                                 cases[k].what);
                        t_ok(untouched(&tok) && buf_is(&b[0], SECBUFFER_TOKEN, 16, &tok),
                             "%s: TOKEN untouched", cases[k].what);
                }
                t_ok(untouched(&data) && buf_is(&b[1], SECBUFFER_DATA, 32, &data),
                     "%s: the read-only DATA untouched, its descriptor too", cases[k].what);
                region_free(&tok);
                region_free(&data);
        }

        /* EncryptMessage: TOKEN, then READONLY_WITH_CHECKSUM in a read-only
         * page (retyped case) or plain DATA, then DATA. */
        for (int k = C_SEAL_RO_RETYPED; k <= C_SEAL_EXTRA_COUNT; k++) {
                Region tok = region(16), ro = region_ro(32), data = region(32);
                SecBuffer b[3] = { { 16, SECBUFFER_TOKEN, tok.p },
                                   { 32, SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, ro.p },
                                   { 32, SECBUFFER_DATA, data.p } };
                SecBufferDesc d = { SECBUFFER_VERSION, 3, b };

                if (k != C_SEAL_RO_RETYPED) {
                        b[1] = b[2];
                        d.cBuffers = 2;
                }
                st = EncryptMessage(&ctx, 0, &d, 0);
                t_status(st, SEC_E_INTERNAL_ERROR, "%s", cases[k].what);
                t_ok(untouched(&tok) && untouched(&data) && untouched(&ro) && buf_is(&b[0], SECBUFFER_TOKEN, 16, &tok),
                     "%s: nothing written", cases[k].what);
                t_ok(k == C_SEAL_RO_RETYPED
                             ? b[1].BufferType == (SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM) &&
                                       b[2].BufferType == SECBUFFER_DATA && b[2].cbBuffer == 32
                             : b[1].BufferType == SECBUFFER_DATA && b[1].cbBuffer == 32,
                     "%s: types and sizes as the caller set them", cases[k].what);
                region_free(&tok);
                region_free(&ro);
                region_free(&data);
        }

        /* DecryptMessage, Schannel's in-place layout: DATA 64 + 3 EMPTY. */
        for (int k = C_UNSEAL_OFFSET_OUT; k <= C_UNSEAL_SIZE_OUT; k++) {
                Region data = k == C_UNSEAL_RO_BASE ? region_ro(64) : region(64);
                SecBuffer b[4] = { { 64, k == C_UNSEAL_RO_BASE ? SECBUFFER_DATA | SECBUFFER_READONLY : SECBUFFER_DATA,
                                     data.p },
                                   { 0, SECBUFFER_EMPTY, NULL },
                                   { 0, SECBUFFER_EMPTY, NULL },
                                   { 0, SECBUFFER_EMPTY, NULL } };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                ULONG qop = 0x55;

                st = DecryptMessage(&ctx, &d, 0, &qop);
                t_status(st, SEC_E_INTERNAL_ERROR, "%s", cases[k].what);
                t_ok(untouched(&data) && b[0].pvBuffer == data.p && b[0].cbBuffer == 64 && qop == 0x55,
                     "%s: nothing written", cases[k].what);
                t_ok(b[1].BufferType == SECBUFFER_EMPTY && !b[1].pvBuffer && b[2].BufferType == SECBUFFER_EMPTY &&
                             b[2].cbBuffer == 0 && b[3].BufferType == SECBUFFER_EMPTY,
                     "%s: the EMPTY slots stay empty", cases[k].what);
                region_free(&data);
        }

        /* InitializeSecurityContext: output TOKEN 32; input TOKEN 16 + EMPTY. */
        for (int k = C_ISC_BIG; k <= C_ISC_WRONG_REPLY; k++) {
                Region out = region(32), in = region_ro(16);
                SecBuffer ob[1] = { { 32, SECBUFFER_TOKEN, out.p } };
                SecBuffer ib[2] = { { 16, SECBUFFER_TOKEN, in.p }, { 0, SECBUFFER_EMPTY, NULL } };
                SecBufferDesc od = { SECBUFFER_VERSION, 1, ob }, id = { SECBUFFER_VERSION, 2, ib };
                bool with_input = k == C_ISC_EXTRA_COUNT || k == C_ISC_MISSING_IN_TOKEN;

                st = InitializeSecurityContextA(&cred, NULL, "host/fake", 0, 0, SECURITY_NATIVE_DREP,
                                                with_input ? &id : NULL, 0, &newctx, &od, &attrs, &ts);
                t_status(st, k == C_ISC_BIG ? SEC_E_BUFFER_TOO_SMALL : SEC_E_INTERNAL_ERROR, "%s", cases[k].what);
                t_ok(untouched(&out) && buf_is(&ob[0], SECBUFFER_TOKEN, 32, &out), "%s: output untouched",
                     cases[k].what);
                t_ok(untouched(&in) && buf_is(&ib[0], SECBUFFER_TOKEN, 16, &in) && ib[1].BufferType == SECBUFFER_EMPTY &&
                             ib[1].cbBuffer == 0,
                     "%s: input descriptor untouched", cases[k].what);
                t_ok(newctx.dwLower == 0xdead && newctx.dwUpper == 0xbeef && attrs == 0xabcdef,
                     "%s: no handle, no attributes written", cases[k].what);
                region_free(&out);
                region_free(&in);
        }

        /* Token and DCE_INFO replies a real daemon never sends: refused,
         * nothing written. */
        for (int k = C_TOKEN_SID_LEN; k <= C_TOKEN_NOTHING; k++) {
                void *tok = (void *) 0x1234;
                t_status(QuerySecurityContextToken(&ctx, &tok), SEC_E_INTERNAL_ERROR, "%s", cases[k].what);
                t_ok(tok == (void *) 0x1234, "%s: no token handle written", cases[k].what);
        }
        {
                SecPkgContext_DceInfo dce = { 0x77, (void *) 0x1234 };
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_DCE_INFO, &dce), SEC_E_INTERNAL_ERROR, "%s",
                         cases[C_DCE_NO_WORDS].what);
                t_ok(dce.AuthzSvc == 0x77 && dce.pPac == (void *) 0x1234, "%s: nothing written",
                     cases[C_DCE_NO_WORDS].what);
        }

        rep = fake_stop(&f);
        t_ok(rep.requests == C_COUNT, "the fake answered every scripted call (%u of %d)", rep.requests, C_COUNT);
        unsetenv("SSPID_SOCKET");
}

/* ---- 4. read-only message memory with the real daemon ---- */

static int write_ro(void *arg) {
        ((volatile uint8_t *) arg)[0] = 1;
        return 0;
}

static void test_readonly_messages(void) {
        static const char msg[] = "read-only message memory: a literal or a PROT_READ page";
        long pg = sysconf(_SC_PAGESIZE);
        uint8_t *page, tok[256], tok2[256], data[64];
        CredHandle kc, ks;
        THandshake hs;
        char target[256];
        SecPkgContext_Sizes sz;
        SECURITY_STATUS st;
        ULONG qop = 0;
        int rc;

        page = mmap(NULL, (size_t) pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memcpy(page, msg, sizeof(msg));
        t_ok(page != MAP_FAILED && mprotect(page, (size_t) pg, PROT_READ) == 0, "a PROT_READ page holds the message");
        /* 98: killed by SIGSEGV; under ASan its SEGV handler exits with 1. */
        rc = t_run_as(0, write_ro, page);
        t_ok(rc == 98 || rc == 1, "control: a write to that page kills a child (SIGSEGV; code %d)", rc);

        snprintf(target, sizeof(target), "HTTP/localhost@%s", t_realm());
        t_status(t_cred_password("alice", "alice-pw-1", &kc), SEC_E_OK, "alice's Kerberos credential");
        t_status(t_cred_service(NULL, &ks), SEC_E_OK, "the service credential");
        t_status(t_handshake(&kc, &ks, target, ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY, 0,
                             &hs),
                 SEC_E_OK, "Kerberos handshake alice -> %s", target);
        t_status(QueryContextAttributesA(&hs.client, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "sizes");

        /* MakeSignature with plain SECBUFFER_DATA in the read-only page: as
         * on Windows, only the TOKEN is written. */
        {
                SecBuffer b[2] = { { sz.cbMaxSignature, SECBUFFER_TOKEN, tok }, { sizeof(msg), SECBUFFER_DATA, page } };
                SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
                st = MakeSignature(&hs.client, 0, &d, 0);
                t_status(st, SEC_E_OK, "MakeSignature with DATA in a PROT_READ page (no READONLY flag)");
                t_ok(b[0].cbBuffer > 0 && b[0].cbBuffer <= sz.cbMaxSignature && b[1].pvBuffer == page &&
                             b[1].cbBuffer == sizeof(msg) && b[1].BufferType == SECBUFFER_DATA,
                     "the signature is in the TOKEN (%u bytes), the DATA descriptor as given", b[0].cbBuffer);
                /* VerifySignature with both buffers read-only. */
                uint8_t *sigpage = mmap(NULL, (size_t) pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                memcpy(sigpage, tok, b[0].cbBuffer);
                (void) mprotect(sigpage, (size_t) pg, PROT_READ);
                SecBuffer v[2] = { { b[0].cbBuffer, SECBUFFER_TOKEN, sigpage }, { sizeof(msg), SECBUFFER_DATA, page } };
                SecBufferDesc vd = { SECBUFFER_VERSION, 2, v };
                t_status(VerifySignature(&hs.server, &vd, 0, &qop), SEC_E_OK,
                         "VerifySignature with TOKEN and DATA in PROT_READ pages");
                munmap(sigpage, (size_t) pg);
        }

        /* EncryptMessage: a read-only header (READONLY_WITH_CHECKSUM: signed,
         * not encrypted) and a plain READONLY trailer in the page, the
         * encrypted DATA in writable memory. */
        {
                memcpy(data, "the secret part", 16);
                SecBuffer b[4] = { { sz.cbSecurityTrailer, SECBUFFER_TOKEN, tok },
                                   { 20, SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, page },
                                   { 16, SECBUFFER_DATA, data },
                                   { 8, SECBUFFER_DATA | SECBUFFER_READONLY, page + 20 } };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                st = EncryptMessage(&hs.client, 0, &d, 0);
                t_status(st, SEC_E_OK, "EncryptMessage with READONLY(_WITH_CHECKSUM) DATA in a PROT_READ page");
                t_ok(memcmp(data, "the secret part", 16) != 0, "the writable DATA was encrypted in place");
                t_ok(b[1].pvBuffer == page && b[1].cbBuffer == 20 &&
                             b[1].BufferType == (SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM) &&
                             b[3].cbBuffer == 8 && b[3].BufferType == (SECBUFFER_DATA | SECBUFFER_READONLY),
                     "the read-only buffers' descriptors as given");
                memcpy(tok2, tok, b[0].cbBuffer);
                SecBuffer u[4] = { { b[0].cbBuffer, SECBUFFER_TOKEN, tok2 },
                                   { 20, SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, page },
                                   { 16, SECBUFFER_DATA, data },
                                   { 8, SECBUFFER_DATA | SECBUFFER_READONLY, page + 20 } };
                SecBufferDesc ud = { SECBUFFER_VERSION, 4, u };
                t_status(DecryptMessage(&hs.server, &ud, 0, &qop), SEC_E_OK,
                         "the server decrypts it (read-only parts in the PROT_READ page)");
                t_ok(memcmp(data, "the secret part", 16) == 0, "and gets the plaintext back");
        }
        t_handshake_done(&hs);
        FreeCredentialsHandle(&kc);
        FreeCredentialsHandle(&ks);
        munmap(page, (size_t) pg);
}

int main(int argc, char **argv) {
        TDaemon d;
        long before, after;

        if (argc > 1 && strcmp(argv[1], "--probe") == 0)
                return probe_main();
        signal(SIGPIPE, SIG_IGN);

        test_peer_check();
        test_secure_getenv();
        test_malicious_replies();

        if (!t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        before = t_victim_ms(T_VICTIM, 20000);
        test_readonly_messages();
        after = t_victim_ms(T_VICTIM, 20000);
        printf("# victim round (uid 0): %ld ms before, %ld ms after\n", before, after);
        t_ok(before >= 0 && after >= 0 && after < 10000, "the victim is served by the default daemon (%ld ms)", after);
        t_daemon_stop(&d);
        return t_done();
}
