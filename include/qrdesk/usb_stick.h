/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_stick.h - the desk's USB part: a stick noticed (and, in udev mode,
 * mounted) by the driver usb_watch.h is read by usb_process_stick()
 * (usb_update.h) on a worker thread with its own store connection (a big
 * revocation list must not stall scans); one stick at a time.  Progress and
 * the result come back on the loop thread.  docs/usb-bundle.md.
 */
#ifndef QRDESK_USB_STICK_H
#define QRDESK_USB_STICK_H

#include <stdbool.h>

#include "qrdesk/config.h"
#include "qrdesk/error.h"
#include "qrdesk/loop.h"
#include "qrdesk/usb_update.h"

struct usb_stick_config {
	struct config_usb usb; /* mode (not off), watch_dir, mount_dir, dropin, max_bundle_mb */
	char store[CONFIG_PATH_MAX];
	char desk_id[32];
	uint32_t batch_rows;       /* [upload] batch_rows: rows per exported batch */
	bool firmware;             /* hand *.raucb to rauc */
	struct usb_mountd *mountd; /* udev mode: the helper that mounts sticks (not owned) */
	/* On the loop thread: a stage change ("reading upd.qrbundle 40%", "removed"). */
	void (*on_stage)(void *arg, enum usb_stage stage, const char *text);
	/* On the loop thread: a stick was processed. */
	void (*on_report)(void *arg, const struct usb_report *report);
	void *arg;
};

struct usb_stick;

enum qd_err usb_stick_start(struct loop *loop, const struct usb_stick_config *cfg,
                            struct usb_stick **out, struct qd_errmsg *why);
/* Waits for a stick being read, then unmounts what was mounted.  NULL is fine. */
void usb_stick_stop(struct usb_stick *s);

#endif
