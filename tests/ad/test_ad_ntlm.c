/* SPDX-License-Identifier: MIT */
/*
 * A peer that is not ours: the DC itself judges our NTLM client. Samba's
 * ntlm_auth (squid-2.5-ntlmssp helper protocol) is the server side; it
 * hands the NTLMv2 response to the DC's winbindd, which checks it against
 * the account in the directory (what a Windows server does through
 * NETLOGON). "AF CORP\alice" means the DC accepted our response. Run by
 * tests/ad/run.sh in the DC's namespaces.
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const uint8_t *in, size_t n, char *out) {
        size_t i;
        for (i = 0; i + 2 < n; i += 3) {
                *out++ = b64[in[i] >> 2];
                *out++ = b64[(in[i] & 3) << 4 | in[i + 1] >> 4];
                *out++ = b64[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
                *out++ = b64[in[i + 2] & 63];
        }
        if (i < n) {
                *out++ = b64[in[i] >> 2];
                if (i + 1 < n) {
                        *out++ = b64[(in[i] & 3) << 4 | in[i + 1] >> 4];
                        *out++ = b64[(in[i + 1] & 15) << 2];
                } else {
                        *out++ = b64[(in[i] & 3) << 4];
                        *out++ = '=';
                }
                *out++ = '=';
        }
        *out = 0;
}

static size_t b64_decode(const char *in, uint8_t *out, size_t cap) {
        uint32_t acc = 0;
        int bits = 0;
        size_t n = 0;

        for (; *in && *in != '='; in++) {
                const char *p = strchr(b64, *in);
                if (!p || !*in)
                        break;
                acc = acc << 6 | (uint32_t) (p - b64);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n < cap)
                                out[n++] = (uint8_t) (acc >> bits);
                }
        }
        return n;
}

typedef struct Helper {
        pid_t pid;
        FILE *to, *from;
} Helper;

static bool helper_start(Helper *h) {
        const char *dir = getenv("AD_DIR");
        char conf[512];
        int in[2], out[2];

        snprintf(conf, sizeof(conf), "--configfile=%s/dc/etc/smb.conf", dir ? dir : ".");
        if (pipe(in) < 0 || pipe(out) < 0)
                return false;
        h->pid = fork();
        if (h->pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                close(in[1]);
                close(out[0]);
                execlp("ntlm_auth", "ntlm_auth", conf, "--helper-protocol=squid-2.5-ntlmssp", (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        h->to = fdopen(in[1], "w");
        h->from = fdopen(out[0], "r");
        return h->pid > 0 && h->to && h->from;
}

static void helper_stop(Helper *h) {
        if (h->to)
                fclose(h->to);
        if (h->from)
                fclose(h->from);
        if (h->pid > 0)
                waitpid(h->pid, NULL, 0);
}

/* One request line, one answer line (without the newline). */
static bool helper_say(Helper *h, const char *verb, const uint8_t *tok, size_t n, char *answer, size_t cap) {
        static char enc[16384];

        b64_encode(tok, n, enc);
        fprintf(h->to, "%s %s\n", verb, enc);
        fflush(h->to);
        if (!fgets(answer, (int) cap, h->from))
                return false;
        answer[strcspn(answer, "\n")] = 0;
        return true;
}

/* Our NTLM client (user CORP\user) against ntlm_auth; returns the helper's
 * final line ("AF ..." or "NA ..."). */
static bool ntlm_logon(const char *user, const char *password, char *answer, size_t cap) {
        static char line[16384];
        uint8_t tok[4096], chal[4096];
        SecBuffer ob, ib;
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob }, idesc = { SECBUFFER_VERSION, 1, &ib };
        CredHandle c;
        CtxtHandle ctx;
        ULONG attrs;
        Helper h = { 0 };
        SECURITY_STATUS st;
        size_t n;
        bool ok = false;

        answer[0] = 0;
        if (t_cred_identity("NTLM", user, getenv("AD_DOMAIN"), password, &c) != SEC_E_OK)
                return false;
        if (!helper_start(&h))
                goto out;
        ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
        st = InitializeSecurityContextA(&c, NULL, "HTTP/web.corp.test", ISC_REQ_CONNECTION, 0, SECURITY_NATIVE_DREP,
                                        NULL, 0, &ctx, &od, &attrs, NULL);
        if (st != SEC_I_CONTINUE_NEEDED || !helper_say(&h, "YR", tok, ob.cbBuffer, line, sizeof(line)) ||
            strncmp(line, "TT ", 3)) {
                snprintf(answer, cap, "negotiate: %s / %.200s", status_name(st), line);
                goto out_ctx;
        }
        n = b64_decode(line + 3, chal, sizeof(chal));
        ob = (SecBuffer) { sizeof(tok), SECBUFFER_TOKEN, tok };
        ib = (SecBuffer) { (ULONG) n, SECBUFFER_TOKEN, chal };
        st = InitializeSecurityContextA(&c, &ctx, "HTTP/web.corp.test", ISC_REQ_CONNECTION, 0, SECURITY_NATIVE_DREP,
                                        &idesc, 0, &ctx, &od, &attrs, NULL);
        if (st != SEC_E_OK || !helper_say(&h, "KK", tok, ob.cbBuffer, line, sizeof(line))) {
                snprintf(answer, cap, "authenticate: %s", status_name(st));
                goto out_ctx;
        }
        snprintf(answer, cap, "%.200s", line);
        ok = true;
out_ctx:
        DeleteSecurityContext(&ctx);
out:
        helper_stop(&h);
        FreeCredentialsHandle(&c);
        return ok;
}

int main(void) {
        char answer[1024], want[128];

        if (!getenv("AD_DOMAIN") || !getenv("AD_DIR") || !getenv("SSPID_SOCKET")) {
                t_ok(false, "run by tests/ad/run.sh (AD_DOMAIN, AD_DIR, SSPID_SOCKET set)");
                return t_done();
        }
        signal(SIGPIPE, SIG_IGN);
        snprintf(want, sizeof(want), "AF %s\\alice", getenv("AD_DOMAIN"));
        t_ok(ntlm_logon("alice", "Alice-pw-1", answer, sizeof(answer)) && !strcmp(answer, want),
             "the DC (ntlm_auth -> winbindd -> SAM; Samba 4.17 takes NTLMv2 only) accepts our response for CORP\\alice: \"%s\"", answer);
        t_ok(ntlm_logon("alice", "wrong-pw-1", answer, sizeof(answer)) && !strncmp(answer, "NA ", 3),
             "and refuses one made with a wrong password: \"%s\"", answer);
        snprintf(want, sizeof(want), "AF %s\\hank", getenv("AD_DOMAIN"));
        t_ok(ntlm_logon("hank", "Hank-pw-1", answer, sizeof(answer)) && !strcmp(answer, want),
             "hank (UPN henry@corp.test) is %s over NTLM at the DC: \"%s\"", want + 3, answer);
        return t_done();
}
