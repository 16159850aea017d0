/* SPDX-License-Identifier: MIT */
/*
 * The Negotiate package: SPNEGO (RFC 4178) over the Kerberos and NTLM
 * providers, whose operations it calls directly with its own buffers.
 *
 * Initiator: Kerberos first, with an optimistic token; when Kerberos is
 * not possible (no credential, no KDC, unknown target) the mechanism list
 * shrinks to NTLM. Any other Kerberos failure is returned as is: no
 * silent downgrade. Acceptor: the first mechanism of the client's list it
 * holds a credential for. mechListMIC: both sides send one once the inner
 * context is established; it is required when the chosen mechanism was
 * not the initiator's first choice, and a bad one ends the context with
 * SEC_E_MESSAGE_ALTERED.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/config.h"
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-pac.h"
#include "packages/ntlm/ntlm.h"
#include "packages/provider.h"
#include "packages/negotiate/negotiate-private.h"
#include "packages/negotiate/spnego.h"
#include "util/util.h"

#define NEGO_MAX_TOKEN 48256
#define MIC_CAP 256

typedef struct NegoCred {
        uint32_t use;
        void *krb, *ntlm;
} NegoCred;


static PkgBuffer *find_buffer(PkgBuffer *b, size_t n, uint32_t type) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type)
                        return &b[i];
        return NULL;
}

static void *inner_cred(const NegoCred *c, const Provider *p) {
        if (!c)
                return NULL;
        return p == &provider_kerberos ? c->krb : c->ntlm;
}

/* ---- credentials ---- */

static void nego_cred_free(void *p) {
        NegoCred *c = p;
        if (!c)
                return;
        if (c->krb)
                provider_kerberos.cred_free(c->krb);
        if (c->ntlm)
                provider_ntlm.cred_free(c->ntlm);
        free(c);
}

/* "kerberos,ntlm", "!ntlm", "ntlm": names allow, "!names" forbid;
 * unknown names (negoexts, pku2u...) are ignored. */
static void package_list(const char *list, bool *ret_krb, bool *ret_ntlm) {
        bool any_pos = false, pos_krb = false, pos_ntlm = false, neg_krb = false, neg_ntlm = false;
        const char *s = list;

        while (s && *s) {
                size_t n = strcspn(s, ",");
                const char *w = s;
                bool neg;
                size_t k;

                while (n && (*w == ' ' || *w == '\t'))
                        w++, n--;
                k = n;
                while (k && (w[k - 1] == ' ' || w[k - 1] == '\t'))
                        k--;
                neg = k && *w == '!';
                if (neg)
                        w++, k--;
                if (k == 8 && !strncasecmp(w, "kerberos", 8)) {
                        if (neg)
                                neg_krb = true;
                        else
                                pos_krb = any_pos = true;
                } else if (k == 4 && !strncasecmp(w, "ntlm", 4)) {
                        if (neg)
                                neg_ntlm = true;
                        else
                                pos_ntlm = any_pos = true;
                } else if (k && !neg)
                        any_pos = true;
                s += strcspn(s, ",");
                if (*s == ',')
                        s++;
        }
        *ret_krb = (!any_pos || pos_krb) && !neg_krb;
        *ret_ntlm = (!any_pos || pos_ntlm) && !neg_ntlm;
}

static SECURITY_STATUS nego_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        NegoCred *c = calloc(1, sizeof(*c));
        SECURITY_STATUS st_k = SEC_E_NO_CREDENTIALS, st_n = SEC_E_NO_CREDENTIALS;
        int64_t ek = FILETIME_NEVER, en = FILETIME_NEVER;
        bool krb = true, ntlm = true;

        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (a->package_list)
                package_list(a->package_list, &krb, &ntlm);
        if (krb)
                st_k = provider_kerberos.acquire(a, &c->krb, &ek);
        if (ntlm)
                st_n = provider_ntlm.acquire(a, &c->ntlm, &en);
        if (ntlm && st_n == SEC_E_NO_CREDENTIALS && st_k == SEC_E_OK && a->use == SECPKG_CRED_INBOUND &&
            a->principal && *a->principal) {
                /* pszPrincipal named a Kerberos SPN, not an NTLM store:
                 * Windows keeps NTLM in Negotiate for it all the same. */
                PkgAcquire any = *a;
                any.principal = NULL;
                st_n = provider_ntlm.acquire(&any, &c->ntlm, &en);
        }
        if (st_k != SEC_E_OK)
                c->krb = NULL;
        if (st_n != SEC_E_OK)
                c->ntlm = NULL;
        if (c->krb && c->ntlm && !ntlm_cred_has_secret(c->ntlm)) {
                /* An identity without password: Kerberos may find a
                 * ticket for it; NTLM could only fail, so it is not
                 * offered. Alone, it stays, to fail at the first
                 * InitializeSecurityContext as Windows does. */
                provider_ntlm.cred_free(c->ntlm);
                c->ntlm = NULL;
        }
        if (!c->krb && !c->ntlm) {
                free(c);
                /* A refused grant or a bad password says more than a
                 * package that has nothing to offer. */
                if (krb && st_k != SEC_E_NO_CREDENTIALS)
                        return st_k;
                return ntlm ? st_n : st_k;
        }
        c->use = a->use;
        *ret_cred = c;
        *ret_expiry = c->krb ? ek : en;
        return SEC_E_OK;
}

static SECURITY_STATUS nego_cred_name(void *p, char **ret_name) {
        NegoCred *c = p;
        if (c->krb)
                return provider_kerberos.cred_name(c->krb, ret_name);
        return provider_ntlm.cred_name(c->ntlm, ret_name);
}

static bool nego_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        NegoCred *c = cred;
        const NegoCtx *x = ctx;

        /* An acceptor's NTLM AUTHENTICATE may go to the domain's DC. */
        if (accept)
                return c && x && x->mech == &provider_ntlm && x->inner && !x->inner_done &&
                       provider_ntlm.step_may_block(c->ntlm, x->inner, NULL, req_flags, true);
        /* Only the first initiator leg talks to a KDC (through Kerberos). */
        if (ctx || !c || !c->krb)
                return false;
        return provider_kerberos.step_may_block(c->krb, NULL, target, req_flags, false);
}

/* ---- inner steps ---- */

void nego_ctx_free(void *p) {
        NegoCtx *c = p;
        if (!c)
                return;
        if (c->inner && c->mech)
                c->mech->ctx_free(c->inner);
        free(c->mech_types);
        free(c);
}

typedef struct Inner {
        SECURITY_STATUS st;
        uint8_t *out;
        size_t out_len;
} Inner;

/* One step of the inner package with `token` as input (NULL: none) and
 * the caller's channel bindings passed along. */
static Inner inner_step(NegoCtx *c, PkgStep *s, SpnegoBytes token) {
        PkgBuffer in[2] = {}, out = { .type = SECBUFFER_TOKEN };
        PkgBuffer *cb = find_buffer(s->in, s->n_in, SECBUFFER_CHANNEL_BINDINGS);
        PkgStep is = *s;
        Inner r = {};

        is.cred = inner_cred(s->cred, c->mech);
        is.ctx = c->inner;
        is.in = in;
        is.n_in = 0;
        if (token.len) {
                in[0] = (PkgBuffer) { .type = SECBUFFER_TOKEN, .data = (uint8_t *) token.p, .len = token.len,
                                      .cap = token.len };
                is.n_in = 1;
        }
        if (cb)
                in[is.n_in++] = *cb;
        is.out = &out;
        is.n_out = 1;
        /* The mechListMIC is an NTLM signature: inside SPNEGO the NTLM
         * initiator always negotiates signing. */
        if (c->initiator && c->mech == &provider_ntlm)
                is.req_flags |= ISC_REQ_INTEGRITY;
        r.st = c->initiator ? c->mech->init_ctx(&is) : c->mech->accept_ctx(&is);
        c->inner = is.ctx;
        if (r.st < 0)
                c->last_error = r.st;
        if (r.st >= 0) {
                c->ret_flags = is.ret_flags;
                c->expiry = is.expiry;
                r.out = out.data;
                r.out_len = out.len;
                if (r.st == SEC_E_OK)
                        c->inner_done = true;
        } else if (out.owned)
                free(out.data);
        return r;
}

static SECURITY_STATUS make_mic(NegoCtx *c, uint8_t **ret, size_t *ret_len) {
        uint8_t *tok = malloc(MIC_CAP), *data = malloc(c->mech_types_len);
        PkgBuffer b[2];
        SECURITY_STATUS st;

        if (!tok || !data) {
                free(tok);
                free(data);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        memcpy(data, c->mech_types, c->mech_types_len);
        b[0] = (PkgBuffer) { .type = SECBUFFER_TOKEN, .data = tok, .cap = MIC_CAP };
        b[1] = (PkgBuffer) { .type = SECBUFFER_DATA, .data = data, .len = c->mech_types_len, .cap = c->mech_types_len };
        st = c->mech->sign(c->inner, 0, b, 2, 0);
        free(data);
        if (st != SEC_E_OK) {
                free(tok);
                return st;
        }
        if (c->mech == &provider_ntlm)
                ntlm_reset_rc4(c->inner, true);
        *ret = tok;
        *ret_len = b[0].len;
        return SEC_E_OK;
}

static SECURITY_STATUS check_mic(NegoCtx *c, SpnegoBytes mic) {
        uint8_t *tok = malloc(mic.len ? mic.len : 1), *data = malloc(c->mech_types_len);
        PkgBuffer b[2];
        uint32_t qop = 0;
        SECURITY_STATUS st;

        if (!tok || !data) {
                free(tok);
                free(data);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        memcpy(tok, mic.p, mic.len);
        memcpy(data, c->mech_types, c->mech_types_len);
        b[0] = (PkgBuffer) { .type = SECBUFFER_TOKEN, .data = tok, .len = mic.len, .cap = mic.len };
        b[1] = (PkgBuffer) { .type = SECBUFFER_DATA, .data = data, .len = c->mech_types_len, .cap = c->mech_types_len };
        st = c->mech->verify(c->inner, b, 2, 0, &qop);
        free(tok);
        free(data);
        if (c->mech == &provider_ntlm)
                ntlm_reset_rc4(c->inner, false);
        /* Whatever the inner package says, a MIC that does not verify is
         * an altered negotiation. */
        return st == SEC_E_OK ? SEC_E_OK : SEC_E_MESSAGE_ALTERED;
}

static SECURITY_STATUS put_output(PkgStep *s, uint8_t *p, size_t len) {
        PkgBuffer *slot = find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);

        if (!slot) {
                free(p);
                return SEC_E_INVALID_TOKEN;
        }
        if (slot->cap > 0 && len > slot->cap) {
                free(p);
                return SEC_E_BUFFER_TOO_SMALL;
        }
        if (slot->owned)
                free(slot->data);
        slot->data = p;
        slot->len = len;
        slot->owned = true;
        return SEC_E_OK;
}

static SECURITY_STATUS failed(PkgStep *s, NegoCtx *c, SECURITY_STATUS st) {
        pkg_step_drop_outputs(s);
        nego_ctx_free(c);
        s->ctx = NULL;
        return st;
}

static SECURITY_STATUS send_resp(PkgStep *s, NegoCtx *c, int state, SpnegoBytes supported, Inner *in,
                                 SpnegoBytes mic) {
        uint8_t *p = NULL;
        size_t len = 0;
        int r = spnego_encode_resp(state, supported, (SpnegoBytes) { in ? in->out : NULL, in ? in->out_len : 0 }, mic,
                                   &p, &len);

        if (in)
                free(in->out);
        if (r < 0)
                return SEC_E_INSUFFICIENT_MEMORY;
        return put_output(s, p, len);
}

static SECURITY_STATUS done(PkgStep *s, NegoCtx *c, SECURITY_STATUS st) {
        s->ctx = c;
        s->ret_flags = c->ret_flags;
        s->expiry = c->expiry;
        if (st == SEC_E_OK)
                c->established = true;
        return st;
}

static bool fallback_status(SECURITY_STATUS st) {
        return st == SEC_E_NO_CREDENTIALS || st == SEC_E_TARGET_UNKNOWN || st == SEC_E_NO_AUTHENTICATING_AUTHORITY;
}

/* ---- initiator ---- */

static SECURITY_STATUS init_first(PkgStep *s, NegoCred *cred) {
        NegoCtx *c = calloc(1, sizeof(*c));
        SpnegoBytes mechs[2];
        size_t n = 0;
        Inner in = {};
        uint8_t *p = NULL;
        size_t len = 0;
        SECURITY_STATUS st;

        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->initiator = true;
        c->req_flags = s->req_flags;
        if (cred->krb) {
                c->mech = &provider_kerberos;
                in = inner_step(c, s, (SpnegoBytes) {});
                if (in.st < 0) {
                        if (!cred->ntlm || !fallback_status(in.st))
                                return failed(s, c, in.st);
                        /* Kerberos is not possible here: NTLM alone. */
                        c->inner = NULL;
                        c->inner_done = false;
                        c->mech = NULL;
                }
        }
        if (!c->mech) {
                c->mech = &provider_ntlm;
                in = inner_step(c, s, (SpnegoBytes) {});
                if (in.st < 0)
                        return failed(s, c, in.st);
                mechs[n++] = spnego_oid_ntlm;
        } else {
                mechs[n++] = spnego_oid_krb5;
                if (cred->ntlm) {
                        mechs[n++] = spnego_oid_ntlm;
                        c->ntlm_offered = true;
                }
        }
        if (spnego_mech_list(mechs, n, &c->mech_types, &c->mech_types_len) < 0 ||
            spnego_encode_init((SpnegoBytes) { c->mech_types, c->mech_types_len },
                               (SpnegoBytes) { in.out, in.out_len }, &p, &len) < 0) {
                free(in.out);
                return failed(s, c, SEC_E_INSUFFICIENT_MEMORY);
        }
        free(in.out);
        st = put_output(s, p, len);
        if (st != SEC_E_OK)
                return failed(s, c, st);
        return done(s, c, SEC_I_CONTINUE_NEEDED);
}

static SECURITY_STATUS init_next(PkgStep *s, NegoCtx *c, NegoCred *cred) {
        PkgBuffer *b = find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        SpnegoToken t;
        Inner in = {};
        SECURITY_STATUS st;

        if (!b || !b->len || spnego_parse(b->data, b->len, &t) < 0 || t.init)
                return failed(s, c, SEC_E_INVALID_TOKEN);
        if (t.state == SPNEGO_REJECT)
                return failed(s, c, SEC_E_LOGON_DENIED);

        if (t.supported.len) {
                bool krb = spnego_is_krb5(t.supported), ntlm = spnego_oid_eq(t.supported, spnego_oid_ntlm);
                if (!krb && !ntlm)
                        return failed(s, c, SEC_E_INVALID_TOKEN);
                if (ntlm && c->mech == &provider_kerberos) {
                        /* The acceptor picked our second choice: start NTLM;
                         * the MICs are now mandatory. */
                        if (!c->ntlm_offered || !cred->ntlm || c->mic_sent)
                                return failed(s, c, SEC_E_INVALID_TOKEN);
                        provider_kerberos.ctx_free(c->inner);
                        c->inner = NULL;
                        c->inner_done = false;
                        c->mech = &provider_ntlm;
                        c->mic_required = true;
                        in = inner_step(c, s, (SpnegoBytes) {});
                        if (in.st < 0)
                                return failed(s, c, in.st);
                        st = send_resp(s, c, SPNEGO_NO_STATE, (SpnegoBytes) {}, &in, (SpnegoBytes) {});
                        return st == SEC_E_OK ? done(s, c, SEC_I_CONTINUE_NEEDED) : failed(s, c, st);
                }
                if (krb != (c->mech == &provider_kerberos))
                        return failed(s, c, SEC_E_INVALID_TOKEN);
        }
        if (t.token.len) {
                if (c->inner_done)
                        return failed(s, c, SEC_E_INVALID_TOKEN);
                in = inner_step(c, s, t.token);
                if (in.st < 0)
                        return failed(s, c, in.st);
        }
        if (!c->inner_done) {
                if (!in.out_len) {
                        free(in.out);
                        return failed(s, c, SEC_E_INVALID_TOKEN);
                }
                st = send_resp(s, c, SPNEGO_NO_STATE, (SpnegoBytes) {}, &in, (SpnegoBytes) {});
                return st == SEC_E_OK ? done(s, c, SEC_I_CONTINUE_NEEDED) : failed(s, c, st);
        }
        if (t.mic.len) {
                st = check_mic(c, t.mic);
                if (st != SEC_E_OK) {
                        free(in.out);
                        return failed(s, c, st);
                }
                c->mic_received = true;
        }
        if (t.state == SPNEGO_ACCEPT_COMPLETED) {
                free(in.out);
                if (in.out_len || (c->mic_required && !c->mic_received))
                        return failed(s, c, in.out_len ? SEC_E_INVALID_TOKEN : SEC_E_MESSAGE_ALTERED);
                s->ctx = c;
                /* No output: clear the slot. */
                return done(s, c, SEC_E_OK);
        }
        /* The acceptor still waits: send what the inner package produced
         * and our MIC. The MIC is owed when NTLM was chosen (Windows
         * always sends it beside an AUTHENTICATE) or it is required; for
         * Kerberos, our first choice, RFC 4178 lets both sides omit it,
         * as Windows does, so that no MIC takes a sequence number the
         * peer never reads (DCE style ends on our token). */
        if (!c->mic_sent) {
                uint8_t *mic = NULL;
                size_t mic_len = 0;

                if (c->mech == &provider_ntlm || c->mic_required) {
                        st = make_mic(c, &mic, &mic_len);
                        if (st != SEC_E_OK) {
                                free(in.out);
                                return failed(s, c, st);
                        }
                        c->mic_sent = true;
                }
                st = send_resp(s, c, SPNEGO_NO_STATE, (SpnegoBytes) {}, &in, (SpnegoBytes) { mic, mic_len });
                free(mic);
                if (st != SEC_E_OK)
                        return failed(s, c, st);
                /* Our last token: the context is complete, as Windows
                 * says at this leg (a loop "while CONTINUE_NEEDED, send
                 * the token" ends here against a server that answers
                 * nothing more). The acceptor's MIC, if the caller hands
                 * it over, is still checked (init_final). */
                c->await_final = true;
                if (c->mic_sent && c->mech == &provider_ntlm)
                        (void) ntlm_set_recv_seq(c->inner, 1); /* its MIC took 0 */
                return done(s, c, SEC_E_OK);
        }
        free(in.out);
        return failed(s, c, SEC_E_INVALID_TOKEN);
}

/* The acceptor's last token after we completed: accept-completed with
 * its mechListMIC, and nothing for the inner mechanism. Optional for the
 * caller; when given, the MIC must verify. */
static SECURITY_STATUS init_final(PkgStep *s, NegoCtx *c) {
        PkgBuffer *b = find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        SpnegoToken t;
        SECURITY_STATUS st;

        c->await_final = false;
        if (!b || !b->len || spnego_parse(b->data, b->len, &t) < 0 || t.init || t.token.len)
                return failed(s, c, SEC_E_INVALID_TOKEN);
        if (t.state == SPNEGO_REJECT)
                return failed(s, c, SEC_E_LOGON_DENIED);
        if (t.state != SPNEGO_ACCEPT_COMPLETED)
                return failed(s, c, SEC_E_INVALID_TOKEN);
        if (t.mic.len) {
                uint32_t seq = 0;

                if (c->mech == &provider_ntlm)
                        seq = ntlm_set_recv_seq(c->inner, 0);
                st = check_mic(c, t.mic);
                if (c->mech == &provider_ntlm)
                        (void) ntlm_set_recv_seq(c->inner, seq);
                if (st != SEC_E_OK)
                        return failed(s, c, st);
                c->mic_received = true;
        } else if (c->mic_required)
                return failed(s, c, SEC_E_MESSAGE_ALTERED);
        return done(s, c, SEC_E_OK);
}

static SECURITY_STATUS nego_init_ctx(PkgStep *s) {
        NegoCtx *c = s->ctx;
        NegoCred *cred = s->cred;

        if (!c) {
                if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                        return SEC_E_NO_CREDENTIALS;
                /* User-to-user is Kerberos' alone and not implemented
                 * (kerberos-context.c): no quiet fallback to NTLM either. */
                if (s->req_flags & ISC_REQ_USE_SESSION_KEY)
                        return SEC_E_UNSUPPORTED_FUNCTION;
                return init_first(s, cred);
        }
        if (c->initiator && c->established && c->await_final)
                return init_final(s, c);
        if (!c->initiator || c->established)
                return SEC_E_INVALID_HANDLE;
        return init_next(s, c, cred);
}

/* ---- acceptor ---- */

static SECURITY_STATUS accept_finish(PkgStep *s, NegoCtx *c, Inner *in) {
        uint8_t *mic = NULL;
        size_t mic_len = 0;
        SpnegoBytes sup = {};
        SECURITY_STATUS st;

        if (!c->supported_sent) {
                sup = c->mech == &provider_kerberos ? spnego_oid_krb5 : spnego_oid_ntlm;
                c->supported_sent = true;
        }
        if (c->mic_required && !c->mic_received) {
                st = send_resp(s, c, SPNEGO_REQUEST_MIC, sup, in, (SpnegoBytes) {});
                return st == SEC_E_OK ? done(s, c, SEC_I_CONTINUE_NEEDED) : failed(s, c, st);
        }
        /* Our MIC answers the initiator's, or a required exchange;
         * without either (Kerberos, the initiator's first choice) none
         * is sent, so none takes a sequence number the initiator would
         * not read. */
        if (c->mic_received || c->mic_required) {
                st = make_mic(c, &mic, &mic_len);
                if (st != SEC_E_OK) {
                        if (in)
                                free(in->out);
                        return failed(s, c, st);
                }
        }
        st = send_resp(s, c, SPNEGO_ACCEPT_COMPLETED, sup, in, (SpnegoBytes) { mic, mic_len });
        free(mic);
        return st == SEC_E_OK ? done(s, c, SEC_E_OK) : failed(s, c, st);
}

static SECURITY_STATUS accept_raw(PkgStep *s, NegoCtx *c) {
        PkgStep is = *s;
        SECURITY_STATUS st;

        is.cred = inner_cred(s->cred, c->mech);
        is.ctx = c->inner;
        st = c->mech->accept_ctx(&is);
        c->inner = is.ctx;
        if (st < 0) {
                c->inner = NULL;
                nego_ctx_free(c);
                s->ctx = NULL;
                return st;
        }
        c->ret_flags = is.ret_flags;
        c->expiry = is.expiry;
        return done(s, c, st);
}

static SECURITY_STATUS accept_first(PkgStep *s, NegoCred *cred, PkgBuffer *b) {
        NegoCtx *c = calloc(1, sizeof(*c));
        SpnegoToken t;
        Inner in = {};
        size_t pick = SIZE_MAX;
        SECURITY_STATUS st;

        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->req_flags = s->req_flags;
        /* Raw NTLM or Kerberos tokens sent to Negotiate are served by
         * that package, as Windows does. */
        if (b->len >= 8 && !memcmp(b->data, "NTLMSSP", 8) && cred->ntlm) {
                c->mech = &provider_ntlm;
                c->raw = true;
                return accept_raw(s, c);
        }
        if (b->len > 13 && b->data[0] == 0x60 && cred->krb) {
                /* [APPLICATION 0] len OID: the OID follows a 1..5 byte header. */
                size_t off = (b->data[1] & 0x80) ? 2 + (b->data[1] & 0x7f) : 2;
                if (off + 11 <= b->len && !memcmp(b->data + off, spnego_oid_krb5.p, 11)) {
                        c->mech = &provider_kerberos;
                        c->raw = true;
                        return accept_raw(s, c);
                }
        }
        if (spnego_parse(b->data, b->len, &t) < 0 || !t.init) {
                free(c);
                return SEC_E_INVALID_TOKEN;
        }
        for (size_t i = 0; i < t.n_mechs && pick == SIZE_MAX; i++) {
                if (spnego_is_krb5(t.mechs[i]) && cred->krb)
                        c->mech = &provider_kerberos, pick = i;
                else if (spnego_oid_eq(t.mechs[i], spnego_oid_ntlm) && cred->ntlm)
                        c->mech = &provider_ntlm, pick = i;
        }
        if (pick == SIZE_MAX) {
                free(c);
                return SEC_E_LOGON_DENIED; /* nothing in common */
        }
        c->mech_types = malloc(t.mech_types.len);
        if (!c->mech_types) {
                free(c);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        memcpy(c->mech_types, t.mech_types.p, t.mech_types.len);
        c->mech_types_len = t.mech_types.len;
        c->mic_required = pick != 0;
        if (pick != 0 || !t.token.len) {
                /* Not the optimistic mechanism: name ours, wait for its token. */
                c->supported_sent = true;
                st = send_resp(s, c, SPNEGO_ACCEPT_INCOMPLETE,
                               c->mech == &provider_kerberos ? spnego_oid_krb5 : spnego_oid_ntlm, NULL,
                               (SpnegoBytes) {});
                return st == SEC_E_OK ? done(s, c, SEC_I_CONTINUE_NEEDED) : failed(s, c, st);
        }
        in = inner_step(c, s, t.token);
        if (in.st < 0)
                return failed(s, c, in.st);
        if (c->inner_done)
                return accept_finish(s, c, &in);
        c->supported_sent = true;
        st = send_resp(s, c, SPNEGO_ACCEPT_INCOMPLETE, c->mech == &provider_kerberos ? spnego_oid_krb5 : spnego_oid_ntlm,
                       &in, (SpnegoBytes) {});
        return st == SEC_E_OK ? done(s, c, SEC_I_CONTINUE_NEEDED) : failed(s, c, st);
}

static SECURITY_STATUS accept_next(PkgStep *s, NegoCtx *c, PkgBuffer *b) {
        SpnegoToken t;
        Inner in = {};
        SECURITY_STATUS st;

        if (c->raw)
                return accept_raw(s, c);
        if (spnego_parse(b->data, b->len, &t) < 0 || t.init)
                return failed(s, c, SEC_E_INVALID_TOKEN);
        if (t.token.len) {
                if (c->inner_done)
                        return failed(s, c, SEC_E_INVALID_TOKEN);
                in = inner_step(c, s, t.token);
                if (in.st < 0)
                        return failed(s, c, in.st);
        }
        if (!c->inner_done) {
                if (!in.out_len) {
                        free(in.out);
                        return failed(s, c, SEC_E_INVALID_TOKEN);
                }
                st = send_resp(s, c, SPNEGO_ACCEPT_INCOMPLETE, (SpnegoBytes) {}, &in, (SpnegoBytes) {});
                return st == SEC_E_OK ? done(s, c, SEC_I_CONTINUE_NEEDED) : failed(s, c, st);
        }
        if (t.mic.len) {
                st = check_mic(c, t.mic);
                if (st != SEC_E_OK) {
                        free(in.out);
                        return failed(s, c, st);
                }
                c->mic_received = true;
        }
        return accept_finish(s, c, &in);
}

static SECURITY_STATUS nego_accept_ctx(PkgStep *s) {
        NegoCtx *c = s->ctx;
        NegoCred *cred = s->cred;
        PkgBuffer *b = find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);

        if (c && (c->initiator || c->established))
                return SEC_E_INVALID_HANDLE;
        if (!cred || !(cred->use & SECPKG_CRED_INBOUND))
                return c ? failed(s, c, SEC_E_NO_CREDENTIALS) : SEC_E_NO_CREDENTIALS;
        if (!b || !b->len)
                return c ? failed(s, c, SEC_E_INVALID_TOKEN) : SEC_E_INVALID_TOKEN;
        if (!c)
                return accept_first(s, cred, b);
        return accept_next(s, c, b);
}

/* ---- after the handshake: the inner package answers ---- */

static SECURITY_STATUS nego_complete(void *ctx, PkgBuffer *b, size_t n) {
        return ctx ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_INVALID_HANDLE;
}

/*
 * Negotiate's own attributes. NEGO_STATUS: the error of the last failed
 * attempt of an inner package (Microsoft's SecPkgContext_NegoStatus), 0
 * when none failed (Kerberos impossible, then NTLM: Kerberos' status).
 * NEGO_PKG_INFO: the packages this negotiation rules out, as
 * SECPKG_ATTR_NEGO_INFO_FLAG_NO_KERBEROS / _NO_NTLM. LAST_CLIENT_TOKEN_STATUS:
 * Yes once the initiator sent its last token (complete, or waiting only for
 * the acceptor's final one), Maybe while SPNEGO may still need a leg.
 * True when `attr` is one of them (status in *ret).
 */
static bool nego_own_attr(NegoCtx *c, uint32_t attr, PkgCtxAttr *out, SECURITY_STATUS *ret) {
        switch (attr) {
        case SECPKG_ATTR_NEGO_STATUS:
                out->words[0] = (uint32_t) c->last_error;
                break;
        case SECPKG_ATTR_NEGO_PKG_INFO:
                if (!c->mech) {
                        *ret = SEC_E_INVALID_HANDLE;
                        return true;
                }
                out->words[0] = (c->mech != &provider_kerberos ? SECPKG_ATTR_NEGO_INFO_FLAG_NO_KERBEROS : 0) |
                                (c->mech != &provider_ntlm && !(c->initiator && c->ntlm_offered)
                                         ? SECPKG_ATTR_NEGO_INFO_FLAG_NO_NTLM
                                         : 0);
                break;
        case SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS:
                out->words[0] = c->established || (c->initiator && c->await_final) ? SecPkgAttrLastClientTokenYes
                                                                                   : SecPkgAttrLastClientTokenMaybe;
                break;
        default:
                return false;
        }
        out->n_words = 1;
        *ret = SEC_E_OK;
        return true;
}

static SECURITY_STATUS nego_query_ctx(void *ctx, uint32_t attr, PkgCtxAttr *out) {
        NegoCtx *c = ctx;
        SECURITY_STATUS st;

        if (!c)
                return SEC_E_INVALID_HANDLE;
        if (nego_own_attr(c, attr, out, &st))
                return st;
        if (!c->inner || (!c->established && attr == SECPKG_ATTR_SIZES)) {
                if (attr != SECPKG_ATTR_SIZES)
                        return attr == SECPKG_ATTR_FLAGS ? (out->flags = c->ret_flags, out->has_flags = true, SEC_E_OK)
                                                          : SEC_E_INVALID_HANDLE;
                out->sizes = (SecPkgContext_Sizes) { .cbMaxToken = NEGO_MAX_TOKEN };
                out->has_sizes = true;
                return SEC_E_OK;
        }
        /* Established, the sizes are the chosen package's, cbMaxToken
         * included (Windows: 2888 or 1904 after NTLM). */
        return c->mech->query_ctx(c->inner, attr, out);
}

const KrbPac *negotiate_ctx_pac(const void *ctx) {
        const NegoCtx *c = ctx;

        return c && c->established && c->mech == &provider_kerberos ? krb_ctx_pac(c->inner) : NULL;
}

#define INNER_OR_FAIL(c)                                          \
        do {                                                      \
                if (!(c) || !(c)->established || !(c)->inner)     \
                        return SEC_E_INVALID_HANDLE;              \
        } while (0)

static SECURITY_STATUS nego_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        NegoCtx *c = ctx;
        INNER_OR_FAIL(c);
        return c->mech->sign(c->inner, qop, b, n, seq_no);
}

static SECURITY_STATUS nego_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        NegoCtx *c = ctx;
        INNER_OR_FAIL(c);
        return c->mech->verify(c->inner, b, n, seq_no, ret_qop);
}

static SECURITY_STATUS nego_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        NegoCtx *c = ctx;
        INNER_OR_FAIL(c);
        return c->mech->seal(c->inner, qop, b, n, seq_no);
}

static SECURITY_STATUS nego_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        NegoCtx *c = ctx;
        INNER_OR_FAIL(c);
        return c->mech->unseal(c->inner, b, n, seq_no, ret_qop);
}

/* The chosen package's state, after the mechListMIC took its sequence
 * numbers and restarted NTLM's RC4 streams. */
static SECURITY_STATUS nego_msg_keys(void *ctx, struct PkgMsgKeys *out) {
        NegoCtx *c = ctx;
        INNER_OR_FAIL(c);
        return c->mech->msg_keys ? c->mech->msg_keys(c->inner, out) : SEC_E_UNSUPPORTED_FUNCTION;
}

static const Provider *nego_negotiated(void *ctx) {
        NegoCtx *c = ctx;
        return c ? c->mech : NULL;
}

/* ChangeAccountPassword: Kerberos' (Windows' Negotiate picks Kerberos for
 * a domain account; NTLM has no password service here). */
static SECURITY_STATUS nego_change_password(PkgChangePassword *c) {
        return provider_kerberos.change_password(c);
}

/* SetCredentialsAttributes: the KDC proxy is Kerberos' business. */
/* AddCredentials: the Kerberos identity of `added` becomes this
 * credential's Kerberos identity (kerberos_add_cred); NTLM keeps its own.
 * A Negotiate credential without a Kerberos part, or an added one without
 * a Kerberos identity: SEC_E_NO_CREDENTIALS. */
static SECURITY_STATUS nego_add_cred(void *cred, void *added) {
        NegoCred *c = cred, *n = added;

        if (!c->krb || !n->krb)
                return SEC_E_NO_CREDENTIALS;
        return provider_kerberos.add_cred(c->krb, n->krb);
}

static SECURITY_STATUS nego_set_cred_attr(void *cred, const PkgSetCredAttr *a) {
        NegoCred *c = cred;

        if (!c->krb)
                return SEC_E_UNSUPPORTED_FUNCTION;
        return provider_kerberos.set_cred_attr(c->krb, a);
}

const Provider provider_negotiate = {
        .name = "Negotiate",
        .comment = "Microsoft Package Negotiator",
        .aliases = NULL,
        .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_CONNECTION |
                        SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_EXTENDED_ERROR | SECPKG_FLAG_IMPERSONATION |
                        SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_NEGOTIABLE | SECPKG_FLAG_GSS_COMPATIBLE |
                        SECPKG_FLAG_LOGON | SECPKG_FLAG_RESTRICTED_TOKENS | SECPKG_FLAG_APPCONTAINER_CHECKS,
        .version = 1,
        .rpcid = 9, /* RPC_C_AUTHN_GSS_NEGOTIATE */
        .max_token = NEGO_MAX_TOKEN,
        .acquire = nego_acquire,
        .cred_free = nego_cred_free,
        .cred_name = nego_cred_name,
        .step_may_block = nego_step_may_block,
        .waits_outside = true,
        .init_ctx = nego_init_ctx,
        .accept_ctx = nego_accept_ctx,
        .complete = nego_complete,
        .query_ctx = nego_query_ctx,
        .sign = nego_sign,
        .verify = nego_verify,
        .seal = nego_seal,
        .unseal = nego_unseal,
        .export_ctx = nego_export_ctx,
        .import_ctx = nego_import_ctx,
        .import_reset = nego_import_reset,
        .ctx_free = nego_ctx_free,
        .negotiated = nego_negotiated,
        .msg_keys = nego_msg_keys,
        .msg_keys_update = nego_msg_keys_update,
        .change_password = nego_change_password,
        .set_cred_attr = nego_set_cred_attr,
        .add_cred = nego_add_cred,
};
