/* SPDX-License-Identifier: MIT */
/*
 * NTLM in-process: the MS-NLMP §4.2 known answers (NTLMv2 with extended
 * session security, §4.2.4), then a full client/server handshake through
 * the provider operations with tampered messages. No daemon.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/config.h"
#include "packages/ntlm/ntlm.h"
#include "packages/msg-keys.h"
#include "packages/negotiate/spnego.h"

static int passed, failed;

static void ok(bool cond, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        printf("%s - ", cond ? "ok" : "not ok");
        vprintf(fmt, ap);
        printf("\n");
        va_end(ap);
        if (cond)
                passed++;
        else
                failed++;
}

static size_t unhex(const char *s, uint8_t *out) {
        size_t n = 0;
        for (; s[0] && s[1]; s += 2) {
                unsigned v;
                sscanf(s, "%2x", &v);
                out[n++] = (uint8_t) v;
        }
        return n;
}

static bool eq_hex(const uint8_t *p, size_t len, const char *hex) {
        uint8_t want[512];
        size_t n = unhex(hex, want);
        return n == len && !memcmp(p, want, n);
}

static void test_vectors(void) {
        uint8_t nt[16], owf[16], srv[8], cli[8], ts[8] = { 0 }, av[64], base[16], exported[16], enc[16];
        uint8_t *resp = NULL, lm[16], sig[16], data[18];
        size_t av_len, resp_len = 0;
        NtlmKeys k;
        NtlmRc4 rc;
        uint8_t *u = NULL;
        size_t ul = 0;

        /* RFC 1320 A.5 */
        ntlm_md4((const uint8_t *) "abc", 3, nt);
        ok(eq_hex(nt, 16, "a448017aaf21d8525fc10ae87aa6729d"), "MD4(\"abc\")");
        ntlm_md4((const uint8_t *) "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                 80, nt);
        ok(eq_hex(nt, 16, "e33b4ddc9c38f2199c3e7b164fcc0536"), "MD4 of 80 digits (two blocks)");

        ok(ntlm_nt_hash((const uint8_t *) "Password", 8, nt) == 0 && eq_hex(nt, 16, "a4f49c406510bdcab6824ee7c30fd852"),
           "NTOWFv1(Password) (MS-NLMP 4.2.2.1.2)");
        ok(ntlm_ntowfv2(nt, "User", "Domain", owf) == 0 && eq_hex(owf, 16, "0c868a403bfd7a93a3001ef22ef02e3f"),
           "NTOWFv2 (4.2.4.1.1)");
        ok(ntlm_ntowfv2(nt, "user", "Domain", lm) == 0 && !memcmp(lm, owf, 16), "NTOWFv2 ignores user-name case");
        ok(ntlm_ntowfv2(nt, "User", "domain", lm) == 0 && memcmp(lm, owf, 16) != 0, "NTOWFv2 keeps domain case");

        unhex("0123456789abcdef", srv);
        unhex("aaaaaaaaaaaaaaaa", cli);
        av_len = unhex("02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000", av);
        ok(ntlm_v2_response(owf, srv, cli, ts, av, av_len, &resp, &resp_len, base) == 0, "v2 response built");
        ok(resp && eq_hex(resp, 16, "68cd0ab851e51c96aabc927bebef6a1c"), "NTProofStr (4.2.4.2.2)");
        ok(resp && eq_hex(resp, resp_len,
                          "68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000"
                          "02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"
                          "00000000"),
           "NtChallengeResponse, %zu bytes", resp_len);
        ok(eq_hex(base, 16, "8de40ccadbc14a82f15cb0ad0de95ca3"), "SessionBaseKey (4.2.4.1.2)");
        free(resp);

        ntlm_hmac_md5(owf, 16, srv, 8, cli, 8, lm);
        ok(eq_hex(lm, 16, "86c35097ac9cec102554764a57cccc19"), "LMv2 response (4.2.4.2.1)");

        memset(exported, 0x55, 16);
        ntlm_rc4_init(&rc, base, 16);
        ntlm_rc4(&rc, exported, enc, 16);
        ok(eq_hex(enc, 16, "c5dad2544fc9799094ce1ce90bc9d03e"), "EncryptedRandomSessionKey (4.2.4.2.3)");

        ntlm_derive_keys(exported, &k);
        ok(eq_hex(k.client_seal, 16, "59f600973cc4960a25480a7c196e4c58"), "client sealing key");
        ok(eq_hex(k.client_sign, 16, "4788dc861b4782f35d43fd98fe1a2d39"), "client signing key");

        /* 4.2.4.4: seal "Plaintext" (UTF-16), seq 0, key exchange. */
        ok(ntlm_utf16("Plaintext", false, &u, &ul) == 0 && ul == 18, "UTF-16 of Plaintext");
        memcpy(data, u, 18);
        free(u);
        {
                NtlmIov v = { data, 18 };
                ntlm_signature(k.client_sign, NULL, 0, &v, 1, sig);
        }
        ntlm_rc4_init(&rc, k.client_seal, 16);
        ntlm_rc4(&rc, data, data, 18);
        ntlm_rc4(&rc, sig + 4, sig + 4, 8);
        ok(eq_hex(data, 18, "54e50165bf1936dc996020c1811b0f06fb5f"), "sealed data (4.2.4.4)");
        ok(eq_hex(sig, 16, "010000007fb38ec5c55d497600000000"), "signature (4.2.4.4)");
}

/* ---- in-process handshake ---- */

static char dir[] = "/tmp/test_ntlm.XXXXXX";
static Config *cfg;
static Caller caller;

static void setup_store(void) {
        char path[256], conf[256];
        FILE *f;
        uint8_t h[16];
        char *err = NULL;

        if (!mkdtemp(dir))
                abort();
        snprintf(path, sizeof(path), "%s/ntlm.hashes", dir);
        f = fopen(path, "w");
        if (ntlm_nt_hash((const uint8_t *) "alice-pw-1", 10, h) < 0)
                abort();
        fprintf(f, "# test store\nSSPID\\alice:");
        for (int i = 0; i < 16; i++)
                fprintf(f, "%02x", h[i]);
        fprintf(f, "\n");
        fclose(f);
        chmod(path, 0644);
        {
                NtlmAccount *a = NULL;
                size_t n = 0;
                ok(ntlm_store_load(path, "SSPID", &a, &n) == -EPERM, "store readable by others refused");
        }
        chmod(path, 0600);
        snprintf(conf, sizeof(conf), "%s/sspid.conf", dir);
        f = fopen(conf, "w");
        fprintf(f, "[ntlm-store test]\nfile = %s\ndomain = SSPID\nallow = %u\n", path, (unsigned) getuid());
        fclose(f);
        ok(config_load(conf, &cfg, &err) == 0, "config with [ntlm-store] loads (%s)", err ? err : "");
        free(err);
        caller.uid = getuid();
        caller.gid = getgid();
}

static SECURITY_STATUS acquire(const char *user, const char *domain, const char *pw, uint32_t use, void **ret) {
        int64_t exp;
        PkgAcquire a = { .caller = &caller, .config = cfg, .use = use };
        uint8_t *p = NULL;
        SECURITY_STATUS st;

        if (use & SECPKG_CRED_OUTBOUND) {
                a.has_identity = true;
                a.user = user;
                a.domain = domain;
                p = (uint8_t *) strdup(pw);
                a.password = p;
                a.password_len = strlen(pw);
        }
        st = provider_ntlm.acquire(&a, ret, &exp);
        free(p);
        return st;
}

typedef struct Tok {
        uint8_t *p;
        size_t len;
} Tok;

static SECURITY_STATUS step(bool accept, void *cred, void **ctx, Tok *in, Tok *out, const PkgBuffer *cb) {
        PkgBuffer ib[2] = { { .type = SECBUFFER_TOKEN } }, ob = { .type = SECBUFFER_TOKEN };
        PkgStep s = { .caller = &caller, .config = cfg, .cred = cred, .ctx = *ctx, .target = "HTTP/localhost",
                      .req_flags = ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY, .out = &ob, .n_out = 1 };
        SECURITY_STATUS st;

        if (accept)
                s.req_flags = ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY;
        s.in = ib;
        if (in && in->p) {
                ib[0].data = in->p;
                ib[0].len = ib[0].cap = in->len;
                s.n_in = 1;
        }
        if (cb)
                ib[s.n_in++] = *cb;
        st = accept ? provider_ntlm.accept_ctx(&s) : provider_ntlm.init_ctx(&s);
        *ctx = s.ctx;
        free(out->p);
        out->p = ob.data;
        out->len = ob.len;
        return st;
}

typedef enum Tamper { T_NONE, T_NTPROOF, T_MIC, T_BAD_OFFSET, T_WRONG_PW, T_UNKNOWN, T_CB } Tamper;

static SECURITY_STATUS handshake(Tamper t, void **ret_c, void **ret_s) {
        void *cc = NULL, *sc = NULL, *ctx_c = NULL, *ctx_s = NULL;
        Tok t1 = {}, t2 = {}, t3 = {}, t4 = {};
        SECURITY_STATUS st;
        uint8_t cbdata[32 + 5] = { 0 };
        PkgBuffer cbc = { .type = SECBUFFER_CHANNEL_BINDINGS, .data = cbdata, .len = sizeof(cbdata), .cap = sizeof(cbdata) };
        uint8_t cbdata2[32 + 5];
        PkgBuffer cbs = { .type = SECBUFFER_CHANNEL_BINDINGS, .data = cbdata2, .len = sizeof(cbdata2), .cap = sizeof(cbdata2) };

        cbdata[24] = 5;
        cbdata[28] = 32;
        memcpy(cbdata + 32, "tls-x", 5);
        memcpy(cbdata2, cbdata, sizeof(cbdata));
        if (t == T_CB)
                cbdata2[36] = 'y';

        st = acquire(t == T_UNKNOWN ? "mallory" : "alice", "SSPID", t == T_WRONG_PW ? "wrong" : "alice-pw-1",
                     SECPKG_CRED_OUTBOUND, &cc);
        if (st != SEC_E_OK)
                return st;
        st = acquire(NULL, NULL, NULL, SECPKG_CRED_INBOUND, &sc);
        if (st != SEC_E_OK)
                return st;
        st = step(false, cc, &ctx_c, NULL, &t1, NULL);
        if (st == SEC_I_CONTINUE_NEEDED)
                st = step(true, sc, &ctx_s, &t1, &t2, NULL);
        if (st == SEC_I_CONTINUE_NEEDED)
                st = step(false, cc, &ctx_c, &t2, &t3, &cbc);
        if (st == SEC_E_OK) {
                if (t == T_NTPROOF)
                        t3.p[t3.p[24] | t3.p[25] << 8] ^= 1;
                if (t == T_MIC)
                        t3.p[72] ^= 1;
                if (t == T_BAD_OFFSET)
                        t3.p[24] = 0xf0, t3.p[25] = 0xff;
                st = step(true, sc, &ctx_s, &t3, &t4, &cbs);
        }
        free(t1.p);
        free(t2.p);
        free(t3.p);
        free(t4.p);
        if (st == SEC_E_OK && ret_c) {
                *ret_c = ctx_c;
                *ret_s = ctx_s;
                ctx_c = ctx_s = NULL;
        }
        provider_ntlm.ctx_free(ctx_c);
        provider_ntlm.ctx_free(ctx_s);
        provider_ntlm.cred_free(cc);
        provider_ntlm.cred_free(sc);
        return st;
}

static void test_handshake(void) {
        void *c = NULL, *s = NULL;
        SECURITY_STATUS st;
        uint8_t msg[32] = "hello, ntlm sealed message......", copy[32], tok[16], tok2[16];
        PkgBuffer b[2];
        PkgCtxAttr a = {};
        uint32_t qop;

        st = handshake(T_NONE, &c, &s);
        ok(st == SEC_E_OK, "handshake completes (0x%08x)", (unsigned) st);
        if (st != SEC_E_OK)
                return;
        st = provider_ntlm.query_ctx(s, SECPKG_ATTR_NAMES, &a);
        ok(st == SEC_E_OK && a.user_name && !strcmp(a.user_name, "SSPID\\alice"), "server sees SSPID\\alice (%s)",
           a.user_name ? a.user_name : "-");
        free(a.user_name);
        {
                PkgCtxAttr ka = {}, kb = {};
                ok(provider_ntlm.query_ctx(s, SECPKG_ATTR_SESSION_KEY, &ka) == SEC_E_OK &&
                           provider_ntlm.query_ctx(c, SECPKG_ATTR_SESSION_KEY, &kb) == SEC_E_OK &&
                           ka.session_key_len == 16 && kb.session_key_len == 16 &&
                           !memcmp(ka.session_key, kb.session_key, 16),
                   "both sides hold the same 16-byte session key");
                free(ka.session_key);
                free(kb.session_key);
        }

        memcpy(copy, msg, 32);
        b[0] = (PkgBuffer) { .type = SECBUFFER_TOKEN, .data = tok, .cap = 16 };
        b[1] = (PkgBuffer) { .type = SECBUFFER_DATA, .data = copy, .len = 32, .cap = 32 };
        ok(provider_ntlm.seal(c, 0, b, 2, 0) == SEC_E_OK && b[0].len == 16 && memcmp(copy, msg, 32),
           "client seals 32 bytes, 16-byte trailer");
        ok(provider_ntlm.unseal(s, b, 2, 0, &qop) == SEC_E_OK && !memcmp(copy, msg, 32), "server unseals");
        ok(provider_ntlm.unseal(s, b, 2, 0, &qop) == SEC_E_OUT_OF_SEQUENCE, "replay: SEC_E_OUT_OF_SEQUENCE");

        b[0] = (PkgBuffer) { .type = SECBUFFER_TOKEN, .data = tok2, .cap = 16 };
        b[1] = (PkgBuffer) { .type = SECBUFFER_DATA, .data = msg, .len = 32, .cap = 32 };
        ok(provider_ntlm.sign(s, 0, b, 2, 0) == SEC_E_OK && b[0].len == 16, "server signs");
        ok(provider_ntlm.verify(c, b, 2, 0, &qop) == SEC_E_OK, "client verifies");
        ok(provider_ntlm.sign(s, 0, b, 2, 0) == SEC_E_OK, "server signs again");
        msg[0] ^= 1;
        ok(provider_ntlm.verify(c, b, 2, 0, &qop) == SEC_E_MESSAGE_ALTERED, "altered data: SEC_E_MESSAGE_ALTERED");
        provider_ntlm.ctx_free(c);
        provider_ntlm.ctx_free(s);

        ok(handshake(T_WRONG_PW, NULL, NULL) == SEC_E_LOGON_DENIED, "wrong password: SEC_E_LOGON_DENIED");
        ok(handshake(T_UNKNOWN, NULL, NULL) == SEC_E_LOGON_DENIED, "unknown user: SEC_E_LOGON_DENIED");
        ok(handshake(T_NTPROOF, NULL, NULL) == SEC_E_LOGON_DENIED, "tampered NTProofStr: SEC_E_LOGON_DENIED");
        ok(handshake(T_MIC, NULL, NULL) == SEC_E_MESSAGE_ALTERED, "tampered MIC: SEC_E_MESSAGE_ALTERED");
        ok(handshake(T_BAD_OFFSET, NULL, NULL) == SEC_E_INVALID_TOKEN, "offset past the end: SEC_E_INVALID_TOKEN");
        ok(handshake(T_CB, NULL, NULL) == SEC_E_BAD_BINDINGS, "different channel bindings: SEC_E_BAD_BINDINGS");
}

/* Every truncation of a valid CHALLENGE must be refused without a read
 * past its end (ASan watches). */
static void test_truncations(void) {
        void *cc = NULL, *sc = NULL, *ctx_c = NULL, *ctx_s = NULL;
        Tok t1 = {}, t2 = {}, t3 = {};
        size_t bad = 0;

        if (acquire("alice", "SSPID", "alice-pw-1", SECPKG_CRED_OUTBOUND, &cc) != SEC_E_OK ||
            acquire(NULL, NULL, NULL, SECPKG_CRED_INBOUND, &sc) != SEC_E_OK)
                return;
        (void) step(false, cc, &ctx_c, NULL, &t1, NULL);
        (void) step(true, sc, &ctx_s, &t1, &t2, NULL);
        provider_ntlm.ctx_free(ctx_c);
        for (size_t n = 0; n < t2.len; n++) {
                uint8_t *p = malloc(n ? n : 1);
                Tok cut = { p, n };
                ctx_c = NULL;
                (void) step(false, cc, &ctx_c, NULL, &t1, NULL);
                memcpy(p, t2.p, n);
                if (step(false, cc, &ctx_c, n ? &cut : NULL, &t3, NULL) == SEC_E_OK)
                        bad++;
                provider_ntlm.ctx_free(ctx_c);
                free(p);
        }
        ok(bad == 0, "all %zu truncations of CHALLENGE refused", t2.len);
        free(t1.p);
        free(t2.p);
        free(t3.p);
        provider_ntlm.ctx_free(ctx_s);
        provider_ntlm.cred_free(cc);
        provider_ntlm.cred_free(sc);
}

/* ---- mutation run over the three parsers (ASan build watches) ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (uint32_t) rng;
}

/* Flip, overwrite or truncate a copy of `t`. */
static Tok mutate(const Tok *t) {
        Tok m = { malloc(t->len + 8), t->len };
        memcpy(m.p, t->p, t->len);
        for (int k = 1 + (int) (rnd() % 4); k > 0 && m.len; k--) {
                size_t i = rnd() % m.len;
                switch (rnd() % 4) {
                case 0:
                        m.p[i] ^= (uint8_t) (1u << (rnd() % 8));
                        break;
                case 1:
                        m.p[i] = (uint8_t) rnd();
                        break;
                case 2:
                        m.p[i] = (rnd() & 1) ? 0xff : 0x00;
                        break;
                default:
                        m.len = i;
                }
        }
        return m;
}

static void test_mutations(void) {
        void *cc = NULL, *sc = NULL, *ctx_c = NULL, *ctx_s = NULL;
        Tok t1 = {}, t2 = {}, t3 = {}, t4 = {};
        size_t ok_auth = 0, ok_chal = 0, n_spnego = 0;
        SpnegoToken st;
        uint8_t *init = NULL, *resp = NULL, *ml = NULL;
        size_t init_len = 0, resp_len = 0, ml_len = 0;
        SpnegoBytes mechs[2];

        if (acquire("alice", "SSPID", "alice-pw-1", SECPKG_CRED_OUTBOUND, &cc) != SEC_E_OK ||
            acquire(NULL, NULL, NULL, SECPKG_CRED_INBOUND, &sc) != SEC_E_OK)
                return;
        (void) step(false, cc, &ctx_c, NULL, &t1, NULL);
        (void) step(true, sc, &ctx_s, &t1, &t2, NULL);
        (void) step(false, cc, &ctx_c, &t2, &t3, NULL);
        provider_ntlm.ctx_free(ctx_c);
        provider_ntlm.ctx_free(ctx_s);

        for (int i = 0; i < 20000; i++) {
                Tok m = mutate(&t3);
                void *s_ctx = NULL, *c_ctx = NULL;
                (void) step(true, sc, &s_ctx, &t1, &t4, NULL);
                if (step(true, sc, &s_ctx, &m, &t4, NULL) == SEC_E_OK)
                        ok_auth++;
                provider_ntlm.ctx_free(s_ctx);
                free(m.p);

                m = mutate(&t2);
                (void) step(false, cc, &c_ctx, NULL, &t4, NULL);
                if (step(false, cc, &c_ctx, &m, &t4, NULL) == SEC_E_OK)
                        ok_chal++;
                provider_ntlm.ctx_free(c_ctx);
                free(m.p);
        }
        /* A flipped bit in the signed parts must never pass; only bytes
         * no check covers (unused fields, MIC-less padding) may. */
        ok(true, "20000 mutated AUTHENTICATE messages parsed (%zu accepted)", ok_auth);
        ok(true, "20000 mutated CHALLENGE messages parsed (%zu accepted)", ok_chal);

        mechs[0] = spnego_oid_krb5;
        mechs[1] = spnego_oid_ntlm;
        if (spnego_mech_list(mechs, 2, &ml, &ml_len) == 0 &&
            spnego_encode_init((SpnegoBytes) { ml, ml_len }, (SpnegoBytes) { t1.p, t1.len }, &init, &init_len) == 0 &&
            spnego_encode_resp(SPNEGO_ACCEPT_INCOMPLETE, spnego_oid_ntlm, (SpnegoBytes) { t2.p, t2.len },
                               (SpnegoBytes) { t1.p, 16 }, &resp, &resp_len) == 0) {
                ok(spnego_parse(init, init_len, &st) == 0 && st.init && st.n_mechs == 2 &&
                           spnego_is_krb5(st.mechs[0]) && st.token.len == t1.len && st.mech_types.len == ml_len,
                   "NegTokenInit round trip (%zu bytes)", init_len);
                ok(spnego_parse(resp, resp_len, &st) == 0 && !st.init && st.state == SPNEGO_ACCEPT_INCOMPLETE &&
                           spnego_oid_eq(st.supported, spnego_oid_ntlm) && st.token.len == t2.len && st.mic.len == 16,
                   "NegTokenResp round trip (%zu bytes)", resp_len);
                for (int i = 0; i < 20000; i++) {
                        Tok src = { (i & 1) ? init : resp, (i & 1) ? init_len : resp_len };
                        Tok m = mutate(&src);
                        if (spnego_parse(m.p, m.len, &st) == 0)
                                n_spnego++;
                        free(m.p);
                }
                ok(true, "20000 mutated SPNEGO tokens parsed (%zu still well-formed)", n_spnego);
                for (size_t n = 0; n < init_len; n++)
                        if (spnego_parse(init, n, &st) == 0) {
                                ok(false, "truncated NegTokenInit (%zu bytes) refused", n);
                                break;
                        }
        }
        free(init);
        free(resp);
        free(ml);
        free(t1.p);
        free(t2.p);
        free(t3.p);
        free(t4.p);
        provider_ntlm.cred_free(cc);
        provider_ntlm.cred_free(sc);
}

/* Export/import (ntlm-export.c): the blob round-trips (the import
 * continues the exporter's streams: it unseals what the peer seals next),
 * every truncation and any trailing byte is SEC_E_INVALID_TOKEN, and the
 * library's state is taken only with this context's keys. */
static void test_export(void) {
        void *c = NULL, *s = NULL, *imp = NULL;
        uint8_t *blob = NULL, tok[16], data[32] = "exported then imported, 32 bytes";
        size_t len = 0;
        bool consumed = true, all = true;
        PkgBuffer b[2];
        PkgMsgKeys k;
        uint32_t qop;

        if (handshake(T_NONE, &c, &s) != SEC_E_OK) {
                ok(false, "handshake for export");
                return;
        }
        b[0] = (PkgBuffer) { .type = SECBUFFER_TOKEN, .data = tok, .cap = 16 };
        b[1] = (PkgBuffer) { .type = SECBUFFER_DATA, .data = data, .len = 32, .cap = 32 };
        ok(provider_ntlm.seal(c, 0, b, 2, 0) == SEC_E_OK && provider_ntlm.unseal(s, b, 2, 0, &qop) == SEC_E_OK,
           "a message before the export");
        SECURITY_STATUS est = provider_ntlm.export_ctx(s, true, &blob, &len, &consumed);
        ok(est == SEC_E_OK && !consumed && len > 600, "export of the server context (%zu bytes, not consumed)", len);
        for (size_t n = 0; blob && n < len; n++) {
                void *x = NULL;
                SECURITY_STATUS st = provider_ntlm.import_ctx(blob, n, &x);
                all &= st == SEC_E_INVALID_TOKEN && !x;
        }
        ok(all, "every truncation of the blob: SEC_E_INVALID_TOKEN");
        if (blob) {
                uint8_t *longer = malloc(len + 1);
                void *x = NULL;
                memcpy(longer, blob, len);
                longer[len] = 0;
                ok(provider_ntlm.import_ctx(longer, len + 1, &x) == SEC_E_INVALID_TOKEN && !x,
                   "a trailing byte: SEC_E_INVALID_TOKEN");
                free(longer);
        }
        ok(blob && provider_ntlm.import_ctx(blob, len, &imp) == SEC_E_OK, "import of the blob");
        free(blob);
        if (imp) {
                b[0] = (PkgBuffer) { .type = SECBUFFER_TOKEN, .data = tok, .cap = 16 };
                b[1] = (PkgBuffer) { .type = SECBUFFER_DATA, .data = data, .len = 32, .cap = 32 };
                ok(provider_ntlm.seal(c, 0, b, 2, 0) == SEC_E_OK && provider_ntlm.unseal(imp, b, 2, 0, &qop) == SEC_E_OK,
                   "the import unseals the peer's next message (sequence 1, RC4 stream continued)");
                /* The library's state: accepted for this context only. */
                ok(provider_ntlm.msg_keys(imp, &k) == SEC_E_OK, "message keys of the import");
                k.send_seq = 7;
                ok(provider_ntlm.msg_keys_update(imp, &k) == SEC_E_OK, "the library's state taken back");
                k.send_sign[0] ^= 1;
                ok(provider_ntlm.msg_keys_update(imp, &k) == SEC_E_INVALID_TOKEN,
                   "another signing key: SEC_E_INVALID_TOKEN");
                k.send_sign[0] ^= 1;
                k.flags ^= NTLMSSP_NEGOTIATE_SEAL;
                ok(provider_ntlm.msg_keys_update(imp, &k) == SEC_E_INVALID_TOKEN, "other flags: SEC_E_INVALID_TOKEN");
                explicit_bzero(&k, sizeof(k));
                provider_ntlm.ctx_free(imp);
        }
        provider_ntlm.ctx_free(c);
        provider_ntlm.ctx_free(s);
}

int main(void) {
        char cmd[300];

        test_vectors();
        setup_store();
        test_handshake();
        test_truncations();
        test_mutations();
        test_export();
        config_unref(cfg);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cleanup failed\n");
        printf("# %d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
