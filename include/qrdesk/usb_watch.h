/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_watch.h - qrdeskd noticing a technician's USB stick
 * (docs/usb-bundle.md), in one of two modes ([usb] mode):
 *
 *   automount: the system mounts sticks as folders under watch_dir; an
 *              inotify watch sees a folder appear (and disappear);
 *   udev:      a libudev monitor sees a removable block device with a vfat,
 *              exfat or ext4 file system appear; qrdeskd mounts it itself
 *              read-only, nosuid, nodev, noexec under mount_dir/<device>
 *              and unmounts it when done or when it is pulled.
 *
 * Each stick is processed by usb_process_stick() on a worker thread with its
 * own store connection (a big revocation list must not stall scans); one
 * stick at a time.  Progress and the result come back on the loop thread.
 */
#ifndef QRDESK_USB_WATCH_H
#define QRDESK_USB_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "qrdesk/config.h"
#include "qrdesk/error.h"
#include "qrdesk/loop.h"
#include "qrdesk/usb_update.h"

struct usb_watch_config {
	struct config_usb usb; /* mode, watch_dir, mount_dir, dropin, max_bundle_mb */
	char store[CONFIG_PATH_MAX];
	char desk_id[32];
	bool firmware; /* hand *.raucb to rauc */
	/* On the loop thread: a stage change ("reading upd.qrbundle 40%", "removed"). */
	void (*on_stage)(void *arg, enum usb_stage stage, const char *text);
	/* On the loop thread: a stick was processed. */
	void (*on_report)(void *arg, const struct usb_report *report);
	void *arg;
};

struct usb_watch;

enum qd_err usb_watch_start(struct loop *loop, const struct usb_watch_config *cfg,
                            struct usb_watch **out, struct qd_errmsg *why);
/* Waits for a stick being processed, then unmounts what it mounted. */
void usb_watch_stop(struct usb_watch *w);

/*
 * udev mode's mount steps, on their own for tests: mount devnode (fstype
 * vfat, exfat or ext4) read-only, nosuid, nodev, noexec at dir (made, 0700);
 * remount it writable or read-only again; unmount it and remove dir.
 */
enum qd_err usb_mount(const char *devnode, const char *fstype, const char *dir,
                      struct qd_errmsg *why);
enum qd_err usb_remount(const char *dir, bool writable, struct qd_errmsg *why);
enum qd_err usb_unmount(const char *dir, struct qd_errmsg *why);
/* Is fstype one we mount? */
bool usb_fstype_supported(const char *fstype);

#endif
