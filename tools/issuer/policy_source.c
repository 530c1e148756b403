/* SPDX-License-Identifier: Apache-2.0 */
/* policy_source.c - the JSON source of a destination policy (see policy_source.h). */
#include "policy_source.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toolutil.h"

__attribute__((format(printf, 3, 4))) static enum qd_err
bad(struct qd_errmsg *why, const char *where, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	qd_errmsg_set(why, "%s: %s", where, msg);
	return QD_ERR_FORMAT;
}

/* Refuse any member not in names (a misspelt field must not be silently ignored). */
static enum qd_err only_fields(json_t *obj, const char *where, const char *const *names,
                               struct qd_errmsg *why)
{
	if (!json_is_object(obj))
		return bad(why, where, "must be an object");
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value)
	{
		bool known = false;
		for (size_t i = 0; names[i] != NULL && !known; i++)
			known = strcmp(key, names[i]) == 0;
		if (!known)
			return bad(why, where, "unknown field \"%s\"", key);
	}
	return QD_OK;
}

/* A string of 1..max bytes into out (max + 1 bytes). */
static enum qd_err get_text(json_t *v, const char *where, size_t max, char *out,
                            struct qd_errmsg *why)
{
	const char *s = json_string_value(v);
	if (s == NULL)
		return bad(why, where, "must be a string");
	size_t n = json_string_length(v);
	if (n == 0 || n > max)
		return bad(why, where, "must be 1 to %zu bytes of UTF-8, not %zu", max, n);
	memcpy(out, s, n); /* no NUL inside: jansson refuses \u0000 unless asked */
	out[n] = '\0';
	return QD_OK;
}

/* A list of 1..max strings, each of at most width - 1 bytes, into rows of width. */
static enum qd_err get_codes(json_t *v, const char *where, size_t max, size_t width, char *out,
                             size_t *count, struct qd_errmsg *why)
{
	if (!json_is_array(v))
		return bad(why, where, "must be a list of strings");
	size_t n = json_array_size(v);
	if (n == 0)
		return bad(why, where, "must not be empty (leave the field out instead)");
	if (n > max)
		return bad(why, where, "%zu entries, at most %zu", n, max);
	for (size_t i = 0; i < n; i++) {
		json_t *item = json_array_get(v, i);
		const char *s = json_string_value(item);
		if (s == NULL || json_string_length(item) == 0 || json_string_length(item) >= width)
			return bad(why, where, "entry %zu must be a code of 1 to %zu characters", i,
			           width - 1);
		memcpy(out + i * width, s, json_string_length(item) + 1);
	}
	*count = n;
	return QD_OK;
}

static enum qd_err get_sexes(json_t *v, const char *where, unsigned *sexes, struct qd_errmsg *why)
{
	if (!json_is_array(v) || json_array_size(v) == 0)
		return bad(why, where, "must be a non-empty list of \"M\", \"F\", \"X\"");
	*sexes = 0;
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item)
	{
		const char *s = json_string_value(item);
		unsigned bit =
		        s != NULL && json_string_length(item) == 1 ? policy_sex_bit(s[0]) : 0;
		if (bit == 0)
			return bad(why, where, "entry %zu must be \"M\", \"F\" or \"X\"", i);
		if (*sexes & bit)
			return bad(why, where, "\"%s\" listed twice", s);
		*sexes |= bit;
	}
	return QD_OK;
}

/* Claim names -> the clearance keys policy.h requires to be true. */
static enum qd_err get_claims(json_t *v, const char *where, uint32_t *claims, struct qd_errmsg *why)
{
	if (!json_is_array(v) || json_array_size(v) == 0)
		return bad(why, where, "must be a non-empty list of claim names");
	*claims = 0;
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item)
	{
		const char *s = json_string_value(item);
		if (s == NULL || strcmp(s, "pdo_completed") != 0)
			return bad(why, where,
			           "entry %zu: only yes/no claims can be required (pdo_completed)",
			           i);
		uint32_t bit = 1u << CLEARANCE_KEY_PDO_COMPLETED;
		if (*claims & bit)
			return bad(why, where, "\"%s\" listed twice", s);
		*claims |= bit;
	}
	return QD_OK;
}

static enum qd_err get_age(json_t *v, const char *where, unsigned *age, struct qd_errmsg *why)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > POLICY_AGE_MAX)
		return bad(why, where, "must be a whole number of years, 0 to %d", POLICY_AGE_MAX);
	*age = (unsigned)json_integer_value(v);
	return QD_OK;
}

static enum qd_err get_when(json_t *obj, const char *where, struct policy_scope *when,
                            struct qd_errmsg *why)
{
	static const char *const fields[] = {"destinations", "categories", "sexes", NULL};
	enum qd_err rc = only_fields(obj, where, fields, why);
	char at[128]; /* where (< 96) and a field name */
	json_t *v;
	if (rc == QD_OK && (v = json_object_get(obj, "destinations")) != NULL) {
		snprintf(at, sizeof(at), "%s.destinations", where);
		rc = get_codes(v, at, POLICY_DESTINATIONS_MAX, sizeof(when->destinations[0]),
		               (char *)when->destinations, &when->n_destinations, why);
	}
	if (rc == QD_OK && (v = json_object_get(obj, "categories")) != NULL) {
		snprintf(at, sizeof(at), "%s.categories", where);
		rc = get_codes(v, at, POLICY_CATEGORIES_MAX, sizeof(when->categories[0]),
		               (char *)when->categories, &when->n_categories, why);
	}
	if (rc == QD_OK && (v = json_object_get(obj, "sexes")) != NULL) {
		snprintf(at, sizeof(at), "%s.sexes", where);
		rc = get_sexes(v, at, &when->sexes, why);
	}
	return rc;
}

static enum qd_err get_require(json_t *obj, const char *where, struct policy_requirements *req,
                               struct qd_errmsg *why)
{
	static const char *const fields[] = {"age_min",    "age_max", "claims_true",
	                                     "categories", "sexes",   NULL};
	enum qd_err rc = only_fields(obj, where, fields, why);
	char at[128]; /* where (< 96) and a field name */
	json_t *v;
	if (rc == QD_OK && json_object_size(obj) == 0)
		return bad(why, where, "empty: a rule must require something");
	if (rc == QD_OK && (v = json_object_get(obj, "age_min")) != NULL) {
		snprintf(at, sizeof(at), "%s.age_min", where);
		rc = get_age(v, at, &req->age_min, why);
		req->has_age_min = true;
	}
	if (rc == QD_OK && (v = json_object_get(obj, "age_max")) != NULL) {
		snprintf(at, sizeof(at), "%s.age_max", where);
		rc = get_age(v, at, &req->age_max, why);
		req->has_age_max = true;
	}
	if (rc == QD_OK && (v = json_object_get(obj, "claims_true")) != NULL) {
		snprintf(at, sizeof(at), "%s.claims_true", where);
		rc = get_claims(v, at, &req->claims_true, why);
	}
	if (rc == QD_OK && (v = json_object_get(obj, "categories")) != NULL) {
		snprintf(at, sizeof(at), "%s.categories", where);
		rc = get_codes(v, at, POLICY_CATEGORIES_MAX, sizeof(req->categories[0]),
		               (char *)req->categories, &req->n_categories, why);
	}
	if (rc == QD_OK && (v = json_object_get(obj, "sexes")) != NULL) {
		snprintf(at, sizeof(at), "%s.sexes", where);
		rc = get_sexes(v, at, &req->sexes, why);
	}
	return rc;
}

static enum qd_err get_rule(json_t *obj, size_t index, struct policy_rule *rule,
                            struct qd_errmsg *why)
{
	static const char *const fields[] = {
	        "id", "when", "effective_from", "require", "message_en", "message_bn", NULL};
	char where[48], at[96];
	snprintf(where, sizeof(where), "rules[%zu]", index);
	enum qd_err rc = only_fields(obj, where, fields, why);
	if (rc != QD_OK)
		return rc;
	static const char *const required[] = {"id", "require", "message_en", "message_bn"};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (json_object_get(obj, required[i]) == NULL)
			return bad(why, where, "%s is missing", required[i]);
	snprintf(at, sizeof(at), "%s.id", where);
	rc = get_text(json_object_get(obj, "id"), at, POLICY_RULE_ID_MAX, rule->id, why);
	json_t *v;
	if (rc == QD_OK && (v = json_object_get(obj, "when")) != NULL) {
		snprintf(at, sizeof(at), "%s.when", where);
		rc = get_when(v, at, &rule->when, why);
	}
	if (rc == QD_OK && (v = json_object_get(obj, "effective_from")) != NULL) {
		const char *date = json_string_value(v);
		if (date == NULL || credential_date_parse(date, &rule->effective_from) != QD_OK)
			return bad(why, where,
			           "effective_from must be a date, YYYY-MM-DD (1900..2100)");
		rule->has_effective_from = true;
	}
	if (rc == QD_OK) {
		snprintf(at, sizeof(at), "%s.require", where);
		rc = get_require(json_object_get(obj, "require"), at, &rule->require, why);
	}
	if (rc == QD_OK) {
		snprintf(at, sizeof(at), "%s.message_en", where);
		rc = get_text(json_object_get(obj, "message_en"), at, POLICY_MESSAGE_EN_MAX,
		              rule->message_en, why);
	}
	if (rc == QD_OK) {
		snprintf(at, sizeof(at), "%s.message_bn", where);
		rc = get_text(json_object_get(obj, "message_bn"), at, POLICY_MESSAGE_BN_MAX,
		              rule->message_bn, why);
	}
	return rc;
}

static enum qd_err from_json(json_t *root, struct policy *out, struct qd_errmsg *why)
{
	static const char *const fields[] = {"format", "note", "utc_offset_minutes", "rules", NULL};
	enum qd_err rc = only_fields(root, "policy", fields, why);
	if (rc != QD_OK)
		return rc;
	const char *format = json_string_value(json_object_get(root, "format"));
	if (format == NULL || strcmp(format, POLICY_SOURCE_FORMAT) != 0)
		return bad(why, "format", "must be \"%s\"", POLICY_SOURCE_FORMAT);
	json_t *v = json_object_get(root, "note");
	if (v != NULL && (rc = get_text(v, "note", POLICY_NOTE_MAX, out->note, why)) != QD_OK)
		return rc;
	v = json_object_get(root, "utc_offset_minutes");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < POLICY_UTC_OFFSET_MIN ||
		    json_integer_value(v) > POLICY_UTC_OFFSET_MAX)
			return bad(why, "utc_offset_minutes", "must be a whole number, %d to %d",
			           POLICY_UTC_OFFSET_MIN, POLICY_UTC_OFFSET_MAX);
		out->utc_offset_minutes = (int32_t)json_integer_value(v);
	}
	json_t *rules = json_object_get(root, "rules");
	if (!json_is_array(rules))
		return bad(why, "rules", "must be a list (an empty one for no rules)");
	if (json_array_size(rules) > POLICY_RULES_MAX)
		return bad(why, "rules", "%zu rules, at most %d", json_array_size(rules),
		           POLICY_RULES_MAX);
	size_t i;
	json_array_foreach(rules, i, v)
	{
		if ((rc = get_rule(v, i, &out->rules[i], why)) != QD_OK)
			return rc;
	}
	out->n_rules = json_array_size(rules);
	return QD_OK;
}

enum qd_err policy_source_parse(const char *text, size_t len, struct policy *out,
                                struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	out->utc_offset_minutes = POLICY_UTC_OFFSET_DEFAULT;
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		qd_errmsg_set(why, "line %d: %s", jerr.line, jerr.text);
		return QD_ERR_FORMAT;
	}
	enum qd_err rc = from_json(root, out, why);
	json_decref(root);
	return rc;
}

enum qd_err policy_source_load(const char *path, struct policy *out, struct qd_errmsg *why)
{
	uint8_t *text = NULL;
	size_t len = 0;
	enum qd_err rc = tool_read_file(path, POLICY_SOURCE_MAX, &text, &len, why);
	if (rc != QD_OK)
		return rc; /* the message names the path already */
	struct qd_errmsg inner = {{0}};
	rc = policy_source_parse((const char *)text, len, out, &inner);
	free(text);
	if (rc != QD_OK)
		qd_errmsg_set(why, "%s: %s", path, inner.text);
	return rc;
}
