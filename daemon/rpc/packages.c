/* SPDX-License-Identifier: MIT */
/* EnumerateSecurityPackages and QuerySecurityPackageInfo: answered from the
 * provider table, on the event loop. Twin of client-lib/packages.c. */
#include "core/dispatch.h"

#include <stdlib.h>

static void fill_info(const Provider *p, const char *name, Sspiw__PackageInfo *info) {
        sspiw__package_info__init(info);
        info->capabilities = p->capabilities;
        info->version = p->version;
        info->rpcid = p->rpcid;
        info->max_token = p->max_token;
        info->name = (char *) (name ? name : p->name);
        info->comment = (char *) p->comment;
}

/* Shared with context.c for SECPKG_ATTR_PACKAGE_INFO. */
Sspiw__PackageInfo *package_info_new(Job *job, const Provider *p) {
        Sspiw__PackageInfo *info = malloc(sizeof(*info));

        if (!info)
                return NULL;
        fill_info(p, NULL, info);
        job_defer_free(job, info);
        return info;
}

SECURITY_STATUS rpc_enum_packages(Job *job, Sspiw__Envelope *reply) {
        Sspiw__EnumPackagesRep *rep;
        Sspiw__PackageInfo *infos, **ptrs;
        size_t n = 0;

        while (package_listing[n].provider)
                n++;
        rep = malloc(sizeof(*rep));
        infos = calloc(n ? n : 1, sizeof(*infos));
        ptrs = calloc(n ? n : 1, sizeof(*ptrs));
        if (!rep || !infos || !ptrs) {
                free(rep);
                free(infos);
                free(ptrs);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, rep);
        job_defer_free(job, infos);
        job_defer_free(job, ptrs);
        sspiw__enum_packages_rep__init(rep);
        for (size_t i = 0; i < n; i++) {
                fill_info(package_listing[i].provider, package_listing[i].name, &infos[i]);
                ptrs[i] = &infos[i];
        }
        rep->n_packages = n;
        rep->packages = ptrs;
        reply->body_case = SSPIW__ENVELOPE__BODY_ENUM_PACKAGES_REP;
        reply->enum_packages_rep = rep;
        return SEC_E_OK;
}

SECURITY_STATUS rpc_query_package(Job *job, Sspiw__Envelope *reply) {
        const char *asked = job->req->query_package->name;
        const Provider *p = provider_find(asked);
        Sspiw__QueryPackageRep *rep;

        if (!p)
                return SEC_E_SECPKG_NOT_FOUND;
        rep = malloc(sizeof(*rep));
        if (!rep)
                return SEC_E_INSUFFICIENT_MEMORY;
        job_defer_free(job, rep);
        sspiw__query_package_rep__init(rep);
        rep->info = malloc(sizeof(*rep->info));
        if (!rep->info)
                return SEC_E_INSUFFICIENT_MEMORY;
        job_defer_free(job, rep->info);
        /* Asked as "Default TLS SSP", Windows answers with that name. */
        fill_info(p, provider_listed_name(p, asked), rep->info);
        reply->body_case = SSPIW__ENVELOPE__BODY_QUERY_PACKAGE_REP;
        reply->query_package_rep = rep;
        return SEC_E_OK;
}
