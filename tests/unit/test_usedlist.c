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

/* ---- deltas --------------------------------------------------------------- */

static uint8_t *encode_list(const struct used_list *list, size_t *len)
{
	*len = usedlist_encode(list, NULL, 0);
	uint8_t *body = malloc(*len);
	assert_non_null(body);
	assert_int_equal(usedlist_encode(list, body, *len), *len);
	return body;
}

static uint8_t *encode_delta(const struct used_delta *d, size_t *len)
{
	*len = usedlist_delta_encode(d, NULL, 0);
	uint8_t *body = malloc(*len);
	assert_non_null(body);
	assert_int_equal(usedlist_delta_encode(d, body, *len), *len);
	return body;
}

/* from -> to: made, encoded, decoded and applied gives to, as lists and as bodies. */
static void test_delta_round_trip(void **state)
{
	(void)state;
	struct used_entry a[4] = {entry(1, "DAC-T1-07"), entry(2, "CGP-T1-02"), entry(5, "A"),
	                          entry(9, "B")};
	/* 1 stays, 2 goes, 5 changes desk, 9 stays; 3 and 0xf0 are new. */
	struct used_entry b[5] = {entry(1, "DAC-T1-07"), entry(3, "ZYL-1"), entry(5, "C"),
	                          entry(9, "B"), entry(0xf0, "DAC-T1-07")};
	struct used_list from = {4, a}, to = {5, b};
	struct used_delta d;
	struct qd_errmsg why = {{0}};
	assert_int_equal(usedlist_delta_make(&from, &to, &d, &why), QD_OK);
	assert_int_equal(d.added.n, 3);   /* 3, 5 (changed), 0xf0 */
	assert_int_equal(d.n_removed, 2); /* 2, 5 (changed) */
	size_t dlen = 0, flen = 0, tlen = 0;
	uint8_t *dbody = encode_delta(&d, &dlen);
	uint8_t *fbody = encode_list(&from, &flen);
	uint8_t *tbody = encode_list(&to, &tlen);
	usedlist_delta_free(&d);

	struct used_delta back;
	assert_int_equal(usedlist_delta_from_body(dbody, dlen, &back, &why), QD_OK);
	size_t n = 0;
	assert_int_equal(usedlist_delta_check_body(dbody, dlen, &n, &why), QD_OK);
	assert_int_equal(n, 5);
	struct used_list got;
	assert_int_equal(usedlist_delta_apply(&from, &back, &got, &why), QD_OK);
	assert_int_equal(got.n, 5);
	assert_memory_equal(got.rows, b, sizeof(b));
	usedlist_free(&got);
	usedlist_delta_free(&back);

	uint8_t *out = NULL;
	size_t out_len = 0;
	assert_int_equal(usedlist_apply_delta_body(fbody, flen, dbody, dlen, &out, &out_len, &why),
	                 QD_OK);
	assert_int_equal(out_len, tlen);
	assert_memory_equal(out, tbody, tlen);
	free(out);

	/* Applied twice: the list is no longer its base, refused, nothing out. */
	out = (uint8_t *)"x";
	assert_int_equal(usedlist_apply_delta_body(tbody, tlen, dbody, dlen, &out, &out_len, &why),
	                 QD_ERR_BASE);
	assert_null(out);
	assert_int_equal(out_len, 0);
	assert_non_null(strstr(why.text, "not the delta's base"));

	/* No change: an empty delta, which applies to its base as the same list. */
	assert_int_equal(usedlist_delta_make(&to, &to, &d, &why), QD_OK);
	assert_int_equal(d.added.n + d.n_removed, 0);
	assert_int_equal(usedlist_delta_apply(&to, &d, &got, &why), QD_OK);
	assert_int_equal(got.n, 5);
	usedlist_free(&got);
	usedlist_delta_free(&d);
	free(dbody);
	free(fbody);
	free(tbody);
}

/* A delta made from another list: each way it can miss its base is QD_ERR_BASE. */
static void test_delta_wrong_base(void **state)
{
	(void)state;
	struct used_entry base_rows[2] = {entry(2, "A"), entry(4, "B")};
	struct used_list base = {2, base_rows};
	struct used_entry add_rows[1];
	uint8_t removed[1][TRUST_HASH_LEN];
	struct used_delta d = {.added = {1, add_rows}, .removed = removed, .n_removed = 1};
	static const struct {
		const char *name;
		uint8_t add, remove;
	} cases[] = {
	        {"removed card absent (before all)", 7, 1},
	        {"removed card absent (between)", 7, 3},
	        {"removed card absent (after all)", 7, 5},
	        {"added card present", 4, 2},
	        {"added card present, another removed", 2, 4},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		add_rows[0] = entry(cases[i].add, "C");
		struct used_entry r = entry(cases[i].remove, "C");
		memcpy(removed[0], r.pseudonym, TRUST_HASH_LEN);
		struct used_list out = {7, base_rows};
		struct qd_errmsg why = {{0}};
		if (usedlist_delta_apply(&base, &d, &out, &why) != QD_ERR_BASE)
			fail_msg("%s: not refused as the wrong base", cases[i].name);
		assert_int_equal(out.n, 0);
		assert_null(out.rows);
		assert_true(why.text[0] != '\0');
	}
	/* Removed and re-added (a changed first use) applies. */
	add_rows[0] = entry(4, "C");
	struct used_entry r = entry(4, "B");
	memcpy(removed[0], r.pseudonym, TRUST_HASH_LEN);
	struct used_list out;
	struct qd_errmsg why = {{0}};
	assert_int_equal(usedlist_delta_apply(&base, &d, &out, &why), QD_OK);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.rows[1].desk, "C");
	usedlist_free(&out);
}

static void d_head(struct cbor_writer *w, size_t n_added)
{
	cbor_put_map(w, 2);
	cbor_put_uint(w, 1);
	cbor_put_array(w, n_added);
}

static void d_removed(struct cbor_writer *w, size_t n)
{
	cbor_put_uint(w, 2);
	cbor_put_array(w, n);
}

static void d_bstr(struct cbor_writer *w, uint8_t first, size_t len)
{
	uint8_t p[TRUST_HASH_LEN + 1];
	memset(p, 0x5a, sizeof(p));
	p[0] = first;
	cbor_put_bstr(w, p, len);
}

static void dw_added_out_of_order(struct cbor_writer *w)
{
	d_head(w, 2);
	one(w, 2, "A");
	one(w, 1, "A");
	d_removed(w, 0);
}

static void dw_removed_repeated(struct cbor_writer *w)
{
	d_head(w, 0);
	d_removed(w, 2);
	d_bstr(w, 1, TRUST_HASH_LEN);
	d_bstr(w, 1, TRUST_HASH_LEN);
}

static void dw_removed_short(struct cbor_writer *w)
{
	d_head(w, 0);
	d_removed(w, 1);
	d_bstr(w, 1, TRUST_HASH_LEN - 1);
}

static void dw_removed_long(struct cbor_writer *w)
{
	d_head(w, 0);
	d_removed(w, 1);
	d_bstr(w, 1, TRUST_HASH_LEN + 1);
}

static void dw_removed_past_bytes(struct cbor_writer *w)
{
	d_head(w, 0);
	d_removed(w, 100000);
}

static void dw_added_bad_desk(struct cbor_writer *w)
{
	d_head(w, 1);
	one(w, 1, "no spaces");
	d_removed(w, 0);
}

static void dw_keys_swapped(struct cbor_writer *w)
{
	cbor_put_map(w, 2);
	d_removed(w, 0);
	cbor_put_uint(w, 1);
	cbor_put_array(w, 0);
}

static void dw_one_key(struct cbor_writer *w)
{
	d_head(w, 0);
}

static void dw_trailing(struct cbor_writer *w)
{
	d_head(w, 0);
	d_removed(w, 0);
	cbor_put_uint(w, 0);
}

static void dw_a_list(struct cbor_writer *w)
{
	head(w, 1); /* a whole list is not a delta */
	one(w, 1, "A");
}

static void dw_too_many(struct cbor_writer *w)
{
	d_head(w, 0);
	d_removed(w, USEDLIST_MAX + 1);
}

static void test_delta_bad_bodies(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	        {"added out of order", dw_added_out_of_order},
	        {"removed repeated", dw_removed_repeated},
	        {"removed short", dw_removed_short},
	        {"removed long", dw_removed_long},
	        {"removed past the bytes", dw_removed_past_bytes},
	        {"added bad desk", dw_added_bad_desk},
	        {"keys swapped", dw_keys_swapped},
	        {"one key", dw_one_key},
	        {"trailing", dw_trailing},
	        {"a list", dw_a_list},
	        {"too many", dw_too_many},
	};
	struct used_entry rows[1] = {entry(1, "A")};
	struct used_list base = {1, rows};
	size_t blen = 0;
	uint8_t *bbody = encode_list(&base, &blen);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[512];
		struct cbor_writer w;
		cbor_writer_init(&w, buf, sizeof(buf));
		cases[i].write(&w);
		assert_true(w.len <= sizeof(buf));
		struct used_delta d;
		struct qd_errmsg why = {{0}};
		enum qd_err rc = usedlist_delta_from_body(buf, w.len, &d, &why);
		if (rc == QD_OK)
			fail_msg("%s: accepted", cases[i].name);
		assert_int_equal(d.added.n + d.n_removed, 0);
		assert_null(d.added.rows);
		assert_null(d.removed);
		assert_true(why.text[0] != '\0');
		size_t n = 9;
		assert_int_equal(usedlist_delta_check_body(buf, w.len, &n, &why), rc);
		assert_int_equal(n, 0);
		uint8_t *out = NULL;
		size_t out_len = 0;
		assert_int_equal(
		        usedlist_apply_delta_body(bbody, blen, buf, w.len, &out, &out_len, &why),
		        rc);
		assert_null(out);
	}
	free(bbody);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip_and_find), cmocka_unit_test(test_bad_bodies),
	        cmocka_unit_test(test_delta_round_trip),    cmocka_unit_test(test_delta_wrong_base),
	        cmocka_unit_test(test_delta_bad_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
