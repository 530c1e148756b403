/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qrdeskd - the desk daemon.
 *
 * Start-up in dependency order: config -> store -> indicators -> player ->
 * pipeline -> control socket -> signals -> kiosk (HTTP) -> sources ->
 * systemd READY; shut-down in reverse.  One loop owns everything (the
 * kiosk's HTTP threads only read what the loop publishes); signals arrive
 * through it:
 *   SIGTERM/SIGINT  finish the verdict in flight (callbacks never overlap),
 *                   indicators off, close the store (audit rows are
 *                   committed per verdict), exit 0;
 *   SIGHUP          re-read the config file (pipeline and pattern timings)
 *                   and the trust store, without dropping a scan.
 * The sync worker (sync_worker.h) is the one other thread with a store
 * connection: it syncs and uploads on its own, and posts to the loop when
 * the trust data changed (the pipeline reloads it there, as after SIGHUP).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "qrdesk/audit_key.h"
#include "qrdesk/config.h"
#include "qrdesk/control.h"
#include "qrdesk/hotplug.h"
#include "qrdesk/indicator.h"
#include "qrdesk/kiosk.h"
#include "qrdesk/log.h"
#include "qrdesk/loop.h"
#include "qrdesk/metrics.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/signature.h"
#include "qrdesk/source.h"
#include "qrdesk/source_camera.h"
#include "qrdesk/source_hid.h"
#include "qrdesk/source_replay.h"
#include "qrdesk/source_serial.h"
#include "qrdesk/store.h"
#include "qrdesk/sync_worker.h"
#include "qrdesk/usb_stick.h"
#include "qrdesk/verdict_json.h"
#include "qrdesk/hex.h"

#define QRDESKD_VERSION "0.1.0"
#define SOURCES_MAX     8

static const char usage_text[] =
        "usage: qrdeskd [OPTIONS]\n"
        "\n"
        "  --config FILE          configuration file (default " CONFIG_DEFAULT_PATH ")\n"
        "  --check-config [FILE]  check the configuration, print file:line errors, exit\n"
        "  --unit-devices [FILE]  print a systemd drop-in allowing FILE's devices only\n"
        "  --demo                 demo mode: the demo trust data in DIR (qrdesk-issuer demo\n"
        "                         DIR makes it), simulated indicators, codes from standard\n"
        "                         input and from DIR/inbox\n"
        "  --demo-dir DIR         where demo mode keeps its data (default ./qrdesk-demo)\n"
        "  --store DB             override [desk] store\n"
        "  --socket PATH          override [desk] control_socket\n"
        "  --desk ID              override [desk] desk_id\n"
        "  --log-level LEVEL      override [desk] log_level (err, warning, info, debug)\n"
        "  --version, --help\n";

/* Command-line options; OPT_STORE..OPT_LEVEL override [desk] keys. */
enum option_id {
	OPT_CHECK = 1,
	OPT_UNIT_DEVICES,
	OPT_DEMO,
	OPT_DEMO_DIR,
	OPT_STORE,
	OPT_SOCKET,
	OPT_DESK,
	OPT_LEVEL
};
static const char *const override_keys[] = {[OPT_STORE] = "store",
                                            [OPT_SOCKET] = "control_socket",
                                            [OPT_DESK] = "desk_id",
                                            [OPT_LEVEL] = "log_level"};
static const char *const override_options[] = {[OPT_STORE] = "--store",
                                               [OPT_SOCKET] = "--socket",
                                               [OPT_DESK] = "--desk",
                                               [OPT_LEVEL] = "--log-level"};

/* What the last reload did, for `qrdeskctl reload`. */
struct reload_outcome {
	bool config_ok, trust_ok;
	char config_error[400]; /* the first bad line, "file:line: message" */
	char trust_error[320];
};

struct daemon {
	struct config cfg;
	struct reload_outcome last_reload;
	const char *config_path;
	bool demo;
	const char *demo_dir;
	const char *overrides[OPT_LEVEL + 1]; /* the last of each option given wins */
	struct loop *loop;
	struct store *store;
	struct indicator_backend indicators;
	bool indicators_open;
	struct indicator_player *player;
	struct pipeline *pipeline;
	struct control *control;
	struct source *sources[SOURCES_MAX];
	size_t n_sources;
	struct hotplug *hotplug;  /* NULL: off, or could not start (hotplug_detail says) */
	char hotplug_detail[320]; /* why it is off, or the last event */
	uint64_t hotplug_events;
	int64_t hotplug_last_us; /* wall clock of the last event; 0: none */
	struct loop_timer *watchdog;
	struct kiosk *kiosk;              /* NULL: off, or the port could not be bound */
	struct loop_timer *kiosk_refresh; /* republishes status and metrics */
	struct metrics_latency latency;
	struct sync_worker *worker;     /* NULL: not started (libcurl could not start) */
	uint64_t sync_changed_seen;     /* worker's changed count the pipeline has reloaded for */
	struct loop_timer *audit_flush; /* writes audit rows deferred while the store was busy */
	bool curl_ready;
	int64_t started_us;
	int exit_code;
	/* USB sticks (branch usb) */
	struct usb_stick *usb;
	enum usb_stage usb_stage;
	char usb_text[400];
	int64_t usb_time; /* wall seconds of the last USB event; 0: none yet */
};

/* --- control socket ------------------------------------------------------------ */

static json_t *freshness_json(const struct trust_freshness *f, int64_t now)
{
	if (!f->present)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:b}", "version", (json_int_t)f->version,
	                 "signed_at", (json_int_t)f->signed_at, "expires_at",
	                 (json_int_t)f->expires_at, "age_seconds", (json_int_t)(now - f->signed_at),
	                 "expired", now >= f->expires_at);
}

/* --- sync worker ----------------------------------------------------- */

static json_t *time_or_null(int64_t t)
{
	return t > 0 ? json_integer((json_int_t)t) : json_null();
}

/* The freeze: since when the repository timestamp is expired, and whether the grace is over. */
static void stale_json(json_t *trust, const struct trust_view *tv, int64_t now)
{
	bool stale = tv->timestamp.present && now >= tv->timestamp.expires_at;
	json_object_set_new(trust, "stale_since",
	                    stale ? json_integer((json_int_t)tv->timestamp.expires_at)
	                          : json_null());
	json_object_set_new(trust, "stale_grace_seconds",
	                    json_integer((json_int_t)tv->stale_grace));
	json_object_set_new(
	        trust, "stale_amber",
	        json_boolean(stale && now >= tv->timestamp.expires_at + tv->stale_grace));
}

static json_t *sync_last_json(const struct sync_worker_status *st)
{
	if (!st->have_last)
		return json_null();
	const struct sync_result *r = &st->last;
	json_t *files = json_array();
	for (size_t i = 0; i < r->n_files && i < 4; i++) {
		const struct sync_file *f = &r->files[i];
		json_array_append_new(files, json_pack("{s:s, s:I, s:I, s:b, s:I}", "document",
		                                       trust_doc_type_name(f->type), "installed",
		                                       (json_int_t)f->installed, "offered",
		                                       (json_int_t)f->offered, "fetched",
		                                       f->fetched, "bytes", (json_int_t)f->bytes));
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

static json_t *sync_json(struct daemon *d, int64_t now)
{
	struct sync_worker_status st;
	memset(&st, 0, sizeof(st));
	if (d->worker != NULL)
		sync_worker_get_status(d->worker, &st);
	const char *summary = sync_summary(&st);
	json_t *upload = json_pack(
	        "{s:b, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I}", "enabled", st.upload_enabled,
	        "status", st.upload_runs > 0 ? qd_err_name(st.upload_status) : "none", "message",
	        st.upload_why.text, "last_at", time_or_null(st.upload_last_at), "last_success_at",
	        time_or_null(st.upload_last_success_at), "batches", (json_int_t)st.upload_batches,
	        "rows", (json_int_t)st.upload_rows, "failures", (json_int_t)st.upload_failed,
	        "pending", (json_int_t)st.upload_pending, "purged", (json_int_t)st.purged);
	json_t *obj = json_pack(
	        "{s:b, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
	        "enabled", st.sync_enabled, "url", d->cfg.sync.url, "state",
	        !st.sync_enabled              ? "off"
	        : st.running                  ? "running"
	        : st.consecutive_failures > 0 ? "failing"
	                                      : "idle",
	        "store_ok", st.store_ok, "runs", (json_int_t)st.runs, "requested",
	        (json_int_t)st.requested, "ok", (json_int_t)st.ok, "failed", (json_int_t)st.failed,
	        "changed", (json_int_t)st.changed, "consecutive_failures",
	        (json_int_t)st.consecutive_failures, "next_at", time_or_null(st.next_at),
	        "last_success_at", time_or_null(st.last_success_at), "last", sync_last_json(&st),
	        "last_result", summary != NULL ? json_string(summary) : json_null(), "age_seconds",
	        st.have_last ? json_integer((json_int_t)(now - st.last_finished_at)) : json_null(),
	        "upload", upload);
	return obj != NULL ? obj : json_null();
}

/* The verdict as the daemon shows it: the keyed pseudonym, never the bare hash. */
static json_t *verdict_reply(const struct pipeline_event *ev)
{
	json_t *obj = verdict_to_json(&ev->verdict);
	if (obj == NULL)
		return NULL;
	json_object_del(obj, "clearance_hash");
	if (ev->has_pseudonym) {
		char hex[2 * TRUST_HASH_LEN + 1];
		hex_encode(ev->pseudonym, TRUST_HASH_LEN, hex, sizeof(hex));
		json_object_set_new(obj, "pseudonym", json_string(hex));
	}
	return obj;
}

static json_t *status_json(struct daemon *d)
{
	int64_t now = loop_wall_us() / 1000000;
	const struct trust_view *tv = pipeline_trust(d->pipeline);
	const struct pipeline_counters *c = pipeline_counters(d->pipeline);

	json_t *sources = json_array();
	for (size_t i = 0; i < d->n_sources; i++) {
		const struct source *s = d->sources[i];
		json_array_append_new(sources, json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "name",
		                                         s->name, "kind", s->ops->kind, "state",
		                                         source_state_name(s->status.state),
		                                         "codes", (json_int_t)s->status.codes,
		                                         "dropped", (json_int_t)s->status.dropped,
		                                         "detail", s->status.detail));
	}
	json_t *by_reason = json_object();
	for (int r = 0; r < REASON_COUNT; r++)
		if (c->by_reason[r] > 0)
			json_object_set_new(by_reason, reason_code((enum verdict_reason)r),
			                    json_integer((json_int_t)c->by_reason[r]));
	json_t *obj = json_pack(
	        "{s:s, s:s, s:b, s:I, s:o, s:{s:s, s:b, s:s}, s:{s:o, s:o, s:o, s:o, s:I, s:b, "
	        "s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I}}",
	        "desk", d->cfg.desk_id, "version", QRDESKD_VERSION, "demo", d->demo,
	        "uptime_seconds", (json_int_t)((loop_now_us() - d->started_us) / 1000000),
	        "sources", sources, "indicators", "backend",
	        d->indicators_open ? d->indicators.ops->name : "none", "healthy",
	        d->indicators_open && d->indicators.healthy, "detail",
	        d->indicators_open ? d->indicators.detail : "not available", "trust", "keyset",
	        freshness_json(&tv->keyset, now), "revocations",
	        freshness_json(&tv->revocations, now), "policy", freshness_json(&tv->policy, now),
	        "timestamp", freshness_json(&tv->timestamp, now), "time_floor",
	        (json_int_t)tv->time_floor, "clock_suspect", now < tv->time_floor, "keys",
	        (json_int_t)tv->n_keys, "counters", "scans", (json_int_t)c->scans, "duplicates",
	        (json_int_t)c->duplicates, "empty", (json_int_t)c->empty, "valid",
	        (json_int_t)c->by_kind[VERDICT_VALID], "invalid",
	        (json_int_t)c->by_kind[VERDICT_INVALID], "review",
	        (json_int_t)c->by_kind[VERDICT_REVIEW], "by_reason", by_reason, "audit_failures",
	        (json_int_t)c->audit_failures, "last_latency_us", (json_int_t)c->last_latency_us,
	        "max_latency_us", (json_int_t)c->max_latency_us);
	if (obj != NULL)
		json_object_set_new(
		        obj, "hotplug",
		        json_pack("{s:s, s:I, s:s, s:I}", "backend",
		                  hotplug_backend_name(hotplug_backend_in_use(d->hotplug)),
		                  "events", (json_int_t)d->hotplug_events, "detail",
		                  d->hotplug_detail, "last_at",
		                  (json_int_t)(d->hotplug_last_us / 1000000)));
	if (obj != NULL)
		json_object_set_new(obj, "usb",
		                    d->usb_time == 0 ? json_null()
		                                     : json_pack("{s:s, s:s, s:I}", "stage",
		                                                 usb_stage_name(d->usb_stage),
		                                                 "headline", d->usb_text, "time",
		                                                 (json_int_t)d->usb_time));
	if (obj != NULL) {
		json_t *counters = json_object_get(obj, "counters");
		json_object_set_new(counters, "audit_deferred",
		                    json_integer((json_int_t)c->audit_deferred));
		json_object_set_new(counters, "audit_queued",
		                    json_integer((json_int_t)c->audit_queued));
		json_object_set_new(obj, "sync", sync_json(d, now));
		stale_json(json_object_get(obj, "trust"), tv, now);
		json_object_set_new(obj, "kiosk",
		                    json_pack("{s:b, s:s, s:I, s:I, s:b}", "enabled",
		                              d->kiosk != NULL, "address", d->cfg.kiosk_address,
		                              "port", (json_int_t)d->cfg.kiosk_port, "idle_ms",
		                              (json_int_t)d->cfg.kiosk_idle_ms, "technician",
		                              d->cfg.kiosk_technician_token[0] != '\0'));
	}
	const struct pipeline_event *last = pipeline_last(d->pipeline);
	if (obj != NULL && last != NULL) {
		json_t *lv = verdict_reply(last);
		if (lv != NULL) {
			json_object_del(lv, "claims"); /* status is not the place for a name */
			json_object_set_new(lv, "seq", json_integer((json_int_t)last->seq));
			json_object_set_new(lv, "source", json_string(last->source));
			json_object_set_new(lv, "time", json_integer(last->wall_us / 1000000));
			json_object_set_new(obj, "last_verdict", lv);
		}
	}
	return obj;
}

/*
 * The deployment's audit key into the pipeline.  A desk never provisioned
 * with one makes its own (so pseudonyms are keyed all the same) and says
 * that the back office cannot link them; a key file others may read, or
 * one that does not parse, stops the start.
 */
static int load_audit_key(struct daemon *d)
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
		return 1;
	}
	pipeline_set_audit_key(d->pipeline, key);
	sodium_memzero(key, sizeof(key));
	return 0;
}

static char *error_reply(const char *code, const char *message)
{
	json_t *obj = json_pack("{s:s, s:s}", "error", code, "message", message);
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	return text;
}

static void reload(struct daemon *d);

static char *on_control(void *arg, const char *request, size_t len)
{
	struct daemon *d = arg;
	json_error_t jerr;
	json_t *req = json_loadb(request, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *cmd = req ? json_string_value(json_object_get(req, "cmd")) : NULL;
	json_t *reply = NULL;
	char *text = NULL;
	if (cmd == NULL) {
		text = error_reply("bad-request", "expected {\"cmd\": ...}");
	} else if (strcmp(cmd, "status") == 0) {
		reply = status_json(d);
	} else if (strcmp(cmd, "reload") == 0) {
		reload(d);
		const struct reload_outcome *r = &d->last_reload;
		/* Say what was refused: "reloaded" alone would hide a broken file. */
		reply = json_pack("{s:b, s:b, s:s, s:b, s:s}", "reloaded",
		                  r->config_ok && r->trust_ok, "config_ok", r->config_ok,
		                  "config_error", r->config_error, "trust_ok", r->trust_ok,
		                  "trust_error", r->trust_error);
	} else if (strcmp(cmd, "sync") == 0) {
		/* The sync runs on the worker; the reply names the run to wait for in status. */
		uint64_t run = d->worker != NULL ? sync_worker_request(d->worker) : 0;
		if (run == 0)
			text = error_reply("sync-off", "no [sync] url is configured");
		else
			reply = json_pack("{s:I}", "run", (json_int_t)run);
	} else if (strcmp(cmd, "scan") == 0) {
		json_t *code = json_object_get(req, "code");
		if (!json_is_string(code)) {
			text = error_reply("bad-request", "scan needs \"code\"");
		} else {
			size_t n = json_string_length(code);
			if (n > SOURCE_TEXT_MAX)
				n = SOURCE_TEXT_MAX;
			uint64_t accepted = pipeline_counters(d->pipeline)->binding_accepted;
			const struct pipeline_event *ev = pipeline_submit(
			        d->pipeline, "control", json_string_value(code), n, loop_now_us());
			if (ev == NULL &&
			    pipeline_counters(d->pipeline)->binding_accepted != accepted) {
				/* A traveller's document taken: the verdict comes with the last. */
				reply = json_pack("{s:b}", "accepted", true);
			} else if (ev == NULL) {
				reply = json_pack("{s:b}", "duplicate", true);
			} else {
				reply = verdict_reply(ev);
				/* As the kiosk shows it, unless the technician asks (--full). */
				json_t *claims = json_object_get(reply, "claims");
				const char *pp =
				        json_string_value(json_object_get(claims, "passport_no"));
				if (pp != NULL && !json_is_true(json_object_get(req, "full"))) {
					char masked[17];
					kiosk_mask_passport(pp, masked);
					json_object_set_new(claims, "passport_no",
					                    json_string(masked));
				}
				if (reply != NULL)
					json_object_set_new(reply, "seq",
					                    json_integer((json_int_t)ev->seq));
			}
		}
	} else {
		text = error_reply("unknown-command", cmd);
	}
	json_decref(req);
	if (text == NULL)
		text = reply ? json_dumps(reply, JSON_COMPACT)
		             : error_reply("internal", "no memory");
	json_decref(reply);
	return text;
}

/* --- signals, watchdog ------------------------------------------------------------- */

static void on_stop_signal(struct loop *loop, int signo, void *arg)
{
	(void)arg;
	log_info("signal %d: shutting down", signo);
	sd_notify(0, "STOPPING=1");
	loop_stop(loop);
}

static enum qd_err compose_config(const struct daemon *d, struct config *out,
                                  struct config_errors *errs, struct qd_errmsg *why);

/* Name the keys a reload read but cannot apply live (they need a restart). */
static void warn_restart_keys(const struct config *run, const struct config *fresh)
{
	static const struct {
		const char *name;
		size_t offset, size;
	} keys[] = {
	        {"[desk] store", offsetof(struct config, store), sizeof(run->store)},
	        {"[desk] control_socket", offsetof(struct config, control_socket),
	         sizeof(run->control_socket)},
	        {"[desk] control_group", offsetof(struct config, control_group),
	         sizeof(run->control_group)},
	        {"[desk] audit_key", offsetof(struct config, audit_key), sizeof(run->audit_key)},
	        {"[indicators] backend", offsetof(struct config, indicator_backend),
	         sizeof(run->indicator_backend)},
	        {"[indicators] chip, lines or active_low", offsetof(struct config, gpio),
	         sizeof(run->gpio)},
	        {"[indicators] sim_record", offsetof(struct config, sim_record),
	         sizeof(run->sim_record)},
	        {"[replay] stdin", offsetof(struct config, replay_stdin),
	         sizeof(run->replay_stdin)},
	        {"[replay] fifo", offsetof(struct config, replay_fifo), sizeof(run->replay_fifo)},
	        {"[replay] images", offsetof(struct config, replay_images),
	         sizeof(run->replay_images)},
	        {"[serial]", offsetof(struct config, serial), sizeof(run->serial)},
	        {"[hid]", offsetof(struct config, hid), sizeof(run->hid)},
	        {"[hotplug]", offsetof(struct config, hotplug), sizeof(run->hotplug)},
	        {"[camera]", offsetof(struct config, camera), sizeof(run->camera)},
	        {"[kiosk] enabled", offsetof(struct config, kiosk_enabled),
	         sizeof(run->kiosk_enabled)},
	        {"[kiosk] address", offsetof(struct config, kiosk_address),
	         sizeof(run->kiosk_address)},
	        {"[kiosk] port", offsetof(struct config, kiosk_port), sizeof(run->kiosk_port)},
	        {"[kiosk] technician_token", offsetof(struct config, kiosk_technician_token),
	         sizeof(run->kiosk_technician_token)},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (memcmp((const char *)run + keys[i].offset, (const char *)fresh + keys[i].offset,
		           keys[i].size) != 0)
			log_warn("reload: %s changed: it takes effect at the next restart",
			         keys[i].name);
}

static void worker_options(const struct daemon *d, struct sync_worker_options *wo)
{
	memset(wo, 0, sizeof(*wo));
	snprintf(wo->store_path, sizeof(wo->store_path), "%s", d->cfg.store);
	snprintf(wo->desk_id, sizeof(wo->desk_id), "%s", d->cfg.desk_id);
	wo->sync = d->cfg.sync;
	wo->upload = d->cfg.upload;
}

/*
 * SIGHUP or `qrdeskctl reload`: re-read the configuration (all or nothing) and
 * the trust store, between two scans - the loop runs one thing at a time, so
 * no scan is dropped or judged half-way.
 */
static void reload(struct daemon *d)
{
	struct reload_outcome *out = &d->last_reload;
	memset(out, 0, sizeof(*out));
	sd_notify(0, "RELOADING=1");
	struct qd_errmsg why = {{0}};
	bool config_ok = true;
	static struct config fresh; /* large: off the stack */
	struct config_errors errs = {0};
	enum qd_err rc = compose_config(d, &fresh, &errs, &why);
	if (rc != QD_OK) {
		config_ok = false;
		log_err("reload: the configuration has errors; keeping the running one");
		for (size_t i = 0; i < errs.count && i < CONFIG_ERRORS_MAX; i++)
			log_err("%s:%d: %s", errs.file, errs.items[i].line, errs.items[i].message);
		if (errs.count == 0)
			log_err("reload: %s", why.text);
		if (errs.count > 0)
			snprintf(out->config_error, sizeof(out->config_error),
			         "%.180s:%d: %.180s%s", errs.file, errs.items[0].line,
			         errs.items[0].message,
			         errs.count > 1 ? " (and more: see the log)" : "");
		else
			snprintf(out->config_error, sizeof(out->config_error), "%.380s", why.text);
	} else {
		warn_restart_keys(&d->cfg, &fresh);
		/* What changes live: desk id, hold-off, already-used, log level, pattern timing. */
		snprintf(d->cfg.desk_id, sizeof(d->cfg.desk_id), "%s", fresh.desk_id);
		d->cfg.holdoff_ms = fresh.holdoff_ms;
		d->cfg.already_used_check = fresh.already_used_check;
		d->cfg.binding_require = fresh.binding_require;
		d->cfg.binding_timeout_s = fresh.binding_timeout_s;
		d->cfg.log_level = fresh.log_level;
		d->cfg.timing = fresh.timing;
		d->cfg.kiosk_idle_ms = fresh.kiosk_idle_ms;
		if (d->kiosk != NULL)
			kiosk_set_idle_ms(d->kiosk, d->cfg.kiosk_idle_ms);
		log_init("qrdeskd", LOG_STYLE_JOURNAL, d->cfg.log_level);
		indicator_player_set_timing(d->player, &d->cfg.timing);
		d->cfg.sync = fresh.sync; /* [sync] and [upload]: all live, from the next round */
		d->cfg.upload = fresh.upload;
		if (d->worker != NULL) {
			struct sync_worker_options wo;
			worker_options(d, &wo);
			sync_worker_set_options(d->worker, &wo);
		}
		struct pipeline_config pc = {.holdoff_ms = d->cfg.holdoff_ms,
		                             .already_used_check = d->cfg.already_used_check,
		                             .stale_grace_s = d->cfg.sync.stale_grace_s,
		                             .binding_require = d->cfg.binding_require,
		                             .binding_timeout_s = d->cfg.binding_timeout_s};
		snprintf(pc.desk_id, sizeof(pc.desk_id), "%s", d->cfg.desk_id);
		pipeline_set_config(d->pipeline, &pc);
	}
	out->config_ok = config_ok;
	out->trust_ok = pipeline_reload_trust(d->pipeline, &why) == QD_OK;
	if (!out->trust_ok) {
		log_err("reload: %s; keeping the trust data loaded before", why.text);
		snprintf(out->trust_error, sizeof(out->trust_error), "%.300s", why.text);
	} else if (config_ok)
		log_info("reloaded configuration and trust data");
	else
		log_info("reloaded trust data (configuration unchanged)");
	sd_notify(0, "READY=1");
}

static void on_hup(struct loop *loop, int signo, void *arg)
{
	(void)loop;
	(void)signo;
	reload(arg);
}

static void on_watchdog(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

/* `systemctl status qrdeskd` shows the last verdict and the counts since start. */
static void on_verdict_status(void *arg, const struct pipeline_event *ev)
{
	struct daemon *d = arg;
	const struct pipeline_counters *c = pipeline_counters(d->pipeline);
	sd_notifyf(0, "STATUS=last: #%llu %s %s from %s; %llu valid, %llu invalid, %llu review",
	           (unsigned long long)ev->seq, verdict_kind_name(ev->verdict.kind),
	           reason_code(ev->verdict.reason), ev->source,
	           (unsigned long long)c->by_kind[VERDICT_VALID],
	           (unsigned long long)c->by_kind[VERDICT_INVALID],
	           (unsigned long long)c->by_kind[VERDICT_REVIEW]);
}

/* --- kiosk ------------------------------------------------------------------------------ */

/* Publish the status and the metrics for the kiosk's HTTP threads (loop thread). */
static void kiosk_refresh(struct daemon *d)
{
	json_t *status = status_json(d);
	char *status_text = status ? json_dumps(status, JSON_COMPACT) : NULL;
	json_decref(status);

	struct metrics_source srcs[SOURCES_MAX];
	for (size_t i = 0; i < d->n_sources; i++) {
		const struct source *s = d->sources[i];
		srcs[i] = (struct metrics_source){.name = s->name,
		                                  .kind = s->ops->kind,
		                                  .running = s->status.state == SOURCE_RUNNING,
		                                  .codes = s->status.codes,
		                                  .dropped = s->status.dropped};
	}
	struct sync_worker_status st;
	memset(&st, 0, sizeof(st));
	if (d->worker != NULL)
		sync_worker_get_status(d->worker, &st);
	const struct metrics_sync ms = {.enabled = st.sync_enabled,
	                                .by_outcome = st.by_outcome,
	                                .n_outcomes = SYNC_WORKER_OUTCOMES,
	                                .last_success_at = st.last_success_at,
	                                .consecutive_failures = st.consecutive_failures,
	                                .upload_enabled = st.upload_enabled,
	                                .upload_batches = st.upload_batches,
	                                .upload_rows = st.upload_rows,
	                                .upload_failures = st.upload_failed,
	                                .upload_pending = st.upload_pending};
	const struct metrics_snapshot snap = {
	        .desk = d->cfg.desk_id,
	        .version = QRDESKD_VERSION,
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
	char *metrics_text = NULL;
	size_t metrics_len = 0;
	enum qd_err rc = metrics_render(&snap, &metrics_text, &metrics_len);
	if (status_text == NULL || rc != QD_OK)
		log_warn("kiosk: cannot build the status (no memory); the page keeps the last one");
	else if (kiosk_publish_status(d->kiosk, status_text, metrics_text) != QD_OK)
		log_warn("kiosk: cannot publish the status (no memory)");
	free(status_text);
	free(metrics_text);
}

static void on_kiosk_timer(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	kiosk_refresh(arg);
}

/* Each verdict: to the page at once; status and metrics right after this scan. */
static void on_verdict_kiosk(void *arg, const struct pipeline_event *ev)
{
	struct daemon *d = arg;
	metrics_latency_observe(&d->latency, ev->latency_us);
	if (kiosk_publish_verdict(d->kiosk, ev, d->cfg.desk_id) != QD_OK)
		log_warn("kiosk: verdict %llu not shown on the page (no memory)",
		         (unsigned long long)ev->seq);
	/* 1 ms: the timer fires once this scan (and its audit row) is done. */
	loop_timer_arm(d->kiosk_refresh, 1, KIOSK_KEEPALIVE_MS);
}

static void reload_work(struct loop *loop, void *arg)
{
	(void)loop;
	reload(arg);
}

/* A connection thread's request: the reload itself runs on the loop thread. */
static void on_kiosk_reload(void *arg)
{
	struct daemon *d = arg;
	if (loop_post(d->loop, reload_work, d) != QD_OK)
		log_err("kiosk: cannot queue the technician's reload (no memory)");
}

/*
 * Start the kiosk server.  A failure is logged and the daemon runs on
 * without it: the indicators never depend on the web page.  Only a failure
 * to set up the loop's own timer is fatal.
 */
static int open_kiosk(struct daemon *d)
{
	if (!d->cfg.kiosk_enabled) {
		log_info("kiosk: disabled in the configuration");
		return 0;
	}
	struct kiosk_config kc = {.port = (uint16_t)d->cfg.kiosk_port,
	                          .idle_ms = d->cfg.kiosk_idle_ms,
	                          .on_reload = on_kiosk_reload,
	                          .cb_arg = d};
	snprintf(kc.address, sizeof(kc.address), "%s", d->cfg.kiosk_address);
	snprintf(kc.technician_token, sizeof(kc.technician_token), "%s",
	         d->cfg.kiosk_technician_token);
	struct qd_errmsg why = {{0}};
	if (kiosk_start(&kc, &d->kiosk, &why) != QD_OK) {
		log_err("kiosk: %s; running without the kiosk page", why.text);
		d->kiosk = NULL;
		return 0;
	}
	if (loop_timer_create(d->loop, on_kiosk_timer, d, &d->kiosk_refresh) != QD_OK ||
	    pipeline_add_observer(d->pipeline, on_verdict_kiosk, d) != QD_OK) {
		log_err("kiosk: cannot attach to the loop and the pipeline");
		return -1;
	}
	kiosk_refresh(d);
	loop_timer_arm(d->kiosk_refresh, KIOSK_KEEPALIVE_MS, KIOSK_KEEPALIVE_MS);
	bool v6 = strchr(d->cfg.kiosk_address, ':') != NULL;
	log_info("kiosk: page on http://%s%s%s:%u/%s", v6 ? "[" : "", d->cfg.kiosk_address,
	         v6 ? "]" : "", (unsigned)kiosk_port(d->kiosk),
	         d->cfg.kiosk_technician_token[0] ? " (technician requests on)" : "");
	if (strcmp(d->cfg.kiosk_address, "127.0.0.1") != 0 &&
	    strcmp(d->cfg.kiosk_address, "::1") != 0)
		log_warn("kiosk: listening on %s, not loopback: other machines can see the page "
		         "and its verdicts",
		         d->cfg.kiosk_address);
	return 0;
}

/* --- the sync worker --------------------------------------------------------------------- */

/*
 * On the loop thread, after a sync or an upload round: new trust data is
 * loaded into the pipeline exactly as a reload does (between two scans), then
 * the page and metrics are refreshed.
 */
static void sync_done_work(struct loop *loop, void *arg)
{
	(void)loop;
	struct daemon *d = arg;
	if (d->worker == NULL)
		return;
	struct sync_worker_status st;
	sync_worker_get_status(d->worker, &st);
	pipeline_flush_audit(d->pipeline); /* an apply just ended: the write lock is free */
	if (st.changed != d->sync_changed_seen) {
		d->sync_changed_seen = st.changed;
		struct qd_errmsg why = {{0}};
		if (pipeline_reload_trust(d->pipeline, &why) != QD_OK)
			log_err("sync: new trust data installed but not loaded: %s", why.text);
		else
			log_info("sync: the pipeline now checks against the new trust data");
	}
	if (d->kiosk != NULL)
		kiosk_refresh(d);
}

/* On the worker thread: hand over to the loop. */
static void on_worker_notify(void *arg, const struct sync_worker_status *status)
{
	(void)status;
	struct daemon *d = arg;
	if (loop_post(d->loop, sync_done_work, d) != QD_OK)
		log_err("sync: cannot tell the loop (no memory); the next sync tries again");
}

/*
 * Start the network thread.  It runs even with sync and upload off, so a
 * reload can turn either on.  A failure is logged and the desk runs on with
 * the trust data it has: scanning never depends on the network.
 */
static void on_audit_flush(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	struct daemon *d = arg;
	pipeline_tick(d->pipeline); /* deferred audit rows; binding transactions run out */
}

static void open_worker(struct daemon *d)
{
	struct qd_errmsg why = {{0}};
	/* The loop never waits out the worker's apply: a busy store defers the audit row
	 * (pipeline_flush_audit), flushed each second and after each sync. */
	store_set_busy_timeout(d->store, 2);
	if (loop_timer_create(d->loop, on_audit_flush, d, &d->audit_flush) == QD_OK)
		loop_timer_arm(d->audit_flush, 1000, 1000);
	else
		log_warn("audit: no flush timer; deferred rows are written with the next scan");
	if (sync_global_init(&why) != QD_OK) {
		log_err("sync: %s; running without sync and upload", why.text);
		return;
	}
	d->curl_ready = true;
	struct sync_worker_options wo;
	worker_options(d, &wo);
	if (sync_worker_start(&wo, NULL, on_worker_notify, d, &d->worker, &why) != QD_OK) {
		log_err("sync: %s; running without sync and upload", why.text);
		d->worker = NULL;
		return;
	}
	if (d->cfg.sync.url[0] != '\0')
		log_info("sync: from %s every %us (+ up to %us)", d->cfg.sync.url,
		         (unsigned)d->cfg.sync.period_s, (unsigned)d->cfg.sync.jitter_s);
	else
		log_info("sync: off (no [sync] url)");
	if (d->cfg.upload.url[0] != '\0')
		log_info("upload: audit rows to %s every %us", d->cfg.upload.url,
		         (unsigned)d->cfg.upload.period_s);
}

/* --- USB sticks ----------------------------------------------------------- */

static void usb_show(struct daemon *d, enum usb_stage stage, const char *text)
{
	d->usb_stage = stage;
	snprintf(d->usb_text, sizeof(d->usb_text), "%s", text);
	d->usb_time = loop_wall_us() / 1000000;
	sd_notifyf(0, "STATUS=USB: %s", text);
	if (d->kiosk != NULL)
		kiosk_refresh(d);
}

static void on_usb_stage(void *arg, enum usb_stage stage, const char *text)
{
	usb_show(arg, stage, text);
}

static void on_usb_report(void *arg, const struct usb_report *rep)
{
	struct daemon *d = arg;
	if (rep->stage == USB_REJECTED)
		log_err("usb: %s", rep->headline);
	else
		log_info("usb: %s", rep->headline);
	/* The bundle changed the store or the drop-in: the same reload as SIGHUP. */
	if (rep->trust_changed || rep->settings_changed)
		reload(d);
	if (d->player != NULL && (rep->stage == USB_APPLIED || rep->stage == USB_REJECTED))
		indicator_player_play(d->player, rep->stage == USB_APPLIED ? PATTERN_UPDATE_OK
		                                                           : PATTERN_UPDATE_FAIL);
	usb_show(d, rep->stage, rep->headline);
}

static int open_usb(struct daemon *d)
{
	if (d->cfg.usb.mode == CONFIG_USB_OFF)
		return 0;
	struct usb_stick_config uc = {.usb = d->cfg.usb,
	                              .firmware = true,
	                              .on_stage = on_usb_stage,
	                              .on_report = on_usb_report,
	                              .arg = d};
	snprintf(uc.store, sizeof(uc.store), "%s", d->cfg.store);
	snprintf(uc.desk_id, sizeof(uc.desk_id), "%s", d->cfg.desk_id);
	struct qd_errmsg why = {{0}};
	if (usb_stick_start(d->loop, &uc, &d->usb, &why) != QD_OK) {
		/* Scanning does not depend on it: run on, say why. */
		log_err("usb: %s; USB sticks will not be noticed", why.text);
		return 0;
	}
	log_info("usb: watching for sticks (%s mode, %s)", config_usb_mode_name(d->cfg.usb.mode),
	         d->cfg.usb.mode == CONFIG_USB_AUTOMOUNT ? d->cfg.usb.watch_dir
	                                                 : d->cfg.usb.mount_dir);
	return 0;
}

/* --- start-up and shut-down ---------------------------------------------------------- */

static int open_indicators(struct daemon *d)
{
	struct qd_errmsg why = {{0}};
	enum qd_err rc;
	if (d->cfg.indicator_backend == CONFIG_INDICATOR_SIM)
		rc = indicator_sim_open(d->cfg.sim_record[0] ? d->cfg.sim_record : NULL,
		                        &d->indicators, &why);
	else
		rc = indicator_gpiod_open(&d->cfg.gpio, &d->indicators, &why);
	if (rc != QD_OK) {
		/* The desk still works: the kiosk shows the verdict; status says why. */
		log_err("indicators: %s; running without LEDs and buzzer", why.text);
		return 0;
	}
	d->indicators_open = true;
	if (indicator_player_create(d->loop, &d->indicators, &d->cfg.timing, &d->player) != QD_OK) {
		log_err("indicators: cannot create the pattern player");
		return -1;
	}
	return 0;
}

/* Start a source just created (rc is its constructor's result). */
static int add_source(struct daemon *d, enum qd_err rc, struct source *src, const char *what)
{
	if (rc != QD_OK) {
		log_err("source %s: cannot create it (%s)", what, qd_err_name(rc));
		return -1;
	}
	d->sources[d->n_sources++] = src;
	if (src->ops->start(src, d->loop) != QD_OK) {
		log_err("source %s: cannot start: %s", what, src->status.detail);
		return -1;
	}
	log_info("source %s (%s) started", src->name, src->ops->kind);
	return 0;
}

static int open_sources(struct daemon *d)
{
	struct source *src = NULL;
	enum qd_err rc;
	/* The constructor runs before add_source reads src: separate statements. */
	if (d->cfg.replay_stdin) {
		rc = source_replay_lines_fd("stdin", STDIN_FILENO, pipeline_on_code, d->pipeline,
		                            &src);
		if (add_source(d, rc, src, "stdin") != 0)
			return -1;
	}
	if (d->cfg.replay_fifo[0]) {
		rc = source_replay_lines_fifo("fifo", d->cfg.replay_fifo, pipeline_on_code,
		                              d->pipeline, &src);
		if (add_source(d, rc, src, d->cfg.replay_fifo) != 0)
			return -1;
	}
	if (d->cfg.replay_images[0]) {
		rc = source_replay_images("images", d->cfg.replay_images, pipeline_on_code,
		                          d->pipeline, &src);
		if (add_source(d, rc, src, d->cfg.replay_images) != 0)
			return -1;
	}
	if (d->cfg.serial.device[0]) {
		/* An absent scanner is not a failure: the source waits for it. */
		rc = source_serial("serial", &d->cfg.serial, pipeline_on_code, d->pipeline, &src);
		if (add_source(d, rc, src, d->cfg.serial.device) != 0)
			return -1;
	}
	if (d->cfg.hid.device[0]) {
		rc = source_hid("hid", &d->cfg.hid, pipeline_on_code, d->pipeline, &src);
		if (add_source(d, rc, src, d->cfg.hid.device) != 0)
			return -1;
	}
	if (d->cfg.camera.capture.device[0]) {
		/* Absent or stalled is not a failure: its capture thread keeps trying. */
		rc = source_camera("camera", &d->cfg.camera, pipeline_on_code, d->pipeline, &src);
		if (add_source(d, rc, src, d->cfg.camera.capture.device) != 0)
			return -1;
	}
	if (d->n_sources == 0)
		log_warn("no code source configured: only `qrdeskctl scan` will produce verdicts");
	return 0;
}

/* A device came or went: every waiting source looks again now, not at its next retry. */
static void on_hotplug(void *arg, const struct hotplug_event *ev)
{
	struct daemon *d = arg;
	d->hotplug_events++;
	d->hotplug_last_us = loop_wall_us();
	snprintf(d->hotplug_detail, sizeof(d->hotplug_detail), "%s %s %.255s",
	         hotplug_action_name(ev->action), ev->subsystem[0] ? ev->subsystem : "device",
	         ev->devnode);
	log_info("hotplug: %s", d->hotplug_detail);
	for (size_t i = 0; i < d->n_sources; i++)
		source_rescan(d->sources[i]);
}

static void open_hotplug(struct daemon *d)
{
	struct qd_errmsg why = {{0}};
	if (hotplug_start(d->loop, &d->cfg.hotplug, on_hotplug, d, &d->hotplug, &why) != QD_OK) {
		/* Not fatal: the sources still look for their devices every few seconds. */
		log_warn("hotplug: %s; devices are looked for on a timer only", why.text);
		snprintf(d->hotplug_detail, sizeof(d->hotplug_detail), "%.300s", why.text);
		return;
	}
	snprintf(d->hotplug_detail, sizeof(d->hotplug_detail), "%s",
	         d->hotplug ? "no event yet" : "off in the configuration");
	if (d->hotplug)
		log_info("hotplug: watching devices through %s",
		         hotplug_backend_name(hotplug_backend_in_use(d->hotplug)));
}

static void shutdown_all(struct daemon *d)
{
	hotplug_stop(d->hotplug);
	/* First: the worker may be mid-transfer (aborted) and posts to the loop. */
	sync_worker_stop(d->worker);
	d->worker = NULL;
	loop_timer_destroy(d->audit_flush);
	if (d->curl_ready)
		sync_global_cleanup();
	for (size_t i = d->n_sources; i-- > 0;) {
		d->sources[i]->ops->stop(d->sources[i]);
		d->sources[i]->ops->destroy(d->sources[i]);
	}
	usb_stick_stop(d->usb);
	kiosk_stop(d->kiosk); /* its threads read only its own copies: safe at any point */
	loop_timer_destroy(d->kiosk_refresh);
	control_close(d->control);
	pipeline_destroy(d->pipeline);
	indicator_player_destroy(d->player); /* stops the pattern: all off */
	if (d->indicators_open)
		indicator_close(&d->indicators);
	loop_timer_destroy(d->watchdog);
	store_close(d->store); /* every audit row was committed with its verdict */
	loop_destroy(d->loop);
}

static int run(struct daemon *d)
{
	struct qd_errmsg why = {{0}};
	if (signature_init() != QD_OK) {
		log_err("cannot initialise the crypto library");
		return 1;
	}
	if (loop_create(&d->loop) != QD_OK) {
		log_err("cannot create the event loop");
		return 1;
	}
	d->started_us = loop_now_us();
	if (store_open(d->cfg.store, STORE_OPEN_CREATE, &d->store, &why) != QD_OK) {
		log_err("store: %s", why.text);
		return 1;
	}
	/* An unprovisioned desk still runs (a technician may be about to import), but it
	 * can only say red: say so once, loudly, rather than let every card look forged. */
	size_t n_roots = 0;
	struct trust_key root;
	if (store_roots_load(d->store, &root, 1, &n_roots) == QD_OK && n_roots == 0)
		log_warn("store %s has no root key: every card will be refused until it is "
		         "provisioned (qrdeskctl provision, then import)",
		         d->cfg.store);
	if (open_indicators(d) != 0)
		return 1;
	struct pipeline_config pc = {.holdoff_ms = d->cfg.holdoff_ms,
	                             .already_used_check = d->cfg.already_used_check,
	                             .stale_grace_s = d->cfg.sync.stale_grace_s,
	                             .binding_require = d->cfg.binding_require,
	                             .binding_timeout_s = d->cfg.binding_timeout_s};
	snprintf(pc.desk_id, sizeof(pc.desk_id), "%s", d->cfg.desk_id);
	if (pipeline_create(&pc, d->store, d->player, &d->pipeline, &why) != QD_OK) {
		log_err("pipeline: %s", why.text);
		return 1;
	}
	if (load_audit_key(d) != 0)
		return 1;
	if (pipeline_add_observer(d->pipeline, on_verdict_status, d) != QD_OK) {
		log_err("pipeline: cannot add the status observer");
		return 1;
	}
	gid_t group = (gid_t)-1;
	if (d->cfg.control_group[0]) {
		struct group *g = getgrnam(d->cfg.control_group);
		if (g == NULL) {
			log_err("control_group %s: no such group", d->cfg.control_group);
			return 1;
		}
		group = g->gr_gid;
	}
	if (control_open(d->loop, d->cfg.control_socket, group, on_control, d, &d->control, &why) !=
	    QD_OK) {
		log_err("control socket: %s", why.text);
		return 1;
	}
	if (loop_add_signal(d->loop, SIGTERM, on_stop_signal, d) != QD_OK ||
	    loop_add_signal(d->loop, SIGINT, on_stop_signal, d) != QD_OK ||
	    loop_add_signal(d->loop, SIGHUP, on_hup, d) != QD_OK) {
		log_err("cannot set up signal handling");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (open_kiosk(d) != 0)
		return 1;
	if (open_sources(d) != 0)
		return 1;
	open_hotplug(d);
	open_worker(d);
	if (open_usb(d) != 0)
		return 1;
	uint64_t watchdog_us = 0;
	if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0) {
		if (loop_timer_create(d->loop, on_watchdog, d, &d->watchdog) != QD_OK)
			return 1;
		loop_timer_arm(d->watchdog, watchdog_us / 2000, watchdog_us / 2000);
	}
	const struct trust_view *tv = pipeline_trust(d->pipeline);
	sd_notifyf(0, "READY=1\nSTATUS=desk %s: key set v%llu, revocations v%llu", d->cfg.desk_id,
	           (unsigned long long)tv->keyset.version,
	           (unsigned long long)tv->revocations.version);
	log_info("qrdeskd %s ready: desk %s, store %s, control %s", QRDESKD_VERSION, d->cfg.desk_id,
	         d->cfg.store, d->cfg.control_socket);
	if (loop_run(d->loop) != QD_OK) {
		log_err("event loop failed: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* --- command line -------------------------------------------------------------------- */

/* p made absolute from the working directory (p itself if it is, or if the
 * result would not fit: the configuration check then says what is wrong). */
static const char *absolute_path(const char *p, char *buf, size_t size)
{
	if (p[0] == '/' || p[0] == '\0' || getcwd(buf, size) == NULL)
		return p;
	size_t n = strlen(buf);
	int w = snprintf(buf + n, size - n, "%s%s", n > 0 && buf[n - 1] == '/' ? "" : "/", p);
	return w < 0 || (size_t)w >= size - n ? p : buf;
}

static void print_config_line(const char *line)
{
	fprintf(stderr, "%s\n", line);
}

static enum qd_err compose_config(const struct daemon *d, struct config *out,
                                  struct config_errors *errs, struct qd_errmsg *why);

/*
 * The configuration a start runs (compose_config), for the start itself and
 * for --check-config and --unit-devices, so all three agree.  Prints what is
 * wrong; returns the exit code, or 0.
 */
static int compose_or_report(const struct daemon *d, struct config *cfg)
{
	struct config_errors errs = {0};
	struct qd_errmsg why = {{0}};
	enum qd_err rc = compose_config(d, cfg, &errs, &why);
	if (rc == QD_OK)
		return 0;
	if (rc == QD_ERR_NOT_FOUND || rc == QD_ERR_IO)
		fprintf(stderr, "qrdeskd: %s: cannot read it\n",
		        errs.file[0] ? errs.file : d->config_path);
	else if (errs.count > 0)
		config_errors_print(&errs, print_config_line);
	else
		fprintf(stderr, "qrdeskd: %s\n", why.text);
	return rc == QD_ERR_ARG ? 64 : rc == QD_ERR_FORMAT ? 78 : 66;
}

static int check_config(const struct daemon *d)
{
	struct config cfg;
	int status = compose_or_report(d, &cfg);
	if (status == 0)
		printf("%s: OK\n", d->config_path);
	return status;
}

/*
 * Print a systemd drop-in that lets the unit open exactly the devices this
 * configuration uses (the shipped unit allows only the GPIO chips).
 */
static int print_unit_devices(const struct daemon *d)
{
	struct config cfg;
	int status = compose_or_report(d, &cfg);
	if (status != 0)
		return status;
	const char *path = d->config_path;
	printf("# Drop-in for qrdeskd.service, made by `qrdeskd --unit-devices %s`:\n"
	       "# the devices this desk's configuration uses, and no others.\n"
	       "[Service]\nDeviceAllow=\n",
	       path);
	if (cfg.indicator_backend == CONFIG_INDICATOR_GPIOD) {
		const char *chip = cfg.gpio.chip;
		if (chip[0] == '/')
			printf("DeviceAllow=%s rw\n", chip);
		else if (strncmp(chip, "gpiochip", 8) == 0)
			printf("DeviceAllow=/dev/%s rw\n", chip);
		else /* a label: its /dev node is only known at run time */
			printf("DeviceAllow=char-gpiochip rw\n");
	}
	if (cfg.serial.device[0] != '\0') {
		if (strncmp(cfg.serial.device, "/dev/tty", 8) == 0)
			printf("DeviceAllow=%s rw\n", cfg.serial.device);
		else /* a /dev/serial/by-id link: the node behind it may change on re-plug */
			printf("DeviceAllow=char-ttyACM rw\nDeviceAllow=char-ttyUSB rw\n");
	}
	if (cfg.hid.device[0] != '\0') /* event node numbers change on re-plug */
		printf("DeviceAllow=char-input r\n");
	if (cfg.camera.capture.device[0] != '\0') /* /dev/videoN changes on re-plug too */
		printf("DeviceAllow=char-video4linux rw\n");
	if (cfg.usb.mode == CONFIG_USB_UDEV) /* USB sticks: SCSI disks, read by mount(2) */
		printf("DeviceAllow=block-sd r\n");
	return 0;
}

/* What demo mode sets, over the file (if any) and under the command line. */
static void demo_apply(struct config *c, const char *dir)
{
	snprintf(c->desk_id, sizeof(c->desk_id), "DEMO-1");
	snprintf(c->store, sizeof(c->store), "%s/desk.db", dir);
	snprintf(c->control_socket, sizeof(c->control_socket), "%s/control.sock", dir);
	c->indicator_backend = CONFIG_INDICATOR_SIM;
	snprintf(c->sim_record, sizeof(c->sim_record), "%s/indicators.log", dir);
	c->replay_stdin = true;
	snprintf(c->replay_images, sizeof(c->replay_images), "%s/inbox", dir);
}

/*
 * The configuration the daemon runs: defaults, then the file, then demo
 * settings, then the command line - the same steps at start and on reload,
 * so a reload never forgets a command-line override.  QD_ERR_NOT_FOUND or
 * QD_ERR_IO: the file cannot be read; QD_ERR_FORMAT: errs says what is
 * wrong; QD_ERR_ARG: a command-line value is bad (why says which).
 */
static enum qd_err compose_config(const struct daemon *d, struct config *out,
                                  struct config_errors *errs, struct qd_errmsg *why)
{
	config_defaults(out);
	if (d->config_path != NULL) {
		enum qd_err rc = config_load(d->config_path, out, errs);
		if (rc != QD_OK) {
			if (errs->count == 0)
				qd_errmsg_set(why, "%s: cannot read it", d->config_path);
			return rc;
		}
	}
	/* Settings made by USB bundles, over the file (docs/usb-bundle.md). */
	enum qd_err drc = config_load_dropin(out->usb.dropin, out, errs);
	if (drc != QD_OK) {
		if (errs->count == 0)
			qd_errmsg_set(why, "%s: cannot read it", out->usb.dropin);
		return drc;
	}
	if (d->demo)
		demo_apply(out, d->demo_dir);
	for (int opt = OPT_STORE; opt <= OPT_LEVEL; opt++) {
		struct qd_errmsg bad = {{0}};
		if (d->overrides[opt] != NULL &&
		    config_set(out, "desk", override_keys[opt], d->overrides[opt], &bad) != QD_OK) {
			qd_errmsg_set(why, "%s: %s", override_options[opt], bad.text);
			return QD_ERR_ARG;
		}
	}
	return config_validate(out, errs);
}

int main(int argc, char **argv)
{
	static struct daemon d; /* large; static keeps it off the stack */
	config_defaults(&d.cfg);
	log_init("qrdeskd", LOG_STYLE_JOURNAL, LOG_INFO);
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check-config", optional_argument, NULL, OPT_CHECK},
	        {"unit-devices", optional_argument, NULL, OPT_UNIT_DEVICES},
	        {"demo", no_argument, NULL, OPT_DEMO},
	        {"demo-dir", required_argument, NULL, OPT_DEMO_DIR},
	        {"store", required_argument, NULL, OPT_STORE},
	        {"socket", required_argument, NULL, OPT_SOCKET},
	        {"desk", required_argument, NULL, OPT_DESK},
	        {"log-level", required_argument, NULL, OPT_LEVEL},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0}};
	d.demo_dir = "qrdesk-demo";
	int c, mode = 0;
	const char *mode_path = NULL;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case OPT_CHECK:
		case OPT_UNIT_DEVICES:
			/* Accept "--check-config FILE" as well as "--check-config=FILE".
			 * Done after every option is read: the overrides count too. */
			mode = c;
			mode_path = optarg;
			if (mode_path == NULL && optind < argc && argv[optind][0] != '-')
				mode_path = argv[optind++];
			break;
		case OPT_DEMO:
			d.demo = true;
			break;
		case OPT_DEMO_DIR:
			d.demo_dir = optarg;
			break;
		case OPT_STORE:
		case OPT_SOCKET:
		case OPT_DESK:
		case OPT_LEVEL:
			d.overrides[c] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("qrdeskd %s\n", QRDESKD_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 64;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "qrdeskd: unexpected argument %s\n", argv[optind]);
		return 64;
	}
	/* Paths given on the command line are taken from where it was typed; the
	 * configuration itself takes absolute paths only. */
	static char abs_paths[OPT_LEVEL + 1][PATH_MAX], abs_demo[PATH_MAX];
	for (int opt = OPT_STORE; opt <= OPT_SOCKET; opt++)
		if (d.overrides[opt] != NULL)
			d.overrides[opt] =
			        absolute_path(d.overrides[opt], abs_paths[opt], PATH_MAX);
	d.demo_dir = absolute_path(d.demo_dir, abs_demo, sizeof(abs_demo));
	if (mode != 0) {
		d.config_path = mode_path != NULL       ? mode_path
		                : d.config_path != NULL ? d.config_path
		                                        : CONFIG_DEFAULT_PATH;
		return mode == OPT_CHECK ? check_config(&d) : print_unit_devices(&d);
	}
	if (!d.demo && d.config_path == NULL && access(CONFIG_DEFAULT_PATH, R_OK) == 0)
		d.config_path = CONFIG_DEFAULT_PATH;
	if (d.demo) {
		/* The desk ships no signing code: the back office's tool made the demo data. */
		char db[PATH_MAX + 16];
		snprintf(db, sizeof(db), "%s/desk.db", d.demo_dir);
		if (access(db, R_OK) != 0) {
			log_err("demo: no demo trust data in %s (make it with: qrdesk-issuer demo "
			        "%s)",
			        d.demo_dir, d.demo_dir);
			return 1;
		}
	}
	int bad = compose_or_report(&d, &d.cfg);
	if (bad != 0)
		return bad;
	log_init("qrdeskd", LOG_STYLE_JOURNAL, d.cfg.log_level);
	int status = run(&d);
	shutdown_all(&d);
	if (status == 0)
		log_info("stopped");
	return status;
}
