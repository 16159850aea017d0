/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The NTLM package's own types, limits and helpers, shared by its files:
 * ntlm-provider.c (bounded reader, writer, helpers, the provider table),
 * ntlm-credential.c, ntlm-context.c, ntlm-attributes.c, ntlm-message.c
 * (ntlm-crypto.c needs only ntlm.h). Never included outside
 * daemon/packages/ntlm/.
 */

#include "packages/ntlm/ntlm.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <heimntlm.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "policy/config.h"
#include "util/util.h"

#define NTLM_SIGNATURE "NTLMSSP"
#define NTLM_NEGOTIATE 1
#define NTLM_CHALLENGE 2
#define NTLM_AUTHENTICATE 3
#define AUTH_HEADER_SIZE 88 /* with Version and MIC */
#define MIC_OFFSET 72
#define STORE_MAX_ENTRIES 65536

/* What our client always asks for; SIGN and SEAL only when the caller's
 * ISC_REQ flags want them (ntlm_client_flags), as Windows does: a server
 * asked to seal may refuse a client that only needed signing. The server
 * answers with a subset. */
#define CLIENT_FLAGS_BASE                                                                                   \
        (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_NTLM |                        \
         NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_VERSION | \
         NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56)
#define SERVER_FLAGS_ECHO                                                                                   \
        (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |                     \
         NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_128 |     \
         NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56 | NTLMSSP_NEGOTIATE_IDENTIFY)

typedef struct NtlmCred {
        uint32_t use;
        /* outbound */
        char *user, *domain;
        uint8_t nt_hash[16];
        bool has_secret; /* false: an identity without password, refused at ISC */
        /* inbound: a snapshot of the store at acquire time */
        char *store_domain;
        NtlmAccount *accounts;
        size_t n_accounts;
        bool allow_v1; /* the store's allow-ntlmv1 */
        bool has_store;
        NameList store_aliases; /* other names of store_domain (its DNS name) */
        /* inbound: the [ntlm-domain] granted, checked through winbindd */
        char *nt_domain; /* NetBIOS name; NULL: no domain */
        NameList nt_aliases;
} NtlmCred;

/* What the acceptor hands the domain (ntlm-domain.c). */
typedef struct NtlmLogon {
        const char *user, *domain, *workstation; /* as the client gave them */
        const uint8_t *challenge;                /* ours, 8 bytes */
        const uint8_t *nt, *lm;
        size_t nt_len, lm_len;
} NtlmLogon;

/* The names the acceptor's CHALLENGE gives (MsvAvNbDomainName,
 * MsvAvDnsDomainName): the [ntlm-domain]'s, else the store's; the DNS name
 * is the first alias with a dot, else the NetBIOS name. */
void ntlm_challenge_domains(const NtlmCred *cred, const char **ret_nb, const char **ret_dns);
/*
 * The logon checked by the domain through winbindd; blocks (a worker's
 * job). SEC_E_OK with the session base key and the account's canonical
 * names (malloc()ed) and its SIDs ([0] the user's, then the primary group
 * and the other groups, each once); SEC_E_LOGON_DENIED for what the DC refused,
 * SEC_E_NO_AUTHENTICATING_AUTHORITY when winbindd or the DC cannot be
 * reached, SEC_E_INTERNAL_ERROR, SEC_E_INSUFFICIENT_MEMORY. Logs why.
 */
SECURITY_STATUS ntlm_domain_logon(const NtlmCred *cred, const NtlmLogon *in, uint8_t ret_base[16], char **ret_user,
                                  char **ret_domain, PkgSid **ret_sids, size_t *ret_n_sids);

/* One log line naming why the acceptor refused a logon (ntlm-log.c). */
void ntlm_log_refusal(const NtlmCred *cred, const char *domain, const char *user, bool known);

typedef struct NtlmCtx {
        bool initiator, established;
        uint32_t req_flags, ret_flags, flags;
        uint8_t *msg[3]; /* NEGOTIATE, CHALLENGE, AUTHENTICATE, for the MIC */
        size_t msg_len[3];
        uint8_t challenge[8];
        char *target;
        char *client_target; /* ASC: the AUTHENTICATE's MsvAvTargetName */
        char *user, *domain; /* the authenticated (ASC) or our own (ISC) identity */
        uint8_t exported[16];
        NtlmKeys keys;
        NtlmRc4 send_rc4, recv_rc4;
        uint32_t send_seq, recv_seq;
        int64_t start;
        PkgSid *sids; /* ASC of a domain account: its SIDs (PKG_ATTR_TOKEN_SIDS) */
        size_t n_sids;
} NtlmCtx;

typedef struct NtlmReader {
        const uint8_t *p;
        size_t len;
} NtlmReader;

/* Walk AV pairs; every pair must fit, the list must end with MsvAvEOL. */
typedef struct AvInfo {
        NtlmReader pairs; /* without the EOL */
        bool has_timestamp, has_flags, has_cb, has_target;
        uint8_t timestamp[8];
        uint32_t flags;
        uint8_t cb[16];
        NtlmReader target; /* MsvAvTargetName, UTF-16LE */
} AvInfo;

typedef struct NtlmWriter {
        uint8_t *p;
        size_t len, cap;
        bool failed;
} NtlmWriter;

/* Shared between the package's files (static before the split). */
extern const uint8_t ntlm_version[8];
uint16_t ntlm_le16(const uint8_t *p);
uint32_t ntlm_le32(const uint8_t *p);
void ntlm_put32(uint8_t *p, uint32_t v);
bool ntlm_rd_u32(const NtlmReader *r, size_t off, uint32_t *ret);
bool ntlm_rd_field(const NtlmReader *r, size_t off, NtlmReader *ret);
bool ntlm_rd_header(const NtlmReader *r, uint32_t type);
bool ntlm_av_parse(NtlmReader r, AvInfo *ret);
uint8_t *ntlm_wr_reserve(NtlmWriter *w, size_t n);
void ntlm_wr_bytes(NtlmWriter *w, const void *d, size_t n);
void ntlm_wr_av(NtlmWriter *w, uint16_t id, const void *d, size_t n);
void ntlm_wr_payload(NtlmWriter *w, size_t field, const void *d, size_t n);
void ntlm_wr_free(NtlmWriter *w);
PkgBuffer *ntlm_find_buffer(PkgBuffer *b, size_t n, uint32_t type);
int64_t ntlm_filetime_now(void);
void ntlm_random_bytes(uint8_t *p, size_t n);
int ntlm_hex_nibble(char c);
char *ntlm_local_host(bool upper);
SECURITY_STATUS ntlm_bindings_hash(const PkgBuffer *b, uint8_t out[16]);
SECURITY_STATUS ntlm_put_output(PkgStep *s, NtlmWriter *w);
int ntlm_keep_msg(NtlmCtx *c, int i, const uint8_t *p, size_t len);
uint32_t ntlm_client_flags(uint32_t isc_req);
uint32_t ntlm_ret_flags_from(uint32_t req, uint32_t negotiated, bool initiator);
void ntlm_ctx_keys(NtlmCtx *c);
SECURITY_STATUS ntlm_step_failed(PkgStep *s, NtlmCtx *c, SECURITY_STATUS st);
void ntlm_cred_free(void *p);
int ntlm_name_key(const char *s, uint8_t ret[32]);
SECURITY_STATUS ntlm_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry);
SECURITY_STATUS ntlm_cred_name(void *p, char **ret_name);
bool ntlm_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept);
SECURITY_STATUS ntlm_init_ctx(PkgStep *s);
SECURITY_STATUS ntlm_accept_ctx(PkgStep *s);
SECURITY_STATUS ntlm_complete(void *ctx, PkgBuffer *b, size_t n);
SECURITY_STATUS ntlm_query_ctx(void *ctx, uint32_t attr, PkgCtxAttr *out);
SECURITY_STATUS ntlm_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
SECURITY_STATUS ntlm_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);
SECURITY_STATUS ntlm_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
SECURITY_STATUS ntlm_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);
struct PkgMsgKeys;
SECURITY_STATUS ntlm_msg_keys(void *ctx, struct PkgMsgKeys *out);
/* ntlm-export.c */
SECURITY_STATUS ntlm_export_ctx(void *ctx, bool keep_old, uint8_t **ret_blob, size_t *ret_len, bool *ctx_consumed);
SECURITY_STATUS ntlm_import_ctx(const uint8_t *blob, size_t len, void **ret_ctx);
SECURITY_STATUS ntlm_msg_keys_update(void *ctx, const struct PkgMsgKeys *in);
void ntlm_import_reset(void *ctx);
