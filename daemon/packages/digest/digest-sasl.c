/* SPDX-License-Identifier: MIT */
/*
 * WDigest's SASL mode: DIGEST-MD5 (RFC 2831), selected by leaving out
 * ISC_REQ_HTTP / ASC_REQ_HTTP, and its security layer. The client answers
 * the server's digest-challenge with a digest-response and checks the
 * server's rspauth; the server verifies against the [digest-store] HA1
 * file (RFC 2831's H({username ":" realm ":" passwd}) is the MD5 HA1 an
 * htdigest file holds). qop=auth-int signs every message with HMAC-MD5;
 * qop=auth-conf also encrypts, with "rc4" (128-bit) or "3des" (two-key
 * 3DES-CBC); rc4-40, rc4-56 and des (export-grade and 56-bit keys) are
 * neither offered nor accepted (README, deliberate differences). Like
 * Cyrus SASL, a client prefers rc4 (its SSF is the higher); a server offers
 * both.
 *
 * Message calls carry the SASL layer's bytes without its 4-byte length
 * prefix: MakeSignature writes MAC(10) 0x0001 SeqNum(4) into a TOKEN (or
 * PADDING) buffer; EncryptMessage leaves the first len(msg) bytes of the
 * ciphertext in the DATA buffer and the rest, with 0x0001 and SeqNum, in
 * the second (PADDING, TOKEN or DATA) buffer; DecryptMessage and
 * VerifySignature take either that pair or one DATA buffer with the whole
 * message. Sequence numbers are the package's own (MessageSeqNo is
 * ignored, as WDigest documents).
 */
#include "packages/digest/digest-private.h"

#define SASL_MAXBUF 65536
#define SASL_SIG_LEN 16   /* MAC(10) msgtype(2) SeqNum(4) */
#define SASL_BLOCK 8      /* 3DES */
#define SECQOP_WRAP_NO_ENCRYPT 0x80000001U

static const char SEAL_C2S[] = "Digest H(A1) to client-to-server sealing key magic constant";
static const char SEAL_S2C[] = "Digest H(A1) to server-to-client sealing key magic constant";
static const char SIGN_C2S[] = "Digest session key to client-to-server signing key magic constant";
static const char SIGN_S2C[] = "Digest session key to server-to-client signing key magic constant";

void digest_sasl_free(DigestCtx *c) {
        free(c->digest_uri);
        EVP_CIPHER_CTX_free(c->enc);
        EVP_CIPHER_CTX_free(c->dec);
        c->enc = c->dec = NULL;
}

/* MD5 over up to four parts. */
static int md5(const void *a, size_t al, const void *b, size_t bl, const void *c, size_t cl, uint8_t out[16]) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        int ok = m && EVP_DigestInit_ex(m, EVP_md5(), NULL) == 1 && EVP_DigestUpdate(m, a, al) == 1 &&
                 EVP_DigestUpdate(m, b, bl) == 1 && EVP_DigestUpdate(m, c, cl) == 1 &&
                 EVP_DigestFinal_ex(m, out, NULL) == 1;
        EVP_MD_CTX_free(m);
        return ok ? 0 : -EIO;
}

static void hex16(const uint8_t b[16], char out[33]) {
        digest_hex_encode(b, 16, out);
}

static bool unhex16(const char *h, uint8_t out[16]) {
        if (!digest_is_hex_str(h, 32))
                return false;
        for (int i = 0; i < 16; i++)
                out[i] = (uint8_t) (digest_hex_val(h[2 * i]) << 4 | digest_hex_val(h[2 * i + 1]));
        return true;
}

static const char *qop_name(uint8_t layer) {
        static const char *const names[] = { "auth", "auth-int", "auth-conf" };
        return names[layer];
}

/*
 * H(A1) from the hex HA1, then the response (a2_prefix "AUTHENTICATE")
 * and rspauth (a2_prefix "") values of RFC 2831 §2.1.2.1 and §2.1.3.
 */
static int sasl_digests(DigestCtx *c, const char *ha1_hex, const char *nonce, const char *cnonce, const char *nc,
                        char response[33], char rspauth[33]) {
        static const char zeros[] = ":00000000000000000000000000000000";
        uint8_t ha1[16], h[16];
        char ha1s_hex[33], ha2_hex[33];
        const char *prefixes[2] = { "AUTHENTICATE:", ":" };
        char *outs[2] = { response, rspauth };
        char mid[2048];
        int n;

        if (!unhex16(ha1_hex, ha1))
                return -EINVAL;
        n = snprintf(mid, sizeof(mid), ":%s:%s", nonce, cnonce);
        if (n < 0 || (size_t) n >= sizeof(mid) || md5(ha1, 16, mid, (size_t) n, "", 0, c->ha1_sess) < 0)
                return -EINVAL;
        explicit_bzero(ha1, sizeof(ha1));
        hex16(c->ha1_sess, ha1s_hex);
        for (int i = 0; i < 2; i++) {
                if (md5(prefixes[i], strlen(prefixes[i]), c->digest_uri, strlen(c->digest_uri), zeros,
                        c->layer == SASL_LAYER_NONE ? 0 : strlen(zeros), h) < 0)
                        return -EIO;
                hex16(h, ha2_hex);
                n = snprintf(mid, sizeof(mid), ":%s:%s:%s:%s:%s", nonce, nc, cnonce, qop_name(c->layer), ha2_hex);
                if (n < 0 || (size_t) n >= sizeof(mid) || md5(ha1s_hex, 32, mid, (size_t) n, "", 0, h) < 0)
                        return -EINVAL;
                hex16(h, outs[i]);
        }
        explicit_bzero(ha1s_hex, sizeof(ha1s_hex));
        return 0;
}

/* 7 key bytes spread over 8, the low bit of each left for parity. */
static void des_key_spread(const uint8_t *in, uint8_t *out) {
        out[0] = in[0];
        for (int i = 1; i < 7; i++)
                out[i] = (uint8_t) (in[i - 1] << (8 - i) | in[i] >> i);
        out[7] = (uint8_t) (in[6] << 1);
}

static void rc4_init(DigestRc4 *r, const uint8_t key[16]) {
        uint8_t j = 0;

        for (int i = 0; i < 256; i++)
                r->s[i] = (uint8_t) i;
        for (int i = 0; i < 256; i++) {
                uint8_t t = r->s[i];
                j = (uint8_t) (j + t + key[i % 16]);
                r->s[i] = r->s[j];
                r->s[j] = t;
        }
        r->i = r->j = 0;
}

static void rc4_apply(DigestRc4 *r, uint8_t *p, size_t len) {
        for (size_t n = 0; n < len; n++) {
                uint8_t t;
                r->i++;
                t = r->s[r->i];
                r->j = (uint8_t) (r->j + t);
                r->s[r->i] = r->s[r->j];
                r->s[r->j] = t;
                p[n] ^= r->s[(uint8_t) (r->s[r->i] + t)];
        }
}

static EVP_CIPHER_CTX *des3_ctx(const uint8_t kc[16], bool encrypt) {
        uint8_t key[24];
        EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();

        /* Two-key EDE (k1, k2, k1); the IV is the key's last 8 bytes. */
        des_key_spread(kc, key);
        des_key_spread(kc + 7, key + 8);
        memcpy(key + 16, key, 8);
        if (!x || EVP_CipherInit_ex(x, EVP_des_ede3_cbc(), NULL, key, kc + 8, encrypt) != 1 ||
            EVP_CIPHER_CTX_set_padding(x, 0) != 1) {
                EVP_CIPHER_CTX_free(x);
                x = NULL;
        }
        explicit_bzero(key, sizeof(key));
        return x;
}

/* The layer's keys once the handshake is done (RFC 2831 §2.3, §2.4). */
static SECURITY_STATUS derive_keys(DigestCtx *c) {
        const char *ks = c->server ? SIGN_S2C : SIGN_C2S, *kr = c->server ? SIGN_C2S : SIGN_S2C;
        uint8_t kcs[16], kcr[16];

        if (md5(c->ha1_sess, 16, ks, strlen(ks), "", 0, c->ki_send) < 0 ||
            md5(c->ha1_sess, 16, kr, strlen(kr), "", 0, c->ki_recv) < 0)
                return SEC_E_INTERNAL_ERROR;
        if (c->layer == SASL_LAYER_CONF) {
                const char *cs = c->server ? SEAL_S2C : SEAL_C2S, *cr = c->server ? SEAL_C2S : SEAL_S2C;
                if (md5(c->ha1_sess, 16, cs, strlen(cs), "", 0, kcs) < 0 ||
                    md5(c->ha1_sess, 16, cr, strlen(cr), "", 0, kcr) < 0)
                        return SEC_E_INTERNAL_ERROR;
                if (c->rc4) {
                        rc4_init(&c->rc4_send, kcs);
                        rc4_init(&c->rc4_recv, kcr);
                } else {
                        c->enc = des3_ctx(kcs, true);
                        c->dec = des3_ctx(kcr, false);
                }
                explicit_bzero(kcs, sizeof(kcs));
                explicit_bzero(kcr, sizeof(kcr));
                if (!c->rc4 && (!c->enc || !c->dec))
                        return SEC_E_INTERNAL_ERROR;
        }
        c->seq_send = c->seq_recv = 0;
        return SEC_E_OK;
}

static SECURITY_STATUS put_token(PkgStep *s, char *text, size_t len) {
        PkgBuffer *slot = digest_nth_buffer(s->out, s->n_out, SECBUFFER_TOKEN, 0);

        if (!slot) {
                free(text);
                return SEC_E_INVALID_TOKEN;
        }
        if (slot->cap > 0 && len > slot->cap) {
                free(text);
                return SEC_E_BUFFER_TOO_SMALL;
        }
        slot->data = (uint8_t *) text;
        slot->len = len;
        slot->owned = true;
        return SEC_E_OK;
}

static uint8_t wanted_layer(uint32_t req, bool server) {
        if (req & (server ? ASC_REQ_CONFIDENTIALITY : ISC_REQ_CONFIDENTIALITY))
                return SASL_LAYER_CONF;
        if (req & (server ? (ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT)
                          : (ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT)))
                return SASL_LAYER_INT;
        return SASL_LAYER_NONE;
}

static uint32_t layer_flags(uint8_t layer, bool server) {
        uint32_t f = 0;
        if (layer >= SASL_LAYER_INT)
                f |= server ? ASC_RET_INTEGRITY | ASC_RET_REPLAY_DETECT | ASC_RET_SEQUENCE_DETECT
                            : ISC_RET_INTEGRITY | ISC_RET_REPLAY_DETECT | ISC_RET_SEQUENCE_DETECT;
        if (layer == SASL_LAYER_CONF)
                f |= server ? ASC_RET_CONFIDENTIALITY : ISC_RET_CONFIDENTIALITY;
        return f;
}

/* ---- client ------------------------------------------------------------- */

static SECURITY_STATUS client_response(PkgStep *s, DigestCred *cred, DigestCtx *c, const PkgBuffer *tok) {
        DigestParams p;
        char ha1[DIGEST_HEX_MAX + 1], cnonce[33], response[33], *out = NULL;
        uint8_t rnd[16], want = wanted_layer(s->req_flags, false);
        const char *realm;
        SECURITY_STATUS st;
        int n;

        if (digest_params_parse(tok->data, tok->len, &p) < 0)
                return SEC_E_INVALID_TOKEN;
        /* The qop the caller's flags ask for, if the server offers it. */
        n = digest_sasl_challenge_check(&p, want, &c->rc4);
        st = n == -EBADMSG ? SEC_E_INVALID_TOKEN : SEC_E_QOP_NOT_SUPPORTED;
        if (n < 0)
                goto out;
        if (!cred->md5_allowed) {
                st = SEC_E_ALGORITHM_MISMATCH;
                goto out;
        }
        /* No realm offered: the credential's domain (or none). */
        realm = p.v[DP_REALM] ? p.v[DP_REALM] : cred->realm ? cred->realm : "";
        pthread_mutex_lock(&cred->lock);
        st = digest_cred_compute_ha1(cred, realm);
        if (st == SEC_E_OK)
                memcpy(ha1, cred->ha1[DIGEST_MD5], sizeof(ha1));
        pthread_mutex_unlock(&cred->lock);
        if (st != SEC_E_OK)
                goto out;
        if (!digest_quotable(c->user, strlen(c->user))) {
                st = SEC_E_NO_CREDENTIALS;
                goto out;
        }
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        digest_hex_encode(rnd, sizeof(rnd), cnonce);
        c->layer = want;
        if (sasl_digests(c, ha1, p.v[DP_NONCE], cnonce, "00000001", response, c->rspauth) < 0) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        n = asprintf(&out,
                     "charset=utf-8,username=\"%s\",realm=\"%s\",nonce=\"%s\",nc=00000001,cnonce=\"%s\","
                     "digest-uri=\"%s\",maxbuf=%u,response=%s,qop=%s%s",
                     c->user, realm, p.v[DP_NONCE], cnonce, c->digest_uri, SASL_MAXBUF, response, qop_name(want),
                     want != SASL_LAYER_CONF ? "" : c->rc4 ? ",cipher=rc4" : ",cipher=3des");
        if (n < 0) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        st = put_token(s, out, (size_t) n);
        if (st == SEC_E_OK) {
                c->challenged = true;
                st = SEC_I_CONTINUE_NEEDED;
        }
out:
        explicit_bzero(ha1, sizeof(ha1));
        digest_params_done(&p);
        return st;
}

static SECURITY_STATUS client_rspauth(PkgStep *s, DigestCtx *c, const PkgBuffer *tok) {
        DigestParams p;
        SECURITY_STATUS st;

        if (digest_params_parse(tok->data, tok->len, &p) < 0)
                return SEC_E_INVALID_TOKEN;
        if (!p.v[DP_RSPAUTH])
                st = SEC_E_INVALID_TOKEN;
        else if (p.len[DP_RSPAUTH] != 32 || strncasecmp(p.v[DP_RSPAUTH], c->rspauth, 32) != 0)
                st = SEC_E_MUTUAL_AUTH_FAILED; /* the server does not know H(A1) */
        else
                st = derive_keys(c);
        digest_params_done(&p);
        if (st != SEC_E_OK)
                return st;
        c->done = true;
        c->flags = ISC_RET_MUTUAL_AUTH | layer_flags(c->layer, false);
        s->ret_flags = c->flags;
        s->expiry = FILETIME_NEVER;
        return SEC_E_OK;
}

SECURITY_STATUS digest_sasl_init(PkgStep *s) {
        DigestCred *cred = s->cred;
        DigestCtx *c = s->ctx;
        PkgBuffer *tok = digest_nth_buffer(s->in, s->n_in, SECBUFFER_TOKEN, 0);
        SECURITY_STATUS st;
        bool created = false;

        if (tok && tok->len == 0)
                tok = NULL;
        if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                return SEC_E_NO_CREDENTIALS;
        if (c && (c->server || !c->sasl))
                return SEC_E_INVALID_HANDLE;
        if (c && c->done)
                return SEC_E_OUT_OF_SEQUENCE;
        /* digest-uri = serv-type "/" host [ "/" serv-name ]. */
        if (!strchr(s->target, '/') || !digest_quotable(s->target, strlen(s->target)))
                return SEC_E_INVALID_PARAMETER;
        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
                c->sasl = true;
                c->user = strdup(cred->user);
                c->digest_uri = strdup(s->target);
                if (!c->user || !c->digest_uri) {
                        digest_ctx_free(c);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                created = true;
        }
        if (!tok)
                st = c->challenged ? SEC_E_INVALID_TOKEN : SEC_I_CONTINUE_NEEDED; /* no challenge yet */
        else if (!c->challenged)
                st = client_response(s, cred, c, tok);
        else
                st = client_rspauth(s, c, tok);
        if (st == SEC_I_CONTINUE_NEEDED) {
                s->ret_flags = 0;
                s->expiry = FILETIME_NEVER;
        }
        if (created && st < 0) {
                digest_ctx_free(c);
                return st;
        }
        s->ctx = c;
        return st;
}

/* ---- server ------------------------------------------------------------- */

static SECURITY_STATUS server_challenge(PkgStep *s, DigestCtx *c) {
        static const char *const offers[] = { "auth,auth-int,auth-conf", "auth-int,auth-conf", "auth-conf" };
        char nonce[NONCE_HEX_LEN + 1], *out = NULL;
        int n;

        if (!digest_g_md5)
                return SEC_E_ALGORITHM_MISMATCH; /* DIGEST-MD5 is MD5 */
        if (!digest_quotable(c->store->realm, strlen(c->store->realm)))
                return SEC_E_INTERNAL_ERROR;
        if (digest_nonce_new(c->store, nonce) < 0)
                return SEC_E_INTERNAL_ERROR;
        free(c->nonce);
        c->nonce = strdup(nonce);
        if (!c->nonce)
                return SEC_E_INSUFFICIENT_MEMORY;
        n = asprintf(&out, "realm=\"%s\",nonce=\"%s\",qop=\"%s\",charset=utf-8,algorithm=md5-sess,cipher=\"rc4,3des\",maxbuf=%u",
                     c->store->realm, nonce, offers[wanted_layer(s->req_flags, true)], SASL_MAXBUF);
        if (n < 0)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->challenged = true;
        s->ret_flags = 0;
        s->expiry = FILETIME_NEVER;
        {
                SECURITY_STATUS st = put_token(s, out, (size_t) n);
                return st == SEC_E_OK ? SEC_I_CONTINUE_NEEDED : st;
        }
}

/* The store's MD5 HA1 for `user`, or the dummy's: the same work either way. */
static const StoreUser *find_user(const Store *store, const char *user) {
        const StoreUser *found = &store->dummy;
        uint8_t key[32];

        if (digest_name_key(user, strlen(user), key) < 0)
                return NULL;
        for (size_t i = 0; i < store->n_users; i++) {
                const StoreUser *u = &store->users[i];
                uintptr_t m = (uintptr_t) 0 - (uintptr_t) (CRYPTO_memcmp(key, u->key, 32) == 0 && u->ha1[DIGEST_MD5][0]);
                found = (const StoreUser *) (((uintptr_t) u & m) | ((uintptr_t) found & ~m));
        }
        return found;
}

static SECURITY_STATUS server_verify(PkgStep *s, DigestCtx *c, const PkgBuffer *tok) {
        Store *store = c->store;
        DigestParams p;
        const StoreUser *found;
        char response[33], rspauth[33], *out = NULL;
        uint8_t raw[NONCE_RAW_LEN], want = wanted_layer(s->req_flags, true), layer;
        SECURITY_STATUS st;
        int n;

        if (digest_params_parse(tok->data, tok->len, &p) < 0)
                return SEC_E_INVALID_TOKEN;
        n = digest_sasl_response_check(&p, want, &layer, &c->rc4);
        st = n == -EBADMSG ? SEC_E_INVALID_TOKEN : SEC_E_QOP_NOT_SUPPORTED;
        if (n < 0)
                goto out;
        if (p.len[DP_USERNAME] > MAX_USER)
                goto out;
        st = SEC_E_LOGON_DENIED;
        /* Our nonce for this context, our realm, no other identity. */
        if (!c->nonce || strcmp(p.v[DP_NONCE], c->nonce) != 0 ||
            (p.v[DP_REALM] ? strcmp(p.v[DP_REALM], store->realm) : store->realm[0] != '\0') ||
            (p.v[DP_AUTHZID] && strcmp(p.v[DP_AUTHZID], p.v[DP_USERNAME])))
                goto out;
        found = find_user(store, p.v[DP_USERNAME]);
        if (!found) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        c->layer = layer;
        free(c->digest_uri);
        c->digest_uri = strdup(p.v[DP_DIGEST_URI]);
        if (!c->digest_uri) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        if (sasl_digests(c, found->ha1[DIGEST_MD5], c->nonce, p.v[DP_CNONCE], "00000001", response, rspauth) < 0) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        for (int i = 0; i < 32; i++)
                response[i] = (char) (response[i] | 0x20);
        {
                char got[33];
                for (int i = 0; i <= 32; i++)
                        got[i] = i < 32 ? (char) (p.v[DP_RESPONSE][i] | 0x20) : '\0';
                if (CRYPTO_memcmp(got, response, 32) != 0 || found == &store->dummy)
                        goto out;
        }
        /* Right answer: in time, and the nonce used once. */
        if (digest_nonce_check(store, c->nonce, strlen(c->nonce), raw) != NONCE_FRESH) {
                st = SEC_E_CONTEXT_EXPIRED;
                goto out;
        }
        if (!digest_nonce_count_take(store, raw, 1)) {
                st = SEC_E_OUT_OF_SEQUENCE;
                goto out;
        }
        st = derive_keys(c);
        if (st != SEC_E_OK)
                goto out;
        free(c->user);
        c->user = strdup(found->name);
        n = asprintf(&out, "rspauth=%s", rspauth);
        if (!c->user || n < 0) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        st = put_token(s, out, (size_t) n);
        if (st != SEC_E_OK)
                goto out;
        c->done = true;
        c->flags = layer_flags(layer, true);
        s->ret_flags = c->flags;
        s->expiry = FILETIME_NEVER;
out:
        explicit_bzero(response, sizeof(response));
        digest_params_done(&p);
        return st;
}

SECURITY_STATUS digest_sasl_accept(PkgStep *s) {
        DigestCred *cred = s->cred;
        DigestCtx *c = s->ctx;
        PkgBuffer *tok = digest_nth_buffer(s->in, s->n_in, SECBUFFER_TOKEN, 0);
        SECURITY_STATUS st;
        bool created = false;

        if (tok && tok->len == 0)
                tok = NULL;
        if (c && (!c->server || !c->sasl))
                return SEC_E_INVALID_HANDLE;
        if (c && c->done)
                return (SECURITY_STATUS) STATUS_LOGON_FAILURE; /* WDigest: already established */
        if (!c && (!cred || !(cred->use & SECPKG_CRED_INBOUND) || !cred->store))
                return SEC_E_NO_CREDENTIALS;
        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
                c->server = true;
                c->sasl = true;
                c->store = digest_store_ref(cred->store);
                created = true;
        }
        if (!tok)
                st = c->challenged ? SEC_E_INVALID_TOKEN : server_challenge(s, c);
        else if (!c->challenged)
                st = SEC_E_INVALID_TOKEN; /* SASL DIGEST-MD5 starts with the server's challenge */
        else
                st = server_verify(s, c, tok);
        if (created && st < 0) {
                digest_ctx_free(c);
                return st;
        }
        s->ctx = c;
        return st;
}

/* ---- the security layer ------------------------------------------------- */

void digest_sasl_sizes(const DigestCtx *c, SecPkgContext_Sizes *out) {
        out->cbMaxToken = DIGEST_PKG_MAX_TOKEN;
        if (!c->sasl || c->layer == SASL_LAYER_NONE)
                return;
        out->cbMaxSignature = SASL_SIG_LEN;
        out->cbBlockSize = c->layer == SASL_LAYER_CONF && !c->rc4 ? SASL_BLOCK : 0;
        out->cbSecurityTrailer = SASL_SIG_LEN + out->cbBlockSize;
}

/* HMAC-MD5(Ki, SeqNum || msg), its first 10 bytes. */
static int layer_mac(const uint8_t ki[16], uint32_t seq, const uint8_t *msg, size_t len, uint8_t out[10]) {
        uint8_t full[EVP_MAX_MD_SIZE], *buf = malloc(len + 4);
        unsigned fl = 0;
        bool ok;

        if (!buf)
                return -ENOMEM;
        buf[0] = (uint8_t) (seq >> 24), buf[1] = (uint8_t) (seq >> 16), buf[2] = (uint8_t) (seq >> 8);
        buf[3] = (uint8_t) seq;
        memcpy(buf + 4, msg, len);
        ok = HMAC(EVP_md5(), ki, 16, buf, len + 4, full, &fl) && fl >= 10;
        explicit_bzero(buf, len + 4);
        free(buf);
        if (ok)
                memcpy(out, full, 10);
        return ok ? 0 : -EIO;
}

static void put_trailer(uint8_t *p, uint32_t seq) {
        p[0] = 0, p[1] = 1;
        p[2] = (uint8_t) (seq >> 24), p[3] = (uint8_t) (seq >> 16), p[4] = (uint8_t) (seq >> 8), p[5] = (uint8_t) seq;
}

static uint32_t get_seq(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* The message and its trailer buffer: the first DATA, then the first of
 * TOKEN, PADDING or a second DATA. */
static SECURITY_STATUS layer_buffers(DigestCtx *c, PkgBuffer *b, size_t n, PkgBuffer **ret_data,
                                     PkgBuffer **ret_trailer) {
        PkgBuffer *t;

        if (!c || !c->done)
                return SEC_E_INVALID_HANDLE;
        if (!c->sasl)
                return SEC_E_UNSUPPORTED_FUNCTION; /* HTTP mode has no message protection */
        if (c->layer == SASL_LAYER_NONE)
                return SEC_E_QOP_NOT_SUPPORTED;
        *ret_data = digest_nth_buffer(b, n, SECBUFFER_DATA, 0);
        if (!*ret_data)
                return SEC_E_INVALID_TOKEN;
        t = digest_nth_buffer(b, n, SECBUFFER_TOKEN, 0);
        if (!t)
                t = digest_nth_buffer(b, n, SECBUFFER_PADDING, 0);
        if (!t)
                t = digest_nth_buffer(b, n, SECBUFFER_DATA, 1);
        *ret_trailer = t;
        return SEC_E_OK;
}

static SECURITY_STATUS wrap(DigestCtx *c, PkgBuffer *b, size_t n, bool seal) {
        PkgBuffer *data, *tr;
        uint8_t mac[10], *ct = NULL;
        SECURITY_STATUS st = layer_buffers(c, b, n, &data, &tr);

        if (st != SEC_E_OK)
                return st;
        if (!tr)
                return SEC_E_INVALID_TOKEN;
        if (data->len > SASL_MAXBUF)
                return SEC_E_INVALID_PARAMETER;
        if (c->seq_send == UINT32_MAX)
                return SEC_E_CONTEXT_EXPIRED;
        if (layer_mac(c->ki_send, c->seq_send, data->data, data->len, mac) < 0)
                return SEC_E_INTERNAL_ERROR;
        if (!seal || c->layer == SASL_LAYER_INT) {
                if (tr->cap < SASL_SIG_LEN)
                        return SEC_E_BUFFER_TOO_SMALL;
                memcpy(tr->data, mac, 10);
                put_trailer(tr->data + 10, c->seq_send);
                tr->len = SASL_SIG_LEN;
        } else {
                size_t pad = c->rc4 ? 0 : SASL_BLOCK - (data->len + 10) % SASL_BLOCK, total = data->len + pad + 10;
                int ol = 0;

                if (tr->cap < pad + 10 + 6)
                        return SEC_E_BUFFER_TOO_SMALL;
                ct = malloc(total);
                if (!ct)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(ct, data->data, data->len);
                memset(ct + data->len, (int) pad, pad);
                memcpy(ct + data->len + pad, mac, 10);
                if (c->rc4)
                        rc4_apply(&c->rc4_send, ct, total);
                else if (EVP_CipherUpdate(c->enc, ct, &ol, ct, (int) total) != 1 || (size_t) ol != total) {
                        free(ct);
                        return SEC_E_INTERNAL_ERROR;
                }
                memcpy(data->data, ct, data->len);
                memcpy(tr->data, ct + data->len, pad + 10);
                put_trailer(tr->data + pad + 10, c->seq_send);
                tr->len = pad + 10 + 6;
                free(ct);
        }
        c->seq_send++;
        return SEC_E_OK;
}

/* The whole SASL message: DATA followed by the trailer buffer, if any. */
static SECURITY_STATUS unwrap(DigestCtx *c, PkgBuffer *b, size_t n, bool unseal, uint32_t *ret_qop) {
        PkgBuffer *data, *tr;
        uint8_t *msg, mac[10];
        size_t len, body, pt_len;
        DigestRc4 rc4;
        EVP_CIPHER_CTX *dec = NULL;
        SECURITY_STATUS st = layer_buffers(c, b, n, &data, &tr);

        if (st != SEC_E_OK)
                return st;
        if (tr && tr->len == 0)
                tr = NULL;
        len = data->len + (tr ? tr->len : 0);
        if (len < SASL_SIG_LEN || len > SASL_MAXBUF + 64)
                return SEC_E_MESSAGE_ALTERED;
        msg = malloc(len);
        if (!msg)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(msg, data->data, data->len);
        if (tr)
                memcpy(msg + data->len, tr->data, tr->len);
        st = SEC_E_MESSAGE_ALTERED;
        if (msg[len - 6] != 0 || msg[len - 5] != 1)
                goto out;
        if (get_seq(msg + len - 4) != c->seq_recv) {
                st = SEC_E_OUT_OF_SEQUENCE;
                goto out;
        }
        body = len - 6;
        /* Decrypt with a copy of the receive state: a rejected message
         * leaves the stream (RC4) or the CBC chain (3DES) where it was. */
        if (c->layer == SASL_LAYER_CONF && unseal && c->rc4) {
                rc4 = c->rc4_recv;
                rc4_apply(&rc4, msg, body);
                pt_len = body - 10;
        } else if (c->layer == SASL_LAYER_CONF && unseal) {
                int ol = 0;
                size_t pad;
                dec = EVP_CIPHER_CTX_new();
                if (!dec || EVP_CIPHER_CTX_copy(dec, c->dec) != 1) {
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                if (body % SASL_BLOCK != 0 || EVP_CipherUpdate(dec, msg, &ol, msg, (int) body) != 1 ||
                    (size_t) ol != body)
                        goto out;
                pad = msg[body - 11];
                if (pad < 1 || pad > SASL_BLOCK || body < 10 + pad)
                        goto out;
                for (size_t i = 1; i <= pad; i++)
                        if (msg[body - 10 - i] != pad)
                                goto out;
                pt_len = body - 10 - pad;
        } else
                pt_len = body - 10;
        if (layer_mac(c->ki_recv, c->seq_recv, msg, pt_len, mac) < 0) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        if (CRYPTO_memcmp(mac, msg + body - 10, 10) != 0) /* after the padding */
                goto out;
        if (unseal && c->layer == SASL_LAYER_CONF) {
                if (c->rc4)
                        c->rc4_recv = rc4;
                else {
                        EVP_CIPHER_CTX_free(c->dec);
                        c->dec = TAKE_PTR(dec);
                }
        }
        if (unseal) {
                /* The plaintext goes back into DATA; the trailer is used up. */
                memcpy(data->data, msg, pt_len);
                data->len = pt_len;
                if (tr)
                        tr->len = 0;
        }
        c->seq_recv++;
        *ret_qop = c->layer == SASL_LAYER_CONF ? 0 : SECQOP_WRAP_NO_ENCRYPT;
        st = SEC_E_OK;
out:
        EVP_CIPHER_CTX_free(dec);
        explicit_bzero(&rc4, sizeof(rc4));
        explicit_bzero(msg, len);
        free(msg);
        return st;
}

SECURITY_STATUS digest_sasl_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        return wrap(ctx, b, n, false);
}

SECURITY_STATUS digest_sasl_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        return wrap(ctx, b, n, true);
}

SECURITY_STATUS digest_sasl_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        uint32_t q = 0;
        SECURITY_STATUS st = unwrap(ctx, b, n, false, &q);
        *ret_qop = PKG_QOP_UNSET;
        return st;
}

SECURITY_STATUS digest_sasl_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        return unwrap(ctx, b, n, true, ret_qop);
}
