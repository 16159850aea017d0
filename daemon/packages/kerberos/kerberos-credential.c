/* SPDX-License-Identifier: MIT */
/*
 * Kerberos credentials: AcquireCredentialsHandle from a password, the
 * caller's FILE ccache or a granted keytab; credential names; whether a
 * step may wait for the KDC (target names, tickets already held).
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-private.h"

/* ---- credentials ------------------------------------------------------ */

void kerberos_cred_free(void *p) {
        KrbCred *c = p;
        krb5_context k;
        OM_uint32 minor;

        if (!c)
                return;
        /* The GSS credentials hold their own handles on the MEMORY ccache
         * and keytab: drop them first so destroying ours frees the data. */
        (void) gss_release_cred(&minor, &c->init_cred);
        (void) gss_release_cred(&minor, &c->accept_cred);
        k = krb_context();
        for (KrbRetired *r = c->retired, *next; r; r = next) {
                next = r->next;
                (void) gss_release_cred(&minor, &r->init_cred);
                if (k && r->ccache)
                        (void) krb5_cc_destroy(k, r->ccache);
                if (k && r->client)
                        krb5_free_principal(k, r->client);
                free(r->client_name);
                free(r->netbios_domain);
                free(r);
        }
        if (k) {
                if (c->ccache)
                        (void) krb5_cc_destroy(k, c->ccache);
                if (c->keytab)
                        (void) krb5_kt_close(k, c->keytab);
                if (c->client)
                        krb5_free_principal(k, c->client);
        }
        if (c->password) {
                explicit_bzero(c->password, c->password_len);
                free(c->password);
        }
        krb_known_targets_clear(c);
        krb_kdcproxy_free(c->kdc_proxy);
        free(c->client_name);
        free(c->netbios_domain);
        free(c->acceptor_name);
        krb_acceptor_names_free(c);
        pthread_mutex_destroy(&c->lock);
        pthread_mutex_destroy(&c->logon_lock);
        free(c);
}

static SECURITY_STATUS set_client(KrbCred *c, krb5_context k, krb5_const_principal p) {
        krb5_principal copy = NULL;
        char *name = NULL;

        if (krb5_copy_principal(k, p, &copy) != 0 || !(name = krb_principal_display(k, copy))) {
                if (copy)
                        krb5_free_principal(k, copy);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        if (c->client)
                krb5_free_principal(k, c->client);
        c->client = copy;
        free(c->client_name);
        c->client_name = name;
        return SEC_E_OK;
}

/* The AS exchange for a password credential. Caller holds c->logon_lock,
 * so c->client and c->password stay put while the KDC is asked. */
static SECURITY_STATUS logon_with_password(KrbCred *c) {
        krb5_context k = krb_context();
        krb5_get_init_creds_opt *opt = NULL;
        krb5_creds creds;
        krb5_ccache cc = NULL;
        gss_cred_id_t g = GSS_C_NO_CREDENTIAL;
        OM_uint32 major, minor;
        krb5_error_code r;
        int32_t offset;
        SECURITY_STATUS st;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        memset(&creds, 0, sizeof(creds));
        r = krb5_get_init_creds_opt_alloc(k, &opt);
        if (r != 0)
                return krb_status_krb5(KRB_OP_LOGON, r, "krb5_get_init_creds_opt_alloc");
        krb5_get_init_creds_opt_set_default_flags(k, "sspid", krb5_principal_get_realm(k, c->client), opt);
        /* Windows TGTs are forwardable; delegation needs it. */
        krb5_get_init_creds_opt_set_forwardable(opt, 1);
        /* As Windows, the KDC names the client: an enterprise name
         * (kerberos-names.c) becomes the account's own principal. */
        krb5_get_init_creds_opt_set_canonicalize(k, opt, TRUE);
        krb_clock_logon_start(k);
        r = krb_logon_password(k, c->client, c->password, opt, &creds);
        offset = krb_clock_logon_end(k);
        krb5_get_init_creds_opt_free(k, opt);
        if (r != 0)
                return krb_netbios_refused(c, r);
        if (c->netbios_domain)
                krb_netbios_learn(c->netbios_domain, krb5_principal_get_realm(k, creds.client));
        if (offset != 0)
                krb_log("logon of %s: the KDC's clock is %+d s from ours; kept with the credential",
                        c->client_name ? c->client_name : "?", (int) offset);

        r = krb5_cc_new_unique(k, "MEMORY", NULL, &cc);
        if (r == 0)
                r = krb5_cc_initialize(k, cc, creds.client);
        if (r == 0)
                r = krb5_cc_store_cred(k, cc, &creds);
        /* Heimdal's TGS exchange takes the KDC offset from the ccache. */
        if (r == 0)
                r = krb5_cc_set_kdc_offset(k, cc, offset);
        if (r != 0) {
                st = krb_status_krb5(KRB_OP_LOGON, r, "storing the TGT");
                goto fail;
        }
        major = gss_krb5_import_cred(&minor, cc, NULL, NULL, &g);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_LOGON, major, minor, "gss_krb5_import_cred");
                goto fail;
        }
        pthread_mutex_lock(&c->lock);
        st = set_client(c, k, creds.client);
        if (st != SEC_E_OK) {
                pthread_mutex_unlock(&c->lock);
                goto fail;
        }
        c->ccache = cc;
        c->init_cred = g;
        c->kdc_offset = offset;
        /* The password has done its job: nothing else may read it. */
        explicit_bzero(c->password, c->password_len);
        free(c->password);
        c->password = NULL;
        c->password_len = 0;
        pthread_mutex_unlock(&c->lock);
        krb5_free_cred_contents(k, &creds);
        return SEC_E_OK;

fail:
        (void) gss_release_cred(&minor, &g);
        if (cc)
                (void) krb5_cc_destroy(k, cc);
        krb5_free_cred_contents(k, &creds);
        return st;
}

/* The GSS initiator credential, doing the AS exchange first if needed. */
SECURITY_STATUS krb_cred_initiator(KrbCred *c, gss_cred_id_t *ret) {
        SECURITY_STATUS st = SEC_E_OK;
        gss_cred_id_t g;

        pthread_mutex_lock(&c->lock);
        g = c->init_cred;
        pthread_mutex_unlock(&c->lock);
        if (g != GSS_C_NO_CREDENTIAL) {
                *ret = g;
                return SEC_E_OK;
        }

        /* Several contexts may share the credential on different workers:
         * the first runs the AS exchange, the others wait for its result
         * (and try again themselves if it failed). */
        pthread_mutex_lock(&c->logon_lock);
        pthread_mutex_lock(&c->lock);
        g = c->init_cred;
        pthread_mutex_unlock(&c->lock);
        if (g == GSS_C_NO_CREDENTIAL) {
                st = c->password ? logon_with_password(c) : SEC_E_NO_CREDENTIALS;
                g = c->init_cred;
        }
        pthread_mutex_unlock(&c->logon_lock);
        *ret = g;
        return st;
}

/*
 * Parse a version 3 or 4 FILE ccache image with Heimdal's own decoders and
 * store what it holds into a MEMORY ccache. Returns the principal and the
 * TGT's end time (0 when there is no TGT).
 */
static SECURITY_STATUS parse_ccache_image(krb5_context k, const uint8_t *data, size_t len, krb5_ccache *ret_cc,
                                          time_t *ret_tgt_end, int32_t *ret_offset) {
        krb5_storage *sp;
        krb5_principal princ = NULL;
        krb5_ccache cc = NULL;
        int8_t pvno, tag;
        int16_t hlen;
        time_t tgt_end = 0;
        int32_t offset = 0;
        krb5_error_code r;
        SECURITY_STATUS st = SEC_E_NO_CREDENTIALS;

        if (krb_ccache_image_check(data, len) < 0)
                return SEC_E_NO_CREDENTIALS; /* torn or forged: Heimdal's decoders would leak on it */
        sp = krb5_storage_from_readonly_mem(data, len);
        if (!sp)
                return SEC_E_INSUFFICIENT_MEMORY;
        krb5_storage_set_eof_code(sp, KRB5_CC_END);
        /* No field can be larger than the file; stops a forged length from
         * asking for gigabytes. */
        krb5_storage_set_max_alloc(sp, len);

        if (krb5_ret_int8(sp, &pvno) != 0 || pvno != 5 || krb5_ret_int8(sp, &tag) != 0)
                goto out;
        if (tag == 3)
                krb5_storage_set_flags(sp, KRB5_STORAGE_KEYBLOCK_KEYTYPE_TWICE);
        else if (tag != 4)
                goto out; /* versions 1 and 2 are host byte order relics */
        if (tag == 4) {
                /* Header tags: the KDC time offset the ccache's kinit
                 * learnt is kept (kerberos-clock.c), the rest skipped. */
                if (krb5_ret_int16(sp, &hlen) != 0 || hlen < 0 ||
                    krb5_storage_seek(sp, hlen, SEEK_CUR) < 0 ||
                    (size_t) krb5_storage_seek(sp, 0, SEEK_CUR) > len)
                        goto out;
                offset = krb_clock_from_ccache_header(data + 4, (size_t) hlen);
        }
        if (krb5_ret_principal(sp, &princ) != 0)
                goto out;
        r = krb5_cc_new_unique(k, "MEMORY", NULL, &cc);
        if (r == 0)
                r = krb5_cc_initialize(k, cc, princ);
        if (r == 0)
                r = krb5_cc_set_kdc_offset(k, cc, offset);
        if (r != 0) {
                st = krb_status_krb5(KRB_OP_LOGON, r, "creating a MEMORY ccache");
                goto out;
        }
        for (;;) {
                krb5_creds creds;
                off_t pos = krb5_storage_seek(sp, 0, SEEK_CUR);

                if (pos < 0)
                        goto out;
                if ((size_t) pos >= len)
                        break;
                r = krb5_ret_creds(sp, &creds);
                if (r != 0) {
                        krb5_free_cred_contents(k, &creds);
                        goto out;
                }
                if (krb5_principal_is_krbtgt(k, creds.server) &&
                    krb5_realm_compare(k, creds.server, princ) &&
                    strcmp(krb5_principal_get_comp_string(k, creds.server, 1),
                           krb5_principal_get_realm(k, princ)) == 0 &&
                    creds.times.endtime > tgt_end)
                        tgt_end = creds.times.endtime;
                r = krb5_cc_store_cred(k, cc, &creds);
                krb5_free_cred_contents(k, &creds);
                if (r != 0) {
                        st = krb_status_krb5(KRB_OP_LOGON, r, "copying the ccache");
                        goto out;
                }
        }
        *ret_cc = cc;
        cc = NULL;
        *ret_tgt_end = tgt_end;
        *ret_offset = offset;
        st = SEC_E_OK;
out:
        if (cc)
                (void) krb5_cc_destroy(k, cc);
        if (princ)
                krb5_free_principal(k, princ);
        krb5_storage_free(sp);
        return st;
}

/* Outbound credentials from the caller's own ccache. `want`, when set,
 * is the principal the caller asked for; the ccache must be its. */
static SECURITY_STATUS acquire_from_ccache(KrbCred *c, const PkgAcquire *a, krb5_const_principal want,
                                           int64_t *ret_expiry) {
        krb5_context k = krb_context();
        krb5_ccache cc = NULL;
        krb5_principal princ = NULL;
        gss_cred_id_t g = GSS_C_NO_CREDENTIAL;
        time_t tgt_end = 0;
        int32_t offset = 0;
        OM_uint32 major, minor;
        SECURITY_STATUS st;
        uint8_t *kcm = NULL;
        size_t kcm_len = 0;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        /* The client library read the caller's own FILE ccache with the
         * caller's rights (the daemon never opens a path for a caller), or
         * passed its connection to KCM; other ccache types, or none, come
         * with neither. */
        if (a->kcm_name) {
                if (a->kcm_fd < 0 || krb_kcm_image(a->kcm_fd, a->kcm_name, &kcm, &kcm_len) < 0)
                        return SEC_E_NO_CREDENTIALS;
                st = parse_ccache_image(k, kcm, kcm_len, &cc, &tgt_end, &offset);
                explicit_bzero(kcm, kcm_len);
                free(kcm);
        } else if (!a->ccache_image || a->ccache_image_len == 0)
                return SEC_E_NO_CREDENTIALS;
        else
                st = parse_ccache_image(k, a->ccache_image, a->ccache_image_len, &cc, &tgt_end, &offset);
        if (st != SEC_E_OK)
                return st;

        if (tgt_end <= time(NULL) + offset) {
                st = SEC_E_NO_CREDENTIALS; /* no TGT, or an expired one */
                goto fail;
        }
        if (krb5_cc_get_principal(k, cc, &princ) != 0) {
                st = SEC_E_NO_CREDENTIALS;
                goto fail;
        }
        if (want && !krb_identity_matches(k, want, princ)) {
                st = SEC_E_NO_CREDENTIALS;
                goto fail;
        }
        major = gss_krb5_import_cred(&minor, cc, NULL, NULL, &g);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_LOGON, major, minor, "gss_krb5_import_cred");
                goto fail;
        }
        st = set_client(c, k, princ);
        if (st != SEC_E_OK)
                goto fail;
        krb5_free_principal(k, princ);
        c->ccache = cc;
        c->init_cred = g;
        c->kdc_offset = offset;
        *ret_expiry = filetime_from_unix(tgt_end - offset);
        return SEC_E_OK;

fail:
        (void) gss_release_cred(&minor, &g);
        if (princ)
                krb5_free_principal(k, princ);
        if (cc)
                (void) krb5_cc_destroy(k, cc);
        return st;
}

static SECURITY_STATUS acquire_outbound(void *cred, const PkgAcquire *a, void *extra) {
        KrbCred *c = cred;
        int64_t *ret_expiry = extra;
        krb5_context k = krb_context();
        krb5_principal want = NULL;
        SECURITY_STATUS st;
        size_t pwlen = a->password_len;
        bool explicit_user = a->has_identity && a->user && *a->user;

        if (!k)
                return SEC_E_INTERNAL_ERROR;
        if (a->has_identity && a->password) {
                /* Some callers count a terminating NUL; a NUL inside the
                 * password would silently shorten it. */
                while (pwlen > 0 && a->password[pwlen - 1] == '\0')
                        pwlen--;
                if (memchr(a->password, '\0', pwlen))
                        return SEC_E_UNKNOWN_CREDENTIALS;
                st = krb_identity_principal(k, a, &c->client, &c->netbios_domain);
                if (st != SEC_E_OK)
                        return st;
                c->client_name = krb_principal_display(k, c->client);
                if (!c->client_name)
                        return SEC_E_INSUFFICIENT_MEMORY;
                c->password = malloc(pwlen + 1);
                if (!c->password)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(c->password, a->password, pwlen);
                c->password[pwlen] = '\0';
                c->password_len = pwlen + 1;
                /* The TGT comes with the first ISC: unknown lifetime yet. */
                *ret_expiry = FILETIME_NEVER;
                return SEC_E_OK;
        }

        /* No password: the logon session's ccache, for the user the
         * identity or pszPrincipal names, if any. */
        if (explicit_user) {
                st = krb_identity_principal(k, a, &want, NULL);
                if (st != SEC_E_OK)
                        return st;
        } else if (a->principal && *a->principal && !(a->use & SECPKG_CRED_INBOUND)) {
                if (krb5_parse_name(k, a->principal, &want) != 0)
                        return SEC_E_UNKNOWN_CREDENTIALS;
        }
        st = acquire_from_ccache(c, a, want, ret_expiry);
        if (st == SEC_E_NO_CREDENTIALS && explicit_user) {
                /* A user name without password and no ticket for it:
                 * Windows accepts the identity here and the first
                 * InitializeSecurityContext says SEC_E_NO_CREDENTIALS
                 * (krb_cred_initiator: no ticket, no password). */
                st = set_client(c, k, want);
                *ret_expiry = FILETIME_NEVER;
        }
        if (want)
                krb5_free_principal(k, want);
        return st;
}

/* The acceptor credential the config grants this caller: every granted
 * principal, or the one pszPrincipal names (kerberos-acceptor-keys.c). */
static SECURITY_STATUS acquire_inbound(void *cred, const PkgAcquire *a, void *extra) {
        (void) extra;
        return krb_acceptor_load(cred, a->config, a->caller, a->principal && *a->principal ? a->principal : NULL);
}

SECURITY_STATUS kerberos_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        KrbCred *c;
        SECURITY_STATUS st;
        int64_t expiry = FILETIME_NEVER;

        c = calloc(1, sizeof(*c));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        pthread_mutex_init(&c->lock, NULL);
        pthread_mutex_init(&c->logon_lock, NULL);
        c->init_cred = GSS_C_NO_CREDENTIAL;
        c->accept_cred = GSS_C_NO_CREDENTIAL;
        c->may_delegate = a->config && a->config->delegation;
        c->owner = a->caller ? a->caller->uid : 0;

        st = pkg_acquire_halves(a, c, &c->use, acquire_outbound, acquire_inbound, &expiry);
        if (st != SEC_E_OK) {
                kerberos_cred_free(c);
                return st;
        }
        *ret_cred = c;
        *ret_expiry = expiry;
        return SEC_E_OK;
}

SECURITY_STATUS kerberos_cred_name(void *p, char **ret_name) {
        KrbCred *c = p;
        char *s = NULL;

        if (!c)
                return SEC_E_INVALID_HANDLE;
        pthread_mutex_lock(&c->lock);
        if (c->client_name)
                s = strdup(c->client_name);
        else if (c->acceptor_name)
                s = strdup(c->acceptor_name);
        else {
                pthread_mutex_unlock(&c->lock);
                return SEC_E_NO_CREDENTIALS;
        }
        pthread_mutex_unlock(&c->lock);
        if (!s)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret_name = s;
        return SEC_E_OK;
}

/* ---- target names ------------------------------------------------------ */

/*
 * "HTTP/host[@REALM]" is an SPN: a krb5 principal name (default realm
 * when none is given). "service@host" is a GSS host-based name. Anything
 * without "/" or "@" is taken as a principal name too.
 */
SECURITY_STATUS krb_import_target(const char *target, gss_name_t *ret) {
        gss_buffer_desc buf = { strlen(target), (void *) target };
        gss_OID type = strchr(target, '/') || !strchr(target, '@') ? GSS_KRB5_NT_PRINCIPAL_NAME
                                                                 : GSS_C_NT_HOSTBASED_SERVICE;
        OM_uint32 major, minor;

        major = gss_import_name(&minor, &buf, type, ret);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_INIT, major, minor, "gss_import_name");
        return SEC_E_OK;
}

/* Whether the credential's ccache already holds a live ticket for the
 * target, found without network: krb5 principal parsing mirrors
 * krb_import_target(); the realm is ignored because the ticket may carry the
 * realm a referral resolved. Caller holds c->lock. */
static bool ccache_has_ticket(KrbCred *c, const char *target, time_t now) {
        krb5_context k = krb_context();
        krb5_creds match, found;
        krb5_principal server = NULL;
        const char *at = strchr(target, '@');
        krb5_error_code r;
        bool ok;

        if (!k || !c->ccache)
                return false;
        if (!strchr(target, '/') && at) {
                char *svc = strndup(target, at - target);
                if (!svc)
                        return false;
                r = krb5_build_principal(k, &server, 0, "", svc, at + 1, NULL);
                free(svc);
        } else
                r = krb5_parse_name(k, target, &server);
        if (r != 0)
                return false;
        memset(&match, 0, sizeof(match));
        memset(&found, 0, sizeof(found));
        match.client = c->client;
        match.server = server;
        match.times.endtime = now + TICKET_MARGIN;
        r = krb5_cc_retrieve_cred(k, c->ccache, KRB5_TC_MATCH_SRV_NAMEONLY | KRB5_TC_MATCH_TIMES, &match, &found);
        ok = r == 0;
        if (ok)
                krb5_free_cred_contents(k, &found);
        krb5_free_principal(k, server);
        return ok;
}

/*
 * Runs on the event loop for every ISC/ASC: must be cheap and must never
 * touch the network. A step may block when it will talk to the KDC: an
 * AS exchange still to do, a service ticket not in the ccache yet, or a
 * delegation that will really be asked for (it fetches a forwarded TGT).
 * ASC only reads the MEMORY keytab;
 * continuation legs only process the peer's token.
 */
bool kerberos_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        KrbCred *c = cred;
        time_t now;
        bool r;

        if (accept || ctx || !c || !target)
                return false;
        pthread_mutex_lock(&c->lock);
        /* Ticket times are the KDC's. */
        now = time(NULL) + c->kdc_offset;
        if (c->init_cred == GSS_C_NO_CREDENTIAL)
                r = c->password != NULL;
        else if (c->may_delegate && (req_flags & ISC_REQ_DELEGATE))
                r = true;
        else if (krb_known_target_valid(c, target, now))
                r = false;
        else
                r = !ccache_has_ticket(c, target, now);
        pthread_mutex_unlock(&c->lock);
        return r;
}

/*
 * AddCredentials: the outbound identity of `added` (acquired for the same
 * caller with the identity or ccache AddCredentials named) becomes this
 * credential's, for the contexts made from now on; those made before keep
 * the one they started with. The added identity logs on first, through
 * the credential's KDC proxy if it has one (a password is tried at the KDC
 * now): a wrong one is refused here and leaves the credential as it was. The old identity is retired, not freed (a step may
 * still hold its GSS credential). Only outbound identities are added.
 */
SECURITY_STATUS kerberos_add_cred(void *cred, void *added) {
        KrbCred *c = cred, *n = added;
        KrbRetired *r;
        SECURITY_STATUS st;

        if (!(c->use & SECPKG_CRED_OUTBOUND) || !(n->use & SECPKG_CRED_OUTBOUND))
                return SEC_E_UNSUPPORTED_FUNCTION;
        st = krb_logon_via(c, n);
        if (st != SEC_E_OK)
                return st;
        r = calloc(1, sizeof(*r));
        if (!r)
                return SEC_E_INSUFFICIENT_MEMORY;
        pthread_mutex_lock(&c->logon_lock);
        pthread_mutex_lock(&c->lock);
        pthread_mutex_lock(&n->lock);
        r->init_cred = c->init_cred;
        r->ccache = c->ccache;
        r->client = c->client;
        r->client_name = c->client_name;
        r->netbios_domain = c->netbios_domain;
        r->next = c->retired;
        c->retired = r;
        c->init_cred = n->init_cred;
        c->ccache = n->ccache;
        c->client = n->client;
        c->client_name = n->client_name;
        c->netbios_domain = n->netbios_domain;
        c->kdc_offset = n->kdc_offset;
        n->init_cred = GSS_C_NO_CREDENTIAL;
        n->ccache = NULL;
        n->client = NULL;
        n->client_name = NULL;
        n->netbios_domain = NULL;
        if (c->password) {
                explicit_bzero(c->password, c->password_len);
                free(c->password);
                c->password = NULL;
                c->password_len = 0;
        }
        /* Tickets known for the old identity say nothing of the new. */
        krb_known_targets_clear(c);
        pthread_mutex_unlock(&n->lock);
        pthread_mutex_unlock(&c->lock);
        pthread_mutex_unlock(&c->logon_lock);
        if (c->client_name)
                krb_log("credential: outbound identity now %s (AddCredentials)", c->client_name);
        return SEC_E_OK;
}
