/* SPDX-License-Identifier: MIT */
/*
 * The DER subset SPNEGO needs: definite lengths up to 2^32-1, no
 * indefinite forms, one TLV at a time over a (pointer, remaining) pair.
 */
#include "packages/negotiate/spnego.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t oid_spnego[] = { 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
static const uint8_t oid_krb5[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02 };
static const uint8_t oid_krb5_ms[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02 };
static const uint8_t oid_ntlm[] = { 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a };

const SpnegoBytes spnego_oid_krb5 = { oid_krb5, sizeof(oid_krb5) };
const SpnegoBytes spnego_oid_krb5_ms = { oid_krb5_ms, sizeof(oid_krb5_ms) };
const SpnegoBytes spnego_oid_ntlm = { oid_ntlm, sizeof(oid_ntlm) };

/* ---- reader ---- */

typedef struct Der {
        const uint8_t *p;
        size_t len;
} Der;

/* One TLV from the front of *d: tag, value, and the whole element. */
static bool der_next(Der *d, uint8_t *ret_tag, Der *ret_val, Der *ret_all) {
        size_t n, hdr = 2;
        uint64_t l;

        if (d->len < 2)
                return false;
        if ((d->p[0] & 0x1f) == 0x1f)
                return false; /* multi-byte tags never occur in SPNEGO */
        l = d->p[1];
        if (l & 0x80) {
                n = l & 0x7f;
                if (n == 0 || n > 4 || d->len - 2 < n)
                        return false;
                l = 0;
                for (size_t i = 0; i < n; i++)
                        l = l << 8 | d->p[2 + i];
                hdr += n;
        }
        if (l > d->len - hdr)
                return false;
        *ret_tag = d->p[0];
        if (ret_val)
                *ret_val = (Der) { d->p + hdr, (size_t) l };
        if (ret_all)
                *ret_all = (Der) { d->p, hdr + (size_t) l };
        d->p += hdr + l;
        d->len -= hdr + l;
        return true;
}

/* [n] EXPLICIT wrapping one element of `inner_tag`. */
static bool der_explicit(Der v, uint8_t inner_tag, Der *ret_val, Der *ret_all) {
        uint8_t tag;
        if (!der_next(&v, &tag, ret_val, ret_all) || tag != inner_tag || v.len != 0)
                return false;
        return true;
}

static bool parse_init(Der body, SpnegoToken *t) {
        Der seq, f, v, all;
        uint8_t tag, last = 0;

        if (!der_next(&body, &tag, &seq, NULL) || tag != 0x30 || body.len != 0)
                return false;
        t->init = true;
        while (seq.len) {
                if (!der_next(&seq, &tag, &f, NULL))
                        return false;
                /* DER: each field at most once, in tag order. A second
                 * mechTypes would let the list the MIC covers differ
                 * from the list the mechanism is chosen from. */
                if (tag <= last)
                        return false;
                last = tag;
                switch (tag) {
                case 0xa0: {
                        Der list;
                        if (!der_explicit(f, 0x30, &list, &all))
                                return false;
                        t->mech_types = (SpnegoBytes) { all.p, all.len };
                        while (list.len) {
                                Der oid;
                                if (!der_next(&list, &tag, NULL, &oid) || tag != 0x06)
                                        return false;
                                if (t->n_mechs < SPNEGO_MAX_MECHS)
                                        t->mechs[t->n_mechs++] = (SpnegoBytes) { oid.p, oid.len };
                        }
                        break;
                }
                case 0xa1: /* reqFlags: ignored, as Windows does */
                        break;
                case 0xa2:
                        if (!der_explicit(f, 0x04, &v, NULL))
                                return false;
                        t->token = (SpnegoBytes) { v.p, v.len };
                        break;
                case 0xa3:
                        /* mechListMIC, or Windows' negHints in a NegTokenInit2 */
                        if (der_explicit(f, 0x04, &v, NULL))
                                t->mic = (SpnegoBytes) { v.p, v.len };
                        break;
                case 0xa4:
                        if (!der_explicit(f, 0x04, &v, NULL))
                                return false;
                        t->mic = (SpnegoBytes) { v.p, v.len };
                        break;
                default:
                        return false;
                }
        }
        return t->n_mechs > 0;
}

static bool parse_resp(Der body, SpnegoToken *t) {
        Der seq, f, v, all;
        uint8_t tag, last = 0;

        if (!der_next(&body, &tag, &seq, NULL) || tag != 0x30 || body.len != 0)
                return false;
        t->init = false;
        while (seq.len) {
                if (!der_next(&seq, &tag, &f, NULL))
                        return false;
                /* DER: each field at most once, in tag order. A second
                 * mechTypes would let the list the MIC covers differ
                 * from the list the mechanism is chosen from. */
                if (tag <= last)
                        return false;
                last = tag;
                switch (tag) {
                case 0xa0:
                        if (!der_explicit(f, 0x0a, &v, NULL) || v.len != 1 || v.p[0] > 3)
                                return false;
                        t->state = v.p[0];
                        break;
                case 0xa1:
                        if (!der_explicit(f, 0x06, &v, &all))
                                return false;
                        t->supported = (SpnegoBytes) { all.p, all.len };
                        break;
                case 0xa2:
                        if (!der_explicit(f, 0x04, &v, NULL))
                                return false;
                        t->token = (SpnegoBytes) { v.p, v.len };
                        break;
                case 0xa3:
                        if (!der_explicit(f, 0x04, &v, NULL))
                                return false;
                        t->mic = (SpnegoBytes) { v.p, v.len };
                        break;
                default:
                        return false;
                }
        }
        return true;
}

int spnego_parse(const uint8_t *p, size_t len, SpnegoToken *ret) {
        Der d = { p, len }, v, oid;
        uint8_t tag;

        *ret = (SpnegoToken) { .state = SPNEGO_NO_STATE };
        if (!der_next(&d, &tag, &v, NULL) || d.len != 0)
                return -EBADMSG;
        if (tag == 0x60) {
                /* [APPLICATION 0] { thisMech, NegotiationToken } */
                if (!der_next(&v, &tag, NULL, &oid) || tag != 0x06 || oid.len != sizeof(oid_spnego) ||
                    memcmp(oid.p, oid_spnego, sizeof(oid_spnego)) != 0)
                        return -EBADMSG;
                if (!der_next(&v, &tag, &d, NULL) || tag != 0xa0 || v.len != 0)
                        return -EBADMSG;
                return parse_init(d, ret) ? 0 : -EBADMSG;
        }
        if (tag == 0xa0)
                return parse_init(v, ret) ? 0 : -EBADMSG;
        if (tag == 0xa1)
                return parse_resp(v, ret) ? 0 : -EBADMSG;
        return -EBADMSG;
}

bool spnego_oid_eq(SpnegoBytes a, SpnegoBytes b) {
        return a.len == b.len && a.len && !memcmp(a.p, b.p, a.len);
}

bool spnego_is_krb5(SpnegoBytes oid) {
        return spnego_oid_eq(oid, spnego_oid_krb5) || spnego_oid_eq(oid, spnego_oid_krb5_ms);
}

/* ---- writer ---- */

typedef struct Out {
        uint8_t *p;
        size_t len;
        bool failed;
} Out;

static size_t hdr_len(size_t n) {
        return n < 0x80 ? 2 : n <= 0xff ? 3 : n <= 0xffff ? 4 : n <= 0xffffff ? 5 : 6;
}

static uint8_t *put_hdr(uint8_t *w, uint8_t tag, size_t n) {
        *w++ = tag;
        if (n < 0x80)
                *w++ = (uint8_t) n;
        else {
                size_t k = hdr_len(n) - 2;
                *w++ = (uint8_t) (0x80 | k);
                for (size_t i = k; i > 0; i--)
                        *w++ = (uint8_t) (n >> (8 * (i - 1)));
        }
        return w;
}

/* Replace o with TAG { o }. */
static void wrap(Out *o, uint8_t tag) {
        size_t total;
        uint8_t *n, *w;

        if (o->failed)
                return;
        total = hdr_len(o->len) + o->len;
        n = malloc(total);
        if (!n) {
                o->failed = true;
                return;
        }
        w = put_hdr(n, tag, o->len);
        if (o->len)
                memcpy(w, o->p, o->len);
        free(o->p);
        o->p = n;
        o->len = total;
}

static void append(Out *o, const void *p, size_t n) {
        uint8_t *x;

        if (o->failed || n == 0)
                return;
        x = realloc(o->p, o->len + n);
        if (!x) {
                o->failed = true;
                return;
        }
        memcpy(x + o->len, p, n);
        o->p = x;
        o->len += n;
}

/* Append TAG { ITAG { bytes } } (an explicitly tagged primitive). */
static void append_field(Out *o, uint8_t tag, uint8_t itag, const uint8_t *p, size_t n) {
        Out f = {};
        append(&f, p, n);
        if (!n && !f.failed) {
                /* empty value: header only */
                f.p = malloc(1);
                if (!f.p)
                        f.failed = true;
        }
        if (itag)
                wrap(&f, itag);
        wrap(&f, tag);
        if (f.failed)
                o->failed = true;
        else
                append(o, f.p, f.len);
        free(f.p);
}

static int finish(Out *o, uint8_t **ret, size_t *ret_len) {
        if (o->failed) {
                free(o->p);
                return -ENOMEM;
        }
        *ret = o->p;
        *ret_len = o->len;
        return 0;
}

int spnego_mech_list(const SpnegoBytes *mechs, size_t n, uint8_t **ret, size_t *ret_len) {
        Out o = {};
        for (size_t i = 0; i < n; i++)
                append(&o, mechs[i].p, mechs[i].len);
        wrap(&o, 0x30);
        return finish(&o, ret, ret_len);
}

int spnego_encode_init(SpnegoBytes mech_types, SpnegoBytes token, uint8_t **ret, size_t *ret_len) {
        Out o = {}, seq = {};

        append_field(&seq, 0xa0, 0, mech_types.p, mech_types.len);
        if (token.len)
                append_field(&seq, 0xa2, 0x04, token.p, token.len);
        wrap(&seq, 0x30);
        wrap(&seq, 0xa0);
        append(&o, oid_spnego, sizeof(oid_spnego));
        if (seq.failed)
                o.failed = true;
        else
                append(&o, seq.p, seq.len);
        free(seq.p);
        wrap(&o, 0x60);
        return finish(&o, ret, ret_len);
}

int spnego_encode_resp(int state, SpnegoBytes supported, SpnegoBytes token, SpnegoBytes mic, uint8_t **ret,
                       size_t *ret_len) {
        Out seq = {};

        if (state != SPNEGO_NO_STATE) {
                uint8_t s = (uint8_t) state;
                append_field(&seq, 0xa0, 0x0a, &s, 1);
        }
        if (supported.len)
                append_field(&seq, 0xa1, 0, supported.p, supported.len);
        if (token.len)
                append_field(&seq, 0xa2, 0x04, token.p, token.len);
        if (mic.len)
                append_field(&seq, 0xa3, 0x04, mic.p, mic.len);
        if (!seq.p && !seq.failed) {
                seq.p = malloc(1);
                if (!seq.p)
                        seq.failed = true;
        }
        wrap(&seq, 0x30);
        wrap(&seq, 0xa1);
        return finish(&seq, ret, ret_len);
}
