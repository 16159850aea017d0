/* SPDX-License-Identifier: MIT */
/*
 * Reading the caller's own FILE ccache for AcquireCredentialsHandle
 * (client-lib/ccache.h). The kernel checks the caller's access at open();
 * the daemon parses the bytes and never sees the path.
 */
#include "ccache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire.h"

/* The path of the ccache to read into buf, or a negative errno. */
static int ccache_path(uid_t uid, char *buf, size_t size, const char **ret) {
        const char *name = NULL;

        /* KRB5CCNAME describes this process's own session; acting for
         * another uid means that uid's default ccache. */
        if (uid == geteuid())
                name = secure_getenv("KRB5CCNAME");
        if (!name || !*name) {
                snprintf(buf, size, "/tmp/krb5cc_%u", (unsigned) uid);
                *ret = buf;
                return 0;
        }
        if (!strncmp(name, "FILE:", 5))
                name += 5;
        /* KCM:, DIR:, MEMORY:, API:... live where nothing can
         * be attributed to the caller; a relative path depends on the
         * working directory: neither is sent. */
        if (name[0] != '/')
                return -EPROTONOSUPPORT;
        *ret = name;
        return 0;
}

int ccache_read(uid_t uid, uint8_t **ret, size_t *ret_len) {
        char buf[64];
        const char *path;
        struct stat st;
        uint8_t *data;
        size_t len = 0;
        int fd, r;

        /* KEYRING: the caller's own keyrings, read here and sent as a
         * FILE image: the daemon parses it like any other. */
        if (uid == geteuid()) {
                const char *name = secure_getenv("KRB5CCNAME");
                if (name && !strncmp(name, "KEYRING:", 8))
                        return ccache_keyring_read(name + 8, ret, ret_len);
        }
        r = ccache_path(uid, buf, sizeof(buf), &path);
        if (r < 0)
                return r;
        /* O_NONBLOCK: a FIFO or a device must not hang the caller; the
         * type is checked on the descriptor right after. */
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        /* Heimdal's own rule for FILE ccaches (and what the README
         * promises): a regular file of the user it is for. This is not a
         * security boundary (proto/PROTOCOL.md): it keeps a world-readable
         * ccache of somebody else from becoming this caller's identity by
         * accident. */
        if (!S_ISREG(st.st_mode) || st.st_uid != uid) {
                close(fd);
                return -EPERM;
        }
        if (st.st_size <= 0 || st.st_size > (off_t) WIRE_MAX_CCACHE) {
                close(fd);
                return -EFBIG;
        }
        data = malloc((size_t) st.st_size);
        if (!data) {
                close(fd);
                return -ENOMEM;
        }
        /* kinit may be rewriting it: take what fits the size we checked;
         * the daemon's parser refuses a torn copy. */
        while (len < (size_t) st.st_size) {
                ssize_t n = pread(fd, data + len, (size_t) st.st_size - len, (off_t) len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        close(fd);
        if (len == 0) {
                free(data);
                return -ENODATA;
        }
        *ret = data;
        *ret_len = len;
        return 0;
}

int ccache_default_keyring(uid_t uid, uint8_t **ret, size_t *ret_len) {
        const char *name = secure_getenv("KRB5CCNAME");
        char buf[64];
        struct stat st;

        if (uid != geteuid() || (name && *name))
                return -EPERM;
        snprintf(buf, sizeof(buf), "/tmp/krb5cc_%u", (unsigned) uid);
        if (lstat(buf, &st) == 0 || errno != ENOENT)
                return -EEXIST;
        return ccache_keyring_read("persistent:", ret, ret_len);
}

/* MIT's and Heimdal's default (MIT kcm.h): sssd-kcm and Heimdal's kcm
 * listen there. */
#define KCM_SOCKET_PATH "/var/run/.heim_org.h5l.kcm-socket"

int ccache_kcm_connect(uid_t uid, int *ret_fd, char **ret_name) {
        const char *name = NULL, *path;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        char buf[64];
        char *copy;
        int fd;

        /* KCM knows its client by the connection (SO_PEERCRED): only the
         * caller's own session can be reached, never another uid's. */
        if (uid != geteuid())
                return -EPERM;
        name = secure_getenv("KRB5CCNAME");
        if (name && *name) {
                if (strncmp(name, "KCM:", 4) != 0)
                        return -EPROTONOSUPPORT;
                name += 4;
        } else {
                /* No KRB5CCNAME: a host whose krb5.conf says
                 * default_ccache_name = KCM: (Fedora, RHEL with sssd-kcm)
                 * has no /tmp/krb5cc_<uid>; KCM's default cache then. */
                snprintf(buf, sizeof(buf), "/tmp/krb5cc_%u", (unsigned) uid);
                if (lstat(buf, &st) == 0 || errno != ENOENT)
                        return -EEXIST;
                name = "";
        }
        if (strlen(name) > WIRE_MAX_KCM_NAME)
                return -ENAMETOOLONG;
        path = secure_getenv("SSPI_KCM_SOCKET");
        if (!path || !*path)
                path = KCM_SOCKET_PATH;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        /* Non-blocking: a KCM whose backlog is full (EAGAIN) is no KCM,
         * rather than a caller that hangs. The daemon never relies on the
         * descriptor's blocking mode. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                free(copy);
                return r;
        }
        *ret_fd = fd;
        *ret_name = copy;
        return 0;
}

void ccache_free(uint8_t *image, size_t len) {
        if (!image)
                return;
        explicit_bzero(image, len);
        free(image);
}
