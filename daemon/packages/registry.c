/* SPDX-License-Identifier: MIT */
/* The packages compiled into sspid. Enumerate only what works. */
#include <strings.h>

#include "packages/provider.h"

extern const Provider provider_kerberos;
extern const Provider provider_digest;
extern const Provider provider_ntlm;
extern const Provider provider_negotiate;
extern const Provider provider_schannel;

const Provider *const providers[] = {
        &provider_kerberos,
        &provider_digest,
        &provider_ntlm,
        &provider_negotiate,
        &provider_schannel,
        NULL,
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
