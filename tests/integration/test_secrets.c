/* SPDX-License-Identifier: MIT */
/*
 * Secrets stay in the daemon and out of its logs and core files:
 *   - a private sspid with the test world's configuration at log-level
 *     debug serves one round of every package (handshake and message
 *     protection, tests/lib/tpkgs.c); its whole log output must not contain
 *     the password (ASCII, UTF-16LE, hex, base64), the NT hash, any HA1,
 *     any private key of the test PKI, any session key, or any token,
 *     signature or record the two sides exchanged (raw, hex, base64);
 *   - the daemon makes itself non-dumpable (PR_SET_DUMPABLE 0) before it
 *     reads its configuration: started as an unprivileged user, its /proc
 *     files belong to root (proc(5)) and that user cannot read its environ,
 *     whereas a plain process of the same user keeps them.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "tpkgs.h"

#define NOBODY 65534
#define WRONG_PASSWORD "wrong-pw-9"

/* t_ok that also returns the condition. */
#define OK(cond, ...) ({ bool c_ = (cond); t_ok(c_, __VA_ARGS__); c_; })

static char dir[] = "/tmp/sspid-secrets.XXXXXX";

/* ---- the needles: every secret and every exchanged byte string ---- */

typedef struct Needle {
        char *what;
        uint8_t *data;
        size_t len;
} Needle;

static Needle *needles;
static size_t n_needles, cap_needles;

static void add_needle(const char *what, const void *data, size_t len) {
        if (len < 6)
                return;
        if (n_needles == cap_needles) {
                cap_needles = cap_needles ? 2 * cap_needles : 256;
                needles = realloc(needles, cap_needles * sizeof(*needles));
                if (!needles)
                        abort();
        }
        needles[n_needles].what = strdup(what);
        needles[n_needles].data = malloc(len);
        memcpy(needles[n_needles].data, data, len);
        needles[n_needles].len = len;
        n_needles++;
}

static char *hex(const uint8_t *d, size_t len, bool upper) {
        char *s = malloc(2 * len + 1);
        for (size_t i = 0; i < len; i++)
                sprintf(s + 2 * i, upper ? "%02X" : "%02x", d[i]);
        s[2 * len] = '\0';
        return s;
}

static char *b64(const uint8_t *d, size_t len) {
        static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *s = malloc(4 * (len / 3 + 1) + 1), *o = s;
        size_t i;

        /* Only whole groups: the encoding of a prefix must be a substring
         * of the encoding of anything that starts with it. */
        for (i = 0; i + 3 <= len; i += 3) {
                uint32_t v = (uint32_t) d[i] << 16 | (uint32_t) d[i + 1] << 8 | d[i + 2];
                *o++ = a[v >> 18];
                *o++ = a[(v >> 12) & 63];
                *o++ = a[(v >> 6) & 63];
                *o++ = a[v & 63];
        }
        *o = '\0';
        return s;
}

static bool printable(const uint8_t *d, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!isprint(d[i]))
                        return false;
        return true;
}

/* A secret: itself (raw, hex either case, base64). */
static void add_secret(const char *what, const void *data, size_t len) {
        char *h = hex(data, len, false), *H = hex(data, len, true), *b = b64(data, len);

        add_needle(what, data, len);
        add_needle(what, h, strlen(h));
        add_needle(what, H, strlen(H));
        add_needle(what, b, strlen(b));
        free(h);
        free(H);
        free(b);
}

/* Exchanged bytes: every 12-byte window at a multiple of 12 (so that a
 * dump of the whole blob, or of its start, in hex or base64 contains the
 * encoding of each window); raw windows only when they are not plain text
 * (a Digest header names the realm, which a log may print). */
static void add_exchanged(const void *data, size_t len, void *userdata) {
        const uint8_t *d = data;
        const char *what = userdata;

        if (len < 12) {
                add_secret(what, d, len);
                return;
        }
        for (size_t off = 0; off + 12 <= len; off += 12) {
                char *h = hex(d + off, 12, false), *H = hex(d + off, 12, true), *b = b64(d + off, 12);

                if (!printable(d + off, 12))
                        add_needle(what, d + off, 12);
                add_needle(what, h, 24);
                add_needle(what, H, 24);
                add_needle(what, b, 16);
                free(h);
                free(H);
                free(b);
        }
}

/* The hex values of a file of "...:HEX" lines (NT hashes, HA1 store). */
static void add_hash_file(const char *path, const char *what) {
        FILE *f = fopen(path, "r");
        char line[1024];
        int n = 0;

        while (f && fgets(line, sizeof(line), f)) {
                char *h = strrchr(line, ':');
                uint8_t raw[64];
                size_t len = 0;

                if (!h)
                        continue;
                h++;
                h[strcspn(h, "\r\n")] = '\0';
                while (len < sizeof(raw) && isxdigit((unsigned char) h[2 * len]) &&
                       isxdigit((unsigned char) h[2 * len + 1]) && sscanf(h + 2 * len, "%2hhx", &raw[len]) == 1)
                        len++;
                add_secret(what, raw, len);
                n++;
        }
        if (f)
                fclose(f);
        t_ok(n > 0, "%s: %d hashes read from %s", what, n, path);
}

static int b64val(int c) {
        const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = c ? strchr(a, c) : NULL;
        return p ? (int) (p - a) : -1;
}

/* A PEM private key: its base64 lines and its DER (windows). */
static int add_pem_key(const char *path) {
        FILE *f = fopen(path, "r");
        char line[256];
        uint8_t der[8192];
        size_t len = 0;
        uint32_t acc = 0;
        int bits = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\r\n")] = '\0';
                if (!strncmp(line, "-----", 5))
                        continue;
                if (strlen(line) >= 16)
                        add_needle(path, line, strlen(line));
                for (char *p = line; *p && *p != '='; p++) {
                        int v = b64val(*p);
                        if (v < 0)
                                continue;
                        acc = acc << 6 | (uint32_t) v;
                        bits += 6;
                        if (bits >= 8 && len < sizeof(der)) {
                                bits -= 8;
                                der[len++] = (uint8_t) (acc >> bits);
                        }
                }
        }
        fclose(f);
        add_exchanged(der, len, (void *) path);
        return 1;
}

/* ---- the private daemon ---- */

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "r");
        char *s = NULL;
        size_t len = 0, cap = 0, n;

        if (!f)
                return NULL;
        do {
                if (cap - len < 65536) {
                        cap = cap ? 2 * cap : 65536;
                        s = realloc(s, cap + 1);
                }
                n = fread(s + len, 1, cap - len, f);
                len += n;
        } while (n > 0);
        fclose(f);
        s[len] = '\0';
        if (ret_len)
                *ret_len = len;
        return s;
}

static void daemon_bin(char *buf, size_t size) {
        char path[600];
        FILE *f;

        snprintf(path, sizeof(path), "%s/sspid.bin", getenv("SSPID_TESTENV"));
        f = fopen(path, "r");
        if (!f || !fgets(buf, (int) size, f))
                snprintf(buf, size, "%s/build/sspid", getenv("SSPID_TOP") ? getenv("SSPID_TOP") : ".");
        buf[strcspn(buf, "\n")] = '\0';
        if (f)
                fclose(f);
}

/* Starts BIN --socket DIR/NAME.sock --config CONF with stdout and stderr
 * to LOG; as uid (0: unchanged), else under the test world's daemon
 * wrapper (e.g. valgrind, whose log goes where only root may write). */
static pid_t start_daemon(const char *name, const char *conf, const char *log, uid_t uid) {
        char bin[512], sock[600], admin[600], wrapper[2048];
        char *argv[64];
        int argc = 0;
        pid_t pid;

        daemon_bin(bin, sizeof(bin));
        snprintf(sock, sizeof(sock), "%s/%s.sock", dir, name);
        snprintf(admin, sizeof(admin), "%s/%s-admin.sock", dir, name);
        snprintf(wrapper, sizeof(wrapper), "%s",
                 !uid && getenv("SSPID_DAEMON_WRAPPER") ? getenv("SSPID_DAEMON_WRAPPER") : "");
        for (char *w = strtok(wrapper, " \t\n"); w && argc < 50; w = strtok(NULL, " \t\n"))
                argv[argc++] = w;
        argv[argc++] = bin;
        argv[argc++] = "--socket";
        argv[argc++] = sock;
        argv[argc++] = "--admin-socket";
        argv[argc++] = admin;
        argv[argc++] = "--config";
        argv[argc++] = (char *) conf;
        argv[argc] = NULL;
        pid = fork();
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                if (uid && (setgid(uid) < 0 || setuid(uid) < 0))
                        _exit(126);
                execvp(argv[0], argv);
                _exit(127);
        }
        for (int i = 0; i < 600 && pid > 0; i++) {
                if (access(sock, F_OK) == 0)
                        return pid;
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        return -1;
                usleep(50000);
        }
        return pid;
}

static int stop_daemon(pid_t pid) {
        int status = 0;

        kill(pid, SIGTERM);
        /* Under valgrind the exit (leak check) takes a while. */
        for (int i = 0; i < 1200; i++) {
                if (waitpid(pid, &status, WNOHANG) == pid)
                        return status;
                usleep(100000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return status;
}

/* ---- the tests ---- */

static size_t find(const char *hay, size_t hay_len, const uint8_t *needle, size_t len) {
        const char *p = hay;

        while (hay_len >= len && (p = memchr(p, needle[0], hay_len - (size_t) (p - hay) - len + 1)) != NULL) {
                if (!memcmp(p, needle, len))
                        return (size_t) (p - hay);
                p++;
        }
        return (size_t) -1;
}

static void test_debug_log(void) {
        char conf[600], log[600], sock[600], path[600], line[1024];
        const char *env = getenv("SSPID_TESTENV");
        FILE *in, *out;
        pid_t pid;
        TpCreds creds = { 0 };
        size_t log_len = 0, hits = 0;
        char *text;
        int rounds_ok = 0;

        snprintf(conf, sizeof(conf), "%s/sspid.conf", dir);
        snprintf(log, sizeof(log), "%s/sspid-debug.log", dir);
        snprintf(path, sizeof(path), "%s/sspid.conf", env);
        in = fopen(path, "r");
        out = fopen(conf, "w");
        if (!OK(in && out, "copy of the test world's configuration"))
                return;
        while (fgets(line, sizeof(line), in)) {
                fputs(line, out);
                if (!strncmp(line, "[daemon]", 8))
                        fputs("log-level = debug\n", out);
        }
        fclose(in);
        fclose(out);
        pid = start_daemon("debug", conf, log, 0);
        if (!OK(pid > 0, "a second sspid with log-level = debug listens"))
                return;
        snprintf(sock, sizeof(sock), "%s/debug.sock", dir);
        setenv("SSPID_SOCKET", sock, 1);

        for (int p = 0; p < TP_COUNT; p++) {
                const char *what = "";
                SECURITY_STATUS st = tp_acquire(&creds, p, NULL);

                if (st == SEC_E_OK)
                        for (int i = 0; i < 2 && st == SEC_E_OK; i++)
                                st = tp_round(&creds, p, add_exchanged, (void *) tp_names[p], &what);
                else
                        what = "AcquireCredentialsHandle";
                rounds_ok += t_status(st, SEC_E_OK, "%s: two rounds (handshake, message protection) at log level debug%s%s",
                                      tp_names[p], *what ? ": " : "", what);
        }
        tp_release(&creds);
        /* Failure paths log at debug level (status, package, call; OpenSSL
         * and Heimdal error texts): a wrong password for each package, an
         * untrusted server certificate for Schannel. */
        for (int p = 0; p < TP_COUNT; p++) {
                TpCreds bad = { 0 };
                const char *what = "AcquireCredentialsHandle";
                SECURITY_STATUS st = tp_acquire(&bad, p, WRONG_PASSWORD);

                if (st == SEC_E_OK)
                        st = tp_round(&bad, p, add_exchanged, (void *) tp_names[p], &what);
                t_ok(st < 0, "%s: %s refused at %s (%s)", tp_names[p],
                     p == TP_SCHANNEL ? "an untrusted server" : "a wrong password", what, status_name(st));
                tp_release(&bad);
        }
        t_ok(n_needles > 100, "%zu byte strings of tokens, signatures, records and session keys recorded", n_needles);

        /* The secrets themselves. */
        {
                static const char pw[] = TP_PASSWORD;
                uint8_t w[2 * sizeof(pw)];
                char pki[600], key[700];
                int keys = 0;
                static const char *const names[] = { "ca", "otherca", "server-rsa", "server-ec", "expired",
                                                     "wrongname", "untrusted", "client", "ungranted", "clientonly" };

                add_secret("password", pw, strlen(pw));
                add_secret("wrong password", WRONG_PASSWORD, strlen(WRONG_PASSWORD));
                for (size_t i = 0; i < strlen(pw); i++) {
                        w[2 * i] = (uint8_t) pw[i];
                        w[2 * i + 1] = 0;
                }
                add_secret("password (UTF-16LE)", w, 2 * strlen(pw));
                snprintf(path, sizeof(path), "%s/ntlm.hashes", env);
                add_hash_file(path, "NT hash");
                snprintf(path, sizeof(path), "%s/digest.ha1", env);
                add_hash_file(path, "HA1");
                snprintf(pki, sizeof(pki), "%s/pki", env);
                for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                        snprintf(key, sizeof(key), "%s/%s.key", pki, names[i]);
                        keys += add_pem_key(key);
                }
                t_ok(keys == 10, "%d private keys of the test PKI", keys);
        }

        t_ok(WIFEXITED(stop_daemon(pid)), "the debug daemon exits on SIGTERM");
        text = read_file(log, &log_len);
        if (!OK(text && log_len > 0, "the daemon wrote %zu bytes of log", log_len))
                return;
        {
                /* A debug log must really be one: it names the calls. */
                size_t lines = 0, failures = 0;
                for (const char *p = text; (p = strstr(p, "sspid: ")); p++)
                        lines++;
                for (const char *p = text; (p = strstr(p, ": 0x8")); p++)
                        failures++;
                t_ok(strstr(text, "conn 1: uid=") && failures >= 4,
                     "%zu log lines; debug lines present (connections, %zu failed calls)", lines, failures);
        }
        {
                /* Control: the search does find a leak. Needle 0 is the
                 * first 12 bytes of the first Kerberos token, the last
                 * ones are key material. */
                char sample[512], *h = hex(needles[0].data, needles[0].len, false);
                int n = snprintf(sample, sizeof(sample), "sspid: debug: token %s...\nsspid: pw %s\n", h,
                                 "YWxpY2UtcHctMQ");
                bool all = find(sample, (size_t) n, (const uint8_t *) h, strlen(h)) != (size_t) -1;
                size_t found = 0;

                for (size_t i = 0; i < n_needles; i++)
                        if (find(sample, (size_t) n, needles[i].data, needles[i].len) != (size_t) -1)
                                found++;
                t_ok(all && found >= 2, "control: a hex dump of a token and a base64 password are found (%zu needles)",
                     found);
                free(h);
        }
        for (size_t i = 0; i < n_needles; i++) {
                size_t at = find(text, log_len, needles[i].data, needles[i].len);
                if (at != (size_t) -1) {
                        size_t start = at > 60 ? at - 60 : 0;
                        if (hits++ < 5)
                                printf("# %s found in the log at %zu: %.*s\n", needles[i].what, at, 140,
                                       text + start);
                }
        }
        t_ok(hits == 0 && rounds_ok == TP_COUNT,
             "no password, hash, key, session key or exchanged byte string in the debug log (%zu of %zu found)", hits,
             n_needles);
        free(text);
}

static uid_t proc_owner(pid_t pid, const char *file) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        return stat(path, &st) == 0 ? st.st_uid : (uid_t) -1;
}

/* Can uid read /proc/PID/environ? (a child that drops to uid tries) */
static bool can_read_environ(pid_t pid, uid_t uid) {
        pid_t c = fork();
        int status;

        if (c == 0) {
                char path[64], buf[16];
                int fd;

                snprintf(path, sizeof(path), "/proc/%d/environ", (int) pid);
                if (setgid(uid) < 0 || setuid(uid) < 0)
                        _exit(2);
                fd = open(path, O_RDONLY);
                _exit(fd >= 0 && read(fd, buf, sizeof(buf)) >= 0 ? 0 : 1);
        }
        return c > 0 && waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_not_dumpable(void) {
        char sub[600], conf[700], log[700];
        FILE *f;
        pid_t pid, plain;
        int status;

        if (geteuid() != 0) {
                t_ok(false, "needs root: a daemon of another user cannot be started (make check runs as root)");
                return;
        }
        /* A daemon of an unprivileged user: its own directory, a minimal
         * configuration. */
        snprintf(sub, sizeof(sub), "%s/nobody", dir);
        snprintf(conf, sizeof(conf), "%s/sspid.conf", sub);
        snprintf(log, sizeof(log), "%s/sspid.log", sub);
        if (mkdir(sub, 0755) < 0 || chown(sub, NOBODY, NOBODY) < 0 || !(f = fopen(conf, "w"))) {
                t_ok(false, "directory for a daemon run as nobody: %s", strerror(errno));
                return;
        }
        fputs("[daemon]\nworkers = 1\n", f);
        fclose(f);
        chmod(conf, 0644);
        pid = start_daemon("nobody/api", conf, log, NOBODY);
        if (!OK(pid > 0, "sspid starts as uid %d", NOBODY)) {
                char *t = read_file(log, NULL);
                printf("# log: %s\n", t ? t : "(none)");
                free(t);
                return;
        }
        plain = fork();
        if (plain == 0) {
                if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(2);
                execlp("sleep", "sleep", "60", (char *) NULL);
                _exit(127);
        }
        usleep(200000);
        t_ok(proc_owner(plain, "status") == NOBODY && can_read_environ(plain, NOBODY),
             "control: a plain process of uid %d owns its /proc files and that uid reads its environ (owner %d)",
             NOBODY, (int) proc_owner(plain, "status"));
        t_ok(proc_owner(pid, "status") == 0 && proc_owner(pid, "environ") == 0,
             "sspid run as uid %d: its /proc files belong to root (not dumpable; owner %d)", NOBODY,
             (int) proc_owner(pid, "status"));
        t_ok(!can_read_environ(pid, NOBODY), "uid %d cannot read the daemon's /proc/PID/environ", NOBODY);
        kill(plain, SIGKILL);
        waitpid(plain, &status, 0);
        t_ok(WIFEXITED(stop_daemon(pid)), "the nobody daemon exits on SIGTERM");
}

int main(void) {
        char cmd[sizeof(dir) + 16];

        if (!getenv("SSPID_TESTENV")) {
                printf("not ok - SSPID_TESTENV not set (run inside tests/tools/testenv.sh)\n");
                return 1;
        }
        if (!mkdtemp(dir)) {
                printf("not ok - mkdtemp: %s\n", strerror(errno));
                return 1;
        }
        chmod(dir, 0755);
        test_not_dumpable();
        test_debug_log();
        if (getenv("SSPID_SECRETS_KEEP"))
                return t_done();
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
                printf("# could not remove %s\n", dir);
        return t_done();
}
