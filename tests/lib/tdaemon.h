/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A private sspid for tests that must not disturb the shared test world's
 * daemon (quotas, kill -9, a dead KDC): the world's sspid.conf plus extra
 * [daemon] keys, optionally another krb5.conf, in a temp dir of its own.
 * The daemon binary is SSPID_BIN, else the one of the build the test
 * belongs to (build/ or build/asan/). Starting it points SSPID_SOCKET and SSPID_ADMIN_SOCKET of
 * this process (and its later children) at it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct TDaemon {
        char dir[64];
        char sock[128], admin[128], conf[128], log[128];
        char bin[1024];
        pid_t pid;
        bool own_krb5;
} TDaemon;

/* daemon_keys: lines for [daemon] (may be NULL); krb5_conf: a path for
 * [kerberos] krb5-config, or NULL for the world's. */
bool t_daemon_start(TDaemon *d, const char *daemon_keys, const char *krb5_conf);
/* Start it again on the same socket and config (after a kill). */
bool t_daemon_restart(TDaemon *d);
/* kill(2) and reap. */
void t_daemon_kill(TDaemon *d, int sig);
/* SIGTERM; reports a clean exit and a log without sanitizer reports; rm -rf. */
void t_daemon_stop(TDaemon *d);

/* A number from `sspictl --json status` of this daemon: the first value of
 * "key": after `after` (NULL: from the start). UINT64_MAX on failure. */
uint64_t t_daemon_status(const TDaemon *d, const char *key, const char *after);
/* The whole JSON text into buf; false on failure. */
bool t_daemon_status_json(const TDaemon *d, char *buf, size_t len);

/* Open fds and VmRSS (KiB) of a process; -1 on failure. */
long t_proc_fds(pid_t pid);
long t_proc_rss_kib(pid_t pid);

/* A KDC that never answers: a UDP socket and a TCP listener on one port of
 * 127.0.0.1 that read nothing (kept open for the process's life). Returns
 * the port, 0 on failure. */
int t_dead_kdc(void);
/* Writes a krb5.conf into path from the world's, with the realm's KDCs
 * replaced by "kdc = 127.0.0.1:PORT" for each port of ports[] (0 stands
 * for the world's real KDC) and the given [libdefaults] timeouts. */
bool t_krb5_conf(const char *path, const int *ports, int n_ports, int kdc_timeout, int host_timeout);
