/* SPDX-License-Identifier: MIT */
#ifndef SSPID_SSPI_H
#define SSPID_SSPI_H

/*
 * sspi.h - the Windows Security Support Provider Interface for Linux x86_64.
 *
 * Every call declared here is carried by libsspi over a Unix socket to the sspid daemon, which holds all
 * credentials, keys and security-context state. Source written for the Windows SDK header should compile
 * against this one unchanged, apart from the points below.
 *
 * ABI. Windows is LLP64 and Linux x86_64 is LP64, so this header never uses native `long`: every
 * `unsigned long`/ULONG/DWORD of the Windows prototypes is a 32-bit ULONG (uint32_t), LONG and
 * SECURITY_STATUS are int32_t, ULONG_PTR is uintptr_t. Structures have their Windows x64 layout.
 *
 * Strings. SEC_WCHAR is a 16-bit UTF-16 code unit (uint16_t), not the 32-bit Linux wchar_t: W functions take
 * UTF-16, A functions take UTF-8. Write wide literals as u"..." (see the *_NAME_W macros). String parameters
 * that the library only reads are declared const; that changes nothing in the ABI and lets literals and the
 * *_NAME_W macros be passed without casts.
 *
 * Modes. The header always presents the user-mode (SECURITY_WIN32) interface; SECURITY_WIN32 need not be
 * defined. In particular the W variants of the Sspi*Async functions take SEC_WCHAR strings, never the
 * kernel-mode PSECURITY_STRING. SEC_ENTRY (__stdcall on 32-bit Windows) expands to nothing.
 *
 * Generic names. As on Windows, defining UNICODE before the include maps the generic names
 * (AcquireCredentialsHandle, SecPkgInfo, NEGOSSP_NAME, ...) to the W forms, otherwise to the A forms.
 *
 * Status codes take their winerror.h values. Some Microsoft documentation pages print SEC_E_INVALID_HANDLE
 * as 0x80100003, which is SCARD_E_INVALID_HANDLE; the header value 0x80090301 is used here. When the daemon
 * cannot be reached at all, calls fail with SEC_E_INTERNAL_ERROR (which winerror.h also names SEC_E_NO_SPM,
 * "the security package manager cannot be contacted").
 *
 * Basic Windows types. BOOLEAN, UCHAR, USHORT, ULONG, LONG, DWORD, ULONG_PTR, ALG_ID, NTSTATUS and a few
 * more are defined below unless SSPI_NO_WIN_TYPES is defined, for programs that take them from another
 * Windows-compatibility header. Such a header must give them their Windows widths; the static assertions
 * after that block refuse anything else.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
#  define SSPI_STATIC_ASSERT(expr, msg) static_assert(expr, msg)
#else
#  define SSPI_STATIC_ASSERT(expr, msg) _Static_assert(expr, msg)
#endif

/* The header is always in user mode; these mirror what SECURITY_WIN32 selects in the Windows SDK. */
#ifndef ISSP_LEVEL
#  define ISSP_LEVEL 32
#endif
#ifndef ISSP_MODE
#  define ISSP_MODE 1
#endif

#define SEC_ENTRY
#define SEC_FAR

/* ------------------------------------------------------------------------------------------------------ */
/* Basic types                                                                                             */
/* ------------------------------------------------------------------------------------------------------ */

typedef char SEC_CHAR;
typedef uint16_t SEC_WCHAR;             /* one UTF-16 code unit */
typedef int32_t SECURITY_STATUS;

/* 64-bit time in FILETIME units (100 ns since 1601-01-01). Same shape as LARGE_INTEGER: readable as
 * LowPart/HighPart, as u.LowPart/u.HighPart, or as QuadPart. */
typedef union _SECURITY_INTEGER {
        struct {
                uint32_t LowPart;
                int32_t HighPart;
        };
        struct {
                uint32_t LowPart;
                int32_t HighPart;
        } u;
        int64_t QuadPart;
} SECURITY_INTEGER, *PSECURITY_INTEGER;

typedef SECURITY_INTEGER TimeStamp, *PTimeStamp;

#ifndef SSPI_NO_WIN_TYPES
typedef uint8_t BOOLEAN, *PBOOLEAN;
typedef uint8_t UCHAR, *PUCHAR;
typedef uint8_t BYTE, *PBYTE;
typedef uint16_t USHORT, *PUSHORT;
typedef uint16_t WORD, *PWORD;
typedef uint32_t ULONG, *PULONG;
typedef int32_t LONG, *PLONG;
typedef uint32_t DWORD, *PDWORD;
typedef uint16_t WCHAR;
typedef char CHAR;
typedef void *PVOID;
typedef void *HANDLE;
typedef char *LPSTR;
typedef const char *LPCSTR;
typedef uint16_t *LPWSTR;
typedef const uint16_t *LPCWSTR;
typedef uintptr_t ULONG_PTR, *PULONG_PTR;
typedef intptr_t LONG_PTR, INT_PTR;
typedef int32_t NTSTATUS;
typedef unsigned int ALG_ID;
typedef SECURITY_INTEGER LARGE_INTEGER, *PLARGE_INTEGER;

typedef struct _LUID {
        uint32_t LowPart;
        int32_t HighPart;
} LUID, *PLUID;
#endif /* SSPI_NO_WIN_TYPES */

SSPI_STATIC_ASSERT(sizeof(BOOLEAN) == 1, "BOOLEAN must be 1 byte");
SSPI_STATIC_ASSERT(sizeof(UCHAR) == 1, "UCHAR must be 1 byte");
SSPI_STATIC_ASSERT(sizeof(USHORT) == 2, "USHORT must be 2 bytes");
SSPI_STATIC_ASSERT(sizeof(ULONG) == 4, "ULONG must be 4 bytes (Windows is LLP64)");
SSPI_STATIC_ASSERT(sizeof(DWORD) == 4, "DWORD must be 4 bytes");
SSPI_STATIC_ASSERT(sizeof(ULONG_PTR) == sizeof(void *), "ULONG_PTR must be pointer-sized");
SSPI_STATIC_ASSERT(sizeof(ALG_ID) == 4, "ALG_ID must be 4 bytes");
SSPI_STATIC_ASSERT(sizeof(NTSTATUS) == 4, "NTSTATUS must be 4 bytes");
SSPI_STATIC_ASSERT(sizeof(TimeStamp) == 8, "TimeStamp must be 8 bytes");

#if defined(UNICODE)
typedef SEC_WCHAR *SECURITY_PSTR;
typedef const SEC_WCHAR *SECURITY_PCSTR;
#else
typedef SEC_CHAR *SECURITY_PSTR;
typedef const SEC_CHAR *SECURITY_PCSTR;
#endif

/* ------------------------------------------------------------------------------------------------------ */
/* Status codes (winerror.h values)                                                                        */
/* ------------------------------------------------------------------------------------------------------ */

/* Success when non-negative: SEC_E_OK and every SEC_I_* code. */
#define SEC_SUCCESS(Status) ((Status) >= 0)

#define SEC_E_OK                                ((SECURITY_STATUS) 0x00000000)

#define SEC_I_CONTINUE_NEEDED                   ((SECURITY_STATUS) 0x00090312)
#define SEC_I_COMPLETE_NEEDED                   ((SECURITY_STATUS) 0x00090313)
#define SEC_I_COMPLETE_AND_CONTINUE             ((SECURITY_STATUS) 0x00090314)
#define SEC_I_LOCAL_LOGON                       ((SECURITY_STATUS) 0x00090315)
#define SEC_I_GENERIC_EXTENSION_RECEIVED        ((SECURITY_STATUS) 0x00090316)
#define SEC_I_CONTEXT_EXPIRED                   ((SECURITY_STATUS) 0x00090317)
#define SEC_I_INCOMPLETE_CREDENTIALS            ((SECURITY_STATUS) 0x00090320)
#define SEC_I_RENEGOTIATE                       ((SECURITY_STATUS) 0x00090321)
#define SEC_I_NO_LSA_CONTEXT                    ((SECURITY_STATUS) 0x00090323)
#define SEC_I_SIGNATURE_NEEDED                  ((SECURITY_STATUS) 0x0009035C)
#define SEC_I_NO_RENEGOTIATION                  ((SECURITY_STATUS) 0x00090360)
#define SEC_I_MESSAGE_FRAGMENT                  ((SECURITY_STATUS) 0x00090364)
#define SEC_I_CONTINUE_NEEDED_MESSAGE_OK        ((SECURITY_STATUS) 0x00090366)
#define SEC_I_ASYNC_CALL_PENDING                ((SECURITY_STATUS) 0x00090368)

#define SEC_E_INSUFFICIENT_MEMORY               ((SECURITY_STATUS) 0x80090300)
#define SEC_E_INVALID_HANDLE                    ((SECURITY_STATUS) 0x80090301)
#define SEC_E_UNSUPPORTED_FUNCTION              ((SECURITY_STATUS) 0x80090302)
#define SEC_E_TARGET_UNKNOWN                    ((SECURITY_STATUS) 0x80090303)
#define SEC_E_INTERNAL_ERROR                    ((SECURITY_STATUS) 0x80090304)
#define SEC_E_SECPKG_NOT_FOUND                  ((SECURITY_STATUS) 0x80090305)
#define SEC_E_NOT_OWNER                         ((SECURITY_STATUS) 0x80090306)
#define SEC_E_CANNOT_INSTALL                    ((SECURITY_STATUS) 0x80090307)
#define SEC_E_INVALID_TOKEN                     ((SECURITY_STATUS) 0x80090308)
#define SEC_E_CANNOT_PACK                       ((SECURITY_STATUS) 0x80090309)
#define SEC_E_QOP_NOT_SUPPORTED                 ((SECURITY_STATUS) 0x8009030A)
#define SEC_E_NO_IMPERSONATION                  ((SECURITY_STATUS) 0x8009030B)
#define SEC_E_LOGON_DENIED                      ((SECURITY_STATUS) 0x8009030C)
#define SEC_E_UNKNOWN_CREDENTIALS               ((SECURITY_STATUS) 0x8009030D)
#define SEC_E_NO_CREDENTIALS                    ((SECURITY_STATUS) 0x8009030E)
#define SEC_E_MESSAGE_ALTERED                   ((SECURITY_STATUS) 0x8009030F)
#define SEC_E_OUT_OF_SEQUENCE                   ((SECURITY_STATUS) 0x80090310)
#define SEC_E_NO_AUTHENTICATING_AUTHORITY       ((SECURITY_STATUS) 0x80090311)
#define SEC_E_BAD_PKGID                         ((SECURITY_STATUS) 0x80090316)
#define SEC_E_CONTEXT_EXPIRED                   ((SECURITY_STATUS) 0x80090317)
#define SEC_E_INCOMPLETE_MESSAGE                ((SECURITY_STATUS) 0x80090318)
#define SEC_E_INCOMPLETE_CREDENTIALS            ((SECURITY_STATUS) 0x80090320)
#define SEC_E_BUFFER_TOO_SMALL                  ((SECURITY_STATUS) 0x80090321)
#define SEC_E_WRONG_PRINCIPAL                   ((SECURITY_STATUS) 0x80090322)
#define SEC_E_TIME_SKEW                         ((SECURITY_STATUS) 0x80090324)
#define SEC_E_UNTRUSTED_ROOT                    ((SECURITY_STATUS) 0x80090325)
#define SEC_E_ILLEGAL_MESSAGE                   ((SECURITY_STATUS) 0x80090326)
#define SEC_E_CERT_UNKNOWN                      ((SECURITY_STATUS) 0x80090327)
#define SEC_E_CERT_EXPIRED                      ((SECURITY_STATUS) 0x80090328)
#define SEC_E_ENCRYPT_FAILURE                   ((SECURITY_STATUS) 0x80090329)
#define SEC_E_DECRYPT_FAILURE                   ((SECURITY_STATUS) 0x80090330)
#define SEC_E_ALGORITHM_MISMATCH                ((SECURITY_STATUS) 0x80090331)
#define SEC_E_SECURITY_QOS_FAILED               ((SECURITY_STATUS) 0x80090332)
#define SEC_E_UNFINISHED_CONTEXT_DELETED        ((SECURITY_STATUS) 0x80090333)
#define SEC_E_NO_TGT_REPLY                      ((SECURITY_STATUS) 0x80090334)
#define SEC_E_NO_IP_ADDRESSES                   ((SECURITY_STATUS) 0x80090335)
#define SEC_E_WRONG_CREDENTIAL_HANDLE           ((SECURITY_STATUS) 0x80090336)
#define SEC_E_CRYPTO_SYSTEM_INVALID             ((SECURITY_STATUS) 0x80090337)
#define SEC_E_MAX_REFERRALS_EXCEEDED            ((SECURITY_STATUS) 0x80090338)
#define SEC_E_MUST_BE_KDC                       ((SECURITY_STATUS) 0x80090339)
#define SEC_E_STRONG_CRYPTO_NOT_SUPPORTED       ((SECURITY_STATUS) 0x8009033A)
#define SEC_E_TOO_MANY_PRINCIPALS               ((SECURITY_STATUS) 0x8009033B)
#define SEC_E_NO_PA_DATA                        ((SECURITY_STATUS) 0x8009033C)
#define SEC_E_PKINIT_NAME_MISMATCH              ((SECURITY_STATUS) 0x8009033D)
#define SEC_E_SMARTCARD_LOGON_REQUIRED          ((SECURITY_STATUS) 0x8009033E)
#define SEC_E_SHUTDOWN_IN_PROGRESS              ((SECURITY_STATUS) 0x8009033F)
#define SEC_E_KDC_INVALID_REQUEST               ((SECURITY_STATUS) 0x80090340)
#define SEC_E_KDC_UNABLE_TO_REFER               ((SECURITY_STATUS) 0x80090341)
#define SEC_E_KDC_UNKNOWN_ETYPE                 ((SECURITY_STATUS) 0x80090342)
#define SEC_E_UNSUPPORTED_PREAUTH               ((SECURITY_STATUS) 0x80090343)
#define SEC_E_DELEGATION_REQUIRED               ((SECURITY_STATUS) 0x80090345)
#define SEC_E_BAD_BINDINGS                      ((SECURITY_STATUS) 0x80090346)
#define SEC_E_MULTIPLE_ACCOUNTS                 ((SECURITY_STATUS) 0x80090347)
#define SEC_E_NO_KERB_KEY                       ((SECURITY_STATUS) 0x80090348)
#define SEC_E_CERT_WRONG_USAGE                  ((SECURITY_STATUS) 0x80090349)
#define SEC_E_DOWNGRADE_DETECTED                ((SECURITY_STATUS) 0x80090350)
#define SEC_E_SMARTCARD_CERT_REVOKED            ((SECURITY_STATUS) 0x80090351)
#define SEC_E_ISSUING_CA_UNTRUSTED              ((SECURITY_STATUS) 0x80090352)
#define SEC_E_REVOCATION_OFFLINE_C              ((SECURITY_STATUS) 0x80090353)
#define SEC_E_PKINIT_CLIENT_FAILURE             ((SECURITY_STATUS) 0x80090354)
#define SEC_E_SMARTCARD_CERT_EXPIRED            ((SECURITY_STATUS) 0x80090355)
#define SEC_E_NO_S4U_PROT_SUPPORT               ((SECURITY_STATUS) 0x80090356)
#define SEC_E_CROSSREALM_DELEGATION_FAILURE     ((SECURITY_STATUS) 0x80090357)
#define SEC_E_REVOCATION_OFFLINE_KDC            ((SECURITY_STATUS) 0x80090358)
#define SEC_E_ISSUING_CA_UNTRUSTED_KDC          ((SECURITY_STATUS) 0x80090359)
#define SEC_E_KDC_CERT_EXPIRED                  ((SECURITY_STATUS) 0x8009035A)
#define SEC_E_KDC_CERT_REVOKED                  ((SECURITY_STATUS) 0x8009035B)
#define SEC_E_INVALID_PARAMETER                 ((SECURITY_STATUS) 0x8009035D)
#define SEC_E_DELEGATION_POLICY                 ((SECURITY_STATUS) 0x8009035E)
#define SEC_E_POLICY_NLTM_ONLY                  ((SECURITY_STATUS) 0x8009035F)  /* sic, as in winerror.h */
#define SEC_E_NO_CONTEXT                        ((SECURITY_STATUS) 0x80090361)
#define SEC_E_PKU2U_CERT_FAILURE                ((SECURITY_STATUS) 0x80090362)
#define SEC_E_MUTUAL_AUTH_FAILED                ((SECURITY_STATUS) 0x80090363)
#define SEC_E_ONLY_HTTPS_ALLOWED                ((SECURITY_STATUS) 0x80090365)
#define SEC_E_APPLICATION_PROTOCOL_MISMATCH     ((SECURITY_STATUS) 0x80090367)
#define SEC_E_INVALID_UPN_NAME                  ((SECURITY_STATUS) 0x80090369)
#define SEC_E_EXT_BUFFER_TOO_SMALL              ((SECURITY_STATUS) 0x8009036A)
#define SEC_E_INSUFFICIENT_BUFFERS              ((SECURITY_STATUS) 0x8009036B)

/* Older names for the same values. */
#define SEC_E_NOT_SUPPORTED                     SEC_E_UNSUPPORTED_FUNCTION
#define SEC_E_NO_SPM                            SEC_E_INTERNAL_ERROR

/* The few NTSTATUS values of this interface (SspiReinitAsyncContext returns an NTSTATUS). Each is
 * guarded because other Windows-compatibility headers commonly define them too. */
#ifndef STATUS_SUCCESS
#  define STATUS_SUCCESS                        ((NTSTATUS) 0x00000000)
#endif
#ifndef STATUS_PENDING
#  define STATUS_PENDING                        ((NTSTATUS) 0x00000103)
#endif
#ifndef STATUS_DEVICE_BUSY
#  define STATUS_DEVICE_BUSY                    ((NTSTATUS) 0x80000011)
#endif
#ifndef STATUS_INVALID_HANDLE
#  define STATUS_INVALID_HANDLE                 ((NTSTATUS) 0xC0000008)
#endif
#ifndef STATUS_INVALID_PARAMETER
#  define STATUS_INVALID_PARAMETER              ((NTSTATUS) 0xC000000D)
#endif
#ifndef STATUS_LOGON_FAILURE
#  define STATUS_LOGON_FAILURE                  ((NTSTATUS) 0xC000006D)
#endif

/* ------------------------------------------------------------------------------------------------------ */
/* Handles                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

/* Opaque to the application: sspid puts a tag in dwLower and an unguessable id in dwUpper. */
typedef struct _SecHandle {
        ULONG_PTR dwLower;
        ULONG_PTR dwUpper;
} SecHandle, *PSecHandle;

typedef SecHandle CredHandle;
typedef PSecHandle PCredHandle;
typedef SecHandle CtxtHandle;
typedef PSecHandle PCtxtHandle;

/* Marks a handle as "none"; SecIsValidHandle() is false for it. */
#define SecInvalidateHandle(x)                                                                  \
        ((PSecHandle)(x))->dwLower = ((PSecHandle)(x))->dwUpper = ((uintptr_t)((intptr_t) -1))

#define SecIsValidHandle(x)                                                                     \
        ((((PSecHandle)(x))->dwLower != ((uintptr_t)((intptr_t) -1))) &&                        \
         (((PSecHandle)(x))->dwUpper != ((uintptr_t)((intptr_t) -1))))

/* Pseudo handle value for a context that has already been deleted. */
#define SEC_DELETED_HANDLE ((uintptr_t)(-2))

/* ------------------------------------------------------------------------------------------------------ */
/* Buffers                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct _SecBuffer {
        ULONG cbBuffer;                 /* size of the buffer in bytes */
        ULONG BufferType;               /* SECBUFFER_* type, optionally OR-ed with attribute flags */
        void *pvBuffer;
} SecBuffer, *PSecBuffer;

typedef struct _SecBufferDesc {
        ULONG ulVersion;                /* SECBUFFER_VERSION */
        ULONG cBuffers;
        PSecBuffer pBuffers;
} SecBufferDesc, *PSecBufferDesc;

#define SECBUFFER_VERSION                       0

#define SECBUFFER_EMPTY                         0       /* unused slot; the package may fill it */
#define SECBUFFER_DATA                          1       /* application data */
#define SECBUFFER_TOKEN                         2       /* security token */
#define SECBUFFER_PKG_PARAMS                    3       /* transport-to-package parameters */
#define SECBUFFER_MISSING                       4       /* cbBuffer = number of bytes still missing */
#define SECBUFFER_EXTRA                         5       /* cbBuffer = number of unprocessed input bytes */
#define SECBUFFER_STREAM_TRAILER                6
#define SECBUFFER_STREAM_HEADER                 7
#define SECBUFFER_NEGOTIATION_INFO              8       /* SEC_NEGOTIATION_INFO */
#define SECBUFFER_PADDING                       9
#define SECBUFFER_STREAM                        10      /* a whole encrypted message */
#define SECBUFFER_MECHLIST                      11
#define SECBUFFER_MECHLIST_SIGNATURE            12
#define SECBUFFER_TARGET                        13      /* obsolete */
#define SECBUFFER_CHANNEL_BINDINGS              14      /* SEC_CHANNEL_BINDINGS */
#define SECBUFFER_CHANGE_PASS_RESPONSE          15
#define SECBUFFER_TARGET_HOST                   16
#define SECBUFFER_ALERT                         17
#define SECBUFFER_APPLICATION_PROTOCOLS         18      /* SEC_APPLICATION_PROTOCOLS */
#define SECBUFFER_SRTP_PROTECTION_PROFILES      19
#define SECBUFFER_SRTP_MASTER_KEY_IDENTIFIER    20
#define SECBUFFER_TOKEN_BINDING                 21
#define SECBUFFER_PRESHARED_KEY                 22
#define SECBUFFER_PRESHARED_KEY_IDENTITY        23
#define SECBUFFER_DTLS_MTU                      24
#define SECBUFFER_SEND_GENERIC_TLS_EXTENSION    25
#define SECBUFFER_SUBSCRIBE_GENERIC_TLS_EXTENSION 26
#define SECBUFFER_FLAGS                         27      /* SEC_FLAGS */
#define SECBUFFER_TRAFFIC_SECRETS               28
#define SECBUFFER_CERTIFICATE_REQUEST_CONTEXT   29
#define SECBUFFER_CHANNEL_BINDINGS_RESULT       30
#define SECBUFFER_APP_SESSION_STATE             31
#define SECBUFFER_SESSION_TICKET                32

/* Attribute flags OR-ed into BufferType. */
#define SECBUFFER_ATTRMASK                      0xF0000000U
#define SECBUFFER_READONLY                      0x80000000U     /* not written, not checksummed */
#define SECBUFFER_READONLY_WITH_CHECKSUM        0x10000000U     /* not written, but checksummed */
#define SECBUFFER_RESERVED                      0x60000000U

/* ------------------------------------------------------------------------------------------------------ */
/* Credential use, data representation                                                                     */
/* ------------------------------------------------------------------------------------------------------ */

#define SECPKG_CRED_INBOUND                     0x00000001U
#define SECPKG_CRED_OUTBOUND                    0x00000002U
#define SECPKG_CRED_BOTH                        0x00000003U
#define SECPKG_CRED_DEFAULT                     0x00000004U
#define SECPKG_CRED_AUTOLOGON_RESTRICTED        0x00000010U
#define SECPKG_CRED_PROCESS_POLICY_ONLY         0x00000020U
#define SECPKG_CRED_KERB_ANCHOR_DS_VERSION      0x00000040U
#define SECPKG_CRED_RESERVED                    0xF0000000U

#define SECURITY_NATIVE_DREP                    0x00000010U
#define SECURITY_NETWORK_DREP                   0x00000000U

/* ------------------------------------------------------------------------------------------------------ */
/* Context requirements and attributes                                                                    */
/* ------------------------------------------------------------------------------------------------------ */

/* Flags above bit 31 do not fit the ULONG fContextReq; they travel in a SECBUFFER_FLAGS input buffer
 * (SEC_FLAGS). */

#define ISC_REQ_DELEGATE                        0x00000001U
#define ISC_REQ_MUTUAL_AUTH                     0x00000002U
#define ISC_REQ_REPLAY_DETECT                   0x00000004U
#define ISC_REQ_SEQUENCE_DETECT                 0x00000008U
#define ISC_REQ_CONFIDENTIALITY                 0x00000010U
#define ISC_REQ_USE_SESSION_KEY                 0x00000020U
#define ISC_REQ_PROMPT_FOR_CREDS                0x00000040U
#define ISC_REQ_USE_SUPPLIED_CREDS              0x00000080U
#define ISC_REQ_ALLOCATE_MEMORY                 0x00000100U
#define ISC_REQ_USE_DCE_STYLE                   0x00000200U
#define ISC_REQ_DATAGRAM                        0x00000400U
#define ISC_REQ_CONNECTION                      0x00000800U
#define ISC_REQ_CALL_LEVEL                      0x00001000U
#define ISC_REQ_FRAGMENT_SUPPLIED               0x00002000U
#define ISC_REQ_EXTENDED_ERROR                  0x00004000U
#define ISC_REQ_STREAM                          0x00008000U
#define ISC_REQ_INTEGRITY                       0x00010000U
#define ISC_REQ_IDENTIFY                        0x00020000U
#define ISC_REQ_NULL_SESSION                    0x00040000U
#define ISC_REQ_MANUAL_CRED_VALIDATION          0x00080000U
#define ISC_REQ_RESERVED1                       0x00100000U
#define ISC_REQ_FRAGMENT_TO_FIT                 0x00200000U
#define ISC_REQ_FORWARD_CREDENTIALS             0x00400000U
#define ISC_REQ_NO_INTEGRITY                    0x00800000U
#define ISC_REQ_USE_HTTP_STYLE                  0x01000000U
#define ISC_REQ_HTTP                            0x10000000U     /* Digest documentation; not in the SDK header */
#define ISC_REQ_UNVERIFIED_TARGET_NAME          0x20000000U
#define ISC_REQ_CONFIDENTIALITY_ONLY            0x40000000U
#define ISC_REQ_MESSAGES                        0x0000000100000000ULL
#define ISC_REQ_DEFERRED_CRED_VALIDATION        0x0000000200000000ULL
#define ISC_REQ_NO_POST_HANDSHAKE_AUTH          0x0000000400000000ULL
#define ISC_REQ_REUSE_SESSION_TICKETS           0x0000000800000000ULL
#define ISC_REQ_EXPLICIT_SESSION                0x0000001000000000ULL

#define ISC_RET_DELEGATE                        0x00000001U
#define ISC_RET_MUTUAL_AUTH                     0x00000002U
#define ISC_RET_REPLAY_DETECT                   0x00000004U
#define ISC_RET_SEQUENCE_DETECT                 0x00000008U
#define ISC_RET_CONFIDENTIALITY                 0x00000010U
#define ISC_RET_USE_SESSION_KEY                 0x00000020U
#define ISC_RET_USED_COLLECTED_CREDS            0x00000040U
#define ISC_RET_USED_SUPPLIED_CREDS             0x00000080U
#define ISC_RET_ALLOCATED_MEMORY                0x00000100U
#define ISC_RET_USED_DCE_STYLE                  0x00000200U
#define ISC_RET_DATAGRAM                        0x00000400U
#define ISC_RET_CONNECTION                      0x00000800U
#define ISC_RET_INTERMEDIATE_RETURN             0x00001000U
#define ISC_RET_CALL_LEVEL                      0x00002000U
#define ISC_RET_EXTENDED_ERROR                  0x00004000U
#define ISC_RET_STREAM                          0x00008000U
#define ISC_RET_INTEGRITY                       0x00010000U
#define ISC_RET_IDENTIFY                        0x00020000U
#define ISC_RET_NULL_SESSION                    0x00040000U
#define ISC_RET_MANUAL_CRED_VALIDATION          0x00080000U
#define ISC_RET_RESERVED1                       0x00100000U
#define ISC_RET_FRAGMENT_ONLY                   0x00200000U
#define ISC_RET_FORWARD_CREDENTIALS             0x00400000U
#define ISC_RET_USED_HTTP_STYLE                 0x01000000U
#define ISC_RET_NO_ADDITIONAL_TOKEN             0x02000000U     /* internal */
#define ISC_RET_REAUTHENTICATION                0x08000000U     /* internal */
#define ISC_RET_CONFIDENTIALITY_ONLY            0x40000000U
#define ISC_RET_MESSAGES                        0x0000000100000000ULL
#define ISC_RET_DEFERRED_CRED_VALIDATION        0x0000000200000000ULL
#define ISC_RET_NO_POST_HANDSHAKE_AUTH          0x0000000400000000ULL
#define ISC_RET_REUSE_SESSION_TICKETS           0x0000000800000000ULL
#define ISC_RET_EXPLICIT_SESSION                0x0000001000000000ULL

#define ASC_REQ_DELEGATE                        0x00000001U
#define ASC_REQ_MUTUAL_AUTH                     0x00000002U
#define ASC_REQ_REPLAY_DETECT                   0x00000004U
#define ASC_REQ_SEQUENCE_DETECT                 0x00000008U
#define ASC_REQ_CONFIDENTIALITY                 0x00000010U
#define ASC_REQ_USE_SESSION_KEY                 0x00000020U
#define ASC_REQ_SESSION_TICKET                  0x00000040U
#define ASC_REQ_ALLOCATE_MEMORY                 0x00000100U
#define ASC_REQ_USE_DCE_STYLE                   0x00000200U
#define ASC_REQ_DATAGRAM                        0x00000400U
#define ASC_REQ_CONNECTION                      0x00000800U
#define ASC_REQ_CALL_LEVEL                      0x00001000U
#define ASC_REQ_FRAGMENT_SUPPLIED               0x00002000U
#define ASC_REQ_EXTENDED_ERROR                  0x00008000U
#define ASC_REQ_STREAM                          0x00010000U
#define ASC_REQ_INTEGRITY                       0x00020000U
#define ASC_REQ_LICENSING                       0x00040000U
#define ASC_REQ_IDENTIFY                        0x00080000U
#define ASC_REQ_ALLOW_NULL_SESSION              0x00100000U
#define ASC_REQ_ALLOW_NON_USER_LOGONS           0x00200000U
#define ASC_REQ_ALLOW_CONTEXT_REPLAY            0x00400000U
#define ASC_REQ_FRAGMENT_TO_FIT                 0x00800000U
#define ASC_REQ_NO_TOKEN                        0x01000000U
#define ASC_REQ_PROXY_BINDINGS                  0x04000000U
#define ASC_REQ_ALLOW_MISSING_BINDINGS          0x10000000U
#define ASC_REQ_HTTP                            0x10000000U     /* Digest documentation; not in the SDK header */
#define ASC_REQ_MESSAGES                        0x0000000100000000ULL
#define ASC_REQ_EXPLICIT_SESSION                0x0000001000000000ULL

#define ASC_RET_DELEGATE                        0x00000001U
#define ASC_RET_MUTUAL_AUTH                     0x00000002U
#define ASC_RET_REPLAY_DETECT                   0x00000004U
#define ASC_RET_SEQUENCE_DETECT                 0x00000008U
#define ASC_RET_CONFIDENTIALITY                 0x00000010U
#define ASC_RET_USE_SESSION_KEY                 0x00000020U
#define ASC_RET_SESSION_TICKET                  0x00000040U
#define ASC_RET_ALLOCATED_MEMORY                0x00000100U
#define ASC_RET_USED_DCE_STYLE                  0x00000200U
#define ASC_RET_DATAGRAM                        0x00000400U
#define ASC_RET_CONNECTION                      0x00000800U
#define ASC_RET_CALL_LEVEL                      0x00002000U
#define ASC_RET_THIRD_LEG_FAILED                0x00004000U
#define ASC_RET_EXTENDED_ERROR                  0x00008000U
#define ASC_RET_STREAM                          0x00010000U
#define ASC_RET_INTEGRITY                       0x00020000U
#define ASC_RET_LICENSING                       0x00040000U
#define ASC_RET_IDENTIFY                        0x00080000U
#define ASC_RET_NULL_SESSION                    0x00100000U
#define ASC_RET_ALLOW_NON_USER_LOGONS           0x00200000U
#define ASC_RET_ALLOW_CONTEXT_REPLAY            0x00400000U     /* deprecated */
#define ASC_RET_FRAGMENT_ONLY                   0x00800000U
#define ASC_RET_NO_TOKEN                        0x01000000U
#define ASC_RET_NO_ADDITIONAL_TOKEN             0x02000000U     /* internal */
#define ASC_RET_MESSAGES                        0x0000000100000000ULL
#define ASC_RET_REUSE_SESSION_TICKETS           0x0000000800000000ULL
#define ASC_RET_EXPLICIT_SESSION                0x0000001000000000ULL

#define SSP_RET_REAUTHENTICATION                0x08000000U     /* internal */

/* 64-bit ISC_REQ_* / ASC_REQ_* flags for a SECBUFFER_FLAGS buffer; the low 32 bits are reserved (0). */
typedef struct _SEC_FLAGS {
        uint64_t Flags;
} SEC_FLAGS, *PSEC_FLAGS;

/* ------------------------------------------------------------------------------------------------------ */
/* Message protection, export, identities                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

#define SECQOP_WRAP_NO_ENCRYPT                  0x80000001U     /* header/trailer only, no encryption */
#define SECQOP_WRAP_OOB_DATA                    0x40000000U     /* Schannel: the message is an alert */
#ifndef KERB_WRAP_NO_ENCRYPT
#  define KERB_WRAP_NO_ENCRYPT                  0x80000001U
#endif

#define SECPKG_CONTEXT_EXPORT_RESET_NEW         0x00000001U     /* new context reset to initial state */
#define SECPKG_CONTEXT_EXPORT_DELETE_OLD        0x00000002U     /* old context deleted */
#define SECPKG_CONTEXT_EXPORT_TO_KERNEL         0x00000004U     /* not supported */

#define SEC_WINNT_AUTH_IDENTITY_ANSI            0x00000001U
#define SEC_WINNT_AUTH_IDENTITY_UNICODE         0x00000002U
#define SEC_WINNT_AUTH_IDENTITY_MARSHALLED      0x00000004U
#define SEC_WINNT_AUTH_IDENTITY_ONLY            0x00000008U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_PROCESS_ENCRYPTED                 0x00000010U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_PROTECTED                  0x00000020U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_USER_PROTECTED                    0x00000040U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_ENCRYPTED                  0x00000080U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_RESERVED                          0x00010000U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_NULL_USER                         0x00020000U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_NULL_DOMAIN                       0x00040000U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_ID_PROVIDER                       0x00080000U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_SSPIPFC_USE_MASK                  0xFF000000U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_SSPIPFC_CREDPROV_DO_NOT_SAVE      0x80000000U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_SSPIPFC_SAVE_CRED_CHECKED         0x40000000U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_SSPIPFC_NO_CHECKBOX               0x20000000U
#define SEC_WINNT_AUTH_IDENTITY_FLAGS_SSPIPFC_CREDPROV_DO_NOT_LOAD      0x10000000U

#define SEC_WINNT_AUTH_IDENTITY_VERSION         0x200U          /* SEC_WINNT_AUTH_IDENTITY_EXA/EXW */
#define SEC_WINNT_AUTH_IDENTITY_VERSION_2       0x201U          /* SEC_WINNT_AUTH_IDENTITY_EX2 */

#define SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON      0x1U
#define SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS    0x2U
#define SEC_WINNT_AUTH_IDENTITY_ENCRYPT_FOR_SYSTEM      0x4U

/*
 * Explicit credentials for AcquireCredentialsHandle (Kerberos, Negotiate, NTLM, Digest). Strings need
 * not be NUL-terminated; the *Length fields count characters (UTF-16 code units for _W, bytes of UTF-8
 * for _A) without any terminating NUL. Flags says which variant it is: SEC_WINNT_AUTH_IDENTITY_ANSI or
 * SEC_WINNT_AUTH_IDENTITY_UNICODE.
 */
typedef struct _SEC_WINNT_AUTH_IDENTITY_W {
        uint16_t *User;
        ULONG UserLength;
        uint16_t *Domain;
        ULONG DomainLength;
        uint16_t *Password;
        ULONG PasswordLength;
        ULONG Flags;
} SEC_WINNT_AUTH_IDENTITY_W, *PSEC_WINNT_AUTH_IDENTITY_W;

typedef struct _SEC_WINNT_AUTH_IDENTITY_A {
        unsigned char *User;
        ULONG UserLength;
        unsigned char *Domain;
        ULONG DomainLength;
        unsigned char *Password;
        ULONG PasswordLength;
        ULONG Flags;
} SEC_WINNT_AUTH_IDENTITY_A, *PSEC_WINNT_AUTH_IDENTITY_A;

/* As above, with a version header (SEC_WINNT_AUTH_IDENTITY_VERSION) and a package list for Negotiate. */
typedef struct _SEC_WINNT_AUTH_IDENTITY_EXW {
        ULONG Version;                  /* SEC_WINNT_AUTH_IDENTITY_VERSION */
        ULONG Length;                   /* sizeof(SEC_WINNT_AUTH_IDENTITY_EXW) */
        uint16_t *User;
        ULONG UserLength;
        uint16_t *Domain;
        ULONG DomainLength;
        uint16_t *Password;
        ULONG PasswordLength;
        ULONG Flags;
        uint16_t *PackageList;
        ULONG PackageListLength;
} SEC_WINNT_AUTH_IDENTITY_EXW, *PSEC_WINNT_AUTH_IDENTITY_EXW;

typedef struct _SEC_WINNT_AUTH_IDENTITY_EXA {
        ULONG Version;
        ULONG Length;
        unsigned char *User;
        ULONG UserLength;
        unsigned char *Domain;
        ULONG DomainLength;
        unsigned char *Password;
        ULONG PasswordLength;
        ULONG Flags;
        unsigned char *PackageList;
        ULONG PackageListLength;
} SEC_WINNT_AUTH_IDENTITY_EXA, *PSEC_WINNT_AUTH_IDENTITY_EXA;

/* Self-relative form (UTF-16 only): offsets are from the start of the structure, lengths in bytes. */
typedef struct _SEC_WINNT_AUTH_IDENTITY_EX2 {
        ULONG Version;                  /* SEC_WINNT_AUTH_IDENTITY_VERSION_2 */
        USHORT cbHeaderLength;
        ULONG cbStructureLength;
        ULONG UserOffset;
        USHORT UserLength;
        ULONG DomainOffset;
        USHORT DomainLength;
        ULONG PackedCredentialsOffset;
        USHORT PackedCredentialsLength;
        ULONG Flags;
        ULONG PackageListOffset;
        USHORT PackageListLength;
} SEC_WINNT_AUTH_IDENTITY_EX2, *PSEC_WINNT_AUTH_IDENTITY_EX2;

/* Any of the above. Tell them apart by the first 32-bit word (0x200: EXA/EXW, 0x201: EX2, otherwise the
 * plain form), then by SEC_WINNT_AUTH_IDENTITY_ANSI in Flags. */
typedef union _SEC_WINNT_AUTH_IDENTITY_INFO {
        SEC_WINNT_AUTH_IDENTITY_EXW AuthIdExw;
        SEC_WINNT_AUTH_IDENTITY_EXA AuthIdExa;
        SEC_WINNT_AUTH_IDENTITY_A AuthId_a;
        SEC_WINNT_AUTH_IDENTITY_W AuthId_w;
        SEC_WINNT_AUTH_IDENTITY_EX2 AuthIdEx2;
} SEC_WINNT_AUTH_IDENTITY_INFO, *PSEC_WINNT_AUTH_IDENTITY_INFO;

typedef void *PSEC_WINNT_AUTH_IDENTITY_OPAQUE;

#if defined(UNICODE)
typedef SEC_WINNT_AUTH_IDENTITY_W SEC_WINNT_AUTH_IDENTITY;
typedef PSEC_WINNT_AUTH_IDENTITY_W PSEC_WINNT_AUTH_IDENTITY;
typedef SEC_WINNT_AUTH_IDENTITY_EXW SEC_WINNT_AUTH_IDENTITY_EX;
typedef PSEC_WINNT_AUTH_IDENTITY_EXW PSEC_WINNT_AUTH_IDENTITY_EX;
#else
typedef SEC_WINNT_AUTH_IDENTITY_A SEC_WINNT_AUTH_IDENTITY;
typedef PSEC_WINNT_AUTH_IDENTITY_A PSEC_WINNT_AUTH_IDENTITY;
typedef SEC_WINNT_AUTH_IDENTITY_EXA SEC_WINNT_AUTH_IDENTITY_EX;
typedef PSEC_WINNT_AUTH_IDENTITY_EXA PSEC_WINNT_AUTH_IDENTITY_EX;
#endif

/*
 * Packed credentials: the credential of a SEC_WINNT_AUTH_IDENTITY_EX2, at PackedCredentialsOffset. All
 * offsets in it count from the start of the SEC_WINNT_AUTH_PACKED_CREDENTIALS itself. The password type
 * (SEC_WINNT_AUTH_DATA_TYPE_PASSWORD) carries the UTF-16 password, without a NUL, as CredData.
 */
#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
        uint32_t Data1;
        uint16_t Data2;
        uint16_t Data3;
        uint8_t Data4[8];
} GUID;
#endif

typedef struct _SEC_WINNT_AUTH_BYTE_VECTOR {
        ULONG ByteArrayOffset;
        USHORT ByteArrayLength;
} SEC_WINNT_AUTH_BYTE_VECTOR, *PSEC_WINNT_AUTH_BYTE_VECTOR;

typedef struct _SEC_WINNT_AUTH_DATA {
        GUID CredType;
        SEC_WINNT_AUTH_BYTE_VECTOR CredData;
} SEC_WINNT_AUTH_DATA, *PSEC_WINNT_AUTH_DATA;

typedef struct _SEC_WINNT_AUTH_PACKED_CREDENTIALS {
        USHORT cbHeaderLength;          /* sizeof(SEC_WINNT_AUTH_PACKED_CREDENTIALS) */
        USHORT cbStructureLength;       /* header and data */
        SEC_WINNT_AUTH_DATA AuthData;
} SEC_WINNT_AUTH_PACKED_CREDENTIALS, *PSEC_WINNT_AUTH_PACKED_CREDENTIALS;

typedef struct _SEC_WINNT_AUTH_DATA_PASSWORD {
        SEC_WINNT_AUTH_BYTE_VECTOR UnicodePassword;
} SEC_WINNT_AUTH_DATA_PASSWORD, *PSEC_WINNT_AUTH_DATA_PASSWORD;

typedef struct _SEC_WINNT_AUTH_CERTIFICATE_DATA {
        USHORT cbHeaderLength;
        USHORT cbStructureLength;
        SEC_WINNT_AUTH_BYTE_VECTOR Certificate;
} SEC_WINNT_AUTH_CERTIFICATE_DATA, *PSEC_WINNT_AUTH_CERTIFICATE_DATA;

/* The credential types of Windows' sspi.h. Only the password type is a credential here; the others
 * (certificates, smart cards, CSP data) give SEC_E_UNKNOWN_CREDENTIALS. */
#define SEC_WINNT_AUTH_DATA_TYPE_PASSWORD_INIT \
        { 0x28bfc32f, 0x10f6, 0x4738, { 0x98, 0xd1, 0x1a, 0xc0, 0x61, 0xdf, 0x71, 0x6a } }
#define SEC_WINNT_AUTH_DATA_TYPE_CERT_INIT \
        { 0x235f69ad, 0x73fb, 0x4dbc, { 0x82, 0x03, 0x06, 0x29, 0xe7, 0x39, 0x33, 0x9b } }
#define SEC_WINNT_AUTH_DATA_TYPE_CREDMAN_CERT_INIT \
        { 0x7cb72412, 0x1016, 0x491a, { 0x8c, 0x87, 0x4d, 0x2a, 0xa1, 0xb7, 0xdd, 0x3a } }
#define SEC_WINNT_AUTH_DATA_TYPE_CSP_DATA_INIT \
        { 0x68fd9879, 0x079c, 0x4dfe, { 0x82, 0x81, 0x57, 0x8a, 0xad, 0xc1, 0xc1, 0x00 } }
static const GUID SEC_WINNT_AUTH_DATA_TYPE_PASSWORD __attribute__((unused)) = SEC_WINNT_AUTH_DATA_TYPE_PASSWORD_INIT;
static const GUID SEC_WINNT_AUTH_DATA_TYPE_CERT __attribute__((unused)) = SEC_WINNT_AUTH_DATA_TYPE_CERT_INIT;
static const GUID SEC_WINNT_AUTH_DATA_TYPE_CREDMAN_CERT __attribute__((unused)) = SEC_WINNT_AUTH_DATA_TYPE_CREDMAN_CERT_INIT;
static const GUID SEC_WINNT_AUTH_DATA_TYPE_CSP_DATA __attribute__((unused)) = SEC_WINNT_AUTH_DATA_TYPE_CSP_DATA_INIT;

/*
 * CredSSP credentials (Windows' credssp.h), accepted as pAuthData by Negotiate (which uses pSpnegoCred: a
 * SEC_WINNT_AUTH_IDENTITY[_EX|_EX2], NULL for the caller's own credentials) and Schannel (pSchannelCred:
 * SCHANNEL_CRED or SCH_CREDENTIALS, NULL for none). Type says which of the two are present:
 * CredsspPasswordCreds the Negotiate one, CredsspSchannelCreds the Schannel one, CredsspSubmitBufferBoth(Old)
 * both. A CREDSSP_CRED_EX (Type CredsspCredEx, Version CREDSSP_CRED_EX_VERSION) wraps one. Schannel reads a
 * first word of 4 as SCHANNEL_CRED_VERSION: CredsspSchannelCreds has the value of the structure it names.
 */
#define CREDSSP_NAME_A                          "CREDSSP"
#define CREDSSP_NAME_W                          ((const SEC_WCHAR *) u"CREDSSP")
#define TS_SSP_NAME_A                           "TSSSP"
#define TS_SSP_NAME_W                           ((const SEC_WCHAR *) u"TSSSP")

typedef enum _CREDSSP_SUBMIT_TYPE {
        CredsspPasswordCreds = 2,
        CredsspSchannelCreds = 4,
        CredsspCertificateCreds = 13,
        CredsspSubmitBufferBoth = 50,
        CredsspSubmitBufferBothOld = 51,
        CredsspCredEx = 100,
} CREDSPP_SUBMIT_TYPE;

typedef struct _CREDSSP_CRED {
        CREDSPP_SUBMIT_TYPE Type;
        void *pSchannelCred;
        void *pSpnegoCred;
} CREDSSP_CRED, *PCREDSSP_CRED;

#define CREDSSP_CRED_EX_VERSION                 0
#define CREDSSP_FLAG_REDIRECT                   0x00000001U

typedef struct _CREDSSP_CRED_EX {
        CREDSPP_SUBMIT_TYPE Type;               /* CredsspCredEx */
        DWORD Version;                          /* CREDSSP_CRED_EX_VERSION */
        DWORD Flags;
        DWORD Reserved;
        CREDSSP_CRED Cred;
} CREDSSP_CRED_EX, *PCREDSSP_CRED_EX;

/*
 * sspid extension: pAuthData of an outbound AcquireCredentialsHandle (any package but Schannel) that takes
 * the credentials a CredSSP client delegated (TSPasswordCreds) to the accepted context *phContext, which must
 * be complete and the caller's. Windows logs the user on with them and the server impersonates that logon
 * to acquire; here they stay in the daemon, which acquires with them there: the caller never reads the
 * password. SEC_E_INVALID_HANDLE for a context that is not the caller's, SEC_E_UNKNOWN_CREDENTIALS for one
 * of another package or an unknown Version/Flags, SEC_E_NO_CREDENTIALS when no password was delegated.
 */
#define SEC_DELEGATED_CONTEXT_CRED_VERSION      0x53444331U
typedef struct _SEC_DELEGATED_CONTEXT_CRED {
        DWORD Version;                          /* SEC_DELEGATED_CONTEXT_CRED_VERSION */
        DWORD Flags;                            /* 0 */
        PCtxtHandle phContext;
} SEC_DELEGATED_CONTEXT_CRED, *PSEC_DELEGATED_CONTEXT_CRED;

/* ------------------------------------------------------------------------------------------------------ */
/* Packages                                                                                                */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct _SecPkgInfoW {
        ULONG fCapabilities;            /* SECPKG_FLAG_* */
        USHORT wVersion;
        USHORT wRPCID;                  /* RPC_C_AUTHN_* or SECPKG_ID_NONE */
        ULONG cbMaxToken;               /* largest token the package emits */
        SEC_WCHAR *Name;
        SEC_WCHAR *Comment;
} SecPkgInfoW, *PSecPkgInfoW;

typedef struct _SecPkgInfoA {
        ULONG fCapabilities;
        USHORT wVersion;
        USHORT wRPCID;
        ULONG cbMaxToken;
        SEC_CHAR *Name;
        SEC_CHAR *Comment;
} SecPkgInfoA, *PSecPkgInfoA;

#if defined(UNICODE)
typedef SecPkgInfoW SecPkgInfo;
typedef PSecPkgInfoW PSecPkgInfo;
#else
typedef SecPkgInfoA SecPkgInfo;
typedef PSecPkgInfoA PSecPkgInfo;
#endif

#define SECPKG_FLAG_INTEGRITY                   0x00000001U
#define SECPKG_FLAG_PRIVACY                     0x00000002U
#define SECPKG_FLAG_TOKEN_ONLY                  0x00000004U
#define SECPKG_FLAG_DATAGRAM                    0x00000008U
#define SECPKG_FLAG_CONNECTION                  0x00000010U
#define SECPKG_FLAG_MULTI_REQUIRED              0x00000020U
#define SECPKG_FLAG_CLIENT_ONLY                 0x00000040U
#define SECPKG_FLAG_EXTENDED_ERROR              0x00000080U
#define SECPKG_FLAG_IMPERSONATION               0x00000100U
#define SECPKG_FLAG_ACCEPT_WIN32_NAME           0x00000200U
#define SECPKG_FLAG_STREAM                      0x00000400U
#define SECPKG_FLAG_NEGOTIABLE                  0x00000800U
#define SECPKG_FLAG_GSS_COMPATIBLE              0x00001000U
#define SECPKG_FLAG_LOGON                       0x00002000U
#define SECPKG_FLAG_ASCII_BUFFERS               0x00004000U
#define SECPKG_FLAG_FRAGMENT                    0x00008000U
#define SECPKG_FLAG_MUTUAL_AUTH                 0x00010000U
#define SECPKG_FLAG_DELEGATION                  0x00020000U
#define SECPKG_FLAG_READONLY_WITH_CHECKSUM      0x00040000U
#define SECPKG_FLAG_RESTRICTED_TOKENS           0x00080000U
#define SECPKG_FLAG_NEGO_EXTENDER               0x00100000U
#define SECPKG_FLAG_NEGOTIABLE2                 0x00200000U
#define SECPKG_FLAG_APPCONTAINER_PASSTHROUGH    0x00400000U
#define SECPKG_FLAG_APPCONTAINER_CHECKS         0x00800000U
#define SECPKG_FLAG_CREDENTIAL_ISOLATION_ENABLED 0x01000000U
#define SECPKG_FLAG_APPLY_LOOPBACK              0x02000000U

#define SECPKG_ID_NONE                          0xFFFF

/* Package names. The W forms are UTF-16 literals typed as SEC_WCHAR strings. */
#define NEGOSSP_NAME_A                          "Negotiate"
#define NEGOSSP_NAME_W                          ((const SEC_WCHAR *) u"Negotiate")
#define MICROSOFT_KERBEROS_NAME_A               "Kerberos"
#define MICROSOFT_KERBEROS_NAME_W               ((const SEC_WCHAR *) u"Kerberos")
#define NTLMSP_NAME_A                           "NTLM"
#define NTLMSP_NAME_W                           ((const SEC_WCHAR *) u"NTLM")
#define WDIGEST_SP_NAME_A                       "WDigest"
#define WDIGEST_SP_NAME_W                       ((const SEC_WCHAR *) u"WDigest")
#define UNISP_NAME_A                            "Microsoft Unified Security Protocol Provider"
#define UNISP_NAME_W                            ((const SEC_WCHAR *) u"Microsoft Unified Security Protocol Provider")
#define SCHANNEL_NAME_A                         "Schannel"
#define SCHANNEL_NAME_W                         ((const SEC_WCHAR *) u"Schannel")
#define DEFAULT_TLS_SSP_NAME_A                  "Default TLS SSP"
#define DEFAULT_TLS_SSP_NAME_W                  ((const SEC_WCHAR *) u"Default TLS SSP")
#define SSL2SP_NAME_A                           "Microsoft SSL 2.0"
#define SSL2SP_NAME_W                           ((const SEC_WCHAR *) u"Microsoft SSL 2.0")
#define SSL3SP_NAME_A                           "Microsoft SSL 3.0"
#define SSL3SP_NAME_W                           ((const SEC_WCHAR *) u"Microsoft SSL 3.0")
#define TLS1SP_NAME_A                           "Microsoft TLS 1.0"
#define TLS1SP_NAME_W                           ((const SEC_WCHAR *) u"Microsoft TLS 1.0")
#define PCT1SP_NAME_A                           "Microsoft PCT 1.0"
#define PCT1SP_NAME_W                           ((const SEC_WCHAR *) u"Microsoft PCT 1.0")

#if defined(UNICODE)
#  define NEGOSSP_NAME                          NEGOSSP_NAME_W
#  define MICROSOFT_KERBEROS_NAME               MICROSOFT_KERBEROS_NAME_W
#  define NTLMSP_NAME                           NTLMSP_NAME_W
#  define WDIGEST_SP_NAME                       WDIGEST_SP_NAME_W
#  define UNISP_NAME                            UNISP_NAME_W
#  define SCHANNEL_NAME                         SCHANNEL_NAME_W
#  define DEFAULT_TLS_SSP_NAME                  DEFAULT_TLS_SSP_NAME_W
#  define SSL2SP_NAME                           SSL2SP_NAME_W
#  define SSL3SP_NAME                           SSL3SP_NAME_W
#  define TLS1SP_NAME                           TLS1SP_NAME_W
#  define PCT1SP_NAME                           PCT1SP_NAME_W
#else
#  define NEGOSSP_NAME                          NEGOSSP_NAME_A
#  define MICROSOFT_KERBEROS_NAME               MICROSOFT_KERBEROS_NAME_A
#  define NTLMSP_NAME                           NTLMSP_NAME_A
#  define WDIGEST_SP_NAME                       WDIGEST_SP_NAME_A
#  define UNISP_NAME                            UNISP_NAME_A
#  define SCHANNEL_NAME                         SCHANNEL_NAME_A
#  define DEFAULT_TLS_SSP_NAME                  DEFAULT_TLS_SSP_NAME_A
#  define SSL2SP_NAME                           SSL2SP_NAME_A
#  define SSL3SP_NAME                           SSL3SP_NAME_A
#  define TLS1SP_NAME                           TLS1SP_NAME_A
#  define PCT1SP_NAME                           PCT1SP_NAME_A
#endif

/* RPC authentication service ids (SecPkgInfo.wRPCID), as in rpcdce.h. */
#ifndef RPC_C_AUTHN_GSS_NEGOTIATE
#  define RPC_C_AUTHN_GSS_NEGOTIATE             9
#endif
#ifndef RPC_C_AUTHN_WINNT
#  define RPC_C_AUTHN_WINNT                     10
#endif
#ifndef RPC_C_AUTHN_GSS_SCHANNEL
#  define RPC_C_AUTHN_GSS_SCHANNEL              14
#endif
#ifndef RPC_C_AUTHN_GSS_KERBEROS
#  define RPC_C_AUTHN_GSS_KERBEROS              16
#endif
#ifndef RPC_C_AUTHN_DIGEST
#  define RPC_C_AUTHN_DIGEST                    21
#endif

#define SECPKG_NEGOTIATION_COMPLETE             0
#define SECPKG_NEGOTIATION_OPTIMISTIC           1
#define SECPKG_NEGOTIATION_IN_PROGRESS          2
#define SECPKG_NEGOTIATION_DIRECT               3
#define SECPKG_NEGOTIATION_TRY_MULTICRED        4

/* ------------------------------------------------------------------------------------------------------ */
/* Context attributes (QueryContextAttributes / SetContextAttributes)                                      */
/* ------------------------------------------------------------------------------------------------------ */

#define SECPKG_ATTR_SIZES                       0
#define SECPKG_ATTR_NAMES                       1
#define SECPKG_ATTR_LIFESPAN                    2
#define SECPKG_ATTR_DCE_INFO                    3
#define SECPKG_ATTR_STREAM_SIZES                4
#define SECPKG_ATTR_DATAGRAM_SIZES              SECPKG_ATTR_STREAM_SIZES
#define SECPKG_ATTR_KEY_INFO                    5
#define SECPKG_ATTR_AUTHORITY                   6
#define SECPKG_ATTR_PROTO_INFO                  7
#define SECPKG_ATTR_PASSWORD_EXPIRY             8
#define SECPKG_ATTR_SESSION_KEY                 9
#define SECPKG_ATTR_PACKAGE_INFO                10
#define SECPKG_ATTR_USER_FLAGS                  11
#define SECPKG_ATTR_NEGOTIATION_INFO            12
#define SECPKG_ATTR_NATIVE_NAMES                13
#define SECPKG_ATTR_FLAGS                       14
#define SECPKG_ATTR_USE_VALIDATED               15
#define SECPKG_ATTR_CREDENTIAL_NAME             16
#define SECPKG_ATTR_TARGET_INFORMATION          17
#define SECPKG_ATTR_ACCESS_TOKEN                18
#define SECPKG_ATTR_TARGET                      19
#define SECPKG_ATTR_AUTHENTICATION_ID           20
#define SECPKG_ATTR_LOGOFF_TIME                 21
#define SECPKG_ATTR_NEGO_KEYS                   22
#define SECPKG_ATTR_PROMPTING_NEEDED            24
#define SECPKG_ATTR_UNIQUE_BINDINGS             25
#define SECPKG_ATTR_ENDPOINT_BINDINGS           26
#define SECPKG_ATTR_CLIENT_SPECIFIED_TARGET     27
#define SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS    30
#define SECPKG_ATTR_NEGO_PKG_INFO               31
#define SECPKG_ATTR_NEGO_STATUS                 32
#define SECPKG_ATTR_CONTEXT_DELETED             33
#define SECPKG_ATTR_DTLS_MTU                    34
#define SECPKG_ATTR_APPLICATION_PROTOCOL        35
#define SECPKG_ATTR_NEGOTIATED_TLS_EXTENSIONS   36
#define SECPKG_ATTR_IS_LOOPBACK                 37
#define SECPKG_ATTR_SUBJECT_SECURITY_ATTRIBUTES 128

#define SECPKG_ATTR_NEGO_INFO_FLAG_NO_KERBEROS  0x1U
#define SECPKG_ATTR_NEGO_INFO_FLAG_NO_NTLM      0x2U

/* Credential attributes (QueryCredentialsAttributes / SetCredentialsAttributes). Schannel credentials
 * also answer SECPKG_ATTR_SUPPORTED_ALGS, _CIPHER_STRENGTHS and _SUPPORTED_PROTOCOLS. */
#define SECPKG_CRED_ATTR_NAMES                  1
#define SECPKG_CRED_ATTR_SSI_PROVIDER           2
#define SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS     3
#define SECPKG_CRED_ATTR_KDC_NETWORK_SETTINGS   3
#define SECPKG_CRED_ATTR_CERT                   4
#define SECPKG_CRED_ATTR_PAC_BYPASS             5

/* SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS (SetCredentialsAttributes, Kerberos and Negotiate): the proxy
 * server string (UTF-16, ProxyServerLength bytes, no NUL needed) lies ProxyServerOffset bytes after the
 * start of the structure, inside cbBuffer. sspid accepts "https://host[:port][/path]" and Windows'
 * "host[:port][:path]" (port 443, path "KdcProxy" by default); a zero length removes the proxy.
 * Without FORCEPROXY the KDC is tried directly first. A client TLS credential is not supported
 * (SEC_E_UNSUPPORTED_FUNCTION). */
#define KDC_PROXY_SETTINGS_V1                   1
#define KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY     0x1
typedef struct _SecPkgCredentials_KdcProxySettingsW {
        ULONG Version;                  /* KDC_PROXY_SETTINGS_V1 */
        ULONG Flags;                    /* KDC_PROXY_SETTINGS_FLAGS_* */
        USHORT ProxyServerOffset;
        USHORT ProxyServerLength;
        USHORT ClientTlsCredOffset;
        USHORT ClientTlsCredLength;
} SecPkgCredentials_KdcProxySettingsW, *PSecPkgCredentials_KdcProxySettingsW;

/* ChangeAccountPassword's SECBUFFER_CHANGE_PASS_RESPONSE (ntsecapi.h on Windows): the password policy
 * the password server sent with its answer, package-allocated (FreeContextBuffer). */
#ifndef _DOMAIN_PASSWORD_INFORMATION_DEFINED
#define _DOMAIN_PASSWORD_INFORMATION_DEFINED
typedef struct _DOMAIN_PASSWORD_INFORMATION {
        USHORT MinPasswordLength;
        USHORT PasswordHistoryLength;
        ULONG PasswordProperties;
        LARGE_INTEGER MaxPasswordAge;
        LARGE_INTEGER MinPasswordAge;
} DOMAIN_PASSWORD_INFORMATION, *PDOMAIN_PASSWORD_INFORMATION;
#endif

/* SECPKG_ATTR_SIZES */
typedef struct _SecPkgContext_Sizes {
        ULONG cbMaxToken;               /* largest authentication token */
        ULONG cbMaxSignature;           /* largest MakeSignature output */
        ULONG cbBlockSize;              /* messages should be a multiple of this */
        ULONG cbSecurityTrailer;        /* trailer EncryptMessage needs */
} SecPkgContext_Sizes, *PSecPkgContext_Sizes;

/* SECPKG_ATTR_STREAM_SIZES */
typedef struct _SecPkgContext_StreamSizes {
        ULONG cbHeader;
        ULONG cbTrailer;
        ULONG cbMaximumMessage;         /* largest plaintext per EncryptMessage call */
        ULONG cBuffers;
        ULONG cbBlockSize;
} SecPkgContext_StreamSizes, *PSecPkgContext_StreamSizes;

typedef SecPkgContext_StreamSizes SecPkgContext_DatagramSizes;
typedef PSecPkgContext_StreamSizes PSecPkgContext_DatagramSizes;

/* SECPKG_ATTR_DTLS_MTU (Query and SetContextAttributes; Schannel DTLS) */
typedef struct _SEC_DTLS_MTU {
        unsigned short PathMTU;
} SEC_DTLS_MTU, *PSEC_DTLS_MTU;

/* SECPKG_ATTR_NAMES */
typedef struct _SecPkgContext_NamesW {
        SEC_WCHAR *sUserName;
} SecPkgContext_NamesW, *PSecPkgContext_NamesW;

typedef struct _SecPkgContext_NamesA {
        SEC_CHAR *sUserName;
} SecPkgContext_NamesA, *PSecPkgContext_NamesA;

/* SECPKG_ATTR_NATIVE_NAMES */
typedef struct _SecPkgContext_NativeNamesW {
        SEC_WCHAR *sClientName;
        SEC_WCHAR *sServerName;
} SecPkgContext_NativeNamesW, *PSecPkgContext_NativeNamesW;

typedef struct _SecPkgContext_NativeNamesA {
        SEC_CHAR *sClientName;
        SEC_CHAR *sServerName;
} SecPkgContext_NativeNamesA, *PSecPkgContext_NativeNamesA;

/* SECPKG_ATTR_LIFESPAN */
typedef struct _SecPkgContext_Lifespan {
        TimeStamp tsStart;
        TimeStamp tsExpiry;
} SecPkgContext_Lifespan, *PSecPkgContext_Lifespan;

/* SECPKG_ATTR_DCE_INFO */
typedef struct _SecPkgContext_DceInfo {
        ULONG AuthzSvc;
        void *pPac;
} SecPkgContext_DceInfo, *PSecPkgContext_DceInfo;

/* SECPKG_ATTR_KEY_INFO */
typedef struct _SecPkgContext_KeyInfoW {
        SEC_WCHAR *sSignatureAlgorithmName;
        SEC_WCHAR *sEncryptAlgorithmName;
        ULONG KeySize;
        ULONG SignatureAlgorithm;
        ULONG EncryptAlgorithm;
} SecPkgContext_KeyInfoW, *PSecPkgContext_KeyInfoW;

typedef struct _SecPkgContext_KeyInfoA {
        SEC_CHAR *sSignatureAlgorithmName;
        SEC_CHAR *sEncryptAlgorithmName;
        ULONG KeySize;
        ULONG SignatureAlgorithm;
        ULONG EncryptAlgorithm;
} SecPkgContext_KeyInfoA, *PSecPkgContext_KeyInfoA;

/* SECPKG_ATTR_AUTHORITY */
typedef struct _SecPkgContext_AuthorityW {
        SEC_WCHAR *sAuthorityName;
} SecPkgContext_AuthorityW, *PSecPkgContext_AuthorityW;

typedef struct _SecPkgContext_AuthorityA {
        SEC_CHAR *sAuthorityName;
} SecPkgContext_AuthorityA, *PSecPkgContext_AuthorityA;

/* SECPKG_ATTR_PROTO_INFO */
typedef struct _SecPkgContext_ProtoInfoW {
        SEC_WCHAR *sProtocolName;
        ULONG majorVersion;
        ULONG minorVersion;
} SecPkgContext_ProtoInfoW, *PSecPkgContext_ProtoInfoW;

typedef struct _SecPkgContext_ProtoInfoA {
        SEC_CHAR *sProtocolName;
        ULONG majorVersion;
        ULONG minorVersion;
} SecPkgContext_ProtoInfoA, *PSecPkgContext_ProtoInfoA;

/* SECPKG_ATTR_PASSWORD_EXPIRY */
typedef struct _SecPkgContext_PasswordExpiry {
        TimeStamp tsPasswordExpires;
} SecPkgContext_PasswordExpiry, *PSecPkgContext_PasswordExpiry;

/* SECPKG_ATTR_LOGOFF_TIME */
typedef struct _SecPkgContext_LogoffTime {
        TimeStamp tsLogoffTime;
} SecPkgContext_LogoffTime, *PSecPkgContext_LogoffTime;

/* SECPKG_ATTR_SESSION_KEY */
typedef struct _SecPkgContext_SessionKey {
        ULONG SessionKeyLength;
        unsigned char *SessionKey;      /* free with FreeContextBuffer() */
} SecPkgContext_SessionKey, *PSecPkgContext_SessionKey;

/* SECPKG_ATTR_PACKAGE_INFO */
typedef struct _SecPkgContext_PackageInfoW {
        PSecPkgInfoW PackageInfo;       /* free with FreeContextBuffer() */
} SecPkgContext_PackageInfoW, *PSecPkgContext_PackageInfoW;

typedef struct _SecPkgContext_PackageInfoA {
        PSecPkgInfoA PackageInfo;
} SecPkgContext_PackageInfoA, *PSecPkgContext_PackageInfoA;

/* SECPKG_ATTR_USER_FLAGS */
typedef struct _SecPkgContext_UserFlags {
        ULONG UserFlags;
} SecPkgContext_UserFlags, *PSecPkgContext_UserFlags;

/* SECPKG_ATTR_NEGOTIATION_INFO: the package Negotiate chose and how far negotiation got. */
typedef struct _SecPkgContext_NegotiationInfoW {
        PSecPkgInfoW PackageInfo;       /* free with FreeContextBuffer() */
        ULONG NegotiationState;         /* SECPKG_NEGOTIATION_* */
} SecPkgContext_NegotiationInfoW, *PSecPkgContext_NegotiationInfoW;

typedef struct _SecPkgContext_NegotiationInfoA {
        PSecPkgInfoA PackageInfo;
        ULONG NegotiationState;
} SecPkgContext_NegotiationInfoA, *PSecPkgContext_NegotiationInfoA;

/* SECPKG_ATTR_FLAGS: the ISC_RET_* / ASC_RET_* flags in effect. */
typedef struct _SecPkgContext_Flags {
        ULONG Flags;
} SecPkgContext_Flags, *PSecPkgContext_Flags;

/* SECPKG_ATTR_CREDENTIAL_NAME */
typedef struct _SecPkgContext_CredentialNameW {
        ULONG CredentialType;
        SEC_WCHAR *sCredentialName;
} SecPkgContext_CredentialNameW, *PSecPkgContext_CredentialNameW;

typedef struct _SecPkgContext_CredentialNameA {
        ULONG CredentialType;
        SEC_CHAR *sCredentialName;
} SecPkgContext_CredentialNameA, *PSecPkgContext_CredentialNameA;

/* SECPKG_ATTR_ACCESS_TOKEN */
typedef struct _SecPkgContext_AccessToken {
        void *AccessToken;
} SecPkgContext_AccessToken, *PSecPkgContext_AccessToken;

/* SECPKG_ATTR_TARGET_INFORMATION */
typedef struct _SecPkgContext_TargetInformation {
        ULONG MarshalledTargetInfoLength;
        unsigned char *MarshalledTargetInfo;
} SecPkgContext_TargetInformation, *PSecPkgContext_TargetInformation;

/* SECPKG_ATTR_CLIENT_SPECIFIED_TARGET */
typedef struct _SecPkgContext_ClientSpecifiedTarget {
        SEC_WCHAR *sTargetName;
} SecPkgContext_ClientSpecifiedTarget, *PSecPkgContext_ClientSpecifiedTarget;

/* SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS */
typedef enum _SECPKG_ATTR_LCT_STATUS {
        SecPkgAttrLastClientTokenYes,
        SecPkgAttrLastClientTokenNo,
        SecPkgAttrLastClientTokenMaybe
} SECPKG_ATTR_LCT_STATUS, *PSECPKG_ATTR_LCT_STATUS;

typedef struct _SecPkgContext_LastClientTokenStatus {
        SECPKG_ATTR_LCT_STATUS LastClientTokenStatus;
} SecPkgContext_LastClientTokenStatus, *PSecPkgContext_LastClientTokenStatus;

/* SECPKG_ATTR_NEGO_PKG_INFO */
typedef struct _SecPkgContext_NegoPackageInfo {
        ULONG PackageMask;              /* SECPKG_ATTR_NEGO_INFO_FLAG_* */
} SecPkgContext_NegoPackageInfo, *PSecPkgContext_NegoPackageInfo;

/* SECPKG_ATTR_NEGO_STATUS */
typedef struct _SecPkgContext_NegoStatus {
        ULONG LastStatus;
} SecPkgContext_NegoStatus, *PSecPkgContext_NegoStatus;

/* Channel bindings (RFC 5929 data in the SSPI layout); offsets are from the start of the structure and
 * the data follows it. */
typedef struct _SEC_CHANNEL_BINDINGS {
        ULONG dwInitiatorAddrType;
        ULONG cbInitiatorLength;
        ULONG dwInitiatorOffset;
        ULONG dwAcceptorAddrType;
        ULONG cbAcceptorLength;
        ULONG dwAcceptorOffset;
        ULONG cbApplicationDataLength;
        ULONG dwApplicationDataOffset;
} SEC_CHANNEL_BINDINGS, *PSEC_CHANNEL_BINDINGS;

/* The extended form SspiSetChannelBindingFlags makes of a SEC_CHANNEL_BINDINGS: a 16-byte header
 * (magic 'XEBC', flags, header and structure lengths), then the same eight fields, whose offsets
 * count from the start of this structure. */
#define SEC_CHANNEL_BINDINGS_EX_MAGIC 0x58454243 /* 'XEBC' */
typedef struct _SEC_CHANNEL_BINDINGS_EX {
        ULONG magicNumber;
        ULONG flags;
        ULONG cbHeaderLength;
        ULONG cbStructureLength;
        ULONG dwInitiatorAddrType;
        ULONG cbInitiatorLength;
        ULONG dwInitiatorOffset;
        ULONG dwAcceptorAddrType;
        ULONG cbAcceptorLength;
        ULONG dwAcceptorOffset;
        ULONG cbApplicationDataLength;
        ULONG dwApplicationDataOffset;
} SEC_CHANNEL_BINDINGS_EX, *PSEC_CHANNEL_BINDINGS_EX;

#define SEC_CHANNEL_BINDINGS_AUDIT_BINDINGS 0x1
#define SEC_CHANNEL_BINDINGS_VALID_FLAGS SEC_CHANNEL_BINDINGS_AUDIT_BINDINGS

/* SECBUFFER_CHANNEL_BINDINGS_RESULT */
typedef struct _SEC_CHANNEL_BINDINGS_RESULT {
        ULONG flags;
} SEC_CHANNEL_BINDINGS_RESULT, *PSEC_CHANNEL_BINDINGS_RESULT;
#define SEC_CHANNEL_BINDINGS_RESULT_CLIENT_SUPPORT 0x1
#define SEC_CHANNEL_BINDINGS_RESULT_ABSENT 0x2
#define SEC_CHANNEL_BINDINGS_RESULT_NOTVALID_MISMATCH 0x4
#define SEC_CHANNEL_BINDINGS_RESULT_NOTVALID_MISSING 0x8
#define SEC_CHANNEL_BINDINGS_RESULT_VALID_MATCHED 0x10
#define SEC_CHANNEL_BINDINGS_RESULT_VALID_PROXY 0x20
#define SEC_CHANNEL_BINDINGS_RESULT_VALID_MISSING 0x40
#define SEC_CHANNEL_BINDINGS_RESULT_VALID \
        (SEC_CHANNEL_BINDINGS_RESULT_VALID_MATCHED | SEC_CHANNEL_BINDINGS_RESULT_VALID_PROXY | \
         SEC_CHANNEL_BINDINGS_RESULT_VALID_MISSING)
#define SEC_CHANNEL_BINDINGS_RESULT_NOTVALID \
        (SEC_CHANNEL_BINDINGS_RESULT_NOTVALID_MISMATCH | SEC_CHANNEL_BINDINGS_RESULT_NOTVALID_MISSING)

/* SECPKG_ATTR_UNIQUE_BINDINGS, SECPKG_ATTR_ENDPOINT_BINDINGS */
typedef struct _SecPkgContext_Bindings {
        ULONG BindingsLength;
        SEC_CHANNEL_BINDINGS *Bindings; /* free with FreeContextBuffer() */
} SecPkgContext_Bindings, *PSecPkgContext_Bindings;

/* Application protocol negotiation (ALPN / NPN). */
typedef enum _SEC_APPLICATION_PROTOCOL_NEGOTIATION_STATUS {
        SecApplicationProtocolNegotiationStatus_None,
        SecApplicationProtocolNegotiationStatus_Success,
        SecApplicationProtocolNegotiationStatus_SelectedClientOnly
} SEC_APPLICATION_PROTOCOL_NEGOTIATION_STATUS, *PSEC_APPLICATION_PROTOCOL_NEGOTIATION_STATUS;

typedef enum _SEC_APPLICATION_PROTOCOL_NEGOTIATION_EXT {
        SecApplicationProtocolNegotiationExt_None,
        SecApplicationProtocolNegotiationExt_NPN,
        SecApplicationProtocolNegotiationExt_ALPN
} SEC_APPLICATION_PROTOCOL_NEGOTIATION_EXT, *PSEC_APPLICATION_PROTOCOL_NEGOTIATION_EXT;

#define MAX_PROTOCOL_ID_SIZE                    0xff

/* SECPKG_ATTR_APPLICATION_PROTOCOL */
typedef struct _SecPkgContext_ApplicationProtocol {
        SEC_APPLICATION_PROTOCOL_NEGOTIATION_STATUS ProtoNegoStatus;
        SEC_APPLICATION_PROTOCOL_NEGOTIATION_EXT ProtoNegoExt;
        unsigned char ProtocolIdSize;
        unsigned char ProtocolId[MAX_PROTOCOL_ID_SIZE];
} SecPkgContext_ApplicationProtocol, *PSecPkgContext_ApplicationProtocol;

/* One list of protocol ids, each prefixed by its 8-bit length, most preferred first. ProtocolList is
 * variable-sized (declared [1] as in the SDK); ProtocolListSize is its size in bytes. */
typedef struct _SEC_APPLICATION_PROTOCOL_LIST {
        SEC_APPLICATION_PROTOCOL_NEGOTIATION_EXT ProtoNegoExt;
        unsigned short ProtocolListSize;
        unsigned char ProtocolList[1];
} SEC_APPLICATION_PROTOCOL_LIST, *PSEC_APPLICATION_PROTOCOL_LIST;

/* Payload of a SECBUFFER_APPLICATION_PROTOCOLS buffer; ProtocolListsSize counts the bytes that follow. */
typedef struct _SEC_APPLICATION_PROTOCOLS {
        ULONG ProtocolListsSize;
        SEC_APPLICATION_PROTOCOL_LIST ProtocolLists[1];
} SEC_APPLICATION_PROTOCOLS, *PSEC_APPLICATION_PROTOCOLS;

/* Payload of a SECBUFFER_NEGOTIATION_INFO buffer. */
typedef struct _SEC_NEGOTIATION_INFO {
        ULONG Size;
        ULONG NameLength;
        SEC_WCHAR *Name;
        void *Reserved;
} SEC_NEGOTIATION_INFO, *PSEC_NEGOTIATION_INFO;

/* SECPKG_CRED_ATTR_NAMES */
typedef struct _SecPkgCredentials_NamesW {
        SEC_WCHAR *sUserName;
} SecPkgCredentials_NamesW, *PSecPkgCredentials_NamesW;

typedef struct _SecPkgCredentials_NamesA {
        SEC_CHAR *sUserName;
} SecPkgCredentials_NamesA, *PSecPkgCredentials_NamesA;

#if defined(UNICODE)
typedef SecPkgContext_NamesW SecPkgContext_Names;
typedef PSecPkgContext_NamesW PSecPkgContext_Names;
typedef SecPkgContext_NativeNamesW SecPkgContext_NativeNames;
typedef PSecPkgContext_NativeNamesW PSecPkgContext_NativeNames;
typedef SecPkgContext_KeyInfoW SecPkgContext_KeyInfo;
typedef PSecPkgContext_KeyInfoW PSecPkgContext_KeyInfo;
typedef SecPkgContext_AuthorityW SecPkgContext_Authority;
typedef PSecPkgContext_AuthorityW PSecPkgContext_Authority;
typedef SecPkgContext_ProtoInfoW SecPkgContext_ProtoInfo;
typedef PSecPkgContext_ProtoInfoW PSecPkgContext_ProtoInfo;
typedef SecPkgContext_PackageInfoW SecPkgContext_PackageInfo;
typedef PSecPkgContext_PackageInfoW PSecPkgContext_PackageInfo;
typedef SecPkgContext_NegotiationInfoW SecPkgContext_NegotiationInfo;
typedef PSecPkgContext_NegotiationInfoW PSecPkgContext_NegotiationInfo;
typedef SecPkgContext_CredentialNameW SecPkgContext_CredentialName;
typedef PSecPkgContext_CredentialNameW PSecPkgContext_CredentialName;
typedef SecPkgCredentials_NamesW SecPkgCredentials_Names;
typedef PSecPkgCredentials_NamesW PSecPkgCredentials_Names;
#else
typedef SecPkgContext_NamesA SecPkgContext_Names;
typedef PSecPkgContext_NamesA PSecPkgContext_Names;
typedef SecPkgContext_NativeNamesA SecPkgContext_NativeNames;
typedef PSecPkgContext_NativeNamesA PSecPkgContext_NativeNames;
typedef SecPkgContext_KeyInfoA SecPkgContext_KeyInfo;
typedef PSecPkgContext_KeyInfoA PSecPkgContext_KeyInfo;
typedef SecPkgContext_AuthorityA SecPkgContext_Authority;
typedef PSecPkgContext_AuthorityA PSecPkgContext_Authority;
typedef SecPkgContext_ProtoInfoA SecPkgContext_ProtoInfo;
typedef PSecPkgContext_ProtoInfoA PSecPkgContext_ProtoInfo;
typedef SecPkgContext_PackageInfoA SecPkgContext_PackageInfo;
typedef PSecPkgContext_PackageInfoA PSecPkgContext_PackageInfo;
typedef SecPkgContext_NegotiationInfoA SecPkgContext_NegotiationInfo;
typedef PSecPkgContext_NegotiationInfoA PSecPkgContext_NegotiationInfo;
typedef SecPkgContext_CredentialNameA SecPkgContext_CredentialName;
typedef PSecPkgContext_CredentialNameA PSecPkgContext_CredentialName;
typedef SecPkgCredentials_NamesA SecPkgCredentials_Names;
typedef PSecPkgCredentials_NamesA PSecPkgCredentials_Names;
#endif

/* ------------------------------------------------------------------------------------------------------ */
/* Schannel (names from schannel.h)                                                                        */
/* ------------------------------------------------------------------------------------------------------ */

#define UNISP_RPC_ID                            14

#define SECPKG_ATTR_ISSUER_LIST                 0x50
#define SECPKG_ATTR_REMOTE_CRED                 0x51
#define SECPKG_ATTR_LOCAL_CRED                  0x52
#define SECPKG_ATTR_REMOTE_CERT_CONTEXT         0x53
#define SECPKG_ATTR_LOCAL_CERT_CONTEXT          0x54
#define SECPKG_ATTR_ROOT_STORE                  0x55
#define SECPKG_ATTR_SUPPORTED_ALGS              0x56
#define SECPKG_ATTR_CIPHER_STRENGTHS            0x57
#define SECPKG_ATTR_SUPPORTED_PROTOCOLS         0x58
#define SECPKG_ATTR_ISSUER_LIST_EX              0x59
#define SECPKG_ATTR_CONNECTION_INFO             0x5a
#define SECPKG_ATTR_EAP_KEY_BLOCK               0x5b
#define SECPKG_ATTR_MAPPED_CRED_ATTR            0x5c
#define SECPKG_ATTR_SESSION_INFO                0x5d
#define SECPKG_ATTR_APP_DATA                    0x5e
#define SECPKG_ATTR_REMOTE_CERTIFICATES         0x5f
#define SECPKG_ATTR_CLIENT_CERT_POLICY          0x60
#define SECPKG_ATTR_CC_POLICY_RESULT            0x61
#define SECPKG_ATTR_USE_NCRYPT                  0x62
#define SECPKG_ATTR_LOCAL_CERT_INFO             0x63
#define SECPKG_ATTR_CIPHER_INFO                 0x64
#define SECPKG_ATTR_EAP_PRF_INFO                0x65
#define SECPKG_ATTR_SUPPORTED_SIGNATURES        0x66
#define SECPKG_ATTR_REMOTE_CERT_CHAIN           0x67
#define SECPKG_ATTR_UI_INFO                     0x68
#define SECPKG_ATTR_EARLY_START                 0x69
#define SECPKG_ATTR_KEYING_MATERIAL_INFO        0x6a
#define SECPKG_ATTR_KEYING_MATERIAL             0x6b
#define SECPKG_ATTR_SRTP_PARAMETERS             0x6c
#define SECPKG_ATTR_TOKEN_BINDING               0x6d
#define SECPKG_ATTR_CONNECTION_INFO_EX          0x6e
#define SECPKG_ATTR_KEYING_MATERIAL_TOKEN_BINDING 0x6f
#define SECPKG_ATTR_KEYING_MATERIAL_INPROC      0x70
#define SECPKG_ATTR_CERT_CHECK_RESULT           0x71
#define SECPKG_ATTR_CERT_CHECK_RESULT_INPROC    0x72
#define SECPKG_ATTR_SESSION_TICKET_KEYS         0x73
#define SECPKG_ATTR_SERIALIZED_REMOTE_CERT_CONTEXT_INPROC 0x74
#define SECPKG_ATTR_SERIALIZED_REMOTE_CERT_CONTEXT 0x75
#define SECPKG_ATTR_CREDS_2                     0x80000086U

/* Protocol bits (grbitEnabledProtocols, grbitDisabledProtocols, SecPkgContext_ConnectionInfo.dwProtocol). */
#define SP_PROT_NONE                            0x00000000U
#define SP_PROT_ALL                             0xFFFFFFFFU

#define SP_PROT_PCT1_SERVER                     0x00000001U
#define SP_PROT_PCT1_CLIENT                     0x00000002U
#define SP_PROT_PCT1                            (SP_PROT_PCT1_SERVER | SP_PROT_PCT1_CLIENT)
#define SP_PROT_SSL2_SERVER                     0x00000004U
#define SP_PROT_SSL2_CLIENT                     0x00000008U
#define SP_PROT_SSL2                            (SP_PROT_SSL2_SERVER | SP_PROT_SSL2_CLIENT)
#define SP_PROT_SSL3_SERVER                     0x00000010U
#define SP_PROT_SSL3_CLIENT                     0x00000020U
#define SP_PROT_SSL3                            (SP_PROT_SSL3_SERVER | SP_PROT_SSL3_CLIENT)
#define SP_PROT_TLS1_SERVER                     0x00000040U
#define SP_PROT_TLS1_CLIENT                     0x00000080U
#define SP_PROT_TLS1                            (SP_PROT_TLS1_SERVER | SP_PROT_TLS1_CLIENT)
#define SP_PROT_TLS1_0_SERVER                   SP_PROT_TLS1_SERVER
#define SP_PROT_TLS1_0_CLIENT                   SP_PROT_TLS1_CLIENT
#define SP_PROT_TLS1_0                          (SP_PROT_TLS1_0_SERVER | SP_PROT_TLS1_0_CLIENT)
#define SP_PROT_TLS1_1_SERVER                   0x00000100U
#define SP_PROT_TLS1_1_CLIENT                   0x00000200U
#define SP_PROT_TLS1_1                          (SP_PROT_TLS1_1_SERVER | SP_PROT_TLS1_1_CLIENT)
#define SP_PROT_TLS1_2_SERVER                   0x00000400U
#define SP_PROT_TLS1_2_CLIENT                   0x00000800U
#define SP_PROT_TLS1_2                          (SP_PROT_TLS1_2_SERVER | SP_PROT_TLS1_2_CLIENT)
#define SP_PROT_TLS1_3_SERVER                   0x00001000U
#define SP_PROT_TLS1_3_CLIENT                   0x00002000U
#define SP_PROT_TLS1_3                          (SP_PROT_TLS1_3_SERVER | SP_PROT_TLS1_3_CLIENT)
#define SP_PROT_DTLS_SERVER                     0x00010000U
#define SP_PROT_DTLS_CLIENT                     0x00020000U
#define SP_PROT_DTLS                            (SP_PROT_DTLS_SERVER | SP_PROT_DTLS_CLIENT)
#define SP_PROT_DTLS1_0_SERVER                  SP_PROT_DTLS_SERVER
#define SP_PROT_DTLS1_0_CLIENT                  SP_PROT_DTLS_CLIENT
#define SP_PROT_DTLS1_0                         (SP_PROT_DTLS1_0_SERVER | SP_PROT_DTLS1_0_CLIENT)
#define SP_PROT_DTLS1_2_SERVER                  0x00040000U
#define SP_PROT_DTLS1_2_CLIENT                  0x00080000U
#define SP_PROT_DTLS1_2                         (SP_PROT_DTLS1_2_SERVER | SP_PROT_DTLS1_2_CLIENT)
#define SP_PROT_UNI_SERVER                      0x40000000U
#define SP_PROT_UNI_CLIENT                      0x80000000U
#define SP_PROT_UNI                             (SP_PROT_UNI_SERVER | SP_PROT_UNI_CLIENT)

#define SP_PROT_SSL3TLS1_CLIENTS                (SP_PROT_TLS1_CLIENT | SP_PROT_SSL3_CLIENT)
#define SP_PROT_SSL3TLS1_SERVERS                (SP_PROT_TLS1_SERVER | SP_PROT_SSL3_SERVER)
#define SP_PROT_SSL3TLS1                        (SP_PROT_SSL3 | SP_PROT_TLS1)

#define SP_PROT_CLIENTS                         (SP_PROT_PCT1_CLIENT | SP_PROT_SSL2_CLIENT | SP_PROT_SSL3_CLIENT | \
                                                 SP_PROT_UNI_CLIENT | SP_PROT_TLS1_CLIENT)
#define SP_PROT_SERVERS                         (SP_PROT_PCT1_SERVER | SP_PROT_SSL2_SERVER | SP_PROT_SSL3_SERVER | \
                                                 SP_PROT_UNI_SERVER | SP_PROT_TLS1_SERVER)

#define SP_PROT_TLS1_1PLUS_SERVER               (SP_PROT_TLS1_1_SERVER | SP_PROT_TLS1_2_SERVER | SP_PROT_TLS1_3_SERVER)
#define SP_PROT_TLS1_1PLUS_CLIENT               (SP_PROT_TLS1_1_CLIENT | SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT)
#define SP_PROT_TLS1_1PLUS                      (SP_PROT_TLS1_1PLUS_SERVER | SP_PROT_TLS1_1PLUS_CLIENT)

#define SP_PROT_TLS1_3PLUS_SERVER               SP_PROT_TLS1_3_SERVER
#define SP_PROT_TLS1_3PLUS_CLIENT               SP_PROT_TLS1_3_CLIENT
#define SP_PROT_TLS1_3PLUS                      (SP_PROT_TLS1_3PLUS_SERVER | SP_PROT_TLS1_3PLUS_CLIENT)

#define SP_PROT_TLS1_X_SERVER                   (SP_PROT_TLS1_0_SERVER | SP_PROT_TLS1_1_SERVER | \
                                                 SP_PROT_TLS1_2_SERVER | SP_PROT_TLS1_3_SERVER)
#define SP_PROT_TLS1_X_CLIENT                   (SP_PROT_TLS1_0_CLIENT | SP_PROT_TLS1_1_CLIENT | \
                                                 SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT)
#define SP_PROT_TLS1_X                          (SP_PROT_TLS1_X_SERVER | SP_PROT_TLS1_X_CLIENT)

#define SP_PROT_SSL3TLS1_X_CLIENTS              (SP_PROT_TLS1_X_CLIENT | SP_PROT_SSL3_CLIENT)
#define SP_PROT_SSL3TLS1_X_SERVERS              (SP_PROT_TLS1_X_SERVER | SP_PROT_SSL3_SERVER)
#define SP_PROT_SSL3TLS1_X                      (SP_PROT_SSL3 | SP_PROT_TLS1_X)

#define SP_PROT_DTLS1_X_SERVER                  (SP_PROT_DTLS1_0_SERVER | SP_PROT_DTLS1_2_SERVER)
#define SP_PROT_DTLS1_X_CLIENT                  (SP_PROT_DTLS1_0_CLIENT | SP_PROT_DTLS1_2_CLIENT)
#define SP_PROT_DTLS1_X                         (SP_PROT_DTLS1_X_SERVER | SP_PROT_DTLS1_X_CLIENT)

#define SP_PROT_X_CLIENTS                       (SP_PROT_CLIENTS | SP_PROT_TLS1_X_CLIENT | SP_PROT_DTLS1_X_CLIENT)
#define SP_PROT_X_SERVERS                       (SP_PROT_SERVERS | SP_PROT_TLS1_X_SERVER | SP_PROT_DTLS1_X_SERVER)

/* Credential structure versions and formats (SCHANNEL_CRED / SCH_CREDENTIALS). */
#define SCH_CRED_V1                             0x00000001U
#define SCH_CRED_V2                             0x00000002U
#define SCH_CRED_VERSION                        0x00000002U
#define SCH_CRED_V3                             0x00000003U
#define SCHANNEL_CRED_VERSION                   0x00000004U
#define SCH_CREDENTIALS_VERSION                 0x00000005U

#define SCH_CRED_FORMAT_CERT_CONTEXT            0x00000000U
#define SCH_CRED_FORMAT_CERT_HASH               0x00000001U
#define SCH_CRED_FORMAT_CERT_HASH_STORE         0x00000002U

#define SCH_CRED_MAX_STORE_NAME_SIZE            128
#define SCH_CRED_MAX_SUPPORTED_ALGS             256
#define SCH_CRED_MAX_SUPPORTED_CERTS            100

/* SCHANNEL_CRED.dwFlags / SCH_CREDENTIALS.dwFlags */
#define SCH_CRED_NO_SYSTEM_MAPPER                       0x00000002U
#define SCH_CRED_NO_SERVERNAME_CHECK                    0x00000004U
#define SCH_CRED_MANUAL_CRED_VALIDATION                 0x00000008U
#define SCH_CRED_NO_DEFAULT_CREDS                       0x00000010U
#define SCH_CRED_AUTO_CRED_VALIDATION                   0x00000020U
#define SCH_CRED_USE_DEFAULT_CREDS                      0x00000040U
#define SCH_CRED_DISABLE_RECONNECTS                     0x00000080U
#define SCH_CRED_REVOCATION_CHECK_END_CERT              0x00000100U
#define SCH_CRED_REVOCATION_CHECK_CHAIN                 0x00000200U
#define SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT    0x00000400U
#define SCH_CRED_IGNORE_NO_REVOCATION_CHECK             0x00000800U
#define SCH_CRED_IGNORE_REVOCATION_OFFLINE              0x00001000U
#define SCH_CRED_RESTRICTED_ROOTS                       0x00002000U
#define SCH_CRED_REVOCATION_CHECK_CACHE_ONLY            0x00004000U
#define SCH_CRED_CACHE_ONLY_URL_RETRIEVAL               0x00008000U
#define SCH_CRED_MEMORY_STORE_CERT                      0x00010000U
#define SCH_CRED_CACHE_ONLY_URL_RETRIEVAL_ON_CREATE     0x00020000U
#define SCH_SEND_ROOT_CERT                              0x00040000U
#define SCH_CRED_SNI_CREDENTIAL                         0x00080000U
#define SCH_CRED_SNI_ENABLE_OCSP                        0x00100000U
#define SCH_SEND_AUX_RECORD                             0x00200000U
#define SCH_USE_STRONG_CRYPTO                           0x00400000U
#define SCH_USE_PRESHAREDKEY_ONLY                       0x00800000U
#define SCH_USE_DTLS_ONLY                               0x01000000U
#define SCH_ALLOW_NULL_ENCRYPTION                       0x02000000U
#define SCH_CRED_DEFERRED_CRED_VALIDATION               0x04000000U

/* ApplyControlToken tokens: the first DWORD of the SECBUFFER_TOKEN data. */
#define SCHANNEL_RENEGOTIATE                    0
#define SCHANNEL_SHUTDOWN                       1
#define SCHANNEL_ALERT                          2
#define SCHANNEL_SESSION                        3

#define TLS1_ALERT_WARNING                      1
#define TLS1_ALERT_FATAL                        2

#define SSL_SESSION_ENABLE_RECONNECTS           1
#define SSL_SESSION_DISABLE_RECONNECTS          2
#define SSL_SESSION_RECONNECT                   1       /* SecPkgContext_SessionInfo.dwFlags: resumed */

typedef struct _SCHANNEL_ALERT_TOKEN {
        DWORD dwTokenType;              /* SCHANNEL_ALERT */
        DWORD dwAlertType;              /* TLS1_ALERT_WARNING or TLS1_ALERT_FATAL */
        DWORD dwAlertNumber;            /* TLS alert description */
} SCHANNEL_ALERT_TOKEN;

typedef struct _SCHANNEL_SESSION_TOKEN {
        DWORD dwTokenType;              /* SCHANNEL_SESSION */
        DWORD dwFlags;                  /* SSL_SESSION_ENABLE_RECONNECTS or SSL_SESSION_DISABLE_RECONNECTS */
} SCHANNEL_SESSION_TOKEN;

/* SECPKG_ATTR_CONNECTION_INFO */
typedef struct _SecPkgContext_ConnectionInfo {
        DWORD dwProtocol;               /* SP_PROT_* */
        ALG_ID aiCipher;
        DWORD dwCipherStrength;
        ALG_ID aiHash;
        DWORD dwHashStrength;
        ALG_ID aiExch;
        DWORD dwExchStrength;
} SecPkgContext_ConnectionInfo, *PSecPkgContext_ConnectionInfo;

/* SECPKG_ATTR_SESSION_INFO */
typedef struct _SecPkgContext_SessionInfo {
        DWORD dwFlags;                  /* SSL_SESSION_RECONNECT */
        DWORD cbSessionId;
        UCHAR rgbSessionId[32];
} SecPkgContext_SessionInfo, *PSecPkgContext_SessionInfo;

/* Schannel credential attributes SECPKG_ATTR_SUPPORTED_ALGS, _CIPHER_STRENGTHS, _SUPPORTED_PROTOCOLS. */
typedef struct _SecPkgCred_SupportedAlgs {
        DWORD cSupportedAlgs;
        ALG_ID *palgSupportedAlgs;
} SecPkgCred_SupportedAlgs, *PSecPkgCred_SupportedAlgs;

typedef struct _SecPkgCred_CipherStrengths {
        DWORD dwMinimumCipherStrength;
        DWORD dwMaximumCipherStrength;
} SecPkgCred_CipherStrengths, *PSecPkgCred_CipherStrengths;

typedef struct _SecPkgCred_SupportedProtocols {
        DWORD grbitProtocol;            /* SP_PROT_* */
} SecPkgCred_SupportedProtocols, *PSecPkgCred_SupportedProtocols;

/* ------------------------------------------------------------------------------------------------------ */
/* Synchronous functions                                                                                  */
/* ------------------------------------------------------------------------------------------------------ */

/* Called when a package asks the application for a key; only meaningful for RPC-style transports.
 * Pass NULL otherwise. */
typedef void (SEC_ENTRY *SEC_GET_KEY_FN)(void *Arg, void *Principal, ULONG KeyVer, void **Key,
                                         SECURITY_STATUS *Status);

/* Lists the security packages the daemon offers. *pcPackages receives the count and *ppPackageInfo an
 * array of them that the caller releases with one FreeContextBuffer(). Returns SEC_E_OK or
 * SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS SEC_ENTRY EnumerateSecurityPackagesW(ULONG *pcPackages, PSecPkgInfoW *ppPackageInfo);
SECURITY_STATUS SEC_ENTRY EnumerateSecurityPackagesA(ULONG *pcPackages, PSecPkgInfoA *ppPackageInfo);

/* Describes one package, looked up by name, case-insensitively ("Schannel", UNISP_NAME and
 * DEFAULT_TLS_SSP_NAME each answer under their own name). The result is released with
 * FreeContextBuffer(). Returns SEC_E_OK, SEC_E_SECPKG_NOT_FOUND (also for a NULL name) or
 * SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS SEC_ENTRY QuerySecurityPackageInfoW(const SEC_WCHAR *pszPackageName, PSecPkgInfoW *ppPackageInfo);
SECURITY_STATUS SEC_ENTRY QuerySecurityPackageInfoA(const SEC_CHAR *pszPackageName, PSecPkgInfoA *ppPackageInfo);

/* Creates a credential for pszPackage, used for SECPKG_CRED_INBOUND (accept), SECPKG_CRED_OUTBOUND
 * (initiate) or both. pAuthData NULL means the caller's own default credentials; otherwise a
 * SEC_WINNT_AUTH_IDENTITY[_EX|_EX2] (Kerberos, Negotiate, NTLM, Digest; also one made by
 * SspiEncodeStringsAsAuthIdentity, sealed or not), a CREDSSP_CRED[_EX] (Negotiate: its pSpnegoCred;
 * Schannel: its pSchannelCred) or a Schannel credential structure. Each is read by the size its type
 * documents and no further; a structure that is not one of these is SEC_E_UNKNOWN_CREDENTIALS.
 * pvLogonId (a LUID) acts for another logon session and needs privilege. On success *phCredential is
 * valid until FreeCredentialsHandle(). Returns SEC_E_OK, SEC_E_SECPKG_NOT_FOUND, SEC_E_NO_CREDENTIALS,
 * SEC_E_UNKNOWN_CREDENTIALS, SEC_E_NOT_OWNER, SEC_E_INSUFFICIENT_MEMORY or SEC_E_INTERNAL_ERROR. */
SECURITY_STATUS SEC_ENTRY AcquireCredentialsHandleW(
                const SEC_WCHAR *pszPrincipal,
                const SEC_WCHAR *pszPackage,
                ULONG fCredentialUse,
                void *pvLogonId,
                void *pAuthData,
                SEC_GET_KEY_FN pGetKeyFn,
                void *pvGetKeyArgument,
                PCredHandle phCredential,
                PTimeStamp ptsExpiry);
SECURITY_STATUS SEC_ENTRY AcquireCredentialsHandleA(
                const SEC_CHAR *pszPrincipal,
                const SEC_CHAR *pszPackage,
                ULONG fCredentialUse,
                void *pvLogonId,
                void *pAuthData,
                SEC_GET_KEY_FN pGetKeyFn,
                void *pvGetKeyArgument,
                PCredHandle phCredential,
                PTimeStamp ptsExpiry);

/* Adds credentials (same arguments as AcquireCredentialsHandle) to an existing credential handle.
 * Kerberos and Negotiate: an outbound identity, which logs on at the KDC and then becomes the
 * handle's identity for the contexts made afterwards (README, deliberate differences). Schannel: a
 * server credential (SECPKG_CRED_INBOUND, an SCHANNEL_CRED with one certificate) adds a certificate
 * of another key type, SEC_E_UNKNOWN_CREDENTIALS for a type it has. Returns SEC_E_OK,
 * SEC_E_INVALID_HANDLE, SEC_E_UNSUPPORTED_FUNCTION (NTLM, Digest, a Schannel client credential, or
 * the other use), SEC_E_SECPKG_NOT_FOUND (not the handle's package), or what
 * AcquireCredentialsHandle returns for those arguments (SEC_E_LOGON_DENIED for a wrong password). */
SECURITY_STATUS SEC_ENTRY AddCredentialsW(
                PCredHandle hCredentials,
                const SEC_WCHAR *pszPrincipal,
                const SEC_WCHAR *pszPackage,
                ULONG fCredentialUse,
                void *pAuthData,
                SEC_GET_KEY_FN pGetKeyFn,
                void *pvGetKeyArgument,
                PTimeStamp ptsExpiry);
SECURITY_STATUS SEC_ENTRY AddCredentialsA(
                PCredHandle hCredentials,
                const SEC_CHAR *pszPrincipal,
                const SEC_CHAR *pszPackage,
                ULONG fCredentialUse,
                void *pAuthData,
                SEC_GET_KEY_FN pGetKeyFn,
                void *pvGetKeyArgument,
                PTimeStamp ptsExpiry);

/* Releases a credential handle; contexts built on it stay usable. Returns SEC_E_OK or
 * SEC_E_INVALID_HANDLE. */
SECURITY_STATUS SEC_ENTRY FreeCredentialsHandle(PCredHandle phCredential);

/* Old spelling, kept by the Windows SDK (and the name of the A function-table slot). */
#define FreeCredentialHandle FreeCredentialsHandle

/* One client step of building a security context. First call: phContext NULL, pInput NULL (or the
 * package's input buffers); later calls: the handle from phNewContext plus the peer's token. Output
 * tokens go to pOutput (package-allocated with ISC_REQ_ALLOCATE_MEMORY; free with FreeContextBuffer()),
 * granted ISC_RET_* flags to *pfContextAttr. Returns SEC_E_OK (done; still send any output token),
 * SEC_I_CONTINUE_NEEDED (send the token, call again with the reply), SEC_I_COMPLETE_NEEDED /
 * SEC_I_COMPLETE_AND_CONTINUE (call CompleteAuthToken()), SEC_I_INCOMPLETE_CREDENTIALS (Schannel wants a
 * client certificate), SEC_E_INCOMPLETE_MESSAGE (more input needed; see SECBUFFER_MISSING), or an error
 * such as SEC_E_INVALID_HANDLE, SEC_E_INVALID_TOKEN, SEC_E_LOGON_DENIED, SEC_E_TARGET_UNKNOWN,
 * SEC_E_WRONG_PRINCIPAL, SEC_E_NO_CREDENTIALS, SEC_E_NO_AUTHENTICATING_AUTHORITY,
 * SEC_E_UNSUPPORTED_FUNCTION or SEC_E_INSUFFICIENT_MEMORY. Once a context exists it must be deleted with
 * DeleteSecurityContext(), even after a failed later step. */
SECURITY_STATUS SEC_ENTRY InitializeSecurityContextW(
                PCredHandle phCredential,
                PCtxtHandle phContext,
                const SEC_WCHAR *pszTargetName,
                ULONG fContextReq,
                ULONG Reserved1,
                ULONG TargetDataRep,
                PSecBufferDesc pInput,
                ULONG Reserved2,
                PCtxtHandle phNewContext,
                PSecBufferDesc pOutput,
                ULONG *pfContextAttr,
                PTimeStamp ptsExpiry);
SECURITY_STATUS SEC_ENTRY InitializeSecurityContextA(
                PCredHandle phCredential,
                PCtxtHandle phContext,
                const SEC_CHAR *pszTargetName,
                ULONG fContextReq,
                ULONG Reserved1,
                ULONG TargetDataRep,
                PSecBufferDesc pInput,
                ULONG Reserved2,
                PCtxtHandle phNewContext,
                PSecBufferDesc pOutput,
                ULONG *pfContextAttr,
                PTimeStamp ptsExpiry);

/* One server step of building a security context from the client's token in pInput; the counterpart of
 * InitializeSecurityContext(). Output may be produced even with SEC_E_OK and must then be sent. Returns
 * SEC_E_OK, SEC_I_CONTINUE_NEEDED, SEC_I_COMPLETE_NEEDED, SEC_I_COMPLETE_AND_CONTINUE,
 * SEC_E_INCOMPLETE_MESSAGE, or an error such as SEC_E_INVALID_HANDLE, SEC_E_INVALID_TOKEN,
 * SEC_E_LOGON_DENIED, SEC_E_NO_CREDENTIALS, SEC_E_BAD_BINDINGS or SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS SEC_ENTRY AcceptSecurityContext(
                PCredHandle phCredential,
                PCtxtHandle phContext,
                PSecBufferDesc pInput,
                ULONG fContextReq,
                ULONG TargetDataRep,
                PCtxtHandle phNewContext,
                PSecBufferDesc pOutput,
                ULONG *pfContextAttr,
                PTimeStamp ptsExpiry);

/* Finishes a token after SEC_I_COMPLETE_NEEDED or SEC_I_COMPLETE_AND_CONTINUE (Digest). Returns
 * SEC_E_OK, SEC_E_INVALID_HANDLE, SEC_E_INVALID_TOKEN, SEC_E_OUT_OF_SEQUENCE, SEC_E_MESSAGE_ALTERED or
 * SEC_E_INTERNAL_ERROR. */
SECURITY_STATUS SEC_ENTRY CompleteAuthToken(PCtxtHandle phContext, PSecBufferDesc pToken);

/* Feeds a control token to a context (Schannel: SCHANNEL_SHUTDOWN, SCHANNEL_ALERT_TOKEN,
 * SCHANNEL_SESSION_TOKEN); the next InitializeSecurityContext()/AcceptSecurityContext() emits the
 * resulting message. Returns SEC_E_OK, SEC_E_INVALID_HANDLE, SEC_E_INVALID_TOKEN or
 * SEC_E_UNSUPPORTED_FUNCTION. */
SECURITY_STATUS SEC_ENTRY ApplyControlToken(PCtxtHandle phContext, PSecBufferDesc pInput);

/* Deletes a context, complete or not, and wipes its state in the daemon. The handle is invalid
 * afterwards. Returns SEC_E_OK or SEC_E_INVALID_HANDLE. */
SECURITY_STATUS SEC_ENTRY DeleteSecurityContext(PCtxtHandle phContext);

/* Reads a context attribute (SECPKG_ATTR_*) into the structure pBuffer points to. Pointers inside that
 * structure are package-allocated and released with FreeContextBuffer(). Returns SEC_E_OK,
 * SEC_E_INVALID_HANDLE, SEC_E_UNSUPPORTED_FUNCTION (attribute not available) or
 * SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS SEC_ENTRY QueryContextAttributesW(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer);
SECURITY_STATUS SEC_ENTRY QueryContextAttributesA(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer);

/* As QueryContextAttributes(), with the size of the caller's structure in cbBuffer: nothing is
 * written unless the structure fits (SEC_E_BUFFER_TOO_SMALL); otherwise the same answers. */
SECURITY_STATUS SEC_ENTRY QueryContextAttributesExW(
                PCtxtHandle phContext,
                ULONG ulAttribute,
                void *pBuffer,
                ULONG cbBuffer);
SECURITY_STATUS SEC_ENTRY QueryContextAttributesExA(
                PCtxtHandle phContext,
                ULONG ulAttribute,
                void *pBuffer,
                ULONG cbBuffer);

/* Sets a context attribute from the structure of cbBuffer bytes at pBuffer. Schannel, as Microsoft's
 * page lists: SECPKG_ATTR_APP_DATA, SECPKG_ATTR_EAP_PRF_INFO, SECPKG_ATTR_EARLY_START (a client),
 * SECPKG_ATTR_DTLS_MTU (DTLS contexts), SECPKG_ATTR_KEYING_MATERIAL_INFO. Returns SEC_E_OK,
 * SEC_E_INVALID_HANDLE, SEC_E_INVALID_PARAMETER (a malformed structure) or
 * SEC_E_UNSUPPORTED_FUNCTION (an attribute the context's package does not let be set). */
SECURITY_STATUS SEC_ENTRY SetContextAttributesW(
                PCtxtHandle phContext,
                ULONG ulAttribute,
                void *pBuffer,
                ULONG cbBuffer);
SECURITY_STATUS SEC_ENTRY SetContextAttributesA(
                PCtxtHandle phContext,
                ULONG ulAttribute,
                void *pBuffer,
                ULONG cbBuffer);

/* Reads a credential attribute (SECPKG_CRED_ATTR_*, or a Schannel SECPKG_ATTR_*) into pBuffer; pointers
 * inside are released with FreeContextBuffer(). Returns SEC_E_OK, SEC_E_INVALID_HANDLE or
 * SEC_E_UNSUPPORTED_FUNCTION. */
SECURITY_STATUS SEC_ENTRY QueryCredentialsAttributesW(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer);
SECURITY_STATUS SEC_ENTRY QueryCredentialsAttributesA(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer);

/* As QueryCredentialsAttributes(), with the size of the caller's buffer in cbBuffer: nothing is
 * written unless the structure fits. Returns what QueryCredentialsAttributes() returns, and
 * SEC_E_INVALID_PARAMETER for a NULL pBuffer, SEC_E_BUFFER_TOO_SMALL for a short cbBuffer. */
SECURITY_STATUS SEC_ENTRY QueryCredentialsAttributesExW(
                PCredHandle phCredential,
                ULONG ulAttribute,
                void *pBuffer,
                ULONG cbBuffer);
SECURITY_STATUS SEC_ENTRY QueryCredentialsAttributesExA(
                PCredHandle phCredential,
                ULONG ulAttribute,
                void *pBuffer,
                ULONG cbBuffer);

/* Sets a credential attribute from cbBuffer bytes at pBuffer. Kerberos and Negotiate credentials take
 * SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS (SecPkgCredentials_KdcProxySettingsW, in the A call too): their
 * KDC traffic then goes over HTTPS to that MS-KKDCP proxy, whose certificate must chain to the
 * daemon's [kerberos] kdc-proxy-ca-file (default: the system's roots). Schannel credentials take
 * SECPKG_ATTR_SUPPORTED_PROTOCOLS, SECPKG_ATTR_CIPHER_STRENGTHS and SECPKG_ATTR_SUPPORTED_ALGS (at most
 * 256 ALG_IDs), for the contexts made afterwards. SEC_E_INVALID_HANDLE for a bad handle;
 * SEC_E_INVALID_PARAMETER for a NULL buffer, a structure that does not fit cbBuffer, another version,
 * unknown flags, an unparsable server or too many ALG_IDs; SEC_E_ALGORITHM_MISMATCH when a Schannel
 * setting leaves nothing to negotiate (nothing changes); SEC_E_UNSUPPORTED_FUNCTION for other
 * attributes and packages (SECPKG_CRED_ATTR_NAMES included). */
SECURITY_STATUS SEC_ENTRY SetCredentialsAttributesW(
                PCredHandle phCredential,
                ULONG ulAttribute,
                void *pBuffer,
                ULONG cbBuffer);
SECURITY_STATUS SEC_ENTRY SetCredentialsAttributesA(
                PCredHandle phCredential,
                ULONG ulAttribute,
                void *pBuffer,
                ULONG cbBuffer);

/* Signs the SECBUFFER_DATA buffers of pMessage into its SECBUFFER_TOKEN buffer (cbMaxSignature bytes of
 * SecPkgContext_Sizes). MessageSeqNo is 0 unless the transport sequences messages. Returns SEC_E_OK,
 * SEC_E_INVALID_HANDLE, SEC_E_INVALID_TOKEN, SEC_E_QOP_NOT_SUPPORTED, SEC_E_BUFFER_TOO_SMALL or
 * SEC_E_CONTEXT_EXPIRED. */
SECURITY_STATUS SEC_ENTRY MakeSignature(PCtxtHandle phContext, ULONG fQOP, PSecBufferDesc pMessage, ULONG MessageSeqNo);

/* Checks the signature MakeSignature() produced; *pfQOP receives the protection used. Returns SEC_E_OK,
 * SEC_E_MESSAGE_ALTERED, SEC_E_OUT_OF_SEQUENCE, SEC_E_INVALID_HANDLE or SEC_E_INVALID_TOKEN. */
SECURITY_STATUS SEC_ENTRY VerifySignature(PCtxtHandle phContext, PSecBufferDesc pMessage, ULONG MessageSeqNo, ULONG *pfQOP);

/* Encrypts the SECBUFFER_DATA buffers of pMessage in place and fills the header/trailer/padding
 * buffers; SECBUFFER_READONLY buffers are left alone. fQOP is 0, SECQOP_WRAP_NO_ENCRYPT (integrity only)
 * or SECQOP_WRAP_OOB_DATA (Schannel alert). Returns SEC_E_OK, SEC_E_BUFFER_TOO_SMALL,
 * SEC_E_CONTEXT_EXPIRED, SEC_E_CRYPTO_SYSTEM_INVALID, SEC_E_INSUFFICIENT_MEMORY, SEC_E_INVALID_HANDLE,
 * SEC_E_INVALID_TOKEN (no SECBUFFER_DATA) or SEC_E_QOP_NOT_SUPPORTED. */
SECURITY_STATUS SEC_ENTRY EncryptMessage(PCtxtHandle phContext, ULONG fQOP, PSecBufferDesc pMessage, ULONG MessageSeqNo);

/* Decrypts and verifies pMessage in place; *pfQOP (may be NULL) receives the protection used. Returns
 * SEC_E_OK, SEC_E_INCOMPLETE_MESSAGE (with SECBUFFER_MISSING), SEC_E_MESSAGE_ALTERED,
 * SEC_E_OUT_OF_SEQUENCE, SEC_E_INVALID_HANDLE, SEC_E_INVALID_TOKEN, and for Schannel
 * SEC_I_CONTEXT_EXPIRED (peer closed) or SEC_I_RENEGOTIATE (re-enter the handshake loop). */
SECURITY_STATUS SEC_ENTRY DecryptMessage(PCtxtHandle phContext, PSecBufferDesc pMessage, ULONG MessageSeqNo, ULONG *pfQOP);

/* Releases any buffer the library allocated for the caller (package info, ISC/ASC output with
 * *_REQ_ALLOCATE_MEMORY, attribute payloads, exported contexts). NULL is accepted. Returns SEC_E_OK. */
SECURITY_STATUS SEC_ENTRY FreeContextBuffer(void *pvContextBuffer);

/* Packs a complete context so that another process on this machine can import it with
 * ImportSecurityContext(); the packed data is opaque. fFlags: SECPKG_CONTEXT_EXPORT_RESET_NEW,
 * SECPKG_CONTEXT_EXPORT_DELETE_OLD. *pPackedContext is released with FreeContextBuffer(). Linux has no
 * access-token handles, so *pToken (pToken may be NULL) is set to NULL. Returns SEC_E_OK,
 * SEC_E_INVALID_HANDLE, SEC_E_NOT_SUPPORTED or SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS SEC_ENTRY ExportSecurityContext(
                PCtxtHandle phContext,
                ULONG fFlags,
                PSecBuffer pPackedContext,
                void **pToken);

/* Rebuilds a context from ExportSecurityContext() output into *phContext. Returns SEC_E_OK,
 * SEC_E_SECPKG_NOT_FOUND, SEC_E_INVALID_TOKEN, SEC_E_UNKNOWN_CREDENTIALS or SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS SEC_ENTRY ImportSecurityContextW(
                const SEC_WCHAR *pszPackage,
                PSecBuffer pPackedContext,
                void *Token,
                PCtxtHandle phContext);
SECURITY_STATUS SEC_ENTRY ImportSecurityContextA(
                const SEC_CHAR *pszPackage,
                PSecBuffer pPackedContext,
                void *Token,
                PCtxtHandle phContext);

/* Impersonation, the Linux way. The client of a complete context accepted by AcceptSecurityContext maps
 * to a local account (Kerberos: the realm's auth_to_local rules; NTLM/Digest DOMAIN\user: NSS, winbind's
 * "DOMAIN\user" first, then "user" when DOMAIN is this host's own). ImpersonateSecurityContext switches the
 * CALLING THREAD's filesystem identity to that account (fsuid, fsgid and supplementary groups; other
 * threads are unaffected), so files the thread opens are checked as the client and files it creates belong
 * to the client. The process needs CAP_SETUID and CAP_SETGID, unless the client is the caller itself (same
 * uid, gid and groups: Windows allows that without SeImpersonatePrivilege). Returns SEC_E_OK, SEC_E_INVALID_HANDLE (bad
 * handle, or a context still in its handshake), SEC_E_NO_IMPERSONATION (no privilege to switch, a client
 * context, or a client with no local account) or SEC_E_UNSUPPORTED_FUNCTION (Schannel). Impersonating
 * again replaces the identity; RevertSecurityContext goes back to the thread's own. A thread created while
 * impersonating starts with the client's identity (Linux copies a thread's credentials to the threads it
 * creates; Windows starts them with the process token). */
SECURITY_STATUS SEC_ENTRY ImpersonateSecurityContext(PCtxtHandle phContext);
/* Restores the calling thread's own identity (a no-op when it is not impersonating), even when the
 * context has been deleted meanwhile; then returns SEC_E_OK or SEC_E_INVALID_HANDLE for the handle. */
SECURITY_STATUS SEC_ENTRY RevertSecurityContext(PCtxtHandle phContext);

/* A new token handle for the client's local account and SIDs (see ImpersonateSecurityContext and
 * SspiGetTokenInformation), released with SspiCloseTokenHandle (Windows: CloseHandle). A domain client
 * with no local account still has a token (its SIDs), which cannot be impersonated. Returns SEC_E_OK,
 * SEC_E_INVALID_HANDLE, SEC_E_NO_IMPERSONATION (a client context, or a client with neither a local
 * account nor domain SIDs), SEC_E_UNSUPPORTED_FUNCTION
 * (Schannel) or SEC_E_INVALID_PARAMETER (Token NULL); *Token is written on success only.
 * QueryContextAttributes(SECPKG_ATTR_ACCESS_TOKEN) returns the context's own token instead, the same handle
 * each time, which the caller must not close (as on Windows): DeleteSecurityContext releases it. */
SECURITY_STATUS SEC_ENTRY QuerySecurityContextToken(PCtxtHandle phContext, void **Token);

/* Linux extension: what a token handle describes. The pointers stay valid until the token is closed (or,
 * for SECPKG_ATTR_ACCESS_TOKEN's, its context deleted). Groups holds the supplementary groups as
 * getgrouplist() gives them (the primary group included). */
typedef struct _SSPI_TOKEN_INFORMATION {
        const char *UserName;
        uint32_t Uid;
        uint32_t Gid;
        ULONG GroupCount;
        const uint32_t *Groups;
} SSPI_TOKEN_INFORMATION, *PSSPI_TOKEN_INFORMATION;
/* Returns SEC_E_OK, SEC_E_INVALID_HANDLE (not a live token of this library), SEC_E_NO_IMPERSONATION (a
 * domain client's token with no local account: it has SIDs only) or SEC_E_INVALID_PARAMETER. */
SECURITY_STATUS SspiQueryTokenInformation(HANDLE hToken, SSPI_TOKEN_INFORMATION *pInfo);
/* Security identifiers as Windows lays them out (MS-DTYP 2.4.2; winnt.h, x64): what
 * SspiGetTokenInformation writes. */
#ifndef SSPI_NO_WIN_TYPES
typedef void *PSID;
typedef struct _SID_IDENTIFIER_AUTHORITY {
        BYTE Value[6];
} SID_IDENTIFIER_AUTHORITY, *PSID_IDENTIFIER_AUTHORITY;
typedef struct _SID {
        BYTE Revision;                  /* SID_REVISION */
        BYTE SubAuthorityCount;         /* at most SID_MAX_SUB_AUTHORITIES */
        SID_IDENTIFIER_AUTHORITY IdentifierAuthority;
        DWORD SubAuthority[1];          /* SubAuthorityCount of them */
} SID, *PISID;
typedef struct _SID_AND_ATTRIBUTES {
        PSID Sid;
        DWORD Attributes;               /* SE_GROUP_* */
} SID_AND_ATTRIBUTES, *PSID_AND_ATTRIBUTES;
typedef struct _TOKEN_USER {
        SID_AND_ATTRIBUTES User;
} TOKEN_USER, *PTOKEN_USER;
typedef struct _TOKEN_GROUPS {
        DWORD GroupCount;
        SID_AND_ATTRIBUTES Groups[1];   /* GroupCount of them */
} TOKEN_GROUPS, *PTOKEN_GROUPS;
typedef struct _TOKEN_PRIMARY_GROUP {
        PSID PrimaryGroup;
} TOKEN_PRIMARY_GROUP, *PTOKEN_PRIMARY_GROUP;
/* TOKEN_INFORMATION_CLASS values SspiGetTokenInformation answers. */
#define TokenUser                       1
#define TokenGroups                     2
#define TokenPrimaryGroup               5
#define SID_REVISION                    1
#define SID_MAX_SUB_AUTHORITIES         15
#define SECURITY_MAX_SID_SIZE           68
#define SE_GROUP_MANDATORY              0x00000001U
#define SE_GROUP_ENABLED_BY_DEFAULT     0x00000002U
#define SE_GROUP_ENABLED                0x00000004U
#define SE_GROUP_OWNER                  0x00000008U
#define SE_GROUP_USE_FOR_DENY_ONLY      0x00000010U
#define SE_GROUP_INTEGRITY              0x00000020U
#define SE_GROUP_INTEGRITY_ENABLED      0x00000040U
#define SE_GROUP_RESOURCE               0x20000000U
#define SE_GROUP_LOGON_ID               0xC0000000U
#endif /* SSPI_NO_WIN_TYPES */
/* SecPkgContext_DceInfo.AuthzSvc (rpcdce.h). */
#ifndef RPC_C_AUTHZ_NONE
#  define RPC_C_AUTHZ_NONE              0
#  define RPC_C_AUTHZ_NAME              1
#endif

/* Linux extension: Windows' GetTokenInformation for a token handle of this library, for the classes
 * TokenUser (TOKEN_USER), TokenGroups (TOKEN_GROUPS) and TokenPrimaryGroup (TOKEN_PRIMARY_GROUP); the
 * structure comes first in TokenInformation and the SIDs it points to follow it in the same buffer.
 * A client logged on to a domain (a Kerberos ticket's PAC, an NTLM logon the domain controller checked)
 * has its domain SIDs: its user SID, its primary group, its groups with the attributes the DC gave them
 * (SE_GROUP_RESOURCE for resource groups); a client known only by a local account has Samba's Unix SIDs
 * (S-1-22-1-uid, S-1-22-2-gid). Then Everyone, NETWORK, Authenticated Users, This Organization, and for
 * NTLM the NTLM Authentication SID, as on a Windows server's network logon.
 * Returns SEC_E_OK; SEC_E_BUFFER_TOO_SMALL with *ReturnLength the size needed (Windows: FALSE and
 * ERROR_INSUFFICIENT_BUFFER); SEC_E_INVALID_HANDLE; SEC_E_INVALID_PARAMETER (ReturnLength NULL, or
 * TokenInformation NULL with a length); SEC_E_UNSUPPORTED_FUNCTION for another class. */
SECURITY_STATUS SspiGetTokenInformation(HANDLE TokenHandle, ULONG TokenInformationClass, void *TokenInformation,
                ULONG TokenInformationLength, ULONG *ReturnLength);
/* Linux extension: Windows' ConvertSidToStringSidA: "S-1-5-21-..." in *StringSid, freed with
 * FreeContextBuffer (Windows: LocalFree). Returns SEC_E_OK, SEC_E_INVALID_PARAMETER (a NULL or malformed
 * SID) or SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS SspiConvertSidToStringSidA(const void *Sid, char **StringSid);

/* Linux extension: Windows' CloseHandle for a token of QuerySecurityContextToken. Returns 1 (TRUE), or 0
 * (FALSE) with errno EBADF for anything else, including a SECPKG_ATTR_ACCESS_TOKEN handle (its context owns
 * it). libsspi does not export CloseHandle itself: winpr and Wine's libraries do, and one process may load
 * both. Ported code that calls CloseHandle on its token and links neither may define
 * SSPI_DEFINE_CLOSEHANDLE before including this header. */
int SspiCloseTokenHandle(HANDLE hToken);
#if defined(SSPI_DEFINE_CLOSEHANDLE) && !defined(CloseHandle)
#  define CloseHandle(h) SspiCloseTokenHandle(h)
#endif

/* Changes an account's password through a package. Kerberos and Negotiate (which routes to Kerberos):
 * RFC 3244 against the realm's kpasswd server, authenticated with the old password. SEC_E_OK when
 * changed; SEC_E_LOGON_DENIED for a wrong old password, an unknown account, a password the policy
 * refuses, or a caller over its budget of failed attempts (10, one more every 30 s);
 * SEC_E_NO_AUTHENTICATING_AUTHORITY when no KDC or kpasswd server answers; SEC_E_SECPKG_NOT_FOUND for
 * a NULL or unknown package; SEC_E_UNSUPPORTED_FUNCTION for other packages (NTLM included: sspid has
 * no NTLM password service). pOutput may be NULL; a SECBUFFER_CHANGE_PASS_RESPONSE buffer in it gets a
 * DOMAIN_PASSWORD_INFORMATION (freed with FreeContextBuffer) when the server sent its policy, else
 * cbBuffer 0 and pvBuffer NULL. There is no asynchronous form (Windows has none). */
SECURITY_STATUS SEC_ENTRY ChangeAccountPasswordW(
                const SEC_WCHAR *pszPackageName,
                const SEC_WCHAR *pszDomainName,
                const SEC_WCHAR *pszAccountName,
                const SEC_WCHAR *pszOldPassword,
                const SEC_WCHAR *pszNewPassword,
                BOOLEAN bImpersonating,
                ULONG dwReserved,
                PSecBufferDesc pOutput);
SECURITY_STATUS SEC_ENTRY ChangeAccountPasswordA(
                const SEC_CHAR *pszPackageName,
                const SEC_CHAR *pszDomainName,
                const SEC_CHAR *pszAccountName,
                const SEC_CHAR *pszOldPassword,
                const SEC_CHAR *pszNewPassword,
                BOOLEAN bImpersonating,
                ULONG dwReserved,
                PSecBufferDesc pOutput);

/* ------------------------------------------------------------------------------------------------------ */
/* Function table                                                                                          */
/* ------------------------------------------------------------------------------------------------------ */

typedef SECURITY_STATUS (SEC_ENTRY *ENUMERATE_SECURITY_PACKAGES_FN_W)(ULONG *, PSecPkgInfoW *);
typedef SECURITY_STATUS (SEC_ENTRY *ENUMERATE_SECURITY_PACKAGES_FN_A)(ULONG *, PSecPkgInfoA *);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_CREDENTIALS_ATTRIBUTES_FN_W)(PCredHandle, ULONG, void *);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_CREDENTIALS_ATTRIBUTES_FN_A)(PCredHandle, ULONG, void *);
typedef SECURITY_STATUS (SEC_ENTRY *ACQUIRE_CREDENTIALS_HANDLE_FN_W)(
                const SEC_WCHAR *, const SEC_WCHAR *, ULONG, void *, void *, SEC_GET_KEY_FN, void *,
                PCredHandle, PTimeStamp);
typedef SECURITY_STATUS (SEC_ENTRY *ACQUIRE_CREDENTIALS_HANDLE_FN_A)(
                const SEC_CHAR *, const SEC_CHAR *, ULONG, void *, void *, SEC_GET_KEY_FN, void *,
                PCredHandle, PTimeStamp);
typedef SECURITY_STATUS (SEC_ENTRY *FREE_CREDENTIALS_HANDLE_FN)(PCredHandle);
typedef SECURITY_STATUS (SEC_ENTRY *INITIALIZE_SECURITY_CONTEXT_FN_W)(
                PCredHandle, PCtxtHandle, const SEC_WCHAR *, ULONG, ULONG, ULONG, PSecBufferDesc, ULONG,
                PCtxtHandle, PSecBufferDesc, ULONG *, PTimeStamp);
typedef SECURITY_STATUS (SEC_ENTRY *INITIALIZE_SECURITY_CONTEXT_FN_A)(
                PCredHandle, PCtxtHandle, const SEC_CHAR *, ULONG, ULONG, ULONG, PSecBufferDesc, ULONG,
                PCtxtHandle, PSecBufferDesc, ULONG *, PTimeStamp);
typedef SECURITY_STATUS (SEC_ENTRY *ACCEPT_SECURITY_CONTEXT_FN)(
                PCredHandle, PCtxtHandle, PSecBufferDesc, ULONG, ULONG, PCtxtHandle, PSecBufferDesc,
                ULONG *, PTimeStamp);
typedef SECURITY_STATUS (SEC_ENTRY *COMPLETE_AUTH_TOKEN_FN)(PCtxtHandle, PSecBufferDesc);
typedef SECURITY_STATUS (SEC_ENTRY *DELETE_SECURITY_CONTEXT_FN)(PCtxtHandle);
typedef SECURITY_STATUS (SEC_ENTRY *APPLY_CONTROL_TOKEN_FN)(PCtxtHandle, PSecBufferDesc);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_CONTEXT_ATTRIBUTES_FN_W)(PCtxtHandle, ULONG, void *);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_CONTEXT_ATTRIBUTES_FN_A)(PCtxtHandle, ULONG, void *);
typedef SECURITY_STATUS (SEC_ENTRY *IMPERSONATE_SECURITY_CONTEXT_FN)(PCtxtHandle);
typedef SECURITY_STATUS (SEC_ENTRY *REVERT_SECURITY_CONTEXT_FN)(PCtxtHandle);
typedef SECURITY_STATUS (SEC_ENTRY *MAKE_SIGNATURE_FN)(PCtxtHandle, ULONG, PSecBufferDesc, ULONG);
typedef SECURITY_STATUS (SEC_ENTRY *VERIFY_SIGNATURE_FN)(PCtxtHandle, PSecBufferDesc, ULONG, ULONG *);
typedef SECURITY_STATUS (SEC_ENTRY *FREE_CONTEXT_BUFFER_FN)(void *);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_SECURITY_PACKAGE_INFO_FN_W)(const SEC_WCHAR *, PSecPkgInfoW *);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_SECURITY_PACKAGE_INFO_FN_A)(const SEC_CHAR *, PSecPkgInfoA *);
typedef SECURITY_STATUS (SEC_ENTRY *EXPORT_SECURITY_CONTEXT_FN)(PCtxtHandle, ULONG, PSecBuffer, void **);
typedef SECURITY_STATUS (SEC_ENTRY *IMPORT_SECURITY_CONTEXT_FN_W)(const SEC_WCHAR *, PSecBuffer, void *, PCtxtHandle);
typedef SECURITY_STATUS (SEC_ENTRY *IMPORT_SECURITY_CONTEXT_FN_A)(const SEC_CHAR *, PSecBuffer, void *, PCtxtHandle);
typedef SECURITY_STATUS (SEC_ENTRY *ADD_CREDENTIALS_FN_W)(
                PCredHandle, const SEC_WCHAR *, const SEC_WCHAR *, ULONG, void *, SEC_GET_KEY_FN, void *,
                PTimeStamp);
typedef SECURITY_STATUS (SEC_ENTRY *ADD_CREDENTIALS_FN_A)(
                PCredHandle, const SEC_CHAR *, const SEC_CHAR *, ULONG, void *, SEC_GET_KEY_FN, void *,
                PTimeStamp);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_SECURITY_CONTEXT_TOKEN_FN)(PCtxtHandle, void **);
typedef SECURITY_STATUS (SEC_ENTRY *ENCRYPT_MESSAGE_FN)(PCtxtHandle, ULONG, PSecBufferDesc, ULONG);
typedef SECURITY_STATUS (SEC_ENTRY *DECRYPT_MESSAGE_FN)(PCtxtHandle, PSecBufferDesc, ULONG, ULONG *);
typedef SECURITY_STATUS (SEC_ENTRY *SET_CONTEXT_ATTRIBUTES_FN_W)(PCtxtHandle, ULONG, void *, ULONG);
typedef SECURITY_STATUS (SEC_ENTRY *SET_CONTEXT_ATTRIBUTES_FN_A)(PCtxtHandle, ULONG, void *, ULONG);
typedef SECURITY_STATUS (SEC_ENTRY *SET_CREDENTIALS_ATTRIBUTES_FN_W)(PCredHandle, ULONG, void *, ULONG);
typedef SECURITY_STATUS (SEC_ENTRY *SET_CREDENTIALS_ATTRIBUTES_FN_A)(PCredHandle, ULONG, void *, ULONG);
typedef SECURITY_STATUS (SEC_ENTRY *CHANGE_PASSWORD_FN_W)(
                const SEC_WCHAR *, const SEC_WCHAR *, const SEC_WCHAR *, const SEC_WCHAR *, const SEC_WCHAR *,
                BOOLEAN, ULONG, PSecBufferDesc);
typedef SECURITY_STATUS (SEC_ENTRY *CHANGE_PASSWORD_FN_A)(
                const SEC_CHAR *, const SEC_CHAR *, const SEC_CHAR *, const SEC_CHAR *, const SEC_CHAR *,
                BOOLEAN, ULONG, PSecBufferDesc);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_CONTEXT_ATTRIBUTES_EX_FN_W)(PCtxtHandle, ULONG, void *, ULONG);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_CONTEXT_ATTRIBUTES_EX_FN_A)(PCtxtHandle, ULONG, void *, ULONG);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_CREDENTIALS_ATTRIBUTES_EX_FN_W)(PCredHandle, ULONG, void *, ULONG);
typedef SECURITY_STATUS (SEC_ENTRY *QUERY_CREDENTIALS_ATTRIBUTES_EX_FN_A)(PCredHandle, ULONG, void *, ULONG);

/* dwVersion of the table: how many slots are valid. */
#define SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION     1       /* through DecryptMessage */
#define SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION_2   2       /* through SetContextAttributes */
#define SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION_3   3       /* through SetCredentialsAttributes */
#define SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION_4   4       /* through ChangeAccountPassword */
#define SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION_5   5       /* through QueryCredentialsAttributesEx */

/* The slot order is the Windows one; every slot after dwVersion is 8 bytes, 256 bytes in all. */
typedef struct _SECURITY_FUNCTION_TABLE_W {
        ULONG dwVersion;
        ENUMERATE_SECURITY_PACKAGES_FN_W EnumerateSecurityPackagesW;
        QUERY_CREDENTIALS_ATTRIBUTES_FN_W QueryCredentialsAttributesW;
        ACQUIRE_CREDENTIALS_HANDLE_FN_W AcquireCredentialsHandleW;
        FREE_CREDENTIALS_HANDLE_FN FreeCredentialsHandle;
        void *Reserved2;
        INITIALIZE_SECURITY_CONTEXT_FN_W InitializeSecurityContextW;
        ACCEPT_SECURITY_CONTEXT_FN AcceptSecurityContext;
        COMPLETE_AUTH_TOKEN_FN CompleteAuthToken;
        DELETE_SECURITY_CONTEXT_FN DeleteSecurityContext;
        APPLY_CONTROL_TOKEN_FN ApplyControlToken;
        QUERY_CONTEXT_ATTRIBUTES_FN_W QueryContextAttributesW;
        IMPERSONATE_SECURITY_CONTEXT_FN ImpersonateSecurityContext;
        REVERT_SECURITY_CONTEXT_FN RevertSecurityContext;
        MAKE_SIGNATURE_FN MakeSignature;
        VERIFY_SIGNATURE_FN VerifySignature;
        FREE_CONTEXT_BUFFER_FN FreeContextBuffer;
        QUERY_SECURITY_PACKAGE_INFO_FN_W QuerySecurityPackageInfoW;
        void *Reserved3;
        void *Reserved4;
        EXPORT_SECURITY_CONTEXT_FN ExportSecurityContext;
        IMPORT_SECURITY_CONTEXT_FN_W ImportSecurityContextW;
        ADD_CREDENTIALS_FN_W AddCredentialsW;
        void *Reserved8;
        QUERY_SECURITY_CONTEXT_TOKEN_FN QuerySecurityContextToken;
        ENCRYPT_MESSAGE_FN EncryptMessage;
        DECRYPT_MESSAGE_FN DecryptMessage;
        SET_CONTEXT_ATTRIBUTES_FN_W SetContextAttributesW;
        SET_CREDENTIALS_ATTRIBUTES_FN_W SetCredentialsAttributesW;
        CHANGE_PASSWORD_FN_W ChangeAccountPasswordW;
        QUERY_CONTEXT_ATTRIBUTES_EX_FN_W QueryContextAttributesExW;
        QUERY_CREDENTIALS_ATTRIBUTES_EX_FN_W QueryCredentialsAttributesExW;
} SecurityFunctionTableW, *PSecurityFunctionTableW;

/* The A table. Its slot 4 is spelt FreeCredentialHandle in the SDK; the macro above maps that name to
 * FreeCredentialsHandle, so both spellings reach the same member. */
typedef struct _SECURITY_FUNCTION_TABLE_A {
        ULONG dwVersion;
        ENUMERATE_SECURITY_PACKAGES_FN_A EnumerateSecurityPackagesA;
        QUERY_CREDENTIALS_ATTRIBUTES_FN_A QueryCredentialsAttributesA;
        ACQUIRE_CREDENTIALS_HANDLE_FN_A AcquireCredentialsHandleA;
        FREE_CREDENTIALS_HANDLE_FN FreeCredentialHandle;
        void *Reserved2;
        INITIALIZE_SECURITY_CONTEXT_FN_A InitializeSecurityContextA;
        ACCEPT_SECURITY_CONTEXT_FN AcceptSecurityContext;
        COMPLETE_AUTH_TOKEN_FN CompleteAuthToken;
        DELETE_SECURITY_CONTEXT_FN DeleteSecurityContext;
        APPLY_CONTROL_TOKEN_FN ApplyControlToken;
        QUERY_CONTEXT_ATTRIBUTES_FN_A QueryContextAttributesA;
        IMPERSONATE_SECURITY_CONTEXT_FN ImpersonateSecurityContext;
        REVERT_SECURITY_CONTEXT_FN RevertSecurityContext;
        MAKE_SIGNATURE_FN MakeSignature;
        VERIFY_SIGNATURE_FN VerifySignature;
        FREE_CONTEXT_BUFFER_FN FreeContextBuffer;
        QUERY_SECURITY_PACKAGE_INFO_FN_A QuerySecurityPackageInfoA;
        void *Reserved3;
        void *Reserved4;
        EXPORT_SECURITY_CONTEXT_FN ExportSecurityContext;
        IMPORT_SECURITY_CONTEXT_FN_A ImportSecurityContextA;
        ADD_CREDENTIALS_FN_A AddCredentialsA;
        void *Reserved8;
        QUERY_SECURITY_CONTEXT_TOKEN_FN QuerySecurityContextToken;
        ENCRYPT_MESSAGE_FN EncryptMessage;
        DECRYPT_MESSAGE_FN DecryptMessage;
        SET_CONTEXT_ATTRIBUTES_FN_A SetContextAttributesA;
        SET_CREDENTIALS_ATTRIBUTES_FN_A SetCredentialsAttributesA;
        CHANGE_PASSWORD_FN_A ChangeAccountPasswordA;
        QUERY_CONTEXT_ATTRIBUTES_EX_FN_A QueryContextAttributesExA;
        QUERY_CREDENTIALS_ATTRIBUTES_EX_FN_A QueryCredentialsAttributesExA;
} SecurityFunctionTableA, *PSecurityFunctionTableA;

/* Returns the library's function table, filled as Windows fills it: dwVersion is
 * SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION (1) although every slot is set, Reserved2 and Reserved8
 * are NULL, and the legacy Reserved3/Reserved4 slots hold EncryptMessage/DecryptMessage. The table is
 * static: never modify or free it. */
PSecurityFunctionTableW SEC_ENTRY InitSecurityInterfaceW(void);
PSecurityFunctionTableA SEC_ENTRY InitSecurityInterfaceA(void);

typedef PSecurityFunctionTableW (SEC_ENTRY *INIT_SECURITY_INTERFACE_W)(void);
typedef PSecurityFunctionTableA (SEC_ENTRY *INIT_SECURITY_INTERFACE_A)(void);

/* Names to look the entry point up with dlsym(). */
#define SECURITY_ENTRYPOINTW                    "InitSecurityInterfaceW"
#define SECURITY_ENTRYPOINTA                    "InitSecurityInterfaceA"
#define SECURITY_ENTRYPOINT_ANSIW               "InitSecurityInterfaceW"
#define SECURITY_ENTRYPOINT_ANSIA               "InitSecurityInterfaceA"
#define SECURITY_ENTRYPOINT16                   "INITSECURITYINTERFACEA"

/* ------------------------------------------------------------------------------------------------------ */
/* Asynchronous functions (Sspi*Async)                                                                     */
/* ------------------------------------------------------------------------------------------------------ */

/*
 * On Windows this family serves kernel-mode Schannel callers only; here every package supports it, and
 * each Sspi*Async operation takes the arguments of its synchronous twin preceded by an async context.
 *
 * Flow: SspiCreateAsyncContext(), SspiSetAsyncNotifyCallback(), then one operation. The operation's
 * return value only says whether the request was queued (SEC_E_OK) or not (an error; nothing was sent
 * and the callback will not run). The result of the operation itself comes from SspiGetAsyncCallStatus().
 * To issue the next call on the same async context, SspiReinitAsyncContext() it first; free it with
 * SspiFreeAsyncContext() when done.
 *
 * Outputs: the operation writes its outputs (phCredential, phNewContext, pOutput buffers, pfContextAttr,
 * ptsExpiry) when the call completes, not when it is queued, so the caller keeps that storage alive and
 * untouched until completion has been observed.
 *
 * Threading contract:
 *  - SspiGetAsyncCallStatus() returns SEC_I_ASYNC_CALL_PENDING until the outputs have been written; after
 *    that it returns the final status, and only then is the notify callback run. A callback therefore
 *    always sees the final status and complete outputs.
 *  - By default (no completion descriptor requested) the library reads replies and runs notify callbacks
 *    on an internal thread that it starts on first need. Callbacks should return quickly; they may call
 *    SspiGetAsyncCallStatus(), issue further calls, and release the async context that just completed.
 *  - Once the application has called SspiGetAsyncCompletionFd() the library starts no thread of its own:
 *    completions are processed, outputs copied and callbacks run only inside SspiProcessAsyncCompletions(),
 *    on the thread that calls it. Until then calls stay SEC_I_ASYNC_CALL_PENDING. This suits event loops
 *    (epoll, libuv, sd-event) that watch the descriptor.
 *  - A NULL callback (no notification) is supported with SspiDeleteSecurityContextAsync() only, as on
 *    Windows; the async context may then be freed right after the call.
 *  - Calls on one security context run in the order they were issued; a handshake step still needs the
 *    output of the previous one, so issue it only after that one completed.
 */

typedef struct _SspiAsyncContext SspiAsyncContext;

/* Runs once per completed call. Handle is the async context of that call, CallbackData the pointer given
 * to SspiSetAsyncNotifyCallback(). */
typedef void (*SspiAsyncNotifyCallback)(SspiAsyncContext *Handle, void *CallbackData);

/* Allocates a context that tracks one asynchronous call at a time. Returns NULL when out of memory. */
SspiAsyncContext *SspiCreateAsyncContext(void);

/* Frees an async context; NULL is accepted. Must not be called while a call that wants notification is
 * still pending on it, except from inside that call's own callback. */
void SspiFreeAsyncContext(SspiAsyncContext *Handle);

/* Makes a completed async context ready for the next call. Only the call state is reset; the registered
 * callback and its data are kept. Returns STATUS_SUCCESS, or an NTSTATUS error such as
 * STATUS_INVALID_PARAMETER (NULL context) or STATUS_DEVICE_BUSY (a call is still pending on it). */
NTSTATUS SspiReinitAsyncContext(SspiAsyncContext *Handle);

/* Registers the completion callback and its opaque data (both may be NULL: no notification; see the
 * threading contract above). Returns SEC_E_OK, or an error such as SEC_E_INVALID_PARAMETER for a NULL
 * context. */
SECURITY_STATUS SspiSetAsyncNotifyCallback(
                SspiAsyncContext *Context,
                SspiAsyncNotifyCallback Callback,
                void *CallbackData);

/* Returns TRUE (1) when the context has a notify callback that must run when its call completes,
 * FALSE (0) otherwise. */
BOOLEAN SspiAsyncContextRequiresNotify(SspiAsyncContext *AsyncContext);

/* Returns SEC_I_ASYNC_CALL_PENDING while the call on Handle has not completed, then the final status of
 * the operation: exactly what its synchronous twin would have returned (SEC_E_OK, SEC_I_CONTINUE_NEEDED,
 * SEC_E_LOGON_DENIED, ...). An error status for a NULL context. */
SECURITY_STATUS SspiGetAsyncCallStatus(SspiAsyncContext *Handle);

/* Asynchronous AcquireCredentialsHandle(). Returns SEC_E_OK when queued, otherwise the queueing error
 * (e.g. SEC_E_INVALID_PARAMETER, SEC_E_INSUFFICIENT_MEMORY, SEC_E_INTERNAL_ERROR). Completion statuses:
 * those of AcquireCredentialsHandle(). Free the credential with SspiFreeCredentialsHandleAsync() or
 * FreeCredentialsHandle(). */
SECURITY_STATUS SspiAcquireCredentialsHandleAsyncW(
                SspiAsyncContext *AsyncContext,
                const SEC_WCHAR *pszPrincipal,
                const SEC_WCHAR *pszPackage,
                ULONG fCredentialUse,
                void *pvLogonId,
                void *pAuthData,
                SEC_GET_KEY_FN pGetKeyFn,
                void *pvGetKeyArgument,
                PCredHandle phCredential,
                PTimeStamp ptsExpiry);
SECURITY_STATUS SspiAcquireCredentialsHandleAsyncA(
                SspiAsyncContext *AsyncContext,
                const SEC_CHAR *pszPrincipal,
                const SEC_CHAR *pszPackage,
                ULONG fCredentialUse,
                void *pvLogonId,
                void *pAuthData,
                SEC_GET_KEY_FN pGetKeyFn,
                void *pvGetKeyArgument,
                PCredHandle phCredential,
                PTimeStamp ptsExpiry);

/* Asynchronous InitializeSecurityContext(). Returns SEC_E_OK when queued, otherwise the queueing error.
 * Completion statuses: those of InitializeSecurityContext() (SEC_E_OK, SEC_I_CONTINUE_NEEDED,
 * SEC_I_COMPLETE_NEEDED, SEC_I_COMPLETE_AND_CONTINUE, SEC_I_INCOMPLETE_CREDENTIALS,
 * SEC_E_INCOMPLETE_MESSAGE, errors). */
SECURITY_STATUS SspiInitializeSecurityContextAsyncW(
                SspiAsyncContext *AsyncContext,
                PCredHandle phCredential,
                PCtxtHandle phContext,
                const SEC_WCHAR *pszTargetName,
                ULONG fContextReq,
                ULONG Reserved1,
                ULONG TargetDataRep,
                PSecBufferDesc pInput,
                ULONG Reserved2,
                PCtxtHandle phNewContext,
                PSecBufferDesc pOutput,
                ULONG *pfContextAttr,
                PTimeStamp ptsExpiry);
SECURITY_STATUS SspiInitializeSecurityContextAsyncA(
                SspiAsyncContext *AsyncContext,
                PCredHandle phCredential,
                PCtxtHandle phContext,
                const SEC_CHAR *pszTargetName,
                ULONG fContextReq,
                ULONG Reserved1,
                ULONG TargetDataRep,
                PSecBufferDesc pInput,
                ULONG Reserved2,
                PCtxtHandle phNewContext,
                PSecBufferDesc pOutput,
                ULONG *pfContextAttr,
                PTimeStamp ptsExpiry);

/* Asynchronous AcceptSecurityContext(). Returns SEC_E_OK when queued, otherwise the queueing error.
 * Completion statuses: those of AcceptSecurityContext(). A partial context left by a failure is deleted
 * with SspiDeleteSecurityContextAsync() or DeleteSecurityContext(). */
SECURITY_STATUS SspiAcceptSecurityContextAsync(
                SspiAsyncContext *AsyncContext,
                PCredHandle phCredential,
                PCtxtHandle phContext,
                PSecBufferDesc pInput,
                ULONG fContextReq,
                ULONG TargetDataRep,
                PCtxtHandle phNewContext,
                PSecBufferDesc pOutput,
                ULONG *pfContextAttr,
                PTimeStamp ptsExpiry);

/* Asynchronous FreeCredentialsHandle(). Returns SEC_E_OK when queued; completes with SEC_E_OK or
 * SEC_E_INVALID_HANDLE. */
SECURITY_STATUS SspiFreeCredentialsHandleAsync(SspiAsyncContext *AsyncContext, PCredHandle phCredential);

/* Asynchronous DeleteSecurityContext(). Returns SEC_E_OK when queued; completes with SEC_E_OK or
 * SEC_E_INVALID_HANDLE. The only operation that may run without a notify callback. */
SECURITY_STATUS SspiDeleteSecurityContextAsync(SspiAsyncContext *AsyncContext, PCtxtHandle phContext);

/* ------------------------------------------------------------------------------------------------------ */
/* Linux extensions (not part of the Windows API)                                                          */
/* ------------------------------------------------------------------------------------------------------ */

/* Linux extension: event-loop integration. Returns a file descriptor (owned by the library; never close
 * it) that becomes readable when asynchronous calls have completed or replies are waiting to be
 * processed. Once an application has asked for this descriptor the library starts no thread of its own:
 * the application calls SspiProcessAsyncCompletions() whenever the descriptor is readable; that call
 * copies the outputs of finished calls and runs their notify callbacks on the calling thread. Returns -1
 * with errno set on failure (e.g. the daemon cannot be reached). */
int SspiGetAsyncCompletionFd(void);

/* Linux extension: processes every completion available now without blocking: writes the outputs of
 * finished calls, makes SspiGetAsyncCallStatus() report their final status and runs their notify
 * callbacks, all on the calling thread. Returns the number of async calls completed (0 when none was
 * ready), or a negative errno. */
int SspiProcessAsyncCompletions(void);

/* ------------------------------------------------------------------------------------------------------ */
/* Generic (UNICODE-dependent) names                                                                       */
/* ------------------------------------------------------------------------------------------------------ */

#if defined(UNICODE)
#  define EnumerateSecurityPackages             EnumerateSecurityPackagesW
#  define QuerySecurityPackageInfo              QuerySecurityPackageInfoW
#  define AcquireCredentialsHandle              AcquireCredentialsHandleW
#  define AddCredentials                        AddCredentialsW
#  define InitializeSecurityContext             InitializeSecurityContextW
#  define QueryContextAttributes                QueryContextAttributesW
#  define QueryContextAttributesEx              QueryContextAttributesExW
#  define SetContextAttributes                  SetContextAttributesW
#  define QueryCredentialsAttributes            QueryCredentialsAttributesW
#  define QueryCredentialsAttributesEx          QueryCredentialsAttributesExW
#  define SetCredentialsAttributes              SetCredentialsAttributesW
#  define ImportSecurityContext                 ImportSecurityContextW
#  define ChangeAccountPassword                 ChangeAccountPasswordW
#  define InitSecurityInterface                 InitSecurityInterfaceW
#  define SspiAcquireCredentialsHandleAsync     SspiAcquireCredentialsHandleAsyncW
#  define SspiInitializeSecurityContextAsync    SspiInitializeSecurityContextAsyncW
#  define SECURITY_ENTRYPOINT                   SECURITY_ENTRYPOINTW
#  define SECURITY_ENTRYPOINT_ANSI              SECURITY_ENTRYPOINT_ANSIW
#else
#  define EnumerateSecurityPackages             EnumerateSecurityPackagesA
#  define QuerySecurityPackageInfo              QuerySecurityPackageInfoA
#  define AcquireCredentialsHandle              AcquireCredentialsHandleA
#  define AddCredentials                        AddCredentialsA
#  define InitializeSecurityContext             InitializeSecurityContextA
#  define QueryContextAttributes                QueryContextAttributesA
#  define QueryContextAttributesEx              QueryContextAttributesExA
#  define SetContextAttributes                  SetContextAttributesA
#  define QueryCredentialsAttributes            QueryCredentialsAttributesA
#  define QueryCredentialsAttributesEx          QueryCredentialsAttributesExA
#  define SetCredentialsAttributes              SetCredentialsAttributesA
#  define ImportSecurityContext                 ImportSecurityContextA
#  define ChangeAccountPassword                 ChangeAccountPasswordA
#  define InitSecurityInterface                 InitSecurityInterfaceA
#  define SspiAcquireCredentialsHandleAsync     SspiAcquireCredentialsHandleAsyncA
#  define SspiInitializeSecurityContextAsync    SspiInitializeSecurityContextAsyncA
#  define SECURITY_ENTRYPOINT                   SECURITY_ENTRYPOINTA
#  define SECURITY_ENTRYPOINT_ANSI              SECURITY_ENTRYPOINT_ANSIA
#endif

/* ------------------------------------------------------------------------------------------------------ */
/* Identity helpers (Windows' sspi.h, sspicli.dll)                                                         */
/* ------------------------------------------------------------------------------------------------------ */

/*
 * An identity made here (SspiEncodeStringsAsAuthIdentity, SspiCopyAuthIdentity, SspiUnmarshalAuthIdentity,
 * SspiExcludePackage) is what Windows makes: a SEC_WINNT_AUTH_IDENTITY_EXW (Version
 * SEC_WINNT_AUTH_IDENTITY_VERSION, SEC_WINNT_AUTH_IDENTITY_UNICODE) whose strings live in the same
 * allocation. It is pAuthData for AcquireCredentialsHandle of every package but Schannel, and is released
 * with SspiFreeAuthIdentity. The helpers that read an identity also take the caller's own
 * SEC_WINNT_AUTH_IDENTITY_{A,W}, _EX{A,W} and _EX2. Strings they return are freed with SspiLocalFree.
 *
 * Encryption: SspiEncryptAuthIdentity(Ex) replaces the password of an identity made here by a sealed copy
 * (AES-256-GCM). SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS (SspiEncryptAuthIdentity) seals it with a key
 * that exists only in this process's memory; flag SEC_WINNT_AUTH_IDENTITY_FLAGS_PROCESS_ENCRYPTED.
 * SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON asks sspid to seal it with a key it holds for the caller's
 * uid (the Linux "logon session"): any process of that uid may unseal it while sspid runs; flag
 * SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_PROTECTED. AcquireCredentialsHandle accepts encrypted identities.
 */

/* Returns SEC_E_OK and *ppAuthIdentity, SEC_E_INVALID_TOKEN when all three strings are NULL or one is
 * longer than 32765 characters, SEC_E_INSUFFICIENT_MEMORY. A user "DOMAIN\user" with no domain is split. */
SECURITY_STATUS SEC_ENTRY SspiEncodeStringsAsAuthIdentity(LPCWSTR pszUserName, LPCWSTR pszDomainName,
                                                          LPCWSTR pszPackedCredentialsString,
                                                          PSEC_WINNT_AUTH_IDENTITY_OPAQUE *ppAuthIdentity);
/* Each output NULL for an absent string (any output pointer may be NULL: not asked). An encrypted identity
 * is unsealed for the copy. SEC_E_OK, SEC_E_INVALID_TOKEN (not an identity), SEC_E_INSUFFICIENT_MEMORY,
 * SEC_E_DECRYPT_FAILURE. */
SECURITY_STATUS SEC_ENTRY SspiEncodeAuthIdentityAsStrings(PSEC_WINNT_AUTH_IDENTITY_OPAQUE pAuthIdentity,
                                                          LPCWSTR *ppszUserName, LPCWSTR *ppszDomainName,
                                                          LPCWSTR *ppszPackedCredentialsString);
SECURITY_STATUS SEC_ENTRY SspiValidateAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData);
SECURITY_STATUS SEC_ENTRY SspiCopyAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData,
                                               PSEC_WINNT_AUTH_IDENTITY_OPAQUE *AuthDataCopy);
void SEC_ENTRY SspiFreeAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData);
void SEC_ENTRY SspiZeroAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData);
void SEC_ENTRY SspiLocalFree(void *DataBuffer);
/* User and domain compare case-insensitively, the password exactly. */
SECURITY_STATUS SEC_ENTRY SspiCompareAuthIdentities(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity1,
                                                    PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity2,
                                                    PBOOLEAN SameSuppliedUser, PBOOLEAN SameSuppliedIdentity);
/* The byte form is a self-relative SEC_WINNT_AUTH_IDENTITY_EX2 (password as a packed password credential,
 * still sealed if the identity is encrypted). Freed with SspiLocalFree. */
SECURITY_STATUS SEC_ENTRY SspiMarshalAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity,
                                                  ULONG *AuthIdentityLength, char **AuthIdentityByteArray);
SECURITY_STATUS SEC_ENTRY SspiUnmarshalAuthIdentity(ULONG AuthIdentityLength, char *AuthIdentityByteArray,
                                                    PSEC_WINNT_AUTH_IDENTITY_OPAQUE *ppAuthIdentity);
BOOLEAN SEC_ENTRY SspiIsAuthIdentityEncrypted(PSEC_WINNT_AUTH_IDENTITY_OPAQUE EncryptedAuthData);
SECURITY_STATUS SEC_ENTRY SspiEncryptAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData);
SECURITY_STATUS SEC_ENTRY SspiEncryptAuthIdentityEx(ULONG Options, PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthData);
SECURITY_STATUS SEC_ENTRY SspiDecryptAuthIdentity(PSEC_WINNT_AUTH_IDENTITY_OPAQUE EncryptedAuthData);
SECURITY_STATUS SEC_ENTRY SspiDecryptAuthIdentityEx(ULONG Options, PSEC_WINNT_AUTH_IDENTITY_OPAQUE EncryptedAuthData);
/* A new identity whose package list adds "!pszPackageName" (Negotiate then never uses that package). */
SECURITY_STATUS SEC_ENTRY SspiExcludePackage(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity, LPCWSTR pszPackageName,
                                             PSEC_WINNT_AUTH_IDENTITY_OPAQUE *ppNewAuthIdentity);
/* The host of a target name: "HTTP/host.example.com:8080/x", "host.example.com@REALM" and
 * "host.example.com" give "host.example.com". Freed with SspiLocalFree. */
SECURITY_STATUS SEC_ENTRY SspiGetTargetHostName(LPCWSTR pszTargetName, LPWSTR *pszHostName);

/* Extended Protection (EPA) on the server side: turns the SEC_CHANNEL_BINDINGS that
 * QueryContextAttributes(SECPKG_ATTR_*_BINDINGS) returned into the SEC_CHANNEL_BINDINGS_EX form
 * with `flags` (SEC_CHANNEL_BINDINGS_VALID_FLAGS), for a SECBUFFER_CHANNEL_BINDINGS input of
 * AcceptSecurityContext. pBindings->Bindings must come from QueryContextAttributes: it is replaced
 * by a new buffer (FreeContextBuffer) and the old one freed. An _EX form gets its flags replaced.
 * SEC_E_OK, SEC_E_INVALID_PARAMETER (NULL, unknown flags, a structure whose fields run past
 * BindingsLength), SEC_E_INSUFFICIENT_MEMORY. */
SECURITY_STATUS SEC_ENTRY SspiSetChannelBindingFlags(SecPkgContext_Bindings *pBindings, unsigned long flags);
/* What Windows' Credential Manager would store for an identity (there is none here: the results are only
 * the names and blob Windows computes). CRED_TYPE_DOMAIN_PASSWORD, target and user "DOMAIN\user", blob the
 * UTF-16 password without NUL. Outputs freed with SspiLocalFree. */
#define CRED_TYPE_GENERIC                       1U
#define CRED_TYPE_DOMAIN_PASSWORD               2U
SECURITY_STATUS SEC_ENTRY SspiPrepareForCredRead(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity, LPCWSTR pszTargetName,
                                                 PULONG pCredmanCredentialType, LPCWSTR *ppszCredmanTargetName);
SECURITY_STATUS SEC_ENTRY SspiPrepareForCredWrite(PSEC_WINNT_AUTH_IDENTITY_OPAQUE AuthIdentity, LPCWSTR pszTargetName,
                                                  PULONG pCredmanCredentialType, LPCWSTR *ppszCredmanTargetName,
                                                  LPCWSTR *ppszCredmanUserName, PUCHAR *ppCredentialBlob,
                                                  PULONG pCredentialBlobSize);

#if defined(UNICODE)
typedef ENUMERATE_SECURITY_PACKAGES_FN_W ENUMERATE_SECURITY_PACKAGES_FN;
typedef QUERY_CREDENTIALS_ATTRIBUTES_FN_W QUERY_CREDENTIALS_ATTRIBUTES_FN;
typedef ACQUIRE_CREDENTIALS_HANDLE_FN_W ACQUIRE_CREDENTIALS_HANDLE_FN;
typedef INITIALIZE_SECURITY_CONTEXT_FN_W INITIALIZE_SECURITY_CONTEXT_FN;
typedef QUERY_CONTEXT_ATTRIBUTES_FN_W QUERY_CONTEXT_ATTRIBUTES_FN;
typedef QUERY_SECURITY_PACKAGE_INFO_FN_W QUERY_SECURITY_PACKAGE_INFO_FN;
typedef IMPORT_SECURITY_CONTEXT_FN_W IMPORT_SECURITY_CONTEXT_FN;
typedef ADD_CREDENTIALS_FN_W ADD_CREDENTIALS_FN;
typedef SET_CONTEXT_ATTRIBUTES_FN_W SET_CONTEXT_ATTRIBUTES_FN;
typedef SET_CREDENTIALS_ATTRIBUTES_FN_W SET_CREDENTIALS_ATTRIBUTES_FN;
typedef CHANGE_PASSWORD_FN_W CHANGE_PASSWORD_FN;
typedef QUERY_CONTEXT_ATTRIBUTES_EX_FN_W QUERY_CONTEXT_ATTRIBUTES_EX_FN;
typedef QUERY_CREDENTIALS_ATTRIBUTES_EX_FN_W QUERY_CREDENTIALS_ATTRIBUTES_EX_FN;
typedef SecurityFunctionTableW SecurityFunctionTable;
typedef PSecurityFunctionTableW PSecurityFunctionTable;
typedef INIT_SECURITY_INTERFACE_W INIT_SECURITY_INTERFACE;
#else
typedef ENUMERATE_SECURITY_PACKAGES_FN_A ENUMERATE_SECURITY_PACKAGES_FN;
typedef QUERY_CREDENTIALS_ATTRIBUTES_FN_A QUERY_CREDENTIALS_ATTRIBUTES_FN;
typedef ACQUIRE_CREDENTIALS_HANDLE_FN_A ACQUIRE_CREDENTIALS_HANDLE_FN;
typedef INITIALIZE_SECURITY_CONTEXT_FN_A INITIALIZE_SECURITY_CONTEXT_FN;
typedef QUERY_CONTEXT_ATTRIBUTES_FN_A QUERY_CONTEXT_ATTRIBUTES_FN;
typedef QUERY_SECURITY_PACKAGE_INFO_FN_A QUERY_SECURITY_PACKAGE_INFO_FN;
typedef IMPORT_SECURITY_CONTEXT_FN_A IMPORT_SECURITY_CONTEXT_FN;
typedef ADD_CREDENTIALS_FN_A ADD_CREDENTIALS_FN;
typedef SET_CONTEXT_ATTRIBUTES_FN_A SET_CONTEXT_ATTRIBUTES_FN;
typedef SET_CREDENTIALS_ATTRIBUTES_FN_A SET_CREDENTIALS_ATTRIBUTES_FN;
typedef CHANGE_PASSWORD_FN_A CHANGE_PASSWORD_FN;
typedef QUERY_CONTEXT_ATTRIBUTES_EX_FN_A QUERY_CONTEXT_ATTRIBUTES_EX_FN;
typedef QUERY_CREDENTIALS_ATTRIBUTES_EX_FN_A QUERY_CREDENTIALS_ATTRIBUTES_EX_FN;
typedef SecurityFunctionTableA SecurityFunctionTable;
typedef PSecurityFunctionTableA PSecurityFunctionTable;
typedef INIT_SECURITY_INTERFACE_A INIT_SECURITY_INTERFACE;
#endif

#ifdef __cplusplus
}
#endif

#endif /* SSPID_SSPI_H */
