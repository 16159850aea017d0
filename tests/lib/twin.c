/* SPDX-License-Identifier: MIT */
#include "twin.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool report(const char *src, bool cond, const char *extra, const char *fmt, va_list ap) {
        char what[512];

        vsnprintf(what, sizeof(what), fmt, ap);
        if (cond || !extra)
                t_ok(cond, "%s [%s]", what, src);
        else
                t_ok(cond, "%s [%s]: %s", what, src, extra);
        return cond;
}

bool w_status(const char *src, SECURITY_STATUS got, SECURITY_STATUS want, const char *fmt, ...) {
        char extra[160];
        va_list ap;
        bool r;

        snprintf(extra, sizeof(extra), "got %s (0x%08x), want %s (0x%08x)", status_name(got), (unsigned) got,
                 status_name(want), (unsigned) want);
        va_start(ap, fmt);
        r = report(src, got == want, extra, fmt, ap);
        va_end(ap);
        return r;
}

bool w_eq(const char *src, unsigned long long got, unsigned long long want, const char *fmt, ...) {
        char extra[96];
        va_list ap;
        bool r;

        snprintf(extra, sizeof(extra), "got %llu (0x%llx), want %llu (0x%llx)", got, got, want, want);
        va_start(ap, fmt);
        r = report(src, got == want, extra, fmt, ap);
        va_end(ap);
        return r;
}

bool w_ok(const char *src, bool cond, const char *fmt, ...) {
        va_list ap;
        bool r;

        va_start(ap, fmt);
        r = report(src, cond, NULL, fmt, ap);
        va_end(ap);
        return r;
}

bool w_async;

const char *w_mode(void) {
        return w_async ? "async" : "sync";
}

static SECURITY_STATUS async_wait(SspiAsyncContext *ac, SECURITY_STATUS queued) {
        SECURITY_STATUS st = queued;

        if (queued == SEC_E_OK)
                while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                        usleep(50);
        SspiFreeAsyncContext(ac);
        return st;
}

SECURITY_STATUS w_acquire_principal(const char *principal, const char *pkg, ULONG use, void *auth, CredHandle *ret) {
        TimeStamp ts;
        SspiAsyncContext *ac;

        if (!w_async)
                return AcquireCredentialsHandleA((SEC_CHAR *) principal, (SEC_CHAR *) pkg, use, NULL, auth, NULL, NULL,
                                                 ret, &ts);
        if (!(ac = SspiCreateAsyncContext()))
                return SEC_E_INSUFFICIENT_MEMORY;
        return async_wait(ac, SspiAcquireCredentialsHandleAsyncA(ac, principal, pkg, use, NULL, auth, NULL, NULL, ret,
                                                                 &ts));
}

SECURITY_STATUS w_acquire(const char *pkg, ULONG use, void *auth, CredHandle *ret) {
        return w_acquire_principal(NULL, pkg, use, auth, ret);
}

SECURITY_STATUS w_isc(CredHandle *cred, CtxtHandle *ctx, const char *target, ULONG req, ULONG drep,
                      SecBufferDesc *in, CtxtHandle *newctx, SecBufferDesc *out, ULONG *attrs) {
        SspiAsyncContext *ac;

        if (!w_async)
                return InitializeSecurityContextA(cred, ctx, (SEC_CHAR *) target, req, 0, drep, in, 0, newctx, out,
                                                  attrs, NULL);
        if (!(ac = SspiCreateAsyncContext()))
                return SEC_E_INSUFFICIENT_MEMORY;
        return async_wait(ac, SspiInitializeSecurityContextAsyncA(ac, cred, ctx, target, req, 0, drep, in, 0, newctx,
                                                                  out, attrs, NULL));
}

SECURITY_STATUS w_asc(CredHandle *cred, CtxtHandle *ctx, SecBufferDesc *in, ULONG req, ULONG drep,
                      CtxtHandle *newctx, SecBufferDesc *out, ULONG *attrs) {
        SspiAsyncContext *ac;

        if (!w_async)
                return AcceptSecurityContext(cred, ctx, in, req, drep, newctx, out, attrs, NULL);
        if (!(ac = SspiCreateAsyncContext()))
                return SEC_E_INSUFFICIENT_MEMORY;
        return async_wait(ac, SspiAcceptSecurityContextAsync(ac, cred, ctx, in, req, drep, newctx, out, attrs, NULL));
}

SEC_WINNT_AUTH_IDENTITY_A w_ident(const char *user, const char *domain, const char *password) {
        return (SEC_WINNT_AUTH_IDENTITY_A) { (unsigned char *) user, user ? (ULONG) strlen(user) : 0,
                                             (unsigned char *) domain, domain ? (ULONG) strlen(domain) : 0,
                                             (unsigned char *) password, password ? (ULONG) strlen(password) : 0,
                                             SEC_WINNT_AUTH_IDENTITY_ANSI };
}
