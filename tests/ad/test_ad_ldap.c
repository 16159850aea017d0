/* SPDX-License-Identifier: MIT */
/*
 * A peer that is not ours: the DC's LDAP server. Our Kerberos client binds
 * with SASL GSSAPI (RFC 4752) — the AP-REQ/AP-REP exchange, then the
 * security-layer negotiation wrapped with the session key — and reads
 * alice's entry with a sealed search, then again signed only (RFC 4752
 * section 3.3: each LDAP PDU a 4-byte length and a wrap token). Samba's LDAP server unwraps with its
 * own GSSAPI, so every step checks our tokens against another
 * implementation. Sync calls; run by tests/ad/run.sh in the DC's
 * namespaces. A minimal BER writer/reader for the three LDAP operations.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "testlib.h"

#define DC_ADDR "127.0.0.10"

/* t_ok that also gives the result, to stop at the first broken step. */
#define T_OK(cond, ...)                      \
        ({                                   \
                bool t_ok_c_ = (cond);       \
                t_ok(t_ok_c_, __VA_ARGS__);  \
                t_ok_c_;                     \
        })

typedef struct Buf {
        uint8_t b[65536];
        size_t n;
} Buf;

static void put(Buf *o, const void *p, size_t n) {
        if (o->n + n <= sizeof(o->b))
                memcpy(o->b + o->n, p, n);
        o->n += n;
}

/* A TLV around the bytes of `in`. */
static void tlv(Buf *o, uint8_t tag, const void *p, size_t n) {
        uint8_t h[4] = { tag };
        size_t hl;

        if (n < 128) {
                h[1] = (uint8_t) n;
                hl = 2;
        } else {
                h[1] = 0x82;
                h[2] = (uint8_t) (n >> 8);
                h[3] = (uint8_t) n;
                hl = 4;
        }
        put(o, h, hl);
        put(o, p, n);
}

/* Reads one TLV at *p (end e): tag, value and its length; false if short. */
static bool get(const uint8_t **p, const uint8_t *e, uint8_t *tag, const uint8_t **v, size_t *n) {
        const uint8_t *q = *p;
        size_t len;

        if (e - q < 2)
                return false;
        *tag = q[0];
        len = q[1];
        q += 2;
        if (len & 0x80) {
                int k = len & 0x7f;
                if (k > 3 || e - q < k)
                        return false;
                len = 0;
                while (k--)
                        len = len << 8 | *q++;
        }
        if ((size_t) (e - q) < len)
                return false;
        *v = q;
        *n = len;
        *p = q + len;
        return true;
}

static int msgid;

static void bind_request(Buf *o, const void *cred, size_t cred_len) {
        Buf sasl = { .n = 0 }, bind = { .n = 0 }, msg = { .n = 0 };
        uint8_t id[] = { 0x02, 0x01, (uint8_t) ++msgid }, ver[] = { 0x02, 0x01, 0x03 }, name[] = { 0x04, 0x00 };

        tlv(&sasl, 0x04, "GSSAPI", 6);
        tlv(&sasl, 0x04, cred, cred_len);
        put(&bind, ver, 3);
        put(&bind, name, 2);
        tlv(&bind, 0xa3, sasl.b, sasl.n);
        put(&msg, id, 3);
        tlv(&msg, 0x60, bind.b, bind.n);
        o->n = 0;
        tlv(o, 0x30, msg.b, msg.n);
}

static void search_request(Buf *o, const char *base, const char *attr, const char *value, const char *want) {
        Buf f = { .n = 0 }, a = { .n = 0 }, s = { .n = 0 }, msg = { .n = 0 };
        uint8_t id[] = { 0x02, 0x01, (uint8_t) ++msgid };
        uint8_t fixed[] = { 0x0a, 0x01, 0x02, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00 };

        tlv(&f, 0x04, attr, strlen(attr));
        tlv(&f, 0x04, value, strlen(value));
        tlv(&a, 0x04, want, strlen(want));
        tlv(&s, 0x04, base, strlen(base));
        put(&s, fixed, sizeof(fixed)); /* subtree, never deref, no limits, types and values */
        tlv(&s, 0xa3, f.b, f.n);       /* equalityMatch */
        {
                Buf seq = { .n = 0 };
                tlv(&seq, 0x30, a.b, a.n);
                put(&s, seq.b, seq.n);
        }
        put(&msg, id, 3);
        tlv(&msg, 0x63, s.b, s.n);
        o->n = 0;
        tlv(o, 0x30, msg.b, msg.n);
}

static bool send_all(int fd, const void *p, size_t n) {
        const uint8_t *q = p;
        while (n) {
                ssize_t w = write(fd, q, n);
                if (w <= 0)
                        return false;
                q += w;
                n -= (size_t) w;
        }
        return true;
}

static bool recv_all(int fd, void *p, size_t n) {
        uint8_t *q = p;
        while (n) {
                ssize_t r = read(fd, q, n);
                if (r <= 0)
                        return false;
                q += r;
                n -= (size_t) r;
        }
        return true;
}

/* One plain LDAP message (the bind phase is not wrapped). */
static bool recv_ldap(int fd, Buf *in) {
        uint8_t h[2];
        size_t len, hl = 2;

        if (!recv_all(fd, h, 2) || h[0] != 0x30)
                return false;
        memcpy(in->b, h, 2);
        len = h[1];
        if (len & 0x80) {
                int k = len & 0x7f;
                if (k > 3 || !recv_all(fd, in->b + 2, (size_t) k))
                        return false;
                len = 0;
                for (int i = 0; i < k; i++)
                        len = len << 8 | in->b[2 + i];
                hl += (size_t) k;
        }
        if (hl + len > sizeof(in->b) || !recv_all(fd, in->b + hl, len))
                return false;
        in->n = hl + len;
        return true;
}

/* The BindResponse's resultCode and serverSaslCreds. */
static bool bind_response(const Buf *in, int *result, const uint8_t **creds, size_t *creds_len) {
        const uint8_t *p = in->b, *e = in->b + in->n, *v, *q, *qe;
        uint8_t tag;
        size_t n;

        *creds = NULL;
        *creds_len = 0;
        if (!get(&p, e, &tag, &v, &n) || tag != 0x30)
                return false;
        p = v;
        e = v + n;
        if (!get(&p, e, &tag, &v, &n) || tag != 0x02 || !get(&p, e, &tag, &v, &n) || tag != 0x61)
                return false;
        q = v;
        qe = v + n;
        if (!get(&q, qe, &tag, &v, &n) || tag != 0x0a || n != 1)
                return false;
        *result = v[0];
        while (q < qe && get(&q, qe, &tag, &v, &n))
                if (tag == 0x87) {
                        *creds = v;
                        *creds_len = n;
                }
        return true;
}

/* DecryptMessage of one wrap token in a SECBUFFER_STREAM and an empty
 * SECBUFFER_DATA, as curl's SASL code (lib/vauth/krb5_sspi.c) unwraps the
 * DC's answers: Windows decrypts in place and points DATA into the stream
 * buffer (Microsoft: "SSPI/Kerberos Interoperability with GSSAPI"). */
static bool unwrap_stream(CtxtHandle *ctx, uint8_t *tok, size_t len, SecBuffer *data, ULONG *qop, const char *label) {
        SecBuffer b[2] = { { (ULONG) len, SECBUFFER_STREAM, tok }, { 0, SECBUFFER_DATA, NULL } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        SECURITY_STATUS st = DecryptMessage(ctx, &d, 0, qop);
        bool inside = st == SEC_E_OK && (uint8_t *) b[1].pvBuffer >= tok &&
                      (uint8_t *) b[1].pvBuffer + b[1].cbBuffer <= tok + len;

        if (label) {
                t_status(st, SEC_E_OK, "DecryptMessage (SECBUFFER_STREAM) of %s", label);
                t_ok(inside, "... its DATA buffer points into the stream buffer (%lu bytes)",
                     (unsigned long) b[1].cbBuffer);
        }
        *data = b[1];
        return st == SEC_E_OK && inside;
}

/* seal: the confidentiality layer (0x04), else integrity only (0x02). */
static void test_sasl_gssapi(bool seal) {
        const char *mode = seal ? "sealed" : "signed";
        const char *realm = getenv("AD_REALM");
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(389) };
        struct timeval tv = { .tv_sec = 20 };
        uint8_t tok[12288], wrapped[4096];
        SecBuffer ob, ib[2];
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob }, idesc = { SECBUFFER_VERSION, 1, ib };
        CredHandle cred;
        CtxtHandle ctx;
        bool have_ctx = false;
        SECURITY_STATUS st = SEC_I_CONTINUE_NEEDED;
        ULONG attrs, qop = 0;
        const uint8_t *creds = NULL;
        size_t creds_len = 0;
        int fd, result = -1;
        Buf out, in;
        SecPkgContext_Sizes sz;

        if (!t_status(t_cred_identity("Kerberos", "alice", realm, "Alice-pw-1", &cred), SEC_E_OK, "alice: credential"))
                return;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        inet_pton(AF_INET, DC_ADDR, &sa.sin_addr);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (!T_OK(connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0, "connected to the DC's LDAP port"))
                goto out;

        /* The Kerberos exchange in bind requests until ISC is done. */
        for (int round = 0; round < 4 && st == SEC_I_CONTINUE_NEEDED; round++) {
                ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
                ib[0] = (SecBuffer) { (ULONG) creds_len, SECBUFFER_TOKEN, (void *) creds };
                idesc.cBuffers = 1;
                st = InitializeSecurityContextA(&cred, have_ctx ? &ctx : NULL, "ldap/dc1.corp.test",
                                                ISC_REQ_MUTUAL_AUTH | ISC_REQ_INTEGRITY | ISC_REQ_CONFIDENTIALITY, 0,
                                                SECURITY_NATIVE_DREP, have_ctx ? &idesc : NULL, 0, &ctx, &od, &attrs,
                                                NULL);
                if (st < 0)
                        break;
                have_ctx = true;
                if (ob.cbBuffer == 0 && st == SEC_E_OK)
                        break;
                bind_request(&out, tok, ob.cbBuffer);
                if (!send_all(fd, out.b, out.n) || !recv_ldap(fd, &in) ||
                    !bind_response(&in, &result, &creds, &creds_len)) {
                        st = SEC_E_INTERNAL_ERROR;
                        break;
                }
                if (result != 14) /* saslBindInProgress */
                        break;
        }
        if (!t_status(st, SEC_E_OK, "ISC for ldap/dc1.corp.test completes with the DC's AP-REP (mutual)"))
                goto out;
        /* RFC 4752 3.1: the context is up; an empty response asks for the
         * server's security-layer offer. */
        bind_request(&out, "", 0);
        if (!send_all(fd, out.b, out.n) || !recv_ldap(fd, &in) || !bind_response(&in, &result, &creds, &creds_len))
                result = -1;
        if (!T_OK(result == 14 && creds_len > 0 && creds_len <= sizeof(wrapped),
                  "the DC answers saslBindInProgress with its wrapped security-layer offer (%zu bytes)", creds_len))
                goto out;

        /* RFC 4752 3.3: the DC's wrapped offer (layers, max buffer size),
         * unwrapped as curl's SASL GSSAPI does on Windows (lib/vauth/
         * krb5_sspi.c): one SECBUFFER_STREAM with the token, an empty
         * SECBUFFER_DATA that Windows points at the plaintext inside it. */
        memcpy(wrapped, creds, creds_len);
        if (!unwrap_stream(&ctx, wrapped, creds_len, &ib[1], &qop, "the DC's wrapped offer"))
                goto out;
        if (!T_OK(ib[1].cbBuffer == 4 && (((uint8_t *) ib[1].pvBuffer)[0] & 0x04),
                  "the offer is 4 bytes and includes confidentiality (layers 0x%02x)",
                  ib[1].cbBuffer ? ((uint8_t *) ib[1].pvBuffer)[0] : 0))
                goto out;

        /* Our choice: confidentiality or integrity, 64 KiB, no
         * authorization id; wrapped without encryption as curl does. */
        QueryContextAttributesA(&ctx, SECPKG_ATTR_SIZES, &sz);
        {
                uint8_t msg[4] = { seal ? 0x04 : 0x02, 0x01, 0x00, 0x00 };
                uint8_t t[128], pad[64];
                SecBuffer wb[3] = { { sz.cbSecurityTrailer, SECBUFFER_TOKEN, t },
                                    { 4, SECBUFFER_DATA, msg },
                                    { sz.cbBlockSize, SECBUFFER_PADDING, pad } };
                SecBufferDesc wd = { SECBUFFER_VERSION, 3, wb };
                Buf w = { .n = 0 };

                if (!t_status(EncryptMessage(&ctx, SECQOP_WRAP_NO_ENCRYPT, &wd, 0), SEC_E_OK,
                              "EncryptMessage(SECQOP_WRAP_NO_ENCRYPT) of our layer choice"))
                        goto out;
                put(&w, t, wb[0].cbBuffer);
                put(&w, msg, wb[1].cbBuffer);
                put(&w, pad, wb[2].cbBuffer);
                bind_request(&out, w.b, w.n);
        }
        if (!send_all(fd, out.b, out.n) || !recv_ldap(fd, &in) || !bind_response(&in, &result, &creds, &creds_len))
                result = -1;
        if (!T_OK(result == 0, "%s: the DC accepts our wrapped layer choice: bind success (resultCode %d)", mode, result))
                goto out;

        /* The search, sealed or signed: length + (token || data || padding). */
        search_request(&out, "DC=corp,DC=test", "sAMAccountName", "alice", "userPrincipalName");
        {
                uint8_t t[128], pad[64], data[1024], len[4];
                SecBuffer wb[3] = { { sz.cbSecurityTrailer, SECBUFFER_TOKEN, t },
                                    { (ULONG) out.n, SECBUFFER_DATA, data },
                                    { sz.cbBlockSize, SECBUFFER_PADDING, pad } };
                SecBufferDesc wd = { SECBUFFER_VERSION, 3, wb };
                uint32_t total;

                memcpy(data, out.b, out.n);
                if (!t_status(EncryptMessage(&ctx, seal ? 0 : SECQOP_WRAP_NO_ENCRYPT, &wd, 0), SEC_E_OK,
                              "%s: EncryptMessage of the search", mode))
                        goto out;
                total = wb[0].cbBuffer + wb[1].cbBuffer + wb[2].cbBuffer;
                len[0] = (uint8_t) (total >> 24);
                len[1] = (uint8_t) (total >> 16);
                len[2] = (uint8_t) (total >> 8);
                len[3] = (uint8_t) total;
                if (!send_all(fd, len, 4) || !send_all(fd, t, wb[0].cbBuffer) || !send_all(fd, data, wb[1].cbBuffer) ||
                    !send_all(fd, pad, wb[2].cbBuffer)) {
                        t_ok(false, "sealed search sent");
                        goto out;
                }
        }
        /* The replies: sealed buffers until SearchResultDone. */
        {
                bool entry = false, done = false, unsealed = true;
                int code = -1;
                for (int i = 0; i < 8 && !done && unsealed; i++) {
                        uint8_t len[4];
                        uint32_t total;
                        const uint8_t *p, *e, *v;
                        uint8_t tag;
                        size_t n;

                        if (!recv_all(fd, len, 4))
                                break;
                        total = (uint32_t) len[0] << 24 | (uint32_t) len[1] << 16 | (uint32_t) len[2] << 8 | len[3];
                        if (total > sizeof(in.b) || !recv_all(fd, in.b, total))
                                break;
                        unsealed = unwrap_stream(&ctx, in.b, total, &ib[1], &qop, NULL) &&
                                   qop == (seal ? 0 : SECQOP_WRAP_NO_ENCRYPT);
                        if (!unsealed)
                                break;
                        p = ib[1].pvBuffer;
                        e = p + ib[1].cbBuffer;
                        /* One or more LDAPMessages in the unsealed buffer. */
                        while (p < e && get(&p, e, &tag, &v, &n)) {
                                const uint8_t *q = v, *qe = v + n, *w;
                                size_t wn;
                                if (!get(&q, qe, &tag, &w, &wn) || !get(&q, qe, &tag, &w, &wn))
                                        break;
                                if (tag == 0x64 && memmem(w, wn, "alice@corp.test", 15))
                                        entry = true;
                                if (tag == 0x65) {
                                        const uint8_t *r = w;
                                        if (get(&r, w + wn, &tag, &w, &wn) && tag == 0x0a && wn == 1)
                                                code = w[0];
                                        done = true;
                                }
                        }
                }
                t_ok(unsealed, "%s: every reply of the DC unwraps, with qop %s", mode,
                     seal ? "0 (it was encrypted)" : "SECQOP_WRAP_NO_ENCRYPT (signed only)");
                t_ok(entry, "%s: the reply holds alice's entry with userPrincipalName alice@corp.test", mode);
                t_ok(done && code == 0, "%s: SearchResultDone, success (%d)", mode, code);
        }
out:
        if (have_ctx)
                DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&cred);
        close(fd);
}

int main(void) {
        if (!getenv("AD_REALM") || !getenv("SSPID_SOCKET")) {
                t_ok(false, "run by tests/ad/run.sh (AD_REALM, SSPID_SOCKET set)");
                return t_done();
        }
        test_sasl_gssapi(true);
        test_sasl_gssapi(false);
        return t_done();
}
