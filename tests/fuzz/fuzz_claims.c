/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_claims - credential_decode over arbitrary CWT payload bytes.
 *
 * On success: every string field is NUL-terminated within its array and
 * passes the issuer's own validation; credential_encode re-encodes it and
 * decoding that gives the same struct, field by field; encoding is
 * deterministic (encode(decode(encode(c))) is the same bytes) and never
 * longer than the input (decoding keeps no unknown claim, and reads only
 * shortest forms).  On failure: the error names a field and a status.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/credential.h"

#define PAYLOAD_MAX 1024 /* the issuer's own bound (domain_sign_card) */

#define SAME_STR(a, b, field) FUZZ_CHECK(memcmp((a)->field, (b)->field, sizeof((a)->field)) == 0)

static void check_same(const struct credential *a, const struct credential *b)
{
	SAME_STR(a, b, iss);
	FUZZ_CHECK(a->issued_at == b->issued_at);
	FUZZ_CHECK(a->not_before == b->not_before);
	FUZZ_CHECK(a->expires_at == b->expires_at);
	FUZZ_CHECK(a->has_nbf == b->has_nbf);
	const struct clearance_claims *x = &a->clearance, *y = &b->clearance;
	SAME_STR(x, y, clearance_no);
	SAME_STR(x, y, passport_no);
	SAME_STR(x, y, name);
	FUZZ_CHECK(x->birth_days == y->birth_days);
	FUZZ_CHECK(x->sex == y->sex);
	SAME_STR(x, y, destination);
	SAME_STR(x, y, category);
	SAME_STR(x, y, employer);
	SAME_STR(x, y, agency_licence);
	SAME_STR(x, y, bmet_reg_no);
	FUZZ_CHECK(x->pdo_completed == y->pdo_completed);
}

/* A NUL inside the field, and nothing but NULs after it (the decoder zeroes the struct). */
static void check_field(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);
	FUZZ_CHECK(nul != NULL);
	for (const char *p = nul; p < s + size; p++)
		FUZZ_CHECK(*p == '\0');
}

static void check_strings(const struct credential *c)
{
	const struct clearance_claims *x = &c->clearance;
	check_field(c->iss, sizeof(c->iss));
	check_field(x->clearance_no, sizeof(x->clearance_no));
	check_field(x->passport_no, sizeof(x->passport_no));
	check_field(x->name, sizeof(x->name));
	check_field(x->destination, sizeof(x->destination));
	check_field(x->category, sizeof(x->category));
	check_field(x->employer, sizeof(x->employer));
	check_field(x->agency_licence, sizeof(x->agency_licence));
	check_field(x->bmet_reg_no, sizeof(x->bmet_reg_no));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct credential cred;
	struct credential_error err;
	enum credential_status st = credential_decode(data, size, &cred, &err);
	FUZZ_CHECK(err.status == st);
	if (st != CREDENTIAL_OK) {
		FUZZ_CHECK(err.field != NULL);
		if (st == CREDENTIAL_ERR_CBOR || st == CREDENTIAL_ERR_TYPE)
			FUZZ_CHECK(err.cbor != CBOR_OK);
		if (st == CREDENTIAL_ERR_MISSING)
			FUZZ_CHECK(err.cbor == CBOR_OK);
		struct credential other;
		FUZZ_CHECK(credential_decode(data, size, &other, NULL) == st);
		return 0;
	}
	FUZZ_CHECK(err.field == NULL && err.cbor == CBOR_OK);
	check_strings(&cred);
	FUZZ_CHECK(cred.has_nbf || cred.not_before == cred.issued_at);

	/* What the desk shows of it must not fault either. */
	char date[11];
	credential_date_format(cred.clearance.birth_days, date);
	FUZZ_CHECK(strlen(date) == 10);
	int32_t days = 0;
	FUZZ_CHECK(credential_date_parse(date, &days) == QD_OK &&
	           days == cred.clearance.birth_days);
	(void)credential_category_name_en(cred.clearance.category);
	(void)credential_category_name_bn(cred.clearance.category);
	uint8_t hash[TRUST_HASH_LEN];
	credential_clearance_hash(cred.clearance.clearance_no, hash);

	/* Whatever the desk accepts, the issuer would have accepted. */
	struct qd_errmsg why = {{0}};
	FUZZ_CHECK(credential_validate(&cred, &why) == QD_OK);

	/* Encode into exactly the bytes it needs (a counting pass first). */
	size_t need = 0;
	uint8_t probe[1];
	FUZZ_CHECK(credential_encode(&cred, probe, 0, &need, &why) == QD_ERR_TOO_LARGE);
	FUZZ_CHECK(need > 0 && need <= size);
	uint8_t *enc = fuzz_alloc(need);
	size_t enc_len = 0;
	FUZZ_CHECK(credential_encode(&cred, enc, need, &enc_len, &why) == QD_OK);
	FUZZ_CHECK(enc_len == need && enc_len <= PAYLOAD_MAX);

	struct credential back;
	FUZZ_CHECK(credential_decode(enc, enc_len, &back, NULL) == CREDENTIAL_OK);
	check_same(&cred, &back);

	uint8_t *enc2 = fuzz_alloc(enc_len);
	size_t enc2_len = 0;
	FUZZ_CHECK(credential_encode(&back, enc2, enc_len, &enc2_len, &why) == QD_OK);
	FUZZ_CHECK(enc2_len == enc_len && memcmp(enc, enc2, enc_len) == 0);
	free(enc2);
	free(enc);
	return 0;
}
