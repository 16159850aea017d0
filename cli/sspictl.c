/* SPDX-License-Identifier: MIT */
/*
 * sspictl: inspect and steer a running sspid through its admin socket
 * (proto/admin.proto). Human tables by default, --json for scripts.
 *
 * Exit codes: 0 success, 1 the daemon refused or failed the command,
 * 2 usage error, 3 cannot reach the daemon (or it answered nonsense),
 * 4 no such object or session, 5 permission denied.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "admin.pb-c.h"
/* The one piece of the daemon sspictl builds (by path: no -Idaemon). */
#include "../daemon/util/escape.h"

#define DEFAULT_ADMIN_SOCKET "/run/sspid/admin.sock"
#define MAX_REPLY (16u << 20)

enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
        EXIT_NOT_FOUND = 4,
        EXIT_DENIED = 5,
};

static void usage(FILE *f) {
        fprintf(f, "Usage: sspictl [OPTIONS] COMMAND [ARGS]\n"
                   "\n"
                   "Inspect and steer the sspid daemon through its admin socket.\n"
                   "\n"
                   "Commands:\n"
                   "  status                       version, uptime, packages, config, counters\n"
                   "  sessions                     connected client processes\n"
                   "  credentials                  credential handles held for clients\n"
                   "  contexts                     security contexts held for clients\n"
                   "  calls                        calls in flight, with their age\n"
                   "  stats                        calls per function and package, latency, errors\n"
                   "  revoke context|credential ID delete an object (ID as shown, hex)\n"
                   "  revoke session ID            disconnect a client (session number)\n"
                   "  reload                       reload the configuration file\n"
                   "\n"
                   "Options:\n"
                   "  -s, --socket PATH  admin socket (default: $SSPID_ADMIN_SOCKET, else\n"
                   "                     " DEFAULT_ADMIN_SOCKET ")\n"
                   "  -j, --json         machine-readable output\n"
                   "  -h, --help         this text\n"
                   "\n"
                   "Exit status: 0 ok, 1 command failed, 2 usage, 3 daemon unreachable,\n"
                   "4 no such object or session, 5 permission denied.\n");
}

/* ---- transport ---- */

static int connect_admin(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = 30 };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
        }
        return fd;
}

static int read_full(int fd, uint8_t *buf, size_t len) {
        size_t off = 0;

        while (off < len) {
                ssize_t n = read(fd, buf + off, len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                off += (size_t) n;
        }
        return 0;
}

/* Why transact() got no answer: the exit status to report. */
static int transact_failure = EXIT_UNREACHABLE;

/* NULL when no answer came; transact_failure then says why. */
static Sspiadm__Reply *transact(const char *path, const Sspiadm__Request *q) {
        size_t n = sspiadm__request__get_packed_size(q), len;
        uint8_t hdr[4], *buf = malloc(n + 4);
        Sspiadm__Reply *rep = NULL;
        int fd;

        if (!buf)
                return NULL;
        fd = connect_admin(path);
        if (fd < 0) {
                /* The admin socket's mode (0600, or 0660 with admin-group)
                 * is what refuses a non-admin: that is "permission denied",
                 * not "daemon not running" (ENOENT, ECONNREFUSED). */
                if (errno == EACCES || errno == EPERM)
                        transact_failure = EXIT_DENIED;
                fprintf(stderr, "sspictl: cannot connect to %s: %s\n", path, strerror(errno));
                free(buf);
                return NULL;
        }
        buf[0] = (uint8_t) (n >> 24);
        buf[1] = (uint8_t) (n >> 16);
        buf[2] = (uint8_t) (n >> 8);
        buf[3] = (uint8_t) n;
        sspiadm__request__pack(q, buf + 4);
        /* A refused caller gets its answer without reading the request:
         * a failed write is not yet an error. */
        (void) !send(fd, buf, n + 4, MSG_NOSIGNAL);
        free(buf);
        if (read_full(fd, hdr, 4) < 0) {
                fprintf(stderr, "sspictl: %s closed the connection without an answer\n", path);
                close(fd);
                return NULL;
        }
        len = ((size_t) hdr[0] << 24) | ((size_t) hdr[1] << 16) | ((size_t) hdr[2] << 8) | hdr[3];
        buf = len <= MAX_REPLY ? malloc(len ? len : 1) : NULL;
        if (!buf || read_full(fd, buf, len) < 0 || !(rep = sspiadm__reply__unpack(NULL, len, buf)))
                fprintf(stderr, "sspictl: malformed answer from %s\n", path);
        free(buf);
        close(fd);
        return rep;
}

/* ---- JSON: every message field by its schema name ---- */

static json_object *json_from_message(const ProtobufCMessage *m);

static json_object *json_scalar(const ProtobufCFieldDescriptor *f, const void *p, bool hex_id) {
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                return json_object_new_int(*(const int32_t *) p);
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                return json_object_new_int64(*(const uint32_t *) p);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                return json_object_new_int64(*(const int64_t *) p);
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                if (hex_id) {
                        char s[24];
                        snprintf(s, sizeof(s), "%016" PRIx64, *(const uint64_t *) p);
                        return json_object_new_string(s);
                }
                return json_object_new_uint64(*(const uint64_t *) p);
        case PROTOBUF_C_TYPE_BOOL:
                return json_object_new_boolean(*(const protobuf_c_boolean *) p);
        case PROTOBUF_C_TYPE_ENUM: {
                const ProtobufCEnumValue *v =
                        protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *) p);
                return v ? json_object_new_string(v->name) : json_object_new_int(*(const int *) p);
        }
        case PROTOBUF_C_TYPE_STRING:
                return *(char *const *) p ? json_object_new_string(*(char *const *) p) : NULL;
        case PROTOBUF_C_TYPE_MESSAGE:
                return *(ProtobufCMessage *const *) p ? json_from_message(*(ProtobufCMessage *const *) p) : NULL;
        default:
                return NULL;
        }
}

static size_t scalar_size(ProtobufCType t) {
        switch (t) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
                return 8;
        case PROTOBUF_C_TYPE_STRING:
        case PROTOBUF_C_TYPE_MESSAGE:
                return sizeof(void *);
        case PROTOBUF_C_TYPE_BOOL:
                return sizeof(protobuf_c_boolean);
        case PROTOBUF_C_TYPE_BYTES:
                return sizeof(ProtobufCBinaryData);
        default:
                return 4;
        }
}

static json_object *json_from_message(const ProtobufCMessage *m) {
        const ProtobufCMessageDescriptor *d = m->descriptor;
        /* Object ids are shown (and revoked) in hex, as in the tables. */
        bool is_object = d == &sspiadm__object__descriptor;
        json_object *o = json_object_new_object();

        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                const char *base = (const char *) m;
                bool hex = is_object && !strcmp(f->name, "id");

                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t n = *(const size_t *) (base + f->quantifier_offset);
                        const char *arr = *(char *const *) (base + f->offset);
                        json_object *a = json_object_new_array();

                        for (size_t k = 0; k < n; k++) {
                                json_object *v = json_scalar(f, arr + k * scalar_size(f->type), false);
                                if (v)
                                        json_object_array_add(a, v);
                        }
                        json_object_object_add(o, f->name, a);
                        continue;
                }
                if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                    !*(const protobuf_c_boolean *) (base + f->quantifier_offset))
                        continue;
                json_object *v = json_scalar(f, base + f->offset, hex);
                if (v)
                        json_object_object_add(o, f->name, v);
        }
        return o;
}

/* ---- human output ---- */

static void fmt_time(int64_t t, char *buf, size_t len) {
        struct tm tm;
        time_t tt = (time_t) t;

        if (localtime_r(&tt, &tm))
                strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
        else
                snprintf(buf, len, "%" PRId64, t);
}

static void fmt_duration(uint64_t sec, char *buf, size_t len) {
        if (sec < 60)
                snprintf(buf, len, "%" PRIu64 "s", sec);
        else if (sec < 3600)
                snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", sec / 60, sec % 60);
        else if (sec < 86400)
                snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", sec / 3600, sec / 60 % 60);
        else
                snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", sec / 86400, sec / 3600 % 24);
}

static void fmt_usec(uint64_t us, char *buf, size_t len) {
        if (us < 1000)
                snprintf(buf, len, "%" PRIu64 "us", us);
        else if (us < 100000)
                snprintf(buf, len, "%.1fms", us / 1000.0);
        else if (us < 1000000)
                snprintf(buf, len, "%" PRIu64 "ms", us / 1000);
        else
                snprintf(buf, len, "%.1fs", us / 1e6);
}

static const struct {
        uint32_t code;
        const char *name;
} status_names[] = {
        { 0x80090300, "SEC_E_INSUFFICIENT_MEMORY" }, { 0x80090301, "SEC_E_INVALID_HANDLE" },
        { 0x80090302, "SEC_E_UNSUPPORTED_FUNCTION" }, { 0x80090303, "SEC_E_TARGET_UNKNOWN" },
        { 0x80090304, "SEC_E_INTERNAL_ERROR" },       { 0x80090305, "SEC_E_SECPKG_NOT_FOUND" },
        { 0x80090306, "SEC_E_NOT_OWNER" },            { 0x80090308, "SEC_E_INVALID_TOKEN" },
        { 0x80090309, "SEC_E_CANNOT_PACK" },          { 0x8009030C, "SEC_E_LOGON_DENIED" },
        { 0x8009030D, "SEC_E_UNKNOWN_CREDENTIALS" },  { 0x8009030E, "SEC_E_NO_CREDENTIALS" },
        { 0x8009030F, "SEC_E_MESSAGE_ALTERED" },      { 0x80090310, "SEC_E_OUT_OF_SEQUENCE" },
        { 0x80090311, "SEC_E_NO_AUTHENTICATING_AUTHORITY" }, { 0x80090318, "SEC_E_INCOMPLETE_MESSAGE" },
        { 0x80090321, "SEC_E_BUFFER_TOO_SMALL" },     { 0x80090322, "SEC_E_WRONG_PRINCIPAL" },
        { 0x80090324, "SEC_E_TIME_SKEW" },            { 0x80090327, "SEC_E_WRONG_CREDENTIAL_HANDLE" },
        { 0x80090328, "SEC_E_CONTEXT_EXPIRED" },      { 0x80090330, "SEC_E_DECRYPT_FAILURE" },
        { 0x8009035D, "SEC_E_INVALID_PARAMETER" },    { 0x80090316, "SEC_E_BAD_PKGID" },
        { 0x8009030A, "SEC_E_QOP_NOT_SUPPORTED" },    { 0x8009030B, "SEC_E_NO_IMPERSONATION" },
};

static const char *status_name(int32_t st) {
        for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
                if (status_names[i].code == (uint32_t) st)
                        return status_names[i].name;
        return "";
}

static void fmt_quota(uint64_t v, char *buf, size_t len) {
        if (v == 0)
                snprintf(buf, len, "off");
        else
                snprintf(buf, len, "%" PRIu64, v);
}

/* Bytes in at most 6 columns: 512, 64K, 128M, 2G; 0 is "off". */
static void fmt_size(uint64_t v, char *buf, size_t len) {
        static const char units[] = "KMGT";

        if (v < 1024) {
                snprintf(buf, len, "%" PRIu64, v);
                return;
        }
        for (unsigned i = 0; i < 4; i++) {
                v /= 1024;
                if (v < 1024 || i == 3) {
                        snprintf(buf, len, "%" PRIu64 "%c", v, units[i]);
                        return;
                }
        }
}

static void print_status(const Sspiadm__Status *s) {
        const Sspiadm__Counters *k = s->counters;
        char up[32];

        fmt_duration(s->uptime_sec, up, sizeof(up));
        printf("sspid %s, pid %u, up %s\n", s->version, s->pid, up);
        printf("Configuration:  %s\n", s->config_path ? s->config_path : "(built-in defaults)");
        printf("Packages:      ");
        for (size_t i = 0; i < s->n_packages; i++)
                printf(" %s", s->packages[i]);
        printf("\nWorkers:        %u\n", s->workers);
        printf("Connections:    %" PRIu64 " open, %" PRIu64 " since start, %" PRIu64 " dropped\n", k->connections,
               k->connections_total, k->connections_dropped);
        printf("Objects:        %" PRIu64 " live, %" PRIu64 " exported contexts waiting\n", k->objects,
               k->exports_waiting);
        printf("Calls:          %" PRIu64 " total (%" PRIu64 " inline, %" PRIu64 " on workers), %" PRIu64
               " failed, %" PRIu64 " in flight\n",
               k->calls_total, k->calls_inline, k->calls_worker, k->calls_failed, k->calls_in_flight);
        printf("Reloads:        %" PRIu64 " done, %" PRIu64 " refused\n", k->reloads, k->reloads_failed);
        if (s->quotas && !s->quotas->connections && !s->quotas->objects && !s->quotas->calls && !s->quotas->bytes &&
            !s->quotas->input_bytes && !s->quotas->queued)
                printf("Quotas per uid: none\n");
        else if (s->quotas) {
                const Sspiadm__Quotas *q = s->quotas;
                char v[6][24];

                fmt_quota(q->connections, v[0], sizeof(v[0]));
                fmt_quota(q->objects, v[1], sizeof(v[1]));
                fmt_quota(q->calls, v[2], sizeof(v[2]));
                fmt_quota(q->queued, v[3], sizeof(v[3]));
                fmt_size(q->bytes, v[4], sizeof(v[4]));
                fmt_size(q->input_bytes, v[5], sizeof(v[5]));
                if (!q->bytes)
                        snprintf(v[4], sizeof(v[4]), "off");
                if (!q->input_bytes)
                        snprintf(v[5], sizeof(v[5]), "off");
                printf("Quotas per uid: connections %s, objects %s, calls %s, queued %s\n", v[0], v[1], v[2], v[3]);
                printf("                bytes %s (replies), input-bytes %s (requests)\n", v[4], v[5]);
        }
        if (s->quotas && (s->quotas->has_idle_timeout || s->quotas->has_fd_reserve)) {
                char v[2][24];

                fmt_quota(s->quotas->idle_timeout, v[0], sizeof(v[0]));
                fmt_quota(s->quotas->frame_timeout, v[1], sizeof(v[1]));
                printf("Timeouts:       idle %s s, frame %s s\n", v[0], v[1]);
                printf("Descriptors:    limit %" PRIu64 ", %u kept for root, %" PRIu64 " refused for that\n",
                       s->fd_limit, s->quotas->fd_reserve, s->fd_refused);
        }
        if (s->n_usage > 0) {
                /* Within 80 columns: being throttled is listed with the
                 * limits met; KEYW: calls waiting for pGetKeyFn, EXPT:
                 * exports waiting (full names in --json). */
                printf("\n%10s %5s %6s %5s %6s %6s %5s %4s %4s %s\n", "UID", "CONNS", "OBJS", "CALLS", "OUT", "IN",
                       "QUEUE", "KEYW", "EXPT", "AT LIMIT");
                for (size_t i = 0; i < s->n_usage; i++) {
                        const Sspiadm__UidUsage *u = s->usage[i];
                        char out[16], in[16];
                        size_t n = 0;

                        fmt_size(u->bytes, out, sizeof(out));
                        fmt_size(u->input_bytes, in, sizeof(in));
                        printf("%10u %5u %6u %5u %6s %6s %5u %4u %4u ", u->uid, u->connections, u->objects, u->calls,
                               out, in, u->queued, u->get_key_waits, u->exports);
                        if (u->throttled)
                                printf("%s", n++ ? ",throttled" : "throttled");
                        /* "quota-" is implied in the table; --json has the key names */
                        for (size_t j = 0; j < u->n_at_limit; j++) {
                                const char *nm = u->at_limit[j];
                                printf("%s%s", n++ ? "," : "", strncmp(nm, "quota-", 6) == 0 ? nm + 6 : nm);
                        }
                        printf("\n");
                }
        }
}

/* Names clients chose (principals, targets, the command a process gave
 * itself) are printed on the administrator's terminal, escaped as the
 * daemon log escapes them (escape_text, daemon/util/escape.h: controls,
 * backslashes and bytes that are not UTF-8 become \xNN, so a name cannot
 * move the cursor, retitle the window or fake a row); at most
 * NAME_MAX_SHOWN bytes of it are shown, then ESCAPE_TRUNCATED. --json is
 * escaped by json-c. */
#define NAME_MAX_SHOWN 256
#define SAFE_BUF (4 * NAME_MAX_SHOWN + sizeof(ESCAPE_TRUNCATED))

static const char *safe(const char *in, char buf[SAFE_BUF]) {
        escape_text(buf, SAFE_BUF, in ? in : "-", NAME_MAX_SHOWN);
        return buf;
}
#define SAFE(s) safe((s), (char[SAFE_BUF]) {})

static void print_sessions(const Sspiadm__Reply *r) {
        printf("%6s %7s %6s %-15s %-19s %5s %5s %5s\n", "ID", "PID", "UID", "COMMAND", "CONNECTED", "CREDS", "CTXS",
               "CALLS");
        for (size_t i = 0; i < r->n_sessions; i++) {
                const Sspiadm__Session *s = r->sessions[i];
                char since[32];

                fmt_time(s->connected_since, since, sizeof(since));
                printf("%6" PRIu64 " %7u %6u %-15.15s %-19s %5u %5u %5u\n", s->id, s->pid, s->uid,
                       s->command ? SAFE(s->command) : "?", since, s->credentials, s->contexts, s->calls_in_flight);
        }
}

static void print_objects(const Sspiadm__Reply *r, bool contexts) {
        time_t now = time(NULL);

        /* 80 columns: the owner's uid and the flags are in --json only. */
        printf("%-16s %6s %-9s %-4s %-8s %-6s %s\n", "ID", "PID", "PACKAGE", "DIR", "STATE", "EXPIRY",
               contexts ? "TARGET/CLIENT" : "PRINCIPAL");
        for (size_t i = 0; i < r->n_objects; i++) {
                const Sspiadm__Object *o = r->objects[i];
                char exp[16] = "never";
                const char *dir = !strcmp(o->direction, "inbound") ? "in" :
                                  !strcmp(o->direction, "outbound") ? "out" : "both";

                if (o->has_expiry) {
                        if (o->expiry <= now)
                                snprintf(exp, sizeof(exp), "gone");
                        else
                                fmt_duration((uint64_t) (o->expiry - now), exp, sizeof(exp));
                }
                /* A name that would cross column 80 goes on a line of its own. */
                const char *name = SAFE(o->principal);
                const char *state = !strcmp(o->state, "in-progress") ? "partial" : o->state;
                bool wrap = 55 + strlen(name) > 80;
                printf("%016" PRIx64 " %6u %-9.9s %-4s %-8s %-6s%s%s\n", o->id, o->pid, SAFE(o->package), dir, state, exp,
                       wrap ? "\n        " : " ", name);
        }
}

static void print_calls(const Sspiadm__Reply *r) {
        printf("%6s %7s %6s %-27s %-9s %-7s %s\n", "SESS", "PID", "UID", "FUNCTION", "PACKAGE", "STATE", "AGE");
        for (size_t i = 0; i < r->n_calls; i++) {
                const Sspiadm__Call *c = r->calls[i];
                char age[16];

                fmt_usec(c->age_usec, age, sizeof(age));
                printf("%6" PRIu64 " %7u %6u %-27.27s %-9.9s %-7s %s\n", c->session, c->pid, c->uid, SAFE(c->function),
                       SAFE(c->package), c->running ? "running" : "queued", age);
        }
}

static void print_stats(const Sspiadm__Stats *s) {
        printf("%-26s %-9s %7s %6s %6s %6s %6s %6s\n", "FUNCTION", "PACKAGE", "CALLS", "ERRORS", "P50", "P90", "P99",
               "MAX");
        for (size_t i = 0; i < s->n_functions; i++) {
                const Sspiadm__FunctionStat *f = s->functions[i];
                char p50[16], p90[16], p99[16], mx[16];

                fmt_usec(f->p50_usec, p50, sizeof(p50));
                fmt_usec(f->p90_usec, p90, sizeof(p90));
                fmt_usec(f->p99_usec, p99, sizeof(p99));
                fmt_usec(f->max_usec, mx, sizeof(mx));
                printf("%-26.26s %-9.9s %7" PRIu64 " %6" PRIu64 " %6s %6s %6s %6s\n", f->function,
                       f->package ? f->package : "-", f->calls, f->errors, p50, p90, p99, mx);
        }
        if (s->n_errors) {
                printf("\n%-10s %-36s %s\n", "STATUS", "NAME", "COUNT");
                for (size_t i = 0; i < s->n_errors; i++)
                        printf("0x%08" PRIX32 " %-36s %" PRIu64 "\n", (uint32_t) s->errors[i]->status,
                               status_name(s->errors[i]->status), s->errors[i]->count);
        }
}

/* ---- main ---- */

static const struct {
        const char *name;
        Sspiadm__Command cmd;
} commands[] = {
        { "status", SSPIADM__COMMAND__STATUS },           { "sessions", SSPIADM__COMMAND__SESSIONS },
        { "credentials", SSPIADM__COMMAND__CREDENTIALS }, { "contexts", SSPIADM__COMMAND__CONTEXTS },
        { "calls", SSPIADM__COMMAND__CALLS },             { "stats", SSPIADM__COMMAND__STATS },
        { "revoke", SSPIADM__COMMAND__REVOKE },           { "reload", SSPIADM__COMMAND__RELOAD },
};

static int parse_id(const char *s, int base, uint64_t *ret) {
        char *end;

        if (!*s)
                return -1;
        if (base == 16 && (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2)))
                s += 2;
        errno = 0;
        *ret = strtoull(s, &end, base);
        return errno || *end || *s == '-' ? -1 : 0;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        Sspiadm__Request q = SSPIADM__REQUEST__INIT;
        const char *path = getenv("SSPID_ADMIN_SOCKET");
        bool json = false, found = false;
        Sspiadm__Reply *rep;
        int c, rc = EXIT_OK;

        while ((c = getopt_long(argc, argv, "s:jh", opts, NULL)) >= 0)
                switch (c) {
                case 's':
                        path = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        if (!path || !*path)
                path = DEFAULT_ADMIN_SOCKET;
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(argv[optind], commands[i].name)) {
                        q.command = commands[i].cmd;
                        found = true;
                }
        if (!found) {
                fprintf(stderr, "sspictl: unknown command '%s' (see sspictl --help)\n", argv[optind]);
                return EXIT_USAGE;
        }
        if (q.command == SSPIADM__COMMAND__REVOKE) {
                const char *kind = optind + 1 < argc ? argv[optind + 1] : "";
                const char *id = optind + 2 < argc ? argv[optind + 2] : "";
                int base = 16;

                q.has_revoke_kind = q.has_revoke_id = true;
                if (!strcmp(kind, "context"))
                        q.revoke_kind = SSPIADM__REVOKE_KIND__REVOKE_CONTEXT;
                else if (!strcmp(kind, "credential"))
                        q.revoke_kind = SSPIADM__REVOKE_KIND__REVOKE_CREDENTIAL;
                else if (!strcmp(kind, "session")) {
                        q.revoke_kind = SSPIADM__REVOKE_KIND__REVOKE_SESSION;
                        base = 10;
                } else {
                        fprintf(stderr, "sspictl: revoke context|credential|session ID\n");
                        return EXIT_USAGE;
                }
                if (parse_id(id, base, &q.revoke_id) < 0 || optind + 3 != argc) {
                        fprintf(stderr, "sspictl: revoke %s needs one %s ID\n", kind,
                                base == 16 ? "hexadecimal" : "decimal");
                        return EXIT_USAGE;
                }
        } else if (optind + 1 != argc) {
                fprintf(stderr, "sspictl: %s takes no arguments\n", argv[optind]);
                return EXIT_USAGE;
        }

        rep = transact(path, &q);
        if (!rep)
                return transact_failure;
        if (rep->error == -EACCES)
                rc = EXIT_DENIED;
        else if (rep->error == -ENOENT)
                rc = EXIT_NOT_FOUND;
        else if (rep->error < 0)
                rc = EXIT_FAILED;

        if (json) {
                json_object *o = json_from_message(&rep->base);
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else if (rc != EXIT_OK) {
                fprintf(stderr, "sspictl: %s: %s\n", argv[optind],
                        rep->message ? rep->message : strerror(-rep->error));
        } else {
                switch (q.command) {
                case SSPIADM__COMMAND__STATUS:
                        if (rep->status)
                                print_status(rep->status);
                        break;
                case SSPIADM__COMMAND__SESSIONS:
                        print_sessions(rep);
                        break;
                case SSPIADM__COMMAND__CREDENTIALS:
                case SSPIADM__COMMAND__CONTEXTS:
                        print_objects(rep, q.command == SSPIADM__COMMAND__CONTEXTS);
                        break;
                case SSPIADM__COMMAND__CALLS:
                        print_calls(rep);
                        break;
                case SSPIADM__COMMAND__STATS:
                        if (rep->stats)
                                print_stats(rep->stats);
                        break;
                case SSPIADM__COMMAND__REVOKE:
                        printf("revoked\n");
                        break;
                case SSPIADM__COMMAND__RELOAD:
                        printf("configuration reloaded\n");
                        break;
                default:
                        break;
                }
        }
        if (json && rc != EXIT_OK)
                fprintf(stderr, "sspictl: %s: %s\n", argv[optind],
                        rep->message ? rep->message : strerror(-rep->error));
        sspiadm__reply__free_unpacked(rep, NULL);
        return rc;
}
