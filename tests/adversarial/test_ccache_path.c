/* SPDX-License-Identifier: MIT */
/*
 * Issue 11, finding 7: the daemon opened the ccache path a caller named
 * (KRB5CCNAME) with its own privileges before looking at what it was: a
 * FIFO in a directory only root can enter had its blocked writer released,
 * and a device such as /dev/watchdog would have been opened by root.
 *
 * Now the client library opens the caller's own ccache with the caller's
 * rights and sends the bytes; the daemon opens nothing. As uid 65534,
 * against a private daemon with the DEFAULT configuration, KRB5CCNAME
 * names: a FIFO in a root-only directory, /dev/zero, a directory, a symlink
 * to root's ccache, root's ccache itself (0600, then world-readable), a KCM:
 * cache and nothing at all. Each AcquireCredentialsHandle must answer
 * SEC_E_NO_CREDENTIALS promptly, the FIFO's blocked writer must stay
 * blocked (nobody opened the FIFO for reading), and the victim (root) is
 * served before and after.
 *
 * Positive controls: the FIFO watcher does see a release (root opens the
 * FIFO for reading at the end and the writer comes out), and root's own
 * ccache still gives a working credential and handshake.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"

static char root_dir[64], pub_dir[64];

/* Acquire a Kerberos outbound credential from KRB5CCNAME = arg (NULL:
 * unset): exit 0 when the answer is SEC_E_NO_CREDENTIALS. */
static int attacker_acquire(void *arg) {
        CredHandle c;
        TimeStamp ts;
        SECURITY_STATUS st;

        if (arg)
                setenv("KRB5CCNAME", arg, 1);
        else
                unsetenv("KRB5CCNAME");
        st = AcquireCredentialsHandleA(NULL, "Kerberos", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &c, &ts);
        if (st == SEC_E_OK)
                FreeCredentialsHandle(&c);
        if (st != SEC_E_NO_CREDENTIALS)
                printf("# KRB5CCNAME=%s: %s\n", arg ? (const char *) arg : "(unset)", status_name(st));
        return st == SEC_E_NO_CREDENTIALS ? 0 : 1;
}

/* Negotiate takes the same path (Kerberos from the ccache, else NTLM,
 * which has no default identity here either). */
static int attacker_acquire_negotiate(void *arg) {
        CredHandle c;
        TimeStamp ts;
        SECURITY_STATUS st;

        setenv("KRB5CCNAME", arg, 1);
        st = AcquireCredentialsHandleA(NULL, "Negotiate", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &c, &ts);
        if (st == SEC_E_OK) {
                /* A credential without Kerberos: fine only if its first
                 * leg cannot be Kerberos from that ccache. */
                FreeCredentialsHandle(&c);
                return 0;
        }
        printf("# Negotiate, KRB5CCNAME=%s: %s\n", (const char *) arg, status_name(st));
        return st == SEC_E_NO_CREDENTIALS ? 0 : 1;
}

/* Blocks in open(O_WRONLY) until somebody opens the FIFO for reading. */
static pid_t fifo_writer(const char *path) {
        pid_t pid = fork();

        if (pid == 0) {
                int fd = open(path, O_WRONLY | O_CLOEXEC);
                _exit(fd >= 0 ? 0 : 1);
        }
        return pid;
}

static bool still_blocked(pid_t pid) {
        return waitpid(pid, NULL, WNOHANG) == 0;
}

static bool copy_file(const char *from, const char *to, mode_t mode) {
        char buf[65536];
        ssize_t n;
        int in = open(from, O_RDONLY | O_CLOEXEC), out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        bool ok = in >= 0 && out >= 0;

        while (ok && (n = read(in, buf, sizeof(buf))) > 0)
                ok = write(out, buf, (size_t) n) == n;
        if (in >= 0)
                close(in);
        if (out >= 0)
                close(out);
        return ok && chmod(to, mode) == 0;
}

typedef struct Case {
        const char *what;
        char name[256];
} Case;

int main(void) {
        TDaemon d;
        char fifo[128], root_cc[512], copy[128], link_[128], world[128];
        long before_ms, after_ms, rss0, rss1, cpu0, cpu1, log0, log1;
        pid_t writer;
        Case cases[10];
        size_t n = 0;

        if (!t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        snprintf(root_dir, sizeof(root_dir), "/tmp/sspid-ccroot.XXXXXX");
        snprintf(pub_dir, sizeof(pub_dir), "/tmp/sspid-ccpub.XXXXXX");
        if (!mkdtemp(root_dir) || !mkdtemp(pub_dir) || chmod(root_dir, 0700) < 0 || chmod(pub_dir, 0755) < 0) {
                t_ok(false, "temporary directories");
                t_daemon_stop(&d);
                return t_done();
        }
        snprintf(fifo, sizeof(fifo), "%s/fifo", root_dir);
        t_ok(mkfifo(fifo, 0666) == 0, "a FIFO in a directory only root can enter");
        writer = fifo_writer(fifo);
        snprintf(root_cc, sizeof(root_cc), "%s/alice.ccache", t_realm_dir());
        snprintf(copy, sizeof(copy), "%s/root.ccache", pub_dir);
        snprintf(world, sizeof(world), "%s/world.ccache", pub_dir);
        snprintf(link_, sizeof(link_), "%s/link.ccache", pub_dir);
        t_ok(copy_file(root_cc, copy, 0600), "root's ccache (a copy), 0600, in a public directory");
        t_ok(copy_file(root_cc, world, 0644), "root's ccache (a copy), world-readable");
        t_ok(symlink(copy, link_) == 0, "a symlink to root's ccache");

        before_ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(before_ms >= 0, "victim served before the attack (%ld ms)", before_ms);
        rss0 = t_proc_rss_kib(d.pid);
        cpu0 = t_proc_cpu_ms(d.pid);
        log0 = t_file_size(d.log);

        cases[n++] = (Case) { "a FIFO in a root-only directory", "" };
        snprintf(cases[n - 1].name, sizeof(cases[0].name), "FILE:%s", fifo);
        cases[n++] = (Case) { "/dev/zero", "/dev/zero" };
        cases[n++] = (Case) { "a directory", "" };
        snprintf(cases[n - 1].name, sizeof(cases[0].name), "%s", pub_dir);
        cases[n++] = (Case) { "a symlink to root's ccache", "" };
        snprintf(cases[n - 1].name, sizeof(cases[0].name), "FILE:%s", link_);
        cases[n++] = (Case) { "root's ccache (0600)", "" };
        snprintf(cases[n - 1].name, sizeof(cases[0].name), "%s", copy);
        cases[n++] = (Case) { "root's world-readable ccache (another user's)", "" };
        snprintf(cases[n - 1].name, sizeof(cases[0].name), "%s", world);
        cases[n++] = (Case) { "a KCM: ccache", "KCM:0" };
        cases[n++] = (Case) { "a relative path", "krb5cc_0" };

        for (size_t i = 0; i < n; i++) {
                uint64_t t0 = t_now_ms();
                int rc = t_wait_child(t_spawn_as(T_ATTACKER, attacker_acquire, cases[i].name), 10000);
                uint64_t ms = t_now_ms() - t0;

                t_ok(rc == 0 && ms < 2000, "uid 65534, KRB5CCNAME = %s: SEC_E_NO_CREDENTIALS in %llu ms (rc %d)",
                     cases[i].what, (unsigned long long) ms, rc);
        }
        {
                uint64_t t0 = t_now_ms();
                int rc = t_wait_child(t_spawn_as(T_ATTACKER, attacker_acquire, NULL), 10000);
                t_ok(rc == 0, "uid 65534 without KRB5CCNAME (no /tmp/krb5cc_65534): SEC_E_NO_CREDENTIALS in %llu ms",
                     (unsigned long long) (t_now_ms() - t0));
        }
        t_ok(t_wait_child(t_spawn_as(T_ATTACKER, attacker_acquire_negotiate, cases[0].name), 10000) == 0,
             "uid 65534, Negotiate with the FIFO as ccache: no Kerberos credential from it");

        /* The daemon (root) would have entered the directory and opened
         * the FIFO; nobody did. */
        usleep(300 * 1000);
        t_ok(still_blocked(writer), "the FIFO's writer is still blocked: nobody opened the FIFO");

        after_ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(after_ms >= 0 && after_ms < 5000, "victim served after the attack (%ld ms)", after_ms);
        rss1 = t_proc_rss_kib(d.pid);
        cpu1 = t_proc_cpu_ms(d.pid);
        log1 = t_file_size(d.log);
        printf("# victim round: %ld ms before, %ld ms after\n", before_ms, after_ms);
        printf("# daemon: RSS %ld -> %ld KiB, CPU %ld ms, log +%ld bytes\n", rss0, rss1, cpu1 - cpu0, log1 - log0);
        t_ok(rss1 - rss0 < 32 * 1024, "daemon RSS growth bounded (%ld KiB)", rss1 - rss0);
        t_ok(log1 - log0 < 64 * 1024, "daemon log growth bounded (%ld bytes)", log1 - log0);

        /* Positive control 1: the watcher sees a release when a reader
         * comes (what the daemon's open() used to do). */
        {
                int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                int rc = t_wait_child(writer, 2000);
                t_ok(fd >= 0 && rc == 0, "control: a reader opening the FIFO releases its writer at once");
                if (fd >= 0)
                        close(fd);
        }
        /* Positive control 2: root's own kinit ccache still works. */
        {
                CredHandle c, s;
                TimeStamp ts;
                THandshake h;
                char target[600];

                setenv("KRB5CCNAME", root_cc, 1);
                if (t_status(AcquireCredentialsHandleA(NULL, "Kerberos", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL,
                                                       &c, &ts),
                             SEC_E_OK, "control: root's own ccache gives a credential")) {
                        snprintf(target, sizeof(target), "HTTP/localhost@%s", t_realm());
                        if (t_status(t_cred_service(NULL, &s), SEC_E_OK, "root's acceptor")) {
                                t_status(t_handshake(&c, &s, target, ISC_REQ_MUTUAL_AUTH, 0, &h), SEC_E_OK,
                                         "control: handshake from root's own ccache");
                                t_handshake_done(&h);
                                FreeCredentialsHandle(&s);
                        }
                        FreeCredentialsHandle(&c);
                }
                snprintf(target, sizeof(target), "FILE:%s", root_cc);
                setenv("KRB5CCNAME", target, 1);
                if (t_status(AcquireCredentialsHandleA(NULL, "Negotiate", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL,
                                                       &c, &ts),
                             SEC_E_OK, "control: root's own ccache (FILE:) gives a Negotiate credential"))
                        FreeCredentialsHandle(&c);
                unsetenv("KRB5CCNAME");
        }

        unlink(fifo);
        rmdir(root_dir);
        unlink(link_);
        unlink(copy);
        unlink(world);
        rmdir(pub_dir);
        t_daemon_stop(&d);
        return t_done();
}
