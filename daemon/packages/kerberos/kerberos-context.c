/* SPDX-License-Identifier: MIT */
/*
 * The Kerberos handshake: InitializeSecurityContext and
 * AcceptSecurityContext on GSSAPI, flags, channel bindings.
 */
#include "packages/kerberos/kerberos.h"
#include "packages/bindings.h"
#include "packages/kerberos/kerberos-pac.h"
#include "packages/kerberos/kerberos-private.h"

/* ---- handshake ------------------------------------------------------------ */

static const struct {
        OM_uint32 gss;
        uint32_t isc_ret;
        uint32_t asc_ret;
} flag_map[] = {
        { GSS_C_DELEG_FLAG, ISC_RET_DELEGATE, ASC_RET_DELEGATE },
        { GSS_C_MUTUAL_FLAG, ISC_RET_MUTUAL_AUTH, ASC_RET_MUTUAL_AUTH },
        { GSS_C_REPLAY_FLAG, ISC_RET_REPLAY_DETECT, ASC_RET_REPLAY_DETECT },
        { GSS_C_SEQUENCE_FLAG, ISC_RET_SEQUENCE_DETECT, ASC_RET_SEQUENCE_DETECT },
        { GSS_C_CONF_FLAG, ISC_RET_CONFIDENTIALITY, ASC_RET_CONFIDENTIALITY },
        { GSS_C_INTEG_FLAG, ISC_RET_INTEGRITY, ASC_RET_INTEGRITY },
        { GSS_C_DCE_STYLE, ISC_RET_USED_DCE_STYLE, ASC_RET_USED_DCE_STYLE },
        { GSS_C_IDENTIFY_FLAG, ISC_RET_IDENTIFY, ASC_RET_IDENTIFY },
        { GSS_C_EXTENDED_ERROR_FLAG, ISC_RET_EXTENDED_ERROR, ASC_RET_EXTENDED_ERROR },
};

static OM_uint32 gss_req_from_isc(uint32_t req, const Config *config) {
        OM_uint32 f = 0;

        /* Windows honours DELEGATE only towards servers trusted for
         * delegation and says nothing otherwise; here the daemon's
         * config decides for all targets. */
        if ((req & ISC_REQ_DELEGATE) && config && config->delegation)
                f |= GSS_C_DELEG_FLAG;
        if (req & ISC_REQ_MUTUAL_AUTH)
                f |= GSS_C_MUTUAL_FLAG;
        if (req & ISC_REQ_REPLAY_DETECT)
                f |= GSS_C_REPLAY_FLAG;
        if (req & ISC_REQ_SEQUENCE_DETECT)
                f |= GSS_C_SEQUENCE_FLAG;
        if (req & ISC_REQ_CONFIDENTIALITY)
                f |= GSS_C_CONF_FLAG;
        if (req & ISC_REQ_INTEGRITY)
                f |= GSS_C_INTEG_FLAG;
        if (req & ISC_REQ_USE_DCE_STYLE)
                f |= GSS_C_DCE_STYLE;
        if (req & ISC_REQ_IDENTIFY)
                f |= GSS_C_IDENTIFY_FLAG;
        if (req & ISC_REQ_EXTENDED_ERROR)
                f |= GSS_C_EXTENDED_ERROR_FLAG;
        return f;
}

/* The RET flags are what GSS reports, plus CONNECTION: Kerberos runs in
 * connection mode unless the caller asked for datagram semantics (which
 * Heimdal does not offer, so DATAGRAM is never reported). */
static uint32_t ret_from_gss(OM_uint32 gss, uint32_t req, bool initiator) {
        uint32_t r = 0;

        for (size_t i = 0; i < sizeof(flag_map) / sizeof(flag_map[0]); i++)
                if (gss & flag_map[i].gss)
                        r |= initiator ? flag_map[i].isc_ret : flag_map[i].asc_ret;
        if (initiator && !(req & ISC_REQ_DATAGRAM))
                r |= ISC_RET_CONNECTION;
        if (!initiator && !(req & ASC_REQ_DATAGRAM))
                r |= ASC_RET_CONNECTION;
        return r;
}

/*
 * SEC_CHANNEL_BINDINGS (or its _EX form) -> GSS channel bindings. Offsets
 * are relative to the start of the structure; every (offset, length) pair
 * must lie inside the buffer. The pointers refer into the buffer.
 */
static SECURITY_STATUS bindings_from_buffer(const PkgBuffer *b, gss_channel_bindings_t cb) {
        const uint8_t *p = b->data;
        size_t len = b->len;
        uint32_t f[8];
        gss_buffer_t out[3] = { &cb->initiator_address, &cb->acceptor_address, &cb->application_data };

        if (pkg_bindings_read(p, &len, f) != SEC_E_OK)
                return SEC_E_BAD_BINDINGS;
        cb->initiator_addrtype = f[0];
        cb->acceptor_addrtype = f[3];
        /* (length, offset) pairs: initiator 1/2, acceptor 4/5, application 6/7. */
        for (size_t i = 0; i < 3; i++) {
                uint64_t l = i < 2 ? f[3 * i + 1] : f[6];
                uint64_t o = i < 2 ? f[3 * i + 2] : f[7];

                if (l == 0) {
                        *out[i] = (gss_buffer_desc) GSS_C_EMPTY_BUFFER;
                        continue;
                }
                if (o > len || l > len - o)
                        return SEC_E_BAD_BINDINGS;
                out[i]->length = l;
                out[i]->value = (void *) (p + o);
        }
        return SEC_E_OK;
}

/* Hand the GSS output token to the first SECBUFFER_TOKEN output slot.
 * The token memory is malloc()ed by Heimdal and becomes the slot's. */
static SECURITY_STATUS put_output_token(PkgStep *s, gss_buffer_t out) {
        PkgBuffer *slot = krb_find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);
        OM_uint32 minor;

        if (slot) {
                slot->len = 0;
                slot->data = NULL;
                slot->owned = false;
        }
        if (out->length == 0) {
                (void) gss_release_buffer(&minor, out);
                return SEC_E_OK;
        }
        if (!slot) {
                (void) gss_release_buffer(&minor, out);
                return SEC_E_INVALID_TOKEN;
        }
        if (slot->cap > 0 && out->length > slot->cap) {
                (void) gss_release_buffer(&minor, out);
                return SEC_E_BUFFER_TOO_SMALL;
        }
        slot->data = out->value;
        slot->len = out->length;
        slot->owned = true;
        *out = (gss_buffer_desc) GSS_C_EMPTY_BUFFER;
        return SEC_E_OK;
}

void kerberos_ctx_free(void *p) {
        KrbCtx *c = p;
        OM_uint32 minor;

        if (!c)
                return;
        if (c->gss != GSS_C_NO_CONTEXT)
                (void) gss_delete_sec_context(&minor, &c->gss, GSS_C_NO_BUFFER);
        (void) gss_release_name(&minor, &c->target);
        (void) gss_release_cred(&minor, &c->delegated);
        krb_pac_free(c->pac);
        free(c->pac_raw);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

/* A failed leg ends the context: GSS cannot resume after an error, and
 * the dispatcher answers SEC_E_INVALID_HANDLE for a context whose state
 * the package dropped. */
static SECURITY_STATUS step_failed(PkgStep *s, KrbCtx *c, SECURITY_STATUS st) {
        pkg_step_drop_outputs(s);
        kerberos_ctx_free(c);
        s->ctx = NULL;
        return st;
}

KrbCtx *krb_ctx_new(bool initiator, uint32_t req) {
        KrbCtx *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->gss = GSS_C_NO_CONTEXT;
        c->target = GSS_C_NO_NAME;
        c->delegated = GSS_C_NO_CREDENTIAL;
        c->initiator = initiator;
        c->req_flags = req;
        return c;
}

SECURITY_STATUS kerberos_init_ctx(PkgStep *s) {
        KrbCtx *c = s->ctx;
        KrbCred *cred = s->cred;
        gss_cred_id_t gcred = GSS_C_NO_CREDENTIAL;
        gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
        struct gss_channel_bindings_struct cb;
        gss_channel_bindings_t cbp = GSS_C_NO_CHANNEL_BINDINGS;
        PkgBuffer *b;
        OM_uint32 major, minor, junk, gflags = 0, time_rec = 0;
        SECURITY_STATUS st;
        bool first = !c;

        if (c && (!c->initiator || c->established))
                /* A finished context, or an acceptor's: nothing to step. */
                return SEC_E_INVALID_HANDLE;

        b = krb_find_buffer(s->in, s->n_in, SECBUFFER_CHANNEL_BINDINGS);
        if (b) {
                st = bindings_from_buffer(b, &cb);
                if (st != SEC_E_OK)
                        return first ? st : step_failed(s, c, st);
                cbp = &cb;
        }

        if (first) {
                if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                        return SEC_E_NO_CREDENTIALS;
                if (!s->target || !*s->target)
                        return SEC_E_TARGET_UNKNOWN;
                /* User-to-user (a ticket encrypted in the session key of
                 * the server's TGT, which Windows' client fetches with
                 * KERB_TGT_REQUEST) is not implemented: refused, never
                 * silently turned into an ordinary AP exchange. */
                if (s->req_flags & ISC_REQ_USE_SESSION_KEY)
                        return SEC_E_UNSUPPORTED_FUNCTION;
                st = krb_cred_initiator(cred, &gcred);
                if (st != SEC_E_OK)
                        return st;
                c = krb_ctx_new(true, s->req_flags);
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
                st = krb_import_target(s->target, &c->target);
                if (st != SEC_E_OK)
                        return step_failed(s, c, st);
                c->gss_flags = gss_req_from_isc(s->req_flags, s->config);
                pthread_mutex_lock(&cred->lock);
                c->kdc_offset = cred->kdc_offset;
                pthread_mutex_unlock(&cred->lock);
                /* An input token on the first call (often an empty
                 * placeholder) has no meaning for Kerberos. */
        } else {
                b = krb_find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
                if (!b || b->len == 0)
                        return step_failed(s, c, SEC_E_INVALID_TOKEN);
                in.value = b->data;
                in.length = b->len;
        }

        /* The first leg's TGS request and authenticator in the KDC's time.
         * A later leg builds an authenticator only to retry after the
         * acceptor's KRB_AP_ERR_SKEW, in the acceptor's time: Heimdal adds
         * the offset it learnt from that error (relative to the host's
         * clock) only when it is not zero, so the base must be the host's.
         * The thread's GSS clock is the host's again before anyone else
         * runs here (kerberos-clock.c). */
        krb_clock_gss_set(first ? c->kdc_offset : 0);
        major = gss_init_sec_context(&minor, gcred, &c->gss, c->target, GSS_KRB5_MECHANISM, c->gss_flags, 0, cbp,
                                     first ? GSS_C_NO_BUFFER : &in, NULL, &out, &gflags, &time_rec);
        krb_clock_gss_set(0);
        if (GSS_ERROR(major)) {
                (void) gss_release_buffer(&junk, &out);
                return step_failed(s, c, krb_status_gss(KRB_OP_INIT, major, minor, "gss_init_sec_context"));
        }
        st = put_output_token(s, &out);
        if (st != SEC_E_OK)
                return step_failed(s, c, st);

        s->ctx = c;
        c->ret_flags = ret_from_gss(gflags, c->req_flags, true);
        c->expiry = krb_filetime_in(time_rec);
        s->ret_flags = c->ret_flags;
        s->expiry = c->expiry;
        if (first && time_rec != GSS_C_INDEFINITE)
                /* The service ticket is in the ccache now (KDC time, as in
                 * kerberos_step_may_block()). */
                krb_known_target_add(cred, s->target, time(NULL) + c->kdc_offset + time_rec);
        if (major & GSS_S_CONTINUE_NEEDED)
                return SEC_I_CONTINUE_NEEDED;

        c->established = true;
        c->start = filetime_from_unix(time(NULL));
        krb_initiator_without_ap_rep(c, gflags);
        (void) gss_release_name(&minor, &c->target);
        return SEC_E_OK;
}

SECURITY_STATUS kerberos_accept_ctx(PkgStep *s) {
        KrbCtx *c = s->ctx;
        KrbCred *cred = s->cred;
        gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
        struct gss_channel_bindings_struct cb;
        gss_channel_bindings_t cbp = GSS_C_NO_CHANNEL_BINDINGS;
        gss_cred_id_t deleg = GSS_C_NO_CREDENTIAL;
        PkgBuffer *b;
        OM_uint32 major, minor, junk, gflags = 0, time_rec = 0;
        uint8_t replay_key[KRB_REPLAY_KEY_SIZE];
        SECURITY_STATUS st;
        bool first = !c;
        int r;

        if (c && (c->initiator || c->established))
                return SEC_E_INVALID_HANDLE;
        if (first) {
                if (!cred || !(cred->use & SECPKG_CRED_INBOUND))
                        return SEC_E_NO_CREDENTIALS;
                c = krb_ctx_new(false, s->req_flags);
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
        }

        b = krb_find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        if (!b || b->len == 0)
                return step_failed(s, c, SEC_E_INVALID_TOKEN);
        in.value = b->data;
        in.length = b->len;
        /* One canonical framing per AP-REQ, and the replay key (what the
         * session key authenticates) before Heimdal sees it. */
        if (first && (r = krb_ap_req_check(in.value, in.length, replay_key)) < 0)
                return step_failed(s, c, r == -EBADMSG ? SEC_E_INVALID_TOKEN : SEC_E_INSUFFICIENT_MEMORY);
        if (first && krb_replay_known(replay_key))
                return step_failed(s, c, krb_status_krb5(KRB_OP_ACCEPT, KRB5KRB_AP_ERR_REPEAT, "replayed AP-REQ"));
        b = krb_find_buffer(s->in, s->n_in, SECBUFFER_CHANNEL_BINDINGS);
        if (b) {
                st = bindings_from_buffer(b, &cb);
                if (st != SEC_E_OK)
                        return step_failed(s, c, st);
                cbp = &cb;
        }

        /* The acceptor credential never changes after acquire: no lock. */
        major = gss_accept_sec_context(&minor, &c->gss, cred ? cred->accept_cred : GSS_C_NO_CREDENTIAL, &in, cbp,
                                       NULL, NULL, &out, &gflags, &time_rec, &deleg);
        if (GSS_ERROR(major)) {
                (void) gss_release_buffer(&junk, &out);
                (void) gss_release_cred(&junk, &deleg);
                st = krb_status_gss(KRB_OP_ACCEPT, major, minor, "gss_accept_sec_context");
                /* Heimdal checks the PAC itself; a bad one is the
                 * client's logon failing, not the server's key. */
                if (first)
                        st = krb_pac_refusal(cred, in.value, in.length, st);
                return step_failed(s, c, st);
        }
        /* The ticket opened with a granted key; its name must be granted too. */
        if (first && cred && (st = krb_acceptor_check(cred, in.value, in.length)) != SEC_E_OK) {
                (void) gss_release_buffer(&junk, &out);
                (void) gss_release_cred(&junk, &deleg);
                return step_failed(s, c, st);
        }
        /* The same authenticator twice is a replay, however it is framed. */
        if (first && krb_replay_seen(replay_key)) {
                (void) gss_release_buffer(&junk, &out);
                (void) gss_release_cred(&junk, &deleg);
                return step_failed(s, c, krb_status_krb5(KRB_OP_ACCEPT, KRB5KRB_AP_ERR_REPEAT, "replayed AP-REQ"));
        }
        st = put_output_token(s, &out);
        if (st != SEC_E_OK) {
                (void) gss_release_cred(&minor, &deleg);
                return step_failed(s, c, st);
        }
        if ((gflags & GSS_C_DELEG_FLAG) && deleg != GSS_C_NO_CREDENTIAL) {
                (void) gss_release_cred(&minor, &c->delegated);
                c->delegated = deleg;
        } else {
                /* A delegation flag without a credential reports nothing. */
                gflags &= ~(OM_uint32) GSS_C_DELEG_FLAG;
                (void) gss_release_cred(&minor, &deleg);
        }

        s->ctx = c;
        c->gss_flags = gflags;
        c->ret_flags = ret_from_gss(gflags, c->req_flags, false);
        c->expiry = krb_filetime_in(time_rec);
        s->ret_flags = c->ret_flags;
        s->expiry = c->expiry;
        if (major & GSS_S_CONTINUE_NEEDED)
                return SEC_I_CONTINUE_NEEDED;
        /* Who the domain says the client is, before anyone can ask. */
        st = krb_pac_load(c);
        if (st != SEC_E_OK)
                return step_failed(s, c, st);
        c->established = true;
        c->start = filetime_from_unix(time(NULL));
        return SEC_E_OK;
}

/* Kerberos never asks for CompleteAuthToken (ISC/ASC never return
 * SEC_I_COMPLETE_NEEDED); on Windows only Digest implements it. */
SECURITY_STATUS kerberos_complete(void *ctx, PkgBuffer *b, size_t n) {
        (void) b;
        (void) n;
        return ctx ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_INVALID_HANDLE;
}
