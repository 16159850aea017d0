/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Schannel credential structures for libsspi (Windows x64 layout, reference
 * sspi-facts §3.5). sspi.h has the constants; the structures that need
 * certificate-store types live here. A CERT_CONTEXT carries only the DER
 * certificate: there are no certificate stores on this side, the private
 * key stays in sspid, which finds it by the certificate's public key.
 *
 * SECPKG_ATTR_REMOTE_CERT_CONTEXT returns a PCCERT_CONTEXT in a store of
 * the peer's chain (below); free it with CertFreeCertificateContext(), as
 * on Windows (FreeContextBuffer() works too).
 */

#include "sspi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define X509_ASN_ENCODING                       0x00000001U
#define PKCS_7_ASN_ENCODING                     0x00010000U

typedef void *HCERTSTORE;
struct _CERT_INFO;

typedef struct _CERT_CONTEXT {
        DWORD dwCertEncodingType;       /* X509_ASN_ENCODING */
        BYTE *pbCertEncoded;            /* DER */
        DWORD cbCertEncoded;
        struct _CERT_INFO *pCertInfo;   /* always NULL here */
        HCERTSTORE hCertStore;          /* REMOTE_CERT_CONTEXT: the peer's chain; else NULL */
} CERT_CONTEXT, *PCERT_CONTEXT;
typedef const CERT_CONTEXT *PCCERT_CONTEXT;

SSPI_STATIC_ASSERT(sizeof(CERT_CONTEXT) == 40, "CERT_CONTEXT layout");

#ifndef SSPI_HAVE_BOOL
#define SSPI_HAVE_BOOL
typedef int BOOL;
#endif
#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/*
 * The crypt32 subset for the certificate contexts libsspi returns
 * (SECPKG_ATTR_REMOTE_CERT_CONTEXT): the context lives in a store
 * (hCertStore) that holds the peer's certificates as it sent them, leaf
 * first; the store lasts while any of its contexts (or a CertDuplicateStore
 * handle) is referenced.
 *
 * CertFreeCertificateContext releases a context (always TRUE; NULL and
 * contexts of the caller's own making are ignored). FreeContextBuffer on a
 * returned context does the same, for programs written against older
 * libsspi. CertDuplicateCertificateContext adds a reference and returns
 * the context. CertEnumCertificatesInStore returns the certificate after
 * pPrevCertContext (the first one for NULL) with a reference, releases
 * pPrevCertContext, and returns NULL after the last. CertDuplicateStore
 * adds a store handle, CertCloseStore releases one (TRUE; FALSE for a
 * handle that is not a store).
 */
BOOL CertFreeCertificateContext(PCCERT_CONTEXT pCertContext);
PCCERT_CONTEXT CertDuplicateCertificateContext(PCCERT_CONTEXT pCertContext);
PCCERT_CONTEXT CertEnumCertificatesInStore(HCERTSTORE hCertStore, PCCERT_CONTEXT pPrevCertContext);
HCERTSTORE CertDuplicateStore(HCERTSTORE hCertStore);
BOOL CertCloseStore(HCERTSTORE hCertStore, DWORD dwFlags);

struct _HMAPPER;

typedef struct _SCHANNEL_CRED {
        DWORD dwVersion;                /* SCHANNEL_CRED_VERSION */
        DWORD cCreds;
        PCCERT_CONTEXT *paCred;
        HCERTSTORE hRootStore;          /* not supported: must be NULL */
        DWORD cMappers;
        struct _HMAPPER **aphMappers;
        DWORD cSupportedAlgs;
        ALG_ID *palgSupportedAlgs;
        DWORD grbitEnabledProtocols;    /* SP_PROT_*; 0 = system default */
        DWORD dwMinimumCipherStrength;
        DWORD dwMaximumCipherStrength;
        DWORD dwSessionLifespan;        /* ms; 0 = 10 hours */
        DWORD dwFlags;                  /* SCH_CRED_* */
        DWORD dwCredFormat;             /* SCH_CRED_FORMAT_CERT_CONTEXT, _CERT_HASH, _CERT_HASH_STORE */
} SCHANNEL_CRED, *PSCHANNEL_CRED;

SSPI_STATIC_ASSERT(sizeof(SCHANNEL_CRED) == 80, "SCHANNEL_CRED layout");

#ifndef SSPI_HAVE_UNICODE_STRING
#define SSPI_HAVE_UNICODE_STRING
typedef struct _UNICODE_STRING {
        USHORT Length;                  /* bytes */
        USHORT MaximumLength;
        SEC_WCHAR *Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
#endif

typedef enum _eTlsAlgorithmUsage {
        TlsParametersCngAlgUsageKeyExchange,
        TlsParametersCngAlgUsageSignature,
        TlsParametersCngAlgUsageCipher,
        TlsParametersCngAlgUsageDigest,
        TlsParametersCngAlgUsageCertSig
} eTlsAlgorithmUsage;

typedef struct _CRYPTO_SETTINGS {
        eTlsAlgorithmUsage eAlgorithmUsage;
        UNICODE_STRING strCngAlgId;
        DWORD cChainingModes;
        PUNICODE_STRING rgstrChainingModes;
        DWORD dwMinBitLength;
        DWORD dwMaxBitLength;
} CRYPTO_SETTINGS, *PCRYPTO_SETTINGS;

SSPI_STATIC_ASSERT(sizeof(CRYPTO_SETTINGS) == 48, "CRYPTO_SETTINGS layout");

#define TLS_PARAMS_OPTIONAL                     0x00000001U

typedef struct _TLS_PARAMETERS {
        DWORD cAlpnIds;                 /* parameters apply to these ALPN ids (0: all) */
        PUNICODE_STRING rgstrAlpnIds;
        DWORD grbitDisabledProtocols;   /* SP_PROT_* */
        DWORD cDisabledCrypto;
        PCRYPTO_SETTINGS pDisabledCrypto;
        DWORD dwFlags;
} TLS_PARAMETERS, *PTLS_PARAMETERS;

SSPI_STATIC_ASSERT(sizeof(TLS_PARAMETERS) == 40, "TLS_PARAMETERS layout");

typedef struct _SCH_CREDENTIALS {
        DWORD dwVersion;                /* SCH_CREDENTIALS_VERSION */
        DWORD dwCredFormat;
        DWORD cCreds;
        PCCERT_CONTEXT *paCred;
        HCERTSTORE hRootStore;
        DWORD cMappers;
        struct _HMAPPER **aphMappers;
        DWORD dwSessionLifespan;
        DWORD dwFlags;
        DWORD cTlsParameters;
        PTLS_PARAMETERS pTlsParameters;
} SCH_CREDENTIALS, *PSCH_CREDENTIALS;

SSPI_STATIC_ASSERT(sizeof(SCH_CREDENTIALS) == 72, "SCH_CREDENTIALS layout");

/* SCH_CRED_FORMAT_CERT_HASH / _STORE: paCred points at one of these (cCreds
 * 1); the thumbprint names a certificate of sspid's [certificate] sections
 * (the machine's "MY" store here), subject to the same grants. */
typedef ULONG_PTR HCRYPTPROV;

#define SCH_MACHINE_CERT_HASH                   0x00000001U

typedef struct _SCHANNEL_CERT_HASH {
        DWORD dwLength;                 /* sizeof(SCHANNEL_CERT_HASH) */
        DWORD dwFlags;                  /* SCH_MACHINE_CERT_HASH */
        HCRYPTPROV hProv;               /* ignored */
        BYTE ShaHash[20];               /* SHA-1 of the DER certificate */
} SCHANNEL_CERT_HASH, *PSCHANNEL_CERT_HASH;

SSPI_STATIC_ASSERT(sizeof(SCHANNEL_CERT_HASH) == 40, "SCHANNEL_CERT_HASH layout");

typedef struct _SCHANNEL_CERT_HASH_STORE {
        DWORD dwLength;                 /* sizeof(SCHANNEL_CERT_HASH_STORE) */
        DWORD dwFlags;
        HCRYPTPROV hProv;
        BYTE ShaHash[20];
        WCHAR pwszStoreName[SCH_CRED_MAX_STORE_NAME_SIZE]; /* "MY" */
} SCHANNEL_CERT_HASH_STORE, *PSCHANNEL_CERT_HASH_STORE;

SSPI_STATIC_ASSERT(sizeof(SCHANNEL_CERT_HASH_STORE) == 296, "SCHANNEL_CERT_HASH_STORE layout");

typedef struct _CRYPTOAPI_BLOB {
        DWORD cbData;
        BYTE *pbData;
} CRYPT_INTEGER_BLOB, CERT_NAME_BLOB, CRYPT_DATA_BLOB, *PCERT_NAME_BLOB;

/* SECPKG_ATTR_ISSUER_LIST_EX: the DER distinguished names of the CAs the
 * server accepts client certificates from (after SEC_I_INCOMPLETE_CREDENTIALS).
 * aIssuers is one allocation with the names after the array; free it with
 * FreeContextBuffer. */
typedef struct _SecPkgContext_IssuerListInfoEx {
        PCERT_NAME_BLOB aIssuers;
        DWORD cIssuers;
} SecPkgContext_IssuerListInfoEx, *PSecPkgContext_IssuerListInfoEx;

/* SECPKG_ATTR_CIPHER_INFO */
#define SZ_ALG_MAX_SIZE                         64
#define SECPKGCONTEXT_CIPHERINFO_V1             1

typedef struct _SecPkgContext_CipherInfo {
        DWORD dwVersion;
        DWORD dwProtocol;
        DWORD dwCipherSuite;
        DWORD dwBaseCipherSuite;
        SEC_WCHAR szCipherSuite[SZ_ALG_MAX_SIZE];
        SEC_WCHAR szCipher[SZ_ALG_MAX_SIZE];
        DWORD dwCipherLen;
        DWORD dwCipherBlockLen;
        SEC_WCHAR szHash[SZ_ALG_MAX_SIZE];
        DWORD dwHashLen;
        SEC_WCHAR szExchange[SZ_ALG_MAX_SIZE];
        DWORD dwMinExchangeLen;
        DWORD dwMaxExchangeLen;
        SEC_WCHAR szCertificate[SZ_ALG_MAX_SIZE];
        DWORD dwKeyType;
} SecPkgContext_CipherInfo, *PSecPkgContext_CipherInfo;

/* SECPKG_ATTR_CONNECTION_INFO_EX: CONNECTION_INFO with CNG algorithm names. */
#define SECPKGCONTEXT_CONNECTION_INFO_EX_V1     1

typedef struct _SecPkgContext_ConnectionInfoEx {
        DWORD dwVersion;                /* SECPKGCONTEXT_CONNECTION_INFO_EX_V1 */
        DWORD dwProtocol;               /* SP_PROT_* */
        SEC_WCHAR szCipher[SZ_ALG_MAX_SIZE];
        DWORD dwCipherStrength;
        SEC_WCHAR szHash[SZ_ALG_MAX_SIZE];
        DWORD dwHashStrength;
        SEC_WCHAR szExchange[SZ_ALG_MAX_SIZE];
        DWORD dwExchStrength;
} SecPkgContext_ConnectionInfoEx, *PSecPkgContext_ConnectionInfoEx;

/* SECPKG_ATTR_SUPPORTED_SIGNATURES: signature algorithm in the upper byte, hash in the lower; the array
 * is released with FreeContextBuffer. */
typedef struct _SecPkgContext_SupportedSignatures {
        WORD cSignatureAndHashAlgorithms;
        WORD *pSignatureAndHashAlgorithms;
} SecPkgContext_SupportedSignatures, *PSecPkgContext_SupportedSignatures;

/* SECPKG_ATTR_CERT_CHECK_RESULT(_INPROC) */
typedef struct _SecPkgContext_CertificateValidationResult {
        DWORD dwChainErrorStatus;       /* CERT_TRUST_* error bits */
        LONG hrVerifyChainStatus;       /* HRESULT: the SSL chain policy's error, S_OK (0) if none */
} SecPkgContext_CertificateValidationResult, *PSecPkgContext_CertificateValidationResult;

/* SECPKG_ATTR_APP_DATA (pbAppData released with FreeContextBuffer) */
typedef struct _SecPkgContext_SessionAppData {
        DWORD dwFlags;
        DWORD cbAppData;
        PBYTE pbAppData;
} SecPkgContext_SessionAppData, *PSecPkgContext_SessionAppData;

/* SECPKG_ATTR_EAP_KEY_BLOCK (QueryContextAttributes): RFC 2716's key material and IVs, TLS 1.2 and older. */
typedef struct _SecPkgContext_EapKeyBlock {
        BYTE rgbKeys[128];
        BYTE rgbIVs[64];
} SecPkgContext_EapKeyBlock, *PSecPkgContext_EapKeyBlock;

/* SECPKG_ATTR_EAP_PRF_INFO (SetContextAttributes): pbPrfData is one DWORD naming the PRF of EAP_KEY_BLOCK. */
typedef struct _SecPkgContext_EapPrfInfo {
        DWORD dwVersion;                /* 0 */
        DWORD cbPrfData;
        PBYTE pbPrfData;
} SecPkgContext_EapPrfInfo, *PSecPkgContext_EapPrfInfo;
#define EAP_PRF_PPP_EAP_TLS             0x00    /* PRF(master, "client EAP encryption", client_random + server_random) */
#define EAP_PRF_TTLS_KEYING_MATERIAL    0x01    /* PRF(master, "ttls keying material", server_random + client_random) */
#define EAP_PRF_TTLS_CHALLENGE          0x02    /* PRF(master, "ttls challenge", server_random + client_random) */
#define EAP_PRF_FAST_KEYING_MATERIAL    0x03    /* PRF(master, "key expansion", server_random + client_random) */

/* SECPKG_ATTR_EARLY_START (SetContextAttributes): TLS False Start for a client. */
typedef struct _SecPkgContext_EarlyStart {
        DWORD dwEarlyStartFlags;
} SecPkgContext_EarlyStart, *PSecPkgContext_EarlyStart;
#define ENABLE_TLS_CLIENT_EARLY_START   0x00000001

/* SECPKG_ATTR_KEYING_MATERIAL_INFO (SetContextAttributes): the RFC 5705 exporter's input. */
typedef struct _SecPkgContext_KeyingMaterialInfo {
        WORD cbLabel;                   /* including the NUL */
        LPSTR pszLabel;
        WORD cbContextValue;
        PBYTE pbContextValue;           /* NULL when cbContextValue is 0 */
        DWORD cbKeyingMaterial;
} SecPkgContext_KeyingMaterialInfo, *PSecPkgContext_KeyingMaterialInfo;

/* SECPKG_ATTR_KEYING_MATERIAL (pbKeyingMaterial released with FreeContextBuffer) */
typedef struct _SecPkgContext_KeyingMaterial {
        DWORD cbKeyingMaterial;
        PBYTE pbKeyingMaterial;
} SecPkgContext_KeyingMaterial, *PSecPkgContext_KeyingMaterial;

/* TLS alert descriptions for SCHANNEL_ALERT_TOKEN.dwAlertNumber */
#define TLS1_ALERT_CLOSE_NOTIFY                 0
#define TLS1_ALERT_UNEXPECTED_MESSAGE           10
#define TLS1_ALERT_BAD_RECORD_MAC               20
#define TLS1_ALERT_DECRYPTION_FAILED            21
#define TLS1_ALERT_RECORD_OVERFLOW              22
#define TLS1_ALERT_DECOMPRESSION_FAIL           30
#define TLS1_ALERT_HANDSHAKE_FAILURE            40
#define TLS1_ALERT_BAD_CERTIFICATE              42
#define TLS1_ALERT_UNSUPPORTED_CERT             43
#define TLS1_ALERT_CERTIFICATE_REVOKED          44
#define TLS1_ALERT_CERTIFICATE_EXPIRED          45
#define TLS1_ALERT_CERTIFICATE_UNKNOWN          46
#define TLS1_ALERT_ILLEGAL_PARAMETER            47
#define TLS1_ALERT_UNKNOWN_CA                   48
#define TLS1_ALERT_ACCESS_DENIED                49
#define TLS1_ALERT_DECODE_ERROR                 50
#define TLS1_ALERT_DECRYPT_ERROR                51
#define TLS1_ALERT_EXPORT_RESTRICTION           60
#define TLS1_ALERT_PROTOCOL_VERSION             70
#define TLS1_ALERT_INSUFFIENT_SECURITY          71      /* sic, as in the SDK */
#define TLS1_ALERT_INTERNAL_ERROR               80
#define TLS1_ALERT_USER_CANCELED                90
#define TLS1_ALERT_NO_RENEGOTIATION             100
#define TLS1_ALERT_UNSUPPORTED_EXT              110
#define TLS1_ALERT_UNKNOWN_PSK_IDENTITY         115
#define TLS1_ALERT_NO_APP_PROTOCOL              120

#ifdef __cplusplus
}
#endif
