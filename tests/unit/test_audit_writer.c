/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_audit_writer.c - the audit rows' own thread on a real store and loop:
 * rows in ticket order, each reported done through the loop, what waits is
 * written at the stop, rows past the queue's length wait for room, a malformed
 * row costs only itself, a record too long for its copy is refused up front,
 * and rows handed over while another connection holds the audit file's write
 * lock are written once it lets go.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qrdesk/audit_writer.h"
#include "qrdesk/loop.h"
#include "testutil.h"

struct fx {
	char *dir;
	char path[4096];
	struct loop *loop;
	struct audit_writer *w;
	struct loop_timer *deadline;
	uint64_t through, failed, reports, want;
	bool timed_out;
};

static void on_done(void *arg, uint64_t through, uint64_t failed)
{
	struct fx *fx = arg;
	assert_true(through >= fx->through); /* never backwards */
	fx->through = through;
	fx->failed += failed;
	fx->reports++;
	if (fx->want != 0 && through >= fx->want)
		loop_stop(fx->loop);
}

static void on_deadline(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)timer;
	((struct fx *)arg)->timed_out = true;
	loop_stop(loop);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->dir = tu_mkdtemp();
	snprintf(fx->path, sizeof(fx->path), "%s/desk.db", fx->dir);
	struct store *s = NULL;
	assert_int_equal(store_open(fx->path, STORE_OPEN_CREATE, &s, NULL), QD_OK);
	store_close(s);
	assert_int_equal(loop_create(&fx->loop), QD_OK);
	assert_int_equal(loop_timer_create(fx->loop, on_deadline, fx, &fx->deadline), QD_OK);
	struct qd_errmsg why = {{0}};
	assert_int_equal(audit_writer_start(fx->loop, fx->path, on_done, fx, &fx->w, &why), QD_OK);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	audit_writer_stop(fx->w);
	loop_timer_destroy(fx->deadline);
	loop_destroy(fx->loop);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Run the loop until the writer has reported ticket want done (30 s at most). */
static void run_until(struct fx *fx, uint64_t want)
{
	fx->want = want;
	if (fx->through >= want)
		return;
	loop_timer_arm(fx->deadline, 30000, 0);
	assert_int_equal(loop_run(fx->loop), QD_OK);
	loop_timer_disarm(fx->deadline);
	assert_false(fx->timed_out);
	assert_true(fx->through >= want);
}

static uint64_t rows_in(const struct fx *fx)
{
	struct store *s = NULL;
	assert_int_equal(store_open(fx->path, STORE_OPEN_READWRITE, &s, NULL), QD_OK);
	uint64_t n = 0;
	assert_int_equal(store_audit_count(s, &n), QD_OK);
	store_close(s);
	return n;
}

static struct audit_record row(const char *verdict, const uint8_t *hash, int64_t t_us)
{
	return (struct audit_record){.time_us = t_us,
	                             .source = "hid0",
	                             .verdict = verdict,
	                             .reason = "OK",
	                             .clearance_hash = hash,
	                             .desk = "DAC-T1-07",
	                             .latency_us = 250};
}

static void test_rows_in_order_reported_through_the_loop(void **state)
{
	struct fx *fx = *state;
	uint8_t hash[TRUST_HASH_LEN];
	memset(hash, 0xa5, sizeof(hash));
	struct audit_binding b = {.card = "ok",
	                          .passport = "failed PASSPORT_MRZ_INVALID x",
	                          .boarding = "not required",
	                          .passport_pseudonym = hash};
	struct audit_record recs[3] = {row("invalid", NULL, 1000), row("valid", hash, 2000),
	                               row("review", NULL, 3000)};
	recs[2].binding = &b;
	uint64_t ticket = 0;
	for (uint64_t i = 0; i < 3; i++) {
		assert_int_equal(audit_writer_submit(fx->w, &recs[i], &ticket), QD_OK);
		assert_int_equal(ticket, i + 1);
	}
	/* The copies are the writer's: the caller's texts may change at once. */
	memset(hash, 0, sizeof(hash));
	b.passport = "overwritten";
	run_until(fx, 3);
	assert_int_equal(fx->failed, 0);
	assert_int_equal(rows_in(fx), 3);
	/* The green row's "already used" marker came with it, under the hash as it was. */
	struct store *s = NULL;
	assert_int_equal(store_open(fx->path, STORE_OPEN_READWRITE, &s, NULL), QD_OK);
	uint8_t want[TRUST_HASH_LEN];
	memset(want, 0xa5, sizeof(want));
	bool found = false;
	int64_t first = 0;
	char desk[32];
	assert_int_equal(
	        store_audit_first_valid(s, want, 10000, &found, &first, desk, sizeof(desk)), QD_OK);
	assert_true(found);
	assert_int_equal(first, 2000);
	assert_string_equal(desk, "DAC-T1-07");
	store_close(s);
	sqlite3 *db = NULL;
	char apath[4096];
	store_audit_path(fx->path, apath, sizeof(apath));
	assert_int_equal(sqlite3_open_v2(apath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT a.verdict, b.passport FROM audit a JOIN "
	                                    "audit_binding b ON b.audit_id = a.id",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "review");
	assert_string_equal((const char *)sqlite3_column_text(q, 1),
	                    "failed PASSPORT_MRZ_INVALID x");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* More rows than the queue holds, handed over without the loop running; the stop
 * writes the rest and reports the last ticket. */
static void test_past_the_queue_and_the_stop(void **state)
{
	struct fx *fx = *state;
	const uint64_t n = 3 * AUDIT_WRITER_QUEUE + 5;
	uint64_t ticket = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct audit_record r = row("invalid", NULL, (int64_t)i);
		assert_int_equal(audit_writer_submit(fx->w, &r, &ticket), QD_OK);
	}
	assert_int_equal(ticket, n);
	audit_writer_stop(fx->w);
	fx->w = NULL;
	assert_int_equal(fx->through, n);
	assert_int_equal(fx->failed, 0);
	assert_int_equal(rows_in(fx), n);
}

/* A row the store refuses (a transaction's documents without the card's outcome) fails
 * alone: the rows handed over with it are written. */
static void test_a_bad_row_costs_one(void **state)
{
	struct fx *fx = *state;
	struct audit_binding bad = {.card = NULL, .passport = "ok", .boarding = "ok"};
	uint64_t ticket = 0;
	/* The writer waits on the audit file's lock, so the three go in one batch. */
	sqlite3 *db = NULL;
	char apath[4096];
	store_audit_path(fx->path, apath, sizeof(apath));
	assert_int_equal(sqlite3_open(apath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < 3; i++) {
		struct audit_record r = row("invalid", NULL, i);
		if (i == 1)
			r.binding = &bad;
		assert_int_equal(audit_writer_submit(fx->w, &r, &ticket), QD_OK);
	}
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	run_until(fx, 3);
	assert_int_equal(fx->failed, 1);
	assert_int_equal(rows_in(fx), 2);
}

/* Texts longer than the copy holds: refused before anything is queued; tickets go on. */
static void test_too_long_for_a_copy(void **state)
{
	struct fx *fx = *state;
	char source[200];
	memset(source, 'x', sizeof(source) - 1);
	source[sizeof(source) - 1] = '\0';
	struct audit_record r = row("valid", NULL, 1);
	r.source = source;
	uint64_t ticket = 99;
	assert_int_equal(audit_writer_submit(fx->w, &r, &ticket), QD_ERR_ARG);
	assert_int_equal(ticket, 0);
	char outcome[AUDIT_WRITER_OUTCOME_MAX + 1];
	memset(outcome, 'y', sizeof(outcome) - 1);
	outcome[sizeof(outcome) - 1] = '\0';
	struct audit_binding b = {.card = "ok", .passport = outcome, .boarding = "ok"};
	r = row("review", NULL, 2);
	r.binding = &b;
	assert_int_equal(audit_writer_submit(fx->w, &r, &ticket), QD_ERR_ARG);
	r = row("invalid", NULL, 3);
	assert_int_equal(audit_writer_submit(fx->w, &r, &ticket), QD_OK);
	assert_int_equal(ticket, 1);
	run_until(fx, 1);
	assert_int_equal(rows_in(fx), 1);
}

/* Another connection holds the audit file's write lock for a while (an upload's mark, a
 * purge chunk): the rows wait on the writer's thread, not on the loop, and are written
 * once it lets go. */
static void test_waits_on_the_thread_not_the_loop(void **state)
{
	struct fx *fx = *state;
	sqlite3 *db = NULL;
	char apath[4096];
	store_audit_path(fx->path, apath, sizeof(apath));
	assert_int_equal(sqlite3_open(apath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	uint64_t ticket = 0;
	for (int i = 0; i < 10; i++) {
		struct audit_record r = row("invalid", NULL, i);
		assert_int_equal(audit_writer_submit(fx->w, &r, &ticket), QD_OK);
	}
	/* Nothing is done while the lock is held: the loop runs and hears nothing. */
	loop_timer_arm(fx->deadline, 300, 0);
	fx->want = 10;
	assert_int_equal(loop_run(fx->loop), QD_OK);
	assert_true(fx->timed_out);
	fx->timed_out = false;
	assert_int_equal(fx->through, 0);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	run_until(fx, 10);
	assert_int_equal(fx->failed, 0);
	assert_int_equal(rows_in(fx), 10);
}

/* Signals are the loop's (signalfd), set up after the pipeline's writer has started in
 * qrdeskd: the thread must block every one, or a SIGTERM delivered to it would end the
 * daemon by the default action instead of a clean stop. */
static void test_signals_stay_the_loops(void **state)
{
	(void)state;
	unsigned long long blk = tu_thread_sigblk("qrdesk-audit");
	static const int loops_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD};
	for (size_t i = 0; i < sizeof(loops_signals) / sizeof(loops_signals[0]); i++)
		assert_true(blk & (1ULL << (loops_signals[i] - 1)));
}

static void test_start_errors(void **state)
{
	(void)state;
	struct loop *loop = NULL;
	assert_int_equal(loop_create(&loop), QD_OK);
	struct audit_writer *w = (struct audit_writer *)1;
	struct qd_errmsg why = {{0}};
	assert_int_equal(audit_writer_start(loop, NULL, on_done, NULL, &w, &why), QD_ERR_ARG);
	assert_null(w);
	/* A store that is not there: the open's own message. */
	char *dir = tu_mkdtemp();
	char path[4096];
	snprintf(path, sizeof(path), "%s/missing/desk.db", dir);
	assert_int_not_equal(audit_writer_start(loop, path, on_done, NULL, &w, &why), QD_OK);
	assert_null(w);
	assert_non_null(strstr(why.text, "missing"));
	audit_writer_stop(NULL);
	tu_rmtree(dir);
	free(dir);
	loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_rows_in_order_reported_through_the_loop, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_past_the_queue_and_the_stop, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_a_bad_row_costs_one, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_too_long_for_a_copy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_waits_on_the_thread_not_the_loop, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_signals_stay_the_loops, setup, teardown),
	        cmocka_unit_test(test_start_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
