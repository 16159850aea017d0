/* SPDX-License-Identifier: MIT */
/*
 * NTLM credentials: outbound from an identity (NT hash only), inbound from
 * the account store a config grant names (ntlm_store_load).
 */
#include "packages/ntlm/ntlm-private.h"

#include <pwd.h>

/* ---- credentials ------------------------------------------------------------ */

void ntlm_cred_free(void *p) {
        NtlmCred *c = p;

        if (!c)
                return;
        free(c->user);
        free(c->domain);
        free(c->store_domain);
        free(c->nt_domain);
        config_names_done(&c->store_aliases);
        config_names_done(&c->nt_aliases);
        for (size_t i = 0; i < c->n_accounts; i++) {
                free(c->accounts[i].user);
                free(c->accounts[i].domain);
        }
        if (c->accounts)
                explicit_bzero(c->accounts, c->n_accounts * sizeof(*c->accounts));
        free(c->accounts);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

/* SHA-256 of `s` with ASCII letters uppercased: the name's fingerprint
 * for the constant-time store lookup. 0 or -ENOMEM. */
int ntlm_name_key(const char *s, uint8_t ret[32]) {
        size_t n = strlen(s);
        char *u = malloc(n + 1);
        unsigned len = 0;
        int r;

        if (!u)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                u[i] = (char) toupper((unsigned char) s[i]);
        r = EVP_Digest(u, n, ret, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : -ENOMEM;
        free(u);
        return r;
}

int ntlm_store_load(const char *path, const char *domain, NtlmAccount **ret, size_t *ret_n) {
        FILE *f;
        struct stat st;
        char line[1024], iobuf[4096];
        NtlmAccount *v = NULL;
        size_t n = 0;
        int r = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        /* stdio's own buffer would keep the NT hashes in freed memory. */
        setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
        if (fstat(fileno(f), &st) < 0 || (st.st_mode & 077) || (st.st_uid != 0 && st.st_uid != geteuid())) {
                fclose(f);
                return -EPERM;
        }
        while (fgets(line, sizeof(line), f)) {
                char *s = line, *colon, *bs, *e;
                NtlmAccount a = {};
                NtlmAccount *nv;

                s[strcspn(s, "\r\n")] = '\0';
                while (isspace((unsigned char) *s))
                        s++;
                if (!*s || *s == '#')
                        continue;
                colon = strrchr(s, ':');
                if (!colon || strlen(colon + 1) < 32) {
                        r = -EINVAL;
                        break;
                }
                *colon = '\0';
                e = colon + 1;
                for (int i = 0; i < 16; i++) {
                        int hi = ntlm_hex_nibble(e[2 * i]), lo = ntlm_hex_nibble(e[2 * i + 1]);
                        if (hi < 0 || lo < 0) {
                                r = -EINVAL;
                                break;
                        }
                        a.hash[i] = (uint8_t) (hi << 4 | lo);
                }
                if (r < 0 || (e[32] && !isspace((unsigned char) e[32]))) {
                        r = -EINVAL;
                        break;
                }
                bs = strchr(s, '\\');
                if (bs) {
                        *bs = '\0';
                        a.domain = strdup(s);
                        a.user = strdup(bs + 1);
                } else {
                        a.domain = strdup(domain);
                        a.user = strdup(s);
                }
                if (!a.domain || !a.user || n >= STORE_MAX_ENTRIES || ntlm_name_key(a.user, a.user_key) < 0 ||
                    ntlm_name_key(a.domain, a.domain_key) < 0 || !(nv = reallocarray(v, n + 1, sizeof(*v)))) {
                        free(a.domain);
                        free(a.user);
                        r = n >= STORE_MAX_ENTRIES ? -E2BIG : -ENOMEM;
                        break;
                }
                v = nv;
                v[n++] = a;
                explicit_bzero(&a, sizeof(a));
        }
        explicit_bzero(line, sizeof(line));
        fclose(f);
        explicit_bzero(iobuf, sizeof(iobuf));
        if (r < 0) {
                for (size_t i = 0; i < n; i++) {
                        free(v[i].user);
                        free(v[i].domain);
                }
                if (v)
                        explicit_bzero(v, n * sizeof(*v));
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int names_copy(const NameList *from, NameList *to) {
        if (from->n == 0)
                return 0;
        to->v = calloc(from->n, sizeof(*to->v));
        if (!to->v)
                return -ENOMEM;
        for (; to->n < from->n; to->n++)
                if (!(to->v[to->n] = strdup(from->v[to->n])))
                        return -ENOMEM;
        return 0;
}

/* pszPrincipal may name a grant (store or domain), its domain or an alias. */
static bool principal_names(const char *principal, const char *name, const char *domain, const NameList *aliases) {
        return !principal || !*principal || !strcasecmp(principal, name) ||
               config_domain_matches(domain, aliases, principal);
}

/*
 * The caller's first granted [ntlm-store] (local accounts) and first
 * granted [ntlm-domain] (accounts the domain checks), either or both: a
 * Windows member server accepts both kinds.
 */
static SECURITY_STATUS acquire_inbound(void *cred, const PkgAcquire *a, void *extra) {
        NtlmCred *c = cred;
        const Config *cfg = a->config;
        const NtlmStoreGrant *g = NULL;
        const NtlmDomainGrant *dg = NULL;
        bool exists = false;
        int r;

        if (!cfg)
                return SEC_E_NO_CREDENTIALS;
        for (size_t i = 0; i < cfg->n_ntlm_stores; i++) {
                const NtlmStoreGrant *x = &cfg->ntlm_stores[i];

                if (!principal_names(a->principal, x->name, x->domain, &x->aliases))
                        continue;
                exists = true;
                if (principals_match(&x->allow, a->caller)) {
                        g = x;
                        break;
                }
        }
        for (size_t i = 0; i < cfg->n_ntlm_domains; i++) {
                const NtlmDomainGrant *x = &cfg->ntlm_domains[i];

                if (!principal_names(a->principal, x->name, x->domain, &x->aliases))
                        continue;
                exists = true;
                if (principals_match(&x->allow, a->caller)) {
                        dg = x;
                        break;
                }
        }
        if (!g && !dg)
                return exists ? SEC_E_NOT_OWNER : SEC_E_NO_CREDENTIALS;
        if (dg && (!(c->nt_domain = strdup(dg->domain)) || names_copy(&dg->aliases, &c->nt_aliases) < 0))
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!g) {
                c->store_domain = strdup(dg->domain);
                return c->store_domain ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        }
        r = ntlm_store_load(g->file, g->domain, &c->accounts, &c->n_accounts);
        if (r < 0) {
                fprintf(stderr, "ntlm: cannot use store %s (%s): %s\n", g->name, g->file,
                        r == -EPERM ? "readable by others or foreign owner" : strerror(-r));
                return SEC_E_NO_CREDENTIALS;
        }
        c->has_store = true;
        c->allow_v1 = g->allow_ntlmv1;
        c->store_domain = strdup(g->domain);
        if (!c->store_domain || names_copy(&g->aliases, &c->store_aliases) < 0)
                return SEC_E_INSUFFICIENT_MEMORY;
        return SEC_E_OK;
}

/* The logon session's own user name, for an identity with a password and
 * no user (Windows takes the logged-on user's name then). */
static char *session_user(uid_t uid) {
        struct passwd pw, *pwp = NULL;
        char buf[1024];

        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp)
                return NULL;
        return strdup(pwp->pw_name);
}

/*
 * An explicit identity is accepted as Windows accepts it, with or without
 * a user name or a password: a missing user name is the logon session's
 * user, and a missing password leaves a credential that InitializeSecurity
 * Context refuses with SEC_E_NO_CREDENTIALS (there is no logon session
 * secret here to fall back to). No identity at all still says
 * SEC_E_NO_CREDENTIALS here: NTLM has no single sign-on.
 */
static SECURITY_STATUS acquire_outbound(void *cred, const PkgAcquire *a, void *extra) {
        NtlmCred *c = cred;
        const char *user = a->user, *domain = a->domain;
        char *split = NULL;
        const char *at, *bs;

        if (!a->has_identity)
                return SEC_E_NO_CREDENTIALS;
        if (!user)
                user = "";
        if ((!domain || !*domain) && (bs = strchr(user, '\\'))) {
                split = strndup(user, (size_t) (bs - user));
                domain = split;
                user = bs + 1;
        } else if ((!domain || !*domain) && (at = strrchr(user, '@')) && at > user && at[1]) {
                /* A UPN goes whole in the user field with an empty domain,
                 * as Windows clients send it (the Linux cifs client's
                 * "Fix default behaviour for empty domains", traced
                 * against Windows 10), and NTOWFv2 is computed over it
                 * (MS-NLMP 3.3.2: UserDom empty): the DC resolves the UPN,
                 * an alternate suffix included, which no domain field
                 * could name. */
                domain = "";
        }
        if (user)
                c->user = *user ? strdup(user) : session_user(a->act_as_uid);
        c->domain = strdup(domain ? domain : "");
        free(split);
        if (!c->domain || (!c->user && (!user || *user)))
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!c->user && !(c->user = strdup("")))
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!a->password || !*c->user)
                return SEC_E_OK; /* refused at InitializeSecurityContext */
        if (ntlm_nt_hash(a->password, a->password_len, c->nt_hash) < 0)
                return SEC_E_UNKNOWN_CREDENTIALS;
        c->has_secret = true;
        return SEC_E_OK;
}

bool ntlm_cred_has_secret(void *p) {
        NtlmCred *c = p;
        return c && (!(c->use & SECPKG_CRED_OUTBOUND) || c->has_secret);
}

SECURITY_STATUS ntlm_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        NtlmCred *c = calloc(1, sizeof(*c));
        SECURITY_STATUS st;

        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = pkg_acquire_halves(a, c, &c->use, acquire_outbound, acquire_inbound, NULL);
        if (st != SEC_E_OK) {
                ntlm_cred_free(c);
                return st;
        }
        *ret_cred = c;
        *ret_expiry = FILETIME_NEVER;
        return SEC_E_OK;
}

SECURITY_STATUS ntlm_cred_name(void *p, char **ret_name) {
        NtlmCred *c = p;
        char *s = NULL;

        if (c->use & SECPKG_CRED_OUTBOUND) {
                /* A UPN (no domain) is named as given. */
                if (asprintf(&s, "%s%s%s", c->domain, *c->domain ? "\\" : "", c->user) < 0)
                        return SEC_E_INSUFFICIENT_MEMORY;
        } else if (asprintf(&s, "%s\\", c->store_domain) < 0)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret_name = s;
        return SEC_E_OK;
}

bool ntlm_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        const NtlmCred *c = cred;

        /* MD4/MD5/RC4 over a few hundred bytes, except the AUTHENTICATE of
         * an acceptor with a domain: winbindd asks the DC (ntlm-domain.c). */
        return accept && ctx && c && c->nt_domain;
}
