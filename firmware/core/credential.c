/* SPDX-License-Identifier: Apache-2.0 */
/*
 * credential.c - the clearance card's CWT payload: decode with validation,
 * encode for the issuer, and the clearance-number hash the revocation list
 * uses.  Every field is checked for type, length and alphabet: a card is
 * hostile until verified and the kiosk shows these strings to an officer.
 */
#include "qrdesk/credential.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/digest.h"

enum alphabet {
	ALPHA_ID,        /* A-Z 0-9 - / : clearance and registration numbers */
	ALPHA_UPPER_NUM, /* A-Z 0-9: passport numbers, category codes */
	ALPHA_PRINTABLE, /* printable ASCII: Latin-script names, licences */
	ALPHA_UTF8_TEXT, /* any UTF-8 (already validated) without control characters */
};

static bool char_allowed(enum alphabet a, unsigned char c)
{
	bool upper_num = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
	switch (a) {
	case ALPHA_ID:
		return upper_num || c == '-' || c == '/';
	case ALPHA_UPPER_NUM:
		return upper_num;
	case ALPHA_PRINTABLE:
		return c >= 0x20 && c < 0x7f;
	case ALPHA_UTF8_TEXT:
		return c >= 0x20 && c != 0x7f;
	}
	return false;
}

static bool text_valid(enum alphabet a, const char *s, size_t len, size_t min, size_t max)
{
	if (len < min || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!char_allowed(a, (unsigned char)s[i]))
			return false;
	return true;
}

struct decode_ctx {
	struct cbor_reader r;
	struct credential_error *err;
};

static enum credential_status fail(struct decode_ctx *d, enum credential_status st,
                                   const char *field, enum cbor_status cst)
{
	d->err->status = st;
	d->err->field = field;
	d->err->cbor = cst;
	return st;
}

/* A CBOR failure while reading field: wrong type is a type error, others are CBOR errors. */
static enum credential_status fail_cbor(struct decode_ctx *d, const char *field,
                                        enum cbor_status cst)
{
	if (cst == CBOR_ERR_TYPE)
		return fail(d, CREDENTIAL_ERR_TYPE, field, cst);
	if (cst == CBOR_ERR_RANGE)
		return fail(d, CREDENTIAL_ERR_VALUE, field, cst);
	return fail(d, CREDENTIAL_ERR_CBOR, field, cst);
}

static enum credential_status read_text(struct decode_ctx *d, const char *field, enum alphabet a,
                                        size_t min, size_t max, char *out)
{
	const char *s;
	size_t len;
	enum cbor_status cst = cbor_read_tstr(&d->r, &s, &len);
	if (cst != CBOR_OK)
		return fail_cbor(d, field, cst);
	if (!text_valid(a, s, len, min, max))
		return fail(d, CREDENTIAL_ERR_VALUE, field, CBOR_OK);
	memcpy(out, s, len);
	out[len] = '\0';
	return CREDENTIAL_OK;
}

/* NumericDate: a non-negative integer number of seconds that fits int64. */
static enum credential_status read_time(struct decode_ctx *d, const char *field, int64_t *out)
{
	enum cbor_status cst = cbor_read_int(&d->r, out);
	if (cst != CBOR_OK)
		return fail_cbor(d, field, cst);
	if (*out < 0)
		return fail(d, CREDENTIAL_ERR_VALUE, field, CBOR_OK);
	return CREDENTIAL_OK;
}

static enum credential_status read_key(struct decode_ctx *d, struct cbor_int_keys *seen,
                                       const char *where, int64_t *key)
{
	enum cbor_status cst = cbor_read_int(&d->r, key);
	if (cst != CBOR_OK)
		return fail_cbor(d, where, cst);
	cst = cbor_int_keys_add(seen, *key);
	if (cst == CBOR_ERR_TOO_MANY)
		return fail(d, CREDENTIAL_ERR_VALUE, where, cst);
	if (cst != CBOR_OK)
		return fail(d, CREDENTIAL_ERR_CBOR, where, cst);
	return CREDENTIAL_OK;
}

static const char *const clearance_field[] = {
        [CLEARANCE_KEY_CLEARANCE_NO] = "clearance_no",
        [CLEARANCE_KEY_PASSPORT_NO] = "passport_no",
        [CLEARANCE_KEY_NAME] = "name",
        [CLEARANCE_KEY_BIRTH_DATE] = "birth_date",
        [CLEARANCE_KEY_SEX] = "sex",
        [CLEARANCE_KEY_DESTINATION] = "destination",
        [CLEARANCE_KEY_CATEGORY] = "category",
        [CLEARANCE_KEY_EMPLOYER] = "employer",
        [CLEARANCE_KEY_AGENCY_LICENCE] = "agency_licence",
        [CLEARANCE_KEY_BMET_REG_NO] = "bmet_reg_no",
        [CLEARANCE_KEY_PDO_COMPLETED] = "pdo_completed",
};
#define CLEARANCE_KEY_LAST CLEARANCE_KEY_PDO_COMPLETED

static enum credential_status read_clearance_field(struct decode_ctx *d, int64_t key,
                                                   struct clearance_claims *c)
{
	const char *f = clearance_field[key];
	switch ((enum clearance_key)key) {
	case CLEARANCE_KEY_CLEARANCE_NO:
		return read_text(d, f, ALPHA_ID, 1, CREDENTIAL_CLEARANCE_NO_MAX, c->clearance_no);
	case CLEARANCE_KEY_PASSPORT_NO:
		return read_text(d, f, ALPHA_UPPER_NUM, 5, CREDENTIAL_PASSPORT_NO_MAX,
		                 c->passport_no);
	case CLEARANCE_KEY_NAME:
		return read_text(d, f, ALPHA_PRINTABLE, 1, CREDENTIAL_NAME_MAX, c->name);
	case CLEARANCE_KEY_BIRTH_DATE: {
		int64_t days;
		enum cbor_status cst = cbor_read_int(&d->r, &days);
		if (cst != CBOR_OK)
			return fail_cbor(d, f, cst);
		if (days < CREDENTIAL_DATE_MIN || days > CREDENTIAL_DATE_MAX)
			return fail(d, CREDENTIAL_ERR_VALUE, f, CBOR_OK);
		c->birth_days = (int32_t)days;
		return CREDENTIAL_OK;
	}
	case CLEARANCE_KEY_SEX: {
		char sex[2];
		enum credential_status st = read_text(d, f, ALPHA_UPPER_NUM, 1, 1, sex);
		if (st != CREDENTIAL_OK)
			return st;
		if (sex[0] != 'M' && sex[0] != 'F' && sex[0] != 'X')
			return fail(d, CREDENTIAL_ERR_VALUE, f, CBOR_OK);
		c->sex = sex[0];
		return CREDENTIAL_OK;
	}
	case CLEARANCE_KEY_DESTINATION: {
		enum credential_status st = read_text(d, f, ALPHA_UPPER_NUM, 2, 2, c->destination);
		if (st == CREDENTIAL_OK && (c->destination[0] < 'A' || c->destination[1] < 'A'))
			return fail(d, CREDENTIAL_ERR_VALUE, f, CBOR_OK);
		return st;
	}
	case CLEARANCE_KEY_CATEGORY:
		return read_text(d, f, ALPHA_UPPER_NUM, 1, CREDENTIAL_CATEGORY_MAX, c->category);
	case CLEARANCE_KEY_EMPLOYER:
		return read_text(d, f, ALPHA_UTF8_TEXT, 1, CREDENTIAL_EMPLOYER_MAX, c->employer);
	case CLEARANCE_KEY_AGENCY_LICENCE:
		return read_text(d, f, ALPHA_PRINTABLE, 1, CREDENTIAL_AGENCY_LICENCE_MAX,
		                 c->agency_licence);
	case CLEARANCE_KEY_BMET_REG_NO:
		return read_text(d, f, ALPHA_ID, 1, CREDENTIAL_BMET_REG_NO_MAX, c->bmet_reg_no);
	case CLEARANCE_KEY_PDO_COMPLETED: {
		enum cbor_status cst = cbor_read_bool(&d->r, &c->pdo_completed);
		return cst == CBOR_OK ? CREDENTIAL_OK : fail_cbor(d, f, cst);
	}
	}
	return fail(d, CREDENTIAL_ERR_VALUE, "clearance", CBOR_OK);
}

static enum credential_status read_clearance(struct decode_ctx *d, struct clearance_claims *c)
{
	size_t count;
	enum cbor_status cst = cbor_read_map(&d->r, &count);
	if (cst != CBOR_OK)
		return fail_cbor(d, "clearance", cst);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	uint32_t have = 0;
	for (size_t i = 0; i < count; i++) {
		int64_t key;
		enum credential_status st = read_key(d, &seen, "clearance", &key);
		if (st != CREDENTIAL_OK)
			return st;
		if (key >= 1 && key <= CLEARANCE_KEY_LAST) {
			st = read_clearance_field(d, key, c);
			if (st != CREDENTIAL_OK)
				return st;
			have |= 1u << key;
		} else {
			/* A claim from a newer format version: checked, then passed over. */
			cst = cbor_skip(&d->r);
			if (cst != CBOR_OK)
				return fail_cbor(d, "clearance", cst);
		}
	}
	for (int key = 1; key <= CLEARANCE_KEY_LAST; key++)
		if (!(have & (1u << key)))
			return fail(d, CREDENTIAL_ERR_MISSING, clearance_field[key], CBOR_OK);
	return CREDENTIAL_OK;
}

enum credential_status credential_decode(const uint8_t *payload, size_t len, struct credential *out,
                                         struct credential_error *err)
{
	struct credential_error local = {0};
	struct decode_ctx d = {.err = err != NULL ? err : &local};
	d.err->status = CREDENTIAL_OK;
	d.err->cbor = CBOR_OK;
	d.err->field = NULL;
	memset(out, 0, sizeof(*out));
	cbor_reader_init(&d.r, payload, len);

	size_t count;
	enum cbor_status cst = cbor_read_map(&d.r, &count);
	if (cst != CBOR_OK)
		return fail_cbor(&d, "claims", cst);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	bool has_iat = false, has_exp = false, has_clearance = false;
	enum credential_status st;
	for (size_t i = 0; i < count; i++) {
		int64_t key;
		st = read_key(&d, &seen, "claims", &key);
		if (st != CREDENTIAL_OK)
			return st;
		switch (key) {
		case CWT_CLAIM_ISS:
			st = read_text(&d, "iss", ALPHA_PRINTABLE, 1, CREDENTIAL_ISS_MAX, out->iss);
			break;
		case CWT_CLAIM_EXP:
			st = read_time(&d, "expires_at", &out->expires_at);
			has_exp = true;
			break;
		case CWT_CLAIM_NBF:
			st = read_time(&d, "not_before", &out->not_before);
			out->has_nbf = true;
			break;
		case CWT_CLAIM_IAT:
			st = read_time(&d, "issued_at", &out->issued_at);
			has_iat = true;
			break;
		case CREDENTIAL_CLAIM_CLEARANCE:
			st = read_clearance(&d, &out->clearance);
			has_clearance = true;
			break;
		default:
			cst = cbor_skip(&d.r);
			st = cst == CBOR_OK ? CREDENTIAL_OK : fail_cbor(&d, "claims", cst);
			break;
		}
		if (st != CREDENTIAL_OK)
			return st;
	}
	cst = cbor_expect_end(&d.r);
	if (cst != CBOR_OK)
		return fail(&d, CREDENTIAL_ERR_CBOR, "claims", cst);
	if (!has_iat)
		return fail(&d, CREDENTIAL_ERR_MISSING, "issued_at", CBOR_OK);
	if (!has_exp)
		return fail(&d, CREDENTIAL_ERR_MISSING, "expires_at", CBOR_OK);
	if (!has_clearance)
		return fail(&d, CREDENTIAL_ERR_MISSING, "clearance", CBOR_OK);
	if (!out->has_nbf)
		out->not_before = out->issued_at;
	if (out->expires_at <= out->issued_at)
		return fail(&d, CREDENTIAL_ERR_VALUE, "expires_at", CBOR_OK);
	return CREDENTIAL_OK;
}

enum qd_err credential_validate(const struct credential *cred, struct qd_errmsg *why)
{
	const struct clearance_claims *c = &cred->clearance;
	struct {
		const char *field;
		const char *value;
		enum alphabet a;
		size_t min, max;
	} texts[] = {
	        {"clearance_no", c->clearance_no, ALPHA_ID, 1, CREDENTIAL_CLEARANCE_NO_MAX},
	        {"passport_no", c->passport_no, ALPHA_UPPER_NUM, 5, CREDENTIAL_PASSPORT_NO_MAX},
	        {"name", c->name, ALPHA_PRINTABLE, 1, CREDENTIAL_NAME_MAX},
	        {"destination", c->destination, ALPHA_UPPER_NUM, 2, 2},
	        {"category", c->category, ALPHA_UPPER_NUM, 1, CREDENTIAL_CATEGORY_MAX},
	        {"employer", c->employer, ALPHA_UTF8_TEXT, 1, CREDENTIAL_EMPLOYER_MAX},
	        {"agency_licence", c->agency_licence, ALPHA_PRINTABLE, 1,
	         CREDENTIAL_AGENCY_LICENCE_MAX},
	        {"bmet_reg_no", c->bmet_reg_no, ALPHA_ID, 1, CREDENTIAL_BMET_REG_NO_MAX},
	        {"iss", cred->iss, ALPHA_PRINTABLE, 0, CREDENTIAL_ISS_MAX},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (!text_valid(texts[i].a, texts[i].value, strlen(texts[i].value), texts[i].min,
		                texts[i].max)) {
			qd_errmsg_set(why, "%s: \"%s\" is not allowed (length %zu..%zu%s)",
			              texts[i].field, texts[i].value, texts[i].min, texts[i].max,
			              texts[i].a == ALPHA_ID          ? ", A-Z 0-9 - /"
			              : texts[i].a == ALPHA_UPPER_NUM ? ", A-Z 0-9"
			                                              : ", printable");
			return QD_ERR_FORMAT;
		}
	}
	if (c->destination[0] < 'A' || c->destination[1] < 'A') {
		qd_errmsg_set(why, "destination: \"%s\" is not an ISO 3166-1 alpha-2 code",
		              c->destination);
		return QD_ERR_FORMAT;
	}
	if (c->sex != 'M' && c->sex != 'F' && c->sex != 'X') {
		qd_errmsg_set(why, "sex: must be M, F or X");
		return QD_ERR_FORMAT;
	}
	if (c->birth_days < CREDENTIAL_DATE_MIN || c->birth_days > CREDENTIAL_DATE_MAX) {
		qd_errmsg_set(why, "birth_date: outside 1900-01-01..2100-12-31");
		return QD_ERR_FORMAT;
	}
	if (cred->issued_at < 0) {
		qd_errmsg_set(why, "issued_at: must not be before 1970");
		return QD_ERR_FORMAT;
	}
	if (cred->has_nbf && cred->not_before < 0) {
		qd_errmsg_set(why, "not_before: must not be before 1970");
		return QD_ERR_FORMAT;
	}
	if (cred->expires_at <= cred->issued_at) {
		qd_errmsg_set(why, "expires_at: must be after issued_at");
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

static void put_text_claim(struct cbor_writer *w, int64_t key, const char *value)
{
	cbor_put_int(w, key);
	cbor_put_cstr(w, value);
}

enum qd_err credential_encode(const struct credential *cred, uint8_t *out, size_t cap,
                              size_t *out_len, struct qd_errmsg *why)
{
	enum qd_err rc = credential_validate(cred, why);
	if (rc != QD_OK)
		return rc;
	const struct clearance_claims *c = &cred->clearance;
	struct cbor_writer w;
	cbor_writer_init(&w, out, cap);
	/* Deterministic order (RFC 8949 s.4.2.1): 1, 4, 5, 6, then -65537. */
	cbor_put_map(&w, 3 + (cred->iss[0] != '\0') + cred->has_nbf);
	if (cred->iss[0] != '\0')
		put_text_claim(&w, CWT_CLAIM_ISS, cred->iss);
	cbor_put_int(&w, CWT_CLAIM_EXP);
	cbor_put_int(&w, cred->expires_at);
	if (cred->has_nbf) {
		cbor_put_int(&w, CWT_CLAIM_NBF);
		cbor_put_int(&w, cred->not_before);
	}
	cbor_put_int(&w, CWT_CLAIM_IAT);
	cbor_put_int(&w, cred->issued_at);
	cbor_put_int(&w, CREDENTIAL_CLAIM_CLEARANCE);
	cbor_put_map(&w, CLEARANCE_KEY_LAST);
	put_text_claim(&w, CLEARANCE_KEY_CLEARANCE_NO, c->clearance_no);
	put_text_claim(&w, CLEARANCE_KEY_PASSPORT_NO, c->passport_no);
	put_text_claim(&w, CLEARANCE_KEY_NAME, c->name);
	cbor_put_int(&w, CLEARANCE_KEY_BIRTH_DATE);
	cbor_put_int(&w, c->birth_days);
	cbor_put_int(&w, CLEARANCE_KEY_SEX);
	cbor_put_tstr(&w, &c->sex, 1);
	put_text_claim(&w, CLEARANCE_KEY_DESTINATION, c->destination);
	put_text_claim(&w, CLEARANCE_KEY_CATEGORY, c->category);
	put_text_claim(&w, CLEARANCE_KEY_EMPLOYER, c->employer);
	put_text_claim(&w, CLEARANCE_KEY_AGENCY_LICENCE, c->agency_licence);
	put_text_claim(&w, CLEARANCE_KEY_BMET_REG_NO, c->bmet_reg_no);
	cbor_put_int(&w, CLEARANCE_KEY_PDO_COMPLETED);
	cbor_put_bool(&w, c->pdo_completed);
	*out_len = w.len;
	if (cbor_writer_status(&w) != CBOR_OK) {
		qd_errmsg_set(why, "claims need %zu bytes, %zu available", w.len, cap);
		return QD_ERR_TOO_LARGE;
	}
	return QD_OK;
}

void credential_clearance_hash(const char *clearance_no, uint8_t hash[TRUST_HASH_LEN])
{
	uint8_t digest[DIGEST_SHA256_LEN];
	digest_sha256(clearance_no, strlen(clearance_no), digest);
	memcpy(hash, digest, TRUST_HASH_LEN);
}

void credential_pseudonym(const uint8_t key[CREDENTIAL_AUDIT_KEY_LEN], const char *clearance_no,
                          uint8_t out[TRUST_HASH_LEN])
{
	/* A domain label, so the key never MACs the same message for another use. */
	static const char label[] = "qrdesk-audit-v1:";
	/* A claim's number is at most CREDENTIAL_CLEARANCE_NO_MAX characters: it fits. */
	char msg[sizeof(label) + 256];
	snprintf(msg, sizeof(msg), "%s%s", label, clearance_no);
	uint8_t mac[DIGEST_SHA256_LEN];
	digest_hmac_sha256(key, CREDENTIAL_AUDIT_KEY_LEN, msg, strlen(msg), mac);
	memcpy(out, mac, TRUST_HASH_LEN);
}

/* Howard Hinnant's days_from_civil / civil_from_days (public domain). */
static int32_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t)doe - 719468;
}

static void civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)yoe + era * 400 + (*m <= 2);
}

enum qd_err credential_date_parse(const char *text, int32_t *days)
{
	int y;
	unsigned m, d;
	/* Exactly YYYY-MM-DD: no signs, blanks or other digits count. */
	static const char shape[] = "dddd-dd-dd";
	if (strlen(text) != 10)
		return QD_ERR_FORMAT;
	for (size_t i = 0; i < 10; i++)
		if (shape[i] == 'd' ? (text[i] < '0' || text[i] > '9') : text[i] != shape[i])
			return QD_ERR_FORMAT;
	/* The shape is checked digit by digit, so plain arithmetic cannot overflow. */
	y = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
	m = (unsigned)((text[5] - '0') * 10 + (text[6] - '0'));
	d = (unsigned)((text[8] - '0') * 10 + (text[9] - '0'));
	if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1 || d > 31)
		return QD_ERR_FORMAT;
	int32_t z = days_from_civil(y, m, d);
	int y2;
	unsigned m2, d2;
	civil_from_days(z, &y2, &m2, &d2);
	if (y2 != y || m2 != m || d2 != d) /* 2023-02-30 and the like */
		return QD_ERR_FORMAT;
	*days = z;
	return QD_OK;
}

void credential_date_civil(int32_t days, int *year, unsigned *month, unsigned *day)
{
	/* Callers pass bounded dates; clamp anyway so no input overflows. */
	if (days < CREDENTIAL_DATE_MIN)
		days = CREDENTIAL_DATE_MIN;
	if (days > CREDENTIAL_DATE_MAX)
		days = CREDENTIAL_DATE_MAX;
	civil_from_days(days, year, month, day);
}

void credential_date_format(int32_t days, char out[11])
{
	int y;
	unsigned m, d;
	credential_date_civil(days, &y, &m, &d);
	/* Birth dates are bounded to 1900..2100, so four digits always suffice. */
	unsigned uy = y < 0 ? 0u : (unsigned)y % 10000u;
	snprintf(out, 11, "%04u-%02u-%02u", uy, m % 100u, d % 100u);
}

static const struct {
	const char *code, *en, *bn;
} categories[] = {
        {"DW", "Domestic worker", "গৃহকর্মী"},
        {"GW", "General worker", "সাধারণ কর্মী"},
        {"SK", "Skilled worker", "দক্ষ কর্মী"},
        {"SS", "Semi-skilled worker", "আধা-দক্ষ কর্মী"},
        {"PR", "Professional", "পেশাজীবী"},
        {"DR", "Driver", "গাড়িচালক"},
        {"CW", "Construction worker", "নির্মাণ শ্রমিক"},
        {"NU", "Nurse", "নার্স"},
};

const char *credential_category_name_en(const char *code)
{
	for (size_t i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
		if (strcmp(categories[i].code, code) == 0)
			return categories[i].en;
	return NULL;
}

const char *credential_category_name_bn(const char *code)
{
	for (size_t i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
		if (strcmp(categories[i].code, code) == 0)
			return categories[i].bn;
	return NULL;
}

void credential_example(struct credential *cred, const char *clearance_no, int64_t issued_at,
                        int64_t expires_at)
{
	memset(cred, 0, sizeof(*cred));
	cred->issued_at = issued_at;
	cred->expires_at = expires_at;
	struct clearance_claims *c = &cred->clearance;
	snprintf(c->clearance_no, sizeof(c->clearance_no), "%s", clearance_no);
	snprintf(c->passport_no, sizeof(c->passport_no), "A12345678");
	snprintf(c->name, sizeof(c->name), "RAHIMA KHATUN");
	c->birth_days = 8836; /* 1994-03-12 */
	c->sex = 'F';
	snprintf(c->destination, sizeof(c->destination), "KW");
	snprintf(c->category, sizeof(c->category), "DW");
	snprintf(c->employer, sizeof(c->employer), "AL FAHAD TRADING CO");
	snprintf(c->agency_licence, sizeof(c->agency_licence), "RL-1234");
	snprintf(c->bmet_reg_no, sizeof(c->bmet_reg_no), "BMET11223344");
	c->pdo_completed = true;
}
