/* SPDX-License-Identifier: MIT */
/*
 * Access tokens and impersonation, the Linux way: QuerySecurityContextToken,
 * SECPKG_ATTR_ACCESS_TOKEN, ImpersonateSecurityContext,
 * RevertSecurityContext and the token helpers of sspi.h. Twin of
 * daemon/rpc/token.c, which names the local account the client of an
 * accepted context maps to; everything else happens here, in the caller's
 * process and with its privileges.
 *
 * A token is a block of this library (name, uid, gid, supplementary
 * groups) whose address is the HANDLE. The library keeps the live ones in
 * a list, so a handle it never issued or already closed is refused instead
 * of being read.
 *
 * Impersonation switches the calling thread's filesystem identity, as
 * Samba does for its file server: setfsuid, setfsgid and setgroups through
 * syscall(), because the kernel keeps credentials per thread while glibc's
 * setgroups() wrapper applies the change to every thread of the process.
 * Files the thread then opens or creates are checked as, and belong to,
 * the client; other threads keep their identity.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* 32-bit x86 and arm keep the 16-bit calls under the plain names. */
#ifdef SYS_setfsuid32
#  define NR_SETFSUID SYS_setfsuid32
#  define NR_SETFSGID SYS_setfsgid32
#  define NR_SETGROUPS SYS_setgroups32
#  define NR_GETGROUPS SYS_getgroups32
#else
#  define NR_SETFSUID SYS_setfsuid
#  define NR_SETFSGID SYS_setfsgid
#  define NR_SETGROUPS SYS_setgroups
#  define NR_GETGROUPS SYS_getgroups
#endif

/* The kernel's NGROUPS_MAX. */
#define MAX_GROUPS 65536

#define TOKEN_MAGIC 0x4e4b4f54u /* "TOKN" */

typedef struct Token {
        uint32_t magic;
        struct Token *next;
        char *name;
        uint32_t uid, gid;
        uint32_t *groups;
        size_t n_groups;
        bool has_account;       /* false: a domain client with SIDs only */
        /* Binary SIDs (MS-DTYP 2.4.2): [0] the user's, then the groups'. */
        uint8_t **sids;
        uint32_t *sid_attrs;
        size_t n_sids;
        /* SECPKG_ATTR_ACCESS_TOKEN: owned by the context (lower, upper) of
         * process pid, freed by its DeleteSecurityContext, never by
         * SspiCloseTokenHandle (Windows: "must not call CloseHandle"). */
        bool of_context;
        uint64_t lower, upper;
        pid_t pid;
} Token;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Token *tokens;

static void token_free(Token *t) {
        if (!t)
                return;
        t->magic = 0;
        free(t->name);
        free(t->groups);
        for (size_t i = 0; i < t->n_sids; i++)
                free(t->sids[i]);
        free(t->sids);
        free(t->sid_attrs);
        free(t);
}

/* Caller holds lock. */
static Token **token_find(const void *h) {
        for (Token **p = &tokens; *p; p = &(*p)->next)
                if (*p == h)
                        return p;
        return NULL;
}

static Token **token_of_context(const CtxtHandle *ctx) {
        pid_t pid = client_pid();

        for (Token **p = &tokens; *p; p = &(*p)->next)
                if ((*p)->of_context && (*p)->lower == ctx->dwLower && (*p)->upper == ctx->dwUpper &&
                    (*p)->pid == pid)
                        return p;
        return NULL;
}

/* The reply's account as a new token. Anything an honest daemon never
 * sends is SEC_E_INTERNAL_ERROR. */
/* A binary SID as the daemon sends it: revision 1, at most 15
 * subauthorities, exactly as long as its count says. */
static bool sid_valid(const uint8_t *b, size_t len) {
        return b && len >= 8 && b[0] == SID_REVISION && b[1] <= SID_MAX_SUB_AUTHORITIES && len == 8 + 4 * (size_t) b[1];
}

static SECURITY_STATUS token_take_sids(Token *t, const Sspiw__QueryCtxAttrRep *q) {
        size_t n = q->token_user ? 1 + q->n_token_groups : 0;

        if (!n)
                return SEC_E_OK;
        if (q->n_token_groups > MAX_GROUPS)
                return SEC_E_INTERNAL_ERROR;
        t->sids = calloc(n, sizeof(*t->sids));
        t->sid_attrs = calloc(n, sizeof(*t->sid_attrs));
        if (!t->sids || !t->sid_attrs)
                return SEC_E_INSUFFICIENT_MEMORY;
        for (size_t i = 0; i < n; i++) {
                const Sspiw__TokenSid *ts = i ? q->token_groups[i - 1] : q->token_user;
                if (!ts || !sid_valid(ts->sid.data, ts->sid.len))
                        return SEC_E_INTERNAL_ERROR;
                t->sids[i] = malloc(ts->sid.len);
                if (!t->sids[i])
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(t->sids[i], ts->sid.data, ts->sid.len);
                t->sid_attrs[i] = ts->attributes;
                t->n_sids = i + 1;
        }
        return SEC_E_OK;
}

static SECURITY_STATUS token_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        Token **ret = state;
        const Sspiw__LocalAccount *a;
        Token *t;

        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR_REP)
                return SEC_E_INTERNAL_ERROR;
        a = rep->query_ctx_attr_rep->account;
        /* A local account, or at least the SIDs of a domain client. */
        if (a ? !a->name || !*a->name || a->n_groups > MAX_GROUPS : !rep->query_ctx_attr_rep->token_user)
                return SEC_E_INTERNAL_ERROR;
        t = calloc(1, sizeof(*t));
        if (!t)
                return SEC_E_INSUFFICIENT_MEMORY;
        t->magic = TOKEN_MAGIC;
        st = token_take_sids(t, rep->query_ctx_attr_rep);
        if (st != SEC_E_OK) {
                token_free(t);
                return st;
        }
        if (!a) {
                t->uid = t->gid = UINT32_MAX;
                *ret = t;
                return SEC_E_OK;
        }
        t->has_account = true;
        t->name = strdup(a->name);
        t->uid = a->uid;
        t->gid = a->gid;
        t->n_groups = a->n_groups;
        if (a->n_groups) {
                t->groups = malloc(a->n_groups * sizeof(uint32_t));
                if (t->groups)
                        memcpy(t->groups, a->groups, a->n_groups * sizeof(uint32_t));
        }
        if (!t->name || (a->n_groups && !t->groups)) {
                token_free(t);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        *ret = t;
        return SEC_E_OK;
}

/* Asks the daemon for the client's local account: a token not yet listed. */
static SECURITY_STATUS token_fetch(PCtxtHandle phContext, Token **ret) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__QueryCtxAttrReq q = SSPIW__QUERY_CTX_ATTR_REQ__INIT;
        Sspiw__Handle h;
        Token *t = NULL;
        SECURITY_STATUS st;

        if (!phContext || !SecIsValidHandle(phContext))
                return SEC_E_INVALID_HANDLE;
        handle_to_wire(phContext, &h);
        q.ctx = &h;
        q.attr = SECPKG_ATTR_ACCESS_TOKEN;
        req.body_case = SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR;
        req.query_ctx_attr = &q;
        st = call_run(NULL, &req, token_finish, &t, sizeof(t));
        if (st != SEC_E_OK) {
                token_free(t);
                return st;
        }
        *ret = t;
        return SEC_E_OK;
}

_public_ SECURITY_STATUS QuerySecurityContextToken(PCtxtHandle phContext, void **Token_) {
        Token *t;
        SECURITY_STATUS st;

        if (!Token_)
                return SEC_E_INVALID_PARAMETER;
        st = token_fetch(phContext, &t);
        if (st != SEC_E_OK)
                return st;
        pthread_mutex_lock(&lock);
        t->next = tokens;
        tokens = t;
        pthread_mutex_unlock(&lock);
        *Token_ = t;
        return SEC_E_OK;
}

SECURITY_STATUS token_access_attr(PCtxtHandle phContext, void *pBuffer) {
        SecPkgContext_AccessToken *out = pBuffer;
        Token **p, *t;
        SECURITY_STATUS st;
        bool have;

        if (!phContext || !SecIsValidHandle(phContext))
                return SEC_E_INVALID_HANDLE;
        pthread_mutex_lock(&lock);
        have = token_of_context(phContext) != NULL;
        pthread_mutex_unlock(&lock);
        if (have) {
                /* Asked again: the same handle (Windows does not duplicate
                 * it), once the daemon says the context is live, as for
                 * every other attribute. */
                st = ctx_check(phContext);
                if (st != SEC_E_OK)
                        return st;
                pthread_mutex_lock(&lock);
                p = token_of_context(phContext);
                if (p)
                        out->AccessToken = *p;
                pthread_mutex_unlock(&lock);
                if (p)
                        return SEC_E_OK;
        }
        st = token_fetch(phContext, &t);
        if (st != SEC_E_OK)
                return st;
        t->of_context = true;
        t->lower = phContext->dwLower;
        t->upper = phContext->dwUpper;
        t->pid = client_pid();
        pthread_mutex_lock(&lock);
        p = token_of_context(phContext);
        if (p) {
                /* Another thread listed one first: keep that one. */
                token_free(t);
                t = *p;
        } else {
                t->next = tokens;
                tokens = t;
        }
        out->AccessToken = t;
        pthread_mutex_unlock(&lock);
        return SEC_E_OK;
}

void token_forget(const CtxtHandle *phContext) {
        Token **p, *t = NULL;

        if (!phContext)
                return;
        pthread_mutex_lock(&lock);
        p = token_of_context(phContext);
        if (p) {
                t = *p;
                *p = t->next;
        }
        pthread_mutex_unlock(&lock);
        token_free(t);
}

_public_ int SspiCloseTokenHandle(HANDLE hToken) {
        Token **p, *t = NULL;

        pthread_mutex_lock(&lock);
        p = token_find(hToken);
        if (p && !(*p)->of_context) {
                t = *p;
                *p = t->next;
        }
        pthread_mutex_unlock(&lock);
        if (!t) {
                errno = EBADF;
                return 0;
        }
        token_free(t);
        return 1;
}

_public_ SECURITY_STATUS SspiQueryTokenInformation(HANDLE hToken, SSPI_TOKEN_INFORMATION *pInfo) {
        Token **p;

        if (!pInfo)
                return SEC_E_INVALID_PARAMETER;
        pthread_mutex_lock(&lock);
        p = token_find(hToken);
        if (p && !(*p)->has_account) {
                pthread_mutex_unlock(&lock);
                return SEC_E_NO_IMPERSONATION;
        }
        if (p) {
                pInfo->UserName = (*p)->name;
                pInfo->Uid = (*p)->uid;
                pInfo->Gid = (*p)->gid;
                pInfo->GroupCount = (ULONG) (*p)->n_groups;
                pInfo->Groups = (*p)->groups;
        }
        pthread_mutex_unlock(&lock);
        return p ? SEC_E_OK : SEC_E_INVALID_HANDLE;
}

static size_t sid_len(const uint8_t *b) {
        return 8 + 4 * (size_t) b[1];
}

/* The SIDs the structure of class points to, copied after it; the size
 * needed. Caller holds lock. */
static size_t token_info_layout(const Token *t, ULONG cls, uint8_t *out, size_t cap) {
        size_t head, need, first = cls == TokenGroups ? 1 : cls == TokenPrimaryGroup ? 1 : 0;
        size_t last = cls == TokenGroups ? t->n_sids : first + 1, off;

        if (cls == TokenUser)
                head = sizeof(TOKEN_USER);
        else if (cls == TokenPrimaryGroup)
                head = sizeof(TOKEN_PRIMARY_GROUP);
        else {
                head = offsetof(TOKEN_GROUPS, Groups) + (last - first) * sizeof(SID_AND_ATTRIBUTES);
                if (head < sizeof(TOKEN_GROUPS))
                        head = sizeof(TOKEN_GROUPS);
        }
        need = head;
        for (size_t i = first; i < last; i++)
                need += sid_len(t->sids[i]);
        if (!out || cap < need)
                return need;
        memset(out, 0, need);
        off = head;
        for (size_t i = first; i < last; i++) {
                void *sid = out + off;
                memcpy(sid, t->sids[i], sid_len(t->sids[i]));
                off += sid_len(t->sids[i]);
                if (cls == TokenUser) {
                        ((TOKEN_USER *) out)->User.Sid = sid;
                        ((TOKEN_USER *) out)->User.Attributes = 0;
                } else if (cls == TokenPrimaryGroup)
                        ((TOKEN_PRIMARY_GROUP *) out)->PrimaryGroup = sid;
                else {
                        TOKEN_GROUPS *g = (TOKEN_GROUPS *) out;
                        g->Groups[i - first].Sid = sid;
                        g->Groups[i - first].Attributes = t->sid_attrs[i];
                }
        }
        if (cls == TokenGroups)
                ((TOKEN_GROUPS *) out)->GroupCount = (DWORD) (last - first);
        return need;
}

_public_ SECURITY_STATUS SspiGetTokenInformation(HANDLE TokenHandle, ULONG TokenInformationClass,
                                                 void *TokenInformation, ULONG TokenInformationLength,
                                                 ULONG *ReturnLength) {
        SECURITY_STATUS st = SEC_E_OK;
        Token **p;
        size_t need;

        if (!ReturnLength || (!TokenInformation && TokenInformationLength))
                return SEC_E_INVALID_PARAMETER;
        pthread_mutex_lock(&lock);
        p = token_find(TokenHandle);
        if (!p)
                st = SEC_E_INVALID_HANDLE;
        else if (TokenInformationClass != TokenUser && TokenInformationClass != TokenGroups &&
                 TokenInformationClass != TokenPrimaryGroup)
                st = SEC_E_UNSUPPORTED_FUNCTION;
        else if ((*p)->n_sids < 2)
                st = SEC_E_UNSUPPORTED_FUNCTION; /* the daemon sends a user and a primary group, or nothing */
        else {
                need = token_info_layout(*p, TokenInformationClass, NULL, 0);
                if (need > UINT32_MAX)
                        st = SEC_E_INTERNAL_ERROR;
                else {
                        *ReturnLength = (ULONG) need;
                        if (TokenInformationLength < need)
                                st = SEC_E_BUFFER_TOO_SMALL;
                        else
                                (void) token_info_layout(*p, TokenInformationClass, TokenInformation,
                                                         TokenInformationLength);
                }
        }
        pthread_mutex_unlock(&lock);
        return st;
}

_public_ SECURITY_STATUS SspiConvertSidToStringSidA(const void *Sid, char **StringSid) {
        const uint8_t *b = Sid;
        uint64_t auth = 0;
        char *out, *w;

        if (!Sid || !StringSid || b[0] != SID_REVISION || b[1] > SID_MAX_SUB_AUTHORITIES)
                return SEC_E_INVALID_PARAMETER;
        for (int i = 0; i < 6; i++)
                auth = auth << 8 | b[2 + i];
        /* "S-1-" + 48-bit authority (15 digits) + 15 x "-4294967295" + NUL */
        out = malloc(4 + 16 + 15 * 11 + 1);
        if (!out)
                return SEC_E_INSUFFICIENT_MEMORY;
        /* Windows writes an authority of 2^32 or more in hex. */
        w = out + (auth >> 32 ? sprintf(out, "S-1-0x%012llX", (unsigned long long) auth)
                              : sprintf(out, "S-1-%llu", (unsigned long long) auth));
        for (int i = 0; i < b[1]; i++) {
                uint32_t v;
                memcpy(&v, b + 8 + 4 * i, 4);
                v = le32toh(v);
                w += sprintf(w, "-%u", (unsigned) v);
        }
        *StringSid = out;
        return SEC_E_OK;
}

/* ---- The calling thread's filesystem identity ---- */

typedef struct Ident {
        uint32_t fsuid, fsgid;
        uint32_t *groups;
        size_t n_groups;
} Ident;

static void ident_done(Ident *i) {
        free(i->groups);
        *i = (Ident) { 0 };
}

/* This thread's identity now. 0 or -errno. */
static int ident_read(Ident *ret) {
        long n;

        *ret = (Ident) { 0 };
        /* An invalid id changes nothing and returns the current one. */
        ret->fsuid = (uint32_t) syscall(NR_SETFSUID, (uid_t) -1);
        ret->fsgid = (uint32_t) syscall(NR_SETFSGID, (gid_t) -1);
        n = syscall(NR_GETGROUPS, 0, NULL);
        if (n < 0)
                return -errno;
        ret->groups = calloc((size_t) n + 1, sizeof(gid_t));
        if (!ret->groups)
                return -ENOMEM;
        n = syscall(NR_GETGROUPS, n, ret->groups);
        if (n < 0) {
                ident_done(ret);
                return -errno;
        }
        ret->n_groups = (size_t) n;
        return 0;
}

/* Switch this thread to i: groups first, then gid and uid, each checked
 * (setfsuid/setfsgid report no error, only the id in force afterwards).
 * 0, or -EPERM when the process lacks CAP_SETUID/CAP_SETGID. */
static bool groups_in_force(const Ident *i) {
        uint32_t now[1024];
        long n = syscall(NR_GETGROUPS, 1024, now);

        if (n < 0 || (size_t) n != i->n_groups)
                return false;
        for (size_t k = 0; k < i->n_groups; k++) {
                bool found = false;
                for (long j = 0; j < n && !found; j++)
                        found = now[j] == i->groups[k];
                if (!found)
                        return false;
        }
        return true;
}

static int ident_apply(const Ident *i) {
        /* The groups in force already need no privilege: a caller may
         * impersonate a client who is itself (Windows allows that without
         * SeImpersonatePrivilege; setgroups() always wants CAP_SETGID). */
        if (!groups_in_force(i) && syscall(NR_SETGROUPS, i->n_groups, i->groups) < 0)
                return -errno;
        (void) syscall(NR_SETFSGID, (gid_t) i->fsgid);
        if ((uint32_t) syscall(NR_SETFSGID, (gid_t) -1) != i->fsgid)
                return -EPERM;
        (void) syscall(NR_SETFSUID, (uid_t) i->fsuid);
        if ((uint32_t) syscall(NR_SETFSUID, (uid_t) -1) != i->fsuid)
                return -EPERM;
        return 0;
}

/* The identity this thread had before its first ImpersonateSecurityContext,
 * while it impersonates; freed at revert or when the thread ends. */
static pthread_key_t saved_key;
static pthread_once_t saved_once = PTHREAD_ONCE_INIT;

static void saved_free(void *p) {
        if (p) {
                ident_done(p);
                free(p);
        }
}

static void saved_setup(void) {
        (void) pthread_key_create(&saved_key, saved_free);
}

int token_thread_own_groups(const uint32_t **ret) {
        Ident *saved;

        pthread_once(&saved_once, saved_setup);
        saved = pthread_getspecific(saved_key);
        if (!saved)
                return -1;
        *ret = saved->groups;
        return (int) saved->n_groups;
}

bool token_thread_inherited(void) {
        return (uint32_t) syscall(NR_SETFSUID, (uid_t) -1) != (uint32_t) geteuid();
}

_public_ SECURITY_STATUS ImpersonateSecurityContext(PCtxtHandle phContext) {
        Ident now, want;
        Ident *saved;
        Token *t;
        SECURITY_STATUS st;
        int r;

        pthread_once(&saved_once, saved_setup);
        st = token_fetch(phContext, &t);
        if (st != SEC_E_OK)
                return st;
        if (!t->has_account) {
                /* A domain client with no account here: nothing to be. */
                token_free(t);
                return SEC_E_NO_IMPERSONATION;
        }
        want = (Ident) { .fsuid = t->uid, .fsgid = t->gid, .groups = t->groups, .n_groups = t->n_groups };
        if (ident_read(&now) < 0) {
                token_free(t);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        r = ident_apply(&want);
        token_free(t);
        if (r < 0) {
                /* Back to what the thread was before this call (itself, or
                 * the client it impersonated already), never half-switched. */
                (void) ident_apply(&now);
                ident_done(&now);
                return SEC_E_NO_IMPERSONATION;
        }
        saved = pthread_getspecific(saved_key);
        if (saved) {
                ident_done(&now); /* impersonating already: revert goes back further */
                return SEC_E_OK;
        }
        saved = malloc(sizeof(*saved));
        if (!saved || pthread_setspecific(saved_key, saved) != 0) {
                free(saved);
                (void) ident_apply(&now);
                ident_done(&now);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        *saved = now;
        return SEC_E_OK;
}

/* The thread is restored before the handle is checked with the daemon:
 * an unreachable daemon or a context deleted meanwhile never leaves a
 * thread impersonating. */
_public_ SECURITY_STATUS RevertSecurityContext(PCtxtHandle phContext) {
        Ident *saved;

        if (!phContext || !SecIsValidHandle(phContext))
                return SEC_E_INVALID_HANDLE;
        pthread_once(&saved_once, saved_setup);
        saved = pthread_getspecific(saved_key);
        if (saved) {
                if (ident_apply(saved) < 0)
                        return SEC_E_INTERNAL_ERROR; /* cannot happen: these were the thread's own ids */
                (void) pthread_setspecific(saved_key, NULL);
                saved_free(saved);
        }
        return ctx_check(phContext);
}
