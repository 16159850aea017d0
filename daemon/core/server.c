/* SPDX-License-Identifier: MIT */
#include "core/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

Config *server_config(Server *s) {
        Config *c;

        pthread_mutex_lock(&s->lock);
        c = config_ref(s->config);
        pthread_mutex_unlock(&s->lock);
        return c;
}

void server_count(Server *s, uint64_t *counter) {
        __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
        (void) s;
}
