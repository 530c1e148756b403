/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.h - from a code text to a verdict on the desk, on the loop thread:
 *
 *   source text -> de-dup (same text within the hold-off: one verdict)
 *   -> check_code (the pure core) -> "already used" (a valid card that
 *   already passed a desk here becomes review) -> indicators (set first:
 *   the officer sees it within a millisecond) -> the verdict's log line ->
 *   observers (in qrdeskd: the latency histogram and the status snapshot's
 *   dirty mark, part_pipeline.c; the kiosk's event, part_kiosk.c) -> audit
 *   row, committed before the pipeline goes on (so before the pattern ends).
 *   The control socket's `scan` answers with the event pipeline_submit() returns.
 *
 * The pipeline holds the trust view it checks against; pipeline_reload_trust
 * re-reads it from the store (SIGHUP, after an import).  Revocations are read
 * live from the store, so a new list is seen by the next scan anyway.
 */
#ifndef QRDESK_PIPELINE_H
#define QRDESK_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/binding.h"
#include "qrdesk/error.h"
#include "qrdesk/indicator.h"
#include "qrdesk/source.h"
#include "qrdesk/store.h"
#include "qrdesk/verdict.h"

#define PIPELINE_DEDUP_SLOTS 64 /* recent texts remembered for the hold-off */

struct pipeline_config {
	char desk_id[32];
	uint32_t holdoff_ms;
	bool already_used_check;
	uint32_t stale_grace_s; /* the view's stale_grace ([sync] stale_grace_s) */
	/* [binding]: card only (today's desk), or a transaction that binds the passport and
	 * boarding pass to the card (binding.h, docs/binding.md). */
	enum binding_require binding_require;
	uint32_t binding_timeout_s;
};

struct pipeline_counters {
	uint64_t scans;      /* texts submitted */
	uint64_t duplicates; /* suppressed within the hold-off */
	uint64_t empty;      /* empty texts ignored */
	uint64_t by_kind[3]; /* verdicts by enum verdict_kind */
	uint64_t by_reason[REASON_COUNT];
	uint64_t audit_failures;   /* rows the audit log refused (a store error, logged) */
	uint64_t binding_accepted; /* documents taken, the next awaited (binding) */
	int64_t last_latency_us;   /* text received -> indicators set */
	int64_t max_latency_us;
};

/* One verdict as published to observers. */
struct pipeline_event {
	uint64_t seq;    /* 1, 2, ... since start */
	int64_t wall_us; /* wall-clock time of the verdict */
	char source[SOURCE_NAME_MAX];
	struct verdict verdict;
	int64_t latency_us; /* text received -> indicators set */
	/* The audit pseudonym (credential_pseudonym) of the clearance number, when
	 * one was read: what audit rows, "already used" and the status carry. */
	bool has_pseudonym;
	uint8_t pseudonym[TRUST_HASH_LEN];
	bool already_used; /* reason is ALREADY_USED: first use below */
	int64_t first_use_us;
	char first_use_desk[32];
	/* With [binding] require beyond card: the verdict is a transaction's combined one. */
	bool bound;
	enum binding_require require;            /* what the transaction asked for */
	struct binding_part parts[BINDING_DOCS]; /* card, passport, boarding pass */
	bool passport_matched;                   /* passport_no may be shown in full */
	char passport_no[MRZ_DOC_NO_LEN + 1];
	char final_airport[4], final_country[3]; /* the boarding pass's last arrival */
	/* Keyed pseudonyms of the passport and the booking read, for the audit row only. */
	bool has_passport_pseudonym, has_boarding_pseudonym;
	uint8_t passport_pseudonym[TRUST_HASH_LEN], boarding_pseudonym[TRUST_HASH_LEN];
	/* The audit row's ticket with an audit writer (pipeline_audit_durable says when it is
	 * on disk); 0: written before the event was returned, or no row. */
	uint64_t audit_ticket;
};

typedef void (*pipeline_observer)(void *arg, const struct pipeline_event *event);

struct pipeline;

/* store: for revocations, "already used" and audit rows; player may be NULL (no indicators). */
enum qd_err pipeline_create(const struct pipeline_config *cfg, struct store *store,
                            struct indicator_player *player, struct pipeline **out,
                            struct qd_errmsg *why);
void pipeline_destroy(struct pipeline *p);

enum qd_err pipeline_reload_trust(struct pipeline *p, struct qd_errmsg *why);

/*
 * The deployment's audit key (docs/security.md).  Until it is set the
 * pipeline uses a random key of its own, so pseudonyms are never the
 * unkeyed hash, but they then match nothing from another run.
 */
void pipeline_set_audit_key(struct pipeline *p, const uint8_t key[CREDENTIAL_AUDIT_KEY_LEN]);
void pipeline_set_config(struct pipeline *p, const struct pipeline_config *cfg);

/*
 * Write the audit rows through w (audit_writer.h) from now on, instead of on the loop's
 * turn; NULL: back to writing them inline.  The pipeline holds the indicator player
 * while a row is not yet durable, and counts in "already used" the green rows that
 * are still on their way.  The writer's done callback must call pipeline_audit_done.
 */
struct audit_writer;
void pipeline_set_audit_writer(struct pipeline *p, struct audit_writer *w);
void pipeline_audit_done(struct pipeline *p, uint64_t through, uint64_t failed);
/* True once the row of this ticket (pipeline_event.audit_ticket) is durable or refused. */
bool pipeline_audit_durable(const struct pipeline *p, uint64_t ticket);

/* At most 4 observers; each is called on the loop thread for every verdict. */
enum qd_err pipeline_add_observer(struct pipeline *p, pipeline_observer fn, void *arg);

/*
 * Judge one text (the source_code_cb shape, so sources call it directly).
 * Returns the event if a verdict was made (NULL for a duplicate or an empty
 * text); valid until the next submit.
 */
const struct pipeline_event *pipeline_submit(struct pipeline *p, const char *source,
                                             const char *text, size_t len, int64_t t_us);
/*
 * With [binding] require beyond card, a text may also be a passport MRZ or
 * a boarding pass (told by its shape) and a verdict comes when the
 * traveller's transaction closes; a document taken before that plays
 * PATTERN_ACCEPTED and is counted in binding_accepted.  pipeline_tick
 * closes transactions whose time ran out (qrdeskd: once a second).
 */
void pipeline_tick(struct pipeline *p);
/* The transaction in progress, or NULL (none, or binding off). */
const struct binding_result *pipeline_binding_current(const struct pipeline *p);

/* Adapter with the source_code_cb signature (arg = the pipeline). */
void pipeline_on_code(void *arg, const char *name, const char *text, size_t len, int64_t t_us);

const struct pipeline_counters *pipeline_counters(const struct pipeline *p);
/* The last verdict, or NULL before the first. */
const struct pipeline_event *pipeline_last(const struct pipeline *p);
const struct trust_view *pipeline_trust(const struct pipeline *p);

/* Clock used for checks and audit rows (tests and drills set it; 0 = the real clock). */
void pipeline_set_clock_override(struct pipeline *p, int64_t unix_seconds);

#endif
