/* SPDX-License-Identifier: MIT */
/*
 * INI configuration. The grammar is deliberately small:
 *
 *   # comment            ; comment
 *   [daemon]             [kerberos]             [acceptor NAME]
 *   [digest]             [digest-store NAME]
 *   [schannel]           [certificate NAME]
 *   [ntlm-store NAME]    [ntlm-domain NAME] (config-ntlm.c)
 *   key = value
 *
 * Unknown sections and keys are errors, so that a typo in a grant never
 * silently widens or narrows access. Errors name the file and the line.
 * A ';' after a blank starts a comment inside a value (libinih's rule).
 */
#include "policy/config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packages/provider.h"

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
        config_netbios_domains_free(c);
        for (size_t i = 0; i < c->n_certificates; i++) {
                free(c->certificates[i].name);
                free(c->certificates[i].file);
                free(c->certificates[i].key);
                if (c->certificates[i].password)
                        explicit_bzero(c->certificates[i].password, strlen(c->certificates[i].password));
                free(c->certificates[i].password);
                idset_done(&c->certificates[i].allow);
        }
        free(c->certificates);
        free(c->tls_ca_file);
        for (size_t i = 0; i < c->n_digest_stores; i++) {
                free(c->digest_stores[i].name);
                free(c->digest_stores[i].file);
                free(c->digest_stores[i].realm);
                free(c->digest_stores[i].algorithm);
                idset_done(&c->digest_stores[i].allow);
        }
        free(c->digest_stores);
        config_ntlm_free(c);
        for (size_t i = 0; i < c->n_ntlm_stores; i++) {
                free(c->ntlm_stores[i].name);
                free(c->ntlm_stores[i].file);
                free(c->ntlm_stores[i].domain);
                idset_done(&c->ntlm_stores[i].allow);
        }
        free(c->ntlm_stores);
        idset_done(&c->tcb);
        idset_done(&c->session_key);
        free(c->krb5_config);
        free(c->kdc_proxy_ca_file);
        free(c->kdc_proxy_hosts);
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

int parse_uint(const char *s, unsigned long max, unsigned long *ret) {
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

int parse_bool(const char *s, bool *ret) {
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
int parse_principals(char *s, IdSet *p, const char **ret_bad) {
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

int config_replace_str(char **dst, const char *v) {
        char *n = strdup(v);
        if (!n)
                return -ENOMEM;
        free(*dst);
        *dst = n;
        return 0;
}

/* "sspid-admin" or "@sspid-admin" or a number. */
static int parse_group(char *value, Config *c, const char **ret_bad) {
        const char *name = value[0] == '@' ? value + 1 : value;
        unsigned long v;

        if (parse_uint(name, UINT32_MAX - 1, &v) < 0) {
                struct group *g = getgrnam(name);
                if (!g) {
                        *ret_bad = value;
                        return -ENOENT;
                }
                v = g->gr_gid;
        }
        c->admin_group = (gid_t) v;
        c->has_admin_group = true;
        return 0;
}

static int parse_log_level(const char *value, int *ret) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };

        for (int i = 0; i < 8; i++)
                if (!strcasecmp(value, names[i])) {
                        *ret = i;
                        return 0;
                }
        if (!strcasecmp(value, "error")) {
                *ret = 3;
                return 0;
        }
        return -EINVAL;
}

typedef enum Section {
        SECTION_NONE,
        SECTION_DAEMON,
        SECTION_KERBEROS,
        SECTION_ACCEPTOR,
        SECTION_SCHANNEL,
        SECTION_CERTIFICATE,
        SECTION_DIGEST,
        SECTION_DIGEST_STORE,
        SECTION_NTLM_STORE,
        SECTION_NTLM_DOMAIN,
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
        } else if (!strcmp(key, "message-protection")) {
                if (strcmp(value, "caller") && strcmp(value, "daemon"))
                        return -EINVAL;
                c->message_in_daemon = !strcmp(value, "daemon");
        } else if (!strcmp(key, "admin-group")) {
                return parse_group(value, c, ret_bad);
        } else if (!strcmp(key, "log-level")) {
                return parse_log_level(value, &c->log_level);
        } else if (!strcmp(key, "quota-connections")) {
                if (parse_uint(value, 1u << 20, &v) < 0)
                        return -EINVAL;
                c->quota_connections = v;
        } else if (!strcmp(key, "quota-objects")) {
                if (parse_uint(value, 1u << 24, &v) < 0)
                        return -EINVAL;
                c->quota_objects = v;
        } else if (!strcmp(key, "quota-calls")) {
                if (parse_uint(value, 1u << 24, &v) < 0)
                        return -EINVAL;
                c->quota_calls = v;
        } else if (!strcmp(key, "quota-kdc-proxy")) {
                if (parse_uint(value, 1u << 16, &v) < 0)
                        return -EINVAL;
                c->quota_kdc_proxy = v;
        } else if (!strcmp(key, "quota-bytes")) {
                if (parse_uint(value, ULONG_MAX, &v) < 0)
                        return -EINVAL;
                c->quota_bytes = v;
        } else if (!strcmp(key, "max-get-key-waits")) {
                if (parse_uint(value, 1u << 16, &v) < 0 || v == 0)
                        return -EINVAL;
                c->max_get_key_waits = v;
        } else if (!strcmp(key, "quota-get-key-waits")) {
                if (parse_uint(value, 1u << 20, &v) < 0)
                        return -EINVAL;
                c->quota_get_key_waits = v;
        } else if (!strcmp(key, "quota-exports")) {
                if (parse_uint(value, 1u << 24, &v) < 0)
                        return -EINVAL;
                c->quota_exports = v;
        } else if (!strcmp(key, "quota-input-bytes")) {
                if (parse_uint(value, ULONG_MAX, &v) < 0)
                        return -EINVAL;
                c->quota_input_bytes = v;
        } else if (!strcmp(key, "quota-queued")) {
                if (parse_uint(value, 1u << 20, &v) < 0)
                        return -EINVAL;
                c->quota_queued = v;
        } else if (!strcmp(key, "idle-timeout")) {
                if (parse_uint(value, 1u << 30, &v) < 0)
                        return -EINVAL;
                c->idle_timeout = v;
        } else if (!strcmp(key, "frame-timeout")) {
                if (parse_uint(value, 3600, &v) < 0)
                        return -EINVAL;
                c->frame_timeout = v;
        } else if (!strcmp(key, "max-unknown-fields")) {
                if (parse_uint(value, 1u << 24, &v) < 0)
                        return -EINVAL;
                c->max_unknown_fields = v;
        } else if (!strcmp(key, "max-fields")) {
                if (parse_uint(value, 1u << 24, &v) < 0 || v < 64)
                        return -EINVAL;
                c->max_fields = v;
        } else if (!strcmp(key, "fd-reserve")) {
                if (parse_uint(value, 1u << 16, &v) < 0)
                        return -EINVAL;
                c->fd_reserve = v;
        } else if (!strcmp(key, "export-ttl")) {
                if (parse_uint(value, 3600, &v) < 0 || v == 0)
                        return -EINVAL;
                c->export_ttl = v;
        } else
                return -ENOKEY;
        return 0;
}

static int apply_acceptor(AcceptorGrant *g, const char *key, char *value, const char **ret_bad) {
        if (!strcmp(key, "principal")) /* "*", as no line: every principal of the keytab */
                return !strcmp(value, "*") ? (free(g->principal), g->principal = NULL, 0)
                       : strpbrk(value, "* \t") || *value == '@' ? -EINVAL : config_replace_str(&g->principal, value);
        if (!strcmp(key, "keytab"))
                return config_replace_str(&g->keytab, value);
        if (!strcmp(key, "allow"))
                return parse_principals(value, &g->allow, ret_bad);
        return -ENOKEY;
}

static int apply_digest(Config *c, const char *key, char *value) {
        unsigned long v;

        if (!strcmp(key, "md5"))
                return parse_bool(value, &c->digest_md5);
        if (!strcmp(key, "nonce-lifetime")) {
                if (parse_uint(value, 86400, &v) < 0 || v == 0)
                        return -EINVAL;
                c->digest_nonce_lifetime = v;
                return 0;
        }
        return -ENOKEY;
}

static int apply_digest_store(DigestStoreGrant *g, const char *key, char *value, const char **ret_bad) {
        if (!strcmp(key, "file"))
                return config_replace_str(&g->file, value);
        if (!strcmp(key, "realm"))
                return config_replace_str(&g->realm, value);
        if (!strcmp(key, "algorithm"))
                return config_replace_str(&g->algorithm, value);
        if (!strcmp(key, "userhash"))
                return parse_bool(value, &g->userhash);
        if (!strcmp(key, "nonce-cache")) {
                unsigned long v;
                if (parse_uint(value, DIGEST_NONCE_CACHE_MAX, &v) < 0 || v < 16)
                        return -EINVAL;
                g->nonce_cache = (unsigned) v;
                return 0;
        }
        if (!strcmp(key, "allow"))
                return parse_principals(value, &g->allow, ret_bad);
        return -ENOKEY;
}

static int apply_schannel(Config *c, const char *key, char *value) {
        if (!strcmp(key, "ca-file"))
                return config_replace_str(&c->tls_ca_file, value);
        if (!strcmp(key, "system-store"))
                return parse_bool(value, &c->tls_system_store);
        if (!strcmp(key, "chain-cache")) {
                unsigned long v;
                if (parse_uint(value, 86400, &v) < 0)
                        return -EINVAL;
                c->tls_chain_cache = (unsigned) v;
                return 0;
        }
        if (!strcmp(key, "session-cache")) {
                unsigned long v;
                if (parse_uint(value, 1000000, &v) < 0 || v == 0)
                        return -EINVAL;
                c->tls_session_cache = (unsigned) v;
                return 0;
        }
        return -ENOKEY;
}

static int apply_certificate(CertificateGrant *g, const char *key, char *value, const char **ret_bad) {
        if (!strcmp(key, "file"))
                return config_replace_str(&g->file, value);
        if (!strcmp(key, "key"))
                return config_replace_str(&g->key, value);
        if (!strcmp(key, "password"))
                return config_replace_str(&g->password, value);
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
        c->max_get_key_waits = 16;
        c->quota_get_key_waits = 64;
        c->quota_exports = 256;
        /* Per-uid limits, on by default; the reasoning for each figure is
         * in man/sspid.conf.5 ("Limits"). */
        c->quota_connections = 1024;
        c->quota_objects = 16384;
        c->quota_calls = 2048;
        c->quota_bytes = 64u << 20;
        c->quota_input_bytes = 128u << 20;
        c->quota_queued = 64;
        c->quota_kdc_proxy = 1;
        c->kdc_proxy_timeout = 15;
        c->idle_timeout = 600;
        c->frame_timeout = 10;
        c->fd_reserve = 64;
        c->max_unknown_fields = 16;
        c->max_fields = 4096;
        c->tls_system_store = true;
        c->tls_chain_cache = 300;
        c->tls_session_cache = 20000;
        c->log_level = 6; /* LOG_INFO */
        c->digest_md5 = true;
        c->digest_nonce_lifetime = 300;
        c->replay_cache = 1u << 18;
        *ret = c;
        return 0;
}

/* A section header's name (between the brackets, stripped): grants get a
 * new entry. 0, or a negative errno with the message set. */
static int open_section(Config *c, char *s, Section *section, char **ret_error, const char *path, unsigned lineno) {
        int r = 0;

        if (!strcmp(s, "daemon"))
                *section = SECTION_DAEMON;
        else if (!strcmp(s, "kerberos"))
                *section = SECTION_KERBEROS;
        else if (!strncmp(s, "acceptor", 8) && isspace((unsigned char) s[8])) {
                AcceptorGrant *n = reallocarray(c->acceptors, c->n_acceptors + 1, sizeof(*n));
                if (!n) {
                        r = -ENOMEM;
                        return r;
                }
                c->acceptors = n;
                n[c->n_acceptors] = (AcceptorGrant) {};
                r = config_replace_str(&n[c->n_acceptors++].name, strip(s + 8));
                if (r < 0)
                        return r;
                *section = SECTION_ACCEPTOR;
        } else if (!strcmp(s, "schannel"))
                *section = SECTION_SCHANNEL;
        else if (!strncmp(s, "certificate", 11) && isspace((unsigned char) s[11])) {
                CertificateGrant *n = reallocarray(c->certificates, c->n_certificates + 1,
                                                   sizeof(*n));
                if (!n) {
                        r = -ENOMEM;
                        return r;
                }
                c->certificates = n;
                n[c->n_certificates] = (CertificateGrant) {};
                r = config_replace_str(&n[c->n_certificates++].name, strip(s + 11));
                if (r < 0)
                        return r;
                *section = SECTION_CERTIFICATE;
        } else if (!strcmp(s, "digest"))
                *section = SECTION_DIGEST;
        else if (!strncmp(s, "digest-store", 12) && isspace((unsigned char) s[12])) {
                DigestStoreGrant *n = reallocarray(c->digest_stores, c->n_digest_stores + 1,
                                                   sizeof(*n));
                if (!n) {
                        r = -ENOMEM;
                        return r;
                }
                c->digest_stores = n;
                n[c->n_digest_stores] = (DigestStoreGrant) { .nonce_cache = DIGEST_NONCE_CACHE_DEFAULT };
                r = config_replace_str(&n[c->n_digest_stores++].name, strip(s + 12));
                if (r < 0)
                        return r;
                *section = SECTION_DIGEST_STORE;
        } else if (!strncmp(s, "ntlm-store", 10) && isspace((unsigned char) s[10])) {
                NtlmStoreGrant *n = reallocarray(c->ntlm_stores, c->n_ntlm_stores + 1, sizeof(*n));
                if (!n) {
                        r = -ENOMEM;
                        return r;
                }
                c->ntlm_stores = n;
                n[c->n_ntlm_stores] = (NtlmStoreGrant) {};
                r = config_replace_str(&n[c->n_ntlm_stores++].name, strip(s + 10));
                if (r < 0)
                        return r;
                *section = SECTION_NTLM_STORE;
        } else if (!strncmp(s, "ntlm-domain", 11) && isspace((unsigned char) s[11])) {
                r = config_ntlm_domain_open(c, strip(s + 11));
                if (r < 0)
                        return r;
                *section = SECTION_NTLM_DOMAIN;
        } else {
                r = set_error(ret_error, path, lineno, "unknown section [%s]", s);
                return r;
        }
        return 0;
}

/* One key of the current section. -ENOKEY for a key the section does not
 * have, -ENOENT (with *ret_bad) for an unknown user or group. */
static int apply_key(Config *c, Section section, const char *key, char *value, const char **ret_bad) {
        int r;

        switch (section) {
        case SECTION_DAEMON:
                r = apply_daemon(c, key, value, ret_bad);
                break;
        case SECTION_KERBEROS:
                r = config_kerberos_apply(c, key, value);
                break;
        case SECTION_ACCEPTOR:
                r = apply_acceptor(&c->acceptors[c->n_acceptors - 1], key, value, ret_bad);
                break;
        case SECTION_SCHANNEL:
                r = apply_schannel(c, key, value);
                break;
        case SECTION_CERTIFICATE:
                r = apply_certificate(&c->certificates[c->n_certificates - 1], key, value, ret_bad);
                break;
        case SECTION_DIGEST:
                r = apply_digest(c, key, value);
                break;
        case SECTION_DIGEST_STORE:
                r = apply_digest_store(&c->digest_stores[c->n_digest_stores - 1], key, value, ret_bad);
                break;
        case SECTION_NTLM_STORE:
                r = config_ntlm_store_apply(&c->ntlm_stores[c->n_ntlm_stores - 1], key, value, ret_bad);
                break;
        case SECTION_NTLM_DOMAIN:
                r = config_ntlm_domain_apply(c, key, value, ret_bad);
                break;
        default:
                r = -ENOKEY;
        }
        return r;
}

/*
 * The file is parsed by libinih (key = value splitting, comments, a UTF-8
 * BOM). A reader of ours feeds it one line at a time, which keeps the
 * grammar above exact whatever options the library was built with: it
 * counts lines (so every error names file and line), handles section
 * headers itself (a repeated or empty [acceptor x] still opens a new
 * grant), refuses lines without '=' as before, never lets an indented line
 * become a continuation, and hands long values over in chunks shorter than
 * the library's line buffer (continuation lines that the handler joins).
 */
typedef struct Parser {
        Config *c;
        const char *path;
        char **ret_error;
        FILE *f;
        int error;                      /* first error, negative errno */
        unsigned lineno;                /* physical line */
        Section section;
        char *buf;                      /* the current physical line */
        size_t buf_cap;
        const char *rest;               /* part of a long value still to hand over */
        bool continuation;              /* the line inih has is a chunk of the previous */
        char *key, *value;              /* the key whose value is being collected */
        unsigned key_line;
        Section key_section;
} Parser;

static int parser_fail(Parser *p, unsigned line, const char *fmt, const char *arg) {
        p->error = set_error(p->ret_error, p->path, line, fmt, arg);
        return p->error;
}

/* Applies the collected key, if any. */
static int parser_flush(Parser *p) {
        const char *bad = NULL;
        int r;

        if (!p->key)
                return 0;
        r = apply_key(p->c, p->key_section, p->key, p->value, &bad);
        if (r == -ENOKEY)
                parser_fail(p, p->key_line, "unknown key '%s' here", p->key);
        else if (r == -ENOENT)
                parser_fail(p, p->key_line, "no such user or group '%s'", bad);
        else if (r == -ENOMEM)
                p->error = r;
        else if (r < 0)
                parser_fail(p, p->key_line, "invalid value for '%s'", p->key);
        free(p->key);
        free(p->value);
        p->key = p->value = NULL;
        return p->error;
}

/* Hands (the next part of) p->rest to inih, after `prefix`. */
static char *parser_chunk(Parser *p, char *str, int num, const char *prefix) {
        size_t room = (size_t) num - 2 - strlen(prefix), len = strlen(p->rest), cut = len;

        if (len > room) {
                /* Cut between two visible characters: inih strips the
                 * blanks around a line, and a chunk must not look like a
                 * comment. */
                for (cut = room; cut > 0; cut--)
                        if (!isspace((unsigned char) p->rest[cut - 1]) && !isspace((unsigned char) p->rest[cut]) &&
                            !strchr(";#", p->rest[cut]))
                                break;
                if (cut == 0) {
                        parser_fail(p, p->lineno, "line too long%s", "");
                        return NULL;
                }
        }
        snprintf(str, (size_t) num, "%s%.*s\n", prefix, (int) cut, p->rest);
        p->rest = cut == len ? NULL : p->rest + cut;
        return str;
}

static char *parser_read(char *str, int num, void *stream) {
        Parser *p = stream;

        if (p->error)
                return NULL;
        if (p->rest) {
                p->continuation = true;
                return parser_chunk(p, str, num, " ");
        }
        p->continuation = false;
        if (parser_flush(p) < 0)
                return NULL;
        for (;;) {
                ssize_t n = getline(&p->buf, &p->buf_cap, p->f);
                char *s, *eq, *key, *value;
                size_t klen;

                if (n < 0)
                        return NULL;
                p->lineno++;
                if (p->lineno == 1 && n >= 3 && !memcmp(p->buf, "\xef\xbb\xbf", 3)) {
                        /* a UTF-8 byte order mark */
                        memmove(p->buf, p->buf + 3, (size_t) n - 2);
                        n -= 3;
                }
                if ((size_t) n - (n > 0 && p->buf[n - 1] == '\n') >= CONFIG_LINE_MAX - 1) {
                        parser_fail(p, p->lineno, "line too long%s", "");
                        return NULL;
                }
                s = strip(p->buf);
                if (*s == '\0' || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        char *end = strchr(s, ']');
                        int r;

                        if (!end || end[1] != '\0') {
                                parser_fail(p, p->lineno, "malformed section header%s", "");
                                return NULL;
                        }
                        *end = '\0';
                        r = open_section(p->c, strip(s + 1), &p->section, p->ret_error, p->path, p->lineno);
                        if (r < 0) {
                                p->error = r;
                                return NULL;
                        }
                        continue;
                }
                eq = strchr(s, '=');
                if (!eq) {
                        parser_fail(p, p->lineno, "expected key = value%s", "");
                        return NULL;
                }
                *eq = '\0';
                key = strip(s);
                value = strip(eq + 1);
                klen = strlen(key);
                /* No key of ours is long or has these (inih would split at ':'). */
                if (klen > 64 || strpbrk(key, ":;#[]") || klen == 0) {
                        parser_fail(p, p->lineno, "unknown key '%s' here", key);
                        return NULL;
                }
                if (klen + 3 + strlen(value) + 2 <= (size_t) num) {
                        snprintf(str, (size_t) num, "%s = %s\n", key, value);
                        return str;
                }
                /* A long value: drop an inline comment (inih's rule: ';'
                 * after a blank) here, since chunks are joined as they are. */
                for (char *q = value + 1; *q; q++)
                        if (*q == ';' && isspace((unsigned char) q[-1])) {
                                *q = '\0';
                                value = strip(value);
                                break;
                        }
                p->rest = value;
                {
                        char prefix[80];
                        snprintf(prefix, sizeof(prefix), "%s = ", key);
                        return parser_chunk(p, str, num, prefix);
                }
        }
}

static int parser_handler(void *user, const char *section, const char *name, const char *value) {
        Parser *p = user;

        (void) section;
        if (p->error)
                return 1;
        if (p->continuation && p->key) {
                size_t a = strlen(p->value), b = strlen(value);
                char *n = realloc(p->value, a + b + 1);

                if (!n) {
                        p->error = -ENOMEM;
                        return 1;
                }
                memcpy(n + a, value, b + 1);
                p->value = n;
                return 1;
        }
        p->key = strdup(name);
        p->value = strdup(value);
        p->key_line = p->lineno;
        p->key_section = p->section;
        if (!p->key || !p->value)
                p->error = -ENOMEM;
        return 1;
}

int config_load(const char *path, Config **ret, char **ret_error) {
        Config *c = NULL;
        FILE *f = NULL;
        Parser p;
        unsigned lineno = 0;
        const char *what = NULL;
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
        r = config_replace_str(&c->path, path);
        if (r < 0)
                goto fail;
        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                if (ret_error && asprintf(ret_error, "%s: %s", path, strerror(errno)) < 0)
                        *ret_error = NULL;
                goto fail;
        }
        p = (Parser) { .c = c, .path = path, .ret_error = ret_error, .f = f };
        r = ini_parse_stream(parser_read, &p, parser_handler, &p);
        if (!p.error && r != 0)
                parser_fail(&p, p.lineno, r == -2 ? "out of memory%s" : "syntax error%s", "");
        if (!p.error)
                (void) parser_flush(&p);
        free(p.key);
        free(p.value);
        free(p.buf);
        lineno = p.lineno;
        r = p.error;
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < c->n_acceptors; i++)
                if (!c->acceptors[i].keytab) {
                        r = set_error(ret_error, path, lineno, "[acceptor %s] needs keytab",
                                      c->acceptors[i].name);
                        goto fail;
                }
        for (size_t i = 0; i < c->n_certificates; i++)
                if (!c->certificates[i].file) {
                        r = set_error(ret_error, path, lineno, "[certificate %s] needs file",
                                      c->certificates[i].name);
                        goto fail;
                }
        for (size_t i = 0; i < c->n_digest_stores; i++)
                if (!c->digest_stores[i].file || !c->digest_stores[i].realm) {
                        r = set_error(ret_error, path, lineno, "[digest-store %s] needs file and realm",
                                      c->digest_stores[i].name);
                        goto fail;
                }
        for (size_t i = 0; i < c->n_ntlm_stores; i++)
                if (!c->ntlm_stores[i].file || !c->ntlm_stores[i].domain) {
                        r = set_error(ret_error, path, lineno, "[ntlm-store %s] needs file and domain",
                                      c->ntlm_stores[i].name);
                        goto fail;
                }
        if (config_ntlm_finish(c, &what) < 0) {
                r = set_error(ret_error, path, lineno, "%s", what ? what : "out of memory");
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
 * against the grant's principal without its realm; case-insensitively, as
 * AD compares SPNs. A whole-keytab grant (NULL) matches any name. */
bool config_principal_matches(const char *grant, const char *name) {
        const char *at;

        if (!grant || !strcasecmp(grant, name))
                return true;
        if (strchr(name, '@'))
                return false;
        at = strrchr(grant, '@');
        return at && (size_t) (at - grant) == strlen(name) && !strncasecmp(grant, name, at - grant);
}
