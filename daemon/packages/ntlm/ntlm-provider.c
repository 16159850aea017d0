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
#include "packages/bindings.h"
#include "packages/ntlm/ntlm-private.h"

/* 6.1 build 7601, NTLM revision 15: what Windows 7 sends. */
const uint8_t ntlm_version[8] = { 6, 1, 0xb1, 0x1d, 0, 0, 0, 15 };

/* ---- bounded reader ------------------------------------------------------ */

uint16_t ntlm_le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

uint32_t ntlm_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

void ntlm_put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

bool ntlm_rd_u32(const NtlmReader *r, size_t off, uint32_t *ret) {
        if (off > r->len || r->len - off < 4)
                return false;
        *ret = ntlm_le32(r->p + off);
        return true;
}

/* A (Len, MaxLen, BufferOffset) field at `off`: the payload it names must
 * lie inside the message. */
bool ntlm_rd_field(const NtlmReader *r, size_t off, NtlmReader *ret) {
        uint64_t l, o;

        if (off > r->len || r->len - off < 8)
                return false;
        l = ntlm_le16(r->p + off);
        o = ntlm_le32(r->p + off + 4);
        if (l == 0) {
                *ret = (NtlmReader) { NULL, 0 };
                return true;
        }
        if (o > r->len || l > r->len - o)
                return false;
        *ret = (NtlmReader) { r->p + o, l };
        return true;
}

bool ntlm_rd_header(const NtlmReader *r, uint32_t type) {
        return r->len >= 12 && !memcmp(r->p, NTLM_SIGNATURE, 8) && ntlm_le32(r->p + 8) == type;
}
bool ntlm_av_parse(NtlmReader r, AvInfo *ret) {
        size_t off = 0;

        *ret = (AvInfo) {};
        for (;;) {
                uint16_t id, l;

                if (r.len - off < 4)
                        return false;
                id = ntlm_le16(r.p + off);
                l = ntlm_le16(r.p + off + 2);
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
                        ret->flags = ntlm_le32(r.p + off + 4);
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
                        ret->target = (NtlmReader) { r.p + off + 4, l };
                        break;
                default:
                        break;
                }
                off += 4 + (size_t) l;
        }
}

/* ---- a growing writer ----------------------------------------------------- */

uint8_t *ntlm_wr_reserve(NtlmWriter *w, size_t n) {
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

void ntlm_wr_bytes(NtlmWriter *w, const void *d, size_t n) {
        uint8_t *p = ntlm_wr_reserve(w, n);
        if (p && n)
                memcpy(p, d, n);
}

void ntlm_wr_av(NtlmWriter *w, uint16_t id, const void *d, size_t n) {
        uint8_t h[4];
        put16(h, id);
        put16(h + 2, (uint16_t) n);
        ntlm_wr_bytes(w, h, 4);
        ntlm_wr_bytes(w, d, n);
}

/* Append a payload and point the (Len, MaxLen, Offset) field at `field` at it. */
void ntlm_wr_payload(NtlmWriter *w, size_t field, const void *d, size_t n) {
        size_t off = w->len;

        ntlm_wr_bytes(w, d, n);
        if (w->failed)
                return;
        put16(w->p + field, (uint16_t) n);
        put16(w->p + field + 2, (uint16_t) n);
        ntlm_put32(w->p + field + 4, (uint32_t) off);
}

void ntlm_wr_free(NtlmWriter *w) {
        if (w->p)
                explicit_bzero(w->p, w->cap);
        free(w->p);
        *w = (NtlmWriter) {};
}

/* ---- helpers -------------------------------------------------------------- */

PkgBuffer *ntlm_find_buffer(PkgBuffer *b, size_t n, uint32_t type) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type)
                        return &b[i];
        return NULL;
}

int64_t ntlm_filetime_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return filetime_from_unix(ts.tv_sec) + ts.tv_nsec / 100;
}

void ntlm_random_bytes(uint8_t *p, size_t n) {
        if (RAND_bytes(p, (int) n) != 1)
                abort(); /* no entropy: nothing safe to do */
}

int ntlm_hex_nibble(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) tolower((unsigned char) c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

char *ntlm_local_host(bool upper) {
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
SECURITY_STATUS ntlm_bindings_hash(const PkgBuffer *b, uint8_t out[16]) {
        const uint8_t *p = b->data;
        size_t len = b->len;
        uint32_t f[8];
        NtlmWriter w = {};
        SECURITY_STATUS st = SEC_E_OK;

        if (pkg_bindings_read(p, &len, f) != SEC_E_OK)
                return SEC_E_BAD_BINDINGS;
        for (size_t i = 0; i < 3; i++) {
                uint64_t l = i < 2 ? f[3 * i + 1] : f[6], o = i < 2 ? f[3 * i + 2] : f[7];
                uint8_t h[8];

                if (l && (o > len || l > len - o)) {
                        st = SEC_E_BAD_BINDINGS;
                        break;
                }
                if (i < 2) {
                        ntlm_put32(h, f[3 * i]);
                        ntlm_wr_bytes(&w, h, 4);
                }
                ntlm_put32(h, (uint32_t) l);
                ntlm_wr_bytes(&w, h, 4);
                if (l)
                        ntlm_wr_bytes(&w, p + o, l);
        }
        if (st == SEC_E_OK && w.failed)
                st = SEC_E_INSUFFICIENT_MEMORY;
        if (st == SEC_E_OK)
                ntlm_md5(w.p ? w.p : (const uint8_t *) "", w.len, NULL, 0, out);
        ntlm_wr_free(&w);
        return st;
}

/* Hand a finished message to the first SECBUFFER_TOKEN output slot. */
SECURITY_STATUS ntlm_put_output(PkgStep *s, NtlmWriter *w) {
        PkgBuffer *slot = ntlm_find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);
        uint8_t *copy;

        if (w->failed)
                return SEC_E_INSUFFICIENT_MEMORY;
        /* No SECBUFFER_TOKEN slot (pOutput NULL, or only a DATA buffer): no
         * room for the message (Windows-verified in Wine's ntlm.c runClient). */
        if (!slot)
                return SEC_E_BUFFER_TOO_SMALL;
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

int ntlm_keep_msg(NtlmCtx *c, int i, const uint8_t *p, size_t len) {
        uint8_t *m = malloc(len ? len : 1);
        if (!m)
                return -ENOMEM;
        memcpy(m, p, len);
        free(c->msg[i]);
        c->msg[i] = m;
        c->msg_len[i] = len;
        return 0;
}

/* The NEGOTIATE flags for the caller's ISC_REQ flags: SIGN for integrity,
 * replay or sequence detection (they need the signature's sequence
 * number), SEAL (and SIGN, which sealing carries) for confidentiality. */
uint32_t ntlm_client_flags(uint32_t isc_req) {
        uint32_t f = CLIENT_FLAGS_BASE;

        if (isc_req & (ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT | ISC_REQ_CONFIDENTIALITY))
                f |= NTLMSSP_NEGOTIATE_SIGN;
        if (isc_req & ISC_REQ_CONFIDENTIALITY)
                f |= NTLMSSP_NEGOTIATE_SEAL;
        return f;
}

/* pfContextAttr from the NegotiateFlags in force: the initiator reports
 * what it asked for and got; the acceptor what the session can do, since
 * the client chose SIGN and SEAL (integrity with SIGN, and replay and
 * sequence detection when asked; confidentiality with SEAL). */
uint32_t ntlm_ret_flags_from(uint32_t req, uint32_t negotiated, bool initiator) {
        uint32_t r = 0;

        if (initiator) {
                if (negotiated & NTLMSSP_NEGOTIATE_SIGN)
                        r |= req & (ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT);
                if (negotiated & NTLMSSP_NEGOTIATE_SEAL)
                        r |= req & ISC_REQ_CONFIDENTIALITY;
                r |= req & ISC_REQ_IDENTIFY;
                if (!(req & ISC_REQ_DATAGRAM))
                        r |= ISC_RET_CONNECTION;
                return r;
        }
        if (negotiated & NTLMSSP_NEGOTIATE_SIGN)
                r |= ASC_RET_INTEGRITY | (req & (ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT));
        if (negotiated & NTLMSSP_NEGOTIATE_SEAL)
                r |= ASC_RET_CONFIDENTIALITY;
        if (!(req & ASC_REQ_DATAGRAM))
                r |= ASC_RET_CONNECTION;
        return r;
}

void ntlm_ctx_keys(NtlmCtx *c) {
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

uint32_t ntlm_set_recv_seq(void *ctx, uint32_t seq) {
        NtlmCtx *c = ctx;
        uint32_t old = c->recv_seq;

        c->recv_seq = seq;
        return old;
}

static void ntlm_ctx_free(void *p) {
        NtlmCtx *c = p;

        if (!c)
                return;
        for (int i = 0; i < 3; i++)
                free(c->msg[i]);
        free(c->target);
        free(c->client_target);
        free(c->user);
        free(c->domain);
        pkg_sids_free(c->sids, c->n_sids);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

SECURITY_STATUS ntlm_step_failed(PkgStep *s, NtlmCtx *c, SECURITY_STATUS st) {
        for (size_t i = 0; i < s->n_out; i++)
                if (s->out[i].owned) {
                        free(s->out[i].data);
                        s->out[i] = (PkgBuffer) { .type = s->out[i].type, .cap = s->out[i].cap };
                }
        ntlm_ctx_free(c);
        s->ctx = NULL;
        return st;
}

const Provider provider_ntlm = {
        .name = "NTLM",
        .comment = "NTLM Security Package",
        .aliases = NULL,
        .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_TOKEN_ONLY |
                        SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_IMPERSONATION |
                        SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_NEGOTIABLE | SECPKG_FLAG_LOGON |
                        SECPKG_FLAG_RESTRICTED_TOKENS | SECPKG_FLAG_APPCONTAINER_CHECKS, /* as Windows 8.1/10 report */
        .version = 1,
        .rpcid = 10, /* RPC_C_AUTHN_WINNT */
        .max_token = NTLM_MAX_TOKEN,
        .acquire = ntlm_acquire,
        .cred_free = ntlm_cred_free,
        .cred_name = ntlm_cred_name,
        .step_may_block = ntlm_step_may_block,
        .waits_outside = true,
        .init_ctx = ntlm_init_ctx,
        .accept_ctx = ntlm_accept_ctx,
        .complete = ntlm_complete,
        .query_ctx = ntlm_query_ctx,
        .sign = ntlm_sign,
        .verify = ntlm_verify,
        .seal = ntlm_seal,
        .unseal = ntlm_unseal,
        .export_ctx = ntlm_export_ctx,
        .import_ctx = ntlm_import_ctx,
        .import_reset = ntlm_import_reset,
        .ctx_free = ntlm_ctx_free,
        .msg_keys = ntlm_msg_keys,
        .msg_keys_update = ntlm_msg_keys_update,
};
