/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check.h - the verification core: (code text, trust view, clock) -> verdict.
 *
 * A pure function: no I/O of its own (revocations are asked of the view), no
 * globals, no heap.  The daemon, qrdeskctl check, the tests, the fuzzers and
 * the benchmarks all call this one function.
 *
 * Order of judgement (first failure wins, invalid before review):
 *   size, prefix, base45, COSE structure, alg, kid -> key lookup -> signature
 *   -> key role -> claims -> key revoked -> key window at iat -> issuance
 *   window revoked (kid, iat) -> card revoked
 *   -> expired -> not yet valid -> revocation list unreadable -> trust data
 *   stale -> clock suspect -> policy stale -> destination rule failed -> valid.
 * Expiry is judged by trusted time = max(clock, time floor); destination
 * rules (policy.h) on the calendar day of the trusted time, the departure
 * date.  Once the red checks pass, every rule in the card's scope is
 * evaluated and listed in verdict.policy, whichever amber reason wins.
 */
#ifndef QRDESK_CHECK_H
#define QRDESK_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/trust.h"
#include "qrdesk/verdict.h"

/* Longest code text accepted (a version 40 QR holds 4296 alphanumerics). */
#define CHECK_TEXT_MAX 4296

/*
 * Decide the verdict for text[0..len) (not NUL-terminated; no trimming is
 * done here) against trust at the device clock clock_now (Unix seconds).
 * out is always filled.
 */
void check_code(const char *text, size_t len, const struct trust_view *trust, int64_t clock_now,
                struct verdict *out);

#endif
