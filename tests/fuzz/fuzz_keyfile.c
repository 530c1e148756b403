/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyfile - keyfile_parse_public over arbitrary text (DIR/root.pub, the
 * key a desk pins; not NUL-terminated: only len bytes are valid), and
 * keyfile_parse_any (the public keys add-key takes: PEM, raw, hex, key file).
 *
 * On success: the key is well formed (a known role, a key of its algorithm's
 * length that passes signature_public_check, the derived 8-byte kid), and
 * keyfile_format_public writes text that parses back to the same key.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/keyfile.h"
#include "qrdesk/signature.h"

static void check_same(const struct trust_key *a, const struct trust_key *b)
{
	FUZZ_CHECK(a->kid_len == b->kid_len && memcmp(a->kid, b->kid, a->kid_len) == 0);
	FUZZ_CHECK(a->alg == b->alg && a->role == b->role && a->status == b->status);
	FUZZ_CHECK(a->public_len == b->public_len &&
	           memcmp(a->public_key, b->public_key, a->public_len) == 0);
	FUZZ_CHECK(a->not_before == b->not_before && a->not_after == b->not_after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		FUZZ_CHECK(signature_init() == QD_OK);
		ready = true;
	}
	struct trust_key key;
	struct qd_errmsg why = {{0}};
	/* Any form: a key of a supported alg that passes the curve check, its derived kid. */
	enum qd_err any = keyfile_parse_any(data, size, &key, &why);
	FUZZ_CHECK(memchr(why.text, '\0', sizeof(why.text)) != NULL);
	if (any == QD_OK) {
		FUZZ_CHECK(signature_alg_supported(key.alg));
		FUZZ_CHECK(key.public_len == signature_public_len(key.alg));
		FUZZ_CHECK(signature_public_check(key.alg, key.public_key, key.public_len) ==
		           QD_OK);
		uint8_t derived[TRUST_KID_DEFAULT_LEN];
		trust_kid_derive(key.public_key, key.public_len, derived);
		FUZZ_CHECK(key.kid_len == TRUST_KID_DEFAULT_LEN &&
		           memcmp(derived, key.kid, sizeof(derived)) == 0);
	} else {
		FUZZ_CHECK(any == QD_ERR_FORMAT || any == QD_ERR_TOO_LARGE);
		FUZZ_CHECK(why.text[0] != '\0');
	}
	memset(&why, 0, sizeof(why));
	enum qd_err rc = keyfile_parse_public((const char *)data, size, &key, &why);
	FUZZ_CHECK(memchr(why.text, '\0', sizeof(why.text)) != NULL);
	if (rc != QD_OK) {
		FUZZ_CHECK(rc == QD_ERR_FORMAT || rc == QD_ERR_TOO_LARGE);
		FUZZ_CHECK(why.text[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(size <= KEYFILE_MAX);
	FUZZ_CHECK(key_role_name(key.role) != NULL);
	FUZZ_CHECK(signature_alg_supported(key.alg));
	FUZZ_CHECK(key.public_len == signature_public_len(key.alg));
	FUZZ_CHECK(signature_public_check(key.alg, key.public_key, key.public_len) == QD_OK);
	uint8_t kid[TRUST_KID_DEFAULT_LEN];
	trust_kid_derive(key.public_key, key.public_len, kid);
	FUZZ_CHECK(key.kid_len == TRUST_KID_DEFAULT_LEN && memcmp(kid, key.kid, sizeof(kid)) == 0);
	FUZZ_CHECK(key.status == KEY_STATUS_ACTIVE);

	char *text = keyfile_format_public(&key);
	FUZZ_CHECK(text != NULL);
	struct trust_key back;
	FUZZ_CHECK(keyfile_parse_public(text, strlen(text), &back, &why) == QD_OK);
	check_same(&key, &back);
	free(text);
	return 0;
}
