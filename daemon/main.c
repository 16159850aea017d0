/* SPDX-License-Identifier: MIT */
/*
 * sspid: the SSPI daemon. Under systemd it takes its sockets by name
 * (FileDescriptorName=api / admin); otherwise it binds the paths given with
 * --socket and --admin-socket and runs in the foreground.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "admin/admin.h"
#include "policy/config.h"
#include "util/log.h"
#include "util/random.h"
#include "packages/provider.h"
#include "core/bounds.h"
#include "core/dispatch.h"
#include "core/exports.h"
#include "core/loop.h"
#include "core/server.h"
#include "core/stats.h"
#include "core/workers.h"

#define DEFAULT_SOCKET "/run/sspid/sspid.sock"
#define DEFAULT_ADMIN_SOCKET "/run/sspid/admin.sock"
#define DEFAULT_CONFIG "/etc/sspid/sspid.conf"

static int bind_socket(const char *path, mode_t mode) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, mode) < 0 || listen(fd, 128) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int setup_packages(const Config *cfg) {
        for (const Provider *const *p = providers; *p; p++)
                if ((*p)->setup) {
                        int r = (*p)->setup(cfg);
                        if (r < 0) {
                                log_error("package %s: setup failed: %s", (*p)->name, strerror(-r));
                                return r;
                        }
                }
        return 0;
}

/* Loads the configuration again; on any failure the old one stays. */
static int do_reload(Server *s, char **ret_error) {
        Config *old = server_config(s), *n = NULL;
        char *err = NULL;
        int r;

        sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading configuration\nMONOTONIC_USEC=%llu",
                   (unsigned long long) stats_now_usec());
        r = config_load(old->path, &n, &err);
        if (r < 0) {
                log_error("reload failed, keeping the old configuration: %s", err ? err : strerror(-r));
        } else if (setup_packages(n) < 0) {
                log_error("reload failed in package setup, keeping the old configuration");
                config_unref(n);
                r = -EINVAL;
                if (!err)
                        err = strdup("package setup failed");
        } else {
                pthread_mutex_lock(&s->lock);
                Config *prev = s->config;
                s->config = n;
                pthread_mutex_unlock(&s->lock);
                config_unref(prev);
                if (!getenv("SSPID_DEBUG"))
                        log_set_level(n->log_level);
                log_info("configuration reloaded from %s", n->path ? n->path : "(defaults)");
        }
        stats_note_reload(r >= 0);
        config_unref(old);
        sd_notify(0, "READY=1\nSTATUS=Serving");
        if (ret_error)
                *ret_error = err;
        else
                free(err);
        return r < 0 ? r : 0;
}

static int on_reload(sd_event_source *es, const struct signalfd_siginfo *si, void *userdata) {
        (void) es;
        (void) si;
        (void) do_reload(userdata, NULL);
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/*
 * sd_event_loop(), except that for a short while after handling something
 * the loop polls instead of sleeping. A client usually sends its next call
 * within microseconds of our reply; if this thread slept in the meantime,
 * the kernel would have to wake an idle CPU for it, which costs 25-600 us
 * on virtual machines against a few us for the call itself. On a single
 * CPU polling would only steal time from the client, so it is off there.
 */
#define SPIN_USEC 50

static int run_loop(sd_event *e) {
        cpu_set_t cpus;
        bool may_spin = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 1;
        uint64_t last = 0;

        if (getenv("SSPID_NO_SPIN"))
                may_spin = false;
        for (;;) {
                bool spin = may_spin && now_usec() - last < SPIN_USEC;
                int r = sd_event_run(e, spin ? 0 : UINT64_MAX);

                if (r < 0)
                        return r;
                if (sd_event_get_state(e) == SD_EVENT_FINISHED) {
                        int code = 0;
                        (void) sd_event_get_exit_code(e, &code);
                        return code;
                }
                if (r > 0)
                        last = now_usec();
                else if (spin)
                        /* Nothing yet: let a runnable worker (or the client)
                         * have this CPU before polling again. */
                        (void) sched_yield();
        }
}

static void usage(void) {
        printf("Usage: sspid [--socket PATH] [--admin-socket PATH] [--config FILE]\n"
               "\n"
               "  --socket PATH        API socket (default " DEFAULT_SOCKET ")\n"
               "  --admin-socket PATH  admin socket for sspictl (default " DEFAULT_ADMIN_SOCKET ")\n"
               "  --config FILE        configuration (default " DEFAULT_CONFIG " if it exists)\n"
               "  --check-config       parse the configuration and exit\n"
               "\n"
               "Under systemd the sockets come from socket activation (names \"api\" and \"admin\").\n");
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "admin-socket", required_argument, NULL, 'a' },
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *sock_path = NULL, *admin_path = NULL, *config_path = NULL;
        bool check_only = false;
        Server s = { 0 };
        char **names = NULL;
        char *err = NULL;
        sigset_t mask;
        int c, r, n_fds, api_fd = -1, admin_fd = -1;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 's':
                        sock_path = optarg;
                        break;
                case 'a':
                        admin_path = optarg;
                        break;
                case 'c':
                        config_path = optarg;
                        break;
                case 'C':
                        check_only = true;
                        break;
                case 'h':
                        usage();
                        return 0;
                default:
                        usage();
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "sspid: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        log_setup();
        /* OpenSSL draws from the daemon's page of kernel randomness
         * (util/random.c), set before any thread uses OpenSSL. */
        if (random_setup_openssl() < 0)
                log_warning("OpenSSL keeps its own random generator: RAND_set_rand_method failed");
        /* Every client connection costs a descriptor: the soft limit goes up
         * to the hard one (systemd's default soft limit is 1024, for
         * select()-using programs; we use none, and keep client sockets
         * above 1024 for the libraries that do, bounds.h). */
        (void) limits_setup_fds();
        /* Secrets live in this process: no core dumps, no ptrace by peers. */
        (void) prctl(PR_SET_DUMPABLE, 0);
        if (!config_path && access(DEFAULT_CONFIG, F_OK) == 0)
                config_path = DEFAULT_CONFIG;
        r = config_load(config_path, &s.config, &err);
        if (r < 0) {
                log_error("configuration: %s", err ? err : strerror(-r));
                return 1;
        }
        if (!getenv("SSPID_DEBUG"))
                log_set_level(s.config->log_level);
        if (check_only) {
                printf("configuration OK\n");
                config_unref(s.config);
                return 0;
        }
        /* Heimdal reads KRB5_CONFIG in every thread's first krb5 context:
         * set it before any thread exists. */
        if (s.config->krb5_config)
                setenv("KRB5_CONFIG", s.config->krb5_config, 1);
        if (setup_packages(s.config) < 0)
                return 1;

        pthread_mutex_init(&s.lock, NULL);
        if (getrandom(&s.boot_nonce, sizeof(s.boot_nonce), 0) != sizeof(s.boot_nonce))
                return 1;
        s.loop_tid = gettid();
        s.reload = do_reload;
        s.dispatch_request = dispatch_request;
        s.getkey_answer = getkey_answer;
        s.getkey_cancel_all = getkey_cancel_all;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* A loop of our own, not sd_event_default(): the default loop checks
         * on every iteration, with a gettid() system call, that it runs on
         * the thread that made it. */
        r = sd_event_new(&s.event);
        if (r < 0) {
                log_error("sd_event: %s", strerror(-r));
                return 1;
        }
        (void) sd_event_add_signal(s.event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(s.event, NULL, SIGINT, NULL, NULL);
        (void) sd_event_add_signal(s.event, NULL, SIGHUP, on_reload, &s);
        (void) sd_event_set_watchdog(s.event, true);

        n_fds = sd_listen_fds_with_names(true, &names);
        if (n_fds < 0) {
                log_error("sd_listen_fds: %s", strerror(-n_fds));
                return 1;
        }
        for (int i = 0; i < n_fds; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "";

                if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
                        log_error("passed fd %d (%s) is not a listening AF_UNIX stream socket; ignored", fd, name);
                        close(fd);
                        continue;
                }
                /* systemd passes blocking sockets (unless NonBlocking=yes):
                 * the accept loops must never block the event loop. */
                if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
                    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
                        log_error("passed fd %d (%s): %s; ignored", fd, name, strerror(errno));
                        close(fd);
                } else if (!strcmp(name, "api") || (!strcmp(name, "unknown") && api_fd < 0 && n_fds == 1))
                        api_fd = fd;
                else if (!strcmp(name, "admin"))
                        admin_fd = fd;
                else {
                        log_error("passed socket with unknown name '%s'; refused", name);
                        close(fd);
                }
        }
        for (int i = 0; names && i < n_fds; i++)
                free(names[i]);
        free(names);

        if (api_fd < 0) {
                api_fd = bind_socket(sock_path ? sock_path : DEFAULT_SOCKET, 0666);
                if (api_fd < 0) {
                        log_error("cannot listen on %s: %s", sock_path ? sock_path : DEFAULT_SOCKET,
                                  strerror(-api_fd));
                        return 1;
                }
        }
        if (admin_fd < 0 && (admin_path || n_fds <= 0)) {
                const char *p = admin_path ? admin_path : DEFAULT_ADMIN_SOCKET;

                admin_fd = bind_socket(p, s.config->has_admin_group ? 0660 : 0600);
                if (admin_fd < 0) {
                        log_warning("no admin socket: %s", strerror(-admin_fd));
                        admin_fd = -1;
                } else if (s.config->has_admin_group && chown(p, (uid_t) -1, s.config->admin_group) < 0)
                        log_warning("admin socket: cannot give it to group %u: %s",
                                    (unsigned) s.config->admin_group, strerror(errno));
        }
        if (loop_add_listener(&s, api_fd) < 0 || (admin_fd >= 0 && admin_add_listener(&s, admin_fd) < 0) ||
            loop_setup_wake(&s) < 0 || loop_setup_sweep(&s) < 0) {
                log_error("cannot set up the event loop");
                return 1;
        }
        r = workers_new(s.config->workers, dispatch_run, &s.workers);
        if (r < 0) {
                log_error("cannot start workers: %s", strerror(-r));
                return 1;
        }

        log_info("ready: %u workers, max frame %u bytes", s.config->workers, s.config->max_frame);
        sd_notify(0, "READY=1\nSTATUS=Serving");
        r = run_loop(s.event);
        sd_notify(0, "STOPPING=1\nSTATUS=Shutting down");
        log_info("shutting down");

        /* Free everything, so that leak checkers see a clean exit. */
        admin_shutdown();
        loop_close_all(&s);
        workers_free(s.workers);
        server_free_exports(&s);
        s.wake_source = sd_event_source_disable_unref(s.wake_source);
        s.sweep = sd_event_source_disable_unref(s.sweep);
        s.accept_resume = sd_event_source_disable_unref(s.accept_resume);
        s.listener = sd_event_source_disable_unref(s.listener);
        if (s.wake_fd >= 0)
                close(s.wake_fd);
        if (sock_path && n_fds <= 0)
                (void) unlink(sock_path);
        if (admin_path && n_fds <= 0)
                (void) unlink(admin_path);
        sd_event_unref(s.event);
        config_unref(s.config);
        /* Random bytes not handed out yet are keys to come: wiped. */
        random_forget();
        return r < 0 ? 1 : 0;
}
