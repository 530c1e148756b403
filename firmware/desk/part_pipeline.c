/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_pipeline.c - the verdict pipeline (pipeline.h): each verdict's audit
 * row is written before the pipeline goes on (the audit log has its own
 * file, store.h); a timer each second closes binding transactions that ran
 * out.
 */
#include "desk.h"

#include <sodium.h>

#include "desk_status.h"
#include "qrdesk/audit_key.h"
#include "qrdesk/audit_writer.h"
#include "qrdesk/log.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/store.h"
#include "qrdesk/verdict_event.h"

static const struct desk_key keys[] = {
        {"desk", "audit_key", DESK_KEY_RESTART},
        {"pipeline", "holdoff_ms", DESK_KEY_LIVE},
        {"pipeline", "already_used_check", DESK_KEY_LIVE},
        {"binding", NULL, DESK_KEY_LIVE}, /* from the next transaction */
        {NULL, NULL, 0},
};

static void pipeline_config_of(const struct desk *d, struct pipeline_config *pc)
{
	*pc = (struct pipeline_config){.holdoff_ms = d->cfg.holdoff_ms,
	                               .already_used_check = d->cfg.already_used_check,
	                               .stale_grace_s = d->cfg.sync.stale_grace_s,
	                               .binding_require = d->cfg.binding_require,
	                               .binding_timeout_s = d->cfg.binding_timeout_s};
	snprintf(pc->desk_id, sizeof(pc->desk_id), "%s", d->cfg.desk_id);
}

/* Each verdict: its latency into the histogram, and the status is stale. Nothing rendered. */
static void on_verdict(void *arg, const struct pipeline_event *ev)
{
	struct desk *d = arg;
	metrics_latency_observe(&d->latency, ev->latency_us);
	desk_status_dirty(d->status);
}

static void on_tick(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct desk *d = arg;
	pipeline_tick(d->pipeline); /* binding transactions run out */
}

/*
 * The deployment's audit key into the pipeline.  A desk never provisioned
 * with one makes its own (so pseudonyms are keyed all the same) and says
 * that the back office cannot link them; a key file others may read, or
 * one that does not parse, stops the start.
 */
static int load_audit_key(struct desk *d)
{
	char path[CONFIG_PATH_MAX + 16];
	if (d->cfg.audit_key[0] != '\0')
		snprintf(path, sizeof(path), "%s", d->cfg.audit_key);
	else
		audit_key_default_path(d->cfg.store, path, sizeof(path));
	uint8_t key[CREDENTIAL_AUDIT_KEY_LEN];
	struct qd_errmsg why = {{0}};
	enum qd_err rc = audit_key_load(path, key, &why);
	if (rc == QD_ERR_NOT_FOUND) {
		randombytes_buf(key, sizeof(key));
		rc = audit_key_write(path, key, (uid_t)-1, (gid_t)-1, &why);
		if (rc == QD_OK)
			log_warn("audit key: none provisioned; made a desk-local one at %s (its "
			         "pseudonyms match no other desk's; docs/security.md)",
			         path);
	}
	if (rc != QD_OK) {
		log_err("audit key: %s", why.text);
		return -1;
	}
	pipeline_set_audit_key(d->pipeline, key);
	sodium_memzero(key, sizeof(key));
	return 0;
}

static void on_audit_done(void *arg, uint64_t through, uint64_t failed)
{
	struct desk *d = arg;
	if (d->pipeline == NULL)
		return;
	pipeline_audit_done(d->pipeline, through, failed);
	desk_release_replies(d);
}

static int open_pipeline(struct desk *d)
{
	struct qd_errmsg why = {{0}};
	struct pipeline_config pc;
	pipeline_config_of(d, &pc);
	if (pipeline_create(&pc, d->store, d->player, &d->pipeline, &why) != QD_OK) {
		log_err("pipeline: %s", why.text);
		return -1;
	}
	if (load_audit_key(d) != 0)
		return -1;
	if (pipeline_add_observer(d->pipeline, on_verdict, d) != QD_OK) {
		log_err("pipeline: cannot add the status observer");
		return -1;
	}
	/* The audit rows on their own thread, so no code waits behind a row's device flush. */
	if (audit_writer_start(d->loop, d->cfg.store, on_audit_done, d, &d->audit_writer, &why) ==
	    QD_OK)
		pipeline_set_audit_writer(d->pipeline, d->audit_writer);
	else
		log_warn("%s; the audit rows are written on the loop's turn", why.text);
	if (loop_timer_create(d->loop, on_tick, d, &d->pipeline_tick) == QD_OK)
		loop_timer_arm(d->pipeline_tick, 1000, 1000);
	else
		log_warn("pipeline: no timer; a binding transaction runs out with the next scan");
	return 0;
}

static void reload_pipeline(struct desk *d)
{
	struct pipeline_config pc;
	pipeline_config_of(d, &pc);
	pipeline_set_config(d->pipeline, &pc);
}

static void close_pipeline(struct desk *d)
{
	/* What waits is written before the pipeline goes (the writer's last report). */
	audit_writer_stop(d->audit_writer);
	d->audit_writer = NULL;
	if (d->pipeline != NULL)
		pipeline_set_audit_writer(d->pipeline, NULL);
	loop_timer_destroy(d->pipeline_tick);
	d->pipeline_tick = NULL;
	pipeline_destroy(d->pipeline);
	d->pipeline = NULL;
}

static json_t *freshness_json(const struct trust_freshness *f, int64_t now)
{
	if (!f->present)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:b}", "version", (json_int_t)f->version,
	                 "signed_at", (json_int_t)f->signed_at, "expires_at",
	                 (json_int_t)f->expires_at, "age_seconds", (json_int_t)(now - f->signed_at),
	                 "expired", now >= f->expires_at);
}

static json_t *trust_json(const struct trust_view *tv, int64_t now)
{
	/* The freeze: since when the repository timestamp is expired, and whether the grace
	 * is over. */
	bool stale = tv->timestamp.present && now >= tv->timestamp.expires_at;
	/* One member per shown type of the list (trust.h), then the freeze. */
	json_t *obj = json_object();
	for (size_t i = 0; i < trust_doc_types_count; i++)
		if (trust_doc_types[i].shown)
			json_object_set_new(
			        obj, trust_doc_types[i].name,
			        freshness_json(trust_view_freshness(tv, trust_doc_types[i].type),
			                       now));
	json_t *rest =
	        json_pack("{s:I, s:b, s:I, s:o, s:I, s:b}", "time_floor",
	                  (json_int_t)tv->time_floor, "clock_suspect", now < tv->time_floor, "keys",
	                  (json_int_t)tv->n_keys, "stale_since",
	                  stale ? json_integer((json_int_t)tv->timestamp.expires_at) : json_null(),
	                  "stale_grace_seconds", (json_int_t)tv->stale_grace, "stale_amber",
	                  stale && now >= tv->timestamp.expires_at + tv->stale_grace);
	json_object_update(obj, rest);
	json_decref(rest);
	return obj;
}

static json_t *counters_json(const struct pipeline_counters *c)
{
	json_t *by_reason = json_object();
	for (int r = 0; r < REASON_COUNT; r++)
		if (c->by_reason[r] > 0)
			json_object_set_new(by_reason, reason_code((enum verdict_reason)r),
			                    json_integer((json_int_t)c->by_reason[r]));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I}", "scans",
	                 (json_int_t)c->scans, "duplicates", (json_int_t)c->duplicates, "empty",
	                 (json_int_t)c->empty, "valid", (json_int_t)c->by_kind[VERDICT_VALID],
	                 "invalid", (json_int_t)c->by_kind[VERDICT_INVALID], "review",
	                 (json_int_t)c->by_kind[VERDICT_REVIEW], "by_reason", by_reason,
	                 "audit_failures", (json_int_t)c->audit_failures, "last_latency_us",
	                 (json_int_t)c->last_latency_us, "max_latency_us",
	                 (json_int_t)c->max_latency_us);
}

static void status_pipeline(struct desk *d, json_t *obj, int64_t now)
{
	json_object_set_new(obj, "trust", trust_json(pipeline_trust(d->pipeline), now));
	json_object_set_new(obj, "counters", counters_json(pipeline_counters(d->pipeline)));
	const struct pipeline_event *last = pipeline_last(d->pipeline);
	if (last != NULL) {
		json_t *lv = verdict_event_json(last, d->cfg.desk_id, VERDICT_JSON_STATUS);
		if (lv != NULL)
			json_object_set_new(obj, "last_verdict", lv);
	}
}

const struct desk_part desk_part_pipeline = {
        .name = "pipeline",
        .keys = keys,
        .open = open_pipeline,
        .reload = reload_pipeline,
        .close = close_pipeline,
        .status = status_pipeline,
};
