/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_check.c - the verification core against an in-memory trust view:
 * every reason code in the verdict table, the order of judgement, and a
 * table of malformed inputs each with its expected reason.
 */
#include <stdlib.h>
#include <string.h>

#include "qrdesk/base45.h"
#include "qrdesk/check.h"
#include "qrdesk/cose.h"
#include "qrdesk/credential.h"
#include "qrdesk/signature.h"
#include "testutil.h"

#define NOW 1795000000LL
#define DAY 86400LL

enum { K_ISSUER, K_ISSUER_ES, K_REPO, K_REVOKED, K_OLD, K_COUNT };

static struct signature_keypair pairs[K_COUNT];
static struct trust_key keys[K_COUNT + 1];

/* The revocation set: a sorted array searched by the callback. */
static uint8_t revoked_hashes[4][TRUST_HASH_LEN];
static size_t revoked_count;

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TRUST_HASH_LEN);
}

static enum qd_err revocation_lookup(void *ctx, const uint8_t hash[TRUST_HASH_LEN], bool *revoked)
{
	(void)ctx;
	*revoked = bsearch(hash, revoked_hashes, revoked_count, TRUST_HASH_LEN, hash_cmp) != NULL;
	return QD_OK;
}

static enum qd_err revocation_broken(void *ctx, const uint8_t hash[TRUST_HASH_LEN], bool *revoked)
{
	(void)ctx;
	(void)hash;
	(void)revoked;
	return QD_ERR_STORE;
}

static void make_key(int i, enum key_role role, int64_t alg, int64_t nb, int64_t na,
                     enum key_status status)
{
	assert_int_equal(signature_keypair_generate(alg, &pairs[i]), QD_OK);
	struct trust_key *k = &keys[i];
	memset(k, 0, sizeof(*k));
	k->alg = alg;
	k->role = role;
	k->status = status;
	memcpy(k->public_key, pairs[i].pub, pairs[i].pub_len);
	k->public_len = (uint8_t)pairs[i].pub_len;
	trust_kid_derive(k->public_key, k->public_len, k->kid);
	k->kid_len = TRUST_KID_DEFAULT_LEN;
	k->not_before = nb;
	k->not_after = na;
}

static struct trust_view fresh_view(void)
{
	struct trust_view v = {
	        .keys = keys,
	        .n_keys = K_COUNT,
	        .keyset = {true, 3, NOW - DAY, NOW + 300 * DAY},
	        .revocations = {true, 9, NOW - 3600, NOW + 6 * DAY},
	        .policy = {true, 1, NOW - DAY, NOW + 20 * DAY},
	        .timestamp = {true, 40, NOW - 600, NOW + DAY},
	        .time_floor = NOW - 600,
	        .revocation_contains = revocation_lookup,
	};
	return v;
}

static struct credential base_cred(const char *clearance_no)
{
	struct credential c;
	credential_example(&c, clearance_no, NOW - 3600, NOW + 90 * DAY);
	c.not_before = c.issued_at;
	return c;
}

/* Prefix + base45 of arbitrary COSE bytes. */
static char *text_of(const uint8_t *cose, size_t len)
{
	size_t cap = CREDENTIAL_PREFIX_LEN + base45_encoded_len(len) + 1;
	char *text = malloc(cap);
	assert_non_null(text);
	memcpy(text, CREDENTIAL_PREFIX, CREDENTIAL_PREFIX_LEN);
	size_t n;
	assert_int_equal(base45_encode(cose, len, text + CREDENTIAL_PREFIX_LEN,
	                               cap - CREDENTIAL_PREFIX_LEN, &n),
	                 BASE45_OK);
	text[CREDENTIAL_PREFIX_LEN + n] = '\0';
	return text;
}

static char *sign_payload(int key, const uint8_t *payload, size_t len)
{
	uint8_t cose[2048];
	size_t cose_len;
	assert_int_equal(cose_sign1_sign(&pairs[key], keys[key].kid, keys[key].kid_len, payload,
	                                 len, cose, sizeof(cose), &cose_len),
	                 QD_OK);
	return text_of(cose, cose_len);
}

static char *sign_card(int key, const struct credential *c)
{
	uint8_t payload[1024];
	size_t len;
	assert_int_equal(credential_encode(c, payload, sizeof(payload), &len, NULL), QD_OK);
	return sign_payload(key, payload, len);
}

static enum verdict_reason check_text(const char *text, const struct trust_view *view,
                                      int64_t clock, struct verdict *v)
{
	check_code(text, strlen(text), view, clock, v);
	assert_int_equal(v->kind, reason_kind(v->reason));
	return v->reason;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(signature_init(), QD_OK);
	make_key(K_ISSUER, KEY_ROLE_ISSUER, SIGNATURE_ALG_EDDSA, NOW - 400 * DAY, NOW + 400 * DAY,
	         KEY_STATUS_ACTIVE);
	make_key(K_ISSUER_ES, KEY_ROLE_ISSUER, SIGNATURE_ALG_ES256, NOW - 400 * DAY,
	         NOW + 400 * DAY, KEY_STATUS_ACTIVE);
	make_key(K_REPO, KEY_ROLE_REPOSITORY, SIGNATURE_ALG_EDDSA, NOW - 400 * DAY, NOW + 400 * DAY,
	         KEY_STATUS_ACTIVE);
	make_key(K_REVOKED, KEY_ROLE_ISSUER, SIGNATURE_ALG_EDDSA, NOW - 400 * DAY, NOW + 400 * DAY,
	         KEY_STATUS_REVOKED);
	make_key(K_OLD, KEY_ROLE_ISSUER, SIGNATURE_ALG_EDDSA, NOW - 900 * DAY, NOW - 500 * DAY,
	         KEY_STATUS_ACTIVE);
	credential_clearance_hash("REVOKED-1", revoked_hashes[0]);
	credential_clearance_hash("REVOKED-2", revoked_hashes[1]);
	revoked_count = 2;
	qsort(revoked_hashes, revoked_count, TRUST_HASH_LEN, hash_cmp);
	return 0;
}

static void test_valid_eddsa_and_es256(void **state)
{
	(void)state;
	struct trust_view view = fresh_view();
	struct credential c = base_cred("2611000001");
	struct verdict v;
	for (int key = K_ISSUER; key <= K_ISSUER_ES; key++) {
		char *text = sign_card(key, &c);
		assert_int_equal(check_text(text, &view, NOW, &v), REASON_OK);
		assert_int_equal(v.kind, VERDICT_VALID);
		assert_true(v.signature_ok);
		assert_true(v.has_claims);
		assert_string_equal(v.cred.clearance.name, "RAHIMA KHATUN");
		assert_int_equal(v.alg, keys[key].alg);
		assert_memory_equal(v.kid, keys[key].kid, TRUST_KID_DEFAULT_LEN);
		uint8_t hash[TRUST_HASH_LEN];
		credential_clearance_hash("2611000001", hash);
		assert_memory_equal(v.clearance_hash, hash, TRUST_HASH_LEN);
		free(text);
	}
}

static enum qd_err sign_pair(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[SIGNATURE_LEN])
{
	return signature_sign(ctx, msg, len, sig);
}

/*
 * RFC 9864's fully-specified ids (Ed25519 -19, ESP256 -9) are the same
 * algorithms as -8 and -7: a card carrying them is valid under the same key,
 * and the verdict names the algorithm by the id keys are kept in.  A -19
 * header on an ES256 key's signature is still refused.
 */
static void test_rfc9864_alg_ids(void **state)
{
	(void)state;
	struct trust_view view = fresh_view();
	struct credential c = base_cred("2611000009");
	uint8_t payload[1024], cose[2048];
	size_t len, cose_len;
	assert_int_equal(credential_encode(&c, payload, sizeof(payload), &len, NULL), QD_OK);
	static const struct {
		int key;
		int64_t header_alg;
		enum verdict_reason want;
	} cases[] = {
	        {K_ISSUER, SIGNATURE_ALG_ED25519, REASON_OK},
	        {K_ISSUER_ES, SIGNATURE_ALG_ESP256, REASON_OK},
	        {K_ISSUER_ES, SIGNATURE_ALG_ED25519, REASON_KEY_UNKNOWN},
	        {K_ISSUER, -20, REASON_ALG_UNSUPPORTED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int k = cases[i].key;
		assert_int_equal(cose_sign1_sign_by(cases[i].header_alg, sign_pair, &pairs[k],
		                                    keys[k].kid, keys[k].kid_len, payload, len,
		                                    cose, sizeof(cose), &cose_len),
		                 QD_OK);
		char *text = text_of(cose, cose_len);
		struct verdict v;
		assert_int_equal(check_text(text, &view, NOW, &v), cases[i].want);
		if (cases[i].want == REASON_OK)
			assert_int_equal(v.alg, keys[k].alg);
		free(text);
	}
}

/* One revoked window of K_ISSUER, [NOW - 2 days, NOW - 1 day), as a store would answer. */
static enum qd_err range_lookup(void *ctx, const uint8_t *kid, size_t kid_len, int64_t iat,
                                bool *revoked)
{
	(void)ctx;
	*revoked = kid_len == keys[K_ISSUER].kid_len &&
	           memcmp(kid, keys[K_ISSUER].kid, kid_len) == 0 && iat >= NOW - 2 * DAY &&
	           iat < NOW - DAY;
	return QD_OK;
}

static enum qd_err range_broken(void *ctx, const uint8_t *kid, size_t kid_len, int64_t iat,
                                bool *revoked)
{
	(void)ctx, (void)kid, (void)kid_len, (void)iat, (void)revoked;
	return QD_ERR_STORE;
}

/*
 * Revocation by issuing key and time window: after the signature and the key's
 * own window, before the card's own revocation; the window is [from, to); a
 * lookup that fails is amber, never green; no list installed, no lookup.
 */
static void test_issuance_window(void **state)
{
	(void)state;
	struct trust_view view = fresh_view();
	view.range_contains = range_lookup;
	static const struct {
		int key;
		int64_t iat;
		enum verdict_reason want;
	} cases[] = {
	        {K_ISSUER, NOW - 2 * DAY, REASON_ISSUANCE_REVOKED},
	        {K_ISSUER, NOW - DAY - 1, REASON_ISSUANCE_REVOKED},
	        {K_ISSUER, NOW - DAY, REASON_OK},
	        {K_ISSUER, NOW - 2 * DAY - 1, REASON_OK},
	        {K_ISSUER_ES, NOW - 36 * 3600, REASON_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct credential c = base_cred("2611000010");
		c.issued_at = c.not_before = cases[i].iat;
		char *text = sign_card(cases[i].key, &c);
		struct verdict v;
		assert_int_equal(check_text(text, &view, NOW, &v), cases[i].want);
		free(text);
	}
	struct credential c = base_cred("REVOKED-1");
	c.issued_at = c.not_before = NOW - 36 * 3600;
	char *text = sign_card(K_ISSUER, &c);
	struct verdict v;
	/* Both revoked: the window is judged first. */
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_ISSUANCE_REVOKED);
	assert_int_equal(v.kind, VERDICT_INVALID);
	view.range_contains = range_broken;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_CARD_REVOKED);
	free(text);
	c = base_cred("2611000011");
	c.issued_at = c.not_before = NOW - 36 * 3600;
	text = sign_card(K_ISSUER, &c);
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_TRUST_UNAVAILABLE);
	view.range_contains = range_lookup;
	view.revocations.present = false;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_TRUST_STALE);
	free(text);
}

/* One row per reason the foundation can produce from a signed card. */
static void test_every_card_reason(void **state)
{
	(void)state;
	struct trust_view view = fresh_view();
	struct verdict v;
	struct {
		const char *what;
		int key;
		const char *clearance_no;
		int64_t iat, nbf, exp; /* offsets from NOW; nbf 0 = absent */
		int64_t clock;         /* offset from NOW */
		enum verdict_reason want;
	} rows[] = {
	        {"valid", K_ISSUER, "C-1", -3600, 0, 90 * DAY, 0, REASON_OK},
	        {"revoked card", K_ISSUER, "REVOKED-2", -3600, 0, 90 * DAY, 0, REASON_CARD_REVOKED},
	        {"expired", K_ISSUER, "C-1", -100 * DAY, 0, -DAY, 0, REASON_CARD_EXPIRED},
	        {"expires this second", K_ISSUER, "C-1", -3600, 0, 0, 0, REASON_CARD_EXPIRED},
	        {"not yet valid", K_ISSUER, "C-1", -3600, 10 * DAY, 90 * DAY, 0,
	         REASON_CARD_NOT_YET_VALID},
	        {"nbf within clock skew", K_ISSUER, "C-1", -3600, 200, 90 * DAY, 0, REASON_OK},
	        {"issued in the future", K_ISSUER, "C-1", 3600, 0, 90 * DAY, 0,
	         REASON_CARD_NOT_YET_VALID},
	        {"wrong role", K_REPO, "C-1", -3600, 0, 90 * DAY, 0, REASON_KEY_WRONG_ROLE},
	        {"revoked key", K_REVOKED, "C-1", -3600, 0, 90 * DAY, 0, REASON_KEY_REVOKED},
	        {"key window over at iat", K_OLD, "C-1", -3600, 0, 90 * DAY, 0,
	         REASON_KEY_NOT_VALID_AT_ISSUE},
	        {"iat before key window", K_ISSUER, "C-1", -401 * DAY, 0, 90 * DAY, 0,
	         REASON_KEY_NOT_VALID_AT_ISSUE},
	        {"revoked beats expired", K_ISSUER, "REVOKED-1", -100 * DAY, 0, -DAY, 0,
	         REASON_CARD_REVOKED},
	        {"stale revocation list", K_ISSUER, "C-1", -3600, 0, 90 * DAY, 7 * DAY,
	         REASON_TRUST_STALE},
	        {"clock behind floor", K_ISSUER, "C-1", -3600, 0, 90 * DAY, -7200,
	         REASON_CLOCK_SUSPECT},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct credential c = base_cred(rows[i].clearance_no);
		c.issued_at = NOW + rows[i].iat;
		c.expires_at = NOW + rows[i].exp;
		if (rows[i].nbf != 0) {
			c.has_nbf = true;
			c.not_before = NOW + rows[i].nbf;
		}
		char *text = sign_card(rows[i].key, &c);
		enum verdict_reason got = check_text(text, &view, NOW + rows[i].clock, &v);
		if (got != rows[i].want)
			fail_msg("%s: got %s, want %s (%s)", rows[i].what, reason_code(got),
			         reason_code(rows[i].want), v.detail);
		free(text);
	}
}

static void test_trust_freshness(void **state)
{
	(void)state;
	struct credential c = base_cred("C-2");
	char *text = sign_card(K_ISSUER, &c);
	struct verdict v;
	struct trust_view view = fresh_view();

	view.revocations.present = false;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_TRUST_STALE);
	assert_string_equal(v.detail, "no revocation list installed");

	view = fresh_view();
	view.keyset.expires_at = NOW;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_TRUST_STALE);
	assert_string_equal(v.detail, "key set expired");

	view = fresh_view();
	view.timestamp.expires_at = NOW - 1;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_TRUST_STALE);

	/* The freeze's grace: green for stale_grace seconds past the timestamp's expiry,
	 * amber from its last second on; the key set's own expiry has no grace. */
	view = fresh_view();
	view.timestamp.expires_at = NOW - 3599;
	view.stale_grace = 3600;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_OK);
	view.timestamp.expires_at = NOW - 3600;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_TRUST_STALE);
	assert_string_equal(v.detail, "repository timestamp expired");
	view = fresh_view();
	view.stale_grace = 3600;
	view.keyset.expires_at = NOW;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_TRUST_STALE);

	/* The clock is never trusted below the floor: expiry is judged at the floor. */
	view = fresh_view();
	view.time_floor = NOW + 100 * DAY;
	view.keyset.expires_at = NOW + 300 * DAY;
	view.revocations.expires_at = NOW + 300 * DAY;
	view.timestamp.expires_at = NOW + 300 * DAY;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_CARD_EXPIRED);
	assert_int_equal(v.trusted_time, NOW + 100 * DAY);

	view = fresh_view();
	view.revocation_contains = revocation_broken;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_TRUST_UNAVAILABLE);
	assert_int_equal(v.kind, VERDICT_REVIEW);
	free(text);
}

static void test_kid_collision_tries_every_key(void **state)
{
	(void)state;
	/* A second key with the issuer's kid but another public key, listed first. */
	struct trust_key twin[K_COUNT + 1];
	memcpy(twin + 1, keys, sizeof(keys[0]) * K_COUNT);
	twin[0] = keys[K_REPO];
	memcpy(twin[0].kid, keys[K_ISSUER].kid, TRUST_KID_DEFAULT_LEN);
	struct trust_view view = fresh_view();
	view.keys = twin;
	view.n_keys = K_COUNT + 1;
	struct credential c = base_cred("C-3");
	char *text = sign_card(K_ISSUER, &c);
	struct verdict v;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_OK);

	/* Only the impostor with that kid: a bad signature, not an unknown key. */
	view.n_keys = 1;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_BAD_SIGNATURE);
	view.n_keys = 0;
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_KEY_UNKNOWN);
	free(text);
}

static void test_signed_bad_claims(void **state)
{
	(void)state;
	struct trust_view view = fresh_view();
	struct verdict v;
	/* A genuine signature over a payload that is not a clearance: {1: "x"}. */
	static const uint8_t not_claims[] = {0xa1, 0x01, 0x61, 'x'};
	char *text = sign_payload(K_ISSUER, not_claims, sizeof(not_claims));
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_BAD_CLAIMS);
	assert_true(v.signature_ok);
	assert_false(v.has_claims);
	assert_non_null(strstr(v.detail, "issued_at"));
	free(text);
	/* Duplicate claim key under a valid signature. */
	static const uint8_t dup[] = {0xa2, 0x06, 0x01, 0x06, 0x02};
	text = sign_payload(K_ISSUER, dup, sizeof(dup));
	assert_int_equal(check_text(text, &view, NOW, &v), REASON_BAD_CLAIMS);
	assert_non_null(strstr(v.detail, "duplicate-key"));
	free(text);
}

/* Hand-made COSE bytes: each malformation with the reason the officer sees. */
static void test_malformed_table(void **state)
{
	(void)state;
	struct trust_view view = fresh_view();
	struct verdict v;
	static const struct {
		const char *what;
		const char *hex;
		enum verdict_reason want;
	} rows[] = {
	        {"empty", "", REASON_BAD_CBOR},
	        {"an integer", "01", REASON_NOT_COSE_SIGN1},
	        {"a map", "a0", REASON_NOT_COSE_SIGN1},
	        {"array of 3", "d28340a040", REASON_NOT_COSE_SIGN1},
	        {"array of 5", "d28540a0404040", REASON_NOT_COSE_SIGN1},
	        {"tag 98 (COSE_Sign)", "d8628440a04040", REASON_NOT_COSE_SIGN1},
	        {"indefinite array", "d29f40a04040ff", REASON_CBOR_INDEFINITE},
	        {"indefinite payload", "d28440a05f4100ff40", REASON_CBOR_INDEFINITE},
	        {"non-minimal array head", "d2980440a04040", REASON_CBOR_NON_MINIMAL},
	        {"non-minimal alg", "d28444a1013807a04040", REASON_CBOR_NON_MINIMAL},
	        {"duplicate protected label", "d28445a201270127a04040", REASON_CBOR_DUPLICATE_KEY},
	        {"duplicate unprotected label", "d28440a20441010441014040",
	         REASON_CBOR_DUPLICATE_KEY},
	        {"trailing bytes in protected", "d28444a1012700a04040", REASON_CBOR_TRAILING},
	        {"trailing bytes after message", "d28443a10127a0404000", REASON_CBOR_TRAILING},
	        {"nesting too deep",
	         "d28440a105"
	         "8181818181818181818181818181818181818181"
	         "004040",
	         REASON_CBOR_TOO_DEEP},
	        {"truncated", "d2844301", REASON_BAD_CBOR},
	        {"declared length past the end", "d28440a05bffffffffffffffff", REASON_BAD_CBOR},
	        {"float in header", "d28440a105f93c004040", REASON_BAD_CBOR},
	        {"payload is text", "d28443a10127a0614140", REASON_NOT_COSE_SIGN1},
	        {"protected is a map", "d284a10127a04040", REASON_NOT_COSE_SIGN1},
	        {"kid is an integer", "d28445a201270401a04040", REASON_BAD_HEADER},
	        {"alg unprotected only", "d28440a101274040", REASON_BAD_HEADER},
	        {"no alg", "d28440a04040", REASON_BAD_HEADER},
	        {"crit", "d28446a20127028101a04040", REASON_BAD_HEADER},
	        {"text label", "d28440a16161014040", REASON_BAD_HEADER},
	        {"alg ES512", "d28444a1013823a04040", REASON_ALG_UNSUPPORTED},
	        {"alg as text",
	         "d28448a10165455335313"
	         "2a04040",
	         REASON_ALG_UNSUPPORTED},
	        {"no kid", "d28443a10127a04040", REASON_NO_KID},
	        {"nil payload", "d28443a10127a1044101f640", REASON_NOT_COSE_SIGN1},
	        {"unknown kid",
	         "d28443a10127a10441ff405840"
	         "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
	         "000000000000000000000000000000000000000000000000",
	         REASON_KEY_UNKNOWN},
	        {"bad utf-8 in header text", "d28440a10562c3284040", REASON_BAD_CBOR},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t bytes[512];
		size_t n = tu_hex_into(rows[i].hex, bytes, sizeof(bytes));
		char *text = text_of(bytes, n);
		enum verdict_reason got = check_text(text, &view, NOW, &v);
		if (got != rows[i].want)
			fail_msg("%s: got %s, want %s (%s)", rows[i].what, reason_code(got),
			         reason_code(rows[i].want), v.detail);
		assert_int_equal(v.kind, VERDICT_INVALID);
		assert_false(v.signature_ok);
		free(text);
	}
}

static void test_text_level_rejections(void **state)
{
	(void)state;
	struct trust_view view = fresh_view();
	struct verdict v;
	assert_int_equal(check_text("", &view, NOW, &v), REASON_BAD_PREFIX);
	assert_int_equal(check_text("BC1", &view, NOW, &v), REASON_BAD_PREFIX);
	assert_int_equal(check_text("HC1:6BF+70", &view, NOW, &v), REASON_BAD_PREFIX);
	assert_int_equal(check_text("BC1:", &view, NOW, &v), REASON_BAD_CBOR);
	assert_int_equal(check_text("BC1:abc", &view, NOW, &v), REASON_BAD_BASE45);
	assert_int_equal(check_text("BC1:A", &view, NOW, &v), REASON_BAD_BASE45);
	assert_int_equal(check_text("BC1:GGW", &view, NOW, &v), REASON_BAD_BASE45);
	/* Binary bytes, including NUL, are just bad base45. */
	const char binary[] = {'B', 'C', '1', ':', 0x00, (char)0xff, 0x0a};
	check_code(binary, sizeof(binary), &view, NOW, &v);
	assert_int_equal(v.reason, REASON_BAD_BASE45);

	/* Oversized: one past the limit is refused before any decoding. */
	char *big = malloc(CHECK_TEXT_MAX + 2);
	assert_non_null(big);
	memcpy(big, "BC1:", 4);
	memset(big + 4, '0', CHECK_TEXT_MAX - 3);
	big[CHECK_TEXT_MAX + 1] = '\0';
	assert_int_equal(check_text(big, &view, NOW, &v), REASON_TOO_LARGE);
	/* At the limit it is decoded (and is then not a COSE message). */
	big[CHECK_TEXT_MAX] = '\0';
	assert_int_not_equal(check_text(big, &view, NOW, &v), REASON_TOO_LARGE);
	free(big);
}

static void test_every_prefix_and_bit_flip_is_rejected(void **state)
{
	(void)state;
	struct trust_view view = fresh_view();
	struct credential c = base_cred("C-4");
	char *text = sign_card(K_ISSUER, &c);
	size_t len = strlen(text);
	struct verdict v;
	/* Every truncation is refused, never green, never a crash. */
	for (size_t n = 0; n < len; n++) {
		check_code(text, n, &view, NOW, &v);
		assert_int_equal(v.kind, VERDICT_INVALID);
	}
	/* Flip each bit of the decoded COSE bytes: nothing but red. */
	uint8_t cose[1024];
	size_t cose_len;
	assert_int_equal(base45_decode(text + 4, len - 4, cose, sizeof(cose), &cose_len),
	                 BASE45_OK);
	for (size_t i = 0; i < cose_len * 8; i++) {
		cose[i / 8] ^= (uint8_t)(1u << (i % 8));
		char *flipped = text_of(cose, cose_len);
		check_code(flipped, strlen(flipped), &view, NOW, &v);
		if (v.kind != VERDICT_INVALID)
			fail_msg("bit %zu flipped gave %s", i, reason_code(v.reason));
		free(flipped);
		cose[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	free(text);
}

static void test_reason_table(void **state)
{
	(void)state;
	for (int r = 0; r < REASON_COUNT; r++) {
		const char *code = reason_code((enum verdict_reason)r);
		assert_non_null(code);
		assert_true(strlen(reason_text_en((enum verdict_reason)r)) > 5);
		/* Bengali text: UTF-8 of the Bengali block starts with 0xE0 0xA6/0xA7. */
		const unsigned char *bn =
		        (const unsigned char *)reason_text_bn((enum verdict_reason)r);
		assert_non_null(strstr((const char *)bn, "\xe0\xa6"));
		enum verdict_reason back;
		assert_true(reason_from_code(code, &back));
		assert_int_equal(back, r);
		for (int s = 0; s < r; s++)
			assert_string_not_equal(code, reason_code((enum verdict_reason)s));
	}
	assert_int_equal(reason_kind(REASON_OK), VERDICT_VALID);
	assert_int_equal(reason_kind(REASON_CARD_REVOKED), VERDICT_INVALID);
	assert_int_equal(reason_kind(REASON_TRUST_STALE), VERDICT_REVIEW);
	assert_int_equal(reason_kind(REASON_ALREADY_USED), VERDICT_REVIEW);
	assert_int_equal(reason_kind(REASON_POLICY_FAILED), VERDICT_REVIEW);
	enum verdict_reason unused;
	assert_false(reason_from_code("NO_SUCH_REASON", &unused));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid_eddsa_and_es256),
	        cmocka_unit_test(test_every_card_reason),
	        cmocka_unit_test(test_rfc9864_alg_ids),
	        cmocka_unit_test(test_issuance_window),
	        cmocka_unit_test(test_trust_freshness),
	        cmocka_unit_test(test_kid_collision_tries_every_key),
	        cmocka_unit_test(test_signed_bad_claims),
	        cmocka_unit_test(test_malformed_table),
	        cmocka_unit_test(test_text_level_rejections),
	        cmocka_unit_test(test_every_prefix_and_bit_flip_is_rejected),
	        cmocka_unit_test(test_reason_table),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
