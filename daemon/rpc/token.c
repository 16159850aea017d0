/* SPDX-License-Identifier: MIT */
/*
 * SECPKG_ATTR_ACCESS_TOKEN: the local account the client of an accepted
 * context maps to and its SIDs, which the client library makes into the
 * token handle of QuerySecurityContextToken and ImpersonateSecurityContext
 * (and SspiGetTokenInformation's TOKEN_USER and TOKEN_GROUPS). Twin of
 * client-lib/token.c. The daemon only names the account; it never changes
 * anyone's identity (the caller's process does, with its own privileges).
 */
#include "core/dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/localuser.h"
#include "core/server.h"
#include "policy/config.h"
#include "rpc/rpc.h"
#include "util/log.h"

static void attr_free(PkgCtxAttr *a) {
        free(a->user_name);
        free(a->client_name);
        free(a->server_name);
        free_secret(a->session_key, a->session_key_len);
        free(a->blob);
        pkg_sids_free(a->sids, a->n_sids);
        *a = (PkgCtxAttr) { 0 };
}

/* The token's SIDs in three job blocks (a job defers a few frees only):
 * the messages, their pointers and the binary SIDs. */
typedef struct SidSet {
        Sspiw__TokenSid *msgs, **ptrs;
        uint8_t *bytes;
        size_t n, max;
} SidSet;

/* "S-1-5-21-1-2-3-4" as Windows' binary SID (revision 1, 48-bit big-endian
 * authority, little-endian subauthorities) in the next slot of set; NULL
 * for anything else (MS-DTYP 2.4.2). */
static Sspiw__TokenSid *token_sid(SidSet *set, const char *text, uint32_t attributes) {
        Sspiw__TokenSid *t;
        uint8_t *b;
        unsigned long long auth;
        const char *p;
        char *end;
        size_t n = 0;

        if (set->n == set->max || strncmp(text, "S-1-", 4))
                return NULL;
        errno = 0;
        auth = strtoull(text + 4, &end, 10);
        if (errno || end == text + 4 || auth >> 48 || (*end && *end != '-'))
                return NULL;
        t = &set->msgs[set->n];
        b = set->bytes + set->n * (8 + 4 * 15);
        sspiw__token_sid__init(t);
        b[0] = 1;
        for (int i = 0; i < 6; i++)
                b[2 + i] = (uint8_t) (auth >> (8 * (5 - i)));
        for (p = end; *p; p = end) {
                unsigned long v;
                if (*p != '-' || n == 15 || p[1] < '0' || p[1] > '9')
                        return NULL;
                errno = 0;
                v = strtoul(p + 1, &end, 10);
                if (errno || v > UINT32_MAX)
                        return NULL;
                for (int i = 0; i < 4; i++)
                        b[8 + 4 * n + i] = (uint8_t) (v >> (8 * i));
                n++;
        }
        b[1] = (uint8_t) n;
        t->sid.data = b;
        t->sid.len = 8 + 4 * n;
        t->attributes = attributes;
        set->n++;
        return t;
}

/*
 * The token's SIDs (TOKEN_USER, TOKEN_GROUPS). A domain logon's come from
 * the package (the PAC, or the DC's answer to NTLM); a client known only
 * by its local account gets Samba's Unix SIDs (S-1-22-1-uid for the user,
 * S-1-22-2-gid for its groups, the "Unix User" and "Unix Group" domains
 * Samba's file server shows). Either way the groups Windows' LSA adds to
 * every network logon follow (Microsoft's "Well-known SIDs"): Everyone,
 * NETWORK, Authenticated Users, This Organization, and for NTLM the
 * "NTLM Authentication" SID. 0, or a SEC_E status.
 */
static SECURITY_STATUS token_sids(Job *job, const PkgCtxAttr *a, const LocalUser *u, bool have_user, bool ntlm,
                                  Sspiw__QueryCtxAttrRep *rep) {
        static const char *const network[] = { "S-1-1-0", "S-1-5-2", "S-1-5-11", "S-1-5-15" };
        SidSet set = { .max = (a->n_sids ? a->n_sids : 2 + (have_user ? u->n_groups : 0)) + 5 };
        size_t n = 0;
        char buf[64];

        set.msgs = calloc(set.max, sizeof(*set.msgs));
        set.ptrs = calloc(set.max, sizeof(*set.ptrs));
        set.bytes = calloc(set.max, 8 + 4 * 15);
        if (!set.msgs || !set.ptrs || !set.bytes) {
                free(set.msgs);
                free(set.ptrs);
                free(set.bytes);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, set.msgs);
        job_defer_free(job, set.ptrs);
        job_defer_free(job, set.bytes);
        if (a->n_sids) {
                rep->token_user = token_sid(&set, a->sids[0].sid, 0);
                for (size_t i = 1; i < a->n_sids; i++)
                        if (!(set.ptrs[n++] = token_sid(&set, a->sids[i].sid, a->sids[i].attributes)))
                                return SEC_E_INTERNAL_ERROR;
        } else {
                snprintf(buf, sizeof(buf), "S-1-22-1-%u", (unsigned) u->uid);
                rep->token_user = token_sid(&set, buf, 0);
                snprintf(buf, sizeof(buf), "S-1-22-2-%u", (unsigned) u->gid);
                if (!(set.ptrs[n++] = token_sid(&set, buf, SE_GROUP_DEFAULT_ATTRS)))
                        return SEC_E_INTERNAL_ERROR;
                for (size_t i = 0; i < u->n_groups; i++) {
                        if ((uint32_t) u->groups[i] == (uint32_t) u->gid)
                                continue;
                        snprintf(buf, sizeof(buf), "S-1-22-2-%u", (unsigned) u->groups[i]);
                        if (!(set.ptrs[n++] = token_sid(&set, buf, SE_GROUP_DEFAULT_ATTRS)))
                                return SEC_E_INTERNAL_ERROR;
                }
        }
        if (!rep->token_user)
                return SEC_E_INTERNAL_ERROR;
        for (size_t i = 0; i < sizeof(network) / sizeof(*network); i++)
                if (!(set.ptrs[n++] = token_sid(&set, network[i], SE_GROUP_DEFAULT_ATTRS)))
                        return SEC_E_INTERNAL_ERROR;
        if (ntlm && !(set.ptrs[n++] = token_sid(&set, "S-1-5-64-10", SE_GROUP_DEFAULT_ATTRS)))
                return SEC_E_INTERNAL_ERROR;
        rep->token_groups = set.ptrs;
        rep->n_token_groups = n;
        return SEC_E_OK;
}

SECURITY_STATUS rpc_query_ctx_token(Job *job, Object *o, Sspiw__QueryCtxAttrRep *rep) {
        PkgCtxAttr a = { 0 }, sids = { 0 };
        LocalUser u = { 0 };
        Sspiw__LocalAccount *acc;
        const Provider *shown;
        unsigned forms = LOCALUSER_DOMAIN_USER;
        SECURITY_STATUS st;
        Config *cfg;
        int r;

        /* A partial context answers as it does for NAMES; a client
         * context has no client to stand for (Windows builds tokens on
         * the accepting side only). */
        if (!o->complete)
                return SEC_E_INVALID_HANDLE;
        if (!o->inbound)
                return SEC_E_NO_IMPERSONATION;
        /* Schannel's client is a certificate subject: no certificate
         * mapping here (Windows maps through AD or IIS rules). */
        if (o->pkg->capabilities & SECPKG_FLAG_STREAM)
                return SEC_E_UNSUPPORTED_FUNCTION;
        /* The package that authenticated the client decides the forms its
         * name may take (Negotiate: the one it chose). */
        shown = o->pkg->negotiated ? o->pkg->negotiated(o->state) : NULL;
        if (!shown)
                shown = o->pkg;
        if (!strcmp(shown->name, "Kerberos"))
                forms |= LOCALUSER_PRINCIPAL; /* and DOMAIN\user from a PAC */
        st = o->pkg->query_ctx(o->state, PKG_ATTR_TOKEN_SIDS, &sids);
        if (st != SEC_E_OK && st != SEC_E_UNSUPPORTED_FUNCTION) {
                attr_free(&sids);
                return st;
        }
        st = o->pkg->query_ctx(o->state, SECPKG_ATTR_NAMES, &a);
        if (st != SEC_E_OK) {
                attr_free(&a);
                attr_free(&sids);
                return st;
        }
        cfg = server_config(job->conn->server);
        r = localuser_lookup(a.user_name, forms, cfg, &u);
        config_unref(cfg);
        if (r < 0 && r != -ENOMEM && sids.n_sids) {
                /* A domain client with no account here: Windows still
                 * gives its token (the SIDs); only impersonation needs a
                 * local account. */
                attr_free(&a);
                st = token_sids(job, &sids, &u, false, !strcmp(shown->name, "NTLM"), rep);
                attr_free(&sids);
                return st;
        }
        if (r < 0) {
                log_info("conn %llu: %s client %s has no local account (%s)", (unsigned long long) job->conn->serial,
                         o->pkg->name, LOG_NAME(a.user_name ? a.user_name : ""),
                         r == -ENOENT ? "not known here" : r == -EINVAL ? "not a user name" : strerror(-r));
                attr_free(&a);
                attr_free(&sids);
                if (r == -ENOMEM)
                        return SEC_E_INSUFFICIENT_MEMORY;
                /* Windows' status for a client that cannot be impersonated
                 * (ImpersonateSecurityContext); a directory that does not
                 * answer is that too, for now. */
                return SEC_E_NO_IMPERSONATION;
        }
        attr_free(&a);
        st = token_sids(job, &sids, &u, true, !strcmp(shown->name, "NTLM"), rep);
        attr_free(&sids);
        if (st != SEC_E_OK) {
                local_user_done(&u);
                return st;
        }

        acc = malloc(sizeof(*acc));
        if (!acc) {
                local_user_done(&u);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, acc);
        sspiw__local_account__init(acc);
        acc->name = TAKE_PTR(u.name);
        job_defer_free(job, acc->name);
        acc->uid = (uint32_t) u.uid;
        acc->gid = (uint32_t) u.gid;
        if (u.n_groups) {
                uint32_t *g = calloc(u.n_groups, sizeof(uint32_t));
                if (!g) {
                        local_user_done(&u);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                job_defer_free(job, g);
                for (size_t i = 0; i < u.n_groups; i++)
                        g[i] = (uint32_t) u.groups[i];
                acc->groups = g;
                acc->n_groups = u.n_groups;
        }
        local_user_done(&u);
        rep->account = acc;
        return SEC_E_OK;
}

/*
 * SECPKG_ATTR_DCE_INFO: what the RPC runtime's RpcBindingInqAuthClient
 * hands a server as Privs and AuthzSvc. Microsoft's page for that call
 * says Privs comes straight from the SSP and, for a name-based one, is
 * the client's principal name, and that NTLM's AuthzSvc is always
 * RPC_C_AUTHZ_NONE; a Kerberos-style SSP (PADL's EapSSP, which mirrors
 * Windows' Kerberos for RPC) answers RPC_C_AUTHZ_NAME with the name. So
 * pPac is the client's name as SECPKG_ATTR_NAMES gives it ("CORP\alice")
 * and AuthzSvc is RPC_C_AUTHZ_NAME (1) for Kerberos, RPC_C_AUTHZ_NONE (0)
 * for NTLM and Digest; words[0] carries AuthzSvc, user_name the name.
 */
SECURITY_STATUS rpc_query_ctx_dce(Job *job, Object *o, Sspiw__QueryCtxAttrRep *rep) {
        PkgCtxAttr a = { 0 };
        const Provider *shown;
        uint32_t *w;
        SECURITY_STATUS st;

        if (!o->complete)
                return SEC_E_INVALID_HANDLE;
        if (!o->inbound || (o->pkg->capabilities & SECPKG_FLAG_STREAM))
                return SEC_E_UNSUPPORTED_FUNCTION;
        shown = o->pkg->negotiated ? o->pkg->negotiated(o->state) : NULL;
        if (!shown)
                shown = o->pkg;
        st = o->pkg->query_ctx(o->state, SECPKG_ATTR_NAMES, &a);
        if (st != SEC_E_OK || !a.user_name) {
                attr_free(&a);
                return st != SEC_E_OK ? st : SEC_E_INTERNAL_ERROR;
        }
        w = calloc(1, sizeof(*w));
        if (!w) {
                attr_free(&a);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, w);
        w[0] = !strcmp(shown->name, "Kerberos") ? 1 /* RPC_C_AUTHZ_NAME */ : 0 /* RPC_C_AUTHZ_NONE */;
        rep->words = w;
        rep->n_words = 1;
        rep->user_name = TAKE_PTR(a.user_name);
        job_defer_free(job, rep->user_name);
        attr_free(&a);
        return SEC_E_OK;
}
