/* SPDX-License-Identifier: Apache-2.0 */
/*
 * part_usb.c - a technician's USB stick (usb_stick.h, docs/usb-bundle.md):
 * its progress is shown in the status, its outcome on the indicators; a
 * bundle that changed the trust data or the settings is followed by the same
 * reload as SIGHUP.  Scanning does not depend on it: a watcher that cannot
 * start is logged and the desk runs on.
 */
#include "desk.h"

#include "desk_status.h"
#include "qrdesk/indicator.h"
#include "qrdesk/log.h"
#include "qrdesk/usb_stick.h"

static const struct desk_key keys[] = {
        {"usb", NULL, DESK_KEY_RESTART},
        {NULL, NULL, 0},
};

static void usb_show(struct desk *d, enum usb_stage stage, const char *text)
{
	d->usb_stage = stage;
	snprintf(d->usb_text, sizeof(d->usb_text), "%s", text);
	d->usb_time = loop_wall_us() / 1000000;
	desk_status_dirty(d->status);
}

static void on_usb_stage(void *arg, enum usb_stage stage, const char *text)
{
	usb_show(arg, stage, text);
}

static void on_usb_report(void *arg, const struct usb_report *rep)
{
	struct desk *d = arg;
	if (rep->stage == USB_REJECTED)
		log_err("usb: %s", rep->headline);
	else
		log_info("usb: %s", rep->headline);
	/* The bundle changed the store or the drop-in: the same reload as SIGHUP. */
	if (rep->trust_changed || rep->settings_changed)
		desk_reload(d);
	if (d->player != NULL && (rep->stage == USB_APPLIED || rep->stage == USB_REJECTED))
		indicator_player_play(d->player, rep->stage == USB_APPLIED ? PATTERN_UPDATE_OK
		                                                           : PATTERN_UPDATE_FAIL);
	usb_show(d, rep->stage, rep->headline);
}

static int open_usb(struct desk *d)
{
	if (d->cfg.usb.mode == CONFIG_USB_OFF)
		return 0;
	struct usb_stick_config uc = {.usb = d->cfg.usb,
	                              .batch_rows = d->cfg.upload.batch_rows,
	                              .firmware = true,
	                              .mountd = d->mountd,
	                              .on_stage = on_usb_stage,
	                              .on_report = on_usb_report,
	                              .arg = d};
	snprintf(uc.store, sizeof(uc.store), "%s", d->cfg.store);
	snprintf(uc.desk_id, sizeof(uc.desk_id), "%s", d->cfg.desk_id);
	struct qd_errmsg why = {{0}};
	if (usb_stick_start(d->loop, &uc, &d->usb, &why) != QD_OK) {
		log_err("usb: %s; USB sticks will not be noticed", why.text);
		return 0;
	}
	log_info("usb: watching for sticks (%s mode, %s)", config_usb_mode_name(d->cfg.usb.mode),
	         d->cfg.usb.mode == CONFIG_USB_AUTOMOUNT ? d->cfg.usb.watch_dir
	                                                 : d->cfg.usb.mount_dir);
	return 0;
}

static void close_usb(struct desk *d)
{
	usb_stick_stop(d->usb); /* waits for a stick being processed */
	d->usb = NULL;
}

static void status_usb(struct desk *d, json_t *obj, int64_t now)
{
	(void)now;
	json_object_set_new(obj, "usb",
	                    d->usb_time == 0
	                            ? json_null()
	                            : json_pack("{s:s, s:s, s:I}", "stage",
	                                        usb_stage_name(d->usb_stage), "headline",
	                                        d->usb_text, "time", (json_int_t)d->usb_time));
}

static void devices_usb(const struct config *cfg, FILE *out)
{
	if (cfg->usb.mode == CONFIG_USB_UDEV) /* USB sticks: SCSI disks, read by mount(2) */
		fprintf(out, "DeviceAllow=block-sd r\n");
}

const struct desk_part desk_part_usb = {
        .name = "usb",
        .keys = keys,
        .open = open_usb,
        .close = close_usb,
        .status = status_usb,
        .devices = devices_usb,
};
