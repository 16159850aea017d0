/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The security-package interface (DESIGN §6). The dispatcher knows nothing
 * package-specific: it resolves handles, checks ownership, orders calls per
 * context and then calls one of these operations. Each operation returns the
 * SECURITY_STATUS the caller will see; a package maps its library's errors
 * to SSPI codes in one table of its own.
 *
 * Threading: operations may run on the event-loop thread or on a worker. Two
 * operations on the same context never run at the same time (the dispatcher
 * serialises them); operations on different contexts that share one
 * credential may, so a package protects mutable credential state itself.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sspi.h"

struct Config;
struct PkgMsgKeys;

/* Who is calling, as the kernel told us at accept() (SO_PEERCRED). */
typedef struct Caller {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        gid_t *groups; /* supplementary groups (SO_PEERGROUPS) */
        size_t n_groups;
} Caller;

/*
 * One SecBuffer inside the daemon. `data` holds `len` valid bytes and has
 * room for `cap` bytes.
 *  - Input buffers of ISC/ASC: data/len are the caller's bytes, cap == len.
 *    A package that reports SECBUFFER_MISSING or SECBUFFER_EXTRA changes
 *    `type` and sets `count` (the value that lands in cbBuffer).
 *  - Output slots of ISC/ASC: arrive with data == NULL, len == 0 and
 *    cap == the caller's capacity (0 when the caller asked for
 *    *_REQ_ALLOCATE_MEMORY). The package fills data with malloc()ed memory
 *    and sets owned = true; the dispatcher checks len against cap.
 *  - Message buffers (sign/verify/seal/unseal): data/len are the caller's
 *    whole buffer (cap == len); the package rewrites in place, may shrink
 *    len, may change type.
 */
typedef struct PkgBuffer {
        uint32_t type;
        uint8_t *data;
        size_t len;
        size_t cap;
        uint32_t count;
        bool owned;
        /* Output slots of ISC/ASC: the client library allocates this one
         * (*_REQ_ALLOCATE_MEMORY, or a slot with a size but no memory);
         * cap is then 0 and means "no limit", not "no room". */
        bool allocate;
        /* DecryptMessage only: the buffer now lies inside the caller's first
         * SECBUFFER_DATA buffer at `offset` (Schannel's in-place layout). */
        bool has_offset;
        uint32_t offset;
        /* DecryptMessage/VerifySignature with a SECBUFFER_STREAM: `offset`
         * counts into the caller's buffer `base` (the stream) instead;
         * data/len are the plaintext to place there (DecryptMessage), or
         * data NULL and len the length to point at (VerifySignature). */
        bool has_base;
        uint32_t base;
} PkgBuffer;

/* What a verify/unseal puts in *ret_qop (which starts at 0) to report no
 * quality of protection: the caller's pfQOP is then left alone (NTLM, as
 * on Windows). */
#define PKG_QOP_UNSET UINT32_MAX

/* The base type without SECBUFFER_READONLY and friends. */
static inline uint32_t pkg_buffer_base_type(const PkgBuffer *b) {
        return b->type & ~(uint32_t) SECBUFFER_ATTRMASK;
}

/* AcquireCredentialsHandle, after the dispatcher normalised the identity. */
typedef struct PkgAcquire {
        const Caller *caller;
        const struct Config *config;
        const char *principal;  /* NULL if not given */
        uint32_t use;           /* SECPKG_CRED_INBOUND / OUTBOUND / BOTH */
        bool has_identity;
        const char *user;       /* UTF-8, may be NULL */
        const char *domain;     /* UTF-8, may be NULL */
        uint8_t *password;      /* may be NULL; the package copies it and the
                                 * dispatcher wipes this copy afterwards */
        size_t password_len;
        const char *package_list;
        /* The caller's FILE ccache as its client library read it (with the
         * caller's rights), NULL if none; the dispatcher wipes it after. */
        const uint8_t *ccache_image;
        size_t ccache_image_len;
        /* The caller's KCM cache: its name ("" for KCM's default) and the
         * socket to KCM the client connected and passed (-1 if it did
         * not); kcm_name NULL when the client sent none. */
        const char *kcm_name;
        int kcm_fd;
        uid_t act_as_uid;       /* pvLogonId after the TCB check, else caller uid */
        /* Schannel: SCHANNEL_CRED / SCH_CREDENTIALS as the client flattened
         * it (a protobuf-c Sspiw__SchannelCred), NULL if none. */
        const void *schannel;
} PkgAcquire;

/* One InitializeSecurityContext / AcceptSecurityContext step. */
typedef struct PkgStep {
        const Caller *caller;
        const struct Config *config;
        void *cred;             /* package credential, NULL if none was given */
        void *ctx;              /* in: existing context state or NULL;
                                 * out: the package stores new state here */
        const char *target;     /* ISC only; may be NULL */
        uint32_t req_flags;     /* ISC_REQ_* / ASC_REQ_* */
        uint32_t data_rep;
        PkgBuffer *in;
        size_t n_in;
        PkgBuffer *out;
        size_t n_out;
        uint32_t ret_flags;     /* out: ISC_RET_* / ASC_RET_* */
        int64_t expiry;         /* out: FILETIME (100 ns since 1601), UTC */
        void *leg_cred;         /* later legs: the credential passed on this
                                 * call (Schannel: a new client certificate
                                 * after SEC_I_INCOMPLETE_CREDENTIALS) */
        bool clear_output;      /* out, on failure: the output slots go back
                                 * empty (cbBuffer 0), as Schannel's do after
                                 * a malformed record */
} PkgStep;

#define PKG_CRED_ATTR_WORDS 64

/* QueryContextAttributes payload, filled by the package per attribute. */
typedef struct PkgCtxAttr {
        SecPkgContext_Sizes sizes;
        bool has_sizes;
        char *user_name;        /* malloc()ed UTF-8, freed by the dispatcher */
        char *client_name;
        char *server_name;
        bool has_lifespan;
        int64_t start;
        int64_t expiry;
        bool has_flags;
        uint32_t flags;
        uint8_t *session_key;   /* malloc()ed; wiped and freed by the dispatcher */
        size_t session_key_len;
        /* Schannel structures: DWORD fields in order, plus one malloc()ed
         * variable part freed by the dispatcher (QueryCtxAttrRep words/blob). */
        uint32_t words[16];
        size_t n_words;
        uint8_t *blob;
        size_t blob_len;
        bool has_blob;
        char *name;             /* AUTHORITY, CLIENT_SPECIFIED_TARGET; malloc()ed */
        /* In: SECPKG_ATTR_KEYING_MATERIAL's RFC 5705 input, as the caller
         * set it (QueryCtxAttrReq.km_*); km_length 0 when none was set. */
        const uint8_t *km_label;
        size_t km_label_len;
        const uint8_t *km_context; /* NULL: no context value */
        size_t km_context_len;
        uint32_t km_length;
        /* PKG_ATTR_TOKEN_SIDS: the client's SIDs, [0] the user's and then
         * its groups ("S-1-5-21-..." and SE_GROUP_* attributes), malloc()ed
         * (pkg_sids_free); n_sids 0 when the package knows none. */
        struct PkgSid *sids;
        size_t n_sids;
} PkgCtxAttr;

typedef struct PkgSid {
        char *sid;
        uint32_t attributes;
} PkgSid;

/* Daemon-internal query (rpc/token.c), never a caller's attribute: the
 * SIDs an accepted context's client logged on with (a Kerberos ticket's
 * PAC, the domain's NETLOGON answer to an NTLM logon). */
#define PKG_ATTR_TOKEN_SIDS 0x7ffffff0U
/* SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED:
 * what a domain controller gives every group of a logon (MS-PAC 2.2.1). */
#define SE_GROUP_DEFAULT_ATTRS 0x00000007U

static inline void pkg_sids_free(PkgSid *s, size_t n) {
        for (size_t i = 0; s && i < n; i++)
                free(s[i].sid);
        free(s);
}

/* The attributes Kerberos and NTLM answer alike, once the package has
 * answered SIZES itself (it can before the handshake ends): FLAGS at any
 * time; NAMES, NATIVE_NAMES, LIFESPAN and SESSION_KEY only on an established
 * context (SEC_E_INVALID_HANDLE before, what Windows gives for a partial
 * context and the dispatcher for message calls on one); anything else
 * SEC_E_UNSUPPORTED_FUNCTION. True when that answered attr (status in *ret),
 * false when the package answers it. */
static inline bool pkg_query_common(uint32_t attr, bool established, uint32_t ret_flags, PkgCtxAttr *out,
                                    SECURITY_STATUS *ret) {
        switch (attr) {
        case SECPKG_ATTR_FLAGS:
                out->flags = ret_flags;
                out->has_flags = true;
                *ret = SEC_E_OK;
                return true;
        case SECPKG_ATTR_NAMES:
        case SECPKG_ATTR_NATIVE_NAMES:
        case SECPKG_ATTR_LIFESPAN:
        case SECPKG_ATTR_SESSION_KEY:
                if (established)
                        return false;
                *ret = SEC_E_INVALID_HANDLE;
                return true;
        default:
                *ret = SEC_E_UNSUPPORTED_FUNCTION;
                return true;
        }
}

/* SECPKG_ATTR_KEY_INFO as the client lays it out (client-lib/context.c):
 * words KeySize, SignatureAlgorithm, EncryptAlgorithm; blob the two names,
 * each NUL-terminated. */
static inline SECURITY_STATUS pkg_key_info(PkgCtxAttr *out, uint32_t key_size, uint32_t sig_alg, uint32_t enc_alg,
                                           const char *sig_name, const char *enc_name) {
        size_t ls = strlen(sig_name) + 1, le = strlen(enc_name) + 1;

        out->blob = malloc(ls + le);
        if (!out->blob)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(out->blob, sig_name, ls);
        memcpy(out->blob + ls, enc_name, le);
        out->blob_len = ls + le;
        out->has_blob = true;
        out->words[0] = key_size;
        out->words[1] = sig_alg;
        out->words[2] = enc_alg;
        out->n_words = 3;
        return SEC_E_OK;
}

/* ChangeAccountPassword, after the dispatcher checked the caller's budget
 * of attempts (policy/attempts.h). The strings are UTF-8 and NUL-terminated;
 * the dispatcher wipes the passwords afterwards. */
typedef struct PkgChangePassword {
        const Caller *caller;
        const struct Config *config;
        const char *domain;             /* may be NULL or empty */
        const char *account;
        const char *old_password;
        const char *new_password;
        bool impersonating;
        /* out: DOMAIN_PASSWORD_INFORMATION (Windows x64 layout, 24 bytes)
         * when the password server sent its policy */
        uint8_t response[24];
        bool has_response;
        /* out: the password server itself judged the old password (a wrong
         * one or an unknown account), which the caller's budget pays for */
        bool guessed;
} PkgChangePassword;

/* SetCredentialsAttributes, as the client parsed the caller's structure. */
typedef struct PkgSetCredAttr {
        uint32_t attr;
        uint32_t version;
        uint32_t flags;
        const char *proxy_server;       /* KDC_PROXY_SETTINGS; may be NULL */
        const uint8_t *client_tls_cred;
        size_t client_tls_cred_len;
        const uint32_t *words;          /* Schannel's SUPPORTED_PROTOCOLS, CIPHER_STRENGTHS, SUPPORTED_ALGS */
        size_t n_words;                 /* at most SET_CRED_ATTR_MAX_ALGS */
} PkgSetCredAttr;
/* The most ALG_IDs SetCredentialsAttributes(SUPPORTED_ALGS) takes. */
#define SET_CRED_ATTR_MAX_ALGS 256

/* Every operation except acquire, cred_free, init_ctx/accept_ctx (one of
 * them), query_ctx and ctx_free may be NULL: the dispatcher then answers
 * SEC_E_UNSUPPORTED_FUNCTION (or, for step_may_block, "never blocks"). */
typedef struct Provider {
        const char *name;
        const char *comment;
        const char *const *aliases; /* NULL-terminated, may be NULL */
        uint32_t capabilities;      /* SECPKG_FLAG_* */
        uint16_t version;
        uint16_t rpcid;
        uint32_t max_token;

        /* Called at start and after every reload; 0 or negative errno. */
        int (*setup)(const struct Config *config);

        SECURITY_STATUS (*acquire)(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry);
        void (*cred_free)(void *cred);
        /* SECPKG_CRED_ATTR_NAMES: malloc()ed UTF-8 name. */
        SECURITY_STATUS (*cred_name)(void *cred, char **ret_name);
        /* Other credential attributes: the structure's DWORDs (or a list
         * of ALG_IDs) in words[0..*ret_n), at most PKG_CRED_ATTR_WORDS. */
        SECURITY_STATUS (*cred_attr)(void *cred, uint32_t attr, uint32_t *words, size_t *ret_n);

        /* True when the step may wait for the network (KDC traffic) or do
         * public-key work; the dispatcher then runs it on a worker. */
        bool (*step_may_block)(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept);
        SECURITY_STATUS (*init_ctx)(PkgStep *s);
        SECURITY_STATUS (*accept_ctx)(PkgStep *s);
        SECURITY_STATUS (*complete)(void *ctx, PkgBuffer *b, size_t n);
        /* Attributes the dispatcher does not answer itself (it answers
         * PACKAGE_INFO and NEGOTIATION_INFO from the fields above). */
        SECURITY_STATUS (*query_ctx)(void *ctx, uint32_t attr, PkgCtxAttr *out);

        SECURITY_STATUS (*sign)(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
        SECURITY_STATUS (*verify)(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);
        SECURITY_STATUS (*seal)(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
        SECURITY_STATUS (*unseal)(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);

        /* Serialise a complete context into daemon memory (the blob never
         * leaves the daemon). When keep_old is true the package keeps `ctx`
         * usable; otherwise it may consume it (then *ctx_consumed = true). */
        SECURITY_STATUS (*export_ctx)(void *ctx, bool keep_old, uint8_t **ret_blob, size_t *ret_len,
                                      bool *ctx_consumed);
        SECURITY_STATUS (*import_ctx)(const uint8_t *blob, size_t len, void **ret_ctx);
        /* Instead of export_ctx, a package may hand the export store a live
         * state (Schannel: a TLS connection inside OpenSSL, which cannot be
         * serialised): the context itself (*ctx_consumed = true: the
         * exporter's handle is then deleted whatever the flags) or, when
         * keep_old allows and the package can, a copy. The store frees it
         * with ctx_free; the importer's context is that state, after
         * import_moved (may be NULL) told the package its new caller. */
        SECURITY_STATUS (*export_live)(void *ctx, bool keep_old, void **ret_live, bool *ctx_consumed);
        void (*import_moved)(void *ctx, const Caller *caller);
        /* SECPKG_CONTEXT_EXPORT_RESET_NEW on the import (may be NULL: the
         * flag changes nothing): NTLM restarts both sequence numbers, as
         * Windows' msv1_0 does. */
        void (*import_reset)(void *ctx);
        /* What exporting a context whose handshake has not finished returns
         * (0: SEC_E_INVALID_HANDLE). */
        SECURITY_STATUS export_partial;

        void (*ctx_free)(void *ctx);

        /* ApplyControlToken (Schannel: SCHANNEL_SHUTDOWN); NULL when the
         * package has none (SEC_E_UNSUPPORTED_FUNCTION). */
        SECURITY_STATUS (*control)(void *ctx, PkgBuffer *b, size_t n);

        /* Negotiate: the package chosen (or being tried) for this context,
         * which PACKAGE_INFO and NEGOTIATION_INFO report instead of the
         * context's own; NULL op or NULL result: the context's package. */
        const struct Provider *(*negotiated)(void *ctx);

        /* message-protection = caller: the per-message state of a complete
         * context (packages/msg-keys.h); NULL op or SEC_E_UNSUPPORTED_FUNCTION:
         * its message calls stay in the daemon. */
        SECURITY_STATUS (*msg_keys)(void *ctx, struct PkgMsgKeys *out);
        /* The library's per-message state as it stands (ExportSecurityContext
         * of a caller-mode context) replaces the package's: SEC_E_OK, or
         * SEC_E_INVALID_TOKEN for a state that is not this context's. */
        SECURITY_STATUS (*msg_keys_update)(void *ctx, const struct PkgMsgKeys *in);
        /* The state changes after completion (Schannel: post-handshake
         * messages, renegotiation): every later ISC/ASC and message reply
         * of a caller-mode context carries msg_keys again, and requests
         * carry the library's numbers (msg_keys_update first). */
        bool msg_keys_follow;

        /* Steps may wait on something outside the daemon (a KDC, KCM, a
         * KDC proxy, winbind) for seconds: one uid then runs at most all
         * but one of its lane's workers (workers.h), so a uid whose calls
         * hang never takes the lane from everybody else. */
        bool waits_outside;

        /* ChangeAccountPassword; NULL: SEC_E_UNSUPPORTED_FUNCTION. May
         * block (the dispatcher runs it on a worker). */
        SECURITY_STATUS (*change_password)(PkgChangePassword *c);
        /* SetCredentialsAttributes; NULL: SEC_E_UNSUPPORTED_FUNCTION. */
        SECURITY_STATUS (*set_cred_attr)(void *cred, const PkgSetCredAttr *a);
        /* AddCredentials: `added`, a credential of this package just
         * acquired for the same caller, gives `cred` what it holds (the
         * package empties it; the caller frees it). May block (an AS
         * exchange). NULL: SEC_E_UNSUPPORTED_FUNCTION. */
        SECURITY_STATUS (*add_cred)(void *cred, void *added);
        /* SetContextAttributes: the caller's cbBuffer bytes as given; the
         * package parses them by the attribute's documented layout. NULL,
         * or an attribute it does not let be set:
         * SEC_E_UNSUPPORTED_FUNCTION, as Windows answers. */
        SECURITY_STATUS (*set_ctx_attr)(void *ctx, uint32_t attr, const uint8_t *data, size_t len);
        /* CredSSP: the credentials a client delegated to this complete
         * accepted context, UTF-8, malloc()ed (the caller wipes and frees
         * them), for an acquisition inside the daemon
         * (SEC_DELEGATED_CONTEXT_CRED); SEC_E_NO_CREDENTIALS when none
         * came. NULL: the package has none (SEC_E_UNKNOWN_CREDENTIALS). */
        SECURITY_STATUS (*delegated)(void *ctx, char **ret_user, char **ret_domain, uint8_t **ret_password,
                                     size_t *ret_password_len);
} Provider;

/* The answer of an acquisition asked for one or both directions when none
 * was granted: the inbound failure unless it is only "no credentials" (a
 * refused grant says more than a missing ccache), else the outbound one. */
static inline SECURITY_STATUS pkg_acquire_failure(uint32_t use, SECURITY_STATUS st_out, SECURITY_STATUS st_in) {
        if (!(use & SECPKG_CRED_OUTBOUND) || st_in != SEC_E_NO_CREDENTIALS)
                return st_in;
        return st_out;
}

/* A failed step hands no output back: the slots the package filled are
 * freed and emptied (data, len, owned); type and cap stay as they came. */
static inline void pkg_step_drop_outputs(PkgStep *s) {
        for (size_t i = 0; i < s->n_out; i++)
                if (s->out[i].owned) {
                        free(s->out[i].data);
                        s->out[i].data = NULL;
                        s->out[i].len = 0;
                        s->out[i].owned = false;
                }
}

/* One direction of an acquisition: fills in the package's credential `cred`;
 * `extra` is the package's own (Kerberos: where the expiry goes). */
typedef SECURITY_STATUS (*PkgAcquireHalf)(void *cred, const PkgAcquire *a, void *extra);

/* The acquisition Kerberos, NTLM and Digest share: each direction the caller
 * asked for is tried on its own, outbound first, and sets its bit in *use
 * when granted, so SECPKG_CRED_BOTH succeeds with whichever half is
 * available. When none is, the answer is pkg_acquire_failure's and the
 * caller frees cred. */
static inline SECURITY_STATUS pkg_acquire_halves(const PkgAcquire *a, void *cred, uint32_t *use, PkgAcquireHalf outbound,
                                                 PkgAcquireHalf inbound, void *extra) {
        SECURITY_STATUS st_out = SEC_E_NO_CREDENTIALS, st_in = SEC_E_NO_CREDENTIALS;

        if (a->use & SECPKG_CRED_OUTBOUND) {
                st_out = outbound(cred, a, extra);
                if (st_out == SEC_E_OK)
                        *use |= SECPKG_CRED_OUTBOUND;
        }
        if (a->use & SECPKG_CRED_INBOUND) {
                st_in = inbound(cred, a, extra);
                if (st_in == SEC_E_OK)
                        *use |= SECPKG_CRED_INBOUND;
        }
        return *use ? SEC_E_OK : pkg_acquire_failure(a->use, st_out, st_in);
}

/* All packages compiled in, NULL-terminated. */
extern const Provider *const providers[];

/* Find by name or alias, case-insensitively; NULL when unknown. */
const Provider *provider_find(const char *name);

/* One entry of EnumerateSecurityPackages: a provider under its own name
 * (name NULL) or under another name Windows lists separately. Ends with a
 * NULL provider. */
typedef struct PackageListing {
        const Provider *provider;
        const char *name;
} PackageListing;
extern const PackageListing package_listing[];

/* The name SecPkgInfo shows when `asked` found p: a listed name of p's
 * (in its listed spelling), otherwise p->name. */
const char *provider_listed_name(const Provider *p, const char *asked);

/* FILETIME helpers: 100 ns units since 1601-01-01 UTC. */
#define FILETIME_UNIX_EPOCH 116444736000000000LL
#define FILETIME_NEVER      INT64_MAX
static inline int64_t filetime_from_unix(int64_t t) {
        return t * 10000000LL + FILETIME_UNIX_EPOCH;
}
