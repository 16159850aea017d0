/* SPDX-License-Identifier: MIT */
/*
 * MS-CSSP's DER structures (tsrequest.h). The reader takes definite
 * lengths only (DER), at most four length bytes, and refuses anything
 * that runs past its parent; the writer builds each element from its
 * children, inside out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "packages/credssp/tsrequest.h"

#define TAG_INTEGER 0x02
#define TAG_OCTETS 0x04
#define TAG_SEQUENCE 0x30
#define TAG_CTX(n) (0xA0 | (n))
#define TS_MAX_LEN (1u << 24)

typedef struct Reader {
        const uint8_t *p, *end;
} Reader;

/* Header at r->p: tag and length; on success r->p is at the value. */
static int get_header(Reader *r, uint8_t *ret_tag, size_t *ret_len) {
        size_t avail = (size_t) (r->end - r->p), len, n;

        if (avail < 2)
                return -EBADMSG;
        *ret_tag = r->p[0];
        len = r->p[1];
        r->p += 2;
        avail -= 2;
        if (len & 0x80) {
                n = len & 0x7f;
                if (n == 0 || n > 4 || n > avail)
                        return -EBADMSG;
                len = 0;
                for (size_t i = 0; i < n; i++)
                        len = len << 8 | r->p[i];
                r->p += n;
                avail -= n;
        }
        if (len > avail || len > TS_MAX_LEN)
                return -EBADMSG;
        *ret_len = len;
        return 0;
}

/* The element of tag `tag` at r->p: its value in *ret, r->p after it. */
static int get(Reader *r, uint8_t tag, TsBytes *ret) {
        uint8_t t;
        size_t len;

        if (get_header(r, &t, &len) < 0 || t != tag)
                return -EBADMSG;
        ret->p = r->p;
        ret->len = len;
        r->p += len;
        return 0;
}

/* An INTEGER that fits in 32 bits, signed or not: its 32 bits. */
static int get_int(Reader *r, uint32_t *ret, bool *ret_negative) {
        TsBytes v;
        uint64_t x = 0;

        if (get(r, TAG_INTEGER, &v) < 0 || v.len == 0 || v.len > 5)
                return -EBADMSG;
        if (v.len == 5 && v.p[0] != 0)
                return -EBADMSG;
        *ret_negative = v.p[0] & 0x80;
        if (*ret_negative)
                x = UINT64_MAX;
        for (size_t i = 0; i < v.len; i++)
                x = x << 8 | v.p[i];
        *ret = (uint32_t) x;
        return 0;
}

/* [n] EXPLICIT around one element of tag `tag`, which must fill it. */
static int get_explicit(Reader *r, uint8_t tag, TsBytes *ret) {
        TsBytes outer;
        Reader in;

        if (get(r, r->p < r->end ? r->p[0] : 0, &outer) < 0)
                return -EBADMSG;
        in = (Reader) { outer.p, outer.p + outer.len };
        if (get(&in, tag, ret) < 0 || in.p != in.end)
                return -EBADMSG;
        return 0;
}

static int get_explicit_int(Reader *r, uint32_t *ret, bool *ret_negative) {
        TsBytes outer;
        Reader in;

        if (get(r, r->p < r->end ? r->p[0] : 0, &outer) < 0)
                return -EBADMSG;
        in = (Reader) { outer.p, outer.p + outer.len };
        if (get_int(&in, ret, ret_negative) < 0 || in.p != in.end)
                return -EBADMSG;
        return 0;
}

int tsreq_element_len(const uint8_t *p, size_t len, size_t max, size_t *ret_len) {
        size_t hdr = 2, body;

        *ret_len = 0;
        if (len < 1)
                return 1;
        if (p[0] != TAG_SEQUENCE)
                return -EBADMSG;
        if (len < 2)
                return 1;
        body = p[1];
        if (body & 0x80) {
                size_t n = body & 0x7f;
                if (n == 0 || n > 4)
                        return -EBADMSG;
                if (len < 2 + n)
                        return 1;
                body = 0;
                for (size_t i = 0; i < n; i++)
                        body = body << 8 | p[2 + i];
                hdr += n;
        }
        if (body > max || hdr + body > max)
                return -EBADMSG;
        *ret_len = hdr + body;
        return len >= hdr + body ? 0 : 1;
}

/* negoTokens: SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }; the
 * first entry is kept (Windows sends one), the others must be well formed. */
static int get_nego(Reader *r, TsBytes *ret) {
        TsBytes outer, seq_of, item, tok;
        Reader in, list;
        bool first = true;

        if (get(r, TAG_CTX(1), &outer) < 0)
                return -EBADMSG;
        in = (Reader) { outer.p, outer.p + outer.len };
        if (get(&in, TAG_SEQUENCE, &seq_of) < 0 || in.p != in.end)
                return -EBADMSG;
        list = (Reader) { seq_of.p, seq_of.p + seq_of.len };
        if (list.p == list.end)
                return -EBADMSG;
        while (list.p < list.end) {
                Reader it;
                if (get(&list, TAG_SEQUENCE, &item) < 0)
                        return -EBADMSG;
                it = (Reader) { item.p, item.p + item.len };
                if (it.p >= it.end || it.p[0] != TAG_CTX(0) || get_explicit(&it, TAG_OCTETS, &tok) < 0 ||
                    it.p != it.end)
                        return -EBADMSG;
                if (first)
                        *ret = tok;
                first = false;
        }
        return 0;
}

int tsreq_parse(const uint8_t *p, size_t len, TsRequest *ret) {
        Reader top = { p, p + len }, r;
        TsBytes seq;
        int last = -1;
        bool neg;

        memset(ret, 0, sizeof(*ret));
        if (!p || get(&top, TAG_SEQUENCE, &seq) < 0 || top.p != top.end)
                return -EBADMSG;
        r = (Reader) { seq.p, seq.p + seq.len };
        /* version [0] comes first and is required. */
        if (r.p >= r.end || r.p[0] != TAG_CTX(0) || get_explicit_int(&r, &ret->version, &neg) < 0 || neg ||
            ret->version == 0)
                return -EBADMSG;
        last = 0;
        while (r.p < r.end) {
                int tag = r.p[0];
                int n = tag - TAG_CTX(0);

                /* Fields in order, each at most once. */
                if (n <= last || n > 5)
                        return -EBADMSG;
                last = n;
                switch (n) {
                case 1:
                        if (get_nego(&r, &ret->nego_token) < 0)
                                return -EBADMSG;
                        ret->has_nego = true;
                        break;
                case 2:
                        if (get_explicit(&r, TAG_OCTETS, &ret->auth_info) < 0)
                                return -EBADMSG;
                        ret->has_auth_info = true;
                        break;
                case 3:
                        if (get_explicit(&r, TAG_OCTETS, &ret->pub_key_auth) < 0)
                                return -EBADMSG;
                        ret->has_pub_key_auth = true;
                        break;
                case 4:
                        if (get_explicit_int(&r, &ret->error_code, &neg) < 0)
                                return -EBADMSG;
                        ret->has_error = true;
                        break;
                case 5:
                        if (get_explicit(&r, TAG_OCTETS, &ret->nonce) < 0 || ret->nonce.len != TSREQ_NONCE_LEN)
                                return -EBADMSG;
                        ret->has_nonce = true;
                        break;
                }
        }
        return 0;
}

int ts_creds_parse(const uint8_t *p, size_t len, uint32_t *ret_type, TsBytes *ret_creds) {
        Reader top = { p, p + len }, r;
        TsBytes seq;
        bool neg;

        if (!p || get(&top, TAG_SEQUENCE, &seq) < 0 || top.p != top.end)
                return -EBADMSG;
        r = (Reader) { seq.p, seq.p + seq.len };
        if (r.p >= r.end || r.p[0] != TAG_CTX(0) || get_explicit_int(&r, ret_type, &neg) < 0 || neg)
                return -EBADMSG;
        if (r.p >= r.end || r.p[0] != TAG_CTX(1) || get_explicit(&r, TAG_OCTETS, ret_creds) < 0 || r.p != r.end)
                return -EBADMSG;
        return 0;
}

int ts_password_parse(const uint8_t *p, size_t len, TsBytes *ret_domain, TsBytes *ret_user, TsBytes *ret_password) {
        Reader top = { p, p + len }, r;
        TsBytes seq, *out[3] = { ret_domain, ret_user, ret_password };

        if (!p || get(&top, TAG_SEQUENCE, &seq) < 0 || top.p != top.end)
                return -EBADMSG;
        r = (Reader) { seq.p, seq.p + seq.len };
        for (int i = 0; i < 3; i++)
                if (r.p >= r.end || r.p[0] != TAG_CTX(i) || get_explicit(&r, TAG_OCTETS, out[i]) < 0 ||
                    out[i]->len % 2)
                        return -EBADMSG;
        return r.p == r.end ? 0 : -EBADMSG;
}

/* ---- writer ---- */

typedef struct Buf {
        uint8_t *p;
        size_t len;
        bool failed;
} Buf;

static size_t header_len(size_t len) {
        return len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : len < 0x1000000 ? 5 : 6;
}

/* A new buffer holding tag, length and the value `v`. */
static Buf tlv(uint8_t tag, const uint8_t *v, size_t len) {
        size_t h = header_len(len);
        Buf b = { malloc(h + len), h + len, false };
        size_t i = 0;

        if (!b.p) {
                b.failed = true;
                b.len = 0;
                return b;
        }
        b.p[i++] = tag;
        if (len < 0x80)
                b.p[i++] = (uint8_t) len;
        else {
                size_t n = h - 2;
                b.p[i++] = (uint8_t) (0x80 | n);
                for (size_t k = n; k > 0; k--)
                        b.p[i++] = (uint8_t) (len >> (8 * (k - 1)));
        }
        if (len)
                memcpy(b.p + i, v, len);
        return b;
}

static void buf_wipe(Buf *b) {
        if (b->p) {
                explicit_bzero(b->p, b->len);
                free(b->p);
        }
        *b = (Buf) {};
}

/* Wrap b in tag (b is consumed). */
static Buf wrap(uint8_t tag, Buf b) {
        Buf r;

        if (b.failed)
                return b;
        r = tlv(tag, b.p, b.len);
        buf_wipe(&b);
        return r;
}

/* Append b to acc (b is consumed). */
static void append(Buf *acc, Buf b) {
        uint8_t *n;

        if (acc->failed || b.failed) {
                acc->failed = true;
                buf_wipe(&b);
                return;
        }
        n = malloc(acc->len + b.len ? acc->len + b.len : 1);
        if (!n) {
                acc->failed = true;
                buf_wipe(&b);
                return;
        }
        if (acc->len)
                memcpy(n, acc->p, acc->len);
        memcpy(n + acc->len, b.p, b.len);
        if (acc->p) {
                explicit_bzero(acc->p, acc->len);
                free(acc->p);
        }
        acc->p = n;
        acc->len += b.len;
        buf_wipe(&b);
}

/* INTEGER of a signed 32-bit value, minimal two's complement. */
static Buf integer(int64_t v) {
        uint8_t be[5];
        size_t n = 5;

        for (int i = 4; i >= 0; i--, v >>= 8)
                be[i] = (uint8_t) v;
        /* Strip redundant leading bytes. */
        size_t s = 0;
        while (s < n - 1 && ((be[s] == 0 && !(be[s + 1] & 0x80)) || (be[s] == 0xff && (be[s + 1] & 0x80))))
                s++;
        return tlv(TAG_INTEGER, be + s, n - s);
}

static int finish(Buf b, uint8_t **ret, size_t *ret_len) {
        if (b.failed) {
                buf_wipe(&b);
                return -ENOMEM;
        }
        *ret = b.p;
        *ret_len = b.len;
        return 0;
}

int tsreq_encode(const TsRequest *r, uint8_t **ret, size_t *ret_len) {
        Buf body = {};

        if (r->has_nonce && r->nonce.len != TSREQ_NONCE_LEN)
                return -EINVAL;
        append(&body, wrap(TAG_CTX(0), integer(r->version)));
        if (r->has_nego)
                append(&body, wrap(TAG_CTX(1),
                                   wrap(TAG_SEQUENCE, wrap(TAG_SEQUENCE, wrap(TAG_CTX(0), tlv(TAG_OCTETS, r->nego_token.p,
                                                                                          r->nego_token.len))))));
        if (r->has_auth_info)
                append(&body, wrap(TAG_CTX(2), tlv(TAG_OCTETS, r->auth_info.p, r->auth_info.len)));
        if (r->has_pub_key_auth)
                append(&body, wrap(TAG_CTX(3), tlv(TAG_OCTETS, r->pub_key_auth.p, r->pub_key_auth.len)));
        if (r->has_error)
                append(&body, wrap(TAG_CTX(4), integer((int32_t) r->error_code)));
        if (r->has_nonce)
                append(&body, wrap(TAG_CTX(5), tlv(TAG_OCTETS, r->nonce.p, r->nonce.len)));
        return finish(wrap(TAG_SEQUENCE, body), ret, ret_len);
}

int ts_password_encode(TsBytes domain, TsBytes user, TsBytes password, uint8_t **ret, size_t *ret_len) {
        Buf pw = {}, creds = {};

        append(&pw, wrap(TAG_CTX(0), tlv(TAG_OCTETS, domain.p, domain.len)));
        append(&pw, wrap(TAG_CTX(1), tlv(TAG_OCTETS, user.p, user.len)));
        append(&pw, wrap(TAG_CTX(2), tlv(TAG_OCTETS, password.p, password.len)));
        pw = wrap(TAG_SEQUENCE, pw);
        append(&creds, wrap(TAG_CTX(0), integer(TS_CRED_PASSWORD)));
        append(&creds, wrap(TAG_CTX(1), wrap(TAG_OCTETS, pw)));
        return finish(wrap(TAG_SEQUENCE, creds), ret, ret_len);
}
