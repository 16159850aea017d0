/* SPDX-License-Identifier: MIT */
/*
 * The Digest package's byte handling: the bounded parser for challenges
 * and responses, URI checks, and the RFC 7616 hash formulas on OpenSSL
 * EVP. Nothing here keeps state; digest-provider.c and its siblings hold credentials, contexts,
 * stores and nonces.
 */
#include "packages/digest/digest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define MAX_PARAMS 64
#define MAX_NAME 32

static const char *const param_names[N_DIGEST_PARAMS] = {
        [DP_REALM] = "realm",       [DP_NONCE] = "nonce",     [DP_OPAQUE] = "opaque",
        [DP_STALE] = "stale",       [DP_ALGORITHM] = "algorithm", [DP_QOP] = "qop",
        [DP_CHARSET] = "charset",   [DP_USERHASH] = "userhash", [DP_USERNAME] = "username",
        [DP_USERNAME_EXT] = "username*", [DP_URI] = "uri",   [DP_RESPONSE] = "response",
        [DP_CNONCE] = "cnonce",     [DP_NC] = "nc",           [DP_DOMAIN] = "domain",
        [DP_RSPAUTH] = "rspauth",   [DP_DIGEST_URI] = "digest-uri", [DP_CIPHER] = "cipher",
        [DP_MAXBUF] = "maxbuf",     [DP_AUTHZID] = "authzid",
};

/* RFC 9110 tchar. */
static bool is_tchar(uint8_t c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* A bounded reader: every access checks the cursor against the end. */
typedef struct Reader {
        const uint8_t *p;
        size_t len;
        size_t pos;
} Reader;

static bool rd_eof(const Reader *r) {
        return r->pos >= r->len;
}

static int rd_peek(const Reader *r) {
        return rd_eof(r) ? -1 : r->p[r->pos];
}

static void rd_skip_ows(Reader *r) {
        while (!rd_eof(r) && (r->p[r->pos] == ' ' || r->p[r->pos] == '\t'))
                r->pos++;
}

void digest_params_done(DigestParams *p) {
        free(p->scratch);
        *p = (DigestParams) {};
}

int digest_params_parse(const uint8_t *data, size_t len, DigestParams *ret) {
        Reader r = { data, len, 0 };
        DigestParams p = {};
        size_t out = 0, cap, n = 0;

        *ret = (DigestParams) {};
        if (len == 0 || len > DIGEST_MAX_TOKEN)
                return -EBADMSG;
        /* Unescaped values are never longer than the input; one NUL each. */
        cap = 2 * len + 2;
        p.scratch = malloc(cap);
        if (!p.scratch)
                return -ENOMEM;

        rd_skip_ows(&r);
        if (len - r.pos > 6 && !strncasecmp((const char *) data + r.pos, "Digest", 6) &&
            (data[r.pos + 6] == ' ' || data[r.pos + 6] == '\t'))
                r.pos += 6;

        for (;;) {
                char name[MAX_NAME + 1];
                size_t nl = 0, vstart;
                int k;

                /* Separators: OWS and empty list elements. */
                while (!rd_eof(&r) && (rd_peek(&r) == ' ' || rd_peek(&r) == '\t' || rd_peek(&r) == ','))
                        r.pos++;
                if (rd_eof(&r))
                        break;
                if (++n > MAX_PARAMS)
                        goto bad;
                while (!rd_eof(&r) && is_tchar(r.p[r.pos])) {
                        if (nl >= MAX_NAME)
                                goto bad;
                        name[nl++] = (char) r.p[r.pos++];
                }
                if (nl == 0)
                        goto bad;
                name[nl] = '\0';
                rd_skip_ows(&r);
                if (rd_peek(&r) != '=')
                        goto bad;
                r.pos++;
                rd_skip_ows(&r);

                vstart = out;
                if (rd_peek(&r) == '"') {
                        bool closed = false;

                        r.pos++;
                        while (!rd_eof(&r)) {
                                uint8_t c = r.p[r.pos++];

                                if (c == '"') {
                                        closed = true;
                                        break;
                                }
                                if (c == '\\') {
                                        if (rd_eof(&r))
                                                goto bad;
                                        c = r.p[r.pos++];
                                }
                                /* qdtext: no controls except HTAB. */
                                if ((c < 0x20 && c != '\t') || c == 0x7f)
                                        goto bad;
                                if (out + 1 >= cap)
                                        goto bad;
                                p.scratch[out++] = (char) c;
                        }
                        if (!closed)
                                goto bad;
                } else {
                        while (!rd_eof(&r) && is_tchar(r.p[r.pos])) {
                                if (out + 1 >= cap)
                                        goto bad;
                                p.scratch[out++] = (char) r.p[r.pos++];
                        }
                        if (out == vstart)
                                goto bad;
                }
                if (out >= cap)
                        goto bad;
                p.scratch[out++] = '\0';

                rd_skip_ows(&r);
                if (!rd_eof(&r) && rd_peek(&r) != ',')
                        goto bad;

                for (k = 0; k < N_DIGEST_PARAMS; k++)
                        if (!strcasecmp(name, param_names[k]))
                                break;
                if (k == N_DIGEST_PARAMS)
                        continue; /* unknown auth-params are ignored (RFC 7616 §3.3) */
                if (p.v[k])
                        goto bad;
                p.v[k] = p.scratch + vstart;
                p.len[k] = out - 1 - vstart;
        }
        *ret = p;
        return 0;
bad:
        digest_params_done(&p);
        return -EBADMSG;
}

static bool is_hex(uint8_t c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool digest_uri_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strnlen(s, 8193);
        if (n == 0 || n > 8192)
                return false;
        for (size_t i = 0; i < n; i++) {
                uint8_t c = (uint8_t) s[i];

                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                        continue;
                if (strchr("-._~:/?#[]@!$&'()*+,;=", c))
                        continue;
                /* Percent-encoding: exactly two hex digits follow. */
                if (c == '%') {
                        if (n - i < 3 || !is_hex((uint8_t) s[i + 1]) || !is_hex((uint8_t) s[i + 2]))
                                return false;
                        i += 2;
                        continue;
                }
                return false;
        }
        return true;
}

static const struct {
        const char *name;
        size_t hexlen;
} algs[N_DIGEST_ALGS] = {
        [DIGEST_MD5] = { "MD5", 32 },
        [DIGEST_SHA256] = { "SHA-256", 64 },
        [DIGEST_SHA512_256] = { "SHA-512-256", 64 },
};

int digest_alg_parse(const char *s, size_t len, DigestAlg *ret_alg, bool *ret_sess) {
        for (int a = 0; a < N_DIGEST_ALGS; a++) {
                size_t nl = strlen(algs[a].name);

                if (len < nl || strncasecmp(s, algs[a].name, nl))
                        continue;
                if (len == nl) {
                        *ret_alg = a;
                        *ret_sess = false;
                        return 0;
                }
                if (len == nl + 5 && !strncasecmp(s + nl, "-sess", 5)) {
                        *ret_alg = a;
                        *ret_sess = true;
                        return 0;
                }
        }
        return -EINVAL;
}

size_t digest_alg_hexlen(DigestAlg a) {
        return algs[a].hexlen;
}

static const EVP_MD *alg_md(DigestAlg a) {
        switch (a) {
        case DIGEST_MD5:
                return EVP_md5();
        case DIGEST_SHA256:
                return EVP_sha256();
        default:
                return EVP_sha512_256();
        }
}

int digest_hash_hex(DigestAlg a, const char *const *parts, const size_t *lens, size_t n, char *out) {
        static const char hex[] = "0123456789abcdef";
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        int ok;

        if (!m)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(m, alg_md(a), NULL);
        for (size_t i = 0; ok && i < n; i++) {
                if (i > 0)
                        ok = EVP_DigestUpdate(m, ":", 1);
                if (ok && lens[i] > 0)
                        ok = EVP_DigestUpdate(m, parts[i], lens[i]);
        }
        if (ok)
                ok = EVP_DigestFinal_ex(m, md, &mdlen);
        EVP_MD_CTX_free(m);
        if (!ok || mdlen * 2 != algs[a].hexlen)
                return -EIO;
        for (unsigned i = 0; i < mdlen; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 15];
        }
        out[2 * mdlen] = '\0';
        explicit_bzero(md, sizeof(md));
        return 0;
}

int digest_response(const DigestInput *in, char *out) {
        char ha1s[DIGEST_HEX_MAX + 1], ha2[DIGEST_HEX_MAX + 1];
        const char *ha1 = in->ha1;
        const char *p[6];
        size_t l[6];
        int r;

        if (in->sess) {
                p[0] = in->ha1, l[0] = strlen(in->ha1);
                p[1] = in->nonce, l[1] = strlen(in->nonce);
                p[2] = in->cnonce, l[2] = strlen(in->cnonce);
                r = digest_hash_hex(in->alg, p, l, 3, ha1s);
                if (r < 0)
                        return r;
                ha1 = ha1s;
        }
        p[0] = in->method, l[0] = strlen(in->method);
        p[1] = in->uri, l[1] = strlen(in->uri);
        p[2] = in->body_hex ? in->body_hex : "", l[2] = strlen(p[2]);
        r = digest_hash_hex(in->alg, p, l, in->body_hex ? 3 : 2, ha2);
        if (r >= 0) {
                p[0] = ha1, l[0] = strlen(ha1);
                p[1] = in->nonce, l[1] = strlen(in->nonce);
                p[2] = in->nc, l[2] = strlen(in->nc);
                p[3] = in->cnonce, l[3] = strlen(in->cnonce);
                p[4] = in->qop, l[4] = strlen(in->qop);
                p[5] = ha2, l[5] = strlen(ha2);
                r = digest_hash_hex(in->alg, p, l, 6, out);
        }
        explicit_bzero(ha1s, sizeof(ha1s));
        return r;
}

/* ---- SASL mode ---------------------------------------------------------- */

bool digest_list_has(const char *list, const char *item) {
        size_t il = strlen(item);

        for (const char *p = list; p && *p;) {
                size_t n;
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                n = strcspn(p, " \t,");
                if (n == il && !strncasecmp(p, item, n))
                        return true;
                p += n;
        }
        return false;
}

bool digest_quotable(const char *v, size_t len) {
        for (size_t i = 0; i < len; i++)
                if ((uint8_t) v[i] < 0x20 || v[i] == '"' || v[i] == '\\' || v[i] == 0x7f)
                        return false;
        return len > 0 && len <= 1024;
}

static const char *const layer_qop[] = { "auth", "auth-int", "auth-conf" };

int digest_sasl_challenge_check(const DigestParams *p, uint8_t want, bool *ret_rc4) {
        if (want > SASL_LAYER_CONF || !p->v[DP_NONCE] || !digest_quotable(p->v[DP_NONCE], p->len[DP_NONCE]) ||
            !p->v[DP_ALGORITHM] || strcasecmp(p->v[DP_ALGORITHM], "md5-sess") ||
            (p->v[DP_REALM] && !digest_quotable(p->v[DP_REALM], p->len[DP_REALM])) || p->v[DP_RSPAUTH])
                return -EBADMSG;
        *ret_rc4 = digest_list_has(p->v[DP_CIPHER], "rc4");
        if (!digest_list_has(p->v[DP_QOP] ? p->v[DP_QOP] : "auth", layer_qop[want]) ||
            (want == SASL_LAYER_CONF && !*ret_rc4 && !digest_list_has(p->v[DP_CIPHER], "3des")))
                return -ENOTSUP;
        return 0;
}

int digest_sasl_response_check(const DigestParams *p, uint8_t want, uint8_t *ret_layer, bool *ret_rc4) {
        uint8_t layer = SASL_LAYER_NONE;

        if (!p->v[DP_USERNAME] || !digest_quotable(p->v[DP_USERNAME], p->len[DP_USERNAME]) || !p->v[DP_NONCE] ||
            !p->v[DP_CNONCE] || !digest_quotable(p->v[DP_CNONCE], p->len[DP_CNONCE]) || !p->v[DP_NC] ||
            !p->v[DP_DIGEST_URI] || !digest_quotable(p->v[DP_DIGEST_URI], p->len[DP_DIGEST_URI]) ||
            !strchr(p->v[DP_DIGEST_URI], '/') || !p->v[DP_RESPONSE] || p->len[DP_RESPONSE] != 32 ||
            (p->v[DP_CHARSET] && strcasecmp(p->v[DP_CHARSET], "utf-8")))
                return -EBADMSG;
        for (size_t i = 0; i < 32; i++)
                if (!is_hex((uint8_t) p->v[DP_RESPONSE][i]))
                        return -EBADMSG;
        /* The first (and only) response on a nonce. */
        if (strcmp(p->v[DP_NC], "00000001") != 0)
                return -EBADMSG;
        if (p->v[DP_QOP]) {
                for (layer = 0; layer <= SASL_LAYER_CONF; layer++)
                        if (!strcasecmp(p->v[DP_QOP], layer_qop[layer]))
                                break;
                if (layer > SASL_LAYER_CONF)
                        return -EBADMSG;
        }
        *ret_rc4 = layer == SASL_LAYER_CONF && p->v[DP_CIPHER] && !strcasecmp(p->v[DP_CIPHER], "rc4");
        if (layer < want ||
            (layer == SASL_LAYER_CONF && !*ret_rc4 && (!p->v[DP_CIPHER] || strcasecmp(p->v[DP_CIPHER], "3des"))))
                return -ENOTSUP;
        *ret_layer = layer;
        return 0;
}
