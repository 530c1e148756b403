/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_bcbp.c - IATA BCBP boarding passes: the examples of Resolution 792
 * (Attachment B: mandatory items with security data, two legs, and the
 * airlines' home-printed and kiosk passes of its appendix), each item broken
 * in turn, every prefix, trailing bytes, lower case, 200-character tails;
 * specimens written by bcbp_format read back.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/bcbp.h"

#define SECURITY                                                                                   \
	"^164GIWVC5EH7JNT684FVNJ91W2QA4DVN5J8K4F0L0GEQ3DF5TGBN8709HKT5D3DW3GBHFCVHMY7J5T6HFR41W2Q" \
	"A4"                                                                                       \
	"DVN5J8K4F0L0GE"
/* Example 1: the mandatory items and security data. */
#define EX1_MANDATORY "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100"
#define EX1           EX1_MANDATORY SECURITY
/* Example 2: two legs, conditional items, security data. */
#define EX2                                                                                        \
	"M2DESMARAIS/LUC       EABC123 YULFRAAC 0834 226F001A0025 14D>6181WW6225BAC "              \
	"00141234560032A"                                                                          \
	"0141234567890 1AC AC 1234567890123    20KYLX58ZDEF456 FRAGVALH 3664 227C012C0002 "        \
	"12E2A01409"                                                                               \
	"87654321 1AC AC 1234567890123    2PCNWQ" SECURITY
/* Appendix: Lufthansa home-printed (version 2), KLM (unique items cut short), United kiosk. */
#define LH                                                                                         \
	"M1TEST/HIDDEN         E8OQ6FU FRARLGLH 4010 012C004D0001 35C>2180WW6012BLH              " \
	"2922"                                                                                     \
	"023642241060 LH                        *30600000K09         "
#define KL "M1TEST/PETER          E24Z5RN AMSBRUKL 1733 019M008A0001 316>503  W0D0742497067621"
#define UA                                                                                         \
	"M1ASKREN/TEST         EA272SL ORDNRTUA 0881 007F002K0303 15C>3180 K6007BUA              " \
	"2901"                                                                                     \
	"624760758980 UA UA EY975897            *30600    09  UAG    "

static enum bcbp_status parse(const char *text, struct bcbp *out, struct bcbp_error *err)
{
	return bcbp_parse(text, strlen(text), out, err);
}

static void test_example_1(void **state)
{
	(void)state;
	struct bcbp p;
	struct bcbp_error err;
	assert_int_equal(strlen(EX1_MANDATORY), BCBP_MANDATORY_LEN);
	assert_int_equal(parse(EX1, &p, &err), BCBP_OK);
	assert_int_equal(p.n_legs, 1);
	assert_string_equal(p.name, "DESMARAIS/LUC");
	assert_false(p.name_full);
	assert_int_equal(p.eticket, 'E');
	assert_false(p.has_version);
	const struct bcbp_leg *l = &p.legs[0];
	assert_string_equal(l->pnr, "ABC123");
	assert_string_equal(l->from, "YUL");
	assert_string_equal(l->to, "FRA");
	assert_string_equal(l->carrier, "AC");
	assert_string_equal(l->flight, "0834");
	assert_int_equal(l->flight_day, 326);
	assert_int_equal(l->compartment, 'J');
	assert_string_equal(l->seat, "001A");
	assert_string_equal(l->sequence, "0025");
	assert_int_equal(l->passenger_status, '1');
	assert_int_equal(l->n_conditional, 0);
	assert_true(p.has_security);
	assert_int_equal(p.security_type, '1');
	assert_int_equal(p.security_len, 100);
	assert_ptr_equal(bcbp_final_leg(&p), l);

	assert_int_equal(parse(EX1_MANDATORY, &p, &err), BCBP_OK);
	assert_false(p.has_security);
	assert_int_equal(parse(EX1_MANDATORY "\r\n", &p, &err), BCBP_OK);
	assert_int_equal(parse(EX1 "\n", &p, &err), BCBP_OK);
}

static void test_example_2(void **state)
{
	(void)state;
	struct bcbp p;
	struct bcbp_error err;
	assert_int_equal(parse(EX2, &p, &err), BCBP_OK);
	assert_int_equal(p.n_legs, 2);
	assert_true(p.has_version);
	assert_int_equal(p.version, '6');
	assert_int_equal(p.n_unique, 7);
	assert_int_equal(p.passenger_description, '1');
	assert_int_equal(p.checkin_source, 'W');
	assert_int_equal(p.issuance_source, 'W');
	assert_string_equal(p.issue_date, "6225");
	assert_int_equal(p.document_type, 'B');
	assert_string_equal(p.issuer, "AC");
	assert_string_equal(p.bag_tags[0], "0014123456003");
	const struct bcbp_leg *a = &p.legs[0], *b = &p.legs[1];
	assert_int_equal(a->n_conditional, 10);
	assert_string_equal(a->airline_numeric, "014");
	assert_string_equal(a->document_serial, "1234567890");
	assert_int_equal(a->document_verification, '1');
	assert_string_equal(a->marketing_carrier, "AC");
	assert_string_equal(a->frequent_flyer_number, "1234567890123");
	assert_string_equal(a->baggage_allowance, "20K");
	assert_int_equal(a->fast_track, 'Y');
	assert_int_equal(a->individual_use_len, 5);
	assert_string_equal(b->pnr, "DEF456");
	assert_string_equal(b->from, "FRA");
	assert_string_equal(b->to, "GVA");
	assert_string_equal(b->carrier, "LH");
	assert_string_equal(b->flight, "3664");
	assert_int_equal(b->flight_day, 227);
	assert_string_equal(b->seat, "012C");
	assert_string_equal(b->document_serial, "0987654321");
	assert_string_equal(b->baggage_allowance, "2PC");
	assert_int_equal(b->fast_track, 'N');
	assert_int_equal(b->individual_use_len, 2);
	assert_ptr_equal(bcbp_final_leg(&p), b);
	assert_true(p.has_security);
}

static void test_airline_passes(void **state)
{
	(void)state;
	struct bcbp p;
	struct bcbp_error err;
	assert_int_equal(parse(LH, &p, &err), BCBP_OK);
	assert_string_equal(p.name, "TEST/HIDDEN");
	assert_int_equal(p.version, '2');
	assert_string_equal(p.legs[0].to, "RLG");
	assert_int_equal(p.legs[0].n_conditional, 9); /* version 2: no fast track */
	assert_string_equal(p.legs[0].document_serial, "2364224106");
	assert_int_equal(p.legs[0].individual_use_len, 21);

	assert_int_equal(parse(KL, &p, &err), BCBP_OK);
	assert_int_equal(p.n_unique, 3);
	assert_int_equal(p.issuance_source, 'W');
	assert_string_equal(p.legs[0].airline_numeric, "074");
	assert_int_equal(p.legs[0].n_conditional, 2);

	assert_int_equal(parse(UA, &p, &err), BCBP_OK);
	assert_string_equal(p.name, "ASKREN/TEST");
	assert_string_equal(p.legs[0].from, "ORD");
	assert_string_equal(p.legs[0].to, "NRT");
	assert_string_equal(p.legs[0].frequent_flyer_number, "EY975897");
}

/* One change to Example 1 or 2 each, the item named and where. */
static void test_bad_items(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum bcbp_status status;
		const char *item;
		unsigned leg;
	} cases[] = {
	        {"X1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "format_code", 0},
	        {"M5DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "legs", 0},
	        {"M0DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "legs", 0},
	        {"M2DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100", BCBP_ERR_LENGTH,
	         "pnr", 2},
	        {"M1DESMARAIS LUC       EABC123 YULFRAAC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "name", 0},
	        {"M1desmarais/luc       EABC123 YULFRAAC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "name", 0},
	        {"M1 DESMARAIS/LUC      EABC123 YULFRAAC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "name", 0},
	        {"M1DESMARAIS/LUC       XABC123 YULFRAAC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "eticket", 0},
	        {"M1DESMARAIS/LUC       EAB C123YULFRAAC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "pnr", 1},
	        {"M1DESMARAIS/LUC       EABC123 yulFRAAC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "from_airport", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFR1AC 0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "to_airport", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAA  0834 326J001A0025 100", BCBP_ERR_VALUE,
	         "operating_carrier", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 08A4 326J001A0025 100", BCBP_ERR_VALUE,
	         "flight_number", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 08345326J001A0025 100", BCBP_ERR_VALUE,
	         "flight_number", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 000J001A0025 100", BCBP_ERR_VALUE,
	         "flight_date", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 367J001A0025 100", BCBP_ERR_VALUE,
	         "flight_date", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326j001A0025 100", BCBP_ERR_VALUE,
	         "compartment", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001a0025 100", BCBP_ERR_VALUE,
	         "seat", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025  00", BCBP_ERR_VALUE,
	         "passenger_status", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 1G0", BCBP_ERR_VALUE,
	         "field_size", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 1a0", BCBP_ERR_VALUE,
	         "field_size", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 101", BCBP_ERR_LENGTH,
	         "field_size", 1},
	        /* the variable field: no '>', a unique size past the field, one cut mid-item */
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 1036181", BCBP_ERR_VALUE,
	         "version_mark", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 104>618",
	         BCBP_ERR_LENGTH, "unique_size", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 108>6041WW6",
	         BCBP_ERR_LENGTH, "issue_date", 1},
	        {"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 10B>6000501412",
	         BCBP_ERR_LENGTH, "document_serial", 1},
	        /* after the legs: bytes that are not security data, a wrong security length */
	        {EX1_MANDATORY "X", BCBP_ERR_TRAILING, "trailing", 0},
	        {EX1_MANDATORY "^165GIWV", BCBP_ERR_LENGTH, "security_size", 0},
	        {EX1 "Z", BCBP_ERR_TRAILING, "trailing", 0},
	        {EX1_MANDATORY "\t", BCBP_ERR_CHARSET, "charset", 0},
	        {EX1_MANDATORY "\n\n", BCBP_ERR_CHARSET, "charset", 0},
	        {"M1DESMARAIS/LUC", BCBP_ERR_LENGTH, "mandatory", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bcbp p;
		struct bcbp_error err;
		enum bcbp_status st = parse(cases[i].text, &p, &err);
		if (st != cases[i].status || strcmp(err.item, cases[i].item) != 0 ||
		    err.leg != cases[i].leg)
			fail_msg("case %zu: status %d item %s leg %u (offset %zu)", i, st, err.item,
			         err.leg, err.offset);
		assert_int_equal(p.n_legs, 0);
	}
}

/* Every prefix of each example fails but the pass without its security data; 200 more fail. */
static void test_prefixes_and_tails(void **state)
{
	(void)state;
	static const char *const examples[] = {EX1, EX2, LH, KL, UA};
	for (size_t e = 0; e < sizeof(examples) / sizeof(examples[0]); e++) {
		size_t len = strlen(examples[e]);
		for (size_t n = 0; n < len; n++) {
			struct bcbp p;
			struct bcbp_error err;
			/* Security data is optional: the pass without it is whole. */
			if (bcbp_parse(examples[e], n, &p, &err) == BCBP_OK &&
			    examples[e][n] != '^')
				fail_msg("example %zu cut to %zu bytes parsed", e, n);
		}
		/* 200 more characters after the end. */
		char text[BCBP_TEXT_MAX + 256];
		snprintf(text, sizeof(text), "%s%0200d", examples[e], 0);
		struct bcbp p;
		struct bcbp_error err;
		assert_int_equal(parse(text, &p, &err), BCBP_ERR_TRAILING);
	}
	char big[BCBP_TEXT_MAX + 2];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, EX1_MANDATORY, BCBP_MANDATORY_LEN);
	struct bcbp p;
	struct bcbp_error err;
	assert_int_equal(parse(big, &p, &err), BCBP_ERR_LENGTH);
	assert_int_equal(bcbp_parse(NULL, 0, &p, &err), BCBP_ERR_LENGTH);
	assert_true(bcbp_is_shaped(EX2, strlen(EX2)));
	assert_false(bcbp_is_shaped("M1DESMARAIS", 11));
	assert_false(bcbp_is_shaped("BC1:" EX1_MANDATORY, BCBP_MANDATORY_LEN + 4));
}

static void test_format_round_trip(void **state)
{
	(void)state;
	struct bcbp in, out;
	struct bcbp_error err;
	memset(&in, 0, sizeof(in));
	in.n_legs = 2;
	snprintf(in.name, sizeof(in.name), "KHATUN/RAHIMA");
	in.eticket = 'E';
	static const char *const route[][2] = {{"DAC", "DXB"}, {"DXB", "KWI"}};
	for (unsigned i = 0; i < 2; i++) {
		struct bcbp_leg *l = &in.legs[i];
		snprintf(l->pnr, sizeof(l->pnr), "QX7Z2P");
		snprintf(l->from, sizeof(l->from), "%s", route[i][0]);
		snprintf(l->to, sizeof(l->to), "%s", route[i][1]);
		snprintf(l->carrier, sizeof(l->carrier), "EK");
		snprintf(l->flight, sizeof(l->flight), i == 0 ? "0585" : "0853");
		l->flight_day = 40 + i;
		l->compartment = 'Y';
		snprintf(l->seat, sizeof(l->seat), "032K");
		snprintf(l->sequence, sizeof(l->sequence), "0117");
		l->passenger_status = '1';
	}
	char text[BCBP_TEXT_MAX + 1];
	assert_int_equal(bcbp_format(&in, text, sizeof(text)), QD_OK);
	assert_string_equal(text, "M2KHATUN/RAHIMA       EQX7Z2P DACDXBEK 0585 040Y032K0117 100"
	                          "QX7Z2P DXBKWIEK 0853 041Y032K0117 100");
	assert_int_equal(parse(text, &out, &err), BCBP_OK);
	assert_memory_equal(&in, &out, sizeof(in));
	assert_string_equal(bcbp_final_leg(&out)->to, "KWI");
	assert_int_equal(bcbp_format(&in, text, 60), QD_ERR_TOO_LARGE);
	snprintf(in.legs[1].to, sizeof(in.legs[1].to), "kw");
	assert_int_equal(bcbp_format(&in, text, sizeof(text)), QD_ERR_FORMAT);
	in.n_legs = 0;
	assert_int_equal(bcbp_format(&in, text, sizeof(text)), QD_ERR_FORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_example_1),          cmocka_unit_test(test_example_2),
	        cmocka_unit_test(test_airline_passes),     cmocka_unit_test(test_bad_items),
	        cmocka_unit_test(test_prefixes_and_tails), cmocka_unit_test(test_format_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
