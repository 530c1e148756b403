/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_base45 - base45_decode over arbitrary text, and two round trips:
 *   text -> decode -> encode gives the same text (base45 is a bijection on
 *   valid text: every group has one encoding), and
 *   bytes -> encode -> decode gives the same bytes (the input read as bytes).
 * Output buffers are exactly as large as the API says, so a write past them
 * is an ASan report; a smaller buffer must be refused, never overrun.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/base45.h"

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

static void decode_text(const char *text, size_t len)
{
	const size_t need = base45_decoded_max(len);
	uint8_t *out = fuzz_alloc(need);
	size_t out_len = 12345;
	enum base45_status st = base45_decode(text, len, out, need, &out_len);
	FUZZ_CHECK(base45_status_name(st) != NULL);
	FUZZ_CHECK(st != BASE45_ERR_NOSPACE); /* the buffer is exactly large enough */
	if (len % 3 == 1)
		FUZZ_CHECK(st == BASE45_ERR_CHAR || st == BASE45_ERR_LENGTH);

	if (st == BASE45_OK) {
		FUZZ_CHECK(out_len == need);
		/* Re-encoding into a buffer without room for the NUL gives the text back. */
		const size_t enc_len = base45_encoded_len(out_len);
		FUZZ_CHECK(enc_len == len);
		char *enc = fuzz_alloc(enc_len);
		size_t n = 0;
		FUZZ_CHECK(base45_encode(out, out_len, enc, enc_len, &n) == BASE45_OK);
		FUZZ_CHECK(n == len && memcmp(enc, text, len) == 0);
		free(enc);
	} else {
		FUZZ_CHECK(out_len == 0);
	}

	/* Validation only (no buffer): the same verdict on the text. */
	enum base45_status v = base45_decode(text, len, NULL, 0, NULL);
	if (st == BASE45_OK)
		FUZZ_CHECK(v == (need == 0 ? BASE45_OK : BASE45_ERR_NOSPACE));
	else
		FUZZ_CHECK(v == st);

	/* One byte short: refused (a fault in the text is reported first), never overrun. */
	if (need > 0) {
		uint8_t *small = fuzz_alloc(need - 1);
		size_t small_len = 12345;
		enum base45_status s2 = base45_decode(text, len, small, need - 1, &small_len);
		FUZZ_CHECK(s2 == (st == BASE45_OK ? BASE45_ERR_NOSPACE : st));
		FUZZ_CHECK(small_len == 0);
		free(small);
	}
	free(out);
}

static void encode_bytes(const uint8_t *data, size_t size)
{
	const size_t enc_len = base45_encoded_len(size);
	char *enc = fuzz_alloc(enc_len + 1);
	size_t n = 0;
	FUZZ_CHECK(base45_encode(data, size, enc, enc_len + 1, &n) == BASE45_OK);
	FUZZ_CHECK(n == enc_len && enc[n] == '\0');
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(enc[i] != '\0' && strchr(alphabet, enc[i]) != NULL);

	uint8_t *back = fuzz_alloc(size);
	size_t back_len = 0;
	FUZZ_CHECK(base45_decode(enc, n, back, size, &back_len) == BASE45_OK);
	FUZZ_CHECK(back_len == size && (size == 0 || memcmp(back, data, size) == 0));
	free(back);

	/* Too small a buffer: refused, nothing written past it. */
	if (enc_len > 0) {
		char *small = fuzz_alloc(enc_len - 1);
		size_t m = 12345;
		FUZZ_CHECK(base45_encode(data, size, small, enc_len - 1, &m) == BASE45_ERR_NOSPACE);
		FUZZ_CHECK(m == 0);
		free(small);
	}
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_text((const char *)data, size);
	encode_bytes(data, size);
	return 0;
}
