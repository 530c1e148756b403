/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_base45.c - RFC 9285 base45: the RFC vectors, the EU DCC test data,
 * round trips of every length 0..300, buffer limits and every byte value.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/base45.h"

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/* Decode text and fail unless it gives exactly want[0..want_len). */
static void expect_decodes_to(const char *text, size_t text_len, const uint8_t *want,
                              size_t want_len, const char *what)
{
	size_t cap = base45_decoded_max(text_len) + 1;
	uint8_t *out = malloc(cap);
	size_t out_len = 12345;
	assert_non_null(out);
	enum base45_status st = base45_decode(text, text_len, out, cap, &out_len);
	if (st != BASE45_OK)
		fail_msg("%s: decode failed: %s", what, base45_status_name(st));
	assert_int_equal(out_len, want_len);
	assert_int_equal(out_len, base45_decoded_max(text_len));
	if (want_len > 0)
		assert_memory_equal(out, want, want_len);
	free(out);
}

static enum base45_status decode_status(const char *text, size_t len)
{
	uint8_t out[64];
	size_t out_len = 999;
	enum base45_status st = base45_decode(text, len, out, sizeof(out), &out_len);
	if (st != BASE45_OK)
		assert_int_equal(out_len, 0);
	return st;
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(base45_status_name(BASE45_OK), "ok");
	assert_string_equal(base45_status_name(BASE45_ERR_CHAR), "bad-character");
	assert_string_equal(base45_status_name(BASE45_ERR_LENGTH), "bad-length");
	assert_string_equal(base45_status_name(BASE45_ERR_VALUE), "bad-value");
	assert_string_equal(base45_status_name(BASE45_ERR_NOSPACE), "no-space");
	assert_non_null(base45_status_name((enum base45_status)99));
}

static void test_lengths(void **state)
{
	(void)state;
	assert_int_equal(base45_encoded_len(0), 0);
	assert_int_equal(base45_encoded_len(1), 2);
	assert_int_equal(base45_encoded_len(2), 3);
	assert_int_equal(base45_encoded_len(3), 5);
	assert_int_equal(base45_encoded_len(4), 6);
	assert_int_equal(base45_encoded_len(301), 452);
	assert_int_equal(base45_decoded_max(0), 0);
	assert_int_equal(base45_decoded_max(2), 1);
	assert_int_equal(base45_decoded_max(3), 2);
	assert_int_equal(base45_decoded_max(5), 3);
	assert_int_equal(base45_decoded_max(6), 4);
	assert_int_equal(base45_decoded_max(452), 301);
	/* A 3k+1 length is invalid; the bound must still cover it. */
	assert_true(base45_decoded_max(4) >= 2);
}

/* RFC 9285 section 4.3/4.4 examples and the derived edge cases: both directions. */
static void test_rfc_valid(void **state)
{
	(void)state;
	json_t *root = tu_load_vector_json("rfc/rfc9285_base45.json");
	json_t *valid = json_object_get(root, "valid");
	assert_true(json_is_array(valid));
	assert_int_equal(json_array_size(valid), 14);

	const char *alpha = json_string_value(json_object_get(root, "alphabet"));
	assert_non_null(alpha);
	assert_string_equal(alpha, alphabet);

	size_t i, from_rfc = 0;
	json_t *c;
	json_array_foreach(valid, i, c)
	{
		const char *hex = json_string_value(json_object_get(c, "bytes_hex"));
		const char *b45 = json_string_value(json_object_get(c, "base45"));
		const char *text = json_string_value(json_object_get(c, "text"));
		const char *source = json_string_value(json_object_get(c, "source"));
		assert_non_null(hex);
		assert_non_null(b45);
		size_t n;
		uint8_t *bytes = tu_hex_decode(hex, &n);
		if (text != NULL) {
			assert_int_equal(strlen(text), n);
			assert_memory_equal(text, bytes, n);
		}
		if (source != NULL && strncmp(source, "RFC 9285", 8) == 0)
			from_rfc++;

		/* encode: exact text, NUL-terminated when there is room */
		size_t cap = base45_encoded_len(n) + 1;
		char *enc = malloc(cap);
		size_t enc_len = 777;
		assert_non_null(enc);
		assert_int_equal(base45_encode(bytes, n, enc, cap, &enc_len), BASE45_OK);
		assert_int_equal(enc_len, strlen(b45));
		assert_int_equal(enc_len, base45_encoded_len(n));
		assert_memory_equal(enc, b45, enc_len);
		assert_int_equal(enc[enc_len], '\0');

		/* decode: exact bytes */
		expect_decodes_to(b45, strlen(b45), bytes, n, b45);
		free(enc);
		free(bytes);
	}
	assert_int_equal(from_rfc, 4);
	json_decref(root);
}

/* The status an invalid case's reason implies, or BASE45_OK when it names none. */
static enum base45_status status_from_reason(const char *reason)
{
	if (strstr(reason, "alphabet") != NULL)
		return BASE45_ERR_CHAR;
	if (strstr(reason, "mod 3") != NULL)
		return BASE45_ERR_LENGTH;
	if (strstr(reason, "> 65535") != NULL || strstr(reason, "> 255") != NULL)
		return BASE45_ERR_VALUE;
	return BASE45_OK;
}

static void test_rfc_invalid(void **state)
{
	(void)state;
	json_t *root = tu_load_vector_json("rfc/rfc9285_base45.json");
	json_t *invalid = json_object_get(root, "invalid");
	assert_true(json_is_array(invalid));
	assert_int_equal(json_array_size(invalid), 10);

	size_t i, classified = 0;
	json_t *c;
	json_array_foreach(invalid, i, c)
	{
		const char *b45 = json_string_value(json_object_get(c, "base45"));
		const char *reason = json_string_value(json_object_get(c, "reason"));
		assert_non_null(b45);
		assert_non_null(reason);
		enum base45_status st = decode_status(b45, strlen(b45));
		enum base45_status want = status_from_reason(reason);
		if (st == BASE45_OK)
			fail_msg("invalid base45 \"%s\" (%s) was accepted", b45, reason);
		if (want != BASE45_OK) {
			classified++;
			if (st != want)
				fail_msg("\"%s\" (%s): got %s, want %s", b45, reason,
				         base45_status_name(st), base45_status_name(want));
		}
	}
	/* Every case in the file says clearly why it is invalid. */
	assert_int_equal(classified, 10);
	json_decref(root);
}

/*
 * An EXPECTEDRESULTS flag: true, false, or absent (-1).  The object is
 * normally JSON, but some copies of the DCC data hold Python-repr strings
 * ("{'EXPECTEDB45DECODE': False, ...}"); both are understood.
 */
static int expected_flag(json_t *results, const char *flag)
{
	if (json_is_object(results)) {
		json_t *v = json_object_get(results, flag);
		if (v == NULL)
			return -1;
		if (json_is_boolean(v))
			return json_is_true(v);
		if (json_is_string(v))
			return strcmp(json_string_value(v), "True") == 0 ||
			       strcmp(json_string_value(v), "true") == 0;
		fail_msg("%s: not a boolean", flag);
	}
	if (json_is_string(results)) {
		const char *s = json_string_value(results);
		const char *at = strstr(s, flag);
		if (at == NULL)
			return -1;
		at += strlen(flag);
		at += strspn(at, "'\": ");
		if (strncmp(at, "True", 4) == 0 || strncmp(at, "true", 4) == 0)
			return 1;
		if (strncmp(at, "False", 5) == 0 || strncmp(at, "false", 5) == 0)
			return 0;
		fail_msg("%s: cannot read %s", s, flag);
	}
	return -1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * eu-digital-green-certificates/dgc-testdata 2DCode/raw: BASE45 must decode
 * to exactly COMPRESSED (where both are given), unless EXPECTEDB45DECODE is
 * false (B1: invalid characters), which must fail.  PREFIX is "HC1:" +
 * BASE45 and is checked the same way.
 */
static void test_dgc_testdata(void **state)
{
	(void)state;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", tu_vector_path("dgc-testdata/common/2DCode/raw"));
	DIR *d = opendir(dir);
	if (d == NULL)
		fail_msg("cannot open %s", dir);
	char *names[128];
	size_t nnames = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) {
			assert_true(nnames < 128);
			names[nnames++] = strdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, nnames, sizeof(names[0]), cmp_names);
	assert_int_equal(nnames, 38);

	size_t matched = 0, decoded = 0, rejected = 0, prefix_matched = 0;
	for (size_t k = 0; k < nnames; k++) {
		char rel[512];
		snprintf(rel, sizeof(rel), "dgc-testdata/common/2DCode/raw/%s", names[k]);
		json_t *root = tu_load_vector_json(rel);
		const char *b45 = json_string_value(json_object_get(root, "BASE45"));
		const char *comp = json_string_value(json_object_get(root, "COMPRESSED"));
		const char *prefix = json_string_value(json_object_get(root, "PREFIX"));
		int expect_ok = expected_flag(json_object_get(root, "EXPECTEDRESULTS"),
		                              "EXPECTEDB45DECODE");
		size_t comp_len = 0;
		uint8_t *want = comp != NULL ? tu_hex_decode(comp, &comp_len) : NULL;

		if (b45 != NULL) {
			size_t cap = base45_decoded_max(strlen(b45)) + 1;
			uint8_t *out = malloc(cap);
			size_t out_len;
			assert_non_null(out);
			enum base45_status st = base45_decode(b45, strlen(b45), out, cap, &out_len);
			if (expect_ok == 0) {
				if (st == BASE45_OK)
					fail_msg("%s: invalid BASE45 decoded", names[k]);
				/* B1 is described as wrong encoding characters */
				assert_int_equal(st, BASE45_ERR_CHAR);
				rejected++;
			} else {
				if (st != BASE45_OK)
					fail_msg("%s: BASE45 decode failed: %s", names[k],
					         base45_status_name(st));
				decoded++;
				if (want != NULL) {
					assert_int_equal(out_len, comp_len);
					assert_memory_equal(out, want, comp_len);
					matched++;
				}
			}
			free(out);
		}
		/* "HC1:" + base45 of COMPRESSED, also where BASE45 itself is absent */
		if (prefix != NULL && want != NULL && strncmp(prefix, "HC1:", 4) == 0 &&
		    expect_ok != 0) {
			expect_decodes_to(prefix + 4, strlen(prefix + 4), want, comp_len, names[k]);
			prefix_matched++;
		}
		free(want);
		json_decref(root);
		free(names[k]);
	}
	/* B1 rejected; CO1, CO2, CO3, CO28 equal COMPRESSED; H1-H3 decode. */
	assert_int_equal(rejected, 1);
	assert_int_equal(matched, 4);
	assert_int_equal(decoded, 7);
	/* CO1, CO2, CO3, CO28, Z1, Z2 */
	assert_int_equal(prefix_matched, 6);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint8_t rng_byte(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint8_t)(rng_state >> 24);
}

static void test_roundtrip_all_lengths(void **state)
{
	(void)state;
	uint8_t in[301], back[301];
	char text[460];
	for (int round = 0; round < 4; round++) {
		for (size_t n = 0; n <= 300; n++) {
			for (size_t i = 0; i < n; i++)
				in[i] = round == 1 ? 0xff : round == 2 ? 0x00 : rng_byte();
			size_t tl = 0, bl = 0;
			assert_int_equal(base45_encode(in, n, text, sizeof(text), &tl), BASE45_OK);
			assert_int_equal(tl, base45_encoded_len(n));
			assert_int_equal(text[tl], '\0');
			for (size_t i = 0; i < tl; i++)
				assert_non_null(memchr(alphabet, text[i], 45));
			assert_int_equal(base45_decode(text, tl, back, sizeof(back), &bl),
			                 BASE45_OK);
			assert_int_equal(bl, n);
			if (n > 0)
				assert_memory_equal(back, in, n);
			/* exact-size buffers suffice */
			assert_int_equal(base45_decode(text, tl, back, n, &bl), BASE45_OK);
			assert_int_equal(bl, n);
			assert_int_equal(base45_encode(in, n, text, tl, &tl), BASE45_OK);
		}
	}
}

/* Too small a buffer: BASE45_ERR_NOSPACE and not a byte written past cap. */
static void test_nospace(void **state)
{
	(void)state;
	uint8_t in[40], out[64];
	char text[80];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 1; n <= sizeof(in); n++) {
		size_t need = base45_encoded_len(n), tl;
		for (size_t cap = 0; cap < need; cap++) {
			memset(text, '#', sizeof(text));
			tl = 999;
			assert_int_equal(base45_encode(in, n, text, cap, &tl), BASE45_ERR_NOSPACE);
			assert_int_equal(tl, 0);
			for (size_t i = cap; i < sizeof(text); i++)
				assert_int_equal(text[i], '#');
		}
		/* exactly enough: no room for (and no write of) the NUL */
		memset(text, '#', sizeof(text));
		assert_int_equal(base45_encode(in, n, text, need, &tl), BASE45_OK);
		assert_int_equal(tl, need);
		assert_int_equal(text[need], '#');

		size_t bl;
		for (size_t cap = 0; cap < n; cap++) {
			memset(out, 0xa5, sizeof(out));
			bl = 999;
			assert_int_equal(base45_decode(text, need, out, cap, &bl),
			                 BASE45_ERR_NOSPACE);
			assert_int_equal(bl, 0);
			for (size_t i = cap; i < sizeof(out); i++)
				assert_int_equal(out[i], 0xa5);
		}
		memset(out, 0xa5, sizeof(out));
		assert_int_equal(base45_decode(text, need, out, n, &bl), BASE45_OK);
		assert_int_equal(bl, n);
		assert_memory_equal(out, in, n);
		assert_int_equal(out[n], 0xa5);
	}
	/* NULL buffers count as no room */
	size_t l;
	assert_int_equal(base45_decode("BB8", 3, NULL, 10, &l), BASE45_ERR_NOSPACE);
	assert_int_equal(base45_encode(in, 2, NULL, 10, &l), BASE45_ERR_NOSPACE);
	assert_int_equal(base45_decode("", 0, NULL, 0, &l), BASE45_OK);
	assert_int_equal(l, 0);
	assert_int_equal(base45_encode(in, 0, NULL, 0, &l), BASE45_OK);
	assert_int_equal(l, 0);
	/* a fault in the text is reported before the lack of room */
	assert_int_equal(base45_decode("BB8bb8", 6, out, 1, &l), BASE45_ERR_CHAR);
	assert_int_equal(base45_decode("BB8GGW", 6, out, 1, &l), BASE45_ERR_VALUE);
}

/* Every byte value as a character in every position: only the 45 are accepted. */
static void test_every_byte_value(void **state)
{
	(void)state;
	size_t accepted = 0;
	for (int b = 0; b < 256; b++) {
		const char *at = b != 0 ? memchr(alphabet, b, 45) : NULL;
		const bool in_alphabet = at != NULL;
		const unsigned v = in_alphabet ? (unsigned)(at - alphabet) : 0;
		uint8_t out[4];
		size_t l;
		char t[3];

		/* first character of a triple: value v */
		t[0] = (char)b;
		t[1] = '0';
		t[2] = '0';
		enum base45_status st = base45_decode(t, 3, out, sizeof(out), &l);
		if (!in_alphabet) {
			assert_int_equal(st, BASE45_ERR_CHAR);
		} else {
			assert_int_equal(st, BASE45_OK);
			assert_int_equal(l, 2);
			assert_int_equal(out[0], 0);
			assert_int_equal(out[1], v);
			accepted++;
		}
		/* second of a triple: 45 v */
		t[0] = '0';
		t[1] = (char)b;
		st = base45_decode(t, 3, out, sizeof(out), &l);
		if (!in_alphabet) {
			assert_int_equal(st, BASE45_ERR_CHAR);
		} else {
			assert_int_equal(st, BASE45_OK);
			assert_int_equal(out[0] << 8 | out[1], 45 * v);
		}
		/* third of a triple: 2025 v, too large from v = 33 on */
		t[1] = '0';
		t[2] = (char)b;
		st = base45_decode(t, 3, out, sizeof(out), &l);
		if (!in_alphabet) {
			assert_int_equal(st, BASE45_ERR_CHAR);
		} else if (2025 * v > 65535) {
			assert_int_equal(st, BASE45_ERR_VALUE);
		} else {
			assert_int_equal(st, BASE45_OK);
			assert_int_equal(out[0] << 8 | out[1], 2025 * v);
		}
		/* either character of a final pair */
		t[0] = (char)b;
		t[1] = '0';
		st = base45_decode(t, 2, out, sizeof(out), &l);
		assert_int_equal(st, in_alphabet ? BASE45_OK : BASE45_ERR_CHAR);
		if (in_alphabet) {
			assert_int_equal(l, 1);
			assert_int_equal(out[0], v);
		}
		t[0] = '0';
		t[1] = (char)b;
		st = base45_decode(t, 2, out, sizeof(out), &l);
		if (!in_alphabet)
			assert_int_equal(st, BASE45_ERR_CHAR);
		else
			assert_int_equal(st, 45 * v > 255 ? BASE45_ERR_VALUE : BASE45_OK);
		/* a lone character: a bad one is reported as such, else the length */
		st = base45_decode(t + 1, 1, out, sizeof(out), &l);
		assert_int_equal(st, in_alphabet ? BASE45_ERR_LENGTH : BASE45_ERR_CHAR);
	}
	assert_int_equal(accepted, 45);
}

static void test_strictness(void **state)
{
	(void)state;
	/* boundaries of the group values */
	assert_int_equal(decode_status("FGW", 3), BASE45_OK);        /* 65535 */
	assert_int_equal(decode_status("GGW", 3), BASE45_ERR_VALUE); /* 65536 */
	assert_int_equal(decode_status("U5", 2), BASE45_OK);         /* 255 */
	assert_int_equal(decode_status("V5", 2), BASE45_ERR_VALUE);  /* 256 */
	assert_int_equal(decode_status("::", 2), BASE45_ERR_VALUE);
	/* a bad group after good ones, and a bad final pair after good triples */
	assert_int_equal(decode_status("BB8BB8GGW", 9), BASE45_ERR_VALUE);
	assert_int_equal(decode_status("BB8BB8V5", 8), BASE45_ERR_VALUE);
	assert_int_equal(decode_status("BB8BB8B=8", 9), BASE45_ERR_CHAR);
	/* lengths 3k+1 */
	for (size_t n = 1; n <= 31; n += 3) {
		char t[32];
		memset(t, '0', n);
		assert_int_equal(decode_status(t, n), BASE45_ERR_LENGTH);
	}
	/* every lowercase letter is refused, also in the middle of valid text */
	for (char ch = 'a'; ch <= 'z'; ch++) {
		char t[] = "BB8BB8";
		t[4] = ch;
		assert_int_equal(decode_status(t, 6), BASE45_ERR_CHAR);
	}
	/* a NUL inside the given length is a character like any other */
	assert_int_equal(decode_status("BB\0", 3), BASE45_ERR_CHAR);
	/* the length given is used, not the NUL */
	uint8_t out[8];
	size_t l;
	assert_int_equal(base45_decode("BB8GGW", 3, out, sizeof(out), &l), BASE45_OK);
	assert_int_equal(l, 2);
	assert_int_equal(out[0], 'A');
	assert_int_equal(out[1], 'B');
	/* out_len may be NULL */
	assert_int_equal(base45_decode("BB8", 3, out, sizeof(out), NULL), BASE45_OK);
	char text[8];
	assert_int_equal(base45_encode((const uint8_t *)"AB", 2, text, sizeof(text), NULL),
	                 BASE45_OK);
	assert_string_equal(text, "BB8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_status_names), cmocka_unit_test(test_lengths),
	        cmocka_unit_test(test_rfc_valid),    cmocka_unit_test(test_rfc_invalid),
	        cmocka_unit_test(test_dgc_testdata), cmocka_unit_test(test_roundtrip_all_lengths),
	        cmocka_unit_test(test_nospace),      cmocka_unit_test(test_every_byte_value),
	        cmocka_unit_test(test_strictness),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
