/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_usedlist.c - the fleet's "already used" list (firmware/core/usedlist.c):
 * the body's round trip, lookups, and every malformed body refused with a
 * message and an empty list.
 */
#include <stdlib.h>
#include <string.h>

#include "qrdesk/cbor.h"
#include "qrdesk/usedlist.h"
#include "testutil.h"

static struct used_entry entry(uint8_t first_byte, const char *desk)
{
	struct used_entry e = {.first_at = 1795000000};
	memset(e.pseudonym, 0x5a, sizeof(e.pseudonym));
	e.pseudonym[0] = first_byte;
	snprintf(e.desk, sizeof(e.desk), "%s", desk);
	return e;
}

static void test_round_trip_and_find(void **state)
{
	(void)state;
	struct used_entry rows[3] = {entry(1, "DAC-T1-07"), entry(2, "CGP-T1-02"),
	                             entry(0xf0, "0123456789012345678901234567890")};
	rows[2].first_at = 4102444799; /* 2099-12-31: past 32 bits of seconds' first byte */
	struct used_list list = {3, rows}, back = {0};
	size_t need = usedlist_encode(&list, NULL, 0);
	uint8_t *body = malloc(need);
	assert_non_null(body);
	assert_int_equal(usedlist_encode(&list, body, need), need);
	struct qd_errmsg why = {{0}};
	assert_int_equal(usedlist_from_body(body, need, &back, &why), QD_OK);
	assert_int_equal(back.n, 3);
	assert_memory_equal(back.rows, rows, sizeof(rows));
	for (size_t i = 0; i < 3; i++) {
		const struct used_entry *e = usedlist_find(&back, rows[i].pseudonym);
		assert_non_null(e);
		assert_string_equal(e->desk, rows[i].desk);
	}
	struct used_entry absent = entry(3, "X");
	assert_null(usedlist_find(&back, absent.pseudonym));
	size_t n = 99;
	assert_int_equal(usedlist_check_body(body, need, &n, &why), QD_OK);
	assert_int_equal(n, 3);
	usedlist_free(&back);
	/* One byte short: refused, nothing kept. */
	assert_int_not_equal(usedlist_from_body(body, need - 1, &back, &why), QD_OK);
	assert_int_equal(back.n, 0);
	assert_null(back.rows);
	free(body);

	/* An empty list is a list. */
	struct used_list empty = {0, NULL};
	uint8_t small[8];
	size_t len = usedlist_encode(&empty, small, sizeof(small));
	assert_int_equal(usedlist_from_body(small, len, &back, &why), QD_OK);
	assert_int_equal(back.n, 0);
	assert_null(usedlist_find(&back, absent.pseudonym));
	usedlist_free(&back);
	usedlist_free(&back); /* twice: harmless */
}

/* A body {1: [entries]} with each entry as the case writes it. */
struct bad_case {
	const char *name;
	void (*write)(struct cbor_writer *w);
};

static void one(struct cbor_writer *w, uint8_t first, const char *desk)
{
	uint8_t p[TRUST_HASH_LEN];
	memset(p, 0x5a, sizeof(p));
	p[0] = first;
	cbor_put_array(w, 3);
	cbor_put_bstr(w, p, sizeof(p));
	cbor_put_uint(w, 1795000000);
	cbor_put_cstr(w, desk);
}

static void head(struct cbor_writer *w, size_t n)
{
	cbor_put_map(w, 1);
	cbor_put_uint(w, 1);
	cbor_put_array(w, n);
}

static void w_out_of_order(struct cbor_writer *w)
{
	head(w, 2);
	one(w, 2, "A");
	one(w, 1, "B");
}
static void w_repeated(struct cbor_writer *w)
{
	head(w, 2);
	one(w, 1, "A");
	one(w, 1, "B");
}
static void w_bad_desk(struct cbor_writer *w)
{
	head(w, 1);
	one(w, 1, "DAC T1");
}
static void w_empty_desk(struct cbor_writer *w)
{
	head(w, 1);
	one(w, 1, "");
}
static void w_short_pseudonym(struct cbor_writer *w)
{
	head(w, 1);
	cbor_put_array(w, 3);
	cbor_put_bstr(w, (const uint8_t *)"12345678", 8);
	cbor_put_uint(w, 1795000000);
	cbor_put_cstr(w, "A");
}
static void w_negative_time(struct cbor_writer *w)
{
	head(w, 1);
	uint8_t p[TRUST_HASH_LEN] = {0};
	cbor_put_array(w, 3);
	cbor_put_bstr(w, p, sizeof(p));
	cbor_put_int(w, -5);
	cbor_put_cstr(w, "A");
}
static void w_four_fields(struct cbor_writer *w)
{
	head(w, 1);
	uint8_t p[TRUST_HASH_LEN] = {0};
	cbor_put_array(w, 4);
	cbor_put_bstr(w, p, sizeof(p));
	cbor_put_uint(w, 1);
	cbor_put_cstr(w, "A");
	cbor_put_uint(w, 1);
}
static void w_more_than_fits(struct cbor_writer *w)
{
	head(w, 100000); /* no allocation for what the bytes cannot hold */
	one(w, 1, "A");
}
static void w_too_many(struct cbor_writer *w)
{
	head(w, (size_t)USEDLIST_MAX + 1);
}
static void w_wrong_key(struct cbor_writer *w)
{
	cbor_put_map(w, 1);
	cbor_put_uint(w, 2);
	cbor_put_array(w, 0);
}
static void w_trailing(struct cbor_writer *w)
{
	head(w, 1);
	one(w, 1, "A");
	cbor_put_uint(w, 0);
}
static void w_not_a_map(struct cbor_writer *w)
{
	cbor_put_array(w, 0);
}

static void test_bad_bodies(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	        {"out of order", w_out_of_order},
	        {"repeated", w_repeated},
	        {"bad desk", w_bad_desk},
	        {"empty desk", w_empty_desk},
	        {"short pseudonym", w_short_pseudonym},
	        {"negative time", w_negative_time},
	        {"four fields", w_four_fields},
	        {"more than fits", w_more_than_fits},
	        {"too many", w_too_many},
	        {"wrong key", w_wrong_key},
	        {"trailing", w_trailing},
	        {"not a map", w_not_a_map},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[512];
		struct cbor_writer w;
		cbor_writer_init(&w, buf, sizeof(buf));
		cases[i].write(&w);
		assert_true(w.len <= sizeof(buf));
		struct used_list list = {7, (struct used_entry *)buf};
		struct qd_errmsg why = {{0}};
		enum qd_err rc = usedlist_from_body(buf, w.len, &list, &why);
		if (rc == QD_OK)
			fail_msg("%s: accepted", cases[i].name);
		assert_int_equal(list.n, 0);
		assert_null(list.rows);
		assert_true(why.text[0] != '\0');
		size_t n = 9;
		assert_int_equal(usedlist_check_body(buf, w.len, &n, &why), rc);
		assert_int_equal(n, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip_and_find),
	        cmocka_unit_test(test_bad_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
