/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_credential.c - the clearance card's CWT payload: encode/decode round
 * trips, the date helpers, a table of malformed payloads (each with its
 * status and the field named), validation messages, the clearance hash and
 * the category names.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/cbor.h"
#include "qrdesk/credential.h"
#include "qrdesk/digest.h"

#define IAT 1795000000
#define EXP (IAT + 90 * 86400)
#define NBF (IAT + 60)

/* ---- a full credential ------------------------------------------------- */

static struct credential sample_credential(bool with_iss, bool with_nbf)
{
	struct credential c;
	memset(&c, 0, sizeof(c));
	if (with_iss)
		snprintf(c.iss, sizeof(c.iss), "%s", "BD-BMET");
	c.issued_at = IAT;
	c.expires_at = EXP;
	c.has_nbf = with_nbf;
	c.not_before = with_nbf ? NBF : 0;
	struct clearance_claims *k = &c.clearance;
	snprintf(k->clearance_no, sizeof(k->clearance_no), "%s", "BMET-2026/000123");
	snprintf(k->passport_no, sizeof(k->passport_no), "%s", "A12345678");
	snprintf(k->name, sizeof(k->name), "%s", "RAHIMA KHATUN");
	k->birth_days = 8836; /* 1994-03-12 */
	k->sex = 'F';
	snprintf(k->destination, sizeof(k->destination), "%s", "KW");
	snprintf(k->category, sizeof(k->category), "%s", "DW");
	snprintf(k->employer, sizeof(k->employer), "%s", "AL FAHAD TRADING CO");
	snprintf(k->agency_licence, sizeof(k->agency_licence), "%s", "RL-1234");
	snprintf(k->bmet_reg_no, sizeof(k->bmet_reg_no), "%s", "BMET11223344");
	k->pdo_completed = true;
	return c;
}

static void assert_credential_equal(const struct credential *want, const struct credential *got)
{
	assert_string_equal(got->iss, want->iss);
	assert_int_equal(got->issued_at, want->issued_at);
	assert_int_equal(got->expires_at, want->expires_at);
	assert_int_equal(got->has_nbf, want->has_nbf);
	assert_int_equal(got->not_before, want->has_nbf ? want->not_before : want->issued_at);
	const struct clearance_claims *w = &want->clearance, *g = &got->clearance;
	assert_string_equal(g->clearance_no, w->clearance_no);
	assert_string_equal(g->passport_no, w->passport_no);
	assert_string_equal(g->name, w->name);
	assert_int_equal(g->birth_days, w->birth_days);
	assert_int_equal(g->sex, w->sex);
	assert_string_equal(g->destination, w->destination);
	assert_string_equal(g->category, w->category);
	assert_string_equal(g->employer, w->employer);
	assert_string_equal(g->agency_licence, w->agency_licence);
	assert_string_equal(g->bmet_reg_no, w->bmet_reg_no);
	assert_int_equal(g->pdo_completed, w->pdo_completed);
}

static void round_trip(const struct credential *in)
{
	uint8_t buf[1024];
	size_t len = 0;
	struct qd_errmsg why = {{0}};
	enum qd_err rc = credential_encode(in, buf, sizeof(buf), &len, &why);
	if (rc != QD_OK)
		fail_msg("credential_encode: %s: %s", qd_err_name(rc), why.text);
	assert_true(len > 0 && len < sizeof(buf));

	struct credential out;
	struct credential_error err;
	assert_int_equal(credential_decode(buf, len, &out, &err), CREDENTIAL_OK);
	assert_int_equal(err.status, CREDENTIAL_OK);
	assert_null(err.field);
	assert_credential_equal(in, &out);

	/* Encoding is deterministic: the decoded credential encodes to the same bytes. */
	uint8_t again[1024];
	size_t again_len = 0;
	assert_int_equal(credential_encode(&out, again, sizeof(again), &again_len, &why), QD_OK);
	if (!in->has_nbf) {
		/* Decoding fills not_before from iat but has_nbf stays false. */
		assert_false(out.has_nbf);
	}
	assert_int_equal(again_len, len);
	assert_memory_equal(again, buf, len);
}

static void test_round_trip_full(void **state)
{
	(void)state;
	struct credential c = sample_credential(true, true);
	round_trip(&c);
}

static void test_round_trip_without_iss_and_nbf(void **state)
{
	(void)state;
	struct credential c = sample_credential(false, false);
	round_trip(&c);
	c = sample_credential(true, false);
	round_trip(&c);
	c = sample_credential(false, true);
	round_trip(&c);
}

static void test_round_trip_variants(void **state)
{
	(void)state;
	struct credential c = sample_credential(true, true);
	/* Every field at a boundary. */
	memset(c.clearance.clearance_no, 'A', CREDENTIAL_CLEARANCE_NO_MAX);
	c.clearance.clearance_no[CREDENTIAL_CLEARANCE_NO_MAX] = '\0';
	memset(c.clearance.passport_no, '9', CREDENTIAL_PASSPORT_NO_MAX);
	c.clearance.passport_no[CREDENTIAL_PASSPORT_NO_MAX] = '\0';
	memset(c.clearance.name, '~', CREDENTIAL_NAME_MAX);
	c.clearance.name[CREDENTIAL_NAME_MAX] = '\0';
	snprintf(c.clearance.employer, sizeof(c.clearance.employer), "%s", "আল ফাহাদ");
	snprintf(c.clearance.category, sizeof(c.clearance.category), "%s", "ABCD1234");
	c.clearance.birth_days = -25567; /* 1900-01-01 */
	c.clearance.sex = 'X';
	c.clearance.pdo_completed = false;
	memset(c.iss, 'z', CREDENTIAL_ISS_MAX);
	c.iss[CREDENTIAL_ISS_MAX] = '\0';
	c.issued_at = 0;
	c.not_before = 0;
	c.expires_at = 1;
	round_trip(&c);
	c.clearance.birth_days = 47846; /* 2100-12-31 */
	c.clearance.sex = 'M';
	c.issued_at = INT64_MAX - 1;
	c.not_before = INT64_MAX;
	c.expires_at = INT64_MAX;
	round_trip(&c);
}

static void test_encode_small_buffer(void **state)
{
	(void)state;
	struct credential c = sample_credential(true, true);
	uint8_t buf[1024];
	size_t need = 0;
	struct qd_errmsg why = {{0}};
	assert_int_equal(credential_encode(&c, buf, sizeof(buf), &need, &why), QD_OK);
	size_t len = 0;
	assert_int_equal(credential_encode(&c, buf, need - 1, &len, &why), QD_ERR_TOO_LARGE);
	assert_int_equal(len, need);
	assert_int_equal(credential_encode(&c, buf, need, &len, &why), QD_OK);
	assert_int_equal(len, need);
}

/* ---- dates ------------------------------------------------------------- */

static void test_date_parse(void **state)
{
	(void)state;
	int32_t d = 12345;
	assert_int_equal(credential_date_parse("1970-01-01", &d), QD_OK);
	assert_int_equal(d, 0);
	assert_int_equal(credential_date_parse("1969-12-31", &d), QD_OK);
	assert_int_equal(d, -1);
	assert_int_equal(credential_date_parse("1970-01-02", &d), QD_OK);
	assert_int_equal(d, 1);
	assert_int_equal(credential_date_parse("2000-02-29", &d), QD_OK);
	assert_int_equal(d, 11016);
	assert_int_equal(credential_date_parse("2000-03-01", &d), QD_OK);
	assert_int_equal(d, 11017);
	assert_int_equal(credential_date_parse("1994-03-12", &d), QD_OK);
	assert_int_equal(d, 8836);
	assert_int_equal(credential_date_parse("1900-01-01", &d), QD_OK);
	assert_int_equal(d, -25567);
	assert_int_equal(credential_date_parse("2100-12-31", &d), QD_OK);
	assert_int_equal(d, 47846);
	assert_int_equal(credential_date_parse("2024-02-29", &d), QD_OK);
	assert_int_equal(d, 19782);

	static const char *const bad[] = {
	        "1900-02-29", /* 1900 is not a leap year */
	        "2023-02-29",
	        "2023-02-30",
	        "2024-02-30",
	        "2024-04-31",
	        "2024-00-10",
	        "2024-13-01",
	        "2024-01-00",
	        "2024-01-32",
	        "1899-12-31",
	        "2101-01-01",
	        "2024-1-01",
	        "2024-01-1",
	        "2024-01-01x",
	        "",
	        "2024/01/01",
	        "20240101",
	        "24-01-01",
	        "2024-01-01 ",
	        " 2024-01-01",
	        "abcd-ef-gh",
	        "2024-0a-01",
	        "2024--1-01",
	        "2024-01--1",
	        /* sscanf's conversions accept signs and blanks: the shape must not. */
	        "2024-+1-01",
	        "2024- 1-01",
	        "2024-01-+1",
	        "2024-01- 1",
	        "+024-01-01",
	};
	char accepted[512] = "";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = 777;
		if (credential_date_parse(bad[i], &d) != QD_ERR_FORMAT) {
			size_t used = strlen(accepted);
			snprintf(accepted + used, sizeof(accepted) - used, " \"%s\"", bad[i]);
			continue;
		}
		assert_int_equal(d, 777); /* untouched on failure */
	}
	if (accepted[0] != '\0')
		fail_msg("credential_date_parse accepted malformed dates:%s", accepted);
}

static void test_date_format(void **state)
{
	(void)state;
	char out[11];
	credential_date_format(0, out);
	assert_string_equal(out, "1970-01-01");
	credential_date_format(-1, out);
	assert_string_equal(out, "1969-12-31");
	credential_date_format(11016, out);
	assert_string_equal(out, "2000-02-29");
	credential_date_format(-25567, out);
	assert_string_equal(out, "1900-01-01");
	credential_date_format(47846, out);
	assert_string_equal(out, "2100-12-31");
	credential_date_format(-25567 + 59, out);
	assert_string_equal(out, "1900-03-01"); /* no 1900-02-29 */

	/* Every day of the birth-date range parses back to itself. */
	int32_t prev = -25568;
	for (int32_t day = -25567; day <= 47846; day++) {
		credential_date_format(day, out);
		int32_t back = 0;
		if (credential_date_parse(out, &back) != QD_OK || back != day)
			fail_msg("day %d formats as %s, parses as %d", (int)day, out, (int)back);
		assert_true(back == prev + 1);
		prev = back;
	}
}

/* ---- malformed payloads ------------------------------------------------ */

enum val_kind { V_TEXT = 1, V_INT, V_BOOL, V_BYTES, V_NULL };
enum edit_op { E_NONE = 0, E_OMIT, E_SET, E_ADD };

/* One change to the standard payload: omit a key, set its value, or add an entry. */
struct edit {
	enum edit_op op;
	int64_t key;
	enum val_kind kind;
	const char *text;
	int64_t num;
};

static void put_value(struct cbor_writer *w, const struct edit *e)
{
	switch (e->kind) {
	case V_TEXT:
		cbor_put_cstr(w, e->text);
		break;
	case V_INT:
		cbor_put_int(w, e->num);
		break;
	case V_BOOL:
		cbor_put_bool(w, e->num != 0);
		break;
	case V_BYTES:
		cbor_put_bstr(w, (const uint8_t *)e->text, strlen(e->text));
		break;
	case V_NULL:
		cbor_put_null(w);
		break;
	}
}

static void put_default_field(struct cbor_writer *w, int64_t key)
{
	switch (key) {
	case CLEARANCE_KEY_CLEARANCE_NO:
		cbor_put_cstr(w, "BMET-2026/000123");
		break;
	case CLEARANCE_KEY_PASSPORT_NO:
		cbor_put_cstr(w, "A12345678");
		break;
	case CLEARANCE_KEY_NAME:
		cbor_put_cstr(w, "RAHIMA KHATUN");
		break;
	case CLEARANCE_KEY_BIRTH_DATE:
		cbor_put_int(w, 8836);
		break;
	case CLEARANCE_KEY_SEX:
		cbor_put_cstr(w, "F");
		break;
	case CLEARANCE_KEY_DESTINATION:
		cbor_put_cstr(w, "KW");
		break;
	case CLEARANCE_KEY_CATEGORY:
		cbor_put_cstr(w, "DW");
		break;
	case CLEARANCE_KEY_EMPLOYER:
		cbor_put_cstr(w, "AL FAHAD TRADING CO");
		break;
	case CLEARANCE_KEY_AGENCY_LICENCE:
		cbor_put_cstr(w, "RL-1234");
		break;
	case CLEARANCE_KEY_BMET_REG_NO:
		cbor_put_cstr(w, "BMET11223344");
		break;
	case CLEARANCE_KEY_PDO_COMPLETED:
		cbor_put_bool(w, true);
		break;
	default:
		fail_msg("no default for clearance key %lld", (long long)key);
	}
}

static void put_clearance(struct cbor_writer *w, const struct edit *e)
{
	size_t n = CLEARANCE_KEY_PDO_COMPLETED;
	if (e->op == E_OMIT)
		n--;
	if (e->op == E_ADD)
		n++;
	cbor_put_map(w, n);
	for (int64_t key = 1; key <= CLEARANCE_KEY_PDO_COMPLETED; key++) {
		if (e->key == key && e->op == E_OMIT)
			continue;
		cbor_put_int(w, key);
		if (e->key == key && e->op == E_SET)
			put_value(w, e);
		else
			put_default_field(w, key);
	}
	if (e->op == E_ADD) {
		cbor_put_int(w, e->key);
		put_value(w, e);
	}
}

static const int64_t base_claims[] = {CWT_CLAIM_ISS, CWT_CLAIM_EXP, CWT_CLAIM_IAT,
                                      CREDENTIAL_CLAIM_CLEARANCE};

/* The standard payload with at most one claim edit and one clearance-field edit. */
static size_t build_payload(uint8_t *buf, size_t cap, const struct edit *claim,
                            const struct edit *field, size_t trailing)
{
	static const struct edit none = {0};
	if (claim == NULL)
		claim = &none;
	if (field == NULL)
		field = &none;
	struct cbor_writer w;
	cbor_writer_init(&w, buf, cap);
	size_t n = sizeof(base_claims) / sizeof(base_claims[0]);
	if (claim->op == E_OMIT)
		n--;
	if (claim->op == E_ADD)
		n++;
	cbor_put_map(&w, n);
	for (size_t i = 0; i < sizeof(base_claims) / sizeof(base_claims[0]); i++) {
		int64_t key = base_claims[i];
		if (claim->key == key && claim->op == E_OMIT)
			continue;
		cbor_put_int(&w, key);
		if (claim->key == key && claim->op == E_SET) {
			put_value(&w, claim);
			continue;
		}
		switch (key) {
		case CWT_CLAIM_ISS:
			cbor_put_cstr(&w, "BD-BMET");
			break;
		case CWT_CLAIM_EXP:
			cbor_put_int(&w, EXP);
			break;
		case CWT_CLAIM_IAT:
			cbor_put_int(&w, IAT);
			break;
		default:
			put_clearance(&w, field);
			break;
		}
	}
	if (claim->op == E_ADD) {
		cbor_put_int(&w, claim->key);
		put_value(&w, claim);
	}
	for (size_t i = 0; i < trailing; i++)
		cbor_put_uint(&w, 0);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	return w.len;
}

static void test_builder_baseline(void **state)
{
	(void)state;
	uint8_t buf[512];
	size_t len = build_payload(buf, sizeof(buf), NULL, NULL, 0);
	struct credential out;
	struct credential_error err;
	assert_int_equal(credential_decode(buf, len, &out, &err), CREDENTIAL_OK);
	struct credential want = sample_credential(true, false);
	assert_credential_equal(&want, &out);

	/* The same bytes as the encoder's (same key order, same values). */
	uint8_t enc[512];
	size_t enc_len = 0;
	struct qd_errmsg why = {{0}};
	assert_int_equal(credential_encode(&want, enc, sizeof(enc), &enc_len, &why), QD_OK);
	assert_int_equal(enc_len, len);
	assert_memory_equal(enc, buf, len);

	/* No error struct: still decodes, and still rejects. */
	assert_int_equal(credential_decode(buf, len, &out, NULL), CREDENTIAL_OK);
	assert_int_equal(credential_decode(buf, len - 1, &out, NULL), CREDENTIAL_ERR_CBOR);
}

/*
 * Key order is not a rule: another issuer's CBOR library may keep insertion
 * order, and duplicates (not order) are what could make two readers see two
 * cards.  Both maps written in descending key order decode to the same card.
 */
static void test_any_key_order(void **state)
{
	(void)state;
	struct credential want = sample_credential(true, false);
	const struct clearance_claims *c = &want.clearance;
	uint8_t buf[512];
	struct cbor_writer w;
	cbor_writer_init(&w, buf, sizeof(buf));
	cbor_put_map(&w, 4);
	cbor_put_int(&w, CREDENTIAL_CLAIM_CLEARANCE);
	cbor_put_map(&w, 11);
	cbor_put_int(&w, CLEARANCE_KEY_PDO_COMPLETED);
	cbor_put_bool(&w, c->pdo_completed);
	cbor_put_int(&w, CLEARANCE_KEY_BMET_REG_NO);
	cbor_put_cstr(&w, c->bmet_reg_no);
	cbor_put_int(&w, CLEARANCE_KEY_AGENCY_LICENCE);
	cbor_put_cstr(&w, c->agency_licence);
	cbor_put_int(&w, CLEARANCE_KEY_EMPLOYER);
	cbor_put_cstr(&w, c->employer);
	cbor_put_int(&w, CLEARANCE_KEY_CATEGORY);
	cbor_put_cstr(&w, c->category);
	cbor_put_int(&w, CLEARANCE_KEY_DESTINATION);
	cbor_put_cstr(&w, c->destination);
	cbor_put_int(&w, CLEARANCE_KEY_SEX);
	cbor_put_tstr(&w, &c->sex, 1);
	cbor_put_int(&w, CLEARANCE_KEY_BIRTH_DATE);
	cbor_put_int(&w, c->birth_days);
	cbor_put_int(&w, CLEARANCE_KEY_NAME);
	cbor_put_cstr(&w, c->name);
	cbor_put_int(&w, CLEARANCE_KEY_PASSPORT_NO);
	cbor_put_cstr(&w, c->passport_no);
	cbor_put_int(&w, CLEARANCE_KEY_CLEARANCE_NO);
	cbor_put_cstr(&w, c->clearance_no);
	cbor_put_int(&w, CWT_CLAIM_IAT);
	cbor_put_int(&w, want.issued_at);
	cbor_put_int(&w, CWT_CLAIM_EXP);
	cbor_put_int(&w, want.expires_at);
	cbor_put_int(&w, CWT_CLAIM_ISS);
	cbor_put_cstr(&w, want.iss);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	struct credential out;
	struct credential_error err;
	assert_int_equal(credential_decode(buf, w.len, &out, &err), CREDENTIAL_OK);
	assert_credential_equal(&want, &out);
}

struct bad_case {
	const char *label;
	struct edit claim;
	struct edit field;
	size_t trailing;
	enum credential_status status;
	const char *field_name; /* NULL with CREDENTIAL_OK */
	enum cbor_status cbor;
};

#define STR33   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"
#define STR17   "ABCDEFGHIJKLMNOPQ"
#define BENGALI "আল ফাহাদ ট্রেডিং" /* UTF-8, Bengali script */

/* One edit to the claims map (CL) or to the clearance map (FL), the other edit none. */
/* clang-format off */
#define CL(op, key, kind, text, num) {op, key, kind, text, num}, {0}
#define FL(op, key, kind, text, num) {0}, {op, key, kind, text, num}
#define NO_EDIT {0}, {0}

static const struct bad_case bad_cases[] = {
	/* Each required clearance field missing in turn. */
	{"missing clearance_no", FL(E_OMIT, CLEARANCE_KEY_CLEARANCE_NO, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "clearance_no", CBOR_OK},
	{"missing passport_no", FL(E_OMIT, CLEARANCE_KEY_PASSPORT_NO, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "passport_no", CBOR_OK},
	{"missing name", FL(E_OMIT, CLEARANCE_KEY_NAME, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "name", CBOR_OK},
	{"missing birth_date", FL(E_OMIT, CLEARANCE_KEY_BIRTH_DATE, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "birth_date", CBOR_OK},
	{"missing sex", FL(E_OMIT, CLEARANCE_KEY_SEX, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "sex", CBOR_OK},
	{"missing destination", FL(E_OMIT, CLEARANCE_KEY_DESTINATION, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "destination", CBOR_OK},
	{"missing category", FL(E_OMIT, CLEARANCE_KEY_CATEGORY, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "category", CBOR_OK},
	{"missing employer", FL(E_OMIT, CLEARANCE_KEY_EMPLOYER, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "employer", CBOR_OK},
	{"missing agency_licence", FL(E_OMIT, CLEARANCE_KEY_AGENCY_LICENCE, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "agency_licence", CBOR_OK},
	{"missing bmet_reg_no", FL(E_OMIT, CLEARANCE_KEY_BMET_REG_NO, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "bmet_reg_no", CBOR_OK},
	{"missing pdo_completed", FL(E_OMIT, CLEARANCE_KEY_PDO_COMPLETED, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "pdo_completed", CBOR_OK},
	/* Missing claims. */
	{"missing iat", CL(E_OMIT, CWT_CLAIM_IAT, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "issued_at", CBOR_OK},
	{"missing exp", CL(E_OMIT, CWT_CLAIM_EXP, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "expires_at", CBOR_OK},
	{"missing clearance", CL(E_OMIT, CREDENTIAL_CLAIM_CLEARANCE, 0, NULL, 0), 0, CREDENTIAL_ERR_MISSING, "clearance", CBOR_OK},
	/* Wrong types. */
	{"clearance_no as int", FL(E_SET, CLEARANCE_KEY_CLEARANCE_NO, V_INT, NULL, 123), 0, CREDENTIAL_ERR_TYPE, "clearance_no", CBOR_ERR_TYPE},
	{"pdo_completed as int", FL(E_SET, CLEARANCE_KEY_PDO_COMPLETED, V_INT, NULL, 1), 0, CREDENTIAL_ERR_TYPE, "pdo_completed", CBOR_ERR_TYPE},
	{"birth_date as text", FL(E_SET, CLEARANCE_KEY_BIRTH_DATE, V_TEXT, "1994-03-12", 0), 0, CREDENTIAL_ERR_TYPE, "birth_date", CBOR_ERR_TYPE},
	{"name as bytes", FL(E_SET, CLEARANCE_KEY_NAME, V_BYTES, "RAHIMA", 0), 0, CREDENTIAL_ERR_TYPE, "name", CBOR_ERR_TYPE},
	{"sex as null", FL(E_SET, CLEARANCE_KEY_SEX, V_NULL, NULL, 0), 0, CREDENTIAL_ERR_TYPE, "sex", CBOR_ERR_TYPE},
	{"iat as text", CL(E_SET, CWT_CLAIM_IAT, V_TEXT, "1795000000", 0), 0, CREDENTIAL_ERR_TYPE, "issued_at", CBOR_ERR_TYPE},
	{"exp as bool", CL(E_SET, CWT_CLAIM_EXP, V_BOOL, NULL, 1), 0, CREDENTIAL_ERR_TYPE, "expires_at", CBOR_ERR_TYPE},
	{"iss as int", CL(E_SET, CWT_CLAIM_ISS, V_INT, NULL, 7), 0, CREDENTIAL_ERR_TYPE, "iss", CBOR_ERR_TYPE},
	{"clearance as int", CL(E_SET, CREDENTIAL_CLAIM_CLEARANCE, V_INT, NULL, 1), 0, CREDENTIAL_ERR_TYPE, "clearance", CBOR_ERR_TYPE},
	/* Bad values. */
	{"destination lowercase", FL(E_SET, CLEARANCE_KEY_DESTINATION, V_TEXT, "kw", 0), 0, CREDENTIAL_ERR_VALUE, "destination", CBOR_OK},
	{"destination K1", FL(E_SET, CLEARANCE_KEY_DESTINATION, V_TEXT, "K1", 0), 0, CREDENTIAL_ERR_VALUE, "destination", CBOR_OK},
	{"destination 1K", FL(E_SET, CLEARANCE_KEY_DESTINATION, V_TEXT, "1K", 0), 0, CREDENTIAL_ERR_VALUE, "destination", CBOR_OK},
	{"destination KWT", FL(E_SET, CLEARANCE_KEY_DESTINATION, V_TEXT, "KWT", 0), 0, CREDENTIAL_ERR_VALUE, "destination", CBOR_OK},
	{"sex Q", FL(E_SET, CLEARANCE_KEY_SEX, V_TEXT, "Q", 0), 0, CREDENTIAL_ERR_VALUE, "sex", CBOR_OK},
	{"sex lowercase", FL(E_SET, CLEARANCE_KEY_SEX, V_TEXT, "f", 0), 0, CREDENTIAL_ERR_VALUE, "sex", CBOR_OK},
	{"sex two letters", FL(E_SET, CLEARANCE_KEY_SEX, V_TEXT, "FM", 0), 0, CREDENTIAL_ERR_VALUE, "sex", CBOR_OK},
	{"passport lowercase", FL(E_SET, CLEARANCE_KEY_PASSPORT_NO, V_TEXT, "a12345678", 0), 0, CREDENTIAL_ERR_VALUE, "passport_no", CBOR_OK},
	{"passport 4 chars", FL(E_SET, CLEARANCE_KEY_PASSPORT_NO, V_TEXT, "A123", 0), 0, CREDENTIAL_ERR_VALUE, "passport_no", CBOR_OK},
	{"passport 17 chars", FL(E_SET, CLEARANCE_KEY_PASSPORT_NO, V_TEXT, STR17, 0), 0, CREDENTIAL_ERR_VALUE, "passport_no", CBOR_OK},
	{"clearance_no 33 chars", FL(E_SET, CLEARANCE_KEY_CLEARANCE_NO, V_TEXT, STR33, 0), 0, CREDENTIAL_ERR_VALUE, "clearance_no", CBOR_OK},
	{"clearance_no empty", FL(E_SET, CLEARANCE_KEY_CLEARANCE_NO, V_TEXT, "", 0), 0, CREDENTIAL_ERR_VALUE, "clearance_no", CBOR_OK},
	{"clearance_no lowercase", FL(E_SET, CLEARANCE_KEY_CLEARANCE_NO, V_TEXT, "bmet-1", 0), 0, CREDENTIAL_ERR_VALUE, "clearance_no", CBOR_OK},
	{"name with BEL", FL(E_SET, CLEARANCE_KEY_NAME, V_TEXT, "RAHIMA\x07KHATUN", 0), 0, CREDENTIAL_ERR_VALUE, "name", CBOR_OK},
	{"name not Latin", FL(E_SET, CLEARANCE_KEY_NAME, V_TEXT, BENGALI, 0), 0, CREDENTIAL_ERR_VALUE, "name", CBOR_OK},
	{"name 65 chars", FL(E_SET, CLEARANCE_KEY_NAME, V_TEXT, STR33 STR33, 0), 0, CREDENTIAL_ERR_VALUE, "name", CBOR_OK},
	{"employer with newline", FL(E_SET, CLEARANCE_KEY_EMPLOYER, V_TEXT, "AL FAHAD\nTRADING", 0), 0, CREDENTIAL_ERR_VALUE, "employer", CBOR_OK},
	{"employer with DEL", FL(E_SET, CLEARANCE_KEY_EMPLOYER, V_TEXT, "AL\x7f", 0), 0, CREDENTIAL_ERR_VALUE, "employer", CBOR_OK},
	{"category lowercase", FL(E_SET, CLEARANCE_KEY_CATEGORY, V_TEXT, "dw", 0), 0, CREDENTIAL_ERR_VALUE, "category", CBOR_OK},
	{"category 9 chars", FL(E_SET, CLEARANCE_KEY_CATEGORY, V_TEXT, "ABCDEFGHI", 0), 0, CREDENTIAL_ERR_VALUE, "category", CBOR_OK},
	{"agency_licence empty", FL(E_SET, CLEARANCE_KEY_AGENCY_LICENCE, V_TEXT, "", 0), 0, CREDENTIAL_ERR_VALUE, "agency_licence", CBOR_OK},
	{"bmet_reg_no with space", FL(E_SET, CLEARANCE_KEY_BMET_REG_NO, V_TEXT, "BMET 1", 0), 0, CREDENTIAL_ERR_VALUE, "bmet_reg_no", CBOR_OK},
	{"birth_date before 1900", FL(E_SET, CLEARANCE_KEY_BIRTH_DATE, V_INT, NULL, -25568), 0, CREDENTIAL_ERR_VALUE, "birth_date", CBOR_OK},
	{"birth_date after 2100", FL(E_SET, CLEARANCE_KEY_BIRTH_DATE, V_INT, NULL, 47847), 0, CREDENTIAL_ERR_VALUE, "birth_date", CBOR_OK},
	{"iss 17 chars", CL(E_SET, CWT_CLAIM_ISS, V_TEXT, STR17, 0), 0, CREDENTIAL_ERR_VALUE, "iss", CBOR_OK},
	{"iss empty", CL(E_SET, CWT_CLAIM_ISS, V_TEXT, "", 0), 0, CREDENTIAL_ERR_VALUE, "iss", CBOR_OK},
	{"exp equal to iat", CL(E_SET, CWT_CLAIM_EXP, V_INT, NULL, IAT), 0, CREDENTIAL_ERR_VALUE, "expires_at", CBOR_OK},
	{"exp before iat", CL(E_SET, CWT_CLAIM_EXP, V_INT, NULL, IAT - 1), 0, CREDENTIAL_ERR_VALUE, "expires_at", CBOR_OK},
	{"negative iat", CL(E_SET, CWT_CLAIM_IAT, V_INT, NULL, -1), 0, CREDENTIAL_ERR_VALUE, "issued_at", CBOR_OK},
	{"negative exp", CL(E_SET, CWT_CLAIM_EXP, V_INT, NULL, -5), 0, CREDENTIAL_ERR_VALUE, "expires_at", CBOR_OK},
	{"negative nbf", CL(E_ADD, CWT_CLAIM_NBF, V_INT, NULL, -1), 0, CREDENTIAL_ERR_VALUE, "not_before", CBOR_OK},
	/* Structure. */
	{"duplicate iat", CL(E_ADD, CWT_CLAIM_IAT, V_INT, NULL, IAT), 0, CREDENTIAL_ERR_CBOR, "claims", CBOR_ERR_DUPLICATE_KEY},
	{"duplicate iss", CL(E_ADD, CWT_CLAIM_ISS, V_TEXT, "BD-BMET", 0), 0, CREDENTIAL_ERR_CBOR, "claims", CBOR_ERR_DUPLICATE_KEY},
	{"duplicate name", FL(E_ADD, CLEARANCE_KEY_NAME, V_TEXT, "OTHER NAME", 0), 0, CREDENTIAL_ERR_CBOR, "clearance", CBOR_ERR_DUPLICATE_KEY},
	{"duplicate pdo_completed", FL(E_ADD, CLEARANCE_KEY_PDO_COMPLETED, V_BOOL, NULL, 0), 0, CREDENTIAL_ERR_CBOR, "clearance", CBOR_ERR_DUPLICATE_KEY},
	{"trailing bytes", NO_EDIT, 1, CREDENTIAL_ERR_CBOR, "claims", CBOR_ERR_TRAILING},
	/* Accepted. */
	{"unknown claim skipped", CL(E_ADD, 99, V_TEXT, "from a newer format", 0), 0, CREDENTIAL_OK, NULL, CBOR_OK},
	{"unknown negative claim skipped", CL(E_ADD, -70000, V_BYTES, "xyz", 0), 0, CREDENTIAL_OK, NULL, CBOR_OK},
	{"unknown clearance key skipped", FL(E_ADD, 12, V_INT, NULL, 42), 0, CREDENTIAL_OK, NULL, CBOR_OK},
	{"clearance key 0 skipped", FL(E_ADD, 0, V_NULL, NULL, 0), 0, CREDENTIAL_OK, NULL, CBOR_OK},
	{"employer in Bengali", FL(E_SET, CLEARANCE_KEY_EMPLOYER, V_TEXT, BENGALI, 0), 0, CREDENTIAL_OK, NULL, CBOR_OK},
	{"nbf present", CL(E_ADD, CWT_CLAIM_NBF, V_INT, NULL, IAT + 5), 0, CREDENTIAL_OK, NULL, CBOR_OK},
	{"no edit", NO_EDIT, 0, CREDENTIAL_OK, NULL, CBOR_OK},
};
/* clang-format on */

static void test_malformed_table(void **state)
{
	(void)state;
	size_t n = sizeof(bad_cases) / sizeof(bad_cases[0]);
	size_t missing = 0;
	for (size_t i = 0; i < n; i++) {
		const struct bad_case *c = &bad_cases[i];
		uint8_t buf[1024];
		size_t len = build_payload(buf, sizeof(buf), &c->claim, &c->field, c->trailing);
		struct credential out;
		struct credential_error err;
		memset(&err, 0x5a, sizeof(err));
		enum credential_status st = credential_decode(buf, len, &out, &err);
		if (st != c->status || err.status != c->status)
			fail_msg("%s: status %d (err.status %d), want %d", c->label, (int)st,
			         (int)err.status, (int)c->status);
		if (c->field_name == NULL) {
			if (err.field != NULL)
				fail_msg("%s: field %s on success", c->label, err.field);
		} else if (err.field == NULL || strcmp(err.field, c->field_name) != 0) {
			fail_msg("%s: field %s, want %s", c->label,
			         err.field != NULL ? err.field : "(null)", c->field_name);
		}
		if (err.cbor != c->cbor)
			fail_msg("%s: cbor %s, want %s", c->label, cbor_status_name(err.cbor),
			         cbor_status_name(c->cbor));
		if (c->status == CREDENTIAL_ERR_MISSING && c->field.op == E_OMIT)
			missing++;
	}
	assert_int_equal(missing, 11);
}

static void test_accepted_values(void **state)
{
	(void)state;
	uint8_t buf[1024];
	struct credential out;
	struct credential_error err;

	struct edit e = {E_SET, CLEARANCE_KEY_EMPLOYER, V_TEXT, BENGALI, 0};
	size_t len = build_payload(buf, sizeof(buf), NULL, &e, 0);
	assert_int_equal(credential_decode(buf, len, &out, &err), CREDENTIAL_OK);
	assert_string_equal(out.clearance.employer, BENGALI);

	struct edit nbf = {E_ADD, CWT_CLAIM_NBF, V_INT, NULL, IAT + 5};
	len = build_payload(buf, sizeof(buf), &nbf, NULL, 0);
	assert_int_equal(credential_decode(buf, len, &out, &err), CREDENTIAL_OK);
	assert_true(out.has_nbf);
	assert_int_equal(out.not_before, IAT + 5);

	struct edit unknown = {E_ADD, 99, V_TEXT, "ignored", 0};
	len = build_payload(buf, sizeof(buf), &unknown, NULL, 0);
	assert_int_equal(credential_decode(buf, len, &out, &err), CREDENTIAL_OK);
	struct credential want = sample_credential(true, false);
	assert_credential_equal(&want, &out);

	struct edit iss_gone = {E_OMIT, CWT_CLAIM_ISS, 0, NULL, 0};
	len = build_payload(buf, sizeof(buf), &iss_gone, NULL, 0);
	assert_int_equal(credential_decode(buf, len, &out, &err), CREDENTIAL_OK);
	assert_string_equal(out.iss, "");

	struct edit pdo = {E_SET, CLEARANCE_KEY_PDO_COMPLETED, V_BOOL, NULL, 0};
	len = build_payload(buf, sizeof(buf), NULL, &pdo, 0);
	assert_int_equal(credential_decode(buf, len, &out, &err), CREDENTIAL_OK);
	assert_false(out.clearance.pdo_completed);

	struct edit id = {E_SET, CLEARANCE_KEY_CLEARANCE_NO, V_TEXT,
	                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234/", 0}; /* 32 chars, with '/' */
	len = build_payload(buf, sizeof(buf), NULL, &id, 0);
	assert_int_equal(credential_decode(buf, len, &out, &err), CREDENTIAL_OK);
	assert_string_equal(out.clearance.clearance_no, id.text);
}

static void test_other_malformed(void **state)
{
	(void)state;
	struct credential out;
	struct credential_error err;

	/* Not a map. */
	static const uint8_t array[] = {0x80};
	assert_int_equal(credential_decode(array, sizeof(array), &out, &err), CREDENTIAL_ERR_TYPE);
	assert_string_equal(err.field, "claims");
	/* Empty input. */
	assert_int_equal(credential_decode(array, 0, &out, &err), CREDENTIAL_ERR_CBOR);
	assert_int_equal(err.cbor, CBOR_ERR_TRUNCATED);
	/* A text key in the claims map. */
	static const uint8_t text_key[] = {0xa1, 0x61, 'a', 0x01};
	assert_int_equal(credential_decode(text_key, sizeof(text_key), &out, &err),
	                 CREDENTIAL_ERR_TYPE);
	assert_string_equal(err.field, "claims");
	/* Indefinite-length map. */
	static const uint8_t indef[] = {0xbf, 0xff};
	assert_int_equal(credential_decode(indef, sizeof(indef), &out, &err), CREDENTIAL_ERR_CBOR);
	assert_int_equal(err.cbor, CBOR_ERR_INDEFINITE);
	/* iat beyond int64. */
	static const uint8_t huge_iat[] = {0xa1, 0x06, 0x1b, 0xff, 0xff, 0xff,
	                                   0xff, 0xff, 0xff, 0xff, 0xff};
	assert_int_equal(credential_decode(huge_iat, sizeof(huge_iat), &out, &err),
	                 CREDENTIAL_ERR_VALUE);
	assert_string_equal(err.field, "issued_at");
	/* Non-minimal iat head (6 as a one-byte argument). */
	static const uint8_t nonmin[] = {0xa1, 0x18, 0x06, 0x00};
	assert_int_equal(credential_decode(nonmin, sizeof(nonmin), &out, &err),
	                 CREDENTIAL_ERR_CBOR);
	assert_int_equal(err.cbor, CBOR_ERR_NON_MINIMAL);

	/* Every truncation of a valid payload is refused. */
	uint8_t buf[512];
	size_t len = build_payload(buf, sizeof(buf), NULL, NULL, 0);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut > 0 ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, buf, cut);
		enum credential_status st = credential_decode(copy, cut, &out, &err);
		free(copy);
		if (st == CREDENTIAL_OK)
			fail_msg("truncation to %zu bytes accepted", cut);
		assert_non_null(err.field);
	}
}

/* ---- validate ---------------------------------------------------------- */

static void expect_invalid(const struct credential *c, const char *field)
{
	struct qd_errmsg why = {{0}};
	enum qd_err rc = credential_validate(c, &why);
	if (rc != QD_ERR_FORMAT)
		fail_msg("validate with a bad %s: %s", field, qd_err_name(rc));
	if (strstr(why.text, field) == NULL)
		fail_msg("validate message for %s does not name it: \"%s\"", field, why.text);
	/* The encoder validates the same way. */
	uint8_t buf[1024];
	size_t len = 0;
	struct qd_errmsg why2 = {{0}};
	assert_int_equal(credential_encode(c, buf, sizeof(buf), &len, &why2), QD_ERR_FORMAT);
	assert_string_equal(why2.text, why.text);
}

static void test_validate_messages(void **state)
{
	(void)state;
	struct qd_errmsg why = {{0}};
	struct credential good = sample_credential(true, true);
	assert_int_equal(credential_validate(&good, &why), QD_OK);
	assert_int_equal(credential_validate(&good, NULL), QD_OK);

	struct credential c = good;
	snprintf(c.clearance.clearance_no, sizeof(c.clearance.clearance_no), "%s", "bad no");
	expect_invalid(&c, "clearance_no");
	c = good;
	c.clearance.clearance_no[0] = '\0';
	expect_invalid(&c, "clearance_no");
	c = good;
	snprintf(c.clearance.passport_no, sizeof(c.clearance.passport_no), "%s", "A123");
	expect_invalid(&c, "passport_no");
	c = good;
	snprintf(c.clearance.name, sizeof(c.clearance.name), "%s", "RAHIMA\x07");
	expect_invalid(&c, "name");
	c = good;
	snprintf(c.clearance.destination, sizeof(c.clearance.destination), "%s", "kw");
	expect_invalid(&c, "destination");
	c = good;
	snprintf(c.clearance.destination, sizeof(c.clearance.destination), "%s", "K1");
	expect_invalid(&c, "destination");
	c = good;
	snprintf(c.clearance.destination, sizeof(c.clearance.destination), "%s", "K");
	expect_invalid(&c, "destination");
	c = good;
	c.clearance.category[0] = '\0';
	expect_invalid(&c, "category");
	c = good;
	snprintf(c.clearance.employer, sizeof(c.clearance.employer), "%s", "TAB\tHERE");
	expect_invalid(&c, "employer");
	c = good;
	c.clearance.agency_licence[0] = '\0';
	expect_invalid(&c, "agency_licence");
	c = good;
	snprintf(c.clearance.bmet_reg_no, sizeof(c.clearance.bmet_reg_no), "%s", "bmet");
	expect_invalid(&c, "bmet_reg_no");
	c = good;
	snprintf(c.iss, sizeof(c.iss), "%s", "I\x01");
	expect_invalid(&c, "iss");
	c = good;
	c.clearance.sex = 'Q';
	expect_invalid(&c, "sex");
	c = good;
	c.clearance.sex = '\0';
	expect_invalid(&c, "sex");
	c = good;
	c.clearance.birth_days = 47847;
	expect_invalid(&c, "birth_date");
	c = good;
	c.clearance.birth_days = -25568;
	expect_invalid(&c, "birth_date");
	c = good;
	c.expires_at = c.issued_at;
	expect_invalid(&c, "expires_at");
	c = good;
	c.issued_at = -1;
	expect_invalid(&c, "issued_at");

	/* not_before is not checked when absent. */
	c = good;
	c.has_nbf = false;
	c.not_before = -1;
	assert_int_equal(credential_validate(&c, &why), QD_OK);

	/* A negative not_before is refused, and the message must say which field. */
	c = good;
	c.not_before = -1;
	expect_invalid(&c, "not_before");
}

/* ---- hash and names ---------------------------------------------------- */

static void test_clearance_hash(void **state)
{
	(void)state;
	static const char *const numbers[] = {"BMET-2026/000123", "A", "", STR33};
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		uint8_t digest[DIGEST_SHA256_LEN];
		digest_sha256(numbers[i], strlen(numbers[i]), digest);
		uint8_t hash[TRUST_HASH_LEN + 4];
		memset(hash, 0xee, sizeof(hash));
		credential_clearance_hash(numbers[i], hash);
		assert_memory_equal(hash, digest, TRUST_HASH_LEN);
		for (size_t j = TRUST_HASH_LEN; j < sizeof(hash); j++)
			assert_int_equal(hash[j], 0xee); /* writes exactly 16 bytes */
	}
	/* A known answer: SHA-256("abc") begins ba7816bf 8f01cfea 414140de 5dae2223. */
	static const uint8_t abc[TRUST_HASH_LEN] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
	                                            0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23};
	uint8_t hash[TRUST_HASH_LEN];
	credential_clearance_hash("abc", hash);
	assert_memory_equal(hash, abc, sizeof(abc));
	uint8_t other[TRUST_HASH_LEN];
	credential_clearance_hash("abd", other);
	assert_memory_not_equal(hash, other, sizeof(hash));
}

/* RFC 4231 test case 2, then the pseudonym: keyed, labelled, 16 bytes. */
static void test_pseudonym(void **state)
{
	(void)state;
	static const uint8_t jefe[DIGEST_SHA256_LEN] = {
	        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
	        0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
	        0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
	uint8_t mac[DIGEST_SHA256_LEN];
	digest_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	assert_memory_equal(mac, jefe, sizeof(jefe));

	uint8_t key[CREDENTIAL_AUDIT_KEY_LEN] = {1, 2, 3};
	static const char msg[] = "qrdesk-audit-v1:2611000001";
	digest_hmac_sha256(key, sizeof(key), msg, strlen(msg), mac);
	uint8_t p[TRUST_HASH_LEN + 4], bare[TRUST_HASH_LEN];
	memset(p, 0xee, sizeof(p));
	credential_pseudonym(key, "2611000001", p);
	assert_memory_equal(p, mac, TRUST_HASH_LEN);
	for (size_t j = TRUST_HASH_LEN; j < sizeof(p); j++)
		assert_int_equal(p[j], 0xee);
	credential_clearance_hash("2611000001", bare);
	assert_memory_not_equal(p, bare, TRUST_HASH_LEN);
}

static void test_category_names(void **state)
{
	(void)state;
	assert_string_equal(credential_category_name_en("DW"), "Domestic worker");
	assert_string_equal(credential_category_name_bn("DW"), "গৃহকর্মী");
	assert_string_equal(credential_category_name_en("NU"), "Nurse");
	assert_string_equal(credential_category_name_en("DR"), "Driver");
	static const char *const codes[] = {"DW", "GW", "SK", "SS", "PR", "DR", "CW", "NU"};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_non_null(credential_category_name_en(codes[i]));
		assert_non_null(credential_category_name_bn(codes[i]));
		assert_true(strlen(credential_category_name_en(codes[i])) > 0);
		assert_string_not_equal(credential_category_name_en(codes[i]),
		                        credential_category_name_bn(codes[i]));
	}
	assert_null(credential_category_name_en("XX"));
	assert_null(credential_category_name_bn("XX"));
	assert_null(credential_category_name_en("dw"));
	assert_null(credential_category_name_en(""));
	assert_null(credential_category_name_en("DWX"));
	assert_null(credential_category_name_bn("D"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip_full),
	        cmocka_unit_test(test_round_trip_without_iss_and_nbf),
	        cmocka_unit_test(test_round_trip_variants),
	        cmocka_unit_test(test_encode_small_buffer),
	        cmocka_unit_test(test_date_parse),
	        cmocka_unit_test(test_date_format),
	        cmocka_unit_test(test_builder_baseline),
	        cmocka_unit_test(test_any_key_order),
	        cmocka_unit_test(test_malformed_table),
	        cmocka_unit_test(test_accepted_values),
	        cmocka_unit_test(test_other_malformed),
	        cmocka_unit_test(test_validate_messages),
	        cmocka_unit_test(test_clearance_hash),
	        cmocka_unit_test(test_pseudonym),
	        cmocka_unit_test(test_category_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
