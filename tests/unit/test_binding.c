/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_binding.c - the traveller transaction on explicit time: the three
 * documents in every order, each mismatch, check digits, the timeout, a
 * passport typed line by line, the next traveller's card, a bad card; the
 * shapes that tell the documents apart; the specimen documents.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/binding.h"
#include "qrdesk/travel_specimen.h"

#define T0      1795000000 /* the card's issue time (unix seconds) */
#define SEC     1000000    /* microseconds */
#define TIMEOUT 120

static struct airport_table airports;
static struct binding b;
static struct verdict card;
static char mrz[MRZ_TEXT_MAX + 1];
static char pass[BCBP_TEXT_MAX + 1];

/* 2031-08-15: after the card's expiry. */
#define PASSPORT_EXPIRY 22506

static int setup(void **state)
{
	(void)state;
	size_t len = 0;
	const char *text = airport_builtin_text(&len);
	struct qd_errmsg why;
	return airport_table_parse(text, len, &airports, &why) == QD_OK ? 0 : -1;
}

/* A fresh desk with a requirement; the card is the worked example, valid. */
static void desk(enum binding_require require)
{
	struct binding_config cfg = {
	        .require = require, .timeout_s = TIMEOUT, .airports = &airports};
	binding_init(&b, &cfg);
	memset(&card, 0, sizeof(card));
	credential_example(&card.cred, "2611012345", T0, T0 + 30 * 86400);
	card.has_claims = true;
	card.signature_ok = true;
	verdict_set(&card, REASON_OK);
	assert_int_equal(travel_specimen_mrz(&card.cred.clearance, PASSPORT_EXPIRY, mrz), QD_OK);
	assert_int_equal(
	        travel_specimen_bcbp(&card.cred.clearance, &airports, 40, pass, sizeof(pass)),
	        QD_OK);
}

static void feed(char doc, int64_t t, struct binding_outcome *out)
{
	switch (doc) {
	case 'c':
		binding_card(&b, &card, t, out);
		break;
	case 'p':
		binding_text(&b, binding_shape_of(mrz, strlen(mrz)), mrz, strlen(mrz), t, out);
		break;
	case 'b':
		binding_text(&b, binding_shape_of(pass, strlen(pass)), pass, strlen(pass), t, out);
		break;
	default:
		fail_msg("no document %c", doc);
	}
}

static const struct binding_result *only_done(const struct binding_outcome *out)
{
	assert_int_equal(out->n_done, 1);
	assert_false(out->accepted);
	return out->done[0];
}

static void test_specimens(void **state)
{
	(void)state;
	desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
	assert_string_equal(mrz, "P<BGDKHATUN<<RAHIMA<<<<<<<<<<<<<<<<<<<<<<<<<\n"
	                         "A123456784BGD9403121F3108158<<<<<<<<<<<<<<08");
	assert_string_equal(pass, "M1KHATUN/RAHIMA       EQDSPEC DACKWIBG 0347 040Y024A0042 100");
	struct clearance_claims c = card.cred.clearance;
	snprintf(c.destination, sizeof(c.destination), "NZ");
	assert_int_equal(travel_specimen_bcbp(&c, &airports, 40, pass, sizeof(pass)),
	                 QD_ERR_NOT_FOUND);
	assert_int_equal(travel_specimen_mrz(&c, 100, mrz), QD_ERR_ARG); /* 1970 */
}

static void test_shapes(void **state)
{
	(void)state;
	desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
	static const struct {
		const char *text;
		enum binding_shape shape;
	} cases[] = {
	        {"BC1:6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTLRR+%3", BINDING_SHAPE_CARD},
	        {"", BINDING_SHAPE_CARD},
	        {"P<BGDKHATUN<<RAHIMA<<<<<<<<<<<<<<<<<<<<<<<<<", BINDING_SHAPE_MRZ_LINE1},
	        {"A123456784BGD9403121F3108158<<<<<<<<<<<<<<08", BINDING_SHAPE_MRZ_LINE2},
	        {"p<BGDKHATUN<<RAHIMA<<<<<<<<<<<<<<<<<<<<<<<<<", BINDING_SHAPE_CARD},
	        {"P<BGDKHATUN<<RAHIMA<<<<<<<<<<<<<<<<<<<<<<<<", BINDING_SHAPE_CARD},
	        {"M1KHATUN/RAHIMA       EQD8836 DACKWIBG 0347 040Y024A0042 100",
	         BINDING_SHAPE_BCBP},
	        {"M5KHATUN/RAHIMA       EQD8836 DACKWIBG 0347 040Y024A0042 100",
	         BINDING_SHAPE_CARD},
	        {"M1KHATUN/RAHIMA", BINDING_SHAPE_CARD},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(binding_shape_of(cases[i].text, strlen(cases[i].text)),
		                 cases[i].shape);
	assert_int_equal(binding_shape_of(mrz, strlen(mrz)), BINDING_SHAPE_MRZ);
	char crlf[100];
	snprintf(crlf, sizeof(crlf), "%.44s\r\n%s\r\n", mrz, mrz + 45);
	assert_int_equal(binding_shape_of(crlf, strlen(crlf)), BINDING_SHAPE_MRZ);
	enum binding_require r;
	assert_true(binding_require_parse("card+passport+boarding", &r));
	assert_int_equal(r, BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
	assert_true(binding_require_parse("card", &r));
	assert_int_equal(r, BINDING_REQUIRE_CARD);
	assert_false(binding_require_parse("passport", &r));
	assert_false(binding_require_parse("card+boarding", &r));
	assert_string_equal(binding_require_name(BINDING_REQUIRE_CARD_PASSPORT), "card+passport");
}

/* Every order of the three: two "accepted", then one valid verdict with every part ticked. */
static void test_every_order(void **state)
{
	(void)state;
	static const char *const orders[] = {"cpb", "cbp", "pcb", "pbc", "bcp", "bpc"};
	for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
		struct binding_outcome out;
		for (int k = 0; k < 2; k++) {
			feed(orders[i][k], (int64_t)(k + 1) * SEC, &out);
			assert_int_equal(out.n_done, 0);
			assert_true(out.accepted);
			assert_non_null(binding_current(&b));
		}
		feed(orders[i][2], 3 * SEC, &out);
		const struct binding_result *r = only_done(&out);
		if (r->verdict.kind != VERDICT_VALID)
			fail_msg("order %s: %s %s", orders[i], reason_code(r->verdict.reason),
			         r->verdict.detail);
		for (int d = 0; d < BINDING_DOCS; d++)
			assert_int_equal(r->parts[d].state, BINDING_PASSED);
		assert_true(r->has_card);
		assert_true(r->verdict.has_claims);
		assert_true(r->passport_matched);
		assert_string_equal(r->passport_no, "A12345678");
		assert_string_equal(r->final_airport, "KWI");
		assert_string_equal(r->final_country, "KW");
		/* The audit pseudonyms' sources: the passport, the booking (carrier, PNR). */
		assert_string_equal(r->passport_ref, "BGD:A12345678");
		assert_string_equal(r->booking_ref, "BG:QDSPEC");
		assert_int_equal(r->opened_us, SEC);
		assert_int_equal(r->closed_us, 3 * SEC);
		assert_null(binding_current(&b));
		assert_int_equal(binding_deadline(&b), 0);
	}
}

/* A passport written for other claims or fields, against the example card. */
struct passport_case {
	const char *what;
	void (*change)(struct mrz_td3 *m);
	enum verdict_reason reason;
	const char *detail;
};

static void other_number(struct mrz_td3 *m)
{
	snprintf(m->document_number, sizeof(m->document_number), "A12345679");
}
static void other_birth(struct mrz_td3 *m)
{
	m->birth.dd = 13;
}
static void other_sex(struct mrz_td3 *m)
{
	m->sex = 'M';
}
static void other_name(struct mrz_td3 *m)
{
	snprintf(m->secondary, sizeof(m->secondary), "RAHIMA BEGUM");
}
static void other_nationality(struct mrz_td3 *m)
{
	snprintf(m->nationality, sizeof(m->nationality), "IND");
}
static void soon(struct mrz_td3 *m)
{
	m->expiry = (struct mrz_date){26, 12, 1}; /* before the card's expiry (2026-12-18) */
}
static void order_swapped(struct mrz_td3 *m)
{
	snprintf(m->primary, sizeof(m->primary), "RAHIMA");
	snprintf(m->secondary, sizeof(m->secondary), "KHATUN");
}

static void test_passport_mismatches(void **state)
{
	(void)state;
	static const struct passport_case cases[] = {
	        {"number", other_number, REASON_PASSPORT_MISMATCH, "passport: passport_no"},
	        {"birth", other_birth, REASON_PASSPORT_MISMATCH, "passport: birth_date"},
	        {"sex", other_sex, REASON_PASSPORT_MISMATCH, "passport: sex"},
	        {"name", other_name, REASON_PASSPORT_MISMATCH, "passport: name"},
	        {"nationality", other_nationality, REASON_PASSPORT_MISMATCH,
	         "passport: nationality"},
	        {"expiry", soon, REASON_PASSPORT_EXPIRES_SOON, "passport: expiry_date"},
	        {"name order", order_swapped, REASON_OK, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
		struct mrz_td3 m;
		struct mrz_error err;
		assert_int_equal(mrz_parse_td3(mrz, strlen(mrz), &m, &err), MRZ_OK);
		cases[i].change(&m);
		assert_int_equal(mrz_format_td3(&m, mrz), QD_OK);
		struct binding_outcome out;
		feed('c', SEC, &out);
		feed('p', 2 * SEC, &out);
		if (reason_kind(cases[i].reason) == VERDICT_INVALID) {
			/* Red at once: the boarding pass cannot make it better. */
			const struct binding_result *r = only_done(&out);
			assert_int_equal(r->verdict.reason, cases[i].reason);
			assert_string_equal(r->verdict.detail, cases[i].detail);
			assert_int_equal(r->parts[BINDING_DOC_PASSPORT].state, BINDING_FAILED);
			assert_false(r->passport_matched); /* never the full number of another's */
			assert_int_equal(r->parts[BINDING_DOC_BOARDING].state, BINDING_ABSENT);
			continue;
		}
		assert_true(out.accepted);
		feed('b', 3 * SEC, &out);
		const struct binding_result *r = only_done(&out);
		if (r->verdict.reason != cases[i].reason)
			fail_msg("%s: %s %s", cases[i].what, reason_code(r->verdict.reason),
			         r->verdict.detail);
		assert_string_equal(r->verdict.detail, cases[i].detail);
	}
}

/* Each check digit broken in turn: review, the digit named, the transaction goes on. */
static void test_passport_check_digits(void **state)
{
	(void)state;
	static const struct {
		size_t column; /* in line 2, 1-based */
		const char *detail;
	} cases[] = {
	        {10, "passport: document_number"}, {20, "passport: birth_date"},
	        {28, "passport: expiry_date"},     {43, "passport: optional_data"},
	        {44, "passport: composite"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
		char *digit = &mrz[MRZ_TD3_LINE + cases[i].column];
		*digit = *digit == '9' ? '0' : (char)(*digit + 1);
		struct binding_outcome out;
		feed('p', SEC, &out);
		feed('c', 2 * SEC, &out);
		assert_true(out.accepted);
		feed('b', 3 * SEC, &out);
		const struct binding_result *r = only_done(&out);
		assert_int_equal(r->verdict.kind, VERDICT_REVIEW);
		assert_int_equal(r->verdict.reason, REASON_PASSPORT_MRZ_INVALID);
		assert_string_equal(r->verdict.detail, cases[i].detail);
		assert_int_equal(r->parts[BINDING_DOC_BOARDING].state, BINDING_PASSED);
	}
}

static void test_boarding_mismatches(void **state)
{
	(void)state;
	static const struct {
		const char *pass;
		enum verdict_reason reason;
		const char *detail;
		const char *country;
	} cases[] = {
	        {"M1KHATUN/RAHIMA MS    EQD8836 DACKWIBG 0347 040Y024A0042 100", REASON_OK, "",
	         "KW"},
	        {"M1KHATUN/RAHIM        EQD8836 DACKWIBG 0347 040Y024A0042 100",
	         REASON_BOARDING_NAME_MISMATCH, "boarding: name", "KW"},
	        {"M1KHATUN/RAHIMA       EQD8836 DACDXBBG 0347 040Y024A0042 100",
	         REASON_BOARDING_DESTINATION_MISMATCH, "boarding: final_arrival", "AE"},
	        /* a connection counts by where it finally lands */
	        {"M2KHATUN/RAHIMA       EQD8836 DACDXBEK 0585 040Y032K0117 100"
	         "QD8836 DXBKWIEK 0853 041Y032K0117 100",
	         REASON_OK, "", "KW"},
	        {"M2KHATUN/RAHIMA       EQD8836 DACKWIEK 0585 040Y032K0117 100"
	         "QD8836 KWIRUHEK 0853 041Y032K0117 100",
	         REASON_BOARDING_DESTINATION_MISMATCH, "boarding: final_arrival", "SA"},
	        {"M1KHATUN/RAHIMA       EQD8836 DACZZZBG 0347 040Y024A0042 100",
	         REASON_BOARDING_DESTINATION_MISMATCH, "boarding: airport not in the table", ""},
	        {"M1KHATUN/RAHIMA       EQD8836 DACKWIBG 0347 400Y024A0042 100",
	         REASON_BOARDING_PASS_INVALID, "boarding: flight_date", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
		snprintf(pass, sizeof(pass), "%s", cases[i].pass);
		struct binding_outcome out;
		feed('b', SEC, &out);
		feed('c', 2 * SEC, &out);
		feed('p', 3 * SEC, &out);
		const struct binding_result *r = only_done(&out);
		if (r->verdict.reason != cases[i].reason)
			fail_msg("case %zu: %s %s", i, reason_code(r->verdict.reason),
			         r->verdict.detail);
		assert_string_equal(r->verdict.detail, cases[i].detail);
		assert_string_equal(r->final_country, cases[i].country);
		assert_int_equal(r->verdict.kind, reason_kind(cases[i].reason));
		assert_true(r->passport_matched);
	}
}

static void test_timeout(void **state)
{
	(void)state;
	desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
	struct binding_outcome out;
	feed('c', SEC, &out);
	feed('p', 2 * SEC, &out);
	assert_int_equal(binding_deadline(&b), SEC + (int64_t)TIMEOUT * SEC);
	binding_expire(&b, SEC + (int64_t)TIMEOUT * SEC - 1, &out);
	assert_int_equal(out.n_done, 0);
	binding_expire(&b, SEC + (int64_t)TIMEOUT * SEC, &out);
	const struct binding_result *r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_BINDING_INCOMPLETE);
	assert_int_equal(r->verdict.kind, VERDICT_REVIEW);
	assert_string_equal(r->verdict.detail, "boarding: missing");
	assert_int_equal(r->parts[BINDING_DOC_PASSPORT].state, BINDING_PASSED);
	assert_int_equal(r->closed_us, SEC + (int64_t)TIMEOUT * SEC);

	/* A passport with no card: it waits, then closes without one. */
	feed('p', 1000 * SEC, &out);
	assert_true(out.accepted);
	assert_int_equal(binding_current(&b)->parts[BINDING_DOC_PASSPORT].state, BINDING_UNCHECKED);
	binding_expire(&b, 1000 * SEC + (int64_t)TIMEOUT * SEC, &out);
	r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_BINDING_INCOMPLETE);
	assert_string_equal(r->verdict.detail, "card: missing");
	assert_false(r->has_card);
	assert_false(r->verdict.has_claims);

	/* A card that comes late finds nothing waiting: a new transaction. */
	feed('p', 2000 * SEC, &out);
	feed('c', 2000 * SEC + (int64_t)TIMEOUT * SEC + 1, &out);
	assert_int_equal(out.n_done, 1); /* the passport's, expired */
	assert_true(out.accepted);
	assert_int_equal(binding_current(&b)->parts[BINDING_DOC_PASSPORT].state, BINDING_ABSENT);
	assert_true(out.done[0]->id < 100);
}

static void test_mrz_line_by_line(void **state)
{
	(void)state;
	desk(BINDING_REQUIRE_CARD_PASSPORT);
	struct binding_outcome out;
	feed('c', SEC, &out);
	binding_text(&b, binding_shape_of(mrz, 44), mrz, 44, 2 * SEC, &out);
	assert_false(out.accepted);
	assert_int_equal(out.n_done, 0);
	assert_int_equal(binding_deadline(&b), 2 * SEC + BINDING_MRZ_LINE_GAP_MS * 1000);
	binding_text(&b, binding_shape_of(mrz + 45, 44), mrz + 45, 44, 2 * SEC + 50000, &out);
	const struct binding_result *r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_OK);

	/* A first line alone: after the gap, a passport whose zone is incomplete. */
	feed('c', 10 * SEC, &out);
	binding_text(&b, BINDING_SHAPE_MRZ_LINE1, mrz, 44, 11 * SEC, &out);
	binding_expire(&b, 11 * SEC + BINDING_MRZ_LINE_GAP_MS * 1000, &out);
	r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_PASSPORT_MRZ_INVALID);
	assert_string_equal(r->verdict.detail, "passport: layout");

	/* A document number starting with P: the second line has line 1's shape. */
	feed('c', 20 * SEC, &out);
	char l2[45];
	memcpy(l2, mrz + 45, 44);
	l2[0] = 'P';
	binding_text(&b, BINDING_SHAPE_MRZ_LINE1, mrz, 44, 21 * SEC, &out);
	binding_text(&b, binding_shape_of(l2, 44), l2, 44, 21 * SEC + 1000, &out);
	r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_PASSPORT_MRZ_INVALID); /* its digit fails */
}

static void test_cards(void **state)
{
	(void)state;
	desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
	struct binding_outcome out;
	/* The next traveller's card closes the first transaction. */
	feed('c', SEC, &out);
	feed('p', 2 * SEC, &out);
	feed('c', 3 * SEC, &out);
	assert_int_equal(out.n_done, 1);
	assert_true(out.accepted);
	assert_int_equal(out.accepted_doc, BINDING_DOC_CARD);
	assert_int_equal(out.done[0]->verdict.reason, REASON_BINDING_INCOMPLETE);
	assert_string_equal(out.done[0]->verdict.detail, "boarding: missing");
	assert_int_equal(binding_deadline(&b), 3 * SEC + (int64_t)TIMEOUT * SEC);

	/* A revoked card: its own verdict at once; the waiting passport is not matched. */
	desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
	feed('p', SEC, &out);
	verdict_set(&card, REASON_CARD_REVOKED);
	feed('c', 2 * SEC, &out);
	const struct binding_result *r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_CARD_REVOKED);
	assert_int_equal(r->parts[BINDING_DOC_PASSPORT].state, BINDING_UNCHECKED);
	assert_false(r->passport_matched);

	/* A card in review (already used) binds, and stays the worst part. */
	desk(BINDING_REQUIRE_CARD_PASSPORT);
	verdict_set(&card, REASON_ALREADY_USED);
	snprintf(card.detail, sizeof(card.detail), "first passed at 1 at desk d1");
	feed('c', SEC, &out);
	feed('p', 2 * SEC, &out);
	r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_ALREADY_USED);
	assert_string_equal(r->verdict.detail, "first passed at 1 at desk d1");
	assert_int_equal(r->parts[BINDING_DOC_PASSPORT].state, BINDING_PASSED);

	/* A card without verified claims cannot be bound. */
	desk(BINDING_REQUIRE_CARD_PASSPORT);
	card.signature_ok = false;
	verdict_set(&card, REASON_TRUST_STALE);
	feed('c', SEC, &out);
	r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_TRUST_STALE);
}

/* What is not required still counts when scanned; the first document re-scanned replaces. */
static void test_optional_and_rescan(void **state)
{
	(void)state;
	desk(BINDING_REQUIRE_CARD_PASSPORT);
	struct binding_outcome out;
	snprintf(pass, sizeof(pass),
	         "M1KHATUN/RAHIMA       EQD8836 DACDXBBG 0347 040Y024A0042 100");
	feed('c', SEC, &out);
	feed('b', 2 * SEC, &out);
	assert_true(out.accepted);
	feed('p', 3 * SEC, &out);
	const struct binding_result *r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_BOARDING_DESTINATION_MISMATCH);

	desk(BINDING_REQUIRE_CARD_PASSPORT_BOARDING);
	char good[sizeof(mrz)];
	memcpy(good, mrz, sizeof(mrz));
	mrz[MRZ_TD3_LINE + 44] = '0' + (mrz[MRZ_TD3_LINE + 44] - '0' + 1) % 10;
	feed('c', SEC, &out);
	feed('p', 2 * SEC, &out); /* misread: review so far */
	assert_true(out.accepted);
	assert_int_equal(binding_current(&b)->parts[BINDING_DOC_PASSPORT].reason,
	                 REASON_PASSPORT_MRZ_INVALID);
	memcpy(mrz, good, sizeof(mrz));
	feed('p', 3 * SEC, &out); /* scanned again */
	feed('b', 4 * SEC, &out);
	r = only_done(&out);
	assert_int_equal(r->verdict.reason, REASON_OK);

	/* require = card: a card alone closes at once, valid. */
	desk(BINDING_REQUIRE_CARD);
	feed('c', SEC, &out);
	r = only_done(&out);
	assert_int_equal(r->verdict.kind, VERDICT_VALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_specimens),
	        cmocka_unit_test(test_shapes),
	        cmocka_unit_test(test_every_order),
	        cmocka_unit_test(test_passport_mismatches),
	        cmocka_unit_test(test_passport_check_digits),
	        cmocka_unit_test(test_boarding_mismatches),
	        cmocka_unit_test(test_timeout),
	        cmocka_unit_test(test_mrz_line_by_line),
	        cmocka_unit_test(test_cards),
	        cmocka_unit_test(test_optional_and_rescan),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
