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

void krb_initiator_without_ap_rep(KrbCtx *c, OM_uint32 gflags) {
        void *p = NULL;
        gss_krb5_lucid_context_v1_t *lucid;
        uint8_t tok[MIC_HEADER + MIC_CHECKSUM] = { 0x04, 0x04, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff };
        gss_buffer_desc msg = GSS_C_EMPTY_BUFFER, mic = { sizeof(tok), tok };
        OM_uint32 major, minor;
        uint64_t start;

        if (!c->initiator || (gflags & (GSS_C_MUTUAL_FLAG | GSS_C_DCE_STYLE)) ||
            !(gflags & (GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG)))
                return;
        major = gss_krb5_export_lucid_sec_context(&minor, &c->gss, 1, &p);
        if (GSS_ERROR(major) || !p)
                return;
        lucid = p;
        /* Already where the acceptor starts (an initiator number of 0),
         * or not an RFC 4121 context: nothing to do. */
        start = lucid->send_seq;
        if (lucid->protocol != 1 || lucid->recv_seq == start || start == 0 || start > UINT32_MAX) {
                (void) gss_krb5_free_lucid_sec_context(&minor, p);
                return;
        }
        (void) gss_krb5_free_lucid_sec_context(&minor, p);
        start -= 1;
        for (int i = 0; i < 8; i++)
                tok[8 + i] = (uint8_t) (start >> (56 - 8 * i));
        /* Fails by design (no checksum); only the window moves. */
        (void) gss_verify_mic(&minor, c->gss, &msg, &mic, NULL);
}
