/* SPDX-License-Identifier: MIT */
/* The INI configuration: values, grants, and errors that name the line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "provider.h"

static int passed, failed;

static void ok(int cond, const char *fmt, ...) {
        va_list ap;
        printf("%s - ", cond ? "ok" : "not ok");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        cond ? passed++ : failed++;
}

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
        bool exists;
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
                ok(config_find_acceptor(c, &user, "HTTP/web", &exists) == &c->acceptors[0],
                   "principal without realm matches");
                ok(config_find_acceptor(c, &user, "HTTP/web@EX.COM", &exists) != NULL, "principal with realm");
                ok(config_find_acceptor(c, &user, NULL, &exists) != NULL, "no principal: first granted");
                ok(!config_find_acceptor(c, &root, "HTTP/web", &exists) && exists, "not granted to root: exists");
                ok(!config_find_acceptor(c, &user, "HTTP/other", &exists) && !exists, "unknown principal: not exists");
                ok(!config_find_acceptor(c, &user, "HTTP/we", &exists), "prefix does not match");
                config_unref(c);
        }

        ok(load("[daemon]\nworkers = 0\n", &c, &err) < 0 && err && strstr(err, ":2:"), "workers = 0 refused: %s", err);
        free(err);
        ok(load("[daemon]\nwrokers = 3\n", &c, &err) < 0 && err && strstr(err, "unknown key"), "typo refused: %s", err);
        free(err);
        ok(load("[nonsense]\n", &c, &err) < 0 && err && strstr(err, "unknown section"), "unknown section: %s", err);
        free(err);
        ok(load("[acceptor x]\nprincipal = a@B\n", &c, &err) < 0 && err && strstr(err, "keytab"),
           "acceptor without keytab: %s", err);
        free(err);
        ok(load("[acceptor x]\nprincipal = a@B\nkeytab = /k\nallow = no-such-user-xyz\n", &c, &err) < 0 && err &&
                   strstr(err, "no-such-user-xyz"),
           "unknown user named: %s", err);
        free(err);
        ok(load("[daemon]\nmax-frame = 99999999999999999999\n", &c, &err) < 0, "overflowing number refused");
        free(err);
        ok(load("key = value\n", &c, &err) < 0, "key outside a section refused");
        free(err);
        printf("# %d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
