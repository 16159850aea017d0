/* SPDX-License-Identifier: MIT */
/* The packages compiled into sspid. Enumerate only what works. */
#include <strings.h>

#include "packages/provider.h"

extern const Provider provider_kerberos;
extern const Provider provider_digest;
extern const Provider provider_ntlm;
extern const Provider provider_negotiate;
extern const Provider provider_schannel;
extern const Provider provider_credssp;

/* In the order Windows enumerates them (a program that takes "the first
 * package with SECPKG_FLAG_NEGOTIABLE" or shows the list finds the same). */
const Provider *const providers[] = {
        &provider_negotiate,
        &provider_kerberos,
        &provider_ntlm,
        &provider_digest,
        &provider_schannel,
        &provider_credssp,
        NULL,
};

/* What EnumerateSecurityPackages lists. Windows lists Schannel three times,
 * under each name its SSP registers, each entry naming itself. The other
 * aliases (the legacy "Microsoft TLS 1.0" and the like) are accepted by
 * name but not listed: Windows lists none of them. */
const PackageListing package_listing[] = {
        { &provider_negotiate, NULL },
        { &provider_kerberos, NULL },
        { &provider_ntlm, NULL },
        { &provider_digest, NULL },
        { &provider_schannel, NULL },
        { &provider_schannel, UNISP_NAME_A },
        { &provider_schannel, DEFAULT_TLS_SSP_NAME_A },
        { &provider_credssp, NULL },
        {},
};

const Provider *provider_find(const char *name) {
        if (!name)
                return NULL;
        for (const Provider *const *p = providers; *p; p++) {
                if (!strcasecmp((*p)->name, name))
                        return *p;
                for (const char *const *a = (*p)->aliases; a && *a; a++)
                        if (!strcasecmp(*a, name))
                                return *p;
        }
        return NULL;
}

const char *provider_listed_name(const Provider *p, const char *asked) {
        if (asked)
                for (const PackageListing *l = package_listing; l->provider; l++)
                        if (l->provider == p && l->name && !strcasecmp(l->name, asked))
                                return l->name;
        return p->name;
}
