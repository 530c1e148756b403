/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.h - destination rules: the body of the signed "policy" trust
 * document, decoded strictly and within bounds, evaluated against a card's
 * claims on its departure date, and encoded for the issuer.
 *
 * Rules are data, never code.  A rule has a scope (destinations, job
 * categories, sexes), an optional effective-from date, requirements (an age
 * range in completed years, yes/no claims that must be true, allowed
 * categories, allowed sexes) and the officer's message in English and
 * Bengali.  A card passes when every rule in its scope and in effect is met;
 * a failed rule makes the verdict review (amber), never invalid.
 *
 * Decoding refuses anything it does not understand (unknown keys included):
 * a desk never guesses at a rule, it keeps its old policy instead.
 * docs/policy.md has every key, type and bound, and the evaluation rules.
 */
#ifndef QRDESK_POLICY_H
#define QRDESK_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/cbor.h"
#include "qrdesk/credential.h"
#include "qrdesk/error.h"

#define POLICY_BODY_MAX         (64 * 1024) /* bytes of an encoded policy body */
#define POLICY_RULES_MAX        64
#define POLICY_RULE_ID_MAX      32  /* bytes: A-Z a-z 0-9 . _ - */
#define POLICY_MESSAGE_EN_MAX   320 /* bytes of UTF-8 */
#define POLICY_MESSAGE_BN_MAX   640 /* bytes of UTF-8 (a Bengali letter is 3 bytes) */
#define POLICY_NOTE_MAX         160 /* bytes of UTF-8 */
#define POLICY_DESTINATIONS_MAX 32  /* codes in one list */
#define POLICY_CATEGORIES_MAX   16
#define POLICY_AGE_MAX          150
#define POLICY_RESULTS_MAX      8 /* rule results a verdict lists (the rest are counted) */
#define POLICY_DETAIL_MAX       80

/* The calendar day is judged at this UTC offset unless the policy says otherwise. */
#define POLICY_UTC_OFFSET_DEFAULT 360 /* minutes: Bangladesh Standard Time, UTC+06:00 */
#define POLICY_UTC_OFFSET_MIN     (-720)
#define POLICY_UTC_OFFSET_MAX     840

/* A set of sexes, one bit per value of clearance_claims.sex. */
enum policy_sex {
	POLICY_SEX_M = 1,
	POLICY_SEX_F = 2,
	POLICY_SEX_X = 4,
};

/* Which cards a rule applies to; an empty list (or no sexes) matches every card. */
struct policy_scope {
	size_t n_destinations;
	char destinations[POLICY_DESTINATIONS_MAX][3]; /* ISO 3166-1 alpha-2 */
	size_t n_categories;
	char categories[POLICY_CATEGORIES_MAX][CREDENTIAL_CATEGORY_MAX + 1];
	unsigned sexes; /* enum policy_sex bits; 0 = any */
};

/* What a card in scope must meet; at least one requirement is present. */
struct policy_requirements {
	bool has_age_min;
	bool has_age_max;
	unsigned age_min; /* completed years on the departure date, inclusive */
	unsigned age_max;
	uint32_t
	        claims_true; /* bit (1u << enum clearance_key) per yes/no claim that must be true */
	size_t n_categories; /* 0 = no category requirement */
	char categories[POLICY_CATEGORIES_MAX][CREDENTIAL_CATEGORY_MAX + 1];
	unsigned sexes; /* enum policy_sex bits; 0 = no sex requirement */
};

struct policy_rule {
	char id[POLICY_RULE_ID_MAX + 1];
	struct policy_scope when;
	bool has_effective_from;
	int32_t effective_from; /* days since 1970-01-01: in effect from this departure date */
	struct policy_requirements require;
	char message_en[POLICY_MESSAGE_EN_MAX + 1];
	char message_bn[POLICY_MESSAGE_BN_MAX + 1];
};

struct policy {
	int32_t utc_offset_minutes;     /* the departure date is the calendar day at this offset */
	char note[POLICY_NOTE_MAX + 1]; /* "" when absent; e.g. "EXAMPLE - not official" */
	size_t n_rules;
	struct policy_rule rules[POLICY_RULES_MAX];
};

enum policy_outcome {
	POLICY_PASSED = 0,
	POLICY_FAILED = 1,
	POLICY_NOT_IN_EFFECT = 2, /* in the card's scope, but only from a later date */
};

struct policy_rule_result {
	char id[POLICY_RULE_ID_MAX + 1];
	enum policy_outcome outcome;
	char detail[POLICY_DETAIL_MAX]; /* why it failed, or from when it applies; "" if passed */
};

/* What evaluating a policy for one card found. */
struct policy_result {
	bool evaluated;        /* a policy was applied to this card */
	uint64_t version;      /* of the policy document (the check fills it in) */
	int32_t departure_day; /* days since 1970-01-01: the date the rules were judged on */
	size_t n_applicable;   /* rules whose scope matched the card */
	size_t n_failed;
	size_t n_results; /* the first POLICY_RESULTS_MAX applicable rules, in policy order */
	struct policy_rule_result results[POLICY_RESULTS_MAX];
	/* The first failed rule in policy order: what the officer reads. */
	char failed_id[POLICY_RULE_ID_MAX + 1];
	char failed_detail[POLICY_DETAIL_MAX];
	char message_en[POLICY_MESSAGE_EN_MAX + 1];
	char message_bn[POLICY_MESSAGE_BN_MAX + 1];
};

/*
 * Decode a policy body (the CBOR map under key 5 of a policy document),
 * strictly: QD_ERR_FORMAT or QD_ERR_TOO_LARGE with why naming the rule and
 * field.  out is always reset first.
 */
enum qd_err policy_decode(const uint8_t *body, size_t len, struct policy *out,
                          struct qd_errmsg *why);

/* The list's body check for a policy document (trust.h): it must decode; *entries: its rules. */
enum qd_err policy_check_body(const uint8_t *body, size_t len, size_t *entries,
                              struct qd_errmsg *why);

/*
 * Encode p as a policy body (deterministic: keys ascending, lists as given).
 * Size it with a counting pass (a writer with cap 0).  Decode the result to
 * validate a policy built by hand (the issuer does).
 */
void policy_encode(struct cbor_writer *w, const struct policy *p);

/*
 * Judge the card c against p on the departure date: the calendar day of
 * trusted_time (Unix seconds: the check's trusted time) at the policy's UTC
 * offset.  Pure; out is always filled.
 */
void policy_evaluate(const struct policy *p, const struct clearance_claims *c, int64_t trusted_time,
                     struct policy_result *out);

/* The calendar day (days since 1970-01-01) of t at an offset; clamped to 1900..2100. */
int32_t policy_day_of(int64_t t, int32_t utc_offset_minutes);

/*
 * Age in completed years on day on of someone born on day birth (both days
 * since 1970-01-01, 1900..2100).  The birthday is the same month and day
 * each year; one born on 29 February has it on 1 March in other years.
 */
int policy_age_years(int32_t birth, int32_t on);

/* "passed", "failed", "not-in-effect". */
const char *policy_outcome_name(enum policy_outcome outcome);

/* 'M', 'F', 'X' <-> enum policy_sex; 0 for anything else. */
unsigned policy_sex_bit(char sex);

#endif
