/* SPDX-License-Identifier: MIT */
/*
 * Why the NTLM acceptor refused a logon (issue 15 item 6). The client gets
 * SEC_E_LOGON_DENIED for both reasons a local store can give, as Windows'
 * NTLM does; the administrator gets the reason, as Windows' security log
 * gives it (event 4625, SubStatus STATUS_NO_SUCH_USER or
 * STATUS_WRONG_PASSWORD). A store holds no disabled, expired or
 * must-change state, so these two are all there is. The names are the
 * client's: the line is escaped (util/escape.h); no hash or response.
 */
#include "packages/ntlm/ntlm-private.h"

#include <stdio.h>

#include "util/escape.h"

void ntlm_log_refusal(const NtlmCred *cred, const char *domain, const char *user, bool known) {
        char raw[1024], out[4 * sizeof(raw) + sizeof(ESCAPE_TRUNCATED)];

        snprintf(raw, sizeof(raw), "logon of %s\\%s refused: %s (%s); store domain %s; returning 0x%08x", domain,
                 user, known ? "wrong password" : "unknown user",
                 known ? "STATUS_WRONG_PASSWORD" : "STATUS_NO_SUCH_USER",
                 cred->store_domain ? cred->store_domain : "-", (unsigned) SEC_E_LOGON_DENIED);
        escape_text(out, sizeof(out), raw, sizeof(raw));
        fprintf(stderr, "ntlm: %s\n", out);
}
