/* SPDX-License-Identifier: MIT */
/*
 * The CredSSP package (MS-CSSP): credentials, the TLS channel over our
 * Schannel provider, pubKeyAuth, Negotiate's encryption of pubKeyAuth and
 * authInfo, attributes, messages after completion, the provider table.
 * The handshake steps are in credssp-context.c.
 *
 * Credentials: the caller's CREDSSP_CRED[_EX] arrives split by the client
 * library into its Schannel part (pSchannelCred, the server's certificate
 * or the client's TLS settings) and its identity (pSpnegoCred, or a plain
 * SEC_WINNT_AUTH_IDENTITY): Negotiate acquires with the identity, and the
 * client keeps its strings to delegate them as TSPasswordCreds. A server
 * must name its certificate (pSchannelCred): there is no TERMSRV store
 * here to take a default one from.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "packages/credssp/credssp-private.h"
#include "sspi.pb-c.h"

/* Windows' own listing (mimikatz lsadump::packages, Get-SecurityPackage):
 * Negotiate's 48256 + Schannel's 24576 + 200 (90567 where Kerberos' limit
 * was raised to 65535). */
#define CSSP_MAX_TOKEN (48256u + 24576u + 200u)
#define CSSP_MAX_PLAIN (1u << 20) /* a TSRequest larger than this is refused */

static const char *const cssp_aliases[] = { "CredSSP", "Microsoft CredSSP Security Provider", NULL };

/* ---- small helpers ---- */

int cssp_out_add(CsspOut *o, const uint8_t *p, size_t len) {
        uint8_t *n;

        if (!len)
                return 0;
        n = realloc(o->p, o->len + len);
        if (!n)
                return -ENOMEM;
        memcpy(n + o->len, p, len);
        o->p = n;
        o->len += len;
        return 0;
}

void cssp_out_free(CsspOut *o) {
        if (o->p) {
                explicit_bzero(o->p, o->len);
                free(o->p);
        }
        *o = (CsspOut) {};
}

PkgBuffer *cssp_find_buffer(PkgBuffer *b, size_t n, uint32_t type) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type)
                        return &b[i];
        return NULL;
}

SECURITY_STATUS cssp_put_output(PkgStep *s, CsspOut *o) {
        PkgBuffer *slot = cssp_find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);

        if (!slot) {
                cssp_out_free(o);
                return SEC_E_INVALID_TOKEN;
        }
        if (slot->cap > 0 && !slot->allocate && o->len > slot->cap) {
                cssp_out_free(o);
                return SEC_E_BUFFER_TOO_SMALL;
        }
        if (slot->owned)
                free(slot->data);
        slot->data = o->p;
        slot->len = o->len;
        slot->owned = o->p != NULL;
        *o = (CsspOut) {};
        return SEC_E_OK;
}

/* UTF-8 to UTF-16LE (malloc()ed, never NULL on success). */
static int utf16le(const char *s, size_t len, uint8_t **ret, size_t *ret_len) {
        uint8_t *o = malloc(len * 4 + 2);
        size_t n = 0;

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < len;) {
                uint32_t c = (uint8_t) s[i];
                size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;

                if (!k || i + k > len) {
                        explicit_bzero(o, len * 4 + 2);
                        free(o);
                        return -EINVAL;
                }
                if (k > 1) {
                        c &= 0xff >> (k + 1);
                        for (size_t j = 1; j < k; j++) {
                                if (((uint8_t) s[i + j] & 0xc0) != 0x80) {
                                        explicit_bzero(o, len * 4 + 2);
                                        free(o);
                                        return -EINVAL;
                                }
                                c = c << 6 | ((uint8_t) s[i + j] & 0x3f);
                        }
                }
                i += k;
                if (c >= 0x10000) {
                        c -= 0x10000;
                        uint32_t hi = 0xd800 | (c >> 10), lo = 0xdc00 | (c & 0x3ff);
                        o[n++] = (uint8_t) hi;
                        o[n++] = (uint8_t) (hi >> 8);
                        o[n++] = (uint8_t) lo;
                        o[n++] = (uint8_t) (lo >> 8);
                } else {
                        o[n++] = (uint8_t) c;
                        o[n++] = (uint8_t) (c >> 8);
                }
        }
        *ret = o;
        *ret_len = n;
        return 0;
}

/* UTF-16LE to UTF-8, NUL-terminated (malloc()ed); -EINVAL for a lone
 * surrogate. */
static int utf8(const uint8_t *p, size_t len, char **ret, size_t *ret_len) {
        char *o = malloc(len / 2 * 3 + 1);
        size_t n = 0;

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i + 1 < len; i += 2) {
                uint32_t c = p[i] | (uint32_t) p[i + 1] << 8;

                if (c >= 0xd800 && c < 0xdc00 && i + 3 < len) {
                        uint32_t lo = p[i + 2] | (uint32_t) p[i + 3] << 8;
                        if (lo < 0xdc00 || lo >= 0xe000)
                                goto bad;
                        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                        i += 2;
                } else if (c >= 0xd800 && c < 0xe000)
                        goto bad;
                if (c < 0x80)
                        o[n++] = (char) c;
                else if (c < 0x800) {
                        o[n++] = (char) (0xc0 | c >> 6);
                        o[n++] = (char) (0x80 | (c & 0x3f));
                } else if (c < 0x10000) {
                        o[n++] = (char) (0xe0 | c >> 12);
                        o[n++] = (char) (0x80 | ((c >> 6) & 0x3f));
                        o[n++] = (char) (0x80 | (c & 0x3f));
                } else {
                        o[n++] = (char) (0xf0 | c >> 18);
                        o[n++] = (char) (0x80 | ((c >> 12) & 0x3f));
                        o[n++] = (char) (0x80 | ((c >> 6) & 0x3f));
                        o[n++] = (char) (0x80 | (c & 0x3f));
                }
        }
        o[n] = 0;
        *ret = o;
        if (ret_len)
                *ret_len = n;
        return 0;
bad:
        explicit_bzero(o, len / 2 * 3 + 1);
        free(o);
        return -EINVAL;
}

static void wipe_free(uint8_t *p, size_t len) {
        if (p) {
                explicit_bzero(p, len);
                free(p);
        }
}

/* ---- credentials ---- */

static void cssp_cred_free(void *p) {
        CsspCred *c = p;

        if (!c)
                return;
        if (c->tls)
                provider_schannel.cred_free(c->tls);
        if (c->nego)
                provider_negotiate.cred_free(c->nego);
        wipe_free(c->domain, c->domain_len);
        wipe_free(c->user, c->user_len);
        wipe_free(c->password, c->password_len);
        free(c);
}

static SECURITY_STATUS cssp_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        CsspCred *c;
        PkgAcquire t = *a, n = *a;
        Sspiw__SchannelCred manual = SSPIW__SCHANNEL_CRED__INIT;
        int64_t et = 0, en = 0;
        SECURITY_STATUS st;

        /* A server names its certificate through pSchannelCred
         * (CREDSSP_CRED's, as a Windows CredSSP server does outside
         * TERMSRV): without one there is nothing to present. */
        if ((a->use & SECPKG_CRED_INBOUND) && !a->schannel)
                return SEC_E_NO_CREDENTIALS;
        c = calloc(1, sizeof(*c));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->use = a->use;

        /* TLS: the caller's settings, else a client that leaves the
         * server's certificate to the caller (as mstsc checks it itself
         * through the context's REMOTE_CERT_CONTEXT). */
        t.has_identity = false;
        t.user = t.domain = NULL;
        t.password = NULL;
        t.password_len = 0;
        t.ccache_image = NULL;
        t.ccache_image_len = 0;
        if (!a->schannel) {
                manual.flags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_DEFAULT_CREDS;
                /* TLS 1.2, as Windows' CredSSP client negotiates it: a TLS
                 * 1.3 server's post-handshake tickets would come inside
                 * the TSRequest flights (SEC_I_RENEGOTIATE in Schannel). */
                manual.has_enabled_protocols = true;
                manual.enabled_protocols = SP_PROT_TLS1_2_CLIENT;
                t.schannel = &manual;
        }
        st = provider_schannel.acquire(&t, &c->tls, &et);
        if (st != SEC_E_OK) {
                c->tls = NULL;
                cssp_cred_free(c);
                return st;
        }

        n.schannel = NULL;
        st = provider_negotiate.acquire(&n, &c->nego, &en);
        if (st != SEC_E_OK) {
                c->nego = NULL;
                cssp_cred_free(c);
                return st;
        }
        /* The strings to delegate (TSPasswordCreds, MS-CSSP 2.2.1.2.1). */
        if ((a->use & SECPKG_CRED_OUTBOUND) && a->has_identity && a->password) {
                const char *user = a->user ? a->user : "", *dom = a->domain ? a->domain : "";

                if (utf16le(user, strlen(user), &c->user, &c->user_len) < 0 ||
                    utf16le(dom, strlen(dom), &c->domain, &c->domain_len) < 0 ||
                    utf16le((const char *) a->password, a->password_len, &c->password, &c->password_len) < 0) {
                        cssp_cred_free(c);
                        return SEC_E_UNKNOWN_CREDENTIALS;
                }
                c->has_password = true;
        }
        *ret_cred = c;
        *ret_expiry = en;
        return SEC_E_OK;
}

static SECURITY_STATUS cssp_cred_name(void *p, char **ret_name) {
        CsspCred *c = p;
        return provider_negotiate.cred_name(c->nego, ret_name);
}

/* ---- TLS records ---- */

SECURITY_STATUS cssp_tls_write(CsspCtx *x, const uint8_t *p, size_t len, CsspOut *o) {
        PkgCtxAttr sz = {};
        SECURITY_STATUS st = provider_schannel.query_ctx(x->tls, SECPKG_ATTR_STREAM_SIZES, &sz);
        uint32_t h, t, max;

        if (st != SEC_E_OK)
                return st;
        h = sz.words[0];
        t = sz.words[1];
        max = sz.words[2];
        while (len > 0) {
                size_t chunk = len < max ? len : max;
                uint8_t *rec = malloc(h + chunk + t);
                PkgBuffer b[3] = {
                        { .type = SECBUFFER_STREAM_HEADER, .data = rec, .cap = h },
                        { .type = SECBUFFER_DATA, .data = rec + h, .len = chunk, .cap = chunk },
                        { .type = SECBUFFER_STREAM_TRAILER, .data = rec + h + chunk, .cap = t },
                };

                if (!rec)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(rec + h, p, chunk);
                st = provider_schannel.seal(x->tls, 0, b, 3, 0);
                if (st == SEC_E_OK) {
                        /* The record's parts are contiguous only when the
                         * header and trailer filled their room. */
                        if (cssp_out_add(o, b[0].data, b[0].len) < 0 || cssp_out_add(o, b[1].data, b[1].len) < 0 ||
                            cssp_out_add(o, b[2].data, b[2].len) < 0)
                                st = SEC_E_INSUFFICIENT_MEMORY;
                }
                wipe_free(rec, h + chunk + t);
                if (st != SEC_E_OK)
                        return st;
                p += chunk;
                len -= chunk;
        }
        return SEC_E_OK;
}

/* Bytes missing from the last record of p/len; 0 when it ends on a record
 * boundary. */
static size_t records_missing(const uint8_t *p, size_t len) {
        size_t off = 0;

        while (off + 5 <= len) {
                size_t rec = 5 + ((size_t) p[off + 3] << 8 | p[off + 4]);
                if (off + rec > len)
                        return off + rec - len;
                off += rec;
        }
        return off < len ? 5 - (len - off) : 0;
}

SECURITY_STATUS cssp_tls_read(CsspCtx *x, const uint8_t *p, size_t len, bool whole, PkgBuffer *slot) {
        CsspOut all = { x->pending, x->pending_len };
        size_t off = 0, missing;

        if (whole && !x->pending_len && (missing = records_missing(p, len)) > 0) {
                if (slot) {
                        slot->type = SECBUFFER_MISSING;
                        slot->count = (uint32_t) missing;
                }
                return SEC_E_INCOMPLETE_MESSAGE;
        }

        x->pending = NULL;
        x->pending_len = 0;
        if (cssp_out_add(&all, p, len) < 0) {
                cssp_out_free(&all);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        while (off < all.len) {
                size_t rest = all.len - off;
                PkgBuffer b[4] = {
                        { .type = SECBUFFER_DATA, .data = all.p + off, .len = rest, .cap = rest },
                        { .type = SECBUFFER_EMPTY },
                        { .type = SECBUFFER_EMPTY },
                        { .type = SECBUFFER_EMPTY },
                };
                uint32_t qop = 0;
                SECURITY_STATUS st = provider_schannel.unseal(x->tls, b, 4, 0, &qop);
                size_t used = rest;

                if (st == SEC_E_INCOMPLETE_MESSAGE)
                        break;
                if (st != SEC_E_OK) {
                        cssp_out_free(&all);
                        return st == SEC_I_CONTEXT_EXPIRED ? SEC_E_CONTEXT_EXPIRED : st;
                }
                for (int i = 1; i < 4; i++) {
                        if (b[i].type == SECBUFFER_DATA && b[i].len) {
                                CsspOut pl = { x->plain, x->plain_len };
                                if (x->plain_len + b[i].len > CSSP_MAX_PLAIN || cssp_out_add(&pl, b[i].data, b[i].len) < 0) {
                                        x->plain = pl.p;
                                        cssp_out_free(&all);
                                        return SEC_E_INVALID_TOKEN;
                                }
                                x->plain = pl.p;
                                x->plain_len = pl.len;
                        }
                        if (b[i].type == SECBUFFER_EXTRA)
                                used = rest - b[i].count;
                }
                off += used;
        }
        if (off < all.len) {
                x->pending = malloc(all.len - off);
                if (!x->pending) {
                        cssp_out_free(&all);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                memcpy(x->pending, all.p + off, all.len - off);
                x->pending_len = all.len - off;
        }
        cssp_out_free(&all);
        return SEC_E_OK;
}

int cssp_next_request(CsspCtx *x, uint8_t **ret, size_t *ret_len) {
        size_t el;
        int r = tsreq_element_len(x->plain, x->plain_len, CSSP_MAX_PLAIN, &el);
        uint8_t *p;

        if (r < 0)
                return -EBADMSG;
        if (r > 0)
                return 0;
        p = malloc(el);
        if (!p)
                return -ENOMEM;
        memcpy(p, x->plain, el);
        memmove(x->plain, x->plain + el, x->plain_len - el);
        x->plain_len -= el;
        *ret = p;
        *ret_len = el;
        return 1;
}

SECURITY_STATUS cssp_send_request(CsspCtx *x, const TsRequest *r, CsspOut *o) {
        uint8_t *der = NULL;
        size_t len = 0;
        SECURITY_STATUS st;

        if (tsreq_encode(r, &der, &len) < 0)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = cssp_tls_write(x, der, len, o);
        wipe_free(der, len);
        return st;
}

/* ---- Negotiate's encryption ---- */

static SECURITY_STATUS trailer_size(CsspCtx *x, uint32_t *ret) {
        PkgCtxAttr sz = {};
        SECURITY_STATUS st = provider_negotiate.query_ctx(x->nego, SECPKG_ATTR_SIZES, &sz);

        if (st != SEC_E_OK)
                return st;
        *ret = sz.sizes.cbSecurityTrailer;
        return SEC_E_OK;
}

SECURITY_STATUS cssp_encrypt(CsspCtx *x, const uint8_t *p, size_t len, uint8_t **ret, size_t *ret_len) {
        uint32_t t;
        SECURITY_STATUS st = trailer_size(x, &t);
        uint8_t *o;

        if (st != SEC_E_OK)
                return st;
        o = malloc(t + len);
        if (!o)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(o + t, p, len);
        PkgBuffer b[2] = {
                { .type = SECBUFFER_TOKEN, .data = o, .cap = t },
                { .type = SECBUFFER_DATA, .data = o + t, .len = len, .cap = len },
        };
        st = provider_negotiate.seal(x->nego, 0, b, 2, 0);
        if (st != SEC_E_OK) {
                wipe_free(o, t + len);
                return st;
        }
        if (b[0].len < t)
                memmove(o + b[0].len, o + t, len);
        *ret = o;
        *ret_len = b[0].len + len;
        return SEC_E_OK;
}

SECURITY_STATUS cssp_decrypt(CsspCtx *x, const uint8_t *p, size_t len, uint8_t **ret, size_t *ret_len) {
        uint32_t t, qop = 0;
        SECURITY_STATUS st = trailer_size(x, &t);
        uint8_t *o;

        if (st != SEC_E_OK)
                return st;
        if (len <= t)
                return SEC_E_INVALID_TOKEN;
        o = malloc(len);
        if (!o)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(o, p, len);
        PkgBuffer b[2] = {
                { .type = SECBUFFER_TOKEN, .data = o, .len = t, .cap = t },
                { .type = SECBUFFER_DATA, .data = o + t, .len = len - t, .cap = len - t },
        };
        st = provider_negotiate.unseal(x->nego, b, 2, 0, &qop);
        if (st != SEC_E_OK) {
                wipe_free(o, len);
                return st;
        }
        memmove(o, b[1].data, b[1].len);
        *ret = o;
        *ret_len = b[1].len;
        return SEC_E_OK;
}

/* ---- pubKeyAuth ---- */

SECURITY_STATUS cssp_load_pubkey(CsspCtx *x) {
        PkgCtxAttr a = {};
        uint32_t attr = x->server ? SECPKG_ATTR_LOCAL_CERT_CONTEXT : SECPKG_ATTR_REMOTE_CERT_CONTEXT;
        SECURITY_STATUS st = provider_schannel.query_ctx(x->tls, attr, &a);
        const unsigned char *q;
        X509 *cert;
        const ASN1_BIT_STRING *bits;

        free(a.user_name);
        free(a.client_name);
        free(a.server_name);
        free(a.name);
        if (st != SEC_E_OK) {
                free(a.blob);
                return st;
        }
        q = a.blob;
        cert = a.blob ? d2i_X509(NULL, &q, (long) a.blob_len) : NULL;
        free(a.blob);
        if (!cert)
                return SEC_E_INTERNAL_ERROR;
        /* SubjectPublicKey: the BIT STRING's bytes, as MS-CSSP 3.1.5 and
         * the peers (FreeRDP, impacket) take it. */
        bits = X509_get0_pubkey_bitstr(cert);
        if (!bits || bits->length <= 0) {
                X509_free(cert);
                return SEC_E_INTERNAL_ERROR;
        }
        x->pubkey = malloc((size_t) bits->length);
        if (!x->pubkey) {
                X509_free(cert);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        memcpy(x->pubkey, bits->data, (size_t) bits->length);
        x->pubkey_len = (size_t) bits->length;
        X509_free(cert);
        return SEC_E_OK;
}

SECURITY_STATUS cssp_pubkey_auth(CsspCtx *x, bool from_server, uint8_t **ret, size_t *ret_len) {
        static const char c2s[] = "CredSSP Client-To-Server Binding Hash";
        static const char s2c[] = "CredSSP Server-To-Client Binding Hash";
        uint8_t *o;

        if (x->version >= 5) {
                const char *magic = from_server ? s2c : c2s;
                unsigned md_len = 0;

                o = malloc(EVP_MAX_MD_SIZE);
                if (!o)
                        return SEC_E_INSUFFICIENT_MEMORY;
                EVP_MD_CTX *md = EVP_MD_CTX_new();
                /* The magic with its terminating NUL (MS-CSSP 3.1.5). */
                if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
                    EVP_DigestUpdate(md, magic, strlen(magic) + 1) != 1 ||
                    EVP_DigestUpdate(md, x->nonce, sizeof(x->nonce)) != 1 ||
                    EVP_DigestUpdate(md, x->pubkey, x->pubkey_len) != 1 || EVP_DigestFinal_ex(md, o, &md_len) != 1) {
                        EVP_MD_CTX_free(md);
                        free(o);
                        return SEC_E_INTERNAL_ERROR;
                }
                EVP_MD_CTX_free(md);
                *ret = o;
                *ret_len = md_len;
                return SEC_E_OK;
        }
        o = malloc(x->pubkey_len);
        if (!o)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(o, x->pubkey, x->pubkey_len);
        if (from_server)
                o[0]++;
        *ret = o;
        *ret_len = x->pubkey_len;
        return SEC_E_OK;
}

/* ---- Negotiate steps ---- */

SECURITY_STATUS cssp_nego_step(CsspCtx *x, PkgStep *s, TsBytes in, uint8_t **ret, size_t *ret_len) {
        PkgBuffer ib = { .type = SECBUFFER_TOKEN, .data = (uint8_t *) in.p, .len = in.len, .cap = in.len };
        PkgBuffer ob = { .type = SECBUFFER_TOKEN };
        CsspCred *c = s->cred;
        PkgStep is = *s;
        SECURITY_STATUS st;

        is.cred = c ? c->nego : NULL;
        is.ctx = x->nego;
        is.target = x->target;
        is.leg_cred = NULL;
        is.in = &ib;
        is.n_in = in.len ? 1 : 0;
        is.out = &ob;
        is.n_out = 1;
        is.req_flags = (s->req_flags & ~(uint32_t) (ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM)) |
                       (x->server ? ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY
                                  : ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_MUTUAL_AUTH);
        st = x->server ? provider_negotiate.accept_ctx(&is) : provider_negotiate.init_ctx(&is);
        x->nego = is.ctx;
        if (st < 0) {
                if (ob.owned)
                        free(ob.data);
                return st;
        }
        x->ret_flags = is.ret_flags;
        x->expiry = is.expiry;
        *ret = ob.data;
        *ret_len = ob.len;
        if (st == SEC_E_OK)
                x->nego_done = true;
        return st;
}

/* ---- context ---- */

void cssp_ctx_free(void *p) {
        CsspCtx *x = p;

        if (!x)
                return;
        if (x->tls)
                provider_schannel.ctx_free(x->tls);
        if (x->nego)
                provider_negotiate.ctx_free(x->nego);
        free(x->pubkey);
        wipe_free(x->pending, x->pending_len);
        wipe_free(x->plain, x->plain_len);
        free(x->target);
        free(x->tls_target);
        wipe_free(x->d_domain, x->d_domain_len);
        wipe_free(x->d_user, x->d_user_len);
        wipe_free(x->d_password, x->d_password_len);
        free(x);
}

static SECURITY_STATUS cssp_query(void *p, uint32_t attr, PkgCtxAttr *out) {
        CsspCtx *x = p;

        if (!x)
                return SEC_E_INVALID_HANDLE;
        switch (attr) {
        case SECPKG_ATTR_SIZES:
                if (x->state == CSSP_DONE)
                        return provider_schannel.query_ctx(x->tls, attr, out);
                out->has_sizes = true;
                out->sizes.cbMaxToken = CSSP_MAX_TOKEN;
                return SEC_E_OK;
        case SECPKG_ATTR_FLAGS:
                out->flags = x->ret_flags;
                out->has_flags = true;
                return SEC_E_OK;
        case SECPKG_ATTR_STREAM_SIZES:
        case SECPKG_ATTR_REMOTE_CERT_CONTEXT:
        case SECPKG_ATTR_LOCAL_CERT_CONTEXT:
        case SECPKG_ATTR_CONNECTION_INFO:
        case SECPKG_ATTR_CIPHER_INFO:
                /* The TLS channel's, as Windows' CredSSP answers them. */
                if (x->state == CSSP_TLS)
                        return SEC_E_INVALID_HANDLE;
                return provider_schannel.query_ctx(x->tls, attr, out);
        case SECPKG_ATTR_NAMES:
        case SECPKG_ATTR_NATIVE_NAMES:
        case SECPKG_ATTR_LIFESPAN:
                /* Who logged on: the Negotiate context's answer. */
                if (x->state != CSSP_DONE || !x->nego)
                        return SEC_E_INVALID_HANDLE;
                return provider_negotiate.query_ctx(x->nego, attr, out);
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
}

/* Messages after completion go through the TLS channel, as Windows'
 * CredSSP seals them (STREAM_HEADER / DATA / STREAM_TRAILER). */
static SECURITY_STATUS cssp_seal(void *p, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        CsspCtx *x = p;
        if (x->state != CSSP_DONE)
                return SEC_E_CONTEXT_EXPIRED;
        return provider_schannel.seal(x->tls, qop, b, n, seq_no);
}

static SECURITY_STATUS cssp_unseal(void *p, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        CsspCtx *x = p;
        if (x->state != CSSP_DONE)
                return SEC_E_CONTEXT_EXPIRED;
        return provider_schannel.unseal(x->tls, b, n, seq_no, ret_qop);
}

/* The TSPasswordCreds a client delegated, for an outbound acquisition in
 * the daemon (SEC_DELEGATED_CONTEXT_CRED): they never leave it. */
static SECURITY_STATUS cssp_delegated(void *p, char **ret_user, char **ret_domain, uint8_t **ret_password,
                                      size_t *ret_password_len) {
        CsspCtx *x = p;
        char *u = NULL, *d = NULL, *pw = NULL;
        size_t pw_len = 0;

        if (!x->server || x->state != CSSP_DONE)
                return SEC_E_UNKNOWN_CREDENTIALS;
        if (!x->delegated)
                return SEC_E_NO_CREDENTIALS;
        if (utf8(x->d_user, x->d_user_len, &u, NULL) < 0 || utf8(x->d_domain, x->d_domain_len, &d, NULL) < 0 ||
            utf8(x->d_password, x->d_password_len, &pw, &pw_len) < 0) {
                free(u);
                free(d);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        *ret_user = u;
        *ret_domain = d;
        *ret_password = (uint8_t *) pw;
        *ret_password_len = pw_len;
        return SEC_E_OK;
}

static bool cssp_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        /* TLS public-key work, and Negotiate's KDC or DC traffic. */
        return true;
}

const Provider provider_credssp = {
        .name = CREDSSP_NAME_A,
        .comment = "Microsoft CredSSP Security Provider",
        .aliases = cssp_aliases,
        .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_CONNECTION |
                        SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |
                        SECPKG_FLAG_STREAM | SECPKG_FLAG_MUTUAL_AUTH | SECPKG_FLAG_APPCONTAINER_CHECKS,
        .version = 1,
        .rpcid = SECPKG_ID_NONE, /* no DCE RPC identifier */
        .max_token = CSSP_MAX_TOKEN,
        .acquire = cssp_acquire,
        .cred_free = cssp_cred_free,
        .cred_name = cssp_cred_name,
        .step_may_block = cssp_step_may_block,
        .waits_outside = true,
        .init_ctx = cssp_init,
        .accept_ctx = cssp_accept,
        .query_ctx = cssp_query,
        .seal = cssp_seal,
        .unseal = cssp_unseal,
        .ctx_free = cssp_ctx_free,
        .delegated = cssp_delegated,
};
