/* SPDX-License-Identifier: MIT */
/*
 * The NTLM package (MS-NLMP), client and server. Only NTLMv2 is spoken:
 * an LM or NTLMv1 response is refused, except that a store with
 * allow-ntlmv1 = yes (a named legacy case) accepts NTLMv1 with extended
 * session security (the NTLM2 session response); LM, and NTLMv1 without
 * extended session security, never. Every field of a message that came
 * from the peer is read through NtlmReader, which checks each (length,
 * offset) pair against the message before anything is copied.
 *
 * The acceptor verifies against an [ntlm-store NAME] file of NT hashes;
 * an unknown user costs the same work as a wrong password and gets the
 * same answer (SEC_E_LOGON_DENIED).
 */
#include "packages/ntlm/ntlm.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <heimntlm.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "policy/config.h"
#include "util/util.h"

#define NTLM_SIGNATURE "NTLMSSP"
#define NTLM_NEGOTIATE 1
#define NTLM_CHALLENGE 2
#define NTLM_AUTHENTICATE 3
#define AUTH_HEADER_SIZE 88 /* with Version and MIC */
#define MIC_OFFSET 72
#define STORE_MAX_ENTRIES 65536

/* What our client asks for; the server answers with a subset. */
#define CLIENT_FLAGS                                                                                        \
        (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL | \
         NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |  \
         NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56)
#define SERVER_FLAGS_ECHO                                                                                   \
        (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |                     \
         NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_128 |     \
         NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56 | NTLMSSP_NEGOTIATE_IDENTIFY)

#define CB_HEADER_SIZE 32
#define CB_EX_MAGIC 0x58454243U /* 'XEBC' */
#define CB_EX_HEADER_SIZE 16

/* 6.1 build 7601, NTLM revision 15: what Windows 7 sends. */
static const uint8_t ntlm_version[8] = { 6, 1, 0xb1, 0x1d, 0, 0, 0, 15 };

typedef struct NtlmCred {
        uint32_t use;
        /* outbound */
        char *user, *domain;
        uint8_t nt_hash[16];
        /* inbound: a snapshot of the store at acquire time */
        char *store_domain;
        NtlmAccount *accounts;
        size_t n_accounts;
        bool allow_v1; /* the store's allow-ntlmv1 */
} NtlmCred;

typedef struct NtlmCtx {
        bool initiator, established;
        uint32_t req_flags, ret_flags, flags;
        uint8_t *msg[3]; /* NEGOTIATE, CHALLENGE, AUTHENTICATE, for the MIC */
        size_t msg_len[3];
        uint8_t challenge[8];
        char *target;
        char *user, *domain; /* the authenticated (ASC) or our own (ISC) identity */
        uint8_t exported[16];
        NtlmKeys keys;
        NtlmRc4 send_rc4, recv_rc4;
        uint32_t send_seq, recv_seq;
        int64_t start;
} NtlmCtx;

/* ---- bounded reader ------------------------------------------------------ */

typedef struct NtlmReader {
        const uint8_t *p;
        size_t len;
} NtlmReader;

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static bool rd_u32(const NtlmReader *r, size_t off, uint32_t *ret) {
        if (off > r->len || r->len - off < 4)
                return false;
        *ret = le32(r->p + off);
        return true;
}

/* A (Len, MaxLen, BufferOffset) field at `off`: the payload it names must
 * lie inside the message. */
static bool rd_field(const NtlmReader *r, size_t off, NtlmReader *ret) {
        uint64_t l, o;

        if (off > r->len || r->len - off < 8)
                return false;
        l = le16(r->p + off);
        o = le32(r->p + off + 4);
        if (l == 0) {
                *ret = (NtlmReader) { NULL, 0 };
                return true;
        }
        if (o > r->len || l > r->len - o)
                return false;
        *ret = (NtlmReader) { r->p + o, l };
        return true;
}

static bool rd_header(const NtlmReader *r, uint32_t type) {
        return r->len >= 12 && !memcmp(r->p, NTLM_SIGNATURE, 8) && le32(r->p + 8) == type;
}

/* Walk AV pairs; every pair must fit, the list must end with MsvAvEOL. */
typedef struct AvInfo {
        NtlmReader pairs; /* without the EOL */
        bool has_timestamp, has_flags, has_cb, has_target;
        uint8_t timestamp[8];
        uint32_t flags;
        uint8_t cb[16];
} AvInfo;

static bool av_parse(NtlmReader r, AvInfo *ret) {
        size_t off = 0;

        *ret = (AvInfo) {};
        for (;;) {
                uint16_t id, l;

                if (r.len - off < 4)
                        return false;
                id = le16(r.p + off);
                l = le16(r.p + off + 2);
                if (r.len - off - 4 < l)
                        return false;
                if (id == MSV_AV_EOL) {
                        ret->pairs = (NtlmReader) { r.p, off };
                        return true;
                }
                switch (id) {
                case MSV_AV_TIMESTAMP:
                        if (l != 8)
                                return false;
                        memcpy(ret->timestamp, r.p + off + 4, 8);
                        ret->has_timestamp = true;
                        break;
                case MSV_AV_FLAGS:
                        if (l != 4)
                                return false;
                        ret->flags = le32(r.p + off + 4);
                        ret->has_flags = true;
                        break;
                case MSV_AV_CHANNEL_BINDINGS:
                        if (l != 16)
                                return false;
                        memcpy(ret->cb, r.p + off + 4, 16);
                        ret->has_cb = true;
                        break;
                case MSV_AV_TARGET_NAME:
                        ret->has_target = true;
                        break;
                default:
                        break;
                }
                off += 4 + (size_t) l;
        }
}

/* ---- a growing writer ----------------------------------------------------- */

typedef struct NtlmWriter {
        uint8_t *p;
        size_t len, cap;
        bool failed;
} NtlmWriter;

static uint8_t *wr_reserve(NtlmWriter *w, size_t n) {
        if (w->failed)
                return NULL;
        if (w->cap - w->len < n) {
                size_t cap = (w->cap ? w->cap * 2 : 256) + n;
                uint8_t *p = realloc(w->p, cap);
                if (!p) {
                        w->failed = true;
                        return NULL;
                }
                w->p = p;
                w->cap = cap;
        }
        w->len += n;
        return w->p + w->len - n;
}

static void wr_bytes(NtlmWriter *w, const void *d, size_t n) {
        uint8_t *p = wr_reserve(w, n);
        if (p && n)
                memcpy(p, d, n);
}

static void wr_av(NtlmWriter *w, uint16_t id, const void *d, size_t n) {
        uint8_t h[4];
        put16(h, id);
        put16(h + 2, (uint16_t) n);
        wr_bytes(w, h, 4);
        wr_bytes(w, d, n);
}

/* Append a payload and point the (Len, MaxLen, Offset) field at `field` at it. */
static void wr_payload(NtlmWriter *w, size_t field, const void *d, size_t n) {
        size_t off = w->len;

        wr_bytes(w, d, n);
        if (w->failed)
                return;
        put16(w->p + field, (uint16_t) n);
        put16(w->p + field + 2, (uint16_t) n);
        put32(w->p + field + 4, (uint32_t) off);
}

static void wr_free(NtlmWriter *w) {
        if (w->p)
                explicit_bzero(w->p, w->cap);
        free(w->p);
        *w = (NtlmWriter) {};
}

/* ---- helpers -------------------------------------------------------------- */

static PkgBuffer *find_buffer(PkgBuffer *b, size_t n, uint32_t type) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type)
                        return &b[i];
        return NULL;
}

static int64_t filetime_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return filetime_from_unix(ts.tv_sec) + ts.tv_nsec / 100;
}

static void random_bytes(uint8_t *p, size_t n) {
        if (RAND_bytes(p, (int) n) != 1)
                abort(); /* no entropy: nothing safe to do */
}

static int hex_nibble(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) tolower((unsigned char) c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static char *local_host(bool upper) {
        char h[256] = "";
        char *dot;

        if (gethostname(h, sizeof(h) - 1) < 0 || !*h)
                strcpy(h, "localhost");
        if (upper) {
                dot = strchr(h, '.');
                if (dot)
                        *dot = '\0';
                for (char *p = h; *p; p++)
                        *p = (char) toupper((unsigned char) *p);
        }
        return strdup(h);
}

/*
 * MD5 of the gss_channel_bindings_struct image of a SEC_CHANNEL_BINDINGS
 * buffer (MS-NLMP 3.1.5.1.2): each address type and length in LE32, then
 * the bytes. 0 or SEC_E_BAD_BINDINGS.
 */
static SECURITY_STATUS bindings_hash(const PkgBuffer *b, uint8_t out[16]) {
        const uint8_t *p = b->data;
        size_t len = b->len, base = 0;
        uint32_t f[8];
        NtlmWriter w = {};
        SECURITY_STATUS st = SEC_E_OK;

        if (!p || len < CB_HEADER_SIZE)
                return SEC_E_BAD_BINDINGS;
        if (le32(p) == CB_EX_MAGIC) {
                uint32_t header_len, struct_len;

                if (len < CB_EX_HEADER_SIZE + CB_HEADER_SIZE)
                        return SEC_E_BAD_BINDINGS;
                header_len = le32(p + 8);
                struct_len = le32(p + 12);
                if (header_len < CB_EX_HEADER_SIZE + CB_HEADER_SIZE || header_len > struct_len || struct_len > len)
                        return SEC_E_BAD_BINDINGS;
                len = struct_len;
                base = CB_EX_HEADER_SIZE;
        }
        for (size_t i = 0; i < 8; i++)
                f[i] = le32(p + base + 4 * i);
        for (size_t i = 0; i < 3; i++) {
                uint64_t l = i < 2 ? f[3 * i + 1] : f[6], o = i < 2 ? f[3 * i + 2] : f[7];
                uint8_t h[8];

                if (l && (o > len || l > len - o)) {
                        st = SEC_E_BAD_BINDINGS;
                        break;
                }
                if (i < 2) {
                        put32(h, f[3 * i]);
                        wr_bytes(&w, h, 4);
                }
                put32(h, (uint32_t) l);
                wr_bytes(&w, h, 4);
                if (l)
                        wr_bytes(&w, p + o, l);
        }
        if (st == SEC_E_OK && w.failed)
                st = SEC_E_INSUFFICIENT_MEMORY;
        if (st == SEC_E_OK)
                ntlm_md5(w.p ? w.p : (const uint8_t *) "", w.len, NULL, 0, out);
        wr_free(&w);
        return st;
}

/* Hand a finished message to the first SECBUFFER_TOKEN output slot. */
static SECURITY_STATUS put_output(PkgStep *s, NtlmWriter *w) {
        PkgBuffer *slot = find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);
        uint8_t *copy;

        if (w->failed)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!slot)
                return SEC_E_INVALID_TOKEN;
        if (slot->cap > 0 && w->len > slot->cap)
                return SEC_E_BUFFER_TOO_SMALL;
        copy = malloc(w->len);
        if (!copy)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(copy, w->p, w->len);
        if (slot->owned)
                free(slot->data);
        slot->data = copy;
        slot->len = w->len;
        slot->owned = true;
        return SEC_E_OK;
}

static int keep_msg(NtlmCtx *c, int i, const uint8_t *p, size_t len) {
        uint8_t *m = malloc(len ? len : 1);
        if (!m)
                return -ENOMEM;
        memcpy(m, p, len);
        free(c->msg[i]);
        c->msg[i] = m;
        c->msg_len[i] = len;
        return 0;
}

static uint32_t ret_flags_from(uint32_t req, bool initiator) {
        uint32_t keep = initiator ? (ISC_REQ_INTEGRITY | ISC_REQ_CONFIDENTIALITY | ISC_REQ_REPLAY_DETECT |
                                     ISC_REQ_SEQUENCE_DETECT | ISC_REQ_IDENTIFY)
                                  : (ASC_REQ_INTEGRITY | ASC_REQ_CONFIDENTIALITY | ASC_REQ_REPLAY_DETECT |
                                     ASC_REQ_SEQUENCE_DETECT);
        uint32_t r = req & keep;

        if (initiator && !(req & ISC_REQ_DATAGRAM))
                r |= ISC_RET_CONNECTION;
        if (!initiator && !(req & ASC_REQ_DATAGRAM))
                r |= ASC_RET_CONNECTION;
        return r;
}

static void ctx_keys(NtlmCtx *c) {
        ntlm_derive_keys(c->exported, &c->keys);
        if (c->initiator) {
                ntlm_rc4_init(&c->send_rc4, c->keys.client_seal, 16);
                ntlm_rc4_init(&c->recv_rc4, c->keys.server_seal, 16);
        } else {
                ntlm_rc4_init(&c->send_rc4, c->keys.server_seal, 16);
                ntlm_rc4_init(&c->recv_rc4, c->keys.client_seal, 16);
        }
        c->send_seq = c->recv_seq = 0;
}

void ntlm_reset_rc4(void *ctx, bool outgoing) {
        NtlmCtx *c = ctx;
        bool client_key = c->initiator == outgoing;

        ntlm_rc4_init(outgoing ? &c->send_rc4 : &c->recv_rc4, client_key ? c->keys.client_seal : c->keys.server_seal,
                      16);
}

static void ntlm_ctx_free(void *p) {
        NtlmCtx *c = p;

        if (!c)
                return;
        for (int i = 0; i < 3; i++)
                free(c->msg[i]);
        free(c->target);
        free(c->user);
        free(c->domain);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

static SECURITY_STATUS step_failed(PkgStep *s, NtlmCtx *c, SECURITY_STATUS st) {
        for (size_t i = 0; i < s->n_out; i++)
                if (s->out[i].owned) {
                        free(s->out[i].data);
                        s->out[i] = (PkgBuffer) { .type = s->out[i].type, .cap = s->out[i].cap };
                }
        ntlm_ctx_free(c);
        s->ctx = NULL;
        return st;
}

/* ---- credentials ------------------------------------------------------------ */

static void ntlm_cred_free(void *p) {
        NtlmCred *c = p;

        if (!c)
                return;
        free(c->user);
        free(c->domain);
        free(c->store_domain);
        for (size_t i = 0; i < c->n_accounts; i++) {
                free(c->accounts[i].user);
                free(c->accounts[i].domain);
        }
        if (c->accounts)
                explicit_bzero(c->accounts, c->n_accounts * sizeof(*c->accounts));
        free(c->accounts);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

/* SHA-256 of `s` with ASCII letters uppercased: the name's fingerprint
 * for the constant-time store lookup. 0 or -ENOMEM. */
static int name_key(const char *s, uint8_t ret[32]) {
        size_t n = strlen(s);
        char *u = malloc(n + 1);
        unsigned len = 0;
        int r;

        if (!u)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                u[i] = (char) toupper((unsigned char) s[i]);
        r = EVP_Digest(u, n, ret, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : -ENOMEM;
        free(u);
        return r;
}

int ntlm_store_load(const char *path, const char *domain, NtlmAccount **ret, size_t *ret_n) {
        FILE *f;
        struct stat st;
        char line[1024], iobuf[4096];
        NtlmAccount *v = NULL;
        size_t n = 0;
        int r = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        /* stdio's own buffer would keep the NT hashes in freed memory. */
        setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
        if (fstat(fileno(f), &st) < 0 || (st.st_mode & 077) || (st.st_uid != 0 && st.st_uid != geteuid())) {
                fclose(f);
                return -EPERM;
        }
        while (fgets(line, sizeof(line), f)) {
                char *s = line, *colon, *bs, *e;
                NtlmAccount a = {};
                NtlmAccount *nv;

                s[strcspn(s, "\r\n")] = '\0';
                while (isspace((unsigned char) *s))
                        s++;
                if (!*s || *s == '#')
                        continue;
                colon = strrchr(s, ':');
                if (!colon || strlen(colon + 1) < 32) {
                        r = -EINVAL;
                        break;
                }
                *colon = '\0';
                e = colon + 1;
                for (int i = 0; i < 16; i++) {
                        int hi = hex_nibble(e[2 * i]), lo = hex_nibble(e[2 * i + 1]);
                        if (hi < 0 || lo < 0) {
                                r = -EINVAL;
                                break;
                        }
                        a.hash[i] = (uint8_t) (hi << 4 | lo);
                }
                if (r < 0 || (e[32] && !isspace((unsigned char) e[32]))) {
                        r = -EINVAL;
                        break;
                }
                bs = strchr(s, '\\');
                if (bs) {
                        *bs = '\0';
                        a.domain = strdup(s);
                        a.user = strdup(bs + 1);
                } else {
                        a.domain = strdup(domain);
                        a.user = strdup(s);
                }
                if (!a.domain || !a.user || n >= STORE_MAX_ENTRIES || name_key(a.user, a.user_key) < 0 ||
                    name_key(a.domain, a.domain_key) < 0 || !(nv = reallocarray(v, n + 1, sizeof(*v)))) {
                        free(a.domain);
                        free(a.user);
                        r = n >= STORE_MAX_ENTRIES ? -E2BIG : -ENOMEM;
                        break;
                }
                v = nv;
                v[n++] = a;
                explicit_bzero(&a, sizeof(a));
        }
        explicit_bzero(line, sizeof(line));
        fclose(f);
        explicit_bzero(iobuf, sizeof(iobuf));
        if (r < 0) {
                for (size_t i = 0; i < n; i++) {
                        free(v[i].user);
                        free(v[i].domain);
                }
                if (v)
                        explicit_bzero(v, n * sizeof(*v));
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static SECURITY_STATUS acquire_inbound(NtlmCred *c, const PkgAcquire *a) {
        const Config *cfg = a->config;
        const NtlmStoreGrant *g = NULL;
        bool exists = false;
        int r;

        if (!cfg)
                return SEC_E_NO_CREDENTIALS;
        for (size_t i = 0; i < cfg->n_ntlm_stores; i++) {
                const NtlmStoreGrant *x = &cfg->ntlm_stores[i];

                /* pszPrincipal may name a store or its domain. */
                if (a->principal && *a->principal && strcasecmp(a->principal, x->name) &&
                    strcasecmp(a->principal, x->domain))
                        continue;
                exists = true;
                if (principals_match(&x->allow, a->caller)) {
                        g = x;
                        break;
                }
        }
        if (!g)
                return exists ? SEC_E_NOT_OWNER : SEC_E_NO_CREDENTIALS;
        r = ntlm_store_load(g->file, g->domain, &c->accounts, &c->n_accounts);
        if (r < 0) {
                fprintf(stderr, "ntlm: cannot use store %s (%s): %s\n", g->name, g->file,
                        r == -EPERM ? "readable by others or foreign owner" : strerror(-r));
                return SEC_E_NO_CREDENTIALS;
        }
        c->allow_v1 = g->allow_ntlmv1;
        c->store_domain = strdup(g->domain);
        return c->store_domain ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
}

static SECURITY_STATUS acquire_outbound(NtlmCred *c, const PkgAcquire *a) {
        const char *user = a->user, *domain = a->domain;
        char *split = NULL;
        const char *at, *bs;

        if (!a->has_identity || !user || !*user || !a->password)
                return SEC_E_NO_CREDENTIALS; /* no single sign-on: NTLM needs the password */
        if ((!domain || !*domain) && (bs = strchr(user, '\\'))) {
                split = strndup(user, (size_t) (bs - user));
                domain = split;
                user = bs + 1;
        } else if ((!domain || !*domain) && (at = strrchr(user, '@'))) {
                split = strdup(at + 1);
                c->user = strndup(user, (size_t) (at - user));
                domain = split;
                user = NULL;
        }
        if (user)
                c->user = strdup(user);
        c->domain = strdup(domain ? domain : "");
        free(split);
        if (!c->user || !c->domain)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!*c->user)
                return SEC_E_NO_CREDENTIALS;
        if (ntlm_nt_hash(a->password, a->password_len, c->nt_hash) < 0)
                return SEC_E_UNKNOWN_CREDENTIALS;
        return SEC_E_OK;
}

static SECURITY_STATUS ntlm_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        NtlmCred *c = calloc(1, sizeof(*c));
        SECURITY_STATUS st_out = SEC_E_NO_CREDENTIALS, st_in = SEC_E_NO_CREDENTIALS;

        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (a->use & SECPKG_CRED_OUTBOUND) {
                st_out = acquire_outbound(c, a);
                if (st_out == SEC_E_OK)
                        c->use |= SECPKG_CRED_OUTBOUND;
        }
        if (a->use & SECPKG_CRED_INBOUND) {
                st_in = acquire_inbound(c, a);
                if (st_in == SEC_E_OK)
                        c->use |= SECPKG_CRED_INBOUND;
        }
        if (c->use == 0) {
                ntlm_cred_free(c);
                return pkg_acquire_failure(a->use, st_out, st_in);
        }
        *ret_cred = c;
        *ret_expiry = FILETIME_NEVER;
        return SEC_E_OK;
}

static SECURITY_STATUS ntlm_cred_name(void *p, char **ret_name) {
        NtlmCred *c = p;
        char *s = NULL;

        if (c->use & SECPKG_CRED_OUTBOUND) {
                if (asprintf(&s, "%s\\%s", c->domain, c->user) < 0)
                        return SEC_E_INSUFFICIENT_MEMORY;
        } else if (asprintf(&s, "%s\\", c->store_domain) < 0)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret_name = s;
        return SEC_E_OK;
}

static bool ntlm_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        return false; /* MD4/MD5/RC4 over a few hundred bytes */
}

/* ---- client ----------------------------------------------------------------- */

static SECURITY_STATUS client_negotiate(PkgStep *s, NtlmCred *cred) {
        NtlmCtx *c = calloc(1, sizeof(*c));
        NtlmWriter w = {};
        uint8_t *h;
        SECURITY_STATUS st;

        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->initiator = true;
        c->req_flags = s->req_flags;
        if (s->target && *s->target && !(c->target = strdup(s->target)))
                return step_failed(s, c, SEC_E_INSUFFICIENT_MEMORY);
        c->user = strdup(cred->user);
        c->domain = strdup(cred->domain);
        if (!c->user || !c->domain)
                return step_failed(s, c, SEC_E_INSUFFICIENT_MEMORY);

        h = wr_reserve(&w, 40);
        if (h) {
                memset(h, 0, 40);
                memcpy(h, NTLM_SIGNATURE, 8);
                put32(h + 8, NTLM_NEGOTIATE);
                put32(h + 12, CLIENT_FLAGS);
                put32(h + 20, 40);
                put32(h + 28, 40);
                memcpy(h + 32, ntlm_version, 8);
        }
        st = put_output(s, &w);
        if (st == SEC_E_OK && keep_msg(c, 0, w.p, w.len) < 0)
                st = SEC_E_INSUFFICIENT_MEMORY;
        wr_free(&w);
        if (st != SEC_E_OK)
                return step_failed(s, c, st);
        s->ctx = c;
        c->ret_flags = ret_flags_from(c->req_flags, true);
        s->ret_flags = c->ret_flags;
        s->expiry = FILETIME_NEVER;
        return SEC_I_CONTINUE_NEEDED;
}

int ntlm_v2_response(const uint8_t ntowf[16], const uint8_t server_challenge[8], const uint8_t client_challenge[8],
                     const uint8_t timestamp[8], const uint8_t *av, size_t av_len, uint8_t **ret_resp,
                     size_t *ret_len, uint8_t ret_base_key[16]) {
        size_t tlen = 28 + av_len + 4;
        uint8_t *r = calloc(1, 16 + tlen);

        if (!r)
                return -ENOMEM;
        r[16] = 1;
        r[17] = 1;
        memcpy(r + 16 + 8, timestamp, 8);
        memcpy(r + 16 + 16, client_challenge, 8);
        memcpy(r + 16 + 28, av, av_len);
        ntlm_hmac_md5(ntowf, 16, server_challenge, 8, r + 16, tlen, r);
        ntlm_hmac_md5(ntowf, 16, r, 16, NULL, 0, ret_base_key);
        *ret_resp = r;
        *ret_len = 16 + tlen;
        return 0;
}

static SECURITY_STATUS client_authenticate(PkgStep *s, NtlmCtx *c, NtlmCred *cred) {
        PkgBuffer *in = find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        PkgBuffer *cbb = find_buffer(s->in, s->n_in, SECBUFFER_CHANNEL_BINDINGS);
        NtlmReader m, tinfo, tname;
        AvInfo av;
        NtlmWriter avw = {}, w = {};
        uint32_t flags;
        uint8_t cc[8], ts[8], ntowf[16], base[16], lm[24] = { 0 }, enc_key[16], cb[16] = { 0 }, mic[16];
        uint8_t *nt = NULL, *u_user = NULL, *u_dom = NULL, *u_ws = NULL, *u_tgt = NULL, *h;
        size_t nt_len = 0, l_user = 0, l_dom = 0, l_ws = 0, l_tgt = 0;
        char *ws = NULL;
        SECURITY_STATUS st;

        if (!in || in->len == 0)
                return step_failed(s, c, SEC_E_INVALID_TOKEN);
        m = (NtlmReader) { in->data, in->len };
        if (!rd_header(&m, NTLM_CHALLENGE) || m.len < 48 || !rd_field(&m, 12, &tname) || !rd_u32(&m, 20, &flags))
                return step_failed(s, c, SEC_E_INVALID_TOKEN);
        memcpy(c->challenge, m.p + 24, 8);
        /* No target info means no NTLMv2: refused, there is no v1 here. */
        if (!(flags & NTLMSSP_NEGOTIATE_TARGET_INFO) || !rd_field(&m, 40, &tinfo) || tinfo.len == 0 ||
            !av_parse(tinfo, &av))
                return step_failed(s, c, SEC_E_INVALID_TOKEN);
        if (!(flags & NTLMSSP_NEGOTIATE_UNICODE))
                return step_failed(s, c, SEC_E_UNSUPPORTED_FUNCTION);
        if (keep_msg(c, 1, m.p, m.len) < 0)
                return step_failed(s, c, SEC_E_INSUFFICIENT_MEMORY);
        c->flags = flags & CLIENT_FLAGS;

        if (cbb) {
                st = bindings_hash(cbb, cb);
                if (st != SEC_E_OK)
                        return step_failed(s, c, st);
        }

        /* Our AV pairs: the server's, a MIC flag when it sent a timestamp,
         * channel bindings, the SPN we meant to reach. */
        for (size_t off = 0; off < av.pairs.len;) {
                /* av_parse checked every pair; ours replace the server's. */
                uint16_t id = le16(av.pairs.p + off), l = le16(av.pairs.p + off + 2);
                if (id != MSV_AV_FLAGS && id != MSV_AV_CHANNEL_BINDINGS && id != MSV_AV_TARGET_NAME)
                        wr_bytes(&avw, av.pairs.p + off, 4 + (size_t) l);
                off += 4 + (size_t) l;
        }
        if (av.has_timestamp) {
                uint8_t f[4];
                put32(f, (av.has_flags ? av.flags : 0) | MSV_AV_FLAG_MIC_PRESENT);
                wr_av(&avw, MSV_AV_FLAGS, f, 4);
                memcpy(ts, av.timestamp, 8);
        } else {
                int64_t now = filetime_now();
                for (int i = 0; i < 8; i++)
                        ts[i] = (uint8_t) ((uint64_t) now >> (8 * i));
        }
        wr_av(&avw, MSV_AV_CHANNEL_BINDINGS, cb, 16);
        if (c->target) {
                if (ntlm_utf16(c->target, false, &u_tgt, &l_tgt) < 0) {
                        st = SEC_E_TARGET_UNKNOWN;
                        goto fail;
                }
                wr_av(&avw, MSV_AV_TARGET_NAME, u_tgt, l_tgt);
        }
        wr_av(&avw, MSV_AV_EOL, NULL, 0);
        if (avw.failed) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto fail;
        }

        random_bytes(cc, 8);
        if (ntlm_ntowfv2(cred->nt_hash, cred->user, cred->domain, ntowf) < 0 ||
            ntlm_v2_response(ntowf, c->challenge, cc, ts, avw.p, avw.len, &nt, &nt_len, base) < 0) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto fail;
        }
        if (!av.has_timestamp) {
                /* LMv2 only when the server gave no timestamp (MS-NLMP 3.1.5.1.2). */
                ntlm_hmac_md5(ntowf, 16, c->challenge, 8, cc, 8, lm);
                memcpy(lm + 16, cc, 8);
        }
        if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
                NtlmRc4 rc;
                random_bytes(c->exported, 16);
                ntlm_rc4_init(&rc, base, 16);
                ntlm_rc4(&rc, c->exported, enc_key, 16);
                explicit_bzero(&rc, sizeof(rc));
        } else
                memcpy(c->exported, base, 16);

        ws = local_host(true);
        if (!ws || ntlm_utf16(c->user, false, &u_user, &l_user) < 0 ||
            ntlm_utf16(c->domain, false, &u_dom, &l_dom) < 0 || ntlm_utf16(ws, false, &u_ws, &l_ws) < 0) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto fail;
        }
        h = wr_reserve(&w, AUTH_HEADER_SIZE);
        if (h) {
                memset(h, 0, AUTH_HEADER_SIZE);
                memcpy(h, NTLM_SIGNATURE, 8);
                put32(h + 8, NTLM_AUTHENTICATE);
                put32(h + 60, c->flags);
                memcpy(h + 64, ntlm_version, 8);
        }
        wr_payload(&w, 28, u_dom, l_dom);
        wr_payload(&w, 36, u_user, l_user);
        wr_payload(&w, 44, u_ws, l_ws);
        wr_payload(&w, 12, lm, 24);
        wr_payload(&w, 20, nt, nt_len);
        if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)
                wr_payload(&w, 52, enc_key, 16);
        else
                wr_payload(&w, 52, NULL, 0);
        if (w.failed) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto fail;
        }
        if (av.has_timestamp) {
                NtlmWriter all = {};
                wr_bytes(&all, c->msg[0], c->msg_len[0]);
                wr_bytes(&all, c->msg[1], c->msg_len[1]);
                wr_bytes(&all, w.p, w.len);
                if (all.failed) {
                        wr_free(&all);
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto fail;
                }
                ntlm_hmac_md5(c->exported, 16, all.p, all.len, NULL, 0, mic);
                wr_free(&all);
                memcpy(w.p + MIC_OFFSET, mic, 16);
        }
        st = put_output(s, &w);
        if (st != SEC_E_OK)
                goto fail;

        ctx_keys(c);
        c->established = true;
        c->start = filetime_now();
        free(c->msg[0]);
        free(c->msg[1]);
        c->msg[0] = c->msg[1] = NULL;
        s->ctx = c;
        c->ret_flags = ret_flags_from(c->req_flags, true);
        s->ret_flags = c->ret_flags;
        s->expiry = FILETIME_NEVER;
        st = SEC_E_OK;
        goto out;
fail:
        st = step_failed(s, c, st);
out:
        explicit_bzero(ntowf, sizeof(ntowf));
        explicit_bzero(base, sizeof(base));
        explicit_bzero(enc_key, sizeof(enc_key));
        free(nt);
        free(u_user);
        free(u_dom);
        free(u_ws);
        free(u_tgt);
        free(ws);
        wr_free(&avw);
        wr_free(&w);
        return st;
}

static SECURITY_STATUS ntlm_init_ctx(PkgStep *s) {
        NtlmCtx *c = s->ctx;
        NtlmCred *cred = s->cred;

        if (!c) {
                if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                        return SEC_E_NO_CREDENTIALS;
                return client_negotiate(s, cred);
        }
        if (!c->initiator || c->established)
                return SEC_E_INVALID_HANDLE;
        if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                return step_failed(s, c, SEC_E_NO_CREDENTIALS);
        return client_authenticate(s, c, cred);
}

/* ---- server ----------------------------------------------------------------- */

static SECURITY_STATUS server_challenge(PkgStep *s, NtlmCred *cred, NtlmReader m) {
        NtlmCtx *c;
        NtlmWriter w = {}, av = {};
        uint32_t cflags;
        uint8_t *h, *u = NULL, ts[8];
        size_t ul = 0;
        char *host = NULL, *hostu = NULL, *domu = NULL;
        int64_t now = filetime_now();
        SECURITY_STATUS st;

        if (!rd_header(&m, NTLM_NEGOTIATE) || !rd_u32(&m, 12, &cflags))
                return SEC_E_INVALID_TOKEN;
        if (!(cflags & NTLMSSP_NEGOTIATE_NTLM) && !(cflags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY))
                return SEC_E_INVALID_TOKEN;
        c = calloc(1, sizeof(*c));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->req_flags = s->req_flags;
        if (keep_msg(c, 0, m.p, m.len) < 0)
                return step_failed(s, c, SEC_E_INSUFFICIENT_MEMORY);
        c->flags = NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_NTLM |
                   NTLMSSP_TARGET_TYPE_DOMAIN | NTLMSSP_NEGOTIATE_TARGET_INFO | (cflags & SERVER_FLAGS_ECHO);
        random_bytes(c->challenge, 8);

        host = local_host(false);
        hostu = local_host(true);
        domu = strdup(cred->store_domain);
        if (!host || !hostu || !domu) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        for (char *p = domu; *p; p++)
                *p = (char) toupper((unsigned char) *p);
        for (int i = 0; i < 8; i++)
                ts[i] = (uint8_t) ((uint64_t) now >> (8 * i));
#define AV_STR(id, str)                                                  \
        do {                                                             \
                if (ntlm_utf16((str), false, &u, &ul) < 0) {             \
                        st = SEC_E_INSUFFICIENT_MEMORY;                  \
                        goto out;                                        \
                }                                                        \
                wr_av(&av, (id), u, ul);                                 \
                free(u);                                                 \
                u = NULL;                                                \
        } while (0)
        AV_STR(MSV_AV_NB_DOMAIN_NAME, domu);
        AV_STR(MSV_AV_NB_COMPUTER_NAME, hostu);
        AV_STR(MSV_AV_DNS_DOMAIN_NAME, cred->store_domain);
        AV_STR(MSV_AV_DNS_COMPUTER_NAME, host);
#undef AV_STR
        wr_av(&av, MSV_AV_TIMESTAMP, ts, 8);
        wr_av(&av, MSV_AV_EOL, NULL, 0);

        h = wr_reserve(&w, 56);
        if (h) {
                memset(h, 0, 56);
                memcpy(h, NTLM_SIGNATURE, 8);
                put32(h + 8, NTLM_CHALLENGE);
                put32(h + 20, c->flags);
                memcpy(h + 24, c->challenge, 8);
                memcpy(h + 48, ntlm_version, 8);
        }
        if (ntlm_utf16(domu, false, &u, &ul) < 0) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        wr_payload(&w, 12, u, ul);
        wr_payload(&w, 40, av.p, av.len);
        if (av.failed)
                w.failed = true;
        st = put_output(s, &w);
        if (st == SEC_E_OK && keep_msg(c, 1, w.p, w.len) < 0)
                st = SEC_E_INSUFFICIENT_MEMORY;
out:
        free(u);
        free(host);
        free(hostu);
        free(domu);
        wr_free(&av);
        wr_free(&w);
        if (st != SEC_E_OK)
                return step_failed(s, c, st);
        s->ctx = c;
        c->ret_flags = ret_flags_from(c->req_flags, false);
        s->ret_flags = c->ret_flags;
        s->expiry = FILETIME_NEVER;
        return SEC_I_CONTINUE_NEEDED;
}

static char *field_string(NtlmReader f, bool unicode) {
        char *s;

        if (unicode)
                return f.len ? ntlm_utf8(f.p, f.len) : strdup("");
        /* OEM: take Latin-1 bytes, refuse control characters. */
        s = malloc(f.len * 2 + 1);
        if (!s)
                return NULL;
        {
                size_t o = 0;
                for (size_t i = 0; i < f.len; i++) {
                        uint8_t b = f.p[i];
                        if (b < 0x20) {
                                free(s);
                                return NULL;
                        }
                        if (b < 0x80)
                                s[o++] = (char) b;
                        else {
                                s[o++] = (char) (0xc0 | b >> 6);
                                s[o++] = (char) (0x80 | (b & 0x3f));
                        }
                }
                s[o] = '\0';
        }
        return s;
}

/* Every entry is compared, by fingerprint and without a data-dependent
 * branch, so the time does not depend on where (or whether) the user is
 * found; `ret` gets the first match's hash or a random one. 1 when found,
 * 0 when not, -ENOMEM. */
static uint8_t dummy_hash[16];

static void init_dummy(void) {
        random_bytes(dummy_hash, 16);
}

static unsigned ct_eq32(const uint8_t *a, const uint8_t *b) {
        unsigned d = 0;
        for (size_t i = 0; i < 32; i++)
                d |= (unsigned) (a[i] ^ b[i]);
        return 1U & ((d - 1U) >> 8); /* 1 when d == 0 */
}

static int account_lookup(const NtlmCred *cred, const char *user, const char *domain, uint8_t ret[16]) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        uint8_t ukey[32], dkey[32];
        unsigned found = 0, any_domain = *domain ? 0U : 1U;

        (void) pthread_once(&once, init_dummy);
        if (name_key(user, ukey) < 0 || name_key(domain, dkey) < 0)
                return -ENOMEM;
        memcpy(ret, dummy_hash, 16);
        for (size_t i = 0; i < cred->n_accounts; i++) {
                const NtlmAccount *a = &cred->accounts[i];
                unsigned take = ct_eq32(a->user_key, ukey) & (any_domain | ct_eq32(a->domain_key, dkey)) & ~found;
                uint8_t mask = (uint8_t) (0U - take);

                for (size_t j = 0; j < 16; j++)
                        ret[j] = (uint8_t) ((ret[j] & ~mask) | (a->hash[j] & mask));
                found |= take;
        }
        return (int) found;
}

/* An NTLMv1 response with extended session security (the NTLM2 session
 * response: LmChallengeResponse = client nonce || 16 zeros, NT =
 * DESL(hash, MD5(server challenge || client nonce)[0..8])): 1 when it
 * matches, 0 when not, -ENOMEM; the KeyExchangeKey into `kxkey` either way. */
static int ntlm2_session_verify(const uint8_t hash[16], const uint8_t chal[8], const uint8_t *lm, const uint8_t *nt,
                                uint8_t kxkey[16]) {
        struct ntlm_buf l = { 0, NULL }, n = { 0, NULL };
        uint8_t sbk[16];
        int ok;

        if (heim_ntlm_calculate_ntlm2_sess(lm, chal, hash, &l, &n) != 0)
                return -ENOMEM;
        ok = n.length == 24 && memcmp_const(n.data, nt, 24) == 0;
        heim_ntlm_free_buf(&l);
        heim_ntlm_free_buf(&n);
        ntlm_md4(hash, 16, sbk); /* SessionBaseKey */
        ntlm_hmac_md5(sbk, 16, chal, 8, lm, 8, kxkey);
        explicit_bzero(sbk, sizeof(sbk));
        return ok;
}

static SECURITY_STATUS server_verify(PkgStep *s, NtlmCtx *c, NtlmCred *cred, NtlmReader m) {
        NtlmReader lm, ntr, dom, usr, ws, ekey, temp = { NULL, 0 };
        PkgBuffer *cbb = find_buffer(s->in, s->n_in, SECBUFFER_CHANNEL_BINDINGS);
        uint32_t flags;
        AvInfo av;
        uint8_t hash[16], ntowf[16], proof[16], base[16], mic[16], cb[16];
        int known;
        bool ok, unicode, v1;
        char *user = NULL, *domain = NULL;
        SECURITY_STATUS st = SEC_E_LOGON_DENIED;

        if (!rd_header(&m, NTLM_AUTHENTICATE) || m.len < 64 || !rd_field(&m, 12, &lm) || !rd_field(&m, 20, &ntr) ||
            !rd_field(&m, 28, &dom) || !rd_field(&m, 36, &usr) || !rd_field(&m, 44, &ws) ||
            !rd_field(&m, 52, &ekey) || !rd_u32(&m, 60, &flags))
                return step_failed(s, c, SEC_E_INVALID_TOKEN);
        /* Anonymous and LM responses are refused; NTLMv1 (24 bytes) too
         * unless the store allows it, and then only with extended session
         * security (sealing here has no other key schedule). */
        v1 = ntr.len == 24;
        if (v1 && (!cred->allow_v1 || lm.len != 24 || !(flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) ||
                   !(c->flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)))
                return step_failed(s, c, SEC_E_LOGON_DENIED);
        av = (AvInfo) {};
        if (!v1) {
                if (ntr.len < 16 + 28 + 4)
                        return step_failed(s, c, SEC_E_LOGON_DENIED);
                temp = (NtlmReader) { ntr.p + 16, ntr.len - 16 };
                if (temp.p[0] != 1 || temp.p[1] != 1)
                        return step_failed(s, c, SEC_E_INVALID_TOKEN);
                if (!av_parse((NtlmReader) { temp.p + 28, temp.len - 28 }, &av))
                        return step_failed(s, c, SEC_E_INVALID_TOKEN);
        }
        unicode = flags & NTLMSSP_NEGOTIATE_UNICODE;
        user = field_string(usr, unicode);
        domain = field_string(dom, unicode);
        if (!user || !domain) {
                st = SEC_E_INVALID_TOKEN;
                goto out;
        }

        known = account_lookup(cred, user, domain, hash);
        if (known < 0) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        if (v1) {
                int r = ntlm2_session_verify(hash, c->challenge, lm.p, ntr.p, base);
                if (r < 0) {
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                ok = (r == 1) & (known == 1);
        } else {
                if (ntlm_ntowfv2(hash, user, domain, ntowf) < 0) {
                        st = SEC_E_INVALID_TOKEN;
                        goto out;
                }
                ntlm_hmac_md5(ntowf, 16, c->challenge, 8, temp.p, temp.len, proof);
                ok = (memcmp_const(proof, ntr.p, 16) == 0) & (known == 1);
                ntlm_hmac_md5(ntowf, 16, proof, 16, NULL, 0, base);
        }
        if (!ok) {
                st = SEC_E_LOGON_DENIED;
                goto out;
        }
        if ((flags & NTLMSSP_NEGOTIATE_KEY_EXCH) && (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)) {
                NtlmRc4 rc;
                if (ekey.len != 16) {
                        st = SEC_E_INVALID_TOKEN;
                        goto out;
                }
                ntlm_rc4_init(&rc, base, 16);
                ntlm_rc4(&rc, ekey.p, c->exported, 16);
                explicit_bzero(&rc, sizeof(rc));
        } else
                memcpy(c->exported, base, 16);

        if (av.has_flags && (av.flags & MSV_AV_FLAG_MIC_PRESENT)) {
                NtlmWriter all = {};
                uint8_t *a3;

                if (m.len < AUTH_HEADER_SIZE) {
                        st = SEC_E_INVALID_TOKEN;
                        goto out;
                }
                wr_bytes(&all, c->msg[0], c->msg_len[0]);
                wr_bytes(&all, c->msg[1], c->msg_len[1]);
                a3 = wr_reserve(&all, m.len);
                if (all.failed) {
                        wr_free(&all);
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                memcpy(a3, m.p, m.len);
                memset(a3 + MIC_OFFSET, 0, 16);
                ntlm_hmac_md5(c->exported, 16, all.p, all.len, NULL, 0, mic);
                wr_free(&all);
                if (memcmp_const(mic, m.p + MIC_OFFSET, 16) != 0) {
                        st = SEC_E_MESSAGE_ALTERED;
                        goto out;
                }
        }
        if (cbb) {
                static const uint8_t zero[16];
                st = bindings_hash(cbb, cb);
                if (st != SEC_E_OK)
                        goto out;
                /* A client that sent no bindings is accepted, as Windows
                 * does unless the policy demands them; different ones never. */
                if (av.has_cb && memcmp(av.cb, zero, 16) && memcmp_const(av.cb, cb, 16)) {
                        st = SEC_E_BAD_BINDINGS;
                        goto out;
                }
        }

        c->flags &= flags | NTLMSSP_NEGOTIATE_TARGET_INFO;
        c->user = TAKE_PTR(user);
        c->domain = TAKE_PTR(domain);
        ctx_keys(c);
        c->established = true;
        c->start = filetime_now();
        for (int i = 0; i < 2; i++) {
                free(c->msg[i]);
                c->msg[i] = NULL;
        }
        s->ctx = c;
        c->ret_flags = ret_flags_from(c->req_flags, false);
        s->ret_flags = c->ret_flags;
        s->expiry = FILETIME_NEVER;
        st = SEC_E_OK;
out:
        explicit_bzero(hash, sizeof(hash));
        explicit_bzero(ntowf, sizeof(ntowf));
        explicit_bzero(proof, sizeof(proof));
        explicit_bzero(base, sizeof(base));
        free(user);
        free(domain);
        if (st != SEC_E_OK)
                return step_failed(s, c, st);
        return st;
}

static SECURITY_STATUS ntlm_accept_ctx(PkgStep *s) {
        NtlmCtx *c = s->ctx;
        NtlmCred *cred = s->cred;
        PkgBuffer *in = find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        NtlmReader m;

        if (c && (c->initiator || c->established))
                return SEC_E_INVALID_HANDLE;
        if (!cred || !(cred->use & SECPKG_CRED_INBOUND))
                return c ? step_failed(s, c, SEC_E_NO_CREDENTIALS) : SEC_E_NO_CREDENTIALS;
        if (!in || in->len == 0)
                return c ? step_failed(s, c, SEC_E_INVALID_TOKEN) : SEC_E_INVALID_TOKEN;
        m = (NtlmReader) { in->data, in->len };
        if (!c)
                return server_challenge(s, cred, m);
        return server_verify(s, c, cred, m);
}

static SECURITY_STATUS ntlm_complete(void *ctx, PkgBuffer *b, size_t n) {
        return ctx ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_INVALID_HANDLE;
}

/* ---- attributes --------------------------------------------------------------- */

static SECURITY_STATUS ntlm_query_ctx(void *ctx, uint32_t attr, PkgCtxAttr *out) {
        NtlmCtx *c = ctx;

        if (!c)
                return SEC_E_INVALID_HANDLE;
        switch (attr) {
        case SECPKG_ATTR_SIZES:
                out->sizes = (SecPkgContext_Sizes) { .cbMaxToken = NTLM_MAX_TOKEN,
                                                     .cbMaxSignature = NTLM_SIG_SIZE,
                                                     .cbBlockSize = 0,
                                                     .cbSecurityTrailer = NTLM_SIG_SIZE };
                out->has_sizes = true;
                return SEC_E_OK;
        case SECPKG_ATTR_FLAGS:
                out->flags = c->ret_flags;
                out->has_flags = true;
                return SEC_E_OK;
        case SECPKG_ATTR_NAMES:
        case SECPKG_ATTR_NATIVE_NAMES:
        case SECPKG_ATTR_LIFESPAN:
        case SECPKG_ATTR_SESSION_KEY:
                if (!c->established)
                        return SEC_E_INVALID_HANDLE;
                break;
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
        switch (attr) {
        case SECPKG_ATTR_NAMES:
                if (asprintf(&out->user_name, "%s\\%s", c->domain, c->user) < 0) {
                        out->user_name = NULL;
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                return SEC_E_OK;
        case SECPKG_ATTR_NATIVE_NAMES:
                if (asprintf(&out->client_name, "%s\\%s", c->domain, c->user) < 0) {
                        out->client_name = NULL;
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                out->server_name = strdup(c->target ? c->target : "");
                return out->server_name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        case SECPKG_ATTR_LIFESPAN:
                out->start = c->start;
                out->expiry = FILETIME_NEVER;
                out->has_lifespan = true;
                return SEC_E_OK;
        default:
                out->session_key = malloc(16);
                if (!out->session_key)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(out->session_key, c->exported, 16);
                out->session_key_len = 16;
                return SEC_E_OK;
        }
}

/* ---- message protection ---------------------------------------------------------- */

static bool buffer_is_signed(const PkgBuffer *b) {
        if (b->type & SECBUFFER_READONLY_WITH_CHECKSUM)
                return true;
        return pkg_buffer_base_type(b) == SECBUFFER_DATA;
}

static bool buffer_is_sealed(const PkgBuffer *b) {
        return pkg_buffer_base_type(b) == SECBUFFER_DATA && !(b->type & SECBUFFER_ATTRMASK);
}

static SECURITY_STATUS gather(PkgBuffer *b, size_t n, NtlmIov **ret, size_t *ret_n) {
        NtlmIov *v = calloc(n ? n : 1, sizeof(*v));
        size_t k = 0;

        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        for (size_t i = 0; i < n; i++)
                if (buffer_is_signed(&b[i]))
                        v[k++] = (NtlmIov) { b[i].data, b[i].len };
        *ret = v;
        *ret_n = k;
        return SEC_E_OK;
}

static bool use_rc4_mac(const NtlmCtx *c) {
        return c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH;
}

static SECURITY_STATUS ntlm_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        NtlmCtx *c = ctx;
        PkgBuffer *tok;
        NtlmIov *v;
        size_t k;
        SECURITY_STATUS st;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (qop != 0)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok)
                return SEC_E_INVALID_TOKEN;
        if (tok->cap < NTLM_SIG_SIZE)
                return SEC_E_BUFFER_TOO_SMALL;
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        ntlm_signature(c->initiator ? c->keys.client_sign : c->keys.server_sign,
                       use_rc4_mac(c) ? &c->send_rc4 : NULL, c->send_seq++, v, k, tok->data);
        tok->len = NTLM_SIG_SIZE;
        free(v);
        return SEC_E_OK;
}

/* Check a received signature's sequence number, then its checksum. */
static SECURITY_STATUS check_signature(NtlmCtx *c, const uint8_t *sig, const NtlmIov *v, size_t k) {
        uint8_t want[NTLM_SIG_SIZE];
        SECURITY_STATUS st = SEC_E_OK;

        if (le32(sig) != 1)
                return SEC_E_MESSAGE_ALTERED;
        if (le32(sig + 12) != c->recv_seq)
                return SEC_E_OUT_OF_SEQUENCE;
        ntlm_signature(c->initiator ? c->keys.server_sign : c->keys.client_sign,
                       use_rc4_mac(c) ? &c->recv_rc4 : NULL, c->recv_seq, v, k, want);
        if (memcmp_const(want, sig, NTLM_SIG_SIZE) != 0)
                st = SEC_E_MESSAGE_ALTERED;
        else
                c->recv_seq++;
        explicit_bzero(want, sizeof(want));
        return st;
}

static SECURITY_STATUS ntlm_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        NtlmCtx *c = ctx;
        PkgBuffer *tok;
        NtlmIov *v;
        size_t k;
        SECURITY_STATUS st;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        tok = find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || tok->len < NTLM_SIG_SIZE)
                return SEC_E_INVALID_TOKEN;
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        st = check_signature(c, tok->data, v, k);
        free(v);
        if (st == SEC_E_OK && ret_qop)
                *ret_qop = 0;
        return st;
}

static SECURITY_STATUS ntlm_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        NtlmCtx *c = ctx;
        PkgBuffer *tok;
        NtlmIov *v;
        size_t k;
        SECURITY_STATUS st;
        bool encrypt = qop == 0;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        if (qop != 0 && qop != SECQOP_WRAP_NO_ENCRYPT)
                return SEC_E_QOP_NOT_SUPPORTED;
        tok = find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || !find_buffer(b, n, SECBUFFER_DATA))
                return SEC_E_INVALID_TOKEN;
        if (tok->cap < NTLM_SIG_SIZE)
                return SEC_E_BUFFER_TOO_SMALL;
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        /* MAC over the plaintext; the RC4 stream then covers the data
         * and, after it, the checksum (MS-NLMP 3.4.3). */
        ntlm_signature(c->initiator ? c->keys.client_sign : c->keys.server_sign, NULL, c->send_seq++, v, k,
                       tok->data);
        free(v);
        if (encrypt)
                for (size_t i = 0; i < n; i++)
                        if (buffer_is_sealed(&b[i]) && b[i].len)
                                ntlm_rc4(&c->send_rc4, b[i].data, b[i].data, b[i].len);
        if (use_rc4_mac(c))
                ntlm_rc4(&c->send_rc4, tok->data + 4, tok->data + 4, 8);
        tok->len = NTLM_SIG_SIZE;
        return SEC_E_OK;
}

static SECURITY_STATUS ntlm_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        NtlmCtx *c = ctx;
        PkgBuffer *tok;
        NtlmIov *v;
        size_t k;
        uint8_t want[NTLM_SIG_SIZE], got[8];
        SECURITY_STATUS st;

        if (!c || !c->established)
                return SEC_E_INVALID_HANDLE;
        tok = find_buffer(b, n, SECBUFFER_TOKEN);
        if (!tok || tok->len < NTLM_SIG_SIZE || !find_buffer(b, n, SECBUFFER_DATA))
                return SEC_E_INVALID_TOKEN;
        if (le32(tok->data) != 1)
                return SEC_E_MESSAGE_ALTERED;
        if (le32(tok->data + 12) != c->recv_seq)
                return SEC_E_OUT_OF_SEQUENCE;
        for (size_t i = 0; i < n; i++)
                if (buffer_is_sealed(&b[i]) && b[i].len)
                        ntlm_rc4(&c->recv_rc4, b[i].data, b[i].data, b[i].len);
        st = gather(b, n, &v, &k);
        if (st != SEC_E_OK)
                return st;
        ntlm_signature(c->initiator ? c->keys.server_sign : c->keys.client_sign, NULL, c->recv_seq, v, k, want);
        free(v);
        memcpy(got, tok->data + 4, 8);
        if (use_rc4_mac(c))
                ntlm_rc4(&c->recv_rc4, got, got, 8);
        st = memcmp_const(got, want + 4, 8) == 0 ? SEC_E_OK : SEC_E_MESSAGE_ALTERED;
        explicit_bzero(want, sizeof(want));
        if (st != SEC_E_OK)
                return st;
        c->recv_seq++;
        if (ret_qop)
                *ret_qop = 0;
        return SEC_E_OK;
}

static SECURITY_STATUS ntlm_import_ctx(const uint8_t *blob, size_t len, void **ret_ctx) {
        return SEC_E_UNSUPPORTED_FUNCTION;
}

const Provider provider_ntlm = {
        .name = "NTLM",
        .comment = "NTLM Security Package",
        .aliases = NULL,
        .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_TOKEN_ONLY |
                        SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_IMPERSONATION |
                        SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_NEGOTIABLE | SECPKG_FLAG_LOGON |
                        SECPKG_FLAG_READONLY_WITH_CHECKSUM,
        .version = 1,
        .rpcid = 10, /* RPC_C_AUTHN_WINNT */
        .max_token = NTLM_MAX_TOKEN,
        .acquire = ntlm_acquire,
        .cred_free = ntlm_cred_free,
        .cred_name = ntlm_cred_name,
        .step_may_block = ntlm_step_may_block,
        .init_ctx = ntlm_init_ctx,
        .accept_ctx = ntlm_accept_ctx,
        .complete = ntlm_complete,
        .query_ctx = ntlm_query_ctx,
        .sign = ntlm_sign,
        .verify = ntlm_verify,
        .seal = ntlm_seal,
        .unseal = ntlm_unseal,
        .import_ctx = ntlm_import_ctx,
        .ctx_free = ntlm_ctx_free,
};
