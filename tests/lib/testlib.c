/* SPDX-License-Identifier: MIT */
#include "testlib.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int t_passed, t_failed;

static void vreport(bool cond, const char *extra, const char *fmt, va_list ap) {
        printf("%s - ", cond ? "ok" : "not ok");
        vprintf(fmt, ap);
        if (!cond && extra)
                printf(": %s", extra);
        printf("\n");
        fflush(stdout);
        if (cond)
                t_passed++;
        else
                t_failed++;
}

void t_ok(bool cond, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vreport(cond, NULL, fmt, ap);
        va_end(ap);
}

bool t_status(SECURITY_STATUS got, SECURITY_STATUS want, const char *fmt, ...) {
        char extra[160];
        va_list ap;

        snprintf(extra, sizeof(extra), "got %s (0x%08x), want %s (0x%08x)", status_name(got), (unsigned) got,
                 status_name(want), (unsigned) want);
        va_start(ap, fmt);
        vreport(got == want, extra, fmt, ap);
        va_end(ap);
        return got == want;
}

int t_done(void) {
        printf("# %d passed, %d failed\n", t_passed, t_failed);
        return t_failed ? 1 : 0;
}

const char *status_name(SECURITY_STATUS s) {
        static const struct {
                SECURITY_STATUS s;
                const char *n;
        } names[] = {
#define N(x) { x, #x }
                N(SEC_E_OK), N(SEC_I_CONTINUE_NEEDED), N(SEC_I_COMPLETE_NEEDED), N(SEC_I_COMPLETE_AND_CONTINUE),
                N(SEC_I_ASYNC_CALL_PENDING), N(SEC_I_INCOMPLETE_CREDENTIALS), N(SEC_E_INSUFFICIENT_MEMORY),
                N(SEC_E_INVALID_HANDLE), N(SEC_E_UNSUPPORTED_FUNCTION), N(SEC_E_TARGET_UNKNOWN),
                N(SEC_E_INTERNAL_ERROR), N(SEC_E_SECPKG_NOT_FOUND), N(SEC_E_NOT_OWNER), N(SEC_E_INVALID_TOKEN),
                N(SEC_E_QOP_NOT_SUPPORTED), N(SEC_E_LOGON_DENIED), N(SEC_E_UNKNOWN_CREDENTIALS),
                N(SEC_E_NO_CREDENTIALS), N(SEC_E_MESSAGE_ALTERED), N(SEC_E_OUT_OF_SEQUENCE),
                N(SEC_E_NO_AUTHENTICATING_AUTHORITY), N(SEC_E_CONTEXT_EXPIRED), N(SEC_E_INCOMPLETE_MESSAGE),
                N(SEC_E_BUFFER_TOO_SMALL), N(SEC_E_WRONG_PRINCIPAL), N(SEC_E_TIME_SKEW),
                N(SEC_E_INVALID_PARAMETER), N(SEC_E_WRONG_CREDENTIAL_HANDLE),
#undef N
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (names[i].s == s)
                        return names[i].n;
        return "?";
}

bool t_daemon_log_has(const char *a, const char *b) {
        const char *env = getenv("SSPID_TESTENV");
        char path[512], line[2048];
        bool found = false;
        FILE *f;

        snprintf(path, sizeof(path), "%s/sspid.log", env ? env : ".");
        f = fopen(path, "re");
        while (f && !found && fgets(line, sizeof(line), f))
                found = strstr(line, a) && (!b || strstr(line, b));
        if (f)
                fclose(f);
        return found;
}

const char *t_realm(void) {
        const char *r = getenv("SSPID_REALM");
        return r ? r : "SSPID.TEST";
}

const char *t_realm_dir(void) {
        const char *r = getenv("SSPID_REALM_DIR");
        return r ? r : ".";
}

int t_realm_cmd(const char *verb) {
        char cmd[1024];
        const char *top = getenv("SSPID_TOP");

        snprintf(cmd, sizeof(cmd), "%s/tests/tools/realm.sh %s %s >/dev/null 2>&1", top ? top : ".", verb,
                 t_realm_dir());
        return system(cmd);
}

SECURITY_STATUS t_cred_identity(const char *pkg, const char *user, const char *domain, const char *password,
                                CredHandle *ret) {
        SEC_WINNT_AUTH_IDENTITY_A id = {
                .User = (unsigned char *) user,
                .UserLength = (ULONG) strlen(user),
                .Domain = (unsigned char *) domain,
                .DomainLength = domain ? (ULONG) strlen(domain) : 0,
                .Password = (unsigned char *) password,
                .PasswordLength = (ULONG) strlen(password),
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
        };
        TimeStamp ts;
        return AcquireCredentialsHandleA(NULL, (SEC_CHAR *) pkg, SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, ret,
                                         &ts);
}

SECURITY_STATUS t_cred_password(const char *user, const char *password, CredHandle *ret) {
        return t_cred_identity("Kerberos", user, t_realm(), password, ret);
}

SECURITY_STATUS t_cred_service(const char *principal, CredHandle *ret) {
        TimeStamp ts;
        return AcquireCredentialsHandleA(principal, "Kerberos", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, ret, &ts);
}

ULONG t_kdc_proxy_settings(TKdcProxySettings *b, ULONG flags, const char *server) {
        size_t n = strlen(server);

        if (n > 255)
                n = 255;
        memset(b, 0, sizeof(*b));
        b->s.Version = KDC_PROXY_SETTINGS_V1;
        b->s.Flags = flags;
        b->s.ProxyServerOffset = (USHORT) offsetof(TKdcProxySettings, server);
        b->s.ProxyServerLength = (USHORT) (2 * n);
        for (size_t i = 0; i < n; i++)
                b->server[i] = (unsigned char) server[i];
        return (ULONG) (offsetof(TKdcProxySettings, server) + 2 * n);
}

SECURITY_STATUS t_handshake(CredHandle *c, CredHandle *s, const char *target, ULONG isc_flags, ULONG asc_flags,
                            THandshake *h) {
        uint8_t tok_c[12288], tok_s[12288];
        SecBuffer in_b, out_b;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &in_b }, out = { SECBUFFER_VERSION, 1, &out_b };
        size_t have = 0;

        memset(h, 0, sizeof(*h));
        h->client_status = h->server_status = SEC_I_CONTINUE_NEEDED;
        for (int round = 0; round < 8; round++) {
                if (h->client_status == SEC_I_CONTINUE_NEEDED) {
                        out_b = (SecBuffer) { sizeof(tok_c), SECBUFFER_TOKEN, tok_c };
                        in_b = (SecBuffer) { (ULONG) have, SECBUFFER_TOKEN, tok_s };
                        h->client_status = InitializeSecurityContextA(
                                c, h->have_client ? &h->client : NULL, target, isc_flags, 0, SECURITY_NATIVE_DREP,
                                h->have_client ? &in : NULL, 0, &h->client, &out, &h->client_attrs, NULL);
                        h->legs++;
                        if (h->client_status < 0)
                                return h->client_status;
                        h->have_client = true;
                        have = out_b.cbBuffer;
                        if (have == 0 && h->client_status == SEC_E_OK)
                                break;
                        memcpy(tok_s, tok_c, have); /* hand the token to the server side */
                }
                if (have == 0)
                        break;
                if (h->server_status == SEC_I_CONTINUE_NEEDED) {
                        out_b = (SecBuffer) { sizeof(tok_c), SECBUFFER_TOKEN, tok_c };
                        in_b = (SecBuffer) { (ULONG) have, SECBUFFER_TOKEN, tok_s };
                        h->server_status = AcceptSecurityContext(s, h->have_server ? &h->server : NULL, &in, asc_flags,
                                                                 SECURITY_NATIVE_DREP, &h->server, &out,
                                                                 &h->server_attrs, NULL);
                        h->legs++;
                        if (h->server_status < 0)
                                return h->server_status;
                        h->have_server = true;
                        have = out_b.cbBuffer;
                        memcpy(tok_s, tok_c, have);
                        if (have == 0)
                                break;
                } else
                        break;
        }
        if (h->client_status == SEC_E_OK && h->server_status == SEC_E_OK)
                return SEC_E_OK;
        return h->client_status != SEC_E_OK ? h->client_status : h->server_status;
}

static SECURITY_STATUS async_wait(SspiAsyncContext *ac, SECURITY_STATUS queued) {
        SECURITY_STATUS st;

        if (queued != SEC_E_OK)
                return queued;
        while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                usleep(50);
        (void) SspiReinitAsyncContext(ac);
        return st;
}

SECURITY_STATUS t_handshake_async(const char *pkg, void *identity, CredHandle *c, CredHandle *s, const char *target,
                                  ULONG isc_flags, ULONG asc_flags, THandshake *h) {
        SspiAsyncContext *ac = SspiCreateAsyncContext();
        uint8_t tok_c[12288], tok_s[12288];
        SecBuffer in_b, out_b;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &in_b }, out = { SECBUFFER_VERSION, 1, &out_b };
        size_t have = 0;
        SECURITY_STATUS st = SEC_E_OK;

        memset(h, 0, sizeof(*h));
        if (!ac)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!c->dwUpper && !c->dwLower)
                st = async_wait(ac, SspiAcquireCredentialsHandleAsyncA(ac, NULL, pkg, SECPKG_CRED_OUTBOUND, NULL,
                                                                       identity, NULL, NULL, c, NULL));
        if (st == SEC_E_OK && !s->dwUpper && !s->dwLower)
                st = async_wait(ac, SspiAcquireCredentialsHandleAsyncA(ac, NULL, pkg, SECPKG_CRED_INBOUND, NULL, NULL,
                                                                       NULL, NULL, s, NULL));
        if (st != SEC_E_OK) {
                SspiFreeAsyncContext(ac);
                return st;
        }
        h->client_status = h->server_status = SEC_I_CONTINUE_NEEDED;
        for (int round = 0; round < 8; round++) {
                if (h->client_status == SEC_I_CONTINUE_NEEDED) {
                        out_b = (SecBuffer) { sizeof(tok_c), SECBUFFER_TOKEN, tok_c };
                        in_b = (SecBuffer) { (ULONG) have, SECBUFFER_TOKEN, tok_s };
                        h->client_status = async_wait(
                                ac, SspiInitializeSecurityContextAsyncA(ac, c, h->have_client ? &h->client : NULL,
                                                                        target, isc_flags, 0, SECURITY_NATIVE_DREP,
                                                                        h->have_client ? &in : NULL, 0, &h->client,
                                                                        &out, &h->client_attrs, NULL));
                        h->legs++;
                        if (h->client_status < 0)
                                break;
                        h->have_client = true;
                        have = out_b.cbBuffer;
                        memcpy(tok_s, tok_c, have);
                }
                if (have == 0)
                        break;
                if (h->server_status != SEC_I_CONTINUE_NEEDED)
                        break;
                out_b = (SecBuffer) { sizeof(tok_c), SECBUFFER_TOKEN, tok_c };
                in_b = (SecBuffer) { (ULONG) have, SECBUFFER_TOKEN, tok_s };
                h->server_status = async_wait(
                        ac, SspiAcceptSecurityContextAsync(ac, s, h->have_server ? &h->server : NULL, &in, asc_flags,
                                                           SECURITY_NATIVE_DREP, &h->server, &out, &h->server_attrs,
                                                           NULL));
                h->legs++;
                if (h->server_status < 0)
                        break;
                h->have_server = true;
                have = out_b.cbBuffer;
                memcpy(tok_s, tok_c, have);
                if (have == 0)
                        break;
        }
        SspiFreeAsyncContext(ac);
        if (h->client_status < 0)
                return h->client_status;
        if (h->server_status < 0)
                return h->server_status;
        return h->client_status == SEC_E_OK && h->server_status == SEC_E_OK ? SEC_E_OK : SEC_E_INTERNAL_ERROR;
}

void t_handshake_done(THandshake *h) {
        if (h->have_client)
                DeleteSecurityContext(&h->client);
        if (h->have_server)
                DeleteSecurityContext(&h->server);
        h->have_client = h->have_server = false;
}

void t_message_init(TMessage *m, const void *data, size_t len, bool with_padding) {
        memset(m, 0, sizeof(*m));
        if (len > sizeof(m->data))
                len = sizeof(m->data);
        memcpy(m->data, data, len);
        m->b[0] = (SecBuffer) { sizeof(m->token), SECBUFFER_TOKEN, m->token };
        m->b[1] = (SecBuffer) { (ULONG) len, SECBUFFER_DATA, m->data };
        m->b[2] = (SecBuffer) { sizeof(m->pad), SECBUFFER_PADDING, m->pad };
        m->d = (SecBufferDesc) { SECBUFFER_VERSION, with_padding ? 3 : 2, m->b };
}
