/* SPDX-License-Identifier: MIT */
/*
 * The TLS handshake: InitializeSecurityContext / AcceptSecurityContext
 * over memory BIOs, whole records only, alerts, peer checks.
 */
#include "packages/schannel/schannel-private.h"

/* ---- handshake ---- */

int sch_client_cert_cb(SSL *ssl, X509 **ret_x509, EVP_PKEY **ret_key) {
        SchCtx *x = SSL_get_ex_data(ssl, sch_ex_index);

        if (!x || x->skip_client_cert)
                return 0;
        if (x->leg_x509) {
                X509_up_ref(x->leg_x509);
                EVP_PKEY_up_ref(x->leg_key);
                *ret_x509 = x->leg_x509;
                *ret_key = x->leg_key;
                return 1;
        }
        return -1; /* SSL_ERROR_WANT_X509_LOOKUP: SEC_I_INCOMPLETE_CREDENTIALS */
}

int sch_alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                          unsigned inlen, void *arg) {
        SchCtx *x = SSL_get_ex_data(ssl, sch_ex_index);
        unsigned char *sel = NULL;

        if (!x || !x->alpn)
                return SSL_TLSEXT_ERR_NOACK;
        if (x->cred->n_rules) {
                /* The server's order; a protocol whose TLS_PARAMETERS rule out
                 * this version or suite is passed over. */
                for (size_t i = 0; i < x->alpn_len; i += 1 + x->alpn[i])
                        for (unsigned j = 0; j < inlen; j += 1u + in[j])
                                if (in[j] == x->alpn[i] && j + 1u + in[j] <= inlen &&
                                    !memcmp(in + j + 1, x->alpn + i + 1, in[j])) {
                                        if (!sch_alpn_allowed(x->cred, ssl, SSL_get_pending_cipher(ssl), true, in + j + 1,
                                                          in[j])) {
                                                x->alpn_refused = true;
                                                continue;
                                        }
                                        x->alpn_refused = false;
                                        *out = in + j + 1;
                                        *outlen = in[j];
                                        return SSL_TLSEXT_ERR_OK;
                                }
                return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        if (SSL_select_next_proto(&sel, outlen, x->alpn, (unsigned) x->alpn_len, in, inlen) !=
            OPENSSL_NPN_NEGOTIATED)
                return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
        *out = sel;
        return SSL_TLSEXT_ERR_OK;
}

static int verify_accept_all(int ok, X509_STORE_CTX *store) {
        return 1; /* the result is judged after the handshake (SSL_get_verify_result) */
}

/* Client certificates: OpenSSL's own judgement (and alert) unless the server
 * validates them itself. */
static SSL_verify_cb verify_cb(const SchCred *c, uint32_t req_flags) {
        return (c->flags & SCH_CRED_MANUAL_CRED_VALIDATION) ? verify_accept_all : NULL;
}

/* SEC_APPLICATION_PROTOCOLS -> the ALPN wire list (length-prefixed ids). */
static SECURITY_STATUS parse_alpn(const PkgBuffer *b, uint8_t **ret, size_t *ret_len) {
        const uint8_t *p = b->data, *end;
        uint32_t total;

        if (b->len < 4)
                return SEC_E_INVALID_TOKEN;
        memcpy(&total, p, 4);
        if (total > b->len - 4)
                return SEC_E_INVALID_TOKEN;
        p += 4;
        end = p + total;
        while (end - p >= 6) {
                uint32_t ext;
                uint16_t n;
                memcpy(&ext, p, 4);
                memcpy(&n, p + 4, 2);
                if (n > end - p - 6)
                        return SEC_E_INVALID_TOKEN;
                if (ext == SecApplicationProtocolNegotiationExt_ALPN && n > 0) {
                        /* Every id must be non-empty and inside the list. */
                        for (size_t i = 0; i < n; i += 1 + p[6 + i])
                                if (p[6 + i] == 0 || i + 1 + p[6 + i] > n)
                                        return SEC_E_INVALID_TOKEN;
                        *ret = malloc(n);
                        if (!*ret)
                                return SEC_E_INSUFFICIENT_MEMORY;
                        memcpy(*ret, p + 6, n);
                        *ret_len = n;
                        return SEC_E_OK;
                }
                p += 6 + n;
        }
        return SEC_E_OK;
}

static bool is_ip(const char *s) {
        unsigned char buf[16];
        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

void sch_ctx_free(void *p) {
        SchCtx *x = p;

        if (!x)
                return;
        for (unsigned i = 0; i < x->n_srv_sess; i++)
                SSL_SESSION_free(x->srv_sess[i]);
        /* A connection deleted without close_notify keeps its session in
         * the server cache (OpenSSL would drop it; fatal alerts already
         * did). */
        if (x->ssl && x->done)
                SSL_set_shutdown(x->ssl, SSL_get_shutdown(x->ssl) | SSL_SENT_SHUTDOWN);
        SSL_free(x->ssl); /* frees both BIOs */

        X509_free(x->leg_x509);
        EVP_PKEY_free(x->leg_key);
        free(x->target);
        free(x->alpn);
        free(x->flight);
        free(x->app_data);
        OPENSSL_cleanse(x, sizeof(*x)); /* the library's keys, TLS 1.3 secrets */
        free(x);
}

static SECURITY_STATUS ctx_new(PkgStep *s, bool server, SchCtx **ret) {
        SchCred *c = s->cred;
        SchCtx *x = calloc(1, sizeof(*x));

        if (!x)
                return SEC_E_INSUFFICIENT_MEMORY;
        x->cred = c;
        x->server = server;
        x->req_flags = s->req_flags;
        x->pid = s->caller->pid;
        x->uid = s->caller->uid;
        /* A credential without a protocol choice serves datagram
         * contexts with DTLS 1.2 (its second SSL_CTX). */
        SSL_CTX *sc = c->ssl_ctx;
        if (!c->dtls && c->dtls_on_request && (s->req_flags & ISC_REQ_DATAGRAM)) {
                sc = sch_dtls_ctx(c, s->config);
                if (!sc) {
                        free(x);
                        return SEC_E_ALGORITHM_MISMATCH; /* no DTLS suite left */
                }
        }
        x->dtls = c->dtls || sc != c->ssl_ctx;
        pthread_mutex_lock(&c->lock); /* SetCredentialsAttributes changes ssl_ctx */
        x->ssl = SSL_new(sc);
        pthread_mutex_unlock(&c->lock);
        x->rbio = BIO_new(BIO_s_mem());
        x->wbio = BIO_new(BIO_s_mem());
        if (!x->ssl || !x->rbio || !x->wbio || !trust_apply(x->ssl, s->config)) {
                BIO_free(x->rbio);
                BIO_free(x->wbio);
                sch_ctx_free(x);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        BIO_set_mem_eof_return(x->rbio, -1);
        SSL_set_bio(x->ssl, x->rbio, x->wbio);
        SSL_set_ex_data(x->ssl, sch_ex_index, x);
        sch_caller_setup(x, !s->config->message_in_daemon);
        if (x->dtls && sch_dtls_setup_ssl(x, s) < 0) {
                sch_ctx_free(x);
                return SEC_E_INVALID_PARAMETER; /* a SECBUFFER_DTLS_MTU out of range */
        }
        if (server) {
                SSL_set_accept_state(x->ssl);
                x->mutual = s->req_flags & ASC_REQ_MUTUAL_AUTH;
                if (x->mutual)
                        SSL_set_verify(x->ssl, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, verify_cb(c, s->req_flags));
        } else {
                SSL_set_connect_state(x->ssl);
                /* The chain and the name are judged during the handshake, so
                 * that a rejected server hears why (unknown_ca,
                 * certificate_expired, bad_certificate), as from Windows. */
                if ((c->flags & (SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_DEFERRED_CRED_VALIDATION)) ||
                    (s->req_flags & ISC_REQ_MANUAL_CRED_VALIDATION))
                        SSL_set_verify(x->ssl, SSL_VERIFY_NONE, NULL);
                else
                        SSL_set_verify(x->ssl, SSL_VERIFY_PEER, NULL);
                /* A TLS 1.3 server may ask for a certificate after the
                 * handshake: the caller answers through ISC. */
                SSL_set_post_handshake_auth(x->ssl, 1);

                if (s->target && *s->target) {
                        x->target = strdup(s->target);
                        if (!x->target) {
                                sch_ctx_free(x);
                                return SEC_E_INSUFFICIENT_MEMORY;
                        }
                        if (!is_ip(s->target))
                                SSL_set_tlsext_host_name(x->ssl, s->target);
                        if (!(c->flags & SCH_CRED_NO_SERVERNAME_CHECK)) {
                                if (is_ip(s->target))
                                        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(x->ssl), s->target);
                                else
                                        SSL_set1_host(x->ssl, s->target);
                        }
                        /* (A context that became DTLS does not take the
                         * credential's TLS sessions.) */
                        if (!(c->flags & SCH_CRED_DISABLE_RECONNECTS) && x->dtls == c->dtls) {
                                SSL_SESSION *sess = sch_cache_get(c, s->target, x->pid, x->uid);
                                if (sess) {
                                        SSL_set_session(x->ssl, sess);
                                        SSL_SESSION_free(sess);
                                }
                        }
                }
        }
        ERR_clear_error();
        *ret = x;
        return SEC_E_OK;
}

PkgBuffer *sch_find_buffer(PkgBuffer *b, size_t n, uint32_t type) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type)
                        return &b[i];
        return NULL;
}

/* Bytes of whole TLS records at the start of p[0..len); *need is how many
 * more bytes the first incomplete record wants. */
size_t sch_whole_records(const uint8_t *p, size_t len, size_t *need) {
        size_t off = 0;

        *need = 0;
        while (off < len) {
                size_t rec;
                if (len - off < TLS_HEADER) {
                        *need = TLS_HEADER - (len - off);
                        break;
                }
                rec = TLS_HEADER + ((size_t) p[off + 3] << 8 | p[off + 4]);
                if (len - off < rec) {
                        *need = rec - (len - off);
                        break;
                }
                off += rec;
        }
        return off;
}


/* Everything OpenSSL wrote goes to the caller's SECBUFFER_TOKEN slot. */
static SECURITY_STATUS flush_output(SchCtx *x, PkgStep *s) {
        size_t n = BIO_ctrl_pending(x->wbio);
        PkgBuffer *out;

        if (n == 0)
                return SEC_E_OK;
        out = sch_find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);
        /* curl's schannel_shutdown gives one EMPTY buffer (ALLOCATE_MEMORY). */
        if (!out && (out = sch_find_buffer(s->out, s->n_out, SECBUFFER_EMPTY)))
                out->type = SECBUFFER_TOKEN;
        if (!out)
                return SEC_E_INVALID_TOKEN;
        out->data = malloc(n);
        if (!out->data)
                return SEC_E_INSUFFICIENT_MEMORY;
        out->owned = true;
        out->len = (size_t) BIO_read(x->wbio, out->data, (int) n);
        if (x->caller_w) {
                SECURITY_STATUS st = sch_caller_out(x, out->data, out->len);
                if (st != SEC_E_OK)
                        return st;
        }
        /* After our ChangeCipherSpec every record is under the keys. */
        for (size_t off = 0; off + TLS_HEADER <= out->len;
             off += TLS_HEADER + ((size_t) out->data[off + 3] << 8 | out->data[off + 4]))
                if (out->data[off] == 20)
                        x->wrote_ccs = true;
        return SEC_E_OK;
}

/* Whether an alert may still go out as a plaintext record: nothing of ours
 * is encrypted yet, and the peer does not yet read under handshake keys (a
 * TLS 1.3 client that has seen the ServerHello). OpenSSL has no call that
 * sends an arbitrary alert under its record keys. */
bool sch_alert_in_clear(SchCtx *x) {
        /* The alert record below is framed for TLS, not DTLS. */
        return !x->dtls && !x->done && !x->wrote_ccs && (x->server || !x->fed || SSL_version(x->ssl) < TLS1_3_VERSION);
}

/* ApplyControlToken(SCHANNEL_ALERT or SCHANNEL_SHUTDOWN during the
 * handshake) then ISC/ASC: the alert record in SECBUFFER_TOKEN. Its record
 * version is the negotiated one once known (a server, or a client that read
 * the ServerHello), else the highest the client offers, the one the server
 * most likely picked (an OpenSSL peer drops an alert in any other version
 * as WRONG_VERSION_NUMBER): 03 01 for a TLS 1.0-only client, as Windows in
 * Wine's schannel.c test_connection_shutdown; TLS 1.3 records say 03 03
 * (RFC 8446 5.1). A fatal alert ends the context; a close_notify does not:
 * Windows keeps waiting for the peer (the next ISC without input says
 * SEC_E_INCOMPLETE_MESSAGE) and sends it again on a second
 * SCHANNEL_SHUTDOWN (the same test). */
static SECURITY_STATUS send_alert(SchCtx *x, PkgStep *s) {
        PkgBuffer *out = sch_find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);
        uint8_t rec[7] = { 21, 3, 3, 0, 2, x->alert_level, x->alert_desc };
        long v = x->server || x->fed ? SSL_version(x->ssl) : SSL_get_max_proto_version(x->ssl);

        x->alert_pending = false;
        if (!out)
                return SEC_E_INVALID_TOKEN;
        if (v >= TLS1_VERSION && v < TLS1_2_VERSION)
                rec[2] = (uint8_t) v;
        out->data = malloc(sizeof(rec));
        if (!out->data)
                return SEC_E_INSUFFICIENT_MEMORY;
        out->owned = true;
        out->len = sizeof(rec);
        memcpy(out->data, rec, sizeof(rec));
        if (x->alert_level == TLS1_ALERT_FATAL)
                x->dead = true;
        s->ret_flags = sch_ret_flags(x);
        return SEC_E_OK;
}

/* ASC with ASC_REQ_MUTUAL_AUTH on an established context without a client
 * certificate: TLS 1.3 CertificateRequest (the client offered
 * post_handshake_auth) or a TLS 1.2 HelloRequest (secure renegotiation,
 * RFC 5746, only). The output goes out with this sch_step; the client's answer
 * arrives through DecryptMessage (SEC_I_RENEGOTIATE) and ASC. */
static SECURITY_STATUS request_client_cert(SchCtx *x) {
        int r;

        ERR_clear_error();
        SSL_set_verify(x->ssl, SSL_VERIFY_PEER, verify_cb(x->cred, 0));
        if (SSL_version(x->ssl) >= TLS1_3_VERSION) {
                if (SSL_verify_client_post_handshake(x->ssl) != 1) {
                        sch_log_ssl_errors("post-handshake authentication");
                        return SEC_E_UNSUPPORTED_FUNCTION; /* no post_handshake_auth from the client */
                }
        } else if (!SSL_get_secure_renegotiation_support(x->ssl) ||
                   !(SSL_set_options(x->ssl, SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION), 1) ||
                   SSL_renegotiate(x->ssl) != 1) {
                sch_log_ssl_errors("renegotiation");
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
        x->mutual = true;
        r = SSL_do_handshake(x->ssl);
        if (r <= 0 && SSL_get_error(x->ssl, r) != SSL_ERROR_WANT_READ) {
                x->dead = true;
                return sch_map_ssl_error("request certificate");
        }
        ERR_clear_error();
        return SEC_E_OK;
}

/* A failed sch_step: the alert OpenSSL wrote goes to the SECBUFFER_ALERT slot. */
void sch_flush_alert(SchCtx *x, PkgStep *s) {
        size_t n = BIO_ctrl_pending(x->wbio);
        PkgBuffer *out = sch_find_buffer(s->out, s->n_out, SECBUFFER_ALERT);

        if (n == 0 || !out || out->data)
                return;
        out->data = malloc(n);
        if (!out->data)
                return;
        out->owned = true;
        out->len = (size_t) BIO_read(x->wbio, out->data, (int) n);
        if (x->caller_w)
                (void) sch_caller_out(x, out->data, out->len);
}

/* The unconsumed tail of the input: SECBUFFER_EXTRA in the second slot. */
static void report_extra(PkgStep *s, size_t count) {
        PkgBuffer *slot = sch_find_buffer(s->in, s->n_in, SECBUFFER_EMPTY);

        if (count && slot) {
                slot->type = SECBUFFER_EXTRA;
                slot->count = (uint32_t) count;
        }
}

/* Windows' client flags: always REPLAY_DETECT | SEQUENCE_DETECT |
 * CONFIDENTIALITY | STREAM, plus USED_SUPPLIED_CREDS, MANUAL_CRED_VALIDATION
 * and EXTENDED_ERROR when this call asked for them (0x809c after a handshake
 * asking ISC_REQ_USE_SUPPLIED_CREDS with a SCH_CRED_MANUAL_CRED_VALIDATION
 * credential: Wine's schannel.c test_communication and test_dtls). */
uint32_t sch_ret_flags(const SchCtx *x) {
        if (x->server)
                return ASC_RET_CONFIDENTIALITY | ASC_RET_REPLAY_DETECT | ASC_RET_SEQUENCE_DETECT | ASC_RET_STREAM |
                       (x->mutual && SSL_get0_peer_certificate(x->ssl) ? ASC_RET_MUTUAL_AUTH : 0);
        return ISC_RET_CONFIDENTIALITY | ISC_RET_REPLAY_DETECT | ISC_RET_SEQUENCE_DETECT | ISC_RET_STREAM |
               (x->step_flags & (ISC_REQ_USE_SUPPLIED_CREDS | ISC_REQ_MANUAL_CRED_VALIDATION | ISC_REQ_EXTENDED_ERROR));
}

/* The output descriptor, judged before anything else (Wine's schannel.c
 * test_communication, test_context_output_buffer_size): none at all is
 * SEC_E_INVALID_TOKEN; a TOKEN or ALERT slot without room that the library
 * is not to allocate is SEC_E_INSUFFICIENT_MEMORY. */
static SECURITY_STATUS check_output(const PkgStep *s) {
        if (s->n_out == 0)
                return SEC_E_INVALID_TOKEN;
        for (size_t i = 0; i < s->n_out; i++) {
                uint32_t t = pkg_buffer_base_type(&s->out[i]);
                if ((t == SECBUFFER_TOKEN || t == SECBUFFER_ALERT) && !s->out[i].allocate && s->out[i].cap == 0)
                        return SEC_E_INSUFFICIENT_MEMORY;
        }
        return SEC_E_OK;
}

/* Whether the headers of the records in p[0..len) could be TLS at all: a
 * known content type, major version 3 and a length within RFC 5246 §6.2.3.
 * Bytes that are not (8 KiB of 0xfa, or of zeros) are SEC_E_INVALID_TOKEN
 * at once, not SEC_E_INCOMPLETE_MESSAGE, and leave the handshake as it was
 * (Wine's schannel.c test_communication). */
static bool records_plausible(const uint8_t *p, size_t len) {
        size_t off = 0;

        while (off < len) {
                if (p[off] < 20 || p[off] > 24)
                        return false;
                if (len - off < 2)
                        break;
                if (p[off + 1] != 3)
                        return false;
                if (len - off < TLS_HEADER)
                        break;
                size_t rec = (size_t) p[off + 3] << 8 | p[off + 4];
                /* Only application data may be empty (RFC 5246 §6.2.1). */
                if ((rec == 0 && p[off] != 23) || rec > 16384 + 2048)
                        return false;
                off += TLS_HEADER + rec;
        }
        return true;
}

/* The peer's certificate, judged as Windows would once the handshake ended. */
SECURITY_STATUS sch_check_peer(SchCtx *x) {
        X509 *peer = SSL_get0_peer_certificate(x->ssl);
        SECURITY_STATUS st;

        if (x->server) {
                /* Client certificates are validated against the roots too,
                 * unless the server asked to do it itself. */
                if (!peer || (x->cred->flags & SCH_CRED_MANUAL_CRED_VALIDATION))
                        return SEC_E_OK;
                return sch_map_verify(SSL_get_verify_result(x->ssl));
        }
        /* SCH_CRED_DEFERRED_CRED_VALIDATION: validated, but the verdict
         * goes to SECPKG_ATTR_CERT_CHECK_RESULT, not to the handshake
         * (schannel.h). */
        if ((x->cred->flags & (SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_DEFERRED_CRED_VALIDATION)) ||
            (x->req_flags & ISC_REQ_MANUAL_CRED_VALIDATION))
                return SEC_E_OK;
        if (!peer)
                return SEC_E_CERT_UNKNOWN;
        st = sch_map_verify(SSL_get_verify_result(x->ssl));
        if (st == SEC_E_OK && (x->cred->flags & REVOCATION_FLAGS) &&
            !(x->cred->flags & SCH_CRED_IGNORE_NO_REVOCATION_CHECK))
                st = CRYPT_E_NO_REVOCATION_CHECK; /* no CRL or OCSP fetching here */
        return st;
}

int64_t sch_peer_expiry(SchCtx *x) {
        X509 *peer = SSL_get0_peer_certificate(x->ssl);
        struct tm tm;

        if (peer && ASN1_TIME_to_tm(X509_get0_notAfter(peer), &tm) == 1)
                return filetime_from_unix(timegm(&tm));
        return FILETIME_NEVER;
}

SECURITY_STATUS sch_step(PkgStep *s, bool server) {
        SchCtx *x = s->ctx;
        PkgBuffer *in = sch_find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        PkgBuffer *ap = sch_find_buffer(s->in, s->n_in, SECBUFFER_APPLICATION_PROTOCOLS);
        size_t len = in ? in->len : 0, whole = 0, need = 0, skip = 0;
        const uint8_t *bytes = in ? in->data : NULL;
        SECURITY_STATUS st;
        int r;

        st = check_output(s);
        if (st != SEC_E_OK)
                return st;
        if (!server && (s->req_flags & (ISC_REQ_DELEGATE | ISC_REQ_PROMPT_FOR_CREDS)))
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (!x) {
                if (server && !in)
                        return SEC_E_INVALID_TOKEN;
                /* A server credential without certificate (accepted by
                 * AcquireCredentialsHandle, as on Windows) serves nobody. */
                if (server && !((SchCred *) s->cred)->cert)
                        return SEC_E_NO_CREDENTIALS;
                st = ctx_new(s, server, &x);
                if (st != SEC_E_OK)
                        return st;
                s->ctx = x;
                if (ap) {
                        uint8_t *list = NULL;
                        size_t list_len = 0;
                        st = parse_alpn(ap, &list, &list_len);
                        if (st != SEC_E_OK)
                                return st;
                        if (list && server) {
                                x->alpn = list;
                                x->alpn_len = list_len;
                        } else if (list) {
                                r = SSL_set_alpn_protos(x->ssl, list, (unsigned) list_len);
                                free(list);
                                if (r != 0)
                                        return SEC_E_INSUFFICIENT_MEMORY;
                        }
                }
        }
        s->expiry = FILETIME_NEVER;
        x->step_flags = s->req_flags;

        if (x->alert_pending)
                return send_alert(x, s);
        if (x->dead && !x->done)
                return SEC_E_CONTEXT_EXPIRED; /* the handshake failed or was ended by an alert */
        if (x->dtls)
                return sch_dtls_step(x, s, server);

        /* After the handshake: shutdown, the caller's answer to
         * SEC_I_RENEGOTIATE (OpenSSL already took the post-handshake
         * message in DecryptMessage; whatever it wrote in reply goes out
         * now, and the input goes back untouched as EXTRA), or a server
         * asking for a client certificate. A renegotiation that needs the
         * caller (a certificate, more records) runs as a handshake below. */
        if (x->done && !x->reneg) {
                bool answer = x->post_msg;
                x->post_msg = false;
                if (server && !answer && !len && !x->shutdown && !x->dead &&
                    ((s->req_flags & ASC_REQ_MUTUAL_AUTH) || x->want_reneg) && !SSL_get0_peer_certificate(x->ssl)) {
                        x->want_reneg = false;
                        st = request_client_cert(x);
                        if (st != SEC_E_OK)
                                return st;
                }
                if (x->shutdown) {
                        x->shutdown = false;
                        ERR_clear_error();
                        if (!x->dead)
                                (void) SSL_shutdown(x->ssl);
                        ERR_clear_error();
                        x->dead = true;
                }
                /* A KeyUpdate the peer asked for waits for our next write in
                 * OpenSSL: send it now, with this sch_step's output. */
                if (!x->dead && SSL_version(x->ssl) >= TLS1_3_VERSION &&
                    SSL_get_key_update_type(x->ssl) != SSL_KEY_UPDATE_NONE) {
                        ERR_clear_error();
                        if (SSL_key_update(x->ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1 || SSL_do_handshake(x->ssl) != 1) {
                                x->dead = true;
                                return sch_map_ssl_error("key update");
                        }
                }
                st = flush_output(x, s);
                if (st != SEC_E_OK)
                        return st;
                report_extra(s, len);
                s->ret_flags = sch_ret_flags(x);
                s->expiry = sch_peer_expiry(x);
                return SEC_E_OK;
        }

        bool fresh = !x->started;
        x->started = true;
        /* After SEC_I_INCOMPLETE_CREDENTIALS the caller gives the same
         * bytes again: OpenSSL has them already. */
        if (x->resupplied && len >= x->resupplied) {
                skip = x->resupplied;
                bytes += skip;
                len -= skip;
        }
        x->resupplied = 0;

        /* A credential with a certificate on a later leg (the answer to
         * SEC_I_INCOMPLETE_CREDENTIALS) supplies the client certificate;
         * calling again without one carries on without. A certificate
         * request after the handshake is first answered with
         * SEC_I_INCOMPLETE_CREDENTIALS (the input stays the caller's). */
        if (!server && s->leg_cred && ((SchCred *) s->leg_cred)->cert && !x->leg_cert) {
                SchCred *nc = s->leg_cred;
                X509_up_ref(nc->cert);
                EVP_PKEY_up_ref(nc->key);
                x->leg_x509 = nc->cert;
                x->leg_key = nc->key;
                x->leg_cert = true;
        } else if (!server && SSL_want_x509_lookup(x->ssl)) {
                if (x->reneg && !x->asked_cred) {
                        x->asked_cred = true;
                        st = flush_output(x, s);
                        if (st != SEC_E_OK)
                                return st;
                        s->ret_flags = sch_ret_flags(x);
                        return SEC_I_INCOMPLETE_CREDENTIALS;
                }
                x->skip_client_cert = true;
        }

        if (in && len && !records_plausible(bytes, len)) {
                s->clear_output = true;
                s->ret_flags = sch_ret_flags(x);
                return SEC_E_INVALID_TOKEN;
        }
        if (in && len) {
                whole = sch_whole_records(bytes, len, &need);
                if (whole == 0) {
                        PkgBuffer *slot = sch_find_buffer(s->in, s->n_in, SECBUFFER_EMPTY);
                        if (slot) {
                                slot->type = SECBUFFER_MISSING;
                                slot->count = (uint32_t) need;
                        }
                        return SEC_E_INCOMPLETE_MESSAGE;
                }
                /* A renegotiation's records under the keys the library
                 * holds: OpenSSL's numbers. */
                if (x->caller_r) {
                        st = sch_caller_in(x, in->data + skip, whole);
                        if (st != SEC_E_OK)
                                return st;
                }
                if (BIO_write(x->rbio, bytes, (int) whole) != (int) whole)
                        return SEC_E_INSUFFICIENT_MEMORY;
                x->fed = true;
        } else if (!x->reneg && (server || (!fresh && !SSL_want_x509_lookup(x->ssl)))) {
                /* A later leg without bytes: more are needed. */
                PkgBuffer *slot = sch_find_buffer(s->in, s->n_in, SECBUFFER_EMPTY);
                if (slot) {
                        slot->type = SECBUFFER_MISSING;
                        slot->count = TLS_HEADER;
                }
                return SEC_E_INCOMPLETE_MESSAGE;
        }

        ERR_clear_error();
        r = SSL_do_handshake(x->ssl);
        if (r == 1) {
                size_t left = BIO_ctrl_pending(x->rbio);
                /* Idle established contexts keep no 34 KiB record buffers;
                 * during the handshake they stay (freeing and taking them
                 * back on every leg cost more than the legs' hashing). */
                SSL_set_mode(x->ssl, SSL_MODE_RELEASE_BUFFERS);
                x->done = true;
                x->reneg = false;
                x->asked_cred = false;
                st = sch_check_peer(x);
                if (st != SEC_E_OK)
                        return st;
                if (!server && x->cred->n_rules) {
                        /* The client's ALPN-scoped TLS_PARAMETERS, now that the
                         * protocol is sch_known. */
                        const unsigned char *sel = NULL;
                        unsigned n = 0;
                        SSL_get0_alpn_selected(x->ssl, &sel, &n);
                        if (n && !sch_alpn_allowed(x->cred, x->ssl, SSL_get_current_cipher(x->ssl), false, sel, n)) {
                                x->dead = true;
                                return SEC_E_ALGORITHM_MISMATCH;
                        }
                }
                /* Bytes after the last handshake record are the caller's
                 * (application data): they go back as EXTRA. */
                if (left)
                        (void) BIO_reset(x->rbio);
                st = flush_output(x, s);
                if (st != SEC_E_OK)
                        return st;
                report_extra(s, left + (len - whole));
                s->ret_flags = sch_ret_flags(x);
                s->expiry = sch_peer_expiry(x);
                return SEC_E_OK;
        }
        switch (SSL_get_error(x->ssl, r)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
                if (BIO_ctrl_pending(x->wbio))
                        x->legs++;
                st = flush_output(x, s);
                if (st != SEC_E_OK)
                        return st;
                report_extra(s, len - whole);
                s->ret_flags = sch_ret_flags(x);
                return SEC_I_CONTINUE_NEEDED;
        case SSL_ERROR_WANT_X509_LOOKUP:
                st = flush_output(x, s);
                if (st != SEC_E_OK)
                        return st;
                x->resupplied = skip + whole;
                x->asked_cred = true;

                s->ret_flags = sch_ret_flags(x);
                return SEC_I_INCOMPLETE_CREDENTIALS;
        default:
                x->dead = true;
                if ((SSL_get_verify_mode(x->ssl) & SSL_VERIFY_PEER) && SSL_get_verify_result(x->ssl) != X509_V_OK) {

                        /* OpenSSL sent the alert; the status says why. */
                        st = sch_map_verify(SSL_get_verify_result(x->ssl));
                        sch_log_ssl_errors(server ? "accept" : "connect");
                } else
                        st = sch_map_ssl_error(server ? "accept" : "connect");
                if (x->alpn_refused)
                        st = SEC_E_ALGORITHM_MISMATCH; /* ALPN-scoped TLS_PARAMETERS */
                sch_flush_alert(x, s);
                return st;
        }
}

SECURITY_STATUS sch_init(PkgStep *s) {
        return sch_step(s, false);
}

SECURITY_STATUS sch_accept(PkgStep *s) {
        return sch_step(s, true);
}

bool sch_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        SchCtx *x = ctx;
        /* Handshake legs sign, verify and agree keys; after it, a sch_step only
         * flushes what OpenSSL already wrote. The last leg of a TLS 1.3
         * server without client authentication only checks the client's
         * Finished and issues tickets: symmetric work, run inline. */
        if (x && x->server && x->legs >= 1 && !x->mutual && SSL_version(x->ssl) == TLS1_3_VERSION &&
            !SSL_in_before(x->ssl))
                return false;
        return !x || !x->done || x->reneg;

}
