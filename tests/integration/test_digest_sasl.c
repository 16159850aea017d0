/* SPDX-License-Identifier: MIT */
/*
 * WDigest's SASL mode (DIGEST-MD5, RFC 2831) through the daemon, against a
 * peer that is not ours: Cyrus SASL's DIGEST-MD5 plugin behind
 * tests/tools/sasl-peer (build/tests/tools/sasl-peer). Both directions
 * (our client to a Cyrus server, a Cyrus client to our server), with
 * qop=auth, auth-int and auth-conf, every message checked byte for byte
 * through the peer's sasl_encode/sasl_decode. Then our client against our
 * server (3des, which Debian's Cyrus cannot run: see below), the failures,
 * and the async calls.
 *
 * Sources: Microsoft docs "InitializeSecurityContext (Digest)" and
 * "AcceptSecurityContext (Digest)" (omitting ISC_REQ_HTTP / ASC_REQ_HTTP
 * selects SASL; "SASL requires only buffer zero"), "EncryptMessage
 * (Digest)" (a DATA buffer and a second PADDING buffer of cbMaxSignature +
 * cbBlockSize from SECPKG_ATTR_SIZES; MessageSeqNo zero, the package keeps
 * the sequence numbers), RFC 2831 §2.1-2.4 for the wire.
 *
 * Cyrus 2.1.28 on OpenSSL 3 runs rc4 only with OpenSSL's legacy provider
 * (EVP_rc4), so the peer gets an OPENSSL_CONF that activates it; its 3des
 * and des fail on OpenSSL 3 (DES_key_sched now checks the key parity that
 * RFC 2831's key derivation never sets: "failed to init cipher"), so
 * auth-conf against Cyrus is rc4.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define TOK_MAX 4096
/* t_ok that also yields the condition. */
#define T_OK(cond, ...) ({ bool _c = (cond); t_ok(_c, __VA_ARGS__); _c; })
#define SASL_SIG 16
#define SECQOP_WRAP_NO_ENCRYPT 0x80000001U

static const char *realm;
static char tmpdir[64], peer_bin[512], ossl_conf[128];

typedef struct Peer {
        pid_t pid;
        FILE *in, *out; /* in: what the peer says; out: what we tell it */
} Peer;

static bool peer_start(Peer *p, bool server, int min_ssf, int max_ssf, const char *user, const char *pass,
                       const char *prealm) {
        int to[2], from[2];
        char lo[16], hi[16], db[128];

        snprintf(lo, sizeof(lo), "%d", min_ssf);
        snprintf(hi, sizeof(hi), "%d", max_ssf);
        snprintf(db, sizeof(db), "%s/sasldb-%d", tmpdir, (int) getpid());
        unlink(db);
        if (pipe(to) < 0 || pipe(from) < 0)
                return false;
        p->pid = fork();
        if (p->pid < 0)
                return false;
        if (p->pid == 0) {
                dup2(to[0], 0);
                dup2(from[1], 1);
                close(to[1]);
                close(from[0]);
                setenv("OPENSSL_CONF", ossl_conf, 1);
                if (server)
                        execl(peer_bin, peer_bin, "server", "ldap", "sspid-sasl.test", lo, hi, user, pass, prealm, db,
                              (char *) NULL);
                else
                        execl(peer_bin, peer_bin, "client", "ldap", "sspid-sasl.test", lo, hi, user, pass, prealm,
                              (char *) NULL);
                _exit(127);
        }
        close(to[0]);
        close(from[1]);
        p->in = fdopen(from[0], "r");
        p->out = fdopen(to[1], "w");
        return p->in && p->out;
}

static void peer_stop(Peer *p) {
        int status;
        if (p->out)
                fclose(p->out);
        if (p->in)
                fclose(p->in);
        if (p->pid > 0)
                waitpid(p->pid, &status, 0);
        *p = (Peer) {};
}

/* One line from the peer: its tag and payload bytes; false at EOF. */
static bool peer_read(Peer *p, char tag[8], uint8_t *data, size_t cap, size_t *ret_len, char *rest, size_t rest_cap) {
        static char line[1 << 17];
        char *sp, *hex, *tail;
        size_t hl;

        if (!fgets(line, sizeof(line), p->in))
                return false;
        line[strcspn(line, "\n")] = '\0';
        sp = strchr(line, ' ');
        if (!sp || sp - line >= 8)
                return false;
        memcpy(tag, line, (size_t) (sp - line));
        tag[sp - line] = '\0';
        hex = sp + 1;
        tail = strchr(hex, ' ');
        if (tail)
                *tail++ = '\0';
        if (rest)
                snprintf(rest, rest_cap, "%s", tail ? tail : "");
        if (!strcmp(tag, "ERR")) {
                *ret_len = 0;
                if (rest)
                        snprintf(rest, rest_cap, "%s %s", hex, tail ? tail : "");
                return true;
        }
        hl = strcmp(hex, "-") ? strlen(hex) : 0;
        if (hl / 2 > cap || hl % 2)
                return false;
        for (size_t i = 0; i < hl / 2; i++) {
                unsigned v;
                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return false;
                data[i] = (uint8_t) v;
        }
        *ret_len = hl / 2;
        return true;
}

static void peer_write(Peer *p, const char *tag, const void *data, size_t len) {
        const uint8_t *d = data;
        fprintf(p->out, "%s ", tag);
        if (len == 0)
                fputc('-', p->out);
        for (size_t i = 0; i < len; i++)
                fprintf(p->out, "%02x", d[i]);
        fputc('\n', p->out);
        fflush(p->out);
}

static SECURITY_STATUS isc(CredHandle *cc, CtxtHandle *ctx, bool have_ctx, const char *target, ULONG flags,
                           const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len, ULONG *attrs) {
        SecBuffer ib = { (ULONG) in_len, SECBUFFER_TOKEN, (void *) in }, ob = { TOK_MAX, SECBUFFER_TOKEN, out };
        SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
        SECURITY_STATUS st = InitializeSecurityContextA(cc, have_ctx ? ctx : NULL, (char *) target, flags, 0, 0,
                                                        in ? &id : NULL, 0, ctx, &od, attrs, NULL);
        *out_len = st >= 0 ? ob.cbBuffer : 0;
        return st;
}

static SECURITY_STATUS asc(CredHandle *sc, CtxtHandle *ctx, bool have_ctx, ULONG flags, const uint8_t *in,
                           size_t in_len, uint8_t *out, size_t *out_len, ULONG *attrs) {
        SecBuffer ib = { (ULONG) in_len, SECBUFFER_TOKEN, (void *) in }, ob = { TOK_MAX, SECBUFFER_TOKEN, out };
        SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
        SECURITY_STATUS st = AcceptSecurityContext(sc, have_ctx ? ctx : NULL, &id, flags, 0, ctx, &od, attrs, NULL);
        *out_len = st >= 0 ? ob.cbBuffer : 0;
        return st;
}

/* EncryptMessage (seal) or MakeSignature: DATA + PADDING/TOKEN, the wire
 * form is their concatenation. */
static SECURITY_STATUS wrap(CtxtHandle *ctx, bool seal, const uint8_t *msg, size_t len, uint8_t *wire, size_t *wlen) {
        uint8_t data[4096], trailer[64];
        SecBuffer b[2] = { { (ULONG) len, SECBUFFER_DATA, data },
                           { sizeof(trailer), seal ? SECBUFFER_PADDING : SECBUFFER_TOKEN, trailer } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        SECURITY_STATUS st;

        memcpy(data, msg, len);
        st = seal ? EncryptMessage(ctx, 0, &d, 0) : MakeSignature(ctx, 0, &d, 0);
        if (st != SEC_E_OK)
                return st;
        memcpy(wire, data, b[0].cbBuffer);
        memcpy(wire + b[0].cbBuffer, trailer, b[1].cbBuffer);
        *wlen = b[0].cbBuffer + b[1].cbBuffer;
        return st;
}

/* DecryptMessage of the whole message in one DATA buffer (split: DATA
 * holds all but the last 16 bytes, a TOKEN the rest; VerifySignature). */
static SECURITY_STATUS unwrap(CtxtHandle *ctx, bool unseal, bool split, const uint8_t *wire, size_t wlen,
                              uint8_t *out, size_t *out_len, ULONG *qop) {
        uint8_t data[4096], tok[64];
        size_t dl = split ? wlen - SASL_SIG : wlen;
        SecBuffer b[2] = { { (ULONG) dl, SECBUFFER_DATA, data }, { split ? SASL_SIG : 0, SECBUFFER_TOKEN, tok } };
        SecBufferDesc d = { SECBUFFER_VERSION, split ? 2 : 1, b };
        SECURITY_STATUS st;

        if (wlen > sizeof(data) || (split && wlen < SASL_SIG))
                return SEC_E_INTERNAL_ERROR;
        memcpy(data, wire, dl);
        if (split)
                memcpy(tok, wire + dl, SASL_SIG);
        st = unseal ? DecryptMessage(ctx, &d, 0, qop) : VerifySignature(ctx, &d, 0, qop);
        if (st == SEC_E_OK) {
                memcpy(out, data, b[0].cbBuffer);
                *out_len = b[0].cbBuffer;
        }
        return st;
}

static const char *const msgs[] = {
        "first message", "", "a message of exactly 22", "x",
        "The quick brown fox jumps over the lazy dog, twice: The quick brown fox jumps over the lazy dog.",
};

/* Messages both ways through the peer's security layer. */
static void exchange(Peer *p, CtxtHandle *ctx, bool conf, const char *what) {
        uint8_t wire[8192], got[8192];
        size_t wl, gl;
        char tag[8], rest[256];
        int ok_out = 0, ok_in = 0, n = (int) (sizeof(msgs) / sizeof(msgs[0]));
        ULONG qop = 12345;
        SECURITY_STATUS st;

        for (int i = 0; i < n; i++) {
                size_t ml = strlen(msgs[i]);
                if (ml == 0)
                        continue; /* Cyrus' sasl_encode refuses an empty message */
                /* ours -> peer: alternate EncryptMessage and (integrity) MakeSignature */
                st = wrap(ctx, conf || i % 2 == 0, (const uint8_t *) msgs[i], ml, wire, &wl);
                if (st != SEC_E_OK) {
                        t_status(st, SEC_E_OK, "%s: wrap message %d", what, i);
                        continue;
                }
                if (!conf)
                        t_ok(wl == ml + SASL_SIG && !memcmp(wire, msgs[i], ml),
                             "%s: integrity only: message %d travels in clear plus 16 bytes", what, i);
                else
                        t_ok(wl > ml + SASL_SIG - 1 && memcmp(wire, msgs[i], ml) != 0,
                             "%s: message %d is encrypted on the wire", what, i);
                peer_write(p, "D", wire, wl);
                if (peer_read(p, tag, got, sizeof(got), &gl, rest, sizeof(rest)) && !strcmp(tag, "P") && gl == ml &&
                    !memcmp(got, msgs[i], ml))
                        ok_out++;
                else
                        t_ok(false, "%s: peer decoded message %d: %s %s", what, i, tag, rest);
                /* peer -> ours */
                peer_write(p, "E", msgs[i], ml);
                if (!peer_read(p, tag, wire, sizeof(wire), &wl, rest, sizeof(rest)) || strcmp(tag, "W")) {
                        t_ok(false, "%s: peer encoded message %d: %s %s", what, i, tag, rest);
                        continue;
                }
                st = unwrap(ctx, conf || i % 2 == 0, i % 2 == 1, wire, wl, got, &gl, &qop);
                if (st == SEC_E_OK && gl == ml && !memcmp(got, msgs[i], ml))
                        ok_in++;
                else
                        t_status(st, SEC_E_OK, "%s: our unwrap of the peer's message %d", what, i);
        }
        t_ok(ok_out == n - 1, "%s: %d/%d messages of ours decoded by Cyrus byte for byte", what, ok_out, n - 1);
        t_ok(ok_in == n - 1, "%s: %d/%d messages of Cyrus' decoded by us byte for byte", what, ok_in, n - 1);

        /* A replayed message is out of sequence; a tampered one altered. */
        peer_write(p, "E", "replay me", 9);
        if (peer_read(p, tag, wire, sizeof(wire), &wl, rest, sizeof(rest)) && !strcmp(tag, "W")) {
                t_status(unwrap(ctx, true, false, wire, wl, got, &gl, &qop), SEC_E_OK, "%s: fresh message", what);
                t_status(unwrap(ctx, true, false, wire, wl, got, &gl, &qop), SEC_E_OUT_OF_SEQUENCE,
                         "%s: the same message again: SEC_E_OUT_OF_SEQUENCE", what);
        }
        peer_write(p, "E", "tamper with me", 14);
        if (peer_read(p, tag, wire, sizeof(wire), &wl, rest, sizeof(rest)) && !strcmp(tag, "W")) {
                wire[3] ^= 0x40;
                t_status(unwrap(ctx, true, false, wire, wl, got, &gl, &qop), SEC_E_MESSAGE_ALTERED,
                         "%s: one bit flipped: SEC_E_MESSAGE_ALTERED", what);
        }
}

static const struct Layer {
        const char *name;
        int ssf;
        ULONG isc, asc;
        bool conf;
} layers[] = {
        { "auth", 0, 0, 0, false },
        { "auth-int", 1, ISC_REQ_INTEGRITY, ASC_REQ_INTEGRITY, false },
        { "auth-conf/rc4", 128, ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY,
          ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY, true },
};

/* Our client (InitializeSecurityContext, no ISC_REQ_HTTP) to a Cyrus server. */
static void test_our_client(const struct Layer *l) {
        Peer p = {};
        CredHandle cc;
        CtxtHandle ctx;
        uint8_t in[TOK_MAX], out[TOK_MAX];
        size_t il, ol;
        ULONG attrs = 0;
        char tag[8], rest[256], what[64];
        SECURITY_STATUS st;

        snprintf(what, sizeof(what), "client->Cyrus %s", l->name);
        if (!T_OK(peer_start(&p, true, l->ssf, l->ssf, "alice", "alice-pw-1", "CYRUS.REALM"), "%s: peer", what))
                return;
        if (t_status(t_cred_identity(WDIGEST_SP_NAME_A, "alice", NULL, "alice-pw-1", &cc), SEC_E_OK, "%s: cred",
                     what)) {
                st = isc(&cc, &ctx, false, "ldap/sspid-sasl.test", l->isc, NULL, 0, out, &ol, &attrs);
                t_status(st, SEC_I_CONTINUE_NEEDED, "%s: first call: no challenge yet", what);
                t_ok(ol == 0, "%s: ... and an empty token", what);
                if (peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest)) && !strcmp(tag, "T")) {
                        st = isc(&cc, &ctx, true, "ldap/sspid-sasl.test", l->isc, in, il, out, &ol, &attrs);
                        t_status(st, SEC_I_CONTINUE_NEEDED, "%s: digest-response", what);
                        peer_write(&p, "T", out, ol);
                        /* Cyrus answers rspauth and waits for an empty response. */
                        if (peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest)) && !strcmp(tag, "T")) {
                                st = isc(&cc, &ctx, true, "ldap/sspid-sasl.test", l->isc, in, il, out, &ol, &attrs);
                                t_status(st, SEC_E_OK, "%s: rspauth checked", what);
                                t_ok(attrs & ISC_RET_MUTUAL_AUTH, "%s: ISC_RET_MUTUAL_AUTH", what);
                                t_ok(!!(attrs & ISC_RET_CONFIDENTIALITY) == l->conf &&
                                             !!(attrs & ISC_RET_INTEGRITY) == (l->ssf > 0),
                                     "%s: ISC_RET_CONFIDENTIALITY/INTEGRITY as negotiated (0x%lx)", what,
                                     (unsigned long) attrs);
                                peer_write(&p, "T", "", 0);
                                t_ok(peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest)) &&
                                             !strcmp(tag, "OK") && atoi(rest) == l->ssf && strstr(rest, "alice"),
                                     "%s: Cyrus authenticated alice with SSF %d (%s %s)", what, l->ssf, tag, rest);
                                if (l->ssf > 0)
                                        exchange(&p, &ctx, l->conf, what);
                                else {
                                        uint8_t w[64];
                                        size_t wl;
                                        t_status(wrap(&ctx, true, (const uint8_t *) "x", 1, w, &wl),
                                                 SEC_E_QOP_NOT_SUPPORTED, "%s: no layer: EncryptMessage", what);
                                }
                        } else
                                t_ok(false, "%s: Cyrus refused our response: %s %s", what, tag, rest);
                        DeleteSecurityContext(&ctx);
                } else
                        t_ok(false, "%s: no challenge from Cyrus: %s %s", what, tag, rest);
                FreeCredentialsHandle(&cc);
        }
        peer_stop(&p);
}

/* A Cyrus client to our server (AcceptSecurityContext, no ASC_REQ_HTTP). */
static void test_our_server(const struct Layer *l) {
        Peer p = {};
        CredHandle sc;
        CtxtHandle ctx;
        TimeStamp ts;
        uint8_t in[TOK_MAX], out[TOK_MAX];
        size_t il, ol;
        ULONG attrs = 0;
        char tag[8], rest[256], what[64];
        SECURITY_STATUS st;

        snprintf(what, sizeof(what), "Cyrus->server %s", l->name);
        if (!T_OK(peer_start(&p, false, l->ssf, l->ssf, "alice", "alice-pw-1", realm), "%s: peer", what))
                return;
        st = AcquireCredentialsHandleA("md5", "WDigest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts);
        if (t_status(st, SEC_E_OK, "%s: store credential", what)) {
                /* The Cyrus client starts with nothing to send. */
                t_ok(peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest)) && !strcmp(tag, "T") && il == 0,
                     "%s: the client has no initial response", what);
                st = asc(&sc, &ctx, false, l->asc, NULL, 0, out, &ol, &attrs);
                t_status(st, SEC_I_CONTINUE_NEEDED, "%s: digest-challenge", what);
                t_ok(ol > 0 && memmem(out, ol, "algorithm=md5-sess", 18) && memmem(out, ol, "charset=utf-8", 13),
                     "%s: the challenge has algorithm=md5-sess, charset=utf-8", what);
                peer_write(&p, "T", out, ol);
                if (peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest)) && !strcmp(tag, "T")) {
                        st = asc(&sc, &ctx, true, l->asc, in, il, out, &ol, &attrs);
                        t_status(st, SEC_E_OK, "%s: Cyrus' digest-response verified", what);
                        t_ok(ol > 8 && !memcmp(out, "rspauth=", 8), "%s: rspauth in the output token", what);
                        t_ok(!!(attrs & ASC_RET_CONFIDENTIALITY) == l->conf &&
                                     !!(attrs & ASC_RET_INTEGRITY) == (l->ssf > 0),
                             "%s: ASC_RET flags as negotiated (0x%lx)", what, (unsigned long) attrs);
                        {
                                SecPkgContext_NamesA n = {};
                                SecPkgContext_Sizes sz = {};
                                if (t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_NAMES, &n), SEC_E_OK,
                                             "%s: NAMES", what)) {
                                        t_ok(n.sUserName && !strcmp(n.sUserName, "alice"), "%s: the client is alice",
                                             what);
                                        FreeContextBuffer(n.sUserName);
                                }
                                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: SIZES",
                                         what);
                                t_ok(sz.cbMaxSignature == (l->ssf ? 16u : 0u) && sz.cbBlockSize == 0 &&
                                             sz.cbSecurityTrailer == (l->ssf ? 16u : 0u),
                                     "%s: SIZES %lu/%lu/%lu", what, (unsigned long) sz.cbMaxSignature,
                                     (unsigned long) sz.cbBlockSize, (unsigned long) sz.cbSecurityTrailer);
                        }
                        peer_write(&p, "T", out, ol);
                        t_ok(peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest)) && !strcmp(tag, "OK") &&
                                     atoi(rest) == l->ssf,
                             "%s: Cyrus checked our rspauth, SSF %d (%s %s)", what, l->ssf, tag, rest);
                        t_status(asc(&sc, &ctx, true, l->asc, in, 1, out, &ol, &attrs),
                                 (SECURITY_STATUS) 0xC000006DL, "%s: ASC after success: STATUS_LOGON_FAILURE", what);
                        if (l->ssf > 0)
                                exchange(&p, &ctx, l->conf, what);
                } else
                        t_ok(false, "%s: Cyrus refused our challenge: %s %s", what, tag, rest);
                DeleteSecurityContext(&ctx);
                FreeCredentialsHandle(&sc);
        }
        peer_stop(&p);
}

/* Wrong passwords, both ways. */
static void test_wrong_password(void) {
        Peer p = {};
        CredHandle cc, sc;
        CtxtHandle ctx;
        TimeStamp ts;
        uint8_t in[TOK_MAX], out[TOK_MAX];
        size_t il, ol;
        ULONG attrs;
        char tag[8], rest[256];

        /* A Cyrus client with the wrong password: SEC_E_LOGON_DENIED. */
        if (peer_start(&p, false, 0, 0, "alice", "not-alice-pw", realm) &&
            AcquireCredentialsHandleA("md5", "WDigest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts) ==
                    SEC_E_OK) {
                peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest));
                asc(&sc, &ctx, false, 0, NULL, 0, out, &ol, &attrs);
                peer_write(&p, "T", out, ol);
                if (peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest)))
                        t_status(asc(&sc, &ctx, true, 0, in, il, out, &ol, &attrs), SEC_E_LOGON_DENIED,
                                 "Cyrus client, wrong password: SEC_E_LOGON_DENIED");
                /* A failed first leg on an existing context keeps it. */
                DeleteSecurityContext(&ctx);
                FreeCredentialsHandle(&sc);
        }
        peer_stop(&p);

        /* Our client with the wrong password: the Cyrus server refuses. */
        if (peer_start(&p, true, 0, 0, "alice", "alice-pw-1", "CYRUS.REALM") &&
            t_cred_identity(WDIGEST_SP_NAME_A, "alice", NULL, "wrong-pw", &cc) == SEC_E_OK) {
                isc(&cc, &ctx, false, "ldap/sspid-sasl.test", 0, NULL, 0, out, &ol, &attrs);
                if (peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest))) {
                        isc(&cc, &ctx, true, "ldap/sspid-sasl.test", 0, in, il, out, &ol, &attrs);
                        peer_write(&p, "T", out, ol);
                        t_ok(peer_read(&p, tag, in, sizeof(in), &il, rest, sizeof(rest)) && !strcmp(tag, "ERR"),
                             "our client, wrong password: Cyrus refuses (%s %s)", tag, rest);
                }
                DeleteSecurityContext(&ctx);
                FreeCredentialsHandle(&cc);
        }
        peer_stop(&p);
}

/* ISC/ASC, synchronously or through the Sspi*Async calls. */
static SECURITY_STATUS step(bool async, bool server, CredHandle *cred, CtxtHandle *ctx, bool have_ctx, ULONG flags,
                            const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len, ULONG *attrs) {
        SecBuffer ib = { (ULONG) in_len, SECBUFFER_TOKEN, (void *) in }, ob = { TOK_MAX, SECBUFFER_TOKEN, out };
        SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
        SspiAsyncContext *ac;
        SECURITY_STATUS st;

        if (!async)
                return server ? asc(cred, ctx, have_ctx, flags, in, in_len, out, out_len, attrs)
                              : isc(cred, ctx, have_ctx, "imap/mail.example", flags, in, in_len, out, out_len, attrs);
        ac = SspiCreateAsyncContext();
        if (!ac)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = server ? SspiAcceptSecurityContextAsync(ac, cred, have_ctx ? ctx : NULL, &id, flags, 0, ctx, &od, attrs,
                                                     NULL)
                    : SspiInitializeSecurityContextAsyncA(ac, cred, have_ctx ? ctx : NULL, "imap/mail.example", flags,
                                                          0, 0, in ? &id : NULL, 0, ctx, &od, attrs, NULL);
        if (st == SEC_E_OK)
                while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                        usleep(50);
        SspiFreeAsyncContext(ac);
        *out_len = st >= 0 ? ob.cbBuffer : 0;
        return st;
}

/* Our client against our server; `only3des` edits the server's offer to
 * cipher="3des" (the challenge is not protected; RFC 2831 lets the client
 * pick from the list). */
static bool ours_handshake(bool async, bool only3des, CredHandle *cc, CredHandle *sc, ULONG iflags, ULONG aflags,
                           CtxtHandle *cctx, CtxtHandle *sctx, const char *what) {
        uint8_t a[TOK_MAX], b[TOK_MAX];
        size_t al, bl;
        ULONG attrs;
        bool ok;

        ok = t_status(step(async, false, cc, cctx, false, iflags, NULL, 0, a, &al, &attrs), SEC_I_CONTINUE_NEEDED,
                      "%s: ISC without a challenge", what);
        ok = ok && t_status(step(async, true, sc, sctx, false, aflags, a, al, b, &bl, &attrs), SEC_I_CONTINUE_NEEDED,
                            "%s: ASC challenge", what);
        if (ok && only3des) {
                char *c = memmem(b, bl, "rc4,3des", 8);
                if (c) {
                        memmove(c, c + 4, bl - (size_t) (c + 4 - (char *) b));
                        bl -= 4;
                }
        }
        ok = ok && t_status(step(async, false, cc, cctx, true, iflags, b, bl, a, &al, &attrs), SEC_I_CONTINUE_NEEDED,
                            "%s: ISC response", what);
        ok = ok && t_status(step(async, true, sc, sctx, true, aflags, a, al, b, &bl, &attrs), SEC_E_OK,
                            "%s: ASC verifies", what);
        ok = ok && t_status(step(async, false, cc, cctx, true, iflags, b, bl, a, &al, &attrs), SEC_E_OK,
                            "%s: ISC checks rspauth", what);
        return ok;
}

/* Our client and our server: rc4 and 3des, auth-int, auth, sync and async,
 * and the malformed inputs. */
static void test_ours(void) {
        CredHandle cc, sc;
        CtxtHandle cx, sx;
        TimeStamp ts;
        uint8_t wire[256], got[256];
        size_t wl, gl;
        ULONG qop = 0;
        SECURITY_STATUS st;

        if (t_cred_identity(WDIGEST_SP_NAME_A, "bob", NULL, "bob-pw-2", &cc) != SEC_E_OK ||
            AcquireCredentialsHandleA("md5", "WDigest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts) !=
                    SEC_E_OK) {
                t_ok(false, "ours: credentials");
                return;
        }
        for (int v = 0; v < 4; v++) {
                bool async = v & 1, des = v & 2;
                char what[64];
                SecPkgContext_Sizes sz = {};

                snprintf(what, sizeof(what), "ours %s %s", des ? "3des" : "rc4", async ? "async" : "sync");
                if (!ours_handshake(async, des, &cc, &sc, ISC_REQ_CONFIDENTIALITY, ASC_REQ_CONFIDENTIALITY, &cx, &sx,
                                    what))
                        continue;
                t_status(QueryContextAttributesA(&cx, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: SIZES", what);
                t_ok(sz.cbMaxSignature == 16 && sz.cbBlockSize == (des ? 8u : 0u) &&
                             sz.cbSecurityTrailer == 16 + sz.cbBlockSize,
                     "%s: SIZES %lu/%lu/%lu", what, (unsigned long) sz.cbMaxSignature, (unsigned long) sz.cbBlockSize,
                     (unsigned long) sz.cbSecurityTrailer);
                /* The client's first message fed back to the client itself
                 * (same sequence number 0, the other direction's keys). */
                if (wrap(&cx, true, (const uint8_t *) "mine", 4, wire, &wl) == SEC_E_OK) {
                        t_status(unwrap(&cx, true, false, wire, wl, got, &gl, &qop), SEC_E_MESSAGE_ALTERED,
                                 "%s: own message fed back: SEC_E_MESSAGE_ALTERED", what);
                        t_status(unwrap(&sx, true, false, wire, wl, got, &gl, &qop), SEC_E_OK,
                                 "%s: ... while the server takes it", what);
                }
                for (int i = 0; i < 4; i++) {
                        const char *m = msgs[i == 1 ? 4 : i];
                        CtxtHandle *a = i == 1 ? &sx : &cx, *b = i == 1 ? &cx : &sx;
                        st = wrap(a, true, (const uint8_t *) m, strlen(m), wire, &wl);
                        t_status(st, SEC_E_OK, "%s: EncryptMessage %d", what, i);
                        t_ok(!des || (wl - 6) % 8 == 0, "%s: 3DES blocks", what);
                        st = unwrap(b, true, false, wire, wl, got, &gl, &qop);
                        t_ok(st == SEC_E_OK && gl == strlen(m) && !memcmp(got, m, gl) && qop == 0,
                             "%s: DecryptMessage %d gives the message back (%s)", what, i, status_name(st));
                }
                DeleteSecurityContext(&cx);
                DeleteSecurityContext(&sx);
        }

        /* Export of a SASL context with a security layer (sspid's rule,
         * README "Deliberate differences"): it moves even without
         * SECPKG_CONTEXT_EXPORT_DELETE_OLD, since two copies would run one
         * RC4 stream twice; the import continues the stream. */
        if (ours_handshake(false, false, &cc, &sc, ISC_REQ_CONFIDENTIALITY, ASC_REQ_CONFIDENTIALITY, &cx, &sx,
                           "ours export")) {
                SecBuffer packed = { 0, SECBUFFER_EMPTY, NULL };
                CtxtHandle ix;
                HANDLE tok = NULL;

                /* One message first, so the streams have moved on. */
                if (wrap(&cx, true, (const uint8_t *) "before", 6, wire, &wl) == SEC_E_OK)
                        t_status(unwrap(&sx, true, false, wire, wl, got, &gl, &qop), SEC_E_OK,
                                 "ours export: a message before the export");
                t_status(ExportSecurityContext(&sx, 0, &packed, &tok), SEC_E_OK,
                         "ours export: ExportSecurityContext without DELETE_OLD");
                t_status(wrap(&sx, true, (const uint8_t *) "x", 1, wire, &wl), SEC_E_INVALID_HANDLE,
                         "ours export: the exporter's handle is gone (the context moved)");
                t_status(ImportSecurityContextA("WDigest", &packed, NULL, &ix), SEC_E_OK,
                         "ours export: ImportSecurityContext");
                if (wrap(&cx, true, (const uint8_t *) "after", 5, wire, &wl) == SEC_E_OK) {
                        st = unwrap(&ix, true, false, wire, wl, got, &gl, &qop);
                        t_ok(st == SEC_E_OK && gl == 5 && !memcmp(got, "after", 5),
                             "ours export: the imported context decrypts the client's next message (%s)",
                             status_name(st));
                }
                if (wrap(&ix, true, (const uint8_t *) "reply", 5, wire, &wl) == SEC_E_OK) {
                        st = unwrap(&cx, true, false, wire, wl, got, &gl, &qop);
                        t_ok(st == SEC_E_OK && gl == 5 && !memcmp(got, "reply", 5),
                             "ours export: the client decrypts the importer's reply (%s)", status_name(st));
                }
                FreeContextBuffer(packed.pvBuffer);
                DeleteSecurityContext(&ix);
                DeleteSecurityContext(&cx);
        }
        if (ours_handshake(false, false, &cc, &sc, ISC_REQ_INTEGRITY, ASC_REQ_INTEGRITY, &cx, &sx, "ours auth-int")) {
                t_status(wrap(&sx, false, (const uint8_t *) "signed", 6, wire, &wl), SEC_E_OK,
                         "ours auth-int: MakeSignature");
                t_status(unwrap(&cx, false, true, wire, wl, got, &gl, &qop), SEC_E_OK, "ours auth-int: VerifySignature");
                if (wrap(&sx, false, (const uint8_t *) "signed", 6, wire, &wl) == SEC_E_OK) {
                        wire[0] ^= 1;
                        t_status(unwrap(&cx, false, true, wire, wl, got, &gl, &qop), SEC_E_MESSAGE_ALTERED,
                                 "ours auth-int: VerifySignature of an altered message");
                }
                DeleteSecurityContext(&cx);
                DeleteSecurityContext(&sx);
        }
        if (ours_handshake(false, false, &cc, &sc, 0, 0, &cx, &sx, "ours auth")) {
                t_status(wrap(&cx, false, (const uint8_t *) "x", 1, wire, &wl), SEC_E_QOP_NOT_SUPPORTED,
                         "ours auth: MakeSignature without a layer: SEC_E_QOP_NOT_SUPPORTED");
                DeleteSecurityContext(&cx);
                DeleteSecurityContext(&sx);
        }
        /* The server asks for confidentiality; a client that wants none
         * cannot answer its auth-conf-only offer. */
        {
                uint8_t a[TOK_MAX], b[TOK_MAX];
                size_t al, bl;
                ULONG attrs;
                if (step(false, false, &cc, &cx, false, 0, NULL, 0, a, &al, &attrs) == SEC_I_CONTINUE_NEEDED) {
                        if (step(false, true, &sc, &sx, false, ASC_REQ_CONFIDENTIALITY, a, al, b, &bl, &attrs) ==
                            SEC_I_CONTINUE_NEEDED) {
                                t_ok(memmem(b, bl, "qop=\"auth-conf\"", 15) != NULL,
                                     "ours: ASC_REQ_CONFIDENTIALITY offers auth-conf only");
                                t_status(step(false, false, &cc, &cx, true, 0, b, bl, a, &al, &attrs),
                                         SEC_E_QOP_NOT_SUPPORTED, "ours: a client asking for auth: QOP_NOT_SUPPORTED");
                                DeleteSecurityContext(&sx);
                        }
                        DeleteSecurityContext(&cx);
                }
        }

        /* A response naming a refused cipher (des), and one whose digest-uri
         * differs from what it hashed (the response no longer matches). */
        for (int k = 0; k < 2; k++) {
                uint8_t a[TOK_MAX], b[TOK_MAX];
                size_t al, bl;
                ULONG attrs;
                if (step(false, false, &cc, &cx, false, ISC_REQ_CONFIDENTIALITY, NULL, 0, a, &al, &attrs) !=
                    SEC_I_CONTINUE_NEEDED)
                        continue;
                if (step(false, true, &sc, &sx, false, 0, a, al, b, &bl, &attrs) == SEC_I_CONTINUE_NEEDED &&
                    step(false, false, &cc, &cx, true, ISC_REQ_CONFIDENTIALITY, b, bl, a, &al, &attrs) ==
                            SEC_I_CONTINUE_NEEDED) {
                        char *c = memmem(a, al, k == 0 ? "cipher=rc4" : "imap/mail", k == 0 ? 10 : 9);
                        if (c && k == 0)
                                memcpy(c, "cipher=des", 10);
                        else if (c)
                                memcpy(c, "imap/evil", 9);
                        t_ok(c != NULL, "ours: response edited (%d)", k);
                        t_status(step(false, true, &sc, &sx, true, 0, a, al, b, &bl, &attrs),
                                 k == 0 ? SEC_E_QOP_NOT_SUPPORTED : SEC_E_LOGON_DENIED,
                                 k == 0 ? "ours: a response with cipher=des: SEC_E_QOP_NOT_SUPPORTED"
                                        : "ours: a digest-uri changed in transit: SEC_E_LOGON_DENIED");
                        DeleteSecurityContext(&sx);
                }
                DeleteSecurityContext(&cx);
        }

        /* A target that is not serv/host is refused before anything. */
        {
                CtxtHandle ctx;
                uint8_t out[TOK_MAX];
                size_t ol;
                ULONG attrs;
                static const char conf_only[] = "nonce=\"n\",algorithm=md5-sess,qop=\"auth-conf\",cipher=\"des,rc4-56\"";
                t_status(isc(&cc, &ctx, false, "no-slash", 0, NULL, 0, out, &ol, &attrs), SEC_E_INVALID_PARAMETER,
                         "ours: a digest-uri without '/': SEC_E_INVALID_PARAMETER");
                if (isc(&cc, &ctx, false, "ldap/x", 0, NULL, 0, out, &ol, &attrs) == SEC_I_CONTINUE_NEEDED) {
                        t_status(isc(&cc, &ctx, true, "ldap/x", 0, (const uint8_t *) "realm=\"a", 8, out, &ol, &attrs),
                                 SEC_E_INVALID_TOKEN, "ours: an unterminated challenge: SEC_E_INVALID_TOKEN");
                        t_status(isc(&cc, &ctx, true, "ldap/x", 0, (const uint8_t *) "nonce=\"n\",algorithm=md5", 23,
                                     out, &ol, &attrs),
                                 SEC_E_INVALID_TOKEN, "ours: algorithm other than md5-sess: SEC_E_INVALID_TOKEN");
                        t_status(isc(&cc, &ctx, true, "ldap/x", ISC_REQ_CONFIDENTIALITY, (const uint8_t *) conf_only,
                                     sizeof(conf_only) - 1, out, &ol, &attrs),
                                 SEC_E_QOP_NOT_SUPPORTED, "ours: only des/rc4-56 offered: SEC_E_QOP_NOT_SUPPORTED");
                        DeleteSecurityContext(&ctx);
                }
        }
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

int main(void) {
        const char *top = getenv("SSPID_TOP");
        FILE *f;

        realm = getenv("SSPID_DIGEST_REALM") ? getenv("SSPID_DIGEST_REALM") : "sspid-digest@test";
        signal(SIGPIPE, SIG_IGN);
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/sspid-sasl.XXXXXX");
        if (!mkdtemp(tmpdir))
                return 1;
        /* The peer sits next to this test: build/tests/integration/../tools. */
        {
                char self[400];
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                if (n <= 0)
                        return 1;
                self[n] = '\0';
                *strrchr(self, '/') = '\0';
                snprintf(peer_bin, sizeof(peer_bin), "%s/../tools/sasl-peer", self);
                /* The sanitizer tree (build/asan) uses the plain build's
                 * peer: it is not ours to check. */
                if (access(peer_bin, X_OK) != 0)
                        snprintf(peer_bin, sizeof(peer_bin), "%s/../../../tests/tools/sasl-peer", self);
                if (top && access(peer_bin, X_OK) != 0)
                        snprintf(peer_bin, sizeof(peer_bin), "%s/build/tests/tools/sasl-peer", top);
        }
        snprintf(ossl_conf, sizeof(ossl_conf), "%s/openssl-legacy.cnf", tmpdir);
        f = fopen(ossl_conf, "w");
        if (!f)
                return 1;
        fputs("openssl_conf = init\n[init]\nproviders = prov\n[prov]\ndefault = on\nlegacy = on\n"
              "[on]\nactivate = 1\n",
              f);
        fclose(f);

        if (access(peer_bin, X_OK) != 0) {
                t_ok(false, "the Cyrus SASL peer %s is built (make itests)", peer_bin);
        } else {
                for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++) {
                        test_our_client(&layers[i]);
                        test_our_server(&layers[i]);
                }
                test_wrong_password();
        }
        test_ours();
        {
                char cmd[128];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
                if (system(cmd) != 0)
                        t_ok(false, "cleanup");
        }
        return t_done();
}
