/* SPDX-License-Identifier: MIT */
/*
 * Handles are per connection: a handle used from another process (a forked
 * child has its own connection), from a process of another uid, after it
 * was freed, as the wrong kind, forged, or from before a daemon restart,
 * gets SEC_E_INVALID_HANDLE from every function that takes one.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define NOBODY 65534

typedef struct Handles {
        CredHandle cred;        /* outbound */
        CredHandle scred;       /* inbound */
        CtxtHandle ctx;         /* complete client context */
        CtxtHandle sctx;        /* complete server context */
} Handles;

/* Every function that takes a handle, with harmless arguments; returns the
 * number of calls that did not answer SEC_E_INVALID_HANDLE. */
static int all_calls(const char *who, CredHandle *cred, CredHandle *scred, CtxtHandle *ctx, CtxtHandle *sctx) {
        uint8_t tok[12000], data[16] = "0123456789abcdef";
        SecBuffer b[2] = { { sizeof(tok), SECBUFFER_TOKEN, tok }, { sizeof(data), SECBUFFER_DATA, data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok }, ib = { 16, SECBUFFER_TOKEN, data };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob }, id = { SECBUFFER_VERSION, 1, &ib };
        SecPkgContext_Sizes sz;
        SecPkgCredentials_NamesA cn;
        SecBuffer packed;
        CtxtHandle newctx;
        ULONG attrs, qop;
        int bad = 0;
        struct {
                const char *name;
                SECURITY_STATUS st;
        } r[] = {
                { "QueryCredentialsAttributes", QueryCredentialsAttributesA(cred, SECPKG_CRED_ATTR_NAMES, &cn) },
                { "InitializeSecurityContext(cred)",
                  InitializeSecurityContextA(cred, NULL, "HTTP/localhost", 0, 0, 0, NULL, 0, &newctx, &od, &attrs,
                                             NULL) },
                { "InitializeSecurityContext(ctx)",
                  InitializeSecurityContextA(NULL, ctx, "HTTP/localhost", 0, 0, 0, &id, 0, &newctx, &od, &attrs,
                                             NULL) },
                { "AcceptSecurityContext(cred)",
                  AcceptSecurityContext(scred, NULL, &id, 0, 0, &newctx, &od, &attrs, NULL) },
                { "AcceptSecurityContext(ctx)", AcceptSecurityContext(NULL, sctx, &id, 0, 0, &newctx, &od, &attrs, NULL) },
                { "CompleteAuthToken", CompleteAuthToken(ctx, &id) },
                { "QueryContextAttributes", QueryContextAttributesA(ctx, SECPKG_ATTR_SIZES, &sz) },
                { "MakeSignature", MakeSignature(ctx, 0, &d, 0) },
                { "VerifySignature", VerifySignature(sctx, &d, 0, &qop) },
                { "EncryptMessage", EncryptMessage(ctx, 0, &d, 0) },
                { "DecryptMessage", DecryptMessage(sctx, &d, 0, &qop) },
                { "ExportSecurityContext", ExportSecurityContext(ctx, 0, &packed, NULL) },
                { "DeleteSecurityContext", DeleteSecurityContext(ctx) },
                { "DeleteSecurityContext(server)", DeleteSecurityContext(sctx) },
                { "FreeCredentialsHandle", FreeCredentialsHandle(cred) },
                { "FreeCredentialsHandle(inbound)", FreeCredentialsHandle(scred) },
        };
        for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
                if (!t_status(r[i].st, SEC_E_INVALID_HANDLE, "%s: %s", who, r[i].name))
                        bad++;

        /* The async entry points: queued fine, completed with INVALID_HANDLE. */
        SspiAsyncContext *ac = SspiCreateAsyncContext();
        SECURITY_STATUS st;
        struct {
                const char *name;
                int which;
        } a[] = { { "SspiFreeCredentialsHandleAsync", 0 },
                  { "SspiDeleteSecurityContextAsync", 1 },
                  { "SspiInitializeSecurityContextAsyncA", 2 },
                  { "SspiAcceptSecurityContextAsync", 3 } };
        for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
                SspiReinitAsyncContext(ac);
                switch (a[i].which) {
                case 0:
                        st = SspiFreeCredentialsHandleAsync(ac, cred);
                        break;
                case 1:
                        st = SspiDeleteSecurityContextAsync(ac, ctx);
                        break;
                case 2:
                        st = SspiInitializeSecurityContextAsyncA(ac, cred, NULL, "HTTP/localhost", 0, 0, 0, NULL, 0,
                                                                 &newctx, &od, &attrs, NULL);
                        break;
                default:
                        st = SspiAcceptSecurityContextAsync(ac, scred, NULL, &id, 0, 0, &newctx, &od, &attrs, NULL);
                        break;
                }
                if (!t_status(st, SEC_E_OK, "%s: %s queued", who, a[i].name))
                        bad++;
                while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                        usleep(200);
                if (!t_status(st, SEC_E_INVALID_HANDLE, "%s: %s completes", who, a[i].name))
                        bad++;
        }
        SspiFreeAsyncContext(ac);
        return bad;
}

static void make_handles(Handles *h) {
        THandshake hs;

        t_status(t_cred_password("alice", "alice-pw-1", &h->cred), SEC_E_OK, "alice credential");
        t_status(t_cred_service("HTTP/localhost", &h->scred), SEC_E_OK, "service credential");
        t_status(t_handshake(&h->cred, &h->scred, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, &hs), SEC_E_OK,
                 "handshake");
        h->ctx = hs.client;
        h->sctx = hs.server;
}

int main(void) {
        Handles h, gone;
        pid_t pid;
        int status;
        SECURITY_STATUS st;
        SecPkgContext_Sizes sz;

        make_handles(&h);

        /* 1. A forked child: same handle values, its own connection. */
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                t_passed = t_failed = 0;
                int bad = all_calls("forked child", &h.cred, &h.scred, &h.ctx, &h.sctx);
                _exit(bad > 100 ? 100 : bad);
        }
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "forked child got INVALID_HANDLE everywhere (%d misses)",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);

        /* 1b. Another uid: a child that became nobody uses the parent's
         * handle values on a connection of its own. Same answer, nothing
         * else: no hint that the handles exist for someone else. */
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                t_passed = t_failed = 0;
                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(101);
                int bad = all_calls("uid 65534", &h.cred, &h.scred, &h.ctx, &h.sctx);
                _exit(bad > 100 ? 100 : bad);
        }
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "a process of another uid got INVALID_HANDLE everywhere (%d misses)",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);

        /* The parent's handles still work after the child's attempts. */
        t_status(QueryContextAttributesA(&h.ctx, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "parent's context still valid");

        /* 2. Wrong kind: a credential handle where a context is expected and back. */
        t_status(QueryContextAttributesA((CtxtHandle *) &h.cred, SECPKG_ATTR_SIZES, &sz), SEC_E_INVALID_HANDLE,
                 "credential handle used as a context");
        t_status(FreeCredentialsHandle((CredHandle *) &h.ctx), SEC_E_INVALID_HANDLE,
                 "context handle used as a credential");
        /* 3. Forged: right id, wrong tag; random values. */
        CtxtHandle forged = h.ctx;
        forged.dwLower ^= 1ull << 40;
        t_status(QueryContextAttributesA(&forged, SECPKG_ATTR_SIZES, &sz), SEC_E_INVALID_HANDLE, "tag changed");
        forged = (CtxtHandle) { 0x1234, 0x5678 };
        t_status(QueryContextAttributesA(&forged, SECPKG_ATTR_SIZES, &sz), SEC_E_INVALID_HANDLE, "made-up handle");
        forged = h.ctx;
        SecInvalidateHandle(&forged);
        t_status(QueryContextAttributesA(&forged, SECPKG_ATTR_SIZES, &sz), SEC_E_INVALID_HANDLE, "invalidated handle");

        /* 4. Freed handles, in this very process. */
        gone = h;
        t_status(DeleteSecurityContext(&h.ctx), SEC_E_OK, "delete client context");
        t_status(DeleteSecurityContext(&h.sctx), SEC_E_OK, "delete server context");
        t_status(FreeCredentialsHandle(&h.cred), SEC_E_OK, "free credential");
        t_status(FreeCredentialsHandle(&h.scred), SEC_E_OK, "free service credential");
        t_ok(all_calls("after free", &gone.cred, &gone.scred, &gone.ctx, &gone.sctx) == 0,
             "freed handles are INVALID_HANDLE everywhere");

        /* 5. Handles from before a daemon restart. */
        make_handles(&h);
        const char *env = getenv("SSPID_TESTENV"), *top = getenv("SSPID_TOP");
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "%s/tests/tools/testenv.sh restart-daemon %s >/dev/null 2>&1", top ? top : ".",
                 env ? env : ".");
        if (t_ok(env && system(cmd) == 0, "daemon restarted"), 1) {
                st = QueryContextAttributesA(&h.ctx, SECPKG_ATTR_SIZES, &sz);
                t_status(st, SEC_E_INVALID_HANDLE, "context handle from before the restart");
                t_status(FreeCredentialsHandle(&h.cred), SEC_E_INVALID_HANDLE, "credential from before the restart");
        }
        return t_done();
}
