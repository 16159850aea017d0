/* SPDX-License-Identifier: MIT */
/*
 * Kerberos's per-message state for message-protection = caller (issue
 * 14): what client-lib/msg-krb5.c needs to produce and check the RFC 4121
 * tokens Heimdal would, and nothing more.
 *
 * The key: Heimdal's token key (the acceptor subkey when the acceptor
 * sent one, else the initiator's subkey, else the ticket session key) is
 * never handed over. Windows gives its user-mode package the key itself;
 * here only the keys RFC 3961 derives from it for the four GSS token
 * usages travel (Ke and Ki of the seal usage, Kc of the seal and of the
 * sign usage, per direction). They cannot be turned back into the key
 * (each is AES under it) and are good for nothing but these tokens: no
 * authenticator, AP-REP, KRB-CRED or ticket can be made or read with them,
 * which matters when the token key is the ticket session key.
 *
 * What stays on the daemon path (SEC_E_UNSUPPORTED_FUNCTION): RFC 1964 /
 * 4757 contexts (RC4, DES), enctypes other than aes128/aes256-cts-hmac-
 * sha1-96, DCE style, and a context whose receive window no longer is
 * what kerberos-noap.c or the handshake left (a Negotiate mechListMIC that
 * reached it, an imported context).
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-private.h"
#include "packages/msg-keys.h"

/* Heimdal's lucid context v1 (big-endian words): version, initiate,
 * endtime, send_seq (hi, lo), recv_seq (hi, lo), protocol (1: RFC 4121),
 * have_acceptor_subkey, then the keys (not read here). */
#define LUCID_WORDS 9
#define CFX_SENT_BY_ACCEPTOR 0x01
#define CFX_ACCEPTOR_SUBKEY 0x04
#define ETYPE_AES128_SHA1 17
#define ETYPE_AES256_SHA1 18

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static bool lucid_words(KrbCtx *c, uint32_t w[LUCID_WORDS]) {
        gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
        OM_uint32 major, minor;
        bool ok;

        major = gss_inquire_sec_context_by_oid(&minor, c->gss, GSS_KRB5_EXPORT_LUCID_CONTEXT_V1_X, &set);
        ok = !GSS_ERROR(major) && set && set->count == 1 && set->elements[0].length >= 4 * LUCID_WORDS;
        if (ok)
                for (size_t i = 0; i < LUCID_WORDS; i++)
                        w[i] = be32((const uint8_t *) set->elements[0].value + 4 * i);
        if (set)
                for (size_t i = 0; i < set->count; i++)
                        explicit_bzero(set->elements[i].value, set->elements[i].length);
        (void) gss_release_buffer_set(&minor, &set);
        return ok;
}

/* DK(key, usage || kind) into out (RFC 3961 5.1). */
static bool derive(krb5_context k, const krb5_keyblock *kb, unsigned usage, uint8_t kind, uint8_t *out) {
        uint8_t constant[5] = { (uint8_t) (usage >> 24), (uint8_t) (usage >> 16), (uint8_t) (usage >> 8),
                                (uint8_t) usage, kind };
        krb5_keyblock *dk = NULL;
        bool ok;

        if (krb5_derive_key(k, kb, kb->keytype, constant, sizeof(constant), &dk) != 0 || !dk)
                return false;
        ok = dk->keyvalue.length == kb->keyvalue.length;
        if (ok)
                memcpy(out, dk->keyvalue.data, dk->keyvalue.length);
        krb5_free_keyblock(k, dk); /* zeroes the key */
        return ok;
}

/* Ke, Ki and Kc of the seal usage, Kc of the sign usage. */
static bool derive_direction(krb5_context k, const krb5_keyblock *kb, unsigned seal, unsigned sign, uint8_t *out) {
        size_t n = kb->keyvalue.length;

        return derive(k, kb, seal, 0xAA, out) && derive(k, kb, seal, 0x55, out + n) &&
               derive(k, kb, seal, 0x99, out + 2 * n) && derive(k, kb, sign, 0x99, out + 3 * n);
}

SECURITY_STATUS kerberos_msg_keys(void *ctx, PkgMsgKeys *out) {
        KrbCtx *c = ctx;
        krb5_context k = krb_context();
        krb5_keyblock *kb = NULL;
        uint32_t w[LUCID_WORDS] = { 0 };
        OM_uint32 major, minor, gflags = 0;
        int locally_initiated = 0;
        bool ok;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (!k || c->recv_unknown)
                return SEC_E_UNSUPPORTED_FUNCTION;
        major = gss_inquire_context(&minor, c->gss, NULL, NULL, NULL, NULL, &gflags, &locally_initiated, NULL);
        if (GSS_ERROR(major) || (gflags & GSS_C_DCE_STYLE) || !locally_initiated != !c->initiator)
                return SEC_E_UNSUPPORTED_FUNCTION;
        /* Version 1, RFC 4121, 32-bit sequence numbers. */
        if (!lucid_words(c, w) || w[0] != 1 || !w[1] != !c->initiator || w[3] != 0 || w[5] != 0 || w[7] != 1)
                return SEC_E_UNSUPPORTED_FUNCTION;
        major = gsskrb5_get_subkey(&minor, c->gss, &kb);
        if (GSS_ERROR(major) || !kb)
                return SEC_E_UNSUPPORTED_FUNCTION;
        if ((kb->keytype != ETYPE_AES128_SHA1 && kb->keytype != ETYPE_AES256_SHA1) ||
            kb->keyvalue.length > PKG_MSG_KRB_KEY_MAX) {
                krb5_free_keyblock(k, kb);
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
        *out = (PkgMsgKeys) {
                .mech = PKG_MSG_KERBEROS,
                .flags = (c->initiator ? 0 : CFX_SENT_BY_ACCEPTOR) | (w[8] ? CFX_ACCEPTOR_SUBKEY : 0),
                .send_seq = w[4],
                .recv_seq = w[6],
                .enctype = (uint32_t) kb->keytype,
                .key_len = (uint32_t) kb->keyvalue.length,
                .order_flags = gflags & (GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG),
        };
        /* The window as Heimdal's _gssapi_msg_order_create() left it
         * (element 0 one before the first number, the rest zero), or
         * with the one number kerberos-noap.c showed it. */
        out->window_len = c->recv_primed ? 1 : 0;
        out->window[0] = c->recv_primed ? c->recv_primed_seq : w[6] - 1;
        ok = derive_direction(k, kb, c->initiator ? KRB5_KU_USAGE_INITIATOR_SEAL : KRB5_KU_USAGE_ACCEPTOR_SEAL,
                              c->initiator ? KRB5_KU_USAGE_INITIATOR_SIGN : KRB5_KU_USAGE_ACCEPTOR_SIGN,
                              out->krb_send) &&
             derive_direction(k, kb, c->initiator ? KRB5_KU_USAGE_ACCEPTOR_SEAL : KRB5_KU_USAGE_INITIATOR_SEAL,
                              c->initiator ? KRB5_KU_USAGE_ACCEPTOR_SIGN : KRB5_KU_USAGE_INITIATOR_SIGN,
                              out->krb_recv);
        krb5_free_keyblock(k, kb);
        if (!ok) {
                explicit_bzero(out, sizeof(*out));
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
        return SEC_E_OK;
}
