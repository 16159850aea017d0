/* SPDX-License-Identifier: MIT */
/*
 * The KDC's time, kept per credential (issue 15 item 5).
 *
 * Windows' Kerberos client that meets KRB_AP_ERR_SKEW in the AS exchange
 * retries with the KDC's time and keeps the difference with the logon
 * session, so the service-ticket requests and the authenticators of that
 * logon carry the KDC's time (the KRB-ERROR carries its stime, RFC 4120
 * 5.9.1). An application server whose clock differs answers an AP-REQ with
 * KRB_AP_ERR_SKEW for the client to retry in its time (MS-KILE 3.4.5;
 * "Extended Error Information" in the SSPI docs): Heimdal's GSS layer does
 * that retry. Heimdal's krb5_get_init_creds does the first half
 * (it retries with the KRB-ERROR's stime) but writes the offset into the
 * krb5_context it was given: here one per worker thread, shared by every
 * credential that thread serves. And the GSS layer keeps its own krb5
 * context per thread, which the TGS exchange sets from the ccache's KDC
 * offset (MEMORY ccaches hold one) and whose offset the AP-REQ's
 * authenticator is built with.
 *
 * So the offset is taken out of the thread's context after each AS
 * exchange (which starts from zero), kept in the credential and in its
 * MEMORY ccache, put into GSS's context for one gss_init_sec_context and
 * taken out again: no other credential, and no acceptor, on the thread
 * ever sees it.
 */
#include "packages/kerberos/kerberos.h"
#include "packages/kerberos/kerberos-private.h"

#include <gssapi/gssapi_krb5.h>

/* A skew beyond a day is not a clock that drifted: refuse to keep it. */
#define MAX_KDC_OFFSET (24 * 3600)

void krb_clock_logon_start(krb5_context k) {
        (void) krb5_set_kdc_sec_offset(k, 0, 0);
}

int32_t krb_clock_logon_end(krb5_context k) {
        int32_t sec = 0, usec = 0;

        (void) krb5_get_kdc_sec_offset(k, &sec, &usec);
        (void) krb5_set_kdc_sec_offset(k, 0, 0);
        if (sec > MAX_KDC_OFFSET || sec < -MAX_KDC_OFFSET)
                return 0;
        return sec;
}

/*
 * Set the GSS layer's offset on this thread to `offset` seconds. Heimdal's
 * only way in, gsskrb5_set_time_offset, goes through krb5_set_real_time
 * with a zero microsecond part, which lands one second early whenever the
 * current microsecond is not zero: read it back and correct once.
 */
void krb_clock_gss_set(int32_t offset) {
        int now = 0;

        if (gsskrb5_get_time_offset(&now) == GSS_S_COMPLETE && now == offset)
                return;
        (void) gsskrb5_set_time_offset(offset);
        if (gsskrb5_get_time_offset(&now) == GSS_S_COMPLETE && now != offset)
                (void) gsskrb5_set_time_offset(offset + (offset - now));
}

/*
 * The KDC offset a version 4 FILE ccache's header records (Heimdal's
 * fcache.c writes tag 1, "deltatime": int32 seconds, int32 microseconds,
 * big-endian, when its kinit met a skewed KDC; MIT writes the same), so a
 * logon session from such a ccache keeps it as Heimdal's own kgetcred does.
 * The header is tags of (int16 tag, int16 length, bytes); 0 when there is
 * no such tag or the header is malformed.
 */
int32_t krb_clock_from_ccache_header(const uint8_t *h, size_t len) {
        size_t i = 0;

        while (len - i >= 4) {
                unsigned tag = (unsigned) h[i] << 8 | h[i + 1];
                size_t n = (size_t) h[i + 2] << 8 | h[i + 3];

                i += 4;
                if (n > len - i)
                        return 0;
                if (tag == 1 && n == 8) {
                        int32_t sec = (int32_t) ((uint32_t) h[i] << 24 | (uint32_t) h[i + 1] << 16 |
                                                 (uint32_t) h[i + 2] << 8 | h[i + 3]);
                        return sec > MAX_KDC_OFFSET || sec < -MAX_KDC_OFFSET ? 0 : sec;
                }
                i += n;
        }
        return 0;
}
