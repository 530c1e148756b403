/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sync_worker.c - the sync worker's timing and its thread.
 *
 * The timing is a pure function (sync_schedule_delay_ms): jitter within its
 * bounds, the back-off doubling to its ceiling, the period after a success.
 * The thread runs with the seams of struct sync_worker_hooks: a fetcher over
 * a directory published by the back office's own code (qrdesk_domain) that
 * can be told to fail, a fixed random number and clock, and a record of every
 * wait it plans - so nothing here waits on a timer: each sync is asked for
 * with sync_worker_request and awaited through the notify callback.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "qrdesk/signature.h"
#include "qrdesk/store.h"
#include "qrdesk/sync_worker.h"
#include "qrdesk/thread.h"
#include "testutil.h"

#define NOW 1795000000LL

/* ---- the pure timing ------------------------------------------------------------------ */

static void test_schedule(void **state)
{
	(void)state;
	const struct sync_schedule s = {
	        .period_s = 900, .jitter_s = 120, .retry_s = 60, .backoff_max_s = 3600};
	/* After a success: the period plus 0..jitter, both ends reachable. */
	assert_int_equal(sync_schedule_delay_ms(&s, 0, 0), 900000);
	assert_int_equal(sync_schedule_delay_ms(&s, 0, 120000), 1020000);
	assert_int_equal(sync_schedule_delay_ms(&s, 0, 120001), 900000);
	uint32_t r = 12345;
	for (int i = 0; i < 100000; i++) {
		r = r * 1664525u + 1013904223u;
		uint64_t d = sync_schedule_delay_ms(&s, 0, r);
		assert_true(d >= 900000 && d <= 1020000);
		d = sync_schedule_delay_ms(&s, 3, r);
		assert_true(d >= 240000 && d <= 360000);
	}
	/* After failures: retry_s doubling per failure, then the ceiling, never overflowing. */
	static const uint64_t want_s[] = {60, 120, 240, 480, 960, 1920, 3600, 3600, 3600};
	for (unsigned f = 1; f <= 9; f++)
		assert_int_equal(sync_schedule_delay_ms(&s, f, 0), want_s[f - 1] * 1000);
	assert_int_equal(sync_schedule_delay_ms(&s, 1000000, 0), 3600000);
	assert_int_equal(sync_schedule_delay_ms(&s, UINT32_MAX, UINT32_MAX),
	                 3600000 + (uint64_t)UINT32_MAX % 120001);
	/* No jitter: exactly the base. */
	const struct sync_schedule flat = {
	        .period_s = 60, .jitter_s = 0, .retry_s = 5, .backoff_max_s = 60};
	assert_int_equal(sync_schedule_delay_ms(&flat, 0, UINT32_MAX), 60000);
	assert_int_equal(sync_schedule_delay_ms(&flat, 4, UINT32_MAX), 40000);
	assert_int_equal(sync_schedule_delay_ms(&flat, 5, UINT32_MAX), 60000);
}

/* ---- the thread ------------------------------------------------------------------------ */

#define PLANNED_MAX 64

struct fx {
	char *dir;
	char store_path[200], repo[512];
	struct domain *domain;
	/* the fetcher */
	atomic_bool fail;
	atomic_int in_fetch, max_in_fetch;
	atomic_int fetches;
	atomic_int fetch_nice; /* the worker's nice in its last fetch (during a sync) */
	struct sync_fetcher fetcher;
	/* what the worker told us */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t runs_seen;
	int notify_nice; /* the worker's nice after its last round */
	uint64_t purge_runs_seen, purged_seen;
	uint64_t planned_ms[PLANNED_MAX];
	unsigned planned_failures[PLANNED_MAX];
	size_t n_planned;
	struct sync_worker *w;
};

static enum qd_err dir_fetch(void *ctx, const char *name, size_t cap, uint8_t **data, size_t *len,
                             struct qd_errmsg *why)
{
	struct fx *fx = ctx;
	int now_in = atomic_fetch_add(&fx->in_fetch, 1) + 1;
	int prev = atomic_load(&fx->max_in_fetch);
	while (now_in > prev && !atomic_compare_exchange_weak(&fx->max_in_fetch, &prev, now_in))
		;
	atomic_fetch_add(&fx->fetches, 1);
	atomic_store(&fx->fetch_nice, thread_nice());
	enum qd_err rc = QD_OK;
	*data = NULL;
	*len = 0;
	if (atomic_load(&fx->fail)) {
		qd_errmsg_set(why, "%s: connection refused (test)", name);
		rc = QD_ERR_NETWORK;
	} else {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", fx->repo, name);
		*data = tu_read_file(path, len);
		if (*len > cap) {
			free(*data);
			*data = NULL;
			qd_errmsg_set(why, "%s: too large", name);
			rc = QD_ERR_TOO_LARGE;
		}
	}
	atomic_fetch_sub(&fx->in_fetch, 1);
	return rc;
}

static uint32_t fixed_random(void *ctx)
{
	(void)ctx;
	return 7; /* jitter 7 ms: the plan is base + 7 */
}

static int64_t fixed_clock(void *ctx)
{
	(void)ctx;
	return NOW + 60;
}

static void on_planned(void *ctx, uint64_t delay_ms, unsigned failures)
{
	struct fx *fx = ctx;
	/* Called with the worker's lock held: fx->mu is ours, never taken the other way. */
	pthread_mutex_lock(&fx->mu);
	if (fx->n_planned < PLANNED_MAX) {
		fx->planned_ms[fx->n_planned] = delay_ms;
		fx->planned_failures[fx->n_planned] = failures;
		fx->n_planned++;
	}
	pthread_mutex_unlock(&fx->mu);
}

static void on_notify(void *arg, const struct sync_worker_status *st)
{
	struct fx *fx = arg;
	pthread_mutex_lock(&fx->mu);
	fx->runs_seen = st->runs;
	fx->notify_nice = thread_nice();
	fx->purge_runs_seen = st->purge_runs;
	fx->purged_seen = st->purged;
	pthread_cond_broadcast(&fx->cv);
	pthread_mutex_unlock(&fx->mu);
}

/* Wait (untimed) until the worker has finished run number `run`. */
static void wait_runs(struct fx *fx, uint64_t run)
{
	pthread_mutex_lock(&fx->mu);
	while (fx->runs_seen < run)
		pthread_cond_wait(&fx->cv, &fx->mu);
	pthread_mutex_unlock(&fx->mu);
}

static int setup(void **state)
{
	assert_int_equal(signature_init(), QD_OK);
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->dir = tu_mkdtemp();
	pthread_mutex_init(&fx->mu, NULL);
	pthread_cond_init(&fx->cv, NULL);
	fx->fetcher = (struct sync_fetcher){dir_fetch, fx};
	snprintf(fx->store_path, sizeof(fx->store_path), "%s/desk.db", fx->dir);
	snprintf(fx->repo, sizeof(fx->repo), "%s/repo", fx->dir);
	char ddir[512];
	snprintf(ddir, sizeof(ddir), "%s/domain", fx->dir);
	fx->domain = calloc(1, sizeof(*fx->domain));
	struct qd_errmsg why = {{0}};
	assert_int_equal(domain_init(ddir, NOW - 86400, fx->domain, &why), QD_OK);
	long days[DOMAIN_DOC_TYPES];
	domain_publish_days_defaults(days);
	struct domain_publication pub;
	assert_int_equal(domain_publish(fx->domain, fx->repo, days, NOW, &pub, &why), QD_OK);
	/* A provisioned desk with nothing imported yet. */
	struct store *s = NULL;
	assert_int_equal(store_open(fx->store_path, STORE_OPEN_CREATE, &s, &why), QD_OK);
	int root = domain_pick_key(fx->domain, KEY_ROLE_ROOT, 0, NOW);
	assert_true(root >= 0);
	assert_int_equal(store_root_pin(s, &fx->domain->keys[root], &why), QD_OK);
	store_close(s);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	sync_worker_stop(fx->w);
	pthread_mutex_destroy(&fx->mu);
	pthread_cond_destroy(&fx->cv);
	tu_rmtree(fx->dir);
	free(fx->domain);
	free(fx->dir);
	free(fx);
	return 0;
}

static void start(struct fx *fx, const char *url)
{
	struct sync_worker_options o = {0};
	snprintf(o.store_path, sizeof(o.store_path), "%s", fx->store_path);
	snprintf(o.desk_id, sizeof(o.desk_id), "T-1");
	struct config c;
	config_defaults(&c);
	o.sync = c.sync;
	o.upload = c.upload;
	snprintf(o.sync.url, sizeof(o.sync.url), "%s", url);
	/* Waits long enough that nothing runs unless asked. */
	o.sync.period_s = 86400;
	o.sync.jitter_s = 60;
	o.sync.retry_s = 1000;
	o.sync.backoff_max_s = 5000;
	struct sync_worker_hooks hooks = {.fetcher = &fx->fetcher,
	                                  .random = fixed_random,
	                                  .wall_now = fixed_clock,
	                                  .planned = on_planned,
	                                  .ctx = fx};
	struct qd_errmsg why = {{0}};
	assert_int_equal(sync_worker_start(&o, &hooks, on_notify, fx, &fx->w, &why), QD_OK);
}

static void test_backoff_then_success(void **state)
{
	struct fx *fx = *state;
	atomic_store(&fx->fail, true);
	start(fx, "https://repo.test/");
	wait_runs(fx, 1); /* the sync at start, failed */
	for (uint64_t run = 2; run <= 4; run++) {
		assert_int_equal(sync_worker_request(fx->w), run);
		wait_runs(fx, run);
	}
	struct sync_worker_status st;
	sync_worker_get_status(fx->w, &st);
	assert_int_equal(st.runs, 4);
	assert_int_equal(st.failed, 4);
	assert_int_equal(st.consecutive_failures, 4);
	assert_int_equal(st.by_outcome[QD_ERR_NETWORK], 4);
	assert_int_equal(st.last.status, QD_ERR_NETWORK);
	assert_non_null(strstr(st.last.why.text, "connection refused"));
	assert_int_equal(st.last_success_at, 0);
	assert_int_equal(st.next_at, NOW + 60 + 5000);
	/* Back-off: 1000 s, 2000 s, 4000 s, then the 5000 s ceiling; each + the 7 ms jitter. */
	pthread_mutex_lock(&fx->mu);
	assert_int_equal(fx->n_planned, 4);
	static const uint64_t want[] = {1000007, 2000007, 4000007, 5000007};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(fx->planned_ms[i], want[i]);
		assert_int_equal(fx->planned_failures[i], i + 1);
	}
	pthread_mutex_unlock(&fx->mu);

	/* The server is back: the desk installs everything; the wait is the period again. */
	atomic_store(&fx->fail, false);
	assert_int_equal(sync_worker_request(fx->w), 5);
	wait_runs(fx, 5);
	sync_worker_get_status(fx->w, &st);
	assert_int_equal(st.last.status, QD_OK);
	assert_true(st.last.changed);
	assert_int_equal(st.changed, 1);
	assert_int_equal(st.consecutive_failures, 0);
	assert_int_equal(st.last_success_at, NOW + 60);
	assert_int_equal(st.by_outcome[QD_OK], 1);
	pthread_mutex_lock(&fx->mu);
	assert_int_equal(fx->planned_ms[4], 86400007);
	assert_int_equal(fx->planned_failures[4], 0);
	pthread_mutex_unlock(&fx->mu);

	/* Up to date: a success that changes nothing. */
	assert_int_equal(sync_worker_request(fx->w), 6);
	wait_runs(fx, 6);
	sync_worker_get_status(fx->w, &st);
	assert_int_equal(st.last.status, QD_OK);
	assert_false(st.last.changed);
	assert_int_equal(st.changed, 1);
	assert_int_equal(st.ok, 2);

	/* The worker wrote through its own connection: another one sees the data. */
	struct store *s = NULL;
	struct qd_errmsg why = {{0}};
	assert_int_equal(store_open(fx->store_path, STORE_OPEN_READONLY, &s, &why), QD_OK);
	struct trust_freshness f;
	assert_int_equal(store_freshness_get(s, TRUST_DOC_TIMESTAMP, &f), QD_OK);
	assert_true(f.present);
	store_close(s);
}

struct requester {
	struct fx *fx;
	uint64_t last;
};

static void *request_many(void *arg)
{
	struct requester *r = arg;
	for (int i = 0; i < 20; i++) {
		r->last = sync_worker_request(r->fx->w);
		wait_runs(r->fx, r->last);
	}
	return NULL;
}

/* Requests from several threads at once: every one answered, never two syncs at a time. */
static void test_never_two_at_once(void **state)
{
	struct fx *fx = *state;
	start(fx, "https://repo.test/");
	/* The sync at start first: a request made before it began would be answered by it, and
	 * a thread's 20 requests would then need only 20 runs in all (a race under load). */
	wait_runs(fx, 1);
	pthread_t t[3];
	struct requester r[3];
	for (int i = 0; i < 3; i++) {
		r[i] = (struct requester){fx, 0};
		assert_int_equal(pthread_create(&t[i], NULL, request_many, &r[i]), 0);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	struct sync_worker_status st;
	sync_worker_get_status(fx->w, &st);
	for (int i = 0; i < 3; i++)
		assert_true(st.runs >= r[i].last);
	assert_int_equal(atomic_load(&fx->max_in_fetch), 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.changed, 1);
	assert_true(st.runs >= 21); /* at least the sync at start and 20 of one thread's */
}

/*
 * A sync runs 10 nice values below the worker's start (the hashing and sorting of a big
 * apply yield to the loop); after it, upload and retention (which take the audit log's
 * write lock the loop's rows wait for) run at the start's nice again, where the process
 * may come back to it (the unit's LimitNICE), else at the sync's.
 */
static void test_sync_at_low_priority(void **state)
{
	struct fx *fx = *state;
	int base = thread_nice(); /* a new thread starts at its creator's nice */
	if (base >= 19)
		skip(); /* no room below */
	int low = base + 10 > 19 ? 19 : base + 10;
	start(fx, "https://repo.test/");
	wait_runs(fx, 1);
	assert_int_equal(atomic_load(&fx->fetch_nice), low);
	pthread_mutex_lock(&fx->mu);
	int after = fx->notify_nice;
	pthread_mutex_unlock(&fx->mu);
	assert_int_equal(after, tu_nice_allowed(low, base) ? base : low);
	assert_int_equal(tu_thread_nice("qrdesk-sync"), after);
}

/* Sync off: a request is refused (0), and stop ends an idle worker. */
static void test_off(void **state)
{
	struct fx *fx = *state;
	start(fx, "");
	assert_int_equal(sync_worker_request(fx->w), 0);
	struct sync_worker_status st;
	sync_worker_get_status(fx->w, &st);
	assert_false(st.sync_enabled);
	assert_int_equal(st.runs, 0);
	assert_int_equal(atomic_load(&fx->fetches), 0);
	sync_worker_stop(fx->w);
	fx->w = NULL;
}

/*
 * Neither sync nor upload nor export set up: retention runs all the same
 * (at start, then hourly), and deletes the old rows unconditionally.
 */
static void test_retention_without_upload(void **state)
{
	struct fx *fx = *state;
	struct store *s = NULL;
	assert_int_equal(store_open(fx->store_path, STORE_OPEN_READWRITE, &s, NULL), QD_OK);
	const int64_t day_us = 86400LL * 1000000;
	for (int i = 0; i < 3; i++) {
		/* two rows 100 days old, one 10 days old (the clock is NOW + 60) */
		struct audit_record r = {.time_us =
		                                 (NOW + 60) * 1000000 - (i < 2 ? 100 : 10) * day_us,
		                         .verdict = "invalid",
		                         .desk = "T-1"};
		assert_int_equal(store_audit_append(s, &r, NULL), QD_OK);
	}
	start(fx, "");
	pthread_mutex_lock(&fx->mu);
	while (fx->purge_runs_seen < 1)
		pthread_cond_wait(&fx->cv, &fx->mu);
	pthread_mutex_unlock(&fx->mu);
	assert_int_equal(fx->purged_seen, 2);
	uint64_t n = 0;
	assert_int_equal(store_audit_count(s, &n), QD_OK);
	assert_int_equal(n, 1);
	struct sync_worker_status st;
	sync_worker_get_status(fx->w, &st);
	assert_int_equal(st.purge_last_at, NOW + 60);
	assert_int_equal(st.purge_next_at, NOW + 60 + 3600);
	assert_int_equal(st.runs, 0); /* and no sync */
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_schedule),
	        cmocka_unit_test_setup_teardown(test_backoff_then_success, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_never_two_at_once, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_sync_at_low_priority, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_off, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_retention_without_upload, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
