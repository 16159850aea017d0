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
#include <errno.h>
#include <pthread.h>
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
        pid_t pid = getpid();

        for (Token **p = &tokens; *p; p = &(*p)->next)
                if ((*p)->of_context && (*p)->lower == ctx->dwLower && (*p)->upper == ctx->dwUpper &&
                    (*p)->pid == pid)
                        return p;
        return NULL;
}

/* The reply's account as a new token. Anything an honest daemon never
 * sends is SEC_E_INTERNAL_ERROR. */
static SECURITY_STATUS token_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        Token **ret = state;
        const Sspiw__LocalAccount *a;
        Token *t;

        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR_REP)
                return SEC_E_INTERNAL_ERROR;
        a = rep->query_ctx_attr_rep->account;
        if (!a || !a->name || !*a->name || a->n_groups > MAX_GROUPS)
                return SEC_E_INTERNAL_ERROR;
        t = calloc(1, sizeof(*t));
        if (!t)
                return SEC_E_INSUFFICIENT_MEMORY;
        t->magic = TOKEN_MAGIC;
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
        t->pid = getpid();
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
