/* SPDX-License-Identifier: Apache-2.0 */
/*
 * binding.c - the traveller transaction (see binding.h).
 *
 * Invariants: at most one of `open` (a card's transaction) and `queued`
 * (documents waiting for a card) holds; `cur` describes whichever does;
 * deadline_us is meaningful only while one holds.  Documents are parsed
 * when they arrive and matched when there is a good card: at once if one is
 * open, else when the card comes.  Every transition that closes `cur`
 * goes through close_current(), which computes the combined verdict.
 */
#include "qrdesk/binding.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/travel_name.h"

enum binding_shape binding_shape_of(const char *text, size_t len)
{
	if (len >= 2 * MRZ_TD3_LINE && len <= MRZ_TEXT_MAX && mrz_is_td3_line1(text, MRZ_TD3_LINE))
		return BINDING_SHAPE_MRZ;
	if (mrz_is_td3_line1(text, len))
		return BINDING_SHAPE_MRZ_LINE1;
	if (mrz_is_td3_line2(text, len))
		return BINDING_SHAPE_MRZ_LINE2;
	if (bcbp_is_shaped(text, len))
		return BINDING_SHAPE_BCBP;
	return BINDING_SHAPE_CARD;
}

const char *binding_shape_name(enum binding_shape shape)
{
	switch (shape) {
	case BINDING_SHAPE_CARD:
		return "card";
	case BINDING_SHAPE_MRZ:
		return "mrz";
	case BINDING_SHAPE_MRZ_LINE1:
		return "mrz-line1";
	case BINDING_SHAPE_MRZ_LINE2:
		return "mrz-line2";
	case BINDING_SHAPE_BCBP:
		return "bcbp";
	}
	return "unknown";
}

static const char *const require_names[] = {"card", "card+passport", "card+passport+boarding"};

bool binding_require_parse(const char *text, enum binding_require *out)
{
	for (size_t i = 0; i < sizeof(require_names) / sizeof(require_names[0]); i++)
		if (strcmp(text, require_names[i]) == 0) {
			*out = (enum binding_require)i;
			return true;
		}
	return false;
}

const char *binding_require_name(enum binding_require require)
{
	if ((unsigned)require < sizeof(require_names) / sizeof(require_names[0]))
		return require_names[require];
	return "unknown";
}

const char *binding_doc_name(enum binding_doc doc)
{
	switch (doc) {
	case BINDING_DOC_CARD:
		return "card";
	case BINDING_DOC_PASSPORT:
		return "passport";
	case BINDING_DOC_BOARDING:
		return "boarding";
	case BINDING_DOCS:
		break;
	}
	return "unknown";
}

void binding_init(struct binding *b, const struct binding_config *cfg)
{
	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	b->next_id = 1;
}

void binding_set_config(struct binding *b, const struct binding_config *cfg)
{
	b->cfg = *cfg;
}

bool binding_require_includes(enum binding_require require, enum binding_doc doc)
{
	switch (doc) {
	case BINDING_DOC_CARD:
		return true;
	case BINDING_DOC_PASSPORT:
		return require >= BINDING_REQUIRE_CARD_PASSPORT;
	case BINDING_DOC_BOARDING:
		return require >= BINDING_REQUIRE_CARD_PASSPORT_BOARDING;
	case BINDING_DOCS:
		break;
	}
	return false;
}

const char *binding_part_state_name(const struct binding_part *part, bool required)
{
	switch (part->state) {
	case BINDING_PASSED:
		return "passed";
	case BINDING_FAILED:
		return "failed";
	case BINDING_UNCHECKED:
		return "unchecked";
	case BINDING_ABSENT:
		break;
	}
	return required ? "missing" : "not_required";
}

static bool required(const struct binding *b, enum binding_doc doc)
{
	return binding_require_includes(b->cfg.require, doc);
}

static void part_fail(struct binding_part *part, enum verdict_reason reason, const char *field)
{
	part->state = BINDING_FAILED;
	part->reason = reason;
	snprintf(part->field, sizeof(part->field), "%s", field);
}

static void part_pass(struct binding_part *part)
{
	part->state = BINDING_PASSED;
	part->reason = REASON_OK;
	part->field[0] = '\0';
}

/* A card whose claims a document can be matched against. */
static bool card_usable(const struct binding_result *r)
{
	return r->has_card && r->verdict.kind != VERDICT_INVALID && r->verdict.has_claims &&
	       r->verdict.signature_ok;
}

static void match_passport(struct binding *b)
{
	struct binding_result *r = &b->cur;
	struct binding_part *part = &r->parts[BINDING_DOC_PASSPORT];
	const struct credential *cred = &r->verdict.cred;
	const struct clearance_claims *c = &cred->clearance;
	const struct mrz_td3 *m = &b->mrz;
	int year = 0;
	unsigned month = 0, day = 0;
	if (b->mrz_status != MRZ_OK) {
		part_fail(part, REASON_PASSPORT_MRZ_INVALID, mrz_field_name(b->mrz_err.field));
		return;
	}
	credential_date_civil(c->birth_days, &year, &month, &day);
	enum travel_name_match name = travel_name_match_mrz(c->name, m);
	/* Every field the card carries must be the passport's; the first that is not is named. */
	if (strcmp(m->document_number, c->passport_no) != 0)
		part_fail(part, REASON_PASSPORT_MISMATCH, "passport_no");
	else if (name == TRAVEL_NAME_UNCOMPARABLE)
		part_fail(part, REASON_PASSPORT_MISMATCH, "name (not A-Z)");
	else if (name == TRAVEL_NAME_DIFFERENT)
		part_fail(part, REASON_PASSPORT_MISMATCH, "name");
	else if ((unsigned)(year % 100) != m->birth.yy || month != m->birth.mm ||
	         day != m->birth.dd)
		part_fail(part, REASON_PASSPORT_MISMATCH, "birth_date");
	else if (m->sex != c->sex)
		part_fail(part, REASON_PASSPORT_MISMATCH, "sex");
	else if (strcmp(m->nationality, "BGD") != 0)
		part_fail(part, REASON_PASSPORT_MISMATCH, "nationality");
	else if (((int64_t)mrz_expiry_days(m) + 1) * 86400 <= cred->expires_at)
		/* Valid through its expiry day; the card must not outlive it. */
		part_fail(part, REASON_PASSPORT_EXPIRES_SOON, "expiry_date");
	else
		part_pass(part);
	if (part->state == BINDING_PASSED || part->reason == REASON_PASSPORT_EXPIRES_SOON) {
		r->passport_matched = true;
		snprintf(r->passport_no, sizeof(r->passport_no), "%s", m->document_number);
	}
}

static void match_boarding(struct binding *b)
{
	struct binding_result *r = &b->cur;
	struct binding_part *part = &r->parts[BINDING_DOC_BOARDING];
	const struct clearance_claims *c = &r->verdict.cred.clearance;
	if (b->pass_status != BCBP_OK) {
		part_fail(part, REASON_BOARDING_PASS_INVALID, b->pass_err.item);
		return;
	}
	const struct bcbp_leg *leg = bcbp_final_leg(&b->pass);
	snprintf(r->final_airport, sizeof(r->final_airport), "%s", leg->to);
	const char *country = airport_country(b->cfg.airports, leg->to);
	snprintf(r->final_country, sizeof(r->final_country), "%s", country ? country : "");
	enum travel_name_match name = travel_name_match_bcbp(c->name, &b->pass);
	if (name == TRAVEL_NAME_DIFFERENT || name == TRAVEL_NAME_UNCOMPARABLE)
		part_fail(part, REASON_BOARDING_NAME_MISMATCH, "name");
	else if (country == NULL)
		part_fail(part, REASON_BOARDING_DESTINATION_MISMATCH, "airport not in the table");
	else if (strcmp(country, c->destination) != 0)
		part_fail(part, REASON_BOARDING_DESTINATION_MISMATCH, "final_arrival");
	else
		part_pass(part);
}

static void match_waiting(struct binding *b)
{
	if (!card_usable(&b->cur))
		return;
	if (b->cur.parts[BINDING_DOC_PASSPORT].state == BINDING_UNCHECKED)
		match_passport(b);
	if (b->cur.parts[BINDING_DOC_BOARDING].state == BINDING_UNCHECKED)
		match_boarding(b);
}

static int severity(enum verdict_kind kind)
{
	return kind == VERDICT_INVALID ? 2 : kind == VERDICT_REVIEW ? 1 : 0;
}

/*
 * The worst part decides: the scanned parts in order card, passport, boarding
 * pass first, then the required documents missing (BINDING_INCOMPLETE).
 */
static void combine(struct binding *b)
{
	struct binding_result *r = &b->cur;
	enum verdict_reason reason = REASON_OK;
	char detail[sizeof(r->verdict.detail)] = "";
	int worst = -1;
	for (int missing = 0; missing < 2; missing++)
		for (int d = 0; d < BINDING_DOCS; d++) {
			const struct binding_part *part = &r->parts[d];
			bool scanned =
			        part->state == BINDING_PASSED || part->state == BINDING_FAILED;
			if (missing ? scanned || !required(b, (enum binding_doc)d) : !scanned)
				continue;
			enum verdict_reason pr = missing ? REASON_BINDING_INCOMPLETE : part->reason;
			int s = severity(reason_kind(pr));
			if (s <= worst)
				continue;
			worst = s;
			reason = pr;
			if (d == BINDING_DOC_CARD && !missing)
				snprintf(detail, sizeof(detail), "%s", r->verdict.detail);
			else
				snprintf(detail, sizeof(detail), "%s: %s",
				         binding_doc_name((enum binding_doc)d),
				         missing ? "missing" : part->field);
		}
	if (!r->has_card)
		memset(&r->verdict, 0, sizeof(r->verdict));
	verdict_set(&r->verdict, reason);
	snprintf(r->verdict.detail, sizeof(r->verdict.detail), "%s", detail);
}

static void close_current(struct binding *b, int64_t now_us, struct binding_outcome *out)
{
	combine(b);
	b->cur.closed_us = now_us;
	b->cur.id = b->next_id++;
	struct binding_result *slot = &b->closed[b->n_closed % BINDING_DONE_MAX];
	b->n_closed++;
	*slot = b->cur;
	if (out->n_done < BINDING_DONE_MAX)
		out->done[out->n_done++] = slot;
	memset(&b->cur, 0, sizeof(b->cur));
	/* The documents are forgotten with their transaction (no MRZ or PNR kept). */
	memset(&b->mrz, 0, sizeof(b->mrz));
	memset(&b->pass, 0, sizeof(b->pass));
	b->open = b->queued = false;
	b->deadline_us = 0;
}

static bool complete(const struct binding *b)
{
	for (int d = 0; d < BINDING_DOCS; d++) {
		enum binding_state st = b->cur.parts[d].state;
		if (st == BINDING_FAILED && reason_kind(b->cur.parts[d].reason) == VERDICT_INVALID)
			return true; /* red: nothing scanned later can make it better */
	}
	for (int d = 0; d < BINDING_DOCS; d++) {
		enum binding_state st = b->cur.parts[d].state;
		if (required(b, (enum binding_doc)d) && st != BINDING_PASSED &&
		    st != BINDING_FAILED)
			return false;
	}
	return true;
}

static void reset_outcome(struct binding *b, struct binding_outcome *out)
{
	memset(out, 0, sizeof(*out));
	b->n_closed = 0;
}

/* Close the current transaction if it is complete; else say the document was taken. */
static void settle(struct binding *b, enum binding_doc doc, int64_t t_us,
                   struct binding_outcome *out)
{
	if (b->open && complete(b)) {
		close_current(b, t_us, out);
		return;
	}
	out->accepted = true;
	out->accepted_doc = doc;
}

static void expire_into(struct binding *b, int64_t now_us, struct binding_outcome *out);

void binding_card(struct binding *b, const struct verdict *card, int64_t t_us,
                  struct binding_outcome *out)
{
	reset_outcome(b, out);
	expire_into(b, t_us, out);
	if (b->open)
		close_current(b, t_us, out); /* the next traveller */
	if (!b->queued) {
		memset(&b->cur, 0, sizeof(b->cur));
		b->cur.opened_us = t_us;
	}
	b->queued = false;
	b->open = true;
	b->deadline_us = t_us + (int64_t)b->cfg.timeout_s * 1000000;
	b->cur.has_card = true;
	b->cur.verdict = *card;
	if (card->kind == VERDICT_VALID)
		part_pass(&b->cur.parts[BINDING_DOC_CARD]);
	else
		part_fail(&b->cur.parts[BINDING_DOC_CARD], card->reason, reason_code(card->reason));
	if (!card_usable(&b->cur)) {
		close_current(b, t_us, out); /* its own verdict stands */
		return;
	}
	match_waiting(b);
	settle(b, BINDING_DOC_CARD, t_us, out);
}

static void add_document(struct binding *b, enum binding_doc doc, int64_t t_us,
                         struct binding_outcome *out)
{
	if (!b->open && !b->queued) {
		memset(&b->cur, 0, sizeof(b->cur));
		b->cur.opened_us = t_us;
		b->queued = true;
		b->deadline_us = t_us + (int64_t)b->cfg.timeout_s * 1000000;
	}
	b->cur.parts[doc].state = BINDING_UNCHECKED;
	b->cur.parts[doc].field[0] = '\0';
	if (doc == BINDING_DOC_PASSPORT) {
		b->cur.passport_matched = false;
		b->cur.passport_no[0] = '\0';
		b->cur.passport_ref[0] = '\0';
		if (b->mrz_status == MRZ_OK)
			snprintf(b->cur.passport_ref, sizeof(b->cur.passport_ref), "%s:%s",
			         b->mrz.issuing_state, b->mrz.document_number);
	} else {
		b->cur.final_airport[0] = b->cur.final_country[0] = '\0';
		b->cur.booking_ref[0] = '\0';
		if (b->pass_status == BCBP_OK && b->pass.n_legs > 0)
			snprintf(b->cur.booking_ref, sizeof(b->cur.booking_ref), "%s:%s",
			         b->pass.legs[0].carrier, b->pass.legs[0].pnr);
	}
	match_waiting(b);
	settle(b, doc, t_us, out);
}

static void take_mrz(struct binding *b, const char *text, size_t len, int64_t t_us,
                     struct binding_outcome *out)
{
	b->mrz_status = mrz_parse_td3(text, len, &b->mrz, &b->mrz_err);
	add_document(b, BINDING_DOC_PASSPORT, t_us, out);
}

void binding_text(struct binding *b, enum binding_shape shape, const char *text, size_t len,
                  int64_t t_us, struct binding_outcome *out)
{
	reset_outcome(b, out);
	expire_into(b, t_us, out);
	bool line = shape == BINDING_SHAPE_MRZ_LINE1 || shape == BINDING_SHAPE_MRZ_LINE2;
	if (b->line1_pending && line) {
		char both[2 * MRZ_TD3_LINE + 1];
		memcpy(both, b->line1, MRZ_TD3_LINE);
		both[MRZ_TD3_LINE] = '\n';
		memcpy(both + MRZ_TD3_LINE + 1, text, MRZ_TD3_LINE);
		b->line1_pending = false;
		take_mrz(b, both, sizeof(both), t_us, out);
		return;
	}
	switch (shape) {
	case BINDING_SHAPE_MRZ_LINE1:
		memcpy(b->line1, text, MRZ_TD3_LINE);
		b->line1_pending = true;
		b->line1_us = t_us;
		return;
	case BINDING_SHAPE_MRZ_LINE2: /* a second line without its first */
	case BINDING_SHAPE_MRZ:
		take_mrz(b, text, len, t_us, out);
		return;
	case BINDING_SHAPE_BCBP:
		b->pass_status = bcbp_parse(text, len, &b->pass, &b->pass_err);
		add_document(b, BINDING_DOC_BOARDING, t_us, out);
		return;
	case BINDING_SHAPE_CARD:
		break;
	}
}

static void expire_into(struct binding *b, int64_t now_us, struct binding_outcome *out)
{
	if (b->line1_pending && now_us - b->line1_us >= (int64_t)BINDING_MRZ_LINE_GAP_MS * 1000) {
		/* A first line alone: a passport whose zone is incomplete. */
		b->line1_pending = false;
		take_mrz(b, b->line1, MRZ_TD3_LINE, b->line1_us, out);
	}
	if ((b->open || b->queued) && now_us >= b->deadline_us)
		close_current(b, b->deadline_us, out);
}

void binding_expire(struct binding *b, int64_t now_us, struct binding_outcome *out)
{
	reset_outcome(b, out);
	expire_into(b, now_us, out);
}

int64_t binding_deadline(const struct binding *b)
{
	int64_t d = b->open || b->queued ? b->deadline_us : 0;
	if (b->line1_pending) {
		int64_t l = b->line1_us + (int64_t)BINDING_MRZ_LINE_GAP_MS * 1000;
		if (d == 0 || l < d)
			d = l;
	}
	return d;
}

const struct binding_result *binding_current(const struct binding *b)
{
	return b->open || b->queued ? &b->cur : NULL;
}
