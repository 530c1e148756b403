/* SPDX-License-Identifier: Apache-2.0 */
/*
 * binding.h - the desk's traveller transaction: a clearance card, the
 * passport's MRZ and the boarding pass, matched to each other
 * (docs/binding.md).
 *
 * Pure: no I/O, no clock of its own (every call carries the time, monotonic
 * microseconds), no allocation.  The daemon feeds it the card's verdict
 * (check_code and "already used" done) and every other text by its shape;
 * it answers with what to show: "document accepted, waiting for the next",
 * or a transaction's combined verdict.
 *
 * States.  A card opens a transaction that lasts timeout_s.  A passport or
 * boarding pass scanned while one is open is matched at once; one scanned
 * while none is open waits for the next card (as long as timeout_s).  A
 * transaction closes with its combined verdict when:
 *  - every required document is in (require), or
 *  - the card itself is not a good card to bind (invalid, or without
 *    verified claims): its own verdict stands, at once, or
 *  - a matched document fails red (PASSPORT_MISMATCH), or
 *  - another card is scanned (the next traveller), or
 *  - time runs out (a required document missing: BINDING_INCOMPLETE).
 * Documents waiting without a card close as BINDING_INCOMPLETE when their
 * time runs out.  A document scanned again in the same transaction replaces
 * the earlier one (a re-scan after a misread).  A passport typed as two
 * separate lines (a reader in keyboard mode: Enter after each line) is put
 * together when the second follows within BINDING_MRZ_LINE_GAP_MS.
 *
 * The combined verdict is the worst of the parts (invalid over review over
 * valid); its reason is the first part's of that kind, in the order card,
 * passport, boarding pass, missing documents.
 */
#ifndef QRDESK_BINDING_H
#define QRDESK_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/airport.h"
#include "qrdesk/bcbp.h"
#include "qrdesk/mrz.h"
#include "qrdesk/verdict.h"

#define BINDING_TIMEOUT_MIN_S   10
#define BINDING_TIMEOUT_MAX_S   900
#define BINDING_TIMEOUT_DEFAULT 120
#define BINDING_MRZ_LINE_GAP_MS 3000
#define BINDING_FIELD_MAX       40
#define BINDING_DONE_MAX        4

/* What a text is, by its shape alone (no mode switch at the desk). */
enum binding_shape {
	BINDING_SHAPE_CARD = 0,  /* anything else: judged as a card, as always */
	BINDING_SHAPE_MRZ,       /* a whole TD3 MRZ: 88 to 92 characters, line 1 first */
	BINDING_SHAPE_MRZ_LINE1, /* 44 characters of the MRZ set starting with 'P' */
	BINDING_SHAPE_MRZ_LINE2, /* 44 characters of the MRZ set */
	BINDING_SHAPE_BCBP,      /* "M" + 1..4 legs, at least BCBP's mandatory length */
};

enum binding_shape binding_shape_of(const char *text, size_t len);
const char *binding_shape_name(enum binding_shape shape);

/* [binding] require: which documents a traveller must show. */
enum binding_require {
	BINDING_REQUIRE_CARD = 0,               /* "card": today's desk, nothing bound */
	BINDING_REQUIRE_CARD_PASSPORT,          /* "card+passport" */
	BINDING_REQUIRE_CARD_PASSPORT_BOARDING, /* "card+passport+boarding" */
};

bool binding_require_parse(const char *text, enum binding_require *out);
const char *binding_require_name(enum binding_require require);

enum binding_doc { BINDING_DOC_CARD = 0, BINDING_DOC_PASSPORT, BINDING_DOC_BOARDING, BINDING_DOCS };

/* Whether require asks for doc (the card always). */
bool binding_require_includes(enum binding_require require, enum binding_doc doc);

/* "card", "passport", "boarding". */
const char *binding_doc_name(enum binding_doc doc);

enum binding_state {
	BINDING_ABSENT = 0, /* not scanned */
	BINDING_UNCHECKED,  /* scanned, but no good card to match it with */
	BINDING_PASSED,
	BINDING_FAILED, /* reason and field say why */
};

struct binding_part {
	enum binding_state state;
	enum verdict_reason reason;    /* REASON_OK when passed */
	char field[BINDING_FIELD_MAX]; /* the field or check digit at fault: "birth_date" */
};

/* A part's outcome as the kiosk and the audit name it: "passed", "failed", "unchecked",
 * or for a document not scanned "missing" (required) / "not_required". */
const char *binding_part_state_name(const struct binding_part *part, bool required);

struct binding_result {
	uint64_t id; /* 1, 2, ... per binding */
	struct binding_part parts[BINDING_DOCS];
	/* The combined verdict: the card's (claims and all) with kind, reason and
	 * detail of the worst part.  Without a card: no claims, BINDING_INCOMPLETE. */
	struct verdict verdict;
	bool has_card;
	int64_t opened_us, closed_us;
	/* With a passport that matched: its number may be shown in full. */
	bool passport_matched;
	char passport_no[MRZ_DOC_NO_LEN + 1];
	/* With a boarding pass: where its last leg lands ("" if unknown). */
	char final_airport[4];
	char final_country[3];
	/* What the audit's pseudonyms are made of, in memory only ("" if that document was
	 * not read): the passport's issuing state and number ("BGD:EC1234567"), the
	 * booking's first operating carrier and PNR ("BG:ABC1234"). */
	char passport_ref[16];
	char booking_ref[16];
};

struct binding_config {
	enum binding_require require;
	uint32_t timeout_s;                   /* BINDING_TIMEOUT_MIN_S .. _MAX_S */
	const struct airport_table *airports; /* the final arrival's country */
};

/* What one call produced, in order: transactions closed, a document taken. */
struct binding_outcome {
	size_t n_done;
	const struct binding_result *done[BINDING_DONE_MAX]; /* valid until the next call */
	bool accepted; /* a document was taken and the desk waits for the next */
	enum binding_doc accepted_doc;
};

struct binding {
	struct binding_config cfg;
	uint64_t next_id;
	bool open;   /* a card's transaction */
	bool queued; /* documents waiting for a card (no transaction open) */
	int64_t deadline_us;
	struct binding_result cur;
	struct mrz_td3 mrz;
	struct mrz_error mrz_err;
	enum mrz_status mrz_status;
	struct bcbp pass;
	struct bcbp_error pass_err;
	enum bcbp_status pass_status;
	/* A passport's first line, typed alone, waiting for its second. */
	bool line1_pending;
	int64_t line1_us;
	char line1[MRZ_TD3_LINE];
	struct binding_result closed[BINDING_DONE_MAX];
	size_t n_closed;
};

void binding_init(struct binding *b, const struct binding_config *cfg);
/* New settings (reload); an open transaction keeps its deadline. */
void binding_set_config(struct binding *b, const struct binding_config *cfg);

/* A card's verdict (after check_code and "already used"), scanned at t_us. */
void binding_card(struct binding *b, const struct verdict *card, int64_t t_us,
                  struct binding_outcome *out);
/* A text of shape MRZ, MRZ_LINE1, MRZ_LINE2 or BCBP, scanned at t_us. */
void binding_text(struct binding *b, enum binding_shape shape, const char *text, size_t len,
                  int64_t t_us, struct binding_outcome *out);
/* Time has come to now_us: close what ran out. */
void binding_expire(struct binding *b, int64_t now_us, struct binding_outcome *out);
/* The next time binding_expire has work, or 0 if none. */
int64_t binding_deadline(const struct binding *b);
/* The transaction in progress (for the kiosk's checklist), or NULL. */
const struct binding_result *binding_current(const struct binding *b);

#endif
