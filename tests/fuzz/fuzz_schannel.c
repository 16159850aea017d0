/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for TLS records fed to the Schannel package
 * (daemon/packages/schannel/), linked as it is in sspid and driven
 * through its provider operations with real credentials: a P-256 server
 * certificate and key made in-process at start-up (granted through a
 * [certificate] section of a generated config, as in the daemon) and a
 * client credential without one. The first input byte picks the path:
 *   0  a client's first flight        -> AcceptSecurityContext, fresh context
 *   1  a server's flight              -> InitializeSecurityContext, second leg
 *                                        (after our own ClientHello)
 *   2  a client's second flight       -> AcceptSecurityContext, second leg
 *                                        (after a real ClientHello)
 *   3  records from the client        -> DecryptMessage on an established
 *                                        server context
 *   4  records from the server        -> DecryptMessage on an established
 *                                        client context
 *   5  plaintext: sealed by the real client (EncryptMessage), one byte of
 *      the record flipped at a position the input picks (none when 0),
 *      then DecryptMessage by the server: the in-place record path with
 *      records that decrypt
 * Modes 3-5 use a TLS 1.3 pair when (first byte / 6) is even, a TLS 1.2
 * one when odd. An established pair is kept between inputs and made again
 * once a decrypt killed it.
 * A first byte of 0xF0 and above picks DTLS 1.2 (schannel-dtls.c) instead:
 *   0xF0  a datagram to a fresh DTLS server  -> AcceptSecurityContext
 *   0xF1  a datagram to a DTLS client after its ClientHello
 *   0xF2  a datagram to an established DTLS server -> DecryptMessage
 *   0xF3+ a datagram to the DTLS server after a real ClientHello
 *
 * SSPID_FUZZ_SEEDS=DIR ./fuzz_schannel -runs=0 writes seeds (ClientHellos
 * for TLS 1.3 and 1.2, a server flight, a client Finished flight, records)
 * from a real handshake into DIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy/config.h"
#include "packages/provider.h"
#include "sspi.pb-c.h"

extern const Provider provider_schannel;

static Config *config;
static Caller caller;
static void *server_cred, *client_cred, *client12_cred, *dtls_server_cred, *dtls_client_cred;
static void *dtls_pair[2];
static uint8_t *dtls_hello;
static size_t dtls_hello_len;
static uint8_t *hello, *server_flight, *client_flight;
static size_t hello_len, server_flight_len, client_flight_len;
/* Established pairs, kept between inputs: TLS 1.3, and TLS 1.2 (whose
 * client resumes the session, so that making a pair again after a
 * decrypt killed one costs no public-key work). */
static void *pairs[2][2];
static unsigned pv; /* the pair of this input: 0 = TLS 1.3, 1 = TLS 1.2 */
#define pair_client pairs[pv][0]
#define pair_server pairs[pv][1]

static void die(const char *what) {
        fprintf(stderr, "fuzz_schannel: %s\n", what);
        exit(1);
}

/* A self-signed P-256 certificate for CN=fuzz.example.com. */
static void make_certificate(const char *cert_path, const char *key_path, uint8_t **ret_der, size_t *ret_len) {
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        X509_NAME *n;
        FILE *f;
        int len;

        if (!key || !x)
                die("key");
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
        X509_set_pubkey(x, key);
        n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *) "fuzz.example.com", -1, -1, 0);
        X509_set_issuer_name(x, n);
        if (!X509_sign(x, key, EVP_sha256()))
                die("sign");
        f = fopen(cert_path, "w");
        if (!f || !PEM_write_X509(f, x) || fclose(f))
                die("cert file");
        f = fopen(key_path, "w");
        if (!f || fchmod(fileno(f), 0600) < 0 || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fclose(f))
                die("key file");
        *ret_der = NULL;
        len = i2d_X509(x, ret_der);
        if (len <= 0)
                die("der");
        *ret_len = (size_t) len;
        X509_free(x);
        EVP_PKEY_free(key);
}

static void *acquire(uint32_t use, const uint8_t *der, size_t der_len, uint32_t protocols) {
        ProtobufCBinaryData cert = { der_len, (uint8_t *) der };
        Sspiw__SchannelCred w = SSPIW__SCHANNEL_CRED__INIT;
        void *cred = NULL;
        int64_t expiry;

        w.version = 4; /* SCHANNEL_CRED_VERSION */
        w.flags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_SERVERNAME_CHECK | SCH_CRED_NO_DEFAULT_CREDS;
        if (der) {
                w.n_certs = 1;
                w.certs = &cert;
        }
        if (protocols) {
                w.has_enabled_protocols = true;
                w.enabled_protocols = protocols;
        }
        PkgAcquire a = { .caller = &caller, .config = config, .use = use, .act_as_uid = getuid(), .schannel = &w };
        if (provider_schannel.acquire(&a, &cred, &expiry) != SEC_E_OK)
                die("acquire");
        return cred;
}

/* One handshake step with one input token (may be NULL); returns the
 * status, the output token malloc()ed. */
static SECURITY_STATUS step(bool server, void *cred, void **ctx, const uint8_t *in, size_t in_len, uint8_t **ret_out,
                            size_t *ret_out_len) {
        PkgBuffer ib[2] = {
                { .type = SECBUFFER_TOKEN, .data = (uint8_t *) in, .len = in_len, .cap = in_len },
                { .type = SECBUFFER_EMPTY },
        };
        /* *_REQ_ALLOCATE_MEMORY: the library allocates both slots. */
        PkgBuffer ob[2] = { { .type = SECBUFFER_TOKEN, .allocate = true }, { .type = SECBUFFER_ALERT, .allocate = true } };
        PkgStep s = {
                .caller = &caller,
                .config = config,
                .cred = cred,
                .ctx = *ctx,
                .target = server ? NULL : "fuzz.example.com",
                .req_flags = server ? ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM | ASC_REQ_ALLOCATE_MEMORY
                                    : ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM | ISC_REQ_ALLOCATE_MEMORY |
                                              ISC_REQ_MANUAL_CRED_VALIDATION,
                .in = ib,
                .n_in = in ? 2 : 0,
                .out = ob,
                .n_out = 2,
        };
        SECURITY_STATUS st = server ? provider_schannel.accept_ctx(&s) : provider_schannel.init_ctx(&s);

        *ctx = s.ctx;
        if (ret_out) {
                *ret_out = ob[0].len ? ob[0].data : NULL;
                *ret_out_len = ob[0].len;
                if (ob[0].len)
                        ob[0].owned = false;
        }
        for (int i = 0; i < 2; i++)
                if (ob[i].owned)
                        free(ob[i].data);
        return st;
}

static void ctx_drop(void **ctx) {
        if (*ctx)
                provider_schannel.ctx_free(*ctx);
        *ctx = NULL;
}

static bool unseal(void *ctx, const uint8_t *p, size_t len);

/* A full handshake between our two credentials, with the legs kept. */
static bool handshake(void *ccred, void **ret_client, void **ret_server, bool keep) {
        void *c = NULL, *s = NULL;
        uint8_t *tok = NULL, *back = NULL;
        size_t tok_len = 0, back_len = 0;
        SECURITY_STATUS cs, ss = SEC_I_CONTINUE_NEEDED;
        int legs = 0;

        cs = step(false, ccred, &c, NULL, 0, &tok, &tok_len);
        for (legs = 0; legs < 8 && tok && (cs == SEC_I_CONTINUE_NEEDED || cs == SEC_E_OK); legs++) {
                if (keep && legs == 0 && !hello) {
                        hello = malloc(tok_len);
                        memcpy(hello, tok, tok_len);
                        hello_len = tok_len;
                } else if (keep && legs == 1 && !client_flight) {
                        client_flight = malloc(tok_len);
                        memcpy(client_flight, tok, tok_len);
                        client_flight_len = tok_len;
                }
                ss = step(true, server_cred, &s, tok, tok_len, &back, &back_len);
                free(tok);
                tok = NULL;
                if (ss != SEC_I_CONTINUE_NEEDED && ss != SEC_E_OK)
                        break;
                if (keep && legs == 0 && !server_flight && back) {
                        server_flight = malloc(back_len);
                        memcpy(server_flight, back, back_len);
                        server_flight_len = back_len;
                }
                if (cs == SEC_E_OK) {
                        /* Tickets after the client finished: records for it. */
                        if (back)
                                (void) unseal(c, back, back_len);
                        break;
                }
                if (!back)
                        break;
                cs = step(false, ccred, &c, back, back_len, &tok, &tok_len);
                free(back);
                back = NULL;
        }
        free(tok);
        free(back);
        if (cs != SEC_E_OK || ss != SEC_E_OK) {
                ctx_drop(&c);
                ctx_drop(&s);
                return false;
        }
        *ret_client = c;
        *ret_server = s;
        return true;
}

/* EncryptMessage of `len` bytes: returns the record, malloc()ed. */
static uint8_t *seal(void *ctx, const uint8_t *p, size_t len, size_t *ret_len) {
        PkgCtxAttr a = {};
        uint8_t *rec;
        size_t h, t;

        if (provider_schannel.query_ctx(ctx, SECPKG_ATTR_STREAM_SIZES, &a) != SEC_E_OK || a.n_words < 3)
                return NULL;
        h = a.words[0];
        t = a.words[1];
        if (len > a.words[2])
                len = a.words[2];
        rec = calloc(1, h + len + t);
        if (!rec)
                return NULL;
        memcpy(rec + h, p, len);
        PkgBuffer b[4] = {
                { .type = SECBUFFER_STREAM_HEADER, .data = rec, .len = h, .cap = h },
                { .type = SECBUFFER_DATA, .data = rec + h, .len = len, .cap = len },
                { .type = SECBUFFER_STREAM_TRAILER, .data = rec + h + len, .len = t, .cap = t },
                { .type = SECBUFFER_EMPTY },
        };
        if (provider_schannel.seal(ctx, 0, b, 4, 0) != SEC_E_OK) {
                free(rec);
                return NULL;
        }
        /* Header, data and trailer are contiguous; the trailer may shrink. */
        *ret_len = b[0].len + b[1].len + b[2].len;
        return rec;
}

/* DecryptMessage of p[0..len) in place (on a copy); false when the
 * context cannot be used any more. */
static bool unseal(void *ctx, const uint8_t *p, size_t len) {
        uint8_t *copy = malloc(len ? len : 1);
        uint32_t qop;
        SECURITY_STATUS st;

        if (!copy)
                return true;
        memcpy(copy, p, len);
        PkgBuffer b[4] = {
                { .type = SECBUFFER_DATA, .data = copy, .len = len, .cap = len },
                { .type = SECBUFFER_EMPTY },
                { .type = SECBUFFER_EMPTY },
                { .type = SECBUFFER_EMPTY },
        };
        st = provider_schannel.unseal(ctx, b, 4, 0, &qop);
        free(copy);
        return st == SEC_E_OK || st == SEC_E_INCOMPLETE_MESSAGE || st == SEC_I_RENEGOTIATE;
}

/* ---- DTLS: a step and the rest of its flight (SEC_I_MESSAGE_FRAGMENT) ---- */

typedef struct Flight {
        uint8_t *d[32];
        size_t n[32];
        unsigned count;
} Flight;

static void flight_free(Flight *f) {
        for (unsigned i = 0; i < f->count; i++)
                free(f->d[i]);
        f->count = 0;
}

static SECURITY_STATUS dstep(bool server, void **ctx, const uint8_t *in, size_t len, Flight *f) {
        uint8_t *out = NULL;
        size_t n = 0;
        SECURITY_STATUS st = step(server, server ? dtls_server_cred : dtls_client_cred, ctx, in, len, &out, &n);

        for (int i = 0; i < 64; i++) {
                if (out && f->count < 32) {
                        f->d[f->count] = out;
                        f->n[f->count++] = n;
                } else
                        free(out);
                out = NULL;
                if (st != SEC_I_MESSAGE_FRAGMENT)
                        break;
                st = step(server, server ? dtls_server_cred : dtls_client_cred, ctx, NULL, 0, &out, &n);
        }
        return st;
}

static bool dtls_handshake(void **ret_client, void **ret_server, bool keep) {
        void *c = NULL, *s = NULL;
        Flight a = { 0 }, b = { 0 };
        SECURITY_STATUS cs, ss = SEC_I_CONTINUE_NEEDED;

        cs = dstep(false, &c, NULL, 0, &a);
        if (keep && a.count && !dtls_hello) {
                dtls_hello = malloc(a.n[0]);
                memcpy(dtls_hello, a.d[0], a.n[0]);
                dtls_hello_len = a.n[0];
        }
        for (int round = 0; round < 8 && (cs != SEC_E_OK || ss != SEC_E_OK); round++) {
                for (unsigned i = 0; i < a.count; i++)
                        ss = dstep(true, &s, a.d[i], a.n[i], &b);
                flight_free(&a);
                for (unsigned i = 0; i < b.count; i++)
                        cs = dstep(false, &c, b.d[i], b.n[i], &a);
                flight_free(&b);
                if (cs < 0 || ss < 0)
                        break;
        }
        flight_free(&a);
        flight_free(&b);
        if (cs != SEC_E_OK || ss != SEC_E_OK) {
                ctx_drop(&c);
                ctx_drop(&s);
                return false;
        }
        *ret_client = c;
        *ret_server = s;
        return true;
}

static int dtls_one(const uint8_t *data, size_t size) {
        void *ctx = NULL;
        Flight f = { 0 };

        switch (data[0]) {
        case 0xf0:
                (void) dstep(true, &ctx, data + 1, size - 1, &f);
                break;
        case 0xf1:
                if (dstep(false, &ctx, NULL, 0, &f) == SEC_I_CONTINUE_NEEDED) {
                        flight_free(&f);
                        (void) dstep(false, &ctx, data + 1, size - 1, &f);
                        /* the caller's timer: a call without input */
                        flight_free(&f);
                        (void) dstep(false, &ctx, NULL, 0, &f);
                }
                break;
        case 0xf2:
                if (!dtls_pair[1] && !dtls_handshake(&dtls_pair[0], &dtls_pair[1], false))
                        die("DTLS handshake");
                if (!unseal(dtls_pair[1], data + 1, size - 1)) {
                        ctx_drop(&dtls_pair[0]);
                        ctx_drop(&dtls_pair[1]);
                }
                return 0;
        default:
                if (dstep(true, &ctx, dtls_hello, dtls_hello_len, &f) >= 0) {
                        flight_free(&f);
                        (void) dstep(true, &ctx, data + 1, size - 1, &f);
                }
                break;
        }
        flight_free(&f);
        ctx_drop(&ctx);
        return 0;
}

static void pair_ready(void) {
        if (!pair_server && !handshake(pv ? client12_cred : client_cred, &pair_client, &pair_server, false))
                die("handshake");
}

static void pair_drop(void) {
        ctx_drop(&pair_client);
        ctx_drop(&pair_server);
}

static void write_seed(const char *dir, const char *name, uint8_t mode, const uint8_t *p, size_t n) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "wb");
        if (!f || fputc(mode, f) == EOF || fwrite(p, 1, n, f) != n || fclose(f) != 0)
                die("cannot write a seed");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        char dir[] = "/tmp/sspid-fuzz-schannel.XXXXXX", cert[4200], key[4200], conf[4200], *err = NULL;
        const char *seeds = getenv("SSPID_FUZZ_SEEDS");
        uint8_t *der;
        size_t der_len;
        FILE *f;

        if (!mkdtemp(dir))
                die("mkdtemp");
        snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
        snprintf(key, sizeof(key), "%s/key.pem", dir);
        snprintf(conf, sizeof(conf), "%s/sspid.conf", dir);
        make_certificate(cert, key, &der, &der_len);
        f = fopen(conf, "w");
        if (!f)
                die("config");
        fprintf(f, "[schannel]\nsystem-store = no\n\n[certificate fuzz]\nfile = %s\nkey = %s\nallow = %u\n", cert, key,
                (unsigned) getuid());
        fclose(f);
        if (config_load(conf, &config, &err) < 0)
                die(err ? err : "config_load");
        caller = (Caller) { .uid = getuid(), .gid = getgid(), .pid = getpid() };
        if (provider_schannel.setup)
                (void) provider_schannel.setup(config);
        server_cred = acquire(SECPKG_CRED_INBOUND, der, der_len, 0);
        client_cred = acquire(SECPKG_CRED_OUTBOUND, NULL, 0, 0);
        client12_cred = acquire(SECPKG_CRED_OUTBOUND, NULL, 0, SP_PROT_TLS1_2_CLIENT);
        dtls_server_cred = acquire(SECPKG_CRED_INBOUND, der, der_len, SP_PROT_DTLS1_2_SERVER);
        dtls_client_cred = acquire(SECPKG_CRED_OUTBOUND, NULL, 0, SP_PROT_DTLS1_2_CLIENT);
        unlink(cert);
        unlink(key);
        unlink(conf);
        rmdir(dir);
        OPENSSL_free(der);

        if (!handshake(client_cred, &pair_client, &pair_server, true) || !hello || !server_flight || !client_flight)
                die("the reference handshake failed");
        if (!dtls_handshake(&dtls_pair[0], &dtls_pair[1], true) || !dtls_hello)
                die("the reference DTLS handshake failed");
        if (seeds) {
                static const char text[] = "GET / HTTP/1.1\r\nHost: fuzz.example.com\r\n\r\n";
                uint8_t *rec;
                size_t rec_len;
                void *c12 = NULL, *s12 = NULL;
                uint8_t *h12 = NULL;
                size_t h12_len = 0;

                write_seed(seeds, "clienthello-tls13", 0, hello, hello_len);
                write_seed(seeds, "server-flight-tls13", 1, server_flight, server_flight_len);
                write_seed(seeds, "client-finished-tls13", 2, client_flight, client_flight_len);
                if (step(false, client12_cred, &c12, NULL, 0, &h12, &h12_len) != SEC_I_CONTINUE_NEEDED || !h12)
                        die("TLS 1.2 ClientHello");
                write_seed(seeds, "clienthello-tls12", 0, h12, h12_len);
                free(h12);
                ctx_drop(&c12);
                rec = seal(pair_client, (const uint8_t *) text, sizeof(text) - 1, &rec_len);
                if (!rec)
                        die("seal");
                write_seed(seeds, "record-from-client", 3, rec, rec_len);
                free(rec);
                rec = seal(pair_server, (const uint8_t *) "HTTP/1.1 200 OK\r\n\r\n", 19, &rec_len);
                if (!rec)
                        die("seal");
                write_seed(seeds, "record-from-server", 4, rec, rec_len);
                free(rec);
                pv = 1;
                pair_ready();
                rec = seal(pair_client, (const uint8_t *) text, sizeof(text) - 1, &rec_len);
                if (!rec)
                        die("seal");
                write_seed(seeds, "record-from-client-tls12", 3 + 6, rec, rec_len);
                free(rec);
                pair_drop();
                pv = 0;
                uint8_t p5[1 + sizeof(text) - 1];
                p5[0] = 0;
                memcpy(p5 + 1, text, sizeof(text) - 1);
                write_seed(seeds, "sealed-plaintext", 5, p5, sizeof(p5));
                p5[0] = 7;
                write_seed(seeds, "sealed-flipped", 5, p5, sizeof(p5));
                p5[0] = 0;
                write_seed(seeds, "sealed-plaintext-tls12", 5 + 6, p5, sizeof(p5));
                (void) s12;
                pair_drop();
                {
                        void *dc = NULL;
                        Flight f = { 0 };
                        write_seed(seeds, "dtls-clienthello", 0xf0, dtls_hello, dtls_hello_len);
                        if (dstep(true, &dc, dtls_hello, dtls_hello_len, &f) < 0 || !f.count)
                                die("DTLS server flight");
                        write_seed(seeds, "dtls-server-datagram", 0xf1, f.d[0], f.n[0]);
                        flight_free(&f);
                        ctx_drop(&dc);
                        rec = seal(dtls_pair[0], (const uint8_t *) text, 40, &rec_len);
                        if (!rec)
                                die("DTLS seal");
                        write_seed(seeds, "dtls-record-from-client", 0xf2, rec, rec_len);
                        free(rec);
                }
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        void *ctx = NULL;
        uint8_t *out = NULL, *rec;
        size_t out_len = 0, rec_len;
        SECURITY_STATUS st;

        if (size < 1)
                return 0;
        if (data[0] >= 0xf0)
                return dtls_one(data, size);
        pv = (data[0] / 6) & 1;
        switch (data[0] % 6) {
        case 0:
                (void) step(true, server_cred, &ctx, data + 1, size - 1, &out, &out_len);
                break;
        case 1:
                st = step(false, client_cred, &ctx, NULL, 0, &out, &out_len);
                free(out);
                out = NULL;
                if (st == SEC_I_CONTINUE_NEEDED)
                        (void) step(false, client_cred, &ctx, data + 1, size - 1, &out, &out_len);
                break;
        case 2:
                st = step(true, server_cred, &ctx, hello, hello_len, &out, &out_len);
                free(out);
                out = NULL;
                if (st == SEC_I_CONTINUE_NEEDED)
                        (void) step(true, server_cred, &ctx, data + 1, size - 1, &out, &out_len);
                break;
        case 3:
        case 4:
                pair_ready();
                if (!unseal(data[0] % 6 == 3 ? pair_server : pair_client, data + 1, size - 1))
                        pair_drop();
                return 0;
        default:
                if (size < 2)
                        return 0;
                pair_ready();
                rec = seal(pair_client, data + 2, size - 2, &rec_len);
                if (!rec) {
                        pair_drop();
                        return 0;
                }
                if (data[1] && rec_len)
                        rec[data[1] % rec_len] ^= (uint8_t) (1u << (data[1] & 7));
                if (!unseal(pair_server, rec, rec_len) || data[1])
                        pair_drop(); /* a flipped record leaves the two out of step */
                free(rec);
                return 0;
        }
        free(out);
        ctx_drop(&ctx);
        return 0;
}
