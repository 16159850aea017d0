/* SPDX-License-Identifier: MIT */
/*
 * ChangeAccountPassword{A,W}: the strings go to the daemon in UTF-8, which
 * asks the package (Kerberos, or Negotiate routing to it). The passwords
 * are wiped from this process's copies as soon as the request is packed.
 * Windows has no asynchronous form of this call.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

typedef struct ChangeState {
        SecBuffer *response;    /* the caller's SECBUFFER_CHANGE_PASS_RESPONSE, or NULL */
} ChangeState;

static SECURITY_STATUS change_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        ChangeState *s = state;
        const Sspiw__ChangePasswordRep *r;
        void *p;

        if (!rep)
                return st;
        if (rep->body_case != SSPIW__ENVELOPE__BODY_CHANGE_PASSWORD_REP)
                return SEC_E_INTERNAL_ERROR;
        r = rep->change_password_rep;
        if (!s->response)
                return st;
        if (!r->has_response) {
                s->response->pvBuffer = NULL;
                s->response->cbBuffer = 0;
                return st;
        }
        if (r->response.len != sizeof(DOMAIN_PASSWORD_INFORMATION))
                return SEC_E_INTERNAL_ERROR;
        p = malloc(r->response.len);
        if (!p)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(p, r->response.data, r->response.len);
        s->response->pvBuffer = p;  /* FreeContextBuffer frees it */
        s->response->cbBuffer = (ULONG) r->response.len;
        return st;
}

static SecBuffer *response_slot(PSecBufferDesc d) {
        for (ULONG i = 0; d && i < d->cBuffers; i++)
                if ((d->pBuffers[i].BufferType & ~SECBUFFER_ATTRMASK) == SECBUFFER_CHANGE_PASS_RESPONSE)
                        return &d->pBuffers[i];
        return NULL;
}

static void wipe_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

/* All strings UTF-8 (NULL: none; passwords NULL mean empty). */
static SECURITY_STATUS change_password(const char *package, const char *domain, const char *account,
                                       const char *old_pw, const char *new_pw, bool impersonating,
                                       ULONG reserved, PSecBufferDesc pOutput) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__ChangePasswordReq c = SSPIW__CHANGE_PASSWORD_REQ__INIT;
        ChangeState s = {};

        if (!package)
                return SEC_E_SECPKG_NOT_FOUND;
        if (pOutput && !desc_valid(pOutput))
                return SEC_E_INVALID_PARAMETER;
        s.response = response_slot(pOutput);
        if (strlen(package) > WIRE_MAX_STRING || (domain && strlen(domain) > WIRE_MAX_IDENTITY_FIELD) ||
            (account && strlen(account) > WIRE_MAX_IDENTITY_FIELD) ||
            (old_pw && strlen(old_pw) > WIRE_MAX_IDENTITY_FIELD) ||
            (new_pw && strlen(new_pw) > WIRE_MAX_IDENTITY_FIELD))
                return SEC_E_INVALID_PARAMETER;
        c.package = (char *) package;
        c.domain = (char *) domain;
        c.account = (char *) account;
        c.has_old_password = true;
        c.old_password.data = (uint8_t *) (old_pw ? old_pw : "");
        c.old_password.len = old_pw ? strlen(old_pw) : 0;
        c.has_new_password = true;
        c.new_password.data = (uint8_t *) (new_pw ? new_pw : "");
        c.new_password.len = new_pw ? strlen(new_pw) : 0;
        c.impersonating = impersonating;
        c.reserved = reserved;
        c.want_response = s.response != NULL;
        req.body_case = SSPIW__ENVELOPE__BODY_CHANGE_PASSWORD;
        req.change_password = &c;
        return call_run(NULL, &req, change_finish, &s, sizeof(s));
}

/* ANSI strings are UTF-8 here (as in identities); anything else is refused
 * before it could reach the wire. */
static bool ansi_ok(const char *s) {
        return !s || wire_utf8_valid(s, strlen(s));
}

_public_ SECURITY_STATUS ChangeAccountPasswordA(const SEC_CHAR *pszPackageName, const SEC_CHAR *pszDomainName,
                                                const SEC_CHAR *pszAccountName, const SEC_CHAR *pszOldPassword,
                                                const SEC_CHAR *pszNewPassword, BOOLEAN bImpersonating,
                                                ULONG dwReserved, PSecBufferDesc pOutput) {
        if (!pszPackageName)
                return SEC_E_SECPKG_NOT_FOUND;
        if (!ansi_ok(pszPackageName) || !ansi_ok(pszDomainName) || !ansi_ok(pszAccountName) ||
            !ansi_ok(pszOldPassword) || !ansi_ok(pszNewPassword))
                return SEC_E_INVALID_PARAMETER;
        return change_password(pszPackageName, pszDomainName, pszAccountName, pszOldPassword, pszNewPassword,
                               bImpersonating, dwReserved, pOutput);
}

_public_ SECURITY_STATUS ChangeAccountPasswordW(const SEC_WCHAR *pszPackageName, const SEC_WCHAR *pszDomainName,
                                                const SEC_WCHAR *pszAccountName, const SEC_WCHAR *pszOldPassword,
                                                const SEC_WCHAR *pszNewPassword, BOOLEAN bImpersonating,
                                                ULONG dwReserved, PSecBufferDesc pOutput) {
        char *package = NULL, *domain = NULL, *account = NULL, *old_pw = NULL, *new_pw = NULL;
        SECURITY_STATUS st;

        if (!pszPackageName)
                return SEC_E_SECPKG_NOT_FOUND;
        if (utf16_to_utf8(pszPackageName, SIZE_MAX, &package) < 0)
                st = SEC_E_SECPKG_NOT_FOUND;
        else if (utf16_to_utf8(pszDomainName, SIZE_MAX, &domain) < 0 ||
                 utf16_to_utf8(pszAccountName, SIZE_MAX, &account) < 0 ||
                 utf16_to_utf8(pszOldPassword, SIZE_MAX, &old_pw) < 0 ||
                 utf16_to_utf8(pszNewPassword, SIZE_MAX, &new_pw) < 0)
                st = SEC_E_INVALID_PARAMETER;
        else
                st = change_password(package, domain, account, old_pw, new_pw, bImpersonating, dwReserved, pOutput);
        free(package);
        free(domain);
        free(account);
        wipe_free(old_pw);
        wipe_free(new_pw);
        return st;
}
