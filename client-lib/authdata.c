/* SPDX-License-Identifier: MIT */
/*
 * pAuthData: which structure it is, read by its documented size only.
 * A caller's structure may end at the end of its mapping (tests put a
 * PROT_NONE page right after it), so each step reads only what the type
 * named by the words read so far guarantees.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "authdata.h"
#include "schannel.h"

/* Windows' limits for SEC_WINNT_AUTH_IDENTITY fields in
 * AcquireCredentialsHandle, in characters. */
#define MAX_USER 256
#define MAX_DOMAIN 256
#define MAX_PASSWORD 256
#define MAX_PACKAGE_LIST 1024

/* A structure larger than this is not an identity anyone means. */
#define MAX_EX2_SIZE (1U << 20)

void idfields_done(IdFields *f) {
        free(f->user);
        free(f->domain);
        free(f->packages);
        if (f->password) {
                explicit_bzero(f->password, f->password_len * sizeof(SEC_WCHAR));
                free(f->password);
        }
        *f = (IdFields) {};
}

/* A copy of n UTF-16 code units, NUL-terminated. */
static int copy16(const void *p, size_t n, SEC_WCHAR **ret, size_t *ret_len) {
        SEC_WCHAR *s;

        *ret = NULL;
        *ret_len = 0;
        if (!p)
                return n == 0 ? 0 : -EINVAL;
        if (n > IDENTITY_MAX_CHARS)
                return -E2BIG;
        s = malloc((n + 1) * sizeof(SEC_WCHAR));
        if (!s)
                return -ENOMEM;
        memcpy(s, p, n * sizeof(SEC_WCHAR));
        s[n] = 0;
        *ret = s;
        *ret_len = n;
        return 0;
}

/* n bytes of UTF-8 (an _A identity) as UTF-16. */
static int copy8(const void *p, size_t n, SEC_WCHAR **ret, size_t *ret_len) {
        char *tmp;
        int r;

        *ret = NULL;
        *ret_len = 0;
        if (!p)
                return n == 0 ? 0 : -EINVAL;
        if (n > IDENTITY_MAX_CHARS)
                return -E2BIG;
        if (memchr(p, 0, n) || !wire_utf8_valid(p, n))
                return -EILSEQ;
        tmp = strndup(p, n);
        if (!tmp)
                return -ENOMEM;
        r = utf8_to_utf16(tmp, ret);
        /* It may be the password. */
        explicit_bzero(tmp, n);
        free(tmp);
        if (r < 0)
                return r;
        *ret_len = utf16_len(*ret);
        return 0;
}

static SECURITY_STATUS status_from(int r) {
        return r == -ENOMEM ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_UNKNOWN_CREDENTIALS;
}

/* The classic forms: A/W, EXA/EXW. */
static SECURITY_STATUS read_classic(const void *auth, IdFields *f) {
        const void *user, *domain, *password, *pkgs = NULL;
        uint32_t ul, dl, pl, pkl = 0, flags, version;
        int (*copy)(const void *, size_t, SEC_WCHAR **, size_t *);
        int r;

        memcpy(&version, auth, sizeof(version));
        if (version == SEC_WINNT_AUTH_IDENTITY_VERSION) {
                const SEC_WINNT_AUTH_IDENTITY_EXA *ex = auth;
                uint32_t length;
                /* Version and Length first: the rest only when Length
                 * says the structure is there. */
                memcpy(&length, (const uint8_t *) auth + offsetof(SEC_WINNT_AUTH_IDENTITY_EXA, Length),
                       sizeof(length));
                if (length < sizeof(*ex))
                        return SEC_E_UNKNOWN_CREDENTIALS;
                user = ex->User;
                ul = ex->UserLength;
                domain = ex->Domain;
                dl = ex->DomainLength;
                password = ex->Password;
                pl = ex->PasswordLength;
                flags = ex->Flags;
                pkgs = ex->PackageList;
                pkl = ex->PackageListLength;
        } else {
                const SEC_WINNT_AUTH_IDENTITY_A *a = auth;
                user = a->User;
                ul = a->UserLength;
                domain = a->Domain;
                dl = a->DomainLength;
                password = a->Password;
                pl = a->PasswordLength;
                flags = a->Flags;
        }
        switch (flags & (SEC_WINNT_AUTH_IDENTITY_ANSI | SEC_WINNT_AUTH_IDENTITY_UNICODE)) {
        case SEC_WINNT_AUTH_IDENTITY_ANSI:
                copy = copy8;
                break;
        case SEC_WINNT_AUTH_IDENTITY_UNICODE:
                copy = copy16;
                break;
        default:
                return SEC_E_UNKNOWN_CREDENTIALS;
        }
        /* A sealed password is bytes, whatever the string type. */
        if (flags & IDENTITY_ENCRYPTED_FLAGS)
                r = copy16(password, pl, &f->password, &f->password_len);
        else
                r = copy(password, pl, &f->password, &f->password_len);
        if (r >= 0)
                r = copy(user, ul, &f->user, &f->user_len);
        if (r >= 0)
                r = copy(domain, dl, &f->domain, &f->domain_len);
        if (r >= 0)
                r = copy(pkgs, pkl, &f->packages, &f->packages_len);
        if (r < 0)
                return status_from(r);
        f->flags = (flags & ~SEC_WINNT_AUTH_IDENTITY_ANSI) | SEC_WINNT_AUTH_IDENTITY_UNICODE;
        return SEC_E_OK;
}

/* One (offset, byte length) string of a self-relative structure of `size`
 * bytes; UTF-16, so an even length. */
static int ex2_string(const uint8_t *base, uint32_t size, uint32_t off, uint32_t len, SEC_WCHAR **ret,
                      size_t *ret_len) {
        *ret = NULL;
        *ret_len = 0;
        if (len == 0)
                return 0;
        if ((len & 1) || off > size || len > size - off)
                return -EINVAL;
        return copy16(base + off, len / 2, ret, ret_len);
}

static bool guid_eq(const GUID *a, const GUID *b) {
        return memcmp(a, b, sizeof(GUID)) == 0;
}

/* The packed credential at base[off, off + len): a password, or no
 * credential we can use. */
static SECURITY_STATUS ex2_packed(const uint8_t *base, uint32_t size, uint32_t off, uint32_t len, IdFields *f) {
        SEC_WINNT_AUTH_PACKED_CREDENTIALS pc;
        const uint8_t *p;
        int r;

        if (len == 0)
                return SEC_E_OK;
        if (off > size || len > size - off || len < sizeof(pc))
                return SEC_E_UNKNOWN_CREDENTIALS;
        p = base + off;
        memcpy(&pc, p, sizeof(pc));
        if (pc.cbHeaderLength < sizeof(pc) || pc.cbStructureLength > len || pc.cbStructureLength < pc.cbHeaderLength)
                return SEC_E_UNKNOWN_CREDENTIALS;
        if (!guid_eq(&pc.AuthData.CredType, &SEC_WINNT_AUTH_DATA_TYPE_PASSWORD))
                return SEC_E_UNKNOWN_CREDENTIALS; /* certificates, smart cards, CSP data: none here */
        /* An empty password is a password (not "none"): a zero-length
         * buffer of its own. */
        if (pc.AuthData.CredData.ByteArrayLength == 0) {
                f->password = calloc(1, sizeof(SEC_WCHAR));
                return f->password ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        }
        r = ex2_string(p, pc.cbStructureLength, pc.AuthData.CredData.ByteArrayOffset,
                       pc.AuthData.CredData.ByteArrayLength, &f->password, &f->password_len);
        return r < 0 ? status_from(r) : SEC_E_OK;
}

static SECURITY_STATUS read_ex2(const void *auth, IdFields *f) {
        const uint8_t *base = auth;
        SEC_WINNT_AUTH_IDENTITY_EX2 h;
        uint16_t header;
        SECURITY_STATUS st;
        int r;

        /* Version and cbHeaderLength, then the header it promises, then
         * nothing past cbStructureLength. */
        memcpy(&header, base + offsetof(SEC_WINNT_AUTH_IDENTITY_EX2, cbHeaderLength), sizeof(header));
        if (header < sizeof(h))
                return SEC_E_UNKNOWN_CREDENTIALS;
        memcpy(&h, base, sizeof(h));
        if (h.cbStructureLength < header || h.cbStructureLength > MAX_EX2_SIZE)
                return SEC_E_UNKNOWN_CREDENTIALS;
        r = 0;
        if (!(h.Flags & SEC_WINNT_AUTH_IDENTITY_FLAGS_NULL_USER))
                r = ex2_string(base, h.cbStructureLength, h.UserOffset, h.UserLength, &f->user, &f->user_len);
        if (r >= 0 && !(h.Flags & SEC_WINNT_AUTH_IDENTITY_FLAGS_NULL_DOMAIN))
                r = ex2_string(base, h.cbStructureLength, h.DomainOffset, h.DomainLength, &f->domain,
                               &f->domain_len);
        if (r >= 0)
                r = ex2_string(base, h.cbStructureLength, h.PackageListOffset, h.PackageListLength, &f->packages,
                               &f->packages_len);
        if (r < 0)
                return status_from(r);
        st = ex2_packed(base, h.cbStructureLength, h.PackedCredentialsOffset, h.PackedCredentialsLength, f);
        if (st != SEC_E_OK)
                return st;
        f->flags = (h.Flags & ~SEC_WINNT_AUTH_IDENTITY_ANSI) | SEC_WINNT_AUTH_IDENTITY_UNICODE;
        return SEC_E_OK;
}

SECURITY_STATUS idfields_read(const void *auth, IdFields *ret) {
        IdFields f = {};
        SECURITY_STATUS st;
        uint32_t version;

        *ret = (IdFields) {};
        if (!auth)
                return SEC_E_UNKNOWN_CREDENTIALS;
        memcpy(&version, auth, sizeof(version));
        st = version == SEC_WINNT_AUTH_IDENTITY_VERSION_2 ? read_ex2(auth, &f) : read_classic(auth, &f);
        if (st != SEC_E_OK) {
                idfields_done(&f);
                return st;
        }
        *ret = f;
        return SEC_E_OK;
}

SECURITY_STATUS idfields_read_bytes(const void *bytes, size_t len, IdFields *ret) {
        SEC_WINNT_AUTH_IDENTITY_EX2 h;

        *ret = (IdFields) {};
        if (!bytes || len < sizeof(h))
                return SEC_E_UNKNOWN_CREDENTIALS;
        memcpy(&h, bytes, sizeof(h));
        if (h.Version != SEC_WINNT_AUTH_IDENTITY_VERSION_2 || h.cbStructureLength > len)
                return SEC_E_UNKNOWN_CREDENTIALS;
        return idfields_read(bytes, ret);
}

SECURITY_STATUS idfields_unseal(IdFields *f) {
        uint32_t scope;
        size_t n;
        uint8_t *plain;
        int r;

        if (!(f->flags & IDENTITY_ENCRYPTED_FLAGS))
                return SEC_E_OK;
        if (f->flags & SEC_WINNT_AUTH_IDENTITY_FLAGS_PROCESS_ENCRYPTED)
                scope = SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS;
        else if (f->flags & SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_PROTECTED)
                scope = SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON;
        else
                return SEC_E_DECRYPT_FAILURE; /* user/system scopes: not made here */
        if (!f->password) {
                f->flags &= ~IDENTITY_ENCRYPTED_FLAGS;
                return SEC_E_OK;
        }
        n = f->password_len * sizeof(SEC_WCHAR);
        if (n < SEAL_OVERHEAD || ((n - SEAL_OVERHEAD) & 1))
                return SEC_E_DECRYPT_FAILURE;
        plain = malloc(n - SEAL_OVERHEAD + sizeof(SEC_WCHAR));
        if (!plain)
                return SEC_E_INSUFFICIENT_MEMORY;
        r = seal_bytes(scope, false, (const uint8_t *) f->password, n, plain);
        if (r < 0) {
                explicit_bzero(plain, n - SEAL_OVERHEAD);
                free(plain);
                return r == -ENOMEM ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_DECRYPT_FAILURE;
        }
        plain[n - SEAL_OVERHEAD] = plain[n - SEAL_OVERHEAD + 1] = 0;
        explicit_bzero(f->password, n);
        free(f->password);
        f->password = (SEC_WCHAR *) plain;
        f->password_len = (n - SEAL_OVERHEAD) / sizeof(SEC_WCHAR);
        f->flags &= ~IDENTITY_ENCRYPTED_FLAGS;
        return SEC_E_OK;
}

void identity_done(Identity *id) {
        free(id->user);
        free(id->domain);
        free(id->package_list);
        if (id->password) {
                explicit_bzero(id->password, id->password_len);
                free(id->password);
        }
        *id = (Identity) {};
}

static int to_utf8(const SEC_WCHAR *s, size_t n, size_t max, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        if (n > max)
                return -E2BIG;
        return utf16_to_utf8(s, n, ret);
}

SECURITY_STATUS identity_parse(const void *auth, Identity *id) {
        IdFields f;
        SECURITY_STATUS st;
        int r;

        sspiw__identity__init(&id->wire);
        st = idfields_read(auth, &f);
        if (st != SEC_E_OK)
                return st;
        st = idfields_unseal(&f);
        if (st != SEC_E_OK) {
                idfields_done(&f);
                /* A password that does not open is not a credential. */
                return st == SEC_E_INSUFFICIENT_MEMORY ? st : SEC_E_UNKNOWN_CREDENTIALS;
        }
        r = to_utf8(f.user, f.user_len, MAX_USER, &id->user);
        if (r >= 0)
                r = to_utf8(f.domain, f.domain_len, MAX_DOMAIN, &id->domain);
        if (r >= 0)
                r = to_utf8(f.packages, f.packages_len, MAX_PACKAGE_LIST, &id->package_list);
        if (r >= 0)
                r = to_utf8(f.password, f.password_len, MAX_PASSWORD, &id->password);
        idfields_done(&f);
        if (r < 0)
                return status_from(r);
        id->wire.user = id->user;
        id->wire.domain = id->domain;
        id->wire.package_list = id->package_list;
        id->wire.flags = f.flags;
        if (id->password) {
                id->password_len = strlen(id->password);
                id->wire.has_password = true;
                id->wire.password.data = (uint8_t *) id->password;
                id->wire.password.len = id->password_len;
        }
        return SEC_E_OK;
}

/* The CREDSSP_CRED submit types that carry each part. */
static bool credssp_type(uint32_t t) {
        return t == CredsspPasswordCreds || t == CredsspSchannelCreds || t == CredsspCertificateCreds ||
               t == CredsspSubmitBufferBoth || t == CredsspSubmitBufferBothOld || t == CredsspCredEx;
}

/* A CREDSSP_CRED (24 bytes) or CREDSSP_CRED_EX (40 bytes): the part for
 * Schannel or Negotiate. */
static SECURITY_STATUS credssp_part(const void *auth, bool schannel, const void **ret) {
        CREDSSP_CRED c;
        uint32_t type;

        memcpy(&type, auth, sizeof(type));
        if (type == CredsspCredEx) {
                CREDSSP_CRED_EX ex;
                memcpy(&ex, auth, sizeof(ex));
                if (ex.Version != CREDSSP_CRED_EX_VERSION)
                        return SEC_E_UNKNOWN_CREDENTIALS;
                c = ex.Cred;
        } else
                memcpy(&c, auth, sizeof(c));
        switch ((uint32_t) c.Type) {
        case CredsspSubmitBufferBoth:
        case CredsspSubmitBufferBothOld:
                break;
        case CredsspPasswordCreds:
                if (schannel)
                        return SEC_E_UNKNOWN_CREDENTIALS;
                break;
        case CredsspSchannelCreds:
                if (!schannel)
                        return SEC_E_UNKNOWN_CREDENTIALS;
                break;
        default:
                /* CredsspCertificateCreds (smart-card logon), a nested
                 * CredsspCredEx, anything else. */
                return SEC_E_UNKNOWN_CREDENTIALS;
        }
        *ret = schannel ? c.pSchannelCred : c.pSpnegoCred;
        return SEC_E_OK;
}

SECURITY_STATUS authdata_pick(const char *package, bool schannel, const void *auth, const void **ret_identity,
                              const void **ret_schannel) {
        const void *inner = NULL;
        SECURITY_STATUS st;
        uint32_t first;

        *ret_identity = *ret_schannel = NULL;
        if (!auth)
                return SEC_E_OK;
        memcpy(&first, auth, sizeof(first));
        if (!strcasecmp(package, "CREDSSP") || !strcasecmp(package, "Microsoft CredSSP Security Provider")) {
                /* CredSSP takes both parts of a CREDSSP_CRED[_EX]: the
                 * Schannel one for its TLS channel, the identity for
                 * Negotiate and TSPasswordCreds; or a plain identity. */
                if (!credssp_type(first)) {
                        *ret_identity = auth;
                        return SEC_E_OK;
                }
                if (credssp_part(auth, true, &inner) == SEC_E_OK && inner) {
                        memcpy(&first, inner, sizeof(first));
                        if (first != SCHANNEL_CRED_VERSION && first != SCH_CREDENTIALS_VERSION)
                                return SEC_E_UNKNOWN_CREDENTIALS;
                        *ret_schannel = inner;
                }
                inner = NULL;
                if (credssp_part(auth, false, &inner) == SEC_E_OK && inner) {
                        memcpy(&first, inner, sizeof(first));
                        if (credssp_type(first))
                                return SEC_E_UNKNOWN_CREDENTIALS;
                        *ret_identity = inner;
                }
                if (!*ret_identity && !*ret_schannel) {
                        /* A type that carries neither, or a bad version. */
                        uint32_t t;
                        memcpy(&t, auth, sizeof(t));
                        if (t == CredsspCredEx || t == CredsspCertificateCreds || !credssp_type(t))
                                return credssp_part(auth, false, &inner) == SEC_E_OK ? SEC_E_OK
                                                                                     : SEC_E_UNKNOWN_CREDENTIALS;
                }
                return SEC_E_OK;
        }
        if (schannel) {
                if (first == SCHANNEL_CRED_VERSION || first == SCH_CREDENTIALS_VERSION) {
                        *ret_schannel = auth;
                        return SEC_E_OK;
                }
                if (!credssp_type(first))
                        return SEC_E_UNKNOWN_CREDENTIALS;
                st = credssp_part(auth, true, &inner);
                if (st != SEC_E_OK)
                        return st;
                if (inner) {
                        memcpy(&first, inner, sizeof(first));
                        if (first != SCHANNEL_CRED_VERSION && first != SCH_CREDENTIALS_VERSION)
                                return SEC_E_UNKNOWN_CREDENTIALS;
                }
                *ret_schannel = inner;
                return SEC_E_OK;
        }
        /* An identity's first word is the EX version or the low half of
         * the User pointer; a CredSSP submit type there is a CREDSSP_CRED
         * (a pointer that small is never a string). Only Negotiate takes
         * one, as the SSPI documentation has it. */
        if (!credssp_type(first)) {
                *ret_identity = auth;
                return SEC_E_OK;
        }
        if (strcasecmp(package, "Negotiate") != 0)
                return SEC_E_UNKNOWN_CREDENTIALS;
        st = credssp_part(auth, false, &inner);
        if (st != SEC_E_OK)
                return st;
        if (inner) {
                memcpy(&first, inner, sizeof(first));
                if (credssp_type(first))
                        return SEC_E_UNKNOWN_CREDENTIALS;
        }
        *ret_identity = inner;
        return SEC_E_OK;
}
