/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The adversarial suite (tests/adversarial/): every test starts a private
 * daemon with the DEFAULT configuration (t_daemon_start(&d, NULL, NULL):
 * the test world's grants, no limit keys), runs an attack as uid 65534
 * (T_ATTACKER) in forked children, and measures a victim (root, T_VICTIM)
 * meanwhile: the victim must be served within a functional bound (seconds,
 * never a tight timing), and the daemon's RSS, CPU and log growth must stay
 * bounded. Each test also shows it can fail: a positive control (the
 * attack's effect measured, or the same attack against a deliberately
 * weakened setting).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tdaemon.h"

#define T_ATTACKER 65534
#define T_VICTIM 0

/* Fork a child that drops to uid (and gid = uid, no groups) unless uid is
 * 0, then runs fn(arg) and _exits with its return value. Returns the
 * child's pid, -1 on failure. */
pid_t t_spawn_as(uid_t uid, int (*fn)(void *arg), void *arg);
/* t_spawn_as and wait: fn's return value, 98 if killed, 99 if the
 * identity could not be dropped. */
int t_run_as(uid_t uid, int (*fn)(void *arg), void *arg);
/* Wait for a child spawned above, at most timeout_ms (then SIGKILL):
 * its exit status as t_run_as. */
int t_wait_child(pid_t pid, int timeout_ms);

/* Monotonic milliseconds. */
uint64_t t_now_ms(void);

/* The victim's ordinary work, run in the calling process: list the
 * packages, acquire an NTLM credential and produce its first leg, and a
 * full Kerberos handshake with the test realm (alice → HTTP/localhost).
 * Returns 0 when all of it succeeded. */
int t_victim_round(void);
/* Run t_victim_round as `uid` in a child that re-executes this test binary
 * (not a bare fork: see tattack.c), at most timeout_ms. Returns the
 * milliseconds it took, or -1 if it failed or did not finish in time. */
long t_victim_ms(uid_t uid, int timeout_ms);

/* Daemon process figures: CPU (user + system) in ms, open fds, RSS KiB;
 * -1 on failure. */
long t_proc_cpu_ms(pid_t pid);
/* Size of a file (the daemon log), -1 on failure. */
long t_file_size(const char *path);

/* Runs build/sspictl --socket <d's admin socket> args... (NULL-ended, at
 * most 12), its standard output into out (cut at len - 1, NUL-ended).
 * Returns its exit status, -1 if it did not run or died. */
int t_sspictl(const TDaemon *d, const char *const *args, char *out, size_t len);

/* A raw connection to the daemon socket of d (no Hello sent), or -1. */
int t_raw_connect(const TDaemon *d);
