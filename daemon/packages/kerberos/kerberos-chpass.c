/* SPDX-License-Identifier: MIT */
/*
 * ChangeAccountPassword for Kerberos (and Negotiate, which routes here):
 * an AS exchange with the old password for kadmin/changepw, then an RFC 3244
 * change password request (version 1) to the realm's kpasswd server.
 *
 * The statuses are Windows': its Kerberos package reports the failure as an
 * NTSTATUS and ChangeAccountPassword hands that through
 * SspNtStatusToSecStatus, which makes STATUS_WRONG_PASSWORD,
 * STATUS_NO_SUCH_USER, STATUS_PASSWORD_RESTRICTION (a policy refusal),
 * STATUS_ACCOUNT_DISABLED/LOCKED_OUT all SEC_E_LOGON_DENIED and
 * STATUS_NO_LOGON_SERVERS SEC_E_NO_AUTHENTICATING_AUTHORITY. One log line
 * per attempt names the account and the reason, never a password.
 */
#include "packages/kerberos/kerberos-private.h"

#include "packages/kerberos/kerberos.h"

#include <krb5_err.h>

#include "util/util.h"

/* "DOMAIN\user", "user@REALM" or "user" with the domain (else the default
 * realm); the realm upper-cased, as for an explicit identity. */
static SECURITY_STATUS account_principal(krb5_context k, const char *account, const char *domain,
                                         krb5_principal *ret) {
        _cleanup_(freep) char *user = NULL, *realm = NULL;
        const char *sep;

        if ((sep = strchr(account, '\\'))) {
                realm = strndup(account, sep - account);
                user = strdup(sep + 1);
        } else if ((sep = strrchr(account, '@'))) {
                user = strndup(account, sep - account);
                realm = strdup(sep + 1);
        } else {
                user = strdup(account);
                if (domain && *domain)
                        realm = strdup(domain);
                else {
                        char *def = NULL;

                        if (krb5_get_default_realm(k, &def) != 0)
                                return SEC_E_NO_AUTHENTICATING_AUTHORITY;
                        realm = strdup(def);
                        krb5_xfree(def);
                }
        }
        if (!user || !realm)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!*user || !*realm)
                return SEC_E_INVALID_PARAMETER;
        for (char *p = realm; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p -= 'a' - 'A';
        if (krb5_build_principal(k, ret, strlen(realm), realm, user, NULL) != 0)
                return SEC_E_INSUFFICIENT_MEMORY;
        return SEC_E_OK;
}

/* The AS exchange's failure as Windows reports it; *guessed when the KDC
 * judged the password or the name. */
static SECURITY_STATUS logon_status(krb5_error_code r, bool *guessed, const char **why) {
        switch (r) {
        case KRB5KDC_ERR_PREAUTH_FAILED:
        case KRB5KRB_AP_ERR_BAD_INTEGRITY:
        case KRB5KRB_AP_ERR_MODIFIED:
                *guessed = true;
                *why = "wrong old password (STATUS_WRONG_PASSWORD)";
                return SEC_E_LOGON_DENIED;
        case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
                *guessed = true;
                *why = "no such account (STATUS_NO_SUCH_USER)";
                return SEC_E_LOGON_DENIED;
        case KRB5KDC_ERR_CLIENT_REVOKED:
        case KRB5KDC_ERR_NAME_EXP:
                *why = "account disabled, expired or locked out";
                return SEC_E_LOGON_DENIED;
        case KRB5_KDC_UNREACH:
        case KRB5_REALM_UNKNOWN:
        case KRB5_REALM_CANT_RESOLVE:
                *why = "no KDC reachable (STATUS_NO_LOGON_SERVERS)";
                return SEC_E_NO_AUTHENTICATING_AUTHORITY;
        default:
                *why = "the AS exchange for kadmin/changepw failed";
                return krb_status_krb5(KRB_OP_LOGON, r, "the AS exchange for kadmin/changepw");
        }
}

static uint32_t get_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

static uint64_t get_be64(const uint8_t *p) {
        return (uint64_t) get_be32(p) << 32 | get_be32(p + 4);
}

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/*
 * An Active Directory kpasswd server explains a policy refusal with its
 * policy in the result string (MS-KILE: 30 bytes, a zero USHORT, then the
 * minimum length, history length, properties, maximum and minimum age, in
 * network order). That becomes the caller's DOMAIN_PASSWORD_INFORMATION
 * (x64: USHORT MinPasswordLength, USHORT PasswordHistoryLength, ULONG
 * PasswordProperties, LARGE_INTEGER MaxPasswordAge, MinPasswordAge).
 */
static void policy_response(const krb5_data *s, PkgChangePassword *c) {
        const uint8_t *p = s->data;
        uint32_t min_len, history;

        if (s->length != 30 || p[0] != 0 || p[1] != 0)
                return;
        min_len = get_be32(p + 2);
        history = get_be32(p + 6);
        put_le(c->response, min_len > 0xffff ? 0xffff : min_len, 2);
        put_le(c->response + 2, history > 0xffff ? 0xffff : history, 2);
        put_le(c->response + 4, get_be32(p + 10), 4);
        put_le(c->response + 8, get_be64(p + 14), 8);
        put_le(c->response + 16, get_be64(p + 22), 8);
        c->has_response = true;
}

static SECURITY_STATUS result_status(int code, const char **why) {
        switch (code) {
        case KRB5_KPASSWD_SUCCESS:
                *why = "changed";
                return SEC_E_OK;
        case KRB5_KPASSWD_SOFTERROR:
                *why = "refused by the password policy (STATUS_PASSWORD_RESTRICTION)";
                return SEC_E_LOGON_DENIED;
        case KRB5_KPASSWD_AUTHERROR:
        case KRB5_KPASSWD_INITIAL_FLAG_NEEDED:
                *why = "the password server refused the ticket";
                return SEC_E_LOGON_DENIED;
        case KRB5_KPASSWD_ACCESSDENIED:
                *why = "access denied by the password server";
                return SEC_E_LOGON_DENIED;
        default:
                *why = "the password server failed (malformed request, hard error or version)";
                return SEC_E_INTERNAL_ERROR;
        }
}

SECURITY_STATUS kerberos_change_password(PkgChangePassword *c) {
        krb5_context k = krb_context();
        krb5_get_init_creds_opt *opt = NULL;
        krb5_principal client = NULL;
        krb5_creds creds;
        krb5_data code_string, result_string;
        char *who = NULL;
        const char *why = NULL;
        int result_code = 0;
        krb5_error_code r;
        SECURITY_STATUS st;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        memset(&creds, 0, sizeof(creds));
        krb5_data_zero(&code_string);
        krb5_data_zero(&result_string);
        st = account_principal(k, c->account, c->domain, &client);
        if (st != SEC_E_OK) {
                krb_log("password change for %s: not an account name; returning 0x%08x", c->account, (unsigned) st);
                return st;
        }
        if (krb5_unparse_name(k, client, &who) != 0)
                who = NULL;

        r = krb5_get_init_creds_opt_alloc(k, &opt);
        if (r != 0) {
                st = krb_status_krb5(KRB_OP_LOGON, r, "krb5_get_init_creds_opt_alloc");
                goto out;
        }
        /* A short initial ticket for the password service only (kpasswd
         * servers insist on an initial one). */
        krb5_get_init_creds_opt_set_tkt_life(opt, 300);
        krb5_get_init_creds_opt_set_forwardable(opt, 0);
        krb5_get_init_creds_opt_set_proxiable(opt, 0);
        r = krb5_get_init_creds_password(k, &creds, client, c->old_password, NULL, NULL, 0, "kadmin/changepw", opt);
        if (r != 0) {
                st = logon_status(r, &c->guessed, &why);
                goto out;
        }
        /* The change form (RFC 3244 version 1), as Windows sends it when
         * the old password is known: kpasswd servers refuse the set form
         * (0xff80, krb5_set_password) to anybody without an admin grant,
         * even on their own principal (Heimdal's kpasswdd does). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        r = krb5_change_password(k, &creds, (char *) c->new_password, &result_code, &code_string, &result_string);
#pragma GCC diagnostic pop
        if (r != 0) {
                if (r == KRB5_KDC_UNREACH || r == KRB5_REALM_CANT_RESOLVE) {
                        why = "no password server reachable (STATUS_NO_LOGON_SERVERS)";
                        st = SEC_E_NO_AUTHENTICATING_AUTHORITY;
                } else {
                        why = "the password change request failed";
                        st = krb_status_krb5(KRB_OP_LOGON, r, "krb5_change_password");
                }
                goto out;
        }
        st = result_status(result_code, &why);
        if (result_code == KRB5_KPASSWD_SOFTERROR)
                policy_response(&result_string, c);

out:
        krb_log("password change for %s (uid %lu, pid %ld): %s (krb5 %d, kpasswd result %d); returning 0x%08x",
                who ? who : c->account, (unsigned long) c->caller->uid, (long) c->caller->pid, why ? why : "-",
                (int) r, result_code, (unsigned) st);
        krb5_data_free(&code_string);
        krb5_data_free(&result_string);
        krb5_free_cred_contents(k, &creds);
        if (opt)
                krb5_get_init_creds_opt_free(k, opt);
        if (client)
                krb5_free_principal(k, client);
        free(who);
        return st;
}
