/* SPDX-License-Identifier: Apache-2.0 */
/*
 * travel_name.h - a traveller's name on the clearance card compared with the
 * name in a passport's MRZ (mrz.h) or on a boarding pass (bcbp.h).
 *
 * Pure: no I/O, no allocation.  docs/binding.md gives the rules with
 * examples.  In short:
 *  - Normalised: upper case A-Z only.  Spaces, hyphens, full stops,
 *    commas, '<' and '/' split components; apostrophes are dropped ("D'COSTA" is
 *    "DCOSTA", as ICAO 9303 writes it).  A card name with any other
 *    character (a digit, a letter outside A-Z) cannot be compared: it is a
 *    mismatch with its own detail.
 *  - Order does not matter: the card holds one Latin-script name, the MRZ
 *    splits it into primary and secondary identifiers and the boarding pass
 *    into SURNAME/GIVEN, and which part is the surname differs between
 *    Bangladeshi names.  The components must be the same, each as often.
 *  - Truncation (9303 Part 3; IATA's 20-character name): only if the card's
 *    name could not fit the document's field, and only a document name that
 *    fills its whole field (cut) or has initials.  Then every component but
 *    the last must equal a distinct card component (or be its initial), and
 *    the last must begin one; if the field is not full, every card
 *    component must be accounted for.
 *  - A boarding pass's title (MR, MRS, MS, MISS, MSTR, DR...) after the
 *    given names is ignored, separate or glued on.
 */
#ifndef QRDESK_TRAVEL_NAME_H
#define QRDESK_TRAVEL_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "qrdesk/bcbp.h"
#include "qrdesk/mrz.h"

/*
 * Enough for any name the three can hold, so a long name is never refused
 * for its count of parts: a card's 64 characters hold at most 32 one-letter
 * parts, an MRZ's 39 at most 20, a boarding pass's 20 at most 10.
 */
#define TRAVEL_NAME_PARTS_MAX 32
#define TRAVEL_NAME_PART_MAX  64

struct travel_name {
	size_t n;
	char parts[TRAVEL_NAME_PARTS_MAX][TRAVEL_NAME_PART_MAX + 1];
};

enum travel_name_match {
	TRAVEL_NAME_EQUAL = 0,    /* the same components */
	TRAVEL_NAME_TRUNCATED,    /* the document's name is the card's, cut by the rules */
	TRAVEL_NAME_DIFFERENT,    /* not the same name */
	TRAVEL_NAME_UNCOMPARABLE, /* the card's name has characters outside the rules */
};

/* Split and normalise a name; false if a character is outside the rules or it is too long. */
bool travel_name_parse(const char *text, struct travel_name *out);

/* The card's name against the MRZ's primary and secondary identifiers. */
enum travel_name_match travel_name_match_mrz(const char *card_name, const struct mrz_td3 *mrz);

/* The card's name against a boarding pass's SURNAME/GIVEN [TITLE]. */
enum travel_name_match travel_name_match_bcbp(const char *card_name, const struct bcbp *pass);

/* "equal", "truncated", "different", "uncomparable". */
const char *travel_name_match_name(enum travel_name_match m);

#endif
