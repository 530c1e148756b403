/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hotplug.h - scanners and cameras coming and going while qrdeskd runs.
 *
 * Each device source already looks for its device again every few seconds
 * while it is absent; hot-plug makes that immediate.  Two backends:
 *  - udev: a libudev monitor on the udev netlink group, subsystems tty,
 *    input and video4linux.  Events arrive after udev has made the device
 *    node and its /dev/serial/by-id, /dev/input/by-id and /dev/v4l links.
 *  - inotify: where udevd is not running (a minimal image, a container), a
 *    watch on the device directory and its input/ and serial/by-id/
 *    subfolders: a node created, removed or renamed there is an event.
 * "auto" takes udev when udevd is running (answers on /run/udev/control), else
 * inotify.  Every event is handed to on_event on the loop thread; qrdeskd then
 * asks every source to look again (source_rescan) and keeps the last event for
 * `qrdeskctl status`.
 */
#ifndef QRDESK_HOTPLUG_H
#define QRDESK_HOTPLUG_H

#include <stdbool.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/loop.h"

enum hotplug_backend {
	HOTPLUG_AUTO = 0,
	HOTPLUG_UDEV,
	HOTPLUG_INOTIFY,
	HOTPLUG_OFF,
};

struct hotplug_config {
	enum hotplug_backend backend;
	char dev_dir[256]; /* inotify: the device directory ("" is /dev) */
};

enum hotplug_action {
	HOTPLUG_ADD = 0,
	HOTPLUG_REMOVE,
	HOTPLUG_CHANGE,
};

struct hotplug_event {
	enum hotplug_action action;
	char subsystem[16]; /* "tty", "input", "video4linux"; inotify: guessed from the name */
	char devnode[256];  /* may be empty (an input device's parent has no node) */
};

typedef void (*hotplug_cb)(void *arg, const struct hotplug_event *ev);

struct hotplug;

/*
 * Start watching.  QD_ERR_NOT_FOUND: the udev backend was asked for and udevd
 * is not running; other errors: the monitor or watch could not be set up.
 * why says which.  HOTPLUG_OFF gives *out = NULL and QD_OK.
 */
enum qd_err hotplug_start(struct loop *loop, const struct hotplug_config *cfg, hotplug_cb on_event,
                          void *arg, struct hotplug **out, struct qd_errmsg *why);
/* The backend in use (never AUTO). */
enum hotplug_backend hotplug_backend_in_use(const struct hotplug *hp);
void hotplug_stop(struct hotplug *hp);

/* udevd answers on its control socket (a stale socket file is not enough). */
bool hotplug_udev_running(void);

/* The config's spelling; inline so that reading a config needs no libudev. */
static inline const char *hotplug_backend_name(enum hotplug_backend backend)
{
	switch (backend) {
	case HOTPLUG_AUTO:
		return "auto";
	case HOTPLUG_UDEV:
		return "udev";
	case HOTPLUG_INOTIFY:
		return "inotify";
	case HOTPLUG_OFF:
		return "off";
	}
	return "unknown";
}
const char *hotplug_action_name(enum hotplug_action action);

#endif
