/* SPDX-License-Identifier: Apache-2.0 */
/*
 * desk_status.c - the status snapshot (see desk_status.h).
 *
 * The snapshot lives in the kiosk (kiosk_publish_status copies it for its
 * connection threads), in the STATUS line last sent to systemd, and in the
 * JSON text built for the control socket when it asks.  Only the loop thread builds;
 * the kiosk's threads reach the loop through desk_status_freshen, which
 * posts and waits, and never touch a part.
 */
#include "desk_status.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "desk.h"
#include "qrdesk/kiosk.h"
#include "qrdesk/log.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/source.h"

#define CRON_MS         1000 /* the status cron's period */
#define FRESHEN_GAP_MS  50   /* rebuilds asked for by readers: at least this far apart */
#define FRESHEN_WAIT_MS 500

struct desk_status {
	struct desk *d;
	struct loop_timer *cron;
	atomic_bool dirty;
	int64_t built_us; /* monotonic time of the last build; 0: never */
	char notify[256]; /* the STATUS line last sent */
	pthread_mutex_t lock;
	pthread_cond_t built; /* CLOCK_MONOTONIC; broadcast after each build */
	/* Under lock: */
	uint64_t generation;
	bool posted; /* a freshen request waits in the loop's queue */
};

/* The STATUS line: the last verdict and the counts, or the USB stick if newer. */
static void notify_line(struct desk_status *s)
{
	struct desk *d = s->d;
	char line[sizeof(s->notify)] = "";
	const struct pipeline_event *ev = pipeline_last(d->pipeline);
	const struct pipeline_counters *c = pipeline_counters(d->pipeline);
	if (d->usb_time != 0 && (ev == NULL || d->usb_time >= ev->wall_us / 1000000))
		snprintf(line, sizeof(line), "STATUS=USB: %.200s", d->usb_text);
	else if (ev != NULL)
		snprintf(line, sizeof(line),
		         "STATUS=last: #%llu %s %s from %s; %llu valid, %llu invalid, %llu review",
		         (unsigned long long)ev->seq, verdict_kind_name(ev->verdict.kind),
		         reason_code(ev->verdict.reason), ev->source,
		         (unsigned long long)c->by_kind[VERDICT_VALID],
		         (unsigned long long)c->by_kind[VERDICT_INVALID],
		         (unsigned long long)c->by_kind[VERDICT_REVIEW]);
	if (line[0] == '\0' || strcmp(line, s->notify) == 0)
		return;
	memcpy(s->notify, line, sizeof(line));
	sd_notify(0, line);
}

static char *metrics_text(struct desk *d)
{
	struct metrics_source srcs[DESK_SOURCES_MAX];
	for (size_t i = 0; i < d->n_sources; i++) {
		const struct source *src = d->sources[i];
		srcs[i] = (struct metrics_source){.name = src->name,
		                                  .kind = src->ops->kind,
		                                  .running = src->status.state == SOURCE_RUNNING,
		                                  .codes = src->status.codes,
		                                  .dropped = src->status.dropped};
	}
	const struct sync_worker_status *st = &d->sync_st;
	const struct metrics_sync ms = {.enabled = st->sync_enabled,
	                                .by_outcome = st->by_outcome,
	                                .n_outcomes = SYNC_WORKER_OUTCOMES,
	                                .last_success_at = st->last_success_at,
	                                .consecutive_failures = st->consecutive_failures,
	                                .upload_enabled = st->upload_enabled,
	                                .upload_batches = st->upload_batches,
	                                .upload_rows = st->upload_rows,
	                                .upload_failures = st->upload_failed,
	                                .upload_pending = st->upload_pending};
	const struct metrics_snapshot snap = {
	        .desk = d->cfg.desk_id,
	        .version = DESK_VERSION,
	        .now = loop_wall_us() / 1000000,
	        .uptime_seconds = (loop_now_us() - d->started_us) / 1000000,
	        .counters = pipeline_counters(d->pipeline),
	        .latency = &d->latency,
	        .trust = pipeline_trust(d->pipeline),
	        .indicators_healthy = d->indicators_open && d->indicators.healthy,
	        .sources = srcs,
	        .n_sources = d->n_sources,
	        .sync = &ms,
	};
	char *text = NULL;
	size_t len = 0;
	return metrics_render(&snap, &text, &len) == QD_OK ? text : NULL;
}

/* Build everything from the parts and publish it; the JSON text is returned (free it). */
static char *rebuild(struct desk_status *s)
{
	struct desk *d = s->d;
	atomic_store(&s->dirty, false);
	s->built_us = loop_now_us();
	json_t *obj = desk_status_build(d);
	char *json = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (d->kiosk != NULL) {
		char *metrics = metrics_text(d);
		if (json == NULL || metrics == NULL)
			log_warn("kiosk: cannot build the status (no memory); the page keeps the "
			         "last one");
		else if (kiosk_publish_status(d->kiosk, json, metrics) != QD_OK)
			log_warn("kiosk: cannot publish the status (no memory)");
		free(metrics);
	}
	notify_line(s);
	pthread_mutex_lock(&s->lock);
	s->generation++;
	pthread_cond_broadcast(&s->built);
	pthread_mutex_unlock(&s->lock);
	return json;
}

static void cron(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct desk_status *s = arg;
	/* Without the kiosk nobody reads the snapshot between requests (a technician's
	 * `status` builds its own): build nothing, keep systemd's line only. */
	if (s->d->kiosk == NULL) {
		if (atomic_exchange(&s->dirty, false))
			notify_line(s);
		return;
	}
	free(rebuild(s));
}

enum qd_err desk_status_create(struct desk *d, struct desk_status **out)
{
	struct desk_status *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return QD_ERR_NOMEM;
	s->d = d;
	atomic_init(&s->dirty, true);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->built, &ca);
	pthread_condattr_destroy(&ca);
	if (loop_timer_create(d->loop, cron, s, &s->cron) != QD_OK) {
		desk_status_destroy(s);
		return QD_ERR_NOMEM;
	}
	*out = s;
	return QD_OK;
}

void desk_status_start(struct desk_status *s)
{
	/* The first build runs on the loop, at once: nothing stands between the last
	 * part opening (the sources) and the loop reading them. */
	loop_timer_arm(s->cron, 0, CRON_MS);
}

void desk_status_destroy(struct desk_status *s)
{
	if (s == NULL)
		return;
	loop_timer_destroy(s->cron);
	pthread_cond_destroy(&s->built);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void desk_status_dirty(struct desk_status *s)
{
	if (s != NULL)
		atomic_store(&s->dirty, true);
}

char *desk_status_now(struct desk_status *s)
{
	return rebuild(s);
}

/* On the loop: a reader asked.  Build now, or at the cron if one was just made. */
static void freshen_work(struct loop *loop, void *arg)
{
	(void)loop;
	struct desk_status *s = arg;
	pthread_mutex_lock(&s->lock);
	s->posted = false;
	pthread_mutex_unlock(&s->lock);
	if (!atomic_load(&s->dirty))
		return;
	int64_t since_ms = (loop_now_us() - s->built_us) / 1000;
	if (since_ms >= FRESHEN_GAP_MS)
		free(rebuild(s));
	else
		loop_timer_arm(s->cron, (uint64_t)(FRESHEN_GAP_MS - since_ms), CRON_MS);
}

void desk_status_freshen(void *status)
{
	struct desk_status *s = status;
	if (!atomic_load(&s->dirty))
		return;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += FRESHEN_WAIT_MS * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	uint64_t gen = s->generation;
	bool post = !s->posted;
	s->posted = true;
	pthread_mutex_unlock(&s->lock);
	if (post && loop_post(s->d->loop, freshen_work, s) != QD_OK) {
		pthread_mutex_lock(&s->lock);
		s->posted = false;
		pthread_mutex_unlock(&s->lock);
		return; /* no memory: the reader gets the last snapshot */
	}
	pthread_mutex_lock(&s->lock);
	while (s->generation == gen &&
	       pthread_cond_timedwait(&s->built, &s->lock, &deadline) == 0) {
	}
	pthread_mutex_unlock(&s->lock);
}
