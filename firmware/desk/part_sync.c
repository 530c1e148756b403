/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_sync.c - the network thread (sync_worker.h) as two parts: sync
 * (trust data from the repository) and upload (audit rows to the back
 * office).  One worker carries both; the sync part starts and stops it, the
 * upload part hands it its keys.  It runs even with both off, so a reload
 * can turn either on.  Scanning never depends on the network: a worker that
 * cannot start is logged and the desk runs on with the trust data it has.
 */
#include "desk.h"

#include <string.h>

#include "desk_status.h"
#include "qrdesk/log.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/store.h"
#include "qrdesk/sync.h"

static const struct desk_key sync_keys[] = {
        {"sync", NULL, DESK_KEY_LIVE}, /* from the worker's next round; a new url syncs at once */
        {NULL, NULL, 0},
};
static const struct desk_key upload_keys[] = {
        {"upload", NULL, DESK_KEY_LIVE}, /* from the worker's next round */
        {NULL, NULL, 0},
};

static void worker_options(const struct desk *d, struct sync_worker_options *wo)
{
	memset(wo, 0, sizeof(*wo));
	snprintf(wo->store_path, sizeof(wo->store_path), "%s", d->cfg.store);
	snprintf(wo->desk_id, sizeof(wo->desk_id), "%s", d->cfg.desk_id);
	wo->sync = d->cfg.sync;
	wo->upload = d->cfg.upload;
	wo->export_configured = d->cfg.usb.mode != CONFIG_USB_OFF;
}

/*
 * On the loop thread, after a sync or an upload round: new trust data is
 * loaded into the pipeline exactly as a reload does.
 */
static void sync_done_work(struct loop *loop, void *arg)
{
	(void)loop;
	struct desk *d = arg;
	if (d->worker == NULL)
		return;
	struct sync_worker_status st;
	sync_worker_get_status(d->worker, &st);
	if (st.changed != d->sync_changed_seen) {
		d->sync_changed_seen = st.changed;
		struct qd_errmsg why = {{0}};
		if (pipeline_reload_trust(d->pipeline, &why) != QD_OK)
			log_err("sync: new trust data installed but not loaded: %s", why.text);
		else
			log_info("sync: the pipeline now checks against the new trust data");
	}
	desk_status_dirty(d->status);
}

/* On the worker thread: hand over to the loop. */
static void on_worker_notify(void *arg, const struct sync_worker_status *status)
{
	(void)status;
	struct desk *d = arg;
	if (loop_post(d->loop, sync_done_work, d) != QD_OK)
		log_err("sync: cannot tell the loop (no memory); the next sync tries again");
}

static int open_sync(struct desk *d)
{
	struct qd_errmsg why = {{0}};
	if (sync_global_init(&why) != QD_OK) {
		log_err("sync: %s; running without sync and upload", why.text);
		return 0;
	}
	d->curl_ready = true;
	struct sync_worker_options wo;
	worker_options(d, &wo);
	if (sync_worker_start(&wo, NULL, on_worker_notify, d, &d->worker, &why) != QD_OK) {
		log_err("sync: %s; running without sync and upload", why.text);
		d->worker = NULL;
		return 0;
	}
	if (d->cfg.sync.url[0] != '\0')
		log_info("sync: from %s every %us (+ up to %us)", d->cfg.sync.url,
		         (unsigned)d->cfg.sync.period_s, (unsigned)d->cfg.sync.jitter_s);
	else
		log_info("sync: off (no [sync] url)");
	return 0;
}

/* [sync] and [upload] are both handed over here, once, after every part took its keys. */
static void reload_worker(struct desk *d)
{
	if (d->worker == NULL)
		return;
	struct sync_worker_options wo;
	worker_options(d, &wo);
	sync_worker_set_options(d->worker, &wo);
}

static void close_sync(struct desk *d)
{
	/* The worker may be mid-transfer (it is aborted) and posts to the loop. */
	sync_worker_stop(d->worker);
	d->worker = NULL;
	if (d->curl_ready)
		sync_global_cleanup();
	d->curl_ready = false;
}

static json_t *time_or_null(int64_t t)
{
	return t > 0 ? json_integer((json_int_t)t) : json_null();
}

static json_t *sync_last_json(const struct sync_worker_status *st)
{
	if (!st->have_last)
		return json_null();
	const struct sync_result *r = &st->last;
	json_t *files = json_array();
	/* Every file, the fleet's desk and used lists too (qrdeskctl sync prints them). */
	for (size_t i = 0; i < r->n_files; i++) {
		const struct sync_file *f = &r->files[i];
		/* delta: the changes from the installed version were fetched, not the snapshot;
		 * delta_refused: why a delta did not fit, the snapshot taken instead */
		json_array_append_new(
		        files, json_pack("{s:s, s:I, s:I, s:b, s:I, s:b, s:s?}", "document",
		                         trust_doc_type_name(f->type), "installed",
		                         (json_int_t)f->installed, "offered",
		                         (json_int_t)f->offered, "fetched", f->fetched, "bytes",
		                         (json_int_t)f->bytes, "delta", f->delta, "delta_refused",
		                         f->delta_refused[0] ? f->delta_refused : NULL));
	}
	return json_pack("{s:s, s:s, s:I, s:I, s:b, s:I, s:I, s:o}", "status",
	                 qd_err_name(r->status), "message", r->why.text, "started_at",
	                 (json_int_t)r->started_at, "finished_at", (json_int_t)st->last_finished_at,
	                 "changed", r->changed, "timestamp_version",
	                 (json_int_t)r->timestamp_version, "bytes_fetched",
	                 (json_int_t)r->bytes_fetched, "files", files);
}

/* One line for the kiosk: what the last sync did. */
static const char *sync_summary(const struct sync_worker_status *st)
{
	if (!st->sync_enabled)
		return NULL;
	if (st->running && !st->have_last)
		return "running";
	if (!st->have_last)
		return "waiting";
	if (st->last.status != QD_OK)
		return "failed";
	return st->last.changed ? "new trust data" : "up to date";
}

/* Also takes the worker's numbers for the upload part and the metrics (d->sync_st). */
static void status_sync(struct desk *d, json_t *obj, int64_t now)
{
	struct sync_worker_status *st = &d->sync_st;
	memset(st, 0, sizeof(*st));
	if (d->worker != NULL)
		sync_worker_get_status(d->worker, st);
	const char *summary = sync_summary(st);
	json_t *sync = json_pack(
	        "{s:b, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
	        "enabled", st->sync_enabled, "url", d->cfg.sync.url, "state",
	        !st->sync_enabled              ? "off"
	        : st->running                  ? "running"
	        : st->consecutive_failures > 0 ? "failing"
	                                       : "idle",
	        "store_ok", st->store_ok, "runs", (json_int_t)st->runs, "requested",
	        (json_int_t)st->requested, "ok", (json_int_t)st->ok, "failed",
	        (json_int_t)st->failed, "changed", (json_int_t)st->changed, "consecutive_failures",
	        (json_int_t)st->consecutive_failures, "next_at", time_or_null(st->next_at),
	        "last_success_at", time_or_null(st->last_success_at), "last", sync_last_json(st),
	        "last_result", summary != NULL ? json_string(summary) : json_null(), "age_seconds",
	        st->have_last ? json_integer((json_int_t)(now - st->last_finished_at))
	                      : json_null());
	json_object_set_new(obj, "sync", sync != NULL ? sync : json_null());
}

const struct desk_part desk_part_sync = {
        .name = "sync",
        .keys = sync_keys,
        .open = open_sync,
        .close = close_sync,
        .status = status_sync,
};

static int open_upload(struct desk *d)
{
	if (d->worker != NULL && d->cfg.upload.url[0] != '\0')
		log_info("upload: audit rows to %s every %us", d->cfg.upload.url,
		         (unsigned)d->cfg.upload.period_s);
	return 0;
}

/* The audit log's retention (docs/audit-upload.md): it runs with or without upload. */
static json_t *audit_json(struct desk *d, const struct sync_worker_status *st)
{
	bool found = false;
	int64_t oldest_us = 0;
	if (store_audit_oldest(d->store, &found, &oldest_us) != QD_OK)
		found = false;
	bool copied = d->cfg.upload.url[0] != '\0' || d->cfg.usb.mode != CONFIG_USB_OFF;
	json_t *a =
	        json_pack("{s:o, s:o, s:o, s:I, s:s, s:I, s:I}", "oldest_row_at",
	                  found ? json_integer((json_int_t)(oldest_us / 1000000)) : json_null(),
	                  "last_purge_at", time_or_null(st->purge_last_at), "next_purge_at",
	                  time_or_null(st->purge_next_at), "retention_days",
	                  (json_int_t)d->cfg.upload.retention_days, "keep",
	                  copied ? "until uploaded or exported" : "retention only", "purged",
	                  (json_int_t)st->purged, "markers_purged", (json_int_t)st->markers_purged);
	return a != NULL ? a : json_null();
}

/* Inside "sync" (where it has always been shown): the worker's upload numbers. */
static void status_upload(struct desk *d, json_t *obj, int64_t now)
{
	(void)now;
	const struct sync_worker_status *st = &d->sync_st;
	json_t *upload = json_pack(
	        "{s:b, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I}", "enabled", st->upload_enabled,
	        "status", st->upload_runs > 0 ? qd_err_name(st->upload_status) : "none", "message",
	        st->upload_why.text, "last_at", time_or_null(st->upload_last_at), "last_success_at",
	        time_or_null(st->upload_last_success_at), "batches", (json_int_t)st->upload_batches,
	        "rows", (json_int_t)st->upload_rows, "failures", (json_int_t)st->upload_failed,
	        "pending", (json_int_t)st->upload_pending, "purged", (json_int_t)st->purged);
	json_t *sync = json_object_get(obj, "sync");
	if (json_is_object(sync))
		json_object_set_new(sync, "upload", upload);
	else
		json_decref(upload);
	json_object_set_new(obj, "audit", audit_json(d, st));
}

const struct desk_part desk_part_upload = {
        .name = "upload",
        .keys = upload_keys,
        .open = open_upload,
        .reload = reload_worker,
        .status = status_upload,
};
