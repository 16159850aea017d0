/* SPDX-License-Identifier: MIT */
/*
 * Schannel trust: the roots shared by every credential, the cache of peer
 * chains that verified ([schannel] chain-cache), and the certificate chain
 * our server sends. The peer here is OpenSSL itself, in this process, over
 * memory BIOs: an OpenSSL server for our client (ISC through sspid), an
 * OpenSSL client for our server (ASC through sspid).
 *
 * What the chain cache must never do, checked here: answer for another
 * target name, another set of flags, another certificate, or for roots that
 * a reload took away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "schannel.h"
#include "testcert.h"
#include "testlib.h"

#define ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | \
                   ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM)
#define ASC_FLAGS (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | \
                   ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_STREAM)

static char pki[512], conf_path[600];

static SECURITY_STATUS acquire(const char *cert, ULONG use, DWORD flags, CredHandle *h) {
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION, .dwFlags = flags };
        PCCERT_CONTEXT pc;
        Cert c;

        if (cert) {
                if (!t_load_cert(pki, cert, &c))
                        return SEC_E_INTERNAL_ERROR;
                pc = &c.cc;
                sc.cCreds = 1;
                sc.paCred = &pc;
        }
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sc, NULL, NULL, h, NULL);
}

static SSL_CTX *server_ctx(const char *name) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        char p[600];

        snprintf(p, sizeof(p), "%s/%s.pem", pki, name);
        SSL_CTX_use_certificate_file(ctx, p, SSL_FILETYPE_PEM);
        snprintf(p, sizeof(p), "%s/%s.key", pki, name);
        SSL_CTX_use_PrivateKey_file(ctx, p, SSL_FILETYPE_PEM);
        SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
        return ctx;
}

static SSL *mem_ssl(SSL_CTX *ctx) {
        SSL *s = SSL_new(ctx);
        SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
        return s;
}

/* Our client (ISC through sspid) against an OpenSSL server with `cert`. */
static SECURITY_STATUS connect_resumed(SSL_CTX *sctx, CredHandle *cred, const char *target, bool *resumed) {
        static uint8_t in[65536];
        SSL *s = mem_ssl(sctx);
        CtxtHandle ctx;
        bool have = false;
        size_t len = 0;
        SECURITY_STATUS st;

        SSL_set_accept_state(s);
        for (int legs = 0; legs < 10; legs++) {
                SecBuffer ib[2] = { { (ULONG) len, SECBUFFER_TOKEN, in }, { 0, SECBUFFER_EMPTY, NULL } };
                SecBuffer ob[2] = { { 0, SECBUFFER_TOKEN, NULL }, { 0, SECBUFFER_ALERT, NULL } };
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };
                ULONG attrs;
                int n;

                st = InitializeSecurityContextA(have ? NULL : cred, have ? &ctx : NULL, (SEC_CHAR *) target, ISC_FLAGS,
                                                0, 0, have ? &id : NULL, 0, &ctx, &od, &attrs, NULL);
                have = have || st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK;
                if (ob[0].cbBuffer)
                        BIO_write(SSL_get_rbio(s), ob[0].pvBuffer, (int) ob[0].cbBuffer);
                FreeContextBuffer(ob[0].pvBuffer);
                FreeContextBuffer(ob[1].pvBuffer);
                if (st != SEC_I_CONTINUE_NEEDED)
                        break;
                len = ib[1].BufferType == SECBUFFER_EXTRA ? ib[1].cbBuffer : 0;
                memmove(in, in + (ib[0].cbBuffer - len), len);
                (void) SSL_do_handshake(s);
                while ((n = BIO_read(SSL_get_wbio(s), in + len, (int) (sizeof(in) - len))) > 0)
                        len += (size_t) n;
        }
        if (resumed) {
                SecPkgContext_SessionInfo si = { 0 };
                *resumed = st == SEC_E_OK &&
                           QueryContextAttributesA(&ctx, SECPKG_ATTR_SESSION_INFO, &si) == SEC_E_OK &&
                           (si.dwFlags & SSL_SESSION_RECONNECT);
        }
        if (have)
                DeleteSecurityContext(&ctx);
        SSL_free(s);
        ERR_clear_error();
        return st;
}

static SECURITY_STATUS connect_to(SSL_CTX *sctx, CredHandle *cred, const char *target) {
        return connect_resumed(sctx, cred, target, NULL);
}

/* An OpenSSL client against our server (ASC through sspid): how many
 * certificates our server sent, or -1 if the handshake failed. */
static int accept_from(CredHandle *scred, SSL_CTX *cctx, SSL_SESSION **session, bool *reused);

static int chain_sent(CredHandle *scred) {
        SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
        int n = accept_from(scred, cctx, NULL, NULL);

        SSL_CTX_free(cctx);
        return n;
}

/* An OpenSSL client (on `cctx`, resuming *session if set, and leaving the
 * new one there) against our server: how many certificates our server sent,
 * or -1 if the handshake failed. */
static int accept_from(CredHandle *scred, SSL_CTX *cctx, SSL_SESSION **session, bool *reused) {
        static uint8_t in[65536];
        SSL *c;
        CtxtHandle ctx;
        bool have = false;
        size_t len = 0;
        SECURITY_STATUS st = SEC_E_INTERNAL_ERROR;
        int n, count = -1;
        char p[600];

        snprintf(p, sizeof(p), "%s/ca.pem", pki);
        if (SSL_CTX_load_verify_locations(cctx, p, NULL) != 1)
                return -1;
        SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
        c = mem_ssl(cctx);
        SSL_set_connect_state(c);
        SSL_set_tlsext_host_name(c, "localhost");
        SSL_set1_host(c, "localhost");
        if (session && *session)
                SSL_set_session(c, *session);
        for (int legs = 0; legs < 10; legs++) {
                int r = SSL_do_handshake(c);
                SecBuffer ib[2], ob = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
                ULONG attrs;

                len = 0;
                while ((n = BIO_read(SSL_get_wbio(c), in + len, (int) (sizeof(in) - len))) > 0)
                        len += (size_t) n;
                if (r == 1 && len == 0)
                        break;
                if (len == 0)
                        goto out;
                ib[0] = (SecBuffer) { (ULONG) len, SECBUFFER_TOKEN, in };
                ib[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = AcceptSecurityContext(have ? NULL : scred, have ? &ctx : NULL, &id, ASC_FLAGS, 0, &ctx, &od,
                                           &attrs, NULL);
                have = have || st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK;
                if (ob.cbBuffer)
                        BIO_write(SSL_get_rbio(c), ob.pvBuffer, (int) ob.cbBuffer);
                FreeContextBuffer(ob.pvBuffer);
                if (st != SEC_I_CONTINUE_NEEDED && st != SEC_E_OK)
                        goto out;
        }
        if (SSL_is_init_finished(c) && SSL_get_verify_result(c) == X509_V_OK) {
                count = sk_X509_num(SSL_get_peer_cert_chain(c));
                if (reused)
                        *reused = SSL_session_reused(c);
                if (session) {
                        SSL_SESSION_free(*session);
                        *session = SSL_get1_session(c);
                }
        }
out:
        if (have)
                DeleteSecurityContext(&ctx);
        /* A connection dropped without close_notify would make OpenSSL
         * forget the session; this one ended well. */
        SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c);
        ERR_clear_error();
        return count;
}

static char *read_file(const char *path) {
        FILE *f = fopen(path, "r");
        char *buf;
        long n;

        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = calloc(1, (size_t) n + 1);
        if (buf && fread(buf, 1, (size_t) n, f) != (size_t) n) {
                free(buf);
                buf = NULL;
        }
        fclose(f);
        return buf;
}

static bool write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        bool ok = f && fputs(text, f) >= 0;

        if (f)
                ok = fclose(f) == 0 && ok;
        return ok;
}

static bool reload(void) {
        char cmd[1200];
        const char *top = getenv("SSPID_TOP");

        snprintf(cmd, sizeof(cmd), "'%s/build/sspictl' reload >/dev/null 2>&1", top ? top : ".");
        return system(cmd) == 0;
}

/* [schannel] session-cache = 2: both caches keep the two most recent
 * sessions (TLS 1.2 here: the session exists when the handshake ends). */
static void test_session_cache(SSL_CTX *ec) {
        char *conf = read_file(conf_path), *edited;
        const char *p = conf ? strstr(conf, "\n[schannel]\n") : NULL;
        CredHandle small, scred;
        SSL_CTX *cctx;
        SSL_SESSION *sess[3] = { NULL, NULL, NULL };
        bool r[5] = { false };
        size_t head;

        t_ok(p != NULL, "the test world's configuration has [schannel]");
        if (!p)
                return;
        head = (size_t) (p - conf) + strlen("\n[schannel]\n");
        edited = malloc(strlen(conf) + 64);
        memcpy(edited, conf, head);
        strcpy(edited + head, "session-cache = 2\n");
        strcat(edited, conf + head);
        t_ok(write_file(conf_path, edited) && reload(), "reload with session-cache = 2");

        /* Our client: one session per target, the oldest target goes. */
        SSL_CTX_set_max_proto_version(ec, TLS1_2_VERSION);
        if (t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, SCH_CRED_NO_SERVERNAME_CHECK, &small), SEC_E_OK,
                     "client credential under session-cache = 2")) {
                const char *targets[] = { "a.test", "b.test", "c.test" };
                bool all = true;
                for (int i = 0; i < 3; i++)
                        all = connect_resumed(ec, &small, targets[i], &r[i]) == SEC_E_OK && !r[i] && all;
                t_ok(all, "three targets, three full handshakes");
                t_status(connect_resumed(ec, &small, "c.test", &r[3]), SEC_E_OK, "c.test again");
                t_ok(r[3], "c.test resumed (one of the two kept)");
                t_status(connect_resumed(ec, &small, "a.test", &r[4]), SEC_E_OK, "a.test again");
                t_ok(!r[4], "a.test not resumed: the oldest target was dropped at the third");
                FreeCredentialsHandle(&small);
        }
        SSL_CTX_set_max_proto_version(ec, 0);

        /* Our server: the oldest session goes. */
        cctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
        SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);
        if (t_status(acquire("server-ec", SECPKG_CRED_INBOUND, 0, &scred), SEC_E_OK,
                     "server credential under session-cache = 2")) {
                bool all = true, reused = true;
                for (int i = 0; i < 2; i++)
                        all = accept_from(&scred, cctx, &sess[i], &reused) == 1 && !reused && all;
                t_ok(all, "two clients, two full handshakes");
                t_ok(accept_from(&scred, cctx, &sess[0], &reused) == 1 && reused,
                     "both kept: the first resumes on our server");
                t_ok(accept_from(&scred, cctx, &sess[2], &reused) == 1 && !reused, "a third client: full handshake");
                t_ok(accept_from(&scred, cctx, &sess[1], &reused) == 1 && reused, "the second still resumes");
                t_ok(accept_from(&scred, cctx, &sess[0], &reused) == 1 && !reused,
                     "the oldest (the first) was dropped from our server's cache");
                FreeCredentialsHandle(&scred);
        }
        for (int i = 0; i < 3; i++)
                SSL_SESSION_free(sess[i]);
        SSL_CTX_free(cctx);

        t_ok(write_file(conf_path, conf) && reload(), "the original configuration restored");
        free(edited);
        free(conf);
}

int main(void) {
        const char *env = getenv("SSPID_TESTENV");
        SSL_CTX *ec, *wrong, *expired;
        CredHandle cred, noname, scred, sroot;
        char *conf, *p;

        if (!env) {
                fprintf(stderr, "SSPID_TESTENV is not set (run inside tests/tools/testenv.sh)\n");
                return 2;
        }
        snprintf(pki, sizeof(pki), "%s/pki", env);
        snprintf(conf_path, sizeof(conf_path), "%s/sspid.conf", env);
        ec = server_ctx("server-ec");
        wrong = server_ctx("wrongname");
        expired = server_ctx("expired");

        /* ---- the chain cache answers only for what it verified ---- */
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, 0, &cred), SEC_E_OK, "client credential");
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, SCH_CRED_NO_SERVERNAME_CHECK, &noname), SEC_E_OK,
                 "client credential without the name check");
        t_status(connect_to(ec, &cred, "localhost"), SEC_E_OK, "localhost: verified");
        t_status(connect_to(ec, &cred, "localhost"), SEC_E_OK, "localhost again (the chain is remembered)");
        t_status(connect_to(ec, &cred, "other.invalid"), SEC_E_WRONG_PRINCIPAL,
                 "same chain, another target name: SEC_E_WRONG_PRINCIPAL");
        t_status(connect_to(ec, &noname, "other.invalid"), SEC_E_OK,
                 "same chain, another name, SCH_CRED_NO_SERVERNAME_CHECK: SEC_E_OK");
        t_status(connect_to(ec, &cred, "other.invalid"), SEC_E_WRONG_PRINCIPAL,
                 "and without the flag again: SEC_E_WRONG_PRINCIPAL");
        t_status(connect_to(wrong, &cred, "localhost"), SEC_E_WRONG_PRINCIPAL,
                 "another certificate for the same name: judged on its own");
        t_status(connect_to(expired, &cred, "localhost"), SEC_E_CERT_EXPIRED, "expired certificate");
        t_status(connect_to(expired, &cred, "localhost"), SEC_E_CERT_EXPIRED,
                 "expired certificate again (failures are never remembered)");

        /* ---- a reload that takes the roots away ---- */
        conf = read_file(conf_path);
        p = conf ? strstr(conf, "\nca-file = ") : NULL;
        t_ok(p != NULL, "the test world's configuration names a ca-file");
        if (p) {
                char *edited = malloc(strlen(conf) + 64);
                size_t head = (size_t) (p - conf) + 1;
                memcpy(edited, conf, head);
                /* "ca-file = ..." commented out: the CA is no longer trusted */
                strcpy(edited + head, "; ");
                strcat(edited, p + 1);
                t_ok(write_file(conf_path, edited) && reload(), "reload without the test CA");
                t_status(connect_to(ec, &cred, "localhost"), SEC_E_UNTRUSTED_ROOT,
                         "credential from before the reload: the CA is gone for it too (and its remembered chain with it)");
                CredHandle fresh;
                if (t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, 0, &fresh), SEC_E_OK, "new credential")) {
                        t_status(connect_to(ec, &fresh, "localhost"), SEC_E_UNTRUSTED_ROOT,
                                 "new credential after the reload: SEC_E_UNTRUSTED_ROOT");
                        FreeCredentialsHandle(&fresh);
                }
                t_ok(write_file(conf_path, conf) && reload(), "the original configuration restored");
                t_status(connect_to(ec, &cred, "localhost"), SEC_E_OK, "trusted again after the restore");
                free(edited);
        }
        free(conf);

        /* ---- the chain our server sends ---- */
        if (t_status(acquire("server-ec", SECPKG_CRED_INBOUND, 0, &scred), SEC_E_OK, "server credential")) {
                t_ok(chain_sent(&scred) == 1, "our server sends its certificate without the root (as Windows)");
                t_ok(chain_sent(&scred) == 1, "and the same on the next handshake");
                FreeCredentialsHandle(&scred);
        }
        if (t_status(acquire("server-ec", SECPKG_CRED_INBOUND, SCH_SEND_ROOT_CERT, &sroot), SEC_E_OK,
                     "server credential with SCH_SEND_ROOT_CERT")) {
                t_ok(chain_sent(&sroot) == 2, "SCH_SEND_ROOT_CERT: certificate and root");
                FreeCredentialsHandle(&sroot);
        }

        test_session_cache(ec);

        FreeCredentialsHandle(&cred);
        FreeCredentialsHandle(&noname);
        SSL_CTX_free(ec);
        SSL_CTX_free(wrong);
        SSL_CTX_free(expired);
        return t_done();
}
