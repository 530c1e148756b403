/* SPDX-License-Identifier: Apache-2.0 */
/*
 * desk.c - the table of desk parts and the walks over it (see desk.h).
 *
 * Start-up order, and why: the store first (every other part reads it);
 * the firmware part next (the last update's audit row, before any scan's);
 * indicators before the pipeline (it plays their patterns); the control
 * socket and the signals once there is something to control; the kiosk
 * before the sources (its pipeline observer sees the first scan); hot-plug,
 * the sync worker and the upload; USB sticks; the code sources last, so a
 * scanner is opened only when everything it feeds is ready.  Shut-down is
 * the same walk backwards: no source delivers into a closed pipeline, and
 * the store is closed after every part that writes to it.
 */
#include "desk.h"

#include <errno.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "desk_status.h"
#include "qrdesk/log.h"
#include "qrdesk/pipeline.h"
#include "qrdesk/signature.h"

const struct desk_part *const desk_parts[] = {
        &desk_part_desk,    &desk_part_firmware, &desk_part_indicators, &desk_part_pipeline,
        &desk_part_control, &desk_part_kiosk,    &desk_part_hotplug,    &desk_part_sync,
        &desk_part_upload,  &desk_part_usb,      &desk_part_sources,
};
const size_t desk_parts_count = sizeof(desk_parts) / sizeof(desk_parts[0]);

static bool part_owns(const struct desk_part *p, const char *section, const char *name,
                      enum desk_key_when *when)
{
	if (p->owns != NULL && p->owns(section, name, when))
		return true;
	for (const struct desk_key *k = p->keys; k != NULL && k->section != NULL; k++)
		if (strcmp(k->section, section) == 0 &&
		    (k->name == NULL || strcmp(k->name, name) == 0)) {
			*when = k->when;
			return true;
		}
	return false;
}

const struct desk_part *desk_key_owner(const char *section, const char *name,
                                       enum desk_key_when *when)
{
	for (size_t i = 0; i < desk_parts_count; i++)
		if (part_owns(desk_parts[i], section, name, when))
			return desk_parts[i];
	return NULL;
}

/* --- start-up and shut-down ------------------------------------------------------------ */

static void on_watchdog(struct loop *loop, struct loop_timer *timer, void *arg)
{
	(void)loop;
	(void)timer;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

int desk_run(struct desk *d)
{
	if (signature_init() != QD_OK) {
		log_err("cannot initialise the crypto library");
		return 1;
	}
	if (loop_create(&d->loop) != QD_OK) {
		log_err("cannot create the event loop");
		return 1;
	}
	d->started_us = loop_now_us();
	if (desk_status_create(d, &d->status) != QD_OK) {
		log_err("cannot set up the status");
		return 1;
	}
	for (size_t i = 0; i < desk_parts_count; i++)
		if (desk_parts[i]->open(d) != 0)
			return 1;
	uint64_t watchdog_us = 0;
	if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0) {
		if (loop_timer_create(d->loop, on_watchdog, d, &d->watchdog) != QD_OK)
			return 1;
		loop_timer_arm(d->watchdog, watchdog_us / 2000, watchdog_us / 2000);
	}
	desk_status_start(d->status);
	const struct trust_view *tv = pipeline_trust(d->pipeline);
	sd_notifyf(0, "READY=1\nSTATUS=desk %s: key set v%llu, revocations v%llu", d->cfg.desk_id,
	           (unsigned long long)tv->keyset.version,
	           (unsigned long long)tv->revocations.version);
	log_info("qrdeskd %s ready: desk %s, store %s, control %s", DESK_VERSION, d->cfg.desk_id,
	         d->cfg.store, d->cfg.control_socket);
	if (loop_run(d->loop) != QD_OK) {
		log_err("event loop failed: %s", strerror(errno));
		return 1;
	}
	return 0;
}

void desk_close(struct desk *d)
{
	loop_timer_destroy(d->watchdog);
	d->watchdog = NULL;
	for (size_t i = desk_parts_count; i-- > 0;)
		if (desk_parts[i]->close != NULL)
			desk_parts[i]->close(d);
	desk_status_destroy(d->status);
	d->status = NULL;
	loop_destroy(d->loop);
	d->loop = NULL;
}

/* --- reload ------------------------------------------------------------------------------ */

void desk_changed_restart_keys(const struct config *run, const struct config *fresh,
                               void (*fn)(void *arg, const char *key), void *arg)
{
	for (size_t i = 0; i < config_key_count(); i++) {
		const char *section, *name;
		config_key_at(i, &section, &name);
		enum desk_key_when when = 0;
		if (desk_key_owner(section, name, &when) == NULL || when != DESK_KEY_RESTART ||
		    config_key_same(run, fresh, i))
			continue;
		char key[96];
		snprintf(key, sizeof(key), "[%s] %s", section, name);
		fn(arg, key);
	}
}

static void warn_restart(void *arg, const char *key)
{
	(void)arg;
	log_warn("reload: %s changed: it takes effect at the next restart", key);
}

/* The live keys of fresh into the running configuration; the restart keys stay. */
static void take_live_keys(struct config *run, const struct config *fresh)
{
	for (size_t i = 0; i < config_key_count(); i++) {
		const char *section, *name;
		config_key_at(i, &section, &name);
		enum desk_key_when when = 0;
		if (desk_key_owner(section, name, &when) != NULL && when == DESK_KEY_LIVE)
			config_key_copy(run, fresh, i);
	}
}

static void config_failed(struct desk_reload *out, const struct config_errors *errs,
                          const struct qd_errmsg *why)
{
	log_err("reload: the configuration has errors; keeping the running one");
	for (size_t i = 0; i < errs->count && i < CONFIG_ERRORS_MAX; i++)
		log_err("%s:%d: %s", errs->file, errs->items[i].line, errs->items[i].message);
	if (errs->count == 0)
		log_err("reload: %s", why->text);
	if (errs->count > 0)
		snprintf(out->config_error, sizeof(out->config_error), "%.180s:%d: %.180s%s",
		         errs->file, errs->items[0].line, errs->items[0].message,
		         errs->count > 1 ? " (and more: see the log)" : "");
	else
		snprintf(out->config_error, sizeof(out->config_error), "%.380s", why->text);
}

void desk_reload(struct desk *d)
{
	struct desk_reload *out = &d->last_reload;
	memset(out, 0, sizeof(*out));
	sd_notify(0, "RELOADING=1");
	struct qd_errmsg why = {{0}};
	struct config *fresh = &d->reload_cfg;
	struct config_errors errs = {0};
	out->config_ok = d->compose(d->compose_arg, fresh, &errs, &why) == QD_OK;
	if (!out->config_ok) {
		config_failed(out, &errs, &why);
	} else {
		desk_changed_restart_keys(&d->cfg, fresh, warn_restart, NULL);
		take_live_keys(&d->cfg, fresh);
		for (size_t i = 0; i < desk_parts_count; i++)
			if (desk_parts[i]->reload != NULL)
				desk_parts[i]->reload(d);
	}
	out->trust_ok = pipeline_reload_trust(d->pipeline, &why) == QD_OK;
	if (!out->trust_ok) {
		log_err("reload: %s; keeping the trust data loaded before", why.text);
		snprintf(out->trust_error, sizeof(out->trust_error), "%.300s", why.text);
	} else if (out->config_ok)
		log_info("reloaded configuration and trust data");
	else
		log_info("reloaded trust data (configuration unchanged)");
	desk_status_dirty(d->status);
	sd_notify(0, "READY=1");
}

/* --- the unit's devices and the status ------------------------------------------------------ */

void desk_unit_devices(const struct config *cfg, const char *path, FILE *out)
{
	fprintf(out,
	        "# Drop-in for qrdeskd.service, made by `qrdeskd --unit-devices %s`:\n"
	        "# the devices this desk's configuration uses, and no others.\n"
	        "[Service]\nDeviceAllow=\n",
	        path);
	for (size_t i = 0; i < desk_parts_count; i++)
		if (desk_parts[i]->devices != NULL)
			desk_parts[i]->devices(cfg, out);
}

json_t *desk_status_build(struct desk *d)
{
	json_t *obj = json_object();
	if (obj == NULL)
		return NULL;
	int64_t now = loop_wall_us() / 1000000;
	for (size_t i = 0; i < desk_parts_count; i++)
		if (desk_parts[i]->status != NULL)
			desk_parts[i]->status(d, obj, now);
	return obj;
}
