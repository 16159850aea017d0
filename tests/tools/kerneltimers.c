/* SPDX-License-Identifier: MIT */
/*
 * Test-only preload for the AD suite's skewed daemon (tests/ad/run.sh):
 * timerfd_settime() and timerfd_gettime() go straight to the kernel.
 *
 * libfaketime (0.9.10) moves every absolute timerfd expiry back by its
 * offset, even with FAKETIME_DONT_FAKE_MONOTONIC=1: sd-event's
 * CLOCK_MONOTONIC / CLOCK_BOOTTIME timers then fire at once, and on a host
 * up for less than the offset (15 minutes) the expiry is negative,
 * timerfd_settime() fails with EINVAL and the daemon shuts down at start.
 * Only the wall clock is meant to be skewed; the monotonic clocks, which
 * the daemon's timers use, are not. Listed before libfaketime in
 * LD_PRELOAD, these definitions are the ones the daemon binds to.
 */
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

int timerfd_settime(int fd, int flags, const struct itimerspec *new_value, struct itimerspec *old_value) {
        return (int) syscall(SYS_timerfd_settime, fd, flags, new_value, old_value);
}

int timerfd_gettime(int fd, struct itimerspec *curr_value) {
        return (int) syscall(SYS_timerfd_gettime, fd, curr_value);
}
