/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_kiosk.c - the kiosk page, its event stream, /api/status and
 * /metrics (kiosk.h).  A kiosk that cannot bind is logged and the desk runs
 * on without it: the indicators never depend on the web page.
 */
#include "desk.h"

#include <pwd.h>
#include <string.h>

#include "desk_status.h"
#include "qrdesk/kiosk.h"
#include "qrdesk/log.h"
#include "qrdesk/pipeline.h"

static const struct desk_key keys[] = {
        {"kiosk", "idle_ms", DESK_KEY_LIVE},
        {"kiosk", NULL, DESK_KEY_RESTART}, /* enabled, address, port, technician_token, display_* */
        {NULL, NULL, 0},
};

/* Each verdict to the page at once (serialised once, here); the status follows at the cron. */
static void on_verdict(void *arg, const struct pipeline_event *ev)
{
	struct desk *d = arg;
	if (kiosk_publish_verdict(d->kiosk, ev, d->cfg.desk_id) != QD_OK)
		log_warn("kiosk: verdict %llu not shown on the page (no memory)",
		         (unsigned long long)ev->seq);
}

static void reload_work(struct loop *loop, void *arg)
{
	(void)loop;
	desk_reload(arg);
}

/* A connection thread's request: the reload itself runs on the loop thread. */
static void on_kiosk_reload(void *arg)
{
	struct desk *d = arg;
	if (loop_post(d->loop, reload_work, d) != QD_OK)
		log_err("kiosk: cannot queue the technician's reload (no memory)");
}

static int open_kiosk(struct desk *d)
{
	if (!d->cfg.kiosk_enabled) {
		log_info("kiosk: disabled in the configuration");
		return 0;
	}
	struct kiosk_config kc = {.port = (uint16_t)d->cfg.kiosk_port,
	                          .idle_ms = d->cfg.kiosk_idle_ms,
	                          .on_reload = on_kiosk_reload,
	                          .cb_arg = d,
	                          .on_status_read = desk_status_freshen,
	                          .status_arg = d->status};
	snprintf(kc.address, sizeof(kc.address), "%s", d->cfg.kiosk_address);
	snprintf(kc.technician_token, sizeof(kc.technician_token), "%s",
	         d->cfg.kiosk_technician_token);
	if (d->cfg.kiosk_display_port != 0) {
		/* The kiosk browser's user, by name: its uid is what the kernel reports. */
		const struct passwd *pw = getpwnam(d->cfg.kiosk_display_user);
		if (pw == NULL)
			log_err("kiosk: display_user %s: no such user; no display listener, the "
			        "display shares the kiosk's port",
			        d->cfg.kiosk_display_user);
		kc.display = pw != NULL;
		kc.display_port = (uint16_t)d->cfg.kiosk_display_port;
		kc.display_uid = pw != NULL ? (uint32_t)pw->pw_uid : 0;
	}
	struct qd_errmsg why = {{0}};
	if (kiosk_start(&kc, &d->kiosk, &why) != QD_OK) {
		log_err("kiosk: %s; running without the kiosk page", why.text);
		d->kiosk = NULL;
		return 0;
	}
	if (pipeline_add_observer(d->pipeline, on_verdict, d) != QD_OK) {
		log_err("kiosk: cannot attach to the pipeline");
		return -1;
	}
	bool v6 = strchr(d->cfg.kiosk_address, ':') != NULL;
	log_info("kiosk: page on http://%s%s%s:%u/%s", v6 ? "[" : "", d->cfg.kiosk_address,
	         v6 ? "]" : "", (unsigned)kiosk_port(d->kiosk),
	         d->cfg.kiosk_technician_token[0] ? " (technician requests on)" : "");
	if (kc.display)
		log_info("kiosk: the display's own page on http://127.0.0.1:%u/ (user %s only)",
		         (unsigned)kiosk_display_port(d->kiosk), d->cfg.kiosk_display_user);
	if (strcmp(d->cfg.kiosk_address, "127.0.0.1") != 0 &&
	    strcmp(d->cfg.kiosk_address, "::1") != 0)
		log_warn("kiosk: listening on %s, not loopback: other machines can see the page "
		         "and its verdicts",
		         d->cfg.kiosk_address);
	return 0;
}

static void reload_kiosk(struct desk *d)
{
	if (d->kiosk != NULL)
		kiosk_set_idle_ms(d->kiosk, d->cfg.kiosk_idle_ms);
}

static void close_kiosk(struct desk *d)
{
	kiosk_stop(d->kiosk); /* its threads read only its own copies: safe at any point */
	d->kiosk = NULL;
}

static void status_kiosk(struct desk *d, json_t *obj, int64_t now)
{
	(void)now;
	json_object_set_new(
	        obj, "kiosk",
	        json_pack("{s:b, s:s, s:I, s:I, s:I, s:b, s:I}", "enabled", d->kiosk != NULL,
	                  "address", d->cfg.kiosk_address, "port", (json_int_t)d->cfg.kiosk_port,
	                  "idle_ms", (json_int_t)d->cfg.kiosk_idle_ms, "min_show_ms",
	                  (json_int_t)d->cfg.min_show_ms, "technician",
	                  d->cfg.kiosk_technician_token[0] != '\0', "display_port",
	                  (json_int_t)(d->kiosk != NULL ? kiosk_display_port(d->kiosk) : 0)));
}

const struct desk_part desk_part_kiosk = {
        .name = "kiosk",
        .keys = keys,
        .open = open_kiosk,
        .reload = reload_kiosk,
        .close = close_kiosk,
        .status = status_kiosk,
};
