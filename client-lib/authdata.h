/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * pAuthData of AcquireCredentialsHandle and the identity helpers
 * (authdata.c, identity.c). Every structure a caller hands in is read by
 * the documented size of the type its first words name, and no further:
 * the first 32-bit word is read, then (if it names a type) the header,
 * then the rest; a size or version that does not fit is
 * SEC_E_UNKNOWN_CREDENTIALS before anything past it is touched.
 */

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

/* Windows' limit for each string of an encoded identity (0x7FFD). */
#define IDENTITY_MAX_CHARS 32765

/* The encryption flags of an identity (SspiIsAuthIdentityEncrypted). */
#define IDENTITY_ENCRYPTED_FLAGS                                                                \
        (SEC_WINNT_AUTH_IDENTITY_FLAGS_PROCESS_ENCRYPTED | SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_PROTECTED | \
         SEC_WINNT_AUTH_IDENTITY_FLAGS_USER_PROTECTED | SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_ENCRYPTED)

/* The fields of any identity structure, as NUL-terminated UTF-16 copies
 * (NULL: absent); lengths in code units. `password` is the stored form:
 * sealed bytes when `flags` has an encryption flag. */
typedef struct IdFields {
        SEC_WCHAR *user, *domain, *password, *packages;
        size_t user_len, domain_len, password_len, packages_len;
        uint32_t flags;
} IdFields;

/* Reads SEC_WINNT_AUTH_IDENTITY_{A,W}, _EX{A,W} or _EX2. SEC_E_OK,
 * SEC_E_UNKNOWN_CREDENTIALS (not an identity, a size or offset out of
 * bounds, a string too long or malformed, a packed credential other than a
 * password), SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS idfields_read(const void *auth, IdFields *ret) _wur_;
/* The same from `len` bytes of another process (SspiUnmarshalAuthIdentity):
 * only the self-relative EX2, nothing read outside the bytes. */
SECURITY_STATUS idfields_read_bytes(const void *bytes, size_t len, IdFields *ret) _wur_;
/* Unseals the password in place (no-op when not encrypted). SEC_E_OK,
 * SEC_E_DECRYPT_FAILURE, SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS idfields_unseal(IdFields *f) _wur_;
void idfields_done(IdFields *f);

/* Seal/unseal `len` bytes (identity.c). SAME_PROCESS: the process key;
 * SAME_LOGON: sspid's key for the caller's uid. The sealed form is
 * SEAL_OVERHEAD bytes longer. -errno, -EBADMSG when it does not open. */
#define SEAL_OVERHEAD 28
int seal_bytes(uint32_t scope, bool seal, const uint8_t *in, size_t len, uint8_t *out) _wur_;

/* The identity of AcquireCredentialsHandle, in UTF-8 for the wire. */
typedef struct Identity {
        Sspiw__Identity wire;
        char *user, *domain, *package_list;
        char *password;
        size_t password_len;
} Identity;

SECURITY_STATUS identity_parse(const void *auth, Identity *id) _wur_;
void identity_done(Identity *id);

/* Which structure pAuthData holds for `package`: an identity (every
 * package but Schannel; Negotiate also through a CREDSSP_CRED[_EX]) or a
 * Schannel credential (SCHANNEL_CRED, SCH_CREDENTIALS, or through a
 * CREDSSP_CRED[_EX]). Both NULL: no explicit credential. SEC_E_OK or
 * SEC_E_UNKNOWN_CREDENTIALS. */
SECURITY_STATUS authdata_pick(const char *package, bool schannel, const void *auth, const void **ret_identity,
                              const void **ret_schannel) _wur_;
