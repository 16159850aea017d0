/* SPDX-License-Identifier: MIT */
/*
 * Security contexts: InitializeSecurityContext, AcceptSecurityContext and
 * their Sspi*Async twins, CompleteAuthToken, DeleteSecurityContext (+Async),
 * QueryContextAttributes, ExportSecurityContext, ImportSecurityContext.
 * Twin of daemon/rpc/context.c.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "msgctx.h"
#include "schannel.h"

typedef struct StepState {
        PCtxtHandle phNewContext;
        PSecBufferDesc pInput;
        PSecBufferDesc pOutput;
        ULONG *pfContextAttr;
        PTimeStamp ptsExpiry;
        bool allocate;
        uint32_t alloc_slots; /* bit i: output slot i has a size but no memory */
        bool has_in_ctx;
        SecHandle in_ctx;        /* the context the leg continues */
        MsgHandoff ho;           /* Schannel in caller mode: the library's record numbers */
} StepState;

/*
 * Output slots the caller gave a size but no memory (without
 * *_REQ_ALLOCATE_MEMORY): the library allocates what the package writes
 * there, as Windows' Schannel does for the first-leg token (Wine's
 * schannel.c test_connection_shutdown; freed with FreeContextBuffer).
 * Memory first, so that buffers_from_wire() copies into it; undone when
 * the copy is refused.
 */
static SECURITY_STATUS alloc_slots_take(StepState *s, const Sspiw__CtxStepRep *r, void **mem) {
        SecBufferDesc *d = s->pOutput;

        if (!s->alloc_slots || !d || r->n_output != d->cBuffers)
                return SEC_E_OK; /* a mismatch is buffers_from_wire()'s to refuse */
        for (size_t i = 0; i < r->n_output; i++) {
                size_t len = r->output[i]->has_data ? r->output[i]->data.len : 0;
                if (!(s->alloc_slots & (UINT32_C(1) << i)) || len == 0)
                        continue;
                if (len > WIRE_MAX_OUTPUT_CAP)
                        return SEC_E_INTERNAL_ERROR;
                mem[i] = malloc(len);
                if (!mem[i])
                        return SEC_E_INSUFFICIENT_MEMORY;
                d->pBuffers[i].pvBuffer = mem[i];
                d->pBuffers[i].cbBuffer = (uint32_t) len;
        }
        return SEC_E_OK;
}

static void alloc_slots_undo(StepState *s, void **mem, const uint32_t *sizes) {
        for (size_t i = 0; i < WIRE_MAX_BUFFERS; i++)
                if (mem[i]) {
                        free(mem[i]);
                        s->pOutput->pBuffers[i].pvBuffer = NULL;
                        s->pOutput->pBuffers[i].cbBuffer = sizes[i];
                }
}

/* The caller's output descriptor, with the allocated slots. */
static SECURITY_STATUS outputs_from_wire(StepState *s, const Sspiw__CtxStepRep *r, const CopyBack *copy,
                                         bool *ret_allocated) {
        void *mem[WIRE_MAX_BUFFERS] = { 0 };
        uint32_t sizes[WIRE_MAX_BUFFERS] = { 0 };
        SECURITY_STATUS st;

        for (size_t i = 0; s->pOutput && i < s->pOutput->cBuffers && i < WIRE_MAX_BUFFERS; i++)
                sizes[i] = s->pOutput->pBuffers[i].cbBuffer;
        st = alloc_slots_take(s, r, mem);
        if (st == SEC_E_OK)
                st = buffers_from_wire(s->pOutput, r->output, r->n_output, copy);
        if (st != SEC_E_OK) {
                alloc_slots_undo(s, mem, sizes);
                return st;
        }
        for (size_t i = 0; i < WIRE_MAX_BUFFERS; i++)
                if (mem[i])
                        *ret_allocated = true;
        return SEC_E_OK;
}

static SECURITY_STATUS step_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        StepState *s = state;
        const Sspiw__CtxStepRep *r;
        SECURITY_STATUS cst;
        bool allocated = false;

        if (s->ho.active) {
                /* The state the leg left: new keys, or none (a handshake
                 * runs, or the leg failed: the daemon answers). */
                msgctx_handoff_done(&s->ho, rep && rep->body_case == SSPIW__ENVELOPE__BODY_CTX_STEP_REP
                                                    ? rep->ctx_step_rep->msg_keys
                                                    : NULL);
        }
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_CTX_STEP_REP)
                return st >= 0 ? SEC_E_INTERNAL_ERROR : st;
        r = rep->ctx_step_rep;
        /* Every output buffer is an output; inputs get counts only. */
        const CopyBack *copy = s->allocate ? &copy_step_alloc : &copy_step;
        /* SECBUFFER_MISSING / SECBUFFER_EXTRA go back even on failure
         * (SEC_E_INCOMPLETE_MESSAGE needs them). */
        if (buffers_update_input(s->pInput, r->input, r->n_input) != SEC_E_OK)
                return SEC_E_INTERNAL_ERROR;
        if (st < 0) {
                /* Schannel: the alert a failed step sent (SECBUFFER_ALERT). */
                if (r->n_output && outputs_from_wire(s, r, copy, &allocated) != SEC_E_OK)
                        return st; /* no room for the alert: the status alone */
                return st;
        }
        cst = outputs_from_wire(s, r, copy, &allocated);
        if (cst != SEC_E_OK)
                return cst;
        if (s->phNewContext && r->ctx) {
                SecHandle nh;
                handle_from_wire(r->ctx, &nh);
                /* A new context is ours from now on; a continued one stays
                 * as the table has it (an async leg finishing after a
                 * DeleteSecurityContext must not bring it back). */
                if (!s->has_in_ctx || s->in_ctx.dwLower != nh.dwLower || s->in_ctx.dwUpper != nh.dwUpper)
                        handles_add(&nh, HANDLE_CONTEXT);
                else
                        handles_attr_forget(&nh); /* the leg may have changed what was fixed */
                *s->phNewContext = nh;
        }
        if (r->msg_keys && r->ctx && (st == SEC_E_OK || r->msg_keys->mech == 3)) {
                SecHandle h;
                handle_from_wire(r->ctx, &h);
                msgctx_install(&h, r->msg_keys);
        }
        if (s->pfContextAttr)
                *s->pfContextAttr = r->attrs | (s->allocate || allocated ? ISC_RET_ALLOCATED_MEMORY : 0);
        if (r->has_expiry)
                timestamp_set(s->ptsExpiry, r->expiry);
        return st;
}

/* An ISC/ASC output descriptor: slots may have a size and no memory (see
 * alloc_slots_take()), so only its shape is checked here. */
static bool output_desc_valid(const SecBufferDesc *d) {
        return !d || (d->ulVersion == SECBUFFER_VERSION && d->cBuffers <= WIRE_MAX_BUFFERS &&
                      (d->cBuffers == 0 || d->pBuffers));
}

/* An EMPTY input buffer is a slot for SECBUFFER_EXTRA or _MISSING: one that
 * claims bytes it has no memory for is refused with SEC_E_INVALID_TOKEN,
 * before anything is consumed (Windows-verified for Schannel in Wine's
 * schannel.c test_communication: {SECBUFFER_EMPTY, 0xdeadbeef, NULL}). */
static bool input_empty_slots_valid(const SecBufferDesc *d) {
        for (uint32_t i = 0; d && i < d->cBuffers; i++) {
                const SecBuffer *b = &d->pBuffers[i];
                if ((b->BufferType & ~(uint32_t) SECBUFFER_ATTRMASK) == SECBUFFER_EMPTY && b->cbBuffer && !b->pvBuffer)
                        return false;
        }
        return true;
}

static SECURITY_STATUS step(SspiAsyncContext *ac, bool accept, PCredHandle phCredential, PCtxtHandle phContext,
                            const char *target, uint32_t fContextReq, uint32_t TargetDataRep, PSecBufferDesc pInput,
                            PCtxtHandle phNewContext, PSecBufferDesc pOutput, ULONG *pfContextAttr,
                            PTimeStamp ptsExpiry) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__InitCtxReq ir = SSPIW__INIT_CTX_REQ__INIT;
        Sspiw__AcceptCtxReq ar = SSPIW__ACCEPT_CTX_REQ__INIT;
        Sspiw__Handle ch, xh;
        Sspiw__Buffer **in = NULL, **out = NULL;
        size_t n_in = 0, n_out = 0;
        /* ISC_REQ_ALLOCATE_MEMORY and ASC_REQ_ALLOCATE_MEMORY are both 0x100. */
        bool allocate = fContextReq & ISC_REQ_ALLOCATE_MEMORY;
        StepState s = { .phNewContext = phNewContext,
                        .pInput = pInput,
                        .pOutput = pOutput,
                        .pfContextAttr = pfContextAttr,
                        .ptsExpiry = ptsExpiry,
                        .allocate = allocate };
        SECURITY_STATUS st;

        if (ac && (st = async_check(ac)) != SEC_E_OK)
                return st;
        if (!phCredential && !phContext)
                return SEC_E_INVALID_HANDLE;
        if (!phContext && !phNewContext)
                return SEC_E_INVALID_PARAMETER;
        if (!desc_valid(pInput) || !input_empty_slots_valid(pInput) || !output_desc_valid(pOutput))
                return SEC_E_INVALID_TOKEN;
        in = buffers_to_wire(pInput, false, false, &n_in);
        out = buffers_to_wire(pOutput, true, allocate, &n_out);
        if (!in || !out) {
                buffers_free_wire(in, n_in);
                buffers_free_wire(out, n_out);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        /* A slot with a size and no memory goes as one to allocate. */
        for (size_t i = 0; !allocate && i < n_out; i++)
                if (!pOutput->pBuffers[i].pvBuffer && pOutput->pBuffers[i].cbBuffer) {
                        out[i]->has_size = false;
                        s.alloc_slots |= UINT32_C(1) << i;
                }
        if (phCredential)
                handle_to_wire(phCredential, &ch);
        if (phContext) {
                handle_to_wire(phContext, &xh);
                /* Copied: an async leg finishes after the caller's handle
                 * may have changed. */
                s.has_in_ctx = true;
                s.in_ctx = *phContext;
                handles_attr_forget(phContext); /* a later leg: nothing stays fixed */
                msgctx_handoff_begin(phContext, &s.ho);
        }
        if (accept) {
                ar.cred = phCredential ? &ch : NULL;
                ar.ctx = phContext ? &xh : NULL;
                ar.req_flags = fContextReq;
                ar.data_rep = TargetDataRep;
                ar.n_input = n_in;
                ar.input = in;
                ar.n_output = n_out;
                ar.output = out;
                ar.keys = s.ho.active ? &s.ho.m : NULL;
                req.body_case = SSPIW__ENVELOPE__BODY_ACCEPT_CTX;
                req.accept_ctx = &ar;
        } else {
                ir.cred = phCredential ? &ch : NULL;
                ir.ctx = phContext ? &xh : NULL;
                ir.target = (char *) target;
                ir.req_flags = fContextReq;
                ir.data_rep = TargetDataRep;
                ir.n_input = n_in;
                ir.input = in;
                ir.n_output = n_out;
                ir.output = out;
                ir.keys = s.ho.active ? &s.ho.m : NULL;
                req.body_case = SSPIW__ENVELOPE__BODY_INIT_CTX;
                req.init_ctx = &ir;
        }
        st = call_run(ac, &req, step_finish, &s, sizeof(s));
        /* Not answered (an async leg under way finishes with its copy). */
        if (!ac || st != SEC_E_OK)
                msgctx_handoff_done(&s.ho, NULL);
        buffers_free_wire(in, n_in);
        buffers_free_wire(out, n_out);
        return st;
}

static SECURITY_STATUS init_w(SspiAsyncContext *ac, PCredHandle phCredential, PCtxtHandle phContext,
                              const SEC_WCHAR *target, uint32_t fContextReq, uint32_t Reserved1,
                              uint32_t TargetDataRep, PSecBufferDesc pInput, uint32_t Reserved2,
                              PCtxtHandle phNewContext, PSecBufferDesc pOutput, ULONG *pfContextAttr,
                              PTimeStamp ptsExpiry) {
        char *t = NULL;
        SECURITY_STATUS st;

        if (Reserved1 || Reserved2)
                return SEC_E_INVALID_PARAMETER;
        if (utf16_to_utf8(target, SIZE_MAX, &t) < 0)
                return SEC_E_TARGET_UNKNOWN;
        st = step(ac, false, phCredential, phContext, t, fContextReq, TargetDataRep, pInput, phNewContext, pOutput,
                  pfContextAttr, ptsExpiry);
        free(t);
        return st;
}

_public_ SECURITY_STATUS InitializeSecurityContextA(PCredHandle phCredential, PCtxtHandle phContext,
                                                    const SEC_CHAR *pszTargetName, ULONG fContextReq, ULONG Reserved1,
                                                    ULONG TargetDataRep, PSecBufferDesc pInput, ULONG Reserved2,
                                                    PCtxtHandle phNewContext, PSecBufferDesc pOutput,
                                                    ULONG *pfContextAttr, PTimeStamp ptsExpiry) {
        if (Reserved1 || Reserved2)
                return SEC_E_INVALID_PARAMETER;
        return step(NULL, false, phCredential, phContext, pszTargetName, fContextReq, TargetDataRep, pInput,
                    phNewContext, pOutput, pfContextAttr, ptsExpiry);
}

_public_ SECURITY_STATUS InitializeSecurityContextW(PCredHandle phCredential, PCtxtHandle phContext,
                                                    const SEC_WCHAR *pszTargetName, ULONG fContextReq, ULONG Reserved1,
                                                    ULONG TargetDataRep, PSecBufferDesc pInput, ULONG Reserved2,
                                                    PCtxtHandle phNewContext, PSecBufferDesc pOutput,
                                                    ULONG *pfContextAttr, PTimeStamp ptsExpiry) {
        return init_w(NULL, phCredential, phContext, pszTargetName, fContextReq, Reserved1, TargetDataRep, pInput,
                      Reserved2, phNewContext, pOutput, pfContextAttr, ptsExpiry);
}

_public_ SECURITY_STATUS SspiInitializeSecurityContextAsyncA(SspiAsyncContext *AsyncContext, PCredHandle phCredential,
                                                             PCtxtHandle phContext, const SEC_CHAR *pszTargetName,
                                                             ULONG fContextReq, ULONG Reserved1, ULONG TargetDataRep,
                                                             PSecBufferDesc pInput, ULONG Reserved2,
                                                             PCtxtHandle phNewContext, PSecBufferDesc pOutput,
                                                             ULONG *pfContextAttr, PTimeStamp ptsExpiry) {
        if (!AsyncContext || Reserved1 || Reserved2)
                return SEC_E_INVALID_PARAMETER;
        return step(AsyncContext, false, phCredential, phContext, pszTargetName, fContextReq, TargetDataRep, pInput,
                    phNewContext, pOutput, pfContextAttr, ptsExpiry);
}

_public_ SECURITY_STATUS SspiInitializeSecurityContextAsyncW(SspiAsyncContext *AsyncContext, PCredHandle phCredential,
                                                             PCtxtHandle phContext, const SEC_WCHAR *pszTargetName,
                                                             ULONG fContextReq, ULONG Reserved1, ULONG TargetDataRep,
                                                             PSecBufferDesc pInput, ULONG Reserved2,
                                                             PCtxtHandle phNewContext, PSecBufferDesc pOutput,
                                                             ULONG *pfContextAttr, PTimeStamp ptsExpiry) {
        if (!AsyncContext)
                return SEC_E_INVALID_PARAMETER;
        return init_w(AsyncContext, phCredential, phContext, pszTargetName, fContextReq, Reserved1, TargetDataRep,
                      pInput, Reserved2, phNewContext, pOutput, pfContextAttr, ptsExpiry);
}

_public_ SECURITY_STATUS AcceptSecurityContext(PCredHandle phCredential, PCtxtHandle phContext, PSecBufferDesc pInput,
                                               ULONG fContextReq, ULONG TargetDataRep, PCtxtHandle phNewContext,
                                               PSecBufferDesc pOutput, ULONG *pfContextAttr, PTimeStamp ptsExpiry) {
        return step(NULL, true, phCredential, phContext, NULL, fContextReq, TargetDataRep, pInput, phNewContext,
                    pOutput, pfContextAttr, ptsExpiry);
}

_public_ SECURITY_STATUS SspiAcceptSecurityContextAsync(SspiAsyncContext *AsyncContext, PCredHandle phCredential,
                                                        PCtxtHandle phContext, PSecBufferDesc pInput,
                                                        ULONG fContextReq, ULONG TargetDataRep,
                                                        PCtxtHandle phNewContext, PSecBufferDesc pOutput,
                                                        ULONG *pfContextAttr, PTimeStamp ptsExpiry) {
        if (!AsyncContext)
                return SEC_E_INVALID_PARAMETER;
        return step(AsyncContext, true, phCredential, phContext, NULL, fContextReq, TargetDataRep, pInput,
                    phNewContext, pOutput, pfContextAttr, ptsExpiry);
}

/* The buffers the package finished come back by position: only TOKEN
 * buffers, never longer than the caller's. */
static SECURITY_STATUS complete_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        PSecBufferDesc d = *(PSecBufferDesc *) state;
        const Sspiw__CompleteTokenRep *r;

        if (st < 0 || !rep || rep->body_case != SSPIW__ENVELOPE__BODY_COMPLETE_TOKEN_REP)
                return st;
        r = rep->complete_token_rep;
        if (r->n_token > d->cBuffers)
                return SEC_E_INTERNAL_ERROR;
        for (size_t i = 0; i < r->n_token; i++) {
                const Sspiw__Buffer *w = r->token[i];
                SecBuffer *sb = &d->pBuffers[i];
                if (!w->has_data)
                        continue;
                if ((sb->BufferType & ~SECBUFFER_ATTRMASK) != SECBUFFER_TOKEN || w->data.len > sb->cbBuffer ||
                    (w->data.len && !sb->pvBuffer))
                        return SEC_E_INTERNAL_ERROR;
        }
        for (size_t i = 0; i < r->n_token; i++) {
                const Sspiw__Buffer *w = r->token[i];
                if (!w->has_data)
                        continue;
                if (w->data.len)
                        memcpy(d->pBuffers[i].pvBuffer, w->data.data, w->data.len);
                d->pBuffers[i].cbBuffer = (ULONG) w->data.len;
        }
        return st;
}

_public_ SECURITY_STATUS CompleteAuthToken(PCtxtHandle phContext, PSecBufferDesc pToken) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__CompleteTokenReq c = SSPIW__COMPLETE_TOKEN_REQ__INIT;
        Sspiw__Buffer **b;
        Sspiw__Handle h;
        size_t n = 0;
        SECURITY_STATUS st;

        if (!phContext)
                return SEC_E_INVALID_HANDLE;
        if (!desc_valid(pToken))
                return SEC_E_INVALID_TOKEN;
        b = buffers_to_wire(pToken, false, false, &n);
        if (!b)
                return SEC_E_INSUFFICIENT_MEMORY;
        handle_to_wire(phContext, &h);
        handles_attr_forget(phContext);
        c.ctx = &h;
        c.n_token = n;
        c.token = b;
        req.body_case = SSPIW__ENVELOPE__BODY_COMPLETE_TOKEN;
        req.complete_token = &c;
        st = call_run(NULL, &req, complete_finish, &pToken, sizeof(pToken));
        buffers_free_wire(b, n);
        return st;
}

/*
 * Windows' DeleteSecurityContext answers from the handle table of the
 * caller's process; so does ours (call_free): the daemon gets the free
 * pipelined, in order with the calls after it, and sends no reply. The
 * async twin still goes through the daemon (its status is the daemon's),
 * but the handle leaves the table at once: a second delete of it is
 * SEC_E_INVALID_HANDLE, as when the daemon ordered the two.
 */
static SECURITY_STATUS delete_ctx(SspiAsyncContext *ac, PCtxtHandle phContext) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__DeleteCtxReq d = SSPIW__DELETE_CTX_REQ__INIT;
        Sspiw__Handle h;
        SECURITY_STATUS st;

        if (!phContext)
                return SEC_E_INVALID_HANDLE;
        if (ac && (st = async_check(ac)) != SEC_E_OK)
                return st;
        msgctx_forget(phContext); /* its keys go now, whatever the daemon says */
        token_forget(phContext); /* SECPKG_ATTR_ACCESS_TOKEN's handle dies with it */
        handle_to_wire(phContext, &h);
        d.ctx = &h;
        req.body_case = SSPIW__ENVELOPE__BODY_DELETE_CTX;
        req.delete_ctx = &d;
        if (!ac)
                return call_free(&req, phContext, HANDLE_CONTEXT);
        handles_take(phContext, HANDLE_CONTEXT);
        return call_run(ac, &req, call_finish_status, NULL, 0);
}

_public_ SECURITY_STATUS DeleteSecurityContext(PCtxtHandle phContext) {
        return delete_ctx(NULL, phContext);
}

_public_ SECURITY_STATUS SspiDeleteSecurityContextAsync(SspiAsyncContext *AsyncContext, PCtxtHandle phContext) {
        if (!AsyncContext)
                return SEC_E_INVALID_PARAMETER;
        return delete_ctx(AsyncContext, phContext);
}

/* ---- QueryContextAttributes ---- */

typedef struct AttrState {
        uint32_t attr;
        void *pBuffer;
        bool wide;
        SecHandle ctx;
        uint64_t epoch;         /* handles_epoch() before the query */
} AttrState;

/* A string for the caller, freed with FreeContextBuffer. */
static void *out_string(const char *s, bool wide) {
        if (!s)
                return NULL;
        if (wide) {
                SEC_WCHAR *w = NULL;
                return utf8_to_utf16(s, &w) < 0 ? NULL : w;
        }
        return strdup(s);
}

static SECURITY_STATUS attr_layout(AttrState *s, Sspiw__QueryCtxAttrRep *q);

static SECURITY_STATUS attr_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        AttrState *s = state;

        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR_REP)
                return SEC_E_INTERNAL_ERROR;
        st = attr_layout(s, rep->query_ctx_attr_rep);
        /* Kept as the daemon sent it: every later query lays it out anew,
         * into memory of the caller's own (FreeContextBuffer as before). */
        if (st == SEC_E_OK && rep->query_ctx_attr_rep->has_fixed && rep->query_ctx_attr_rep->fixed &&
            s->epoch != UINT64_MAX)
                handles_attr_put(&s->ctx, s->epoch, s->attr, rep->query_ctx_attr_rep);
        return st;
}

/* The SecPkgContext_* structure of s->attr from the daemon's answer. */
static SECURITY_STATUS attr_layout(AttrState *s, Sspiw__QueryCtxAttrRep *q) {
        SECURITY_STATUS st;

        switch (s->attr) {
        case SECPKG_ATTR_SIZES: {
                SecPkgContext_Sizes *sz = s->pBuffer;
                if (!q->sizes)
                        return SEC_E_INTERNAL_ERROR;
                sz->cbMaxToken = q->sizes->max_token;
                sz->cbMaxSignature = q->sizes->max_signature;
                sz->cbBlockSize = q->sizes->block_size;
                sz->cbSecurityTrailer = q->sizes->security_trailer;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_NAMES: {
                void *n = out_string(q->user_name, s->wide);
                if (!n)
                        return q->user_name ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_INTERNAL_ERROR;
                /* NamesA and NamesW are both one pointer. */
                ((SecPkgContext_NamesA *) s->pBuffer)->sUserName = n;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_DCE_INFO: {
                /* AuthzSvc in words[0]; pPac the client's name, A or W as
                 * the call (freed with FreeContextBuffer). */
                SecPkgContext_DceInfo *d = s->pBuffer;
                void *n;
                if (q->n_words < 1 || !q->user_name)
                        return SEC_E_INTERNAL_ERROR;
                n = out_string(q->user_name, s->wide);
                if (!n)
                        return SEC_E_INSUFFICIENT_MEMORY;
                d->AuthzSvc = q->words[0];
                d->pPac = n;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_NATIVE_NAMES: {
                void *c = out_string(q->client_name, s->wide), *v = out_string(q->server_name, s->wide);
                if (!c || !v) {
                        free(c);
                        free(v);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                ((SecPkgContext_NativeNamesA *) s->pBuffer)->sClientName = c;
                ((SecPkgContext_NativeNamesA *) s->pBuffer)->sServerName = v;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_LIFESPAN: {
                SecPkgContext_Lifespan *l = s->pBuffer;
                if (!q->has_start || !q->has_expiry)
                        return SEC_E_INTERNAL_ERROR;
                timestamp_set(&l->tsStart, q->start);
                timestamp_set(&l->tsExpiry, q->expiry);
                return SEC_E_OK;
        }
        case SECPKG_ATTR_PACKAGE_INFO:
        case SECPKG_ATTR_NEGOTIATION_INFO: {
                void *info = NULL;
                if (!q->package)
                        return SEC_E_INTERNAL_ERROR;
                st = pkginfo_block((Sspiw__PackageInfo **) &q->package, 1, s->wide, &info);
                if (st != SEC_E_OK)
                        return st;
                if (s->attr == SECPKG_ATTR_PACKAGE_INFO)
                        ((SecPkgContext_PackageInfoA *) s->pBuffer)->PackageInfo = info;
                else {
                        ((SecPkgContext_NegotiationInfoA *) s->pBuffer)->PackageInfo = info;
                        ((SecPkgContext_NegotiationInfoA *) s->pBuffer)->NegotiationState = q->nego_state;
                }
                return SEC_E_OK;
        }
        case SECPKG_ATTR_FLAGS:
                if (!q->has_flags)
                        return SEC_E_INTERNAL_ERROR;
                ((SecPkgContext_Flags *) s->pBuffer)->Flags = q->flags;
                return SEC_E_OK;
        case SECPKG_ATTR_SESSION_KEY: {
                SecPkgContext_SessionKey *k = s->pBuffer;
                uint8_t *key;
                if (!q->has_session_key)
                        return SEC_E_INTERNAL_ERROR;
                key = malloc(q->session_key.len ? q->session_key.len : 1);
                if (!key)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(key, q->session_key.data, q->session_key.len);
                explicit_bzero(q->session_key.data, q->session_key.len);
                k->SessionKeyLength = (uint32_t) q->session_key.len;
                k->SessionKey = key;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_STREAM_SIZES: {
                SecPkgContext_StreamSizes *z = s->pBuffer;
                if (q->n_words < 5)
                        return SEC_E_INTERNAL_ERROR;
                z->cbHeader = q->words[0];
                z->cbTrailer = q->words[1];
                z->cbMaximumMessage = q->words[2];
                z->cBuffers = q->words[3];
                z->cbBlockSize = q->words[4];
                return SEC_E_OK;
        }
        case SECPKG_ATTR_DTLS_MTU: {
                SEC_DTLS_MTU *m = s->pBuffer;
                if (q->n_words < 1)
                        return SEC_E_INTERNAL_ERROR;
                m->PathMTU = (unsigned short) q->words[0];
                return SEC_E_OK;
        }
        case SECPKG_ATTR_CONNECTION_INFO: {
                SecPkgContext_ConnectionInfo *c = s->pBuffer;
                if (q->n_words < 7)
                        return SEC_E_INTERNAL_ERROR;
                c->dwProtocol = q->words[0];
                c->aiCipher = q->words[1];
                c->dwCipherStrength = q->words[2];
                c->aiHash = q->words[3];
                c->dwHashStrength = q->words[4];
                c->aiExch = q->words[5];
                c->dwExchStrength = q->words[6];
                return SEC_E_OK;
        }
        case SECPKG_ATTR_SESSION_INFO: {
                SecPkgContext_SessionInfo *si = s->pBuffer;
                if (q->n_words < 1 || (q->has_blob && q->blob.len > sizeof(si->rgbSessionId)))
                        return SEC_E_INTERNAL_ERROR;
                memset(si, 0, sizeof(*si));
                si->dwFlags = q->words[0];
                si->cbSessionId = q->has_blob ? (uint32_t) q->blob.len : 0;
                if (si->cbSessionId)
                        memcpy(si->rgbSessionId, q->blob.data, si->cbSessionId);
                return SEC_E_OK;
        }
        case SECPKG_ATTR_APPLICATION_PROTOCOL: {
                SecPkgContext_ApplicationProtocol *ap = s->pBuffer;
                if (q->n_words < 2 || (q->has_blob && q->blob.len > MAX_PROTOCOL_ID_SIZE))
                        return SEC_E_INTERNAL_ERROR;
                memset(ap, 0, sizeof(*ap));
                ap->ProtoNegoStatus = q->words[0];
                ap->ProtoNegoExt = q->words[1];
                ap->ProtocolIdSize = q->has_blob ? (unsigned char) q->blob.len : 0;
                if (ap->ProtocolIdSize)
                        memcpy(ap->ProtocolId, q->blob.data, ap->ProtocolIdSize);
                return SEC_E_OK;
        }
        case SECPKG_ATTR_REMOTE_CERT_CONTEXT:
                /* The leaf, in a store of the chain the peer sent. */
                if (!q->has_blob)
                        return SEC_E_INTERNAL_ERROR;
                return cert_store_from_chain(q->blob.data, q->blob.len, (PCCERT_CONTEXT *) s->pBuffer);
        case SECPKG_ATTR_ISSUER_LIST_EX: {
                /* words[0] names, each in the blob after a 4-byte length. */
                SecPkgContext_IssuerListInfoEx *il = s->pBuffer;
                uint32_t n = q->n_words ? q->words[0] : 0;
                size_t off = 0, len = q->has_blob ? q->blob.len : 0;
                CERT_NAME_BLOB *arr;
                uint8_t *data;
                if (q->n_words < 1 || n > 4096)
                        return SEC_E_INTERNAL_ERROR;
                arr = calloc(1, n * sizeof(*arr) + len + 1);
                if (!arr)
                        return SEC_E_INSUFFICIENT_MEMORY;
                data = (uint8_t *) (arr + n);
                if (len)
                        memcpy(data, q->blob.data, len);
                for (uint32_t i = 0; i < n; i++) {
                        uint32_t l;
                        if (len - off < 4) {
                                free(arr);
                                return SEC_E_INTERNAL_ERROR;
                        }
                        memcpy(&l, data + off, 4);
                        if (l > len - off - 4) {
                                free(arr);
                                return SEC_E_INTERNAL_ERROR;
                        }
                        arr[i].cbData = l;
                        arr[i].pbData = data + off + 4;
                        off += 4 + l;
                }
                il->aIssuers = n ? arr : NULL;
                il->cIssuers = n;
                if (!n)
                        free(arr);
                return SEC_E_OK;
        }
        case SECPKG_ATTR_KEY_INFO: {
                /* Schannel: three words and "signature\0cipher\0". */
                SecPkgContext_KeyInfoA *k = s->pBuffer;
                const char *sig, *enc;
                void *a, *b;
                if (q->n_words < 3 || !q->has_blob || q->blob.len < 2 || q->blob.data[q->blob.len - 1] != 0)
                        return SEC_E_INTERNAL_ERROR;
                sig = (const char *) q->blob.data;
                enc = sig + strlen(sig) + 1;
                if (enc >= sig + q->blob.len)
                        return SEC_E_INTERNAL_ERROR;
                a = out_string(sig, s->wide);
                b = out_string(enc, s->wide);
                if (!a || !b) {
                        free(a);
                        free(b);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                k->sSignatureAlgorithmName = a;
                k->sEncryptAlgorithmName = b;
                k->KeySize = q->words[0];
                k->SignatureAlgorithm = q->words[1];
                k->EncryptAlgorithm = q->words[2];
                return SEC_E_OK;
        }
        case SECPKG_ATTR_CIPHER_INFO: {
                /* Ten words and five NUL-terminated names, laid out into the
                 * fixed UTF-16 arrays of SecPkgContext_CipherInfo. */
                SecPkgContext_CipherInfo *ci = s->pBuffer;
                SEC_WCHAR *dst[5] = { ci->szCipherSuite, ci->szCipher, ci->szHash, ci->szExchange, ci->szCertificate };
                const char *p = (const char *) q->blob.data, *end = p + q->blob.len;
                if (q->n_words < 10 || !q->has_blob || q->blob.len == 0 || end[-1] != 0)
                        return SEC_E_INTERNAL_ERROR;
                memset(ci, 0, sizeof(*ci));
                for (int i = 0; i < 5; i++) {
                        size_t n;
                        if (p >= end)
                                return SEC_E_INTERNAL_ERROR;
                        n = strlen(p);
                        for (size_t j = 0; j < n && j < SZ_ALG_MAX_SIZE - 1; j++)
                                dst[i][j] = (unsigned char) p[j]; /* ASCII names */
                        p += n + 1;
                }
                ci->dwVersion = q->words[0];
                ci->dwProtocol = q->words[1];
                ci->dwCipherSuite = q->words[2];
                ci->dwBaseCipherSuite = q->words[3];
                ci->dwCipherLen = q->words[4];
                ci->dwCipherBlockLen = q->words[5];
                ci->dwHashLen = q->words[6];
                ci->dwMinExchangeLen = q->words[7];
                ci->dwMaxExchangeLen = q->words[8];
                ci->dwKeyType = q->words[9];
                return SEC_E_OK;
        }
        case SECPKG_ATTR_UNIQUE_BINDINGS:
        case SECPKG_ATTR_ENDPOINT_BINDINGS: {
                /* SEC_CHANNEL_BINDINGS with the application data after it. */
                SecPkgContext_Bindings *bd = s->pBuffer;
                SEC_CHANNEL_BINDINGS *cb;
                if (!q->has_blob)
                        return SEC_E_INTERNAL_ERROR;
                cb = calloc(1, sizeof(*cb) + q->blob.len);
                if (!cb)
                        return SEC_E_INSUFFICIENT_MEMORY;
                cb->cbApplicationDataLength = (uint32_t) q->blob.len;
                cb->dwApplicationDataOffset = sizeof(*cb);
                memcpy(cb + 1, q->blob.data, q->blob.len);
                bd->BindingsLength = (uint32_t) (sizeof(*cb) + q->blob.len);
                bd->Bindings = cb;
                return SEC_E_OK;
        }
        default:
                /* ctxattr.c: the later attributes, or SEC_E_UNSUPPORTED_FUNCTION
                 * for one this library cannot lay out. */
                return attr_layout_more(s->attr, s->wide, s->pBuffer, q);
        }
}

SECURITY_STATUS ctx_query_attr(PCtxtHandle phContext, uint32_t attr, void *pBuffer, bool wide) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__QueryCtxAttrReq q = SSPIW__QUERY_CTX_ATTR_REQ__INIT;
        AttrState s = { attr, pBuffer, wide, { 0, 0 }, UINT64_MAX };
        Sspiw__QueryCtxAttrRep *cached;
        Sspiw__Handle h;
        _cleanup_free_ uint8_t *km = NULL;
        SECURITY_STATUS st;

        if (!phContext)
                return SEC_E_INVALID_HANDLE;
        if (!pBuffer)
                return SEC_E_INVALID_PARAMETER;
        if (attr == SECPKG_ATTR_ACCESS_TOKEN)
                return token_access_attr(phContext, pBuffer);
        if (attr == SECPKG_ATTR_KEYING_MATERIAL) {
                /* The exporter input SetContextAttributes kept (ctxattr.c). */
                st = keying_info_to_wire(phContext, &q, &km);
                if (st != SEC_E_OK)
                        return st;
        }
        s.ctx = *phContext;
        /* A fixed answer kept from an earlier query: no round trip, while
         * the connection that issued the handle is alive (checked first:
         * it dispatches the frames waiting, a revoked handle's notice). */
        cached = handles_attr_has(phContext, attr) && client_live() ? handles_attr_get(phContext, attr) : NULL;
        if (cached) {
                st = attr_layout(&s, cached);
                sspiw__query_ctx_attr_rep__free_unpacked(cached, NULL);
                return st;
        }
        s.epoch = handles_epoch(phContext);
        handle_to_wire(phContext, &h);
        q.ctx = &h;
        q.attr = attr;
        req.body_case = SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR;
        req.query_ctx_attr = &q;
        return call_run(NULL, &req, attr_finish, &s, sizeof(s));
}

_public_ SECURITY_STATUS QueryContextAttributesA(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer) {
        return ctx_query_attr(phContext, ulAttribute, pBuffer, false);
}

_public_ SECURITY_STATUS QueryContextAttributesW(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer) {
        return ctx_query_attr(phContext, ulAttribute, pBuffer, true);
}

/* ---- Export / Import ---- */

typedef struct ExportState {
        PSecBuffer pPackedContext;
        void **pToken;
        SecHandle ctx;
} ExportState;

static SECURITY_STATUS export_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        ExportState *s = state;
        void *blob;

        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_EXPORT_CTX_REP)
                return SEC_E_INTERNAL_ERROR;
        blob = malloc(rep->export_ctx_rep->packed.len);
        if (!blob)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(blob, rep->export_ctx_rep->packed.data, rep->export_ctx_rep->packed.len);
        s->pPackedContext->BufferType = SECBUFFER_EMPTY;
        s->pPackedContext->cbBuffer = (uint32_t) rep->export_ctx_rep->packed.len;
        s->pPackedContext->pvBuffer = blob;
        if (s->pToken)
                *s->pToken = NULL; /* no access tokens on Linux */
        if (rep->export_ctx_rep->has_old_deleted && rep->export_ctx_rep->old_deleted) {
                /* The context left the daemon: its message keys and token
                 * here go with it, as on DeleteSecurityContext. */
                msgctx_forget(&s->ctx);
                token_forget(&s->ctx);
                handles_take(&s->ctx, HANDLE_CONTEXT);
        }
        return SEC_E_OK;
}

_public_ SECURITY_STATUS ExportSecurityContext(PCtxtHandle phContext, ULONG fFlags, PSecBuffer pPackedContext,
                                               void **pToken) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__ExportCtxReq e = SSPIW__EXPORT_CTX_REQ__INIT;
        ExportState s = { pPackedContext, pToken, { 0, 0 } };
        MsgSnapshot keys;
        Sspiw__Handle h;
        SECURITY_STATUS st;

        if (!phContext)
                return SEC_E_INVALID_HANDLE;
        s.ctx = *phContext;
        if (!pPackedContext)
                return SEC_E_INVALID_PARAMETER;
        handle_to_wire(phContext, &h);
        e.ctx = &h;
        e.flags = fFlags;
        /* The message keys live here (message-protection = caller): the
         * export carries their state as it stands, sequence numbers and
         * RC4 streams, not the daemon's from the handshake. */
        if (msgctx_snapshot(phContext, &keys))
                e.keys = &keys.m;
        req.body_case = SSPIW__ENVELOPE__BODY_EXPORT_CTX;
        req.export_ctx = &e;
        st = call_run(NULL, &req, export_finish, &s, sizeof(s));
        explicit_bzero(&keys, sizeof(keys));
        return st;
}

static SECURITY_STATUS import_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_IMPORT_CTX_REP)
                return SEC_E_INTERNAL_ERROR;
        handle_from_wire(rep->import_ctx_rep->ctx, *(PCtxtHandle *) state);
        handles_add(*(PCtxtHandle *) state, HANDLE_CONTEXT);
        /* message-protection = caller: its messages run here from now on,
         * from the exporter's sequence state. */
        if (rep->import_ctx_rep->keys)
                msgctx_install(*(PCtxtHandle *) state, rep->import_ctx_rep->keys);
        return SEC_E_OK;
}

static SECURITY_STATUS import_ctx(const char *package, PSecBuffer pPackedContext, PCtxtHandle phContext) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__ImportCtxReq i = SSPIW__IMPORT_CTX_REQ__INIT;

        if (!package || !pPackedContext || !phContext || (pPackedContext->cbBuffer && !pPackedContext->pvBuffer))
                return SEC_E_INVALID_PARAMETER;
        if (pPackedContext->cbBuffer > 4096)
                return SEC_E_INVALID_TOKEN;
        i.package = (char *) package;
        i.packed.data = pPackedContext->pvBuffer;
        i.packed.len = pPackedContext->cbBuffer;
        req.body_case = SSPIW__ENVELOPE__BODY_IMPORT_CTX;
        req.import_ctx = &i;
        return call_run(NULL, &req, import_finish, &phContext, sizeof(phContext));
}

_public_ SECURITY_STATUS ImportSecurityContextA(const SEC_CHAR *pszPackage, PSecBuffer pPackedContext, void *Token,
                                                PCtxtHandle phContext) {
        (void) Token;
        return import_ctx(pszPackage, pPackedContext, phContext);
}

_public_ SECURITY_STATUS ImportSecurityContextW(const SEC_WCHAR *pszPackage, PSecBuffer pPackedContext, void *Token,
                                                PCtxtHandle phContext) {
        char *p = NULL;
        SECURITY_STATUS st;

        (void) Token;
        if (!pszPackage)
                return SEC_E_INVALID_PARAMETER;
        if (utf16_to_utf8(pszPackage, SIZE_MAX, &p) < 0)
                return SEC_E_SECPKG_NOT_FOUND;
        st = import_ctx(p, pPackedContext, phContext);
        free(p);
        return st;
}

/* ---- ApplyControlToken (Schannel: SCHANNEL_SHUTDOWN) ---- */

_public_ SECURITY_STATUS ApplyControlToken(PCtxtHandle phContext, PSecBufferDesc pInput) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__ApplyControlReq a = SSPIW__APPLY_CONTROL_REQ__INIT;
        Sspiw__Buffer **b;
        Sspiw__Handle h;
        size_t n = 0;
        SECURITY_STATUS st;

        if (!phContext)
                return SEC_E_INVALID_HANDLE;
        if (!pInput)
                return SEC_E_INTERNAL_ERROR; /* as Windows (Wine's schannel.c test_connection_shutdown) */
        if (!desc_valid(pInput) || pInput->cBuffers == 0)
                return SEC_E_INVALID_TOKEN;
        b = buffers_to_wire(pInput, false, false, &n);
        if (!b)
                return SEC_E_INSUFFICIENT_MEMORY;
        handle_to_wire(phContext, &h);
        handles_attr_forget(phContext); /* e.g. a shutdown: the next leg changes the context */
        a.ctx = &h;
        a.n_input = n;
        a.input = b;
        req.body_case = SSPIW__ENVELOPE__BODY_APPLY_CONTROL;
        req.apply_control = &a;
        st = call_run(NULL, &req, call_finish_status, NULL, 0);
        buffers_free_wire(b, n);
        return st;
}
