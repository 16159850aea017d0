/* SPDX-License-Identifier: MIT */
/*
 * The daemon against hostile or broken peers, speaking the wire protocol by
 * hand: oversized lengths, truncated frames, garbage, unknown calls, a
 * wrong protocol version. Each must cost only that connection. And a client
 * that exits with objects open must leave nothing behind.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -1;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static int raw(void) {
        return connect_to(getenv("SSPID_SOCKET"));
}

static void send_frame(int fd, const void *body, uint32_t len, uint32_t announced) {
        uint8_t hdr[4] = { announced >> 24, announced >> 16, announced >> 8, announced };
        (void) !write(fd, hdr, 4);
        if (len)
                (void) !write(fd, body, len);
}

/* A valid Hello: Envelope{call_id=0, hello={major, minor=0}}. */
static void send_hello(int fd, uint8_t major) {
        uint8_t b[] = { 0x08, 0x00, 0x52, 0x04, 0x08, major, 0x10, 0x00 };
        send_frame(fd, b, sizeof(b), sizeof(b));
}

/* True when the daemon closed the connection within 2 s. */
static bool closed_by_daemon(int fd) {
        uint8_t buf[4096];
        struct pollfd p = { .fd = fd, .events = POLLIN };

        for (int i = 0; i < 20; i++) {
                if (poll(&p, 1, 100) <= 0)
                        continue;
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n == 0 || (n < 0 && errno == ECONNRESET))
                        return true;
        }
        return false;
}

/* Reads one reply frame; returns its length or -1. */
static int read_reply(int fd, uint8_t *buf, size_t max) {
        uint8_t hdr[4];
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint32_t n;

        if (poll(&p, 1, 2000) <= 0 || read(fd, hdr, 4) != 4)
                return -1;
        n = (uint32_t) hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
        if (n > max)
                return -1;
        for (uint32_t got = 0; got < n;) {
                ssize_t k = read(fd, buf + got, n - got);
                if (k <= 0)
                        return -1;
                got += (uint32_t) k;
        }
        return (int) n;
}

static bool daemon_serves(void) {
        ULONG n;
        PSecPkgInfoA p;
        if (EnumerateSecurityPackagesA(&n, &p) != SEC_E_OK)
                return false;
        FreeContextBuffer(p);
        return n >= 1;
}

/* The daemon's counters, through `sspictl --json status`. */
static bool admin_status(unsigned long long *objects, unsigned long long *conns) {
        char line[4096] = "", cmd[2048];
        const char *top = getenv("SSPID_TOP");
        size_t n;
        char *o, *c;
        FILE *p;

        snprintf(cmd, sizeof(cmd), "'%s/build/sspictl' --json --socket '%s' status", top ? top : ".",
                 getenv("SSPID_ADMIN_SOCKET"));
        p = popen(cmd, "r");
        if (!p)
                return false;
        n = fread(line, 1, sizeof(line) - 1, p);
        if (pclose(p) != 0 || n == 0)
                return false;
        line[n] = 0;
        o = strstr(line, "\"objects\":");
        c = strstr(line, "\"connections\":");
        if (!o || !c)
                return false;
        *objects = strtoull(o + 10, NULL, 10);
        *conns = strtoull(c + 14, NULL, 10);
        return true;
}

static void test_malformed(void) {
        uint8_t buf[256];
        int fd, n;

        /* Oversized length: refused before any allocation. */
        fd = raw();
        send_hello(fd, 1);
        t_ok(read_reply(fd, buf, sizeof(buf)) > 0, "Hello answered");
        send_frame(fd, NULL, 0, 0xffffffffu);
        t_ok(closed_by_daemon(fd), "4 GiB length: connection dropped");
        close(fd);
        t_ok(daemon_serves(), "daemon still serves others");

        fd = raw();
        send_frame(fd, NULL, 0, (1u << 20) + 1);
        t_ok(closed_by_daemon(fd), "max-frame + 1: connection dropped");
        close(fd);

        /* Truncated frame, then the peer goes away. */
        fd = raw();
        send_frame(fd, "\x08\x01\x52", 3, 100);
        close(fd);
        t_ok(daemon_serves(), "truncated frame and hang-up: daemon still serves");

        /* Garbage that is not a protobuf Envelope. */
        fd = raw();
        send_frame(fd, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11, 11);
        t_ok(closed_by_daemon(fd), "garbage protobuf: connection dropped");
        close(fd);

        /* A valid Envelope without a body: an unknown call. */
        fd = raw();
        send_hello(fd, 1);
        read_reply(fd, buf, sizeof(buf));
        send_frame(fd, "\x08\x07", 2, 2);
        t_ok(closed_by_daemon(fd), "unknown call: connection dropped");
        close(fd);

        /* A reply type sent as a request (HelloRep). */
        fd = raw();
        send_hello(fd, 1);
        read_reply(fd, buf, sizeof(buf));
        send_frame(fd, "\x08\x07\x5a\x06\x08\x01\x10\x00\x18\x01", 10, 10);
        t_ok(closed_by_daemon(fd), "reply body as request: connection dropped");
        close(fd);

        /* A request before Hello. */
        fd = raw();
        send_frame(fd, "\x08\x07\x62\x00", 4, 4); /* EnumPackagesReq */
        t_ok(closed_by_daemon(fd), "request before Hello: connection dropped");
        close(fd);

        /* Unknown protocol major version: a clear failure status. */
        fd = raw();
        send_hello(fd, 9);
        n = read_reply(fd, buf, sizeof(buf));
        /* Envelope{call_id=0 (08 00), status=SEC_E_UNSUPPORTED_FUNCTION (10 <varint of -2146893054>)} */
        t_ok(n > 4 && buf[0] == 0x08 && buf[2] == 0x10, "version 9 refused with a status (%d bytes)", n);
        close(fd);

        /* A request with an invalid field (embedded NUL in a package name). */
        fd = raw();
        send_hello(fd, 1);
        read_reply(fd, buf, sizeof(buf));
        send_frame(fd, "\x08\x07\x72\x05\x0a\x03\x4b\x00\x72", 9, 9); /* QueryPackageReq{name="K\0r"} */
        t_ok(closed_by_daemon(fd), "string with embedded NUL: connection dropped");
        close(fd);

        /* Many connections that hang up mid-frame. */
        for (int i = 0; i < 50; i++) {
                fd = raw();
                send_frame(fd, "\x08", 1, 50);
                close(fd);
        }
        t_ok(daemon_serves(), "50 half-frames later the daemon still serves");
}

static void test_exit_leaves_nothing(void) {
        unsigned long long objects0 = 0, conns0 = 0, objects = 0, conns = 0, peak_objects = 0;
        pid_t pid;
        int status, pfd[2];
        char c;

        bool have = admin_status(&objects0, &conns0);
        t_ok(have, "admin status before (objects %llu, connections %llu)", objects0, conns0);
        if (pipe(pfd) < 0)
                return;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                CredHandle cc, sc;
                THandshake h;
                close(pfd[0]);
                /* Open objects and leave without freeing anything. */
                if (t_cred_password("alice", "alice-pw-1", &cc) != SEC_E_OK ||
                    t_cred_service("HTTP/localhost", &sc) != SEC_E_OK ||
                    t_handshake(&cc, &sc, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, &h) != SEC_E_OK)
                        _exit(1);
                (void) !write(pfd[1], "x", 1);
                pause();
                _exit(0);
        }
        close(pfd[1]);
        if (read(pfd[0], &c, 1) == 1 && admin_status(&peak_objects, &conns))
                t_ok(peak_objects == objects0 + 4 && conns == conns0 + 1,
                     "while the client lives: 2 credentials + 2 contexts, 1 connection (objects %llu)", peak_objects);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        close(pfd[0]);
        for (int i = 0; i < 50; i++) {
                if (admin_status(&objects, &conns) && objects == objects0 && conns == conns0)
                        break;
                usleep(20000);
        }
        t_ok(objects == objects0 && conns == conns0, "after SIGKILL: objects %llu -> %llu, connections %llu -> %llu",
             objects0, objects, conns0, conns);
}

int main(void) {
        t_ok(daemon_serves(), "daemon serves");
        test_malformed();
        test_exit_leaves_nothing();
        return t_done();
}
