/* SPDX-License-Identifier: MIT */
/*
 * ExportSecurityContext / ImportSecurityContext for every package with
 * state worth handing over (issue 17 item 3): NTLM, Negotiate (NTLM and
 * Kerberos underneath), WDigest and Schannel (a live TLS connection).
 * Kerberos alone is covered by test_api.
 *
 * For each, in a daemon with message-protection = caller and in one with
 * message-protection = daemon:
 *  - a handshake in this process (NTLM once through the Sspi*Async
 *    family), then messages both ways, so that the sequence numbers (and
 *    NTLM's RC4 streams, which in caller mode live in the library) have
 *    moved on;
 *  - one side exported: with SECPKG_CONTEXT_EXPORT_DELETE_OLD the
 *    exporter's handle is invalid afterwards (SEC_E_INVALID_HANDLE, as for
 *    any deleted context); without it a WDigest context stays usable;
 *  - uid 65534 cannot import the ticket (SEC_E_NOT_OWNER), and that try
 *    does not spend it;
 *  - another process (fork + exec of this binary) imports it, finds the
 *    exporter's FLAGS (and for Negotiate the chosen package in
 *    PACKAGE_INFO), and exchanges sealed and signed messages (Schannel:
 *    records; WDigest: two more requests on the nonce) both ways with the
 *    peer left here, every one checked on the other side: the sequence
 *    numbers, streams and nonce counts continue where the exporter
 *    stopped; a second import of the same ticket fails there
 *    (SEC_E_INVALID_TOKEN) and here;
 *  - in caller mode the importer's NTLM and Schannel message calls run in its library
 *    (the import handed it the keys: a handful of daemon calls for the 40
 *    message calls), in daemon mode all go to the daemon.
 * Sources: ExportSecurityContext / ImportSecurityContext pages
 * (https://learn.microsoft.com/en-us/windows/win32/api/sspi/nf-sspi-exportsecuritycontext,
 * .../nf-sspi-importsecuritycontexta): same machine, DELETE_OLD deletes
 * the old context. NTLM exports its user-mode context with the current
 * nonces and RC4 schedules, which exists only once the context is
 * complete (NT's msv_sspi userapi.cxx, SpExportSecurityContext /
 * ReferenceUserContext, as mirrored in reactos/reactos under
 * private/security/msv_sspi): an incomplete one is SEC_E_INVALID_HANDLE.
 * Schannel exports only a connected context, SEC_E_CONTEXT_EXPIRED before
 * (NT Schannel's SpExportSecurityContext, SP_STATE_CONNECTED check).
 * Without DELETE_OLD Windows' Schannel copies the connection; sspid moves
 * it (README, deliberate differences): the old handle is gone too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "schannel.h"
#include "tattack.h"
#include "tdaemon.h"
#include "testcert.h"
#include "testlib.h"
#include "tpkgs.h"

#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT)
#define TLS_ISC (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM)
#define TLS_ASC (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM)
#define ROUNDS 5
#define TLS_BUF 65536

/* ---- the pipe between the peer (here) and the importer (child) ---- */

static bool send_msg(int fd, const void *p, uint32_t len) {
        return write(fd, &len, 4) == 4 && (len == 0 || write(fd, p, len) == (ssize_t) len);
}

static ssize_t recv_all(int fd, void *p, size_t len) {
        size_t got = 0;
        while (got < len) {
                ssize_t r = read(fd, (uint8_t *) p + got, len - got);
                if (r <= 0)
                        return -1;
                got += (size_t) r;
        }
        return (ssize_t) got;
}

static ssize_t recv_msg(int fd, void *p, size_t cap) {
        uint32_t len;
        if (recv_all(fd, &len, 4) != 4 || len > cap)
                return -1;
        return len ? recv_all(fd, p, len) : 0;
}

/* ---- GSS-style packages: 16-byte NTLM signatures, a Kerberos trailer ---- */

typedef struct Msg {
        uint32_t tok_len;
        uint8_t tok[128];
        uint8_t data[300];
} Msg;

static SECURITY_STATUS seal(CtxtHandle *h, Msg *m) {
        SecBuffer b[2] = { { sizeof(m->tok), SECBUFFER_TOKEN, m->tok }, { sizeof(m->data), SECBUFFER_DATA, m->data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        SECURITY_STATUS st = EncryptMessage(h, 0, &d, 0);
        m->tok_len = b[0].cbBuffer;
        return st;
}

static SECURITY_STATUS unseal(CtxtHandle *h, Msg *m) {
        SecBuffer b[2] = { { m->tok_len, SECBUFFER_TOKEN, m->tok }, { sizeof(m->data), SECBUFFER_DATA, m->data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop = 0;
        return m->tok_len <= sizeof(m->tok) ? DecryptMessage(h, &d, 0, &qop) : SEC_E_INVALID_TOKEN;
}

static SECURITY_STATUS sign(CtxtHandle *h, Msg *m) {
        SecBuffer b[2] = { { sizeof(m->data), SECBUFFER_DATA, m->data }, { sizeof(m->tok), SECBUFFER_TOKEN, m->tok } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        SECURITY_STATUS st = MakeSignature(h, 0, &d, 0);
        m->tok_len = b[1].cbBuffer;
        return st;
}

static SECURITY_STATUS verify(CtxtHandle *h, Msg *m) {
        SecBuffer b[2] = { { sizeof(m->data), SECBUFFER_DATA, m->data }, { m->tok_len, SECBUFFER_TOKEN, m->tok } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop = 0;
        return m->tok_len <= sizeof(m->tok) ? VerifySignature(h, &d, 0, &qop) : SEC_E_INVALID_TOKEN;
}

/* One exchange from `me`: `first` says who starts. Each side seals and
 * signs a message for the other and checks the other's. 0 or a step number. */
static int gss_rounds(int fd, CtxtHandle *h, bool first, uint8_t tag) {
        for (int i = 0; i < ROUNDS; i++) {
                for (int turn = 0; turn < 2; turn++) {
                        bool mine = (turn == 0) == first;
                        Msg m;

                        if (mine) {
                                memset(m.data, tag + i, sizeof(m.data));
                                if (seal(h, &m) != SEC_E_OK)
                                        return 1;
                                if (!send_msg(fd, &m, sizeof(m)))
                                        return 2;
                                memset(m.data, tag + i + 100, sizeof(m.data));
                                if (sign(h, &m) != SEC_E_OK || !send_msg(fd, &m, sizeof(m)))
                                        return 3;
                        } else {
                                uint8_t want = (uint8_t) ((tag ^ 0x80) + i);
                                if (recv_msg(fd, &m, sizeof(m)) != sizeof(m))
                                        return 4;
                                if (unseal(h, &m) != SEC_E_OK)
                                        return 5;
                                if (m.data[0] != want || m.data[299] != want)
                                        return 6;
                                if (recv_msg(fd, &m, sizeof(m)) != sizeof(m))
                                        return 7;
                                if (verify(h, &m) != SEC_E_OK)
                                        return 8;
                        }
                }
        }
        return 0;
}

/* ---- Schannel: stream records ---- */

typedef TpTls Tls;

static CredHandle tls_cred[2]; /* client, server */

static SECURITY_STATUS tls_step(Tls *p, Tls *to) {
        return tp_tls_step(&tls_cred[p->server], p, to, NULL, NULL);
}

/* A record of `text` from ctx into out (header + data + trailer). */
static SECURITY_STATUS tls_seal(CtxtHandle *h, const char *text, uint8_t *out, size_t *ret_len) {
        SecPkgContext_StreamSizes sz;
        size_t len = strlen(text);
        SECURITY_STATUS st = QueryContextAttributesA(h, SECPKG_ATTR_STREAM_SIZES, &sz);

        if (st != SEC_E_OK)
                return st;
        SecBuffer b[4] = { { sz.cbHeader, SECBUFFER_STREAM_HEADER, out },
                           { (ULONG) len, SECBUFFER_DATA, out + sz.cbHeader },
                           { sz.cbTrailer, SECBUFFER_STREAM_TRAILER, out + sz.cbHeader + len },
                           { 0, SECBUFFER_EMPTY, NULL } };
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        memcpy(out + sz.cbHeader, text, len);
        st = EncryptMessage(h, 0, &d, 0);
        *ret_len = b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer;
        return st;
}

/* Decrypts what p has buffered, answering post-handshake messages (TLS
 * 1.3 tickets: SEC_I_RENEGOTIATE) through ISC/ASC; the plaintext lands
 * in text. */
static SECURITY_STATUS tls_open(Tls *p, char *text, size_t cap) {
        size_t got = 0;

        while (p->in_len) {
                SecBuffer b[4] = { { (ULONG) p->in_len, SECBUFFER_DATA, p->in } };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                SecBuffer *extra = NULL;
                SECURITY_STATUS st;

                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = DecryptMessage(&p->ctx, &d, 0, NULL);
                if (st != SEC_E_OK && st != SEC_I_RENEGOTIATE)
                        return st;
                for (int i = 0; i < 4; i++) {
                        if (b[i].BufferType == SECBUFFER_DATA && got + b[i].cbBuffer < cap) {
                                memcpy(text + got, b[i].pvBuffer, b[i].cbBuffer);
                                got += b[i].cbBuffer;
                        }
                        if (b[i].BufferType == SECBUFFER_EXTRA)
                                extra = &b[i];
                }
                if (extra) {
                        memmove(p->in, extra->pvBuffer, extra->cbBuffer);
                        p->in_len = extra->cbBuffer;
                } else
                        p->in_len = 0;
                if (st == SEC_I_RENEGOTIATE && (st = tls_step(p, NULL)) != SEC_E_OK)
                        return st;
        }
        text[got] = 0;
        return SEC_E_OK;
}

/* Records both ways over fd: `first` starts. 0 or a step number. */
static int tls_rounds(int fd, Tls *p, bool first, const char *me, const char *peer) {
        static uint8_t rec[TLS_BUF];
        char text[512], want[128];

        for (int i = 0; i < ROUNDS; i++) {
                for (int turn = 0; turn < 2; turn++) {
                        size_t len = 0;
                        ssize_t n;

                        if ((turn == 0) == first) {
                                snprintf(want, sizeof(want), "%s record %d", me, i);
                                if (tls_seal(&p->ctx, want, rec, &len) != SEC_E_OK)
                                        return 11;
                                if (!send_msg(fd, rec, (uint32_t) len))
                                        return 12;
                        } else {
                                n = recv_msg(fd, p->in + p->in_len, sizeof(p->in) - p->in_len);
                                if (n <= 0)
                                        return 13;
                                p->in_len += (size_t) n;
                                if (tls_open(p, text, sizeof(text)) != SEC_E_OK)
                                        return 14;
                                snprintf(want, sizeof(want), "%s record %d", peer, i);
                                if (strcmp(text, want) != 0)
                                        return 15;
                        }
                }
        }
        return 0;
}

/* ---- Digest (HTTP mode): the client's next requests on the same nonce ---- */

static const char digest_uri[] = "/protected/index.html", digest_method[] = "GET";

/* The importer (a client context): two more requests, each verified by
 * the peer (a new server context each, as a server sees later requests). */
static int digest_requests(int fd, CtxtHandle *h) {
        for (int i = 0; i < 2; i++) {
                uint8_t resp[4096];
                SecBuffer ib[2] = { { 0, SECBUFFER_TOKEN, NULL },
                                    { sizeof(digest_method) - 1, SECBUFFER_PKG_PARAMS, (void *) digest_method } };
                SecBuffer ob = { sizeof(resp), SECBUFFER_TOKEN, resp };
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
                ULONG attrs;
                int32_t st;

                if (InitializeSecurityContextA(NULL, h, (char *) digest_uri, ISC_REQ_HTTP, 0, 0, &id, 0, h, &od, &attrs,
                                               NULL) != SEC_E_OK)
                        return 21;
                if (!send_msg(fd, resp, ob.cbBuffer))
                        return 22;
                if (recv_msg(fd, &st, sizeof(st)) != sizeof(st) || st != SEC_E_OK)
                        return 23;
        }
        return 0;
}

/* The peer: verifies each request. */
static int digest_verify(int fd, CredHandle *srv) {
        for (int i = 0; i < 2; i++) {
                uint8_t resp[4096], info[4096];
                ssize_t n = recv_msg(fd, resp, sizeof(resp));
                SecBuffer vb[4] = { { (ULONG) (n > 0 ? n : 0), SECBUFFER_TOKEN, resp },
                                    { sizeof(digest_method) - 1, SECBUFFER_PKG_PARAMS, (void *) digest_method },
                                    { sizeof(digest_uri) - 1, SECBUFFER_PKG_PARAMS, (void *) digest_uri },
                                    { 0, SECBUFFER_PKG_PARAMS, NULL } };
                SecBuffer vo = { sizeof(info), SECBUFFER_TOKEN, info };
                SecBufferDesc vd = { SECBUFFER_VERSION, 4, vb }, vod = { SECBUFFER_VERSION, 1, &vo };
                CtxtHandle sc;
                ULONG attrs;
                int32_t st;

                if (n <= 0)
                        return 24;
                st = AcceptSecurityContext(srv, NULL, &vd, ASC_REQ_HTTP, 0, &sc, &vod, &attrs, NULL);
                if (st == SEC_E_OK)
                        DeleteSecurityContext(&sc);
                if (!send_msg(fd, &st, sizeof(st)) || st != SEC_E_OK)
                        return 25;
        }
        return 0;
}

/* ---- the importer: this binary again, as `test_export --import PKG HEX FD KIND` ---- */

static int importer(const char *pkg, const char *hex, int fd, const char *kind) {
        uint8_t packed[64];
        size_t n = strlen(hex) / 2;
        SecBuffer b = { (ULONG) n, SECBUFFER_EMPTY, packed };
        CtxtHandle h, again;
        int r;

        if (n > sizeof(packed))
                return 30;
        for (size_t i = 0; i < n; i++)
                if (sscanf(hex + 2 * i, "%2hhx", &packed[i]) != 1)
                        return 31;
        if (ImportSecurityContextA((char *) pkg, &b, NULL, &h) != SEC_E_OK)
                return 32;
        /* The exporter's flags came along (ISC_RET/ASC_RET_CONFIDENTIALITY
         * for the packages that seal, some for Digest). */
        {
                SecPkgContext_Flags f = { 0 };
                ULONG want = !strcmp(kind, "digest") ? 0 : ISC_RET_CONFIDENTIALITY;
                if (QueryContextAttributesA(&h, SECPKG_ATTR_FLAGS, &f) != SEC_E_OK ||
                    (want ? !(f.Flags & want) : f.Flags == 0))
                        return 36;
        }
        /* Negotiate: the import answers PACKAGE_INFO with the package
         * the exporter's SPNEGO chose (kind names it). */
        if (!strcmp(kind, "Kerberos") || !strcmp(kind, "NTLM")) {
                SecPkgContext_PackageInfoA pi = { 0 };
                if (QueryContextAttributesA(&h, SECPKG_ATTR_PACKAGE_INFO, &pi) != SEC_E_OK || !pi.PackageInfo ||
                    strcmp(pi.PackageInfo->Name, kind) != 0)
                        return 37;
                FreeContextBuffer(pi.PackageInfo);
        }
        if (!strcmp(kind, "reset")) {
                /* One signature for the peer to read the sequence number of. */
                Msg m;
                memset(m.data, 0x5a, sizeof(m.data));
                if (sign(&h, &m) != SEC_E_OK || !send_msg(fd, &m, sizeof(m)))
                        return 38;
                r = 0;
        } else if (!strcmp(kind, "digest"))
                r = digest_requests(fd, &h);
        else if (!strcmp(kind, "tls")) {
                Tls *p = calloc(1, sizeof(*p));
                if (!p)
                        return 33;
                p->ctx = h;
                p->have = p->done = true;
                p->server = true;
                r = tls_rounds(fd, p, false, "importer", "peer");
                free(p);
        } else
                r = gss_rounds(fd, &h, false, 0x80 ^ 0x11);
        if (r)
                return 40 + r;
        if (ImportSecurityContextA((char *) pkg, &b, NULL, &again) != SEC_E_INVALID_TOKEN)
                return 34;
        if (DeleteSecurityContext(&h) != SEC_E_OK)
                return 35;
        return 0;
}

/* ---- uid 65534 ---- */

typedef struct Foreign {
        const char *pkg;
        SecBuffer *packed;
} Foreign;

static int foreign_import(void *arg) {
        Foreign *f = arg;
        CtxtHandle h;
        SECURITY_STATUS st = ImportSecurityContextA((char *) f->pkg, f->packed, NULL, &h);
        return st == SEC_E_NOT_OWNER ? 0 : st == SEC_E_OK ? 1 : 2;
}

/* ---- one package ---- */

static TDaemon *cur_daemon;

/* Runs the importer for `packed` and talks to it through `peer`. With
 * `local`, the importer's and the peer's message calls must run in their
 * libraries (message-protection = caller: the import handed the keys
 * over): the exchange then costs the daemon only the imports and the
 * delete, not its 40 message calls. */
static CredHandle *digest_peer; /* hand_over: a Digest server credential instead of a peer context */
static const char *nego_inner;  /* hand_over: the package Negotiate chose, which the import must name */

static void hand_over(const char *label, const char *pkg, SecBuffer *packed, CtxtHandle *peer, Tls *tls_peer,
                      bool local) {
        const char *kind = digest_peer ? "digest" : tls_peer ? "tls" : nego_inner ? nego_inner : "gss";
        char hex[129], fdarg[16];
        uint64_t before, after;
        int sv[2], status = -1, r;
        Foreign f = { pkg, packed };
        CtxtHandle h;
        pid_t pid;

        r = t_run_as(65534, foreign_import, &f);
        t_ok(r == 0, "%s: uid 65534 cannot import the ticket: SEC_E_NOT_OWNER (child %d)", label, r);

        for (ULONG i = 0; i < packed->cbBuffer && i < 64; i++)
                sprintf(hex + 2 * i, "%02x", ((uint8_t *) packed->pvBuffer)[i]);
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                abort();
        before = t_daemon_status(cur_daemon, "calls_total", NULL);
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                close(sv[0]);
                snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
                execl("/proc/self/exe", "test_export", "--import", pkg, hex, fdarg, kind, (char *) NULL);
                _exit(127);
        }
        close(sv[1]);
        if (digest_peer)
                r = digest_verify(sv[0], digest_peer);
        else if (tls_peer)
                r = tls_rounds(sv[0], tls_peer, true, "peer", "importer");
        else
                r = gss_rounds(sv[0], peer, true, 0x11);
        close(sv[0]);
        waitpid(pid, &status, 0);
        after = t_daemon_status(cur_daemon, "calls_total", NULL);
        if (local)
                t_ok(before != UINT64_MAX && after - before < 10,
                     "%s: the importer's library holds the keys: %d message calls each side, %llu daemon calls", label,
                     4 * ROUNDS, (unsigned long long) (after - before));
        else if (!digest_peer)
                t_ok(before != UINT64_MAX && after - before >= (tls_peer ? 4u : 8u) * ROUNDS,
                     "%s: the message calls went through the daemon (%llu daemon calls)", label,
                     (unsigned long long) (after - before));
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "%s: another process imported the context and %s, all checked (importer exit %d)", label,
             digest_peer ? "made 2 more requests on the nonce, which the server accepted"
             : tls_peer  ? "exchanged 5 records each way with the peer"
                         : "exchanged 5 sealed and signed messages each way with the peer",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        t_ok(r == 0, "%s: the peer read and checked every message of the importer (step %d)", label, r);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) != 34,
             "%s: a second import of the same ticket in the importer: SEC_E_INVALID_TOKEN", label);
        t_status(ImportSecurityContextA((char *) pkg, packed, NULL, &h), SEC_E_INVALID_TOKEN,
                 "%s: the ticket once redeemed fails here too", label);
}

static void gss_case(const char *mode, const char *pkg, const char *domain, const char *target, bool export_server,
                     bool async) {
        CredHandle cc = { 0 }, sc = { 0 };
        THandshake h = { 0 };
        SecBuffer packed = { 0 };
        TimeStamp ts;
        char label[128];
        Msg m;
        bool ok = true;
        CtxtHandle *mine, *peer;

        snprintf(label, sizeof(label), "%s (%s, %s mode%s)", pkg, target, mode, async ? ", async handshake" : "");
        if (!async) {
                if (!t_status(t_cred_identity(pkg, "alice", domain, "alice-pw-1", &cc), SEC_E_OK, "%s: client credential",
                              label) ||
                    !t_status(AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL,
                                                        &sc, &ts),
                              SEC_E_OK, "%s: server credential", label))
                        return;
                if (!t_status(t_handshake(&cc, &sc, target, ISC_FLAGS, ASC_FLAGS, &h), SEC_E_OK, "%s: handshake", label))
                        return;
        } else {
                SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "alice", 5, (unsigned char *) domain,
                                                 (ULONG) strlen(domain), (unsigned char *) "alice-pw-1", 10,
                                                 SEC_WINNT_AUTH_IDENTITY_ANSI };
                if (!t_status(t_handshake_async(pkg, &id, &cc, &sc, target, ISC_FLAGS, ASC_FLAGS, &h), SEC_E_OK,
                              "%s: handshake through the Sspi*Async calls", label))
                        return;
        }
        /* Messages before the export: the sequence numbers move on. */
        for (int i = 0; i < 3; i++) {
                memset(m.data, i, sizeof(m.data));
                ok &= seal(&h.client, &m) == SEC_E_OK && unseal(&h.server, &m) == SEC_E_OK;
                ok &= sign(&h.server, &m) == SEC_E_OK && verify(&h.client, &m) == SEC_E_OK;
        }
        ok &= seal(&h.server, &m) == SEC_E_OK && unseal(&h.client, &m) == SEC_E_OK;
        t_ok(ok, "%s: 7 messages before the export", label);

        if (!strcmp(pkg, "Negotiate")) {
                SecPkgContext_PackageInfoA pi = { 0 };
                const char *want = strcmp(target, "HTTP/localhost") ? "NTLM" : "Kerberos";
                t_ok(QueryContextAttributesA(&h.client, SECPKG_ATTR_PACKAGE_INFO, &pi) == SEC_E_OK && pi.PackageInfo &&
                             !strcmp(pi.PackageInfo->Name, want),
                     "%s: SPNEGO chose %s", label, want);
                if (pi.PackageInfo)
                        FreeContextBuffer(pi.PackageInfo);
        }
        mine = export_server ? &h.server : &h.client;
        peer = export_server ? &h.client : &h.server;
        if (t_status(ExportSecurityContext(mine, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &packed, NULL), SEC_E_OK,
                     "%s: ExportSecurityContext(%s, DELETE_OLD)", label, export_server ? "server" : "client")) {
                t_ok(packed.BufferType == SECBUFFER_EMPTY && packed.cbBuffer == 40,
                     "%s: the packed context is a ticket (SECBUFFER_EMPTY, 40 bytes: %lu)", label,
                     (unsigned long) packed.cbBuffer);
                memset(m.data, 1, sizeof(m.data));
                t_status(seal(mine, &m), SEC_E_INVALID_HANDLE, "%s: the exporter's handle after DELETE_OLD", label);
                t_status(DeleteSecurityContext(mine), SEC_E_INVALID_HANDLE,
                         "%s: DeleteSecurityContext on it: SEC_E_INVALID_HANDLE", label);
                if (export_server)
                        h.have_server = false;
                else
                        h.have_client = false;
                /* NTLM underneath (Negotiate without an SPN falls back to
                 * it) and Kerberos (AES, RFC 4121) both hand their keys to
                 * the library in caller mode. */
                bool ntlm = !strcmp(pkg, "NTLM") || strcmp(target, "HTTP/localhost") != 0;
                if (!strcmp(pkg, "Negotiate"))
                        nego_inner = ntlm ? "NTLM" : "Kerberos";
                hand_over(label, pkg, &packed, peer, NULL, !strcmp(mode, "caller"));
                nego_inner = NULL;
                FreeContextBuffer(packed.pvBuffer);
        }
        t_handshake_done(&h);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

/* SECPKG_CONTEXT_EXPORT_RESET_NEW: Windows' NTLM imports such an export
 * with both sequence numbers at 0 (msv_sspi userapi.cxx: the export marks
 * them -1, the import restarts them). The importer's first signature
 * carries sequence number 0 (its last four bytes, MS-NLMP 2.2.2.9.1),
 * after 4 messages each way on the exporter. */
static void reset_case(const char *mode) {
        CredHandle cc, sc;
        THandshake h = { 0 };
        SecBuffer packed = { 0 };
        TimeStamp ts;
        char hex[129], fdarg[16];
        int sv[2], status = -1;
        uint32_t seq = UINT32_MAX;
        bool ok = true;
        pid_t pid;
        Msg m;

        if (!t_status(t_cred_identity("NTLM", "alice", "SSPID", "alice-pw-1", &cc), SEC_E_OK, "reset: credential") ||
            !t_status(AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts),
                      SEC_E_OK, "reset: server credential") ||
            !t_status(t_handshake(&cc, &sc, "HTTP/localhost", ISC_FLAGS, ASC_FLAGS, &h), SEC_E_OK, "reset: handshake"))
                return;
        for (int i = 0; i < 4; i++) {
                ok &= seal(&h.client, &m) == SEC_E_OK && unseal(&h.server, &m) == SEC_E_OK;
                ok &= seal(&h.server, &m) == SEC_E_OK && unseal(&h.client, &m) == SEC_E_OK;
        }
        if (t_status(ExportSecurityContext(&h.client, SECPKG_CONTEXT_EXPORT_DELETE_OLD | SECPKG_CONTEXT_EXPORT_RESET_NEW,
                                           &packed, NULL),
                     SEC_E_OK, "NTLM (%s mode): ExportSecurityContext(DELETE_OLD | RESET_NEW)", mode)) {
                h.have_client = false;
                for (ULONG i = 0; i < packed.cbBuffer && i < 64; i++)
                        sprintf(hex + 2 * i, "%02x", ((uint8_t *) packed.pvBuffer)[i]);
                if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                        abort();
                fflush(stdout);
                pid = fork();
                if (pid == 0) {
                        close(sv[0]);
                        snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
                        execl("/proc/self/exe", "test_export", "--import", "NTLM", hex, fdarg, "reset", (char *) NULL);
                        _exit(127);
                }
                close(sv[1]);
                if (recv_msg(sv[0], &m, sizeof(m)) == sizeof(m) && m.tok_len == 16)
                        seq = (uint32_t) m.tok[12] | (uint32_t) m.tok[13] << 8 | (uint32_t) m.tok[14] << 16 |
                              (uint32_t) m.tok[15] << 24;
                close(sv[0]);
                waitpid(pid, &status, 0);
                t_ok(ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 && seq == 0,
                     "NTLM (%s mode): the RESET_NEW import signs with sequence number 0 (got %u, exporter was at 4)",
                     mode, seq);
                FreeContextBuffer(packed.pvBuffer);
        }
        t_handshake_done(&h);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

/* An incomplete context: after the first leg. */
static void partial_case(const char *pkg, const char *domain, const char *target, SECURITY_STATUS want,
                         const char *why) {
        CredHandle cc;
        CtxtHandle c;
        uint8_t tok[16384];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok }, packed = { 0 };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st;

        if (!strcmp(pkg, UNISP_NAME_A)) {
                cc = tls_cred[0];
                st = InitializeSecurityContextA(&cc, NULL, (char *) target, TLS_ISC, 0, 0, NULL, 0, &c, &od, &attrs,
                                                NULL);
        } else {
                if (!t_status(t_cred_identity(pkg, "alice", domain, "alice-pw-1", &cc), SEC_E_OK,
                              "%s: client credential", pkg))
                        return;
                st = InitializeSecurityContextA(&cc, NULL, (char *) target, ISC_FLAGS, 0, 0, NULL, 0, &c, &od, &attrs,
                                                NULL);
        }
        if (t_status(st, SEC_I_CONTINUE_NEEDED, "%s: first leg", pkg)) {
                t_status(ExportSecurityContext(&c, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &packed, NULL), want,
                         "%s: exporting an incomplete context (%s)", pkg, why);
                t_status(DeleteSecurityContext(&c), SEC_E_OK, "%s: the incomplete context is still there to delete",
                         pkg);
        }
        if (strcmp(pkg, UNISP_NAME_A))
                FreeCredentialsHandle(&cc);
}

static bool tls_creds(void) {
        SCHANNEL_CRED cli = { .dwVersion = SCHANNEL_CRED_VERSION, .dwFlags = SCH_CRED_NO_DEFAULT_CREDS };
        SCHANNEL_CRED srv = { .dwVersion = SCHANNEL_CRED_VERSION };
        const char *env = getenv("SSPID_TESTENV");
        char pki[512];
        TimeStamp ts;
        Cert c;
        PCCERT_CONTEXT pc = &c.cc;

        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        if (!t_load_cert(pki, "server-ec", &c))
                return false;
        srv.cCreds = 1;
        srv.paCred = &pc;
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &cli, NULL, NULL,
                                         &tls_cred[0], &ts) == SEC_E_OK &&
               AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &srv, NULL, NULL,
                                         &tls_cred[1], &ts) == SEC_E_OK;
}

static void tls_case(const char *mode, ULONG flags) {
        Tls *cl = calloc(1, sizeof(Tls)), *sv = calloc(1, sizeof(Tls));
        SecBuffer packed = { 0 };
        static uint8_t rec[TLS_BUF];
        char label[128], text[256];
        size_t len;
        SECURITY_STATUS st;
        bool ok;
        Msg m;

        snprintf(label, sizeof(label), "Schannel (%s mode, export flags %lu)", mode, (unsigned long) flags);
        if (!cl || !sv)
                abort();
        st = tp_tls_connect(&tls_cred[0], &tls_cred[1], cl, sv, NULL, NULL);
        t_ok(cl->done && sv->done, "%s: handshake (%s)", label, status_name(st));
        if (!cl->done || !sv->done)
                goto out;
        /* A record each way first (the client reads the TLS 1.3 tickets). */
        ok = tls_seal(&sv->ctx, "before", rec, &len) == SEC_E_OK;
        memcpy(cl->in + cl->in_len, rec, len);
        cl->in_len += len;
        ok &= tls_open(cl, text, sizeof(text)) == SEC_E_OK && !strcmp(text, "before");
        ok &= tls_seal(&cl->ctx, "before too", rec, &len) == SEC_E_OK;
        memcpy(sv->in + sv->in_len, rec, len);
        sv->in_len += len;
        ok &= tls_open(sv, text, sizeof(text)) == SEC_E_OK && !strcmp(text, "before too");
        t_ok(ok, "%s: a record each way before the export", label);

        if (t_status(ExportSecurityContext(&sv->ctx, flags, &packed, NULL), SEC_E_OK,
                     "%s: ExportSecurityContext(server)", label)) {
                t_status(tls_seal(&sv->ctx, "gone", rec, &len), SEC_E_INVALID_HANDLE,
                         "%s: the exporter's handle is invalid (the live connection moved)", label);
                t_status(DeleteSecurityContext(&sv->ctx), SEC_E_INVALID_HANDLE,
                         "%s: DeleteSecurityContext on it: SEC_E_INVALID_HANDLE", label);
                sv->have = false;
                hand_over(label, UNISP_NAME_A, &packed, NULL, cl, !strcmp(mode, "caller"));
                FreeContextBuffer(packed.pvBuffer);
        }
        (void) m;
out:
        if (cl->have)
                DeleteSecurityContext(&cl->ctx);
        if (sv->have)
                DeleteSecurityContext(&sv->ctx);
        free(cl);
        free(sv);
}

/* A Digest client context after its first request, exported; the
 * importer's requests continue the nonce count (a restarted count would be
 * refused by the server's nonce cache as a replay). */
static void digest_case(const char *mode, ULONG flags) {
        CredHandle cc, sc;
        CtxtHandle c, s;
        uint8_t chal[4096], resp[4096], info[4096];
        SecBuffer packed = { 0 };
        TimeStamp ts;
        ULONG attrs;
        char label[96];

        snprintf(label, sizeof(label), "WDigest (%s mode, export flags %lu)", mode, (unsigned long) flags);
        if (!t_status(t_cred_identity(WDIGEST_SP_NAME_A, "alice", NULL, "alice-pw-1", &cc), SEC_E_OK,
                      "%s: client credential", label))
                return;
        if (!t_status(AcquireCredentialsHandleA("http", "Digest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts),
                      SEC_E_OK, "%s: server credential", label)) {
                FreeCredentialsHandle(&cc);
                return;
        }
        {
                SecBuffer ib = { 0, SECBUFFER_TOKEN, NULL }, ob = { sizeof(chal), SECBUFFER_TOKEN, chal };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
                t_status(AcceptSecurityContext(&sc, NULL, &id, ASC_REQ_HTTP, 0, &s, &od, &attrs, NULL),
                         SEC_I_CONTINUE_NEEDED, "%s: challenge", label);
                t_status(ExportSecurityContext(&s, 0, &packed, NULL), SEC_E_INVALID_HANDLE,
                         "%s: exporting the server's incomplete context", label);
                ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, chal };
                SecBuffer cib[2] = { ib, { sizeof(digest_method) - 1, SECBUFFER_PKG_PARAMS, (void *) digest_method } };
                SecBuffer cob = { sizeof(resp), SECBUFFER_TOKEN, resp };
                SecBufferDesc cid = { SECBUFFER_VERSION, 2, cib }, cod = { SECBUFFER_VERSION, 1, &cob };
                t_status(InitializeSecurityContextA(&cc, NULL, (char *) digest_uri, ISC_REQ_HTTP, 0, 0, &cid, 0, &c, &cod,
                                                    &attrs, NULL),
                         SEC_E_OK, "%s: first request", label);
                SecBuffer vb[4] = { cob,
                                    { sizeof(digest_method) - 1, SECBUFFER_PKG_PARAMS, (void *) digest_method },
                                    { sizeof(digest_uri) - 1, SECBUFFER_PKG_PARAMS, (void *) digest_uri },
                                    { 0, SECBUFFER_PKG_PARAMS, NULL } };
                SecBuffer vo = { sizeof(info), SECBUFFER_TOKEN, info };
                SecBufferDesc vd = { SECBUFFER_VERSION, 4, vb }, vod = { SECBUFFER_VERSION, 1, &vo };
                t_status(AcceptSecurityContext(&sc, &s, &vd, ASC_REQ_HTTP, 0, &s, &vod, &attrs, NULL), SEC_E_OK,
                         "%s: the server verified it", label);
        }
        if (t_status(ExportSecurityContext(&c, flags, &packed, NULL), SEC_E_OK, "%s: ExportSecurityContext(client)",
                     label)) {
                SecPkgContext_NamesA n = { 0 };
                SECURITY_STATUS st = QueryContextAttributesA(&c, SECPKG_ATTR_NAMES, &n);

                if (flags & SECPKG_CONTEXT_EXPORT_DELETE_OLD)
                        t_status(st, SEC_E_INVALID_HANDLE, "%s: the exporter's handle after DELETE_OLD", label);
                else
                        t_status(st, SEC_E_OK, "%s: without DELETE_OLD the exporter's context stays (a copy went)",
                                 label);
                if (st == SEC_E_OK)
                        FreeContextBuffer(n.sUserName);
                digest_peer = &sc;
                hand_over(label, WDIGEST_SP_NAME_A, &packed, NULL, NULL, false);
                digest_peer = NULL;
                FreeContextBuffer(packed.pvBuffer);
        }
        if (!(flags & SECPKG_CONTEXT_EXPORT_DELETE_OLD))
                DeleteSecurityContext(&c);
        DeleteSecurityContext(&s);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

static void run_mode(const char *mode) {
        gss_case(mode, "NTLM", "SSPID", "HTTP/localhost", true, false);
        gss_case(mode, "NTLM", "SSPID", "HTTP/localhost", false, true);
        gss_case(mode, "Negotiate", "SSPID", "HTTP/nowhere.invalid", false, false); /* no such SPN: NTLM */
        gss_case(mode, "Negotiate", t_realm(), "HTTP/localhost", true, false);      /* Kerberos */
        reset_case(mode);
        digest_case(mode, SECPKG_CONTEXT_EXPORT_DELETE_OLD);
        digest_case(mode, 0);
        if (tls_creds()) {
                tls_case(mode, SECPKG_CONTEXT_EXPORT_DELETE_OLD);
                tls_case(mode, 0);
                FreeCredentialsHandle(&tls_cred[0]);
                FreeCredentialsHandle(&tls_cred[1]);
        } else
                t_ok(false, "Schannel credentials (%s mode)", mode);
}

int main(int argc, char **argv) {
        TDaemon caller = { 0 }, daemon = { 0 };

        if (argc == 6 && !strcmp(argv[1], "--import"))
                return importer(argv[2], argv[3], atoi(argv[4]), argv[5]);

        if (!t_daemon_start(&daemon, "message-protection = daemon", NULL)) {
                t_ok(false, "private daemon (message-protection = daemon) started");
                return t_done();
        }
        cur_daemon = &daemon;
        run_mode("daemon");
        if (tls_creds()) {
                partial_case(UNISP_NAME_A, NULL, "localhost", SEC_E_CONTEXT_EXPIRED,
                             "Schannel: SEC_E_CONTEXT_EXPIRED before SP_STATE_CONNECTED");
                FreeCredentialsHandle(&tls_cred[0]);
                FreeCredentialsHandle(&tls_cred[1]);
        }
        partial_case("NTLM", "SSPID", "HTTP/localhost", SEC_E_INVALID_HANDLE,
                     "NTLM: no user-mode context before completion");
        partial_case("Negotiate", "SSPID", "HTTP/nowhere.invalid", SEC_E_INVALID_HANDLE, "Negotiate (NTLM)");
        t_daemon_stop(&daemon);

        if (!t_daemon_start(&caller, "message-protection = caller", NULL)) {
                t_ok(false, "private daemon (message-protection = caller) started");
                return t_done();
        }
        cur_daemon = &caller;
        run_mode("caller");
        t_daemon_stop(&caller);
        return t_done();
}
