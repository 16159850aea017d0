/* SPDX-License-Identifier: MIT */
/*
 * Kerberos message protection: MakeSignature/VerifySignature (MIC) and
 * EncryptMessage/DecryptMessage (wrap, IOV and stream forms).
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-private.h"

/* ---- message protection ------------------------------------------------------- */

/* Buffers covered by a checksum: DATA that the caller lets us touch and
 * anything marked READONLY_WITH_CHECKSUM; plain READONLY ones are not. */
static bool buffer_is_signed(const PkgBuffer *b) {
        if (b->type & SECBUFFER_READONLY_WITH_CHECKSUM)
                return true;
        return pkg_buffer_base_type(b) == SECBUFFER_DATA && !(b->type & SECBUFFER_READONLY);
}

/* The signed buffers back to back, as RFC 4121 MICs cover one message. */
static SECURITY_STATUS concat_signed(PkgBuffer *b, size_t n, gss_buffer_t msg) {
        size_t total = 0, off = 0;
        uint8_t *p;

        for (size_t i = 0; i < n; i++)
                if (buffer_is_signed(&b[i]))
                        total += b[i].len;
        p = malloc(total ? total : 1);
        if (!p)
                return SEC_E_INSUFFICIENT_MEMORY;
        for (size_t i = 0; i < n; i++)
                if (buffer_is_signed(&b[i]) && b[i].len) {
                        memcpy(p + off, b[i].data, b[i].len);
                        off += b[i].len;
                }
        msg->value = p;
        msg->length = total;
        return SEC_E_OK;
}

SECURITY_STATUS kerberos_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        KrbCtx *c = ctx;
        PkgBuffer *tok;
        gss_buffer_desc msg, mic = GSS_C_EMPTY_BUFFER;
        OM_uint32 major, minor;
        SECURITY_STATUS st;

        (void) seq_no; /* Kerberos keeps its own sequence numbers */
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (qop != 0)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = krb_find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok)
                return SEC_E_INVALID_TOKEN;
        /* Refuse a short token buffer before gss_get_mic() spends a
         * sequence number on a signature that could not be delivered. */
        if (!c->have_sizes) {
                st = krb_compute_sizes(c);
                if (st != SEC_E_OK)
                        return st;
        }
        if (tok->cap < c->sizes.cbMaxSignature)
                return SEC_E_BUFFER_TOO_SMALL;
        st = concat_signed(b, n, &msg);
        if (st != SEC_E_OK)
                return st;
        major = gss_get_mic(&minor, c->gss, GSS_C_QOP_DEFAULT, &msg, &mic);
        explicit_bzero(msg.value, msg.length);
        free(msg.value);
        if (GSS_ERROR(major))
                return krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_get_mic");
        if (mic.length > tok->cap) {
                (void) gss_release_buffer(&minor, &mic);
                return SEC_E_BUFFER_TOO_SMALL;
        }
        memcpy(tok->data, mic.value, mic.length);
        tok->len = mic.length;
        (void) gss_release_buffer(&minor, &mic);
        return SEC_E_OK;
}

/*
 * The length of the MIC token at the start of a SECBUFFER_STREAM (the
 * token MakeSignature gave, then the data): an RFC 4121 MIC is the 16-byte
 * header and the checksum (cbMaxSignature); an RFC 1964/4757 one carries
 * its DER length. 0 when neither.
 */
static size_t mic_length(KrbCtx *c, const uint8_t *p, size_t len) {
        if (len >= 2 && p[0] == 0x04 && p[1] == 0x04) {
                if (!c->have_sizes && krb_compute_sizes(c) != SEC_E_OK)
                        return 0;
                return c->sizes.cbMaxSignature;
        }
        if (len < 2 || p[0] != 0x60)
                return 0;
        if (p[1] < 0x80)
                return 2 + (size_t) p[1];
        if (p[1] == 0x81 && len >= 3)
                return 3 + (size_t) p[2];
        if (p[1] == 0x82 && len >= 4)
                return 4 + ((size_t) p[2] << 8 | p[3]);
        return 0;
}

SECURITY_STATUS kerberos_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        KrbCtx *c = ctx;
        PkgBuffer *tok, *stream, *data = NULL;
        gss_buffer_desc msg, mic;
        gss_qop_t qop = 0;
        OM_uint32 major, minor;
        SECURITY_STATUS st;
        size_t mlen = 0;

        (void) seq_no;
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        c->recv_unknown = true; /* the receive window may move */
        tok = krb_find_buffer(b, n, SECBUFFER_TOKEN);
        stream = krb_find_buffer(b, n, SECBUFFER_STREAM);
        if (stream) {
                /* .NET's NegotiateStream reads sign-only messages this way. */
                data = krb_find_buffer(b, n, SECBUFFER_DATA);
                if (tok || !data || data->type != SECBUFFER_DATA)
                        return SEC_E_INVALID_TOKEN;
                mlen = mic_length(c, stream->data, stream->len);
                if (mlen == 0 || mlen > stream->len)
                        return SEC_E_INVALID_TOKEN;
                mic.value = stream->data;
                mic.length = mlen;
                msg.value = stream->data + mlen;
                msg.length = stream->len - mlen;
        } else {
                if (!tok || tok->len == 0)
                        return SEC_E_INVALID_TOKEN;
                st = concat_signed(b, n, &msg);
                if (st != SEC_E_OK)
                        return st;
                mic.value = tok->data;
                mic.length = tok->len;
        }
        st = krb_precheck_mic(c, msg.value, msg.length, mic.value, mic.length);
        if (st == SEC_E_OK) {
                major = gss_verify_mic(&minor, c->gss, &msg, &mic, &qop);
                /* Supplementary bits alone (duplicate, gap...) are failures
                 * too: SSPI has no "valid but out of order" answer. */
                if (major != GSS_S_COMPLETE)
                        st = krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_verify_mic");
        }
        if (!stream) {
                explicit_bzero(msg.value, msg.length);
                free(msg.value);
        }
        if (st != SEC_E_OK)
                return st;
        if (stream) {
                /* DATA now points at the data part of the caller's stream. */
                data->has_offset = data->has_base = true;
                data->base = (uint32_t) (stream - b);
                data->offset = (uint32_t) mlen;
                data->data = NULL;
                data->len = stream->len - mlen;
        }
        if (ret_qop)
                *ret_qop = 0;
        return SEC_E_OK;
}

/*
 * The Windows layout on GSS IOVs: the first SECBUFFER_TOKEN is the HEADER
 * (there is no TRAILER buffer, so Heimdal's RFC 4121 code rotates the
 * trailer into the header, RRC, exactly as Windows lays it out), DATA
 * buffers are encrypted in place, READONLY_WITH_CHECKSUM ones are
 * SIGN_ONLY, the first SECBUFFER_PADDING is PADDING, everything else is
 * left alone. `pad_ok` false passes padding as EMPTY (RFC 4121 never pads
 * and refuses a non-empty padding buffer on unwrap).
 */
static SECURITY_STATUS build_iov(PkgBuffer *b, size_t n, gss_iov_buffer_desc *iov, bool pad_ok, size_t *ret_data,
                                 PkgBuffer **ret_token, PkgBuffer **ret_pad) {
        PkgBuffer *tok = NULL, *pad = NULL;
        size_t n_data = 0;

        for (size_t i = 0; i < n; i++) {
                uint32_t base = pkg_buffer_base_type(&b[i]);

                iov[i].type = GSS_IOV_BUFFER_TYPE_EMPTY;
                iov[i].buffer.value = b[i].data;
                iov[i].buffer.length = b[i].len;
                if (base == SECBUFFER_DATA)
                        n_data++;
                if (base == SECBUFFER_TOKEN && !tok) {
                        tok = &b[i];
                        iov[i].type = GSS_IOV_BUFFER_TYPE_HEADER;
                } else if (base == SECBUFFER_PADDING && !pad) {
                        pad = &b[i];
                        if (pad_ok)
                                iov[i].type = GSS_IOV_BUFFER_TYPE_PADDING;
                } else if (b[i].type & SECBUFFER_READONLY_WITH_CHECKSUM) {
                        iov[i].type = GSS_IOV_BUFFER_TYPE_SIGN_ONLY;
                } else if (base == SECBUFFER_DATA && !(b[i].type & SECBUFFER_READONLY)) {
                        iov[i].type = GSS_IOV_BUFFER_TYPE_DATA;
                }
        }
        if (!tok || n_data == 0)
                return SEC_E_INVALID_TOKEN;
        *ret_data = n_data;
        *ret_token = tok;
        *ret_pad = pad;
        return SEC_E_OK;
}

SECURITY_STATUS kerberos_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        KrbCtx *c = ctx;
        gss_iov_buffer_desc *iov;
        PkgBuffer *tok, *pad;
        size_t n_data, hdr_idx, pad_idx = SIZE_MAX;
        int conf;
        OM_uint32 major, minor;
        SECURITY_STATUS st;

        (void) seq_no;
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (qop == 0)
                conf = 1;
        else if (qop == SECQOP_WRAP_NO_ENCRYPT)
                conf = 0;
        else
                return SEC_E_QOP_NOT_SUPPORTED;
        iov = calloc(n ? n : 1, sizeof(*iov));
        if (!iov)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = build_iov(b, n, iov, !(c->gss_flags & GSS_C_DCE_STYLE), &n_data, &tok, &pad);
        if (st != SEC_E_OK)
                goto out;
        hdr_idx = (size_t) (tok - b);
        if (pad)
                pad_idx = (size_t) (pad - b);

        /* Size first, so a short buffer fails before a sequence number is
         * spent. */
        iov[hdr_idx].buffer.length = 0;
        if (pad_idx != SIZE_MAX)
                iov[pad_idx].buffer.length = 0;
        major = gss_wrap_iov_length(&minor, c->gss, conf, GSS_C_QOP_DEFAULT, NULL, iov, (int) n);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_wrap_iov_length");
                goto out;
        }
        if (iov[hdr_idx].buffer.length > tok->cap ||
            (pad_idx != SIZE_MAX && iov[pad_idx].buffer.length > pad->cap)) {
                st = SEC_E_BUFFER_TOO_SMALL;
                goto out;
        }
        iov[hdr_idx].buffer.value = tok->data;
        iov[hdr_idx].buffer.length = tok->cap;
        if (pad_idx != SIZE_MAX && iov[pad_idx].buffer.length == 0) {
                /* No padding needed (RFC 4121 never pads, EC fills; DCE
                 * style has none): the caller's PADDING buffer comes back
                 * with cbBuffer 0. Heimdal refuses any padding buffer in
                 * DCE style, which DCE/RPC callers pass: it never sees it. */
                iov[pad_idx].type = GSS_IOV_BUFFER_TYPE_EMPTY;
        } else if (pad_idx != SIZE_MAX) {
                iov[pad_idx].buffer.value = pad->data;
                iov[pad_idx].buffer.length = pad->cap;
        }
        major = gss_wrap_iov(&minor, c->gss, conf, GSS_C_QOP_DEFAULT, NULL, iov, (int) n);
        if (GSS_ERROR(major)) {
                st = krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_wrap_iov");
                goto out;
        }
        tok->len = iov[hdr_idx].buffer.length;
        if (pad_idx != SIZE_MAX)
                pad->len = iov[pad_idx].type == GSS_IOV_BUFFER_TYPE_EMPTY ? 0 : iov[pad_idx].buffer.length;
        st = SEC_E_OK;
out:
        free(iov);
        return st;
}

/*
 * Where the plaintext of the wrap token `p` lay in it, so that the
 * caller's DATA buffer points there as on Windows, which decrypts in
 * place. RFC 4121: the body after the 16-byte header is rotated right by
 * RRC, and the data starts the unrotated body (after a 16-byte confounder
 * when sealed: every RFC 4121 enctype has 16-byte blocks); Windows' own
 * tokens rotate so that the data ends the token. RFC 4757 (RC4): the data
 * and one byte of padding end the token. Read before gss_unwrap(), which
 * unrotates in place.
 */
static size_t stream_data_offset(const uint8_t p[static 16], size_t len, size_t plain) {
        size_t off = len >= plain + 1 ? len - plain - 1 : 0;

        if (len >= 16 && p[0] == 0x05 && p[1] == 0x04) {
                size_t body = len - 16, rrc = (size_t) p[6] << 8 | p[7], pos;

                pos = body ? ((p[2] & 0x02 ? 16 : 0) + rrc) % body : 0;
                off = pos + plain <= body ? 16 + pos : 16;
        }
        return off + plain <= len ? off : len - plain;
}

/* DecryptMessage with one SECBUFFER_STREAM holding the whole wrap token
 * and one SECBUFFER_DATA: the plaintext goes back into the caller's stream
 * and DATA points at it. */
static SECURITY_STATUS unseal_stream(KrbCtx *c, PkgBuffer *stream, PkgBuffer *b, size_t n, uint32_t *ret_qop) {
        PkgBuffer *data = krb_find_buffer(b, n, SECBUFFER_DATA);
        gss_buffer_desc in = { stream->len, stream->data }, out = GSS_C_EMPTY_BUFFER;
        gss_qop_t qop = 0;
        int conf = 0;
        OM_uint32 major, minor, junk;
        uint8_t head[16] = { 0 };
        SECURITY_STATUS st;

        /* The plaintext goes into the stream: a read-only one is refused
         * before gss_unwrap() spends its sequence number. */
        if (!data || data->type != SECBUFFER_DATA || stream->type != SECBUFFER_STREAM ||
            krb_find_buffer(b, n, SECBUFFER_TOKEN))
                return SEC_E_INVALID_TOKEN;
        st = krb_precheck_wrap(c, stream->data, stream->len);
        if (st != SEC_E_OK)
                return st;
        memcpy(head, stream->data, stream->len < sizeof(head) ? stream->len : sizeof(head));
        major = gss_unwrap(&minor, c->gss, &in, &out, &conf, &qop);
        if (major != GSS_S_COMPLETE) {
                (void) gss_release_buffer(&junk, &out);
                return krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_unwrap");
        }
        if (out.length > stream->len) {
                (void) gss_release_buffer(&junk, &out);
                return SEC_E_INTERNAL_ERROR;
        }
        if (data->owned)
                free(data->data);
        data->has_offset = data->has_base = true;
        data->base = (uint32_t) (stream - b);
        data->offset = (uint32_t) stream_data_offset(head, stream->len, out.length);
        data->data = out.value;
        data->len = out.length;
        data->owned = true;
        if (ret_qop)
                *ret_qop = conf ? 0 : SECQOP_WRAP_NO_ENCRYPT;
        return SEC_E_OK;
}

/* TOKEN + one DATA (the usual layout; anything else empty): the two back
 * to back are the whole wrap token, checked before Heimdal records its
 * sequence number. Other layouts go to Heimdal as they are. */
static SECURITY_STATUS precheck_token_data(KrbCtx *c, PkgBuffer *tok, PkgBuffer *b, size_t n) {
        PkgBuffer *data = NULL;
        uint8_t *whole;
        SECURITY_STATUS st;

        for (size_t i = 0; i < n; i++) {
                if (&b[i] == tok)
                        continue;
                if (b[i].type == SECBUFFER_DATA && !data)
                        data = &b[i];
                else if (b[i].len != 0 || (b[i].type & SECBUFFER_READONLY_WITH_CHECKSUM))
                        return SEC_E_OK;
        }
        if (!data)
                return SEC_E_OK;
        whole = malloc(tok->len + data->len + 1);
        if (!whole)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(whole, tok->data, tok->len);
        if (data->len)
                memcpy(whole + tok->len, data->data, data->len);
        st = krb_precheck_wrap(c, whole, tok->len + data->len);
        free(whole);
        return st;
}

SECURITY_STATUS kerberos_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        KrbCtx *c = ctx;
        gss_iov_buffer_desc *iov;
        PkgBuffer *tok, *pad, *stream;
        size_t n_data;
        int conf = 0;
        gss_qop_t qop = 0;
        bool cfx;
        OM_uint32 major, minor;
        SECURITY_STATUS st;

        (void) seq_no;
        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        c->recv_unknown = true; /* the receive window may move */
        stream = krb_find_buffer(b, n, SECBUFFER_STREAM);
        if (stream)
                return unseal_stream(c, stream, b, n, ret_qop);

        tok = krb_find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || tok->len < 2)
                return SEC_E_INVALID_TOKEN;
        /* RFC 4121 wrap tokens start 05 04; only the older RC4 tokens
         * carry padding of their own. */
        cfx = tok->data[0] == 0x05 && tok->data[1] == 0x04;
        /* A sealed RFC 4121 token in a header without a trailer buffer:
         * Heimdal trusts its EC and reads EC bytes before the encrypted
         * header copy, i.e. before the token for a large EC (found by
         * fuzz_krb, regression input tests/fuzz/corpus/krb/regression-
         * cfx-ec). The token must hold EC, both headers and the krb5
         * header and trailer, which the sealed header size gives. */
        if (cfx && tok->len >= 6 && (tok->data[2] & 0x02)) {
                size_t ec = (size_t) tok->data[4] << 8 | tok->data[5];
                if (!c->have_sizes && krb_compute_sizes(c) != SEC_E_OK)
                        return SEC_E_INTERNAL_ERROR;
                if (c->sizes.cbSecurityTrailer < 32 || ec + c->sizes.cbSecurityTrailer - 16 > tok->len)
                        return krb_status_gss(KRB_OP_MESSAGE, GSS_S_DEFECTIVE_TOKEN, 0, "wrap token EC");
        }
        if (cfx) {
                st = precheck_token_data(c, tok, b, n);
                if (st != SEC_E_OK)
                        return st;
        }
        iov = calloc(n ? n : 1, sizeof(*iov));
        if (!iov)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = build_iov(b, n, iov, !cfx, &n_data, &tok, &pad);
        if (st != SEC_E_OK)
                goto out;
        major = gss_unwrap_iov(&minor, c->gss, &conf, &qop, iov, (int) n);
        /* Supplementary bits alone mean a replayed or reordered message. */
        if (major != GSS_S_COMPLETE) {
                st = krb_status_gss(KRB_OP_MESSAGE, major, minor, "gss_unwrap_iov");
                goto out;
        }
        if (pad && !cfx)
                pad->len = iov[pad - b].buffer.length;
        if (ret_qop)
                *ret_qop = conf ? 0 : SECQOP_WRAP_NO_ENCRYPT;
        st = SEC_E_OK;
out:
        free(iov);
        return st;
}
