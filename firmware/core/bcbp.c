/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bcbp.c - IATA BCBP boarding passes (see bcbp.h).
 *
 * A cursor walks the text item by item; every item is taken through one
 * function that checks its room and its shape, so a failure names the item
 * and its offset.  Variable-size fields are parsed inside a sub-cursor whose
 * end is the announced length: nothing may read past it, and what is left
 * over after the items is the airline's individual use (in a leg) or an
 * error (in the unique section, which has no free part).
 */
#include "qrdesk/bcbp.h"

#include <stdio.h>
#include <string.h>

struct cur {
	const char *text; /* the whole text, for offsets */
	size_t at, end;
	struct bcbp_error *err;
	unsigned leg;
};

static bool fail(struct cur *c, enum bcbp_status status, const char *item)
{
	c->err->status = status;
	c->err->item = item;
	c->err->leg = c->leg;
	c->err->offset = c->at;
	return false;
}

enum shape {
	ANY,     /* printable */
	DIGITS,  /* 0-9 */
	ALPHA,   /* A-Z */
	ALNUM,   /* A-Z, 0-9 */
	ALNUM_SP /* A-Z, 0-9 or space */
};

static bool fits(char ch, enum shape s)
{
	bool digit = ch >= '0' && ch <= '9', upper = ch >= 'A' && ch <= 'Z';
	switch (s) {
	case ANY:
		return ch >= 0x20 && ch <= 0x7e;
	case DIGITS:
		return digit;
	case ALPHA:
		return upper;
	case ALNUM:
		return digit || upper;
	case ALNUM_SP:
		return digit || upper || ch == ' ';
	}
	return false;
}

/* Take n characters of shape s; copy them (trailing spaces removed) if out. */
static bool take(struct cur *c, size_t n, enum shape s, char *out, const char *item)
{
	if (c->end - c->at < n)
		return fail(c, BCBP_ERR_LENGTH, item);
	const char *p = c->text + c->at;
	for (size_t i = 0; i < n; i++)
		if (!fits(p[i], s))
			return fail(c, BCBP_ERR_VALUE, item);
	if (out != NULL) {
		size_t k = n;
		while (k > 0 && p[k - 1] == ' ')
			k--;
		memcpy(out, p, k);
		out[k] = '\0';
	}
	c->at += n;
	return true;
}

static bool take_char(struct cur *c, enum shape s, char *out, const char *item)
{
	if (c->at >= c->end)
		return fail(c, BCBP_ERR_LENGTH, item);
	if (!fits(c->text[c->at], s))
		return fail(c, BCBP_ERR_VALUE, item);
	*out = c->text[c->at++];
	return true;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A two-digit upper-case hex length that fits before the end. */
static bool take_size(struct cur *c, size_t *size, const char *item)
{
	if (c->end - c->at < 2)
		return fail(c, BCBP_ERR_LENGTH, item);
	int hi = hexval(c->text[c->at]), lo = hexval(c->text[c->at + 1]);
	if (hi < 0 || lo < 0)
		return fail(c, BCBP_ERR_VALUE, item);
	c->at += 2;
	*size = (size_t)hi * 16 + (size_t)lo;
	if (c->end - c->at < *size)
		return fail(c, BCBP_ERR_LENGTH, item);
	return true;
}

/* Left-justified code: shape then spaces only ("AC ", "ABC123 "); at least min characters. */
static bool take_code(struct cur *c, size_t n, size_t min, char *out, const char *item)
{
	size_t start = c->at;
	if (!take(c, n, ALNUM_SP, out, item))
		return false;
	size_t k = strlen(out);
	if (k < min || memchr(out, ' ', k) != NULL) {
		c->at = start;
		return fail(c, BCBP_ERR_VALUE, item);
	}
	return true;
}

static bool leg_mandatory(struct cur *c, struct bcbp_leg *leg)
{
	char day[4];
	if (!take_code(c, 7, 1, leg->pnr, "pnr") || !take(c, 3, ALPHA, leg->from, "from_airport") ||
	    !take(c, 3, ALPHA, leg->to, "to_airport") ||
	    !take_code(c, 3, 2, leg->carrier, "operating_carrier"))
		return false;
	/* Flight number: four digits (leading zeros), then an operational suffix or a space. */
	size_t at = c->at;
	if (!take(c, 4, DIGITS, leg->flight, "flight_number"))
		return false;
	char suffix;
	if (!take_char(c, ALNUM_SP, &suffix, "flight_number"))
		return false;
	if (suffix >= '0' && suffix <= '9') {
		c->at = at;
		return fail(c, BCBP_ERR_VALUE, "flight_number");
	}
	if (suffix != ' ') {
		leg->flight[4] = suffix;
		leg->flight[5] = '\0';
	}
	at = c->at;
	if (!take(c, 3, DIGITS, day, "flight_date"))
		return false;
	leg->flight_day = (unsigned)((day[0] - '0') * 100 + (day[1] - '0') * 10 + (day[2] - '0'));
	if (leg->flight_day < 1 || leg->flight_day > 366) {
		c->at = at;
		return fail(c, BCBP_ERR_VALUE, "flight_date");
	}
	return take_char(c, ALPHA, &leg->compartment, "compartment") &&
	       take(c, 4, ALNUM_SP, leg->seat, "seat") &&
	       take(c, 5, ALNUM_SP, leg->sequence, "checkin_sequence") &&
	       take_char(c, ALNUM, &leg->passenger_status, "passenger_status");
}

/*
 * Conditional items in order, as many as fit up to c->end, each whole (width
 * 1: one character into *field; wider: a string); *count says how many.
 */
static bool take_items(struct cur *c, const size_t *widths, char *const *fields,
                       const char *const *names, size_t n, unsigned *count, const char *section)
{
	for (size_t i = 0; i < n && c->at < c->end; i++) {
		if (c->end - c->at < widths[i])
			return fail(c, BCBP_ERR_LENGTH, names[i]);
		if (widths[i] == 1) {
			if (!take_char(c, ANY, fields[i], names[i]))
				return false;
		} else if (!take(c, widths[i], ANY, fields[i], names[i])) {
			return false;
		}
		*count = (unsigned)i + 1;
	}
	if (c->at != c->end)
		return fail(c, BCBP_ERR_LENGTH, section);
	return true;
}

/* The unique conditional items, as many as its announced size holds, on item boundaries. */
static bool unique_conditional(struct cur *c, struct bcbp *out)
{
	static const size_t widths[] = {1, 1, 1, 4, 1, 3, 13, 13, 13};
	char *fields[] = {&out->passenger_description,
	                  &out->checkin_source,
	                  &out->issuance_source,
	                  out->issue_date,
	                  &out->document_type,
	                  out->issuer,
	                  out->bag_tags[0],
	                  out->bag_tags[1],
	                  out->bag_tags[2]};
	static const char *names[] = {"passenger_description",
	                              "checkin_source",
	                              "issuance_source",
	                              "issue_date",
	                              "document_type",
	                              "issuer",
	                              "bag_tag",
	                              "bag_tag",
	                              "bag_tag"};
	return take_items(c, widths, fields, names, sizeof(widths) / sizeof(widths[0]),
	                  &out->n_unique, "unique_conditional");
}

/* The repeated conditional items of one leg, in order; version 5 on adds fast track. */
static bool repeated_conditional(struct cur *c, struct bcbp_leg *leg, char version)
{
	static const size_t widths[] = {3, 10, 1, 1, 3, 3, 16, 1, 3, 1};
	static const char *names[] = {"airline_numeric",
	                              "document_serial",
	                              "selectee",
	                              "document_verification",
	                              "marketing_carrier",
	                              "frequent_flyer_airline",
	                              "frequent_flyer_number",
	                              "id_ad",
	                              "baggage_allowance",
	                              "fast_track"};
	char *fields[] = {leg->airline_numeric,
	                  leg->document_serial,
	                  &leg->selectee,
	                  &leg->document_verification,
	                  leg->marketing_carrier,
	                  leg->frequent_flyer_airline,
	                  leg->frequent_flyer_number,
	                  &leg->id_ad,
	                  leg->baggage_allowance,
	                  &leg->fast_track};
	return take_items(c, widths, fields, names, version >= '5' ? 10 : 9, &leg->n_conditional,
	                  "repeated_conditional");
}

/* A leg's variable field [c->at, c->at + size): conditional items, then individual use. */
static bool leg_variable(struct cur *c, size_t size, struct bcbp *out, struct bcbp_leg *leg,
                         bool first)
{
	struct cur v = *c;
	v.end = c->at + size;
	if (first && v.at < v.end) {
		char mark;
		size_t unique = 0;
		if (!take_char(&v, ANY, &mark, "version_mark"))
			return false;
		if (mark != '>') {
			v.at--;
			return fail(&v, BCBP_ERR_VALUE, "version_mark");
		}
		if (!take_char(&v, DIGITS, &out->version, "version") ||
		    !take_size(&v, &unique, "unique_size"))
			return false;
		out->has_version = true;
		struct cur u = v;
		u.end = v.at + unique;
		if (!unique_conditional(&u, out))
			return false;
		v.at = u.at;
	}
	if (v.at < v.end) {
		size_t repeated = 0;
		if (!take_size(&v, &repeated, "repeated_size"))
			return false;
		struct cur r = v;
		r.end = v.at + repeated;
		if (!repeated_conditional(&r, leg, out->has_version ? out->version : '0'))
			return false;
		v.at = r.at;
	}
	for (size_t i = v.at; i < v.end; i++)
		if (!fits(c->text[i], ANY)) {
			v.at = i;
			return fail(&v, BCBP_ERR_CHARSET, "individual_use");
		}
	leg->individual_use_len = v.end - v.at;
	c->at = v.end;
	return true;
}

static bool parse(struct cur *c, struct bcbp *out)
{
	for (size_t i = 0; i < c->end; i++)
		if (!fits(c->text[i], ANY)) {
			c->at = i;
			return fail(c, BCBP_ERR_CHARSET, "charset");
		}
	char format, legs;
	if (c->end < BCBP_MANDATORY_LEN)
		return fail(c, BCBP_ERR_LENGTH, "mandatory");
	if (!take_char(c, ALPHA, &format, "format_code"))
		return false;
	if (format != 'M') {
		c->at--;
		return fail(c, BCBP_ERR_VALUE, "format_code");
	}
	if (!take_char(c, DIGITS, &legs, "legs"))
		return false;
	if (legs < '1' || legs > '0' + BCBP_LEGS_MAX) {
		c->at--;
		return fail(c, BCBP_ERR_VALUE, "legs");
	}
	out->n_legs = (unsigned)(legs - '0');
	/* Name: SURNAME/GIVEN, left-justified; a letter first, a '/' in it, letters and
	 * the punctuation names carry. */
	size_t at = c->at;
	if (!take(c, BCBP_NAME_LEN, ANY, out->name, "name"))
		return false;
	out->name_full = c->text[at + BCBP_NAME_LEN - 1] != ' ';
	bool name_ok = out->name[0] >= 'A' && out->name[0] <= 'Z' && strchr(out->name, '/') != NULL;
	for (const char *p = out->name; *p != '\0'; p++)
		name_ok = name_ok && ((*p >= 'A' && *p <= 'Z') || strchr(" /-.'", *p) != NULL);
	if (!name_ok) {
		c->at = at;
		return fail(c, BCBP_ERR_VALUE, "name");
	}
	if (!take_char(c, ALPHA, &out->eticket, "eticket"))
		return false;
	if (out->eticket != 'E' && out->eticket != 'L') {
		c->at--;
		return fail(c, BCBP_ERR_VALUE, "eticket");
	}
	for (unsigned i = 0; i < out->n_legs; i++) {
		c->leg = i + 1;
		size_t size = 0;
		if (!leg_mandatory(c, &out->legs[i]) || !take_size(c, &size, "field_size") ||
		    !leg_variable(c, size, out, &out->legs[i], i == 0))
			return false;
	}
	c->leg = 0;
	if (c->at < c->end) {
		char mark;
		size_t size = 0;
		if (c->text[c->at] != '^')
			return fail(c, BCBP_ERR_TRAILING, "trailing");
		if (!take_char(c, ANY, &mark, "security_mark") ||
		    !take_char(c, ANY, &out->security_type, "security_type") ||
		    !take_size(c, &size, "security_size"))
			return false;
		out->has_security = true;
		out->security_len = size;
		c->at += size;
		if (c->at != c->end)
			return fail(c, BCBP_ERR_TRAILING, "trailing");
	}
	return true;
}

enum bcbp_status bcbp_parse(const char *text, size_t len, struct bcbp *out, struct bcbp_error *err)
{
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	err->item = "";
	/* One terminator at the end: the scanner's suffix. */
	if (text != NULL && len >= 2 && text[len - 2] == '\r' && text[len - 1] == '\n')
		len -= 2;
	else if (text != NULL && len >= 1 && (text[len - 1] == '\r' || text[len - 1] == '\n'))
		len--;
	struct cur c = {.text = text, .at = 0, .end = len, .err = err, .leg = 0};
	if (text == NULL || len > BCBP_TEXT_MAX) {
		fail(&c, BCBP_ERR_LENGTH, "text");
		return BCBP_ERR_LENGTH;
	}
	if (!parse(&c, out)) {
		memset(out, 0, sizeof(*out));
		return err->status;
	}
	return BCBP_OK;
}

bool bcbp_is_shaped(const char *text, size_t len)
{
	return len >= BCBP_MANDATORY_LEN && text[0] == 'M' && text[1] >= '1' &&
	       text[1] <= '0' + BCBP_LEGS_MAX;
}

const struct bcbp_leg *bcbp_final_leg(const struct bcbp *pass)
{
	if (pass->n_legs == 0)
		return NULL;
	return &pass->legs[pass->n_legs - 1];
}

/* Append s left-justified in n characters (spaces after); false if longer. */
static bool put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
	size_t len = strnlen(s, n + 1); /* n + 1: longer than n is refused */
	if (len > n || cap - *at <= n)
		return false; /* cap is checked first: only a long item gets here */
	memset(out + *at, ' ', n);
	memcpy(out + *at, s, len);
	*at += n;
	return true;
}

enum qd_err bcbp_format(const struct bcbp *in, char *out, size_t cap)
{
	char head[3] = {'M', (char)('0' + in->n_legs), '\0'};
	char et[2] = {in->eticket, '\0'};
	size_t at = 0;
	if (in->n_legs < 1 || in->n_legs > BCBP_LEGS_MAX)
		return QD_ERR_FORMAT;
	if (cap < BCBP_MANDATORY_LEN + (in->n_legs - 1) * (BCBP_MANDATORY_LEN - 23) + 1)
		return QD_ERR_TOO_LARGE;
	if (!put(out, cap, &at, head, 2) || !put(out, cap, &at, in->name, BCBP_NAME_LEN) ||
	    !put(out, cap, &at, et, 1))
		return QD_ERR_FORMAT;
	for (unsigned i = 0; i < in->n_legs; i++) {
		const struct bcbp_leg *l = &in->legs[i];
		char day[4], one[2] = {l->compartment, '\0'}, st[2] = {l->passenger_status, '\0'};
		snprintf(day, sizeof(day), "%03u", l->flight_day % 1000);
		if (!put(out, cap, &at, l->pnr, 7) || !put(out, cap, &at, l->from, 3) ||
		    !put(out, cap, &at, l->to, 3) || !put(out, cap, &at, l->carrier, 3) ||
		    !put(out, cap, &at, l->flight, 5) || !put(out, cap, &at, day, 3) ||
		    !put(out, cap, &at, one, 1) || !put(out, cap, &at, l->seat, 4) ||
		    !put(out, cap, &at, l->sequence, 5) || !put(out, cap, &at, st, 1) ||
		    !put(out, cap, &at, "00", 2))
			return QD_ERR_FORMAT;
	}
	out[at] = '\0';
	/* What was written must read back: the shapes are the parser's. */
	struct bcbp check;
	struct bcbp_error err;
	return bcbp_parse(out, at, &check, &err) == BCBP_OK ? QD_OK : QD_ERR_FORMAT;
}
