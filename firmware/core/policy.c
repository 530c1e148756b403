/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.c - destination rules (see policy.h and docs/policy.md): a strict,
 * bounded decoder that names the rule and field at fault, the issuer's
 * encoder, and the pure evaluation of a card on its departure date.
 */
#include "qrdesk/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CBOR keys, docs/policy.md. */
enum { BODY_RULES = 1, BODY_UTC_OFFSET = 2, BODY_NOTE = 3 };
enum {
	RULE_ID = 1,
	RULE_WHEN = 2,
	RULE_EFFECTIVE_FROM = 3,
	RULE_REQUIRE = 4,
	RULE_MESSAGE_EN = 5,
	RULE_MESSAGE_BN = 6,
};
enum { WHEN_DESTINATIONS = 1, WHEN_CATEGORIES = 2, WHEN_SEXES = 3 };
enum {
	REQUIRE_AGE_MIN = 1,
	REQUIRE_AGE_MAX = 2,
	REQUIRE_CLAIMS_TRUE = 3,
	REQUIRE_CATEGORIES = 4,
	REQUIRE_SEXES = 5,
};

/* The yes/no claims a rule may require to be true (today only pdo_completed). */
#define CLAIMS_YES_NO (1u << CLEARANCE_KEY_PDO_COMPLETED)

#define DAY_SECONDS 86400

struct decoder {
	struct cbor_reader r;
	struct qd_errmsg *why;
	const struct policy_rule *rule; /* the rule being read, for messages; NULL outside one */
	size_t rule_index;
};

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Set the message, prefixed with the rule it is about. */
__attribute__((format(printf, 3, 4))) static enum qd_err fail(struct decoder *d, enum qd_err rc,
                                                              const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->rule == NULL)
		qd_errmsg_set(d->why, "%s", msg);
	else if (d->rule->id[0] != '\0')
		qd_errmsg_set(d->why, "rules[%zu] (%s): %s", d->rule_index, d->rule->id, msg);
	else
		qd_errmsg_set(d->why, "rules[%zu]: %s", d->rule_index, msg);
	return rc;
}

static enum qd_err fail_cbor(struct decoder *d, const char *field, enum cbor_status st)
{
	return fail(d, QD_ERR_FORMAT, "%s: %s", field, cbor_status_name(st));
}

/* A map key: an integer, not seen before in this map. */
static enum qd_err read_key(struct decoder *d, struct cbor_int_keys *seen, const char *map,
                            int64_t *key)
{
	enum cbor_status st = cbor_read_int(&d->r, key);
	if (st == CBOR_OK)
		st = cbor_int_keys_add(seen, *key);
	return st == CBOR_OK ? QD_OK : fail_cbor(d, map, st);
}

static enum qd_err unknown_key(struct decoder *d, const char *map, int64_t key)
{
	/* A desk never guesses at a rule it cannot read: it keeps its old policy. */
	return fail(d, QD_ERR_FORMAT, "%s: unknown key %lld (a newer policy format?)", map,
	            (long long)key);
}

enum text_kind {
	TEXT_ID,      /* A-Z a-z 0-9 . _ - */
	TEXT_MESSAGE, /* any UTF-8 (validated by the reader) without control characters */
};

static bool text_ok(enum text_kind kind, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = kind == TEXT_ID ? (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		                                    (c >= '0' && c <= '9') || c == '.' ||
		                                    c == '_' || c == '-'
		                          : c >= 0x20 && c != 0x7f;
		if (!ok)
			return false;
	}
	return true;
}

/* A text of 1..max bytes into out (max + 1 bytes), NUL-terminated. */
static enum qd_err read_text(struct decoder *d, const char *field, enum text_kind kind, size_t max,
                             char *out)
{
	const char *s;
	size_t n;
	enum cbor_status st = cbor_read_tstr(&d->r, &s, &n);
	if (st != CBOR_OK)
		return fail_cbor(d, field, st);
	if (n == 0 || n > max)
		return fail(d, QD_ERR_FORMAT, "%s: %zu bytes, must be 1 to %zu", field, n, max);
	if (!text_ok(kind, s, n))
		return fail(d, QD_ERR_FORMAT, "%s: %s", field,
		            kind == TEXT_ID ? "only A-Z a-z 0-9 . _ - allowed"
		                            : "control characters are not allowed");
	memcpy(out, s, n);
	out[n] = '\0';
	return QD_OK;
}

static bool is_country(const char *s, size_t n)
{
	return n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

static bool is_category(const char *s, size_t n)
{
	if (n == 0 || n > CREDENTIAL_CATEGORY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/*
 * An array of 1..max distinct codes, each checked by valid(), copied
 * NUL-terminated into out (max rows of width bytes).
 */
static enum qd_err read_codes(struct decoder *d, const char *field, size_t max, size_t width,
                              bool (*valid)(const char *, size_t), const char *what, char *out,
                              size_t *count)
{
	size_t n;
	enum cbor_status st = cbor_read_array(&d->r, &n);
	if (st != CBOR_OK)
		return fail_cbor(d, field, st);
	if (n == 0)
		return fail(d, QD_ERR_FORMAT, "%s: an empty list (leave the field out instead)",
		            field);
	if (n > max)
		return fail(d, QD_ERR_TOO_LARGE, "%s: %zu entries, at most %zu", field, n, max);
	for (size_t i = 0; i < n; i++) {
		const char *s;
		size_t len;
		st = cbor_read_tstr(&d->r, &s, &len);
		if (st != CBOR_OK)
			return fail_cbor(d, field, st);
		if (!valid(s, len)) {
			if (len <= 16 && printable(s, len))
				return fail(d, QD_ERR_FORMAT, "%s: \"%.*s\" is not %s", field,
				            (int)len, s, what);
			return fail(d, QD_ERR_FORMAT, "%s: entry %zu is not %s", field, i, what);
		}
		char *row = out + i * width;
		memcpy(row, s, len);
		row[len] = '\0';
		for (size_t j = 0; j < i; j++)
			if (strcmp(out + j * width, row) == 0)
				return fail(d, QD_ERR_FORMAT, "%s: \"%s\" listed twice", field,
				            row);
	}
	*count = n;
	return QD_OK;
}

unsigned policy_sex_bit(char sex)
{
	switch (sex) {
	case 'M':
		return POLICY_SEX_M;
	case 'F':
		return POLICY_SEX_F;
	case 'X':
		return POLICY_SEX_X;
	default:
		return 0;
	}
}

/* An array of 1..3 distinct "M", "F", "X" as a set of bits. */
static enum qd_err read_sexes(struct decoder *d, const char *field, unsigned *sexes)
{
	size_t n;
	enum cbor_status st = cbor_read_array(&d->r, &n);
	if (st != CBOR_OK)
		return fail_cbor(d, field, st);
	if (n == 0 || n > 3)
		return fail(d, QD_ERR_FORMAT, "%s: %zu entries, must be 1 to 3", field, n);
	*sexes = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s;
		size_t len;
		st = cbor_read_tstr(&d->r, &s, &len);
		if (st != CBOR_OK)
			return fail_cbor(d, field, st);
		unsigned bit = len == 1 ? policy_sex_bit(s[0]) : 0;
		if (bit == 0)
			return fail(d, QD_ERR_FORMAT, "%s: entry %zu is not \"M\", \"F\" or \"X\"",
			            field, i);
		if (*sexes & bit)
			return fail(d, QD_ERR_FORMAT, "%s: \"%c\" listed twice", field, s[0]);
		*sexes |= bit;
	}
	return QD_OK;
}

/* An array of 1..8 distinct clearance-claim keys, each a yes/no claim. */
static enum qd_err read_claims(struct decoder *d, const char *field, uint32_t *claims)
{
	size_t n;
	enum cbor_status st = cbor_read_array(&d->r, &n);
	if (st != CBOR_OK)
		return fail_cbor(d, field, st);
	if (n == 0 || n > 8)
		return fail(d, QD_ERR_FORMAT, "%s: %zu entries, must be 1 to 8", field, n);
	*claims = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t key;
		st = cbor_read_uint(&d->r, &key);
		if (st != CBOR_OK)
			return fail_cbor(d, field, st);
		if (key >= 32 || !(CLAIMS_YES_NO & (1u << key)))
			return fail(d, QD_ERR_FORMAT,
			            "%s: claim %llu is not a yes/no claim of the card (11, "
			            "pdo_completed, is)",
			            field, (unsigned long long)key);
		if (*claims & (1u << key))
			return fail(d, QD_ERR_FORMAT, "%s: claim %llu listed twice", field,
			            (unsigned long long)key);
		*claims |= 1u << key;
	}
	return QD_OK;
}

static enum qd_err read_age(struct decoder *d, const char *field, unsigned *age)
{
	uint64_t v;
	enum cbor_status st = cbor_read_uint(&d->r, &v);
	if (st != CBOR_OK)
		return fail_cbor(d, field, st);
	if (v > POLICY_AGE_MAX)
		return fail(d, QD_ERR_FORMAT, "%s: %llu is above %d", field, (unsigned long long)v,
		            POLICY_AGE_MAX);
	*age = (unsigned)v;
	return QD_OK;
}

static enum qd_err read_when(struct decoder *d, struct policy_scope *when)
{
	size_t count;
	enum cbor_status st = cbor_read_map(&d->r, &count);
	if (st != CBOR_OK)
		return fail_cbor(d, "when", st);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	for (size_t i = 0; i < count; i++) {
		int64_t key;
		enum qd_err rc = read_key(d, &seen, "when", &key);
		if (rc != QD_OK)
			return rc;
		switch (key) {
		case WHEN_DESTINATIONS:
			rc = read_codes(d, "when destinations", POLICY_DESTINATIONS_MAX,
			                sizeof(when->destinations[0]), is_country,
			                "an ISO 3166-1 alpha-2 code", (char *)when->destinations,
			                &when->n_destinations);
			break;
		case WHEN_CATEGORIES:
			rc = read_codes(d, "when categories", POLICY_CATEGORIES_MAX,
			                sizeof(when->categories[0]), is_category,
			                "a category code (A-Z 0-9, 1 to 8)",
			                (char *)when->categories, &when->n_categories);
			break;
		case WHEN_SEXES:
			rc = read_sexes(d, "when sexes", &when->sexes);
			break;
		default:
			return unknown_key(d, "when", key);
		}
		if (rc != QD_OK)
			return rc;
	}
	return QD_OK;
}

static enum qd_err read_require(struct decoder *d, struct policy_requirements *req)
{
	size_t count;
	enum cbor_status st = cbor_read_map(&d->r, &count);
	if (st != CBOR_OK)
		return fail_cbor(d, "require", st);
	if (count == 0)
		return fail(d, QD_ERR_FORMAT, "require: empty (a rule must require something)");
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	for (size_t i = 0; i < count; i++) {
		int64_t key;
		enum qd_err rc = read_key(d, &seen, "require", &key);
		if (rc != QD_OK)
			return rc;
		switch (key) {
		case REQUIRE_AGE_MIN:
			rc = read_age(d, "require age_min", &req->age_min);
			req->has_age_min = true;
			break;
		case REQUIRE_AGE_MAX:
			rc = read_age(d, "require age_max", &req->age_max);
			req->has_age_max = true;
			break;
		case REQUIRE_CLAIMS_TRUE:
			rc = read_claims(d, "require claims_true", &req->claims_true);
			break;
		case REQUIRE_CATEGORIES:
			rc = read_codes(d, "require categories", POLICY_CATEGORIES_MAX,
			                sizeof(req->categories[0]), is_category,
			                "a category code (A-Z 0-9, 1 to 8)",
			                (char *)req->categories, &req->n_categories);
			break;
		case REQUIRE_SEXES:
			rc = read_sexes(d, "require sexes", &req->sexes);
			break;
		default:
			return unknown_key(d, "require", key);
		}
		if (rc != QD_OK)
			return rc;
	}
	if (req->has_age_min && req->has_age_max && req->age_min > req->age_max)
		return fail(d, QD_ERR_FORMAT, "require: age_min %u is above age_max %u",
		            req->age_min, req->age_max);
	return QD_OK;
}

static enum qd_err read_rule(struct decoder *d, struct policy_rule *rule, size_t index)
{
	d->rule = rule;
	d->rule_index = index;
	size_t count;
	enum cbor_status st = cbor_read_map(&d->r, &count);
	if (st != CBOR_OK)
		return fail_cbor(d, "rule", st);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	bool have_id = false, have_require = false, have_en = false, have_bn = false;
	for (size_t i = 0; i < count; i++) {
		int64_t key, day;
		enum qd_err rc = read_key(d, &seen, "rule", &key);
		if (rc != QD_OK)
			return rc;
		switch (key) {
		case RULE_ID:
			rc = read_text(d, "id", TEXT_ID, POLICY_RULE_ID_MAX, rule->id);
			have_id = true;
			break;
		case RULE_WHEN:
			rc = read_when(d, &rule->when);
			break;
		case RULE_EFFECTIVE_FROM:
			st = cbor_read_int(&d->r, &day);
			if (st != CBOR_OK)
				return fail_cbor(d, "effective_from", st);
			if (day < CREDENTIAL_DATE_MIN || day > CREDENTIAL_DATE_MAX)
				return fail(
				        d, QD_ERR_FORMAT,
				        "effective_from: %lld is outside 1900-01-01..2100-12-31",
				        (long long)day);
			rule->has_effective_from = true;
			rule->effective_from = (int32_t)day;
			break;
		case RULE_REQUIRE:
			rc = read_require(d, &rule->require);
			have_require = true;
			break;
		case RULE_MESSAGE_EN:
			rc = read_text(d, "message_en", TEXT_MESSAGE, POLICY_MESSAGE_EN_MAX,
			               rule->message_en);
			have_en = true;
			break;
		case RULE_MESSAGE_BN:
			rc = read_text(d, "message_bn", TEXT_MESSAGE, POLICY_MESSAGE_BN_MAX,
			               rule->message_bn);
			have_bn = true;
			break;
		default:
			return unknown_key(d, "rule", key);
		}
		if (rc != QD_OK)
			return rc;
	}
	if (!have_id || !have_require || !have_en || !have_bn)
		return fail(d, QD_ERR_FORMAT, "%s missing",
		            !have_id        ? "id (key 1)"
		            : !have_require ? "require (key 4)"
		            : !have_en      ? "message_en (key 5)"
		                            : "message_bn (key 6)");
	return QD_OK;
}

static enum qd_err read_rules(struct decoder *d, struct policy *out)
{
	size_t n;
	enum cbor_status st = cbor_read_array(&d->r, &n);
	if (st != CBOR_OK)
		return fail_cbor(d, "rules", st);
	if (n > POLICY_RULES_MAX)
		return fail(d, QD_ERR_TOO_LARGE, "rules: %zu, at most %d", n, POLICY_RULES_MAX);
	for (size_t i = 0; i < n; i++) {
		enum qd_err rc = read_rule(d, &out->rules[i], i);
		if (rc != QD_OK)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(out->rules[j].id, out->rules[i].id) == 0)
				return fail(d, QD_ERR_FORMAT, "id also used by rules[%zu]", j);
		d->rule = NULL;
	}
	out->n_rules = n;
	return QD_OK;
}

static enum qd_err decode_body(struct decoder *d, struct policy *out)
{
	size_t count;
	enum cbor_status st = cbor_read_map(&d->r, &count);
	if (st != CBOR_OK)
		return fail_cbor(d, "body", st);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	bool have_rules = false;
	for (size_t i = 0; i < count; i++) {
		int64_t key, offset;
		enum qd_err rc = read_key(d, &seen, "body", &key);
		if (rc != QD_OK)
			return rc;
		switch (key) {
		case BODY_RULES:
			rc = read_rules(d, out);
			have_rules = true;
			break;
		case BODY_UTC_OFFSET:
			st = cbor_read_int(&d->r, &offset);
			if (st != CBOR_OK)
				return fail_cbor(d, "utc_offset_minutes", st);
			if (offset < POLICY_UTC_OFFSET_MIN || offset > POLICY_UTC_OFFSET_MAX)
				return fail(d, QD_ERR_FORMAT,
				            "utc_offset_minutes: %lld is outside %d..%d",
				            (long long)offset, POLICY_UTC_OFFSET_MIN,
				            POLICY_UTC_OFFSET_MAX);
			out->utc_offset_minutes = (int32_t)offset;
			break;
		case BODY_NOTE:
			rc = read_text(d, "note", TEXT_MESSAGE, POLICY_NOTE_MAX, out->note);
			break;
		default:
			return unknown_key(d, "body", key);
		}
		if (rc != QD_OK)
			return rc;
	}
	st = cbor_expect_end(&d->r);
	if (st != CBOR_OK)
		return fail_cbor(d, "body", st);
	if (!have_rules)
		return fail(d, QD_ERR_FORMAT, "rules (key 1) missing");
	return QD_OK;
}

enum qd_err policy_decode(const uint8_t *body, size_t len, struct policy *out,
                          struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	out->utc_offset_minutes = POLICY_UTC_OFFSET_DEFAULT;
	if (len > POLICY_BODY_MAX) {
		qd_errmsg_set(why, "body: %zu bytes, at most %d", len, POLICY_BODY_MAX);
		return QD_ERR_TOO_LARGE;
	}
	struct decoder d = {.why = why};
	cbor_reader_init(&d.r, body, len);
	enum qd_err rc = decode_body(&d, out);
	if (rc != QD_OK) {
		/* Never leave half a policy behind for a careless caller. */
		memset(out, 0, sizeof(*out));
		out->utc_offset_minutes = POLICY_UTC_OFFSET_DEFAULT;
	}
	return rc;
}

/* ---- encoding ---------------------------------------------------------- */

static size_t capped(size_t n, size_t max)
{
	return n < max ? n : max;
}

static void put_codes(struct cbor_writer *w, const char *codes, size_t width, size_t n)
{
	cbor_put_array(w, n);
	for (size_t i = 0; i < n; i++)
		cbor_put_cstr(w, codes + i * width);
}

static void put_sexes(struct cbor_writer *w, unsigned sexes)
{
	static const char letters[] = "MFX";
	size_t n = 0;
	for (size_t i = 0; i < 3; i++)
		n += (sexes & (1u << i)) != 0;
	cbor_put_array(w, n);
	for (size_t i = 0; i < 3; i++)
		if (sexes & (1u << i))
			cbor_put_tstr(w, &letters[i], 1);
}

static void put_rule(struct cbor_writer *w, const struct policy_rule *r)
{
	const struct policy_scope *when = &r->when;
	const struct policy_requirements *req = &r->require;
	size_t n_dest = capped(when->n_destinations, POLICY_DESTINATIONS_MAX);
	size_t n_when_cat = capped(when->n_categories, POLICY_CATEGORIES_MAX);
	size_t n_req_cat = capped(req->n_categories, POLICY_CATEGORIES_MAX);
	size_t when_fields = (n_dest > 0) + (n_when_cat > 0) + (when->sexes != 0);
	size_t req_fields = req->has_age_min + req->has_age_max + (req->claims_true != 0) +
	                    (n_req_cat > 0) + (req->sexes != 0);

	cbor_put_map(w, 4 + (when_fields > 0) + r->has_effective_from);
	cbor_put_uint(w, RULE_ID);
	cbor_put_cstr(w, r->id);
	if (when_fields > 0) {
		cbor_put_uint(w, RULE_WHEN);
		cbor_put_map(w, when_fields);
		if (n_dest > 0) {
			cbor_put_uint(w, WHEN_DESTINATIONS);
			put_codes(w, (const char *)when->destinations,
			          sizeof(when->destinations[0]), n_dest);
		}
		if (n_when_cat > 0) {
			cbor_put_uint(w, WHEN_CATEGORIES);
			put_codes(w, (const char *)when->categories, sizeof(when->categories[0]),
			          n_when_cat);
		}
		if (when->sexes != 0) {
			cbor_put_uint(w, WHEN_SEXES);
			put_sexes(w, when->sexes);
		}
	}
	if (r->has_effective_from) {
		cbor_put_uint(w, RULE_EFFECTIVE_FROM);
		cbor_put_int(w, r->effective_from);
	}
	cbor_put_uint(w, RULE_REQUIRE);
	cbor_put_map(w, req_fields);
	if (req->has_age_min) {
		cbor_put_uint(w, REQUIRE_AGE_MIN);
		cbor_put_uint(w, req->age_min);
	}
	if (req->has_age_max) {
		cbor_put_uint(w, REQUIRE_AGE_MAX);
		cbor_put_uint(w, req->age_max);
	}
	if (req->claims_true != 0) {
		size_t n = 0;
		for (unsigned k = 0; k < 32; k++)
			n += (req->claims_true >> k) & 1u;
		cbor_put_uint(w, REQUIRE_CLAIMS_TRUE);
		cbor_put_array(w, n);
		for (unsigned k = 0; k < 32; k++)
			if ((req->claims_true >> k) & 1u)
				cbor_put_uint(w, k);
	}
	if (n_req_cat > 0) {
		cbor_put_uint(w, REQUIRE_CATEGORIES);
		put_codes(w, (const char *)req->categories, sizeof(req->categories[0]), n_req_cat);
	}
	if (req->sexes != 0) {
		cbor_put_uint(w, REQUIRE_SEXES);
		put_sexes(w, req->sexes);
	}
	cbor_put_uint(w, RULE_MESSAGE_EN);
	cbor_put_cstr(w, r->message_en);
	cbor_put_uint(w, RULE_MESSAGE_BN);
	cbor_put_cstr(w, r->message_bn);
}

void policy_encode(struct cbor_writer *w, const struct policy *p)
{
	size_t n = capped(p->n_rules, POLICY_RULES_MAX);
	cbor_put_map(w, p->note[0] != '\0' ? 3 : 2);
	cbor_put_uint(w, BODY_RULES);
	cbor_put_array(w, n);
	for (size_t i = 0; i < n; i++)
		put_rule(w, &p->rules[i]);
	/* Always written, so a desk never depends on the default. */
	cbor_put_uint(w, BODY_UTC_OFFSET);
	cbor_put_int(w, p->utc_offset_minutes);
	if (p->note[0] != '\0') {
		cbor_put_uint(w, BODY_NOTE);
		cbor_put_cstr(w, p->note);
	}
}

/* ---- evaluation -------------------------------------------------------- */

int32_t policy_day_of(int64_t t, int32_t utc_offset_minutes)
{
	/* Clamp first: t + offset must not overflow, and the calendar is bounded. */
	const int64_t lo = (int64_t)CREDENTIAL_DATE_MIN * DAY_SECONDS;
	const int64_t hi = ((int64_t)CREDENTIAL_DATE_MAX + 1) * DAY_SECONDS - 1;
	if (t < lo)
		t = lo;
	if (t > hi)
		t = hi;
	int64_t local = t + (int64_t)utc_offset_minutes * 60;
	int64_t day =
	        local >= 0 ? local / DAY_SECONDS : -((-local + DAY_SECONDS - 1) / DAY_SECONDS);
	if (day < CREDENTIAL_DATE_MIN)
		day = CREDENTIAL_DATE_MIN;
	if (day > CREDENTIAL_DATE_MAX)
		day = CREDENTIAL_DATE_MAX;
	return (int32_t)day;
}

int policy_age_years(int32_t birth, int32_t on)
{
	int by, oy;
	unsigned bm, bd, om, od;
	credential_date_civil(birth, &by, &bm, &bd);
	credential_date_civil(on, &oy, &om, &od);
	/* Comparing (month, day) puts a 29 February birthday on 1 March in other years. */
	int age = oy - by;
	if (om < bm || (om == bm && od < bd))
		age--;
	return age;
}

const char *policy_outcome_name(enum policy_outcome outcome)
{
	switch (outcome) {
	case POLICY_PASSED:
		return "passed";
	case POLICY_FAILED:
		return "failed";
	case POLICY_NOT_IN_EFFECT:
		return "not-in-effect";
	}
	return "failed";
}

static bool code_listed(const char *codes, size_t width, size_t n, const char *code)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(codes + i * width, code) == 0)
			return true;
	return false;
}

static bool in_scope(const struct policy_scope *when, const struct clearance_claims *c)
{
	if (when->n_destinations > 0 &&
	    !code_listed((const char *)when->destinations, sizeof(when->destinations[0]),
	                 capped(when->n_destinations, POLICY_DESTINATIONS_MAX), c->destination))
		return false;
	if (when->n_categories > 0 &&
	    !code_listed((const char *)when->categories, sizeof(when->categories[0]),
	                 capped(when->n_categories, POLICY_CATEGORIES_MAX), c->category))
		return false;
	return when->sexes == 0 || (when->sexes & policy_sex_bit(c->sex)) != 0;
}

/* True if c meets req on day; otherwise detail says which requirement failed first. */
static bool meets(const struct policy_requirements *req, const struct clearance_claims *c,
                  int32_t day, char detail[POLICY_DETAIL_MAX])
{
	if (req->has_age_min || req->has_age_max) {
		int age = policy_age_years(c->birth_days, day);
		bool young = req->has_age_min && age < (int)req->age_min;
		bool old = req->has_age_max && age > (int)req->age_max;
		if (young || old) {
			char date[11], range[40];
			credential_date_format(day, date);
			if (req->has_age_min && req->has_age_max)
				snprintf(range, sizeof(range), "%u to %u", req->age_min,
				         req->age_max);
			else if (req->has_age_min)
				snprintf(range, sizeof(range), "at least %u", req->age_min);
			else
				snprintf(range, sizeof(range), "at most %u", req->age_max);
			snprintf(detail, POLICY_DETAIL_MAX, "age %d on %s; %s required", age, date,
			         range);
			return false;
		}
	}
	if ((req->claims_true & (1u << CLEARANCE_KEY_PDO_COMPLETED)) && !c->pdo_completed) {
		snprintf(detail, POLICY_DETAIL_MAX, "pdo_completed is false");
		return false;
	}
	if (req->n_categories > 0 &&
	    !code_listed((const char *)req->categories, sizeof(req->categories[0]),
	                 capped(req->n_categories, POLICY_CATEGORIES_MAX), c->category)) {
		snprintf(detail, POLICY_DETAIL_MAX, "category %s is not allowed", c->category);
		return false;
	}
	if (req->sexes != 0 && (req->sexes & policy_sex_bit(c->sex)) == 0) {
		snprintf(detail, POLICY_DETAIL_MAX, "sex %c is not allowed", c->sex);
		return false;
	}
	return true;
}

void policy_evaluate(const struct policy *p, const struct clearance_claims *c, int64_t trusted_time,
                     struct policy_result *out)
{
	memset(out, 0, sizeof(*out));
	out->evaluated = true;
	out->departure_day = policy_day_of(trusted_time, p->utc_offset_minutes);
	size_t n_rules = capped(p->n_rules, POLICY_RULES_MAX);
	for (size_t i = 0; i < n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		if (!in_scope(&r->when, c))
			continue;
		out->n_applicable++;
		struct policy_rule_result res;
		memset(&res, 0, sizeof(res));
		snprintf(res.id, sizeof(res.id), "%s", r->id);
		if (r->has_effective_from && out->departure_day < r->effective_from) {
			char date[11];
			credential_date_format(r->effective_from, date);
			res.outcome = POLICY_NOT_IN_EFFECT;
			snprintf(res.detail, sizeof(res.detail), "in effect from %s", date);
		} else if (meets(&r->require, c, out->departure_day, res.detail)) {
			res.outcome = POLICY_PASSED;
		} else {
			res.outcome = POLICY_FAILED;
			if (out->n_failed++ == 0) {
				snprintf(out->failed_id, sizeof(out->failed_id), "%s", r->id);
				snprintf(out->failed_detail, sizeof(out->failed_detail), "%s",
				         res.detail);
				snprintf(out->message_en, sizeof(out->message_en), "%s",
				         r->message_en);
				snprintf(out->message_bn, sizeof(out->message_bn), "%s",
				         r->message_bn);
			}
		}
		if (out->n_results < POLICY_RESULTS_MAX)
			out->results[out->n_results++] = res;
	}
}

enum qd_err policy_check_body(const uint8_t *body, size_t len, size_t *entries,
                              struct qd_errmsg *why)
{
	/* A struct policy is large: not on the stack of a sync or USB worker. */
	struct policy *policy = malloc(sizeof(*policy));
	if (policy == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = policy_decode(body, len, policy, why);
	*entries = policy->n_rules;
	free(policy);
	return rc;
}
