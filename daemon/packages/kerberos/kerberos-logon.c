/* SPDX-License-Identifier: MIT */
/*
 * The AS exchange for a password credential, and why the KDC refused it.
 *
 * Windows' Kerberos SSP answers every refused password logon with
 * SEC_E_LOGON_DENIED (the statuses documented for InitializeSecurityContext
 * (Kerberos); winerror.h has no SEC_E_* for a disabled, expired or
 * must-change account) and keeps the reason for its logs: the NTSTATUS an
 * AD KDC puts in the KRB-ERROR's e-data (MS-KILE 2.2.1 KERB-EXT-ERROR, or
 * the Windows 2000 form Samba sends: PA-PW-SALT holding the NTSTATUS).
 * We do the same: the caller maps the krb5 code to SEC_E_LOGON_DENIED
 * (kerberos-errors.c), and this file always writes one line naming the
 * KDC's error and NTSTATUS. The line names the principal, never the
 * password or a key.
 */
#include "packages/kerberos/kerberos.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <krb5_asn1.h>
#include <krb5_err.h>

typedef struct NameOf {
        int64_t code;
        const char *name;
        const char *reason;
} NameOf;

/* The KDC errors of a refused AS exchange (RFC 4120 7.5.9). */
static const NameOf kdc_errors[] = {
        { KRB5KDC_ERR_PREAUTH_FAILED, "KDC_ERR_PREAUTH_FAILED", "wrong password" },
        { KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN, "KDC_ERR_C_PRINCIPAL_UNKNOWN", "unknown user" },
        { KRB5KDC_ERR_CLIENT_REVOKED, "KDC_ERR_CLIENT_REVOKED", "account disabled, expired or locked out" },
        { KRB5KDC_ERR_KEY_EXPIRED, "KDC_ERR_KEY_EXPIRED", "password expired or must be changed" },
        { KRB5KDC_ERR_NAME_EXP, "KDC_ERR_NAME_EXP", "account expired" },
        { KRB5KDC_ERR_POLICY, "KDC_ERR_POLICY", "refused by policy (logon hours, workstation)" },
        { KRB5KDC_ERR_ETYPE_NOSUPP, "KDC_ERR_ETYPE_NOSUPP", "no common encryption type" },
        { KRB5KRB_AP_ERR_BAD_INTEGRITY, "KRB_AP_ERR_BAD_INTEGRITY", "wrong password (the reply did not decrypt)" },
        { KRB5KRB_AP_ERR_MODIFIED, "KRB_AP_ERR_MODIFIED", "wrong password (the reply did not decrypt)" },
        { KRB5KRB_AP_ERR_SKEW, "KRB_AP_ERR_SKEW", "clock skew" },
};

/* The NTSTATUS values an AD KDC gives for a refused logon ([MS-ERREF] 2.3). */
static const NameOf nt_statuses[] = {
        { 0xC000006A, "STATUS_WRONG_PASSWORD", "wrong password" },
        { 0xC0000064, "STATUS_NO_SUCH_USER", "unknown user" },
        { 0xC000006D, "STATUS_LOGON_FAILURE", "logon failure" },
        { 0xC000006E, "STATUS_ACCOUNT_RESTRICTION", "account restriction" },
        { 0xC000006F, "STATUS_INVALID_LOGON_HOURS", "outside the logon hours" },
        { 0xC0000070, "STATUS_INVALID_WORKSTATION", "workstation not allowed" },
        { 0xC0000071, "STATUS_PASSWORD_EXPIRED", "password expired" },
        { 0xC0000072, "STATUS_ACCOUNT_DISABLED", "account disabled" },
        { 0xC0000193, "STATUS_ACCOUNT_EXPIRED", "account expired" },
        { 0xC0000224, "STATUS_PASSWORD_MUST_CHANGE", "password must be changed" },
        { 0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT", "account locked out" },
        { 0xC0000133, "STATUS_TIME_DIFFERENCE_AT_DC", "clock skew" },
};

static const NameOf *name_of(const NameOf *t, size_t n, int64_t code) {
        for (size_t i = 0; i < n; i++)
                if (t[i].code == code)
                        return &t[i];
        return NULL;
}

static uint32_t le32(const unsigned char *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/*
 * The NTSTATUS in a KRB-ERROR's e-data, 0 when there is none: a METHOD-DATA
 * whose PA-PW-SALT value is { NTSTATUS, reserved, flags } in little endian
 * (what Samba's KDC sends; the same 12 bytes as MS-KILE's KERB-EXT-ERROR).
 * The e-data comes from the network: decoded by Heimdal's ASN.1 decoder,
 * and only a value of exactly 12 bytes is read.
 */
uint32_t krb_edata_ntstatus(const void *edata, size_t len) {
        METHOD_DATA md;
        size_t used;
        uint32_t st = 0;

        if (!edata || len == 0)
                return 0;
        memset(&md, 0, sizeof(md));
        if (decode_METHOD_DATA(edata, len, &md, &used) != 0)
                return 0;
        for (unsigned i = 0; i < md.len && st == 0; i++)
                if (md.val[i].padata_type == KRB5_PADATA_PW_SALT && md.val[i].padata_value.length == 12)
                        st = le32(md.val[i].padata_value.data);
        free_METHOD_DATA(&md);
        return st;
}

/* One line, always: who was refused, the KDC's error, its NTSTATUS and
 * what the caller gets. */
static void log_refusal(krb5_context k, krb5_principal client, krb5_error_code r, uint32_t ntstatus,
                        SECURITY_STATUS st) {
        const NameOf *e = name_of(kdc_errors, sizeof(kdc_errors) / sizeof(*kdc_errors), r);
        const NameOf *nt = ntstatus ? name_of(nt_statuses, sizeof(nt_statuses) / sizeof(*nt_statuses), ntstatus) : NULL;
        const char *text = krb5_get_error_message(k, r);
        char *who = NULL;
        char ntbuf[96] = "", codebuf[32];

        if (krb5_unparse_name(k, client, &who) != 0)
                who = NULL;
        if (ntstatus)
                snprintf(ntbuf, sizeof(ntbuf), ", NTSTATUS 0x%08x%s%s", (unsigned) ntstatus, nt ? " " : "",
                         nt ? nt->name : "");
        snprintf(codebuf, sizeof(codebuf), "krb5 error %d", (int) r);
        /* "refused" only when the KDC said no; a KDC nobody reached failed. */
        krb_log("logon of %s %s: %s (%s%s): %s; returning 0x%08x", who ? who : "?", e ? "refused" : "failed",
                nt ? nt->reason : e ? e->reason : "the AS exchange failed", e ? e->name : codebuf, ntbuf,
                text ? text : "-", (unsigned) st);
        if (text)
                krb5_free_error_message(k, text);
        free(who);
}

/*
 * Whether the KDC's KRB-ERROR is kept in ctx: Heimdal's
 * krb5_init_creds_get_error copies it even when none was received (and
 * crashes on the empty one), and krb5_init_creds_step, which would show
 * each reply, is not exported. These codes come only from a KRB-ERROR
 * (Heimdal 7.8's client never makes them up), so after them the copy is
 * safe. A wrong password (KDC_ERR_PREAUTH_FAILED) needs no NTSTATUS.
 */
static bool kdc_error_kept(krb5_error_code r) {
        return r == KRB5KDC_ERR_CLIENT_REVOKED || r == KRB5KDC_ERR_KEY_EXPIRED ||
               r == KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN || r == KRB5KDC_ERR_NAME_EXP;
}

/* Heimdal's krb5_get_init_creds_password with no prompter (what it does
 * then: init, set the password, get), keeping the KDC's refusal to log. */
krb5_error_code krb_logon_password(krb5_context k, krb5_principal client, const char *password,
                                   krb5_get_init_creds_opt *opt, krb5_creds *creds) {
        krb5_init_creds_context ctx = NULL;
        krb5_error_code r;
        uint32_t ntstatus = 0;

        r = krb5_init_creds_init(k, client, NULL, NULL, 0, opt, &ctx);
        if (r == 0)
                r = krb5_init_creds_set_password(k, ctx, password);
        if (r == 0)
                r = krb5_init_creds_get(k, ctx);
        if (r == 0)
                r = krb5_init_creds_get_creds(k, ctx, creds);
        else if (ctx && kdc_error_kept(r)) {
                KRB_ERROR err;

                memset(&err, 0, sizeof(err));
                if (krb5_init_creds_get_error(k, ctx, &err) == 0) {
                        if (err.e_data)
                                ntstatus = krb_edata_ntstatus(err.e_data->data, err.e_data->length);
                        free_KRB_ERROR(&err);
                }
        }
        if (r != 0)
                log_refusal(k, client, r, ntstatus, krb_status_krb5(KRB_OP_LOGON, r, "the AS exchange"));
        if (ctx)
                krb5_init_creds_free(k, ctx);
        return r;
}
