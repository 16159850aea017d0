/* SPDX-License-Identifier: MIT */
/*
 * Domain accounts at the NTLM acceptor (issue 15 item 1): a Windows member
 * server hands the client's response to a domain controller (NETLOGON
 * pass-through, MS-NLMP 3.2.5.1.2 / MS-APDS 3.1.5) and gets back whether
 * it holds, the user session key and the account's names. Here the host's
 * winbindd does that leg: libwbclient's WBC_AUTH_USER_LEVEL_RESPONSE
 * carries our challenge, the NT and LM responses and the names the client
 * gave; winbindd asks the DC (or, on a DC, its own SAM) and answers with
 * the SessionBaseKey and the account's canonical names.
 *
 * The call waits on a socket (and winbindd on the network), so an
 * AUTHENTICATE for a credential with a domain runs on a worker
 * (ntlm_step_may_block). Each call has its own wbcContext: libwbclient's
 * default context is one socket shared by every thread.
 *
 * libwbclient finds winbindd at its compiled-in directory
 * (/run/samba/winbindd on Debian); Samba 4.17's wb_common.c takes another
 * one only from SELFTEST_WINBINDD_SOCKET_DIR under nss_wrapper, a hook of
 * Samba's own test suite, so there is no socket option here.
 */
#include "packages/ntlm/ntlm-private.h"

#include <stdarg.h>
#include <wbclient.h>

#include "util/escape.h"

/* winbindd_request's fstring fields: 256 bytes with the NUL. */
#define WB_NAME_MAX 255

/* NTSTATUS values winbindd passes on from the DC (MS-ERREF 2.3.1). */
static const struct {
        uint32_t nt;
        const char *name, *why;
        SECURITY_STATUS st;
} nt_table[] = {
        { 0xc000006aU, "STATUS_WRONG_PASSWORD", "wrong password", SEC_E_LOGON_DENIED },
        { 0xc0000064U, "STATUS_NO_SUCH_USER", "unknown user", SEC_E_LOGON_DENIED },
        { 0xc000006dU, "STATUS_LOGON_FAILURE", "logon failure", SEC_E_LOGON_DENIED },
        { 0xc0000072U, "STATUS_ACCOUNT_DISABLED", "account disabled", SEC_E_LOGON_DENIED },
        { 0xc0000193U, "STATUS_ACCOUNT_EXPIRED", "account expired", SEC_E_LOGON_DENIED },
        { 0xc0000071U, "STATUS_PASSWORD_EXPIRED", "password expired", SEC_E_LOGON_DENIED },
        { 0xc0000224U, "STATUS_PASSWORD_MUST_CHANGE", "must change password", SEC_E_LOGON_DENIED },
        { 0xc0000234U, "STATUS_ACCOUNT_LOCKED_OUT", "account locked out", SEC_E_LOGON_DENIED },
        { 0xc000006eU, "STATUS_ACCOUNT_RESTRICTION", "account restriction", SEC_E_LOGON_DENIED },
        { 0xc000006fU, "STATUS_INVALID_LOGON_HOURS", "outside the logon hours", SEC_E_LOGON_DENIED },
        { 0xc0000070U, "STATUS_INVALID_WORKSTATION", "workstation not allowed", SEC_E_LOGON_DENIED },
        { 0xc000015bU, "STATUS_LOGON_TYPE_NOT_GRANTED", "logon type not granted", SEC_E_LOGON_DENIED },
        { 0xc00000dfU, "STATUS_NO_SUCH_DOMAIN", "unknown domain", SEC_E_LOGON_DENIED },
        { 0xc0000022U, "STATUS_ACCESS_DENIED", "access denied", SEC_E_LOGON_DENIED },
        /* The DC cannot be asked: no authority to contact. */
        { 0xc000005eU, "STATUS_NO_LOGON_SERVERS", "no domain controller reachable", SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { 0xc0000192U, "STATUS_NETLOGON_NOT_STARTED", "netlogon not started", SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { 0xc000018aU, "STATUS_NO_TRUST_LSA_SECRET", "no trust secret", SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { 0xc000018bU, "STATUS_NO_TRUST_SAM_ACCOUNT", "no trust account", SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { 0xc000018cU, "STATUS_TRUSTED_DOMAIN_FAILURE", "trust failure", SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { 0xc0000233U, "STATUS_DOMAIN_CONTROLLER_NOT_FOUND", "no domain controller found", SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { 0xc00000b5U, "STATUS_IO_TIMEOUT", "domain controller timed out", SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { 0xc0000203U, "STATUS_USER_SESSION_DELETED", "connection to the DC lost", SEC_E_NO_AUTHENTICATING_AUTHORITY },
};

/* One log line, escaped (the names are the client's); never a response
 * or key. */
static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...) {
        char raw[1024], out[4 * sizeof(raw) + sizeof(ESCAPE_TRUNCATED)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        escape_text(out, sizeof(out), raw, sizeof(raw));
        fprintf(stderr, "ntlm: %s\n", out);
}

void ntlm_challenge_domains(const NtlmCred *cred, const char **ret_nb, const char **ret_dns) {
        const NameList *l = cred->nt_domain ? &cred->nt_aliases : &cred->store_aliases;

        *ret_nb = cred->nt_domain ? cred->nt_domain : cred->store_domain;
        *ret_dns = *ret_nb;
        for (size_t i = 0; i < l->n; i++)
                if (strchr(l->v[i], '.')) {
                        *ret_dns = l->v[i];
                        break;
                }
}

/*
 * The account's SIDs from winbindd's validation info (NETLOGON_VALIDATION_SAM_INFO
 * as libwbclient hands it on): sids[0] the user, sids[1] the primary group,
 * then the groups and the extra SIDs, the primary group usually again
 * among the groups (kept once, with the attributes the DC gave it there).
 */
static int info_sids(const struct wbcAuthUserInfo *info, PkgSid **ret, size_t *ret_n) {
        PkgSid *v;
        size_t n = 0;

        *ret = NULL;
        *ret_n = 0;
        if (info->num_sids < 2 || !info->sids)
                return 0; /* nothing to show: the token gets no domain SIDs */
        v = calloc(info->num_sids, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (uint32_t i = 0; i < info->num_sids; i++) {
                char buf[WBC_SID_STRING_BUFLEN];
                size_t j;

                if (wbcSidToStringBuf(&info->sids[i].sid, buf, sizeof(buf)) <= 0 || (size_t) strlen(buf) >= sizeof(buf))
                        continue;
                for (j = 0; j < n && strcmp(v[j].sid, buf); j++)
                        ;
                if (j < n) {
                        if (j == 1)
                                v[1].attributes = info->sids[i].attributes;
                        continue;
                }
                v[n].sid = strdup(buf);
                if (!v[n].sid) {
                        pkg_sids_free(v, n);
                        return -ENOMEM;
                }
                /* The user's own SID carries no group attributes (TOKEN_USER). */
                v[n].attributes = i == 0 ? 0 : i == 1 && !info->sids[i].attributes ? SE_GROUP_DEFAULT_ATTRS
                                                                                  : info->sids[i].attributes;
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

SECURITY_STATUS ntlm_domain_logon(const NtlmCred *cred, const NtlmLogon *in, uint8_t ret_base[16], char **ret_user,
                                  char **ret_domain, PkgSid **ret_sids, size_t *ret_n_sids) {
        struct wbcContext *wbc = NULL;
        struct wbcAuthUserParams p = {};
        struct wbcAuthUserInfo *info = NULL;
        struct wbcAuthErrorInfo *err = NULL;
        SECURITY_STATUS st;
        wbcErr w;

        /* NTLMv2 only: an NTLMv1 response proves too little to send on. */
        if (in->nt_len <= 24) {
                log_line("logon of %s\\%s refused: an NTLMv1 response for the domain (NTLMv2 only); returning 0x%08x",
                         in->domain, in->user, (unsigned) SEC_E_LOGON_DENIED);
                return SEC_E_LOGON_DENIED;
        }
        if (in->nt_len > UINT32_MAX || in->lm_len > UINT32_MAX)
                return SEC_E_INVALID_TOKEN;
        /* winbindd's request holds each name in 256 bytes and libwbclient
         * cuts longer ones: a cut name is another account's, refused. */
        if (strlen(in->user) > WB_NAME_MAX || strlen(in->domain) > WB_NAME_MAX ||
            strlen(in->workstation) > WB_NAME_MAX) {
                log_line("logon of %.64s\\%.64s refused: a name longer than winbindd takes (%d bytes); returning 0x%08x",
                         in->domain, in->user, WB_NAME_MAX, (unsigned) SEC_E_LOGON_DENIED);
                return SEC_E_LOGON_DENIED;
        }
        wbc = wbcCtxCreate();
        if (!wbc)
                return SEC_E_INSUFFICIENT_MEMORY;
        p.account_name = in->user;
        p.domain_name = in->domain;
        p.workstation_name = in->workstation;
        /* As a Windows server's network logon: machine accounts may log on
         * (MS-APDS 3.1.5; Samba's NTLMSSP server asks the same). */
        p.parameter_control = WBC_MSV1_0_ALLOW_WORKSTATION_TRUST_ACCOUNT | WBC_MSV1_0_ALLOW_SERVER_TRUST_ACCOUNT;
        p.level = WBC_AUTH_USER_LEVEL_RESPONSE;
        memcpy(p.password.response.challenge, in->challenge, 8);
        p.password.response.nt_length = (uint32_t) in->nt_len;
        p.password.response.nt_data = (uint8_t *) in->nt;
        p.password.response.lm_length = (uint32_t) in->lm_len;
        p.password.response.lm_data = (uint8_t *) in->lm;

        w = wbcCtxAuthenticateUserEx(wbc, &p, &info, &err);
        if (w == WBC_ERR_SUCCESS && info && info->account_name && info->domain_name) {
                static const uint8_t zero[16];

                /* A logon without a session key cannot protect messages
                 * and its MIC cannot be checked: refused. */
                if (!memcmp(info->user_session_key, zero, 16)) {
                        log_line("logon of %s\\%s: winbindd returned no session key; returning 0x%08x", in->domain,
                                 in->user, (unsigned) SEC_E_INTERNAL_ERROR);
                        st = SEC_E_INTERNAL_ERROR;
                        goto out;
                }
                *ret_user = strdup(info->account_name);
                *ret_domain = strdup(info->domain_name);
                if (!*ret_user || !*ret_domain || info_sids(info, ret_sids, ret_n_sids) < 0) {
                        free(*ret_user);
                        free(*ret_domain);
                        *ret_user = *ret_domain = NULL;
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                memcpy(ret_base, info->user_session_key, 16);
                st = SEC_E_OK;
        } else if (w == WBC_ERR_AUTH_ERROR && err) {
                const char *name = err->nt_string ? err->nt_string : "?", *why = "refused";

                st = SEC_E_LOGON_DENIED;
                for (size_t i = 0; i < sizeof(nt_table) / sizeof(*nt_table); i++)
                        if (nt_table[i].nt == err->nt_status) {
                                name = nt_table[i].name;
                                why = nt_table[i].why;
                                st = nt_table[i].st;
                                break;
                        }
                log_line("logon of %s\\%s refused by the domain: %s (%s, NTSTATUS 0x%08x); returning 0x%08x", in->domain,
                         in->user, why, name, (unsigned) err->nt_status, (unsigned) st);
        } else if (w == WBC_ERR_WINBIND_NOT_AVAILABLE) {
                /* No one to ask: Windows' answer when no DC can be reached. */
                st = SEC_E_NO_AUTHENTICATING_AUTHORITY;
                log_line("logon of %s\\%s: winbindd is not reachable (%s); returning 0x%08x", in->domain, in->user,
                         wbcErrorString(w), (unsigned) st);
        } else if (w == WBC_ERR_DOMAIN_NOT_FOUND) {
                st = SEC_E_LOGON_DENIED;
                log_line("logon of %s\\%s refused: unknown domain (winbindd: %s); returning 0x%08x", in->domain,
                         in->user, wbcErrorString(w), (unsigned) st);
        } else {
                st = w == WBC_ERR_NO_MEMORY ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_INTERNAL_ERROR;
                log_line("logon of %s\\%s: winbindd failed (%s); returning 0x%08x", in->domain, in->user,
                         wbcErrorString(w), (unsigned) st);
        }
out:
        if (info) {
                explicit_bzero(info->user_session_key, sizeof(info->user_session_key));
                explicit_bzero(info->lm_session_key, sizeof(info->lm_session_key));
        }
        wbcFreeMemory(info);
        wbcFreeMemory(err);
        wbcCtxFree(wbc);
        return st;
}
