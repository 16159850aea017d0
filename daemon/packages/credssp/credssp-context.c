/* SPDX-License-Identifier: MIT */
/*
 * CredSSP's handshake (MS-CSSP 3.1.5), client and server.
 *
 *  client                                          server
 *  TLS handshake records (Schannel ISC)   <->      (Schannel ASC)
 *  TSRequest{negoTokens, clientNonce}      ->
 *                                         <-      TSRequest{negoTokens}
 *  TSRequest{negoTokens, pubKeyAuth}       ->      (Negotiate completes)
 *                                         <-      TSRequest{pubKeyAuth'}
 *  TSRequest{authInfo = TSCredentials}     ->      SEC_E_OK
 *  SEC_E_OK
 *
 * Every TSRequest travels in TLS application-data records inside the
 * caller's tokens. A token that ends inside a record consumes nothing:
 * SEC_E_INCOMPLETE_MESSAGE with SECBUFFER_MISSING, as Schannel answers
 * (during the handshake it is Schannel's own answer); the caller reads
 * more and passes all the bytes again. Whole records that do not yet make
 * a whole TSRequest (one larger than a record) are kept, and the step
 * answers SEC_I_CONTINUE_NEEDED with an empty token.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "packages/credssp/credssp-private.h"
#include "util/log.h"

static void wipe_free(uint8_t *p, size_t len) {
        if (p) {
                explicit_bzero(p, len);
                free(p);
        }
}

/* A peer's errorCode (MS-CSSP 2.2.1: an NTSTATUS, or an HRESULT from a
 * Windows server) as the status the caller sees. */
static SECURITY_STATUS peer_error(uint32_t code) {
        if ((code & 0xFFFF0000u) == 0x80090000u)
                return (SECURITY_STATUS) code;
        switch (code) {
        case 0xC000006Du: /* STATUS_LOGON_FAILURE */
        case 0xC000006Eu: /* STATUS_ACCOUNT_RESTRICTION */
        case 0xC0000072u: /* STATUS_ACCOUNT_DISABLED */
        case 0xC0000234u: /* STATUS_ACCOUNT_LOCKED_OUT */
                return SEC_E_LOGON_DENIED;
        case 0xC0000071u: /* STATUS_PASSWORD_EXPIRED */
        case 0xC0000224u: /* STATUS_PASSWORD_MUST_CHANGE */
                return SEC_E_LOGON_DENIED;
        default:
                return SEC_E_INTERNAL_ERROR;
        }
}

static SECURITY_STATUS fail(PkgStep *s, CsspCtx *x, SECURITY_STATUS st) {
        x->state = CSSP_FAILED;
        pkg_step_drop_outputs(s);
        return st;
}

/* The TLS handshake step of the inner Schannel context; `extra` gets the
 * bytes that followed the handshake's last record (application data). */
static SECURITY_STATUS tls_step(CsspCtx *x, PkgStep *s, CsspOut *o, size_t *ret_extra_off, size_t *ret_extra) {
        PkgBuffer *tok = cssp_find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        PkgBuffer *empty = cssp_find_buffer(s->in, s->n_in, SECBUFFER_EMPTY);
        PkgBuffer in[2] = {}, out = { .type = SECBUFFER_TOKEN, .allocate = true };
        PkgStep ts = *s;
        CsspCred *c = s->cred;
        SECURITY_STATUS st;

        *ret_extra = 0;
        *ret_extra_off = 0;
        ts.cred = c ? c->tls : NULL;
        ts.ctx = x->tls;
        ts.target = x->tls_target;
        ts.leg_cred = NULL;
        ts.n_in = 0;
        if (tok && tok->len) {
                in[0] = *tok;
                in[1] = (PkgBuffer) { .type = SECBUFFER_EMPTY };
                ts.n_in = 2;
        }
        ts.in = in;
        ts.out = &out;
        ts.n_out = 1;
        ts.req_flags = x->server ? ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM | ASC_REQ_ALLOCATE_MEMORY
                                 : ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM | ISC_REQ_MANUAL_CRED_VALIDATION |
                                           ISC_REQ_ALLOCATE_MEMORY;
        st = x->server ? provider_schannel.accept_ctx(&ts) : provider_schannel.init_ctx(&ts);
        x->tls = ts.ctx;
        if (st == SEC_E_INCOMPLETE_MESSAGE && tok) {
                /* Nothing consumed: the caller's buffers say what is
                 * missing, where Schannel put it. */
                if (in[0].type == SECBUFFER_MISSING) {
                        tok->type = SECBUFFER_MISSING;
                        tok->count = in[0].count;
                }
                if (in[1].type == SECBUFFER_MISSING && empty) {
                        empty->type = SECBUFFER_MISSING;
                        empty->count = in[1].count;
                }
                return st;
        }
        if (st == SEC_I_CONTINUE_NEEDED && ts.n_in == 2 && in[1].type == SECBUFFER_EXTRA && empty) {
                /* Schannel took the whole records and left the rest: the
                 * caller keeps those bytes for the next call, as with
                 * Schannel itself. */
                empty->type = SECBUFFER_EXTRA;
                empty->count = in[1].count;
        }
        if (out.len && cssp_out_add(o, out.data, out.len) < 0)
                st = SEC_E_INSUFFICIENT_MEMORY;
        if (out.owned)
                free(out.data);
        if (st == SEC_E_OK && ts.n_in == 2 && in[1].type == SECBUFFER_EXTRA && in[1].count <= tok->len) {
                *ret_extra = in[1].count;
                *ret_extra_off = tok->len - in[1].count;
        }
        return st;
}

/* ---- client ---- */

static SECURITY_STATUS client_start_nego(CsspCtx *x, PkgStep *s, CsspOut *o) {
        uint8_t *tok = NULL;
        size_t len = 0;
        SECURITY_STATUS st;
        TsRequest r = { .version = x->version };

        st = cssp_load_pubkey(x);
        if (st != SEC_E_OK)
                return st;
        st = cssp_nego_step(x, s, (TsBytes) {}, &tok, &len);
        if (st != SEC_E_OK && st != SEC_I_CONTINUE_NEEDED)
                return st;
        r.has_nego = true;
        r.nego_token = (TsBytes) { tok, len };
        if (x->version >= 5) {
                r.has_nonce = true;
                r.nonce = (TsBytes) { x->nonce, sizeof(x->nonce) };
        }
        st = cssp_send_request(x, &r, o);
        free(tok);
        x->state = CSSP_NEGO;
        return st == SEC_E_OK ? SEC_I_CONTINUE_NEEDED : st;
}

/* The server's reply in the SPNEGO phase. */
static SECURITY_STATUS client_nego(CsspCtx *x, PkgStep *s, const TsRequest *in, CsspOut *o) {
        uint8_t *tok = NULL, *pka = NULL, *enc = NULL;
        size_t len = 0, pka_len = 0, enc_len = 0;
        TsRequest r = { .version = x->version };
        SECURITY_STATUS st;

        if (!in->has_nego)
                return SEC_E_INVALID_TOKEN;
        st = cssp_nego_step(x, s, in->nego_token, &tok, &len);
        if (st != SEC_E_OK && st != SEC_I_CONTINUE_NEEDED)
                return st;
        r.has_nego = len > 0;
        r.nego_token = (TsBytes) { tok, len };
        if (x->version >= 5) {
                r.has_nonce = true;
                r.nonce = (TsBytes) { x->nonce, sizeof(x->nonce) };
        }
        if (st == SEC_E_OK) {
                /* With the last SPNEGO token goes the public key's proof. */
                st = cssp_pubkey_auth(x, false, &pka, &pka_len);
                if (st == SEC_E_OK)
                        st = cssp_encrypt(x, pka, pka_len, &enc, &enc_len);
                if (st != SEC_E_OK) {
                        free(tok);
                        wipe_free(pka, pka_len);
                        return st;
                }
                r.has_pub_key_auth = true;
                r.pub_key_auth = (TsBytes) { enc, enc_len };
                x->state = CSSP_PUBKEY;
        }
        st = cssp_send_request(x, &r, o);
        free(tok);
        free(enc);
        wipe_free(pka, pka_len);
        return st == SEC_E_OK ? SEC_I_CONTINUE_NEEDED : st;
}

/* The server's pubKeyAuth: check it, then delegate the credentials. */
static SECURITY_STATUS client_pubkey(CsspCtx *x, PkgStep *s, const TsRequest *in, CsspOut *o) {
        CsspCred *c = s->cred;
        uint8_t *want = NULL, *got = NULL, *creds = NULL, *enc = NULL, *tok = NULL;
        size_t want_len = 0, got_len = 0, creds_len = 0, enc_len = 0, len = 0;
        TsRequest r = { .version = x->version };
        SECURITY_STATUS st;

        if (in->has_nego) {
                /* Negotiate's final token (accept-completed, mechListMIC). */
                st = cssp_nego_step(x, s, in->nego_token, &tok, &len);
                free(tok);
                if (st != SEC_E_OK)
                        return st;
        }
        if (!in->has_pub_key_auth)
                return SEC_E_INVALID_TOKEN;
        st = cssp_decrypt(x, in->pub_key_auth.p, in->pub_key_auth.len, &got, &got_len);
        if (st != SEC_E_OK)
                return SEC_E_MESSAGE_ALTERED;
        st = cssp_pubkey_auth(x, true, &want, &want_len);
        if (st == SEC_E_OK && (want_len != got_len || CRYPTO_memcmp(want, got, got_len)))
                st = SEC_E_MESSAGE_ALTERED; /* not the server TLS ended at */
        wipe_free(want, want_len);
        wipe_free(got, got_len);
        if (st != SEC_E_OK)
                return st;
        /* TSCredentials: the password credentials, or empty strings when
         * the credential has none (the server then has only the logon). */
        if (c && c->has_password)
                st = ts_password_encode((TsBytes) { c->domain, c->domain_len }, (TsBytes) { c->user, c->user_len },
                                        (TsBytes) { c->password, c->password_len }, &creds, &creds_len) < 0
                             ? SEC_E_INSUFFICIENT_MEMORY
                             : SEC_E_OK;
        else
                st = ts_password_encode((TsBytes) {}, (TsBytes) {}, (TsBytes) {}, &creds, &creds_len) < 0
                             ? SEC_E_INSUFFICIENT_MEMORY
                             : SEC_E_OK;
        if (st == SEC_E_OK)
                st = cssp_encrypt(x, creds, creds_len, &enc, &enc_len);
        wipe_free(creds, creds_len);
        if (st != SEC_E_OK)
                return st;
        r.has_auth_info = true;
        r.auth_info = (TsBytes) { enc, enc_len };
        st = cssp_send_request(x, &r, o);
        wipe_free(enc, enc_len);
        if (st != SEC_E_OK)
                return st;
        x->state = CSSP_DONE;
        return SEC_E_OK;
}

static SECURITY_STATUS client_request(CsspCtx *x, PkgStep *s, const uint8_t *der, size_t len, CsspOut *o) {
        TsRequest in;

        if (tsreq_parse(der, len, &in) < 0)
                return SEC_E_INVALID_TOKEN;
        if (in.has_error)
                return peer_error(in.error_code);
        /* Both sides then use the lower version (MS-CSSP 3.1.5), as the
         * server's first answer says: a later TSRequest cannot change it
         * (no downgrade of the pubKeyAuth check mid-exchange). */
        if (!x->peer_version) {
                x->peer_version = in.version;
                if (in.version < x->version)
                        x->version = in.version < 2 ? 2 : in.version;
        }
        switch (x->state) {
        case CSSP_NEGO:
                return client_nego(x, s, &in, o);
        case CSSP_PUBKEY:
                return client_pubkey(x, s, &in, o);
        default:
                return SEC_E_INVALID_TOKEN;
        }
}

static SECURITY_STATUS split_target(CsspCtx *x, const char *target) {
        const char *slash = target ? strchr(target, '/') : NULL;
        const char *host = slash ? slash + 1 : target;
        size_t n;

        x->target = target ? strdup(target) : NULL;
        if (target && !x->target)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!host)
                return SEC_E_OK;
        n = strcspn(host, ":/@");
        x->tls_target = strndup(host, n);
        return x->tls_target ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
}

SECURITY_STATUS cssp_init(PkgStep *s) {
        CsspCtx *x = s->ctx;
        CsspCred *c = s->cred;
        PkgBuffer *tok = cssp_find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        CsspOut o = {};
        SECURITY_STATUS st;

        if (!x) {
                if (!c || !(c->use & SECPKG_CRED_OUTBOUND))
                        return SEC_E_NO_CREDENTIALS;
                x = calloc(1, sizeof(*x));
                if (!x)
                        return SEC_E_INSUFFICIENT_MEMORY;
                x->version = TSREQ_VERSION;
                x->req_flags = s->req_flags;
                if (RAND_bytes(x->nonce, sizeof(x->nonce)) != 1 || split_target(x, s->target) != SEC_E_OK) {
                        cssp_ctx_free(x);
                        return SEC_E_INTERNAL_ERROR;
                }
                x->has_nonce = true;
                s->ctx = x;
        }
        switch (x->state) {
        case CSSP_TLS: {
                size_t extra_off, extra;

                st = tls_step(x, s, &o, &extra_off, &extra);
                if (st == SEC_E_OK) {
                        /* The channel is up: the first TSRequest goes
                         * with the handshake's last flight, if any. */
                        st = client_start_nego(x, s, &o);
                        if (st == SEC_I_CONTINUE_NEEDED && extra)
                                st = cssp_tls_read(x, tok->data + extra_off, extra, false, NULL) == SEC_E_OK
                                             ? SEC_I_CONTINUE_NEEDED
                                             : SEC_E_INVALID_TOKEN;
                }
                break;
        }
        case CSSP_NEGO:
        case CSSP_PUBKEY: {
                uint8_t *der = NULL;
                size_t len = 0;
                int r;

                if (!tok || !tok->len)
                        return fail(s, x, SEC_E_INVALID_TOKEN);
                st = cssp_tls_read(x, tok->data, tok->len, true,
                                   cssp_find_buffer(s->in, s->n_in, SECBUFFER_EMPTY));
                if (st != SEC_E_OK)
                        break;
                r = cssp_next_request(x, &der, &len);
                if (r < 0) {
                        st = SEC_E_INVALID_TOKEN;
                        break;
                }
                if (r == 0) {
                        st = SEC_I_CONTINUE_NEEDED; /* more records to come */
                        break;
                }
                st = client_request(x, s, der, len, &o);
                wipe_free(der, len);
                break;
        }
        default:
                return fail(s, x, SEC_E_CONTEXT_EXPIRED);
        }
        if (st == SEC_E_INCOMPLETE_MESSAGE) {
                cssp_out_free(&o);
                return st;
        }
        if (st != SEC_E_OK && st != SEC_I_CONTINUE_NEEDED) {
                cssp_out_free(&o);
                log_debug("credssp: client step failed: 0x%08x", (unsigned) st);
                return fail(s, x, st);
        }
        {
                SECURITY_STATUS pst = cssp_put_output(s, &o);
                if (pst != SEC_E_OK)
                        return fail(s, x, pst);
        }
        s->ret_flags = ISC_RET_CONFIDENTIALITY | ISC_RET_INTEGRITY | ISC_RET_STREAM | ISC_RET_MUTUAL_AUTH |
                       (x->req_flags & ISC_REQ_ALLOCATE_MEMORY ? ISC_RET_ALLOCATED_MEMORY : 0);
        s->expiry = x->expiry;
        x->ret_flags = s->ret_flags;
        return st;
}

/* ---- server ---- */

/* A TSRequest in the SPNEGO phase. */
static SECURITY_STATUS server_nego(CsspCtx *x, PkgStep *s, const TsRequest *in, CsspOut *o) {
        uint8_t *tok = NULL, *got = NULL, *want = NULL, *pka = NULL, *enc = NULL;
        size_t len = 0, got_len = 0, want_len = 0, pka_len = 0, enc_len = 0;
        TsRequest r = {};
        SECURITY_STATUS st;

        if (in->has_nonce) {
                memcpy(x->nonce, in->nonce.p, sizeof(x->nonce));
                x->has_nonce = true;
        }
        if (!x->nego_done) {
                if (!in->has_nego)
                        return SEC_E_INVALID_TOKEN;
                st = cssp_nego_step(x, s, in->nego_token, &tok, &len);
                if (st == SEC_E_OK && !in->has_pub_key_auth && len)
                        st = SEC_I_CONTINUE_NEEDED; /* our token is the last (Kerberos' AP-REP) */
                if (st == SEC_I_CONTINUE_NEEDED) {
                        r.version = x->version;
                        r.has_nego = true;
                        r.nego_token = (TsBytes) { tok, len };
                        st = cssp_send_request(x, &r, o);
                        free(tok);
                        return st == SEC_E_OK ? SEC_I_CONTINUE_NEEDED : st;
                }
                if (st != SEC_E_OK) {
                        free(tok);
                        return st;
                }
        } else if (in->has_nego)
                return SEC_E_INVALID_TOKEN; /* SPNEGO already ended */
        /* Negotiate is done: the client's pubKeyAuth must prove it spoke
         * to us (MS-CSSP 3.1.5, step 3), with the client's last token or,
         * when ours was the last, alone. */
        if (!in->has_pub_key_auth || (x->version >= 5 && !x->has_nonce)) {
                free(tok);
                return SEC_E_INVALID_TOKEN;
        }
        st = cssp_decrypt(x, in->pub_key_auth.p, in->pub_key_auth.len, &got, &got_len);
        if (st == SEC_E_OK)
                st = cssp_pubkey_auth(x, false, &want, &want_len);
        else
                st = SEC_E_MESSAGE_ALTERED;
        if (st == SEC_E_OK && (want_len != got_len || CRYPTO_memcmp(want, got, got_len)))
                st = SEC_E_MESSAGE_ALTERED;
        wipe_free(want, want_len);
        wipe_free(got, got_len);
        if (st == SEC_E_OK)
                st = cssp_pubkey_auth(x, true, &pka, &pka_len);
        if (st == SEC_E_OK)
                st = cssp_encrypt(x, pka, pka_len, &enc, &enc_len);
        wipe_free(pka, pka_len);
        if (st != SEC_E_OK) {
                free(tok);
                return st;
        }
        r.version = x->version;
        r.has_nego = len > 0;
        r.nego_token = (TsBytes) { tok, len };
        r.has_pub_key_auth = true;
        r.pub_key_auth = (TsBytes) { enc, enc_len };
        st = cssp_send_request(x, &r, o);
        free(tok);
        free(enc);
        if (st != SEC_E_OK)
                return st;
        x->state = CSSP_CREDS;
        return SEC_I_CONTINUE_NEEDED;
}

/* The delegated credentials: kept in the context, never handed out. */
static SECURITY_STATUS server_creds(CsspCtx *x, const TsRequest *in) {
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        uint32_t type;
        TsBytes creds, d, u, p;
        SECURITY_STATUS st;

        if (!in->has_auth_info)
                return SEC_E_INVALID_TOKEN;
        st = cssp_decrypt(x, in->auth_info.p, in->auth_info.len, &plain, &plain_len);
        if (st != SEC_E_OK)
                return SEC_E_MESSAGE_ALTERED;
        st = SEC_E_INVALID_TOKEN;
        if (ts_creds_parse(plain, plain_len, &type, &creds) == 0) {
                if (type != TS_CRED_PASSWORD)
                        st = SEC_E_UNSUPPORTED_FUNCTION; /* smart card, Remote Guard */
                else if (ts_password_parse(creds.p, creds.len, &d, &u, &p) == 0) {
                        x->d_domain = malloc(d.len + 1);
                        x->d_user = malloc(u.len + 1);
                        x->d_password = malloc(p.len + 1);
                        if (x->d_domain && x->d_user && x->d_password) {
                                memcpy(x->d_domain, d.p, d.len);
                                memcpy(x->d_user, u.p, u.len);
                                memcpy(x->d_password, p.p, p.len);
                                x->d_domain_len = d.len;
                                x->d_user_len = u.len;
                                x->d_password_len = p.len;
                                x->delegated = p.len > 0;
                                st = SEC_E_OK;
                        } else
                                st = SEC_E_INSUFFICIENT_MEMORY;
                }
        }
        wipe_free(plain, plain_len);
        return st;
}

static SECURITY_STATUS server_request(CsspCtx *x, PkgStep *s, const uint8_t *der, size_t len, CsspOut *o) {
        TsRequest in;
        SECURITY_STATUS st;

        if (tsreq_parse(der, len, &in) < 0)
                return SEC_E_INVALID_TOKEN;
        if (in.has_error)
                return peer_error(in.error_code);
        if (!x->peer_version) {
                /* The version both use is the lower one (MS-CSSP 3.1.5);
                 * the hash form of pubKeyAuth follows the client's. */
                x->peer_version = in.version;
                x->version = in.version < TSREQ_VERSION ? in.version : TSREQ_VERSION;
                if (x->version < 2)
                        x->version = 2;
        }
        switch (x->state) {
        case CSSP_NEGO:
                st = server_nego(x, s, &in, o);
                if (st < 0 && x->version >= 3 && st != SEC_E_INSUFFICIENT_MEMORY) {
                        /* Tell the client why (errorCode, version 3 and
                         * later), as Windows' server does. */
                        TsRequest e = { .version = x->version, .has_error = true,
                                        .error_code = st == SEC_E_LOGON_DENIED ? CSSP_STATUS_LOGON_FAILURE
                                                                               : (uint32_t) st };
                        cssp_out_free(o);
                        if (cssp_send_request(x, &e, o) != SEC_E_OK)
                                cssp_out_free(o);
                }
                return st;
        case CSSP_CREDS:
                st = server_creds(x, &in);
                if (st == SEC_E_OK)
                        x->state = CSSP_DONE;
                return st;
        default:
                return SEC_E_INVALID_TOKEN;
        }
}

SECURITY_STATUS cssp_accept(PkgStep *s) {
        CsspCtx *x = s->ctx;
        CsspCred *c = s->cred;
        PkgBuffer *tok = cssp_find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        CsspOut o = {};
        SECURITY_STATUS st;
        const uint8_t *app = NULL;
        size_t app_len = 0;

        if (!x) {
                if (!c || !(c->use & SECPKG_CRED_INBOUND))
                        return SEC_E_NO_CREDENTIALS;
                x = calloc(1, sizeof(*x));
                if (!x)
                        return SEC_E_INSUFFICIENT_MEMORY;
                x->server = true;
                x->version = TSREQ_VERSION;
                x->req_flags = s->req_flags;
                s->ctx = x;
        }
        if (!tok || !tok->len)
                return x->state == CSSP_TLS && !x->tls ? SEC_E_INVALID_TOKEN : fail(s, x, SEC_E_INVALID_TOKEN);
        if (x->state == CSSP_TLS) {
                size_t extra_off, extra;

                st = tls_step(x, s, &o, &extra_off, &extra);
                if (st == SEC_E_OK) {
                        x->state = CSSP_NEGO;
                        st = cssp_load_pubkey(x);
                        if (st == SEC_E_OK)
                                st = SEC_I_CONTINUE_NEEDED;
                        if (extra) {
                                app = tok->data + extra_off;
                                app_len = extra;
                        }
                }
        } else if (x->state == CSSP_NEGO || x->state == CSSP_CREDS) {
                app = tok->data;
                app_len = tok->len;
                st = SEC_I_CONTINUE_NEEDED;
        } else
                return fail(s, x, SEC_E_CONTEXT_EXPIRED);
        if (app_len && st == SEC_I_CONTINUE_NEEDED) {
                uint8_t *der = NULL;
                size_t len = 0;
                int r;

                st = cssp_tls_read(x, app, app_len, app == tok->data,
                                   cssp_find_buffer(s->in, s->n_in, SECBUFFER_EMPTY));
                if (st == SEC_E_OK) {
                        r = cssp_next_request(x, &der, &len);
                        if (r < 0)
                                st = SEC_E_INVALID_TOKEN;
                        else if (r == 0)
                                st = SEC_I_CONTINUE_NEEDED;
                        else {
                                st = server_request(x, s, der, len, &o);
                                wipe_free(der, len);
                        }
                }
        }
        if (st == SEC_E_INCOMPLETE_MESSAGE) {
                cssp_out_free(&o);
                return st;
        }
        if (st != SEC_E_OK && st != SEC_I_CONTINUE_NEEDED) {
                log_debug("credssp: server step failed: 0x%08x", (unsigned) st);
                /* The errorCode TSRequest (version 3 and later) goes back
                 * with the failure in the caller's SECBUFFER_ALERT slot,
                 * where Schannel puts the alert of a failed step: the
                 * caller sends it so that the client learns why. */
                PkgBuffer *alert = cssp_find_buffer(s->out, s->n_out, SECBUFFER_ALERT);
                pkg_step_drop_outputs(s);
                x->state = CSSP_FAILED;
                if (o.len && alert && (alert->allocate || alert->cap == 0 || o.len <= alert->cap)) {
                        alert->data = o.p;
                        alert->len = o.len;
                        alert->owned = true;
                        s->clear_output = true;
                        return st;
                }
                cssp_out_free(&o);
                return st;
        }
        {
                SECURITY_STATUS pst = cssp_put_output(s, &o);
                if (pst != SEC_E_OK)
                        return fail(s, x, pst);
        }
        s->ret_flags = ASC_RET_CONFIDENTIALITY | ASC_RET_INTEGRITY | ASC_RET_STREAM | ASC_RET_MUTUAL_AUTH |
                       (x->delegated ? ASC_RET_DELEGATE : 0) |
                       (x->req_flags & ASC_REQ_ALLOCATE_MEMORY ? ASC_RET_ALLOCATED_MEMORY : 0);
        s->expiry = x->expiry;
        x->ret_flags = s->ret_flags;
        return st;
}
