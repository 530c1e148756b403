/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_travel_name.c - the card's name against the passport's MRZ and the
 * boarding pass (normalisation, order, 9303 and IATA truncation, titles),
 * and the airport table (the shipped data parses; strict lines and order).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/airport.h"
#include "qrdesk/credential.h"
#include "qrdesk/travel_name.h"

static void mrz_named(struct mrz_td3 *m, const char *primary, const char *secondary)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->primary, sizeof(m->primary), "%s", primary);
	snprintf(m->secondary, sizeof(m->secondary), "%s", secondary);
	/* As the parser sets it: the name uses all 39 positions. */
	size_t len = strlen(primary) + (secondary[0] ? 2 + strlen(secondary) : 0);
	m->name_full = len >= MRZ_TD3_NAME;
}

static void test_parse(void **state)
{
	(void)state;
	struct travel_name n;
	assert_true(travel_name_parse("  Md. Abdul-Karim  D'Costa ", &n));
	assert_int_equal(n.n, 4);
	assert_string_equal(n.parts[0], "MD");
	assert_string_equal(n.parts[1], "ABDUL");
	assert_string_equal(n.parts[2], "KARIM");
	assert_string_equal(n.parts[3], "DCOSTA");
	assert_true(travel_name_parse("KHATUN<<RAHIMA", &n));
	assert_int_equal(n.n, 2);
	assert_false(travel_name_parse("RAHIMA KHATUN 2", &n));
	assert_false(travel_name_parse("RAHIMA KHATÜN", &n));
	assert_false(travel_name_parse("   ", &n));
	assert_false(travel_name_parse("", &n));
	char many[200] = "";
	for (int i = 0; i < TRAVEL_NAME_PARTS_MAX + 1; i++)
		strcat(many, "A ");
	assert_false(travel_name_parse(many, &n));
	/* The longest card name of one-letter parts (64 characters) parses. */
	many[2 * TRAVEL_NAME_PARTS_MAX - 1] = '\0';
	assert_int_equal(strlen(many), CREDENTIAL_NAME_MAX - 1);
	assert_true(travel_name_parse(many, &n));
	assert_int_equal(n.n, TRAVEL_NAME_PARTS_MAX);
}

static void test_mrz_names(void **state)
{
	(void)state;
	static const struct {
		const char *card, *primary, *secondary;
		enum travel_name_match want;
	} cases[] = {
	        {"RAHIMA KHATUN", "KHATUN", "RAHIMA", TRAVEL_NAME_EQUAL},
	        {"RAHIMA KHATUN", "RAHIMA", "KHATUN", TRAVEL_NAME_EQUAL},
	        {"Rahima Khatun", "KHATUN", "RAHIMA", TRAVEL_NAME_EQUAL},
	        {"RAHIMA KHATUN", "RAHIMA KHATUN", "", TRAVEL_NAME_EQUAL},
	        {"MD. ABDUL-KARIM", "KARIM", "MD ABDUL", TRAVEL_NAME_EQUAL},
	        {"JOHN D'COSTA", "DCOSTA", "JOHN", TRAVEL_NAME_EQUAL},
	        /* A zone's 39 characters filled with 20 one-letter parts (a fuzz find). */
	        {"T S R Q P O N M L K J I H G F E D C B A", "A B C D E F G H I J K L M N O P Q R S",
	         "T", TRAVEL_NAME_EQUAL},
	        {"RAHIMA KHATUN", "KHATUN", "", TRAVEL_NAME_DIFFERENT},
	        {"RAHIMA KHATUN", "KHATUN", "RAHIMA BEGUM", TRAVEL_NAME_DIFFERENT},
	        {"RAHIMA KHATUN", "KHATUN", "RAHIM", TRAVEL_NAME_DIFFERENT},
	        {"RAHIMA RAHIMA KHATUN", "KHATUN", "RAHIMA", TRAVEL_NAME_DIFFERENT},
	        {"RAHIMA KHATUN", "KHATUN", "RAHIMA RAHIMA", TRAVEL_NAME_DIFFERENT},
	        {"RAHIMA KHATUN1", "KHATUN", "RAHIMA", TRAVEL_NAME_UNCOMPARABLE},
	        /* 9303 truncation: the card's name is longer than 39 with separators */
	        {"MOHAMMAD ABDULLAH AL MAMUN SHAHRIAR CHOWDHURY", "CHOWDHURY",
	         "MOHAMMAD ABDULLAH AL MAMUN S", TRAVEL_NAME_TRUNCATED},
	        {"MOHAMMAD ABDULLAH AL MAMUN SHAHRIAR CHOWDHURY", "CHOWDHURY",
	         "MOHAMMAD A AL MAMUN SHAHRIAR", TRAVEL_NAME_TRUNCATED}, /* an initial */
	        {"MOHAMMAD ABDULLAH AL MAMUN SHAHRIAR CHOWDHURY", "CHOWDHURY",
	         "MOHAMMAD ABDULLAH AL MAMUN", TRAVEL_NAME_DIFFERENT}, /* not full: no cut */
	        {"MOHAMMAD ABDULLAH AL MAMUN SHAHRIAR CHOWDHURY", "CHOWDHURY",
	         "M ABDULLAH A MAMUN SHAHRIAR CHOW", TRAVEL_NAME_DIFFERENT}, /* CHOW: no part */
	        {"MOHAMMAD ABDULLAH AL MAMUN SHAHRIAR CHOWDHURY", "CHOWDHURY",
	         "M ABDULLAH A MAMUN SHAHRIAR HAQ", TRAVEL_NAME_DIFFERENT},
	        /* 9303 truncation by initials: every part still there */
	        {"MOHAMMAD ABDULLAH AL MAMUN SHAHRIAR CHOWDHURY", "CHOWDHURY", "M A A M S",
	         TRAVEL_NAME_TRUNCATED},
	        {"MOHAMMAD ABDULLAH AL MAMUN SHAHRIAR CHOWDHURY", "CHOWDHURY", "M A A M",
	         TRAVEL_NAME_DIFFERENT},
	        {"RAHIMA KHATUN", "KHATUN", "R", TRAVEL_NAME_DIFFERENT}, /* it fitted */
	        /* full, but the card's name would have fitted: no truncation allowed */
	        {"ABDULLAH AL MAMUN CHOWDHURY", "CHOWDHURYCHOWDHURY", "ABDULLAH AL MAMU",
	         TRAVEL_NAME_DIFFERENT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mrz_td3 m;
		mrz_named(&m, cases[i].primary, cases[i].secondary);
		enum travel_name_match got = travel_name_match_mrz(cases[i].card, &m);
		if (got != cases[i].want)
			fail_msg("case %zu (%s vs %s<<%s): %s, expected %s", i, cases[i].card,
			         cases[i].primary, cases[i].secondary, travel_name_match_name(got),
			         travel_name_match_name(cases[i].want));
	}
}

static void test_bcbp_names(void **state)
{
	(void)state;
	static const struct {
		const char *card, *pass_name;
		enum travel_name_match want;
	} cases[] = {
	        {"RAHIMA KHATUN", "KHATUN/RAHIMA", TRAVEL_NAME_EQUAL},
	        {"RAHIMA KHATUN", "KHATUN/RAHIMA MS", TRAVEL_NAME_EQUAL},
	        {"RAHIMA KHATUN", "KHATUN/RAHIMAMS", TRAVEL_NAME_EQUAL},
	        {"RAHIMA KHATUN", "KHATUN/RAHIMA MRS", TRAVEL_NAME_EQUAL},
	        {"RAHIMA KHATUN", "RAHIMA/KHATUN", TRAVEL_NAME_EQUAL},
	        {"RAHIMA KHATUN", "KHATUN/RAHIMAZ", TRAVEL_NAME_DIFFERENT},
	        {"RAHIMA KHATUN", "KHATUN/R", TRAVEL_NAME_DIFFERENT},
	        {"RAHIMA KHATUN", "KHATUN/", TRAVEL_NAME_DIFFERENT},
	        {"MR KHAN", "MR/KHAN", TRAVEL_NAME_EQUAL}, /* a surname MR is no title */
	        {"ALI KHAN", "KHAN/ALIMR", TRAVEL_NAME_EQUAL},
	        {"ALI KHAN", "KHAN/MR", TRAVEL_NAME_DIFFERENT},
	        /* IATA's 20 characters */
	        {"MOHAMMAD ABDULLAH CHOWDHURY", "CHOWDHURY/MOHAMMAD A", TRAVEL_NAME_TRUNCATED},
	        {"MOHAMMAD ABDULLAH CHOWDHURY", "CHOWDHURY/MOHAMMAD B", TRAVEL_NAME_DIFFERENT},
	        {"ABDULLAH CHOWDHURY", "CHOWDHURY/ABDULLAH", TRAVEL_NAME_EQUAL},
	        {"MOHAMMAD ABDULLAH CHOWDHURY", "CHOWDHURY/MOHAMMAD", TRAVEL_NAME_DIFFERENT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bcbp p;
		memset(&p, 0, sizeof(p));
		snprintf(p.name, sizeof(p.name), "%s", cases[i].pass_name);
		p.name_full = strlen(p.name) == BCBP_NAME_LEN;
		enum travel_name_match got = travel_name_match_bcbp(cases[i].card, &p);
		if (got != cases[i].want)
			fail_msg("case %zu (%s vs %s): %s, expected %s", i, cases[i].card,
			         cases[i].pass_name, travel_name_match_name(got),
			         travel_name_match_name(cases[i].want));
	}
}

static struct airport_table table;

static void test_airports_builtin(void **state)
{
	(void)state;
	size_t len = 0;
	const char *text = airport_builtin_text(&len);
	struct qd_errmsg why = {{0}};
	assert_int_equal(airport_table_parse(text, len, &table, &why), QD_OK);
	assert_true(table.n > 100);
	static const char *const pairs[][2] = {
	        {"DXB", "AE"}, {"RUH", "SA"}, {"KWI", "KW"}, {"DOH", "QA"},
	        {"MCT", "OM"}, {"BAH", "BH"}, {"KUL", "MY"}, {"SIN", "SG"},
	        {"AMM", "JO"}, {"BEY", "LB"}, {"MLE", "MV"}, {"FCO", "IT"},
	        {"LHR", "GB"}, {"NRT", "JP"}, {"ICN", "KR"}, {"DAC", "BD"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const char *cc = airport_country(&table, pairs[i][0]);
		assert_non_null(cc);
		assert_string_equal(cc, pairs[i][1]);
	}
	assert_null(airport_country(&table, "XXX"));
	assert_null(airport_country(&table, "dxb"));
	assert_null(airport_country(&table, "DX"));
	assert_null(airport_country(NULL, "DXB"));
}

static void test_airports_strict(void **state)
{
	(void)state;
	static const char *const bad[] = {
	        "",
	        "# only a comment\n",
	        "DXB AE\nAUH AE\n", /* out of order */
	        "AUH AE\nAUH AE\n", /* repeated */
	        "dxb AE\n",         /* lower case */
	        "DXB  AE\n",        /* two spaces */
	        "DXB AE\r\n",       /* CR */
	        "DXB AEX\n",        /* a third letter */
	        "DXB A1\n",
	        "DXBB AE\n",
	        "DXB AE Dubai\tInternational\n",
	        " DXB AE\n",
	};
	struct qd_errmsg why = {{0}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why.text[0] = '\0';
		if (airport_table_parse(bad[i], strlen(bad[i]), &table, &why) != QD_ERR_FORMAT)
			fail_msg("table %zu accepted", i);
		assert_int_equal(table.n, 0);
		assert_true(why.text[0] != '\0');
	}
	const char *ok = "# c\n\nAUH AE Abu Dhabi\nDXB AE";
	assert_int_equal(airport_table_parse(ok, strlen(ok), &table, &why), QD_OK);
	assert_int_equal(table.n, 2);
	assert_string_equal(airport_country(&table, "DXB"), "AE");

	/* Caps: more rows than the table holds, more bytes than the text may have. */
	size_t cap = (AIRPORT_TABLE_MAX + 1) * 7 + 1;
	char *big = malloc(cap);
	assert_non_null(big);
	size_t at = 0;
	for (int i = 0; i <= AIRPORT_TABLE_MAX; i++) {
		snprintf(big + at, cap - at, "%c%c%c AE\n", 'A' + i / 676, 'A' + i / 26 % 26,
		         'A' + i % 26);
		at += 7;
	}
	assert_int_equal(airport_table_parse(big, at, &table, &why), QD_ERR_TOO_LARGE);
	assert_int_equal(table.n, 0);
	free(big);
	assert_int_equal(airport_table_parse(ok, AIRPORT_TEXT_MAX + 1, &table, &why),
	                 QD_ERR_TOO_LARGE);
}

/* The signed refresh's body: {1: the table's text}, strictly; round trip through the encoder. */
static void test_airports_body(void **state)
{
	(void)state;
	static const char text[] = "DAC BD Dhaka\nKWI KW Kuwait\nQQQ KW a new airport\n";
	uint8_t body[256];
	size_t len = airport_body_encode(text, strlen(text), body, sizeof(body));
	assert_true(len > strlen(text) && len <= sizeof(body));
	assert_int_equal(airport_body_encode(text, strlen(text), NULL, 0), len); /* counting */
	struct qd_errmsg why = {{0}};
	assert_int_equal(airport_table_from_body(body, len, &table, &why), QD_OK);
	assert_int_equal(table.n, 3);
	assert_string_equal(airport_country(&table, "QQQ"), "KW");
	size_t entries = 0;
	assert_int_equal(airport_check_body(body, len, &entries, &why), QD_OK);
	assert_int_equal(entries, 3);
	/* Every prefix is refused, and so is one byte more. */
	for (size_t n = 0; n < len; n++) {
		assert_int_not_equal(airport_table_from_body(body, n, &table, &why), QD_OK);
		assert_int_equal(table.n, 0);
	}
	uint8_t more[257];
	memcpy(more, body, len);
	more[len] = 0;
	assert_int_equal(airport_table_from_body(more, len + 1, &table, &why), QD_ERR_FORMAT);
	/* Another key, a second entry, bytes for text, a bad table inside. */
	static const uint8_t wrong_key[] = {0xa1, 0x02, 0x66, 'D', 'A', 'C', ' ', 'B', 'D'};
	static const uint8_t two[] = {0xa2, 0x01, 0x66, 'D', 'A', 'C', ' ', 'B', 'D', 0x02, 0x00};
	static const uint8_t bytes[] = {0xa1, 0x01, 0x46, 'D', 'A', 'C', ' ', 'B', 'D'};
	static const uint8_t order[] = {0xa1, 0x01, 0x6d, 'K', 'W', 'I', ' ', 'K',
	                                'W',  '\n', 'D',  'A', 'C', ' ', 'B', 'D'};
	const struct {
		const uint8_t *b;
		size_t n;
		const char *says;
	} bad[] = {
	        {wrong_key, sizeof(wrong_key), "unknown key 2"},
	        {two, sizeof(two), "2 entries"},
	        {bytes, sizeof(bytes), "airports table"},
	        {order, sizeof(order), "out of order"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why.text[0] = '\0';
		assert_int_equal(airport_table_from_body(bad[i].b, bad[i].n, &table, &why),
		                 QD_ERR_FORMAT);
		if (strstr(why.text, bad[i].says) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, why.text, bad[i].says);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse),           cmocka_unit_test(test_mrz_names),
	        cmocka_unit_test(test_bcbp_names),      cmocka_unit_test(test_airports_builtin),
	        cmocka_unit_test(test_airports_strict), cmocka_unit_test(test_airports_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
