/* SPDX-License-Identifier: MIT */
/*
 * Finding 11 of issue 11: identity pinned at connect time. The daemon
 * knows a caller by the credentials of its connect() (SO_PEERCRED,
 * SO_PEERGROUPS); a process that made one SSPI call as root and then
 * dropped to uid 65534 kept root's identity and grants on that connection.
 *
 * The library now reconnects when euid, egid or the groups change:
 * - root acquires the Kerberos acceptor credential (granted to root only),
 *   drops to 65534 in the same process: a new acquire gets the status any
 *   uid-65534 process gets (SEC_E_NOT_OWNER), and the old handle is
 *   invalid (SEC_E_INVALID_HANDLE), as after a fork;
 * - an egid change alone, or a groups change alone, reconnects too;
 * - a free right after the drop, before any other call, is SEC_E_OK: it
 *   frees root's object on the connection that made it (a free is one
 *   send, no identity check) and asks nothing for the new identity;
 * - control: without a drop, the second acquire and the old handle work;
 * - positive control (the attack's effect): a connection made as root and
 *   used after the drop still gets the root-only grant from the daemon, so
 *   without the reconnect the checks above would fail.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"
#include "wire.h"

enum { S_FIRST, S_SECOND, S_OLD_HANDLE, S_AFTER, S_FREE, S_N };

typedef struct Run {
        int mode;
        int pipe_w;
} Run;

enum { M_NO_DROP, M_DROP_UID, M_DROP_EGID, M_DROP_GROUPS, M_FRESH, M_DROP_ASYNC };

static const char *const mode_names[] = { "no drop", "setresuid(65534)", "setresgid(65534) only",
                                          "setgroups({65534}) only", "a fresh uid-65534 process",
                                          "setresuid(65534) with an async call in flight" };

static SECURITY_STATUS query_names(CredHandle *h) {
        SecPkgCredentials_NamesA n = { 0 };
        SECURITY_STATUS st = QueryCredentialsAttributesA(h, SECPKG_CRED_ATTR_NAMES, &n);

        if (st == SEC_E_OK)
                FreeContextBuffer(n.sUserName);
        return st;
}

static int run_fn(void *arg) {
        Run *r = arg;
        SECURITY_STATUS s[S_N] = { SEC_E_OK, SEC_E_OK, SEC_E_OK, SEC_E_OK, SEC_E_OK };
        CredHandle first = { 0 }, second, spare = { 0 };
        bool have_spare = false;
        ULONG n;
        PSecPkgInfoA p;
        gid_t g = T_ATTACKER;

        SspiAsyncContext *ac = NULL;
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "alice", 5, NULL, 0, (unsigned char *) "alice-pw-1", 10,
                                         SEC_WINNT_AUTH_IDENTITY_ANSI };
        CredHandle ac_cred;
        TimeStamp ts;

        if (r->mode != M_FRESH)
                s[S_FIRST] = t_cred_service(NULL, &first);
        if (r->mode == M_DROP_UID || r->mode == M_DROP_EGID || r->mode == M_DROP_GROUPS)
                have_spare = t_cred_service(NULL, &spare) == SEC_E_OK;
        if (r->mode == M_DROP_ASYNC) {
                /* A call in flight on the old connection (a KDC exchange)
                 * while another call finds the credentials changed: it must
                 * complete (its result, or SEC_E_INTERNAL_ERROR), never hang. */
                ac = SspiCreateAsyncContext();
                if (!ac || SspiAcquireCredentialsHandleAsyncA(ac, NULL, "Kerberos", SECPKG_CRED_OUTBOUND, NULL, &id,
                                                              NULL, NULL, &ac_cred, &ts) != SEC_E_OK)
                        return 95;
        }
        switch (r->mode) {
        case M_DROP_ASYNC:
        case M_DROP_UID:
                if (setgroups(0, NULL) < 0 || setresgid(T_ATTACKER, T_ATTACKER, T_ATTACKER) < 0 ||
                    setresuid(T_ATTACKER, T_ATTACKER, T_ATTACKER) < 0)
                        return 99;
                break;
        case M_DROP_EGID:
                if (setresgid(T_ATTACKER, T_ATTACKER, T_ATTACKER) < 0)
                        return 99;
                break;
        case M_DROP_GROUPS:
                if (setgroups(1, &g) < 0)
                        return 99;
                break;
        default:
                break;
        }
        /* A free right after the drop, before any call: it goes on the
         * connection that made the handle and frees root's object there;
         * nothing is asked for the new identity (S_SECOND still finds it). */
        if (have_spare)
                s[S_FREE] = FreeCredentialsHandle(&spare);
        else if (r->mode == M_DROP_UID || r->mode == M_DROP_EGID || r->mode == M_DROP_GROUPS)
                s[S_FREE] = SEC_E_INTERNAL_ERROR; /* the spare acquire failed */
        s[S_SECOND] = t_cred_service(NULL, &second);
        if (s[S_SECOND] == SEC_E_OK)
                FreeCredentialsHandle(&second);
        if (r->mode != M_FRESH)
                s[S_OLD_HANDLE] = query_names(&first);
        s[S_AFTER] = EnumerateSecurityPackagesA(&n, &p);
        if (s[S_AFTER] == SEC_E_OK)
                FreeContextBuffer(p);
        if (ac) {
                /* S_AFTER: the async call's final status (pending = hung). */
                uint64_t end = t_now_ms() + 20000;
                SECURITY_STATUS as;
                while ((as = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING && t_now_ms() < end)
                        usleep(10000);
                printf("# async call in flight across the drop ended with %s\n", status_name(as));
                fflush(stdout);
                s[S_AFTER] = as;
                if (as == SEC_E_OK)
                        FreeCredentialsHandle(&ac_cred);
                SspiFreeAsyncContext(ac);
        }
        return write(r->pipe_w, s, sizeof(s)) == sizeof(s) ? 0 : 96;
}

/* Runs one mode in a child (root, or 65534 for M_FRESH); false if it did
 * not report. */
static bool run_mode(int mode, SECURITY_STATUS ret[S_N]) {
        int p[2], rc;
        Run r = { mode, -1 };

        if (pipe(p) < 0)
                return false;
        r.pipe_w = p[1];
        rc = t_wait_child(t_spawn_as(mode == M_FRESH ? T_ATTACKER : 0, run_fn, &r), 60000);
        close(p[1]);
        bool ok = rc == 0 && read(p[0], ret, sizeof(SECURITY_STATUS) * S_N) == (ssize_t) (sizeof(SECURITY_STATUS) * S_N);
        close(p[0]);
        if (!ok)
                printf("# mode %s: child code %d\n", mode_names[mode], rc);
        return ok;
}

/* ---- the attack's effect, without the library: a connection made as root ---- */

static int send_env(int fd, const Sspiw__Envelope *e) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int r = wire_pack(e, &buf, &len);

        if (r >= 0)
                r = wire_write_all(fd, buf, len, NULL);
        free(buf);
        return r;
}

static Sspiw__Envelope *recv_env(int fd, WireReader *r) {
        for (;;) {
                Sspiw__Envelope *e = NULL;
                int k = wire_reader_next(r, &e);
                if (k < 0)
                        return NULL;
                if (k > 0)
                        return e;
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 20000) <= 0)
                        return NULL;
                k = wire_reader_fill(r, fd);
                if (k == 0 || (k < 0 && k != -EAGAIN))
                        return NULL;
        }
}

typedef struct Raw {
        const TDaemon *d;
        int pipe_w;
} Raw;

/* Connect as root, drop to 65534, then ask for the acceptor credential on
 * that connection. Reports the daemon's status. */
static int raw_fn(void *arg) {
        Raw *raw = arg;
        Sspiw__Envelope hello = SSPIW__ENVELOPE__INIT, acq = SSPIW__ENVELOPE__INIT, *rep;
        Sspiw__HelloReq h = SSPIW__HELLO_REQ__INIT;
        Sspiw__AcquireCredReq a = SSPIW__ACQUIRE_CRED_REQ__INIT;
        WireReader r;
        int32_t st = 1;
        int fd = t_raw_connect(raw->d);

        if (fd < 0)
                return 95;
        if (setgroups(0, NULL) < 0 || setresgid(T_ATTACKER, T_ATTACKER, T_ATTACKER) < 0 ||
            setresuid(T_ATTACKER, T_ATTACKER, T_ATTACKER) < 0)
                return 99;
        wire_reader_init(&r, WIRE_MAX_FRAME_DEFAULT);
        h.major = WIRE_VERSION_MAJOR;
        h.minor = WIRE_VERSION_MINOR;
        hello.body_case = SSPIW__ENVELOPE__BODY_HELLO;
        hello.hello = &h;
        if (send_env(fd, &hello) < 0 || !(rep = recv_env(fd, &r)))
                return 94;
        wire_free(rep);
        a.package = (char *) "Kerberos";
        a.use = SECPKG_CRED_INBOUND;
        acq.call_id = 1;
        acq.body_case = SSPIW__ENVELOPE__BODY_ACQUIRE_CRED;
        acq.acquire_cred = &a;
        if (send_env(fd, &acq) < 0 || !(rep = recv_env(fd, &r)))
                return 93;
        st = rep->has_status ? rep->status : 1;
        wire_free(rep);
        wire_reader_done(&r);
        close(fd);
        return write(raw->pipe_w, &st, sizeof(st)) == sizeof(st) ? 0 : 96;
}

int main(void) {
        TDaemon d;
        SECURITY_STATUS s[S_N], fresh[S_N];
        long before, after;

        if (!t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        before = t_victim_ms(T_VICTIM, 20000);

        /* What the daemon tells any uid-65534 process (the grant is root's). */
        t_ok(run_mode(M_FRESH, fresh), "a fresh uid-65534 process reports");
        t_status(fresh[S_SECOND], SEC_E_NOT_OWNER, "reference: a fresh uid-65534 process asks for the root-only "
                                                   "acceptor credential");

        /* Control: root, no drop. */
        t_ok(run_mode(M_NO_DROP, s), "control process reports");
        t_status(s[S_FIRST], SEC_E_OK, "control: root acquires the Kerberos acceptor credential");
        t_status(s[S_SECOND], SEC_E_OK, "control: without a drop, a second acquire succeeds");
        t_status(s[S_OLD_HANDLE], SEC_E_OK, "control: without a drop, the first handle works");

        /* The finding: root, then setresuid(65534) in the same process. */
        t_ok(run_mode(M_DROP_UID, s), "drop process reports");
        t_status(s[S_FIRST], SEC_E_OK, "root acquires the Kerberos acceptor credential");
        t_status(s[S_SECOND], fresh[S_SECOND], "after setresuid(65534) a new acquire gets what uid 65534 gets");
        t_status(s[S_SECOND], SEC_E_NOT_OWNER, "that is SEC_E_NOT_OWNER");
        t_status(s[S_OLD_HANDLE], SEC_E_INVALID_HANDLE, "the handle from before the drop is invalid");
        t_status(s[S_FREE], SEC_E_OK, "a free right after the drop frees root's handle on its own connection "
                                      "(as Windows frees a handle whatever the token)");
        t_status(s[S_AFTER], SEC_E_OK, "the process goes on working as uid 65534 (EnumerateSecurityPackages)");

        /* The same with an asynchronous call in flight across the drop. */
        t_ok(run_mode(M_DROP_ASYNC, s), "async-drop process reports");
        t_status(s[S_SECOND], SEC_E_NOT_OWNER, "with an async call in flight: after the drop, SEC_E_NOT_OWNER");
        t_status(s[S_OLD_HANDLE], SEC_E_INVALID_HANDLE, "with an async call in flight: the old handle is invalid");
        t_ok(s[S_AFTER] == SEC_E_OK || s[S_AFTER] == SEC_E_INTERNAL_ERROR,
             "the async call in flight completed (%s), it did not hang", status_name(s[S_AFTER]));

        /* egid alone, groups alone: the daemon sees them too (policy by group). */
        t_ok(run_mode(M_DROP_EGID, s), "egid process reports");
        t_status(s[S_OLD_HANDLE], SEC_E_INVALID_HANDLE, "after an egid change alone the old handle is invalid "
                                                        "(new connection)");
        t_status(s[S_FREE], SEC_E_OK, "after an egid change alone a free right away is SEC_E_OK");
        t_status(s[S_SECOND], SEC_E_OK, "and root (euid 0) still gets its grant on the new connection");
        t_ok(run_mode(M_DROP_GROUPS, s), "groups process reports");
        t_status(s[S_OLD_HANDLE], SEC_E_INVALID_HANDLE, "after a groups change alone the old handle is invalid");
        t_status(s[S_FREE], SEC_E_OK, "after a groups change alone a free right away is SEC_E_OK");
        t_status(s[S_SECOND], SEC_E_OK, "and root still gets its grant");

        /* The attack's effect on a connection the library would have kept:
         * the daemon still acts for root. This is what the reconnect
         * prevents, and why the checks above can fail. */
        {
                int p[2];
                int32_t st = 1;
                Raw raw = { &d, -1 };
                if (pipe(p) == 0) {
                        raw.pipe_w = p[1];
                        int rc = t_run_as(0, raw_fn, &raw);
                        close(p[1]);
                        if (rc != 0 || read(p[0], &st, sizeof(st)) != sizeof(st))
                                printf("# raw child code %d\n", rc);
                        close(p[0]);
                }
                t_status(st, SEC_E_OK, "positive control: on a connection made as root, uid 65534 still gets the "
                                       "root-only credential (what the library's reconnect prevents)");
        }

        after = t_victim_ms(T_VICTIM, 20000);
        printf("# victim round (uid 0): %ld ms before, %ld ms after\n", before, after);
        t_ok(before >= 0 && after >= 0 && after < 10000, "the victim is served (%ld ms)", after);
        t_daemon_stop(&d);
        return t_done();
}
