/* SPDX-License-Identifier: MIT */
/*
 * The Sspi* identity helpers of sspicli.dll. Twin of daemon/rpc/identity.c
 * (the logon-scope key of SspiEncryptAuthIdentityEx).
 *
 * An identity made here is what Windows' SspiEncodeStringsAsAuthIdentity
 * makes: a SEC_WINNT_AUTH_IDENTITY_EXW with its strings in the same block.
 * The block reserves room for the sealed password, so that encryption
 * happens in place, as the API (a pointer in, no pointer out) demands; a
 * registry of the blocks made here tells them from a caller's structures.
 */
#include <errno.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "authdata.h"

typedef struct OwnedId {
        SEC_WINNT_AUTH_IDENTITY_EXW id; /* first: the caller's pointer is the block's */
        struct OwnedId *next;
        size_t size;                    /* of the whole block */
        size_t password_cap;            /* bytes at id.Password */
} OwnedId;

static pthread_mutex_t owned_lock = PTHREAD_MUTEX_INITIALIZER;
static OwnedId *owned_list;

static OwnedId *owned_find(const void *p) {
        OwnedId *o;

        pthread_mutex_lock(&owned_lock);
        for (o = owned_list; o && o != p; o = o->next)
                ;
        pthread_mutex_unlock(&owned_lock);
        return o;
}

static SEC_WCHAR *put16(uint8_t **cursor, const SEC_WCHAR *s, size_t n, size_t cap_bytes) {
        SEC_WCHAR *d = (SEC_WCHAR *) *cursor;

        memcpy(d, s, n * sizeof(SEC_WCHAR));
        d[n] = 0;
        *cursor += cap_bytes;
        return d;
}

/* A new block holding f (the password as stored: sealed or not). */
static SECURITY_STATUS owned_new(const IdFields *f, PSEC_WINNT_AUTH_IDENTITY_OPAQUE *ret) {
        size_t pw_cap = f->password ? f->password_len * 2 + SEAL_OVERHEAD + 2 : 0;
        size_t size = sizeof(OwnedId), align = sizeof(SEC_WCHAR);
        uint8_t *cursor;
        OwnedId *o;

        size += f->user ? (f->user_len + 1) * align : 0;
        size += f->domain ? (f->domain_len + 1) * align : 0;
        size += f->packages ? (f->packages_len + 1) * align : 0;
        size += pw_cap;
        o = calloc(1, size);
        if (!o)
                return SEC_E_INSUFFICIENT_MEMORY;
        o->size = size;
        o->password_cap = pw_cap;
        o->id.Version = SEC_WINNT_AUTH_IDENTITY_VERSION;
        o->id.Length = sizeof(o->id);
        o->id.Flags = f->flags | SEC_WINNT_AUTH_IDENTITY_UNICODE;
        cursor = (uint8_t *) (o + 1);
        if (f->password) {
                o->id.Password = put16(&cursor, f->password, f->password_len, pw_cap);
                o->id.PasswordLength = (ULONG) f->password_len;
        }
        if (f->user) {
                o->id.User = put16(&cursor, f->user, f->user_len, (f->user_len + 1) * align);
                o->id.UserLength = (ULONG) f->user_len;
        }
        if (f->domain) {
                o->id.Domain = put16(&cursor, f->domain, f->domain_len, (f->domain_len + 1) * align);
                o->id.DomainLength = (ULONG) f->domain_len;
        }
        if (f->packages) {
                o->id.PackageList = put16(&cursor, f->packages, f->packages_len, (f->packages_len + 1) * align);
                o->id.PackageListLength = (ULONG) f->packages_len;
        }
        pthread_mutex_lock(&owned_lock);
        o->next = owned_list;
        owned_list = o;
        pthread_mutex_unlock(&owned_lock);
        *ret = o;
        return SEC_E_OK;
}

/* ---- sealing ---- */

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t process_key[32];
static pid_t process_key_pid;

static const char process_aad[] = "sspid identity, same process";

/* nonce(12) | ciphertext | tag(16) with AES-256-GCM. */
static int gcm(const uint8_t key[32], bool seal, const uint8_t *in, size_t len, uint8_t *out) {
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int n, r = -EBADMSG;

        if (!c)
                return -ENOMEM;
        if (seal) {
                if (getrandom(out, 12, 0) != 12) {
                        r = -EIO;
                        goto out;
                }
                if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out) != 1 ||
                    EVP_EncryptUpdate(c, NULL, &n, (const uint8_t *) process_aad, sizeof(process_aad)) != 1 ||
                    EVP_EncryptUpdate(c, out + 12, &n, in, (int) len) != 1 ||
                    EVP_EncryptFinal_ex(c, out + 12 + n, &n) != 1 ||
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + len) != 1)
                        goto out;
        } else {
                size_t m = len - SEAL_OVERHEAD;
                if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) != 1 ||
                    EVP_DecryptUpdate(c, NULL, &n, (const uint8_t *) process_aad, sizeof(process_aad)) != 1 ||
                    EVP_DecryptUpdate(c, out, &n, in + 12, (int) m) != 1 ||
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *) (in + 12 + m)) != 1 ||
                    EVP_DecryptFinal_ex(c, out + n, &n) != 1)
                        goto out;
        }
        r = 0;
out:
        EVP_CIPHER_CTX_free(c);
        return r;
}

typedef struct SealState {
        uint8_t *out;
        size_t len;
} SealState;

static SECURITY_STATUS seal_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        SealState *s = state;

        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_PROTECT_IDENTITY_REP ||
            rep->protect_identity_rep->data.len != s->len)
                return SEC_E_INTERNAL_ERROR;
        memcpy(s->out, rep->protect_identity_rep->data.data, s->len);
        return SEC_E_OK;
}

/* SAME_LOGON: sspid seals with the key it holds for the caller's uid. */
static int seal_logon(bool seal, const uint8_t *in, size_t len, uint8_t *out) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__ProtectIdentityReq p = SSPIW__PROTECT_IDENTITY_REQ__INIT;
        SealState s = { out, seal ? len + SEAL_OVERHEAD : len - SEAL_OVERHEAD };
        SECURITY_STATUS st;

        p.seal = seal;
        p.data.data = (uint8_t *) in;
        p.data.len = len;
        req.body_case = SSPIW__ENVELOPE__BODY_PROTECT_IDENTITY;
        req.protect_identity = &p;
        st = call_run(NULL, &req, seal_finish, &s, sizeof(s));
        if (st == SEC_E_OK)
                return 0;
        return st == SEC_E_INSUFFICIENT_MEMORY ? -ENOMEM : st == SEC_E_DECRYPT_FAILURE ? -EBADMSG : -EIO;
}

int seal_bytes(uint32_t scope, bool seal, const uint8_t *in, size_t len, uint8_t *out) {
        uint8_t key[32];
        int r;

        if (!seal && len < SEAL_OVERHEAD)
                return -EBADMSG;
        if (len > 0x20000)
                return -E2BIG;
        if (scope == SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON)
                return seal_logon(seal, in, len, out);
        if (scope != SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS)
                return -EINVAL;
        /* A key of this process only: a forked child gets a new one (as it
         * gets a new connection), so what the parent sealed stays shut. */
        pthread_mutex_lock(&key_lock);
        if (process_key_pid != client_pid()) {
                if (getrandom(process_key, sizeof(process_key), 0) != sizeof(process_key)) {
                        pthread_mutex_unlock(&key_lock);
                        return -EIO;
                }
                process_key_pid = client_pid();
        }
        memcpy(key, process_key, sizeof(key));
        pthread_mutex_unlock(&key_lock);
        r = gcm(key, seal, in, len, out);
        explicit_bzero(key, sizeof(key));
        return r;
}

/* ---- reading any identity ---- */

/* The fields of an identity given to a helper; unsealed on request. A
 * structure that is not an identity is STATUS_INVALID_PARAMETER on
 * Windows, which the helpers report as SEC_E_INVALID_TOKEN (Wine's
 * secur32.c test_SspiEncodeStringsAsAuthIdentity). */
static SECURITY_STATUS read_id(const void *auth, bool unseal, IdFields *f) {
        SECURITY_STATUS st = idfields_read(auth, f);

        if (st == SEC_E_UNKNOWN_CREDENTIALS)
                return SEC_E_INVALID_TOKEN;
        if (st != SEC_E_OK)
                return st;
        if (unseal) {
                st = idfields_unseal(f);
                if (st != SEC_E_OK)
                        idfields_done(f);
        }
        return st;
}

static int dup16(const SEC_WCHAR *s, size_t n, SEC_WCHAR **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = malloc((n + 1) * sizeof(SEC_WCHAR));
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, s, n * sizeof(SEC_WCHAR));
        (*ret)[n] = 0;
        return 0;
}

static size_t len16(const SEC_WCHAR *s) {
        return s ? utf16_len(s) : 0;
}

_public_ SECURITY_STATUS SspiEncodeStringsAsAuthIdentity(LPCWSTR pszUserName, LPCWSTR pszDomainName,
                                                         LPCWSTR pszPackedCredentialsString,
                                                         PSEC_WINNT_AUTH_IDENTITY_OPAQUE *ppAuthIdentity) {
        IdFields f = {};
        SECURITY_STATUS st;
        const SEC_WCHAR *user = pszUserName, *slash = NULL;
        size_t ul = len16(pszUserName), dl = len16(pszDomainName), pl = len16(pszPackedCredentialsString);

        if ((!pszUserName && !pszDomainName && !pszPackedCredentialsString) || !ppAuthIdentity)
                return SEC_E_INVALID_TOKEN;
        if (ul > IDENTITY_MAX_CHARS || dl > IDENTITY_MAX_CHARS || pl > IDENTITY_MAX_CHARS)
                return SEC_E_INVALID_TOKEN;
        /* "DOMAIN\user" and no domain: the two parts, as Windows splits
         * them. */
        if (user && ul && dl == 0)
                for (size_t i = 0; i < ul; i++)
                        if (user[i] == '\\') {
                                slash = user + i;
                                break;
                        }
        f.flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
        if (slash) {
                f.domain = (SEC_WCHAR *) user;
                f.domain_len = (size_t) (slash - user);
                f.user = (SEC_WCHAR *) slash + 1;
                f.user_len = ul - f.domain_len - 1;
        } else {
                f.user = (SEC_WCHAR *) pszUserName;
                f.user_len = ul;
                f.domain = (SEC_WCHAR *) pszDomainName;
                f.domain_len = dl;
        }
        f.password = (SEC_WCHAR *) pszPackedCredentialsString;
        f.password_len = pl;
        st = owned_new(&f, ppAuthIdentity);
        return st;
}

_public_ SECURITY_STATUS SspiEncodeAuthIdentityAsStrings(PSEC_WINNT_AUTH_IDENTITY_OPAQUE pAuthIdentity,
                                                         LPCWSTR *ppszUserName, LPCWSTR *ppszDomainName,
                                                         LPCWSTR *ppszPackedCredentialsString) {
        SEC_WCHAR *u = NULL, *d = NULL, *p = NULL;
        IdFields f;
        SECURITY_STATUS st;
        int r = 0;

        if (!pAuthIdentity)
                return SEC_E_INVALID_TOKEN;
        st = read_id(pAuthIdentity, true, &f);
        if (st != SEC_E_OK)
                return st;
        if (ppszUserName)
                r = dup16(f.user, f.user_len, &u);
        if (r >= 0 && ppszDomainName)
                r = dup16(f.domain, f.domain_len, &d);
        if (r >= 0 && ppszPackedCredentialsString)
                r = dup16(f.password, f.password_len, &p);
        if (r < 0) {
                free(u);
                free(d);
                if (p)
                        explicit_bzero(p, f.password_len * sizeof(SEC_WCHAR));
                free(p);
                idfields_done(&f);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        idfields_done(&f);
        if (ppszUserName)
                *ppszUserName = u;
        if (ppszDomainName)
                *ppszDomainName = d;
        if (ppszPackedCredentialsString)
                *ppszPackedCredentialsString = p;
        return SEC_E_OK;
}

_public_ SECURITY_STATUS SspiValidateAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData) {
        IdFields f;
        SECURITY_STATUS st;

        if (!AuthData)
                return SEC_E_INVALID_TOKEN;
        st = read_id(AuthData, false, &f);
        if (st == SEC_E_OK)
                idfields_done(&f);
        return st;
}

_public_ SECURITY_STATUS SspiCopyAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData,
                                              PSEC_WINNT_AUTH_IDENTITY_OPAQUE *AuthDataCopy) {
        IdFields f;
        SECURITY_STATUS st;

        if (!AuthData || !AuthDataCopy)
                return SEC_E_INVALID_TOKEN;
        /* A sealed password stays sealed in the copy. */
        st = read_id(AuthData, false, &f);
        if (st != SEC_E_OK)
                return st;
        st = owned_new(&f, AuthDataCopy);
        idfields_done(&f);
        return st;
}

_public_ void SspiFreeAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData) {
        OwnedId *o, **pp;

        if (!AuthData)
                return;
        pthread_mutex_lock(&owned_lock);
        for (pp = &owned_list; *pp && *pp != AuthData; pp = &(*pp)->next)
                ;
        o = *pp;
        if (o)
                *pp = o->next;
        pthread_mutex_unlock(&owned_lock);
        /* Not made here: not ours to free. */
        if (!o)
                return;
        explicit_bzero(o, o->size);
        free(o);
}

_public_ void SspiZeroAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData) {
        OwnedId *o;
        uint32_t first;

        if (!AuthData)
                return;
        o = owned_find(AuthData);
        if (o) {
                /* Strings and structure; the block stays ours to free. */
                explicit_bzero(&o->id, sizeof(o->id));
                explicit_bzero(o + 1, o->size - sizeof(*o));
                return;
        }
        memcpy(&first, AuthData, sizeof(first));
        if (first == SEC_WINNT_AUTH_IDENTITY_VERSION_2) {
                SEC_WINNT_AUTH_IDENTITY_EX2 h;
                uint16_t header;
                memcpy(&header, (uint8_t *) AuthData + offsetof(SEC_WINNT_AUTH_IDENTITY_EX2, cbHeaderLength),
                       sizeof(header));
                if (header < sizeof(h))
                        return;
                memcpy(&h, AuthData, sizeof(h));
                explicit_bzero(AuthData, h.cbStructureLength >= header ? h.cbStructureLength : header);
        } else if (first == SEC_WINNT_AUTH_IDENTITY_VERSION) {
                SEC_WINNT_AUTH_IDENTITY_EXW *ex = AuthData;
                size_t unit = (ex->Flags & SEC_WINNT_AUTH_IDENTITY_ANSI) ? 1 : 2;
                if (ex->Length < sizeof(*ex))
                        return;
                if (ex->User)
                        explicit_bzero(ex->User, ex->UserLength * unit);
                if (ex->Domain)
                        explicit_bzero(ex->Domain, ex->DomainLength * unit);
                if (ex->Password)
                        explicit_bzero(ex->Password, ex->PasswordLength * unit);
                if (ex->PackageList)
                        explicit_bzero(ex->PackageList, ex->PackageListLength * unit);
                explicit_bzero(ex, sizeof(*ex));
        } else {
                SEC_WINNT_AUTH_IDENTITY_W *w = AuthData;
                size_t unit = (w->Flags & SEC_WINNT_AUTH_IDENTITY_ANSI) ? 1 : 2;
                if (w->User)
                        explicit_bzero(w->User, w->UserLength * unit);
                if (w->Domain)
                        explicit_bzero(w->Domain, w->DomainLength * unit);
                if (w->Password)
                        explicit_bzero(w->Password, w->PasswordLength * unit);
                explicit_bzero(w, sizeof(*w));
        }
}

/* The strings it frees include passwords (SspiEncodeAuthIdentityAsStrings,
 * SspiPrepareForCredWrite's blob): wiped first. */
_public_ void SspiLocalFree(void *DataBuffer) {
        if (DataBuffer)
                explicit_bzero(DataBuffer, malloc_usable_size(DataBuffer));
        free(DataBuffer);
}

/* Case-insensitive in ASCII, exact elsewhere; NULL is the empty string. */
static bool eq16(const SEC_WCHAR *a, size_t an, const SEC_WCHAR *b, size_t bn, bool fold) {
        if (an != bn)
                return false;
        for (size_t i = 0; i < an; i++) {
                SEC_WCHAR x = a[i], y = b[i];
                if (fold) {
                        if (x >= 'A' && x <= 'Z')
                                x += 'a' - 'A';
                        if (y >= 'A' && y <= 'Z')
                                y += 'a' - 'A';
                }
                if (x != y)
                        return false;
        }
        return true;
}

_public_ SECURITY_STATUS SspiCompareAuthIdentities(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity1,
                                                   PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity2,
                                                   PBOOLEAN SameSuppliedUser, PBOOLEAN SameSuppliedIdentity) {
        IdFields a = {}, b = {};
        SECURITY_STATUS st;
        bool user;

        /* Windows clears both answers first, then reads either identity
         * (NULL: every string absent). */
        if (SameSuppliedUser)
                *SameSuppliedUser = 0;
        if (SameSuppliedIdentity)
                *SameSuppliedIdentity = 0;
        if (AuthIdentity1 && (st = read_id(AuthIdentity1, true, &a)) != SEC_E_OK)
                return st;
        if (AuthIdentity2 && (st = read_id(AuthIdentity2, true, &b)) != SEC_E_OK) {
                idfields_done(&a);
                return st;
        }
        user = eq16(a.user, a.user_len, b.user, b.user_len, true) &&
               eq16(a.domain, a.domain_len, b.domain, b.domain_len, true);
        if (SameSuppliedUser)
                *SameSuppliedUser = user;
        if (SameSuppliedIdentity)
                *SameSuppliedIdentity = user && eq16(a.password, a.password_len, b.password, b.password_len, false);
        idfields_done(&a);
        idfields_done(&b);
        return SEC_E_OK;
}

/* ---- marshalling: a self-relative SEC_WINNT_AUTH_IDENTITY_EX2 ---- */

_public_ SECURITY_STATUS SspiMarshalAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity,
                                                 ULONG *AuthIdentityLength, char **AuthIdentityByteArray) {
        SEC_WINNT_AUTH_IDENTITY_EX2 h = {};
        SEC_WINNT_AUTH_PACKED_CREDENTIALS pc = {};
        size_t ub, db, pb, kb, size, at;
        uint8_t *out;
        IdFields f;
        SECURITY_STATUS st;

        if (!AuthIdentity || !AuthIdentityLength || !AuthIdentityByteArray)
                return SEC_E_INVALID_TOKEN;
        st = read_id(AuthIdentity, false, &f);
        if (st != SEC_E_OK)
                return st;
        ub = f.user_len * 2;
        db = f.domain_len * 2;
        pb = f.password ? f.password_len * 2 : 0;
        kb = f.packages_len * 2;
        /* Every length of the EX2 is 16 bits. */
        if (ub > 0xffff || db > 0xffff || kb > 0xffff || sizeof(pc) + pb > 0xffff) {
                idfields_done(&f);
                return SEC_E_INVALID_TOKEN;
        }
        size = sizeof(h) + ub + db + (f.password ? sizeof(pc) + pb : 0) + kb;
        out = calloc(1, size);
        if (!out) {
                idfields_done(&f);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        h.Version = SEC_WINNT_AUTH_IDENTITY_VERSION_2;
        h.cbHeaderLength = sizeof(h);
        h.cbStructureLength = (ULONG) size;
        h.Flags = f.flags;
        at = sizeof(h);
        if (f.user) {
                h.UserOffset = (ULONG) at;
                h.UserLength = (USHORT) ub;
                memcpy(out + at, f.user, ub);
                at += ub;
        } else
                h.Flags |= SEC_WINNT_AUTH_IDENTITY_FLAGS_NULL_USER;
        if (f.domain) {
                h.DomainOffset = (ULONG) at;
                h.DomainLength = (USHORT) db;
                memcpy(out + at, f.domain, db);
                at += db;
        } else
                h.Flags |= SEC_WINNT_AUTH_IDENTITY_FLAGS_NULL_DOMAIN;
        if (f.password) {
                pc.cbHeaderLength = sizeof(pc);
                pc.cbStructureLength = (USHORT) (sizeof(pc) + pb);
                pc.AuthData.CredType = SEC_WINNT_AUTH_DATA_TYPE_PASSWORD;
                pc.AuthData.CredData.ByteArrayOffset = sizeof(pc);
                pc.AuthData.CredData.ByteArrayLength = (USHORT) pb;
                h.PackedCredentialsOffset = (ULONG) at;
                h.PackedCredentialsLength = pc.cbStructureLength;
                memcpy(out + at, &pc, sizeof(pc));
                memcpy(out + at + sizeof(pc), f.password, pb);
                at += sizeof(pc) + pb;
        }
        if (f.packages) {
                h.PackageListOffset = (ULONG) at;
                h.PackageListLength = (USHORT) kb;
                memcpy(out + at, f.packages, kb);
        }
        memcpy(out, &h, sizeof(h));
        idfields_done(&f);
        *AuthIdentityLength = (ULONG) size;
        *AuthIdentityByteArray = (char *) out;
        return SEC_E_OK;
}

_public_ SECURITY_STATUS SspiUnmarshalAuthIdentity(ULONG AuthIdentityLength, char *AuthIdentityByteArray,
                                                   PSEC_WINNT_AUTH_IDENTITY_OPAQUE *ppAuthIdentity) {
        IdFields f;
        SECURITY_STATUS st;

        /* Bytes from elsewhere: only the self-relative form (no pointers),
         * every length within the bytes given. */
        if (!ppAuthIdentity)
                return SEC_E_INVALID_TOKEN;
        st = idfields_read_bytes(AuthIdentityByteArray, AuthIdentityLength, &f);
        if (st != SEC_E_OK)
                return st == SEC_E_UNKNOWN_CREDENTIALS ? SEC_E_INVALID_TOKEN : st;
        st = owned_new(&f, ppAuthIdentity);
        idfields_done(&f);
        return st;
}

/* ---- encryption ---- */

_public_ BOOLEAN SspiIsAuthIdentityEncrypted(PSEC_WINNT_AUTH_IDENTITY_OPAQUE EncryptedAuthData) {
        IdFields f;
        bool enc;

        if (!EncryptedAuthData || idfields_read(EncryptedAuthData, &f) != SEC_E_OK)
                return 0;
        enc = f.flags & IDENTITY_ENCRYPTED_FLAGS;
        idfields_done(&f);
        return enc;
}

static uint32_t scope_flag(ULONG scope) {
        return scope == SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS ? SEC_WINNT_AUTH_IDENTITY_FLAGS_PROCESS_ENCRYPTED
                                                                     : SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_PROTECTED;
}

_public_ SECURITY_STATUS SspiEncryptAuthIdentityEx(ULONG Options, PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData) {
        OwnedId *o;
        size_t n;
        uint8_t *sealed;
        int r;

        if (Options != SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS && Options != SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON)
                return SEC_E_INVALID_PARAMETER; /* ENCRYPT_FOR_SYSTEM: no such scope here */
        if (!AuthData)
                return SEC_E_INVALID_TOKEN;
        /* Sealing grows the password: only a block made here has room. */
        o = owned_find(AuthData);
        if (!o)
                return SEC_E_INVALID_PARAMETER;
        if (o->id.Flags & IDENTITY_ENCRYPTED_FLAGS)
                return (o->id.Flags & scope_flag(Options)) ? SEC_E_OK : SEC_E_INVALID_PARAMETER;
        if (o->id.Password) {
                n = o->id.PasswordLength * sizeof(SEC_WCHAR);
                if (n + SEAL_OVERHEAD > o->password_cap)
                        return SEC_E_INTERNAL_ERROR;
                sealed = malloc(n + SEAL_OVERHEAD);
                if (!sealed)
                        return SEC_E_INSUFFICIENT_MEMORY;
                r = seal_bytes(Options, true, (const uint8_t *) o->id.Password, n, sealed);
                if (r < 0) {
                        free(sealed);
                        return r == -ENOMEM ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_INTERNAL_ERROR;
                }
                explicit_bzero(o->id.Password, o->password_cap);
                memcpy(o->id.Password, sealed, n + SEAL_OVERHEAD);
                free(sealed);
                o->id.PasswordLength = (ULONG) ((n + SEAL_OVERHEAD) / sizeof(SEC_WCHAR));
        }
        o->id.Flags |= scope_flag(Options);
        return SEC_E_OK;
}

_public_ SECURITY_STATUS SspiEncryptAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData) {
        return SspiEncryptAuthIdentityEx(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS, AuthData);
}

static SECURITY_STATUS decrypt(ULONG Options, bool any, PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData) {
        OwnedId *o;
        uint32_t scope;
        size_t n;
        uint8_t *plain;
        int r;

        if (!AuthData)
                return SEC_E_INVALID_TOKEN;
        o = owned_find(AuthData);
        if (!o)
                return SEC_E_INVALID_PARAMETER;
        if (!(o->id.Flags & IDENTITY_ENCRYPTED_FLAGS))
                return SEC_E_OK;
        scope = (o->id.Flags & SEC_WINNT_AUTH_IDENTITY_FLAGS_PROCESS_ENCRYPTED) ? SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS
                                                                               : SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON;
        if (!any && Options != scope)
                return SEC_E_INVALID_PARAMETER;
        if (o->id.Password) {
                n = o->id.PasswordLength * sizeof(SEC_WCHAR);
                if (n < SEAL_OVERHEAD)
                        return SEC_E_DECRYPT_FAILURE;
                plain = malloc(n);
                if (!plain)
                        return SEC_E_INSUFFICIENT_MEMORY;
                r = seal_bytes(scope, false, (const uint8_t *) o->id.Password, n, plain);
                if (r < 0) {
                        explicit_bzero(plain, n);
                        free(plain);
                        return r == -ENOMEM ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_DECRYPT_FAILURE;
                }
                explicit_bzero(o->id.Password, o->password_cap);
                memcpy(o->id.Password, plain, n - SEAL_OVERHEAD);
                explicit_bzero(plain, n);
                free(plain);
                o->id.PasswordLength = (ULONG) ((n - SEAL_OVERHEAD) / sizeof(SEC_WCHAR));
        }
        o->id.Flags &= ~IDENTITY_ENCRYPTED_FLAGS;
        return SEC_E_OK;
}

_public_ SECURITY_STATUS SspiDecryptAuthIdentityEx(ULONG Options, PSEC_WINNT_AUTH_IDENTITY_OPAQUE EncryptedAuthData) {
        if (Options != SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS && Options != SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON)
                return SEC_E_INVALID_PARAMETER;
        return decrypt(Options, false, EncryptedAuthData);
}

_public_ SECURITY_STATUS SspiDecryptAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE EncryptedAuthData) {
        return decrypt(0, true, EncryptedAuthData);
}

/* ---- packages, targets, Credential Manager names ---- */

_public_ SECURITY_STATUS SspiExcludePackage(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity, LPCWSTR pszPackageName,
                                            PSEC_WINNT_AUTH_IDENTITY_OPAQUE *ppNewAuthIdentity) {
        size_t nl = len16(pszPackageName), n;
        SEC_WCHAR *list, *old;
        IdFields f;
        SECURITY_STATUS st;

        if (!AuthIdentity || !pszPackageName || !nl || !ppNewAuthIdentity || nl > 256)
                return SEC_E_INVALID_TOKEN;
        st = read_id(AuthIdentity, false, &f);
        if (st != SEC_E_OK)
                return st;
        /* The old list, then ",!name" (Windows' package-list syntax). */
        n = (f.packages_len ? f.packages_len + 1 : 0) + 1 + nl;
        if (n > IDENTITY_MAX_CHARS) {
                idfields_done(&f);
                return SEC_E_INVALID_TOKEN;
        }
        list = malloc((n + 1) * sizeof(SEC_WCHAR));
        if (!list) {
                idfields_done(&f);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        n = 0;
        if (f.packages_len) {
                memcpy(list, f.packages, f.packages_len * sizeof(SEC_WCHAR));
                n = f.packages_len;
                list[n++] = ',';
        }
        list[n++] = '!';
        memcpy(list + n, pszPackageName, nl * sizeof(SEC_WCHAR));
        n += nl;
        list[n] = 0;
        old = f.packages;
        f.packages = list;
        f.packages_len = n;
        free(old);
        st = owned_new(&f, ppNewAuthIdentity);
        idfields_done(&f);
        return st;
}

_public_ SECURITY_STATUS SspiGetTargetHostName(LPCWSTR pszTargetName, LPWSTR *pszHostName) {
        const SEC_WCHAR *s = pszTargetName, *end;
        size_t n = len16(pszTargetName), i;
        SEC_WCHAR *h;

        if (!pszTargetName || !pszHostName)
                return SEC_E_INVALID_PARAMETER;
        *pszHostName = NULL;
        for (i = 0; i < n && s[i] != '/'; i++)
                ;
        if (i == n) {
                /* No service class: the whole name, cut at its last '@'
                 * (as sspicli does when the name is no SPN). */
                end = s + n;
                for (size_t j = n; j > 0; j--)
                        if (s[j - 1] == '@') {
                                end = s + j - 1;
                                break;
                        }
        } else {
                /* service/host[:port][/name][@realm]: the host. */
                s += i + 1;
                end = s;
                while (*end && *end != '/' && *end != ':' && *end != '@')
                        end++;
                if (end == s)
                        return SEC_E_INVALID_PARAMETER;
        }
        if (dup16(s, (size_t) (end - s), &h) < 0)
                return SEC_E_INSUFFICIENT_MEMORY;
        *pszHostName = h;
        return SEC_E_OK;
}

/* "DOMAIN\user" (or "user" with no domain). */
static SEC_WCHAR *qualified_user(const IdFields *f) {
        size_t n = (f->domain_len ? f->domain_len + 1 : 0) + f->user_len, at = 0;
        SEC_WCHAR *s = malloc((n + 1) * sizeof(SEC_WCHAR));

        if (!s)
                return NULL;
        if (f->domain_len) {
                memcpy(s, f->domain, f->domain_len * sizeof(SEC_WCHAR));
                at = f->domain_len;
                s[at++] = '\\';
        }
        if (f->user_len)
                memcpy(s + at, f->user, f->user_len * sizeof(SEC_WCHAR));
        s[n] = 0;
        return s;
}

static SECURITY_STATUS cred_names(PSEC_WINNT_AUTH_IDENTITY_OPAQUE id, LPCWSTR target, bool unseal, IdFields *f,
                                  SEC_WCHAR **ret_target) {
        SECURITY_STATUS st;

        if (!id)
                return SEC_E_INVALID_TOKEN;
        st = read_id(id, unseal, f);
        if (st != SEC_E_OK)
                return st;
        /* Windows' target: the one given, else the qualified user name
         * (Wine's secur32.c test_SspiPrepareForCredWrite). */
        if (target) {
                if (dup16(target, len16(target), ret_target) < 0)
                        *ret_target = NULL;
        } else
                *ret_target = qualified_user(f);
        if (!*ret_target) {
                idfields_done(f);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        return SEC_E_OK;
}

_public_ SECURITY_STATUS SspiPrepareForCredRead(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity, LPCWSTR pszTargetName,
                                                PULONG pCredmanCredentialType, LPCWSTR *ppszCredmanTargetName) {
        SEC_WCHAR *target;
        IdFields f;
        SECURITY_STATUS st;

        if (!pCredmanCredentialType || !ppszCredmanTargetName)
                return SEC_E_INVALID_PARAMETER;
        st = cred_names(AuthIdentity, pszTargetName, false, &f, &target);
        if (st != SEC_E_OK)
                return st;
        idfields_done(&f);
        *pCredmanCredentialType = CRED_TYPE_DOMAIN_PASSWORD;
        *ppszCredmanTargetName = target;
        return SEC_E_OK;
}

_public_ SECURITY_STATUS SspiPrepareForCredWrite(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity, LPCWSTR pszTargetName,
                                                 PULONG pCredmanCredentialType, LPCWSTR *ppszCredmanTargetName,
                                                 LPCWSTR *ppszCredmanUserName, PUCHAR *ppCredentialBlob,
                                                 PULONG pCredentialBlobSize) {
        SEC_WCHAR *target, *user;
        uint8_t *blob = NULL;
        size_t bn;
        IdFields f;
        SECURITY_STATUS st;

        if (!pCredmanCredentialType || !ppszCredmanTargetName || !ppszCredmanUserName || !ppCredentialBlob ||
            !pCredentialBlobSize)
                return SEC_E_INVALID_PARAMETER;
        st = cred_names(AuthIdentity, pszTargetName, true, &f, &target);
        if (st != SEC_E_OK)
                return st;
        user = qualified_user(&f);
        bn = f.password_len * sizeof(SEC_WCHAR);
        if (user && bn) {
                blob = malloc(bn);
                if (blob)
                        memcpy(blob, f.password, bn);
        }
        idfields_done(&f);
        if (!user || (bn && !blob)) {
                free(target);
                free(user);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        *pCredmanCredentialType = CRED_TYPE_DOMAIN_PASSWORD;
        *ppszCredmanTargetName = target;
        *ppszCredmanUserName = user;
        *ppCredentialBlob = blob;
        *pCredentialBlobSize = (ULONG) bn;
        return SEC_E_OK;
}
