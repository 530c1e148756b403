/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_watch.h - noticing a technician's USB stick, in one of two modes:
 *
 *   automount: the system mounts sticks as folders under watch_dir; an
 *              inotify watch sees a folder appear (and disappear);
 *   udev:      a libudev monitor sees a removable block device with a vfat,
 *              exfat or ext4 file system appear; the privileged mount
 *              helper (usb_mountd.h) mounts it read-only, nosuid, nodev,
 *              noexec under mount_dir/<device> at the watch's request and
 *              unmounts it when done or when it is pulled.
 *
 * A driver: it detects and mounts sticks, nothing more.  What a stick holds
 * is read by the desk (usb_stick.h).  One stick is handed out at a time
 * (on_stick); the holder gives it back with usb_watch_done(), and a stick
 * that appeared meanwhile (one) is handed out next.  Every callback runs on
 * the loop thread.
 */
#ifndef QRDESK_USB_WATCH_H
#define QRDESK_USB_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "qrdesk/error.h"
#include "qrdesk/loop.h"

struct usb_mountd;

#define USB_WATCH_PATH_MAX 256

enum usb_watch_mode {
	USB_WATCH_AUTOMOUNT = 1,
	USB_WATCH_UDEV,
};

struct usb_watch_config {
	enum usb_watch_mode mode;
	char watch_dir[USB_WATCH_PATH_MAX]; /* automount: where sticks appear as folders */
	char mount_dir[USB_WATCH_PATH_MAX]; /* udev: private folder sticks are mounted under */
	struct usb_mountd *mountd;          /* udev: the helper that mounts there (not owned) */
	/* A stick is ready to read at root (mounted by us in udev mode): read it, then call
	 * usb_watch_done(). */
	void (*on_stick)(void *arg, const char *root);
	/* The stick at root was pulled; held: it is the one handed out and not yet done. */
	void (*on_removed)(void *arg, const char *root, bool held);
	/* A stick that cannot be read (its file system, a failed mount): why. */
	void (*on_refused)(void *arg, const char *why);
	void *arg;
};

struct usb_watch;

enum qd_err usb_watch_start(struct loop *loop, const struct usb_watch_config *cfg,
                            struct usb_watch **out, struct qd_errmsg *why);
/* The stick handed out by on_stick is finished: unmount it (udev mode), hand out the next. */
void usb_watch_done(struct usb_watch *w);
/*
 * The stick handed out, made writable (true) or read-only again (false) when
 * the watch mounted it; QD_OK and nothing done when the system did.  Safe from
 * the thread reading the stick while it is held.
 */
enum qd_err usb_watch_set_writable(struct usb_watch *w, bool writable, struct qd_errmsg *why);
/* Unmounts what it mounted.  The holder must have stopped reading first. */
void usb_watch_stop(struct usb_watch *w);

#endif
