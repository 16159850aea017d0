/* SPDX-License-Identifier: MIT */
/*
 * The suite's own control: the victim measurement of tests/lib/tattack.c
 * succeeds against an idle default daemon, and fails when the daemon is
 * gone (so every other test's "victim served" can fail).
 */
#include <signal.h>
#include <stdio.h>

#include "tattack.h"
#include "testlib.h"

int main(void) {
        TDaemon d;
        long ms;

        if (!t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0, "victim (uid 0) served by an idle default daemon (%ld ms)", ms);
        ms = t_victim_ms(T_ATTACKER, 20000);
        t_ok(ms < 0, "uid 65534 has no grant to accept as HTTP/localhost: its victim round fails (control)");
        t_daemon_kill(&d, SIGKILL);
        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms < 0, "control: with the daemon killed the victim round fails");
        t_ok(t_daemon_restart(&d), "the daemon starts again");
        t_daemon_stop(&d);
        return t_done();
}
