/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_hotplug.c - devices coming and going (hotplug.h): each event makes
 * every waiting source look for its device at once, not at its next retry.
 * Not fatal when it cannot start: the sources still look on their timers.
 */
#include "desk.h"

#include "desk_status.h"
#include "qrdesk/hotplug.h"
#include "qrdesk/log.h"
#include "qrdesk/source.h"

static const struct desk_key keys[] = {
        {"hotplug", NULL, DESK_KEY_RESTART},
        {NULL, NULL, 0},
};

static void on_hotplug(void *arg, const struct hotplug_event *ev)
{
	struct desk *d = arg;
	d->hotplug_events++;
	d->hotplug_last_us = loop_wall_us();
	snprintf(d->hotplug_detail, sizeof(d->hotplug_detail), "%s %s %.255s",
	         hotplug_action_name(ev->action), ev->subsystem[0] ? ev->subsystem : "device",
	         ev->devnode);
	log_info("hotplug: %s", d->hotplug_detail);
	for (size_t i = 0; i < d->n_sources; i++)
		source_rescan(d->sources[i]);
	desk_status_dirty(d->status);
}

static int open_hotplug(struct desk *d)
{
	struct qd_errmsg why = {{0}};
	if (hotplug_start(d->loop, &d->cfg.hotplug, on_hotplug, d, &d->hotplug, &why) != QD_OK) {
		/* Not fatal: the sources still look for their devices every few seconds. */
		log_warn("hotplug: %s; devices are looked for on a timer only", why.text);
		snprintf(d->hotplug_detail, sizeof(d->hotplug_detail), "%.300s", why.text);
		return 0;
	}
	snprintf(d->hotplug_detail, sizeof(d->hotplug_detail), "%s",
	         d->hotplug ? "no event yet" : "off in the configuration");
	if (d->hotplug)
		log_info("hotplug: watching devices through %s",
		         hotplug_backend_name(hotplug_backend_in_use(d->hotplug)));
	return 0;
}

static void close_hotplug(struct desk *d)
{
	hotplug_stop(d->hotplug);
	d->hotplug = NULL;
}

static void status_hotplug(struct desk *d, json_t *obj, int64_t now)
{
	(void)now;
	json_object_set_new(obj, "hotplug",
	                    json_pack("{s:s, s:I, s:s, s:I}", "backend",
	                              hotplug_backend_name(hotplug_backend_in_use(d->hotplug)),
	                              "events", (json_int_t)d->hotplug_events, "detail",
	                              d->hotplug_detail, "last_at",
	                              (json_int_t)(d->hotplug_last_us / 1000000)));
}

const struct desk_part desk_part_hotplug = {
        .name = "hotplug",
        .keys = keys,
        .open = open_hotplug,
        .close = close_hotplug,
        .status = status_hotplug,
};
