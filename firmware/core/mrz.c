/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mrz.c - ICAO 9303 TD3 machine-readable zones (see mrz.h).
 *
 * The parser first finds the two 44-character lines (the only place where
 * separators are looked at), then checks the character set of both, then
 * each field left to right: so a failure names the first field at fault in
 * reading order, and every check digit is verified before the composite.
 */
#include "qrdesk/mrz.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/credential.h"

static int mrz_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	if (c == '<')
		return 0;
	return -1;
}

int mrz_check_digit(const char *s, size_t n)
{
	static const int weights[3] = {7, 3, 1};
	int sum = 0;
	for (size_t i = 0; i < n; i++) {
		int v = mrz_value(s[i]);
		if (v < 0)
			return -1;
		sum = (sum + v * weights[i % 3]) % 10;
	}
	return '0' + sum;
}

const char *mrz_field_name(enum mrz_field field)
{
	switch (field) {
	case MRZ_FIELD_NONE:
		return "none";
	case MRZ_FIELD_LAYOUT:
		return "layout";
	case MRZ_FIELD_CHARSET:
		return "charset";
	case MRZ_FIELD_DOCUMENT_CODE:
		return "document_code";
	case MRZ_FIELD_ISSUING_STATE:
		return "issuing_state";
	case MRZ_FIELD_NAME:
		return "name";
	case MRZ_FIELD_DOCUMENT_NUMBER:
		return "document_number";
	case MRZ_FIELD_NATIONALITY:
		return "nationality";
	case MRZ_FIELD_BIRTH_DATE:
		return "birth_date";
	case MRZ_FIELD_SEX:
		return "sex";
	case MRZ_FIELD_EXPIRY_DATE:
		return "expiry_date";
	case MRZ_FIELD_OPTIONAL_DATA:
		return "optional_data";
	case MRZ_FIELD_COMPOSITE:
		return "composite";
	}
	return "unknown";
}

static bool all_mrz_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (mrz_value(s[i]) < 0)
			return false;
	return true;
}

bool mrz_is_td3_line1(const char *text, size_t len)
{
	return len == MRZ_TD3_LINE && text[0] == 'P' && all_mrz_chars(text, len);
}

bool mrz_is_td3_line2(const char *text, size_t len)
{
	return len == MRZ_TD3_LINE && all_mrz_chars(text, len);
}

static size_t terminator(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '\r' && s[1] == '\n')
		return 2;
	if (n >= 1 && (s[0] == '\r' || s[0] == '\n'))
		return 1;
	return 0;
}

/* Find the two lines: L1 [sep] L2 [sep], sep one of CR, LF, CR LF; nothing else. */
static bool split_lines(const char *text, size_t len, const char **l1, const char **l2)
{
	if (len < 2 * MRZ_TD3_LINE || len > MRZ_TEXT_MAX)
		return false;
	*l1 = text;
	size_t at = MRZ_TD3_LINE;
	at += terminator(text + at, len - at);
	if (len - at < MRZ_TD3_LINE)
		return false;
	*l2 = text + at;
	at += MRZ_TD3_LINE;
	at += terminator(text + at, len - at);
	return at == len && memchr(*l1, '\r', MRZ_TD3_LINE) == NULL &&
	       memchr(*l1, '\n', MRZ_TD3_LINE) == NULL && memchr(*l2, '\r', MRZ_TD3_LINE) == NULL &&
	       memchr(*l2, '\n', MRZ_TD3_LINE) == NULL;
}

struct parse {
	struct mrz_error *err;
	enum mrz_status status;
};

static bool fail(struct parse *p, enum mrz_status status, enum mrz_field field, unsigned line,
                 unsigned column)
{
	p->status = status;
	p->err->status = status;
	p->err->field = field;
	p->err->line = line;
	p->err->column = column;
	return false;
}

/* Copy s[0..n) with trailing fillers removed. */
static void copy_trimmed(char *out, const char *s, size_t n)
{
	while (n > 0 && s[n - 1] == '<')
		n--;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* A state or nationality: 1..3 letters then fillers. */
static bool state_code(const char *s, char out[4])
{
	size_t n = 0;
	while (n < 3 && s[n] >= 'A' && s[n] <= 'Z')
		n++;
	if (n == 0)
		return false;
	for (size_t i = n; i < 3; i++)
		if (s[i] != '<')
			return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

static bool leap(unsigned year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* YYMMDD, digits only, a real day in some century (29 February: leap in 19YY or 20YY). */
static bool mrz_date(const char *s, struct mrz_date *d)
{
	for (int i = 0; i < 6; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	d->yy = (unsigned)((s[0] - '0') * 10 + (s[1] - '0'));
	d->mm = (unsigned)((s[2] - '0') * 10 + (s[3] - '0'));
	d->dd = (unsigned)((s[4] - '0') * 10 + (s[5] - '0'));
	static const unsigned days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (d->mm < 1 || d->mm > 12 || d->dd < 1 || d->dd > days[d->mm - 1])
		return false;
	if (d->mm == 2 && d->dd == 29 && !leap(1900 + d->yy) && !leap(2000 + d->yy))
		return false;
	return true;
}

/* Components of A-Z split by single '<' into out, joined by spaces. */
static bool name_part(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '<') {
			if (i == 0 || i + 1 == n || s[i + 1] == '<')
				return false;
			out[o++] = ' ';
		} else if (s[i] >= 'A' && s[i] <= 'Z') {
			out[o++] = s[i];
		} else {
			return false;
		}
	}
	out[o] = '\0';
	return true;
}

/*
 * The name field: primary "<<" secondary, fillers to the end.  A field
 * without "<<" holds a primary identifier only (maybe cut at position 39).
 */
static bool parse_name(const char *f, struct mrz_td3 *out)
{
	size_t end = MRZ_TD3_NAME;
	while (end > 0 && f[end - 1] == '<')
		end--;
	if (end == 0 || f[0] == '<')
		return false;
	out->name_full = end == MRZ_TD3_NAME;
	const char *sep = NULL;
	for (size_t i = 0; i + 1 < end; i++)
		if (f[i] == '<' && f[i + 1] == '<') {
			sep = f + i;
			break;
		}
	if (sep == NULL)
		return name_part(f, end, out->primary);
	size_t plen = (size_t)(sep - f);
	if (!name_part(f, plen, out->primary))
		return false;
	/* Nothing but fillers after "<<" would have been trimmed; so a secondary follows. */
	return name_part(sep + 2, end - plen - 2, out->secondary);
}

static bool check(struct parse *p, const char *field, size_t n, char digit, enum mrz_field which,
                  unsigned column)
{
	if (digit < '0' || digit > '9')
		return fail(p, MRZ_ERR_VALUE, which, 2, column);
	if (mrz_check_digit(field, n) != digit)
		return fail(p, MRZ_ERR_CHECK_DIGIT, which, 2, column);
	return true;
}

static bool parse_lines(struct parse *p, const char *l1, const char *l2, struct mrz_td3 *out)
{
	for (size_t i = 0; i < MRZ_TD3_LINE; i++) {
		if (mrz_value(l1[i]) < 0)
			return fail(p, MRZ_ERR_CHARSET, MRZ_FIELD_CHARSET, 1, (unsigned)i + 1);
	}
	for (size_t i = 0; i < MRZ_TD3_LINE; i++) {
		if (mrz_value(l2[i]) < 0)
			return fail(p, MRZ_ERR_CHARSET, MRZ_FIELD_CHARSET, 2, (unsigned)i + 1);
	}
	if (l1[0] != 'P' || (l1[1] != '<' && (l1[1] < 'A' || l1[1] > 'Z')))
		return fail(p, MRZ_ERR_VALUE, MRZ_FIELD_DOCUMENT_CODE, 1, 1);
	out->type = l1[1];
	if (!state_code(l1 + 2, out->issuing_state))
		return fail(p, MRZ_ERR_VALUE, MRZ_FIELD_ISSUING_STATE, 1, 3);
	if (!parse_name(l1 + 5, out))
		return fail(p, MRZ_ERR_VALUE, MRZ_FIELD_NAME, 1, 6);

	if (l2[0] == '<')
		return fail(p, MRZ_ERR_VALUE, MRZ_FIELD_DOCUMENT_NUMBER, 2, 1);
	if (!check(p, l2, 9, l2[9], MRZ_FIELD_DOCUMENT_NUMBER, 10))
		return false;
	copy_trimmed(out->document_number, l2, MRZ_DOC_NO_LEN);
	if (strchr(out->document_number, '<') != NULL)
		return fail(p, MRZ_ERR_VALUE, MRZ_FIELD_DOCUMENT_NUMBER, 2, 1);
	if (!state_code(l2 + 10, out->nationality))
		return fail(p, MRZ_ERR_VALUE, MRZ_FIELD_NATIONALITY, 2, 11);
	if (!mrz_date(l2 + 13, &out->birth))
		return fail(p, MRZ_ERR_VALUE, MRZ_FIELD_BIRTH_DATE, 2, 14);
	if (!check(p, l2 + 13, 6, l2[19], MRZ_FIELD_BIRTH_DATE, 20))
		return false;
	if (l2[20] != 'M' && l2[20] != 'F' && l2[20] != 'X' && l2[20] != '<')
		return fail(p, MRZ_ERR_VALUE, MRZ_FIELD_SEX, 2, 21);
	out->sex = l2[20] == '<' ? 'X' : l2[20];
	if (!mrz_date(l2 + 21, &out->expiry))
		return fail(p, MRZ_ERR_VALUE, MRZ_FIELD_EXPIRY_DATE, 2, 22);
	if (!check(p, l2 + 21, 6, l2[27], MRZ_FIELD_EXPIRY_DATE, 28))
		return false;
	copy_trimmed(out->optional_data, l2 + 28, MRZ_OPTIONAL_LEN);
	/* 9303: an unused optional-data field may carry '<' as its check digit. */
	if (!(l2[42] == '<' && out->optional_data[0] == '\0') &&
	    !check(p, l2 + 28, MRZ_OPTIONAL_LEN, l2[42], MRZ_FIELD_OPTIONAL_DATA, 43))
		return false;
	/* The composite covers the number, birth and expiry dates and optional data with theirs. */
	char composite[10 + 7 + 22];
	memcpy(composite, l2, 10);
	memcpy(composite + 10, l2 + 13, 7);
	memcpy(composite + 17, l2 + 21, 22);
	return check(p, composite, sizeof(composite), l2[43], MRZ_FIELD_COMPOSITE, 44);
}

enum mrz_status mrz_parse_td3(const char *text, size_t len, struct mrz_td3 *out,
                              struct mrz_error *err)
{
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	struct parse p = {.err = err, .status = MRZ_OK};
	const char *l1 = NULL, *l2 = NULL;
	if (text == NULL || !split_lines(text, len, &l1, &l2)) {
		fail(&p, MRZ_ERR_LAYOUT, MRZ_FIELD_LAYOUT, 0, 0);
		return p.status;
	}
	if (!parse_lines(&p, l1, l2, out)) {
		memset(out, 0, sizeof(*out));
		return p.status;
	}
	return MRZ_OK;
}

int mrz_expiry_days(const struct mrz_td3 *mrz)
{
	char date[16];
	snprintf(date, sizeof(date), "20%02u-%02u-%02u", mrz->expiry.yy % 100, mrz->expiry.mm % 100,
	         mrz->expiry.dd % 100);
	int32_t days = 0;
	if (credential_date_parse(date, &days) != QD_OK)
		return 0;
	return days;
}

/* Copy s into f[0..n) as MRZ characters (space -> '<'), filled with '<'. */
static bool put_field(char *f, size_t n, const char *s)
{
	size_t len = strlen(s);
	if (len > n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = i < len ? s[i] : '<';
		if (ch == ' ')
			ch = '<';
		if (mrz_value(ch) < 0)
			return false;
		f[i] = ch;
	}
	return true;
}

static void put_date(char *f, const struct mrz_date *d)
{
	char buf[8];
	snprintf(buf, sizeof(buf), "%02u%02u%02u", d->yy % 100, d->mm % 100, d->dd % 100);
	memcpy(f, buf, 6);
}

enum qd_err mrz_format_td3(const struct mrz_td3 *in, char out[MRZ_TEXT_MAX + 1])
{
	char l1[MRZ_TD3_LINE], l2[MRZ_TD3_LINE];
	char name[2 * MRZ_TD3_NAME + 4];
	if (in->primary[0] == '\0')
		return QD_ERR_FORMAT;
	if (in->secondary[0] != '\0')
		snprintf(name, sizeof(name), "%s<<%s", in->primary, in->secondary);
	else
		snprintf(name, sizeof(name), "%s", in->primary);
	name[MRZ_TD3_NAME] = '\0'; /* 9303 truncation: the name is cut */
	l1[0] = 'P';
	l1[1] = in->type == '\0' ? '<' : in->type;
	if (mrz_value(l1[1]) < 0 || !put_field(l1 + 2, 3, in->issuing_state) ||
	    !put_field(l1 + 5, MRZ_TD3_NAME, name) ||
	    !put_field(l2, MRZ_DOC_NO_LEN, in->document_number) ||
	    !put_field(l2 + 10, 3, in->nationality) ||
	    !put_field(l2 + 28, MRZ_OPTIONAL_LEN, in->optional_data))
		return QD_ERR_FORMAT;
	if (in->sex != 'M' && in->sex != 'F' && in->sex != 'X')
		return QD_ERR_FORMAT;
	l2[9] = (char)mrz_check_digit(l2, MRZ_DOC_NO_LEN);
	put_date(l2 + 13, &in->birth);
	l2[19] = (char)mrz_check_digit(l2 + 13, 6);
	l2[20] = in->sex == 'X' ? '<' : in->sex;
	put_date(l2 + 21, &in->expiry);
	l2[27] = (char)mrz_check_digit(l2 + 21, 6);
	l2[42] = (char)mrz_check_digit(l2 + 28, MRZ_OPTIONAL_LEN);
	char composite[10 + 7 + 22];
	memcpy(composite, l2, 10);
	memcpy(composite + 10, l2 + 13, 7);
	memcpy(composite + 17, l2 + 21, 22);
	l2[43] = (char)mrz_check_digit(composite, sizeof(composite));
	memcpy(out, l1, MRZ_TD3_LINE);
	out[MRZ_TD3_LINE] = '\n';
	memcpy(out + MRZ_TD3_LINE + 1, l2, MRZ_TD3_LINE);
	out[2 * MRZ_TD3_LINE + 1] = '\0';
	return QD_OK;
}
