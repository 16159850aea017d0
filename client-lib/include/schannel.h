/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Schannel credential structures for libsspi (Windows x64 layout, reference
 * sspi-facts §3.5). sspi.h has the constants; the structures that need
 * certificate-store types live here. A CERT_CONTEXT carries only the DER
 * certificate: there are no certificate stores on this side, the private
 * key stays in sspid, which finds it by the certificate's public key.
 *
 * SECPKG_ATTR_REMOTE_CERT_CONTEXT returns a PCCERT_CONTEXT that libsspi
 * allocates in one block (the structure followed by the DER bytes); free it
 * with FreeContextBuffer() (CertFreeCertificateContext on Windows).
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
        HCERTSTORE hCertStore;          /* always NULL here */
} CERT_CONTEXT, *PCERT_CONTEXT;
typedef const CERT_CONTEXT *PCCERT_CONTEXT;

SSPI_STATIC_ASSERT(sizeof(CERT_CONTEXT) == 40, "CERT_CONTEXT layout");

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
        DWORD dwCredFormat;             /* SCH_CRED_FORMAT_CERT_CONTEXT only */
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

#ifdef __cplusplus
}
#endif
