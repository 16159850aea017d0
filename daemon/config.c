/* SPDX-License-Identifier: MIT */
/*
 * INI configuration. The grammar is deliberately small:
 *
 *   # comment            ; comment
 *   [daemon]             [kerberos]             [acceptor NAME]
 *   key = value
 *
 * Unknown sections and keys are errors, so that a typo in a grant never
 * silently widens or narrows access.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

#define CONFIG_LINE_MAX 4096

static void idset_done(IdSet *p) {
        free(p->uids);
        free(p->gids);
        *p = (IdSet) {};
}

static void config_free(Config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_acceptors; i++) {
                free(c->acceptors[i].name);
                free(c->acceptors[i].principal);
                free(c->acceptors[i].keytab);
                idset_done(&c->acceptors[i].allow);
        }
        free(c->acceptors);
        idset_done(&c->tcb);
        idset_done(&c->session_key);
        free(c->krb5_config);
        free(c->path);
        free(c);
}

Config *config_ref(Config *c) {
        if (c)
                __atomic_add_fetch(&c->refcount, 1, __ATOMIC_RELAXED);
        return c;
}

void config_unref(Config *c) {
        if (c && __atomic_sub_fetch(&c->refcount, 1, __ATOMIC_ACQ_REL) == 0)
                config_free(c);
}

static int set_error(char **ret_error, const char *path, unsigned line, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL, *full = NULL;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (ret_error && msg && asprintf(&full, "%s:%u: %s", path, line, msg) >= 0)
                *ret_error = full;
        free(msg);
        return -EINVAL;
}

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        return s;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret) {
        char *end;
        unsigned long v;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_bool(const char *s, bool *ret) {
        if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "on")) {
                *ret = true;
                return 0;
        }
        if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "off")) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

static int push_id(uint32_t **v, size_t *n, uint32_t id) {
        uint32_t *nv = reallocarray(*v, *n + 1, sizeof(uint32_t));
        if (!nv)
                return -ENOMEM;
        nv[(*n)++] = id;
        *v = nv;
        return 0;
}

/* "root 1000 @wheel @0": users by name or number, groups prefixed by '@'. */
static int parse_principals(char *s, IdSet *p, const char **ret_bad) {
        char *save = NULL;

        idset_done(p);
        for (char *tok = strtok_r(s, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
                unsigned long v;
                bool group = tok[0] == '@';
                const char *name = group ? tok + 1 : tok;
                int r;

                if (parse_uint(name, UINT32_MAX - 1, &v) < 0) {
                        if (group) {
                                struct group *g = getgrnam(name);
                                if (!g) {
                                        *ret_bad = tok;
                                        return -ENOENT;
                                }
                                v = g->gr_gid;
                        } else {
                                struct passwd *pw = getpwnam(name);
                                if (!pw) {
                                        *ret_bad = tok;
                                        return -ENOENT;
                                }
                                v = pw->pw_uid;
                        }
                }
                r = group ? push_id(&p->gids, &p->n_gids, v) : push_id(&p->uids, &p->n_uids, v);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int replace_str(char **dst, const char *v) {
        char *n = strdup(v);
        if (!n)
                return -ENOMEM;
        free(*dst);
        *dst = n;
        return 0;
}

typedef enum Section {
        SECTION_NONE,
        SECTION_DAEMON,
        SECTION_KERBEROS,
        SECTION_ACCEPTOR,
} Section;

static int apply_daemon(Config *c, const char *key, char *value, const char **ret_bad) {
        unsigned long v;

        if (!strcmp(key, "workers")) {
                if (parse_uint(value, 64, &v) < 0 || v == 0)
                        return -EINVAL;
                c->workers = v;
        } else if (!strcmp(key, "max-frame")) {
                if (parse_uint(value, 64u << 20, &v) < 0 || v < 4096)
                        return -EINVAL;
                c->max_frame = v;
        } else if (!strcmp(key, "max-objects")) {
                if (parse_uint(value, 1u << 20, &v) < 0 || v == 0)
                        return -EINVAL;
                c->max_objects = v;
        } else if (!strcmp(key, "max-calls")) {
                if (parse_uint(value, 1u << 16, &v) < 0 || v == 0)
                        return -EINVAL;
                c->max_calls = v;
        } else if (!strcmp(key, "tcb")) {
                return parse_principals(value, &c->tcb, ret_bad);
        } else if (!strcmp(key, "session-key")) {
                return parse_principals(value, &c->session_key, ret_bad);
        } else if (!strcmp(key, "export")) {
                if (!strcmp(value, "never"))
                        c->export_policy = EXPORT_NEVER;
                else if (!strcmp(value, "same-uid"))
                        c->export_policy = EXPORT_SAME_UID;
                else
                        return -EINVAL;
        } else if (!strcmp(key, "export-ttl")) {
                if (parse_uint(value, 3600, &v) < 0 || v == 0)
                        return -EINVAL;
                c->export_ttl = v;
        } else
                return -ENOKEY;
        return 0;
}

static int apply_kerberos(Config *c, const char *key, char *value) {
        if (!strcmp(key, "krb5-config"))
                return replace_str(&c->krb5_config, value);
        if (!strcmp(key, "delegation"))
                return parse_bool(value, &c->delegation);
        if (!strcmp(key, "replay-cache")) {
                unsigned long v;
                if (parse_uint(value, 1u << 24, &v) < 0)
                        return -EINVAL;
                c->replay_cache = v;
                return 0;
        }
        return -ENOKEY;
}

static int apply_acceptor(AcceptorGrant *g, const char *key, char *value, const char **ret_bad) {
        if (!strcmp(key, "principal"))
                return replace_str(&g->principal, value);
        if (!strcmp(key, "keytab"))
                return replace_str(&g->keytab, value);
        if (!strcmp(key, "allow"))
                return parse_principals(value, &g->allow, ret_bad);
        return -ENOKEY;
}

static int config_defaults(Config **ret) {
        Config *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->refcount = 1;
        c->workers = 4;
        c->max_frame = 1u << 20;
        c->max_objects = 4096;
        c->max_calls = 1024;
        c->export_policy = EXPORT_SAME_UID;
        c->export_ttl = 60;
        c->replay_cache = 1u << 18;
        *ret = c;
        return 0;
}

int config_load(const char *path, Config **ret, char **ret_error) {
        Config *c = NULL;
        FILE *f = NULL;
        char line[CONFIG_LINE_MAX];
        Section section = SECTION_NONE;
        unsigned lineno = 0;
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = config_defaults(&c);
        if (r < 0)
                return r;
        if (!path) {
                *ret = c;
                return 0;
        }
        r = replace_str(&c->path, path);
        if (r < 0)
                goto fail;
        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                if (ret_error && asprintf(ret_error, "%s: %s", path, strerror(errno)) < 0)
                        *ret_error = NULL;
                goto fail;
        }
        while (fgets(line, sizeof(line), f)) {
                const char *bad = NULL;
                char *s, *eq, *key, *value;

                lineno++;
                if (!strchr(line, '\n') && !feof(f)) {
                        r = set_error(ret_error, path, lineno, "line too long");
                        goto fail;
                }
                s = strip(line);
                if (*s == '\0' || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        char *end = strchr(s, ']');
                        if (!end || end[1] != '\0') {
                                r = set_error(ret_error, path, lineno, "malformed section header");
                                goto fail;
                        }
                        *end = '\0';
                        s = strip(s + 1);
                        if (!strcmp(s, "daemon"))
                                section = SECTION_DAEMON;
                        else if (!strcmp(s, "kerberos"))
                                section = SECTION_KERBEROS;
                        else if (!strncmp(s, "acceptor", 8) && isspace((unsigned char) s[8])) {
                                AcceptorGrant *n = reallocarray(c->acceptors, c->n_acceptors + 1, sizeof(*n));
                                if (!n) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                c->acceptors = n;
                                n[c->n_acceptors] = (AcceptorGrant) {};
                                r = replace_str(&n[c->n_acceptors++].name, strip(s + 8));
                                if (r < 0)
                                        goto fail;
                                section = SECTION_ACCEPTOR;
                        } else {
                                r = set_error(ret_error, path, lineno, "unknown section [%s]", s);
                                goto fail;
                        }
                        continue;
                }
                eq = strchr(s, '=');
                if (!eq) {
                        r = set_error(ret_error, path, lineno, "expected key = value");
                        goto fail;
                }
                *eq = '\0';
                key = strip(s);
                value = strip(eq + 1);
                switch (section) {
                case SECTION_DAEMON:
                        r = apply_daemon(c, key, value, &bad);
                        break;
                case SECTION_KERBEROS:
                        r = apply_kerberos(c, key, value);
                        break;
                case SECTION_ACCEPTOR:
                        r = apply_acceptor(&c->acceptors[c->n_acceptors - 1], key, value, &bad);
                        break;
                default:
                        r = -ENOKEY;
                }
                if (r == -ENOKEY) {
                        r = set_error(ret_error, path, lineno, "unknown key '%s' here", key);
                        goto fail;
                }
                if (r == -ENOENT) {
                        r = set_error(ret_error, path, lineno, "no such user or group '%s'", bad);
                        goto fail;
                }
                if (r < 0) {
                        r = set_error(ret_error, path, lineno, "invalid value for '%s'", key);
                        goto fail;
                }
        }
        for (size_t i = 0; i < c->n_acceptors; i++)
                if (!c->acceptors[i].principal || !c->acceptors[i].keytab) {
                        r = set_error(ret_error, path, lineno, "[acceptor %s] needs principal and keytab",
                                      c->acceptors[i].name);
                        goto fail;
                }
        fclose(f);
        *ret = c;
        return 0;
fail:
        if (f)
                fclose(f);
        config_free(c);
        return r;
}

bool principals_match(const IdSet *p, const Caller *caller) {
        for (size_t i = 0; i < p->n_uids; i++)
                if (p->uids[i] == caller->uid)
                        return true;
        for (size_t i = 0; i < p->n_gids; i++) {
                if (p->gids[i] == caller->gid)
                        return true;
                for (size_t j = 0; j < caller->n_groups; j++)
                        if (p->gids[i] == caller->groups[j])
                                return true;
        }
        return false;
}

/* "HTTP/host" matches "HTTP/host@REALM": a name without a realm compares
 * against the grant's principal without its realm. */
static bool principal_matches(const char *grant, const char *name) {
        const char *at;

        if (!strcmp(grant, name))
                return true;
        if (strchr(name, '@'))
                return false;
        at = strrchr(grant, '@');
        return at && (size_t) (at - grant) == strlen(name) && !strncmp(grant, name, at - grant);
}

const AcceptorGrant *config_find_acceptor(const Config *c, const Caller *caller, const char *name, bool *ret_exists) {
        bool exists = false;

        for (size_t i = 0; i < c->n_acceptors; i++) {
                const AcceptorGrant *g = &c->acceptors[i];

                if (name && !principal_matches(g->principal, name))
                        continue;
                exists = true;
                if (principals_match(&g->allow, caller)) {
                        if (ret_exists)
                                *ret_exists = true;
                        return g;
                }
        }
        if (ret_exists)
                *ret_exists = exists;
        return NULL;
}
