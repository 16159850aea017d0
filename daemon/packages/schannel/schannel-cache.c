/* SPDX-License-Identifier: MIT */
/*
 * The client session cache of a credential (see schannel.c) and the
 * OpenSSL new-session callback that fills it.
 */
#include "packages/schannel/schannel-private.h"

/* ---- session cache ---- */

void sch_cache_put(SchCred *c, const char *target, SSL_SESSION *sess, pid_t pid, uid_t uid) {
        CacheEntry *e, **pp;
        int64_t now = sch_now_ms();
        unsigned kept = 0;

        pthread_mutex_lock(&c->lock);
        /* One entry per target: the newest session replaces older ones;
         * expired entries go on the way, and so do the oldest beyond
         * [schannel] session-cache (the list is newest first). */
        for (pp = &c->cache; (e = *pp);) {
                if (!strcmp(e->target, target) || e->expires <= now || ++kept >= c->cache_max) {
                        *pp = e->next;
                        SSL_SESSION_free(e->session);
                        free(e->target);
                        free(e);
                } else
                        pp = &e->next;
        }
        e = calloc(1, sizeof(*e));
        if (e && (e->target = strdup(target))) {
                e->session = sess;
                e->expires = now + c->lifespan_ms;
                e->pid = pid;
                e->uid = uid;
                e->next = c->cache;
                c->cache = e;
                sess = NULL;
        } else
                free(e);
        pthread_mutex_unlock(&c->lock);
        SSL_SESSION_free(sess);
}

void sch_cache_remove(SchCred *c, const char *target) {
        pthread_mutex_lock(&c->lock);
        for (CacheEntry *e, **pp = &c->cache; (e = *pp);) {
                if (!strcmp(e->target, target)) {
                        *pp = e->next;
                        SSL_SESSION_free(e->session);
                        free(e->target);
                        free(e);
                } else
                        pp = &e->next;
        }
        pthread_mutex_unlock(&c->lock);
}

SSL_SESSION *sch_cache_get(SchCred *c, const char *target, pid_t pid, uid_t uid) {
        SSL_SESSION *s = NULL;
        int64_t now = sch_now_ms();

        pthread_mutex_lock(&c->lock);
        for (CacheEntry *e = c->cache; e; e = e->next)
                if (!strcmp(e->target, target) && e->expires > now && e->pid == pid && e->uid == uid &&
                    SSL_SESSION_is_resumable(e->session)) {
                        SSL_SESSION_up_ref(e->session);
                        s = e->session;
                        break;
                }
        pthread_mutex_unlock(&c->lock);
        return s;
}

int sch_new_session_cb(SSL *ssl, SSL_SESSION *sess) {
        SchCtx *x = SSL_get_ex_data(ssl, sch_ex_index);

        sch_app_data_apply(x, sess); /* SetContextAttributes(APP_DATA) came first */
        if (x && x->server) {
                /* Remember it (the last few), and take it out of the cache
                 * when this connection is not to be resumed. */
                if (x->n_srv_sess == sizeof(x->srv_sess) / sizeof(x->srv_sess[0])) {
                        SSL_SESSION_free(x->srv_sess[0]);
                        memmove(x->srv_sess, x->srv_sess + 1, sizeof(x->srv_sess) - sizeof(x->srv_sess[0]));
                        x->n_srv_sess--;
                }
                SSL_SESSION_up_ref(sess);
                x->srv_sess[x->n_srv_sess++] = sess;
                if (x->no_cache || ((x->cred->flags & SCH_CRED_DISABLE_RECONNECTS) && !x->sess_enabled))
                        SSL_CTX_remove_session(SSL_get_SSL_CTX(x->ssl), sess);
                return 0;
        }
        if (!x || !x->target || x->no_cache || ((x->cred->flags & SCH_CRED_DISABLE_RECONNECTS) && !x->sess_enabled))
                return 0;
        if (x->dtls != x->cred->dtls)
                return 0; /* a datagram context of a TLS credential: its cache is for TLS */
        /* A copy: OpenSSL marks the connection's own session unresumable
         * when the connection ends without close_notify. */
        sess = SSL_SESSION_dup(sess);
        if (sess)
                sch_cache_put(x->cred, x->target, sess, x->pid, x->uid);
        return 0;
}
