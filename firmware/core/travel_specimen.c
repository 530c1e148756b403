/* SPDX-License-Identifier: Apache-2.0 */
/*
 * travel_specimen.c - specimen documents for a card (see travel_specimen.h).
 */
#include "qrdesk/travel_specimen.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/travel_name.h"

/* Surname (the last part) and given names (the rest, space-separated). */
static enum qd_err split_name(const char *name, char *surname, size_t scap, char *given,
                              size_t gcap)
{
	struct travel_name parts;
	if (!travel_name_parse(name, &parts))
		return QD_ERR_FORMAT;
	snprintf(surname, scap, "%s", parts.parts[parts.n - 1]);
	given[0] = '\0';
	size_t at = 0;
	for (size_t i = 0; i + 1 < parts.n; i++) {
		int n = snprintf(given + at, gcap - at, "%s%s", i ? " " : "", parts.parts[i]);
		if (n < 0 || (size_t)n >= gcap - at)
			break; /* cut: the documents' own truncation */
		at += (size_t)n;
	}
	return QD_OK;
}

enum qd_err travel_specimen_mrz(const struct clearance_claims *c, int32_t expiry_days,
                                char out[MRZ_TEXT_MAX + 1])
{
	struct mrz_td3 m;
	memset(&m, 0, sizeof(m));
	enum qd_err rc =
	        split_name(c->name, m.primary, sizeof(m.primary), m.secondary, sizeof(m.secondary));
	size_t number_len = strlen(c->passport_no);
	if (rc != QD_OK || number_len > MRZ_DOC_NO_LEN)
		return QD_ERR_FORMAT;
	m.type = '<';
	memcpy(m.issuing_state, "BGD", 4);
	memcpy(m.nationality, "BGD", 4);
	memcpy(m.document_number, c->passport_no, number_len + 1); /* fits: checked above */
	int y = 0;
	unsigned mo = 0, d = 0;
	credential_date_civil(c->birth_days, &y, &mo, &d);
	m.birth = (struct mrz_date){(unsigned)(y % 100), mo, d};
	credential_date_civil(expiry_days, &y, &mo, &d);
	if (y < 2000 || y > 2099)
		return QD_ERR_ARG;
	m.expiry = (struct mrz_date){(unsigned)(y % 100), mo, d};
	m.sex = c->sex;
	return mrz_format_td3(&m, out);
}

enum qd_err travel_specimen_bcbp(const struct clearance_claims *c,
                                 const struct airport_table *airports, unsigned flight_day,
                                 char *out, size_t cap)
{
	const char *to = NULL;
	for (size_t i = 0; airports != NULL && i < airports->n && to == NULL; i++)
		if (strcmp(airports->rows[i].country, c->destination) == 0)
			to = airports->rows[i].iata;
	if (to == NULL)
		return QD_ERR_NOT_FOUND;
	if (flight_day < 1 || flight_day > 366)
		return QD_ERR_ARG;
	struct bcbp p;
	memset(&p, 0, sizeof(p));
	char surname[TRAVEL_NAME_PART_MAX + 1], given[BCBP_NAME_LEN + 1];
	if (split_name(c->name, surname, sizeof(surname), given, sizeof(given)) != QD_OK)
		return QD_ERR_FORMAT;
	/* SURNAME/GIVEN, cut at 20 as airlines do. */
	size_t at = 0;
	for (const char *q = surname; *q != '\0' && at < BCBP_NAME_LEN; q++)
		p.name[at++] = *q;
	if (at < BCBP_NAME_LEN)
		p.name[at++] = '/';
	for (const char *q = given; *q != '\0' && at < BCBP_NAME_LEN; q++)
		p.name[at++] = *q;
	p.name[at] = '\0';
	p.n_legs = 1;
	p.eticket = 'E';
	struct bcbp_leg *l = &p.legs[0];
	memcpy(l->pnr, "QDSPEC", 7); /* a specimen's booking reference */
	memcpy(l->from, "DAC", 4);
	snprintf(l->to, sizeof(l->to), "%s", to);
	memcpy(l->carrier, "BG", 3);
	memcpy(l->flight, "0347", 5);
	l->flight_day = flight_day;
	l->compartment = 'Y';
	memcpy(l->seat, "024A", 5);
	memcpy(l->sequence, "0042", 5);
	l->passenger_status = '1';
	return bcbp_format(&p, out, cap);
}
