/* SPDX-License-Identifier: MIT */
/*
 * The client principal of an explicit identity (issue 15 item 2): the names
 * a domain user types, as Windows' Kerberos SSP sends them.
 *
 *  - "user" with a DNS domain ("corp.test"), or "DOMAIN\user" where
 *    DOMAIN is a realm this host knows: user@DOMAIN, upper-cased (AD
 *    realms are the DNS domain in upper case; Windows domains are
 *    case-insensitive).
 *  - a NetBIOS domain ("CORP\alice", or user "alice" and Domain "CORP"):
 *    the realm [kerberos] netbios-domain maps it to; without a mapping the
 *    DC resolves it, as Windows' DC locator does: the name goes to the
 *    default realm's KDC as the enterprise principal "alice@CORP"
 *    (KRB5_NT_ENTERPRISE_PRINCIPAL, RFC 6806 section 5; MS-KILE 3.2.5.5 names
 *    the referrals draft among its AS extensions, 3.3.5.6.1 the lookup),
 *    which an AD KDC resolves through the domain's NetBIOS name; the realm
 *    it names is then kept (krb_netbios_learn): a ccache of that realm
 *    matches the domain's names, and a later refusal is the DC's. A KDC that does not know the name (a host's local "domain",
 *    as Windows' MACHINE\user) makes it a domain without an authority
 *    here, so Negotiate falls back to NTLM for it as before.
 *  - "user@suffix" (a UPN, the suffix the realm's or an alternate one such
 *    as "mail.example"): the enterprise principal "user@suffix", sent to the
 *    realm the suffix names when this host knows that realm (the suffix
 *    then in the realm's upper case), else to the default realm's KDC,
 *    which finds the account by its UPN.
 *
 * Every password logon asks the KDC to canonicalise (kerberos-credential.c),
 * and the credential takes the name the KDC returns (alice@CORP.TEST):
 * that is the name SECPKG_ATTR_NAMES and the acceptor see.
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-private.h"

#include <strings.h>

#include "util/util.h"

static void upper(char *s) {
        for (; *s; s++)
                if (*s >= 'a' && *s <= 'z')
                        *s -= 'a' - 'A';
}

/* Whether krb5.conf names this realm: the default realm or a [realms]
 * entry. Such a realm is used as typed, as before. */
static bool realm_known(krb5_context k, const char *realm) {
        char *def = NULL;
        char **list;
        bool known = false;

        if (krb5_get_default_realm(k, &def) == 0) {
                known = strcasecmp(def, realm) == 0;
                free(def);
        }
        if (!known && (list = krb5_config_get_strings(k, NULL, "realms", realm, "kdc", NULL))) {
                known = true;
                krb5_config_free_strings(list);
        }
        return known;
}

/* The realm a NetBIOS domain maps to in the daemon's configuration, or NULL. */
static const char *netbios_realm(const Config *cfg, const char *domain) {
        for (size_t i = 0; cfg && i < cfg->n_netbios_domains; i++)
                if (strcasecmp(cfg->netbios_domains[i].netbios, domain) == 0)
                        return cfg->netbios_domains[i].realm;
        return NULL;
}

/*
 * NetBIOS domains the DC resolved: an enterprise logon as alice@CORP that
 * succeeded names the realm (the canonical client's). Daemon-wide, since
 * only the KDC's answer to a logon with a valid password fills it, and it
 * only chooses where later names of that domain go; bounded, the oldest
 * entry making room. Logons still send the enterprise name: the DC
 * stays the authority on its names.
 */
#define LEARNT_MAX 32

static struct {
        char netbios[16];
        char *realm;
} learnt[LEARNT_MAX];
static unsigned learnt_next;
static pthread_mutex_t learnt_lock = PTHREAD_MUTEX_INITIALIZER;

void krb_netbios_learn(const char *netbios, const char *realm) {
        char *copy;
        size_t slot = LEARNT_MAX;

        if (strlen(netbios) >= sizeof(learnt[0].netbios) || !(copy = strdup(realm)))
                return;
        upper(copy);
        pthread_mutex_lock(&learnt_lock);
        for (size_t i = 0; i < LEARNT_MAX && slot == LEARNT_MAX; i++)
                if (learnt[i].realm && !strcasecmp(learnt[i].netbios, netbios))
                        slot = i;
        if (slot == LEARNT_MAX)
                slot = learnt_next++ % LEARNT_MAX;
        free(learnt[slot].realm);
        snprintf(learnt[slot].netbios, sizeof(learnt[slot].netbios), "%s", netbios);
        learnt[slot].realm = copy;
        pthread_mutex_unlock(&learnt_lock);
}

/* The realm learnt for a NetBIOS domain, malloc()ed, or NULL. */
char *krb_netbios_learnt(const char *netbios) {
        char *r = NULL;

        pthread_mutex_lock(&learnt_lock);
        for (size_t i = 0; i < LEARNT_MAX && !r; i++)
                if (learnt[i].realm && !strcasecmp(learnt[i].netbios, netbios))
                        r = strdup(learnt[i].realm);
        pthread_mutex_unlock(&learnt_lock);
        return r;
}

/* user@realm, the realm upper-cased; or, when `enterprise`, the enterprise
 * principal whose one component is "user@name", in `realm`. */
static SECURITY_STATUS build(krb5_context k, const char *user, const char *name, const char *realm, bool enterprise,
                             krb5_principal *ret) {
        char *r = strdup(realm), *comp = NULL;
        krb5_error_code e;

        if (!r)
                return SEC_E_INSUFFICIENT_MEMORY;
        upper(r);
        if (enterprise && asprintf(&comp, "%s@%s", user, name) < 0) {
                free(r);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        e = krb5_build_principal(k, ret, strlen(r), r, enterprise ? comp : user, NULL);
        if (e == 0 && enterprise)
                krb5_principal_set_type(k, *ret, KRB5_NT_ENTERPRISE_PRINCIPAL);
        free(r);
        free(comp);
        return e == 0 ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
}

SECURITY_STATUS krb_identity_principal(krb5_context k, const PkgAcquire *a, krb5_principal *ret,
                                       char **ret_netbios) {
        _cleanup_(freep) char *user = NULL, *dom = NULL, *def = NULL, *suffix_realm = NULL, *known = NULL;
        const char *u = a->user, *sep, *mapped;
        struct passwd pw, *pwp = NULL;
        char pwbuf[1024];
        bool upn = false;

        if (!u || !*u) {
                /* A password without a user name: the logon session's own
                 * user, as Windows does. */
                if (getpwuid_r(a->act_as_uid, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 || !pwp)
                        return SEC_E_UNKNOWN_CREDENTIALS;
                u = pwp->pw_name;
        }
        /* The user part is one name component: "/" inside it is not parsed. */
        if ((sep = strchr(u, '\\'))) {
                dom = strndup(u, sep - u);
                user = strdup(sep + 1);
        } else if ((sep = strrchr(u, '@'))) {
                user = strndup(u, sep - u);
                dom = strdup(sep + 1);
                upn = true;
        } else {
                user = strdup(u);
                if (a->domain && *a->domain)
                        dom = strdup(a->domain);
        }
        if (!user || (!dom && (sep || (a->domain && *a->domain))))
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!*user || (dom && !*dom))
                return SEC_E_UNKNOWN_CREDENTIALS;
        if (krb5_get_default_realm(k, &def) != 0)
                def = NULL;
        if (!dom) {
                if (!def)
                        return SEC_E_NO_AUTHENTICATING_AUTHORITY;
                return build(k, user, NULL, def, false, ret);
        }
        if (upn) {
                /* A UPN: the KDC of the realm the suffix names when this
                 * host knows that realm, else the host's own (default)
                 * realm, whose KDC finds the account by its UPN. */
                suffix_realm = strdup(dom);
                if (!suffix_realm)
                        return SEC_E_INSUFFICIENT_MEMORY;
                upper(suffix_realm);
                /* A suffix that is a known realm is spelt as the realm: AD
                 * compares UPNs without case, Heimdal's and MIT's KDCs
                 * resolve the enterprise name as a principal, case and all. */
                if (!def || realm_known(k, suffix_realm))
                        return build(k, user, suffix_realm, suffix_realm, true, ret);
                return build(k, user, dom, def, true, ret);
        }
        upper(dom);
        if (strchr(dom, '.'))
                return build(k, user, NULL, dom, false, ret);
        if ((mapped = netbios_realm(a->config, dom)))
                return build(k, user, NULL, mapped, false, ret);
        if (!def || realm_known(k, dom))
                return build(k, user, NULL, dom, false, ret);
        /* A ccache is matched against the realm a logon learnt for it. */
        if (!ret_netbios && (known = krb_netbios_learnt(dom)))
                return build(k, user, NULL, known, false, ret);
        /* A NetBIOS domain nobody mapped: the DC knows its own NetBIOS name,
         * every logon asks it. The caller learns the realm from the logon,
         * or that the KDC does not know the domain. */
        if (ret_netbios) {
                *ret_netbios = strdup(dom);
                if (!*ret_netbios)
                        return SEC_E_INSUFFICIENT_MEMORY;
        }
        return build(k, user, dom, def, true, ret);
}

bool krb_principal_is_enterprise(krb5_context k, krb5_const_principal p) {
        return krb5_principal_get_type(k, p) == KRB5_NT_ENTERPRISE_PRINCIPAL;
}

/*
 * Whether a ccache's principal `have` is the one an identity without a
 * password names (`want`, from krb_identity_principal). An enterprise name
 * matches the principal its UPN spells in upper-case realm ("alice@corp.test"
 * is alice@CORP.TEST); which account an alternate UPN suffix or an unmapped
 * NetBIOS domain stands for only the KDC knows, so those never match a
 * ccache: the NetBIOS domain needs a netbios-domain line for that.
 */
bool krb_identity_matches(krb5_context k, krb5_const_principal want, krb5_const_principal have) {
        krb5_principal inner = NULL;
        const char *comp;
        char *realm;
        bool r;

        if (!krb_principal_is_enterprise(k, want))
                return krb5_principal_compare(k, want, have);
        comp = krb5_principal_get_comp_string(k, want, 0);
        if (!comp || krb5_parse_name_flags(k, comp, KRB5_PRINCIPAL_PARSE_REQUIRE_REALM, &inner) != 0)
                return false;
        realm = strdup(krb5_principal_get_realm(k, inner));
        if (realm) {
                upper(realm);
                (void) krb5_principal_set_realm(k, inner, realm);
        }
        r = realm && krb5_principal_compare(k, inner, have);
        free(realm);
        krb5_free_principal(k, inner);
        return r;
}

/*
 * The status of a refused AS exchange. A NetBIOS domain sent unmapped
 * (alice@CORP) that the KDC does not know as a name, before any logon
 * taught us the domain: either the domain is not the KDC's (a host's local
 * accounts, as Windows' MACHINE\user, which Windows never sends to a KDC)
 * or the account does not exist; both mean no Kerberos authority vouches
 * for it, SEC_E_NO_AUTHENTICATING_AUTHORITY, and Negotiate falls back to
 * NTLM as it did when the domain was taken for a realm. Once the DC
 * resolved the domain, a refusal is the DC's (SEC_E_LOGON_DENIED).
 */
SECURITY_STATUS krb_netbios_refused(const KrbCred *c, krb5_error_code r) {
        _cleanup_(freep) char *known = NULL;

        if (c->netbios_domain && (r == KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN || r == KRB5_KDC_ERR_WRONG_REALM) &&
            !(known = krb_netbios_learnt(c->netbios_domain))) {
                krb_log("logon of %s: the KDC knows no domain %s with that account; no Kerberos authority for it "
                        "(a realm for it: [kerberos] netbios-domain)",
                        c->client_name ? c->client_name : "?", c->netbios_domain);
                return SEC_E_NO_AUTHENTICATING_AUTHORITY;
        }
        return krb_status_krb5(KRB_OP_LOGON, r, "the AS exchange");
}

/*
 * The credential's name until the KDC gives the canonical one: a principal
 * as Heimdal spells it, an enterprise name as the user typed it with the
 * suffix in upper case ("bob@sspid.test" is "bob@SSPID.TEST", as before
 * enterprise names; "alice@CORP" for CORP\alice), not Heimdal's escaped
 * "bob\@sspid.test@SSPID.TEST". NULL when out of memory.
 */
char *krb_principal_display(krb5_context k, krb5_const_principal p) {
        const char *comp, *at;
        char *s = NULL;

        if (!krb_principal_is_enterprise(k, p) || !(comp = krb5_principal_get_comp_string(k, p, 0)) ||
            !(at = strrchr(comp, '@'))) {
                if (krb5_unparse_name(k, p, &s) != 0)
                        return NULL;
                return s;
        }
        s = strdup(comp);
        if (s)
                upper(s + (at - comp));
        return s;
}
