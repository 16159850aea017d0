/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration parser (daemon/policy/config.c over
 * libinih): any file either loads or is refused with a message naming its
 * line; nothing crashes, leaks or reads out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[64];
        Config *c = NULL;
        char *err = NULL;
        int fd;

        if (size > 65536)
                return 0;
        fd = memfd_create("sspid-config", MFD_CLOEXEC);
        if (fd < 0)
                return 0;
        if (write(fd, data, size) != (ssize_t) size) {
                close(fd);
                return 0;
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (config_load(path, &c, &err) >= 0)
                config_unref(c);
        else if (err && !strstr(err, path))
                abort(); /* every refusal names the file */
        free(err);
        close(fd);
        return 0;
}
