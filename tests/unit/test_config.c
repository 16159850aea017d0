/* SPDX-License-Identifier: MIT */
/* The INI configuration: values, grants, and errors that name the line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/config.h"
#include "packages/provider.h"
#include "tap.h"

static int load(const char *text, Config **c, char **err) {
        char path[] = "/tmp/sspid-config-XXXXXX";
        int fd = mkstemp(path), r;
        (void) !write(fd, text, strlen(text));
        close(fd);
        *err = NULL;
        r = config_load(path, c, err);
        unlink(path);
        return r;
}

int main(void) {
        Config *c = NULL;
        char *err = NULL;
        gid_t groups[] = { 4242 };
        Caller root = { .uid = 0, .gid = 0 }, user = { .uid = 1000, .gid = 1000 },
               grouped = { .uid = 2000, .gid = 2000, .groups = groups, .n_groups = 1 };

        ok(config_load(NULL, &c, &err) == 0 && c->workers == 4 && c->max_frame == 1u << 20 &&
                   c->export_policy == EXPORT_SAME_UID && c->n_acceptors == 0,
           "built-in defaults");
        config_unref(c);

        ok(load("# comment\n[daemon]\nworkers = 2\nmax-frame = 65536\nsession-key = 0 @4242\nexport = never\n"
                "[kerberos]\nkrb5-config = /etc/krb5.conf\ndelegation = yes\n"
                "[acceptor web]\nprincipal = HTTP/web@EX.COM\nkeytab = /etc/web.keytab\nallow = 1000 @4242\n",
                &c, &err) == 0,
           "full file parses");
        if (c) {
                ok(c->workers == 2 && c->max_frame == 65536 && c->export_policy == EXPORT_NEVER && c->delegation &&
                           !strcmp(c->krb5_config, "/etc/krb5.conf"),
                   "values");
                ok(principals_match(&c->session_key, &root) && principals_match(&c->session_key, &grouped) &&
                           !principals_match(&c->session_key, &user),
                   "session-key grant by uid and supplementary group");
                const char *g = c->acceptors[0].principal;
                ok(config_principal_matches(g, "HTTP/web"), "principal without realm matches");
                ok(config_principal_matches(g, "HTTP/web@EX.COM"), "principal with realm");
                ok(!config_principal_matches(g, "HTTP/other") && !config_principal_matches(g, "HTTP/web@OTHER"),
                   "another principal or realm does not match");
                ok(!config_principal_matches(g, "HTTP/we"), "prefix does not match");
                /* AD compares SPNs case-insensitively (issue 15 item 4). */
                ok(config_principal_matches(g, "http/WEB"), "service and host any case");
                ok(config_principal_matches(g, "Http/Web@ex.com"), "realm any case");
                config_unref(c);
        }

        /* NetBIOS domains (issue 15 item 2): upper-cased, repeatable, each once. */
        ok(load("[kerberos]\nnetbios-domain = corp = corp.test\nnetbios-domain=LAB=LAB.CORP.TEST\n", &c, &err) == 0 &&
                   c && c->n_netbios_domains == 2 && !strcmp(c->netbios_domains[0].netbios, "CORP") &&
                   !strcmp(c->netbios_domains[0].realm, "CORP.TEST") &&
                   !strcmp(c->netbios_domains[1].netbios, "LAB") &&
                   !strcmp(c->netbios_domains[1].realm, "LAB.CORP.TEST"),
           "netbios-domain lines parse: %s", err);
        config_unref(c);
        c = NULL;
        free(err);
        static const char *bad_domains[] = {
                "CORP",                         /* no realm */
                "CORP =",                       /* empty realm */
                "= CORP.TEST",                  /* empty domain */
                "CORP.TEST = CORP.TEST",        /* a dot: a DNS name, not NetBIOS */
                "SIXTEENCHARSLONG = X.TEST",    /* longer than 15 */
                "CO RP = CORP.TEST",            /* blank inside */
                "CORP = CORP TEST",
                "CORP = alice@CORP.TEST",
                "CORP = CORP.TEST\nnetbios-domain = corp = OTHER.TEST", /* the same domain twice */
        };
        for (size_t i = 0; i < sizeof(bad_domains) / sizeof(*bad_domains); i++) {
                char text[256];
                snprintf(text, sizeof(text), "[kerberos]\nnetbios-domain = %s\n", bad_domains[i]);
                int r = load(text, &c, &err);
                /* The error names the line: the last one (the repeat). */
                ok(r < 0 && err && strstr(err, strchr(bad_domains[i], '\n') ? ":3:" : ":2:"),
                   "netbios-domain = %s refused: %s", bad_domains[i], err);
                free(err);
                err = NULL;
                if (c) {
                        config_unref(c);
                        c = NULL;
                }
        }

        /* A whole keytab: "principal = *" or no principal line. */
        ok(load("[acceptor host]\nkeytab = /etc/krb5.keytab\nallow = 1000\n[acceptor star]\nprincipal = *\n"
                "keytab = /k\nallow = 1000\n", &c, &err) == 0 && c && c->n_acceptors == 2 &&
                   !c->acceptors[0].principal && !c->acceptors[1].principal,
           "whole-keytab grants parse: %s", err);
        if (c)
                ok(config_principal_matches(c->acceptors[0].principal, "anything/at-all"),
                   "a whole-keytab grant is a candidate for any name (its keytab decides)");
        config_unref(c);
        c = NULL;
        free(err);
        err = NULL;
        ok(load("[acceptor x]\nprincipal = HTTP/*\nkeytab = /k\n", &c, &err) < 0 && err && strstr(err, ":2:"),
           "a wildcard other than a lone * refused: %s", err);
        free(err);
        err = NULL;
        ok(load("[acceptor x]\nprincipal = @EX.COM\nkeytab = /k\n", &c, &err) < 0 && err && strstr(err, ":2:"),
           "a principal without a name refused: %s", err);
        free(err);
        err = NULL;

        ok(load("[daemon]\nworkers = 0\n", &c, &err) < 0 && err && strstr(err, ":2:"), "workers = 0 refused: %s", err);
        free(err);
        err = NULL;
        ok(load("[daemon]\nwrokers = 3\n", &c, &err) < 0 && err && strstr(err, "unknown key"), "typo refused: %s", err);
        free(err);
        err = NULL;
        ok(load("[nonsense]\n", &c, &err) < 0 && err && strstr(err, "unknown section"), "unknown section: %s", err);
        free(err);
        err = NULL;
        ok(load("[acceptor x]\nprincipal = a@B\n", &c, &err) < 0 && err && strstr(err, "keytab"),
           "acceptor without keytab: %s", err);
        free(err);
        err = NULL;
        ok(load("[acceptor x]\nprincipal = a@B\nkeytab = /k\nallow = no-such-user-xyz\n", &c, &err) < 0 && err &&
                   strstr(err, "no-such-user-xyz"),
           "unknown user named: %s", err);
        free(err);
        err = NULL;
        ok(load("[schannel]\nsession-cache = 0\n", &c, &err) < 0 && err && strstr(err, ":2:"),
           "session-cache = 0 refused: %s", err);
        free(err);
        err = NULL;
        ok(load("[schannel]\nchain-cache = 86401\n", &c, &err) < 0 && err && strstr(err, ":2:"),
           "chain-cache over a day refused: %s", err);
        free(err);
        err = NULL;
        if (load("[schannel]\nchain-cache = 0\n", &c, &err) == 0) {
                ok(c->tls_chain_cache == 0, "chain-cache = 0 accepted: every chain verified in full");
                config_unref(c);
        } else
                ok(0, "chain-cache = 0 refused: %s", err);
        if (load("[schannel]\n", &c, &err) == 0) {
                ok(c->tls_chain_cache == 300, "chain-cache defaults to 300 s");
                ok(c->tls_session_cache == 20000, "session-cache defaults to 20000");
                config_unref(c);
        } else
                ok(0, "empty [schannel] refused: %s", err);
        ok(load("[daemon]\nmax-frame = 99999999999999999999\n", &c, &err) < 0, "overflowing number refused");
        free(err);
        err = NULL;
        ok(load("key = value\n", &c, &err) < 0, "key outside a section refused");
        free(err);
        err = NULL;

        /* ---- operations keys, and the grammar kept exact on top of libinih ---- */
        {
                bool fails;

                ok(load("[daemon]\nadmin-group = 0\nlog-level = debug\nquota-connections = 8\nquota-objects = 100\n"
                        "quota-calls = 16\nquota-bytes = 1048576\n",
                        &c, &err) == 0 && c && c->has_admin_group && c->admin_group == 0 && c->log_level == 7 &&
                           c->quota_connections == 8 && c->quota_objects == 100 && c->quota_calls == 16 &&
                           c->quota_bytes == 1048576,
                   "admin-group, log-level and per-uid quotas");
                if (c)
                        config_unref(c);
                c = NULL;
                ok(config_load(NULL, &c, &err) == 0 && c->log_level == 6 && !c->has_admin_group &&
                           c->quota_connections == 1024 && c->quota_objects == 16384 && c->quota_calls == 2048 &&
                           c->quota_bytes == 64u << 20 && c->quota_input_bytes == 128u << 20 &&
                           c->quota_queued == 64 && c->idle_timeout == 600 && c->frame_timeout == 10 &&
                           c->fd_reserve == 64 && c->max_unknown_fields == 16 && c->max_fields == 4096,
                   "defaults: log-level info, no admin group, per-uid limits on (issue 11)");
                if (c)
                        config_unref(c);
                c = NULL;
                ok(load("[daemon]\nquota-input-bytes = 0\nquota-queued = 0\nidle-timeout = 0\nframe-timeout = 0\n"
                        "fd-reserve = 0\nmax-unknown-fields = 0\nmax-fields = 64\n",
                        &c, &err) == 0 &&
                           c->quota_input_bytes == 0 && c->quota_queued == 0 && c->idle_timeout == 0 &&
                           c->frame_timeout == 0 && c->fd_reserve == 0 && c->max_unknown_fields == 0 &&
                           c->max_fields == 64,
                   "every limit can be turned off (0)");
                if (c)
                        config_unref(c);
                c = NULL;
                ok(config_load(NULL, &c, &err) == 0 && c->quota_kdc_proxy == 1 && c->kdc_proxy_timeout == 15 &&
                           !c->kdc_proxy_hosts,
                   "defaults: quota-kdc-proxy 1, kdc-proxy-timeout 15 s, any proxy host (as Windows)");
                if (c)
                        config_unref(c);
                c = NULL;
                ok(load("[daemon]\nquota-kdc-proxy = 0\n[kerberos]\nkdc-proxy-timeout = 300\n"
                        "kdc-proxy-hosts = kp.example.com *.corp.test\n",
                        &c, &err) == 0 &&
                           c->quota_kdc_proxy == 0 && c->kdc_proxy_timeout == 300 && c->kdc_proxy_hosts &&
                           !strcmp(c->kdc_proxy_hosts, "kp.example.com *.corp.test"),
                   "quota-kdc-proxy, kdc-proxy-timeout and kdc-proxy-hosts are taken");
                if (c)
                        config_unref(c);
                c = NULL;
                ok(load("[kerberos]\nkdc-proxy-hosts = a.test\nkdc-proxy-hosts = *\n", &c, &err) == 0 &&
                           !c->kdc_proxy_hosts,
                   "kdc-proxy-hosts = * is any host again");
                if (c)
                        config_unref(c);
                c = NULL;
                for (int i = 0; i < 2; i++) {
                        ok(load(i ? "[kerberos]\nkdc-proxy-timeout = 301\n" : "[kerberos]\nkdc-proxy-timeout = 0\n", &c,
                                &err) < 0,
                           "kdc-proxy-timeout %s is refused", i ? "301" : "0");
                        free(err);
                        err = NULL;
                        config_unref(c);
                        c = NULL;
                }
                ok(load("[daemon]\nmax-fields = 10\n", &c, &err) < 0, "max-fields below 64 is refused");
                free(err);
                err = NULL;
                config_unref(c);
                c = NULL;

                fails = load("[daemon]\nlog-level = loud\n", &c, &err) < 0;
                ok(fails && err && strstr(err, ":2: invalid value for 'log-level'"), "bad log level: %s", err);
                free(err);
                err = NULL;

                fails = load("[daemon]\nadmin-group = no-such-group-xyz\n", &c, &err) < 0;
                ok(fails && err && strstr(err, "no such user or group 'no-such-group-xyz'"), "unknown admin group: %s",
                   err);
                free(err);
                err = NULL;

                /* 300 uids: far beyond libinih's 200-byte line buffer. */
                char text[8192] = "[acceptor big]\nprincipal = a@B\nkeytab = /k\nallow =";
                for (int i = 0; i < 300; i++)
                        snprintf(text + strlen(text), sizeof(text) - strlen(text), " %d", 10000 + i);
                strcat(text, " ; a comment after a long list\n");
                ok(load(text, &c, &err) == 0 && c && c->acceptors[0].allow.n_uids == 300 &&
                           c->acceptors[0].allow.uids[0] == 10000 && c->acceptors[0].allow.uids[299] == 10299,
                   "a 1.8 kB allow line: 300 uids, inline comment dropped");
                if (c)
                        config_unref(c);
                c = NULL;

                ok(load("[daemon]\n    workers = 3 ; inline comment\n  max-calls = 7\n", &c, &err) == 0 && c &&
                           c->workers == 3 && c->max_calls == 7,
                   "indented lines are plain keys, ';' after a blank starts a comment");
                if (c)
                        config_unref(c);
                c = NULL;
                ok(load("\xef\xbb\xbf[daemon]\nworkers = 5\n", &c, &err) == 0 && c && c->workers == 5, "UTF-8 BOM");
                if (c)
                        config_unref(c);
                c = NULL;
                ok(load("[acceptor a]\nprincipal = a@B\nkeytab = /k\n[acceptor a]\nprincipal = b@B\nkeytab = /k2\n",
                        &c, &err) == 0 && c && c->n_acceptors == 2 && !strcmp(c->acceptors[1].principal, "b@B"),
                   "a repeated section header opens a new grant");
                if (c)
                        config_unref(c);
                c = NULL;

                fails = load("[acceptor a]\nprincipal = a@B\nkeytab = /k\n[acceptor empty]\n", &c, &err) < 0;
                ok(fails && err && strstr(err, "[acceptor empty] needs keytab"),
                   "an empty grant section is still checked: %s", err);
                free(err);
                err = NULL;
                fails = load("\n# c\n; c\n\n[daemon]\nbogus = 1\n", &c, &err) < 0;
                ok(fails && err && strstr(err, ":6: unknown key 'bogus' here"),
                   "line numbers count comments and blank lines: %s", err);
                free(err);
                err = NULL;
                fails = load("[daemon]\nworkers: 3\n", &c, &err) < 0;
                ok(fails && err && strstr(err, ":2: expected key = value"), "'key: value' is not our syntax: %s", err);
                free(err);
                err = NULL;
                fails = load("[daemon]\nmax:calls = 3\n", &c, &err) < 0;
                ok(fails && err && strstr(err, "unknown key 'max:calls'"), "a ':' in a key: %s", err);
                free(err);
                err = NULL;
                fails = load("[daemon\nworkers = 3\n", &c, &err) < 0;
                ok(fails && err && strstr(err, ":1: malformed section header"), "malformed header: %s", err);
                free(err);
                err = NULL;

                char *big = malloc(6000);
                memset(big, 'x', 5999);
                memcpy(big, "[daemon]\nworkers = ", 19);
                big[5998] = '\n';
                big[5999] = 0;
                fails = load(big, &c, &err) < 0;
                ok(fails && err && strstr(err, ":2: line too long"), "line too long: %s", err);
                free(err);
                err = NULL;
                free(big);
        }
        /* [digest-store] nonce-cache: default, a value, and the bounds. */
        ok(load("[digest-store a]\nfile = /x\nrealm = r\n[digest-store b]\nfile = /x\nrealm = r\nnonce-cache = 100\n",
                &c, &err) == 0 && c->n_digest_stores == 2 &&
                   c->digest_stores[0].nonce_cache == DIGEST_NONCE_CACHE_DEFAULT && c->digest_stores[1].nonce_cache == 100,
           "digest-store nonce-cache: default %u, or the value given", DIGEST_NONCE_CACHE_DEFAULT);
        config_unref(c);
        c = NULL;
        free(err);
        ok(load("[digest-store a]\nfile = /x\nrealm = r\nnonce-cache = 8\n", &c, &err) < 0 && err,
           "nonce-cache below 16 refused");
        config_unref(c);
        c = NULL;
        free(err);
        ok(load("[digest-store a]\nfile = /x\nrealm = r\nnonce-cache = 2000000\n", &c, &err) < 0 && err,
           "nonce-cache above 1048576 refused");
        config_unref(c);
        c = NULL;
        free(err);

        /* [ntlm-domain] and aliases (issue 15 items 1, 2). */
        ok(load("[ntlm-store s]\nfile = /x\ndomain = CORP\naliases = corp.test, Corp.Example\nallow = 1000\n"
                "[ntlm-domain CORP]\naliases = corp.test\nallow = @4242\n[ntlm-domain other]\ndomain = OTHER\n",
                &c, &err) == 0 && c->n_ntlm_domains == 2,
           "[ntlm-domain NAME] and aliases parse");
        if (c && c->n_ntlm_domains == 2) {
                const NtlmDomainGrant *d = &c->ntlm_domains[0];
                ok(!strcmp(d->domain, "CORP") && !strcmp(c->ntlm_domains[1].domain, "OTHER"),
                   "domain defaults to NAME, or the value given");
                ok(d->aliases.n == 1 && c->ntlm_stores[0].aliases.n == 2, "aliases split on blanks and commas");
                ok(config_domain_matches(d->domain, &d->aliases, "CORP.TEST") &&
                           config_domain_matches(d->domain, &d->aliases, "corp") &&
                           config_domain_matches("CORP", &c->ntlm_stores[0].aliases, "corp.example") &&
                           !config_domain_matches(d->domain, &d->aliases, "corp.tes") &&
                           !config_domain_matches(d->domain, &d->aliases, ""),
                   "names and aliases match case-insensitively, and nothing else");
                ok(principals_match(&d->allow, &grouped) && !principals_match(&d->allow, &user) &&
                           c->ntlm_domains[1].allow.n_uids == 0,
                   "[ntlm-domain] allow by group; none granted by default");
        }
        config_unref(c);
        c = NULL;
        free(err);
        err = NULL;
        static const char *const bad[] = {
                "[ntlm-domain CORP]\naliases = a\\b\n",
                "[ntlm-domain CORP]\naliases = alice@corp\n",
                "[ntlm-domain CORP]\naliases = ,\n",
                "[ntlm-domain CORP]\ndomain = C D\n",
                "[ntlm-domain CORP]\nfile = /x\n",
                "[ntlm-domain a/b]\n",
                "[ntlm-store s]\nfile = /x\ndomain = D\naliases = \x01x\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                int r = load(bad[i], &c, &err);
                ok(r < 0 && err && strstr(err, "/tmp/sspid-config-"), "refused with the line named: %s", err ? err : "(no error)");
                config_unref(c);
                c = NULL;
                free(err);
                err = NULL;
        }

        printf("# %d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
