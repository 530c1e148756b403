/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_pipeline.c - the verdict pipeline on a real store: de-duplication
 * within the hold-off, empty texts, "already used", audit rows, counters,
 * observers, trust reload.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "qrdesk/audit_writer.h"
#include "qrdesk/base45.h"
#include "qrdesk/cose.h"
#include "qrdesk/credential.h"
#include "qrdesk/indicator.h"
#include "qrdesk/loop.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/signature.h"
#include "qrdesk/usedlist.h"
#include "testutil.h"

#define NOW 1795000000LL
#define DAY 86400LL

struct fx {
	char *dir;
	char path[4096];
	struct store *store;
	struct pipeline *pipeline;
	struct signature_keypair kp;
	struct trust_key key;
	int observed;
	enum verdict_reason last_reason;
};

static void make_code(struct fx *fx, const char *clearance_no, char *text, size_t cap)
{
	struct credential cred;
	credential_example(&cred, clearance_no, NOW - 3600, NOW + 90 * DAY);
	uint8_t payload[512], cose[1024];
	size_t plen, clen, tlen;
	assert_int_equal(credential_encode(&cred, payload, sizeof(payload), &plen, NULL), QD_OK);
	assert_int_equal(cose_sign1_sign(&fx->kp, fx->key.kid, fx->key.kid_len, payload, plen, cose,
	                                 sizeof(cose), &clen),
	                 QD_OK);
	memcpy(text, CREDENTIAL_PREFIX, CREDENTIAL_PREFIX_LEN);
	assert_int_equal(base45_encode(cose, clen, text + 4, cap - 4, &tlen), BASE45_OK);
	text[4 + tlen] = '\0';
}

static void observer(void *arg, const struct pipeline_event *ev)
{
	struct fx *fx = arg;
	fx->observed++;
	fx->last_reason = ev->verdict.reason;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_int_equal(signature_init(), QD_OK);
	fx->dir = tu_mkdtemp();
	snprintf(fx->path, sizeof(fx->path), "%s/desk.db", fx->dir);
	assert_int_equal(store_open(fx->path, STORE_OPEN_CREATE, &fx->store, NULL), QD_OK);
	assert_int_equal(signature_keypair_generate(SIGNATURE_ALG_EDDSA, &fx->kp), QD_OK);
	struct trust_key *k = &fx->key;
	k->alg = SIGNATURE_ALG_EDDSA;
	k->role = KEY_ROLE_ISSUER;
	k->status = KEY_STATUS_ACTIVE;
	memcpy(k->public_key, fx->kp.pub, fx->kp.pub_len);
	k->public_len = (uint8_t)fx->kp.pub_len;
	trust_kid_derive(k->public_key, k->public_len, k->kid);
	k->kid_len = TRUST_KID_DEFAULT_LEN;
	k->not_before = NOW - 400 * DAY;
	k->not_after = NOW + 400 * DAY;
	struct store_doc_meta meta = {TRUST_DOC_KEYSET, 1, NOW - DAY, NOW + 300 * DAY, {0}};
	bool unchanged;
	assert_int_equal(store_apply_keyset(fx->store, &meta, k, 1, &unchanged, NULL), QD_OK);
	uint8_t revoked[TRUST_HASH_LEN];
	credential_clearance_hash("REVOKED-1", revoked);
	meta = (struct store_doc_meta){TRUST_DOC_REVOCATIONS, 1, NOW - 3600, NOW + 6 * DAY, {0}};
	assert_int_equal(store_apply_revocations(fx->store, &meta, revoked, 1, &unchanged, NULL),
	                 QD_OK);
	struct pipeline_config cfg = {
	        .desk_id = "DAC-7", .holdoff_ms = 1000, .already_used_check = true};
	assert_int_equal(pipeline_create(&cfg, fx->store, NULL, &fx->pipeline, NULL), QD_OK);
	pipeline_set_clock_override(fx->pipeline, NOW);
	assert_int_equal(pipeline_add_observer(fx->pipeline, observer, fx), QD_OK);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	pipeline_destroy(fx->pipeline);
	store_close(fx->store);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static const struct pipeline_event *submit(struct fx *fx, const char *text, int64_t t_us)
{
	return pipeline_submit(fx->pipeline, "test", text, strlen(text), t_us);
}

static void test_dedup_empty_and_already_used(void **state)
{
	struct fx *fx = *state;
	char code[1024];
	make_code(fx, "2611000001", code, sizeof(code));
	int64_t t = 10 * 1000000;

	const struct pipeline_event *ev = submit(fx, code, t);
	assert_non_null(ev);
	assert_int_equal(ev->verdict.reason, REASON_OK);
	assert_int_equal(ev->seq, 1);
	assert_string_equal(ev->source, "test");
	/* Within the hold-off (and each sighting extends it): no second verdict. */
	assert_null(submit(fx, code, t + 500000));
	assert_null(submit(fx, code, t + 1400000));
	/* Empty text: ignored, counted. */
	assert_null(pipeline_submit(fx->pipeline, "test", "", 0, t + 1500000));
	/* After the hold-off, on a later clock: the same card again is "already used". */
	pipeline_set_clock_override(fx->pipeline, NOW + 60);
	ev = submit(fx, code, t + 5000000);
	assert_non_null(ev);
	assert_int_equal(ev->verdict.reason, REASON_ALREADY_USED);
	assert_int_equal(ev->verdict.kind, VERDICT_REVIEW);
	assert_true(ev->already_used);
	assert_int_equal(ev->first_use_us, NOW * 1000000);
	assert_string_equal(ev->first_use_desk, "DAC-7");
	assert_non_null(strstr(ev->verdict.detail, "DAC-7"));

	const struct pipeline_counters *c = pipeline_counters(fx->pipeline);
	assert_int_equal(c->scans, 5);
	assert_int_equal(c->duplicates, 2);
	assert_int_equal(c->empty, 1);
	assert_int_equal(c->by_kind[VERDICT_VALID], 1);
	assert_int_equal(c->by_kind[VERDICT_REVIEW], 1);
	assert_int_equal(c->by_reason[REASON_ALREADY_USED], 1);
	assert_int_equal(fx->observed, 2);
	assert_int_equal(fx->last_reason, REASON_ALREADY_USED);
	uint64_t rows;
	assert_int_equal(store_audit_count(fx->store, &rows), QD_OK);
	assert_int_equal(rows, 2);
	assert_int_equal(pipeline_last(fx->pipeline)->seq, 2);
}

/*
 * Another connection holds the trust store's write lock (the sync worker
 * applying a large list): verdicts go on at once and each one's audit row is
 * in the audit log's own file before submit returns - nothing waits in
 * memory - and "already used" finds the first use there.
 */
static void test_audit_written_while_trust_busy(void **state)
{
	struct fx *fx = *state;
	char code[1024], other[1024];
	make_code(fx, "2611000001", code, sizeof(code));
	make_code(fx, "2611000002", other, sizeof(other));
	struct store *worker = NULL;
	assert_int_equal(store_open(fx->path, STORE_OPEN_READWRITE, &worker, NULL), QD_OK);
	assert_int_equal(store_batch_begin(worker, NULL), QD_OK);

	const struct pipeline_event *ev = submit(fx, code, 1000000);
	assert_non_null(ev);
	assert_int_equal(ev->verdict.reason, REASON_OK);
	uint64_t rows = 99;
	assert_int_equal(store_audit_count(fx->store, &rows), QD_OK);
	assert_int_equal(rows, 1);
	pipeline_set_clock_override(fx->pipeline, NOW + 10);
	ev = submit(fx, other, 2000000);
	assert_int_equal(ev->verdict.reason, REASON_OK);
	pipeline_set_clock_override(fx->pipeline, NOW + 60);
	ev = submit(fx, code, 9000000);
	assert_int_equal(ev->verdict.reason, REASON_ALREADY_USED);
	assert_int_equal(ev->first_use_us, NOW * 1000000);
	assert_string_equal(ev->first_use_desk, "DAC-7");
	assert_int_equal(pipeline_counters(fx->pipeline)->audit_failures, 0);
	/* Seen by another connection while the trust batch is still open: committed. */
	assert_int_equal(store_audit_count(worker, &rows), QD_OK);
	assert_int_equal(rows, 3);
	store_batch_abort(worker);
	store_close(worker);
}

/*
 * Retention deletes a green card's row, but the card stays "already used"
 * until its own expiry (the issue: a purged row gave the same card a fresh
 * green); then its marker goes too.
 */
static void test_used_marker_outlives_retention(void **state)
{
	struct fx *fx = *state;
	/* Trust data fresh for the whole test. */
	struct store_doc_meta meta = {TRUST_DOC_REVOCATIONS, 2, NOW, NOW + 200 * DAY, {0}};
	uint8_t revoked[TRUST_HASH_LEN];
	credential_clearance_hash("REVOKED-1", revoked);
	bool unchanged;
	assert_int_equal(store_apply_revocations(fx->store, &meta, revoked, 1, &unchanged, NULL),
	                 QD_OK);
	assert_int_equal(pipeline_reload_trust(fx->pipeline, NULL), QD_OK);
	char code[1024];
	make_code(fx, "2611000009", code, sizeof(code)); /* expires NOW + 90 days */
	const struct pipeline_event *ev = submit(fx, code, 1000000);
	assert_int_equal(ev->verdict.reason, REASON_OK);

	/* 31 days on, 30 days' retention, neither upload nor export: the row goes. */
	int64_t later = NOW + 31 * DAY;
	struct store_retention r = {.before_us = (later - 30 * DAY) * 1000000,
	                            .keep_until_copied = false,
	                            .now = later,
	                            .max_rows = 100};
	struct store_retention_result res;
	assert_int_equal(store_audit_retain(fx->store, &r, &res, NULL), QD_OK);
	assert_int_equal(res.rows, 1);
	assert_int_equal(res.markers, 0);
	uint64_t rows = 99;
	assert_int_equal(store_audit_count(fx->store, &rows), QD_OK);
	assert_int_equal(rows, 0);

	pipeline_set_clock_override(fx->pipeline, later);
	ev = submit(fx, code, 50000000);
	assert_int_equal(ev->verdict.reason, REASON_ALREADY_USED);
	assert_int_equal(ev->first_use_us, NOW * 1000000);
	assert_string_equal(ev->first_use_desk, "DAC-7");

	/* Past the card's expiry its marker is purged. */
	r.now = NOW + 91 * DAY;
	r.before_us = (r.now - 30 * DAY) * 1000000;
	assert_int_equal(store_audit_retain(fx->store, &r, &res, NULL), QD_OK);
	assert_int_equal(res.markers, 1);
	bool found = true;
	int64_t first = 0;
	assert_int_equal(store_audit_first_valid(fx->store, ev->pseudonym, INT64_MAX, &found,
	                                         &first, NULL, 0),
	                 QD_OK);
	assert_false(found);
}

/*
 * With the audit writer: the verdict comes at once, its row later.  While the audit file's
 * lock is held elsewhere (rows cannot be written), the green card's row is on its way:
 * the same card again is already used all the same, and the first verdict's pattern does
 * not end, however short, until its row is durable.
 */
struct writer_rig {
	struct loop *loop;
	struct pipeline *pipeline;
	struct loop_timer *deadline;
	uint64_t want;
	bool timed_out;
};

static void writer_done(void *arg, uint64_t through, uint64_t failed)
{
	struct writer_rig *r = arg;
	pipeline_audit_done(r->pipeline, through, failed);
	if (r->want != 0 && pipeline_audit_durable(r->pipeline, r->want))
		loop_stop(r->loop);
}

static void writer_deadline(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)timer;
	((struct writer_rig *)arg)->timed_out = true;
	loop_stop(loop);
}

/* Run the loop for ms, or until ticket want is durable (want 0: the whole ms). */
static void writer_run(struct writer_rig *r, uint64_t want, uint64_t ms)
{
	r->want = want;
	r->timed_out = false;
	loop_timer_arm(r->deadline, ms, 0);
	assert_int_equal(loop_run(r->loop), QD_OK);
	loop_timer_disarm(r->deadline);
}

static void test_rows_through_the_writer(void **state)
{
	struct fx *fx = *state;
	struct writer_rig r = {0};
	assert_int_equal(loop_create(&r.loop), QD_OK);
	assert_int_equal(loop_timer_create(r.loop, writer_deadline, &r, &r.deadline), QD_OK);
	struct indicator_backend sim;
	assert_int_equal(indicator_sim_open(NULL, &sim, NULL), QD_OK);
	struct pattern_timing t = {60, 60, 60, 10, 10};
	struct indicator_player *player = NULL;
	assert_int_equal(indicator_player_create(r.loop, &sim, &t, &player), QD_OK);
	struct pipeline_config cfg = {
	        .desk_id = "DAC-7", .holdoff_ms = 1000, .already_used_check = true};
	assert_int_equal(pipeline_create(&cfg, fx->store, player, &r.pipeline, NULL), QD_OK);
	pipeline_set_clock_override(r.pipeline, NOW);
	struct audit_writer *w = NULL;
	assert_int_equal(audit_writer_start(r.loop, fx->path, writer_done, &r, &w, NULL), QD_OK);
	pipeline_set_audit_writer(r.pipeline, w);

	sqlite3 *db = NULL;
	char apath[4096];
	store_audit_path(fx->path, apath, sizeof(apath));
	assert_int_equal(sqlite3_open(apath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	char code[1024];
	make_code(fx, "2611000001", code, sizeof(code));
	const struct pipeline_event *ev =
	        pipeline_submit(r.pipeline, "test", code, strlen(code), 1000000);
	assert_non_null(ev);
	assert_int_equal(ev->verdict.reason, REASON_OK);
	assert_int_equal(ev->audit_ticket, 1);
	assert_false(pipeline_audit_durable(r.pipeline, 1));
	/* Ten times the pattern's 60 ms: held on its last step, still lit. */
	writer_run(&r, 0, 600);
	assert_true(r.timed_out);
	assert_true(indicator_player_busy(player));
	const struct indicator_sim_event *evs;
	size_t n = indicator_sim_events(&sim, &evs);
	assert_true(n > 0 && evs[n - 1].on[INDICATOR_GREEN]);

	/* The same card after the hold-off: its first use is the row still on its way. */
	pipeline_set_clock_override(r.pipeline, NOW + 60);
	ev = pipeline_submit(r.pipeline, "test", code, strlen(code), 9000000);
	assert_non_null(ev);
	assert_int_equal(ev->verdict.reason, REASON_ALREADY_USED);
	assert_int_equal(ev->first_use_us, NOW * 1000000);
	assert_string_equal(ev->first_use_desk, "DAC-7");
	assert_int_equal(ev->audit_ticket, 2);
	uint64_t rows = 99;
	assert_int_equal(store_audit_count(fx->store, &rows), QD_OK);
	assert_int_equal(rows, 0);

	/* The lock let go: both rows durable, the pattern ends. */
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	writer_run(&r, 2, 30000);
	assert_false(r.timed_out);
	assert_true(pipeline_audit_durable(r.pipeline, 2));
	assert_int_equal(store_audit_count(fx->store, &rows), QD_OK);
	assert_int_equal(rows, 2);
	writer_run(&r, 0, 300); /* the review pattern's 60 ms */
	assert_false(indicator_player_busy(player));
	n = indicator_sim_events(&sim, &evs);
	assert_false(evs[n - 1].on[INDICATOR_GREEN] || evs[n - 1].on[INDICATOR_AMBER]);
	assert_int_equal(pipeline_counters(r.pipeline)->audit_failures, 0);

	audit_writer_stop(w);
	pipeline_set_audit_writer(r.pipeline, NULL);
	pipeline_destroy(r.pipeline);
	indicator_player_destroy(player);
	indicator_close(&sim);
	loop_timer_destroy(r.deadline);
	loop_destroy(r.loop);
}

/* Audit rows carry the keyed pseudonym, never the revocation list's bare hash. */
static void test_audit_pseudonym_is_keyed(void **state)
{
	struct fx *fx = *state;
	uint8_t key[CREDENTIAL_AUDIT_KEY_LEN];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	pipeline_set_audit_key(fx->pipeline, key);
	char code[1024];
	make_code(fx, "2611000007", code, sizeof(code));
	const struct pipeline_event *ev = submit(fx, code, 10 * 1000000);
	assert_non_null(ev);
	assert_true(ev->has_pseudonym);
	uint8_t want[TRUST_HASH_LEN], bare[TRUST_HASH_LEN];
	credential_pseudonym(key, "2611000007", want);
	credential_clearance_hash("2611000007", bare);
	assert_memory_equal(ev->pseudonym, want, TRUST_HASH_LEN);
	assert_memory_not_equal(want, bare, TRUST_HASH_LEN);
	bool found = false;
	int64_t first = 0;
	char desk[32];
	assert_int_equal(store_audit_first_valid(fx->store, want, INT64_MAX, &found, &first, desk,
	                                         sizeof(desk)),
	                 QD_OK);
	assert_true(found);
	assert_int_equal(store_audit_first_valid(fx->store, bare, INT64_MAX, &found, &first, desk,
	                                         sizeof(desk)),
	                 QD_OK);
	assert_false(found);
	/* Another key, another pseudonym: without the key the rows link to nothing. */
	key[0] ^= 1;
	uint8_t other[TRUST_HASH_LEN];
	credential_pseudonym(key, "2611000007", other);
	assert_memory_not_equal(want, other, TRUST_HASH_LEN);
}

/* Install a "used" document of version v listing rows (ascending pseudonyms), then reload. */
static void install_fleet_used(struct fx *fx, uint64_t v, struct used_entry *rows, size_t n)
{
	struct used_list list = {n, rows};
	size_t need = usedlist_encode(&list, NULL, 0);
	uint8_t *body = malloc(need);
	assert_non_null(body);
	assert_int_equal(usedlist_encode(&list, body, need), need);
	struct store_doc_meta meta = {TRUST_DOC_USED, v, NOW - 600, NOW + 7 * DAY, {0}};
	bool unchanged;
	assert_int_equal(store_apply_document(fx->store, &meta, body, need, &unchanged, NULL),
	                 QD_OK);
	free(body);
	assert_int_equal(pipeline_reload_trust(fx->pipeline, NULL), QD_OK);
}

/*
 * The fleet's used list: a card that passed at another desk (listed by its keyed
 * pseudonym) is ALREADY_USED here at its first scan, naming that desk and time; a card
 * not listed passes; a newer list replaces the old one; a listed card's earlier use wins
 * over this desk's own.
 */
static void test_fleet_used_list(void **state)
{
	struct fx *fx = *state;
	uint8_t key[CREDENTIAL_AUDIT_KEY_LEN];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 3 + 5);
	pipeline_set_audit_key(fx->pipeline, key);
	struct used_entry rows[2] = {0};
	credential_pseudonym(key, "2611000021", rows[0].pseudonym);
	credential_pseudonym(key, "2611000022", rows[1].pseudonym);
	rows[0].first_at = rows[1].first_at = NOW - 3 * DAY;
	snprintf(rows[0].desk, sizeof(rows[0].desk), "CGP-T1-02");
	snprintf(rows[1].desk, sizeof(rows[1].desk), "CGP-T1-03");
	if (memcmp(rows[0].pseudonym, rows[1].pseudonym, TRUST_HASH_LEN) > 0) {
		struct used_entry t = rows[0];
		rows[0] = rows[1];
		rows[1] = t;
	}
	install_fleet_used(fx, 1, rows, 2);

	char code[1024];
	make_code(fx, "2611000021", code, sizeof(code));
	const struct pipeline_event *ev = submit(fx, code, 10 * 1000000);
	assert_non_null(ev);
	assert_int_equal(ev->verdict.reason, REASON_ALREADY_USED);
	assert_int_equal(ev->verdict.kind, VERDICT_REVIEW);
	assert_int_equal(ev->first_use_us, (NOW - 3 * DAY) * 1000000);
	assert_string_equal(ev->first_use_desk, "CGP-T1-02");
	assert_non_null(strstr(ev->verdict.detail, "CGP-T1-02"));
	/* The date is in the detail, not only the time of day. */
	assert_non_null(strstr(ev->verdict.detail, "2026-11-15T11:06:40Z"));

	make_code(fx, "2611000023", code, sizeof(code));
	ev = submit(fx, code, 20 * 1000000);
	assert_non_null(ev);
	assert_int_equal(ev->verdict.reason, REASON_OK);

	/* Version 2 lists none of them: 2611000022 passes, once. */
	install_fleet_used(fx, 2, NULL, 0);
	make_code(fx, "2611000022", code, sizeof(code));
	ev = submit(fx, code, 30 * 1000000);
	assert_non_null(ev);
	assert_int_equal(ev->verdict.reason, REASON_OK);

	/* Version 3: 2611000023 passed here at NOW, but at desk A a day before: A is named. */
	struct used_entry earlier = {0};
	credential_pseudonym(key, "2611000023", earlier.pseudonym);
	earlier.first_at = NOW - DAY;
	snprintf(earlier.desk, sizeof(earlier.desk), "DAC-T1-07");
	install_fleet_used(fx, 3, &earlier, 1);
	pipeline_set_clock_override(fx->pipeline, NOW + 60);
	make_code(fx, "2611000023", code, sizeof(code));
	ev = submit(fx, code, 40 * 1000000);
	assert_non_null(ev);
	assert_int_equal(ev->verdict.reason, REASON_ALREADY_USED);
	assert_string_equal(ev->first_use_desk, "DAC-T1-07");
	assert_int_equal(ev->first_use_us, (NOW - DAY) * 1000000);
}

static void test_already_used_can_be_off(void **state)
{
	struct fx *fx = *state;
	char code[1024];
	make_code(fx, "2611000002", code, sizeof(code));
	struct pipeline_config cfg = {
	        .desk_id = "DAC-7", .holdoff_ms = 0, .already_used_check = false};
	pipeline_set_config(fx->pipeline, &cfg);
	assert_int_equal(submit(fx, code, 1)->verdict.reason, REASON_OK);
	pipeline_set_clock_override(fx->pipeline, NOW + 10);
	assert_int_equal(submit(fx, code, 2)->verdict.reason, REASON_OK);
}

static void test_revoked_and_garbage(void **state)
{
	struct fx *fx = *state;
	char code[1024];
	make_code(fx, "REVOKED-1", code, sizeof(code));
	assert_int_equal(submit(fx, code, 1)->verdict.reason, REASON_CARD_REVOKED);
	assert_int_equal(submit(fx, "garbage", 2)->verdict.reason, REASON_BAD_PREFIX);
	assert_int_equal(pipeline_counters(fx->pipeline)->by_kind[VERDICT_INVALID], 2);
}

/* A card that passed, then was revoked: red wins over "already used" (amber). */
static void test_revoked_after_use_is_red(void **state)
{
	struct fx *fx = *state;
	char code[1024];
	make_code(fx, "2611000009", code, sizeof(code));
	assert_int_equal(submit(fx, code, 1)->verdict.reason, REASON_OK);
	uint8_t hashes[2][TRUST_HASH_LEN];
	credential_clearance_hash("REVOKED-1", hashes[0]);
	credential_clearance_hash("2611000009", hashes[1]);
	struct store_doc_meta meta = {TRUST_DOC_REVOCATIONS, 2, NOW - 60, NOW + 6 * DAY, {0}};
	bool unchanged;
	assert_int_equal(store_apply_revocations(fx->store, &meta, hashes[0], 2, &unchanged, NULL),
	                 QD_OK);
	assert_int_equal(pipeline_reload_trust(fx->pipeline, NULL), QD_OK);
	/* Past the hold-off: without the revocation this would be ALREADY_USED. */
	assert_int_equal(submit(fx, code, 1 + 2000000)->verdict.reason, REASON_CARD_REVOKED);
}

/* The reload is what the verdict follows: a key revoked by a newer key set stops passing. */
static void test_reload_sees_new_keyset(void **state)
{
	struct fx *fx = *state;
	char code[1024];
	make_code(fx, "2611000003", code, sizeof(code));
	assert_int_equal(submit(fx, code, 1)->verdict.reason, REASON_OK);
	assert_int_equal(pipeline_trust(fx->pipeline)->keyset.version, 1);

	struct trust_key revoked_key = fx->key;
	revoked_key.status = KEY_STATUS_REVOKED;
	struct store_doc_meta meta = {TRUST_DOC_KEYSET, 2, NOW - 10, NOW + 300 * DAY, {0}};
	bool unchanged;
	assert_int_equal(store_apply_keyset(fx->store, &meta, &revoked_key, 1, &unchanged, NULL),
	                 QD_OK);
	/* Before the reload the pipeline still judges by key set v1. */
	assert_int_equal(pipeline_trust(fx->pipeline)->keyset.version, 1);
	assert_int_equal(pipeline_reload_trust(fx->pipeline, NULL), QD_OK);
	assert_int_equal(pipeline_trust(fx->pipeline)->keyset.version, 2);
	const struct pipeline_event *ev = submit(fx, code, 1 + 2000000);
	assert_int_equal(ev->verdict.kind, VERDICT_INVALID);
	assert_int_not_equal(ev->verdict.reason, REASON_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_dedup_empty_and_already_used, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_already_used_can_be_off, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fleet_used_list, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_audit_pseudonym_is_keyed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_audit_written_while_trust_busy, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_rows_through_the_writer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_used_marker_outlives_retention, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_revoked_and_garbage, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_revoked_after_use_is_red, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reload_sees_new_keyset, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
