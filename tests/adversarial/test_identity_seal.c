/* SPDX-License-Identifier: MIT */
/*
 * SspiEncryptAuthIdentityEx(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON):
 * sspid seals a password with a key it holds for the caller's uid (issue
 * 16, the ProtectIdentity RPC). Attacks from uid 65534 on a default daemon:
 *   A. root's sealed identity, marshalled (as a program would hand it to
 *      another of its processes, or leave it in a readable file), reaches
 *      uid 65534: opening it must fail (SEC_E_DECRYPT_FAILURE), as must a
 *      copy with one byte of the ciphertext flipped.
 *   B. four processes seal and open 64 KiB passwords (the most an
 *      identity holds) for 3 s, while root's victim round is measured: it
 *      is served within seconds, the daemon's RSS and log stay bounded,
 *      and root's sealed identity still opens afterwards.
 * Controls: root opens the very bytes uid 65534 could not (so A fails if
 * the key were shared), and the attackers open what they sealed
 * themselves (their requests were served, not refused).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"

#define FLOODERS 4
#define FLOOD_MS 3000
#define BIG 32765 /* characters: Windows' limit for one string of an identity */

static TDaemon d;

typedef struct Blob {
        ULONG len;
        char *bytes;
} Blob;

typedef struct Shared {
        volatile long rounds[FLOODERS];
        volatile int failures[FLOODERS];
} Shared;

static Shared *sh;
static int flooder;

static SEC_WCHAR *wide(const char *s, SEC_WCHAR *buf) {
        size_t i = 0;
        for (; s[i]; i++)
                buf[i] = (unsigned char) s[i];
        buf[i] = 0;
        return buf;
}

/* Root's password, sealed for root's logon session, as bytes. */
static bool root_blob(Blob *b) {
        SEC_WCHAR u[16], dm[16], p[32];
        PSEC_WINNT_AUTH_IDENTITY_OPAQUE id;
        bool ok;

        if (SspiEncodeStringsAsAuthIdentity(wide("alice", u), wide("SSPID", dm), wide("alice-pw-1", p), &id) !=
            SEC_E_OK)
                return false;
        ok = SspiEncryptAuthIdentityEx(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON, id) == SEC_E_OK &&
             SspiMarshalAuthIdentity(id, &b->len, &b->bytes) == SEC_E_OK;
        SspiFreeAuthIdentity(id);
        return ok;
}

/* Unmarshal and open (SAME_LOGON): the status. */
static SECURITY_STATUS open_blob(const Blob *b) {
        PSEC_WINNT_AUTH_IDENTITY_OPAQUE id = NULL;
        SECURITY_STATUS st = SspiUnmarshalAuthIdentity(b->len, b->bytes, &id);

        if (st == SEC_E_OK)
                st = SspiDecryptAuthIdentityEx(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON, id);
        SspiFreeAuthIdentity(id);
        return st;
}

/* In uid 65534: 0 when opening gives SEC_E_DECRYPT_FAILURE, 1 when it
 * opens, 2 for any other status. */
static int steal(void *arg) {
        SECURITY_STATUS st = open_blob(arg);
        return st == SEC_E_DECRYPT_FAILURE ? 0 : st == SEC_E_OK ? 1 : 2;
}

static int flood(void *arg) {
        SEC_WCHAR *pw = malloc((BIG + 1) * sizeof(SEC_WCHAR)), u[8];
        uint64_t end = t_now_ms() + FLOOD_MS;
        int me = flooder;

        if (!pw)
                return 3;
        for (int i = 0; i < BIG; i++)
                pw[i] = 'a' + i % 26;
        pw[BIG] = 0;
        while (t_now_ms() < end) {
                PSEC_WINNT_AUTH_IDENTITY_OPAQUE id;
                if (SspiEncodeStringsAsAuthIdentity(wide("x", u), NULL, pw, &id) != SEC_E_OK)
                        return 4;
                if (SspiEncryptAuthIdentityEx(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON, id) != SEC_E_OK ||
                    SspiDecryptAuthIdentityEx(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON, id) != SEC_E_OK ||
                    memcmp(((SEC_WINNT_AUTH_IDENTITY_EXW *) id)->Password, pw, BIG * sizeof(SEC_WCHAR)) != 0)
                        sh->failures[me]++;
                else
                        sh->rounds[me]++;
                SspiFreeAuthIdentity(id);
        }
        free(pw);
        return 0;
}

int main(void) {
        long rss0, rss1, log0, log1, cpu0, cpu1, ms;
        pid_t pids[FLOODERS];
        long rounds = 0;
        int failures = 0, r;
        Blob b = { 0 }, t;

        signal(SIGPIPE, SIG_IGN);
        sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED || !t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        if (!root_blob(&b)) {
                t_ok(false, "root seals an identity for its logon session");
                t_daemon_stop(&d);
                return t_done();
        }

        /* A. */
        r = t_run_as(T_ATTACKER, steal, &b);
        t_ok(r == 0, "uid 65534 cannot open root's logon-sealed password (SEC_E_DECRYPT_FAILURE; got %d)", r);
        t.len = b.len;
        t.bytes = malloc(b.len);
        memcpy(t.bytes, b.bytes, b.len);
        t.bytes[b.len - 20] ^= 1; /* inside the sealed password's ciphertext/tag */
        t_status(open_blob(&t), SEC_E_DECRYPT_FAILURE, "root: a flipped byte does not open");
        free(t.bytes);
        t_status(open_blob(&b), SEC_E_OK, "control: root opens the bytes uid 65534 could not");

        /* B. */
        rss0 = t_proc_rss_kib(d.pid);
        log0 = t_file_size(d.log);
        cpu0 = t_proc_cpu_ms(d.pid);
        for (int i = 0; i < FLOODERS; i++) {
                flooder = i;
                pids[i] = t_spawn_as(T_ATTACKER, flood, NULL);
        }
        ms = t_victim_ms(T_VICTIM, 30000);
        t_ok(ms >= 0, "victim (uid 0) served during the flood (%ld ms)", ms);
        for (int i = 0; i < FLOODERS; i++) {
                r = pids[i] > 0 ? t_wait_child(pids[i], FLOOD_MS + 30000) : -1;
                t_ok(r == 0, "flooder %d ended normally (%d)", i, r);
                rounds += sh->rounds[i];
                failures += sh->failures[i];
        }
        cpu1 = t_proc_cpu_ms(d.pid);
        rss1 = t_proc_rss_kib(d.pid);
        log1 = t_file_size(d.log);
        t_ok(rounds > 0 && failures == 0,
             "control: uid 65534 sealed and opened its own 64 KiB passwords (%ld rounds, %d failures)", rounds,
             failures);
        t_status(open_blob(&b), SEC_E_OK, "root's sealed identity still opens after the flood");
        ms = t_victim_ms(T_VICTIM, 30000);
        t_ok(ms >= 0, "victim (uid 0) served after the flood (%ld ms)", ms);
        printf("# flood: %ld seal+open rounds of 64 KiB; daemon CPU %ld ms, RSS %ld -> %ld KiB, log %ld -> %ld "
               "bytes\n",
               rounds, cpu1 - cpu0, rss0, rss1, log0, log1);
#if defined(__SANITIZE_ADDRESS__)
        const long rss_bound = 512 * 1024; /* ASan's quarantine */
#else
        const long rss_bound = 32 * 1024;
#endif
        t_ok(rss1 - rss0 < rss_bound, "daemon RSS grew by less than %ld MiB (%ld KiB)", rss_bound / 1024, rss1 - rss0);
        t_ok(log1 - log0 < 1024 * 1024, "daemon log grew by less than 1 MiB (%ld bytes)", log1 - log0);
        SspiLocalFree(b.bytes);
        t_daemon_stop(&d);
        return t_done();
}
