/* SPDX-License-Identifier: Apache-2.0 */
/*
 * travel_specimen.h - a specimen passport MRZ and boarding pass for a card's
 * claims: test documents for the issuer's users (qrdesk-issuer specimen),
 * the demo and the tests.  Pure.
 *
 * The name is split as many Bangladeshi passports print it: the last word
 * is the surname (MRZ primary identifier; the boarding pass's SURNAME), the
 * rest the given names.  The passport is Bangladeshi (P<BGD, nationality
 * BGD), its number, birth date and sex the card's.  The boarding pass is
 * one leg from Dhaka (DAC) to the first airport of the card's destination
 * in the airport table, mandatory items only.
 */
#ifndef QRDESK_TRAVEL_SPECIMEN_H
#define QRDESK_TRAVEL_SPECIMEN_H

#include <stddef.h>
#include <stdint.h>

#include "qrdesk/airport.h"
#include "qrdesk/bcbp.h"
#include "qrdesk/credential.h"
#include "qrdesk/mrz.h"

/* expiry_days: the passport's expiry (days since 1970-01-01, in 2000..2099). */
enum qd_err travel_specimen_mrz(const struct clearance_claims *c, int32_t expiry_days,
                                char out[MRZ_TEXT_MAX + 1]);

/* flight_day: the Julian day of the flight (1..366).  QD_ERR_NOT_FOUND if the table has no
 * airport in the card's destination. */
enum qd_err travel_specimen_bcbp(const struct clearance_claims *c,
                                 const struct airport_table *airports, unsigned flight_day,
                                 char *out, size_t cap);

#endif
