/* SPDX-License-Identifier: MIT */
/*
 * The NTLM acceptor's domain sections (issue 15 items 1 and 2):
 *
 *   [ntlm-domain NAME]   an Active Directory domain checked through the
 *                        host's winbindd: domain (NetBIOS, default NAME),
 *                        aliases, allow
 *   aliases = ...        in [ntlm-domain] and [ntlm-store]: the other names
 *                        a client may give for the domain (its DNS name)
 *
 * config.c parses the file and calls in here for these keys.
 */
#include "policy/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Domain names: NetBIOS names are at most 15 characters, DNS names 255. */
#define DOMAIN_NAME_MAX 255
#define ALIASES_MAX 32

void config_names_done(NameList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        *l = (NameList) {};
}

static bool domain_name_ok(const char *s, size_t n) {
        if (n == 0 || n > DOMAIN_NAME_MAX)
                return false;
        /* No separators a client's "DOMAIN\user" or "user@domain" could
         * carry, no blanks or controls: the names are compared, logged and
         * put in challenges. */
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (ch <= 0x20 || ch == 0x7f || ch == '\\' || ch == '@' || ch == '/')
                        return false;
        }
        return true;
}

/* Blank- or comma-separated names; a repeated key replaces the list.
 * 0, -EINVAL (a bad or too many names), -ENOMEM. */
int config_parse_names(const char *s, NameList *ret) {
        NameList l = {};

        while (*s) {
                size_t n;
                char **v;

                s += strspn(s, " \t,");
                n = strcspn(s, " \t,");
                if (n == 0)
                        break;
                if (!domain_name_ok(s, n) || l.n >= ALIASES_MAX) {
                        config_names_done(&l);
                        return -EINVAL;
                }
                v = reallocarray(l.v, l.n + 1, sizeof(*v));
                if (!v) {
                        config_names_done(&l);
                        return -ENOMEM;
                }
                l.v = v;
                if (!(l.v[l.n] = strndup(s, n))) {
                        config_names_done(&l);
                        return -ENOMEM;
                }
                l.n++;
                s += n;
        }
        if (l.n == 0)
                return -EINVAL;
        config_names_done(ret);
        *ret = l;
        return 0;
}

bool config_domain_matches(const char *domain, const NameList *aliases, const char *name) {
        if (!name || !*name)
                return false;
        if (domain && !strcasecmp(domain, name))
                return true;
        for (size_t i = 0; aliases && i < aliases->n; i++)
                if (!strcasecmp(aliases->v[i], name))
                        return true;
        return false;
}

int config_ntlm_domain_open(Config *c, const char *name) {
        NtlmDomainGrant *n = reallocarray(c->ntlm_domains, c->n_ntlm_domains + 1, sizeof(*n));

        if (!n)
                return -ENOMEM;
        c->ntlm_domains = n;
        n[c->n_ntlm_domains] = (NtlmDomainGrant) {};
        if (!(n[c->n_ntlm_domains].name = strdup(name)))
                return -ENOMEM;
        c->n_ntlm_domains++;
        return 0;
}

int config_ntlm_domain_apply(Config *c, const char *key, char *value, const char **ret_bad) {
        NtlmDomainGrant *g = &c->ntlm_domains[c->n_ntlm_domains - 1];

        if (!strcmp(key, "domain")) {
                char *d;
                if (!domain_name_ok(value, strlen(value)))
                        return -EINVAL;
                if (!(d = strdup(value)))
                        return -ENOMEM;
                free(g->domain);
                g->domain = d;
                return 0;
        }
        if (!strcmp(key, "aliases"))
                return config_parse_names(value, &g->aliases);
        if (!strcmp(key, "allow"))
                return parse_principals(value, &g->allow, ret_bad);
        return -ENOKEY;
}

/* An [ntlm-store NAME] key. */
int config_ntlm_store_apply(NtlmStoreGrant *g, const char *key, char *value, const char **ret_bad) {
        if (!strcmp(key, "file"))
                return config_replace_str(&g->file, value);
        if (!strcmp(key, "domain"))
                return config_replace_str(&g->domain, value);
        if (!strcmp(key, "allow-ntlmv1"))
                return parse_bool(value, &g->allow_ntlmv1);
        if (!strcmp(key, "aliases"))
                return config_parse_names(value, &g->aliases);
        if (!strcmp(key, "allow"))
                return parse_principals(value, &g->allow, ret_bad);
        return -ENOKEY;
}

void config_ntlm_free(Config *c) {
        for (size_t i = 0; i < c->n_ntlm_stores; i++)
                config_names_done(&c->ntlm_stores[i].aliases);
        for (size_t i = 0; i < c->n_ntlm_domains; i++) {
                NtlmDomainGrant *g = &c->ntlm_domains[i];
                free(g->name);
                free(g->domain);
                config_names_done(&g->aliases);
                free(g->allow.uids);
                free(g->allow.gids);
        }
        free(c->ntlm_domains);
        c->ntlm_domains = NULL;
        c->n_ntlm_domains = 0;
}

int config_ntlm_finish(Config *c, const char **ret_what) {
        for (size_t i = 0; i < c->n_ntlm_domains; i++) {
                NtlmDomainGrant *g = &c->ntlm_domains[i];

                if (!g->domain) {
                        if (!domain_name_ok(g->name, strlen(g->name))) {
                                *ret_what = "[ntlm-domain NAME] needs a domain name (NAME or domain =)";
                                return -EINVAL;
                        }
                        if (!(g->domain = strdup(g->name)))
                                return -ENOMEM;
                }
        }
        return 0;
}
