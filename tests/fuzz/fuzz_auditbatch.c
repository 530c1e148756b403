/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_auditbatch - auditbatch_parse over arbitrary bytes (an uploaded or
 * exported audit batch as ingest reads it), then the row walk and a
 * signature check under a fixed key.
 *
 * On failure: a message, no desk, no rows.  On success: a valid desk id, a
 * sequence >= 1, at most AUDITBATCH_ROWS_MAX rows, the walk yields exactly
 * n_rows rows with strictly ascending ids, texts of 1..64 printable bytes and
 * every pointer inside the input; the rows written back (head and rows)
 * parse the same once signed; a signature by another key never verifies.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qrdesk/auditbatch.h"

static bool printable(const char *t, size_t n)
{
	if (n == 0 || n > AUDITBATCH_TEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return false;
	return true;
}

/* A NUL-terminated copy of an optional text (static: one per field). */
static const char *cstr(const char *t, size_t n, char buf[AUDITBATCH_TEXT_MAX + 1])
{
	if (t == NULL)
		return NULL;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct signature_keypair kp;
	static bool have_key;
	if (!have_key) {
		uint8_t seed[SIGNATURE_SECRET_LEN] = {7};
		FUZZ_CHECK(signature_init() == QD_OK);
		FUZZ_CHECK(signature_keypair_from_secret(SIGNATURE_ALG_EDDSA, seed, sizeof(seed),
		                                         &kp) == QD_OK);
		have_key = true;
	}
	struct auditbatch b;
	struct qd_errmsg why = {{0}};
	if (auditbatch_parse(data, size, &b, &why) != QD_OK) {
		FUZZ_CHECK(why.text[0] != '\0' && b.desk[0] == '\0' && b.n_rows == 0);
		return 0;
	}
	FUZZ_CHECK(desk_id_valid(b.desk, strlen(b.desk)) && b.sequence >= 1);
	FUZZ_CHECK(b.n_rows <= AUDITBATCH_ROWS_MAX);
	FUZZ_CHECK(b.n_rows == 0 || fuzz_inside(b.rows, b.rows_len, data, size));

	struct cbor_writer w;
	uint8_t *payload = malloc(b.rows_len + 256);
	FUZZ_CHECK(payload != NULL);
	cbor_writer_init(&w, payload, b.rows_len + 256);
	auditbatch_put_head(&w, b.desk, b.sequence, b.previous, b.created_at, b.n_rows);
	size_t at = 0, n = 0;
	int64_t last = -1;
	struct auditbatch_row row;
	while (auditbatch_row_next(&b, &at, &row)) {
		FUZZ_CHECK(row.id > last);
		last = row.id;
		FUZZ_CHECK(row.source == NULL || printable(row.source, row.source_len));
		FUZZ_CHECK(row.verdict == NULL || printable(row.verdict, row.verdict_len));
		FUZZ_CHECK(row.reason == NULL || printable(row.reason, row.reason_len));
		FUZZ_CHECK(row.clearance_hash == NULL ||
		           fuzz_inside(row.clearance_hash, TRUST_HASH_LEN, data, size));
		FUZZ_CHECK(row.kid == NULL || (row.kid_len >= 1 && row.kid_len <= TRUST_KID_MAX));
		char s[AUDITBATCH_TEXT_MAX + 1], v[AUDITBATCH_TEXT_MAX + 1],
		        r[AUDITBATCH_TEXT_MAX + 1];
		struct auditbatch_put put = {
		        .id = row.id,
		        .time_us = row.time_us,
		        .latency_us = row.latency_us,
		        .card_expires_at = row.card_expires_at,
		        .source = cstr(row.source, row.source_len, s),
		        .verdict = cstr(row.verdict, row.verdict_len, v),
		        .reason = cstr(row.reason, row.reason_len, r),
		        .kid = row.kid,
		        .kid_len = row.kid_len,
		        .clearance_hash = row.clearance_hash,
		};
		auditbatch_put_row(&w, &put);
		n++;
	}
	FUZZ_CHECK(n == b.n_rows && at == b.rows_len);
	/* Re-encoded canonically, it is at most as long and parses to the same head. */
	FUZZ_CHECK(cbor_writer_status(&w) == CBOR_OK);
	uint8_t *signed_batch = NULL;
	size_t signed_len = 0;
	FUZZ_CHECK(auditbatch_sign(&kp, payload, w.len, &signed_batch, &signed_len) == QD_OK);
	struct auditbatch again;
	FUZZ_CHECK(auditbatch_parse(signed_batch, signed_len, &again, &why) == QD_OK);
	FUZZ_CHECK(strcmp(again.desk, b.desk) == 0 && again.sequence == b.sequence &&
	           again.n_rows == b.n_rows && again.created_at == b.created_at &&
	           memcmp(again.previous, b.previous, sizeof(b.previous)) == 0);
	FUZZ_CHECK(auditbatch_verify(&again, kp.pub, kp.pub_len) == QD_OK);
	free(signed_batch);
	free(payload);
	return 0;
}
