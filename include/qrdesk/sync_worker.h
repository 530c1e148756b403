/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync_worker.h - qrdeskd's background thread for the network: the periodic
 * trust-data sync (sync.h) and the audit upload (upload.h).
 *
 * One thread, its own store connection (WAL: the loop thread keeps scanning
 * on its own connection during an apply), one sync at a time by
 * construction.  Waits between syncs follow sync_schedule_delay_ms: the
 * period plus random jitter; after failures, retry_s doubling up to
 * backoff_max_s (plus jitter), back to the period after a success.  A "sync
 * now" request wakes it at once.  After each sync (and upload round) it calls
 * the notify callback on its own thread; qrdeskd posts from there to its
 * loop, which reloads the pipeline's trust view when the store changed.
 *
 * Stop: sync_worker_stop sets the abort flag (a download or upload in
 * flight stops at libcurl's next progress tick), wakes the thread and joins it.
 */
#ifndef QRDESK_SYNC_WORKER_H
#define QRDESK_SYNC_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "qrdesk/config.h"
#include "qrdesk/error.h"
#include "qrdesk/sync.h"
#include "qrdesk/upload.h"

/* The pure part of the timing (tests call it directly). */
struct sync_schedule {
	uint32_t period_s, jitter_s, retry_s, backoff_max_s;
};

/*
 * Milliseconds to wait before the next sync after `failures` consecutive
 * failures (0: after a success), rnd a uniformly random 32-bit number:
 *   base   = failures == 0 ? period_s : min(retry_s * 2^(failures-1), backoff_max_s)
 *   result = base * 1000 + rnd % (jitter_s * 1000 + 1)
 */
uint64_t sync_schedule_delay_ms(const struct sync_schedule *s, unsigned failures, uint32_t rnd);

/* Outcomes are counted by enum qd_err value; codes past this are counted in the last slot. */
#define SYNC_WORKER_OUTCOMES 32

struct sync_worker_status {
	bool sync_enabled, upload_enabled;
	bool running;                 /* a sync is in progress */
	uint64_t runs;                /* syncs finished */
	uint64_t requested;           /* the highest run number asked for by a request */
	uint64_t ok, failed, changed; /* of runs */
	uint64_t by_outcome[SYNC_WORKER_OUTCOMES];
	unsigned consecutive_failures;
	int64_t next_at; /* wall clock, seconds: the next planned sync (0: none) */
	bool have_last;
	struct sync_result last;
	int64_t last_finished_at; /* wall clock, seconds */
	int64_t last_success_at;  /* 0: none since start */
	/* upload */
	uint64_t upload_runs, upload_failed, upload_batches, upload_rows;
	enum qd_err upload_status;
	struct qd_errmsg upload_why;
	int64_t upload_last_at, upload_last_success_at;
	uint64_t upload_pending; /* rows waiting after the last round */
	/* retention (runs with or without upload) */
	uint64_t purged;         /* rows deleted by retention since start */
	uint64_t markers_purged; /* "already used" markers of expired cards deleted */
	uint64_t purge_runs;
	int64_t purge_last_at, purge_next_at; /* wall clock, seconds; 0: not yet */
	bool store_ok;                        /* the worker's own store connection is open */
};

struct sync_worker_options {
	char store_path[CONFIG_PATH_MAX];
	char desk_id[32];
	struct config_sync sync;     /* url "": no sync */
	struct config_upload upload; /* url "": no upload; retention_days: also without */
	bool export_configured;      /* [usb] mode is not off: rows wait to be exported */
};

/* Seams for tests; any NULL member: the real one. */
struct sync_worker_hooks {
	const struct sync_fetcher *fetcher; /* instead of HTTPS to sync.url */
	uint32_t (*random)(void *ctx);      /* instead of getrandom */
	int64_t (*wall_now)(void *ctx);     /* the clock a sync is judged at (seconds) */
	/* Told each planned wait before the worker sleeps it. */
	void (*planned)(void *ctx, uint64_t delay_ms, unsigned failures);
	void *ctx;
};

/* Called on the worker thread after each round: sync, upload, retention. */
typedef void (*sync_worker_notify)(void *arg, const struct sync_worker_status *status);

struct sync_worker;

/* Start the thread; the first sync and upload round begin at once. hooks may be NULL. */
enum qd_err sync_worker_start(const struct sync_worker_options *opts,
                              const struct sync_worker_hooks *hooks, sync_worker_notify notify,
                              void *arg, struct sync_worker **out, struct qd_errmsg *why);

/*
 * Ask for a sync now.  Returns the run number that answers it: the request
 * is done when status.runs reaches it (a sync already running when asked
 * does not count: it began before the request).  0: sync is off.
 */
uint64_t sync_worker_request(struct sync_worker *w);

/* A copy of the status, taken under the worker's lock. */
void sync_worker_get_status(struct sync_worker *w, struct sync_worker_status *out);

/* New settings (SIGHUP), used from the next sync or upload round on. */
void sync_worker_set_options(struct sync_worker *w, const struct sync_worker_options *opts);

/* Stop promptly, join, free.  NULL is fine. */
void sync_worker_stop(struct sync_worker *w);

#endif
