/* SPDX-License-Identifier: Apache-2.0 */
/* test_jsonl.c - JSON lines out (firmware/base/jsonl.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/jsonl.h"
#include "testutil.h"

static void test_lines_and_columns(void **state)
{
	(void)state;
	struct jsonl out = {0};
	assert_int_equal(jsonl_ensure(&out), QD_OK);
	assert_string_equal(out.text, "");
	static const uint8_t kid[4] = {0xde, 0xad, 0xbe, 0xef};
	uint8_t long_blob[33] = {0};
	/* Not UTF-8 (a corrupted row): "?" - neither the batch nor the field is lost. */
	json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o}", "a", jsonl_text_or_null("ok"), "b",
	                      jsonl_text_or_null("\xff\xfe"), "c", jsonl_text_or_null(NULL), "k",
	                      jsonl_hex_or_null(kid, sizeof(kid)), "l",
	                      jsonl_hex_or_null(long_blob, sizeof(long_blob)));
	assert_int_equal(jsonl_add(&out, o, JSON_SORT_KEYS), QD_OK);
	assert_int_equal(jsonl_add(&out, json_integer(7), JSON_ENCODE_ANY), QD_OK);
	assert_string_equal(
	        out.text,
	        "{\"a\":\"ok\",\"b\":\"?\",\"c\":null,\"k\":\"deadbeef\",\"l\":null}\n7\n");
	assert_int_equal(out.len, strlen(out.text));
	/* Growth past the first allocation keeps every line. */
	for (int i = 0; i < 2000; i++)
		assert_int_equal(jsonl_add(&out, json_string("0123456789"), JSON_ENCODE_ANY),
		                 QD_OK);
	assert_int_equal(out.len, strlen(out.text));
	assert_non_null(strstr(out.text + out.len - 13, "\"0123456789\"\n"));
	assert_int_equal(jsonl_add(&out, NULL, 0), QD_ERR_NOMEM);
	free(out.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_lines_and_columns)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
