/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_mrz - mrz_parse_td3 over arbitrary reader output, then the name
 * comparison.
 *
 * On failure: nothing filled in, and a field named (a line and column
 * within a line).  On success: every string NUL-terminated in its field,
 * dates and sex within their sets, and the zone written back by
 * mrz_format_td3 is the input's two lines (but an unused optional-data
 * field's '<' check digit, written as 0, and a sex X written as '<') and
 * parses to the same.  The
 * line-shape tests agree with what was parsed.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/mrz.h"
#include "qrdesk/travel_name.h"

static void check_field(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);
	FUZZ_CHECK(nul != NULL);
}

static bool mrz_line_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '<'))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct mrz_td3 m, again;
	struct mrz_error err;
	enum mrz_status st = mrz_parse_td3(text, size, &m, &err);
	if (st != MRZ_OK) {
		FUZZ_CHECK(err.status == st && err.field != MRZ_FIELD_NONE);
		FUZZ_CHECK(err.line <= 2 && err.column <= MRZ_TD3_LINE);
		FUZZ_CHECK((err.line == 0) == (st == MRZ_ERR_LAYOUT));
		FUZZ_CHECK(m.document_number[0] == '\0' && m.sex == 0);
		FUZZ_CHECK(strcmp(mrz_field_name(err.field), "unknown") != 0);
		return 0;
	}
	FUZZ_CHECK(size >= 2 * MRZ_TD3_LINE && size <= MRZ_TEXT_MAX);
	check_field(m.issuing_state, sizeof(m.issuing_state));
	check_field(m.primary, sizeof(m.primary));
	check_field(m.secondary, sizeof(m.secondary));
	check_field(m.document_number, sizeof(m.document_number));
	check_field(m.nationality, sizeof(m.nationality));
	check_field(m.optional_data, sizeof(m.optional_data));
	FUZZ_CHECK(m.primary[0] != '\0' && m.document_number[0] != '\0');
	FUZZ_CHECK(m.sex == 'M' || m.sex == 'F' || m.sex == 'X');
	FUZZ_CHECK(m.birth.mm >= 1 && m.birth.mm <= 12 && m.birth.dd >= 1 && m.birth.dd <= 31);
	FUZZ_CHECK(m.expiry.mm >= 1 && m.expiry.mm <= 12 && m.expiry.yy <= 99);
	FUZZ_CHECK(mrz_expiry_days(&m) > 10000);

	/* The two lines as they were: 44 characters, then (maybe) a terminator. */
	const char *l1 = text, *l2 = text + MRZ_TD3_LINE;
	if (*l2 == '\r' || *l2 == '\n')
		l2 += (l2[0] == '\r' && l2[1] == '\n') ? 2 : 1;
	FUZZ_CHECK(mrz_is_td3_line1(l1, MRZ_TD3_LINE) && mrz_is_td3_line2(l2, MRZ_TD3_LINE));
	FUZZ_CHECK(mrz_line_chars(l1, MRZ_TD3_LINE) && mrz_line_chars(l2, MRZ_TD3_LINE));

	char out[MRZ_TEXT_MAX + 1];
	FUZZ_CHECK(mrz_format_td3(&m, out) == QD_OK);
	FUZZ_CHECK(memcmp(out, l1, MRZ_TD3_LINE) == 0 && out[MRZ_TD3_LINE] == '\n');
	/* Sex X is written as '<' (9303's unspecified); an X in the zone reads the same. */
	FUZZ_CHECK(memcmp(out + MRZ_TD3_LINE + 1, l2, 20) == 0);
	FUZZ_CHECK(out[MRZ_TD3_LINE + 1 + 20] == l2[20] || (l2[20] == 'X' && m.sex == 'X'));
	FUZZ_CHECK(memcmp(out + MRZ_TD3_LINE + 1 + 21, l2 + 21, 21) == 0);
	FUZZ_CHECK(out[MRZ_TD3_LINE + 1 + 42] == l2[42] ||
	           (l2[42] == '<' && m.optional_data[0] == '\0'));
	FUZZ_CHECK(mrz_parse_td3(out, strlen(out), &again, &err) == MRZ_OK);
	FUZZ_CHECK(memcmp(&m, &again, sizeof(m)) == 0);

	/* The name compares equal to itself written as a card would. */
	char card[2 * MRZ_TD3_NAME + 2];
	snprintf(card, sizeof(card), "%s %s", m.secondary, m.primary);
	enum travel_name_match nm = travel_name_match_mrz(card, &m);
	FUZZ_CHECK(nm == TRAVEL_NAME_EQUAL);
	nm = travel_name_match_mrz("RAHIMA KHATUN", &m);
	FUZZ_CHECK(nm <= TRAVEL_NAME_UNCOMPARABLE);
	return 0;
}
