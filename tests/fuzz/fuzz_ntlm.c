/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the NTLM package's message parsers
 * (daemon/packages/ntlm/), driven through the provider's own steps with a
 * real credential on each side, so every check the daemon makes on a peer's
 * message runs exactly as in sspid. The first input byte picks what the
 * rest is:
 *   0  NEGOTIATE      -> AcceptSecurityContext, first leg
 *   1  CHALLENGE      -> InitializeSecurityContext, second leg
 *   2  AUTHENTICATE   -> AcceptSecurityContext, second leg (after a real
 *                        NEGOTIATE/CHALLENGE)
 *   3  SEC_CHANNEL_BINDINGS beside a real CHALLENGE (the bindings reader)
 *   4  signature (16 bytes) + data -> VerifySignature on an established
 *                        server context
 *   5  signature (16 bytes) + data -> DecryptMessage, same context
 *
 * The random source is replaced by a counter (RAND_bytes below), so the
 * server's challenge and the client's nonce are the same in every run and
 * the checked-in AUTHENTICATE seeds pass the NTProofStr check: the fuzzer
 * then reaches key exchange and the MIC as well. Only this test binary
 * does that; the package itself is unchanged.
 *
 * SSPID_FUZZ_SEEDS=DIR ./fuzz_ntlm -runs=0 writes seeds from a real
 * exchange between the two credentials into DIR.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/config.h"
#include "packages/ntlm/ntlm.h"

static Config *config;
static Caller caller;
static void *server_cred, *client_cred;
static uint8_t *negotiate, *challenge, *authenticate;
static size_t negotiate_len, challenge_len, authenticate_len;
static void *server_ctx; /* established, for modes 4 and 5 */

/* Deterministic "randomness" for this binary only (see above). */
static uint64_t rand_counter;
int RAND_bytes(unsigned char *buf, int num) {
        for (int i = 0; i < num; i++)
                buf[i] = (unsigned char) (0x5a ^ (rand_counter++ * 131));
        return 1;
}
int RAND_priv_bytes(unsigned char *buf, int num) {
        return RAND_bytes(buf, num);
}

static void die(const char *what) {
        fprintf(stderr, "fuzz_ntlm: %s\n", what);
        exit(1);
}

static void free_out(PkgBuffer *b) {
        if (b->owned)
                free(b->data);
        *b = (PkgBuffer) {};
}

/* One step; the output token (if any) is returned malloc()ed. */
static SECURITY_STATUS step(bool accept, void *cred, void **ctx, const uint8_t *in, size_t in_len,
                            const uint8_t *cb, size_t cb_len, uint8_t **ret_out, size_t *ret_out_len) {
        PkgBuffer ib[2] = {
                { .type = SECBUFFER_TOKEN, .data = (uint8_t *) in, .len = in_len, .cap = in_len },
                { .type = SECBUFFER_CHANNEL_BINDINGS, .data = (uint8_t *) cb, .len = cb_len, .cap = cb_len },
        };
        PkgBuffer ob = { .type = SECBUFFER_TOKEN };
        PkgStep s = {
                .caller = &caller,
                .config = config,
                .cred = cred,
                .ctx = *ctx,
                .target = accept ? NULL : "HTTP/fuzz.example.com",
                .req_flags = ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT |
                             ISC_REQ_SEQUENCE_DETECT,
                .in = ib,
                .n_in = in ? (cb ? 2 : 1) : 0,
                .out = &ob,
                .n_out = 1,
        };
        SECURITY_STATUS st = accept ? provider_ntlm.accept_ctx(&s) : provider_ntlm.init_ctx(&s);

        *ctx = s.ctx;
        if (ret_out && ob.len) {
                *ret_out = ob.data;
                *ret_out_len = ob.len;
                ob.owned = false;
        }
        free_out(&ob);
        return st;
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
        char dir[] = "/tmp/sspid-fuzz-ntlm.XXXXXX", store[4200], conf[4200], *err = NULL;
        static const uint8_t password[] = "Fuzz-Passw0rd";
        uint8_t hash[16];
        int64_t expiry;
        void *cctx = NULL, *sctx = NULL;
        FILE *f;
        const char *seeds = getenv("SSPID_FUZZ_SEEDS");

        if (!mkdtemp(dir))
                die("mkdtemp");
        snprintf(store, sizeof(store), "%s/store", dir);
        snprintf(conf, sizeof(conf), "%s/sspid.conf", dir);
        if (ntlm_nt_hash(password, sizeof(password) - 1, hash) < 0)
                die("nt hash");
        f = fopen(store, "w");
        if (!f)
                die("store");
        fchmod(fileno(f), 0600);
        fprintf(f, "FUZZ\\alice:");
        for (int i = 0; i < 16; i++)
                fprintf(f, "%02x", hash[i]);
        fprintf(f, "\nFUZZ\\bob:00112233445566778899aabbccddeeff\n");
        fclose(f);
        f = fopen(conf, "w");
        if (!f)
                die("config");
        fprintf(f, "[ntlm-store fuzz]\nfile = %s\ndomain = FUZZ\nallow-ntlmv1 = yes\nallow = %u\n", store,
                (unsigned) getuid());
        fclose(f);
        if (config_load(conf, &config, &err) < 0)
                die(err ? err : "config_load");
        caller = (Caller) { .uid = getuid(), .gid = getgid(), .pid = getpid() };

        PkgAcquire in = { .caller = &caller, .config = config, .use = SECPKG_CRED_INBOUND, .act_as_uid = getuid() };
        if (provider_ntlm.acquire(&in, &server_cred, &expiry) != SEC_E_OK)
                die("inbound credential");
        uint8_t pw[sizeof(password)];
        memcpy(pw, password, sizeof(password));
        PkgAcquire out = { .caller = &caller, .config = config, .use = SECPKG_CRED_OUTBOUND, .has_identity = true,
                           .user = "alice", .domain = "FUZZ", .password = pw, .password_len = sizeof(password) - 1,
                           .act_as_uid = getuid() };
        if (provider_ntlm.acquire(&out, &client_cred, &expiry) != SEC_E_OK)
                die("outbound credential");
        unlink(store);
        unlink(conf);
        rmdir(dir);

        /* A real exchange: its messages are the fixed legs of modes 2-5. */
        rand_counter = 0;
        if (step(false, client_cred, &cctx, NULL, 0, NULL, 0, &negotiate, &negotiate_len) != SEC_I_CONTINUE_NEEDED ||
            step(true, server_cred, &sctx, negotiate, negotiate_len, NULL, 0, &challenge, &challenge_len) !=
                    SEC_I_CONTINUE_NEEDED ||
            step(false, client_cred, &cctx, challenge, challenge_len, NULL, 0, &authenticate, &authenticate_len) !=
                    SEC_E_OK ||
            step(true, server_cred, &sctx, authenticate, authenticate_len, NULL, 0, NULL, NULL) != SEC_E_OK)
                die("the reference exchange failed");
        server_ctx = sctx;

        if (seeds) {
                uint8_t msg[64] = "signed by the client";
                PkgBuffer b[2] = { { .type = SECBUFFER_TOKEN, .data = msg, .len = 16, .cap = 16 },
                                   { .type = SECBUFFER_DATA, .data = msg + 16, .len = 32, .cap = 32 } };
                write_seed(seeds, "negotiate", 0, negotiate, negotiate_len);
                write_seed(seeds, "challenge", 1, challenge, challenge_len);
                write_seed(seeds, "authenticate", 2, authenticate, authenticate_len);
                static const uint8_t cb[] = { /* SEC_CHANNEL_BINDINGS with 8 bytes of application data */
                                              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                              8, 0, 0, 0, 32, 0, 0, 0, 't', 'l', 's', '-', 'u', 'n', 'i', 'q' };
                write_seed(seeds, "bindings", 3, cb, sizeof(cb));
                if (provider_ntlm.sign(cctx, 0, b, 2, 0) != SEC_E_OK)
                        die("sign");
                write_seed(seeds, "signature", 4, msg, 48);
                memcpy(msg + 16, "sealed by the client, 32 bytes!!", 32);
                if (provider_ntlm.seal(cctx, 0, b, 2, 1) != SEC_E_OK)
                        die("seal");
                write_seed(seeds, "sealed", 5, msg, 48);
        }
        provider_ntlm.ctx_free(cctx);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        void *ctx = NULL;
        uint8_t *out = NULL, *copy;
        size_t out_len = 0;
        uint32_t qop;

        if (size < 1)
                return 0;
        rand_counter = 0;
        switch (data[0] % 6) {
        case 0:
                (void) step(true, server_cred, &ctx, data + 1, size - 1, NULL, 0, &out, &out_len);
                break;
        case 1:
                (void) step(false, client_cred, &ctx, NULL, 0, NULL, 0, NULL, NULL);
                if (ctx)
                        (void) step(false, client_cred, &ctx, data + 1, size - 1, NULL, 0, &out, &out_len);
                break;
        case 2:
                (void) step(true, server_cred, &ctx, negotiate, negotiate_len, NULL, 0, NULL, NULL);
                if (ctx)
                        (void) step(true, server_cred, &ctx, data + 1, size - 1, NULL, 0, &out, &out_len);
                break;
        case 3:
                (void) step(false, client_cred, &ctx, NULL, 0, NULL, 0, NULL, NULL);
                if (ctx)
                        (void) step(false, client_cred, &ctx, challenge, challenge_len, data + 1, size - 1, &out,
                                    &out_len);
                break;
        default:
                if (size < 1 + 16)
                        return 0;
                /* In place, as the daemon does: on a private copy. */
                copy = malloc(size - 1);
                if (!copy)
                        return 0;
                memcpy(copy, data + 1, size - 1);
                PkgBuffer b[2] = { { .type = SECBUFFER_TOKEN, .data = copy, .len = 16, .cap = 16 },
                                   { .type = SECBUFFER_DATA, .data = copy + 16, .len = size - 17, .cap = size - 17 } };
                if (data[0] % 6 == 4)
                        (void) provider_ntlm.verify(server_ctx, b, 2, 0, &qop);
                else
                        (void) provider_ntlm.unseal(server_ctx, b, 2, 0, &qop);
                free(copy);
                return 0;
        }
        free(out);
        if (ctx)
                provider_ntlm.ctx_free(ctx);
        return 0;
}
