/* SPDX-License-Identifier: MIT */
/*
 * Issue 11, finding 1: a captured AP-REQ replayed with one ap-options bit
 * flipped, its DER/GSS lengths re-encoded, garbage appended, unframed, or
 * wrapped in SPNEGO (Negotiate), must not be accepted a second time.
 * ap-options and the framing are outside every checksum, so a cache keyed
 * on the whole token took each variant for a new AP-REQ.
 *
 * Who plays whom: the acceptor credential (HTTP/localhost) is granted to
 * root only, so the victim service is root's; the attacker's weapon is the
 * token it captured off the wire and handed to that service. The test is
 * the service receiving those bytes: every variant goes to
 * AcceptSecurityContext on root's acceptor credential, against a private
 * daemon with the DEFAULT configuration. Expected: SEC_E_OUT_OF_SEQUENCE for
 * a replay, SEC_E_INVALID_TOKEN for non-canonical framing, and a fresh
 * AP-REQ still accepted; the victim's ordinary round is measured before and
 * after, with the daemon's RSS, CPU and log growth.
 *
 * Positive control: the same capture and bit flips against a daemon with
 * `replay-cache = 0` in [kerberos]: the flipped (and the unmodified)
 * replays are accepted there, so this test fails if the defence is gone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tattack.h"
#include "testlib.h"

typedef struct Tok {
        uint8_t *p;
        size_t n;
} Tok;

static void tok_free(Tok *t) {
        free(t->p);
        *t = (Tok) {};
}

/* A fresh AP-REQ (GSS-framed, mutual auth asked) for HTTP/localhost. */
static bool fresh_ap_req(CredHandle *cc, Tok *ret) {
        uint8_t out[12288];
        SecBuffer ob = { sizeof(out), SECBUFFER_TOKEN, out };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle ctx;
        ULONG attrs;
        char target[256];
        SECURITY_STATUS st;

        snprintf(target, sizeof(target), "HTTP/localhost@%s", t_realm());
        st = InitializeSecurityContextA(cc, NULL, target, ISC_REQ_MUTUAL_AUTH, 0, SECURITY_NATIVE_DREP, NULL, 0, &ctx,
                                        &od, &attrs, NULL);
        if (st != SEC_I_CONTINUE_NEEDED)
                return false;
        DeleteSecurityContext(&ctx);
        ret->p = malloc(ob.cbBuffer);
        if (!ret->p)
                return false;
        memcpy(ret->p, out, ob.cbBuffer);
        ret->n = ob.cbBuffer;
        return true;
}

/* AcceptSecurityContext on a fresh context; the context is deleted. */
static SECURITY_STATUS accept_tok(CredHandle *sc, const uint8_t *p, size_t n) {
        uint8_t out[12288];
        SecBuffer ib = { (ULONG) n, SECBUFFER_TOKEN, (void *) p }, ob = { sizeof(out), SECBUFFER_TOKEN, out };
        SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle ctx;
        ULONG attrs;
        SECURITY_STATUS st;

        st = AcceptSecurityContext(sc, NULL, &id, 0, SECURITY_NATIVE_DREP, &ctx, &od, &attrs, NULL);
        if (st >= 0)
                DeleteSecurityContext(&ctx);
        return st;
}

/* Offset of the first ap-options octet: pvno [0] 5, msg-type [1] 14,
 * then a2 07 03 05 00 and the four octets. */
static size_t ap_options_at(const Tok *t) {
        static const uint8_t pat[] = { 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02,
                                       0x01, 0x0e, 0xa2, 0x07, 0x03, 0x05, 0x00 };
        for (size_t i = 0; i + sizeof(pat) + 4 <= t->n; i++)
                if (!memcmp(t->p + i, pat, sizeof(pat)))
                        return i + sizeof(pat);
        return 0;
}

/* ---- a small DER writer for the variants --------------------------------- */

typedef struct Out {
        uint8_t b[16384];
        size_t n;
} Out;

/* tag, length (`extra` leading zero octets: non-canonical when > 0),
 * contents. */
static Tok tlv(uint8_t tag, const uint8_t *v, size_t n, unsigned extra) {
        Out *o = calloc(1, sizeof(*o));
        uint8_t len[8];
        size_t ln = 0;
        Tok r;

        if (n < 0x80 && !extra)
                len[ln++] = (uint8_t) n;
        else {
                size_t k = n > 0xff ? 2 : 1;
                len[ln++] = (uint8_t) (0x80 | (k + extra));
                for (unsigned i = 0; i < extra; i++)
                        len[ln++] = 0;
                if (k == 2)
                        len[ln++] = (uint8_t) (n >> 8);
                len[ln++] = (uint8_t) n;
        }
        o->b[o->n++] = tag;
        memcpy(o->b + o->n, len, ln);
        o->n += ln;
        memcpy(o->b + o->n, v, n);
        o->n += n;
        r = (Tok) { malloc(o->n), o->n };
        memcpy(r.p, o->b, o->n);
        free(o);
        return r;
}

static Tok cat(Tok a, const uint8_t *b, size_t n) {
        Tok r = { malloc(a.n + n), a.n + n };
        memcpy(r.p, a.p, a.n);
        memcpy(r.p + a.n, b, n);
        tok_free(&a);
        return r;
}

static Tok wrap(uint8_t tag, Tok inner, unsigned extra) {
        Tok r = tlv(tag, inner.p, inner.n, extra);
        tok_free(&inner);
        return r;
}

static const uint8_t OID_KRB5[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02 };
static const uint8_t OID_SPNEGO[] = { 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };

/* The GSS framing of RFC 2743 around a raw AP-REQ. */
static Tok gss_frame(const uint8_t *ap, size_t n, unsigned extra) {
        Tok body = { malloc(sizeof(OID_KRB5) + 2 + n), sizeof(OID_KRB5) + 2 + n };
        memcpy(body.p, OID_KRB5, sizeof(OID_KRB5));
        memcpy(body.p + sizeof(OID_KRB5), "\x01\x00", 2);
        memcpy(body.p + sizeof(OID_KRB5) + 2, ap, n);
        return wrap(0x60, body, extra);
}

/* NegTokenInit { mechTypes { krb5 }, mechToken token } (RFC 4178). */
static Tok spnego_init(const Tok *token, unsigned extra) {
        Tok mechs = wrap(0xa0, tlv(0x30, OID_KRB5, sizeof(OID_KRB5), 0), 0);
        Tok tokf = wrap(0xa2, tlv(0x04, token->p, token->n, 0), 0);
        Tok seq = cat(mechs, tokf.p, tokf.n);
        Tok body = { malloc(sizeof(OID_SPNEGO)), sizeof(OID_SPNEGO) };

        tok_free(&tokf);
        memcpy(body.p, OID_SPNEGO, sizeof(OID_SPNEGO));
        seq = wrap(0xa0, wrap(0x30, seq, 0), 0);
        body = cat(body, seq.p, seq.n);
        tok_free(&seq);
        return wrap(0x60, body, extra);
}

/* The raw AP-REQ inside a GSS-framed token (60 82 LL LL 06 09 OID 01 00). */
static Tok raw_ap_req(const Tok *t) {
        size_t at = 4 + sizeof(OID_KRB5) + 2;
        Tok r = { malloc(t->n - at), t->n - at };
        memcpy(r.p, t->p + at, r.n);
        return r;
}

/* ---- the runs ---------------------------------------------------------------- */

typedef struct Figures {
        unsigned flips_refused, flips_accepted, spnego_flips_refused;
} Figures;

/* Accept `ap` once, then replay it with each ap-options bit flipped:
 * how many flips came back `want`. */
static unsigned flip_all(CredHandle *sc, Tok *ap, SECURITY_STATUS want, bool spnego) {
        size_t opt = ap_options_at(ap);
        unsigned hits = 0;

        for (unsigned bit = 0; opt && bit < 32; bit++) {
                Tok t;
                SECURITY_STATUS st;

                ap->p[opt + bit / 8] ^= (uint8_t) (0x80 >> (bit % 8));
                if (spnego) {
                        t = spnego_init(ap, 0);
                        st = accept_tok(sc, t.p, t.n);
                        tok_free(&t);
                } else
                        st = accept_tok(sc, ap->p, ap->n);
                ap->p[opt + bit / 8] ^= (uint8_t) (0x80 >> (bit % 8));
                if (st == want)
                        hits++;
                else
                        printf("# %s ap-options bit %u: %s\n", spnego ? "SPNEGO" : "Kerberos", bit, status_name(st));
        }
        return hits;
}

/* The positive control: replay-cache = 0. */
static void control_run(void) {
        TDaemon d;
        CredHandle cc, sc;
        Tok ap = {};
        unsigned accepted;

        if (!t_daemon_start(&d, "\n[kerberos]\nreplay-cache = 0\n[daemon]", NULL)) {
                t_ok(false, "control: daemon with replay-cache = 0 starts");
                return;
        }
        if (!t_status(t_cred_password("alice", "alice-pw-1", &cc), SEC_E_OK, "control: alice's credential") ||
            !t_status(t_cred_service(NULL, &sc), SEC_E_OK, "control: root's acceptor credential")) {
                t_daemon_stop(&d);
                return;
        }
        t_ok(fresh_ap_req(&cc, &ap), "control: captured an AP-REQ");
        t_status(accept_tok(&sc, ap.p, ap.n), SEC_E_OK, "control: the AP-REQ is accepted");
        t_status(accept_tok(&sc, ap.p, ap.n), SEC_E_OK,
                 "control: without a replay cache the unmodified replay is accepted too (the attack bites)");
        accepted = flip_all(&sc, &ap, SEC_E_OK, false);
        printf("# control (replay-cache = 0): %u of 32 ap-options bit flips accepted\n", accepted);
        /* use-session-key (bit 1) needs a TGT the acceptor lacks: Heimdal
         * refuses that one flip on its own. */
        t_ok(accepted >= 31, "control: flipped replays accepted without the cache (%u of 32)", accepted);
        tok_free(&ap);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
        t_daemon_stop(&d);
}

int main(void) {
        TDaemon d;
        CredHandle cc, sc, nc;
        Tok ap = {}, raw = {}, t = {}, fresh = {};
        long before_ms, after_ms, rss0, rss1, cpu0, cpu1, log0, log1;
        unsigned n;
        bool ok;
        TimeStamp ts;

        control_run();

        if (!t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        before_ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(before_ms >= 0, "victim served before the replays (%ld ms)", before_ms);
        rss0 = t_proc_rss_kib(d.pid);
        cpu0 = t_proc_cpu_ms(d.pid);
        log0 = t_file_size(d.log);

        if (!t_status(t_cred_password("alice", "alice-pw-1", &cc), SEC_E_OK, "alice's credential") ||
            !t_status(t_cred_service(NULL, &sc), SEC_E_OK, "root's Kerberos acceptor credential") ||
            !t_status(AcquireCredentialsHandleA(NULL, "Negotiate", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &nc,
                                                &ts),
                      SEC_E_OK, "root's Negotiate acceptor credential")) {
                t_daemon_stop(&d);
                return t_done();
        }

        /* The victim's handshake: its AP-REQ is accepted once. */
        ok = fresh_ap_req(&cc, &ap) && ap_options_at(&ap) > 0;
        t_ok(ok, "captured the victim's AP-REQ (%zu bytes)", ap.n);
        if (!ok) {
                t_daemon_stop(&d);
                return t_done();
        }
        raw = raw_ap_req(&ap);
        t_status(accept_tok(&sc, ap.p, ap.n), SEC_E_OK, "the victim's AP-REQ is accepted");

        /* Replays, however dressed. */
        t_status(accept_tok(&sc, ap.p, ap.n), SEC_E_OUT_OF_SEQUENCE, "unmodified replay refused");
        n = flip_all(&sc, &ap, SEC_E_OUT_OF_SEQUENCE, false);
        t_ok(n == 32, "every single ap-options bit flip (32) refused as a replay (%u)", n);
        t_status(accept_tok(&sc, raw.p, raw.n), SEC_E_OUT_OF_SEQUENCE, "the unframed (raw) AP-REQ refused as a replay");

        /* Non-canonical framing. */
        t = gss_frame(raw.p, raw.n, 1);
        t_status(accept_tok(&sc, t.p, t.n), SEC_E_INVALID_TOKEN, "long-form GSS length (extra zero octet) refused");
        tok_free(&t);
        {
                Tok re = tlv(raw.p[0], raw.p + 4, raw.n - 4, 1); /* 6e 82 LL LL -> 6e 83 00 LL LL */
                t_ok(raw.p[1] == 0x82, "the AP-REQ length is in two octets");
                t = gss_frame(re.p, re.n, 0);
                t_status(accept_tok(&sc, t.p, t.n), SEC_E_INVALID_TOKEN, "long-form AP-REQ length refused");
                tok_free(&t);
                t_status(accept_tok(&sc, re.p, re.n), SEC_E_INVALID_TOKEN, "long-form raw AP-REQ length refused");
                tok_free(&re);
        }
        {
                Tok body = { malloc(raw.n + 5), raw.n + 5 };
                memcpy(body.p, raw.p, raw.n);
                memcpy(body.p + raw.n, "\x04\x03xyz", 5);
                t = gss_frame(body.p, body.n, 0);
                t_status(accept_tok(&sc, t.p, t.n), SEC_E_INVALID_TOKEN, "trailing element inside the GSS frame refused");
                tok_free(&t);
                t_status(accept_tok(&sc, body.p, body.n), SEC_E_INVALID_TOKEN, "trailing bytes after a raw AP-REQ refused");
                tok_free(&body);
                t = cat((Tok) { memcpy(malloc(ap.n), ap.p, ap.n), ap.n }, (const uint8_t *) "zz", 2);
                t_status(accept_tok(&sc, t.p, t.n), SEC_E_INVALID_TOKEN,
                         "bytes after the GSS frame (its length disagrees) refused");
                tok_free(&t);
        }

        /* The same through Negotiate: SPNEGO around the captured AP-REQ. */
        t = spnego_init(&ap, 0);
        t_status(accept_tok(&nc, t.p, t.n), SEC_E_OUT_OF_SEQUENCE, "Negotiate: SPNEGO-wrapped replay refused");
        tok_free(&t);
        t = spnego_init(&ap, 1);
        {
                SECURITY_STATUS st = accept_tok(&nc, t.p, t.n);
                t_ok(st == SEC_E_OUT_OF_SEQUENCE || st == SEC_E_INVALID_TOKEN,
                     "Negotiate: replay in a re-framed SPNEGO token refused (%s)", status_name(st));
        }
        tok_free(&t);
        n = flip_all(&nc, &ap, SEC_E_OUT_OF_SEQUENCE, true);
        t_ok(n == 32, "Negotiate: every ap-options bit flip (32) inside SPNEGO refused as a replay (%u)", n);
        t_status(accept_tok(&nc, ap.p, ap.n), SEC_E_OUT_OF_SEQUENCE,
                 "Negotiate: the raw Kerberos token (no SPNEGO) refused as a replay");
        t = gss_frame(raw.p, raw.n, 1);
        {
                Tok s = spnego_init(&t, 0);
                t_status(accept_tok(&nc, s.p, s.n), SEC_E_INVALID_TOKEN,
                         "Negotiate: long-form GSS length inside SPNEGO refused");
                tok_free(&s);
        }
        tok_free(&t);

        /* Fresh AP-REQs are still accepted, directly and through SPNEGO. */
        t_ok(fresh_ap_req(&cc, &fresh), "a fresh AP-REQ");
        t_status(accept_tok(&sc, fresh.p, fresh.n), SEC_E_OK, "a fresh AP-REQ is accepted");
        tok_free(&fresh);
        t_ok(fresh_ap_req(&cc, &fresh), "another fresh AP-REQ");
        t = spnego_init(&fresh, 0);
        {
                SECURITY_STATUS st = accept_tok(&nc, t.p, t.n);
                t_ok(st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED, "Negotiate: a fresh SPNEGO-wrapped AP-REQ accepted (%s)",
                     status_name(st));
        }
        tok_free(&t);
        tok_free(&fresh);

        after_ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(after_ms >= 0 && after_ms < 5000, "victim served after the replays (%ld ms)", after_ms);
        rss1 = t_proc_rss_kib(d.pid);
        cpu1 = t_proc_cpu_ms(d.pid);
        log1 = t_file_size(d.log);
        printf("# victim round: %ld ms before, %ld ms after\n", before_ms, after_ms);
        printf("# daemon: RSS %ld -> %ld KiB, CPU %ld ms, log +%ld bytes\n", rss0, rss1, cpu1 - cpu0, log1 - log0);
        t_ok(rss1 - rss0 < 32 * 1024, "daemon RSS growth bounded (%ld KiB)", rss1 - rss0);
        t_ok(log1 - log0 < 256 * 1024, "daemon log growth bounded (%ld bytes)", log1 - log0);

        tok_free(&ap);
        tok_free(&raw);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
        FreeCredentialsHandle(&nc);
        t_daemon_stop(&d);
        return t_done();
}
