/* SPDX-License-Identifier: MIT */
/*
 * The NTLM handshake: NEGOTIATE, CHALLENGE, AUTHENTICATE as client (ISC)
 * and server (ASC), NTLMv2 and the MIC, session keys.
 */
#include "packages/ntlm/ntlm-private.h"

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
        c->flags = ntlm_client_flags(s->req_flags);
        if (s->target && *s->target && !(c->target = strdup(s->target)))
                return ntlm_step_failed(s, c, SEC_E_INSUFFICIENT_MEMORY);
        c->user = strdup(cred->user);
        c->domain = strdup(cred->domain);
        if (!c->user || !c->domain)
                return ntlm_step_failed(s, c, SEC_E_INSUFFICIENT_MEMORY);

        h = ntlm_wr_reserve(&w, 40);
        if (h) {
                memset(h, 0, 40);
                memcpy(h, NTLM_SIGNATURE, 8);
                ntlm_put32(h + 8, NTLM_NEGOTIATE);
                ntlm_put32(h + 12, c->flags);
                ntlm_put32(h + 20, 40);
                ntlm_put32(h + 28, 40);
                memcpy(h + 32, ntlm_version, 8);
        }
        st = ntlm_put_output(s, &w);
        if (st == SEC_E_OK && ntlm_keep_msg(c, 0, w.p, w.len) < 0)
                st = SEC_E_INSUFFICIENT_MEMORY;
        ntlm_wr_free(&w);
        if (st != SEC_E_OK)
                return ntlm_step_failed(s, c, st);
        s->ctx = c;
        c->ret_flags = ntlm_ret_flags_from(c->req_flags, c->flags, true);
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
        PkgBuffer *in = ntlm_find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        PkgBuffer *cbb = ntlm_find_buffer(s->in, s->n_in, SECBUFFER_CHANNEL_BINDINGS);
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
                return ntlm_step_failed(s, c, SEC_E_INVALID_TOKEN);
        m = (NtlmReader) { in->data, in->len };
        if (!ntlm_rd_header(&m, NTLM_CHALLENGE) || m.len < 48 || !ntlm_rd_field(&m, 12, &tname) || !ntlm_rd_u32(&m, 20, &flags))
                return ntlm_step_failed(s, c, SEC_E_INVALID_TOKEN);
        memcpy(c->challenge, m.p + 24, 8);
        /* No target info means no NTLMv2: refused, there is no v1 here. */
        if (!(flags & NTLMSSP_NEGOTIATE_TARGET_INFO) || !ntlm_rd_field(&m, 40, &tinfo) || tinfo.len == 0 ||
            !ntlm_av_parse(tinfo, &av))
                return ntlm_step_failed(s, c, SEC_E_INVALID_TOKEN);
        if (!(flags & NTLMSSP_NEGOTIATE_UNICODE))
                return ntlm_step_failed(s, c, SEC_E_UNSUPPORTED_FUNCTION);
        if (ntlm_keep_msg(c, 1, m.p, m.len) < 0)
                return ntlm_step_failed(s, c, SEC_E_INSUFFICIENT_MEMORY);
        /* What we asked for (NEGOTIATE) and the server granted. */
        c->flags &= flags;

        if (cbb) {
                st = ntlm_bindings_hash(cbb, cb);
                if (st != SEC_E_OK)
                        return ntlm_step_failed(s, c, st);
        }

        /* Our AV pairs: the server's, a MIC flag when it sent a timestamp,
         * channel bindings, the SPN we meant to reach. */
        for (size_t off = 0; off < av.pairs.len;) {
                /* ntlm_av_parse checked every pair; ours replace the server's. */
                uint16_t id = ntlm_le16(av.pairs.p + off), l = ntlm_le16(av.pairs.p + off + 2);
                if (id != MSV_AV_FLAGS && id != MSV_AV_CHANNEL_BINDINGS && id != MSV_AV_TARGET_NAME)
                        ntlm_wr_bytes(&avw, av.pairs.p + off, 4 + (size_t) l);
                off += 4 + (size_t) l;
        }
        if (av.has_timestamp) {
                uint8_t f[4];
                ntlm_put32(f, (av.has_flags ? av.flags : 0) | MSV_AV_FLAG_MIC_PRESENT);
                ntlm_wr_av(&avw, MSV_AV_FLAGS, f, 4);
                memcpy(ts, av.timestamp, 8);
        } else {
                int64_t now = ntlm_filetime_now();
                for (int i = 0; i < 8; i++)
                        ts[i] = (uint8_t) ((uint64_t) now >> (8 * i));
        }
        ntlm_wr_av(&avw, MSV_AV_CHANNEL_BINDINGS, cb, 16);
        if (c->target) {
                if (ntlm_utf16(c->target, false, &u_tgt, &l_tgt) < 0) {
                        st = SEC_E_TARGET_UNKNOWN;
                        goto fail;
                }
                ntlm_wr_av(&avw, MSV_AV_TARGET_NAME, u_tgt, l_tgt);
        }
        ntlm_wr_av(&avw, MSV_AV_EOL, NULL, 0);
        if (avw.failed) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto fail;
        }

        ntlm_random_bytes(cc, 8);
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
                ntlm_random_bytes(c->exported, 16);
                ntlm_rc4_init(&rc, base, 16);
                ntlm_rc4(&rc, c->exported, enc_key, 16);
                explicit_bzero(&rc, sizeof(rc));
        } else
                memcpy(c->exported, base, 16);

        ws = ntlm_local_host(true);
        if (!ws || ntlm_utf16(c->user, false, &u_user, &l_user) < 0 ||
            ntlm_utf16(c->domain, false, &u_dom, &l_dom) < 0 || ntlm_utf16(ws, false, &u_ws, &l_ws) < 0) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto fail;
        }
        h = ntlm_wr_reserve(&w, AUTH_HEADER_SIZE);
        if (h) {
                memset(h, 0, AUTH_HEADER_SIZE);
                memcpy(h, NTLM_SIGNATURE, 8);
                ntlm_put32(h + 8, NTLM_AUTHENTICATE);
                ntlm_put32(h + 60, c->flags);
                memcpy(h + 64, ntlm_version, 8);
        }
        ntlm_wr_payload(&w, 28, u_dom, l_dom);
        ntlm_wr_payload(&w, 36, u_user, l_user);
        ntlm_wr_payload(&w, 44, u_ws, l_ws);
        ntlm_wr_payload(&w, 12, lm, 24);
        ntlm_wr_payload(&w, 20, nt, nt_len);
        if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)
                ntlm_wr_payload(&w, 52, enc_key, 16);
        else
                ntlm_wr_payload(&w, 52, NULL, 0);
        if (w.failed) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto fail;
        }
        if (av.has_timestamp) {
                NtlmWriter all = {};
                ntlm_wr_bytes(&all, c->msg[0], c->msg_len[0]);
                ntlm_wr_bytes(&all, c->msg[1], c->msg_len[1]);
                ntlm_wr_bytes(&all, w.p, w.len);
                if (all.failed) {
                        ntlm_wr_free(&all);
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto fail;
                }
                ntlm_hmac_md5(c->exported, 16, all.p, all.len, NULL, 0, mic);
                ntlm_wr_free(&all);
                memcpy(w.p + MIC_OFFSET, mic, 16);
        }
        st = ntlm_put_output(s, &w);
        if (st != SEC_E_OK)
                goto fail;

        ntlm_ctx_keys(c);
        c->established = true;
        c->start = ntlm_filetime_now();
        free(c->msg[0]);
        free(c->msg[1]);
        c->msg[0] = c->msg[1] = NULL;
        s->ctx = c;
        c->ret_flags = ntlm_ret_flags_from(c->req_flags, c->flags, true);
        s->ret_flags = c->ret_flags;
        s->expiry = FILETIME_NEVER;
        st = SEC_E_OK;
        goto out;
fail:
        st = ntlm_step_failed(s, c, st);
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
        ntlm_wr_free(&avw);
        ntlm_wr_free(&w);
        return st;
}

SECURITY_STATUS ntlm_init_ctx(PkgStep *s) {
        NtlmCtx *c = s->ctx;
        NtlmCred *cred = s->cred;

        if (!c) {
                if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                        return SEC_E_NO_CREDENTIALS;
                /* An identity without a password was accepted at acquire
                 * time, as Windows does; without the logon session's
                 * secret that Windows would fall back to, there is
                 * nothing to answer a challenge with. */
                if (!cred->has_secret)
                        return SEC_E_NO_CREDENTIALS;
                return client_negotiate(s, cred);
        }
        if (!c->initiator || c->established)
                return SEC_E_INVALID_HANDLE;
        if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                return ntlm_step_failed(s, c, SEC_E_NO_CREDENTIALS);
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
        const char *nb, *dns;
        int64_t now = ntlm_filetime_now();
        SECURITY_STATUS st;

        if (!ntlm_rd_header(&m, NTLM_NEGOTIATE) || !ntlm_rd_u32(&m, 12, &cflags))
                return SEC_E_INVALID_TOKEN;
        if (!(cflags & NTLMSSP_NEGOTIATE_NTLM) && !(cflags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY))
                return SEC_E_INVALID_TOKEN;
        c = calloc(1, sizeof(*c));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->req_flags = s->req_flags;
        if (ntlm_keep_msg(c, 0, m.p, m.len) < 0)
                return ntlm_step_failed(s, c, SEC_E_INSUFFICIENT_MEMORY);
        c->flags = NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_NTLM |
                   NTLMSSP_TARGET_TYPE_DOMAIN | NTLMSSP_NEGOTIATE_TARGET_INFO | (cflags & SERVER_FLAGS_ECHO);
        ntlm_random_bytes(c->challenge, 8);

        ntlm_challenge_domains(cred, &nb, &dns);
        host = ntlm_local_host(false);
        hostu = ntlm_local_host(true);
        domu = strdup(nb);
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
                ntlm_wr_av(&av, (id), u, ul);                                 \
                free(u);                                                 \
                u = NULL;                                                \
        } while (0)
        AV_STR(MSV_AV_NB_DOMAIN_NAME, domu);
        AV_STR(MSV_AV_NB_COMPUTER_NAME, hostu);
        AV_STR(MSV_AV_DNS_DOMAIN_NAME, dns);
        AV_STR(MSV_AV_DNS_COMPUTER_NAME, host);
#undef AV_STR
        ntlm_wr_av(&av, MSV_AV_TIMESTAMP, ts, 8);
        ntlm_wr_av(&av, MSV_AV_EOL, NULL, 0);

        h = ntlm_wr_reserve(&w, 56);
        if (h) {
                memset(h, 0, 56);
                memcpy(h, NTLM_SIGNATURE, 8);
                ntlm_put32(h + 8, NTLM_CHALLENGE);
                ntlm_put32(h + 20, c->flags);
                memcpy(h + 24, c->challenge, 8);
                memcpy(h + 48, ntlm_version, 8);
        }
        if (ntlm_utf16(domu, false, &u, &ul) < 0) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        ntlm_wr_payload(&w, 12, u, ul);
        ntlm_wr_payload(&w, 40, av.p, av.len);
        if (av.failed)
                w.failed = true;
        st = ntlm_put_output(s, &w);
        if (st == SEC_E_OK && ntlm_keep_msg(c, 1, w.p, w.len) < 0)
                st = SEC_E_INSUFFICIENT_MEMORY;
out:
        free(u);
        free(host);
        free(hostu);
        free(domu);
        ntlm_wr_free(&av);
        ntlm_wr_free(&w);
        if (st != SEC_E_OK)
                return ntlm_step_failed(s, c, st);
        s->ctx = c;
        c->ret_flags = ntlm_ret_flags_from(c->req_flags, c->flags, false);
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
        ntlm_random_bytes(dummy_hash, 16);
}

static unsigned ct_eq32(const uint8_t *a, const uint8_t *b) {
        unsigned d = 0;
        for (size_t i = 0; i < 32; i++)
                d |= (unsigned) (a[i] ^ b[i]);
        return 1U & ((d - 1U) >> 8); /* 1 when d == 0 */
}

static int account_lookup(const NtlmCred *cred, const char *user, const char *domain, uint8_t ret[16],
                          size_t *ret_index) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        uint8_t ukey[32], dkey[32];
        unsigned found = 0, any_domain = *domain ? 0U : 1U;
        size_t index = 0;

        (void) pthread_once(&once, init_dummy);
        if (ntlm_name_key(user, ukey) < 0 || ntlm_name_key(domain, dkey) < 0)
                return -ENOMEM;
        memcpy(ret, dummy_hash, 16);
        for (size_t i = 0; i < cred->n_accounts; i++) {
                const NtlmAccount *a = &cred->accounts[i];
                unsigned take = ct_eq32(a->user_key, ukey) & (any_domain | ct_eq32(a->domain_key, dkey)) & ~found;
                uint8_t mask = (uint8_t) (0U - take);
                size_t imask = (size_t) 0 - (size_t) take;

                for (size_t j = 0; j < 16; j++)
                        ret[j] = (uint8_t) ((ret[j] & ~mask) | (a->hash[j] & mask));
                index = (index & ~imask) | (i & imask);
                found |= take;
        }
        *ret_index = index;
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
        PkgBuffer *cbb = ntlm_find_buffer(s->in, s->n_in, SECBUFFER_CHANNEL_BINDINGS);
        uint32_t flags;
        AvInfo av;
        uint8_t hash[16], ntowf[16], proof[16], base[16], mic[16], cb[16];
        int known;
        size_t index = 0;
        bool ok, unicode, v1;
        char *user = NULL, *domain = NULL, *ws_name = NULL, *dom_user = NULL, *dom_domain = NULL;
        PkgSid *dom_sids = NULL;
        size_t n_dom_sids = 0;
        const char *lookup_domain, *lookup_user, *at;
        char *upn_user = NULL;
        SECURITY_STATUS st = SEC_E_LOGON_DENIED;

        if (!ntlm_rd_header(&m, NTLM_AUTHENTICATE) || m.len < 64 || !ntlm_rd_field(&m, 12, &lm) || !ntlm_rd_field(&m, 20, &ntr) ||
            !ntlm_rd_field(&m, 28, &dom) || !ntlm_rd_field(&m, 36, &usr) || !ntlm_rd_field(&m, 44, &ws) ||
            !ntlm_rd_field(&m, 52, &ekey) || !ntlm_rd_u32(&m, 60, &flags))
                return ntlm_step_failed(s, c, SEC_E_INVALID_TOKEN);
        /* Anonymous and LM responses are refused; NTLMv1 (24 bytes) too
         * unless the store allows it, and then only with extended session
         * security (sealing here has no other key schedule). */
        v1 = ntr.len == 24;
        if (v1 && (!cred->allow_v1 || lm.len != 24 || !(flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) ||
                   !(c->flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)))
                return ntlm_step_failed(s, c, SEC_E_LOGON_DENIED);
        av = (AvInfo) {};
        if (!v1) {
                if (ntr.len < 16 + 28 + 4)
                        return ntlm_step_failed(s, c, SEC_E_LOGON_DENIED);
                temp = (NtlmReader) { ntr.p + 16, ntr.len - 16 };
                if (temp.p[0] != 1 || temp.p[1] != 1)
                        return ntlm_step_failed(s, c, SEC_E_INVALID_TOKEN);
                if (!ntlm_av_parse((NtlmReader) { temp.p + 28, temp.len - 28 }, &av))
                        return ntlm_step_failed(s, c, SEC_E_INVALID_TOKEN);
        }
        unicode = flags & NTLMSSP_NEGOTIATE_UNICODE;
        user = field_string(usr, unicode);
        domain = field_string(dom, unicode);
        if (!user || !domain) {
                st = SEC_E_INVALID_TOKEN;
                goto out;
        }

        /* The store's DNS name (an alias) finds its accounts too; the
         * response was computed over the client's spelling. A UPN comes
         * whole with an empty domain (Windows clients): its suffix names
         * the domain, as the store's name or an alias. */
        lookup_user = user;
        lookup_domain = domain;
        if (!*domain && (at = strrchr(user, '@')) && at > user && at[1]) {
                upn_user = strndup(user, (size_t) (at - user));
                if (!upn_user) {
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                lookup_user = upn_user;
                lookup_domain = at + 1;
        }
        if (config_domain_matches(cred->store_domain, &cred->store_aliases, lookup_domain))
                lookup_domain = cred->store_domain;
        else if (!*domain && lookup_user != user)
                lookup_domain = "\\"; /* a suffix not of this store: no account of it (no name has a backslash) */
        known = account_lookup(cred, lookup_user, lookup_domain, hash, &index);
        if (known < 0) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        if (known == 0 && cred->nt_domain) {
                /* Not a local account: the domain decides, as a member
                 * server passes every non-local logon to its DC; with no
                 * domain given (a UPN as the user name) our DC resolves it. */
                NtlmLogon in = { .user = user, .domain = *domain ? domain : cred->nt_domain, .challenge = c->challenge,
                                 .nt = ntr.p, .nt_len = ntr.len, .lm = lm.p, .lm_len = lm.len };

                ws_name = field_string(ws, unicode);
                in.workstation = ws_name ? ws_name : "";
                st = ntlm_domain_logon(cred, &in, base, &dom_user, &dom_domain, &dom_sids, &n_dom_sids);
                if (st != SEC_E_OK)
                        goto out;
                ok = true;
        } else if (v1) {
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
                ntlm_log_refusal(cred, domain, user, known == 1);
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
                ntlm_wr_bytes(&all, c->msg[0], c->msg_len[0]);
                ntlm_wr_bytes(&all, c->msg[1], c->msg_len[1]);
                a3 = ntlm_wr_reserve(&all, m.len);
                if (all.failed) {
                        ntlm_wr_free(&all);
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                memcpy(a3, m.p, m.len);
                memset(a3 + MIC_OFFSET, 0, 16);
                ntlm_hmac_md5(c->exported, 16, all.p, all.len, NULL, 0, mic);
                ntlm_wr_free(&all);
                if (memcmp_const(mic, m.p + MIC_OFFSET, 16) != 0) {
                        st = SEC_E_MESSAGE_ALTERED;
                        goto out;
                }
        }
        if (cbb) {
                static const uint8_t zero[16];
                st = ntlm_bindings_hash(cbb, cb);
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
        /* The client is named as the store spells the account (Windows
         * reports the account's canonical name, not the client's
         * spelling of it); the responses were computed over the latter. */
        c->user = dom_user ? TAKE_PTR(dom_user) : strdup(cred->accounts[index].user);
        c->domain = dom_domain ? TAKE_PTR(dom_domain) : strdup(cred->accounts[index].domain);
        c->sids = TAKE_PTR(dom_sids);
        c->n_sids = n_dom_sids;
        if (!c->user || !c->domain) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        /* The SPN the client named (MsvAvTargetName, MS-NLMP 2.2.2.1):
         * SECPKG_ATTR_CLIENT_SPECIFIED_TARGET. */
        if (av.has_target && av.target.len && !(c->client_target = field_string(av.target, true))) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        ntlm_ctx_keys(c);
        c->established = true;
        c->start = ntlm_filetime_now();
        for (int i = 0; i < 2; i++) {
                free(c->msg[i]);
                c->msg[i] = NULL;
        }
        s->ctx = c;
        c->ret_flags = ntlm_ret_flags_from(c->req_flags, c->flags, false);
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
        free(ws_name);
        free(dom_user);
        free(dom_domain);
        pkg_sids_free(dom_sids, n_dom_sids);
        free(upn_user);
        if (st != SEC_E_OK)
                return ntlm_step_failed(s, c, st);
        return st;
}

SECURITY_STATUS ntlm_accept_ctx(PkgStep *s) {
        NtlmCtx *c = s->ctx;
        NtlmCred *cred = s->cred;
        PkgBuffer *in = ntlm_find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        NtlmReader m;

        if (c && (c->initiator || c->established))
                return SEC_E_INVALID_HANDLE;
        if (!cred || !(cred->use & SECPKG_CRED_INBOUND))
                return c ? ntlm_step_failed(s, c, SEC_E_NO_CREDENTIALS) : SEC_E_NO_CREDENTIALS;
        if (!in || in->len == 0)
                return c ? ntlm_step_failed(s, c, SEC_E_INVALID_TOKEN) : SEC_E_INVALID_TOKEN;
        m = (NtlmReader) { in->data, in->len };
        if (!c)
                return server_challenge(s, cred, m);
        return server_verify(s, c, cred, m);
}

SECURITY_STATUS ntlm_complete(void *ctx, PkgBuffer *b, size_t n) {
        return ctx ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_INVALID_HANDLE;
}
