/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_desklist.c - the fleet's desk list (firmware/core/desklist.c): ids,
 * adding in order, the body's round trip, and every malformed body refused
 * with a message and an empty list.
 */
#include <stdlib.h>
#include <string.h>

#include "qrdesk/cbor.h"
#include "qrdesk/desklist.h"
#include "testutil.h"

static struct desk_list list, back;

static struct desk_entry entry(const char *id, uint8_t seed)
{
	struct desk_entry e = {.alg = SIGNATURE_ALG_EDDSA, .added_at = 1767225600};
	snprintf(e.id, sizeof(e.id), "%s", id);
	uint8_t secret[SIGNATURE_SECRET_LEN];
	memset(secret, seed, sizeof(secret));
	struct signature_keypair kp;
	assert_int_equal(
	        signature_keypair_from_secret(SIGNATURE_ALG_EDDSA, secret, sizeof(secret), &kp),
	        QD_OK);
	memcpy(e.public_key, kp.pub, sizeof(e.public_key));
	return e;
}

static void test_ids(void **state)
{
	(void)state;
	static const char *const good[] = {"DAC-T1-07", "a", "x.y_z-1",
	                                   "0123456789012345678901234567890"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(desk_id_valid(good[i], strlen(good[i])));
	static const char *const bad[] = {
	        "", ".", "..", "a/b", "DAC T1", "é", "01234567890123456789012345678901"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(desk_id_valid(bad[i], strlen(bad[i])));
}

static void test_add_find_round_trip(void **state)
{
	(void)state;
	struct qd_errmsg why = {{0}};
	list.n = 0;
	struct desk_entry d = entry("DAC-T1-07", 1), c = entry("CGP-T1-01", 2), z = entry("ZYL", 3);
	z.retired_at = z.added_at + 86400;
	assert_int_equal(desklist_add(&list, &d, &why), QD_OK);
	assert_int_equal(desklist_add(&list, &z, &why), QD_OK);
	assert_int_equal(desklist_add(&list, &c, &why), QD_OK);
	assert_int_equal(list.n, 3);
	assert_string_equal(list.rows[0].id, "CGP-T1-01");
	assert_string_equal(list.rows[2].id, "ZYL");
	assert_ptr_equal(desklist_find(&list, "DAC-T1-07"), &list.rows[1]);
	assert_null(desklist_find(&list, "DAC-T1-08"));
	struct desk_entry again = entry("OTHER", 1); /* DAC-T1-07's key */
	assert_int_equal(desklist_add(&list, &again, &why), QD_ERR_EXISTS);
	assert_non_null(strstr(why.text, "DAC-T1-07"));
	again = entry("DAC-T1-07", 9);
	assert_int_equal(desklist_add(&list, &again, &why), QD_ERR_EXISTS);

	size_t need = desklist_encode(&list, NULL, 0);
	assert_true(need > 0 && need <= DESKLIST_BODY_MAX);
	uint8_t *body = malloc(need);
	assert_int_equal(desklist_encode(&list, body, need), need);
	assert_int_equal(desklist_from_body(body, need, &back, &why), QD_OK);
	assert_int_equal(back.n, 3);
	assert_memory_equal(back.rows, list.rows, 3 * sizeof(list.rows[0]));
	size_t n = 0;
	assert_int_equal(desklist_check_body(body, need, &n, &why), QD_OK);
	assert_int_equal(n, 3);
	/* Every cut is refused, never read past. */
	for (size_t cut = 0; cut < need; cut++) {
		assert_int_not_equal(desklist_from_body(body, cut, &back, &why), QD_OK);
		assert_int_equal(back.n, 0);
	}
	free(body);
}

/* One desk map with the given fields, in a body. */
static size_t body_with(uint8_t *buf, size_t cap, const char *id, int64_t alg, size_t key_len,
                        int extra_key)
{
	struct desk_entry e = entry("X", 4);
	struct cbor_writer w;
	cbor_writer_init(&w, buf, cap);
	cbor_put_map(&w, 1);
	cbor_put_uint(&w, 1);
	cbor_put_array(&w, 1);
	cbor_put_map(&w, extra_key != 0 ? 5 : 4);
	cbor_put_uint(&w, 1);
	cbor_put_cstr(&w, id);
	cbor_put_uint(&w, 2);
	cbor_put_int(&w, alg);
	cbor_put_uint(&w, 3);
	cbor_put_bstr(&w, e.public_key, key_len);
	cbor_put_uint(&w, 4);
	cbor_put_uint(&w, 100);
	if (extra_key != 0) {
		cbor_put_uint(&w, (uint64_t)extra_key);
		cbor_put_uint(&w, extra_key == 5 ? 50 : 1);
	}
	return w.len;
}

static void test_bad_bodies(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct qd_errmsg why = {{0}};
	assert_int_equal(
	        desklist_from_body(buf, body_with(buf, sizeof(buf), "A", -8, 32, 0), &back, &why),
	        QD_OK);
	const struct {
		const char *id;
		int64_t alg;
		size_t key_len;
		int extra;
		const char *says;
	} bad[] = {
	        {"../a", -8, 32, 0, "id"},       {"", -8, 32, 0, "id"},
	        {"A", -7, 32, 0, "Ed25519"},     {"A", -8, 31, 0, "public key of 31"},
	        {"A", -8, 32, 6, "unknown key"}, {"A", -8, 32, 5, "retired before"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = body_with(buf, sizeof(buf), bad[i].id, bad[i].alg, bad[i].key_len,
		                       bad[i].extra);
		why.text[0] = '\0';
		assert_int_equal(desklist_from_body(buf, len, &back, &why), QD_ERR_FORMAT);
		assert_int_equal(back.n, 0);
		if (strstr(why.text, bad[i].says) == NULL)
			fail_msg("case %zu: \"%s\" does not say %s", i, why.text, bad[i].says);
	}
	static const uint8_t not_map[] = {0x80}, wrong_key[] = {0xa1, 0x02, 0x80},
	                     two[] = {0xa2, 0x01, 0x80, 0x02, 0x80},
	                     trailing[] = {0xa1, 0x01, 0x80, 0x00};
	assert_int_equal(desklist_from_body(not_map, 1, &back, &why), QD_ERR_FORMAT);
	assert_int_equal(desklist_from_body(wrong_key, 3, &back, &why), QD_ERR_FORMAT);
	assert_int_equal(desklist_from_body(two, 5, &back, &why), QD_ERR_FORMAT);
	assert_int_equal(desklist_from_body(trailing, 4, &back, &why), QD_ERR_FORMAT);
	assert_int_equal(desklist_from_body(trailing, 3, &back, &why), QD_OK); /* empty list */
	assert_int_equal(back.n, 0);
}

static int group_setup(void **state)
{
	(void)state;
	return signature_init() == QD_OK ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ids),
	        cmocka_unit_test(test_add_find_round_trip),
	        cmocka_unit_test(test_bad_bodies),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
