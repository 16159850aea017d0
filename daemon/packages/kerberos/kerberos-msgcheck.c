/* SPDX-License-Identifier: MIT */
/*
 * RFC 4121 tokens checked with the context's key before Heimdal sees them.
 *
 * Heimdal's unwrap and verify_mic record a token's sequence number before
 * they check its checksum (lib/gssapi/krb5/cfx.c): a tampered or truncated
 * copy of message N would make the genuine message N a duplicate, so a
 * DecryptMessage/VerifySignature retry after a failure would say
 * SEC_E_OUT_OF_SEQUENCE. Windows does not consume a message that fails.
 * Checking first (decrypting or checksumming a copy with the same key and
 * key usage Heimdal will use) keeps the sequence state for the genuine one.
 *
 * Only what can be checked exactly is: RFC 4121 tokens of a context that
 * is not DCE style. RFC 1964/4757 tokens (RC4) go to Heimdal unchecked.
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-private.h"

#define CFX_HEADER 16
#define CFX_SEALED 0x02
#define CFX_SENT_BY_ACCEPTOR 0x01

/* The key and crypto Heimdal uses for this context's tokens (its "token
 * key": the acceptor subkey if there is one, else the initiator's). */
static SECURITY_STATUS token_crypto(KrbCtx *c, krb5_context k, krb5_crypto *ret) {
        krb5_keyblock *kb = NULL;
        OM_uint32 major, minor;
        krb5_error_code r;

        major = gsskrb5_get_subkey(&minor, c->gss, &kb);
        if (GSS_ERROR(major) || !kb)
                return SEC_E_INTERNAL_ERROR;
        r = krb5_crypto_init(k, kb, 0, ret);
        krb5_free_keyblock(k, kb);
        return r == 0 ? SEC_E_OK : SEC_E_INTERNAL_ERROR;
}

static bool checkable(const KrbCtx *c, const uint8_t *tok, size_t len, uint8_t id) {
        if (c->gss_flags & GSS_C_DCE_STYLE)
                return false;
        return len >= CFX_HEADER && tok[0] == id && tok[1] == 0x04;
}

/* A whole wrap token (SECBUFFER_STREAM, or TOKEN followed by its one DATA
 * buffer). SEC_E_OK when it verifies or is not ours to check. */
SECURITY_STATUS krb_precheck_wrap(KrbCtx *c, const uint8_t *tok, size_t len) {
        krb5_context k = krb_context();
        krb5_crypto crypto = NULL;
        uint8_t *body = NULL, *plain = NULL;
        size_t body_len, rrc, ec;
        unsigned usage = c->initiator ? KRB5_KU_USAGE_ACCEPTOR_SEAL : KRB5_KU_USAGE_INITIATOR_SEAL;
        SECURITY_STATUS st;

        if (!k || !checkable(c, tok, len, 0x05))
                return SEC_E_OK;
        /* Direction and the header's fixed filler: Heimdal refuses those
         * before it touches the sequence state. */
        if (!!(tok[2] & CFX_SENT_BY_ACCEPTOR) != c->initiator || tok[3] != 0xff)
                return SEC_E_OK;
        ec = (size_t) tok[4] << 8 | tok[5];
        rrc = (size_t) tok[6] << 8 | tok[7];
        body_len = len - CFX_HEADER;
        /* Without the key there is nothing to check: Heimdal decides. */
        if (token_crypto(c, k, &crypto) != SEC_E_OK)
                return SEC_E_OK;
        body = malloc(body_len + CFX_HEADER + 1);
        if (!body) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        /* Undo the right rotation by RRC. */
        if (body_len) {
                size_t r = rrc % body_len;
                memcpy(body, tok + CFX_HEADER + r, body_len - r);
                memcpy(body + body_len - r, tok + CFX_HEADER, r);
        }
        if (tok[2] & CFX_SEALED) {
                krb5_data out;

                if (krb5_decrypt(k, crypto, usage, body, body_len, &out) != 0) {
                        st = SEC_E_MESSAGE_ALTERED;
                        goto out;
                }
                plain = out.data;
                /* The encrypted copy of the header, RRC excepted. */
                st = out.length >= ec + CFX_HEADER &&
                                     memcmp(plain + out.length - CFX_HEADER, tok, 6) == 0 &&
                                     memcmp(plain + out.length - CFX_HEADER + 8, tok + 8, 8) == 0
                             ? SEC_E_OK
                             : SEC_E_MESSAGE_ALTERED;
                explicit_bzero(out.data, out.length);
                krb5_data_free(&out);
                plain = NULL;
        } else {
                Checksum ck = { 0 };
                size_t data_len;

                if (ec > body_len || krb5_crypto_get_checksum_type(k, crypto, &ck.cksumtype) != 0) {
                        st = SEC_E_MESSAGE_ALTERED;
                        goto out;
                }
                data_len = body_len - ec;
                plain = malloc(data_len + CFX_HEADER);
                if (!plain) {
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                /* Checksum over data || header with EC and RRC zero. */
                memcpy(plain, body, data_len);
                memcpy(plain + data_len, tok, CFX_HEADER);
                memset(plain + data_len + 4, 0, 4);
                ck.checksum.data = body + data_len;
                ck.checksum.length = ec;
                st = krb5_verify_checksum(k, crypto, usage, plain, data_len + CFX_HEADER, &ck) == 0
                             ? SEC_E_OK
                             : SEC_E_MESSAGE_ALTERED;
                explicit_bzero(plain, data_len + CFX_HEADER);
        }
out:
        if (body)
                explicit_bzero(body, body_len);
        free(body);
        free(plain);
        if (crypto)
                krb5_crypto_destroy(k, crypto);
        return st;
}

/* A MIC token over `msg`. */
SECURITY_STATUS krb_precheck_mic(KrbCtx *c, const uint8_t *msg, size_t msg_len, const uint8_t *tok, size_t len) {
        krb5_context k = krb_context();
        krb5_crypto crypto = NULL;
        Checksum ck = { 0 };
        uint8_t *buf;
        unsigned usage = c->initiator ? KRB5_KU_USAGE_ACCEPTOR_SIGN : KRB5_KU_USAGE_INITIATOR_SIGN;
        SECURITY_STATUS st = SEC_E_OK;

        if (!k || !checkable(c, tok, len, 0x04))
                return SEC_E_OK;
        if (!!(tok[2] & CFX_SENT_BY_ACCEPTOR) != c->initiator)
                return SEC_E_OK;
        if (token_crypto(c, k, &crypto) != SEC_E_OK)
                return SEC_E_OK;
        buf = malloc(msg_len + CFX_HEADER);
        if (!buf) {
                krb5_crypto_destroy(k, crypto);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        if (msg_len)
                memcpy(buf, msg, msg_len);
        memcpy(buf + msg_len, tok, CFX_HEADER);
        ck.checksum.data = (void *) (tok + CFX_HEADER);
        ck.checksum.length = len - CFX_HEADER;
        if (krb5_crypto_get_checksum_type(k, crypto, &ck.cksumtype) != 0 ||
            krb5_verify_checksum(k, crypto, usage, buf, msg_len + CFX_HEADER, &ck) != 0)
                st = SEC_E_MESSAGE_ALTERED;
        explicit_bzero(buf, msg_len + CFX_HEADER);
        free(buf);
        krb5_crypto_destroy(k, crypto);
        return st;
}
