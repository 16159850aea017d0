/* SPDX-License-Identifier: MIT */
/* EnumerateSecurityPackages, QuerySecurityPackageInfo. Twin of daemon/rpc/packages.c. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One block per SecPkgInfo array: the structs, then their strings, so that
 * one FreeContextBuffer releases everything. */
SECURITY_STATUS pkginfo_block(Sspiw__PackageInfo **p, size_t n, bool wide, void **ret) {
        size_t sz = n * sizeof(SecPkgInfoA), off;
        uint8_t *blk;

        for (size_t i = 0; i < n; i++) {
                size_t a = strlen(p[i]->name) + 1, b = strlen(p[i]->comment) + 1;
                sz += wide ? (a + b) * sizeof(SEC_WCHAR) * 2 : a + b; /* UTF-16 never needs more units than UTF-8 bytes */
        }
        blk = calloc(1, sz ? sz : 1);
        if (!blk)
                return SEC_E_INSUFFICIENT_MEMORY;
        off = n * sizeof(SecPkgInfoA);
        for (size_t i = 0; i < n; i++) {
                SecPkgInfoA *a = (SecPkgInfoA *) (blk + i * sizeof(SecPkgInfoA));
                const char *strs[2] = { p[i]->name, p[i]->comment };
                void *dst[2];

                a->fCapabilities = p[i]->capabilities;
                a->wVersion = (uint16_t) p[i]->version;
                a->wRPCID = (uint16_t) p[i]->rpcid;
                a->cbMaxToken = p[i]->max_token;
                for (int k = 0; k < 2; k++) {
                        if (wide) {
                                SEC_WCHAR *w = NULL;
                                size_t units;
                                off = (off + 1) & ~(size_t) 1;
                                if (utf8_to_utf16(strs[k], &w) < 0) {
                                        free(blk);
                                        return SEC_E_INTERNAL_ERROR;
                                }
                                units = utf16_len(w) + 1;
                                memcpy(blk + off, w, units * sizeof(SEC_WCHAR));
                                free(w);
                                dst[k] = blk + off;
                                off += units * sizeof(SEC_WCHAR);
                        } else {
                                size_t l = strlen(strs[k]) + 1;
                                memcpy(blk + off, strs[k], l);
                                dst[k] = blk + off;
                                off += l;
                        }
                }
                /* SecPkgInfoA and SecPkgInfoW share one layout. */
                a->Name = dst[0];
                a->Comment = dst[1];
        }
        *ret = blk;
        return SEC_E_OK;
}

typedef struct EnumState {
        uint32_t *pcPackages;
        void **ppPackageInfo;
        bool wide;
} EnumState;

static SECURITY_STATUS enum_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        EnumState *s = state;
        void *blk = NULL;

        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_ENUM_PACKAGES_REP)
                return SEC_E_INTERNAL_ERROR;
        st = pkginfo_block(rep->enum_packages_rep->packages, rep->enum_packages_rep->n_packages, s->wide, &blk);
        if (st != SEC_E_OK)
                return st;
        *s->pcPackages = (uint32_t) rep->enum_packages_rep->n_packages;
        *s->ppPackageInfo = blk;
        return SEC_E_OK;
}

static SECURITY_STATUS enum_packages(uint32_t *pc, void **pp, bool wide) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__EnumPackagesReq e = SSPIW__ENUM_PACKAGES_REQ__INIT;
        EnumState s = { pc, pp, wide };

        if (!pc || !pp)
                return SEC_E_INVALID_PARAMETER;
        req.body_case = SSPIW__ENVELOPE__BODY_ENUM_PACKAGES;
        req.enum_packages = &e;
        return call_run(NULL, &req, enum_finish, &s, sizeof(s));
}

_public_ SECURITY_STATUS EnumerateSecurityPackagesA(ULONG *pcPackages, PSecPkgInfoA *ppPackageInfo) {
        return enum_packages(pcPackages, (void **) ppPackageInfo, false);
}

_public_ SECURITY_STATUS EnumerateSecurityPackagesW(ULONG *pcPackages, PSecPkgInfoW *ppPackageInfo) {
        return enum_packages(pcPackages, (void **) ppPackageInfo, true);
}

typedef struct QueryState {
        void **ppPackageInfo;
        bool wide;
} QueryState;

static SECURITY_STATUS query_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        QueryState *s = state;

        if (st != SEC_E_OK)
                return st;
        if (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_QUERY_PACKAGE_REP)
                return SEC_E_INTERNAL_ERROR;
        return pkginfo_block(&rep->query_package_rep->info, 1, s->wide, s->ppPackageInfo);
}

static SECURITY_STATUS query_package(const char *name, void **pp, bool wide) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__QueryPackageReq q = SSPIW__QUERY_PACKAGE_REQ__INIT;
        QueryState s = { pp, wide };

        /* No name names no package (Windows answers a NULL package name of
         * AcquireCredentialsHandle the same way). */
        if (!name)
                return SEC_E_SECPKG_NOT_FOUND;
        if (!pp)
                return SEC_E_INVALID_PARAMETER;
        q.name = (char *) name;
        req.body_case = SSPIW__ENVELOPE__BODY_QUERY_PACKAGE;
        req.query_package = &q;
        return call_run(NULL, &req, query_finish, &s, sizeof(s));
}

_public_ SECURITY_STATUS QuerySecurityPackageInfoA(const SEC_CHAR *pszPackageName, PSecPkgInfoA *ppPackageInfo) {
        return query_package(pszPackageName, (void **) ppPackageInfo, false);
}

_public_ SECURITY_STATUS QuerySecurityPackageInfoW(const SEC_WCHAR *pszPackageName, PSecPkgInfoW *ppPackageInfo) {
        char *name = NULL;
        SECURITY_STATUS st;

        if (!pszPackageName)
                return SEC_E_SECPKG_NOT_FOUND;
        if (!ppPackageInfo)
                return SEC_E_INVALID_PARAMETER;
        if (utf16_to_utf8(pszPackageName, SIZE_MAX, &name) < 0)
                return SEC_E_SECPKG_NOT_FOUND;
        st = query_package(name, (void **) ppPackageInfo, true);
        free(name);
        return st;
}

_public_ SECURITY_STATUS FreeContextBuffer(PVOID pvContextBuffer) {
        /* Everything the library hands out is one malloc() block, but a
         * certificate context, which lives in its store. */
        if (!cert_context_release(pvContextBuffer))
                free(pvContextBuffer);
        return SEC_E_OK;
}
