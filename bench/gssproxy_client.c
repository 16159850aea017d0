/* SPDX-License-Identifier: MIT */
/*
 * The gssproxy baseline of `make bench` (bench/run.sh starts gssproxy and
 * runs this): the Kerberos handshake loop of bench/krb_handshake.c (ISC
 * with mutual authentication, ASC, ISC, delete both contexts), with MIT
 * krb5's GSSAPI in this process.
 *
 *   gssproxy_client proxy    the initiator in this process (alice's tickets
 *                            in a MEMORY ccache); the acceptor through the
 *                            gssproxy daemon at $GSSPROXY_SOCKET, by MIT's
 *                            interposer plugin (GSS_USE_PROXY=yes): this
 *                            process has no keytab, gssproxy holds it, as
 *                            in a real gssproxy deployment
 *   gssproxy_client proxy -x the check that the acceptor cannot work
 *                            without gssproxy: exits 0 when acquiring the
 *                            acceptor credential fails (run.sh points
 *                            $GSSPROXY_SOCKET at nothing), 1 when it works
 *   gssproxy_client inproc   both sides in this process with MIT krb5, the
 *                            acceptor from the service keytab (context for
 *                            gssproxy's figure)
 *
 * Built against MIT krb5 only (krb5-multidev's mit-krb5-gssapi): MIT and
 * Heimdal never meet in one binary. Heimdal's KDC of the test realm serves
 * the tickets. Options: -t SECONDS (default 2, or $SSPID_BENCH_SECONDS),
 * -w SECONDS warm-up (default 0.3). Environment: KRB5_CONFIG,
 * SSPID_REALM, SSPID_REALM_DIR (as testenv.sh leaves them); in proxy mode
 * GSSPROXY_SOCKET. Prints "RESULT <mode> handshakes_per_s=... n=...".
 * Fails (exit 1) only when a call returns an unexpected status.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#define TARGET_SERVICE "HTTP/localhost"

static double opt_seconds = 2.0;
static double opt_warmup = 0.3;
static bool opt_expect_no_acceptor;

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fputs("gssproxy_client: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

static const char *env_or(const char *name, const char *def) {
        const char *v = getenv(name);

        return v && *v ? v : def;
}

static const char *realm(void) {
        return env_or("SSPID_REALM", "SSPID.TEST");
}

static const char *realm_dir(void) {
        const char *d = getenv("SSPID_REALM_DIR");

        if (!d || !*d)
                die("SSPID_REALM_DIR is not set (source the testenv's env file first)");
        return d;
}

static void gss_report(const char *what, OM_uint32 maj, OM_uint32 min) {
        OM_uint32 ctx = 0, m;
        gss_buffer_desc b;

        fprintf(stderr, "gssproxy_client: %s failed: major 0x%08x, minor %u\n", what, maj, min);
        do {
                if (gss_display_status(&m, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &b) != GSS_S_COMPLETE)
                        break;
                fprintf(stderr, "  %.*s\n", (int) b.length, (const char *) b.value);
                gss_release_buffer(&m, &b);
        } while (ctx);
        ctx = 0;
        do {
                if (gss_display_status(&m, min, GSS_C_MECH_CODE, (gss_OID) gss_mech_krb5, &ctx, &b) !=
                    GSS_S_COMPLETE)
                        break;
                fprintf(stderr, "  %.*s\n", (int) b.length, (const char *) b.value);
                gss_release_buffer(&m, &b);
        } while (ctx);
}

static void gss_check(OM_uint32 maj, OM_uint32 min, const char *what) {
        if (!GSS_ERROR(maj))
                return;
        gss_report(what, maj, min);
        exit(1);
}

/* alice's TGT from the realm's KDC by password, into the MEMORY ccache that
 * KRB5CCNAME names: the initiator's default credential. */
static void initiator_tickets(void) {
        krb5_context k;
        krb5_ccache cc;
        krb5_principal client;
        krb5_creds creds;
        krb5_error_code ret;
        char name[256];
        const char *user = env_or("SSPID_BENCH_USER", "alice");

        ret = krb5_init_context(&k);
        if (ret)
                die("krb5_init_context: %d", ret);
        snprintf(name, sizeof(name), "%s@%s", user, realm());
        memset(&creds, 0, sizeof(creds));
        if ((ret = krb5_parse_name(k, name, &client)) ||
            (ret = krb5_get_init_creds_password(k, &creds, client, env_or("SSPID_BENCH_PASSWORD", "alice-pw-1"),
                                                NULL, NULL, 0, NULL, NULL)) ||
            (ret = krb5_cc_default(k, &cc)) || (ret = krb5_cc_initialize(k, cc, client)) ||
            (ret = krb5_cc_store_cred(k, cc, &creds))) {
                const char *msg = krb5_get_error_message(k, ret);
                die("%s's tickets: %s", name, msg);
        }
        printf("initiator: %s by password (MIT krb5 against the realm's KDC), in %s:%s\n", name,
               krb5_cc_get_type(k, cc), krb5_cc_get_name(k, cc));
        /* The MEMORY ccache lives while this process does: the GSS mech
         * resolves it by name. */
        krb5_cc_close(k, cc);
        krb5_free_cred_contents(k, &creds);
        krb5_free_principal(k, client);
        krb5_free_context(k);
}

/* { krb5 }, filled in by run(): MIT exports the OID as a variable. */
static gss_OID_set_desc krb5_mechs;

static gss_name_t service_name(void) {
        char name[256];
        gss_buffer_desc nb;
        gss_name_t n = GSS_C_NO_NAME;
        OM_uint32 maj, min;

        snprintf(name, sizeof(name), "%s@%s", TARGET_SERVICE, realm());
        nb.value = name;
        nb.length = strlen(name);
        maj = gss_import_name(&min, &nb, (gss_OID) GSS_KRB5_NT_PRINCIPAL_NAME, &n);
        gss_check(maj, min, "gss_import_name(service)");
        return n;
}

typedef struct Run {
        uint64_t n, warmup_n, elapsed_ns;
        uint64_t step_ns[5];
} Run;

static const char *const step_names[5] = { "ISC#1", "ASC", "ISC#2", "delete(client)", "delete(server)" };

static void handshake(gss_cred_id_t icred, gss_cred_id_t acred, gss_name_t target, uint64_t *steps) {
        gss_ctx_id_t ictx = GSS_C_NO_CONTEXT, actx = GSS_C_NO_CONTEXT;
        gss_buffer_desc t1 = GSS_C_EMPTY_BUFFER, t2 = GSS_C_EMPTY_BUFFER, t3 = GSS_C_EMPTY_BUFFER;
        OM_uint32 maj, min, flags = 0;
        uint64_t t[6];

        t[0] = now_ns();
        maj = gss_init_sec_context(&min, icred, &ictx, target, (gss_OID) gss_mech_krb5, GSS_C_MUTUAL_FLAG, 0,
                                   GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &t1, &flags, NULL);
        if (maj != GSS_S_CONTINUE_NEEDED) {
                gss_report("gss_init_sec_context #1 (expected GSS_S_CONTINUE_NEEDED)", maj, min);
                exit(1);
        }
        t[1] = now_ns();
        maj = gss_accept_sec_context(&min, &actx, acred, &t1, GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL, &t2, &flags,
                                     NULL, NULL);
        if (maj != GSS_S_COMPLETE || t2.length == 0) {
                gss_report("gss_accept_sec_context (expected GSS_S_COMPLETE and an AP-REP)", maj, min);
                exit(1);
        }
        t[2] = now_ns();
        maj = gss_init_sec_context(&min, icred, &ictx, target, (gss_OID) gss_mech_krb5, GSS_C_MUTUAL_FLAG, 0,
                                   GSS_C_NO_CHANNEL_BINDINGS, &t2, NULL, &t3, &flags, NULL);
        if (maj != GSS_S_COMPLETE) {
                gss_report("gss_init_sec_context #2 (expected GSS_S_COMPLETE)", maj, min);
                exit(1);
        }
        t[3] = now_ns();
        gss_release_buffer(&min, &t1);
        gss_release_buffer(&min, &t2);
        gss_release_buffer(&min, &t3);
        maj = gss_delete_sec_context(&min, &ictx, GSS_C_NO_BUFFER);
        gss_check(maj, min, "gss_delete_sec_context(initiator)");
        t[4] = now_ns();
        maj = gss_delete_sec_context(&min, &actx, GSS_C_NO_BUFFER);
        gss_check(maj, min, "gss_delete_sec_context(acceptor)");
        t[5] = now_ns();
        if (steps)
                for (int i = 0; i < 5; i++)
                        steps[i] += t[i + 1] - t[i];
}

static int run(bool proxy) {
        char ccname[64], ktname[4200];
        gss_cred_id_t icred = GSS_C_NO_CREDENTIAL, acred = GSS_C_NO_CREDENTIAL;
        gss_name_t target;
        OM_uint32 maj, min;
        Run r = { 0 };
        uint64_t start, end;
        double secs, rate;

        /* Set before the first GSS call: the mechglue reads them once. */
        snprintf(ccname, sizeof(ccname), "MEMORY:sspid-bench-%ld", (long) getpid());
        setenv("KRB5CCNAME", ccname, 1);
        if (proxy) {
                const char *sock = getenv("GSSPROXY_SOCKET");

                if (!sock || !*sock)
                        die("GSSPROXY_SOCKET is not set (bench/run.sh starts gssproxy and sets it)");
                setenv("GSS_USE_PROXY", "yes", 1);
                setenv("GSSPROXY_BEHAVIOR", "LOCAL_FIRST", 1);
                /* No keytab in this process: the local acceptor fails, the
                 * interposer takes the acceptor to gssproxy. */
                snprintf(ktname, sizeof(ktname), "FILE:%s/no-such.keytab", realm_dir());
                if (access(ktname + 5, F_OK) == 0)
                        die("%s exists; it must not", ktname + 5);
        } else {
                unsetenv("GSS_USE_PROXY");
                snprintf(ktname, sizeof(ktname), "FILE:%s/service.keytab", realm_dir());
        }
        setenv("KRB5_KTNAME", ktname, 1);

        krb5_mechs = (gss_OID_set_desc) { 1, (gss_OID) gss_mech_krb5 };
        target = service_name();
        maj = gss_acquire_cred(&min, target, GSS_C_INDEFINITE, &krb5_mechs, GSS_C_ACCEPT, &acred, NULL, NULL);
        if (opt_expect_no_acceptor) {
                if (!GSS_ERROR(maj))
                        die("the acceptor credential was acquired without gssproxy (GSSPROXY_SOCKET=%s): "
                            "the proxy figure would not measure gssproxy",
                            env_or("GSSPROXY_SOCKET", ""));
                printf("ok - without gssproxy (GSSPROXY_SOCKET=%s) this process has no acceptor credential "
                       "(major 0x%08x)\n",
                       env_or("GSSPROXY_SOCKET", ""), maj);
                return 0;
        }
        gss_check(maj, min, proxy ? "gss_acquire_cred(acceptor, through gssproxy)" : "gss_acquire_cred(acceptor)");
        if (proxy)
                printf("acceptor: %s@%s through gssproxy at %s (this process: KRB5_KTNAME=%s, absent)\n",
                       TARGET_SERVICE, realm(), getenv("GSSPROXY_SOCKET"), ktname);
        else
                printf("acceptor: %s@%s in this process, from %s\n", TARGET_SERVICE, realm(), ktname);

        initiator_tickets();
        maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &krb5_mechs, GSS_C_INITIATE, &icred, NULL,
                               NULL);
        gss_check(maj, min, "gss_acquire_cred(initiator)");

        /* Warm-up: the first handshake fetches the service ticket. */
        end = now_ns() + (uint64_t) (opt_warmup * 1e9);
        do {
                handshake(icred, acred, target, NULL);
                r.warmup_n++;
        } while (r.warmup_n < 3 || now_ns() < end);

        start = now_ns();
        end = start + (uint64_t) (opt_seconds * 1e9);
        do {
                handshake(icred, acred, target, r.step_ns);
                r.n++;
        } while (now_ns() < end);
        r.elapsed_ns = now_ns() - start;

        secs = r.elapsed_ns / 1e9;
        rate = r.n / secs;
        printf("%s: %llu handshakes in %.2f s = %.1f handshakes/s (%.1f us each)\n",
               proxy ? "MIT krb5, acceptor through gssproxy" : "MIT krb5 in-process, both sides",
               (unsigned long long) r.n, secs, rate, 1e6 / rate);
        printf("  mean per step:");
        for (int i = 0; i < 5; i++)
                printf(" %s %.1f us%s", step_names[i], r.step_ns[i] / (double) r.n / 1000.0, i < 4 ? "," : "\n");
        printf("RESULT %s handshakes_per_s=%.1f n=%llu warmup_n=%llu seconds=%.3f", proxy ? "gssproxy" : "mit_inproc",
               rate, (unsigned long long) r.n, (unsigned long long) r.warmup_n, secs);
        for (int i = 0; i < 5; i++)
                printf(" step%d_us=%.2f", i + 1, r.step_ns[i] / (double) r.n / 1000.0);
        printf("\n");
        fflush(stdout);

        gss_release_cred(&min, &icred);
        gss_release_cred(&min, &acred);
        gss_release_name(&min, &target);
        return 0;
}

static void usage(void) {
        fprintf(stderr, "usage: gssproxy_client proxy [-x] | inproc [-t SECONDS] [-w SECONDS]\n");
        exit(2);
}

static double parse_seconds(const char *s) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || v < 0 || v > 3600)
                usage();
        return v;
}

int main(int argc, char **argv) {
        const char *mode;
        int c;

        if (getenv("SSPID_BENCH_SECONDS"))
                opt_seconds = parse_seconds(getenv("SSPID_BENCH_SECONDS"));
        while ((c = getopt(argc, argv, "t:w:xh")) != -1)
                switch (c) {
                case 't':
                        opt_seconds = parse_seconds(optarg);
                        break;
                case 'w':
                        opt_warmup = parse_seconds(optarg);
                        break;
                case 'x':
                        opt_expect_no_acceptor = true;
                        break;
                default:
                        usage();
                }
        if (optind + 1 != argc)
                usage();
        mode = argv[optind];
        if (opt_seconds <= 0)
                opt_seconds = 0.001;
        if (!strcmp(mode, "proxy"))
                return run(true);
        if (!strcmp(mode, "inproc") && !opt_expect_no_acceptor)
                return run(false);
        usage();
}
