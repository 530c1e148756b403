/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_policy.c - destination rules: the age on the departure date at its
 * boundaries (21st birthday, 60 and one day, 29 February), effective-from
 * dates at the desk's UTC offset, scopes and requirements table-driven, the
 * strict decoder against malformed bodies, the JSON source and the example
 * policy, and the check's use of it (review never invalid, stale policy,
 * unreadable policy, no policy, order against the other amber reasons).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "policy_source.h"
#include "qrdesk/base45.h"
#include "qrdesk/cbor.h"
#include "qrdesk/check.h"
#include "qrdesk/cose.h"
#include "qrdesk/credential.h"
#include "qrdesk/policy.h"
#include "qrdesk/signature.h"
#include "qrdesk/verdict_json.h"
#include "testutil.h"

#define DAY  86400LL
#define HOUR 3600LL

static int32_t date(const char *text)
{
	int32_t days = 0;
	if (credential_date_parse(text, &days) != QD_OK)
		fail_msg("bad test date %s", text);
	return days;
}

/* Noon in Dhaka (06:00 UTC) on a date: a departure time well inside the day. */
static int64_t noon_bst(const char *text)
{
	return (int64_t)date(text) * DAY + 6 * HOUR;
}

static struct policy *parse_source(const char *json)
{
	struct policy *p = malloc(sizeof(*p));
	assert_non_null(p);
	struct qd_errmsg why = {{0}};
	enum qd_err rc = policy_source_parse(json, strlen(json), p, &why);
	if (rc != QD_OK)
		fail_msg("policy_source_parse: %s", why.text);
	return p;
}

/* ---- age and departure date -------------------------------------------- */

static void test_age_years(void **state)
{
	(void)state;
	static const struct {
		const char *what, *birth, *on;
		int age;
	} rows[] = {
	        {"turns 21 on the departure day", "2005-11-23", "2026-11-23", 21},
	        {"21 tomorrow", "2005-11-24", "2026-11-23", 20},
	        {"21 yesterday", "2005-11-22", "2026-11-23", 21},
	        {"60 and one day", "1966-11-22", "2026-11-23", 60},
	        {"61 tomorrow", "1965-11-24", "2026-11-23", 60},
	        {"turns 61 on the departure day", "1965-11-23", "2026-11-23", 61},
	        {"born 29 Feb, 28 Feb of a common year", "2004-02-29", "2025-02-28", 20},
	        {"born 29 Feb, 1 Mar of a common year", "2004-02-29", "2025-03-01", 21},
	        {"born 29 Feb, 28 Feb of a leap year", "2004-02-29", "2024-02-28", 19},
	        {"born 29 Feb, 29 Feb of a leap year", "2004-02-29", "2024-02-29", 20},
	        {"born 28 Feb, 28 Feb of a leap year", "2004-02-28", "2024-02-28", 20},
	        {"born 1 Mar, 29 Feb of a leap year", "2004-03-01", "2024-02-29", 19},
	        {"new year's eve and day", "2000-12-31", "2021-01-01", 20},
	        {"born on 1 January", "2001-01-01", "2021-12-31", 20},
	        {"born the same day", "2026-11-23", "2026-11-23", 0},
	        {"born after the date", "2026-11-24", "2026-11-23", -1},
	        {"across a century rule (2100 is common)", "2080-02-29", "2100-03-01", 20},
	        {"the oldest date", "1900-01-01", "2100-12-31", 200},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int got = policy_age_years(date(rows[i].birth), date(rows[i].on));
		if (got != rows[i].age)
			fail_msg("%s: born %s, on %s: age %d, want %d", rows[i].what, rows[i].birth,
			         rows[i].on, got, rows[i].age);
	}
}

static void test_departure_day(void **state)
{
	(void)state;
	/* Dhaka's midnight is 18:00 UTC the day before. */
	int64_t midnight = (int64_t)date("2026-11-23") * DAY - 6 * HOUR;
	assert_int_equal(policy_day_of(midnight, 360), date("2026-11-23"));
	assert_int_equal(policy_day_of(midnight - 1, 360), date("2026-11-22"));
	assert_int_equal(policy_day_of(midnight, 0), date("2026-11-22"));
	assert_int_equal(policy_day_of(midnight + 6 * HOUR, 0), date("2026-11-23"));
	assert_int_equal(policy_day_of(midnight + 6 * HOUR - 1, 0), date("2026-11-22"));
	/* West of UTC, and before 1970: floor division, not truncation. */
	assert_int_equal(policy_day_of(0, -60), date("1969-12-31"));
	assert_int_equal(policy_day_of(-1, 0), date("1969-12-31"));
	assert_int_equal(policy_day_of(-DAY, 0), date("1969-12-31"));
	assert_int_equal(policy_day_of(-DAY - 1, 0), date("1969-12-30"));
	/* Any clock at all stays inside the calendar. */
	assert_int_equal(policy_day_of(INT64_MAX, 840), CREDENTIAL_DATE_MAX);
	assert_int_equal(policy_day_of(INT64_MIN, -720), CREDENTIAL_DATE_MIN);
}

/* ---- evaluation, table-driven ------------------------------------------ */

static const char table_policy[] =
        "{\"format\": \"qrdesk-policy-1\", \"utc_offset_minutes\": 360, \"rules\": ["
        " {\"id\": \"kw-dw-age\", \"when\": {\"destinations\": [\"KW\"], \"categories\": "
        "  [\"DW\"]}, \"effective_from\": \"2025-12-23\", \"require\": {\"age_min\": 21,"
        "  \"age_max\": 60}, \"message_en\": \"Kuwait: domestic workers must be 21 to 60\","
        "  \"message_bn\": \"কুয়েত: গৃহকর্মীর বয়স ২১ থেকে ৬০ বছর হতে হবে\"},"
        " {\"id\": \"smart-card-male\", \"when\": {\"destinations\": [\"OM\", \"QA\", \"BH\","
        "  \"SG\", \"BN\", \"AE\", \"SA\"]}, \"require\": {\"sexes\": [\"M\"]},"
        "  \"message_en\": \"Smart card clearance is for male workers\","
        "  \"message_bn\": \"স্মার্ট কার্ড ছাড়পত্র পুরুষ কর্মীদের জন্য\"},"
        " {\"id\": \"gulf-pdo\", \"when\": {\"destinations\": [\"SA\", \"KW\"]},"
        "  \"require\": {\"claims_true\": [\"pdo_completed\"]},"
        "  \"message_en\": \"PDO not completed\", \"message_bn\": \"পিডিও সম্পন্ন হয়নি\"},"
        " {\"id\": \"jp-skilled\", \"when\": {\"destinations\": [\"JP\"]},"
        "  \"effective_from\": \"2027-01-01\", \"require\": {\"categories\": [\"SK\", \"PR\"]},"
        "  \"message_en\": \"Japan takes skilled workers only\","
        "  \"message_bn\": \"জাপানে শুধু দক্ষ কর্মী\"},"
        " {\"id\": \"female-dw-floor\", \"when\": {\"categories\": [\"DW\"], \"sexes\": [\"F\"]},"
        "  \"require\": {\"age_min\": 25}, \"message_en\": \"Female domestic workers: 25 or"
        "  over\", \"message_bn\": \"নারী গৃহকর্মী: ২৫ বা তার বেশি\"}"
        "]}";

struct eval_row {
	const char *what;
	const char *birth;
	char sex;
	const char *destination, *category;
	bool pdo;
	int64_t at;               /* the trusted time */
	const char *outcomes;     /* "id:p id:f id:n" for passed, failed, not in effect */
	const char *first_failed; /* NULL if none */
};

static void expect_outcomes(const struct eval_row *row, const struct policy_result *r)
{
	char got[256] = "";
	size_t n = 0;
	for (size_t i = 0; i < r->n_results; i++) {
		static const char mark[] = {'p', 'f', 'n'};
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s:%c", i ? " " : "",
		                      r->results[i].id, mark[r->results[i].outcome]);
	}
	if (strcmp(got, row->outcomes) != 0)
		fail_msg("%s: rules \"%s\", want \"%s\"", row->what, got, row->outcomes);
	size_t failed = 0;
	for (size_t i = 0; i < r->n_results; i++)
		failed += r->results[i].outcome == POLICY_FAILED;
	assert_int_equal(r->n_failed, failed);
	assert_int_equal(r->n_applicable, r->n_results);
	if (row->first_failed == NULL) {
		assert_int_equal(r->n_failed, 0);
		assert_string_equal(r->failed_id, "");
		assert_string_equal(r->message_en, "");
	} else {
		assert_string_equal(r->failed_id, row->first_failed);
		assert_true(r->message_en[0] != '\0' && r->message_bn[0] != '\0');
		assert_true(r->failed_detail[0] != '\0');
	}
}

static void test_evaluate_table(void **state)
{
	(void)state;
	struct policy *p = parse_source(table_policy);
	const int64_t dec23 = noon_bst("2025-12-23");
	const struct eval_row rows[] = {
	        /* Kuwait's domestic-worker age, 21 to 60 on the departure date. */
	        {"turns 21 on the departure day", "2005-11-23", 'M', "KW", "DW", true,
	         noon_bst("2026-11-23"), "kw-dw-age:p gulf-pdo:p", NULL},
	        {"21 tomorrow", "2005-11-24", 'M', "KW", "DW", true, noon_bst("2026-11-23"),
	         "kw-dw-age:f gulf-pdo:p", "kw-dw-age"},
	        {"60 and one day", "1966-11-22", 'M', "KW", "DW", true, noon_bst("2026-11-23"),
	         "kw-dw-age:p gulf-pdo:p", NULL},
	        {"turns 61 on the departure day", "1965-11-23", 'M', "KW", "DW", true,
	         noon_bst("2026-11-23"), "kw-dw-age:f gulf-pdo:p", "kw-dw-age"},
	        {"born 29 Feb: 20 on 28 Feb", "2008-02-29", 'M', "KW", "DW", true,
	         noon_bst("2029-02-28"), "kw-dw-age:f gulf-pdo:p", "kw-dw-age"},
	        {"born 29 Feb: 21 on 1 Mar", "2008-02-29", 'M', "KW", "DW", true,
	         noon_bst("2029-03-01"), "kw-dw-age:p gulf-pdo:p", NULL},
	        /* Effective from 2025-12-23, a month after the gazette, in Dhaka's day. */
	        {"the day before the rule", "2006-01-01", 'M', "KW", "DW", true, dec23 - DAY,
	         "kw-dw-age:n gulf-pdo:p", NULL},
	        {"the day the rule starts", "2006-01-01", 'M', "KW", "DW", true, dec23,
	         "kw-dw-age:f gulf-pdo:p", "kw-dw-age"},
	        {"Dhaka's first second of that day", "2006-01-01", 'M', "KW", "DW", true,
	         dec23 - 12 * HOUR, "kw-dw-age:f gulf-pdo:p", "kw-dw-age"},
	        {"Dhaka's last second before it", "2006-01-01", 'M', "KW", "DW", true,
	         dec23 - 12 * HOUR - 1, "kw-dw-age:n gulf-pdo:p", NULL},
	        /* Scope: destination, category, sex. */
	        {"Kuwait, not a domestic worker", "2006-01-01", 'M', "KW", "GW", true,
	         noon_bst("2026-11-23"), "gulf-pdo:p", NULL},
	        {"unknown destination: no rule, pass", "2010-01-01", 'F', "NP", "GW", false,
	         noon_bst("2026-11-23"), "", NULL},
	        /* Required claims. */
	        {"PDO not completed", "1990-01-01", 'M', "SA", "GW", false, noon_bst("2026-11-23"),
	         "smart-card-male:p gulf-pdo:f", "gulf-pdo"},
	        /* Sex-specific: the smart-card destinations. */
	        {"male worker to Saudi Arabia", "1990-01-01", 'M', "SA", "GW", true,
	         noon_bst("2026-11-23"), "smart-card-male:p gulf-pdo:p", NULL},
	        {"female worker to the UAE", "1990-01-01", 'F', "AE", "GW", true,
	         noon_bst("2026-11-23"), "smart-card-male:f", "smart-card-male"},
	        {"sex X to Brunei", "1990-01-01", 'X', "BN", "SK", true, noon_bst("2026-11-23"),
	         "smart-card-male:f", "smart-card-male"},
	        {"female domestic worker, 24, to Saudi Arabia", "2002-06-01", 'F', "SA", "DW",
	         false, noon_bst("2026-11-23"), "smart-card-male:f gulf-pdo:f female-dw-floor:f",
	         "smart-card-male"},
	        {"the same rule binds in Kuwait too", "2002-06-01", 'F', "KW", "DW", true,
	         noon_bst("2026-11-23"), "kw-dw-age:p gulf-pdo:p female-dw-floor:f",
	         "female-dw-floor"},
	        /* Categories allowed for a destination, from a date. */
	        {"Japan before its rule", "1990-01-01", 'M', "JP", "GW", true,
	         noon_bst("2026-12-31"), "jp-skilled:n", NULL},
	        {"Japan, general worker", "1990-01-01", 'M', "JP", "GW", true,
	         noon_bst("2027-01-01"), "jp-skilled:f", "jp-skilled"},
	        {"Japan, professional", "1990-01-01", 'M', "JP", "PR", true, noon_bst("2027-01-01"),
	         "jp-skilled:p", NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct clearance_claims c;
		memset(&c, 0, sizeof(c));
		c.birth_days = date(rows[i].birth);
		c.sex = rows[i].sex;
		snprintf(c.destination, sizeof(c.destination), "%s", rows[i].destination);
		snprintf(c.category, sizeof(c.category), "%s", rows[i].category);
		c.pdo_completed = rows[i].pdo;
		struct policy_result r;
		policy_evaluate(p, &c, rows[i].at, &r);
		assert_true(r.evaluated);
		assert_int_equal(r.departure_day, policy_day_of(rows[i].at, 360));
		expect_outcomes(&rows[i], &r);
	}
	free(p);
}

static void test_failure_texts(void **state)
{
	(void)state;
	struct policy *p = parse_source(table_policy);
	struct clearance_claims c;
	memset(&c, 0, sizeof(c));
	c.birth_days = date("2005-11-24");
	c.sex = 'F';
	memcpy(c.destination, "KW", 3);
	memcpy(c.category, "DW", 3);
	c.pdo_completed = true;
	struct policy_result r;
	policy_evaluate(p, &c, noon_bst("2026-11-23"), &r);
	assert_string_equal(r.failed_id, "kw-dw-age");
	assert_string_equal(r.failed_detail, "age 20 on 2026-11-23; 21 to 60 required");
	assert_string_equal(r.message_en, "Kuwait: domestic workers must be 21 to 60");
	assert_string_equal(r.message_bn, "কুয়েত: গৃহকর্মীর বয়স ২১ থেকে ৬০ বছর হতে হবে");
	assert_string_equal(r.results[2].detail, "age 20 on 2026-11-23; at least 25 required");
	policy_evaluate(p, &c, noon_bst("2025-12-22"), &r);
	assert_string_equal(r.results[0].detail, "in effect from 2025-12-23");
	assert_string_equal(policy_outcome_name(POLICY_PASSED), "passed");
	assert_string_equal(policy_outcome_name(POLICY_FAILED), "failed");
	assert_string_equal(policy_outcome_name(POLICY_NOT_IN_EFFECT), "not-in-effect");
	free(p);
}

/* More rules in scope than a verdict lists: counted, the first failure kept. */
static void test_many_rules_in_scope(void **state)
{
	(void)state;
	struct policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->utc_offset_minutes = 360;
	p->n_rules = POLICY_RULES_MAX;
	for (size_t i = 0; i < POLICY_RULES_MAX; i++) {
		struct policy_rule *r = &p->rules[i];
		snprintf(r->id, sizeof(r->id), "rule-%02zu", i);
		r->require.has_age_min = true;
		r->require.age_min = i == 40 ? 99 : 18; /* only rule 40 fails */
		snprintf(r->message_en, sizeof(r->message_en), "en %zu", i);
		snprintf(r->message_bn, sizeof(r->message_bn), "bn %zu", i);
	}
	struct clearance_claims c;
	memset(&c, 0, sizeof(c));
	c.birth_days = date("1990-01-01");
	c.sex = 'M';
	memcpy(c.destination, "SA", 3);
	memcpy(c.category, "GW", 3);
	struct policy_result r;
	policy_evaluate(p, &c, noon_bst("2026-11-23"), &r);
	assert_int_equal(r.n_applicable, POLICY_RULES_MAX);
	assert_int_equal(r.n_results, POLICY_RESULTS_MAX);
	assert_int_equal(r.n_failed, 1);
	assert_string_equal(r.failed_id, "rule-40");
	assert_string_equal(r.message_en, "en 40");
	free(p);
}

/* ---- decoding: round trip, and every refusal ---------------------------- */

static uint8_t *encode(const struct policy *p, size_t *len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	policy_encode(&w, p);
	uint8_t *buf = malloc(w.len);
	assert_non_null(buf);
	*len = w.len;
	cbor_writer_init(&w, buf, *len);
	policy_encode(&w, p);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	assert_int_equal(w.len, *len);
	return buf;
}

static void test_round_trip(void **state)
{
	(void)state;
	const char *sources[] = {table_policy, policy_source_example};
	for (size_t s = 0; s < 2; s++) {
		struct policy *p = parse_source(sources[s]);
		struct policy *q = malloc(sizeof(*q));
		assert_non_null(q);
		size_t len, len2;
		uint8_t *body = encode(p, &len);
		struct qd_errmsg why = {{0}};
		if (policy_decode(body, len, q, &why) != QD_OK)
			fail_msg("decode of an encoded policy: %s", why.text);
		assert_memory_equal(p, q, sizeof(*p));
		uint8_t *again = encode(q, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(body, again, len);
		free(again);
		free(body);
		free(q);
		free(p);
	}
	/* The smallest policy: no rules; the offset defaults to Dhaka's. */
	static const uint8_t none[] = {0xa1, 0x01, 0x80};
	struct policy *p = malloc(sizeof(*p));
	assert_non_null(p);
	assert_int_equal(policy_decode(none, sizeof(none), p, NULL), QD_OK);
	assert_int_equal(p->n_rules, 0);
	assert_int_equal(p->utc_offset_minutes, POLICY_UTC_OFFSET_DEFAULT);
	free(p);
}

enum edit {
	E_ID_CHARS,
	E_DEST_LOWER,
	E_DEST_DUPLICATE,
	E_CATEGORY_LOWER,
	E_AGE_ORDER,
	E_AGE_TOO_OLD,
	E_MESSAGE_CONTROL,
	E_DUPLICATE_ID,
	E_OFFSET,
	E_EFFECTIVE_RANGE,
	E_NOTE_CONTROL,
	E_REQUIRE_NOTHING,
	E_CLAIM_NOT_YES_NO,
	E_COUNT
};

static void apply_edit(struct policy *p, enum edit e)
{
	struct policy_rule *r = &p->rules[0];
	switch (e) {
	case E_ID_CHARS:
		snprintf(r->id, sizeof(r->id), "kw dw age");
		break;
	case E_DEST_LOWER:
		memcpy(r->when.destinations[0], "kw", 3);
		break;
	case E_DEST_DUPLICATE:
		memcpy(p->rules[1].when.destinations[1], "OM", 3);
		break;
	case E_CATEGORY_LOWER:
		memcpy(r->when.categories[0], "dw", 3);
		break;
	case E_AGE_ORDER:
		r->require.age_min = 61;
		break;
	case E_AGE_TOO_OLD:
		r->require.age_max = 151;
		break;
	case E_MESSAGE_CONTROL:
		snprintf(r->message_bn, sizeof(r->message_bn), "কুয়েত\nনিয়ম");
		break;
	case E_DUPLICATE_ID:
		snprintf(p->rules[2].id, sizeof(p->rules[2].id), "kw-dw-age");
		break;
	case E_OFFSET:
		p->utc_offset_minutes = 841;
		break;
	case E_EFFECTIVE_RANGE:
		r->effective_from = CREDENTIAL_DATE_MAX + 1;
		break;
	case E_NOTE_CONTROL:
		snprintf(p->note, sizeof(p->note), "tab\there");
		break;
	case E_REQUIRE_NOTHING:
		memset(&p->rules[1].require, 0, sizeof(p->rules[1].require));
		break;
	case E_CLAIM_NOT_YES_NO:
		p->rules[2].require.claims_true |= 1u << CLEARANCE_KEY_NAME;
		break;
	case E_COUNT:
		break;
	}
}

static void test_decode_refuses_bad_values(void **state)
{
	(void)state;
	static const char *const want[E_COUNT] = {
	        [E_ID_CHARS] = "rules[0]: id: only A-Z a-z 0-9 . _ - allowed",
	        [E_DEST_LOWER] = "rules[0] (kw-dw-age): when destinations: \"kw\" is not an ISO "
	                         "3166-1 alpha-2 code",
	        [E_DEST_DUPLICATE] = "rules[1] (smart-card-male): when destinations: \"OM\" "
	                             "listed twice",
	        [E_CATEGORY_LOWER] = "rules[0] (kw-dw-age): when categories: \"dw\" is not a "
	                             "category code",
	        [E_AGE_ORDER] = "rules[0] (kw-dw-age): require: age_min 61 is above age_max 60",
	        [E_AGE_TOO_OLD] = "rules[0] (kw-dw-age): require age_max: 151 is above 150",
	        [E_MESSAGE_CONTROL] = "rules[0] (kw-dw-age): message_bn: control characters",
	        [E_DUPLICATE_ID] = "rules[2] (kw-dw-age): id also used by rules[0]",
	        [E_OFFSET] = "utc_offset_minutes: 841 is outside -720..840",
	        [E_EFFECTIVE_RANGE] = "rules[0] (kw-dw-age): effective_from: 47847 is outside",
	        [E_NOTE_CONTROL] = "note: control characters are not allowed",
	        [E_REQUIRE_NOTHING] = "rules[1] (smart-card-male): require: empty",
	        [E_CLAIM_NOT_YES_NO] = "rules[2] (gulf-pdo): require claims_true: claim 3 is not "
	                               "a yes/no claim",
	};
	struct policy *q = malloc(sizeof(*q));
	assert_non_null(q);
	for (int e = 0; e < E_COUNT; e++) {
		struct policy *p = parse_source(table_policy);
		apply_edit(p, (enum edit)e);
		size_t len;
		uint8_t *body = encode(p, &len);
		struct qd_errmsg why = {{0}};
		enum qd_err rc = policy_decode(body, len, q, &why);
		if (rc != QD_ERR_FORMAT || strstr(why.text, want[e]) == NULL)
			fail_msg("edit %d: %s \"%s\", want \"%s\"", e, qd_err_name(rc), why.text,
			         want[e]);
		/* A refused body leaves an empty policy, never half of one. */
		assert_int_equal(q->n_rules, 0);
		free(body);
		free(p);
	}
	free(q);
}

/* Hand-written bodies: shapes an encoder of ours never makes. */
static void test_decode_refuses_bad_shapes(void **state)
{
	(void)state;
	/* Rules are maps with id 1: "x", require 4: {1: 21}, message_en 5: "e", message_bn 6: "b".
	 */
	static const struct {
		const char *what, *hex, *want;
		enum qd_err rc;
	} rows[] = {
	        {"empty input", "", "body: truncated", QD_ERR_FORMAT},
	        {"not a map", "80", "body: wrong-type", QD_ERR_FORMAT},
	        {"no rules", "a0", "rules (key 1) missing", QD_ERR_FORMAT},
	        {"rules a map", "a101a0", "rules: wrong-type", QD_ERR_FORMAT},
	        {"trailing bytes", "a1018000", "body: trailing", QD_ERR_FORMAT},
	        {"text key", "a1617280", "body: wrong-type", QD_ERR_FORMAT},
	        {"duplicate key", "a2018001 80", "body: duplicate-key", QD_ERR_FORMAT},
	        {"unknown top-level key", "a201800a00", "body: unknown key 10", QD_ERR_FORMAT},
	        {"indefinite rules", "a1019fff", "rules: indefinite", QD_ERR_FORMAT},
	        {"non-minimal key", "a1180180", "body: non-minimal", QD_ERR_FORMAT},
	        {"rule not a map", "a1018101", "rules[0]: rule: wrong-type", QD_ERR_FORMAT},
	        {"rule without id",
	         "a10181a3"
	         "04a10115"
	         "056165"
	         "066162",
	         "id (key 1) missing", QD_ERR_FORMAT},
	        {"rule without require",
	         "a10181a3"
	         "016178"
	         "056165"
	         "066162",
	         "rules[0] (x): require (key 4) missing", QD_ERR_FORMAT},
	        {"rule without message_bn",
	         "a10181a3"
	         "016178"
	         "04a10115"
	         "056165",
	         "message_bn (key 6) missing", QD_ERR_FORMAT},
	        {"unknown rule key 7",
	         "a10181a5016178"
	         "04a10115"
	         "056165"
	         "066162"
	         "0700",
	         "rules[0] (x): rule: unknown key 7", QD_ERR_FORMAT},
	        {"unknown require key",
	         "a10181a4016178"
	         "04a10900"
	         "056165"
	         "066162",
	         "require: unknown key 9", QD_ERR_FORMAT},
	        {"unknown when key",
	         "a10181a5016178"
	         "02a10480"
	         "04a10115"
	         "056165"
	         "066162",
	         "when: unknown key 4", QD_ERR_FORMAT},
	        {"empty destinations",
	         "a10181a5016178"
	         "02a10180"
	         "04a10115"
	         "056165"
	         "066162",
	         "when destinations: an empty list", QD_ERR_FORMAT},
	        {"destination not text",
	         "a10181a5016178"
	         "02a1018101"
	         "04a10115"
	         "056165"
	         "066162",
	         "when destinations: wrong-type", QD_ERR_FORMAT},
	        {"sex spelled out",
	         "a10181a4016178"
	         "04a10581646d616c65"
	         "056165"
	         "066162",
	         "require sexes: entry 0 is not", QD_ERR_FORMAT},
	        {"sex twice",
	         "a10181a4016178"
	         "04a1058261466146"
	         "056165"
	         "066162",
	         "require sexes: \"F\" listed twice", QD_ERR_FORMAT},
	        {"unknown claim",
	         "a10181a4016178"
	         "04a10381181e"
	         "056165"
	         "066162",
	         "claim 30 is not a yes/no claim", QD_ERR_FORMAT},
	        {"claim twice",
	         "a10181a4016178"
	         "04a103820b0b"
	         "056165"
	         "066162",
	         "claim 11 listed twice", QD_ERR_FORMAT},
	        {"negative age",
	         "a10181a4016178"
	         "04a10120"
	         "056165"
	         "066162",
	         "require age_min: wrong-type", QD_ERR_FORMAT},
	        {"empty message",
	         "a10181a4016178"
	         "04a10115"
	         "0560"
	         "066162",
	         "message_en: 0 bytes", QD_ERR_FORMAT},
	        {"invalid UTF-8 message",
	         "a10181a4016178"
	         "04a10115"
	         "0561ff"
	         "066162",
	         "message_en: bad-utf8", QD_ERR_FORMAT},
	        {"effective_from as text",
	         "a10181a5016178"
	         "036a323032352d31322d3233"
	         "04a10115"
	         "056165"
	         "066162",
	         "effective_from: wrong-type", QD_ERR_FORMAT},
	        /* Counts are refused before the items are read (the padding is never looked at). */
	        {"65 rules", "a1019841", "rules: 65, at most 64", QD_ERR_TOO_LARGE},
	        {"33 destinations",
	         "a10181a2016178"
	         "02a1019821",
	         "at most 32", QD_ERR_TOO_LARGE},
	};
	const size_t pad = 65; /* the reader first checks a count against the bytes left */
	struct policy *p = malloc(sizeof(*p));
	assert_non_null(p);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char hex[256];
		size_t h = 0;
		for (const char *s = rows[i].hex; *s && h + 1 < sizeof(hex); s++)
			if (*s != ' ')
				hex[h++] = *s;
		hex[h] = '\0';
		uint8_t body[256];
		size_t len = h > 0 ? tu_hex_into(hex, body, sizeof(body)) : 0;
		if (rows[i].rc == QD_ERR_TOO_LARGE) {
			memset(body + len, 0x01, pad);
			len += pad;
		}
		struct qd_errmsg why = {{0}};
		enum qd_err rc = policy_decode(body, len, p, &why);
		if (rc != rows[i].rc || strstr(why.text, rows[i].want) == NULL)
			fail_msg("%s: %s \"%s\", want %s \"%s\"", rows[i].what, qd_err_name(rc),
			         why.text, qd_err_name(rows[i].rc), rows[i].want);
	}
	/* Larger than any desk takes, before a byte is read. */
	uint8_t *big = calloc(1, POLICY_BODY_MAX + 1);
	assert_non_null(big);
	struct qd_errmsg why = {{0}};
	assert_int_equal(policy_decode(big, POLICY_BODY_MAX + 1, p, &why), QD_ERR_TOO_LARGE);
	assert_non_null(strstr(why.text, "at most 65536"));
	free(big);
	free(p);
}

/* ---- the JSON source, the example, and the domain file ------------------ */

static void test_source_errors(void **state)
{
	(void)state;
	static const struct {
		const char *what, *json, *want;
	} rows[] = {
	        {"not JSON", "{\"format\": \"qrdesk-policy-1\",\n \"rules\": [,]}", "line 2:"},
	        {"duplicate field",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [], \"rules\": []}", "duplicate"},
	        {"wrong format", "{\"format\": \"policy-2\", \"rules\": []}", "format: must be"},
	        {"no format", "{\"rules\": []}", "format: must be"},
	        {"unknown field", "{\"format\": \"qrdesk-policy-1\", \"rules\": [], \"x\": 1}",
	         "policy: unknown field \"x\""},
	        {"rules missing", "{\"format\": \"qrdesk-policy-1\"}", "rules: must be a list"},
	        {"offset a string",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [], \"utc_offset_minutes\": \"+6\"}",
	         "utc_offset_minutes: must be"},
	        {"rule misspelt field",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [{\"id\": \"a\", \"requires\": "
	         "{}}]}",
	         "rules[0]: unknown field \"requires\""},
	        {"rule without message_bn",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [{\"id\": \"a\", \"require\": "
	         "{\"age_min\": 1}, \"message_en\": \"e\"}]}",
	         "rules[0]: message_bn is missing"},
	        {"age as text",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [{\"id\": \"a\", \"require\": "
	         "{\"age_min\": \"21\"}, \"message_en\": \"e\", \"message_bn\": \"b\"}]}",
	         "rules[0].require.age_min: must be a whole number"},
	        {"three-letter country",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [{\"id\": \"a\", \"when\": "
	         "{\"destinations\": [\"KWT\"]}, \"require\": {\"age_min\": 1}, \"message_en\": "
	         "\"e\", \"message_bn\": \"b\"}]}",
	         "rules[0].when.destinations: entry 0 must be a code of 1 to 2"},
	        {"unknown claim",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [{\"id\": \"a\", \"require\": "
	         "{\"claims_true\": [\"name\"]}, \"message_en\": \"e\", \"message_bn\": \"b\"}]}",
	         "rules[0].require.claims_true: entry 0: only yes/no claims"},
	        {"bad date",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [{\"id\": \"a\", "
	         "\"effective_from\": "
	         "\"2025-02-30\", \"require\": {\"age_min\": 1}, \"message_en\": \"e\", "
	         "\"message_bn\": \"b\"}]}",
	         "rules[0]: effective_from must be a date"},
	        {"empty require",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [{\"id\": \"a\", \"require\": {}, "
	         "\"message_en\": \"e\", \"message_bn\": \"b\"}]}",
	         "rules[0].require: empty"},
	        {"sex as a word",
	         "{\"format\": \"qrdesk-policy-1\", \"rules\": [{\"id\": \"a\", \"require\": "
	         "{\"sexes\": [\"male\"]}, \"message_en\": \"e\", \"message_bn\": \"b\"}]}",
	         "rules[0].require.sexes: entry 0 must be"},
	};
	struct policy *p = malloc(sizeof(*p));
	assert_non_null(p);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct qd_errmsg why = {{0}};
		enum qd_err rc = policy_source_parse(rows[i].json, strlen(rows[i].json), p, &why);
		if (rc != QD_ERR_FORMAT || strstr(why.text, rows[i].want) == NULL)
			fail_msg("%s: %s \"%s\", want \"%s\"", rows[i].what, qd_err_name(rc),
			         why.text, rows[i].want);
	}
	free(p);
}

static void test_example_policy(void **state)
{
	(void)state;
	struct policy *p = parse_source(policy_source_example);
	assert_non_null(strstr(p->note, "EXAMPLE"));
	assert_int_equal(p->utc_offset_minutes, 360);
	const struct policy_rule *kw = NULL, *male = NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		if (strcmp(p->rules[i].id, "kw-dw-age") == 0)
			kw = &p->rules[i];
		if (strcmp(p->rules[i].id, "smart-card-male") == 0)
			male = &p->rules[i];
	}
	assert_non_null(kw);
	assert_int_equal(kw->when.n_destinations, 1);
	assert_string_equal(kw->when.destinations[0], "KW");
	assert_int_equal(kw->when.n_categories, 1);
	assert_string_equal(kw->when.categories[0], "DW");
	/* The gazette of Sunday 23 November 2025, in force a month later. */
	assert_true(kw->has_effective_from);
	assert_int_equal(kw->effective_from, date("2025-12-23"));
	assert_true(kw->require.has_age_min && kw->require.has_age_max);
	assert_int_equal(kw->require.age_min, 21);
	assert_int_equal(kw->require.age_max, 60);
	assert_non_null(male);
	static const char *const gulf[] = {"OM", "QA", "BH", "SG", "BN", "AE", "SA"};
	assert_int_equal(male->when.n_destinations, 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(male->when.destinations[i], gulf[i]);
	assert_int_equal(male->when.sexes, 0);
	assert_int_equal(male->require.sexes, POLICY_SEX_M);
	free(p);
}

/* The issuer's domain file: a policy desks would refuse is refused, the old one kept. */
static void test_domain_policy_file(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct domain *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	struct policy *p = parse_source(policy_source_example);
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	assert_int_equal(domain_policy_set(d, p, &len, &why), QD_OK);
	char path[4096];
	snprintf(path, sizeof(path), "%s/policy.cbor", dir);
	size_t got = 0;
	uint8_t *before = tu_read_file(path, &got);
	assert_int_equal(got, len);

	memcpy(p->rules[0].when.destinations[0], "kw", 3);
	assert_int_equal(domain_policy_set(d, p, NULL, &why), QD_ERR_FORMAT);
	assert_non_null(strstr(why.text, "rules[0] (kw-dw-age): when destinations"));
	uint8_t *after = tu_read_file(path, &got);
	assert_int_equal(got, len);
	assert_memory_equal(before, after, len);
	free(after);
	free(before);
	free(p);
	free(d);
	tu_rmtree(dir);
	free(dir);
}

/* ---- the check: review, never invalid ----------------------------------- */

static struct signature_keypair issuer;
static struct trust_key issuer_key;

static enum qd_err never_revoked(void *ctx, const uint8_t hash[TRUST_HASH_LEN], bool *revoked)
{
	(void)ctx;
	(void)hash;
	*revoked = false;
	return QD_OK;
}

static struct trust_view view_at(int64_t now, const struct policy *rules)
{
	struct trust_view v = {
	        .keys = &issuer_key,
	        .n_keys = 1,
	        .keyset = {true, 1, now - DAY, now + 300 * DAY},
	        .revocations = {true, 1, now - HOUR, now + 6 * DAY},
	        .policy = {true, 7, now - DAY, now + 20 * DAY},
	        .timestamp = {true, 1, now - 600, now + DAY},
	        .time_floor = now - 600,
	        .policy_rules = rules,
	        .revocation_contains = never_revoked,
	};
	return v;
}

/* A card for a domestic worker to Kuwait born on birth, issued an hour before now. */
static char *card(const char *birth, int64_t now, int64_t expires_at)
{
	struct credential c;
	credential_example(&c, "2611000105", now - HOUR, expires_at);
	c.clearance.birth_days = date(birth);
	uint8_t payload[1024], cose[1200];
	size_t plen, clen, tlen;
	assert_int_equal(credential_encode(&c, payload, sizeof(payload), &plen, NULL), QD_OK);
	assert_int_equal(cose_sign1_sign(&issuer, issuer_key.kid, issuer_key.kid_len, payload, plen,
	                                 cose, sizeof(cose), &clen),
	                 QD_OK);
	char *text = malloc(CREDENTIAL_PREFIX_LEN + base45_encoded_len(clen) + 1);
	assert_non_null(text);
	memcpy(text, CREDENTIAL_PREFIX, CREDENTIAL_PREFIX_LEN);
	assert_int_equal(base45_encode(cose, clen, text + CREDENTIAL_PREFIX_LEN,
	                               base45_encoded_len(clen) + 1, &tlen),
	                 BASE45_OK);
	text[CREDENTIAL_PREFIX_LEN + tlen] = '\0';
	return text;
}

static int setup_issuer(void **state)
{
	(void)state;
	assert_int_equal(signature_init(), QD_OK);
	assert_int_equal(signature_keypair_generate(SIGNATURE_ALG_EDDSA, &issuer), QD_OK);
	memset(&issuer_key, 0, sizeof(issuer_key));
	issuer_key.alg = SIGNATURE_ALG_EDDSA;
	issuer_key.role = KEY_ROLE_ISSUER;
	issuer_key.status = KEY_STATUS_ACTIVE;
	memcpy(issuer_key.public_key, issuer.pub, issuer.pub_len);
	issuer_key.public_len = (uint8_t)issuer.pub_len;
	trust_kid_derive(issuer.pub, issuer.pub_len, issuer_key.kid);
	issuer_key.kid_len = TRUST_KID_DEFAULT_LEN;
	issuer_key.not_before = 0;
	issuer_key.not_after = INT64_MAX;
	return 0;
}

static void test_check_with_policy(void **state)
{
	(void)state;
	struct policy *rules = parse_source(policy_source_example);
	const int64_t now = noon_bst("2026-11-23");
	char *young = card("2005-11-24", now, now + 90 * DAY); /* 21 tomorrow */
	char *adult = card("2005-11-23", now, now + 90 * DAY); /* 21 today */
	char *expired = card("2005-11-24", now, now - 1);
	struct verdict *v = malloc(sizeof(*v));
	assert_non_null(v);
	struct trust_view view = view_at(now, rules);

	/* A failed rule: review with the rule's own words, never invalid. */
	check_code(young, strlen(young), &view, now, v);
	assert_int_equal(v->reason, REASON_POLICY_FAILED);
	assert_int_equal(v->kind, VERDICT_REVIEW);
	assert_string_equal(v->policy.failed_id, "kw-dw-age");
	assert_int_equal(v->policy.version, 7);
	assert_int_equal(v->policy.departure_day, date("2026-11-23"));
	assert_string_equal(v->detail, "rule kw-dw-age: age 20 on 2026-11-23; 21 to 60 required");
	assert_string_equal(verdict_message_en(v), rules->rules[0].message_en);
	assert_string_equal(verdict_message_bn(v), rules->rules[0].message_bn);

	json_t *json = verdict_to_json(v);
	assert_non_null(json);
	assert_string_equal(json_string_value(json_object_get(json, "message_en")),
	                    rules->rules[0].message_en);
	json_t *pol = json_object_get(json, "policy");
	assert_int_equal(json_integer_value(json_object_get(pol, "version")), 7);
	assert_string_equal(json_string_value(json_object_get(pol, "departure_date")),
	                    "2026-11-23");
	json_t *failed = json_object_get(pol, "failed");
	assert_int_equal(json_array_size(failed), 1);
	assert_string_equal(json_string_value(json_array_get(failed, 0)), "kw-dw-age");
	json_t *evaluated = json_object_get(pol, "evaluated");
	assert_int_equal(json_array_size(evaluated), 2); /* kw-dw-age, pdo-completed */
	assert_string_equal(json_string_value(json_object_get(json_array_get(evaluated, 1), "id")),
	                    "pdo-completed");
	assert_string_equal(
	        json_string_value(json_object_get(json_array_get(evaluated, 1), "result")),
	        "passed");
	json_decref(json);

	check_code(adult, strlen(adult), &view, now, v);
	assert_int_equal(v->reason, REASON_OK);
	assert_true(v->policy.evaluated);
	assert_int_equal(v->policy.n_failed, 0);
	assert_string_equal(verdict_message_en(v), reason_text_en(REASON_OK));

	/* The departure date is the trusted time: a clock set back is judged at the floor. */
	view.time_floor = now;
	check_code(adult, strlen(adult), &view, now - 2 * DAY, v);
	assert_int_equal(v->reason, REASON_CLOCK_SUSPECT);
	assert_int_equal(v->policy.departure_day, date("2026-11-23"));
	assert_int_equal(v->policy.n_failed, 0);
	view = view_at(now, rules);

	/* Red stays red: rules are judged only after the red checks pass. */
	check_code(expired, strlen(expired), &view, now, v);
	assert_int_equal(v->reason, REASON_CARD_EXPIRED);
	assert_false(v->policy.evaluated);

	/* An expired policy: review POLICY_STALE for a card that is otherwise valid... */
	view.policy.expires_at = now;
	check_code(adult, strlen(adult), &view, now, v);
	assert_int_equal(v->reason, REASON_POLICY_STALE);
	assert_non_null(strstr(v->detail, "policy version 7 expired"));
	/* ... and for one that fails a rule (its rules are still listed). */
	check_code(young, strlen(young), &view, now, v);
	assert_int_equal(v->reason, REASON_POLICY_STALE);
	assert_int_equal(v->policy.n_failed, 1);
	view = view_at(now, rules);

	/* An installed policy the desk cannot read: never a silent green. */
	view.policy_rules = NULL;
	view.policy_unreadable = true;
	check_code(adult, strlen(adult), &view, now, v);
	assert_int_equal(v->reason, REASON_POLICY_STALE);
	assert_false(v->policy.evaluated);

	/* No policy installed at all: no rules, so green. */
	view = view_at(now, NULL);
	view.policy.present = false;
	check_code(young, strlen(young), &view, now, v);
	assert_int_equal(v->reason, REASON_OK);
	assert_false(v->policy.evaluated);

	/* Stale trust data outranks a failed rule; the rule is still listed. */
	view = view_at(now, rules);
	view.revocations.expires_at = now;
	check_code(young, strlen(young), &view, now, v);
	assert_int_equal(v->reason, REASON_TRUST_STALE);
	assert_string_equal(v->policy.failed_id, "kw-dw-age");

	free(v);
	free(expired);
	free(adult);
	free(young);
	free(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_age_years),
	        cmocka_unit_test(test_departure_day),
	        cmocka_unit_test(test_evaluate_table),
	        cmocka_unit_test(test_failure_texts),
	        cmocka_unit_test(test_many_rules_in_scope),
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_decode_refuses_bad_values),
	        cmocka_unit_test(test_decode_refuses_bad_shapes),
	        cmocka_unit_test(test_source_errors),
	        cmocka_unit_test(test_example_policy),
	        cmocka_unit_test(test_domain_policy_file),
	        cmocka_unit_test(test_check_with_policy),
	};
	return cmocka_run_group_tests(tests, setup_issuer, NULL);
}
