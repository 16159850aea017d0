/* SPDX-License-Identifier: MIT */
/*
 * The Sspi* identity helpers, and pAuthData as every package reads it:
 * SEC_WINNT_AUTH_IDENTITY_EX2 with a packed password, identities made by
 * SspiEncodeStringsAsAuthIdentity (plain, sealed for the process or the
 * logon session), CREDSSP_CRED / CREDSSP_CRED_EX for Negotiate and
 * Schannel. Each is used to log on for real (Kerberos in the test realm,
 * NTLM), sync and through SspiAcquireCredentialsHandleAsync. The guard-page
 * part puts each structure at the very end of a mapping followed by a
 * PROT_NONE page and acquires in a child: a read past the documented size
 * is a SIGSEGV there, reported as a failure here.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "schannel.h"
#include "twin.h"

#define TARGET "HTTP/localhost"
#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_CONNECTION)

static const char *const SRC_ENCODE = W_WINE("secur32.c", "test_SspiEncodeStringsAsAuthIdentity");
static const char *const SRC_CREDWRITE = W_WINE("secur32.c", "test_SspiPrepareForCredWrite");
/* Public disassembly of Windows 11 sspicli.dll: SspiEncodeStringsAsAuthIdentity
 * builds the result with SspiHelperConstructAuthdataExWMarshalledW (an
 * SEC_WINNT_AUTH_IDENTITY_EXW), splits "DOMAIN\user" when no domain is
 * given, refuses strings over 0x7FFD characters; SspiCompareAuthIdentities
 * compares user and domain case-insensitively, the password exactly. */
static const char *const SRC_SSPICLI = "sspicli.dll (Windows 11) disassembly of the named function";
static const char *const SRC_ENCRYPT = W_MSDOCS("SspiEncryptAuthIdentityEx function (sspi.h)");
static const char *const SRC_MARSHAL = W_MSDOCS("SspiMarshalAuthIdentity / SspiUnmarshalAuthIdentity (sspi.h)");
static const char *const SRC_EX2 = W_MSDOCS("SEC_WINNT_AUTH_IDENTITY_EX2 structure (sspi.h)");
static const char *const SRC_PACKED = W_MSDOCS("SEC_WINNT_AUTH_PACKED_CREDENTIALS structure (sspi.h)");
static const char *const SRC_CREDSSP = W_MSDOCS("SspiAcquireCredentialsHandleAsyncA: pAuthData is a CREDSSP_CRED "
                                                "for Schannel and Negotiate; CREDSSP_CRED structure (credssp.h)");
static const char *const SRC_ACH = W_MSDOCS("AcquireCredentialsHandle (General): SEC_E_UNKNOWN_CREDENTIALS");
static const char *const SRC_NEGO_LIST = W_MSDOCS("SEC_WINNT_AUTH_IDENTITY_EXW: PackageList, \"!name\" excludes");

/* ---- UTF-16 helpers ---- */

static SEC_WCHAR *W(const char *s) {
        static SEC_WCHAR buf[16][256];
        static int next;
        SEC_WCHAR *w = buf[next++ % 16];
        size_t i = 0;

        if (!s)
                return NULL;
        for (; s[i] && i < 255; i++)
                w[i] = (unsigned char) s[i];
        w[i] = 0;
        return w;
}

static bool weq(const SEC_WCHAR *a, const char *b) {
        if (!a || !b)
                return !a && !b;
        for (; *a && *b; a++, b++)
                if (*a != (unsigned char) *b)
                        return false;
        return *a == 0 && *b == 0;
}

/* ---- a SEC_WINNT_AUTH_IDENTITY_EX2 built by hand, as a caller would ---- */

typedef struct Ex2 {
        uint8_t b[1024];
        size_t len;
} Ex2;

static void put(Ex2 *e, const void *p, size_t n) {
        memcpy(e->b + e->len, p, n);
        e->len += n;
}

/* user/domain/password ASCII; `type` the packed credential's type. */
static Ex2 ex2_make(const char *user, const char *domain, const char *password, const GUID *type) {
        SEC_WINNT_AUTH_IDENTITY_EX2 h = { 0 };
        Ex2 e = { .len = sizeof(h) };
        size_t ul = strlen(user) * 2, dl = domain ? strlen(domain) * 2 : 0, pl = strlen(password) * 2;

        h.Version = SEC_WINNT_AUTH_IDENTITY_VERSION_2;
        h.cbHeaderLength = sizeof(h);
        h.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
        h.UserOffset = (ULONG) e.len;
        h.UserLength = (USHORT) ul;
        put(&e, W(user), ul);
        if (domain) {
                h.DomainOffset = (ULONG) e.len;
                h.DomainLength = (USHORT) dl;
                put(&e, W(domain), dl);
        }
        {
                SEC_WINNT_AUTH_PACKED_CREDENTIALS pc = { 0 };
                pc.cbHeaderLength = sizeof(pc);
                pc.cbStructureLength = (USHORT) (sizeof(pc) + pl);
                pc.AuthData.CredType = *type;
                pc.AuthData.CredData.ByteArrayOffset = sizeof(pc);
                pc.AuthData.CredData.ByteArrayLength = (USHORT) pl;
                h.PackedCredentialsOffset = (ULONG) e.len;
                h.PackedCredentialsLength = pc.cbStructureLength;
                put(&e, &pc, sizeof(pc));
                put(&e, W(password), pl);
        }
        while (e.len % 8)
                e.b[e.len++] = 0;
        h.cbStructureLength = (ULONG) e.len;
        memcpy(e.b, &h, sizeof(h));
        return e;
}

/* ---- logging on with a pAuthData ---- */

static const char *domain_for(const char *pkg) {
        return !strcmp(pkg, "NTLM") ? "SSPID" : t_realm();
}

/* A client credential from `auth`, a server credential of the package,
 * the handshake to TARGET, and the name the server sees. */
static void logon(const char *src, const char *pkg, void *auth, const char *what) {
        CredHandle c = { 0 }, s = { 0 };
        THandshake h;
        SecPkgContext_NamesA names = { 0 };
        SECURITY_STATUS st;

        st = w_acquire(pkg, SECPKG_CRED_OUTBOUND, auth, &c);
        if (!w_status(src, st, SEC_E_OK, "%s: %s acquires with %s", w_mode(), pkg, what))
                return;
        if (!w_status(src, w_acquire(pkg, SECPKG_CRED_INBOUND, NULL, &s), SEC_E_OK, "%s: %s server credential",
                      w_mode(), pkg)) {
                FreeCredentialsHandle(&c);
                return;
        }
        st = w_async ? t_handshake_async(pkg, NULL, &c, &s, TARGET, ISC_FLAGS, 0, &h)
                     : t_handshake(&c, &s, TARGET, ISC_FLAGS, 0, &h);
        if (w_status(src, st, SEC_E_OK, "%s: %s logs on with %s", w_mode(), pkg, what) && h.have_server &&
            QueryContextAttributesA(&h.server, SECPKG_ATTR_NAMES, &names) == SEC_E_OK) {
                w_ok(src, names.sUserName && strcasestr(names.sUserName, "alice"),
                     "%s: %s server sees alice (%s) with %s", w_mode(), pkg,
                     names.sUserName ? names.sUserName : "(null)", what);
                FreeContextBuffer(names.sUserName);
        }
        t_handshake_done(&h);
        FreeCredentialsHandle(&c);
        FreeCredentialsHandle(&s);
}

/* The password in the structure is the one used: a wrong one does not
 * log on (Windows checks it when the first token is made). */
static void logon_denied(const char *pkg, void *auth) {
        CredHandle c = { 0 }, s = { 0 };
        THandshake h;
        SECURITY_STATUS st;

        if (w_acquire(pkg, SECPKG_CRED_OUTBOUND, auth, &c) != SEC_E_OK)
                return;
        if (w_acquire(pkg, SECPKG_CRED_INBOUND, NULL, &s) == SEC_E_OK) {
                st = w_async ? t_handshake_async(pkg, NULL, &c, &s, TARGET, ISC_FLAGS, 0, &h)
                             : t_handshake(&c, &s, TARGET, ISC_FLAGS, 0, &h);
                w_status(SRC_EX2, st, SEC_E_LOGON_DENIED, "%s: %s EX2 with a wrong password does not log on",
                         w_mode(), pkg);
                t_handshake_done(&h);
                FreeCredentialsHandle(&s);
        }
        FreeCredentialsHandle(&c);
}

/* The package Negotiate chose on a logged-on context. */
static void negotiate_choice(PSEC_WINNT_AUTH_IDENTITY_OPAQUE id, const char *want) {
        CredHandle c = { 0 }, s = { 0 };
        THandshake h;
        SecPkgContext_NegotiationInfoA ni = { 0 };

        if (!w_status(SRC_NEGO_LIST, w_acquire("Negotiate", SECPKG_CRED_OUTBOUND, id, &c), SEC_E_OK,
                      "%s: Negotiate acquires with the excluding identity", w_mode()))
                return;
        if (w_acquire("Negotiate", SECPKG_CRED_INBOUND, NULL, &s) != SEC_E_OK) {
                FreeCredentialsHandle(&c);
                return;
        }
        if (w_status(SRC_NEGO_LIST, t_handshake(&c, &s, TARGET, ISC_FLAGS, 0, &h), SEC_E_OK,
                     "%s: Negotiate logs on without Kerberos", w_mode()) &&
            QueryContextAttributesA(&h.client, SECPKG_ATTR_NEGOTIATION_INFO, &ni) == SEC_E_OK) {
                w_ok(SRC_NEGO_LIST, ni.PackageInfo && !strcasecmp(ni.PackageInfo->Name, want),
                     "%s: Negotiate chose %s (%s)", w_mode(), want, ni.PackageInfo ? ni.PackageInfo->Name : "-");
                FreeContextBuffer(ni.PackageInfo);
        }
        t_handshake_done(&h);
        FreeCredentialsHandle(&c);
        FreeCredentialsHandle(&s);
}

/* ---- the helpers ---- */

static void test_encode(void) {
        PSEC_WINNT_AUTH_IDENTITY_OPAQUE id;
        LPCWSTR u, d, p;
        SECURITY_STATUS st;

        st = SspiEncodeStringsAsAuthIdentity(NULL, NULL, NULL, NULL);
        w_status(SRC_ENCODE, st, SEC_E_INVALID_TOKEN, "three NULL strings");
        id = (PSEC_WINNT_AUTH_IDENTITY_OPAQUE) 0xdeadbeef;
        st = SspiEncodeStringsAsAuthIdentity(NULL, NULL, NULL, &id);
        w_status(SRC_ENCODE, st, SEC_E_INVALID_TOKEN, "three NULL strings, an output");
        w_ok(SRC_ENCODE, id == (PSEC_WINNT_AUTH_IDENTITY_OPAQUE) 0xdeadbeef, "the output is untouched");

        {
                const char *cases[][3] = {
                        { NULL, NULL, "password" }, { NULL, "domainname", "password" },
                        { "username", NULL, "password" }, { "username", NULL, NULL },
                };
                for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                        id = NULL;
                        st = SspiEncodeStringsAsAuthIdentity(W(cases[i][0]), W(cases[i][1]), W(cases[i][2]), &id);
                        w_status(SRC_ENCODE, st, SEC_E_OK, "encode %s/%s/%s", cases[i][0] ? cases[i][0] : "NULL",
                                 cases[i][1] ? cases[i][1] : "NULL", cases[i][2] ? "password" : "NULL");
                        w_ok(SRC_ENCODE, id != NULL, "an identity");
                        SspiFreeAuthIdentity(id);
                }
        }

        id = NULL;
        st = SspiEncodeStringsAsAuthIdentity(W("username"), W("domainname"), W("password"), &id);
        if (!w_status(SRC_ENCODE, st, SEC_E_OK, "encode all three"))
                return;
        {
                const SEC_WINNT_AUTH_IDENTITY_EXW *ex = id;
                w_eq(SRC_SSPICLI, ex->Version, SEC_WINNT_AUTH_IDENTITY_VERSION, "SspiEncodeStringsAsAuthIdentity: EXW");
                w_eq(SRC_SSPICLI, ex->Length, sizeof(*ex), "SspiEncodeStringsAsAuthIdentity: Length");
                w_ok(SRC_SSPICLI, ex->Flags & SEC_WINNT_AUTH_IDENTITY_UNICODE, "SspiEncodeStringsAsAuthIdentity: UNICODE");
                w_eq(SRC_SSPICLI, ex->UserLength, 8, "SspiEncodeStringsAsAuthIdentity: UserLength in characters");
        }
        u = d = p = NULL;
        st = SspiEncodeAuthIdentityAsStrings(id, &u, &d, &p);
        w_status(SRC_ENCODE, st, SEC_E_OK, "SspiEncodeAuthIdentityAsStrings");
        w_ok(SRC_ENCODE, weq(u, "username"), "user back");
        w_ok(SRC_ENCODE, weq(d, "domainname"), "domain back");
        w_ok(SRC_ENCODE, weq(p, "password"), "password back");
        w_status(SRC_SSPICLI, SspiValidateAuthIdentity(id), SEC_E_OK, "SspiValidateAuthIdentity of an encoded identity");
        SspiZeroAuthIdentity(id);
        w_ok(SRC_ENCODE, ((SEC_WINNT_AUTH_IDENTITY_EXW *) id)->Password == NULL, "SspiZeroAuthIdentity clears it");
        SspiLocalFree((void *) u);
        SspiLocalFree((void *) d);
        SspiLocalFree((void *) p);
        SspiFreeAuthIdentity(id);

        id = NULL;
        st = SspiEncodeStringsAsAuthIdentity(W("username"), NULL, W("password"), &id);
        w_status(SRC_ENCODE, st, SEC_E_OK, "encode without domain");
        u = p = NULL;
        d = (LPCWSTR) 0xdeadbeef;
        st = SspiEncodeAuthIdentityAsStrings(id, &u, &d, &p);
        w_status(SRC_ENCODE, st, SEC_E_OK, "strings of an identity without domain");
        w_ok(SRC_ENCODE, weq(u, "username") && weq(p, "password"), "user and password back");
        w_ok(SRC_ENCODE, d == NULL, "the domain output is cleared");
        SspiLocalFree((void *) u);
        SspiLocalFree((void *) p);
        SspiFreeAuthIdentity(id);

        /* DOMAIN\user with no domain: split. */
        st = SspiEncodeStringsAsAuthIdentity(W("SSPID\\alice"), NULL, W("alice-pw-1"), &id);
        if (w_status(SRC_SSPICLI, st, SEC_E_OK, "encode DOMAIN\\user")) {
                st = SspiEncodeAuthIdentityAsStrings(id, &u, &d, NULL);
                w_ok(SRC_SSPICLI, st == SEC_E_OK && weq(u, "alice") && weq(d, "SSPID"), "DOMAIN\\user is split");
                SspiLocalFree((void *) u);
                SspiLocalFree((void *) d);
                SspiFreeAuthIdentity(id);
        }

        /* Over 0x7FFD characters. */
        {
                SEC_WCHAR *big = calloc(32767, sizeof(SEC_WCHAR));
                for (int i = 0; big && i < 32766; i++)
                        big[i] = 'a';
                id = NULL;
                st = SspiEncodeStringsAsAuthIdentity(big, NULL, NULL, &id);
                w_status(SRC_SSPICLI, st, SEC_E_INVALID_TOKEN, "a user of 32766 characters");
                free(big);
        }
}

static void test_credwrite(void) {
        PSEC_WINNT_AUTH_IDENTITY_OPAQUE id;
        LPCWSTR target, user;
        UCHAR *blob;
        ULONG type, size;
        SECURITY_STATUS st;

        if (SspiEncodeStringsAsAuthIdentity(W("username"), W("domainname"), W("password"), &id) != SEC_E_OK)
                return;
        type = size = 0;
        st = SspiPrepareForCredWrite(id, NULL, &type, &target, &user, &blob, &size);
        if (w_status(SRC_CREDWRITE, st, SEC_E_OK, "SspiPrepareForCredWrite, no target")) {
                w_eq(SRC_CREDWRITE, type, CRED_TYPE_DOMAIN_PASSWORD, "type");
                w_ok(SRC_CREDWRITE, weq(target, "domainname\\username"), "target domainname\\username");
                w_ok(SRC_CREDWRITE, weq(user, "domainname\\username"), "user domainname\\username");
                w_eq(SRC_CREDWRITE, size, 16, "blob size: the password without NUL");
                w_ok(SRC_CREDWRITE, blob && !memcmp(blob, W("password"), 16), "blob: the UTF-16 password");
                SspiLocalFree((void *) target);
                SspiLocalFree((void *) user);
                SspiLocalFree(blob);
        }
        st = SspiPrepareForCredWrite(id, W("domainname2\\username2"), &type, &target, &user, &blob, &size);
        if (w_status(SRC_CREDWRITE, st, SEC_E_OK, "SspiPrepareForCredWrite, a target")) {
                w_ok(SRC_CREDWRITE, weq(target, "domainname2\\username2"), "target as given");
                w_ok(SRC_CREDWRITE, weq(user, "domainname\\username"), "user from the identity");
                SspiLocalFree((void *) target);
                SspiLocalFree((void *) user);
                SspiLocalFree(blob);
        }
        st = SspiPrepareForCredRead(id, NULL, &type, &target);
        if (w_status(SRC_CREDWRITE, st, SEC_E_OK, "SspiPrepareForCredRead")) {
                w_eq(SRC_CREDWRITE, type, CRED_TYPE_DOMAIN_PASSWORD, "read: type as written");
                w_ok(SRC_CREDWRITE, weq(target, "domainname\\username"), "read: the target written");
                SspiLocalFree((void *) target);
        }
        SspiFreeAuthIdentity(id);
}

static void test_copy_compare_marshal(void) {
        PSEC_WINNT_AUTH_IDENTITY_OPAQUE a, b, c, copy, back;
        BOOLEAN su = 9, si = 9;
        ULONG len = 0;
        char *bytes = NULL;

        if (SspiEncodeStringsAsAuthIdentity(W("Alice"), W("SSPID"), W("alice-pw-1"), &a) != SEC_E_OK ||
            SspiEncodeStringsAsAuthIdentity(W("alice"), W("sspid"), W("alice-pw-1"), &b) != SEC_E_OK ||
            SspiEncodeStringsAsAuthIdentity(W("alice"), W("SSPID"), W("ALICE-PW-1"), &c) != SEC_E_OK)
                return;
        w_status(SRC_SSPICLI, SspiCompareAuthIdentities(a, b, &su, &si), SEC_E_OK, "compare");
        w_ok(SRC_SSPICLI, su == 1 && si == 1, "user and domain case-insensitive, same password: same");
        w_status(SRC_SSPICLI, SspiCompareAuthIdentities(a, c, &su, &si), SEC_E_OK, "compare");
        w_ok(SRC_SSPICLI, su == 1 && si == 0, "the password compares exactly");
        w_status(SRC_SSPICLI, SspiCompareAuthIdentities(a, NULL, &su, &si), SEC_E_OK, "compare with NULL");
        w_ok(SRC_SSPICLI, su == 0 && si == 0, "an identity and none differ");

        if (w_status(SRC_SSPICLI, SspiCopyAuthIdentity(a, &copy), SEC_E_OK, "SspiCopyAuthIdentity")) {
                w_ok(SRC_SSPICLI, copy != a, "a new identity");
                SspiCompareAuthIdentities(a, copy, &su, &si);
                w_ok(SRC_SSPICLI, su == 1 && si == 1, "the copy is the same identity");
                SspiFreeAuthIdentity(copy);
        }

        if (w_status(SRC_MARSHAL, SspiMarshalAuthIdentity(a, &len, &bytes), SEC_E_OK, "SspiMarshalAuthIdentity")) {
                SEC_WINNT_AUTH_IDENTITY_EX2 h;
                memcpy(&h, bytes, sizeof(h));
                w_eq(SRC_EX2, h.Version, SEC_WINNT_AUTH_IDENTITY_VERSION_2, "the bytes are a self-relative EX2");
                w_eq(SRC_EX2, h.cbStructureLength, len, "cbStructureLength is the length");
                w_status(SRC_MARSHAL, SspiUnmarshalAuthIdentity(len, bytes, &back), SEC_E_OK, "SspiUnmarshalAuthIdentity");
                SspiCompareAuthIdentities(a, back, &su, &si);
                w_ok(SRC_MARSHAL, su == 1 && si == 1, "unmarshalled: the same identity");
                SspiFreeAuthIdentity(back);
                back = (void *) 1;
                w_status(SRC_MARSHAL, SspiUnmarshalAuthIdentity(len - 2, bytes, &back), SEC_E_INVALID_TOKEN,
                         "bytes shorter than cbStructureLength");
                w_status(SRC_MARSHAL, SspiUnmarshalAuthIdentity(20, bytes, &back), SEC_E_INVALID_TOKEN,
                         "bytes shorter than the header");
                h.UserOffset = 0xfff0;
                memcpy(bytes, &h, sizeof(h));
                w_status(SRC_MARSHAL, SspiUnmarshalAuthIdentity(len, bytes, &back), SEC_E_INVALID_TOKEN,
                         "a user outside the bytes");
                SspiLocalFree(bytes);
        }
        SspiFreeAuthIdentity(a);
        SspiFreeAuthIdentity(b);
        SspiFreeAuthIdentity(c);
}

static void test_target_host(void) {
        const char *cases[][2] = {
                { "HTTP/host.example.com", "host.example.com" },
                { "HTTP/host.example.com:8080", "host.example.com" },
                { "ldap/dc1.sspid.test/sspid.test", "dc1.sspid.test" },
                { "HTTP/host.example.com@SSPID.TEST", "host.example.com" },
                { "host.example.com", "host.example.com" },
                { "host.example.com@SSPID.TEST", "host.example.com" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                LPWSTR h = NULL;
                SECURITY_STATUS st = SspiGetTargetHostName(W(cases[i][0]), &h);
                /* A name with no service class: cut at its last '@' (sspicli). */
                w_ok(i < 3 ? W_MSDOCS("SspiGetTargetHostName function (sspi.h)") : SRC_SSPICLI,
                     st == SEC_E_OK && weq(h, cases[i][1]),
                     "host of %s is %s", cases[i][0], cases[i][1]);
                SspiLocalFree(h);
        }
}

/* Sealed identities: the password is no longer in the structure, the
 * structure still logs on; the process scope opens only in this process,
 * the logon scope in any process of the uid (not another uid's). */
static void test_encrypt(void) {
        PSEC_WINNT_AUTH_IDENTITY_OPAQUE p, l;
        SEC_WINNT_AUTH_IDENTITY_EXW *ex;
        ULONG len_p = 0, len_l = 0;
        char *bytes_p = NULL, *bytes_l = NULL;
        LPCWSTR pw;

        if (SspiEncodeStringsAsAuthIdentity(W("alice"), W(t_realm()), W("alice-pw-1"), &p) != SEC_E_OK ||
            SspiEncodeStringsAsAuthIdentity(W("alice"), W(t_realm()), W("alice-pw-1"), &l) != SEC_E_OK)
                return;
        w_ok(SRC_ENCRYPT, !SspiIsAuthIdentityEncrypted(p), "not encrypted yet");
        w_status(SRC_ENCRYPT, SspiEncryptAuthIdentity(p), SEC_E_OK, "SspiEncryptAuthIdentity");
        w_ok(SRC_ENCRYPT, SspiIsAuthIdentityEncrypted(p), "encrypted");
        ex = p;
        w_ok(SRC_ENCRYPT, ex->Flags & SEC_WINNT_AUTH_IDENTITY_FLAGS_PROCESS_ENCRYPTED, "FLAGS_PROCESS_ENCRYPTED");
        w_ok(SRC_ENCRYPT, !memmem(ex->Password, ex->PasswordLength * 2, W("alice-pw-1"), 20),
             "the password is not in the structure");
        w_status(SRC_ENCRYPT, SspiEncryptAuthIdentityEx(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON, l), SEC_E_OK,
                 "SspiEncryptAuthIdentityEx(SAME_LOGON)");
        ex = l;
        w_ok(SRC_ENCRYPT, ex->Flags & SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_PROTECTED, "FLAGS_SYSTEM_PROTECTED");
        w_ok(SRC_ENCRYPT, !memmem(ex->Password, ex->PasswordLength * 2, W("alice-pw-1"), 20),
             "the password is not in the structure (logon scope)");
        w_status(SRC_ENCRYPT, SspiDecryptAuthIdentityEx(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS, l),
                 SEC_E_INVALID_PARAMETER, "decrypt with the other scope");

        if (SspiEncodeAuthIdentityAsStrings(p, NULL, NULL, &pw) == SEC_E_OK) {
                w_ok(SRC_ENCRYPT, weq(pw, "alice-pw-1"), "the strings of a sealed identity are the clear ones");
                SspiLocalFree((void *) pw);
        }
        for (int a = 0; a < 2; a++) {
                w_async = a;
                logon(SRC_ENCRYPT, "Kerberos", p, "a process-sealed identity");
                logon(SRC_ENCRYPT, "Kerberos", l, "a logon-sealed identity");
        }
        w_async = false;

        /* Another process of the uid: the logon scope opens, the process
         * scope does not; another uid opens neither. */
        if (SspiMarshalAuthIdentity(p, &len_p, &bytes_p) == SEC_E_OK &&
            SspiMarshalAuthIdentity(l, &len_l, &bytes_l) == SEC_E_OK) {
                for (int other_uid = 0; other_uid < (geteuid() == 0 ? 2 : 1); other_uid++) {
                        int fd[2];
                        SECURITY_STATUS got[2] = { 1, 1 };
                        pid_t pid;
                        if (pipe(fd) < 0)
                                break;
                        fflush(stdout);
                        pid = fork();
                        if (pid == 0) {
                                PSEC_WINNT_AUTH_IDENTITY_OPAQUE x = NULL, y = NULL;
                                if (other_uid && (setgid(65534) < 0 || setuid(65534) < 0))
                                        _exit(2);
                                got[0] = SspiUnmarshalAuthIdentity(len_p, bytes_p, &x);
                                if (got[0] == SEC_E_OK)
                                        got[0] = SspiDecryptAuthIdentity(x);
                                got[1] = SspiUnmarshalAuthIdentity(len_l, bytes_l, &y);
                                if (got[1] == SEC_E_OK)
                                        got[1] = SspiDecryptAuthIdentity(y);
                                (void) !write(fd[1], got, sizeof(got));
                                _exit(0);
                        }
                        close(fd[1]);
                        if (read(fd[0], got, sizeof(got)) != sizeof(got))
                                got[0] = got[1] = 1;
                        close(fd[0]);
                        waitpid(pid, NULL, 0);
                        w_status(SRC_ENCRYPT, got[0], SEC_E_DECRYPT_FAILURE, "%s: a process-sealed password does not open",
                                 other_uid ? "uid 65534" : "another process of the uid");
                        w_status(SRC_ENCRYPT, got[1], other_uid ? SEC_E_DECRYPT_FAILURE : SEC_E_OK,
                                 "%s: a logon-sealed password %s", other_uid ? "uid 65534" : "another process of the uid",
                                 other_uid ? "does not open" : "opens");
                }
        }
        SspiLocalFree(bytes_p);
        SspiLocalFree(bytes_l);

        w_status(SRC_ENCRYPT, SspiDecryptAuthIdentity(p), SEC_E_OK, "SspiDecryptAuthIdentity");
        w_ok(SRC_ENCRYPT, !SspiIsAuthIdentityEncrypted(p), "decrypted");
        ex = p;
        w_ok(SRC_ENCRYPT, ex->PasswordLength == 10 && !memcmp(ex->Password, W("alice-pw-1"), 20),
             "the password is back in the structure");
        w_status(SRC_ENCRYPT, SspiDecryptAuthIdentityEx(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON, l), SEC_E_OK,
                 "SspiDecryptAuthIdentityEx(SAME_LOGON)");
        ex = l;
        w_ok(SRC_ENCRYPT, ex->PasswordLength == 10 && !memcmp(ex->Password, W("alice-pw-1"), 20),
             "the logon-sealed password is back");
        SspiFreeAuthIdentity(p);
        SspiFreeAuthIdentity(l);
}

/* ---- pAuthData for every package: logging on ---- */

static void test_logons(void) {
        static const char *const pkgs[] = { "Kerberos", "NTLM", "Negotiate" };
        const GUID pw = SEC_WINNT_AUTH_DATA_TYPE_PASSWORD_INIT, cert = SEC_WINNT_AUTH_DATA_TYPE_CERT_INIT;

        for (size_t i = 0; i < sizeof(pkgs) / sizeof(pkgs[0]); i++) {
                const char *pkg = pkgs[i];
                PSEC_WINNT_AUTH_IDENTITY_OPAQUE id;
                Ex2 e = ex2_make("alice", domain_for(pkg), "alice-pw-1", &pw);
                CredHandle c;

                logon(SRC_EX2, pkg, e.b, "SEC_WINNT_AUTH_IDENTITY_EX2 (packed password)");
                if (SspiEncodeStringsAsAuthIdentity(W("alice"), W(domain_for(pkg)), W("alice-pw-1"), &id) == SEC_E_OK) {
                        logon(SRC_ENCODE, pkg, id, "SspiEncodeStringsAsAuthIdentity's identity");
                        SspiFreeAuthIdentity(id);
                }
                e = ex2_make("alice", domain_for(pkg), "wrong-pw", &pw);
                logon_denied(pkg, e.b);
                e = ex2_make("alice", domain_for(pkg), "alice-pw-1", &cert);
                w_status(SRC_PACKED, w_acquire(pkg, SECPKG_CRED_OUTBOUND, e.b, &c), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: %s EX2 with a certificate credential (no smart cards here)", w_mode(), pkg);
        }
        {
                const GUID pwg = SEC_WINNT_AUTH_DATA_TYPE_PASSWORD_INIT;
                Ex2 e = ex2_make("alice", "SSPID", "alice-pw-1", &pwg);
                CredHandle c;
                if (w_status(SRC_EX2, w_acquire("WDigest", SECPKG_CRED_OUTBOUND, e.b, &c), SEC_E_OK,
                             "%s: WDigest acquires with an EX2", w_mode()))
                        FreeCredentialsHandle(&c);
        }

        /* CREDSSP_CRED: Negotiate takes pSpnegoCred. */
        {
                SEC_WINNT_AUTH_IDENTITY_A a = w_ident("alice", t_realm(), "alice-pw-1");
                CREDSSP_CRED cc = { CredsspSubmitBufferBoth, NULL, &a };
                CREDSSP_CRED_EX cx = { CredsspCredEx, CREDSSP_CRED_EX_VERSION, CREDSSP_FLAG_REDIRECT, 0,
                                       { CredsspPasswordCreds, NULL, &a } };
                const GUID pwg = SEC_WINNT_AUTH_DATA_TYPE_PASSWORD_INIT;
                Ex2 e = ex2_make("alice", t_realm(), "alice-pw-1", &pwg);
                CREDSSP_CRED ce = { CredsspSubmitBufferBothOld, NULL, e.b };
                CredHandle c;

                logon(SRC_CREDSSP, "Negotiate", &cc, "CREDSSP_CRED (SubmitBufferBoth, pSpnegoCred an identity)");
                logon(SRC_CREDSSP, "Negotiate", &cx, "CREDSSP_CRED_EX (PasswordCreds)");
                logon(SRC_CREDSSP, "Negotiate", &ce, "CREDSSP_CRED (SubmitBufferBothOld, pSpnegoCred an EX2)");
                cx.Version = 1;
                w_status(SRC_ACH, w_acquire("Negotiate", SECPKG_CRED_OUTBOUND, &cx, &c), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: CREDSSP_CRED_EX of version 1", w_mode());
                cc.Type = CredsspSchannelCreds;
                w_status(SRC_ACH, w_acquire("Negotiate", SECPKG_CRED_OUTBOUND, &cc, &c), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: CREDSSP_CRED with Schannel credentials only, for Negotiate", w_mode());
                cc.Type = CredsspSubmitBufferBoth;
                w_status(SRC_ACH, w_acquire("Kerberos", SECPKG_CRED_OUTBOUND, &cc, &c), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: CREDSSP_CRED for Kerberos", w_mode());
                w_status(SRC_ACH, w_acquire("NTLM", SECPKG_CRED_OUTBOUND, &cc, &c), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: CREDSSP_CRED for NTLM", w_mode());
        }

        /* CREDSSP_CRED: Schannel takes pSchannelCred. */
        {
                SCHANNEL_CRED sc = { 0 };
                SCH_CREDENTIALS sch = { 0 };
                CREDSSP_CRED cc = { CredsspSubmitBufferBoth, &sc, NULL };
                CREDSSP_CRED_EX cx = { CredsspCredEx, CREDSSP_CRED_EX_VERSION, 0, 0, { CredsspSubmitBufferBoth, &sch, NULL } };
                CredHandle c;

                sc.dwVersion = SCHANNEL_CRED_VERSION;
                sc.grbitEnabledProtocols = SP_PROT_TLS1_2_CLIENT;
                sch.dwVersion = SCH_CREDENTIALS_VERSION;
                if (w_status(SRC_CREDSSP, w_acquire(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &cc, &c), SEC_E_OK,
                             "%s: Schannel with CREDSSP_CRED (SCHANNEL_CRED)", w_mode())) {
                        SecPkgCred_SupportedProtocols sp = { 0 };
                        if (QueryCredentialsAttributesA(&c, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &sp) == SEC_E_OK)
                                w_eq(SRC_CREDSSP, sp.grbitProtocol & SP_PROT_TLS1_2_CLIENT, SP_PROT_TLS1_2_CLIENT,
                                     "%s: the SCHANNEL_CRED inside was read (TLS 1.2 client enabled)", w_mode());
                        FreeCredentialsHandle(&c);
                }
                if (w_status(SRC_CREDSSP, w_acquire(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &cx, &c), SEC_E_OK,
                             "%s: Schannel with CREDSSP_CRED_EX (SCH_CREDENTIALS)", w_mode()))
                        FreeCredentialsHandle(&c);
                cc.pSchannelCred = NULL;
                if (w_status(SRC_CREDSSP, w_acquire(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &cc, &c), SEC_E_OK,
                             "%s: Schannel with CREDSSP_CRED, pSchannelCred NULL (no explicit credential)", w_mode()))
                        FreeCredentialsHandle(&c);
                cc.Type = CredsspPasswordCreds;
                w_status(SRC_ACH, w_acquire(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &cc, &c), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: CREDSSP_CRED with password credentials only, for Schannel", w_mode());
        }
}

static void test_exclude(void) {
        PSEC_WINNT_AUTH_IDENTITY_OPAQUE id, nk;
        LPCWSTR u;

        if (SspiEncodeStringsAsAuthIdentity(W("alice"), W("SSPID"), W("alice-pw-1"), &id) != SEC_E_OK)
                return;
        if (w_status(SRC_NEGO_LIST, SspiExcludePackage(id, W("Kerberos"), &nk), SEC_E_OK, "SspiExcludePackage")) {
                SEC_WINNT_AUTH_IDENTITY_EXW *ex = nk;
                w_ok(SRC_NEGO_LIST, ex->PackageList && weq(ex->PackageList, "!Kerberos"), "the package list is !Kerberos");
                if (SspiEncodeAuthIdentityAsStrings(nk, &u, NULL, NULL) == SEC_E_OK) {
                        w_ok(SRC_NEGO_LIST, weq(u, "alice"), "the rest of the identity is kept");
                        SspiLocalFree((void *) u);
                }
                for (int a = 0; a < 2; a++) {
                        w_async = a;
                        negotiate_choice(nk, "NTLM");
                }
                w_async = false;
                SspiFreeAuthIdentity(nk);
        }
        SspiFreeAuthIdentity(id);
}

/* ---- guard pages ---- */

static long page;

/* A private copy of `len` bytes ending exactly at a PROT_NONE page. */
static void *guarded(const void *data, size_t len, uint8_t **ret_base) {
        uint8_t *base = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (base == MAP_FAILED)
                return NULL;
        if (mprotect(base + page, page, PROT_NONE) < 0) {
                munmap(base, 2 * page);
                return NULL;
        }
        memcpy(base + page - len, data, len);
        *ret_base = base;
        return base + page - len;
}

/* Acquire in a child with pAuthData guarded; the status, or a note that
 * it died (a read past the structure). */
static void guard(const char *pkg, const char *what, const void *data, size_t len, SECURITY_STATUS want) {
        int fd[2], ws = 0;
        SECURITY_STATUS got = 1;
        pid_t pid;

        if (pipe(fd) < 0)
                return;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                uint8_t *base;
                void *p = guarded(data, len, &base);
                CredHandle c;
                SECURITY_STATUS st = p ? w_acquire(pkg, SECPKG_CRED_OUTBOUND, p, &c) : SEC_E_INTERNAL_ERROR;
                if (st == SEC_E_OK)
                        FreeCredentialsHandle(&c);
                (void) !write(fd[1], &st, sizeof(st));
                _exit(0);
        }
        close(fd[1]);
        if (read(fd[0], &got, sizeof(got)) != sizeof(got))
                got = 1;
        close(fd[0]);
        waitpid(pid, &ws, 0);
        if (!w_ok(SRC_CREDSSP, !WIFSIGNALED(ws), "%s: %s with %s (%zu bytes, guard page after) does not crash (%s)",
                  w_mode(), pkg, what, len, WIFSIGNALED(ws) ? strsignal(WTERMSIG(ws)) : "ok"))
                return;
        w_status(want == SEC_E_OK ? SRC_CREDSSP : SRC_ACH, got, want, "%s: %s with %s, guard page after", w_mode(),
                 pkg, what);
}

static void test_guard_pages(void) {
        static const char *const ids[] = { "Negotiate", "Kerberos", "NTLM", "WDigest" };
        const GUID pwg = SEC_WINNT_AUTH_DATA_TYPE_PASSWORD_INIT;
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION };
        SCH_CREDENTIALS sch = { .dwVersion = SCH_CREDENTIALS_VERSION };

        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                const char *pkg = ids[i];
                bool nego = !strcmp(pkg, "Negotiate");
                SEC_WINNT_AUTH_IDENTITY_A a = w_ident("alice", domain_for(pkg), "alice-pw-1");
                SEC_WINNT_AUTH_IDENTITY_W w = { W("alice"), 5, W(domain_for(pkg)), (ULONG) strlen(domain_for(pkg)),
                                                W("alice-pw-1"), 10, SEC_WINNT_AUTH_IDENTITY_UNICODE };
                SEC_WINNT_AUTH_IDENTITY_EXA xa = { SEC_WINNT_AUTH_IDENTITY_VERSION, sizeof(xa), a.User, a.UserLength,
                                                   a.Domain, a.DomainLength, a.Password, a.PasswordLength,
                                                   SEC_WINNT_AUTH_IDENTITY_ANSI, NULL, 0 };
                SEC_WINNT_AUTH_IDENTITY_EXW xw = { SEC_WINNT_AUTH_IDENTITY_VERSION, sizeof(xw), w.User, w.UserLength,
                                                   w.Domain, w.DomainLength, w.Password, w.PasswordLength,
                                                   SEC_WINNT_AUTH_IDENTITY_UNICODE, NULL, 0 };
                Ex2 e = ex2_make("alice", domain_for(pkg), "alice-pw-1", &pwg);
                CREDSSP_CRED cc = { CredsspSubmitBufferBoth, NULL, &a };
                CREDSSP_CRED_EX cx = { CredsspCredEx, CREDSSP_CRED_EX_VERSION, 0, 0, { CredsspSubmitBufferBothOld, NULL, &w } };
                uint32_t v1 = SEC_WINNT_AUTH_IDENTITY_VERSION;
                uint8_t trunc_ex[8], trunc_ex2[8];
                uint16_t small = 6;
                SEC_WINNT_AUTH_IDENTITY_A junk;

                guard(pkg, "SEC_WINNT_AUTH_IDENTITY_A", &a, sizeof(a), SEC_E_OK);
                guard(pkg, "SEC_WINNT_AUTH_IDENTITY_W", &w, sizeof(w), SEC_E_OK);
                guard(pkg, "SEC_WINNT_AUTH_IDENTITY_EXA", &xa, sizeof(xa), SEC_E_OK);
                guard(pkg, "SEC_WINNT_AUTH_IDENTITY_EXW", &xw, sizeof(xw), SEC_E_OK);
                guard(pkg, "SEC_WINNT_AUTH_IDENTITY_EX2", e.b, e.len, SEC_E_OK);
                guard(pkg, "CREDSSP_CRED", &cc, sizeof(cc), nego ? SEC_E_OK : SEC_E_UNKNOWN_CREDENTIALS);
                guard(pkg, "CREDSSP_CRED_EX", &cx, sizeof(cx), nego ? SEC_E_OK : SEC_E_UNKNOWN_CREDENTIALS);
                /* Truncated: a header that promises less than the type. */
                memcpy(trunc_ex, &v1, 4);
                memcpy(trunc_ex + 4, &(uint32_t) { 8 }, 4);
                guard(pkg, "an EX of Length 8, 8 bytes", trunc_ex, sizeof(trunc_ex), SEC_E_UNKNOWN_CREDENTIALS);
                memcpy(trunc_ex2, &(uint32_t) { SEC_WINNT_AUTH_IDENTITY_VERSION_2 }, 4);
                memcpy(trunc_ex2 + 4, &small, 2);
                memset(trunc_ex2 + 6, 0, 2);
                guard(pkg, "an EX2 of cbHeaderLength 6, 8 bytes", trunc_ex2, sizeof(trunc_ex2),
                      SEC_E_UNKNOWN_CREDENTIALS);
                {
                        Ex2 t = e;
                        SEC_WINNT_AUTH_IDENTITY_EX2 h;
                        memcpy(&h, t.b, sizeof(h));
                        h.UserOffset = h.cbStructureLength - 2;
                        memcpy(t.b, &h, sizeof(h));
                        guard(pkg, "an EX2 whose user runs past cbStructureLength", t.b, t.len,
                              SEC_E_UNKNOWN_CREDENTIALS);
                        memcpy(&h, e.b, sizeof(h));
                        h.PackedCredentialsLength = 10;
                        memcpy(t.b, &h, sizeof(h));
                        guard(pkg, "an EX2 whose packed credential is 10 bytes", t.b, t.len, SEC_E_UNKNOWN_CREDENTIALS);
                }
                /* An unknown first word is a plain identity's User pointer:
                 * 48 bytes are the structure; garbage flags refuse it. */
                memset(&junk, 0x5a, sizeof(junk));
                junk.User = junk.Domain = junk.Password = NULL;
                junk.UserLength = junk.DomainLength = junk.PasswordLength = 0;
                junk.Flags = 0x5a5a5a58 | SEC_WINNT_AUTH_IDENTITY_ANSI | SEC_WINNT_AUTH_IDENTITY_UNICODE;
                guard(pkg, "48 bytes that are no identity", &junk, sizeof(junk), SEC_E_UNKNOWN_CREDENTIALS);
                /* CREDSSP_CRED submit types other packages never take. */
                cc.Type = CredsspCertificateCreds;
                guard(pkg, "CREDSSP_CRED (CertificateCreds)", &cc, sizeof(cc), SEC_E_UNKNOWN_CREDENTIALS);
        }

        {
                CREDSSP_CRED cc = { CredsspSubmitBufferBoth, &sc, NULL };
                CREDSSP_CRED_EX cx = { CredsspCredEx, CREDSSP_CRED_EX_VERSION, 0, 0, { CredsspSubmitBufferBoth, &sch, NULL } };
                SEC_WINNT_AUTH_IDENTITY_A a = w_ident("alice", "SSPID", "alice-pw-1");
                uint32_t unknown = 0x12345678, v2 = SEC_WINNT_AUTH_IDENTITY_VERSION_2;

                guard(UNISP_NAME_A, "SCHANNEL_CRED", &sc, sizeof(sc), SEC_E_OK);
                guard(UNISP_NAME_A, "SCH_CREDENTIALS", &sch, sizeof(sch), SEC_E_OK);
                guard(UNISP_NAME_A, "CREDSSP_CRED", &cc, sizeof(cc), SEC_E_OK);
                guard(UNISP_NAME_A, "CREDSSP_CRED_EX", &cx, sizeof(cx), SEC_E_OK);
                cc.Type = CredsspPasswordCreds;
                guard(UNISP_NAME_A, "CREDSSP_CRED (PasswordCreds)", &cc, sizeof(cc), SEC_E_UNKNOWN_CREDENTIALS);
                cc.Type = CredsspSubmitBufferBoth;
                cc.pSchannelCred = &a;
                guard(UNISP_NAME_A, "CREDSSP_CRED whose pSchannelCred is an identity", &cc, sizeof(cc),
                      SEC_E_UNKNOWN_CREDENTIALS);
                guard(UNISP_NAME_A, "4 bytes of an unknown version", &unknown, sizeof(unknown), SEC_E_UNKNOWN_CREDENTIALS);
                guard(UNISP_NAME_A, "4 bytes of the EX2 version", &v2, sizeof(v2), SEC_E_UNKNOWN_CREDENTIALS);
                guard(UNISP_NAME_A, "SEC_WINNT_AUTH_IDENTITY_A", &a, sizeof(a), SEC_E_UNKNOWN_CREDENTIALS);
        }
}

int main(void) {
        page = sysconf(_SC_PAGESIZE);
        test_encode();
        test_credwrite();
        test_copy_compare_marshal();
        test_target_host();
        test_encrypt();
        test_exclude();
        for (int a = 0; a < 2; a++) {
                w_async = a;
                test_logons();
                test_guard_pages();
        }
        return t_done();
}
