/* SPDX-License-Identifier: MIT */
/*
 * The SIDs of a domain logon (issue 15 item 3), run by tests/ad/run.sh in
 * the DC's namespaces with a private sspid that has the domain's keytabs
 * and [ntlm-domain CORP] granted.
 *
 * - QuerySecurityContextToken and SECPKG_ATTR_ACCESS_TOKEN of an accepted
 *   context carry the client's SIDs; SspiGetTokenInformation lays out
 *   TOKEN_USER, TOKEN_GROUPS and TOKEN_PRIMARY_GROUP as Windows'
 *   GetTokenInformation does (Microsoft docs: GetTokenInformation,
 *   TOKEN_USER, TOKEN_GROUPS; the SID layout of MS-DTYP 2.4.2). The user SID
 *   is the DC's objectSid (ldbsearch on the DC's sam.ldb), the groups hold
 *   Domain Users (the primary group), staff, and for many its 400 groups,
 *   with the DC's SE_GROUP_* attributes, plus Everyone, NETWORK,
 *   Authenticated Users and This Organization (Microsoft docs: Well-known
 *   SIDs), and for NTLM the NTLM Authentication SID (S-1-5-64-10).
 * - Kerberos (from the PAC), Negotiate and NTLM (from the DC's NETLOGON
 *   answer through winbindd) give the same domain SIDs for one account.
 * - SECPKG_ATTR_DCE_INFO: pPac is the client's name as NAMES gives it,
 *   AuthzSvc RPC_C_AUTHZ_NONE for NTLM (Microsoft docs:
 *   RpcBindingInqAuthClient, "RPC_C_AUTHN_WINNT ... always
 *   RPC_C_AUTHZ_NONE") and RPC_C_AUTHZ_NAME for Kerberos.
 * - A domain client with no local account has a token but cannot be
 *   impersonated (SEC_E_NO_IMPERSONATION).
 * Sync and through Sspi*Async.
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "twin.h"

#define TARGET "HTTP/web.corp.test"
#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_CONNECTION | ISC_REQ_MUTUAL_AUTH)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_CONNECTION | ASC_REQ_MUTUAL_AUTH)
#define WIN_GTI W_MSDOCS("GetTokenInformation: TokenUser/TokenGroups, ERROR_INSUFFICIENT_BUFFER with ReturnLength")
#define WIN_WKS W_MSDOCS("Well-known SIDs: Everyone, NETWORK, Authenticated Users, This Organization")
#define MAX_SIDS 512

/* t_ok that also hands the condition back. */
#define T_OK(cond, ...)                        \
        ({                                     \
                bool t_cond_ = (cond);         \
                t_ok(t_cond_, __VA_ARGS__);    \
                t_cond_;                       \
        })

static const char *ad_dir;
static char dom_sid[128];

/* "objectSid: S-..." of one entry of the DC's own database. */
static bool object_sid(const char *filter, char *buf, size_t len) {
        char cmd[1024], line[512];
        bool found = false;
        FILE *f;

        snprintf(cmd, sizeof(cmd), "ldbsearch -H %s/dc/private/sam.ldb -b DC=corp,DC=test '%s' objectSid 2>/dev/null",
                 ad_dir, filter);
        f = popen(cmd, "r");
        while (f && fgets(line, sizeof(line), f))
                if (!found && sscanf(line, "objectSid: %127s", buf) == 1 && strlen(buf) < len)
                        found = true;
        if (f)
                pclose(f);
        return found;
}

static SECURITY_STATUS logon(const char *pkg, const char *user, const char *dom, const char *pw, bool async,
                             THandshake *h, CredHandle *c, CredHandle *s) {
        SEC_WINNT_AUTH_IDENTITY_A id = w_ident(user, dom, pw);
        SECURITY_STATUS st;

        memset(h, 0, sizeof(*h));
        *c = (CredHandle) { 0 };
        *s = (CredHandle) { 0 };
        if (async)
                return t_handshake_async(pkg, &id, c, s, TARGET, ISC_FLAGS, ASC_FLAGS, h);
        st = AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, c, NULL);
        if (st != SEC_E_OK)
                return st;
        st = AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, s, NULL);
        if (st != SEC_E_OK)
                return st;
        return t_handshake(c, s, TARGET, ISC_FLAGS, ASC_FLAGS, h);
}

static void logon_done(THandshake *h, CredHandle *c, CredHandle *s) {
        t_handshake_done(h);
        if (c->dwLower || c->dwUpper)
                FreeCredentialsHandle(c);
        if (s->dwLower || s->dwUpper)
                FreeCredentialsHandle(s);
}

/* A token's SIDs as strings. */
typedef struct Sids {
        char user[128];
        char primary[128];
        size_t n;
        char *sid[MAX_SIDS];
        uint32_t attr[MAX_SIDS];
} Sids;

static void sids_done(Sids *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->sid[i]);
        memset(s, 0, sizeof(*s));
}

static int sids_find(const Sids *s, const char *sid) {
        for (size_t i = 0; i < s->n; i++)
                if (!strcmp(s->sid[i], sid))
                        return (int) i;
        return -1;
}

static bool sid_to_string(const void *sid, char *buf, size_t len) {
        char *str = NULL;

        if (SspiConvertSidToStringSidA(sid, &str) != SEC_E_OK)
                return false;
        snprintf(buf, len, "%s", str);
        FreeContextBuffer(str);
        return true;
}

/* SspiGetTokenInformation's three classes into *out, with the size
 * protocol checked once per token (label for the lines). */
static bool read_token(HANDLE tok, const char *label, Sids *out) {
        static uint8_t buf[65536] __attribute__((aligned(16)));
        ULONG need = 0, need2 = 0;
        SECURITY_STATUS st;
        TOKEN_GROUPS *g;

        memset(out, 0, sizeof(*out));
        st = SspiGetTokenInformation(tok, TokenUser, NULL, 0, &need);
        if (!t_status(st, SEC_E_BUFFER_TOO_SMALL, "%s: TokenUser with no buffer asks for one [%s]", label, WIN_GTI))
                return false;
        t_ok(need >= sizeof(TOKEN_USER) + 8 + 4 * 5 && need <= sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE,
             "%s: TokenUser needs %u bytes (TOKEN_USER + a domain user's SID of 28)", label, (unsigned) need);
        t_status(SspiGetTokenInformation(tok, TokenUser, buf, need - 1, &need2), SEC_E_BUFFER_TOO_SMALL,
                 "%s: one byte short is too small [%s]", label, WIN_GTI);
        memset(buf, 0xa5, sizeof(buf));
        if (!t_status(SspiGetTokenInformation(tok, TokenUser, buf, need, &need2), SEC_E_OK,
                      "%s: TokenUser in exactly the size asked for", label))
                return false;
        t_ok(need2 == need, "%s: ReturnLength is the size written (%u)", label, (unsigned) need2);
        {
                TOKEN_USER *u = (TOKEN_USER *) buf;
                t_ok((uint8_t *) u->User.Sid >= buf + sizeof(*u) && (uint8_t *) u->User.Sid < buf + need &&
                             u->User.Attributes == 0,
                     "%s: TOKEN_USER.User.Sid points after the structure, into the buffer; Attributes 0", label);
                if (!sid_to_string(u->User.Sid, out->user, sizeof(out->user)))
                        return false;
        }
        if (!t_status(SspiGetTokenInformation(tok, TokenPrimaryGroup, buf, sizeof(buf), &need), SEC_E_OK,
                      "%s: TokenPrimaryGroup", label))
                return false;
        sid_to_string(((TOKEN_PRIMARY_GROUP *) buf)->PrimaryGroup, out->primary, sizeof(out->primary));
        st = SspiGetTokenInformation(tok, TokenGroups, buf, sizeof(buf), &need);
        if (!t_status(st, SEC_E_OK, "%s: TokenGroups (%u bytes)", label, (unsigned) need))
                return false;
        g = (TOKEN_GROUPS *) buf;
        if (!T_OK(g->GroupCount > 0 && g->GroupCount <= MAX_SIDS &&
                          need >= offsetof(TOKEN_GROUPS, Groups) + g->GroupCount * sizeof(SID_AND_ATTRIBUTES),
                  "%s: TOKEN_GROUPS holds %u groups in %u bytes", label, (unsigned) g->GroupCount, (unsigned) need))
                return false;
        for (DWORD i = 0; i < g->GroupCount; i++) {
                char s[128];
                if ((uint8_t *) g->Groups[i].Sid < buf || (uint8_t *) g->Groups[i].Sid >= buf + need ||
                    !sid_to_string(g->Groups[i].Sid, s, sizeof(s)))
                        break;
                out->sid[out->n] = strdup(s);
                out->attr[out->n++] = g->Groups[i].Attributes;
        }
        t_ok(out->n == g->GroupCount, "%s: every group SID lies in the buffer and reads as S-1-... (%zu of %u)", label,
             out->n, (unsigned) g->GroupCount);
        return true;
}

/* The domain's SIDs of a token, sorted into one string for comparison. */
static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *domain_set(const Sids *s) {
        const char *v[MAX_SIDS];
        size_t n = 0, len = 1;
        char *out;

        for (size_t i = 0; i < s->n; i++)
                if (!strncmp(s->sid[i], dom_sid, strlen(dom_sid))) {
                        v[n++] = s->sid[i];
                        len += strlen(s->sid[i]) + 1;
                }
        qsort(v, n, sizeof(*v), cmp_str);
        out = calloc(1, len + strlen(s->user) + 1);
        strcat(out, s->user);
        for (size_t i = 0; i < n; i++) {
                strcat(out, ",");
                strcat(out, v[i]);
        }
        return out;
}

static const struct {
        const char *user, *krb_dom, *pw, *account;
        unsigned groups; /* domain groups: Domain Users + staff, or + grp000..grp399 */
} users[] = {
        { "alice", "CORP.TEST", "Alice-pw-1", "CORP\\alice", 2 },
        { "many", "CORP.TEST", "Many-pw-1", "CORP\\many", 401 },
};

/* The Kerberos token's domain SIDs of users[i], for NTLM to match. */
static char *krb_set[2];

static void test_token(const char *pkg, size_t ui, bool async) {
        const char *m = async ? "async" : "sync";
        bool ntlm = !strcmp(pkg, "NTLM");
        char label[128], want[160], user_sid[128];
        SecPkgContext_AccessToken at = { 0 };
        SecPkgContext_DceInfo dce;
        SSPI_TOKEN_INFORMATION info;
        SECURITY_STATUS st, qst;
        THandshake h;
        CredHandle c, s;
        HANDLE tok = NULL;
        Sids sids;
        int k;

        snprintf(label, sizeof(label), "%s %s %s", pkg, m, users[ui].user);
        st = logon(pkg, users[ui].user, ntlm ? "CORP" : users[ui].krb_dom, users[ui].pw, async, &h, &c, &s);
        if (!t_status(st, SEC_E_OK, "%s: logs on to %s", label, TARGET)) {
                logon_done(&h, &c, &s);
                return;
        }
        snprintf(want, sizeof(want), "(sAMAccountName=%s)", users[ui].user);
        if (!object_sid(want, user_sid, sizeof(user_sid)))
                snprintf(user_sid, sizeof(user_sid), "(the DC's database did not answer)");
        if (!t_status(QuerySecurityContextToken(&h.server, &tok), SEC_E_OK,
                      "%s: QuerySecurityContextToken of the accepted context [%s]", label,
                      W_MSDOCS("QuerySecurityContextToken"))) {
                logon_done(&h, &c, &s);
                return;
        }
        if (read_token(tok, label, &sids)) {
                t_ok(!strcmp(sids.user, user_sid), "%s: TokenUser is the DC's objectSid %s (got %s)", label, user_sid,
                     sids.user);
                snprintf(want, sizeof(want), "%s513", dom_sid);
                t_ok(!strcmp(sids.primary, want), "%s: TokenPrimaryGroup is Domain Users %s (got %s)", label, want,
                     sids.primary);
                k = sids_find(&sids, want);
                t_ok(k >= 0 && sids.attr[k] == (SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED),
                     "%s: TokenGroups holds Domain Users, mandatory and enabled (0x%x)", label,
                     k >= 0 ? (unsigned) sids.attr[k] : 0u);
                if (ui == 0) {
                        char staff[128];
                        if (object_sid("(sAMAccountName=staff)", staff, sizeof(staff))) {
                                k = sids_find(&sids, staff);
                                t_ok(k >= 0 && (sids.attr[k] & 7) == 7, "%s: TokenGroups holds staff %s, enabled",
                                     label, staff);
                        } else
                                t_ok(false, "%s: the DC's database gives staff's objectSid", label);
                }
                {
                        unsigned n = 0;
                        for (size_t i = 0; i < sids.n; i++)
                                n += !strncmp(sids.sid[i], dom_sid, strlen(dom_sid));
                        t_ok(n == users[ui].groups, "%s: %u of the domain's groups in TokenGroups (want %u)", label, n,
                             users[ui].groups);
                }
                {
                        static const char *const wk[] = { "S-1-1-0", "S-1-5-2", "S-1-5-11", "S-1-5-15" };
                        bool all = true;
                        for (size_t i = 0; i < 4; i++)
                                all = all && (k = sids_find(&sids, wk[i])) >= 0 && sids.attr[k] == 7;
                        t_ok(all, "%s: Everyone, NETWORK, Authenticated Users, This Organization, enabled [%s]", label,
                             WIN_WKS);
                }
                if (!async && ui == 0) {
                        /* For the record: the groups from outside the domain. */
                        printf("# %s: groups outside the domain:", label);
                        for (size_t i = 0; i < sids.n; i++)
                                if (strncmp(sids.sid[i], dom_sid, strlen(dom_sid)))
                                        printf(" %s(0x%x)", sids.sid[i], (unsigned) sids.attr[i]);
                        printf("\n");
                }
                t_ok((sids_find(&sids, "S-1-5-64-10") >= 0) == ntlm,
                     "%s: the NTLM Authentication SID S-1-5-64-10 %s [%s]", label, ntlm ? "is there" : "is not there",
                     W_MSDOCS("Well-known SIDs: SECURITY_PACKAGE_NTLM_RID, NTLM authentication"));
                {
                        char *set = domain_set(&sids);
                        if (strcmp(pkg, "NTLM")) {
                                if (!krb_set[ui])
                                        krb_set[ui] = strdup(set);
                                t_ok(!strcmp(krb_set[ui], set), "%s: the same domain SIDs as the Kerberos token", label);
                        } else
                                t_ok(krb_set[ui] && !strcmp(krb_set[ui], set),
                                     "%s: the DC's NETLOGON answer gives the same user and domain groups as the "
                                     "Kerberos PAC (one account, one token)",
                                     label);
                        free(set);
                }
        }
        sids_done(&sids);

        /* ACCESS_TOKEN: the context's own token, the same SIDs. */
        if (t_status(QueryContextAttributesA(&h.server, SECPKG_ATTR_ACCESS_TOKEN, &at), SEC_E_OK,
                     "%s: SECPKG_ATTR_ACCESS_TOKEN", label)) {
                Sids again;
                ULONG need;
                uint8_t ubuf[128] __attribute__((aligned(16)));
                char s2[128] = "";
                memset(&again, 0, sizeof(again));
                if (SspiGetTokenInformation(at.AccessToken, TokenUser, ubuf, sizeof(ubuf), &need) == SEC_E_OK)
                        sid_to_string(((TOKEN_USER *) ubuf)->User.Sid, s2, sizeof(s2));
                t_ok(!strcmp(s2, user_sid), "%s: the ACCESS_TOKEN's TokenUser is %s too (%s)", label, user_sid, s2);
        }

        /* No local account for a domain user on this host: a token with
         * SIDs only, which cannot be impersonated. */
        qst = SspiQueryTokenInformation(tok, &info);
        if (qst == SEC_E_NO_IMPERSONATION)
                t_status(ImpersonateSecurityContext(&h.server), SEC_E_NO_IMPERSONATION,
                         "%s: no local account: SspiQueryTokenInformation and ImpersonateSecurityContext both say "
                         "SEC_E_NO_IMPERSONATION",
                         label);
        else
                t_status(qst, SEC_E_OK, "%s: SspiQueryTokenInformation of a token with a local account", label);
        t_ok(SspiCloseTokenHandle(tok) == 1, "%s: SspiCloseTokenHandle", label);

        /* DCE_INFO, A and W. */
        if (t_status(QueryContextAttributesA(&h.server, SECPKG_ATTR_DCE_INFO, &dce), SEC_E_OK,
                     "%s: SECPKG_ATTR_DCE_INFO (A)", label)) {
                t_ok(dce.pPac && !strcmp(dce.pPac, users[ui].account), "%s: DCE_INFO.pPac is \"%s\" (got \"%s\")", label,
                     users[ui].account, dce.pPac ? (char *) dce.pPac : "(null)");
                t_ok(dce.AuthzSvc == (ntlm ? RPC_C_AUTHZ_NONE : RPC_C_AUTHZ_NAME),
                     "%s: DCE_INFO.AuthzSvc %u (%s) [%s]", label, (unsigned) dce.AuthzSvc,
                     ntlm ? "RPC_C_AUTHZ_NONE" : "RPC_C_AUTHZ_NAME",
                     ntlm ? W_MSDOCS("RpcBindingInqAuthClient: RPC_C_AUTHN_WINNT always RPC_C_AUTHZ_NONE")
                          : "PADL EapSSP GsspQueryContextDceInfo: RPC_C_AUTHZ_NAME with the client's name");
                t_status(FreeContextBuffer(dce.pPac), SEC_E_OK, "%s: FreeContextBuffer(pPac)", label);
        }
        if (t_status(QueryContextAttributesW(&h.server, SECPKG_ATTR_DCE_INFO, &dce), SEC_E_OK,
                     "%s: SECPKG_ATTR_DCE_INFO (W)", label)) {
                const uint16_t *w = dce.pPac;
                size_t i = 0;
                while (w && users[ui].account[i] && w[i] == (unsigned char) users[ui].account[i])
                        i++;
                t_ok(w && !users[ui].account[i] && w[i] == 0, "%s: DCE_INFO.pPac (W) is L\"%s\"", label,
                     users[ui].account);
                FreeContextBuffer(dce.pPac);
        }
        t_status(QueryContextAttributesA(&h.server, 0x7ffffff0, &dce), SEC_E_UNSUPPORTED_FUNCTION,
                 "%s: the daemon's internal SID query (0x7ffffff0) is no caller's attribute", label);
        t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_DCE_INFO, &dce), SEC_E_UNSUPPORTED_FUNCTION,
                 "%s: the client's context has no DCE_INFO (the server's RPC runtime asks for it)", label);
        t_status(QuerySecurityContextToken(&h.client, &tok), SEC_E_NO_IMPERSONATION,
                 "%s: the client's context has no token [%s]", label, W_MSDOCS("QuerySecurityContextToken"));
        logon_done(&h, &c, &s);
}

/* ExportSecurityContext / ImportSecurityContext of an accepted Kerberos
 * or Negotiate (Kerberos inside) context: the imported one names the client and has the SIDs of the PAC
 * as the exported one did, and still unseals the client's messages
 * (Microsoft docs: ImportSecurityContext, "the security context ... as it
 * was when exported"). */
static void test_export(const char *pkg, size_t ui, bool async) {
        const char *m = async ? "async" : "sync";
        char label[128], want[160], user_sid[128];
        const char *text = "after the import";
        SecBuffer packed = { 0 };
        SecPkgContext_NamesA n;
        SecPkgContext_DceInfo dce;
        SecPkgContext_Sizes sz;
        CtxtHandle imported;
        THandshake h;
        CredHandle c, s;
        HANDLE tok = NULL;
        TMessage msg;
        ULONG qop = 0;
        Sids sids;

        snprintf(label, sizeof(label), "%s %s %s exported and imported", pkg, m, users[ui].user);
        if (!t_status(logon(pkg, users[ui].user, users[ui].krb_dom, users[ui].pw, async, &h, &c, &s), SEC_E_OK,
                      "%s: logs on", label)) {
                logon_done(&h, &c, &s);
                return;
        }
        snprintf(want, sizeof(want), "(sAMAccountName=%s)", users[ui].user);
        if (!object_sid(want, user_sid, sizeof(user_sid)))
                snprintf(user_sid, sizeof(user_sid), "(the DC's database did not answer)");
        if (!t_status(ExportSecurityContext(&h.server, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &packed, NULL), SEC_E_OK,
                      "%s: ExportSecurityContext(DELETE_OLD) of the accepted context", label)) {
                logon_done(&h, &c, &s);
                return;
        }
        h.have_server = false; /* the export deleted it */
        if (!t_status(ImportSecurityContextA((char *) pkg, &packed, NULL, &imported), SEC_E_OK,
                      "%s: ImportSecurityContext", label)) {
                FreeContextBuffer(packed.pvBuffer);
                logon_done(&h, &c, &s);
                return;
        }
        FreeContextBuffer(packed.pvBuffer);
        if (t_status(QueryContextAttributesA(&imported, SECPKG_ATTR_NAMES, &n), SEC_E_OK, "%s: NAMES", label)) {
                t_ok(!strcmp(n.sUserName, users[ui].account),
                     "%s: NAMES is still the PAC's %s (got %s), not the principal", label, users[ui].account,
                     n.sUserName);
                FreeContextBuffer(n.sUserName);
        }
        if (t_status(QueryContextAttributesA(&imported, SECPKG_ATTR_DCE_INFO, &dce), SEC_E_OK, "%s: DCE_INFO", label)) {
                t_ok(!strcmp(dce.pPac, users[ui].account), "%s: DCE_INFO.pPac %s", label, users[ui].account);
                FreeContextBuffer(dce.pPac);
        }
        if (t_status(QuerySecurityContextToken(&imported, &tok), SEC_E_OK, "%s: QuerySecurityContextToken", label)) {
                if (read_token(tok, label, &sids)) {
                        char *set = domain_set(&sids);
                        t_ok(!strcmp(sids.user, user_sid), "%s: TokenUser is still %s (got %s)", label, user_sid,
                             sids.user);
                        t_ok(krb_set[ui] && !strcmp(krb_set[ui], set),
                             "%s: the same user and domain groups as before the export", label);
                        free(set);
                }
                sids_done(&sids);
                SspiCloseTokenHandle(tok);
        }
        /* And it is the same security context: the client's message opens. */
        if (t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: client SIZES", label)) {
                t_message_init(&msg, text, strlen(text), true);
                msg.b[0].cbBuffer = sz.cbSecurityTrailer;
                msg.b[2].cbBuffer = sz.cbBlockSize;
                t_status(EncryptMessage(&h.client, 0, &msg.d, 0), SEC_E_OK, "%s: the client seals", label);
                t_status(DecryptMessage(&imported, &msg.d, 0, &qop), SEC_E_OK, "%s: the imported context unseals",
                         label);
        }
        DeleteSecurityContext(&imported);
        logon_done(&h, &c, &s);
}

/* Bad input to the helpers: a clear status, nothing read or written. */
static void test_bad_input(void) {
        uint8_t buf[64] = { 0 }, junk[64];
        ULONG need = 7;
        char *str = NULL;
        int fake;

        t_status(SspiGetTokenInformation(&fake, TokenUser, buf, sizeof(buf), &need), SEC_E_INVALID_HANDLE,
                 "SspiGetTokenInformation of a handle this library never issued");
        t_status(SspiGetTokenInformation(NULL, TokenUser, buf, sizeof(buf), &need), SEC_E_INVALID_HANDLE,
                 "SspiGetTokenInformation of NULL");
        t_status(SspiGetTokenInformation(&fake, TokenUser, buf, sizeof(buf), NULL), SEC_E_INVALID_PARAMETER,
                 "SspiGetTokenInformation without ReturnLength");
        t_status(SspiGetTokenInformation(&fake, TokenUser, NULL, 16, &need), SEC_E_INVALID_PARAMETER,
                 "SspiGetTokenInformation with a length but no buffer");
        t_status(SspiConvertSidToStringSidA(NULL, &str), SEC_E_INVALID_PARAMETER, "ConvertSidToStringSid(NULL)");
        memset(junk, 0, sizeof(junk));
        junk[0] = 2; /* revision 2 does not exist */
        t_status(SspiConvertSidToStringSidA(junk, &str), SEC_E_INVALID_PARAMETER, "ConvertSidToStringSid(revision 2)");
        junk[0] = 1;
        junk[1] = 16;
        t_status(SspiConvertSidToStringSidA(junk, &str), SEC_E_INVALID_PARAMETER,
                 "ConvertSidToStringSid(16 subauthorities, more than SID_MAX_SUB_AUTHORITIES)");
        /* S-1-5-32-544 (BUILTIN\Administrators) written by hand. */
        {
                static const uint8_t admins[16] = { 1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0 };
                if (t_status(SspiConvertSidToStringSidA(admins, &str), SEC_E_OK, "ConvertSidToStringSid(S-1-5-32-544)")) {
                        t_ok(!strcmp(str, "S-1-5-32-544"), "it reads S-1-5-32-544 (got %s) [%s]", str,
                             W_MSDOCS("ConvertSidToStringSidA, Well-known SIDs"));
                        FreeContextBuffer(str);
                }
        }
}

int main(void) {
        ad_dir = getenv("AD_DIR");
        if (!ad_dir || !getenv("SSPID_SOCKET")) {
                t_ok(false, "run by tests/ad/run.sh (AD_DIR, SSPID_SOCKET set)");
                return t_done();
        }
        if (!T_OK(object_sid("(&(objectClass=domain)(dc=corp))", dom_sid, sizeof(dom_sid)),
                  "the DC's database gives the domain's objectSid (%s)", dom_sid))
                return t_done();
        strcat(dom_sid, "-");
        for (int a = 0; a < 2; a++)
                for (size_t u = 0; u < sizeof(users) / sizeof(*users); u++) {
                        test_token("Kerberos", u, a);
                        test_token("Negotiate", u, a);
                        test_token("NTLM", u, a);
                }
        for (int a = 0; a < 2; a++)
                for (size_t u = 0; u < sizeof(users) / sizeof(*users); u++)
                        for (int k = 0; k < 2; k++)
                                test_export(k ? "Negotiate" : "Kerberos", u, a);
        test_bad_input();
        free(krb_set[0]);
        free(krb_set[1]);
        return t_done();
}
