/* SPDX-License-Identifier: MIT */
/*
 * A Kerberos initiator that did not ask for mutual authentication.
 *
 * Without ISC_REQ_MUTUAL_AUTH there is no AP-REP, so the acceptor has no
 * sequence number of its own to announce: it starts at the initiator's
 * (the authenticator's seq-number; RFC 4121 4.2.6, RFC 1964 1.2.1.2, and
 * Heimdal's own acceptor does so when sequence or replay detection is
 * on). Heimdal's initiator however starts expecting the acceptor at the
 * remote sequence number an AP-REP would have set, i.e. 0, so with
 * SEQUENCE_DETECT the acceptor's first message is a "gap" and its
 * DecryptMessage/VerifySignature says SEC_E_OUT_OF_SEQUENCE; Windows and
 * MIT accept it (curl's SASL GSSAPI reads the server's first message on
 * such a context).
 *
 * Heimdal offers no call to set where the initiator's window starts. It
 * records the sequence number of a MIC token before it checks the
 * checksum (the reason kerberos-msgcheck.c exists), and an empty window
 * takes any first number. So the window is started here by showing
 * Heimdal one MIC token that claims the number just before the
 * initiator's own and carries no valid checksum: it fails, and the
 * acceptor's genuine first message is then the next in order. Only RFC
 * 4121 (AES) contexts; an RFC 1964/4757 token's sequence number is
 * encrypted, and those stay as Heimdal has them.
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-private.h"

#define MIC_HEADER 16
#define MIC_CHECKSUM 12
/* Heimdal's lucid context v1 (big-endian words): version, initiate,
 * endtime, send_seq (hi, lo), recv_seq (hi, lo), protocol (1: RFC 4121),
 * then the keys. Read here directly rather than through
 * gss_krb5_export_lucid_sec_context() so that the copy holding the keys
 * is wiped before it is freed. */
#define LUCID_WORDS 8

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

void krb_initiator_without_ap_rep(KrbCtx *c, OM_uint32 gflags) {
        gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
        uint8_t tok[MIC_HEADER + MIC_CHECKSUM] = { 0x04, 0x04, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff };
        gss_buffer_desc msg = GSS_C_EMPTY_BUFFER, mic = { sizeof(tok), tok };
        uint32_t w[LUCID_WORDS] = { 0 };
        OM_uint32 major, minor;
        bool ok;

        if (!c->initiator || (gflags & (GSS_C_MUTUAL_FLAG | GSS_C_DCE_STYLE)) ||
            !(gflags & (GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG)))
                return;
        major = gss_inquire_sec_context_by_oid(&minor, c->gss, GSS_KRB5_EXPORT_LUCID_CONTEXT_V1_X, &set);
        ok = !GSS_ERROR(major) && set && set->count == 1 && set->elements[0].length >= 4 * LUCID_WORDS;
        if (ok)
                for (size_t i = 0; i < LUCID_WORDS; i++)
                        w[i] = be32((const uint8_t *) set->elements[0].value + 4 * i);
        if (set)
                for (size_t i = 0; i < set->count; i++)
                        explicit_bzero(set->elements[i].value, set->elements[i].length);
        (void) gss_release_buffer_set(&minor, &set);
        /* Version 1, our own send_seq (hi 0), an RFC 4121 context whose
         * receive window does not already start there (an initiator
         * number of 0 is where Heimdal starts anyway). */
        if (!ok || w[0] != 1 || w[3] != 0 || w[7] != 1 || w[4] == 0 || w[6] == w[4])
                return;
        for (int i = 0; i < 4; i++)
                tok[12 + i] = (uint8_t) ((w[4] - 1) >> (24 - 8 * i));
        /* Fails by design (no checksum); only the window moves: it now
         * holds this one number (kerberos-export-keys.c hands it over). */
        (void) gss_verify_mic(&minor, c->gss, &msg, &mic, NULL);
        c->recv_primed = true;
        c->recv_primed_seq = w[4] - 1;
}
