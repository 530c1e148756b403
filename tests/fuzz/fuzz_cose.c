/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_cose - cose_sign1_parse over arbitrary bytes; on success the
 * Sig_structure (cose_sign1_tbs) and a verification against the fuzzing
 * domain's issuer key of the message's algorithm.
 *
 * Properties: the status and the error agree; every span the parser returns
 * lies inside the input; the Sig_structure is as long as cose_sign1_tbs_len
 * says, fits a buffer of exactly that size, is refused by one a byte
 * shorter, and reads back as ["Signature1", protected, aad, payload];
 * verification says OK or bad signature, nothing else.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_keys.h"
#include "qrdesk/cbor.h"
#include "qrdesk/cose.h"

static void check_bstr(struct cbor_reader *r, const uint8_t *want, size_t want_len)
{
	const uint8_t *p;
	size_t n;
	FUZZ_CHECK(cbor_read_bstr(r, &p, &n) == CBOR_OK);
	FUZZ_CHECK(n == want_len && (n == 0 || memcmp(p, want, n) == 0));
}

static void check_tbs(const struct cose_sign1 *msg, const uint8_t *aad, size_t aad_len)
{
	const size_t need = cose_sign1_tbs_len(msg, aad_len);
	uint8_t *tbs = fuzz_alloc(need);
	size_t tbs_len = 0;
	FUZZ_CHECK(cose_sign1_tbs(msg, aad, aad_len, tbs, need, &tbs_len) == QD_OK);
	FUZZ_CHECK(tbs_len == need);

	struct cbor_reader r;
	cbor_reader_init(&r, tbs, tbs_len);
	FUZZ_CHECK(cbor_skip(&r) == CBOR_OK && cbor_expect_end(&r) == CBOR_OK);
	cbor_reader_init(&r, tbs, tbs_len);
	size_t count;
	const char *context;
	size_t context_len;
	FUZZ_CHECK(cbor_read_array(&r, &count) == CBOR_OK && count == 4);
	FUZZ_CHECK(cbor_read_tstr(&r, &context, &context_len) == CBOR_OK);
	FUZZ_CHECK(context_len == 10 && memcmp(context, "Signature1", 10) == 0);
	check_bstr(&r, msg->protected_bytes, msg->protected_len);
	check_bstr(&r, aad, aad_len);
	check_bstr(&r, msg->payload, msg->payload_len);
	FUZZ_CHECK(cbor_expect_end(&r) == CBOR_OK);
	free(tbs);

	uint8_t *small = fuzz_alloc(need - 1);
	FUZZ_CHECK(cose_sign1_tbs(msg, aad, aad_len, small, need - 1, &tbs_len) ==
	           QD_ERR_TOO_LARGE);
	free(small);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		FUZZ_CHECK(signature_init() == QD_OK);
		ready = true;
	}

	struct cose_sign1 msg;
	struct cose_error err;
	enum cose_status st = cose_sign1_parse(data, size, &msg, &err);
	FUZZ_CHECK(st == err.status);
	FUZZ_CHECK(cose_status_name(st) != NULL);
	if (st == COSE_ERR_CBOR)
		FUZZ_CHECK(err.cbor != CBOR_OK);

	/* Without an error struct: the same answer. */
	struct cose_sign1 again;
	FUZZ_CHECK(cose_sign1_parse(data, size, &again, NULL) == st);
	if (st != COSE_OK)
		return 0;
	FUZZ_CHECK(again.protected_bytes == msg.protected_bytes &&
	           again.protected_len == msg.protected_len && again.payload == msg.payload &&
	           again.payload_len == msg.payload_len && again.signature == msg.signature &&
	           again.signature_len == msg.signature_len && again.alg == msg.alg &&
	           again.kid == msg.kid && again.kid_len == msg.kid_len &&
	           again.tagged == msg.tagged);

	FUZZ_CHECK(signature_alg_supported(msg.alg));
	FUZZ_CHECK(fuzz_inside(msg.protected_bytes, msg.protected_len, data, size));
	FUZZ_CHECK(fuzz_inside(msg.payload, msg.payload_len, data, size) && msg.payload != NULL);
	FUZZ_CHECK(fuzz_inside(msg.signature, msg.signature_len, data, size));
	FUZZ_CHECK(fuzz_inside(msg.kid, msg.kid_len, data, size));
	(void)fuzz_touch(msg.protected_bytes, msg.protected_len);
	(void)fuzz_touch(msg.payload, msg.payload_len);
	(void)fuzz_touch(msg.signature, msg.signature_len);
	(void)fuzz_touch(msg.kid, msg.kid_len);
	FUZZ_CHECK(msg.tagged == (size > 0 && data[0] == 0xd2));

	/* The Sig_structure without and with external AAD (the input's last bytes). */
	check_tbs(&msg, NULL, 0);
	const size_t aad_len = size < 12 ? size : 12;
	check_tbs(&msg, data + size - aad_len, aad_len);

	/* Verification: a key of the message's algorithm; the seeds signed by it pass. */
	const struct trust_key *k =
	        &fuzz_keys[msg.alg == SIGNATURE_ALG_ES256 ? FUZZ_KEY_ES256 : FUZZ_KEY_EDDSA];
	enum qd_err rc = cose_sign1_verify(&msg, NULL, 0, k->public_key, k->public_len);
	FUZZ_CHECK(rc == QD_OK || rc == QD_ERR_SIGNATURE);
	if (msg.signature_len != SIGNATURE_LEN)
		FUZZ_CHECK(rc == QD_ERR_SIGNATURE);
	/* A key of the wrong length is refused before any library sees it. */
	FUZZ_CHECK(cose_sign1_verify(&msg, NULL, 0, k->public_key, k->public_len - 1) ==
	           QD_ERR_SIGNATURE);
	return 0;
}
