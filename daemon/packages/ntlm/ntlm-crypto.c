/* SPDX-License-Identifier: MIT */
/*
 * NTLM's primitives and key schedule. MD5 and HMAC-MD5 come from
 * OpenSSL's default provider; MD4 and RC4 live in OpenSSL 3's legacy
 * provider, which a daemon should not load process-wide for one package,
 * so both are implemented here (RFC 1320, and the 20-line RC4).
 */
#include "packages/ntlm/ntlm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* ---- MD4 (RFC 1320) ---- */

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void md4_block(uint32_t h[4], const uint8_t *p) {
        uint32_t x[16], a = h[0], b = h[1], c = h[2], d = h[3];
        static const int s1[4] = { 3, 7, 11, 19 }, s2[4] = { 3, 5, 9, 13 }, s3[4] = { 3, 9, 11, 15 };
        static const int k3[16] = { 0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15 };

        for (int i = 0; i < 16; i++)
                x[i] = (uint32_t) p[4 * i] | (uint32_t) p[4 * i + 1] << 8 | (uint32_t) p[4 * i + 2] << 16 |
                       (uint32_t) p[4 * i + 3] << 24;
        for (int i = 0; i < 16; i++) {
                uint32_t f = (b & c) | (~b & d), t = a + f + x[i];
                a = d;
                d = c;
                c = b;
                b = ROL(t, s1[i % 4]);
        }
        for (int i = 0; i < 16; i++) {
                int k = (i % 4) * 4 + i / 4;
                uint32_t g = (b & c) | (b & d) | (c & d), t = a + g + x[k] + 0x5a827999U;
                a = d;
                d = c;
                c = b;
                b = ROL(t, s2[i % 4]);
        }
        for (int i = 0; i < 16; i++) {
                uint32_t hh = b ^ c ^ d, t = a + hh + x[k3[i]] + 0x6ed9eba1U;
                a = d;
                d = c;
                c = b;
                b = ROL(t, s3[i % 4]);
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        explicit_bzero(x, sizeof(x));
}

void ntlm_md4(const uint8_t *msg, size_t len, uint8_t out[16]) {
        uint32_t h[4] = { 0x67452301U, 0xefcdab89U, 0x98badcfeU, 0x10325476U };
        uint8_t tail[128] = { 0 };
        size_t full = len / 64 * 64, rest = len - full, tlen;
        uint64_t bits = (uint64_t) len * 8;

        for (size_t off = 0; off < full; off += 64)
                md4_block(h, msg + off);
        if (rest)
                memcpy(tail, msg + full, rest);
        tail[rest] = 0x80;
        tlen = rest + 1 + 8 <= 64 ? 64 : 128;
        for (int i = 0; i < 8; i++)
                tail[tlen - 8 + i] = (uint8_t) (bits >> (8 * i));
        md4_block(h, tail);
        if (tlen == 128)
                md4_block(h, tail + 64);
        for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                        out[4 * i + j] = (uint8_t) (h[i] >> (8 * j));
        explicit_bzero(tail, sizeof(tail));
}

/* ---- RC4 ---- */

void ntlm_rc4_init(NtlmRc4 *r, const uint8_t *key, size_t len) {
        uint8_t j = 0;

        for (int i = 0; i < 256; i++)
                r->s[i] = (uint8_t) i;
        for (int i = 0; i < 256; i++) {
                uint8_t t = r->s[i];
                j = (uint8_t) (j + t + key[i % len]);
                r->s[i] = r->s[j];
                r->s[j] = t;
        }
        r->i = r->j = 0;
}

void ntlm_rc4(NtlmRc4 *r, const uint8_t *in, uint8_t *out, size_t len) {
        uint8_t i = r->i, j = r->j;

        for (size_t n = 0; n < len; n++) {
                uint8_t t;
                i++;
                t = r->s[i];
                j = (uint8_t) (j + t);
                r->s[i] = r->s[j];
                r->s[j] = t;
                out[n] = in[n] ^ r->s[(uint8_t) (r->s[i] + t)];
        }
        r->i = i;
        r->j = j;
}

/* ---- MD5, HMAC-MD5 ---- */

void ntlm_md5(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t out[16]) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int n = 16;

        if (!c || EVP_DigestInit_ex(c, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(c, a, alen) != 1 ||
            (b && EVP_DigestUpdate(c, b, blen) != 1) || EVP_DigestFinal_ex(c, out, &n) != 1)
                abort(); /* MD5 is in the default provider: a failure is a broken install */
        EVP_MD_CTX_free(c);
}

void ntlm_hmac_md5(const uint8_t *key, size_t klen, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                   uint8_t out[16]) {
        uint8_t k[64] = { 0 }, ipad[64], opad[64], inner[16];

        /* HMAC by hand over the EVP digest: one code path whatever
         * OpenSSL deprecates next, and no allocation per MAC. */
        if (klen > 64)
                ntlm_md5(key, klen, NULL, 0, k);
        else
                memcpy(k, key, klen);
        for (int i = 0; i < 64; i++) {
                ipad[i] = k[i] ^ 0x36;
                opad[i] = k[i] ^ 0x5c;
        }
        {
                EVP_MD_CTX *c = EVP_MD_CTX_new();
                unsigned int n = 16;

                if (!c || EVP_DigestInit_ex(c, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(c, ipad, 64) != 1 ||
                    (alen && EVP_DigestUpdate(c, a, alen) != 1) || (b && blen && EVP_DigestUpdate(c, b, blen) != 1) ||
                    EVP_DigestFinal_ex(c, inner, &n) != 1)
                        abort();
                EVP_MD_CTX_free(c);
        }
        ntlm_md5(opad, 64, inner, 16, out);
        explicit_bzero(k, sizeof(k));
        explicit_bzero(ipad, sizeof(ipad));
        explicit_bzero(opad, sizeof(opad));
        explicit_bzero(inner, sizeof(inner));
}

/* ---- strings ---- */

int ntlm_utf16(const char *s, bool upper, uint8_t **ret, size_t *ret_len) {
        size_t n = strlen(s), o = 0;
        uint8_t *out = malloc(4 * n + 2);

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n;) {
                uint32_t cp;
                unsigned char c = (unsigned char) s[i];
                size_t need;

                if (c < 0x80) {
                        cp = c;
                        need = 1;
                } else if ((c & 0xe0) == 0xc0) {
                        cp = c & 0x1f;
                        need = 2;
                } else if ((c & 0xf0) == 0xe0) {
                        cp = c & 0x0f;
                        need = 3;
                } else if ((c & 0xf8) == 0xf0) {
                        cp = c & 0x07;
                        need = 4;
                } else
                        goto bad;
                if (i + need > n)
                        goto bad;
                for (size_t k = 1; k < need; k++) {
                        unsigned char cc = (unsigned char) s[i + k];
                        if ((cc & 0xc0) != 0x80)
                                goto bad;
                        cp = cp << 6 | (cc & 0x3f);
                }
                i += need;
                if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
                        goto bad;
                if (upper && ((cp >= 'a' && cp <= 'z') || (cp >= 0xe0 && cp <= 0xfe && cp != 0xf7)))
                        cp -= 0x20;
                if (cp >= 0x10000) {
                        uint32_t v = cp - 0x10000, hi = 0xd800 | (v >> 10), lo = 0xdc00 | (v & 0x3ff);
                        out[o++] = (uint8_t) hi;
                        out[o++] = (uint8_t) (hi >> 8);
                        out[o++] = (uint8_t) lo;
                        out[o++] = (uint8_t) (lo >> 8);
                } else {
                        out[o++] = (uint8_t) cp;
                        out[o++] = (uint8_t) (cp >> 8);
                }
        }
        *ret = out;
        *ret_len = o;
        return 0;
bad:
        explicit_bzero(out, 4 * n + 2);
        free(out);
        return -EINVAL;
}

char *ntlm_utf8(const uint8_t *p, size_t len) {
        char *out;
        size_t o = 0;

        if (len % 2)
                return NULL;
        out = malloc(len / 2 * 3 + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i += 2) {
                uint32_t cp = (uint32_t) p[i] | (uint32_t) p[i + 1] << 8;

                if (cp >= 0xd800 && cp < 0xdc00) {
                        uint32_t lo;
                        if (i + 4 > len)
                                goto bad;
                        lo = (uint32_t) p[i + 2] | (uint32_t) p[i + 3] << 8;
                        if (lo < 0xdc00 || lo >= 0xe000)
                                goto bad;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        i += 2;
                } else if (cp >= 0xdc00 && cp < 0xe000)
                        goto bad;
                if (cp == 0)
                        goto bad; /* no embedded NULs in names */
                if (cp < 0x80)
                        out[o++] = (char) cp;
                else if (cp < 0x800) {
                        out[o++] = (char) (0xc0 | cp >> 6);
                        out[o++] = (char) (0x80 | (cp & 0x3f));
                } else if (cp < 0x10000) {
                        out[o++] = (char) (0xe0 | cp >> 12);
                        out[o++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                        out[o++] = (char) (0x80 | (cp & 0x3f));
                } else {
                        out[o++] = (char) (0xf0 | cp >> 18);
                        out[o++] = (char) (0x80 | ((cp >> 12) & 0x3f));
                        out[o++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                        out[o++] = (char) (0x80 | (cp & 0x3f));
                }
        }
        out[o] = '\0';
        return out;
bad:
        free(out);
        return NULL;
}

/* ---- key schedule ---- */

int ntlm_nt_hash(const uint8_t *password, size_t len, uint8_t out[16]) {
        char *s = malloc(len + 1);
        uint8_t *u = NULL;
        size_t ulen = 0;
        int r;

        if (!s)
                return -ENOMEM;
        memcpy(s, password, len);
        s[len] = '\0';
        r = ntlm_utf16(s, false, &u, &ulen);
        explicit_bzero(s, len);
        free(s);
        if (r < 0)
                return r;
        ntlm_md4(u, ulen, out);
        explicit_bzero(u, ulen);
        free(u);
        return 0;
}

int ntlm_ntowfv2(const uint8_t nthash[16], const char *user, const char *domain, uint8_t out[16]) {
        uint8_t *u = NULL, *d = NULL;
        size_t ulen = 0, dlen = 0;
        int r;

        r = ntlm_utf16(user ? user : "", true, &u, &ulen);
        if (r < 0)
                return r;
        r = ntlm_utf16(domain ? domain : "", false, &d, &dlen);
        if (r < 0) {
                free(u);
                return r;
        }
        ntlm_hmac_md5(nthash, 16, u, ulen, d, dlen, out);
        free(u);
        free(d);
        return 0;
}

static const char magic_cli_sign[] = "session key to client-to-server signing key magic constant";
static const char magic_srv_sign[] = "session key to server-to-client signing key magic constant";
static const char magic_cli_seal[] = "session key to client-to-server sealing key magic constant";
static const char magic_srv_seal[] = "session key to server-to-client sealing key magic constant";

void ntlm_derive_keys(const uint8_t exported[16], NtlmKeys *ret) {
        /* The constants include their terminating NUL. */
        ntlm_md5(exported, 16, (const uint8_t *) magic_cli_sign, sizeof(magic_cli_sign), ret->client_sign);
        ntlm_md5(exported, 16, (const uint8_t *) magic_srv_sign, sizeof(magic_srv_sign), ret->server_sign);
        ntlm_md5(exported, 16, (const uint8_t *) magic_cli_seal, sizeof(magic_cli_seal), ret->client_seal);
        ntlm_md5(exported, 16, (const uint8_t *) magic_srv_seal, sizeof(magic_srv_seal), ret->server_seal);
}

void ntlm_signature(const uint8_t sign_key[16], NtlmRc4 *rc4, uint32_t seq, const NtlmIov *iov, size_t n,
                    uint8_t sig[NTLM_SIG_SIZE]) {
        uint8_t k[64] = { 0 }, ipad[64], opad[64], inner[16], mac[16], s[4];
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int len = 16;

        s[0] = (uint8_t) seq;
        s[1] = (uint8_t) (seq >> 8);
        s[2] = (uint8_t) (seq >> 16);
        s[3] = (uint8_t) (seq >> 24);
        memcpy(k, sign_key, 16);
        for (int i = 0; i < 64; i++) {
                ipad[i] = k[i] ^ 0x36;
                opad[i] = k[i] ^ 0x5c;
        }
        if (!c || EVP_DigestInit_ex(c, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(c, ipad, 64) != 1 ||
            EVP_DigestUpdate(c, s, 4) != 1)
                abort();
        for (size_t i = 0; i < n; i++)
                if (iov[i].len && EVP_DigestUpdate(c, iov[i].data, iov[i].len) != 1)
                        abort();
        if (EVP_DigestFinal_ex(c, inner, &len) != 1)
                abort();
        EVP_MD_CTX_free(c);
        ntlm_md5(opad, 64, inner, 16, mac);
        sig[0] = 1;
        sig[1] = sig[2] = sig[3] = 0;
        if (rc4)
                ntlm_rc4(rc4, mac, sig + 4, 8);
        else
                memcpy(sig + 4, mac, 8);
        memcpy(sig + 12, s, 4);
        explicit_bzero(k, sizeof(k));
        explicit_bzero(ipad, sizeof(ipad));
        explicit_bzero(opad, sizeof(opad));
        explicit_bzero(mac, sizeof(mac));
}
