/* SPDX-License-Identifier: MIT */
/*
 * The PAC of an accepted ticket: found in the ticket's authorization data
 * (AD-WIN2K-PAC inside AD-IF-RELEVANT), its server signature checked with
 * the key that opened the ticket, then decoded (pac-ndr.c) and kept on
 * the context for SECPKG_ATTR_NAMES and krb_ctx_pac().
 *
 * The KDC signature is keyed with the krbtgt key, which only domain
 * controllers hold; Windows servers ask a DC to check it (MS-APDS 3.2.5.3,
 * KERB_VERIFY_PAC) and skip even that for services that run with the TCB
 * privilege. sspid does not check it: a forged PAC needs the service key
 * anyway, which the daemon keeps.
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-pac.h"
#include "packages/kerberos/kerberos-private.h"
#include "util/log.h"

/* What Windows gives when the PAC does not validate: the DC answers
 * KERB_VERIFY_PAC with STATUS_LOGON_FAILURE (MS-APDS 3.2.5.4), which is
 * SEC_E_LOGON_DENIED at the SSPI boundary. A PAC that cannot be decoded
 * is no better. */
#define PAC_REFUSED SEC_E_LOGON_DENIED

static krb5_error_code client_principal(krb5_context k, KrbCtx *c, krb5_principal *ret, char **ret_name) {
        gss_name_t src = GSS_C_NO_NAME;
        OM_uint32 major, minor;
        krb5_error_code e;
        char *name;

        major = gss_inquire_context(&minor, c->gss, &src, NULL, NULL, NULL, NULL, NULL, NULL);
        if (GSS_ERROR(major))
                return minor ? (krb5_error_code) minor : EINVAL;
        name = krb_gss_name_to_string(src);
        (void) gss_release_name(&minor, &src);
        if (!name)
                return ENOMEM;
        e = krb5_parse_name(k, name, ret);
        if (e) {
                free(name);
                return e;
        }
        *ret_name = name;
        return 0;
}

SECURITY_STATUS krb_pac_load(KrbCtx *c) {
        krb5_context k = krb_context();
        gss_buffer_desc ad = GSS_C_EMPTY_BUFFER;
        krb5_keyblock *key = NULL;
        krb5_principal client = NULL;
        krb5_pac pac = NULL;
        char *client_name = NULL;
        OM_uint32 major, minor;
        time_t authtime = 0;
        krb5_error_code e;
        SECURITY_STATUS st = SEC_E_OK;
        KrbPac *p = NULL;
        uint8_t *raw;
        size_t groups = 0, extra = 0, resource = 0;
        int r;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        major = gsskrb5_extract_authz_data_from_sec_context(&minor, c->gss, KRB5_AUTHDATA_WIN2K_PAC, &ad);
        if (GSS_ERROR(major)) {
                /* Heimdal's answer for a ticket without a PAC (a realm
                 * that is not AD): the context is what it was before. */
                if (minor == ENOENT)
                        return SEC_E_OK;
                return krb_status_gss(KRB_OP_ACCEPT, major, minor, "gsskrb5_extract_authz_data_from_sec_context");
        }
        if ((e = client_principal(k, c, &client, &client_name)) != 0) {
                st = krb_status_krb5(KRB_OP_ACCEPT, e, "the ticket's client principal");
                goto out;
        }
        major = gsskrb5_extract_authtime_from_sec_context(&minor, c->gss, &authtime);
        if (!GSS_ERROR(major))
                major = gsskrb5_extract_service_keyblock(&minor, c->gss, &key);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_ACCEPT, major, minor, "the ticket's authtime and service key");
                goto out;
        }
        /* krb5_pac_verify: the server checksum over the whole PAC with the
         * service key, and PAC_CLIENT_INFO against the ticket's client
         * and authtime. No KDC key: see the top of the file. */
        e = krb5_pac_parse(k, ad.value, ad.length, &pac);
        if (!e)
                e = krb5_pac_verify(k, pac, authtime, client, key, NULL);
        if (e) {
                const char *msg = krb5_get_error_message(k, e);

                krb_log("PAC of %.256s refused: %s (%d); returning 0x%08x", client_name, msg ? msg : "?", e,
                        (unsigned) PAC_REFUSED);
                krb5_free_error_message(k, msg);
                st = PAC_REFUSED;
                goto out;
        }
        r = krb_pac_decode(ad.value, ad.length, &p);
        if (r < 0) {
                krb_log("PAC of %.256s refused: its logon info does not decode (%s); returning 0x%08x", client_name,
                        r == -ENOMEM ? "out of memory" : "malformed", (unsigned) PAC_REFUSED);
                st = r == -ENOMEM ? SEC_E_INSUFFICIENT_MEMORY : PAC_REFUSED;
                goto out;
        }
        for (size_t i = 0; i < p->n_sids; i++) {
                if (p->sids[i].kind == KRB_PAC_SID_GROUP)
                        groups++;
                else if (p->sids[i].kind == KRB_PAC_SID_EXTRA)
                        extra++;
                else
                        resource++;
        }
        /* At debug level: the audit line of every accepted context
         * already names the client (as NAMES does). */
        log_debug("kerberos: PAC of %.256s: user %.256s of %.256s (%s), %zu SIDs (%zu groups, %zu extra, %zu resource), upn "
                "%.256s; server signature verified, KDC signature not checked",
                client_name, p->effective_name, p->logon_domain, p->user_sid, p->n_sids, groups, extra, resource,
                p->upn ? p->upn : "-");
        raw = malloc(ad.length);
        if (!raw) {
                krb_pac_free(p);
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        memcpy(raw, ad.value, ad.length);
        krb_pac_free(c->pac);
        free(c->pac_raw);
        c->pac = p;
        c->pac_raw = raw;
        c->pac_raw_len = ad.length;
out:
        if (pac)
                krb5_pac_free(k, pac);
        if (key)
                krb5_free_keyblock(k, key);
        if (client)
                krb5_free_principal(k, client);
        free(client_name);
        (void) gss_release_buffer(&minor, &ad);
        return st;
}

/* The AD-WIN2K-PAC element of a ticket's authorization data (inside
 * AD-IF-RELEVANT, where AD puts it), NULL if none. Points into etp. */
static const heim_octet_string *ticket_pac(const EncTicketPart *etp, AD_IF_RELEVANT *inner) {
        size_t sz;

        for (size_t i = 0; etp->authorization_data && i < etp->authorization_data->len; i++) {
                const AuthorizationDataElement *e = &etp->authorization_data->val[i];

                if (e->ad_type != KRB5_AUTHDATA_IF_RELEVANT ||
                    decode_AD_IF_RELEVANT(e->ad_data.data, e->ad_data.length, inner, &sz) != 0)
                        continue;
                for (size_t j = 0; j < inner->len; j++)
                        if (inner->val[j].ad_type == KRB5_AUTHDATA_WIN2K_PAC)
                                return &inner->val[j].ad_data;
                free_AD_IF_RELEVANT(inner);
                memset(inner, 0, sizeof(*inner));
        }
        return NULL;
}

/* The PAC of a ticket opened with `key`: false when the ticket does not
 * open with it; else true, and in *ret_err 0 when the PAC verifies or
 * there is none, krb5_pac_verify's error otherwise. */
static bool check_with_key(krb5_context k, const krb5_ap_req *ap, const krb5_keyblock *key, krb5_error_code *ret_err,
                           char **ret_client) {
        krb5_crypto crypto = NULL;
        krb5_data plain = { 0 };
        EncTicketPart etp;
        AD_IF_RELEVANT inner = { 0 };
        const heim_octet_string *pac_data;
        krb5_pac pac = NULL;
        krb5_error_code e = 0;
        bool opened = false;
        Principal client;
        size_t sz;

        memset(&etp, 0, sizeof(etp));
        if (krb5_crypto_init(k, key, 0, &crypto) != 0)
                return false;
        if (krb5_decrypt_EncryptedData(k, crypto, KRB5_KU_TICKET, &ap->ticket.enc_part, &plain) != 0 ||
            decode_EncTicketPart(plain.data, plain.length, &etp, &sz) != 0)
                goto out;
        opened = true;
        pac_data = ticket_pac(&etp, &inner);
        if (!pac_data)
                goto out;
        client.name = etp.cname;
        client.realm = etp.crealm;
        (void) krb5_unparse_name(k, &client, ret_client);
        e = krb5_pac_parse(k, pac_data->data, pac_data->length, &pac);
        if (!e)
                e = krb5_pac_verify(k, pac, etp.authtime, &client, key, NULL);
out:
        if (pac)
                krb5_pac_free(k, pac);
        free_AD_IF_RELEVANT(&inner);
        free_EncTicketPart(&etp);
        if (plain.data) {
                explicit_bzero(plain.data, plain.length);
                krb5_data_free(&plain);
        }
        krb5_crypto_destroy(k, crypto);
        *ret_err = e;
        return opened;
}

SECURITY_STATUS krb_pac_refusal(const KrbCred *c, const void *token, size_t len, SECURITY_STATUS st) {
        krb5_context k = krb_context();
        krb5_kt_cursor cursor;
        krb5_keytab_entry entry;
        krb5_ap_req ap;
        krb5_error_code e = 0;
        bool opened = false;
        char *client = NULL;

        if (!k || !c || !c->keytab || st == SEC_E_LOGON_DENIED || krb_ap_req_decode(k, token, len, &ap) < 0)
                return st;
        /* Every key of the credential with the ticket's enctype: the one
         * Heimdal chose is not reported when it refuses. */
        if (krb5_kt_start_seq_get(k, c->keytab, &cursor) == 0) {
                while (!opened && krb5_kt_next_entry(k, c->keytab, &entry, &cursor) == 0) {
                        if (entry.keyblock.keytype == ap.ticket.enc_part.etype)
                                opened = check_with_key(k, &ap, &entry.keyblock, &e, &client);
                        krb5_kt_free_entry(k, &entry);
                }
                (void) krb5_kt_end_seq_get(k, c->keytab, &cursor);
        }
        free_AP_REQ(&ap);
        if (opened && e != 0) {
                const char *msg = krb5_get_error_message(k, e);

                krb_log("PAC of %.256s refused: %s (%d); returning 0x%08x", client ? client : "?", msg ? msg : "?", e,
                        (unsigned) PAC_REFUSED);
                krb5_free_error_message(k, msg);
                st = PAC_REFUSED;
        }
        free(client);
        return st;
}

const KrbPac *krb_ctx_pac(const void *krb_ctx) {
        const KrbCtx *c = krb_ctx;

        return c && !c->initiator && c->established ? c->pac : NULL;
}

/* ImportSecurityContext: the PAC an exported acceptor context carried
 * (kerberos.c), verified when the ticket was accepted; the blob never
 * left the daemon. SEC_E_OK, SEC_E_INVALID_TOKEN, SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS krb_pac_import(KrbCtx *c, const uint8_t *raw, size_t len) {
        KrbPac *p = NULL;
        int r;

        if (!len)
                return SEC_E_OK;
        r = krb_pac_decode(raw, len, &p);
        if (r < 0)
                return r == -ENOMEM ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_INVALID_TOKEN;
        c->pac_raw = malloc(len);
        if (!c->pac_raw) {
                krb_pac_free(p);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        memcpy(c->pac_raw, raw, len);
        c->pac_raw_len = len;
        c->pac = p;
        return SEC_E_OK;
}
