/* SPDX-License-Identifier: MIT */
/*
 * Issue 15 item 2: the names a domain user types, against the AD DC.
 *
 * Windows' Kerberos client sends a UPN ("gina@mail.example", an alternate
 * UPN suffix, or "alice@corp.test") as an enterprise principal
 * (KRB5-NT-ENTERPRISE-PRINCIPAL, RFC 6806 section 5; MS-KILE 3.2.5.5: the AS
 * exchange with the referrals extensions; 3.3.5.6.1: how the KDC finds the
 * account) with the canonicalize option, and a NetBIOS domain ("CORP\alice"
 * or User "alice" with Domain "CORP") is the domain whose DNS name is the
 * realm; the KDC returns the account's canonical name (alice@CORP.TEST),
 * which is the name the client's and the acceptor's contexts give.
 * Negotiate uses Kerberos for all of them (its NTLM half is never needed).
 *
 * run.sh's sspid maps the NetBIOS alias CORPX to CORP.TEST
 * ([kerberos] netbios-domain = CORPX = CORP.TEST); the DC's own NetBIOS
 * name CORP is not mapped: the DC resolves it (alice@CORP as an enterprise
 * name). Sync and through Sspi*Async, Kerberos and Negotiate.
 *
 * Refusals: a wrong password, and an unknown account of CORP once a logon
 * taught the daemon that the DC resolves CORP (the logons before it do),
 * are the DC's: SEC_E_LOGON_DENIED. A NetBIOS domain the DC does not know
 * (NOSUCH) has no Kerberos authority: SEC_E_NO_AUTHENTICATING_AUTHORITY,
 * the status it had when the domain was taken for a realm, after which
 * Negotiate tries NTLM as Windows does for a name outside its domains.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_MUTUAL_AUTH)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_MUTUAL_AUTH)
#define SPN "HTTP/web.corp.test"

typedef struct Outcome {
        SECURITY_STATUS st;
        char client_name[256];  /* the client context's SECPKG_ATTR_NAMES */
        char cred_name[256];    /* the credential's SECPKG_CRED_ATTR_NAMES after the logon */
        char server_name[256];  /* the acceptor's SECPKG_ATTR_NAMES */
        char package[64];       /* the package Negotiate chose (client side) */
        ULONG key_len;          /* the session key, when both sides hold the same */
} Outcome;

static void ctx_name(CtxtHandle *h, char *buf, size_t len) {
        SecPkgContext_NamesA n;

        buf[0] = 0;
        if (QueryContextAttributesA(h, SECPKG_ATTR_NAMES, &n) == SEC_E_OK) {
                snprintf(buf, len, "%s", n.sUserName);
                FreeContextBuffer(n.sUserName);
        }
}

static void outcome_fill(Outcome *o, const char *pkg, CredHandle *c, THandshake *h) {
        SecPkgCredentials_NamesA cn;
        SecPkgContext_SessionKey kc, ks;

        ctx_name(&h->client, o->client_name, sizeof(o->client_name));
        ctx_name(&h->server, o->server_name, sizeof(o->server_name));
        if (QueryCredentialsAttributesA(c, SECPKG_CRED_ATTR_NAMES, &cn) == SEC_E_OK) {
                snprintf(o->cred_name, sizeof(o->cred_name), "%s", cn.sUserName);
                FreeContextBuffer(cn.sUserName);
        }
        snprintf(o->package, sizeof(o->package), "%s", pkg);
        if (!strcmp(pkg, "Negotiate")) {
                SecPkgContext_NegotiationInfoA ni;
                o->package[0] = 0;
                if (QueryContextAttributesA(&h->client, SECPKG_ATTR_NEGOTIATION_INFO, &ni) == SEC_E_OK) {
                        snprintf(o->package, sizeof(o->package), "%s", ni.PackageInfo->Name);
                        FreeContextBuffer(ni.PackageInfo);
                }
        }
        if (QueryContextAttributesA(&h->client, SECPKG_ATTR_SESSION_KEY, &kc) == SEC_E_OK) {
                if (QueryContextAttributesA(&h->server, SECPKG_ATTR_SESSION_KEY, &ks) == SEC_E_OK) {
                        if (kc.SessionKeyLength == ks.SessionKeyLength &&
                            !memcmp(kc.SessionKey, ks.SessionKey, kc.SessionKeyLength))
                                o->key_len = kc.SessionKeyLength;
                        FreeContextBuffer(ks.SessionKey);
                }
                FreeContextBuffer(kc.SessionKey);
        }
}

/* A logon as user/domain/password through `pkg`, sync or async, to the
 * acceptor granted SPN (both on run.sh's sspid). */
static void logon(const char *pkg, bool async, const char *user, const char *domain, const char *pw, Outcome *o) {
        SEC_WINNT_AUTH_IDENTITY_A id = {
                .User = (unsigned char *) user, .UserLength = (ULONG) strlen(user),
                .Domain = (unsigned char *) domain, .DomainLength = domain ? (ULONG) strlen(domain) : 0,
                .Password = (unsigned char *) pw, .PasswordLength = (ULONG) strlen(pw),
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
        };
        CredHandle c = { 0 }, s = { 0 };
        THandshake h;

        memset(o, 0, sizeof(*o));
        if (async) {
                o->st = t_handshake_async(pkg, &id, &c, &s, SPN, ISC_FLAGS, ASC_FLAGS, &h);
        } else {
                o->st = AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, &c,
                                                  NULL);
                if (o->st == SEC_E_OK)
                        o->st = AcquireCredentialsHandleA((char *) SPN, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL,
                                                          NULL, NULL, &s, NULL);
                if (o->st == SEC_E_OK)
                        o->st = t_handshake(&c, &s, SPN, ISC_FLAGS, ASC_FLAGS, &h);
                else
                        memset(&h, 0, sizeof(h));
        }
        if (o->st == SEC_E_OK)
                outcome_fill(o, pkg, &c, &h);
        t_handshake_done(&h);
        if (c.dwLower || c.dwUpper)
                FreeCredentialsHandle(&c);
        if (s.dwLower || s.dwUpper)
                FreeCredentialsHandle(&s);
}

/* The acceptor's name of the account: its canonical principal, or the
 * NetBIOS form once the PAC names it (issue 15 item 3). */
static bool server_names(const char *got, const char *principal, const char *netbios) {
        return !strcmp(got, principal) || !strcmp(got, netbios);
}

static const struct {
        const char *what, *user, *domain, *pw, *principal, *netbios;
} good[] = {
        { "NetBIOS domain in Domain (alice, CORP)", "alice", "CORP", "Alice-pw-1", "alice@CORP.TEST", "CORP\\alice" },
        { "NetBIOS domain in User (CORP\\alice)", "CORP\\alice", NULL, "Alice-pw-1", "alice@CORP.TEST", "CORP\\alice" },
        { "NetBIOS domain in lower case (alice, corp)", "alice", "corp", "Alice-pw-1", "alice@CORP.TEST",
          "CORP\\alice" },
        { "configured NetBIOS alias (alice, CORPX)", "alice", "CORPX", "Alice-pw-1", "alice@CORP.TEST", "CORP\\alice" },
        { "alternate UPN suffix (gina@mail.example)", "gina@mail.example", NULL, "Gina-pw-1", "gina@CORP.TEST",
          "CORP\\gina" },
        { "UPN with the realm in lower case (alice@corp.test)", "alice@corp.test", NULL, "Alice-pw-1",
          "alice@CORP.TEST", "CORP\\alice" },
        { "UPN that is not the account name (henry@corp.test)", "henry@corp.test", NULL, "Hank-pw-1",
          "hank@CORP.TEST", "CORP\\hank" },
};

static const struct {
        const char *what, *user, *domain, *pw;
} bad[] = {
        { "wrong password (CORP\\alice)", "CORP\\alice", NULL, "wrong-pw-1" },
        { "wrong password (gina@mail.example)", "gina@mail.example", NULL, "wrong-pw-1" },
        { "unknown account in the NetBIOS domain (CORP\\nobody)", "nobody", "CORP", "Nobody-pw-1" },
};

int main(void) {
        static const char *pkgs[] = { "Kerberos", "Negotiate" };

        if (!getenv("AD_REALM") || !getenv("SSPID_SOCKET")) {
                t_ok(false, "run by tests/ad/run.sh (AD_REALM, SSPID_SOCKET set)");
                return t_done();
        }
        for (size_t p = 0; p < 2; p++)
                for (int async = 0; async < 2; async++) {
                        const char *mode = async ? "async" : "sync";

                        for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
                                Outcome o;

                                logon(pkgs[p], async, good[i].user, good[i].domain, good[i].pw, &o);
                                if (!t_status(o.st, SEC_E_OK, "%s %s: %s logs on", mode, pkgs[p], good[i].what))
                                        continue;
                                t_ok(!strcmp(o.client_name, good[i].principal),
                                     "%s %s: %s: the client context's name is the canonical %s (\"%s\")", mode,
                                     pkgs[p], good[i].what, good[i].principal, o.client_name);
                                t_ok(!strcmp(o.cred_name, good[i].principal),
                                     "%s %s: %s: the credential's name after the logon is %s (\"%s\")", mode, pkgs[p],
                                     good[i].what, good[i].principal, o.cred_name);
                                t_ok(server_names(o.server_name, good[i].principal, good[i].netbios),
                                     "%s %s: %s: the acceptor names %s (\"%s\")", mode, pkgs[p], good[i].what,
                                     good[i].principal, o.server_name);
                                t_ok(!strcmp(o.package, "Kerberos"), "%s %s: %s: Kerberos, no NTLM (\"%s\")", mode,
                                     pkgs[p], good[i].what, o.package);
                                t_ok(o.key_len == 32, "%s %s: %s: an AES256 session key on both sides (%u bytes)",
                                     mode, pkgs[p], good[i].what, o.key_len);
                        }
                        /* A NetBIOS domain the DC does not know: no Kerberos
                         * authority for it (Negotiate would try NTLM). */
                        if (!strcmp(pkgs[p], "Kerberos")) {
                                Outcome o;
                                logon(pkgs[p], async, "alice", "NOSUCH", "Alice-pw-1", &o);
                                t_status(o.st, SEC_E_NO_AUTHENTICATING_AUTHORITY,
                                         "%s %s: NOSUCH\\alice (a NetBIOS domain the DC does not know)", mode,
                                         pkgs[p]);
                        }
                        /* Refused by the DC, through Kerberos (the names above show Negotiate picks it). */
                        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                                Outcome o;

                                logon(pkgs[p], async, bad[i].user, bad[i].domain, bad[i].pw, &o);
                                t_status(o.st, SEC_E_LOGON_DENIED, "%s %s: %s refused by the DC", mode, pkgs[p], bad[i].what);
                        }
                }
        return t_done();
}
