/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync_worker.c - see sync_worker.h.  Everything shared with other threads
 * lives in struct sync_worker under mu; the store connection and the
 * transfers belong to the worker thread alone.
 */
#include "qrdesk/sync_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "qrdesk/desk_key.h"
#include "qrdesk/log.h"
#include "qrdesk/thread.h"

/* Added to the worker thread's nice during a sync: well below the loop's (CFS weight 110
 * against 1024 at 0).  Raising a nice value needs no privilege; bringing it back down needs
 * an RLIMIT_NICE that reaches it (qrdeskd.service's LimitNICE=-10 reaches down to -10). */
#define SYNC_WORKER_NICE 10

uint64_t sync_schedule_delay_ms(const struct sync_schedule *s, unsigned failures, uint32_t rnd)
{
	uint64_t base_s = s->period_s;
	if (failures > 0) {
		base_s = s->retry_s;
		/* Double per failure; stop doubling once at the cap (no overflow). */
		for (unsigned i = 1; i < failures && base_s < s->backoff_max_s; i++)
			base_s *= 2;
		if (base_s > s->backoff_max_s)
			base_s = s->backoff_max_s;
	}
	uint64_t jitter_ms = (uint64_t)s->jitter_s * 1000u;
	return base_s * 1000u + (uint64_t)rnd % (jitter_ms + 1);
}

struct sync_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	/* under mu */
	struct sync_worker_options opts;
	bool stop;
	bool sync_soon; /* the URL changed: sync at once */
	struct sync_worker_status st;
	/* set once at start */
	struct sync_worker_hooks hooks;
	sync_worker_notify notify;
	void *notify_arg;
	atomic_bool abort;
	/* the worker thread's own */
	struct sync_result res;         /* large: kept here, off the thread's stack */
	struct sync_worker_status copy; /* what notify is given */
	struct store *store;
	char store_open_for[CONFIG_PATH_MAX];
	uint64_t last_full_ms; /* monotonic: the last sync that did not send the ETag; 0 never */
	int base_nice;         /* the thread's nice outside a sync (the process's) */
	bool nice_told;        /* a priority change failed: said once */
};

/*
 * A 304 is trusted for this long after a full fetch.  A server's ETag may not
 * change with the file (nginx's is mtime and size: a same-size timestamp
 * published twice in one second keeps it), so now and then, and whenever
 * someone asks for a sync, the timestamp is fetched whatever the ETag says.
 */
#define ETAG_TRUST_MS (3600u * 1000u)

/* Retention runs at start, after each upload round and at least this often. */
#define RETENTION_PERIOD_MS (3600u * 1000u)
/* Rows (and markers) per purge transaction: an audit write waits at most for one. */
#define RETENTION_CHUNK 500

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t wall_now(const struct sync_worker *w)
{
	if (w->hooks.wall_now != NULL)
		return w->hooks.wall_now(w->hooks.ctx);
	return (int64_t)time(NULL);
}

static uint32_t random32(const struct sync_worker *w)
{
	if (w->hooks.random != NULL)
		return w->hooks.random(w->hooks.ctx);
	uint32_t r = 0;
	/* Jitter only spreads desks out: a short read just gives less spread. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)mono_ms();
	return r;
}

static struct sync_schedule schedule_of(const struct config_sync *c)
{
	return (struct sync_schedule){c->period_s, c->jitter_s, c->retry_s, c->backoff_max_s};
}

/* ---- the sync ----------------------------------------------------------------------- */

/* The fetcher the sync uses: the real one, unless stopping (then no new file is fetched). */
struct guarded_fetch {
	const struct sync_fetcher *inner;
	atomic_bool *abort;
};

static enum qd_err guarded_fetch(void *ctx, const char *name, size_t cap, uint8_t **data,
                                 size_t *len, struct qd_errmsg *why)
{
	struct guarded_fetch *g = ctx;
	*data = NULL;
	*len = 0;
	if (atomic_load(g->abort)) {
		qd_errmsg_set(why, "%s: not fetched (the daemon is shutting down)", name);
		return QD_ERR_NETWORK;
	}
	return g->inner->fetch(g->inner->ctx, name, cap, data, len, why);
}

/* Open (or re-open, after [desk] store changed) the worker's own connection. */
static enum qd_err ensure_store(struct sync_worker *w, const char *path, struct qd_errmsg *why)
{
	if (w->store != NULL && strcmp(w->store_open_for, path) == 0)
		return QD_OK;
	store_close(w->store);
	w->store = NULL;
	enum qd_err rc = store_open(path, STORE_OPEN_READWRITE, &w->store, why);
	if (rc == QD_OK)
		snprintf(w->store_open_for, sizeof(w->store_open_for), "%s", path);
	return rc;
}

static void run_sync(struct sync_worker *w, const struct sync_worker_options *o, bool conditional,
                     struct sync_result *res)
{
	memset(res, 0, sizeof(*res));
	res->started_at = wall_now(w);
	enum qd_err rc = ensure_store(w, o->store_path, &res->why);
	if (rc != QD_OK) {
		res->status = rc;
		return;
	}
	struct sync_https *https = NULL;
	struct sync_fetcher real = {sync_https_fetch, NULL};
	const struct sync_fetcher *inner = w->hooks.fetcher;
	if (inner == NULL) {
		struct sync_https_options ho = {
		        .url = o->sync.url,
		        .ca_file = o->sync.ca_file[0] ? o->sync.ca_file : NULL,
		        .connect_timeout_s = (long)o->sync.connect_timeout_s,
		        .low_speed_bytes = (long)o->sync.low_speed_bytes,
		        .low_speed_time_s = (long)o->sync.low_speed_time_s,
		        .pinned_public_key = o->sync.pin[0] ? o->sync.pin : NULL,
		        /* "": libcurl's environment variables, as the config documents. */
		        .proxy = o->sync.proxy[0] ? o->sync.proxy : NULL,
		        .abort = &w->abort, /* SIGTERM cuts a download short */
		};
		rc = sync_https_open(&ho, &https, &res->why);
		if (rc != QD_OK) {
			res->status = rc;
			return;
		}
		real.ctx = https;
		inner = &real;
	}
	if (https != NULL && conditional) {
		/* The real fetcher as it is: sync_run then asks with the kept ETag (304: cheap). */
		(void)sync_run(w->store, &real, wall_now(w), o->sync.max_file_bytes, res);
		sync_https_close(https);
		return;
	}
	struct guarded_fetch g = {inner, &w->abort};
	struct sync_fetcher fetcher = {guarded_fetch, &g};
	bool full = https != NULL;
	(void)sync_run(w->store, &fetcher, wall_now(w), o->sync.max_file_bytes, res);
	sync_https_close(https);
	if (full && res->status == QD_OK)
		w->last_full_ms = mono_ms();
}

static void record_sync(struct sync_worker *w, const struct sync_result *res, uint64_t *next_ms)
{
	int64_t now = wall_now(w);
	struct sync_worker_status *st = &w->st;
	st->running = false;
	st->runs++;
	st->by_outcome[(unsigned)res->status < SYNC_WORKER_OUTCOMES ? (unsigned)res->status
	                                                            : SYNC_WORKER_OUTCOMES - 1]++;
	if (res->status == QD_OK) {
		st->ok++;
		st->consecutive_failures = 0;
		st->last_success_at = now;
		if (res->changed)
			st->changed++;
	} else {
		st->failed++;
		st->consecutive_failures++;
	}
	st->have_last = true;
	st->last = *res;
	st->last_finished_at = now;
	struct sync_schedule sch = schedule_of(&w->opts.sync);
	uint64_t delay = sync_schedule_delay_ms(&sch, st->consecutive_failures, random32(w));
	if (w->hooks.planned != NULL)
		w->hooks.planned(w->hooks.ctx, delay, st->consecutive_failures);
	*next_ms = mono_ms() + delay;
	st->next_at = now + (int64_t)(delay / 1000u);
}

/* ---- the upload ----------------------------------------------------------------------- */

static void run_upload(struct sync_worker *w, const struct sync_worker_options *o,
                       struct upload_result *res, uint64_t *pending)
{
	memset(res, 0, sizeof(*res));
	*pending = 0;
	enum qd_err rc = ensure_store(w, o->store_path, &res->why);
	if (rc != QD_OK) {
		res->status = rc;
		return;
	}
	/* The desk's key, read each round: enrolling a running desk needs no restart. */
	char key_path[4200];
	desk_key_default_path(o->store_path, key_path, sizeof(key_path));
	struct signature_keypair kp;
	struct qd_errmsg key_why = {{0}};
	bool have_key = desk_key_load(key_path, &kp, &key_why) == QD_OK;
	struct upload_options uo = {
	        .url = o->upload.url,
	        .desk_key = have_key ? &kp : NULL,
	        .ca_file = o->upload.ca_file[0] ? o->upload.ca_file : NULL,
	        .timeout_s = (long)o->upload.timeout_s,
	        .batch_rows = o->upload.batch_rows,
	        .desk = o->desk_id,
	        .abort = &w->abort,
	        .pinned_public_key = o->upload.pin[0] ? o->upload.pin : NULL,
	        /* "": libcurl's environment variables, as the config documents. */
	        .proxy = o->upload.proxy[0] ? o->upload.proxy : NULL,
	        .client_cert = o->upload.client_cert,
	        .client_key = o->upload.client_key,
	};
	/* Read every round: a timer that refreshes a short-lived token needs no reload. */
	char token[UPLOAD_TOKEN_MAX + 1] = "";
	struct qd_errmsg token_why = {{0}};
	bool token_ok =
	        o->upload.token_file[0] == '\0' ||
	        upload_token_load(o->upload.token_file, token, sizeof(token), &token_why) == QD_OK;
	uo.bearer_token = token;
	int64_t now_us = wall_now(w) * 1000000;
	if (have_key && !token_ok) { /* the rows wait until it can be read */
		res->status = QD_ERR_ARG;
		res->why = token_why;
		signature_keypair_wipe(&kp);
	} else if (have_key) {
		(void)upload_run(w->store, &uo, now_us, res);
		signature_keypair_wipe(&kp);
	} else { /* the rows wait for it */
		res->status = QD_ERR_NOT_FOUND;
		qd_errmsg_set(&res->why, "no desk key to sign batches with: %s (qrdeskctl enroll)",
		              key_why.text);
	}
	explicit_bzero(token, sizeof(token));
	if (store_audit_pending_count(w->store, pending) != QD_OK)
		*pending = 0;
}

static void record_upload(struct sync_worker *w, const struct upload_result *res, uint64_t pending)
{
	struct sync_worker_status *st = &w->st;
	int64_t now = wall_now(w);
	st->upload_runs++;
	st->upload_status = res->status;
	st->upload_why = res->why;
	st->upload_last_at = now;
	st->upload_batches += res->batches;
	st->upload_rows += res->rows;
	st->upload_pending = pending;
	if (res->status == QD_OK)
		st->upload_last_success_at = now;
	else
		st->upload_failed++;
}

/* ---- retention ---------------------------------------------------------------------- */

/*
 * Whether or not upload is set up: rows older than retention_days go once
 * uploaded or exported when either is set up ([upload] url, [usb] mode),
 * else unconditionally; a card's "already used" marker goes at the card's
 * own expiry.  In chunks, so the loop's audit rows never wait long.
 */
static enum qd_err run_retention(struct sync_worker *w, const struct sync_worker_options *o,
                                 uint64_t *rows, uint64_t *markers, struct qd_errmsg *why)
{
	*rows = 0;
	*markers = 0;
	enum qd_err rc = ensure_store(w, o->store_path, why);
	if (rc != QD_OK)
		return rc;
	int64_t now = wall_now(w);
	struct store_retention r = {
	        .before_us = (now - (int64_t)o->upload.retention_days * 86400) * 1000000,
	        .keep_until_copied = o->upload.url[0] != '\0' || o->export_configured,
	        .now = now,
	        .max_rows = RETENTION_CHUNK,
	};
	struct store_retention_result res = {.more = true};
	while (res.more && !atomic_load(&w->abort)) {
		rc = store_audit_retain(w->store, &r, &res, why);
		if (rc != QD_OK)
			return rc;
		*rows += res.rows;
		*markers += res.markers;
	}
	return QD_OK;
}

/* ---- the thread ----------------------------------------------------------------------- */

static void deadline_after(struct timespec *ts, uint64_t wait_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(wait_ms / 1000u);
	ts->tv_nsec += (long)(wait_ms % 1000u) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * A sync (download, verify, a 1M apply's hashing and sorting) yields the CPU to the loop: it
 * runs at SYNC_WORKER_NICE.  Upload and retention do not: they take the audit log's write
 * lock, which the loop's verdict rows wait for, and a holder at low priority would make them
 * wait longer on a busy CPU.  Back to 0 needs RLIMIT_NICE (the unit's LimitNICE); without
 * it the worker stays low, which is said once.  Failing to lower it is harmless, only said.
 */
static void sync_at_low_priority(struct sync_worker *w, bool low)
{
	char why[128];
	int want = low ? w->base_nice + SYNC_WORKER_NICE : w->base_nice;
	if (want > 19)
		want = 19;
	if (thread_nice() == want || thread_set_nice(want, why, sizeof(why)) == QD_OK)
		return;
	if (w->nice_told)
		return;
	w->nice_told = true;
	if (low)
		log_warn("sync worker: cannot lower its CPU priority to nice %d for a sync: %s",
		         want, why);
	else
		log_warn("sync worker: stays at nice %d for upload and retention, not %d (%s; "
		         "LimitNICE in qrdeskd.service allows it)",
		         thread_nice(), want, why);
}

static void *worker_main(void *arg)
{
	struct sync_worker *w = arg;
	thread_name("qrdesk-sync");
	w->base_nice = thread_nice();
	pthread_mutex_lock(&w->mu);
	/* The first sync at start, within the jitter: desks that power up together (after a
	 * power cut) do not all ask the server in the same second. */
	uint64_t first_ms = (uint64_t)random32(w) % ((uint64_t)w->opts.sync.jitter_s * 1000u + 1);
	uint64_t next_sync = mono_ms() + first_ms, next_upload = mono_ms();
	uint64_t next_purge = next_sync; /* the first with the first sync */
	for (;;) {
		bool sync_on = w->opts.sync.url[0] != '\0';
		bool upload_on = w->opts.upload.url[0] != '\0';
		w->st.sync_enabled = sync_on;
		w->st.upload_enabled = upload_on;
		if (w->sync_soon) {
			w->sync_soon = false;
			next_sync = mono_ms();
		}
		if (w->stop)
			break;
		uint64_t now = mono_ms();
		bool want_sync = sync_on && (w->st.requested > w->st.runs || now >= next_sync);
		bool want_upload = upload_on && now >= next_upload;
		bool want_purge = want_upload || now >= next_purge;
		if (!want_sync && !want_purge) {
			uint64_t until = next_purge;
			if (sync_on && next_sync < until)
				until = next_sync;
			if (upload_on && next_upload < until)
				until = next_upload;
			struct timespec ts;
			deadline_after(&ts, until - now);
			int rc = pthread_cond_timedwait(&w->cv, &w->mu, &ts);
			if (rc != 0 && rc != ETIMEDOUT)
				log_err("sync worker: wait failed (%d)", rc);
			continue;
		}
		struct sync_worker_options o = w->opts;
		w->st.running = want_sync;
		/* Asked for (qrdeskctl sync): a real look, never a 304 taken on trust. */
		bool conditional = w->st.requested <= w->st.runs && w->last_full_ms != 0 &&
		                   now - w->last_full_ms < ETAG_TRUST_MS;
		pthread_mutex_unlock(&w->mu);

		struct sync_result *res = &w->res;
		if (want_sync) {
			sync_at_low_priority(w, true);
			run_sync(w, &o, conditional, res);
			sync_at_low_priority(w, false);
		}
		struct upload_result up;
		uint64_t pending = 0, purged = 0, markers = 0;
		if (want_upload)
			run_upload(w, &o, &up, &pending);
		struct qd_errmsg purge_why = {{0}};
		enum qd_err purge_rc = QD_OK;
		if (want_purge)
			purge_rc = run_retention(w, &o, &purged, &markers, &purge_why);

		pthread_mutex_lock(&w->mu);
		if (want_sync)
			record_sync(w, res, &next_sync);
		if (want_upload) {
			record_upload(w, &up, pending);
			next_upload = mono_ms() + (uint64_t)w->opts.upload.period_s * 1000u;
		}
		if (want_purge) {
			w->st.purged += purged;
			w->st.markers_purged += markers;
			w->st.purge_runs++;
			w->st.purge_last_at = wall_now(w);
			next_purge = mono_ms() + RETENTION_PERIOD_MS;
			w->st.purge_next_at = w->st.purge_last_at + RETENTION_PERIOD_MS / 1000u;
		}
		w->st.store_ok = w->store != NULL;
		w->copy = w->st;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		if (want_sync) {
			for (size_t i = 0; i < res->n_files; i++)
				if (res->files[i].delta_refused[0] != '\0')
					log_warn(
					        "sync: the %s delta was refused (%s); the snapshot "
					        "was %s instead",
					        trust_doc_type_name(res->files[i].type),
					        res->files[i].delta_refused,
					        res->status == QD_OK ? "taken" : "tried");
			if (res->status == QD_OK)
				log_info("sync: %s (timestamp version %llu, %zu bytes fetched)",
				         res->changed ? "new trust data installed" : "up to date",
				         (unsigned long long)res->timestamp_version,
				         res->bytes_fetched);
			else
				log_warn("sync refused (%s): %s; the store is unchanged",
				         qd_err_name(res->status), res->why.text);
		}
		if (want_upload && up.status != QD_OK)
			log_warn("upload: %s (%s); %llu rows wait for the next try", up.why.text,
			         qd_err_name(up.status), (unsigned long long)pending);
		else if (want_upload && up.rows > 0)
			log_info("upload: %zu audit rows in %zu batches", up.rows, up.batches);
		if (purge_rc != QD_OK)
			log_warn("audit retention: %s (%s); it tries again within the hour",
			         purge_why.text, qd_err_name(purge_rc));
		else if (purged + markers > 0)
			log_info("audit retention: %llu rows and %llu used-card markers deleted",
			         (unsigned long long)purged, (unsigned long long)markers);
		if (w->notify != NULL)
			w->notify(w->notify_arg, &w->copy);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	store_close(w->store);
	w->store = NULL;
	return NULL;
}

enum qd_err sync_worker_start(const struct sync_worker_options *opts,
                              const struct sync_worker_hooks *hooks, sync_worker_notify notify,
                              void *arg, struct sync_worker **out, struct qd_errmsg *why)
{
	*out = NULL;
	struct sync_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return QD_ERR_NOMEM;
	w->opts = *opts;
	if (hooks != NULL)
		w->hooks = *hooks;
	w->notify = notify;
	w->notify_arg = arg;
	atomic_init(&w->abort, false);
	w->st.sync_enabled = opts->sync.url[0] != '\0';
	w->st.upload_enabled = opts->upload.url[0] != '\0';
	pthread_condattr_t ca;
	int rc = pthread_condattr_init(&ca);
	if (rc == 0)
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0 || pthread_mutex_init(&w->mu, NULL) != 0) {
		qd_errmsg_set(why, "sync worker: cannot set up its lock");
		free(w);
		return QD_ERR_NOMEM;
	}
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0) {
		qd_errmsg_set(why, "sync worker: cannot start its thread: %s", strerror(rc));
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return QD_ERR_NOMEM;
	}
	*out = w;
	return QD_OK;
}

uint64_t sync_worker_request(struct sync_worker *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t target = 0;
	if (w->opts.sync.url[0] != '\0') {
		target = w->st.runs + (w->st.running ? 2 : 1);
		if (w->st.requested < target)
			w->st.requested = target;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return target;
}

void sync_worker_get_status(struct sync_worker *w, struct sync_worker_status *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->st;
	pthread_mutex_unlock(&w->mu);
}

void sync_worker_set_options(struct sync_worker *w, const struct sync_worker_options *opts)
{
	pthread_mutex_lock(&w->mu);
	if (strcmp(w->opts.sync.url, opts->sync.url) != 0)
		w->sync_soon = true;
	w->opts = *opts;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void sync_worker_stop(struct sync_worker *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->abort, true);
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
