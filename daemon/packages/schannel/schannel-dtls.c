/* SPDX-License-Identifier: MIT */
/*
 * DTLS 1.2 contexts (a credential with SP_PROT_DTLS1_2_CLIENT/SERVER):
 * the handshake as Windows' Schannel hands it out.
 *
 *  - Input: one datagram per ISC/ASC call (SECBUFFER_TOKEN).
 *  - Output: one datagram per call (SECBUFFER_TOKEN), at most the MTU. A
 *    flight that needs more answers SEC_I_MESSAGE_FRAGMENT, and the caller
 *    calls again without input for the next datagram, as Microsoft's own
 *    RDP-UDP client and server do (WindowsProtocolTestSuites
 *    ProtoSDK/MS-RDPEMT/SecureChannel/RdpeudpDTLSChannel.cs,
 *    ProtoSDK/Sspi/DTLS/Dtls{Client,Server}SecurityContext.cs); the last
 *    datagram carries the status of the step (CONTINUE_NEEDED or OK).
 *  - Retransmission: a call without input when no datagram is waiting
 *    means the caller's timer fired: the last flight goes out again under
 *    new record sequence numbers (Windows-verified in Wine's schannel.c
 *    test_dtls: a second ISC with no input gives the ClientHello again,
 *    byte for byte but for the sequence number, 0 then 1).
 *  - MTU: SECBUFFER_DTLS_MTU (a WORD) in the first call's input, or
 *    SetContextAttributes(SECPKG_ATTR_DTLS_MTU) at any time; 200..65535,
 *    default 1096 (SetContextAttributes docs).
 *
 * OpenSSL keeps its own retransmission timer and would retransmit inside
 * any call made after it fired, with no way to fire it on demand. Here its
 * timer is an hour long (DTLS_set_timer_cb), so it never fires by itself,
 * and a caller's retransmission moves this context's view of the clock on
 * past it: OpenSSL 3.0 reads the time through gettimeofday(), which the
 * daemon defines below as the real time plus the skew of the context
 * whose OpenSSL call runs on this thread (zero at any other time).
 */
#include "packages/schannel/schannel-private.h"

#include <sys/time.h>

#define DTLS_TIMER_US 3600000000u /* OpenSSL's retransmission timer: the caller drives */
#define DTLS_MAX_RECORD (TLS_MAX_RECORD + DTLS_HEADER)

static __thread int64_t clock_skew_us;

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
        struct timespec ts;
        int64_t us;

        (void) tz;
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -1;
        us = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + clock_skew_us;
        tv->tv_sec = (time_t) (us / 1000000);
        tv->tv_usec = (suseconds_t) (us % 1000000);
        return 0;
}

void sch_dtls_clock_enter(const SchCtx *x) {
        clock_skew_us = x->clock_skew_us;
}

void sch_dtls_clock_leave(void) {
        clock_skew_us = 0;
}

static unsigned int timer_cb(SSL *ssl, unsigned int prev) {
        (void) ssl, (void) prev;
        return DTLS_TIMER_US;
}

static int set_mtu(SchCtx *x, unsigned mtu) {
        if (mtu < DTLS_MTU_MIN || mtu > 0xffff)
                return -EINVAL;
        if (SSL_set_mtu(x->ssl, (long) mtu) <= 0)
                return -EINVAL;
        x->mtu = (uint16_t) mtu;
        return 0;
}

/* SEC_DTLS_MTU: an unsigned short, little-endian as on Windows x64. */
static int parse_mtu(const uint8_t *p, size_t len, unsigned *ret) {
        if (!p || len < sizeof(SEC_DTLS_MTU))
                return -EINVAL;
        *ret = (unsigned) p[0] | (unsigned) p[1] << 8;
        return 0;
}

int sch_dtls_setup_ssl(SchCtx *x, const PkgStep *s) {
        PkgBuffer *m = sch_find_buffer(s->in, s->n_in, SECBUFFER_DTLS_MTU);
        unsigned mtu = DTLS_MTU_DEFAULT;

        if (m && parse_mtu(m->data, m->len, &mtu) < 0)
                return -EINVAL;
        /* Memory BIOs know no path MTU: ours is the one that counts. */
        SSL_set_options(x->ssl, SSL_OP_NO_QUERY_MTU);
        DTLS_set_timer_cb(x->ssl, timer_cb);
        return set_mtu(x, mtu);
}

/* SetContextAttributes(DTLS_MTU) (schannel-ctxset.c): "not supported if
 * DTLS is not enabled on the context" (docs). */
SECURITY_STATUS sch_dtls_set_mtu_attr(SchCtx *x, const uint8_t *data, size_t len) {
        unsigned mtu;

        if (!x->dtls)
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (parse_mtu(data, len, &mtu) < 0 || set_mtu(x, mtu) < 0)
                return SEC_E_INVALID_PARAMETER;
        return SEC_E_OK;
}

/* Whether p[0..len) is a sequence of whole DTLS records: a known content
 * type, major version 0xFE, lengths that tile the datagram exactly. */
static bool datagram_plausible(const uint8_t *p, size_t len) {
        size_t off = 0;

        if (len == 0)
                return false;
        while (off < len) {
                size_t rec;
                if (len - off < DTLS_HEADER || p[off] < 20 || p[off] > 23 || p[off + 1] != 0xfe)
                        return false;
                rec = DTLS_HEADER + ((size_t) p[off + 11] << 8 | p[off + 12]);
                if (rec > DTLS_MAX_RECORD || rec > len - off)
                        return false;
                off += rec;
        }
        return true;
}

/* What OpenSSL wrote joins the flight waiting to be handed out. */
static SECURITY_STATUS take_flight(SchCtx *x) {
        size_t n = BIO_ctrl_pending(x->wbio), keep = x->flight_len - x->flight_off;
        uint8_t *f;

        if (n == 0)
                return SEC_E_OK;
        f = malloc(keep + n);
        if (!f) {
                (void) BIO_reset(x->wbio);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        if (keep)
                memcpy(f, x->flight + x->flight_off, keep);
        if (BIO_read(x->wbio, f + keep, (int) n) != (int) n) {
                free(f);
                return SEC_E_INTERNAL_ERROR;
        }
        free(x->flight);
        x->flight = f;
        x->flight_len = keep + n;
        x->flight_off = 0;
        return SEC_E_OK;
}

/* The next datagram: whole records from flight_off, as many as fit in the
 * MTU (OpenSSL sizes each record to it), at least one. */
static size_t next_datagram(const SchCtx *x) {
        size_t off = x->flight_off, end = off;

        while (x->flight_len - end >= DTLS_HEADER) {
                size_t rec = DTLS_HEADER + ((size_t) x->flight[end + 11] << 8 | x->flight[end + 12]);
                if (rec > x->flight_len - end)
                        return x->flight_len - off; /* not ours to cut */
                if (end > off && end - off + rec > x->mtu)
                        break;
                end += rec;
        }
        return end > off ? end - off : x->flight_len - off;
}

/* One datagram of the flight into the caller's TOKEN slot; `done` is the
 * status once the flight is out. */
static SECURITY_STATUS hand_out(SchCtx *x, PkgStep *s, SECURITY_STATUS done) {
        PkgBuffer *out;
        size_t n;

        if (x->flight_off >= x->flight_len)
                return done;
        out = sch_find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);
        if (!out && (out = sch_find_buffer(s->out, s->n_out, SECBUFFER_EMPTY)))
                out->type = SECBUFFER_TOKEN;
        if (!out)
                return SEC_E_INVALID_TOKEN;
        n = next_datagram(x);
        /* Too small for this datagram: it stays first in line, and a call
         * without input with room for it gets it. */
        if (!out->allocate && n > out->cap)
                return SEC_E_BUFFER_TOO_SMALL;
        out->data = malloc(n);
        if (!out->data)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(out->data, x->flight + x->flight_off, n);
        out->len = n;
        out->owned = true;
        for (size_t off = 0; off + DTLS_HEADER <= n;
             off += DTLS_HEADER + ((size_t) out->data[off + 11] << 8 | out->data[off + 12]))
                if (out->data[off] == 20)
                        x->wrote_ccs = true;
        x->flight_off += n;
        if (x->flight_off < x->flight_len) {
                x->flight_status = done;
                return SEC_I_MESSAGE_FRAGMENT;
        }
        free(x->flight);
        x->flight = NULL;
        x->flight_len = x->flight_off = 0;
        return done;
}

/* Windows' flags for a DTLS context: the TLS ones plus DATAGRAM (Wine's
 * schannel.c test_dtls: STREAM stays set too). */
static uint32_t dtls_ret_flags(const SchCtx *x) {
        return sch_ret_flags(x) | (x->server ? ASC_RET_DATAGRAM : ISC_RET_DATAGRAM);
}

static SECURITY_STATUS retransmit(SchCtx *x, PkgStep *s) {
        SECURITY_STATUS st;
        int r;

        x->clock_skew_us += (int64_t) DTLS_TIMER_US + 1000000;
        sch_dtls_clock_enter(x);
        ERR_clear_error();
        r = DTLSv1_handle_timeout(x->ssl);
        sch_dtls_clock_leave();
        if (r < 0) {
                /* OpenSSL gives up after 12 retransmissions of one flight. */
                x->dead = true;
                return sch_map_ssl_error("retransmit");
        }
        st = take_flight(x);
        if (st != SEC_E_OK)
                return st;
        return hand_out(x, s, SEC_I_CONTINUE_NEEDED);
}

SECURITY_STATUS sch_dtls_step(SchCtx *x, PkgStep *s, bool server) {
        PkgBuffer *in = sch_find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        PkgBuffer *m = sch_find_buffer(s->in, s->n_in, SECBUFFER_DTLS_MTU);
        size_t len = in ? in->len : 0;
        bool fresh = !x->started;
        SECURITY_STATUS st;
        unsigned mtu;
        int r;

        s->ret_flags = dtls_ret_flags(x);
        if (m && (parse_mtu(m->data, m->len, &mtu) < 0 || set_mtu(x, mtu) < 0))
                return SEC_E_INVALID_PARAMETER;
        /* The rest of a flight, one datagram a call. */
        if (!len && x->flight_off < x->flight_len)
                return hand_out(x, s, x->flight_status);

        if (x->done) {
                /* After the handshake: our close_notify, or the answer to
                 * a retransmitted flight DecryptMessage met. */
                x->post_msg = false;
                if (x->shutdown) {
                        x->shutdown = false;
                        if (!x->dead) {
                                sch_dtls_clock_enter(x);
                                ERR_clear_error();
                                (void) SSL_shutdown(x->ssl);
                                ERR_clear_error();
                                sch_dtls_clock_leave();
                        }
                        x->dead = true;
                }
                st = take_flight(x);
                if (st != SEC_E_OK)
                        return st;
                s->expiry = sch_peer_expiry(x);
                return hand_out(x, s, SEC_E_OK);
        }

        x->started = true;
        if (len) {
                /* One datagram; one that is not whole DTLS records leaves
                 * the handshake as it was. */
                if (!datagram_plausible(in->data, len)) {
                        s->clear_output = true;
                        return SEC_E_INVALID_TOKEN;
                }
                (void) BIO_reset(x->rbio);
                if (BIO_write(x->rbio, in->data, (int) len) != (int) len)
                        return SEC_E_INSUFFICIENT_MEMORY;
                x->fed = true;
        } else if (!fresh)
                return retransmit(x, s);

        sch_dtls_clock_enter(x);
        ERR_clear_error();
        r = SSL_do_handshake(x->ssl);
        sch_dtls_clock_leave();
        if (r == 1) {
                x->done = true;
                (void) BIO_reset(x->rbio);
                st = sch_check_peer(x);
                if (st != SEC_E_OK)
                        return st;
                st = take_flight(x);
                if (st != SEC_E_OK)
                        return st;
                s->ret_flags = dtls_ret_flags(x);
                s->expiry = sch_peer_expiry(x);
                return hand_out(x, s, SEC_E_OK);
        }
        switch (SSL_get_error(x->ssl, r)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
                /* A datagram that completed no flight of the peer's (one
                 * fragment of several, a duplicate) gives no output. */
                if (BIO_ctrl_pending(x->wbio))
                        x->legs++;
                st = take_flight(x);
                if (st != SEC_E_OK)
                        return st;
                return hand_out(x, s, SEC_I_CONTINUE_NEEDED);
        default:
                x->dead = true;
                /* The alert OpenSSL sent (one record, one datagram) goes to
                 * the SECBUFFER_ALERT slot, as for TLS. */
                sch_flush_alert(x, s);
                (void) BIO_reset(x->wbio);
                if ((SSL_get_verify_mode(x->ssl) & SSL_VERIFY_PEER) && SSL_get_verify_result(x->ssl) != X509_V_OK) {
                        sch_log_ssl_errors(server ? "dtls accept" : "dtls connect");
                        return sch_map_verify(SSL_get_verify_result(x->ssl));
                }
                return sch_map_ssl_error(server ? "dtls accept" : "dtls connect");
        }
}

/* ---- DecryptMessage's replay window (RFC 6347 4.1.2.6), on the records
 * that gave application data ---- */

static uint64_t record_seq(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 5; i < 11; i++)
                v = v << 8 | p[i];
        return v;
}

bool sch_dtls_replayed(const SchCtx *x, const uint8_t *rec) {
        uint16_t epoch = (uint16_t) (rec[3] << 8 | rec[4]);
        uint64_t seq = record_seq(rec);

        if (!x->rx_any || epoch != x->rx_epoch || seq > x->rx_max)
                return false;
        if (x->rx_max - seq >= 64)
                return true; /* older than the window: Windows-like refusal, never a replay let through */
        return (x->rx_window >> (x->rx_max - seq)) & 1;
}

void sch_dtls_mark(SchCtx *x, const uint8_t *rec) {
        uint16_t epoch = (uint16_t) (rec[3] << 8 | rec[4]);
        uint64_t seq = record_seq(rec);

        if (!x->rx_any || epoch != x->rx_epoch) {
                x->rx_any = true;
                x->rx_epoch = epoch;
                x->rx_max = seq;
                x->rx_window = 1;
        } else if (seq > x->rx_max) {
                uint64_t d = seq - x->rx_max;
                x->rx_window = d >= 64 ? 1 : (x->rx_window << d) | 1;
                x->rx_max = seq;
        } else
                x->rx_window |= UINT64_C(1) << (x->rx_max - seq);
}
