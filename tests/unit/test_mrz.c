/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mrz.c - ICAO 9303 TD3 MRZs: the specimens of Doc 9303 Part 4 and of a
 * German passport, as readers send them (CR, LF, CR LF, run together); every
 * check digit broken in turn; truncated and overlong lines, lower case,
 * fillers in the wrong places, bad dates and codes; specimens written by
 * mrz_format_td3 read back.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/mrz.h"

/* ICAO Doc 9303 Part 4, Appendix A: the specimen passport of Utopia. */
#define UTO_L1 "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
#define UTO_L2 "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
/* The German specimen passport (BSI): state "D<<", unused optional data with '<' as its digit. */
#define DE_L1 "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<"
#define DE_L2 "C01X00T478D<<6408125F2702283<<<<<<<<<<<<<<<4"
/* The worked example's holder (docs/credential-format.md), check digits by 9303. */
#define BD_L1 "P<BGDKHATUN<<RAHIMA<<<<<<<<<<<<<<<<<<<<<<<<<"
#define BD_L2 "A123456784BGD9403121F3108158<<<<<<<<<<<<<<08"

static enum mrz_status parse(const char *text, struct mrz_td3 *out, struct mrz_error *err)
{
	return mrz_parse_td3(text, strlen(text), out, err);
}

static void test_check_digit(void **state)
{
	(void)state;
	/* 9303 Part 3's worked examples. */
	assert_int_equal(mrz_check_digit("520727", 6), '3');
	assert_int_equal(mrz_check_digit("L898902C3", 9), '6');
	assert_int_equal(mrz_check_digit("<<<<<<<<<<<<<<", 14), '0');
	assert_int_equal(mrz_check_digit("AB2134<<<", 9), '5');
	assert_int_equal(mrz_check_digit("ab", 2), -1);
	assert_int_equal(mrz_check_digit("", 0), '0');
}

static void test_specimens(void **state)
{
	(void)state;
	struct mrz_td3 m;
	struct mrz_error err;
	assert_int_equal(parse(UTO_L1 "\n" UTO_L2, &m, &err), MRZ_OK);
	assert_int_equal(m.type, '<');
	assert_string_equal(m.issuing_state, "UTO");
	assert_string_equal(m.primary, "ERIKSSON");
	assert_string_equal(m.secondary, "ANNA MARIA");
	assert_false(m.name_full);
	assert_string_equal(m.document_number, "L898902C3");
	assert_string_equal(m.nationality, "UTO");
	assert_int_equal(m.birth.yy, 74);
	assert_int_equal(m.birth.mm, 8);
	assert_int_equal(m.birth.dd, 12);
	assert_int_equal(m.sex, 'F');
	assert_int_equal(m.expiry.yy, 12);
	assert_int_equal(m.expiry.mm, 4);
	assert_int_equal(m.expiry.dd, 15);
	assert_string_equal(m.optional_data, "ZE184226B");

	assert_int_equal(parse(DE_L1 "\r\n" DE_L2 "\r\n", &m, &err), MRZ_OK);
	assert_string_equal(m.issuing_state, "D");
	assert_string_equal(m.nationality, "D");
	assert_string_equal(m.primary, "MUSTERMANN");
	assert_string_equal(m.secondary, "ERIKA");
	assert_string_equal(m.document_number, "C01X00T47");
	assert_string_equal(m.optional_data, "");

	assert_int_equal(parse(BD_L1 "\r" BD_L2 "\r", &m, &err), MRZ_OK);
	assert_string_equal(m.document_number, "A12345678");
	assert_string_equal(m.nationality, "BGD");
	assert_int_equal(mrz_expiry_days(&m), 22506); /* 2031-08-15 */
}

/* Every separator a reader sends, and none. */
static void test_separators(void **state)
{
	(void)state;
	static const char *const ok[] = {
	        UTO_L1 "\n" UTO_L2,      UTO_L1 "\r" UTO_L2,          UTO_L1 "\r\n" UTO_L2,
	        UTO_L1 "\n" UTO_L2 "\n", UTO_L1 "\r\n" UTO_L2 "\r\n", UTO_L1 "\r" UTO_L2 "\r",
	        UTO_L1 UTO_L2,           UTO_L1 UTO_L2 "\n",
	};
	static const char *const bad[] = {
	        UTO_L1 "\n\n" UTO_L2,
	        UTO_L1 "\n" UTO_L2 "\n\n",
	        UTO_L1 " " UTO_L2,
	        UTO_L1 "\n\r" UTO_L2,
	        "\n" UTO_L1 "\n" UTO_L2,
	        UTO_L1 "\n" UTO_L2 "\nX",
	        UTO_L1 "\n" UTO_L2 " ",
	        UTO_L1,
	        UTO_L1 "\n",
	        "",
	};
	struct mrz_td3 m;
	struct mrz_error err;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(parse(ok[i], &m, &err), MRZ_OK);
		assert_string_equal(m.document_number, "L898902C3");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum mrz_status st = parse(bad[i], &m, &err);
		if (st == MRZ_OK)
			fail_msg("separator case %zu accepted", i);
		assert_true(st == MRZ_ERR_LAYOUT || st == MRZ_ERR_CHARSET);
		assert_string_equal(m.document_number, ""); /* nothing half-filled */
	}
	assert_int_equal(mrz_parse_td3(NULL, 0, &m, &err), MRZ_ERR_LAYOUT);
}

/* Each check digit broken in turn names its own field; a changed character its field's. */
static void test_each_check_digit(void **state)
{
	(void)state;
	static const struct {
		unsigned column; /* 1-based in line 2 */
		enum mrz_field field;
	} cases[] = {
	        {10, MRZ_FIELD_DOCUMENT_NUMBER},
	        {20, MRZ_FIELD_BIRTH_DATE},
	        {28, MRZ_FIELD_EXPIRY_DATE},
	        {43, MRZ_FIELD_OPTIONAL_DATA},
	        {44, MRZ_FIELD_COMPOSITE},
	        /* data changed under a good digit */
	        {3, MRZ_FIELD_DOCUMENT_NUMBER},
	        {18, MRZ_FIELD_BIRTH_DATE},
	        {26, MRZ_FIELD_EXPIRY_DATE},
	        {31, MRZ_FIELD_OPTIONAL_DATA},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char l2[] = UTO_L2;
		char *p = &l2[cases[i].column - 1];
		*p = *p >= '0' && *p <= '8' ? (char)(*p + 1) : (*p == '9' ? '0' : 'Q');
		char text[100];
		snprintf(text, sizeof(text), "%s\n%s", UTO_L1, l2);
		struct mrz_td3 m;
		struct mrz_error err;
		assert_int_equal(parse(text, &m, &err), MRZ_ERR_CHECK_DIGIT);
		if (err.field != cases[i].field)
			fail_msg("column %u: %s, expected %s", cases[i].column,
			         mrz_field_name(err.field), mrz_field_name(cases[i].field));
		assert_int_equal(err.line, 2);
	}
	/* A filler as a check digit: only the unused optional data may have one. */
	char l2[] = UTO_L2;
	l2[9] = '<';
	struct mrz_td3 m;
	struct mrz_error err;
	char text[100];
	snprintf(text, sizeof(text), "%s\n%s", UTO_L1, l2);
	assert_int_equal(parse(text, &m, &err), MRZ_ERR_VALUE);
	assert_int_equal(err.field, MRZ_FIELD_DOCUMENT_NUMBER);
	char l2b[] = UTO_L2;
	l2b[42] = '<'; /* optional data ZE184226B is used: its digit must be a digit */
	snprintf(text, sizeof(text), "%s\n%s", UTO_L1, l2b);
	assert_int_equal(parse(text, &m, &err), MRZ_ERR_VALUE);
	assert_int_equal(err.field, MRZ_FIELD_OPTIONAL_DATA);
}

/* Bad values: one change each to the specimen, with the field and position expected. */
static void test_bad_values(void **state)
{
	(void)state;
	static const struct {
		const char *l1, *l2;
		enum mrz_status status;
		enum mrz_field field;
		unsigned line, column;
	} cases[] = {
	        /* lower case */
	        {"P<UTOeriksson<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_CHARSET,
	         MRZ_FIELD_CHARSET, 1, 6},
	        {UTO_L1, "l898902C36UTO7408122F1204159ZE184226B<<<<<10", MRZ_ERR_CHARSET,
	         MRZ_FIELD_CHARSET, 2, 1},
	        /* a space where a filler belongs */
	        {"P<UTOERIKSSON  ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_CHARSET,
	         MRZ_FIELD_CHARSET, 1, 14},
	        /* not a passport: a visa, an ID card's code */
	        {"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_DOCUMENT_CODE, 1, 1},
	        {"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_DOCUMENT_CODE, 1, 1},
	        {"P1UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_DOCUMENT_CODE, 1, 1},
	        /* wrong fillers */
	        {"P<U<OERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_ISSUING_STATE, 1, 3},
	        {"P<<UTERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_ISSUING_STATE, 1, 3},
	        {"P<UTOERIKSSON<<<ANNA<MARIA<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_NAME, 1, 6},
	        {"P<UTOERIKSSON<<ANNA<<MARIA<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_NAME, 1, 6},
	        {"P<UTO<ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_NAME, 1, 6},
	        {"P<UTO<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_NAME, 1, 6},
	        {"P<UTOERIK5SON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_L2, MRZ_ERR_VALUE,
	         MRZ_FIELD_NAME, 1, 6},
	        {UTO_L1, "L898902C36U<O7408122F1204159ZE184226B<<<<<10", MRZ_ERR_VALUE,
	         MRZ_FIELD_NATIONALITY, 2, 11},
	        {UTO_L1, "<898902C36UTO7408122F1204159ZE184226B<<<<<10", MRZ_ERR_VALUE,
	         MRZ_FIELD_DOCUMENT_NUMBER, 2, 1},
	        /* dates: month 13, day 32, 30 February, a letter */
	        {UTO_L1, "L898902C36UTO7413122F1204159ZE184226B<<<<<10", MRZ_ERR_VALUE,
	         MRZ_FIELD_BIRTH_DATE, 2, 14},
	        {UTO_L1, "L898902C36UTO7408322F1204159ZE184226B<<<<<10", MRZ_ERR_VALUE,
	         MRZ_FIELD_BIRTH_DATE, 2, 14},
	        {UTO_L1, "L898902C36UTO7402302F1204159ZE184226B<<<<<10", MRZ_ERR_VALUE,
	         MRZ_FIELD_BIRTH_DATE, 2, 14},
	        {UTO_L1, "L898902C36UTO74081<2F1204159ZE184226B<<<<<10", MRZ_ERR_VALUE,
	         MRZ_FIELD_BIRTH_DATE, 2, 14},
	        {UTO_L1, "L898902C36UTO7408122F1200159ZE184226B<<<<<10", MRZ_ERR_VALUE,
	         MRZ_FIELD_EXPIRY_DATE, 2, 22},
	        {UTO_L1, "L898902C36UTO7408122Q1204159ZE184226B<<<<<10", MRZ_ERR_VALUE,
	         MRZ_FIELD_SEX, 2, 21},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[100];
		snprintf(text, sizeof(text), "%s\n%s", cases[i].l1, cases[i].l2);
		struct mrz_td3 m;
		struct mrz_error err;
		enum mrz_status st = parse(text, &m, &err);
		if (st != cases[i].status || err.field != cases[i].field ||
		    err.line != cases[i].line || err.column != cases[i].column)
			fail_msg("case %zu: status %d field %s at %u:%u", i, st,
			         mrz_field_name(err.field), err.line, err.column);
		assert_int_equal(m.sex, 0);
	}
	/* A leap day: 29 February 2000 (YY 00) is a date; 29 February of YY 01 is not. */
	struct mrz_td3 m = {0};
	struct mrz_error err;
	memcpy(m.primary, "A", 2);
	memcpy(m.document_number, "X1", 3);
	memcpy(m.issuing_state, "BGD", 4);
	memcpy(m.nationality, "BGD", 4);
	m.sex = 'M';
	m.birth = (struct mrz_date){0, 2, 29};
	m.expiry = (struct mrz_date){30, 1, 1};
	char out[MRZ_TEXT_MAX + 1];
	assert_int_equal(mrz_format_td3(&m, out), QD_OK);
	assert_int_equal(parse(out, &m, &err), MRZ_OK);
	m.birth = (struct mrz_date){1, 2, 29};
	assert_int_equal(mrz_format_td3(&m, out), QD_OK);
	assert_int_equal(parse(out, &m, &err), MRZ_ERR_VALUE);
	assert_int_equal(err.field, MRZ_FIELD_BIRTH_DATE);
}

/* Truncated, overlong and 200-character lines; every prefix of a good MRZ. */
static void test_lengths(void **state)
{
	(void)state;
	char line[201];
	memset(line, '<', 200);
	line[0] = 'P';
	line[200] = '\0';
	char text[420];
	struct mrz_td3 m;
	struct mrz_error err;
	snprintf(text, sizeof(text), "%s\n%s", line, line);
	assert_int_equal(parse(text, &m, &err), MRZ_ERR_LAYOUT);
	snprintf(text, sizeof(text), "%s\n%s", UTO_L1, line);
	assert_int_equal(parse(text, &m, &err), MRZ_ERR_LAYOUT);
	snprintf(text, sizeof(text), "%s<\n%s", UTO_L1, UTO_L2); /* 45 then 44 */
	assert_int_equal(parse(text, &m, &err), MRZ_ERR_LAYOUT);
	snprintf(text, sizeof(text), "%.43s\n%s<", UTO_L1, UTO_L2); /* 43 then 45 */
	assert_int_equal(parse(text, &m, &err), MRZ_ERR_LAYOUT);
	snprintf(text, sizeof(text), "%s\n%s\n%s", UTO_L1, UTO_L2, UTO_L2); /* three lines */
	assert_int_equal(parse(text, &m, &err), MRZ_ERR_LAYOUT);
	const char *good = UTO_L1 "\r\n" UTO_L2 "\r\n";
	for (size_t n = 0; n < 2 * MRZ_TD3_LINE + 2; n++) {
		char cut[100];
		memcpy(cut, good, n);
		if (mrz_parse_td3(cut, n, &m, &err) == MRZ_OK)
			fail_msg("a prefix of %zu bytes parsed", n);
	}
	assert_true(mrz_is_td3_line1(UTO_L1, 44));
	assert_false(mrz_is_td3_line1(UTO_L2, 44));
	assert_true(mrz_is_td3_line2(UTO_L2, 44));
	assert_false(mrz_is_td3_line2(UTO_L2, 43));
	assert_false(mrz_is_td3_line2("l898902C36UTO7408122F1204159ZE184226B<<<<<10", 44));
}

/* Written specimens read back to what was written, long names cut by 9303's rule. */
static void test_format_round_trip(void **state)
{
	(void)state;
	struct mrz_td3 in, out;
	memset(&in, 0, sizeof(in));
	struct mrz_error err;
	char text[MRZ_TEXT_MAX + 1];
	in.type = '<';
	memcpy(in.issuing_state, "BGD", 4);
	memcpy(in.primary, "KHATUN", 7);
	memcpy(in.secondary, "RAHIMA", 7);
	memcpy(in.document_number, "A12345678", 10);
	memcpy(in.nationality, "BGD", 4);
	in.birth = (struct mrz_date){94, 3, 12};
	in.sex = 'F';
	in.expiry = (struct mrz_date){31, 8, 15};
	assert_int_equal(mrz_format_td3(&in, text), QD_OK);
	assert_string_equal(text, BD_L1 "\n" BD_L2);
	assert_int_equal(parse(text, &out, &err), MRZ_OK);
	assert_memory_equal(&in, &out, sizeof(in));

	snprintf(in.primary, sizeof(in.primary), "CHOWDHURY");
	snprintf(in.secondary, sizeof(in.secondary), "MOHAMMAD ABDULLAH AL MAMUN SHAHRIAR");
	in.sex = 'X';
	assert_int_equal(mrz_format_td3(&in, text), QD_OK);
	assert_memory_equal(text, "P<BGDCHOWDHURY<<MOHAMMAD<ABDULLAH<AL<MAMUN<S\n", 45);
	assert_int_equal(parse(text, &out, &err), MRZ_OK);
	assert_true(out.name_full);
	assert_string_equal(out.secondary, "MOHAMMAD ABDULLAH AL MAMUN S");
	assert_int_equal(out.sex, 'X');
	assert_int_equal(text[MRZ_TD3_LINE + 1 + 20], '<');

	in.sex = 'M';
	snprintf(in.document_number, sizeof(in.document_number), "a1");
	assert_int_equal(mrz_format_td3(&in, text), QD_ERR_FORMAT);
	snprintf(in.document_number, sizeof(in.document_number), "A1");
	in.sex = 'Q';
	assert_int_equal(mrz_format_td3(&in, text), QD_ERR_FORMAT);
	in.sex = 'M';
	in.primary[0] = '\0';
	assert_int_equal(mrz_format_td3(&in, text), QD_ERR_FORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_check_digit),       cmocka_unit_test(test_specimens),
	        cmocka_unit_test(test_separators),        cmocka_unit_test(test_each_check_digit),
	        cmocka_unit_test(test_bad_values),        cmocka_unit_test(test_lengths),
	        cmocka_unit_test(test_format_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
