/* SPDX-License-Identifier: MIT */
/*
 * Client name → local account (localuser.h).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <krb5.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/localuser.h"
#include "policy/config.h"

/* Longer names than this are no account name any NSS module hands out. */
#define NAME_MAX_LEN 512

void local_user_done(LocalUser *u) {
        free(u->name);
        free(u->groups);
        *u = (LocalUser) { 0 };
}

/* getpwnam_r with a buffer grown on ERANGE. 0, -ENOENT or -errno. */
static int passwd_by_name(const char *name, LocalUser *ret) {
        size_t len = 1024;

        for (;;) {
                _cleanup_(freep) char *buf = malloc(len);
                struct passwd pw, *res = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getpwnam_r(name, &pw, buf, len, &res);
                if (r == ERANGE && len < 1024 * 1024) {
                        len *= 4;
                        continue;
                }
                /* NSS modules report "no such user" as 0 with no result or
                 * as ENOENT/ESRCH/EBADF/EPERM (getpwnam_r(3)). */
                if (r == 0 && !res)
                        return -ENOENT;
                if (r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
                        return -ENOENT;
                if (r != 0)
                        return -r;
                ret->name = strdup(pw.pw_name);
                if (!ret->name)
                        return -ENOMEM;
                ret->uid = pw.pw_uid;
                ret->gid = pw.pw_gid;
                return 0;
        }
}

/* The supplementary groups, the primary one included as getgrouplist()
 * puts it first. */
static int groups_of(LocalUser *u) {
        int n = 32;

        for (int tries = 0; tries < 8; tries++) {
                _cleanup_(freep) gid_t *g = calloc((size_t) n, sizeof(gid_t));
                int want = n;

                if (!g)
                        return -ENOMEM;
                if (getgrouplist(u->name, u->gid, g, &want) >= 0) {
                        u->groups = TAKE_PTR(g);
                        u->n_groups = (size_t) want;
                        return 0;
                }
                if (want <= n || want > 65536)
                        return -EIO;
                n = want;
        }
        return -EIO;
}

static int account(const char *name, LocalUser *ret) {
        LocalUser u = { 0 };
        int r;

        r = passwd_by_name(name, &u);
        if (r == 0)
                r = groups_of(&u);
        if (r < 0) {
                local_user_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}

/* The first label of the default realm ("CORP" for CORP.TEST) into buf. */
static bool realm_label(krb5_context k, char *buf, size_t size) {
        char *realm = NULL;
        size_t n;

        if (krb5_get_default_realm(k, &realm) != 0 || !realm)
                return false;
        n = strcspn(realm, ".");
        if (n == 0 || n >= size) {
                krb5_xfree(realm);
                return false;
        }
        memcpy(buf, realm, n);
        buf[n] = '\0';
        krb5_xfree(realm);
        return true;
}

static bool domain_is_own(const char *domain, const Config *config, krb5_context k) {
        char label[256];

        for (size_t i = 0; config && i < config->n_ntlm_stores; i++)
                if (config->ntlm_stores[i].domain && strcasecmp(config->ntlm_stores[i].domain, domain) == 0)
                        return true;
        return k && realm_label(k, label, sizeof(label)) && strcasecmp(label, domain) == 0;
}

static int lookup_domain_user(const char *name, const char *sep, const Config *config, krb5_context k,
                              LocalUser *ret) {
        const char *user = sep + 1;
        char domain[256];
        size_t dl = (size_t) (sep - name);
        int r;

        if (dl == 0 || dl >= sizeof(domain) || !*user || strchr(user, '\\'))
                return -EINVAL;
        memcpy(domain, name, dl);
        domain[dl] = '\0';
        /* winbind's spelling first: the account the domain's idmap gave. */
        r = account(name, ret);
        if (r != -ENOENT)
                return r;
        if (!domain_is_own(domain, config, k))
                return -ENOENT;
        return account(user, ret);
}

static int lookup_principal(const char *name, krb5_context k, LocalUser *ret) {
        krb5_principal p = NULL;
        char local[NAME_MAX_LEN + 1];
        krb5_error_code kr;

        if (!k)
                return -EIO;
        if (krb5_parse_name(k, name, &p) != 0)
                return -EINVAL;
        kr = krb5_aname_to_localname(k, p, sizeof(local), local);
        krb5_free_principal(k, p);
        if (kr != 0)
                return -ENOENT; /* KRB5_NO_LOCALNAME, or a rule that matched nothing */
        return account(local, ret);
}

int localuser_lookup(const char *client_name, unsigned forms, const Config *config, LocalUser *ret) {
        const char *sep;
        krb5_context k = NULL;
        int r;

        *ret = (LocalUser) { 0 };
        if (!client_name || !*client_name || strlen(client_name) > NAME_MAX_LEN)
                return -EINVAL;
        for (const char *c = client_name; *c; c++)
                if (iscntrl((unsigned char) *c) || *c == ':')
                        return -EINVAL; /* in no account name (passwd's separator) */
        sep = strchr(client_name, '\\');
        if (sep ? !(forms & LOCALUSER_DOMAIN_USER) : !(forms & LOCALUSER_PRINCIPAL) || !strchr(client_name, '@'))
                return -EINVAL;
        /* Read per call: the krb5.conf rules may change, and a worker needs
         * a context of its own anyway. */
        if (krb5_init_context(&k) != 0)
                k = NULL;
        if (sep)
                r = lookup_domain_user(client_name, sep, config, k, ret);
        else
                r = lookup_principal(client_name, k, ret);
        if (k)
                krb5_free_context(k);
        return r;
}
