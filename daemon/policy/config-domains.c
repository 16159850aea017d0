/* SPDX-License-Identifier: MIT */
/*
 * The [kerberos] section's keys (config_kerberos_apply, at the end), and
 * the one that needs a table:
 *
 * [kerberos] netbios-domain = CORP = CORP.TEST (issue 15 item 2): the realm
 * an explicit identity's NetBIOS domain ("CORP\alice", or Domain "CORP")
 * stands for. Repeatable, one domain a line. Without a line the daemon asks
 * the default realm's KDC with the enterprise name alice@CORP, which an AD
 * DC resolves itself (daemon/packages/kerberos/kerberos-names.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/config.h"

/* A NetBIOS domain has at most 15 characters and no dot; a realm no blank
 * and none of the characters that separate principal parts. */
static char *take_name(const char *s, size_t n, bool netbios) {
        char *r;

        while (n > 0 && isspace((unsigned char) *s))
                s++, n--;
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        if (n == 0 || (netbios && n > 15))
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (isspace((unsigned char) s[i]) || strchr("@/\\=", s[i]) || (unsigned char) s[i] < 0x20 ||
                    (netbios && s[i] == '.'))
                        return NULL;
        r = strndup(s, n);
        for (char *p = r; p && *p; p++)
                *p = (char) toupper((unsigned char) *p);
        return r;
}

int config_add_netbios_domain(Config *c, const char *value) {
        const char *eq = strchr(value, '=');
        NetbiosDomain *n;
        char *netbios, *realm;

        if (!eq)
                return -EINVAL;
        netbios = take_name(value, (size_t) (eq - value), true);
        realm = take_name(eq + 1, strlen(eq + 1), false);
        if (!netbios || !realm)
                goto invalid;
        for (size_t i = 0; i < c->n_netbios_domains; i++)
                if (!strcmp(c->netbios_domains[i].netbios, netbios))
                        goto invalid; /* one realm per domain: a second line is a mistake */
        n = reallocarray(c->netbios_domains, c->n_netbios_domains + 1, sizeof(*n));
        if (!n) {
                free(netbios);
                free(realm);
                return -ENOMEM;
        }
        c->netbios_domains = n;
        n[c->n_netbios_domains++] = (NetbiosDomain) { .netbios = netbios, .realm = realm };
        return 0;

invalid:
        free(netbios);
        free(realm);
        return -EINVAL;
}

void config_netbios_domains_free(Config *c) {
        for (size_t i = 0; i < c->n_netbios_domains; i++) {
                free(c->netbios_domains[i].netbios);
                free(c->netbios_domains[i].realm);
        }
        free(c->netbios_domains);
        c->netbios_domains = NULL;
        c->n_netbios_domains = 0;
}

/* One key of [kerberos]: 0, -ENOKEY, -EINVAL or -ENOMEM. */
int config_kerberos_apply(Config *c, const char *key, char *value) {
        if (!strcmp(key, "krb5-config"))
                return config_replace_str(&c->krb5_config, value);
        if (!strcmp(key, "delegation"))
                return parse_bool(value, &c->delegation);
        if (!strcmp(key, "kdc-proxy-ca-file"))
                return config_replace_str(&c->kdc_proxy_ca_file, value);
        if (!strcmp(key, "kdc-proxy-hosts")) {
                /* "*" is the default: any host (NULL). */
                if (!strcmp(value, "*")) {
                        free(c->kdc_proxy_hosts);
                        c->kdc_proxy_hosts = NULL;
                        return 0;
                }
                return config_replace_str(&c->kdc_proxy_hosts, value);
        }
        if (!strcmp(key, "kdc-proxy-timeout")) {
                unsigned long v;
                if (parse_uint(value, 300, &v) < 0 || v == 0)
                        return -EINVAL;
                c->kdc_proxy_timeout = v;
                return 0;
        }
        if (!strcmp(key, "replay-cache")) {
                unsigned long v;
                if (parse_uint(value, 1u << 24, &v) < 0)
                        return -EINVAL;
                c->replay_cache = v;
                return 0;
        }
        if (!strcmp(key, "netbios-domain"))
                return config_add_netbios_domain(c, value);
        return -ENOKEY;
}
