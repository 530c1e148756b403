/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.c - see pipeline.h.  Runs on the loop thread only; the verdict
 * itself comes from check_code(), the one function every caller shares.
 */
#include "qrdesk/pipeline.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qrdesk/audit_writer.h"
#include "qrdesk/check.h"
#include "qrdesk/digest.h"
#include "qrdesk/hex.h"
#include "qrdesk/log.h"
#include "qrdesk/loop.h"
#include "qrdesk/usedlist.h"

/* A source cuts a text one byte past the check's limit, so the check says TOO_LARGE. */
_Static_assert(SOURCE_TEXT_MAX == CHECK_TEXT_MAX + 1, "source.h and check.h disagree");

#define OBSERVERS_MAX 4
/* A document's outcome in the audit: "failed PASSPORT_MRZ_INVALID document_number". */
#define AUDIT_OUTCOME_MAX 80

struct dedup_slot {
	uint8_t digest[16];
	int64_t t_us;
	bool used;
};

struct pipeline {
	struct pipeline_config cfg;
	struct store *store;
	struct indicator_player *player;
	struct store_trust *trust;
	struct pipeline_counters counters;
	struct pipeline_event event;
	bool have_event;
	struct dedup_slot dedup[PIPELINE_DEDUP_SLOTS];
	size_t dedup_next;
	struct {
		pipeline_observer fn;
		void *arg;
	} observers[OBSERVERS_MAX];
	size_t n_observers;
	int64_t clock_override;
	/* The audit pseudonyms' key: set by the daemon, else random for this run. */
	uint8_t audit_key[CREDENTIAL_AUDIT_KEY_LEN];
	/* The traveller transaction (binding.h): its state, the airport table it reads,
	 * and the card's "already used" facts kept until its transaction closes. */
	struct binding *binding;
	struct airport_table *airports;
	/* The table in use is a signed "airports" document's (this version, until then), or
	 * the firmware's when none is installed, readable and unexpired. */
	bool airports_signed;
	uint64_t airports_version;
	int64_t airports_expires_at;
	struct pipeline_event scratch; /* a card judged for its transaction, not yet shown */
	struct verdict card;
	int64_t card_first_use_us;
	char card_first_use_desk[32];
	/* The fleet's "already used" cards of the installed "used" document (that version), or
	 * none. */
	struct used_list fleet_used;
	uint64_t fleet_used_version;
	/* The audit writer (NULL: rows are written inline), the last ticket handed to it, the
	 * last it said is done, and the green rows on their way: "already used" counts them. */
	struct audit_writer *writer;
	uint64_t audit_submitted, audit_through;
	struct pending_green {
		uint64_t ticket;
		uint8_t hash[TRUST_HASH_LEN];
		int64_t time_us;
	} pending[AUDIT_WRITER_QUEUE];
	size_t n_pending;
};

static void binding_config_of(const struct pipeline *p, struct binding_config *bc)
{
	*bc = (struct binding_config){
	        .require = p->cfg.binding_require,
	        .timeout_s = p->cfg.binding_timeout_s != 0 ? p->cfg.binding_timeout_s
	                                                   : BINDING_TIMEOUT_DEFAULT,
	        .airports = p->airports,
	};
}

static int64_t wall_seconds(const struct pipeline *p)
{
	return p->clock_override != 0 ? p->clock_override : loop_wall_us() / 1000000;
}

static enum qd_err use_builtin_airports(struct pipeline *p, struct qd_errmsg *why)
{
	size_t len = 0;
	const char *text = airport_builtin_text(&len);
	p->airports_signed = false;
	return airport_table_parse(text, len, p->airports, why);
}

/* The signed table if the store holds one that parses and has not expired; the reason if not. */
static enum qd_err load_signed_airports(struct pipeline *p, struct airport_table *into,
                                        struct trust_freshness *fr, struct qd_errmsg *why)
{
	enum qd_err rc = store_freshness_get(p->store, TRUST_DOC_AIRPORTS, fr);
	if (rc != QD_OK || !fr->present) {
		qd_errmsg_set(why, rc != QD_OK ? "store unreadable" : "none installed");
		return rc != QD_OK ? rc : QD_ERR_NOT_FOUND;
	}
	if (wall_seconds(p) >= fr->expires_at) {
		qd_errmsg_set(why, "version %llu expired", (unsigned long long)fr->version);
		return QD_ERR_EXPIRED;
	}
	uint8_t *body = NULL;
	size_t len = 0;
	rc = store_document_body(p->store, TRUST_DOC_AIRPORTS, &body, &len);
	if (rc == QD_OK)
		rc = airport_table_from_body(body, len, into, why);
	else
		qd_errmsg_set(why, "its body cannot be read (%s)", qd_err_name(rc));
	free(body);
	return rc;
}

/*
 * The table boarding passes are matched against: the signed one when present and valid,
 * else the firmware's.  Said in the log when it changes.
 */
static void refresh_airports(struct pipeline *p)
{
	struct airport_table *fresh = malloc(sizeof(*fresh));
	struct trust_freshness fr = {0};
	struct qd_errmsg why = {{0}};
	enum qd_err rc = fresh != NULL ? load_signed_airports(p, fresh, &fr, &why) : QD_ERR_NOMEM;
	if (rc == QD_OK) {
		if (!p->airports_signed || p->airports_version != fr.version)
			log_info("airports: the signed table version %llu (%zu airports) is in use",
			         (unsigned long long)fr.version, fresh->n);
		*p->airports = *fresh;
		p->airports_signed = true;
		p->airports_version = fr.version;
		p->airports_expires_at = fr.expires_at;
	} else if (p->airports_signed || rc != QD_ERR_NOT_FOUND) {
		/* Back to (or staying with) the firmware's table, and why. */
		struct qd_errmsg builtin = {{0}};
		if (use_builtin_airports(p, &builtin) != QD_OK)
			log_err("airports: the built-in table does not parse: %s", builtin.text);
		log_warn("airports: the signed table is not used (%s): the built-in one is",
		         why.text);
	}
	free(fresh);
}

/* The airport table shipped with the firmware, and an idle transaction. */
static enum qd_err binding_setup(struct pipeline *p, struct qd_errmsg *why)
{
	p->airports = malloc(sizeof(*p->airports));
	p->binding = malloc(sizeof(*p->binding));
	if (p->airports == NULL || p->binding == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = use_builtin_airports(p, why);
	if (rc != QD_OK)
		return rc;
	struct binding_config bc;
	binding_config_of(p, &bc);
	binding_init(p->binding, &bc);
	return QD_OK;
}

enum qd_err pipeline_create(const struct pipeline_config *cfg, struct store *store,
                            struct indicator_player *player, struct pipeline **out,
                            struct qd_errmsg *why)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return QD_ERR_NOMEM;
	p->trust = calloc(1, sizeof(*p->trust));
	if (p->trust == NULL) {
		free(p);
		return QD_ERR_NOMEM;
	}
	p->cfg = *cfg;
	/* Never the bare hash: without a provisioned key, one nobody else knows. */
	if (sodium_init() < 0) {
		free(p->trust);
		free(p);
		qd_errmsg_set(why, "libsodium failed to initialise");
		return QD_ERR_CRYPTO;
	}
	randombytes_buf(p->audit_key, sizeof(p->audit_key));
	p->store = store;
	p->player = player;
	enum qd_err rc = binding_setup(p, why);
	if (rc == QD_OK)
		rc = pipeline_reload_trust(p, why);
	if (rc != QD_OK) {
		free(p->binding);
		free(p->airports);
		free(p->trust);
		free(p);
		return rc;
	}
	*out = p;
	return QD_OK;
}

void pipeline_destroy(struct pipeline *p)
{
	if (p == NULL)
		return;
	free(p->binding);
	free(p->airports);
	free(p->trust);
	usedlist_free(&p->fleet_used);
	sodium_memzero(p->audit_key, sizeof(p->audit_key));
	free(p);
}

void pipeline_set_audit_key(struct pipeline *p, const uint8_t key[CREDENTIAL_AUDIT_KEY_LEN])
{
	memcpy(p->audit_key, key, sizeof(p->audit_key));
}

/*
 * The fleet's "already used" list, read again when the installed version changed.  An
 * expired one is still used: a card that passed stays passed, however old the list.
 */
static void refresh_fleet_used(struct pipeline *p)
{
	struct trust_freshness fr = {0};
	enum qd_err rc = store_freshness_get(p->store, TRUST_DOC_USED, &fr);
	if (rc == QD_OK && !fr.present) {
		usedlist_free(&p->fleet_used);
		p->fleet_used_version = 0;
		return;
	}
	if (rc == QD_OK && fr.version == p->fleet_used_version)
		return;
	uint8_t *body = NULL;
	size_t len = 0;
	struct used_list fresh = {0};
	struct qd_errmsg why = {{0}};
	if (rc == QD_OK &&
	    (rc = store_document_body(p->store, TRUST_DOC_USED, &body, &len)) == QD_OK)
		rc = usedlist_from_body(body, len, &fresh, &why);
	free(body);
	if (rc != QD_OK) {
		log_warn("fleet used list: version %llu not read (%s%s%s): the previous one stays",
		         (unsigned long long)fr.version, qd_err_name(rc), why.text[0] ? ": " : "",
		         why.text);
		return;
	}
	usedlist_free(&p->fleet_used);
	p->fleet_used = fresh;
	p->fleet_used_version = fr.version;
	log_info("fleet used list: version %llu (%zu cards) is in use",
	         (unsigned long long)fr.version, fresh.n);
}

enum qd_err pipeline_reload_trust(struct pipeline *p, struct qd_errmsg *why)
{
	/* Load into a copy, so a failed reload keeps the trust we had. */
	struct store_trust *fresh = malloc(sizeof(*fresh));
	if (fresh == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = store_trust_load(p->store, fresh);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "cannot load the trust data: %s", qd_err_name(rc));
		free(fresh);
		return rc;
	}
	if (fresh->view.policy_unreadable)
		log_warn("the installed policy cannot be read (%s): verdicts are review "
		         "POLICY_STALE until a readable one is imported",
		         fresh->policy_error.text);
	fresh->view.stale_grace = p->cfg.stale_grace_s;
	free(p->trust);
	p->trust = fresh; /* its view points at its own keys and policy */
	refresh_airports(p);
	refresh_fleet_used(p);
	return QD_OK;
}

void pipeline_set_config(struct pipeline *p, const struct pipeline_config *cfg)
{
	p->cfg = *cfg;
	p->trust->view.stale_grace = cfg->stale_grace_s;
	struct binding_config bc;
	binding_config_of(p, &bc);
	binding_set_config(p->binding, &bc);
}

enum qd_err pipeline_add_observer(struct pipeline *p, pipeline_observer fn, void *arg)
{
	if (p->n_observers >= OBSERVERS_MAX)
		return QD_ERR_TOO_LARGE;
	p->observers[p->n_observers].fn = fn;
	p->observers[p->n_observers].arg = arg;
	p->n_observers++;
	return QD_OK;
}

/* True if the same text was seen within the hold-off; remembers it either way. */
static bool seen_recently(struct pipeline *p, const char *text, size_t len, int64_t t_us)
{
	uint8_t full[DIGEST_SHA256_LEN];
	digest_sha256(text, len, full);
	int64_t window = (int64_t)p->cfg.holdoff_ms * 1000;
	for (size_t i = 0; i < PIPELINE_DEDUP_SLOTS; i++) {
		struct dedup_slot *s = &p->dedup[i];
		if (s->used && memcmp(s->digest, full, sizeof(s->digest)) == 0 &&
		    t_us - s->t_us < window) {
			/* A card held under the camera keeps its hold-off from its last sighting.
			 */
			s->t_us = t_us;
			return true;
		}
	}
	struct dedup_slot *s = &p->dedup[p->dedup_next];
	p->dedup_next = (p->dedup_next + 1) % PIPELINE_DEDUP_SLOTS;
	memcpy(s->digest, full, sizeof(s->digest));
	s->t_us = t_us;
	s->used = true;
	return false;
}

static enum indicator_pattern pattern_for(enum verdict_kind kind)
{
	switch (kind) {
	case VERDICT_VALID:
		return PATTERN_VALID;
	case VERDICT_REVIEW:
		return PATTERN_REVIEW;
	case VERDICT_INVALID:
		break;
	}
	return PATTERN_INVALID;
}

/* The audit pseudonym of the verdict's clearance number, when one was read. */
static void set_pseudonym(const struct pipeline *p, struct pipeline_event *ev)
{
	ev->has_pseudonym = ev->verdict.has_hash;
	if (ev->has_pseudonym)
		credential_pseudonym(p->audit_key, ev->verdict.cred.clearance.clearance_no,
		                     ev->pseudonym);
}

static void check_already_used(struct pipeline *p, struct pipeline_event *ev)
{
	set_pseudonym(p, ev);
	struct verdict *v = &ev->verdict;
	if (!p->cfg.already_used_check || v->kind != VERDICT_VALID || !ev->has_pseudonym)
		return;
	bool found = false;
	int64_t first = 0;
	/* Within the hold-off it is the same presentation, not a second use. */
	int64_t before = ev->wall_us - (int64_t)p->cfg.holdoff_ms * 1000;
	enum qd_err rc = store_audit_first_valid(p->store, ev->pseudonym, before, &found, &first,
	                                         ev->first_use_desk, sizeof(ev->first_use_desk));
	if (rc != QD_OK) {
		/* Cannot tell: the officer decides, never a silent green. */
		verdict_set(v, REASON_TRUST_UNAVAILABLE);
		snprintf(v->detail, sizeof(v->detail), "audit log unreadable");
		return;
	}
	/* A green row still on its way to the audit log is a use like a written one. */
	for (size_t i = 0; !found && i < p->n_pending; i++) {
		const struct pending_green *g = &p->pending[i];
		if (g->time_us < before && memcmp(g->hash, ev->pseudonym, TRUST_HASH_LEN) == 0) {
			found = true;
			first = g->time_us;
			snprintf(ev->first_use_desk, sizeof(ev->first_use_desk), "%s",
			         p->cfg.desk_id);
		}
	}
	/* Passed at another desk of the fleet (or here, before this store): the earlier use. */
	const struct used_entry *fleet = usedlist_find(&p->fleet_used, ev->pseudonym);
	if (fleet != NULL && fleet->first_at * 1000000 < before &&
	    (!found || fleet->first_at * 1000000 < first)) {
		found = true;
		first = fleet->first_at * 1000000;
		snprintf(ev->first_use_desk, sizeof(ev->first_use_desk), "%s", fleet->desk);
	}
	if (found) {
		ev->already_used = true;
		ev->first_use_us = first;
		verdict_set(v, REASON_ALREADY_USED);
		/* ISO 8601 in UTC: the log is read by people and by tools. */
		time_t t = (time_t)(first / 1000000);
		struct tm tm;
		char when[32] = "?";
		if (gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(v->detail, sizeof(v->detail), "first passed at %s at desk %s", when,
		         ev->first_use_desk);
	}
}

/* A traveller transaction's documents as its audit row carries them (audit_binding). */
struct audit_docs {
	char outcome[BINDING_DOCS][AUDIT_OUTCOME_MAX];
	struct audit_binding binding;
};

/* Each document's outcome and the pseudonyms of a transaction's passport and booking. */
static const struct audit_binding *audit_documents(const struct pipeline_event *ev,
                                                   struct audit_docs *docs)
{
	for (int d = 0; d < BINDING_DOCS; d++) {
		const struct binding_part *part = &ev->parts[d];
		const char *state = binding_part_state_name(
		        part, binding_require_includes(ev->require, (enum binding_doc)d));
		if (part->state == BINDING_FAILED)
			snprintf(docs->outcome[d], sizeof(docs->outcome[d]), "%s %s %s", state,
			         reason_code(part->reason), part->field);
		else
			snprintf(docs->outcome[d], sizeof(docs->outcome[d]), "%s", state);
	}
	docs->binding = (struct audit_binding){
	        .card = docs->outcome[BINDING_DOC_CARD],
	        .passport = docs->outcome[BINDING_DOC_PASSPORT],
	        .boarding = docs->outcome[BINDING_DOC_BOARDING],
	        .passport_pseudonym = ev->has_passport_pseudonym ? ev->passport_pseudonym : NULL,
	        .boarding_pseudonym = ev->has_boarding_pseudonym ? ev->boarding_pseudonym : NULL,
	};
	return &docs->binding;
}

/*
 * The row is on disk (its own file, synchronous commit) before the pipeline
 * goes on: the audit log's other writers hold it only for short
 * transactions, so there is nothing to wait out and nothing kept in memory.
 */
static void write_audit(struct pipeline *p, struct pipeline_event *ev)
{
	const struct verdict *v = &ev->verdict;
	size_t kid_len = v->kid_len <= TRUST_KID_MAX ? v->kid_len : 0;
	struct audit_docs docs;
	struct audit_record rec = {
	        .binding = ev->bound ? audit_documents(ev, &docs) : NULL,
	        .time_us = ev->wall_us,
	        .source = ev->source,
	        .verdict = verdict_kind_name(v->kind),
	        .reason = reason_code(v->reason),
	        .kid = kid_len > 0 ? v->kid : NULL,
	        .kid_len = kid_len,
	        .clearance_hash = ev->has_pseudonym ? ev->pseudonym : NULL,
	        .desk = p->cfg.desk_id,
	        .latency_us = ev->latency_us,
	        .card_expires_at = v->has_claims ? v->cred.expires_at : 0,
	};
	if (p->writer == NULL) {
		if (store_audit_append(p->store, &rec, NULL) != QD_OK) {
			p->counters.audit_failures++;
			log_err("audit row for verdict %llu not written (store error)",
			        (unsigned long long)ev->seq);
		}
		return;
	}
	if (audit_writer_submit(p->writer, &rec, &ev->audit_ticket) != QD_OK) {
		p->counters.audit_failures++;
		log_err("audit row for verdict %llu not written (a text too long for its copy)",
		        (unsigned long long)ev->seq);
		return;
	}
	p->audit_submitted = ev->audit_ticket;
	/* The queue holds at most AUDIT_WRITER_QUEUE rows, so the list cannot overflow. */
	if (rec.clearance_hash != NULL && v->kind == VERDICT_VALID &&
	    p->n_pending < AUDIT_WRITER_QUEUE) {
		struct pending_green *g = &p->pending[p->n_pending++];
		g->ticket = ev->audit_ticket;
		memcpy(g->hash, rec.clearance_hash, TRUST_HASH_LEN);
		g->time_us = rec.time_us;
	}
	/* Its pattern does not end before the row is durable. */
	indicator_player_hold(p->player, true);
}

void pipeline_set_audit_writer(struct pipeline *p, struct audit_writer *w)
{
	p->writer = w;
	if (w == NULL) {
		p->n_pending = 0;
		p->audit_through = p->audit_submitted;
		indicator_player_hold(p->player, false);
	}
}

void pipeline_audit_done(struct pipeline *p, uint64_t through, uint64_t failed)
{
	p->counters.audit_failures += failed;
	if (through > p->audit_through)
		p->audit_through = through;
	size_t kept = 0;
	for (size_t i = 0; i < p->n_pending; i++)
		if (p->pending[i].ticket > p->audit_through)
			p->pending[kept++] = p->pending[i];
	p->n_pending = kept;
	if (p->audit_through >= p->audit_submitted)
		indicator_player_hold(p->player, false);
}

bool pipeline_audit_durable(const struct pipeline *p, uint64_t ticket)
{
	return ticket <= p->audit_through;
}

static void log_verdict(const struct pipeline_event *ev)
{
	const struct verdict *v = &ev->verdict;
	char kid[2 * TRUST_KID_MAX + 1] = "-";
	if (v->kid_len > 0)
		hex_encode(v->kid, v->kid_len, kid, sizeof(kid));
	log_info("verdict %llu %s %s source=%s kid=%s latency_us=%lld%s%s",
	         (unsigned long long)ev->seq, verdict_kind_name(v->kind), reason_code(v->reason),
	         ev->source, kid, (long long)ev->latency_us, v->detail[0] ? " detail=" : "",
	         v->detail);
}

/* A fresh event for a verdict from source. */
static struct pipeline_event *new_event(struct pipeline *p, const char *source)
{
	struct pipeline_event *ev = &p->event;
	uint64_t seq = ev->seq + 1;
	memset(ev, 0, sizeof(*ev));
	ev->seq = seq;
	ev->wall_us = p->clock_override != 0 ? p->clock_override * 1000000 : loop_wall_us();
	snprintf(ev->source, sizeof(ev->source), "%s", source);
	return ev;
}

/* Show, count, log, tell the observers, audit: everything after the verdict is made. */
static void publish(struct pipeline *p, struct pipeline_event *ev, int64_t t_us)
{
	set_pseudonym(p, ev);
	/* The officer first: indicators before anything that touches the disk. */
	if (p->player != NULL)
		indicator_player_play(p->player, pattern_for(ev->verdict.kind));
	ev->latency_us = loop_now_us() - t_us;
	p->have_event = true;

	struct pipeline_counters *c = &p->counters;
	c->by_kind[ev->verdict.kind]++;
	c->by_reason[ev->verdict.reason]++;
	c->last_latency_us = ev->latency_us;
	if (ev->latency_us > c->max_latency_us)
		c->max_latency_us = ev->latency_us;

	log_verdict(ev);
	for (size_t i = 0; i < p->n_observers; i++)
		p->observers[i].fn(p->observers[i].arg, ev);
	write_audit(p, ev);
}

/* Each transaction closed: one verdict, one audit row (the card's pseudonym only). */
static void publish_binding(struct pipeline *p, const struct binding_outcome *out,
                            const char *source, int64_t t_us)
{
	for (size_t i = 0; i < out->n_done; i++) {
		const struct binding_result *r = out->done[i];
		struct pipeline_event *ev = new_event(p, source);
		ev->verdict = r->verdict;
		ev->bound = true;
		ev->require = p->cfg.binding_require;
		memcpy(ev->parts, r->parts, sizeof(ev->parts));
		ev->passport_matched = r->passport_matched;
		memcpy(ev->passport_no, r->passport_no, sizeof(ev->passport_no));
		memcpy(ev->final_airport, r->final_airport, sizeof(ev->final_airport));
		memcpy(ev->final_country, r->final_country, sizeof(ev->final_country));
		/* Pseudonyms only: "passport:" and "booking:" keep them apart from card numbers. */
		char msg[32];
		ev->has_passport_pseudonym = r->passport_ref[0] != '\0';
		if (ev->has_passport_pseudonym) {
			snprintf(msg, sizeof(msg), "passport:%s", r->passport_ref);
			credential_pseudonym(p->audit_key, msg, ev->passport_pseudonym);
		}
		ev->has_boarding_pseudonym = r->booking_ref[0] != '\0';
		if (ev->has_boarding_pseudonym) {
			snprintf(msg, sizeof(msg), "booking:%s", r->booking_ref);
			credential_pseudonym(p->audit_key, msg, ev->boarding_pseudonym);
		}
		sodium_memzero(msg, sizeof(msg));
		if (r->verdict.reason == REASON_ALREADY_USED) {
			ev->already_used = true;
			ev->first_use_us = p->card_first_use_us;
			memcpy(ev->first_use_desk, p->card_first_use_desk,
			       sizeof(ev->first_use_desk));
		}
		publish(p, ev, t_us);
	}
	if (out->accepted) {
		if (p->player != NULL)
			indicator_player_play(p->player, PATTERN_ACCEPTED);
		p->counters.binding_accepted++;
		log_info("binding: %s taken from %s, waiting for the next document",
		         binding_doc_name(out->accepted_doc), source);
	}
}

/* check_code, its lookups (revocation, windows) in one read transaction of the store. */
static void judge(struct pipeline *p, const char *text, size_t len, struct pipeline_event *ev)
{
	store_read_hold(p->store);
	check_code(text, len, &p->trust->view, ev->wall_us / 1000000, &ev->verdict);
	store_read_release(p->store);
}

/* The traveller's transaction: a card judged as always, any other shape taken as a document. */
static void submit_bound(struct pipeline *p, const char *source, const char *text, size_t len,
                         int64_t t_us)
{
	struct binding_outcome out;
	enum binding_shape shape = binding_shape_of(text, len);
	if (shape != BINDING_SHAPE_CARD) {
		binding_text(p->binding, shape, text, len, t_us, &out);
		publish_binding(p, &out, source, t_us);
		return;
	}
	/* Judged aside: the last published event stays what the kiosk and status show. */
	struct pipeline_event *ev = &p->scratch;
	memset(ev, 0, sizeof(*ev));
	ev->wall_us = p->clock_override != 0 ? p->clock_override * 1000000 : loop_wall_us();
	judge(p, text, len, ev);
	check_already_used(p, ev);
	p->card = ev->verdict;
	p->card_first_use_us = ev->first_use_us;
	memcpy(p->card_first_use_desk, ev->first_use_desk, sizeof(p->card_first_use_desk));
	binding_card(p->binding, &p->card, t_us, &out);
	publish_binding(p, &out, source, t_us);
}

const struct pipeline_event *pipeline_submit(struct pipeline *p, const char *source,
                                             const char *text, size_t len, int64_t t_us)
{
	p->counters.scans++;
	if (len == 0) {
		p->counters.empty++;
		return NULL;
	}
	if (seen_recently(p, text, len, t_us)) {
		p->counters.duplicates++;
		return NULL;
	}
	if (p->cfg.binding_require != BINDING_REQUIRE_CARD) {
		uint64_t before = p->event.seq;
		submit_bound(p, source, text, len, t_us);
		return p->event.seq != before ? &p->event : NULL;
	}
	struct pipeline_event *ev = new_event(p, source);
	judge(p, text, len, ev);
	check_already_used(p, ev);
	publish(p, ev, t_us);
	return ev;
}

void pipeline_tick(struct pipeline *p)
{
	struct binding_outcome out;
	int64_t now = loop_now_us();
	int64_t deadline = binding_deadline(p->binding);
	if (p->airports_signed && wall_seconds(p) >= p->airports_expires_at)
		refresh_airports(p); /* expired while running: the firmware's table again */
	if (deadline != 0 && now >= deadline) {
		binding_expire(p->binding, now, &out);
		publish_binding(p, &out, "binding", now);
	}
}

const struct binding_result *pipeline_binding_current(const struct pipeline *p)
{
	return p->cfg.binding_require != BINDING_REQUIRE_CARD ? binding_current(p->binding) : NULL;
}

void pipeline_on_code(void *arg, const char *name, const char *text, size_t len, int64_t t_us)
{
	pipeline_submit(arg, name, text, len, t_us);
}

const struct pipeline_counters *pipeline_counters(const struct pipeline *p)
{
	return &p->counters;
}

const struct pipeline_event *pipeline_last(const struct pipeline *p)
{
	return p->have_event ? &p->event : NULL;
}

const struct trust_view *pipeline_trust(const struct pipeline *p)
{
	return &p->trust->view;
}

void pipeline_set_clock_override(struct pipeline *p, int64_t unix_seconds)
{
	p->clock_override = unix_seconds;
}
