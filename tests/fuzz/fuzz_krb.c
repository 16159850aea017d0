/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for Kerberos tokens through GSSAPI as the Kerberos
 * package (daemon/packages/kerberos/) receives them, driven through its
 * provider operations exactly as sspid calls them. Everything is made
 * in-process at start-up, without a KDC: a service key (fixed bytes, test
 * only: FUZZ.TEST exists nowhere) in a keytab granted through an
 * [acceptor] section of a generated config, and a service ticket for
 * alice@FUZZ.TEST sealed with that key, put in a MEMORY ccache for
 * Heimdal's initiator. A krb5.conf with a huge clock skew keeps the
 * checked-in AP-REQs acceptable for ever; the replay cache is off so a
 * valid AP-REQ is accepted on every run. The first input byte picks:
 *   0  AP-REQ, GSS-framed or raw       -> AcceptSecurityContext
 *   1  AP-REP                          -> gss_init_sec_context, second leg
 *                                         (Heimdal's initiator, after a real
 *                                         AP-REQ)
 *   2  wrap token                      -> DecryptMessage (SECBUFFER_STREAM) on
 *                                         an established acceptor context
 *   3  L, token[L], data               -> DecryptMessage (TOKEN + DATA)
 *   4  L, MIC[L], data                 -> VerifySignature
 *   5  K, plaintext: gss_wrap by the initiator, byte K flipped (none if 0),
 *      DecryptMessage (STREAM)
 *   6  K, plaintext: gss_get_mic, byte K flipped, VerifySignature
 *   7  a FILE ccache image (AcquireCredReq.ccache_image, straight from a
 *      client)                        -> AcquireCredentialsHandle, outbound
 *   8  what a KCM peer answers on the socket a client passed (replies to
 *      GET_DEFAULT_CACHE, GET_PRINCIPAL, GET_CRED_UUID_LIST and each
 *      GET_CRED_BY_UUID, back to back) -> krb_kcm_read through a
 *      socketpair, its image        -> AcquireCredentialsHandle, outbound
 *
 * SSPID_FUZZ_SEEDS=DIR ./fuzz_krb -runs=0 writes seeds from a real
 * handshake and real messages into DIR; SSPID_FUZZ_VERBOSE=1 prints the
 * status AcceptSecurityContext gave each AP-REQ input (0 = accepted) and
 * what became of each ccache image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include "policy/config.h"
#include "packages/kerberos/kerberos.h"

#define REALM "FUZZ.TEST"
#define SERVICE "HTTP/fuzz.example.com@" REALM
#define CLIENT "alice@" REALM

/* The service's AES-256 key: test only, for the fuzz realm alone. */
static const uint8_t service_key[32] = "sspid-fuzz-only-service-key-256";

static Config *config;
static Caller caller;
static void *acceptor_cred;
static gss_cred_id_t init_cred = GSS_C_NO_CREDENTIAL;
static gss_name_t target = GSS_C_NO_NAME;
static gss_ctx_id_t init_ctx = GSS_C_NO_CONTEXT; /* established, with acceptor_ctx */
static void *acceptor_ctx;
static bool verbose; /* SSPID_FUZZ_VERBOSE: print the status of each AP-REQ */
static uint8_t *ap_req;
static size_t ap_req_len;

static void die(const char *what) {
        fprintf(stderr, "fuzz_krb: %s\n", what);
        exit(1);
}

static void check(krb5_error_code r, const char *what) {
        if (r)
                die(what);
}

/* A service ticket for CLIENT to SERVICE, sealed with service_key, in a
 * MEMORY ccache; also writes the keytab. */
static krb5_ccache make_ticket(krb5_context k, const char *keytab_path) {
        krb5_principal client, server;
        krb5_keyblock skey, session;
        krb5_crypto crypto;
        krb5_keytab kt;
        krb5_keytab_entry entry;
        krb5_ccache cc;
        krb5_creds creds;
        EncTicketPart et;
        Ticket t;
        uint8_t *buf;
        size_t len, size;
        krb5_error_code r;
        time_t now = time(NULL);
        char ktname[4200];

        check(krb5_parse_name(k, CLIENT, &client), "client name");
        check(krb5_parse_name(k, SERVICE, &server), "service name");
        check(krb5_keyblock_init(k, ETYPE_AES256_CTS_HMAC_SHA1_96, service_key, sizeof(service_key), &skey), "key");
        check(krb5_generate_random_keyblock(k, ETYPE_AES256_CTS_HMAC_SHA1_96, &session), "session key");

        snprintf(ktname, sizeof(ktname), "FILE:%s", keytab_path);
        check(krb5_kt_resolve(k, ktname, &kt), "keytab");
        memset(&entry, 0, sizeof(entry));
        entry.principal = server;
        entry.vno = 1;
        entry.keyblock = skey;
        entry.timestamp = (uint32_t) now;
        check(krb5_kt_add_entry(k, kt, &entry), "keytab entry");
        check(krb5_kt_close(k, kt), "keytab close");

        memset(&et, 0, sizeof(et));
        et.flags.initial = 1;
        et.flags.pre_authent = 1;
        et.key = session;
        et.crealm = client->realm;
        et.cname = client->name;
        et.transited.tr_type = 1; /* DOMAIN-X500-COMPRESS, empty */
        et.authtime = now;
        et.endtime = (KerberosTime) 4000000000LL; /* year 2096 */
        ASN1_MALLOC_ENCODE(EncTicketPart, buf, len, &et, &size, r);
        check(r, "EncTicketPart");
        memset(&t, 0, sizeof(t));
        t.tkt_vno = 5;
        t.realm = server->realm;
        t.sname = server->name;
        check(krb5_crypto_init(k, &skey, 0, &crypto), "crypto");
        check(krb5_encrypt_EncryptedData(k, crypto, KRB5_KU_TICKET, buf, len, 1, &t.enc_part), "seal ticket");
        free(buf);
        krb5_crypto_destroy(k, crypto);

        memset(&creds, 0, sizeof(creds));
        creds.client = client;
        creds.server = server;
        creds.session = session;
        creds.times.authtime = now;
        creds.times.starttime = now;
        creds.times.endtime = et.endtime;
        creds.flags.b = et.flags;
        ASN1_MALLOC_ENCODE(Ticket, creds.ticket.data, creds.ticket.length, &t, &size, r);
        check(r, "Ticket");
        free_EncryptedData(&t.enc_part);
        check(krb5_cc_new_unique(k, "MEMORY", NULL, &cc), "ccache");
        check(krb5_cc_initialize(k, cc, client), "ccache init");
        check(krb5_cc_store_cred(k, cc, &creds), "ccache store");
        free(creds.ticket.data);
        krb5_free_keyblock_contents(k, &session);
        krb5_free_keyblock_contents(k, &skey);
        krb5_free_principal(k, client);
        krb5_free_principal(k, server);
        return cc;
}

/* gss_init_sec_context, first leg (ctx NULL) or later. */
static OM_uint32 initiate(gss_ctx_id_t *ctx, const void *in, size_t in_len, gss_buffer_desc *out) {
        gss_buffer_desc ib = { in_len, (void *) in };
        OM_uint32 minor;

        *out = (gss_buffer_desc) GSS_C_EMPTY_BUFFER;
        return gss_init_sec_context(&minor, init_cred, ctx, target, GSS_KRB5_MECHANISM,
                                    GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG, 0,
                                    GSS_C_NO_CHANNEL_BINDINGS, in ? &ib : GSS_C_NO_BUFFER, NULL, out, NULL, NULL);
}

/* AcceptSecurityContext through the package; the output token malloc()ed. */
static SECURITY_STATUS accept_step(void **ctx, const uint8_t *in, size_t in_len, uint8_t **ret_out,
                                   size_t *ret_out_len) {
        PkgBuffer ib = { .type = SECBUFFER_TOKEN, .data = (uint8_t *) in, .len = in_len, .cap = in_len };
        PkgBuffer ob = { .type = SECBUFFER_TOKEN };
        PkgStep s = {
                .caller = &caller,
                .config = config,
                .cred = acceptor_cred,
                .ctx = *ctx,
                .req_flags = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY |
                             ASC_REQ_REPLAY_DETECT | ASC_REQ_ALLOCATE_MEMORY,
                .in = &ib,
                .n_in = 1,
                .out = &ob,
                .n_out = 1,
        };
        SECURITY_STATUS st = provider_kerberos.accept_ctx(&s);

        *ctx = s.ctx;
        if (ret_out && ob.len) {
                *ret_out = ob.data;
                *ret_out_len = ob.len;
                ob.owned = false;
        }
        if (ob.owned)
                free(ob.data);
        return st;
}

/* Output the package allocated (DecryptMessage of a stream), freed as the
 * dispatcher frees it. */
static void free_owned(PkgBuffer *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (b[i].owned)
                        free(b[i].data);
}

static void unseal_stream(const uint8_t *p, size_t len) {
        uint8_t *copy = malloc(len ? len : 1);
        uint32_t qop;

        if (!copy)
                return;
        memcpy(copy, p, len);
        PkgBuffer b[2] = { { .type = SECBUFFER_STREAM, .data = copy, .len = len, .cap = len },
                           { .type = SECBUFFER_DATA } };
        (void) provider_kerberos.unseal(acceptor_ctx, b, 2, 0, &qop);
        free_owned(b, 2);
        free(copy);
}

/* TOKEN = p[0..tl), DATA = the rest; verify or unseal. */
static void token_and_data(bool verify, const uint8_t *p, size_t len, size_t tl) {
        uint8_t *copy = malloc(len ? len : 1);
        uint32_t qop;

        if (!copy || tl > len) {
                free(copy);
                return;
        }
        memcpy(copy, p, len);
        PkgBuffer b[2] = { { .type = SECBUFFER_TOKEN, .data = copy, .len = tl, .cap = tl },
                           { .type = SECBUFFER_DATA, .data = copy + tl, .len = len - tl, .cap = len - tl } };
        if (verify)
                (void) provider_kerberos.verify(acceptor_ctx, b, 2, 0, &qop);
        else
                (void) provider_kerberos.unseal(acceptor_ctx, b, 2, 0, &qop);
        free_owned(b, 2);
        free(copy);
}

static void write_seed(const char *dir, const char *name, const uint8_t *head, size_t head_len, const void *p,
                       size_t n) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "wb");
        if (!f || fwrite(head, 1, head_len, f) != head_len || fwrite(p, 1, n, f) != n || fclose(f) != 0)
                die("cannot write a seed");
}

/* The AP-REQ inside RFC 2743 framing: 60 len 06 09 <krb5 OID> 01 00 AP-REQ. */
static bool unframe(const uint8_t *p, size_t len, const uint8_t **ret, size_t *ret_len) {
        size_t off = 2;

        if (len < 2 || p[0] != 0x60)
                return false;
        if (p[1] & 0x80)
                off += p[1] & 0x7f;
        if (len < off + 2 + 9 + 2 || p[off] != 0x06 || p[off + 1] != 9)
                return false;
        off += 2 + 9 + 2;
        *ret = p + off;
        *ret_len = len - off;
        return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        char dir[] = "/tmp/sspid-fuzz-krb.XXXXXX", kt[4200], krb5conf[4200], conf[4200], *err = NULL;
        const char *seeds = getenv("SSPID_FUZZ_SEEDS");
        gss_buffer_desc tok, name = { strlen(SERVICE), (void *) SERVICE };
        krb5_context k;
        krb5_ccache cc;
        OM_uint32 major, minor;
        uint8_t *rep = NULL;
        size_t rep_len = 0;
        int64_t expiry;
        FILE *f;

        verbose = getenv("SSPID_FUZZ_VERBOSE");
        if (!mkdtemp(dir))
                die("mkdtemp");
        snprintf(kt, sizeof(kt), "%s/fuzz.keytab", dir);
        snprintf(krb5conf, sizeof(krb5conf), "%s/krb5.conf", dir);
        snprintf(conf, sizeof(conf), "%s/sspid.conf", dir);
        f = fopen(krb5conf, "w");
        if (!f)
                die("krb5.conf");
        fprintf(f, "[libdefaults]\n\tdefault_realm = %s\n\tclockskew = 1000000000\n\tdns_lookup_kdc = false\n"
                   "\tdns_lookup_realm = false\n\tdns_canonicalize_hostname = false\n\tallow_weak_crypto = false\n"
                   "[realms]\n\t%s = {\n\t\tkdc = 127.0.0.1:9\n\t}\n",
                REALM, REALM);
        fclose(f);
        /* Before the first krb5 context of any thread (as sspid's main). */
        setenv("KRB5_CONFIG", krb5conf, 1);
        check(krb5_init_context(&k), "krb5 context");
        cc = make_ticket(k, kt);
        chmod(kt, 0600);
        f = fopen(conf, "w");
        if (!f)
                die("config");
        fprintf(f, "[kerberos]\nkrb5-config = %s\nreplay-cache = 0\n\n[acceptor fuzz]\nprincipal = %s\nkeytab = %s\n"
                   "allow = %u\n",
                krb5conf, SERVICE, kt, (unsigned) getuid());
        fclose(f);
        if (config_load(conf, &config, &err) < 0)
                die(err ? err : "config_load");
        caller = (Caller) { .uid = getuid(), .gid = getgid(), .pid = getpid() };
        if (provider_kerberos.setup(config) < 0)
                die("setup");
        PkgAcquire a = { .caller = &caller, .config = config, .principal = SERVICE, .use = SECPKG_CRED_INBOUND,
                         .act_as_uid = getuid() };
        if (provider_kerberos.acquire(&a, &acceptor_cred, &expiry) != SEC_E_OK)
                die("acceptor credential");
        unlink(kt);
        unlink(conf);

        major = gss_krb5_import_cred(&minor, cc, NULL, NULL, &init_cred);
        if (GSS_ERROR(major))
                die("gss_krb5_import_cred");
        major = gss_import_name(&minor, &name, GSS_KRB5_NT_PRINCIPAL_NAME, &target);
        if (GSS_ERROR(major))
                die("gss_import_name");

        /* The established pair. */
        major = initiate(&init_ctx, NULL, 0, &tok);
        if (major != GSS_S_CONTINUE_NEEDED)
                die("gss_init_sec_context");
        ap_req = malloc(tok.length);
        memcpy(ap_req, tok.value, tok.length);
        ap_req_len = tok.length;
        (void) gss_release_buffer(&minor, &tok);
        if (accept_step(&acceptor_ctx, ap_req, ap_req_len, &rep, &rep_len) != SEC_E_OK || !rep)
                die("AcceptSecurityContext on a real AP-REQ");
        if (initiate(&init_ctx, rep, rep_len, &tok) != GSS_S_COMPLETE)
                die("gss_init_sec_context on the AP-REP");
        unlink(krb5conf);
        rmdir(dir);

        if (seeds) {
                static const char text[] = "a message from alice to the service";
                gss_buffer_desc msg = { sizeof(text) - 1, (void *) text }, w, mic;
                const uint8_t *raw;
                size_t raw_len;
                uint8_t h[2];
                int conf_state;

                write_seed(seeds, "ap-req-gss", (const uint8_t *) "\0", 1, ap_req, ap_req_len);
                if (!unframe(ap_req, ap_req_len, &raw, &raw_len))
                        die("unframe");
                write_seed(seeds, "ap-req-raw", (const uint8_t *) "\0", 1, raw, raw_len);
                write_seed(seeds, "ap-rep", (const uint8_t *) "\1", 1, rep, rep_len);
                {
                        /* The ticket's ccache as the FILE image a client sends. */
                        char ccname[4200], *path;
                        krb5_ccache fcc;
                        FILE *cf;
                        uint8_t img[65536];
                        size_t img_len;

                        snprintf(ccname, sizeof(ccname), "FILE:%s/ccache.tmp", seeds);
                        path = ccname + 5;
                        check(krb5_cc_resolve(k, ccname, &fcc), "FILE ccache");
                        check(krb5_cc_copy_cache(k, cc, fcc), "copy to FILE ccache");
                        krb5_cc_close(k, fcc);
                        cf = fopen(path, "rb");
                        if (!cf)
                                die("FILE ccache");
                        img_len = fread(img, 1, sizeof(img), cf);
                        fclose(cf);
                        unlink(path);
                        write_seed(seeds, "ccache-image", (const uint8_t *) "\7", 1, img, img_len);
                }
                if (gss_wrap(&minor, init_ctx, 1, GSS_C_QOP_DEFAULT, &msg, &conf_state, &w) != GSS_S_COMPLETE)
                        die("gss_wrap");
                write_seed(seeds, "wrap-sealed", (const uint8_t *) "\2", 1, w.value, w.length);
                h[0] = 3;
                h[1] = 60; /* an RFC 4121 header plus the rotated trailer */
                if (w.length > 60)
                        write_seed(seeds, "wrap-token-data", h, 2, w.value, w.length);
                (void) gss_release_buffer(&minor, &w);
                if (gss_wrap(&minor, init_ctx, 0, GSS_C_QOP_DEFAULT, &msg, &conf_state, &w) != GSS_S_COMPLETE)
                        die("gss_wrap");
                write_seed(seeds, "wrap-signed", (const uint8_t *) "\2", 1, w.value, w.length);
                (void) gss_release_buffer(&minor, &w);
                if (gss_get_mic(&minor, init_ctx, GSS_C_QOP_DEFAULT, &msg, &mic) != GSS_S_COMPLETE)
                        die("gss_get_mic");
                uint8_t *both = malloc(mic.length + msg.length);
                memcpy(both, mic.value, mic.length);
                memcpy(both + mic.length, msg.value, msg.length);
                h[0] = 4;
                h[1] = (uint8_t) mic.length;
                write_seed(seeds, "mic", h, 2, both, mic.length + msg.length);
                free(both);
                (void) gss_release_buffer(&minor, &mic);
                h[0] = 5;
                h[1] = 0;
                write_seed(seeds, "wrap-plaintext", h, 2, text, sizeof(text) - 1);
                h[1] = 20;
                write_seed(seeds, "wrap-flipped", h, 2, text, sizeof(text) - 1);
                h[0] = 6;
                h[1] = 0;
                write_seed(seeds, "mic-plaintext", h, 2, text, sizeof(text) - 1);
                h[1] = 9;
                write_seed(seeds, "mic-flipped", h, 2, text, sizeof(text) - 1);
        }
        free(rep);
        krb5_cc_close(k, cc); /* the GSS credential holds its own reference */
        krb5_free_context(k);
        return 0;
}

/* The replies go into one end of a socketpair, which is then shut for
 * writing: the reader sees them, then EOF, never its 3 s deadline. The
 * peer check (root or sssd) is krb_kcm_image's and not fuzzed. */
static void kcm_replies(const uint8_t *p, size_t n) {
        int sp[2], big = 4 << 20;
        uint8_t *img = NULL;
        size_t len = 0;
        int r;

        if (n > (1u << 20) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return;
        (void) setsockopt(sp[1], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
        (void) setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
        if (send(sp[1], p, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) n || n == 0) {
                shutdown(sp[1], SHUT_WR);
                r = krb_kcm_read(sp[0], "", &img, &len);
                if (verbose)
                        fprintf(stderr, "fuzz_krb: KCM replies: %d, image of %zu bytes\n", r, len);
                if (r == 0) {
                        void *cred = NULL;
                        int64_t expiry;
                        PkgAcquire a = { .caller = &caller, .config = config, .use = SECPKG_CRED_OUTBOUND,
                                         .ccache_image = img, .ccache_image_len = len, .act_as_uid = caller.uid };

                        if (provider_kerberos.acquire(&a, &cred, &expiry) == SEC_E_OK)
                                provider_kerberos.cred_free(cred);
                        free(img);
                }
        }
        close(sp[0]);
        close(sp[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        void *ctx = NULL;
        uint8_t *out = NULL;
        size_t out_len = 0;
        gss_ctx_id_t ic = GSS_C_NO_CONTEXT;
        gss_buffer_desc tok, msg, w;
        OM_uint32 minor;
        int conf_state;
        SECURITY_STATUS st;

        if (size < 1)
                return 0;
        switch (data[0] % 9) {
        case 0:
                st = accept_step(&ctx, data + 1, size - 1, &out, &out_len);
                if (verbose)
                        fprintf(stderr, "fuzz_krb: AcceptSecurityContext: 0x%08x\n", (unsigned) st);
                free(out);
                if (ctx)
                        provider_kerberos.ctx_free(ctx);
                break;
        case 1:
                if (initiate(&ic, NULL, 0, &tok) == GSS_S_CONTINUE_NEEDED) {
                        (void) gss_release_buffer(&minor, &tok);
                        (void) initiate(&ic, data + 1, size - 1, &tok);
                        (void) gss_release_buffer(&minor, &tok);
                }
                (void) gss_delete_sec_context(&minor, &ic, GSS_C_NO_BUFFER);
                break;
        case 2:
                unseal_stream(data + 1, size - 1);
                break;
        case 7: {
                void *cred = NULL;
                int64_t expiry;
                PkgAcquire a = { .caller = &caller, .config = config, .use = SECPKG_CRED_OUTBOUND,
                                 .ccache_image = data + 1, .ccache_image_len = size - 1, .act_as_uid = caller.uid };

                st = provider_kerberos.acquire(&a, &cred, &expiry);
                if (verbose)
                        fprintf(stderr, "fuzz_krb: ccache image: shape %d, AcquireCredentialsHandle 0x%08x\n",
                                krb_ccache_image_check(data + 1, size - 1), (unsigned) st);
                if (st == SEC_E_OK)
                        provider_kerberos.cred_free(cred);
                break;
        }
        case 8:
                kcm_replies(data + 1, size - 1);
                break;
        case 3:
        case 4:
                if (size < 2)
                        return 0;
                token_and_data(data[0] % 8 == 4, data + 2, size - 2, data[1]);
                break;
        default:
                if (size < 2)
                        return 0;
                msg = (gss_buffer_desc) { size - 2, (void *) (data + 2) };
                if (data[0] % 8 == 5) {
                        if (gss_wrap(&minor, init_ctx, 1, GSS_C_QOP_DEFAULT, &msg, &conf_state, &w) != GSS_S_COMPLETE)
                                return 0;
                        if (data[1] && w.length)
                                ((uint8_t *) w.value)[data[1] % w.length] ^= (uint8_t) (1u << (data[1] & 7));
                        unseal_stream(w.value, w.length);
                } else {
                        if (gss_get_mic(&minor, init_ctx, GSS_C_QOP_DEFAULT, &msg, &w) != GSS_S_COMPLETE)
                                return 0;
                        if (data[1] && w.length)
                                ((uint8_t *) w.value)[data[1] % w.length] ^= (uint8_t) (1u << (data[1] & 7));
                        uint8_t *both = malloc(w.length + msg.length);
                        if (both) {
                                memcpy(both, w.value, w.length);
                                memcpy(both + w.length, msg.value, msg.length);
                                token_and_data(true, both, w.length + msg.length, w.length);
                                free(both);
                        }
                }
                (void) gss_release_buffer(&minor, &w);
                break;
        }
        return 0;
}
