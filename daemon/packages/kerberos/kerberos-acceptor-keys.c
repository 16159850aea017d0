/* SPDX-License-Identifier: MIT */
/*
 * The acceptor's keys (issue 15 item 4): which keytab entries an inbound
 * credential holds, and whether an accepted ticket names one of them.
 *
 * Windows accepts, for a credential acquired without pszPrincipal, a
 * ticket to any SPN of the account the service runs as; AD compares SPNs
 * without regard to case. Here the accounts a caller may use are its
 * [acceptor] grants: a credential holds a private MEMORY keytab with the
 * entries of every grant allowed to the caller (only those matching
 * pszPrincipal when one is named), and GSS accepts with GSS_C_NO_NAME over
 * it, so Heimdal finds the key by the ticket's server name and, failing
 * that (another case), by trying the credential's keys.
 *
 * Two guards, both needed: the MEMORY keytab never holds a key the caller
 * is not granted (no ticket can be opened with it), and one key often
 * serves several names (an AD account's SPNs all share its keys), so the
 * ticket's server name is checked against the granted names before ASC
 * returns anything: holding host/app1's key does not grant
 * RestrictedKrbHost/app1.
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-private.h"

#include <strings.h>

void krb_acceptor_names_free(KrbCred *c) {
        for (size_t i = 0; i < c->n_acceptor_names; i++)
                free(c->acceptor_names[i]);
        free(c->acceptor_names);
        c->acceptor_names = NULL;
        c->n_acceptor_names = 0;
}

static int names_add(KrbCred *c, const char *name) {
        char **v, *s;

        for (size_t i = 0; i < c->n_acceptor_names; i++)
                if (!strcmp(c->acceptor_names[i], name))
                        return 0;
        v = reallocarray(c->acceptor_names, c->n_acceptor_names + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        c->acceptor_names = v;
        s = strdup(name);
        if (!s)
                return -ENOMEM;
        v[c->n_acceptor_names++] = s;
        return 0;
}

/* Copies the entries of one grant's keytab that the grant covers and that
 * match `want` (NULL: any) into `mem`. `*ret_found` counts the entries
 * that matched, whether or not they were copied. */
static SECURITY_STATUS load_grant(KrbCred *c, krb5_context k, const AcceptorGrant *g, const char *want, bool copy,
                                  krb5_keytab mem, unsigned *ret_found) {
        krb5_keytab kt = NULL;
        krb5_kt_cursor cursor;
        krb5_keytab_entry entry;
        krb5_error_code r;
        SECURITY_STATUS st = SEC_E_OK;

        r = krb5_kt_resolve(k, g->keytab, &kt);
        if (r == 0)
                r = krb5_kt_start_seq_get(k, kt, &cursor);
        if (r != 0) {
                krb_log("[acceptor %s]: cannot read keytab %s (error %d)", g->name, g->keytab, r);
                if (kt)
                        (void) krb5_kt_close(k, kt);
                return SEC_E_OK; /* as a keytab without the key: other grants may still serve */
        }
        while (st == SEC_E_OK && krb5_kt_next_entry(k, kt, &entry, &cursor) == 0) {
                char *name = NULL;

                if (krb5_unparse_name(k, entry.principal, &name) != 0)
                        st = SEC_E_INSUFFICIENT_MEMORY;
                else if ((!g->principal || config_principal_matches(name, g->principal)) && (!want || config_principal_matches(name, want))) {
                        (*ret_found)++;
                        if (copy) {
                                r = krb5_kt_add_entry(k, mem, &entry);
                                if (r != 0)
                                        st = krb_status_krb5(KRB_OP_ACQUIRE, r, "loading the keytab");
                                else if (names_add(c, name) < 0)
                                        st = SEC_E_INSUFFICIENT_MEMORY;
                        }
                }
                free(name);
                krb5_kt_free_entry(k, &entry);
        }
        (void) krb5_kt_end_seq_get(k, kt, &cursor);
        (void) krb5_kt_close(k, kt);
        return st;
}

SECURITY_STATUS krb_acceptor_load(KrbCred *c, const Config *cfg, const Caller *caller, const char *want) {
        static atomic_uint counter;
        krb5_context k = krb_context();
        krb5_keytab mem = NULL;
        gss_cred_id_t gc = GSS_C_NO_CREDENTIAL;
        char mem_name[64];
        unsigned found_granted = 0, found_other = 0;
        bool exists = false, considered = false;
        OM_uint32 major, minor;
        SECURITY_STATUS st = SEC_E_OK;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        if (!cfg)
                return SEC_E_NO_CREDENTIALS;
        /* A process-unique name: MEMORY keytabs are shared by name. */
        snprintf(mem_name, sizeof(mem_name), "MEMORY:sspid-acceptor-%u", atomic_fetch_add(&counter, 1));
        if (krb5_kt_resolve(k, mem_name, &mem) != 0)
                return SEC_E_INSUFFICIENT_MEMORY;

        for (size_t i = 0; st == SEC_E_OK && i < cfg->n_acceptors; i++) {
                const AcceptorGrant *g = &cfg->acceptors[i];
                bool granted = principals_match(&g->allow, caller);

                if (g->principal && want && !config_principal_matches(g->principal, want))
                        continue;
                /* Someone's grant matches: a refusal says SEC_E_NOT_OWNER.
                 * A whole-keytab grant names its principals only by its
                 * keytab, read below when a name is asked for. */
                if (g->principal || !want)
                        exists = true;
                if (granted) {
                        considered |= g->principal || !want;
                        st = load_grant(c, k, g, want, true, mem, &found_granted);
                } else if (!g->principal && want)
                        st = load_grant(c, k, g, want, false, mem, &found_other);
        }
        if (st != SEC_E_OK)
                goto out;
        if (found_granted == 0) {
                krb_log("acceptor: no granted key for %s", want ? want : "(any principal)");
                /* A grant of the caller's without the key is a broken
                 * configuration; someone else's grant is not the caller's. */
                st = !considered && (exists || found_other > 0) ? SEC_E_NOT_OWNER : SEC_E_NO_CREDENTIALS;
                goto out;
        }
        major = gss_krb5_import_cred(&minor, NULL, NULL, mem, &gc);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_ACQUIRE, major, minor, "gss_krb5_import_cred");
                goto out;
        }
        c->acceptor_name = strdup(c->acceptor_names[0]);
        if (!c->acceptor_name) {
                (void) gss_release_cred(&minor, &gc);
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        c->accept_cred = gc;
        c->keytab = mem;
        return SEC_E_OK;
out:
        krb_acceptor_names_free(c);
        (void) krb5_kt_close(k, mem);
        return st;
}

/* The AP-REQ of a first token that passed krb_ap_req_check(): GSS
 * framing, if any, is canonical. */
int krb_ap_req_decode(krb5_context k, const uint8_t *token, size_t len, krb5_ap_req *ret) {
        krb5_data d;
        size_t i = 0;

        if (len > 2 && token[0] == 0x60) {
                /* 60 len, 06 len OID, 01 00, AP-REQ */
                i = 2 + (token[1] & 0x80 ? (token[1] & 0x7f) : 0);
                if (i + 2 > len || token[i] != 0x06)
                        return -EBADMSG;
                i += 2 + token[i + 1] + 2;
                if (i >= len)
                        return -EBADMSG;
        }
        d.data = (void *) (token + i);
        d.length = len - i;
        return krb5_decode_ap_req(k, &d, ret) == 0 ? 0 : -EBADMSG;
}

/* The server name in the ticket of the first token, as sent: Heimdal's
 * acceptor reports the keytab entry whose key opened the ticket instead,
 * which is granted by construction and says nothing. */
static int ticket_server(krb5_context k, const uint8_t *token, size_t len, char **ret) {
        krb5_ap_req ap;
        Principal server;
        int r;

        if (krb_ap_req_decode(k, token, len, &ap) < 0)
                return -EBADMSG;
        server.name = ap.ticket.sname;
        server.realm = ap.ticket.realm;
        r = krb5_unparse_name(k, &server, ret) == 0 ? 0 : -ENOMEM;
        free_AP_REQ(&ap);
        return r;
}

/* After gss_accept_sec_context opened the ticket, before anything is
 * returned: the ticket's server must be a name the credential holds
 * (case-insensitively, as AD). */
SECURITY_STATUS krb_acceptor_check(const KrbCred *c, const void *token, size_t len) {
        krb5_context k = krb_context();
        char *name = NULL;
        bool ok = false;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        if (ticket_server(k, token, len, &name) < 0)
                return SEC_E_WRONG_PRINCIPAL;
        for (size_t i = 0; !ok && i < c->n_acceptor_names; i++)
                ok = !strcasecmp(c->acceptor_names[i], name);
        if (!ok)
                krb_log("acceptor: refused a ticket for %.256s, a principal this credential is not granted", name);
        free(name);
        return ok ? SEC_E_OK : SEC_E_WRONG_PRINCIPAL;
}
