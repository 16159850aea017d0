/* SPDX-License-Identifier: MIT */
/*
 * The Kerberos package's one status table: Heimdal GSS major codes, krb5
 * and ASN.1 minor codes -> SECURITY_STATUS. No other place in the package
 * decides which SEC_E_* a library failure becomes.
 */
#include "packages/kerberos/kerberos.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <asn1_err.h>
#include <gssapi/gkrb5_err.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5_err.h>

#include "util/escape.h"

/* Pseudo values for the `major` column. */
#define MAJOR_ANY  UINT32_MAX           /* any routine error, or none */
#define MAJOR_NONE 0U                   /* no routine error: supplementary bits only */

#define OPS_ALL (KRB_OP_LOGON | KRB_OP_ACQUIRE | KRB_OP_INIT | KRB_OP_ACCEPT | KRB_OP_MESSAGE | KRB_OP_QUERY)
#define OPS_CTX (KRB_OP_INIT | KRB_OP_ACCEPT)
#define OPS_TOKEN (KRB_OP_INIT | KRB_OP_ACCEPT | KRB_OP_MESSAGE)

#define SUPP_SEQUENCE (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN | GSS_S_UNSEQ_TOKEN | GSS_S_GAP_TOKEN)

typedef struct KrbStatusRule {
        unsigned ops;           /* KrbOp mask the rule applies to */
        OM_uint32 major;        /* GSS routine error, MAJOR_ANY or MAJOR_NONE */
        OM_uint32 supp;         /* supplementary bits, at least one must be set; 0: don't care */
        int64_t minor_lo;       /* minor code range, inclusive; 0..0 matches any minor */
        int64_t minor_hi;
        SECURITY_STATUS status;
} KrbStatusRule;

#define MINOR(c) (int64_t) (c), (int64_t) (c)
#define ANY_MINOR 0, 0

/*
 * First match wins, so specific minor codes come before the catch-alls
 * on the major code. Minor codes are compared as signed 32-bit values
 * (krb5 codes are negative com_err numbers).
 */
static const KrbStatusRule rules[] = {
        /* Replays and reordering show up as supplementary bits with no
         * routine error (Heimdal's message-order check). */
        { OPS_ALL, MAJOR_NONE, SUPP_SEQUENCE, ANY_MINOR, SEC_E_OUT_OF_SEQUENCE },
        { OPS_ALL, MAJOR_ANY, GSS_S_DUPLICATE_TOKEN, ANY_MINOR, SEC_E_OUT_OF_SEQUENCE },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_REPEAT), SEC_E_OUT_OF_SEQUENCE },

        { OPS_ALL, MAJOR_ANY, 0, MINOR(ENOMEM), SEC_E_INSUFFICIENT_MEMORY },

        /* The AS exchange: the password or the account is not good. */
        { KRB_OP_LOGON, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_PREAUTH_FAILED), SEC_E_LOGON_DENIED },
        { KRB_OP_LOGON, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_BAD_INTEGRITY), SEC_E_LOGON_DENIED },
        { KRB_OP_LOGON, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_MODIFIED), SEC_E_LOGON_DENIED },
        { KRB_OP_LOGON, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN), SEC_E_LOGON_DENIED },
        { KRB_OP_LOGON, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_CLIENT_REVOKED), SEC_E_LOGON_DENIED },
        { KRB_OP_LOGON, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_KEY_EXPIRED), SEC_E_LOGON_DENIED },
        { KRB_OP_LOGON, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_NAME_EXP), SEC_E_LOGON_DENIED },
        { KRB_OP_LOGON, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_POLICY), SEC_E_LOGON_DENIED },
        { KRB_OP_LOGON, MAJOR_ANY, 0, MINOR(KRB5_PARSE_MALFORMED), SEC_E_UNKNOWN_CREDENTIALS },

        /* Nobody to ask. */
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_KDC_UNREACH), SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_REALM_UNKNOWN), SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_REALM_CANT_RESOLVE), SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_CONFIG_NODEFREALM), SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_SVC_UNAVAILABLE), SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(ECONNREFUSED), SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(ETIMEDOUT), SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(EHOSTUNREACH), SEC_E_NO_AUTHENTICATING_AUTHORITY },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(ENETUNREACH), SEC_E_NO_AUTHENTICATING_AUTHORITY },

        /* Clocks. */
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_SKEW), SEC_E_TIME_SKEW },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_KDCREP_SKEW), SEC_E_TIME_SKEW },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_TKT_NYV), SEC_E_TIME_SKEW },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_TKT_EXPIRED), SEC_E_CONTEXT_EXPIRED },

        /* The service ticket request. */
        { KRB_OP_INIT, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN), SEC_E_TARGET_UNKNOWN },
        { KRB_OP_INIT, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_NEVER_VALID), SEC_E_TARGET_UNKNOWN },
        { KRB_OP_INIT, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_SERVICE_EXP), SEC_E_TARGET_UNKNOWN },
        { KRB_OP_INIT, MAJOR_ANY, 0, MINOR(KRB5_PARSE_MALFORMED), SEC_E_TARGET_UNKNOWN },
        { KRB_OP_INIT, MAJOR_ANY, 0, MINOR(GSS_KRB5_S_G_BAD_SERVICE_NAME), SEC_E_TARGET_UNKNOWN },
        { KRB_OP_INIT, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN), SEC_E_LOGON_DENIED },
        { KRB_OP_INIT, MAJOR_ANY, 0, MINOR(KRB5KDC_ERR_CLIENT_REVOKED), SEC_E_LOGON_DENIED },

        /* Somebody else's ticket or key: mutual authentication named
         * another server, or the acceptor's key does not open the ticket
         * (the SPN belongs to a different account, stale keytab). */
        { OPS_CTX, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_WRONG_PRINC), SEC_E_WRONG_PRINCIPAL },
        { OPS_CTX, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_NOT_US), SEC_E_WRONG_PRINCIPAL },
        { KRB_OP_ACCEPT, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_BAD_INTEGRITY), SEC_E_WRONG_PRINCIPAL },
        { KRB_OP_ACCEPT, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_MODIFIED), SEC_E_WRONG_PRINCIPAL },
        { KRB_OP_ACCEPT, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_BADKEYVER), SEC_E_WRONG_PRINCIPAL },
        { KRB_OP_ACCEPT, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_NOKEY), SEC_E_WRONG_PRINCIPAL },
        { KRB_OP_ACCEPT, MAJOR_ANY, 0, MINOR(KRB5_KT_NOTFOUND), SEC_E_WRONG_PRINCIPAL },
        /* GSS_C_NO_NAME acceptors try every key: none opened the ticket. */
        { KRB_OP_ACCEPT, MAJOR_ANY, 0, MINOR(KRB5_KT_END), SEC_E_WRONG_PRINCIPAL },
        { KRB_OP_ACCEPT, MAJOR_ANY, 0, MINOR(GSS_KRB5_S_KG_KEYTAB_NOMATCH), SEC_E_WRONG_PRINCIPAL },
        { KRB_OP_ACCEPT, GSS_S_BAD_NAME, 0, ANY_MINOR, SEC_E_WRONG_PRINCIPAL },

        /* Message protection: a bad checksum is an altered message. */
        { KRB_OP_MESSAGE, MAJOR_ANY, 0, MINOR(KRB5_BAD_MSIZE), SEC_E_BUFFER_TOO_SMALL },
        { KRB_OP_MESSAGE, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_BAD_INTEGRITY), SEC_E_MESSAGE_ALTERED },
        { KRB_OP_MESSAGE, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_MODIFIED), SEC_E_MESSAGE_ALTERED },
        { KRB_OP_MESSAGE, GSS_S_BAD_SIG, 0, ANY_MINOR, SEC_E_MESSAGE_ALTERED },
        { KRB_OP_MESSAGE, MAJOR_ANY, 0, MINOR(EINVAL), SEC_E_INVALID_TOKEN },
        { KRB_OP_MESSAGE, MAJOR_ANY, 0, MINOR(ERANGE), SEC_E_OUT_OF_SEQUENCE },
        { KRB_OP_MESSAGE, GSS_S_UNAVAILABLE, 0, ANY_MINOR, SEC_E_UNSUPPORTED_FUNCTION },

        /* Malformed tokens: framing, ASN.1, sizes. */
        { OPS_TOKEN, MAJOR_ANY, 0, ERROR_TABLE_BASE_asn1, ERROR_TABLE_BASE_asn1 + 255, SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_MSG_TYPE), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_BADVERSION), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_BADMATCH), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_INAPP_CKSUM), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_BAD_INTEGRITY), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(KRB5KRB_AP_ERR_MODIFIED), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(KRB5_BAD_MSIZE), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(GSS_KRB5_S_G_WRONG_SIZE), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(GSS_KRB5_S_KG_BAD_LENGTH), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, MAJOR_ANY, 0, MINOR(GSS_KRB5_S_KG_BAD_SIGN_TYPE), SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, GSS_S_DEFECTIVE_TOKEN, 0, ANY_MINOR, SEC_E_INVALID_TOKEN },
        { OPS_TOKEN, GSS_S_BAD_MECH, 0, ANY_MINOR, SEC_E_INVALID_TOKEN },
        { OPS_CTX, GSS_S_BAD_SIG, 0, ANY_MINOR, SEC_E_INVALID_TOKEN },

        /* No usable credential. */
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_CC_NOTFOUND), SEC_E_NO_CREDENTIALS },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_CC_END), SEC_E_NO_CREDENTIALS },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_FCC_NOFILE), SEC_E_NO_CREDENTIALS },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_KT_NOTFOUND), SEC_E_NO_CREDENTIALS },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(KRB5_KT_END), SEC_E_NO_CREDENTIALS },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(GSS_KRB5_S_KG_TGT_MISSING), SEC_E_NO_CREDENTIALS },
        { OPS_ALL, MAJOR_ANY, 0, MINOR(GSS_KRB5_S_KG_CCACHE_NOMATCH), SEC_E_NO_CREDENTIALS },
        { OPS_ALL, GSS_S_NO_CRED, 0, ANY_MINOR, SEC_E_NO_CREDENTIALS },
        { OPS_ALL, GSS_S_DEFECTIVE_CREDENTIAL, 0, ANY_MINOR, SEC_E_NO_CREDENTIALS },
        { OPS_ALL, GSS_S_CREDENTIALS_EXPIRED, 0, ANY_MINOR, SEC_E_NO_CREDENTIALS },

        /* What remains of the GSS routine errors. */
        { OPS_ALL, GSS_S_CONTEXT_EXPIRED, 0, ANY_MINOR, SEC_E_CONTEXT_EXPIRED },
        { OPS_ALL, GSS_S_BAD_BINDINGS, 0, ANY_MINOR, SEC_E_BAD_BINDINGS },
        { OPS_ALL, GSS_S_BAD_QOP, 0, ANY_MINOR, SEC_E_QOP_NOT_SUPPORTED },
        { OPS_ALL, GSS_S_NO_CONTEXT, 0, ANY_MINOR, SEC_E_INVALID_HANDLE },
        { KRB_OP_INIT, GSS_S_BAD_NAME, 0, ANY_MINOR, SEC_E_TARGET_UNKNOWN },
        { KRB_OP_INIT, GSS_S_BAD_NAMETYPE, 0, ANY_MINOR, SEC_E_TARGET_UNKNOWN },
        { OPS_ALL, GSS_S_UNAVAILABLE, 0, ANY_MINOR, SEC_E_UNSUPPORTED_FUNCTION },
};

/* Lines carry names a client or a KDC chose (principals, e-text): the
 * whole line is escaped as the daemon log does (util/escape.h), so none
 * can forge a line or drive a terminal. */
void krb_log(const char *fmt, ...) {
        char raw[1024], out[4 * sizeof(raw) + sizeof(ESCAPE_TRUNCATED)];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        escape_text(out, sizeof(out), raw, sizeof(raw));
        fprintf(stderr, "kerberos: %s\n", out);
}

static bool rule_matches(const KrbStatusRule *r, KrbOp op, OM_uint32 major, OM_uint32 minor) {
        OM_uint32 routine = GSS_ROUTINE_ERROR(major) | GSS_CALLING_ERROR(major);
        int64_t m = (int32_t) minor;

        if (!(r->ops & op))
                return false;
        if (r->major != MAJOR_ANY && r->major != routine)
                return false;
        if (r->supp != 0 && (GSS_SUPPLEMENTARY_INFO(major) & r->supp) == 0)
                return false;
        if ((r->minor_lo != 0 || r->minor_hi != 0) && (m < r->minor_lo || m > r->minor_hi))
                return false;
        return true;
}

/* Detail for the log: the library's own words for an unexpected code. */
static void log_unmapped(const char *what, OM_uint32 major, OM_uint32 minor) {
        OM_uint32 junk, ctx = 0;
        gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
        const char *krb_msg = NULL;
        krb5_context k = NULL;

        if (GSS_ROUTINE_ERROR(major) != 0 || GSS_CALLING_ERROR(major) != 0)
                (void) gss_display_status(&junk, major, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &text);
        if (minor != 0) {
                k = krb_context();
                if (k)
                        krb_msg = krb5_get_error_message(k, (krb5_error_code) minor);
        }
        krb_log("%s failed: major 0x%08x%s%.*s%s, minor %d (%s)", what, (unsigned) major, text.length ? " (" : "",
                (int) text.length, text.value ? (const char *) text.value : "", text.length ? ")" : "",
                (int32_t) minor, krb_msg ? krb_msg : "-");
        if (krb_msg)
                krb5_free_error_message(k, krb_msg);
        (void) gss_release_buffer(&junk, &text);
}

SECURITY_STATUS krb_status_gss(KrbOp op, OM_uint32 major, OM_uint32 minor, const char *what) {
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
                if (rule_matches(&rules[i], op, major, minor))
                        return rules[i].status;
        log_unmapped(what, major, minor);
        return SEC_E_INTERNAL_ERROR;
}

SECURITY_STATUS krb_status_krb5(KrbOp op, krb5_error_code code, const char *what) {
        return krb_status_gss(op, GSS_S_FAILURE, (OM_uint32) code, what);
}
