/* SPDX-License-Identifier: MIT */
/*
 * Impersonation the Linux way (issue 17 item 1): QuerySecurityContextToken,
 * SECPKG_ATTR_ACCESS_TOKEN, ImpersonateSecurityContext and
 * RevertSecurityContext on contexts accepted from the test realm (Kerberos,
 * Negotiate, through the sync and the Sspi*Async handshake) and from the
 * NTLM test store. The client alice maps to a local account "alice" that the
 * test creates (and removes) when the host has none, with a supplementary
 * group of its own. Runs as root: it checks file ownership and access as
 * the kernel sees them, and drops to uid 65534 in a child for the
 * unprivileged caller.
 *
 * ImpersonateSecurityContext has no Sspi*Async twin (sspi.h's async family:
 * Acquire, Initialize, Accept, Free, Delete), so the async part is the
 * handshake whose context is then impersonated.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"
#include "testlib.h"

#define TARGET "HTTP/localhost"
#define USER "alice"
#define GROUP "sspitest-imp"

static char dir[] = "/tmp/sspi-imp-XXXXXX";
static bool created_user, created_group;
static uid_t a_uid;
static gid_t a_gid, g_gid;

static bool t_ok_daemon(bool started) {
        t_ok(started, "a private daemon granting HTTP/localhost to uid 65534 and alice starts");
        return started;
}

static int sh(const char *cmd) {
        int r = system(cmd);
        return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* The local account alice (created when missing) in a group of the test's. */
static bool setup_account(void) {
        struct passwd *pw;
        struct group *gr;
        char cmd[256];

        if (!getgrnam(GROUP)) {
                if (sh("groupadd " GROUP) != 0)
                        return false;
                created_group = true;
        }
        if (!getpwnam(USER)) {
                if (sh("useradd -M -U -s /usr/sbin/nologin " USER) != 0)
                        return false;
                created_user = true;
        }
        snprintf(cmd, sizeof(cmd), "gpasswd -a %s %s >/dev/null", USER, GROUP);
        if (sh(cmd) != 0)
                return false;
        pw = getpwnam(USER);
        gr = getgrnam(GROUP);
        if (!pw || !gr)
                return false;
        a_uid = pw->pw_uid;
        a_gid = pw->pw_gid;
        g_gid = gr->gr_gid;
        return a_uid != 0;
}

static void cleanup_account(void) {
        if (created_user)
                (void) sh("userdel " USER);
        else
                (void) sh("gpasswd -d " USER " " GROUP " >/dev/null");
        if (created_group)
                (void) sh("groupdel " GROUP);
}

static uid_t thread_fsuid(void) {
        return (uid_t) syscall(SYS_setfsuid, (uid_t) -1);
}

static bool owner_is(const char *name, uid_t uid, gid_t gid, const char *what) {
        char path[256];
        struct stat st;
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) {
                t_ok(false, "%s: create %s: %s", what, name, strerror(errno));
                return false;
        }
        close(fd);
        if (stat(path, &st) < 0)
                return false;
        t_ok(st.st_uid == uid && st.st_gid == gid, "%s: %s belongs to %u:%u (want %u:%u)", what, name,
             (unsigned) st.st_uid, (unsigned) st.st_gid, (unsigned) uid, (unsigned) gid);
        return st.st_uid == uid && st.st_gid == gid;
}

/* Whether this thread may read DIR/name now. */
static int can_read(const char *name) {
        char path[256];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_RDONLY);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

static void make_file(const char *name, uid_t uid, gid_t gid, mode_t mode) {
        char path[256];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
        if (fd >= 0)
                close(fd);
        if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
                t_ok(false, "setup: %s", path);
}

/* ---- the other thread: runs while the main thread impersonates ---- */

typedef struct Other {
        pthread_mutex_t m;
        pthread_cond_t c;
        int step; /* 1: main impersonates, go; 2: done */
        uid_t fsuid;
        int n_groups;
        bool file_ok;
} Other;

static void *other_thread(void *p) {
        Other *o = p;

        pthread_mutex_lock(&o->m);
        while (o->step < 1)
                pthread_cond_wait(&o->c, &o->m);
        pthread_mutex_unlock(&o->m);
        o->fsuid = thread_fsuid();
        o->n_groups = getgroups(0, NULL);
        o->file_ok = owner_is("other-thread", 0, 0, "another thread while the main one impersonates");
        pthread_mutex_lock(&o->m);
        o->step = 2;
        pthread_cond_broadcast(&o->c);
        pthread_mutex_unlock(&o->m);
        return NULL;
}

static CtxtHandle *live_ctx;
static SECURITY_STATUS thread_call_st;

static void *fsuid_thread(void *p) {
        SecPkgContext_Flags f;
        (void) p;
        /* It has alice's groups, the process has not changed: the library
         * keeps its connection and handles. */
        thread_call_st = QueryContextAttributesA(live_ctx, SECPKG_ATTR_FLAGS, &f);
        return (void *) (uintptr_t) thread_fsuid();
}

/* Token contents against NSS as the test reads it. */
static void check_token(HANDLE tok, const char *what) {
        SSPI_TOKEN_INFORMATION ti;
        gid_t want[256];
        int n = 256;
        bool all = true, has_g = false;

        if (!t_status(SspiQueryTokenInformation(tok, &ti), SEC_E_OK, "%s: SspiQueryTokenInformation", what))
                return;
        t_ok(ti.UserName && !strcmp(ti.UserName, USER), "%s: UserName %s", what, ti.UserName ? ti.UserName : "(null)");
        t_ok(ti.Uid == a_uid && ti.Gid == a_gid, "%s: uid %u gid %u (want %u %u)", what, ti.Uid, ti.Gid,
             (unsigned) a_uid, (unsigned) a_gid);
        if (getgrouplist(USER, a_gid, want, &n) < 0)
                n = -1;
        t_ok((int) ti.GroupCount == n, "%s: %u groups, getgrouplist gives %d", what, ti.GroupCount, n);
        for (int i = 0; i < n && i < (int) ti.GroupCount; i++) {
                bool found = false;
                for (ULONG k = 0; k < ti.GroupCount; k++)
                        found |= ti.Groups[k] == want[i];
                all &= found;
        }
        for (ULONG k = 0; k < ti.GroupCount; k++)
                has_g |= ti.Groups[k] == g_gid;
        t_ok(all && has_g, "%s: the groups are getgrouplist's, " GROUP " among them", what);

        /* Its SIDs: no domain, so Samba's Unix SIDs (S-1-22-1-uid, the
         * primary group S-1-22-2-gid first) and the well-known groups of a
         * network logon (Microsoft docs: Well-known SIDs). */
        {
                uint8_t buf[8192] __attribute__((aligned(16)));
                char want_sid[64], *str = NULL;
                ULONG need = 0;
                bool g_sid = false, everyone = false;

                if (t_status(SspiGetTokenInformation(tok, TokenUser, buf, sizeof(buf), &need), SEC_E_OK,
                             "%s: SspiGetTokenInformation(TokenUser)", what) &&
                    SspiConvertSidToStringSidA(((TOKEN_USER *) buf)->User.Sid, &str) == SEC_E_OK) {
                        snprintf(want_sid, sizeof(want_sid), "S-1-22-1-%u", (unsigned) a_uid);
                        t_ok(!strcmp(str, want_sid), "%s: TokenUser %s (got %s)", what, want_sid, str);
                        FreeContextBuffer(str);
                }
                if (t_status(SspiGetTokenInformation(tok, TokenGroups, buf, sizeof(buf), &need), SEC_E_OK,
                             "%s: SspiGetTokenInformation(TokenGroups)", what)) {
                        TOKEN_GROUPS *tg = (TOKEN_GROUPS *) buf;
                        snprintf(want_sid, sizeof(want_sid), "S-1-22-2-%u", (unsigned) g_gid);
                        for (DWORD i = 0; i < tg->GroupCount; i++) {
                                if (SspiConvertSidToStringSidA(tg->Groups[i].Sid, &str) != SEC_E_OK)
                                        continue;
                                g_sid |= !strcmp(str, want_sid);
                                everyone |= !strcmp(str, "S-1-1-0") && tg->Groups[i].Attributes == 7;
                                FreeContextBuffer(str);
                        }
                        t_ok(g_sid && everyone, "%s: TokenGroups holds %s (" GROUP ") and Everyone", what, want_sid);
                }
        }
}

/* The impersonation checks on an accepted context, in one thread with a
 * second one running beside it. */
static void impersonate_once(CtxtHandle *server, const char *tag) {
        char name[64], what[128];
        pthread_t th;
        Other o = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, false };
        int root_groups = getgroups(0, NULL);

        /* Started before: a thread created while impersonating inherits
         * the identity (clone() copies the creator's credentials). */
        pthread_create(&th, NULL, other_thread, &o);
        if (!t_status(ImpersonateSecurityContext(server), SEC_E_OK, "%s: ImpersonateSecurityContext", tag)) {
                pthread_mutex_lock(&o.m);
                o.step = 1;
                pthread_cond_broadcast(&o.c);
                pthread_mutex_unlock(&o.m);
                pthread_join(th, NULL);
                return;
        }
        snprintf(what, sizeof(what), "%s: impersonating", tag);
        t_ok(thread_fsuid() == a_uid, "%s: the thread's fsuid is alice's", what);
        snprintf(name, sizeof(name), "as-client-%s", tag);
        owner_is(name, a_uid, a_gid, what);
        /* Checked as the client: no root override, the client's groups. */
        t_ok(can_read("root-only") == -EACCES, "%s: a root-only file is refused (%d)", what, can_read("root-only"));
        t_ok(can_read("group-only") == 0, "%s: a file of alice's supplementary group is readable", what);

        pthread_mutex_lock(&o.m);
        o.step = 1;
        pthread_cond_broadcast(&o.c);
        while (o.step < 2)
                pthread_cond_wait(&o.c, &o.m);
        pthread_mutex_unlock(&o.m);
        pthread_join(th, NULL);
        t_ok(o.fsuid == 0 && o.n_groups == root_groups, "%s: the other thread kept fsuid 0 and its %d groups (%u, %d)",
             tag, root_groups, (unsigned) o.fsuid, o.n_groups);

        /* A thread started now inherits the client's identity: Linux copies
         * the creator's credentials (sspi.h says so; Windows differs). */
        {
                pthread_t t2;
                void *fsuid = NULL;
                SecPkgContext_Flags f;
                t_status(QueryContextAttributesA(server, SECPKG_ATTR_FLAGS, &f), SEC_E_OK,
                         "%s: an SSPI call while impersonating (the connection stays)", tag);
                live_ctx = server;
                pthread_create(&t2, NULL, fsuid_thread, NULL);
                pthread_join(t2, &fsuid);
                t_ok((uid_t) (uintptr_t) fsuid == a_uid, "%s: a thread created while impersonating has fsuid %u",
                     tag, (unsigned) (uintptr_t) fsuid);
                t_status(thread_call_st, SEC_E_OK, "%s: that thread's SSPI call keeps the connection", tag);
        }

        /* Again while impersonating: replaces, one revert is enough. */
        t_status(ImpersonateSecurityContext(server), SEC_E_OK, "%s: ImpersonateSecurityContext again", tag);
        t_status(RevertSecurityContext(server), SEC_E_OK, "%s: RevertSecurityContext", tag);
        t_ok(thread_fsuid() == 0 && getgroups(0, NULL) == root_groups, "%s: reverted: fsuid 0 and the own groups", tag);
        {
                /* Only now: the sticky directory keeps alice from removing
                 * root's file. */
                char p[256];
                snprintf(p, sizeof(p), "%s/other-thread", dir);
                t_ok(unlink(p) == 0, "%s: reverted: root's file of the other thread can be removed", tag);
        }
        snprintf(name, sizeof(name), "after-revert-%s", tag);
        owner_is(name, 0, 0, tag);
        t_ok(can_read("root-only") == 0, "%s: reverted: the root-only file is readable again", tag);
        t_status(RevertSecurityContext(server), SEC_E_OK, "%s: RevertSecurityContext with nothing to revert", tag);
}

/* Query, access token, impersonation and deletion of one accepted context. */
static void check_context(THandshake *h, const char *tag) {
        HANDLE tok = (HANDLE) 0x1, tok2 = NULL;
        SecPkgContext_AccessToken at = { NULL }, at2 = { NULL };
        SSPI_TOKEN_INFORMATION ti;
        CtxtHandle dead;

        if (t_status(QuerySecurityContextToken(&h->server, &tok), SEC_E_OK, "%s: QuerySecurityContextToken", tag)) {
                check_token(tok, tag);
                t_status(QuerySecurityContextToken(&h->server, &tok2), SEC_E_OK, "%s: a second token", tag);
                t_ok(tok2 && tok2 != tok, "%s: each QuerySecurityContextToken is a new handle", tag);
                t_ok(SspiCloseTokenHandle(tok2) == 1, "%s: SspiCloseTokenHandle", tag);
                t_ok(SspiCloseTokenHandle(tok2) == 0 && errno == EBADF, "%s: closing twice: FALSE, EBADF", tag);
                t_status(SspiQueryTokenInformation(tok2, &ti), SEC_E_INVALID_HANDLE, "%s: a closed token", tag);
        }
        if (t_status(QueryContextAttributesA(&h->server, SECPKG_ATTR_ACCESS_TOKEN, &at), SEC_E_OK,
                     "%s: SECPKG_ATTR_ACCESS_TOKEN", tag)) {
                check_token(at.AccessToken, tag);
                t_status(QueryContextAttributesW(&h->server, SECPKG_ATTR_ACCESS_TOKEN, &at2), SEC_E_OK,
                         "%s: SECPKG_ATTR_ACCESS_TOKEN again (W)", tag);
                t_ok(at2.AccessToken == at.AccessToken && at.AccessToken != tok,
                     "%s: ACCESS_TOKEN is the context's one handle", tag);
                t_ok(SspiCloseTokenHandle(at.AccessToken) == 0 && errno == EBADF,
                     "%s: the context's token cannot be closed by the caller", tag);
        }
        t_status(QuerySecurityContextToken(&h->client, &tok2), SEC_E_NO_IMPERSONATION,
                 "%s: a client context has no token", tag);
        t_status(ImpersonateSecurityContext(&h->client), SEC_E_NO_IMPERSONATION,
                 "%s: a client context cannot be impersonated", tag);

        impersonate_once(&h->server, tag);

        dead = h->server;
        t_handshake_done(h);
        t_status(QuerySecurityContextToken(&dead, &tok2), SEC_E_INVALID_HANDLE, "%s: deleted context", tag);
        t_status(ImpersonateSecurityContext(&dead), SEC_E_INVALID_HANDLE, "%s: impersonate a deleted context", tag);
        t_status(RevertSecurityContext(&dead), SEC_E_INVALID_HANDLE, "%s: revert with a deleted context", tag);
        if (at.AccessToken)
                t_status(SspiQueryTokenInformation(at.AccessToken, &ti), SEC_E_INVALID_HANDLE,
                         "%s: the ACCESS_TOKEN handle went with its context", tag);
        if (tok != (HANDLE) 0x1) {
                /* QuerySecurityContextToken's outlives the context. */
                t_status(SspiQueryTokenInformation(tok, &ti), SEC_E_OK, "%s: the own token outlives its context", tag);
                t_ok(SspiCloseTokenHandle(tok) == 1, "%s: close it", tag);
        }
}

static SECURITY_STATUS ntlm_creds(const char *user, const char *pw, CredHandle *c, CredHandle *s) {
        TimeStamp ts;
        SECURITY_STATUS st = t_cred_identity("NTLM", user, "SSPID", pw, c);
        if (st != SEC_E_OK)
                return st;
        return AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, s, &ts);
}

/* Child: uid 65534, no capabilities, connecting anew to a private daemon
 * that grants the HTTP/localhost key to 65534 (the library drops a
 * connection whose process changed its uid, so the child cannot keep
 * root's handles). */
static int unprivileged_child(void) {
        CredHandle c, s;
        THandshake h;
        HANDLE tok = NULL;

        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
                t_ok(false, "child: drop to 65534");
                return 1;
        }
        t_ok(getuid() == 65534 && geteuid() == 65534, "child: runs as uid 65534");
        if (!t_status(t_cred_password(USER, "alice-pw-1", &c), SEC_E_OK, "uid 65534: alice's credential") ||
            !t_status(t_cred_service(NULL, &s), SEC_E_OK, "uid 65534: service credential (granted to 65534)") ||
            !t_status(t_handshake(&c, &s, TARGET, 0, 0, &h), SEC_E_OK, "uid 65534: Kerberos handshake"))
                return 1;
        t_status(ImpersonateSecurityContext(&h.server), SEC_E_NO_IMPERSONATION,
                 "uid 65534 without CAP_SETUID/CAP_SETGID: SEC_E_NO_IMPERSONATION");
        t_ok(thread_fsuid() == 65534 && getgroups(0, NULL) == 0, "uid 65534: the thread is unchanged after the refusal");
        /* Naming the client needs no privilege (it is what getpwnam says). */
        if (t_status(QuerySecurityContextToken(&h.server, &tok), SEC_E_OK, "uid 65534: QuerySecurityContextToken")) {
                check_token(tok, "uid 65534");
                SspiCloseTokenHandle(tok);
        }
        t_status(RevertSecurityContext(&h.server), SEC_E_OK, "uid 65534: RevertSecurityContext");
        t_handshake_done(&h);
        FreeCredentialsHandle(&c);
        FreeCredentialsHandle(&s);
        return t_failed ? 1 : 0;
}

/* Child: alice herself (uid, gid and groups), on the same private daemon.
 * Impersonating a client who is the caller needs no privilege on Windows
 * ("the authenticated identity is same as the caller"), nor here. */
static int same_user_child(void) {
        CredHandle c, s;
        THandshake h;
        char path[256];
        struct stat st;
        int fd;

        if (initgroups(USER, a_gid) < 0 || setgid(a_gid) < 0 || setuid(a_uid) < 0) {
                t_ok(false, "child: become alice");
                return 1;
        }
        if (!t_status(t_cred_password(USER, "alice-pw-1", &c), SEC_E_OK, "as alice: alice's credential") ||
            !t_status(t_cred_service(NULL, &s), SEC_E_OK, "as alice: service credential (granted to alice)") ||
            !t_status(t_handshake(&c, &s, TARGET, 0, 0, &h), SEC_E_OK, "as alice: Kerberos handshake"))
                return 1;
        t_status(ImpersonateSecurityContext(&h.server), SEC_E_OK,
                 "alice, unprivileged, impersonates alice: SEC_E_OK (the client is the caller)");
        snprintf(path, sizeof(path), "%s/same-user", dir);
        fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        t_ok(fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == a_uid && st.st_gid == a_gid,
             "as alice impersonating alice: the file is alice's");
        if (fd >= 0)
                close(fd);
        t_status(RevertSecurityContext(&h.server), SEC_E_OK, "as alice: RevertSecurityContext");
        t_ok(thread_fsuid() == a_uid, "as alice: still alice after the revert");
        t_handshake_done(&h);
        FreeCredentialsHandle(&c);
        FreeCredentialsHandle(&s);
        return t_failed ? 1 : 0;
}

int main(void) {
        CredHandle kc = { 0 }, ks = { 0 }, nc, ns;
        THandshake h;
        pid_t pid;
        int status;
        HANDLE tok = NULL;

        if (geteuid() != 0) {
                t_ok(false, "test_impersonate must run as root (it creates an account and checks file owners)");
                return t_done();
        }
        if (!mkdtemp(dir) || chmod(dir, 01777) < 0) {
                t_ok(false, "setup: %s", dir);
                return t_done();
        }
        if (!setup_account()) {
                t_ok(false, "setup: local account " USER " in group " GROUP);
                cleanup_account();
                return t_done();
        }
        make_file("root-only", 0, 0, 0600);
        make_file("group-only", 0, g_gid, 0640);

        /* Kerberos, sync: alice@REALM → alice by the default auth_to_local. */
        if (t_status(t_cred_password(USER, "alice-pw-1", &kc), SEC_E_OK, "alice's Kerberos credential") &&
            t_status(t_cred_service(NULL, &ks), SEC_E_OK, "service credential")) {
                if (t_status(t_handshake(&kc, &ks, TARGET, ISC_REQ_MUTUAL_AUTH, 0, &h), SEC_E_OK, "Kerberos handshake"))
                        check_context(&h, "Kerberos");
                else
                        t_handshake_done(&h);
        }

        /* Kerberos through the Sspi*Async handshake. */
        if (t_status(t_handshake_async("Kerberos", NULL, &kc, &ks, TARGET, ISC_REQ_MUTUAL_AUTH, 0, &h), SEC_E_OK,
                     "Kerberos handshake through Sspi*Async"))
                check_context(&h, "Kerberos-async");
        else
                t_handshake_done(&h);

        /* Negotiate picks Kerberos: the same account. */
        {
                CredHandle gc, gs;
                TimeStamp ts;
                if (t_status(t_cred_identity("Negotiate", USER, t_realm(), "alice-pw-1", &gc), SEC_E_OK,
                             "alice's Negotiate credential") &&
                    t_status(AcquireCredentialsHandleA(NULL, "Negotiate", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL,
                                                       &gs, &ts),
                             SEC_E_OK, "Negotiate service credential")) {
                        if (t_status(t_handshake(&gc, &gs, TARGET, ISC_REQ_MUTUAL_AUTH, 0, &h), SEC_E_OK,
                                     "Negotiate handshake"))
                                check_context(&h, "Negotiate");
                        else
                                t_handshake_done(&h);
                        FreeCredentialsHandle(&gc);
                        FreeCredentialsHandle(&gs);
                }
        }

        /* bob@REALM has no local account: the documented refusal. */
        {
                CredHandle bc;
                SecPkgContext_AccessToken at = { NULL };
                t_ok(getpwnam("bob") == NULL, "precondition: the host has no account bob");
                if (t_status(t_cred_password("bob", "bob-pw-2", &bc), SEC_E_OK, "bob's credential")) {
                        if (t_status(t_handshake(&bc, &ks, TARGET, 0, 0, &h), SEC_E_OK, "bob's handshake")) {
                                tok = (HANDLE) 0x1;
                                t_status(QuerySecurityContextToken(&h.server, &tok), SEC_E_NO_IMPERSONATION,
                                         "bob, no local account: QuerySecurityContextToken");
                                t_ok(tok == (HANDLE) 0x1, "bob: *Token left alone");
                                t_status(ImpersonateSecurityContext(&h.server), SEC_E_NO_IMPERSONATION,
                                         "bob, no local account: ImpersonateSecurityContext");
                                t_ok(thread_fsuid() == 0, "bob: the thread is unchanged");
                                t_status(QueryContextAttributesA(&h.server, SECPKG_ATTR_ACCESS_TOKEN, &at),
                                         SEC_E_NO_IMPERSONATION, "bob: SECPKG_ATTR_ACCESS_TOKEN");
                        }
                        t_handshake_done(&h);
                        FreeCredentialsHandle(&bc);
                }
        }

        /* A context still in its handshake answers as NAMES does. */
        {
                uint8_t buf[12288];
                SecBuffer ob = { sizeof(buf), SECBUFFER_TOKEN, buf };
                SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
                CtxtHandle part;
                ULONG attrs;
                if (t_status(InitializeSecurityContextA(&kc, NULL, TARGET, ISC_REQ_MUTUAL_AUTH, 0, SECURITY_NATIVE_DREP,
                                                        NULL, 0, &part, &od, &attrs, NULL),
                             SEC_I_CONTINUE_NEEDED, "a partial Kerberos client context")) {
                        t_status(QuerySecurityContextToken(&part, &tok), SEC_E_INVALID_HANDLE, "partial: no token");
                        t_status(ImpersonateSecurityContext(&part), SEC_E_INVALID_HANDLE, "partial: no impersonation");
                        DeleteSecurityContext(&part);
                }
        }
        t_status(QuerySecurityContextToken(NULL, &tok), SEC_E_INVALID_HANDLE, "NULL handle");
        t_status(ImpersonateSecurityContext(NULL), SEC_E_INVALID_HANDLE, "Impersonate: NULL handle");
        t_status(RevertSecurityContext(NULL), SEC_E_INVALID_HANDLE, "Revert: NULL handle");
        t_ok(SspiCloseTokenHandle(&kc) == 0 && errno == EBADF, "SspiCloseTokenHandle of something else: EBADF");

        /* NTLM from the local store: SSPID\alice → alice (SSPID is the store's domain). */
        if (t_status(ntlm_creds(USER, "alice-pw-1", &nc, &ns), SEC_E_OK, "NTLM credentials")) {
                if (t_status(t_handshake(&nc, &ns, TARGET, 0, 0, &h), SEC_E_OK, "NTLM handshake"))
                        check_context(&h, "NTLM");
                else
                        t_handshake_done(&h);
                FreeCredentialsHandle(&nc);
                FreeCredentialsHandle(&ns);
        }
        /* ... and through the Sspi*Async calls. */
        {
                SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) USER, 5, (unsigned char *) "SSPID", 5,
                                                 (unsigned char *) "alice-pw-1", 10, SEC_WINNT_AUTH_IDENTITY_ANSI };
                CredHandle ac = { 0 }, as = { 0 };
                if (t_status(t_handshake_async("NTLM", &id, &ac, &as, TARGET, 0, 0, &h), SEC_E_OK,
                             "NTLM handshake through Sspi*Async"))
                        check_context(&h, "NTLM-async");
                else
                        t_handshake_done(&h);
                FreeCredentialsHandle(&ac);
                FreeCredentialsHandle(&as);
        }

        /* The unprivileged caller, on a private daemon whose config adds an
         * acceptor grant for 65534 (the keys go after [daemon]; the world's
         * [daemon] keys follow under a second [daemon] header). */
        {
                TDaemon d;
                char keys[1024];
                snprintf(keys, sizeof(keys),
                         "\n[acceptor imp65534]\nprincipal = HTTP/localhost@%s\nkeytab = %s/service.keytab\n"
                         "allow = 65534 %u\n\n[daemon]",
                         t_realm(), t_realm_dir(), (unsigned) a_uid);
                if (t_ok_daemon(t_daemon_start(&d, keys, NULL))) {
                        fflush(stdout);
                        pid = fork();
                        if (pid == 0) {
                                int rc = unprivileged_child();
                                fflush(stdout);
                                _exit(rc);
                        }
                        t_ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                                     WEXITSTATUS(status) == 0,
                             "the uid 65534 child's checks passed");
                        fflush(stdout);
                        pid = fork();
                        if (pid == 0) {
                                int rc = same_user_child();
                                fflush(stdout);
                                _exit(rc);
                        }
                        t_ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                                     WEXITSTATUS(status) == 0,
                             "the alice child's checks passed");
                        t_daemon_stop(&d);
                }
        }

        FreeCredentialsHandle(&kc);
        FreeCredentialsHandle(&ks);
        {
                char cmd[300];
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                (void) sh(cmd);
        }
        cleanup_account();
        return t_done();
}
