/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A budget of failed password checks per uid, so that the daemon is no
 * faster a password-guessing oracle than the KDC itself would be:
 * ChangeAccountPassword takes one unit before it asks the KDC and gives it
 * back unless the password server judged the old password (wrong, or no
 * such account). Taking first means concurrent attempts cannot overshoot
 * the budget. A uid holds at most ATTEMPTS_BURST units and gets one back
 * every ATTEMPTS_REFILL_SEC seconds; with none left its attempts are
 * refused before any KDC is asked, the right password included. Other uids
 * are not affected.
 *
 * The table is bounded (ATTEMPTS_UIDS entries): when full, the entry that
 * has recovered its whole budget longest ago is reused, and if none has,
 * the newcomer gets no budget of its own (refused until one frees).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define ATTEMPTS_BURST 10u
#define ATTEMPTS_REFILL_SEC 30u
#define ATTEMPTS_UIDS 1024u

/* Take one unit of uid's budget for an attempt; false (nothing taken) when
 * none is left. */
bool attempts_take(uid_t uid);
/* The attempt taken did not test a password: the unit goes back. */
void attempts_refund(uid_t uid);
