/* SPDX-License-Identifier: MIT */
/*
 * TLS records: EncryptMessage / DecryptMessage (one record at a time, in
 * place, SECBUFFER_EXTRA for the rest); sign/verify are not supported.
 */
#include "packages/schannel/schannel-private.h"

/* ---- records ---- */

/* Bytes before and after the plaintext in one record of this connection. */
void sch_record_overhead(SchCtx *x, uint32_t *ret_header, uint32_t *ret_trailer, uint32_t *ret_block) {
        const SSL_CIPHER *ci = SSL_get_current_cipher(x->ssl);
        int version = SSL_version(x->ssl);

        *ret_header = x->dtls ? DTLS_HEADER : TLS_HEADER;
        *ret_trailer = 16;
        *ret_block = 1;
        if (!ci)
                return;
        if (!x->dtls && version >= TLS1_3_VERSION) {
                *ret_trailer = 17; /* inner content type + AEAD tag */
                return;
        }
        if (SSL_CIPHER_is_aead(ci)) {
                int nid = SSL_CIPHER_get_cipher_nid(ci);
                if (nid != NID_chacha20_poly1305)
                        *ret_header += 8; /* explicit nonce */
                *ret_trailer = 16;
                return;
        }
        /* CBC: explicit IV in front, MAC and up to a block of padding after. */
        *ret_header += 16;
        *ret_block = 16;
        *ret_trailer = (uint32_t) EVP_MD_get_size(SSL_CIPHER_get_handshake_digest(ci)) + 16;
}

SECURITY_STATUS sch_seal(void *p, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        SchCtx *x = p;
        PkgBuffer *hdr = sch_find_buffer(b, n, SECBUFFER_STREAM_HEADER), *data = sch_find_buffer(b, n, SECBUFFER_DATA);
        PkgBuffer *trl = sch_find_buffer(b, n, SECBUFFER_STREAM_TRAILER);
        uint32_t h, t, blk;
        size_t got;
        int r;

        if (!hdr && !trl) {
                /* The TOKEN / DATA / TOKEN form. */
                for (size_t i = 0; i < n; i++)
                        if (pkg_buffer_base_type(&b[i]) == SECBUFFER_TOKEN) {
                                if (!hdr)
                                        hdr = &b[i];
                                else if (!trl)
                                        trl = &b[i];
                        }
        }
        if (x->dead || !x->done || x->reneg)
                return SEC_E_CONTEXT_EXPIRED;
        if (!hdr || !data || !trl)
                return SEC_E_INVALID_TOKEN;
        if (data->len > TLS_MAX_PLAINTEXT)
                return SEC_E_INVALID_PARAMETER;
        sch_record_overhead(x, &h, &t, &blk);
        if (hdr->cap < h || trl->cap < t)
                return SEC_E_BUFFER_TOO_SMALL;
        if (data->len == 0) {
                hdr->len = trl->len = 0;
                return SEC_E_OK;
        }
        ERR_clear_error();
        sch_dtls_clock_enter(x);
        r = SSL_write(x->ssl, data->data, (int) data->len);
        sch_dtls_clock_leave();
        if (r <= 0) {
                x->dead = true;
                return sch_map_ssl_error("encrypt");
        }
        got = BIO_ctrl_pending(x->wbio);
        if (got < h + data->len || got - h - data->len > trl->cap) {
                (void) BIO_reset(x->wbio);
                x->dead = true;
                return SEC_E_INTERNAL_ERROR;
        }
        if (x->caller_w) {
                /* The library's record numbers (caller mode, its calls
                 * handed here): the record whole, re-numbered, then split. */
                uint8_t *rec = malloc(got);
                SECURITY_STATUS cst = SEC_E_INSUFFICIENT_MEMORY;
                if (rec && BIO_read(x->wbio, rec, (int) got) == (int) got &&
                    (cst = sch_caller_out(x, rec, got)) == SEC_E_OK) {
                        memcpy(hdr->data, rec, h);
                        memcpy(data->data, rec + h, data->len);
                        memcpy(trl->data, rec + h + data->len, got - h - data->len);
                }
                free(rec);
                (void) BIO_reset(x->wbio);
                if (cst != SEC_E_OK) {
                        x->dead = true;
                        return cst;
                }
                hdr->len = h;
                trl->len = got - h - data->len;
                return SEC_E_OK;
        }
        /* The record straight into the caller's three buffers. */
        if (BIO_read(x->wbio, hdr->data, (int) h) != (int) h ||
            BIO_read(x->wbio, data->data, (int) data->len) != (int) data->len ||
            BIO_read(x->wbio, trl->data, (int) (got - h - data->len)) != (int) (got - h - data->len))
                return SEC_E_INTERNAL_ERROR;
        hdr->len = h;
        trl->len = got - h - data->len;
        return SEC_E_OK;
}

/* A record that gave no application data (a post-handshake message or
 * close_notify): Windows still lays the record out as HEADER, an empty DATA
 * right after the header, and TRAILER for the rest (Wine's schannel.c
 * test_communication: a 33-byte TLS 1.2 GCM HelloRequest gives 13 / 0 /
 * 20), then EXTRA; curl reads DATA and EXTRA on these statuses too. */
static void layout_record(PkgBuffer *data, PkgBuffer *slots[3], size_t h, size_t m, size_t rec, size_t total) {
        data->type = SECBUFFER_STREAM_HEADER;
        data->has_offset = true;
        data->offset = 0;
        data->len = h;
        slots[0]->type = SECBUFFER_DATA;
        slots[0]->has_offset = true;
        slots[0]->offset = (uint32_t) h;
        slots[0]->data = m ? data->data + h : NULL;
        slots[0]->len = m;
        slots[1]->type = SECBUFFER_STREAM_TRAILER;
        slots[1]->has_offset = true;
        slots[1]->offset = (uint32_t) (h + m);
        slots[1]->len = rec - h - m;
        if (total > rec) {
                slots[2]->type = SECBUFFER_EXTRA;
                slots[2]->has_offset = true;
                slots[2]->offset = (uint32_t) rec;
                slots[2]->count = (uint32_t) (total - rec);
        }
        data->data = NULL;
}

/* DTLS: one datagram in DATA, its first record decrypted in place (the
 * rest, if any, as EXTRA). A datagram that is not a whole DTLS record is
 * SEC_E_INVALID_TOKEN; a record seen before SEC_E_OUT_OF_SEQUENCE; one
 * that fails authentication SEC_E_DECRYPT_FAILURE. None of them ends the
 * context: a datagram transport drops bad records (RFC 6347 4.1.2.7). */
static SECURITY_STATUS dtls_unseal(SchCtx *x, PkgBuffer *data, PkgBuffer *slots[3]) {
        const uint8_t *p = data->data;
        uint32_t h, t, blk;
        size_t rec;
        int r, err;

        if (data->len < DTLS_HEADER || p[0] < 20 || p[0] > 23 || p[1] != 0xfe)
                return SEC_E_INVALID_TOKEN;
        rec = DTLS_HEADER + ((size_t) p[11] << 8 | p[12]);
        if (rec > data->len || rec > TLS_MAX_RECORD + DTLS_HEADER)
                return SEC_E_INVALID_TOKEN; /* truncated: a datagram gets no more bytes */
        if (sch_dtls_replayed(x, p))
                return SEC_E_OUT_OF_SEQUENCE;
        (void) BIO_reset(x->rbio);
        if (BIO_write(x->rbio, p, (int) rec) != (int) rec)
                return SEC_E_INSUFFICIENT_MEMORY;
        sch_record_overhead(x, &h, &t, &blk);
        if (h > rec)
                h = DTLS_HEADER;
        uint8_t hdr[DTLS_HEADER];
        memcpy(hdr, p, DTLS_HEADER);
        ERR_clear_error();
        sch_dtls_clock_enter(x);
        r = SSL_read(x->ssl, data->data + h, (int) (rec - h));
        sch_dtls_clock_leave();
        (void) BIO_reset(x->rbio);
        if (r > 0) {
                sch_dtls_mark(x, hdr);
                layout_record(data, slots, h, (size_t) r, rec, data->len);
                return SEC_E_OK;
        }
        err = SSL_get_error(x->ssl, r);
        switch (err) {
        case SSL_ERROR_ZERO_RETURN:
                x->dead = true;
                x->peer_closed = true;
                x->closing = false;
                layout_record(data, slots, h, 0, rec, data->len);
                return SEC_I_CONTEXT_EXPIRED;
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
                if (hdr[0] == 22 && BIO_ctrl_pending(x->wbio)) {
                        /* The peer sent its last flight again (ours was
                         * lost): OpenSSL's answer goes out through ISC/ASC. */
                        x->post_msg = true;
                        layout_record(data, slots, h, 0, rec, data->len);
                        return SEC_I_RENEGOTIATE;
                }
                if (hdr[0] == 23)
                        return SEC_E_DECRYPT_FAILURE; /* dropped by OpenSSL: it did not authenticate */
                layout_record(data, slots, h, 0, rec, data->len);
                return SEC_E_OK; /* a duplicate handshake record or a warning alert: no data */
        default:
                x->dead = true;
                return sch_map_ssl_error("dtls decrypt");
        }
}

SECURITY_STATUS sch_unseal(void *p, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        SchCtx *x = p;
        PkgBuffer *data = NULL, *slots[3] = { NULL };
        size_t n_slots = 0, n_data = 0, rec, need;
        uint32_t h, t, blk;
        int r, err;

        /* Exactly one DATA buffer and three EMPTY ones for the layout
         * (Wine's schannel.c test_communication: too few buffers, no DATA,
         * two DATA, an EXTRA instead of an EMPTY: SEC_E_INVALID_TOKEN). */
        for (size_t i = 0; i < n; i++) {
                uint32_t type = pkg_buffer_base_type(&b[i]);
                if (type == SECBUFFER_DATA && n_data++ == 0)
                        data = &b[i];
                else if (type == SECBUFFER_EMPTY && n_slots < 3)
                        slots[n_slots++] = &b[i];
        }
        if (!data || n_data > 1 || n_slots < 3)
                return SEC_E_INVALID_TOKEN;
        if (!x->done || x->reneg)
                return SEC_E_CONTEXT_EXPIRED; /* a renegotiation waits for ISC/ASC */
        /* After our own close_notify the peer's records still come in,
         * up to its close_notify; after anything else nothing does. */
        if (x->dead && !(x->closing && !x->peer_closed && (SSL_get_shutdown(x->ssl) & SSL_SENT_SHUTDOWN)))
                return SEC_E_CONTEXT_EXPIRED;
        if (x->dtls)
                return dtls_unseal(x, data, slots);
        if (sch_whole_records(data->data, data->len, &need) == 0) {
                /* Nothing is consumed: the DATA buffer itself says how many
                 * bytes are missing (Wine's schannel.c test_communication:
                 * a record 5 bytes short makes buffer 0 SECBUFFER_MISSING,
                 * cbBuffer 5); the caller reads more and calls again. */
                data->type = SECBUFFER_MISSING;
                data->count = (uint32_t) need;
                return SEC_E_INCOMPLETE_MESSAGE;
        }
        rec = TLS_HEADER + ((size_t) data->data[3] << 8 | data->data[4]);
        if (rec > TLS_MAX_RECORD) {
                x->dead = true;
                return SEC_E_ILLEGAL_MESSAGE;
        }
        /* A record the library read past (caller mode): OpenSSL's number. */
        if (x->caller_r) {
                SECURITY_STATUS cst = sch_caller_in(x, data->data, rec);
                if (cst != SEC_E_OK)
                        return cst;
        }
        if (BIO_write(x->rbio, data->data, (int) rec) != (int) rec)
                return SEC_E_INSUFFICIENT_MEMORY;
        sch_record_overhead(x, &h, &t, &blk);
        if (h > rec)
                h = TLS_HEADER;
        ERR_clear_error();
        /* Decrypt in place: the plaintext lands right after the header. */
        r = SSL_read(x->ssl, data->data + h, (int) (rec - h));
        if (r > 0) {
                x->post_msg = false; /* a SEC_I_RENEGOTIATE left unanswered */
                layout_record(data, slots, h, (size_t) r, rec, data->len);
                return SEC_E_OK;
        }
        err = SSL_get_error(x->ssl, r);
        switch (err) {
        case SSL_ERROR_ZERO_RETURN:
                /* close_notify: no more records from the peer; ours may
                 * still go out (ApplyControlToken(SCHANNEL_SHUTDOWN)). */
                x->dead = true;
                x->peer_closed = true;
                x->closing = false;
                layout_record(data, slots, h, 0, rec, data->len);
                return SEC_I_CONTEXT_EXPIRED;
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
        case SSL_ERROR_WANT_X509_LOOKUP:
                /* A post-handshake message (NewSessionTicket, KeyUpdate, a
                 * certificate request, HelloRequest, a renegotiating
                 * ClientHello): no plaintext. Those that start a handshake,
                 * or whose answer waits in OpenSSL, make the caller run
                 * ISC/ASC before any more records. */
                x->post_msg = true;
                if (SSL_in_init(x->ssl) || BIO_ctrl_pending(x->wbio) || err == SSL_ERROR_WANT_X509_LOOKUP) {
                        x->reneg = true;
                        x->asked_cred = false;
                        x->skip_client_cert = false;
                }
                layout_record(data, slots, h, 0, rec, data->len);
                return SEC_I_RENEGOTIATE;
        default:
                /* A bad record MAC is fatal in TLS (RFC 5246 7.2.2, RFC
                 * 8446 6.2): SEC_E_DECRYPT_FAILURE as Windows says it
                 * (curl issues 9879, 15024), and the context is done. */
                x->dead = true;
                x->closing = false;
                /* TLS 1.2's AEAD failure queues the cipher's error first. */
                if (ERR_GET_LIB(ERR_peek_last_error()) == ERR_LIB_SSL &&
                    ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC) {
                        sch_log_ssl_errors("decrypt");
                        return SEC_E_DECRYPT_FAILURE;
                }
                return sch_map_ssl_error("decrypt");
        }
}

SECURITY_STATUS sch_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        return SEC_E_UNSUPPORTED_FUNCTION;
}

SECURITY_STATUS sch_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        return SEC_E_UNSUPPORTED_FUNCTION;
}

/*
 * ExportSecurityContext (issue 17): a TLS connection lives inside OpenSSL
 * (cipher states, sequence numbers, buffered records) and OpenSSL cannot
 * serialise it, so the connection itself moves to the export store and on
 * to the importer. Windows' Schannel exports only a connected context
 * (SEC_E_CONTEXT_EXPIRED before) and copies it; here the
 * exporter's handle goes whatever the flags, since two processes writing
 * records under one key and one sequence number would reuse AEAD nonces.
 */
SECURITY_STATUS sch_export_live(void *p, bool keep_old, void **ret_live, bool *ctx_consumed) {
        SchCtx *x = p;

        (void) keep_old;
        *ctx_consumed = false;
        if (!x || !x->done || x->reneg)
                return SEC_E_CONTEXT_EXPIRED;
        *ret_live = x;
        *ctx_consumed = true;
        return SEC_E_OK;
}

/* The session cache keys entries by the process that made them: a ticket
 * the importer receives is its own. */
void sch_import_moved(void *p, const Caller *caller) {
        SchCtx *x = p;

        x->pid = caller->pid;
        x->uid = caller->uid;
}

/* SCHANNEL_SESSION: whether this connection's session may be resumed. A
 * client drops (or keeps again) its cache entry for the target; a server
 * takes the connection's sessions out of its cache (or puts them back). */
