/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * libsspi internals. One connection per process, opened on first use and
 * again after fork() (a child never shares its parent's socket, so handles
 * inherited from the parent are invalid in the child, as on Windows).
 *
 * Every call, synchronous or not, is a Call: a request sent with a fresh
 * call_id and a `finish` function that copies the reply into the caller's
 * output locations. A synchronous call is the same path plus a wait; the
 * waiting thread reads the socket itself (no hand-off to another thread).
 * Whoever holds the reader role dispatches every reply it reads, including
 * the replies of other threads' calls and of asynchronous calls.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "sspi.h"
#include "wire.h"

#define _public_ __attribute__((visibility("default")))
#define _wur_ __attribute__((warn_unused_result))

#define DEFAULT_SOCKET_PATH "/run/sspid/sspid.sock"

/* The user the unit runs sspid as (systemd/sspid.service User=): besides
 * root, the only peer the library sends anything to. */
#ifndef SSPID_DAEMON_USER
#define SSPID_DAEMON_USER "sspid"
#endif

#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Copies a reply into the caller's outputs; returns the final status. `st`
 * is the status the daemon sent. Runs once, on success or failure. */
typedef SECURITY_STATUS (*FinishFn)(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st);

typedef enum AsyncState {
        ASYNC_IDLE,
        ASYNC_PENDING,
        ASYNC_DONE,
} AsyncState;

struct _SspiAsyncContext {
        AsyncState state;
        SECURITY_STATUS status;
        SspiAsyncNotifyCallback callback;
        void *callback_data;
        bool freed;                     /* SspiFreeAsyncContext while pending */
        bool callback_queued;
        struct _SspiAsyncContext *queue_next;
};

typedef struct Call {
        uint64_t id;
        struct Call *next;
        bool done;
        SECURITY_STATUS status;
        Sspiw__Envelope *reply;         /* sync calls: handed to the waiter */
        SspiAsyncContext *async;        /* async calls */
        FinishFn finish;
        void *state;                    /* async: heap copy of the finish state */
} Call;

/* Run a call. With ac == NULL: synchronously, returning the final status.
 * Otherwise: queue it on `ac` and return the queueing status. `state` is
 * copied (state_size bytes) for async calls. Takes ownership of nothing:
 * `req` is packed before returning. */
SECURITY_STATUS call_run(SspiAsyncContext *ac, Sspiw__Envelope *req, FinishFn finish, void *state,
                         size_t state_size) _wur_;
/* The same, with `pass_fd` (>= 0) sent to the daemon as SCM_RIGHTS with the
 * request (AcquireCredReq.kcm_name); the caller still owns and closes it. */
SECURITY_STATUS call_run_fd(SspiAsyncContext *ac, Sspiw__Envelope *req, int pass_fd, FinishFn finish, void *state,
                            size_t state_size) _wur_;

/* The finish of calls whose reply carries nothing but the status
 * (CompleteAuthToken, ApplyControlToken, DeleteSecurityContext,
 * FreeCredentialsHandle and their async twins). */
SECURITY_STATUS call_finish_status(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st);

/* Whether a context handle is live, asked of the daemon (functable.c):
 * SEC_E_OK, SEC_E_INVALID_HANDLE, or the status of a call that failed. */
SECURITY_STATUS ctx_check(PCtxtHandle phContext) _wur_;
/* The same for a credential handle. */
SECURITY_STATUS cred_check(PCredHandle phCredential) _wur_;
/* AcquireCredentialsHandleA (credentials.c) into phCredential, synchronous,
 * for the caller's own logon session. */
/* Whether `name` is one of the names Windows finds Schannel under. */
bool schannel_package(const char *name);
SECURITY_STATUS cred_acquire(const char *principal, const char *package, uint32_t use, void *pAuthData,
                             SEC_GET_KEY_FN pGetKeyFn, void *pvGetKeyArgument, PCredHandle phCredential,
                             PTimeStamp ptsExpiry) _wur_;
/* QueryCredentialsAttributes (credentials.c), A (wide false) or W. */
SECURITY_STATUS cred_query_attr(PCredHandle phCredential, uint32_t attr, void *pBuffer, bool wide) _wur_;

/* QueryContextAttributes (context.c), A (wide false) or W. */
SECURITY_STATUS ctx_query_attr(PCtxtHandle phContext, uint32_t attr, void *pBuffer, bool wide) _wur_;
/* Query{Context,Credentials}AttributesEx: the answer of query(h, attr, ...)
 * laid out in the library's own memory and copied to the caller's only when
 * its structure (need bytes; 0: an attribute this library lays out for no
 * package, then check(h) tells a live handle, SEC_E_UNSUPPORTED_FUNCTION,
 * from a dead one) fits cbBuffer: SEC_E_BUFFER_TOO_SMALL, nothing written. */
SECURITY_STATUS query_attr_into(SecHandle *h, uint32_t attr, size_t need, void *pBuffer, ULONG cbBuffer, bool wide,
                                SECURITY_STATUS (*query)(SecHandle *, uint32_t, void *, bool),
                                SECURITY_STATUS (*check)(SecHandle *)) _wur_;
/* Context attributes laid out by ctxattr.c: the Schannel structures added
 * after the first set and the Kerberos/NTLM/Negotiate ones that carry one
 * string or one word. SEC_E_UNSUPPORTED_FUNCTION for any other attribute. */
SECURITY_STATUS attr_layout_more(uint32_t attr, bool wide, void *pBuffer, const Sspiw__QueryCtxAttrRep *q) _wur_;
/* The KEYING_MATERIAL_INFO set on the context into the query's km_* fields,
 * pointing into *ret_mem (the caller frees it after the call).
 * SEC_E_UNSUPPORTED_FUNCTION when none was set. */
SECURITY_STATUS keying_info_to_wire(PCtxtHandle phContext, Sspiw__QueryCtxAttrReq *q, uint8_t **ret_mem) _wur_;
/* SetContextAttributes(SECPKG_ATTR_KEYING_MATERIAL_INFO), kept by the
 * library for the context (ctxattr.c). */
SECURITY_STATUS keying_info_set(PCtxtHandle phContext, const void *pBuffer, ULONG cbBuffer) _wur_;

/* Access tokens (token.c): SECPKG_ATTR_ACCESS_TOKEN for QueryContextAttributes,
 * and the context's token dropped by DeleteSecurityContext. */
SECURITY_STATUS token_access_attr(PCtxtHandle phContext, void *pBuffer) _wur_;
void token_forget(const CtxtHandle *phContext);
/* While the calling thread impersonates: its own supplementary groups (the
 * ones it had before), their count; -1 when it does not impersonate. */
int token_thread_own_groups(const uint32_t **ret);
/* Whether the calling thread, impersonating no one itself, has a filesystem
 * uid other than its effective one: a thread started by an impersonating
 * thread (clone() copied the client's identity to it). */
bool token_thread_inherited(void);

/* Async context checks shared by every Sspi*Async entry point. */
SECURITY_STATUS async_check(SspiAsyncContext *ac) _wur_;

/* pGetKeyFn registry for the lifetime of one AcquireCredentialsHandle. */
uint64_t getkey_register(SEC_GET_KEY_FN fn, void *arg);
void getkey_unregister(uint64_t cookie);

/* Unicode (unicode.c). Allocated results; NULL input gives NULL output. */
int utf16_to_utf8(const SEC_WCHAR *s, size_t n, char **ret) _wur_;       /* n: code units, or SIZE_MAX = NUL-terminated */
int utf8_to_utf16(const char *s, SEC_WCHAR **ret) _wur_;
size_t utf16_len(const SEC_WCHAR *s);

/* SecBuffer marshalling (buffers.c). */
Sspiw__Buffer **buffers_to_wire(const SecBufferDesc *d, bool output_slots, bool allocate, size_t *ret_n) _wur_;
void buffers_free_wire(Sspiw__Buffer **b, size_t n);
/* What a reply may write into the caller's descriptor. The reply comes
 * from another process: every type, size, offset and count in it is
 * checked against the caller's buffers before anything is written. */
#define BUFTYPE(t) (UINT64_C(1) << (t))
typedef struct CopyBack {
        uint64_t types;         /* BUFTYPE() of the caller's base types the call changes */
        bool allocate;          /* output memory malloc()ed for the caller */
        bool in_place;          /* buffers may be placed inside the first DATA buffer (Schannel) */
        bool stream;            /* DATA may be pointed into a SECBUFFER_STREAM buffer */
} CopyBack;
/* The rules of each call (buffers.c). */
extern const CopyBack copy_sign, copy_verify, copy_seal, copy_unseal, copy_step, copy_step_alloc;
/* Copy reply buffers into the caller's descriptor (same count, in order).
 * Only buffers whose base type is in cb->types are written; read-only
 * buffers (SECBUFFER_READONLY, _WITH_CHECKSUM) never are. Returns
 * SEC_E_BUFFER_TOO_SMALL when an output does not fit, SEC_E_INTERNAL_ERROR
 * for a reply no honest daemon sends (another buffer count, a type change
 * of a buffer the call does not write, an offset or count outside the
 * caller's buffers); nothing is written then. */
SECURITY_STATUS buffers_from_wire(SecBufferDesc *d, Sspiw__Buffer **b, size_t n, const CopyBack *cb) _wur_;
/* Apply SECBUFFER_MISSING / SECBUFFER_EXTRA reported for input buffers
 * (into EMPTY/MISSING/EXTRA slots only). SEC_E_INTERNAL_ERROR, nothing
 * written, for a reply that breaks those rules. */
SECURITY_STATUS buffers_update_input(SecBufferDesc *d, Sspiw__Buffer **b, size_t n) _wur_;
bool desc_valid(const SecBufferDesc *d);

/* SECPKG_ATTR_REMOTE_CERT_CONTEXT: a store holding the DER certificates of
 * blob (back to back, leaf first) and the leaf's context, referenced once
 * (certstore.c). SEC_E_INTERNAL_ERROR for a blob that is not that. */
struct _CERT_CONTEXT;
SECURITY_STATUS cert_store_from_chain(const uint8_t *blob, size_t len, const struct _CERT_CONTEXT **ret) _wur_;
/* Releases p if it is a certificate context of this library: true then. */
bool cert_context_release(const void *p);

/* SecPkgInfo{A,W} array and its strings in one malloc() block (packages.c). */
SECURITY_STATUS pkginfo_block(Sspiw__PackageInfo **p, size_t n, bool wide, void **ret) _wur_;

/* Handles. */
static inline void handle_to_wire(const SecHandle *h, Sspiw__Handle *w) {
        sspiw__handle__init(w);
        w->lower = h->dwLower;
        w->upper = h->dwUpper;
}
static inline void handle_from_wire(const Sspiw__Handle *w, SecHandle *h) {
        h->dwLower = (ULONG_PTR) w->lower;
        h->dwUpper = (ULONG_PTR) w->upper;
}
static inline void timestamp_set(PTimeStamp t, int64_t v) {
        if (t) {
                t->LowPart = (uint32_t) ((uint64_t) v & 0xffffffffu);
                t->HighPart = (int32_t) (v >> 32);
        }
}

/* The handles of this connection (handles.c). */
typedef enum HandleKind {
        HANDLE_CREDENTIAL,
        HANDLE_CONTEXT,
} HandleKind;
typedef enum HandleTake {
        HANDLE_TAKEN,           /* it was ours: removed */
        HANDLE_UNKNOWN,         /* never issued here, or freed: SEC_E_INVALID_HANDLE */
        HANDLE_ASK_DAEMON,      /* the table may be incomplete (no memory): ask */
} HandleTake;
void handles_add(const SecHandle *h, HandleKind kind);
HandleTake handles_take(const SecHandle *h, HandleKind kind);
void handles_clear(void);
void handles_atfork_prepare(void);
void handles_atfork_parent(void);
void handles_atfork_child(void);
/* Attribute answers the daemon marked fixed, per context. A leg on the
 * context (ISC/ASC, ApplyControlToken, CompleteAuthToken) forgets them and
 * bumps the context's epoch; an answer is kept only if the epoch read
 * before its query is still current. UINT64_MAX: not a handle of ours. */
uint64_t handles_epoch(const SecHandle *h);
void handles_attr_forget(const SecHandle *h);
void handles_attr_put(const SecHandle *h, uint64_t epoch, uint32_t attr, const Sspiw__QueryCtxAttrRep *q);
bool handles_attr_has(const SecHandle *h, uint32_t attr);
/* A fresh copy (sspiw__query_ctx_attr_rep__free_unpacked), or NULL. */
Sspiw__QueryCtxAttrRep *handles_attr_get(const SecHandle *h, uint32_t attr);
/* What SetContextAttributes(SECPKG_ATTR_KEYING_MATERIAL_INFO) set on a
 * context of ours (opaque bytes, context.c), kept until the handle goes.
 * put: 0, -ENOENT (not a context of ours), -ENOMEM. get: 0 with a
 * malloc()ed copy, -ENOENT when nothing was set, -ENOMEM. */
int handles_setting_put(const SecHandle *h, const void *data, size_t len) __attribute__((warn_unused_result));
int handles_setting_get(const SecHandle *h, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));

/* DeleteSecurityContext / FreeCredentialsHandle: when the connection is
 * live and the handle ours, send the free without waiting (the daemon frees
 * in order, sends no reply) and return SEC_E_OK; a handle never issued on
 * it is SEC_E_INVALID_HANDLE with no round trip. Otherwise (a broken or
 * foreign connection: fork, changed credentials, a daemon restart) the
 * synchronous call, as before (client.c). */
SECURITY_STATUS call_free(Sspiw__Envelope *req, const SecHandle *h, HandleKind kind) _wur_;
/* Whether a synchronous call could be answered on the current connection
 * from the library's own state: it is this process's, with its current
 * credentials, and the daemon has not hung up (client.c). */
bool client_live(void);
/* This process's pid without a system call: getpid() once, again in a
 * forked child (the library's fork handlers; client.c). */
pid_t client_pid(void);
