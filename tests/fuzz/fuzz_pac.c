/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PAC decoder (daemon/packages/kerberos/pac-ndr.c):
 * the bytes of an AD-WIN2K-PAC element, as a ticket from a domain
 * controller carries them (the seeds are PACs of Samba AD DC tickets,
 * written by tests/ad/test_ad_pac with SSPID_PAC_CORPUS=DIR). Besides "no
 * crash, no overrun, no leak" it checks what a decoded PAC promises its
 * readers: every string present, every SID well formed, the SID count
 * within what the input could hold.
 */
#include <stdlib.h>
#include <string.h>

#include "packages/kerberos/kerberos-pac.h"

static void check_sid(const char *s) {
        if (!s || strncmp(s, "S-1-", 4) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        KrbPac *p = NULL;
        char *name;

        if (krb_pac_decode(data, size, &p) < 0) {
                if (p)
                        abort();
                return 0;
        }
        if (!p->effective_name || !p->full_name || !p->logon_server || !p->logon_domain || !p->client_name)
                abort();
        check_sid(p->domain_sid);
        check_sid(p->user_sid);
        check_sid(p->primary_group_sid);
        /* Each SID costs at least 8 bytes of input (a rid and its attributes). */
        if (p->n_sids > size / 8)
                abort();
        for (size_t i = 0; i < p->n_sids; i++)
                check_sid(p->sids[i].sid);
        if (p->resource_domain_sid)
                check_sid(p->resource_domain_sid);
        if (p->has_upn && (!p->upn || !p->dns_domain))
                abort();
        if (p->upn_sid)
                check_sid(p->upn_sid);
        name = krb_pac_account_name(p);
        if (name && strlen(name) != strlen(p->logon_domain) + 1 + strlen(p->effective_name))
                abort();
        free(name);
        krb_pac_free(p);
        return 0;
}
