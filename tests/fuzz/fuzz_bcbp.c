/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_bcbp - bcbp_parse over arbitrary scanner output, then the name
 * comparison.
 *
 * On failure: nothing filled in, an item named, an offset inside the text.
 * On success: 1..4 legs, strings NUL-terminated, the mandatory items in
 * their shapes (airports three letters, a Julian day 1..366), counts within
 * the items that exist; the mandatory items written back by bcbp_format
 * parse to the same mandatory items; the name compares equal to itself.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/bcbp.h"
#include "qrdesk/travel_name.h"

static void check_field(const char *s, size_t size)
{
	FUZZ_CHECK(memchr(s, '\0', size) != NULL);
}

static bool letters(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return s[n] == '\0';
}

static void check_leg(const struct bcbp_leg *l)
{
	check_field(l->pnr, sizeof(l->pnr));
	check_field(l->carrier, sizeof(l->carrier));
	check_field(l->flight, sizeof(l->flight));
	check_field(l->seat, sizeof(l->seat));
	check_field(l->sequence, sizeof(l->sequence));
	check_field(l->document_serial, sizeof(l->document_serial));
	check_field(l->frequent_flyer_number, sizeof(l->frequent_flyer_number));
	FUZZ_CHECK(letters(l->from, 3) && letters(l->to, 3));
	FUZZ_CHECK(l->flight_day >= 1 && l->flight_day <= 366);
	FUZZ_CHECK(l->compartment >= 'A' && l->compartment <= 'Z');
	FUZZ_CHECK(l->n_conditional <= 10);
	FUZZ_CHECK(l->individual_use_len <= 255);
}

/* Mandatory items of a leg (what bcbp_format writes). */
static bool same_mandatory(const struct bcbp_leg *a, const struct bcbp_leg *b)
{
	return strcmp(a->pnr, b->pnr) == 0 && strcmp(a->from, b->from) == 0 &&
	       strcmp(a->to, b->to) == 0 && strcmp(a->carrier, b->carrier) == 0 &&
	       strcmp(a->flight, b->flight) == 0 && a->flight_day == b->flight_day &&
	       a->compartment == b->compartment && strcmp(a->seat, b->seat) == 0 &&
	       strcmp(a->sequence, b->sequence) == 0 && a->passenger_status == b->passenger_status;
}

static bool ends_like_title(const struct travel_name *parts)
{
	static const char *const titles[] = {"MR", "MRS", "MS", "MISS", "MSTR", "DR", "PROF", "MX"};
	const char *last = parts->parts[parts->n - 1];
	size_t len = strlen(last);
	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
		size_t tl = strlen(titles[i]);
		if (len >= tl && strcmp(last + len - tl, titles[i]) == 0)
			return true;
	}
	return false;
}

static struct bcbp pass, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct bcbp_error err;
	enum bcbp_status st = bcbp_parse(text, size, &pass, &err);
	if (st != BCBP_OK) {
		FUZZ_CHECK(err.status == st && err.item != NULL && err.item[0] != '\0');
		FUZZ_CHECK(err.offset <= size && err.leg <= BCBP_LEGS_MAX);
		FUZZ_CHECK(pass.n_legs == 0);
		return 0;
	}
	FUZZ_CHECK(size >= BCBP_MANDATORY_LEN && bcbp_is_shaped(text, size));
	FUZZ_CHECK(pass.n_legs >= 1 && pass.n_legs <= BCBP_LEGS_MAX);
	FUZZ_CHECK(pass.name[0] >= 'A' && pass.name[0] <= 'Z' && strchr(pass.name, '/') != NULL);
	FUZZ_CHECK(pass.eticket == 'E' || pass.eticket == 'L');
	FUZZ_CHECK(pass.n_unique <= 9 && (pass.has_version || pass.n_unique == 0));
	for (unsigned i = 0; i < pass.n_legs; i++)
		check_leg(&pass.legs[i]);
	FUZZ_CHECK(bcbp_final_leg(&pass) == &pass.legs[pass.n_legs - 1]);

	char out[BCBP_TEXT_MAX + 1];
	FUZZ_CHECK(bcbp_format(&pass, out, sizeof(out)) == QD_OK);
	FUZZ_CHECK(bcbp_parse(out, strlen(out), &again, &err) == BCBP_OK);
	FUZZ_CHECK(again.n_legs == pass.n_legs && strcmp(again.name, pass.name) == 0);
	for (unsigned i = 0; i < pass.n_legs; i++)
		FUZZ_CHECK(same_mandatory(&pass.legs[i], &again.legs[i]));

	/* A card carrying the pass's own name matches it, unless the name ends like a title
	 * (travel_name.h drops those from the pass, not from the card). */
	struct travel_name parts;
	if (travel_name_parse(pass.name, &parts) && !ends_like_title(&parts)) {
		enum travel_name_match m = travel_name_match_bcbp(pass.name, &pass);
		FUZZ_CHECK(m == TRAVEL_NAME_EQUAL || m == TRAVEL_NAME_TRUNCATED);
	}
	FUZZ_CHECK(travel_name_match_bcbp("RAHIMA KHATUN", &pass) <= TRAVEL_NAME_UNCOMPARABLE);
	return 0;
}
