/* SPDX-License-Identifier: MIT */
/*
 * The output descriptor of InitializeSecurityContext's first leg, for the
 * token packages (Schannel's own checks are in
 * test_win_schannel_handshake.c): NTLM's as Wine's dlls/secur32/tests/
 * ntlm.c runClient finds them on Windows, and ISC_REQ_ALLOCATE_MEMORY for
 * every package. Sync and through SspiInitializeSecurityContextAsyncA.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "twin.h"

#define NTLM_SRC W_WINE("ntlm.c", "runClient")
#define MAX_TOKEN 2888u


static SECURITY_STATUS isc(CredHandle *cred, const char *target, ULONG flags, CtxtHandle *newctx, SecBufferDesc *out,
                           ULONG *attrs) {
        return w_isc(cred, NULL, target, flags, SECURITY_NETWORK_DREP, NULL, newctx, out, attrs);
}

/* Wine's runClient, first time (req_attr 0): the failing calls come before
 * the real one and leave no context. */
static void test_ntlm_first_leg(void) {
        static uint8_t mem[MAX_TOKEN];
        SecBuffer ob = { MAX_TOKEN, SECBUFFER_TOKEN, mem };
        SecBufferDesc out = { SECBUFFER_VERSION, 1, &ob };
        CredHandle cred;
        CtxtHandle ctx;
        ULONG attrs;
        SECURITY_STATUS st;

        if (!w_status(NTLM_SRC, t_cred_identity("NTLM", "alice", "SSPID", "alice-pw-1", &cred), SEC_E_OK,
                      "%s: NTLM credential", w_mode()))
                return;
        w_status(NTLM_SRC, isc(&cred, NULL, 0, &ctx, NULL, &attrs), SEC_E_BUFFER_TOO_SMALL, "%s: pOutput NULL", w_mode());

        ob.pvBuffer = NULL;
        st = isc(&cred, NULL, 0, &ctx, &out, &attrs);
        w_ok(NTLM_SRC, st == SEC_E_INTERNAL_ERROR || st == SEC_I_CONTINUE_NEEDED,
             "%s: TOKEN {max_token, NULL}: SEC_E_INTERNAL_ERROR or SEC_I_CONTINUE_NEEDED (got 0x%08x)", w_mode(),
             (unsigned) st);
        if (st == SEC_I_CONTINUE_NEEDED) {
                /* Our choice of the two: the token is allocated, as Schannel's is. */
                w_ok(W_WINE("schannel.c", "test_connection_shutdown"), ob.pvBuffer && ob.cbBuffer > 0,
                     "%s: ... and the token allocated (%u bytes)", w_mode(), (unsigned) ob.cbBuffer);
                FreeContextBuffer(ob.pvBuffer);
                DeleteSecurityContext(&ctx);
        }
        ob.pvBuffer = mem;

        ob.cbBuffer = 0;
        w_status(NTLM_SRC, isc(&cred, NULL, 0, &ctx, &out, &attrs), SEC_E_BUFFER_TOO_SMALL,
                 "%s: TOKEN of 0 bytes", w_mode());
        w_eq(NTLM_SRC, ob.cbBuffer, 0, "%s: cbBuffer stays 0", w_mode());

        ob.cbBuffer = MAX_TOKEN;
        ob.BufferType = SECBUFFER_DATA;
        w_status(NTLM_SRC, isc(&cred, NULL, 0, &ctx, &out, &attrs), SEC_E_BUFFER_TOO_SMALL,
                 "%s: output of type SECBUFFER_DATA", w_mode());

        ob.BufferType = SECBUFFER_TOKEN;
        ob.cbBuffer = MAX_TOKEN;
        st = isc(&cred, NULL, 0, &ctx, &out, &attrs);
        w_status(NTLM_SRC, st, SEC_I_CONTINUE_NEEDED, "%s: then the real first leg", w_mode());
        w_eq(NTLM_SRC, ob.BufferType, SECBUFFER_TOKEN, "%s: buffer type unchanged", w_mode());
        w_ok(NTLM_SRC, ob.cbBuffer > 0 && ob.cbBuffer < MAX_TOKEN, "%s: cbBuffer set to the token (%u)", w_mode(),
             (unsigned) ob.cbBuffer);
        if (st >= 0)
                DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&cred);
}

/* ISC_REQ_ALLOCATE_MEMORY: the package allocates the token whatever the
 * caller left in the slot ({1000, NULL} here, as in Wine's schannel.c
 * test_InitializeSecurityContext), for every package. */
static void test_allocate_memory(void) {
        static const struct {
                const char *pkg, *target;
        } pkgs[] = { { "NTLM", NULL }, { "Kerberos", "HTTP/localhost" }, { "Negotiate", "HTTP/localhost" } };
        const char *src = W_MSDOCS("InitializeSecurityContext (General): ISC_REQ_ALLOCATE_MEMORY");

        for (size_t i = 0; i < sizeof(pkgs) / sizeof(pkgs[0]); i++) {
                SecBuffer ob = { 1000, SECBUFFER_TOKEN, NULL };
                SecBufferDesc out = { SECBUFFER_VERSION, 1, &ob };
                CredHandle cred;
                CtxtHandle ctx;
                ULONG attrs = 0;
                SECURITY_STATUS st;
                const char *domain = strcmp(pkgs[i].pkg, "NTLM") ? t_realm() : "SSPID";

                if (t_cred_identity(pkgs[i].pkg, "alice", domain, "alice-pw-1", &cred) != SEC_E_OK) {
                        w_ok(src, false, "%s: %s credential", w_mode(), pkgs[i].pkg);
                        continue;
                }
                st = isc(&cred, pkgs[i].target, ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_CONNECTION, &ctx, &out, &attrs);
                w_ok(src, st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK, "%s: %s: first leg into TOKEN {1000, NULL}",
                     w_mode(), pkgs[i].pkg);
                w_ok(src, ob.pvBuffer && ob.cbBuffer > 0, "%s: %s: token allocated (%u bytes)", w_mode(), pkgs[i].pkg,
                     (unsigned) ob.cbBuffer);
                w_ok(src, attrs & ISC_RET_ALLOCATED_MEMORY, "%s: %s: ISC_RET_ALLOCATED_MEMORY", w_mode(), pkgs[i].pkg);
                FreeContextBuffer(ob.pvBuffer);
                if (st >= 0)
                        DeleteSecurityContext(&ctx);
                FreeCredentialsHandle(&cred);
        }
}

int main(void) {
        for (int a = 0; a < 2; a++) {
                w_async = a;
                test_ntlm_first_leg();
                test_allocate_memory();
        }
        return t_done();
}
