/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_policy - policy_decode over arbitrary policy bodies (the map under
 * key 5 of a "policy" trust document), then policy_evaluate.
 *
 * On failure: a message, and an empty policy left behind.  On success: every
 * string is NUL-terminated in its field and every count, age, date, offset,
 * sex and claim inside its documented bound; ids are unique; the policy
 * re-encodes (counting pass, exact buffer) to bytes that decode to the same
 * struct and encode to the same bytes again.  Evaluated for a few cards on a
 * few dates: results agree with their counts, name rules of the policy, a
 * failure carries the first failed rule's messages, and evaluating again
 * gives the same result.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/cbor.h"
#include "qrdesk/policy.h"

/* Large: off the stack, and kept between inputs (contents are reset by each call). */
static struct policy decoded, again;
static struct policy_result result, result2;

static void check_field(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);
	FUZZ_CHECK(nul != NULL);
	for (const char *p = nul; p < s + size; p++)
		FUZZ_CHECK(*p == '\0');
}

static void check_codes(const char *rows, size_t width, size_t n, size_t max)
{
	FUZZ_CHECK(n <= max);
	for (size_t i = 0; i < n; i++) {
		check_field(rows + i * width, width);
		FUZZ_CHECK(rows[i * width] != '\0');
	}
}

static void check_well_formed(const struct policy *p)
{
	FUZZ_CHECK(p->n_rules <= POLICY_RULES_MAX);
	FUZZ_CHECK(p->utc_offset_minutes >= POLICY_UTC_OFFSET_MIN &&
	           p->utc_offset_minutes <= POLICY_UTC_OFFSET_MAX);
	check_field(p->note, sizeof(p->note));
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		check_field(r->id, sizeof(r->id));
		check_field(r->message_en, sizeof(r->message_en));
		check_field(r->message_bn, sizeof(r->message_bn));
		FUZZ_CHECK(r->id[0] && r->message_en[0] && r->message_bn[0]);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(p->rules[j].id, r->id) != 0);
		check_codes((const char *)r->when.destinations, sizeof(r->when.destinations[0]),
		            r->when.n_destinations, POLICY_DESTINATIONS_MAX);
		check_codes((const char *)r->when.categories, sizeof(r->when.categories[0]),
		            r->when.n_categories, POLICY_CATEGORIES_MAX);
		check_codes((const char *)r->require.categories, sizeof(r->require.categories[0]),
		            r->require.n_categories, POLICY_CATEGORIES_MAX);
		FUZZ_CHECK((r->when.sexes & ~7u) == 0 && (r->require.sexes & ~7u) == 0);
		FUZZ_CHECK((r->require.claims_true & ~(1u << CLEARANCE_KEY_PDO_COMPLETED)) == 0);
		FUZZ_CHECK(r->require.age_min <= POLICY_AGE_MAX &&
		           r->require.age_max <= POLICY_AGE_MAX);
		if (r->require.has_age_min && r->require.has_age_max)
			FUZZ_CHECK(r->require.age_min <= r->require.age_max);
		FUZZ_CHECK(r->require.has_age_min || r->require.has_age_max ||
		           r->require.claims_true != 0 || r->require.n_categories > 0 ||
		           r->require.sexes != 0);
		if (r->has_effective_from)
			FUZZ_CHECK(r->effective_from >= CREDENTIAL_DATE_MIN &&
			           r->effective_from <= CREDENTIAL_DATE_MAX);
	}
}

static uint8_t *encode_exact(const struct policy *p, size_t *len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	policy_encode(&w, p);
	uint8_t *buf = fuzz_alloc(w.len);
	*len = w.len;
	cbor_writer_init(&w, buf, *len);
	policy_encode(&w, p);
	FUZZ_CHECK(cbor_writer_status(&w) == CBOR_OK && w.len == *len);
	return buf;
}

static bool rule_named(const struct policy *p, const char *id)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i].id, id) == 0)
			return true;
	return false;
}

static void check_evaluation(const struct policy *p, const struct clearance_claims *c, int64_t t)
{
	policy_evaluate(p, c, t, &result);
	FUZZ_CHECK(result.evaluated);
	FUZZ_CHECK(result.departure_day == policy_day_of(t, p->utc_offset_minutes));
	FUZZ_CHECK(result.n_applicable <= p->n_rules);
	FUZZ_CHECK(result.n_failed <= result.n_applicable);
	FUZZ_CHECK(result.n_results == (result.n_applicable < POLICY_RESULTS_MAX
	                                        ? result.n_applicable
	                                        : POLICY_RESULTS_MAX));
	size_t failed = 0;
	for (size_t i = 0; i < result.n_results; i++) {
		const struct policy_rule_result *r = &result.results[i];
		FUZZ_CHECK(rule_named(p, r->id));
		FUZZ_CHECK(r->outcome <= POLICY_NOT_IN_EFFECT);
		check_field(r->detail, sizeof(r->detail));
		FUZZ_CHECK((r->outcome == POLICY_PASSED) == (r->detail[0] == '\0'));
		failed += r->outcome == POLICY_FAILED;
	}
	FUZZ_CHECK(failed <= result.n_failed);
	FUZZ_CHECK((result.n_failed > 0) == (result.failed_id[0] != '\0'));
	if (result.n_failed > 0) {
		FUZZ_CHECK(rule_named(p, result.failed_id));
		FUZZ_CHECK(result.message_en[0] != '\0' && result.message_bn[0] != '\0');
	}
	policy_evaluate(p, c, t, &result2);
	FUZZ_CHECK(memcmp(&result, &result2, sizeof(result)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qd_errmsg why = {{0}};
	enum qd_err rc = policy_decode(data, size, &decoded, &why);
	if (rc != QD_OK) {
		FUZZ_CHECK(rc == QD_ERR_FORMAT || rc == QD_ERR_TOO_LARGE);
		FUZZ_CHECK(why.text[0] != '\0');
		FUZZ_CHECK(decoded.n_rules == 0 &&
		           decoded.utc_offset_minutes == POLICY_UTC_OFFSET_DEFAULT);
		return 0;
	}
	FUZZ_CHECK(size <= POLICY_BODY_MAX);
	check_well_formed(&decoded);

	size_t len = 0, len2 = 0;
	uint8_t *body = encode_exact(&decoded, &len);
	FUZZ_CHECK(policy_decode(body, len, &again, &why) == QD_OK);
	FUZZ_CHECK(memcmp(&decoded, &again, sizeof(decoded)) == 0);
	uint8_t *body2 = encode_exact(&again, &len2);
	FUZZ_CHECK(len == len2 && memcmp(body, body2, len) == 0);
	free(body2);
	free(body);

	/* Cards that hit the usual scopes, on dates around the example's effective date. */
	static const struct {
		int32_t birth; /* days since 1970 */
		char sex;
		const char *destination, *category;
		bool pdo;
	} cards[] = {
	        {12824, 'F', "KW", "DW", true},  /* 2005-02-10 */
	        {7305, 'M', "SA", "GW", false},  /* 1990-01-01 */
	        {-3653, 'X', "AE", "SK", true},  /* 1960-01-01 */
	        {11016, 'F', "NP", "NU", false}, /* 2000-02-29 */
	};
	static const int64_t times[] = {1766426400 /* 2025-12-22T18:00Z */, 1795000000, 0,
	                                INT64_MAX};
	for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
		struct clearance_claims c;
		memset(&c, 0, sizeof(c));
		c.birth_days = cards[i].birth;
		c.sex = cards[i].sex;
		memcpy(c.destination, cards[i].destination, 3);
		memcpy(c.category, cards[i].category, 3);
		c.pdo_completed = cards[i].pdo;
		for (size_t j = 0; j < sizeof(times) / sizeof(times[0]); j++)
			check_evaluation(&decoded, &c, times[j]);
	}
	return 0;
}
