/* SPDX-License-Identifier: MIT */
/*
 * get_key: AcquireCredentialsHandle with pGetKeyFn and an identity without
 * a password. The daemon sends the client a GetKey request and the call
 * waits for the answer, which may never come. The wait holds no thread:
 * the job is parked here before it starts, and resumed on the loop by the
 * client's answer, by a timer, or by the connection's end (then it fails at
 * once and releases everything it held). Waits are bounded per connection
 * (max-get-key-waits) and per uid (quota-get-key-waits); over a bound the
 * call fails at once with SEC_E_INSUFFICIENT_MEMORY.
 *
 * Everything here runs on the loop thread: the park (job_start from the
 * read handler), the answer (the read handler), the timer and the
 * connection's shutdown. c->getkey_waits is only touched there.
 */
#include "core/dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "policy/quota.h"
#include "core/server.h"
#include "util/util.h"

/* How long a client may take to run its pGetKeyFn. */
#define GETKEY_TIMEOUT_USEC (30u * 1000000u)

typedef struct GetKeyWait {
        struct GetKeyWait *next;        /* c->getkey_waits */
        uint64_t call_id;               /* of our GetKey request */
        Job *job;                       /* parked; holds the connection */
        sd_event_source *timer;
} GetKeyWait;

static unsigned conn_waits(const Conn *c) {
        unsigned n = 0;

        for (const GetKeyWait *w = c->getkey_waits; w; w = w->next)
                n++;
        return n;
}

/* Unlinks w from its connection; false if it was not there. */
static bool wait_unlink(Conn *c, GetKeyWait *w) {
        for (GetKeyWait **p = &c->getkey_waits; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        w->next = NULL;
                        return true;
                }
        return false;
}

/* Ends an unlinked wait: the job takes the outcome (and the key, which
 * job_free wipes) and continues. */
static void wait_finish(GetKeyWait *w, SECURITY_STATUS st, uint8_t *key, size_t key_len) {
        Job *job = w->job;

        w->timer = sd_event_source_disable_unref(w->timer);
        usage_give(&job->conn->usage->get_key_waits);
        free(w);
        job->getkey = NULL;
        job->getkey_done = true;
        job->getkey_status = st;
        job->secret = key;
        job->secret_len = key_len;
        dispatch_resume(job);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        GetKeyWait *w = userdata;
        Conn *c = w->job->conn;

        (void) s;
        (void) usec;
        if (!wait_unlink(c, w))
                return 0;
        log_notice("conn %llu (uid %u pid %d): no answer to GetKey within %u s", (unsigned long long) c->serial,
                   (unsigned) c->caller.uid, (int) c->caller.pid, GETKEY_TIMEOUT_USEC / 1000000u);
        wait_finish(w, SEC_E_NO_CREDENTIALS, NULL, 0);
        return 0;
}

/* Fails the job without asking (it then runs inline and answers at once). */
static bool park_refused(Job *job, SECURITY_STATUS st) {
        job->getkey_done = true;
        job->getkey_status = st;
        return false;
}

bool getkey_park(Job *job) {
        Conn *c = job->conn;
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__GetKeyReq gk = SSPIW__GET_KEY_REQ__INIT;
        const char *principal = NULL;
        uint64_t cookie = 0, now = 0;
        GetKeyWait *w;
        Config *cfg;
        bool room;
        int r;

        if (!acquire_cred_wants_key(job, &cookie, &principal))
                return false;

        /* Every bound before the client is asked: the waits of this
         * connection and this uid, and room for the credential itself. */
        cfg = server_config(c->server);
        pthread_mutex_lock(&c->lock);
        room = conn_may_add_object(c, cfg);
        pthread_mutex_unlock(&c->lock);
        if (!room) {
                config_unref(cfg);
                return park_refused(job, SEC_E_INSUFFICIENT_MEMORY);
        }
        if (conn_waits(c) >= cfg->max_get_key_waits ||
            !usage_take(&c->usage->get_key_waits, cfg->quota_get_key_waits)) {
                config_unref(cfg);
                usage_refused(c->usage);
                log_debug("conn %llu (uid %u): get_key wait refused: max-get-key-waits or quota-get-key-waits",
                          (unsigned long long) c->serial, (unsigned) c->caller.uid);
                return park_refused(job, SEC_E_INSUFFICIENT_MEMORY);
        }
        config_unref(cfg);

        w = calloc(1, sizeof(*w));
        if (!w) {
                usage_give(&c->usage->get_key_waits);
                return park_refused(job, SEC_E_INSUFFICIENT_MEMORY);
        }
        w->job = job;
        /* Daemon-chosen ids have the top bit set: they never collide with
         * the client's own call ids in logs or traces. */
        w->call_id = (1ULL << 63) | ++c->next_server_call;
        (void) sd_event_now(c->server->event, CLOCK_MONOTONIC, &now);
        r = sd_event_add_time(c->server->event, &w->timer, CLOCK_MONOTONIC, now + GETKEY_TIMEOUT_USEC, 0, on_timeout,
                              w);
        if (r < 0) {
                free(w);
                usage_give(&c->usage->get_key_waits);
                return park_refused(job, SEC_E_INSUFFICIENT_MEMORY);
        }
        gk.cookie = cookie;
        gk.principal = (char *) principal;
        req.call_id = w->call_id;
        req.body_case = SSPIW__ENVELOPE__BODY_GET_KEY;
        req.get_key = &gk;
        if (conn_send(c, &req) < 0) {
                w->timer = sd_event_source_disable_unref(w->timer);
                free(w);
                usage_give(&c->usage->get_key_waits);
                return park_refused(job, SEC_E_NO_CREDENTIALS);
        }
        w->next = c->getkey_waits;
        c->getkey_waits = w;
        job->getkey = w;
        /* For sspictl calls: the call is under way, waiting for its client. */
        __atomic_store_n(&job->running, true, __ATOMIC_RELAXED);
        return true;
}

void getkey_answer(Conn *c, Sspiw__Envelope *rep) {
        const Sspiw__GetKeyRep *a = rep->get_key_rep;
        GetKeyWait *w;
        uint8_t *key = NULL;
        size_t key_len = 0;
        SECURITY_STATUS st;

        for (w = c->getkey_waits; w; w = w->next)
                if (w->call_id == rep->call_id)
                        break;
        if (!w || !wait_unlink(c, w)) {
                /* An answer nobody waits for (late, or forged) is dropped. */
                if (a->has_key)
                        explicit_bzero(a->key.data, a->key.len);
                return;
        }
        st = a->status;
        if (st == SEC_E_OK) {
                /* The key is a password: NUL-terminated for the packages. */
                if (!a->has_key || a->key.len > WIRE_MAX_IDENTITY_FIELD)
                        st = SEC_E_NO_CREDENTIALS;
                else if (!(key = malloc(a->key.len + 1)))
                        st = SEC_E_INSUFFICIENT_MEMORY;
                else {
                        memcpy(key, a->key.data, a->key.len);
                        key[a->key.len] = 0;
                        key_len = a->key.len;
                }
        } else if (st >= 0)
                st = SEC_E_NO_CREDENTIALS; /* a client's "failure" that is not one */
        if (a->has_key)
                explicit_bzero(a->key.data, a->key.len);
        wait_finish(w, st, key, key_len);
}

void getkey_cancel_all(Conn *c) {
        while (c->getkey_waits) {
                GetKeyWait *w = c->getkey_waits;

                c->getkey_waits = w->next;
                w->next = NULL;
                wait_finish(w, SEC_E_NO_CREDENTIALS, NULL, 0);
        }
}
