/* SPDX-License-Identifier: MIT */
/*
 * Our Kerberos and Negotiate initiators against acceptors that are not
 * ours: tests/tools/krb-acceptor on MIT krb5 and on Heimdal (raw RFC 4121
 * tokens and SPNEGO), with and without mutual authentication, with and
 * without sequence/replay detection. The acceptor speaks first after the
 * handshake (a wrap token, then a MIC): without an AP-REP its sequence
 * numbers start at ours (RFC 4121 4.2.6), and a Heimdal SPNEGO acceptor
 * adds a mechListMIC to its last token. Then our messages the other way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define TARGET "HTTP/localhost"
static const char first[] = "first message from the acceptor";

typedef struct Peer {
        pid_t pid;
        FILE *to, *from;
} Peer;

static bool peer_start(Peer *p, const char *impl, const char *mode) {
        const char *top = getenv("SSPID_TOP"), *realm = t_realm_dir();
        char bin[4096], kt[4096];
        int in[2], out[2];

        if (!top || !realm)
                return false;
        snprintf(bin, sizeof(bin), "%s/build/tests/tools/krb-acceptor-%s", top, impl);
        snprintf(kt, sizeof(kt), "FILE:%s/http.keytab", realm);
        if (access(bin, X_OK) < 0 || pipe(in) < 0 || pipe(out) < 0)
                return false;
        fflush(stdout);
        p->pid = fork();
        if (p->pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                close(in[1]);
                close(out[0]);
                setenv("KRB5_KTNAME", kt, 1);
                execl(bin, bin, mode, (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        p->to = fdopen(in[1], "w");
        p->from = fdopen(out[0], "r");
        return p->pid > 0 && p->to && p->from;
}

static int peer_stop(Peer *p) {
        int status = -1;

        if (p->to)
                fclose(p->to);
        if (p->from)
                fclose(p->from);
        waitpid(p->pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void peer_send(Peer *p, const uint8_t *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                fprintf(p->to, "%02x", b[i]);
        fprintf(p->to, "\n");
        fflush(p->to);
}

/* One hex line into b; the byte count, or -1 (also for the peer's "!"). */
static long peer_recv(Peer *p, uint8_t *b, size_t cap) {
        static char line[131072];
        size_t n = 0;

        if (!fgets(line, sizeof(line), p->from) || line[0] == '!')
                return -1;
        for (char *s = line; s[0] && s[1] && s[0] != '\n'; s += 2) {
                unsigned v;
                if (n >= cap || sscanf(s, "%2x", &v) != 1)
                        return -1;
                b[n++] = (uint8_t) v;
        }
        return (long) n;
}

static void one(const char *impl, const char *pkg, ULONG req) {
        static uint8_t tok[65536], out_t[65536];
        const char *mode = !strcmp(pkg, "Kerberos") ? "krb5" : "spnego";
        bool mutual = req & ISC_REQ_MUTUAL_AUTH;
        SecBuffer ib, ob, b[2];
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob },
                      d = { SECBUFFER_VERSION, 2, b };
        SecPkgContext_Sizes sz = { 0 };
        CredHandle cc;
        CtxtHandle c;
        ULONG attrs = 0, qop;
        SECURITY_STATUS st;
        Peer p = {};
        char what[128];
        long n = -1;
        bool have = false;

        snprintf(what, sizeof(what), "%s %s acceptor, %s, req 0x%x", impl, mode, mutual ? "mutual" : "no mutual",
                 (unsigned) req);
        if (!t_status(t_cred_identity(pkg, "alice", t_realm(), "alice-pw-1", &cc), SEC_E_OK, "%s: credential", what))
                return;
        if (!peer_start(&p, impl, mode)) {
                t_ok(false, "%s: start tests/tools/krb-acceptor-%s", what, impl);
                FreeCredentialsHandle(&cc);
                return;
        }
        ob = (SecBuffer) { sizeof(out_t), SECBUFFER_TOKEN, out_t };
        st = InitializeSecurityContextA(&cc, NULL, TARGET, req, 0, SECURITY_NATIVE_DREP, NULL, 0, &c, &out, &attrs,
                                        NULL);
        for (int leg = 0; leg < 4 && st >= 0; leg++) {
                have = true;
                if (ob.cbBuffer == 0)
                        break;
                peer_send(&p, out_t, ob.cbBuffer);
                n = peer_recv(&p, tok, sizeof(tok));
                if (n <= 0)
                        break; /* the acceptor is done (or failed) */
                ob = (SecBuffer) { sizeof(out_t), SECBUFFER_TOKEN, out_t };
                ib = (SecBuffer) { (ULONG) n, SECBUFFER_TOKEN, tok };
                st = InitializeSecurityContextA(&cc, &c, TARGET, req, 0, SECURITY_NATIVE_DREP, &in, 0, &c, &out,
                                                &attrs, NULL);
        }
        t_status(st, SEC_E_OK, "%s: our client completes", what);
        t_ok(n >= 0, "%s: the acceptor completes", what);
        if (st != SEC_E_OK || n < 0)
                goto out;
        t_ok(!(attrs & ISC_RET_MUTUAL_AUTH) == !mutual, "%s: ISC_RET_MUTUAL_AUTH %s (0x%x)", what,
             mutual ? "set" : "absent", (unsigned) attrs);
        n = peer_recv(&p, tok, sizeof(tok));
        t_ok(n == 4 && !(tok[3] & 0x02) == !mutual, "%s: the acceptor's GSS_C_MUTUAL_FLAG %s", what,
             mutual ? "set" : "clear");
        if (!t_status(QueryContextAttributesA(&c, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: SIZES", what))
                goto out;

        /* The acceptor's first wrap token, through the STREAM layout. */
        n = peer_recv(&p, tok, sizeof(tok));
        b[0] = (SecBuffer) { n > 0 ? (ULONG) n : 0, SECBUFFER_STREAM, tok };
        b[1] = (SecBuffer) { 0, SECBUFFER_DATA, NULL };
        t_status(n > 0 ? DecryptMessage(&c, &d, 0, &qop) : SEC_E_INVALID_TOKEN, SEC_E_OK,
                 "%s: DecryptMessage of the acceptor's first message", what);
        t_ok(b[1].cbBuffer == sizeof(first) - 1 && b[1].pvBuffer && !memcmp(b[1].pvBuffer, first, sizeof(first) - 1),
             "%s: its plaintext", what);
        /* Its MIC over the same text. */
        n = peer_recv(&p, tok, sizeof(tok));
        memcpy(out_t, first, sizeof(first) - 1);
        b[0] = (SecBuffer) { n > 0 ? (ULONG) n : 0, SECBUFFER_TOKEN, tok };
        b[1] = (SecBuffer) { sizeof(first) - 1, SECBUFFER_DATA, out_t };
        t_status(n > 0 ? VerifySignature(&c, &d, 0, &qop) : SEC_E_INVALID_TOKEN, SEC_E_OK,
                 "%s: VerifySignature of the acceptor's MIC", what);

        /* Ours the other way: TOKEN + DATA back to back is the wrap token. */
        if (sz.cbSecurityTrailer + 32 <= sizeof(out_t)) {
                memcpy(out_t + sz.cbSecurityTrailer, "sealed by sspid, for the peer..", 31);
                b[0] = (SecBuffer) { sz.cbSecurityTrailer, SECBUFFER_TOKEN, out_t };
                b[1] = (SecBuffer) { 31, SECBUFFER_DATA, out_t + sz.cbSecurityTrailer };
                st = EncryptMessage(&c, 0, &d, 0);
                t_status(st, SEC_E_OK, "%s: EncryptMessage", what);
                memmove(out_t + b[0].cbBuffer, b[1].pvBuffer, b[1].cbBuffer);
                peer_send(&p, out_t, b[0].cbBuffer + b[1].cbBuffer);
                n = peer_recv(&p, tok, sizeof(tok));
                t_ok(n == 31 && !memcmp(tok, "sealed by sspid, for the peer..", 31), "%s: the acceptor unwraps it",
                     what);
        }
        memcpy(out_t + 1 + sz.cbMaxSignature, "signed by sspid", 15);
        b[0] = (SecBuffer) { sz.cbMaxSignature, SECBUFFER_TOKEN, out_t + 1 };
        b[1] = (SecBuffer) { 15, SECBUFFER_DATA, out_t + 1 + sz.cbMaxSignature };
        t_status(MakeSignature(&c, 0, &d, 0), SEC_E_OK, "%s: MakeSignature", what);
        out_t[0] = (uint8_t) b[0].cbBuffer;
        memmove(out_t + 1 + b[0].cbBuffer, b[1].pvBuffer, 15);
        peer_send(&p, out_t, 1 + b[0].cbBuffer + 15);
        t_ok(peer_recv(&p, tok, sizeof(tok)) == 0, "%s: the acceptor verifies our MIC", what);
out:
        t_ok(peer_stop(&p) == 0, "%s: the acceptor exits cleanly", what);
        if (have)
                DeleteSecurityContext(&c);
        FreeCredentialsHandle(&cc);
}

int main(void) {
        const char *impls[] = { "mit", "heimdal" }, *pkgs[] = { "Kerberos", "Negotiate" };
        const ULONG order[] = { 0, ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT, ISC_REQ_SEQUENCE_DETECT };

        for (size_t i = 0; i < 2; i++)
                for (size_t k = 0; k < 2; k++)
                        for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
                                for (int m = 0; m < 2; m++)
                                        one(impls[i], pkgs[k],
                                            ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | order[o] |
                                                    (m ? ISC_REQ_MUTUAL_AUTH : 0));
        return t_done();
}
