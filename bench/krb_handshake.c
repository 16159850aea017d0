/* SPDX-License-Identifier: MIT */
/*
 * Kerberos handshake and round-trip benchmarks (what `make bench` runs,
 * through bench/run.sh).
 *
 *   krb_handshake inproc    ISC, ASC, ISC, delete both, with Heimdal GSSAPI
 *                           in this process (the baseline)
 *   krb_handshake daemon    the same loop through libsspi and sspid
 *   krb_handshake rtt       QueryContextAttributes(SECPKG_ATTR_FLAGS) round
 *                           trips on an established context (FLAGS: the
 *                           library keeps SIZES, it no longer crosses)
 *   krb_handshake pingpong  a raw AF_UNIX SOCK_STREAM ping-pong between two
 *                           processes, with messages of about the size of a
 *                           QueryContextAttributes request and reply
 *   krb_handshake wrap-inproc  gss_wrap (confidentiality) + gss_unwrap of a
 *                           1 KiB message between two established Heimdal
 *                           contexts in this process (the baseline)
 *   krb_handshake wrap      EncryptMessage + DecryptMessage of the same
 *                           1 KiB message through libsspi and sspid
 *
 * Options: -t SECONDS  measuring time (default 2, or $SSPID_BENCH_SECONDS)
 *          -w SECONDS  warm-up time (default 0.3)
 *          -s BYTES    ping-pong message size (default 48)
 *          -f          inproc: alice's tickets in a FILE ccache (as kinit
 *                      leaves them) instead of a MEMORY ccache
 *
 * Environment (as left by tests/tools/testenv.sh): SSPID_SOCKET,
 * KRB5_CONFIG, SSPID_REALM (default SSPID.TEST), SSPID_REALM_DIR (holds
 * service.keytab and perhaps alice.ccache); SSPID_BENCH_USER and
 * SSPID_BENCH_PASSWORD override alice / alice-pw-1.
 *
 * Each mode prints human text and one machine-readable line starting with
 * "RESULT <mode>". Timing uses CLOCK_MONOTONIC; nothing is asserted about
 * speed: the program fails (exit 1) only when a call returns an unexpected
 * status.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include "sspi.h"

#define TARGET_SERVICE "HTTP/localhost"

static double opt_seconds = 2.0;
static double opt_warmup = 0.3;
static size_t opt_size = 48;
static bool opt_file_ccache;

/* The message modes ask for what EncryptMessage needs; the handshake modes
 * for mutual authentication only. */
#define WRAP_BYTES 1024
static OM_uint32 gss_req_flags = GSS_C_MUTUAL_FLAG;
static ULONG isc_req_flags = ISC_REQ_MUTUAL_AUTH;
static ULONG asc_req_flags = ASC_REQ_MUTUAL_AUTH;

static void want_message_flags(void) {
        gss_req_flags = GSS_C_MUTUAL_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG | GSS_C_SEQUENCE_FLAG |
                        GSS_C_REPLAY_FLAG;
        isc_req_flags = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY |
                        ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT;
        asc_req_flags = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY |
                        ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT;
}

/* ---- small helpers ---- */

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fputs("krb_handshake: ", stderr);
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

static const char *bench_user(void) {
        return env_or("SSPID_BENCH_USER", "alice");
}

static const char *bench_password(void) {
        return env_or("SSPID_BENCH_PASSWORD", "alice-pw-1");
}

static const char *realm_dir(void) {
        const char *d = getenv("SSPID_REALM_DIR");

        if (!d || !*d)
                die("SSPID_REALM_DIR is not set (source the testenv's env file first)");
        return d;
}

/* Latency samples, in nanoseconds. */
typedef struct Samples {
        uint64_t *v;
        size_t n, cap;
} Samples;

static void samples_add(Samples *s, uint64_t ns) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 65536;
                uint64_t *v = realloc(s->v, cap * sizeof(*v));
                if (!v)
                        die("out of memory");
                s->v = v;
                s->cap = cap;
        }
        s->v[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

typedef struct LatencyStats {
        double mean_us, p50_us, p99_us, min_us;
} LatencyStats;

static LatencyStats samples_stats(Samples *s) {
        LatencyStats st = { 0 };
        long double sum = 0;

        if (s->n == 0)
                return st;
        for (size_t i = 0; i < s->n; i++)
                sum += s->v[i];
        qsort(s->v, s->n, sizeof(s->v[0]), cmp_u64);
        st.mean_us = (double) (sum / s->n) / 1000.0;
        st.p50_us = s->v[s->n / 2] / 1000.0;
        st.p99_us = s->v[(s->n * 99) / 100] / 1000.0;
        st.min_us = s->v[0] / 1000.0;
        return st;
}

/* Per-step times of a handshake, summed over the measured loop. */
enum { STEP_ISC1, STEP_ASC, STEP_ISC2, STEP_DEL_CLIENT, STEP_DEL_SERVER, N_STEPS };
static const char *const step_names[N_STEPS] = { "ISC#1", "ASC", "ISC#2", "delete(client)", "delete(server)" };

typedef struct HandshakeRun {
        uint64_t n, warmup_n;
        uint64_t elapsed_ns;
        uint64_t step_ns[N_STEPS];
        /* This process's context switches over the measured loop: when it
         * sleeps for a reply (voluntary) and when a woken daemon preempts
         * it (involuntary). Pinned with sspid, the least is one voluntary
         * switch per call that waits for a reply. */
        long nvcsw, nivcsw;
} HandshakeRun;

/* Marks the start (sign -1) or the end (sign +1) of the measured loop. */
static void count_switches(HandshakeRun *r, int sign) {
        struct rusage u;

        if (getrusage(RUSAGE_SELF, &u) == 0) {
                r->nvcsw += sign * u.ru_nvcsw;
                r->nivcsw += sign * u.ru_nivcsw;
        }
}

static void print_handshake_result(const char *mode, const char *what, const HandshakeRun *r) {
        double secs = r->elapsed_ns / 1e9;
        double rate = r->n / secs;

        printf("%s: %llu handshakes in %.2f s = %.1f handshakes/s (%.1f us each)\n", what,
               (unsigned long long) r->n, secs, rate, 1e6 / rate);
        printf("  mean per step:");
        for (int i = 0; i < N_STEPS; i++)
                printf(" %s %.1f us%s", step_names[i], r->step_ns[i] / (double) r->n / 1000.0,
                       i + 1 < N_STEPS ? "," : "\n");
        printf("  context switches of this process per handshake: %.2f voluntary, %.2f involuntary\n",
               r->nvcsw / (double) r->n, r->nivcsw / (double) r->n);
        printf("RESULT %s handshakes_per_s=%.1f n=%llu warmup_n=%llu seconds=%.3f", mode, rate,
               (unsigned long long) r->n, (unsigned long long) r->warmup_n, secs);
        for (int i = 0; i < N_STEPS; i++)
                printf(" step%d_us=%.2f", i + 1, r->step_ns[i] / (double) r->n / 1000.0);
        printf(" nvcsw=%.2f nivcsw=%.2f\n", r->nvcsw / (double) r->n, r->nivcsw / (double) r->n);
        fflush(stdout);
}

/* ---- inproc: Heimdal GSSAPI in this process ---- */

static krb5_context kctx;

static void krb5_check(krb5_error_code ret, const char *what) {
        const char *msg;

        if (ret == 0)
                return;
        msg = krb5_get_error_message(kctx, ret);
        fprintf(stderr, "krb_handshake: %s: %s\n", what, msg ? msg : "unknown error");
        exit(1);
}

static void gss_report(const char *what, OM_uint32 maj, OM_uint32 min) {
        OM_uint32 ctx = 0, m;
        gss_buffer_desc b;

        fprintf(stderr, "krb_handshake: %s failed: major 0x%08x, minor %u\n", what, maj, min);
        do {
                if (gss_display_status(&m, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &b) != GSS_S_COMPLETE)
                        break;
                fprintf(stderr, "  %.*s\n", (int) b.length, (const char *) b.value);
                gss_release_buffer(&m, &b);
        } while (ctx);
        ctx = 0;
        do {
                if (gss_display_status(&m, min, GSS_C_MECH_CODE, GSS_KRB5_MECHANISM, &ctx, &b) != GSS_S_COMPLETE)
                        break;
                fprintf(stderr, "  %.*s\n", (int) b.length, (const char *) b.value);
                gss_release_buffer(&m, &b);
        } while (ctx);
}

/* alice's initiator credential. By default in a MEMORY ccache (copied from
 * the kinit'd $SSPID_REALM_DIR/alice.ccache when there is one, else from the
 * KDC with the password): what a fast in-process program uses, and what a
 * daemon holding a password credential can use. With -f, a FILE ccache as
 * kinit leaves it (alice.ccache itself, or a temporary file): Heimdal then
 * reads the file on every gss_init_sec_context, which costs far more than
 * the rest of the handshake. */
static char tmp_ccache[4096];

static gss_cred_id_t inproc_initiator_cred(void) {
        char path[4096], name[4200];
        krb5_ccache mem;
        gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
        OM_uint32 maj, min;
        bool have_file;

        snprintf(path, sizeof(path), "%s/alice.ccache", realm_dir());
        have_file = access(path, R_OK) == 0 && !getenv("SSPID_BENCH_PASSWORD");
        if (opt_file_ccache && have_file) {
                snprintf(name, sizeof(name), "FILE:%s", path);
                krb5_check(krb5_cc_resolve(kctx, name, &mem), "krb5_cc_resolve(alice.ccache)");
                printf("initiator: %s's tickets in the FILE ccache %s\n", bench_user(), path);
        } else if (opt_file_ccache) {
                int fd;

                snprintf(tmp_ccache, sizeof(tmp_ccache), "%s/krb_handshake-ccache.XXXXXX",
                         env_or("TMPDIR", "/tmp"));
                fd = mkstemp(tmp_ccache);
                if (fd < 0)
                        die("mkstemp(%s): %s", tmp_ccache, strerror(errno));
                close(fd);
                snprintf(name, sizeof(name), "FILE:%s", tmp_ccache);
                krb5_check(krb5_cc_resolve(kctx, name, &mem), "krb5_cc_resolve(temporary FILE ccache)");
        } else
                krb5_check(krb5_cc_new_unique(kctx, "MEMORY", NULL, &mem), "krb5_cc_new_unique");

        if (opt_file_ccache && have_file) {
                /* used as it is */
        } else if (have_file) {
                krb5_ccache file;

                snprintf(name, sizeof(name), "FILE:%s", path);
                krb5_check(krb5_cc_resolve(kctx, name, &file), "krb5_cc_resolve(alice.ccache)");
                krb5_check(krb5_cc_copy_cache(kctx, file, mem), "krb5_cc_copy_cache(alice.ccache)");
                krb5_cc_close(kctx, file);
                printf("initiator: %s's tickets from %s, copied into a %s ccache\n", bench_user(), path,
                       krb5_cc_get_type(kctx, mem));
        } else {
                krb5_principal client;
                krb5_get_init_creds_opt *opt;
                krb5_creds creds;

                snprintf(name, sizeof(name), "%s@%s", bench_user(), realm());
                krb5_check(krb5_parse_name(kctx, name, &client), "krb5_parse_name(user)");
                krb5_check(krb5_get_init_creds_opt_alloc(kctx, &opt), "krb5_get_init_creds_opt_alloc");
                memset(&creds, 0, sizeof(creds));
                krb5_check(krb5_get_init_creds_password(kctx, &creds, client, bench_password(), NULL, NULL, 0, NULL,
                                                        opt),
                           "krb5_get_init_creds_password");
                krb5_check(krb5_cc_initialize(kctx, mem, client), "krb5_cc_initialize");
                krb5_check(krb5_cc_store_cred(kctx, mem, &creds), "krb5_cc_store_cred");
                krb5_free_cred_contents(kctx, &creds);
                krb5_get_init_creds_opt_free(kctx, opt);
                krb5_free_principal(kctx, client);
                printf("initiator: %s@%s by password, in a %s ccache\n", bench_user(), realm(),
                       krb5_cc_get_type(kctx, mem));
        }
        maj = gss_krb5_import_cred(&min, mem, NULL, NULL, &cred);
        if (GSS_ERROR(maj)) {
                gss_report("gss_krb5_import_cred(initiator)", maj, min);
                exit(1);
        }
        krb5_cc_close(kctx, mem);
        return cred;
}

/* The acceptor credential for HTTP/localhost from the realm's service
 * keytab, as an application with a keytab of its own would set it up. */
static gss_cred_id_t inproc_acceptor_cred(void) {
        char name[4200];
        krb5_keytab kt;
        krb5_principal princ;
        gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
        OM_uint32 maj, min;

        snprintf(name, sizeof(name), "FILE:%s/service.keytab", realm_dir());
        krb5_check(krb5_kt_resolve(kctx, name, &kt), "krb5_kt_resolve(service.keytab)");
        snprintf(name, sizeof(name), "%s@%s", TARGET_SERVICE, realm());
        krb5_check(krb5_parse_name(kctx, name, &princ), "krb5_parse_name(service)");
        maj = gss_krb5_import_cred(&min, NULL, princ, kt, &cred);
        if (GSS_ERROR(maj)) {
                gss_report("gss_krb5_import_cred(acceptor)", maj, min);
                exit(1);
        }
        krb5_free_principal(kctx, princ);
        krb5_kt_close(kctx, kt);
        printf("acceptor: %s@%s from %s/service.keytab\n", TARGET_SERVICE, realm(), realm_dir());
        return cred;
}

/* One handshake; the two contexts are deleted, or returned established
 * when ret_i is set. */
static void inproc_handshake(gss_cred_id_t icred, gss_cred_id_t acred, gss_name_t target, uint64_t *steps,
                             gss_ctx_id_t *ret_i, gss_ctx_id_t *ret_a) {
        gss_ctx_id_t ictx = GSS_C_NO_CONTEXT, actx = GSS_C_NO_CONTEXT;
        gss_buffer_desc t1 = GSS_C_EMPTY_BUFFER, t2 = GSS_C_EMPTY_BUFFER, t3 = GSS_C_EMPTY_BUFFER;
        OM_uint32 maj, min, flags = 0;
        uint64_t t[N_STEPS + 1];

        t[0] = now_ns();
        maj = gss_init_sec_context(&min, icred, &ictx, target, GSS_KRB5_MECHANISM, gss_req_flags, 0,
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
        maj = gss_init_sec_context(&min, icred, &ictx, target, GSS_KRB5_MECHANISM, gss_req_flags, 0,
                                   GSS_C_NO_CHANNEL_BINDINGS, &t2, NULL, &t3, &flags, NULL);
        if (maj != GSS_S_COMPLETE) {
                gss_report("gss_init_sec_context #2 (expected GSS_S_COMPLETE)", maj, min);
                exit(1);
        }
        t[3] = now_ns();
        gss_release_buffer(&min, &t1);
        gss_release_buffer(&min, &t2);
        gss_release_buffer(&min, &t3);
        if (ret_i) {
                *ret_i = ictx;
                *ret_a = actx;
                return;
        }
        maj = gss_delete_sec_context(&min, &ictx, GSS_C_NO_BUFFER);
        if (maj != GSS_S_COMPLETE) {
                gss_report("gss_delete_sec_context(initiator)", maj, min);
                exit(1);
        }
        t[4] = now_ns();
        maj = gss_delete_sec_context(&min, &actx, GSS_C_NO_BUFFER);
        if (maj != GSS_S_COMPLETE) {
                gss_report("gss_delete_sec_context(acceptor)", maj, min);
                exit(1);
        }
        t[5] = now_ns();
        if (steps)
                for (int i = 0; i < N_STEPS; i++)
                        steps[i] += t[i + 1] - t[i];
}

static gss_name_t inproc_setup(gss_cred_id_t *icred, gss_cred_id_t *acred) {
        gss_name_t target;
        gss_buffer_desc nb;
        char name[256];
        OM_uint32 maj, min;

        krb5_check(krb5_init_context(&kctx), "krb5_init_context");
        *icred = inproc_initiator_cred();
        *acred = inproc_acceptor_cred();
        snprintf(name, sizeof(name), "%s@%s", TARGET_SERVICE, realm());
        nb.value = name;
        nb.length = strlen(name);
        maj = gss_import_name(&min, &nb, GSS_KRB5_NT_PRINCIPAL_NAME, &target);
        if (GSS_ERROR(maj)) {
                gss_report("gss_import_name", maj, min);
                exit(1);
        }
        return target;
}

static void mode_inproc(void) {
        gss_cred_id_t icred, acred;
        gss_name_t target;
        OM_uint32 min;
        HandshakeRun run = { 0 };
        uint64_t start, end;

        target = inproc_setup(&icred, &acred);

        /* Warm-up: the first handshake fetches the service ticket. */
        start = now_ns();
        end = start + (uint64_t) (opt_warmup * 1e9);
        do {
                inproc_handshake(icred, acred, target, NULL, NULL, NULL);
                run.warmup_n++;
        } while (run.warmup_n < 3 || now_ns() < end);

        start = now_ns();
        end = start + (uint64_t) (opt_seconds * 1e9);
        count_switches(&run, -1);
        do {
                inproc_handshake(icred, acred, target, run.step_ns, NULL, NULL);
                run.n++;
        } while (now_ns() < end);
        run.elapsed_ns = now_ns() - start;
        count_switches(&run, 1);
        print_handshake_result(opt_file_ccache ? "inproc_file" : "inproc",
                               opt_file_ccache ? "in-process Heimdal GSSAPI, FILE ccache" :
                                                 "in-process Heimdal GSSAPI, MEMORY ccache",
                               &run);

        gss_release_name(&min, &target);
        gss_release_cred(&min, &icred);
        gss_release_cred(&min, &acred);
        if (tmp_ccache[0])
                unlink(tmp_ccache);
        krb5_free_context(kctx);
}

/* ---- daemon: the same loop through libsspi ---- */

static ULONG max_token;

static void sspi_check(SECURITY_STATUS got, SECURITY_STATUS want, const char *what) {
        if (got == want)
                return;
        die("%s returned 0x%08x, expected 0x%08x", what, (unsigned) got, (unsigned) want);
}

static void sspi_setup(CredHandle *client, CredHandle *server) {
        SEC_WINNT_AUTH_IDENTITY_A id;
        PSecPkgInfoA info = NULL;
        TimeStamp expiry;
        char user[256], domain[256], password[256];

        if (!getenv("SSPID_SOCKET"))
                die("SSPID_SOCKET is not set (source the testenv's env file first)");
        sspi_check(QuerySecurityPackageInfoA(MICROSOFT_KERBEROS_NAME_A, &info), SEC_E_OK,
                   "QuerySecurityPackageInfoA(Kerberos)");
        max_token = info->cbMaxToken;
        FreeContextBuffer(info);
        if (max_token == 0)
                die("QuerySecurityPackageInfoA(Kerberos) reports cbMaxToken 0");

        snprintf(user, sizeof(user), "%s", bench_user());
        snprintf(domain, sizeof(domain), "%s", realm());
        snprintf(password, sizeof(password), "%s", bench_password());
        memset(&id, 0, sizeof(id));
        id.User = (unsigned char *) user;
        id.UserLength = strlen(user);
        id.Domain = (unsigned char *) domain;
        id.DomainLength = strlen(domain);
        id.Password = (unsigned char *) password;
        id.PasswordLength = strlen(password);
        id.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
        sspi_check(AcquireCredentialsHandleA(NULL, MICROSOFT_KERBEROS_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &id, NULL,
                                             NULL, client, &expiry),
                   SEC_E_OK, "AcquireCredentialsHandleA(outbound, alice)");
        explicit_bzero(password, sizeof(password));
        sspi_check(AcquireCredentialsHandleA(TARGET_SERVICE, MICROSOFT_KERBEROS_NAME_A, SECPKG_CRED_INBOUND, NULL,
                                             NULL, NULL, NULL, server, &expiry),
                   SEC_E_OK, "AcquireCredentialsHandleA(inbound, " TARGET_SERVICE ")");
        printf("through sspid at %s: initiator %s@%s by password, acceptor %s; cbMaxToken %u\n",
               getenv("SSPID_SOCKET"), user, domain, TARGET_SERVICE, (unsigned) max_token);
}

/* Caller-supplied token buffers, cbMaxToken each. */
static uint8_t *tok_a, *tok_b, *tok_c;

/* One handshake; on return the two contexts are established (when keep is
 * set) or deleted. */
static void sspi_handshake(CredHandle *client, CredHandle *server, uint64_t *steps, bool keep, CtxtHandle *ret_c,
                           CtxtHandle *ret_s) {
        CtxtHandle cctx, sctx;
        SecBuffer ob1 = { max_token, SECBUFFER_TOKEN, tok_a };
        SecBufferDesc out1 = { SECBUFFER_VERSION, 1, &ob1 };
        SecBuffer ib2, ob2 = { max_token, SECBUFFER_TOKEN, tok_b };
        SecBufferDesc in2 = { SECBUFFER_VERSION, 1, &ib2 }, out2 = { SECBUFFER_VERSION, 1, &ob2 };
        SecBuffer ib3, ob3 = { max_token, SECBUFFER_TOKEN, tok_c };
        SecBufferDesc in3 = { SECBUFFER_VERSION, 1, &ib3 }, out3 = { SECBUFFER_VERSION, 1, &ob3 };
        ULONG attrs = 0;
        TimeStamp expiry;
        uint64_t t[N_STEPS + 1];

        t[0] = now_ns();
        sspi_check(InitializeSecurityContextA(client, NULL, (SEC_CHAR *) TARGET_SERVICE, isc_req_flags, 0,
                                              SECURITY_NATIVE_DREP, NULL, 0, &cctx, &out1, &attrs, &expiry),
                   SEC_I_CONTINUE_NEEDED, "InitializeSecurityContextA #1");
        if (ob1.cbBuffer == 0)
                die("InitializeSecurityContextA #1 produced no token");
        t[1] = now_ns();
        ib2 = (SecBuffer) { ob1.cbBuffer, SECBUFFER_TOKEN, tok_a };
        sspi_check(AcceptSecurityContext(server, NULL, &in2, asc_req_flags, SECURITY_NATIVE_DREP, &sctx, &out2,
                                         &attrs, &expiry),
                   SEC_E_OK, "AcceptSecurityContext");
        if (ob2.cbBuffer == 0)
                die("AcceptSecurityContext produced no AP-REP despite ASC_REQ_MUTUAL_AUTH");
        t[2] = now_ns();
        ib3 = (SecBuffer) { ob2.cbBuffer, SECBUFFER_TOKEN, tok_b };
        sspi_check(InitializeSecurityContextA(client, &cctx, (SEC_CHAR *) TARGET_SERVICE, isc_req_flags, 0,
                                              SECURITY_NATIVE_DREP, &in3, 0, &cctx, &out3, &attrs, &expiry),
                   SEC_E_OK, "InitializeSecurityContextA #2");
        t[3] = now_ns();
        if (keep) {
                *ret_c = cctx;
                *ret_s = sctx;
                return;
        }
        sspi_check(DeleteSecurityContext(&cctx), SEC_E_OK, "DeleteSecurityContext(client)");
        t[4] = now_ns();
        sspi_check(DeleteSecurityContext(&sctx), SEC_E_OK, "DeleteSecurityContext(server)");
        t[5] = now_ns();
        if (steps)
                for (int i = 0; i < N_STEPS; i++)
                        steps[i] += t[i + 1] - t[i];
}

static void sspi_buffers(void) {
        tok_a = malloc(max_token);
        tok_b = malloc(max_token);
        tok_c = malloc(max_token);
        if (!tok_a || !tok_b || !tok_c)
                die("out of memory");
}

static void mode_daemon(void) {
        CredHandle client, server;
        HandshakeRun run = { 0 };
        uint64_t start, end;

        sspi_setup(&client, &server);
        sspi_buffers();

        start = now_ns();
        end = start + (uint64_t) (opt_warmup * 1e9);
        do {
                sspi_handshake(&client, &server, NULL, false, NULL, NULL);
                run.warmup_n++;
        } while (run.warmup_n < 3 || now_ns() < end);

        start = now_ns();
        end = start + (uint64_t) (opt_seconds * 1e9);
        count_switches(&run, -1);
        do {
                sspi_handshake(&client, &server, run.step_ns, false, NULL, NULL);
                run.n++;
        } while (now_ns() < end);
        run.elapsed_ns = now_ns() - start;
        count_switches(&run, 1);
        print_handshake_result("daemon", "through sspid (libsspi)", &run);

        sspi_check(FreeCredentialsHandle(&client), SEC_E_OK, "FreeCredentialsHandle(client)");
        sspi_check(FreeCredentialsHandle(&server), SEC_E_OK, "FreeCredentialsHandle(server)");
}

/* ---- rtt: the cheapest call ---- */

static void mode_rtt(void) {
        CredHandle client, server;
        CtxtHandle cctx, sctx;
        SecPkgContext_Flags flags;
        SecPkgContext_Sizes sizes;
        Samples s = { 0 };
        LatencyStats st;
        uint64_t start, end, t0, t1;

        sspi_setup(&client, &server);
        sspi_buffers();
        sspi_handshake(&client, &server, NULL, true, &cctx, &sctx);

        end = now_ns() + (uint64_t) (opt_warmup * 1e9);
        do
                sspi_check(QueryContextAttributesA(&cctx, SECPKG_ATTR_FLAGS, &flags), SEC_E_OK,
                           "QueryContextAttributesA(SECPKG_ATTR_FLAGS)");
        while (now_ns() < end);

        start = now_ns();
        end = start + (uint64_t) (opt_seconds * 1e9);
        t0 = start;
        do {
                sspi_check(QueryContextAttributesA(&cctx, SECPKG_ATTR_FLAGS, &flags), SEC_E_OK,
                           "QueryContextAttributesA(SECPKG_ATTR_FLAGS)");
                t1 = now_ns();
                samples_add(&s, t1 - t0);
                t0 = t1;
        } while (t1 < end);
        st = samples_stats(&s);
        sspi_check(QueryContextAttributesA(&cctx, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK,
                   "QueryContextAttributesA(SECPKG_ATTR_SIZES)");
        printf("QueryContextAttributesA(SECPKG_ATTR_FLAGS) through sspid: %zu calls in %.2f s\n", s.n,
               (t1 - start) / 1e9);
        printf("  mean %.2f us, p50 %.2f us, p99 %.2f us, min %.2f us (sizes: maxtoken %u, maxsig %u, block %u, "
               "trailer %u)\n",
               st.mean_us, st.p50_us, st.p99_us, st.min_us, (unsigned) sizes.cbMaxToken,
               (unsigned) sizes.cbMaxSignature, (unsigned) sizes.cbBlockSize, (unsigned) sizes.cbSecurityTrailer);
        printf("RESULT rtt mean_us=%.3f p50_us=%.3f p99_us=%.3f min_us=%.3f n=%zu\n", st.mean_us, st.p50_us,
               st.p99_us, st.min_us, s.n);
        /* For comparison: an attribute the library keeps (no round trip). */
        {
                size_t n = 0;
                t0 = now_ns();
                do {
                        sspi_check(QueryContextAttributesA(&cctx, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK,
                                   "QueryContextAttributesA(SECPKG_ATTR_SIZES)");
                        n++;
                } while ((t1 = now_ns()) < t0 + 200000000ULL);
                printf("QueryContextAttributesA(SECPKG_ATTR_SIZES), kept by the library: mean %.2f us (%zu calls)\n",
                       (t1 - t0) / 1e3 / (double) n, n);
        }
        fflush(stdout);

        sspi_check(DeleteSecurityContext(&cctx), SEC_E_OK, "DeleteSecurityContext(client)");
        sspi_check(DeleteSecurityContext(&sctx), SEC_E_OK, "DeleteSecurityContext(server)");
        sspi_check(FreeCredentialsHandle(&client), SEC_E_OK, "FreeCredentialsHandle(client)");
        sspi_check(FreeCredentialsHandle(&server), SEC_E_OK, "FreeCredentialsHandle(server)");
        free(s.v);
}

/* ---- wrap: 1 KiB sealed client -> server ---- */

typedef struct WrapRun {
        uint64_t n;
        uint64_t elapsed_ns;
        uint64_t seal_ns, unseal_ns;
} WrapRun;

static void print_wrap_result(const char *mode, const char *what, const WrapRun *r) {
        double secs = r->elapsed_ns / 1e9, rate = r->n / secs;

        printf("%s: %llu messages of %d bytes sealed and unsealed in %.2f s = %.1f per s (%.2f us each: seal "
               "%.2f us, unseal %.2f us)\n",
               what, (unsigned long long) r->n, WRAP_BYTES, secs, rate, 1e6 / rate, r->seal_ns / (double) r->n / 1e3,
               r->unseal_ns / (double) r->n / 1e3);
        printf("RESULT %s ops_per_s=%.1f n=%llu seconds=%.3f seal_us=%.3f unseal_us=%.3f bytes=%d\n", mode, rate,
               (unsigned long long) r->n, secs, r->seal_ns / (double) r->n / 1e3, r->unseal_ns / (double) r->n / 1e3,
               WRAP_BYTES);
        fflush(stdout);
}

static void fill_message(uint8_t *m) {
        for (int i = 0; i < WRAP_BYTES; i++)
                m[i] = (uint8_t) (i * 7 + 3);
}

/* One gss_wrap with confidentiality on the initiator and gss_unwrap on the
 * acceptor, the plaintext checked. */
static void inproc_wrap_once(gss_ctx_id_t ictx, gss_ctx_id_t actx, const uint8_t *msg, uint64_t *t_seal,
                             uint64_t *t_unseal) {
        gss_buffer_desc in = { WRAP_BYTES, (void *) msg }, sealed = GSS_C_EMPTY_BUFFER, plain = GSS_C_EMPTY_BUFFER;
        OM_uint32 maj, min;
        int conf = 0;
        gss_qop_t qop;
        uint64_t t0, t1, t2;

        t0 = now_ns();
        maj = gss_wrap(&min, ictx, 1, GSS_C_QOP_DEFAULT, &in, &conf, &sealed);
        if (GSS_ERROR(maj) || !conf) {
                gss_report("gss_wrap (confidentiality)", maj, min);
                exit(1);
        }
        t1 = now_ns();
        conf = 0;
        maj = gss_unwrap(&min, actx, &sealed, &plain, &conf, &qop);
        if (GSS_ERROR(maj) || !conf) {
                gss_report("gss_unwrap", maj, min);
                exit(1);
        }
        t2 = now_ns();
        if (plain.length != WRAP_BYTES || memcmp(plain.value, msg, WRAP_BYTES))
                die("gss_unwrap returned other plaintext");
        gss_release_buffer(&min, &sealed);
        gss_release_buffer(&min, &plain);
        *t_seal += t1 - t0;
        *t_unseal += t2 - t1;
}

static void mode_wrap_inproc(void) {
        gss_cred_id_t icred, acred;
        gss_ctx_id_t ictx, actx;
        gss_name_t target;
        OM_uint32 min;
        uint8_t msg[WRAP_BYTES];
        WrapRun run = { 0 };
        uint64_t start, end, ignore = 0;

        want_message_flags();
        target = inproc_setup(&icred, &acred);
        inproc_handshake(icred, acred, target, NULL, &ictx, &actx);
        fill_message(msg);

        end = now_ns() + (uint64_t) (opt_warmup * 1e9);
        do
                inproc_wrap_once(ictx, actx, msg, &ignore, &ignore);
        while (now_ns() < end);

        start = now_ns();
        end = start + (uint64_t) (opt_seconds * 1e9);
        do {
                inproc_wrap_once(ictx, actx, msg, &run.seal_ns, &run.unseal_ns);
                run.n++;
        } while (now_ns() < end);
        run.elapsed_ns = now_ns() - start;
        print_wrap_result("wrap_inproc", "in-process Heimdal gss_wrap + gss_unwrap", &run);

        gss_delete_sec_context(&min, &ictx, GSS_C_NO_BUFFER);
        gss_delete_sec_context(&min, &actx, GSS_C_NO_BUFFER);
        gss_release_name(&min, &target);
        gss_release_cred(&min, &icred);
        gss_release_cred(&min, &acred);
        krb5_free_context(kctx);
}

/* One EncryptMessage on the client context and DecryptMessage on the
 * server's, in the TOKEN, DATA, PADDING layout, the plaintext checked. */
static void sspi_wrap_once(CtxtHandle *cctx, CtxtHandle *sctx, const SecPkgContext_Sizes *sz, const uint8_t *msg,
                           uint8_t *data, uint8_t *trailer, uint8_t *pad, uint64_t *t_seal, uint64_t *t_unseal) {
        SecBuffer b[3] = { { sz->cbSecurityTrailer, SECBUFFER_TOKEN, trailer },
                           { WRAP_BYTES, SECBUFFER_DATA, data },
                           { sz->cbBlockSize, SECBUFFER_PADDING, pad } };
        SecBufferDesc d = { SECBUFFER_VERSION, 3, b };
        ULONG qop = 0;
        uint64_t t0, t1, t2;

        memcpy(data, msg, WRAP_BYTES);
        t0 = now_ns();
        sspi_check(EncryptMessage(cctx, 0, &d, 0), SEC_E_OK, "EncryptMessage");
        t1 = now_ns();
        sspi_check(DecryptMessage(sctx, &d, 0, &qop), SEC_E_OK, "DecryptMessage");
        t2 = now_ns();
        if (b[1].cbBuffer != WRAP_BYTES || memcmp(b[1].pvBuffer, msg, WRAP_BYTES))
                die("DecryptMessage returned other plaintext");
        *t_seal += t1 - t0;
        *t_unseal += t2 - t1;
}

static void mode_wrap(void) {
        CredHandle client, server;
        CtxtHandle cctx, sctx;
        SecPkgContext_Sizes sz;
        uint8_t msg[WRAP_BYTES], data[WRAP_BYTES], *trailer, *pad;
        WrapRun run = { 0 };
        uint64_t start, end, ignore = 0;

        want_message_flags();
        sspi_setup(&client, &server);
        sspi_buffers();
        sspi_handshake(&client, &server, NULL, true, &cctx, &sctx);
        sspi_check(QueryContextAttributesA(&cctx, SECPKG_ATTR_SIZES, &sz), SEC_E_OK,
                   "QueryContextAttributesA(SECPKG_ATTR_SIZES)");
        trailer = malloc(sz.cbSecurityTrailer ? sz.cbSecurityTrailer : 1);
        pad = malloc(sz.cbBlockSize ? sz.cbBlockSize : 1);
        if (!trailer || !pad)
                die("out of memory");
        fill_message(msg);

        end = now_ns() + (uint64_t) (opt_warmup * 1e9);
        do
                sspi_wrap_once(&cctx, &sctx, &sz, msg, data, trailer, pad, &ignore, &ignore);
        while (now_ns() < end);

        start = now_ns();
        end = start + (uint64_t) (opt_seconds * 1e9);
        do {
                sspi_wrap_once(&cctx, &sctx, &sz, msg, data, trailer, pad, &run.seal_ns, &run.unseal_ns);
                run.n++;
        } while (now_ns() < end);
        run.elapsed_ns = now_ns() - start;
        print_wrap_result("wrap", "through sspid: EncryptMessage + DecryptMessage", &run);

        sspi_check(DeleteSecurityContext(&cctx), SEC_E_OK, "DeleteSecurityContext(client)");
        sspi_check(DeleteSecurityContext(&sctx), SEC_E_OK, "DeleteSecurityContext(server)");
        sspi_check(FreeCredentialsHandle(&client), SEC_E_OK, "FreeCredentialsHandle(client)");
        sspi_check(FreeCredentialsHandle(&server), SEC_E_OK, "FreeCredentialsHandle(server)");
        free(trailer);
        free(pad);
}

/* ---- pingpong: the floor for one round trip ---- */

static int read_full(int fd, void *buf, size_t len) {
        uint8_t *p = buf;

        while (len > 0) {
                ssize_t k = read(fd, p, len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EPIPE;
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

static int write_full(int fd, const void *buf, size_t len) {
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

static void mode_pingpong(void) {
        int sv[2], status;
        uint8_t *buf = calloc(1, opt_size);
        Samples s = { 0 };
        LatencyStats st;
        uint64_t start, end, t0, t1;
        pid_t pid;

        if (!buf)
                die("out of memory");
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair: %s", strerror(errno));
        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                /* The echo side: one message in, one message out, until EOF. */
                close(sv[0]);
                while (read_full(sv[1], buf, opt_size) == 0)
                        if (write_full(sv[1], buf, opt_size) < 0)
                                break;
                _exit(0);
        }
        close(sv[1]);

        end = now_ns() + (uint64_t) (opt_warmup * 1e9);
        do {
                if (write_full(sv[0], buf, opt_size) < 0 || read_full(sv[0], buf, opt_size) < 0)
                        die("ping-pong: %s", strerror(errno));
        } while (now_ns() < end);

        start = now_ns();
        end = start + (uint64_t) (opt_seconds * 1e9);
        t0 = start;
        do {
                if (write_full(sv[0], buf, opt_size) < 0 || read_full(sv[0], buf, opt_size) < 0)
                        die("ping-pong: %s", strerror(errno));
                t1 = now_ns();
                samples_add(&s, t1 - t0);
                t0 = t1;
        } while (t1 < end);
        close(sv[0]);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("ping-pong echo process did not exit cleanly");

        st = samples_stats(&s);
        printf("AF_UNIX SOCK_STREAM ping-pong between two processes, %zu bytes each way: %zu round trips in %.2f s\n",
               opt_size, s.n, (t1 - start) / 1e9);
        printf("  mean %.2f us, p50 %.2f us, p99 %.2f us, min %.2f us\n", st.mean_us, st.p50_us, st.p99_us,
               st.min_us);
        printf("RESULT pingpong mean_us=%.3f p50_us=%.3f p99_us=%.3f min_us=%.3f n=%zu bytes=%zu\n", st.mean_us,
               st.p50_us, st.p99_us, st.min_us, s.n, opt_size);
        fflush(stdout);
        free(s.v);
        free(buf);
}

/* ---- main ---- */

static void usage(void) {
        fprintf(stderr, "usage: krb_handshake inproc|daemon|rtt|pingpong|wrap-inproc|wrap [-t SECONDS] [-w SECONDS] "
                        "[-s BYTES] "
                        "[-f]\n");
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
        while ((c = getopt(argc, argv, "t:w:s:fh")) != -1)
                switch (c) {
                case 'f':
                        opt_file_ccache = true;
                        break;
                case 't':
                        opt_seconds = parse_seconds(optarg);
                        break;
                case 'w':
                        opt_warmup = parse_seconds(optarg);
                        break;
                case 's': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || v == 0 || v > (1u << 20))
                                usage();
                        opt_size = v;
                        break;
                }
                default:
                        usage();
                }
        if (optind + 1 != argc)
                usage();
        mode = argv[optind];
        if (opt_seconds <= 0)
                opt_seconds = 0.001;
        /* A daemon that goes away must fail a call, not kill us. */
        signal(SIGPIPE, SIG_IGN);

        if (!strcmp(mode, "inproc"))
                mode_inproc();
        else if (!strcmp(mode, "daemon"))
                mode_daemon();
        else if (!strcmp(mode, "rtt"))
                mode_rtt();
        else if (!strcmp(mode, "pingpong"))
                mode_pingpong();
        else if (!strcmp(mode, "wrap-inproc"))
                mode_wrap_inproc();
        else if (!strcmp(mode, "wrap"))
                mode_wrap();
        else
                usage();
        return 0;
}
