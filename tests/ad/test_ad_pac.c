/* SPDX-License-Identifier: MIT */
/*
 * The PAC of tickets the Samba AD DC issues (issue 15 item 3), run by
 * tests/ad/run.sh inside the DC's namespaces with a private sspid that has
 * the domain's keytabs granted.
 *
 * - SECPKG_ATTR_NAMES of an accepted context is NetBIOS-domain\sAMAccountName
 *   from the PAC's logon info (alice, hank whose UPN is henry@corp.test,
 *   many in 400 groups); NATIVE_NAMES keeps the Kerberos principals.
 *   Kerberos and Negotiate, sync and through Sspi*Async.
 * - The identity the daemon took from the PAC (its debug log line): the
 *   user SID and the domain SID are the DC's objectSid (ldbsearch on the
 *   DC's own database), many has 401 group SIDs (400 + Domain Users).
 * - A ticket whose PAC was changed (decrypted with the service keytab, a
 *   byte flipped in the logon info or the server signature, re-encrypted)
 *   is refused with SEC_E_LOGON_DENIED; the same ticket re-encrypted
 *   without a change is accepted (the control: the tampering itself does
 *   not break the ticket).
 * SSPID_PAC_CORPUS=DIR writes the PACs seen here (fuzz_pac's seeds).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <krb5.h>
#include <krb5_asn1.h>

#include "testlib.h"
#include "twin.h"

#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_MUTUAL_AUTH)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_MUTUAL_AUTH)
#define SPN "HTTP/web.corp.test"
#define TOKEN_MAX 65536
/* MS-APDS 3.2.5.4: a PAC that does not validate is STATUS_LOGON_FAILURE. */
#define WIN_PAC "MS-APDS 3.2.5.4: PAC validation failure is STATUS_LOGON_FAILURE = SEC_E_LOGON_DENIED"

static const char *realm, *domain, *ad_dir, *work;

/* t_ok that also hands the condition back. */
#define T_OK(cond, ...)                        \
        ({                                     \
                bool t_cond_ = (cond);         \
                t_ok(t_cond_, __VA_ARGS__);    \
                t_cond_;                       \
        })

typedef struct Pair {
        CredHandle c, s;
        CtxtHandle cc, sc;
        bool have_c, have_s, have_cc, have_sc;
} Pair;

static void pair_done(Pair *p) {
        if (p->have_cc)
                DeleteSecurityContext(&p->cc);
        if (p->have_sc)
                DeleteSecurityContext(&p->sc);
        if (p->have_c)
                FreeCredentialsHandle(&p->c);
        if (p->have_s)
                FreeCredentialsHandle(&p->s);
        memset(p, 0, sizeof(*p));
}

static SECURITY_STATUS creds(Pair *p, const char *pkg, const char *user, const char *dom, const char *pw) {
        SEC_WINNT_AUTH_IDENTITY_A id = w_ident(user, dom, pw);
        SECURITY_STATUS st;

        memset(p, 0, sizeof(*p));
        st = w_acquire(pkg, SECPKG_CRED_OUTBOUND, &id, &p->c);
        if (st != SEC_E_OK)
                return st;
        p->have_c = true;
        st = w_acquire_principal(SPN, pkg, SECPKG_CRED_INBOUND, NULL, &p->s);
        p->have_s = st == SEC_E_OK;
        return st;
}

/* The first ISC leg into tok/len. */
static SECURITY_STATUS first_leg(Pair *p, uint8_t *tok, ULONG *len) {
        SecBuffer ob = { TOKEN_MAX, SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs = 0;
        SECURITY_STATUS st;

        st = w_isc(&p->c, NULL, SPN, ISC_FLAGS, SECURITY_NATIVE_DREP, NULL, &p->cc, &od, &attrs);
        p->have_cc = st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK;
        *len = ob.cbBuffer;
        return st;
}

/* ASC on tok, then ISC/ASC until both are done. */
static SECURITY_STATUS finish(Pair *p, uint8_t *tok, ULONG len) {
        static uint8_t back[TOKEN_MAX];
        SECURITY_STATUS sst = SEC_I_CONTINUE_NEEDED, cst = SEC_I_CONTINUE_NEEDED;
        ULONG attrs;

        for (int legs = 0; legs < 6; legs++) {
                SecBuffer ib = { len, SECBUFFER_TOKEN, tok }, ob = { TOKEN_MAX, SECBUFFER_TOKEN, back };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };

                sst = w_asc(&p->s, p->have_sc ? &p->sc : NULL, &id, ASC_FLAGS, SECURITY_NATIVE_DREP, &p->sc, &od,
                            &attrs);
                if (sst != SEC_E_OK && sst != SEC_I_CONTINUE_NEEDED)
                        return sst;
                p->have_sc = true;
                if (cst == SEC_E_OK || ob.cbBuffer == 0)
                        return sst;
                SecBuffer ib2 = { ob.cbBuffer, SECBUFFER_TOKEN, back }, ob2 = { TOKEN_MAX, SECBUFFER_TOKEN, tok };
                SecBufferDesc id2 = { SECBUFFER_VERSION, 1, &ib2 }, od2 = { SECBUFFER_VERSION, 1, &ob2 };
                cst = w_isc(&p->c, &p->cc, SPN, ISC_FLAGS, SECURITY_NATIVE_DREP, &id2, &p->cc, &od2, &attrs);
                if (cst != SEC_E_OK && cst != SEC_I_CONTINUE_NEEDED)
                        return cst;
                if (ob2.cbBuffer == 0)
                        return sst;
                len = ob2.cbBuffer;
        }
        return SEC_E_INTERNAL_ERROR;
}

static void names(Pair *p, char *user, size_t ulen, char *native_client, char *native_server, size_t nlen) {
        SecPkgContext_NamesA n;
        SecPkgContext_NativeNamesA nn;

        user[0] = native_client[0] = native_server[0] = 0;
        if (QueryContextAttributesA(&p->sc, SECPKG_ATTR_NAMES, &n) == SEC_E_OK) {
                snprintf(user, ulen, "%s", n.sUserName);
                FreeContextBuffer(n.sUserName);
        }
        if (QueryContextAttributesA(&p->sc, SECPKG_ATTR_NATIVE_NAMES, &nn) == SEC_E_OK) {
                snprintf(native_client, nlen, "%s", nn.sClientName);
                snprintf(native_server, nlen, "%s", nn.sServerName);
                FreeContextBuffer(nn.sClientName);
                FreeContextBuffer(nn.sServerName);
        }
}

/* `sspictl contexts` names the accepted context's client as NAMES does
 * (sspictl escapes the backslash: CORP\x5calice). */
static void ctl_shows(const char *pkg, const char *account) {
        const char *top = getenv("SSPID_TOP"), *admin = getenv("SSPID_ADMIN_SOCKET");
        char cmd[1024], line[1024], want[256];
        const char *bs = strchr(account, '\\');
        bool found = false;
        FILE *f;

        snprintf(want, sizeof(want), "%.*s\\x5c%s", (int) (bs - account), account, bs + 1);
        snprintf(cmd, sizeof(cmd), "'%s/build/sspictl' --socket '%s' contexts 2>&1", top ? top : ".",
                 admin ? admin : "");
        f = popen(cmd, "r");
        while (f && fgets(line, sizeof(line), f))
                found = found || (strstr(line, want) && strstr(line, pkg));
        if (f)
                pclose(f);
        t_ok(found, "%s: `sspictl contexts` lists the accepted context as %s", pkg, want);
}

/* ---- the names Windows gives --------------------------------------------- */

static void test_names(const char *pkg) {
        static const struct {
                const char *user, *dom, *pw, *account, *principal;
        } users[] = {
                { "alice", "CORP.TEST", "Alice-pw-1", "CORP\\alice", "alice@CORP.TEST" },
                /* hank's UPN: the acceptor names the account, not the UPN;
                 * over NTLM the DC names him CORP\hank too. */
                { "henry@corp.test", NULL, "Hank-pw-1", "CORP\\hank", NULL },
                { "many", "CORP.TEST", "Many-pw-1", "CORP\\many", "many@CORP.TEST" },
        };
        static uint8_t tok[TOKEN_MAX];
        char user[256], nc[256], ns[256], want_server[128];
        ULONG len;
        Pair p;

        snprintf(want_server, sizeof(want_server), "%s@%s", SPN, realm);
        for (size_t i = 0; i < sizeof(users) / sizeof(*users); i++) {
                SECURITY_STATUS st = creds(&p, pkg, users[i].user, users[i].dom, users[i].pw);

                if (st == SEC_E_OK)
                        st = first_leg(&p, tok, &len);
                if (st == SEC_I_CONTINUE_NEEDED)
                        st = finish(&p, tok, len);
                if (!t_status(st, SEC_E_OK, "%s %s: %s logs on to %s", pkg, w_mode(), users[i].user, SPN)) {
                        pair_done(&p);
                        continue;
                }
                names(&p, user, sizeof(user), nc, ns, sizeof(nc));
                t_ok(!strcmp(user, users[i].account),
                     "%s %s: SECPKG_ATTR_NAMES of %s is \"%s\" (the PAC's LogonDomainName\\EffectiveName, as "
                     "Windows names a domain logon): got \"%s\"",
                     pkg, w_mode(), users[i].user, users[i].account, user);
                if (users[i].principal)
                        t_ok(!strcmp(nc, users[i].principal) && !strcmp(ns, want_server),
                             "%s %s: SECPKG_ATTR_NATIVE_NAMES keeps the Kerberos principals (%s, %s): got %s, %s", pkg,
                             w_mode(), users[i].principal, want_server, nc, ns);
                else
                        t_ok(strchr(nc, '@') != NULL && !strcmp(ns, want_server),
                             "%s %s: SECPKG_ATTR_NATIVE_NAMES keeps a Kerberos principal for %s (%s), server %s", pkg,
                             w_mode(), users[i].user, nc, ns);
                if (i == 0 && !w_async)
                        ctl_shows(pkg, users[i].account);
                pair_done(&p);
        }
}

/* ---- what the daemon took from the PAC ----------------------------------- */

/* "objectSid: S-..." of one entry of the DC's own database. */
static bool object_sid(const char *filter, char *buf, size_t len) {
        char cmd[1024], line[512];
        bool found = false;
        FILE *f;

        snprintf(cmd, sizeof(cmd), "ldbsearch -H %s/dc/private/sam.ldb -b DC=corp,DC=test '%s' objectSid 2>/dev/null",
                 ad_dir, filter);
        f = popen(cmd, "r");
        while (f && fgets(line, sizeof(line), f))
                if (!found && sscanf(line, "objectSid: %255s", buf) == 1 && strlen(buf) < len)
                        found = true;
        if (f)
                pclose(f);
        return found;
}

/* The last "PAC of WHO:" line of the daemon's log. */
static bool pac_line(const char *who, char *buf, size_t len) {
        char path[512], line[4096], key[256];
        bool found = false;
        FILE *f;

        snprintf(path, sizeof(path), "%s/sspid.log", work);
        snprintf(key, sizeof(key), "PAC of %s:", who);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, key)) {
                        snprintf(buf, len, "%s", line);
                        found = true;
                }
        if (f)
                fclose(f);
        return found;
}

static void test_identity(void) {
        char line[4096], dom_sid[256], user_sid[256], want[600];
        unsigned sids = 0, groups = 0, extra = 0, resource = 0;
        const char *p;

        if (!T_OK(object_sid("(&(objectClass=domain)(dc=corp))", dom_sid, sizeof(dom_sid)),
                  "the DC's database gives the domain's objectSid (%s)", dom_sid))
                return;
        t_ok(!strncmp(dom_sid, "S-1-5-21-", 9), "the domain SID is S-1-5-21-... (%s)", dom_sid);
        for (int i = 0; i < 2; i++) {
                const char *who = i ? "many" : "alice";
                char principal[128];

                snprintf(principal, sizeof(principal), "%s@%s", who, realm);
                snprintf(want, sizeof(want), "(sAMAccountName=%s)", who);
                if (!T_OK(object_sid(want, user_sid, sizeof(user_sid)), "%s's objectSid from the DC (%s)", who,
                          user_sid))
                        continue;
                if (!T_OK(pac_line(principal, line, sizeof(line)), "the daemon logged the PAC of %s", principal))
                        continue;
                snprintf(want, sizeof(want), "user %s of %s (%s)", who, domain, user_sid);
                t_ok(strstr(line, want) != NULL, "the PAC's user is %s (its LogonDomainId + UserId is the DC's objectSid)",
                     want);
                t_ok(!strncmp(user_sid, dom_sid, strlen(dom_sid)) && user_sid[strlen(dom_sid)] == '-',
                     "%s's SID is in the domain %s", who, dom_sid);
                /* "... (S-1-...), N SIDs (G groups, E extra, R resource)" */
                p = strstr(line, " (S-1-");
                p = p ? strstr(p, "), ") : NULL;
                if (!T_OK(p && sscanf(p + 3, "%u SIDs (%u groups, %u extra, %u resource)", &sids, &groups, &extra,
                                      &resource) == 4,
                          "the log line counts the SIDs: %s", line))
                        continue;
                t_ok(sids == groups + extra + resource, "%u SIDs = %u groups + %u extra + %u resource", sids, groups,
                     extra, resource);
                /* alice: Domain Users and staff; many: Domain Users and grp000..grp399. */
                t_ok(groups == (i ? 401u : 2u), "%s: %u group SIDs from GroupIds (want %u)", who, groups, i ? 401u : 2u);
                t_ok(strstr(line, "server signature verified") != NULL, "the server signature was checked");
        }
        /* The UPN from UPN_DNS_INFO, for the account logged on by UPN. */
        snprintf(want, sizeof(want), "henry@%s", realm);
        if (pac_line(want, line, sizeof(line)) || pac_line("hank@CORP.TEST", line, sizeof(line)) ||
            pac_line("henry@corp.test", line, sizeof(line)))
                t_ok(strstr(line, "user hank of CORP (") && strstr(line, "upn henry@corp.test"),
                     "hank by his UPN: the PAC names CORP\\hank and UPN_DNS_INFO henry@corp.test: %s", line);
        else
                t_ok(false, "the daemon logged the PAC of hank's logon as henry@corp.test");
}

/* ---- a changed PAC --------------------------------------------------------- */

enum { KEEP, LOGON_INFO, SERVER_SIGNATURE, CLIENT_INFO };

static uint32_t le32(const uint8_t *b) {
        return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
}

static void save_corpus(const uint8_t *pac, size_t len, const char *name) {
        const char *dir = getenv("SSPID_PAC_CORPUS");
        char path[512];
        FILE *f;

        if (!dir)
                return;
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if ((f = fopen(path, "we"))) {
                fwrite(pac, 1, len, f);
                fclose(f);
        }
}

/* Open the ticket in the AP-REQ inside tok with the service keytab, change
 * the PAC as `how` says, seal it again under the same key (same length)
 * and put it back in place. Returns a reason on failure, NULL on success. */
static const char *tamper(uint8_t *tok, size_t len, int how, const char *corpus_name) {
        krb5_context k = NULL;
        krb5_keytab kt = NULL;
        krb5_principal sp = NULL;
        krb5_keytab_entry entry;
        krb5_crypto crypto = NULL;
        krb5_data plain = { 0 }, sealed = { 0 };
        EncTicketPart etp;
        AP_REQ ap;
        const char *why = NULL;
        bool have_ap = false, have_entry = false, have_etp = false;
        char ktname[600], spn[256];
        const uint8_t *pac = NULL;
        size_t pac_len = 0, sz;

        memset(&ap, 0, sizeof(ap));
        memset(&etp, 0, sizeof(etp));
        /* The AP-REQ ([APPLICATION 14]) wherever the framing put it. */
        for (size_t i = 0; i < len && !have_ap; i++)
                if (tok[i] == 0x6e && decode_AP_REQ(tok + i, len - i, &ap, &sz) == 0)
                        have_ap = true;
        if (!have_ap)
                return "no AP-REQ in the token";
        snprintf(ktname, sizeof(ktname), "FILE:%s/service.keytab", ad_dir);
        snprintf(spn, sizeof(spn), "%s@%s", SPN, realm);
        if (krb5_init_context(&k) || krb5_kt_resolve(k, ktname, &kt) || krb5_parse_name(k, spn, &sp)) {
                why = "krb5 context, keytab or principal";
                goto out;
        }
        if (krb5_kt_get_entry(k, kt, sp, ap.ticket.enc_part.kvno ? (krb5_kvno) *ap.ticket.enc_part.kvno : 0,
                              ap.ticket.enc_part.etype, &entry)) {
                why = "the service key is not in the keytab";
                goto out;
        }
        have_entry = true;
        if (krb5_crypto_init(k, &entry.keyblock, 0, &crypto) ||
            krb5_decrypt_EncryptedData(k, crypto, KRB5_KU_TICKET, &ap.ticket.enc_part, &plain)) {
                why = "the ticket does not decrypt with the keytab's key";
                goto out;
        }
        if (decode_EncTicketPart(plain.data, plain.length, &etp, &sz)) {
                why = "EncTicketPart does not decode";
                goto out;
        }
        have_etp = true;
        for (size_t i = 0; etp.authorization_data && i < etp.authorization_data->len && !pac; i++) {
                AuthorizationDataElement *e = &etp.authorization_data->val[i];
                AD_IF_RELEVANT inner;

                if (e->ad_type != KRB5_AUTHDATA_IF_RELEVANT ||
                    decode_AD_IF_RELEVANT(e->ad_data.data, e->ad_data.length, &inner, &sz))
                        continue;
                for (size_t j = 0; j < inner.len && !pac; j++)
                        if (inner.val[j].ad_type == KRB5_AUTHDATA_WIN2K_PAC) {
                                /* The same bytes inside the plaintext. */
                                pac = memmem(plain.data, plain.length, inner.val[j].ad_data.data,
                                             inner.val[j].ad_data.length);
                                pac_len = inner.val[j].ad_data.length;
                        }
                free_AD_IF_RELEVANT(&inner);
        }
        if (!pac) {
                why = "no PAC in the ticket";
                goto out;
        }
        if (corpus_name)
                save_corpus(pac, pac_len, corpus_name);
        if (how != KEEP) {
                uint32_t want = how == LOGON_INFO ? 1 : how == SERVER_SIGNATURE ? 6 : 10, n = le32(pac);
                uint8_t *b = (uint8_t *) pac;
                bool done = false;

                for (uint32_t i = 0; i < n && 8 + 16 * (i + 1) <= pac_len && !done; i++) {
                        const uint8_t *e = pac + 8 + 16 * i;
                        uint32_t size = le32(e + 4), off = le32(e + 8);

                        if (le32(e) != want || off > pac_len || size > pac_len - off || size < 12)
                                continue;
                        /* Logon info: the last byte (the end of a SID); the
                         * signature: a byte of the checksum; client info:
                         * the name's first character. */
                        b[how == LOGON_INFO ? off + size - 1 : how == SERVER_SIGNATURE ? off + 4 : off + 10] ^= 0x01;
                        done = true;
                }
                if (!done) {
                        why = "the PAC has no such buffer";
                        goto out;
                }
        }
        if (krb5_encrypt(k, crypto, KRB5_KU_TICKET, plain.data, plain.length, &sealed) ||
            sealed.length != ap.ticket.enc_part.cipher.length) {
                why = "re-encryption";
                goto out;
        }
        {
                uint8_t *at = memmem(tok, len, ap.ticket.enc_part.cipher.data, ap.ticket.enc_part.cipher.length);

                if (!at) {
                        why = "the ticket's ciphertext is not in the token";
                        goto out;
                }
                memcpy(at, sealed.data, sealed.length);
        }
out:
        krb5_data_free(&sealed);
        if (plain.data)
                krb5_data_free(&plain);
        if (have_etp)
                free_EncTicketPart(&etp);
        if (crypto)
                krb5_crypto_destroy(k, crypto);
        if (have_entry)
                krb5_kt_free_entry(k, &entry);
        if (sp)
                krb5_free_principal(k, sp);
        if (kt)
                krb5_kt_close(k, kt);
        free_AP_REQ(&ap);
        if (k)
                krb5_free_context(k);
        return why;
}

static void test_tampered(const char *pkg) {
        static const struct {
                int how;
                const char *what, *user, *pw, *account;
        } cases[] = {
                { KEEP, "re-encrypted unchanged (control)", "alice", "Alice-pw-1", "CORP\\alice" },
                { KEEP, "re-encrypted unchanged (control)", "henry@corp.test", "Hank-pw-1", "CORP\\hank" },
                { KEEP, "re-encrypted unchanged (control, 400 groups)", "many", "Many-pw-1", "CORP\\many" },
                { LOGON_INFO, "a byte of the logon info (KERB_VALIDATION_INFO) flipped", "alice", "Alice-pw-1", NULL },
                { SERVER_SIGNATURE, "a byte of the server signature flipped", "alice", "Alice-pw-1", NULL },
                { CLIENT_INFO, "a byte of PAC_CLIENT_INFO's name flipped", "alice", "Alice-pw-1", NULL },
        };
        static uint8_t tok[TOKEN_MAX];
        char user[256], nc[256], ns[256], corpus[64];
        ULONG len;
        Pair p;

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                SECURITY_STATUS st = creds(&p, pkg, cases[i].user, strchr(cases[i].user, '@') ? NULL : realm,
                                           cases[i].pw);
                const char *why = NULL;

                if (st == SEC_E_OK)
                        st = first_leg(&p, tok, &len);
                if (!t_status(st, SEC_I_CONTINUE_NEEDED, "%s %s: %s's first token", pkg, w_mode(), cases[i].user)) {
                        pair_done(&p);
                        continue;
                }
                snprintf(corpus, sizeof(corpus), "dc-%.20s", cases[i].user);
                why = tamper(tok, len, cases[i].how, cases[i].how == KEEP ? corpus : NULL);
                if (!T_OK(why == NULL, "%s %s: the ticket opened with service.keytab and sealed again (%s)", pkg,
                          w_mode(), why ? why : "ok")) {
                        pair_done(&p);
                        continue;
                }
                st = finish(&p, tok, len);
                if (cases[i].how == KEEP) {
                        if (t_status(st, SEC_E_OK, "%s %s: %s's PAC %s: accepted", pkg, w_mode(), cases[i].user,
                                     cases[i].what)) {
                                names(&p, user, sizeof(user), nc, ns, sizeof(nc));
                                t_ok(!strcmp(user, cases[i].account), "%s %s: and named %s (%s)", pkg, w_mode(),
                                     cases[i].account, user);
                        }
                } else
                        t_status(st, SEC_E_LOGON_DENIED, "%s %s: PAC %s: refused [%s]", pkg, w_mode(), cases[i].what,
                                 WIN_PAC);
                pair_done(&p);
        }
}

int main(void) {
        realm = getenv("AD_REALM");
        domain = getenv("AD_DOMAIN");
        ad_dir = getenv("AD_DIR");
        work = getenv("SSPID_AD_WORK");
        if (!realm || !domain || !ad_dir || !work || !getenv("SSPID_SOCKET")) {
                t_ok(false, "run by tests/ad/run.sh (AD_REALM, AD_DOMAIN, AD_DIR, SSPID_AD_WORK, SSPID_SOCKET set)");
                return t_done();
        }
        for (int a = 0; a < 2; a++) {
                w_async = a;
                test_names("Kerberos");
                test_names("Negotiate");
                test_tampered("Kerberos");
                test_tampered("Negotiate");
        }
        w_async = false;
        test_identity();
        return t_done();
}
