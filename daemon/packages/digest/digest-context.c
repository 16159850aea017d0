/* SPDX-License-Identifier: MIT */
/*
 * The Digest handshake (RFC 7616, RFC 2617): the client answers a
 * challenge and checks rspauth; the server challenges, verifies the
 * response, nonce and nonce count.
 */
#include "packages/digest/digest-private.h"

/* ---- contexts ----------------------------------------------------------- */

void digest_ctx_free(void *p) {
        DigestCtx *c = p;

        if (!c)
                return;
        digest_store_unref(c->store);
        free(c->user);
        free(c->realm);
        free(c->nonce);
        free(c->opaque);
        free(c->last_uri);
        free(c->pending_token);
        free(c->pending_method);
        digest_pending_free(c->pending_in);
        digest_sasl_free(c);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

static int64_t filetime_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return filetime_from_unix(ts.tv_sec) + ts.tv_nsec / 100;
}

/* The n-th (0-based) buffer of `type`, or NULL. */
PkgBuffer *digest_nth_buffer(PkgBuffer *b, size_t n, uint32_t type, unsigned nth) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type && nth-- == 0)
                        return &b[i];
        return NULL;
}

static PkgBuffer *input_token(PkgStep *s) {
        PkgBuffer *t = digest_nth_buffer(s->in, s->n_in, SECBUFFER_TOKEN, 0);
        return t && t->len > 0 ? t : NULL;
}

/* An HTTP method is a token (RFC 9110), ASCII, short. */
static SECURITY_STATUS buffer_method(PkgStep *s, char *out, size_t cap) {
        PkgBuffer *b = digest_nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, 0);
        size_t len;

        if (!b || b->len == 0)
                return SEC_E_INVALID_PARAMETER;
        len = strnlen((const char *) b->data, b->len); /* a trailing NUL is allowed */
        if (len == 0 || len >= cap)
                return SEC_E_INVALID_PARAMETER;
        for (size_t i = 0; i < len; i++) {
                uint8_t c = b->data[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      strchr("!#$%&'*+-.^_`|~", c)))
                        return SEC_E_INVALID_PARAMETER;
        }
        memcpy(out, b->data, len);
        out[len] = '\0';
        return SEC_E_OK;
}

/* H(entity-body): PKG_PARAMS #idx as hex of the right length, or a
 * SECBUFFER_DATA with the body itself; neither: the empty body. */
SECURITY_STATUS digest_body_hash(PkgBuffer *in, size_t n, unsigned idx, DigestAlg alg, char *out) {
        PkgBuffer *b = digest_nth_buffer(in, n, SECBUFFER_PKG_PARAMS, idx);
        PkgBuffer *data = digest_nth_buffer(in, n, SECBUFFER_DATA, 0);
        size_t hl = digest_alg_hexlen(alg);

        if (b && b->len > 0) {
                size_t len = strnlen((const char *) b->data, b->len);
                if (len != hl || !digest_is_hex_str((const char *) b->data, len))
                        return SEC_E_INVALID_PARAMETER;
                for (size_t i = 0; i <= len; i++)
                        out[i] = i < len ? (char) (b->data[i] | 0x20) : '\0';
                return SEC_E_OK;
        }
        {
                const char *p[1] = { data ? (const char *) data->data : "" };
                size_t l[1] = { data ? data->len : 0 };
                return digest_hash_hex(alg, p, l, 1, out) < 0 ? SEC_E_INTERNAL_ERROR : SEC_E_OK;
        }
}

static SECURITY_STATUS buffer_body_hash(PkgStep *s, unsigned idx, DigestAlg alg, char *out) {
        return digest_body_hash(s->in, s->n_in, idx, alg, out);
}

/* No H(entity-body) parameter (PKG_PARAMS #idx absent) and no body
 * (SECBUFFER_DATA): the message is not built yet. WDigest then answers
 * SEC_I_COMPLETE_NEEDED and CompleteAuthToken finishes the token once the
 * caller has the body (MS docs, AcceptSecurityContext (Digest),
 * InitializeSecurityContext (Digest), CompleteAuthToken). */
static bool body_absent(PkgStep *s, unsigned idx) {
        return !digest_nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, idx) &&
               !digest_nth_buffer(s->in, s->n_in, SECBUFFER_DATA, 0);
}

/* A quoted-string value: escape '"' and '\'. The caller sized `out`. */
static size_t put_quoted(char *out, const char *v) {
        size_t n = 0;
        out[n++] = '"';
        for (; *v; v++) {
                if (*v == '"' || *v == '\\')
                        out[n++] = '\\';
                out[n++] = *v;
        }
        out[n++] = '"';
        return n;
}

typedef struct OutBuf {
        char *p;
        size_t len, cap;
        bool failed;
} OutBuf;

static void ob_add(OutBuf *o, const char *s, size_t n) {
        if (o->failed || n > o->cap - o->len) {
                o->failed = true;
                return;
        }
        memcpy(o->p + o->len, s, n);
        o->len += n;
}

static void ob_str(OutBuf *o, const char *s) {
        ob_add(o, s, strlen(s));
}

static void ob_quoted(OutBuf *o, const char *v) {
        char tmp[2 * 1024 + 3];
        if (strlen(v) > 1024) {
                o->failed = true;
                return;
        }
        ob_add(o, tmp, put_quoted(tmp, v));
}

static SECURITY_STATUS put_output(PkgStep *s, OutBuf *o) {
        PkgBuffer *slot = digest_nth_buffer(s->out, s->n_out, SECBUFFER_TOKEN, 0);

        if (o->failed)
                return SEC_E_INTERNAL_ERROR;
        if (!slot)
                return o->len ? SEC_E_INVALID_TOKEN : SEC_E_OK;
        if (slot->cap > 0 && o->len > slot->cap)
                return SEC_E_BUFFER_TOO_SMALL;
        slot->data = (uint8_t *) o->p;
        slot->len = o->len;
        slot->owned = true;
        o->p = NULL;
        return SEC_E_OK;
}

static const char *alg_name(DigestAlg a, bool sess) {
        static const char *const names[N_DIGEST_ALGS][2] = {
                { "MD5", "MD5-sess" },
                { "SHA-256", "SHA-256-sess" },
                { "SHA-512-256", "SHA-512-256-sess" },
        };
        return names[a][sess];
}

static bool list_has(const char *list, const char *item) {
        size_t il = strlen(item);

        for (const char *p = list; *p;) {
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

static bool user_is_plain(const char *u) {
        for (; *u; u++)
                if ((uint8_t) *u < 0x20 || (uint8_t) *u >= 0x7f)
                        return false;
        return true;
}

/* ---- client ------------------------------------------------------------- */

/* Take a challenge into the context. */
static SECURITY_STATUS client_take_challenge(PkgStep *s, DigestCred *cred, DigestCtx *c, const PkgBuffer *tok) {
        DigestParams p;
        DigestAlg alg = DIGEST_MD5;
        bool sess = false, want_int;
        SECURITY_STATUS st;

        if (digest_params_parse(tok->data, tok->len, &p) < 0)
                return SEC_E_INVALID_TOKEN;
        if (!p.v[DP_REALM] || !p.v[DP_NONCE] || p.len[DP_NONCE] == 0 || p.len[DP_NONCE] > 1024 ||
            p.len[DP_REALM] > 1024 || (p.v[DP_OPAQUE] && p.len[DP_OPAQUE] > 1024)) {
                st = SEC_E_INVALID_TOKEN;
                goto out;
        }
        if (p.v[DP_ALGORITHM] && digest_alg_parse(p.v[DP_ALGORITHM], p.len[DP_ALGORITHM], &alg, &sess) < 0) {
                st = SEC_E_ALGORITHM_MISMATCH;
                goto out;
        }
        /* Policy: a challenge weaker than the credential allows is refused. */
        if (alg == DIGEST_MD5 && !cred->md5_allowed) {
                st = SEC_E_ALGORITHM_MISMATCH;
                goto out;
        }
        /* RFC 2069 (no qop) has no client nonce: refused as too weak. */
        if (!p.v[DP_QOP]) {
                st = SEC_E_QOP_NOT_SUPPORTED;
                goto out;
        }
        want_int = s->req_flags & (ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT);
        if (want_int && list_has(p.v[DP_QOP], "auth-int"))
                c->auth_int = true;
        else if (list_has(p.v[DP_QOP], "auth"))
                c->auth_int = false;
        else {
                st = SEC_E_QOP_NOT_SUPPORTED;
                goto out;
        }

        pthread_mutex_lock(&cred->lock);
        st = digest_cred_compute_ha1(cred, p.v[DP_REALM]);
        if (st == SEC_E_OK)
                memcpy(c->ha1, cred->ha1[alg], sizeof(c->ha1));
        pthread_mutex_unlock(&cred->lock);
        if (st != SEC_E_OK)
                goto out;

        /* Not answerable again until the new challenge is fully taken. */
        c->challenged = false;
        free(c->realm);
        free(c->nonce);
        free(c->opaque);
        c->realm = strdup(p.v[DP_REALM]);
        c->nonce = strdup(p.v[DP_NONCE]);
        c->opaque = p.v[DP_OPAQUE] ? strdup(p.v[DP_OPAQUE]) : NULL;
        if (!c->realm || !c->nonce || (p.v[DP_OPAQUE] && !c->opaque)) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        c->alg = alg;
        c->sess = sess;
        c->userhash = p.v[DP_USERHASH] && !strcasecmp(p.v[DP_USERHASH], "true");
        c->nc = 0;
        c->challenged = true;
out:
        digest_params_done(&p);
        return st;
}

/* One Authorization value for the next nonce count. */
static SECURITY_STATUS client_respond(PkgStep *s, DigestCtx *c) {
        char method[33], body[DIGEST_HEX_MAX + 1], nc[9], cnonce[33], resp[DIGEST_HEX_MAX + 1];
        uint8_t rnd[16];
        OutBuf o = {};
        DigestInput in;
        SECURITY_STATUS st;
        size_t resp_off = 0;
        bool defer;

        st = buffer_method(s, method, sizeof(method));
        if (st != SEC_E_OK)
                return st;
        free(c->pending_token);
        c->pending_token = NULL;
        defer = c->auth_int && body_absent(s, 1);
        if (c->auth_int && !defer) {
                st = buffer_body_hash(s, 1, c->alg, body);
                if (st != SEC_E_OK)
                        return st;
        }
        if (c->nc == UINT32_MAX)
                return SEC_E_CONTEXT_EXPIRED;
        c->nc++;
        snprintf(nc, sizeof(nc), "%08x", c->nc);
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
                return SEC_E_INTERNAL_ERROR;
        digest_hex_encode(rnd, sizeof(rnd), cnonce);
        in = (DigestInput) {
                .alg = c->alg, .sess = c->sess, .ha1 = c->ha1, .nonce = c->nonce, .nc = nc, .cnonce = cnonce,
                .qop = c->auth_int ? "auth-int" : "auth", .method = method, .uri = s->target,
                .body_hex = c->auth_int ? body : NULL,
        };
        if (defer) {
                /* A placeholder of the right length: CompleteAuthToken
                 * writes the response there once the body is known. */
                memset(resp, '0', digest_alg_hexlen(c->alg));
                resp[digest_alg_hexlen(c->alg)] = '\0';
        } else if (digest_response(&in, resp) < 0)
                return SEC_E_INTERNAL_ERROR;

        o.cap = DIGEST_MAX_TOKEN;
        o.p = malloc(o.cap);
        if (!o.p)
                return SEC_E_INSUFFICIENT_MEMORY;
        ob_str(&o, "Digest ");
        if (c->userhash) {
                char uh[DIGEST_HEX_MAX + 1];
                const char *p[2] = { c->user, c->realm };
                size_t l[2] = { strlen(c->user), strlen(c->realm) };
                if (digest_hash_hex(c->alg, p, l, 2, uh) < 0)
                        o.failed = true;
                ob_str(&o, "username=\"");
                ob_str(&o, uh);
                ob_str(&o, "\", ");
        } else if (user_is_plain(c->user)) {
                ob_str(&o, "username=");
                ob_quoted(&o, c->user);
                ob_str(&o, ", ");
        } else {
                /* RFC 7616 §3.4.4: username*=UTF-8''percent-encoded. */
                static const char hex[] = "0123456789ABCDEF";
                ob_str(&o, "username*=UTF-8''");
                for (const uint8_t *u = (const uint8_t *) c->user; *u; u++) {
                        if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || (*u >= '0' && *u <= '9') ||
                            strchr("!#$&+-.^_`|~", *u))
                                ob_add(&o, (const char *) u, 1);
                        else {
                                char e[3] = { '%', hex[*u >> 4], hex[*u & 15] };
                                ob_add(&o, e, 3);
                        }
                }
                ob_str(&o, ", ");
        }
        ob_str(&o, "realm=");
        ob_quoted(&o, c->realm);
        ob_str(&o, ", uri=");
        ob_quoted(&o, s->target);
        ob_str(&o, ", algorithm=");
        ob_str(&o, alg_name(c->alg, c->sess));
        ob_str(&o, ", nonce=");
        ob_quoted(&o, c->nonce);
        ob_str(&o, ", nc=");
        ob_str(&o, nc);
        ob_str(&o, ", cnonce=\"");
        ob_str(&o, cnonce);
        ob_str(&o, "\", qop=");
        ob_str(&o, c->auth_int ? "auth-int" : "auth");
        ob_str(&o, ", response=\"");
        resp_off = o.len;
        ob_str(&o, resp);
        ob_str(&o, "\"");
        if (c->opaque) {
                ob_str(&o, ", opaque=");
                ob_quoted(&o, c->opaque);
        }
        if (c->userhash)
                ob_str(&o, ", userhash=true");
        if (defer && !o.failed) {
                c->pending_token = malloc(o.len);
                c->pending_method = strdup(method);
                if (!c->pending_token || !c->pending_method) {
                        free(o.p);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                memcpy(c->pending_token, o.p, o.len);
                c->pending_len = o.len;
                c->pending_off = resp_off;
        }
        st = put_output(s, &o);
        free(o.p);
        if (st != SEC_E_OK)
                return st;
        free(c->last_uri);
        c->last_uri = strdup(s->target);
        if (!c->last_uri)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(c->last_cnonce, cnonce, sizeof(cnonce));
        memcpy(c->last_nc, nc, sizeof(nc));
        if (c->auth_int)
                memcpy(c->last_body, body, sizeof(body));
        c->done = true;
        c->flags = (s->req_flags & ISC_REQ_HTTP) | (c->auth_int ? ISC_RET_INTEGRITY : 0);
        s->ret_flags = c->flags;
        s->expiry = FILETIME_NEVER;
        if (defer) /* and then wait for Authentication-Info when mutual */
                return s->req_flags & ISC_REQ_MUTUAL_AUTH ? SEC_I_COMPLETE_AND_CONTINUE : SEC_I_COMPLETE_NEEDED;
        return SEC_E_OK;
}

/*
 * The server's Authentication-Info for our last response (RFC 7616 §3.5):
 * rspauth is the response digest with an empty method. A match is mutual
 * authentication: the server knows HA1 too.
 */
static SECURITY_STATUS client_check_rspauth(PkgStep *s, DigestCtx *c, const DigestParams *p) {
        char want[DIGEST_HEX_MAX + 1], got[DIGEST_HEX_MAX + 1];
        size_t hl = digest_alg_hexlen(c->alg);
        DigestInput in = {
                .alg = c->alg, .sess = c->sess, .ha1 = c->ha1, .nonce = c->nonce, .nc = c->last_nc,
                .cnonce = c->last_cnonce, .qop = c->auth_int ? "auth-int" : "auth", .method = "",
                .uri = c->last_uri, .body_hex = c->auth_int ? c->last_body : NULL,
        };

        if (!c->done || !c->last_uri)
                return SEC_E_OUT_OF_SEQUENCE;
        if (p->len[DP_RSPAUTH] != hl || (p->v[DP_CNONCE] && strcmp(p->v[DP_CNONCE], c->last_cnonce)) ||
            (p->v[DP_NC] && strcasecmp(p->v[DP_NC], c->last_nc)))
                return SEC_E_MUTUAL_AUTH_FAILED;
        for (size_t i = 0; i <= hl; i++)
                got[i] = i < hl ? (char) (p->v[DP_RSPAUTH][i] | 0x20) : '\0';
        if (digest_response(&in, want) < 0)
                return SEC_E_INTERNAL_ERROR;
        if (CRYPTO_memcmp(want, got, hl) != 0)
                return SEC_E_MUTUAL_AUTH_FAILED;
        c->flags |= ISC_RET_MUTUAL_AUTH;
        s->ret_flags = c->flags;
        s->expiry = FILETIME_NEVER;
        return SEC_E_OK;
}

SECURITY_STATUS digest_init_ctx(PkgStep *s) {
        DigestCred *cred = s->cred;
        DigestCtx *c = s->ctx;
        PkgBuffer *tok;
        SECURITY_STATUS st;
        bool created = false;

        /* The target is the request URI (SASL: the digest-uri): checked
         * before anything else. */
        if (!digest_uri_valid(s->target))
                return SEC_E_INVALID_PARAMETER;
        if (!(s->req_flags & ISC_REQ_HTTP))
                return digest_sasl_init(s);
        if (s->req_flags & ISC_REQ_CONFIDENTIALITY)
                return SEC_E_QOP_NOT_SUPPORTED; /* auth-conf is SASL only */
        if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                return SEC_E_NO_CREDENTIALS;
        if (c && c->server)
                return SEC_E_INVALID_HANDLE;

        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
                c->user = strdup(cred->user);
                if (!c->user) {
                        free(c);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                c->start = filetime_now();
                created = true;
        }

        tok = input_token(s);
        if (tok && !created) {
                /* An Authentication-Info value rather than a challenge? */
                DigestParams p;
                if (digest_params_parse(tok->data, tok->len, &p) == 0 && p.v[DP_RSPAUTH] && !p.v[DP_NONCE]) {
                        st = client_check_rspauth(s, c, &p);
                        digest_params_done(&p);
                        return st;
                }
                digest_params_done(&p);
        }
        if (tok)
                st = client_take_challenge(s, cred, c, tok);
        else
                st = c->challenged ? SEC_E_OK : SEC_I_CONTINUE_NEEDED;
        if (st == SEC_E_OK)
                st = client_respond(s, c);
        else if (st == SEC_I_CONTINUE_NEEDED) {
                /* No challenge yet: an empty token, as WDigest's first call. */
                s->ret_flags = s->req_flags & ISC_REQ_HTTP;
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

static SECURITY_STATUS server_challenge(PkgStep *s, DigestCtx *c, bool stale) {
        char nonce[NONCE_HEX_LEN + 1];
        OutBuf o = {};
        bool want_int = s->req_flags & (ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT);
        SECURITY_STATUS st;

        if (c->store->alg == DIGEST_MD5 && !digest_g_md5)
                return SEC_E_ALGORITHM_MISMATCH; /* the policy forbids what this store offers */
        if (digest_nonce_new(c->store, nonce) < 0)
                return SEC_E_INTERNAL_ERROR;
        free(c->nonce);
        c->nonce = strdup(nonce);
        if (!c->nonce)
                return SEC_E_INSUFFICIENT_MEMORY;
        o.cap = 4096;
        o.p = malloc(o.cap);
        if (!o.p)
                return SEC_E_INSUFFICIENT_MEMORY;
        ob_str(&o, "Digest realm=");
        ob_quoted(&o, c->store->realm);
        ob_str(&o, want_int ? ", qop=\"auth,auth-int\"" : ", qop=\"auth\"");
        ob_str(&o, ", algorithm=");
        ob_str(&o, alg_name(c->store->alg, c->store->sess));
        ob_str(&o, ", nonce=\"");
        ob_str(&o, nonce);
        ob_str(&o, "\", opaque=\"");
        ob_str(&o, c->store->opaque);
        ob_str(&o, "\", charset=UTF-8");
        if (c->store->userhash)
                ob_str(&o, ", userhash=true");
        if (stale)
                ob_str(&o, ", stale=true");
        st = put_output(s, &o);
        free(o.p);
        if (st != SEC_E_OK)
                return st;
        c->challenged = true;
        s->ret_flags = s->req_flags & ASC_REQ_HTTP;
        s->expiry = FILETIME_NEVER;
        return SEC_I_CONTINUE_NEEDED;
}

/* username*=UTF-8''%xx... -> plain UTF-8 (RFC 8187), bounded. */
static bool decode_ext_value(const char *v, size_t len, char *out, size_t cap) {
        size_t n = 0;

        if (len < 7 || strncasecmp(v, "UTF-8'", 6))
                return false;
        v += 6, len -= 6;
        {
                const char *q = memchr(v, '\'', len); /* language tag */
                if (!q)
                        return false;
                len -= (size_t) (q + 1 - v);
                v = q + 1;
        }
        for (size_t i = 0; i < len; i++) {
                char ch = v[i];
                if (ch == '%') {
                        int hi, lo;
                        if (len - i < 3 || (hi = digest_hex_val(v[i + 1])) < 0 || (lo = digest_hex_val(v[i + 2])) < 0)
                                return false;
                        ch = (char) (hi << 4 | lo);
                        i += 2;
                }
                if (ch == '\0' || n + 1 >= cap)
                        return false;
                out[n++] = ch;
        }
        out[n] = '\0';
        return n > 0;
}

/* Keep what digest_http_verify() needs to run again with the body: the token
 * and the PKG_PARAMS method, request-URI and realm, in their places. */
static SECURITY_STATUS server_defer(PkgStep *s, DigestCtx *c) {
        PkgBuffer *src[5] = {
                digest_nth_buffer(s->in, s->n_in, SECBUFFER_TOKEN, 0),
                digest_nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, 0),
                digest_nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, 1),
                NULL, /* H(entity-body): CompleteAuthToken's */
                digest_nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, 3),
        };
        PkgBuffer *b = calloc(6, sizeof(*b));

        if (!b)
                return SEC_E_INSUFFICIENT_MEMORY;
        for (int i = 0; i < 5; i++) {
                b[i].type = i == 0 ? SECBUFFER_TOKEN : SECBUFFER_PKG_PARAMS;
                if (src[i] && src[i]->len > 0) {
                        b[i].data = malloc(src[i]->len);
                        if (!b[i].data) {
                                digest_pending_free(b);
                                return SEC_E_INSUFFICIENT_MEMORY;
                        }
                        memcpy(b[i].data, src[i]->data, src[i]->len);
                        b[i].len = b[i].cap = src[i]->len;
                }
        }
        digest_pending_free(c->pending_in);
        c->pending_in = b;
        s->ret_flags = s->req_flags & ASC_REQ_HTTP;
        return SEC_I_COMPLETE_NEEDED;
}

/*
 * Verify a response. The work after parsing does not depend on whether
 * the user exists: every user's key is compared, the HA1 of a missing
 * user is the store's random dummy, the comparison is constant-time.
 */
SECURITY_STATUS digest_http_verify(PkgStep *s, DigestCtx *c, const PkgBuffer *tok) {
        Store *store = c->store;
        DigestParams p;
        char method[33], body[DIGEST_HEX_MAX + 1], user[MAX_USER + 1], nc_s[9], expect[DIGEST_HEX_MAX + 1],
                got[DIGEST_HEX_MAX + 1];
        uint8_t raw[NONCE_RAW_LEN], key[32];
        const StoreUser *found = &store->dummy;
        DigestAlg alg = DIGEST_MD5;
        bool sess = false, auth_int, uh, match;
        unsigned long nc;
        NonceCheck nonce_state;
        PkgBuffer *uri_b, *realm_b;
        SECURITY_STATUS st;
        char *end;

        st = buffer_method(s, method, sizeof(method));
        if (st != SEC_E_OK)
                return st;
        if (digest_params_parse(tok->data, tok->len, &p) < 0)
                return SEC_E_INVALID_TOKEN;
        st = SEC_E_INVALID_TOKEN;
        if (!p.v[DP_REALM] || !p.v[DP_NONCE] || !p.v[DP_URI] || !p.v[DP_RESPONSE] || !p.v[DP_QOP] ||
            !p.v[DP_NC] || !p.v[DP_CNONCE] || p.len[DP_CNONCE] == 0 || p.len[DP_CNONCE] > 256 ||
            !(p.v[DP_USERNAME] || p.v[DP_USERNAME_EXT]) || (p.v[DP_USERNAME] && p.v[DP_USERNAME_EXT]))
                goto out;
        if (p.v[DP_ALGORITHM] && digest_alg_parse(p.v[DP_ALGORITHM], p.len[DP_ALGORITHM], &alg, &sess) < 0)
                goto out;
        if (alg != store->alg || sess != store->sess || (alg == DIGEST_MD5 && !digest_g_md5)) {
                st = SEC_E_ALGORITHM_MISMATCH;
                goto out;
        }
        if (!strcasecmp(p.v[DP_QOP], "auth"))
                auth_int = false;
        else if (!strcasecmp(p.v[DP_QOP], "auth-int"))
                auth_int = true;
        else {
                st = SEC_E_QOP_NOT_SUPPORTED;
                goto out;
        }
        if (p.len[DP_NC] != 8 || !digest_is_hex_str(p.v[DP_NC], 8))
                goto out;
        nc = strtoul(p.v[DP_NC], &end, 16);
        if (nc == 0)
                goto out;
        snprintf(nc_s, sizeof(nc_s), "%s", p.v[DP_NC]);
        if (!digest_uri_valid(p.v[DP_URI]) || p.len[DP_RESPONSE] != digest_alg_hexlen(alg) ||
            !digest_is_hex_str(p.v[DP_RESPONSE], p.len[DP_RESPONSE]))
                goto out;
        for (size_t i = 0; i < p.len[DP_CNONCE]; i++)
                if (p.v[DP_CNONCE][i] == '"' || (uint8_t) p.v[DP_CNONCE][i] < 0x20)
                        goto out;

        st = SEC_E_LOGON_DENIED;
        if (strcmp(p.v[DP_REALM], store->realm) != 0)
                goto out;
        if (p.v[DP_OPAQUE] && strcmp(p.v[DP_OPAQUE], store->opaque) != 0)
                goto out;
        realm_b = digest_nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, 3);
        if (realm_b && realm_b->len > 0) {
                /* The realm parameter: UTF-16LE (the W API) or bytes. */
                char r[1025];
                size_t n = 0;
                bool wide = realm_b->len % 2 == 0 && realm_b->len >= 2 && realm_b->data[1] == 0;
                for (size_t i = 0; i < realm_b->len && n < sizeof(r) - 1; i += wide ? 2 : 1) {
                        if (realm_b->data[i] == 0)
                                break;
                        r[n++] = (char) realm_b->data[i];
                }
                r[n] = '\0';
                if (strcmp(r, store->realm) != 0)
                        goto out;
        }
        /* The URI the server saw must be the one the client hashed. */
        uri_b = digest_nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, 1);
        if (uri_b && uri_b->len > 0) {
                size_t n = strnlen((const char *) uri_b->data, uri_b->len);
                if (n != p.len[DP_URI] || memcmp(uri_b->data, p.v[DP_URI], n) != 0)
                        goto out;
        }
        nonce_state = digest_nonce_check(store, p.v[DP_NONCE], p.len[DP_NONCE], raw);
        if (nonce_state == NONCE_BAD)
                goto out;
        if (auth_int && body_absent(s, 2)) {
                st = server_defer(s, c);
                goto out;
        }
        if (auth_int) {
                st = buffer_body_hash(s, 2, alg, body);
                if (st != SEC_E_OK)
                        goto out;
                st = SEC_E_LOGON_DENIED;
        }

        /* Who: a plain name, an ext-value, or H(user:realm). */
        uh = p.v[DP_USERHASH] && !strcasecmp(p.v[DP_USERHASH], "true");
        if (p.v[DP_USERNAME_EXT]) {
                if (!decode_ext_value(p.v[DP_USERNAME_EXT], p.len[DP_USERNAME_EXT], user, sizeof(user)))
                        goto out;
        } else if (p.len[DP_USERNAME] <= MAX_USER)
                memcpy(user, p.v[DP_USERNAME], p.len[DP_USERNAME] + 1);
        else
                user[0] = '\0';
        if (digest_name_key(user, strlen(user), key) < 0) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        for (size_t i = 0; i < store->n_users; i++) {
                const StoreUser *u = &store->users[i];
                bool eq = uh ? strlen(user) == digest_alg_hexlen(alg) &&
                                       CRYPTO_memcmp(user, u->userhash[alg], digest_alg_hexlen(alg)) == 0
                             : CRYPTO_memcmp(key, u->key, 32) == 0;
                /* Select without branching on the match. */
                uintptr_t m = (uintptr_t) 0 - (uintptr_t) (eq && u->ha1[alg][0]);
                found = (const StoreUser *) (((uintptr_t) u & m) | ((uintptr_t) found & ~m));
        }
        {
                DigestInput in = {
                        .alg = alg, .sess = sess, .ha1 = found->ha1[alg], .nonce = p.v[DP_NONCE], .nc = nc_s,
                        .cnonce = p.v[DP_CNONCE], .qop = auth_int ? "auth-int" : "auth", .method = method,
                        .uri = p.v[DP_URI], .body_hex = auth_int ? body : NULL,
                };
                if (digest_response(&in, expect) < 0) {
                        st = SEC_E_INTERNAL_ERROR;
                        goto out;
                }
        }
        for (size_t i = 0; i <= p.len[DP_RESPONSE]; i++)
                got[i] = p.v[DP_RESPONSE][i] ? (char) (p.v[DP_RESPONSE][i] | 0x20) : '\0'; /* hex, lowercase */
        match = CRYPTO_memcmp(expect, got, p.len[DP_RESPONSE]) == 0 && found != &store->dummy;
        if (!match)
                goto out;

        /* The response is right; now is it in time, and new? */
        if (nonce_state == NONCE_STALE) {
                st = SEC_E_CONTEXT_EXPIRED;
                goto out;
        }
        if (!digest_nonce_count_take(store, raw, (uint32_t) nc)) {
                st = SEC_E_OUT_OF_SEQUENCE;
                goto out;
        }

        free(c->user);
        c->user = strdup(found->name);
        if (!c->user) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        c->alg = alg;
        c->sess = sess;
        c->auth_int = auth_int;
        c->done = true;
        c->flags = (s->req_flags & ASC_REQ_HTTP) | (auth_int ? ASC_RET_INTEGRITY : 0);
        s->ret_flags = c->flags;
        s->expiry = FILETIME_NEVER;

        /* Authentication-Info (RFC 7616 §3.5) if the caller gave a slot. */
        if (digest_nth_buffer(s->out, s->n_out, SECBUFFER_TOKEN, 0)) {
                char rsp[DIGEST_HEX_MAX + 1];
                OutBuf o = { .cap = 2048 };
                DigestInput in = {
                        .alg = alg, .sess = sess, .ha1 = found->ha1[alg], .nonce = p.v[DP_NONCE], .nc = nc_s,
                        .cnonce = p.v[DP_CNONCE], .qop = auth_int ? "auth-int" : "auth", .method = "",
                        .uri = p.v[DP_URI], .body_hex = auth_int ? body : NULL,
                };
                o.p = malloc(o.cap);
                if (!o.p || digest_response(&in, rsp) < 0) {
                        free(o.p);
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                ob_str(&o, "rspauth=\"");
                ob_str(&o, rsp);
                ob_str(&o, "\", qop=");
                ob_str(&o, auth_int ? "auth-int" : "auth");
                ob_str(&o, ", nc=");
                ob_str(&o, nc_s);
                ob_str(&o, ", cnonce=");
                ob_quoted(&o, p.v[DP_CNONCE]);
                st = put_output(s, &o);
                free(o.p);
                if (st != SEC_E_OK)
                        goto out;
        }
        st = SEC_E_OK;
out:
        explicit_bzero(expect, sizeof(expect));
        digest_params_done(&p);
        return st;
}

SECURITY_STATUS digest_accept_ctx(PkgStep *s) {
        DigestCred *cred = s->cred;
        DigestCtx *c = s->ctx;
        PkgBuffer *tok;
        SECURITY_STATUS st;
        bool created = false;

        if (!(s->req_flags & ASC_REQ_HTTP))
                return digest_sasl_accept(s);
        if (s->req_flags & ASC_REQ_CONFIDENTIALITY)
                return SEC_E_SECURITY_QOS_FAILED;
        if (c && !c->server)
                return SEC_E_INVALID_HANDLE;
        if (c && c->done)
                return (SECURITY_STATUS) STATUS_LOGON_FAILURE; /* WDigest: the context is already established */
        if (!c && (!cred || !(cred->use & SECPKG_CRED_INBOUND) || !cred->store))
                return SEC_E_NO_CREDENTIALS;

        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
                c->server = true;
                c->store = digest_store_ref(cred->store);
                c->start = filetime_now();
                created = true;
        }
        tok = input_token(s);
        st = tok ? digest_http_verify(s, c, tok) : server_challenge(s, c, s->req_flags & ASC_REQ_STALE);
        if (created && st < 0) {
                digest_ctx_free(c);
                return st;
        }
        s->ctx = c;
        return st;
}
