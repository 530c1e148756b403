/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_control.c - how the desk is told what to do: the control socket
 * (qrdeskctl: status, reload, sync, scan) and the signals (SIGTERM and
 * SIGINT stop, SIGHUP reloads).  Every request is answered on the loop
 * thread, between two scans.
 */
#include "desk.h"

#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "desk_status.h"
#include "qrdesk/control.h"
#include "qrdesk/log.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/source.h"
#include "qrdesk/verdict_event.h"

_Static_assert(DESK_HELD_REPLIES_MAX == CONTROL_CLIENTS_MAX, "a held reply per client");

static const struct desk_key keys[] = {
        {"desk", "control_socket", DESK_KEY_RESTART},
        {"desk", "control_group", DESK_KEY_RESTART},
        {NULL, NULL, 0},
};

static char *error_reply(const char *code, const char *message)
{
	json_t *obj = json_pack("{s:s, s:s}", "error", code, "message", message);
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	return text;
}

static json_t *reload_reply(struct desk *d)
{
	desk_reload(d);
	const struct desk_reload *r = &d->last_reload;
	/* Say what was refused: "reloaded" alone would hide a broken file. */
	return json_pack("{s:b, s:b, s:s, s:b, s:s}", "reloaded", r->config_ok && r->trust_ok,
	                 "config_ok", r->config_ok, "config_error", r->config_error, "trust_ok",
	                 r->trust_ok, "trust_error", r->trust_error);
}

static json_t *scan_reply(struct desk *d, json_t *code, bool full)
{
	size_t n = json_string_length(code);
	if (n > SOURCE_TEXT_MAX)
		n = SOURCE_TEXT_MAX;
	uint64_t accepted = pipeline_counters(d->pipeline)->binding_accepted;
	const struct pipeline_event *ev =
	        pipeline_submit(d->pipeline, "control", json_string_value(code), n, loop_now_us());
	if (ev == NULL && pipeline_counters(d->pipeline)->binding_accepted != accepted)
		/* A traveller's document taken: the verdict comes with the last. */
		return json_pack("{s:b}", "accepted", true);
	if (ev == NULL)
		return json_pack("{s:b}", "duplicate", true);
	/* The reply promises the verdict's row is on disk: held until the writer says so. */
	if (ev->audit_ticket != 0 && !pipeline_audit_durable(d->pipeline, ev->audit_ticket) &&
	    d->n_held_replies < DESK_HELD_REPLIES_MAX) {
		uint64_t token = control_hold_reply(d->control);
		if (token != 0)
			d->held_replies[d->n_held_replies++] =
			        (struct desk_held_reply){token, ev->audit_ticket};
	}
	json_t *reply = verdict_event_json(ev, d->cfg.desk_id, VERDICT_JSON_FULL);
	/* As the kiosk shows it, unless the technician asks (--full). */
	json_t *claims = json_object_get(reply, "claims");
	const char *pp = json_string_value(json_object_get(claims, "passport_no"));
	if (pp != NULL && !full) {
		char masked[17];
		verdict_mask_passport(pp, masked);
		json_object_set_new(claims, "passport_no", json_string(masked));
	}
	return reply;
}

static char *on_control(void *arg, const char *request, size_t len)
{
	struct desk *d = arg;
	json_error_t jerr;
	json_t *req = json_loadb(request, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *cmd = req ? json_string_value(json_object_get(req, "cmd")) : NULL;
	json_t *reply = NULL;
	char *text = NULL;
	if (cmd == NULL) {
		text = error_reply("bad-request", "expected {\"cmd\": ...}");
	} else if (strcmp(cmd, "status") == 0) {
		text = desk_status_now(d->status); /* a technician asks: as of now */
		if (text == NULL)
			text = error_reply("internal", "no memory");
	} else if (strcmp(cmd, "reload") == 0) {
		reply = reload_reply(d);
	} else if (strcmp(cmd, "sync") == 0) {
		/* The sync runs on the worker; the reply names the run to wait for in status. */
		uint64_t run = d->worker != NULL ? sync_worker_request(d->worker) : 0;
		if (run == 0)
			text = error_reply("sync-off", "no [sync] url is configured");
		else
			reply = json_pack("{s:I}", "run", (json_int_t)run);
	} else if (strcmp(cmd, "scan") == 0) {
		json_t *code = json_object_get(req, "code");
		if (!json_is_string(code))
			text = error_reply("bad-request", "scan needs \"code\"");
		else
			reply = scan_reply(d, code, json_is_true(json_object_get(req, "full")));
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

void desk_release_replies(struct desk *d)
{
	size_t kept = 0;
	for (size_t i = 0; i < d->n_held_replies; i++) {
		struct desk_held_reply *h = &d->held_replies[i];
		if (d->control != NULL && !pipeline_audit_durable(d->pipeline, h->ticket))
			d->held_replies[kept++] = *h;
		else
			control_release(d->control, h->token);
	}
	d->n_held_replies = kept;
}

static void on_stop_signal(struct loop *loop, int signo, void *arg)
{
	(void)arg;
	log_info("signal %d: shutting down", signo);
	sd_notify(0, "STOPPING=1");
	loop_stop(loop);
}

static void on_hup(struct loop *loop, int signo, void *arg)
{
	(void)loop;
	(void)signo;
	desk_reload(arg);
}

static int open_control(struct desk *d)
{
	gid_t group = (gid_t)-1;
	if (d->cfg.control_group[0]) {
		struct group *g = getgrnam(d->cfg.control_group);
		if (g == NULL) {
			log_err("control_group %s: no such group", d->cfg.control_group);
			return -1;
		}
		group = g->gr_gid;
	}
	struct qd_errmsg why = {{0}};
	if (control_open(d->loop, d->cfg.control_socket, group, on_control, d, &d->control, &why) !=
	    QD_OK) {
		log_err("control socket: %s", why.text);
		return -1;
	}
	if (loop_add_signal(d->loop, SIGTERM, on_stop_signal, d) != QD_OK ||
	    loop_add_signal(d->loop, SIGINT, on_stop_signal, d) != QD_OK ||
	    loop_add_signal(d->loop, SIGHUP, on_hup, d) != QD_OK) {
		log_err("cannot set up signal handling");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void close_control(struct desk *d)
{
	control_close(d->control);
	d->control = NULL;
	d->n_held_replies = 0;
}

const struct desk_part desk_part_control = {
        .name = "control",
        .keys = keys,
        .open = open_control,
        .close = close_control,
};
