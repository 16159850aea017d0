/* SPDX-License-Identifier: MIT */
/*
 * Decoding a PAC (MS-PAC) without trusting a byte of it: the PACTYPE
 * buffer table, KERB_VALIDATION_INFO in NDR (MS-RPCE 2.2.6 type
 * serialization version 1, little-endian NDR20), PAC_CLIENT_INFO and
 * UPN_DNS_INFO. Every read goes through one bounded cursor; every count is
 * checked against the bytes left before anything is allocated. No
 * Heimdal here: tests/fuzz/fuzz_pac.c links this file alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packages/kerberos/kerberos-pac.h"

enum {
        PAC_LOGON_INFO = 1,
        PAC_CLIENT_INFO = 10,
        PAC_UPN_DNS_INFO = 12,
};

/* UPN_DNS_INFO.Flags: S = the extended form with SamName and Sid. */
#define UPN_DNS_EXTENDED 0x2u

/* ---- the bounded cursor ------------------------------------------------ */

typedef struct Ndr {
        const uint8_t *p;
        size_t len, pos;
} Ndr;

static int ndr_bytes(Ndr *n, size_t count, const uint8_t **ret) {
        if (count > n->len - n->pos)
                return -EBADMSG;
        *ret = n->p + n->pos;
        n->pos += count;
        return 0;
}

/* NDR aligns each primitive to its size, relative to the start of the
 * serialized stream (the logon info buffer begins with its headers). */
static int ndr_align(Ndr *n, size_t a) {
        size_t pad = (a - (n->pos & (a - 1))) & (a - 1);
        const uint8_t *junk;

        return ndr_bytes(n, pad, &junk);
}

static int ndr_u8(Ndr *n, uint8_t *ret) {
        const uint8_t *b;
        int r = ndr_bytes(n, 1, &b);

        if (r == 0)
                *ret = b[0];
        return r;
}

static int ndr_u16(Ndr *n, uint16_t *ret) {
        const uint8_t *b;
        int r = ndr_align(n, 2);

        if (r == 0 && (r = ndr_bytes(n, 2, &b)) == 0)
                *ret = (uint16_t) (b[0] | b[1] << 8);
        return r;
}

static int ndr_u32(Ndr *n, uint32_t *ret) {
        const uint8_t *b;
        int r = ndr_align(n, 4);

        if (r == 0 && (r = ndr_bytes(n, 4, &b)) == 0)
                *ret = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
        return r;
}

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* ---- strings and SIDs -------------------------------------------------- */

/* UTF-16LE (n code units) to NUL-terminated UTF-8; an unpaired surrogate
 * becomes U+FFFD, as Windows shows it. */
static char *utf16_to_utf8(const uint8_t *s, size_t n) {
        char *out = malloc(3 * n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                uint32_t c = le16(s + 2 * i);

                if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && le16(s + 2 * i + 2) >= 0xdc00 &&
                    le16(s + 2 * i + 2) < 0xe000) {
                        c = 0x10000 + ((c - 0xd800) << 10) + (le16(s + 2 * i + 2) - 0xdc00);
                        i++;
                } else if (c >= 0xd800 && c < 0xe000)
                        c = 0xfffd;
                if (c < 0x80)
                        *o++ = (char) c;
                else if (c < 0x800) {
                        *o++ = (char) (0xc0 | c >> 6);
                        *o++ = (char) (0x80 | (c & 0x3f));
                } else if (c < 0x10000) {
                        *o++ = (char) (0xe0 | c >> 12);
                        *o++ = (char) (0x80 | ((c >> 6) & 0x3f));
                        *o++ = (char) (0x80 | (c & 0x3f));
                } else {
                        /* Four UTF-8 bytes for the two code units consumed. */
                        *o++ = (char) (0xf0 | c >> 18);
                        *o++ = (char) (0x80 | ((c >> 12) & 0x3f));
                        *o++ = (char) (0x80 | ((c >> 6) & 0x3f));
                        *o++ = (char) (0x80 | (c & 0x3f));
                }
        }
        *o = 0;
        return out;
}

typedef struct Sid {
        uint8_t count;
        uint64_t authority;
        uint32_t sub[KRB_PAC_MAX_SUBAUTH];
} Sid;

/* MS-DTYP 2.4.2.1: S-1-authority-sub...; an authority of 2^32 or more in
 * hexadecimal. `rid` is appended when has_rid. */
static char *sid_string(const Sid *s, bool has_rid, uint32_t rid) {
        char buf[16 + 20 + (KRB_PAC_MAX_SUBAUTH + 1) * 11], *p = buf;
        size_t left = sizeof(buf);
        int w;

        if (s->authority < (1ull << 32))
                w = snprintf(p, left, "S-1-%" PRIu64, s->authority);
        else
                w = snprintf(p, left, "S-1-0x%012" PRIX64, s->authority);
        p += w;
        left -= (size_t) w;
        for (size_t i = 0; i < s->count; i++) {
                w = snprintf(p, left, "-%" PRIu32, s->sub[i]);
                p += w;
                left -= (size_t) w;
        }
        if (has_rid)
                (void) snprintf(p, left, "-%" PRIu32, rid);
        return strdup(buf);
}

/* The SID's body after its count: Revision, SubAuthorityCount,
 * IdentifierAuthority (big-endian), SubAuthority[] (little-endian). The
 * same bytes in NDR (after the conformance) and in UPN_DNS_INFO. */
static int sid_body(Ndr *n, Sid *ret, int64_t conformance) {
        const uint8_t *b;
        uint8_t rev, count;
        int r;

        if ((r = ndr_u8(n, &rev)) < 0 || (r = ndr_u8(n, &count)) < 0 || (r = ndr_bytes(n, 6, &b)) < 0)
                return r;
        if (rev != 1 || count > KRB_PAC_MAX_SUBAUTH || (conformance >= 0 && count != conformance))
                return -EBADMSG;
        ret->count = count;
        ret->authority = 0;
        for (size_t i = 0; i < 6; i++)
                ret->authority = ret->authority << 8 | b[i];
        for (size_t i = 0; i < count; i++) {
                if ((r = ndr_bytes(n, 4, &b)) < 0)
                        return r;
                ret->sub[i] = le32(b);
        }
        return 0;
}

/* A deferred RPC_SID: a conformant structure, its size hoisted in front. */
static int ndr_sid(Ndr *n, Sid *ret) {
        uint32_t conf;
        int r;

        if ((r = ndr_u32(n, &conf)) < 0)
                return r;
        if (conf > KRB_PAC_MAX_SUBAUTH)
                return -EBADMSG;
        return sid_body(n, ret, conf);
}

/* RPC_UNICODE_STRING: Length and MaximumLength in bytes, a unique pointer. */
typedef struct UString {
        uint16_t len, max;
        uint32_t ptr;
} UString;

static int ndr_ustring_head(Ndr *n, UString *s) {
        int r;

        if ((r = ndr_u16(n, &s->len)) < 0 || (r = ndr_u16(n, &s->max)) < 0 || (r = ndr_u32(n, &s->ptr)) < 0)
                return r;
        /* An odd byte count cuts a UTF-16 unit; no pointer, no bytes. */
        if (s->len % 2 || s->len > s->max || (!s->ptr && s->len))
                return -EBADMSG;
        return 0;
}

/* The deferred buffer: a conformant varying WCHAR array (MaxCount,
 * Offset, ActualCount) that must be what the header announced. */
static int ndr_ustring_body(Ndr *n, const UString *s, char **ret) {
        uint32_t max, off, actual;
        const uint8_t *b;
        int r;

        if (!s->ptr) {
                *ret = strdup("");
                return *ret ? 0 : -ENOMEM;
        }
        if ((r = ndr_u32(n, &max)) < 0 || (r = ndr_u32(n, &off)) < 0 || (r = ndr_u32(n, &actual)) < 0)
                return r;
        if (off != 0 || actual > max || actual * 2 != s->len)
                return -EBADMSG;
        if ((r = ndr_bytes(n, (size_t) actual * 2, &b)) < 0)
                return r;
        *ret = utf16_to_utf8(b, actual);
        return *ret ? 0 : -ENOMEM;
}

/* ---- the decoded PAC ----------------------------------------------------- */

void krb_pac_free(KrbPac *p) {
        if (!p)
                return;
        free(p->effective_name);
        free(p->full_name);
        free(p->logon_server);
        free(p->logon_domain);
        free(p->domain_sid);
        free(p->user_sid);
        free(p->primary_group_sid);
        free(p->resource_domain_sid);
        for (size_t i = 0; i < p->n_sids; i++)
                free(p->sids[i].sid);
        free(p->sids);
        free(p->client_name);
        free(p->upn);
        free(p->dns_domain);
        free(p->sam_name);
        free(p->upn_sid);
        free(p);
}

char *krb_pac_account_name(const KrbPac *p) {
        size_t a = strlen(p->logon_domain), b = strlen(p->effective_name);
        char *s = malloc(a + b + 2);

        if (!s)
                return NULL;
        memcpy(s, p->logon_domain, a);
        s[a] = '\\';
        memcpy(s + a + 1, p->effective_name, b + 1);
        return s;
}

/* Reserve room for `more` SIDs (each checked against the bytes it needs
 * before this is called). */
static int sids_grow(KrbPac *p, size_t more) {
        KrbPacSid *s;

        if (more == 0)
                return 0;
        s = reallocarray(p->sids, p->n_sids + more, sizeof(*s));
        if (!s)
                return -ENOMEM;
        p->sids = s;
        return 0;
}

static int sid_add(KrbPac *p, const Sid *base, bool has_rid, uint32_t rid, uint32_t attr, KrbPacSidKind kind) {
        char *s = sid_string(base, has_rid, rid);

        if (!s)
                return -ENOMEM;
        p->sids[p->n_sids++] = (KrbPacSid) { .sid = s, .attributes = attr, .kind = kind };
        return 0;
}

/* A deferred GROUP_MEMBERSHIP array: MaxCount, then (RelativeId,
 * Attributes) pairs, each the rid of a group of `base`. */
static int ndr_groups(Ndr *n, KrbPac *p, uint32_t count, const Sid *base, KrbPacSidKind kind) {
        uint32_t conf, rid, attr;
        int r;

        if ((r = ndr_u32(n, &conf)) < 0)
                return r;
        if (conf != count || (uint64_t) count * 8 > n->len - n->pos)
                return -EBADMSG;
        if ((r = sids_grow(p, count)) < 0)
                return r;
        for (uint32_t i = 0; i < count; i++) {
                if ((r = ndr_u32(n, &rid)) < 0 || (r = ndr_u32(n, &attr)) < 0)
                        return r;
                if ((r = sid_add(p, base, true, rid, attr, kind)) < 0)
                        return r;
        }
        return 0;
}

/* The deferred ExtraSids: MaxCount, (Sid pointer, Attributes) pairs, then
 * every non-null SID in order. */
static int ndr_extra_sids(Ndr *n, KrbPac *p, uint32_t count) {
        uint32_t conf, *ptrs = NULL, *attrs = NULL;
        Sid sid;
        int r;

        if ((r = ndr_u32(n, &conf)) < 0)
                return r;
        if (conf != count || (uint64_t) count * 8 > n->len - n->pos)
                return -EBADMSG;
        if (count == 0)
                return 0;
        ptrs = calloc(count, sizeof(*ptrs));
        attrs = calloc(count, sizeof(*attrs));
        if (!ptrs || !attrs) {
                r = -ENOMEM;
                goto out;
        }
        for (uint32_t i = 0; i < count; i++)
                if ((r = ndr_u32(n, &ptrs[i])) < 0 || (r = ndr_u32(n, &attrs[i])) < 0)
                        goto out;
        if ((r = sids_grow(p, count)) < 0)
                goto out;
        for (uint32_t i = 0; i < count; i++) {
                /* A null SID in the token means nothing: MS-PAC gives none. */
                if (!ptrs[i]) {
                        r = -EBADMSG;
                        goto out;
                }
                if ((r = ndr_sid(n, &sid)) < 0 || (r = sid_add(p, &sid, false, 0, attrs[i], KRB_PAC_SID_EXTRA)) < 0)
                        goto out;
        }
        r = 0;
out:
        free(ptrs);
        free(attrs);
        return r;
}

/* KERB_VALIDATION_INFO, MS-PAC 2.5: the fixed part, then the referents of
 * its pointers in the order of the fields. */
static int decode_logon_info(const uint8_t *buf, size_t len, KrbPac *p) {
        Ndr n = { .p = buf, .len = len };
        UString str[8]; /* EffectiveName FullName LogonScript ProfilePath HomeDirectory HomeDirectoryDrive LogonServer LogonDomainName */
        char *junk = NULL;
        uint32_t hdr_filler, obj_len, u32, top, group_count, group_ptr, domain_ptr, sid_count, sids_ptr, rdomain_ptr,
                rgroup_count, rgroup_ptr;
        uint16_t u16;
        uint8_t version, endian;
        const uint8_t *b;
        Sid domain = { 0 }, rdomain = { 0 };
        int r;

        /* Common type header (version 1, little-endian, 8 bytes), then the
         * private header: the object's length and a filler. */
        if ((r = ndr_u8(&n, &version)) < 0 || (r = ndr_u8(&n, &endian)) < 0 || (r = ndr_u16(&n, &u16)) < 0 ||
            (r = ndr_u32(&n, &hdr_filler)) < 0)
                return r;
        if (version != 1 || endian != 0x10 || u16 != 8)
                return -EBADMSG;
        if ((r = ndr_u32(&n, &obj_len)) < 0 || (r = ndr_u32(&n, &u32)) < 0)
                return r;
        if (obj_len > n.len - n.pos)
                return -EBADMSG;
        n.len = n.pos + obj_len;
        /* The [unique] pointer to the structure. */
        if ((r = ndr_u32(&n, &top)) < 0)
                return r;
        if (!top)
                return -EBADMSG;
        /* Six FILETIMEs: LogonTime .. PasswordMustChange. */
        if ((r = ndr_bytes(&n, 6 * 8, &b)) < 0)
                return r;
        for (size_t i = 0; i < 6; i++)
                if ((r = ndr_ustring_head(&n, &str[i])) < 0)
                        return r;
        if ((r = ndr_u16(&n, &u16)) < 0 || (r = ndr_u16(&n, &u16)) < 0 || /* LogonCount, BadPasswordCount */
            (r = ndr_u32(&n, &p->user_id)) < 0 || (r = ndr_u32(&n, &p->primary_group_id)) < 0 ||
            (r = ndr_u32(&n, &group_count)) < 0 || (r = ndr_u32(&n, &group_ptr)) < 0 ||
            (r = ndr_u32(&n, &p->user_flags)) < 0 || (r = ndr_bytes(&n, 16, &b)) < 0 || /* UserSessionKey */
            (r = ndr_ustring_head(&n, &str[6])) < 0 || (r = ndr_ustring_head(&n, &str[7])) < 0 ||
            (r = ndr_u32(&n, &domain_ptr)) < 0 || (r = ndr_bytes(&n, 8, &b)) < 0 || /* Reserved1 */
            (r = ndr_u32(&n, &p->user_account_control)) < 0 || (r = ndr_u32(&n, &u32)) < 0 || /* SubAuthStatus */
            (r = ndr_bytes(&n, 16, &b)) < 0 ||                                                 /* LastSuccessful/FailedILogon */
            (r = ndr_u32(&n, &u32)) < 0 || (r = ndr_u32(&n, &u32)) < 0 || /* FailedILogonCount, Reserved3 */
            (r = ndr_u32(&n, &sid_count)) < 0 || (r = ndr_u32(&n, &sids_ptr)) < 0 ||
            (r = ndr_u32(&n, &rdomain_ptr)) < 0 || (r = ndr_u32(&n, &rgroup_count)) < 0 ||
            (r = ndr_u32(&n, &rgroup_ptr)) < 0)
                return r;
        /* A count without its array (or an array without a count) and a
         * user without a domain SID are not a logon. */
        if ((!group_ptr && group_count) || (!sids_ptr && sid_count) || (!rgroup_ptr && rgroup_count) || !domain_ptr)
                return -EBADMSG;

        /* The referents, in field order. */
        for (size_t i = 0; i < 6; i++) {
                char **dst = i == 0 ? &p->effective_name : i == 1 ? &p->full_name : &junk;

                r = ndr_ustring_body(&n, &str[i], dst);
                free(junk);
                junk = NULL;
                if (r < 0)
                        return r;
        }
        /* GroupIds need LogonDomainId, which comes later: remember where. */
        size_t groups_at = n.pos;
        if (group_ptr) {
                if ((r = ndr_u32(&n, &u32)) < 0)
                        return r;
                if (u32 != group_count || (uint64_t) group_count * 8 > n.len - n.pos)
                        return -EBADMSG;
                n.pos += (size_t) group_count * 8;
        }
        if ((r = ndr_ustring_body(&n, &str[6], &p->logon_server)) < 0 ||
            (r = ndr_ustring_body(&n, &str[7], &p->logon_domain)) < 0 || (r = ndr_sid(&n, &domain)) < 0)
                return r;
        if (!(p->domain_sid = sid_string(&domain, false, 0)) || !(p->user_sid = sid_string(&domain, true, p->user_id)) ||
            !(p->primary_group_sid = sid_string(&domain, true, p->primary_group_id)))
                return -ENOMEM;
        if (group_ptr) {
                Ndr g = { .p = n.p, .len = n.len, .pos = groups_at };

                if ((r = ndr_groups(&g, p, group_count, &domain, KRB_PAC_SID_GROUP)) < 0)
                        return r;
        }
        if (sids_ptr && (r = ndr_extra_sids(&n, p, sid_count)) < 0)
                return r;
        if (rdomain_ptr) {
                if ((r = ndr_sid(&n, &rdomain)) < 0)
                        return r;
                if (!(p->resource_domain_sid = sid_string(&rdomain, false, 0)))
                        return -ENOMEM;
        } else if (rgroup_ptr)
                /* Resource group rids without their domain. */
                return -EBADMSG;
        if (rgroup_ptr && (r = ndr_groups(&n, p, rgroup_count, &rdomain, KRB_PAC_SID_RESOURCE)) < 0)
                return r;
        return 0;
}

/* PAC_CLIENT_INFO, MS-PAC 2.7: ClientId (FILETIME), NameLength, Name. */
static int decode_client_info(const uint8_t *b, size_t len, KrbPac *p) {
        size_t name_len;

        if (len < 10)
                return -EBADMSG;
        p->client_id = (uint64_t) le32(b) | (uint64_t) le32(b + 4) << 32;
        name_len = le16(b + 8);
        if (name_len % 2 || name_len > len - 10)
                return -EBADMSG;
        p->client_name = utf16_to_utf8(b + 10, name_len / 2);
        return p->client_name ? 0 : -ENOMEM;
}

/* A (length, offset) string of UPN_DNS_INFO, the offset from the
 * buffer's start. */
static int upn_string(const uint8_t *b, size_t len, uint16_t slen, uint16_t off, char **ret) {
        if (slen % 2 || off > len || slen > len - off)
                return -EBADMSG;
        *ret = utf16_to_utf8(b + off, slen / 2);
        return *ret ? 0 : -ENOMEM;
}

/* UPN_DNS_INFO, MS-PAC 2.10. */
static int decode_upn_dns(const uint8_t *b, size_t len, KrbPac *p) {
        int r;

        if (len < 12)
                return -EBADMSG;
        p->upn_flags = le32(b + 8);
        if ((r = upn_string(b, len, le16(b), le16(b + 2), &p->upn)) < 0 ||
            (r = upn_string(b, len, le16(b + 4), le16(b + 6), &p->dns_domain)) < 0)
                return r;
        if (p->upn_flags & UPN_DNS_EXTENDED) {
                uint16_t sid_len, sid_off;
                Sid sid;

                if (len < 20)
                        return -EBADMSG;
                if ((r = upn_string(b, len, le16(b + 12), le16(b + 14), &p->sam_name)) < 0)
                        return r;
                sid_len = le16(b + 16);
                sid_off = le16(b + 18);
                if (sid_off > len || sid_len > len - sid_off)
                        return -EBADMSG;
                Ndr n = { .p = b + sid_off, .len = sid_len };
                if ((r = sid_body(&n, &sid, -1)) < 0)
                        return r;
                if (n.pos != n.len)
                        return -EBADMSG;
                if (!(p->upn_sid = sid_string(&sid, false, 0)))
                        return -ENOMEM;
        }
        p->has_upn = true;
        return 0;
}

/* PACTYPE, MS-PAC 2.3/2.4: cBuffers, Version 0, then (ulType,
 * cbBufferSize, Offset) for each buffer, each inside the PAC. */
int krb_pac_decode(const uint8_t *pac, size_t len, KrbPac **ret) {
        const uint8_t *logon = NULL, *client = NULL, *upn = NULL;
        size_t logon_len = 0, client_len = 0, upn_len = 0;
        uint32_t count;
        KrbPac *p;
        int r;

        if (len < 8 || len > KRB_PAC_MAX_SIZE)
                return -EBADMSG;
        count = le32(pac);
        if (le32(pac + 4) != 0 || count == 0 || count > KRB_PAC_MAX_BUFFERS || 8 + (size_t) count * 16 > len)
                return -EBADMSG;
        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *e = pac + 8 + 16 * i;
                uint32_t type = le32(e), size = le32(e + 4);
                uint64_t off = (uint64_t) le32(e + 8) | (uint64_t) le32(e + 12) << 32;
                const uint8_t **slot = NULL;
                size_t *slot_len = NULL;

                if (off > len || size > len - off)
                        return -EBADMSG;
                if (type == PAC_LOGON_INFO)
                        slot = &logon, slot_len = &logon_len;
                else if (type == PAC_CLIENT_INFO)
                        slot = &client, slot_len = &client_len;
                else if (type == PAC_UPN_DNS_INFO)
                        slot = &upn, slot_len = &upn_len;
                if (!slot)
                        continue;
                /* Two logon infos would let a reader pick the other one. */
                if (*slot)
                        return -EBADMSG;
                *slot = pac + off;
                *slot_len = size;
        }
        if (!logon || !client)
                return -EBADMSG;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        if ((r = decode_logon_info(logon, logon_len, p)) < 0 || (r = decode_client_info(client, client_len, p)) < 0 ||
            (upn && (r = decode_upn_dns(upn, upn_len, p)) < 0)) {
                krb_pac_free(p);
                return r;
        }
        if (!p->effective_name || !p->full_name || !p->logon_server || !p->logon_domain) {
                krb_pac_free(p);
                return -EBADMSG;
        }
        *ret = p;
        return 0;
}
