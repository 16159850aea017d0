/* SPDX-License-Identifier: MIT */
/*
 * Schannel: TLS 1.2 / 1.3 on OpenSSL over memory BIOs. The daemon holds the
 * certificates' private keys ([certificate NAME] grants); a caller names a
 * certificate by passing its DER encoding in SCHANNEL_CRED/SCH_CREDENTIALS,
 * and the key is found by public key. Records are framed here so that the
 * SSPI buffer rules hold exactly: a handshake sch_step consumes only complete
 * records (SECBUFFER_MISSING otherwise), and DecryptMessage works on one
 * record at a time, in place, with the rest reported as SECBUFFER_EXTRA.
 *
 * The client session cache lives in the credential: a credential handle
 * belongs to one connection, hence one process (pid + pidfd) and one logon
 * session (uid), so "same credential handle" implies the seed's process and
 * logon-session rules; target name and expiry are checked per entry.
 */
#include "packages/schannel/schannel-private.h"

int sch_ex_index = -1;
pthread_once_t sch_ex_once = PTHREAD_ONCE_INIT;

void sch_ex_init(void) {
        sch_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

int64_t sch_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sch_log_ssl_errors(const char *what) {
        unsigned long e;
        char buf[256];

        while ((e = ERR_get_error()) != 0) {
                ERR_error_string_n(e, buf, sizeof(buf));
                log_debug("schannel: %s: %s", what, buf);
        }
}

/* ---- error mapping (one table) ---- */

SECURITY_STATUS sch_map_verify(long v) {
        switch (v) {
        case X509_V_OK:
                return SEC_E_OK;
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
                return SEC_E_CERT_EXPIRED;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
                return SEC_E_WRONG_PRINCIPAL;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
                return SEC_E_UNTRUSTED_ROOT;
        case X509_V_ERR_CERT_REVOKED:
                return CRYPT_E_REVOKED;
        default:
                return SEC_E_CERT_UNKNOWN;
        }
}

/* The first OpenSSL error on the queue -> SSPI status. */
SECURITY_STATUS sch_map_ssl_error(const char *what) {
        unsigned long e = ERR_peek_error();
        SECURITY_STATUS st = SEC_E_ILLEGAL_MESSAGE;

        if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
                switch (ERR_GET_REASON(e)) {
                case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
                case SSL_R_DECRYPTION_FAILED:
                        st = SEC_E_DECRYPT_FAILURE;
                        break;
                case SSL_R_NO_SHARED_CIPHER:
                case SSL_R_UNSUPPORTED_PROTOCOL:
                case SSL_R_NO_PROTOCOLS_AVAILABLE:
                case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
                case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
                case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
                        st = SEC_E_ALGORITHM_MISMATCH;
                        break;
                case SSL_R_NO_APPLICATION_PROTOCOL:
                case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
                        st = SEC_E_APPLICATION_PROTOCOL_MISMATCH;
                        break;
                case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
                case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
                        st = SEC_E_CERT_UNKNOWN;
                        break;
                case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
                        st = SEC_E_UNTRUSTED_ROOT;
                        break;
                case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
                        st = SEC_E_CERT_EXPIRED;
                        break;
                case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
                case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
                case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
                        st = SEC_E_CERT_UNKNOWN;
                        break;
                default:
                        break;
                }
        }
        sch_log_ssl_errors(what);
        return st;
}

static int sch_setup(const Config *config) {
        pthread_once(&sch_ex_once, sch_ex_init);
        return sch_ex_index >= 0 ? 0 : -ENOMEM;
}

static const char *const sch_aliases[] = {
        UNISP_NAME_A, "Default TLS SSP", "Microsoft TLS 1.0", "Microsoft SSL 3.0", NULL,
};

const Provider provider_schannel = {
        .name = "Schannel",
        .comment = "Schannel Security Package",
        .aliases = sch_aliases,
        .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_CONNECTION |
                        SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_EXTENDED_ERROR | SECPKG_FLAG_IMPERSONATION |
                        SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_STREAM | SECPKG_FLAG_MUTUAL_AUTH |
                        SECPKG_FLAG_APPCONTAINER_PASSTHROUGH, /* as Windows 8.1/10 report */
        .version = 1,
        .rpcid = UNISP_RPC_ID,
        .max_token = SCH_MAX_TOKEN,
        .setup = sch_setup,
        .acquire = sch_acquire,
        .cred_free = sch_cred_free,
        .cred_name = sch_cred_name,
        .cred_attr = sch_cred_attr,
        .set_cred_attr = sch_set_cred_attr,
        .step_may_block = sch_step_may_block,
        .init_ctx = sch_init,
        .accept_ctx = sch_accept,
        .query_ctx = sch_query,
        .sign = sch_sign,
        .verify = sch_verify,
        .seal = sch_seal,
        .unseal = sch_unseal,
        .export_live = sch_export_live,
        .import_moved = sch_import_moved,
        .export_partial = SEC_E_CONTEXT_EXPIRED,
        .ctx_free = sch_ctx_free,
        .control = sch_control,
        .set_ctx_attr = sch_set_ctx_attr,
        .add_cred = sch_add_cred,
        .msg_keys = sch_msg_keys,
        .msg_keys_update = sch_msg_keys_update,
        .msg_keys_follow = true,
};
