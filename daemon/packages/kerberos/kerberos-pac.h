/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The PAC of an accepted Kerberos ticket (MS-PAC): who the domain
 * controller says the client is. pac-ndr.c decodes it (no Heimdal, so the
 * fuzz target links it alone); kerberos-pac.c checks its server signature
 * with the service key and keeps the result on the acceptor's context.
 *
 * For other parts of the daemon (the access token, local-account mapping)
 * the identity is read with krb_ctx_pac() on an established Kerberos
 * context; NULL means the ticket carried no PAC (a non-AD realm), which is
 * not an error.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a SID of the token came from (MS-PAC 2.5). */
typedef enum KrbPacSidKind {
        KRB_PAC_SID_GROUP,      /* GroupIds: LogonDomainId + RelativeId */
        KRB_PAC_SID_EXTRA,      /* ExtraSids (attribute SE_GROUP_RESOURCE marks a resource group) */
        KRB_PAC_SID_RESOURCE,   /* ResourceGroupDomainSid + ResourceGroupIds */
} KrbPacSidKind;

/* SE_GROUP_RESOURCE (MS-PAC 2.2.1): a domain-local group of the resource domain. */
#define KRB_PAC_SE_GROUP_RESOURCE 0x20000000u
/* KERB_VALIDATION_INFO.UserFlags (MS-PAC 2.5): D = ExtraSids present,
 * H = ResourceGroupIds present. */
#define KRB_PAC_LOGON_EXTRA_SIDS 0x20u
#define KRB_PAC_LOGON_RESOURCE_GROUPS 0x200u

typedef struct KrbPacSid {
        char *sid;              /* "S-1-5-21-...", UTF-8 */
        uint32_t attributes;    /* SE_GROUP_* */
        KrbPacSidKind kind;
} KrbPacSid;

typedef struct KrbPac {
        /* KERB_VALIDATION_INFO (PAC_LOGON_INFO, type 1). Strings are UTF-8,
         * never NULL ("" when the PAC left them out). */
        char *effective_name;           /* sAMAccountName */
        char *full_name;
        char *logon_server;
        char *logon_domain;             /* NetBIOS domain name */
        char *domain_sid;               /* LogonDomainId */
        char *user_sid;                 /* LogonDomainId + UserId */
        char *primary_group_sid;        /* LogonDomainId + PrimaryGroupId */
        uint32_t user_id, primary_group_id, user_flags, user_account_control;
        char *resource_domain_sid;      /* NULL without resource groups */
        KrbPacSid *sids;                /* GroupIds, ExtraSids, ResourceGroupIds in that order */
        size_t n_sids;
        /* PAC_CLIENT_INFO (type 10): the client's name and the ticket's
         * authtime as a FILETIME; Heimdal's krb5_pac_verify has checked
         * both against the ticket. */
        char *client_name;
        uint64_t client_id;
        /* UPN_DNS_INFO (type 12), when present. */
        bool has_upn;
        char *upn, *dns_domain;
        uint32_t upn_flags;
        char *sam_name, *upn_sid;       /* NULL unless the S flag (extended form) is set */
} KrbPac;

/* Bounds on what a PAC may hold before anything is allocated. */
#define KRB_PAC_MAX_SIZE (1024 * 1024)
#define KRB_PAC_MAX_BUFFERS 64
#define KRB_PAC_MAX_SUBAUTH 15

/*
 * Decode a PAC (the AD-WIN2K-PAC element's bytes): its PACTYPE header and
 * buffer table, then the logon info (NDR, MS-RPCE type serialization
 * version 1), the client info and the UPN/DNS info. Signatures are not
 * looked at here. Returns 0 and *ret (free with krb_pac_free), -EBADMSG
 * for a malformed PAC or one without exactly one logon info and one
 * client info, -ENOMEM.
 */
int krb_pac_decode(const uint8_t *pac, size_t len, KrbPac **ret) __attribute__((warn_unused_result));
void krb_pac_free(KrbPac *p);

/* "DOMAIN\user" (LogonDomainName\EffectiveName), malloc()ed; NULL when
 * out of memory. What Windows names an account logged on with a PAC. */
char *krb_pac_account_name(const KrbPac *p);

/* The identity of an established acceptor context (a KrbCtx of the
 * Kerberos provider), NULL when its ticket had no PAC or for any other
 * context. The pointer lives as long as the context. */
const KrbPac *krb_ctx_pac(const void *krb_ctx);

/* The same for a Negotiate context whose inner mechanism is Kerberos
 * (defined in negotiate/negotiate.c, which knows both); NULL after NTLM. */
const KrbPac *negotiate_ctx_pac(const void *nego_ctx);
