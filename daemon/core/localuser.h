/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The local account an authenticated client maps to, for
 * QuerySecurityContextToken, ImpersonateSecurityContext and
 * SECPKG_ATTR_ACCESS_TOKEN (rpc/token.c). It is what getpwnam() would tell
 * anyone on the host, so any acceptor may learn it; the switch of identity
 * itself happens in the caller's process, with the caller's privileges
 * (client-lib/token.c).
 *
 * The lookup goes through NSS (files, SSSD, winbind: whatever the host
 * uses) and may wait for a directory: run it on a worker, never on the loop.
 */

#include <stddef.h>
#include <sys/types.h>

#include "util/util.h"

struct Config;

typedef struct LocalUser {
        char *name;             /* the account's name as NSS spells it */
        uid_t uid;
        gid_t gid;
        gid_t *groups;          /* supplementary groups, getgrouplist() order */
        size_t n_groups;
} LocalUser;

void local_user_done(LocalUser *u);

/*
 * Map a package's client name (SECPKG_ATTR_NAMES of an accepted context)
 * to a local account:
 *  - "user@REALM" (Kerberos): krb5_aname_to_localname(), i.e. the realm's
 *    auth_to_local rules, by default the first component of a principal of
 *    the default realm;
 *  - "DOMAIN\user" (NTLM, Digest, a PAC's names): the name winbind gives
 *    ("DOMAIN\user"), then plain "user" when DOMAIN is this host's own: the
 *    domain of one of the [ntlm-store]s, or the first label of the default
 *    Kerberos realm (the NetBIOS name a domain gets by default, so a PAC's
 *    CORP\alice maps as alice@CORP.TEST does).
 * A bare name is not mapped: no package names an authenticated client so.
 * Returns 0, -ENOENT (no local account), -EINVAL (a name of neither form),
 * -ENOMEM, or another negative errno from NSS.
 */
typedef enum LocalUserForms {
        LOCALUSER_DOMAIN_USER = 1 << 0,  /* "DOMAIN\user" */
        LOCALUSER_PRINCIPAL = 1 << 1,    /* "user@REALM": Kerberos names only */
} LocalUserForms;

/* `forms`: the name forms the package's names may take. A name of another
 * form is -EINVAL: a Digest user or a certificate subject that happens to
 * read "alice@REALM" is no Kerberos principal. */
int localuser_lookup(const char *client_name, unsigned forms, const struct Config *config, LocalUser *ret) _wur_;
